/* alloc.h: allocation wrappers. They abort the process on exhaustion and
 * never return NULL. Any thread. */
#ifndef GS_COMMON_ALLOC_H
#define GS_COMMON_ALLOC_H

#include <stddef.h>
#include "common/compiler.h"

void *gs_xmalloc(size_t size) GS_MALLOC;
void *gs_xcalloc(size_t n, size_t size) GS_MALLOC;
/* Resizes ptr (may be NULL) to n * size bytes, checking the product. */
void *gs_xreallocarray(void *ptr, size_t n, size_t size);
char *gs_xstrdup(const char *s) GS_MALLOC;
char *gs_xstrndup(const char *s, size_t n) GS_MALLOC;
void *gs_xmemdup(const void *p, size_t n) GS_MALLOC;
/* printf into a new string that the caller owns. */
char *gs_xasprintf(const char *fmt, ...) GS_PRINTF(1, 2) GS_MALLOC;

#endif
