/* test_wire.c: the query parser, name helpers and response writer of
 * dns/wire.c, on packets assembled byte by byte. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/compiler.h"
#include "common/errcode.h"
#include "dns/wire.h"

/* ---- packet assembly ----------------------------------------------- */

struct pkt {
	uint8_t b[1024];
	size_t n;
};

static void add(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void add8(struct pkt *p, uint8_t v)
{
	add(p, &v, 1);
}

static void add16(struct pkt *p, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	add(p, b, 2);
}

static void add32(struct pkt *p, uint32_t v)
{
	add16(p, (uint16_t)(v >> 16));
	add16(p, (uint16_t)v);
}

/* Header with id 0xbeef and RD. */
static void hdr(struct pkt *p, uint16_t qd, uint16_t an, uint16_t ns,
		uint16_t ar)
{
	p->n = 0;
	add16(p, 0xbeef);
	add16(p, DNS_F_RD);
	add16(p, qd);
	add16(p, an);
	add16(p, ns);
	add16(p, ar);
}

/* String literals of wire names: sizeof includes the terminating root. */
#define N_WWW "\3www\7example\3org"
#define N_WWW_MIXED "\3WwW\7ExAmPlE\3OrG"
#define N_EXAMPLE "\7example\3org"
#define ADDN(p, lit) add((p), (lit), sizeof(lit))

static void question(struct pkt *p)
{
	ADDN(p, N_WWW);
	add16(p, DNS_T_A);
	add16(p, DNS_C_IN);
}

/* An OPT record (root owner) with udp 1232 and the given ttl word. */
static void opt(struct pkt *p, uint32_t ttl, const void *rd, uint16_t rdlen)
{
	add8(p, 0);
	add16(p, DNS_T_OPT);
	add16(p, 1232);
	add32(p, ttl);
	add16(p, rdlen);
	if (rdlen > 0)
		add(p, rd, rdlen);
}

/* A query for www.example.org with one OPT carrying rd. */
static enum wire_status parse_with_opt(struct wire_query *q, uint32_t ttl,
				       const void *rd, uint16_t rdlen)
{
	struct pkt p;
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	opt(&p, ttl, rd, rdlen);
	return wire_parse_query(p.b, p.n, q);
}

/* Same, with the options given as a byte string literal. */
#define PARSE_OPTS(q, lit) parse_with_opt((q), 0, (lit), sizeof(lit) - 1)

/* ---- parser: valid queries ----------------------------------------- */

static void test_parse_plain(void **state)
{
	(void)state;
	static const uint8_t pkt[] = {
	    0x12, 0x34, 0x01, 0x00, 0,	 1,   0,   0,	0,   0,	  0,
	    0,	  3,	'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
	    'l',  'e',	3,    'o',  'r', 'g', 0,   0,	1,   0,	  1,
	};
	struct wire_query q;
	memset(&q, 0xa5, sizeof(q)); /* no field may keep stale data */
	assert_int_equal(wire_parse_query(pkt, sizeof(pkt), &q), WIRE_OK);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.flags, DNS_F_RD);
	assert_int_equal(q.qdcount, 1);
	assert_int_equal(q.ancount, 0);
	assert_int_equal(q.nscount, 0);
	assert_int_equal(q.arcount, 0);
	assert_true(q.has_question);
	assert_int_equal(q.qname_len, 17);
	assert_int_equal(q.qname_labels, 3);
	assert_memory_equal(q.qname, N_WWW, 17);
	assert_memory_equal(q.qname_lc, N_WWW, 17);
	assert_int_equal(q.qtype, DNS_T_A);
	assert_int_equal(q.qclass, DNS_C_IN);
	assert_false(q.has_opt);
	assert_false(q.edns_do);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(q.edns_udp, 0);
	assert_false(q.has_nsid);
	assert_false(q.has_ecs);
	assert_int_equal(q.ecs_source, 0);
	assert_int_equal(q.ecs_scope, 0);
	assert_int_equal(q.ecs_family, 0);
	static const uint8_t zero[16];
	assert_memory_equal(q.ecs_addr, zero, 16);
	assert_false(q.has_cookie);
	assert_int_equal(q.cookie_len, 0);
}

static void test_parse_case_kept(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 0);
	ADDN(&p, N_WWW_MIXED);
	add16(&p, DNS_T_AAAA);
	add16(&p, DNS_C_IN);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
	assert_memory_equal(q.qname, N_WWW_MIXED, sizeof(N_WWW_MIXED));
	assert_memory_equal(q.qname_lc, N_WWW, sizeof(N_WWW));
	assert_int_equal(q.qtype, DNS_T_AAAA);
}

static void test_parse_root_question(void **state)
{
	(void)state;
	static const uint8_t pkt[] = {
	    0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1,
	};
	struct wire_query q;
	assert_int_equal(wire_parse_query(pkt, sizeof(pkt), &q), WIRE_OK);
	assert_true(q.has_question);
	assert_int_equal(q.qname_len, 1);
	assert_int_equal(q.qname_labels, 0);
	assert_int_equal(q.qname[0], 0);
	assert_int_equal(q.qtype, DNS_T_NS);
}

static void test_parse_edns_plain(void **state)
{
	(void)state;
	struct wire_query q;
	assert_int_equal(parse_with_opt(&q, 0, NULL, 0), WIRE_OK);
	assert_true(q.has_question);
	assert_true(q.has_opt);
	assert_false(q.edns_do);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(q.edns_udp, 1232);
	assert_false(q.has_nsid);
	assert_false(q.has_ecs);
	assert_false(q.has_cookie);
}

static void test_parse_do_bit(void **state)
{
	(void)state;
	struct wire_query q;
	/* ext-rcode and Z bits set as well: both ignored */
	assert_int_equal(parse_with_opt(&q, 0x7f008001u, NULL, 0), WIRE_OK);
	assert_true(q.has_opt);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(parse_with_opt(&q, 0x00007fffu, NULL, 0), WIRE_OK);
	assert_false(q.edns_do);
}

static void test_parse_nsid(void **state)
{
	(void)state;
	struct wire_query q;
	assert_int_equal(PARSE_OPTS(&q, "\0\3\0\0"), WIRE_OK);
	assert_true(q.has_opt);
	assert_true(q.has_nsid);
	/* content is ignored */
	assert_int_equal(PARSE_OPTS(&q, "\0\3\0\2ab"), WIRE_OK);
	assert_true(q.has_nsid);
}

static void test_parse_unknown_option(void **state)
{
	(void)state;
	struct wire_query q;
	/* option 12 (padding) with 3 bytes, then NSID */
	assert_int_equal(PARSE_OPTS(&q, "\0\14\0\3xyz\0\3\0\0"), WIRE_OK);
	assert_true(q.has_opt);
	assert_true(q.has_nsid);
}

