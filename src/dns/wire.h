/* wire.h: DNS wire format on the query path: a bounds-checked query parser
 * and a response writer with name compression. Nothing here allocates,
 * locks or calls the system; every function may be called from any thread
 * on its own objects. ldns is not used here. */
#ifndef GS_DNS_WIRE_H
#define GS_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_MAX_NAME 255
#define DNS_MAX_UDP 65535

/* Types and classes used by the code (others are just numbers). */
enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_HINFO = 13,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_NAPTR = 35,
	DNS_T_DNAME = 39,
	DNS_T_OPT = 41,
	DNS_T_DS = 43,
	DNS_T_SSHFP = 44,
	DNS_T_RRSIG = 46,
	DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48,
	DNS_T_TLSA = 52,
	DNS_T_SVCB = 64,
	DNS_T_HTTPS = 65,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_MAILB = 253,
	DNS_T_MAILA = 254,
	DNS_T_ANY = 255,
	DNS_T_CAA = 257,
};
enum { DNS_C_IN = 1, DNS_C_CH = 3, DNS_C_NONE = 254, DNS_C_ANY = 255 };
enum {
	DNS_OP_QUERY = 0,
};
enum {
	DNS_RC_NOERROR = 0,
	DNS_RC_FORMERR = 1,
	DNS_RC_SERVFAIL = 2,
	DNS_RC_NXDOMAIN = 3,
	DNS_RC_NOTIMP = 4,
	DNS_RC_REFUSED = 5,
	DNS_RC_YXDOMAIN = 6,
	DNS_RC_BADVERS = 16, /* extended: needs OPT */
};
/* Header flag bits in the 16-bit flags word (bytes 2-3 of the header). */
#define DNS_F_QR 0x8000u
#define DNS_F_AA 0x0400u
#define DNS_F_TC 0x0200u
#define DNS_F_RD 0x0100u
#define DNS_F_RA 0x0080u
#define DNS_F_AD 0x0020u
#define DNS_F_CD 0x0010u
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define DNS_RCODE(flags) ((flags)&0xfu)

/* EDNS option codes. */
enum {
	EDNS_OPT_NSID = 3,
	EDNS_OPT_ECS = 8,
	EDNS_OPT_COOKIE = 10,
};
#define EDNS_DO 0x8000u
#define EDNS_COOKIE_CLIENT_LEN 8
#define EDNS_COOKIE_MAX_LEN 40

enum wire_status {
	WIRE_OK = 0,  /* parsed; the answer layer decides what to do */
	WIRE_DROP,    /* not a query we answer at all (QR set, short header) */
	WIRE_FORMERR, /* answer FORMERR; has_question/has_opt say what to echo */
};

/* A parsed query. All fields are copies: nothing points into the packet. */
struct wire_query {
	uint16_t id;
	uint16_t flags;	  /* raw header flags word */
	uint16_t qdcount; /* raw counts, as received */
	uint16_t ancount;
	uint16_t nscount;
	uint16_t arcount;

	bool has_question;    /* question parsed and valid, may be echoed */
	uint8_t qname_len;    /* wire length including the root label */
	uint8_t qname_labels; /* labels, not counting the root */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t qname[DNS_MAX_NAME];	/* as received (case kept) */
	uint8_t qname_lc[DNS_MAX_NAME]; /* lowercased copy */

	/* EDNS (RFC 6891). has_opt is false when no OPT was present or the OPT
	 * itself was malformed (then the status is WIRE_FORMERR). */
	bool has_opt;
	bool edns_do;
	uint8_t edns_version;
	uint16_t edns_udp; /* advertised payload size, raw */

	bool has_nsid; /* NSID option present (RFC 5001) */

	/* EDNS Client Subnet (RFC 7871), validated per its section 6. */
	bool has_ecs;
	uint8_t ecs_source;   /* SOURCE PREFIX-LENGTH */
	uint8_t ecs_scope;    /* SCOPE PREFIX-LENGTH as received */
	uint16_t ecs_family;  /* 1 = IPv4, 2 = IPv6 */
	uint8_t ecs_addr[16]; /* address, zero past the source prefix */

	/* DNS COOKIE (RFC 7873): 8 bytes of client cookie, optionally followed
	 * by 8..32 bytes of server cookie. */
	bool has_cookie;
	uint8_t cookie_len;
	uint8_t cookie[EDNS_COOKIE_MAX_LEN];
};

