/* ctl_proto.c: the control protocol's messages, durations, and the
 * client's side of the socket (see ctl_proto.h for the protocol). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/errcode.h"
#include "control/ctl_proto.h"

/* Only the isfinite() and isnan() macros come from math.h: the CLI does
 * not link libm. */

/* The first read of a reply; the buffer doubles up to CTL_REPLY_MAX. */
#define REPLY_CHUNK 4096

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    GS_PRINTF(3, 4);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- durations ----------------------------------------------------------- */

/* Seconds per unit letter, or 0 for a letter that is not a unit. */
static double unit_seconds(char c)
{
	switch (c) {
	case 's':
		return 1.0;
	case 'm':
		return 60.0;
	case 'h':
		return 3600.0;
	case 'd':
		return 86400.0;
	default:
		return 0.0;
	}
}

/* Reads digits with at most one '.', and at least one digit, from *p.
 * Returns 0 and the value, or GS_EINVAL. Never reads exponents, signs,
 * "inf" or "nan": those are not durations. */
static int parse_number(const char **p, double *val)
{
	const char *s = *p, *q = s;
	size_t digits = 0;
	bool dot = false;
	char buf[64];

	for (;; q++) {
		if (*q >= '0' && *q <= '9')
			digits++;
		else if (*q == '.' && !dot)
			dot = true;
		else
			break;
	}
	if (digits == 0)
		return GS_EINVAL;
	/* 63 characters hold any number a year fits in many times over;
	 * a longer one is too long to be a duration anyway. */
	if ((size_t)(q - s) >= sizeof(buf))
		return GS_EINVAL;
	memcpy(buf, s, (size_t)(q - s));
	buf[q - s] = '\0';
	*val = strtod(buf, NULL);
	*p = q;
	return 0;
}

int ctl_parse_duration(const char *s, double *secs)
{
	const char *p = s;
	double total = 0.0, last_unit = 0.0;
	bool negative = false;
	int ret = GS_EINVAL;

	if (!s || !*s)
		goto out;
	if (*p == '-') {
		negative = true;
		p++;
	}
	while (*p) {
		double val, unit;

		if (parse_number(&p, &val) != 0)
			goto out;
		if (*p == '\0') {
			/* A bare number is seconds, but only on its own:
			 * "1h30" is not "1h30m" nor "1h30s". */
			if (last_unit != 0.0)
				goto out;
			total += val;
			break;
		}
		unit = unit_seconds(*p);
		if (unit == 0.0)
			goto out;
		/* Units go from large to small, each at most once. */
		if (last_unit != 0.0 && unit >= last_unit)
			goto out;
		last_unit = unit;
		total += val * unit;
		p++;
	}
	if (negative || !isfinite(total) || total <= 0.0 ||
	    total > CTL_DRAIN_MAX_SECONDS) {
		ret = GS_ERANGE;
		goto out;
	}
	*secs = total;
	ret = 0;
out:
	return ret;
}

const char *ctl_format_duration(double secs, char *buf, size_t len)
{
	unsigned long long t, d, h, m, s;

	if (len == 0)
		return buf;
	if (isnan(secs)) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (secs < 0.5)
		secs = 0.0;
	if (secs > 1e15)
		secs = 1e15;
	t = (unsigned long long)(secs + 0.5);
	d = t / 86400;
	h = t % 86400 / 3600;
	m = t % 3600 / 60;
	s = t % 60;
	/* The two largest units, the second left out when it is zero. */
	if (d > 0 && h > 0)
		snprintf(buf, len, "%llud%lluh", d, h);
	else if (d > 0)
		snprintf(buf, len, "%llud", d);
	else if (h > 0 && m > 0)
		snprintf(buf, len, "%lluh%02llum", h, m);
	else if (h > 0)
		snprintf(buf, len, "%lluh", h);
	else if (m > 0 && s > 0)
		snprintf(buf, len, "%llum%02llus", m, s);
	else if (m > 0)
		snprintf(buf, len, "%llum", m);
	else
		snprintf(buf, len, "%llus", s);
	return buf;
}

/* ---- messages ------------------------------------------------------------ */

/* A JSON string of s; bytes that are not UTF-8 become '?', so messages
 * built from outside text (a file name, a reason) always encode. */
