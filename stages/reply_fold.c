/*
 * reply_fold - fold text for matching stems, and find concrete facts
 * (durations, amounts, freelance situations) in a review.
 *
 * The fold is deliberately small and fast: one pass, a few code point
 * ranges, no tables.  Bank stems are folded with the same function at
 * load, so a bank author writes stems as people write them.
 */
#include <stdlib.h>
#include <string.h>

#include "reply.h"

/*
 * Latin-1 letters without their marks, capitals and small alike (the
 * table is indexed by the low five bits): Turkish ç ö ü and friends
 * match the ASCII spelling people often type.
 */
static const char latin1_base[32] = {
	'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i',
	'i', 'i', 'd', 'n', 'o', 'o', 'o', 'o', 'o', 'x', 'o', 'u', 'u', 'u',
	'u', 'y', 't', 'y'
};

static uint32_t
fold_cp(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c == 0xdf)
		return 's';			/* ß */
	if (c >= 0xc0 && c <= 0xff && c != 0xd7 && c != 0xf7)
		return latin1_base[(c - 0xc0) & 0x1f];
	switch (c) {
	case 0x130: case 0x131: return 'i';	/* Turkish İ ı */
	case 0x15e: case 0x15f: return 's';	/* Ş ş */
	case 0x11e: case 0x11f: return 'g';	/* Ğ ğ */
	}
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;			/* Cyrillic А..Я */
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;			/* Ѐ..Џ, Ё, І */
	switch (c) {
	case 0x4d8: case 0x492: case 0x49a: case 0x4a2: case 0x4e8:
	case 0x4b0: case 0x4ae: case 0x4ba:
		return c + 1;			/* Kazakh capitals */
	case 0x2019: case 0x2018: case 0x2bc:
		return '\'';
	case 0x200c:
		return ' ';		/* ZWNJ: Persian writes it or a space */
	case 0x386: case 0x3ac: return 0x3b1;	/* Greek accents */
	case 0x388: case 0x3ad: return 0x3b5;
	case 0x389: case 0x3ae: return 0x3b7;
	case 0x38a: case 0x3af: case 0x3ca: case 0x390: case 0x3aa:
		return 0x3b9;
	case 0x38c: case 0x3cc: return 0x3bf;
	case 0x38e: case 0x3cd: case 0x3cb: case 0x3b0: case 0x3ab:
		return 0x3c5;
	case 0x38f: case 0x3ce: return 0x3c9;
	case 0x3c2: return 0x3c3;		/* final sigma */
	case 0x622: case 0x623: case 0x625: case 0x671:
		return 0x627;			/* alef forms */
	case 0x6cc: case 0x649: return 0x64a;	/* Persian yeh, alef maqsura */
	case 0x6a9: return 0x643;		/* Persian kaf */
	}
	if (c >= 0x391 && c <= 0x3a9)
		return c + 32;			/* Greek capitals */
	if (c >= 0x660 && c <= 0x669)
		return '0' + (c - 0x660);
	if (c >= 0x6f0 && c <= 0x6f9)
		return '0' + (c - 0x6f0);
	if ((c >= 0x64b && c <= 0x652) || c == 0x640 || c == 0x670)
		return 0;			/* harakat, tatweel: dropped */
	return c;
}

