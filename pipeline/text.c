/*
 * text - UTF-8 validation, control removal, NFC and trimming of review
 * text.  See text.h for the rules.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <utf8proc.h>

#include "banned.h"
#include "text.h"

/*
 * NFC quick-check table for U+0000..U+2FFFF: a set bit means the code
 * point may change under NFC or may combine with the character before it
 * (a combining mark, the second half of a canonical composition, a
 * singleton or an excluded composition).  Text made only of clear code
 * points is NFC as it stands.  Built once from utf8proc's own data, so it
 * follows whatever Unicode version the library has.
 */
#define TEXT_QC_LIMIT	0x30000
static uint64_t	text_qc[TEXT_QC_LIMIT / 64];
static bool	text_qc_ready;
/* For U+0080..U+07FF: the continuation bytes that span each word's bits. */
static unsigned char text_qc_lo[32], text_qc_hi[32];

static inline void
qc_set(int32_t cp)
{
	if (cp >= 0 && cp < TEXT_QC_LIMIT)
		text_qc[cp >> 6] |= (uint64_t)1 << (cp & 63);
}

static inline bool
qc_get(int32_t cp)
{
	if (cp < TEXT_QC_LIMIT)
		return (text_qc[cp >> 6] >> (cp & 63)) & 1;
	return utf8proc_get_property(cp)->combining_class != 0;
}

/*
 * Hangul syllables (U+AC00..U+D7A3) decompose by arithmetic into a
 * leading consonant, a vowel and perhaps a trailing consonant, and
 * compose back; utf8proc has no table entries for them.
 */
#define HANGUL_S	0xac00
#define HANGUL_SN	11172
#define HANGUL_TN	28
#define HANGUL_NN	(21 * HANGUL_TN)

/* Code points with a canonical decomposition of two or more, and its head. */
#define TEXT_QC_MULTI	4096
static int32_t	text_qc_multi[TEXT_QC_MULTI][2];

/*
 * Only code points that have a decomposition are decomposed (utf8proc's
 * property says so; Hangul is done by arithmetic), which keeps the first
 * text_clean() of a run cheap.  text_test.c checks the table bit for bit
 * against decomposing every code point.
 */