static json_t *lossy_string(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = gs_xstrdup(s);
	for (unsigned char *p = (unsigned char *)copy; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	if (!j)
		abort();
	return j;
}

/* Dumps obj (consumed) as one compact line with its '\n'. */
static char *dump_line(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	char *line;

	json_decref(obj);
	/* json_dumps fails only on exhaustion: our objects hold no NaN. */
	if (!s)
		abort();
	line = gs_xasprintf("%s\n", s);
	free(s);
	return line;
}

char *ctl_request_encode(const char *command, json_t *args)
{
	json_t *req = json_object();

	json_object_set_new(req, "version", json_integer(CTL_VERSION));
	json_object_set_new(req, "command", lossy_string(command));
	json_object_set_new(req, "args", args ? args : json_object());
	return dump_line(req);
}

int ctl_request_decode(const char *line, size_t len, json_t **msg,
		       const char **command, json_t **args, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v;
	json_int_t version;
	int ret = GS_EINVAL;

	*msg = NULL;
	/* The EOF check stays on: one line holds exactly one value. */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (!root) {
		set_err(err, errlen, "invalid JSON at column %d: %s",
			jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen, "request is not a JSON object");
		goto out;
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v)) {
		set_err(err, errlen, "request has no \"version\" (integer)");
		goto out;
	}
	version = json_integer_value(v);
	if (version != CTL_VERSION) {
		set_err(err, errlen,
			"protocol version %" JSON_INTEGER_FORMAT
			" not supported (this daemon speaks %d)",
			version, CTL_VERSION);
		goto out;
	}
	v = json_object_get(root, "command");
	if (!json_is_string(v)) {
		set_err(err, errlen, "request has no \"command\" (string)");
		goto out;
	}
	*command = json_string_value(v);
	v = json_object_get(root, "args");
	if (!v) {
		v = json_object();
		json_object_set_new(root, "args", v);
	} else if (!json_is_object(v)) {
		set_err(err, errlen, "\"args\" is not an object");
		goto out;
	}
	*args = v;
	*msg = root;
	root = NULL;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

char *ctl_reply_ok(json_t *result)
{
	json_t *rep = json_object();

	json_object_set_new(rep, "version", json_integer(CTL_VERSION));
	json_object_set_new(rep, "ok", json_true());
	json_object_set_new(rep, "result", result ? result : json_object());
	return dump_line(rep);
}

char *ctl_reply_error(const char *error, json_t *errors)
{
	json_t *rep = json_object();

	json_object_set_new(rep, "version", json_integer(CTL_VERSION));
	json_object_set_new(rep, "ok", json_false());
	json_object_set_new(rep, "error", lossy_string(error ? error : ""));
	if (errors)
		json_object_set_new(rep, "errors", errors);
	return dump_line(rep);
}

/* ---- client -------------------------------------------------------------- */

int ctl_client_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	size_t plen = strlen(path);
	int fd = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (plen == 0) {
		set_err(err, errlen, "cannot connect: empty socket path");
		goto out;
	}
	if (plen >= sizeof(sa.sun_path)) {
		set_err(err, errlen,
			"cannot connect to %s: path too long (at most %zu "
			"bytes)",
			path, sizeof(sa.sun_path) - 1);
		goto out;
	}
	memcpy(sa.sun_path, path, plen + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(err, errlen, "cannot create a socket: %s",
			strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		goto out;
	switch (errno) {
	case ENOENT:
		set_err(err, errlen,
			"cannot connect to %s: no such file (is geosteerd "
			"running?)",
			path);
		break;
	case ECONNREFUSED:
		set_err(err, errlen,
			"cannot connect to %s: connection refused (geosteerd "
			"is not running)",
			path);
		break;
	case EACCES:
	case EPERM:
		set_err(err, errlen,
			"cannot connect to %s: permission denied (run as root "
			"or a member of the socket's group)",
			path);
		break;
	case EAGAIN:
		set_err(err, errlen,
			"cannot connect to %s: geosteerd is busy (try again)",
			path);
		break;
	default:
		set_err(err, errlen, "cannot connect to %s: %s", path,
			strerror(errno));
	}
	close(fd);
	fd = -1;
out:
	return fd;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC seconds), for poll():
 * -1 without a deadline, 0 once it has passed. */
static int ms_left(double deadline)
{
	struct timespec ts;
	double left;

	if (deadline <= 0.0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	left = deadline - ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	if (left <= 0.0)
		return 0;
	if (left > (double)INT32_MAX / 1000.0)
		return INT32_MAX;
	/* Round up, so that a poll of 0 ms means the time is really up. */
	return (int)(left * 1000.0) + 1;
}

/* Waits until fd is ready for events. Returns 0, or GS_EIO on timeout or
 * a poll failure (reason in err). */
static int wait_fd(int fd, short events, double deadline, double timeout,
		   char *err, size_t errlen)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	for (;;) {
		int ms = ms_left(deadline);

		if (ms == 0) {
			set_err(err, errlen,
				"no reply from geosteerd within %.1f s",
				timeout);
			return GS_EIO;
		}
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			set_err(err, errlen, "poll: %s", strerror(errno));
			return GS_EIO;
		}
	}
}

static int send_all(int fd, const char *buf, size_t len, double deadline,
		    double timeout, char *err, size_t errlen)
{
	size_t off = 0;
	int ret = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = wait_fd(fd, POLLOUT, deadline, timeout, err,
				      errlen);
			if (ret != 0)
				goto out;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			set_err(err, errlen, "geosteerd closed the connection");
		else
			set_err(err, errlen, "cannot send the request: %s",
				strerror(errno));
		ret = GS_EIO;
		goto out;
	}
out:
	return ret;
}