static size_t
put_cp(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = 0xc0 | (c >> 6);
		o[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		o[0] = 0xe0 | (c >> 12);
		o[1] = 0x80 | ((c >> 6) & 0x3f);
		o[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (c >> 18);
	o[1] = 0x80 | ((c >> 12) & 0x3f);
	o[2] = 0x80 | ((c >> 6) & 0x3f);
	o[3] = 0x80 | (c & 0x3f);
	return 4;
}

/*
 * fold_cp() of every 2-byte code point, in UTF-8, made on first use: the
 * fold of one below U+0800 stays below it, and Cyrillic, Greek and
 * Arabic reviews are mostly such characters.
 */
static uint32_t	fold2[0x800];	/* UTF-8 bytes, length << 16 */
static volatile int fold2_ready;

static void
fold2_init(void)
{
	uint32_t c, f;

	for (c = 0; c < 0x800; c++) {
		f = fold_cp(c);
		if (f >= 0x80)
			fold2[c] = 2u << 16 | (0x80 | (f & 0x3f)) << 8 |
			    (0xc0 | f >> 6);
		else if (f != 0)
			fold2[c] = 1u << 16 | f;
		else
			fold2[c] = 0;
	}
	fold2_ready = 1;
}

size_t
reply_fold(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const uint64_t ones = 0x0101010101010101ULL;
	size_t start = out->len;
	uint64_t x;
	uint32_t c;
	char *o;
	int k;

	if (!fold2_ready)
		fold2_init();
	buf_grow(out, n + 4);
	o = out->p + out->len;
	while (p < end) {
		if (*p < 0x80) {
			/* Eight ASCII bytes at once: A-Z get bit 5. */
			if (end - p >= 8) {
				memcpy(&x, p, 8);
				if ((x & 0x80 * ones) == 0) {
					x |= ((x + 0x3f * ones) &
					    ~(x + 0x25 * ones) &
					    0x80 * ones) >> 2;
					memcpy(o, &x, 8);
					o += 8;
					p += 8;
					continue;
				}
			}
			*o++ = *p >= 'A' && *p <= 'Z' ? *p + 32 : *p;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && p + 1 < end) {
			/*
			 * Two bytes in, at most two out: both are stored,
			 * the length says how many count.
			 */
			c = fold2[(*p & 0x1f) << 6 | (p[1] & 0x3f)];
			o[0] = (char)c;
			o[1] = (char)(c >> 8);
			o += c >> 16;
			p += 2;
			continue;
		}
		if ((*p & 0xf0) == 0xe0 && p + 2 < end) {
			c = (*p & 0x0f) << 12 | (p[1] & 0x3f) << 6 |
			    (p[2] & 0x3f);
			k = 3;
		} else if ((*p & 0xf8) == 0xf0 && p + 3 < end) {
			/* Four-byte sequences (emoji) are copied as is. */
			memcpy(o, p, 4);
			o += 4;
			p += 4;
			continue;
		} else {
			*o++ = *p++;
			continue;
		}
		/* Folding never makes a code point longer in UTF-8. */
		if ((c = fold_cp(c)) != 0)
			o += put_cp(o, c);
		p += k;
	}
	out->len = o - out->p;
	out->p[out->len] = '\0';
	return out->len - start;
}

static bool
has_prefix(const char *p, const char *end, struct slice stem)
{
	return (size_t)(end - p) >= stem.n && memcmp(p, stem.p, stem.n) == 0;
}

/* Does a stem of slot `s` start at p? */
static bool
stem_at(const struct reply_bank *b, const struct reply_slotv *s,
    const char *p, const char *end)
{
	uint32_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < s->n; i++) {
		const struct reply_var *v = &b->vars[s->first + i];

		if (v->n > 0 && p < end && v->p[0] == *p &&
		    has_prefix(p, end, (struct slice){ v->p, v->n }))
			return true;
	}
	return false;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Is any of the eight bytes at p an ASCII digit? */
static inline bool
has_digit8(const char *p)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t x, y;

	memcpy(&x, p, 8);
	/* Per byte, no carries: low seven bits >= '0', < ':', bit 7 clear. */
	y = x & 0x7f * ones;
	return ((y + 0x50 * ones) & ~(y + 0x46 * ones) & ~x & 0x80 * ones) != 0;
}

/* The range a believable duration lies in, per unit. */
static bool
dur_ok(enum reply_unit u, long v)
{
	switch (u) {
	case RU_DAY:	return v >= 1 && v <= 365;
	case RU_HOUR:	return v >= 1 && v <= 720;
	case RU_WEEK:	return v >= 1 && v <= 52;
	case RU_MONTH:	return v >= 1 && v <= 24;
	default:	return false;
	}
}

/*
 * A stem's hash: its first four bytes (tier 0) or eight (tier 1) as
 * loaded from memory, spread.  The top bits pick its bucket, the top
 * sixteen its bit in the filter.  In Cyrillic or Greek text nearly every
 * letter starts some stem and many pairs of letters do ("по", "не",
 * "до"), few runs of four letters: stems of eight bytes and more are
 * looked up by eight.
 */
static inline uint32_t
dx_hash(uint32_t head)
{
	return head * 0x9e3779b1u;
}

static inline uint32_t
dx_hash8(uint64_t head)
{
	return (uint32_t)((head * 0x9e3779b97f4a7c15ULL) >> 32);
}

#define DX_BUCKET(h)	((h) >> (32 - 12))
#define DX_BIT(h)	((h) >> (32 - 16))
_Static_assert(REPLY_DX_BUCKETS == 1 << 12, "DX_BUCKET() takes 12 bits");
_Static_assert(REPLY_DX_BITS == 1 << 16, "DX_BIT() takes 16 bits");

static void
dx_fill(struct reply_dstem *d, const struct reply_var *v, int what)
{
	d->p = v->p;
	d->n = v->n;
	d->what = what;
	d->head = 0;
	d->head8 = 0;
	if (v->n >= 4)
		memcpy(&d->head, v->p, 4);
	if (v->n >= 8)
		memcpy(&d->head8, v->p, 8);
}

/* The tier of a stem of n >= 4 bytes, and its hash there. */
static inline int
dx_tier(const char *p, size_t n, uint32_t *h)
{
	uint32_t h4;
	uint64_t h8;

	if (n >= 8) {
		memcpy(&h8, p, 8);
		*h = dx_hash8(h8);
		return 1;
	}
	memcpy(&h4, p, 4);
	*h = dx_hash(h4);
	return 0;
}

/*
 * The number words of detect.number ("word => N") with their values, and
 * a filter of their first two bytes (a one-letter word sets every pair
 * it may start), so that number_words() passes most words at one bit.
 */
static int
numw_index(struct reply_bank *b)
{
	const struct reply_slotv *s = reply_slot(b, RS_DETECT_NUMBER);
	const char *arrow, *q;
	struct reply_numw *w;
	uint32_t i, k, pair;

	b->numw_pair = calloc(65536 / 64, sizeof(*b->numw_pair));
	b->numw = calloc(s == NULL ? 1 : s->n + 1, sizeof(*b->numw));
	if (b->numw_pair == NULL || b->numw == NULL)
		return -1;
	for (i = 0; s != NULL && i < s->n; i++) {
		const struct reply_var *v = &b->vars[s->first + i];

		if (v->n < 5 || (arrow = memmem(v->p, v->n, " => ", 4)) ==
		    NULL || arrow == v->p)
			continue;
		w = &b->numw[b->nnumw++];
		w->p = v->p;
		w->n = arrow - v->p;
		for (w->v = 0, q = arrow + 4; q < v->p + v->n &&
		    *q >= '0' && *q <= '9'; q++)
			w->v = w->v * 10 + (*q - '0');
		pair = (unsigned char)w->p[0] << 8;
		if (w->n >= 2)
			pair |= (unsigned char)w->p[1];
		for (k = 0; k < (w->n >= 2 ? 1u : 256u); k++)
			b->numw_pair[(pair | k) >> 6] |= (uint64_t)1 <<
			    ((pair | k) & 63);
	}
	return 0;
}

int
reply_detect_index(struct reply_bank *b)
{
	static const enum reply_slot slots[REPLY_D_COUNT] = {
		RS_DETECT_LATE, RS_DETECT_CANCEL_UNASKED,
		RS_DETECT_EARLY_DELIVERY, RS_DETECT_NO_ANSWER,
		RS_DETECT_EXTRA_ASK, RS_DETECT_UNASKED, RS_DETECT_CANCEL,
		RS_DETECT_PROMISED, RS_DETECT_EXTRA, RS_DETECT_EXTRA_BEFORE,
		RS_DETECT_UNDELIVERED, RS_DETECT_DELIVERED_LATE
	};
	const struct reply_slotv *s;
	struct reply_dtier *dt;
	uint32_t i, k, h, h4, pair, n = 0, *fill[2];
	int d, t;

	for (d = 0; d < REPLY_D_COUNT; d++)
		if ((s = reply_slot(b, slots[d])) != NULL)
			n += s->n;
	b->dx_short = calloc(n + 1, sizeof(*b->dx_short));
	b->dx_pair = calloc(65536 / 64, sizeof(*b->dx_pair));
	if (b->dx_short == NULL || b->dx_pair == NULL)
		return -1;
	for (t = 0; t < 2; t++) {
		dt = &b->dt[t];
		dt->st = calloc(n + 1, sizeof(*dt->st));
		dt->start = calloc(REPLY_DX_BUCKETS + 1, sizeof(*dt->start));
		dt->bits = calloc(REPLY_DX_BITS / 64, sizeof(*dt->bits));
		fill[t] = calloc(REPLY_DX_BUCKETS, sizeof(*fill[t]));
		if (dt->st == NULL || dt->start == NULL || dt->bits == NULL ||
		    fill[t] == NULL) {
			free(fill[0]);
			free(t == 1 ? fill[1] : NULL);
			return -1;
		}
	}
	/*
	 * Counting sort of the stems by tier and bucket; stems under two
	 * bytes never match, two or three bytes go to the short list.
	 */
	for (d = 0; d < REPLY_D_COUNT; d++) {
		if ((s = reply_slot(b, slots[d])) == NULL)
			continue;
		for (i = 0; i < s->n; i++) {
			const struct reply_var *v = &b->vars[s->first + i];

			if (v->n < 4)
				continue;
			t = dx_tier(v->p, v->n, &h);
			b->dt[t].start[DX_BUCKET(h) + 1]++;
			b->dt[t].n++;
		}
	}
	for (t = 0; t < 2; t++)
		for (k = 0; k < REPLY_DX_BUCKETS; k++)
			b->dt[t].start[k + 1] += b->dt[t].start[k];
	for (d = 0; d < REPLY_D_COUNT; d++) {
		if ((s = reply_slot(b, slots[d])) == NULL)
			continue;
		for (i = 0; i < s->n; i++) {
			const struct reply_var *v = &b->vars[s->first + i];

			if (v->n < 2)
				continue;
			if (v->n < 4) {
				dx_fill(&b->dx_short[b->ndx_short++], v, d);
				pair = (unsigned char)v->p[0] << 8 |
				    (unsigned char)v->p[1];
				b->dx_pair[pair >> 6] |= (uint64_t)1 <<
				    (pair & 63);
				continue;
			}
			t = dx_tier(v->p, v->n, &h);
			dt = &b->dt[t];
			k = DX_BUCKET(h);
			dx_fill(&dt->st[dt->start[k] + fill[t][k]], v, d);
			dt->bits[DX_BIT(h) >> 6] |= (uint64_t)1 <<
			    (DX_BIT(h) & 63);
			fill[t][k]++;
			/* Tier 0's filter stands before tier 1's too. */
			memcpy(&h4, v->p, 4);
			h = dx_hash(h4);
			b->dt[0].bits[DX_BIT(h) >> 6] |= (uint64_t)1 <<
			    (DX_BIT(h) & 63);
		}
	}
	free(fill[0]);
	free(fill[1]);
	if (numw_index(b) == -1)
		return -1;
	/*
	 * Stems are folded bank text: each starts a character, so the scan
	 * may skip continuation bytes, unless a bank says otherwise.
	 */
	b->dx_lead = true;
	for (t = 0; t < 2; t++)
		for (i = 0; i < b->dt[t].n; i++)
			if (((unsigned char)b->dt[t].st[i].p[0] & 0xc0) == 0x80)
				b->dx_lead = false;
	return 0;
}

/* Where lateness words start, for "a delay near the number". */
#define LATE_MAX	32

struct late_at {
	const char	*at[LATE_MAX];
	int		 n;
};

/*
 * Is a lateness word within a few words of the duration at [num, q)?
 * "waited 5 days" is a delay; "the battery lasts 2 days" is not.
 */
static bool
late_near(const struct late_at *la, const char *num, const char *q)
{
	int i;

	for (i = 0; i < la->n; i++)
		if (la->at[i] >= num - 60 && la->at[i] <= q + 60)
			return true;
	return false;
}

static const enum reply_slot unit_slot[] = {
	RS_COUNT, RS_DETECT_DAY, RS_DETECT_HOUR, RS_DETECT_WEEK,
	RS_DETECT_MONTH
};

/*
 * Does the word after the unit word at q say "before" ("two days before
 * the deadline" is no delay)?
 */
static bool
before_after(const struct reply_bank *b, const char *q, const char *end)
{
	while (q < end && *q != ' ' && *q != ',' && *q != '.')
		q++;
	while (q < end && *q == ' ')
		q++;
	return stem_at(b, reply_slot(b, RS_DETECT_BEFORE), q, end);
}

/* A byte that may stand before a word: start, space or ASCII mark. */
static bool
word_break(unsigned char c)
{
	return c < 0x80 && !(c >= '0' && c <= '9') &&
	    !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
}

/*
 * Durations.  Every number with a unit word after it ("10 days", "три
 * дня", "١٠ أيام") is collected, with what the words around it say it
 * is: the delay itself ("9 days late", "опоздал на 9 дней"), what was
 * promised ("promised 3 days", "3 күн деп уәде берді"), or how long it
 * took ("took 10", "сдали через 10", where the unit may be left out).
 * dur_pick() then names the delay; see there.
 */
#define DUR_MAX		8
/* How far before a number its promise word may stand. */
#define DUR_CUE_BACK	64

#define DM_BARE		0x01	/* no unit word: "сдали через 10." */
#define DM_PROMISED	0x02	/* "promised 3 days", "срок был 3 дня" */
#define DM_AFTERCUE	0x04	/* ... said after it: "3 gün dedi" */
#define DM_LATEBY	0x08	/* "9 days late", "опоздал на 9 дней" */
#define DM_TOOK		0x10	/* "took 10", "έκανε 10" */
#define DM_BEFORE	0x20	/* "2 days before the deadline" */
#define DM_WORDS	0x40	/* the number in words */

struct dur_at {
	const char	*num;	/* the number */
	const char	*unit;	/* its unit word (the number's end if bare) */
	const char	*end;	/* after the unit word */
	long		 v;
	unsigned	 units;	/* 1 << RU_* of the unit stems at `unit` */
	unsigned	 flags;	/* DM_* */
};

struct durs {
	struct dur_at	 d[DUR_MAX];
	int		 n;
};

/* The units whose stems start at q, a bit (1 << RU_*) each. */
static unsigned
units_at(const struct reply_bank *b, const char *q, const char *end)
{
	unsigned m = 0;
	int u;

	for (u = RU_DAY; u <= RU_MONTH; u++)
		if (stem_at(b, reply_slot(b, unit_slot[u]), q, end))
			m |= 1u << u;
	return m;
}

static const char *
skip_blank(const char *q, const char *end)
{
	while (q < end && (*q == ' ' || *q == '-'))
		q++;
	return q;
}

/*
 * The length of a mark that ends a clause at p (ASCII ones, Arabic
 * comma, semicolon and question mark), or 0.  A promise said in one
 * clause is not the next clause's.
 */
static int
clause_break(const char *p, const char *end)
{
	unsigned char c = *p;

	if (c == ',' || c == '.' || c == ';' || c == '!' || c == '?' ||
	    c == ':' || c == '\n' || c == '(' || c == ')')
		return 1;
	if (c == 0xd8 && p + 1 < end && ((unsigned char)p[1] == 0x8c ||
	    (unsigned char)p[1] == 0x9b || (unsigned char)p[1] == 0x9f))
		return 2;
	return 0;
}

/* The end of the word at q (a clause mark ends it too). */
static const char *
word_end(const char *q, const char *end)
{
	while (q < end && *q != ' ' && clause_break(q, end) == 0)
		q++;
	return q;
}

/* The start of the k-th word before p, not before lo. */
static const char *
words_back(const char *lo, const char *p, int k)
{
	while (k-- > 0) {
		while (p > lo && p[-1] == ' ')
			p--;
		while (p > lo && p[-1] != ' ')
			p--;
	}
	return p;
}

/* The end of the k-th word from p, not after hi. */
static const char *
words_fwd(const char *p, const char *hi, int k)
{
	while (k-- > 0) {
		while (p < hi && *p == ' ')
			p++;
		while (p < hi && *p != ' ')
			p++;
	}
	return p;
}

/* Does a stem of slot `id` start a word in [lo, hi) (it may run on)? */
static bool
cue_in(const struct reply_bank *b, enum reply_slot id, const char *t0,
    const char *lo, const char *hi, const char *end)
{
	const struct reply_slotv *s = reply_slot(b, id);
	const char *p;

	if (s == NULL)
		return false;
	for (p = lo; p < hi; p++)
		if ((p == t0 || word_break(p[-1])) && stem_at(b, s, p, end))
			return true;
	return false;
}

/* What the words around each duration say it is (DM_*). */
static void
dur_roles(const struct reply_bank *b, struct slice t, struct durs *ds)
{
	const char *end = t.p + t.n, *lo, *hi, *p, *q;
	struct dur_at *d, *prev;
	int i, k;

	for (i = 0; i < ds->n; i++) {
		d = &ds->d[i];
		prev = i > 0 ? &ds->d[i - 1] : NULL;
		/*
		 * Its words start after the duration before it, or after
		 * that one's promise word when it came after it ("3 gün
		 * dedi 10 günde teslim etti": dedi is the 3's), and after
		 * the last clause mark.
		 */
		lo = prev == NULL ? t.p : (prev->flags & DM_AFTERCUE) ?
		    d->num : prev->end;
		if (d->num - lo > DUR_CUE_BACK)
			lo = d->num - DUR_CUE_BACK;
		for (p = lo; p < d->num; p += k > 0 ? k : 1)
			if ((k = clause_break(p, end)) > 0)
				lo = p + k;
		hi = i + 1 < ds->n ? ds->d[i + 1].num : end;
		for (p = d->end; p < hi; p++)
			if (clause_break(p, end) > 0) {
				hi = p;
				break;
			}
		q = skip_blank(d->end, hi);
		if ((q < hi && stem_at(b, reply_slot(b, RS_DETECT_LATEBY), q,
		    end)) || cue_in(b, RS_DETECT_LATEBY, t.p,
		    words_back(lo, d->num, 2), d->num, end))
			d->flags |= DM_LATEBY;
		if (cue_in(b, RS_DETECT_TOOK, t.p, words_back(lo, d->num, 2),
		    d->num, end) || (q < hi &&
		    stem_at(b, reply_slot(b, RS_DETECT_TOOK), q, end)))
			d->flags |= DM_TOOK;
		if (cue_in(b, RS_DETECT_PROMISED, t.p, lo, d->num, end))
			d->flags |= DM_PROMISED;
		else if (cue_in(b, RS_DETECT_PROMISED, t.p, d->end,
		    words_fwd(d->end, hi, 2), end))
			d->flags |= DM_PROMISED | DM_AFTERCUE;
		/* "2 days before the deadline", قبل الموعد بيومين. */
		if (!(d->flags & DM_BARE) && (before_after(b, d->unit, end) ||
		    cue_in(b, RS_DETECT_BEFORE, t.p, words_back(lo, d->num,
		    2), d->num, end)))
			d->flags |= DM_BEFORE;
	}
}

/* The first unit of d that v is believable in, or RU_NONE. */
static enum reply_unit
dur_unit(const struct dur_at *d)
{
	int u;

	for (u = RU_DAY; u <= RU_MONTH; u++)
		if ((d->units >> u & 1) && dur_ok(u, d->v))
			return u;
	return RU_NONE;
}

/* The hours of a unit; 0 for months, which are not counted in days. */
static long
unit_hours(enum reply_unit u)
{
	switch (u) {
	case RU_HOUR:	return 1;
	case RU_DAY:	return 24;
	case RU_WEEK:	return 168;
	default:	return 0;
	}
}

/*
 * Promised `pu` x `pv`, took `au` x `av`: the delay in the smaller unit
 * (in days when it is whole days), into f when it is positive and
 * believable.  Months compare only with months.
 */
static void
dur_diff(enum reply_unit pu, long pv, enum reply_unit au, long av,
    struct reply_facts *f)
{
	enum reply_unit u;
	long ph = unit_hours(pu), ah = unit_hours(au), delay;

	if (pu == RU_MONTH && au == RU_MONTH) {
		u = RU_MONTH;
		delay = av - pv;
	} else if (ph == 0 || ah == 0)
		return;
	else {
		u = ph < ah ? pu : au;
		delay = (av * ah - pv * ph) / unit_hours(u);
		if (u == RU_HOUR && delay % 24 == 0 && ph != ah) {
			u = RU_DAY;
			delay /= 24;
		}
	}
	if (delay > 0 && dur_ok(u, delay)) {
		f->unit = u;
		f->dur = delay;
	}
}

/*
 * The delay, from the durations said:
 * 1. a number said with a lateness word is the delay ("due on day 3,
 *    arrived after 12 days, 9 days late": 9);
 * 2. with a promised duration, the delay is what it took minus what was
 *    promised, when both are said and their units compare; else none:
 *    the promised time is never the delay, and no delay that is not
 *    positive is named;
 * 3. else, as before promises were read, the first duration near a
 *    lateness word (digits before words): "waited 5 days".
 * How long it took, when that is all that is known ("late, it took 17
 * days"; promised weeks, took months), is named as such (dur_took):
 * "it took us 17 days", never "17 days late".
 */
static void
dur_pick(const struct late_at *la, const struct durs *ds, bool late,
    struct reply_facts *f)
{
	const struct dur_at *d, *pr = NULL, *took = NULL;
	enum reply_unit pu, au;
	int i, pass;

	for (i = 0; i < ds->n; i++) {
		d = &ds->d[i];
		if ((d->flags & (DM_LATEBY | DM_BEFORE)) != DM_LATEBY)
			continue;
		pu = dur_unit(d);
		/* "3 days were agreed, delayed another 4": days. */
		if ((d->flags & DM_BARE) && i > 0 &&
		    !(ds->d[i - 1].flags & DM_BARE)) {
			pu = dur_unit(&ds->d[i - 1]);
			if (!dur_ok(pu, d->v))
				pu = RU_NONE;
		}
		if (pu != RU_NONE) {
			f->unit = pu;
			f->dur = d->v;
			return;
		}
	}
	for (i = 0; i < ds->n && pr == NULL; i++)
		if (ds->d[i].flags & DM_PROMISED)
			pr = &ds->d[i];
	if (pr != NULL) {
		for (i = 0; i < ds->n && took == NULL; i++) {
			d = &ds->d[i];
			if (d != pr &&
			    !(d->flags & (DM_PROMISED | DM_BEFORE)) &&
			    (!(d->flags & DM_BARE) || ((d->flags & DM_TOOK) &&
			    d > pr)))
				took = d;
		}
		if (took == NULL)
			return;
		pu = pr->flags & DM_BARE ? RU_NONE : dur_unit(pr);
		au = took->flags & DM_BARE ? RU_NONE : dur_unit(took);
		if (pu == RU_NONE && (pr->flags & DM_BARE))
			pu = au;
		if (au == RU_NONE && (took->flags & DM_BARE))
			au = pu;
		if (pu == RU_NONE || au == RU_NONE)
			return;
		if ((unit_hours(pu) == 0) != (unit_hours(au) == 0)) {
			/* Weeks against months: say how long it took. */
			f->unit = au;
			f->dur = took->v;
			f->dur_took = true;
		} else
			dur_diff(pu, pr->v, au, took->v, f);
		return;
	}
	if (!late)
		return;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < ds->n; i++) {
			d = &ds->d[i];
			if ((d->flags & (DM_BARE | DM_BEFORE)) != 0 ||
			    (pass == 0) != !(d->flags & DM_WORDS))
				continue;
			if ((pu = dur_unit(d)) != RU_NONE &&
			    late_near(la, d->num, (d->flags & DM_WORDS) ?
			    d->num : d->unit)) {
				f->unit = pu;
				f->dur = d->v;
				f->dur_took = (d->flags & DM_TOOK) != 0;
				return;
			}
		}
}

