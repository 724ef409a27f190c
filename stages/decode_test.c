/*
 * decode_test - CSV records, platform mapping files, rating scales and
 * timestamp formats (the archive walk is covered by testdata/decode/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "decode.h"
#include "models.h"
#include "banned.h"

static struct arena A = ARENA_INIT;

/* Split all of s into records; returns the count, fields in out[r][f]. */
static int
csv_all(const char *s, char delim, char out[8][8][64], size_t *nf,
    size_t *lines)
{
	size_t n = strlen(s), off = 0, used, nval, l, i;
	struct slice v[8];
	int r, k = 0;

	*lines = 0;
	while (off < n) {
		r = csv_record(&A, s + off, n - off, true, delim, &used, v, 8,
		    &nval, &l);
		if (r != 1)
			return -1;
		for (i = 0; i < nval; i++)
			snprintf(out[k][i], 64, "%.*s", (int)v[i].n, v[i].p);
		nf[k++] = nval;
		*lines += l;
		off += used;
	}
	return k;
}

static void
test_decode_csv_rfc4180_quoting(void **state)
{
	char f[8][8][64];
	size_t nf[8], lines;

	assert_int_equal(csv_all("a,b,c\n1,\"x, y\",\"he said \"\"hi\"\"\"\n",
	    ',', f, nf, &lines), 2);
	assert_int_equal(nf[1], 3);
	assert_string_equal(f[1][1], "x, y");
	assert_string_equal(f[1][2], "he said \"hi\"");
	assert_int_equal(lines, 2);
}

static void
test_decode_csv_newline_in_quotes_and_crlf(void **state)
{
	char f[8][8][64];
	size_t nf[8], lines;

	assert_int_equal(csv_all("h1,h2\r\n\"two\r\nlines\",z\r\nlast,1",
	    ',', f, nf, &lines), 3);
	assert_string_equal(f[1][0], "two\r\nlines");
	assert_string_equal(f[1][1], "z");
	assert_string_equal(f[2][0], "last");
	assert_string_equal(f[2][1], "1");
	assert_int_equal(lines, 3);
}

static void
test_decode_csv_empty_and_trailing_fields(void **state)
{
	char f[8][8][64];
	size_t nf[8], lines;

	assert_int_equal(csv_all(",,\n\"\",x,\n", ',', f, nf, &lines), 2);
	assert_int_equal(nf[0], 3);
	assert_int_equal(nf[1], 3);
	assert_string_equal(f[1][0], "");
	assert_string_equal(f[1][2], "");
}

static void
test_decode_csv_tsv(void **state)
{
	char f[8][8][64];
	size_t nf[8], lines;

	assert_int_equal(csv_all("a\tb\nx, y\t\"q\tq\"\n", '\t', f, nf,
	    &lines), 2);
	assert_string_equal(f[1][0], "x, y");
	assert_string_equal(f[1][1], "q\tq");
}

static void
test_decode_csv_needs_more_then_unbalanced(void **state)
{
	const char *s = "a,\"open quote\nstill open";
	struct slice v[8];
	size_t used, nval, l;

	assert_int_equal(csv_record(&A, s, strlen(s), false, ',', &used, v,
	    8, &nval, &l), 0);
	assert_int_equal(csv_record(&A, s, strlen(s), true, ',', &used, v,
	    8, &nval, &l), -1);
	/* A record cut just after CR waits to see whether LF follows. */
	assert_int_equal(csv_record(&A, "a,b\r", 4, false, ',', &used, v, 8,
	    &nval, &l), 0);
	assert_int_equal(csv_record(&A, "a,b\r\n", 5, false, ',', &used, v,
	    8, &nval, &l), 1);
	assert_int_equal(used, 5);
}

static const char khamsat_like[] =
    "# comment\n"
    "platform = test\n"
    "detect = review_id | buyer.username\n"
    "id = review_id\n"
    "buyer = buyer.username\n"
    "text = comment | body\n"
    "rating = recommended\n"
    "scale = thumbs\n"
    "created_at = at\n"
    "time = iso8601\n";