/* Reads one line into a new buffer (*line, *len without the '\n'; the
 * buffer is NUL-terminated). Reads nothing past the '\n', so that a later
 * reply on the same connection stays in the socket. */
static int recv_line(int fd, double deadline, double timeout, char **line,
		     size_t *len, char *err, size_t errlen)
{
	size_t cap = REPLY_CHUNK, used = 0;
	char *buf = gs_xmalloc(cap + 1);
	int ret = 0;

	for (;;) {
		ssize_t n;
		char *nl;
		size_t take;

		if (used == cap) {
			if (cap > CTL_REPLY_MAX) {
				set_err(err, errlen,
					"reply longer than %d bytes",
					CTL_REPLY_MAX);
				ret = GS_EMALF;
				goto out;
			}
			/* One byte beyond the cap makes room for its '\n'. */
			cap = cap * 2 > CTL_REPLY_MAX ? CTL_REPLY_MAX + 1
						      : cap * 2;
			buf = gs_xreallocarray(buf, cap + 1, 1);
		}
		ret = wait_fd(fd, POLLIN, deadline, timeout, err, errlen);
		if (ret != 0)
			goto out;
		n = recv(fd, buf + used, cap - used, MSG_PEEK);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			if (errno == ECONNRESET)
				set_err(err, errlen,
					"geosteerd closed the connection");
			else
				set_err(err, errlen,
					"cannot read the reply: %s",
					strerror(errno));
			ret = GS_EIO;
			goto out;
		}
		if (n == 0) {
			set_err(err, errlen, "geosteerd closed the connection");
			ret = GS_EIO;
			goto out;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		take = nl ? (size_t)(nl - (buf + used)) + 1 : (size_t)n;
		/* Consume what was peeked, up to and with the '\n'. */
		n = recv(fd, buf + used, take, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "cannot read the reply: %s",
				strerror(errno));
			ret = GS_EIO;
			goto out;
		}
		used += (size_t)n;
		if (nl && (size_t)n == take)
			break;
	}
	used--; /* the '\n' */
	if (used > CTL_REPLY_MAX) {
		set_err(err, errlen, "reply longer than %d bytes",
			CTL_REPLY_MAX);
		ret = GS_EMALF;
		goto out;
	}
	buf[used] = '\0';
	*line = buf;
	*len = used;
	buf = NULL;
out:
	free(buf);
	return ret;
}

/* Checks a reply line's shape. Returns 0 and the object, or GS_EMALF. */
static int decode_reply(const char *line, size_t len, json_t **reply, char *err,
			size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v, *ok;
	int ret = GS_EMALF;

	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (!root) {
		set_err(err, errlen,
			"malformed reply from geosteerd (invalid JSON at "
			"column %d: %s)",
			jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen,
			"malformed reply from geosteerd (not a JSON object)");
		goto out;
	}
	v = json_object_get(root, "version");
	ok = json_object_get(root, "ok");
	if (!json_is_integer(v) || !json_is_boolean(ok)) {
		set_err(err, errlen,
			"malformed reply from geosteerd (no \"version\" or "
			"\"ok\")");
		goto out;
	}
	/* A refusal is shown whatever its version: it may be the very
	 * message that says which versions the daemon speaks. */
	if (json_is_true(ok) && json_integer_value(v) != CTL_VERSION) {
		set_err(err, errlen,
			"reply in protocol version %" JSON_INTEGER_FORMAT
			" (this geosteer speaks %d)",
			json_integer_value(v), CTL_VERSION);
		goto out;
	}
	*reply = root;
	root = NULL;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int ctl_client_call(int fd, const char *command, json_t *args, double timeout,
		    json_t **reply, char *err, size_t errlen)
{
	char *req = ctl_request_encode(command, args);
	char *line = NULL;
	size_t len = 0;
	double deadline = 0.0;
	int ret;

	*reply = NULL;
	/* A timeout of 0 or less waits as long as it takes. */
	if (timeout > 0.0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		deadline =
		    (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + timeout;
	}
	ret = send_all(fd, req, strlen(req), deadline, timeout, err, errlen);
	if (ret != 0) {
		/* The daemon may have said why before it closed (a refusal):
		 * that reply beats "closed the connection". */
		char err2[16];
		if (recv_line(fd, deadline, timeout, &line, &len, err2,
			      sizeof(err2)) == 0 &&
		    decode_reply(line, len, reply, err2, sizeof(err2)) == 0)
			ret = 0;
		goto out;
	}
	ret = recv_line(fd, deadline, timeout, &line, &len, err, errlen);
	if (ret != 0)
		goto out;
	ret = decode_reply(line, len, reply, err, errlen);
out:
	free(line);
	free(req);
	return ret;
}
