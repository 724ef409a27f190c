/*
 * norm - the matching form of a text (see norm.h for the rules).
 *
 * One function, norm_cp(), says what a code point becomes; everything else
 * is a cache of it.  The ASCII table and the table for U+0080..U+07FF are
 * filled from norm_cp() on first use, so the fast paths cannot drift from
 * the rules.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "norm.h"
#include "banned.h"

/* What a code point becomes, as UTF-8 where ' ' means "a separator". */
#define NORM_CP_MAX	48

/* Table entry for U+0080..U+07FF: the form as bytes (' ' = separator). */
struct norm_ent {
	uint8_t	 len;		/* NORM_ENT_SLOW: not cached, ask norm_cp() */
	uint8_t	 plain;		/* 1: len > 0 and no separator inside */
	char	 s[6];
};
#define NORM_ENT_SLOW	0xff
#define NORM_TAB_MAX	0x800

static unsigned char	norm_ascii[128];	/* 0 drop, ' ' separator */
static struct norm_ent	norm_tab[NORM_TAB_MAX];
/*
 * The fast path's view of the same table, indexed by a two-byte sequence's
 * bytes ((lead - 0xc0) << 8 | second byte): when the second byte
 * continues the sequence and the form of the code point is one code
 * point, its UTF-8 bytes (bits 0-31, first byte lowest), their count
 * (bits 32-39) and the code point (bits 40-63); 0 for anything else
 * (overlong leads 0xc0 and 0xc1 included).
 */
static uint64_t		norm_tab_cp[32 << 8];
static pthread_once_t	norm_once = PTHREAD_ONCE_INIT;

