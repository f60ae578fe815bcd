/* daemon.h: the running geosteerd, shared by main.c and the control
 * commands (commands.c). Main thread only. */
#ifndef GS_DAEMON_DAEMON_H
#define GS_DAEMON_DAEMON_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "conf/conf.h"
#include "control/ctl_server.h"
#include "control/ctl_state.h"
#include "dns/answer.h"
#include "dns/cookie.h"
#include "dns/view.h"
#include "geo/geo.h"
#include "health/hc_checker.h"
#include "steer/steer.h"

/* Everything a reload replaces at once. view comes first: readers see
 * only the view, and the main thread maps it back to its snapshot. */
struct snapshot {
	struct answer_view view;
	struct conf *conf;
	struct zoneset *zones;
	struct geo_db *geo; /* NULL without GeoIP data */
	struct steer_set *steer;
	time_t loaded;
	struct snapshot *next_retired;
};

struct daemon {
	const char *conf_path;
	uint8_t secret[COOKIE_SECRET_LEN];
	struct event_base *base;
	struct snapshot *cur;
	struct snapshot *retired; /* waiting for readers to let go */
	struct event *reclaim_ev;
	struct view_pub pub;
	struct hc_checker *checker;
	struct udp_server *udp;
	struct tcp_server *tcp;
	time_t started;

	/* What the servers were started with: a reload that changes it
	 * warns (it takes effect at restart), every time until then. The
	 * listen addresses only (text NULL). */
	size_t boot_n_listen;
	struct conf_listen *boot_listen;
	unsigned boot_workers, boot_tcp_max_clients;
	double boot_tcp_idle_timeout;

	/* Control: the socket and state file named at start (a reload
	 * that changes them warns: they take effect at restart). */
	struct ctl_server *ctl;
	char *state_path;
	struct ctl_state *admin; /* the drains, as saved in state_path */
	struct event *expiry_ev;
	struct event *watchdog_ev;
};

/* Reloads the configuration (SIGHUP, or the reload command). Returns 0
 * if the new configuration took; otherwise the running one stays, and
 * every error and warning logged meanwhile has been appended to errors
 * (may be NULL) as strings. */
int daemon_reload(struct daemon *d, json_t *errors);

/* Sets the drained flag of every region of s from d->admin. */
void daemon_apply_drains(struct daemon *d, struct snapshot *s);

/* Adopts n (takes ownership) as the admin state, and sets the drained
 * flags of the running and retired snapshots from it. */
void daemon_set_admin(struct daemon *d, struct ctl_state *n);

/* Re-arms the timer that lifts the next drain to expire. */
void daemon_arm_expiry(struct daemon *d);

/* The control commands (commands.c), ending with {NULL, NULL}. */
extern const struct ctl_command daemon_commands[];

#endif
