/*
 * run_test - unit tests for run's replies.csv (RFC 4180 quoting, times),
 * the sequence tag and the byte queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rec.h"
#include "run.h"

static void
check_field(const char *in, size_t n, const char *want)
{
	struct buf b = BUF_INIT;

	run_csv_field(&b, in, n);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	assert_int_equal(b.p[b.len], '\0');
	buf_release(&b);
}

static void
test_run_csv_plain_field_unquoted(void **state)
{
	check_field("hello world", 11, "hello world");
	check_field("", 0, "");
	check_field("\xd9\x85\xd8\xaa\xd8\xac\xd8\xb1", 8,
	    "\xd9\x85\xd8\xaa\xd8\xac\xd8\xb1");
}

static void
test_run_csv_comma_quoted(void **state)
{
	check_field("a,b", 3, "\"a,b\"");
}

static void
test_run_csv_quotes_doubled(void **state)
{
	check_field("say \"hi\"", 8, "\"say \"\"hi\"\"\"");
}

static void
test_run_csv_line_breaks_quoted(void **state)
{
	check_field("one\ntwo", 7, "\"one\ntwo\"");
	check_field("one\r\ntwo", 8, "\"one\r\ntwo\"");
}

static void
test_run_csv_nul_kept(void **state)
{
	struct buf b = BUF_INIT;

	run_csv_field(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "a\0b", 3);
	buf_release(&b);
}

/* A record {"id": "r1", "reply": {"due_at": t}} packed with msgpack-c. */
static void
pack_due(struct buf *b, int64_t t)
{
	msgpack_packer pk;

	buf_reset(b);
	mp_packer_buf(&pk, b);
	msgpack_pack_map(&pk, 2);
	mp_pack_cstr(&pk, "id");
	mp_pack_cstr(&pk, "r1");
	mp_pack_cstr(&pk, "reply");
	msgpack_pack_map(&pk, 1);
	mp_pack_cstr(&pk, "due_at");
	msgpack_pack_int64(&pk, t);
}

/* The row's due_at field must be what gmtime_r() and strftime() say. */
static void
check_due(int64_t t)
{
	struct buf in = BUF_INIT, row = BUF_INIT, want = BUF_INIT;
	struct rec r = { 0 };
	struct tm tm;
	time_t tt = (time_t)t;
	char s[64];
	size_t used;

	pack_due(&in, t);
	assert_int_equal(rec_parse(&r, in.p, in.len, &used), MP_OK);
	run_csv_row(&row, &r);
	buf_adds(&want, "r1,,,,,");
	if (gmtime_r(&tt, &tm) != NULL &&
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) != 0)
		buf_adds(&want, s);
	buf_adds(&want, ",\r\n");
	if (row.len != want.len || memcmp(row.p, want.p, row.len) != 0)
		fail_msg("t=%lld: got '%s', want '%s'", (long long)t, row.p,
		    want.p);
	rec_release(&r);
	buf_release(&in);
	buf_release(&row);
	buf_release(&want);
}

static void
test_run_csv_times_match_strftime(void **state)
{
	static const int64_t edge[] = {
		0, 1, 59, 60, 86399, 86400, 951782400, 951868799, 951868800,
		1700000000, 4107542400, 4107628799, 4107628800,
		253402300799LL, 253402300800LL, -1, -86400, -62135596800LL
	};
	uint64_t x = 88172645463325252ULL;
	size_t i;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		check_due(edge[i]);
	/* Every day boundary of 1999-2001 and 2099-2101 (leap rules). */
	for (i = 0; i < 3 * 366; i++) {
		check_due(915148800LL + (int64_t)i * 86400 - 1);
		check_due(4070908800LL + (int64_t)i * 86400);
	}
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_due((int64_t)(x % 253402300800ULL));
	}
}

/* Pack {k0: v0, ...} with string values; returns its bytes in b. */
static void
pack_map(struct buf *b, const char *const *kv, size_t n)
{
	msgpack_packer pk;
	size_t i;

	buf_reset(b);
	mp_packer_buf(&pk, b);
	msgpack_pack_map(&pk, n);
	for (i = 0; i < n; i++) {
		mp_pack_cstr(&pk, kv[2 * i]);
		mp_pack_cstr(&pk, kv[2 * i + 1]);
	}
}

/* Tag, parse, untag: the header plus body are the original bytes. */
static void
check_round_trip(const struct buf *in, uint64_t seq)
{
	struct buf tagged = BUF_INIT, back = BUF_INIT;
	struct rec r = { 0 };
	unsigned char hdr[5];
	const char *body;
	size_t used, hlen, blen;
	uint64_t got;

	assert_true(run_tag(&tagged, in->p, in->len, seq));
	assert_int_equal(rec_parse(&r, tagged.p, tagged.len, &used), MP_OK);
	assert_int_equal(used, tagged.len);
	/* The tag is the first key: the stages append after it. */
	assert_int_equal(r.kv[0].key.n, strlen(RUN_SEQ_KEY));
	assert_memory_equal(r.kv[0].key.p, RUN_SEQ_KEY, r.kv[0].key.n);
	assert_true(run_untag(&r, hdr, &hlen, &body, &blen, &got));
	assert_int_equal(got, seq);
	buf_add(&back, hdr, hlen);
	buf_add(&back, body, blen);
	assert_int_equal(back.len, in->len);
	assert_memory_equal(back.p, in->p, in->len);
	rec_release(&r);
	buf_release(&tagged);
	buf_release(&back);
}

