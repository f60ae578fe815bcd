#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/log.h"
#include "conf/conf.h"
#include "control/ctl_proto.h" /* the default socket and state file */

/* The schema: every object in the file is described by a table of items,
 * each naming a key, its type, range and default, and where its value goes
 * in the C struct the object is parsed into. Parsing, defaults and freeing
 * all walk these tables, so adding a key is one table line plus a struct
 * field. */

struct ctx;
struct item;

enum item_type {
	T_INT,	  /* JSON integer in [min, max] -> unsigned 2, 4 or 8 bytes */
	T_NUM,	  /* JSON integer or real in [min, max] -> double */
	T_STR,	  /* string of min..max bytes -> char * (owned); when the
		   * default is none (NULL), null is accepted and means none */
	T_PATH,	  /* like T_STR, resolved against the config file's directory */
	T_NAME,	  /* string of min..max bytes of letters, digits, '.', '_'
		   * and '-' -> char * (owned) */
	T_DNAME,  /* domain name, normalized to lowercase with final dot */
	T_HOST,	  /* like T_DNAME, but the first label may be "*" */
	T_TABLE,  /* array of objects -> element array + count */
	T_ARRAY,  /* array of scalars -> element array + count */
	T_OBJECT, /* nested object -> struct embedded in the containing one */
	T_CUSTOM, /* parsed, defaulted and freed by callbacks */
	T_BOOL,	  /* true or false -> bool */
	T_ENUM,	  /* one of the strings in names -> its index, unsigned 4
		   * bytes (an enum) */
	T_URL,	  /* http:// or https:// URL -> char * (owned), normalized
		   * by url_normalize */
};

/* Callbacks for T_CUSTOM items. base is the struct the item lives in. */
struct custom {
	int (*parse)(struct ctx *ctx, const char *path, const json_t *val,
		     void *base);
	void (*dflt)(void *base);
	void (*free)(void *base);
};

/* An array of objects, each parsed with items into an elem_size struct.
 * When unique_key is set, that key's (string) value must differ across
 * elements; what names an element in the duplicate message. check, when
 * set, runs after the elements are parsed (failed ones are left zeroed) for
 * rules that span elements or objects, and reports its own errors; val is
 * the JSON array, for rules that depend on which keys were written. */
struct table {
	const struct item *items;
	size_t elem_size;
	const char *unique_key;
	const char *what;
	int (*check)(struct ctx *ctx, const char *path, const json_t *val,
		     void *elems, size_t n);
};

/* An array of scalars, each parsed with elem (whose off is 0) into an
 * elem_size slot. Every element type starts with a char * that is set only
 * when the element parsed: the text shown in messages. When what is set,
 * elements must differ (by same, or by that text when same is NULL); what
 * names an element in the duplicate message. plural names the elements in
 * the type message. */
struct array {
	const struct item *elem;
	size_t elem_size;
	const char *plural;
	const char *what;
	bool (*same)(const void *a, const void *b);
};

struct item {
	const char *key; /* NULL ends a table */
	enum item_type type;
	bool required; /* absent: error instead of default */
	size_t off;    /* offset of the field in the containing struct */
	size_t size;   /* size of the field (T_INT, T_ENUM) */
	/* The allowed range, inclusive: of the value (T_INT, T_NUM), of the
	 * length in bytes (T_STR, T_PATH, T_NAME), of the element count
	 * (T_TABLE, T_ARRAY; max 0 means no upper limit). */
	double min;
	double max;
	double def;		     /* T_INT, T_NUM, T_ENUM: default (an
				      * index), T_BOOL: default (0 or 1) */
	const char *def_str;	     /* T_STR, T_PATH: default (NULL: none) */
	size_t count_off;	     /* T_TABLE: offset of the size_t count */
	const struct table *table;   /* T_TABLE */
	const struct array *array;   /* T_ARRAY */
	const struct item *items;    /* T_OBJECT */
	const struct custom *custom; /* T_CUSTOM */
	const char *const *names;    /* T_ENUM: the values, NULL-terminated */
};

#define URL_MAX 2048 /* bytes, after adding the default path */

#define FIELD(st, f) .off = offsetof(st, f), .size = sizeof(((st *)0)->f)

#define C_INT(st, k, f, lo, hi, d)                                           \
	{                                                                    \
		.key = k, .type = T_INT, FIELD(st, f), .min = lo, .max = hi, \
		.def = d                                                     \
	}
#define C_NUM(st, k, f, lo, hi, d)                                           \
	{                                                                    \
		.key = k, .type = T_NUM, FIELD(st, f), .min = lo, .max = hi, \
		.def = d                                                     \
	}
#define C_STR(st, k, f, lo, hi, d)                                           \
	{                                                                    \
		.key = k, .type = T_STR, FIELD(st, f), .min = lo, .max = hi, \
		.def_str = d                                                 \
	}
#define C_REQ_PATH(st, k, f)                                              \
	{                                                                 \
		.key = k, .type = T_PATH, .required = true, FIELD(st, f), \
		.min = 1, .max = PATH_MAX - 1                             \
	}
#define C_REQ_DNAME(st, k, f)                                             \
	{                                                                 \
		.key = k, .type = T_DNAME, .required = true, FIELD(st, f) \
	}
#define C_REQ_TABLE(st, k, f, n, tab, lo, hi)                              \
	{                                                                  \
		.key = k, .type = T_TABLE, .required = true, FIELD(st, f), \
		.count_off = offsetof(st, n), .table = tab, .min = lo,     \
		.max = hi                                                  \
	}
#define C_CUSTOM(st, k, f, cb)                                         \
	{                                                              \
		.key = k, .type = T_CUSTOM, FIELD(st, f), .custom = cb \
	}
#define C_REQ_NUM(st, k, f, lo, hi)                                      \
	{                                                                \
		.key = k, .type = T_NUM, .required = true, FIELD(st, f), \
		.min = lo, .max = hi                                     \
	}
#define C_PATH(st, k, f)                                          \
	{                                                         \
		.key = k, .type = T_PATH, FIELD(st, f), .min = 1, \
		.max = PATH_MAX - 1                               \
	}
#define C_REQ_NAME(st, k, f)                                              \
	{                                                                 \
		.key = k, .type = T_NAME, .required = true, FIELD(st, f), \
		.min = 1, .max = 63                                       \
	}
#define C_TABLE(st, k, f, n, tab)                          \
	{                                                  \
		.key = k, .type = T_TABLE, FIELD(st, f),   \
		.count_off = offsetof(st, n), .table = tab \
	}
#define C_ARRAY(st, k, f, n, arr, req, lo)                                \
	{                                                                 \
		.key = k, .type = T_ARRAY, .required = req, FIELD(st, f), \
		.count_off = offsetof(st, n), .array = arr, .min = lo     \
	}
#define C_OBJECT(st, k, f, it)                                        \
	{                                                             \
		.key = k, .type = T_OBJECT, FIELD(st, f), .items = it \
	}
/* A nested object whose keys are fields of the containing struct itself
 * ("teleport": {"cluster_name": ...} -> conf_check.cluster_name). */
#define C_INLINE(k, it)                                           \
	{                                                         \
		.key = k, .type = T_OBJECT, .off = 0, .items = it \
	}
#define C_BOOL(st, k, f, d)                                      \
	{                                                        \
		.key = k, .type = T_BOOL, FIELD(st, f), .def = d \
	}
#define C_ENUM(st, k, f, nm, d)                                               \
	{                                                                     \
		.key = k, .type = T_ENUM, FIELD(st, f), .names = nm, .def = d \
	}
