/*
 * lang - language identification: script detection, then naive Bayes over
 * hashed character n-grams and words.  See lang.h.
 *
 * Profile file layout (little-endian, written by stages/langid_train.c):
 *
 *	char	 magic[8]		LANG_MAGIC
 *	u32	 nprof, nkeys, npost, qscale, nwords, 0
 *	nprof x { char lang[4]; char script[4]; f32 floor[LANG_ORDERS];
 *		  f32 prior; }
 *	nkeys x u32 key			ascending, never 0
 *	nkeys x u8 count		postings of each key, in key order
 *	npost x u16 posting		profile << 10 | q
 *	nwords x u64 word hash		ascending, never 0
 *	nwords x u8 script
 *	nwords x u16 row[LANG_ROW(lanes of the word's script)]
 *
 * The file holds no empty slots: the lookup table (open addressing, at
 * most half full, the key's high bits as the first slot: keys are hashes
 * already) is built when the model is loaded, which keeps the file small;
 * the keys come sorted, so the table fills from one end to the other.
 *
 * A word row is the sum of the postings of all the features of one
 * frequent word, for each profile writing its script ("lanes", in
 * profile order): a word found in that table costs one lookup instead of
 * one per n-gram, with the same sums to the last bit.
 *
 * A posting's q is (log P(feature | profile) - floor) * qscale, where floor
 * is the profile's log probability of an unseen feature of that order, so
 * a text's score for profile p is
 *	sum over orders o of nfeat[o] * floor[p][o]  +  sum of q / qscale
 *	+ prior[p]
 * and only features the profile has seen cost anything at run time.
 * The prior (log odds, 0 for most) favours the languages our reviews are
 * written in when the text hardly tells: one or two words.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <utf8proc.h>

#include "lang.h"
#include "mix.h"
#include "banned.h"

#define LANG_QBITS	10
#define LANG_QMASK	((1u << LANG_QBITS) - 1)
/* Margin (nats) at which the confidence is 1 - 0.5/e. */
#define LANG_CONF_SCALE	12.0
/*
 * Scoring stops once this many letters were scored and the leader is
 * ahead of the runner-up by LANG_EARLY_MARGIN nats: long reviews are
 * decided by their first sentence or two.
 */
#ifndef LANG_EARLY_LETTERS
#define LANG_EARLY_LETTERS	24
#endif
#ifndef LANG_EARLY_MARGIN
#define LANG_EARLY_MARGIN	40.0
#endif

/* A frequent word's slot in the word table. */
struct lang_wslot {
	uint64_t	hash;	/* 0 = empty */
	uint32_t	row;	/* offset of its row in rows[] */
	uint32_t	script;
};

/*
 * A key's kpost is its first posting << 7 | its count (1..LANG_MAX), or,
 * for an n-gram that many profiles of one script have, LANG_DENSE: a row
 * like a word's, rows offset / 4 << 12 | script << 7 | 0, built at load.
 * Adding a row eight lanes at a time is cheaper than a few postings.
 */
#define LANG_DENSE(off, s)	((uint32_t)(off) / 4 << 12 | (uint32_t)(s) << 7)
#define LANG_DENSE_MAX		(1u << 20)	/* rows offset / 4 */
/*
 * The n-gram rows of a word are summed in 16 bits, eight lanes at once:
 * a row's values are postings (at most LANG_QMASK), so this many fit.
 */
#define LANG_DENSE_FLUSH	64
/* The lane that postings of profiles of other scripts go to, unread. */
#define LANG_TRASH		LANG_MAX
_Static_assert(LANG_ORDERS == 6, "lang_detect() adds six unseen sums");

/* Lanes of a row at once (GCC and Clang vector extensions). */
typedef int32_t lang_v4si __attribute__((vector_size(16)));
typedef uint16_t lang_v4hu __attribute__((vector_size(8)));
typedef uint16_t lang_v8hu __attribute__((vector_size(16)));

struct lang_prof {
	char		lang[4];	/* NUL-terminated */
	enum lang_script script;
	float		floor[LANG_ORDERS];
	float		prior;
	int32_t		prior_q;	/* prior * qscale */
};

struct lang_model {
	int		 nprof;
	struct lang_prof prof[LANG_MAX];
	uint64_t	 by_script[LS_COUNT];	/* profiles writing each script */
	uint8_t		 nlanes[LS_COUNT];	/* popcount of by_script */
	uint8_t		 lane_prof[LS_COUNT][LANG_MAX];	/* lane -> profile */
	uint8_t		 lane_of[LANG_MAX];	/* profile -> lane */
	/* Profile -> lane when it writes the script, else LANG_TRASH. */
	uint8_t		 lane_in[LS_COUNT][LANG_MAX];
	uint32_t	*keys;		/* nslots, 0 = empty */
	uint32_t	*kpost;		/* nslots: see LANG_DENSE */
	uint32_t	 mask;
	unsigned	 shift;		/* 32 - log2(slots) */
	const uint16_t	*post;		/* in the file, or post_own */
	uint16_t	*post_own;
	uint16_t	*grows;		/* rows of the n-grams kept dense */
	struct lang_wslot *words;	/* wmask + 1 slots, or NULL */
	uint32_t	 wmask;
	unsigned	 wshift;	/* 64 - log2(word slots) */
	uint32_t	 nwords;
	const unsigned char *rows;	/* u16s in the file, maybe unaligned */
	size_t		 keys_len, words_len;	/* table bytes */
	double		 qscale;
	bool		 common_floor;	/* all profiles share their floors */
	/* A scorer's lanes at the start, by script: the priors. */
	int32_t		 prior_lacc[LS_COUNT][LANG_MAX + 8];
	int32_t		 stop_margin;	/* of a scorer, in q units */
};

static const char *const lang_script_names[LS_COUNT] = {
	"Zyyy", "Latn", "Cyrl", "Arab", "Grek", "Hebr", "Armn", "Geor",
	"Deva", "Beng", "Guru", "Gujr", "Taml", "Telu", "Knda",
	"Mlym", "Sinh", "Thai", "Laoo", "Tibt", "Mymr", "Ethi",
	"Khmr", "Mong", "Hang", "Hira", "Kana", "Hani",
};

