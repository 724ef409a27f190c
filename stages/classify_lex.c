/*
 * classify_lex - the per-language lexicons: polarity, intensity, topics,
 * abuse, threats, concrete facts and generic wording.
 *
 * File format (models/classify/lex.LANG.txt, UTF-8):
 *     # comment
 *     pos: great | excellent | well done
 *     topic.delivery: arriv* late | never arrived
 *     subj.delivery: delivery | shipping
 * A term is one to six words; a word ending in '*' matches any token
 * that starts with it, and a word `#` matches one token of digits
 * (ASCII, Arabic-Indic or Persian: the text is folded), so "asked for #
 * extra" matches "asked for 50 extra" and "# lira daha" "50 lira daha"
 * (a term may start with it: number tokens are also looked up as `#`).  Terms are folded
 * like the text (classify_norm.c), so they may be written with their
 * real letters (қ, ά, أ).
 *
 * Matching looks each token's prefixes up in one hash table (keys are
 * FNV hashes of the folded first word, prefix entries tagged), then
 * checks the remaining words of the candidates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "banned.h"

const char *const cls_topic_names[CLS_NTOPIC] = {
	"delivery", "quality", "communication", "cancellation", "refund",
	"price", "scope", "fraud", "rudeness", "support"
};

#define CLS_PREFIX_TAG	0x5bd1e9955bd1e995ULL

static inline uint64_t
cls_key(const char *p, size_t n, bool prefix)
{
	uint64_t h = cls_hash(p, n);

	h = prefix ? h ^ CLS_PREFIX_TAG : h;
	return h == 0 ? 1 : h;
}

/*
 * A first word's first two bytes (0 for the second of a one-byte word)
 * and its length, hashed to 0..CLS_LEX_F2-1: whole first words are
 * looked up only when some entry has such a word.
 */
static inline unsigned
cls_lex_full2(unsigned b0, unsigned b1, size_t n)
{
	return (b0 * 131 + b1 * 7 + (unsigned)n * 0x9e5) & (CLS_LEX_F2 - 1);
}

static int
cls_lx_class(const char *s, size_t n)
{
	static const char *const base[] = {
		"pos", "neg", "int", "abuse", "threat", "fact", "generic"
	};
	size_t i;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (strlen(base[i]) == n && memcmp(base[i], s, n) == 0)
			return (int)i;
	for (i = 0; i < CLS_NTOPIC; i++) {
		size_t tl = strlen(cls_topic_names[i]);

		if (n == 6 + tl && memcmp(s, "topic.", 6) == 0 &&
		    memcmp(s + 6, cls_topic_names[i], tl) == 0)
			return CLS_LX_TOPIC + (int)i;
		if (n == 5 + tl && memcmp(s, "subj.", 5) == 0 &&
		    memcmp(s + 5, cls_topic_names[i], tl) == 0)
			return CLS_LX_SUBJ + (int)i;
	}
	return -1;
}

/* The word `#` of a term: one number token. */
static inline bool
cls_is_num_word(const struct cls_lex_word *w)
{
	return w->n == 1 && !w->prefix && w->p[0] == '#';
}

static const char *
cls_pool_add(struct cls_lex *lx, const char *p, size_t n)
{
	/* The pool never moves: it is sized for the whole file up front. */
	char *q = lx->pool + lx->pool_len;

	memcpy(q, p, n);
	q[n] = '\0';
	lx->pool_len += n + 1;
	return q;
}

