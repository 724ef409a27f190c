/*
 * stats_test - unit tests for the stats state: sampled tables, HyperLogLog,
 * overdue bookkeeping and exact merging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rec.h"
#include "stats.h"

static void
rec_seller(struct stats_rec *r, char *name, size_t cap, unsigned i)
{
	memset(r, 0, sizeof(*r));
	snprintf(name, cap, "seller-%u", i);
	r->seller = slice_from(name);
	r->has_seller = true;
	r->buyer = r->seller;
	r->has_buyer = true;
	r->rating = 1 + i % 5;
}

static void
test_stats_table_cap_samples_by_hash(void **state)
{
	struct stats s;
	struct stats_rec r;
	char name[32];
	unsigned i;

	stats_init(&s, 16, STATS_NOW_UNSET);
	for (i = 0; i < 1000; i++) {
		rec_seller(&r, name, sizeof(name), i);
		stats_add(&s, &r);
		assert_true(s.tab[ST_SELLER].n <= 16);
	}
	assert_true(stab_fraction(&s.tab[ST_SELLER]) < 1.0);
	assert_true(s.tab[ST_SELLER].n > 0);
	assert_int_equal(s.records, 1000);
	stats_release(&s);
}

static void
test_stats_hll_within_two_percent(void **state)
{
	struct stats s;
	struct stats_rec r;
	char name[32];
	unsigned i;
	uint64_t est;

	stats_init(&s, 65536, STATS_NOW_UNSET);
	for (i = 0; i < 200000; i++) {
		rec_seller(&r, name, sizeof(name), i % 50000);
		stats_add(&s, &r);
	}
	est = hll_estimate(s.hll_buyers);
	assert_true(est > 49000 && est < 51000);
	stats_release(&s);
}

static void
test_stats_overdue_relative_to_max_created(void **state)
{
	struct stats s;
	struct stats_rec r;

	stats_init(&s, 16, STATS_NOW_UNSET);
	memset(&r, 0, sizeof(r));
	r.has_created = r.has_due = true;
	r.created = 1000;
	r.due = 2000;		/* after the latest created_at: not overdue */
	stats_add(&s, &r);
	assert_int_equal(stats_overdue(&s), 0);
	r.created = 3000;	/* moves "now" past the first due_at */
	r.due = 4000;
	stats_add(&s, &r);
	assert_int_equal(stats_overdue(&s), 1);
	assert_int_equal(stats_now(&s), 3000);
	stats_release(&s);
}

static void
test_stats_merge_equals_whole(void **state)
{
	struct stats whole, a, b, m;
	struct stats_rec r;
	struct buf pa = BUF_INIT, pb = BUF_INIT, j1 = BUF_INIT, j2 = BUF_INIT;
	char name[32], err[128];
	unsigned i;

	stats_init(&whole, 32, STATS_NOW_UNSET);
	stats_init(&a, 32, STATS_NOW_UNSET);
	stats_init(&b, 32, STATS_NOW_UNSET);
	stats_init(&m, 32, STATS_NOW_UNSET);
	for (i = 0; i < 3000; i++) {
		rec_seller(&r, name, sizeof(name), (i * 7919) % 200);
		r.has_created = r.has_due = true;
		r.created = 100000 + (int64_t)((i * 104729) % 5000);
		r.due = r.created + 900;
		stats_add(&whole, &r);
		stats_add(i % 3 == 0 ? &a : &b, &r);
	}
	stats_pack(&a, &pa);
	stats_pack(&b, &pb);
	assert_int_equal(stats_merge_packed(&m, pb.p, pb.len, err,
	    sizeof(err)), 0);
	assert_int_equal(stats_merge_packed(&m, pa.p, pa.len, err,
	    sizeof(err)), 0);
	stats_json(&whole, &j1, 5);
	stats_json(&m, &j2, 5);
	assert_int_equal(j1.len, j2.len);
	assert_memory_equal(j1.p, j2.p, j1.len);
	assert_int_equal(stats_overdue(&whole), stats_overdue(&m));
	buf_release(&pa);
	buf_release(&pb);
	buf_release(&j1);
	buf_release(&j2);
	stats_release(&whole);
	stats_release(&a);
	stats_release(&b);
	stats_release(&m);
}

