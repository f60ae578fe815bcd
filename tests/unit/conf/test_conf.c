/* test_conf.c: the config loader (src/conf/conf.c). Each test writes its
 * config to a temporary file, loads it, and checks the result or the exact
 * messages passed to the diag callback. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/errcode.h"
#include "conf/conf.h"

#define MAX_DIAGS 32

/* Per-test state: the temporary config file, the messages received and
 * the loaded config. */
struct fx {
	char path[PATH_MAX];
	bool have_file;
	size_t n_diags;
	char *diags[MAX_DIAGS];
	struct conf *c;
};

/* A zones array that is valid, for tests about other keys. */
#define ZONES "\"zones\": [{\"origin\": \"example.org\", \"file\": \"/z\"}]"

static void collect(void *arg, const char *msg)
{
	struct fx *fx = arg;
	if (fx->n_diags < MAX_DIAGS)
		fx->diags[fx->n_diags] = strdup(msg);
	fx->n_diags++;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	*state = fx;
	return 0;
}

/* Forgets the file, messages and config of the previous load. */
static void reset(struct fx *fx)
{
	if (fx->have_file)
		unlink(fx->path);
	fx->have_file = false;
	for (size_t i = 0; i < fx->n_diags && i < MAX_DIAGS; i++)
		free(fx->diags[i]);
	fx->n_diags = 0;
	conf_free(fx->c);
	fx->c = NULL;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	reset(fx);
	free(fx);
	return 0;
}

/* Writes text to a new temporary file named in fx->path. */
static void write_file(struct fx *fx, const char *text)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	int n =
	    snprintf(fx->path, sizeof(fx->path), "%s/gs-test-conf-XXXXXX", tmp);
	assert_true(n > 0 && (size_t)n < sizeof(fx->path));
	int fd = mkstemp(fx->path);
	assert_true(fd >= 0);
	fx->have_file = true;
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Writes text to a temporary file and loads it. */
static int load(struct fx *fx, const char *text)
{
	write_file(fx, text);
	return conf_load(fx->path, collect, fx, &fx->c);
}

/* Loads text and expects it to fail with exactly n_expected messages, each
 * "FILE: " followed by one of expected (in any order). */
static void expect_errors(struct fx *fx, const char *text,
			  const char *const *expected, size_t n_expected)
{
	int ret = load(fx, text);
	size_t plen = strlen(fx->path);
	const char *missing = NULL;
	for (size_t i = 0; i < n_expected && !missing; i++) {
		bool found = false;
		for (size_t j = 0; j < fx->n_diags && !found; j++) {
			const char *d = fx->diags[j];
			found = strncmp(d, fx->path, plen) == 0 &&
				strncmp(d + plen, ": ", 2) == 0 &&
				strcmp(d + plen + 2, expected[i]) == 0;
		}
		if (!found)
			missing = expected[i];
	}
	if (missing || fx->n_diags != n_expected) {
		for (size_t i = 0; i < fx->n_diags && i < MAX_DIAGS; i++)
			print_message("got: %s\n", fx->diags[i]);
		if (missing)
			fail_msg("not reported: %s: %s", fx->path, missing);
		fail_msg("%zu messages, expected %zu", fx->n_diags, n_expected);
	}
	assert_int_equal(ret, GS_ECONFIG);
	assert_null(fx->c);
}

#define EXPECT(fx, text, ...)                                                  \
	do {                                                                   \
		static const char *const exp_[] = {__VA_ARGS__};               \
		expect_errors(fx, text, exp_, sizeof(exp_) / sizeof(exp_[0])); \
	} while (0)

static uint16_t port_of(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void expect_addr(const struct conf_listen *l, int family,
			const char *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];
	const void *a;
	assert_int_equal(l->addr.ss_family, family);
	if (family == AF_INET) {
		a = &((const struct sockaddr_in *)&l->addr)->sin_addr;
		assert_int_equal(l->addr_len, sizeof(struct sockaddr_in));
	} else {
		a = &((const struct sockaddr_in6 *)&l->addr)->sin6_addr;
		assert_int_equal(l->addr_len, sizeof(struct sockaddr_in6));
	}
	assert_non_null(inet_ntop(family, a, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(port_of(&l->addr), port);
}

/* The directory part of path, as conf_load should compute it for an
 * absolute path. */
static char *dir_part(const char *path)
{
	char *d = strdup(path);
	assert_non_null(d);
	char *slash = strrchr(d, '/');
	assert_non_null(slash);
	if (slash == d)
		slash++;
	*slash = '\0';
	return d;
}

/* ---- files and syntax --------------------------------------------------- */

static void test_missing_file(void **state)
{
	struct fx *fx = *state;
	const char *path = "/nonexistent-gs-dir/geosteer.conf";
	assert_int_equal(conf_load(path, collect, fx, &fx->c), GS_ENOENT);
	assert_null(fx->c);
	assert_int_equal(fx->n_diags, 1);
	assert_string_equal(fx->diags[0], "/nonexistent-gs-dir/geosteer.conf: "
					  "cannot open (No such file or "
					  "directory)");
}

static void test_directory(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(conf_load(GS_TEST_DATA, collect, fx, &fx->c), GS_EIO);
	assert_null(fx->c);
	assert_int_equal(fx->n_diags, 1);
	assert_string_equal(fx->diags[0],
			    GS_TEST_DATA ": cannot read (Is a directory)");
}

static void test_syntax_error(void **state)
{
	struct fx *fx = *state;
	int ret = load(fx, "{\n  \"workers\": 1,\n  oops\n}\n");
	assert_int_equal(ret, GS_ECONFIG);
	assert_null(fx->c);
	assert_int_equal(fx->n_diags, 1);
	char want[PATH_MAX + 32];
	/* Line and column as jansson counts them (the column is where the
	 * bad token ends). */
	snprintf(want, sizeof(want), "%s:3:6: ", fx->path);
	print_message("diag: %s\n", fx->diags[0]);
	assert_memory_equal(fx->diags[0], want, strlen(want));
	assert_non_null(strstr(fx->diags[0], "near 'oops'"));
}

static void test_empty_file(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(load(fx, ""), GS_ECONFIG);
	assert_int_equal(fx->n_diags, 1);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s:", fx->path);
	assert_memory_equal(fx->diags[0], want, strlen(want));
}

static void test_duplicate_key(void **state)
{
	struct fx *fx = *state;
	int ret = load(fx, "{ \"workers\": 1,\n  \"workers\": 2, " ZONES " }");
	assert_int_equal(ret, GS_ECONFIG);
	assert_null(fx->c);
	assert_int_equal(fx->n_diags, 1);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s:2:", fx->path);
	print_message("diag: %s\n", fx->diags[0]);
	assert_memory_equal(fx->diags[0], want, strlen(want));
	assert_non_null(strstr(fx->diags[0], "duplicate object key"));
}

static void test_top_not_object(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "[ 1, 2 ]",
	       "top level: must be a JSON object (got an array)");
}

static void test_top_scalar(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "\"zones\"",
	       "top level: must be a JSON object (got \"zones\")");
}

/* ---- keys and types ----------------------------------------------------- */

static void test_unknown_key(void **state)
{
	struct fx *fx = *state;
	/* metrics_listen comes in a later release: until then it is
	 * unknown like any other key. */
	EXPECT(fx,
	       "{ \"frobnicate\": 1, \"control_socket\": \"/x\", " ZONES
	       ", \"odd key\\n\": 2, \"state_file\": \"/s\","
	       " \"metrics_listen\": \"127.0.0.1:9153\" }",
	       "frobnicate: unknown key", "\"odd key\\n\": unknown key",
	       "metrics_listen: unknown key");
}

static void test_unknown_zone_key(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"zones\": [ { \"origin\": \"a.example\", "
	       "\"file\": \"a\" }, { \"origin\": \"b.example\", "
	       "\"file\": \"b\", \"ttl\": 30 } ] }",
	       "zones[1].ttl: unknown key");
}

static void test_wrong_type(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"workers\": \"8\", \"nsid\": 5, \"version\": false,"
	       " \"tcp_idle_timeout\": true, \"tcp_max_clients\": null,"
	       " \"listen\": \"127.0.0.1\", " ZONES " }",
	       "workers: must be an integer from 0 to 1024 (got \"8\")",
	       "nsid: must be a string of 1 to 255 bytes (got 5)",
	       "version: must be a string of 1 to 255 bytes (got false)",
	       "tcp_idle_timeout: must be a number from 0.1 to 300 "
	       "(got true)",
	       "tcp_max_clients: must be an integer from 1 to 65535 "
	       "(got null)",
	       "listen: must be an array of addresses (got \"127.0.0.1\")");
}

static void test_wrong_type_zones(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"zones\": [ \"example.org\", { \"origin\": 7, "
	       "\"file\": [] } ] }",
	       "zones[0]: must be an object (got \"example.org\")",
	       "zones[1].origin: must be a domain name string (got 7)",
	       "zones[1].file: must be a file name of 1 to 4095 bytes "
	       "(got an empty array)");
}

static void test_zones_not_array(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"zones\": { \"origin\": \"example.org\" } }",
	       "zones: must be an array of objects (got an object)");
}

static void test_integer_given_real(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"workers\": 2.0, \"udp_payload\": 1232.5, " ZONES " }",
	       "workers: must be an integer from 0 to 1024 (got 2.0)",
	       "udp_payload: must be an integer from 512 to 4096 "
	       "(got 1232.5)");
}

static void test_number_accepts_integer(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(load(fx, "{ \"tcp_idle_timeout\": 30, " ZONES " }"),
			 0);
	assert_int_equal(fx->n_diags, 0);
	assert_true(fx->c->tcp_idle_timeout == 30.0);
}

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_out_of_range(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"workers\": 2000, \"udp_payload\": 511,"
	       " \"tcp_idle_timeout\": 0.05, \"tcp_max_clients\": 0,"
	       " \"nsid\": \"\", \"version\": \"" X64 X64 X64 X64 "\", " ZONES
	       " }",
	       "workers: must be an integer from 0 to 1024 (got 2000)",
	       "udp_payload: must be an integer from 512 to 4096 (got 511)",
	       "tcp_idle_timeout: must be a number from 0.1 to 300 "
	       "(got 0.05)",
	       "tcp_max_clients: must be an integer from 1 to 65535 (got 0)",
	       "nsid: must be a string of 1 to 255 bytes (got 0 bytes)",
	       "version: must be a string of 1 to 255 bytes (got 256 bytes)");
}

