/* zone.c: master files read through ldns, checked, and compiled into the
 * read-only form of zone.h.
 *
 * Loading has three steps. Reading splits each file into entries (our own
 * tokenizer: it keeps the line an entry starts on, joins parentheses, drops
 * comments and sees directives, which ldns cannot report back), handles
 * $ORIGIN, $TTL and $INCLUDE here, and hands every record to ldns to parse.
 * Each record is kept as lowercase owner, type, TTL and wire RDATA. Compiling
 * sorts the records into canonical order, groups them into nodes and RRsets,
 * adds the empty non-terminals, sets the node flags and runs the checks.
 * Every problem is collected with the position of the entry it concerns and
 * reported at the end, in file order. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dns/wire.h"
#include "dns/zone.h"

#define INCLUDE_MAX 8	       /* $INCLUDE nesting */
#define ENTRY_MAX (256 * 1024) /* one entry, comments and parentheses gone */
#define KEY_MAX 512	       /* name_key() of a 255-byte name fits */
#define DIAG_MAX 1000	       /* problems kept for one load */
#define TTL_MAX 0x7fffffffu    /* RFC 2181 8 */
#define TTL_FALLBACK 3600u     /* no TTL, no $TTL, no earlier TTL */
#define NAME_STR_MAX 1024      /* a 255-byte name in presentation form */
#define NO_SEQ ((size_t)-1)    /* problems not tied to an entry sort last */

/* ---- wire names (lowercase, uncompressed, valid unless said) ---------- */

static void name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	/* Length bytes are below 64, so they are never letters. */
	for (size_t i = 0; i < len; i++) {
		uint8_t c = src[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
	}
}

/* Length of the name starting at buf[0..max), or 0 if it is malformed. */
static size_t name_len(const uint8_t *buf, size_t max)
{
	size_t i = 0;
	while (i < max) {
		uint8_t l = buf[i];
		if (l == 0)
			return i + 1;
		if (l > 63 || i + 1u + l > 254)
			return 0;
		i += 1u + l;
	}
	return 0;
}

static unsigned name_labels(const uint8_t *name)
{
	unsigned n = 0;
	for (size_t i = 0; name[i] != 0; i += 1u + name[i])
		n++;
	return n;
}

/* True if name is origin or below it; safe on malformed names. */
static bool name_is_sub(const uint8_t *name, size_t nlen, const uint8_t *origin,
			size_t olen)
{
	size_t i = 0;
	while (i < nlen && nlen - i >= olen) {
		if (nlen - i == olen)
			return memcmp(name + i, origin, olen) == 0;
		if (name[i] == 0 || name[i] > 63)
			return false;
		i += 1u + name[i];
	}
	return false;
}

/* Writes the search key of name[0..len) (see struct zone_node) into key,
 * which has room for KEY_MAX bytes. Returns its length, or -1 if name is
 * not exactly one valid wire name. The key of the root is empty. */
static int name_key(const uint8_t *name, size_t len, uint8_t *key)
{
	size_t off[128];
	unsigned n = 0;
	size_t i = 0, k = 0;

	if (len == 0 || len > 255)
		return -1;
	while (name[i] != 0) {
		uint8_t l = name[i];
		if (l > 63 || i + 1u + l >= len || n == GS_ARRAY_SIZE(off))
			return -1;
		off[n++] = i;
		i += 1u + l;
	}
	if (i + 1 != len)
		return -1;
	while (n-- > 0) {
		const uint8_t *lab = name + off[n];
		for (unsigned j = 1; j <= lab[0]; j++) {
			if (lab[j] <= 1) {
				key[k++] = 1;
				key[k++] = (uint8_t)(lab[j] + 1);
			} else {
				key[k++] = lab[j];
			}
		}
		key[k++] = 0;
	}
	return (int)k;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* True if the name of key k is strictly below the name of key anc. Keys end
 * on a label separator, the only 0 bytes, so a prefix ends on a label. */
static bool key_is_below(const uint8_t *k, size_t klen, const uint8_t *anc,
			 size_t alen)
{
	return klen > alen && memcmp(k, anc, alen) == 0;
}

/* Presentation form of a wire name into buf (NAME_STR_MAX bytes). */
static const char *name_str(const uint8_t *name, size_t len, char *buf)
{
	ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, name);
	char *s = rdf ? ldns_rdf2str(rdf) : NULL;
	snprintf(buf, NAME_STR_MAX, "%s", s ? s : "?");
	free(s);
	ldns_rdf_deep_free(rdf);
	return buf;
}

static const char *type_str(uint16_t type, char *buf, size_t size)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);
	if (s)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "TYPE%u", (unsigned)type);
	free(s);
	return buf;
}

/* ---- the loader's state -------------------------------------------- */

/* One record as read. */
struct rec {
	uint8_t *key;
	uint8_t *owner;
	uint8_t *rdata;
	uint8_t *canon; /* canonical RDATA (RFC 4034 6.2) if it differs */
	const char *file;
	size_t seq;
	unsigned line;
	uint32_t ttl;
	uint16_t key_len;
	uint16_t type;
	uint16_t rdlen;
	uint16_t canon_len;
	uint8_t owner_len;
	bool dup;
};

struct diag_item {
	size_t seq;
	size_t idx;
	const char *file;
	unsigned line;
	bool is_error;
	char *msg;
};

struct open_file {
	dev_t dev;
	ino_t ino;
};

struct loader {
	zone_diag_fn diag;
	void *arg;
	const char *path;
	uint8_t origin[255];
	size_t origin_len;
	uint8_t origin_key[KEY_MAX];
	size_t origin_key_len;

	struct rec *recs;
	size_t n_recs, cap_recs;

	struct diag_item *diags;
	size_t n_diags, cap_diags;
	size_t n_dropped;
	bool dropped_error;
	unsigned n_errors;

	char **files; /* every path read; recs and diags point into it */
	size_t n_files, cap_files;

	struct open_file open[INCLUDE_MAX + 1];
	unsigned depth;

	size_t seq; /* entries read so far, over all files */
	ldns_buffer *buf;
};

/* One file being read. An included file starts with a copy of its
 * parent's origin, last owner and TTL state, and changes none of them. */
struct src {
	FILE *fp;
	const char *path;
	unsigned line;	/* line being read */
	unsigned eline; /* line the current entry starts on */
	size_t seq;	/* sequence number of the current entry */
	char *entry;
	size_t len, cap;
	bool overflow, nul;
	ldns_rdf *origin;
	ldns_rdf *prev;
	bool have_dollar_ttl, have_last_ttl;
	uint32_t dollar_ttl, last_ttl;
};