/* Letter ranges by script, ascending; non-letters are filtered first. */
static const struct {
	uint32_t	lo, hi;
	uint8_t		script;
} lang_ranges[] = {
	{ 0x0041, 0x024f, LS_LATN }, { 0x0250, 0x02af, LS_LATN },
	{ 0x0370, 0x03ff, LS_GREK }, { 0x0400, 0x052f, LS_CYRL },
	{ 0x0530, 0x058f, LS_ARMN }, { 0x0590, 0x05ff, LS_HEBR },
	{ 0x0600, 0x06ff, LS_ARAB }, { 0x0750, 0x077f, LS_ARAB },
	{ 0x08a0, 0x08ff, LS_ARAB }, { 0x0900, 0x097f, LS_DEVA },
	{ 0x0980, 0x09ff, LS_BENG }, { 0x0a00, 0x0a7f, LS_GURU },
	{ 0x0a80, 0x0aff, LS_GUJR }, { 0x0b80, 0x0bff, LS_TAML },
	{ 0x0c00, 0x0c7f, LS_TELU }, { 0x0c80, 0x0cff, LS_KNDA },
	{ 0x0d00, 0x0d7f, LS_MLYM }, { 0x0d80, 0x0dff, LS_SINH },
	{ 0x0e00, 0x0e7f, LS_THAI }, { 0x0e80, 0x0eff, LS_LAOO },
	{ 0x0f00, 0x0fff, LS_TIBT }, { 0x1000, 0x109f, LS_MYMR },
	{ 0x10a0, 0x10ff, LS_GEOR }, { 0x1100, 0x11ff, LS_HANG },
	{ 0x1200, 0x139f, LS_ETHI }, { 0x1780, 0x17ff, LS_KHMR },
	{ 0x1800, 0x18af, LS_MONG }, { 0x1c80, 0x1c8f, LS_CYRL },
	{ 0x1c90, 0x1cbf, LS_GEOR }, { 0x1e00, 0x1eff, LS_LATN },
	{ 0x1f00, 0x1fff, LS_GREK }, { 0x2c60, 0x2c7f, LS_LATN },
	{ 0x2d00, 0x2d2f, LS_GEOR }, { 0x2de0, 0x2dff, LS_CYRL },
	{ 0x3040, 0x309f, LS_HIRA }, { 0x30a0, 0x30ff, LS_KANA },
	{ 0x3130, 0x318f, LS_HANG }, { 0x31f0, 0x31ff, LS_KANA },
	{ 0x3400, 0x4dbf, LS_HANI }, { 0x4e00, 0x9fff, LS_HANI },
	{ 0xa640, 0xa69f, LS_CYRL }, { 0xa720, 0xa7ff, LS_LATN },
	{ 0xac00, 0xd7af, LS_HANG }, { 0xf900, 0xfaff, LS_HANI },
	{ 0xfb50, 0xfdff, LS_ARAB }, { 0xfe70, 0xfeff, LS_ARAB },
	{ 0xff21, 0xff5a, LS_LATN }, { 0xff66, 0xff9f, LS_KANA },
	{ 0xffa0, 0xffdc, LS_HANG }, { 0x20000, 0x3134f, LS_HANI },
};

const char *
lang_script_name(enum lang_script s)
{
	if ((unsigned)s >= LS_COUNT)
		s = LS_NONE;
	return lang_script_names[s];
}

enum lang_script
lang_script_from_name(const char *name, size_t n)
{
	int s;

	for (s = 1; s < LS_COUNT; s++)
		if (n == 4 && memcmp(name, lang_script_names[s], 4) == 0)
			return s;
	return LS_NONE;
}

static enum lang_script
script_of_letter(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(lang_ranges) / sizeof(lang_ranges[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp < lang_ranges[mid].lo)
			hi = mid;
		else if (cp > lang_ranges[mid].hi)
			lo = mid + 1;
		else
			return lang_ranges[mid].script;
	}
	return LS_NONE;
}

/* Character classes for the scanner. */
enum {
	CH_SEP,		/* ends a word */
	CH_LETTER,	/* a letter of *script, lowercased into *cp */
	CH_JOIN,	/* inside a word only: apostrophe, ZWNJ, marks */
	CH_SKIP,	/* dropped: Arabic harakat and tatweel */
	CH_EMOJI	/* a separator counted as emoji */
};

static int
classify_slow(uint32_t *cp, enum lang_script *script)
{
	uint32_t c = *cp;
	int cat;

	if (c < 0x80) {
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
			*cp = c | 0x20;
			*script = LS_LATN;
			return CH_LETTER;
		}
		return c == '\'' ? CH_JOIN : CH_SEP;
	}
	/* Cyrillic is the hot path after ASCII: no table walk. */
	if (c >= 0x0400 && c <= 0x04ff && (c < 0x0482 || c > 0x0489)) {
		if (c >= 0x0410 && c <= 0x042f)
			c += 0x20;
		else if (c < 0x0410)
			c += 0x50;
		else if (c >= 0x0460 && c != 0x04c0 && c <= 0x04ff) {
			if (c >= 0x04c1 && c <= 0x04ce)
				c += c & 1;
			else
				c |= 1;
		} else if (c == 0x04c0)
			c = 0x04cf;
		*cp = c;
		*script = LS_CYRL;
		return CH_LETTER;
	}
	if (c == 0x2019 || c == 0x02bc) {
		*cp = '\'';
		return CH_JOIN;
	}
	if (c == 0x200c)
		return CH_JOIN;
	if (c == 0x0640 || (c >= 0x064b && c <= 0x065f) || c == 0x0670)
		return CH_SKIP;
	cat = utf8proc_category((utf8proc_int32_t)c);
	if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) {
		*script = script_of_letter(c);
		*cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
		return CH_LETTER;
	}
	if (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME)
		return CH_JOIN;
	if (cat == UTF8PROC_CATEGORY_SO && (c >= 0x2600 ||
	    (c >= 0x2190 && c <= 0x21ff)))
		return CH_EMOJI;
	return CH_SEP;
}

/*
 * classify_slow() for every code point below LANG_TAB_END, packed as
 * lower << 8 | script << 3 | class, built on first use: the common scripts
 * then cost one load per character instead of utf8proc's lookups.
 */
#define LANG_TAB_END	0x3000
static uint32_t lang_tab[LANG_TAB_END];
/*
 * What the first two bytes of a character say for counting letters:
 * indexed by byte0 << 8 | byte1, the bytes to advance (1 for ASCII, 2
 * for a valid two-byte character) << 5 | the letter's script, or
 * LS_COUNT for a character that is not a letter (no emoji is below
 * U+0800).  0: anything else, decoded the slow way.
 */
#define LANG_PAIR(n, s)	((uint8_t)((n) << 5 | (s)))
static uint8_t lang_pair[1 << 16];
static volatile int lang_tab_ready;

static void
lang_tab_init(void)
{
	uint32_t c, cp;
	enum lang_script s;
	int k;

	for (c = 0; c < LANG_TAB_END; c++) {
		cp = c;
		s = LS_NONE;
		k = classify_slow(&cp, &s);
		lang_tab[c] = cp << 8 | (uint32_t)s << 3 | (uint32_t)k;
	}
	for (c = 0; c < 1 << 16; c++) {
		if (c >> 8 < 0x80)
			cp = c >> 8;
		else if (c >> 8 >= 0xc2 && c >> 8 <= 0xdf &&
		    (c & 0xc0) == 0x80)
			cp = (c >> 8 & 0x1f) << 6 | (c & 0x3f);
		else
			continue;
		k = (int)(lang_tab[cp] & 7);
		s = lang_tab[cp] >> 3 & 31;
		lang_pair[c] = LANG_PAIR(cp < 0x80 ? 1 : 2,
		    k == CH_LETTER && s != LS_NONE ? s : LS_COUNT);
	}
	lang_tab_ready = 1;
}

static inline int
classify(uint32_t *cp, enum lang_script *script)
{
	uint32_t e;

	if (*cp >= LANG_TAB_END)
		return classify_slow(cp, script);
	e = lang_tab[*cp];
	*cp = e >> 8;
	*script = e >> 3 & 31;
	return e & 7;
}

/*
 * Decode one code point at *pp (before end); invalid bytes come back as
 * U+FFFD one byte at a time, so scanning always advances.
 */
