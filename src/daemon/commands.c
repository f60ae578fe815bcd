/* commands.c: what geosteerd does for each control command. Each handler
 * runs on the main thread and returns a reply line (ctl_proto.h). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/log.h"
#include "common/text.h"
#include "control/ctl_proto.h"
#include "daemon/daemon.h"

#include <ldns/ldns.h>

#define REASON_MAX 512

/* A JSON string, or null for NULL or "". Never NULL: json_string()
 * refuses invalid UTF-8, and a NULL member would make json_pack() drop
 * the whole object (a service vanishing from status). Health text is
 * cleaned where it is made (hc_verdict.c); should any other arrive
 * malformed, it is shown cleaned (common/text.h) rather than lost. */
static json_t *str_or_null(const char *s)
{
	if (!s || !s[0])
		return json_null();
	json_t *j = json_string(s);
	if (!j) {
		char buf[1024];
		gs_text_clean(buf, sizeof(buf), s, strlen(s));
		j = json_string(buf);
	}
	return j ? j : json_null();
}

static char *fail(const char *fmt, ...) GS_PRINTF(1, 2);
static char *fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_reply_error(msg, NULL);
}

/* ---- names ------------------------------------------------------------ */

static const struct steer_service *find_service(const struct steer_set *s,
						const char *name)
{
	for (size_t i = 0; i < s->n_services; i++)
		if (strcmp(s->services[i].name, name) == 0)
			return &s->services[i];
	return NULL;
}

static int find_region(const struct steer_service *svc, const char *name)
{
	for (uint16_t i = 0; i < svc->n_regions; i++)
		if (strcmp(svc->regions[i].name, name) == 0)
			return i;
	return -1;
}

/* Appends name to a ", "-separated list unless it is there already. */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t n = strlen(name), off = strlen(buf);
	for (const char *p = buf; (p = strstr(p, name)) != NULL; p += n)
		if ((p == buf || p[-1] == ' ') && (p[n] == ',' || !p[n]))
			return;
	snprintf(buf + off, len - off, "%s%s", off ? ", " : "", name);
}

static char *unknown_service(const struct steer_set *s, const char *name)
{
	char known[1024] = "";
	for (size_t i = 0; i < s->n_services; i++)
		list_add(known, sizeof(known), s->services[i].name);
	return fail("unknown service \"%.64s\" (known: %s)", name,
		    known[0] ? known : "none");
}

static char *unknown_region(const struct steer_set *s,
			    const struct steer_service *only, const char *name)
{
	char known[1024] = "";
	for (size_t i = 0; i < s->n_services; i++) {
		const struct steer_service *svc = &s->services[i];
		if (only && svc != only)
			continue;
		for (uint16_t r = 0; r < svc->n_regions; r++)
			list_add(known, sizeof(known), svc->regions[r].name);
	}
	if (only)
		return fail("unknown region \"%.64s\" in service %s (known: "
			    "%s)",
			    name, only->name, known);
	return fail("unknown region \"%.64s\" (known: %s)", name,
		    known[0] ? known : "none");
}

/* Reads an optional string argument; NULL if absent. */
static int arg_str(json_t *args, const char *key, size_t max,
		   const char **out, char **reply)
{
	json_t *v = json_object_get(args, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*reply = fail("%s: must be a string of at most %zu bytes", key,
			      max);
		return -1;
	}
	/* These strings end up in log lines and in the status table: no
	 * line breaks or terminal controls (C0, DEL, and the C1 controls
	 * U+0080..U+009F, 0xc2 0x80..0x9f in UTF-8, which jansson has
	 * checked). */
	for (const unsigned char *p =
		 (const unsigned char *)json_string_value(v);
	     *p; p++) {
		if (*p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
			*reply = fail("%s: must not contain control "
				      "characters",
				      key);
			return -1;
		}
	}
	*out = json_string_value(v);
	return 0;
}

/* ---- status ----------------------------------------------------------- */

