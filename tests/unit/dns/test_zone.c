/* test_zone.c: dns/zone.c on the fixture zones in tests/unit/data/zones and
 * on the demo zone zones/example.org.zone. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/errcode.h"
#include "dns/wire.h"
#include "dns/zone.h"

#define ZDIR GS_TEST_DATA "/zones/"

/* ---- helpers ------------------------------------------------------- */

struct diag {
	bool is_error;
	unsigned line;
	char file[512];
	char msg[512];
};

struct diags {
	size_t n;
	struct diag d[64];
};

static void collect(void *arg, bool is_error, const char *file, unsigned line,
		    const char *msg)
{
	struct diags *ds = arg;
	assert_non_null(file);
	assert_non_null(msg);
	assert_true(ds->n < 64);
	struct diag *d = &ds->d[ds->n++];
	d->is_error = is_error;
	d->line = line;
	snprintf(d->file, sizeof(d->file), "%s", file);
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Asserts diagnostic i: severity, file (a suffix of the path), line and a
 * part of the message. */
static void expect(const struct diags *ds, size_t i, bool is_error,
		   const char *file, unsigned line, const char *part)
{
	assert_true(i < ds->n);
	const struct diag *d = &ds->d[i];
	if (d->is_error != is_error || !ends_with(d->file, file) ||
	    d->line != line || !strstr(d->msg, part))
		fail_msg("diag %zu: got %s %s:%u: %s; want %s %s:%u: ...%s...",
			 i, d->is_error ? "error" : "warning", d->file, d->line,
			 d->msg, is_error ? "error" : "warning", file, line,
			 part);
}

/* Presentation name (no escapes) to lowercase-as-given wire form. */
static size_t wname(const char *s, uint8_t *out)
{
	size_t n = 0;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	out[n++] = 0;
	return n;
}

static const struct zone_node *find(const struct zone *z, const char *name)
{
	uint8_t w[256];
	size_t n = wname(name, w);
	return zone_find(z, w, n);
}

static const struct zone_rrset *rrset(const struct zone *z, const char *name,
				      uint16_t type)
{
	const struct zone_node *n = find(z, name);
	if (!n)
		fail_msg("node %s missing", name);
	const struct zone_rrset *rs = zone_node_rrset(n, type);
	if (!rs)
		fail_msg("%s type %u missing", name, (unsigned)type);
	return rs;
}

static void assert_rdata(const struct zone_rrset *rs, const void *exp,
			 size_t len)
{
	assert_int_equal(rs->rdata_len, len);
	assert_memory_equal(rs->rdata, exp, len);
}

static struct zone *load_ok(const char *origin, const char *path)
{
	struct diags ds = {0};
	struct zone *z = NULL;
	int ret = zone_load(origin, path, collect, &ds, &z);
	for (size_t i = 0; i < ds.n; i++)
		print_error("%s:%u: %s\n", ds.d[i].file, ds.d[i].line,
			    ds.d[i].msg);
	assert_int_equal(ret, 0);
	assert_int_equal(ds.n, 0);
	assert_non_null(z);
	return z;
}

/* Reference canonical order (RFC 4034 6.1) on wire names. */
static int ref_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128], *lb[128];
	size_t na = 0, nb = 0;
	for (const uint8_t *p = a; *p; p += 1 + *p)
		la[na++] = p;
	for (const uint8_t *p = b; *p; p += 1 + *p)
		lb[nb++] = p;
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		size_t m = x[0] < y[0] ? x[0] : y[0];
		int c = memcmp(x + 1, y + 1, m);
		if (c)
			return c;
		if (x[0] != y[0])
			return x[0] < y[0] ? -1 : 1;
	}
	return na == nb ? 0 : (na < nb ? -1 : 1);
}

/* ---- the good zone ------------------------------------------------- */

static int ok_setup(void **state)
{
	*state = load_ok("example.com", ZDIR "ok.zone");
	return 0;
}

static int ok_teardown(void **state)
{
	zone_free(*state);
	return 0;
}

