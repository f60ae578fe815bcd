/* conf.h: the geosteerd configuration file (JSON), checked against a
 * declarative schema. One loader serves start-up, reload and --check.
 * Main thread only. */
#ifndef GS_CONF_CONF_H
#define GS_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conf_listen {
	char *text; /* as written, e.g. "[::1]:5353" */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct conf_zone {
	char *origin; /* normalized: lowercase, with the final dot */
	char *file;   /* resolved against the config file's directory */
};

/* One address of a region, as written and parsed. */
struct conf_addr {
	char *text;
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 or 16 bytes in network order */
};

/* A health check, fully resolved: a region's check is its service's
 * with the region's own "check" keys laid over it. */
struct conf_check {
	bool enabled;       /* false: static, every address healthy */
	char *url;          /* http or https; path defaults to /v1/webapi/ping */
	double interval;    /* seconds, 0.1..3600, default 5 */
	double timeout;     /* seconds, 0.1..60, default 3, <= interval */
	unsigned rise;      /* 1..100, default 2 */
	unsigned fall;      /* 1..100, default 3 */
	char *ca_file;      /* resolved path, or NULL: the system store */
	char *cert_file;    /* client certificate (PEM), or NULL */
	char *key_file;     /* its key (PEM), or NULL; needs cert_file */
	char *cluster_name; /* teleport.cluster_name, or NULL */
	bool insecure;      /* skip certificate verification (warned) */
};

enum conf_all_down { CONF_FAIL_OPEN = 0, CONF_FAIL_CLOSED };

struct conf_region {
	char *name;     /* unique within its service */
	double lat;     /* -90..90 */
	double lon;     /* -180..180 */
	size_t n_addrs; /* at least one */
	struct conf_addr *addrs;
	struct conf_check check;   /* resolved (service's + region's keys) */
	size_t n_check_addrs;      /* "check_addresses": probed instead */
	struct conf_addr *check_addrs;
};

struct conf_service {
	char *name;     /* unique */
	size_t n_hosts; /* at least one */
	char **hosts;   /* normalized like zone origins: lowercase, final dot;
			   a wildcard is "*." followed by a name */
	uint32_t ttl;   /* 1..86400, default 30 */
	size_t n_regions; /* at least one */
	struct conf_region *regions;
	enum conf_all_down when_all_down; /* default fail-open */
	struct conf_check check; /* the service's own "check" as written
				    (enabled when present); each region
				    holds its resolved copy */
};

struct conf_geoip {
	size_t n_databases;
	char **databases; /* resolved against the config file's directory */
	char *overrides;  /* resolved, or NULL */
	char *default_location; /* "CC" or "lat,lon" as written, or NULL */
};

struct conf {
	char *path; /* the file it was loaded from */
	char *dir;  /* its directory: relative paths are resolved against it */

	size_t n_listen;
	struct conf_listen *listen; /* default: 0.0.0.0:53 and [::]:53 */
	unsigned workers;	  /* UDP threads per address; 0 = one per CPU */
	char *nsid;		  /* NSID and id.server answer; NULL = none */
	char *version;		  /* version.bind answer; NULL = REFUSED */
	uint16_t udp_payload;	  /* our EDNS UDP payload: 512..4096, 1232 */
	double tcp_idle_timeout;  /* seconds: 0.1..300, default 10 */
	unsigned tcp_max_clients; /* 1..65535, default 256 */

	size_t n_zones;
	struct conf_zone *zones;

	char *control_socket; /* Unix socket path (at most 107 bytes) */
	char *state_file;     /* the admin state (drains) */

	struct conf_geoip geoip; /* all empty when the key is absent */
	size_t n_services;
	struct conf_service *services;
};

/* Receives each error as one line: "FILE: KEYPATH: what is wrong" or, for
 * JSON syntax errors, "FILE:LINE:COLUMN: what is wrong". */
typedef void (*conf_diag_fn)(void *arg, const char *msg);

/* Loads and checks path. Every error found is passed to diag (or logged
 * with log_err when diag is NULL), not just the first.
 * Returns 0 and a new conf in *out that the caller owns (conf_free), or
 * GS_ECONFIG (any error) / GS_ENOENT / GS_EIO. */
int conf_load(const char *path, conf_diag_fn diag, void *arg,
	      struct conf **out);

/* As conf_load, except that when the file was read and parsed as JSON but
 * some values were wrong (GS_ECONFIG, every error reported), *out still
 * holds what did parse, so that the caller can check the rest (zones,
 * GeoIP files) in the same run: values that failed are 0 or NULL, and so
 * are the fields of an array or table element that failed. The caller
 * frees *out (conf_free) whenever it is not NULL. */
int conf_load_partial(const char *path, conf_diag_fn diag, void *arg,
		      struct conf **out);

void conf_free(struct conf *c);

/* Parses "ADDR", "ADDR:PORT", "[V6]:PORT" or "V6" into sa (port defaults to
 * default_port). Returns 0 or GS_EINVAL. Exposed for tests and other keys
 * (metrics_listen). */
int conf_parse_sockaddr(const char *text, uint16_t default_port,
			struct sockaddr_storage *sa, socklen_t *len);

#endif
