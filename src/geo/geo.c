/* geo.c: GeoIP files -> sorted, non-overlapping range tables.
 *
 * Loading has two phases. Reading appends every range of every file to one
 * list per family, tagged with its file's priority (overrides 0, then the
 * databases in order) and its line. Painting then sorts each list by low
 * bound and sweeps it once with a min-heap of the ranges covering the
 * current address, keyed by (priority, line): each stretch of addresses
 * goes to the best range covering it, so overrides beat databases, earlier
 * databases beat later ones and, inside a database, the first line wins;
 * inside the overrides the most specific prefix wins, whatever the line
 * order (then no two lines may give the same prefix). The
 * sweep emits at most two segments per range, merges neighbours with the
 * same location, and drops unknown stretches (gaps mean unknown).
 * O(n log n) time; about 20 bytes per IPv4 and 44 per IPv6 range while
 * loading. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/log.h"
#include "geo/geo.h"
#include "geo/geo_int.h"

#define MAX_DIAG 100	       /* errors, and warnings, shown per file */
#define MMDB_TAIL (128 * 1024) /* the MMDB metadata is in the last 128 KiB */
#define N_CODES (36 * 36)      /* two letters or digits */
#define EARTH_RADIUS_KM 6371.0

#define MAPPED_LO ((geo_u128)0xffff << 32) /* ::ffff:0:0 */
#define MAPPED_HI (MAPPED_LO | 0xffffffffu)

/* spec: for an overrides line, the host bits of its prefix (0 for a
 * host route, more for wider networks), so that the narrower prefix wins
 * where two overlap; 0 for every database line (there the first wins). */
struct raw4 {
	uint32_t lo, hi, loc, src, line;
	uint8_t spec;
};

struct raw6 {
	uint8_t lo[16], hi[16]; /* geo_u128 values in host order (memcpy) */
	uint32_t loc, src, line;
	uint8_t spec;
};

/* One range of either family, widened for the sweep. */
struct span {
	geo_u128 lo, hi;
	uint32_t loc, src, line;
	uint8_t spec;
};

struct heap_ent {
	geo_u128 hi;
	uint64_t key; /* priority << 40 | spec << 32 | line: smaller wins */
	uint32_t loc;
};

struct heap {
	struct heap_ent *e;
	size_t n, cap;
};

/* Per-family overlap tracking: the range reaching furthest so far. */
struct reach {
	geo_u128 hi;
	unsigned line;
	bool any;
};

struct src {
	const char *name; /* db->files[] */
	uint32_t prio;	  /* 0: overrides; 1 + index: databases */
	bool is_overrides, is_binary;
	unsigned n_err, n_warn;
	uint8_t warned_cc[N_CODES / 8 + 1];
	struct reach reach[2]; /* IPv4, IPv6 */
};

struct geo_loader {
	struct geo_db *db;
	geo_diag_fn diag;
	void *arg;
	int rc;		 /* the first failure other than bad syntax */
	size_t n_errors; /* errors reported */
	struct src *srcs;
	size_t n_srcs;
	struct src *cur;
	struct raw4 *r4;
	size_t n4, cap4;
	struct raw6 *r6;
	size_t n6, cap6;
	size_t cap_locs, cap_out;
	uint32_t *slots; /* interned locations: index + 1, 0 = empty */
	size_t n_slots;
	uint32_t cc_loc[N_CODES]; /* UINT32_MAX: not looked up yet */
	geo_u128 last6_hi;	  /* hi of db->r6[n6 - 1] */
	uint8_t spec;		  /* of the overrides line being added */
};

/* --- diagnostics --- */

static void emit_diag(struct geo_loader *l, bool is_error, const char *file,
		      unsigned line, const char *msg)
{
	if (l->diag) {
		l->diag(l->arg, is_error, file, line, msg);
		return;
	}
	log_file_line(is_error ? LOG_LVL_ERR : LOG_LVL_WARN, file, line, msg);
}

void geo_loader_diag(struct geo_loader *l, bool is_error, unsigned line,
		     const char *fmt, ...)
{
	struct src *s = l->cur;
	unsigned *count = is_error ? &s->n_err : &s->n_warn;
	l->n_errors += is_error;
	if ((*count)++ >= MAX_DIAG)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_diag(l, is_error, s->name, s->is_binary ? 0 : line, msg);
}

void geo_loader_fail(struct geo_loader *l, int rc)
{
	if (l->rc == 0)
		l->rc = rc;
}

/* Says how many messages the caps held back, once everything is done. */
static void report_held_back(struct geo_loader *l)
{
	char msg[128];
	for (size_t i = 0; i < l->n_srcs; i++) {
		struct src *s = &l->srcs[i];
		if (s->n_err > MAX_DIAG) {
			snprintf(msg, sizeof(msg), "%u more errors not shown",
				 s->n_err - MAX_DIAG);
			emit_diag(l, true, s->name, 0, msg);
		}
		if (s->n_warn > MAX_DIAG) {
			snprintf(msg, sizeof(msg), "%u more warnings not shown",
				 s->n_warn - MAX_DIAG);
			emit_diag(l, false, s->name, 0, msg);
		}
	}
}

