/* wire.c: DNS wire format on the query path. The parser never reads past
 * the packet it is given and copies what it keeps; the writer never writes
 * past its capacity and leaves the buffer as it was when a put fails. */
#include "config.h"

#include <string.h>

#include "common/compiler.h"
#include "common/errcode.h"
#include "dns/wire.h"

/* Label length bytes: 00xxxxxx is a normal label, 11xxxxxx a compression
 * pointer, 01 and 10 are extended label types that nobody may send. */
#define LABEL_TYPE_MASK 0xc0u
#define LABEL_PTR 0xc0u
#define LABEL_MAX 63u
#define PTR_MAX_OFF 0x3fffu
/* A valid name has at most 127 labels (2 bytes each, plus the root). */
#define NAME_MAX_LABELS 127u
/* Bound on pointer hops while matching against our own buffer. */
#define PTR_MAX_HOPS 128u

#define ECS_FAMILY_IP4 1u
#define ECS_FAMILY_IP6 2u
#define OPT_HDR_LEN 4u
#define RR_FIXED_LEN 10u  /* type, class, ttl, rdlength */
#define SOA_FIXED_LEN 20u /* serial, refresh, retry, expire, minimum */
#define COOKIE_MIN_FULL 16u

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ASCII lowercase of one octet; label length bytes (0..63) and every octet
 * outside 'A'..'Z' pass through unchanged. */
static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c + (((unsigned)c - 'A' < 26u) << 5));
}

/* ---- parser -------------------------------------------------------- */

static void reset_edns(struct wire_query *q)
{
	q->has_opt = false;
	q->edns_do = false;
	q->edns_version = 0;
	q->edns_udp = 0;
	q->has_nsid = false;
	q->has_ecs = false;
	q->ecs_source = 0;
	q->ecs_scope = 0;
	q->ecs_family = 0;
	memset(q->ecs_addr, 0, sizeof(q->ecs_addr));
	q->has_cookie = false;
	q->cookie_len = 0;
}

/* Question name at pkt[*pos..len): plain labels only. Copies it as received
 * and lowercased. Returns false on any violation. */
static bool parse_qname(const uint8_t *pkt, size_t len, size_t *pos,
			struct wire_query *q)
{
	size_t p = *pos;
	size_t n = 0; /* bytes copied so far */
	unsigned labels = 0;

	for (;;) {
		if (GS_UNLIKELY(p >= len))
			return false;
		uint8_t c = pkt[p];
		if (c == 0)
			break;
		if (GS_UNLIKELY(c > LABEL_MAX))
			return false; /* pointer or extended label type */
		/* this label plus at least the root must still fit */
		if (GS_UNLIKELY(n + c + 2 > DNS_MAX_NAME))
			return false;
		if (GS_UNLIKELY(len - p <= c))
			return false;
		q->qname[n] = c;
		q->qname_lc[n] = c;
		for (unsigned i = 1; i <= c; i++) {
			uint8_t b = pkt[p + i];
			q->qname[n + i] = b;
			q->qname_lc[n + i] = lower(b);
		}
		n += 1u + c;
		p += 1u + c;
		labels++;
	}
	q->qname[n] = 0;
	q->qname_lc[n] = 0;
	q->qname_len = (uint8_t)(n + 1);
	q->qname_labels = (uint8_t)labels;
	*pos = p + 1;
	return true;
}

/* Skips a possibly compressed owner name at pkt[*pos..len) without
 * following pointers. */
static bool skip_name(const uint8_t *pkt, size_t len, size_t *pos)
{
	size_t p = *pos;
	size_t n = 0;

	for (;;) {
		if (GS_UNLIKELY(p >= len))
			return false;
		uint8_t c = pkt[p];
		if (c == 0) {
			p++;
			break;
		}
		if ((c & LABEL_TYPE_MASK) == LABEL_PTR) {
			if (GS_UNLIKELY(len - p < 2))
				return false;
			p += 2;
			break;
		}
		if (GS_UNLIKELY(c > LABEL_MAX))
			return false;
		n += 1u + c;
		if (GS_UNLIKELY(n + 1 > DNS_MAX_NAME))
			return false;
		p += 1u + c;
	}
	*pos = p;
	return true;
}