#define C_URL(st, k, f)                                               \
	{                                                             \
		.key = k, .type = T_URL, FIELD(st, f), .max = URL_MAX \
	}

struct ctx {
	const char *file; /* the config file as named by the caller */
	const char *dir;  /* its directory, absolute */
	conf_diag_fn diag;
	void *arg;
	unsigned n_errors;
};

/* ---- messages --------------------------------------------------------- */

static char *vformat(const char *fmt, va_list ap) GS_PRINTF(1, 0);

static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	char *s = gs_xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	s[n] = '\0';
	return s;
}

static void emit(struct ctx *ctx, const char *line)
{
	ctx->n_errors++;
	if (ctx->diag)
		ctx->diag(ctx->arg, line);
	else
		log_err("%s", line);
}

/* Reports "FILE: PATH: message" (or "FILE: message" when path is NULL). */
static void err(struct ctx *ctx, const char *path, const char *fmt, ...)
    GS_PRINTF(3, 4);

static void err(struct ctx *ctx, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	char *line = path ? gs_xasprintf("%s: %s: %s", ctx->file, path, msg)
			  : gs_xasprintf("%s: %s", ctx->file, msg);
	emit(ctx, line);
	free(line);
	free(msg);
}

#define QUOTE_MAX 80 /* longer strings are cut in messages */

/* Returns s[0..len) as a quoted, escaped, single-line string for messages,
 * cut after about QUOTE_MAX bytes. The caller frees it. */
static char *quote(const char *s, size_t len)
{
	bool cut = false;
	if (len > QUOTE_MAX) {
		len = QUOTE_MAX;
		/* Don't end in the middle of a UTF-8 sequence. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		cut = true;
	}
	char *out = gs_xmalloc(len * 6 + 6);
	char *p = out;
	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch == '\n' || ch == '\t' || ch == '\r') {
			*p++ = '\\';
			*p++ = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			p += sprintf(p, "\\u%04x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	if (cut) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

/* Describes a JSON value for "(got ...)". The caller frees the result. */
static char *describe(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return gs_xstrdup("an object");
	case JSON_ARRAY:
		return gs_xstrdup(json_array_size(v) ? "an array"
						     : "an empty array");
	case JSON_STRING:
		return quote(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return gs_xasprintf("%" JSON_INTEGER_FORMAT,
				    json_integer_value(v));
	case JSON_REAL: {
		char buf[64];
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
		/* Keep 2.0 looking like a real, not like the integer 2. */
		if (!strpbrk(buf, ".eEn"))
			return gs_xasprintf("%s.0", buf);
		return gs_xstrdup(buf);
	}
	case JSON_TRUE:
		return gs_xstrdup("true");
	case JSON_FALSE:
		return gs_xstrdup("false");
	case JSON_NULL:
	default:
		return gs_xstrdup("null");
	}
}

static bool is_ident(const char *key)
{
	if (!*key)
		return false;
	for (const char *p = key; *p; p++) {
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '_' && *p != '-')
			return false;
	}
	return true;
}

/* Service and region names: letters, digits, '.', '_' and '-'. */
static bool is_name(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '.' && ch != '_' &&
		    ch != '-')
			return false;
	}
	return true;
}

/* Key paths: "workers", "zones[1].origin", "listen[0]". Keys that are not
 * plain identifiers are quoted. The caller frees the result. */
static char *path_key(const char *prefix, const char *key)
{
	char *shown = is_ident(key) ? gs_xstrdup(key) : quote(key, strlen(key));
	char *path = prefix ? gs_xasprintf("%s.%s", prefix, shown) : shown;
	if (path != shown)
		free(shown);
	return path;
}

static char *path_index(const char *prefix, size_t i)
{
	return gs_xasprintf("%s[%zu]", prefix, i);
}

/* ---- addresses -------------------------------------------------------- */

static int parse_port(const char *s, uint16_t *port, const char **why)
{
	if (!*s) {
		*why = "missing port after ':'";
		return GS_EINVAL;
	}
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535) {
			*why = "port must be a number from 1 to 65535";
			return GS_EINVAL;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535) {
		*why = "port must be a number from 1 to 65535";
		return GS_EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* conf_parse_sockaddr, with a static reason for failures in *why. */
static int parse_sockaddr(const char *text, uint16_t default_port,
			  struct sockaddr_storage *sa, socklen_t *len,
			  const char **why)
{
	const char *host = text;
	size_t host_len;
	const char *port_text = NULL;
	int family;
	uint16_t port = default_port;
	char buf[INET6_ADDRSTRLEN];
	int ret = GS_EINVAL;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end) {
			*why = "missing ']'";
			goto out;
		}
		host = text + 1;
		host_len = (size_t)(end - host);
		family = AF_INET6;
		if (end[1] == ':') {
			port_text = end + 2;
		} else if (end[1] != '\0') {
			*why = "expected ':PORT' after ']'";
			goto out;
		}
	} else {
		const char *colon = strchr(text, ':');
		if (!colon) {
			host_len = strlen(text);
			family = AF_INET;
		} else if (strchr(colon + 1, ':')) {
			/* Two or more colons: a bare IPv6 address. */
			host_len = strlen(text);
			family = AF_INET6;
		} else {
			host_len = (size_t)(colon - text);
			port_text = colon + 1;
			family = AF_INET;
		}
	}

	const char *bad_host = family == AF_INET6
				   ? "not an IPv6 address"
				   : "not an IPv4 or IPv6 address";
	if (host_len == 0 || host_len >= sizeof(buf)) {
		*why = bad_host;
		goto out;
	}
	memcpy(buf, host, host_len);
	buf[host_len] = '\0';
	if (port_text && parse_port(port_text, &port, why) < 0)
		goto out;

	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) {
			*why = bad_host;
			goto out;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) {
			*why = bad_host;
			goto out;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	}
	ret = 0;
out:
	return ret;
}

int conf_parse_sockaddr(const char *text, uint16_t default_port,
			struct sockaddr_storage *sa, socklen_t *len)
{
	const char *why;
	return parse_sockaddr(text, default_port, sa, len, &why);
}

static bool same_sockaddr(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* ---- "listen" --------------------------------------------------------- */

#define DNS_PORT 53

static const char *const listen_defaults[] = {"0.0.0.0:53", "[::]:53"};

/* Returns the index of an earlier parsed listen entry with the same
 * address as entry i, or i when there is none. */
static size_t listen_dup(const struct conf *c, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (c->listen[j].text &&
		    same_sockaddr(&c->listen[j].addr, &c->listen[i].addr))
			return j;
	}
	return i;
}

static int listen_parse(struct ctx *ctx, const char *path, const json_t *val,
			void *base)
{
	struct conf *c = base;
	char *epath = NULL;
	char *got = NULL;
	int ret = GS_ECONFIG;

	if (!json_is_array(val)) {
		got = describe(val);
		err(ctx, path, "must be an array of addresses (got %s)", got);
		goto out;
	}
	size_t n = json_array_size(val);
	if (n == 0) {
		err(ctx, path, "must not be empty");
		goto out;
	}
	c->listen = gs_xcalloc(n, sizeof(*c->listen));
	c->n_listen = n;
	ret = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *el = json_array_get(val, i);
		struct conf_listen *l = &c->listen[i];
		const char *why;
		size_t dup;
		free(epath);
		epath = path_index(path, i);
		free(got);
		got = describe(el);
		if (!json_is_string(el)) {
			err(ctx, epath, "must be a string (got %s)", got);
			ret = GS_ECONFIG;
		} else if (parse_sockaddr(json_string_value(el), DNS_PORT,
					  &l->addr, &l->addr_len, &why) < 0) {
			err(ctx, epath, "invalid address %s (%s)", got, why);
			ret = GS_ECONFIG;
		} else if ((dup = listen_dup(c, i)) != i) {
			err(ctx, epath, "duplicate address %s (also %s[%zu])",
			    got, path, dup);
			ret = GS_ECONFIG;
		} else {
			l->text = gs_xstrdup(json_string_value(el));
		}
	}