static void
test_stats_merge_rejects_garbage(void **state)
{
	struct stats s;
	char err[128];

	stats_init(&s, 16, STATS_NOW_UNSET);
	assert_int_equal(stats_merge_packed(&s, "\x81\xa1" "a\x01", 4, err,
	    sizeof(err)), -1);
	assert_int_equal(stats_merge_packed(&s, "\xdf", 1, err,
	    sizeof(err)), -1);
	assert_int_equal(stats_merge_packed(&s, "", 0, err, sizeof(err)), -1);
	stats_release(&s);
}

static void
test_stats_parse_time_forms(void **state)
{
	int64_t t;

	assert_int_equal(stats_parse_time("1793491200", &t), 0);
	assert_int_equal(t, 1793491200);
	assert_int_equal(stats_parse_time("2026-11-01", &t), 0);
	assert_int_equal(t, 1793491200);
	assert_int_equal(stats_parse_time("2026-11-01T00:00:10Z", &t), 0);
	assert_int_equal(t, 1793491210);
	assert_int_equal(stats_parse_time("2026-13-01", &t), -1);
	assert_int_equal(stats_parse_time("yesterday", &t), -1);
	assert_int_equal(stats_parse_time("", &t), -1);
}

static void
test_stats_html_escapes_markup(void **state)
{
	struct buf b = BUF_INIT;

	stats_html_str(&b, "<a href=\"x\">&'", 14);
	assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
	buf_release(&b);
}

/* Bytewise order of keys (prefixes, NULs, long shared starts) against a
 * plain comparison, and the sorted order forgotten when a key arrives. */
static int
test_keycmp(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = n == 0 ? 0 : memcmp(x->p, y->p, n);

	return c != 0 ? c : x->n < y->n ? -1 : x->n > y->n;
}

static void
test_stats_sorted_bytewise_and_after_change(void **state)
{
	static const char *const words[] = { "b", "a", "ab", "aa", "",
	    "seller-1", "seller-10", "seller-1x", "\xff", "\x7f",
	    "abcdefghij", "abcdefghi", "abcdefgh", "abcdefghik",
	    "abcdefgh\0", "ab\0c", "ab\0", "zzzzzzzzzzzzzzzzzz",
	    "zzzzzzzzzzzzzzzzzy" };
	/* Lengths given: two keys hold NUL bytes. */
	static const size_t lens[] = { 1, 1, 2, 2, 0, 8, 9, 9, 1, 1, 10, 9,
	    8, 10, 9, 4, 3, 18, 18 };
	struct slice want[64];
	struct stab_ent **v;
	struct stats s;
	size_t i, n, nw = sizeof(words) / sizeof(words[0]);
	char extra[32];

	(void)state;
	stats_init(&s, 65536, STATS_NOW_UNSET);
	for (i = 0; i < nw; i++) {
		assert_non_null(stab_add(&s.tab[ST_EVIDENCE], words[i],
		    lens[i]));
		want[i] = (struct slice){ words[i], lens[i] };
	}
	qsort(want, nw, sizeof(want[0]), test_keycmp);
	v = stab_sorted(&s.tab[ST_EVIDENCE], &n);
	assert_int_equal(n, nw);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i]->klen, want[i].n);
		assert_memory_equal(stab_key(v[i], 1), want[i].p, want[i].n);
	}
	free(v);
	/* A new key after sorting must show up in the next order. */
	memcpy(extra, "abcdefghiZ", 10);
	assert_non_null(stab_add(&s.tab[ST_EVIDENCE], extra, 10));
	want[nw] = (struct slice){ extra, 10 };
	qsort(want, nw + 1, sizeof(want[0]), test_keycmp);
	v = stab_sorted(&s.tab[ST_EVIDENCE], &n);
	assert_int_equal(n, nw + 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i]->klen, want[i].n);
		assert_memory_equal(stab_key(v[i], 1), want[i].p, want[i].n);
	}
	free(v);
	stats_release(&s);
}

