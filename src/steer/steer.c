/* steer.c: compile services, regions and GeoIP data into region orders. */
#include "config.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dns/wire.h"
#include "steer/steer.h"

/* ---- building -------------------------------------------------------- */

struct builder {
	const struct conf *conf;
	struct hc_checker *checker;
	bool initial_up;
	int errors;
};

GS_PRINTF(3, 4)
static void build_err(struct builder *b, size_t svc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s: services[%zu].%s", b->conf->path, svc, msg);
	b->errors++;
}

/* Presentation name ("a.example.org.") to lowercase wire; 0 on error. */
static size_t name_to_wire(const char *text, uint8_t *out)
{
	size_t n = 0, tl = strlen(text);
	if (tl == 1 && text[0] == '.') {
		out[0] = 0;
		return 1;
	}
	const char *p = text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t ll = dot ? (size_t)(dot - p) : strlen(p);
		if (ll == 0 || ll > 63 || n + ll + 2 > DNS_MAX_NAME)
			return 0;
		out[n++] = (uint8_t)ll;
		for (size_t i = 0; i < ll; i++) {
			char ch = p[i];
			out[n++] =
			    (uint8_t)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		p += ll;
		if (*p == '.')
			p++;
	}
	out[n++] = 0;
	return n;
}

static int host_cmp(const void *a, const void *b)
{
	const struct steer_host *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

/* The region order for a point: regions by great-circle distance, ties by
 * config order. first >= 0 puts that region first. */
static void order_for_point(const struct steer_service *svc, double lat,
			    double lon, int first, uint8_t *out)
{
	double d[STEER_MAX_REGIONS];
	for (uint16_t i = 0; i < svc->n_regions; i++) {
		d[i] = geo_distance_km(lat, lon, svc->regions[i].lat,
				       svc->regions[i].lon);
		out[i] = (uint8_t)i;
	}
	if (first >= 0)
		d[first] = -1.0;
	/* Insertion sort: a handful of regions, and it is stable. */
	for (uint16_t i = 1; i < svc->n_regions; i++) {
		uint8_t r = out[i];
		int j = i - 1;
		while (j >= 0 && d[out[j]] > d[r]) {
			out[j + 1] = out[j];
			j--;
		}
		out[j + 1] = r;
	}
}

/* Interned orders, found again through an open-addressing hash. */
struct order_tab {
	struct steer_service *svc;
	size_t cap;	 /* slots, a power of two */
	uint32_t *slots; /* order index + 1, 0 = empty */
};

static uint32_t order_hash(const uint8_t *o, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ o[i]) * 16777619u;
	return h;
}