static void test_range_limits_inclusive(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(load(fx, "{ \"workers\": 1024, \"udp_payload\": 4096,"
				  " \"tcp_idle_timeout\": 0.1,"
				  " \"tcp_max_clients\": 65535, " ZONES " }"),
			 0);
	assert_int_equal(fx->c->workers, 1024);
	assert_int_equal(fx->c->udp_payload, 4096);
	assert_true(fx->c->tcp_idle_timeout == 0.1);
	assert_int_equal(fx->c->tcp_max_clients, 65535);
}

static void test_null_means_none(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(
	    load(fx, "{ \"nsid\": null, \"version\": null, " ZONES " }"), 0);
	assert_null(fx->c->nsid);
	assert_null(fx->c->version);
}

static void test_control_paths(void **state)
{
	struct fx *fx = *state;
	/* Defaults. */
	assert_int_equal(load(fx, "{ " ZONES " }"), 0);
	assert_string_equal(fx->c->control_socket, "/run/geosteer/control.sock");
	assert_string_equal(fx->c->state_file, "/var/lib/geosteer/state.json");
	conf_free(fx->c);
	fx->c = NULL;
	/* Relative to the config file's directory. */
	assert_int_equal(load(fx, "{ \"control_socket\": \"run/c.sock\","
				  " \"state_file\": \"st/state.json\", " ZONES
				  " }"),
			 0);
	char *dir = dir_part(fx->path), *want = NULL;
	assert_true(asprintf(&want, "%s/run/c.sock", dir) > 0);
	assert_string_equal(fx->c->control_socket, want);
	free(want);
	assert_true(asprintf(&want, "%s/st/state.json", dir) > 0);
	assert_string_equal(fx->c->state_file, want);
	free(want);
	free(dir);
}

static void test_control_socket_too_long(void **state)
{
	struct fx *fx = *state;
	char text[512];
	snprintf(text, sizeof(text),
		 "{ \"control_socket\": \"/%0107d\", " ZONES " }", 0);
	EXPECT(fx, text,
	       "control_socket: must be a file name of 1 to 107 bytes (got "
	       "108 bytes)");
}

/* ---- zones --------------------------------------------------------------- */

static void test_missing_zones(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"workers\": 1 }", "zones: required key is missing");
}

static void test_empty_zones(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"zones\": [] }", "zones: must not be empty");
}

static void test_missing_zone_keys(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"zones\": [ { \"origin\": \"example.org\" },"
	       " { \"file\": \"x\" } ] }",
	       "zones[0].file: required key is missing",
	       "zones[1].origin: required key is missing");
}

static void test_duplicate_zone(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"zones\": [ { \"origin\": \"Example.org\", "
	       "\"file\": \"a\" }, { \"origin\": \"example.org.\", "
	       "\"file\": \"b\" }, { \"origin\": \"example.net\", "
	       "\"file\": \"c\" }, { \"origin\": \"EXAMPLE.ORG\", "
	       "\"file\": \"d\" } ] }",
	       "zones[1].origin: duplicate zone \"example.org.\" "
	       "(also zones[0])",
	       "zones[3].origin: duplicate zone \"example.org.\" "
	       "(also zones[0])");
}

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"

static void test_bad_origin(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"zones\": ["
	       " { \"origin\": \"a..b\", \"file\": \"f\" },"
	       " { \"origin\": \"\", \"file\": \"f\" },"
	       " { \"origin\": \".example\", \"file\": \"f\" },"
	       " { \"origin\": \"" L63 "x.example\", \"file\": \"f\" },"
	       " { \"origin\": \"" L63 "." L63 "." L63 "." L63 "\","
	       " \"file\": \"f\" },"
	       " { \"origin\": \"a b.example\", \"file\": \"f\" },"
	       " { \"origin\": \"caf\\u00e9.example\", \"file\": \"f\" }"
	       " ] }",
	       "zones[0].origin: invalid domain name \"a..b\" (empty label)",
	       "zones[1].origin: invalid domain name \"\" (empty name)",
	       "zones[2].origin: invalid domain name \".example\" "
	       "(empty label)",
	       "zones[3].origin: invalid domain name \"" L63 "x.example\" "
	       "(label longer than 63 bytes)",
	       /* Values are cut after 80 bytes in messages. */
	       "zones[4].origin: invalid domain name \"" L63 ".abcdefghij"
	       "abcdef...\" (longer than 255 bytes in wire format)",
	       "zones[5].origin: invalid domain name \"a b.example\" "
	       "(invalid character: only letters, digits, '-' and '_' are "
	       "allowed in labels)",
	       "zones[6].origin: invalid domain name \"caf\xc3\xa9.example\" "
	       "(non-ASCII character: write IDNs in xn-- form)");
	/* Wildcards are for service hosts, not zone origins. */
	reset(fx);
	EXPECT(
	    fx,
	    "{ \"zones\": [ { \"origin\": \"*.example\", \"file\": \"f\" } ] }",
	    "zones[0].origin: invalid domain name \"*.example\" "
	    "(invalid character: only letters, digits, '-' and '_' are "
	    "allowed in labels)");
}

static void test_origin_limits(void **state)
{
	struct fx *fx = *state;
	/* Three 63-byte labels and a 61-byte one: 3 * 64 + 62 + 1 = 255
	 * wire bytes, the most there can be. */
	assert_int_equal(load(fx, "{ \"zones\": ["
				  " { \"origin\": \"" L63 "." L63 "." L63 "."
				  "abcdefghijabcdefghijabcdefghijabcdefghij"
				  "abcdefghijabcdefghija\", \"file\": \"f\" },"
				  " { \"origin\": \".\", \"file\": \"root\" },"
				  " { \"origin\": \"_Tcp.X-1.Example\","
				  " \"file\": \"g\" } ] }"),
			 0);
	assert_int_equal(fx->c->n_zones, 3);
	assert_int_equal(strlen(fx->c->zones[0].origin), 254);
	assert_string_equal(fx->c->zones[1].origin, ".");
	assert_string_equal(fx->c->zones[2].origin, "_tcp.x-1.example.");
}

/* ---- listen ----------------------------------------------------------- */

static void test_bad_listen_address(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"listen\": [ \"foo\", \"1.2.3\", \"[::1\","
	       " \"[1.2.3.4]:53\", \"[::1]x\", \"::1::2\", 53, \"\" ], " ZONES
	       " }",
	       "listen[0]: invalid address \"foo\" "
	       "(not an IPv4 or IPv6 address)",
	       "listen[1]: invalid address \"1.2.3\" "
	       "(not an IPv4 or IPv6 address)",
	       "listen[2]: invalid address \"[::1\" (missing ']')",
	       "listen[3]: invalid address \"[1.2.3.4]:53\" "
	       "(not an IPv6 address)",
	       "listen[4]: invalid address \"[::1]x\" "
	       "(expected ':PORT' after ']')",
	       "listen[5]: invalid address \"::1::2\" (not an IPv6 address)",
	       "listen[6]: must be a string (got 53)",
	       "listen[7]: invalid address \"\" "
	       "(not an IPv4 or IPv6 address)");
}

static void test_bad_listen_port(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"listen\": [ \"1.2.3.4:0\", \"1.2.3.4:65536\","
	       " \"[::1]:99999999999999999999\", \"1.2.3.4:\","
	       " \"1.2.3.4:dns\", \"1.2.3.4:+53\" ], " ZONES " }",
	       "listen[0]: invalid address \"1.2.3.4:0\" "
	       "(port must be a number from 1 to 65535)",
	       "listen[1]: invalid address \"1.2.3.4:65536\" "
	       "(port must be a number from 1 to 65535)",
	       "listen[2]: invalid address \"[::1]:99999999999999999999\" "
	       "(port must be a number from 1 to 65535)",
	       "listen[3]: invalid address \"1.2.3.4:\" "
	       "(missing port after ':')",
	       "listen[4]: invalid address \"1.2.3.4:dns\" "
	       "(port must be a number from 1 to 65535)",
	       "listen[5]: invalid address \"1.2.3.4:+53\" "
	       "(port must be a number from 1 to 65535)");
}

static void test_duplicate_listen(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"listen\": [ \"127.0.0.1\", \"::1\", \"127.0.0.1:53\","
	       " \"[0:0::1]:53\", \"127.0.0.1:54\" ], " ZONES " }",
	       "listen[2]: duplicate address \"127.0.0.1:53\" "
	       "(also listen[0])",
	       "listen[3]: duplicate address \"[0:0::1]:53\" "
	       "(also listen[1])");
}

static void test_empty_listen(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"listen\": [], " ZONES " }",
	       "listen: must not be empty");
}

static void test_parse_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_storage sa;
	socklen_t len;
	struct conf_listen l;

	static const struct {
		const char *text;
		int family;
		const char *addr;
		uint16_t port;
	} good[] = {
	    {"192.0.2.1", AF_INET, "192.0.2.1", 53},
	    {"192.0.2.1:5353", AF_INET, "192.0.2.1", 5353},
	    {"0.0.0.0:65535", AF_INET, "0.0.0.0", 65535},
	    {"2001:db8::1", AF_INET6, "2001:db8::1", 53},
	    {"::", AF_INET6, "::", 53},
	    {"[::1]:1", AF_INET6, "::1", 1},
	    {"[2001:db8::1]", AF_INET6, "2001:db8::1", 53},
	    {"::ffff:192.0.2.1", AF_INET6, "::ffff:192.0.2.1", 53},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&l, 0, sizeof(l));
		assert_int_equal(
		    conf_parse_sockaddr(good[i].text, 53, &l.addr, &l.addr_len),
		    0);
		expect_addr(&l, good[i].family, good[i].addr, good[i].port);
	}

	assert_int_equal(conf_parse_sockaddr("10.0.0.1", 9153, &sa, &len), 0);
	assert_int_equal(port_of(&sa), 9153);

	static const char *const bad[] = {
	    "",
	    "localhost",
	    "1.2.3.4.5",
	    "1.2.3.4:0",
	    "1.2.3.4:65536",
	    "[::1]:",
	    "[::1",
	    "::1]:53",
	    "[1.2.3.4]",
	    "fe80::1%eth0",
	    "1.2.3.4 :53",
	    " 1.2.3.4",
	    "01.2.3.4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (conf_parse_sockaddr(bad[i], 53, &sa, &len) != GS_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

/* ---- good configs ------------------------------------------------------ */

static void test_defaults(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(load(fx, "{ " ZONES " }"), 0);
	assert_int_equal(fx->n_diags, 0);
	struct conf *c = fx->c;
	assert_non_null(c);
	assert_string_equal(c->path, fx->path);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0].text, "0.0.0.0:53");
	expect_addr(&c->listen[0], AF_INET, "0.0.0.0", 53);
	assert_string_equal(c->listen[1].text, "[::]:53");
	expect_addr(&c->listen[1], AF_INET6, "::", 53);
	assert_int_equal(c->workers, 0);
	assert_null(c->nsid);
	assert_null(c->version);
	assert_int_equal(c->udp_payload, 1232);
	assert_true(c->tcp_idle_timeout == 10.0);
	assert_int_equal(c->tcp_max_clients, 256);
	assert_int_equal(c->n_zones, 1);
	assert_string_equal(c->zones[0].origin, "example.org.");
	assert_string_equal(c->zones[0].file, "/z");
	assert_int_equal(c->geoip.n_databases, 0);
	assert_null(c->geoip.databases);
	assert_null(c->geoip.overrides);
	assert_null(c->geoip.default_location);
	assert_int_equal(c->n_services, 0);
	assert_null(c->services);
}

