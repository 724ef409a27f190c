/*
 * norm - the matching form of a text: what two reviews must share to be
 * "the same words".
 *
 * Used for keys and comparisons (dedupe hashes it, others may match
 * lexicons against it), never shown to people.  The form is:
 *
 *   - Unicode compatibility forms folded and case folded (NFKD + full case
 *     folding with utf8proc: "ﬁ" -> "fi", "Ｅ" -> "e", "ß" -> "ss",
 *     final sigma -> sigma);
 *   - combining marks stripped: Greek tonos, Latin accents ("é" -> "e"),
 *     Arabic harakat, shadda, sukun, superscript alef, hamza above/below
 *     and madda (so the alef variants أ إ آ ٱ become ا), Cyrillic breve
 *     ("й" -> "и");
 *   - Arabic script: tatweel removed; alef maksura ى and Farsi yeh ی ->
 *     ي, teh marbuta ة -> ه, keheh ک -> ك; Arabic-Indic and Persian digits
 *     -> ASCII digits; Turkish dotless ı -> i;
 *   - apostrophes (' ’ ʼ ‘ `) dropped ("don't" = "dont");
 *   - other punctuation, math and currency symbols, controls and every
 *     kind of space become one ASCII space; runs collapse and the ends
 *     are trimmed;
 *   - default-ignorable characters (ZWJ, ZWNJ, variation selectors, soft
 *     hyphen, bidi marks, BOM) and emoji skin-tone modifiers dropped;
 *     emoji and other symbols themselves are kept;
 *   - invalid UTF-8 bytes are dropped (decode rejects them upstream).
 *
 * The form is stable: changing it changes dedupe keys, so a change is a
 * deliberate, tested one (norm_test.c pins every rule).
 *
 * Speed: ASCII runs go through a byte table; code points below U+0800 (all
 * of Latin, Greek, Cyrillic, Arabic, Hebrew) through a table built once on
 * first use; the rest through utf8proc.  Thread-safe after
 * the first call (the tables are built under pthread_once).
 */
#ifndef REVPIPE_NORM_H
#define REVPIPE_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "slice.h"

/*
 * Write the matching form of the `in.n` bytes at `in.p` to `dst` (room for
 * `cap` bytes; dst may be NULL when cap is 0).  Returns the length of the
 * whole form, like snprintf: when it is > cap, only the first cap bytes
 * were written and the caller retries with a bigger buffer.  No NUL is
 * added.  The form is never longer than NORM_MAX_GROWTH * in.n bytes.
 */
size_t	norm_into(char *dst, size_t cap, struct slice in);

/* Worst-case bytes out per byte in (U+FDFA: 3 bytes -> 33). */
#define NORM_MAX_GROWTH	11

/*
 * The matching form of `in` (the bytes norm_into() writes) in one pass
 * without bound checks: dst must have room for NORM_FORM_ROOM(in.n)
 * bytes.  Returns its length.
 */
size_t	norm_form(char *restrict dst, struct slice in);
#define NORM_FORM_ROOM(n)	(NORM_MAX_GROWTH * (n) + 16)

/*
 * For a walk over the form that does more per code point than norm_form()
 * (dedupe's signatures), the same steps norm_form() takes:
 *
 *   byte b < 0x80: ascii[b] is the form byte, ' ' a separator, 0 nothing;
 *   two bytes l, c with l - 0xc0 < 0x20: two[(l - 0xc0) << 8 | c], when
 *       not 0, is one code point of form: UTF-8 bytes in bits 0-31 (first
 *       byte lowest; store 4, keep the count), the count in bits 32-39,
 *       the code point in bits 40-63;
 *   anything else: norm_step_slow().
 *
 * A separator becomes one space before the next kept code point, and only
 * when something was kept before it.  The tables are built on first use
 * of norm_step_tab(), which is thread-safe.
 */
struct norm_step_tab {
	const unsigned char	*ascii;		/* 128 entries */
	const uint64_t		*two;		/* 32 << 8 entries */
};

const struct norm_step_tab *norm_step_tab(void);
/*
 * One input code point at in (< end) the tables do not settle: its form
 * at dst + *o, its code points at cps + *k (at most NORM_STEP_MAX), with
 * the pending separator *sep.  Returns the input bytes used (1 for a byte
 * that is not valid UTF-8, which is dropped).
 */
size_t	norm_step_slow(const char *in, const char *end, char *dst, size_t *o,
	    uint32_t *cps, size_t *k, bool *sep);
#define NORM_STEP_MAX	49

/*
 * The matching form of `in` in memory from arena `a` (e.g. ctx->scratch),
 * NUL-terminated; dies with the arena.
 */
struct slice norm_arena(struct arena *a, struct slice in);

/* Append the matching form of `in` to `b`; returns the bytes added. */
size_t	norm_buf(struct buf *b, struct slice in);

/*
 * Decode the next code point of the valid UTF-8 in [*pp, end) (a matching
 * form is always valid UTF-8) and advance *pp; returns -1 at end.
 */
static inline int32_t
norm_next_cp(const char **pp, const char *end)
{
	const unsigned char *p = (const unsigned char *)*pp;
	int32_t c;

	if ((const char *)p >= end)
		return -1;
	c = *p++;
	if (c >= 0xf0 && end - (const char *)p >= 3) {
		c = (c & 0x07) << 18 | (p[0] & 0x3f) << 12 |
		    (p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		p += 3;
	} else if (c >= 0xe0 && end - (const char *)p >= 2) {
		c = (c & 0x0f) << 12 | (p[0] & 0x3f) << 6 | (p[1] & 0x3f);
		p += 2;
	} else if (c >= 0xc0 && end - (const char *)p >= 1) {
		c = (c & 0x1f) << 6 | (p[0] & 0x3f);
		p += 1;
	}
	*pp = (const char *)p;
	return c;
}

#endif