static void test_ok_header(void **state)
{
	const struct zone *z = *state;
	assert_string_equal(z->origin_str, "example.com.");
	assert_true(ends_with(z->file, "/zones/ok.zone"));
	assert_int_equal(z->origin_len, 13);
	assert_memory_equal(z->origin, "\7example\3com", 13);
	assert_int_equal(z->origin_labels, 2);
	assert_int_equal(z->serial, 2024010101u);
	assert_int_equal(z->neg_ttl, 300); /* min(3600, 300) */
	assert_non_null(z->apex);
	assert_ptr_equal(z->apex, find(z, "example.com"));
	assert_true(z->apex->flags & ZONE_NODE_APEX);
	assert_ptr_equal(z->soa, zone_node_rrset(z->apex, DNS_T_SOA));
	assert_int_equal(z->soa->count, 1);
	assert_int_equal(z->soa->ttl, 3600);
}

static void test_ok_every_type(void **state)
{
	const struct zone *z = *state;
	static const struct {
		const char *name;
		uint16_t type;
		uint16_t count;
	} want[] = {
	    {"example.com", DNS_T_NS, 2},
	    {"example.com", DNS_T_MX, 2},
	    {"example.com", DNS_T_TXT, 1},
	    {"example.com", DNS_T_CAA, 1},
	    {"ns1.example.com", DNS_T_A, 1},
	    {"ns1.example.com", DNS_T_AAAA, 1},
	    {"www.example.com", DNS_T_A, 2}, /* a duplicate dropped */
	    {"www.example.com", DNS_T_HTTPS, 1},
	    {"ftp.example.com", DNS_T_CNAME, 1},
	    {"old.example.com", DNS_T_DNAME, 1},
	    {"_sip._tcp.example.com", DNS_T_SRV, 1},
	    {"sip.example.com", DNS_T_NAPTR, 1},
	    {"sub.example.com", DNS_T_NS, 1},
	    {"_443._tcp.www.example.com", DNS_T_TLSA, 1},
	    {"bastion.example.com", DNS_T_SSHFP, 1},
	    {"_http._tcp.example.com", DNS_T_PTR, 1},
	    {"_dns.ns1.example.com", DNS_T_SVCB, 1},
	    {"unk.example.com", 65534, 2},
	    {"known.example.com", DNS_T_A, 1},
	    {"x.rel.example.com", DNS_T_A, 1},	  /* relative $ORIGIN */
	    {"included.example.com", DNS_T_A, 1}, /* $INCLUDE origin */
	    {"deep.included.example.com", DNS_T_TXT, 1},
	    {"after.example.com", DNS_T_A, 1},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct zone_rrset *rs =
		    rrset(z, want[i].name, want[i].type);
		assert_int_equal(rs->type, want[i].type);
		if (rs->count != want[i].count)
			fail_msg("%s/%u: %u records", want[i].name,
				 (unsigned)want[i].type, rs->count);
	}
}

