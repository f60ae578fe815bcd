/* gs_text_clean(): well-formed UTF-8 kept, every malformed byte and every
 * control escaped, cuts only between characters, at every buffer size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

#define BIG 4096

#include "safe_text.h"


static char *clean(const char *src, size_t len, size_t cap)
{
	static char buf[BIG + 8];
	assert_true(cap <= BIG);
	memset(buf, 'Z', sizeof(buf));
	size_t n = gs_text_clean(buf, cap, src, len);
	if (cap == 0) {
		assert_int_equal(n, 0);
		assert_int_equal(buf[0], 'Z'); /* nothing written */
		return buf;
	}
	assert_int_equal(n, strlen(buf));
	assert_true(n <= cap - 1);
	assert_int_equal(buf[cap], 'Z'); /* nothing past cap */
	assert_true(shows_safely(buf));
	return buf;
}

#define CLEAN(lit) clean(lit, sizeof(lit) - 1, BIG)
#define EXPECT(lit, want) assert_string_equal(CLEAN(lit), want)

static void test_empty(void **state)
{
	(void)state;
	char dst[4] = "xyz";
	assert_int_equal(gs_text_clean(dst, 0, "abc", 3), 0);
	assert_string_equal(dst, "xyz");
	assert_int_equal(gs_text_clean(dst, sizeof(dst), NULL, 0), 0);
	assert_string_equal(dst, "");
	assert_string_equal(clean("", 0, 1), "");
	assert_string_equal(clean("abc", 3, 1), "");
	EXPECT("", "");
}

