/* Runs a libFuzzer target over files and directories of inputs without
 * libFuzzer, so `make check` replays the seed corpus on any compiler. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *count)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	static uint8_t buf[REPLAY_MAX_INPUT];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* A copy of exactly the input's size, so ASan sees overreads. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return 1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	(*count)++;
	return 0;
}

static int run_path(const char *path, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, count);
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		return 1;
	}
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		ret |= run_path(sub, count);
	}
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int ret = 0;
	for (int i = 1; i < argc; i++)
		ret |= run_path(argv[i], &count);
	printf("replayed %u inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "no inputs replayed\n");
		return 1;
	}
	return ret;
}
