/* safe_text.h: a test oracle, written apart from common/text.c: whether a
 * string shows safely, that is strict UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF) with no C0, DEL or C1 controls.
 * Included by the unit tests that check cleaned text. */
#ifndef GS_TESTS_UNIT_SAFE_TEXT_H
#define GS_TESTS_UNIT_SAFE_TEXT_H

#include <stdbool.h>

static inline bool shows_safely(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	while (*s) {
		unsigned c = *s, n, cp, min;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			s++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 2, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 3, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		for (unsigned i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		s += n;
	}
	return true;
}

#endif
