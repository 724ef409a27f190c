/*
 * reply.h - internals shared by reply.c (the stage and the composer),
 * reply_bank.c (phrase banks: parsing, picking, rendering), reply_fold.c
 * (folding text for matching, fact extraction) and reply_check.c (the
 * rule checker behind `revpipe reply --check`).
 *
 * Nothing here is part of the stage contract; other stages must not
 * include it.  The bank format is documented in models/reply/README.md.
 */
#ifndef REVPIPE_REPLY_H
#define REVPIPE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "slice.h"

/* ---- topics (schemas/review.v1 `topics`) ------------------------------- */

#define REPLY_TOPICS(X) X(delivery) X(quality) X(communication) \
	X(cancellation) X(refund) X(price) X(scope) X(fraud) X(rudeness) \
	X(support)

enum reply_topic {
#define REPLY_T(t) RT_##t,
	REPLY_TOPICS(REPLY_T)
#undef REPLY_T
	RT_NONE,		/* no topic: the "none" slots */
	RT_COUNT
};

/* "delivery" -> RT_delivery; unknown -> RT_NONE. */
enum reply_topic reply_topic_from(struct slice s);
const char	*reply_topic_name(enum reply_topic t);

/* ---- slots --------------------------------------------------------------- */

/*
 * Fixed slots, looked up once per bank at load.  The topic families
 * (ack.T, remedy.T, ...) are in reply_bank.family[][] instead.
 */
#define REPLY_SLOTS(X) \
	X(UNIT_DAY, "unit.day") X(UNIT_HOUR, "unit.hour") \
	X(UNIT_WEEK, "unit.week") X(UNIT_MONTH, "unit.month") \
	X(UNIT_FDAY, "unit.fday") X(UNIT_STAR, "unit.star") \
	X(QUOTE, "quote") X(DIGITS, "digits") \
	X(GREET, "greet") X(GREET_NAME, "greet.name") X(SIGN, "sign") \
	X(THANK_NEG, "thank.neg") X(ACK_QUOTE, "ack.quote") \
	X(FACT_LATE, "fact.late") X(FACT_MONEY, "fact.money") \
	X(FACT_SERVICE, "fact.service") \
	X(FACT_CANCEL_UNASKED, "fact.cancel_unasked") \
	X(FACT_EARLY_DELIVERY, "fact.early_delivery") \
	X(FACT_NO_ANSWER, "fact.no_answer") \
	X(FACT_EXTRA_ASK, "fact.extra_ask") \
	X(REMEDY_EARLY_DELIVERY, "remedy.early_delivery") \
	X(REMEDY_EARLY_DELIVERY_NOREV, "remedy.early_delivery.norev") \
	X(APOLOGY, "apology") X(MOVE, "move") X(PROMISE, "promise") \
	X(PRIVATE_INTRO, "private.intro") X(PRIVATE_ASK, "private.ask") \
	X(FOLLOWUP_ASK, "followup.ask") \
	X(FOLLOWUP_RESOLVED, "followup.resolved") \
	X(FAKE_PUBLIC, "fake.public") X(FAKE_PRIVATE, "fake.private") \
	X(FAKE_FOLLOWUP, "fake.followup") \
	X(ABUSIVE_PUBLIC, "abusive.public") \
	X(MISMATCH_PUBLIC, "mismatch.public") \
	X(POS_THANK, "pos.thank") X(LIKED_QUOTE, "liked.quote") \
	X(LIKED_SERVICE, "liked.service") X(POS_CLOSE, "pos.close") \
	X(NEU_THANK, "neu.thank") X(NEU_ASK, "neu.ask") \
	X(NEU_QUOTE, "neu.quote") \
	X(DETECT_DAY, "detect.unit.day") X(DETECT_HOUR, "detect.unit.hour") \
	X(DETECT_WEEK, "detect.unit.week") \
	X(DETECT_MONTH, "detect.unit.month") \
	X(DETECT_MONEY, "detect.money") X(DETECT_LATE, "detect.late") \
	X(DETECT_CANCEL_UNASKED, "detect.cancel_unasked") \
	X(DETECT_EARLY_DELIVERY, "detect.early_delivery") \
	X(DETECT_NO_ANSWER, "detect.no_answer") \
	X(DETECT_EXTRA_ASK, "detect.extra_ask") \
	X(CHECK_APOLOGY, "check.apology") X(CHECK_REMEDY, "check.remedy") \
	X(CHECK_THANK, "check.thank") X(CHECK_DETAILS, "check.details") \
	X(CHECK_STARS, "check.stars") X(CHECK_BLAME, "check.blame") \
	X(CHECK_STOCK, "check.stock") X(CHECK_RATING, "check.rating") \
	X(CHECK_RATING_CHANGE, "check.rating_change") \
	X(CHECK_GIFT, "check.gift") \
	X(CHECK_REFUND_OFFER, "check.refund_offer") \
	X(DETECT_UNASKED, "detect.unasked") \
	X(DETECT_CANCEL, "detect.cancel") \
	X(DETECT_NUMBER, "detect.number") \
	X(DETECT_BEFORE, "detect.before") \
	X(DETECT_PROMISED, "detect.promised") \
	X(DETECT_LATEBY, "detect.lateby") \
	X(DETECT_TOOK, "detect.took") \
	X(FACT_LATE_TOOK, "fact.late.took") \
	X(DETECT_EXTRA, "detect.extra") \
	X(DETECT_EXTRA_BEFORE, "detect.extra.before") \
	X(DETECT_ASK, "detect.ask") \
	X(DETECT_UNDELIVERED, "detect.undelivered") \
	X(DETECT_DELIVERED_LATE, "detect.delivered_late") \
	X(REMEDY_DELIVERY_PENDING, "remedy.delivery.pending") \
	X(REMEDY_DELIVERY_PENDING_NOREFUND, \
	    "remedy.delivery.pending.norefund") \
	X(REMEDY_DELIVERY_LATE, "remedy.delivery.late") \
	X(REMEDY_DELIVERY_LATE_NOREFUND, "remedy.delivery.late.norefund")