out:
	free(got);
	free(epath);
	return ret;
}

static void listen_default(void *base)
{
	struct conf *c = base;
	size_t n = GS_ARRAY_SIZE(listen_defaults);
	c->listen = gs_xcalloc(n, sizeof(*c->listen));
	c->n_listen = n;
	for (size_t i = 0; i < n; i++) {
		struct conf_listen *l = &c->listen[i];
		if (conf_parse_sockaddr(listen_defaults[i], DNS_PORT, &l->addr,
					&l->addr_len) < 0)
			abort(); /* the built-in defaults are valid */
		l->text = gs_xstrdup(listen_defaults[i]);
	}
}

static void listen_free(void *base)
{
	struct conf *c = base;
	for (size_t i = 0; i < c->n_listen; i++)
		free(c->listen[i].text);
	free(c->listen);
	c->listen = NULL;
	c->n_listen = 0;
}

static const struct custom listen_custom = {
    .parse = listen_parse,
    .dflt = listen_default,
    .free = listen_free,
};

/* ---- "geoip" ---------------------------------------------------------- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_letter(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

#define DECIMAL_MAX 64 /* longer numbers are not coordinates */

/* Parses s[0..len) as a decimal number with blanks around it: an optional
 * sign, then digits with an optional fraction (".5" and "5." included).
 * No exponents, hex, inf or nan. Returns 0 or GS_EINVAL. */
static int parse_decimal(const char *s, size_t len, double *out)
{
	char buf[DECIMAL_MAX + 1];
	size_t i = 0;
	size_t digits = 0;

	while (len > 0 && is_blank(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < len && is_digit(s[i]); i++)
		digits++;
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++)
			digits++;
	}
	if (i != len || digits == 0 || len > DECIMAL_MAX)
		return GS_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return 0;
}

/* Parses "lat,lon" (two decimal numbers, blanks allowed around each)
 * without checking their ranges. Returns 0 or GS_EINVAL. */
static int parse_latlon(const char *s, size_t len, double *lat, double *lon)
{
	const char *comma = memchr(s, ',', len);
	if (!comma)
		return GS_EINVAL;
	size_t n = (size_t)(comma - s);
	if (parse_decimal(s, n, lat) < 0 ||
	    parse_decimal(comma + 1, len - n - 1, lon) < 0)
		return GS_EINVAL;
	return 0;
}

static int location_parse(struct ctx *ctx, const char *path, const json_t *val,
			  void *base)
{
	struct conf_geoip *g = base;
	const char *text = json_is_string(val) ? json_string_value(val) : NULL;
	size_t len = text ? json_string_length(val) : 0;
	char *got = NULL;
	double lat, lon;
	int ret = GS_ECONFIG;

	/* null spells out the default "none", as for other strings. */
	if (json_is_null(val)) {
		ret = 0;
		goto out;
	}
	got = describe(val);
	if (text && len == 2 && is_letter(text[0]) && is_letter(text[1])) {
		char *cc = gs_xstrdup(text);
		for (char *p = cc; *p; p++) {
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		}
		g->default_location = cc;
	} else if (!text || strlen(text) != len ||
		   parse_latlon(text, len, &lat, &lon) < 0) {
		err(ctx, path, "must be a country code or \"lat,lon\" (got %s)",
		    got);
		goto out;
	} else if (lat < -90 || lat > 90 || lon < -180 || lon > 180) {
		err(ctx, path,
		    "must be a country code or \"lat,lon\" with lat from -90 "
		    "to 90 and lon from -180 to 180 (got %s)",
		    got);
		goto out;
	} else {
		g->default_location = gs_xstrdup(text);
	}
	ret = 0;
out:
	free(got);
	return ret;
}

static void location_free(void *base)
{
	struct conf_geoip *g = base;
	free(g->default_location);
	g->default_location = NULL;
}

static const struct custom location_custom = {
    .parse = location_parse,
    .free = location_free,
};

/* ---- "services" ------------------------------------------------------- */

/* An element of "addresses": base is its struct conf_addr. */
static int addr_parse(struct ctx *ctx, const char *path, const json_t *val,
		      void *base)
{
	struct conf_addr *a = base;
	char *got = describe(val);
	int ret = GS_ECONFIG;

	if (!json_is_string(val)) {
		err(ctx, path, "must be an address string (got %s)", got);
		goto out;
	}
	const char *text = json_string_value(val);
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (strlen(text) != json_string_length(val) ||
	    inet_pton(family, text, a->addr) != 1) {
		memset(a->addr, 0, sizeof(a->addr));
		err(ctx, path, "invalid address %s", got);
		goto out;
	}
	a->family = family;
	a->text = gs_xstrdup(text);
	ret = 0;
out:
	free(got);
	return ret;
}

static void addr_free(void *base)
{
	struct conf_addr *a = base;
	free(a->text);
	a->text = NULL;
}

static bool addr_same(const void *x, const void *y)
{
	const struct conf_addr *a = x;
	const struct conf_addr *b = y;
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static const struct custom addr_custom = {
    .parse = addr_parse,
    .free = addr_free,
};

/* Finds the first host before services[i].hosts[k] (in file order, across
 * all services) equal to it; returns false if there is none. */
static bool host_seen(const struct conf_service *svc, size_t i, size_t k,
		      size_t *dup_i, size_t *dup_k)
{
	const char *h = svc[i].hosts[k];
	for (size_t j = 0; j <= i; j++) {
		size_t end = j == i ? k : svc[j].n_hosts;
		for (size_t l = 0; l < end; l++) {
			if (svc[j].hosts[l] &&
			    strcmp(svc[j].hosts[l], h) == 0) {
				*dup_i = j;
				*dup_k = l;
				return true;
			}
		}
	}
	return false;
}

/* A host belongs to one service only, and appears in it once. */
static int hosts_check(struct ctx *ctx, const char *path,
		       const struct conf_service *svc, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < svc[i].n_hosts; k++) {
			const char *h = svc[i].hosts[k];
			size_t j, l;
			if (!h || !host_seen(svc, i, k, &j, &l))
				continue;
			char *hpath =
			    gs_xasprintf("%s[%zu].hosts[%zu]", path, i, k);
			char *q = quote(h, strlen(h));
			err(ctx, hpath,
			    "duplicate host %s (also %s[%zu].hosts[%zu])", q,
			    path, j, l);
			free(q);
			free(hpath);
			ret = GS_ECONFIG;
		}
	}
	return ret;
}

/* ---- URLs ------------------------------------------------------------- */

#define PING_PATH "/v1/webapi/ping" /* Teleport's health endpoint */

static bool is_url_host_char(char ch)
{
	return is_letter(ch) || is_digit(ch) || ch == '.' || ch == '-' ||
	       ch == '_';
}

/* Checks the authority of a URL, s[0..len) ("host", "host:port",
 * "[v6]:port"). Returns 0 or GS_EINVAL and a reason. */
