/* geosteer: the operator's command line. Sends one request over
 * geosteerd's control socket and prints the reply for a person (or, with
 * --json, the result object as sent). Links the control protocol and
 * common code only. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/errcode.h"
#include "control/ctl_proto.h"

#define WIDTH 80
/* Longest reason shown in a table, in characters; --json has it all. */
#define REASON_SHOWN 200

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* What the command line said. */
struct cli {
	const char *socket;
	const char *arg; /* the positional argument */
	const char *service, *reason, *name;
	double for_secs; /* 0: no --for */
	bool force, json;
};

struct cmd {
	const char *name;
	const char *arg;   /* the positional argument's name, or NULL */
	const char *usage; /* after the name and the argument */
	const char *help;
	const struct option *opts;
	double timeout; /* seconds to wait for the reply */
	/* Builds the request's args into *args (new reference, may stay
	 * NULL). Returns 0 or GS_EINVAL after a usage message. */
	int (*args)(const struct cli *c, json_t **args);
	/* Prints an ok reply's result for a person. */
	void (*print)(json_t *result);
};

enum {
	OPT_SERVICE = 256,
	OPT_REASON,
	OPT_FOR,
	OPT_FORCE,
	OPT_JSON,
	OPT_NAME,
};

#define OPTS_COMMON                               \
	{"socket", required_argument, NULL, 's'}, \
	{                                         \
		"help", no_argument, NULL, 'h'    \
	}

static const struct option status_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    OPTS_COMMON,
    {NULL, 0, NULL, 0},
};

static const struct option drain_opts[] = {
    {"service", required_argument, NULL, OPT_SERVICE},
    {"reason", required_argument, NULL, OPT_REASON},
    {"for", required_argument, NULL, OPT_FOR},
    {"force", no_argument, NULL, OPT_FORCE},
    OPTS_COMMON,
    {NULL, 0, NULL, 0},
};

static const struct option undrain_opts[] = {
    {"service", required_argument, NULL, OPT_SERVICE},
    OPTS_COMMON,
    {NULL, 0, NULL, 0},
};

static const struct option explain_opts[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"json", no_argument, NULL, OPT_JSON},
    OPTS_COMMON,
    {NULL, 0, NULL, 0},
};

static const struct option reload_opts[] = {
    OPTS_COMMON,
    {NULL, 0, NULL, 0},
};

/* ---- output lines -------------------------------------------------------- */

/* One output line being built; put_* sanitize what they append, so that
 * text from the daemon (failure reasons quote remote servers) cannot
 * move the cursor or change the terminal. */
struct line {
	char *s;
	size_t len, cap;
	FILE *f; /* NULL: stdout */
};

static void line_reserve(struct line *l, size_t more)
{
	if (l->len + more + 1 <= l->cap)
		return;
	while (l->len + more + 1 > l->cap)
		l->cap = l->cap ? l->cap * 2 : 128;
	l->s = gs_xreallocarray(l->s, l->cap, 1);
}

/* Columns taken by the line: UTF-8 code points, close enough. */
static size_t line_cols(const struct line *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->len; i++)
		if (((unsigned char)l->s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static void put_n(struct line *l, const char *s, size_t n)
{
	line_reserve(l, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* C0 controls, DEL, and C1 controls (U+0080..U+009F). */
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c == 0xc2 && i + 1 < n &&
			 (unsigned char)s[i + 1] >= 0x80 &&
			 (unsigned char)s[i + 1] <= 0x9f) {
			i++;
			c = ' ';
		}
		l->s[l->len++] = (char)c;
	}
	l->s[l->len] = '\0';
}

static void put(struct line *l, const char *s)
{
	put_n(l, s, strlen(s));
}

static void putf(struct line *l, const char *fmt, ...) GS_PRINTF(2, 3);

static void putf(struct line *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	put(l, s);
	free(s);
}

static void pad_to(struct line *l, size_t col)
{
	size_t c = line_cols(l);

	line_reserve(l, col > c ? col - c : 0);
	while (c++ < col)
		l->s[l->len++] = ' ';
	if (l->s)
		l->s[l->len] = '\0';
}

/* Prints the line (without trailing blanks) and empties it. */
static void flush(struct line *l)
{
	while (l->len > 0 && l->s[l->len - 1] == ' ')
		l->len--;
	fprintf(l->f ? l->f : stdout, "%.*s\n", (int)l->len,
		l->len ? l->s : "");
	l->len = 0;
}

static void line_free(struct line *l)
{
	free(l->s);
	l->s = NULL;
	l->len = l->cap = 0;
}

/* Appends text, breaking it into lines of at most WIDTH columns at
 * blanks; continuation lines start at column indent. A word too long for
 * any line is cut. With brackets, blanks inside [...] do not break (usage
 * lines). Leaves the last line open. */
static void put_wrapped(struct line *l, const char *text, size_t indent,
			bool brackets)
{
	const char *p = text;

	while (*p) {
		const char *w = p;
		int depth = 0;
		size_t wlen, wcols = 0, col;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && (*p != ' ' || depth > 0)) {
			if (brackets && *p == '[')
				depth++;
			else if (brackets && *p == ']' && depth > 0)
				depth--;
			if (((unsigned char)*p & 0xc0) != 0x80)
				wcols++;
			p++;
		}
		wlen = (size_t)(p - w);
		col = line_cols(l);
		/* A blank before the word unless the line ends in one. */
		if (l->len > 0 && l->s[l->len - 1] != ' ') {
			if (col + 1 + wcols > WIDTH && col > indent) {
				flush(l);
				pad_to(l, indent);
			} else {
				put(l, " ");
			}
		} else if (col + wcols > WIDTH && col > indent) {
			flush(l);
			pad_to(l, indent);
		}
		/* Cut words that fit no line. */
		while (line_cols(l) + wcols > WIDTH && WIDTH > indent + 1) {
			size_t room = WIDTH - line_cols(l), bytes = 0, cols = 0;

			while (bytes < wlen && cols < room) {
				bytes++;
				while (bytes < wlen &&
				       ((unsigned char)w[bytes] & 0xc0) == 0x80)
					bytes++;
				cols++;
			}
			put_n(l, w, bytes);
			w += bytes;
			wlen -= bytes;
			wcols -= cols;
			flush(l);
			pad_to(l, indent);
		}
		put_n(l, w, wlen);
	}
}