struct infos {
	size_t n, cap;
	struct hc_target_info *v; /* borrowed: valid during the call */
};

static void collect(void *arg, const struct hc_target_info *t)
{
	struct infos *in = arg;
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->v = gs_xreallocarray(in->v, in->cap, sizeof(*in->v));
	}
	in->v[in->n++] = *t;
}

static int info_cmp(const void *a, const void *b)
{
	const struct hc_target_info *x = a, *y = b;
	int r = strcmp(x->service, y->service);
	if (!r)
		r = strcmp(x->region, y->region);
	return r ? r : strcmp(x->address, y->address);
}

/* hc_checker_foreach() gives the targets sorted the same way. */
static const struct hc_target_info *find_info(const struct infos *in,
					      const char *svc,
					      const char *region,
					      const char *addr)
{
	struct hc_target_info key = {
	    .service = svc, .region = region, .address = addr};
	return in->n ? bsearch(&key, in->v, in->n, sizeof(*in->v), info_cmp)
		     : NULL;
}

static const char *const verdict_names[] = {"pass", "fail", "inconclusive"};
static const char *const state_names[] = {"unknown", "up", "down"};

static json_t *addr_json(const char *text, const struct hc_target_info *t,
			 bool probed, const char *state_if_unprobed)
{
	json_t *o = json_pack("{s:s}", "address", text);
	if (!t) {
		json_object_set_new(o, "state",
				    json_string(state_if_unprobed));
		json_object_set_new(o, "probed", json_false());
		json_object_set_new(o, "last_result", json_null());
		json_object_set_new(o, "reason", json_null());
		json_object_set_new(o, "latency_ms", json_null());
		json_object_set_new(o, "passes", json_integer(0));
		json_object_set_new(o, "fails", json_integer(0));
		json_object_set_new(o, "since", json_null());
		json_object_set_new(o, "server_version", json_null());
		return o;
	}
	json_object_set_new(o, "state", json_string(state_names[t->state]));
	json_object_set_new(o, "probed", json_boolean(probed));
	json_object_set_new(o, "last_result",
			    t->has_result ? json_string(verdict_names[t->last])
					  : json_null());
	json_object_set_new(o, "reason", str_or_null(t->reason));
	json_object_set_new(o, "latency_ms",
			    t->has_result
				? json_real(round(t->latency * 1e4) / 10.0)
				: json_null());
	json_object_set_new(o, "passes", json_integer(t->passes));
	json_object_set_new(o, "fails", json_integer(t->fails));
	json_object_set_new(o, "since",
			    t->last_change ? json_integer(t->last_change)
					   : json_null());
	json_object_set_new(o, "server_version",
			    str_or_null(t->server_version));
	return o;
}

static json_t *region_json(const struct daemon *d, const struct infos *in,
			   const struct conf_service *cs,
			   const struct steer_service *svc, uint16_t ri,
			   enum steer_mode mode)
{
	const struct steer_region *r = &svc->regions[ri];
	const struct conf_region *cr = &cs->regions[ri];
	const struct ctl_drain *dr =
	    ctl_state_find(d->admin, svc->name, r->name);
	bool healthy = steer_region_healthy(r);
	json_t *o = json_pack(
	    "{s:s, s:b, s:s, s:o}", "name", r->name, "usable",
	    steer_region_usable(r), "state", steer_region_state(r, mode),
	    "drain", dr ? ctl_drain_json(dr) : json_null());
	if (dr) {
		/* Inside a region, service and region are known. */
		json_object_del(json_object_get(o, "drain"), "service");
		json_object_del(json_object_get(o, "drain"), "region");
	}
	json_t *addrs = json_array();
	bool via_checks = cr->n_check_addrs > 0;
	for (size_t i = 0; i < cr->n_addrs; i++) {
		const char *text = cr->addrs[i].text;
		const struct hc_target_info *t =
		    via_checks ? NULL
			       : find_info(in, svc->name, r->name, text);
		const char *unprobed = !cr->check.enabled ? "static"
				       : healthy	  ? "up"
							  : "down";
		json_array_append_new(addrs, addr_json(text, t, t != NULL,
						       unprobed));
	}
	json_object_set_new(o, "addresses", addrs);
	if (via_checks) {
		json_t *ca = json_array();
		for (size_t i = 0; i < cr->n_check_addrs; i++) {
			const char *text = cr->check_addrs[i].text;
			const struct hc_target_info *t =
			    find_info(in, svc->name, r->name, text);
			json_array_append_new(
			    ca, addr_json(text, t, t != NULL, "unknown"));
		}
		json_object_set_new(o, "check_addresses", ca);
	}
	return o;
}