static void
text_qc_build(void)
{
	utf8proc_int32_t d[32], c[32];
	utf8proc_ssize_t n, m, i;
	const utf8proc_property_t *pr;
	size_t nmulti = 0, k;
	bool hangul = false;
	int32_t cp;
	int bc;

	/* C1 controls: text_clean drops them (text_nfc_quick skips < 0x300). */
	for (cp = 0x80; cp < 0xa0; cp++)
		qc_set(cp);
	for (cp = 0x300; cp < TEXT_QC_LIMIT; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		pr = utf8proc_get_property(cp);
		if (pr->combining_class != 0)
			qc_set(cp);
		if (pr->decomp_seqindex == UINT16_MAX ||
		    (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SN))
			continue;
		bc = 0;
		n = utf8proc_decompose_char(cp, d, 32,
		    UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, &bc);
		if (n <= 0 || n > 32 || (n == 1 && d[0] == cp))
			continue;
		for (i = 1; i < n; i++)
			qc_set(d[i]);
		if (n > 1) {
			if (nmulti < TEXT_QC_MULTI) {
				text_qc_multi[nmulti][0] = cp;
				text_qc_multi[nmulti][1] = d[0];
			}
			nmulti++;
		}
		memcpy(c, d, (size_t)n * sizeof(c[0]));
		m = utf8proc_normalize_utf32(c, n,
		    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (m != 1 || c[0] != cp)
			qc_set(cp);
	}
	/* Hangul vowels and trailing consonants are second halves. */
	for (cp = 0x1161; cp <= 0x1175; cp++)
		qc_set(cp);
	for (cp = 0x11a8; cp <= 0x11c2; cp++)
		qc_set(cp);
	/*
	 * A character whose decomposition starts with a second half, in
	 * code point order as each answer may feed a later one.
	 */
	if (nmulti <= TEXT_QC_MULTI) {
		for (k = 0; k <= nmulti; k++) {
			if (!hangul && (k == nmulti ||
			    text_qc_multi[k][0] >= HANGUL_S)) {
				for (cp = HANGUL_S; cp < HANGUL_S + HANGUL_SN;
				    cp++)
					if (qc_get(0x1100 + (cp - HANGUL_S) /
					    HANGUL_NN))
						qc_set(cp);
				hangul = true;
			}
			if (k < nmulti && qc_get(text_qc_multi[k][1]))
				qc_set(text_qc_multi[k][0]);
		}
	} else {
		for (cp = 0x300; cp < TEXT_QC_LIMIT; cp++) {
			if (cp >= 0xd800 && cp <= 0xdfff)
				continue;
			bc = 0;
			n = utf8proc_decompose_char(cp, d, 32,
			    UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, &bc);
			if (n > 1 && n <= 32 && qc_get(d[0]))
				qc_set(cp);
		}
	}
	for (k = 0; k < 32; k++)
		if (text_qc[k] != 0) {
			text_qc_lo[k] = (unsigned char)(0x80 |
			    __builtin_ctzll(text_qc[k]));
			text_qc_hi[k] = (unsigned char)(0x80 | (63 -
			    __builtin_clzll(text_qc[k])));
		}
	text_qc_ready = true;
}

const char *
text_bad_name(enum text_bad what)
{
	switch (what) {
	case TEXT_BAD_BYTE:
		return "invalid byte";
	case TEXT_TRUNCATED:
		return "truncated sequence";
	case TEXT_OVERLONG:
		return "overlong sequence";
	case TEXT_SURROGATE:
		return "surrogate code point";
	case TEXT_TOO_BIG:
		return "code point above U+10FFFF";
	}
	return "invalid UTF-8";
}

/*
 * Decode one non-ASCII sequence at p[i] (p[i] >= 0x80).  Returns its
 * length and the code point in *cp, or 0 with *why set.
 */
static inline size_t
utf8_dec(const unsigned char *p, size_t n, size_t i, int32_t *cp,
    enum text_bad *why)
{
	unsigned char c = p[i];
	size_t len, k;
	int32_t v, min;

	if (c < 0xc0) {
		*why = TEXT_BAD_BYTE;
		return 0;
	} else if (c < 0xe0) {
		len = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c < 0xf0) {
		len = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c < 0xf8) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		*why = TEXT_BAD_BYTE;
		return 0;
	}
	for (k = 1; k < len; k++) {
		if (i + k >= n || (p[i + k] & 0xc0) != 0x80) {
			*why = TEXT_TRUNCATED;
			return 0;
		}
		v = (v << 6) | (p[i + k] & 0x3f);
	}
	if (v < min) {
		*why = TEXT_OVERLONG;
		return 0;
	}
	if (v >= 0xd800 && v <= 0xdfff) {
		*why = TEXT_SURROGATE;
		return 0;
	}
	if (v > 0x10ffff) {
		*why = TEXT_TOO_BIG;
		return 0;
	}
	*cp = v;
	return len;
}

/* Are the 8 bytes in w all printable ASCII (0x20..0x7e)? */
static inline bool
ascii8(uint64_t w)
{
	/* Any byte >= 0x80, < 0x20 or == 0x7f sets its top bit here. */
	return ((w | ~(w + 0x6060606060606060ULL) |
	    ((w ^ 0x7f7f7f7f7f7f7f7fULL) - 0x0101010101010101ULL)) &
	    0x8080808080808080ULL) == 0;
}

/* Length of the ASCII run at p[i..n) that needs no attention. */
static inline size_t
ascii_run(const unsigned char *p, size_t n, size_t i)
{
	size_t s = i;
	uint64_t w;
	uint32_t a, b;

	while (i + 8 <= n) {
		memcpy(&w, p + i, 8);
		if (!ascii8(w))
			break;
		i += 8;
	}
	/*
	 * The last few bytes (short fields: ids, names) by loads that
	 * overlap bytes already passed, rather than one at a time.
	 */
	if (i < n && i + 8 > n) {
		if (n - s >= 8) {
			memcpy(&w, p + n - 8, 8);
			if (ascii8(w))
				return n - s;
		} else if (n - i >= 4) {
			memcpy(&a, p + i, 4);
			memcpy(&b, p + n - 4, 4);
			if (ascii8(a | (uint64_t)b << 32))
				return n - s;
		}
	}
	while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	return i - s;
}

/*
 * Are the 8 bytes in w (loaded in memory order) four 2-byte sequences,
 * each a lead 0xc2..0xdf then a continuation byte?  Little-endian only;
 * elsewhere the byte-at-a-time path does the work.
 */
