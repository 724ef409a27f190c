/*
 * classify_norm - fold review text for matching and cut it into tokens.
 *
 * pipeline/norm.[ch] (the dedupe engineer's) was not there when classify
 * was written, and classify needs more than matching equality: token
 * boundaries, clause breaks for negation scope, emoji as tokens and
 * capitals counted before folding.  So this is classify's own minimal
 * folding: lower case (utf8proc), Kazakh letters written as Russian ones
 * (ә->а ө->о ү ұ->у қ->к ғ->г ң->н һ->х і->и), ё->е, Greek accents and
 * final sigma, Arabic tatweel and diacritics removed, alef variants, alef
 * maqsura, teh marbuta, Persian yeh and kaf unified, Arabic-Indic digits
 * to ASCII, Latin diacritics (Turkish ş ğ ı ç ö ü, French, German)
 * removed, apostrophes inside words dropped (don't -> dont).
 */
#include <pthread.h>
#include <string.h>

#include <utf8proc.h>

#include "classify.h"
#include "banned.h"

static const char *const cls_lang_names[CLS_NLANG + 1] = {
	"ar", "el", "en", "fa", "kk", "ru", "tr", "und"
};

enum cls_lang
cls_lang_from(struct slice code)
{
	int i;

	/* All our codes have two letters: no strlen() per record. */
	if (code.n != 2)
		return CLS_LANG_NONE;
	for (i = 0; i < CLS_NLANG; i++)
		if (code.p[0] == cls_lang_names[i][0] &&
		    code.p[1] == cls_lang_names[i][1])
			return i;
	return CLS_LANG_NONE;
}

const char *
cls_lang_name(enum cls_lang l)
{
	return cls_lang_names[l <= CLS_NLANG ? l : CLS_NLANG];
}

/*
 * The folded form of one lower-case code point: 0 drops it, -1 keeps
 * it.  Only the ranges we fold are listed.
 */
static int32_t
cls_fold_cp(int32_t c)
{
	static const char latin[] =	/* U+00E0..U+00FF */
	    "aaaaaaaceeeeiiiidnooooo/ouuuuyty";

	if (c < 0x80)
		return -1;
	if (c >= 0xe0 && c <= 0xff) {
		if (c == 0xf7 || c == 0xf0 || c == 0xfe)
			return -1;
		if (c == 0xe6 || c == 0xdf)
			return -1;
		return (unsigned char)latin[c - 0xe0];
	}
	switch (c) {
	/* Turkish and other Latin letters. */
	case 0x131: return 'i';		/* dotless i */
	case 0x11f: return 'g';
	case 0x15f: case 0x219: return 's';
	case 0x163: case 0x21b: return 't';
	case 0x307: return 0;		/* combining dot of lower-cased İ */
	/* Kazakh and Russian. */
	case 0x4d9: return 0x430;	/* ә */
	case 0x4e9: return 0x43e;	/* ө */
	case 0x4af: case 0x4b1: return 0x443;	/* ү ұ */
	case 0x49b: return 0x43a;	/* қ */
	case 0x493: return 0x433;	/* ғ */
	case 0x4a3: return 0x43d;	/* ң */
	case 0x4bb: return 0x445;	/* һ */
	case 0x456: return 0x438;	/* і */
	case 0x451: return 0x435;	/* ё */
	/* Greek. */
	case 0x3ac: return 0x3b1;
	case 0x3ad: return 0x3b5;
	case 0x3ae: return 0x3b7;
	case 0x3af: case 0x3ca: case 0x390: return 0x3b9;
	case 0x3cc: return 0x3bf;
	case 0x3cd: case 0x3cb: case 0x3b0: return 0x3c5;
	case 0x3ce: return 0x3c9;
	case 0x3c2: return 0x3c3;	/* final sigma */
	/* Arabic and Persian. */
	case 0x640: return 0;		/* tatweel */
	case 0x622: case 0x623: case 0x625: case 0x671: return 0x627;
	case 0x649: case 0x6cc: case 0x64a: return 0x64a;
	case 0x626: return 0x64a;
	case 0x624: return 0x648;
	case 0x629: return 0x647;
	case 0x6a9: return 0x643;
	default:
		break;
	}
	if ((c >= 0x64b && c <= 0x65f) || c == 0x670 ||
	    (c >= 0x6d6 && c <= 0x6ed))
		return 0;		/* Arabic diacritics and marks */
	if (c >= 0x660 && c <= 0x669)
		return '0' + (c - 0x660);
	if (c >= 0x6f0 && c <= 0x6f9)
		return '0' + (c - 0x6f0);
	if (c >= 0x300 && c <= 0x36f)
		return 0;		/* combining marks */
	return -1;
}

/* Which script (as a language guess bucket) a letter belongs to. */
static int
cls_script_of(int32_t c)
{
	if (c >= 0x600 && c <= 0x6ff) {
		/* Letters Persian has and Arabic does not. */
		if (c == 0x67e || c == 0x686 || c == 0x698 || c == 0x6af ||
		    c == 0x6cc || c == 0x6a9)
			return CLS_FA;
		return CLS_AR;
	}
	if (c >= 0x370 && c <= 0x3ff)
		return CLS_EL;
	if (c >= 0x400 && c <= 0x4ff) {
		if (c == 0x4d9 || c == 0x4e9 || c == 0x4af || c == 0x4b1 ||
		    c == 0x49b || c == 0x493 || c == 0x4a3 || c == 0x4bb ||
		    c == 0x456 || c == 0x4d8 || c == 0x4e8 || c == 0x4ae ||
		    c == 0x4b0 || c == 0x49a || c == 0x492 || c == 0x4a2 ||
		    c == 0x4ba || c == 0x406)
			return CLS_KK;
		return CLS_RU;
	}
	if (c == 0x131 || c == 0x11f || c == 0x15f || c == 0x130 ||
	    c == 0x11e || c == 0x15e)
		return CLS_TR;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= 0xc0 && c <= 0x24f))
		return CLS_EN;
	return -1;
}

