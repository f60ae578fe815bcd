/* Steering: region orders by distance, covering tables, merging, lookups
 * at range boundaries, ECS scopes, host matching and load-time checks.
 * The config and GeoIP data are built by hand so only steer.c is tested. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "steer/steer.h"

enum { US, EU, AP };

static struct conf_addr addr(const char *text)
{
	struct conf_addr a = {.text = (char *)text};
	a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.family, text, a.addr), 1);
	return a;
}

static struct conf_addr us_addrs[2], eu_addrs[1], ap_addrs[1];
static struct conf_region regions[3];
static char *hosts[] = {(char *)"teleport.example.org.",
			(char *)"*.teleport.example.org."};
static struct conf_service service;
static struct conf conf;
static struct zoneset *zones;

static void make_conf(void)
{
	us_addrs[0] = addr("192.0.2.10");
	us_addrs[1] = addr("2001:db8::10");
	eu_addrs[0] = addr("198.51.100.10");
	ap_addrs[0] = addr("203.0.113.10");
	regions[US] = (struct conf_region){.name = (char *)"us-east-1",
					   .lat = 38.9,
					   .lon = -77.4,
					   .n_addrs = 2,
					   .addrs = us_addrs};
	regions[EU] = (struct conf_region){.name = (char *)"eu-west-1",
					   .lat = 53.3,
					   .lon = -6.3,
					   .n_addrs = 1,
					   .addrs = eu_addrs};
	regions[AP] = (struct conf_region){.name = (char *)"ap-south-1",
					   .lat = 19.1,
					   .lon = 72.9,
					   .n_addrs = 1,
					   .addrs = ap_addrs};
	service = (struct conf_service){.name = (char *)"teleport",
					.n_hosts = 2,
					.hosts = hosts,
					.ttl = 30,
					.n_regions = 3,
					.regions = regions};
	memset(&conf, 0, sizeof(conf));
	conf.path = (char *)"test.conf";
	conf.n_services = 1;
	conf.services = &service;
}

static int setup(void **state)
{
	(void)state;
	struct zone *z = NULL;
	if (zone_load("example.org", GS_TEST_DATA "/steer/steer.zone", NULL,
		      NULL, &z) != 0)
		return -1;
	struct zone **arr = gs_xcalloc(1, sizeof(*arr));
	arr[0] = z;
	zones = zoneset_new(arr, 1);
	make_conf();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zoneset_free(zones);
	return 0;
}

/* A hand-made GeoIP table. */
static struct geo_loc locs[8];
static struct geo_range4 r4[8];
static struct geo_range6 r6[2];
static struct geo_db geo;

static uint32_t ip4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static void make_geo(void)
{
	memset(&geo, 0, sizeof(geo));
	locs[0] = (struct geo_loc){.kind = GEO_NONE};
	locs[1] = (struct geo_loc){.kind = GEO_POINT, .lat = 51.5, .lon = -0.1};
	locs[2] = (struct geo_loc){.kind = GEO_POINT, .lat = 48.9, .lon = 2.4};
	locs[3] =
	    (struct geo_loc){.kind = GEO_POINT, .lat = 35.7, .lon = 139.7};
	locs[4] = (struct geo_loc){.kind = GEO_POINT, .lat = 30.0, .lon = 31.2};
	locs[5] = (struct geo_loc){.kind = GEO_REGION,
				   .region = (char *)"ap-south-1",
				   .file = (char *)"o.txt",
				   .line = 1};
	geo.locs = locs;
	geo.n_locs = 6;
	/* London /24, then Paris right after it (same order: merged),
	 * Tokyo /23, an unaligned Cairo range, a single address, and the
	 * top of the space. */
	r4[0] = (struct geo_range4){ip4("10.0.0.0"), ip4("10.0.0.255"), 1};
	r4[1] = (struct geo_range4){ip4("10.0.1.0"), ip4("10.0.1.255"), 2};
	r4[2] = (struct geo_range4){ip4("10.0.2.0"), ip4("10.0.3.255"), 3};
	r4[3] = (struct geo_range4){ip4("10.0.4.1"), ip4("10.0.4.6"), 4};
	r4[4] = (struct geo_range4){ip4("10.0.5.7"), ip4("10.0.5.7"), 5};
	r4[5] = (struct geo_range4){ip4("255.255.255.0"),
				    ip4("255.255.255.255"), 3};
	geo.r4 = r4;
	geo.n4 = 6;
	inet_pton(AF_INET6, "2001:db8::", r6[0].lo);
	inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", r6[0].hi);
	r6[0].loc = 3;
	geo.r6 = r6;
	geo.n6 = 1;
}

static const uint8_t *order_of(const struct steer_service *svc, const char *a,
			       uint8_t *scope)
{
	struct steer_client c = {0};
	c.family = strchr(a, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(c.family, a, c.addr), 1);
	return steer_order(svc, &c, scope);
}

static void assert_order(const uint8_t *o, int a, int b, int c)
{
	assert_int_equal(o[0], a);
	assert_int_equal(o[1], b);
	assert_int_equal(o[2], c);
}