static void test_parse_ecs_v4(void **state)
{
	(void)state;
	struct wire_query q;
	/* 192.0.2.0/24 scope 0 */
	assert_int_equal(PARSE_OPTS(&q, "\0\10\0\7\0\1\30\0\300\0\2"), WIRE_OK);
	assert_true(q.has_ecs);
	assert_int_equal(q.ecs_family, 1);
	assert_int_equal(q.ecs_source, 24);
	assert_int_equal(q.ecs_scope, 0);
	static const uint8_t want[16] = {192, 0, 2};
	assert_memory_equal(q.ecs_addr, want, 16);

	/* /0: no address bytes */
	assert_int_equal(PARSE_OPTS(&q, "\0\10\0\4\0\1\0\0"), WIRE_OK);
	assert_true(q.has_ecs);
	assert_int_equal(q.ecs_source, 0);

	/* /20 with the low nibble of the last byte clear; scope 32 */
	assert_int_equal(PARSE_OPTS(&q, "\0\10\0\7\0\1\24\40\12\1\20"),
			 WIRE_OK);
	assert_int_equal(q.ecs_source, 20);
	assert_int_equal(q.ecs_scope, 32);
	assert_int_equal(q.ecs_addr[2], 0x10);

	/* /32 */
	assert_int_equal(PARSE_OPTS(&q, "\0\10\0\10\0\1\40\0\1\2\3\4"),
			 WIRE_OK);
	assert_int_equal(q.ecs_addr[3], 4);
}

static void test_parse_ecs_v6(void **state)
{
	(void)state;
	struct wire_query q;
	/* 2001:db8:ab00::/56 */
	assert_int_equal(
	    PARSE_OPTS(&q, "\0\10\0\13\0\2\70\0\40\1\15\270\253\0\0"), WIRE_OK);
	assert_true(q.has_ecs);
	assert_int_equal(q.ecs_family, 2);
	assert_int_equal(q.ecs_source, 56);
	static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0xab};
	assert_memory_equal(q.ecs_addr, want, 16);

	/* /128, scope 128 */
	assert_int_equal(PARSE_OPTS(&q, "\0\10\0\24\0\2\200\200"
					"\40\1\15\270\0\0\0\0"
					"\0\0\0\0\0\0\0\1"),
			 WIRE_OK);
	assert_int_equal(q.ecs_source, 128);
	assert_int_equal(q.ecs_scope, 128);
	assert_int_equal(q.ecs_addr[15], 1);
}

static void test_parse_cookie(void **state)
{
	(void)state;
	struct wire_query q;
	assert_int_equal(PARSE_OPTS(&q, "\0\12\0\10CLIENT01"), WIRE_OK);
	assert_true(q.has_cookie);
	assert_int_equal(q.cookie_len, 8);
	assert_memory_equal(q.cookie, "CLIENT01", 8);

	assert_int_equal(PARSE_OPTS(&q, "\0\12\0\20CLIENT01SERVER01"), WIRE_OK);
	assert_int_equal(q.cookie_len, 16);
	assert_memory_equal(q.cookie, "CLIENT01SERVER01", 16);

	assert_int_equal(PARSE_OPTS(&q, "\0\12\0\50CLIENT01"
					"SERVER01SERVER02SERVER03SERVER04"),
			 WIRE_OK);
	assert_int_equal(q.cookie_len, 40);
	assert_memory_equal(q.cookie + 32, "SERVER04", 8);
}

static void test_parse_all_options(void **state)
{
	(void)state;
	struct wire_query q;
	assert_int_equal(PARSE_OPTS(&q, "\0\3\0\0"
					"\0\10\0\7\0\1\30\0\300\0\2"
					"\0\12\0\10CLIENT01"),
			 WIRE_OK);
	assert_true(q.has_opt);
	assert_true(q.has_nsid);
	assert_true(q.has_ecs);
	assert_true(q.has_cookie);
}

static void test_parse_edns_version1(void **state)
{
	(void)state;
	struct wire_query q;
	/* version 1, DO, and options that would each be a FORMERR at
	 * version 0: a bad ECS family, a 7-byte cookie, an overrun */
	static const uint8_t rd[] = "\0\10\0\4\0\3\0\0"
				    "\0\12\0\7COOKIE7"
				    "\0\3\0\77";
	assert_int_equal(parse_with_opt(&q, 0x00018000u, rd, sizeof(rd) - 1),
			 WIRE_OK);
	assert_true(q.has_opt);
	assert_int_equal(q.edns_version, 1);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_udp, 1232);
	assert_false(q.has_ecs);
	assert_false(q.has_cookie);
	assert_false(q.has_nsid);
}

static void test_parse_qd0(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 0, 0, 0, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
	assert_false(q.has_question);
	assert_int_equal(q.qname_len, 0);
	assert_false(q.has_opt);

	/* a COOKIE-only query */
	hdr(&p, 0, 0, 0, 1);
	opt(&p, 0, "\0\12\0\10CLIENT01", 12);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
	assert_false(q.has_question);
	assert_true(q.has_opt);
	assert_true(q.has_cookie);
}

static void test_parse_other_sections(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	/* an answer with a compressed owner, an authority record whose owner
	 * is a label then a pointer, then OPT, then trailing garbage */
	hdr(&p, 1, 1, 1, 1);
	question(&p);
	add16(&p, 0xc00c);
	add16(&p, DNS_T_A);
	add16(&p, DNS_C_IN);
	add32(&p, 60);
	add16(&p, 4);
	add32(&p, 0xc0000201);
	add(&p, "\3foo\300\20", 6);
	add16(&p, DNS_T_TXT);
	add16(&p, DNS_C_IN);
	add32(&p, 60);
	add16(&p, 0);
	opt(&p, 0, "\0\3\0\0", 4);
	add(&p, "junk", 4);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
	assert_true(q.has_question);
	assert_true(q.has_opt);
	assert_true(q.has_nsid);
}

/* ---- parser: dropped and malformed --------------------------------- */

static void test_parse_short(void **state)
{
	(void)state;
	static const uint8_t pkt[12] = {0x12, 0x34, 0x01, 0, 0, 1};
	struct wire_query q;
	for (size_t n = 0; n < sizeof(pkt); n++)
		assert_int_equal(wire_parse_query(pkt, n, &q), WIRE_DROP);
	assert_int_equal(wire_parse_query(NULL, 0, &q), WIRE_DROP);
	assert_false(q.has_question);
	assert_false(q.has_opt);
	/* header only, QDCOUNT 1: truncated question */
	assert_int_equal(wire_parse_query(pkt, 12, &q), WIRE_FORMERR);
}

