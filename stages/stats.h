/*
 * stats - mergeable aggregates of review records (shared by stats*.c).
 *
 * The state is a set of counter tables keyed by strings, two HyperLogLog
 * sketches and the bookkeeping for "replies overdue".  Everything is an
 * integer (sentiment scores are summed as micro-units), so adding records
 * in any order, or merging partial states in any order, gives the same
 * bytes out.
 *
 * Bounded memory: every table has a cap on its number of keys.  When a
 * table outgrows its cap it keeps only the keys whose xxh3 hash is at or
 * below a threshold, halving the threshold until it fits (a uniform,
 * deterministic sample of keys).  The threshold only depends on the set of
 * keys seen, never on their order, so a merge of partial states equals a
 * single run exactly, sampled or not; the kept keys' counters are exact.
 * Caps: sellers --max-sellers (default 65536), seller/evidence pairs 4x
 * that, evidence words 65536, days and due days 4096, other tables 1024.
 *
 * Overdue replies: a reply is overdue when reply.due_at < now, where now is
 * --now, or else the largest created_at of all input.  Without --now the
 * final "now" is unknown until the end, so due_at values not yet below the
 * running maximum are kept in a small pending map (in practice the last
 * day or so of reviews) and settled when the maximum moves or at the end.
 */
#ifndef REVPIPE_STATS_H
#define REVPIPE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "slice.h"

#define STATS_NTOPICS	10
extern const char *const stats_topic_names[STATS_NTOPICS];
#define STATS_NKINDS	4
extern const char *const stats_kind_names[STATS_NKINDS];

/* The counters of one group (all, platform, seller, language, day). */
enum {
	SG_N,
	SG_POS, SG_NEG, SG_NEU, SG_SENT_OTHER,
	SG_R0, SG_R1, SG_R2, SG_R3, SG_R4, SG_R5,	/* R0: no rating */
	SG_SCORE_N, SG_SCORE_SUM,	/* sent_score in micro-units, int64 */
	SG_DUE,				/* with reply.due_at */
	SG_COMPLAINT,			/* with at least one topic */
	SG_TOPIC,			/* STATS_NTOPICS, then "other" */
	SG_KIND = SG_TOPIC + STATS_NTOPICS + 1,	/* STATS_NKINDS, "other" */
	SG_NVAL = SG_KIND + STATS_NKINDS + 1
};

/* Upstream stage counters (--counts). */
enum { SC_READ, SC_WRITTEN, SC_DUPS, SC_REJECTS, SC_AGG, SC_NVAL };

struct stab_ent {
	uint64_t	 hash;
	uint64_t	*val;		/* nval counters, then the key bytes */
	size_t		 klen;
};

/*
 * Where a table's entries (counters, then key) live: carved from blocks
 * and freed with them, copied to new blocks when sampling drops keys.
 */
struct stab_pool {
	char		**blk;
	size_t		 nblk, capblk;
	char		*cur;
	size_t		 left;
};

/* The entries of a table sorted by key, kept until the table changes. */
struct stab_order {
	struct stab_ent	**v;		/* NULL: not sorted since a change */
	size_t		 n;
};

/*
 * Tables of few keys (platform, language, sentiment, day...) and the
 * seller table remember where the keys they found live, in a
 * direct-mapped cache of keys up to 16 bytes that stab_add() tries
 * before hashing.  An entry is good
 * while its generation is the table's; every change of the table starts
 * a new generation.
 */
#define STAB_NCACHE_BITS	4	/* small tables: 16 entries */
#define STAB_SELLER_CACHE_BITS	10	/* sellers: 1024 entries */
#define STAB_CACHE_MAXKEY	16

struct stab_cache {
	uint64_t	 w0, w1;	/* stab_words() of the key */
	uint64_t	*val;
	uint64_t	 gen;
	size_t		 klen;
};

struct stab {
	const char	*name;
	size_t		 nval;
	size_t		 cap;		/* most keys kept */
	uint64_t	 thr;		/* keys with hash <= thr are kept */
	struct stab_ent	*slot;		/* open addressing, 2^k slots */
	size_t		 nslot;
	size_t		 n;
	struct stab_order *order;	/* for stab_sorted() */
	struct stab_pool pool;
	bool		 keeplast;	/* use the cache */
	uint64_t	 gen;		/* 1 + changes so far */
	struct stab_cache *cache;	/* 2^cbits entries, or NULL */
	unsigned	 cbits;
};

static inline const char *
stab_key(const struct stab_ent *e, size_t nval)
{
	return (const char *)(e->val + nval);
}

/* Counters of `key`, created at zero; NULL when the key is sampled out. */
uint64_t *stab_add(struct stab *t, const char *key, size_t klen);
/* Entries sorted by key (bytewise), in a malloc'd array; *n its size. */
struct stab_ent **stab_sorted(const struct stab *t, size_t *n);
/* The same in no particular order. */
struct stab_ent **stab_entries(const struct stab *t, size_t *n);
/* Fraction of the hash space kept: 1.0 when nothing was dropped. */
double	stab_fraction(const struct stab *t);

#define HLL_P		14
#define HLL_M		(1u << HLL_P)

enum stats_tab {
	ST_ALL, ST_PLATFORM, ST_SELLER, ST_LANG, ST_DAY,	/* groups */
	ST_SENTIMENT, ST_TOPIC, ST_KIND, ST_ACTION,	/* one counter */
	ST_EVIDENCE,			/* word: [n] (complaints) */
	ST_SELLER_EVIDENCE,		/* seller NUL word: [n] */
	ST_DUEDAY,			/* due day: [n] */
	ST_STAGES,			/* stage: SC_* */
	ST_REJECTS,			/* stage NUL reason: [n] */
	ST_NTAB
};