/* --- locations --- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint64_t loc_hash(const struct geo_loc *g)
{
	uint64_t h = mix(0, (uint64_t)g->kind), bits;
	memcpy(&bits, &g->lat, sizeof(bits));
	h = mix(h, bits);
	memcpy(&bits, &g->lon, sizeof(bits));
	h = mix(h, bits);
	h = mix(h, (uint64_t)(unsigned char)g->cc[0] << 8 |
		       (unsigned char)g->cc[1]);
	for (const char *p = g->region; p && *p; p++)
		h = mix(h, (unsigned char)*p);
	if (g->kind == GEO_POINT)
		h = mix(h, (uint64_t)(uintptr_t)g->file);
	return h;
}

static bool loc_equal(const struct geo_loc *a, const struct geo_loc *b)
{
	if (a->kind != b->kind || a->lat != b->lat || a->lon != b->lon ||
	    strcmp(a->cc, b->cc) != 0)
		return false;
	/* A point is also told apart by the file it came from, so that
	 * explain can say which database placed an address. */
	if (a->kind == GEO_POINT && a->file != b->file)
		return false;
	if (!a->region || !b->region)
		return a->region == b->region;
	return strcmp(a->region, b->region) == 0;
}

static void rehash(struct geo_loader *l)
{
	size_t n = l->n_slots ? l->n_slots * 2 : 1024;
	free(l->slots);
	l->slots = gs_xcalloc(n, sizeof(*l->slots));
	l->n_slots = n;
	for (size_t i = 0; i < l->db->n_locs; i++) {
		size_t j = loc_hash(&l->db->locs[i]) & (n - 1);
		while (l->slots[j])
			j = (j + 1) & (n - 1);
		l->slots[j] = (uint32_t)i + 1;
	}
}

/* The index of a location equal to want (whose region is borrowed),
 * adding a copy if there is none. */
static uint32_t intern(struct geo_loader *l, const struct geo_loc *want)
{
	struct geo_db *db = l->db;
	if ((db->n_locs + 1) * 2 > l->n_slots)
		rehash(l);
	size_t mask = l->n_slots - 1, j = loc_hash(want) & mask;
	while (l->slots[j]) {
		uint32_t i = l->slots[j] - 1;
		if (loc_equal(&db->locs[i], want))
			return i;
		j = (j + 1) & mask;
	}
	if (db->n_locs == l->cap_locs) {
		l->cap_locs = l->cap_locs ? l->cap_locs * 2 : 64;
		db->locs =
		    gs_xreallocarray(db->locs, l->cap_locs, sizeof(*db->locs));
	}
	struct geo_loc *g = &db->locs[db->n_locs];
	*g = *want;
	if (want->region)
		g->region = gs_xstrdup(want->region);
	l->slots[j] = (uint32_t)db->n_locs + 1;
	return (uint32_t)db->n_locs++;
}

/* 0..N_CODES-1 for two ASCII letters or digits (any case), else -1. */
static int code_index(const char *cc)
{
	int idx = 0;
	for (int i = 0; i < 2; i++) {
		char c = cc[i];
		if (c >= 'a' && c <= 'z')
			idx = idx * 36 + (c - 'a');
		else if (c >= 'A' && c <= 'Z')
			idx = idx * 36 + (c - 'A');
		else if (c >= '0' && c <= '9')
			idx = idx * 36 + 26 + (c - '0');
		else
			return -1;
	}
	return cc[2] == '\0' ? idx : -1;
}

static bool is_code(const char *cc)
{
	return code_index(cc) >= 0 || strcmp(cc, "??") == 0;
}

uint32_t geo_loader_cc(struct geo_loader *l, const char *cc, unsigned line)
{
	int idx = code_index(cc);
	if (idx < 0)
		return 0; /* "??" and the like */
	struct geo_loc want = {.kind = GEO_POINT, .file = l->cur->name};
	for (int i = 0; i < 2; i++)
		want.cc[i] =
		    (char)(cc[i] >= 'a' && cc[i] <= 'z' ? cc[i] - 'a' + 'A'
							: cc[i]);
	if (l->cc_loc[idx] == UINT32_MAX) {
		l->cc_loc[idx] = 0;
		if (geo_country_find(want.cc, &want.lat, &want.lon))
			l->cc_loc[idx] = intern(l, &want);
	}
	/* ZZ and UN are how some databases write "unknown". */
	bool quiet = strcmp(want.cc, "ZZ") == 0 || strcmp(want.cc, "UN") == 0;
	uint8_t *w = &l->cur->warned_cc[idx / 8];
	uint8_t bit = (uint8_t)(1u << (idx % 8));
	if (l->cc_loc[idx] == 0 && l->cur->is_overrides) {
		/* Written by hand: a typo, not a database's "unknown". */
		geo_loader_diag(l, true, line,
				"unknown country code \"%s\" (\"??\" means an "
				"unknown location)",
				want.cc);
	} else if (l->cc_loc[idx] == 0 && !quiet && !(*w & bit)) {
		*w |= bit;
		geo_loader_diag(l, false, line, "unknown country code \"%s\"",
				want.cc);
	}
	return l->cc_loc[idx];
}