static int url_authority(const char *s, size_t len, const char **why)
{
	char buf[INET6_ADDRSTRLEN];
	char port[8];
	size_t host_end;
	uint16_t p;

	if (memchr(s, '@', len)) {
		*why = "user names and passwords are not supported";
		return GS_EINVAL;
	}
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		size_t n = close ? (size_t)(close - s - 1) : 0;
		if (!close || n == 0 || n >= sizeof(buf)) {
			*why = "invalid IPv6 address in brackets";
			return GS_EINVAL;
		}
		memcpy(buf, s + 1, n);
		buf[n] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, buf, &a6) != 1) {
			*why = "invalid IPv6 address in brackets";
			return GS_EINVAL;
		}
		host_end = n + 2;
		if (host_end < len && s[host_end] != ':') {
			*why = "expected ':PORT' after ']'";
			return GS_EINVAL;
		}
	} else {
		const char *colon = memchr(s, ':', len);
		host_end = colon ? (size_t)(colon - s) : len;
		if (host_end == 0) {
			*why = "missing host";
			return GS_EINVAL;
		}
		for (size_t i = 0; i < host_end; i++) {
			if (!is_url_host_char(s[i])) {
				*why = "invalid character in the host name";
				return GS_EINVAL;
			}
		}
	}
	if (host_end < len) {
		size_t n = len - host_end - 1; /* after the ':' */
		if (n >= sizeof(port)) {
			*why = "port must be a number from 1 to 65535";
			return GS_EINVAL;
		}
		memcpy(port, s + host_end + 1, n);
		port[n] = '\0';
		if (parse_port(port, &p, why) < 0)
			return GS_EINVAL;
	}
	return 0;
}

/* Checks an http:// or https:// URL, text[0..len), and normalizes it into
 * *out (caller frees): the scheme in lower case, and PING_PATH as the path
 * when it has none (or just "/"), keeping a query string. No spaces,
 * control characters, non-ASCII bytes, user names or fragments. Returns 0,
 * or GS_EINVAL and a reason. */
static int url_normalize(const char *text, size_t len, char **out,
			 const char **why)
{
	static const char *const schemes[] = {"https://", "http://"};
	const char *scheme = NULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch <= 0x20 || ch == 0x7f) {
			*why = "spaces and control characters are not allowed";
			return GS_EINVAL;
		}
		if (ch >= 0x80) {
			*why = "non-ASCII character: percent-encode it, or "
			       "write host names in xn-- form";
			return GS_EINVAL;
		}
		if (ch == '#') {
			*why = "fragments ('#') are not allowed";
			return GS_EINVAL;
		}
	}
	for (size_t i = 0; i < GS_ARRAY_SIZE(schemes); i++) {
		size_t n = strlen(schemes[i]);
		if (len >= n && strncasecmp(text, schemes[i], n) == 0)
			scheme = schemes[i];
	}
	if (!scheme) {
		*why = "must start with \"https://\" or \"http://\"";
		return GS_EINVAL;
	}
	const char *auth = text + strlen(scheme);
	const char *end = text + len;
	const char *rest = auth;
	while (rest < end && *rest != '/' && *rest != '?')
		rest++;
	if (rest == auth) {
		*why = "missing host";
		return GS_EINVAL;
	}
	if (url_authority(auth, (size_t)(rest - auth), why) < 0)
		return GS_EINVAL;

	/* rest: "", "/", "?query", "/?query" or a path. */
	const char *query = rest;
	if (query < end && *query == '/')
		query++;
	bool bare = query == end || *query == '?';
	if (!bare)
		query = rest; /* a path of its own: keep it as written */
	size_t out_len = strlen(scheme) + (size_t)(rest - auth) +
			 (bare ? strlen(PING_PATH) : 0) + (size_t)(end - query);
	if (out_len > URL_MAX) {
		_Static_assert(URL_MAX == 2048, "update the message");
		*why = "longer than 2048 bytes";
		return GS_EINVAL;
	}
	*out = gs_xasprintf("%s%.*s%s%.*s", scheme, (int)(rest - auth), auth,
			    bare ? PING_PATH : "", (int)(end - query), query);
	return 0;
}

/* ---- the schema ------------------------------------------------------- */

static int services_check(struct ctx *ctx, const char *path, const json_t *val,
			  void *elems, size_t n);

static const struct item zone_items[] = {
    C_REQ_DNAME(struct conf_zone, "origin", origin),
    C_REQ_PATH(struct conf_zone, "file", file),
    {.key = NULL},
};

static const struct table zone_table = {
    .items = zone_items,
    .elem_size = sizeof(struct conf_zone),
    .unique_key = "origin",
    .what = "zone",
};

static const struct item database_elem = {
    .key = "database",
    .type = T_PATH,
    .required = true,
    .min = 1,
    .max = PATH_MAX - 1,
};

static const struct array database_array = {
    .elem = &database_elem,
    .elem_size = sizeof(char *),
    .plural = "file names",
    .what = "database",
};

static const struct item geoip_items[] = {
    C_ARRAY(struct conf_geoip, "databases", databases, n_databases,
	    &database_array, false, 0),
    C_PATH(struct conf_geoip, "overrides", overrides),
    C_CUSTOM(struct conf_geoip, "default_location", default_location,
	     &location_custom),
    {.key = NULL},
};

static const struct item addr_elem = {
    .key = "address",
    .type = T_CUSTOM,
    .custom = &addr_custom,
};

/* parse_array shows and checks elements through their first member. */
_Static_assert(offsetof(struct conf_addr, text) == 0,
	       "struct conf_addr must start with its text");

static const struct array addr_array = {
    .elem = &addr_elem,
    .elem_size = sizeof(struct conf_addr),
    .plural = "addresses",
    .what = "address",
    .same = addr_same,
};

static const struct item teleport_items[] = {
    {.key = "cluster_name",
     .type = T_STR,
     .required = true,
     FIELD(struct conf_check, cluster_name),
     .min = 1,
     .max = 255},
    {.key = NULL},
};

/* "check", in a service or a region. All keys are optional here: a
 * service's "url" is required by services_check, which also resolves each
 * region's check (the service's, with the keys the region wrote laid over
 * it) and checks the rules that span keys. */
static const struct item check_items[] = {
    C_URL(struct conf_check, "url", url),
    C_NUM(struct conf_check, "interval", interval, 0.1, 3600, 5),
    C_NUM(struct conf_check, "timeout", timeout, 0.1, 60, 3),
    C_INT(struct conf_check, "rise", rise, 1, 100, 2),
    C_INT(struct conf_check, "fall", fall, 1, 100, 3),
    C_PATH(struct conf_check, "ca_file", ca_file),
    C_PATH(struct conf_check, "cert_file", cert_file),
    C_PATH(struct conf_check, "key_file", key_file),
    C_BOOL(struct conf_check, "insecure", insecure, false),
    C_INLINE("teleport", teleport_items),
    {.key = NULL},
};

static const struct item region_items[] = {
    C_REQ_NAME(struct conf_region, "name", name),
    C_REQ_NUM(struct conf_region, "lat", lat, -90, 90),
    C_REQ_NUM(struct conf_region, "lon", lon, -180, 180),
    C_ARRAY(struct conf_region, "addresses", addrs, n_addrs, &addr_array, true,
	    1),
    C_OBJECT(struct conf_region, "check", check, check_items),
    C_ARRAY(struct conf_region, "check_addresses", check_addrs, n_check_addrs,
	    &addr_array, false, 1),
    {.key = NULL},
};

static const struct table region_table = {
    .items = region_items,
    .elem_size = sizeof(struct conf_region),
    .unique_key = "name",
    .what = "region",
};

/* Duplicate hosts are found across services, by services_check. */
static const struct item host_elem = {
    .key = "host",
    .type = T_HOST,
    .required = true,
};

static const struct array host_array = {
    .elem = &host_elem,
    .elem_size = sizeof(char *),
    .plural = "domain names",
};