static void GS_PRINTF(6, 7)
    report(struct loader *ld, bool is_error, const char *file, unsigned line,
	   size_t seq, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (is_error)
		ld->n_errors++;
	if (ld->n_diags == DIAG_MAX) {
		ld->n_dropped++;
		ld->dropped_error |= is_error;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->n_diags == ld->cap_diags) {
		ld->cap_diags = ld->cap_diags ? 2 * ld->cap_diags : 16;
		ld->diags = gs_xreallocarray(ld->diags, ld->cap_diags,
					     sizeof(*ld->diags));
	}
	struct diag_item *d = &ld->diags[ld->n_diags];
	d->seq = seq;
	d->idx = ld->n_diags;
	d->file = file;
	d->line = line;
	d->is_error = is_error;
	d->msg = gs_xstrdup(msg);
	ld->n_diags++;
}

static int diag_cmp(const void *pa, const void *pb)
{
	const struct diag_item *a = pa, *b = pb;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void deliver(struct loader *ld, bool is_error, const char *file,
		    unsigned line, const char *msg)
{
	if (ld->diag) {
		ld->diag(ld->arg, is_error, file, line, msg);
		return;
	}
	log_file_line(is_error ? LOG_LVL_ERR : LOG_LVL_WARN, file, line, msg);
}

/* Hands every collected problem to the caller, in file order. */
static void emit(struct loader *ld)
{
	if (ld->n_diags > 1)
		qsort(ld->diags, ld->n_diags, sizeof(*ld->diags), diag_cmp);
	for (size_t i = 0; i < ld->n_diags; i++) {
		struct diag_item *d = &ld->diags[i];
		deliver(ld, d->is_error, d->file, d->line, d->msg);
	}
	if (ld->n_dropped) {
		char msg[128];
		snprintf(msg, sizeof(msg), "too many problems (%zu more)",
			 ld->n_dropped);
		deliver(ld, ld->dropped_error, ld->path, 0, msg);
	}
}

static const char *file_add(struct loader *ld, const char *path)
{
	if (ld->n_files == ld->cap_files) {
		ld->cap_files = ld->cap_files ? 2 * ld->cap_files : 4;
		ld->files = gs_xreallocarray(ld->files, ld->cap_files,
					     sizeof(*ld->files));
	}
	ld->files[ld->n_files] = gs_xstrdup(path);
	return ld->files[ld->n_files++];
}

/* ---- splitting a file into entries ---------------------------------- */

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static void put(struct src *s, int c)
{
	if (s->len + 2 > ENTRY_MAX) {
		s->overflow = true;
		return;
	}
	if (s->len + 2 > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->entry = gs_xreallocarray(s->entry, s->cap, 1);
	}
	if (c == 0)
		s->nul = true;
	s->entry[s->len++] = (char)c;
	s->entry[s->len] = '\0';
}

static void skip_line(struct src *s)
{
	int c;
	while ((c = getc(s->fp)) != EOF && c != '\n')
		;
	if (c == '\n')
		s->line++;
}

/* Reads the next entry: one line, or several joined by parentheses, with
 * comments removed and leading blanks kept (they mean "same owner").
 * Returns 1 with s->entry set, 0 at the end of the file, GS_EIO on a read
 * error, or GS_ESYNTAX for an entry that was reported and skipped. */
static int read_entry(struct loader *ld, struct src *s)
{
	bool quote = false, comment = false, content = false;
	unsigned depth = 0, paren_line = 0, quote_line = 0;
	int c;

	s->len = 0;
	s->entry[0] = '\0';
	s->overflow = s->nul = false;
	s->eline = s->line;
	s->seq = ++ld->seq;

	while ((c = getc(s->fp)) != EOF) {
		if (comment) {
			if (c != '\n')
				continue;
			comment = false;
		}
		if (quote) {
			if (c == '\n') {
				report(ld, true, s->path, quote_line, s->seq,
				       "unterminated quoted string");
				s->line++;
				return GS_ESYNTAX;
			}
			put(s, c);
			if (c == '"') {
				quote = false;
			} else if (c == '\\') {
				c = getc(s->fp);
				if (c == EOF)
					break;
				if (c == '\n')
					s->line++;
				put(s, c);
			}
			continue;
		}
		switch (c) {
		case '\\':
			put(s, c);
			c = getc(s->fp);
			if (c == EOF)
				goto eof;
			if (c == '\n')
				s->line++;
			put(s, c);
			break;
		case '"':
			quote = true;
			quote_line = s->line;
			put(s, c);
			break;
		case ';':
			comment = true;
			continue;
		case '(':
			if (depth++ == 0)
				paren_line = s->line;
			put(s, ' ');
			continue;
		case ')':
			if (depth == 0) {
				report(ld, true, s->path, s->line, s->seq,
				       "unbalanced parentheses (')' without "
				       "'(')");
				skip_line(s);
				return GS_ESYNTAX;
			}
			depth--;
			put(s, ' ');
			continue;
		case '\n':
			s->line++;
			if (depth > 0) {
				put(s, ' ');
				continue;
			}
			if (content)
				goto done;
			/* blank or comment-only line: start over */
			s->len = 0;
			s->entry[0] = '\0';
			s->eline = s->line;
			continue;
		default:
			put(s, is_ws(c) ? ' ' : c);
			if (is_ws(c))
				continue;
			break;
		}
		if (!content) {
			content = true;
			s->eline = s->line;
		}
	}
eof:
	if (ferror(s->fp)) {
		report(ld, true, s->path, s->line, s->seq, "read error (%s)",
		       strerror(errno));
		return GS_EIO;
	}
	if (quote) {
		report(ld, true, s->path, quote_line, s->seq,
		       "unterminated quoted string");
		return GS_ESYNTAX;
	}
	if (depth > 0) {
		report(ld, true, s->path, paren_line, s->seq,
		       "unbalanced parentheses ('(' without ')')");
		return GS_ESYNTAX;
	}
	if (!content)
		return 0;
done:
	if (s->overflow) {
		report(ld, true, s->path, s->eline, s->seq,
		       "entry too long (more than %d bytes)", ENTRY_MAX);
		return GS_ESYNTAX;
	}
	if (s->nul) {
		report(ld, true, s->path, s->eline, s->seq,
		       "NUL character in entry");
		return GS_ESYNTAX;
	}
	return 1;
}

/* The next blank-separated word of *p; a double-quoted word loses its
 * quotes. Returns its length, 0 at the end. */
static size_t next_word(const char **p, const char **word)
{
	const char *s = *p;
	size_t n;

	while (*s && is_ws(*s))
		s++;
	if (*s == '"') {
		const char *e = strchr(s + 1, '"');
		if (!e)
			e = s + strlen(s);
		*word = s + 1;
		n = (size_t)(e - s - 1);
		*p = *e ? e + 1 : e;
		return n ? n : 1; /* "" is a word, not the end */
	}
	*word = s;
	while (*s && !is_ws(*s)) {
		if (*s == '\\' && s[1])
			s++;
		s++;
	}
	*p = s;
	return (size_t)(s - *word);
}

static bool word_is(const char *w, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(w, lit, len) == 0;
}

static bool is_class(const char *w, size_t len)
{
	static const char *const names[] = {"IN", "CH",	  "CS",
					    "HS", "NONE", "ANY"};
	for (size_t i = 0; i < GS_ARRAY_SIZE(names); i++)
		if (word_is(w, len, names[i]))
			return true;
	if (len <= 5 || strncasecmp(w, "CLASS", 5) != 0)
		return false;
	for (size_t i = 5; i < len; i++)
		if (!isdigit((unsigned char)w[i]))
			return false;
	return true;
}

/* A TTL: decimal seconds, or numbers with units s, m, h, d, w ("1h30m").
 * Returns 0, GS_ESYNTAX, or GS_ERANGE above 2^31-1. */
static int parse_ttl(const char *w, size_t len, uint32_t *out)
{
	uint64_t total = 0, num = 0;
	bool digits = false;

	if (len == 0)
		return GS_ESYNTAX;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[i];
		uint64_t mult;
		if (isdigit(c)) {
			num = num * 10 + (uint64_t)(c - '0');
			if (num > TTL_MAX)
				return GS_ERANGE;
			digits = true;
			continue;
		}
		if (!digits)
			return GS_ESYNTAX;
		switch (tolower(c)) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 604800;
			break;
		default:
			return GS_ESYNTAX;
		}
		total += num * mult;
		if (total > TTL_MAX)
			return GS_ERANGE;
		num = 0;
		digits = false;
	}
	total += num;
	if (total > TTL_MAX)
		return GS_ERANGE;
	*out = (uint32_t)total;
	return 0;
}