static void test_relative_file(void **state)
{
	struct fx *fx = *state;
	int ret = load(fx, "{ \"zones\": ["
			   " { \"origin\": \"a\", \"file\": \"a.zone\" },"
			   " { \"origin\": \"b\", \"file\": \"z/b.zone\" },"
			   " { \"origin\": \"c\", \"file\": \"/abs/c\" } ] }");
	assert_int_equal(ret, 0);
	char *dir = dir_part(fx->path);
	char want[PATH_MAX * 2];
	assert_string_equal(fx->c->dir, dir);
	snprintf(want, sizeof(want), "%s/a.zone", dir);
	assert_string_equal(fx->c->zones[0].file, want);
	snprintf(want, sizeof(want), "%s/z/b.zone", dir);
	assert_string_equal(fx->c->zones[1].file, want);
	assert_string_equal(fx->c->zones[2].file, "/abs/c");
	free(dir);
}

/* A relative config path is resolved against the current directory, so
 * reloads don't depend on where the daemon's working directory is later. */
static void test_relative_config_path(void **state)
{
	struct fx *fx = *state;
	char old[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX * 2];
	static const char *const names[] = {
	    "conf/valid.conf", "./conf/valid.conf", ".//conf//valid.conf"};

	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(GS_TEST_DATA), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct conf *c = NULL;
		assert_int_equal(conf_load(names[i], collect, fx, &c), 0);
		snprintf(want, sizeof(want), "%s/conf", cwd);
		assert_string_equal(c->dir, want);
		assert_string_equal(c->path, names[i]);
		snprintf(want, sizeof(want), "%s/conf/zones/example.org.zone",
			 cwd);
		assert_string_equal(c->zones[0].file, want);
		conf_free(c);
	}

	assert_int_equal(chdir("conf"), 0);
	assert_int_equal(conf_load("valid.conf", collect, fx, &fx->c), 0);
	snprintf(want, sizeof(want), "%s/conf", cwd);
	assert_string_equal(fx->c->dir, want);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(fx->n_diags, 0);
}

static void test_valid_full(void **state)
{
	struct fx *fx = *state;
	const char *path = GS_TEST_DATA "/conf/valid.conf";
	assert_int_equal(conf_load(path, collect, fx, &fx->c), 0);
	assert_int_equal(fx->n_diags, 0);
	struct conf *c = fx->c;
	assert_string_equal(c->path, path);
	assert_string_equal(c->dir, GS_TEST_DATA "/conf");
	assert_int_equal(c->n_listen, 4);
	assert_string_equal(c->listen[0].text, "127.0.0.1:5353");
	expect_addr(&c->listen[0], AF_INET, "127.0.0.1", 5353);
	assert_string_equal(c->listen[1].text, "[::1]:5353");
	expect_addr(&c->listen[1], AF_INET6, "::1", 5353);
	expect_addr(&c->listen[2], AF_INET, "192.0.2.1", 53);
	expect_addr(&c->listen[3], AF_INET6, "2001:db8::1", 53);
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->nsid, "ns1.example.org");
	assert_string_equal(c->version, "geosteer test");
	assert_int_equal(c->udp_payload, 1400);
	assert_true(c->tcp_idle_timeout == 2.5);
	assert_int_equal(c->tcp_max_clients, 1000);
	assert_int_equal(c->n_zones, 2);
	assert_string_equal(c->zones[0].origin, "example.org.");
	assert_string_equal(c->zones[0].file,
			    GS_TEST_DATA "/conf/zones/example.org.zone");
	assert_string_equal(c->zones[1].origin, "example.net.");
	assert_string_equal(c->zones[1].file,
			    "/var/lib/geosteer/example.net.zone");

	const struct conf_geoip *g = &c->geoip;
	assert_int_equal(g->n_databases, 3);
	assert_string_equal(g->databases[0], "/usr/share/tor/geoip");
	assert_string_equal(g->databases[1], GS_TEST_DATA "/conf/geo/geoip6");
	assert_string_equal(g->databases[2], GS_TEST_DATA "/conf/geo/nets.csv");
	assert_string_equal(g->overrides, GS_TEST_DATA "/conf/nets.txt");
	assert_string_equal(g->default_location, "IE");

	assert_int_equal(c->n_services, 2);
	const struct conf_service *s = &c->services[0];
	assert_string_equal(s->name, "teleport");
	assert_int_equal(s->n_hosts, 2);
	assert_string_equal(s->hosts[0], "teleport.example.org.");
	assert_string_equal(s->hosts[1], "*.teleport.example.org.");
	assert_int_equal(s->ttl, 30);
	assert_int_equal(s->n_regions, 3);

	const struct conf_region *r = &s->regions[0];
	assert_string_equal(r->name, "us-east-1");
	assert_true(r->lat == 38.9 && r->lon == -77.4);
	assert_int_equal(r->n_addrs, 3);
	static const uint8_t a0[4] = {192, 0, 2, 10};
	static const uint8_t a1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				       0,    0,	   0,	 0,    0, 0, 0, 0x10};
	static const uint8_t a2[16] = {0, 0, 0,	   0,	 0,   0, 0, 0,
				       0, 0, 0xff, 0xff, 192, 0, 2, 11};
	assert_string_equal(r->addrs[0].text, "192.0.2.10");
	assert_int_equal(r->addrs[0].family, AF_INET);
	assert_memory_equal(r->addrs[0].addr, a0, 4);
	assert_string_equal(r->addrs[1].text, "2001:DB8::10");
	assert_int_equal(r->addrs[1].family, AF_INET6);
	assert_memory_equal(r->addrs[1].addr, a1, 16);
	assert_string_equal(r->addrs[2].text, "::ffff:192.0.2.11");
	assert_int_equal(r->addrs[2].family, AF_INET6);
	assert_memory_equal(r->addrs[2].addr, a2, 16);

	r = &s->regions[1];
	assert_string_equal(r->name, "eu-west-1");
	assert_true(r->lat == 53.3 && r->lon == -6.3);
	assert_int_equal(r->n_addrs, 1);
	assert_string_equal(r->addrs[0].text, "198.51.100.10");
	assert_int_equal(r->addrs[0].family, AF_INET);
	assert_memory_equal(r->addrs[0].addr, "\xc6\x33\x64\x0a", 4);

	r = &s->regions[2];
	assert_string_equal(r->name, "ap-south-1");
	assert_true(r->lat == 19.0 && r->lon == 72.9);
	assert_int_equal(r->n_addrs, 1);
	assert_string_equal(r->addrs[0].text, "203.0.113.10");
	assert_memory_equal(r->addrs[0].addr, "\xcb\x00\x71\x0a", 4);

	s = &c->services[1];
	assert_string_equal(s->name, "Web_2.prod-x");
	assert_int_equal(s->n_hosts, 1);
	assert_string_equal(s->hosts[0], "www.example.net.");
	assert_int_equal(s->ttl, 86400);
	assert_int_equal(s->n_regions, 1);
	r = &s->regions[0];
	assert_string_equal(r->name, "only");
	assert_true(r->lat == -90.0 && r->lon == 180.0);
	assert_int_equal(r->n_addrs, 1);
	assert_int_equal(r->addrs[0].family, AF_INET6);
	assert_memory_equal(r->addrs[0].addr,
			    "\x20\x01\x0d\xb8\x00\x00\x00\x01"
			    "\x00\x00\x00\x00\x00\x00\x00\x01",
			    16);
}

/* contrib/geosteer.conf.sample is valid and spells out the defaults; its
 * zone, GeoIP databases and service are examples. */
static void test_sample_is_defaults(void **state)
{
	struct fx *fx = *state;
	struct conf *d = NULL;
	const char *path =
	    GS_TEST_DATA "/../../../contrib/geosteer.conf.sample";
	assert_int_equal(load(fx, "{ " ZONES " }"), 0);
	d = fx->c;
	fx->c = NULL;
	assert_int_equal(conf_load(path, collect, fx, &fx->c), 0);
	struct conf *s = fx->c;
	assert_int_equal(s->n_listen, d->n_listen);
	for (size_t i = 0; i < s->n_listen; i++)
		assert_string_equal(s->listen[i].text, d->listen[i].text);
	assert_int_equal(s->workers, d->workers);
	assert_null(s->nsid);
	assert_null(s->version);
	assert_int_equal(s->udp_payload, d->udp_payload);
	assert_true(s->tcp_idle_timeout == d->tcp_idle_timeout);
	assert_int_equal(s->tcp_max_clients, d->tcp_max_clients);
	assert_int_equal(s->n_zones, 1);
	assert_string_equal(s->zones[0].origin, "example.org.");
	assert_string_equal(s->zones[0].file, "/etc/geosteer/example.org.zone");

	/* No GeoIP files and no CA file: it must pass --check on a fresh
	 * system once its zone file is in place. */
	assert_int_equal(s->geoip.n_databases, 0);
	assert_null(s->geoip.overrides);
	assert_null(s->geoip.default_location);
	assert_int_equal(s->n_services, 1);
	const struct conf_service *svc = &s->services[0];
	assert_string_equal(svc->name, "teleport");
	assert_int_equal(svc->n_hosts, 2);
	assert_string_equal(svc->hosts[0], "teleport.example.org.");
	assert_string_equal(svc->hosts[1], "*.teleport.example.org.");
	assert_int_equal(svc->ttl, 30);
	assert_int_equal(svc->n_regions, 3);
	assert_string_equal(svc->regions[0].name, "us-east-1");
	assert_int_equal(svc->regions[0].n_addrs, 2);
	assert_int_equal(svc->regions[0].addrs[1].family, AF_INET6);
	assert_string_equal(svc->regions[1].name, "eu-west-1");
	assert_string_equal(svc->regions[2].name, "ap-south-1");
	assert_string_equal(svc->regions[2].addrs[0].text, "203.0.113.10");
	assert_int_equal(svc->when_all_down, CONF_FAIL_OPEN);

	/* The check spells out its defaults, on the service and resolved
	 * into each region. */
	const struct conf_check *k = &svc->check;
	for (size_t i = 0; i <= svc->n_regions; i++) {
		assert_true(k->enabled);
		assert_string_equal(
		    k->url, "https://teleport.example.org/v1/webapi/ping");
		assert_true(k->interval == 5 && k->timeout == 3);
		assert_int_equal(k->rise, 2);
		assert_int_equal(k->fall, 3);
		assert_null(k->ca_file);
		assert_null(k->cert_file);
		assert_null(k->key_file);
		assert_false(k->insecure);
		assert_string_equal(k->cluster_name,
				    "teleport-multi-region.example.org");
		if (i < svc->n_regions) {
			assert_int_equal(svc->regions[i].n_check_addrs, 0);
			k = &svc->regions[i].check;
		}
	}
	/* Defaults of a check with only a url (the sample stays in s). */
	fx->c = NULL;
	reset(fx);
	assert_int_equal(
	    load(fx, "{ \"services\": [ { \"name\": \"s\", \"hosts\":"
		     " [\"a.example\"], \"check\": { \"url\":"
		     " \"https://teleport.example.org/\" }, \"regions\": [ {"
		     " \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
		     " \"addresses\": [\"::1\"] } ] } ], " ZONES " }"),
	    0);
	const struct conf_check *dk = &fx->c->services[0].regions[0].check;
	assert_true(dk->interval == k->interval && dk->timeout == k->timeout);
	assert_int_equal(dk->rise, k->rise);
	assert_int_equal(dk->fall, k->fall);
	assert_int_equal(dk->insecure, k->insecure);
	assert_string_equal(dk->url, k->url);
	assert_int_equal(fx->c->services[0].when_all_down, svc->when_all_down);
	conf_free(s);
	conf_free(d);
}

