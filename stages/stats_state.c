/*
 * stats_state - the mergeable aggregate state of the stats stage.
 *
 * See stats.h for the sampling rule that keeps memory bounded and merges
 * exact.  The packed partial state is a msgpack map:
 *     {"format": "revpipe-stats-partial", "version": 1, "records": u,
 *      "now": i|nil, "max_created": i|nil, "overdue": u,
 *      "pending": [due, n, ...], "hll_buyers": bin, "hll_sellers": bin,
 *      "tables": {name: {"cap": u, "thr": u, "nval": u,
 *                        "ents": [key(bin), v0, ..., key, ...]}}}
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Inlined: most keys are a few bytes, where the call is most of the cost. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "mp.h"
#include "rec.h"
#include "stats.h"

const char *const stats_topic_names[STATS_NTOPICS] = {
	"delivery", "quality", "communication", "cancellation", "refund",
	"price", "scope", "fraud", "rudeness", "support"
};

const char *const stats_kind_names[STATS_NKINDS] = {
	"genuine", "suspect_fake", "abusive", "rating_mismatch"
};

static const struct {
	const char	*name;
	size_t		 nval;
	size_t		 cap;	/* 0: --max-sellers; 1: 4x that */
} stats_tabs[ST_NTAB] = {
	[ST_ALL] = { "all", SG_NVAL, 4 },
	[ST_PLATFORM] = { "platform", SG_NVAL, 1024 },
	[ST_SELLER] = { "seller", SG_NVAL, 0 },
	[ST_LANG] = { "lang", SG_NVAL, 1024 },
	[ST_DAY] = { "day", SG_NVAL, 4096 },
	[ST_SENTIMENT] = { "sentiment", 1, 1024 },
	[ST_TOPIC] = { "topic", 1, 1024 },
	[ST_KIND] = { "kind", 1, 1024 },
	[ST_ACTION] = { "action", 1, 1024 },
	[ST_EVIDENCE] = { "evidence", 1, 65536 },
	[ST_SELLER_EVIDENCE] = { "seller_evidence", 1, 1 },
	[ST_DUEDAY] = { "dueday", 1, 4096 },
	[ST_STAGES] = { "stages", SC_NVAL, 256 },
	[ST_REJECTS] = { "rejects", 1, 4096 },
};

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (p == NULL) {
		fprintf(stderr, "revpipe stats: out of memory\n");
		abort();
	}
	return p;
}

/* ---- sampled counter tables -------------------------------------------- */

static void
stab_init(struct stab *t, const char *name, size_t nval, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->nval = nval;
	t->cap = cap;
	t->thr = UINT64_MAX;
	t->gen = 1;		/* the cache's zeroed entries are stale */
	t->nslot = 16;
	t->slot = xcalloc(t->nslot, sizeof(*t->slot));
	t->order = xcalloc(1, sizeof(*t->order));
}

#define STAB_BLOCK	(64 << 10)

/* n zeroed bytes (a multiple of 8) for an entry of the table. */
static uint64_t *
stab_pool_alloc(struct stab_pool *m, size_t n)
{
	char *b;

	if (n > m->left) {
		if (m->nblk == m->capblk) {
			size_t cap = m->capblk ? m->capblk * 2 : 8;
			char **nb = realloc(m->blk, cap * sizeof(*nb));

			if (nb == NULL) {
				fprintf(stderr, "revpipe stats: out of memory\n");
				abort();
			}
			m->blk = nb;
			m->capblk = cap;
		}
		/* A big entry gets a block of its own; the current stays. */
		if (n > STAB_BLOCK / 4) {
			m->blk[m->nblk++] = b = xcalloc(1, n);
			return (uint64_t *)(void *)b;
		}
		m->blk[m->nblk++] = m->cur = xcalloc(1, STAB_BLOCK);
		m->left = STAB_BLOCK;
	}
	b = m->cur;
	m->cur += n;
	m->left -= n;
	return (uint64_t *)(void *)b;
}

static void
stab_pool_release(struct stab_pool *m)
{
	size_t i;

	for (i = 0; i < m->nblk; i++)
		free(m->blk[i]);
	free(m->blk);
	memset(m, 0, sizeof(*m));
}

/* Bytes of an entry with klen key bytes: counters, key, NUL, padding. */
static size_t
stab_entsize(const struct stab *t, size_t klen)
{
	return (t->nval * sizeof(uint64_t) + klen + 1 + 7) & ~(size_t)7;
}

static void
stab_release(struct stab *t)
{
	stab_pool_release(&t->pool);
	free(t->cache);
	t->cache = NULL;
	t->keeplast = false;
	free(t->slot);
	t->slot = NULL;
	t->n = t->nslot = 0;
	if (t->order != NULL)
		free(t->order->v);
	free(t->order);
	t->order = NULL;
}

static void	stab_changed(struct stab *);

static void
stab_put(struct stab_ent *slot, size_t nslot, const struct stab_ent *e)
{
	size_t i = e->hash & (nslot - 1);

	while (slot[i].val != NULL)
		i = (i + 1) & (nslot - 1);
	slot[i] = *e;
}