static void test_parse_qr(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 0);
	question(&p);
	p.b[2] |= 0x80;
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_DROP);
	assert_int_equal(q.id, 0xbeef);
}

static void test_parse_qd2(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 2, 0, 0, 1);
	question(&p);
	question(&p);
	opt(&p, 0, NULL, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_false(q.has_question);
	assert_false(q.has_opt);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, DNS_F_RD);
	assert_int_equal(q.qdcount, 2);
	assert_int_equal(q.arcount, 1);
}

static void test_parse_qname_pointer(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 0);
	add(&p, "\3www\300\14", 6);
	add16(&p, DNS_T_A);
	add16(&p, DNS_C_IN);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_false(q.has_question);
	assert_int_equal(q.qname_len, 0);
}

static void test_parse_qname_label_type(void **state)
{
	(void)state;
	static const uint8_t types[] = {0x40, 0x41, 0x80, 0xbf};
	for (size_t i = 0; i < sizeof(types); i++) {
		struct pkt p;
		struct wire_query q;
		hdr(&p, 1, 0, 0, 0);
		add(&p, "\3www", 4);
		add8(&p, types[i]);
		add(&p, "abcdef\0\0\1\0\1", 11);
		assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
		assert_false(q.has_question);
	}
}

/* A question whose name is total bytes long (root included). */
static void long_name(struct pkt *p, size_t total)
{
	size_t left = total - 1;
	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;
		if (left - (l + 1) == 1)
			l--; /* never leave a gap of one byte */
		add8(p, (uint8_t)l);
		for (size_t i = 0; i < l; i++)
			add8(p, 'a');
		left -= l + 1;
	}
	add8(p, 0);
	add16(p, DNS_T_A);
	add16(p, DNS_C_IN);
}

static void test_parse_qname_too_long(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 0);
	long_name(&p, 255);
	assert_int_equal(p.n, 12 + 255 + 4);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 255);
	assert_int_equal(q.qname_labels, 4);
	assert_int_equal(wire_name_len(q.qname, 255), 255);

	hdr(&p, 1, 0, 0, 0);
	long_name(&p, 256);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_false(q.has_question);

	hdr(&p, 1, 0, 0, 0);
	long_name(&p, 300);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
}

static void test_parse_question_truncated(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 0);
	question(&p);
	for (size_t n = 12; n < p.n; n++) {
		assert_int_equal(wire_parse_query(p.b, n, &q), WIRE_FORMERR);
		assert_false(q.has_question);
		assert_int_equal(q.id, 0xbeef);
	}
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
}

/* A packet with one complete record in the given section, after the
 * question; every cut inside that record must be FORMERR. */
static void check_truncated_in(uint16_t an, uint16_t ns, uint16_t ar)
{
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, an, ns, ar);
	question(&p);
	size_t rr = p.n;
	add(&p, "\3foo\300\14", 6);
	add16(&p, DNS_T_TXT);
	add16(&p, DNS_C_IN);
	add32(&p, 300);
	add16(&p, 6);
	add(&p, "\5hello", 6);
	for (size_t n = rr; n < p.n; n++) {
		assert_int_equal(wire_parse_query(p.b, n, &q), WIRE_FORMERR);
		assert_true(q.has_question); /* it did parse */
		assert_false(q.has_opt);
	}
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
}

static void test_parse_record_truncated(void **state)
{
	(void)state;
	check_truncated_in(1, 0, 0);
	check_truncated_in(0, 1, 0);
	check_truncated_in(0, 0, 1);
}

static void test_parse_counts_exceed_records(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 2); /* two counted, one present */
	question(&p);
	opt(&p, 0, NULL, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
}

