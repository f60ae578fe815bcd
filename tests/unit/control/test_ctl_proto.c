/* The control protocol: durations, request and reply lines, and the
 * client's side of a call against a fake daemon on a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/errcode.h"
#include "control/ctl_proto.h"

/* ---- durations --------------------------------------------------------- */

static void ok_duration(const char *s, double want)
{
	double got = -1;

	if (ctl_parse_duration(s, &got) != 0)
		fail_msg("\"%s\" was refused", s);
	if (got != want)
		fail_msg("\"%s\" gave %f, want %f", s, got, want);
}

static void bad_duration(const char *s, int want)
{
	double got = -1;
	int rc = ctl_parse_duration(s, &got);

	if (rc != want)
		fail_msg("\"%s\" gave %d, want %d", s, rc, want);
	assert_true(got == -1);
}

static void test_parse_duration(void **state)
{
	(void)state;
	ok_duration("90", 90);
	ok_duration("1.5", 1.5);
	ok_duration(".5", 0.5);
	ok_duration("90s", 90);
	ok_duration("45m", 2700);
	ok_duration("2h", 7200);
	ok_duration("1d", 86400);
	ok_duration("1h30m", 5400);
	ok_duration("1.5h", 5400);
	ok_duration("1d12h30m15s", 86400 + 12 * 3600 + 30 * 60 + 15);
	ok_duration("366d", CTL_DRAIN_MAX_SECONDS);

	bad_duration(NULL, GS_EINVAL);
	bad_duration("", GS_EINVAL);
	bad_duration("5x", GS_EINVAL);
	bad_duration("m", GS_EINVAL);
	bad_duration("1e999", GS_EINVAL);
	bad_duration("1e3", GS_EINVAL);
	bad_duration("inf", GS_EINVAL);
	bad_duration("nan", GS_EINVAL);
	bad_duration("0x10", GS_EINVAL);
	bad_duration("+5", GS_EINVAL);
	bad_duration(" 5m", GS_EINVAL);
	bad_duration("5m ", GS_EINVAL);
	bad_duration("1..5", GS_EINVAL);
	bad_duration(".", GS_EINVAL);
	bad_duration("1h30", GS_EINVAL);  /* 30 what? */
	bad_duration("30m1h", GS_EINVAL); /* units from large to small */
	bad_duration("1h1h", GS_EINVAL);
	bad_duration("5M", GS_EINVAL);
	bad_duration("1234567890123456789012345678901234567890123456789012345"
		     "678901234567890",
		     GS_EINVAL);

	bad_duration("0", GS_ERANGE);
	bad_duration("0s", GS_ERANGE);
	bad_duration("0.0", GS_ERANGE);
	bad_duration("0h0m", GS_ERANGE);
	bad_duration("-5m", GS_ERANGE);
	bad_duration("-90", GS_ERANGE);
	bad_duration("367d", GS_ERANGE);
	bad_duration("366d1s", GS_ERANGE);
	bad_duration("99999999999999999999", GS_ERANGE);
}