/* Rehash into nslot slots, dropping keys above the threshold. */
static void
stab_rebuild(struct stab *t, size_t nslot)
{
	struct stab_ent *slot = xcalloc(nslot, sizeof(*slot));
	struct stab_pool old = t->pool;
	struct stab_ent e;
	size_t i, n = t->n;
	size_t sz;

	stab_changed(t);
	t->n = 0;
	for (i = 0; i < t->nslot; i++) {
		if (t->slot[i].val == NULL || t->slot[i].hash > t->thr)
			continue;
		stab_put(slot, nslot, &t->slot[i]);
		t->n++;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	if (t->n == n)
		return;
	/* Keys were dropped: move the kept entries to fresh blocks. */
	memset(&t->pool, 0, sizeof(t->pool));
	for (i = 0; i < t->nslot; i++) {
		if (t->slot[i].val == NULL)
			continue;
		e = t->slot[i];
		sz = stab_entsize(t, e.klen);
		t->slot[i].val = stab_pool_alloc(&t->pool, sz);
		memcpy(t->slot[i].val, e.val, sz);
	}
	stab_pool_release(&old);
}

/* memcmp(a, b, n) == 0 for the short keys of most tables, without a call. */
static inline bool
stab_keyeq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		a += 4;
		b += 4;
		n -= 4;
	}
	for (; n > 0; n--)
		if (*a++ != *b++)
			return false;
	return true;
}

static struct stab_ent *
stab_find(const struct stab *t, uint64_t h, const char *key, size_t klen)
{
	size_t i = h & (t->nslot - 1);
	struct stab_ent *e;

	for (;; i = (i + 1) & (t->nslot - 1)) {
		e = &t->slot[i];
		if (e->val == NULL)
			return NULL;
		if (e->hash == h && e->klen == klen &&
		    stab_keyeq(stab_key(e, t->nval), key, klen))
			return e;
	}
}

static void
stab_lower(struct stab *t, uint64_t thr)
{
	if (thr >= t->thr)
		return;
	t->thr = thr;
	stab_rebuild(t, t->nslot);
}

/*
 * Two words that, with the length, tell a key of up to 16 bytes from
 * every other: the first and last 8 (or 4) bytes, overlapping, or the
 * bytes themselves.
 */
static inline void
stab_words(const char *key, size_t klen, uint64_t *w0, uint64_t *w1)
{
	const unsigned char *u = (const unsigned char *)key;
	uint32_t a, b;

	if (klen >= 8) {
		memcpy(w0, key, 8);
		memcpy(w1, key + klen - 8, 8);
	} else if (klen >= 4) {
		memcpy(&a, key, 4);
		memcpy(&b, key + klen - 4, 4);
		*w0 = a;
		*w1 = b;
	} else {
		*w0 = klen == 0 ? 0 : (uint64_t)u[0] | (uint64_t)u[klen / 2] << 8 |
		    (uint64_t)u[klen - 1] << 16;
		*w1 = 0;
	}
}

static inline struct stab_cache *
stab_cache_slot(struct stab *t, uint64_t w0, uint64_t w1, size_t klen)
{
	uint64_t x = (w0 ^ (w1 * 0x9e3779b97f4a7c15ULL) ^ klen) *
	    0xff51afd7ed558ccdULL;

	return &t->cache[x >> (64 - t->cbits)];
}

/* stab_add() past its cache: c is the cache entry to fill, or NULL. */
static uint64_t *
stab_add_slow(struct stab *t, const char *key, size_t klen,
    struct stab_cache *c, uint64_t w0, uint64_t w1)
{
	uint64_t h;
	struct stab_ent *e, ne;

	h = XXH3_64bits(key, klen);
	if (h > t->thr)
		return NULL;
	if ((e = stab_find(t, h, key, klen)) != NULL) {
		if (c != NULL) {
			c->w0 = w0;
			c->w1 = w1;
			c->klen = klen;
			c->val = e->val;
			c->gen = t->gen;
		}
		return e->val;
	}
	if ((t->n + 1) * 4 > t->nslot * 3)
		stab_rebuild(t, t->nslot * 2);
	stab_changed(t);
	ne.hash = h;
	ne.klen = klen;
	ne.val = stab_pool_alloc(&t->pool, stab_entsize(t, klen));
	memcpy((char *)(ne.val + t->nval), key, klen);
	stab_put(t->slot, t->nslot, &ne);
	t->n++;
	if (t->n <= t->cap)
		return ne.val;
	while (t->n > t->cap)
		stab_lower(t, t->thr >> 1);
	e = stab_find(t, h, key, klen);
	return e == NULL ? NULL : e->val;
}

/* stab_add(), inlined where stats_add() calls it many times a record. */
static inline __attribute__((always_inline)) uint64_t *
stab_get(struct stab *t, const char *key, size_t klen)
{
	uint64_t w0, w1;
	struct stab_cache *c;

	/* Platform, day, sentiment: a key found before, mostly. */
	if (!t->keeplast || klen > STAB_CACHE_MAXKEY)
		return stab_add_slow(t, key, klen, NULL, 0, 0);
	stab_words(key, klen, &w0, &w1);
	c = stab_cache_slot(t, w0, w1, klen);
	if (c->gen == t->gen && c->klen == klen && c->w0 == w0 &&
	    c->w1 == w1)
		return c->val;
	return stab_add_slow(t, key, klen, c, w0, w1);
}