static void test_ok_rdata(void **state)
{
	const struct zone *z = *state;

	static const uint8_t a[] = {0, 4, 192, 0, 2, 80, 0, 4, 192, 0, 2, 81};
	assert_rdata(rrset(z, "www.example.com", DNS_T_A), a, sizeof(a));

	/* names in RDATA: uncompressed, case as written */
	static const uint8_t mx[] = {
	    0,	 20,  0,   10,	4,   'm', 'a', 'i', 'l', 7,   'e',
	    'x', 'a', 'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0,
	    0,	 20,  0,   20,	4,   'M', 'a', 'i', 'l', 7,   'E',
	    'x', 'a', 'm', 'p', 'l', 'e', 3,   'C', 'O', 'M', 0,
	};
	assert_rdata(rrset(z, "example.com", DNS_T_MX), mx, sizeof(mx));

	static const uint8_t txt[] = "\x00\x20"
				     "\x0ev=spf1 mx -all"
				     "\x10second; (string)";
	assert_rdata(rrset(z, "example.com", DNS_T_TXT), txt, sizeof(txt) - 1);

	/* RFC 3597: "\# 3 010203" and "\# 0" */
	static const uint8_t unk[] = {0, 3, 1, 2, 3, 0, 0};
	assert_rdata(rrset(z, "unk.example.com", 65534), unk, sizeof(unk));

	/* RFC 3597 form of a known type is the same record */
	static const uint8_t known[] = {0, 4, 192, 0, 2, 9};
	assert_rdata(rrset(z, "known.example.com", DNS_T_A), known,
		     sizeof(known));

	static const uint8_t caa[] = "\x00\x16\x00\x05issueletsencrypt.org";
	assert_rdata(rrset(z, "example.com", DNS_T_CAA), caa, sizeof(caa) - 1);

	static const uint8_t srv[] = "\x00\x17\x00\x0a\x00\x05\x13\xc4"
				     "\3sip\7example\3com";
	assert_rdata(rrset(z, "_sip._tcp.example.com", DNS_T_SRV), srv,
		     sizeof(srv));

	/* SOA: RDLENGTH, names, then serial..minimum */
	const struct zone_rrset *soa = z->soa;
	size_t len = (size_t)soa->rdata[0] << 8 | soa->rdata[1];
	assert_int_equal(soa->rdata_len, len + 2);
	static const uint8_t tail[] = {0x78, 0xa3, 0xf1, 0x75, 0,    0,	  0x1c,
				       0x20, 0,	   0,	 3,    0x84, 0,	  0x12,
				       0x75, 0,	   0,	 0,    1,    0x2c};
	assert_memory_equal(soa->rdata + soa->rdata_len - 20, tail, 20);
}

static void test_ok_ttls(void **state)
{
	const struct zone *z = *state;
	assert_int_equal(rrset(z, "example.com", DNS_T_NS)->ttl, 3600);
	assert_int_equal(rrset(z, "example.com", DNS_T_MX)->ttl, 600);
	/* "300 IN" and "IN 300" both work */
	assert_int_equal(rrset(z, "www.example.com", DNS_T_A)->ttl, 300);
	assert_int_equal(rrset(z, "a.b.c.example.com", DNS_T_A)->ttl, 5400);
	/* the include's $TTL applies to it, not to the file after it */
	assert_int_equal(rrset(z, "included.example.com", DNS_T_A)->ttl, 120);
	assert_int_equal(rrset(z, "after.example.com", DNS_T_A)->ttl, 3600);
}

static void test_ok_order_and_names(void **state)
{
	const struct zone *z = *state;
	assert_true(z->n_nodes > 20);
	for (size_t i = 0; i < z->n_nodes; i++) {
		const struct zone_node *n = &z->nodes[i];
		/* lowercase wire with the right length and label count */
		size_t len = 0;
		unsigned labels = 0;
		while (n->name[len]) {
			for (unsigned k = 1; k <= n->name[len]; k++)
				assert_false(n->name[len + k] >= 'A' &&
					     n->name[len + k] <= 'Z');
			len += 1u + n->name[len];
			labels++;
		}
		assert_int_equal(n->name_len, len + 1);
		assert_int_equal(n->labels, labels);
		if (i > 0)
			assert_true(ref_cmp(z->nodes[i - 1].name, n->name) < 0);
		for (size_t k = 1; k < n->n_rrsets; k++)
			assert_true(n->rrsets[k - 1].type < n->rrsets[k].type);
		assert_ptr_equal(zone_find(z, n->name, n->name_len), n);
	}
	/* the first nodes, in canonical order */
	assert_memory_equal(z->nodes[0].name, "\7example\3com", 13);
	assert_memory_equal(z->nodes[1].name, "\4_tcp\7example\3com", 18);
	assert_memory_equal(z->nodes[2].name, "\5_http\4_tcp\7example\3com",
			    24);
}

