/* answer.c: the authoritative answer logic (RFC 1034 4.3.2 with the
 * clarifications of RFC 2181, 4592, 6672, 8482 and 6891). */
#include "config.h"

#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "common/compiler.h"
#include "common/errcode.h"
#include "dns/answer.h"

enum section { SEC_AN, SEC_NS, SEC_AR };

void answer_ctx_init(struct answer_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void answer_stats_add(struct answer_stats *sum, const struct answer_stats *add)
{
	sum->queries += add->queries;
	sum->dropped += add->dropped;
	sum->truncated += add->truncated;
	sum->all_down += add->all_down;
	for (size_t r = 0; r < GS_ARRAY_SIZE(sum->rcode); r++)
		sum->rcode[r] += add->rcode[r];
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Writes a whole RRset into a section, or nothing. In the answer and
 * authority sections a set that doesn't fit truncates the response (TC);
 * the caller decides about the additional section. */
static int put_rrset(struct answer_ctx *ctx, enum section sec,
		     const uint8_t *owner, const struct zone_rrset *rs,
		     uint32_t ttl)
{
	if (ctx->tc)
		return GS_ESPACE;
	struct wire_mark m = wire_mark(&ctx->w);
	const uint8_t *p = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++) {
		uint16_t rdlen = get16(p);
		if (wire_put_rr(&ctx->w, owner, rs->type, DNS_C_IN, ttl, p + 2,
				rdlen) != 0) {
			wire_rewind(&ctx->w, m);
			if (sec != SEC_AR)
				ctx->tc = true;
			return GS_ESPACE;
		}
		p += 2 + rdlen;
	}
	if (sec == SEC_AN)
		ctx->an += rs->count;
	else if (sec == SEC_NS)
		ctx->ns += rs->count;
	else
		ctx->ar += rs->count;
	return 0;
}

/* NXDOMAIN and NODATA: the SOA in the authority section with the negative
 * TTL of RFC 2308 section 5, at most cap. */
static void put_negative(struct answer_ctx *ctx, const struct zone *z,
			 uint8_t rcode, uint32_t cap)
{
	ctx->flags = (uint16_t)((ctx->flags & ~0xfu) | rcode);
	put_rrset(ctx, SEC_NS, z->origin, z->soa,
		  z->neg_ttl < cap ? z->neg_ttl : cap);
}

/* The cap on the negative TTL for the cursor's name: at or under a
 * steered name, the service's TTL, so that "no such data" is not cached
 * longer than the addresses a failover would change. */
static uint32_t neg_cap(const struct answer_ctx *ctx, const uint8_t *name,
			size_t len)
{
	const struct steer_service *svc = steer_cover(ctx->v->steer, name, len);
	return svc ? svc->ttl : UINT32_MAX;
}

/* A referral to the child zone at cut: NS in authority, glue in
 * additional. Not authoritative unless the answer section already holds
 * our data (a CNAME that led here). */
static void put_referral(struct answer_ctx *ctx, const struct zone *z,
			 const struct zone_node *cut)
{
	if (ctx->an == 0)
		ctx->flags &= (uint16_t)~DNS_F_AA;
	const struct zone_rrset *ns = zone_node_rrset(cut, DNS_T_NS);
	if (!ns || put_rrset(ctx, SEC_NS, cut->name, ns, ns->ttl) != 0)
		return;
	const uint8_t *p = ns->rdata;
	for (uint16_t i = 0; i < ns->count; i++) {
		uint16_t rdlen = get16(p);
		const uint8_t *target = p + 2;
		p += 2 + rdlen;
		uint8_t lc[DNS_MAX_NAME];
		size_t tlen = wire_name_len(target, rdlen);
		if (tlen == 0)
			continue;
		wire_name_lower(lc, target, tlen);
		if (!wire_name_is_sub(lc, tlen, z->origin, z->origin_len))
			continue;
		const struct zone_node *g = zone_find(z, lc, tlen);
		if (!g)
			continue;
		static const uint16_t glue_types[] = {DNS_T_A, DNS_T_AAAA};
		for (size_t t = 0; t < GS_ARRAY_SIZE(glue_types); t++) {
			const struct zone_rrset *rs =
			    zone_node_rrset(g, glue_types[t]);
			if (!rs ||
			    put_rrset(ctx, SEC_AR, g->name, rs, rs->ttl) == 0)
				continue;
			/* Glue under the cut is needed to reach the child at
			 * all: without it the response is truncated
			 * (RFC 9471). Other glue is optional. */
			if (wire_name_is_sub(lc, tlen, cut->name,
					     cut->name_len))
				ctx->tc = true;
		}
	}
}

/* The name being answered: what is written as owner (the query's case, or
 * the case of the record that led here) and its lowercase lookup key. */
struct cursor {
	const uint8_t *owner;
	const uint8_t *name;
	size_t name_len;
	unsigned labels;
	unsigned flip; /* which scratch buffers are free */
};

static void cursor_set(struct cursor *c, const uint8_t *owner,
		       const uint8_t *lc, size_t len)
{
	c->owner = owner;
	c->name = lc;
	c->name_len = len;
	c->labels = wire_name_labels(lc);
}

/* True if the chain has reached name (lowercase) before: the query's
 * name or a target already followed. Otherwise remembers it. */
static bool chain_seen(struct answer_ctx *ctx, const uint8_t *name,
		       size_t len)
{
	if (len == ctx->q.qname_len && memcmp(name, ctx->q.qname_lc, len) == 0)
		return true;
	for (unsigned i = 0; i < ctx->n_chain; i++)
		if (ctx->chain_len[i] == len &&
		    memcmp(ctx->chain[i], name, len) == 0)
			return true;
	if (ctx->n_chain < ANSWER_MAX_CHAIN) {
		memcpy(ctx->chain[ctx->n_chain], name, len);
		ctx->chain_len[ctx->n_chain++] = (uint8_t)len;
	}
	return false;
}

/* RFC 6672: answers with the DNAME at node n (an ancestor of the cursor's
 * name, whose labels start at offset off) and a synthesized CNAME, and
 * moves the cursor to the new name. Returns true if the chain goes on. */
static bool follow_dname(struct answer_ctx *ctx, const struct zone *z,
			 const struct zone_node *n, size_t off,
			 struct cursor *c)
{
	const struct zone_rrset *dn = zone_node_rrset(n, DNS_T_DNAME);
	/* A DNAME the chain met before (its target under itself, or a
	 * CNAME that leads back below it) is in the answer already: only
	 * the new synthesized CNAME is added. */
	bool seen = false;
	for (unsigned i = 0; i < ctx->n_dnames; i++)
		seen |= ctx->dnames[i] == n;
	if (!seen && put_rrset(ctx, SEC_AN, n->name, dn, dn->ttl) != 0)
		return false;
	if (!seen && ctx->n_dnames < ANSWER_MAX_CHAIN)
		ctx->dnames[ctx->n_dnames++] = n;
	const uint8_t *target = dn->rdata + 2;
	size_t tlen = get16(dn->rdata);
	size_t len = off + tlen; /* the labels below n, then the target */
	if (len > DNS_MAX_NAME) {
		ctx->flags = (uint16_t)((ctx->flags & ~0xfu) | DNS_RC_YXDOMAIN);
		return false;
	}
	uint8_t *syn = ctx->scratch[2 + c->flip];
	uint8_t *syn_lc = ctx->scratch[c->flip];
	c->flip ^= 1;
	memcpy(syn, c->owner, off);
	memcpy(syn + off, target, tlen);

	uint8_t rd[2 + DNS_MAX_NAME];
	rd[0] = (uint8_t)(len >> 8);
	rd[1] = (uint8_t)len;
	memcpy(rd + 2, syn, len);
	struct zone_rrset cname = {
	    .type = DNS_T_CNAME,
	    .count = 1,
	    .ttl = dn->ttl,
	    .rdata_len = (uint32_t)(2 + len),
	    .rdata = rd,
	};
	if (put_rrset(ctx, SEC_AN, c->owner, &cname, dn->ttl) != 0)
		return false;
	wire_name_lower(syn_lc, syn, len);
	cursor_set(c, syn, syn_lc, len);
	return ctx->q.qtype != DNS_T_CNAME &&
	       wire_name_is_sub(c->name, len, z->origin, z->origin_len) &&
	       !chain_seen(ctx, c->name, len);
}

/* Answers with the CNAME at node and moves the cursor to its target.
 * Returns true if the chain goes on inside this zone. */
static bool follow_cname(struct answer_ctx *ctx, const struct zone *z,
			 const struct zone_node *node, struct cursor *c)
{
	const struct zone_rrset *cn = zone_node_rrset(node, DNS_T_CNAME);
	if (put_rrset(ctx, SEC_AN, c->owner, cn, cn->ttl) != 0)
		return false;
	const uint8_t *target = cn->rdata + 2;
	size_t tlen = wire_name_len(target, get16(cn->rdata));
	if (tlen == 0)
		return false;
	uint8_t *lc = ctx->scratch[c->flip];
	c->flip ^= 1;
	wire_name_lower(lc, target, tlen);
	cursor_set(c, target, lc, tlen);
	/* A target outside the zone is for the client to follow; one the
	 * chain has reached before ends it (a loop). */
	return wire_name_is_sub(lc, tlen, z->origin, z->origin_len) &&
	       !chain_seen(ctx, lc, tlen);
}

/* Finds the node answering for the cursor's name: the name itself or the
 * wildcard child of its closest encloser (RFC 4592). Walking down from the
 * apex, a zone cut or a DNAME above the name takes over: *stop is set to
 * the node that does, with *stop_off the offset of its labels in the name.
 * Empty non-terminals exist as nodes, so the walk stops at the closest
 * encloser. */
static const struct zone_node *find_node(const struct zone *z,
					 const struct cursor *c, uint16_t qtype,
					 const struct zone_node **stop,
					 size_t *stop_off, uint8_t *wc_buf)
{
	uint8_t offs[128];
	size_t o = 0;
	for (unsigned i = 0; i <= c->labels; i++) {
		offs[i] = (uint8_t)o;
		o += (size_t)c->name[o] + 1;
	}
	*stop = NULL;
	const struct zone_node *ce = z->apex;
	for (unsigned k = z->origin_labels; k <= c->labels; k++) {
		size_t off = offs[c->labels - k];
		const struct zone_node *n =
		    k == z->origin_labels
			? z->apex
			: zone_find(z, c->name + off, c->name_len - off);
		if (!n)
			break;
		ce = n;
		bool exact = k == c->labels;
		if (((n->flags & ZONE_NODE_DELEG) &&
		     !(exact && qtype == DNS_T_DS)) ||
		    (!exact && (n->flags & ZONE_NODE_DNAME))) {
			*stop = n;
			*stop_off = off;
			return NULL;
		}
		if (exact)
			return n;
	}
	if (ce->name_len + 2u > DNS_MAX_NAME)
		return NULL;
	wc_buf[0] = 1;
	wc_buf[1] = '*';
	memcpy(wc_buf + 2, ce->name, ce->name_len);
	return zone_find(z, wc_buf, ce->name_len + 2u);
}

/* The address steering decides for: the ECS address when the query has
 * one with a source prefix, else the packet's source. IPv4-mapped IPv6
 * counts as IPv4. Returns the bits to add to an IPv4 scope to express it
 * in the family of the ECS option (96 for a mapped address). */
static unsigned steer_client_of(const struct answer_ctx *ctx,
				struct steer_client *cl)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	const struct wire_query *q = &ctx->q;
	memset(cl, 0, sizeof(*cl));
	if (q->has_ecs && q->ecs_source > 0) {
		cl->family = q->ecs_family == 1 ? AF_INET : AF_INET6;
		memcpy(cl->addr, q->ecs_addr, 16);
	} else if (ctx->src && ctx->src->sa_family == AF_INET) {
		cl->family = AF_INET;
		memcpy(cl->addr,
		       (const uint8_t *)ctx->src +
			   offsetof(struct sockaddr_in, sin_addr),
		       4);
	} else if (ctx->src && ctx->src->sa_family == AF_INET6) {
		cl->family = AF_INET6;
		memcpy(cl->addr,
		       (const uint8_t *)ctx->src +
			   offsetof(struct sockaddr_in6, sin6_addr),
		       16);
	} else {
		cl->family = AF_INET; /* 0.0.0.0: an unknown location */
	}
	if (cl->family == AF_INET6 && memcmp(cl->addr, mapped, 12) == 0) {
		memmove(cl->addr, cl->addr + 12, 4);
		memset(cl->addr + 4, 0, 12);
		cl->family = AF_INET;
		return 96;
	}
	return 0;
}