/* ---- geoip ---------------------------------------------------------------- */

static void test_geoip_wrong_types(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"geoip\": [], " ZONES " }",
	       "geoip: must be an object (got an empty array)");
	reset(fx);
	EXPECT(fx,
	       "{ \"geoip\": { \"databases\": \"/g\", \"overrides\": 3,"
	       " \"default_location\": 7 }, " ZONES " }",
	       "geoip.databases: must be an array of file names (got \"/g\")",
	       "geoip.overrides: must be a file name of 1 to 4095 bytes "
	       "(got 3)",
	       "geoip.default_location: must be a country code or "
	       "\"lat,lon\" (got 7)");
	reset(fx);
	EXPECT(fx,
	       "{ \"geoip\": { \"databases\": [5, \"\", null, \"/ok\"],"
	       " \"overrides\": \"\" }, " ZONES " }",
	       "geoip.databases[0]: must be a file name of 1 to 4095 bytes "
	       "(got 5)",
	       "geoip.databases[1]: must be a file name of 1 to 4095 bytes "
	       "(got 0 bytes)",
	       "geoip.databases[2]: must be a file name of 1 to 4095 bytes "
	       "(got null)",
	       "geoip.overrides: must be a file name of 1 to 4095 bytes "
	       "(got 0 bytes)");
}

static void test_geoip_unknown_key(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"geoip\": { \"database\": [\"/g\"], \"overrides\": \"/o\","
	       " \"cache\": true }, " ZONES " }",
	       "geoip.database: unknown key", "geoip.cache: unknown key");
}

static void test_duplicate_database(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"geoip\": { \"databases\": [\"/a\", \"/b\", \"/a\","
	       " \"/b\", \"/a\"] }, " ZONES " }",
	       "geoip.databases[2]: duplicate database \"/a\" "
	       "(also geoip.databases[0])",
	       "geoip.databases[3]: duplicate database \"/b\" "
	       "(also geoip.databases[1])",
	       "geoip.databases[4]: duplicate database \"/a\" "
	       "(also geoip.databases[0])");

	/* Duplicates are found after resolving relative names. */
	reset(fx);
	write_file(fx, "{}");
	char *dir = dir_part(fx->path);
	char text[PATH_MAX * 2], want[PATH_MAX * 3];
	snprintf(
	    text, sizeof(text),
	    "{ \"geoip\": { \"databases\": [\"geoip\", \"%s/geoip\"] }, " ZONES
	    " }",
	    dir);
	reset(fx);
	snprintf(want, sizeof(want),
		 "geoip.databases[1]: duplicate database \"%s/geoip\" "
		 "(also geoip.databases[0])",
		 dir);
	const char *const exp[] = {want};
	expect_errors(fx, text, exp, 1);
	free(dir);
}

static void test_geoip_empty(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(load(fx, "{ \"geoip\": {}, " ZONES " }"), 0);
	assert_int_equal(fx->c->geoip.n_databases, 0);
	assert_null(fx->c->geoip.overrides);
	assert_null(fx->c->geoip.default_location);
	reset(fx);
	assert_int_equal(load(fx, "{ \"geoip\": { \"databases\": [],"
				  " \"overrides\": null,"
				  " \"default_location\": null }, " ZONES " }"),
			 0);
	assert_int_equal(fx->c->geoip.n_databases, 0);
	assert_null(fx->c->geoip.overrides);
	assert_null(fx->c->geoip.default_location);
}

static void test_default_location(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *json; /* as written in the file */
		const char *want; /* as stored */
	} good[] = {
	    {"ie", "IE"},
	    {"De", "DE"},
	    {"US", "US"},
	    {"38.9,-77.4", "38.9,-77.4"},
	    {" -33.9 , 18.4 ", " -33.9 , 18.4 "},
	    {"90,-180", "90,-180"},
	    {"-90,180", "-90,180"},
	    {"+1.,.5", "+1.,.5"},
	    {"0,0", "0,0"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text),
			 "{ \"geoip\": { \"default_location\": \"%s\" }, " ZONES
			 " }",
			 good[i].json);
		reset(fx);
		if (load(fx, text) != 0)
			fail_msg("rejected \"%s\": %s", good[i].json,
				 fx->n_diags ? fx->diags[0] : "");
		assert_string_equal(fx->c->geoip.default_location,
				    good[i].want);
	}

	static const struct {
		const char *json;
		const char *msg;
	} bad[] = {
	    {"xyz", "must be a country code or \"lat,lon\" (got \"xyz\")"},
	    {"X", "must be a country code or \"lat,lon\" (got \"X\")"},
	    {"", "must be a country code or \"lat,lon\" (got \"\")"},
	    {"12", "must be a country code or \"lat,lon\" (got \"12\")"},
	    {"I\\u00e9", "must be a country code or \"lat,lon\" "
			 "(got \"I\xc3\xa9\")"},
	    {"1,2,3", "must be a country code or \"lat,lon\" (got \"1,2,3\")"},
	    {"1;2", "must be a country code or \"lat,lon\" (got \"1;2\")"},
	    {",2", "must be a country code or \"lat,lon\" (got \",2\")"},
	    {"1,", "must be a country code or \"lat,lon\" (got \"1,\")"},
	    {".,1", "must be a country code or \"lat,lon\" (got \".,1\")"},
	    {"1e1,2", "must be a country code or \"lat,lon\" (got \"1e1,2\")"},
	    {"nan,0", "must be a country code or \"lat,lon\" (got \"nan,0\")"},
	    {"0x1,0", "must be a country code or \"lat,lon\" (got \"0x1,0\")"},
	    {"1 2,3", "must be a country code or \"lat,lon\" (got \"1 2,3\")"},
	    {"91,0", "must be a country code or \"lat,lon\" with lat from -90 "
		     "to 90 and lon from -180 to 180 (got \"91,0\")"},
	    {"-90.01,0", "must be a country code or \"lat,lon\" with lat from "
			 "-90 to 90 and lon from -180 to 180 "
			 "(got \"-90.01,0\")"},
	    {"0,180.5", "must be a country code or \"lat,lon\" with lat from "
			"-90 to 90 and lon from -180 to 180 (got \"0,180.5\")"},
	    {"0,-181", "must be a country code or \"lat,lon\" with lat from "
		       "-90 to 90 and lon from -180 to 180 (got \"0,-181\")"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256], want[256];
		snprintf(text, sizeof(text),
			 "{ \"geoip\": { \"default_location\": \"%s\" }, " ZONES
			 " }",
			 bad[i].json);
		snprintf(want, sizeof(want), "geoip.default_location: %s",
			 bad[i].msg);
		reset(fx);
		const char *const exp[] = {want};
		expect_errors(fx, text, exp, 1);
	}
}

/* ---- services ------------------------------------------------------------ */

/* A valid region and service, for tests about other keys. */
#define REGION                                        \
	"{ \"name\": \"r1\", \"lat\": 1, \"lon\": 2," \
	" \"addresses\": [\"192.0.2.1\"] }"
#define SERVICE(name, hosts)                                \
	"{ \"name\": \"" name "\", \"hosts\": [" hosts "]," \
	" \"regions\": [" REGION "] }"

static void test_services_wrong_types(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, "{ \"services\": { \"name\": \"x\" }, " ZONES " }",
	       "services: must be an array of objects (got an object)");
	reset(fx);
	EXPECT(fx,
	       "{ \"services\": [ { \"name\": 5, \"hosts\": \"a.example\","
	       " \"ttl\": \"30\", \"regions\": {} }, \"x\","
	       " { \"name\": \"s\", \"hosts\": [7, null], \"ttl\": 1.5,"
	       " \"regions\": [3] } ], " ZONES " }",
	       "services[0].name: must be a name of 1 to 63 letters, digits, "
	       "'.', '_' or '-' (got 5)",
	       "services[0].hosts: must be an array of domain names "
	       "(got \"a.example\")",
	       "services[0].ttl: must be an integer from 1 to 86400 "
	       "(got \"30\")",
	       "services[0].regions: must be an array of objects "
	       "(got an object)",
	       "services[1]: must be an object (got \"x\")",
	       "services[2].hosts[0]: must be a domain name string (got 7)",
	       "services[2].hosts[1]: must be a domain name string (got null)",
	       "services[2].ttl: must be an integer from 1 to 86400 (got 1.5)",
	       "services[2].regions[0]: must be an object (got 3)");
}

