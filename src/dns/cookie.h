/* cookie.h: DNS server cookies (RFC 7873, interoperable form of RFC 9018):
 * version 1, 3 reserved bytes, a 32-bit timestamp and a SipHash-2-4 over
 * client cookie, version, reserved, timestamp and client address.
 * Pure functions; any thread; no allocation. */
#ifndef GS_DNS_COOKIE_H
#define GS_DNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_SECRET_LEN 16
#define COOKIE_SERVER_LEN 16
#define COOKIE_CLIENT_LEN 8

/* Writes the 16-byte server cookie for client cookie cc and client address
 * src (AF_INET or AF_INET6; anything else hashes no address) at time now. */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN],
		 const uint8_t cc[COOKIE_CLIENT_LEN], uint32_t now,
		 const struct sockaddr *src, uint8_t out[COOKIE_SERVER_LEN]);

/* True if cookie[0..len) (client cookie followed by a server cookie) holds
 * a server cookie we made for this client, no older than one hour and no
 * more than five minutes in the future (RFC 9018 section 4.3). */
bool cookie_is_valid(const uint8_t secret[COOKIE_SECRET_LEN],
		     const uint8_t *cookie, size_t len, uint32_t now,
		     const struct sockaddr *src);

#endif
