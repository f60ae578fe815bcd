/* hc_castore.h: certificate stores for probes, built once per CA file and
 * shared by every probe that trusts it. libcurl would otherwise parse the
 * file again for every connection, which is the largest single cost of a
 * probe after the handshake itself. A store is built again when its file
 * changes on disk (device, inode, size, mtime or ctime), so a replaced CA
 * file takes effect at the next probe, as it did when libcurl read it.
 * Main thread only. */
#ifndef GS_HEALTH_HC_CASTORE_H
#define GS_HEALTH_HC_CASTORE_H

#include <openssl/x509_vfy.h>

struct hc_castore;

struct hc_castore *hc_castore_new(void);
/* Frees the cache; stores handed out stay valid until their last
 * reference is dropped. hc_castore_free(NULL) is a no-op. */
void hc_castore_free(struct hc_castore *cs);

/* The store that trusts the PEM certificates in file, plus those found
 * on demand in dir (an OpenSSL hashed directory) when dir is not NULL,
 * with the flags libcurl sets (trusted first, partial chains). On
 * success *out holds a new reference that the caller drops with
 * X509_STORE_free(). Fails with GS_EIO when file cannot be read (or
 * holds no certificate) or dir cannot be added; the caller then leaves
 * the file to libcurl, which reports why. */
int hc_castore_get(struct hc_castore *cs, const char *file, const char *dir,
		   X509_STORE **out);

/* How many times a store was built (for tests and debugging). */
unsigned long hc_castore_loads(const struct hc_castore *cs);

#endif
