/* hc_checker.c: probes on libcurl's multi-socket API over libevent. */
#include "config.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/log.h"
#include "health/hc_castore.h"
#include "health/hc_checker.h"

struct hc_target {
	struct hc_flag flag; /* first: a flag pointer is a target pointer */
	struct hc_checker *chk;
	struct hc_target *next;
	char *service, *region, *address;
	int family;
	uint8_t addr[16];
	struct conf_check check; /* deep copy */
	/* Settings from a reload that arrived while a probe was running:
	 * libcurl may still read the old ones (the CURLOPT_RESOLVE list is
	 * not copied), so they are swapped in when the probe ends. */
	struct conf_check pending;
	bool has_pending;
	/* Settings asked for by a snapshot being built: applied by
	 * hc_checker_commit() when the snapshot takes, dropped by
	 * hc_checker_discard() when it does not. */
	struct conf_check staged;
	bool has_staged;
	bool touched; /* asked for since the last commit or discard */
	char *host; /* from the URL, for CURLOPT_RESOLVE */
	long port;
	unsigned refs;

	struct hc_counter ctr;
	bool had_verdict;
	bool has_result;
	enum hc_verdict last;
	char reason[192];
	double latency;
	time_t last_change;
	char server_version[32];
	char edition[16];
	int fips; /* -1 unknown */

	CURL *easy;
	X509_STORE *store; /* the running probe's, or NULL */
	struct curl_slist *resolve;
	struct event *timer;
	struct timespec due; /* when the timer should fire */
	bool in_flight, scheduled;
	bool started; /* its first probe has started */
	char errbuf[CURL_ERROR_SIZE];
	char *body; /* the running probe's body; freed when it ends */
	size_t body_len, body_cap;
	bool body_too_big;
};

/* What was last said of a service as a whole, to say it once. */
struct hc_svc_note {
	struct hc_svc_note *next;
	char *service;
	bool all_down;
	char skew[256]; /* two server_versions and two region names (at
			 * most 63 bytes, conf.c) fit whole */
};

struct hc_checker {
	struct hc_checker_stats stats;
	struct hc_svc_note *notes;
	struct event_base *base;
	CURLM *multi;
	struct event *timeout_ev;
	struct hc_target *targets;
	uint32_t rng;
	double first_pace; /* from the last hc_checker_schedule() to the
			    * last first probe it set, in seconds */
	/* Certificate stores shared by probes, or NULL when libcurl does
	 * not use our OpenSSL: then it reads CA files itself. */
	struct hc_castore *castore;
	char *sys_cafile, *sys_capath; /* libcurl's defaults, or NULL */
};

/* New targets' first probes start at most this far apart (seconds). */
#define HC_FIRST_STEP 0.005

static uint32_t next_rand(struct hc_checker *c)
{
	/* xorshift32: jitter only, nothing secret */
	uint32_t x = c->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return c->rng = x;
}

static void check_copy(struct conf_check *dst, const struct conf_check *src)
{
	*dst = *src;
	dst->url = src->url ? gs_xstrdup(src->url) : NULL;
	dst->ca_file = src->ca_file ? gs_xstrdup(src->ca_file) : NULL;
	dst->cert_file = src->cert_file ? gs_xstrdup(src->cert_file) : NULL;
	dst->key_file = src->key_file ? gs_xstrdup(src->key_file) : NULL;
	dst->cluster_name =
	    src->cluster_name ? gs_xstrdup(src->cluster_name) : NULL;
}

static void check_free(struct conf_check *c)
{
	free(c->url);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cluster_name);
}

