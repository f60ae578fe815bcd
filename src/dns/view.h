/* view.h: publishes the current answer view to the worker threads and
 * tells the main thread when an old one is no longer read (a small RCU).
 *
 * Readers (UDP/TCP threads, one slot each) bracket every batch of packets
 * with view_acquire()/view_release(): an atomic store and load, no lock.
 * The main thread publishes a new view with view_publish() and frees the
 * old one once view_is_unused() says no reader still holds it. */
#ifndef GS_DNS_VIEW_H
#define GS_DNS_VIEW_H

#include <stdatomic.h>
#include <stdbool.h>

#include "dns/answer.h"

struct view_slot {
	_Atomic(const struct answer_view *) held;
	char pad[64 - sizeof(void *)]; /* one cache line per reader */
};

struct view_pub {
	_Atomic(const struct answer_view *) current;
	unsigned n_readers;
	struct view_slot *slots;
};

/* Main thread, before readers start. Borrows v. */
void view_pub_init(struct view_pub *p, unsigned n_readers,
		   const struct answer_view *v);
/* Main thread, after every reader stopped. */
void view_pub_deinit(struct view_pub *p);

/* Reader thread `reader`: returns the current view, which stays valid
 * until view_release() by the same reader. */
const struct answer_view *view_acquire(struct view_pub *p, unsigned reader);
void view_release(struct view_pub *p, unsigned reader);

/* Main thread: makes v current and returns the previous view. */
const struct answer_view *view_publish(struct view_pub *p,
				       const struct answer_view *v);
/* Main thread: true when no reader holds old any more. */
bool view_is_unused(const struct view_pub *p, const struct answer_view *old);

#endif
