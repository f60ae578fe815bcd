/* hc_checker.h: the health checker. Every (service, region, address) with
 * a check is a target, probed over HTTP(S) on libcurl's multi-socket API
 * driven by the main thread's libevent loop: no blocking call anywhere.
 * Targets outlive snapshots: a reload asks for its targets again and gets
 * the existing ones (state kept, check settings updated); each snapshot
 * holds a reference, and a target nobody references any more is freed.
 * Everything here runs on the main thread, except hc_flag_up() on the
 * flag, which workers call. */
#ifndef GS_HEALTH_HC_CHECKER_H
#define GS_HEALTH_HC_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "health/hc_flag.h"
#include "health/hc_verdict.h"

struct event_base;
struct hc_checker;

/* What status shows of a target (main thread). Its text, and the skew
 * note below, is valid UTF-8 without control characters: what a server
 * sent is cleaned by the verdict (hc_verdict.h). */
struct hc_target_info {
	const char *service, *region, *address;
	enum hc_state state;
	unsigned passes, fails;
	bool has_result;    /* a probe has ended */
	enum hc_verdict last; /* its verdict, when has_result */
	const char *reason; /* last failure's reason, or "" */
	double latency;	    /* seconds, of the last probe */
	time_t last_change; /* 0 if never */
	const char *server_version;
};

/* How punctual the probes are: a probe's lateness is the time from when
 * its timer was due to when it ran (the event loop was busy). */
struct hc_lateness {
	unsigned long probes;
	double max; /* seconds */
	double sum;
};

/* Kept apart: each target's first probe (the first round at start, and
 * targets a reload adds), and every later one (the steady state). */
struct hc_checker_stats {
	struct hc_lateness first, steady;
};

/* Creates a checker on base. When base has more than one priority
 * (event_base_priority_init), the checker's timers take priority 0, the
 * highest. Returns NULL (logged) if libcurl fails. */
struct hc_checker *hc_checker_new(struct event_base *base);
void hc_checker_free(struct hc_checker *c);

/* The target for this service, region and probed address with this check
 * (which must be enabled): a new one in state unknown (up = initial_up)
 * with these settings, or an existing one, which keeps probing with its
 * running settings until hc_checker_commit() makes check its own (a
 * snapshot being built must change nothing until it takes). Adds a
 * reference. The flag stays valid until the last reference goes. */
const struct hc_flag *hc_checker_target(struct hc_checker *c,
					const char *service, const char *region,
					const struct conf_addr *addr,
					const struct conf_check *check,
					bool initial_up);
/* Drops the reference taken by hc_checker_target(). */
void hc_checker_unref(struct hc_checker *c, const struct hc_flag *flag);

/* The snapshot whose targets were asked for since the last commit or
 * discard took: their new settings become the running ones (a probe in
 * flight finishes with the old ones), and targets with certificate
 * verification off are warned about. */
void hc_checker_commit(struct hc_checker *c);
/* It did not take: every setting asked for since is dropped; the running
 * ones stay. (Its new targets go with its references.) */
void hc_checker_discard(struct hc_checker *c);

/* Starts probing targets that are not scheduled yet. Their first probes
 * start one after another, spread over the shortest of their intervals
 * but at most 5 ms apart; each later probe follows its target's own
 * (jittered) interval. */
void hc_checker_schedule(struct hc_checker *c);

/* Runs base until every target has a first verdict, or for at most
 * max_wait seconds after the last first probe was due. Startup only,
 * before the DNS servers start. */
void hc_checker_first_round(struct hc_checker *c, double max_wait);

const struct hc_checker_stats *hc_checker_stats(const struct hc_checker *c);

/* What the checker last said about the service's healthy regions
 * differing (Teleport version, edition or FIPS), or "" if they agree. */
const char *hc_checker_skew(const struct hc_checker *c, const char *service);

/* Calls fn for every target, sorted by service, region, address. */
void hc_checker_foreach(const struct hc_checker *c,
			void (*fn)(void *arg, const struct hc_target_info *t),
			void *arg);

#endif