/*
 * Decode one UTF-8 sequence (n >= 1 bytes at p): its length, or -1 for
 * an invalid or truncated one (overlong forms and surrogates included).
 */
static utf8proc_ssize_t
cls_utf8(const utf8proc_uint8_t *p, size_t n, utf8proc_int32_t *cp)
{
	unsigned c = p[0];

	if (c < 0x80) {
		*cp = (utf8proc_int32_t)c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf && n >= 2 && (p[1] & 0xc0) == 0x80) {
		*cp = (utf8proc_int32_t)((c & 0x1f) << 6 | (p[1] & 0x3f));
		return 2;
	}
	return utf8proc_iterate(p, (utf8proc_ssize_t)n, cp);
}

/*
 * Category and lower case of a code point, with the scripts of our
 * languages answered here: utf8proc's tables cost a tenth of the stage.
 */
static utf8proc_category_t
cls_category(int32_t c)
{
	if (c < 0x80) {
		if (c >= 'a' && c <= 'z')
			return UTF8PROC_CATEGORY_LL;
		if (c >= '0' && c <= '9')
			return UTF8PROC_CATEGORY_ND;
		if (c >= 'A' && c <= 'Z')
			return UTF8PROC_CATEGORY_LU;
		return UTF8PROC_CATEGORY_PO;
	}
	if (c >= 0x430 && c <= 0x44f)
		return UTF8PROC_CATEGORY_LL;
	if (c >= 0x410 && c <= 0x42f)
		return UTF8PROC_CATEGORY_LU;
	if ((c >= 0x621 && c <= 0x63a) || (c >= 0x641 && c <= 0x64a))
		return UTF8PROC_CATEGORY_LO;
	if (c >= 0x3b1 && c <= 0x3c9)
		return UTF8PROC_CATEGORY_LL;
	if (c == ' ')
		return UTF8PROC_CATEGORY_ZS;
	return utf8proc_category(c);
}

static int32_t
cls_lower(int32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 0x20;
	return utf8proc_tolower(c);
}

static size_t
cls_put(char *p, int32_t c)
{
	return (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)p);
}

static bool
cls_is_break(int32_t c)
{
	switch (c) {
	case '.': case ',': case '!': case '?': case ';': case ':':
	case '\n': case '(': case ')': case 0x60c: case 0x61b: case 0x61f:
	case 0x37e: case 0x2026: case '-': case 0x2013: case 0x2014:
		return true;
	}
	return false;
}

/* Cyrillic letters that Latin ones are passed off as: "cука", "идиoт". */
static int32_t
cls_cyr_lookalike(unsigned char c)
{
	switch (c) {
	case 'a': return 0x430;
	case 'b': return 0x432;
	case 'c': return 0x441;
	case 'e': return 0x435;
	case 'h': return 0x43d;
	case 'k': return 0x43a;
	case 'm': return 0x43c;
	case 'o': return 0x43e;
	case 'p': return 0x440;
	case 't': return 0x442;
	case 'x': return 0x445;
	case 'y': return 0x443;
	}
	return 0;
}

/*
 * A Cyrillic word with Latin look-alikes in it (to dodge filters, or
 * from a keyboard switch) is rewritten in Cyrillic at the end of the
 * buffer.  Only when every Latin letter has a look-alike; the buffer
 * has room (a rewritten letter grows from 1 byte to 2, and the folded
 * text takes at most 2n + 2 of the 4n + 2 bytes).
 */
static void
cls_unmask(struct cls_text *t, struct cls_tok *k, size_t cap)
{
	const unsigned char *q = (const unsigned char *)t->buf + k->off;
	size_t j, cyr = 0, lat = 0, at;

	for (j = 0; j < k->len; j++) {
		if (q[j] == 0xd0 || q[j] == 0xd1)
			cyr++;
		else if (q[j] >= 'a' && q[j] <= 'z') {
			if (cls_cyr_lookalike(q[j]) == 0)
				return;
			lat++;
		}
	}
	if (cyr == 0 || lat == 0 || t->len + 2 * k->len + 1 > cap)
		return;
	at = t->len;
	for (j = 0; j < k->len; j++) {
		int32_t c = q[j] < 0x80 ? cls_cyr_lookalike(q[j]) : 0;

		if (c != 0)
			t->len += cls_put(t->buf + t->len, c);
		else
			t->buf[t->len++] = (char)q[j];
	}
	t->buf[t->len++] = ' ';
	t->buf[t->len] = '\0';
	k->off = (uint32_t)at;
	k->len = (uint16_t)(t->len - 1 - at < 0xffff ? t->len - 1 - at :
	    0xffff);
}

/*
 * What cls_norm()'s last pass needs of a token, noted while it is
 * written (by the lead byte of each folded code point) so the pass does
 * not read the text again: a non-digit (else the token is a number),
 * Cyrillic and Latin letters (both: cls_unmask() looks at it).  Cleared
 * before cls_norm() returns.
 */
#define CLS_TOK_NONDIGIT	0x1000
#define CLS_TOK_HASCYR		0x2000
#define CLS_TOK_HASLAT		0x4000

static inline uint16_t
cls_lead_flags(char b)
{
	unsigned char u = (unsigned char)b;

	if (u >= '0' && u <= '9')
		return 0;
	if (u == 0xd0 || u == 0xd1)
		return CLS_TOK_NONDIGIT | CLS_TOK_HASCYR;
	if (u >= 'a' && u <= 'z')
		return CLS_TOK_NONDIGIT | CLS_TOK_HASLAT;
	return CLS_TOK_NONDIGIT;
}