/* The last-key shortcut must not outlive sampling that drops the key. */
static void
test_stats_last_key_dropped_by_sampling(void **state)
{
	struct stats s;
	struct stats_rec r;
	struct stab_ent **v;
	uint64_t total = 0;
	size_t i, n;

	(void)state;
	stats_init(&s, 16, STATS_NOW_UNSET);
	/* 5000 days, each twice in a row: the day table (cap 4096) samples. */
	for (i = 0; i < 10000; i++) {
		memset(&r, 0, sizeof(r));
		r.has_created = true;
		r.created = (int64_t)(i / 2) * 86400;
		stats_add(&s, &r);
	}
	v = stab_sorted(&s.tab[ST_DAY], &n);
	assert_true(n <= 4096);
	assert_true(s.tab[ST_DAY].thr != UINT64_MAX);
	for (i = 0; i < n; i++) {
		assert_true(v[i]->hash <= s.tab[ST_DAY].thr);
		/* Kept days count both of their records, exactly. */
		assert_int_equal(v[i]->val[SG_N], 2);
		total += v[i]->val[SG_N];
	}
	assert_int_equal(total, 2 * n);
	free(v);
	stats_release(&s);
}


/* ---- stats_scan() against rec_parse() + stats_rec_of() ------------------ */

static void
pk_str(msgpack_packer *pk, const char *s)
{
	mp_pack_cstr(pk, s);
}

/* A string of n bytes 'x' as str32 (what stats_scan() leaves alone). */
static void
pk_str32(struct buf *b, size_t n)
{
	unsigned char h[5] = { 0xdb, 0, 0, (unsigned char)(n >> 8),
	    (unsigned char)n };

	buf_add(b, h, 5);
	while (n-- > 0)
		buf_addc(b, 'x');
}

static void
slice_same_or_both_absent(bool ha, struct slice a, bool hb, struct slice b)
{
	assert_int_equal(ha, hb);
	if (ha) {
		assert_int_equal(a.n, b.n);
		assert_memory_equal(a.p, b.p, a.n);
	}
}

/*
 * The facts of the record in b, both ways: when the scan takes the record
 * it must frame it as rec_parse() does and read the same facts.  Returns
 * whether the scan took it.
 */
static bool
scan_agrees(const struct buf *b)
{
	struct slice t1[STATS_MAXLIST], e1[STATS_MAXLIST];
	struct slice t2[STATS_MAXLIST], e2[STATS_MAXLIST];
	struct stats_rec a, c;
	struct rec r;
	size_t used, n, i;

	memset(&r, 0, sizeof(r));
	assert_int_equal(rec_parse(&r, b->p, b->len, &used), MP_OK);
	assert_int_equal(used, b->len);
	stats_rec_of(&r, &a, t1, e1);
	n = stats_scan(b->p, b->p + b->len, &c, t2, e2);
	/* Every cut of the record is left to rec_parse(). */
	for (i = 0; i < b->len; i++)
		assert_int_equal(stats_scan(b->p, b->p + i, &c, t2, e2), 0);
	if (n != 0)
		n = stats_scan(b->p, b->p + b->len, &c, t2, e2);
	rec_release(&r);
	if (n == 0)
		return false;
	assert_int_equal(n, b->len);
	slice_same_or_both_absent(a.has_platform, a.platform, c.has_platform,
	    c.platform);
	slice_same_or_both_absent(a.has_seller, a.seller, c.has_seller,
	    c.seller);
	slice_same_or_both_absent(a.has_buyer, a.buyer, c.has_buyer, c.buyer);
	slice_same_or_both_absent(a.has_lang, a.lang, c.has_lang, c.lang);
	slice_same_or_both_absent(a.has_sentiment, a.sentiment,
	    c.has_sentiment, c.sentiment);
	slice_same_or_both_absent(a.has_kind, a.kind, c.has_kind, c.kind);
	slice_same_or_both_absent(a.has_action, a.action, c.has_action,
	    c.action);
	assert_int_equal(a.rating, c.rating);
	assert_int_equal(a.has_created, c.has_created);
	if (a.has_created)
		assert_int_equal(a.created, c.created);
	assert_int_equal(a.has_score, c.has_score);
	if (a.has_score)
		assert_int_equal(a.score_micro, c.score_micro);
	assert_int_equal(a.has_due, c.has_due);
	if (a.has_due)
		assert_int_equal(a.due, c.due);
	assert_int_equal(a.ntopics, c.ntopics);
	for (i = 0; i < a.ntopics; i++)
		slice_same_or_both_absent(true, a.topics[i], true, c.topics[i]);
	assert_int_equal(a.nevidence, c.nevidence);
	for (i = 0; i < a.nevidence; i++)
		slice_same_or_both_absent(true, a.evidence[i], true,
		    c.evidence[i]);
	return true;
}