static void
test_decode_map_parse_and_detect(void **state)
{
	struct pmap m;
	struct pm_set set = { &m, 1 };
	struct dec_rec r = { .n = 0 };
	char err[256];

	assert_int_equal(pm_parse(&m, "t.map", slice_from(khamsat_like), err,
	    sizeof(err)), 0);
	assert_string_equal(m.name, "test");
	assert_int_equal(m.ndetect, 2);
	assert_int_equal(m.src[PM_TEXT].n, 2);
	assert_true(slice_eq(m.src[PM_TEXT].alt[1], "body"));
	assert_int_equal(m.scale, PM_SCALE_THUMBS);
	r.f[0] = (struct dec_field){ SLICE_LIT("review_id"), SLICE_LIT("1"),
	    DV_NUM };
	r.n = 1;
	assert_null(pm_detect(&set, &r));
	r.f[1] = (struct dec_field){ SLICE_LIT("buyer.username"),
	    SLICE_LIT("x"), DV_STR };
	r.n = 2;
	assert_ptr_equal(pm_detect(&set, &r), &m);
	pm_release(&m);
}

static void
test_decode_map_errors_name_the_line(void **state)
{
	struct pmap m;
	char err[256];

	assert_int_equal(pm_parse(&m, "bad.map", slice_from(
	    "platform = x\ntext = t\nnonsense\n"), err, sizeof(err)), -1);
	assert_string_equal(err, "bad.map:3: expected 'key = value'");
	pm_release(&m);
	assert_int_equal(pm_parse(&m, "bad.map", slice_from(
	    "platform = x\ntext = t\ncolour = red\n"), err, sizeof(err)), -1);
	assert_string_equal(err, "bad.map:3: unknown key 'colour'");
	pm_release(&m);
	assert_int_equal(pm_parse(&m, "bad.map", slice_from(
	    "platform = x\ntext = t\nrating = r\n"), err, sizeof(err)), -1);
	assert_string_equal(err, "bad.map: 'rating' needs a 'scale'");
	pm_release(&m);
}

/* Every built-in mapping parses (the binary carries them). */
static void
test_decode_map_builtin_files_parse(void **state)
{
	const struct model_file *f;
	int n = 0;

	for (f = model_files; f->name != NULL; f++) {
		struct pmap m;
		char err[256];

		if (strncmp(f->name, "schemas/platforms/", 18) != 0)
			continue;
		if (pm_parse(&m, f->name, (struct slice){
		    (const char *)f->data, f->len }, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		pm_release(&m);
		n++;
	}
	assert_true(n >= 5);
}

static int
rate(enum pm_scale sc, double lo, double hi, const char *v, enum dec_type t)
{
	struct pmap m = { .scale = sc, .rmin = lo, .rmax = hi };
	struct dec_field f = { SLICE_LIT("r"), slice_from(v), t };
	int out = -9;
	int r = pm_rating(&m, &f, &out);

	return r == 1 ? out : r == 0 ? 0 : -1;
}

static void
test_decode_rating_scales(void **state)
{
	/* Stars, fractional stars. */
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "5", DV_NUM), 5);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "4.7", DV_STR), 5);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "4.4", DV_STR), 4);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "1", DV_NUM), 1);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, " 3 ", DV_STR), 3);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "0", DV_NUM), -1);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "5.5", DV_NUM), -1);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "", DV_STR), 0);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "", DV_NULL), 0);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "five", DV_STR), -1);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 5, "true", DV_BOOL), -1);
	/* 10-point. */
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 10, "10", DV_NUM), 5);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 10, "1", DV_NUM), 1);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 10, "5", DV_NUM), 3);
	assert_int_equal(rate(PM_SCALE_LINEAR, 1, 10, "8", DV_NUM), 4);
	/* Percent. */
	assert_int_equal(rate(PM_SCALE_LINEAR, 0, 100, "100", DV_NUM), 5);
	assert_int_equal(rate(PM_SCALE_LINEAR, 0, 100, "0", DV_NUM), 1);
	assert_int_equal(rate(PM_SCALE_LINEAR, 0, 100, "45", DV_NUM), 3);
	assert_int_equal(rate(PM_SCALE_LINEAR, 0, 100, "80", DV_NUM), 4);
	/* Thumbs. */
	assert_int_equal(rate(PM_SCALE_THUMBS, 0, 0, "true", DV_BOOL), 5);
	assert_int_equal(rate(PM_SCALE_THUMBS, 0, 0, "false", DV_BOOL), 1);
	assert_int_equal(rate(PM_SCALE_THUMBS, 0, 0, "Up", DV_STR), 5);
	assert_int_equal(rate(PM_SCALE_THUMBS, 0, 0, "negative", DV_STR), 1);
	assert_int_equal(rate(PM_SCALE_THUMBS, 0, 0, "\xf0\x9f\x91\x8d",
	    DV_STR), 5);
	assert_int_equal(rate(PM_SCALE_THUMBS, 0, 0, "maybe", DV_STR), -1);
}

