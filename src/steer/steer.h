/* steer.h: steered names. For each service, the regions a client should
 * be sent to, nearest first, compiled at load time into one covering range
 * table per address family whose entries point at interned region orders,
 * so that choosing a region on the query path is a binary search: no
 * allocation, no lock, no floating point.
 *
 * A steer_set is built on the main thread and immutable afterwards; any
 * number of threads may read it. */
#ifndef GS_STEER_STEER_H
#define GS_STEER_STEER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf/conf.h"
#include "dns/zone.h"
#include "geo/geo.h"
#include "health/hc_checker.h"

#define STEER_MAX_REGIONS 64

struct steer_region {
	char *name;
	double lat, lon;
	uint16_t n4, n6;
	uint8_t (*a4)[4];  /* IPv4 addresses, network order */
	uint8_t (*a6)[16]; /* IPv6 addresses */
	/* Health: one flag per answer address (NULL entries: static), or,
	 * with check_addresses, the flags of those (n_checks > 0): then the
	 * region is up when any of them is, and answers carry every
	 * address. */
	const struct hc_flag **f4, **f6;
	uint16_t n_checks;
	const struct hc_flag **checks;
	/* Set by the main thread from the admin state (steer_set_drained);
	 * read by workers without a lock. */
	atomic_bool drained;
};

/* Covering tables: entry i holds the addresses from start to the next
 * entry's start - 1 (the last one to the end of the space); entry 0
 * starts at 0. Adjacent entries have different orders. */
struct steer_entry4 {
	uint32_t start;
	uint16_t order;
};
struct steer_entry6 {
	uint8_t start[16];
	uint16_t order;
};

struct steer_service {
	char *name;
	uint32_t ttl;
	enum conf_all_down all_down;
	uint16_t n_regions;
	struct steer_region *regions; /* config order */
	uint16_t n_orders;
	uint8_t *orders; /* n_orders x n_regions region indices */
	uint16_t unknown_order; /* for addresses with no known location */
	size_t n4, n6;
	struct steer_entry4 *t4;
	struct steer_entry6 *t6;
};

/* A steered host name: exact, or the base of a wildcard ("*.base"). */
struct steer_host {
	uint8_t name[255]; /* lowercase wire form (the base for wildcards) */
	uint8_t len;
	uint16_t service;
};

struct steer_set {
	struct hc_checker *checker; /* where the health flags come from */
	size_t n_services;
	struct steer_service *services;
	size_t n_exact, n_wild;
	struct steer_host *exact; /* sorted by (len, bytes) */
	struct steer_host *wild;
};

/* Builds the steering data of every service in c, against the zones (a
 * host must be inside a zone, not at or below a delegation or a DNAME,
 * and an exact host must have no A, AAAA or CNAME in the zone file) and
 * the GeoIP data (may be NULL: every client then gets the unknown order).
 * With a checker, every address of a region with a check (or every
 * check address) becomes a health target there (new ones start up when
 * initial_up, else down until their first probe); without one, every
 * address is static.
 * Errors are logged as "FILE: services[i].KEY: message" with FILE the
 * config file. Returns 0 and a new set the caller owns (steer_free), or
 * GS_ECONFIG after logging every error. Main thread. */
int steer_build(const struct conf *c, const struct zoneset *zs,
		const struct geo_db *geo, struct hc_checker *checker,
		bool initial_up, struct steer_set **out);

/* Frees s and drops its references to health targets. Main thread. */
void steer_free(struct steer_set *s);

/* True if the region may be answered with: not drained and at least one
 * target up. Any thread; no lock. */
bool steer_region_usable(const struct steer_region *r);
/* True if at least one target of the region is up (drains aside). */
bool steer_region_healthy(const struct steer_region *r);
static inline bool steer_region_drained(const struct steer_region *r)
{
	return atomic_load_explicit(&r->drained, memory_order_relaxed);
}

/* Marks the region of the service drained or not. Returns false if the
 * set has no such service or region. Main thread. */
bool steer_set_drained(struct steer_set *s, const char *service,
		       const char *region, bool drained);

/* How a service answers right now. */
enum steer_mode {
	STEER_NORMAL = 0,  /* from the nearest usable region */
	STEER_FAIL_OPEN,   /* no region usable: from every non-drained one */
	STEER_FAIL_CLOSED, /* no region usable: SERVFAIL */
	STEER_ALL_DRAINED, /* every region drained: SERVFAIL */
};
enum steer_mode steer_mode_now(const struct steer_service *svc);
const char *steer_mode_name(enum steer_mode m);

/* Whether address i (of family AF_INET or AF_INET6) of region r is put
 * in answers in this mode: its target is up, or the region's health comes
 * from check_addresses, or the service fails open. */
bool steer_addr_answered(const struct steer_region *r, int family,
			 unsigned i, enum steer_mode mode);

/* The region that answers a query for family (AF_INET, AF_INET6, or 0
 * for either) from a client whose region order is order: in mode
 * STEER_NORMAL the first usable region with an answered address of the
 * family, in STEER_FAIL_OPEN the first non-drained region with an
 * address of it. Returns its index in svc->regions, or -1 when none has
 * one (NODATA; SERVFAIL when *mode is STEER_FAIL_CLOSED or
 * STEER_ALL_DRAINED). Any thread; no allocation, no lock. */
int steer_pick(const struct steer_service *svc, const uint8_t *order,
	       int family, enum steer_mode *mode);

/* The service steering name (lowercase wire, valid), or NULL. *wildcard
 * tells whether it matched through a wildcard host. Any thread. */
const struct steer_service *steer_match(const struct steer_set *s,
					const uint8_t *name, size_t len,
					bool *wildcard);

/* The service whose host is name or an ancestor of it (an exact host at
 * or above name, or a wildcard base strictly above it), the closest one
 * winning; NULL if none. Negative answers at or under a steered name use
 * it to cap their TTL. Any thread; no allocation. */
const struct steer_service *steer_cover(const struct steer_set *s,
					const uint8_t *name, size_t len);

/* A client address: family AF_INET (4 bytes used) or AF_INET6. */
struct steer_client {
	int family;
	uint8_t addr[16];
};

/* The client's region order (svc->n_regions region indices, nearest
 * first). *scope is set to the shortest prefix length around the address
 * inside which every address gets the same order (the ECS scope). Any
 * thread; no allocation. */
const uint8_t *steer_order(const struct steer_service *svc,
			   const struct steer_client *c, uint8_t *scope);

/* The state of region r of svc as status and explain show it, in mode
 * (steer_mode_now): "drained", "up", "fail-open" (down but answered) or
 * "down". Main thread. */
const char *steer_region_state(const struct steer_region *r,
			       enum steer_mode mode);

/* Why address (text, IPv4 or IPv6) gets the answer it gets: the explain
 * result of the control protocol (see control/ctl_proto.h), for the
 * service steering name (presentation form), or for every service when
 * name is NULL. geo may be NULL; default_location is the config's (may be
 * NULL). Returns a new JSON object, or NULL with the reason in err (bad
 * address, name not steered). Main thread. */
json_t *steer_explain(const struct steer_set *s, const struct geo_db *geo,
		      const char *default_location, const char *address,
		      const char *name, char *err, size_t errlen);

#endif