static void
test_run_tag_round_trip(void **state)
{
	static const char *const kv[] = {
		"id", "a", "k01", "1", "k02", "2", "k03", "3", "k04", "4",
		"k05", "5", "k06", "6", "k07", "7", "k08", "8", "k09", "9",
		"k10", "10", "k11", "11", "k12", "12", "k13", "13", "k14", "14",
		"k15", "15", "k16", "16"
	};
	struct buf in = BUF_INIT;
	size_t n;

	/* 15 keys: the tagged map needs a map16 header, the result not. */
	for (n = 0; n <= 17; n++) {
		pack_map(&in, kv, n);
		check_round_trip(&in, 0);
		check_round_trip(&in, 123456789012ULL);
	}
	assert_false(run_tag(&in, "\x92\x01\x02", 3, 1));
	buf_release(&in);
}

static void
test_run_untag_refuses_other_shapes(void **state)
{
	struct buf b = BUF_INIT;
	struct rec r = { 0 };
	unsigned char hdr[5];
	const char *body;
	size_t used, hlen, blen;
	uint64_t seq;
	/* The tag last, as the old runs wrote it. */
	static const char last[] = "\x82\xa2id\xa1x\xa7_rp_seq\xcf"
	    "\0\0\0\0\0\0\0\x05";
	/* A key with a longer header than needed (str8 for "id"). */
	static const char str8[] = "\x82\xa7_rp_seq\xcf\0\0\0\0\0\0\0\x05"
	    "\xd9\x02id\xa1x";
	/* A second _rp_seq key. */
	static const char twice[] = "\x82\xa7_rp_seq\xcf\0\0\0\0\0\0\0\x05"
	    "\xa7_rp_seq\x01";

	assert_int_equal(rec_parse(&r, last, sizeof(last) - 1, &used), MP_OK);
	assert_false(run_untag(&r, hdr, &hlen, &body, &blen, &seq));
	assert_int_equal(rec_parse(&r, str8, sizeof(str8) - 1, &used), MP_OK);
	assert_false(run_untag(&r, hdr, &hlen, &body, &blen, &seq));
	assert_int_equal(rec_parse(&r, twice, sizeof(twice) - 1, &used),
	    MP_OK);
	assert_false(run_untag(&r, hdr, &hlen, &body, &blen, &seq));
	rec_release(&r);
	buf_release(&b);
}

/*
 * The fast skipper never disagrees with mp_skip(): over records of every
 * value type, cut short and with bytes changed at random, whenever it
 * frames a value mp_skip() frames the same bytes.
 */
static void
test_run_fast_frame_agrees_with_mp_skip(void **state)
{
	struct buf rec = BUF_INIT, m = BUF_INIT;
	msgpack_packer pk;
	uint64_t x = 2463534242ULL;
	const char *q;
	size_t i, n, fast, known = 0;
	int rc, k;

	mp_packer_buf(&pk, &rec);
	msgpack_pack_map(&pk, 12);
	mp_pack_cstr(&pk, "id");
	mp_pack_cstr(&pk, "g1-0");
	mp_pack_cstr(&pk, "text");
	mp_pack_strn(&pk, "0123456789012345678901234567890123456789", 40);
	mp_pack_cstr(&pk, "long");
	for (i = 0; i < 300; i++)
		buf_addc(&m, 'a' + (int)(i % 26));
	mp_pack_strn(&pk, m.p, m.len);
	mp_pack_cstr(&pk, "rating");
	msgpack_pack_int64(&pk, 5);
	mp_pack_cstr(&pk, "created_at");
	msgpack_pack_int64(&pk, 1700000000);
	mp_pack_cstr(&pk, "neg");
	msgpack_pack_int64(&pk, -40000);
	mp_pack_cstr(&pk, "score");
	msgpack_pack_double(&pk, -0.25);
	mp_pack_cstr(&pk, "f32");
	msgpack_pack_float(&pk, 0.5f);
	mp_pack_cstr(&pk, "nil");
	msgpack_pack_nil(&pk);
	mp_pack_cstr(&pk, "topics");
	msgpack_pack_array(&pk, 17);
	for (i = 0; i < 17; i++)
		mp_pack_cstr(&pk, "delivery");
	mp_pack_cstr(&pk, "reply");
	msgpack_pack_map(&pk, 2);
	mp_pack_cstr(&pk, "flag");
	msgpack_pack_true(&pk);
	mp_pack_cstr(&pk, "bin");
	msgpack_pack_bin(&pk, 3);
	msgpack_pack_bin_body(&pk, "xyz", 3);
	mp_pack_cstr(&pk, "ext");
	msgpack_pack_ext(&pk, 1, 7);
	msgpack_pack_ext_body(&pk, "\1", 1);

	/* Whole: mp_skip() frames it; the fast path leaves ext alone. */
	q = rec.p;
	assert_int_equal(mp_skip(&q, rec.p + rec.len), MP_OK);
	assert_int_equal(run_fast_frame(rec.p, rec.len), 0);
	/* Counted as 11 pairs (no ext), both frame the same bytes. */
	rec.p[0] = (char)0x8b;
	n = run_fast_frame(rec.p, rec.len);
	q = rec.p;
	assert_int_equal(mp_skip(&q, rec.p + rec.len), MP_OK);
	assert_int_equal(n, (size_t)(q - rec.p));
	assert_true(n > 0 && n < rec.len);
	for (i = 0; i < 200000; i++) {
		buf_reset(&m);
		buf_add(&m, rec.p, n);
		for (k = 0; k < 1 + (int)(i % 3); k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			m.p[x % m.len] = (char)(x >> 32);
		}
		/* One in five cut short. */
		if (i % 5 == 0)
			m.len = (size_t)(x >> 40) % m.len;
		fast = run_fast_frame(m.p, m.len);
		if (fast == 0)
			continue;
		known++;
		q = m.p;
		rc = mp_skip(&q, m.p + m.len);
		assert_int_equal(rc, MP_OK);
		assert_int_equal(fast, (size_t)(q - m.p));
	}
	/* Most of the changed records still take the fast path. */
	assert_true(known > 20000);
	buf_release(&rec);
	buf_release(&m);
}