uint32_t geo_loader_point(struct geo_loader *l, double lat, double lon)
{
	struct geo_loc want = {.kind = GEO_POINT, .lat = lat, .lon = lon,
			       .file = l->cur->name};
	return intern(l, &want);
}

static uint32_t loader_region(struct geo_loader *l, char *name, unsigned line)
{
	struct geo_loc want = {.kind = GEO_REGION, .region = name};
	size_t before = l->db->n_locs;
	uint32_t i = intern(l, &want);
	if (l->db->n_locs != before) {
		l->db->locs[i].file = l->cur->name;
		l->db->locs[i].line = line;
	}
	return i;
}

/* --- collecting ranges --- */

static void push4(struct geo_loader *l, uint32_t lo, uint32_t hi, uint32_t loc,
		  unsigned line)
{
	uint32_t src = (uint32_t)(l->cur - l->srcs);
	bool ovr = l->cur->is_overrides;
	if (loc == 0 && !ovr)
		return;
	/* Consecutive lines that continue each other become one range: no
	 * other line sorts between them, so no priority changes. Not in the
	 * overrides, where each line keeps its prefix. */
	if (l->n4 && !ovr) {
		struct raw4 *p = &l->r4[l->n4 - 1];
		if (p->src == src && p->loc == loc && p->hi != UINT32_MAX &&
		    p->hi + 1 == lo) {
			p->hi = hi;
			return;
		}
	}
	if (l->n4 == l->cap4) {
		l->cap4 = l->cap4 ? l->cap4 + l->cap4 / 2 : 4096;
		l->r4 = gs_xreallocarray(l->r4, l->cap4, sizeof(*l->r4));
	}
	struct raw4 *r = &l->r4[l->n4++];
	r->lo = lo;
	r->hi = hi;
	r->loc = loc;
	r->src = src;
	r->line = line;
	r->spec = ovr ? l->spec : 0;
}

static void push6(struct geo_loader *l, geo_u128 lo, geo_u128 hi, uint32_t loc,
		  unsigned line)
{
	uint32_t src = (uint32_t)(l->cur - l->srcs);
	bool ovr = l->cur->is_overrides;
	if (loc == 0 && !ovr)
		return;
	if (l->n6 && !ovr) {
		struct raw6 *p = &l->r6[l->n6 - 1];
		geo_u128 phi;
		memcpy(&phi, p->hi, 16);
		if (p->src == src && p->loc == loc && phi != ~(geo_u128)0 &&
		    phi + 1 == lo) {
			memcpy(p->hi, &hi, 16);
			return;
		}
	}
	if (l->n6 == l->cap6) {
		l->cap6 = l->cap6 ? l->cap6 + l->cap6 / 2 : 4096;
		l->r6 = gs_xreallocarray(l->r6, l->cap6, sizeof(*l->r6));
	}
	struct raw6 *r = &l->r6[l->n6++];
	memcpy(r->lo, &lo, 16);
	memcpy(r->hi, &hi, 16);
	r->loc = loc;
	r->src = src;
	r->line = line;
	r->spec = ovr ? l->spec : 0;
}

void geo_loader_add4(struct geo_loader *l, uint32_t lo, uint32_t hi,
		     uint32_t loc, unsigned line)
{
	l->db->n_read++;
	push4(l, lo, hi, loc, line);
}

void geo_loader_add6(struct geo_loader *l, geo_u128 lo, geo_u128 hi,
		     uint32_t loc, unsigned line)
{
	l->db->n_read++;
	if (lo >= MAPPED_LO && hi <= MAPPED_HI) {
		push4(l, (uint32_t)lo, (uint32_t)hi, loc, line);
		return;
	}
	/* IPv4 data comes from IPv4 ranges only. */
	if (lo < MAPPED_LO)
		push6(l, lo, hi < MAPPED_LO ? hi : MAPPED_LO - 1, loc, line);
	if (hi > MAPPED_HI)
		push6(l, lo > MAPPED_HI ? lo : MAPPED_HI + 1, hi, loc, line);
}

/* --- text parsing --- */

static geo_u128 load_be(const uint8_t b[16])
{
	geo_u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = v << 8 | b[i];
	return v;
}