static void test_kept(void **state)
{
	(void)state;
	EXPECT("18.2.1 community", "18.2.1 community");
	/* 2-, 3- and 4-byte characters; the edges of each range */
	EXPECT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	EXPECT("\xc2\xa0", "\xc2\xa0");			/* U+00A0, after C1 */
	EXPECT("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	EXPECT("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	EXPECT("\xef\xbf\xbd", "\xef\xbf\xbd");		/* U+FFFD */
	EXPECT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	/* a backslash is not an escape of ours */
	EXPECT("a\\nb \\x41", "a\\nb \\x41");
}

static void test_controls(void **state)
{
	(void)state;
	EXPECT("a\nb\rc\td", "a\\nb\\rc\\td");
	EXPECT("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	EXPECT("\x01\x1f\x7f", "\\x01\\x1f\\x7f");
	/* a NUL in the middle is data: libcurl's texts and headers are
	 * byte strings */
	EXPECT("a\0b", "a\\x00b");
	/* C1 controls are well-formed UTF-8, escaped by code point */
	EXPECT("\xc2\x80|\xc2\x85|\xc2\x9b|\xc2\x9f",
	       "\\u0080|\\u0085|\\u009b|\\u009f");
	/* characters that break or reorder a line */
	EXPECT("\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029");
	EXPECT("\xe2\x80\xae!evil\xe2\x81\xa9\xe2\x80\x8f\xd8\x9c",
	       "\\u202e!evil\\u2069\\u200f\\u061c");
	/* a fake log line stays on this one */
	EXPECT("x\ngeosteerd[err]: health: fake",
	       "x\\ngeosteerd[err]: health: fake");
}

static void test_malformed(void **state)
{
	(void)state;
	/* lone continuation bytes, bytes that never occur */
	EXPECT("\x80", "\\x80");
	EXPECT("a\xbf-", "a\\xbf-");
	EXPECT("\xc0\xc1\xf5\xf8\xfe\xff", "\\xc0\\xc1\\xf5\\xf8\\xfe\\xff");
	/* sequences cut by the end of the input or by another byte */
	EXPECT("a\xc3", "a\\xc3");
	EXPECT("a\xe2\x82", "a\\xe2\\x82");
	EXPECT("a\xf0\x9f\x98", "a\\xf0\\x9f\\x98");
	EXPECT("\xe2\x82z", "\\xe2\\x82z");
	EXPECT("\xc3\xc3\xa9", "\\xc3\xc3\xa9");
	/* overlong encodings (of '/' and of U+0000) */
	EXPECT("\xc0\xaf", "\\xc0\\xaf");
	EXPECT("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	EXPECT("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
	EXPECT("\xc0\x80", "\\xc0\\x80");
	EXPECT("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"); /* U+07FF in 3 bytes */
	EXPECT("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");
	/* surrogates U+D800..U+DFFF encoded in UTF-8 (CESU-8) */
	EXPECT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	EXPECT("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	EXPECT("\xed\xa0\xbd\xed\xb8\x80", "\\xed\\xa0\\xbd\\xed\\xb8\\x80");
	/* above U+10FFFF */
	EXPECT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	EXPECT("\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf");
	/* the good character after a bad byte survives */
	EXPECT("\xff\xc3\xa9", "\\xff\xc3\xa9");
}

static void test_cuts(void **state)
{
	(void)state;
	/* exact fit: no cut, no marker */
	assert_string_equal(clean("abcd", 4, 5), "abcd");
	assert_string_equal(clean("\xe2\x82\xac", 3, 4), "\xe2\x82\xac");
	assert_string_equal(clean("\xf0\x9f\x98\x80", 4, 5),
			    "\xf0\x9f\x98\x80");
	assert_string_equal(clean("\n", 1, 3), "\\n");
	/* one byte short: cut with the marker */
	assert_string_equal(clean("abcde", 5, 5), "a...");
	assert_string_equal(clean("abcdefgh", 8, 8), "abcd...");
	/* too short for the marker: cut on a boundary, no marker */
	assert_string_equal(clean("abc", 3, 3), "ab");
	assert_string_equal(clean("\xc3\xa9", 2, 2), "");
	assert_string_equal(clean("a\xc3\xa9", 3, 3), "a");
	/* never inside a 2-, 3- or 4-byte character */
	assert_string_equal(clean("abcd\xc3\xa9", 6, 6), "ab...");
	assert_string_equal(clean("\xc3\xa9\xc3\xa9\xc3\xa9x", 7, 7),
			    "\xc3\xa9...");
	assert_string_equal(clean("abcd\xe2\x82\xac", 7, 7), "abc...");
	assert_string_equal(clean("abcde\xe2\x82\xac", 8, 8), "abcd...");
	assert_string_equal(clean("abcde\xf0\x9f\x98\x80", 9, 9), "abcde...");
	assert_string_equal(clean("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 8, 8),
			    "\xf0\x9f\x98\x80...");
	/* nor inside an escape */
	assert_string_equal(clean("ab\x1b", 3, 6), "ab...");
	assert_string_equal(clean("a\xc2\x85", 3, 8), "a\\u0085");
	assert_string_equal(clean("ab\xc2\x85", 4, 8), "ab...");
	/* 10 KB into 32 bytes */
	char big[10240];
	memset(big, '7', sizeof(big));
	char *got = clean(big, sizeof(big), 32);
	assert_int_equal(strlen(got), 31);
	assert_string_equal(got + 28, "...");
}

/* Every cap from 0 to past the end: the result is the full cleaned text,
 * or a prefix of it that ends between two pieces, followed by "..." when
 * there was room for it. */
static void test_every_cap(void **state)
{
	(void)state;
	static const char *const samples[] = {
	    "plain ascii text",
	    "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80 \xc3\xa9\xc3\xa9",
	    "x\ngeosteerd[err]: fake\r\x1b[2J\xc2\x9b\x7f\t",
	    "\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\x80\xbf",
	    "\xe2\x80\xae\xe2\x80\xa8\xc2\x85\xc3",
	};
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		const char *src = samples[k];
		size_t len = strlen(src);
		char full[BIG];
		snprintf(full, sizeof(full), "%s", clean(src, len, BIG));
		/* where pieces end: the cleaned lengths of src's prefixes */
		bool boundary[BIG] = {false};
		for (size_t p = 0; p <= len; p++) {
			char tmp[BIG];
			size_t n = gs_text_clean(tmp, sizeof(tmp), src, p);
			if (strncmp(tmp, full, n) == 0)
				boundary[n] = true;
		}
		for (size_t cap = 0; cap <= strlen(full) + 2; cap++) {
			char *got = clean(src, len, cap);
			if (cap == 0)
				continue;
			size_t n = strlen(got);
			if (strlen(full) <= cap - 1) {
				assert_string_equal(got, full);
				continue;
			}
			size_t keep = n;
			if (cap - 1 >= 3) {
				assert_true(n >= 3);
				assert_string_equal(got + n - 3, "...");
				keep = n - 3;
			}
			assert_true(boundary[keep]);
			assert_memory_equal(got, full, keep);
		}
	}
}

static void test_idempotent(void **state)
{
	(void)state;
	static const char *const samples[] = {
	    "x\ngeosteerd[err]: fake\r\x1b[2J\xc2\x9b\x7f\t",
	    "\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 caf\xc3\xa9",
	    "a\\x41 \\n \xe2\x80\xae",
	};
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		char once[BIG], twice[BIG];
		gs_text_clean(once, sizeof(once), samples[k],
			      strlen(samples[k]));
		gs_text_clean(twice, sizeof(twice), once, strlen(once));
		assert_string_equal(once, twice);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),      cmocka_unit_test(test_kept),
	    cmocka_unit_test(test_controls),   cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_cuts),       cmocka_unit_test(test_every_cap),
	    cmocka_unit_test(test_idempotent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
