/* mmdb.c: MaxMind DB files -> ranges, by walking the whole search tree.
 *
 * Each data record becomes one range: the prefix that leads to it. In an
 * IPv6 tree, IPv4 lives under ::/96; the writers alias ::ffff:0:0/96 and
 * 2002::/16 to that subtree, so a record pointing at the ::/96 node from
 * anywhere else is skipped rather than read twice. Every node is visited at
 * most once (a tree has no sharing besides those aliases), which bounds the
 * work on a hostile file; the depth is bounded by the address width. */
#include "config.h"

#ifdef HAVE_MAXMINDDB

#include <errno.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "geo/geo.h"
#include "geo/geo_int.h"

#define V4_DEPTH 96 /* where IPv4 starts in an IPv6 tree */

struct frame {
	geo_u128 path; /* the prefix, left-aligned in the tree's width */
	uint64_t record;
	uint32_t offset; /* data records: offset in the data section */
	uint8_t depth;
	uint8_t type; /* MMDB_RECORD_TYPE_* */
};

struct slot {
	uint32_t offset, loc;
	bool used;
};

/* Data offset -> location, so each record is decoded once. */
struct cache {
	struct slot *s;
	size_t n, cap;
};

struct walk {
	struct geo_loader *l;
	MMDB_s mm;
	unsigned bits;
	uint32_t v4_node; /* the ::/96 node, or UINT32_MAX */
	uint32_t seq;
	struct cache cache;
};

static size_t slot_of(const struct cache *c, uint32_t offset)
{
	size_t i = (offset * 0x9e3779b1u) & (c->cap - 1);
	while (c->s[i].used && c->s[i].offset != offset)
		i = (i + 1) & (c->cap - 1);
	return i;
}

static void cache_put(struct cache *c, uint32_t offset, uint32_t loc)
{
	if ((c->n + 1) * 2 > c->cap) {
		struct cache big = {.cap = c->cap ? c->cap * 2 : 1024};
		big.s = gs_xcalloc(big.cap, sizeof(*big.s));
		for (size_t i = 0; i < c->cap; i++)
			if (c->s[i].used)
				big.s[slot_of(&big, c->s[i].offset)] = c->s[i];
		big.n = c->n;
		free(c->s);
		*c = big;
	}
	size_t i = slot_of(c, offset);
	c->s[i] = (struct slot){.offset = offset, .loc = loc, .used = true};
	c->n++;
}

/* Reads a number at path; *found tells whether there was one. */
static int get_number(MMDB_entry_s *e, const char *a, const char *b, double *v,
		      bool *found)
{
	MMDB_entry_data_s d;
	int st = MMDB_get_value(e, &d, a, b, NULL);
	*found = false;
	if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return 0;
	if (st != MMDB_SUCCESS)
		return st;
	if (!d.has_data)
		return 0;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		*v = d.double_value;
	else if (d.type == MMDB_DATA_TYPE_FLOAT)
		*v = (double)d.float_value;
	else
		return 0;
	*found = true;
	return 0;
}

/* Reads a two-character string at path into cc, or leaves cc[0] 0. */
static int get_code(MMDB_entry_s *e, const char *a, const char *b, char cc[3])
{
	MMDB_entry_data_s d;
	int st = MMDB_get_value(e, &d, a, b, NULL);
	cc[0] = '\0';
	if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return 0;
	if (st != MMDB_SUCCESS)
		return st;
	if (d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
	    d.data_size == 2) {
		memcpy(cc, d.utf8_string, 2);
		cc[2] = '\0';
	}
	return 0;
}

/* The location of the data record at offset: the city's coordinates, else
 * the country's, else the registered country's. */
static int record_loc(struct walk *w, uint32_t offset, uint32_t *loc)
{
	if (w->cache.cap) {
		size_t i = slot_of(&w->cache, offset);
		if (w->cache.s[i].used) {
			*loc = w->cache.s[i].loc;
			return 0;
		}
	}
	MMDB_entry_s e = {.mmdb = &w->mm, .offset = offset};
	double lat = 0, lon = 0;
	bool has_lat, has_lon;
	char cc[3];
	int st = get_number(&e, "location", "latitude", &lat, &has_lat);
	if (st == 0)
		st = get_number(&e, "location", "longitude", &lon, &has_lon);
	if (st != 0)
		goto out;
	if (has_lat && has_lon && lat >= -90.0 && lat <= 90.0 &&
	    lon >= -180.0 && lon <= 180.0) {
		*loc = geo_loader_point(w->l, lat, lon);
		goto done;
	}
	st = get_code(&e, "country", "iso_code", cc);
	if (st == 0 && !cc[0])
		st = get_code(&e, "registered_country", "iso_code", cc);
	if (st != 0)
		goto out;
	*loc = cc[0] ? geo_loader_cc(w->l, cc, 0) : 0;
done:
	cache_put(&w->cache, offset, *loc);
out:
	if (st != 0)
		geo_loader_diag(w->l, true, 0,
				"bad data record at offset %u (%s)", offset,
				MMDB_strerror(st));
	return st == 0 ? 0 : GS_ESYNTAX;
}