/* Indexed by enum conf_all_down. */
static const char *const all_down_names[] = {"fail-open", "fail-closed", NULL};

static const struct item service_items[] = {
    C_REQ_NAME(struct conf_service, "name", name),
    C_ARRAY(struct conf_service, "hosts", hosts, n_hosts, &host_array, true, 1),
    C_INT(struct conf_service, "ttl", ttl, 1, 86400, 30),
    C_REQ_TABLE(struct conf_service, "regions", regions, n_regions,
		&region_table, 1, 0),
    C_ENUM(struct conf_service, "when_all_down", when_all_down, all_down_names,
	   CONF_FAIL_OPEN),
    C_OBJECT(struct conf_service, "check", check, check_items),
    {.key = NULL},
};

static const struct table service_table = {
    .items = service_items,
    .elem_size = sizeof(struct conf_service),
    .unique_key = "name",
    .what = "service",
    .check = services_check,
};

static const struct item conf_items[] = {
    C_CUSTOM(struct conf, "listen", listen, &listen_custom),
    C_INT(struct conf, "workers", workers, 0, 1024, 0),
    C_STR(struct conf, "nsid", nsid, 1, 255, NULL),
    C_STR(struct conf, "version", version, 1, 255, NULL),
    C_INT(struct conf, "udp_payload", udp_payload, 512, 4096, 1232),
    C_NUM(struct conf, "tcp_idle_timeout", tcp_idle_timeout, 0.1, 300, 10),
    C_INT(struct conf, "tcp_max_clients", tcp_max_clients, 1, 65535, 256),
    C_REQ_TABLE(struct conf, "zones", zones, n_zones, &zone_table, 1, 0),
    C_OBJECT(struct conf, "geoip", geoip, geoip_items),
    C_TABLE(struct conf, "services", services, n_services, &service_table),
    {.key = "control_socket", .type = T_PATH, FIELD(struct conf, control_socket),
     .min = 1, .max = 107, .def_str = CTL_DEFAULT_SOCKET},
    {.key = "state_file", .type = T_PATH, FIELD(struct conf, state_file),
     .min = 1, .max = PATH_MAX - 1, .def_str = CTL_DEFAULT_STATE},
    {.key = NULL},
};

/* ---- values ----------------------------------------------------------- */

static void *field(void *base, const struct item *it)
{
	return (char *)base + it->off;
}

static size_t *count_field(void *base, const struct item *it)
{
	return (void *)((char *)base + it->count_off);
}

static void store_uint(void *p, size_t size, unsigned long long v)
{
	switch (size) {
	case sizeof(uint16_t):
		*(uint16_t *)p = (uint16_t)v;
		break;
	case sizeof(uint32_t):
		*(uint32_t *)p = (uint32_t)v;
		break;
	case sizeof(uint64_t):
		*(uint64_t *)p = (uint64_t)v;
		break;
	default:
		abort(); /* a schema entry with an unsupported field type */
	}
}

/* Normalizes a presentation-format domain name ("Example.ORG" ->
 * "example.org.") into *out (caller frees). Letters, digits, '-' and '_'
 * only; "." is the root. With wild, the first label may be "*" (a wildcard,
 * "*.example.org"). On failure returns GS_EINVAL and a reason. */
static int dname_normalize(const char *text, size_t len, bool wild, char **out,
			   const char **why)
{
	char *s = NULL;
	int ret = GS_EINVAL;

	if (len == 0) {
		*why = "empty name";
		goto out;
	}
	if (len == 1 && text[0] == '.') {
		*out = gs_xstrdup(".");
		ret = 0;
		goto out;
	}
	s = gs_xmalloc(len + 2);
	size_t wire = 1; /* the root label */
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '.') {
			if (label == 0) {
				*why = "empty label";
				goto out;
			}
			wire += label + 1;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
			label++;
		} else if (ch >= 'A' && ch <= 'Z') {
			ch = (unsigned char)(ch - 'A' + 'a');
			label++;
		} else if (ch == '*' && wild && i == 0 &&
			   (len == 1 || text[1] == '.')) {
			label++;
		} else if (ch == '*' && wild) {
			*why = "'*' is allowed only as the whole first label";
			goto out;
		} else if (ch >= 0x80) {
			*why = "non-ASCII character: write IDNs in xn-- form";
			goto out;
		} else {
			*why = "invalid character: only letters, digits, "
			       "'-' and '_' are allowed in labels";
			goto out;
		}
		if (label > 63) {
			*why = "label longer than 63 bytes";
			goto out;
		}
		s[i] = (char)ch;
	}
	if (label > 0) {
		wire += label + 1;
		s[len++] = '.';
	}
	s[len] = '\0';
	if (wire > 255) {
		*why = "longer than 255 bytes in wire format";
		goto out;
	}
	if (s[0] == '*' && s[2] == '\0') {
		*why = "a wildcard needs a name after \"*.\"";
		goto out;
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	free(s);
	return ret;
}

static char *resolve_path(const char *dir, const char *p)
{
	if (p[0] == '/')
		return gs_xstrdup(p);
	if (strcmp(dir, "/") == 0)
		return gs_xasprintf("/%s", p);
	return gs_xasprintf("%s/%s", dir, p);
}

static int parse_object(struct ctx *ctx, const json_t *obj,
			const struct item *items, void *base, const char *path);

static int parse_table(struct ctx *ctx, const struct item *it, const char *path,
		       const json_t *val, void *base)
{
	const struct table *t = it->table;
	const struct item *uniq = NULL;
	char *got = NULL;
	char *epath = NULL;
	int ret = GS_ECONFIG;

	if (!json_is_array(val)) {
		got = describe(val);
		err(ctx, path, "must be an array of objects (got %s)", got);
		goto out;
	}
	size_t n = json_array_size(val);
	if (it->min == 1 && n == 0) {
		err(ctx, path, "must not be empty");
		goto out;
	}
	if ((double)n < it->min) {
		err(ctx, path, "must have at least %.0f elements (got %zu)",
		    it->min, n);
		goto out;
	}
	if (it->max > 0 && (double)n > it->max) {
		err(ctx, path, "must have at most %.0f elements (got %zu)",
		    it->max, n);
		goto out;
	}

	char *elems = gs_xcalloc(n, t->elem_size);
	*(char **)field(base, it) = elems;
	*count_field(base, it) = n;
	for (const struct item *u = t->items; t->unique_key && u->key; u++) {
		if (strcmp(u->key, t->unique_key) == 0)
			uniq = u;
	}

	ret = 0;
	for (size_t i = 0; i < n; i++) {
		void *el = elems + i * t->elem_size;
		free(epath);
		epath = path_index(path, i);
		if (parse_object(ctx, json_array_get(val, i), t->items, el,
				 epath) < 0)
			ret = GS_ECONFIG;
		if (!uniq)
			continue;
		const char *mine = *(char **)field(el, uniq);
		for (size_t j = 0; mine && j < i; j++) {
			void *other = elems + j * t->elem_size;
			const char *theirs = *(char **)field(other, uniq);
			if (!theirs || strcmp(mine, theirs) != 0)
				continue;
			char *upath = path_key(epath, uniq->key);
			char *q = quote(mine, strlen(mine));
			err(ctx, upath, "duplicate %s %s (also %s[%zu])",
			    t->what, q, path, j);
			free(q);
			free(upath);
			ret = GS_ECONFIG;
			break;
		}
	}
	if (t->check && t->check(ctx, path, val, elems, n) < 0)
		ret = GS_ECONFIG;
out:
	free(epath);
	free(got);
	return ret;
}