/* A domain name argument of a directive, relative to origin unless it
 * ends in a dot; "@" is origin. NULL if invalid. */
static ldns_rdf *make_dname(const char *w, size_t len, const ldns_rdf *origin)
{
	char *tmp = gs_xstrndup(w, len);
	ldns_rdf *r = NULL;

	if (strcmp(tmp, "@") == 0) {
		r = ldns_rdf_clone(origin);
		goto out;
	}
	r = ldns_dname_new_frm_str(tmp);
	if (!r || ldns_dname_str_absolute(tmp))
		goto out;
	if (ldns_dname_cat(r, origin) != LDNS_STATUS_OK ||
	    ldns_rdf_size(r) > 255) {
		ldns_rdf_deep_free(r);
		r = NULL;
	}
out:
	free(tmp);
	return r;
}

static int load_file(struct loader *ld, const char *path,
		     const struct src *parent, const ldns_rdf *origin);

static void do_include(struct loader *ld, struct src *s, const char *p)
{
	const char *w, *ow, *extra;
	size_t wl, owl;
	ldns_rdf *origin = NULL;
	char *path = NULL, *file = NULL;

	wl = next_word(&p, &w);
	owl = next_word(&p, &ow);
	if (wl == 0) {
		report(ld, true, s->path, s->eline, s->seq,
		       "$INCLUDE needs a file name");
		goto out;
	}
	if (next_word(&p, &extra) != 0) {
		report(ld, true, s->path, s->eline, s->seq,
		       "$INCLUDE takes a file name and an optional origin");
		goto out;
	}
	if (owl) {
		origin = make_dname(ow, owl, s->origin);
		if (!origin) {
			report(ld, true, s->path, s->eline, s->seq,
			       "$INCLUDE: invalid origin \"%.*s\"", (int)owl,
			       ow);
			goto out;
		}
	}
	file = gs_xstrndup(w, wl);
	const char *slash = strrchr(s->path, '/');
	if (file[0] == '/' || !slash)
		path = gs_xstrdup(file);
	else
		path = gs_xasprintf("%.*s/%s", (int)(slash - s->path), s->path,
				    file);
	if (ld->depth > INCLUDE_MAX) {
		report(ld, true, s->path, s->eline, s->seq,
		       "$INCLUDE %s: nested more than %d deep", file,
		       INCLUDE_MAX);
		goto out;
	}
	load_file(ld, path, s, origin ? origin : s->origin);
out:
	ldns_rdf_deep_free(origin);
	free(file);
	free(path);
}

static void do_directive(struct loader *ld, struct src *s)
{
	const char *p = s->entry, *w, *arg;
	size_t wl, al;

	wl = next_word(&p, &w);
	if (word_is(w, wl, "$INCLUDE")) {
		do_include(ld, s, p);
		return;
	}
	al = next_word(&p, &arg);
	if (word_is(w, wl, "$ORIGIN")) {
		const char *extra;
		ldns_rdf *o = al ? make_dname(arg, al, s->origin) : NULL;
		if (!o || next_word(&p, &extra) != 0) {
			report(ld, true, s->path, s->eline, s->seq,
			       "$ORIGIN needs one valid domain name");
			ldns_rdf_deep_free(o);
			return;
		}
		ldns_rdf_deep_free(s->origin);
		s->origin = o;
	} else if (word_is(w, wl, "$TTL")) {
		const char *extra;
		uint32_t ttl;
		int ret = parse_ttl(arg, al, &ttl);
		if (ret == 0 && next_word(&p, &extra) != 0)
			ret = GS_ESYNTAX;
		if (ret == GS_ERANGE) {
			report(ld, true, s->path, s->eline, s->seq,
			       "$TTL %.*s out of range (maximum %u)", (int)al,
			       arg, TTL_MAX);
			return;
		}
		if (ret != 0) {
			report(ld, true, s->path, s->eline, s->seq,
			       "$TTL needs one TTL value");
			return;
		}
		s->have_dollar_ttl = true;
		s->dollar_ttl = ttl;
	} else {
		report(ld, true, s->path, s->eline, s->seq,
		       "unknown directive %.*s", (int)wl, w);
	}
}