static void test_region_wrong_types(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"regions\": [ { \"name\": true, \"lat\": \"1\", \"lon\": null,"
	    " \"addresses\": \"192.0.2.1\" }, { \"name\": \"r\","
	    " \"lat\": false, \"lon\": [], \"addresses\": [1, null, {}] }"
	    " ] } ], " ZONES " }",
	    "services[0].regions[0].name: must be a name of 1 to 63 "
	    "letters, digits, '.', '_' or '-' (got true)",
	    "services[0].regions[0].lat: must be a number from -90 to 90 "
	    "(got \"1\")",
	    "services[0].regions[0].lon: must be a number from -180 to 180 "
	    "(got null)",
	    "services[0].regions[0].addresses: must be an array of "
	    "addresses (got \"192.0.2.1\")",
	    "services[0].regions[1].lat: must be a number from -90 to 90 "
	    "(got false)",
	    "services[0].regions[1].lon: must be a number from -180 to 180 "
	    "(got an empty array)",
	    "services[0].regions[1].addresses[0]: must be an address "
	    "string (got 1)",
	    "services[0].regions[1].addresses[1]: must be an address "
	    "string (got null)",
	    "services[0].regions[1].addresses[2]: must be an address "
	    "string (got an object)");
}

static void test_service_ranges(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"services\": ["
	       " { \"name\": \"\", \"hosts\": [\"a.example\"], \"ttl\": 0,"
	       " \"regions\": [ { \"name\": \"" X64 "\", \"lat\": 91,"
	       " \"lon\": -180.5, \"addresses\": [\"192.0.2.1\"] } ] },"
	       " { \"name\": \"" X64 "\", \"hosts\": [\"b.example\"],"
	       " \"ttl\": 86401, \"regions\": [ { \"name\": \"a b\","
	       " \"lat\": -90.5, \"lon\": 181, \"addresses\": [\"::1\"] } ] },"
	       " { \"name\": \"tele/port\", \"hosts\": [\"c.example\"],"
	       " \"ttl\": -1, \"regions\": [ { \"name\": \"caf\\u00e9\","
	       " \"lat\": 1e3, \"lon\": 0, \"addresses\": [\"::2\"] } ] }"
	       " ], " ZONES " }",
	       "services[0].name: must be a name of 1 to 63 letters, digits, "
	       "'.', '_' or '-' (got \"\")",
	       "services[0].ttl: must be an integer from 1 to 86400 (got 0)",
	       "services[0].regions[0].name: must be a name of 1 to 63 "
	       "letters, digits, '.', '_' or '-' (got \"" X64 "\")",
	       "services[0].regions[0].lat: must be a number from -90 to 90 "
	       "(got 91)",
	       "services[0].regions[0].lon: must be a number from -180 to 180 "
	       "(got -180.5)",
	       "services[1].name: must be a name of 1 to 63 letters, digits, "
	       "'.', '_' or '-' (got \"" X64 "\")",
	       "services[1].ttl: must be an integer from 1 to 86400 "
	       "(got 86401)",
	       "services[1].regions[0].name: must be a name of 1 to 63 "
	       "letters, digits, '.', '_' or '-' (got \"a b\")",
	       "services[1].regions[0].lat: must be a number from -90 to 90 "
	       "(got -90.5)",
	       "services[1].regions[0].lon: must be a number from -180 to 180 "
	       "(got 181)",
	       "services[2].name: must be a name of 1 to 63 letters, digits, "
	       "'.', '_' or '-' (got \"tele/port\")",
	       "services[2].ttl: must be an integer from 1 to 86400 (got -1)",
	       "services[2].regions[0].name: must be a name of 1 to 63 "
	       "letters, digits, '.', '_' or '-' (got \"caf\xc3\xa9\")",
	       "services[2].regions[0].lat: must be a number from -90 to 90 "
	       "(got 1000.0)");
}

static void test_missing_service_keys(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"services\": [ {}, { \"name\": \"s\","
	       " \"hosts\": [\"a.example\"], \"regions\": [ {} ] } ], " ZONES
	       " }",
	       "services[0].name: required key is missing",
	       "services[0].hosts: required key is missing",
	       "services[0].regions: required key is missing",
	       "services[1].regions[0].name: required key is missing",
	       "services[1].regions[0].lat: required key is missing",
	       "services[1].regions[0].lon: required key is missing",
	       "services[1].regions[0].addresses: required key is missing");
}

static void test_empty_service_arrays(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"services\": [ { \"name\": \"s\", \"hosts\": [],"
	       " \"regions\": [] }, { \"name\": \"t\","
	       " \"hosts\": [\"a.example\"], \"regions\": [ { \"name\": \"r\","
	       " \"lat\": 0, \"lon\": 0, \"addresses\": [] } ] } ], " ZONES
	       " }",
	       "services[0].hosts: must not be empty",
	       "services[0].regions: must not be empty",
	       "services[1].regions[0].addresses: must not be empty");
}

static void test_services_empty_ok(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(load(fx, "{ \"services\": [], " ZONES " }"), 0);
	assert_int_equal(fx->c->n_services, 0);
}

static void test_duplicate_service(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ " SERVICE(
		"teleport",
		"\"a.example\"") ", " SERVICE("teleport",
					      "\"b.example\"") ", " SERVICE("Te"
									    "le"
									    "po"
									    "r"
									    "t",
									    "\""
									    "c."
									    "ex"
									    "am"
									    "pl"
									    "e"
									    "\"") ", " SERVICE("teleport",
											       "\"d.example\"") " ], " ZONES
														" }",
	    "services[1].name: duplicate service \"teleport\" "
	    "(also services[0])",
	    "services[3].name: duplicate service \"teleport\" "
	    "(also services[0])");
}

static void test_duplicate_region(void **state)
{
	struct fx *fx = *state;
	/* Region names are unique within a service; services may share
	 * them. */
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"regions\": [ " REGION ", { \"name\": \"r2\", \"lat\": 0,"
	    " \"lon\": 0, \"addresses\": [\"::1\"] }, " REGION
	    " ] }, " SERVICE("t", "\"b.example\"") " ], " ZONES " }",
	    "services[0].regions[2].name: duplicate region \"r1\" "
	    "(also services[0].regions[0])");
}

static void test_duplicate_host(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ " SERVICE(
		"s",
		"\"a.example.org\", \"b.example.org\","
		" \"A.Example.Org.\"") ", " SERVICE("t",
						    "\"b.example.org."
						    "\", "
						    "\"*.a.example."
						    "org\","
						    " \"*.A.EXAMPLE."
						    "org\", "
						    "\"x.a.example."
						    "org\"") ","
							     " " SERVICE(
								 "u",
								 "\"*.a."
								 "example.org."
								 "\", "
								 "\"a.example."
								 "org\"") " ],"
									  " " ZONES
									  " }",
	    "services[0].hosts[2]: duplicate host \"a.example.org.\" "
	    "(also services[0].hosts[0])",
	    "services[1].hosts[0]: duplicate host \"b.example.org.\" "
	    "(also services[0].hosts[1])",
	    "services[1].hosts[2]: duplicate host \"*.a.example.org.\" "
	    "(also services[1].hosts[1])",
	    "services[2].hosts[0]: duplicate host \"*.a.example.org.\" "
	    "(also services[1].hosts[1])",
	    "services[2].hosts[1]: duplicate host \"a.example.org.\" "
	    "(also services[0].hosts[0])");
}

static void test_bad_host(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{ \"services\": [ " SERVICE(
		   "s",
		   "\"a.*.example.org\", \"*a.example.org\","
		   " \"**.example.org\", \"*\", \"*.\", \"a..b\", \"\","
		   " \"a b.org\", \"example.org*\", \"*.*.example\","
		   " \"caf\\u00e9.example\", \"*.ok.example\"") " ], " ZONES
								" }",
	       "services[0].hosts[0]: invalid domain name \"a.*.example.org\" "
	       "('*' is allowed only as the whole first label)",
	       "services[0].hosts[1]: invalid domain name \"*a.example.org\" "
	       "('*' is allowed only as the whole first label)",
	       "services[0].hosts[2]: invalid domain name \"**.example.org\" "
	       "('*' is allowed only as the whole first label)",
	       "services[0].hosts[3]: invalid domain name \"*\" "
	       "(a wildcard needs a name after \"*.\")",
	       "services[0].hosts[4]: invalid domain name \"*.\" "
	       "(a wildcard needs a name after \"*.\")",
	       "services[0].hosts[5]: invalid domain name \"a..b\" "
	       "(empty label)",
	       "services[0].hosts[6]: invalid domain name \"\" (empty name)",
	       "services[0].hosts[7]: invalid domain name \"a b.org\" "
	       "(invalid character: only letters, digits, '-' and '_' are "
	       "allowed in labels)",
	       "services[0].hosts[8]: invalid domain name \"example.org*\" "
	       "('*' is allowed only as the whole first label)",
	       "services[0].hosts[9]: invalid domain name \"*.*.example\" "
	       "('*' is allowed only as the whole first label)",
	       "services[0].hosts[10]: invalid domain name "
	       "\"caf\xc3\xa9.example\" (non-ASCII character: write IDNs in "
	       "xn-- form)");
}

static void test_host_limits(void **state)
{
	struct fx *fx = *state;
	/* "*" plus three 63-byte labels and a 59-byte one: 2 + 3 * 64 + 60
	 * + 1 = 255 wire bytes. */
	assert_int_equal(
	    load(fx,
		 "{ \"services\": [ " SERVICE(
		     "s", "\"*." L63 "." L63 "." L63 "."
			  "abcdefghijabcdefghijabcdefghijabcdefghij"
			  "abcdefghijabcdefghi\", \"*.Example\"") " ], " ZONES
								  " }"),
	    0);
	assert_int_equal(strlen(fx->c->services[0].hosts[0]), 254);
	assert_string_equal(fx->c->services[0].hosts[1], "*.example.");
	reset(fx);
	EXPECT(fx,
	       "{ \"services\": [ " SERVICE(
		   "s", "\"*." L63 "." L63 "." L63 "."
			"abcdefghijabcdefghijabcdefghijabcdefghij"
			"abcdefghijabcdefghij\"") " ], " ZONES " }",
	       "services[0].hosts[0]: invalid domain name \"*." L63
	       ".abcdefghijabcd...\" (longer than 255 bytes in wire format)");
}