static inline uint32_t
next_cp(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	uint32_t c = p[0];
	size_t len, i;

	if (c < 0x80) {
		*pp = p + 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		*pp = p + 1;
		return 0xfffd;
	}
	if ((size_t)(end - p) < len) {
		*pp = p + 1;
		return 0xfffd;
	}
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*pp = p + 1;
			return 0xfffd;
		}
		c = c << 6 | (p[i] & 0x3f);
	}
	*pp = p + len;
	return c;
}

/*
 * The next character at *pp as the scanners see it: its class, and for a
 * letter its lowercase code point and script.  ASCII without the table,
 * two-byte characters (all in it) by one load, the rest decoded.
 */
static inline __attribute__((always_inline)) int
next_class(const unsigned char **pp, const unsigned char *end, uint32_t *cp,
    enum lang_script *s)
{
	const unsigned char *p = *pp;
	uint32_t c, e;

	if (*p < 0x80) {
		c = *p;
		*pp = p + 1;
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
			*cp = c | 0x20;
			*s = LS_LATN;
			return CH_LETTER;
		}
		*cp = c;
		return c == '\'' ? CH_JOIN : CH_SEP;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf && end - p >= 2 &&
	    (p[1] & 0xc0) == 0x80) {
		e = lang_tab[(p[0] & 0x1fu) << 6 | (p[1] & 0x3fu)];
		*pp = p + 2;
		*cp = e >> 8;
		*s = (enum lang_script)(e >> 3 & 31);
		return (int)(e & 7);
	}
	*cp = next_cp(pp, end);
	return classify(cp, s);
}

/* The ASCII letters among 8 bytes that are all below 0x80. */
static inline unsigned
ascii_letters(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;

	/* Lowercase, then bytes from 'a' and bytes past 'z' set bit 7. */
	x |= 0x20 * ones;
	x = (x + 0x1f * ones) & ~(x + 0x05 * ones) & 0x80 * ones;
	return (unsigned)(((x >> 7) * ones) >> 56);
}

/*
 * Add the letters of each script in [p, end) to cnt[] (cnt[LS_NONE]:
 * emoji; cnt[LS_COUNT]: everything else, never read).  p is at the start
 * of a character; end is the end of the text.
 */
static inline void
count_range(const unsigned char *p, const unsigned char *end,
    unsigned cnt[LS_COUNT + 1])
{
	const unsigned char *last = p < end ? end - 1 : end;
	enum lang_script s = LS_NONE;
	uint64_t x;
	uint8_t v;
	uint32_t cp;
	int k;

	while (p < end) {
		/* The pair table reads two bytes: the last one goes slow. */
		if (p < last && (v = lang_pair[p[0] << 8 | p[1]]) != 0) {
			/* An ASCII letter: maybe a run of eight ASCII bytes. */
			if (v == LANG_PAIR(1, LS_LATN) && end - p >= 8) {
				memcpy(&x, p, 8);
				if ((x & 0x8080808080808080ULL) == 0) {
					cnt[LS_LATN] += ascii_letters(x);
					p += 8;
					continue;
				}
			}
			cnt[v & 31]++;
			p += v >> 5;
			/* Two-byte letters come in runs: take the next too. */
			if (p < last && (v = lang_pair[p[0] << 8 | p[1]]) != 0 &&
			    v != LANG_PAIR(1, LS_LATN)) {
				cnt[v & 31]++;
				p += v >> 5;
			}
			continue;
		}
		cp = next_cp(&p, end);
		k = classify(&cp, &s);
		if (k == CH_LETTER)
			cnt[s != LS_NONE ? s : LS_COUNT]++;
		else if (k == CH_EMOJI)
			cnt[LS_NONE]++;
	}
}

/* counts[] from count_range()'s cnt[]; returns the number of letters. */
static inline unsigned
counts_out(const unsigned cnt[LS_COUNT + 1], unsigned counts[LS_COUNT])
{
	unsigned letters = 0;
	int k;

	counts[LS_NONE] = cnt[LS_NONE];
	for (k = 1; k < LS_COUNT; k++) {
		counts[k] = cnt[k];
		letters += cnt[k];
	}
	return letters;
}

unsigned
lang_script_counts(const char *text, size_t n, unsigned counts[LS_COUNT])
{
	const unsigned char *p = (const unsigned char *)text;
	unsigned cnt[LS_COUNT + 1];

	if (!lang_tab_ready)
		lang_tab_init();
	memset(cnt, 0, sizeof(cnt));
	count_range(p, p + n, cnt);
	return counts_out(cnt, counts);
}

enum lang_script
lang_script_of(uint32_t cp)
{
	enum lang_script s = LS_NONE;

	return classify_slow(&cp, &s) == CH_LETTER ? s : LS_NONE;
}

static inline uint32_t
fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static inline uint32_t
hstep(uint32_t h, uint32_t cp)
{
	return ((h << 5 | h >> 27) ^ cp) * 0x9e3779b1;
}

static inline uint32_t
hkey(uint32_t h, int order)
{
	h = fmix32(h ^ (uint32_t)order * 0x27d4eb2f);
	return h == 0 ? 1 : h;
}

/*
 * The keys of one word w[1..len], padded by spaces at w[0] and w[len+1]:
 * its character 1..5-grams (a lone pad says nothing) and the whole word.
 * Stores at most LANG_WORD_KEYS keys and their orders; returns how many.
 */
#define LANG_WORD_KEYS	(5 * (LANG_MAX_WORD + 2) + 1)

static unsigned
word_keys(uint32_t *w, unsigned len, uint32_t *keys, uint8_t *orders)
{
	unsigned i, k, last = len + 1, nk = 0;
	uint32_t h;

	w[0] = ' ';
	w[last] = ' ';
	for (i = 0; i <= last; i++) {
		h = 0x2545f491;
		for (k = 0; k < 5 && i + k <= last; k++) {
			h = hstep(h, w[i + k]);
			if (k == 0 && (i == 0 || i == last))
				continue;
			keys[nk] = hkey(h, (int)k + 1);
			orders[nk++] = (uint8_t)(k + 1);
		}
	}
	h = 0x2545f491;
	for (i = 0; i <= last; i++)
		h = hstep(h, w[i]);
	keys[nk] = hkey(h, 0);
	orders[nk++] = 0;
	return nk;
}

/*
 * Call word(arg, w, len) for each word of `text` written in `script`, w
 * holding the lowercased letters at w[1..len] with room for a pad on
 * either side, until `max_letters` letters were used or word() returns
 * nonzero.  Returns the letters used.
 */
static inline __attribute__((always_inline)) unsigned
scan_words(const char *text, size_t n, enum lang_script script,
    unsigned max_letters, int (*word)(void *, uint32_t *, unsigned),
    void *arg)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + n;
	uint32_t w[LANG_MAX_WORD + 2], cp;
	enum lang_script s = LS_NONE, ws = LS_NONE;
	unsigned len = 0, used = 0;
	int k, stop = 0;

	if (!lang_tab_ready)
		lang_tab_init();
	while (p < end && used < max_letters && !stop) {
		k = next_class(&p, end, &cp, &s);
		if (k == CH_SKIP)
			continue;
		if (k == CH_LETTER && (len == 0 || s == ws)) {
			if (len == 0)
				ws = s;
			if (len < LANG_MAX_WORD)
				w[++len] = cp;
			continue;
		}
		if (k == CH_JOIN && len > 0) {
			if (len < LANG_MAX_WORD && cp != 0xfffd &&
			    w[len] != cp)
				w[++len] = cp;
			continue;
		}
		/* The word ends here. */
		while (len > 0 && (w[len] == '\'' || w[len] == 0x200c))
			len--;
		if (len > 0 && ws == script) {
			used += len;
			stop = word(arg, w, len);
		}
		len = 0;
		if (k == CH_LETTER) {
			/* Script change inside a run: start a new word. */
			ws = s;
			w[++len] = cp;
		}
	}
	while (len > 0 && (w[len] == '\'' || w[len] == 0x200c))
		len--;
	if (len > 0 && ws == script && !stop && used < max_letters) {
		used += len;
		word(arg, w, len);
	}
	return used;
}