enum reply_slot {
#define REPLY_S(id, name) RS_##id,
	REPLY_SLOTS(REPLY_S)
#undef REPLY_S
	RS_COUNT
};

/* Topic families: FAMILY.TOPIC ("ack.delivery", "remedy.none", ...). */
enum reply_family {
	RF_ACK,			/* "ack" */
	RF_REMEDY,		/* "remedy" */
	RF_REMEDY_NOREFUND,	/* "remedy.T.norefund" */
	RF_REMEDY_NOREV,	/* "remedy.T.norev" */
	RF_REMEDY_NOREFUND_NOREV, /* "remedy.T.norefund.norev" */
	RF_LIKED,		/* "liked" */
	RF_CHECK_TOPIC,		/* "check.topic" */
	RF_COUNT
};

/* Variant tone marks ("f: ", "y: " at the start of a line). */
#define REPLY_TONE_ANY		0
#define REPLY_TONE_FORMAL	1
#define REPLY_TONE_FRIENDLY	2

struct reply_var {
	const char	*p;	/* the text, into the model bytes or the arena */
	uint32_t	 n;
	uint8_t		 tone;
	bool		 plain;	/* no '{': nothing to expand */
};

struct reply_slotv {
	uint32_t	 first;	/* into reply_bank.vars */
	uint32_t	 n;	/* 0 = slot absent or empty */
	const char	*name;	/* into the model bytes */
	uint32_t	 namelen;
	uint32_t	 fit[3];	/* variants fitting each REPLY_TONE_* */
	uint64_t	 smix[4];	/* reply_mix(index << 4 | part) */
	const char	*tmpl;		/* "LANG/name." of its template ids */
	uint32_t	 tmpllen;
};

/* Money patterns: "pattern => template" where '#' is the number. */
struct reply_money {
	struct slice	 pat;	/* folded */
	struct slice	 tmpl;
	bool		 extra_only;	/* "+pattern": in a text about paying
					 * more only ("۵۰ هزار تومان بیشتر") */
};

/* A detection stem in the one-pass matcher (reply_fold.c). */
struct reply_dstem {
	const char	*p;	/* folded */
	uint32_t	 n;
	uint32_t	 what;	/* REPLY_D_* */
	uint32_t	 head;	/* p[0..3] as loaded from memory, when n >= 4 */
	uint64_t	 head8;	/* p[0..7] likewise, when n >= 8 */
};

/*
 * One tier of the matcher: stems by a hash of their first 4 bytes (tier
 * 0: stems of 4 to 7 bytes) or 8 bytes (tier 1: 8 and more), and a
 * filter of REPLY_DX_BITS bits on the same hash (tier 0's also has the
 * bits of tier 1's stems by their first 4 bytes).
 */