static void test_parse_owner_bad(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	/* extended label type in an answer owner */
	hdr(&p, 1, 1, 0, 0);
	question(&p);
	add(&p, "\100\0", 2);
	add16(&p, DNS_T_A);
	add16(&p, DNS_C_IN);
	add32(&p, 0);
	add16(&p, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);

	/* an owner of 256 bytes before its pointer (limit is 255) */
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	for (int i = 0; i < 4; i++) {
		add8(&p, 63);
		for (int j = 0; j < 63; j++)
			add8(&p, 'o');
	}
	add16(&p, 0xc00c);
	add16(&p, DNS_T_A);
	add16(&p, DNS_C_IN);
	add32(&p, 0);
	add16(&p, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	/* 254 bytes then a pointer: accepted */
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	for (int i = 0; i < 4; i++) {
		add8(&p, i < 3 ? 63 : 61);
		for (int j = 0; j < (i < 3 ? 63 : 61); j++)
			add8(&p, 'o');
	}
	add16(&p, 0xc00c);
	add16(&p, DNS_T_A);
	add16(&p, DNS_C_IN);
	add32(&p, 0);
	add16(&p, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_OK);
}

static void test_parse_opt_in_answer(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 1, 0, 0);
	question(&p);
	opt(&p, 0, NULL, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
	assert_false(q.has_opt);
}

static void test_parse_opt_in_authority(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 1, 0);
	question(&p);
	opt(&p, 0, NULL, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
	assert_false(q.has_opt);
}

static void test_parse_two_opts(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 2);
	question(&p);
	opt(&p, 0x8000u, "\0\12\0\10CLIENT01", 12);
	opt(&p, 0, NULL, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
	assert_false(q.has_opt);
	assert_false(q.has_cookie);
	assert_false(q.edns_do);
}

static void test_parse_opt_owner(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	add(&p, "\1a\0", 3);
	add16(&p, DNS_T_OPT);
	add16(&p, 1232);
	add32(&p, 0);
	add16(&p, 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
	assert_false(q.has_opt);

	/* a pointer is not the root either, even if it points at one */
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	add16(&p, 0xc000 | 28); /* the question's root label */
	add16(&p, DNS_T_OPT);
	add16(&p, 1232);
	add32(&p, 0);
	add16(&p, 0);
	assert_int_equal(p.b[28], 0);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_false(q.has_opt);
}

static void test_parse_opt_rdlen_overrun(void **state)
{
	(void)state;
	struct pkt p;
	struct wire_query q;
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	opt(&p, 0, "\0\3\0\0", 4);
	p.b[p.n - 5] = 5; /* rdlength 5, 4 bytes present */
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
	assert_false(q.has_opt);
	assert_false(q.has_nsid);
}

static void test_parse_option_overrun(void **state)
{
	(void)state;
	struct wire_query q;
	/* option length past the rdata (the packet has more bytes) */
	struct pkt p;
	hdr(&p, 1, 0, 0, 1);
	question(&p);
	opt(&p, 0, "\0\3\0\5ab", 6);
	add(&p, "cdefgh", 6);
	assert_int_equal(wire_parse_query(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.has_question);
	assert_false(q.has_opt);
	assert_false(q.has_nsid);
	/* a partial option header */
	assert_int_equal(PARSE_OPTS(&q, "\0\3\0\0\0"), WIRE_FORMERR);
	assert_false(q.has_opt);
	assert_int_equal(PARSE_OPTS(&q, "\0\3\0\0\0\3\0"), WIRE_FORMERR);
	assert_false(q.has_opt);
	/* an unknown option overrunning */
	assert_int_equal(PARSE_OPTS(&q, "\377\1\0\3ab"), WIRE_FORMERR);
	assert_false(q.has_opt);
}

static void check_ecs_formerr(const void *rd, uint16_t rdlen)
{
	struct wire_query q;
	assert_int_equal(parse_with_opt(&q, 0, rd, rdlen), WIRE_FORMERR);
	assert_true(q.has_question);
	/* a bad value, not a broken record: the FORMERR has an OPT */
	assert_true(q.has_opt);
	assert_false(q.has_ecs);
	assert_false(q.has_cookie);
	assert_false(q.has_nsid);
}

#define ECS_FORMERR(lit) check_ecs_formerr((lit), sizeof(lit) - 1)

static void test_parse_ecs_bad(void **state)
{
	(void)state;
	/* too short for family, source and scope */
	ECS_FORMERR("\0\10\0\3\0\1\0");
	ECS_FORMERR("\0\10\0\0");
	/* family 0 and 3 */
	ECS_FORMERR("\0\10\0\4\0\0\0\0");
	ECS_FORMERR("\0\10\0\7\0\3\30\0\300\0\2");
	/* source 33 (v4), 129 (v6) */
	ECS_FORMERR("\0\10\0\11\0\1\41\0\1\2\3\4\0");
	ECS_FORMERR("\0\10\0\25\0\2\201\0"
		    "\1\2\3\4\5\6\7\10\11\12\13\14\15\16\17\20\0");
	/* scope 33 (v4), 129 (v6) */
	ECS_FORMERR("\0\10\0\7\0\1\30\41\300\0\2");
	ECS_FORMERR("\0\10\0\13\0\2\70\201\40\1\15\270\253\0\0");
	/* address length != ceil(source / 8): too long, too short */
	ECS_FORMERR("\0\10\0\10\0\1\30\0\300\0\2\0");
	ECS_FORMERR("\0\10\0\6\0\1\30\0\300\0");
	ECS_FORMERR("\0\10\0\5\0\1\0\0\0");
	ECS_FORMERR("\0\10\0\12\0\2\70\0\40\1\15\270\253\0");
	/* bits set past the prefix: /23 with bit 24 set, /20 v6 */
	ECS_FORMERR("\0\10\0\7\0\1\27\0\300\0\3");
	ECS_FORMERR("\0\10\0\7\0\2\24\0\40\1\15");
	/* two ECS, both valid */
	ECS_FORMERR("\0\10\0\7\0\1\30\0\300\0\2"
		    "\0\10\0\7\0\1\30\0\300\0\2");
}

static void check_cookie(const void *rd, uint16_t rdlen, enum wire_status want)
{
	struct wire_query q;
	assert_int_equal(parse_with_opt(&q, 0, rd, rdlen), want);
	assert_true(q.has_question);
	assert_true(q.has_opt); /* a bad value still gets an OPT back */
	assert_int_equal(q.has_cookie, want == WIRE_OK);
}

static void test_parse_cookie_bad(void **state)
{
	(void)state;
	uint8_t rd[4 + 48 + 12];
	memset(rd, 'c', sizeof(rd));
	for (unsigned n = 0; n <= 48; n++) {
		rd[0] = 0;
		rd[1] = EDNS_OPT_COOKIE;
		rd[2] = 0;
		rd[3] = (uint8_t)n;
		bool ok = n == 8 || (n >= 16 && n <= 40);
		check_cookie(rd, (uint16_t)(4 + n),
			     ok ? WIRE_OK : WIRE_FORMERR);
	}
	/* two cookies */
	static const uint8_t two[] = "\0\12\0\10CLIENT01\0\12\0\10CLIENT02";
	check_cookie(two, sizeof(two) - 1, WIRE_FORMERR);
}

/* ---- name helpers -------------------------------------------------- */

static void test_name_len(void **state)
{
	(void)state;
	assert_int_equal(wire_name_len((const uint8_t *)N_WWW, 17), 17);
	assert_int_equal(wire_name_len((const uint8_t *)N_WWW, 100), 17);
	assert_int_equal(wire_name_len((const uint8_t *)N_WWW, 16), 0);
	assert_int_equal(wire_name_len((const uint8_t *)"", 1), 1);
	assert_int_equal(wire_name_len((const uint8_t *)"", 0), 0);
	assert_int_equal(wire_name_len((const uint8_t *)"\3www\300\14", 7), 0);
	assert_int_equal(wire_name_len((const uint8_t *)"\100a", 3), 0);
	assert_int_equal(wire_name_len((const uint8_t *)"\3www", 4), 0);

	uint8_t big[300];
	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < 4; i++)
		big[i * 64] = 63;
	big[256] = 0; /* 4 labels of 63: 257 bytes */
	assert_int_equal(wire_name_len(big, sizeof(big)), 0);
	big[192] = 61;
	big[254] = 0; /* 255 bytes */
	assert_int_equal(wire_name_len(big, sizeof(big)), 255);
	assert_int_equal(wire_name_labels(big), 4);
}

static void test_name_labels(void **state)
{
	(void)state;
	assert_int_equal(wire_name_labels((const uint8_t *)""), 0);
	assert_int_equal(wire_name_labels((const uint8_t *)"\3org"), 1);
	assert_int_equal(wire_name_labels((const uint8_t *)N_WWW), 3);
}

static void test_name_lower(void **state)
{
	(void)state;
	static const uint8_t in[] = "\6AZaz@[\4`{\100\337\0";
	static const uint8_t want[] = "\6azaz@[\4`{\100\337\0";
	uint8_t out[sizeof(in)];
	wire_name_lower(out, in, sizeof(in));
	assert_memory_equal(out, want, sizeof(in));
	uint8_t same[sizeof(N_WWW_MIXED)];
	memcpy(same, N_WWW_MIXED, sizeof(same));
	wire_name_lower(same, same, sizeof(same));
	assert_memory_equal(same, N_WWW, sizeof(same));
}

static void test_name_cmp_rfc4034(void **state)
{
	(void)state;
	/* RFC 4034 section 6.1, in canonical order */
	static const char *const names[] = {
	    "\7example",	"\1a\7example",	      "\10yljkjljk\1a\7example",
	    "\1Z\1a\7example",	"\4zABC\1a\7EXAMPLE", "\1z\7example",
	    "\1\1\1z\7example", "\1*\1z\7example",    "\1\200\1z\7example",
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = (const uint8_t *)names[i];
		assert_int_equal(wire_name_cmp(a, a), 0);
		for (size_t j = i + 1; j < n; j++) {
			const uint8_t *b = (const uint8_t *)names[j];
			assert_true(wire_name_cmp(a, b) < 0);
			assert_true(wire_name_cmp(b, a) > 0);
		}
	}
	/* case is ignored */
	assert_int_equal(
	    wire_name_cmp((const uint8_t *)N_WWW, (const uint8_t *)N_WWW_MIXED),
	    0);
	assert_int_equal(wire_name_cmp((const uint8_t *)"\1z\7example",
				       (const uint8_t *)"\1Z\7EXAMPLE"),
			 0);
	/* root sorts before everything */
	assert_true(
	    wire_name_cmp((const uint8_t *)"", (const uint8_t *)"\3org") < 0);
	assert_int_equal(
	    wire_name_cmp((const uint8_t *)"", (const uint8_t *)""), 0);
	/* rightmost labels decide first */
	assert_true(wire_name_cmp((const uint8_t *)"\1z\3com",
				  (const uint8_t *)"\1a\3org") < 0);
}

static void test_name_is_sub(void **state)
{
	(void)state;
	const uint8_t *www = (const uint8_t *)N_WWW;
	const uint8_t *ex = (const uint8_t *)N_EXAMPLE;
	const uint8_t *org = (const uint8_t *)"\3org";
	assert_true(wire_name_is_sub(www, 17, ex, 13));
	assert_true(wire_name_is_sub(ex, 13, ex, 13));
	assert_true(wire_name_is_sub(www, 17, org, 5));
	assert_true(wire_name_is_sub(www, 17, (const uint8_t *)"", 1));
	assert_false(wire_name_is_sub(ex, 13, www, 17));
	assert_false(wire_name_is_sub(org, 5, ex, 13));
	/* xexample.org */
	static const uint8_t x[] = "\10xexample\3org";
	assert_false(wire_name_is_sub(x, sizeof(x), ex, 13));
	/* a label "ab\7example" ends with the bytes of example.org but the
	 * match is not on a label boundary */
	static const uint8_t y[] = "\12ab\7example\3org";
	assert_memory_equal(y + 3, ex, 13);
	assert_false(wire_name_is_sub(y, sizeof(y), ex, 13));
	static const uint8_t z[] = "\12ab\7example\3org";
	assert_true(wire_name_is_sub(z, sizeof(z), org, 5));
}

/* ---- writer -------------------------------------------------------- */

static void test_put_scalars(void **state)
{
	(void)state;
	uint8_t buf[16];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(w.len, 0);
	assert_int_equal(w.n_comp, 0);
	assert_int_equal(wire_put_u8(&w, 0x01), 0);
	assert_int_equal(wire_put_u16(&w, 0x0203), 0);
	assert_int_equal(wire_put_u32(&w, 0x04050607), 0);
	assert_int_equal(wire_put_bytes(&w, "\10\11\12", 3), 0);
	assert_int_equal(wire_put_bytes(&w, NULL, 0), 0);
	assert_int_equal(w.len, 10);
	static const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	assert_memory_equal(buf, want, 10);
}

static void test_put_espace(void **state)
{
	(void)state;
	uint8_t buf[8];
	struct wire_writer w;

	/* each size fails with one byte too few, fits exactly otherwise */
	for (size_t room = 0; room <= 4; room++) {
		wire_writer_init(&w, buf, sizeof(buf));
		w.len = sizeof(buf) - room;
		assert_int_equal(wire_put_u8(&w, 1), room >= 1 ? 0 : GS_ESPACE);
		w.len = sizeof(buf) - room;
		assert_int_equal(wire_put_u16(&w, 1),
				 room >= 2 ? 0 : GS_ESPACE);
		assert_int_equal(w.len, sizeof(buf) - room + (room >= 2) * 2);
		w.len = sizeof(buf) - room;
		assert_int_equal(wire_put_u32(&w, 1),
				 room >= 4 ? 0 : GS_ESPACE);
		assert_int_equal(w.len, sizeof(buf) - room + (room >= 4) * 4);
		w.len = sizeof(buf) - room;
		assert_int_equal(wire_put_bytes(&w, "abc", 3),
				 room >= 3 ? 0 : GS_ESPACE);
		assert_int_equal(w.len, sizeof(buf) - room + (room >= 3) * 3);
	}

	/* limit lowers the capacity, never raises it */
	wire_writer_init(&w, buf, sizeof(buf));
	wire_writer_limit(&w, 3);
	assert_int_equal(wire_put_u16(&w, 1), 0);
	assert_int_equal(wire_put_u16(&w, 1), GS_ESPACE);
	assert_int_equal(w.len, 2);
	wire_writer_limit(&w, 100);
	assert_int_equal(w.cap, 3);
	assert_int_equal(wire_put_u8(&w, 1), 0);
	assert_int_equal(wire_put_u8(&w, 1), GS_ESPACE);
	/* a limit below len: nothing fits, nothing moves */
	wire_writer_limit(&w, 1);
	assert_int_equal(wire_put_bytes(&w, NULL, 0), GS_ESPACE);
	assert_int_equal(w.len, 3);
}

static void test_put_header(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_header(&w, 0xbeef, DNS_F_QR | DNS_F_AA, 1, 2, 3, 4);
	assert_int_equal(w.len, 12);
	static const uint8_t want[] = {0xbe, 0xef, 0x84, 0, 0, 1,
				       0,    2,	   0,	 3, 0, 4};
	assert_memory_equal(buf, want, 12);
	assert_int_equal(wire_put_u8(&w, 9), 0);
	wire_put_header(&w, 1, 0, 0, 0, 0, 0);
	assert_int_equal(w.len, 13);
	assert_int_equal(buf[1], 1);
	assert_int_equal(buf[12], 9);
}

static void test_put_name_compression(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	/* question, original case, at 12 */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW_MIXED, true),
			 0);
	assert_int_equal(w.len, 29);
	assert_int_equal(w.n_comp, 3);
	/* same name, lowercase: a pointer to 12 */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	/* a suffix: pointer to "ExAmPlE" at 16 */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_EXAMPLE, true),
			 0);
	/* partial: mail + pointer to 16 */
	assert_int_equal(
	    wire_put_name(&w, (const uint8_t *)"\4mail\7EXAMPLE\3org", true),
	    0);
	/* a suffix of a partly compressed name: a.mail.example.org */
	assert_int_equal(
	    wire_put_name(&w, (const uint8_t *)"\1a\4MAIL\7example\3org", true),
	    0);
	/* the root is one byte, never a pointer */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"", true), 0);
	/* nothing in common */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1x\3net", true),
			 0);
	/* a first label equal to the last one: "example.org" matches */
	assert_int_equal(
	    wire_put_name(&w, (const uint8_t *)"\3org\7example\3org", true), 0);
	static const uint8_t want[] = {
	    /* 12 */ 3,	   'W', 'w',  'W', 7,	 'E',  'x', 'A', 'm',
	    'P',	   'l', 'E',  3,   'O',	 'r',  'G', 0,
	    /* 29 */ 0xc0, 12,
	    /* 31 */ 0xc0, 16,
	    /* 33 */ 4,	   'm', 'a',  'i', 'l',	 0xc0, 16,
	    /* 40 */ 1,	   'a', 0xc0, 33,
	    /* 44 */ 0,
	    /* 45 */ 1,	   'x', 3,    'n', 'e',	 't',  0,
	    /* 52 */ 3,	   'o', 'r',  'g', 0xc0, 16,
	};
	assert_int_equal(w.len, 12 + sizeof(want));
	assert_memory_equal(buf + 12, want, sizeof(want));
	/* www, example, org, mail, a, x, net, org */
	assert_int_equal(w.n_comp, 8);
	static const uint16_t comp[] = {12, 16, 24, 33, 40, 45, 47, 52};
	assert_memory_equal(w.comp, comp, sizeof(comp));
}