struct lang_emit {
	void	(*fn)(void *, uint32_t, int);
	void	*arg;
};

static int
emit_word(void *arg, uint32_t *w, unsigned len)
{
	struct lang_emit *e = arg;
	uint32_t keys[LANG_WORD_KEYS];
	uint8_t orders[LANG_WORD_KEYS];
	unsigned i, nk = word_keys(w, len, keys, orders);

	for (i = 0; i < nk; i++)
		e->fn(e->arg, keys[i], orders[i]);
	return 0;
}

unsigned
lang_features(const char *text, size_t n, enum lang_script script,
    unsigned max_letters, void (*fn)(void *, uint32_t, int), void *arg)
{
	struct lang_emit e = { fn, arg };

	return scan_words(text, n, script, max_letters, emit_word, &e);
}

struct lang_wemit {
	void	(*fn)(void *, const uint32_t *, unsigned);
	void	*arg;
};

static int
emit_whole_word(void *arg, uint32_t *w, unsigned len)
{
	struct lang_wemit *e = arg;

	e->fn(e->arg, w + 1, len);
	return 0;
}

unsigned
lang_words(const char *text, size_t n, enum lang_script script,
    unsigned max_letters, void (*fn)(void *, const uint32_t *, unsigned),
    void *arg)
{
	struct lang_wemit e = { fn, arg };

	return scan_words(text, n, script, max_letters, emit_whole_word, &e);
}

/* ---- model ------------------------------------------------------------ */

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static float
rdf32(const unsigned char *p)
{
	uint32_t u = rd32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}


uint64_t
lang_word_hash(const uint32_t *w, unsigned len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	unsigned i;

	for (i = 0; i < len; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	h = mix64(h);
	return h == 0 ? 1 : h;
}

/*
 * A table of n bytes, zeroed if `zero`.  Big ones ask for transparent
 * huge pages: the model's tables would otherwise cost thousands of page
 * faults at every start.  A big zeroed table is mapped: fresh pages are
 * zero already, so it is not written twice.  Free with table_free(p, n,
 * zero).
 */
static void *
table_alloc(size_t n, bool zero)
{
#ifdef MADV_HUGEPAGE
	const size_t huge = (size_t)2 << 20;
	char *m, *a;
	void *p;

	if (n >= huge && zero) {
		/* Aligned to a huge page: map more, then trim both ends. */
		m = mmap(NULL, n + huge, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		a = m + (huge - (uintptr_t)m % huge) % huge;
		if (a > m)
			munmap(m, (size_t)(a - m));
		if (m + n + huge > a + n)
			munmap(a + n, (size_t)(m + n + huge - (a + n)));
		(void)madvise(a, n, MADV_HUGEPAGE);
		return a;
	}
	if (n >= huge && posix_memalign(&p, huge, n) == 0) {
		(void)madvise(p, n, MADV_HUGEPAGE);
		if (zero)
			memset(p, 0, n);
		return p;
	}
#endif
	return zero ? calloc(1, n) : malloc(n);
}

static void
table_free(void *p, size_t n, bool zero)
{
#ifdef MADV_HUGEPAGE
	if (p != NULL && n >= (size_t)2 << 20 && zero) {
		munmap(p, n);
		return;
	}
#endif
	free(p);
}

/* Read the profile headers at p (nprof of them) into m. */
static int
load_profiles(struct lang_model *m, const unsigned char *p, uint32_t nprof,
    char *err, size_t errlen)
{
	const unsigned char *h;
	struct lang_prof *pr;
	uint32_t i;
	int o;

	m->nprof = (int)nprof;
	memset(m->lane_in, LANG_TRASH, sizeof(m->lane_in));
	for (i = 0; i < nprof; i++) {
		h = p + (size_t)i * LANG_PROF_BYTES;
		pr = &m->prof[i];
		memcpy(pr->lang, h, 3);
		pr->lang[3] = '\0';
		pr->script = lang_script_from_name((const char *)h + 4, 4);
		for (o = 0; o < LANG_ORDERS; o++)
			pr->floor[o] = rdf32(h + 8 + 4 * o);
		pr->prior = rdf32(h + 8 + 4 * LANG_ORDERS);
		pr->prior_q = (int32_t)lround(pr->prior * m->qscale);
		if (pr->script == LS_NONE || !isfinite(pr->prior) ||
		    fabsf(pr->prior) > 100) {
			snprintf(err, errlen, "profile %u has an unknown "
			    "script '%.4s' or a bad prior", i, h + 4);
			return -1;
		}
		for (o = 0; o < LANG_ORDERS; o++)
			if (!isfinite(pr->floor[o])) {
				snprintf(err, errlen, "profile %u has a bad "
				    "floor", i);
				return -1;
			}
		m->lane_of[i] = m->nlanes[pr->script];
		m->lane_in[pr->script][i] = m->nlanes[pr->script];
		m->lane_prof[pr->script][m->nlanes[pr->script]++] =
		    (uint8_t)i;
		m->by_script[pr->script] |= (uint64_t)1 << i;
	}
	m->common_floor = true;
	for (i = 1; i < nprof; i++)
		for (o = 0; o < LANG_ORDERS; o++)
			if (m->prof[i].floor[o] != m->prof[0].floor[o])
				m->common_floor = false;
	/* What scorer_init() starts from (the rest of the lanes is 0). */
	for (o = 0; o < LS_COUNT; o++)
		for (i = 0; i < m->nlanes[o]; i++)
			m->prior_lacc[o][i] =
			    m->prof[m->lane_prof[o][i]].prior_q;
	m->stop_margin = m->common_floor ?
	    (int32_t)(LANG_EARLY_MARGIN * m->qscale) : 0;
	return 0;
}

/*
 * The script of the c postings from `first` when they are worth a dense
 * row: all of one script that several profiles write, more of them than
 * a row costs in eight-lane adds.  Else LS_NONE.
 */
static inline enum lang_script
dense_script(const struct lang_model *m, uint32_t first, uint32_t c)
{
	const uint16_t *pp = m->post + first;
	enum lang_script s;
	uint32_t i;

	if (c < 3)
		return LS_NONE;
	s = m->prof[pp[0] >> LANG_QBITS].script;
	if (m->nlanes[s] < 2 || c <= LANG_ROW(m->nlanes[s]) / 8 + 1)
		return LS_NONE;
	for (i = 1; i < c; i++)
		if (m->prof[pp[i] >> LANG_QBITS].script != s)
			return LS_NONE;
	return s;
}

/* Does a posting of post[0..n-1] name a profile >= nprof? */
static bool
post_bad(const uint16_t *post, uint32_t n, uint16_t nprof)
{
	lang_v8hu v, lim, bad = { 0 };
	uint32_t i = 0;
	uint16_t x = 0;

	/* Eight at a time: a branch per posting costs more than the test. */
	for (i = 0; i < 8; i++)
		lim[i] = nprof;
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, post + i, sizeof(v));
		bad |= (lang_v8hu)((v >> LANG_QBITS) >= lim);
	}
	for (; i < n; i++)
		if (post[i] >> LANG_QBITS >= nprof)
			return true;
	for (i = 0; i < 8; i++)
		x |= bad[i];
	return x != 0;
}