/*
 * What cls_norm() needs of a code point below U+0800 (ASCII, Latin,
 * Greek, Cyrillic, Arabic: nearly every character of our languages),
 * computed once by the functions above: its category, script, and its
 * lowered and folded form in UTF-8 (n == 0: dropped).  Saves the
 * branches and utf8proc calls per character.
 */
#define CLS_CPTAB	0x800

struct cls_cpinfo {
	uint8_t		 kind;		/* cls_kind() */
	int8_t		 script;	/* cls_script_of() */
	uint8_t		 n;		/* bytes in u */
	uint16_t	 lead;		/* cls_lead_flags(u[0]) */
	char		 u[4];
};

/* What cls_norm() does with a code point, as bits (cls_kind()). */
#define CLS_K_APOS	0x01	/* an apostrophe: dropped inside a word */
#define CLS_K_MARK	0x02	/* a mark or format character */
#define CLS_K_ARMARK	0x04	/* an Arabic diacritic: always dropped */
#define CLS_K_WORD	0x08	/* part of a word: letter, digit, mark */
#define CLS_K_LETTER	0x10	/* a letter */
#define CLS_K_UPPER	0x20	/* an upper-case letter */
#define CLS_K_SYM	0x40	/* an emoji or symbol: a token of its own */
#define CLS_K_BRK	0x80	/* a clause break */

static unsigned
cls_kind(int32_t c, utf8proc_category_t cat)
{
	unsigned k = 0;

	if (c == '\'' || c == 0x2019)
		k |= CLS_K_APOS;
	if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
	    cat == UTF8PROC_CATEGORY_CF) {
		k |= CLS_K_MARK;
		if (c >= 0x64b && c <= 0x65f)
			k |= CLS_K_ARMARK;
	}
	if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
	    cat == UTF8PROC_CATEGORY_LT || cat == UTF8PROC_CATEGORY_LM ||
	    cat == UTF8PROC_CATEGORY_LO || cat == UTF8PROC_CATEGORY_ND ||
	    cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC) {
		k |= CLS_K_WORD;
		if (cat != UTF8PROC_CATEGORY_ND &&
		    cat != UTF8PROC_CATEGORY_MN && cat != UTF8PROC_CATEGORY_MC)
			k |= CLS_K_LETTER;
		if (cat == UTF8PROC_CATEGORY_LU)
			k |= CLS_K_UPPER;
	}
	if (cat == UTF8PROC_CATEGORY_SO && c != 0xfe0f)
		k |= CLS_K_SYM;
	if (cls_is_break(c))
		k |= CLS_K_BRK;
	return k;
}

static struct cls_cpinfo cls_cptab[CLS_CPTAB];
static pthread_once_t cls_cptab_once = PTHREAD_ONCE_INIT;

/*
 * The same for cls_norm()'s word loop, one 24-byte entry a code point:
 * n is 0 unless the code point simply continues a word (a letter, digit
 * or mark that is kept: no apostrophe, no mark to drop), so one test
 * says whether the loop goes on.  acc adds to the word's counts (below);
 * sidx is the script of a letter (CLS_NLANG: none); pk the folded code
 * point packed as cls_text.cp holds it.
 */
struct cls_fast {
	char		 u[4];
	uint32_t	 pk;
	uint64_t	 acc;	/* CLS_A_* counts */
	uint8_t		 n;
	uint8_t		 sidx;
};

/*
 * A word's counts in one uint64, 12 bits each (a token of a text of at
 * most CLS_FAST_MAX bytes has fewer than 4096 code points): letters,
 * capitals, code points that are not digits, led by a Cyrillic byte, by
 * a Latin letter.
 */
#define CLS_A_LETTER	((uint64_t)1)
#define CLS_A_UPPER	((uint64_t)1 << 12)
#define CLS_A_NONDIGIT	((uint64_t)1 << 24)
#define CLS_A_CYR	((uint64_t)1 << 36)
#define CLS_A_LAT	((uint64_t)1 << 48)
#define CLS_A_FIELD(a, f)	((unsigned)((a) / (f)) & 0xfff)

static struct cls_fast cls_fasttab[CLS_CPTAB];

static inline uint64_t
cls_lcount(uint16_t lead)
{
	return (lead & CLS_TOK_NONDIGIT ? CLS_A_NONDIGIT : 0) |
	    (lead & CLS_TOK_HASCYR ? CLS_A_CYR : 0) |
	    (lead & CLS_TOK_HASLAT ? CLS_A_LAT : 0);
}

static void
cls_cptab_init(void)
{
	int32_t c, l, f;

	for (c = 0; c < CLS_CPTAB; c++) {
		struct cls_cpinfo *ci = &cls_cptab[c];

		ci->kind = (uint8_t)cls_kind(c, cls_category(c));
		ci->script = (int8_t)cls_script_of(c);
		if (c == 0x130)
			l = 'i';
		else if (ci->kind & CLS_K_UPPER)
			l = cls_lower(c);
		else
			l = c;
		if ((f = cls_fold_cp(l)) > 0)
			l = f;
		ci->n = f == 0 ? 0 : (uint8_t)cls_put(ci->u, l);
		ci->lead = cls_lead_flags(ci->u[0]);
	}
	for (c = 0; c < CLS_CPTAB; c++) {
		const struct cls_cpinfo *ci = &cls_cptab[c];
		struct cls_fast *fe = &cls_fasttab[c];
		unsigned j;

		memcpy(fe->u, ci->u, 4);
		for (fe->pk = 0, j = 0; j < ci->n; j++)
			fe->pk = fe->pk << 8 | (unsigned char)ci->u[j];
		if ((ci->kind & (CLS_K_WORD | CLS_K_APOS | CLS_K_MARK)) ==
		    CLS_K_WORD)
			fe->n = ci->n;
		if (ci->kind & CLS_K_LETTER)
			fe->acc = CLS_A_LETTER +
			    (ci->kind & CLS_K_UPPER ? CLS_A_UPPER : 0);
		fe->acc += cls_lcount(ci->lead);
		fe->sidx = (ci->kind & CLS_K_LETTER) && ci->script >= 0 ?
		    (uint8_t)ci->script : CLS_NLANG;
	}
}

