#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "common/errcode.h"
#include "common/log.h"

static enum log_level max_level = LOG_LVL_INFO;
static bool to_syslog;

static const char *const level_names[] = {"err", "warn", "info", "debug"};
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void log_setup(enum log_level level, bool use_syslog)
{
	max_level = level;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog("geosteerd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < GS_ARRAY_SIZE(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return GS_EINVAL;
}

bool log_enabled(enum log_level level)
{
	return level <= max_level;
}

/* Set and used by one thread; others only see that it is not theirs. */
static _Atomic(log_capture_fn) capture_fn;
static void *capture_arg;
static pthread_t capture_thread;

void log_capture(log_capture_fn fn, void *arg)
{
	capture_arg = arg;
	capture_thread = pthread_self();
	atomic_store(&capture_fn, fn);
}

GS_PRINTF(2, 0)
static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	log_capture_fn cfn = atomic_load(&capture_fn);
	bool capture = cfn && level <= LOG_LVL_WARN &&
		       pthread_equal(pthread_self(), capture_thread);
	if (!log_enabled(level) && !capture)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (capture)
		cfn(capture_arg, level, msg);
	if (!log_enabled(level))
		return;
	if (to_syslog) {
		syslog(syslog_prio[level], "%s", msg);
		return;
	}
	/* One fprintf per line: stdio locks the stream, lines don't mix. */
	fprintf(stderr, "geosteerd[%s]: %s\n", level_names[level], msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void log_file_line(enum log_level level, const char *file, unsigned line,
		   const char *msg)
{
	if (line)
		log_msg(level, "%s:%u: %s", file, line, msg);
	else
		log_msg(level, "%s: %s", file, msg);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

#define NETERR_PER_SEC 5

static atomic_long neterr_window;
static atomic_int neterr_count;

void log_neterr(const char *fmt, ...)
{
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	long now = (long)ts.tv_sec;
	long win = atomic_load_explicit(&neterr_window, memory_order_relaxed);
	if (win != now &&
	    atomic_compare_exchange_strong(&neterr_window, &win, now)) {
		int missed = atomic_exchange(&neterr_count, 0) - NETERR_PER_SEC;
		if (missed > 0)
			log_msg(LOG_LVL_DEBUG,
				"net: %d more packet errors not logged",
				missed);
	}
	if (atomic_fetch_add(&neterr_count, 1) >= NETERR_PER_SEC)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}