static bool parse_ecs(const uint8_t *d, uint16_t olen, struct wire_query *q)
{
	if (q->has_ecs || olen < 4)
		return false;
	uint16_t family = get16(d);
	unsigned max;
	if (family == ECS_FAMILY_IP4)
		max = 32;
	else if (family == ECS_FAMILY_IP6)
		max = 128;
	else
		return false;
	unsigned source = d[2];
	unsigned scope = d[3];
	if (source > max || scope > max)
		return false;
	unsigned alen = olen - 4u;
	if (alen != (source + 7u) / 8u)
		return false;
	const uint8_t *addr = d + 4;
	if (source % 8u != 0 && (addr[alen - 1] & (0xffu >> (source % 8u))))
		return false;
	memcpy(q->ecs_addr, addr, alen);
	q->ecs_family = family;
	q->ecs_source = (uint8_t)source;
	q->ecs_scope = (uint8_t)scope;
	q->has_ecs = true;
	return true;
}

static bool parse_cookie(const uint8_t *d, uint16_t olen, struct wire_query *q)
{
	if (q->has_cookie)
		return false;
	if (olen != EDNS_COOKIE_CLIENT_LEN &&
	    (olen < COOKIE_MIN_FULL || olen > EDNS_COOKIE_MAX_LEN))
		return false;
	memcpy(q->cookie, d, olen);
	q->cookie_len = (uint8_t)olen;
	q->has_cookie = true;
	return true;
}

enum opt_status {
	OPT_GOOD,
	OPT_BROKEN,    /* the record itself: no OPT in the FORMERR */
	OPT_BAD_VALUE, /* an option's value: FORMERR with an OPT */
};

/* The OPT record's fields after its owner: class, ttl and rdata. */
static enum opt_status parse_opt(uint16_t rclass, uint32_t ttl,
				 const uint8_t *rd, uint16_t rdlen,
				 struct wire_query *q)
{
	q->edns_udp = rclass;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & EDNS_DO) != 0;
	if (q->edns_version != 0)
		return OPT_GOOD; /* BADVERS: the options are not ours to judge */

	bool bad = false;
	size_t p = 0;
	while (p < rdlen) {
		if (rdlen - p < OPT_HDR_LEN)
			return OPT_BROKEN;
		uint16_t code = get16(rd + p);
		uint16_t olen = get16(rd + p + 2);
		p += OPT_HDR_LEN;
		if (olen > rdlen - p)
			return OPT_BROKEN;
		const uint8_t *d = rd + p;
		switch (code) {
		case EDNS_OPT_NSID:
			q->has_nsid = true;
			break;
		case EDNS_OPT_ECS:
			bad |= !parse_ecs(d, olen, q);
			break;
		case EDNS_OPT_COOKIE:
			bad |= !parse_cookie(d, olen, q);
			break;
		default:
			break;
		}
		p += olen;
	}
	return bad ? OPT_BAD_VALUE : OPT_GOOD;
}

enum wire_status wire_parse_query(const uint8_t *pkt, size_t len,
				  struct wire_query *q)
{
	q->has_question = false;
	q->qname_len = 0;
	q->qname_labels = 0;
	q->qtype = 0;
	q->qclass = 0;
	q->qname[0] = 0;
	q->qname_lc[0] = 0;
	reset_edns(q);

	if (GS_UNLIKELY(len < DNS_HDR_LEN)) {
		q->id = 0;
		q->flags = 0;
		q->qdcount = q->ancount = q->nscount = q->arcount = 0;
		return WIRE_DROP;
	}
	q->id = get16(pkt);
	q->flags = get16(pkt + 2);
	q->qdcount = get16(pkt + 4);
	q->ancount = get16(pkt + 6);
	q->nscount = get16(pkt + 8);
	q->arcount = get16(pkt + 10);
	if (GS_UNLIKELY(q->flags & DNS_F_QR))
		return WIRE_DROP;
	if (GS_UNLIKELY(q->qdcount > 1))
		return WIRE_FORMERR;