uint64_t *
stab_add(struct stab *t, const char *key, size_t klen)
{
	return stab_get(t, key, klen);
}

/*
 * An entry and the first 16 bytes of its key, big-endian, zero-padded
 * (seller_evidence keys share their first 8 bytes with the seller's).
 */
struct stab_pre {
	uint64_t	 pre, pre2;
	struct stab_ent	*e;
};

/*
 * Bytewise key order (a prefix first).  Zero-padded prefixes that differ
 * already decide it: at the first byte that differs either both keys have
 * a byte there, or the shorter one ends there and the other has a byte
 * above 0 (a 0 would not differ).
 */
static inline int
stab_precmp(const struct stab_pre *a, const struct stab_pre *b, size_t nval)
{
	size_t n;
	int c;

	if (a->pre != b->pre)
		return a->pre < b->pre ? -1 : 1;
	if (a->pre2 != b->pre2)
		return a->pre2 < b->pre2 ? -1 : 1;
	n = a->e->klen < b->e->klen ? a->e->klen : b->e->klen;
	if (n > 16 && (c = memcmp(stab_key(a->e, nval) + 16,
	    stab_key(b->e, nval) + 16, n - 16)) != 0)
		return c;
	return a->e->klen < b->e->klen ? -1 : a->e->klen > b->e->klen;
}