/* Writes the addresses of one region for type (A or AAAA) that
 * steer_addr_answered() gives in mode. Returns the number written; 0
 * with ctx->tc set if they did not fit. */
static uint16_t put_region(struct answer_ctx *ctx, const struct steer_region *r,
			   uint16_t type, const uint8_t *owner, uint32_t ttl,
			   enum steer_mode mode)
{
	bool v4 = type == DNS_T_A;
	uint16_t n = v4 ? r->n4 : r->n6, written = 0;
	struct wire_mark m = wire_mark(&ctx->w);
	for (uint16_t a = 0; a < n; a++) {
		if (!steer_addr_answered(r, v4 ? AF_INET : AF_INET6, a, mode))
			continue;
		if (wire_put_rr(&ctx->w, owner, type, DNS_C_IN, ttl,
				v4 ? r->a4[a] : r->a6[a], v4 ? 4 : 16) != 0) {
			wire_rewind(&ctx->w, m);
			ctx->tc = true;
			return 0;
		}
		written++;
	}
	ctx->an = (uint16_t)(ctx->an + written);
	return written;
}

/* Answers a steered name: the answered addresses of the asked family from
 * the region steer_pick() chooses (ANY: that region's A records, or its
 * AAAA records if it has no A to give); NODATA if no region has any.
 * When no region is usable the service's when_all_down applies:
 * fail-open answers from every non-drained region as if it were up, with
 * the TTL cut to at most 10 s; fail-closed, or every region drained,
 * answers SERVFAIL. */
