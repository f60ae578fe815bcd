#include "config.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "dns/view.h"

void view_pub_init(struct view_pub *p, unsigned n_readers,
		   const struct answer_view *v)
{
	atomic_init(&p->current, v);
	p->n_readers = n_readers;
	p->slots = gs_xcalloc(n_readers, sizeof(*p->slots));
	for (unsigned i = 0; i < n_readers; i++)
		atomic_init(&p->slots[i].held, NULL);
}

void view_pub_deinit(struct view_pub *p)
{
	free(p->slots);
	p->slots = NULL;
	p->n_readers = 0;
}

const struct answer_view *view_acquire(struct view_pub *p, unsigned reader)
{
	/* Announce, then check the announcement wasn't overtaken by a
	 * publish: a writer that scanned before our store sees the new view
	 * current, and we retry until both agree (sequentially consistent
	 * order makes this sufficient). */
	const struct answer_view *v = atomic_load(&p->current);
	for (;;) {
		atomic_store(&p->slots[reader].held, v);
		const struct answer_view *now = atomic_load(&p->current);
		if (now == v)
			return v;
		v = now;
	}
}

void view_release(struct view_pub *p, unsigned reader)
{
	atomic_store_explicit(&p->slots[reader].held, NULL,
			      memory_order_release);
}

const struct answer_view *view_publish(struct view_pub *p,
				       const struct answer_view *v)
{
	return atomic_exchange(&p->current, v);
}

bool view_is_unused(const struct view_pub *p, const struct answer_view *old)
{
	for (unsigned i = 0; i < p->n_readers; i++)
		if (atomic_load(&p->slots[i].held) == old)
			return false;
	return true;
}