/*
 * The rest of a word whose code points are below U+0800, plain letters
 * or digits (no apostrophe, mark or dropped character): the same as
 * cls_norm()'s loop does with them, with the counters in locals and the
 * token written once at the end.  Stops at anything else, which the loop
 * then handles, and well before a token gets too long for its length.
 */
static inline void
cls_norm_word(const utf8proc_uint8_t *p, size_t n, size_t *ip,
    struct cls_text *t, struct cls_tok *cur, unsigned *word_letters,
    bool *word_upper)
{
	size_t i = *ip, len = t->len, off = cur->off;
	char *buf = t->buf;
	unsigned nl = 0, nup = 0;
	uint16_t lead = 0;
	bool upper = *word_upper;

	while (i < n && len - off < 0xff00) {
		const struct cls_cpinfo *ci;
		unsigned c = p[i], k;

		if (c < 0x80) {
			k = 1;
		} else if (c >= 0xc2 && c <= 0xdf && n - i >= 2 &&
		    (p[i + 1] & 0xc0) == 0x80) {
			c = (c & 0x1f) << 6 | (p[i + 1] & 0x3f);
			k = 2;
		} else
			break;
		ci = &cls_cptab[c];
		if ((ci->kind & (CLS_K_WORD | CLS_K_APOS | CLS_K_MARK)) !=
		    CLS_K_WORD || ci->n == 0)
			break;
		if (ci->kind & CLS_K_LETTER) {
			nl++;
			if (ci->kind & CLS_K_UPPER)
				nup++;
			else
				upper = false;
			if (ci->script >= 0)
				t->script[ci->script]++;
		}
		memcpy(buf + len, ci->u, 4);
		len += ci->n;
		lead |= ci->lead;
		i += k;
	}
	if (i == *ip)
		return;
	t->nletters += nl;
	t->nupper += nup;
	*word_letters += nl;
	*word_upper = upper;
	t->len = len;
	cur->len = (uint16_t)(len - off);
	cur->flags |= lead;
	cur->slen = (uint32_t)(i - cur->soff);
	*ip = i;
}

void
cls_norm_ref(struct arena *a, const char *s, size_t n, struct cls_text *t)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0, cap;
	bool inword = false, brk = false, word_upper = true;
	unsigned word_letters = 0;
	struct cls_tok *cur = NULL;

	pthread_once(&cls_cptab_once, cls_cptab_init);
	memset(t, 0, sizeof(*t));
	/* A code point grows to at most 4 bytes; each may start a token. */
	cap = 4 * n + 2;
	/* 4 more: a folded code point is copied as 4 bytes, see below. */
	t->buf = arena_alloc(a, cap + CLS_BUF_SLACK);
	t->tok = arena_alloc(a, (n + 1) * sizeof(*t->tok));
	t->buf[t->len++] = ' ';
	while (i < n) {
		const struct cls_cpinfo *ci;
		size_t w0;
		utf8proc_int32_t c;
		utf8proc_ssize_t k;
		unsigned kd;
		int32_t f;
		int sc;
		size_t at = i;

		/*
		 * A space (no kind of its own: checked) only ends a word:
		 * what the code below does with it, without its tests.
		 */
		if (p[i] == ' ' && cls_cptab[' '].kind == 0) {
			i++;
			if (inword) {
				inword = false;
				if (word_letters >= 2 && word_upper)
					cur->flags |= CLS_TOK_UPPER;
				word_upper = true;
				word_letters = 0;
			}
			continue;
		}
		k = cls_utf8(p + i, n - i, &c);
		if (k <= 0) {
			i++;
			c = ' ';
		} else
			i += (size_t)k;
		ci = c >= 0 && c < CLS_CPTAB ? &cls_cptab[c] : NULL;
		kd = ci != NULL ? ci->kind : cls_kind(c, cls_category(c));
		if ((kd & CLS_K_APOS) && inword)
			continue;	/* don't -> dont */
		if (kd & CLS_K_MARK) {
			if (kd & CLS_K_ARMARK)
				continue;
			if (!inword)
				continue;
		}
		if (kd & CLS_K_WORD) {
			bool letter = (kd & CLS_K_LETTER) != 0;

			if (!inword) {
				if (t->buf[t->len - 1] != ' ')
					t->buf[t->len++] = ' ';
				cur = &t->tok[t->ntok++];
				cur->off = (uint32_t)t->len;
				cur->len = 0;
				cur->flags = brk ? CLS_TOK_BREAK : 0;
				cur->soff = (uint32_t)at;
				brk = false;
				inword = true;
				word_upper = true;
				word_letters = 0;
			}
			if (letter) {
				t->nletters++;
				word_letters++;
				if (kd & CLS_K_UPPER)
					t->nupper++;
				else
					word_upper = false;
				if ((sc = ci != NULL ? ci->script :
				    cls_script_of(c)) >= 0)
					t->script[sc]++;
			}
			w0 = t->len;
			if (ci != NULL) {
				if (ci->n == 0)
					continue;
				memcpy(t->buf + t->len, ci->u, 4);
				t->len += ci->n;
			} else {
				if (c == 0x130)
					c = 'i';
				else if (kd & CLS_K_UPPER)
					c = cls_lower(c);
				if ((f = cls_fold_cp(c)) == 0)
					continue;
				if (f > 0)
					c = f;
				t->len += cls_put(t->buf + t->len, c);
			}
			if (t->len - cur->off < 0xffff) {
				cur->len = (uint16_t)(t->len - cur->off);
				cur->flags |= ci != NULL ? ci->lead :
				    cls_lead_flags(t->buf[w0]);
			}
			cur->slen = (uint32_t)(i - cur->soff);
			cls_norm_word(p, n, &i, t, cur, &word_letters,
			    &word_upper);
			continue;
		}
		/* Not part of a word: ends one. */
		if (inword) {
			inword = false;
			if (word_letters >= 2 && word_upper)
				cur->flags |= CLS_TOK_UPPER;
			word_upper = true;
			word_letters = 0;
		}
		if (c == '!')
			t->nexcl++;
		if (kd & CLS_K_BRK) {
			brk = true;
			continue;
		}
		if (kd & CLS_K_SYM) {
			/* Emoji and symbols: one token each. */
			if (t->buf[t->len - 1] != ' ')
				t->buf[t->len++] = ' ';
			cur = &t->tok[t->ntok++];
			cur->off = (uint32_t)t->len;
			cur->flags = CLS_TOK_SYM | (brk ? CLS_TOK_BREAK : 0);
			cur->soff = (uint32_t)at;
			cur->slen = (uint32_t)(i - at);
			brk = false;
			t->len += cls_put(t->buf + t->len, c);
			cur->len = (uint16_t)(t->len - cur->off);
			cur->flags |= CLS_TOK_NONDIGIT;
			continue;
		}
	}
	if (inword && word_letters >= 2 && word_upper)
		cur->flags |= CLS_TOK_UPPER;
	if (t->buf[t->len - 1] != ' ')
		t->buf[t->len++] = ' ';
	t->buf[t->len] = '\0';
	for (i = 0; i < t->ntok; i++) {
		struct cls_tok *k = &t->tok[i];

		if (!(k->flags & CLS_TOK_NONDIGIT))
			k->flags |= CLS_TOK_NUM;
		else if ((k->flags & (CLS_TOK_HASCYR | CLS_TOK_HASLAT)) ==
		    (CLS_TOK_HASCYR | CLS_TOK_HASLAT))
			cls_unmask(t, k, cap);
		k->flags &= ~(CLS_TOK_NONDIGIT | CLS_TOK_HASCYR |
		    CLS_TOK_HASLAT);
		k->cp = 0;
		k->ncp = CLS_NCP_BUF;
	}
}

