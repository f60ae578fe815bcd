/* zone.h: zones loaded from RFC 1035 master files through ldns, checked,
 * and compiled into an immutable in-memory form whose RRsets are stored as
 * ready-to-copy wire RDATA, so the query path never builds a record.
 *
 * A compiled zone is read-only after zone_load() returns and may be read
 * by any number of threads at once. Loading runs on the main thread. */
#ifndef GS_DNS_ZONE_H
#define GS_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One RRset. rdata holds count records, each as a 2-byte big-endian RDLENGTH
 * followed by that many bytes of uncompressed wire RDATA; embedded names are
 * lowercased only where the type's RDATA is compared case-insensitively
 * (never needed for output, so kept as written in the zone). Records appear
 * in zone-file order, duplicates removed. */
struct zone_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl; /* RFC 2181 5.2: one TTL per RRset (the lowest) */
	uint32_t rdata_len;
	uint8_t *rdata;
};

#define ZONE_NODE_APEX 0x01	/* the zone's origin */
#define ZONE_NODE_DELEG 0x02	/* NS below the apex: a zone cut */
#define ZONE_NODE_CNAME 0x04	/* has a CNAME RRset */
#define ZONE_NODE_DNAME 0x08	/* has a DNAME RRset */
#define ZONE_NODE_ENT 0x10	/* empty non-terminal: exists, no RRsets */
#define ZONE_NODE_OCCLUDED 0x20 /* below a cut or a DNAME (glue or hidden) */
#define ZONE_NODE_WILDCARD 0x40 /* first label is '*' */

struct zone_node {
	uint8_t *name;	  /* wire, lowercase, uncompressed */
	uint8_t name_len; /* including the root label */
	uint8_t labels;	  /* not counting the root */
	uint16_t flags;	  /* ZONE_NODE_* */
	uint16_t n_rrsets;
	struct zone_rrset *rrsets; /* sorted by type */
	/* Search key set by zone_load(): the labels from the root down, each
	 * followed by a 0 byte (bytes 0 and 1 inside a label escaped as 1 1
	 * and 1 2), so that memcmp() order is canonical order. A node built
	 * by hand may leave it NULL; zone_find() then derives it from name. */
	uint8_t *key;
	uint16_t key_len;
};

struct zone {
	char *origin_str;    /* presentation form, lowercase, with final dot */
	char *file;	     /* path it was loaded from */
	uint8_t origin[255]; /* wire, lowercase */
	uint8_t origin_len;
	uint8_t origin_labels;
	uint32_t serial;
	uint32_t neg_ttl; /* min(SOA TTL, SOA MINIMUM), RFC 2308 */
	const struct zone_node *apex;
	const struct zone_rrset *soa;
	size_t n_nodes;
	struct zone_node *nodes; /* canonical order (RFC 4034 6.1); includes
				    synthesized empty non-terminals */
};

/* Receives every problem found while loading, in file order: severity
 * (true = error, false = warning), the file and line (0 when the problem
 * is not tied to a line) and a message without the location. */
typedef void (*zone_diag_fn)(void *arg, bool is_error, const char *file,
			     unsigned line, const char *msg);

/* Loads origin (presentation form, e.g. "example.org" or "example.org.")
 * from the master file at path. $ORIGIN, $TTL and $INCLUDE (relative to the
 * including file, nested up to 8 deep) are supported, as is every RR type
 * ldns parses and unknown types in RFC 3597 form.
 * Checks, each reported with file and line through diag (or logged through
 * log_err/log_warn "FILE:LINE: message" when diag is NULL):
 *  errors: syntax errors; data outside the origin; no SOA, more than one
 *  SOA, or a SOA not at the apex; no NS at the apex; CNAME beside other data
 *  or more than one CNAME at a name; class other than IN;
 *  warnings: missing glue (no A/AAAA) for an NS target inside a delegated
 *  part of this zone or at/below the apex; TTL differences within an RRset.
 * Also: errors for a DNAME beside a CNAME or more than one DNAME at a name,
 *  meta types (OPT, ANY, ...), TTLs above 2^31-1, unbalanced parentheses or
 *  quotes, unknown directives, unreadable $INCLUDE files and $INCLUDE
 *  loops (both reported at the $INCLUDE line), records without an owner
 *  and no previous one; warnings for data below a DNAME or a zone cut
 *  (other than A/AAAA glue; such nodes are flagged OCCLUDED), data other
 *  than NS/DS/glue at a zone cut, and a record without TTL before any
 *  $TTL or earlier TTL (3600 is used). Problems are delivered after the
 *  whole file has been read, sorted by the position of the record they
 *  concern; those tied to no line (line 0) come last. An included file
 *  starts with the includer's $ORIGIN (or the one on the $INCLUDE line),
 *  $TTL and last owner, and its changes to them end with it.
 * Returns 0 and stores a new zone the caller owns in *out (free with
 * zone_free), or GS_EZONE after reporting every error it found, or
 * GS_ENOENT/GS_EIO when the file cannot be read (also reported), or
 * GS_EINVAL for an invalid origin. */
int zone_load(const char *origin, const char *path, zone_diag_fn diag,
	      void *arg, struct zone **out);

void zone_free(struct zone *z);

/* Finds the node with exactly this name (wire, lowercase, uncompressed).
 * NULL if absent. Binary search; no allocation; any thread. */
const struct zone_node *zone_find(const struct zone *z, const uint8_t *name,
				  size_t name_len);

/* The RRset of type at node, or NULL. */
const struct zone_rrset *zone_node_rrset(const struct zone_node *n,
					 uint16_t type);

/* A set of zones; the longest origin that contains a name wins. */
struct zoneset {
	size_t n;
	struct zone **zones; /* sorted: most labels first */
};

/* Takes ownership of zones[0..n) (and of the array, which must come from
 * gs_x* allocation). */
struct zoneset *zoneset_new(struct zone **zones, size_t n);
void zoneset_free(struct zoneset *zs);
/* The zone with the longest origin at or above name (lowercase wire), or
 * NULL. Any thread. */
const struct zone *zoneset_find(const struct zoneset *zs, const uint8_t *name,
				size_t name_len);

#endif