static inline bool
utf8_2byte8(uint64_t w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if ((w & 0xc0e0c0e0c0e0c0e0ULL) != 0x80c080c080c080c0ULL)
		return false;
	/*
	 * 0xc0 and 0xc1 (overlong) have lead bits 4..1 all zero: adding
	 * 0xfe to each 16-bit lane's 0..0x1e carries into bit 8 otherwise.
	 */
	return (((w & 0x001e001e001e001eULL) + 0x00fe00fe00fe00feULL) &
	    0x0100010001000100ULL) == 0x0100010001000100ULL;
#else
	(void)w;
	return false;
#endif
}

int
text_utf8_check(const char *s, size_t n, struct text_error *err)
{
	const unsigned char *p = (const unsigned char *)s;
	enum text_bad why = TEXT_BAD_BYTE;
	size_t i = 0, len;
	int32_t cp;

	while (i < n) {
		/*
		 * Eight bytes at a time while they are all ASCII or all
		 * well-formed 2-byte sequences (Cyrillic, Greek, Arabic);
		 * anything else, errors included, goes through utf8_dec so
		 * the error and its offset stay the same.
		 */
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) == 0 ||
			    utf8_2byte8(w))
				i += 8;
			else
				break;
		}
		if (i >= n)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] < 0xe0 && i + 1 < n &&
		    (p[i + 1] & 0xc0) == 0x80) {
			i += 2;
			continue;
		}
		if ((len = utf8_dec(p, n, i, &cp, &why)) == 0) {
			err->what = why;
			err->off = i;
			err->byte = p[i];
			return -1;
		}
		i += len;
	}
	return 0;
}

static inline bool
is_space_cp(int32_t cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0xa0 ||
	    (cp >= 0x2000 && cp <= 0x200b) || cp == 0x3000 || cp == 0xfeff;
}

/* The code point that ends at s.p[end - 1] and its start. */
static size_t
utf8_prev(const unsigned char *p, size_t end, int32_t *cp)
{
	size_t i = end - 1;
	enum text_bad why;

	while (i > 0 && (p[i] & 0xc0) == 0x80 && end - i < 4)
		i--;
	if (p[i] < 0x80) {
		*cp = p[i];
		return end - 1;
	}
	if (utf8_dec(p, end, i, cp, &why) != end - i) {
		*cp = -1;
		return end - 1;
	}
	return i;
}

/*
 * Most text starts and ends with no space: a first byte that starts no
 * space character and a last byte that ends none say so.
 */
static inline bool
trim_none(const unsigned char *p, size_t n)
{
	unsigned char a, z;

	if (n == 0)
		return false;
	a = p[0];
	z = p[n - 1];
	return ((a > 0x20 && a < 0x7f) || (a >= 0xc3 && a != 0xe2 &&
	    a != 0xe3 && a != 0xef)) && ((z > 0x20 && z < 0x7f) ||
	    (z >= 0x8c && z < 0xbf && z != 0xa0));
}

struct slice
text_trim(struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0, n = s.n, len;
	enum text_bad why;
	int32_t cp = 0;

	if (trim_none(p, n))
		return s;
	while (i < n) {
		if (p[i] < 0x80) {
			if (!is_space_cp(p[i]))
				break;
			i++;
			continue;
		}
		if ((len = utf8_dec(p, n, i, &cp, &why)) == 0 ||
		    !is_space_cp(cp))
			break;
		i += len;
	}
	while (n > i) {
		size_t st;

		if (p[n - 1] < 0x80) {
			if (!is_space_cp(p[n - 1]))
				break;
			n--;
			continue;
		}
		st = utf8_prev(p, n, &cp);
		if (cp < 0 || !is_space_cp(cp) || st < i)
			break;
		n = st;
	}
	return (struct slice){ s.p + i, n - i };
}

int
text_nfc_quick(struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	enum text_bad why;
	size_t i = 0, len;
	int32_t cp;

	if (!text_qc_ready)
		text_qc_build();
	while (i < s.n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((len = utf8_dec(p, s.n, i, &cp, &why)) == 0)
			return 0;
		if (cp >= 0x300 && qc_get(cp))
			return 0;
		i += len;
	}
	return 1;
}

#ifdef __SSE2__
/*
 * The 16 bytes at p, when they are printable ASCII and whole two-byte
 * sequences whose code points are clear in the quick-check table (Latin,
 * Greek, Cyrillic, Arabic and Hebrew text): how many of them that is (15
 * when the last byte leads a sequence); 0 when anything needs a closer
 * look.  C1 controls are set in the table, so they stop it too.
 */