static void put_steered(struct answer_ctx *ctx, const struct zone *z,
			const struct steer_service *svc, const struct cursor *c)
{
	const struct wire_query *q = &ctx->q;
	const uint8_t *owner = c->owner;
	struct steer_client cl;
	uint8_t scope;
	ctx->steered = svc;
	ctx->steered_name = c->name;
	ctx->steered_len = c->name_len;
	unsigned extra = steer_client_of(ctx, &cl);
	const uint8_t *order = steer_order(svc, &cl, &scope);
	if (q->has_ecs && q->ecs_source > 0)
		ctx->ecs_scope = (uint8_t)(scope + extra);

	int family = q->qtype == DNS_T_A      ? AF_INET
		     : q->qtype == DNS_T_AAAA ? AF_INET6
					      : 0;
	enum steer_mode mode;
	int ri = steer_pick(svc, order, family, &mode);
	if (mode != STEER_NORMAL)
		ctx->stats.all_down++;
	if (mode == STEER_FAIL_CLOSED || mode == STEER_ALL_DRAINED) {
		ctx->flags = (uint16_t)((ctx->flags & ~(0xfu | DNS_F_AA)) |
					DNS_RC_SERVFAIL);
		return;
	}
	uint32_t ttl = mode == STEER_FAIL_OPEN && svc->ttl > 10 ? 10 : svc->ttl;
	if (ri >= 0) {
		const struct steer_region *r = &svc->regions[ri];
		uint16_t type = q->qtype;
		if (type == DNS_T_ANY) {
			type = DNS_T_AAAA;
			for (uint16_t a = 0; a < r->n4; a++)
				if (steer_addr_answered(r, AF_INET, a, mode))
					type = DNS_T_A;
		}
		if (put_region(ctx, r, type, owner, ttl, mode) || ctx->tc)
			return;
	}
	put_negative(ctx, z, DNS_RC_NOERROR, ttl);
}

