#include "config.h"

#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "common/siphash.h"
#include "dns/cookie.h"

/* Hash input: client cookie (8) | version (1) | reserved (3) | time (4) |
 * client address (4 or 16). */
static uint64_t cookie_hash(const uint8_t secret[COOKIE_SECRET_LEN],
			    const uint8_t cc[COOKIE_CLIENT_LEN],
			    const uint8_t head[8], const struct sockaddr *src)
{
	uint8_t in[8 + 8 + 16];
	size_t n = 16;
	memcpy(in, cc, 8);
	memcpy(in + 8, head, 8);
	/* Copied out by offset: src may be any sockaddr buffer. */
	const uint8_t *raw = (const uint8_t *)src;
	if (src && src->sa_family == AF_INET) {
		memcpy(in + n, raw + offsetof(struct sockaddr_in, sin_addr), 4);
		n += 4;
	} else if (src && src->sa_family == AF_INET6) {
		memcpy(in + n, raw + offsetof(struct sockaddr_in6, sin6_addr),
		       16);
		n += 16;
	}
	return siphash24(secret, in, n);
}

void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN],
		 const uint8_t cc[COOKIE_CLIENT_LEN], uint32_t now,
		 const struct sockaddr *src, uint8_t out[COOKIE_SERVER_LEN])
{
	out[0] = 1; /* version */
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(now >> 24);
	out[5] = (uint8_t)(now >> 16);
	out[6] = (uint8_t)(now >> 8);
	out[7] = (uint8_t)now;
	uint64_t h = cookie_hash(secret, cc, out, src);
	/* The hash goes out in the byte order SipHash produces (little
	 * endian), as RFC 9018's examples do. */
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(h >> (8 * i));
}

bool cookie_is_valid(const uint8_t secret[COOKIE_SECRET_LEN],
		     const uint8_t *cookie, size_t len, uint32_t now,
		     const struct sockaddr *src)
{
	if (len != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)
		return false;
	const uint8_t *sc = cookie + COOKIE_CLIENT_LEN;
	if (sc[0] != 1)
		return false;
	uint32_t ts = (uint32_t)sc[4] << 24 | (uint32_t)sc[5] << 16 |
		      (uint32_t)sc[6] << 8 | sc[7];
	/* Serial-number arithmetic: the timestamp wraps in 2106. */
	int32_t age = (int32_t)(now - ts);
	if (age > 3600 || age < -300)
		return false;
	uint8_t want[COOKIE_SERVER_LEN];
	cookie_make(secret, cookie, ts, src, want);
	return memcmp(want, sc, COOKIE_SERVER_LEN) == 0;
}
