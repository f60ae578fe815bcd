/* Answer logic: queries built and responses read with ldns (a second,
 * independent DNS implementation), answered from tests/unit/data/answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns/answer.h"
#include "dns/zone.h"

static struct zoneset *zones;
static struct answer_view view;
static struct steer_set no_steer;
static struct answer_ctx ctx;
static uint8_t out[65535];
static struct sockaddr_in src;

static int setup(void **state)
{
	(void)state;
	struct zone *z = NULL;
	if (zone_load("example.test", GS_TEST_DATA "/answer/test.zone", NULL,
		      NULL, &z) != 0)
		return -1;
	struct zone **arr = malloc(sizeof(*arr));
	arr[0] = z;
	zones = zoneset_new(arr, 1);
	view.zones = zones;
	view.steer = &no_steer;
	view.nsid = "ns1.test";
	view.nsid_len = 8;
	view.udp_payload = 1232;
	answer_ctx_init(&ctx);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0xc0000201);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zoneset_free(zones);
	return 0;
}

/* Raw bytes answered; returns the parsed response or NULL if dropped. */
static ldns_pkt *ask_raw(const uint8_t *q, size_t qlen, bool tcp)
{
	size_t n =
	    answer_process(&ctx, &view, q, qlen, out, tcp ? sizeof(out) : 4096,
			   (struct sockaddr *)&src, tcp, 1700000000);
	if (n == 0)
		return NULL;
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
	return p;
}

/* edns: -1 none, else the advertised UDP size. */
static ldns_pkt *ask_full(const char *name, ldns_rr_type t, ldns_rr_class c,
			  int edns, bool tcp, ldns_edns_option_list *opts)
{
	ldns_pkt *q = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, t, c, 0),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 4242);
	if (edns >= 0) {
		ldns_pkt_set_edns_udp_size(q, (uint16_t)edns);
		if (opts)
			ldns_pkt_set_edns_option_list(q, opts);
	}
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	ldns_pkt *r = ask_raw(wire, len, tcp);
	free(wire);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_id(r), 4242);
	assert_true(ldns_pkt_qr(r));
	return r;
}

static ldns_pkt *ask(const char *name, ldns_rr_type t)
{
	return ask_full(name, t, LDNS_RR_CLASS_IN, 1232, false, NULL);
}

static ldns_rr *rr_at(ldns_rr_list *l, size_t i)
{
	assert_true(i < ldns_rr_list_rr_count(l));
	return ldns_rr_list_rr(l, i);
}

static void assert_owner(ldns_rr *rr, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(s, want);
	free(s);
}

static void assert_rdata(ldns_rr *rr, size_t i, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
	assert_string_equal(s, want);
	free(s);
}