static inline size_t
clean16(const unsigned char *p)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)p);
	unsigned a, l, c, bad = 0;
	size_t k = 16;

	/* As signed bytes: ASCII is positive, the rest negative. */
	a = (unsigned)_mm_movemask_epi8(_mm_and_si128(
	    _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f))));
	if (a == 0xffff)
		return 16;
	l = (unsigned)_mm_movemask_epi8(_mm_and_si128(
	    _mm_cmpgt_epi8(v, _mm_set1_epi8((char)0xc1)),
	    _mm_cmplt_epi8(v, _mm_set1_epi8((char)0xe0))));
	c = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v,
	    _mm_set1_epi8((char)0xc0)));
	if ((a | l | c) != 0xffff)
		return 0;
	if (l & 0x8000) {
		l &= 0x7fff;
		k = 15;
	}
	/* Each continuation byte right after a lead, and only there. */
	if (c != l << 1)
		return 0;
	/*
	 * Lead byte by lead byte (a script has few): nothing to test in a
	 * block with no bit set, and in the others only the continuation
	 * bytes within the span of its set bits.
	 */
	while (l != 0) {
		unsigned char b = p[__builtin_ctz(l)] & 0x1f;
		unsigned eq, in;

		eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
		    _mm_set1_epi8((char)p[__builtin_ctz(l)]))) & l;
		l &= ~eq;
		if (text_qc[b] == 0)
			continue;
		in = (unsigned)_mm_movemask_epi8(_mm_and_si128(
		    _mm_cmpeq_epi8(_mm_subs_epu8(v,
		    _mm_set1_epi8((char)text_qc_hi[b])), _mm_setzero_si128()),
		    _mm_cmpeq_epi8(_mm_subs_epu8(
		    _mm_set1_epi8((char)text_qc_lo[b]), v),
		    _mm_setzero_si128()))) & (eq << 1);
		for (; in != 0; in &= in - 1)
			bad |= (unsigned)(text_qc[b] >>
			    (p[__builtin_ctz(in)] & 0x3f));
	}
	return (bad & 1) != 0 ? 0 : k;
}
#endif

/*
 * Copy the n bytes at p without controls (CR LF and CR -> LF, TAB ->
 * space) into dst; returns the new length.  The input is valid UTF-8.
 */
static size_t
strip_controls(const unsigned char *p, size_t n, char *dst)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c != 0x7f) {
			/* C1 controls are U+0080..U+009F: 0xc2 0x80..0x9f. */
			if (c == 0xc2 && i + 1 < n && p[i + 1] < 0xa0) {
				i++;
				continue;
			}
			dst[o++] = (char)c;
		} else if (c == '\r') {
			dst[o++] = '\n';
			if (i + 1 < n && p[i + 1] == '\n')
				i++;
		} else if (c == '\n') {
			dst[o++] = '\n';
		} else if (c == '\t') {
			dst[o++] = ' ';
		}
	}
	return o;
}

/*
 * NFC of valid UTF-8 t, through utf8proc for the span that needs it only.
 * A code point whose quick-check bit is clear is a starter that nothing
 * before it combines with and that does not reorder, so NFC of the text
 * is NFC of the part before it followed by NFC of the rest: the span runs
 * from the last clear code point before the first flagged one to the
 * first clear one after the last.  The result is trimmed again; t comes
 * back as it was when utf8proc fails.
 */