/* Answers from zone z, following CNAMEs and DNAMEs inside it. */
static void answer_zone(struct answer_ctx *ctx, const struct zone *z)
{
	const uint16_t qtype = ctx->q.qtype;
	struct cursor c = {0};
	cursor_set(&c, ctx->q.qname, ctx->q.qname_lc, ctx->q.qname_len);

	ctx->flags |= DNS_F_AA;
	for (unsigned hop = 0; hop < ANSWER_MAX_CHAIN; hop++) {
		/* A steered name: addresses come from the service; its other
		 * types, if any, from the zone. A name that exists in the
		 * zone with its own addresses or alias is not covered by a
		 * wildcard host. */
		bool wild = false;
		const struct steer_service *svc =
		    steer_match(ctx->v->steer, c.name, c.name_len, &wild);
		if (svc && wild) {
			const struct zone_node *n =
			    zone_find(z, c.name, c.name_len);
			if (n && ((n->flags & ZONE_NODE_CNAME) ||
				  zone_node_rrset(n, DNS_T_A) ||
				  zone_node_rrset(n, DNS_T_AAAA)))
				svc = NULL;
		}
		if (svc && (qtype == DNS_T_A || qtype == DNS_T_AAAA ||
			    qtype == DNS_T_ANY)) {
			put_steered(ctx, z, svc, &c);
			return;
		}

		const struct zone_node *stop;
		size_t stop_off = 0;
		const struct zone_node *node = find_node(
		    z, &c, qtype, &stop, &stop_off, ctx->scratch[2 + c.flip]);
		if (stop && (stop->flags & ZONE_NODE_DELEG)) {
			put_referral(ctx, z, stop);
			return;
		}
		if (stop) {
			if (!follow_dname(ctx, z, stop, stop_off, &c))
				return;
			continue;
		}
		if (!node) {
			/* A steered name exists even without zone data. */
			put_negative(ctx, z,
				     svc ? DNS_RC_NOERROR : DNS_RC_NXDOMAIN,
				     neg_cap(ctx, c.name, c.name_len));
			return;
		}
		if (qtype != DNS_T_CNAME && (node->flags & ZONE_NODE_CNAME)) {
			/* ANY gets the CNAME alone (RFC 8482: one RRset). */
			if (!follow_cname(ctx, z, node, &c) ||
			    qtype == DNS_T_ANY)
				return;
			continue;
		}
		if (node->n_rrsets == 0) {
			put_negative(ctx, z, DNS_RC_NOERROR,
				     neg_cap(ctx, c.name, c.name_len));
			return;
		}
		if (qtype == DNS_T_ANY) {
			/* RFC 8482: one RRset is enough. */
			put_rrset(ctx, SEC_AN, c.owner, &node->rrsets[0],
				  node->rrsets[0].ttl);
			return;
		}
		const struct zone_rrset *rs = zone_node_rrset(node, qtype);
		if (rs)
			put_rrset(ctx, SEC_AN, c.owner, rs, rs->ttl);
		else
			put_negative(ctx, z, DNS_RC_NOERROR,
				     neg_cap(ctx, c.name, c.name_len));
		return;
	}
	/* ANSWER_MAX_CHAIN steps: an absurd chain; what we have stands. */
}