static void test_format_duration(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(ctl_format_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(ctl_format_duration(-5, buf, sizeof(buf)), "0s");
	assert_string_equal(ctl_format_duration(45, buf, sizeof(buf)), "45s");
	assert_string_equal(ctl_format_duration(44.6, buf, sizeof(buf)), "45s");
	assert_string_equal(ctl_format_duration(59.6, buf, sizeof(buf)), "1m");
	assert_string_equal(ctl_format_duration(720, buf, sizeof(buf)), "12m");
	assert_string_equal(ctl_format_duration(750, buf, sizeof(buf)),
			    "12m30s");
	assert_string_equal(ctl_format_duration(7200, buf, sizeof(buf)), "2h");
	assert_string_equal(ctl_format_duration(7500, buf, sizeof(buf)),
			    "2h05m");
	/* Seconds are dropped once there are hours. */
	assert_string_equal(ctl_format_duration(7559, buf, sizeof(buf)),
			    "2h05m");
	assert_string_equal(ctl_format_duration(86400, buf, sizeof(buf)), "1d");
	assert_string_equal(ctl_format_duration(273600, buf, sizeof(buf)),
			    "3d4h");
	assert_string_equal(
	    ctl_format_duration(CTL_DRAIN_MAX_SECONDS, buf, sizeof(buf)),
	    "366d");
	/* Too small a buffer truncates, never overflows. */
	assert_string_equal(ctl_format_duration(7500, buf, 3), "2h");
}

/* ---- messages ---------------------------------------------------------- */

static void test_request_roundtrip(void **state)
{
	json_t *args =
	    json_pack("{s:s, s:s, s:i, s:b}", "region", "eu-west-1", "reason",
		      "kernel\nupdate", "for", 3600, "force", 1);
	json_t *msg = NULL, *got = NULL;
	const char *command = NULL, *in;
	char err[256] = "";
	char *line;
	size_t len;

	(void)state;
	line = ctl_request_encode("drain", args);
	len = strlen(line);
	/* One line: the only newline ends it. */
	assert_true(len > 1);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_int_equal(ctl_request_decode(line, len - 1, &msg, &command, &got,
					    err, sizeof(err)),
			 0);
	assert_string_equal(command, "drain");
	assert_string_equal(json_string_value(json_object_get(got, "region")),
			    "eu-west-1");
	assert_string_equal(json_string_value(json_object_get(got, "reason")),
			    "kernel\nupdate");
	assert_int_equal(json_integer_value(json_object_get(got, "for")), 3600);
	assert_true(json_is_true(json_object_get(got, "force")));
	json_decref(msg);
	free(line);

	/* No args: an empty object, on both sides. */
	line = ctl_request_encode("status", NULL);
	assert_string_equal(
	    line, "{\"version\":1,\"command\":\"status\",\"args\":{}}\n");
	free(line);
	in = "{\"version\":1,\"command\":\"reload\"}";
	assert_int_equal(ctl_request_decode(in, strlen(in), &msg, &command,
					    &got, err, sizeof(err)),
			 0);
	assert_string_equal(command, "reload");
	assert_true(json_is_object(got));
	assert_int_equal(json_object_size(got), 0);
	json_decref(msg);

	/* Unknown fields are ignored; a trailing '\r' or blank is fine. */
	in = "{\"command\":\"status\",\"x\":[1],\"version\":1} \r";
	assert_int_equal(ctl_request_decode(in, strlen(in), &msg, &command,
					    &got, err, sizeof(err)),
			 0);
	assert_string_equal(command, "status");
	json_decref(msg);
}

static void bad_request(const char *line, size_t len, const char *want)
{
	json_t *msg = (json_t *)1, *args = NULL;
	const char *command = NULL;
	char err[256] = "";

	if (ctl_request_decode(line, len, &msg, &command, &args, err,
			       sizeof(err)) != GS_EINVAL)
		fail_msg("accepted: %s", line);
	assert_null(msg);
	if (!strstr(err, want))
		fail_msg("%s: error \"%s\" lacks \"%s\"", line, err, want);
}

#define BAD(s, want) bad_request(s, sizeof(s) - 1, want)

static void test_request_errors(void **state)
{
	(void)state;
	BAD("", "invalid JSON");
	BAD("nope", "invalid JSON");
	BAD("{\"version\":1,", "invalid JSON");
	BAD("[1,2]", "not a JSON object");
	BAD("\"status\"", "not a JSON object");
	BAD("42", "not a JSON object");
	BAD("{\"version\":2,\"command\":\"status\"}",
	    "protocol version 2 not supported (this daemon speaks 1)");
	BAD("{\"version\":0,\"command\":\"status\"}",
	    "protocol version 0 not supported (this daemon speaks 1)");
	BAD("{\"command\":\"status\"}", "\"version\"");
	BAD("{\"version\":\"1\",\"command\":\"status\"}", "\"version\"");
	BAD("{\"version\":1.0,\"command\":\"status\"}", "\"version\"");
	BAD("{\"version\":1}", "\"command\"");
	BAD("{\"version\":1,\"command\":5}", "\"command\"");
	BAD("{\"version\":1,\"command\":null}", "\"command\"");
	BAD("{\"version\":1,\"command\":\"drain\",\"args\":[]}",
	    "\"args\" is not an object");
	BAD("{\"version\":1,\"command\":\"drain\",\"args\":null}",
	    "\"args\" is not an object");
	BAD("{\"version\":1,\"command\":\"drain\",\"args\":\"x\"}",
	    "\"args\" is not an object");
	BAD("{\"version\":1,\"version\":1,\"command\":\"status\"}",
	    "duplicate");
	BAD("{\"version\":1,\"command\":\"drain\",\"args\":{\"region\":\"a\","
	    "\"region\":\"b\"}}",
	    "duplicate");
	/* Exactly one value per line. */
	BAD("{\"version\":1,\"command\":\"status\"} x", "invalid JSON");
	BAD("{\"version\":1,\"command\":\"status\"}{}", "invalid JSON");
	/* A NUL, raw or escaped, is not allowed. */
	BAD("{\"version\":1,\"command\":\"st\0atus\"}", "invalid JSON");
	BAD("{\"version\":1,\"command\":\"st\\u0000atus\"}", "invalid JSON");
	BAD("{\"version\":1,\"command\":\"\xff\"}", "invalid JSON");
}

static void test_reply_encode(void **state)
{
	char *s;
	json_t *errors;

	(void)state;
	s = ctl_reply_ok(NULL);
	assert_string_equal(s, "{\"version\":1,\"ok\":true,\"result\":{}}\n");
	free(s);
	s = ctl_reply_ok(json_pack("{s:s}", "config_file", "/etc/g.conf"));
	assert_string_equal(s, "{\"version\":1,\"ok\":true,\"result\":"
			       "{\"config_file\":\"/etc/g.conf\"}}\n");
	free(s);
	s = ctl_reply_error("unknown region \"x\" (known: a, b)", NULL);
	assert_string_equal(s, "{\"version\":1,\"ok\":false,\"error\":"
			       "\"unknown region \\\"x\\\" (known: a, b)\"}\n");
	free(s);
	errors = json_pack("[s,s]", "a.conf:1: bad", "b.zone:2:\nworse");
	s = ctl_reply_error("config has 2 errors", errors);
	assert_string_equal(s, "{\"version\":1,\"ok\":false,\"error\":"
			       "\"config has 2 errors\",\"errors\":"
			       "[\"a.conf:1: bad\",\"b.zone:2:\\nworse\"]}\n");
	free(s);
	/* Text that is not UTF-8 still makes a reply. */
	s = ctl_reply_error("cannot open /tmp/\xff\xfe", NULL);
	assert_string_equal(s, "{\"version\":1,\"ok\":false,\"error\":"
			       "\"cannot open /tmp/??\"}\n");
	free(s);
}

/* ---- the client against a fake daemon ---------------------------------- */

enum peer {
	PEER_NORMAL,
	PEER_DRIBBLE,	/* the reply in small pieces, with pauses */
	PEER_CLOSE,	/* closes before a full line */
	PEER_LONG,	/* a line longer than CTL_REPLY_MAX */
	PEER_GARBAGE,	/* a line that is not JSON */
	PEER_NOT_REPLY, /* JSON without "ok" */
	PEER_SILENT,	/* never replies */
	PEER_TWO,	/* two replies in one write, for two requests */
	PEER_REFUSE_V2, /* ok=false in version 2 */
};

static const char reply_ok[] =
    "{\"version\":1,\"ok\":true,\"result\":{\"config_file\":\"/x.conf\"}}\n";

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		p += w;
		n -= (size_t)w;
	}
}