struct reply_dtier {
	struct reply_dstem *st;		/* by bucket */
	uint32_t	*start;		/* REPLY_DX_BUCKETS + 1 */
	uint64_t	*bits;
	uint32_t	 n;
};

enum {
	REPLY_D_LATE, REPLY_D_CANCEL_UNASKED, REPLY_D_EARLY_DELIVERY,
	REPLY_D_NO_ANSWER, REPLY_D_EXTRA_ASK,
	/*
	 * Parts of a situation said in any order: a one-sided act ("without
	 * asking", "on his own") and a cancellation make cancel_unasked.
	 */
	REPLY_D_UNASKED, REPLY_D_CANCEL,
	/* A promised time ("promised", "срок был"): durations are read. */
	REPLY_D_PROMISED,
	/*
	 * An amount asked for on top ("$60 more", "ещё 2000"): the word after
	 * the amount, or before it.  Amounts are then read more carefully.
	 */
	REPLY_D_EXTRA, REPLY_D_EXTRA_BEFORE,
	/* Nothing delivered yet; delivered, but late: the delay remedy. */
	REPLY_D_UNDELIVERED, REPLY_D_DELIVERED_LATE,
	REPLY_D_COUNT
};

/* A number word of detect.number ("three => 3"), parsed at load. */
struct reply_numw {
	const char	*p;	/* the folded word(s) */
	uint32_t	 n;
	long		 v;
};

/* Buckets and filter bits of a matcher tier. */
#define REPLY_DX_BUCKETS	4096
#define REPLY_DX_BITS		65536

struct reply_bank {
	char		 lang[8];
	struct reply_var *vars;
	size_t		 nvars;
	struct reply_slotv *slots;	/* in file order */
	size_t		 nslots;
	int		 fixed[RS_COUNT];	/* index into slots or -1 */
	int		 family[RF_COUNT][RT_COUNT];
	struct reply_money *money;
	size_t		 nmoney;
	struct arena	 mem;		/* folded copies of detect/check stems */
	struct reply_dtier dt[2];	/* detect stems of 4-7, 8+ bytes */
	struct reply_dstem *dx_short;	/* detect stems of 2 or 3 bytes */
	uint32_t	 ndx_short;
	uint64_t	*dx_pair;	/* bit: a short stem's first pair */
	bool		 dx_lead;	/* every stem starts a character */
	struct reply_numw *numw;	/* detect.number, in file order */
	uint32_t	 nnumw;
	uint64_t	*numw_pair;	/* bit: a number word's first pair */
};

/* Build the one-pass matcher of b's detect slots; 0, or -1 out of memory. */
int	reply_detect_index(struct reply_bank *b);

/*
 * Parse the bank bytes `p`, `n` (borrowed for the bank's lifetime) for
 * language `lang` into *b.  Detect and check stems are folded into b->mem.
 * Returns 0, or -1 with a sentence (naming the line) in err.
 */
int	reply_bank_load(struct reply_bank *b, const char *lang, const char *p,
	    size_t n, char *err, size_t errlen);
void	reply_bank_release(struct reply_bank *b);

/* The slot for a fixed id or a family/topic, or NULL when absent. */
const struct reply_slotv *reply_slot(const struct reply_bank *b,
	    enum reply_slot id);
const struct reply_slotv *reply_family(const struct reply_bank *b,
	    enum reply_family f, enum reply_topic t);

/*
 * Pick a variant of slot `s` for tone `tone` from hash `h` and `salt`:
 * the index of the variant within the slot, or -1 when none fits.
 */
int	reply_pick(const struct reply_slotv *s, const struct reply_bank *b,
	    uint64_t h, uint64_t salt, int tone);

/* SplitMix64 finaliser: spreads `x` over 64 bits. */
static inline uint64_t
reply_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- folding and facts (reply_fold.c) ------------------------------------- */

/*
 * Fold UTF-8 `s`, `n` for matching into `out` (appended): lower case
 * (Latin, Cyrillic with the Kazakh letters, Greek), Greek accents and
 * final sigma removed, Arabic diacritics and tatweel dropped, alef forms
 * and Persian yeh/kaf written as Arabic ones, Arabic-Indic and Persian
 * digits as ASCII, typographic apostrophes as '.  Invalid bytes are
 * copied.  Returns the number of bytes appended.
 */