/* Keep d in ds in text order (numbers in words come after the digits). */
static void
dur_add(struct durs *ds, const struct dur_at *d)
{
	int i;

	if (ds->n == DUR_MAX)
		return;
	for (i = ds->n; i > 0 && ds->d[i - 1].num > d->num; i--)
		ds->d[i] = ds->d[i - 1];
	ds->d[i] = *d;
	ds->n++;
}

/*
 * Is [p - 2, p) an Arabic one-letter word written onto the next (ب و ل ف
 * ك: بثلاثة أيام "with three days") at a word start?
 */
static bool
ar_proclitic(const char *t0, const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	if (p - t0 < 2 || (p - t0 > 2 && !word_break(p[-3])))
		return false;
	return (u[-2] == 0xd8 && u[-1] == 0xa8) || (u[-2] == 0xd9 &&
	    (u[-1] == 0x88 || u[-1] == 0x84 || u[-1] == 0x81 ||
	    u[-1] == 0x83));
}

/*
 * Durations in words ("two weeks", "три дня", "δύο εβδομάδες"): the
 * detect.number lines are "word => N".  A word that itself starts with a
 * unit stem is the unit too: the Arabic dual أسبوعين is "two weeks".
 */
static void
number_words(const struct reply_bank *b, struct slice t, struct durs *ds)
{
	const char *p, *q, *num, *end = t.p + t.n;
	struct dur_at d;
	uint32_t i, pair;

	for (p = t.p; p + 1 < end && ds->n < DUR_MAX; p++) {
		/* The number starts its word or follows a proclitic. */
		if (p == t.p || word_break(p[-1]))
			num = p;
		else if (ar_proclitic(t.p, p))
			num = p - 2;
		else
			continue;
		/* Not the unit of "3 weeks" again as "a week". */
		for (i = 0; i < (uint32_t)ds->n; i++)
			if (p >= ds->d[i].num && p < ds->d[i].end)
				break;
		if (i < (uint32_t)ds->n)
			continue;
		pair = (unsigned char)p[0] << 8 | (unsigned char)p[1];
		if ((b->numw_pair[pair >> 6] >> (pair & 63) & 1) == 0)
			continue;
		for (i = 0; i < b->nnumw; i++) {
			const struct reply_numw *w = &b->numw[i];

			if (w->p[0] != *p || (size_t)(end - p) < w->n ||
			    memcmp(p, w->p, w->n) != 0)
				continue;
			d.num = num;
			d.v = w->v;
			d.flags = DM_WORDS;
			d.units = 0;
			q = p + w->n;
			if (q < end && (*q == ' ' || *q == '-')) {
				d.unit = skip_blank(q, end);
				d.units = units_at(b, d.unit, end);
			}
			if (d.units == 0) {
				d.unit = p;
				d.units = units_at(b, p, end);
			}
			if (d.units == 0 || dur_unit(&d) == RU_NONE)
				continue;
			d.end = word_end(d.unit, end);
			dur_add(ds, &d);
			p = d.end - 1;
			break;
		}
	}
}

