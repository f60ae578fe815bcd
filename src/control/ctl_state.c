/* ctl_state.c: the admin state file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/errcode.h"
#include "common/files.h"
#include "control/ctl_state.h"

/* Bounds on what a state file may hold: it is written by us, but read
 * back after crashes and edits by hand. */
#define STATE_FILE_MAX (4 * 1024 * 1024)
#define STATE_DRAINS_MAX 10000
#define STATE_STR_MAX 1024

struct ctl_state *ctl_state_new(void)
{
	return gs_xcalloc(1, sizeof(struct ctl_state));
}

static void drain_copy(struct ctl_drain *dst, const struct ctl_drain *src)
{
	dst->service = gs_xstrdup(src->service);
	dst->region = gs_xstrdup(src->region);
	dst->reason = gs_xstrdup(src->reason ? src->reason : "");
	dst->author = gs_xstrdup(src->author ? src->author : "");
	dst->start = src->start;
	dst->expires = src->expires;
}

static void drain_deinit(struct ctl_drain *d)
{
	free(d->service);
	free(d->region);
	free(d->reason);
	free(d->author);
}

struct ctl_state *ctl_state_copy(const struct ctl_state *s)
{
	struct ctl_state *c = ctl_state_new();
	if (s->n) {
		c->drains = gs_xcalloc(s->n, sizeof(*c->drains));
		for (size_t i = 0; i < s->n; i++)
			drain_copy(&c->drains[i], &s->drains[i]);
		c->n = s->n;
	}
	return c;
}

void ctl_state_free(struct ctl_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		drain_deinit(&s->drains[i]);
	free(s->drains);
	free(s);
}

static int key_cmp(const char *svc, const char *reg, const struct ctl_drain *d)
{
	int c = strcmp(svc, d->service);
	return c ? c : strcmp(reg, d->region);
}

/* The index of (service, region), or where it would go (*found false). */
static size_t lookup(const struct ctl_state *s, const char *service,
		     const char *region, bool *found)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(service, region, &s->drains[mid]);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

const struct ctl_drain *ctl_state_find(const struct ctl_state *s,
				       const char *service, const char *region)
{
	bool found;
	size_t i = lookup(s, service, region, &found);
	return found ? &s->drains[i] : NULL;
}

void ctl_state_set(struct ctl_state *s, const struct ctl_drain *d)
{
	bool found;
	size_t i = lookup(s, d->service, d->region, &found);
	if (found) {
		struct ctl_drain fresh;
		drain_copy(&fresh, d);
		drain_deinit(&s->drains[i]);
		s->drains[i] = fresh;
		return;
	}
	s->drains = gs_xreallocarray(s->drains, s->n + 1, sizeof(*s->drains));
	memmove(&s->drains[i + 1], &s->drains[i],
		(s->n - i) * sizeof(*s->drains));
	drain_copy(&s->drains[i], d);
	s->n++;
}

bool ctl_state_remove(struct ctl_state *s, const char *service,
		      const char *region)
{
	bool found;
	size_t i = lookup(s, service, region, &found);
	if (!found)
		return false;
	drain_deinit(&s->drains[i]);
	memmove(&s->drains[i], &s->drains[i + 1],
		(s->n - i - 1) * sizeof(*s->drains));
	s->n--;
	return true;
}

time_t ctl_state_next_expiry(const struct ctl_state *s)
{
	time_t t = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->drains[i].expires &&
		    (!t || s->drains[i].expires < t))
			t = s->drains[i].expires;
	return t;
}

json_t *ctl_drain_json(const struct ctl_drain *d)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "service",
			 d->service, "region", d->region, "reason", d->reason,
			 "author", d->author, "start", (json_int_t)d->start,
			 "expires",
			 d->expires ? json_integer((json_int_t)d->expires)
				    : json_null());
}

/* ---- reading ---------------------------------------------------------- */

static void GS_PRINTF(3, 4)
    say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int get_str(json_t *o, const char *key, bool required, size_t i,
		   const char *path, const char **out, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required) {
			say(err, errlen, "%s: drains[%zu].%s: missing", path, i,
			    key);
			return GS_ESYNTAX;
		}
		*out = "";
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) > STATE_STR_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    (required && json_string_length(v) == 0)) {
		say(err, errlen,
		    "%s: drains[%zu].%s: must be a %sstring of at most %d "
		    "bytes",
		    path, i, key, required ? "non-empty " : "", STATE_STR_MAX);
		return GS_ESYNTAX;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_time(json_t *o, const char *key, bool required, size_t i,
		    const char *path, time_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required) {
			say(err, errlen, "%s: drains[%zu].%s: missing", path, i,
			    key);
			return GS_ESYNTAX;
		}
		*out = 0;
		return 0;
	}
	/* Up to the year 9999. */
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > 253402300799) {
		say(err, errlen,
		    "%s: drains[%zu].%s: must be a time in Unix seconds", path,
		    i, key);
		return GS_ESYNTAX;
	}
	*out = (time_t)json_integer_value(v);
	return 0;
}

