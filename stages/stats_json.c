/*
 * stats_json - stats.json: the final figures, keys in a fixed order.
 *
 * Maps keyed by data (platforms, languages, days, sellers) are sorted by
 * key bytes; ranked lists are sorted by count, ties by key.  Rates are
 * printed with four decimals and averages with three, from integer sums,
 * so the file is the same bytes for the same input whatever the order or
 * the sharding.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* ---- ranking ------------------------------------------------------------- */

static size_t rank_idx, rank_nval;

static int
rank_keycmp(const struct stab_ent *x, const struct stab_ent *y)
{
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(stab_key(x, rank_nval), stab_key(y, rank_nval), n);

	if (c != 0)
		return c;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static int
rank_cmp(const void *a, const void *b)
{
	const struct stab_ent *x = *(struct stab_ent *const *)a;
	const struct stab_ent *y = *(struct stab_ent *const *)b;

	if (x->val[rank_idx] != y->val[rank_idx])
		return x->val[rank_idx] > y->val[rank_idx] ? -1 : 1;
	return rank_keycmp(x, y);
}

/*
 * The first k of v[0..n) in cmp's order (a total order), to the front of
 * v; returns how many.  Only the top few of a big table are asked for:
 * keeping k by insertion costs about one comparison per entry.
 */
static size_t
top_select(struct stab_ent **v, size_t n, size_t k,
    int (*cmp)(const void *, const void *))
{
	struct stab_ent *e;
	size_t m = 0, i, j;

	if (k >= n / 4) {
		qsort(v, n, sizeof(*v), cmp);
		return n < k ? n : k;
	}
	for (i = 0; i < n; i++) {
		e = v[i];
		if (m == k && cmp(&e, &v[m - 1]) >= 0)
			continue;
		j = m < k ? m++ : m - 1;
		for (; j > 0 && cmp(&e, &v[j - 1]) < 0; j--)
			v[j] = v[j - 1];
		v[j] = e;
	}
	return m;
}

struct stab_ent **
stats_top(const struct stab *t, size_t idx, size_t k, size_t *n)
{
	/* rank_cmp() is a total order: no need to start from key order. */
	struct stab_ent **v = stab_entries(t, n);

	rank_idx = idx;
	rank_nval = t->nval;
	*n = top_select(v, *n, k, rank_cmp);
	return v;
}

static int
worst_cmp(const void *a, const void *b)
{
	const struct stab_ent *x = *(struct stab_ent *const *)a;
	const struct stab_ent *y = *(struct stab_ent *const *)b;
	unsigned __int128 l, r;

	if (x->val[SG_NEG] != y->val[SG_NEG])
		return x->val[SG_NEG] > y->val[SG_NEG] ? -1 : 1;
	/* Higher share first: neg_x / n_x > neg_y / n_y, exactly. */
	l = (unsigned __int128)x->val[SG_NEG] * y->val[SG_N];
	r = (unsigned __int128)y->val[SG_NEG] * x->val[SG_N];
	if (l != r)
		return l > r ? -1 : 1;
	return rank_keycmp(x, y);
}

struct stab_ent **
stats_worst(const struct stab *t, size_t k, size_t *n)
{
	struct stab_ent **v = stab_entries(t, n);

	rank_nval = t->nval;
	*n = top_select(v, *n, k, worst_cmp);
	return v;
}

/* Compare the seller part (before the NUL) of a seller_evidence key. */
static int
sev_cmp_seller(const struct stab_ent *e, struct slice seller)
{
	const char *k = stab_key(e, 1);
	const char *nul = memchr(k, '\0', e->klen);
	size_t sn = nul == NULL ? e->klen : (size_t)(nul - k);
	size_t n = sn < seller.n ? sn : seller.n;
	int c = n == 0 ? 0 : memcmp(k, seller.p, n);

	if (c != 0)
		return c;
	return sn < seller.n ? -1 : sn > seller.n;
}

size_t
stats_seller_evidence(struct stab_ent **sev, size_t nsev, struct slice seller,
    size_t k, struct stab_ent **out)
{
	size_t lo = 0, hi = nsev, i, j, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sev_cmp_seller(sev[mid], seller) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Keep the k best by count (ties: the earlier key) by insertion. */
	for (i = lo; i < nsev && sev_cmp_seller(sev[i], seller) == 0; i++) {
		for (j = n; j > 0 && out[j - 1]->val[0] < sev[i]->val[0]; j--)
			if (j < k)
				out[j] = out[j - 1];
		if (j < k) {
			out[j] = sev[i];
			if (n < k)
				n++;
		}
	}
	return n;
}

/* ---- JSON writing -------------------------------------------------------- */

static void
jkey(struct buf *b, const char *p, size_t n)
{
	buf_addc(b, '"');
	stats_json_str(b, p, n);
	buf_adds(b, "\": ");
}

/* Append v in decimal: what "%llu" prints, without a printf per number. */
static void
jnum(struct buf *b, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_add(b, d + i, sizeof(d) - i);
}

/* Append s, a NUL-terminated string, then v in decimal. */
static void
jsnum(struct buf *b, const char *s, uint64_t v)
{
	buf_adds(b, s);
	jnum(b, v);
}

/*
 * "%.*f" of v into d when prec is 0..6 and v a normal number below 1e9
 * in magnitude: v is m * 2^e exactly, so v * 10^prec is m * 10^prec
 * shifted, rounded to nearest with ties to even as glibc's printf does
 * (the sign is kept: -0.0001 is "-0.000").  Returns the bytes, or 0 for
 * snprintf() to do it.  stats_test.c compares it with snprintf().
 */
size_t
stats_fix(char *d, int prec, double v)
{
	static const uint64_t p10[7] = { 1, 10, 100, 1000, 10000, 100000,
	    1000000 };
	unsigned __int128 n, r, half;
	uint64_t bits, m, q, ip, fp;
	char tmp[24];
	size_t o = 0, k;
	int e, sh, i;

	if (prec < 0 || prec > 6 || !(fabs(v) < 1e9))
		return 0;
	memcpy(&bits, &v, 8);
	e = (int)(bits >> 52 & 0x7ff);
	m = bits & ((1ULL << 52) - 1);
	if (e == 0 && m != 0)
		return 0;		/* subnormal */
	if (e == 0)
		q = 0;
	else {
		m |= 1ULL << 52;
		e -= 1075;
		n = (unsigned __int128)m * p10[prec];
		if (e >= 0)
			q = (uint64_t)(n << e);
		else if ((sh = -e) >= 120)
			q = 0;
		else {
			q = (uint64_t)(n >> sh);
			r = n - ((unsigned __int128)q << sh);
			half = (unsigned __int128)1 << (sh - 1);
			if (r > half || (r == half && (q & 1)))
				q++;
		}
	}
	if (bits >> 63)
		d[o++] = '-';
	ip = q / p10[prec];
	fp = q % p10[prec];
	k = 0;
	do {
		tmp[k++] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip != 0);
	while (k > 0)
		d[o++] = tmp[--k];
	if (prec > 0) {
		d[o++] = '.';
		for (i = prec - 1; i >= 0; i--) {
			d[o + (size_t)i] = (char)('0' + fp % 10);
			fp /= 10;
		}
		o += (size_t)prec;
	}
	return o;
}

/* Append a double with `prec` decimals, as "%.*f" prints it. */
void
stats_addfix(struct buf *b, int prec, double v)
{
	char d[64];
	size_t n;

	if ((n = stats_fix(d, prec, v)) != 0)
		buf_add(b, d, n);
	else
		buf_addf(b, "%.*f", prec, v);
}

static void
jfix(struct buf *b, int prec, double v)
{
	stats_addfix(b, prec, v);
}

static void
jrate(struct buf *b, uint64_t num, uint64_t den)
{
	if (den == 0)
		buf_adds(b, "null");
	else
		jfix(b, 4, (double)num / (double)den);
}

/* A group object without its closing line (jseller adds keys). */
static void
jgroup_open(struct buf *b, const uint64_t *g, const char *ind)
{
	uint64_t rated = 0, rsum = 0;
	size_t i;
	int first;

	for (i = 1; i <= 5; i++) {
		rated += g[SG_R0 + i];
		rsum += i * g[SG_R0 + i];
	}
	buf_adds(b, "{\n");
	buf_adds(b, ind);
	jsnum(b, "  \"count\": ", g[SG_N]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	jsnum(b, "  \"sentiment\": {\"pos\": ", g[SG_POS]);
	jsnum(b, ", \"neg\": ", g[SG_NEG]);
	jsnum(b, ", \"neu\": ", g[SG_NEU]);
	jsnum(b, ", \"unknown\": ", g[SG_SENT_OTHER]);
	buf_adds(b, "},\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"neg_rate\": ");
	jrate(b, g[SG_NEG], g[SG_N]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"pos_rate\": ");
	jrate(b, g[SG_POS], g[SG_N]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"rating\": {");
	for (i = 1; i <= 5; i++) {
		buf_addc(b, '"');
		jnum(b, i);
		jsnum(b, "\": ", g[SG_R0 + i]);
		buf_adds(b, ", ");
	}
	jsnum(b, "\"none\": ", g[SG_R0]);
	buf_adds(b, "},\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"rating_avg\": ");
	if (rated == 0)
		buf_adds(b, "null");
	else
		jfix(b, 3, (double)rsum / (double)rated);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"sent_score_avg\": ");
	if (g[SG_SCORE_N] == 0)
		buf_adds(b, "null");
	else
		jfix(b, 3, (double)(int64_t)g[SG_SCORE_SUM] / 1e6 /
		    (double)g[SG_SCORE_N]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	jsnum(b, "  \"replies_due\": ", g[SG_DUE]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	jsnum(b, "  \"complaints\": ", g[SG_COMPLAINT]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"complaint_rate\": ");
	jrate(b, g[SG_COMPLAINT], g[SG_N]);
	buf_adds(b, ",\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"topics\": {");
	first = 1;
	for (i = 0; i <= STATS_NTOPICS; i++) {
		if (g[SG_TOPIC + i] == 0)
			continue;
		buf_adds(b, first ? "\"" : ", \"");
		buf_adds(b, i < STATS_NTOPICS ? stats_topic_names[i] : "other");
		jsnum(b, "\": ", g[SG_TOPIC + i]);
		first = 0;
	}
	buf_adds(b, "},\n");
	buf_adds(b, ind);
	buf_adds(b, "  \"kinds\": {");
	first = 1;
	for (i = 0; i <= STATS_NKINDS; i++) {
		if (g[SG_KIND + i] == 0)
			continue;
		buf_adds(b, first ? "\"" : ", \"");
		buf_adds(b, i < STATS_NKINDS ? stats_kind_names[i] : "other");
		jsnum(b, "\": ", g[SG_KIND + i]);
		first = 0;
	}
	buf_addc(b, '}');
}

static void
jgroup(struct buf *b, const uint64_t *g, const char *ind)
{
	jgroup_open(b, g, ind);
	buf_addc(b, '\n');
	buf_adds(b, ind);
	buf_addc(b, '}');
}

static const uint64_t *
totals(struct stats *s)
{
	static const uint64_t zero[SG_NVAL];
	uint64_t *g = stab_add(&s->tab[ST_ALL], "", 0);

	return g == NULL ? zero : g;
}

/* A map of group objects keyed by the table's keys. */
static void
jgroups(struct buf *b, const struct stab *t)
{
	struct stab_ent **v;
	size_t i, n;

	v = stab_sorted(t, &n);
	buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "\n    " : ",\n    ");
		jkey(b, stab_key(v[i], t->nval), v[i]->klen);
		jgroup(b, v[i]->val, "    ");
	}
	buf_adds(b, n == 0 ? "}" : "\n  }");
	free(v);
}

/* A map name: {"count": n, "rate": x}, sorted by key. */
static void
jcounts(struct buf *b, const struct stab *t, uint64_t den)
{
	struct stab_ent **v;
	size_t i, n;

	v = stab_sorted(t, &n);
	buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "\n    " : ",\n    ");
		jkey(b, stab_key(v[i], 1), v[i]->klen);
		buf_addf(b, "{\"count\": %llu, \"rate\": ",
		    (unsigned long long)v[i]->val[0]);
		jrate(b, v[i]->val[0], den);
		buf_addc(b, '}');
	}
	buf_adds(b, n == 0 ? "}" : "\n  }");
	free(v);
}