/* A late stem at p: one more place for late_near() to look. */
static inline void
dx_hit(const struct reply_dstem *d, const char *p, bool *hit,
    struct late_at *la)
{
	hit[d->what] = true;
	if (d->what == REPLY_D_LATE && la->n < LATE_MAX)
		la->at[la->n++] = p;
}

/* The stems of 4 to 7 bytes with the head hash h at p (4+ bytes left). */
static inline void
dx_scan4(const struct reply_bank *b, uint32_t h, uint32_t head,
    const char *p, const char *end, bool *hit, struct late_at *la)
{
	const struct reply_dtier *dt = &b->dt[0];
	uint32_t j, k = DX_BUCKET(h);

	for (j = dt->start[k]; j < dt->start[k + 1]; j++) {
		const struct reply_dstem *d = &dt->st[j];

		if (d->head == head && (size_t)(end - p) >= d->n &&
		    memcmp(p + 4, d->p + 4, d->n - 4) == 0)
			dx_hit(d, p, hit, la);
	}
}

/* The stems of 8 bytes and more with the head hash h at p (8+ left). */
static inline void
dx_scan8(const struct reply_bank *b, uint32_t h, uint64_t head,
    const char *p, const char *end, bool *hit, struct late_at *la)
{
	const struct reply_dtier *dt = &b->dt[1];
	uint32_t j, k = DX_BUCKET(h);

	for (j = dt->start[k]; j < dt->start[k + 1]; j++) {
		const struct reply_dstem *d = &dt->st[j];

		if (d->head8 == head && (size_t)(end - p) >= d->n &&
		    memcmp(p + 8, d->p + 8, d->n - 8) == 0)
			dx_hit(d, p, hit, la);
	}
}