static bool type_is_meta(uint16_t type)
{
	return type == 0 || type == DNS_T_OPT || (type >= 128 && type <= 255);
}

/* Wire RDATA of rr into ld->buf; returns its length or -1. */
static long rdata_wire(struct loader *ld, const ldns_rr *rr)
{
	ldns_buffer_clear(ld->buf);
	if (ldns_rr_rdata2buffer_wire(ld->buf, rr) != LDNS_STATUS_OK ||
	    !ldns_buffer_status_ok(ld->buf))
		return -1;
	return (long)ldns_buffer_position(ld->buf);
}

static void do_rr(struct loader *ld, struct src *s)
{
	const char *p = s->entry, *owner = "", *ttl_w = NULL, *cls_w = "";
	size_t owner_len = 0, ttl_len = 0, cls_len = 0;
	char *text = NULL, nbuf[NAME_STR_MAX], tbuf[32];
	ldns_rr *rr = NULL;
	uint32_t ttl;
	struct rec r = {0};

	if (!is_ws(*p))
		owner_len = next_word(&p, &owner);
	else if (!s->prev) {
		report(ld, true, s->path, s->eline, s->seq,
		       "no owner name (and no previous record to take it "
		       "from)");
		goto out;
	}
	/* [TTL] [class] or [class] [TTL], in either order (RFC 1035 5.1);
	 * ldns takes only the first, so the entry is rewritten for it. */
	for (int k = 0; k < 2; k++) {
		const char *q = p, *w;
		size_t wl = next_word(&q, &w);
		if (!ttl_w && wl && isdigit((unsigned char)w[0])) {
			ttl_w = w;
			ttl_len = wl;
		} else if (!cls_len && wl && is_class(w, wl)) {
			cls_w = w;
			cls_len = wl;
		} else {
			break;
		}
		p = q;
	}
	if (ttl_w) {
		int ret = parse_ttl(ttl_w, ttl_len, &ttl);
		if (ret == GS_ERANGE) {
			report(ld, true, s->path, s->eline, s->seq,
			       "TTL %.*s out of range (maximum %u)",
			       (int)ttl_len, ttl_w, TTL_MAX);
			goto out;
		} else if (ret != 0) {
			report(ld, true, s->path, s->eline, s->seq,
			       "invalid TTL \"%.*s\"", (int)ttl_len, ttl_w);
			goto out;
		}
		if (!s->have_dollar_ttl) {
			s->have_last_ttl = true;
			s->last_ttl = ttl;
		}
	} else if (s->have_dollar_ttl) {
		ttl = s->dollar_ttl;
	} else if (s->have_last_ttl) {
		ttl = s->last_ttl;
	} else {
		report(ld, false, s->path, s->eline, s->seq,
		       "no TTL and no $TTL before this record (using %u)",
		       TTL_FALLBACK);
		ttl = TTL_FALLBACK;
		s->have_last_ttl = true;
		s->last_ttl = ttl;
	}
	while (*p && is_ws(*p))
		p++;
	text = gs_xasprintf("%.*s %u %.*s %s", (int)owner_len, owner,
			    (unsigned)ttl, (int)cls_len, cls_w, p);

	ldns_status st = ldns_rr_new_frm_str(&rr, text, 0, s->origin, &s->prev);
	if (st != LDNS_STATUS_OK) {
		const char *why = ldns_get_errorstr_by_id(st);
		report(ld, true, s->path, s->eline, s->seq,
		       "cannot parse record (%s)", why ? why : "unknown error");
		rr = NULL;
		goto out;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		report(ld, true, s->path, s->eline, s->seq,
		       "class %.*s not supported (only IN)", (int)cls_len,
		       cls_w);
		goto out;
	}
	const ldns_rdf *own = ldns_rr_owner(rr);
	size_t olen = ldns_rdf_size(own);
	uint8_t lc[255];
	if (olen == 0 || olen > sizeof(lc) ||
	    name_len(ldns_rdf_data(own), olen) != olen) {
		report(ld, true, s->path, s->eline, s->seq,
		       "invalid owner name");
		goto out;
	}
	name_lower(lc, ldns_rdf_data(own), olen);
	if (!name_is_sub(lc, olen, ld->origin, ld->origin_len)) {
		char obuf[NAME_STR_MAX];
		report(ld, true, s->path, s->eline, s->seq,
		       "%s is outside the zone %s", name_str(lc, olen, nbuf),
		       name_str(ld->origin, ld->origin_len, obuf));
		goto out;
	}
	r.type = (uint16_t)ldns_rr_get_type(rr);
	if (type_is_meta(r.type)) {
		report(ld, true, s->path, s->eline, s->seq,
		       "type %s cannot appear in a zone",
		       type_str(r.type, tbuf, sizeof(tbuf)));
		goto out;
	}
	long n = rdata_wire(ld, rr);
	if (n < 0 || n > UINT16_MAX) {
		report(ld, true, s->path, s->eline, s->seq,
		       "record data too long or invalid");
		goto out;
	}
	r.rdlen = (uint16_t)n;
	r.rdata = gs_xmemdup(ldns_buffer_begin(ld->buf), (size_t)n);
	ldns_rr2canonical(rr);
	n = rdata_wire(ld, rr);
	if (n >= 0 && n <= UINT16_MAX &&
	    ((size_t)n != r.rdlen ||
	     memcmp(ldns_buffer_begin(ld->buf), r.rdata, r.rdlen) != 0)) {
		r.canon_len = (uint16_t)n;
		r.canon = gs_xmemdup(ldns_buffer_begin(ld->buf), (size_t)n);
	}
	uint8_t key[KEY_MAX];
	int kl = name_key(lc, olen, key);
	r.key = gs_xmemdup(key, (size_t)kl);
	r.key_len = (uint16_t)kl;
	r.owner = gs_xmemdup(lc, olen);
	r.owner_len = (uint8_t)olen;
	r.ttl = ttl;
	r.file = s->path;
	r.line = s->eline;
	r.seq = s->seq;
	if (ld->n_recs == ld->cap_recs) {
		ld->cap_recs = ld->cap_recs ? 2 * ld->cap_recs : 64;
		ld->recs =
		    gs_xreallocarray(ld->recs, ld->cap_recs, sizeof(*ld->recs));
	}
	ld->recs[ld->n_recs++] = r;
out:
	ldns_rr_free(rr);
	free(text);
}

/* Reads path into ld. Problems are reported (an unreadable $INCLUDE at the
 * $INCLUDE line of parent). Returns 0, or GS_ENOENT/GS_EIO if the file
 * could not be opened or read. */