/* Host and port of the URL, for pinning the host to the target address. */
static int parse_url(struct hc_target *t)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int ret = -1;
	if (!u ||
	    curl_url_set(u, CURLUPART_URL, t->check.url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK)
		goto out;
	free(t->host);
	t->host = gs_xstrdup(host);
	t->port = strtol(port, NULL, 10);
	ret = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

static void set_resolve(struct hc_target *t)
{
	curl_slist_free_all(t->resolve);
	t->resolve = NULL;
	char entry[512];
	snprintf(entry, sizeof(entry),
		 t->family == AF_INET6 ? "%s:%ld:[%s]" : "%s:%ld:%s", t->host,
		 t->port, t->address);
	t->resolve = curl_slist_append(NULL, entry);
}

/* Replaces the target's settings; never while a probe runs. */
static void apply_check(struct hc_target *t, const struct conf_check *check)
{
	check_free(&t->check);
	check_copy(&t->check, check);
	if (parse_url(t) != 0)
		log_err("health: %s/%s %s: cannot parse url %s", t->service,
			t->region, t->address, check->url);
	set_resolve(t);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct hc_target *t = arg;
	size_t len = size * n;
	if (len > HC_BODY_MAX - t->body_len) {
		t->body_too_big = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (t->body_len + len > t->body_cap) {
		/* Grow by doubling, up to the cap: a ping body is a few KB,
		 * and a thousand targets must not hold 64 KiB each. */
		size_t cap = t->body_cap ? t->body_cap : 4096;
		while (cap < t->body_len + len)
			cap *= 2;
		if (cap > HC_BODY_MAX)
			cap = HC_BODY_MAX;
		t->body = gs_xreallocarray(t->body, cap, 1);
		t->body_cap = cap;
	}
	memcpy(t->body + t->body_len, data, len);
	t->body_len += len;
	return len;
}

/* libcurl made a fresh SSL_CTX for the connection; it trusts what the
 * probe's shared store trusts (the SSL_CTX takes its own reference). */
static CURLcode on_ssl_ctx(CURL *e, void *ssl_ctx, void *arg)
{
	struct hc_target *t = arg;
	SSL_CTX_set1_cert_store(ssl_ctx, t->store);
	return CURLE_OK;
}

/* Points the probe at the certificates it trusts: ca_file, or libcurl's
 * default bundle and directory (the system store). Only ca_file when it is
 * set: libcurl's default directory is not searched as well. */
static void set_trust(struct hc_target *t)
{
	struct hc_checker *c = t->chk;
	const struct conf_check *k = &t->check;
	CURL *e = t->easy;
	const char *file = k->ca_file ? k->ca_file : c->sys_cafile;
	const char *dir = k->ca_file ? NULL : c->sys_capath;
	if (c->castore && !k->insecure &&
	    hc_castore_get(c->castore, file, dir, &t->store) == 0 &&
	    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) ==
		CURLE_OK) {
		curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, t);
		curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
#if LIBCURL_VERSION_NUM >= 0x075700
		curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
		return;
	}
	/* Left to libcurl, which also says why a file cannot be used. */
	X509_STORE_free(t->store);
	t->store = NULL;
	if (k->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, k->ca_file);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
}

static void schedule_next(struct hc_target *t);

static void probe_start(struct hc_target *t)
{
	struct hc_checker *c = t->chk;
	/* A handle per probe, freed when it ends: an idle handle keeps
	 * buffers and state that a thousand targets would hold for nothing,
	 * and making one costs little next to a handshake. */
	t->easy = curl_easy_init();
	if (!t->easy) {
		log_err("health: %s/%s %s: cannot start a probe (no memory)",
			t->service, t->region, t->address);
		schedule_next(t);
		return;
	}
	CURL *e = t->easy;
	const struct conf_check *k = &t->check;
	long timeout_ms = (long)(k->timeout * 1000.0);
	t->body_len = 0;
	t->body_too_big = false;
	t->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, k->url);
	curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "geosteer/" PACKAGE_VERSION);
	set_trust(t);
	if (k->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, k->cert_file);
	if (k->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, k->key_file);
	if (k->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		log_err("health: %s/%s %s: cannot start a probe", t->service,
			t->region, t->address);
		X509_STORE_free(t->store);
		t->store = NULL;
		curl_easy_cleanup(e);
		t->easy = NULL;
		schedule_next(t);
		return;
	}
	t->in_flight = true;
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hc_target *t = arg;
	struct hc_lateness *st =
	    t->started ? &t->chk->stats.steady : &t->chk->stats.first;
	double late = seconds_since(&t->due);
	if (late > st->max)
		st->max = late;
	st->sum += late > 0 ? late : 0;
	st->probes++;
	t->started = true;
	if (!t->in_flight)
		probe_start(t);
}

static void set_timer(struct hc_target *t, double d)
{
	struct timeval tv = {(time_t)d,
			     (suseconds_t)((d - (double)(time_t)d) * 1e6)};
	clock_gettime(CLOCK_MONOTONIC, &t->due);
	t->due.tv_sec += tv.tv_sec;
	t->due.tv_nsec += tv.tv_usec * 1000;
	if (t->due.tv_nsec >= 1000000000) {
		t->due.tv_sec++;
		t->due.tv_nsec -= 1000000000;
	}
	evtimer_add(t->timer, &tv);
}