/* Reads one request line, so the peer answers only after a request. */
static void read_request(int fd)
{
	char c;

	do {
		if (read(fd, &c, 1) != 1)
			_exit(1);
	} while (c != '\n');
}

static void run_peer(int fd, enum peer how)
{
	static const char longer[] =
	    "{\"version\":1,\"ok\":false,\"error\":\"protocol version 1 not "
	    "supported (this daemon speaks 2)\"}\n"
	    "{\"version\":1,\"ok\":true,\"result\":{\"n\":2}}\n";
	char *big;

	signal(SIGPIPE, SIG_DFL);
	read_request(fd);
	switch (how) {
	case PEER_NORMAL:
		write_all(fd, reply_ok, strlen(reply_ok));
		break;
	case PEER_DRIBBLE:
		for (size_t i = 0; i < strlen(reply_ok); i += 7) {
			size_t n =
			    strlen(reply_ok) - i < 7 ? strlen(reply_ok) - i : 7;

			write_all(fd, reply_ok + i, n);
			usleep(2000);
		}
		break;
	case PEER_CLOSE:
		write_all(fd, reply_ok, 10);
		break;
	case PEER_LONG:
		big = malloc(CTL_REPLY_MAX + 2);
		memset(big, ' ', CTL_REPLY_MAX + 2);
		big[0] = '{';
		write_all(fd, big, CTL_REPLY_MAX + 2);
		free(big);
		break;
	case PEER_GARBAGE:
		write_all(fd, "hello\n", 6);
		break;
	case PEER_NOT_REPLY:
		write_all(fd, "{\"version\":1,\"result\":{}}\n", 26);
		break;
	case PEER_SILENT:
		sleep(10);
		break;
	case PEER_TWO:
		write_all(fd, longer, strlen(longer));
		read_request(fd);
		break;
	case PEER_REFUSE_V2:
		write_all(fd, "{\"version\":2,\"ok\":false,\"error\":\"no\"}\n",
			  38);
		break;
	}
	_exit(0);
}

struct call {
	pid_t pid;
	int fd;
};

