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
#include "geo/geo.h"
#include "steer/steer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct zoneset *zones;
static struct answer_view view;
static struct geo_db *geo;
static struct steer_set *steer;

/* A steered service over the zone, located through a small overrides
 * file, so the steering path and its ECS scopes are fuzzed too. */
static void setup_steer(void)
{
	static struct conf_addr us[2], eu[1], ap[1];
	static struct conf_region regions[3];
	static char *hosts[] = {(char *)"steer.example.org.",
				(char *)"*.steer.example.org."};
	static struct conf_service svc;
	static struct conf conf;
	us[0] =
	    (struct conf_addr){(char *)"192.0.2.10", AF_INET, {192, 0, 2, 10}};
	us[1] = (struct conf_addr){(char *)"2001:db8::10",
				   AF_INET6,
				   {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10}};
	eu[0] = (struct conf_addr){
	    (char *)"198.51.100.10", AF_INET, {198, 51, 100, 10}};
	ap[0] = (struct conf_addr){
	    (char *)"203.0.113.10", AF_INET, {203, 0, 113, 10}};
	regions[0] = (struct conf_region){.name = (char *)"us-east-1",
					  .lat = 38.9,
					  .lon = -77.4,
					  .n_addrs = 2,
					  .addrs = us};
	regions[1] = (struct conf_region){.name = (char *)"eu-west-1",
					  .lat = 53.3,
					  .lon = -6.3,
					  .n_addrs = 1,
					  .addrs = eu};
	regions[2] = (struct conf_region){.name = (char *)"ap-south-1",
					  .lat = 19.1,
					  .lon = 72.9,
					  .n_addrs = 1,
					  .addrs = ap};
	svc = (struct conf_service){.name = (char *)"fuzz",
				    .n_hosts = 2,
				    .hosts = hosts,
				    .ttl = 30,
				    .n_regions = 3,
				    .regions = regions};
	conf.path = (char *)"fuzz";
	conf.n_services = 1;
	conf.services = &svc;
	const char *nets = getenv("GS_FUZZ_NETS");
	if (geo_db_load(NULL, 0, nets ? nets : GS_FUZZ_NETS, NULL, NULL,
			&geo) != 0 ||
	    steer_build(&conf, zones, geo, NULL, false, &steer) != 0) {
		fprintf(stderr, "fuzz: cannot set up steering\n");
		abort();
	}
}
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
	setup_steer();
	view.steer = steer;
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