static void test_put_name_uncompressed(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	/* compress=false: written out but remembered */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, false), 0);
	assert_int_equal(w.len, 12 + 17 + 17);
	assert_memory_equal(buf + 29, N_WWW, 17);
	assert_int_equal(w.n_comp, 6);
	assert_int_equal(wire_put_name(&w,
				       (const uint8_t *)"\2ns\7example"
							"\3org",
				       true),
			 0);
	assert_memory_equal(buf + 46, "\2ns\300\20", 5);
}

static void test_put_name_espace(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;

	/* literal: 17 bytes */
	wire_writer_init(&w, buf, 12 + 16);
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true),
			 GS_ESPACE);
	assert_int_equal(w.len, 12);
	assert_int_equal(w.n_comp, 0);
	wire_writer_init(&w, buf, 12 + 17);
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	assert_int_equal(w.len, 29);

	/* compressed: mail + pointer = 7 bytes */
	w.cap = 29 + 6;
	assert_int_equal(wire_put_name(&w,
				       (const uint8_t *)"\4mail\7example"
							"\3org",
				       true),
			 GS_ESPACE);
	assert_int_equal(w.len, 29);
	assert_int_equal(w.n_comp, 3);
	w.cap = 29 + 7;
	assert_int_equal(wire_put_name(&w,
				       (const uint8_t *)"\4mail\7example"
							"\3org",
				       true),
			 0);
	assert_int_equal(w.len, 36);
	assert_int_equal(w.n_comp, 4);
	/* a pointer alone: 2 bytes */
	w.cap = 37;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true),
			 GS_ESPACE);
	assert_int_equal(w.len, 36);
	w.cap = 38;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	assert_int_equal(w.len, 38);
	/* the root: 1 byte */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"", true),
			 GS_ESPACE);
	w.cap = 39;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"", true), 0);
}

