/*
 * rec_test - the record reader, lookups and the output builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rec.h"
#include "stage.h"
#include "banned.h"

/* Pack a small record {"id": id, "text": text} into b. */
static void
pack_rec(struct buf *b, const char *id, const char *text)
{
	msgpack_packer pk;

	mp_packer_buf(&pk, b);
	msgpack_pack_map(&pk, 2);
	mp_pack_cstr(&pk, "id");
	mp_pack_cstr(&pk, id);
	mp_pack_cstr(&pk, "text");
	mp_pack_cstr(&pk, text);
}

/* A file descriptor reading `n` bytes at p, through a temporary file. */
static int
fd_with(const void *p, size_t n)
{
	FILE *fp = tmpfile();
	int fd;

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fflush(fp);
	fd = dup(fileno(fp));
	fclose(fp);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void
test_rec_reader_reads_records_in_order(void **state)
{
	struct buf b = BUF_INIT;
	struct rec_reader *rd;
	const struct rec *r;
	struct slice s;
	int fd, i;
	char id[16];

	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		pack_rec(&b, id, "some review text");
	}
	fd = fd_with(b.p, b.len);
	rd = rec_reader_new(fd, "test");
	for (i = 0; i < 1000; i++) {
		assert_int_equal(rec_reader_next(rd, &r), 1);
		assert_int_equal(r->seq, (uint64_t)i);
		assert_int_equal(rec_get_str(r, "id", &s), 0);
		snprintf(id, sizeof(id), "r%d", i);
		assert_true(slice_eq(s, id));
		assert_int_equal(r->nkeys, 2);
	}
	assert_int_equal(rec_reader_next(rd, &r), 0);
	assert_int_equal(rec_reader_offset(rd), b.len);
	rec_reader_free(rd);
	close(fd);
	buf_release(&b);
}

static void
test_rec_reader_record_larger_than_a_read(void **state)
{
	struct buf b = BUF_INIT, big = BUF_INIT;
	struct rec_reader *rd;
	const struct rec *r;
	struct slice s;
	int fd;

	pack_rec(&b, "small", "x");
	while (big.len < (3 << 20))
		buf_adds(&big, "long review text that goes on; ");
	pack_rec(&b, "big", big.p);
	pack_rec(&b, "after", "y");
	fd = fd_with(b.p, b.len);
	rd = rec_reader_new(fd, "test");
	assert_int_equal(rec_reader_next(rd, &r), 1);
	assert_int_equal(rec_reader_next(rd, &r), 1);
	assert_int_equal(rec_get_str(r, "text", &s), 0);
	assert_int_equal(s.n, big.len);
	assert_memory_equal(s.p, big.p, big.len);
	assert_int_equal(rec_reader_next(rd, &r), 1);
	assert_int_equal(rec_get_str(r, "id", &s), 0);
	assert_true(slice_eq(s, "after"));
	assert_int_equal(rec_reader_next(rd, &r), 0);
	rec_reader_free(rd);
	close(fd);
	buf_release(&b);
	buf_release(&big);
}

static void
test_rec_reader_truncated_names_offset(void **state)
{
	struct buf b = BUF_INIT;
	struct rec_reader *rd;
	const struct rec *r;
	size_t first;
	int fd;

	pack_rec(&b, "a", "first");
	first = b.len;
	pack_rec(&b, "b", "second record");
	fd = fd_with(b.p, b.len - 4);	/* cut inside the second */
	rd = rec_reader_new(fd, "cut.msgpack");
	assert_int_equal(rec_reader_next(rd, &r), 1);
	assert_int_equal(rec_reader_next(rd, &r), -1);
	assert_non_null(strstr(rec_reader_error(rd), "cut.msgpack"));
	assert_non_null(strstr(rec_reader_error(rd), "truncated"));
	char want[32];
	snprintf(want, sizeof(want), "byte %zu", first);
	assert_non_null(strstr(rec_reader_error(rd), want));
	assert_int_equal(rec_reader_tail(rd).n, b.len - 4 - first);
	rec_reader_free(rd);
	close(fd);
	buf_release(&b);
}

static void
test_rec_reader_malformed_byte(void **state)
{
	static const char bad[] = "\x81\xa2id\xc1";
	struct rec_reader *rd;
	const struct rec *r;
	int fd = fd_with(bad, sizeof(bad) - 1);

	rd = rec_reader_new(fd, "bad");
	assert_int_equal(rec_reader_next(rd, &r), -1);
	assert_non_null(strstr(rec_reader_error(rd), "malformed"));
	rec_reader_free(rd);
	close(fd);
}

static void
test_rec_reader_skips_non_map(void **state)
{
	struct buf b = BUF_INIT;
	struct rec_reader *rd;
	const struct rec *r;
	int fd;

	buf_add(&b, "\x93\x01\x02\x03", 4);	/* [1, 2, 3] */
	buf_add(&b, "\x81\x01\xa1x", 4);	/* {1: "x"}: int key */
	pack_rec(&b, "ok", "fine");
	fd = fd_with(b.p, b.len);
	rd = rec_reader_new(fd, "test");
	assert_int_equal(rec_reader_next(rd, &r), 2);
	assert_int_equal(rec_reader_tail(rd).n, 4);
	assert_int_equal(rec_reader_next(rd, &r), 2);
	assert_int_equal(rec_reader_next(rd, &r), 1);
	assert_int_equal(r->seq, 2);
	assert_int_equal(rec_reader_next(rd, &r), 0);
	rec_reader_free(rd);
	close(fd);
	buf_release(&b);
}