/* Where load_table() is in the dense rows. */
struct dense_rows {
	size_t	cap, off;		/* u16s allocated, used */
};

/*
 * The key at slot j with the c postings from `first` gets a dense row
 * when dense_script() says so and there is room.  0, or -1 out of memory.
 */
static __attribute__((noinline)) int
dense_row(struct lang_model *m, uint32_t j, uint32_t first, uint32_t c,
    struct dense_rows *dr)
{
	enum lang_script s;
	uint16_t *row;
	uint32_t e;

	if ((s = dense_script(m, first, c)) == LS_NONE ||
	    dr->off / 4 >= LANG_DENSE_MAX)
		return 0;
	if (dr->off + LANG_ROW(m->nlanes[s]) > dr->cap) {
		dr->cap = dr->cap == 0 ? 1 << 16 : dr->cap * 2;
		if ((row = realloc(m->grows, dr->cap * sizeof(*row))) == NULL)
			return -1;
		m->grows = row;
	}
	row = m->grows + dr->off;
	memset(row, 0, LANG_ROW(m->nlanes[s]) * sizeof(*row));
	/* A profile twice still fits: 64 x 1023 < 65536. */
	for (e = first; e < first + c; e++)
		row[m->lane_of[m->post[e] >> LANG_QBITS]] +=
		    m->post[e] & LANG_QMASK;
	m->kpost[j] = LANG_DENSE(dr->off, s);
	dr->off += LANG_ROW(m->nlanes[s]);
	return 0;
}

/*
 * Build the n-gram table from the sorted keys and their posting counts,
 * and copy the postings, checking what lookups rely on.
 */