/* A record after reply, as the chain writes it. */
static void
pk_full(msgpack_packer *pk, int variant)
{
	int i;

	msgpack_pack_map(pk, 17);
	pk_str(pk, "id");
	pk_str(pk, "g1-0");
	pk_str(pk, "platform");
	pk_str(pk, "khamsat");
	pk_str(pk, "seller");
	pk_str(pk, "s000050");
	pk_str(pk, "buyer");
	pk_str(pk, "b00009601");
	pk_str(pk, "rating");
	msgpack_pack_int(pk, 1 + variant % 5);
	pk_str(pk, "created_at");
	msgpack_pack_int64(pk, 1700000000 + variant);
	pk_str(pk, "text");
	pk_str(pk, "\xd8\xa3\xd8\xb7\xd8\xb9\xd9\x85\xd8\xa9 long enough to "
	    "need a str8 header, more than thirty-one bytes");
	pk_str(pk, "lang");
	pk_str(pk, "ar");
	pk_str(pk, "lang_conf");
	msgpack_pack_double(pk, 1.0);
	pk_str(pk, "sentiment");
	pk_str(pk, variant & 1 ? "neg" : "pos");
	pk_str(pk, "sent_score");
	msgpack_pack_double(pk, -0.716 + variant * 0.01);
	pk_str(pk, "topics");
	msgpack_pack_array(pk, 2);
	pk_str(pk, "delivery");
	pk_str(pk, "refund");
	pk_str(pk, "kind");
	pk_str(pk, "genuine");
	pk_str(pk, "severity");
	msgpack_pack_int(pk, 2);
	pk_str(pk, "evidence");
	msgpack_pack_array(pk, 4);
	pk_str(pk, "stars=1");
	pk_str(pk, "late");
	pk_str(pk, "model=neg 0.57");
	pk_str(pk, "rule=");
	pk_str(pk, "reply");
	msgpack_pack_map(pk, 5);
	pk_str(pk, "action");
	pk_str(pk, "public_reply");
	pk_str(pk, "public");
	pk_str(pk, "Hello, we are sorry; this text is longer than 31 bytes.");
	pk_str(pk, "due_at");
	msgpack_pack_uint32(pk, 1700086400);
	pk_str(pk, "followup_at");
	msgpack_pack_nil(pk);
	pk_str(pk, "template");
	msgpack_pack_array(pk, 16);
	for (i = 0; i < 16; i++)
		pk_str(pk, "ar/greet.name.1");
	pk_str(pk, "src");
	pk_str(pk, "r20k.jsonl.gz:1");
}

static void
test_stats_scan_takes_chain_records(void **state)
{
	struct buf b = BUF_INIT;
	msgpack_packer pk;
	int v;

	(void)state;
	mp_packer_buf(&pk, &b);
	for (v = 0; v < 6; v++) {
		buf_reset(&b);
		pk_full(&pk, v);
		assert_true(scan_agrees(&b));
	}
	buf_release(&b);
}

