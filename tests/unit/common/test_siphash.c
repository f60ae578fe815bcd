/* SipHash-2-4 against the reference test vectors of the SipHash paper:
 * key 00 01 .. 0f, message 00 01 .. (len-1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/siphash.h"

static void test_vectors(void **state)
{
	(void)state;
	static const struct {
		size_t len;
		uint64_t hash;
	} vec[] = {
	    {0, 0x726fdb47dd0e0e31ULL},	 {1, 0x74f839c593dc67fdULL},
	    {7, 0xab0200f58b01d137ULL},	 {8, 0x93f5f5799a932462ULL},
	    {15, 0xa129ca6149be45e5ULL}, {63, 0x958a324ceb064572ULL},
	};
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
		assert_int_equal(siphash24(key, msg, vec[i].len), vec[i].hash);
}

static void test_key_matters(void **state)
{
	(void)state;
	uint8_t k1[16] = {0}, k2[16] = {1};
	assert_true(siphash24(k1, "abc", 3) != siphash24(k2, "abc", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_key_matters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