static int load_file(struct loader *ld, const char *path,
		     const struct src *parent, const ldns_rdf *origin)
{
	struct src s = {0};
	struct stat st;
	const char *rfile = parent ? parent->path : path;
	unsigned rline = parent ? parent->eline : 0;
	size_t rseq = parent ? parent->seq : 0;
	bool pushed = false;
	int ret = 0;

	s.path = file_add(ld, path);
	s.fp = fopen(path, "r");
	if (!s.fp || fstat(fileno(s.fp), &st) != 0) {
		int e = errno;
		ret = e == ENOENT ? GS_ENOENT : GS_EIO;
		report(ld, true, rfile, rline, rseq, "cannot open %s%s (%s)",
		       parent ? "$INCLUDE file " : "", path, strerror(e));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = GS_EIO;
		report(ld, true, rfile, rline, rseq, "cannot read %s%s (%s)",
		       parent ? "$INCLUDE file " : "", path, strerror(EISDIR));
		goto out;
	}
	for (unsigned i = 0; i < ld->depth; i++) {
		if (ld->open[i].dev == st.st_dev &&
		    ld->open[i].ino == st.st_ino) {
			report(ld, true, rfile, rline, rseq,
			       "$INCLUDE loop (%s is already being read)",
			       path);
			goto out;
		}
	}
	ld->open[ld->depth].dev = st.st_dev;
	ld->open[ld->depth].ino = st.st_ino;
	ld->depth++;
	pushed = true;

	s.line = 1;
	s.cap = 256;
	s.entry = gs_xmalloc(s.cap);
	s.origin = ldns_rdf_clone(origin);
	if (parent) {
		s.prev = parent->prev ? ldns_rdf_clone(parent->prev) : NULL;
		s.have_dollar_ttl = parent->have_dollar_ttl;
		s.dollar_ttl = parent->dollar_ttl;
		s.have_last_ttl = parent->have_last_ttl;
		s.last_ttl = parent->last_ttl;
	}
	for (;;) {
		int r = read_entry(ld, &s);
		if (r == 0)
			break;
		if (r == GS_EIO) {
			ret = r;
			break;
		}
		if (r < 0)
			continue;
		if (s.entry[0] == '$')
			do_directive(ld, &s);
		else
			do_rr(ld, &s);
	}
out:
	if (pushed)
		ld->depth--;
	if (s.fp)
		fclose(s.fp);
	ldns_rdf_deep_free(s.origin);
	ldns_rdf_deep_free(s.prev);
	free(s.entry);
	return ret;
}

/* ---- compiling ----------------------------------------------------- */

/* A node under construction: recs[rec0 .. rec0 + nrec) are its records. */
struct bnode {
	struct zone_node n;
	size_t rec0, nrec;
};

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	int c = key_cmp(a->key, a->key_len, b->key, b->key_len);
	if (c != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static const uint8_t *rec_canon(const struct rec *r, size_t *len)
{
	*len = r->canon ? r->canon_len : r->rdlen;
	return r->canon ? r->canon : r->rdata;
}

static int rec_ptr_rdata_cmp(const void *pa, const void *pb)
{
	const struct rec *a = *(const struct rec *const *)pa;
	const struct rec *b = *(const struct rec *const *)pb;
	size_t al, bl;
	const uint8_t *ad = rec_canon(a, &al), *bd = rec_canon(b, &bl);
	int c = key_cmp(ad, al, bd, bl);
	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int bnode_cmp(const void *pa, const void *pb)
{
	const struct bnode *a = pa, *b = pb;
	return key_cmp(a->n.key, a->n.key_len, b->n.key, b->n.key_len);
}

static void node_deinit(struct zone_node *n)
{
	for (size_t i = 0; i < n->n_rrsets; i++)
		free(n->rrsets[i].rdata);
	free(n->rrsets);
	free(n->name);
	free(n->key);
}

static struct bnode *bnode_add(struct bnode **bn, size_t *n, size_t *cap,
			       const uint8_t *name, size_t len,
			       const uint8_t *key, size_t klen)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*bn = gs_xreallocarray(*bn, *cap, sizeof(**bn));
	}
	struct bnode *b = &(*bn)[(*n)++];
	memset(b, 0, sizeof(*b));
	b->n.name = gs_xmemdup(name, len);
	b->n.name_len = (uint8_t)len;
	b->n.labels = (uint8_t)name_labels(name);
	b->n.key = gs_xmemdup(key, klen);
	b->n.key_len = (uint16_t)klen;
	return b;
}

static struct bnode *bnode_find(struct bnode *bn, size_t n, const uint8_t *key,
				size_t klen)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(bn[mid].n.key, bn[mid].n.key_len, key, klen);
		if (c == 0)
			return &bn[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct rec *first_rec(const struct loader *ld,
				   const struct bnode *b, uint16_t type,
				   unsigned skip)
{
	for (size_t i = b->rec0; i < b->rec0 + b->nrec; i++) {
		const struct rec *r = &ld->recs[i];
		if (r->type != type || r->dup)
			continue;
		if (skip-- == 0)
			return r;
	}
	return NULL;
}

/* Builds the RRsets of b from its records: duplicates dropped, one TTL. */
static void build_rrsets(struct loader *ld, struct bnode *b)
{
	struct rec *recs = ld->recs + b->rec0;
	size_t n = b->nrec, n_sets = 0;
	char nbuf[NAME_STR_MAX], tbuf[32];

	for (size_t i = 0; i < n; i++)
		if (i == 0 || recs[i].type != recs[i - 1].type)
			n_sets++;
	b->n.rrsets = gs_xcalloc(n_sets, sizeof(*b->n.rrsets));
	b->n.n_rrsets = 0;

	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && recs[j].type == recs[i].type; j++)
			;
		size_t g = j - i, count = 0, len = 0;
		uint32_t ttl = recs[i].ttl;
		const struct rec *odd = NULL;

		if (g > 1) {
			struct rec **v = gs_xcalloc(g, sizeof(*v));
			for (size_t k = 0; k < g; k++)
				v[k] = &recs[i + k];
			qsort(v, g, sizeof(*v), rec_ptr_rdata_cmp);
			for (size_t k = 1; k < g; k++) {
				size_t al, bl;
				const uint8_t *ad = rec_canon(v[k - 1], &al);
				const uint8_t *bd = rec_canon(v[k], &bl);
				if (key_cmp(ad, al, bd, bl) == 0)
					v[k]->dup = true;
			}
			free(v);
		}
		for (size_t k = i; k < j; k++) {
			if (recs[k].ttl != recs[i].ttl && !odd)
				odd = &recs[k];
			if (recs[k].ttl < ttl)
				ttl = recs[k].ttl;
			if (recs[k].dup)
				continue;
			count++;
			len += 2u + recs[k].rdlen;
		}
		if (odd && recs[i].type != DNS_T_RRSIG)
			report(ld, false, odd->file, odd->line, odd->seq,
			       "%s %s: TTL %u differs from %u in the same "
			       "RRset (using %u)",
			       name_str(b->n.name, b->n.name_len, nbuf),
			       type_str(recs[i].type, tbuf, sizeof(tbuf)),
			       (unsigned)odd->ttl, (unsigned)recs[i].ttl,
			       (unsigned)ttl);
		if (count > UINT16_MAX) {
			report(ld, true, recs[i].file, recs[i].line,
			       recs[i].seq,
			       "%s %s: more than %u records in one RRset",
			       name_str(b->n.name, b->n.name_len, nbuf),
			       type_str(recs[i].type, tbuf, sizeof(tbuf)),
			       (unsigned)UINT16_MAX);
			continue;
		}
		struct zone_rrset *rs = &b->n.rrsets[b->n.n_rrsets++];
		rs->type = recs[i].type;
		rs->count = (uint16_t)count;
		rs->ttl = ttl;
		rs->rdata_len = (uint32_t)len;
		rs->rdata = gs_xmalloc(len);
		uint8_t *o = rs->rdata;
		for (size_t k = i; k < j; k++) {
			if (recs[k].dup)
				continue;
			*o++ = (uint8_t)(recs[k].rdlen >> 8);
			*o++ = (uint8_t)recs[k].rdlen;
			memcpy(o, recs[k].rdata, recs[k].rdlen);
			o += recs[k].rdlen;
		}
	}
}

