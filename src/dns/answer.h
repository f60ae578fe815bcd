/* answer.h: turns one query packet into one response packet. Pure
 * computation over an immutable view; no allocation, no locks, no system
 * calls. Each worker thread owns its own answer_ctx. */
#ifndef GS_DNS_ANSWER_H
#define GS_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/cookie.h"
#include "dns/wire.h"
#include "dns/zone.h"
#include "steer/steer.h"

/* Everything the answer code reads, immutable while any worker uses it.
 * Built by the main thread at start and reload. Borrowed pointers. */
struct answer_view {
	const struct zoneset *zones;
	const struct steer_set *steer; /* steered names; never NULL */
	const char *nsid;     /* NULL: no NSID and id.server is REFUSED */
	size_t nsid_len;      /* 1..255 */
	const char *version;  /* NULL: version.bind is REFUSED */
	size_t version_len;   /* 1..255 */
	uint16_t udp_payload; /* our EDNS UDP size, 512..4096 */
	uint8_t cookie_secret[COOKIE_SECRET_LEN];
};

/* Counters a worker keeps; summed by the main thread for metrics. */
struct answer_stats {
	uint64_t queries;
	uint64_t dropped;
	uint64_t truncated;
	uint64_t all_down; /* steered answers with no usable region */
	uint64_t rcode[17]; /* by response rcode; [16] = BADVERS */
};

/* CNAME and DNAME steps followed within one answer. */
#define ANSWER_MAX_CHAIN 8

/* Per-worker scratch, reset per packet. */
struct answer_ctx {
	const struct answer_view *v; /* for the query being answered */
	const struct sockaddr *src;
	struct wire_query q;
	struct wire_writer w;
	uint16_t an, ns, ar; /* section counts of the response */
	uint16_t flags;	     /* response flags being built */
	uint8_t ext_rcode;   /* high bits of the rcode, for OPT */
	uint8_t ecs_scope;   /* scope to send in an ECS echo */
	bool tc;
	struct answer_stats stats;
	/* [0..1]: lowercase lookup names, [2..3]: names as written */
	uint8_t scratch[4][DNS_MAX_NAME];
	/* The names a CNAME or DNAME chain has reached (lowercase), and the
	 * DNAME nodes it used: a name met again ends the chain (RFC 1034
	 * 3.6.2), a DNAME met again is not written again, so no answer holds
	 * an RR twice. */
	unsigned n_chain, n_dnames;
	uint8_t chain_len[ANSWER_MAX_CHAIN];
	uint8_t chain[ANSWER_MAX_CHAIN][DNS_MAX_NAME];
	const struct zone_node *dnames[ANSWER_MAX_CHAIN];
	/* The steered name the last answer came from, or NULL: explain
	 * follows the answer path with it. Valid until the next query. */
	const struct steer_service *steered;
	const uint8_t *steered_name; /* lowercase wire */
	size_t steered_len;
};

void answer_ctx_init(struct answer_ctx *ctx);

/* Adds the counters of add into sum. */
void answer_stats_add(struct answer_stats *sum, const struct answer_stats *add);

/* Answers pkt[0..len) from a client at src (used for cookies), received
 * over TCP when tcp is true. The response goes to out[0..out_cap), out_cap
 * at least 512 (65535 for TCP). now is the wall-clock time in seconds.
 * Returns the response length, or 0 when the packet is to be dropped.
 * Any thread, with its own ctx. */
size_t answer_process(struct answer_ctx *ctx, const struct answer_view *v,
		      const uint8_t *pkt, size_t len, uint8_t *out,
		      size_t out_cap, const struct sockaddr *src, bool tcp,
		      uint32_t now);

#endif
