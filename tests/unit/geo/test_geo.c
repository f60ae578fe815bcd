/* geo: loading Tor/IPFire range files, CIDR tables, MaxMind DBs and
 * overrides; priorities, merging, lookups at the edges, every class of
 * malformed line, the country table, distances and lat,lon parsing.
 * Fixtures: tests/unit/data/geo (make-mmdb.pl writes the .mmdb files). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errcode.h"
#include "geo/geo.h"
#include "geo/geo_int.h"

#define DATA GS_TEST_DATA "/geo/"

/* --- helpers --- */

#define MAX_MSGS 256

struct diags {
	size_t n, n_err, n_warn;
	char *msg[MAX_MSGS]; /* "E basename:line: text" or "W ..." */
};

static struct diags dg;

static void diags_reset(void)
{
	for (size_t i = 0; i < dg.n; i++)
		free(dg.msg[i]);
	memset(&dg, 0, sizeof(dg));
}

static void collect(void *arg, bool is_error, const char *file, unsigned line,
		    const char *msg)
{
	struct diags *d = arg;
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	if (is_error)
		d->n_err++;
	else
		d->n_warn++;
	if (d->n == MAX_MSGS)
		return;
	size_t len = strlen(base) + strlen(msg) + 32;
	char *s = malloc(len);
	snprintf(s, len, "%c %s:%u: %s", is_error ? 'E' : 'W', base, line, msg);
	d->msg[d->n++] = s;
}

static bool has_msg(const char *want)
{
	for (size_t i = 0; i < dg.n; i++)
		if (strcmp(dg.msg[i], want) == 0)
			return true;
	print_message("missing diagnostic: %s\n", want);
	for (size_t i = 0; i < dg.n; i++)
		print_message("  have: %s\n", dg.msg[i]);
	return false;
}

