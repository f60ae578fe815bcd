/* libFuzzer target for the control socket's inputs: the first byte picks
 * the parser, the rest is its input.
 *   0: a request line (ctl_request_decode), re-encoded and decoded again
 *   1: an admin state file (ctl_state_parse)
 *   2: a duration (ctl_parse_duration), formatted back */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "control/ctl_proto.h"
#include "control/ctl_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_request(const char *text, size_t len)
{
	json_t *msg = NULL, *args = NULL, *msg2 = NULL, *args2 = NULL;
	const char *command = NULL, *command2 = NULL;
	char err[256] = "";
	char *line;

	if (ctl_request_decode(text, len, &msg, &command, &args, err,
			       sizeof(err)) != 0) {
		/* A refusal says why, and leaves nothing to free. */
		if (msg || !err[0])
			abort();
		return;
	}
	if (!command || !json_is_object(args))
		abort();
	/* What was accepted encodes to one line that decodes the same. */
	line = ctl_request_encode(command, json_incref(args));
	if (!strchr(line, '\n') || strchr(line, '\n')[1] != '\0')
		abort();
	if (ctl_request_decode(line, strlen(line) - 1, &msg2, &command2, &args2,
			       err, sizeof(err)) != 0)
		abort();
	if (strcmp(command, command2) != 0 || !json_equal(args, args2))
		abort();
	free(line);
	json_decref(msg2);
	/* The replies a daemon would send about it encode too. */
	free(ctl_reply_ok(json_deep_copy(args)));
	free(ctl_reply_error(command, NULL));
	json_decref(msg);
}

static void fuzz_state(const char *text, size_t len)
{
	struct ctl_state *s = NULL, *copy;
	char err[512] = "";

	if (ctl_state_parse(text, len, "fuzz.json", &s, err, sizeof(err)) !=
	    0) {
		if (s || !err[0])
			abort();
		return;
	}
	/* Sorted by (service, region) and unique; every drain is found. */
	for (size_t i = 0; i < s->n; i++) {
		const struct ctl_drain *d = &s->drains[i];
		json_t *j;

		if (i > 0) {
			const struct ctl_drain *p = &s->drains[i - 1];
			int c = strcmp(p->service, d->service);

			if (c > 0 ||
			    (c == 0 && strcmp(p->region, d->region) >= 0))
				abort();
		}
		if (ctl_state_find(s, d->service, d->region) != d)
			abort();
		j = ctl_drain_json(d);
		free(ctl_reply_ok(j));
	}
	copy = ctl_state_copy(s);
	if (copy->n != s->n)
		abort();
	if (s->n > 0 &&
	    !ctl_state_remove(copy, s->drains[0].service, s->drains[0].region))
		abort();
	ctl_state_free(copy);
	ctl_state_free(s);
}

static void fuzz_duration(const char *text, size_t len)
{
	char *s = gs_xstrndup(text, len);
	char buf[32];
	double secs;

	if (ctl_parse_duration(s, &secs) == 0) {
		if (!(secs > 0 && secs <= CTL_DRAIN_MAX_SECONDS))
			abort();
		ctl_format_duration(secs, buf, sizeof(buf));
		if (!buf[0])
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_request(text, size - 1);
		break;
	case 1:
		fuzz_state(text, size - 1);
		break;
	default:
		fuzz_duration(text, size - 1);
	}
	return 0;
}