static int emit(struct walk *w, const struct frame *f)
{
	uint32_t loc;
	int ret = record_loc(w, f->offset, &loc);
	if (ret != 0)
		return ret;
	geo_u128 width_mask = w->bits == 128 ? ~(geo_u128)0 : UINT32_MAX;
	geo_u128 host = f->depth == 0
			    ? width_mask
			    : ((geo_u128)1 << (w->bits - f->depth)) - 1;
	geo_u128 lo = f->path, hi = f->path | host;
	uint32_t seq = ++w->seq;
	if (w->bits == 32 || hi <= UINT32_MAX) {
		geo_loader_add4(w->l, (uint32_t)lo, (uint32_t)hi, loc, seq);
	} else if (lo == 0) {
		/* A prefix shorter than /96 that also covers IPv4. */
		geo_loader_add4(w->l, 0, UINT32_MAX, loc, seq);
		geo_loader_add6(w->l, (geo_u128)1 << 32, hi, loc, seq);
	} else {
		geo_loader_add6(w->l, lo, hi, loc, seq);
	}
	return 0;
}

/* Finds the ::/96 node of an IPv6 tree, if the tree has one. */
static int find_v4_node(struct walk *w)
{
	uint32_t node = 0;
	w->v4_node = UINT32_MAX;
	for (int d = 0; d < V4_DEPTH; d++) {
		MMDB_search_node_s n;
		int st = MMDB_read_node(&w->mm, node, &n);
		if (st != MMDB_SUCCESS) {
			geo_loader_diag(w->l, true, 0,
					"bad search tree (node %u: %s)", node,
					MMDB_strerror(st));
			return GS_ESYNTAX;
		}
		if (n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
			return 0;
		node = (uint32_t)n.left_record;
	}
	w->v4_node = node;
	return 0;
}

static int walk_tree(struct walk *w)
{
	struct frame stack[130];
	size_t sp = 0, visits = 0;
	uint32_t node_count = w->mm.metadata.node_count;
	int ret = 0;

	stack[sp++] = (struct frame){.type = MMDB_RECORD_TYPE_SEARCH_NODE};
	while (sp) {
		struct frame f = stack[--sp];
		if (f.type == MMDB_RECORD_TYPE_DATA) {
			ret = emit(w, &f);
			if (ret != 0)
				goto out;
			continue;
		}
		uint32_t node = (uint32_t)f.record;
		if (++visits > node_count) {
			geo_loader_diag(w->l, true, 0,
					"bad search tree (node %u reached "
					"twice)",
					node);
			ret = GS_ESYNTAX;
			goto out;
		}
		if (f.depth >= w->bits) {
			geo_loader_diag(w->l, true, 0,
					"bad search tree (deeper than %u "
					"bits)",
					w->bits);
			ret = GS_ESYNTAX;
			goto out;
		}
		MMDB_search_node_s n;
		int st = MMDB_read_node(&w->mm, node, &n);
		if (st != MMDB_SUCCESS) {
			geo_loader_diag(w->l, true, 0,
					"bad search tree (node %u: %s)", node,
					MMDB_strerror(st));
			ret = GS_ESYNTAX;
			goto out;
		}
		/* Right first, so that the left half comes off the stack
		 * first and ranges come out in ascending order. */
		for (int side = 1; side >= 0; side--) {
			struct frame c = {.path = f.path,
					  .depth = (uint8_t)(f.depth + 1),
					  .record = side ? n.right_record
							 : n.left_record,
					  .type = side ? n.right_record_type
						       : n.left_record_type};
			MMDB_entry_s *e =
			    side ? &n.right_record_entry : &n.left_record_entry;
			if (side)
				c.path |= (geo_u128)1 << (w->bits - c.depth);
			if (c.type == MMDB_RECORD_TYPE_EMPTY)
				continue;
			if (c.type == MMDB_RECORD_TYPE_INVALID) {
				geo_loader_diag(w->l, true, 0,
						"bad search tree (node %u "
						"points outside the file)",
						node);
				ret = GS_ESYNTAX;
				goto out;
			}
			if (c.type == MMDB_RECORD_TYPE_SEARCH_NODE &&
			    c.record == w->v4_node &&
			    !(c.depth == V4_DEPTH && c.path == 0))
				continue; /* an alias of the IPv4 subtree */
			c.offset = e->offset;
			stack[sp++] = c;
		}
	}
out:
	return ret;
}

int mmdb_load(struct geo_loader *l, const char *path)
{
	struct walk w = {.l = l};
	int ret = 0;
	int st = MMDB_open(path, MMDB_MODE_MMAP, &w.mm);
	if (st != MMDB_SUCCESS) {
		if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) {
			geo_loader_diag(l, true, 0, "cannot read (%s)",
					errno ? strerror(errno)
					      : MMDB_strerror(st));
			return GS_EIO;
		}
		geo_loader_diag(l, true, 0, "bad MaxMind DB (%s)",
				MMDB_strerror(st));
		return GS_ESYNTAX;
	}
	uint16_t ipv = w.mm.metadata.ip_version;
	if (ipv != 4 && ipv != 6) {
		geo_loader_diag(l, true, 0, "bad MaxMind DB (ip_version %u)",
				(unsigned)ipv);
		ret = GS_ESYNTAX;
		goto out;
	}
	w.bits = ipv == 6 ? 128 : 32;
	w.v4_node = UINT32_MAX;
	if (ipv == 6) {
		ret = find_v4_node(&w);
		if (ret != 0)
			goto out;
	}
	ret = walk_tree(&w);
out:
	free(w.cache.s);
	MMDB_close(&w.mm);
	return ret;
}

#endif