	size_t pos = DNS_HDR_LEN;
	if (q->qdcount == 1) {
		if (!parse_qname(pkt, len, &pos, q))
			goto formerr_q;
		if (GS_UNLIKELY(len - pos < 4))
			goto formerr_q;
		q->qtype = get16(pkt + pos);
		q->qclass = get16(pkt + pos + 2);
		pos += 4;
		q->has_question = true;
	}

	unsigned an_end = q->ancount;
	unsigned ns_end = an_end + q->nscount;
	unsigned total = ns_end + q->arcount;
	bool seen_opt = false, bad_value = false;
	for (unsigned i = 0; i < total; i++) {
		size_t owner = pos;
		if (!skip_name(pkt, len, &pos))
			return WIRE_FORMERR;
		bool root_owner = pos - owner == 1; /* only "\0" is 1 byte */
		if (len - pos < RR_FIXED_LEN)
			return WIRE_FORMERR;
		uint16_t type = get16(pkt + pos);
		uint16_t rclass = get16(pkt + pos + 2);
		uint32_t ttl = get32(pkt + pos + 4);
		uint16_t rdlen = get16(pkt + pos + 8);
		pos += RR_FIXED_LEN;
		if (len - pos < rdlen)
			return WIRE_FORMERR;
		const uint8_t *rd = pkt + pos;
		pos += rdlen;
		if (type != DNS_T_OPT)
			continue;
		/* OPT: once, in the additional section, owned by the root */
		if (i < ns_end || seen_opt || !root_owner)
			goto formerr_opt;
		seen_opt = true;
		enum opt_status os = parse_opt(rclass, ttl, rd, rdlen, q);
		if (os == OPT_BROKEN)
			goto formerr_opt;
		q->has_opt = true;
		bad_value = os == OPT_BAD_VALUE;
	}
	if (bad_value) {
		/* RFC 6891 7: a badly formatted option value is a FORMERR
		 * whose response carries an OPT; none of the options is
		 * taken (or echoed). */
		q->has_nsid = q->has_ecs = q->has_cookie = false;
		q->cookie_len = 0;
		return WIRE_FORMERR;
	}
	return WIRE_OK;

formerr_opt:
	reset_edns(q);
	return WIRE_FORMERR;
formerr_q:
	q->qname_len = 0;
	q->qname_labels = 0;
	q->qname[0] = 0;
	q->qname_lc[0] = 0;
	return WIRE_FORMERR;
}

/* ---- names --------------------------------------------------------- */

void wire_name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = lower(src[i]);
}

size_t wire_name_len(const uint8_t *buf, size_t maxlen)
{
	size_t p = 0;

	for (;;) {
		if (p >= maxlen || p >= DNS_MAX_NAME)
			return 0;
		uint8_t c = buf[p];
		if (c == 0)
			return p + 1;
		if (c > LABEL_MAX)
			return 0;
		p += 1u + c;
	}
}

unsigned wire_name_labels(const uint8_t *name)
{
	unsigned n = 0;
	size_t p = 0;

	while (p < DNS_MAX_NAME && name[p] != 0) {
		p += 1u + name[p];
		n++;
	}
	return n;
}

/* Offsets of the labels of a valid name, root excluded; returns their
 * number. */
static unsigned label_offsets(const uint8_t *name, uint8_t *off)
{
	unsigned n = 0;
	size_t p = 0;

	while (p < DNS_MAX_NAME && name[p] != 0 && n < NAME_MAX_LABELS) {
		off[n++] = (uint8_t)p;
		p += 1u + name[p];
	}
	return n;
}

int wire_name_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[NAME_MAX_LABELS], ob[NAME_MAX_LABELS];
	unsigned na = label_offsets(a, oa);
	unsigned nb = label_offsets(b, ob);

	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na];
		const uint8_t *lb = b + ob[--nb];
		unsigned lena = la[0], lenb = lb[0];
		unsigned n = lena < lenb ? lena : lenb;
		for (unsigned i = 1; i <= n; i++) {
			uint8_t ca = lower(la[i]), cb = lower(lb[i]);
			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
		if (lena != lenb)
			return lena < lenb ? -1 : 1;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	return 0;
}