static bool name_eq(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}
#define NAME_IS(n, len, lit) name_eq(n, len, lit, sizeof(lit))

/* CHAOS class: id.server/hostname.bind answer the NSID, version.bind and
 * version.server the configured version; everything else is refused. */
static void answer_chaos(struct answer_ctx *ctx, const struct answer_view *v)
{
	const struct wire_query *q = &ctx->q;
	const char *text = NULL;
	size_t text_len = 0;
	if (NAME_IS(q->qname_lc, q->qname_len, "\2id\6server") ||
	    NAME_IS(q->qname_lc, q->qname_len, "\10hostname\4bind")) {
		text = v->nsid;
		text_len = v->nsid_len;
	} else if (NAME_IS(q->qname_lc, q->qname_len, "\7version\4bind") ||
		   NAME_IS(q->qname_lc, q->qname_len, "\7version\6server")) {
		text = v->version;
		text_len = v->version_len;
	}
	if (!text || text_len > 255) {
		ctx->flags |= DNS_RC_REFUSED;
		return;
	}
	ctx->flags |= DNS_F_AA;
	if (q->qtype != DNS_T_TXT && q->qtype != DNS_T_ANY)
		return;
	uint8_t rd[256];
	rd[0] = (uint8_t)text_len;
	memcpy(rd + 1, text, text_len);
	if (wire_put_rr(&ctx->w, q->qname, DNS_T_TXT, DNS_C_CH, 0, rd,
			(uint16_t)(text_len + 1)) == 0)
		ctx->an++;
	else
		ctx->tc = true;
}