static void store_be(uint8_t b[16], geo_u128 v)
{
	for (int i = 15; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static char *trim(char *s)
{
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An address bound of a range file: a decimal IPv4 number, a dotted IPv4
 * address or an IPv6 address. Returns 4 or 6, or 0 after reporting. */
static int parse_bound(struct geo_loader *l, unsigned line, const char *s,
		       geo_u128 *v)
{
	uint8_t b[16];
	if (*s >= '0' && *s <= '9' && s[strspn(s, "0123456789")] == '\0') {
		uint64_t n = 0;
		for (const char *p = s; *p; p++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > UINT32_MAX) {
				geo_loader_diag(l, true, line,
						"IPv4 number \"%.60s\" out of "
						"range",
						s);
				return 0;
			}
		}
		*v = n;
		return 4;
	}
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, b) != 1) {
			geo_loader_diag(l, true, line,
					"bad IPv6 address \"%.60s\"", s);
			return 0;
		}
		*v = load_be(b);
		return 6;
	}
	if (strchr(s, '.')) {
		if (inet_pton(AF_INET, s, b) != 1) {
			geo_loader_diag(l, true, line,
					"bad IPv4 address \"%.60s\"", s);
			return 0;
		}
		*v = (geo_u128)b[0] << 24 | (geo_u128)b[1] << 16 |
		     (geo_u128)b[2] << 8 | b[3];
		return 4;
	}
	geo_loader_diag(l, true, line, "bad address \"%.60s\"", s);
	return 0;
}

/* "low,high,CC" */
static void parse_range_line(struct geo_loader *l, unsigned line, char *s)
{
	char *f[3];
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	if (n != 2) {
		geo_loader_diag(l, true, line,
				"expected \"low,high,CC\" (got \"%.60s\")", s);
		return;
	}
	f[0] = s;
	f[1] = strchr(f[0], ',');
	*f[1]++ = '\0';
	f[2] = strchr(f[1], ',');
	*f[2]++ = '\0';
	for (int i = 0; i < 3; i++)
		f[i] = trim(f[i]);

	geo_u128 lo = 0, hi = 0;
	int fam_lo = parse_bound(l, line, f[0], &lo);
	int fam_hi = parse_bound(l, line, f[1], &hi);
	bool cc_ok = is_code(f[2]);
	if (!cc_ok)
		geo_loader_diag(l, true, line, "bad country code \"%.60s\"",
				f[2]);
	if (!fam_lo || !fam_hi || !cc_ok)
		return;
	if (fam_lo != fam_hi) {
		geo_loader_diag(l, true, line,
				"low \"%.60s\" and high \"%.60s\" are of "
				"different address families",
				f[0], f[1]);
		return;
	}
	if (lo > hi) {
		geo_loader_diag(l, true, line, "low %.60s > high %.60s", f[0],
				f[1]);
		return;
	}
	uint32_t loc = geo_loader_cc(l, f[2], line);
	if (fam_lo == 4)
		geo_loader_add4(l, (uint32_t)lo, (uint32_t)hi, loc, line);
	else
		geo_loader_add6(l, lo, hi, loc, line);
}

/* "ADDRESS/PREFIX" with no host bits set. Returns 4 or 6 and the bounds,
 * or 0 after reporting. */
static int parse_cidr(struct geo_loader *l, unsigned line, char *s,
		      geo_u128 *lo, geo_u128 *hi)
{
	char *slash = strchr(s, '/');
	if (!slash) {
		geo_loader_diag(l, true, line,
				"missing prefix length in \"%.60s\"", s);
		return 0;
	}
	*slash = '\0';
	const char *plen_s = slash + 1;
	int fam = strchr(s, ':') ? 6 : 4;
	unsigned width = fam == 6 ? 128 : 32;
	uint8_t b[16];
	int ret = 0;
	if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, s, b) != 1) {
		geo_loader_diag(l, true, line, "bad IPv%d address \"%.60s\"",
				fam, s);
		goto out;
	}
	size_t nd = strspn(plen_s, "0123456789");
	if (nd == 0 || nd > 3 || plen_s[nd] != '\0') {
		geo_loader_diag(l, true, line, "bad prefix length \"%.60s\"",
				plen_s);
		goto out;
	}
	unsigned plen = (unsigned)atoi(plen_s);
	if (plen > width) {
		geo_loader_diag(l, true, line,
				"prefix length %u out of range for IPv%d", plen,
				fam);
		goto out;
	}
	geo_u128 v, host;
	if (fam == 6)
		v = load_be(b);
	else
		v = (geo_u128)b[0] << 24 | (geo_u128)b[1] << 16 |
		    (geo_u128)b[2] << 8 | b[3];
	if (plen == 0)
		host = fam == 6 ? ~(geo_u128)0 : UINT32_MAX;
	else
		host = ((geo_u128)1 << (width - plen)) - 1;
	if (v & host) {
		char net[INET6_ADDRSTRLEN];
		geo_u128 nv = v & ~host;
		if (fam == 6) {
			store_be(b, nv);
		} else {
			for (int i = 0; i < 4; i++)
				b[i] = (uint8_t)(nv >> (24 - 8 * i));
		}
		inet_ntop(fam == 6 ? AF_INET6 : AF_INET, b, net, sizeof(net));
		geo_loader_diag(l, true, line,
				"host bits set in \"%.60s/%s\" (the network is "
				"%s/%u)",
				s, plen_s, net, plen);
		goto out;
	}
	*lo = v;
	*hi = v | host;
	ret = fam;
out:
	*slash = '/';
	return ret;
}