static void test_bad_address(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\", \"1.2.3\", \"192.0.2.1:53\","
	    " \"192.0.2.0/24\", \"[2001:db8::1]\", \"fe80::1%eth0\","
	    " \"2001:db8::1/64\", \"example.org\", \"\", \" 192.0.2.2\","
	    " \"01.2.3.4\", \"1::2::3\"] } ] } ], " ZONES " }",
	    "services[0].regions[0].addresses[1]: invalid address \"1.2.3\"",
	    "services[0].regions[0].addresses[2]: invalid address "
	    "\"192.0.2.1:53\"",
	    "services[0].regions[0].addresses[3]: invalid address "
	    "\"192.0.2.0/24\"",
	    "services[0].regions[0].addresses[4]: invalid address "
	    "\"[2001:db8::1]\"",
	    "services[0].regions[0].addresses[5]: invalid address "
	    "\"fe80::1%eth0\"",
	    "services[0].regions[0].addresses[6]: invalid address "
	    "\"2001:db8::1/64\"",
	    "services[0].regions[0].addresses[7]: invalid address "
	    "\"example.org\"",
	    "services[0].regions[0].addresses[8]: invalid address \"\"",
	    "services[0].regions[0].addresses[9]: invalid address "
	    "\" 192.0.2.2\"",
	    "services[0].regions[0].addresses[10]: invalid address "
	    "\"01.2.3.4\"",
	    "services[0].regions[0].addresses[11]: invalid address "
	    "\"1::2::3\"");
}

static void test_duplicate_address(void **state)
{
	struct fx *fx = *state;
	/* Compared as addresses, within a region; an IPv4-mapped IPv6
	 * address is not its IPv4 address, and regions may share one. */
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\", \"2001:db8::1\", \"192.0.2.1\","
	    " \"2001:DB8:0:0::1\", \"::ffff:192.0.2.1\", \"1.2.3\","
	    " \"192.0.2.1\"] }, { \"name\": \"r2\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"] } ] } ], " ZONES " }",
	    "services[0].regions[0].addresses[2]: duplicate address "
	    "\"192.0.2.1\" (also services[0].regions[0].addresses[0])",
	    "services[0].regions[0].addresses[3]: duplicate address "
	    "\"2001:DB8:0:0::1\" (also services[0].regions[0].addresses[1])",
	    "services[0].regions[0].addresses[5]: invalid address \"1.2.3\"",
	    "services[0].regions[0].addresses[6]: duplicate address "
	    "\"192.0.2.1\" (also services[0].regions[0].addresses[0])");
}

static void test_unknown_service_keys(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"when_all_down\": \"fail-open\", \"check\": { \"url\":"
	    " \"https://a.example/\" }, \"Hosts\": [], \"drain\": true,"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"::1\"], \"weight\": 2 } ] } ], " ZONES " }",
	    "services[0].Hosts: unknown key", "services[0].drain: unknown key",
	    "services[0].regions[0].weight: unknown key");
}

/* ---- health checks and when_all_down ---------------------------------- */

/* A service whose text goes before "regions" (check, ...) and whose one
 * region ends with rx (", \"check\": ..."). */
#define CSVC(sx, rx)                                                           \
	"{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"], " sx \
	" \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"           \
	" \"addresses\": [\"192.0.2.1\"]" rx " } ] } ], " ZONES " }"
#define URL "\"url\": \"https://a.example\""

static void expect_check_defaults(const struct conf_check *k)
{
	assert_true(k->interval == 5);
	assert_true(k->timeout == 3);
	assert_int_equal(k->rise, 2);
	assert_int_equal(k->fall, 3);
	assert_null(k->ca_file);
	assert_null(k->cert_file);
	assert_null(k->key_file);
	assert_null(k->cluster_name);
	assert_false(k->insecure);
}

static void test_checks_valid(void **state)
{
	struct fx *fx = *state;
	const char *path = GS_TEST_DATA "/conf/checks.conf";
	assert_int_equal(conf_load(path, collect, fx, &fx->c), 0);
	assert_int_equal(fx->n_diags, 0);
	const struct conf *c = fx->c;
	assert_int_equal(c->n_services, 3);

	/* The service's own check, as written, a path added to its URL. */
	const struct conf_service *s = &c->services[0];
	assert_int_equal(s->when_all_down, CONF_FAIL_CLOSED);
	const struct conf_check *k = &s->check;
	assert_true(k->enabled);
	assert_string_equal(k->url,
			    "https://teleport.example.org/v1/webapi/ping");
	assert_true(k->interval == 10 && k->timeout == 4);
	assert_int_equal(k->rise, 3);
	assert_int_equal(k->fall, 5);
	assert_string_equal(k->ca_file, GS_TEST_DATA "/conf/certs/ca.pem");
	assert_string_equal(k->cert_file, "/etc/geosteer/client.pem");
	assert_string_equal(k->key_file, GS_TEST_DATA "/conf/client.key");
	assert_string_equal(k->cluster_name,
			    "teleport-multi-region.example.org");
	assert_false(k->insecure);

	/* A region without "check": the service's, in a copy of its own. */
	const struct conf_region *r = &s->regions[0];
	k = &r->check;
	assert_true(k->enabled);
	assert_string_equal(k->url,
			    "https://teleport.example.org/v1/webapi/ping");
	assert_ptr_not_equal(k->url, s->check.url);
	assert_true(k->interval == 10 && k->timeout == 4);
	assert_int_equal(k->rise, 3);
	assert_int_equal(k->fall, 5);
	assert_string_equal(k->ca_file, GS_TEST_DATA "/conf/certs/ca.pem");
	assert_string_equal(k->cert_file, "/etc/geosteer/client.pem");
	assert_string_equal(k->key_file, GS_TEST_DATA "/conf/client.key");
	assert_string_equal(k->cluster_name,
			    "teleport-multi-region.example.org");
	assert_false(k->insecure);
	assert_int_equal(r->n_check_addrs, 2);
	assert_string_equal(r->check_addrs[0].text, "10.0.0.10");
	assert_int_equal(r->check_addrs[0].family, AF_INET);
	assert_memory_equal(r->check_addrs[0].addr, "\x0a\x00\x00\x0a", 4);
	assert_string_equal(r->check_addrs[1].text, "FD00::10");
	assert_int_equal(r->check_addrs[1].family, AF_INET6);
	assert_memory_equal(r->check_addrs[1].addr,
			    "\xfd\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x00\x00\x00\x00\x00\x00\x10",
			    16);

	/* Overrides: url (query kept), interval, timeout, ca_file back to
	 * none, insecure; the rest from the service. */
	r = &s->regions[1];
	k = &r->check;
	assert_true(k->enabled);
	assert_string_equal(
	    k->url,
	    "http://eu.teleport.example.org:3080/v1/webapi/ping?probe=1");
	assert_true(k->interval == 2 && k->timeout == 1.5);
	assert_int_equal(k->rise, 3);
	assert_int_equal(k->fall, 5);
	assert_null(k->ca_file);
	assert_string_equal(k->cert_file, "/etc/geosteer/client.pem");
	assert_string_equal(k->key_file, GS_TEST_DATA "/conf/client.key");
	assert_string_equal(k->cluster_name,
			    "teleport-multi-region.example.org");
	assert_true(k->insecure);
	assert_int_equal(r->n_check_addrs, 0);
	assert_null(r->check_addrs);

	r = &s->regions[2];
	k = &r->check;
	assert_true(k->enabled);
	assert_string_equal(k->url,
			    "https://teleport.example.org/v1/webapi/ping");
	assert_true(k->interval == 10 && k->timeout == 4);
	assert_int_equal(k->rise, 1);
	assert_int_equal(k->fall, 5);
	assert_string_equal(k->cluster_name, "other");

	/* No check anywhere: static, defaults. */
	s = &c->services[1];
	assert_int_equal(s->when_all_down, CONF_FAIL_OPEN);
	assert_false(s->check.enabled);
	assert_null(s->check.url);
	expect_check_defaults(&s->check);
	assert_false(s->regions[0].check.enabled);
	assert_null(s->regions[0].check.url);
	expect_check_defaults(&s->regions[0].check);

	/* A region's own check in a service without one: defaults. */
	s = &c->services[2];
	assert_int_equal(s->when_all_down, CONF_FAIL_OPEN);
	assert_false(s->check.enabled);
	assert_false(s->regions[0].check.enabled);
	k = &s->regions[1].check;
	assert_true(k->enabled);
	assert_string_equal(k->url, "https://[2001:db8::31]:8443/health?x=1");
	expect_check_defaults(k);
	assert_int_equal(s->regions[1].n_check_addrs, 1);
	assert_string_equal(s->regions[1].check_addrs[0].text, "192.0.2.131");
}

static void test_when_all_down(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx, CSVC("\"when_all_down\": \"x\",", ""),
	       "services[0].when_all_down: must be \"fail-open\" or "
	       "\"fail-closed\" (got \"x\")");
	reset(fx);
	EXPECT(fx, CSVC("\"when_all_down\": \"Fail-Open\",", ""),
	       "services[0].when_all_down: must be \"fail-open\" or "
	       "\"fail-closed\" (got \"Fail-Open\")");
	reset(fx);
	EXPECT(fx, CSVC("\"when_all_down\": 0,", ""),
	       "services[0].when_all_down: must be \"fail-open\" or "
	       "\"fail-closed\" (got 0)");
	reset(fx);
	EXPECT(fx, CSVC("\"when_all_down\": null,", ""),
	       "services[0].when_all_down: must be \"fail-open\" or "
	       "\"fail-closed\" (got null)");
	reset(fx);
	assert_int_equal(
	    load(fx, CSVC("\"when_all_down\": \"fail-closed\",", "")), 0);
	assert_int_equal(fx->c->services[0].when_all_down, CONF_FAIL_CLOSED);
}

static void test_check_wrong_types(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       CSVC("\"check\": \"https://a.example\",",
		    ", \"check\": [], \"check_addresses\": \"192.0.2.2\""),
	       "services[0].check: must be an object "
	       "(got \"https://a.example\")",
	       "services[0].regions[0].check: must be an object "
	       "(got an empty array)",
	       "services[0].regions[0].check_addresses: must be an array of "
	       "addresses (got \"192.0.2.2\")");
	reset(fx);
	EXPECT(fx,
	       CSVC("\"check\": { \"url\": 5, \"interval\": \"5\","
		    " \"timeout\": true, \"rise\": 2.0, \"fall\": \"3\","
		    " \"ca_file\": 1, \"cert_file\": [], \"key_file\": {},"
		    " \"insecure\": \"yes\", \"teleport\": \"x\" },",
		    ""),
	       "services[0].check.url: must be a URL string (got 5)",
	       "services[0].check.interval: must be a number from 0.1 to 3600 "
	       "(got \"5\")",
	       "services[0].check.timeout: must be a number from 0.1 to 60 "
	       "(got true)",
	       "services[0].check.rise: must be an integer from 1 to 100 "
	       "(got 2.0)",
	       "services[0].check.fall: must be an integer from 1 to 100 "
	       "(got \"3\")",
	       "services[0].check.ca_file: must be a file name of 1 to 4095 "
	       "bytes (got 1)",
	       "services[0].check.cert_file: must be a file name of 1 to 4095 "
	       "bytes (got an empty array)",
	       "services[0].check.key_file: must be a file name of 1 to 4095 "
	       "bytes (got an object)",
	       "services[0].check.insecure: must be true or false "
	       "(got \"yes\")",
	       "services[0].check.teleport: must be an object (got \"x\")");
}