static void test_put_name_invalid(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(
	    wire_put_name(&w, (const uint8_t *)"\3www\300\14", true),
	    GS_EINVAL);
	uint8_t big[300];
	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < 4; i++)
		big[i * 64] = 63;
	big[256] = 0;
	assert_int_equal(wire_put_name(&w, big, true), GS_EINVAL);
	assert_int_equal(w.len, 0);
	assert_int_equal(w.n_comp, 0);
}

static void test_put_name_table_full(void **state)
{
	(void)state;
	uint8_t buf[2048];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	/* distinct two-label names fill the table */
	uint8_t name[] = "\2aa\2bb";
	for (unsigned i = 0; i < WIRE_COMP_MAX / 2; i++) {
		name[1] = (uint8_t)('a' + i % 26);
		name[2] = (uint8_t)('a' + i / 26);
		name[4] = name[1];
		name[5] = name[2];
		assert_int_equal(wire_put_name(&w, name, true), 0);
	}
	assert_int_equal(w.n_comp, WIRE_COMP_MAX);
	size_t at = w.len;
	/* not remembered any more, but still written and still compressed
	 * against what is remembered */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1q\3zzz", true),
			 0);
	assert_int_equal(w.n_comp, WIRE_COMP_MAX);
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1q\3zzz", true),
			 0);
	assert_memory_equal(buf + at, "\1q\3zzz\0\1q\3zzz", 14);
	at = w.len;
	assert_int_equal(
	    wire_put_name(&w, (const uint8_t *)"\1r\2aa\2aa", true), 0);
	assert_memory_equal(buf + at, "\1r\300\14", 4);
}

static void test_put_name_far_offset(void **state)
{
	(void)state;
	static uint8_t buf[0x4100];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 0x3ffe;
	/* "a" at 0x3ffe is remembered, "b" at 0x4000 cannot be */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1a\1b", true), 0);
	assert_int_equal(w.n_comp, 1);
	assert_int_equal(w.comp[0], 0x3ffe);
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1b", true), 0);
	assert_memory_equal(buf + 0x4003, "\1b", 3);
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1A\1B", true), 0);
	assert_memory_equal(buf + 0x4006, "\377\376", 2);
}

static void test_put_name_loop_guard(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	/* a hand-made loop: "a" then a pointer back to it, and a pointer to
	 * itself */
	memcpy(buf + 12, "\1a\300\14\300\20", 6);
	w.len = 18;
	w.comp[0] = 12;
	w.comp[1] = 16;
	w.n_comp = 2;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1a\1a\1a", true),
			 0);
	assert_memory_equal(buf + 18, "\1a\1a\1a", 7);

	/* a forward pointer is never followed: "a" -> (16) "b" . */
	wire_writer_init(&w, buf, sizeof(buf));
	memcpy(buf + 12, "\1a\300\20\1b", 7);
	w.len = 19;
	w.comp[0] = 12;
	w.n_comp = 1;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\1a\1b", true), 0);
	assert_memory_equal(buf + 19, "\1a\1b", 5);
}