/*
 * cls_norm() proper: the same result as cls_norm_ref() for texts of up
 * to CLS_FAST_MAX bytes (so no token nears the 16-bit lengths and no
 * per-token count overflows), with the state in locals (a store into the
 * folded text could alias any field of *t), a word's plain code points
 * folded by one table entry each, and the code points of the words kept
 * for the n-grams.  Only empty tokens (a lone tatweel) differ: their
 * slen is 0, where cls_norm_ref() leaves it unset.
 */
#define CLS_FAST_MAX	4000

/* The state of cls_norm_fast() between code points. */
struct cls_nstate {
	struct cls_tok	*cur;
	size_t		 off, soff, send, cp0;
	uint64_t	 acc;
	unsigned	 flags;
};

/* A word ends: its token written, its counts added. */
static inline void
cls_end_word(struct cls_nstate *w, size_t len, uint32_t *cps, size_t *ncp,
    unsigned *nletters, unsigned *nupper, unsigned *nunmask)
{
	unsigned nl = CLS_A_FIELD(w->acc, CLS_A_LETTER);
	unsigned nu = CLS_A_FIELD(w->acc, CLS_A_UPPER);
	unsigned flags = w->flags;
	struct cls_tok *k = w->cur;

	if (nl >= 2 && nu == nl)
		flags |= CLS_TOK_UPPER;
	*nletters += nl;
	*nupper += nu;
	if (CLS_A_FIELD(w->acc, CLS_A_NONDIGIT) == 0)
		flags |= CLS_TOK_NUM;
	else if (CLS_A_FIELD(w->acc, CLS_A_CYR) != 0 &&
	    CLS_A_FIELD(w->acc, CLS_A_LAT) != 0) {
		flags |= CLS_TOK_HASCYR;	/* cls_unmask() it, below */
		(*nunmask)++;
	}
	k->off = (uint32_t)w->off;
	k->len = (uint16_t)(len - w->off);
	k->flags = (uint16_t)flags;
	k->soff = (uint32_t)w->soff;
	k->slen = (uint32_t)(w->send - w->soff);
	k->cp = (uint32_t)w->cp0;
	k->ncp = (uint16_t)(*ncp - w->cp0);
	cps[(*ncp)++] = ' ';
}

/*
 * cls_norm() proper: the same result as cls_norm_ref() for texts of up
 * to CLS_FAST_MAX bytes (so no token nears the 16-bit lengths and no
 * count overflows its 12 bits), with the state in locals (a store into
 * the folded text could alias any field of *t), a word's plain code
 * points folded by one table entry each, and the code points of the
 * words kept for the n-grams.  Only empty tokens (a lone tatweel)
 * differ: their slen is 0, where cls_norm_ref() leaves it unset.
 * Without `scripts`, t->script stays 0.
 */