static void test_ok_ent(void **state)
{
	const struct zone *z = *state;
	static const char *const ents[] = {
	    "c.example.com",	"b.c.example.com",	"wild.example.com",
	    "_tcp.example.com", "_tcp.www.example.com", "rel.example.com",
	};
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		const struct zone_node *n = find(z, ents[i]);
		if (!n)
			fail_msg("no empty non-terminal %s", ents[i]);
		assert_int_equal(n->flags, ZONE_NODE_ENT);
		assert_int_equal(n->n_rrsets, 0);
	}
	assert_int_equal(find(z, "a.b.c.example.com")->flags, 0);
	assert_null(find(z, "d.c.example.com"));
}

static void test_ok_flags(void **state)
{
	const struct zone *z = *state;
	assert_int_equal(find(z, "example.com")->flags, ZONE_NODE_APEX);
	assert_int_equal(find(z, "sub.example.com")->flags, ZONE_NODE_DELEG);
	assert_int_equal(find(z, "ns1.sub.example.com")->flags,
			 ZONE_NODE_OCCLUDED);
	assert_int_equal(find(z, "*.wild.example.com")->flags,
			 ZONE_NODE_WILDCARD);
	assert_int_equal(find(z, "ftp.example.com")->flags, ZONE_NODE_CNAME);
	assert_int_equal(find(z, "old.example.com")->flags, ZONE_NODE_DNAME);
	assert_int_equal(find(z, "www.example.com")->flags, 0);
}

static void test_ok_find(void **state)
{
	const struct zone *z = *state;
	uint8_t w[256];

	assert_non_null(find(z, "ns1.example.com"));
	assert_non_null(find(z, "_dns.ns1.example.com"));
	assert_null(find(z, "ns3.example.com"));
	assert_null(find(z, "example.net"));
	assert_null(find(z, "com"));
	assert_null(find(z, "zzz.example.com")); /* past the last node */
	assert_null(find(z, "a.example.com"));	 /* before "after" */
	/* lookups are lowercase wire: uppercase does not match */
	assert_null(find(z, "WWW.example.com"));
	/* the wildcard is a node of its own, not a match */
	assert_null(find(z, "x.wild.example.com"));
	/* malformed names */
	size_t n = wname("www.example.com", w);
	assert_null(zone_find(z, w, n - 1));
	assert_null(zone_find(z, w, n + 1));
	assert_null(zone_find(z, w, 0));
	w[0] = 64;
	assert_null(zone_find(z, w, n));

	const struct zone_node *apex = find(z, "example.com");
	assert_null(zone_node_rrset(apex, DNS_T_A));
	assert_null(zone_node_rrset(apex, 65535));
	assert_int_equal(zone_node_rrset(apex, DNS_T_CAA)->type, DNS_T_CAA);
}

/* ---- diagnostics ------------------------------------------------- */

static void test_errors_in_file_order(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = (struct zone *)1;

	assert_int_equal(
	    zone_load("example.com", ZDIR "bad.zone", collect, &ds, &z),
	    GS_EZONE);
	assert_null(z);
	size_t i = 0;
	expect(&ds, i++, true, "bad.zone", 7,
	       "cannot parse record (Syntax error");
	expect(&ds, i++, true, "bad.zone", 8,
	       "other.net. is outside the zone example.com.");
	expect(&ds, i++, true, "bad.zone", 9, "class CH not supported");
	expect(&ds, i++, true, "bad.zone", 10,
	       "SOA record at www.example.com., not at the zone apex");
	expect(&ds, i++, true, "bad.zone", 11, "more than one SOA record");
	expect(&ds, i++, true, "bad.zone", 13,
	       "alias.example.com.: CNAME beside other data (A)");
	expect(&ds, i++, true, "bad.zone", 15,
	       "two.example.com.: more than one CNAME record");
	expect(&ds, i++, true, "bad.zone", 17,
	       "dn.example.com.: DNAME beside CNAME");
	expect(&ds, i++, false, "bad.zone", 19,
	       "NS target ns.glue.example.com. has no A or AAAA record");
	expect(&ds, i++, false, "bad.zone", 21,
	       "ttl.example.com. A: TTL 600 differs from 300");
	expect(&ds, i++, true, "bad.zone", 22, "unknown directive $BOGUS");
	expect(&ds, i++, true, "bad.zone", 23, "unterminated quoted string");
	expect(&ds, i++, true, "bad.zone", 24, "TTL 9999999999 out of range");
	expect(&ds, i++, true, "bad.zone", 25, "unbalanced parentheses");
	expect(&ds, i++, true, "bad.zone", 26, "cannot open $INCLUDE file");
	assert_non_null(strstr(ds.d[i - 1].msg, "inc/missing.zone"));
	assert_non_null(strstr(ds.d[i - 1].msg, "No such file"));
	/* a problem in an included file names that file and its line */
	expect(&ds, i++, true, "/zones/inc/bad-include.zone", 3,
	       "cannot parse record");
	expect(&ds, i++, false, "bad.zone", 29,
	       "x.dn2.example.com. is below the DNAME at dn2.example.com.");
	expect(&ds, i++, true, "bad.zone", 30, "unbalanced parentheses");
	assert_int_equal(ds.n, i);
}