static void schedule_next(struct hc_target *t)
{
	/* First probes were spread over an interval (hc_checker_schedule);
	 * the jitter keeps targets from falling into step again. */
	set_timer(t, hc_jitter(t->check.interval, next_rand(t->chk)));
	t->scheduled = true;
}

static void log_transition(const struct hc_target *t, enum hc_state old)
{
	if (t->ctr.state == HC_DOWN && old == HC_UNKNOWN)
		log_warn("health: %s/%s %s down (%s, first probe)", t->service,
			 t->region, t->address, t->reason);
	else if (t->ctr.state == HC_DOWN)
		log_warn("health: %s/%s %s down (%s, %u failures)", t->service,
			 t->region, t->address, t->reason, t->ctr.fails);
	else if (old == HC_UNKNOWN)
		log_info("health: %s/%s %s up", t->service, t->region,
			 t->address);
	else
		log_info("health: %s/%s %s up (%u passes)", t->service,
			 t->region, t->address, t->ctr.passes);
}

static struct hc_svc_note *svc_note(struct hc_checker *c, const char *service)
{
	struct hc_svc_note *n;
	for (n = c->notes; n; n = n->next)
		if (strcmp(n->service, service) == 0)
			return n;
	n = gs_xcalloc(1, sizeof(*n));
	n->service = gs_xstrdup(service);
	n->next = c->notes;
	c->notes = n;
	return n;
}

/* After a change in one of its targets, says once when a service has no
 * target up any more (its when_all_down applies) and when its healthy
 * regions report different Teleport major versions, editions or FIPS
 * modes (a rolling update, or the wrong binary; never a failure). */
static void evaluate_service(struct hc_checker *c, const char *service)
{
	bool any_up = false, pending = false;
	const struct hc_target *ref = NULL;
	char skew[sizeof(((struct hc_svc_note *)0)->skew)] = "";
	for (const struct hc_target *t = c->targets; t; t = t->next) {
		if (strcmp(t->service, service) != 0)
			continue;
		if (atomic_load(&t->flag.up))
			any_up = true;
		if (!t->has_result)
			pending = true;
		if (t->ctr.state != HC_UP || !t->server_version[0])
			continue;
		if (!ref) {
			ref = t;
			continue;
		}
		if (skew[0])
			continue;
		if (atoi(t->server_version) != atoi(ref->server_version))
			snprintf(skew, sizeof(skew),
				 "server_version %s in %s, %s in %s",
				 ref->server_version, ref->region,
				 t->server_version, t->region);
		else if (strcmp(t->edition, ref->edition) != 0)
			snprintf(skew, sizeof(skew),
				 "edition %s in %s, %s in %s", ref->edition,
				 ref->region, t->edition, t->region);
		else if (t->fips != ref->fips)
			snprintf(skew, sizeof(skew), "fips %s in %s, %s in %s",
				 ref->fips == 1 ? "on" : "off", ref->region,
				 t->fips == 1 ? "on" : "off", t->region);
	}
	struct hc_svc_note *n = svc_note(c, service);
	/* Until every target has had its first probe, "none up" only means
	 * that the first round is not over. */
	if (!any_up && !n->all_down && !pending) {
		log_warn("health: %s: no target is up in any region "
			 "(when_all_down applies)",
			 service);
		n->all_down = true;
	} else if (any_up && n->all_down) {
		log_info("health: %s: a region is usable again", service);
		n->all_down = false;
	}
	if (strcmp(skew, n->skew) != 0) {
		if (skew[0])
			log_warn("health: %s: regions differ (%s)", service,
				 skew);
		else
			log_info("health: %s: regions agree again", service);
		snprintf(n->skew, sizeof(n->skew), "%s", skew);
	}
}