/* "CIDR CC", "CIDR lat,lon" and, in the overrides, "CIDR REGION". */
static void parse_cidr_line(struct geo_loader *l, unsigned line, char *s)
{
	bool ovr = l->cur->is_overrides;
	const char *expect = ovr ? "\"CIDR REGION\", \"CIDR CC\" or "
				   "\"CIDR lat,lon\""
				 : "\"CIDR CC\" or \"CIDR lat,lon\"";
	size_t n = strcspn(s, " \t");
	if (s[n] == '\0') {
		geo_loader_diag(l, true, line, "expected %s (got \"%.60s\")",
				expect, s);
		return;
	}
	s[n] = '\0';
	char *target = trim(s + n + 1);
	geo_u128 lo = 0, hi = 0;
	int fam = parse_cidr(l, line, s, &lo, &hi);

	uint32_t loc;
	double lat, lon;
	if (is_letter(target[0]) && is_letter(target[1]) && !target[2]) {
		loc = geo_loader_cc(l, target, line);
	} else if (strcmp(target, "??") == 0 || (!ovr && is_code(target))) {
		loc = geo_loader_cc(l, target, line);
	} else if (strchr(target, ',')) {
		if (geo_parse_latlon(target, &lat, &lon) != 0) {
			geo_loader_diag(l, true, line,
					"bad coordinates \"%.60s\" (expected "
					"lat,lon within -90..90,-180..180)",
					target);
			return;
		}
		loc = geo_loader_point(l, lat, lon);
	} else if (!ovr) {
		geo_loader_diag(l, true, line,
				"bad location \"%.60s\" (expected a country "
				"code or lat,lon)",
				target);
		return;
	} else if (target[strcspn(target, " \t")] != '\0') {
		geo_loader_diag(l, true, line,
				"expected %s (got \"%.60s %.60s\")", expect, s,
				target);
		return;
	} else {
		if (!fam)
			return;
		loc = loader_region(l, target, line);
	}
	/* Host bits of the prefix: hi - lo is 2^bits - 1. */
	unsigned bits = 0;
	for (geo_u128 size = hi - lo; size; size >>= 1)
		bits++;
	l->spec = (uint8_t)bits;
	if (fam == 4)
		geo_loader_add4(l, (uint32_t)lo, (uint32_t)hi, loc, line);
	else if (fam == 6)
		geo_loader_add6(l, lo, hi, loc, line);
	l->spec = 0;
}

enum text_format { FMT_UNKNOWN, FMT_RANGE, FMT_CIDR };

/* Longest line kept: far above any range or CIDR line (an IPv6 range is
 * under 100 bytes). Longer lines are consumed and reported. */
#define GEO_LINE_MAX 1024

/* Reads one line (without its newline) into buf, NUL-terminated. Returns
 * false at the end of the file. *len is the length kept; *too_long is set
 * when the line did not fit. */
static bool read_line(FILE *f, char *buf, size_t *len, bool *too_long)
{
	size_t n = 0;
	int ch;
	*too_long = false;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if (n < GEO_LINE_MAX - 1)
			buf[n++] = (char)ch;
		else
			*too_long = true;
	}
	buf[n] = '\0';
	*len = n;
	return ch != EOF || n > 0 || *too_long;
}

static void parse_text(struct geo_loader *l, FILE *f)
{
	char buf[GEO_LINE_MAX];
	size_t len;
	bool too_long;
	unsigned line = 0;
	enum text_format fmt = l->cur->is_overrides ? FMT_CIDR : FMT_UNKNOWN;
	size_t n_read = l->db->n_read;

	while (read_line(f, buf, &len, &too_long)) {
		line++;
		if (too_long) {
			geo_loader_diag(l, true, line,
					"line longer than %d bytes",
					GEO_LINE_MAX - 1);
			continue;
		}
		if (memchr(buf, '\0', len)) {
			geo_loader_diag(l, true, line, "NUL byte in line");
			continue;
		}
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(buf);
		if (*s == '\0')
			continue;
		if (fmt == FMT_UNKNOWN) {
			size_t tok = strcspn(s, " \t");
			fmt = memchr(s, '/', tok) ? FMT_CIDR : FMT_RANGE;
		}
		if (fmt == FMT_RANGE)
			parse_range_line(l, line, s);
		else
			parse_cidr_line(l, line, s);
	}
	if (ferror(f)) {
		geo_loader_diag(l, true, 0, "read error (%s)", strerror(errno));
		geo_loader_fail(l, GS_EIO);
	} else if (l->db->n_read == n_read && !l->cur->is_overrides &&
		   l->cur->n_err == 0) {
		geo_loader_diag(l, false, 0, "no address ranges");
	}
}

/* Whether the last part of f holds the MaxMind DB metadata marker. */
static int has_mmdb_marker(FILE *f, off_t size, bool *found)
{
	*found = false;
	if (size < GEO_MMDB_MARKER_LEN)
		return 0;
	size_t n = size < MMDB_TAIL ? (size_t)size : MMDB_TAIL;
	char *buf = gs_xmalloc(n);
	int ret = 0;
	if (fseeko(f, size - (off_t)n, SEEK_SET) != 0 ||
	    fread(buf, 1, n, f) != n) {
		ret = GS_EIO;
		goto out;
	}
	*found = memmem(buf, n, GEO_MMDB_MARKER, GEO_MMDB_MARKER_LEN) != NULL;
	rewind(f);
out:
	free(buf);
	return ret;
}