/*
 * Give `reader` everything queued through a pipe made non-blocking, as
 * run's stats pipe is, reading the other end whenever it is full.
 */
static void
drain(struct run_q *q, int reader, struct buf *got)
{
	char tmp[1 << 16];
	int p[2];
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	while (run_q_pending(q, reader) > 0) {
		n = run_q_write(q, reader, p[1]);
		assert_true(n > 0 || (n == -1 && errno == EAGAIN));
		n = read(p[0], tmp, sizeof(tmp));
		assert_true(n > 0);
		buf_add(got, tmp, (size_t)n);
	}
	close(p[1]);
	while ((n = read(p[0], tmp, sizeof(tmp))) > 0)
		buf_add(got, tmp, (size_t)n);
	assert_int_equal(n, 0);
	close(p[0]);
}

static void
test_run_q_two_readers_same_bytes(void **state)
{
	struct buf want = BUF_INIT, got0 = BUF_INIT, got1 = BUF_INIT;
	struct run_q q;
	char chunk[1000];
	size_t i, j, total = 0;

	run_q_init(&q, 2);
	/* 5 MB in odd pieces, crossing block edges; reader 0 keeps up. */
	for (i = 0; total < 5 * RUN_Q_BLOCK; i++) {
		size_t len = 1 + i * 7919 % sizeof(chunk);

		for (j = 0; j < len; j++)
			chunk[j] = (char)(i + j * 31);
		run_q_add(&q, chunk, len);
		buf_add(&want, chunk, len);
		total += len;
		assert_int_equal(run_q_pending(&q, 0), total - got0.len);
		if (i % 997 == 0)
			drain(&q, 0, &got0);
	}
	drain(&q, 0, &got0);
	/* Reader 1 lags: everything is still queued for it. */
	assert_int_equal(run_q_pending(&q, 1), total);
	assert_non_null(q.head);
	drain(&q, 1, &got1);
	assert_int_equal(got0.len, total);
	assert_memory_equal(got0.p, want.p, total);
	assert_int_equal(got1.len, total);
	assert_memory_equal(got1.p, want.p, total);
	/* Every block passed by both readers is free for reuse. */
	assert_null(q.head);
	assert_non_null(q.spare);
	run_q_release(&q);
	buf_release(&want);
	buf_release(&got0);
	buf_release(&got1);
}

static void
test_run_q_dropped_reader_frees_blocks(void **state)
{
	struct run_q q;
	static char big[3 * RUN_Q_BLOCK / 2];

	run_q_init(&q, 2);
	run_q_add(&q, big, sizeof(big));
	run_q_drop(&q, 1);
	assert_int_equal(run_q_pending(&q, 1), 0);
	assert_int_equal(run_q_pending(&q, 0), sizeof(big));
	run_q_drop(&q, 0);
	assert_null(q.head);
	assert_non_null(q.spare);
	assert_int_equal(run_q_pending(&q, 0), 0);
	run_q_release(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_csv_plain_field_unquoted),
		cmocka_unit_test(test_run_csv_comma_quoted),
		cmocka_unit_test(test_run_csv_quotes_doubled),
		cmocka_unit_test(test_run_csv_line_breaks_quoted),
		cmocka_unit_test(test_run_csv_nul_kept),
		cmocka_unit_test(test_run_csv_times_match_strftime),
		cmocka_unit_test(test_run_tag_round_trip),
		cmocka_unit_test(test_run_untag_refuses_other_shapes),
		cmocka_unit_test(test_run_fast_frame_agrees_with_mp_skip),
		cmocka_unit_test(test_run_q_two_readers_same_bytes),
		cmocka_unit_test(test_run_q_dropped_reader_frees_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