static void probe_done(struct hc_checker *c, CURL *e, CURLcode res)
{
	struct hc_target *t = NULL;
	long status = 0;
	double total = 0;
	char *redirect = NULL;
	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&t);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &total);
	curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &redirect);
	long os_errno = 0;
	curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
	curl_multi_remove_handle(c->multi, e);
	t->in_flight = false;
	X509_STORE_free(t->store);
	t->store = NULL;

	struct hc_outcome o = {
	    .curl_code = res,
	    .curl_error = t->errbuf,
	    .os_errno = (int)os_errno,
	    .http_status = status,
	    .body = t->body,
	    .body_len = t->body_len,
	    .body_too_big = t->body_too_big,
	    .location = redirect,
	    .timeout = t->check.timeout,
	};
	/* r's text is cleaned (hc_verdict.h): logged and published as is */
	struct hc_result r;
	hc_verdict_classify(&o, t->check.cluster_name, &r);
	bool first_result = !t->has_result;
	t->has_result = true;
	t->last = r.verdict;
	curl_easy_cleanup(e); /* after the outcome: redirect was its own */
	t->easy = NULL;
	free(t->body);
	t->body = NULL;
	t->body_len = t->body_cap = 0;
	t->latency = total;
	bool changed = false;
	if (r.server_version[0] &&
	    strcmp(r.server_version, t->server_version) != 0) {
		snprintf(t->server_version, sizeof(t->server_version), "%s",
			 r.server_version);
		snprintf(t->edition, sizeof(t->edition), "%s", r.edition);
		t->fips = r.has_fips ? r.fips : -1;
		changed = true;
	}
	if (r.verdict == HC_FAIL)
		snprintf(t->reason, sizeof(t->reason), "%s", r.reason);
	else if (r.verdict == HC_INCONCLUSIVE)
		log_debug("health: %s/%s %s: %s, counted neither way",
			  t->service, t->region, t->address, r.reason);
	enum hc_state old = t->ctr.state;
	if (hc_counter_apply(&t->ctr, r.verdict, t->check.rise,
			     t->check.fall)) {
		atomic_store(&t->flag.up, t->ctr.state == HC_UP);
		t->last_change = time(NULL);
		log_transition(t, old);
		changed = true;
	}
	if (changed || first_result)
		evaluate_service(c, t->service);
	if (t->has_pending) {
		apply_check(t, &t->pending);
		check_free(&t->pending);
		t->has_pending = false;
	}
	if (r.verdict != HC_INCONCLUSIVE)
		t->had_verdict = true;
	schedule_next(t);
}

static void check_done(struct hc_checker *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			probe_done(c, msg->easy_handle, msg->data.result);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct hc_checker *c = arg;
	int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
		     ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running = 0;
	curl_multi_socket_action(c->multi, fd, action, &running);
	check_done(c);
}