static int64_t
iso(const char *s)
{
	int64_t t = -1;

	return pm_parse_iso8601(slice_from(s), &t) == 0 ? t : -1;
}

static int64_t
mdy(const char *s)
{
	int64_t t = -1;

	return pm_parse_mdy(slice_from(s), &t) == 0 ? t : -1;
}

static void
test_decode_time_formats(void **state)
{
	assert_int_equal(iso("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(iso("2026-11-03T10:20:30Z"), 1793701230);
	assert_int_equal(iso("2026-11-03T13:20:30+03:00"), 1793701230);
	assert_int_equal(iso("2026-11-03T05:20:30-0500"), 1793701230);
	assert_int_equal(iso("2026-11-03 10:20:30.123Z"), 1793701230);
	assert_int_equal(iso("2026-11-03T10:20"), 1793701200);
	assert_int_equal(iso("2026-11-03"), 1793664000);
	assert_int_equal(iso("2024-02-29"), 1709164800);
	assert_int_equal(iso("2026-02-29"), -1);
	assert_int_equal(iso("2026-13-01"), -1);
	assert_int_equal(iso("2026-11-03T25:00:00Z"), -1);
	assert_int_equal(iso("2026-11-03Tjunk"), -1);
	assert_int_equal(iso("03/11/2026"), -1);
	assert_int_equal(mdy("Nov 3, 2026"), 1793664000);
	assert_int_equal(mdy("November 3, 2026"), 1793664000);
	assert_int_equal(mdy("nov 03 2026"), 1793664000);
	assert_int_equal(mdy("Sept 1, 2026"), 1788220800);
	assert_int_equal(mdy("Feb 30, 2026"), -1);
	assert_int_equal(mdy("Foo 3, 2026"), -1);
	assert_int_equal(mdy("Nov 3"), -1);
}

/* Records carry ints as msgpack-c would pack them: every size boundary. */
static void
test_decode_put_int_as_msgpack_c(void **state)
{
	static const int64_t edge[] = { 0, 1, 5, 127, 128, 255, 256, 65535,
	    65536, 4294967295LL, 4294967296LL, INT64_MAX, -1, -32, -33, -128,
	    -129, -32768, -32769, -2147483648LL, -2147483649LL, INT64_MIN,
	    1700000000, 253402300799LL };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned char w[16];
	size_t i, n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		sb.size = 0;
		msgpack_pack_int64(&pk, edge[i]);
		n = dec_put_int(w, edge[i]);
		assert_int_equal(n, sb.size);
		assert_memory_equal(w, sb.data, n);
	}
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_csv_rfc4180_quoting),
		cmocka_unit_test(test_decode_csv_newline_in_quotes_and_crlf),
		cmocka_unit_test(test_decode_csv_empty_and_trailing_fields),
		cmocka_unit_test(test_decode_csv_tsv),
		cmocka_unit_test(test_decode_csv_needs_more_then_unbalanced),
		cmocka_unit_test(test_decode_map_parse_and_detect),
		cmocka_unit_test(test_decode_map_errors_name_the_line),
		cmocka_unit_test(test_decode_map_builtin_files_parse),
		cmocka_unit_test(test_decode_rating_scales),
		cmocka_unit_test(test_decode_time_formats),
		cmocka_unit_test(test_decode_put_int_as_msgpack_c),
	};
	int r = cmocka_run_group_tests_name("decode", tests, NULL, NULL);

	arena_release(&A);
	return r;
}
