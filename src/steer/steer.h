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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The service steering name (lowercase wire, valid), or NULL. *wildcard
 * tells whether it matched through a wildcard host. Any thread. */
const struct steer_service *steer_match(const struct steer_set *s,
					const uint8_t *name, size_t len,
					bool *wildcard);

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

#endif