bool wire_name_is_sub(const uint8_t *name, size_t name_len,
		      const uint8_t *origin, size_t origin_len)
{
	if (origin_len == 0 || origin_len > name_len)
		return false;
	size_t start = name_len - origin_len;
	size_t p = 0;
	while (p < start)
		p += 1u + name[p];
	return p == start && memcmp(name + start, origin, origin_len) == 0;
}

/* ---- writer -------------------------------------------------------- */

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->n_comp = 0;
}

void wire_writer_limit(struct wire_writer *w, size_t cap)
{
	if (cap < w->cap)
		w->cap = cap;
}

static inline bool has_room(const struct wire_writer *w, size_t n)
{
	return w->len <= w->cap && n <= w->cap - w->len;
}

int wire_put_u8(struct wire_writer *w, uint8_t v)
{
	if (GS_UNLIKELY(!has_room(w, 1)))
		return GS_ESPACE;
	w->buf[w->len++] = v;
	return 0;
}

int wire_put_u16(struct wire_writer *w, uint16_t v)
{
	if (GS_UNLIKELY(!has_room(w, 2)))
		return GS_ESPACE;
	set16(w->buf + w->len, v);
	w->len += 2;
	return 0;
}

int wire_put_u32(struct wire_writer *w, uint32_t v)
{
	if (GS_UNLIKELY(!has_room(w, 4)))
		return GS_ESPACE;
	uint8_t *p = w->buf + w->len;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	w->len += 4;
	return 0;
}

int wire_put_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (GS_UNLIKELY(!has_room(w, n)))
		return GS_ESPACE;
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

/* True if the uncompressed name suffix s (ending in the root) spells the
 * same name as the one starting at buffer offset pos, ignoring case. The
 * buffer holds only what this writer wrote, but pointers are still checked
 * to go backwards and hops are bounded. */
static bool match_at(const struct wire_writer *w, const uint8_t *s, size_t pos)
{
	const uint8_t *buf = w->buf;
	size_t end = w->len;
	unsigned hops = 0;

	for (;;) {
		if (pos >= end)
			return false;
		uint8_t c = buf[pos];
		if ((c & LABEL_TYPE_MASK) == LABEL_PTR) {
			if (pos + 1 >= end || ++hops > PTR_MAX_HOPS)
				return false;
			size_t to = (size_t)(c & 0x3fu) << 8 | buf[pos + 1];
			if (to >= pos)
				return false;
			pos = to;
			continue;
		}
		if (c != s[0])
			return false;
		if (c == 0)
			return true;
		if (c > LABEL_MAX || end - pos - 1 < c)
			return false;
		for (unsigned i = 1; i <= c; i++)
			if (lower(buf[pos + i]) != lower(s[i]))
				return false;
		pos += 1u + c;
		s += 1u + c;
	}
}

int wire_put_name(struct wire_writer *w, const uint8_t *name, bool compress)
{
	uint8_t off[NAME_MAX_LABELS];
	unsigned nl = 0;
	size_t p = 0;

	/* label offsets and length, validating as we go */
	for (;;) {
		uint8_t c = name[p];
		if (c == 0)
			break;
		if (c > LABEL_MAX || nl == NAME_MAX_LABELS)
			return GS_EINVAL;
		if (p + c + 2 > DNS_MAX_NAME)
			return GS_EINVAL;
		off[nl++] = (uint8_t)p;
		p += 1u + c;
	}
	size_t name_len = p + 1;

	/* longest remembered suffix: leading labels [0, lit) are literal */
	unsigned lit = nl;
	size_t ptr = 0;
	if (compress) {
		for (unsigned i = 0; i < nl && lit == nl; i++) {
			const uint8_t *s = name + off[i];
			for (unsigned j = 0; j < w->n_comp; j++) {
				size_t at = w->comp[j];
				if (at < w->len && w->buf[at] == s[0] &&
				    match_at(w, s, at)) {
					lit = i;
					ptr = at;
					break;
				}
			}
		}
	}

	size_t lit_len = lit < nl ? off[lit] : name_len - 1;
	size_t need = lit < nl ? lit_len + 2 : name_len;
	if (GS_UNLIKELY(!has_room(w, need)))
		return GS_ESPACE;

	size_t base = w->len;
	memcpy(w->buf + base, name, lit_len);
	if (lit < nl)
		set16(w->buf + base + lit_len, (uint16_t)(0xc000u | ptr));
	else
		w->buf[base + lit_len] = 0;
	w->len = base + need;

	for (unsigned i = 0; i < lit; i++) {
		size_t at = base + off[i];
		if (at > PTR_MAX_OFF || w->n_comp >= WIRE_COMP_MAX)
			break;
		w->comp[w->n_comp++] = (uint16_t)at;
	}
	return 0;
}