static void load_file(struct geo_loader *l, struct src *s)
{
	l->cur = s;
	/* Country locations are per file (see loc_equal). */
	for (size_t i = 0; i < GS_ARRAY_SIZE(l->cc_loc); i++)
		l->cc_loc[i] = UINT32_MAX;
	struct stat st;
	bool is_mmdb = false;
	FILE *f = fopen(s->name, "re");
	if (!f) {
		int e = errno;
		geo_loader_diag(l, true, 0, "cannot open (%s)", strerror(e));
		geo_loader_fail(l, e == ENOENT ? GS_ENOENT : GS_EIO);
		goto out;
	}
	if (fstat(fileno(f), &st) != 0) {
		geo_loader_diag(l, true, 0, "cannot read (%s)",
				strerror(errno));
		geo_loader_fail(l, GS_EIO);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		geo_loader_diag(l, true, 0, "cannot read (is a directory)");
		geo_loader_fail(l, GS_EIO);
		goto out;
	}
	if (S_ISREG(st.st_mode) &&
	    has_mmdb_marker(f, st.st_size, &is_mmdb) != 0) {
		geo_loader_diag(l, true, 0, "cannot read (%s)",
				strerror(errno));
		geo_loader_fail(l, GS_EIO);
		goto out;
	}
	if (!is_mmdb) {
		parse_text(l, f);
		goto out;
	}
	fclose(f);
	f = NULL;
	s->is_binary = true;
	if (s->is_overrides) {
		geo_loader_diag(l, true, 0,
				"the overrides must be a text file, not a "
				"MaxMind DB");
		goto out;
	}
#ifdef HAVE_MAXMINDDB
	int ret = mmdb_load(l, s->name);
	if (ret != 0)
		geo_loader_fail(l, ret);
#else
	geo_loader_diag(l, true, 0,
			"MaxMind DB files need geosteerd built with "
			"libmaxminddb");
#endif
out:
	if (f)
		fclose(f);
}

/* --- painting --- */

static void heap_push(struct heap *h, const struct heap_ent *e)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->e = gs_xreallocarray(h->e, h->cap, sizeof(*h->e));
	}
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h->e[p].key <= e->key)
			break;
		h->e[i] = h->e[p];
		i = p;
	}
	h->e[i] = *e;
}

static void heap_pop(struct heap *h)
{
	struct heap_ent last = h->e[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->e[c + 1].key < h->e[c].key)
			c++;
		if (last.key <= h->e[c].key)
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	if (h->n)
		h->e[i] = last;
}

static void get4(const struct geo_loader *l, size_t i, struct span *s)
{
	const struct raw4 *r = &l->r4[i];
	s->lo = r->lo;
	s->hi = r->hi;
	s->loc = r->loc;
	s->src = r->src;
	s->line = r->line;
	s->spec = r->spec;
}

static void get6(const struct geo_loader *l, size_t i, struct span *s)
{
	const struct raw6 *r = &l->r6[i];
	memcpy(&s->lo, r->lo, 16);
	memcpy(&s->hi, r->hi, 16);
	s->loc = r->loc;
	s->src = r->src;
	s->line = r->line;
	s->spec = r->spec;
}

