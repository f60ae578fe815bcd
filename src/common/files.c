/* files.c: file-system helpers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/files.h"

static int mkdir_p(char *dir, mode_t mode)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int r = mkdir_p(dir, mode);
		*slash = '/';
		if (r != 0)
			return r;
	}
	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int gs_mkdir_p(const char *dir, mode_t mode)
{
	char *copy = gs_xstrdup(dir);
	int r = mkdir_p(copy, mode);
	int e = errno;
	free(copy);
	errno = e;
	return r;
}
