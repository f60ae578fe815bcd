/* log.h: leveled logging to stderr or syslog. Any thread may log; each
 * message is written with a single call so lines never interleave.
 *
 * Style: lowercase, context first, reason in parentheses:
 *   log_warn("zone %s: reload failed (%s)", origin, gs_strerror(ret));
 */
#ifndef GS_COMMON_LOG_H
#define GS_COMMON_LOG_H

#include <stdbool.h>
#include "common/compiler.h"

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Main thread, before other threads start. level: messages above it are
 * dropped. use_syslog: send to syslog(3) (daemon facility) instead of stderr. */
void log_setup(enum log_level level, bool use_syslog);
/* Parses "err", "warn", "info", "debug"; returns 0 or GS_EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) GS_PRINTF(2, 3);
/* Logs a problem found in a file: "FILE:LINE: msg", or "FILE: msg" when
 * line is 0 (loaders use it when their caller gave no callback). */
void log_file_line(enum log_level level, const char *file, unsigned line,
		   const char *msg);
/* Logs at error level and exits with status 1. Only before the event loop
 * starts (startup errors); never at reload time. */
void log_fatal(const char *fmt, ...) GS_PRINTF(1, 2) GS_NORETURN;
/* Per-packet problems: logged at debug level, at most a few per second
 * across all threads; the rest are counted and summarized. */
void log_neterr(const char *fmt, ...) GS_PRINTF(1, 2);

/* While fn is set, every error and warning logged by the thread that set
 * it is also passed to fn (whatever the log level), e.g. to send a
 * reload's errors to the operator who asked for it. NULL stops it. */
typedef void (*log_capture_fn)(void *arg, enum log_level level,
			       const char *msg);
void log_capture(log_capture_fn fn, void *arg);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_enabled(LOG_LVL_DEBUG))              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