/* Prints a whole wrapped paragraph: first then text. */
static void print_wrapped(const char *first, const char *text, size_t indent)
{
	struct line l = {0};

	put(&l, first);
	put_wrapped(&l, text, indent, false);
	flush(&l);
	line_free(&l);
}

/* ---- reading the daemon's JSON ------------------------------------------- */

/* A member's string, or NULL when absent or not a string. */
static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A member's number, or false when absent, null, or not a number. */
static bool jnum(json_t *o, const char *key, double *val)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*val = json_number_value(v);
	return true;
}

static bool jbool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* "2026-11-24 15:30:00 UTC" */
static const char *fmt_time(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%.0f", t);
	return buf;
}

/* The duration from then to now ("45m"); "0s" for times ahead. */
static const char *ago(double then, char *buf, size_t len)
{
	return ctl_format_duration((double)time(NULL) - then, buf, len);
}

/* ---- status -------------------------------------------------------------- */

static const char *service_state_text(const char *state)
{
	if (!state)
		return "?";
	if (!strcmp(state, "fail-open"))
		return "DOWN, failing open (regions not drained answer)";
	if (!strcmp(state, "fail-closed"))
		return "DOWN, failing closed (SERVFAIL)";
	if (!strcmp(state, "all-drained"))
		return "DOWN, every region is drained (SERVFAIL)";
	return state;
}

/* What to say after an address's row: why it failed, or nothing. */
static char *addr_note(json_t *a)
{
	const char *state = jstr(a, "state"), *last = jstr(a, "last_result");
	const char *reason = jstr(a, "reason");
	char *note = NULL, *cut = NULL;
	double fails = 0;

	if (reason && strlen(reason) > REASON_SHOWN) {
		cut = gs_xasprintf("%.*s...", REASON_SHOWN, reason);
		reason = cut;
	}
	if (!state)
		goto out;
	if (!strcmp(state, "down")) {
		note = gs_xstrdup(reason ? reason : "");
	} else if (!strcmp(state, "unknown")) {
		note = gs_xstrdup(reason ? reason : "not checked yet");
	} else if (last && !strcmp(last, "fail")) {
		jnum(a, "fails", &fails);
		note = gs_xasprintf("failing (%.0f): %s", fails,
				    reason ? reason : "?");
	} else if (last && !strcmp(last, "inconclusive")) {
		note = gs_xasprintf("inconclusive: %s", reason ? reason : "?");
	}
out:
	free(cut);
	return note;
}

struct columns {
	size_t region, state, addr, check, latency, since;
};

/* Appends text in a column of width w starting where the line is, then
 * pads to the next column (two blanks on). A text wider than its column
 * ends the line, and the row goes on below at the next column. */
static void cell(struct line *l, const char *text, size_t start, size_t w)
{
	put(l, text);
	if (line_cols(l) > start + w)
		flush(l);
	pad_to(l, start + w + 2);
}