/* Loads fixtures by name (NULL-terminated), with optional overrides. */
static int load(struct geo_db **db, const char *ovr, ...)
{
	const char *paths[8];
	char *owned[9];
	size_t n = 0;
	va_list ap;
	va_start(ap, ovr);
	for (const char *f; (f = va_arg(ap, const char *)) != NULL;) {
		owned[n] = malloc(strlen(DATA) + strlen(f) + 1);
		strcpy(owned[n], DATA);
		strcat(owned[n], f);
		paths[n] = owned[n];
		n++;
	}
	va_end(ap);
	char *o = NULL;
	if (ovr) {
		o = malloc(strlen(DATA) + strlen(ovr) + 1);
		strcpy(o, DATA);
		strcat(o, ovr);
	}
	diags_reset();
	*db = NULL;
	int ret = geo_db_load(paths, n, o, collect, &dg, db);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(o);
	return ret;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static const struct geo_loc *find4(const struct geo_db *db, const char *s)
{
	const struct geo_range4 *r = geo_db_find4(db, ip4(s));
	return r ? &db->locs[r->loc] : NULL;
}

static const struct geo_loc *find6(const struct geo_db *db, const char *s)
{
	uint8_t a[16];
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	const struct geo_range6 *r = geo_db_find6(db, a);
	return r ? &db->locs[r->loc] : NULL;
}

/* The country code at an address, "-" if unknown, "@region" for regions,
 * "lat,lon" for bare coordinates. */
static const char *where(const struct geo_loc *l)
{
	static char buf[64];
	if (!l)
		return "-";
	assert_int_not_equal(l->kind, GEO_NONE);
	if (l->kind == GEO_REGION) {
		snprintf(buf, sizeof(buf), "@%s", l->region);
		return buf;
	}
	if (l->cc[0])
		return l->cc;
	snprintf(buf, sizeof(buf), "%.3f,%.3f", l->lat, l->lon);
	return buf;
}

#define AT4(db, a) where(find4(db, a))
#define AT6(db, a) where(find6(db, a))

static char *write_tmp(const void *data, size_t len)
{
	char *path = strdup("/tmp/test_geo.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void check_sorted(const struct geo_db *db)
{
	for (size_t i = 0; i < db->n4; i++) {
		assert_true(db->r4[i].lo <= db->r4[i].hi);
		assert_true(db->r4[i].loc > 0 && db->r4[i].loc < db->n_locs);
		if (i)
			assert_true(db->r4[i - 1].hi < db->r4[i].lo);
	}
	for (size_t i = 0; i < db->n6; i++) {
		assert_true(memcmp(db->r6[i].lo, db->r6[i].hi, 16) <= 0);
		assert_true(db->r6[i].loc > 0 && db->r6[i].loc < db->n_locs);
		if (i)
			assert_true(memcmp(db->r6[i - 1].hi, db->r6[i].lo, 16) <
				    0);
	}
	assert_int_equal(db->locs[0].kind, GEO_NONE);
}

static int teardown(void **state)
{
	(void)state;
	diags_reset();
	return 0;
}

/* --- range files --- */

static void test_tor4(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "tor4.txt", NULL), 0);
	assert_int_equal(dg.n, 0);
	check_sorted(db);
	assert_int_equal(db->n_read, 7);
	assert_int_equal(db->n4, 5); /* 0-511 merged, ?? dropped */
	assert_int_equal(db->n6, 0);
	assert_int_equal(db->r4[0].lo, 0);
	assert_int_equal(db->r4[0].hi, 511);
	assert_int_equal(db->n_files, 1);
	assert_non_null(strstr(db->files[0], "tor4.txt"));

	assert_string_equal(AT4(db, "0.0.0.0"), "US");
	assert_string_equal(AT4(db, "0.0.1.255"), "US");
	assert_string_equal(AT4(db, "0.0.2.0"), "-");
	assert_string_equal(AT4(db, "0.0.2.255"), "-");
	assert_string_equal(AT4(db, "0.0.3.0"), "DE");
	assert_string_equal(AT4(db, "0.0.3.255"), "DE");
	assert_string_equal(AT4(db, "0.0.4.0"), "-");
	assert_string_equal(AT4(db, "0.255.255.255"), "-");
	assert_string_equal(AT4(db, "1.0.0.0"), "AU");
	assert_string_equal(AT4(db, "1.0.0.255"), "AU");
	assert_string_equal(AT4(db, "1.0.1.0"), "CN");
	assert_string_equal(AT4(db, "1.0.3.255"), "CN");
	assert_string_equal(AT4(db, "1.0.4.0"), "-");
	assert_string_equal(AT4(db, "255.255.254.255"), "-");
	assert_string_equal(AT4(db, "255.255.255.0"), "JP");
	assert_string_equal(AT4(db, "255.255.255.255"), "JP");

	const struct geo_loc *au = find4(db, "1.0.0.1");
	double lat, lon;
	assert_true(geo_country_find("AU", &lat, &lon));
	assert_int_equal(au->kind, GEO_POINT);
	assert_true(au->lat == lat && au->lon == lon);
	/* Interned: the two US lines share one location. */
	assert_int_equal(geo_db_find4(db, 0)->loc, geo_db_find4(db, 300)->loc);
	geo_db_free(db);
}

static void test_tor6(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "tor6.txt", NULL), 0);
	assert_int_equal(dg.n, 0); /* ZZ is a quiet "unknown" */
	check_sorted(db);
	assert_int_equal(db->n_read, 7);
	assert_int_equal(db->n6, 4); /* AQ, US, JP (merged), NZ */
	assert_int_equal(db->n4, 1); /* the IPv4-mapped line */

	assert_string_equal(AT6(db, "::"), "AQ");
	assert_string_equal(AT6(db, "::ff"), "AQ");
	assert_string_equal(AT6(db, "::100"), "-");
	assert_string_equal(AT6(db, "2001:3:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "-");
	assert_string_equal(AT6(db, "2001:4::"), "US");
	assert_string_equal(AT6(db, "2001:4:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "US");
	assert_string_equal(AT6(db, "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "-");
	assert_string_equal(AT6(db, "2001:200::"), "JP");
	assert_string_equal(AT6(db, "2001:200:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "JP");
	assert_string_equal(AT6(db, "2001:201::"), "JP");
	assert_string_equal(AT6(db, "2001:201:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "JP");
	assert_string_equal(AT6(db, "2001:202::"), "-");
	assert_string_equal(AT6(db, "2001:db8::1"), "-");
	assert_string_equal(AT6(db, "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "-");
	assert_string_equal(AT6(db, "ffff::"), "NZ");
	assert_string_equal(AT6(db, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "NZ");

	/* IPv4-mapped data lives in the IPv4 table only. */
	assert_string_equal(AT4(db, "10.0.0.0"), "FR");
	assert_string_equal(AT4(db, "10.0.0.255"), "FR");
	assert_string_equal(AT4(db, "10.0.1.0"), "-");
	assert_string_equal(AT6(db, "::ffff:10.0.0.1"), "-");
	geo_db_free(db);
}

static void test_tor_both(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "tor4.txt", "tor6.txt", NULL), 0);
	check_sorted(db);
	assert_int_equal(db->n_read, 14);
	assert_int_equal(db->n4, 6);
	assert_int_equal(db->n6, 4);
	assert_int_equal(db->n_files, 2);
	assert_string_equal(AT4(db, "10.0.0.7"), "FR");
	assert_string_equal(AT4(db, "0.0.0.0"), "US");
	geo_db_free(db);
}

/* --- CIDR tables and overrides --- */

static void test_cidr(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "cidr.txt", NULL), 0);
	assert_int_equal(dg.n, 0);
	check_sorted(db);
	assert_int_equal(db->n_read, 6);
	assert_string_equal(AT4(db, "192.0.1.255"), "-");
	assert_string_equal(AT4(db, "192.0.2.0"), "US");
	assert_string_equal(AT4(db, "192.0.2.255"), "US");
	assert_string_equal(AT4(db, "192.0.3.0"), "-");
	assert_string_equal(AT4(db, "198.51.100.0"), "51.500,-0.100");
	assert_string_equal(AT4(db, "198.51.100.127"), "51.500,-0.100");
	assert_string_equal(AT4(db, "198.51.100.128"), "48.900,2.400");
	assert_string_equal(AT4(db, "198.51.100.255"), "48.900,2.400");
	assert_string_equal(AT4(db, "203.0.113.0"), "JP");
	assert_string_equal(AT4(db, "203.0.113.255"), "JP");
	assert_string_equal(AT4(db, "203.0.114.0"), "-");
	assert_string_equal(AT4(db, "10.1.2.3"), "-");
	assert_string_equal(AT6(db, "2001:db8::"), "DE"); /* case folded */
	assert_string_equal(AT6(db, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "DE");
	assert_string_equal(AT6(db, "2001:db9::"), "-");
	const struct geo_loc *p = find4(db, "198.51.100.1");
	assert_int_equal(p->kind, GEO_POINT);
	assert_string_equal(p->cc, "");
	geo_db_free(db);
}

static void test_overrides(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(
	    load(&db, "overrides.txt", "tor4.txt", "cidr.txt", NULL), 0);
	assert_int_equal(dg.n, 0);
	check_sorted(db);
	assert_int_equal(db->n_files, 3);
	assert_non_null(strstr(db->files[2], "overrides.txt"));

	/* A region beats the database. */
	assert_string_equal(AT4(db, "192.0.2.127"), "US");
	assert_string_equal(AT4(db, "192.0.2.128"), "@eu-west");
	assert_string_equal(AT4(db, "192.0.2.255"), "@eu-west");
	const struct geo_loc *r = find4(db, "192.0.2.200");
	assert_int_equal(r->kind, GEO_REGION);
	assert_non_null(strstr(r->file, "overrides.txt"));
	assert_int_equal(r->line, 2);
	/* The same region later is the same location (first line kept). */
	assert_ptr_equal(find4(db, "198.51.100.200"), r);
	/* A country beats the database. */
	assert_string_equal(AT4(db, "1.0.0.0"), "FR");
	assert_string_equal(AT4(db, "1.0.0.255"), "FR");
	/* "??" in the overrides forces unknown; the rest stays. */
	assert_string_equal(AT4(db, "1.0.1.255"), "CN");
	assert_string_equal(AT4(db, "1.0.2.0"), "-");
	assert_string_equal(AT4(db, "1.0.2.255"), "-");
	assert_string_equal(AT4(db, "1.0.3.0"), "CN");
	/* Coordinates beat the database. */
	assert_string_equal(AT6(db, "2001:db8::ffff"), "DE");
	assert_string_equal(AT6(db, "2001:db8:1::"), "35.000,139.000");
	assert_string_equal(AT6(db, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"),
			    "35.000,139.000");
	assert_string_equal(AT6(db, "2001:db8:2::"), "DE");
	geo_db_free(db);
}

/* In the overrides the narrowest prefix wins, whatever the line order. */
static void test_overrides_most_specific(void **state)
{
	(void)state;
	const char *files[] = {"specific.txt", "specific-rev.txt"};
	for (size_t i = 0; i < 2; i++) {
		struct geo_db *db;
		assert_int_equal(load(&db, files[i], "tor4.txt", NULL), 0);
		assert_int_equal(dg.n, 0); /* nesting is no overlap warning */
		check_sorted(db);
		assert_string_equal(AT4(db, "10.0.0.1"), "@us-east");
		assert_string_equal(AT4(db, "10.255.255.255"), "@us-east");
		assert_string_equal(AT4(db, "10.1.0.0"), "@eu-west");
		assert_string_equal(AT4(db, "10.1.1.255"), "@eu-west");
		assert_string_equal(AT4(db, "10.1.2.0"), "@ap-south");
		assert_string_equal(AT4(db, "10.1.2.2"), "@ap-south");
		assert_string_equal(AT4(db, "10.1.2.3"), "JP");
		assert_string_equal(AT4(db, "10.1.2.4"), "@ap-south");
		assert_string_equal(AT4(db, "10.1.3.0"), "@eu-west");
		/* an IPv4-mapped prefix is an IPv4 /16 */
		assert_string_equal(AT4(db, "10.2.9.9"), "@ap-south");
		assert_string_equal(AT4(db, "10.3.0.0"), "@us-east");
		assert_string_equal(AT6(db, "2001:db8::1"), "@us-east");
		assert_string_equal(AT6(db, "2001:db8:1::1"), "@eu-west");
		assert_string_equal(AT6(db, "2001:db8:2::1"), "@us-east");
		geo_db_free(db);
	}
}

/* The same network twice and unknown country codes are errors with
 * their lines. */
static void test_overrides_dup_and_unknown(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, "dup-overrides.txt", "tor4.txt", NULL),
			 GS_ESYNTAX);
	assert_null(db);
	assert_true(has_msg("E dup-overrides.txt:4: the same network as line 2 "
			    "(each network may be given once)"));
	assert_true(has_msg("E dup-overrides.txt:6: the same network as line 5 "
			    "(each network may be given once)"));
	assert_true(has_msg("E dup-overrides.txt:8: the same network as line 7 "
			    "(each network may be given once)"));
	assert_true(has_msg("E dup-overrides.txt:7: unknown country code "
			    "\"XQ\" (\"??\" means an unknown location)"));
	assert_int_equal(dg.n_err, 4);
}

static void test_earlier_wins(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "first.txt", "cidr.txt", NULL), 0);
	assert_int_equal(dg.n, 0); /* not an overlap inside one file */
	assert_string_equal(AT4(db, "192.0.2.0"), "GB");
	assert_string_equal(AT4(db, "192.0.2.127"), "GB");
	assert_string_equal(AT4(db, "192.0.2.128"), "US");
	assert_int_equal(db->n_read, 7);
	geo_db_free(db);

	assert_int_equal(load(&db, NULL, "cidr.txt", "first.txt", NULL), 0);
	assert_string_equal(AT4(db, "192.0.2.0"), "US");
	assert_string_equal(AT4(db, "192.0.2.255"), "US");
	geo_db_free(db);
}

static void test_overlap_in_file(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "overlap.txt", NULL), 0);
	assert_int_equal(dg.n_err, 0);
	assert_int_equal(dg.n_warn, 2);
	assert_true(has_msg("W overlap.txt:2: range overlaps line 1 (the "
			    "first one wins)"));
	assert_true(has_msg("W overlap.txt:3: range overlaps line 2 (the "
			    "first one wins)"));
	check_sorted(db);
	assert_int_equal(db->n4, 2);
	assert_string_equal(AT4(db, "192.0.2.0"), "US");
	assert_string_equal(AT4(db, "192.0.2.64"), "US");
	assert_string_equal(AT4(db, "192.0.2.127"), "US");
	assert_string_equal(AT4(db, "192.0.2.128"), "GB");
	assert_string_equal(AT4(db, "192.0.2.255"), "GB");
	geo_db_free(db);
}

/* Many overlapping ranges from several files against a brute-force paint
 * of a small address space. */
static void test_paint_random(void **state)
{
	(void)state;
	enum { SPACE = 512, FILES = 3, LINES = 60 };
	static const char *codes[] = {"US", "GB", "FR", "DE", "JP", "??"};
	int want[SPACE], code_of[FILES][LINES];
	char *paths[FILES];
	srand(12345);
	for (int round = 0; round < 20; round++) {
		for (int a = 0; a < SPACE; a++)
			want[a] = -1;
		for (int f = 0; f < FILES; f++) {
			char buf[LINES * 32];
			size_t len = 0;
			for (int i = 0; i < LINES; i++) {
				int lo = rand() % SPACE;
				int hi = lo + rand() % 40;
				if (hi >= SPACE)
					hi = SPACE - 1;
				int c = rand() % 6;
				code_of[f][i] = c;
				len += (size_t)snprintf(
				    buf + len, sizeof(buf) - len, "%d,%d,%s\n",
				    lo, hi, codes[c]);
				/* Earlier file, then earlier line, wins;
				 * "??" in a database is no data at all. */
				for (int a = lo; a <= hi; a++)
					if (want[a] < 0 && c != 5)
						want[a] = f * 100 + i;
			}
			paths[f] = write_tmp(buf, len);
		}
		diags_reset();
		struct geo_db *db = NULL;
		assert_int_equal(geo_db_load((const char *const *)paths, FILES,
					     NULL, collect, &dg, &db),
				 0);
		assert_int_equal(dg.n_err, 0);
		check_sorted(db);
		for (int a = 0; a < SPACE + 2; a++) {
			const struct geo_range4 *r =
			    geo_db_find4(db, (uint32_t)a);
			if (a >= SPACE || want[a] < 0) {
				assert_null(r);
				continue;
			}
			assert_non_null(r);
			const struct geo_loc *l = &db->locs[r->loc];
			assert_int_equal(l->kind, GEO_POINT);
			assert_string_equal(
			    l->cc,
			    codes[code_of[want[a] / 100][want[a] % 100]]);
		}
		/* Adjacent ranges never share a location after merging. */
		for (size_t i = 1; i < db->n4; i++)
			assert_false(db->r4[i - 1].hi + 1 == db->r4[i].lo &&
				     db->r4[i - 1].loc == db->r4[i].loc);
		geo_db_free(db);
		for (int f = 0; f < FILES; f++) {
			unlink(paths[f]);
			free(paths[f]);
		}
	}
}

/* --- malformed input --- */

static void test_bad_range(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "bad-range.txt", NULL), GS_ESYNTAX);
	assert_null(db);
	assert_true(has_msg(
	    "E bad-range.txt:3: expected \"low,high,CC\" (got \"abc\")"));
	assert_true(has_msg("E bad-range.txt:4: low 20 > high 10"));
	assert_true(has_msg("E bad-range.txt:5: IPv4 number \"4294967296\" "
			    "out of range"));
	assert_true(
	    has_msg("E bad-range.txt:6: bad IPv6 address \"2001::zz\""));
	assert_true(has_msg("E bad-range.txt:7: bad IPv4 address \"1.2.3\""));
	assert_true(has_msg("E bad-range.txt:8: low \"1\" and high \"::1\" "
			    "are of different address families"));
	assert_true(has_msg("E bad-range.txt:9: bad country code \"USA\""));
	assert_true(has_msg("E bad-range.txt:10: bad address \"x\""));
	assert_true(has_msg("E bad-range.txt:11: expected \"low,high,CC\" "
			    "(got \"1,2,3,US\")"));
	assert_int_equal(dg.n_err, 9);
	assert_int_equal(dg.n_warn, 0);
}

static void test_bad_cidr(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "bad-cidr.txt", NULL), GS_ESYNTAX);
	assert_null(db);
	assert_true(has_msg("E bad-cidr.txt:2: host bits set in "
			    "\"192.0.2.1/24\" (the network is 192.0.2.0/24)"));
	assert_true(has_msg(
	    "E bad-cidr.txt:3: prefix length 33 out of range for IPv4"));
	assert_true(has_msg(
	    "E bad-cidr.txt:4: prefix length 129 out of range for IPv6"));
	assert_true(has_msg("E bad-cidr.txt:5: bad prefix length \"x\""));
	assert_true(
	    has_msg("E bad-cidr.txt:6: missing prefix length in \"10.0.0.0\""));
	assert_true(has_msg("E bad-cidr.txt:7: expected \"CIDR CC\" or "
			    "\"CIDR lat,lon\" (got \"10.0.0.0/8\")"));
	assert_true(has_msg("E bad-cidr.txt:8: bad coordinates \"91,0\" "
			    "(expected lat,lon within -90..90,-180..180)"));
	assert_true(has_msg("E bad-cidr.txt:9: bad location \"eu-west\" "
			    "(expected a country code or lat,lon)"));
	assert_true(
	    has_msg("E bad-cidr.txt:10: bad IPv4 address \"300.0.0.0\""));
	assert_true(
	    has_msg("E bad-cidr.txt:11: bad IPv6 address \"2001:db8::zz\""));
	assert_true(has_msg("E bad-cidr.txt:12: host bits set in "
			    "\"2001:db8::1/32\" (the network is "
			    "2001:db8::/32)"));
	assert_int_equal(dg.n_err, 11);
}

