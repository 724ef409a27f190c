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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