/* The short stems (2 or 3 bytes) that start at p (2+ bytes left). */
static void
dx_scan_short(const struct reply_bank *b, const char *p, const char *end,
    bool *hit, struct late_at *la)
{
	uint32_t j;

	for (j = 0; j < b->ndx_short; j++) {
		const struct reply_dstem *d = &b->dx_short[j];

		if ((size_t)(end - p) >= d->n && p[0] == d->p[0] &&
		    p[1] == d->p[1] && (d->n == 2 || p[2] == d->p[2]))
			dx_hit(d, p, hit, la);
	}
}

/*
 * Amounts in a text that speaks of paying more: "We agreed on $100, then
 * she wanted $60 more" is about the $60.  Each number is kept with its
 * currency (if any) and the text it spans, and amount_pick() chooses.
 */
#define AMT_MAX		8

struct amount_at {
	const char	*num, *numend;	/* the digits */
	const char	*lo, *hi;	/* with its currency word or sign */
	const struct reply_money *m;	/* its currency, or NULL */
	bool		 dur;		/* a unit word after it: "2 days" */
};

static void
amount_add(const struct reply_bank *b, struct slice t, const char *num,
    const char *numend, const char *q, struct amount_at *a)
{
	const char *end = t.p + t.n, *before = num;
	size_t i;

	a->num = num;
	a->numend = numend;
	a->lo = num;
	a->hi = numend;
	a->m = NULL;
	a->dur = units_at(b, q, end) != 0;
	if (before > t.p && before[-1] == ' ')
		before--;
	for (i = 0; i < b->nmoney; i++) {
		const struct reply_money *m = &b->money[i];

		if (has_prefix(q, end, m->pat)) {
			a->m = m;
			a->hi = word_end(q + m->pat.n, end);
			return;
		}
		if (before - t.p >= (long)m->pat.n && memcmp(before -
		    m->pat.n, m->pat.p, m->pat.n) == 0) {
			a->m = m;
			a->lo = before - m->pat.n;
			return;
		}
	}
}