static void test_bad_overrides(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, "bad-overrides.txt", "tor4.txt", NULL),
			 GS_ESYNTAX);
	assert_null(db);
	assert_true(has_msg("E bad-overrides.txt:1: expected \"CIDR REGION\", "
			    "\"CIDR CC\" or \"CIDR lat,lon\" (got "
			    "\"192.0.2.0/24 eu west\")"));
	assert_true(has_msg("E bad-overrides.txt:2: bad coordinates \"1,2,3\" "
			    "(expected lat,lon within -90..90,-180..180)"));
	assert_true(has_msg("E bad-overrides.txt:3: expected \"CIDR REGION\", "
			    "\"CIDR CC\" or \"CIDR lat,lon\" (got "
			    "\"192.0.2.0/24\")"));
	assert_int_equal(dg.n_err, 3);
}

static void test_error_cap(void **state)
{
	(void)state;
	char buf[150 * 8];
	size_t len = 0;
	for (int i = 0; i < 150; i++)
		len +=
		    (size_t)snprintf(buf + len, sizeof(buf) - len, "x,y,Z\n");
	char *path = write_tmp(buf, len);
	const char *paths[] = {path};
	struct geo_db *db = NULL;
	diags_reset();
	assert_int_equal(geo_db_load(paths, 1, NULL, collect, &dg, &db),
			 GS_ESYNTAX);
	/* Three errors a line: 100 shown, then the count of the rest. */
	assert_int_equal(dg.n_err, 101);
	char want[256];
	const char *base = strrchr(path, '/') + 1;
	snprintf(want, sizeof(want), "E %s:0: 350 more errors not shown", base);
	assert_true(has_msg(want));
	snprintf(want, sizeof(want), "E %s:1: bad address \"x\"", base);
	assert_true(has_msg(want));
	unlink(path);
	free(path);
}