static int cmp4(const void *a, const void *b)
{
	const struct raw4 *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

static int cmp6(const void *a, const void *b)
{
	const struct raw6 *x = a, *y = b;
	geo_u128 p, q;
	memcpy(&p, x->lo, 16);
	memcpy(&q, y->lo, 16);
	return (p > q) - (p < q);
}

static void out4(struct geo_loader *l, geo_u128 lo, geo_u128 hi, uint32_t loc)
{
	struct geo_db *db = l->db;
	if (loc == 0)
		return;
	if (db->n4 && db->r4[db->n4 - 1].loc == loc &&
	    (geo_u128)db->r4[db->n4 - 1].hi + 1 == lo) {
		db->r4[db->n4 - 1].hi = (uint32_t)hi;
		return;
	}
	if (db->n4 == l->cap_out) {
		l->cap_out = l->cap_out + l->cap_out / 2 + 1024;
		db->r4 = gs_xreallocarray(db->r4, l->cap_out, sizeof(*db->r4));
	}
	db->r4[db->n4++] = (struct geo_range4){
	    .lo = (uint32_t)lo, .hi = (uint32_t)hi, .loc = loc};
}

static void out6(struct geo_loader *l, geo_u128 lo, geo_u128 hi, uint32_t loc)
{
	struct geo_db *db = l->db;
	if (loc == 0)
		return;
	if (db->n6 && db->r6[db->n6 - 1].loc == loc && l->last6_hi + 1 == lo) {
		store_be(db->r6[db->n6 - 1].hi, hi);
		l->last6_hi = hi;
		return;
	}
	if (db->n6 == l->cap_out) {
		l->cap_out = l->cap_out + l->cap_out / 2 + 1024;
		db->r6 = gs_xreallocarray(db->r6, l->cap_out, sizeof(*db->r6));
	}
	struct geo_range6 *r = &db->r6[db->n6++];
	store_be(r->lo, lo);
	store_be(r->hi, hi);
	r->loc = loc;
	l->last6_hi = hi;
}

/* Warns about a range overlapping an earlier-sorted one of its own file
 * (a database: in the overrides a narrower prefix inside a wider one is
 * the point). */
static void check_overlap(struct geo_loader *l, int fam, const struct span *s)
{
	struct src *src = &l->srcs[s->src];
	struct reach *r = &src->reach[fam == 6];
	if (src->is_overrides)
		return;
	if (r->any && s->lo <= r->hi) {
		unsigned first = r->line < s->line ? r->line : s->line;
		unsigned second = r->line < s->line ? s->line : r->line;
		l->cur = src;
		if (src->is_binary)
			geo_loader_diag(l, false, 0,
					"overlapping IPv%d ranges in the "
					"search tree (the first one wins)",
					fam);
		else
			geo_loader_diag(l, false, second,
					"range overlaps line %u (the first "
					"one wins)",
					first);
	}
	if (!r->any || s->hi > r->hi) {
		r->hi = s->hi;
		r->line = s->line;
		r->any = true;
	}
}

static void paint(struct geo_loader *l, int fam)
{
	void (*get)(const struct geo_loader *, size_t, struct span *) =
	    fam == 4 ? get4 : get6;
	void (*out)(struct geo_loader *, geo_u128, geo_u128, uint32_t) =
	    fam == 4 ? out4 : out6;
	size_t n = fam == 4 ? l->n4 : l->n6;
	geo_u128 max = fam == 4 ? UINT32_MAX : ~(geo_u128)0;
	struct heap h = {0};
	struct span next, prev;

	/* Files are usually sorted already; don't pay for qsort then. */
	for (size_t i = 1; i < n; i++) {
		get(l, i - 1, &prev);
		get(l, i, &next);
		if (next.lo < prev.lo) {
			if (fam == 4)
				qsort(l->r4, n, sizeof(*l->r4), cmp4);
			else
				qsort(l->r6, n, sizeof(*l->r6), cmp6);
			break;
		}
	}
	l->cap_out = n / 2 + 16;
	if (fam == 4)
		l->db->r4 =
		    gs_xreallocarray(NULL, l->cap_out, sizeof(*l->db->r4));
	else
		l->db->r6 =
		    gs_xreallocarray(NULL, l->cap_out, sizeof(*l->db->r6));

	size_t i = 0;
	geo_u128 pos = 0;
	if (n)
		get(l, 0, &next);
	while (i < n || h.n) {
		if (h.n == 0)
			pos = next.lo;
		while (i < n && next.lo <= pos) {
			check_overlap(l, fam, &next);
			struct heap_ent e = {
			    .hi = next.hi,
			    .key = (uint64_t)l->srcs[next.src].prio << 40 |
				   (uint64_t)next.spec << 32 | next.line,
			    .loc = next.loc};
			heap_push(&h, &e);
			if (++i < n)
				get(l, i, &next);
		}
		while (h.n && h.e[0].hi < pos)
			heap_pop(&h);
		if (h.n == 0)
			continue;
		/* The best range runs until it ends or another begins. */
		geo_u128 end = h.e[0].hi;
		if (i < n && next.lo - 1 < end)
			end = next.lo - 1;
		out(l, pos, end, h.e[0].loc);
		if (end == max)
			break;
		pos = end + 1;
	}
	free(h.e);

	if (fam == 4)
		l->db->r4 =
		    gs_xreallocarray(l->db->r4, l->db->n4, sizeof(*l->db->r4));
	else
		l->db->r6 =
		    gs_xreallocarray(l->db->r6, l->db->n6, sizeof(*l->db->r6));
}

/* --- the same prefix twice in the overrides --- */

struct dup_key {
	geo_u128 lo, hi;
	uint32_t line;
	int fam;
};

static int dup_cmp(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	if (x->fam != y->fam)
		return x->fam - y->fam;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* The overrides' ranges are r4[from4..] and r6[from6..] (its file is read
 * last). A range given twice is an error at the later line: with the
 * narrowest prefix winning, line order cannot settle it. */
static void check_duplicates(struct geo_loader *l, size_t from4, size_t from6)
{
	size_t n = (l->n4 - from4) + (l->n6 - from6), k = 0;
	if (n < 2)
		return;
	struct dup_key *v = gs_xcalloc(n, sizeof(*v));
	for (size_t i = from4; i < l->n4; i++)
		v[k++] = (struct dup_key){.lo = l->r4[i].lo,
					  .hi = l->r4[i].hi,
					  .line = l->r4[i].line,
					  .fam = 4};
	for (size_t i = from6; i < l->n6; i++) {
		struct dup_key *d = &v[k++];
		memcpy(&d->lo, l->r6[i].lo, 16);
		memcpy(&d->hi, l->r6[i].hi, 16);
		d->line = l->r6[i].line;
		d->fam = 6;
	}
	qsort(v, n, sizeof(*v), dup_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct dup_key *a = &v[i - 1], *b = &v[i];
		/* An IPv6 prefix over mapped space leaves pieces that are
		 * no prefix; equal pieces still come from equal lines. */
		if (a->fam != b->fam || a->lo != b->lo || a->hi != b->hi ||
		    a->line == b->line)
			continue;
		geo_loader_diag(l, true, b->line,
				"the same network as line %u (each network may "
				"be given once)",
				a->line);
	}
	free(v);
}

/* --- public --- */

int geo_db_load(const char *const *databases, size_t n_databases,
		const char *overrides, geo_diag_fn diag, void *arg,
		struct geo_db **out)
{
	struct geo_loader l = {.diag = diag, .arg = arg};
	struct geo_db *db = gs_xcalloc(1, sizeof(*db));
	int ret;

	l.db = db;
	for (size_t i = 0; i < N_CODES; i++)
		l.cc_loc[i] = UINT32_MAX;
	struct geo_loc none = {.kind = GEO_NONE};
	intern(&l, &none);

	size_t n = n_databases + (overrides != NULL);
	db->files = gs_xcalloc(n, sizeof(*db->files));
	l.srcs = gs_xcalloc(n, sizeof(*l.srcs));
	for (size_t i = 0; i < n; i++) {
		struct src *s = &l.srcs[i];
		bool ovr = i == n_databases;
		db->files[i] = gs_xstrdup(ovr ? overrides : databases[i]);
		s->name = db->files[i];
		s->prio = ovr ? 0 : (uint32_t)i + 1;
		s->is_overrides = ovr;
	}
	db->n_files = l.n_srcs = n;
	if (overrides)
		db->overrides = db->files[n_databases];

	for (size_t i = 0; i < n; i++) {
		size_t from4 = l.n4, from6 = l.n6;
		load_file(&l, &l.srcs[i]);
		if (l.srcs[i].is_overrides)
			check_duplicates(&l, from4, from6);
	}
	if (l.rc == 0 && l.n_errors)
		l.rc = GS_ESYNTAX;
	if (l.rc == 0) {
		paint(&l, 4);
		free(l.r4);
		l.r4 = NULL;
		paint(&l, 6);
	}
	report_held_back(&l);
	ret = l.rc;
	if (ret != 0)
		goto out;
	db->locs = gs_xreallocarray(db->locs, db->n_locs, sizeof(*db->locs));
	*out = db;
	db = NULL;
out:
	free(l.r4);
	free(l.r6);
	free(l.slots);
	free(l.srcs);
	geo_db_free(db);
	return ret;
}

void geo_db_free(struct geo_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n_locs; i++)
		free(db->locs[i].region);
	for (size_t i = 0; i < db->n_files; i++)
		free(db->files[i]);
	free(db->files);
	free(db->locs);
	free(db->r4);
	free(db->r6);
	free(db);
}

