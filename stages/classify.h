/*
 * classify.h - internals shared by classify.c (the stage),
 * classify_norm.c (text folding and tokens), classify_model.c (the hashed
 * linear sentiment model and its trainer), classify_lex.c (topic and kind
 * lexicons), classify_eval.c and classify_train.c (the tools).
 *
 * Nothing here is part of the stage contract; other stages must not
 * include it.
 */
#ifndef REVPIPE_CLASSIFY_H
#define REVPIPE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "mix.h"
#include "slice.h"

/* ---- languages ------------------------------------------------------ */

/*
 * The languages with their own weights and lexicons.  CLS_LANG_NONE is a
 * record whose language is unknown and could not be guessed from its
 * script; it gets the shared features only.
 */
enum cls_lang {
	CLS_AR, CLS_EL, CLS_EN, CLS_FA, CLS_KK, CLS_RU, CLS_TR,
	CLS_NLANG,
	CLS_LANG_NONE = CLS_NLANG
};

/* "ar" -> CLS_AR; anything else (und, de, ...) is CLS_LANG_NONE. */
enum cls_lang	 cls_lang_from(struct slice code);
const char	*cls_lang_name(enum cls_lang l);

/* ---- normalised text -------------------------------------------------- */

/* Token flags. */
#define CLS_TOK_BREAK	0x1	/* a clause break (. , ! ? ; :) before */
#define CLS_TOK_NUM	0x2	/* digits only */
#define CLS_TOK_SYM	0x4	/* one emoji or symbol */
#define CLS_TOK_NEG	0x8	/* inside the scope of a negator */
#define CLS_TOK_UPPER	0x10	/* written all in capitals (shouting) */
#define CLS_TOK_NEGATOR	0x20	/* a negator (not, не, емес, δεν, لا) */

struct cls_tok {
	uint32_t	 off;	/* into cls_text.buf */
	uint16_t	 len;	/* bytes */
	uint16_t	 flags;
	uint32_t	 soff;	/* the token in the original text */
	uint32_t	 slen;
	uint32_t	 cp;	/* its first code point in cls_text.cp */
	uint16_t	 ncp;	/* code points there; CLS_NCP_BUF: read buf */
};

#define CLS_NCP_BUF	0xffff

/*
 * A review folded for matching: lower case, Kazakh letters written as
 * Russian ones, Greek accents and final sigma, Arabic diacritics, tatweel
 * and alef/yeh/kaf variants, Latin diacritics (Turkish ş ğ ı ...) and
 * Arabic-Indic digits folded.  buf holds the tokens separated by one
 * space (with a space before the first and after the last, so " word "
 * finds whole words with memmem).  All memory is in the arena.
 */
struct cls_text {
	char		*buf;
	size_t		 len;
	/*
	 * The folded code points of the word tokens, each packed as its
	 * UTF-8 bytes in a uint32 (what the n-grams hash), one ' ' before
	 * and after every word; NULL when cls_norm() took its slow path
	 * (the n-grams then read buf).
	 */
	uint32_t	*cp;
	struct cls_tok	*tok;
	size_t		 ntok;
	unsigned	 nexcl;		/* '!' */
	unsigned	 nletters;	/* letters in the input */
	unsigned	 nupper;	/* of which capitals */
	unsigned	 script[CLS_NLANG];	/* letters per script guess */
};

/*
 * cls_text.buf is allocated this much beyond what is written (the 4
 * bytes of a folded code point copied whole, and 8-byte reads of a
 * token's last bytes in classify_lex.c).
 */
#define CLS_BUF_SLACK	16

/*
 * 8 bytes at p, the first in the low byte.  Callers may read past the
 * bytes they use (up to 7): the lexicon pool and cls_text.buf have that
 * much slack (CLS_BUF_SLACK).
 */