static inline __attribute__((always_inline)) void
cls_norm_fast(struct arena *a, const char *s, size_t n, struct cls_text *t,
    bool scripts)
{
	const unsigned char *p = (const unsigned char *)s;
	struct cls_tok *tok;
	struct cls_nstate w = { NULL, 0, 0, 0, 0, 0, 0 };
	unsigned script[CLS_NLANG + 1] = { 0 };
	unsigned nletters = 0, nupper = 0, nexcl = 0, nunmask = 0;
	uint32_t *cps;
	size_t i = 0, len = 1, ncp = 1, ntok = 0, cap;
	bool inword = false, brk = false;
	char *buf;

	pthread_once(&cls_cptab_once, cls_cptab_init);
	cap = 4 * n + 2;
	buf = arena_alloc(a, cap + CLS_BUF_SLACK);
	tok = arena_alloc(a, (n + 1) * sizeof(*tok));
	cps = arena_alloc(a, (2 * n + 2) * sizeof(*cps));
	buf[0] = ' ';
	cps[0] = ' ';
	while (i < n) {
		const struct cls_cpinfo *ci;
		unsigned b = p[i], kd;
		int32_t c;
		size_t at = i;

		if (b == ' ') {
			i++;
			if (inword) {
				cls_end_word(&w, len, cps, &ncp, &nletters,
				    &nupper, &nunmask);
				inword = false;
			}
			continue;
		}
		/*
		 * A code point that simply continues a word (nearly every
		 * one): start the word if none is open, then the word loop
		 * below takes it, as it would the ones after it.
		 */
		if (i + 1 < n) {
			unsigned d = b;

			if (d >= 0x80) {
				unsigned d1 = p[i + 1];

				if (d - 0xc2 > 0xdf - 0xc2 ||
				    (d1 & 0xc0) != 0x80)
					goto general;
				d = (d & 0x1f) << 6 | (d1 & 0x3f);
			}
			if (cls_fasttab[d].n == 0)
				goto general;
			if (!inword) {
				if (buf[len - 1] != ' ')
					buf[len++] = ' ';
				w.cur = &tok[ntok++];
				w.off = len;
				w.flags = brk ? CLS_TOK_BREAK : 0;
				w.soff = w.send = at;
				w.cp0 = ncp;
				w.acc = 0;
				brk = false;
				inword = true;
			}
			goto word;
		}
general:
		if (b < 0x80) {
			c = (int32_t)b;
			i++;
		} else if (b >= 0xc2 && b <= 0xdf && n - i >= 2 &&
		    (p[i + 1] & 0xc0) == 0x80) {
			c = (int32_t)((b & 0x1f) << 6 | (p[i + 1] & 0x3f));
			i += 2;
		} else {
			utf8proc_int32_t cc;
			utf8proc_ssize_t k = utf8proc_iterate(p + i,
			    (utf8proc_ssize_t)(n - i), &cc);

			if (k <= 0) {
				i++;
				c = ' ';
			} else {
				i += (size_t)k;
				c = cc;
			}
		}
		ci = c < CLS_CPTAB ? &cls_cptab[c] : NULL;
		kd = ci != NULL ? ci->kind : cls_kind(c, cls_category(c));
		if ((kd & CLS_K_APOS) && inword)
			continue;	/* don't -> dont */
		if (kd & CLS_K_MARK) {
			if (kd & CLS_K_ARMARK)
				continue;
			if (!inword)
				continue;
		}
		if (kd & CLS_K_WORD) {
			if (!inword) {
				if (buf[len - 1] != ' ')
					buf[len++] = ' ';
				w.cur = &tok[ntok++];
				w.off = len;
				w.flags = brk ? CLS_TOK_BREAK : 0;
				w.soff = w.send = at;
				w.cp0 = ncp;
				w.acc = 0;
				brk = false;
				inword = true;
			}
			if (ci != NULL) {
				const struct cls_fast *fe = &cls_fasttab[c];

				/* A letter counts even when it is dropped. */
				if (kd & CLS_K_LETTER) {
					w.acc += CLS_A_LETTER +
					    (kd & CLS_K_UPPER ? CLS_A_UPPER :
					    0);
					if (scripts)
						script[fe->sidx]++;
				}
				if (ci->n == 0)
					continue;
				memcpy(buf + len, ci->u, 4);
				len += ci->n;
				cps[ncp++] = fe->pk;
				w.acc += cls_lcount(ci->lead);
			} else {
				int32_t f;
				size_t k, j;
				uint32_t pk = 0;

				if (kd & CLS_K_LETTER)
					w.acc += CLS_A_LETTER +
					    (kd & CLS_K_UPPER ? CLS_A_UPPER :
					    0);
				if (kd & CLS_K_UPPER)
					c = cls_lower(c);
				if ((f = cls_fold_cp(c)) == 0)
					continue;
				if (f > 0)
					c = f;
				k = cls_put(buf + len, c);
				for (j = 0; j < k; j++)
					pk = pk << 8 | (unsigned char)buf[len + j];
				if (k > 0)
					w.acc += cls_lcount(cls_lead_flags(
					    buf[len]));
				len += k;
				cps[ncp++] = pk;
			}
			/*
			 * The rest of a plain word, one table entry a code
			 * point (the text's last byte is left to the loop
			 * above, so p[i + 1] can be read).
			 */
word:
			while (i + 1 < n) {
				const struct cls_fast *fe;
				unsigned d = p[i], k = 1;

				if (d >= 0x80) {
					unsigned d1 = p[i + 1];

					if (d - 0xc2 > 0xdf - 0xc2 ||
					    (d1 & 0xc0) != 0x80)
						break;
					d = (d & 0x1f) << 6 | (d1 & 0x3f);
					k = 2;
				}
				fe = &cls_fasttab[d];
				if (fe->n == 0)
					break;
				memcpy(buf + len, fe->u, 4);
				len += fe->n;
				cps[ncp++] = fe->pk;
				w.acc += fe->acc;
				if (scripts)
					script[fe->sidx]++;
				i += k;
			}
			w.send = i;
			continue;
		}
		/* Not part of a word: ends one. */
		if (inword) {
			cls_end_word(&w, len, cps, &ncp, &nletters, &nupper,
			    &nunmask);
			inword = false;
		}
		if (c == '!')
			nexcl++;
		if (kd & CLS_K_BRK) {
			brk = true;
			continue;
		}
		if (kd & CLS_K_SYM) {
			/* Emoji and symbols: one token each. */
			struct cls_tok *k;

			if (buf[len - 1] != ' ')
				buf[len++] = ' ';
			k = &tok[ntok++];
			k->off = (uint32_t)len;
			k->flags = CLS_TOK_SYM | (brk ? CLS_TOK_BREAK : 0);
			k->soff = (uint32_t)at;
			k->slen = (uint32_t)(i - at);
			brk = false;
			len += cls_put(buf + len, c);
			k->len = (uint16_t)(len - k->off);
			k->cp = 0;
			k->ncp = 0;
		}
	}
	if (inword)
		cls_end_word(&w, len, cps, &ncp, &nletters, &nupper, &nunmask);
	if (buf[len - 1] != ' ')
		buf[len++] = ' ';
	buf[len] = '\0';
	t->buf = buf;
	t->len = len;
	t->tok = tok;
	t->ntok = ntok;
	t->cp = cps;
	t->nexcl = nexcl;
	t->nletters = nletters;
	t->nupper = nupper;
	memcpy(t->script, script, sizeof(t->script));
	/* Cyrillic words with Latin look-alikes, in token order. */
	for (i = 0; i < ntok && nunmask > 0; i++) {
		struct cls_tok *k = &tok[i];
		uint32_t was = k->off;

		if (!(k->flags & CLS_TOK_HASCYR))
			continue;
		k->flags &= ~CLS_TOK_HASCYR;
		nunmask--;
		cls_unmask(t, k, cap);
		if (k->off != was)
			k->ncp = CLS_NCP_BUF;
	}
}