static char *cmd_status(void *arg, const struct ctl_peer *peer, json_t *args)
{
	struct daemon *d = arg;
	const struct snapshot *s = d->cur;
	struct infos in = {0};
	hc_checker_foreach(d->checker, collect, &in);

	json_t *daemon = json_pack(
	    "{s:s, s:I, s:I, s:s, s:I, s:s, s:s}", "version", PACKAGE_VERSION,
	    "pid", (json_int_t)getpid(), "started", (json_int_t)d->started,
	    "config_file", d->conf_path, "config_loaded",
	    (json_int_t)s->loaded, "control_socket", ctl_server_path(d->ctl),
	    "state_file", d->state_path);
	json_t *svcs = json_array();
	for (size_t i = 0; i < s->steer->n_services; i++) {
		const struct steer_service *svc = &s->steer->services[i];
		const struct conf_service *cs = &s->conf->services[i];
		enum steer_mode mode = steer_mode_now(svc);
		bool checked = false;
		for (size_t r = 0; r < cs->n_regions; r++)
			checked |= cs->regions[r].check.enabled;
		json_t *hosts = json_array();
		for (size_t h = 0; h < cs->n_hosts; h++)
			json_array_append_new(hosts,
					      json_string(cs->hosts[h]));
		json_t *regions = json_array();
		for (uint16_t r = 0; r < svc->n_regions; r++)
			json_array_append_new(
			    regions, region_json(d, &in, cs, svc, r, mode));
		json_array_append_new(
		    svcs,
		    json_pack("{s:s, s:o, s:I, s:s, s:b, s:s, s:o, s:o}",
			      "name", svc->name, "hosts", hosts, "ttl",
			      (json_int_t)svc->ttl, "when_all_down",
			      svc->all_down == CONF_FAIL_CLOSED
				  ? "fail-closed"
				  : "fail-open",
			      "checked", checked, "state",
			      mode == STEER_NORMAL ? "ok"
						   : steer_mode_name(mode),
			      "version_warning",
			      str_or_null(
				  hc_checker_skew(d->checker, svc->name)),
			      "regions", regions));
	}
	json_t *orphans = json_array();
	for (size_t i = 0; i < d->admin->n; i++) {
		const struct ctl_drain *dr = &d->admin->drains[i];
		const struct steer_service *svc =
		    find_service(s->steer, dr->service);
		if (!svc || find_region(svc, dr->region) < 0)
			json_array_append_new(orphans, ctl_drain_json(dr));
	}
	free(in.v);
	return ctl_reply_ok(json_pack("{s:o, s:o, s:o}", "daemon", daemon,
				      "services", svcs, "orphaned_drains",
				      orphans));
}

/* ---- drain and undrain ------------------------------------------------ */

/* Saves n as the new admin state and adopts it; on failure keeps the old
 * one and returns the reason as a reply. */
static char *commit(struct daemon *d, struct ctl_state *n, const char *what)
{
	char err[512];
	if (ctl_state_save(n, d->state_path, err, sizeof(err)) != 0) {
		log_err("control: %s not saved, nothing changed (%s)", what,
			err);
		ctl_state_free(n);
		return fail("%s failed, nothing changed: %s", what, err);
	}
	if (err[0])
		log_warn("control: %s", err);
	daemon_set_admin(d, n);
	daemon_arm_expiry(d);
	return NULL;
}