static size_t
norm_put_utf8(char *s, int32_t c)
{
	if (c < 0x80) {
		s[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		s[0] = (char)(0xc0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		s[0] = (char)(0xe0 | c >> 12);
		s[1] = (char)(0x80 | (c >> 6 & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | c >> 18);
	s[1] = (char)(0x80 | (c >> 12 & 0x3f));
	s[2] = (char)(0x80 | (c >> 6 & 0x3f));
	s[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

enum { NORM_DROP, NORM_SEP, NORM_KEEP };

/*
 * The rules for one code point of the decomposed, case-folded text: *c may
 * be replaced (Arabic letter variants, digits); returns what to do with it.
 */
static int
norm_class(int32_t *c)
{
	switch (*c) {
	case 0x0027: case 0x0060: case 0x00b4: case 0x02bb: case 0x02bc:
	case 0x2018: case 0x2019: case 0x201b: case 0x2032:
		return NORM_DROP;		/* apostrophes: "don't" = "dont" */
	case 0x0640:
		return NORM_DROP;		/* tatweel */
	case 0x0671:
		*c = 0x0627;			/* alef wasla -> alef */
		return NORM_KEEP;
	case 0x0649: case 0x06cc:
		*c = 0x064a;			/* alef maksura, Farsi yeh -> yeh */
		return NORM_KEEP;
	case 0x0629:
		*c = 0x0647;			/* teh marbuta -> heh */
		return NORM_KEEP;
	case 0x06a9:
		*c = 0x0643;			/* keheh -> kaf */
		return NORM_KEEP;
	case 0x0131:
		*c = 'i';			/* Turkish dotless i */
		return NORM_KEEP;
	}
	if (*c >= 0x0660 && *c <= 0x0669) {
		*c = '0' + (*c - 0x0660);
		return NORM_KEEP;
	}
	if (*c >= 0x06f0 && *c <= 0x06f9) {
		*c = '0' + (*c - 0x06f0);
		return NORM_KEEP;
	}
	switch (utf8proc_category(*c)) {
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
	case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_CS:
		return NORM_DROP;
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM:
	case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
	case UTF8PROC_CATEGORY_CC:
		return NORM_SEP;
	default:
		return NORM_KEEP;
	}
}

/*
 * The form of code point `cp` into s (NORM_CP_MAX bytes), ' ' standing for
 * a separator; returns its length.
 */
static size_t
norm_cp(int32_t cp, char *s)
{
	utf8proc_int32_t d[20];
	utf8proc_ssize_t n, i;
	size_t len = 0;
	int bound = 0, k;

	/* Apostrophes, format characters and modifier symbols go before
	 * decomposition: U+00B4 and U+00A8 would otherwise become a space. */
	if (norm_class(&(int32_t){ cp }) == NORM_DROP)
		return 0;
	n = utf8proc_decompose_char(cp, d, 20, UTF8PROC_DECOMPOSE |
	    UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
	    UTF8PROC_IGNORE, &bound);
	if (n < 0 || n > 20)
		return 0;
	for (i = 0; i < n; i++) {
		int32_t c = d[i];

		k = norm_class(&c);
		if (k == NORM_DROP)
			continue;
		if (len + 4 > NORM_CP_MAX)
			break;
		if (k == NORM_SEP)
			s[len++] = ' ';
		else
			len += norm_put_utf8(s + len, c);
	}
	return len;
}

static void
norm_build(void)
{
	char s[NORM_CP_MAX];
	size_t n;
	int32_t c;

	for (c = 0; c < 128; c++) {
		n = norm_cp(c, s);
		norm_ascii[c] = n == 0 ? 0 : (unsigned char)s[0];
	}
	for (c = 0x80; c < NORM_TAB_MAX; c++) {
		n = norm_cp(c, s);
		if (n > sizeof(norm_tab[c].s)) {
			norm_tab[c].len = NORM_ENT_SLOW;
			continue;
		}
		norm_tab[c].len = (uint8_t)n;
		norm_tab[c].plain = n > 0 && memchr(s, ' ', n) == NULL;
		memcpy(norm_tab[c].s, s, n);
		if (norm_tab[c].plain) {
			const char *q = s;
			int32_t one = norm_next_cp(&q, s + n);

			if (q == s + n && n <= sizeof(uint32_t)) {
				uint32_t u = 0;

				memcpy(&u, s, n);
				norm_tab_cp[(c >> 6) << 8 | 0x80 |
				    (c & 0x3f)] = (uint64_t)one << 40 |
				    (uint64_t)n << 32 | u;
			}
		}
	}
}

/*
 * Decode one code point at p (p < end, *p >= 0x80); returns it and sets
 * *used, or -1 with *used = 1 for a byte that does not start valid UTF-8
 * (overlongs and surrogates included).
 */
static int32_t
norm_decode(const unsigned char *p, const unsigned char *end, size_t *used)
{
	size_t left = (size_t)(end - p);
	int32_t c;

	*used = 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		if (left < 2 || (p[1] & 0xc0) != 0x80)
			return -1;
		*used = 2;
		return (p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	}
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if (left < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return -1;
		c = (p[0] & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		*used = 3;
		return c;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if (left < 4 || (p[1] & 0xc0) != 0x80 ||
		    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return -1;
		c = (p[0] & 0x07) << 18 | (p[1] & 0x3f) << 12 |
		    (p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		if (c < 0x10000 || c > 0x10ffff)
			return -1;
		*used = 4;
		return c;
	}
	return -1;
}

size_t
norm_into(char *dst, size_t cap, struct slice in)
{
	const unsigned char *p = (const unsigned char *)in.p;
	const unsigned char *end = p + in.n;
	const char *s;
	char slow[NORM_CP_MAX];
	size_t o = 0, n, i, used;
	bool sep = false;
	int32_t c;

	pthread_once(&norm_once, norm_build);
	while (p < end) {
		if (o <= cap && cap - o >= 4 * (size_t)(end - p) + 8) {
			/*
			 * Room for the rest at 4 bytes out per byte in: ASCII
			 * (1 -> at most 1, a space out stands for a separator
			 * in) and plain two-byte letters (2 -> at most 7) keep
			 * it so, so this loop has no bound checks.  Branch-free
			 * ASCII: bytes written past o are scratch.
			 */
			unsigned sp = sep;

			while (p < end) {
				unsigned t = *p;

				if (t < 0x80) {
					unsigned keep;

					t = norm_ascii[t];
					keep = t > ' ';
					p++;
					dst[o] = ' ';
					o += sp & keep & (o > 0);
					dst[o] = (char)t;
					o += keep;
					sp = (sp & !keep) | (t == ' ');
					continue;
				}
				if ((t & 0xe0) == 0xc0 && t >= 0xc2 && end - p >= 2 &&
				    (p[1] & 0xc0) == 0x80) {
					const struct norm_ent *e = &norm_tab[
					    (t & 0x1f) << 6 | (p[1] & 0x3f)];

					if (e->plain) {
						p += 2;
						dst[o] = ' ';
						o += sp & (o > 0);
						sp = 0;
						memcpy(dst + o, e->s, sizeof(e->s));
						o += e->len;
						continue;
					}
				}
				break;
			}
			sep = sp;
			if (p >= end)
				break;
		}
		if (*p < 0x80) {
			unsigned char t = norm_ascii[*p++];

			if (t == ' ')
				sep = true;
			else if (t != 0) {
				if (sep && o > 0) {
					if (o < cap)
						dst[o] = ' ';
					o++;
				}
				sep = false;
				if (o < cap)
					dst[o] = (char)t;
				o++;
			}
			continue;
		}
		if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2 && end - p >= 2 &&
		    (p[1] & 0xc0) == 0x80 && o <= cap && cap - o >= 8) {
			/* Two-byte letters (Greek, Cyrillic, Arabic...) that
			 * map to plain bytes: one copy, no bound checks. */
			const struct norm_ent *e =
			    &norm_tab[(p[0] & 0x1f) << 6 | (p[1] & 0x3f)];

			if (e->plain) {
				p += 2;
				dst[o] = ' ';
				o += sep && o > 0;
				sep = false;
				memcpy(dst + o, e->s, sizeof(e->s));
				o += e->len;
				continue;
			}
		}
		if ((c = norm_decode(p, end, &used)) == -1) {
			p++;
			continue;
		}
		p += used;
		if (c < NORM_TAB_MAX && norm_tab[c].len != NORM_ENT_SLOW) {
			s = norm_tab[c].s;
			n = norm_tab[c].len;
		} else {
			s = slow;
			n = norm_cp(c, slow);
		}
		for (i = 0; i < n; i++) {
			if (s[i] == ' ') {
				sep = true;
				continue;
			}
			if (sep && o > 0) {
				if (o < cap)
					dst[o] = ' ';
				o++;
			}
			sep = false;
			if (o < cap)
				dst[o] = s[i];
			o++;
		}
	}
	return o;
}

size_t
norm_step_slow(const char *in, const char *end, char *dst, size_t *o,
    uint32_t *cps, size_t *k, bool *sep)
{
	const char *s, *q;
	char slow[NORM_CP_MAX];
	size_t n, i, used;
	int32_t d;

	if ((d = norm_decode((const unsigned char *)in,
	    (const unsigned char *)end, &used)) == -1)
		return 1;
	if (d < NORM_TAB_MAX && norm_tab[d].len != NORM_ENT_SLOW) {
		s = norm_tab[d].s;
		n = norm_tab[d].len;
	} else {
		s = slow;
		n = norm_cp(d, slow);
	}
	for (i = 0; i < n; i = (size_t)(q - s)) {
		if (s[i] == ' ') {
			*sep = *o > 0;
			q = s + i + 1;
			continue;
		}
		if (*sep) {
			dst[(*o)++] = ' ';
			cps[(*k)++] = ' ';
			*sep = false;
		}
		q = s + i;
		cps[(*k)++] = (uint32_t)norm_next_cp(&q, s + n);
		memcpy(dst + *o, s + i, (size_t)(q - (s + i)));
		*o += (size_t)(q - (s + i));
	}
	return used;
}

const struct norm_step_tab *
norm_step_tab(void)
{
	static const struct norm_step_tab t = { norm_ascii, norm_tab_cp };

	pthread_once(&norm_once, norm_build);
	return &t;
}

size_t
norm_form(char *restrict dst, struct slice in)
{
	const unsigned char *p = (const unsigned char *)in.p;
	const unsigned char *end = p + in.n;
	uint32_t t, c, u, pend[NORM_STEP_MAX];
	size_t o = 0, k, o2;
	bool sep = false, sep2;
	uint64_t x;

	/*
	 * The rules of norm_into() without its bound checks: the caller
	 * gives room for the worst case.  A separator becomes a space only
	 * when something is kept after it and before it (trimmed ends).
	 */
	pthread_once(&norm_once, norm_build);
	while (p < end) {
		t = *p;
		if (t < 0x80) {
			c = norm_ascii[t];
			p++;
			if (c > ' ') {
				if (sep) {
					dst[o++] = ' ';
					sep = false;
				}
				dst[o++] = (char)c;
			} else if (c == ' ')
				sep = o > 0;
			continue;
		}
		if ((c = t - 0xc0) < 0x20 && p + 1 < end &&
		    (x = norm_tab_cp[c << 8 | p[1]]) != 0) {
			p += 2;
			if (sep) {
				dst[o++] = ' ';
				sep = false;
			}
			u = (uint32_t)x;
			memcpy(dst + o, &u, sizeof(u));
			o += (x >> 32) & 0xff;
			continue;
		}
		/* Copies: o and sep stay in registers in the loops above. */
		k = 0;
		o2 = o;
		sep2 = sep;
		p += norm_step_slow((const char *)p, (const char *)end, dst, &o2,
		    pend, &k, &sep2);
		o = o2;
		sep = sep2;
	}
	return o;
}

struct slice
norm_arena(struct arena *a, struct slice in)
{
	size_t cap = 4 * in.n + 16, n;		/* room for the fast path */
	char *p;

	p = arena_alloc(a, cap + 1);
	n = norm_into(p, cap, in);
	if (n > cap) {
		p = arena_alloc(a, n + 1);
		norm_into(p, n, in);
	}
	p[n] = '\0';
	return (struct slice){ p, n };
}

size_t
norm_buf(struct buf *b, struct slice in)
{
	size_t cap = 4 * in.n + 16, n;

	buf_grow(b, cap + 1);
	n = norm_into(b->p + b->len, b->cap - b->len - 1, in);
	if (n > b->cap - b->len - 1) {
		buf_grow(b, n + 1);
		norm_into(b->p + b->len, n, in);
	}
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}
