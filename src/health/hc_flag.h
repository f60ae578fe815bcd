/* hc_flag.h: the one bit of health state the DNS workers read. The main
 * loop stores it when a target changes state; workers load it without a
 * lock. A NULL flag means a static target, always up. */
#ifndef GS_HEALTH_HC_FLAG_H
#define GS_HEALTH_HC_FLAG_H

#include <stdatomic.h>
#include <stdbool.h>

struct hc_flag {
	atomic_bool up;
};

static inline bool hc_flag_up(const struct hc_flag *f)
{
	return !f || atomic_load_explicit(&f->up, memory_order_relaxed);
}

#endif
