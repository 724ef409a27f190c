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

		if (v->n > 0 && has_prefix(p, end, (struct slice){ v->p, v->n }))
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

int
reply_detect_index(struct reply_bank *b)
{
	static const enum reply_slot slots[REPLY_D_COUNT] = {
		RS_DETECT_LATE, RS_DETECT_CANCEL_UNASKED,
		RS_DETECT_EARLY_DELIVERY, RS_DETECT_NO_ANSWER,
		RS_DETECT_EXTRA_ASK, RS_DETECT_UNASKED, RS_DETECT_CANCEL
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

/* Does a unit stem start at q for a duration of v at [num, q)? */
static bool
unit_at(const struct reply_bank *b, const struct late_at *la, const char *num,
    const char *q, const char *end, long v, struct reply_facts *f)
{
	int u;

	for (u = RU_DAY; u <= RU_MONTH; u++) {
		if (stem_at(b, reply_slot(b, unit_slot[u]), q, end) &&
		    dur_ok(u, v) && late_near(la, num, q) &&
		    !before_after(b, q, end)) {
			f->unit = u;
			f->dur = v;
			return true;
		}
	}
	return false;
}

/* A byte that may stand before a word: start, space or ASCII mark. */
static bool
word_break(unsigned char c)
{
	return c < 0x80 && !(c >= '0' && c <= '9') &&
	    !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
}

/*
 * A duration in words ("two weeks", "три дня", "δύο εβδομάδες"): the
 * detect.number lines are "word => N".  A word that itself starts with a
 * unit stem is the unit too: the Arabic dual أسبوعين is "two weeks".
 */
static void
number_words(const struct reply_bank *b, struct slice t,
    const struct late_at *la, struct reply_facts *f)
{
	const struct reply_slotv *s = reply_slot(b, RS_DETECT_NUMBER);
	const char *p, *q, *arrow, *end = t.p + t.n;
	uint32_t i;
	size_t wn;
	long v;

	if (s == NULL)
		return;
	for (p = t.p; p < end && f->unit == RU_NONE; p++) {
		/* A duration counts near a lateness word only. */
		if ((p > t.p && !word_break(p[-1])) ||
		    !late_near(la, p, p))
			continue;
		for (i = 0; i < s->n && f->unit == RU_NONE; i++) {
			const struct reply_var *w = &b->vars[s->first + i];

			if (w->n < 5 || w->p[0] != *p)
				continue;
			arrow = memmem(w->p, w->n, " => ", 4);
			if (arrow == NULL || (wn = arrow - w->p) == 0 ||
			    (size_t)(end - p) < wn || memcmp(p, w->p, wn) != 0)
				continue;
			for (v = 0, q = arrow + 4; q < w->p + w->n &&
			    is_digit(*q); q++)
				v = v * 10 + (*q - '0');
			q = p + wn;
			if (q < end && (*q == ' ' || *q == '-')) {
				while (q < end && (*q == ' ' || *q == '-'))
					q++;
				if (unit_at(b, la, p, q, end, v, f))
					break;
			}
			unit_at(b, la, p, p, end, v, f);
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

void
reply_facts_scan(const struct reply_bank *b, struct slice t,
    struct reply_facts *f)
{
	const char *p = t.p, *end = t.p + t.n, *q, *num, *numend;
	struct late_at la;
	bool hit[REPLY_D_COUNT] = { false };
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

	p = t.p;
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
		if (p + 1 < end && (*p == '.' || *p == ',') && is_digit(p[1]))
			for (p++; p < end && is_digit(*p); p++)
				;
		numend = p;
		q = p;
		while (q < end && (*q == ' ' || *q == '-'))
			q++;
		if (f->unit == RU_NONE && f->late)
			unit_at(b, &la, num, q, end, v, f);
		if (f->money == NULL) {
			for (i = 0; i < b->nmoney; i++) {
				const struct reply_money *m = &b->money[i];
				const char *before = num;

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
	if (f->unit == RU_NONE && f->late)
		number_words(b, t, &la, f);
}
