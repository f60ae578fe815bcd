/* text.h: outside text made safe to show (pure, libc only, any thread).
 *
 * Text that a remote server chose (a health endpoint's JSON fields, its
 * error message, a Location header, libcurl's and jansson's error texts,
 * which quote what the server sent) goes through gs_text_clean() before
 * it is stored, logged or put in a control reply: it cannot then write a
 * line of its own into the log, change a terminal, or make jansson refuse
 * a reply (json_string() returns NULL on invalid UTF-8). */
#ifndef GS_COMMON_TEXT_H
#define GS_COMMON_TEXT_H

#include <stddef.h>

/* Writes a cleaned copy of src[0..len) (bytes, NUL included: a NUL is
 * data, not the end) into dst, of cap bytes. The rules:
 *  - well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates
 *    U+D800..U+DFFF, nothing above U+10FFFF) is copied as it is, except:
 *  - newline, carriage return and tab become the two characters "\n",
 *    "\r", "\t"; every other C0 control (NUL included) and DEL become
 *    "\xNN" (two lowercase hex digits);
 *  - C1 controls (U+0080..U+009F), the line and paragraph separators
 *    (U+2028, U+2029) and the bidirectional controls (U+061C, U+200E,
 *    U+200F, U+202A..U+202E, U+2066..U+2069) become "\uNNNN";
 *  - each byte that is not part of a well-formed sequence (a lone
 *    continuation byte, a cut or overlong sequence, an encoded surrogate,
 *    0xC0, 0xC1, 0xF5..0xFF) becomes "\xNN".
 * A backslash in src is copied as it is: the result is safe to show, not
 * a reversible encoding. Cleaning cleaned text changes nothing (when it
 * fits in cap).
 *
 * Bounds: at most cap - 1 bytes are written, then a NUL; nothing is
 * written when cap is 0. When the cleaned text does not fit, it is cut
 * between two characters or escapes (never inside one) and ends in
 * "..." (when cap - 1 >= 3; a shorter buffer is just cut).
 *
 * Guarantees: dst holds valid UTF-8 without C0, DEL, C1 or the
 * characters above, NUL-terminated. Returns its length (strlen(dst)).
 * src may be NULL when len is 0; dst and src must not overlap. Cannot
 * fail. */
size_t gs_text_clean(char *dst, size_t cap, const char *src, size_t len);

#endif