static void expect_one_error(const char *file, unsigned line, const char *part)
{
	struct diags ds = {0};
	struct zone *z = NULL;
	char path[1024];
	snprintf(path, sizeof(path), ZDIR "%s", file);
	assert_int_equal(zone_load("example.com.", path, collect, &ds, &z),
			 GS_EZONE);
	assert_null(z);
	expect(&ds, 0, true, file, line, part);
	assert_int_equal(ds.n, 1);
}

static void test_no_soa(void **state)
{
	(void)state;
	expect_one_error("nosoa.zone", 0, "no SOA record at the apex");
}

static void test_no_ns(void **state)
{
	(void)state;
	/* tied to the SOA's line */
	expect_one_error("nons.zone", 4, "no NS records at the apex");
}

static void test_no_owner(void **state)
{
	(void)state;
	expect_one_error("noowner.zone", 3, "no owner name");
}

static void test_line_numbers(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	/* comments, blank lines, parentheses over several lines, quoted
	 * ';' and '(' */
	assert_int_equal(
	    zone_load("example.com", ZDIR "lines.zone", collect, &ds, &z),
	    GS_EZONE);
	expect(&ds, 0, true, "lines.zone", 5, "no NS records");
	expect(&ds, 1, true, "lines.zone", 16, "cannot parse record");
	assert_int_equal(ds.n, 2);
}

static void test_warnings_do_not_fail(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	assert_int_equal(
	    zone_load("example.com", ZDIR "glue.zone", collect, &ds, &z), 0);
	assert_non_null(z);
	expect(&ds, 0, false, "glue.zone", 6,
	       "NS target ns2.example.com. has no A or AAAA record "
	       "(missing glue)");
	expect(&ds, 1, false, "glue.zone", 8,
	       "NS target ns.sub.example.com. has no A or AAAA record");
	expect(&ds, 2, false, "glue.zone", 11,
	       "TTL 600 differs from 300 in the same RRset (using 300)");
	expect(&ds, 3, false, "glue.zone", 13,
	       "x.dn.example.com. is below the DNAME at dn.example.com.");
	assert_int_equal(ds.n, 4);
	/* the lowest TTL wins; both records kept */
	const struct zone_rrset *rs = rrset(z, "ttl.example.com", DNS_T_A);
	assert_int_equal(rs->ttl, 300);
	assert_int_equal(rs->count, 2);
	assert_int_equal(find(z, "x.dn.example.com")->flags,
			 ZONE_NODE_OCCLUDED);
	zone_free(z);
}