static int parse_value(struct ctx *ctx, const struct item *it, const char *path,
		       const json_t *val, void *base);

/* The text of an array element (see struct array), or NULL if it did not
 * parse. */
static const char *elem_text(const void *el)
{
	return *(char *const *)el;
}

static int parse_array(struct ctx *ctx, const struct item *it, const char *path,
		       const json_t *val, void *base)
{
	const struct array *a = it->array;
	char *got = NULL;
	char *epath = NULL;
	int ret = GS_ECONFIG;

	if (!json_is_array(val)) {
		got = describe(val);
		err(ctx, path, "must be an array of %s (got %s)", a->plural,
		    got);
		goto out;
	}
	size_t n = json_array_size(val);
	if (it->min >= 1 && n == 0) {
		err(ctx, path, "must not be empty");
		goto out;
	}

	char *elems = gs_xcalloc(n, a->elem_size);
	*(char **)field(base, it) = elems;
	*count_field(base, it) = n;
	ret = 0;
	for (size_t i = 0; i < n; i++) {
		void *el = elems + i * a->elem_size;
		free(epath);
		epath = path_index(path, i);
		if (parse_value(ctx, a->elem, epath, json_array_get(val, i),
				el) < 0) {
			ret = GS_ECONFIG;
			continue;
		}
		const char *mine = elem_text(el);
		for (size_t j = 0; a->what && mine && j < i; j++) {
			const void *other = elems + j * a->elem_size;
			if (!elem_text(other))
				continue;
			if (a->same ? !a->same(el, other)
				    : strcmp(mine, elem_text(other)) != 0)
				continue;
			char *q = quote(mine, strlen(mine));
			err(ctx, epath, "duplicate %s %s (also %s[%zu])",
			    a->what, q, path, j);
			free(q);
			ret = GS_ECONFIG;
			break;
		}
	}
out:
	free(epath);
	free(got);
	return ret;
}

/* "\"a\"", "\"a\" or \"b\"", "\"a\", \"b\" or \"c\"". The caller
 * frees the result. */
static char *enum_list(const char *const *names)
{
	char *list = gs_xstrdup("");
	for (size_t i = 0; names[i]; i++) {
		const char *sep = i == 0 ? "" : names[i + 1] ? ", " : " or ";
		char *next = gs_xasprintf("%s%s\"%s\"", list, sep, names[i]);
		free(list);
		list = next;
	}
	return list;
}

static int parse_value(struct ctx *ctx, const struct item *it, const char *path,
		       const json_t *val, void *base)
{
	char *got = describe(val);
	char *s = NULL;
	const char *why;
	int ret = GS_ECONFIG;

	switch (it->type) {
	case T_INT: {
		bool ok = json_is_integer(val);
		json_int_t v = ok ? json_integer_value(val) : 0;
		if (!ok || v < (json_int_t)it->min || v > (json_int_t)it->max) {
			err(ctx, path,
			    "must be an integer from %.0f to %.0f "
			    "(got %s)",
			    it->min, it->max, got);
			goto out;
		}
		store_uint(field(base, it), it->size, (unsigned long long)v);
		break;
	}
	case T_NUM: {
		/* json_is_number: integers too, but never booleans. */
		double v = json_is_number(val) ? json_number_value(val) : 0;
		if (!json_is_number(val) || v < it->min || v > it->max) {
			err(ctx, path,
			    "must be a number from %g to %g (got %s)", it->min,
			    it->max, got);
			goto out;
		}
		*(double *)field(base, it) = v;
		break;
	}
	case T_STR:
	case T_PATH: {
		const char *what =
		    it->type == T_PATH ? "a file name" : "a string";
		/* null spells out the default "none" (as in the sample). */
		if (json_is_null(val) && !it->required && !it->def_str)
			break;
		if (!json_is_string(val)) {
			err(ctx, path,
			    "must be %s of %.0f to %.0f bytes (got %s)", what,
			    it->min, it->max, got);
			goto out;
		}
		size_t len = json_string_length(val);
		if ((double)len < it->min || (double)len > it->max) {
			err(ctx, path,
			    "must be %s of %.0f to %.0f bytes (got %zu bytes)",
			    what, it->min, it->max, len);
			goto out;
		}
		const char *text = json_string_value(val);
		s = it->type == T_PATH ? resolve_path(ctx->dir, text)
				       : gs_xstrdup(text);
		break;
	}
	case T_NAME: {
		const char *text =
		    json_is_string(val) ? json_string_value(val) : NULL;
		size_t len = text ? json_string_length(val) : 0;
		if (!text || (double)len < it->min || (double)len > it->max ||
		    !is_name(text, len)) {
			err(ctx, path,
			    "must be a name of %.0f to %.0f letters, digits, "
			    "'.', '_' or '-' (got %s)",
			    it->min, it->max, got);
			goto out;
		}
		s = gs_xstrdup(text);
		break;
	}
	case T_DNAME:
	case T_HOST:
		if (!json_is_string(val)) {
			err(ctx, path, "must be a domain name string (got %s)",
			    got);
			goto out;
		}
		if (dname_normalize(json_string_value(val),
				    json_string_length(val), it->type == T_HOST,
				    &s, &why) < 0) {
			err(ctx, path, "invalid domain name %s (%s)", got, why);
			goto out;
		}
		break;
	case T_TABLE:
		ret = parse_table(ctx, it, path, val, base);
		goto out;
	case T_ARRAY:
		ret = parse_array(ctx, it, path, val, base);
		goto out;
	case T_OBJECT:
		ret = parse_object(ctx, val, it->items, field(base, it), path);
		goto out;
	case T_CUSTOM:
		ret = it->custom->parse(ctx, path, val, base);
		goto out;
	case T_BOOL:
		if (!json_is_boolean(val)) {
			err(ctx, path, "must be true or false (got %s)", got);
			goto out;
		}
		*(bool *)field(base, it) = json_is_true(val);
		break;
	case T_ENUM: {
		const char *text =
		    json_is_string(val) ? json_string_value(val) : NULL;
		size_t i = 0;
		while (text && it->names[i] &&
		       (strlen(it->names[i]) != json_string_length(val) ||
			strcmp(it->names[i], text) != 0))
			i++;
		if (!text || !it->names[i]) {
			char *list = enum_list(it->names);
			err(ctx, path, "must be %s (got %s)", list, got);
			free(list);
			goto out;
		}
		store_uint(field(base, it), it->size, i);
		break;
	}
	case T_URL:
		if (!json_is_string(val)) {
			err(ctx, path, "must be a URL string (got %s)", got);
			goto out;
		}
		if (url_normalize(json_string_value(val),
				  json_string_length(val), &s, &why) < 0) {
			err(ctx, path, "invalid URL %s (%s)", got, why);
			goto out;
		}
		break;
	}
	if (s) {
		*(char **)field(base, it) = s;
		s = NULL;
	}
	ret = 0;
out:
	free(s);
	free(got);
	return ret;
}

static void set_default(const struct item *it, void *base)
{
	switch (it->type) {
	case T_INT:
		store_uint(field(base, it), it->size,
			   (unsigned long long)it->def);
		break;
	case T_NUM:
		*(double *)field(base, it) = it->def;
		break;
	case T_BOOL:
		*(bool *)field(base, it) = it->def != 0;
		break;
	case T_ENUM:
		store_uint(field(base, it), it->size,
			   (unsigned long long)it->def);
		break;
	case T_STR:
	case T_PATH:
		*(char **)field(base, it) =
		    it->def_str ? gs_xstrdup(it->def_str) : NULL;
		break;
	case T_URL:
		*(char **)field(base, it) = NULL;
		break;
	case T_NAME:
	case T_DNAME:
	case T_HOST:
	case T_TABLE:
	case T_ARRAY:
		break;
	case T_OBJECT:
		for (const struct item *sub = it->items; sub->key; sub++)
			set_default(sub, field(base, it));
		break;
	case T_CUSTOM:
		if (it->custom->dflt)
			it->custom->dflt(base);
		break;
	}
}