static void
test_mp_skip_rejects_deep_nesting(void **state)
{
	char deep[200];
	const char *p = deep;

	memset(deep, 0x91, sizeof(deep) - 1);	/* [[[[...]]]] */
	deep[sizeof(deep) - 1] = (char)0xc0;
	assert_int_equal(mp_skip(&p, deep + sizeof(deep)), MP_BAD);
	assert_ptr_equal(p, deep);
}

/* Found by rec_fuzz: a value nested 32 deep inside the record's map is 33
 * levels for msgpack-c, which refuses it; the reader must agree. */
static void
test_rec_parse_nesting_counts_the_record_map(void **state)
{
	char rec[64];
	struct rec r;
	size_t used, i = 0;

	memset(&r, 0, sizeof(r));
	rec[i++] = (char)0x81;			/* {"k": [[[...nil...]]]} */
	rec[i++] = (char)0xa1;
	rec[i++] = 'k';
	memset(rec + i, 0x91, MP_MAX_DEPTH);	/* 32 arrays: 33 levels */
	i += MP_MAX_DEPTH;
	rec[i++] = (char)0xc0;
	assert_int_equal(rec_parse(&r, rec, i, &used), MP_BAD);
	/* One level less fits. */
	memmove(rec + 3, rec + 4, i - 4);
	assert_int_equal(rec_parse(&r, rec, i - 1, &used), MP_OK);
	assert_int_equal(used, i - 1);
	rec_release(&r);
}

/*
 * An empty array innermost is a level as msgpack-c counts it (its stack
 * check comes before the count): at every depth rec_parse accepts exactly
 * what msgpack_unpack_next() accepts.  Found by rec_fuzz.
 */
static void
test_rec_parse_empty_container_is_a_level(void **state)
{
	char rec[64];
	struct rec r;
	size_t used, i, n;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (n = MP_MAX_DEPTH - 4; n <= MP_MAX_DEPTH + 1; n++) {
		msgpack_unpacked u;
		size_t at = 0;
		int want, got;

		i = 0;
		rec[i++] = (char)0x81;		/* {"k": [[...[]...]]} */
		rec[i++] = (char)0xa1;
		rec[i++] = 'k';
		memset(rec + i, 0x91, n);
		i += n;
		rec[i++] = (char)0x90;
		msgpack_unpacked_init(&u);
		want = msgpack_unpack_next(&u, rec, i, &at) ==
		    MSGPACK_UNPACK_SUCCESS;
		msgpack_unpacked_destroy(&u);
		got = rec_parse(&r, rec, i, &used) == MP_OK;
		assert_int_equal(got, want);
	}
	rec_release(&r);
}

static void
test_rec_parse_huge_count_is_short_not_alloc(void **state)
{
	static const char hdr[] = "\xdf\xff\xff\xff\xff\xa1k\xa1v";
	struct rec r;
	size_t used;

	memset(&r, 0, sizeof(r));
	assert_int_equal(rec_parse(&r, hdr, sizeof(hdr) - 1, &used), MP_SHORT);
	assert_int_equal(r.kvcap, 0);
	rec_release(&r);
}

static void
test_rec_lookups_by_type(void **state)
{
	struct buf b = BUF_INIT;
	msgpack_packer pk;
	struct rec r;
	struct slice s;
	const char *it = NULL;
	int64_t i;
	double f;
	size_t used;
	int n = 0;

	memset(&r, 0, sizeof(r));
	mp_packer_buf(&pk, &b);
	msgpack_pack_map(&pk, 5);
	mp_pack_cstr(&pk, "rating");
	msgpack_pack_int(&pk, 4);
	mp_pack_cstr(&pk, "score");
	msgpack_pack_double(&pk, -0.5);
	mp_pack_cstr(&pk, "created_at");
	msgpack_pack_nil(&pk);
	mp_pack_cstr(&pk, "topics");
	msgpack_pack_array(&pk, 2);
	mp_pack_cstr(&pk, "delivery");
	mp_pack_cstr(&pk, "refund");
	mp_pack_cstr(&pk, "text");
	mp_pack_cstr(&pk, "late");
	assert_int_equal(rec_parse(&r, b.p, b.len, &used), MP_OK);
	assert_int_equal(used, b.len);
	assert_int_equal(rec_get_int(&r, "rating", &i), 0);
	assert_int_equal(i, 4);
	assert_int_equal(rec_get_float(&r, "score", &f), 0);
	assert_true(f == -0.5);
	assert_int_equal(rec_get_int(&r, "score", &i), -1);
	assert_true(rec_is_nil(&r, "created_at"));
	assert_int_equal(rec_get_str(&r, "rating", &s), -1);
	assert_int_equal(rec_get_str(&r, "missing", &s), -1);
	while (rec_array_str(&r, "topics", &it, &s) == 1)
		n++;
	assert_int_equal(n, 2);
	assert_true(slice_eq(s, "refund"));
	it = NULL;
	assert_int_equal(rec_array_str(&r, "text", &it, &s), -1);
	rec_release(&r);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rec_reader_reads_records_in_order),
		cmocka_unit_test(test_rec_reader_record_larger_than_a_read),
		cmocka_unit_test(test_rec_reader_truncated_names_offset),
		cmocka_unit_test(test_rec_reader_malformed_byte),
		cmocka_unit_test(test_rec_reader_skips_non_map),
		cmocka_unit_test(test_mp_skip_rejects_deep_nesting),
		cmocka_unit_test(test_rec_parse_nesting_counts_the_record_map),
		cmocka_unit_test(test_rec_parse_empty_container_is_a_level),
		cmocka_unit_test(test_rec_parse_huge_count_is_short_not_alloc),
		cmocka_unit_test(test_rec_lookups_by_type),
	};

	return cmocka_run_group_tests_name("rec", tests, NULL, NULL);
}