static void test_check_ranges(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       CSVC("\"check\": { " URL ", \"interval\": 0.09, \"timeout\": 0,"
		    " \"rise\": 0, \"fall\": 101, \"ca_file\": \"\","
		    " \"teleport\": { \"cluster_name\": \"\" } },",
		    ", \"check\": { \"interval\": 3601, \"timeout\": 61,"
		    " \"rise\": 101, \"fall\": -1,"
		    " \"teleport\": { \"cluster_name\": null } }"),
	       "services[0].check.interval: must be a number from 0.1 to 3600 "
	       "(got 0.09)",
	       "services[0].check.timeout: must be a number from 0.1 to 60 "
	       "(got 0)",
	       "services[0].check.rise: must be an integer from 1 to 100 "
	       "(got 0)",
	       "services[0].check.fall: must be an integer from 1 to 100 "
	       "(got 101)",
	       "services[0].check.ca_file: must be a file name of 1 to 4095 "
	       "bytes (got 0 bytes)",
	       "services[0].check.teleport.cluster_name: must be a string of 1 "
	       "to 255 bytes (got 0 bytes)",
	       "services[0].regions[0].check.interval: must be a number from "
	       "0.1 to 3600 (got 3601)",
	       "services[0].regions[0].check.timeout: must be a number from "
	       "0.1 to 60 (got 61)",
	       "services[0].regions[0].check.rise: must be an integer from 1 "
	       "to 100 (got 101)",
	       "services[0].regions[0].check.fall: must be an integer from 1 "
	       "to 100 (got -1)",
	       "services[0].regions[0].check.teleport.cluster_name: must be a "
	       "string of 1 to 255 bytes (got null)");

	/* The limits are allowed. */
	reset(fx);
	assert_int_equal(load(fx, CSVC("\"check\": { " URL ", \"interval\": "
				       "0.1, \"timeout\": 0.1, \"rise\": 1,"
				       " \"fall\": 100 },",
				       ", \"check\": { \"interval\": 3600,"
				       " \"timeout\": 60, \"rise\": 100,"
				       " \"fall\": 1 }")),
			 0);
	const struct conf_check *k = &fx->c->services[0].check;
	assert_true(k->interval == 0.1 && k->timeout == 0.1);
	k = &fx->c->services[0].regions[0].check;
	assert_true(k->interval == 3600 && k->timeout == 60);
	assert_int_equal(k->rise, 100);
	assert_int_equal(k->fall, 1);
}

static void test_check_unknown_keys(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       CSVC("\"check\": { " URL ", \"frobnicate\": 1,"
		    " \"teleport\": { \"cluster_name\": \"c\", \"x\": 2 } },",
		    ", \"check\": { \"Interval\": 5, \"teleport\": {} }"),
	       "services[0].check.frobnicate: unknown key",
	       "services[0].check.teleport.x: unknown key",
	       "services[0].regions[0].check.Interval: unknown key",
	       "services[0].regions[0].check.teleport.cluster_name: required "
	       "key is missing");
}

static void test_check_url_required(void **state)
{
	struct fx *fx = *state;
	/* Required in a service's check; a region's need not repeat it. */
	EXPECT(fx,
	       CSVC("\"check\": { \"interval\": 5 },",
		    ", \"check\": { \"interval\": 6 }"),
	       "services[0].check.url: required key is missing");
	reset(fx);
	/* A region's own check needs one when the service has none. */
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"], \"check\": { \"rise\": 1 } },"
	    " { \"name\": \"r2\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.2\"], \"check\": {} },"
	    " { \"name\": \"r3\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.3\"], \"check\": { " URL
	    " } } ] } ], " ZONES " }",
	    "services[0].regions[0].check.url: required: neither the "
	    "service nor the region sets a url",
	    "services[0].regions[1].check.url: required: neither the "
	    "service nor the region sets a url");
}

static void test_check_urls(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *json; /* as written in the file */
		const char *want; /* as stored */
	} good[] = {
	    {"https://a.example", "https://a.example/v1/webapi/ping"},
	    {"https://a.example/", "https://a.example/v1/webapi/ping"},
	    {"HTTPS://A.example:8443", "https://A.example:8443/v1/webapi/ping"},
	    {"http://a.example?x=1&y=2",
	     "http://a.example/v1/webapi/ping?x=1&y=2"},
	    {"http://a.example/?x", "http://a.example/v1/webapi/ping?x"},
	    {"https://a.example/webapi/ping", "https://a.example/webapi/ping"},
	    {"https://a.example/v1/webapi/ping?a=%20",
	     "https://a.example/v1/webapi/ping?a=%20"},
	    {"https://a.example//", "https://a.example//"},
	    {"https://192.0.2.1:3080", "https://192.0.2.1:3080/v1/webapi/ping"},
	    {"https://[2001:db8::1]", "https://[2001:db8::1]/v1/webapi/ping"},
	    {"https://[::1]:1/", "https://[::1]:1/v1/webapi/ping"},
	    {"https://a.example:65535/p", "https://a.example:65535/p"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 CSVC("\"check\": { \"url\": \"%s\" },", ""),
			 good[i].json);
		reset(fx);
		if (load(fx, text) != 0)
			fail_msg("rejected \"%s\": %s", good[i].json,
				 fx->n_diags ? fx->diags[0] : "");
		assert_string_equal(fx->c->services[0].check.url, good[i].want);
		assert_string_equal(fx->c->services[0].regions[0].check.url,
				    good[i].want);
	}

	static const struct {
		const char *json;
		const char *msg;
	} bad[] = {
	    {"ftp://a.example/", "\"ftp://a.example/\" (must start with "
				 "\"https://\" or \"http://\")"},
	    {"a.example/v1", "\"a.example/v1\" (must start with \"https://\" "
			     "or \"http://\")"},
	    {"", "\"\" (must start with \"https://\" or \"http://\")"},
	    {"https:/a.example", "\"https:/a.example\" (must start with "
				 "\"https://\" or \"http://\")"},
	    {"https://", "\"https://\" (missing host)"},
	    {"https:///ping", "\"https:///ping\" (missing host)"},
	    {"https://?x", "\"https://?x\" (missing host)"},
	    {"https://:443/", "\"https://:443/\" (missing host)"},
	    {"https://a example/", "\"https://a example/\" (spaces and "
				   "control characters are not allowed)"},
	    {"https://a.example/ ", "\"https://a.example/ \" (spaces and "
				    "control characters are not allowed)"},
	    {"https://a.example/\\t", "\"https://a.example/\\t\" (spaces and "
				      "control characters are not allowed)"},
	    {"https://a.example/\\u007f", "\"https://a.example/\\u007f\" "
					  "(spaces and control characters "
					  "are not allowed)"},
	    {"https://caf\\u00e9.example/",
	     "\"https://caf\xc3\xa9.example/\" (non-ASCII character: "
	     "percent-encode it, or write host names in xn-- form)"},
	    {"https://u:p@a.example/", "\"https://u:p@a.example/\" (user names "
				       "and passwords are not supported)"},
	    {"https://a.example/#top", "\"https://a.example/#top\" "
				       "(fragments ('#') are not allowed)"},
	    {"https://a!.example/", "\"https://a!.example/\" (invalid "
				    "character in the host name)"},
	    {"https://a.example:0/", "\"https://a.example:0/\" (port must be "
				     "a number from 1 to 65535)"},
	    {"https://a.example:65536", "\"https://a.example:65536\" (port "
					"must be a number from 1 to 65535)"},
	    {"https://a.example:x/", "\"https://a.example:x/\" (port must be "
				     "a number from 1 to 65535)"},
	    {"https://a.example:/", "\"https://a.example:/\" (missing port "
				    "after ':')"},
	    {"https://a.example:1:2/", "\"https://a.example:1:2/\" (port must "
				       "be a number from 1 to 65535)"},
	    {"https://2001:db8::1/", "\"https://2001:db8::1/\" (port must be "
				     "a number from 1 to 65535)"},
	    {"https://[::1/", "\"https://[::1/\" (invalid IPv6 address in "
			      "brackets)"},
	    {"https://[]/", "\"https://[]/\" (invalid IPv6 address in "
			    "brackets)"},
	    {"https://[192.0.2.1]/", "\"https://[192.0.2.1]/\" (invalid IPv6 "
				     "address in brackets)"},
	    {"https://[::1]x/", "\"https://[::1]x/\" (expected ':PORT' after "
				"']')"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], want[512];
		snprintf(text, sizeof(text),
			 CSVC("\"check\": { \"url\": \"%s\" },", ""),
			 bad[i].json);
		snprintf(want, sizeof(want),
			 "services[0].check.url: invalid "
			 "URL %s",
			 bad[i].msg);
		reset(fx);
		const char *const exp[] = {want};
		expect_errors(fx, text, exp, 1);
	}

	/* At most 2048 bytes, counting the path added. */
	char text[4096], url[2100], want[512];
	int n = snprintf(url, sizeof(url), "https://a.example/");
	memset(url + n, 'x', 2048 - (size_t)n);
	url[2048] = '\0';
	snprintf(text, sizeof(text),
		 CSVC("\"check\": { \"url\": \"%s\" },", ""), url);
	reset(fx);
	assert_int_equal(load(fx, text), 0);
	url[2048] = 'x';
	url[2049] = '\0';
	snprintf(text, sizeof(text),
		 CSVC("\"check\": { \"url\": \"%s\" },", ""), url);
	reset(fx);
	snprintf(want, sizeof(want),
		 "services[0].check.url: invalid URL \"%.80s...\" (longer than "
		 "2048 bytes)",
		 url);
	const char *const exp[] = {want};
	expect_errors(fx, text, exp, 1);
}

