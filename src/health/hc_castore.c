/* hc_castore.c: certificate stores shared by probes, one per CA file. */
#include "config.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/log.h"
#include "health/hc_castore.h"

struct entry {
	struct entry *next;
	char *file, *dir; /* dir may be NULL */
	struct stat st;	  /* of file when the store was built */
	X509_STORE *store;
};

struct hc_castore {
	struct entry *entries; /* a few: one per distinct ca_file */
	unsigned long loads;
};

struct hc_castore *hc_castore_new(void)
{
	return gs_xcalloc(1, sizeof(struct hc_castore));
}

void hc_castore_free(struct hc_castore *cs)
{
	if (!cs)
		return;
	while (cs->entries) {
		struct entry *e = cs->entries;
		cs->entries = e->next;
		X509_STORE_free(e->store);
		free(e->file);
		free(e->dir);
		free(e);
	}
	free(cs);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static X509_STORE *build(const char *file, const char *dir)
{
	X509_STORE *s = X509_STORE_new();
	if (!s)
		return NULL;
	if (X509_STORE_load_file(s, file) != 1 ||
	    (dir && X509_STORE_load_path(s, dir) != 1)) {
		X509_STORE_free(s);
		return NULL;
	}
	/* What libcurl sets on the store it builds for a verified
	 * connection: prefer trusted issuers over those the server sends,
	 * and accept a chain that ends at any certificate in the file. */
	X509_STORE_set_flags(s, X509_V_FLAG_TRUSTED_FIRST |
				    X509_V_FLAG_PARTIAL_CHAIN);
	return s;
}

int hc_castore_get(struct hc_castore *cs, const char *file, const char *dir,
		   X509_STORE **out)
{
	struct stat st;
	struct entry *e;
	int ret = GS_EIO;
	*out = NULL;
	if (!file || stat(file, &st) != 0)
		goto out;
	for (e = cs->entries; e; e = e->next)
		if (strcmp(e->file, file) == 0 && same_str(e->dir, dir))
			break;
	if (e && !same_file(&e->st, &st)) {
		log_debug("health: %s changed, loading it again", file);
		X509_STORE_free(e->store);
		e->store = NULL;
	}
	if (!e || !e->store) {
		X509_STORE *s = build(file, dir);
		if (!s)
			goto out;
		cs->loads++;
		if (!e) {
			e = gs_xcalloc(1, sizeof(*e));
			e->file = gs_xstrdup(file);
			e->dir = dir ? gs_xstrdup(dir) : NULL;
			e->next = cs->entries;
			cs->entries = e;
		}
		e->store = s;
		e->st = st;
	}
	if (X509_STORE_up_ref(e->store) != 1)
		goto out;
	*out = e->store;
	ret = 0;
out:
	return ret;
}

unsigned long hc_castore_loads(const struct hc_castore *cs)
{
	return cs->loads;
}