/* A line longer than the loader keeps is consumed and reported; the
 * lines around it still count. No line makes the loader allocate. */
static void test_long_line(void **state)
{
	(void)state;
	size_t big = 100000;
	char *buf = malloc(big + 64);
	size_t len = (size_t)sprintf(buf, "16777216,16777471,AU\n");
	memset(buf + len, '1', big);
	len += big;
	len += (size_t)sprintf(buf + len, "\n16777472,16778239,CN\n");
	char *path = write_tmp(buf, len);
	free(buf);
	const char *paths[] = {path};
	struct geo_db *db = NULL;
	diags_reset();
	assert_int_equal(geo_db_load(paths, 1, NULL, collect, &dg, &db),
			 GS_ESYNTAX);
	char want[256];
	snprintf(want, sizeof(want), "E %s:2: line longer than 1023 bytes",
		 strrchr(path, '/') + 1);
	assert_true(has_msg(want));
	assert_int_equal(dg.n_err, 1);
	unlink(path);
	free(path);
}

static void test_unknown_code(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "unknown.txt", NULL), 0);
	assert_int_equal(dg.n_err, 0);
	assert_int_equal(dg.n_warn, 2); /* once per code; UN is quiet */
	assert_true(has_msg("W unknown.txt:1: unknown country code \"XQ\""));
	assert_true(has_msg("W unknown.txt:3: unknown country code \"XR\""));
	assert_int_equal(db->n_read, 4);
	assert_int_equal(db->n4, 0);
	assert_string_equal(AT4(db, "192.0.2.1"), "-");
	geo_db_free(db);

	/* Once per file: the same code in a second file warns again. */
	assert_int_equal(load(&db, NULL, "unknown.txt", "unknown.txt", NULL),
			 0);
	assert_int_equal(dg.n_warn, 4);
	geo_db_free(db);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "tor4.txt", "no-such-file", NULL),
			 GS_ENOENT);
	assert_null(db);
	assert_true(has_msg("E no-such-file:0: cannot open (No such file or "
			    "directory)"));
	assert_int_equal(dg.n_err, 1);

	assert_int_equal(load(&db, "no-such-overrides", "tor4.txt", NULL),
			 GS_ENOENT);
	assert_int_equal(load(&db, NULL, ".", NULL), GS_EIO);
	assert_true(has_msg("E .:0: cannot read (is a directory)"));
}