static void
jseller(struct buf *b, const struct stab_ent *e, struct stab_ent **sev,
    size_t nsev, size_t top)
{
	struct stab_ent *ev[64];
	struct slice name = { stab_key(e, SG_NVAL), e->klen };
	size_t order[STATS_NTOPICS + 1], i, j, n, t;
	const char *k;

	jkey(b, name.p, name.n);
	jgroup_open(b, e->val, "      ");
	buf_adds(b, ",\n        \"top_topics\": [");
	/* Topics by count, ties by the fixed topic order. */
	for (i = 0; i <= STATS_NTOPICS; i++) {
		for (j = i; j > 0 && e->val[SG_TOPIC + order[j - 1]] <
		    e->val[SG_TOPIC + i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (i = 0, n = 0; i <= STATS_NTOPICS && n < top; i++) {
		t = order[i];
		if (e->val[SG_TOPIC + t] == 0)
			break;
		buf_adds(b, n == 0 ? "\"" : ", \"");
		buf_adds(b, t < STATS_NTOPICS ? stats_topic_names[t] : "other");
		buf_addc(b, '"');
		n++;
	}
	buf_adds(b, "],\n        \"top_evidence\": [");
	n = stats_seller_evidence(sev, nsev, name, top < 64 ? top : 64, ev);
	for (i = 0; i < n; i++) {
		k = stab_key(ev[i], 1);
		buf_adds(b, i == 0 ? "[\"" : ", [\"");
		stats_json_str(b, k + name.n + 1, ev[i]->klen - name.n - 1);
		jsnum(b, "\", ", ev[i]->val[0]);
		buf_addc(b, ']');
	}
	buf_adds(b, "]\n      }");
}

void
stats_json(struct stats *s, struct buf *b, size_t top)
{
	const uint64_t *g = totals(s);
	struct stab_ent **v, **sev;
	int64_t now = stats_now(s);
	uint64_t due = g[SG_DUE], overdue = stats_overdue(s), sum, x;
	uint64_t dups = 0, rejects = 0;
	size_t i, n, nsev;
	char ts[32];
	int first;

	buf_adds(b, "{\n  \"format\": \"revpipe-stats\",\n  \"version\": 1,\n");
	buf_addf(b, "  \"records\": %llu,\n", (unsigned long long)s->records);
	if (now == STATS_NOW_UNSET)
		buf_adds(b, "  \"now\": null,\n");
	else {
		stats_iso(now, ts);
		buf_addf(b, "  \"now\": \"%s\",\n", ts);
	}
	buf_addf(b, "  \"now_source\": \"%s\",\n",
	    s->now != STATS_NOW_UNSET ? "option" :
	    now != STATS_NOW_UNSET ? "max_created_at" : "none");
	buf_addf(b, "  \"distinct_buyers_approx\": %llu,\n",
	    (unsigned long long)hll_estimate(s->hll_buyers));
	if (stab_fraction(&s->tab[ST_SELLER]) == 1.0)
		buf_addf(b, "  \"distinct_sellers\": %zu,\n"
		    "  \"distinct_sellers_exact\": true,\n",
		    s->tab[ST_SELLER].n);
	else
		buf_addf(b, "  \"distinct_sellers\": %llu,\n"
		    "  \"distinct_sellers_exact\": false,\n",
		    (unsigned long long)hll_estimate(s->hll_sellers));
	buf_adds(b, "  \"totals\": ");
	jgroup(b, g, "  ");
	buf_adds(b, ",\n  \"sentiment\": ");
	jcounts(b, &s->tab[ST_SENTIMENT], s->records);
	buf_adds(b, ",\n  \"topic\": ");
	jcounts(b, &s->tab[ST_TOPIC], s->records);
	buf_adds(b, ",\n  \"kind\": ");
	jcounts(b, &s->tab[ST_KIND], s->records);
	buf_adds(b, ",\n  \"action\": ");
	jcounts(b, &s->tab[ST_ACTION], s->records);
	buf_adds(b, ",\n  \"platform\": ");
	jgroups(b, &s->tab[ST_PLATFORM]);
	buf_adds(b, ",\n  \"lang\": ");
	jgroups(b, &s->tab[ST_LANG]);
	buf_adds(b, ",\n  \"day\": ");
	jgroups(b, &s->tab[ST_DAY]);

	buf_addf(b, ",\n  \"replies\": {\n    \"due\": %llu,\n"
	    "    \"overdue\": %llu,\n    \"not_overdue\": %llu,\n"
	    "    \"by_due_day\": {", (unsigned long long)due,
	    (unsigned long long)overdue,
	    (unsigned long long)(due >= overdue ? due - overdue : 0));
	v = stab_sorted(&s->tab[ST_DUEDAY], &n);
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "" : ", ");
		jkey(b, stab_key(v[i], 1), v[i]->klen);
		buf_addf(b, "%llu", (unsigned long long)v[i]->val[0]);
	}
	free(v);
	buf_adds(b, "}\n  },\n");

	buf_adds(b, "  \"pain_points\": {\n    \"topics\": [");
	v = stats_top(&s->tab[ST_TOPIC], 0, SIZE_MAX, &n);
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "\n      {\"topic\": \"" :
		    ",\n      {\"topic\": \"");
		stats_json_str(b, stab_key(v[i], 1), v[i]->klen);
		buf_addf(b, "\", \"count\": %llu, \"share_of_complaints\": ",
		    (unsigned long long)v[i]->val[0]);
		jrate(b, v[i]->val[0], g[SG_COMPLAINT]);
		buf_addc(b, '}');
	}
	free(v);
	buf_adds(b, n == 0 ? "],\n    \"evidence\": [" :
	    "\n    ],\n    \"evidence\": [");
	v = stats_top(&s->tab[ST_EVIDENCE], 0, top * 4, &n);
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "\n      [\"" : ",\n      [\"");
		stats_json_str(b, stab_key(v[i], 1), v[i]->klen);
		buf_addf(b, "\", %llu]", (unsigned long long)v[i]->val[0]);
	}
	free(v);
	buf_adds(b, n == 0 ? "]\n  },\n" : "\n    ]\n  },\n");

	buf_adds(b, "  \"sellers\": {\n    \"kept\": ");
	buf_addf(b, "%zu,\n    \"sample_fraction\": %.6f,\n    \"worst\": [",
	    s->tab[ST_SELLER].n, stab_fraction(&s->tab[ST_SELLER]));
	v = stats_worst(&s->tab[ST_SELLER], top * 4, &n);
	for (i = 0, first = 1; i < n; i++) {
		if (v[i]->val[SG_NEG] == 0)
			break;
		buf_adds(b, first ? "\"" : ", \"");
		stats_json_str(b, stab_key(v[i], SG_NVAL), v[i]->klen);
		buf_addc(b, '"');
		first = 0;
	}
	free(v);
	buf_adds(b, "],\n    \"by_seller\": {");
	sev = stab_sorted(&s->tab[ST_SELLER_EVIDENCE], &nsev);
	v = stab_sorted(&s->tab[ST_SELLER], &n);
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "\n      " : ",\n      ");
		jseller(b, v[i], sev, nsev, top);
	}
	free(v);
	free(sev);
	buf_adds(b, n == 0 ? "}\n  },\n" : "\n    }\n  },\n");

	buf_adds(b, "  \"sampled\": {");
	for (i = 0, first = 1; i < ST_NTAB; i++) {
		if (stab_fraction(&s->tab[i]) == 1.0)
			continue;
		buf_addf(b, "%s\"%s\": %.6f", first ? "" : ", ",
		    s->tab[i].name, stab_fraction(&s->tab[i]));
		first = 0;
	}
	buf_adds(b, "},\n");

	buf_adds(b, "  \"upstream\": {\n    \"stages\": {");
	v = stab_sorted(&s->tab[ST_STAGES], &n);
	for (i = 0; i < n; i++) {
		buf_adds(b, i == 0 ? "\n      " : ",\n      ");
		jkey(b, stab_key(v[i], SC_NVAL), v[i]->klen);
		buf_addf(b, "{\"read\": %llu, \"written\": %llu, "
		    "\"duplicates\": %llu, \"rejects\": %llu, "
		    "\"aggregated\": %llu}",
		    (unsigned long long)v[i]->val[SC_READ],
		    (unsigned long long)v[i]->val[SC_WRITTEN],
		    (unsigned long long)v[i]->val[SC_DUPS],
		    (unsigned long long)v[i]->val[SC_REJECTS],
		    (unsigned long long)v[i]->val[SC_AGG]);
		dups += v[i]->val[SC_DUPS];
		rejects += v[i]->val[SC_REJECTS];
	}
	free(v);
	buf_adds(b, n == 0 ? "},\n" : "\n    },\n");
	buf_adds(b, "    \"rejects_by_reason\": {");
	v = stab_sorted(&s->tab[ST_REJECTS], &n);
	for (i = 0, sum = 0; i < n; i++) {
		const char *k = stab_key(v[i], 1);
		const char *nul = memchr(k, '\0', v[i]->klen);
		size_t sn = nul == NULL ? v[i]->klen : (size_t)(nul - k);

		buf_adds(b, i == 0 ? "\n      \"" : ",\n      \"");
		stats_json_str(b, k, sn);
		buf_addc(b, '/');
		if (nul != NULL)
			stats_json_str(b, nul + 1, v[i]->klen - sn - 1);
		x = v[i]->val[0];
		buf_addf(b, "\": %llu", (unsigned long long)x);
		sum += x;
	}
	free(v);
	buf_adds(b, n == 0 ? "},\n" : "\n    },\n");
	/* Without --counts the reject stream is the only source. */
	if (s->tab[ST_STAGES].n == 0)
		rejects = sum;
	buf_addf(b, "    \"duplicates\": %llu,\n    \"rejects\": %llu\n"
	    "  }\n}\n", (unsigned long long)dups, (unsigned long long)rejects);
}