static inline uint64_t
cls_load8(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* The n bytes at p (n >= 1), 8 a turn: the index's key of a word. */
static inline uint64_t
cls_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;

	for (; n > 8; n -= 8, p += 8) {
		h = (h ^ cls_load8(p)) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	h = (h ^ (cls_load8(p) & (~0ULL >> (64 - 8 * n)))) *
	    0xc4ceb9fe1a85ec53ULL;
	return h ^ h >> 32;
}

/* Whether the n bytes at a and b are equal (both readable 8 past n). */
static inline bool
cls_same(const char *a, const char *b, size_t n)
{
	for (; n >= 8; n -= 8, a += 8, b += 8)
		if (cls_load8(a) != cls_load8(b))
			return false;
	return n == 0 || ((cls_load8(a) ^ cls_load8(b)) &
	    (~0ULL >> (64 - 8 * n))) == 0;
}

/* Fold and tokenise `s` (n bytes, UTF-8; invalid bytes are separators). */
void	cls_norm(struct arena *a, const char *s, size_t n,
	    struct cls_text *t);
/* The same without the letters per script (t->script stays 0). */
void	cls_norm_noscript(struct arena *a, const char *s, size_t n,
	    struct cls_text *t);
/*
 * The same, the plain way (one code point at a time, no cp[]): what
 * cls_norm() does for long texts, and its reference in the unit tests.
 */
void	cls_norm_ref(struct arena *a, const char *s, size_t n,
	    struct cls_text *t);
/*
 * What the word cache (classify_model.c) keeps of a token for the
 * lexicon and the negators of its language: the lexicon index slots it
 * is a first word of, in the order cls_lex_match() tries them (nslot -1:
 * more than CLS_TOKX_SLOTS, look it up), and what cls_neg_kind() says.
 */
#define CLS_TOKX_SLOTS	3
#define CLS_NEG_PRE	1
#define CLS_NEG_POST	2

struct cls_tokx {
	int32_t		 slot[CLS_TOKX_SLOTS];
	int8_t		 nslot;
	uint8_t		 negk;
};

/* Mark the tokens in the scope of a negator of language `l`. */
void	cls_mark_neg(struct cls_text *t, enum cls_lang l);
/* The same, with what tx[i] (when not NULL) says of token i. */
void	cls_mark_neg_x(struct cls_text *t, enum cls_lang l,
	    const struct cls_tokx *const *tx);
/* Whether token k is a negator of l: 0, CLS_NEG_PRE or CLS_NEG_POST. */
unsigned	cls_neg_kind(const struct cls_text *t, const struct cls_tok *k,
	    enum cls_lang l);
/* The language suggested by the letters of `t` (see classify_norm.c). */
enum cls_lang	 cls_script_guess(const struct cls_text *t);
/* Fold one NUL-terminated lexicon entry into `out` (cap bytes). */
size_t	cls_fold_word(const char *s, char *out, size_t cap);

/* ---- the sentiment model ---------------------------------------------- */

struct cls_lex;
struct cls_match;

enum cls_class { CLS_POS, CLS_NEG, CLS_NEU, CLS_NCLASS };

/* Feature switches, stored in the model file so training and use agree. */
struct cls_cfg {
	uint32_t	 bits;		/* hash table of 1 << bits rows */
	uint32_t	 minn, maxn;	/* character n-grams, in code points */
	uint32_t	 words;		/* word unigrams */
	uint32_t	 bigrams;	/* word bigrams */
	uint32_t	 shared;	/* also language-independent copies */
	uint32_t	 perlang;	/* language-seeded copies */
	uint32_t	 negmark;	/* words in negation scopes marked */
};

struct cls_model {
	struct cls_cfg	 cfg;
	float		 scale;		/* weight = q * scale */
	const int16_t	*w;		/* [1 << bits][CLS_NCLASS] */
	int16_t		*own;		/* non-NULL when w was allocated */
};

/*
 * The hashed feature rows of `t` for language `l` into out (at most cap;
 * the rest are dropped); returns their number.  Repeats are kept.  The
 * first *nchar rows are character n-grams, scaled as their own group.
 */
size_t	cls_features(const struct cls_cfg *cfg, enum cls_lang l,
	    const struct cls_text *t, uint32_t *out, size_t cap,
	    size_t *nchar);
/*
 * Features from lexicon matches (polarity with negation, intensity),
 * appended after n of the cls_features() rows; returns the new count.
 */
size_t	cls_lex_features(const struct cls_cfg *cfg, enum cls_lang l,
	    const struct cls_lex *lx, const struct cls_match *m, size_t nm,
	    const struct cls_text *t, uint32_t *out, size_t n, size_t cap);

/*
 * Load a model from its file bytes (which must outlive the model).
 * Returns 0, or -1 with a reason in err.
 */
int	cls_model_load(struct cls_model *m, struct slice data,
	    char *err, size_t errlen);
void	cls_model_release(struct cls_model *m);
/* Class probabilities for the feature rows f[0..n). */
void	cls_model_predict(const struct cls_model *m, const uint32_t *f,
	    size_t n, size_t nchar, float prob[CLS_NCLASS]);

/*
 * What the model makes of each word, kept across reviews (a review's
 * words are mostly ones seen before): the weights of its n-gram rows
 * and of its word row, and its word hashes.  A direct-mapped table;
 * what it holds never changes a result.
 */
struct cls_tcache;

struct cls_tcache *cls_tcache_new(void);
void	cls_tcache_free(struct cls_tcache *tc);
/* Lookups and misses so far (for the benchmarks). */
void	cls_tcache_stats(const struct cls_tcache *tc, uint64_t *lookups,
	    uint64_t *misses);

/*
 * The class probabilities of t for language l: the same as the rows of
 * cls_features() and cls_lex_features() (at most cap of them) through
 * cls_model_predict(), summed a word at a time through tc (which may be
 * NULL: rows one by one).
 */
void	cls_text_predict(const struct cls_model *m, struct cls_tcache *tc,
	    enum cls_lang l, const struct cls_text *t, const struct cls_lex *lx,
	    const struct cls_match *mt, size_t nm, size_t cap, struct arena *a,
	    const struct cls_tokx *const *tx, float prob[CLS_NCLASS]);
/*
 * Look every token of t up in tc (filling what is missing): an array of
 * t->ntok entries in the arena (NULL for an empty token), for
 * cls_mark_neg_x(), cls_lex_match_x() and cls_text_predict(); valid
 * until the next call.
 */
const struct cls_tokx *const *cls_tc_tokens(const struct cls_model *m,
	    struct cls_tcache *tc, enum cls_lang l, const struct cls_text *t,
	    const struct cls_lex *lx, struct arena *a);

/* One training example: feature rows and its class. */
struct cls_example {
	uint32_t	*f;
	uint32_t	 n;
	uint32_t	 nchar;	/* the first nchar rows are n-grams */
	uint8_t		 label;
	uint8_t		 lang;
};

struct cls_train_opts {
	unsigned	 epochs;
	double		 lr;
	double		 l2;
	uint64_t	 seed;
	bool		 average;	/* keep the mean of the weights */
	bool		 balance;	/* weight classes equally per language */
	double		 nb;		/* NB log-count ratio smoothing, 0 = off */
	double		 nbmix;		/* of the ratio: x * (1 - mix + mix * r) */
};

/*
 * Train a multinomial logistic regression on ex[0..n) (in a fixed
 * shuffled order from opts->seed, so the result is deterministic) and
 * write the model file into *out (a malloc'ed buffer the caller frees).
 * Returns 0, or -1 when out of memory.
 */
int	cls_train(const struct cls_cfg *cfg, const struct cls_train_opts *o,
	    const struct cls_example *ex, size_t n, char **out, size_t *outlen);

/* ---- lexicons ------------------------------------------------------------ */

/*
 * Classes of lexicon entries (models/classify/lex.LANG.txt).  A topic
 * has two: CLS_LX_TOPIC + t is a complaint cue that names the topic by
 * itself ("arrived late"); CLS_LX_SUBJ + t only names its subject
 * ("delivery") and counts when the review is negative.
 */
enum cls_lx {
	CLS_LX_POS, CLS_LX_NEG, CLS_LX_INT, CLS_LX_ABUSE, CLS_LX_THREAT,
	CLS_LX_FACT, CLS_LX_GENERIC,
	CLS_LX_TOPIC,
	CLS_LX_SUBJ = CLS_LX_TOPIC + 10,
	CLS_LX_N = CLS_LX_SUBJ + 10
};

#define CLS_NTOPIC	10
extern const char *const cls_topic_names[CLS_NTOPIC];

#define CLS_LEX_MAXW	6
#define CLS_LEX_BLOOM	65536	/* bits */
#define CLS_LEX_P2	1024	/* prefix lengths by first two bytes */
#define CLS_LEX_F2	8192	/* whole first words by two bytes, length */

struct cls_lex_word {
	const char	*p;	/* folded, in the lexicon's pool */
	uint16_t	 n;
	bool		 prefix;	/* written with a trailing '*' */
};

struct cls_lex_entry {
	uint8_t		 cls;	/* enum cls_lx */
	uint8_t		 nw;
	/* The second word's first two bytes (one when it has one), to
	 * pass over terms whose second word cannot match. */
	uint16_t	 w1tag, w1mask;
	int32_t		 next;	/* next entry with the same first key, -1 */
	int32_t		 next1;	/* the same, one-word entries only */
	struct cls_lex_word w[CLS_LEX_MAXW];
	const char	*text;	/* as written (folded), for evidence */
};

struct cls_lex {
	struct cls_lex_entry *e;
	size_t		 n, cap;
	uint64_t	*key;	/* open addressing, 0 = empty */
	int32_t		*head;
	int32_t		*head1;	/* first one-word entry of the chain */
	uint64_t	(*second)[4];	/* cls_lex_second() bits of the chain */
	size_t		 mask;
	uint64_t	 prefix_lens;	/* bit n: a prefix word of n bytes */
	/* The same per first two bytes (cls_lex_first2()), and of 1 byte. */
	uint64_t	 prefix_by2[CLS_LEX_P2];
	uint64_t	 prefix_lens1;
	uint64_t	 full2[CLS_LEX_F2 / 64];	/* cls_lex_full2() */
	uint64_t	 bloom[CLS_LEX_BLOOM / 64];	/* keys: skip probes */
	char		*pool;
	size_t		 pool_len, pool_cap;
};

struct cls_match {
	uint32_t	 entry;
	uint16_t	 tok;	/* first token */
	uint8_t		 nw;	/* tokens covered */
	bool		 neg;	/* first token in a negation scope */
};

/*
 * Parse lexicon text (lines "class: term | term ..."; '#' comments) into
 * *lx.  Returns 0, or -1 with "line N: ..." in err.
 */
int	cls_lex_load(struct cls_lex *lx, struct slice text, char *err,
	    size_t errlen);
void	cls_lex_release(struct cls_lex *lx);
/*
 * All matches of lx in t, in token order, in arena memory; returns
 * their number in *n.
 */
struct cls_match *cls_lex_match(const struct cls_lex *lx,
	    const struct cls_text *t, struct arena *a, size_t *n);
/* The same, with the slots of tx[i] (when not NULL) for token i. */
struct cls_match *cls_lex_match_x(const struct cls_lex *lx,
	    const struct cls_text *t, struct arena *a, size_t *n,
	    const struct cls_tokx *const *tx);
/*
 * The slots of lx's index that token i is a first word of (at most max,
 * in slot[]): their number, or -1 when there are more.
 */
int	cls_lex_slots(const struct cls_lex *lx, const struct cls_text *t,
	    size_t i, int32_t *slot, int max);

/* ---- labelled JSON Lines (classify_json.c) ------------------------ */

#define CLS_JSON_MAXKV	32

enum cls_json_type { CLS_JSON_NULL, CLS_JSON_STR, CLS_JSON_NUM, CLS_JSON_ARR };

struct cls_json_kv {
	struct slice	 key;
	enum cls_json_type type;
	struct slice	 s;	/* STR */
	double		 num;	/* NUM (true = 1, false = 0) */
	struct slice	*arr;	/* ARR: its strings (others skipped) */
	size_t		 narr;
};

struct cls_json {
	struct cls_json_kv kv[CLS_JSON_MAXKV];
	size_t		 n;
};

/* Parse one JSON object (n bytes at p); strings go to the arena.
 * Returns 0, or -1 when it is not a JSON object. */
int	cls_json_parse(const char *p, size_t n, struct arena *a,
	    struct cls_json *j);
/* The value of `key`, or NULL. */
const struct cls_json_kv *cls_json_get(const struct cls_json *j,
	    const char *key);

/* ---- the analysis (classify_core.c) ------------------------------- */

enum cls_kind {
	CLS_GENUINE, CLS_SUSPECT_FAKE, CLS_ABUSIVE, CLS_RATING_MISMATCH,
	CLS_NKIND
};

extern const char *const cls_kind_names[CLS_NKIND];
extern const char *const cls_class_names[CLS_NCLASS];
/* The class named by a label ("pos", "neg", "neu"), or -1. */
int	cls_class_parse(struct slice s);

/* Everything classify loads once: the model and one lexicon per language. */
struct cls_models {
	struct cls_model model;
	struct cls_lex	 lex[CLS_NLANG + 1];	/* [CLS_NLANG]: lex.all only */
	bool		 have_model;
	struct cls_tcache *tc;		/* the word cache, or NULL */
};

/* The input of one analysis: borrowed. */
struct cls_input {
	struct slice	 text;
	struct slice	 lang;		/* empty when absent */
	int		 rating;	/* 1..5, 0 = none */
	int64_t		 template_n;	/* dedupe's cluster size, 0 = none */
};

#define CLS_MAX_EVIDENCE	12

struct cls_result {
	enum cls_lang	 lang;
	bool		 lang_guessed;
	float		 prob[CLS_NCLASS];	/* the text model alone */
	enum cls_class	 text_sent;	/* argmax of prob */
	enum cls_class	 sent;		/* with the stars */
	float		 score;		/* in [-1, 1], with the stars */
	unsigned	 topics;	/* 1 << topic index */
	enum cls_kind	 kind;
	int		 severity;	/* 0..3 */
	struct slice	 evidence[CLS_MAX_EVIDENCE];	/* arena memory */
	size_t		 nevidence;
};

/*
 * Load the model (may be absent: `model` with n == 0 gives lexicon-only
 * sentiment) and the lexicons from their file bytes (lex[l].n == 0 for a
 * language without one; `all` is appended to every language).  Returns
 * 0, or -1 with a reason in err.
 */
int	cls_models_load(struct cls_models *m, struct slice model,
	    const struct slice lex[CLS_NLANG], struct slice all, char *err,
	    size_t errlen);
void	cls_models_release(struct cls_models *m);
/* Analyse one review; all result memory is in the arena. */
void	cls_analyze(const struct cls_models *m, const struct cls_input *in,
	    struct arena *a, struct cls_result *res);
/*
 * The feature rows of one text as the model sees them (used by the
 * trainer, so training and use cannot drift); returns their number and
 * the n-gram group size in *nchar.  out must have CLS_MAX_FEATURES room.
 */
#define CLS_MAX_FEATURES	16384
size_t	cls_text_features(const struct cls_models *m, const struct cls_cfg *cfg,
	    enum cls_lang l, const struct cls_text *t, struct arena *a,
	    uint32_t *out, size_t *nchar);

/* ---- shared by the stage and the tools (classify.c) ---------------------- */

struct stage_ctx;

/* Load classify/ models through stage_model(): 0, or -1 (stage_fail). */
int	classify_load_models(struct stage_ctx *ctx, struct cls_models *m,
	    bool need_model);

#endif