static void test_mark_rewind(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	struct wire_mark m = wire_mark(&w);
	assert_int_equal(m.len, 29);
	assert_int_equal(m.n_comp, 3);
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\3ftp\3net", true),
			 0);
	assert_int_equal(w.n_comp, 5);
	wire_rewind(&w, m);
	assert_int_equal(w.len, 29);
	assert_int_equal(w.n_comp, 3);
	/* the forgotten names do not compress any more */
	assert_int_equal(wire_put_name(&w, (const uint8_t *)"\3net", true), 0);
	assert_memory_equal(buf + 29, "\3net", 5);
}

static void test_put_rr(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_header(&w, 0xbeef, DNS_F_QR, 1, 6, 0, 0);
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW_MIXED, true),
			 0);
	assert_int_equal(wire_put_u16(&w, DNS_T_A), 0);
	assert_int_equal(wire_put_u16(&w, DNS_C_IN), 0);
	assert_int_equal(w.len, 33);

	static const uint8_t a[] = {192, 0, 2, 1};
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_WWW, DNS_T_A,
				     DNS_C_IN, 300, a, 4),
			 0);
	static const uint8_t ns[] = "\3ns1\7example\3org";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_NS,
				     DNS_C_IN, 3600, ns, sizeof(ns)),
			 0);
	static const uint8_t mx[] = "\0\12\4mail\7example\3org";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_MX,
				     DNS_C_IN, 3600, mx, sizeof(mx)),
			 0);
	static const uint8_t soa[] = "\3ns1\7example\3org\0"
				     "\12hostmaster\7example\3org\0"
				     "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_SOA,
				     DNS_C_IN, 3600, soa, sizeof(soa) - 1),
			 0);
	static const uint8_t srv[] = "\0\1\0\2\23\304\3www\7example\3org";
	assert_int_equal(wire_put_rr(&w,
				     (const uint8_t *)"\4_sip\4_tcp\7example"
						      "\3org",
				     DNS_T_SRV, DNS_C_IN, 60, srv, sizeof(srv)),
			 0);
	static const uint8_t dname[] = "\7example\3net";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)"\3old\7example\3org",
				     DNS_T_DNAME, DNS_C_IN, 60, dname,
				     sizeof(dname)),
			 0);
	static const uint8_t cname[] = "\3www\7example\3net";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)"\2wx\7example\3org",
				     DNS_T_CNAME, DNS_C_IN, 60, cname,
				     sizeof(cname)),
			 0);

	static const uint8_t want[] = {
	    /* 33: A */
	    0xc0,
	    12,
	    0,
	    1,
	    0,
	    1,
	    0,
	    0,
	    1,
	    44,
	    0,
	    4,
	    192,
	    0,
	    2,
	    1,
	    /* 49: NS, rdata at 61 */
	    0xc0,
	    16,
	    0,
	    2,
	    0,
	    1,
	    0,
	    0,
	    0x0e,
	    0x10,
	    0,
	    6,
	    3,
	    'n',
	    's',
	    '1',
	    0xc0,
	    16,
	    /* 67: MX, rdata at 79, "mail" at 81 */
	    0xc0,
	    16,
	    0,
	    15,
	    0,
	    1,
	    0,
	    0,
	    0x0e,
	    0x10,
	    0,
	    9,
	    0,
	    10,
	    4,
	    'm',
	    'a',
	    'i',
	    'l',
	    0xc0,
	    16,
	    /* 88: SOA, rdata at 100 */
	    0xc0,
	    16,
	    0,
	    6,
	    0,
	    1,
	    0,
	    0,
	    0x0e,
	    0x10,
	    0,
	    35,
	    0xc0,
	    61,
	    10,
	    'h',
	    'o',
	    's',
	    't',
	    'm',
	    'a',
	    's',
	    't',
	    'e',
	    'r',
	    0xc0,
	    16,
	    0,
	    0,
	    0,
	    1,
	    0,
	    0,
	    0,
	    2,
	    0,
	    0,
	    0,
	    3,
	    0,
	    0,
	    0,
	    4,
	    0,
	    0,
	    0,
	    5,
	    /* 135: SRV, owner compressed, rdata verbatim */
	    4,
	    '_',
	    's',
	    'i',
	    'p',
	    4,
	    '_',
	    't',
	    'c',
	    'p',
	    0xc0,
	    16,
	    0,
	    33,
	    0,
	    1,
	    0,
	    0,
	    0,
	    60,
	    0,
	    23,
	    0,
	    1,
	    0,
	    2,
	    0x13,
	    0xc4,
	    3,
	    'w',
	    'w',
	    'w',
	    7,
	    'e',
	    'x',
	    'a',
	    'm',
	    'p',
	    'l',
	    'e',
	    3,
	    'o',
	    'r',
	    'g',
	    0,
	    /* 180: DNAME, rdata verbatim */
	    3,
	    'o',
	    'l',
	    'd',
	    0xc0,
	    16,
	    0,
	    39,
	    0,
	    1,
	    0,
	    0,
	    0,
	    60,
	    0,
	    13,
	    7,
	    'e',
	    'x',
	    'a',
	    'm',
	    'p',
	    'l',
	    'e',
	    3,
	    'n',
	    'e',
	    't',
	    0,
	    /* 209: CNAME, compressed, but nothing earlier ends in
		 * "net" (the DNAME target was copied, not remembered) */
	    2,
	    'w',
	    'x',
	    0xc0,
	    16,
	    0,
	    5,
	    0,
	    1,
	    0,
	    0,
	    0,
	    60,
	    0,
	    17,
	    3,
	    'w',
	    'w',
	    'w',
	    7,
	    'e',
	    'x',
	    'a',
	    'm',
	    'p',
	    'l',
	    'e',
	    3,
	    'n',
	    'e',
	    't',
	    0,
	};
	assert_int_equal(w.len, 33 + sizeof(want));
	assert_memory_equal(buf + 33, want, sizeof(want));
}

static void test_put_rr_cname_compressed(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	static const uint8_t cname[] = "\3web\7example\3org";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_WWW, DNS_T_CNAME,
				     DNS_C_IN, 60, cname, sizeof(cname)),
			 0);
	static const uint8_t ptr[] = "\3web\7Example\3org";
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)"\1\61\1\62",
				     DNS_T_PTR, DNS_C_IN, 60, ptr, sizeof(ptr)),
			 0);
	static const uint8_t want[] = {
	    0xc0, 12,  0,   5,	 0,    1,  0,  0,   0, 60,   0,	 6,
	    3,	  'w', 'e', 'b', 0xc0, 16, 1,  '1', 1, '2',  0,	 0,
	    12,	  0,   1,   0,	 0,    0,  60, 0,   2, 0xc0, 41,
	};
	assert_int_equal(w.len, 29 + sizeof(want));
	assert_memory_equal(buf + 29, want, sizeof(want));
}