/* Writes rdata with its embedded names compressed, or returns
 * GS_EMALF when the rdata does not have the layout of its type (then the
 * caller copies it verbatim). */
static int put_rdata_names(struct wire_writer *w, uint16_t type,
			   const uint8_t *rd, uint16_t rdlen)
{
	size_t n1, n2;
	int ret;

	switch (type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		n1 = wire_name_len(rd, rdlen);
		if (n1 == 0 || n1 != rdlen)
			return GS_EMALF;
		return wire_put_name(w, rd, true);
	case DNS_T_MX:
		if (rdlen < 3)
			return GS_EMALF;
		n1 = wire_name_len(rd + 2, rdlen - 2u);
		if (n1 != rdlen - 2u)
			return GS_EMALF;
		if ((ret = wire_put_bytes(w, rd, 2)) < 0)
			return ret;
		return wire_put_name(w, rd + 2, true);
	case DNS_T_SOA:
		n1 = wire_name_len(rd, rdlen);
		if (n1 == 0)
			return GS_EMALF;
		n2 = wire_name_len(rd + n1, rdlen - n1);
		if (n2 == 0 || n1 + n2 + SOA_FIXED_LEN != rdlen)
			return GS_EMALF;
		if ((ret = wire_put_name(w, rd, true)) < 0 ||
		    (ret = wire_put_name(w, rd + n1, true)) < 0)
			return ret;
		return wire_put_bytes(w, rd + n1 + n2, SOA_FIXED_LEN);
	default:
		return GS_EMALF;
	}
}

int wire_put_rr(struct wire_writer *w, const uint8_t *owner, uint16_t type,
		uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
		uint16_t rdlen)
{
	struct wire_mark m = wire_mark(w);
	struct wire_mark rd_mark;
	size_t rd_at;
	int ret;

	if ((ret = wire_put_name(w, owner, true)) < 0 ||
	    (ret = wire_put_u16(w, type)) < 0 ||
	    (ret = wire_put_u16(w, rclass)) < 0 ||
	    (ret = wire_put_u32(w, ttl)) < 0 || (ret = wire_put_u16(w, 0)) < 0)
		goto fail;

	rd_at = w->len;
	rd_mark = wire_mark(w);
	ret = put_rdata_names(w, type, rdata, rdlen);
	if (ret == GS_EMALF) {
		wire_rewind(w, rd_mark);
		ret = wire_put_bytes(w, rdata, rdlen);
	}
	if (ret < 0)
		goto fail;
	/* compression only shrinks, so this fits in 16 bits */
	set16(w->buf + rd_at - 2, (uint16_t)(w->len - rd_at));
	return 0;
fail:
	wire_rewind(w, m);
	return ret;
}

void wire_put_header(struct wire_writer *w, uint16_t id, uint16_t flags,
		     uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	if (w->cap < DNS_HDR_LEN)
		return;
	uint8_t *p = w->buf;
	set16(p, id);
	set16(p + 2, flags);
	set16(p + 4, qd);
	set16(p + 6, an);
	set16(p + 8, ns);
	set16(p + 10, ar);
	if (w->len < DNS_HDR_LEN)
		w->len = DNS_HDR_LEN;
}
