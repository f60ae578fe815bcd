#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static void GS_NORETURN oom(size_t size)
{
	fprintf(stderr, "fatal: out of memory (allocating %zu bytes)\n", size);
	abort();
}

void *gs_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

void *gs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *gs_xreallocarray(void *ptr, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	size_t total = n * size;
	void *p = realloc(ptr, total ? total : 1);
	if (!p)
		oom(total);
	return p;
}

char *gs_xstrdup(const char *s)
{
	return gs_xmemdup(s, strlen(s) + 1);
}

char *gs_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = gs_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *gs_xmemdup(const void *p, size_t n)
{
	void *q = gs_xmalloc(n);
	if (n)
		memcpy(q, p, n);
	return q;
}

char *gs_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	char *s = gs_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}
