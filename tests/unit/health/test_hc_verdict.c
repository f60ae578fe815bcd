/* Verdicts for every scenario of shared/teleport-ping.md, the rise/fall
 * state machine and the jitter bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
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

/* ---- hostile endpoints: every string of a result is safe to show ------ */

#include "safe_text.h"


static void assert_safe(const struct hc_result *r)
{
	assert_true(shows_safely(r->reason));
	assert_true(shows_safely(r->server_version));
	assert_true(shows_safely(r->edition));
	assert_true(strlen(r->reason) < sizeof(r->reason));
}

static struct hc_result run_n(long status, const char *body, size_t len)
{
	struct hc_outcome o = {
	    .curl_code = CURLE_OK,
	    .curl_error = "",
	    .http_status = status,
	    .body = body,
	    .body_len = len,
	    .timeout = 3.0,
	};
	struct hc_result r;
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_safe(&r);
	return r;
}

#define RUN_LIT(status, lit) run_n(status, lit, sizeof(lit) - 1)

/* "é" n times after prefix, as JSON string content (UTF-8). */
static char *repeat(char *buf, size_t size, const char *prefix,
		    const char *unit, size_t n)
{
	size_t off = (size_t)snprintf(buf, size, "%s", prefix);
	for (size_t i = 0; i < n && off + strlen(unit) < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s", unit);
	return buf;
}

static void test_hostile_cluster_name(void **state)
{
	(void)state;
	/* a fake log line of its own */
	struct hc_result r = RUN_LIT(
	    200, "{\"cluster_name\":\"x\\ngeosteerd[err]: health: fake/x "
		 "192.0.2.1 up\\r\\u001b[2J\"}");
	assert_int_equal(r.verdict, HC_FAIL);
	assert_string_equal(r.reason,
			    "cluster_name \"x\\ngeosteerd[err]: health: fake/x "
			    "192.0.2.1 up\\r\\x1b[2J\" != \"" CLUSTER "\"");
	/* the 80-byte bound falls inside a character */
	char name[512], body[1024];
	repeat(name, sizeof(name), "x", "\xc3\xa9", 100);
	snprintf(body, sizeof(body), "{\"cluster_name\":\"%s\"}", name);
	r = run_n(200, body, strlen(body));
	assert_int_equal(r.verdict, HC_FAIL);
	assert_true(strstr(r.reason, "...\" != \"" CLUSTER "\"") != NULL);
}

static void test_hostile_error_message(void **state)
{
	(void)state;
	/* controls, DEL and C1 controls (CSI) */
	struct hc_result r =
	    RUN_LIT(504, "{\"error\":{\"message\":\"down\\n\\u001b[31mred"
			 "\\u007f\\u0085\\u009b2J\\t\"}}");
	assert_string_equal(r.reason, "HTTP 504: down\\n\\x1b[31mred\\x7f"
				      "\\u0085\\u009b2J\\t");
	/* 10 KB of two-byte characters, offset by one byte */
	static char msg[12000], body[12100];
	repeat(msg, sizeof(msg), "x", "\xc3\xa9", 5000);
	snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\"}}", msg);
	r = run_n(500, body, strlen(body));
	assert_true(strncmp(r.reason, "HTTP 500: x\xc3\xa9", 13) == 0);
	assert_true(strlen(r.reason) <= strlen("HTTP 500: ") + 150);
	assert_string_equal(r.reason + strlen(r.reason) - 3, "...");
	/* invalid UTF-8 anywhere: jansson refuses the whole document, the
	 * status alone is left */
	r = RUN_LIT(504, "{\"error\":{\"message\":\"bad \xff\xfe\xc0\xaf\"}}");
	assert_string_equal(r.reason, "HTTP 504");
}

static void test_hostile_json_error(void **state)
{
	(void)state;
	/* jansson quotes the input near the error: here a lone lead byte
	 * (the escape it could not read cut a character in two) ... */
	struct hc_result r =
	    RUN_LIT(200, "{\"cluster_name\":\"\\\xc2\x9b[2J\"}");
	assert_int_equal(r.verdict, HC_FAIL);
	assert_true(strncmp(r.reason, "invalid JSON (", 14) == 0);
	assert_non_null(strstr(r.reason, "\\xc2"));
	/* ... a raw ESC ... */
	r = RUN_LIT(200, "{\"cluster_name\":\"\\\x1b[2J\"}");
	assert_non_null(strstr(r.reason, "\\x1b"));
	/* ... or a C1 control outside a string */
	r = RUN_LIT(200, "\xc2\x9b[2J");
	assert_non_null(strstr(r.reason, "\\u009b"));
	/* invalid UTF-8: named, not quoted */
	r = RUN_LIT(200, "{\"cluster_name\":\"\xff\xfe\"}");
	assert_true(strncmp(r.reason, "invalid JSON (", 14) == 0);
}