/* What the OPT record of the response carries. */
struct opt_plan {
	bool nsid, ecs, cookie;
	size_t len;
};

/* The OPT record's length for what p says it carries. */
static size_t opt_len(const struct answer_ctx *ctx, const struct answer_view *v,
		      const struct opt_plan *p)
{
	size_t len = 11;
	if (p->cookie)
		len += 4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
	if (p->nsid)
		len += 4 + v->nsid_len;
	if (p->ecs)
		len += 4 + 4 + (ctx->q.ecs_source + 7u) / 8;
	return len;
}

static struct opt_plan plan_opt(const struct answer_ctx *ctx,
				const struct answer_view *v, bool full)
{
	const struct wire_query *q = &ctx->q;
	struct opt_plan p = {0};
	if (!q->has_opt)
		return p;
	p.cookie = q->has_cookie;
	p.nsid = full && q->has_nsid && v->nsid;
	p.ecs = full && q->has_ecs;
	p.len = opt_len(ctx, v, &p);
	return p;
}

static int put_opt(struct answer_ctx *ctx, const struct answer_view *v,
		   const struct opt_plan *p, const struct sockaddr *src,
		   uint32_t now)
{
	const struct wire_query *q = &ctx->q;
	struct wire_writer *w = &ctx->w;
	uint32_t ttl =
	    (uint32_t)ctx->ext_rcode << 24 | (q->edns_do ? EDNS_DO : 0);
	struct wire_mark m = wire_mark(w);
	int ret = 0;
	ret |= wire_put_u8(w, 0);
	ret |= wire_put_u16(w, DNS_T_OPT);
	ret |= wire_put_u16(w, v->udp_payload);
	ret |= wire_put_u32(w, ttl);
	ret |= wire_put_u16(w, (uint16_t)(p->len - 11));
	if (p->nsid) {
		ret |= wire_put_u16(w, EDNS_OPT_NSID);
		ret |= wire_put_u16(w, (uint16_t)v->nsid_len);
		ret |= wire_put_bytes(w, v->nsid, v->nsid_len);
	}
	if (p->ecs) {
		size_t alen = (q->ecs_source + 7u) / 8;
		ret |= wire_put_u16(w, EDNS_OPT_ECS);
		ret |= wire_put_u16(w, (uint16_t)(4 + alen));
		ret |= wire_put_u16(w, q->ecs_family);
		ret |= wire_put_u8(w, q->ecs_source);
		ret |= wire_put_u8(w, ctx->ecs_scope);
		ret |= wire_put_bytes(w, q->ecs_addr, alen);
	}
	if (p->cookie) {
		uint8_t sc[COOKIE_SERVER_LEN];
		cookie_make(v->cookie_secret, q->cookie, now, src, sc);
		ret |= wire_put_u16(w, EDNS_OPT_COOKIE);
		ret |= wire_put_u16(w, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
		ret |= wire_put_bytes(w, q->cookie, COOKIE_CLIENT_LEN);
		ret |= wire_put_bytes(w, sc, sizeof(sc));
	}
	if (ret != 0) {
		wire_rewind(w, m);
		return GS_ESPACE;
	}
	ctx->ar++;
	return 0;
}

/* Writes the OPT record whole. When the question left no room for every
 * option (a long name, a long NSID, a small payload), options are given
 * up in turn, NSID first, then ECS, then the cookie, and the response is
 * marked truncated so that the client can ask again over TCP: a response
 * never carries a partial OPT. */
static void put_opt_fitting(struct answer_ctx *ctx,
			    const struct answer_view *v, struct opt_plan *p,
			    const struct sockaddr *src, uint32_t now)
{
	bool *drop[] = {&p->nsid, &p->ecs, &p->cookie};
	size_t i = 0;
	while (put_opt(ctx, v, p, src, now) != 0) {
		while (i < GS_ARRAY_SIZE(drop) && !*drop[i])
			i++;
		if (i == GS_ARRAY_SIZE(drop))
			return; /* not even a bare OPT fits: none at all */
		*drop[i] = false;
		p->len = opt_len(ctx, v, p);
		ctx->flags |= DNS_F_TC;
	}
}

size_t answer_process(struct answer_ctx *ctx, const struct answer_view *v,
		      const uint8_t *pkt, size_t len, uint8_t *out,
		      size_t out_cap, const struct sockaddr *src, bool tcp,
		      uint32_t now)
{
	struct wire_query *q = &ctx->q;
	ctx->stats.queries++;
	enum wire_status st = wire_parse_query(pkt, len, q);
	if (st == WIRE_DROP || out_cap < 512) {
		ctx->stats.dropped++;
		return 0;
	}
	ctx->an = ctx->ns = ctx->ar = 0;
	ctx->tc = false;
	ctx->ext_rcode = 0;
	ctx->ecs_scope = 0;
	ctx->n_chain = ctx->n_dnames = 0;
	ctx->steered = NULL;
	/* RFC 1035 4.1.1: RD is copied into the response to a query, whatever
	 * the rcode; for other opcodes the rest of the header means nothing
	 * to us and nothing is echoed. */
	ctx->flags = (uint16_t)(DNS_F_QR | (q->flags & 0x7800u));
	if (DNS_OPCODE(q->flags) == DNS_OP_QUERY)
		ctx->flags |= q->flags & DNS_F_RD;

	size_t cap;
	if (tcp)
		cap = out_cap < 65535 ? out_cap : 65535;
	else if (q->has_opt && q->edns_version == 0)
		cap = q->edns_udp < 512		     ? 512
		      : q->edns_udp < v->udp_payload ? q->edns_udp
						     : v->udp_payload;
	else
		cap = 512;
	if (cap > out_cap)
		cap = out_cap;
	wire_writer_init(&ctx->w, out, cap);
	ctx->v = v;
	ctx->src = src;
	ctx->w.len = DNS_HDR_LEN;

	bool full = false;
	if (st == WIRE_FORMERR) {
		ctx->flags |= DNS_RC_FORMERR;
	} else if (DNS_OPCODE(q->flags) != DNS_OP_QUERY) {
		ctx->flags |= DNS_RC_NOTIMP;
	} else if (q->has_opt && q->edns_version != 0) {
		ctx->ext_rcode = DNS_RC_BADVERS >> 4;
	} else if (!q->has_question) {
		/* RFC 7873 5.4: a query with only a COOKIE gets a cookie. */
		if (!(q->has_opt && q->has_cookie))
			ctx->flags |= DNS_RC_FORMERR;
	} else {
		full = true;
		ctx->flags |= q->flags & DNS_F_CD;
	}

	struct opt_plan plan = plan_opt(ctx, v, full);
	uint16_t qd = 0;
	if (q->has_question) {
		wire_put_name(&ctx->w, q->qname, false);
		wire_put_u16(&ctx->w, q->qtype);
		wire_put_u16(&ctx->w, q->qclass);
		qd = 1;
	}
	wire_writer_limit(&ctx->w, cap - plan.len);

	if (full) {
		const struct zone *z;
		if (q->qclass == DNS_C_CH)
			answer_chaos(ctx, v);
		else if (q->qclass != DNS_C_IN)
			ctx->flags |= DNS_RC_REFUSED;
		else if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR)
			ctx->flags |= DNS_RC_REFUSED;
		else if (!(z = zoneset_find(v->zones, q->qname_lc,
					    q->qname_len)))
			ctx->flags |= DNS_RC_REFUSED;
		else
			answer_zone(ctx, z);
	}

	if (ctx->tc)
		ctx->flags |= DNS_F_TC;
	ctx->w.cap = cap;
	if (plan.len)
		put_opt_fitting(ctx, v, &plan, src, now);
	if (ctx->flags & DNS_F_TC)
		ctx->stats.truncated++;
	wire_put_header(&ctx->w, q->id, ctx->flags, qd, ctx->an, ctx->ns,
			ctx->ar);
	unsigned rc = ctx->ext_rcode ? DNS_RC_BADVERS : DNS_RCODE(ctx->flags);
	ctx->stats.rcode[rc < 17 ? rc : 0]++;
	return ctx->w.len;
}