static void test_orders_and_scopes(void **state)
{
	(void)state;
	make_geo();
	struct steer_set *s = NULL;
	assert_int_equal(steer_build(&conf, zones, &geo, NULL, false, &s), 0);
	const struct steer_service *svc = &s->services[0];
	uint8_t scope;

	/* London and Paris: Europe, then the US, then India; merged. */
	assert_order(order_of(svc, "10.0.0.0", &scope), EU, US, AP);
	assert_int_equal(scope, 23);
	assert_order(order_of(svc, "10.0.1.255", &scope), EU, US, AP);
	assert_int_equal(scope, 23);
	/* Tokyo: India, then Ireland, then Virginia (great circles). */
	assert_order(order_of(svc, "10.0.2.0", &scope), AP, EU, US);
	assert_int_equal(scope, 23);
	assert_order(order_of(svc, "10.0.3.255", &scope), AP, EU, US);
	/* The unaligned Cairo range 10.0.4.1-10.0.4.6. */
	assert_order(order_of(svc, "10.0.4.4", &scope), EU, AP, US);
	assert_int_equal(scope, 31);
	assert_order(order_of(svc, "10.0.4.1", &scope), EU, AP, US);
	assert_int_equal(scope, 32);
	assert_order(order_of(svc, "10.0.4.6", &scope), EU, AP, US);
	assert_int_equal(scope, 32);
	/* Just outside: unknown, config order. */
	assert_order(order_of(svc, "10.0.4.0", &scope), US, EU, AP);
	assert_int_equal(scope, 32);
	assert_order(order_of(svc, "10.0.4.7", &scope), US, EU, AP);
	/* An override naming a region puts it first. */
	assert_order(order_of(svc, "10.0.5.7", &scope), AP, EU, US);
	assert_int_equal(scope, 32);
	/* The ends of the space. */
	assert_order(order_of(svc, "0.0.0.0", &scope), US, EU, AP);
	assert_int_equal(scope, 5);
	assert_order(order_of(svc, "255.255.255.255", &scope), AP, EU, US);
	assert_int_equal(scope, 24);
	/* IPv6 */
	assert_order(order_of(svc, "2001:db8:1::1", &scope), AP, EU, US);
	assert_int_equal(scope, 32);
	assert_order(order_of(svc, "2001:db9::", &scope), US, EU, AP);
	assert_order(order_of(svc, "::", &scope), US, EU, AP);
	assert_order(
	    order_of(svc, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &scope),
	    US, EU, AP);
	assert_int_equal(scope, 1);

	/* Merging: London and Paris share an entry; the table covers all. */
	assert_int_equal(svc->t4[0].start, 0);
	for (size_t i = 1; i < svc->n4; i++) {
		assert_true(svc->t4[i].start > svc->t4[i - 1].start);
		assert_true(svc->t4[i].order != svc->t4[i - 1].order);
	}
	assert_int_equal(svc->n4, 9);
	steer_free(s);
}

static void test_no_geo_and_default_location(void **state)
{
	(void)state;
	struct steer_set *s = NULL;
	uint8_t scope;
	assert_int_equal(steer_build(&conf, zones, NULL, NULL, false, &s), 0);
	assert_order(order_of(&s->services[0], "10.0.0.1", &scope), US, EU, AP);
	assert_int_equal(scope, 0);
	steer_free(s);

	conf.geoip.default_location = (char *)"19.0,73.0";
	assert_int_equal(steer_build(&conf, zones, NULL, NULL, false, &s), 0);
	assert_order(order_of(&s->services[0], "10.0.0.1", &scope), AP, EU, US);
	steer_free(s);
	conf.geoip.default_location = (char *)"IE";
	assert_int_equal(steer_build(&conf, zones, NULL, NULL, false, &s), 0);
	assert_order(order_of(&s->services[0], "10.0.0.1", &scope), EU, US, AP);
	steer_free(s);
	conf.geoip.default_location = NULL;
}

static const uint8_t *wire(const char *name, uint8_t *buf, size_t *len)
{
	size_t n = 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		buf[n++] = (uint8_t)(dot - p);
		memcpy(buf + n, p, (size_t)(dot - p));
		n += (size_t)(dot - p);
		p = dot + 1;
	}
	buf[n++] = 0;
	*len = n;
	return buf;
}

static const struct steer_service *match(const struct steer_set *s,
					 const char *name, bool *wild)
{
	uint8_t b[255];
	size_t len;
	wire(name, b, &len);
	return steer_match(s, b, len, wild);
}

static void test_match(void **state)
{
	(void)state;
	struct steer_set *s = NULL;
	assert_int_equal(steer_build(&conf, zones, NULL, NULL, false, &s), 0);
	bool wild;
	assert_non_null(match(s, "teleport.example.org.", &wild));
	assert_false(wild);
	assert_non_null(match(s, "app.teleport.example.org.", &wild));
	assert_true(wild);
	assert_non_null(match(s, "a.b.teleport.example.org.", &wild));
	assert_true(wild);
	assert_null(match(s, "example.org.", &wild));
	assert_null(match(s, "xteleport.example.org.", &wild));
	assert_null(match(s, "org.", &wild));
	steer_free(s);
}

static void test_build_errors(void **state)
{
	(void)state;
	struct steer_set *s = NULL;
	char *bad[][1] = {{(char *)"teleport.example.net."},
			  {(char *)"static.example.org."},
			  {(char *)"a.sub.example.org."},
			  {(char *)"*.sub.example.org."}};
	for (size_t i = 0; i < 4; i++) {
		service.hosts = bad[i];
		service.n_hosts = 1;
		assert_int_equal(
		    steer_build(&conf, zones, NULL, NULL, false, &s),
		    GS_ECONFIG);
	}
	/* A wildcard may sit above names with their own data. */
	char *ok[] = {(char *)"*.example.org."};
	service.hosts = ok;
	assert_int_equal(steer_build(&conf, zones, NULL, NULL, false, &s), 0);
	steer_free(s);
	service.hosts = hosts;
	service.n_hosts = 2;

	/* An override must name a region of some service. */
	make_geo();
	locs[5].region = (char *)"mars-1";
	assert_int_equal(steer_build(&conf, zones, &geo, NULL, false, &s),
			 GS_ECONFIG);
	locs[5].region = (char *)"ap-south-1";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_orders_and_scopes),
	    cmocka_unit_test(test_no_geo_and_default_location),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_build_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