static void on_curl_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hc_checker *c = arg;
	int running = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct hc_checker *c = userp;
	struct event *ev = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (ev) {
			event_free(ev);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	short kind =
	    (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
		    ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (ev) {
		event_del(ev);
		event_assign(ev, c->base, s, kind, on_socket_event, c);
	} else {
		ev = event_new(c->base, s, kind, on_socket_event, c);
		curl_multi_assign(c->multi, s, ev);
	}
	event_add(ev, NULL);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct hc_checker *c = userp;
	if (timeout_ms < 0) {
		evtimer_del(c->timeout_ev);
		return 0;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	evtimer_add(c->timeout_ev, &tv);
	return 0;
}

/* Shared certificate stores are handed to libcurl as OpenSSL objects, so
 * only when libcurl runs on the OpenSSL major version we were built with;
 * otherwise libcurl keeps reading CA files for each connection. */
static void share_stores(struct hc_checker *c)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *ssl = v->ssl_version ? v->ssl_version : "none";
	char want[32];
	snprintf(want, sizeof(want), "OpenSSL/%d.", OPENSSL_VERSION_MAJOR);
	if (strncmp(ssl, want, strlen(want)) != 0 ||
	    (unsigned long)OPENSSL_VERSION_MAJOR !=
		OpenSSL_version_num() >> 28) {
		log_info("health: libcurl uses %s, not the OpenSSL %d "
			 "geosteerd was built with: CA files are read for "
			 "every probe",
			 ssl, OPENSSL_VERSION_MAJOR);
		return;
	}
#if LIBCURL_VERSION_NUM >= 0x075400
	CURL *e = curl_easy_init();
	char *file = NULL, *dir = NULL;
	if (e) {
		curl_easy_getinfo(e, CURLINFO_CAINFO, &file);
		curl_easy_getinfo(e, CURLINFO_CAPATH, &dir);
		c->sys_cafile = file ? gs_xstrdup(file) : NULL;
		c->sys_capath = dir ? gs_xstrdup(dir) : NULL;
		curl_easy_cleanup(e);
	}
#endif
	c->castore = hc_castore_new();
	log_debug("health: probes share certificate stores (libcurl with %s; "
		  "system store %s, %s)",
		  ssl, c->sys_cafile ? c->sys_cafile : "none",
		  c->sys_capath ? c->sys_capath : "none");
}

/* Probe timers and libcurl's timer (which starts the connections) run
 * first when the base has priorities: a backlog of socket callbacks,
 * after the process waited for a CPU, must not make probes late. */
static void set_priority(struct hc_checker *c, struct event *ev)
{
	if (ev && event_base_get_npriorities(c->base) > 1)
		event_priority_set(ev, 0);
}

struct hc_checker *hc_checker_new(struct event_base *base)
{
	struct hc_checker *c = gs_xcalloc(1, sizeof(*c));
	c->base = base;
	c->multi = curl_multi_init();
	if (!c->multi) {
		log_err("health: cannot initialize libcurl");
		free(c);
		return NULL;
	}
	if (getrandom(&c->rng, sizeof(c->rng), 0) != sizeof(c->rng) ||
	    c->rng == 0)
		c->rng = 0x9e3779b9u;
	c->timeout_ev = evtimer_new(base, on_curl_timeout, c);
	set_priority(c, c->timeout_ev);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	share_stores(c);
	return c;
}

static void target_free(struct hc_target *t)
{
	if (t->in_flight)
		curl_multi_remove_handle(t->chk->multi, t->easy);
	if (t->easy)
		curl_easy_cleanup(t->easy);
	X509_STORE_free(t->store);
	curl_slist_free_all(t->resolve);
	if (t->timer)
		event_free(t->timer);
	check_free(&t->check);
	if (t->has_pending)
		check_free(&t->pending);
	if (t->has_staged)
		check_free(&t->staged);
	free(t->service);
	free(t->region);
	free(t->address);
	free(t->host);
	free(t->body);
	free(t);
}

void hc_checker_free(struct hc_checker *c)
{
	if (!c)
		return;
	while (c->targets) {
		struct hc_target *t = c->targets;
		c->targets = t->next;
		target_free(t);
	}
	while (c->notes) {
		struct hc_svc_note *n = c->notes;
		c->notes = n->next;
		free(n->service);
		free(n);
	}
	event_free(c->timeout_ev);
	curl_multi_cleanup(c->multi);
	hc_castore_free(c->castore);
	free(c->sys_cafile);
	free(c->sys_capath);
	free(c);
}

const struct hc_flag *hc_checker_target(struct hc_checker *c,
					const char *service, const char *region,
					const struct conf_addr *addr,
					const struct conf_check *check,
					bool initial_up)
{
	struct hc_target *t;
	for (t = c->targets; t; t = t->next)
		if (strcmp(t->service, service) == 0 &&
		    strcmp(t->region, region) == 0 &&
		    strcmp(t->address, addr->text) == 0)
			break;
	if (!t) {
		/* New: nothing probes it before hc_checker_schedule(), so it
		 * takes its settings now; if its snapshot does not take, the
		 * snapshot's unref frees it. */
		t = gs_xcalloc(1, sizeof(*t));
		t->chk = c;
		t->service = gs_xstrdup(service);
		t->region = gs_xstrdup(region);
		t->address = gs_xstrdup(addr->text);
		t->family = addr->family;
		memcpy(t->addr, addr->addr, sizeof(t->addr));
		atomic_init(&t->flag.up, initial_up);
		t->fips = -1;
		t->timer = evtimer_new(c->base, on_probe_timer, t);
		set_priority(c, t->timer);
		t->next = c->targets;
		c->targets = t;
		apply_check(t, check);
	} else {
		/* In use: the running settings stay until the snapshot that
		 * asks for new ones is committed. */
		if (t->has_staged)
			check_free(&t->staged);
		check_copy(&t->staged, check);
		t->has_staged = true;
	}
	t->touched = true;
	t->refs++;
	return &t->flag;
}

void hc_checker_commit(struct hc_checker *c)
{
	for (struct hc_target *t = c->targets; t; t = t->next) {
		if (t->has_staged) {
			if (t->in_flight) {
				/* libcurl may still read the running ones. */
				if (t->has_pending)
					check_free(&t->pending);
				t->pending = t->staged;
				t->has_pending = true;
			} else {
				apply_check(t, &t->staged);
				check_free(&t->staged);
			}
			memset(&t->staged, 0, sizeof(t->staged));
			t->has_staged = false;
		}
		if (t->touched && t->check.insecure)
			log_warn("health: %s/%s %s: certificate verification "
				 "is off (\"insecure\": true)",
				 t->service, t->region, t->address);
		t->touched = false;
	}
}

void hc_checker_discard(struct hc_checker *c)
{
	for (struct hc_target *t = c->targets; t; t = t->next) {
		if (t->has_staged)
			check_free(&t->staged);
		memset(&t->staged, 0, sizeof(t->staged));
		t->has_staged = false;
		t->touched = false;
	}
}

void hc_checker_unref(struct hc_checker *c, const struct hc_flag *flag)
{
	if (!flag)
		return;
	struct hc_target **pp = &c->targets;
	while (*pp && &(*pp)->flag != flag)
		pp = &(*pp)->next;
	struct hc_target *t = *pp;
	if (!t || --t->refs > 0)
		return;
	*pp = t->next;
	target_free(t);
}

void hc_checker_schedule(struct hc_checker *c)
{
	/* New targets' first probes start one after another, at the rate
	 * the steady state will have (the shortest of their intervals over
	 * their number) but at least every HC_FIRST_STEP. A thousand
	 * handshakes at once hold the loop for most of a second, make every
	 * probe due meanwhile late, and time out on a busy machine. */
	size_t n = 0;
	double interval = 0;
	for (const struct hc_target *t = c->targets; t; t = t->next) {
		if (t->scheduled || t->in_flight)
			continue;
		if (n++ == 0 || t->check.interval < interval)
			interval = t->check.interval;
	}
	double step = HC_FIRST_STEP;
	if (n && interval / (double)n < step)
		step = interval / (double)n;
	size_t i = 0;
	for (struct hc_target *t = c->targets; t; t = t->next) {
		if (t->scheduled || t->in_flight)
			continue;
		t->scheduled = true;
		set_timer(t, step * (double)i++);
	}
	c->first_pace = n ? step * (double)(n - 1) : 0;
}

static bool first_round_done(const struct hc_checker *c)
{
	for (const struct hc_target *t = c->targets; t; t = t->next)
		if (!t->had_verdict)
			return false;
	return true;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
}

void hc_checker_first_round(struct hc_checker *c, double max_wait)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct event *wake = evtimer_new(c->base, on_wake, NULL);
	struct timeval tv = {0, 50000};
	while (!first_round_done(c)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double spent = (double)(now.tv_sec - start.tv_sec) +
			       (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (spent > c->first_pace + max_wait) {
			log_warn("health: first round not complete after "
				 "%.1fs, answering anyway",
				 spent);
			break;
		}
		evtimer_add(wake, &tv);
		event_base_loop(c->base, EVLOOP_ONCE);
	}
	event_free(wake);
}

static int info_cmp(const void *a, const void *b)
{
	const struct hc_target_info *x = a, *y = b;
	int r = strcmp(x->service, y->service);
	if (!r)
		r = strcmp(x->region, y->region);
	if (!r)
		r = strcmp(x->address, y->address);
	return r;
}

const char *hc_checker_skew(const struct hc_checker *c, const char *service)
{
	for (const struct hc_svc_note *n = c->notes; n; n = n->next)
		if (strcmp(n->service, service) == 0)
			return n->skew;
	return "";
}

const struct hc_checker_stats *hc_checker_stats(const struct hc_checker *c)
{
	return &c->stats;
}

void hc_checker_foreach(const struct hc_checker *c,
			void (*fn)(void *arg, const struct hc_target_info *t),
			void *arg)
{
	size_t n = 0;
	for (const struct hc_target *t = c->targets; t; t = t->next)
		n++;
	struct hc_target_info *v = gs_xcalloc(n, sizeof(*v));
	size_t i = 0;
	for (const struct hc_target *t = c->targets; t; t = t->next, i++)
		v[i] = (struct hc_target_info){
		    .service = t->service,
		    .region = t->region,
		    .address = t->address,
		    .state = t->ctr.state,
		    .passes = t->ctr.passes,
		    .fails = t->ctr.fails,
		    .has_result = t->has_result,
		    .last = t->last,
		    .reason = t->reason,
		    .latency = t->latency,
		    .last_change = t->last_change,
		    .server_version = t->server_version,
		};
	qsort(v, n, sizeof(*v), info_cmp);
	for (i = 0; i < n; i++)
		fn(arg, &v[i]);
	free(v);
}