#define STATS_NOW_UNSET	INT64_MIN

struct stats {
	struct stab	 tab[ST_NTAB];
	uint8_t		 hll_buyers[HLL_M];
	uint8_t		 hll_sellers[HLL_M];
	uint64_t	 records;
	int64_t		 now;		/* --now, or STATS_NOW_UNSET */
	int64_t		 max_created;	/* STATS_NOW_UNSET when none seen */
	uint64_t	 overdue;	/* settled overdue replies */
	/* Pending due_at values (>= max_created when added): key, count. */
	int64_t		*pend_key;
	uint64_t	*pend_cnt;
	size_t		 pend_n, pend_cap, pend_settled;
	/* Scratch: a key buffer and the last day formatted. */
	struct buf	 keybuf;
	int64_t		 day_num[2];
	bool		 day_valid[2];
	char		 day_str[2][16];
	size_t		 day_len[2];
};

/* Initialise with the seller cap; now is STATS_NOW_UNSET or a unix time. */
void	stats_init(struct stats *s, size_t max_sellers, int64_t now);
void	stats_release(struct stats *s);

/* One record's facts, gathered by the stage from a struct rec. */
struct stats_rec {
	struct slice	 platform, seller, buyer, lang, sentiment, kind, action;
	bool		 has_platform, has_seller, has_buyer, has_lang,
			 has_sentiment, has_kind, has_action;
	int64_t		 rating;	/* 0 when absent or out of 1..5 */
	bool		 has_created, has_score, has_due;
	int64_t		 created, due;
	int64_t		 score_micro;
	struct slice	*topics, *evidence;
	size_t		 ntopics, nevidence;
};

/* Topics and evidence words read from one record; more are ignored. */
#define STATS_MAXLIST	64

struct rec;

/*
 * The facts of record r into *sr (stats_read.c); topics and evidence are
 * STATS_MAXLIST slots each that sr then points to.  Missing keys and
 * values of other types leave the has_* flags false; a record's first
 * pair with a key counts; evidence keeps the buyer's words only.
 */
void	stats_rec_of(const struct rec *r, struct stats_rec *sr,
	    struct slice *topics, struct slice *evidence);
/*
 * The same from the msgpack bytes of one record at [p, end), without
 * the driver's index: the bytes of the record when it has only the
 * common shapes (string keys up to 31 bytes; nil, booleans, numbers,
 * strings up to str16, arrays and maps up to 16-bit counts, a few
 * levels deep), else 0, and then rec_parse() and stats_rec_of() decide.
 * Never reads at or past end.
 */
size_t	stats_scan(const char *p, const char *end, struct stats_rec *sr,
	    struct slice *topics, struct slice *evidence);

void	stats_add(struct stats *s, const struct stats_rec *r);
/* Upstream counts of one stage, and one reject. */
void	stats_add_stage(struct stats *s, struct slice stage,
	    const uint64_t cnt[SC_NVAL]);
void	stats_add_reject(struct stats *s, struct slice stage,
	    struct slice reason);

/* The partial state as msgpack, appended to `out`. */
void	stats_pack(struct stats *s, struct buf *out);
/*
 * Merge a packed partial state into s.  Returns 0, or -1 with a message in
 * err when the bytes are not a partial state or disagree on --now.
 */
int	stats_merge_packed(struct stats *s, const char *p, size_t n,
	    char *err, size_t errlen);

/* Final figures. */
int64_t	stats_now(const struct stats *s);	/* STATS_NOW_UNSET: unknown */
uint64_t stats_overdue(struct stats *s);
uint64_t hll_estimate(const uint8_t *reg);

/*
 * The entries of table `t` with the largest counter `idx` (ties by key),
 * at most k of them, in a malloc'd array; *n its size.
 */
struct stab_ent **stats_top(const struct stab *t, size_t idx, size_t k,
	    size_t *n);
/* Sellers by negative reviews, then negative share, then name. */
struct stab_ent **stats_worst(const struct stab *t, size_t k, size_t *n);
/*
 * The top k evidence words of seller `seller` from the sorted
 * seller_evidence entries sev[0..nsev); writes entries to out (k slots).
 */
size_t	stats_seller_evidence(struct stab_ent **sev, size_t nsev,
	    struct slice seller, size_t k, struct stab_ent **out);

/* stats.json and report.html, appended to `out`. */
void	stats_json(struct stats *s, struct buf *out, size_t top);
void	stats_html(struct stats *s, struct buf *out, size_t top);

/* "YYYY-MM-DD" of a unix time into b (11 bytes). */
void	stats_day(int64_t t, char b[16]);
/* "YYYY-MM-DDTHH:MM:SSZ" into b (21 bytes). */
void	stats_iso(int64_t t, char b[32]);
/* Parse --now: unix seconds or YYYY-MM-DD[THH:MM[:SS]][Z]. */
int	stats_parse_time(const char *s, int64_t *t);
/*
 * "%.*f" of v: stats_fix() writes it to d (room for 32 bytes) and returns
 * its length, or 0 when v is not a case it does exactly (prec over 6,
 * |v| >= 1e9, subnormal, NaN); stats_addfix() appends it to b either way.
 */
size_t	stats_fix(char *d, int prec, double v);
void	stats_addfix(struct buf *b, int prec, double v);
/* Append `s` JSON-escaped (without quotes) / HTML-escaped. */
void	stats_json_str(struct buf *b, const char *p, size_t n);
void	stats_html_str(struct buf *b, const char *p, size_t n);

#endif