static void test_put_rr_malformed_rdata(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	/* NS rdata without its root label: copied verbatim */
	static const uint8_t ns[] = {3,	  'n', 's', '1', 7,   'e',
				     'x', 'a', 'm', 'p', 'l', 'e'};
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_NS,
				     DNS_C_IN, 60, ns, sizeof(ns)),
			 0);
	assert_memory_equal(buf + 29, "\300\20\0\2\0\1\0\0\0\74\0\14", 12);
	assert_memory_equal(buf + 41, ns, sizeof(ns));
	/* a name plus trailing bytes: verbatim */
	static const uint8_t cn[] = "\3www\7example\3org\0x";
	size_t at = w.len;
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE,
				     DNS_T_CNAME, DNS_C_IN, 60, cn,
				     sizeof(cn) - 1),
			 0);
	assert_memory_equal(buf + at + 12, cn, sizeof(cn) - 1);
	/* MX too short; SOA with the wrong fixed part */
	at = w.len;
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_MX,
				     DNS_C_IN, 60, (const uint8_t *)"\0\1", 2),
			 0);
	assert_memory_equal(buf + at + 10, "\0\2\0\1", 4);
	at = w.len;
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_SOA,
				     DNS_C_IN, 60,
				     (const uint8_t *)"\0\0\0\0\1", 5),
			 0);
	assert_memory_equal(buf + at + 10, "\0\5\0\0\0\0\1", 7);
	/* empty rdata */
	at = w.len;
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)N_EXAMPLE, DNS_T_NS,
				     DNS_C_IN, 60, NULL, 0),
			 0);
	assert_int_equal(w.len, at + 12);
}

static void test_put_rr_espace(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	static const uint8_t soa[] = "\3ns1\7example\3org\0"
				     "\12hostmaster\7example\3org\0"
				     "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5";
	/* find the size it needs, then fail at every smaller capacity */
	wire_writer_init(&w, buf, sizeof(buf));
	w.len = 12;
	assert_int_equal(wire_put_name(&w, (const uint8_t *)N_WWW, true), 0);
	struct wire_mark m = wire_mark(&w);
	assert_int_equal(wire_put_rr(&w,
				     (const uint8_t *)"\2ns\7example"
						      "\3org",
				     DNS_T_SOA, DNS_C_IN, 60, soa,
				     sizeof(soa) - 1),
			 0);
	size_t full = w.len;
	uint8_t good[128];
	memcpy(good, buf, full);
	for (size_t cap = m.len; cap < full; cap++) {
		wire_rewind(&w, m);
		w.cap = cap;
		int ret =
		    wire_put_rr(&w, (const uint8_t *)"\2ns\7example\3org",
				DNS_T_SOA, DNS_C_IN, 60, soa, sizeof(soa) - 1);
		assert_int_equal(ret, GS_ESPACE);
		assert_int_equal(w.len, m.len);
		assert_int_equal(w.n_comp, m.n_comp);
	}
	wire_rewind(&w, m);
	w.cap = full;
	assert_int_equal(wire_put_rr(&w, (const uint8_t *)"\2ns\7example\3org",
				     DNS_T_SOA, DNS_C_IN, 60, soa,
				     sizeof(soa) - 1),
			 0);
	assert_int_equal(w.len, full);
	assert_memory_equal(buf, good, full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_plain),
	    cmocka_unit_test(test_parse_case_kept),
	    cmocka_unit_test(test_parse_root_question),
	    cmocka_unit_test(test_parse_edns_plain),
	    cmocka_unit_test(test_parse_do_bit),
	    cmocka_unit_test(test_parse_nsid),
	    cmocka_unit_test(test_parse_unknown_option),
	    cmocka_unit_test(test_parse_ecs_v4),
	    cmocka_unit_test(test_parse_ecs_v6),
	    cmocka_unit_test(test_parse_cookie),
	    cmocka_unit_test(test_parse_all_options),
	    cmocka_unit_test(test_parse_edns_version1),
	    cmocka_unit_test(test_parse_qd0),
	    cmocka_unit_test(test_parse_other_sections),
	    cmocka_unit_test(test_parse_short),
	    cmocka_unit_test(test_parse_qr),
	    cmocka_unit_test(test_parse_qd2),
	    cmocka_unit_test(test_parse_qname_pointer),
	    cmocka_unit_test(test_parse_qname_label_type),
	    cmocka_unit_test(test_parse_qname_too_long),
	    cmocka_unit_test(test_parse_question_truncated),
	    cmocka_unit_test(test_parse_record_truncated),
	    cmocka_unit_test(test_parse_counts_exceed_records),
	    cmocka_unit_test(test_parse_owner_bad),
	    cmocka_unit_test(test_parse_opt_in_answer),
	    cmocka_unit_test(test_parse_opt_in_authority),
	    cmocka_unit_test(test_parse_two_opts),
	    cmocka_unit_test(test_parse_opt_owner),
	    cmocka_unit_test(test_parse_opt_rdlen_overrun),
	    cmocka_unit_test(test_parse_option_overrun),
	    cmocka_unit_test(test_parse_ecs_bad),
	    cmocka_unit_test(test_parse_cookie_bad),
	    cmocka_unit_test(test_name_len),
	    cmocka_unit_test(test_name_labels),
	    cmocka_unit_test(test_name_lower),
	    cmocka_unit_test(test_name_cmp_rfc4034),
	    cmocka_unit_test(test_name_is_sub),
	    cmocka_unit_test(test_put_scalars),
	    cmocka_unit_test(test_put_espace),
	    cmocka_unit_test(test_put_header),
	    cmocka_unit_test(test_put_name_compression),
	    cmocka_unit_test(test_put_name_uncompressed),
	    cmocka_unit_test(test_put_name_espace),
	    cmocka_unit_test(test_put_name_invalid),
	    cmocka_unit_test(test_put_name_table_full),
	    cmocka_unit_test(test_put_name_far_offset),
	    cmocka_unit_test(test_put_name_loop_guard),
	    cmocka_unit_test(test_mark_rewind),
	    cmocka_unit_test(test_put_rr),
	    cmocka_unit_test(test_put_rr_cname_compressed),
	    cmocka_unit_test(test_put_rr_malformed_rdata),
	    cmocka_unit_test(test_put_rr_espace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