static void test_hostile_version(void **state)
{
	(void)state;
	/* 10 KB server_version: kept short, the target still passes */
	static char version[10300], body[10400];
	repeat(version, sizeof(version), "18.", "7", 10240);
	snprintf(body, sizeof(body),
		 "{\"cluster_name\":\"" CLUSTER "\",\"server_version\":\"%s\","
		 "\"edition\":\"\\u0085\\u009b[2J\"}",
		 version);
	struct hc_result r = run_n(200, body, strlen(body));
	assert_int_equal(r.verdict, HC_PASS);
	assert_int_equal(strlen(r.server_version),
			 sizeof(r.server_version) - 1);
	assert_true(strncmp(r.server_version, "18.777", 6) == 0);
	assert_string_equal(r.server_version + sizeof(r.server_version) - 4,
			    "...");
	/* C1 controls, escaped: exactly the 15 bytes that fit */
	assert_string_equal(r.edition, "\\u0085\\u009b[2J");
	/* the 31-byte bound falls inside a character */
	repeat(version, sizeof(version), "17.1", "\xc3\xa9", 40);
	snprintf(body, sizeof(body),
		 "{\"cluster_name\":\"" CLUSTER "\",\"server_version\":\"%s\","
		 "\"edition\":\"ent\\nerprise\"}",
		 version);
	r = run_n(200, body, strlen(body));
	assert_int_equal(r.verdict, HC_PASS);
	assert_true(strncmp(r.server_version, "17.1\xc3\xa9", 6) == 0);
	assert_string_equal(r.edition, "ent\\nerprise");
}

static void test_hostile_redirect(void **state)
{
	(void)state;
	struct hc_outcome o = {
	    .curl_code = CURLE_OK,
	    .http_status = 302,
	    .location = "https://teleport.example.org/\x1b[2J\r\n"
			"geosteerd[err]: fake\x01\x7f\xc2\x85\xff\xfe",
	};
	struct hc_result r;
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_safe(&r);
	assert_string_equal(r.reason,
			    "HTTP 302 (to https://teleport.example.org/"
			    "\\x1b[2J\\r\\ngeosteerd[err]: fake"
			    "\\x01\\x7f\\u0085\\xff\\xfe)");
	/* long: bounded, cut between characters */
	char loc[1024];
	repeat(loc, sizeof(loc), "https://x/", "\xe2\x82\xac", 300);
	o.location = loc;
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_safe(&r);
	assert_true(strlen(r.reason) <= strlen("HTTP 302 (to )") + 120);
	assert_string_equal(r.reason + strlen(r.reason) - 4, "...)");
}

static void test_hostile_curl_error(void **state)
{
	(void)state;
	/* libcurl quotes a certificate's subject name */
	struct hc_outcome o = {
	    .curl_code = CURLE_PEER_FAILED_VERIFICATION,
	    .curl_error =
		"SSL: certificate subject name 'evil\ngeosteerd[err]: "
		"fake\x1b[2J\xc2\x9b' does not match target host "
		"name 'teleport.example.org'",
	};
	struct hc_result r;
	hc_verdict_classify(&o, CLUSTER, &r);
	assert_safe(&r);
	assert_string_equal(r.reason,
			    "TLS: SSL: certificate subject name 'evil\\n"
			    "geosteerd[err]: fake\\x1b[2J\\u009b' does not "
			    "match target host name 'teleport.example.org'");
	/* the whole error buffer (255 bytes) of 3-byte characters */
	char err[CURL_ERROR_SIZE];
	repeat(err, sizeof(err), "x", "\xe2\x82\xac", 100);
	static const int codes[] = {CURLE_COULDNT_CONNECT,
				    CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR,
				    CURLE_WEIRD_SERVER_REPLY};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		o = (struct hc_outcome){.curl_code = codes[i],
					.curl_error = err,
					.os_errno = EHOSTUNREACH};
		hc_verdict_classify(&o, CLUSTER, &r);
		assert_safe(&r);
		assert_non_null(strstr(r.reason, "x\xe2\x82\xac"));
		assert_non_null(strstr(r.reason, "..."));
	}
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
	    cmocka_unit_test(test_hostile_cluster_name),
	    cmocka_unit_test(test_hostile_error_message),
	    cmocka_unit_test(test_hostile_json_error),
	    cmocka_unit_test(test_hostile_version),
	    cmocka_unit_test(test_hostile_redirect),
	    cmocka_unit_test(test_hostile_curl_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
