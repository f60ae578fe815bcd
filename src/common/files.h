/* files.h: small file-system helpers. libc only; any thread. */
#ifndef GS_COMMON_FILES_H
#define GS_COMMON_FILES_H

#include <sys/types.h>

/* Makes directory dir and its missing parents with mode (like mkdir -p).
 * Returns 0, or -1 with errno set (ENOTDIR if a component is not a
 * directory). */
int gs_mkdir_p(const char *dir, mode_t mode);

#endif