static void test_check_timeout_interval(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       CSVC("\"check\": { " URL ", \"interval\": 2, \"timeout\": 5 },",
		    ""),
	       "services[0].check.timeout: 5 is longer than the interval 2");
	reset(fx);
	/* Only the default interval or timeout: the same rule. */
	EXPECT(fx, CSVC("\"check\": { " URL ", \"interval\": 1 },", ""),
	       "services[0].check.interval: 1 is shorter than the timeout 3");
	reset(fx);
	EXPECT(fx, CSVC("\"check\": { " URL ", \"timeout\": 5.5 },", ""),
	       "services[0].check.timeout: 5.5 is longer than the interval 5");
	reset(fx);
	/* Resolved: the region's interval against the service's timeout,
	 * the region's timeout against the service's interval. A service's
	 * mistake is reported at the service only. */
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"check\": { " URL ", \"interval\": 10, \"timeout\": 4 },"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"], \"check\": { \"interval\": 2 } },"
	    " { \"name\": \"r2\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.2\"], \"check\": { \"timeout\": 11 } },"
	    " { \"name\": \"r3\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.3\"], \"check\": { \"timeout\": 10 } } "
	    "]"
	    " }, { \"name\": \"t\", \"hosts\": [\"b.example\"],"
	    " \"check\": { " URL ", \"interval\": 1, \"timeout\": 2 },"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"] }, { \"name\": \"r2\", \"lat\": 0,"
	    " \"lon\": 0, \"addresses\": [\"192.0.2.2\"], \"check\": {"
	    " \"rise\": 1 } } ] } ], " ZONES " }",
	    "services[0].regions[0].check.interval: 2 is shorter than the "
	    "timeout 4",
	    "services[0].regions[1].check.timeout: 11 is longer than the "
	    "interval 10",
	    "services[1].check.timeout: 2 is longer than the interval 1");
	reset(fx);
	/* Equal is fine; an invalid value is not compared. */
	assert_int_equal(
	    load(fx, CSVC("\"check\": { " URL ", \"interval\": 3 },", "")), 0);
	reset(fx);
	EXPECT(fx,
	       CSVC("\"check\": { " URL ", \"interval\": 0, \"timeout\": 9 },",
		    ""),
	       "services[0].check.interval: must be a number from 0.1 to 3600 "
	       "(got 0)");
}

static void test_check_key_without_cert(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       CSVC("\"check\": { " URL ", \"key_file\": \"/k.pem\" },",
		    ", \"check\": { \"ca_file\": \"/ca.pem\" }"),
	       "services[0].check.key_file: needs a cert_file");
	reset(fx);
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"check\": { " URL ", \"cert_file\": \"/c.pem\","
	    " \"key_file\": \"/k.pem\" }, \"regions\": ["
	    " { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"], \"check\": { \"cert_file\": null "
	    "} },"
	    " { \"name\": \"r2\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.2\"], \"check\": { \"key_file\": "
	    "\"/k2\" } } ]"
	    " }, { \"name\": \"t\", \"hosts\": [\"b.example\"],"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"], \"check\": { " URL ","
	    " \"key_file\": \"k.pem\", \"cert_file\": null } } ] } ], " ZONES
	    " }",
	    "services[0].regions[0].check.key_file: needs a cert_file",
	    "services[1].regions[0].check.key_file: needs a cert_file");
	reset(fx);
	/* cert_file alone is fine (the key may be in the same file). */
	assert_int_equal(load(fx, CSVC("\"check\": { " URL ", \"cert_file\":"
				       " \"/c.pem\" },",
				       "")),
			 0);
	assert_string_equal(fx->c->services[0].regions[0].check.cert_file,
			    "/c.pem");
	assert_null(fx->c->services[0].regions[0].check.key_file);
}

static void test_check_addresses(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"],"
	    " \"check_addresses\": [\"10.0.0.1\"] },"
	    " { \"name\": \"r2\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.2\"], \"check_addresses\": [] } ] },"
	    " { \"name\": \"t\", \"hosts\": [\"b.example\"],"
	    " \"check\": { " URL " }, \"regions\": ["
	    " { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"], \"check_addresses\":"
	    " [\"10.0.0.1\", \"1.2.3\", \"fd00::1\", \"10.0.0.1\", 7,"
	    " \"FD00:0::1\"] } ] } ], " ZONES " }",
	    "services[0].regions[0].check_addresses: needs a check "
	    "(neither the service nor the region has one)",
	    "services[0].regions[1].check_addresses: must not be empty",
	    "services[1].regions[0].check_addresses[1]: invalid address "
	    "\"1.2.3\"",
	    "services[1].regions[0].check_addresses[3]: duplicate address "
	    "\"10.0.0.1\" (also services[1].regions[0].check_addresses[0])",
	    "services[1].regions[0].check_addresses[4]: must be an address "
	    "string (got 7)",
	    "services[1].regions[0].check_addresses[5]: duplicate address "
	    "\"FD00:0::1\" (also services[1].regions[0].check_addresses[2])");
}

/* Errors in checks do not stop the rest from being reported, and what was
 * parsed is freed. */
static void test_check_errors_collected(void **state)
{
	struct fx *fx = *state;
	EXPECT(
	    fx,
	    "{ \"services\": [ { \"name\": \"s\", \"hosts\": [\"a.example\"],"
	    " \"when_all_down\": \"never\", \"check\": { \"url\":"
	    " \"gopher://x\", \"interval\": 2, \"timeout\": 3,"
	    " \"ca_file\": \"ca.pem\", \"key_file\": \"k\","
	    " \"teleport\": { \"cluster_name\": \"c\" } },"
	    " \"regions\": [ { \"name\": \"r\", \"lat\": 0, \"lon\": 0,"
	    " \"addresses\": [\"192.0.2.1\"], \"check\": { \"url\":"
	    " \"https://r.example\", \"bogus\": 1 },"
	    " \"check_addresses\": [\"x\"] } ] } ], " ZONES " }",
	    "services[0].when_all_down: must be \"fail-open\" or "
	    "\"fail-closed\" (got \"never\")",
	    "services[0].check.url: invalid URL \"gopher://x\" (must start "
	    "with \"https://\" or \"http://\")",
	    "services[0].check.timeout: 3 is longer than the interval 2",
	    "services[0].check.key_file: needs a cert_file",
	    "services[0].regions[0].check.bogus: unknown key",
	    "services[0].regions[0].check_addresses[0]: invalid address "
	    "\"x\"");
}

/* ---- everything at once -------------------------------------------------- */

static void test_multiple_errors(void **state)
{
	struct fx *fx = *state;
	EXPECT(fx,
	       "{\n"
	       "  \"workers\": 2000,\n"
	       "  \"nsid\": \"\",\n"
	       "  \"frobnicate\": true,\n"
	       "  \"listen\": [\"1.2.3.4:0\", \"foo\", \"::1\","
	       " \"[::1]:53\"],\n"
	       "  \"tcp_idle_timeout\": 301,\n"
	       "  \"zones\": [\n"
	       "    { \"origin\": \"a..b\", \"file\": \"x\" },\n"
	       "    { \"origin\": \"Example.org\" },\n"
	       "    { \"origin\": \"example.org.\", \"file\": \"y\","
	       " \"extra\": 1 }\n"
	       "  ]\n"
	       "}\n",
	       "workers: must be an integer from 0 to 1024 (got 2000)",
	       "nsid: must be a string of 1 to 255 bytes (got 0 bytes)",
	       "frobnicate: unknown key",
	       "listen[0]: invalid address \"1.2.3.4:0\" "
	       "(port must be a number from 1 to 65535)",
	       "listen[1]: invalid address \"foo\" "
	       "(not an IPv4 or IPv6 address)",
	       "listen[3]: duplicate address \"[::1]:53\" (also listen[2])",
	       "tcp_idle_timeout: must be a number from 0.1 to 300 (got 301)",
	       "zones[0].origin: invalid domain name \"a..b\" (empty label)",
	       "zones[1].file: required key is missing",
	       "zones[2].extra: unknown key",
	       "zones[2].origin: duplicate zone \"example.org.\" "
	       "(also zones[1])");
}

static void test_no_diag_callback(void **state)
{
	struct fx *fx = *state;
	struct conf *c = (struct conf *)1;
	write_file(fx, "{ \"workers\": -1 }");
	/* Messages go to log_err (stderr). */
	assert_int_equal(conf_load(fx->path, NULL, NULL, &c), GS_ECONFIG);
	assert_null(c);
}

static void test_free_null(void **state)
{
	(void)state;
	conf_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_missing_file),
	    T(test_directory),
	    T(test_syntax_error),
	    T(test_empty_file),
	    T(test_duplicate_key),
	    T(test_top_not_object),
	    T(test_top_scalar),
	    T(test_unknown_key),
	    T(test_unknown_zone_key),
	    T(test_wrong_type),
	    T(test_wrong_type_zones),
	    T(test_zones_not_array),
	    T(test_integer_given_real),
	    T(test_number_accepts_integer),
	    T(test_out_of_range),
	    T(test_range_limits_inclusive),
	    T(test_control_paths),
	    T(test_control_socket_too_long),
	    T(test_null_means_none),
	    T(test_missing_zones),
	    T(test_empty_zones),
	    T(test_missing_zone_keys),
	    T(test_duplicate_zone),
	    T(test_bad_origin),
	    T(test_origin_limits),
	    T(test_bad_listen_address),
	    T(test_bad_listen_port),
	    T(test_duplicate_listen),
	    T(test_empty_listen),
	    T(test_parse_sockaddr),
	    T(test_defaults),
	    T(test_relative_file),
	    T(test_relative_config_path),
	    T(test_valid_full),
	    T(test_sample_is_defaults),
	    T(test_geoip_wrong_types),
	    T(test_geoip_unknown_key),
	    T(test_duplicate_database),
	    T(test_geoip_empty),
	    T(test_default_location),
	    T(test_services_wrong_types),
	    T(test_region_wrong_types),
	    T(test_service_ranges),
	    T(test_missing_service_keys),
	    T(test_empty_service_arrays),
	    T(test_services_empty_ok),
	    T(test_duplicate_service),
	    T(test_duplicate_region),
	    T(test_duplicate_host),
	    T(test_bad_host),
	    T(test_host_limits),
	    T(test_bad_address),
	    T(test_duplicate_address),
	    T(test_unknown_service_keys),
	    T(test_checks_valid),
	    T(test_when_all_down),
	    T(test_check_wrong_types),
	    T(test_check_ranges),
	    T(test_check_unknown_keys),
	    T(test_check_url_required),
	    T(test_check_urls),
	    T(test_check_timeout_interval),
	    T(test_check_key_without_cert),
	    T(test_check_addresses),
	    T(test_check_errors_collected),
	    T(test_multiple_errors),
	    T(test_no_diag_callback),
	    T(test_free_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