static void test_default_ttl(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	assert_int_equal(
	    zone_load("example.com", ZDIR "nottl.zone", collect, &ds, &z), 0);
	expect(&ds, 0, false, "nottl.zone", 2, "no TTL and no $TTL");
	assert_int_equal(ds.n, 1);
	assert_int_equal(z->soa->ttl, 3600);
	/* before $TTL: the last TTL given (RFC 1035 5.1); after: $TTL */
	assert_int_equal(rrset(z, "www.example.com", DNS_T_A)->ttl, 600);
	assert_int_equal(rrset(z, "ftp.example.com", DNS_T_A)->ttl, 60);
	assert_int_equal(rrset(z, "mail.example.com", DNS_T_A)->ttl, 120);
	assert_int_equal(rrset(z, "web.example.com", DNS_T_A)->ttl, 60);
	zone_free(z);
}

static void test_include_loop(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	assert_int_equal(
	    zone_load("example.com", ZDIR "loop-a.zone", collect, &ds, &z),
	    GS_EZONE);
	assert_null(z);
	expect(&ds, 0, true, "/zones/inc/loop-b.zone", 3, "$INCLUDE loop");
	assert_int_equal(ds.n, 1);
}

static void test_include_depth(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_zone.XXXXXX", path[64];
	struct diags ds = {0};
	struct zone *z = NULL;
	const int files = 10; /* d0 includes d1 ... d9: nine levels deep */

	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/d%d.zone", dir, i);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		if (i == 0)
			fputs("$ORIGIN example.com.\n$TTL 60\n"
			      "@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n",
			      f);
		fprintf(f, "ns%d A 192.0.2.%d\n", i + 1, i + 1);
		if (i + 1 < files)
			fprintf(f, "$INCLUDE d%d.zone\n", i + 1);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/d0.zone", dir);
	assert_int_equal(zone_load("example.com", path, collect, &ds, &z),
			 GS_EZONE);
	assert_null(z);
	/* eight levels load; the ninth is refused where it is asked for */
	expect(&ds, 0, true, "/d8.zone", 2, "nested more than 8 deep");
	assert_int_equal(ds.n, 1);
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/d%d.zone", dir, i);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	const char *path = ZDIR "no-such.zone";
	assert_int_equal(zone_load("example.com", path, collect, &ds, &z),
			 GS_ENOENT);
	assert_null(z);
	assert_int_equal(ds.n, 1);
	expect(&ds, 0, true, path, 0, "cannot open");
	assert_non_null(strstr(ds.d[0].msg, path));
	assert_non_null(strstr(ds.d[0].msg, "No such file or directory"));
}

static void test_bad_origin(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	assert_int_equal(zone_load("a..b", ZDIR "ok.zone", collect, &ds, &z),
			 GS_EINVAL);
	assert_null(z);
	assert_int_equal(ds.n, 1);
}

static void test_wrong_origin(void **state)
{
	(void)state;
	struct diags ds = {0};
	struct zone *z = NULL;
	/* every record of sub.zone is outside example.net */
	assert_int_equal(
	    zone_load("example.net", ZDIR "sub.zone", collect, &ds, &z),
	    GS_EZONE);
	expect(&ds, 0, true, "sub.zone", 3, "is outside the zone example.net.");
	expect(&ds, ds.n - 1, true, "sub.zone", 0, "no NS records");
}

static void test_log_without_diag(void **state)
{
	(void)state;
	struct zone *z = NULL;
	/* problems go to the log (stderr here) */
	assert_int_equal(
	    zone_load("example.com", ZDIR "nons.zone", NULL, NULL, &z),
	    GS_EZONE);
	assert_null(z);
}

static void test_free_null(void **state)
{
	(void)state;
	zone_free(NULL);
	zoneset_free(NULL);
}

/* ---- zone sets and the demo zone ----------------------------------- */

