/* ctl_state.h: the admin state, the operator's drains, and its file.
 *
 * The file is JSON:
 *   {"version": 1, "drains": [{"service": S, "region": S, "reason": S,
 *     "author": S, "start": T, "expires": T|null}]}
 * with T in Unix seconds. It is written atomically (a temporary file in
 * the same directory, fsync, rename, fsync of the directory), so after a
 * crash it holds either the old or the new content. A missing file is an
 * empty state; anything else that cannot be read or parsed is an error,
 * never silently an empty state.
 *
 * A change is made on a copy that is saved first and adopted only if the
 * save worked, so a failed write leaves both the running state and the
 * file as they were. Main thread only. */
#ifndef GS_CONTROL_CTL_STATE_H
#define GS_CONTROL_CTL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define CTL_STATE_VERSION 1

struct ctl_drain {
	char *service, *region;
	char *reason; /* "" when none was given */
	char *author; /* the user name of the peer that drained */
	time_t start;
	time_t expires; /* 0: until undrained */
};

struct ctl_state {
	size_t n;
	struct ctl_drain *drains; /* sorted by (service, region), unique */
};

/* An empty state. Never fails. */
struct ctl_state *ctl_state_new(void);
/* A deep copy. Never fails. */
struct ctl_state *ctl_state_copy(const struct ctl_state *s);
void ctl_state_free(struct ctl_state *s);

/* Reads path. A missing file gives an empty state. Returns 0 and a new
 * state the caller owns, or GS_EIO / GS_ESYNTAX with a message in err
 * that names the file and what is wrong ("FILE: drains[2].region:
 * missing", "FILE:3:14: ..." for JSON syntax). */
int ctl_state_load(const char *path, struct ctl_state **out, char *err,
		   size_t errlen);

/* Parses text (len bytes; need not be NUL-terminated) as the file's
 * content; path only names it in messages. As ctl_state_load. */
int ctl_state_parse(const char *text, size_t len, const char *path,
		    struct ctl_state **out, char *err, size_t errlen);

/* Writes s to path atomically (see above); creates path's directory
 * (mode 0750) if missing. Returns 0, or GS_EIO with the failing step and
 * strerror in err ("cannot write /var/lib/geosteer/.state.json.tmp: No
 * space left on device"); then path is unchanged. On success err is
 * empty, or holds a warning when only the sync of the directory failed
 * (the file has the new content). */
int ctl_state_save(const struct ctl_state *s, const char *path, char *err,
		   size_t errlen);

/* The drain of (service, region), or NULL. */
const struct ctl_drain *ctl_state_find(const struct ctl_state *s,
				       const char *service, const char *region);

/* Adds d (copied), or replaces the drain of the same (service, region). */
void ctl_state_set(struct ctl_state *s, const struct ctl_drain *d);

/* Removes the drain of (service, region); returns whether there was one. */
bool ctl_state_remove(struct ctl_state *s, const char *service,
		      const char *region);

/* The earliest expiry of any drain, or 0 if none expires. */
time_t ctl_state_next_expiry(const struct ctl_state *s);

/* A drain as the protocol's JSON object {"service", "region", "reason",
 * "author", "start", "expires"}. New reference. */
json_t *ctl_drain_json(const struct ctl_drain *d);

#endif