/* Adds an empty non-terminal for every missing name between a node and the
 * apex. bn[0..*n) is sorted on entry and on return. */
static void add_ents(struct loader *ld, struct bnode **bn, size_t *n,
		     size_t *cap)
{
	size_t n_data = *n;
	uint8_t key[KEY_MAX];

	for (size_t i = 0; i < n_data; i++) {
		size_t off = 0;
		for (;;) {
			/* (*bn) may move as nodes are added: index again */
			const struct zone_node *zn = &(*bn)[i].n;
			off += 1u + zn->name[off];
			size_t len = zn->name_len - off;
			if (len <= ld->origin_len)
				break;
			int kl = name_key(zn->name + off, len, key);
			if (bnode_find(*bn, n_data, key, (size_t)kl))
				break; /* its ancestors have their own turn */
			uint8_t name[255];
			memcpy(name, zn->name + off, len);
			struct bnode *e =
			    bnode_add(bn, n, cap, name, len, key, (size_t)kl);
			e->n.flags = ZONE_NODE_ENT;
		}
	}
	if (*n == n_data)
		return;
	qsort(*bn, *n, sizeof(**bn), bnode_cmp);
	size_t w = 0;
	for (size_t r = 0; r < *n; r++) {
		if (w > 0 && bnode_cmp(&(*bn)[w - 1], &(*bn)[r]) == 0) {
			node_deinit(&(*bn)[r].n);
			continue;
		}
		(*bn)[w++] = (*bn)[r];
	}
	*n = w;
}

static bool has_type(const struct zone_node *n, uint16_t type)
{
	return zone_node_rrset(n, type) != NULL;
}

/* Flags every node, and warns about data hidden below a cut or DNAME. */
static void set_flags(struct loader *ld, struct bnode *bn, size_t n)
{
	size_t occ = SIZE_MAX;
	char nbuf[NAME_STR_MAX], obuf[NAME_STR_MAX], tbuf[32];

	for (size_t i = 0; i < n; i++) {
		struct zone_node *zn = &bn[i].n;
		bool apex = zn->key_len == ld->origin_key_len &&
			    memcmp(zn->key, ld->origin_key, zn->key_len) == 0;
		if (apex)
			zn->flags |= ZONE_NODE_APEX;
		if (zn->name_len > 1 && zn->name[0] == 1 && zn->name[1] == '*')
			zn->flags |= ZONE_NODE_WILDCARD;
		if (has_type(zn, DNS_T_CNAME))
			zn->flags |= ZONE_NODE_CNAME;
		if (has_type(zn, DNS_T_DNAME))
			zn->flags |= ZONE_NODE_DNAME;
		if (!apex && has_type(zn, DNS_T_NS))
			zn->flags |= ZONE_NODE_DELEG;

		/* Canonical order puts a name's descendants right after it. */
		if (occ != SIZE_MAX &&
		    key_is_below(zn->key, zn->key_len, bn[occ].n.key,
				 bn[occ].n.key_len)) {
			zn->flags |= ZONE_NODE_OCCLUDED;
		} else {
			occ = SIZE_MAX;
			if (zn->flags & (ZONE_NODE_DELEG | ZONE_NODE_DNAME))
				occ = i;
			continue;
		}
		if (bn[i].nrec == 0)
			continue;
		const struct zone_node *on = &bn[occ].n;
		const struct rec *r0 = &ld->recs[bn[i].rec0];
		if (on->flags & ZONE_NODE_DNAME) {
			report(ld, false, r0->file, r0->line, r0->seq,
			       "%s is below the DNAME at %s (occluded)",
			       name_str(zn->name, zn->name_len, nbuf),
			       name_str(on->name, on->name_len, obuf));
			continue;
		}
		for (size_t k = 0; k < zn->n_rrsets; k++) {
			uint16_t t = zn->rrsets[k].type;
			if (t == DNS_T_A || t == DNS_T_AAAA)
				continue; /* glue */
			const struct rec *r = first_rec(ld, &bn[i], t, 0);
			report(ld, false, r->file, r->line, r->seq,
			       "%s %s is below the delegation at %s "
			       "(occluded)",
			       name_str(zn->name, zn->name_len, nbuf),
			       type_str(t, tbuf, sizeof(tbuf)),
			       name_str(on->name, on->name_len, obuf));
		}
	}
}

static void check_node(struct loader *ld, struct bnode *bn, size_t n,
		       struct bnode *b)
{
	const struct zone_node *zn = &b->n;
	char nbuf[NAME_STR_MAX], tbuf[32];
	const struct rec *r;
	const char *name = name_str(zn->name, zn->name_len, nbuf);