static uint16_t order_intern(struct order_tab *t, const uint8_t *o)
{
	struct steer_service *svc = t->svc;
	size_t n = svc->n_regions;
	if ((size_t)svc->n_orders * 2 + 2 >= t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		uint32_t *slots = gs_xcalloc(cap, sizeof(*slots));
		for (uint16_t i = 0; i < svc->n_orders; i++) {
			size_t h = order_hash(svc->orders + (size_t)i * n, n);
			while (slots[h & (cap - 1)])
				h++;
			slots[h & (cap - 1)] = (uint32_t)i + 1;
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	size_t h = order_hash(o, n);
	for (;; h++) {
		uint32_t s = t->slots[h & (t->cap - 1)];
		if (s == 0)
			break;
		if (memcmp(svc->orders + (size_t)(s - 1) * n, o, n) == 0)
			return (uint16_t)(s - 1);
	}
	/* Region orders are permutations of at most 64 regions; far fewer
	 * distinct ones than 65535 occur, but stay safe. */
	if (svc->n_orders == UINT16_MAX)
		return svc->unknown_order;
	svc->orders =
	    gs_xreallocarray(svc->orders, (size_t)svc->n_orders + 1, n);
	memcpy(svc->orders + (size_t)svc->n_orders * n, o, n);
	t->slots[h & (t->cap - 1)] = (uint32_t)svc->n_orders + 1;
	return svc->n_orders++;
}

static int region_index(const struct steer_service *svc, const char *name)
{
	for (uint16_t i = 0; i < svc->n_regions; i++)
		if (strcmp(svc->regions[i].name, name) == 0)
			return i;
	return -1;
}

/* The order index for every location of the GeoIP data. */
static uint16_t *orders_for_locs(struct order_tab *t, const struct geo_db *geo)
{
	struct steer_service *svc = t->svc;
	uint16_t *map = gs_xcalloc(geo->n_locs, sizeof(*map));
	uint8_t o[STEER_MAX_REGIONS];
	for (size_t i = 0; i < geo->n_locs; i++) {
		const struct geo_loc *l = &geo->locs[i];
		int r;
		switch (l->kind) {
		case GEO_POINT:
			order_for_point(svc, l->lat, l->lon, -1, o);
			map[i] = order_intern(t, o);
			break;
		case GEO_REGION:
			r = region_index(svc, l->region);
			if (r < 0) {
				map[i] = svc->unknown_order;
				break;
			}
			order_for_point(svc, svc->regions[r].lat,
					svc->regions[r].lon, r, o);
			map[i] = order_intern(t, o);
			break;
		default:
			map[i] = svc->unknown_order;
		}
	}
	return map;
}

static void emit4(struct steer_service *svc, size_t *cap, uint32_t start,
		  uint16_t order)
{
	/* A range that starts where the last one did replaces it. */
	if (svc->n4 && svc->t4[svc->n4 - 1].start == start)
		svc->n4--;
	if (svc->n4 && svc->t4[svc->n4 - 1].order == order)
		return;
	if (svc->n4 == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		svc->t4 = gs_xreallocarray(svc->t4, *cap, sizeof(*svc->t4));
	}
	svc->t4[svc->n4].start = start;
	svc->t4[svc->n4].order = order;
	svc->n4++;
}

typedef unsigned __int128 u128;

static u128 load128(const uint8_t *p)
{
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | p[i];
	return v;
}

static void store128(uint8_t *p, u128 v)
{
	for (int i = 15; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void emit6(struct steer_service *svc, size_t *cap, u128 start,
		  uint16_t order)
{
	if (svc->n6 && load128(svc->t6[svc->n6 - 1].start) == start)
		svc->n6--;
	if (svc->n6 && svc->t6[svc->n6 - 1].order == order)
		return;
	if (svc->n6 == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		svc->t6 = gs_xreallocarray(svc->t6, *cap, sizeof(*svc->t6));
	}
	store128(svc->t6[svc->n6].start, start);
	svc->t6[svc->n6].order = order;
	svc->n6++;
}

static void build_tables(struct steer_service *svc, struct order_tab *t,
			 const struct geo_db *geo)
{
	size_t cap4 = 0, cap6 = 0;
	if (!geo) {
		emit4(svc, &cap4, 0, svc->unknown_order);
		emit6(svc, &cap6, 0, svc->unknown_order);
		return;
	}
	uint16_t *map = orders_for_locs(t, geo);

	uint64_t pos = 0;
	for (size_t i = 0; i < geo->n4; i++) {
		const struct geo_range4 *r = &geo->r4[i];
		if (r->lo > pos || svc->n4 == 0)
			emit4(svc, &cap4, (uint32_t)pos, svc->unknown_order);
		emit4(svc, &cap4, r->lo, map[r->loc]);
		pos = (uint64_t)r->hi + 1;
	}
	if (pos <= UINT32_MAX || svc->n4 == 0)
		emit4(svc, &cap4, (uint32_t)pos, svc->unknown_order);

	u128 pos6 = 0;
	bool end = false;
	for (size_t i = 0; i < geo->n6; i++) {
		const struct geo_range6 *r = &geo->r6[i];
		u128 lo = load128(r->lo), hi = load128(r->hi);
		if (lo > pos6 || svc->n6 == 0)
			emit6(svc, &cap6, pos6, svc->unknown_order);
		emit6(svc, &cap6, lo, map[r->loc]);
		end = hi == ~(u128)0;
		pos6 = hi + 1;
	}
	if (!end || svc->n6 == 0)
		emit6(svc, &cap6, pos6, svc->unknown_order);
	free(map);
}

/* Checks that a host name lies in a zone, not at or below a delegation or
 * a DNAME, and (exact hosts) has no address or alias data of its own. */
/* True if a zone of the config that did not load (its errors are out)
 * holds name: nothing can be said about the name then. */
static bool in_unloaded_zone(const struct conf *c, const struct zoneset *zs,
			     const uint8_t *wire, size_t len)
{
	for (size_t i = 0; i < c->n_zones; i++) {
		uint8_t o[DNS_MAX_NAME + 1];
		size_t ol = c->zones[i].origin
				? name_to_wire(c->zones[i].origin, o)
				: 0;
		if (ol == 0 || !wire_name_is_sub(wire, len, o, ol))
			continue;
		bool loaded = false;
		for (size_t k = 0; k < zs->n; k++)
			if (zs->zones[k]->origin_len == ol &&
			    memcmp(zs->zones[k]->origin, o, ol) == 0)
				loaded = true;
		if (!loaded)
			return true;
	}
	return false;
}

static void check_host(struct builder *b, size_t si, size_t hi,
		       const char *text, const uint8_t *wire, size_t len,
		       bool wildcard, const struct zoneset *zs)
{
	const struct zone *z = zoneset_find(zs, wire, len);
	if (!z && in_unloaded_zone(b->conf, zs, wire, len))
		return;
	if (!z) {
		build_err(b, si,
			  "hosts[%zu]: \"%s\" is not inside any "
			  "configured zone",
			  hi, text);
		return;
	}
	/* Walk the ancestors strictly below the apex, and the name. */
	unsigned labels = wire_name_labels(wire);
	size_t off = 0;
	for (unsigned k = labels; k > z->origin_labels; k--) {
		const struct zone_node *n = zone_find(z, wire + off, len - off);
		if (n && (n->flags & ZONE_NODE_DELEG)) {
			build_err(b, si,
				  "hosts[%zu]: \"%s\" is at or below a "
				  "delegation in zone %s",
				  hi, text, z->origin_str);
			return;
		}
		if (n && off > 0 && (n->flags & ZONE_NODE_DNAME)) {
			build_err(b, si,
				  "hosts[%zu]: \"%s\" is below a DNAME in "
				  "zone %s",
				  hi, text, z->origin_str);
			return;
		}
		off += (size_t)wire[off] + 1;
	}
	if (wildcard)
		return;
	const struct zone_node *n = zone_find(z, wire, len);
	static const uint16_t own[] = {DNS_T_A, DNS_T_AAAA, DNS_T_CNAME};
	for (size_t i = 0; n && i < GS_ARRAY_SIZE(own); i++) {
		if (zone_node_rrset(n, own[i])) {
			build_err(b, si,
				  "hosts[%zu]: \"%s\" has %s records in "
				  "%s; a steered name gets its addresses from "
				  "the service",
				  hi, text,
				  own[i] == DNS_T_A	 ? "A"
				  : own[i] == DNS_T_AAAA ? "AAAA"
							 : "CNAME",
				  z->file);
			return;
		}
	}
}

static const struct hc_flag *target(struct builder *b,
				    const struct conf_service *cs,
				    const struct conf_region *cr,
				    const struct conf_addr *a)
{
	if (!b->checker || !cr->check.enabled)
		return NULL;
	return hc_checker_target(b->checker, cs->name, cr->name, a, &cr->check,
				 b->initial_up);
}

static void build_service(struct builder *b, size_t si,
			  const struct conf_service *cs,
			  struct steer_service *svc, const struct geo_db *geo)
{
	svc->name = gs_xstrdup(cs->name);
	svc->ttl = cs->ttl;
	svc->all_down = cs->when_all_down;
	if (cs->n_regions > STEER_MAX_REGIONS) {
		build_err(b, si, "regions: at most %d regions per service",
			  STEER_MAX_REGIONS);
		return;
	}
	svc->n_regions = (uint16_t)cs->n_regions;
	svc->regions = gs_xcalloc(cs->n_regions, sizeof(*svc->regions));
	for (size_t i = 0; i < cs->n_regions; i++) {
		const struct conf_region *cr = &cs->regions[i];
		struct steer_region *r = &svc->regions[i];
		/* A region whose name did not parse (its error is out) is
		 * named by no one. */
		r->name = gs_xstrdup(cr->name ? cr->name : "");
		r->lat = cr->lat;
		r->lon = cr->lon;
		r->a4 = gs_xcalloc(cr->n_addrs, sizeof(*r->a4));
		r->a6 = gs_xcalloc(cr->n_addrs, sizeof(*r->a6));
		r->f4 = gs_xcalloc(cr->n_addrs, sizeof(*r->f4));
		r->f6 = gs_xcalloc(cr->n_addrs, sizeof(*r->f6));
		bool own = cr->n_check_addrs == 0;
		for (size_t a = 0; a < cr->n_addrs; a++) {
			const struct conf_addr *ca = &cr->addrs[a];
			if (!ca->text)
				continue; /* did not parse */
			const struct hc_flag *f =
			    own ? target(b, cs, cr, ca) : NULL;
			if (ca->family == AF_INET) {
				r->f4[r->n4] = f;
				memcpy(r->a4[r->n4++], ca->addr, 4);
			} else {
				r->f6[r->n6] = f;
				memcpy(r->a6[r->n6++], ca->addr, 16);
			}
		}
		r->checks = gs_xcalloc(cr->n_check_addrs, sizeof(*r->checks));
		for (size_t a = 0; a < cr->n_check_addrs; a++) {
			if (!cr->check_addrs[a].text)
				continue;
			const struct hc_flag *f =
			    target(b, cs, cr, &cr->check_addrs[a]);
			if (f)
				r->checks[r->n_checks++] = f;
		}
	}

	struct order_tab t = {.svc = svc};
	uint8_t o[STEER_MAX_REGIONS];
	const char *dl = b->conf->geoip.default_location;
	double lat, lon;
	if (dl && geo_parse_latlon(dl, &lat, &lon) == 0) {
		order_for_point(svc, lat, lon, -1, o);
	} else if (dl && geo_country_find(dl, &lat, &lon)) {
		order_for_point(svc, lat, lon, -1, o);
	} else {
		if (dl && si == 0) {
			log_err("%s: geoip.default_location: unknown country "
				"code \"%s\"",
				b->conf->path, dl);
			b->errors++;
		}
		for (uint16_t i = 0; i < svc->n_regions; i++)
			o[i] = (uint8_t)i;
	}
	svc->unknown_order = order_intern(&t, o);
	build_tables(svc, &t, geo);
	free(t.slots);
}

/* Region names in the overrides must name a region of some service. */
static void check_override_regions(struct builder *b, const struct conf *c,
				   const struct geo_db *geo)
{
	for (size_t i = 0; geo && i < geo->n_locs; i++) {
		const struct geo_loc *l = &geo->locs[i];
		if (l->kind != GEO_REGION)
			continue;
		bool found = false;
		for (size_t s = 0; s < c->n_services && !found; s++)
			for (size_t r = 0; r < c->services[s].n_regions; r++)
				if (c->services[s].regions[r].name &&
				    strcmp(c->services[s].regions[r].name,
					   l->region) == 0)
					found = true;
		if (!found) {
			log_err("%s:%u: \"%s\" is not a region of any service",
				l->file, l->line, l->region);
			b->errors++;
		}
	}
}

int steer_build(const struct conf *c, const struct zoneset *zs,
		const struct geo_db *geo, struct hc_checker *checker,
		bool initial_up, struct steer_set **out)
{
	struct builder b = {
	    .conf = c, .checker = checker, .initial_up = initial_up};
	struct steer_set *s = gs_xcalloc(1, sizeof(*s));
	s->checker = checker;
	s->n_services = c->n_services;
	s->services = gs_xcalloc(c->n_services, sizeof(*s->services));
	size_t n_hosts = 0;
	for (size_t i = 0; i < c->n_services; i++)
		n_hosts += c->services[i].n_hosts;
	s->exact = gs_xcalloc(n_hosts, sizeof(*s->exact));
	s->wild = gs_xcalloc(n_hosts, sizeof(*s->wild));

	check_override_regions(&b, c, geo);
	for (size_t i = 0; i < c->n_services; i++) {
		const struct conf_service *cs = &c->services[i];
		/* A config with errors is still checked (--check reports
		 * everything at once): a service whose name did not parse
		 * is skipped, parts that did not parse are NULL. */
		if (!cs->name)
			continue;
		for (size_t h = 0; h < cs->n_hosts; h++) {
			const char *text = cs->hosts[h];
			if (!text)
				continue;
			bool wild = text[0] == '*' && text[1] == '.';
			struct steer_host *sh =
			    wild ? &s->wild[s->n_wild] : &s->exact[s->n_exact];
			size_t len =
			    name_to_wire(wild ? text + 2 : text, sh->name);
			if (len == 0) {
				build_err(&b, i,
					  "hosts[%zu]: invalid name \"%s\"", h,
					  text);
				continue;
			}
			sh->len = (uint8_t)len;
			sh->service = (uint16_t)i;
			check_host(&b, i, h, text, sh->name, len, wild, zs);
			if (wild)
				s->n_wild++;
			else
				s->n_exact++;
		}
		build_service(&b, i, cs, &s->services[i], geo);
	}
	qsort(s->exact, s->n_exact, sizeof(*s->exact), host_cmp);
	qsort(s->wild, s->n_wild, sizeof(*s->wild), host_cmp);
	if (b.errors) {
		steer_free(s);
		return GS_ECONFIG;
	}
	*out = s;
	return 0;
}

void steer_free(struct steer_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_services; i++) {
		struct steer_service *svc = &s->services[i];
		for (uint16_t r = 0; svc->regions && r < svc->n_regions; r++) {
			struct steer_region *rg = &svc->regions[r];
			for (uint16_t a = 0; s->checker && a < rg->n4; a++)
				hc_checker_unref(s->checker, rg->f4[a]);
			for (uint16_t a = 0; s->checker && a < rg->n6; a++)
				hc_checker_unref(s->checker, rg->f6[a]);
			for (uint16_t a = 0; s->checker && a < rg->n_checks;
			     a++)
				hc_checker_unref(s->checker, rg->checks[a]);
			free(rg->name);
			free(rg->a4);
			free(rg->a6);
			free(rg->f4);
			free(rg->f6);
			free(rg->checks);
		}
		free(svc->regions);
		free(svc->name);
		free(svc->orders);
		free(svc->t4);
		free(svc->t6);
	}
	free(s->services);
	free(s->exact);
	free(s->wild);
	free(s);
}

/* ---- the query path -------------------------------------------------- */

bool steer_region_usable(const struct steer_region *r)
{
	return !steer_region_drained(r) && steer_region_healthy(r);
}

bool steer_region_healthy(const struct steer_region *r)
{
	if (r->n_checks) {
		for (uint16_t i = 0; i < r->n_checks; i++)
			if (hc_flag_up(r->checks[i]))
				return true;
		return false;
	}
	for (uint16_t i = 0; i < r->n4; i++)
		if (hc_flag_up(r->f4[i]))
			return true;
	for (uint16_t i = 0; i < r->n6; i++)
		if (hc_flag_up(r->f6[i]))
			return true;
	return false;
}

static const struct steer_host *host_find(const struct steer_host *v, size_t n,
					  const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = v[mid].len != len ? (v[mid].len < len ? -1 : 1)
					  : memcmp(v[mid].name, name, len);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct steer_service *steer_match(const struct steer_set *s,
					const uint8_t *name, size_t len,
					bool *wildcard)
{
	const struct steer_host *h = host_find(s->exact, s->n_exact, name, len);
	if (h) {
		*wildcard = false;
		return &s->services[h->service];
	}
	if (s->n_wild == 0)
		return NULL;
	/* A wildcard host covers every name strictly below its base; the
	 * closest base wins. */
	size_t off = (size_t)name[0] + 1;
	while (off < len) {
		h = host_find(s->wild, s->n_wild, name + off, len - off);
		if (h) {
			*wildcard = true;
			return &s->services[h->service];
		}
		if (name[off] == 0)
			break;
		off += (size_t)name[off] + 1;
	}
	return NULL;
}

const struct steer_service *steer_cover(const struct steer_set *s,
					const uint8_t *name, size_t len)
{
	if (s->n_exact == 0 && s->n_wild == 0)
		return NULL;
	/* From the name up: the first suffix that is an exact host, or (not
	 * for the name itself) a wildcard base. */
	size_t off = 0;
	while (off < len) {
		const struct steer_host *h =
		    host_find(s->exact, s->n_exact, name + off, len - off);
		if (!h && off > 0)
			h = host_find(s->wild, s->n_wild, name + off,
				      len - off);
		if (h)
			return &s->services[h->service];
		if (name[off] == 0)
			break;
		off += (size_t)name[off] + 1;
	}
	return NULL;
}

static uint8_t scope4(uint32_t a, uint32_t lo, uint32_t hi)
{
	for (unsigned l = 0; l < 32; l++) {
		uint32_t mask = l ? ~0u << (32 - l) : 0;
		uint32_t s = a & mask, e = s | ~mask;
		if (s >= lo && e <= hi)
			return (uint8_t)l;
	}
	return 32;
}

static uint8_t scope6(u128 a, u128 lo, u128 hi)
{
	for (unsigned l = 0; l < 128; l++) {
		u128 mask = l ? ~(u128)0 << (128 - l) : 0;
		u128 s = a & mask, e = s | ~mask;
		if (s >= lo && e <= hi)
			return (uint8_t)l;
	}
	return 128;
}

const uint8_t *steer_order(const struct steer_service *svc,
			   const struct steer_client *c, uint8_t *scope)
{
	size_t lo = 0, hi;
	uint16_t order;
	if (c->family == AF_INET) {
		uint32_t a = (uint32_t)c->addr[0] << 24 |
			     (uint32_t)c->addr[1] << 16 |
			     (uint32_t)c->addr[2] << 8 | c->addr[3];
		hi = svc->n4;
		/* Last entry with start <= a; entry 0 starts at 0. */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (svc->t4[mid].start <= a)
				lo = mid;
			else
				hi = mid;
		}
		uint32_t end =
		    lo + 1 < svc->n4 ? svc->t4[lo + 1].start - 1 : UINT32_MAX;
		*scope = scope4(a, svc->t4[lo].start, end);
		order = svc->t4[lo].order;
	} else {
		u128 a = load128(c->addr);
		hi = svc->n6;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (load128(svc->t6[mid].start) <= a)
				lo = mid;
			else
				hi = mid;
		}
		u128 end = lo + 1 < svc->n6 ? load128(svc->t6[lo + 1].start) - 1
					    : ~(u128)0;
		*scope = scope6(a, load128(svc->t6[lo].start), end);
		order = svc->t6[lo].order;
	}
	return svc->orders + (size_t)order * svc->n_regions;
}

bool steer_set_drained(struct steer_set *s, const char *service,
		       const char *region, bool drained)
{
	for (size_t i = 0; i < s->n_services; i++) {
		struct steer_service *svc = &s->services[i];
		if (strcmp(svc->name, service) != 0)
			continue;
		for (uint16_t r = 0; r < svc->n_regions; r++) {
			if (strcmp(svc->regions[r].name, region) != 0)
				continue;
			atomic_store(&svc->regions[r].drained, drained);
			return true;
		}
	}
	return false;
}

enum steer_mode steer_mode_now(const struct steer_service *svc)
{
	bool any_open = false;
	for (uint16_t i = 0; i < svc->n_regions; i++) {
		const struct steer_region *r = &svc->regions[i];
		if (steer_region_drained(r))
			continue;
		if (steer_region_healthy(r))
			return STEER_NORMAL;
		any_open = true;
	}
	if (!any_open)
		return STEER_ALL_DRAINED;
	return svc->all_down == CONF_FAIL_CLOSED ? STEER_FAIL_CLOSED
						  : STEER_FAIL_OPEN;
}

const char *steer_mode_name(enum steer_mode m)
{
	switch (m) {
	case STEER_NORMAL:
		return "normal";
	case STEER_FAIL_OPEN:
		return "fail-open";
	case STEER_FAIL_CLOSED:
		return "fail-closed";
	case STEER_ALL_DRAINED:
		return "all-drained";
	}
	return "?";
}

bool steer_addr_answered(const struct steer_region *r, int family,
			 unsigned i, enum steer_mode mode)
{
	if (mode == STEER_FAIL_OPEN || r->n_checks)
		return true;
	return hc_flag_up(family == AF_INET ? r->f4[i] : r->f6[i]);
}

static bool has_answered(const struct steer_region *r, int family,
			 enum steer_mode mode)
{
	if (family != AF_INET6)
		for (uint16_t a = 0; a < r->n4; a++)
			if (steer_addr_answered(r, AF_INET, a, mode))
				return true;
	if (family != AF_INET)
		for (uint16_t a = 0; a < r->n6; a++)
			if (steer_addr_answered(r, AF_INET6, a, mode))
				return true;
	return false;
}

int steer_pick(const struct steer_service *svc, const uint8_t *order,
	       int family, enum steer_mode *mode)
{
	/* The usual case in one pass: a usable region makes the mode
	 * normal, and the nearest one with an address of the family is
	 * the answer. */
	bool any_usable = false;
	for (uint16_t i = 0; i < svc->n_regions; i++) {
		const struct steer_region *r = &svc->regions[order[i]];
		if (!steer_region_usable(r))
			continue;
		any_usable = true;
		if (has_answered(r, family, STEER_NORMAL)) {
			*mode = STEER_NORMAL;
			return order[i];
		}
	}
	enum steer_mode m = any_usable ? STEER_NORMAL : steer_mode_now(svc);
	*mode = m;
	if (m != STEER_FAIL_OPEN)
		return -1;
	for (uint16_t i = 0; i < svc->n_regions; i++) {
		const struct steer_region *r = &svc->regions[order[i]];
		if (!steer_region_drained(r) && has_answered(r, family, m))
			return order[i];
	}
	return -1;
}

const char *steer_region_state(const struct steer_region *r,
			       enum steer_mode mode)
{
	if (steer_region_drained(r))
		return "drained";
	if (steer_region_healthy(r))
		return "up";
	return mode == STEER_FAIL_OPEN ? "fail-open" : "down";
}

/* ---- explain ----------------------------------------------------------- */

/* Where an address is, and from which point distances are measured. */
struct whereabouts {
	json_t *loc;   /* the "location" object */
	bool has_point;
	double lat, lon;
	const char *region; /* an override naming a region */
};

static json_t *json_str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static void locate(const struct geo_db *geo, const char *default_location,
		   const struct steer_client *c, struct whereabouts *w)
{
	const struct geo_loc *l = NULL;
	if (geo) {
		uint32_t idx = 0;
		if (c->family == AF_INET) {
			uint32_t a = (uint32_t)c->addr[0] << 24 |
				     (uint32_t)c->addr[1] << 16 |
				     (uint32_t)c->addr[2] << 8 | c->addr[3];
			const struct geo_range4 *r = geo_db_find4(geo, a);
			idx = r ? r->loc : 0;
		} else {
			const struct geo_range6 *r = geo_db_find6(geo, c->addr);
			idx = r ? r->loc : 0;
		}
		l = &geo->locs[idx];
	}
	const char *source = "none", *file = NULL, *cc = NULL;
	unsigned line = 0;
	w->has_point = false;
	w->region = NULL;
	if (l && l->kind != GEO_NONE) {
		/* The overrides file is the last one loaded. */
		bool ovr = l->kind == GEO_REGION || l->file == geo->overrides;
		source = ovr ? "overrides" : "database";
		file = l->file;
		if (l->kind == GEO_REGION) {
			line = l->line;
			w->region = l->region;
		} else {
			w->has_point = true;
			w->lat = l->lat;
			w->lon = l->lon;
			cc = l->cc;
		}
	} else if (default_location) {
		double lat, lon;
		source = "default_location";
		if (geo_parse_latlon(default_location, &lat, &lon) == 0 ||
		    geo_country_find(default_location, &lat, &lon)) {
			w->has_point = true;
			w->lat = lat;
			w->lon = lon;
		}
		if (strlen(default_location) == 2)
			cc = default_location;
	}
	w->loc = json_pack("{s:s, s:o, s:o, s:o}", "source", source, "file",
			   json_str_or_null(file), "line",
			   line ? json_integer(line) : json_null(), "country",
			   json_str_or_null(cc));
	json_object_set_new(w->loc, "lat",
			    w->has_point ? json_real(w->lat) : json_null());
	json_object_set_new(w->loc, "lon",
			    w->has_point ? json_real(w->lon) : json_null());
	json_object_set_new(w->loc, "region", json_str_or_null(w->region));
}

static json_t *family_answer(const struct steer_service *svc,
			     const uint8_t *order, int family)
{
	enum steer_mode mode;
	int ri = steer_pick(svc, order, family, &mode);
	json_t *addrs = json_array();
	if (ri < 0)
		return json_pack("{s:n, s:o}", "region", "addresses", addrs);
	const struct steer_region *r = &svc->regions[ri];
	unsigned n = family == AF_INET ? r->n4 : r->n6;
	for (unsigned i = 0; i < n; i++) {
		if (!steer_addr_answered(r, family, i, mode))
			continue;
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(family, family == AF_INET ? r->a4[i] : r->a6[i], buf,
			  sizeof(buf));
		json_array_append_new(addrs, json_string(buf));
	}
	return json_pack("{s:s, s:o}", "region", r->name, "addresses", addrs);
}

static json_t *explain_service(const struct steer_service *svc,
			       const char *name, const struct steer_client *c,
			       const struct whereabouts *w)
{
	uint8_t scope;
	const uint8_t *order = steer_order(svc, c, &scope);
	enum steer_mode mode = steer_mode_now(svc);
	int ref = w->region ? region_index(svc, w->region) : -1;
	json_t *ord = json_array();
	for (uint16_t i = 0; i < svc->n_regions; i++) {
		const struct steer_region *r = &svc->regions[order[i]];
		json_t *dist = json_null();
		if (w->has_point)
			dist = json_real(
			    round(geo_distance_km(w->lat, w->lon, r->lat,
						  r->lon) *
				  10.0) /
			    10.0);
		else if (ref >= 0)
			dist = json_real(round(
			    geo_distance_km(svc->regions[ref].lat,
					    svc->regions[ref].lon, r->lat,
					    r->lon) *
			    10.0) / 10.0);
		json_array_append_new(
		    ord, json_pack("{s:s, s:o, s:s, s:b}", "region", r->name,
				   "distance_km", dist, "state",
				   steer_region_state(r, mode), "usable",
				   steer_region_usable(r)));
	}
	bool servfail =
	    mode == STEER_FAIL_CLOSED || mode == STEER_ALL_DRAINED;
	uint32_t ttl = mode == STEER_FAIL_OPEN && svc->ttl > 10 ? 10 : svc->ttl;
	return json_pack("{s:s, s:s, s:i, s:o, s:s, s:I, s:s, s:o, s:o}",
			 "service", svc->name, "name", name, "scope", scope,
			 "order", ord, "mode", steer_mode_name(mode), "ttl",
			 (json_int_t)ttl, "rcode",
			 servfail ? "SERVFAIL" : "NOERROR", "a",
			 family_answer(svc, order, AF_INET), "aaaa",
			 family_answer(svc, order, AF_INET6));
}

/* The presentation form of a service's first host. */
static void first_host(const struct steer_set *s, size_t svc, char *buf,
		       size_t len)
{
	const struct steer_host *hv[2] = {s->exact, s->wild};
	size_t hn[2] = {s->n_exact, s->n_wild};
	buf[0] = '\0';
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < hn[k]; i++) {
			const struct steer_host *h = &hv[k][i];
			if (h->service != svc)
				continue;
			size_t off = 0;
			if (k == 1)
				off += (size_t)snprintf(buf, len, "*.");
			for (size_t p = 0; h->name[p] && off + 64 < len;
			     p += h->name[p] + 1u) {
				memcpy(buf + off, h->name + p + 1, h->name[p]);
				off += h->name[p];
				buf[off++] = '.';
			}
			buf[off] = '\0';
			return;
		}
	}
}