static void test_empty_and_no_diag(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "empty.txt", NULL), 0);
	assert_true(has_msg("W empty.txt:0: no address ranges"));
	assert_int_equal(db->n4 + db->n6, 0);
	assert_null(geo_db_find4(db, 0));
	uint8_t zero[16] = {0};
	assert_null(geo_db_find6(db, zero));
	geo_db_free(db);
	geo_db_free(NULL);

	/* Without a diag callback problems go to the log. */
	const char *paths[] = {DATA "bad-range.txt"};
	db = NULL;
	assert_int_equal(geo_db_load(paths, 1, NULL, NULL, NULL, &db),
			 GS_ESYNTAX);
	assert_null(db);
	assert_int_equal(geo_db_load(NULL, 0, NULL, NULL, NULL, &db), 0);
	assert_int_equal(db->n_locs, 1);
	assert_int_equal(db->n_read, 0);
	geo_db_free(db);
}

/* A file carrying the MaxMind metadata marker is read as a MaxMind DB,
 * whatever its name. */
static void test_mmdb_marker(void **state)
{
	(void)state;
	char buf[64] = "1,2,US\n";
	memcpy(buf + 20, GEO_MMDB_MARKER, GEO_MMDB_MARKER_LEN);
	char *path = write_tmp(buf, sizeof(buf));
	const char *paths[] = {path};
	struct geo_db *db = NULL;
	diags_reset();
	assert_int_equal(geo_db_load(paths, 1, NULL, collect, &dg, &db),
			 GS_ESYNTAX);
	assert_int_equal(dg.n_err, 1);
	char want[256];
#ifdef HAVE_MAXMINDDB
	/* libmaxminddb's own words follow in the parentheses. */
	snprintf(want, sizeof(want), "E %s:0: bad MaxMind DB (",
		 strrchr(path, '/') + 1);
	if (strncmp(dg.msg[0], want, strlen(want)) != 0)
		fail_msg("got %s", dg.msg[0]);
#else
	snprintf(want, sizeof(want),
		 "E %s:0: MaxMind DB files need geosteerd built with "
		 "libmaxminddb",
		 strrchr(path, '/') + 1);
	assert_true(has_msg(want));
#endif
	/* Never as the overrides. */
	assert_int_equal(geo_db_load(NULL, 0, path, collect, &dg, &db),
			 GS_ESYNTAX);
	unlink(path);
	free(path);
}