size_t	reply_fold(struct buf *out, const char *s, size_t n);

/* True when folded text `t` contains any stem of slot `s`. */
bool	reply_has_any(const struct reply_bank *b, const struct reply_slotv *s,
	    struct slice t);
/* Like reply_has_any(), and the matching stem in *hit. */
bool	reply_find_any(const struct reply_bank *b, const struct reply_slotv *s,
	    struct slice t, struct slice *hit);

enum reply_unit { RU_NONE, RU_DAY, RU_HOUR, RU_WEEK, RU_MONTH };

/* Concrete facts found in a review's folded text. */
struct reply_facts {
	enum reply_unit	 unit;		/* a duration "5 days" */
	long		 dur;
	bool		 dur_took;	/* dur is how long it took */
	struct slice	 money_num;	/* "50" of an amount, ASCII digits */
	const struct reply_money *money;	/* its pattern, or NULL */
	bool		 late;		/* a lateness word */
	bool		 undelivered;	/* "still nothing delivered" */
	bool		 delivered_late;	/* "finally arrived" */
	bool		 cancel_unasked, early_delivery, no_answer, extra_ask;
};

/* Scan folded text `t` with the bank's detect lists into *f. */
void	reply_facts_scan(const struct reply_bank *b, struct slice t,
	    struct reply_facts *f);

/*
 * Does a unit word of bank b ("days", "дней", "أيام") start the text at
 * p, before end (not folded)?  `tmp` is scratch, emptied first.
 */
bool	reply_unit_word(const struct reply_bank *b, struct buf *tmp,
	    const char *p, const char *end);

/*
 * Plural form index of `n` for language `lang`: en el: one, other;
 * ru: one, few, many; ar: one, two, few, many, other; others: one form.
 */
int	reply_plural(const char *lang, long n);

/* Code points in UTF-8 `s`. */
size_t	reply_utf8_len(struct slice s);

/* ---- the stage's state, shared with the checker ------------------------- */

#define REPLY_MAXLANG	8
#define REPLY_MAXTMPL	32

/* What kind of reply a record gets (from kind, sentiment and rating). */
enum reply_case {
	RC_NEGATIVE,		/* genuine negative */
	RC_NEUTRAL,
	RC_POSITIVE,
	RC_FAKE,		/* suspect_fake */
	RC_ABUSIVE,
	RC_MISMATCH		/* rating_mismatch */
};

struct reply_info {
	enum reply_case	 rcase;
	struct slice	 id, text, lang, buyer, service;
	bool		 has_lang;
	int64_t		 rating;	/* 0 when absent */
	int64_t		 created_at;
	bool		 has_created;
	int64_t		 severity;	/* classify: 0..3, 0 when absent */
	enum reply_topic topics[RT_COUNT];
	int		 ntopics;
	/* The msgpack value of the first "evidence" key, or NULL. */
	const char	*evidence, *evidence_end;
};

struct reply_check;

struct reply_state {
	struct reply_bank banks[REPLY_MAXLANG];
	int		 nbanks;
	int		 en;		/* index of the English bank */
	/* Options. */
	const char	*signature;	/* NULL: none */
	long		 sla_hours, followup_days, revisions;
	bool		 refunds, ignore_abusive;
	int		 tone;
	/* Per-record output, reused. */
	struct buf	 pub, prv, fup, fres, fold, tmp;
	struct reply_check *check;	/* --check */
};

/*
 * Read the keys a reply depends on into *in; returns NULL, or the reject
 * reason ("missing_field", "bad_field") with a detail in `detail`.
 */
struct rec;
const char *reply_read(const struct rec *r, struct reply_info *in,
	    char *detail, size_t dlen);
/* The bank for language `lang`, or NULL when it is not supported. */
const struct reply_bank *reply_bank_for(const struct reply_state *st,
	    struct slice lang);

struct stage_ctx;
/* Is model `name` there (under --models DIR, else built in)? */
bool	reply_model_exists(const struct stage_ctx *ctx, const char *name);
/* reply_check.c: `revpipe reply --check`. */
int	reply_check_init(struct stage_ctx *ctx, struct reply_state *st);
int	reply_check_process(struct stage_ctx *ctx, struct reply_state *st,
	    const struct rec *r);
int	reply_check_finish(struct stage_ctx *ctx, struct reply_state *st);
void	reply_check_free(struct reply_state *st);

#endif
