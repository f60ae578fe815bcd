/* geo.h: where an address is. GeoIP databases (Tor/IPFire range files,
 * CIDR tables, MaxMind DB when built with libmaxminddb) and an overrides
 * file are read at load time into sorted, non-overlapping range tables,
 * one per address family, whose entries point at interned locations.
 * Loading runs on the main thread; a loaded geo_db is immutable and may be
 * read by any thread. */
#ifndef GS_GEO_GEO_H
#define GS_GEO_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum geo_kind {
	GEO_NONE = 0, /* unknown: no data, "??", private or reserved */
	GEO_POINT,    /* coordinates (from lat,lon or a country code) */
	GEO_REGION,   /* an overrides entry naming a region */
};

struct geo_loc {
	enum geo_kind kind;
	double lat, lon; /* GEO_POINT: degrees, lat -90..90, lon -180..180 */
	char cc[3];      /* ISO 3166-1 alpha-2 code when it came from one, or "" */
	char *region;    /* GEO_REGION: the region name (owned by the db) */
	/* The file that placed it (one of db->files, owned by the db; NULL
	 * for GEO_NONE); for GEO_REGION the first line naming the region. */
	const char *file;
	unsigned line;
};

/* IPv4 ranges; host byte order, inclusive bounds. */
struct geo_range4 {
	uint32_t lo, hi;
	uint32_t loc; /* index into geo_db.locs */
};

/* IPv6 ranges; addresses as 16 bytes in network order, inclusive. IPv4 and
 * IPv4-mapped space (::ffff:0:0/96) live in the IPv4 table only. */
struct geo_range6 {
	uint8_t lo[16], hi[16];
	uint32_t loc;
};

struct geo_db {
	size_t n_locs;
	struct geo_loc *locs; /* locs[0] is always the GEO_NONE location */
	size_t n4, n6;
	struct geo_range4 *r4; /* sorted, non-overlapping; gaps are unknown */
	struct geo_range6 *r6;
	size_t n_read;  /* ranges read from all files, before merging */
	char **files;   /* the files loaded (owned) */
	const char *overrides; /* the overrides file: one of files, or NULL */
	size_t n_files;
};

/* Receives each problem: file, line (0 if none) and message. */
typedef void (*geo_diag_fn)(void *arg, bool is_error, const char *file,
			    unsigned line, const char *msg);

/* Loads the databases (recognised by content: MaxMind DB by its metadata
 * marker, Tor/IPFire range files "low,high,CC" with integer IPv4 or
 * textual IPv6 bounds, CIDR tables "CIDR CC" or "CIDR lat,lon") and then
 * the overrides file (may be NULL: "CIDR REGION", "CIDR CC" or
 * "CIDR lat,lon"; exactly two ASCII letters are a country code, two
 * numbers separated by a comma are coordinates, anything else is a region
 * name). '#' starts a comment; blank lines are ignored. Overrides win over
 * databases; among databases an earlier file wins over a later one.
 * Adjacent ranges with the same location are merged. Country codes become
 * coordinates through geo_country_find(); "??" and unknown codes are
 * GEO_NONE (an unknown code is reported as a warning once per file).
 * Every error names file and line (through diag, or log_err/log_warn
 * "FILE:LINE: msg" when diag is NULL). Returns 0 and a new db the caller
 * owns (geo_db_free), or GS_ENOENT/GS_EIO/GS_ESYNTAX after reporting
 * every error found. Main thread. */
int geo_db_load(const char *const *databases, size_t n_databases,
		const char *overrides, geo_diag_fn diag, void *arg,
		struct geo_db **out);

void geo_db_free(struct geo_db *db);

/* The range holding the address, or NULL if none (unknown). Any thread. */
const struct geo_range4 *geo_db_find4(const struct geo_db *db, uint32_t a);
const struct geo_range6 *geo_db_find6(const struct geo_db *db,
				      const uint8_t a[16]);

/* Coordinates of an ISO 3166-1 alpha-2 code (case-insensitive), from the
 * built-in table that covers every code in Debian's tor-geoipdb (including
 * EU, AP and other non-country codes). Returns true and sets *lat, *lon,
 * or false if unknown. */
bool geo_country_find(const char *cc, double *lat, double *lon);

/* Great-circle distance in kilometres (haversine, mean earth radius). */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/* Parses "lat,lon" (decimal degrees, optional spaces) within range.
 * Returns 0 or GS_EINVAL. */
int geo_parse_latlon(const char *s, double *lat, double *lon);

#endif
