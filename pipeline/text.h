/*
 * text - hygiene for the text fields of a review (owned by decode, shared).
 *
 * A review string leaves decode as valid UTF-8 (no invalid bytes, no
 * overlong forms, no surrogates, nothing above U+10FFFF), normalised to
 * NFC, without control characters and trimmed of white space at both
 * ends.  Control characters: every C0 and C1 control and DEL is dropped,
 * except that CR LF and a lone CR become LF, LF stays and TAB becomes a
 * space, so paragraphs survive.
 *
 * Speed: the common cases copy nothing.  ASCII text without controls, and
 * non-ASCII text whose every code point passes an NFC quick check (a
 * starter that never composes with what precedes it and is its own NFC),
 * come back as a sub-slice of the input.  Only text that really changes is
 * rebuilt, in the arena the caller gives; NFC then goes through utf8proc
 * into arena memory, never malloc.
 */
#ifndef REVPIPE_TEXT_H
#define REVPIPE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "slice.h"

/* Why a string is not valid UTF-8 (text_error.what). */
enum text_bad {
	TEXT_BAD_BYTE = 1,	/* a byte that never starts a sequence */
	TEXT_TRUNCATED,		/* a sequence cut short */
	TEXT_OVERLONG,		/* encoded in too many bytes */
	TEXT_SURROGATE,		/* U+D800..U+DFFF */
	TEXT_TOO_BIG		/* above U+10FFFF */
};

struct text_error {
	enum text_bad	 what;
	size_t		 off;	/* first byte of the bad sequence */
	unsigned char	 byte;	/* the byte at off */
};

/*
 * Check that the n bytes at p are valid UTF-8.  Returns 0, or -1 with *err
 * describing the first problem.
 */
int	text_utf8_check(const char *p, size_t n, struct text_error *err);

/*
 * A short phrase for err->what ("invalid byte", "overlong sequence", ...).
 */
const char *text_bad_name(enum text_bad what);

/*
 * Clean the n bytes at p: validate, drop controls, NFC, trim.  On success
 * returns 0 and *out is either a sub-slice of the input or bytes allocated
 * from `a` (valid until the arena is reset).  Returns -1 with *err when
 * the input is not valid UTF-8; nothing is allocated then.
 */
int	text_clean(struct arena *a, const char *p, size_t n, struct slice *out,
	    struct text_error *err);

/*
 * Trim white space (ASCII space, TAB, LF, CR, VT, FF, NO-BREAK SPACE,
 * U+2000..U+200B, U+3000, U+FEFF) from both ends of valid UTF-8.
 */
struct slice text_trim(struct slice s);

/*
 * True when the valid UTF-8 in s is already NFC by the quick check (no
 * code point that may change under NFC).  False means "maybe not".
 */
int	text_nfc_quick(struct slice s);

#endif