int ctl_state_parse(const char *text, size_t len, const char *path,
		    struct ctl_state **out, char *err, size_t errlen)
{
	json_error_t jerr;
	struct ctl_state *s = NULL;
	int ret = GS_ESYNTAX;
	*out = NULL;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		say(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
		    jerr.text);
		return GS_ESYNTAX;
	}
	if (!json_is_object(root)) {
		say(err, errlen, "%s: must be a JSON object", path);
		goto out;
	}
	json_t *ver = json_object_get(root, "version");
	if (!json_is_integer(ver) ||
	    json_integer_value(ver) != CTL_STATE_VERSION) {
		say(err, errlen, "%s: version: must be %d (this geosteerd "
		    "cannot read other versions)", path, CTL_STATE_VERSION);
		goto out;
	}
	json_t *arr = json_object_get(root, "drains");
	if (!json_is_array(arr)) {
		say(err, errlen, "%s: drains: must be an array", path);
		goto out;
	}
	if (json_array_size(arr) > STATE_DRAINS_MAX) {
		say(err, errlen, "%s: drains: more than %d entries", path,
		    STATE_DRAINS_MAX);
		goto out;
	}
	s = ctl_state_new();
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		struct ctl_drain d = {0};
		if (!json_is_object(o)) {
			say(err, errlen, "%s: drains[%zu]: must be an object",
			    path, i);
			goto out;
		}
		const char *svc, *reg, *reason, *author;
		if (get_str(o, "service", true, i, path, &svc, err, errlen) ||
		    get_str(o, "region", true, i, path, &reg, err, errlen) ||
		    get_str(o, "reason", false, i, path, &reason, err,
			    errlen) ||
		    get_str(o, "author", false, i, path, &author, err,
			    errlen) ||
		    get_time(o, "start", true, i, path, &d.start, err,
			     errlen) ||
		    get_time(o, "expires", false, i, path, &d.expires, err,
			     errlen))
			goto out;
		if (ctl_state_find(s, svc, reg)) {
			say(err, errlen,
			    "%s: drains[%zu]: %s/%s is drained twice", path, i,
			    svc, reg);
			goto out;
		}
		d.service = (char *)svc;
		d.region = (char *)reg;
		d.reason = (char *)reason;
		d.author = (char *)author;
		ctl_state_set(s, &d);
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	ctl_state_free(s);
	json_decref(root);
	return ret;
}

int ctl_state_load(const char *path, struct ctl_state **out, char *err,
		   size_t errlen)
{
	int ret = GS_EIO;
	char *buf = NULL;
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*out = ctl_state_new();
			return 0;
		}
		say(err, errlen, "%s: cannot open (%s)", path,
		    strerror(errno));
		return GS_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		say(err, errlen, "%s: cannot read (%s)", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > STATE_FILE_MAX) {
		say(err, errlen, "%s: larger than %d bytes", path,
		    STATE_FILE_MAX);
		goto out;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	buf = gs_xmalloc(cap);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say(err, errlen, "%s: cannot read (%s)", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			/* It grew while we read it: not ours to guess. */
			say(err, errlen, "%s: changed while being read", path);
			goto out;
		}
	}
	ret = ctl_state_parse(buf, len, path, out, err, errlen);
out:
	free(buf);
	close(fd);
	return ret;
}

/* ---- writing ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_state_save(const struct ctl_state *s, const char *path, char *err,
		   size_t errlen)
{
	int ret = GS_EIO, fd = -1, dfd = -1;
	char *text = NULL, *tmp = NULL, *dir = NULL;

	if (errlen)
		err[0] = '\0';
	json_t *arr = json_array();
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(arr, ctl_drain_json(&s->drains[i]));
	json_t *root = json_pack("{s:i, s:o}", "version", CTL_STATE_VERSION,
				 "drains", arr);
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!text)
		abort(); /* jansson is out of memory */

	const char *slash = strrchr(path, '/');
	dir = slash ? gs_xstrndup(path, (size_t)(slash - path))
		    : gs_xstrdup(".");
	if (!dir[0]) {
		free(dir);
		dir = gs_xstrdup("/");
	}
	tmp = gs_xasprintf("%s/.%s.tmp", dir, slash ? slash + 1 : path);
	if (gs_mkdir_p(dir, 0750) != 0) {
		say(err, errlen, "cannot create directory %s (%s)", dir,
		    strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		say(err, errlen, "cannot create %s (%s)", tmp,
		    strerror(errno));
		goto out;
	}
	if (write_all(fd, text, strlen(text)) != 0 ||
	    write_all(fd, "\n", 1) != 0) {
		say(err, errlen, "cannot write %s (%s)", tmp, strerror(errno));
		goto fail_tmp;
	}
	if (fsync(fd) != 0) {
		say(err, errlen, "cannot sync %s (%s)", tmp, strerror(errno));
		goto fail_tmp;
	}
	if (close(fd) != 0) {
		fd = -1;
		say(err, errlen, "cannot write %s (%s)", tmp, strerror(errno));
		goto fail_tmp;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		say(err, errlen, "cannot rename %s to %s (%s)", tmp, path,
		    strerror(errno));
		goto fail_tmp;
	}
	/* The rename is durable once the directory is. If that sync fails
	 * the new content is in place (and is what a restart reads, unless
	 * the power fails first): it counts as saved, with a warning. */
	ret = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		say(err, errlen, "cannot sync directory %s (%s)", dir,
		    strerror(errno));
	goto out;
fail_tmp:
	unlink(tmp);
out:
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir);
	free(text);
	return ret;
}