/* The start of the k-th word before p, not before the clause's start. */
static const char *
clause_back(const char *t0, const char *p, int k)
{
	const char *lo = words_back(t0, p, k), *q;
	int n;

	for (q = lo; q < p; q += n > 0 ? n : 1)
		if ((n = clause_break(q, p)) > 0)
			lo = q + n;
	return lo;
}

/* The end of the k-th word after p, not after the clause's end. */
static const char *
clause_fwd(const char *p, const char *end, int k)
{
	const char *hi = words_fwd(p, end, k), *q;

	for (q = p; q < hi; q++)
		if (clause_break(q, end) > 0)
			return q;
	return hi;
}

/*
 * Does a detect.extra.before stem end in the word before p: one word
 * ("ещё 2000", "another $50") or two ("ζήτησε άλλα 20", where άλλα alone
 * is "but")?
 */
static bool
extra_before(const struct reply_bank *b, struct slice t, const char *p)
{
	const struct reply_slotv *s = reply_slot(b, RS_DETECT_EXTRA_BEFORE);
	const char *end = t.p + t.n, *w1 = clause_back(t.p, p, 1), *w2;
	uint32_t i;

	if (s == NULL || w1 == p)
		return false;
	w2 = clause_back(t.p, p, 2);
	for (i = 0; i < s->n; i++) {
		const struct reply_var *v = &b->vars[s->first + i];
		struct slice st = { v->p, v->n };

		if (has_prefix(w1, end, st) ||
		    (w2 < w1 && (size_t)(w1 - w2) < v->n &&
		    has_prefix(w2, end, st)))
			return true;
	}
	return false;
}