/* Merge sort of v[0..n) with tmp (n items) as room; no callbacks. */
static void
stab_msort(struct stab_pre *v, struct stab_pre *tmp, size_t n, size_t nval)
{
	struct stab_pre *src = v, *dst = tmp, *t, x;
	size_t w, i, j, lo, mid, hi, k;

	/* Runs of 8 by insertion, then merges of doubling width. */
	for (lo = 0; lo < n; lo += 8) {
		hi = lo + 8 < n ? lo + 8 : n;
		for (i = lo + 1; i < hi; i++) {
			x = v[i];
			for (j = i; j > lo && stab_precmp(&x, &v[j - 1],
			    nval) < 0; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	}
	for (w = 8; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			i = lo;
			j = mid;
			k = lo;
			while (i < mid && j < hi)
				dst[k++] = stab_precmp(&src[j], &src[i],
				    nval) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

struct stab_ent **
stab_sorted(const struct stab *t, size_t *n)
{
	struct stab_order *o = t->order;
	struct stab_ent **v = xcalloc(t->n + 1, sizeof(*v));
	struct stab_pre *pv, *tmp;
	const unsigned char *key;
	size_t i, j, k = 0;

	/* Sorted once per change: the outputs ask for a table many times. */
	if (o->v == NULL) {
		pv = xcalloc(2 * t->n + 1, sizeof(*pv));
		tmp = pv + t->n;
		for (i = 0; i < t->nslot; i++) {
			if (t->slot[i].val == NULL)
				continue;
			key = (const unsigned char *)stab_key(&t->slot[i],
			    t->nval);
			pv[k].pre = pv[k].pre2 = 0;
			for (j = 0; j < 8; j++)
				pv[k].pre = pv[k].pre << 8 |
				    (j < t->slot[i].klen ? key[j] : 0);
			for (j = 8; j < 16; j++)
				pv[k].pre2 = pv[k].pre2 << 8 |
				    (j < t->slot[i].klen ? key[j] : 0);
			pv[k++].e = &t->slot[i];
		}
		stab_msort(pv, tmp, k, t->nval);
		o->v = xcalloc(k + 1, sizeof(*o->v));
		for (i = 0; i < k; i++)
			o->v[i] = pv[i].e;
		o->n = k;
		free(pv);
	}
	memcpy(v, o->v, o->n * sizeof(*v));
	*n = o->n;
	return v;
}

struct stab_ent **
stab_entries(const struct stab *t, size_t *n)
{
	struct stab_ent **v = xcalloc(t->n + 1, sizeof(*v));
	size_t i, k = 0;

	for (i = 0; i < t->nslot; i++)
		if (t->slot[i].val != NULL)
			v[k++] = &t->slot[i];
	*n = k;
	return v;
}

/* Forget the sorted order: the table's keys or slots changed. */
static void
stab_changed(struct stab *t)
{
	t->gen++;
	if (t->order->v != NULL) {
		free(t->order->v);
		t->order->v = NULL;
	}
}

double
stab_fraction(const struct stab *t)
{
	if (t->thr == UINT64_MAX)
		return 1.0;
	return ((double)t->thr + 1.0) / 18446744073709551616.0;
}

/* ---- HyperLogLog (p = 14, xxh3) ---------------------------------------- */

static void
hll_add(uint8_t *reg, const char *p, size_t n)
{
	uint64_t h = XXH3_64bits(p, n);
	uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
	uint64_t w = (h << HLL_P) | ((uint64_t)1 << (HLL_P - 1));
	uint8_t rho = (uint8_t)(__builtin_clzll(w) + 1);

	if (rho > reg[idx])
		reg[idx] = rho;
}

uint64_t
hll_estimate(const uint8_t *reg)
{
	double m = HLL_M, sum = 0, e, pow2[256];
	unsigned zeros = 0, i;

	/* 2^-r for every register value: the same doubles, no calls. */
	for (i = 0; i < 256; i++)
		pow2[i] = ldexp(1.0, -(int)i);
	for (i = 0; i < HLL_M; i++) {
		sum += pow2[reg[i]];
		if (reg[i] == 0)
			zeros++;
	}
	e = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
	if (e <= 2.5 * m && zeros != 0)
		e = m * log(m / zeros);
	return (uint64_t)llround(e);
}

/* ---- the state ---------------------------------------------------------- */

void
stats_init(struct stats *s, size_t max_sellers, int64_t now)
{
	size_t i, cap;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < ST_NTAB; i++) {
		cap = stats_tabs[i].cap;
		if (i == ST_SELLER)
			cap = max_sellers;
		else if (i == ST_SELLER_EVIDENCE)
			cap = max_sellers * 4;
		stab_init(&s->tab[i], stats_tabs[i].name, stats_tabs[i].nval,
		    cap);
		if (i == ST_EVIDENCE || i == ST_SELLER_EVIDENCE)
			continue;
		s->tab[i].cbits = i == ST_SELLER ? STAB_SELLER_CACHE_BITS :
		    STAB_NCACHE_BITS;
		s->tab[i].cache = xcalloc((size_t)1 << s->tab[i].cbits,
		    sizeof(*s->tab[i].cache));
		s->tab[i].keeplast = true;
	}
	s->now = now;
	s->max_created = STATS_NOW_UNSET;
	buf_init(&s->keybuf);
}

void
stats_release(struct stats *s)
{
	size_t i;

	for (i = 0; i < ST_NTAB; i++)
		stab_release(&s->tab[i]);
	free(s->pend_key);
	free(s->pend_cnt);
	buf_release(&s->keybuf);
	memset(s, 0, sizeof(*s));
}

/* Pending due_at values: open addressing, INT64_MIN marks a free slot. */
static void
pend_put(int64_t *key, uint64_t *cnt, size_t cap, int64_t k, uint64_t c)
{
	size_t i = XXH3_64bits(&k, sizeof(k)) & (cap - 1);

	while (key[i] != INT64_MIN && key[i] != k)
		i = (i + 1) & (cap - 1);
	key[i] = k;
	cnt[i] += c;
}

/* Move every pending value below max_created to the settled count. */
static void
pend_rehash(struct stats *s, size_t cap)
{
	int64_t *key = xcalloc(cap, sizeof(*key));
	uint64_t *cnt = xcalloc(cap, sizeof(*cnt));
	size_t i, n = 0;

	for (i = 0; i < cap; i++)
		key[i] = INT64_MIN;
	for (i = 0; i < s->pend_cap; i++) {
		if (s->pend_key[i] == INT64_MIN)
			continue;
		if (s->now == STATS_NOW_UNSET &&
		    s->pend_key[i] < s->max_created) {
			s->overdue += s->pend_cnt[i];
			continue;
		}
		pend_put(key, cnt, cap, s->pend_key[i], s->pend_cnt[i]);
		n++;
	}
	free(s->pend_key);
	free(s->pend_cnt);
	s->pend_key = key;
	s->pend_cnt = cnt;
	s->pend_cap = cap;
	s->pend_n = s->pend_settled = n;
}

static void
pend_add(struct stats *s, int64_t due, uint64_t c)
{
	size_t i;

	if (s->pend_cap == 0)
		pend_rehash(s, 1024);
	i = XXH3_64bits(&due, sizeof(due)) & (s->pend_cap - 1);
	while (s->pend_key[i] != INT64_MIN && s->pend_key[i] != due)
		i = (i + 1) & (s->pend_cap - 1);
	if (s->pend_key[i] == INT64_MIN)
		s->pend_n++;
	s->pend_key[i] = due;
	s->pend_cnt[i] += c;
	if (s->pend_n * 4 > s->pend_cap * 3) {
		/* Settle first; grow only if that did not free enough. */
		pend_rehash(s, s->pend_cap);
		if (s->pend_n * 2 > s->pend_cap)
			pend_rehash(s, s->pend_cap * 2);
	}
}

static void
due_add(struct stats *s, int64_t due, uint64_t c)
{
	if (s->now != STATS_NOW_UNSET) {
		if (due < s->now)
			s->overdue += c;
	} else if (s->max_created != STATS_NOW_UNSET &&
	    due < s->max_created)
		s->overdue += c;
	else
		pend_add(s, due, c);
}

int64_t
stats_now(const struct stats *s)
{
	return s->now != STATS_NOW_UNSET ? s->now : s->max_created;
}

uint64_t
stats_overdue(struct stats *s)
{
	int64_t now = stats_now(s);
	uint64_t n = s->overdue;
	size_t i;

	if (now == STATS_NOW_UNSET)
		return n;
	for (i = 0; i < s->pend_cap; i++)
		if (s->pend_key[i] != INT64_MIN && s->pend_key[i] < now)
			n += s->pend_cnt[i];
	return n;
}

/* Index of t in names[0..n), or n; the first byte settles most misses. */
static inline size_t
name_index(struct slice t, const char *const *names, size_t n)
{
	size_t i;

	if (t.n == 0)
		return n;
	for (i = 0; i < n; i++)
		if (names[i][0] == t.p[0] && slice_eq(t, names[i]))
			return i;
	return n;
}

static size_t
topic_index(struct slice t)
{
	return name_index(t, stats_topic_names, STATS_NTOPICS);
}

static size_t
kind_index(struct slice k)
{
	return name_index(k, stats_kind_names, STATS_NKINDS);
}

/* s holds the three bytes of the literal `lit`. */
#define SENT_IS(s, lit)	((s).n == 3 && memcmp((s).p, lit, 3) == 0)

/* What group_add() needs of a record, worked out once for its groups. */
struct stats_facts {
	size_t		 sent;		/* SG_POS, SG_NEG, SG_NEU, SG_SENT_OTHER */
	size_t		 kind;		/* SG_KIND + index, or 0: no kind */
	size_t		 topic[64];	/* SG_TOPIC + index */
};

static void
facts_of(const struct stats_rec *r, struct stats_facts *f)
{
	size_t i;

	if (!r->has_sentiment)
		f->sent = SG_SENT_OTHER;
	else if (SENT_IS(r->sentiment, "pos"))
		f->sent = SG_POS;
	else if (SENT_IS(r->sentiment, "neg"))
		f->sent = SG_NEG;
	else if (SENT_IS(r->sentiment, "neu"))
		f->sent = SG_NEU;
	else
		f->sent = SG_SENT_OTHER;
	f->kind = r->has_kind ? SG_KIND + kind_index(r->kind) : 0;
	for (i = 0; i < r->ntopics && i < 64; i++)
		f->topic[i] = SG_TOPIC + topic_index(r->topics[i]);
}

static void
group_add(uint64_t *g, const struct stats_rec *r, const struct stats_facts *f)
{
	size_t i;

	if (g == NULL)
		return;
	g[SG_N]++;
	g[f->sent]++;
	g[SG_R0 + r->rating]++;
	if (r->has_score) {
		g[SG_SCORE_N]++;
		g[SG_SCORE_SUM] += (uint64_t)r->score_micro;
	}
	if (r->has_due)
		g[SG_DUE]++;
	if (r->ntopics != 0)
		g[SG_COMPLAINT]++;
	for (i = 0; i < r->ntopics; i++)
		g[i < 64 ? f->topic[i] : SG_TOPIC + topic_index(r->topics[i])]++;
	if (f->kind != 0)
		g[f->kind]++;
}

/*
 * group_add() for the n groups g[] (NULL: sampled out): the counters the
 * record adds to are listed once.
 */
static void
groups_add(uint64_t *const *g, size_t n, const struct stats_rec *r,
    const struct stats_facts *f)
{
	size_t idx[8 + 64], ni = 0, i, j;

	if (r->ntopics > 64) {
		for (j = 0; j < n; j++)
			group_add(g[j], r, f);
		return;
	}
	idx[ni++] = SG_N;
	idx[ni++] = f->sent;
	idx[ni++] = SG_R0 + (size_t)r->rating;
	if (r->has_score)
		idx[ni++] = SG_SCORE_N;
	if (r->has_due)
		idx[ni++] = SG_DUE;
	if (r->ntopics != 0)
		idx[ni++] = SG_COMPLAINT;
	for (i = 0; i < r->ntopics; i++)
		idx[ni++] = f->topic[i];
	if (f->kind != 0)
		idx[ni++] = f->kind;
	for (j = 0; j < n; j++) {
		if (g[j] == NULL)
			continue;
		for (i = 0; i < ni; i++)
			g[j][idx[i]]++;
		if (r->has_score)
			g[j][SG_SCORE_SUM] += (uint64_t)r->score_micro;
	}
}

static inline __attribute__((always_inline)) void
count1(struct stab *t, struct slice k)
{
	uint64_t *v;

	if ((v = stab_get(t, k.p, k.n)) != NULL)
		v[0]++;
}

/*
 * The day of t, from a one-entry cache per use (c: 0 created, 1 due):
 * exports mostly come in date order.  Returns its length.
 */
static size_t
day_of(struct stats *s, int c, int64_t t, char day[16])
{
	int64_t d = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);

	if (!s->day_valid[c] || d != s->day_num[c]) {
		stats_day(t, s->day_str[c]);
		s->day_num[c] = d;
		s->day_valid[c] = true;
		s->day_len[c] = strlen(s->day_str[c]);
	}
	memcpy(day, s->day_str[c], 16);
	return s->day_len[c];
}

void
stats_add(struct stats *s, const struct stats_rec *r)
{
	struct slice k;
	struct buf *kb = &s->keybuf;
	struct stats_facts f;
	char day[16];
	size_t i, dlen, ng;
	uint64_t *v, *gs[5];

	s->records++;
	facts_of(r, &f);
	if (r->has_created && (s->max_created == STATS_NOW_UNSET ||
	    r->created > s->max_created)) {
		s->max_created = r->created;
		/* Settle lazily: only once the pending map has doubled. */
		if (s->now == STATS_NOW_UNSET &&
		    s->pend_n > 2 * s->pend_settled + 256)
			pend_rehash(s, s->pend_cap);
	}
	/* The five groups' counters (each table its own: no lookup moves
	 * another's entries), then the record added to all of them. */
	ng = 0;
	gs[ng++] = stab_get(&s->tab[ST_ALL], "", 0);
	k = r->has_platform ? r->platform : SLICE_LIT("unknown");
	gs[ng++] = stab_get(&s->tab[ST_PLATFORM], k.p, k.n);
	if (r->has_seller) {
		gs[ng++] = stab_get(&s->tab[ST_SELLER], r->seller.p,
		    r->seller.n);
		hll_add(s->hll_sellers, r->seller.p, r->seller.n);
	}
	k = r->has_lang ? r->lang : SLICE_LIT("unknown");
	gs[ng++] = stab_get(&s->tab[ST_LANG], k.p, k.n);
	if (r->has_created)
		dlen = day_of(s, 0, r->created, day);
	else {
		memcpy(day, "unknown", 8);
		dlen = 7;
	}
	gs[ng++] = stab_get(&s->tab[ST_DAY], day, dlen);
	groups_add(gs, ng, r, &f);
	if (r->has_buyer)
		hll_add(s->hll_buyers, r->buyer.p, r->buyer.n);

	count1(&s->tab[ST_SENTIMENT], r->has_sentiment ? r->sentiment :
	    SLICE_LIT("unknown"));
	count1(&s->tab[ST_KIND], r->has_kind ? r->kind : SLICE_LIT("unknown"));
	if (r->has_action)
		count1(&s->tab[ST_ACTION], r->action);
	for (i = 0; i < r->ntopics; i++)
		count1(&s->tab[ST_TOPIC], r->topics[i]);
	if (r->has_due) {
		dlen = day_of(s, 1, r->due, day);
		count1(&s->tab[ST_DUEDAY], (struct slice){ day, dlen });
		due_add(s, r->due, 1);
	}
	/* Evidence words of complaints: negative or naming a topic. */
	if (r->ntopics != 0 || f.sent == SG_NEG) {
		for (i = 0; i < r->nevidence; i++) {
			count1(&s->tab[ST_EVIDENCE], r->evidence[i]);
			if (!r->has_seller)
				continue;
			buf_reset(kb);
			buf_grow(kb, r->seller.n + 1 + r->evidence[i].n);
			memcpy(kb->p, r->seller.p, r->seller.n);
			kb->p[r->seller.n] = '\0';
			memcpy(kb->p + r->seller.n + 1, r->evidence[i].p,
			    r->evidence[i].n);
			if ((v = stab_get(&s->tab[ST_SELLER_EVIDENCE], kb->p,
			    r->seller.n + 1 + r->evidence[i].n)) != NULL)
				v[0]++;
		}
	}
}

void
stats_add_stage(struct stats *s, struct slice stage,
    const uint64_t cnt[SC_NVAL])
{
	uint64_t *v = stab_add(&s->tab[ST_STAGES], stage.p, stage.n);
	size_t i;

	if (v != NULL)
		for (i = 0; i < SC_NVAL; i++)
			v[i] += cnt[i];
}

void
stats_add_reject(struct stats *s, struct slice stage, struct slice reason)
{
	struct buf kb = BUF_INIT;
	uint64_t *v;

	buf_add(&kb, stage.p, stage.n);
	buf_addc(&kb, '\0');
	buf_add(&kb, reason.p, reason.n);
	if ((v = stab_add(&s->tab[ST_REJECTS], kb.p, kb.len)) != NULL)
		v[0]++;
	buf_release(&kb);
}

/* ---- packing and merging ---------------------------------------------- */

static void
pack_i64_or_nil(msgpack_packer *pk, int64_t v)
{
	if (v == STATS_NOW_UNSET)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, v);
}

void
stats_pack(struct stats *s, struct buf *out)
{
	msgpack_packer pk;
	struct stab_ent **v;
	size_t i, j, k, n;

	pend_rehash(s, s->pend_cap == 0 ? 1024 : s->pend_cap);
	mp_packer_buf(&pk, out);
	msgpack_pack_map(&pk, 10);
	mp_pack_cstr(&pk, "format");
	mp_pack_cstr(&pk, "revpipe-stats-partial");
	mp_pack_cstr(&pk, "version");
	msgpack_pack_uint64(&pk, 1);
	mp_pack_cstr(&pk, "records");
	msgpack_pack_uint64(&pk, s->records);
	mp_pack_cstr(&pk, "now");
	pack_i64_or_nil(&pk, s->now);
	mp_pack_cstr(&pk, "max_created");
	pack_i64_or_nil(&pk, s->max_created);
	mp_pack_cstr(&pk, "overdue");
	msgpack_pack_uint64(&pk, s->overdue);
	mp_pack_cstr(&pk, "pending");
	msgpack_pack_array(&pk, 2 * s->pend_n);
	for (i = 0; i < s->pend_cap; i++) {
		if (s->pend_key[i] == INT64_MIN)
			continue;
		msgpack_pack_int64(&pk, s->pend_key[i]);
		msgpack_pack_uint64(&pk, s->pend_cnt[i]);
	}
	mp_pack_cstr(&pk, "hll_buyers");
	msgpack_pack_bin(&pk, HLL_M);
	msgpack_pack_bin_body(&pk, s->hll_buyers, HLL_M);
	mp_pack_cstr(&pk, "hll_sellers");
	msgpack_pack_bin(&pk, HLL_M);
	msgpack_pack_bin_body(&pk, s->hll_sellers, HLL_M);
	mp_pack_cstr(&pk, "tables");
	msgpack_pack_map(&pk, ST_NTAB);
	for (i = 0; i < ST_NTAB; i++) {
		struct stab *t = &s->tab[i];

		mp_pack_cstr(&pk, t->name);
		msgpack_pack_map(&pk, 4);
		mp_pack_cstr(&pk, "cap");
		msgpack_pack_uint64(&pk, t->cap);
		mp_pack_cstr(&pk, "thr");
		msgpack_pack_uint64(&pk, t->thr);
		mp_pack_cstr(&pk, "nval");
		msgpack_pack_uint64(&pk, t->nval);
		mp_pack_cstr(&pk, "ents");
		v = stab_sorted(t, &n);
		msgpack_pack_array(&pk, n * (1 + t->nval));
		for (j = 0; j < n; j++) {
			msgpack_pack_bin(&pk, v[j]->klen);
			msgpack_pack_bin_body(&pk, stab_key(v[j], t->nval),
			    v[j]->klen);
			for (k = 0; k < t->nval; k++)
				msgpack_pack_uint64(&pk, v[j]->val[k]);
		}
		free(v);
	}
}

struct unpack {
	const char	*p, *end;
	char		*err;
	size_t		 errlen;
};

static int
up_fail(struct unpack *u, const char *what)
{
	snprintf(u->err, u->errlen, "not a stats partial state (%s)", what);
	return -1;
}

static int
up_next(struct unpack *u, struct mp_val *v, enum mp_type want,
    const char *what)
{
	if (mp_next(&u->p, u->end, v) != MP_OK)
		return up_fail(u, what);
	if (want == MP_UINT && v->type == MP_INT && v->v.i >= 0) {
		v->type = MP_UINT;
		v->v.u = (uint64_t)v->v.i;
	}
	if (want == MP_STR && v->type == MP_BIN)
		v->type = MP_STR;
	if (v->type != want)
		return up_fail(u, what);
	return 0;
}

static int
up_uint(struct unpack *u, uint64_t *out, const char *what)
{
	struct mp_val v;

	if (up_next(u, &v, MP_UINT, what) == -1)
		return -1;
	*out = v.v.u;
	return 0;
}

static int
up_time(struct unpack *u, int64_t *out, const char *what)
{
	struct mp_val v;

	if (mp_next(&u->p, u->end, &v) != MP_OK)
		return up_fail(u, what);
	if (v.type == MP_NIL) {
		*out = STATS_NOW_UNSET;
		return 0;
	}
	if (!mp_as_int(&v, out))
		return up_fail(u, what);
	return 0;
}

static int
merge_table(struct stats *s, struct unpack *u, struct slice name)
{
	struct mp_val v, m, kv;
	uint64_t cap = 0, thr = UINT64_MAX, nval = 0, x;
	struct stab *t = NULL;
	uint64_t *dst;
	uint32_t i, j, k;
	struct slice key;

	for (i = 0; i < ST_NTAB; i++)
		if (slice_eq(name, s->tab[i].name))
			t = &s->tab[i];
	if (t == NULL)
		return up_fail(u, "unknown table");
	if (up_next(u, &m, MP_MAP, "table") == -1)
		return -1;
	for (i = 0; i < m.v.n; i++) {
		if (up_next(u, &v, MP_STR, "table key") == -1)
			return -1;
		if (slice_eq(v.v.s, "cap")) {
			if (up_uint(u, &cap, "cap") == -1)
				return -1;
		} else if (slice_eq(v.v.s, "thr")) {
			if (up_uint(u, &thr, "thr") == -1)
				return -1;
		} else if (slice_eq(v.v.s, "nval")) {
			if (up_uint(u, &nval, "nval") == -1)
				return -1;
			if (nval != t->nval)
				return up_fail(u, "table width");
		} else if (slice_eq(v.v.s, "ents")) {
			if (nval != t->nval)
				return up_fail(u, "ents before nval");
			/* Equal caps are the rule; the smaller one wins. */
			if (cap != 0 && cap < t->cap)
				t->cap = cap;
			stab_lower(t, thr);
			if (up_next(u, &v, MP_ARRAY, "ents") == -1)
				return -1;
			if (v.v.n % (1 + nval) != 0)
				return up_fail(u, "ents size");
			for (j = 0; j < v.v.n; j += 1 + nval) {
				if (up_next(u, &kv, MP_STR, "key") == -1)
					return -1;
				key = kv.v.s;
				dst = stab_add(t, key.p, key.n);
				for (k = 0; k < nval; k++) {
					if (up_uint(u, &x, "counter") == -1)
						return -1;
					if (dst != NULL)
						dst[k] += x;
				}
			}
			/* A smaller cap from this partial may bite now. */
			while (t->n > t->cap)
				stab_lower(t, t->thr >> 1);
		} else if (mp_skip(&u->p, u->end) != MP_OK)
			return up_fail(u, "table value");
	}
	return 0;
}

int
stats_merge_packed(struct stats *s, const char *p, size_t n, char *err,
    size_t errlen)
{
	struct unpack u = { p, p + n, err, errlen };
	struct mp_val m, k, v;
	uint64_t x;
	int64_t t;
	uint32_t i, j;
	bool fmt = false;

	if (up_next(&u, &m, MP_MAP, "top") == -1)
		return -1;
	for (i = 0; i < m.v.n; i++) {
		if (up_next(&u, &k, MP_STR, "key") == -1)
			return -1;
		if (slice_eq(k.v.s, "format")) {
			if (up_next(&u, &v, MP_STR, "format") == -1)
				return -1;
			if (!slice_eq(v.v.s, "revpipe-stats-partial"))
				return up_fail(&u, "format");
			fmt = true;
		} else if (slice_eq(k.v.s, "version")) {
			if (up_uint(&u, &x, "version") == -1)
				return -1;
			if (x != 1) {
				snprintf(err, errlen, "partial state version "
				    "%llu, this revpipe reads 1",
				    (unsigned long long)x);
				return -1;
			}
		} else if (slice_eq(k.v.s, "records")) {
			if (up_uint(&u, &x, "records") == -1)
				return -1;
			s->records += x;
		} else if (slice_eq(k.v.s, "now")) {
			if (up_time(&u, &t, "now") == -1)
				return -1;
			if (t != s->now) {
				snprintf(err, errlen, "partial states disagree "
				    "on --now");
				return -1;
			}
		} else if (slice_eq(k.v.s, "max_created")) {
			if (up_time(&u, &t, "max_created") == -1)
				return -1;
			if (t != STATS_NOW_UNSET &&
			    (s->max_created == STATS_NOW_UNSET ||
			    t > s->max_created))
				s->max_created = t;
		} else if (slice_eq(k.v.s, "overdue")) {
			if (up_uint(&u, &x, "overdue") == -1)
				return -1;
			s->overdue += x;
		} else if (slice_eq(k.v.s, "pending")) {
			if (up_next(&u, &v, MP_ARRAY, "pending") == -1)
				return -1;
			for (j = 0; j + 1 < v.v.n; j += 2) {
				if (up_time(&u, &t, "due") == -1 ||
				    up_uint(&u, &x, "count") == -1)
					return -1;
				due_add(s, t, x);
			}
			if (v.v.n % 2 != 0)
				return up_fail(&u, "pending size");
		} else if (slice_eq(k.v.s, "hll_buyers") ||
		    slice_eq(k.v.s, "hll_sellers")) {
			uint8_t *reg = slice_eq(k.v.s, "hll_buyers") ?
			    s->hll_buyers : s->hll_sellers;

			if (mp_next(&u.p, u.end, &v) != MP_OK ||
			    v.type != MP_BIN || v.v.s.n != HLL_M)
				return up_fail(&u, "hll");
			for (j = 0; j < HLL_M; j++)
				if ((uint8_t)v.v.s.p[j] > reg[j])
					reg[j] = (uint8_t)v.v.s.p[j];
		} else if (slice_eq(k.v.s, "tables")) {
			if (up_next(&u, &v, MP_MAP, "tables") == -1)
				return -1;
			for (j = 0; j < v.v.n; j++) {
				struct mp_val name;

				if (up_next(&u, &name, MP_STR, "name") == -1 ||
				    merge_table(s, &u, name.v.s) == -1)
					return -1;
			}
		} else if (mp_skip(&u.p, u.end) != MP_OK)
			return up_fail(&u, "value");
	}
	if (!fmt)
		return up_fail(&u, "no format key");
	/* A new maximum may settle pending values. */
	if (s->pend_cap != 0)
		pend_rehash(s, s->pend_cap);
	return 0;
}

/* ---- time and escaping helpers --------------------------------------- */

void
stats_day(int64_t t, char b[16])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900 ||
	    strftime(b, 16, "%Y-%m-%d", &tm) == 0)
		memcpy(b, "unknown", 8);
}