const struct geo_range4 *geo_db_find4(const struct geo_db *db, uint32_t a)
{
	size_t lo = 0, hi = db->n4;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (db->r4[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || db->r4[lo - 1].hi < a)
		return NULL;
	return &db->r4[lo - 1];
}

const struct geo_range6 *geo_db_find6(const struct geo_db *db,
				      const uint8_t a[16])
{
	size_t lo = 0, hi = db->n6;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(db->r6[mid].lo, a, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || memcmp(db->r6[lo - 1].hi, a, 16) < 0)
		return NULL;
	return &db->r6[lo - 1];
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
	double a = s1 * s1 + cos(lat1 * rad) * cos(lat2 * rad) * s2 * s2;
	if (a > 1.0)
		a = 1.0;
	return 2.0 * EARTH_RADIUS_KM * asin(sqrt(a));
}

int geo_parse_latlon(const char *s, double *lat, double *lon)
{
	char *end;
	double v[2];
	for (int i = 0; i < 2; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		/* strtod would also take "inf", "nan" and hex; require a
		 * plain decimal. */
		const char *p = s + (*s == '-' || *s == '+');
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return GS_EINVAL;
		errno = 0;
		v[i] = strtod(s, &end);
		if (end == s || errno == ERANGE || !isfinite(v[i]))
			return GS_EINVAL;
		for (const char *q = p; q < end; q++)
			if (*q == 'x' || *q == 'X')
				return GS_EINVAL;
		s = end;
		while (*s == ' ' || *s == '\t')
			s++;
		if (i == 0 && *s++ != ',')
			return GS_EINVAL;
	}
	if (*s != '\0' || v[0] < -90.0 || v[0] > 90.0 || v[1] < -180.0 ||
	    v[1] > 180.0)
		return GS_EINVAL;
	*lat = v[0];
	*lon = v[1];
	return 0;
}