	if (zn->n_rrsets == 0)
		return;
	if (has_type(zn, DNS_T_SOA)) {
		if (!(zn->flags & ZONE_NODE_APEX)) {
			r = first_rec(ld, b, DNS_T_SOA, 0);
			report(ld, true, r->file, r->line, r->seq,
			       "SOA record at %s, not at the zone apex", name);
		} else if ((r = first_rec(ld, b, DNS_T_SOA, 1)) != NULL) {
			report(ld, true, r->file, r->line, r->seq,
			       "more than one SOA record");
		}
	}
	if (zn->flags & ZONE_NODE_CNAME) {
		for (size_t k = 0; k < zn->n_rrsets; k++) {
			uint16_t t = zn->rrsets[k].type;
			/* DNAME has its own message below */
			if (t == DNS_T_CNAME || t == DNS_T_DNAME ||
			    t == DNS_T_RRSIG || t == DNS_T_NSEC)
				continue;
			r = first_rec(ld, b, DNS_T_CNAME, 0);
			report(ld, true, r->file, r->line, r->seq,
			       "%s: CNAME beside other data (%s)", name,
			       type_str(t, tbuf, sizeof(tbuf)));
			break;
		}
		if ((r = first_rec(ld, b, DNS_T_CNAME, 1)) != NULL)
			report(ld, true, r->file, r->line, r->seq,
			       "%s: more than one CNAME record", name);
	}
	if (zn->flags & ZONE_NODE_DNAME) {
		if (zn->flags & ZONE_NODE_CNAME) {
			r = first_rec(ld, b, DNS_T_DNAME, 0);
			report(ld, true, r->file, r->line, r->seq,
			       "%s: DNAME beside CNAME", name);
		}
		if ((r = first_rec(ld, b, DNS_T_DNAME, 1)) != NULL)
			report(ld, true, r->file, r->line, r->seq,
			       "%s: more than one DNAME record", name);
	}
	if ((zn->flags & ZONE_NODE_DELEG) &&
	    !(zn->flags & ZONE_NODE_OCCLUDED)) {
		for (size_t k = 0; k < zn->n_rrsets; k++) {
			uint16_t t = zn->rrsets[k].type;
			if (t == DNS_T_NS || t == DNS_T_DS || t == DNS_T_A ||
			    t == DNS_T_AAAA || t == DNS_T_RRSIG ||
			    t == DNS_T_NSEC || t == DNS_T_CNAME)
				continue;
			r = first_rec(ld, b, t, 0);
			report(ld, false, r->file, r->line, r->seq,
			       "%s %s at a delegation point is not "
			       "authoritative",
			       name, type_str(t, tbuf, sizeof(tbuf)));
		}
	}
	/* Addresses for in-zone NS targets: glue below a cut, or ordinary
	 * records elsewhere; without them the delegation cannot be followed. */
	if (!has_type(zn, DNS_T_NS) || (zn->flags & ZONE_NODE_OCCLUDED))
		return;
	for (unsigned k = 0; (r = first_rec(ld, b, DNS_T_NS, k)); k++) {
		uint8_t target[255], key[KEY_MAX];
		size_t tl = name_len(r->rdata, r->rdlen);
		if (tl == 0 || tl != r->rdlen)
			continue;
		name_lower(target, r->rdata, tl);
		if (!name_is_sub(target, tl, ld->origin, ld->origin_len))
			continue;
		int kl = name_key(target, tl, key);
		const struct bnode *t = bnode_find(bn, n, key, (size_t)kl);
		if (t &&
		    (has_type(&t->n, DNS_T_A) || has_type(&t->n, DNS_T_AAAA)))
			continue;
		report(ld, false, r->file, r->line, r->seq,
		       "NS target %s has no A or AAAA record (missing glue)",
		       name_str(target, tl, nbuf));
	}
}

/* Serial and negative TTL from the apex SOA; false if RDATA is short. */
static bool soa_fields(const struct zone_rrset *soa, uint32_t *serial,
		       uint32_t *minimum)
{
	const uint8_t *d = soa->rdata + 2;
	size_t len = (size_t)soa->rdata[0] << 8 | soa->rdata[1];
	size_t a = name_len(d, len);
	size_t b = a ? name_len(d + a, len - a) : 0;
	if (!b || len != a + b + 20)
		return false;
	d += a + b;
	*serial = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
		  (uint32_t)d[2] << 8 | d[3];
	d += 16;
	*minimum = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
		   (uint32_t)d[2] << 8 | d[3];
	return true;
}

/* Turns ld->recs into a zone; NULL (errors reported) if it is invalid. */
static struct zone *compile(struct loader *ld, const char *origin_str)
{
	struct bnode *bn = NULL;
	size_t n = 0, cap = 0;
	struct zone *z = NULL;
	char obuf[NAME_STR_MAX];

	if (ld->n_recs > 1)
		qsort(ld->recs, ld->n_recs, sizeof(*ld->recs), rec_cmp);
	for (size_t i = 0, j; i < ld->n_recs; i = j) {
		const struct rec *r = &ld->recs[i];
		for (j = i + 1; j < ld->n_recs &&
				key_cmp(ld->recs[j].key, ld->recs[j].key_len,
					r->key, r->key_len) == 0;
		     j++)
			;
		struct bnode *b = bnode_add(&bn, &n, &cap, r->owner,
					    r->owner_len, r->key, r->key_len);
		b->rec0 = i;
		b->nrec = j - i;
	}
	for (size_t i = 0; i < n; i++)
		build_rrsets(ld, &bn[i]);
	add_ents(ld, &bn, &n, &cap);
	set_flags(ld, bn, n);
	for (size_t i = 0; i < n; i++)
		check_node(ld, bn, n, &bn[i]);

	struct bnode *apex =
	    bnode_find(bn, n, ld->origin_key, ld->origin_key_len);
	const struct zone_rrset *soa =
	    apex ? zone_node_rrset(&apex->n, DNS_T_SOA) : NULL;
	const struct rec *soa_rec =
	    soa ? first_rec(ld, apex, DNS_T_SOA, 0) : NULL;
	const char *oname = name_str(ld->origin, ld->origin_len, obuf);
	uint32_t serial = 0, minimum = 0;
	if (!soa)
		report(ld, true, ld->path, 0, NO_SEQ,
		       "no SOA record at the apex %s", oname);
	else if (!soa_fields(soa, &serial, &minimum))
		report(ld, true, soa_rec->file, soa_rec->line, soa_rec->seq,
		       "malformed SOA record");
	if (!apex || !has_type(&apex->n, DNS_T_NS)) {
		if (soa_rec)
			report(ld, true, soa_rec->file, soa_rec->line,
			       soa_rec->seq, "no NS records at the apex %s",
			       oname);
		else
			report(ld, true, ld->path, 0, NO_SEQ,
			       "no NS records at the apex %s", oname);
	}
	if (ld->n_errors)
		goto out;