static int
load_table(struct lang_model *m, const unsigned char *keys,
    const unsigned char *counts, const unsigned char *post, uint32_t nkeys,
    uint32_t npost, char *err, size_t errlen)
{
	uint32_t nslots, i, j, key, prev = 0, c, next, bad = 0, mask;
	uint32_t *ktab, *ptab;
	unsigned shift;
	uint64_t first;
	struct dense_rows dr = { 0, 0 };

	for (nslots = 1024; nslots < 2 * nkeys; nslots *= 2)
		;
	m->mask = nslots - 1;
	m->shift = (unsigned)(32 - __builtin_ctz(nslots));
	m->keys_len = (size_t)nslots * sizeof(*m->keys);
	m->keys = table_alloc(m->keys_len, true);
	/* Read only where a key is: never zeroed. */
	m->kpost = table_alloc((size_t)nslots * sizeof(*m->kpost), false);
	if (m->keys == NULL || m->kpost == NULL)
		goto oom;
	/*
	 * The profile refuses big-endian hosts: the u16s are used as they
	 * are, in place when aligned (an embedded model always is).
	 */
	if ((uintptr_t)post % sizeof(*m->post) == 0)
		m->post = (const uint16_t *)(const void *)post;
	else {
		if ((m->post_own = malloc((npost + 1) *
		    sizeof(*m->post))) == NULL)
			goto oom;
		memcpy(m->post_own, post, (size_t)npost * 2);
		m->post = m->post_own;
	}
	if (post_bad(m->post, npost, (uint16_t)m->nprof)) {
		for (i = 0; i < npost; i++)
			if (m->post[i] >> LANG_QBITS >= m->nprof)
				break;
		snprintf(err, errlen, "posting %u names profile %u",
		    i, m->post[i] >> LANG_QBITS);
		return -1;
	}
	/*
	 * The keys come sorted and a key's first slot is its high bits, so
	 * the table fills from one end: a key goes to its first slot or just
	 * after the key before it, and the probe loop is needed only when
	 * that is past the end (then the key wraps around, and so do the
	 * keys after it).
	 */
	ktab = m->keys;
	ptab = m->kpost;
	mask = m->mask;
	shift = m->shift;
	for (i = 0, first = 0, next = 0; i < nkeys; i++) {
		/* Little-endian, as the file. */
		memcpy(&key, keys + 4 * (size_t)i, 4);
		c = counts[i];
		/* Checked after the loop (and then found again): no branch. */
		bad |= (key <= prev) | (c - 1 >= LANG_MAX);
		j = key >> shift;
		j = j < next ? next : j;
		if (__builtin_expect(j > mask, 0)) {
			/*
			 * Past the end: this key probes, and so does every
			 * key after it (next stays past the end).
			 */
			for (j = key >> shift; ktab[j] != 0;
			    j = (j + 1) & mask)
				;
			next = UINT32_MAX;
		} else
			next = j + 1;
		ktab[j] = key;
		ptab[j] = (uint32_t)(first << 7 | c);
		/* Few keys have three postings or more: out of line. */
		if (c >= 3 && first + c <= npost &&
		    dense_row(m, j, (uint32_t)first, c, &dr) == -1)
			goto oom;
		first += c;
		prev = key;
	}
	if (bad || first != npost) {
		/* The first key that is out of order or overruns, if any. */
		for (i = 0, first = 0, prev = 0; i < nkeys; i++) {
			key = rd32(keys + 4 * (size_t)i);
			c = counts[i];
			if (key <= prev || c == 0 || c > LANG_MAX ||
			    first + c > npost) {
				snprintf(err, errlen, "bad key %u in profile "
				    "file", i);
				return -1;
			}
			first += c;
			prev = key;
		}
		snprintf(err, errlen, "profile file has %u postings, its keys "
		    "%u", npost, (uint32_t)first);
		return -1;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Build the word table from the sorted hashes, scripts and rows. */
static int
load_words(struct lang_model *m, const unsigned char *hashes,
    const unsigned char *scripts, const unsigned char *rows,
    uint32_t nwords, size_t nrow, char *err, size_t errlen)
{
	uint64_t h, prev = 0;
	uint32_t nslots, i, j, off = 0, s, next;

	if (nwords == 0)
		return 0;
	for (nslots = 1024; nslots < 2 * nwords; nslots *= 2)
		;
	m->wmask = nslots - 1;
	m->wshift = (unsigned)(64 - __builtin_ctz(nslots));
	m->nwords = nwords;
	m->words_len = (size_t)nslots * sizeof(*m->words);
	m->words = table_alloc(m->words_len, true);
	if (m->words == NULL)
		goto oom;
	/* Read with memcpy(), so they are used in place even unaligned. */
	m->rows = rows;
	/* Sorted hashes fill the table from one end, as load_table(). */
	for (i = 0, next = 0; i < nwords; i++) {
		h = rd64(hashes + 8 * (size_t)i);
		s = scripts[i];
		if (h <= prev) {
			snprintf(err, errlen, "bad word %u in profile file", i);
			return -1;
		}
		j = (uint32_t)(h >> m->wshift);
		j = j < next ? next : j;
		if (j > m->wmask) {
			for (j = (uint32_t)(h >> m->wshift);
			    m->words[j].hash != 0; j = (j + 1) & m->wmask)
				;
			next = UINT32_MAX;
		} else
			next = j + 1;
		m->words[j].hash = h;
		m->words[j].row = off;
		m->words[j].script = s;
		off += LANG_ROW(m->nlanes[s]);
		prev = h;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Bytes of the rows of nwords words with these scripts, or 0 if bad. */
static size_t
rows_len(const struct lang_model *m, const unsigned char *scripts,
    uint32_t nwords)
{
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < nwords; i++) {
		if (scripts[i] >= LS_COUNT || m->nlanes[scripts[i]] < 2)
			return 0;
		n += LANG_ROW(m->nlanes[scripts[i]]);
	}
	return n;
}

struct lang_model *
lang_model_new(const void *data, size_t n, char *err, size_t errlen)
{
	const unsigned char *p = data, *keys, *counts, *post, *words;
	struct lang_model *m;
	uint32_t nprof, nkeys, npost, qscale, nwords;
	size_t need, nrow = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	snprintf(err, errlen, "language profiles are little-endian only");
	return NULL;
#endif
	if (n < LANG_HDR_BYTES || memcmp(p, LANG_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a language profile file (magic)");
		return NULL;
	}
	nprof = rd32(p + 8);
	nkeys = rd32(p + 12);
	npost = rd32(p + 16);
	qscale = rd32(p + 20);
	nwords = rd32(p + 24);
	need = LANG_HDR_BYTES + (size_t)nprof * LANG_PROF_BYTES +
	    (size_t)nkeys * 5 + (size_t)npost * 2 + (size_t)nwords * 9;
	if (nprof == 0 || nprof > LANG_MAX || qscale == 0 ||
	    nkeys > 1u << 26 || npost >= 1u << 25 || nwords > 1u << 24 ||
	    n < need) {
		snprintf(err, errlen, "language profile file is truncated "
		    "or has bad counts");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->qscale = qscale;
	if (load_profiles(m, p + LANG_HDR_BYTES, nprof, err, errlen) == -1)
		goto bad;
	keys = p + LANG_HDR_BYTES + (size_t)nprof * LANG_PROF_BYTES;
	counts = keys + (size_t)nkeys * 4;
	post = counts + nkeys;
	words = post + (size_t)npost * 2;
	if (nwords > 0 && ((nrow = rows_len(m, words + (size_t)nwords * 8,
	    nwords)) == 0 || n - need < nrow * 2)) {
		snprintf(err, errlen, "profile file has bad word rows");
		goto bad;
	}
	if (load_table(m, keys, counts, post, nkeys, npost, err,
	    errlen) == -1 || load_words(m, words, words + (size_t)nwords * 8,
	    words + (size_t)nwords * 9, nwords, nrow, err, errlen) == -1)
		goto bad;
	return m;
bad:
	lang_model_free(m);
	return NULL;
}

void
lang_model_free(struct lang_model *m)
{
	if (m == NULL)
		return;
	table_free(m->keys, m->keys_len, true);
	free(m->kpost);
	free(m->post_own);
	free(m->grows);
	table_free(m->words, m->words_len, true);
	free(m);
}

int
lang_model_count(const struct lang_model *m)
{
	return m->nprof;
}

const char *
lang_model_lang(const struct lang_model *m, int i)
{
	return m->prof[i].lang;
}

const char *
lang_model_script(const struct lang_model *m, int i)
{
	return lang_script_name(m->prof[i].script);
}

int
lang_set_parse(const struct lang_model *m, const char *list,
    struct lang_set *set, char *err, size_t errlen)
{
	const char *p = list, *e;
	size_t len;
	int i, found;

	set->bits = 0;
	while (*p != '\0') {
		e = strchr(p, ',');
		len = e == NULL ? strlen(p) : (size_t)(e - p);
		while (len > 0 && p[0] == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0) {
			found = 0;
			for (i = 0; i < m->nprof; i++)
				if (strlen(m->prof[i].lang) == len &&
				    memcmp(m->prof[i].lang, p, len) == 0) {
					set->bits |= (uint64_t)1 << i;
					found = 1;
				}
			if (!found) {
				snprintf(err, errlen, "unknown language '%.*s'",
				    (int)len, p);
				return -1;
			}
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/* ---- detection ---------------------------------------------------------- */

struct lang_scorer {
	const struct lang_model *m;
	enum lang_script script;
	unsigned	 nlanes;
	unsigned	 nfeat[LANG_ORDERS];
	unsigned	 letters;
	int32_t		 lacc[LANG_MAX + 8];	/* by lane; LANG_TRASH */
	int32_t		 stop_margin;	/* in q units; 0: never stop early */
};

/* Add the eight u16 lanes h to lacc[0..7]. */
static inline void
add8(int32_t *lacc, lang_v8hu h)
{
	lang_v4hu lo, hi;
	lang_v4si a, b;

	memcpy(&lo, &h, sizeof(lo));
	memcpy(&hi, (char *)&h + sizeof(lo), sizeof(hi));
	memcpy(&a, lacc, sizeof(a));
	memcpy(&b, lacc + 4, sizeof(b));
	a += __builtin_convertvector(lo, lang_v4si);
	b += __builtin_convertvector(hi, lang_v4si);
	memcpy(lacc, &a, sizeof(a));
	memcpy(lacc + 4, &b, sizeof(b));
}

/* Add the u16s row[0..n-1] (n a multiple of 8; any alignment) to lacc[]. */
static inline void
add_row(int32_t *lacc, const unsigned char *row, unsigned n)
{
	lang_v8hu h;
	unsigned l;

	for (l = 0; l < n; l += 8) {
		memcpy(&h, row + 2 * l, sizeof(h));
		add8(lacc + l, h);
	}
}

/* Add the postings of every n-gram of the word w[1..len] to the sums. */
static void
score_ngrams(struct lang_scorer *sc, uint32_t *w, unsigned len)
{
	const struct lang_model *m = sc->m;
	const uint32_t *keys = m->keys;
	const uint8_t *lane = m->lane_in[sc->script];
	uint32_t k[LANG_WORD_KEYS], j, kp, slot[LANG_WORD_KEYS];
	uint8_t orders[LANG_WORD_KEYS];
	unsigned i, l, nd = 0, nr = LANG_ROW(sc->nlanes);
	unsigned nk = word_keys(w, len, k, orders);
	lang_v8hu a16[LANG_MAX / 8], h;
	const uint16_t *pp, *pe, *row;
	int32_t *lacc = sc->lacc;
	uint16_t e;

	/* All of the word's slots are fetched at once, then read. */
	for (i = 0; i < nk; i++) {
		slot[i] = k[i] >> m->shift;
		__builtin_prefetch(&keys[slot[i]]);
	}
	memset(a16, 0, nr * sizeof(uint16_t));
	for (i = 0; i < nk; i++) {
		sc->nfeat[orders[i]]++;
		for (j = slot[i]; keys[j] != 0; j = (j + 1) & m->mask) {
			if (keys[j] != k[i])
				continue;
			kp = m->kpost[j];
			if ((kp & 0x7f) == 0) {
				/*
				 * A dense row of another script is a hash
				 * collision: its profiles are not scored.
				 */
				if ((kp >> 7 & 31) != sc->script)
					break;
				row = m->grows + (kp >> 12) * 4;
				for (l = 0; l < nr; l += 8) {
					memcpy(&h, row + l, sizeof(h));
					a16[l / 8] += h;
				}
				if (++nd == LANG_DENSE_FLUSH) {
					for (l = 0; l < nr; l += 8)
						add8(lacc + l, a16[l / 8]);
					memset(a16, 0, nr * sizeof(uint16_t));
					nd = 0;
				}
				break;
			}
			pp = m->post + (kp >> 7);
			pe = pp + (kp & 0x7f);
			/*
			 * No test of the script: postings of other
			 * profiles go to a lane that is never read, and a
			 * branch per posting cost more than the add.
			 */
			while (pp < pe) {
				e = *pp++;
				lacc[lane[e >> LANG_QBITS]] += e & LANG_QMASK;
			}
			break;
		}
	}
	if (nd > 0)
		for (l = 0; l < nr; l += 8)
			add8(lacc + l, a16[l / 8]);
}

/* The row of the frequent word w[0..len-1] of `script`, or NULL. */
static inline const unsigned char *
word_row(const struct lang_model *m, enum lang_script script,
    const uint32_t *w, unsigned len)
{
	uint64_t h = lang_word_hash(w, len);
	uint32_t j;

	for (j = (uint32_t)(h >> m->wshift); m->words[j].hash != 0;
	    j = (j + 1) & m->wmask)
		if (m->words[j].hash == h)
			return m->words[j].script == script ?
			    m->rows + 2 * (size_t)m->words[j].row : NULL;
	return NULL;
}

/*
 * Score one word: its row when it is a frequent word, else its n-grams.
 * Nonzero once the leader cannot be caught.
 */
static int
score_word(void *arg, uint32_t *w, unsigned len)
{
	struct lang_scorer *sc = arg;
	const struct lang_model *m = sc->m;
	const unsigned char *row;
	int32_t best, second, a;
	unsigned l, k;

	if (m->words != NULL &&
	    (row = word_row(m, sc->script, w + 1, len)) != NULL) {
		add_row(sc->lacc, row, LANG_ROW(sc->nlanes));
		/* The features word_keys() would have counted. */
		sc->nfeat[0]++;
		sc->nfeat[1] += len;
		for (k = 2; k <= 5; k++)
			if (len + 3 > k)
				sc->nfeat[k] += len + 3 - k;
	} else
		score_ngrams(sc, w, len);
	sc->letters += len;
	if (sc->stop_margin == 0 || sc->letters < LANG_EARLY_LETTERS)
		return 0;
	/* Floors are shared by the profiles of one script: acc decides. */
	best = second = INT32_MIN;
	for (l = 0; l < sc->nlanes; l++) {
		a = sc->lacc[l];
		if (a > best) {
			second = best;
			best = a;
		} else if (a > second)
			second = a;
	}
	return second != INT32_MIN && best - second > sc->stop_margin;
}

/* Start scoring `script`: its lanes begin at their priors. */
static void
scorer_init(struct lang_scorer *sc, const struct lang_model *m,
    enum lang_script script)
{
	sc->m = m;
	sc->script = script;
	sc->nlanes = m->nlanes[script];
	memset(sc->nfeat, 0, sizeof(sc->nfeat));
	sc->letters = 0;
	memcpy(sc->lacc, m->prior_lacc[script], sizeof(sc->lacc));
	sc->stop_margin = m->stop_margin;
}

/*
 * One pass for both of lang_detect()'s readings of a text: count the
 * letters of each script into cnt[] as count_range() does, and score the
 * words of the script guessed from the first letter some allowed
 * language writes, as scan_words(..., guess, LANG_MAX_LETTERS,
 * score_word, sc) would, when several languages write it.  Once scoring
 * stops, the rest is only counted.  Returns the guess, LS_NONE when
 * nothing was scored; lang_detect() scores again when the counts choose
 * another script.
 */
static enum lang_script
scan_count(const struct lang_model *m, const char *text, size_t n,
    uint64_t all, unsigned cnt[LS_COUNT + 1], struct lang_scorer *sc)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + n;
	uint32_t w[LANG_MAX_WORD + 2], cp;
	enum lang_script s = LS_NONE, ws = LS_NONE, guess = LS_NONE;
	unsigned len = 0, used = 0;
	uint64_t cand;
	int k;

	while (p < end) {
		k = next_class(&p, end, &cp, &s);
		if (k == CH_SKIP)
			continue;
		if (k == CH_LETTER) {
			cnt[s != LS_NONE ? s : LS_COUNT]++;
			if (guess == LS_NONE && s != LS_NONE &&
			    (m->by_script[s] & all) != 0) {
				guess = s;
				cand = m->by_script[s] & all;
				if ((cand & (cand - 1)) == 0) {
					/* One language: nothing to score. */
					count_range(p, end, cnt);
					return LS_NONE;
				}
				scorer_init(sc, m, guess);
			}
			if (len == 0 || s == ws) {
				if (len == 0)
					ws = s;
				if (len < LANG_MAX_WORD)
					w[++len] = cp;
				continue;
			}
		} else if (k == CH_EMOJI)
			cnt[LS_NONE]++;
		if (k == CH_JOIN && len > 0) {
			if (len < LANG_MAX_WORD && cp != 0xfffd &&
			    w[len] != cp)
				w[++len] = cp;
			continue;
		}
		/* The word ends here. */
		while (len > 0 && (w[len] == '\'' || w[len] == 0x200c))
			len--;
		if (len > 0 && ws == guess && guess != LS_NONE) {
			used += len;
			if (score_word(sc, w, len) != 0 ||
			    used >= LANG_MAX_LETTERS) {
				/*
				 * Scoring is over; a letter that began the
				 * next word was counted already.
				 */
				count_range(p, end, cnt);
				return guess;
			}
		}
		len = 0;
		if (k == CH_LETTER) {
			/* Script change inside a run: start a new word. */
			ws = s;
			w[++len] = cp;
		}
	}
	while (len > 0 && (w[len] == '\'' || w[len] == 0x200c))
		len--;
	if (len > 0 && ws == guess && guess != LS_NONE &&
	    used < LANG_MAX_LETTERS)
		score_word(sc, w, len);
	return guess;
}

int
lang_word_sums(const struct lang_model *m, enum lang_script script,
    const uint32_t *w, unsigned len, uint32_t *sums)
{
	struct lang_scorer sc;
	uint32_t buf[LANG_MAX_WORD + 2];
	unsigned l;

	if (len > LANG_MAX_WORD)
		len = LANG_MAX_WORD;
	memset(&sc, 0, sizeof(sc));
	sc.m = m;
	sc.script = script;
	sc.nlanes = m->nlanes[script];
	memcpy(buf + 1, w, len * sizeof(*w));
	score_ngrams(&sc, buf, len);
	for (l = 0; l < sc.nlanes; l++)
		sums[l] = (uint32_t)sc.lacc[l];
	return (int)sc.nlanes;
}

static int
und(struct lang_result *out, enum lang_script s)
{
	out->lang = "und";
	out->script = lang_script_name(s);
	out->conf = 0;
	out->idx = -1;
	out->second = NULL;
	return -1;
}

static int
detect(const struct lang_model *m, const char *text, size_t n,
    const struct lang_set *allowed, struct lang_result *out)
{
	unsigned cnt[LS_COUNT + 1], letters, best_n;
	struct lang_scorer sc;
	uint64_t all, cand;
	enum lang_script script, top, guess;
	double score[LANG_MAX], unseen[LANG_ORDERS], best, second;
	uint64_t bits;
	int i, o, bi, si, s;

	memset(out, 0, sizeof(*out));
	all = m->nprof == 64 ? ~(uint64_t)0 :
	    ((uint64_t)1 << m->nprof) - 1;
	if (allowed != NULL && allowed->bits != 0)
		all &= allowed->bits;
	/* The first few kilobytes tell; the rest of a long text is not read. */
	if (n > LANG_MAX_BYTES)
		n = LANG_MAX_BYTES;
	if (!lang_tab_ready)
		lang_tab_init();
	memset(cnt, 0, sizeof(cnt));
	guess = scan_count(m, text, n, all, cnt, &sc);
	/* Japanese mixes kana and kanji: any kana makes the Han letters its. */
	if (cnt[LS_HIRA] + cnt[LS_KANA] > 0) {
		cnt[LS_HIRA] += cnt[LS_KANA] + cnt[LS_HANI];
		cnt[LS_KANA] = cnt[LS_HANI] = 0;
	}

	/*
	 * The most used script, and the most used one we have a language
	 * for; the letters (moving kana and kanji changed no sum).
	 */
	top = LS_NONE;
	script = LS_NONE;
	best_n = 0;
	letters = 0;
	for (s = 1; s < LS_COUNT; s++) {
		if (cnt[s] == 0)
			continue;
		letters += cnt[s];
		if (cnt[s] > cnt[top] || top == LS_NONE)
			top = s;
		if ((m->by_script[s] & all) != 0 && cnt[s] > best_n) {
			best_n = cnt[s];
			script = s;
		}
	}
	if (letters == 0) {
		und(out, LS_NONE);
		if (cnt[LS_NONE] > 0)
			out->script = "Zsye";
		return -1;
	}
	if (letters < LANG_MIN_LETTERS || script == LS_NONE)
		return und(out, top);
	out->letters = best_n;
	cand = m->by_script[script] & all;
	if ((cand & (cand - 1)) == 0) {
		/* One language writes this script: no need to look further. */
		for (bi = 0; (cand >> bi & 1) == 0; bi++)
			;
		out->idx = bi;
		out->lang = m->prof[bi].lang;
		/* Kana with kanji is written Jpan in ISO 15924. */
		out->script = script == LS_HIRA ? "Jpan" :
		    lang_script_name(script);
		out->conf = (double)best_n / letters;
		return bi;
	}

	/*
	 * Every profile of the script is scored, allowed or not, so that
	 * the early stop comes at the same word whatever --languages says:
	 * restricting the candidates then only removes wrong answers.
	 */
	if (guess != script) {
		/* The first letter's script lost the count: score again. */
		scorer_init(&sc, m, script);
		scan_words(text, n, script, LANG_MAX_LETTERS, score_word, &sc);
	}
	bi = si = -1;
	best = second = -INFINITY;
	for (o = 0; o < LANG_ORDERS; o++)
		unseen[o] = sc.nfeat[o] * (double)m->prof[0].floor[o];
	for (bits = cand; bits != 0; bits &= bits - 1) {
		i = __builtin_ctzll(bits);
		score[i] = sc.lacc[m->lane_of[i]] / m->qscale;
		/* The same sums in the same order as with own floors. */
		if (m->common_floor)
			score[i] = score[i] + unseen[0] + unseen[1] +
			    unseen[2] + unseen[3] + unseen[4] + unseen[5];
		else
			for (o = 0; o < LANG_ORDERS; o++)
				score[i] += sc.nfeat[o] *
				    (double)m->prof[i].floor[o];
		if (score[i] > best) {
			second = best;
			si = bi;
			best = score[i];
			bi = i;
		} else if (score[i] > second) {
			second = score[i];
			si = i;
		}
	}
	for (o = 0; o < LANG_ORDERS; o++)
		out->features += sc.nfeat[o];
	out->idx = bi;
	out->lang = m->prof[bi].lang;
	out->script = lang_script_name(script);
	/*
	 * Calibrated on the dev split: a margin of 12 nats is right about
	 * 4 times in 5, 40 nats nearly always; letters of other scripts
	 * (English words in a Russian review) lower it in proportion.
	 */
	out->conf = (1 - 0.5 * exp(-(si >= 0 ? best - second : 60) /
	    LANG_CONF_SCALE)) * ((double)best_n / letters);
	out->second = si >= 0 ? m->prof[si].lang : NULL;
	out->margin = si >= 0 ? best - second : 0;
	return bi;
}

/* Does the text hold pe, che, zhe or gaf, letters Arabic does not use? */
static bool
has_persian_letter(const unsigned char *p, size_t n)
{
	const unsigned char *q = p, *end = p + n;

	/* Che, zhe, gaf lead with 0xda, which Arabic letters never do. */
	while ((q = memchr(q, 0xda, (size_t)(end - q))) != NULL &&
	    q + 1 < end) {
		if (q[1] == 0x86 || q[1] == 0x98 || q[1] == 0xaf)
			return true;
		q++;
	}
	/* Pe is 0xd9 0xbe; 0xbe ends no common Arabic letter. */
	for (q = p + 1; q < end &&
	    (q = memchr(q, 0xbe, (size_t)(end - q))) != NULL; q++)
		if (q[-1] == 0xd9)
			return true;
	return false;
}

/*
 * Persian typed on an Arabic keyboard layout has the Arabic yeh and kaf
 * (U+064A, U+0643) where Persian writes its own (U+06CC, U+06A9), and the
 * profiles read those two letters as Arabic.  When a text called Arabic
 * also has a letter Arabic does not use (pe, che, zhe, gaf), it is scored
 * again with Persian yeh and kaf, and Persian wins if that score says so;
 * an Arabic text with a loanword's gaf keeps its Arabic n-grams and stays.
 */
int
lang_detect(const struct lang_model *m, const char *text, size_t n,
    const struct lang_set *allowed, struct lang_result *out)
{
	const unsigned char *p = (const unsigned char *)text;
	unsigned char copy[LANG_MAX_BYTES];
	struct lang_result again;
	size_t i, changed = 0;
	int r;

	r = detect(m, text, n, allowed, out);
	if (r < 0 || strcmp(out->lang, "ar") != 0)
		return r;
	if (n > LANG_MAX_BYTES)
		n = LANG_MAX_BYTES;
	if (!has_persian_letter(p, n))
		return r;
	/* Yeh U+064A -> U+06CC, kaf U+0643 -> U+06A9: same lengths. */
	memcpy(copy, text, n);
	for (i = 0; i + 1 < n; i++)
		if (copy[i] == 0xd9 && copy[i + 1] == 0x8a) {
			copy[i] = 0xdb;
			copy[i + 1] = 0x8c;
			changed++;
		} else if (copy[i] == 0xd9 && copy[i + 1] == 0x83) {
			copy[i] = 0xda;
			copy[i + 1] = 0xa9;
			changed++;
		}
	if (changed > 0 && detect(m, (const char *)copy, n, allowed,
	    &again) >= 0 &&
	    strcmp(again.lang, "fa") == 0) {
		*out = again;
		return again.idx;
	}
	return r;
}