json_t *steer_explain(const struct steer_set *s, const struct geo_db *geo,
		      const char *default_location, const char *address,
		      const char *name, char *err, size_t errlen)
{
	struct steer_client c = {0};
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
					   0, 0, 0, 0, 0xff, 0xff};
	if (inet_pton(AF_INET, address, c.addr) == 1) {
		c.family = AF_INET;
	} else if (inet_pton(AF_INET6, address, c.addr) == 1) {
		c.family = AF_INET6;
		if (memcmp(c.addr, mapped, 12) == 0) {
			memmove(c.addr, c.addr + 12, 4);
			memset(c.addr + 4, 0, 12);
			c.family = AF_INET;
		}
	} else {
		snprintf(err, errlen,
			 "\"%.80s\" is not an IPv4 or IPv6 address", address);
		return NULL;
	}
	const struct steer_service *only = NULL;
	if (name) {
		uint8_t wire[DNS_MAX_NAME + 1];
		size_t tl = strlen(name);
		char *fq = gs_xasprintf("%s%s", name,
					tl && name[tl - 1] == '.' ? "" : ".");
		size_t wl = tl < DNS_MAX_NAME ? name_to_wire(fq, wire) : 0;
		free(fq);
		bool wild;
		only = wl ? steer_match(s, wire, wl, &wild) : NULL;
		if (!only) {
			snprintf(err, errlen, "%.100s is not a steered name",
				 name);
			return NULL;
		}
	}
	struct whereabouts w;
	locate(geo, default_location, &c, &w);
	char text[INET6_ADDRSTRLEN];
	inet_ntop(c.family, c.addr, text, sizeof(text));
	json_t *svcs = json_array();
	for (size_t i = 0; i < s->n_services; i++) {
		const struct steer_service *svc = &s->services[i];
		if (only && only != svc)
			continue;
		char host[DNS_MAX_NAME * 2];
		if (name)
			snprintf(host, sizeof(host), "%s", name);
		else
			first_host(s, i, host, sizeof(host));
		json_array_append_new(svcs, explain_service(svc, host, &c, &w));
	}
	return json_pack("{s:s, s:i, s:o, s:o}", "address", text, "family",
			 c.family == AF_INET ? 4 : 6, "location", w.loc,
			 "services", svcs);
}