/* The last-region guard: draining region ri of svc would leave it no
 * region to answer from, whatever the health state. That is when every
 * other region is drained (even failing open, the service would answer
 * SERVFAIL), or when ri is the one usable region (the others would answer
 * only by failing open, or not at all). Draining a region again (a new
 * reason or expiry) changes neither, and is never refused. */
static bool drain_leaves_none(const struct steer_service *svc, int ri)
{
	const struct steer_region *r = &svc->regions[ri];
	if (steer_region_drained(r))
		return false;
	bool other_open = false, other_usable = false;
	for (uint16_t i = 0; i < svc->n_regions; i++) {
		if ((int)i == ri || steer_region_drained(&svc->regions[i]))
			continue;
		other_open = true;
		other_usable |= steer_region_usable(&svc->regions[i]);
	}
	return !other_open || (steer_region_usable(r) && !other_usable);
}

static char *cmd_drain(void *arg, const struct ctl_peer *peer, json_t *args)
{
	struct daemon *d = arg;
	const struct steer_set *st = d->cur->steer;
	const char *region, *service, *reason;
	char *reply = NULL;
	if (arg_str(args, "region", 63, &region, &reply) ||
	    arg_str(args, "service", 63, &service, &reply) ||
	    arg_str(args, "reason", REASON_MAX, &reason, &reply))
		return reply;
	if (!region)
		return fail("drain: a region is required");
	json_t *jfor = json_object_get(args, "for");
	double secs = 0;
	if (jfor && !json_is_null(jfor)) {
		if (!json_is_number(jfor) || json_number_value(jfor) <= 0 ||
		    json_number_value(jfor) > CTL_DRAIN_MAX_SECONDS)
			return fail("for: must be a number of seconds, more "
				    "than 0 and at most %.0f",
				    CTL_DRAIN_MAX_SECONDS);
		secs = json_number_value(jfor);
	}
	json_t *jforce = json_object_get(args, "force");
	if (jforce && !json_is_boolean(jforce) && !json_is_null(jforce))
		return fail("force: must be true or false");
	bool force = json_is_true(jforce);

	const struct steer_service *only = NULL;
	if (service) {
		only = find_service(st, service);
		if (!only)
			return unknown_service(st, service);
		if (find_region(only, region) < 0)
			return unknown_region(st, only, region);
	}
	/* Which services have it, and would any be left with no region to
	 * answer from? */
	size_t n_match = 0;
	char refused[1024] = "";
	for (size_t i = 0; i < st->n_services; i++) {
		const struct steer_service *svc = &st->services[i];
		int ri = find_region(svc, region);
		if ((only && svc != only) || ri < 0)
			continue;
		n_match++;
		if (!force && drain_leaves_none(svc, ri))
			list_add(refused, sizeof(refused), svc->name);
	}
	if (!n_match)
		return unknown_region(st, NULL, region);
	if (refused[0]) {
		log_warn("control: %s: refused to drain %s, the last region "
			 "%s could answer from",
			 peer->user, region, refused);
		return fail("refusing to drain %s: %s would have no region "
			    "left to answer from (use --force to drain it "
			    "anyway)",
			    region, refused);
	}

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct ctl_state *n = ctl_state_copy(d->admin);
	json_t *done = json_array();
	struct ctl_drain dr = {
	    .region = (char *)region,
	    .reason = (char *)(reason ? reason : ""),
	    .author = (char *)peer->user,
	    .start = now.tv_sec,
	    .expires = secs > 0 ? (time_t)ceil((double)now.tv_sec +
					      (double)now.tv_nsec / 1e9 + secs)
				: 0,
	};
	for (size_t i = 0; i < st->n_services; i++) {
		const struct steer_service *svc = &st->services[i];
		if ((only && svc != only) || find_region(svc, region) < 0)
			continue;
		dr.service = svc->name;
		ctl_state_set(n, &dr);
		json_array_append_new(done, ctl_drain_json(&dr));
	}
	reply = commit(d, n, "drain");
	if (reply) {
		json_decref(done);
		return reply;
	}
	char until[64] = "";
	if (dr.expires) {
		struct tm tm;
		gmtime_r(&dr.expires, &tm);
		strftime(until, sizeof(until), ", until %Y-%m-%d %H:%M:%S UTC",
			 &tm);
	}
	size_t i;
	json_t *o;
	json_array_foreach(done, i, o)
	{
		log_info("control: %s drained %s/%s (%s%s)", peer->user,
			 json_string_value(json_object_get(o, "service")),
			 region, dr.reason[0] ? dr.reason : "no reason given",
			 until);
	}
	return ctl_reply_ok(json_pack("{s:o}", "drained", done));
}

