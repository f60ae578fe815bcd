/* geo_int.h: internals of the geo module shared by geo.c (the loader and
 * range tables) and mmdb.c (the MaxMind DB reader). Not for other modules.
 * Main thread only, during geo_db_load(). */
#ifndef GS_GEO_GEO_INT_H
#define GS_GEO_GEO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

__extension__ typedef unsigned __int128 geo_u128;

/* The first bytes of a MaxMind DB metadata section. */
#define GEO_MMDB_MARKER "\xAB\xCD\xEFMaxMind.com"
#define GEO_MMDB_MARKER_LEN 14

/* State of one geo_db_load() call; defined in geo.c. */
struct geo_loader;

/* Location index of a country code (two letters or digits, any case): the
 * interned GEO_POINT, or 0 (GEO_NONE) for "??" and codes that
 * geo_country_find() does not know. An unknown code is warned about once
 * per file, except ZZ and UN, which databases use for "unknown". line may
 * be 0. */
uint32_t geo_loader_cc(struct geo_loader *l, const char *cc, unsigned line);

/* Location index of coordinates that the caller has range-checked. */
uint32_t geo_loader_point(struct geo_loader *l, double lat, double lon);

/* Adds a range of the current file. line orders ranges of one file (the
 * first wins where they overlap) and is shown in messages unless the file
 * is binary. Ranges located at 0 (GEO_NONE) are counted and dropped, except
 * in the overrides file, where they force "unknown". add6 sends a range
 * lying inside ::ffff:0:0/96 to the IPv4 table and drops the part of a
 * wider range that covers it. */
void geo_loader_add4(struct geo_loader *l, uint32_t lo, uint32_t hi,
		     uint32_t loc, unsigned line);
void geo_loader_add6(struct geo_loader *l, geo_u128 lo, geo_u128 hi,
		     uint32_t loc, unsigned line);

/* Reports a problem in the current file (line 0: the file as a whole).
 * Errors make the load fail, with GS_ESYNTAX unless geo_loader_fail()
 * recorded another code. */
void geo_loader_diag(struct geo_loader *l, bool is_error, unsigned line,
		     const char *fmt, ...) GS_PRINTF(4, 5);

/* Records the first failure code of the load (GS_EIO, GS_ENOENT, ...). */
void geo_loader_fail(struct geo_loader *l, int rc);

#ifdef HAVE_MAXMINDDB
/* Reads the MaxMind DB at path into l's range lists: for each data record,
 * location/latitude+longitude if present, else country/iso_code, else
 * registered_country/iso_code. Returns 0 or a negative GS_E* code after
 * reporting the problem through geo_loader_diag(). */
int mmdb_load(struct geo_loader *l, const char *path);
#endif

/* The built-in country table, for its unit test: the number of entries
 * and the code of entry i (i < country_count()), in table order. */
size_t country_count(void);
const char *country_code(size_t i);

#endif