/* Odd keys and values: the scan takes them alike or leaves them. */
static void
test_stats_scan_agrees_on_odd_records(void **state)
{
	struct buf b = BUF_INIT;
	msgpack_packer pk;
	char big[300];
	int i, c;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mp_packer_buf(&pk, &b);
	for (c = 0; c < 16; c++) {
		buf_reset(&b);
		switch (c) {
		case 0:	/* The first pair with a key counts, string or not. */
			msgpack_pack_map(&pk, 4);
			pk_str(&pk, "platform");
			msgpack_pack_int(&pk, 3);
			pk_str(&pk, "platform");
			pk_str(&pk, "later");
			pk_str(&pk, "seller");
			pk_str(&pk, "first");
			pk_str(&pk, "seller");
			pk_str(&pk, "second");
			assert_true(scan_agrees(&b));
			break;
		case 1:	/* str8 and str16 values. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "seller");
			pk_str(&pk, big + 250);
			pk_str(&pk, "buyer");
			pk_str(&pk, big);
			assert_true(scan_agrees(&b));
			break;
		case 2:	/* Numbers of every width and sign. */
			msgpack_pack_map(&pk, 4);
			pk_str(&pk, "rating");
			msgpack_pack_double(&pk, 3.0);
			pk_str(&pk, "created_at");
			msgpack_pack_int64(&pk, -86401);
			pk_str(&pk, "sent_score");
			msgpack_pack_float(&pk, 0.25f);
			pk_str(&pk, "reply");
			msgpack_pack_map(&pk, 1);
			pk_str(&pk, "due_at");
			msgpack_pack_double(&pk, 1700000000.0);
			assert_true(scan_agrees(&b));
			break;
		case 3:	/* Out of range and wrong types. */
			msgpack_pack_map(&pk, 5);
			pk_str(&pk, "rating");
			msgpack_pack_int(&pk, 7);
			pk_str(&pk, "sent_score");
			msgpack_pack_double(&pk, 1.5);
			pk_str(&pk, "created_at");
			pk_str(&pk, "yesterday");
			pk_str(&pk, "lang");
			msgpack_pack_nil(&pk);
			pk_str(&pk, "kind");
			msgpack_pack_true(&pk);
			assert_true(scan_agrees(&b));
			break;
		case 4:	/* Negative fixint rating, int sent_score. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "rating");
			msgpack_pack_int(&pk, -1);
			pk_str(&pk, "sent_score");
			msgpack_pack_int(&pk, 1);
			assert_true(scan_agrees(&b));
			break;
		case 5:	/* Topics stop at the first non-string. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "topics");
			msgpack_pack_array(&pk, 3);
			pk_str(&pk, "delivery");
			msgpack_pack_int(&pk, 1);
			pk_str(&pk, "refund");
			pk_str(&pk, "sentiment");
			pk_str(&pk, "neg");
			assert_true(scan_agrees(&b));
			break;
		case 6:	/* More topics than are read (array16). */
			msgpack_pack_map(&pk, 1);
			pk_str(&pk, "topics");
			msgpack_pack_array(&pk, 70);
			for (i = 0; i < 70; i++)
				pk_str(&pk, i % 2 ? "price" : big + 260);
			assert_true(scan_agrees(&b));
			break;
		case 7:	/* The last string action and integer due_at. */
			msgpack_pack_map(&pk, 1);
			pk_str(&pk, "reply");
			msgpack_pack_map(&pk, 4);
			pk_str(&pk, "action");
			pk_str(&pk, "public_reply");
			pk_str(&pk, "due_at");
			msgpack_pack_int(&pk, 5);
			pk_str(&pk, "action");
			msgpack_pack_int(&pk, 9);
			pk_str(&pk, "due_at");
			pk_str(&pk, "soon");
			assert_true(scan_agrees(&b));
			break;
		case 8:	/* reply not a map. */
			msgpack_pack_map(&pk, 1);
			pk_str(&pk, "reply");
			msgpack_pack_array(&pk, 1);
			pk_str(&pk, "action");
			assert_true(scan_agrees(&b));
			break;
		case 9:	/* An array as action: get_reply() reads its header. */
			msgpack_pack_map(&pk, 1);
			pk_str(&pk, "reply");
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "action");
			msgpack_pack_array(&pk, 1);
			pk_str(&pk, "x");
			pk_str(&pk, "due_at");
			msgpack_pack_int(&pk, 3);
			assert_false(scan_agrees(&b));
			break;
		case 10:	/* str32 value. */
			msgpack_pack_map(&pk, 1);
			pk_str(&pk, "seller");
			pk_str32(&b, 3);
			assert_false(scan_agrees(&b));
			break;
		case 11:	/* bin under a key stats does not read. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "blob");
			msgpack_pack_bin(&pk, 2);
			msgpack_pack_bin_body(&pk, "ab", 2);
			pk_str(&pk, "seller");
			pk_str(&pk, "s");
			assert_false(scan_agrees(&b));
			break;
		case 12:	/* A key longer than a fixstr. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, big + 250);
			pk_str(&pk, "v");
			pk_str(&pk, "seller");
			pk_str(&pk, "s");
			assert_false(scan_agrees(&b));
			break;
		case 13:	/* Nesting deeper than the scan follows. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "deep");
			for (i = 0; i < 6; i++)
				msgpack_pack_array(&pk, 1);
			msgpack_pack_nil(&pk);
			pk_str(&pk, "seller");
			pk_str(&pk, "s");
			assert_false(scan_agrees(&b));
			break;
		case 14:	/* Maps in maps with non-string keys, nested. */
			msgpack_pack_map(&pk, 2);
			pk_str(&pk, "meta");
			msgpack_pack_map(&pk, 2);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_array(&pk, 2);
			msgpack_pack_uint64(&pk, UINT64_MAX);
			msgpack_pack_int8(&pk, -100);
			msgpack_pack_false(&pk);
			msgpack_pack_map(&pk, 0);
			pk_str(&pk, "evidence");
			msgpack_pack_array(&pk, 6);
			pk_str(&pk, "lang=kk");
			pk_str(&pk, "stars=");
			pk_str(&pk, "template=3");
			pk_str(&pk, "rule=x");
			pk_str(&pk, "modelling");
			pk_str(&pk, big + 200);
			assert_true(scan_agrees(&b));
			break;
		case 15:	/* Empty map. */
			msgpack_pack_map(&pk, 0);
			assert_true(scan_agrees(&b));
			break;
		}
	}
	buf_release(&b);
}