/* Parses the query in pkt[0..len). Fills *q as far as the packet allows and
 * returns a wire_status. Rules:
 *  - len < 12 or QR set: WIRE_DROP.
 *  - QDCOUNT > 1: WIRE_FORMERR (no question). QDCOUNT == 0: WIRE_OK with
 *    has_question false (the caller decides; a COOKIE-only query is legal).
 *  - question name with a compression pointer, a bad label type, a name
 *    over 255 bytes, or a truncated question: WIRE_FORMERR.
 *  - records in the answer/authority/additional sections are walked with
 *    bounds checks (compression pointers allowed there); a truncated record
 *    is WIRE_FORMERR. Bytes after the last record are ignored.
 *  - OPT: more than one, outside the additional section, owner not root,
 *    or an option overrunning the RDATA: FORMERR with has_opt false (the
 *    record itself is broken: no OPT in the response). A badly formatted
 *    ECS or COOKIE value: FORMERR with has_opt true and no option taken
 *    (RFC 6891 7: the response carries an OPT).
 *  - EDNS version > 0: WIRE_OK with edns_version set; options are then not
 *    validated (the caller answers BADVERS).
 *  - ECS: family other than 1 or 2, source or scope prefix longer than the
 *    address, address length != ceil(source/8), bits set past the source
 *    prefix, or a second ECS option: WIRE_FORMERR (a bad value, above).
 * Any thread; no allocation. */
enum wire_status wire_parse_query(const uint8_t *pkt, size_t len,
				  struct wire_query *q);

/* Lowercases an uncompressed wire name of len bytes from src into dst
 * (may be the same buffer). */
void wire_name_lower(uint8_t *dst, const uint8_t *src, size_t len);

/* Validates an uncompressed wire name in buf[0..maxlen): returns its length
 * (including the root label) or 0 if malformed. */
size_t wire_name_len(const uint8_t *buf, size_t maxlen);

/* Number of labels (root not counted) of a valid uncompressed wire name. */
unsigned wire_name_labels(const uint8_t *name);

/* Compares two valid uncompressed wire names in DNSSEC canonical order
 * (RFC 4034 6.1), ignoring ASCII case: <0, 0, >0. */
int wire_name_cmp(const uint8_t *a, const uint8_t *b);

/* True if name is equal to or below origin (both valid, lowercase). */
bool wire_name_is_sub(const uint8_t *name, size_t name_len,
		      const uint8_t *origin, size_t origin_len);

#define WIRE_COMP_MAX 96

/* Response writer over a caller-owned buffer. Names written through it are
 * remembered (label by label, while their offset fits in 14 bits) so later
 * names are compressed against them; matching ignores ASCII case. */
struct wire_writer {
	uint8_t *buf;
	size_t cap; /* writes never pass this */
	size_t len;
	unsigned n_comp;
	uint16_t comp[WIRE_COMP_MAX]; /* offsets of remembered label starts */
};

/* A saved position, to undo a partly written RRset on GS_ESPACE. */
struct wire_mark {
	size_t len;
	unsigned n_comp;
};

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap);
static inline struct wire_mark wire_mark(const struct wire_writer *w)
{
	struct wire_mark m = {w->len, w->n_comp};
	return m;
}
static inline void wire_rewind(struct wire_writer *w, struct wire_mark m)
{
	w->len = m.len;
	w->n_comp = m.n_comp;
}
/* Lowers the capacity (e.g. to keep room for OPT); never raises it. */
void wire_writer_limit(struct wire_writer *w, size_t cap);

/* Each put returns 0, or GS_ESPACE with w->len unchanged. */
int wire_put_u8(struct wire_writer *w, uint8_t v);
int wire_put_u16(struct wire_writer *w, uint16_t v);
int wire_put_u32(struct wire_writer *w, uint32_t v);
int wire_put_bytes(struct wire_writer *w, const void *p, size_t n);
/* Writes a valid uncompressed wire name, compressed when compress is true
 * and an earlier name shares a suffix. The name is remembered either way. */
int wire_put_name(struct wire_writer *w, const uint8_t *name, bool compress);
/* Writes one resource record: owner (compressed), type, class, ttl, rdlength
 * and rdata. rdata is uncompressed wire RDATA (as stored in a zone); the
 * embedded names of NS, CNAME, PTR, MX and SOA are compressed (RFC 3597
 * section 4), all other types are copied as they are. */
int wire_put_rr(struct wire_writer *w, const uint8_t *owner, uint16_t type,
		uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
		uint16_t rdlen);
/* Writes the 12-byte header at offset 0 (does not move len if len > 12). */
void wire_put_header(struct wire_writer *w, uint16_t id, uint16_t flags,
		     uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar);

#endif