/*
 * Is amount a the one asked for on top: an extra word right after it
 * ("$60 more", "30 دولار زيادة", "50 lira daha") but not a duration's
 * ("3 more days"), or the word before it ("another $50", "доплатить ещё
 * 2000", "тағы 5000")?
 */
static bool
amount_extra(const struct reply_bank *b, struct slice t,
    const struct amount_at *a)
{
	const char *end = t.p + t.n, *q = skip_blank(a->hi, end), *u;

	if (a->dur)
		return false;
	if (q < end && q > a->hi && stem_at(b, reply_slot(b, RS_DETECT_EXTRA),
	    q, end)) {
		u = skip_blank(word_end(q, end), end);
		if (u == end || units_at(b, u, end) == 0)
			return true;
	}
	return extra_before(b, t, a->lo);
}

/*
 * An extra word right after a currency word that no digits came with
 * ("fifty dollars more"): some amount was asked for on top, not ours.
 */
static bool
extra_after_money(const struct reply_bank *b, struct slice t)
{
	const struct reply_slotv *s = reply_slot(b, RS_DETECT_EXTRA);
	const char *end = t.p + t.n, *p, *q, *w;
	size_t i;

	for (p = t.p + 1; p < end; p++) {
		if (!word_break(p[-1]) || !stem_at(b, s, p, end))
			continue;
		w = words_back(t.p, p, 1);
		for (q = w; q < p; q++)
			if (is_digit(*q) || clause_break(q, end) > 0)
				break;
		if (q < p)
			continue;	/* "$50, more than": counted */
		for (i = 0; i < b->nmoney; i++)
			if (has_prefix(w, end, b->money[i].pat))
				return true;
	}
	return false;
}

/*
 * Does an extra_ask stem end right before p, with only blanks, commas or a
 * colon between ("wanted extra money: $40")?  "more money than the $100
 * we agreed" has words between.
 */
static bool
after_extra_ask(const struct reply_bank *b, struct slice t, const char *p)
{
	const struct reply_slotv *s = reply_slot(b, RS_DETECT_EXTRA_ASK);
	const char *end = t.p + t.n, *e = p, *w;
	uint32_t i;
	int k;

	while (e > t.p && (e[-1] == ' ' || e[-1] == ',' || e[-1] == ':'))
		e--;
	if (s == NULL || e == p || e == t.p)
		return false;
	for (k = 1; k <= 3; k++) {
		w = words_back(t.p, e, k);
		for (i = 0; i < s->n; i++) {
			const struct reply_var *v = &b->vars[s->first + i];

			if (has_prefix(w, end, (struct slice){ v->p, v->n }) &&
			    word_end(w + v->n, end) >= e)
				return true;
		}
		if (w == t.p)
			break;
	}
	return false;
}

/*
 * The amount to name in a text about paying more: the one asked for on
 * top (with the currency of another amount when it has none: "paid 200
 * dollars, he asked for 50 extra"), never the agreed price; no amount
 * when that is unclear (an extra amount nobody asked for, the
 * extra_ask situation without one beside its words, "fifty dollars
 * more" in words).  A
 * text with an extra word but none of these keeps the first amount.
 */
static void
amount_pick(const struct reply_bank *b, struct slice t,
    const struct amount_at *am, int na, struct reply_facts *f)
{
	const struct reply_money *cur = NULL;
	const char *end = t.p + t.n;
	int i, first = -1, tied = -1;

	for (i = 0; i < na; i++) {
		if (am[i].dur)
			continue;
		if (am[i].m != NULL && cur == NULL)
			cur = am[i].m;
		if (am[i].m != NULL && !am[i].m->extra_only && first < 0)
			first = i;
		if (tied < 0 && amount_extra(b, t, &am[i]))
			tied = i;
	}
	if (tied >= 0) {
		const struct amount_at *a = &am[tied];

		/* "he asked for 50 extra", "50 lira daha istedi". */
		if ((a->m != NULL || cur != NULL) && (cue_in(b, RS_DETECT_ASK,
		    t.p, clause_back(t.p, a->lo, 4), a->lo, end) ||
		    cue_in(b, RS_DETECT_ASK, t.p, a->hi, clause_fwd(a->hi, end,
		    3), end)))
			f->extra_ask = true;
		/*
		 * Named only when it was asked for: "with 7 euros more for
		 * express shipping" is no disputed sum, nor then the price.
		 */
		if (f->extra_ask) {
			f->money = a->m != NULL ? a->m : cur;
			f->money_num.p = a->num;
			f->money_num.n = a->numend - a->num;
		}
		return;
	}
	if (f->extra_ask) {
		/* "ζήτησε επιπλέον χρήματα, 40 €, περισσότερα": said right
		 * after the asking words, it is the amount asked for. */
		for (i = 0; i < na; i++)
			if (am[i].m != NULL && !am[i].dur &&
			    after_extra_ask(b, t, am[i].lo)) {
				f->money = am[i].m;
				f->money_num.p = am[i].num;
				f->money_num.n = am[i].numend - am[i].num;
				return;
			}
		return;
	}
	if (first < 0 || extra_after_money(b, t))
		return;
	f->money = am[first].m;
	f->money_num.p = am[first].num;
	f->money_num.n = am[first].numend - am[first].num;
}