static const struct item *find_item(const struct item *items, const char *key)
{
	for (const struct item *it = items; it->key; it++) {
		if (strcmp(it->key, key) == 0)
			return it;
	}
	return NULL;
}

/* Parses obj into base (zeroed by the caller) following items. Reports
 * every problem; returns 0 or GS_ECONFIG. path is NULL at the top level. */
static int parse_object(struct ctx *ctx, const json_t *obj,
			const struct item *items, void *base, const char *path)
{
	const char *key;
	json_t *val;
	int ret = 0;

	if (!json_is_object(obj)) {
		char *got = describe(obj);
		err(ctx, path ? path : "top level", "must be %s (got %s)",
		    path ? "an object" : "a JSON object", got);
		free(got);
		return GS_ECONFIG;
	}
	/* Present keys first, in file order (jansson keeps it). */
	json_object_foreach((json_t *)obj, key, val)
	{
		const struct item *it = find_item(items, key);
		char *kpath = path_key(path, key);
		if (!it) {
			err(ctx, kpath, "unknown key");
			ret = GS_ECONFIG;
		} else if (parse_value(ctx, it, kpath, val, base) < 0) {
			ret = GS_ECONFIG;
		}
		free(kpath);
	}
	/* Then defaults, or errors, for the keys that are absent. */
	for (const struct item *it = items; it->key; it++) {
		if (json_object_get(obj, it->key))
			continue;
		if (it->required) {
			char *kpath = path_key(path, it->key);
			err(ctx, kpath, "required key is missing");
			free(kpath);
			ret = GS_ECONFIG;
		} else {
			set_default(it, base);
		}
	}
	return ret;
}

static void free_object(const struct item *items, void *base);

/* Frees what item it owns in base; zeroed fields are ok. */
static void free_value(const struct item *it, void *base)
{
	switch (it->type) {
	case T_INT:
	case T_NUM:
	case T_BOOL:
	case T_ENUM:
		break;
	case T_STR:
	case T_PATH:
	case T_NAME:
	case T_DNAME:
	case T_HOST:
	case T_URL:
		free(*(char **)field(base, it));
		break;
	case T_TABLE: {
		char *elems = *(char **)field(base, it);
		size_t n = *count_field(base, it);
		for (size_t i = 0; elems && i < n; i++)
			free_object(it->table->items,
				    elems + i * it->table->elem_size);
		free(elems);
		break;
	}
	case T_ARRAY: {
		char *elems = *(char **)field(base, it);
		size_t n = *count_field(base, it);
		for (size_t i = 0; elems && i < n; i++)
			free_value(it->array->elem,
				   elems + i * it->array->elem_size);
		free(elems);
		break;
	}
	case T_OBJECT:
		free_object(it->items, field(base, it));
		break;
	case T_CUSTOM:
		it->custom->free(base);
		break;
	}
}

/* Frees what items own in base (not base itself); zeroed fields are ok. */
static void free_object(const struct item *items, void *base)
{
	for (const struct item *it = items; it->key; it++)
		free_value(it, base);
}

/* ---- health checks ---------------------------------------------------- */

/* Copies the value of item it from src to dst (structs of the same items),
 * duplicating strings and freeing the ones dst held. */
static void copy_value(const struct item *it, void *dst, void *src)
{
	void *d = field(dst, it);
	void *from = field(src, it);

	switch (it->type) {
	case T_INT:
	case T_ENUM:
		memcpy(d, from, it->size);
		break;
	case T_NUM:
		*(double *)d = *(double *)from;
		break;
	case T_BOOL:
		*(bool *)d = *(bool *)from;
		break;
	case T_STR:
	case T_PATH:
	case T_NAME:
	case T_DNAME:
	case T_HOST:
	case T_URL: {
		char *old = *(char **)d;
		const char *v = *(char **)from;
		*(char **)d = v ? gs_xstrdup(v) : NULL;
		free(old);
		break;
	}
	case T_OBJECT:
		for (const struct item *sub = it->items; sub->key; sub++)
			copy_value(sub, d, from);
		break;
	case T_TABLE:
	case T_ARRAY:
	case T_CUSTOM:
		abort(); /* not used in a check */
	}
}

static bool has_key(const json_t *obj, const char *key)
{
	return json_object_get(obj, key) != NULL;
}

/* Checks the rules that span keys of the resolved check c at path
 * ("services[0].check", "services[0].regions[1].check"). written is the
 * "check" object in the file at path: a rule is checked only when a key
 * it names is written there, so a service's mistake is reported once, at
 * the service. Values that failed to parse are 0 or NULL and are not
 * compared (their error is already out). */
static int check_rules(struct ctx *ctx, const char *path,
		       const struct conf_check *c, const json_t *written)
{
	bool w_timeout = has_key(written, "timeout");
	bool w_interval = has_key(written, "interval");
	char *kpath = NULL;
	int ret = 0;

	if (c->timeout > 0 && c->interval > 0 && c->timeout > c->interval &&
	    (w_timeout || w_interval)) {
		if (w_timeout) {
			kpath = path_key(path, "timeout");
			err(ctx, kpath, "%g is longer than the interval %g",
			    c->timeout, c->interval);
		} else {
			kpath = path_key(path, "interval");
			err(ctx, kpath, "%g is shorter than the timeout %g",
			    c->interval, c->timeout);
		}
		free(kpath);
		ret = GS_ECONFIG;
	}
	if (c->key_file && !c->cert_file &&
	    (has_key(written, "key_file") || has_key(written, "cert_file"))) {
		kpath = path_key(path, "key_file");
		err(ctx, kpath, "needs a cert_file");
		free(kpath);
		ret = GS_ECONFIG;
	}
	return ret;
}

/* Resolves r->check, at rpath ("services[0].regions[1]"): the keys the
 * region's "check" wrote (already parsed into it) over the service's
 * check, if the service has one (svc_check: its "check" object in the
 * file). rj is the region's object in the file. */
static int region_resolve(struct ctx *ctx, const char *rpath,
			  struct conf_region *r, const json_t *rj,
			  struct conf_service *s, const json_t *svc_check)
{
	const json_t *rc = json_object_get(rj, "check");
	bool svc_has = json_is_object(svc_check);
	char *cpath = NULL;
	char *kpath = NULL;
	int ret = 0;

	if (rc && !json_is_object(rc))
		return GS_ECONFIG; /* reported by parse_object */
	for (const struct item *it = check_items; svc_has && it->key; it++) {
		if (!has_key(rc, it->key))
			copy_value(it, &r->check, &s->check);
	}
	r->check.enabled = svc_has || rc;
	if (rc) {
		cpath = path_key(rpath, "check");
		/* When the service wrote a "check", a missing or invalid
		 * url is reported there. */
		if (!r->check.url && !svc_check && !has_key(rc, "url")) {
			kpath = path_key(cpath, "url");
			err(ctx, kpath,
			    "required: neither the service nor the region "
			    "sets a url");
			ret = GS_ECONFIG;
		}
		if (check_rules(ctx, cpath, &r->check, rc) < 0)
			ret = GS_ECONFIG;
	}
	/* An empty or wrong "check_addresses" is reported already. */
	if (json_array_size(json_object_get(rj, "check_addresses")) > 0 &&
	    !r->check.enabled && !svc_check) {
		free(kpath);
		kpath = path_key(rpath, "check_addresses");
		err(ctx, kpath,
		    "needs a check (neither the service nor the region has "
		    "one)");
		ret = GS_ECONFIG;
	}
	free(kpath);
	free(cpath);
	return ret;
}