static void print_addr_row(struct line *l, const struct columns *c, json_t *a,
			   const char *prefix)
{
	const char *addr = jstr(a, "address"), *state = jstr(a, "state");
	char buf[64], *text, *note;
	double v;

	text = gs_xasprintf("%s%s", prefix, addr ? addr : "?");
	cell(l, text, c->addr, c->check - c->addr - 2);
	free(text);
	cell(l, state ? state : "?", c->check, c->latency - c->check - 2);
	if (jnum(a, "latency_ms", &v))
		snprintf(buf, sizeof(buf), "%.0f ms", v);
	else
		snprintf(buf, sizeof(buf), "-");
	cell(l, buf, c->latency, c->since - c->latency - 2);
	if (jnum(a, "since", &v))
		ago(v, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	put(l, buf);
	note = addr_note(a);
	if (note && *note) {
		size_t col = line_cols(l) + 2;

		/* Same line if it fits, else below, under the address. */
		if (col + strlen(note) <= WIDTH) {
			pad_to(l, col);
			put(l, note);
		} else {
			flush(l);
			pad_to(l, c->addr + 2);
			put_wrapped(l, note, c->addr + 2, false);
		}
	}
	free(note);
	flush(l);
}

static size_t max_len(size_t cur, const char *s)
{
	size_t n = s ? strlen(s) : 1;

	return n > cur ? n : cur;
}

/* Widths for one service's table: as wide as the contents, within the
 * 80 columns (longer contents overflow their row, see cell()). */
static void measure(json_t *regions, struct columns *c)
{
	size_t wr = strlen("REGION"), ws = strlen("STATE");
	size_t wa = strlen("ADDRESS"), wc = strlen("unknown");
	size_t wl = strlen("LATENCY");
	size_t i, j;
	json_t *addrs;

	for (i = 0; i < json_array_size(regions); i++) {
		json_t *r = json_array_get(regions, i);

		wr = max_len(wr, jstr(r, "name"));
		ws = max_len(ws, jstr(r, "state"));
		addrs = json_object_get(r, "addresses");
		for (j = 0; j < json_array_size(addrs); j++)
			wa = max_len(wa,
				     jstr(json_array_get(addrs, j), "address"));
		/* Probed addresses are shown as "probe ADDR". */
		addrs = json_object_get(r, "check_addresses");
		for (j = 0; j < json_array_size(addrs); j++) {
			const char *a =
			    jstr(json_array_get(addrs, j), "address");

			if (a && 6 + strlen(a) > wa)
				wa = 6 + strlen(a);
		}
	}
	if (wr > 16)
		wr = 16;
	if (wa > 24)
		wa = 24;
	c->region = 2;
	c->state = c->region + wr + 2;
	c->addr = c->state + ws + 2;
	c->check = c->addr + wa + 2;
	c->latency = c->check + wc + 2;
	c->since = c->latency + wl + 2;
}

static void print_drain_line(json_t *d, size_t indent, const char *what)
{
	const char *author = jstr(d, "author"), *reason = jstr(d, "reason");
	struct line l = {0};
	char b1[32], b2[32];
	double start, expires;

	pad_to(&l, indent);
	put(&l, what);
	if (author && *author)
		putf(&l, " by %s", author);
	if (jnum(d, "start", &start))
		putf(&l, " %s ago", ago(start, b1, sizeof(b1)));
	if (jnum(d, "expires", &expires)) {
		double left = expires - (double)time(NULL);

		if (left > 0)
			putf(&l, " for %s more",
			     ctl_format_duration(left, b2, sizeof(b2)));
		else
			put(&l, ", expired");
	} else {
		put(&l, " until undrained");
	}
	if (reason && *reason) {
		put(&l, ":");
		put_wrapped(&l, reason, indent + 2, false);
	}
	flush(&l);
	line_free(&l);
}

static void print_region(json_t *r, const struct columns *c)
{
	struct line l = {0};
	json_t *addrs = json_object_get(r, "addresses");
	json_t *checks = json_object_get(r, "check_addresses");
	json_t *drain;
	const char *name = jstr(r, "name"), *state = jstr(r, "state");
	size_t i;

	pad_to(&l, c->region);
	cell(&l, name ? name : "?", c->region, c->state - c->region - 2);
	cell(&l, state ? state : "?", c->state, c->addr - c->state - 2);
	if (json_array_size(addrs) == 0 && json_array_size(checks) == 0) {
		put(&l, "-");
		flush(&l);
	}
	for (i = 0; i < json_array_size(addrs); i++) {
		json_t *a = json_array_get(addrs, i);

		if (i > 0)
			pad_to(&l, c->addr);
		print_addr_row(&l, c, a, "");
	}
	for (i = 0; i < json_array_size(checks); i++) {
		json_t *a = json_array_get(checks, i);

		pad_to(&l, c->addr);
		print_addr_row(&l, c, a, "probe ");
	}
	drain = json_object_get(r, "drain");
	if (json_is_object(drain))
		print_drain_line(drain, c->region + 2, "drained");
	line_free(&l);
}

static void print_service(json_t *s)
{
	struct line l = {0};
	json_t *regions = json_object_get(s, "regions");
	json_t *hosts = json_object_get(s, "hosts");
	const char *name = jstr(s, "name"), *wad = jstr(s, "when_all_down");
	const char *warn = jstr(s, "version_warning");
	struct columns c;
	double ttl;
	size_t i;

	putf(&l, "service %s (", name ? name : "?");
	if (jnum(s, "ttl", &ttl))
		putf(&l, "ttl %.0f, ", ttl);
	if (jbool(s, "checked"))
		putf(&l, "when all down: %s):", wad ? wad : "?");
	else
		put(&l, "no health checks):");
	put_wrapped(&l, service_state_text(jstr(s, "state")), 2, false);
	flush(&l);
	if (json_array_size(hosts) > 0) {
		put(&l, "  hosts:");
		for (i = 0; i < json_array_size(hosts); i++) {
			json_t *h = json_array_get(hosts, i);
			char *word = gs_xasprintf(
			    "%s%s",
			    json_string_value(h) ? json_string_value(h) : "?",
			    i + 1 < json_array_size(hosts) ? "," : "");

			put_wrapped(&l, word, 9, false);
			free(word);
		}
		flush(&l);
	}
	if (warn)
		print_wrapped("  warning: ", warn, 11);
	measure(regions, &c);
	pad_to(&l, c.region);
	put(&l, "REGION");
	pad_to(&l, c.state);
	put(&l, "STATE");
	pad_to(&l, c.addr);
	put(&l, "ADDRESS");
	pad_to(&l, c.check);
	put(&l, "CHECK");
	pad_to(&l, c.latency);
	put(&l, "LATENCY");
	pad_to(&l, c.since);
	put(&l, "SINCE");
	flush(&l);
	for (i = 0; i < json_array_size(regions); i++)
		print_region(json_array_get(regions, i), &c);
	line_free(&l);
}

static void print_status(json_t *res)
{
	json_t *d = json_object_get(res, "daemon");
	json_t *services = json_object_get(res, "services");
	json_t *orphans = json_object_get(res, "orphaned_drains");
	const char *version = jstr(d, "version"),
		   *conf = jstr(d, "config_file");
	struct line l = {0};
	char b1[32], b2[40];
	double v;
	size_t i;

	putf(&l, "geosteerd %s", version ? version : "?");
	if (jnum(d, "pid", &v))
		putf(&l, ", pid %.0f", v);
	if (jnum(d, "started", &v))
		putf(&l, ", up %s", ago(v, b1, sizeof(b1)));
	flush(&l);
	if (conf) {
		put(&l, "config");
		put_wrapped(&l, conf, 2, false);
		if (jnum(d, "config_loaded", &v)) {
			char *when = gs_xasprintf("loaded %s (%s ago)",
						  fmt_time(v, b2, sizeof(b2)),
						  ago(v, b1, sizeof(b1)));

			/* "loaded ..." stays in one piece. */
			if (line_cols(&l) + 1 + strlen(when) > WIDTH) {
				flush(&l);
				pad_to(&l, 2);
			} else {
				put(&l, " ");
			}
			put(&l, when);
			free(when);
		}
		flush(&l);
	}
	if (json_array_size(services) == 0) {
		printf("\nno services configured\n");
	}
	for (i = 0; i < json_array_size(services); i++) {
		json_t *s = json_array_get(services, i);

		printf("\n");
		print_service(s);
	}
	if (json_array_size(orphans) > 0) {
		printf("\norphaned drains (their region is no longer in the "
		       "config):\n");
		for (i = 0; i < json_array_size(orphans); i++) {
			json_t *s = json_array_get(orphans, i);
			const char *svc = jstr(s, "service");
			const char *reg = jstr(s, "region");
			char *what = gs_xasprintf("%s/%s", svc ? svc : "?",
						  reg ? reg : "?");

			print_drain_line(s, 2, what);
			free(what);
		}
	}
	line_free(&l);
}

/* ---- drain, undrain, reload ---------------------------------------------- */

static void print_drain(json_t *res)
{
	json_t *list = json_object_get(res, "drained");
	size_t i;

	if (json_array_size(list) == 0)
		printf("nothing drained\n");
	for (i = 0; i < json_array_size(list); i++) {
		json_t *d = json_array_get(list, i);
		const char *svc = jstr(d, "service"), *reg = jstr(d, "region");
		const char *reason = jstr(d, "reason");
		struct line l = {0};
		char buf[40];
		double expires;
		bool paren = false;

		/* One line per drain, however long: scripts read these. */
		putf(&l, "drained %s in %s", reg ? reg : "?", svc ? svc : "?");
		if (reason && *reason) {
			putf(&l, " (reason: %s", reason);
			paren = true;
		}
		if (jnum(d, "expires", &expires)) {
			putf(&l, "%suntil %s", paren ? ", " : " (",
			     fmt_time(expires, buf, sizeof(buf)));
			paren = true;
		}
		if (paren)
			put(&l, ")");
		flush(&l);
		line_free(&l);
	}
}

static void print_undrain(json_t *res)
{
	json_t *undrained = json_object_get(res, "undrained");
	json_t *not_drained = json_object_get(res, "not_drained");
	size_t i;

	for (i = 0; i < json_array_size(undrained); i++) {
		json_t *d = json_array_get(undrained, i);
		const char *svc = jstr(d, "service"), *reg = jstr(d, "region");
		struct line l = {0};

		putf(&l, "undrained %s in %s", reg ? reg : "?",
		     svc ? svc : "?");
		flush(&l);
		line_free(&l);
	}
	for (i = 0; i < json_array_size(not_drained); i++) {
		json_t *d = json_array_get(not_drained, i);
		const char *svc = jstr(d, "service"), *reg = jstr(d, "region");
		struct line l = {0};

		putf(&l, "%s in %s was not drained", reg ? reg : "?",
		     svc ? svc : "?");
		flush(&l);
		line_free(&l);
	}
}

static void print_reload(json_t *res)
{
	const char *conf = jstr(res, "config_file");
	json_t *warnings = json_object_get(res, "warnings");
	size_t i;

	print_wrapped("reloaded", conf ? conf : "the configuration", 2);
	/* What the daemon said of the new config (a change that takes
	 * effect only at restart, say): on stderr, one line each. */
	for (i = 0; i < json_array_size(warnings); i++) {
		const char *w = json_string_value(json_array_get(warnings, i));
		struct line l = {.f = stderr};

		if (!w)
			continue;
		put(&l, "geosteer: ");
		put(&l, w);
		flush(&l);
		line_free(&l);
	}
}

/* ---- explain ------------------------------------------------------------- */

/* "192.0.2.1 (IPv4): country DE, 51.3, 9.49" and where that comes from. */
static void print_location(json_t *res)
{
	json_t *loc = json_object_get(res, "location");
	const char *addr = jstr(res, "address"), *source = jstr(loc, "source");
	const char *file = jstr(loc, "file"), *country = jstr(loc, "country");
	const char *region = jstr(loc, "region");
	struct line l = {0};
	double family, lat, lon, line;
	bool any = false;

	put(&l, addr ? addr : "?");
	if (jnum(res, "family", &family))
		putf(&l, " (IPv%.0f)", family);
	put(&l, ":");
	if (region) {
		putf(&l, " region %s", region);
		any = true;
	}
	if (country) {
		putf(&l, "%s country %s", any ? "," : "", country);
		any = true;
	}
	if (jnum(loc, "lat", &lat) && jnum(loc, "lon", &lon)) {
		putf(&l, "%s %g, %g", any ? "," : "", lat, lon);
		any = true;
	}
	if (!any)
		put(&l, " location unknown");
	flush(&l);
	if (!source || !strcmp(source, "none")) {
		print_wrapped("  ",
			      "not in the GeoIP data, and no default_location: "
			      "regions in configuration order",
			      2);
		goto out;
	}
	put(&l, "  located by");
	if (!strcmp(source, "overrides"))
		put_wrapped(&l, "the overrides file", 4, false);
	else if (!strcmp(source, "database"))
		put_wrapped(&l, "the database", 4, false);
	else
		put_wrapped(&l, source, 4, false);
	if (file && jnum(loc, "line", &line)) {
		char *where = gs_xasprintf("%s:%.0f", file, line);

		put_wrapped(&l, where, 4, false);
		free(where);
	} else if (file) {
		put_wrapped(&l, file, 4, false);
	}
	flush(&l);
out:
	line_free(&l);
}

/* "A:     eu-west-1  192.0.2.1, 192.0.2.2" */
static void print_answer_rrs(const char *label, json_t *rr)
{
	struct line l = {0};
	json_t *addrs = json_object_get(rr, "addresses");
	const char *region = jstr(rr, "region");
	size_t i, indent;

	put(&l, "  ");
	put(&l, label);
	pad_to(&l, 10);
	if (json_array_size(addrs) == 0) {
		put(&l, "none");
		flush(&l);
		goto out;
	}
	if (region) {
		put(&l, region);
		put(&l, "  ");
	}
	indent = line_cols(&l);
	for (i = 0; i < json_array_size(addrs); i++) {
		json_t *a = json_array_get(addrs, i);
		char *word = gs_xasprintf(
		    "%s%s", json_string_value(a) ? json_string_value(a) : "?",
		    i + 1 < json_array_size(addrs) ? "," : "");

		if (i == 0)
			put(&l, word);
		else
			put_wrapped(&l, word, indent, false);
		free(word);
	}
	flush(&l);
out:
	line_free(&l);
}

/* Whether two domain names in presentation form are the same, ignoring
 * case and a final dot. */
static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void print_explained_service(json_t *s)
{
	json_t *order = json_object_get(s, "order");
	const char *svc = jstr(s, "service"), *name = jstr(s, "name");
	const char *mode = jstr(s, "mode"), *rcode = jstr(s, "rcode");
	struct line l = {0};
	size_t i, wr = 0;
	double v;

	const char *asked = jstr(s, "asked");
	putf(&l, "%s (service %s)", name ? name : "?", svc ? svc : "?");
	if (asked && name && !same_name(asked, name))
		putf(&l, ", answering for %s", asked);
	flush(&l);
	for (i = 0; i < json_array_size(order); i++)
		wr = max_len(wr, jstr(json_array_get(order, i), "region"));
	for (i = 0; i < json_array_size(order); i++) {
		json_t *o = json_array_get(order, i);
		const char *region = jstr(o, "region");
		const char *state = jstr(o, "state");

		put(&l, i == 0 ? "  order:" : "");
		pad_to(&l, 10);
		putf(&l, "%zu. %s", i + 1, region ? region : "?");
		pad_to(&l, 10 + 4 + wr + 2);
		if (jnum(o, "distance_km", &v))
			putf(&l, "%6.0f km", v);
		else
			put(&l, "     - km");
		putf(&l, "  %s", state ? state : "?");
		if (state && !strcmp(state, "up") && !jbool(o, "usable"))
			put(&l, " (not usable)");
		flush(&l);
	}
	putf(&l, "  answer: %s", rcode ? rcode : "?");
	if (jnum(s, "ttl", &v))
		putf(&l, ", ttl %.0f", v);
	putf(&l, ", mode %s", mode ? mode : "?");
	if (jnum(s, "scope", &v))
		putf(&l, ", ECS scope /%.0f", v);
	flush(&l);
	if (!rcode || strcmp(rcode, "SERVFAIL") != 0) {
		print_answer_rrs("A:", json_object_get(s, "a"));
		print_answer_rrs("AAAA:", json_object_get(s, "aaaa"));
	}
	line_free(&l);
}

static void print_explain(json_t *res)
{
	json_t *services = json_object_get(res, "services");
	size_t i;

	print_location(res);
	if (json_array_size(services) == 0)
		printf("\nno steered service matches\n");
	for (i = 0; i < json_array_size(services); i++) {
		json_t *s = json_array_get(services, i);

		printf("\n");
		print_explained_service(s);
	}
}

/* ---- requests ------------------------------------------------------------ */

/* Sets obj.key to the string val; a usage error if val is not UTF-8. */
static int set_str(json_t *obj, const char *key, const char *val,
		   const char *what)
{
	json_t *j = json_string(val);

	if (!j) {
		fprintf(stderr, "geosteer: %s is not valid UTF-8\n", what);
		return GS_EINVAL;
	}
	json_object_set_new(obj, key, j);
	return 0;
}

static int drain_args(const struct cli *c, json_t **args)
{
	json_t *o = json_object();
	int ret;

	ret = set_str(o, "region", c->arg, "REGION");
	if (ret == 0 && c->service)
		ret = set_str(o, "service", c->service, "--service");
	if (ret == 0 && c->reason)
		ret = set_str(o, "reason", c->reason, "--reason");
	if (ret != 0)
		goto out;
	/* Whole seconds go as an integer, the usual JSON for a count. */
	if (c->for_secs > 0 && c->for_secs == (double)(json_int_t)c->for_secs)
		json_object_set_new(o, "for",
				    json_integer((json_int_t)c->for_secs));
	else if (c->for_secs > 0)
		json_object_set_new(o, "for", json_real(c->for_secs));
	if (c->force)
		json_object_set_new(o, "force", json_true());
	*args = o;
	o = NULL;
out:
	json_decref(o);
	return ret;
}

/* args {key: value, key2: value2 (when set)}, each checked by set_str. */
static int two_args(json_t **args, const char *key, const char *val,
		    const char *what, const char *key2, const char *val2,
		    const char *what2)
{
	json_t *o = json_object();
	int ret = set_str(o, key, val, what);
	if (ret == 0 && val2)
		ret = set_str(o, key2, val2, what2);
	if (ret != 0) {
		json_decref(o);
		return ret;
	}
	*args = o;
	return 0;
}

static int undrain_args(const struct cli *c, json_t **args)
{
	return two_args(args, "region", c->arg, "REGION", "service",
			c->service, "--service");
}

static int explain_args(const struct cli *c, json_t **args)
{
	return two_args(args, "address", c->arg, "ADDRESS", "name", c->name,
			"--name");
}

static const struct cmd cmd_table[] = {
    {"status", NULL, "[--json]",
     "Show every service, its regions and addresses, their health "
     "and drains.",
     status_opts, 15.0, NULL, print_status},
    {"drain", "REGION",
     "[--service NAME] [--reason TEXT] [--for DURATION] [--force]",
     "Stop answering with REGION, in every service or only NAME; "
     "--for lifts the drain after DURATION (90s, 45m, 2h, 1d, 1h30m).",
     drain_opts, 15.0, drain_args, print_drain},
    {"undrain", "REGION", "[--service NAME]",
     "Answer with REGION again, in every service or only NAME.", undrain_opts,
     15.0, undrain_args, print_undrain},
    {"explain", "ADDRESS", "[--name NAME] [--json]",
     "Show where ADDRESS is located and the answers it gets now, and "
     "why.",
     explain_opts, 15.0, explain_args, print_explain},
    {"reload", NULL, "",
     "Reload the configuration, zones and GeoIP data; on errors the "
     "running configuration stays.",
     reload_opts, 120.0, NULL, print_reload},
};

/* ---- the command line ---------------------------------------------------- */

static void cmd_usage(FILE *f, const struct cmd *cmd)
{
	char *text = gs_xasprintf("%s%s%s %s", cmd->name, cmd->arg ? " " : "",
				  cmd->arg ? cmd->arg : "", cmd->usage);
	struct line l = {.f = f};

	put(&l, "usage: geosteer [-s SOCKET]");
	put_wrapped(&l, text, 16, true);
	flush(&l);
	line_free(&l);
	free(text);
}

/* The commands' usage lines; with full, what they do and more. */
static void usage(FILE *f, bool full)
{
	fprintf(f, "usage: geosteer [-s SOCKET] COMMAND [ARGUMENT] [OPTIONS]\n"
		   "       geosteer -V | -h\n");
	if (full)
		fprintf(f,
			"\n"
			"Talks to geosteerd over its control socket: -s "
			"SOCKET, else $GEOSTEER_SOCKET,\nelse %s.\n",
			CTL_DEFAULT_SOCKET);
	fprintf(f, "\ncommands:\n");
	for (size_t i = 0; i < GS_ARRAY_SIZE(cmd_table); i++) {
		const struct cmd *c = &cmd_table[i];
		char *head =
		    gs_xasprintf("  %s%s%s", c->name, c->arg ? " " : "",
				 c->arg ? c->arg : "");
		struct line l = {.f = f};

		put(&l, head);
		put_wrapped(&l, c->usage, strlen(head) + 2, true);
		flush(&l);
		if (full) {
			pad_to(&l, 6);
			put_wrapped(&l, c->help, 6, false);
			flush(&l);
		}
		line_free(&l);
		free(head);
	}
	fprintf(f, full ? "\nSee geosteer(8).\n"
			: "\nRun 'geosteer -h' for more.\n");
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < GS_ARRAY_SIZE(cmd_table); i++)
		if (!strcmp(cmd_table[i].name, name))
			return &cmd_table[i];
	return NULL;
}