static struct call start_peer(enum peer how)
{
	struct call c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		close(sv[0]);
		run_peer(sv[1], how);
	}
	close(sv[1]);
	c.fd = sv[0];
	return c;
}

static void end_peer(struct call *c)
{
	close(c->fd);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

static int call(enum peer how, double timeout, json_t **reply, char *err,
		size_t errlen)
{
	struct call c = start_peer(how);
	int rc;

	rc = ctl_client_call(c.fd, "reload", NULL, timeout, reply, err, errlen);
	end_peer(&c);
	return rc;
}

static void test_call_ok(void **state)
{
	json_t *reply = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(call(PEER_NORMAL, 5, &reply, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(reply, "result"),
					      "config_file")),
	    "/x.conf");
	json_decref(reply);
	reply = NULL;
	assert_int_equal(call(PEER_DRIBBLE, 5, &reply, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	/* A refusal in another version is still a reply: its error says
	 * which versions the daemon speaks. */
	reply = NULL;
	assert_int_equal(call(PEER_REFUSE_V2, 5, &reply, err, sizeof(err)), 0);
	assert_true(json_is_false(json_object_get(reply, "ok")));
	json_decref(reply);
}

static void test_call_two(void **state)
{
	struct call c = start_peer(PEER_TWO);
	json_t *reply = NULL;
	char err[256] = "";

	(void)state;
	/* Both replies come in one write; each call takes its own. */
	assert_int_equal(
	    ctl_client_call(c.fd, "status", NULL, 5, &reply, err, sizeof(err)),
	    0);
	assert_true(json_is_false(json_object_get(reply, "ok")));
	json_decref(reply);
	reply = NULL;
	assert_int_equal(
	    ctl_client_call(c.fd, "status", NULL, 5, &reply, err, sizeof(err)),
	    0);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(reply, "result"), "n")),
			 2);
	json_decref(reply);
	end_peer(&c);
}

static void test_call_errors(void **state)
{
	json_t *reply = NULL;
	char err[256] = "";
	struct timespec t0, t1;
	double took;

	(void)state;
	assert_int_equal(call(PEER_CLOSE, 5, &reply, err, sizeof(err)), GS_EIO);
	assert_string_equal(err, "geosteerd closed the connection");
	assert_null(reply);

	assert_int_equal(call(PEER_LONG, 20, &reply, err, sizeof(err)),
			 GS_EMALF);
	assert_non_null(strstr(err, "reply longer than"));
	assert_null(reply);

	assert_int_equal(call(PEER_GARBAGE, 5, &reply, err, sizeof(err)),
			 GS_EMALF);
	assert_non_null(strstr(err, "malformed reply"));
	assert_null(reply);

	assert_int_equal(call(PEER_NOT_REPLY, 5, &reply, err, sizeof(err)),
			 GS_EMALF);
	assert_null(reply);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call(PEER_SILENT, 0.2, &reply, err, sizeof(err)),
			 GS_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took >= 0.19 && took < 3.0);
	assert_string_equal(err, "no reply from geosteerd within 0.2 s");
	assert_null(reply);
}

static void test_call_peer_gone(void **state)
{
	int sv[2];
	json_t *reply = NULL;
	char err[256] = "";

	(void)state;
	/* A peer gone before the request: EPIPE, not SIGPIPE. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(
	    ctl_client_call(sv[0], "status", NULL, 1, &reply, err, sizeof(err)),
	    GS_EIO);
	assert_string_equal(err, "geosteerd closed the connection");
	close(sv[0]);
}

static void test_connect(void **state)
{
	char dir[] = "/tmp/gs-ctl-test-XXXXXX";
	char path[96], err[512] = "", longpath[200];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);

	assert_int_equal(ctl_client_connect(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": no such file (is geosteerd running?)"));

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ctl_client_connect(longpath, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path too long"));
	assert_int_equal(ctl_client_connect("", err, sizeof(err)), -1);

	/* A socket file nobody listens on. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(lfd);
	assert_int_equal(ctl_client_connect(path, err, sizeof(err)), -1);
	assert_non_null(
	    strstr(err, ": connection refused (geosteerd is not running)"));
	unlink(path);

	/* And one somebody listens on. */
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	fd = ctl_client_connect(path, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_format_duration),
	    cmocka_unit_test(test_request_roundtrip),
	    cmocka_unit_test(test_request_errors),
	    cmocka_unit_test(test_reply_encode),
	    cmocka_unit_test(test_call_ok),
	    cmocka_unit_test(test_call_two),
	    cmocka_unit_test(test_call_errors),
	    cmocka_unit_test(test_call_peer_gone),
	    cmocka_unit_test(test_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
