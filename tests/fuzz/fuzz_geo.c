/* libFuzzer target for the GeoIP loaders: every input is written to a
 * file and loaded once as a database and once as an overrides file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "geo/geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, bool is_error, const char *file, unsigned line,
		  const char *msg)
{
	(void)arg;
	(void)is_error;
	(void)file;
	(void)line;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/gs-fuzz-geo-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	const char *const dbs[] = { path };
	struct geo_db *db = NULL;
	if (geo_db_load(dbs, 1, NULL, quiet, NULL, &db) == 0) {
		/* Loaded tables are sorted and do not overlap. */
		for (size_t i = 1; i < db->n4; i++)
			if (db->r4[i].lo <= db->r4[i - 1].hi)
				abort();
		geo_db_free(db);
	}
	db = NULL;
	if (geo_db_load(NULL, 0, path, quiet, NULL, &db) == 0)
		geo_db_free(db);
	unlink(path);
	return 0;
}
