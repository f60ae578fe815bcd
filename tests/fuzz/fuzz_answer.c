/* libFuzzer target: every input is a query packet, answered over UDP and
 * over TCP from tests/fuzz/fuzz.zone. Finds reads past the packet, writes
 * past the response buffer and anything the sanitizers catch. */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/answer.h"
#include "dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct zoneset *zones;
static struct answer_view view;
static struct answer_ctx ctx;

static void setup(void)
{
	const char *path = getenv("GS_FUZZ_ZONE");
	struct zone *z = NULL;
	if (zone_load("example.org", path ? path : GS_FUZZ_ZONE, NULL, NULL,
		      &z) != 0) {
		fprintf(stderr, "fuzz: cannot load the zone\n");
		abort();
	}
	struct zone **arr = malloc(sizeof(*arr));
	arr[0] = z;
	zones = zoneset_new(arr, 1);
	view.zones = zones;
	view.nsid = "fuzz";
	view.nsid_len = 4;
	view.version = "fuzz 1";
	view.version_len = 6;
	view.udp_payload = 1232;
	answer_ctx_init(&ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	if (!zones)
		setup();
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001);
	/* Over UDP the answer must fit the size the rules allow. */
	size_t n = answer_process(&ctx, &view, data, size, out, 4096,
				  (struct sockaddr *)&src, false, 1700000000);
	if (n > 4096 || (n > 0 && n < 12))
		abort();
	n = answer_process(&ctx, &view, data, size, out, sizeof(out),
			   (struct sockaddr *)&src, true, 1700000000);
	if (n > sizeof(out) || (n > 0 && n < 12))
		abort();
	return 0;
}