void
stats_iso(int64_t t, char b[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900 ||
	    strftime(b, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		memcpy(b, "unknown", 8);
}

int
stats_parse_time(const char *s, int64_t *t)
{
	struct tm tm;
	char *end;
	long long v;
	int n = 0, y, mo, d, h = 0, mi = 0, sec = 0;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end == '\0' && errno == 0) {
		*t = v;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	s += n;
	if (*s == 'T' || *s == ' ') {
		n = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		s += 1 + n;
		if (*s == ':') {
			n = 0;
			if (sscanf(s + 1, "%2d%n", &sec, &n) != 1)
				return -1;
			s += 1 + n;
		}
	}
	if (*s == 'Z')
		s++;
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = (int64_t)timegm(&tm);
	return 0;
}

void
stats_json_str(struct buf *b, const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, c);
		} else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addc(b, c);
	}
}

void
stats_html_str(struct buf *b, const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		switch (c) {
		case '&':
			buf_adds(b, "&amp;");
			break;
		case '<':
			buf_adds(b, "&lt;");
			break;
		case '>':
			buf_adds(b, "&gt;");
			break;
		case '"':
			buf_adds(b, "&quot;");
			break;
		case '\'':
			buf_adds(b, "&#39;");
			break;
		case '\0':
			buf_adds(b, "\xef\xbf\xbd");
			break;
		default:
			if (c < 0x20 && c != '\n' && c != '\t')
				buf_addc(b, ' ');
			else
				buf_addc(b, c);
		}
	}
}