	z = gs_xcalloc(1, sizeof(*z));
	z->origin_str = gs_xstrdup(origin_str);
	z->file = gs_xstrdup(ld->path);
	memcpy(z->origin, ld->origin, ld->origin_len);
	z->origin_len = (uint8_t)ld->origin_len;
	z->origin_labels = (uint8_t)name_labels(ld->origin);
	z->serial = serial;
	z->neg_ttl = soa->ttl < minimum ? soa->ttl : minimum;
	z->n_nodes = n;
	z->nodes = gs_xcalloc(n, sizeof(*z->nodes));
	for (size_t i = 0; i < n; i++)
		z->nodes[i] = bn[i].n;
	z->apex = &z->nodes[apex - bn];
	z->soa = zone_node_rrset(z->apex, DNS_T_SOA);
	n = 0; /* the nodes' contents now belong to z */
out:
	for (size_t i = 0; i < n; i++)
		node_deinit(&bn[i].n);
	free(bn);
	return z;
}

/* ---- public --------------------------------------------------------- */

int zone_load(const char *origin, const char *path, zone_diag_fn diag,
	      void *arg, struct zone **out)
{
	struct loader ld = {0};
	ldns_rdf *orig = NULL;
	char *origin_str = NULL;
	int ret = 0;

	if (!origin || !path || !out)
		return GS_EINVAL;
	*out = NULL;
	ld.diag = diag;
	ld.arg = arg;
	ld.path = file_add(&ld, path);
	ld.buf = ldns_buffer_new(512);
	if (!ld.buf)
		abort(); /* the gs_x* rule: out of memory is fatal */

	orig = ldns_dname_new_frm_str(origin);
	if (!orig || ldns_rdf_size(orig) > sizeof(ld.origin)) {
		report(&ld, true, path, 0, 0, "invalid zone origin \"%s\"",
		       origin);
		ret = GS_EINVAL;
		goto out;
	}
	ldns_dname2canonical(orig);
	ld.origin_len = ldns_rdf_size(orig);
	memcpy(ld.origin, ldns_rdf_data(orig), ld.origin_len);
	ld.origin_key_len =
	    (size_t)name_key(ld.origin, ld.origin_len, ld.origin_key);
	char *s = ldns_rdf2str(orig);
	if (!s)
		abort();
	origin_str = gs_xstrdup(s);
	free(s);

	ret = load_file(&ld, path, NULL, orig);
	if (ret == GS_ENOENT || (ret == GS_EIO && ld.n_recs == 0))
		goto out; /* nothing was read: no point in more errors */
	*out = compile(&ld, origin_str);
	if (!*out && !ret)
		ret = GS_EZONE;
out:
	emit(&ld);
	for (size_t i = 0; i < ld.n_recs; i++) {
		free(ld.recs[i].key);
		free(ld.recs[i].owner);
		free(ld.recs[i].rdata);
		free(ld.recs[i].canon);
	}
	free(ld.recs);
	for (size_t i = 0; i < ld.n_diags; i++)
		free(ld.diags[i].msg);
	free(ld.diags);
	for (size_t i = 0; i < ld.n_files; i++)
		free(ld.files[i]);
	free(ld.files);
	ldns_buffer_free(ld.buf);
	ldns_rdf_deep_free(orig);
	free(origin_str);
	return ret;
}

void zone_free(struct zone *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->n_nodes; i++)
		node_deinit(&z->nodes[i]);
	free(z->nodes);
	free(z->origin_str);
	free(z->file);
	free(z);
}

static int node_key_cmp(const struct zone_node *n, const uint8_t *key,
			size_t klen)
{
	if (GS_LIKELY(n->key != NULL))
		return key_cmp(n->key, n->key_len, key, klen);
	uint8_t nk[KEY_MAX];
	int nl = name_key(n->name, n->name_len, nk);
	return nl < 0 ? -1 : key_cmp(nk, (size_t)nl, key, klen);
}

const struct zone_node *zone_find(const struct zone *z, const uint8_t *name,
				  size_t name_len)
{
	uint8_t key[KEY_MAX];
	int kl = name_key(name, name_len, key);
	size_t lo = 0, hi = z->n_nodes;

	if (kl < 0)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = node_key_cmp(&z->nodes[mid], key, (size_t)kl);
		if (c == 0)
			return &z->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct zone_rrset *zone_node_rrset(const struct zone_node *n,
					 uint16_t type)
{
	for (size_t i = 0; i < n->n_rrsets; i++) {
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
		if (n->rrsets[i].type > type)
			break;
	}
	return NULL;
}

static int zone_ptr_cmp(const void *pa, const void *pb)
{
	const struct zone *a = *(const struct zone *const *)pa;
	const struct zone *b = *(const struct zone *const *)pb;
	uint8_t ka[KEY_MAX], kb[KEY_MAX];

	if (a->origin_labels != b->origin_labels)
		return a->origin_labels > b->origin_labels ? -1 : 1;
	int al = name_key(a->origin, a->origin_len, ka);
	int bl = name_key(b->origin, b->origin_len, kb);
	return key_cmp(ka, al < 0 ? 0 : (size_t)al, kb,
		       bl < 0 ? 0 : (size_t)bl);
}

struct zoneset *zoneset_new(struct zone **zones, size_t n)
{
	struct zoneset *zs = gs_xcalloc(1, sizeof(*zs));
	zs->n = n;
	zs->zones = zones;
	if (n > 1)
		qsort(zones, n, sizeof(*zones), zone_ptr_cmp);
	return zs;
}

void zoneset_free(struct zoneset *zs)
{
	if (!zs)
		return;
	for (size_t i = 0; i < zs->n; i++)
		zone_free(zs->zones[i]);
	free(zs->zones);
	free(zs);
}

const struct zone *zoneset_find(const struct zoneset *zs, const uint8_t *name,
				size_t name_len)
{
	if (!zs)
		return NULL;
	for (size_t i = 0; i < zs->n; i++) {
		const struct zone *z = zs->zones[i];
		if (name_is_sub(name, name_len, z->origin, z->origin_len))
			return z;
	}
	return NULL;
}