static void test_zoneset_longest_match(void **state)
{
	(void)state;
	struct zone **zones = calloc(2, sizeof(*zones));
	assert_non_null(zones);
	zones[0] = load_ok("example.com", ZDIR "ok.zone");
	zones[1] = load_ok("sub.example.com.", ZDIR "sub.zone");
	struct zone *parent = zones[0], *child = zones[1];
	struct zoneset *zs = zoneset_new(zones, 2);
	assert_int_equal(zs->n, 2);
	assert_ptr_equal(zs->zones[0], child); /* most labels first */

	uint8_t w[256];
	size_t n;
	n = wname("www.sub.example.com", w);
	assert_ptr_equal(zoneset_find(zs, w, n), child);
	n = wname("sub.example.com", w);
	assert_ptr_equal(zoneset_find(zs, w, n), child);
	n = wname("xsub.example.com", w);
	assert_ptr_equal(zoneset_find(zs, w, n), parent);
	n = wname("example.com", w);
	assert_ptr_equal(zoneset_find(zs, w, n), parent);
	n = wname("a.b.www.example.com", w);
	assert_ptr_equal(zoneset_find(zs, w, n), parent);
	n = wname("example.net", w);
	assert_null(zoneset_find(zs, w, n));
	n = wname("com", w);
	assert_null(zoneset_find(zs, w, n));
	n = wname("", w);
	assert_null(zoneset_find(zs, w, n));
	zoneset_free(zs);

	zs = zoneset_new(NULL, 0);
	assert_null(zoneset_find(zs, w, n));
	zoneset_free(zs);
}

static void test_demo_zone(void **state)
{
	(void)state;
	struct zone *z = load_ok("example.org", GS_TEST_DATA
				 "/../../../zones/example.org.zone");
	assert_int_equal(z->serial, 2026112401u);
	assert_int_equal(z->neg_ttl, 300);
	assert_int_equal(rrset(z, "example.org", DNS_T_NS)->count, 2);
	assert_int_equal(rrset(z, "teleport.example.org", DNS_T_TXT)->ttl, 300);
	assert_null(zone_node_rrset(find(z, "teleport.example.org"), DNS_T_A));
	assert_null(find(z, "*.teleport.example.org"));
	assert_int_equal(find(z, "sub.example.org")->flags, ZONE_NODE_DELEG);
	assert_int_equal(find(z, "old.example.org")->flags, ZONE_NODE_DNAME);
	assert_int_equal(find(z, "alias.example.org")->flags, ZONE_NODE_CNAME);
	static const uint16_t types[] = {
	    DNS_T_SOA, DNS_T_MX, DNS_T_TXT, DNS_T_CAA, DNS_T_NAPTR,
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_non_null(zone_node_rrset(z->apex, types[i]));
	assert_non_null(rrset(z, "www.example.org", DNS_T_HTTPS));
	assert_non_null(rrset(z, "_443._tcp.www.example.org", DNS_T_TLSA));
	assert_non_null(rrset(z, "_dns.ns1.example.org", DNS_T_SVCB));
	assert_non_null(rrset(z, "bastion.example.org", DNS_T_SSHFP));
	assert_non_null(rrset(z, "_http._tcp.example.org", DNS_T_PTR));
	assert_non_null(rrset(z, "_sip._tcp.example.org", DNS_T_SRV));
	assert_non_null(rrset(z, "private.example.org", 65534));
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ok_header, ok_setup,
					    ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_every_type, ok_setup,
					    ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_rdata, ok_setup,
					    ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_ttls, ok_setup,
					    ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_order_and_names, ok_setup,
					    ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_ent, ok_setup, ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_flags, ok_setup,
					    ok_teardown),
	    cmocka_unit_test_setup_teardown(test_ok_find, ok_setup,
					    ok_teardown),
	    cmocka_unit_test(test_errors_in_file_order),
	    cmocka_unit_test(test_no_soa),
	    cmocka_unit_test(test_no_ns),
	    cmocka_unit_test(test_no_owner),
	    cmocka_unit_test(test_line_numbers),
	    cmocka_unit_test(test_warnings_do_not_fail),
	    cmocka_unit_test(test_default_ttl),
	    cmocka_unit_test(test_include_loop),
	    cmocka_unit_test(test_include_depth),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_bad_origin),
	    cmocka_unit_test(test_wrong_origin),
	    cmocka_unit_test(test_log_without_diag),
	    cmocka_unit_test(test_free_null),
	    cmocka_unit_test(test_zoneset_longest_match),
	    cmocka_unit_test(test_demo_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
