/* text.c: outside text made safe to show (text.h). */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/text.h"

/* The length of the well-formed UTF-8 sequence at s (avail bytes, at
 * least 1) and its code point, or 0 when s[0] does not start one
 * (Unicode Table 3-7: the second byte's range depends on the first). */
static size_t decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		*cp = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		*cp = c & 0x0fu;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates above */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		*cp = c & 0x07u;
		if (c == 0xf0)
			lo = 0x90; /* overlong below */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* continuation, 0xc0, 0xc1, 0xf5..0xff */
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (i > 1 && (s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3fu);
	}
	return n;
}

/* Code points shown escaped although well formed: C1 controls, and those
 * that can make a line show as another (a line break, a reordering). */
static bool is_escaped(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

static const char hex[] = "0123456789abcdef";

/* The cleaned form of the character (or stray byte) at s: its bytes go to
 * piece (at most 6), their number to *n; returns the bytes of s used. */
static size_t next_piece(const unsigned char *s, size_t avail, char *piece,
			 size_t *n)
{
	unsigned char c = s[0];
	uint32_t cp;
	size_t used;
	if (c >= 0x20 && c < 0x7f) {
		piece[0] = (char)c;
		*n = 1;
		return 1;
	}
	if (c == '\n' || c == '\r' || c == '\t') {
		piece[0] = '\\';
		piece[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		*n = 2;
		return 1;
	}
	used = c < 0x80 ? 0 : decode(s, avail, &cp);
	if (used == 0) {
		/* C0, DEL, or a byte outside a well-formed sequence */
		piece[0] = '\\';
		piece[1] = 'x';
		piece[2] = hex[c >> 4];
		piece[3] = hex[c & 0xf];
		*n = 4;
		return 1;
	}
	if (is_escaped(cp)) {
		piece[0] = '\\';
		piece[1] = 'u';
		for (int i = 0; i < 4; i++)
			piece[2 + i] = hex[(cp >> (12 - 4 * i)) & 0xf];
		*n = 6;
		return used;
	}
	memcpy(piece, s, used);
	*n = used;
	return used;
}

size_t gs_text_clean(char *dst, size_t cap, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t room, out = 0, mark = 0, i = 0;
	if (cap == 0)
		return 0;
	room = cap - 1;
	while (i < len) {
		char piece[6];
		size_t n, used = next_piece(s + i, len - i, piece, &n);
		if (n > room - out) {
			/* Cut: back to the last boundary that leaves room
			 * for the marker. */
			if (room >= 3) {
				out = mark;
				memcpy(dst + out, "...", 3);
				out += 3;
			}
			break;
		}
		memcpy(dst + out, piece, n);
		out += n;
		i += used;
		if (room >= 3 && out <= room - 3)
			mark = out;
	}
	dst[out] = '\0';
	return out;
}