static void test_exact(void **state)
{
	(void)state;
	ldns_pkt *r = ask("www.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(r));
	assert_int_equal(ldns_pkt_ancount(r), 1);
	ldns_rr *a = rr_at(ldns_pkt_answer(r), 0);
	assert_int_equal(ldns_rr_ttl(a), 3600);
	assert_rdata(a, 0, "192.0.2.10");
	ldns_pkt_free(r);
}

static void test_case_kept(void **state)
{
	(void)state;
	ldns_pkt *r = ask("WwW.ExAmPlE.tEsT.", LDNS_RR_TYPE_AAAA);
	assert_owner(rr_at(ldns_pkt_question(r), 0), "WwW.ExAmPlE.tEsT.");
	assert_owner(rr_at(ldns_pkt_answer(r), 0), "WwW.ExAmPlE.tEsT.");
	/* The answer's owner is a pointer to the question (offset 12). */
	assert_int_equal(out[12 + 18 + 4], 0xc0);
	assert_int_equal(out[12 + 18 + 5], 0x0c);
	ldns_pkt_free(r);
}

static void test_cname_chain(void **state)
{
	(void)state;
	ldns_pkt *r = ask("a.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 3);
	ldns_rr_list *an = ldns_pkt_answer(r);
	assert_int_equal(ldns_rr_get_type(rr_at(an, 0)), LDNS_RR_TYPE_CNAME);
	assert_owner(rr_at(an, 1), "b.example.test.");
	assert_owner(rr_at(an, 2), "c.example.test.");
	assert_rdata(rr_at(an, 2), 0, "192.0.2.30");
	ldns_pkt_free(r);

	/* Asking for the CNAME itself does not chase it. */
	r = ask("a.example.test.", LDNS_RR_TYPE_CNAME);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	ldns_pkt_free(r);
}

static void test_cname_out_and_missing(void **state)
{
	(void)state;
	ldns_pkt *r = ask("ext.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	assert_int_equal(ldns_pkt_nscount(r), 0);
	ldns_pkt_free(r);

	r = ask("missing.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	assert_int_equal(ldns_pkt_nscount(r), 1);
	ldns_pkt_free(r);
}

/* No RR appears twice in the answer section. */
static void assert_no_repeat(ldns_pkt *r)
{
	ldns_rr_list *an = ldns_pkt_answer(r);
	size_t n = ldns_rr_list_rr_count(an);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(
			    ldns_rr_compare(rr_at(an, i), rr_at(an, j)), 0);
}

/* The answer's types and owners, in order: "CNAME a;DNAME b;...". */
static void assert_chain(ldns_pkt *r, const char *want)
{
	char got[1024] = "";
	ldns_rr_list *an = ldns_pkt_answer(r);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = rr_at(an, i);
		char *t = ldns_rr_type2str(ldns_rr_get_type(rr));
		char *o = ldns_rdf2str(ldns_rr_owner(rr));
		size_t len = strlen(got);
		snprintf(got + len, sizeof(got) - len, "%s%s %s",
			 len ? ";" : "", t, o);
		free(t);
		free(o);
	}
	assert_string_equal(got, want);
}

static void test_cname_loop(void **state)
{
	(void)state;
	/* The chain ends at the first name met again (RFC 1034 3.6.2). */
	ldns_pkt *r = ask("loop1.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_chain(r, "CNAME loop1.example.test.;CNAME loop2.example.test.");
	assert_no_repeat(r);
	ldns_pkt_free(r);

	/* A wildcard CNAME whose target the same wildcard covers. */
	r = ask("foo.wc.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_chain(r,
		     "CNAME foo.wc.example.test.;CNAME loop.wc.example.test.");
	assert_no_repeat(r);
	ldns_pkt_free(r);
}

static void test_dname_loop(void **state)
{
	(void)state;
	/* Two DNAMEs pointing at each other: each is used once. */
	ldns_pkt *r = ask("x.dl1.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_chain(r, "DNAME dl1.example.test.;CNAME x.dl1.example.test.;"
			"DNAME dl2.example.test.;CNAME x.dl2.example.test.");
	assert_no_repeat(r);
	ldns_pkt_free(r);

	/* A CNAME that leads back under a DNAME already used: the DNAME is
	 * not repeated, its new synthesized CNAME is added. */
	r = ask("a.dd.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_chain(r, "DNAME dd.example.test.;CNAME a.dd.example.test.;"
			"CNAME a.ddt.example.test.;CNAME b.dd.example.test.");
	assert_no_repeat(r);
	ldns_pkt_free(r);
}

static void test_dname(void **state)
{
	(void)state;
	ldns_pkt *r = ask("X.old.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ldns_rr_list *an = ldns_pkt_answer(r);
	assert_int_equal(ldns_rr_list_rr_count(an), 3);
	assert_int_equal(ldns_rr_get_type(rr_at(an, 0)), LDNS_RR_TYPE_DNAME);
	ldns_rr *cn = rr_at(an, 1);
	assert_int_equal(ldns_rr_get_type(cn), LDNS_RR_TYPE_CNAME);
	assert_owner(cn, "X.old.example.test.");
	assert_rdata(cn, 0, "X.new.example.test.");
	assert_rdata(rr_at(an, 2), 0, "192.0.2.40");
	ldns_pkt_free(r);
}

static void test_wildcard(void **state)
{
	(void)state;
	ldns_pkt *r = ask("anything.w.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_owner(rr_at(ldns_pkt_answer(r), 0), "anything.w.example.test.");
	assert_rdata(rr_at(ldns_pkt_answer(r), 0), 0, "192.0.2.50");
	ldns_pkt_free(r);

	/* f.w exists as an empty non-terminal: it stops the wildcard. */
	r = ask("f.w.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	r = ask("g.f.w.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(r);
}

static void test_referral(void **state)
{
	(void)state;
	ldns_pkt *r = ask("host.sub.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(r));
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_pkt_nscount(r), 2);
	/* Glue for the in-zone server only, plus OPT. */
	assert_int_equal(ldns_pkt_arcount(r), 1);
	assert_rdata(rr_at(ldns_pkt_additional(r), 0), 0, "192.0.2.53");
	ldns_pkt_free(r);

	/* DS belongs to the parent side of the cut. */
	r = ask("sub.example.test.", LDNS_RR_TYPE_DS);
	assert_true(ldns_pkt_aa(r));
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_rr_get_type(rr_at(ldns_pkt_authority(r), 0)),
			 LDNS_RR_TYPE_SOA);
	ldns_pkt_free(r);
}

static void test_negative(void **state)
{
	(void)state;
	ldns_pkt *r = ask("nope.example.test.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(r));
	ldns_rr *soa = rr_at(ldns_pkt_authority(r), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_ttl(soa), 300); /* min(3600, 300) */
	ldns_pkt_free(r);

	r = ask("www.example.test.", LDNS_RR_TYPE_MX);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_int_equal(ldns_pkt_nscount(r), 1);
	ldns_pkt_free(r);
}

static void test_refused(void **state)
{
	(void)state;
	ldns_pkt *r = ask("www.example.net.", LDNS_RR_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(r));
	ldns_pkt_free(r);
	r = ask("example.test.", LDNS_RR_TYPE_AXFR);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);
	r = ask_full("www.example.test.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_HS,
		     1232, false, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);
}

static void test_chaos(void **state)
{
	(void)state;
	ldns_pkt *r = ask_full("id.server.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH,
			       1232, false, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_rdata(rr_at(ldns_pkt_answer(r), 0), 0, "\"ns1.test\"");
	ldns_pkt_free(r);
	r = ask_full("version.bind.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 1232,
		     false, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);
	view.version = "v1";
	view.version_len = 2;
	r = ask_full("VERSION.bind.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 1232,
		     false, NULL);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_rdata(rr_at(ldns_pkt_answer(r), 0), 0, "\"v1\"");
	ldns_pkt_free(r);
	view.version = NULL;
}

static void test_any_minimal(void **state)
{
	(void)state;
	ldns_pkt *r = ask("www.example.test.", LDNS_RR_TYPE_ANY);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	ldns_pkt_free(r);
}

static void test_notimp_formerr_badvers(void **state)
{
	(void)state;
	/* NOTIFY (opcode 4) with RD set: NOTIMP, opcode kept, RD not. */
	uint8_t q[] = {0x12, 0x34, 0x21, 0x00, 0,   1,	 0,   0,   0,
		       0,    0,	   0,	 3,    'w', 'w', 'w', 7,   'e',
		       'x',  'a',  'm',	 'p',  'l', 'e', 4,   't', 'e',
		       's',  't',  0,	 0,    1,   0,	 1};
	ldns_pkt *r = ask_raw(q, sizeof(q), false);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOTIMPL);
	assert_int_equal(ldns_pkt_get_opcode(r), LDNS_PACKET_NOTIFY);
	assert_false(ldns_pkt_rd(r));
	assert_false(ldns_pkt_aa(r));
	ldns_pkt_free(r);

	/* QDCOUNT 2: FORMERR, with RD copied (RFC 1035 4.1.1). */
	q[2] = 0x01;
	q[5] = 2;
	r = ask_raw(q, sizeof(q), false);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	assert_true(ldns_pkt_rd(r));
	ldns_pkt_free(r);
	q[2] = 0x00;
	r = ask_raw(q, sizeof(q), false);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	assert_false(ldns_pkt_rd(r));
	ldns_pkt_free(r);

	/* QR set, and a short packet: dropped. */
	q[2] = 0x80;
	q[5] = 1;
	assert_null(ask_raw(q, sizeof(q), false));
	assert_null(ask_raw(q, 11, false));

	/* EDNS version 1: BADVERS (extended rcode 16), no answer. */
	uint8_t v1[sizeof(q) + 11];
	memcpy(v1, q, sizeof(q));
	v1[2] = 0x01;
	v1[11] = 1;
	const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 1, 0, 0, 0, 0};
	memcpy(v1 + sizeof(q), opt, sizeof(opt));
	size_t n = answer_process(&ctx, &view, v1, sizeof(v1), out, 4096,
				  (struct sockaddr *)&src, false, 1);
	assert_true(n > 12);
	assert_int_equal(out[3] & 0xf, 0);
	assert_int_equal(out[2] & 0x01, 1); /* RD copied */
	assert_int_equal(out[7], 0); /* ancount */
	/* OPT: ext-rcode 1 (16 >> 4), version 0 */
	assert_int_equal(out[n - 11 + 5], 1);
	assert_int_equal(out[n - 11 + 6], 0);
}

static void test_truncation(void **state)
{
	(void)state;
	/* Six 101-byte TXT records don't fit 512 bytes. */
	ldns_pkt *r = ask_full("big.example.test.", LDNS_RR_TYPE_TXT,
			       LDNS_RR_CLASS_IN, 512, false, NULL);
	assert_true(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 0);
	assert_true(ldns_pkt_edns(r)); /* OPT kept */
	ldns_pkt_free(r);
	r = ask_full("big.example.test.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN,
		     -1, false, NULL);
	assert_true(ldns_pkt_tc(r));
	assert_false(ldns_pkt_edns(r));
	ldns_pkt_free(r);
	r = ask_full("big.example.test.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN,
		     1232, false, NULL);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 6);
	ldns_pkt_free(r);
	r = ask_full("big.example.test.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN,
		     -1, true, NULL);
	assert_false(ldns_pkt_tc(r));
	assert_int_equal(ldns_pkt_ancount(r), 6);
	ldns_pkt_free(r);
}

static ldns_edns_option_list *one_opt(ldns_edns_option_code code,
				      const uint8_t *data, size_t len)
{
	ldns_edns_option_list *l = ldns_edns_option_list_new();
	ldns_edns_option_list_push(l, ldns_edns_new_from_data(code, len, data));
	return l;
}

static void test_edns_options(void **state)
{
	(void)state;
	/* ECS 192.0.2.0/24 echoed with scope 0. */
	const uint8_t ecs[] = {0, 1, 24, 0, 192, 0, 2};
	ldns_pkt *r = ask_full(
	    "www.example.test.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, false,
	    one_opt(LDNS_EDNS_CLIENT_SUBNET, ecs, sizeof(ecs)));
	ldns_edns_option_list *l = ldns_pkt_edns_get_option_list(r);
	assert_non_null(l);
	assert_int_equal(ldns_edns_option_list_get_count(l), 1);
	ldns_edns_option *o = ldns_edns_option_list_get_option(l, 0);
	assert_int_equal(ldns_edns_get_code(o), LDNS_EDNS_CLIENT_SUBNET);
	assert_int_equal(ldns_edns_get_size(o), sizeof(ecs));
	assert_memory_equal(ldns_edns_get_data(o), ecs, sizeof(ecs));
	ldns_pkt_free(r);

	/* NSID asked: answered. */
	r = ask_full("www.example.test.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
		     1232, false, one_opt(LDNS_EDNS_NSID, NULL, 0));
	l = ldns_pkt_edns_get_option_list(r);
	o = ldns_edns_option_list_get_option(l, 0);
	assert_int_equal(ldns_edns_get_code(o), LDNS_EDNS_NSID);
	assert_memory_equal(ldns_edns_get_data(o), "ns1.test", 8);
	ldns_pkt_free(r);

	/* Client cookie: client part echoed, 16-byte server cookie added. */
	const uint8_t cc[] = {1, 2, 3, 4, 5, 6, 7, 8};
	r = ask_full("www.example.test.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
		     1232, false, one_opt(LDNS_EDNS_COOKIE, cc, sizeof(cc)));
	l = ldns_pkt_edns_get_option_list(r);
	o = ldns_edns_option_list_get_option(l, 0);
	assert_int_equal(ldns_edns_get_code(o), LDNS_EDNS_COOKIE);
	assert_int_equal(ldns_edns_get_size(o), 24);
	const uint8_t *got = ldns_edns_get_data(o);
	assert_memory_equal(got, cc, 8);
	assert_int_equal(got[8], 1);
	assert_true(cookie_is_valid(view.cookie_secret, got, 24, 1700000000,
				    (struct sockaddr *)&src));
	ldns_pkt_free(r);

	/* Unknown option: not echoed. */
	const uint8_t junk[] = {0xab};
	r = ask_full("www.example.test.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
		     1232, false, one_opt(65001, junk, 1));
	l = ldns_pkt_edns_get_option_list(r);
	assert_true(!l || ldns_edns_option_list_get_count(l) == 0);
	ldns_pkt_free(r);
}

/* Walks a message strictly: every count matches the records present and
 * nothing follows the last one. Returns the number of OPT records. */
static unsigned strict_walk(const uint8_t *m, size_t n)
{
	assert_true(n >= 12);
	unsigned counts[4];
	for (int i = 0; i < 4; i++)
		counts[i] = (unsigned)m[4 + 2 * i] << 8 | m[5 + 2 * i];
	size_t p = 12;
	unsigned opts = 0;
	for (int sec = 0; sec < 4; sec++) {
		for (unsigned k = 0; k < counts[sec]; k++) {
			/* the owner: labels, then the root or a pointer */
			for (;;) {
				assert_true(p < n);
				if ((m[p] & 0xc0) == 0xc0) {
					assert_true(p + 2 <= n);
					p += 2;
					break;
				}
				assert_true(m[p] < 64);
				if (m[p] == 0) {
					p++;
					break;
				}
				p += 1u + m[p];
			}
			if (sec == 0) {
				p += 4;
				assert_true(p <= n);
				continue;
			}
			assert_true(p + 10 <= n);
			unsigned type = (unsigned)m[p] << 8 | m[p + 1];
			size_t rdlen = (size_t)m[p + 8] << 8 | m[p + 9];
			p += 10 + rdlen;
			assert_true(p <= n);
			if (type == 41) {
				assert_int_equal(sec, 3);
				opts++;
			}
		}
	}
	assert_int_equal(p, n);
	return opts;
}

static void test_opt_never_partial(void **state)
{
	(void)state;
	/* The longest name in the zone's space, a 255-byte NSID, an IPv6 ECS
	 * /128 and a cookie do not all fit in 512 bytes: options are dropped
	 * whole and TC is set, at every payload size. */
	static char nsid[256];
	memset(nsid, 'n', 255);
	const char *saved = view.nsid;
	size_t saved_len = view.nsid_len;
	view.nsid = nsid;
	view.nsid_len = 255;
	uint8_t q[600];
	size_t ql = 0;
	const uint8_t hdr[] = {0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
	memcpy(q, hdr, sizeof(hdr));
	ql = sizeof(hdr);
	/* 3 labels of 63, one of 48, then example.test: 253 + 1 bytes */
	const unsigned labels[] = {63, 63, 63, 48};
	for (size_t i = 0; i < 4; i++) {
		q[ql++] = (uint8_t)labels[i];
		memset(q + ql, 'a' + (int)i, labels[i]);
		ql += labels[i];
	}
	memcpy(q + ql, "\7example\4test", 13);
	ql += 13;
	const uint8_t tail[] = {0, 0, 1, 0, 1}; /* root, A, IN */
	memcpy(q + ql, tail, sizeof(tail));
	ql += sizeof(tail);
	size_t opt_at = ql;
	const uint8_t opt[] = {
	    0,	  0,	41, 0x02, 0x00, 0,    0,    0,	  0,	0,
	    4 + 0 + 4 + 20 + 4 + 8,
	    0,	  3,	0,  0, /* NSID */
	    0,	  8,	0,  20,	  0,	2,    128,  0, /* ECS 2001:db8::1/128 */
	    0x20, 0x01, 0x0d, 0xb8, 0,	0,    0,    0,	  0,	0,
	    0,	  0,	0,  0,	  0,	1,
	    0,	  10,	0,  8,	  1,	2,    3,    4,	  5,	6,
	    7,	  8, /* client cookie */
	};
	memcpy(q + ql, opt, sizeof(opt));
	ql += sizeof(opt);
	bool saw_tc = false;
	for (unsigned size = 512; size <= 4096; size++) {
		q[opt_at + 3] = (uint8_t)(size >> 8);
		q[opt_at + 4] = (uint8_t)size;
		size_t n =
		    answer_process(&ctx, &view, q, ql, out, 4096,
				   (struct sockaddr *)&src, false, 1700000000);
		assert_true(n >= 12 && n <= (size < 1232 ? size : 1232));
		assert_int_equal(strict_walk(out, n), 1);
		saw_tc |= (out[2] & 0x02) != 0;
	}
	assert_true(saw_tc);
	view.nsid = saved;
	view.nsid_len = saved_len;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),
	    cmocka_unit_test(test_case_kept),
	    cmocka_unit_test(test_cname_chain),
	    cmocka_unit_test(test_cname_out_and_missing),
	    cmocka_unit_test(test_cname_loop),
	    cmocka_unit_test(test_dname_loop),
	    cmocka_unit_test(test_opt_never_partial),
	    cmocka_unit_test(test_dname),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_referral),
	    cmocka_unit_test(test_negative),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_chaos),
	    cmocka_unit_test(test_any_minimal),
	    cmocka_unit_test(test_notimp_formerr_badvers),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_edns_options),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
