/* Verdicts for every scenario of shared/teleport-ping.md, the rise/fall
 * state machine and the jitter bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "health/hc_verdict.h"

#define CLUSTER "teleport-multi-region.example.org"

static const char healthy[] =
    "{\"auth\":{\"type\":\"local\"},\"proxy\":{\"ssh\":{\"public_addr\":"
    "\"teleport.example.org:443\"},\"tls_routing_enabled\":true},"
    "\"server_version\":\"18.2.1\",\"min_client_version\":\"17.0.0-aa\","
    "\"cluster_name\":\"" CLUSTER "\",\"automatic_upgrades\":false,"
    "\"edition\":\"community\",\"fips\":false,\"new_key\":[1,2]}";

static struct hc_result run(int code, long status, const char *body,
			    const char *cluster)
{
	struct hc_outcome o = {
	    .curl_code = code,
	    .curl_error = "",
	    .http_status = status,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .timeout = 3.0,
	};
	struct hc_result r;
	hc_verdict_classify(&o, cluster, &r);
	return r;
}

static void test_healthy(void **state)
{
	(void)state;
	struct hc_result r = run(CURLE_OK, 200, healthy, CLUSTER);
	assert_int_equal(r.verdict, HC_PASS);
	assert_string_equal(r.server_version, "18.2.1");
	assert_string_equal(r.edition, "community");
	assert_true(r.has_fips);
	assert_false(r.fips);
	/* Without a Teleport check any 200 passes, even HTML. */
	r = run(CURLE_OK, 200, "<html>ok</html>", NULL);
	assert_int_equal(r.verdict, HC_PASS);
	/* Older versions without edition/fips still pass. */
	r = run(CURLE_OK, 200, "{\"cluster_name\":\"" CLUSTER "\"}", CLUSTER);
	assert_int_equal(r.verdict, HC_PASS);
	assert_false(r.has_fips);
}

static void test_failures(void **state)
{
	(void)state;
	struct hc_result r;
	r = run(CURLE_OK, 504,
		"{\"error\":{\"message\":\"auth service unreachable\"}}",
		CLUSTER);
	assert_int_equal(r.verdict, HC_FAIL);
	assert_string_equal(r.reason, "HTTP 504: auth service unreachable");
	r = run(CURLE_OK, 400, "{\"error\":{\"message\":\"no connector\"}}",
		CLUSTER);
	assert_string_equal(r.reason, "HTTP 400: no connector");
	r = run(CURLE_OK, 404, "404 page not found", CLUSTER);
	assert_string_equal(r.reason, "HTTP 404");
	r = run(CURLE_OK, 302, "", CLUSTER);
	assert_int_equal(r.verdict, HC_FAIL);
	assert_string_equal(r.reason, "HTTP 302");
	r = run(CURLE_OK, 200, "{\"cluster_name\":\"other\"}", CLUSTER);
	assert_int_equal(r.verdict, HC_FAIL);
	assert_string_equal(r.reason,
			    "cluster_name \"other\" != \"" CLUSTER "\"");
	r = run(CURLE_OK, 200, "<html>502 Bad Gateway</html>", CLUSTER);
	assert_int_equal(r.verdict, HC_FAIL);
	assert_true(strncmp(r.reason, "invalid JSON", 12) == 0);
	r = run(CURLE_OK, 200, "[1,2]", CLUSTER);
	assert_string_equal(r.reason, "invalid JSON (not an object)");
	r = run(CURLE_OK, 200, "{\"server_version\":\"5.0.0\"}", CLUSTER);
	assert_string_equal(r.reason, "no cluster_name in the ping body");
}

static void test_transport(void **state)
{
	(void)state;
	struct hc_result r;
	r = run(CURLE_COULDNT_CONNECT, 0, NULL, CLUSTER);
	assert_string_equal(r.reason, "connection refused");
	struct hc_outcome refused = {
	    .curl_code = CURLE_COULDNT_CONNECT,
	    .curl_error = "Failed to connect: Couldn't connect to server",
	    .os_errno = ECONNREFUSED};
	hc_verdict_classify(&refused, CLUSTER, &r);
	assert_string_equal(r.reason, "connection refused");
	refused.os_errno = EHOSTUNREACH;
	hc_verdict_classify(&refused, CLUSTER, &r);
	assert_string_equal(r.reason, "cannot connect (Failed to connect: "
				      "Couldn't connect to server)");
	r = run(CURLE_OPERATION_TIMEDOUT, 0, NULL, CLUSTER);
	assert_string_equal(r.reason, "timeout after 3.0s");
	struct hc_outcome o = {.curl_code = CURLE_PEER_FAILED_VERIFICATION,
			       .curl_error = "SSL certificate problem: "
					     "self-signed certificate"};
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_int_equal(r.verdict, HC_FAIL);
	assert_string_equal(r.reason,
			    "TLS: SSL certificate problem: self-signed "
			    "certificate");
	o = (struct hc_outcome){.curl_code = CURLE_RECV_ERROR,
				.curl_error = "Connection reset by peer"};
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_string_equal(r.reason, "connection reset");
	o = (struct hc_outcome){.curl_code = CURLE_WRITE_ERROR,
				.curl_error = "",
				.body_too_big = true};
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_string_equal(r.reason, "body larger than 64 KiB");
}

static void test_rate_limited(void **state)
{
	(void)state;
	struct hc_result r = run(CURLE_OK, 429, "", CLUSTER);
	assert_int_equal(r.verdict, HC_INCONCLUSIVE);
}

static void test_state_machine(void **state)
{
	(void)state;
	struct hc_counter c = {0};
	/* The first conclusive verdict decides at once. */
	assert_false(hc_counter_apply(&c, HC_INCONCLUSIVE, 2, 3));
	assert_int_equal(c.state, HC_UNKNOWN);
	assert_true(hc_counter_apply(&c, HC_PASS, 2, 3));
	assert_int_equal(c.state, HC_UP);
	/* fall = 3: two failures are not enough, 429 breaks nothing. */
	assert_false(hc_counter_apply(&c, HC_FAIL, 2, 3));
	assert_false(hc_counter_apply(&c, HC_FAIL, 2, 3));
	assert_false(hc_counter_apply(&c, HC_INCONCLUSIVE, 2, 3));
	assert_true(hc_counter_apply(&c, HC_FAIL, 2, 3));
	assert_int_equal(c.state, HC_DOWN);
	/* rise = 2, and a failure in between starts the count again. */
	assert_false(hc_counter_apply(&c, HC_PASS, 2, 3));
	assert_false(hc_counter_apply(&c, HC_FAIL, 2, 3));
	assert_false(hc_counter_apply(&c, HC_PASS, 2, 3));
	assert_true(hc_counter_apply(&c, HC_PASS, 2, 3));
	assert_int_equal(c.state, HC_UP);
	/* A passing first probe after a failing start. */
	struct hc_counter d = {0};
	assert_true(hc_counter_apply(&d, HC_FAIL, 2, 3));
	assert_int_equal(d.state, HC_DOWN);
}

static void test_jitter(void **state)
{
	(void)state;
	assert_true(hc_jitter(5.0, 0) >= 4.5);
	assert_true(hc_jitter(5.0, UINT32_MAX) < 5.5);
	assert_true(hc_jitter(5.0, UINT32_MAX) > 5.49);
	double mid = hc_jitter(5.0, 1u << 31);
	assert_true(mid > 4.99 && mid < 5.01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_healthy),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_transport),
	    cmocka_unit_test(test_rate_limited),
	    cmocka_unit_test(test_state_machine),
	    cmocka_unit_test(test_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