/* stats_fix() prints what snprintf("%.*f") prints, ties included. */
static void
fix_same(int prec, double v)
{
	char a[64], b[64];
	size_t n = stats_fix(a, prec, v);
	int m = snprintf(b, sizeof(b), "%.*f", prec, v);

	if (n == 0)
		return;
	assert_int_equal(n, (size_t)m);
	assert_memory_equal(a, b, n);
}

static void
test_stats_fix_matches_printf(void **state)
{
	uint64_t x = 88172645463325252ULL, bits;
	double v;
	long i, j;
	int p;

	(void)state;
	for (p = 0; p <= 6; p++) {
		for (i = 0; i <= 400; i++)
			for (j = 1; j <= 60; j++) {
				fix_same(p, (double)i / (double)j);
				fix_same(p, -(double)i / (double)j);
			}
		/* Exact ties: odd multiples of 1/32 at 4 decimals. */
		for (i = -4000; i <= 4000; i++) {
			fix_same(p, (double)i / 32.0);
			fix_same(p, (double)i / 1024.0);
			fix_same(p, (double)i * 0.05);
		}
		for (i = 0; i < 20000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			bits = (x & 0x800fffffffffffffULL) |
			    (uint64_t)(990 + x % 70) << 52;
			memcpy(&v, &bits, sizeof(v));
			fix_same(p, v);
		}
		fix_same(p, 0.0);
		fix_same(p, -0.0);
		fix_same(p, -0.0001);
		fix_same(p, 1e-300);
		fix_same(p, 5e8 + 0.5);
	}
	/* Left to snprintf(). */
	assert_int_equal(stats_fix((char [64]){ 0 }, 2, 1e10), 0);
	assert_int_equal(stats_fix((char [64]){ 0 }, 7, 1.0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_table_cap_samples_by_hash),
		cmocka_unit_test(test_stats_hll_within_two_percent),
		cmocka_unit_test(test_stats_overdue_relative_to_max_created),
		cmocka_unit_test(test_stats_merge_equals_whole),
		cmocka_unit_test(test_stats_merge_rejects_garbage),
		cmocka_unit_test(test_stats_parse_time_forms),
		cmocka_unit_test(test_stats_html_escapes_markup),
		cmocka_unit_test(test_stats_sorted_bytewise_and_after_change),
		cmocka_unit_test(test_stats_last_key_dropped_by_sampling),
		cmocka_unit_test(test_stats_scan_takes_chain_records),
		cmocka_unit_test(test_stats_scan_agrees_on_odd_records),
		cmocka_unit_test(test_stats_fix_matches_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