/* Parses the command's options and argument from argv (argv[0] is the
 * command). Returns 0, 1 after --help (done, exit 0), or GS_EINVAL after
 * a usage message. */
static int parse_cmd(const struct cmd *cmd, int argc, char **argv,
		     struct cli *c)
{
	const char *for_arg = NULL;
	int ch, ret = GS_EINVAL;

	optind = 0; /* glibc: start over, with argument permutation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:h", cmd->opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c->socket = optarg;
			break;
		case 'h':
			cmd_usage(stdout, cmd);
			printf("\n");
			print_wrapped("", cmd->help, 0);
			ret = 1;
			goto out;
		case OPT_SERVICE:
			c->service = optarg;
			break;
		case OPT_REASON:
			c->reason = optarg;
			break;
		case OPT_FOR:
			for_arg = optarg;
			break;
		case OPT_FORCE:
			c->force = true;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_NAME:
			c->name = optarg;
			break;
		case ':':
			fprintf(stderr,
				"geosteer: %s: option %s needs an argument\n",
				cmd->name, argv[optind - 1]);
			goto usage;
		default:
			if (optopt)
				fprintf(stderr,
					"geosteer: %s: unknown option -%c\n",
					cmd->name, optopt);
			else
				fprintf(stderr,
					"geosteer: %s: unknown option %s\n",
					cmd->name, argv[optind - 1]);
			goto usage;
		}
	}
	if (cmd->arg && optind >= argc) {
		fprintf(stderr, "geosteer: %s: missing %s\n", cmd->name,
			cmd->arg);
		goto usage;
	}
	if (cmd->arg)
		c->arg = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "geosteer: %s: unexpected argument '%s'\n",
			cmd->name, argv[optind]);
		goto usage;
	}
	if (for_arg) {
		int rc = ctl_parse_duration(for_arg, &c->for_secs);

		if (rc == GS_ERANGE) {
			fprintf(stderr,
				"geosteer: drain: --for %s: must be more "
				"than 0 and at most 366 days\n",
				for_arg);
			goto usage;
		}
		if (rc != 0) {
			fprintf(stderr,
				"geosteer: drain: --for %s: not a duration "
				"(90, 1.5, 90s, 45m, 2h, 1d, 1h30m)\n",
				for_arg);
			goto usage;
		}
	}
	ret = 0;
	goto out;
usage:
	cmd_usage(stderr, cmd);
out:
	return ret;
}

/* Reports a refusal: the error, then each further line of "errors". */
static void print_refusal(const struct cmd *cmd, json_t *reply)
{
	const char *error = jstr(reply, "error");
	json_t *errors = json_object_get(reply, "errors");
	struct line l = {.f = stderr};
	size_t i;

	if (!error || !*error)
		error = "request refused (no reason given)";
	put(&l, "geosteer: ");
	if (!strcmp(cmd->name, "reload") &&
	    strncmp(error, "reload failed", 13) != 0)
		put(&l, "reload failed: ");
	/* Not wrapped: scripts and tests grep for whole messages. */
	put(&l, error);
	flush(&l);
	for (i = 0; i < json_array_size(errors); i++) {
		json_t *e = json_array_get(errors, i);
		const char *s = json_string_value(e);

		/* The error is often the only entry of errors too. */
		if (!s || (json_array_size(errors) == 1 && !strcmp(s, error)))
			continue;
		put(&l, "  ");
		put(&l, s);
		flush(&l);
	}
	line_free(&l);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli c = {0};
	const struct cmd *cmd;
	json_t *args = NULL, *reply = NULL, *result;
	char err[512];
	int ch, fd = -1, rc, ret = EXIT_USAGE;

	opterr = 0;
	/* '+': stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:s:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket = optarg;
			break;
		case 'V':
			printf("geosteer %s (control protocol %d)\n",
			       PACKAGE_VERSION, CTL_VERSION);
			ret = EXIT_OK;
			goto out;
		case 'h':
			usage(stdout, true);
			ret = EXIT_OK;
			goto out;
		case ':':
			fprintf(stderr,
				"geosteer: option %s needs an argument\n",
				argv[optind - 1]);
			usage(stderr, false);
			goto out;
		default:
			if (optopt)
				fprintf(stderr,
					"geosteer: unknown option -%c\n",
					optopt);
			else
				fprintf(stderr, "geosteer: unknown option %s\n",
					argv[optind - 1]);
			usage(stderr, false);
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "geosteer: missing command\n");
		usage(stderr, false);
		goto out;
	}
	cmd = find_cmd(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "geosteer: unknown command '%s'\n",
			argv[optind]);
		usage(stderr, false);
		goto out;
	}
	rc = parse_cmd(cmd, argc - optind, argv + optind, &c);
	if (rc == 1) {
		ret = EXIT_OK;
		goto out;
	}
	if (rc != 0)
		goto out;
	if (!c.socket) {
		c.socket = getenv("GEOSTEER_SOCKET");
		if (!c.socket || !*c.socket)
			c.socket = CTL_DEFAULT_SOCKET;
	}
	if (cmd->args && cmd->args(&c, &args) != 0) {
		cmd_usage(stderr, cmd);
		goto out;
	}
	ret = EXIT_FAIL;
	fd = ctl_client_connect(c.socket, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "geosteer: %s\n", err);
		goto out;
	}
	rc = ctl_client_call(fd, cmd->name, args, cmd->timeout, &reply, err,
			     sizeof(err));
	args = NULL;
	if (rc != 0) {
		fprintf(stderr, "geosteer: %s\n", err);
		goto out;
	}
	if (!jbool(reply, "ok")) {
		print_refusal(cmd, reply);
		goto out;
	}
	result = json_object_get(reply, "result");
	if (c.json) {
		if (!result)
			printf("{}");
		else if (json_dumpf(result, stdout, JSON_INDENT(2)) != 0) {
			fprintf(stderr, "geosteer: cannot write the result\n");
			goto out;
		}
		printf("\n");
	} else if (json_is_object(result)) {
		cmd->print(result);
	} else {
		fprintf(stderr, "geosteer: reply without a result\n");
		goto out;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "geosteer: cannot write output: %s\n",
			strerror(errno));
		goto out;
	}
	ret = EXIT_OK;
out:
	json_decref(args);
	json_decref(reply);
	if (fd >= 0)
		close(fd);
	return ret;
}