void
cls_norm(struct arena *a, const char *s, size_t n, struct cls_text *t)
{
	if (n > CLS_FAST_MAX)
		cls_norm_ref(a, s, n, t);
	else
		cls_norm_fast(a, s, n, t, true);
}

void
cls_norm_noscript(struct arena *a, const char *s, size_t n,
    struct cls_text *t)
{
	if (n > CLS_FAST_MAX)
		cls_norm_ref(a, s, n, t);
	else
		cls_norm_fast(a, s, n, t, false);
}

enum cls_lang
cls_script_guess(const struct cls_text *t)
{
	unsigned best = 0;
	int i, l = CLS_LANG_NONE;

	if (t->script[CLS_FA] > 0 && t->script[CLS_FA] * 20 >=
	    t->script[CLS_AR])
		return CLS_FA;
	if (t->script[CLS_KK] > 0 && t->script[CLS_KK] * 40 >=
	    t->script[CLS_RU])
		return CLS_KK;
	if (t->script[CLS_TR] > 0 && t->script[CLS_TR] * 40 >=
	    t->script[CLS_EN])
		return CLS_TR;
	for (i = 0; i < CLS_NLANG; i++) {
		unsigned v = t->script[i];

		if (i == CLS_FA)
			v += t->script[CLS_AR];
		if (i == CLS_KK)
			v += t->script[CLS_RU];
		if (i == CLS_TR)
			v += t->script[CLS_EN];
		if (v > best && i != CLS_FA && i != CLS_KK && i != CLS_TR) {
			best = v;
			l = i;
		}
	}
	return l;
}

size_t
cls_fold_word(const char *s, char *out, size_t cap)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t n = strlen(s), i = 0, len = 0;

	while (i < n && len + 5 < cap) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k;
		int32_t f;

		k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0)
			break;
		i += (size_t)k;
		if (c == '\'' || c == 0x2019)
			continue;
		c = c == 0x130 ? 'i' : utf8proc_tolower(c);
		if ((f = cls_fold_cp(c)) == 0)
			continue;
		if (f > 0)
			c = f;
		len += cls_put(out + len, c);
	}
	out[len] = '\0';
	return len;
}

/*
 * Negators, folded.  A prefix negator puts the next tokens (up to
 * CLS_NEG_SCOPE, or the next clause break) in its scope; a postfix one
 * (Kazakh емес/жоқ, Turkish değil/yok, Persian نیست) the tokens before it.
 */
#define CLS_NEG_SCOPE	3

struct cls_word {
	const char	*s;
	size_t		 n;
};

#define W(s)	{ (s), sizeof(s) - 1 }

static const struct cls_word cls_neg_pre[CLS_NLANG][24] = {
	[CLS_AR] = { W("لا"), W("لم"), W("لن"), W("ما"), W("ليس"), W("ليست"),
	    W("غير"), W("بدون"), W("مش"), W("مو"), W("ولا"), W("ولم"), W("ولن"),
	    W("وما"), W("مافي"), W("ماكو"), W("بلا"), { NULL, 0 } },
	[CLS_EL] = { W("δεν"), W("μην"), W("ουτε"), W("χωρις"), W("μη"),
	    W("οχι"), W("ποτε"), W("τιποτα"), W("κανενα"), W("καθολου"),
	    { NULL, 0 } },
	[CLS_EN] = { W("not"), W("no"), W("never"), W("dont"), W("didnt"),
	    W("doesnt"), W("isnt"), W("wasnt"), W("cant"), W("cannot"),
	    W("wont"), W("nothing"), W("havent"), W("hasnt"), W("arent"),
	    W("werent"), W("couldnt"), W("wouldnt"), W("shouldnt"),
	    W("without"), W("hardly"), W("nor"), W("neither"), { NULL, 0 } },
	[CLS_FA] = { W("نه"), W("بدون"), W("هيچ"), { NULL, 0 } },
	[CLS_KK] = { W("еш"), W("ешкашан"), W("ешкандай"), W("ешкім"),
	    W("ешким"), W("не"), W("нет"), { NULL, 0 } },
	[CLS_RU] = { W("не"), W("нет"), W("ни"), W("без"), W("никогда"),
	    W("ничего"), W("нельзя"), { NULL, 0 } },
	[CLS_TR] = { W("hic"), W("ne"), W("asla"), { NULL, 0 } },
};

