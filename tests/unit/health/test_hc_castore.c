/* The certificate store cache: one store per file, built again when the
 * file changes, errors for files that cannot be used, and stores that
 * trust what the file holds and nothing else. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errcode.h"
#include "health/hc_castore.h"

#define CA_A GS_TEST_DATA "/health/ca-a.pem"
#define CA_B GS_TEST_DATA "/health/ca-b.pem"

struct fixture {
	char dir[64];
	char path[96];
	char tmp[96];
};

/* Writes from's bytes to to, with fopen mode "wb" (copy) or "ab". */
static void put_file(const char *from, const char *to, const char *mode)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = fopen(to, mode);
	assert_non_null(in);
	assert_non_null(out);
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void copy(const char *from, const char *to)
{
	put_file(from, to, "wb");
}

static void append(const char *from, const char *to)
{
	put_file(from, to, "ab");
}

/* Replaces path with from the way a CA file is rotated: a new file
 * renamed over the old one. */
static void replace(struct fixture *f, const char *from)
{
	copy(from, f->tmp);
	assert_int_equal(rename(f->tmp, f->path), 0);
}

static X509 *cert(const char *file)
{
	FILE *fp = fopen(file, "rb");
	assert_non_null(fp);
	X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static bool trusts(X509_STORE *s, const char *file)
{
	X509 *x = cert(file);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_CTX_init(ctx, s, x, NULL), 1);
	bool ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	return ok;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/gs-castore-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ca.pem", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/ca.pem.new", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	unlink(f->tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_shared(void **state)
{
	(void)state;
	struct hc_castore *cs = hc_castore_new();
	X509_STORE *s1 = NULL, *s2 = NULL, *s3 = NULL;
	assert_int_equal(hc_castore_get(cs, CA_A, NULL, &s1), 0);
	assert_int_equal(hc_castore_get(cs, CA_A, NULL, &s2), 0);
	assert_ptr_equal(s1, s2);
	assert_int_equal(hc_castore_loads(cs), 1);
	assert_int_equal(hc_castore_get(cs, CA_B, NULL, &s3), 0);
	assert_ptr_not_equal(s1, s3);
	assert_int_equal(hc_castore_loads(cs), 2);
	assert_true(trusts(s1, CA_A));
	assert_false(trusts(s1, CA_B));
	assert_true(trusts(s3, CA_B));
	assert_false(trusts(s3, CA_A));
	unsigned long flags =
	    X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param(s1));
	assert_true(flags & X509_V_FLAG_PARTIAL_CHAIN);
	assert_true(flags & X509_V_FLAG_TRUSTED_FIRST);
	/* The references outlive the cache. */
	hc_castore_free(cs);
	assert_true(trusts(s2, CA_A));
	X509_STORE_free(s1);
	X509_STORE_free(s2);
	X509_STORE_free(s3);
	hc_castore_free(NULL);
}

static void test_changed(void **state)
{
	struct fixture *f = *state;
	struct hc_castore *cs = hc_castore_new();
	X509_STORE *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;
	copy(CA_A, f->path);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s1), 0);
	assert_true(trusts(s1, CA_A));
	/* Rotated to another CA of the same size: the inode tells. */
	replace(f, CA_B);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s2), 0);
	assert_ptr_not_equal(s1, s2);
	assert_int_equal(hc_castore_loads(cs), 2);
	assert_true(trusts(s2, CA_B));
	assert_false(trusts(s2, CA_A));
	/* The old store still works for whoever holds it. */
	assert_true(trusts(s1, CA_A));
	/* Edited in place. */
	append(CA_A, f->path);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s3), 0);
	assert_ptr_not_equal(s2, s3);
	assert_true(trusts(s3, CA_A));
	assert_true(trusts(s3, CA_B));
	/* Unchanged since. */
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s4), 0);
	assert_ptr_equal(s3, s4);
	assert_int_equal(hc_castore_loads(cs), 3);
	X509_STORE_free(s1);
	X509_STORE_free(s2);
	X509_STORE_free(s3);
	X509_STORE_free(s4);
	hc_castore_free(cs);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct hc_castore *cs = hc_castore_new();
	X509_STORE *s = (X509_STORE *)1;
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s), GS_EIO);
	assert_null(s);
	assert_int_equal(hc_castore_get(cs, NULL, NULL, &s), GS_EIO);
	assert_null(s);
	/* No certificate in the file. */
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("not a certificate\n", fp);
	fclose(fp);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s), GS_EIO);
	assert_null(s);
	/* Fixed: usable again. */
	replace(f, CA_A);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s), 0);
	assert_true(trusts(s, CA_A));
	X509_STORE_free(s);
	/* Broken again after a good load: no store rather than the old one,
	 * so that libcurl reports the file. */
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("garbage\n", fp);
	fclose(fp);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s), GS_EIO);
	assert_null(s);
	unlink(f->path);
	assert_int_equal(hc_castore_get(cs, f->path, NULL, &s), GS_EIO);
	assert_null(s);
	hc_castore_free(cs);
}

static void test_dir(void **state)
{
	struct fixture *f = *state;
	struct hc_castore *cs = hc_castore_new();
	X509_STORE *s1 = NULL, *s2 = NULL;
	/* A file with a directory is its own entry. */
	assert_int_equal(hc_castore_get(cs, CA_A, NULL, &s1), 0);
	assert_int_equal(hc_castore_get(cs, CA_A, f->dir, &s2), 0);
	assert_ptr_not_equal(s1, s2);
	assert_true(trusts(s2, CA_A));
	X509_STORE_free(s1);
	X509_STORE_free(s2);
	hc_castore_free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared),
	    cmocka_unit_test_setup_teardown(test_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
