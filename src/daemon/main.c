/* geosteerd: the authoritative DNS daemon. Runs in the foreground; the main
 * thread owns configuration, reloads and signals, and hands immutable
 * snapshots to the UDP and TCP threads. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "common/alloc.h"
#include "control/ctl_server.h"
#include "control/ctl_state.h"
#include "common/errcode.h"
#include "common/log.h"
#include "conf/conf.h"
#include "dns/answer.h"
#include "dns/tcp.h"
#include "dns/udp.h"
#include "dns/view.h"
#include "dns/zone.h"
#include "geo/geo.h"
#include "health/hc_checker.h"
#include "steer/steer.h"
#include "daemon/daemon.h"

static void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	steer_free(s->steer);
	geo_db_free(s->geo);
	zoneset_free(s->zones);
	conf_free(s->conf);
	free(s);
}

/* Loads the GeoIP files of conf into *out (NULL when it names none).
 * Databases whose names did not parse are left out (their errors are
 * out). Returns 0 or a GS_E* code after logging every error. */
static int geo_load(const struct conf *conf, struct geo_db **out)
{
	const struct conf_geoip *g = &conf->geoip;
	*out = NULL;
	if (!g->n_databases && !g->overrides)
		return 0;
	const char **dbs = gs_xcalloc(g->n_databases + 1, sizeof(*dbs));
	size_t n = 0;
	for (size_t i = 0; i < g->n_databases; i++)
		if (g->databases[i])
			dbs[n++] = g->databases[i];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = geo_db_load(dbs, n, g->overrides, NULL, NULL, out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(dbs);
	if (ret != 0) {
		log_err("geoip: not loaded (%s)", gs_strerror(ret));
		return ret;
	}
	log_info("geoip: %zu ranges read from %zu file%s, %zu IPv4 and %zu "
		 "IPv6 ranges after merging, in %.0f ms",
		 (*out)->n_read, (*out)->n_files,
		 (*out)->n_files == 1 ? "" : "s", (*out)->n4, (*out)->n6,
		 (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

/* The files a check reads when it probes: one that cannot be read would
 * fail every probe, so it is a load error, reported once at the key that
 * names it (a service's file once at the service, not again at each region
 * that inherits it). Returns the number of errors logged. */
static unsigned check_files(const struct conf *c)
{
	static const char *const keys[] = {"ca_file", "cert_file", "key_file"};
	unsigned errors = 0;
	for (size_t si = 0; si < c->n_services; si++) {
		const struct conf_service *cs = &c->services[si];
		for (size_t ri = 0; ri <= cs->n_regions; ri++) {
			/* ri == 0: the service's own check; then regions */
			const struct conf_check *k =
			    ri == 0 ? &cs->check : &cs->regions[ri - 1].check;
			const char *const own[] = {k->ca_file, k->cert_file,
						   k->key_file};
			const char *const svc[] = {cs->check.ca_file,
						   cs->check.cert_file,
						   cs->check.key_file};
			for (size_t f = 0; k->enabled && f < 3; f++) {
				if (!own[f] ||
				    (ri > 0 && svc[f] && cs->check.enabled &&
				     strcmp(own[f], svc[f]) == 0) ||
				    access(own[f], R_OK) == 0)
					continue;
				if (ri == 0)
					log_err("%s: services[%zu].check.%s: "
						"cannot read \"%s\" (%s)",
						c->path, si, keys[f], own[f],
						strerror(errno));
				else
					log_err("%s: services[%zu].regions[%zu]"
						".check.%s: cannot read \"%s\" "
						"(%s)",
						c->path, si, ri - 1, keys[f],
						own[f], strerror(errno));
				errors++;
			}
		}
	}
	return errors;
}

/* Loads the config at path and every zone and GeoIP file it names, and
 * builds the steering data, all off to the side. Every stage runs even
 * when an earlier one found errors (as far as what parsed allows), so that
 * one run reports every error (log_err); a snapshot with errors is freed,
 * and the health checker is only asked for targets when nothing failed
 * before the steering stage. Returns 0 and a new snapshot, or the first
 * GS_E* code. */
static int snapshot_load(const char *path, const uint8_t *secret,
			 struct hc_checker *checker, bool initial_up,
			 struct snapshot **out)
{
	struct conf *conf = NULL;
	int failed = conf_load_partial(path, NULL, NULL, &conf);
	if (!conf)
		return failed; /* unreadable, or not JSON: nothing to go on */
	if (check_files(conf) && !failed)
		failed = GS_ECONFIG;
	struct zone **zones = gs_xcalloc(conf->n_zones, sizeof(*zones));
	size_t n_ok = 0;
	for (size_t i = 0; i < conf->n_zones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		if (!cz->origin || !cz->file)
			continue; /* did not parse */
		struct zone *z = NULL;
		int zr = zone_load(cz->origin, cz->file, NULL, NULL, &z);
		if (zr != 0) {
			log_err("zone %s: not loaded (%s)", cz->origin,
				gs_strerror(zr));
			if (!failed)
				failed = zr;
			continue;
		}
		zones[n_ok++] = z;
	}
	struct snapshot *s = gs_xcalloc(1, sizeof(*s));
	s->conf = conf;
	s->zones = zoneset_new(zones, n_ok);
	s->view.zones = s->zones;
	int ret = geo_load(conf, &s->geo);
	if (ret != 0 && !failed)
		failed = ret;
	ret = steer_build(conf, s->zones, s->geo, failed ? NULL : checker,
			  initial_up, &s->steer);
	if (ret != 0 && !failed)
		failed = ret;
	if (failed) {
		snapshot_free(s);
		return failed;
	}
	for (size_t i = 0; i < s->steer->n_services; i++) {
		const struct steer_service *svc = &s->steer->services[i];
		log_info("service %s: %u region%s, %u region orders, %zu IPv4 "
			 "and %zu IPv6 table entries",
			 svc->name, svc->n_regions,
			 svc->n_regions == 1 ? "" : "s", svc->n_orders, svc->n4,
			 svc->n6);
	}
	s->view.steer = s->steer;
	if (conf->nsid) {
		s->view.nsid = conf->nsid;
		s->view.nsid_len = strlen(conf->nsid);
	}
	if (conf->version) {
		s->view.version = conf->version;
		s->view.version_len = strlen(conf->version);
	}
	s->view.udp_payload = conf->udp_payload;
	memcpy(s->view.cookie_secret, secret, COOKIE_SECRET_LEN);
	s->loaded = time(NULL);
	*out = s;
	return 0;
}

/* ---- systemd readiness (sd_notify without libsystemd) --------------- */

static void notify_systemd(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) <
	    0)
		log_warn("systemd: notify failed (%s)", strerror(errno));
	close(fd);
}

/* ---- the running daemon -------------------------------------------- */

static void reclaim(struct daemon *d)
{
	struct snapshot **pp = &d->retired;
	while (*pp) {
		struct snapshot *s = *pp;
		if (view_is_unused(&d->pub, &s->view)) {
			*pp = s->next_retired;
			snapshot_free(s);
		} else {
			pp = &s->next_retired;
		}
	}
	if (d->retired) {
		struct timeval tv = {0, 20000};
		event_add(d->reclaim_ev, &tv);
	}
}

static void on_reclaim(evutil_socket_t fd, short what, void *arg)
{
	reclaim(arg);
}

static bool listen_same(const struct daemon *d, const struct conf *b)
{
	if (d->boot_n_listen != b->n_listen)
		return false;
	for (size_t i = 0; i < b->n_listen; i++)
		if (d->boot_listen[i].addr_len != b->listen[i].addr_len ||
		    memcmp(&d->boot_listen[i].addr, &b->listen[i].addr,
			   b->listen[i].addr_len) != 0)
			return false;
	return true;
}

static void collect_error(void *arg, enum log_level level, const char *msg)
{
	json_array_append_new(arg, json_sprintf("%s: %s",
						level == LOG_LVL_ERR ? "error"
								     : "warning",
						msg));
}

int daemon_reload(struct daemon *d, json_t *errors)
{
	char msg[64];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000ull +
		     (unsigned long long)now.tv_nsec / 1000ull);
	notify_systemd(msg);
	if (errors)
		log_capture(collect_error, errors);
	log_info("reload: loading %s", d->conf_path);
	struct snapshot *s = NULL;
	int ret = snapshot_load(d->conf_path, d->secret, d->checker, true, &s);
	if (ret != 0) {
		/* Nothing of it was applied: the health checker drops the
		 * settings it was asked for (snapshot_load freed the rest). */
		hc_checker_discard(d->checker);
		log_err("reload: failed (%s), still serving the configuration "
			"loaded before",
			gs_strerror(ret));
		goto out;
	}
	hc_checker_commit(d->checker);
	const struct conf *n = s->conf;
	if (!listen_same(d, n) || d->boot_workers != n->workers ||
	    d->boot_tcp_max_clients != n->tcp_max_clients ||
	    d->boot_tcp_idle_timeout != n->tcp_idle_timeout)
		log_warn("reload: listen, workers and tcp_* changes take "
			 "effect at the next restart");
	if (strcmp(ctl_server_path(d->ctl), n->control_socket) != 0 ||
	    strcmp(d->state_path, n->state_file) != 0)
		log_warn("reload: control_socket and state_file changes take "
			 "effect at the next restart");
	daemon_apply_drains(d, s);
	view_publish(&d->pub, &s->view);
	hc_checker_schedule(d->checker);
	d->cur->next_retired = d->retired;
	d->retired = d->cur;
	d->cur = s;
	reclaim(d);
	log_info("reload: done, %zu zone%s", n->n_zones,
		 n->n_zones == 1 ? "" : "s");
out:
	if (errors)
		log_capture(NULL, NULL);
	notify_systemd("READY=1");
	return ret;
}

void daemon_apply_drains(struct daemon *d, struct snapshot *s)
{
	const struct steer_set *st = s->steer;
	for (size_t i = 0; i < st->n_services; i++) {
		struct steer_service *svc = &st->services[i];
		for (uint16_t r = 0; r < svc->n_regions; r++)
			atomic_store(&svc->regions[r].drained,
				     ctl_state_find(d->admin, svc->name,
						    svc->regions[r].name) !=
					 NULL);
	}
}

void daemon_set_admin(struct daemon *d, struct ctl_state *n)
{
	ctl_state_free(d->admin);
	d->admin = n;
	/* Retired snapshots too: a worker may still answer from one. */
	daemon_apply_drains(d, d->cur);
	for (struct snapshot *r = d->retired; r; r = r->next_retired)
		daemon_apply_drains(d, r);
}

/* Lifts the drains whose time is up. */
static void expire_drains(struct daemon *d)
{
	time_t now = time(NULL);
	struct ctl_state *n = ctl_state_copy(d->admin);
	bool any = false;
	for (size_t i = 0; i < d->admin->n; i++) {
		const struct ctl_drain *dr = &d->admin->drains[i];
		if (!dr->expires || dr->expires > now)
			continue;
		log_info("control: drain of %s/%s by %s expired, region "
			 "undrained",
			 dr->service, dr->region, dr->author);
		ctl_state_remove(n, dr->service, dr->region);
		any = true;
	}
	if (!any) {
		ctl_state_free(n);
		return;
	}
	char err[512];
	if (ctl_state_save(n, d->state_path, err, sizeof(err)) != 0)
		log_err("control: cannot save the state after lifting expired "
			"drains (%s); lifted anyway, and expired drains are "
			"dropped again at the next start",
			err);
	else if (err[0])
		log_warn("control: %s", err);
	daemon_set_admin(d, n);
}

static void on_expiry(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	expire_drains(d);
	daemon_arm_expiry(d);
}

void daemon_arm_expiry(struct daemon *d)
{
	time_t next = ctl_state_next_expiry(d->admin);
	if (!next) {
		event_del(d->expiry_ev);
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double wait = (double)(next - now.tv_sec) - (double)now.tv_nsec / 1e9;
	if (wait < 0)
		wait = 0;
	struct timeval tv = {(time_t)wait,
			     (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
	event_add(d->expiry_ev, &tv);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify_systemd("WATCHDOG=1");
}

/* WATCHDOG_USEC (for this process, when WATCHDOG_PID says so): ping at
 * half the interval from the main loop, so a stuck loop is noticed. */
static void start_watchdog(struct daemon *d)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	if (!usec)
		return;
	if (pid && strtol(pid, NULL, 10) != (long)getpid())
		return;
	char *end;
	unsigned long long u = strtoull(usec, &end, 10);
	if (*end || u == 0) {
		log_warn("systemd: ignoring WATCHDOG_USEC=%s", usec);
		return;
	}
	u /= 2;
	struct timeval tv = {(time_t)(u / 1000000), (suseconds_t)(u % 1000000)};
	d->watchdog_ev = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
	event_add(d->watchdog_ev, &tv);
	notify_systemd("WATCHDOG=1");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	if (sig == SIGHUP) {
		daemon_reload(d, NULL);
		return;
	}
	log_info("received %s, shutting down", strsignal((int)sig));
	event_base_loopbreak(d->base);
}

static unsigned ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int run(const char *conf_path)
{
	struct daemon d = {.conf_path = conf_path};
	int ret = 1;
	struct event *sigs[4] = {NULL};

	if (getrandom(d.secret, sizeof(d.secret), 0) != sizeof(d.secret))
		log_fatal("cannot read random bytes (%s)", strerror(errno));
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		log_fatal("cannot initialize libcurl");
	/* Two priorities, so that health probes start on time
	 * (hc_checker_new): their timers come first, and the loop stops
	 * running other callbacks after 10 ms to look at them. */
	struct event_config *cfg = event_config_new();
	const struct timeval slice = {0, 10000};
	if (!cfg ||
	    event_config_set_max_dispatch_interval(cfg, &slice, -1, 1) != 0)
		log_fatal("cannot create the event loop");
	d.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!d.base || event_base_priority_init(d.base, 2) != 0)
		log_fatal("cannot create the event loop");
	d.checker = hc_checker_new(d.base);
	if (!d.checker)
		log_fatal("cannot start the health checker");
	if (snapshot_load(conf_path, d.secret, d.checker, false, &d.cur) != 0) {
		/* EX_CONFIG: an operator must fix the file; systemd does not
		 * restart us over it (RestartPreventExitStatus=78). */
		log_err("%s: not started because of the errors above",
			conf_path);
		ret = EX_CONFIG;
		goto out;
	}
	hc_checker_commit(d.checker);
	const struct conf *c = d.cur->conf;
	d.started = time(NULL);
	d.boot_n_listen = c->n_listen;
	d.boot_listen = gs_xcalloc(c->n_listen, sizeof(*d.boot_listen));
	for (size_t i = 0; i < c->n_listen; i++) {
		d.boot_listen[i].addr = c->listen[i].addr;
		d.boot_listen[i].addr_len = c->listen[i].addr_len;
	}
	d.boot_workers = c->workers;
	d.boot_tcp_max_clients = c->tcp_max_clients;
	d.boot_tcp_idle_timeout = c->tcp_idle_timeout;
	/* Before any port: a second daemon stops here. */
	if (ctl_server_open(c->control_socket, &d.ctl) != 0)
		log_fatal("%s: not started: no control socket", conf_path);
	char err[512];
	if (ctl_state_load(c->state_file, &d.admin, err, sizeof(err)) != 0) {
		log_err("%s (not started: an operator's drains are never "
			"dropped; fix or move the file)",
			err);
		ret = EX_CONFIG;
		goto out;
	}
	d.state_path = gs_xstrdup(c->state_file);
	if (d.admin->n)
		log_info("control: %zu drain%s from %s", d.admin->n,
			 d.admin->n == 1 ? "" : "s", d.state_path);
	d.expiry_ev = evtimer_new(d.base, on_expiry, &d);
	expire_drains(&d);
	daemon_apply_drains(&d, d.cur);
	unsigned workers = c->workers ? c->workers : ncpu();
	unsigned n_udp = udp_server_threads(c->n_listen, workers);

	/* One round of probes before answering, so the first answers
	 * already reflect health; bounded by the longest timeout. */
	double max_timeout = 0;
	for (size_t i = 0; i < c->n_services; i++)
		for (size_t r = 0; r < c->services[i].n_regions; r++)
			if (c->services[i].regions[r].check.enabled &&
			    c->services[i].regions[r].check.timeout >
				max_timeout)
				max_timeout =
				    c->services[i].regions[r].check.timeout;
	hc_checker_schedule(d.checker);
	if (max_timeout > 0)
		hc_checker_first_round(d.checker, max_timeout + 1.0);

	view_pub_init(&d.pub, n_udp + 1, &d.cur->view);
	/* Handlers first: a signal that arrives once the first query is
	 * answered must find them in place. */
	static const int signums[] = {SIGHUP, SIGTERM, SIGINT};
	for (size_t i = 0; i < GS_ARRAY_SIZE(signums); i++) {
		sigs[i] = evsignal_new(d.base, signums[i], on_signal, &d);
		event_add(sigs[i], NULL);
	}
	d.reclaim_ev = evtimer_new(d.base, on_reclaim, &d);
	/* TCP first: once UDP answers, TCP is listening too. */
	if (tcp_server_start(c->listen, c->n_listen, c->tcp_max_clients,
			     c->tcp_idle_timeout, &d.pub, n_udp, &d.tcp) != 0)
		goto out;
	if (udp_server_start(c->listen, c->n_listen, workers, &d.pub, 0,
			     &d.udp) != 0)
		goto out;

	ctl_server_start(d.ctl, d.base, daemon_commands, &d);
	daemon_arm_expiry(&d);
	log_info("ready: %zu zone%s, %u udp thread%s, listening on %zu "
		 "address%s, control socket %s",
		 c->n_zones, c->n_zones == 1 ? "" : "s", n_udp,
		 n_udp == 1 ? "" : "s", c->n_listen,
		 c->n_listen == 1 ? "" : "es", ctl_server_path(d.ctl));
	notify_systemd("READY=1");
	start_watchdog(&d);
	event_base_dispatch(d.base);
	notify_systemd("STOPPING=1");
	ret = 0;
	const struct hc_checker_stats *hs = hc_checker_stats(d.checker);
	const struct hc_lateness *h1 = &hs->first, *h2 = &hs->steady;
	if (h1->probes + h2->probes)
		log_info("health: %lu probes started; steady state: %lu, "
			 "%.1f ms late on average, %.1f ms at most; first "
			 "round: %lu, %.1f ms late on average, %.1f ms at most",
			 h1->probes + h2->probes, h2->probes,
			 h2->probes ? h2->sum * 1e3 / (double)h2->probes : 0.0,
			 h2->max * 1e3, h1->probes,
			 h1->probes ? h1->sum * 1e3 / (double)h1->probes : 0.0,
			 h1->max * 1e3);
	struct answer_stats u = {0}, t = {0};
	udp_server_stats(d.udp, &u);
	tcp_server_stats(d.tcp, &t);
	log_info("served %llu udp and %llu tcp queries (%llu truncated, "
		 "%llu dropped, %llu with every region down)",
		 (unsigned long long)u.queries, (unsigned long long)t.queries,
		 (unsigned long long)(u.truncated + t.truncated),
		 (unsigned long long)(u.dropped + t.dropped),
		 (unsigned long long)(u.all_down + t.all_down));
	struct tcp_conn_stats tc;
	tcp_server_conn_stats(d.tcp, &tc);
	log_info("tcp: %llu connections accepted, %llu open at exit; closed: "
		 "%llu at their deadline, %llu evicted for room, %llu by the "
		 "client or on errors",
		 (unsigned long long)tc.accepted, (unsigned long long)tc.open,
		 (unsigned long long)tc.closed_deadline,
		 (unsigned long long)tc.closed_evicted,
		 (unsigned long long)tc.closed_peer);
out:
	ctl_server_free(d.ctl);
	tcp_server_stop(d.tcp);
	udp_server_stop(d.udp);
	if (d.expiry_ev)
		event_free(d.expiry_ev);
	if (d.watchdog_ev)
		event_free(d.watchdog_ev);
	ctl_state_free(d.admin);
	free(d.state_path);
	free(d.boot_listen);
	for (size_t i = 0; i < GS_ARRAY_SIZE(sigs); i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (d.reclaim_ev)
		event_free(d.reclaim_ev);
	while (d.retired) {
		struct snapshot *s = d.retired;
		d.retired = s->next_retired;
		snapshot_free(s);
	}
	snapshot_free(d.cur);
	hc_checker_free(d.checker);
	curl_global_cleanup();
	view_pub_deinit(&d.pub);
	event_base_free(d.base);
	if (ret == 0)
		log_info("stopped");
	return ret;
}

static int check(const char *conf_path)
{
	static const uint8_t no_secret[COOKIE_SECRET_LEN];
	struct snapshot *s = NULL;
	if (snapshot_load(conf_path, no_secret, NULL, false, &s) != 0) {
		fprintf(stderr, "%s: check failed\n", conf_path);
		return EX_CONFIG;
	}
	struct ctl_state *st = NULL;
	char err[512];
	if (ctl_state_load(s->conf->state_file, &st, err, sizeof(err)) != 0) {
		log_err("%s", err);
		fprintf(stderr, "%s: check failed\n", conf_path);
		snapshot_free(s);
		return EX_CONFIG;
	}
	size_t orphans = 0;
	for (size_t i = 0; i < st->n; i++) {
		const struct ctl_drain *dr = &st->drains[i];
		if (!steer_set_drained(s->steer, dr->service, dr->region,
				       true)) {
			log_warn("%s: drain of %s/%s is orphaned (no such "
				 "region in the configuration)",
				 s->conf->state_file, dr->service, dr->region);
			orphans++;
		}
	}
	printf("%s: ok (%zu zone%s, %zu drain%s in %s", conf_path,
	       s->conf->n_zones, s->conf->n_zones == 1 ? "" : "s", st->n,
	       st->n == 1 ? "" : "s", s->conf->state_file);
	if (orphans)
		printf(", %zu orphaned", orphans);
	printf(")\n");
	ctl_state_free(st);
	snapshot_free(s);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: geosteerd [-c FILE] [--check] [-l LEVEL] [--syslog]\n"
		"       geosteerd -V\n"
		"  -c, --config FILE    configuration file (JSON; default "
		GS_CONFIG_DEFAULT ")\n"
		"      --check          check the configuration and zones, "
		"then exit\n"
		"  -l, --log-level LVL  err, warn, info (default) or debug\n"
		"      --syslog         log to syslog instead of stderr\n"
		"  -V, --version        print the version and build features\n"
		"  -h, --help           this text\n");
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_SYSLOG };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, OPT_CHECK},
	    {"log-level", required_argument, NULL, 'l'},
	    {"syslog", no_argument, NULL, OPT_SYSLOG},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *conf_path = NULL;
	bool do_check = false, use_syslog = false;
	enum log_level level = LOG_LVL_INFO;
	int ch;
	while ((ch = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case OPT_CHECK:
			do_check = true;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) != 0) {
				fprintf(stderr,
					"geosteerd: unknown log level "
					"'%s'\n",
					optarg);
				return 2;
			}
			break;
		case OPT_SYSLOG:
			use_syslog = true;
			break;
		case 'V':
			printf("geosteerd %s\nfeatures: %s\n", PACKAGE_VERSION,
			       GS_BUILD_FEATURES[0] ? GS_BUILD_FEATURES
						    : "none");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!conf_path) {
		conf_path = GS_CONFIG_DEFAULT;
		if (access(conf_path, F_OK) != 0 && errno == ENOENT) {
			fprintf(stderr,
				"geosteerd: no configuration file at %s (the "
				"default; name one with -c FILE)\n",
				conf_path);
			return EX_CONFIG;
		}
	}
	log_setup(level, use_syslog && !do_check);
	return do_check ? check(conf_path) : run(conf_path);
}