static struct slice
nfc_span(struct arena *a, struct slice t)
{
	const unsigned char *p = (const unsigned char *)t.p;
	size_t i = 0, len, lo = 0, hi = 0, clear = 0;
	bool found = false, open = false;
	utf8proc_int32_t *u;
	utf8proc_ssize_t m, cap;
	enum text_bad why;
	int32_t cp;
	char *r;

	while (i < t.n) {
		if (p[i] < 0x80) {
			cp = p[i];
			len = 1;
		} else if ((len = utf8_dec(p, t.n, i, &cp, &why)) == 0)
			return t;
		if (cp >= 0x300 && qc_get(cp)) {
			if (!found)
				lo = clear;
			found = open = true;
		} else {
			if (open)
				hi = i;
			open = false;
			clear = i;
		}
		i += len;
	}
	if (!found)
		return t;
	if (open)
		hi = t.n;
	cap = (utf8proc_ssize_t)(hi - lo) + 1;
	for (;;) {
		u = arena_alloc(a, (size_t)cap * sizeof(*u));
		m = utf8proc_decompose((const utf8proc_uint8_t *)t.p + lo,
		    (utf8proc_ssize_t)(hi - lo), u, cap,
		    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (m < 0 || m <= cap)
			break;
		cap = m;
	}
	if (m < 0 || (m = utf8proc_reencode(u, m,
	    UTF8PROC_STABLE | UTF8PROC_COMPOSE)) < 0)
		return t;
	r = arena_alloc(a, lo + (size_t)m + (t.n - hi) + 1);
	memcpy(r, t.p, lo);
	memcpy(r + lo, u, (size_t)m);
	memcpy(r + lo + m, t.p + hi, t.n - hi);
	return text_trim((struct slice){ r, lo + (size_t)m + (t.n - hi) });
}

int
text_clean(struct arena *a, const char *s, size_t n, struct slice *out,
    struct text_error *err)
{
	const unsigned char *p = (const unsigned char *)s;
	enum text_bad why = TEXT_BAD_BYTE;
	bool ctl = false, nfc = true;
	size_t i = 0, len;
#ifdef __SSE2__
	size_t simd_from = 0;
#endif
	int32_t cp;
	struct slice t;

	if (!text_qc_ready)
		text_qc_build();
	while (i < n) {
#ifdef __SSE2__
		/*
		 * Sixteen bytes at a time while they need nothing; after a
		 * block that does, the code below takes the next 16 bytes.
		 */
		if (i >= simd_from) {
			size_t k;

			while (i + 16 <= n && (k = clean16(p + i)) != 0)
				i += k;
			if (i >= n)
				break;
			simd_from = i + 16;
		}
#endif
		if (p[i] < 0x80) {
			i += ascii_run(p, n, i);
			if (i >= n)
				break;
		}
		if (p[i] < 0x80) {
			/* Control or DEL; LF alone needs no copy. */
			if (p[i] != '\n')
				ctl = true;
			i++;
			continue;
		}
		/*
		 * Runs of two- and three-byte characters (most scripts) in a
		 * tight loop: one bitmap test per code point, which covers C1
		 * controls too (text_qc_build sets them).
		 */
		for (;;) {
			unsigned c = p[i];
			uint64_t w;

			/*
			 * Four two-byte characters at once: each lead byte
			 * names one 64-bit word of the bitmap (cp >> 6), and
			 * the continuation byte the bit in it.
			 */
			while (i + 8 <= n) {
				memcpy(&w, p + i, 8);
				if (!utf8_2byte8(w) ||
				    ((text_qc[(w >> 0) & 0x1f] >>
				    ((w >> 8) & 0x3f)) |
				    (text_qc[(w >> 16) & 0x1f] >>
				    ((w >> 24) & 0x3f)) |
				    (text_qc[(w >> 32) & 0x1f] >>
				    ((w >> 40) & 0x3f)) |
				    (text_qc[(w >> 48) & 0x1f] >>
				    ((w >> 56) & 0x3f))) & 1)
					break;
				i += 8;
			}
			if (i >= n || p[i] < 0x80)
				goto next;
			c = p[i];
			if (c >= 0xc2 && c < 0xe0 && i + 1 < n &&
			    (p[i + 1] & 0xc0) == 0x80) {
				cp = ((c & 0x1f) << 6) | (p[i + 1] & 0x3f);
				i += 2;
			} else if (c >= 0xe1 && c < 0xf0 && c != 0xed &&
			    i + 2 < n && (p[i + 1] & 0xc0) == 0x80 &&
			    (p[i + 2] & 0xc0) == 0x80) {
				cp = ((c & 0x0f) << 12) |
				    ((p[i + 1] & 0x3f) << 6) |
				    (p[i + 2] & 0x3f);
				i += 3;
			} else
				break;
			if ((text_qc[cp >> 6] >> (cp & 63)) & 1) {
				if (cp < 0xa0)
					ctl = true;
				else
					nfc = false;
			}
			if (i >= n || p[i] < 0x80)
				goto next;
		}
		if ((len = utf8_dec(p, n, i, &cp, &why)) == 0) {
			err->what = why;
			err->off = i;
			err->byte = p[i];
			return -1;
		}
		i += len;
		if (qc_get(cp))
			nfc = false;
next:
		;
	}
	t = (struct slice){ s, n };
	if (ctl) {
		char *d = arena_alloc(a, n + 1);

		t.n = strip_controls(p, n, d);
		t.p = d;
	}
	if (!trim_none((const unsigned char *)t.p, t.n))
		t = text_trim(t);
	if (!nfc && t.n > 0)
		t = nfc_span(a, t);
	*out = t;
	return 0;
}