static char *cmd_undrain(void *arg, const struct ctl_peer *peer, json_t *args)
{
	struct daemon *d = arg;
	const struct steer_set *st = d->cur->steer;
	const char *region, *service;
	char *reply = NULL;
	if (arg_str(args, "region", 63, &region, &reply) ||
	    arg_str(args, "service", 63, &service, &reply))
		return reply;
	if (!region)
		return fail("undrain: a region is required");

	struct ctl_state *n = ctl_state_copy(d->admin);
	json_t *undrained = json_array(), *not_drained = json_array();
	/* Drains first, orphaned ones included. */
	for (size_t i = 0; i < d->admin->n; i++) {
		const struct ctl_drain *dr = &d->admin->drains[i];
		if (strcmp(dr->region, region) != 0 ||
		    (service && strcmp(dr->service, service) != 0))
			continue;
		json_array_append_new(undrained,
				      json_pack("{s:s, s:s}", "service",
						dr->service, "region",
						dr->region));
		ctl_state_remove(n, dr->service, dr->region);
	}
	/* Then the configured regions that were not drained. */
	const struct steer_service *only =
	    service ? find_service(st, service) : NULL;
	size_t n_known = 0;
	for (size_t i = 0; i < st->n_services; i++) {
		const struct steer_service *svc = &st->services[i];
		if ((service && svc != only) || find_region(svc, region) < 0)
			continue;
		n_known++;
		if (!ctl_state_find(d->admin, svc->name, region))
			json_array_append_new(
			    not_drained, json_pack("{s:s, s:s}", "service",
						   svc->name, "region",
						   region));
	}
	if (json_array_size(undrained) == 0) {
		json_decref(undrained);
		ctl_state_free(n);
		if ((service && !only) || !n_known) {
			json_decref(not_drained);
			return service && !only
				   ? unknown_service(st, service)
				   : unknown_region(st, only, region);
		}
		return ctl_reply_ok(json_pack("{s:[], s:o}", "undrained",
					      "not_drained", not_drained));
	}
	reply = commit(d, n, "undrain");
	if (reply) {
		json_decref(undrained);
		json_decref(not_drained);
		return reply;
	}
	size_t i;
	json_t *o;
	json_array_foreach(undrained, i, o)
	{
		log_info("control: %s undrained %s/%s", peer->user,
			 json_string_value(json_object_get(o, "service")),
			 region);
	}
	return ctl_reply_ok(json_pack("{s:o, s:o}", "undrained", undrained,
				      "not_drained", not_drained));
}

/* ---- explain and reload ----------------------------------------------- */

/* The steered name that a query for name (presentation form) reaches, as
 * the server answers it: the answer path itself is run, so CNAME and
 * DNAME chains, wildcards, delegations and zone data that hides a
 * wildcard host are followed exactly as for a client. Returns true and
 * the name in final (presentation form, lowercase), or false when no
 * steered name is reached. Main thread. */
