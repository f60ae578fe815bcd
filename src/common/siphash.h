/* siphash.h: SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash.
 * Used for DNS server cookies (RFC 9018). Pure function; any thread. */
#ifndef GS_COMMON_SIPHASH_H
#define GS_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* Hashes in[0..len) under the 16-byte key. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *in,
		   size_t len);

#endif