void
reply_facts_scan(const struct reply_bank *b, struct slice t,
    struct reply_facts *f)
{
	const char *p = t.p, *end = t.p + t.n, *q, *num, *numend;
	struct late_at la;
	struct durs ds;
	struct dur_at d;
	bool dur_scan;
	bool hit[REPLY_D_COUNT] = { false };
	struct amount_at am[AMT_MAX];
	bool extra;
	int na;
	uint32_t k, h, head;
	uint64_t head8;
	size_t i;
	long v;

	memset(f, 0, sizeof(*f));
	la.n = 0;
	/*
	 * One pass for every detect stem.  Hits at one place may come in
	 * any order: late_near() only asks whether some place is near.
	 */
	if (b->ndx_short > 0)
		for (p = t.p; p + 1 < end; p++) {
			k = (unsigned char)p[0] << 8 | (unsigned char)p[1];
			if (b->dx_pair[k >> 6] >> (k & 63) & 1)
				dx_scan_short(b, p, end, hit, &la);
		}
	/*
	 * Most places start no stem: one bit says so (tier 0's filter has a
	 * bit for the first four bytes of every stem).  Stems of 8 bytes and
	 * more are then looked up by eight.
	 */
#define DX_AT(p) do { \
	memcpy(&head, (p), 4); \
	h = dx_hash(head); \
	if ((b->dt[0].bits[DX_BIT(h) >> 6] >> (DX_BIT(h) & 63) & 1) != 0) { \
		dx_scan4(b, h, head, (p), end, hit, &la); \
		if (end - (p) >= 8) { \
			memcpy(&head8, (p), 8); \
			h = dx_hash8(head8); \
			if ((b->dt[1].bits[DX_BIT(h) >> 6] >> \
			    (DX_BIT(h) & 63) & 1) != 0) \
				dx_scan8(b, h, head8, (p), end, hit, &la); \
		} \
	} \
} while (0)
	if (t.n >= 4 && b->dx_lead) {
		/* No stem starts inside a UTF-8 sequence (see the index). */
		for (p = t.p; p <= end - 4; p++)
			if ((*p & 0xc0) != 0x80)
				DX_AT(p);
	} else if (t.n >= 4)
		for (p = t.p; p <= end - 4; p++)
			DX_AT(p);
#undef DX_AT
	f->late = hit[REPLY_D_LATE];
	f->cancel_unasked = hit[REPLY_D_CANCEL_UNASKED] ||
	    (hit[REPLY_D_UNASKED] && hit[REPLY_D_CANCEL]);
	/* "Closed the order before I approved" is no early delivery when
	 * the order was cancelled. */
	f->early_delivery = hit[REPLY_D_EARLY_DELIVERY] &&
	    !hit[REPLY_D_CANCEL] && !f->cancel_unasked;
	f->no_answer = hit[REPLY_D_NO_ANSWER];
	f->extra_ask = hit[REPLY_D_EXTRA_ASK];
	f->undelivered = hit[REPLY_D_UNDELIVERED];
	f->delivered_late = hit[REPLY_D_DELIVERED_LATE] && !f->undelivered;
	/* Amounts in a text about paying more are read with their words. */
	extra = f->extra_ask || hit[REPLY_D_EXTRA] || hit[REPLY_D_EXTRA_BEFORE];
	na = 0;

	/* Durations count with a lateness word or a promise only. */
	dur_scan = f->late || hit[REPLY_D_PROMISED];
	p = t.p;
	ds.n = 0;
	while (p < end) {
		if (end - p >= 8 && !has_digit8(p)) {
			p += 8;
			continue;
		}
		if (!is_digit(*p) || (p > t.p && is_digit(p[-1]))) {
			p++;
			continue;
		}
		num = p;
		v = 0;
		while (p < end && is_digit(*p)) {
			if (v < 100000000)
				v = v * 10 + (*p - '0');
			p++;
		}
		d.flags = 0;
		if (p + 1 < end && (*p == '.' || *p == ',') && is_digit(p[1])) {
			for (p++; p < end && is_digit(*p); p++)
				;
			d.flags = DM_BEFORE;	/* "2.5": no count of days */
		}
		numend = p;
		q = p;
		while (q < end && (*q == ' ' || *q == '-'))
			q++;
		if (dur_scan && ds.n < DUR_MAX) {
			d.num = num;
			d.v = v;
			d.unit = q;
			if ((d.units = units_at(b, q, end)) != 0) {
				d.end = word_end(q, end);
				dur_add(&ds, &d);
			} else if (q == end || clause_break(q, end) > 0) {
				/* "took 10." counts with a promise only. */
				d.flags |= DM_BARE;
				d.unit = d.end = numend;
				dur_add(&ds, &d);
			}
		}
		if (extra) {
			if (na < AMT_MAX)
				amount_add(b, t, num, numend, q, &am[na++]);
		} else if (f->money == NULL) {
			for (i = 0; i < b->nmoney; i++) {
				const struct reply_money *m = &b->money[i];
				const char *before = num;

				if (m->extra_only)
					continue;
				if (before > t.p && before[-1] == ' ')
					before--;
				if (has_prefix(q, end, m->pat) ||
				    (before - t.p >= (long)m->pat.n &&
				    memcmp(before - m->pat.n, m->pat.p,
				    m->pat.n) == 0)) {
					f->money = m;
					f->money_num.p = num;
					f->money_num.n = numend - num;
					break;
				}
			}
		}
	}
	if (extra)
		amount_pick(b, t, am, na, f);
	if (!dur_scan)
		return;
	number_words(b, t, &ds);
	if (ds.n == 0)
		return;
	dur_roles(b, t, &ds);
	dur_pick(&la, &ds, f->late, f);
}

bool
reply_unit_word(const struct reply_bank *b, struct buf *tmp, const char *p,
    const char *end)
{
	/* Enough for the longest unit stem folded. */
	size_t n = end - p < 32 ? (size_t)(end - p) : 32;

	buf_reset(tmp);
	reply_fold(tmp, p, n);
	return units_at(b, tmp->p, tmp->p + tmp->len) != 0;
}
