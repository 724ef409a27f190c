/*
 * lang - language identification of short texts: the identifier as a
 * library, used by the langid stage and by any stage that needs to know a
 * text's language (reply --check, classify).
 *
 * How it decides:
 *   1. Script: every letter is classed by Unicode script (ISO 15924).  The
 *      script with the most letters among those that have a candidate
 *      language wins.  A script with one candidate decides alone (Greek is
 *      el, Hangul ko, ...), with no n-gram lookup at all.
 *   2. Otherwise the words written in that script are scored with a naive
 *      Bayes model over character 1..5-grams of the space-padded, lowercased
 *      words plus whole-word features, looked up in a compact hashed table.
 *      Profiles are per (language, script): "uz" has a Latin and a Cyrillic
 *      profile; Greek written in Latin letters has a Latin "el" profile.
 *   3. `und` when the text has fewer than LANG_MIN_LETTERS letters (emoji,
 *      digits, punctuation only, or too short), or no allowed language
 *      writes its script.
 *
 * The model is a read-only table built once from the bytes of a profile
 * file (models/langid/profiles.bin, written by `revpipe train-langid`).
 * lang_detect() allocates nothing and keeps no state: it may be called
 * from any number of threads on one model.
 */
#ifndef REVPIPE_LANG_H
#define REVPIPE_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many (language, script) profiles in one model. */
#define LANG_MAX		64
/* Fewer letters than this is `und` ("too short"). */
#define LANG_MIN_LETTERS	3
/* Only the first LANG_MAX_BYTES bytes of a text are read. */
#define LANG_MAX_BYTES		4096
/* Scoring stops after this many letters of the chosen script. */
#define LANG_MAX_LETTERS	600
/* Longest word scored as such; longer ones are cut. */
#define LANG_MAX_WORD		48

/* Magic and version at the start of a profile file, and its header. */
#define LANG_MAGIC		"RVLANG05"
#define LANG_HDR_BYTES		32


struct lang_model;

/*
 * A set of allowed profiles, by index in the model.  A zeroed set or a
 * NULL pointer means "every language of the model".
 */
struct lang_set {
	uint64_t	bits;
};

struct lang_result {
	const char	*lang;		/* ISO 639-1 code or "und"; static */
	const char	*script;	/* ISO 15924 code, e.g. "Cyrl"; static */
	double		 conf;		/* in [0, 1]; 0 for und */
	int		 idx;		/* profile index, -1 for und */
	const char	*second;	/* runner-up language or NULL */
	double		 margin;	/* best minus runner-up score, nats */
	unsigned	 letters;	/* letters of the chosen script seen */
	unsigned	 features;	/* n-gram features looked up */
};

/*
 * Build a model from the profile file bytes `p`, `n`.  The bytes are
 * borrowed for the model's lifetime (an embedded model lives forever) and
 * used in place when 4-byte aligned (else copied); they are checked, so a
 * corrupt file is an error, never a crash later.
 * Returns the model, or NULL with a sentence in `err` (errlen bytes) when
 * the bytes are not a valid profile file or memory ran out.
 * Free with lang_model_free(); lang_model_free(NULL) is a no-op.
 */
struct lang_model *lang_model_new(const void *p, size_t n, char *err,
	    size_t errlen);
void	lang_model_free(struct lang_model *m);

/* Number of profiles, and profile i's language and script codes. */
int	lang_model_count(const struct lang_model *m);
const char *lang_model_lang(const struct lang_model *m, int i);
const char *lang_model_script(const struct lang_model *m, int i);

/*
 * Parse a comma-separated list of ISO 639-1 codes ("kk,ru,en") into *set:
 * every profile of each language is allowed.  Returns 0, or -1 with a
 * sentence in `err` naming the first unknown code.  An empty list gives
 * the empty set, which lang_detect() reads as "all".
 */
int	lang_set_parse(const struct lang_model *m, const char *list,
	    struct lang_set *set, char *err, size_t errlen);

/*
 * Identify the language of the UTF-8 text `text`, `n` (not NUL-terminated;
 * invalid bytes are skipped) among the profiles in `allowed` (NULL or
 * empty: all).  Fills *out and returns its profile index, or -1 for und.
 * Never fails, never allocates; *out's strings are static.
 */
int	lang_detect(const struct lang_model *m, const char *text, size_t n,
	    const struct lang_set *allowed, struct lang_result *out);

/* ---- for the trainer (stages/langid_train.c) and tests -------------------- */

/* Script codes: index into lang_script_name(). */
enum lang_script {
	LS_NONE,	/* not a letter */
	LS_LATN, LS_CYRL, LS_ARAB, LS_GREK, LS_HEBR, LS_ARMN, LS_GEOR,
	LS_DEVA, LS_BENG, LS_GURU, LS_GUJR, LS_TAML, LS_TELU, LS_KNDA,
	LS_MLYM, LS_SINH, LS_THAI, LS_LAOO, LS_TIBT, LS_MYMR, LS_ETHI,
	LS_KHMR, LS_MONG, LS_HANG, LS_HIRA, LS_KANA, LS_HANI,
	LS_COUNT
};

/* The ISO 15924 code of `s` ("Latn"; "Zyyy" for LS_NONE). */
const char *lang_script_name(enum lang_script s);
/* The script named `name` (4 letters), or LS_NONE. */
enum lang_script lang_script_from_name(const char *name, size_t n);
/* The script of code point `cp` when it is a letter, else LS_NONE. */
enum lang_script lang_script_of(uint32_t cp);

/* Feature orders: 1..5 are character n-grams, 0 is the whole word. */
#define LANG_ORDERS	6
/* Bytes per profile entry in the profile file (see lang.c). */
#define LANG_PROF_BYTES	(8 + 4 * LANG_ORDERS + 4)
/* u16 values in a word row for a script written by n profiles. */
#define LANG_ROW(n)	(((unsigned)(n) + 7) & ~7u)

/*
 * Call fn(arg, key, order) for every feature of the words of `text` that
 * are written in `script` (lowercased, padded with spaces, at most
 * `max_letters` letters), the same features lang_detect() looks up.
 * Returns the number of letters used.
 */
unsigned lang_features(const char *text, size_t n, enum lang_script script,
	    unsigned max_letters,
	    void (*fn)(void *arg, uint32_t key, int order), void *arg);

/*
 * Call fn(arg, w, len) for every word of `text` written in `script`, as
 * lang_detect() scores it: w[0..len-1] are its lowercased code points
 * (at most LANG_MAX_WORD), borrowed for the call.  Returns the letters
 * used.
 */
unsigned lang_words(const char *text, size_t n, enum lang_script script,
	    unsigned max_letters,
	    void (*fn)(void *arg, const uint32_t *w, unsigned len), void *arg);

/* The 64-bit hash (never 0) naming word w[0..len-1] in the word table. */
uint64_t lang_word_hash(const uint32_t *w, unsigned len);

/*
 * The n-gram score sums of word w[0..len-1] (cut at LANG_MAX_WORD) for
 * each profile writing `script`, in profile order, into sums[] (LANG_MAX
 * room), looked up in the n-gram table only: what a word row holds.
 * Returns the number of those profiles.
 */
int	lang_word_sums(const struct lang_model *m, enum lang_script script,
	    const uint32_t *w, unsigned len, uint32_t *sums);

/*
 * Letters of each script in `text`: counts[s] for s < LS_COUNT (counts[0]
 * is the number of emoji and pictographs).  Returns the number of letters.
 */
unsigned lang_script_counts(const char *text, size_t n,
	    unsigned counts[LS_COUNT]);

#endif