#ifdef HAVE_MAXMINDDB
static void test_mmdb(void **state)
{
	(void)state;
	struct geo_db *db;
	assert_int_equal(load(&db, NULL, "city6.mmdb", "country4.mmdb", NULL),
			 0);
	assert_int_equal(dg.n_err, 0);
	assert_int_equal(dg.n_warn, 1);
	assert_true(has_msg("W city6.mmdb:0: unknown country code \"XQ\""));
	check_sorted(db);
	/* 8 records + 3: the ::ffff:0:0/96 and 2002::/16 aliases of the
	 * IPv4 subtree were not read twice. */
	assert_int_equal(db->n_read, 11);
	assert_int_equal(db->n4, 7);
	assert_int_equal(db->n6, 3);

	/* City layout: coordinates. */
	assert_string_equal(AT4(db, "10.0.255.255"), "-");
	assert_string_equal(AT4(db, "10.1.0.0"), "51.500,-0.125");
	assert_string_equal(AT4(db, "10.1.255.255"), "51.500,-0.125");
	assert_string_equal(AT4(db, "10.2.0.0"), "48.875,2.375");
	assert_string_equal(AT4(db, "10.2.0.255"), "48.875,2.375");
	assert_string_equal(AT4(db, "10.2.1.0"), "-");
	/* Country only, then registered country only. */
	assert_string_equal(AT4(db, "10.3.0.0"), "JP");
	assert_string_equal(AT4(db, "10.3.127.255"), "JP");
	assert_string_equal(AT4(db, "10.3.128.0"), "-");
	assert_string_equal(AT4(db, "10.4.0.0"), "BR");
	assert_string_equal(AT4(db, "10.4.0.1"), "-");
	assert_string_equal(AT4(db, "10.5.0.1"), "-"); /* XQ */
	assert_string_equal(AT6(db, "2001:db8:1::"), "51.500,-0.125");
	assert_string_equal(AT6(db, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"),
			    "51.500,-0.125");
	assert_string_equal(AT6(db, "2001:db8:2::"), "JP");
	assert_string_equal(AT6(db, "2001:db8:2:1::"), "-");
	assert_string_equal(AT6(db, "2a00::"), "48.875,2.375");
	assert_string_equal(AT6(db, "2a0f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			    "48.875,2.375");
	assert_string_equal(AT6(db, "2a10::"), "-");
	/* The aliases stay out of the IPv6 table. */
	assert_string_equal(AT6(db, "::ffff:10.1.0.1"), "-");
	assert_string_equal(AT6(db, "2002:a01::"), "-");
	assert_string_equal(AT6(db, "::a01:1"), "-");
	/* IPv4 tree, country layout. */
	assert_string_equal(AT4(db, "192.0.2.0"), "DE");
	assert_string_equal(AT4(db, "192.0.2.127"), "DE");
	assert_string_equal(AT4(db, "192.0.2.128"), "US");
	assert_string_equal(AT4(db, "192.0.2.255"), "US");
	assert_string_equal(AT4(db, "198.51.100.77"), "JP");
	/* Same country from both files: a location per file, so that
	 * explain can name the file that placed an address. */
	const struct geo_loc *l1 =
	    &db->locs[geo_db_find4(db, ip4("10.3.0.1"))->loc];
	const struct geo_loc *l2 =
	    &db->locs[geo_db_find4(db, ip4("198.51.100.1"))->loc];
	assert_ptr_not_equal(l1, l2);
	assert_string_equal(l1->cc, l2->cc);
	assert_string_equal(strrchr(l1->file, '/') + 1, "city6.mmdb");
	assert_string_equal(strrchr(l2->file, '/') + 1, "country4.mmdb");
	geo_db_free(db);

	/* Overrides beat a MaxMind DB, which beats a later text file. */
	assert_int_equal(
	    load(&db, "overrides.txt", "country4.mmdb", "cidr.txt", NULL), 0);
	assert_string_equal(AT4(db, "192.0.2.0"), "DE");
	assert_string_equal(AT4(db, "192.0.2.128"), "@eu-west");
	assert_string_equal(AT4(db, "198.51.100.1"), "@eu-west");
	assert_string_equal(AT4(db, "203.0.113.1"), "JP");
	geo_db_free(db);
}
#endif

/* The real Debian tor-geoipdb files, when installed. */
static void test_tor_real(void **state)
{
	(void)state;
	const char *paths[] = {"/usr/share/tor/geoip", "/usr/share/tor/geoip6"};
	if (access(paths[0], R_OK) != 0 || access(paths[1], R_OK) != 0)
		skip();
	struct geo_db *db = NULL;
	diags_reset();
	assert_int_equal(geo_db_load(paths, 2, NULL, collect, &dg, &db), 0);
	assert_int_equal(dg.n_err, 0);
	assert_int_equal(dg.n_warn, 0);
	check_sorted(db);
	assert_true(db->n_read > 100000);
	assert_true(db->n4 > 50000 && db->n6 > 10000);
	assert_string_equal(AT4(db, "127.0.0.1"), "-");
	geo_db_free(db);
}

/* --- country table --- */

static const char *const iso3166[] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT",
    "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI",
    "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY",
    "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM",
    "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
    "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL",
    "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
    "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN",
    "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS",
    "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW",
    "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
    "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
    "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF",
    "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

static void test_country_table(void **state)
{
	(void)state;
	double lat, lon;
	assert_int_equal(GS_ARRAY_SIZE(iso3166), 249);
	for (size_t i = 0; i < GS_ARRAY_SIZE(iso3166); i++) {
		if (!geo_country_find(iso3166[i], &lat, &lon))
			fail_msg("no coordinates for %s", iso3166[i]);
		assert_true(lat >= -90 && lat <= 90 && lon >= -180 &&
			    lon <= 180);
	}
	static const char *const extra[] = {"EU", "AP", "AN", "CS", "SU",
					    "UK", "AB", "OS", "XK"};
	for (size_t i = 0; i < GS_ARRAY_SIZE(extra); i++)
		assert_true(geo_country_find(extra[i], &lat, &lon));
	/* Sorted, unique, well-formed: bisection depends on it. */
	for (size_t i = 0; i < country_count(); i++) {
		const char *c = country_code(i);
		assert_int_equal(strlen(c), 2);
		if (i)
			assert_true(strcmp(country_code(i - 1), c) < 0);
	}

	assert_true(geo_country_find("EU", &lat, &lon));
	assert_true(fabs(lat - 50.0) < 0.01 && fabs(lon - 10.0) < 0.01);
	assert_true(geo_country_find("AP", &lat, &lon));
	assert_true(fabs(lat - 15.0) < 0.01 && fabs(lon - 105.0) < 0.01);
	double gl, gn;
	assert_true(geo_country_find("GB", &gl, &gn));
	assert_true(geo_country_find("uk", &lat, &lon));
	assert_true(lat == gl && lon == gn);
	assert_true(geo_country_find("gb", &lat, &lon));
	assert_true(geo_country_find("Gb", &lat, &lon));

	lat = lon = 1234;
	assert_false(geo_country_find("??", &lat, &lon));
	assert_false(geo_country_find("ZZ", &lat, &lon));
	assert_false(geo_country_find("UN", &lat, &lon));
	assert_false(geo_country_find("XQ", &lat, &lon));
	assert_false(geo_country_find("", &lat, &lon));
	assert_false(geo_country_find("G", &lat, &lon));
	assert_false(geo_country_find("GBR", &lat, &lon));
	assert_false(geo_country_find("G1", &lat, &lon));
	assert_true(lat == 1234 && lon == 1234);

	/* A few sanity points. */
	assert_true(geo_country_find("AU", &lat, &lon));
	assert_true(lat < -10 && lon > 110);
	assert_true(geo_country_find("BR", &lat, &lon));
	assert_true(lat < 0 && lon < -30);
	assert_true(geo_country_find("JP", &lat, &lon));
	assert_true(lat > 30 && lon > 130);
}

/* Every code in the installed tor-geoipdb resolves, except the unknowns. */
static void test_country_tor_codes(void **state)
{
	(void)state;
	static const char *const files[] = {"/usr/share/tor/geoip",
					    "/usr/share/tor/geoip6"};
	bool seen = false;
	size_t n_codes = 0;
	char done[36 * 36 + 1] = {0};
	for (size_t f = 0; f < GS_ARRAY_SIZE(files); f++) {
		FILE *fp = fopen(files[f], "r");
		if (!fp)
			continue;
		seen = true;
		char line[256];
		while (fgets(line, sizeof(line), fp)) {
			if (line[0] == '#' || line[0] == '\n')
				continue;
			char *cc = strrchr(line, ',');
			assert_non_null(cc);
			cc++;
			cc[strcspn(cc, "\r\n")] = '\0';
			double lat, lon;
			bool unknown = strcmp(cc, "??") == 0 ||
				       strcmp(cc, "ZZ") == 0 ||
				       strcmp(cc, "UN") == 0;
			bool found = geo_country_find(cc, &lat, &lon);
			if (found == unknown)
				fail_msg("%s: code \"%s\" %s", files[f], cc,
					 found ? "resolves" : "is missing");
			if (strlen(cc) == 2 && cc[0] >= 'A' && cc[0] <= 'Z' &&
			    cc[1] >= 'A' && cc[1] <= 'Z') {
				int idx = (cc[0] - 'A') * 26 + (cc[1] - 'A');
				n_codes += !done[idx];
				done[idx] = 1;
			}
		}
		fclose(fp);
	}
	if (!seen)
		skip();
	assert_true(n_codes > 200);
}

/* --- distances and coordinates --- */

static void test_distance(void **state)
{
	(void)state;
	double d = geo_distance_km(40.7128, -74.0060, 51.5074, -0.1278);
	assert_true(fabs(d - 5570) < 30);
	assert_true(fabs(geo_distance_km(51.5074, -0.1278, 40.7128, -74.0060) -
			 d) < 1e-9);
	assert_true(geo_distance_km(10, 20, 10, 20) == 0.0);
	/* Antipodes: half the circumference. */
	assert_true(fabs(geo_distance_km(0, 0, 0, 180) - M_PI * 6371.0) < 1e-6);
	assert_true(fabs(geo_distance_km(90, 0, -90, 0) - M_PI * 6371.0) <
		    1e-6);
	/* One degree of latitude is about 111.2 km. */
	assert_true(fabs(geo_distance_km(0, 0, 1, 0) - 111.19) < 0.05);
	/* Across the antimeridian. */
	assert_true(geo_distance_km(0, 179.5, 0, -179.5) < 112);
	/* Tokyo - Sydney, about 7800 km. */
	d = geo_distance_km(35.6762, 139.6503, -33.8688, 151.2093);
	assert_true(fabs(d - 7800) < 50);
}

static void test_parse_latlon(void **state)
{
	(void)state;
	double lat = 0, lon = 0;
	assert_int_equal(geo_parse_latlon("51.5,-0.1", &lat, &lon), 0);
	assert_true(lat == 51.5 && lon == -0.1);
	assert_int_equal(geo_parse_latlon("  -33.9 ,\t151.2  ", &lat, &lon), 0);
	assert_true(lat == -33.9 && lon == 151.2);
	assert_int_equal(geo_parse_latlon("90,180", &lat, &lon), 0);
	assert_int_equal(geo_parse_latlon("-90,-180", &lat, &lon), 0);
	assert_int_equal(geo_parse_latlon("+1,.5", &lat, &lon), 0);
	assert_true(lat == 1 && lon == 0.5);
	assert_int_equal(geo_parse_latlon("1e1,2", &lat, &lon), 0);
	assert_true(lat == 10 && lon == 2);

	static const char *const bad[] = {
	    "",	       ",",	  "1",	     "1,",     ",1",	 "1,2,3",
	    "91,0",    "-90.1,0", "0,180.5", "0,-181", "abc",	 "1,x",
	    "1 2",     "1;2",	  "nan,0",   "0,inf",  "0x10,0", "1,2x",
	    "1e999,0", "-,1",	  "1,,2",    "1 ,2 ,",
	};
	for (size_t i = 0; i < GS_ARRAY_SIZE(bad); i++) {
		lat = lon = 1234;
		if (geo_parse_latlon(bad[i], &lat, &lon) != GS_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(lat == 1234 && lon == 1234);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_tor4, teardown),
	    cmocka_unit_test_teardown(test_tor6, teardown),
	    cmocka_unit_test_teardown(test_tor_both, teardown),
	    cmocka_unit_test_teardown(test_cidr, teardown),
	    cmocka_unit_test_teardown(test_overrides, teardown),
	    cmocka_unit_test_teardown(test_overrides_most_specific, teardown),
	    cmocka_unit_test_teardown(test_overrides_dup_and_unknown, teardown),
	    cmocka_unit_test_teardown(test_earlier_wins, teardown),
	    cmocka_unit_test_teardown(test_overlap_in_file, teardown),
	    cmocka_unit_test_teardown(test_paint_random, teardown),
	    cmocka_unit_test_teardown(test_bad_range, teardown),
	    cmocka_unit_test_teardown(test_bad_cidr, teardown),
	    cmocka_unit_test_teardown(test_bad_overrides, teardown),
	    cmocka_unit_test_teardown(test_error_cap, teardown),
	    cmocka_unit_test_teardown(test_long_line, teardown),
	    cmocka_unit_test_teardown(test_unknown_code, teardown),
	    cmocka_unit_test_teardown(test_missing_file, teardown),
	    cmocka_unit_test_teardown(test_empty_and_no_diag, teardown),
	    cmocka_unit_test_teardown(test_mmdb_marker, teardown),
#ifdef HAVE_MAXMINDDB
	    cmocka_unit_test_teardown(test_mmdb, teardown),
#endif
	    cmocka_unit_test_teardown(test_tor_real, teardown),
	    cmocka_unit_test(test_country_table),
	    cmocka_unit_test(test_country_tor_codes),
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_parse_latlon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