static int
cls_lex_add(struct cls_lex *lx, int cls, const char *term, size_t tn,
    char *err, size_t errlen, unsigned line)
{
	struct cls_lex_entry *e;
	char raw[256], fold[1024];
	size_t i = 0;

	if (tn == 0)
		return 0;
	if (tn >= sizeof(raw)) {
		snprintf(err, errlen, "line %u: term too long", line);
		return -1;
	}
	if (lx->n == lx->cap) {
		size_t cap = lx->cap ? 2 * lx->cap : 256;
		struct cls_lex_entry *ne;

		if ((ne = realloc(lx->e, cap * sizeof(*ne))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		lx->e = ne;
		lx->cap = cap;
	}
	e = &lx->e[lx->n];
	memset(e, 0, sizeof(*e));
	e->cls = (uint8_t)cls;
	e->next = -1;
	memcpy(raw, term, tn);
	raw[tn] = '\0';
	cls_fold_word(raw, fold, sizeof(fold));
	e->text = cls_pool_add(lx, fold, strlen(fold));
	while (fold[i] != '\0') {
		size_t j;
		bool pre = false;

		while (fold[i] == ' ')
			i++;
		if (fold[i] == '\0')
			break;
		for (j = i; fold[j] != '\0' && fold[j] != ' '; j++)
			;
		if (fold[j - 1] == '*') {
			pre = true;
			fold[j - 1] = '\0';
		}
		if (e->nw == CLS_LEX_MAXW) {
			snprintf(err, errlen, "line %u: more than %d words",
			    line, CLS_LEX_MAXW);
			return -1;
		}
		e->w[e->nw].n = (uint16_t)(j - i - pre);
		e->w[e->nw].p = cls_pool_add(lx, fold + i, j - i - pre);
		e->w[e->nw].prefix = pre;
		if (e->w[e->nw].n == 0) {
			snprintf(err, errlen, "line %u: empty word", line);
			return -1;
		}
		e->nw++;
		i = j;
	}
	if (e->nw > 1) {
		const unsigned char *w1 = (const unsigned char *)e->w[1].p;

		e->w1tag = (uint16_t)(w1[0] | (e->w[1].n > 1 ? w1[1] << 8 : 0));
		e->w1mask = e->w[1].n > 1 ? 0xffff : 0xff;
		if (cls_is_num_word(&e->w[1]))
			e->w1tag = e->w1mask = 0;	/* any number */
	}
	if (e->nw > 0)
		lx->n++;
	return 0;
}

/*
 * A second word's first two bytes (its first byte alone when it has one)
 * hashed to 0..255: each chain keeps the set of its terms' second words,
 * so a chain of terms that share a first word ("не ...", "the ...") is
 * walked only when the next token may continue one of them.
 */
static inline unsigned
cls_lex_second(unsigned b0, unsigned b1)
{
	return (b0 * 31 + b1) & 255;
}

/* A prefix word's first two bytes hashed to 0..CLS_LEX_P2-1. */
static inline unsigned
cls_lex_first2(unsigned b0, unsigned b1)
{
	return (b0 * 67 + b1) & (CLS_LEX_P2 - 1);
}

static int
cls_lex_index(struct cls_lex *lx)
{
	size_t size = 64, i;

	while (size < 4 * lx->n)
		size *= 2;
	lx->key = calloc(size, sizeof(*lx->key));
	lx->head = malloc(size * sizeof(*lx->head));
	lx->head1 = malloc(size * sizeof(*lx->head1));
	lx->second = calloc(size, sizeof(*lx->second));
	if (lx->key == NULL || lx->head == NULL || lx->head1 == NULL ||
	    lx->second == NULL)
		return -1;
	lx->mask = size - 1;
	/* Insert in reverse so each chain lists entries in file order. */
	for (i = lx->n; i-- > 0;) {
		struct cls_lex_entry *e = &lx->e[i];
		uint64_t k = cls_key(e->w[0].p, e->w[0].n, e->w[0].prefix);
		size_t at = k & lx->mask;

		while (lx->key[at] != 0 && lx->key[at] != k)
			at = (at + 1) & lx->mask;
		if (lx->key[at] == 0) {
			lx->key[at] = k;
			lx->head[at] = -1;
			lx->head1[at] = -1;
		}
		e->next = lx->head[at];
		lx->head[at] = (int32_t)i;
		if (e->nw == 1) {
			e->next1 = lx->head1[at];
			lx->head1[at] = (int32_t)i;
		} else {
			const unsigned char *p =
			    (const unsigned char *)e->w[1].p;
			unsigned b = cls_lex_second(p[0],
			    e->w[1].n > 1 ? p[1] : 0);

			e->next1 = -1;
			lx->second[at][b / 64] |= (uint64_t)1 << (b % 64);
			/* `#`: a number's first digit (its first byte alone). */
			for (b = '0'; cls_is_num_word(&e->w[1]) && b <= '9';
			    b++) {
				unsigned d = cls_lex_second(b, 0);

				lx->second[at][d / 64] |= (uint64_t)1 << (d % 64);
			}
		}
		lx->bloom[(k >> 40) % CLS_LEX_BLOOM / 64] |=
		    (uint64_t)1 << ((k >> 40) % 64);
		if (!e->w[0].prefix) {
			const unsigned char *p =
			    (const unsigned char *)e->w[0].p;
			unsigned b = cls_lex_full2(p[0], e->w[0].n > 1 ?
			    p[1] : 0, e->w[0].n);

			lx->full2[b / 64] |= (uint64_t)1 << (b % 64);
		}
		if (e->w[0].prefix) {
			uint64_t bit = e->w[0].n < 64 ?
			    (uint64_t)1 << e->w[0].n : (uint64_t)1 << 63;
			const unsigned char *p =
			    (const unsigned char *)e->w[0].p;

			lx->prefix_lens |= bit;
			if (e->w[0].n == 1)
				lx->prefix_lens1 |= bit;
			else
				lx->prefix_by2[cls_lex_first2(p[0], p[1])] |=
				    bit;
		}
	}
	return 0;
}

int
cls_lex_load(struct cls_lex *lx, struct slice text, char *err,
    size_t errlen)
{
	const char *p = text.p, *end = text.p + text.n;
	unsigned line = 0;

	memset(lx, 0, sizeof(*lx));
	/* Folding never makes a term more than 4 times longer. */
	lx->pool_cap = 8 * text.n + 64;
	if ((lx->pool = malloc(lx->pool_cap + CLS_BUF_SLACK)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon, *q;
		int cls;

		if (eol == NULL)
			eol = end;
		line++;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if (p == eol || *p == '#') {
			p = eol + 1;
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL ||
		    (cls = cls_lx_class(p, (size_t)(colon - p))) < 0) {
			snprintf(err, errlen, "line %u: expected 'class: terms'"
			    " with a known class", line);
			return -1;
		}
		q = colon + 1;
		while (q < eol) {
			const char *bar = memchr(q, '|', (size_t)(eol - q));
			const char *te;

			if (bar == NULL)
				bar = eol;
			while (q < bar && (*q == ' ' || *q == '\t'))
				q++;
			te = bar;
			while (te > q && (te[-1] == ' ' || te[-1] == '\t' ||
			    te[-1] == '\r'))
				te--;
			if (cls_lex_add(lx, cls, q, (size_t)(te - q), err,
			    errlen, line) == -1)
				return -1;
			q = bar + 1;
		}
		p = eol + 1;
	}
	if (cls_lex_index(lx) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
cls_lex_release(struct cls_lex *lx)
{
	free(lx->e);
	free(lx->key);
	free(lx->head);
	free(lx->head1);
	free(lx->second);
	free(lx->pool);
	memset(lx, 0, sizeof(*lx));
}

static inline __attribute__((always_inline)) bool
cls_word_ok(const struct cls_lex_word *w, const struct cls_text *t,
    const struct cls_tok *k, size_t skip)
{
	size_t len = k->len - skip;

	if (w->prefix ? len < w->n : len != w->n)
		return false;
	return cls_same(t->buf + k->off + skip, w->p, w->n);
}

/* The word `#`, padded: cls_hash() reads eight bytes at a time. */
static const char cls_num_key[16] = "#";

/* A number token: 1 to 12 ASCII digits (the text is folded). */
static bool
cls_all_digits(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > 12)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Does the word `#` match token k? */
static bool
cls_num_ok(const struct cls_lex_word *w, const struct cls_text *t,
    const struct cls_tok *k)
{
	return cls_is_num_word(w) && cls_all_digits(t->buf + k->off, k->len);
}

/* Most tokens are in no lexicon: a small bitmap says so, inline. */
static inline bool
cls_maybe(const struct cls_lex *lx, uint64_t k)
{
	return (lx->bloom[(k >> 40) % CLS_LEX_BLOOM / 64] &
	    ((uint64_t)1 << ((k >> 40) % 64))) != 0;
}

/* The index slot of key k, or -1. */
static inline int32_t
cls_slot(const struct cls_lex *lx, uint64_t k)
{
	size_t at = k & lx->mask;

	while (lx->key[at] != 0 && lx->key[at] != k)
		at = (at + 1) & lx->mask;
	return lx->key[at] == 0 ? -1 : (int32_t)at;
}

/* The matches of the chain in slot `at` with token i as first word. */
static inline __attribute__((always_inline)) void
cls_walk(const struct cls_lex *lx, size_t at, const struct cls_text *t,
    size_t i, size_t skip, struct cls_match *out, size_t *n, size_t cap)
{
	bool first_ok, one = false;
	unsigned next2 = 0;
	int32_t e;

	if (i + 1 < t->ntok) {
		const struct cls_tok *nk = &t->tok[i + 1];
		const unsigned char *q =
		    (const unsigned char *)t->buf + nk->off;

		next2 = q[0] | (nk->len > 1 ? (unsigned)q[1] << 8 : 0);
	}
	/*
	 * A chain holds the entries whose first word has this 64-bit key:
	 * checking the head's first word checks them all, but for a
	 * collision, where each is checked.
	 */
	e = lx->head[at];
	first_ok = cls_word_ok(&lx->e[e].w[0], t, &t->tok[i], skip) ||
	    (skip == 0 && cls_num_ok(&lx->e[e].w[0], t, &t->tok[i]));
	/*
	 * Walk the one-word entries alone when the next token starts like
	 * no second word of the chain (the entries skipped could not match).
	 */
	if (i + 1 >= t->ntok) {
		e = lx->head1[at];
		one = true;
	} else {
		const struct cls_tok *nk = &t->tok[i + 1];
		const unsigned char *p =
		    (const unsigned char *)t->buf + nk->off;
		unsigned b = cls_lex_second(p[0], 0);
		bool hit = (lx->second[at][b / 64] >> (b % 64)) & 1;

		if (!hit && nk->len > 1) {
			b = cls_lex_second(p[0], p[1]);
			hit = (lx->second[at][b / 64] >> (b % 64)) & 1;
		}
		if (!hit) {
			e = lx->head1[at];
			one = true;
		}
	}
	for (; e >= 0; e = one ? lx->e[e].next1 : lx->e[e].next) {
		const struct cls_lex_entry *en = &lx->e[e];
		unsigned j;

		if (i + en->nw > t->ntok)
			continue;
		if (en->nw > 1 && ((next2 ^ en->w1tag) & en->w1mask) != 0)
			continue;
		if (!first_ok && !cls_word_ok(&en->w[0], t, &t->tok[i], skip) &&
		    !(skip == 0 && cls_num_ok(&en->w[0], t, &t->tok[i])))
			continue;
		for (j = 1; j < en->nw; j++)
			if (!cls_word_ok(&en->w[j], t, &t->tok[i + j], 0) &&
			    !cls_num_ok(&en->w[j], t, &t->tok[i + j]))
				break;
		if (j < en->nw || *n == cap)
			continue;
		out[*n].entry = (uint32_t)e;
		out[*n].tok = (uint16_t)(i < 0xffff ? i : 0xffff);
		out[*n].nw = en->nw;
		out[*n].neg = (t->tok[i].flags & CLS_TOK_NEG) != 0;
		/*
		 * A term that holds its own negator ("әлі жоқ", "не ответил")
		 * is already negative: the negator's scope is not a second
		 * negation ("не получил ни одного ответа" is no answer).
		 */
		for (j = 0; j < en->nw && out[*n].neg; j++)
			if (t->tok[i + j].flags & CLS_TOK_NEGATOR)
				out[*n].neg = false;
		(*n)++;
	}
}

/*
 * Look token i (without its first `skip` bytes) up as a first word: at
 * each length a prefix entry starting with the token's first two bytes
 * has, then whole, when some whole first word has its first two bytes
 * and length.
 */
/*
 * Key hk of token i: walk its chain, or with slot != NULL note the slot
 * (*ns -1 once there are more than max).
 */
static inline __attribute__((always_inline)) void
cls_try(const struct cls_lex *lx, uint64_t hk, const struct cls_text *t,
    size_t i, size_t skip, struct cls_match *out, size_t *n, size_t cap,
    int32_t *slot, int *ns, int max)
{
	int32_t at;

	if (!cls_maybe(lx, hk) || (at = cls_slot(lx, hk)) < 0)
		return;
	if (slot == NULL)
		cls_walk(lx, (size_t)at, t, i, skip, out, n, cap);
	else if (*ns >= 0 && *ns < max)
		slot[(*ns)++] = at;
	else
		*ns = -1;
}

static inline __attribute__((always_inline)) void
cls_lookup(const struct cls_lex *lx, const struct cls_text *t, size_t i,
    size_t skip, struct cls_match *out, size_t *n, size_t cap,
    int32_t *slot, int *ns, int max)
{
	const struct cls_tok *k = &t->tok[i];
	const char *w = t->buf + k->off + skip;
	const unsigned char *u = (const unsigned char *)w;
	uint64_t hk, lens;
	size_t len, e;
	unsigned b;

	if (k->len <= skip)
		return;
	len = k->len - skip;
	lens = lx->prefix_lens1;
	if (len >= 2)
		lens |= lx->prefix_by2[cls_lex_first2(u[0], u[1])];
	/* Bit 63 stands for all lengths from 63 bytes on. */
	if (len < 63)
		lens &= ((uint64_t)2 << len) - 1;
	while (lens != 0) {
		e = (size_t)__builtin_ctzll(lens);
		lens &= lens - 1;
		if (e == 63 && len > 63) {
			/* Every code point boundary from 63 bytes on. */
			for (; e <= len; e++)
				if (e == len || (u[e] & 0xc0) != 0x80) {
					hk = cls_key(w, e, true);
					cls_try(lx, hk, t, i, skip, out, n,
					    cap, slot, ns, max);
				}
			break;
		}
		if (e > len || (e < len && (u[e] & 0xc0) == 0x80))
			continue;
		hk = cls_key(w, e, true);
		cls_try(lx, hk, t, i, skip, out, n, cap, slot, ns, max);
	}
	/* A number is also the word `#` (its terms are keyed so). */
	if (skip == 0 && u[0] >= '0' && u[0] <= '9' && cls_all_digits(w, len))
		cls_try(lx, cls_key(cls_num_key, 1, false), t, i, skip, out, n,
		    cap, slot, ns, max);
	b = cls_lex_full2(u[0], len > 1 ? u[1] : 0, len);
	if (!(lx->full2[b / 64] & (uint64_t)1 << (b % 64)))
		return;
	hk = cls_key(w, len, false);
	cls_try(lx, hk, t, i, skip, out, n, cap, slot, ns, max);
}

int
cls_lex_slots(const struct cls_lex *lx, const struct cls_text *t, size_t i,
    int32_t *slot, int max)
{
	int ns = 0;

	if (lx->n == 0)
		return 0;
	cls_lookup(lx, t, i, 0, NULL, NULL, 0, slot, &ns, max);
	return ns;
}

struct cls_match *
cls_lex_match(const struct cls_lex *lx, const struct cls_text *t,
    struct arena *a, size_t *np)
{
	return cls_lex_match_x(lx, t, a, np, NULL);
}

struct cls_match *
cls_lex_match_x(const struct cls_lex *lx, const struct cls_text *t,
    struct arena *a, size_t *np, const struct cls_tokx *const *tx)
{
	size_t cap = 2 * t->ntok + 8, n = 0, i;
	struct cls_match *out = arena_alloc(a, cap * sizeof(*out));
	int j;

	if (lx->n == 0) {
		*np = 0;
		return out;
	}
	for (i = 0; i < t->ntok && i < 0xffff; i++) {
		const struct cls_tok *k = &t->tok[i];

		/* The slots the word cache found, in the same order. */
		if (tx != NULL && tx[i] != NULL && tx[i]->nslot >= 0) {
			for (j = 0; j < tx[i]->nslot; j++)
				cls_walk(lx, (size_t)tx[i]->slot[j], t, i, 0,
				    out, &n, cap);
		} else
			cls_lookup(lx, t, i, 0, out, &n, cap, NULL, NULL, 0);
		/*
		 * Arabic writes "and" (و) joined to the next word: والخدمة is
		 * "and the service".  Try the word without it too.
		 */
		if (k->len >= 6 && (unsigned char)t->buf[k->off] == 0xd9 &&
		    (unsigned char)t->buf[k->off + 1] == 0x88)
			cls_lookup(lx, t, i, 2, out, &n, cap, NULL, NULL, 0);
	}
	*np = n;
	return out;
}
