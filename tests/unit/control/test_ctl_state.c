/* The admin state: set/remove/find, parsing every kind of bad file with
 * a message naming the file and the key, and atomic saving. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"
#include "control/ctl_state.h"

static char dir[] = "/tmp/gs-ctl-state-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ctl_drain drain(const char *svc, const char *reg, time_t exp)
{
	return (struct ctl_drain){.service = (char *)svc,
				  .region = (char *)reg,
				  .reason = (char *)"kernel update",
				  .author = (char *)"alice",
				  .start = 1790000000,
				  .expires = exp};
}

static void test_set_remove(void **state)
{
	(void)state;
	struct ctl_state *s = ctl_state_new();
	struct ctl_drain a = drain("tp", "us", 0), b = drain("tp", "eu", 0),
			 c = drain("api", "us", 1790000500);
	ctl_state_set(s, &a);
	ctl_state_set(s, &b);
	ctl_state_set(s, &c);
	assert_int_equal(s->n, 3);
	/* Sorted by (service, region). */
	assert_string_equal(s->drains[0].service, "api");
	assert_string_equal(s->drains[1].region, "eu");
	assert_string_equal(s->drains[2].region, "us");
	/* Replacing keeps one entry. */
	b.reason = (char *)"again";
	ctl_state_set(s, &b);
	assert_int_equal(s->n, 3);
	assert_string_equal(ctl_state_find(s, "tp", "eu")->reason, "again");
	assert_null(ctl_state_find(s, "tp", "ap"));
	assert_int_equal(ctl_state_next_expiry(s), 1790000500);

	struct ctl_state *copy = ctl_state_copy(s);
	assert_true(ctl_state_remove(s, "tp", "eu"));
	assert_false(ctl_state_remove(s, "tp", "eu"));
	assert_int_equal(s->n, 2);
	assert_int_equal(copy->n, 3);
	assert_true(ctl_state_remove(s, "api", "us"));
	assert_int_equal(ctl_state_next_expiry(s), 0);
	ctl_state_free(s);
	ctl_state_free(copy);
}

static void test_save_load(void **state)
{
	(void)state;
	char path[256], err[512];
	snprintf(path, sizeof(path), "%s/sub/dir/state.json", dir);
	struct ctl_state *s = ctl_state_new(), *back = NULL;
	struct ctl_drain a = drain("tp", "us", 1790003600);
	ctl_state_set(s, &a);
	/* The directory is made; no temporary file stays behind. */
	assert_int_equal(ctl_state_save(s, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s/sub/dir/.state.json.tmp", dir);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(ctl_state_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back->n, 1);
	assert_string_equal(back->drains[0].author, "alice");
	assert_string_equal(back->drains[0].reason, "kernel update");
	assert_int_equal(back->drains[0].start, 1790000000);
	assert_int_equal(back->drains[0].expires, 1790003600);
	ctl_state_free(back);

	/* A missing file is an empty state. */
	snprintf(path, sizeof(path), "%s/none.json", dir);
	assert_int_equal(ctl_state_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back->n, 0);
	ctl_state_free(back);

	/* A path that cannot be written fails and names the step. */
	snprintf(path, sizeof(path), "%s/sub/dir/state.json/x", dir);
	assert_int_equal(ctl_state_save(s, path, err, sizeof(err)), GS_EIO);
	assert_non_null(strstr(err, "state.json"));
	ctl_state_free(s);
}

static void expect_error(const char *text, const char *want)
{
	struct ctl_state *s = (struct ctl_state *)1;
	char err[512];
	assert_int_equal(ctl_state_parse(text, strlen(text), "st.json", &s,
					 err, sizeof(err)),
			 GS_ESYNTAX);
	assert_null(s);
	if (!strstr(err, want))
		fail_msg("for %s: got \"%s\", want \"%s\"", text, err, want);
}

static void test_bad_files(void **state)
{
	(void)state;
	expect_error("", "st.json:1:0:");
	expect_error("{\"version\": 1, \"drains\": [", "st.json:1:");
	expect_error("[]", "st.json: must be a JSON object");
	expect_error("{\"drains\": []}", "st.json: version: must be 1");
	expect_error("{\"version\": 2, \"drains\": []}", "version: must be 1");
	expect_error("{\"version\": 1}", "st.json: drains: must be an array");
	expect_error("{\"version\": 1, \"drains\": [3]}",
		     "drains[0]: must be an object");
	expect_error("{\"version\": 1, \"drains\": [{\"region\": \"a\", "
		     "\"start\": 1}]}",
		     "drains[0].service: missing");
	expect_error("{\"version\": 1, \"drains\": [{\"service\": \"s\", "
		     "\"region\": \"\", \"start\": 1}]}",
		     "drains[0].region: must be a non-empty string");
	expect_error("{\"version\": 1, \"drains\": [{\"service\": \"s\", "
		     "\"region\": \"r\"}]}",
		     "drains[0].start: missing");
	expect_error("{\"version\": 1, \"drains\": [{\"service\": \"s\", "
		     "\"region\": \"r\", \"start\": \"now\"}]}",
		     "drains[0].start: must be a time");
	expect_error("{\"version\": 1, \"drains\": [{\"service\": \"s\", "
		     "\"region\": \"r\", \"start\": 1, \"expires\": -5}]}",
		     "drains[0].expires: must be a time");
	expect_error("{\"version\": 1, \"drains\": [{\"service\": \"s\", "
		     "\"region\": \"r\", \"start\": 1, \"reason\": 7}]}",
		     "drains[0].reason: must be a string");
	expect_error("{\"version\": 1, \"drains\": [{\"service\": \"s\", "
		     "\"region\": \"r\", \"start\": 1}, {\"service\": \"s\", "
		     "\"region\": \"r\", \"start\": 2}]}",
		     "drains[1]: s/r is drained twice");
	expect_error("{\"version\": 1, \"version\": 1, \"drains\": []}",
		     "duplicate");
	/* Optional fields may be null or absent. */
	const char *ok = "{\"version\": 1, \"drains\": [{\"service\": \"s\", "
			 "\"region\": \"r\", \"start\": 1, \"expires\": null, "
			 "\"reason\": null}]}";
	struct ctl_state *s;
	char err[64];
	assert_int_equal(
	    ctl_state_parse(ok, strlen(ok), "x", &s, err, sizeof(err)), 0);
	assert_string_equal(s->drains[0].reason, "");
	assert_string_equal(s->drains[0].author, "");
	assert_int_equal(s->drains[0].expires, 0);
	ctl_state_free(s);
}

static void test_unreadable(void **state)
{
	(void)state;
	char path[256], err[512];
	struct ctl_state *s;
	/* A directory is not a state file. */
	snprintf(path, sizeof(path), "%s/adir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ctl_state_load(path, &s, err, sizeof(err)), GS_EIO);
	assert_non_null(strstr(err, "adir: not a regular file"));
	/* Truncated content (a crash mid-write would never leave one, but
	 * a hand edit can) is an error, not an empty state. */
	snprintf(path, sizeof(path), "%s/trunc.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"version\": 1, \"drains\": [{\"service\"", f);
	fclose(f);
	assert_int_equal(ctl_state_load(path, &s, err, sizeof(err)),
			 GS_ESYNTAX);
	assert_non_null(strstr(err, "trunc.json:1:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_remove),
	    cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_unreadable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