/* The service's own check, then each region's resolved one. sj is the
 * service's object in the file, spath its path ("services[0]"). */
static int service_resolve(struct ctx *ctx, const char *spath,
			   struct conf_service *s, const json_t *sj)
{
	const json_t *sc = json_object_get(sj, "check");
	const json_t *regions = json_object_get(sj, "regions");
	char *cpath = NULL;
	char *rpath = NULL;
	int ret = 0;

	if (json_is_object(sc)) {
		s->check.enabled = true;
		cpath = path_key(spath, "check");
		if (!has_key(sc, "url")) {
			char *upath = path_key(cpath, "url");
			err(ctx, upath, "required key is missing");
			free(upath);
			ret = GS_ECONFIG;
		}
		if (check_rules(ctx, cpath, &s->check, sc) < 0)
			ret = GS_ECONFIG;
	}
	for (size_t j = 0; s->regions && j < s->n_regions; j++) {
		free(rpath);
		rpath = gs_xasprintf("%s.regions[%zu]", spath, j);
		if (region_resolve(ctx, rpath, &s->regions[j],
				   json_array_get(regions, j), s, sc) < 0)
			ret = GS_ECONFIG;
	}
	free(rpath);
	free(cpath);
	return ret;
}

static bool is_ascii_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Region names must say one thing: an overrides line "CIDR XX" with two
 * letters is a country code, so a region cannot be named like one; and
 * names that differ only in case (within a service or across services,
 * where "geosteer drain NAME" and the overrides reach every service's
 * region of that name) are taken for one another. */
static int region_names_check(struct ctx *ctx, const char *path,
			      const struct conf_service *svc, size_t n)
{
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t r = 0; r < svc[i].n_regions; r++) {
			const char *name = svc[i].regions[r].name;
			if (!name)
				continue;
			char *npath = gs_xasprintf("%s[%zu].regions[%zu].name",
						   path, i, r);
			char *q = quote(name, strlen(name));
			if (strlen(name) == 2 && is_ascii_letter(name[0]) &&
			    is_ascii_letter(name[1])) {
				err(ctx, npath,
				    "%s reads as a country code in the "
				    "overrides file; give the region a longer "
				    "name",
				    q);
				ret = GS_ECONFIG;
			}
			bool found = false;
			for (size_t j = 0; j <= i && !found; j++) {
				size_t end = j == i ? r : svc[j].n_regions;
				for (size_t k = 0; k < end && !found; k++) {
					const char *o = svc[j].regions[k].name;
					if (!o || strcasecmp(o, name) != 0 ||
					    strcmp(o, name) == 0)
						continue;
					char *oq = quote(o, strlen(o));
					err(ctx, npath,
					    "%s differs from %s "
					    "(%s[%zu].regions[%zu].name) only "
					    "in case",
					    q, oq, path, j, k);
					free(oq);
					ret = GS_ECONFIG;
					found = true;
				}
			}
			free(q);
			free(npath);
		}
	}
	return ret;
}

/* Hosts across services, region names, then health checks. */
static int services_check(struct ctx *ctx, const char *path, const json_t *val,
			  void *elems, size_t n)
{
	struct conf_service *svc = elems;
	char *spath = NULL;
	int ret = hosts_check(ctx, path, svc, n);
	if (region_names_check(ctx, path, svc, n) < 0)
		ret = GS_ECONFIG;

	for (size_t i = 0; i < n; i++) {
		free(spath);
		spath = path_index(path, i);
		if (service_resolve(ctx, spath, &svc[i],
				    json_array_get(val, i)) < 0)
			ret = GS_ECONFIG;
	}
	free(spath);
	return ret;
}

/* ---- files ------------------------------------------------------------ */

static int current_dir(char **out)
{
	size_t size = 256;
	char *buf = NULL;
	int ret = GS_EIO;

	for (;;) {
		buf = gs_xreallocarray(buf, size, 1);
		if (getcwd(buf, size))
			break;
		if (errno != ERANGE)
			goto out;
		size *= 2;
	}
	*out = buf;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	return ret;
}

/* The absolute directory of path, without resolving symbolic links. */
static int dir_of(const char *path, char **out)
{
	char *dir = gs_xstrdup(path);
	char *cwd = NULL;
	int ret = 0;

	char *slash = strrchr(dir, '/');
	if (!slash) {
		strcpy(dir, ".");
	} else {
		while (slash > dir && slash[-1] == '/')
			slash--;
		if (slash == dir)
			slash++; /* keep "/" */
		*slash = '\0';
	}
	if (dir[0] != '/') {
		ret = current_dir(&cwd);
		if (ret < 0)
			goto out;
		const char *rel = dir;
		while (rel[0] == '.' && rel[1] == '/') {
			rel += 2;
			while (*rel == '/')
				rel++;
		}
		char *abs;
		if (strcmp(rel, ".") == 0 || !*rel)
			abs = gs_xstrdup(cwd);
		else
			abs = resolve_path(cwd, rel);
		free(dir);
		dir = abs;
	}
	*out = dir;
	dir = NULL;
out:
	free(cwd);
	free(dir);
	return ret;
}

int conf_load(const char *path, conf_diag_fn diag, void *arg, struct conf **out)
{
	int ret = conf_load_partial(path, diag, arg, out);
	if (ret != 0) {
		conf_free(*out);
		*out = NULL;
	}
	return ret;
}

int conf_load_partial(const char *path, conf_diag_fn diag, void *arg,
		      struct conf **out)
{
	struct ctx ctx = {.file = path, .diag = diag, .arg = arg};
	struct conf *c = NULL;
	FILE *fp = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	struct stat st;
	int ret;

	*out = NULL;
	fp = fopen(path, "re");
	if (!fp) {
		ret = errno == ENOENT ? GS_ENOENT : GS_EIO;
		err(&ctx, NULL, "cannot open (%s)", strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		ret = GS_EIO;
		err(&ctx, NULL, "cannot read (%s)", strerror(EISDIR));
		goto out;
	}

	c = gs_xcalloc(1, sizeof(*c));
	c->path = gs_xstrdup(path);
	ret = dir_of(path, &c->dir);
	if (ret < 0) {
		err(&ctx, NULL, "cannot find the current directory (%s)",
		    strerror(errno));
		goto out;
	}
	ctx.dir = c->dir;

	errno = 0;
	root = json_loadf(fp, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	int read_errno = errno;
	if (ferror(fp)) {
		/* A read error looks like a truncated file to the parser. */
		err(&ctx, NULL, "cannot read (%s)",
		    strerror(read_errno ? read_errno : EIO));
		ret = GS_EIO;
		goto out;
	}
	if (!root) {
		char *line = gs_xasprintf("%s:%d:%d: %s", path, jerr.line,
					  jerr.column, jerr.text);
		emit(&ctx, line);
		free(line);
		ret = GS_ECONFIG;
		goto out;
	}

	parse_object(&ctx, root, conf_items, c, NULL);
	/* With errors, what parsed is still the caller's, to check more. */
	ret = ctx.n_errors > 0 ? GS_ECONFIG : 0;
	*out = c;
	c = NULL;
out:
	json_decref(root);
	if (fp)
		fclose(fp);
	conf_free(c);
	return ret;
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	free_object(conf_items, c);
	free(c->path);
	free(c->dir);
	free(c);
}