static bool chase_steered(const struct snapshot *s, const char *name,
			  char *final, size_t len)
{
	ldns_rdf *dn = NULL;
	bool found = false;
	uint8_t *pkt = NULL, *out = NULL;
	struct answer_ctx *ctx = NULL;
	if (ldns_str2rdf_dname(&dn, name) != LDNS_STATUS_OK)
		goto out;
	size_t nl = ldns_rdf_size(dn);
	/* A query for A, over TCP so that nothing is cut. */
	static const uint8_t hdr[12] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	pkt = gs_xmalloc(sizeof(hdr) + nl + 4);
	memcpy(pkt, hdr, sizeof(hdr));
	memcpy(pkt + sizeof(hdr), ldns_rdf_data(dn), nl);
	memcpy(pkt + sizeof(hdr) + nl, "\0\1\0\1", 4);
	ctx = gs_xmalloc(sizeof(*ctx));
	answer_ctx_init(ctx);
	out = gs_xmalloc(65535);
	answer_process(ctx, &s->view, pkt, sizeof(hdr) + nl + 4, out, 65535,
		       NULL, true, (uint32_t)time(NULL));
	if (!ctx->steered)
		goto out;
	ldns_rdf *fin = ldns_dname_new_frm_data((uint16_t)ctx->steered_len,
						ctx->steered_name);
	char *text = fin ? ldns_rdf2str(fin) : NULL;
	if (text) {
		snprintf(final, len, "%s", text);
		found = true;
	}
	free(text);
	ldns_rdf_deep_free(fin);
out:
	ldns_rdf_deep_free(dn);
	free(pkt);
	free(out);
	free(ctx);
	return found;
}

static char *cmd_explain(void *arg, const struct ctl_peer *peer, json_t *args)
{
	struct daemon *d = arg;
	const struct snapshot *s = d->cur;
	const char *address, *name;
	char *reply = NULL;
	if (arg_str(args, "address", 255, &address, &reply) ||
	    arg_str(args, "name", 255, &name, &reply))
		return reply;
	if (!address)
		return fail("explain: an address is required");
	if (s->steer->n_services == 0)
		return fail("no service is configured: every name is answered "
			    "from the zones");
	/* --name: what the server answers for it, through any alias. */
	char final[DNS_MAX_NAME * 4 + 2];
	if (name && !chase_steered(s, name, final, sizeof(final)))
		return fail("%.255s is not a steered name, and no CNAME or "
			    "DNAME in the zones leads to one",
			    name);
	char err[256];
	json_t *r = steer_explain(s->steer, s->geo,
				  s->conf->geoip.default_location, address,
				  name ? final : NULL, err, sizeof(err));
	if (!r)
		return fail("%s", err);
	if (name) {
		/* Say which name was asked when it is an alias. */
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(r, "services"), i, e)
		{
			json_object_set_new(e, "asked", json_string(name));
		}
	}
	return ctl_reply_ok(r);
}

static char *cmd_reload(void *arg, const struct ctl_peer *peer, json_t *args)
{
	struct daemon *d = arg;
	log_info("control: reload asked by %s", peer->user);
	json_t *errors = json_array();
	if (daemon_reload(d, errors) != 0) {
		char msg[256];
		struct tm tm;
		gmtime_r(&d->cur->loaded, &tm);
		strftime(msg, sizeof(msg),
			 "reload failed; still serving the configuration "
			 "loaded at %Y-%m-%d %H:%M:%S UTC",
			 &tm);
		return ctl_reply_error(msg, errors);
	}
	json_t *r = json_pack("{s:s, s:I, s:o}", "config_file", d->conf_path,
			      "config_loaded", (json_int_t)d->cur->loaded,
			      "warnings", errors);
	return ctl_reply_ok(r);
}

const struct ctl_command daemon_commands[] = {
    {"status", cmd_status},   {"drain", cmd_drain},
    {"undrain", cmd_undrain}, {"explain", cmd_explain},
    {"reload", cmd_reload},   {NULL, NULL},
};
