#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dns/cookie.h"

static const uint8_t secret[16] = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2,
				   0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84,
				   0x9e, 0x37, 0xbf, 0xcf};
static const uint8_t cc[8] = {0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

/* RFC 9018 appendix A.1: client 198.51.100.100, time 1559731985,
 * server cookie 010000005cf79f111f8130c3eee29480. */
static void test_rfc9018_vector(void **state)
{
	(void)state;
	struct sockaddr_in s = v4("198.51.100.100");
	uint8_t out[16];
	static const uint8_t want[16] = {0x01, 0x00, 0x00, 0x00, 0x5c, 0xf7,
					 0x9f, 0x11, 0x1f, 0x81, 0x30, 0xc3,
					 0xee, 0xe2, 0x94, 0x80};
	cookie_make(secret, cc, 1559731985, (struct sockaddr *)&s, out);
	assert_memory_equal(out, want, 16);
}

static void test_valid_and_expired(void **state)
{
	(void)state;
	struct sockaddr_in s = v4("192.0.2.1");
	struct sockaddr_in other = v4("192.0.2.2");
	uint8_t full[24];
	memcpy(full, cc, 8);
	cookie_make(secret, cc, 1000000, (struct sockaddr *)&s, full + 8);
	assert_true(
	    cookie_is_valid(secret, full, 24, 1000000, (struct sockaddr *)&s));
	assert_true(
	    cookie_is_valid(secret, full, 24, 1003600, (struct sockaddr *)&s));
	assert_false(
	    cookie_is_valid(secret, full, 24, 1003601, (struct sockaddr *)&s));
	assert_false(cookie_is_valid(secret, full, 24, 1000000 - 301,
				     (struct sockaddr *)&s));
	assert_false(cookie_is_valid(secret, full, 24, 1000000,
				     (struct sockaddr *)&other));
	full[20] ^= 1;
	assert_false(
	    cookie_is_valid(secret, full, 24, 1000000, (struct sockaddr *)&s));
	assert_false(
	    cookie_is_valid(secret, full, 16, 1000000, (struct sockaddr *)&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc9018_vector),
	    cmocka_unit_test(test_valid_and_expired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