static const struct cls_word cls_neg_post[CLS_NLANG][8] = {
	[CLS_FA] = { W("نيست"), W("نبود"), W("نيستند"), { NULL, 0 } },
	[CLS_KK] = { W("емес"), W("жок"), W("жокпын"), { NULL, 0 } },
	[CLS_TR] = { W("degil"), W("yok"), W("degildi"), W("yoktu"),
	    { NULL, 0 } },
};

static bool
cls_tok_in(const struct cls_text *t, const struct cls_tok *k,
    const struct cls_word *list)
{
	for (; list->s != NULL; list++)
		if (list->n == k->len && list->s[0] == t->buf[k->off] &&
		    memcmp(list->s, t->buf + k->off, k->len) == 0)
			return true;
	return false;
}

/*
 * The lengths, and first two bytes with the length, of each language's
 * negators: most tokens are neither, and two bit tests say so before the
 * lists are scanned.
 */
static uint64_t cls_neg_lens[CLS_NLANG];
static uint64_t cls_neg_first[CLS_NLANG][16];
static pthread_once_t cls_neg_once = PTHREAD_ONCE_INIT;

/*
 * The first two bytes (one letter outside ASCII) and the length, hashed
 * to 0..1023.
 */
static inline unsigned
cls_neg_key(const char *s, size_t n)
{
	unsigned b0 = (unsigned char)s[0], b1 = n > 1 ? (unsigned char)s[1] : 0;

	return (b0 * 31 + b1 + (unsigned)n * 97) & 1023;
}

static void
cls_neg_init(void)
{
	const struct cls_word *w;
	int l, k;

	for (l = 0; l < CLS_NLANG; l++)
		for (k = 0; k < 2; k++)
			for (w = k == 0 ? cls_neg_pre[l] : cls_neg_post[l];
			    w->s != NULL; w++) {
				unsigned b = cls_neg_key(w->s, w->n);

				if (w->n < 64)
					cls_neg_lens[l] |= (uint64_t)1 << w->n;
				cls_neg_first[l][b / 64] |= (uint64_t)1 <<
				    (b % 64);
			}
}

unsigned
cls_neg_kind(const struct cls_text *t, const struct cls_tok *k,
    enum cls_lang l)
{
	unsigned b;

	if (l >= CLS_NLANG)
		return 0;
	pthread_once(&cls_neg_once, cls_neg_init);
	if (k->len == 0 || k->len >= 64 ||
	    !(cls_neg_lens[l] & (uint64_t)1 << k->len))
		return 0;
	b = cls_neg_key(t->buf + k->off, k->len);
	if (!(cls_neg_first[l][b / 64] & (uint64_t)1 << (b % 64)))
		return 0;
	if (cls_tok_in(t, k, cls_neg_pre[l]))
		return CLS_NEG_PRE;
	if (cls_neg_post[l][0].s != NULL && cls_tok_in(t, k, cls_neg_post[l]))
		return CLS_NEG_POST;
	return 0;
}

void
cls_mark_neg_x(struct cls_text *t, enum cls_lang l,
    const struct cls_tokx *const *tx)
{
	size_t i, j;

	if (l >= CLS_NLANG)
		return;
	for (i = 0; i < t->ntok; i++) {
		unsigned kind = tx[i] != NULL ? tx[i]->negk :
		    cls_neg_kind(t, &t->tok[i], l);

		if (kind == CLS_NEG_PRE) {
			t->tok[i].flags |= CLS_TOK_NEGATOR;
			for (j = i + 1; j < t->ntok && j <= i + CLS_NEG_SCOPE;
			    j++) {
				if (t->tok[j].flags & CLS_TOK_BREAK)
					break;
				t->tok[j].flags |= CLS_TOK_NEG;
			}
		} else if (kind == CLS_NEG_POST) {
			t->tok[i].flags |= CLS_TOK_NEGATOR;
			for (j = i; j > 0 && j + 2 > i; j--) {
				if (t->tok[j].flags & CLS_TOK_BREAK)
					break;
				t->tok[j - 1].flags |= CLS_TOK_NEG;
			}
		}
	}
}

void
cls_mark_neg(struct cls_text *t, enum cls_lang l)
{
	size_t i, j;

	if (l >= CLS_NLANG)
		return;
	pthread_once(&cls_neg_once, cls_neg_init);
	for (i = 0; i < t->ntok; i++) {
		const struct cls_tok *k = &t->tok[i];
		unsigned b;

		if (k->len == 0 || k->len >= 64 ||
		    !(cls_neg_lens[l] & (uint64_t)1 << k->len))
			continue;
		b = cls_neg_key(t->buf + k->off, k->len);
		if (!(cls_neg_first[l][b / 64] & (uint64_t)1 << (b % 64)))
			continue;
		if (cls_tok_in(t, &t->tok[i], cls_neg_pre[l])) {
			t->tok[i].flags |= CLS_TOK_NEGATOR;
			for (j = i + 1; j < t->ntok && j <= i + CLS_NEG_SCOPE;
			    j++) {
				if (t->tok[j].flags & CLS_TOK_BREAK)
					break;
				t->tok[j].flags |= CLS_TOK_NEG;
			}
		} else if (cls_neg_post[l][0].s != NULL &&
		    cls_tok_in(t, &t->tok[i], cls_neg_post[l])) {
			t->tok[i].flags |= CLS_TOK_NEGATOR;
			for (j = i; j > 0 && j + 2 > i; j--) {
				if (t->tok[j].flags & CLS_TOK_BREAK)
					break;
				t->tok[j - 1].flags |= CLS_TOK_NEG;
			}
		}
	}
}
