/*
 * text_test - UTF-8 validation, control removal, trimming and NFC, the
 * NFC quick check checked against utf8proc's own NFC over the corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>
#include <zlib.h>

#include "text.h"
#include "banned.h"

static struct arena A = ARENA_INIT;

/* Clean s; assert it succeeds and gives want. */
static void
clean_is(const char *s, const char *want)
{
	struct text_error e;
	struct slice out;

	assert_int_equal(text_clean(&A, s, strlen(s), &out, &e), 0);
	if (out.n != strlen(want) || memcmp(out.p, want, out.n) != 0)
		fail_msg("clean('%s') = '%.*s', want '%s'", s, (int)out.n,
		    out.p, want);
	arena_reset(&A);
}

/* Clean s; assert it fails with what at off. */
static void
bad_is(const char *s, size_t n, enum text_bad what, size_t off)
{
	struct text_error e;
	struct slice out;

	assert_int_equal(text_clean(&A, s, n, &out, &e), -1);
	assert_int_equal(e.what, what);
	assert_int_equal(e.off, off);
	assert_int_equal(e.byte, (unsigned char)s[off]);
	assert_int_equal(text_utf8_check(s, n, &e), -1);
	assert_int_equal(e.what, what);
	assert_int_equal(e.off, off);
	arena_reset(&A);
}

static void
test_text_ascii_unchanged_is_not_copied(void **state)
{
	const char *s = "plain ascii review, nothing to do";
	struct text_error e;
	struct slice out;

	assert_int_equal(text_clean(&A, s, strlen(s), &out, &e), 0);
	assert_ptr_equal(out.p, s);
	assert_int_equal(out.n, strlen(s));
}

static void
test_text_nfc_text_is_not_copied(void **state)
{
	const char *s = "Привет, мир — مرحبا καλημέρα Café";
	struct text_error e;
	struct slice out;

	assert_int_equal(text_clean(&A, s, strlen(s), &out, &e), 0);
	assert_ptr_equal(out.p, s);
}

static void
test_text_invalid_utf8_reasons_and_offsets(void **state)
{
	bad_is("ab\xff", 3, TEXT_BAD_BYTE, 2);
	bad_is("a\x80", 2, TEXT_BAD_BYTE, 1);
	bad_is("x\xc0\xaf", 3, TEXT_OVERLONG, 1);
	bad_is("xy\xe0\x80\xaf", 5, TEXT_OVERLONG, 2);
	bad_is("\xf0\x80\x80\xaf", 4, TEXT_OVERLONG, 0);
	bad_is("s \xed\xa0\x80", 5, TEXT_SURROGATE, 2);
	bad_is("s \xed\xbf\xbf", 5, TEXT_SURROGATE, 2);
	bad_is("big \xf4\x90\x80\x80", 8, TEXT_TOO_BIG, 4);
	bad_is("cut \xe2\x82", 6, TEXT_TRUNCATED, 4);
	bad_is("cut \xe2\x82x", 7, TEXT_TRUNCATED, 4);
	bad_is("\xf8\x88\x80\x80\x80", 5, TEXT_BAD_BYTE, 0);
	/* A long ASCII run first: the 8-byte fast path must not skip it. */
	bad_is("0123456789abcdefghij\xfe", 21, TEXT_BAD_BYTE, 20);
}

/*
 * The 8-byte ASCII and 2-byte fast paths against utf8proc_iterate on
 * random mixes of 1- to 4-byte characters with one byte damaged: same
 * verdict, same offset.
 */
static void
test_text_utf8_fast_paths_match_utf8proc(void **state)
{
	static const char *const pieces[] = { "a", " ", "\xd0\xb4",
	    "\xc2\x80", "\xdf\xbf", "\xd8\xa7", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80" };
	uint32_t seed = 12345;
	unsigned char b[96];
	int round;

	for (round = 0; round < 200000; round++) {
		struct text_error e;
		size_t n = 0, off;
		utf8proc_ssize_t got = 0;
		utf8proc_int32_t cp;
		int ours;

		seed = seed * 1103515245 + 12345;
		while (n < 80 && (seed >> 8) % 23 != 0) {
			const char *pc = pieces[(seed >> 16) % 8];

			memcpy(b + n, pc, strlen(pc));
			n += strlen(pc);
			seed = seed * 1103515245 + 12345;
		}
		if (n > 0 && (seed >> 4) % 2 == 0)
			b[(seed >> 12) % n] = (unsigned char)(seed >> 24);
		for (off = 0; off < n; off += (size_t)got)
			if ((got = utf8proc_iterate(b + off,
			    (utf8proc_ssize_t)(n - off), &cp)) < 0)
				break;
		ours = text_utf8_check((const char *)b, n, &e);
		assert_int_equal(ours == 0, off >= n);
		if (ours == -1)
			assert_int_equal(e.off, off);
	}
}

static void
test_text_edge_code_points_are_valid(void **state)
{
	clean_is("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	clean_is("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	clean_is("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	clean_is("\xc2\xa9", "\xc2\xa9");			/* U+00A9 */
}

static void
test_text_controls_removed_newlines_kept(void **state)
{
	clean_is("a\x07" "b", "ab");
	clean_is("tab\there", "tab here");
	clean_is("one\r\ntwo\rthree\nfour", "one\ntwo\nthree\nfour");
	clean_is("del\x7f!", "del!");
	clean_is("c1 \xc2\x85 gone", "c1  gone");
	{
		struct text_error e;
		struct slice out;

		assert_int_equal(text_clean(&A, "a\0b", 3, &out, &e), 0);
		assert_int_equal(out.n, 2);
		assert_memory_equal(out.p, "ab", 2);
	}
}

static void
test_text_trim_unicode_spaces(void **state)
{
	clean_is("  \t x \n ", "x");
	clean_is("\xc2\xa0\xe3\x80\x80" "مرحبا" "\xe2\x80\x8b\xef\xbb\xbf",
	    "مرحبا");
	clean_is("   ", "");
	clean_is("", "");
	clean_is("a b", "a b");
}

static void
test_text_nfc_composes(void **state)
{
	clean_is("Cafe\xcc\x81", "Caf\xc3\xa9");
	/* Hangul L V T jamo compose into one syllable. */
	clean_is("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81");
	/* Singletons: OHM SIGN becomes OMEGA. */
	clean_is("\xe2\x84\xa6", "\xce\xa9");
	/* Combining marks reordered by class. */
	clean_is("a\xcc\x95\xcc\x81", "\xc3\xa1\xcc\x95");
	/*
	 * Inside long runs of two-byte letters (read four at a time): a
	 * combining breve at every position of an eight-byte window, and
	 * a C1 control, are still seen.
	 */
	clean_is("\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb8\xcc\x86"
	    "\xd0\xb4\xd0\xb5\xd0\xb6",
	    "\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb9\xd0\xb4\xd0\xb5"
	    "\xd0\xb6");
	clean_is("\xd0\xb0\xd0\xb8\xcc\x86\xd0\xb1\xd0\xb2\xd0\xb3"
	    "\xd0\xb4\xd0\xb5\xd0\xb6",
	    "\xd0\xb0\xd0\xb9\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5"
	    "\xd0\xb6");
	clean_is("\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5"
	    "\xc2\x85\xd0\xb6\xd0\xb7",
	    "\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5\xd0\xb6"
	    "\xd0\xb7");
}

/*
 * Over every corpus line: text_clean() must equal utf8proc's NFC of the
 * same text with controls dropped, and the quick check must never say
 * "NFC" for text that NFC would change.
 */
static void
test_text_nfc_quick_check_agrees_with_utf8proc_on_corpus(void **state)
{
	static const char *langs[] = { "ar", "el", "en", "fa", "kk", "ru",
	    "tr" };
	char line[65536], path[256];
	size_t k, n = 0, changed = 0;

	for (k = 0; k < sizeof(langs) / sizeof(langs[0]); k++) {
		gzFile z;

		snprintf(path, sizeof(path),
		    "testdata/corpus/reviews.%s.jsonl.gz", langs[k]);
		if ((z = gzopen(path, "rb")) == NULL)
			skip();
		while (gzgets(z, line, sizeof(line)) != NULL) {
			size_t len = strlen(line);
			struct text_error e;
			struct slice out;
			utf8proc_uint8_t *nfc;

			if (text_utf8_check(line, len, &e) == -1 ||
			    strpbrk(line, "\x01\x02\x03\x04\x05\x06\x07"
			    "\x08\x09\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"
			    "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
			    "\x1d\x1e\x1f\x7f") != NULL)
				continue;	/* controls: tested above */
			nfc = utf8proc_NFC((const utf8proc_uint8_t *)line);
			assert_non_null(nfc);
			if (text_nfc_quick((struct slice){ line, len }))
				assert_string_equal((char *)nfc, line);
			if (strcmp((char *)nfc, line) != 0)
				changed++;
			free(nfc);
			assert_int_equal(text_clean(&A, line, len, &out, &e),
			    0);
			/* The line is JSON: no raw controls but its LF. */
			nfc = utf8proc_NFC((const utf8proc_uint8_t *)line);
			{
				struct slice t = text_trim(slice_from(
				    (char *)nfc));

				assert_int_equal(out.n, t.n);
				assert_memory_equal(out.p, t.p, t.n);
			}
			free(nfc);
			arena_reset(&A);
			n++;
		}
		gzclose(z);
	}
	assert_true(n > 1000);
	print_message("text: %zu corpus lines, %zu changed by NFC\n", n,
	    changed);
}

/* Every BMP code point alone: quick check "yes" implies NFC unchanged. */
static void
test_text_nfc_quick_check_sound_for_every_code_point(void **state)
{
	int32_t cp, prev;
	unsigned char b[16];
	size_t n;

	for (cp = 0x20; cp < 0x30000; cp++) {
		utf8proc_uint8_t *nfc;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		/* Pair each code point with a base letter before it. */
		prev = 'a';
		n = (size_t)utf8proc_encode_char(prev, b);
		n += (size_t)utf8proc_encode_char(cp, b + n);
		b[n] = 0;
		if (!text_nfc_quick((struct slice){ (char *)b, n }))
			continue;
		nfc = utf8proc_NFC(b);
		if (strcmp((char *)nfc, (char *)b) != 0)
			fail_msg("quick check passed U+%04X", cp);
		free(nfc);
	}
}

/*
 * NFC runs through utf8proc only over the span that needs it: random
 * strings of starters, combining marks, Hangul jamo, singletons and
 * spaces must come out as utf8proc's NFC of the whole trimmed string.
 */
static void
test_text_nfc_span_equals_whole_string_nfc(void **state)
{
	static const int32_t alpha[] = { 'a', 'e', 'o', ' ', 0xe9, 0x0301,
	    0x0308, 0x0327, 0x0323, 0x0344, 0x0387, 0x2000, 0x2001, 0x00a0,
	    0x0627, 0x0653, 0x064b, 0x0670, 0x1100, 0x1161, 0x11a8, 0xac00,
	    0xac01, 0x304b, 0x3099, 0x0415, 0x0306, 0x0419, 0x212b, 0x1e0b,
	    0x0f73, 0x0f71, 0x0f72, 0x1f600, 0x0b47, 0x0b3e, 0x05b4 };
	unsigned char b[64];
	uint32_t seed = 12345;
	int iter, k, len;
	size_t n;

	for (iter = 0; iter < 20000; iter++) {
		struct text_error e;
		struct slice out, t;
		utf8proc_uint8_t *nfc;
		char *tz;

		len = 1 + iter % 9;
		for (n = 0, k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			n += (size_t)utf8proc_encode_char(alpha[(seed >> 16) %
			    (sizeof(alpha) / sizeof(alpha[0]))], b + n);
		}
		b[n] = 0;
		assert_int_equal(text_clean(&A, (char *)b, n, &out, &e), 0);
		t = text_trim((struct slice){ (char *)b, n });
		tz = strndup(t.p, t.n);
		nfc = utf8proc_NFC((utf8proc_uint8_t *)tz);
		t = text_trim(slice_from((char *)nfc));
		if (t.n != out.n || memcmp(t.p, out.p, t.n) != 0)
			fail_msg("clean('%s') = '%.*s', want '%.*s'", b,
			    (int)out.n, out.p, (int)t.n, t.p);
		free(nfc);
		free(tz);
		arena_reset(&A);
	}
}

/*
 * Longer strings of two-byte characters (the 16-byte path): blocks with
 * no flagged code point, flagged ones (combining marks, U+0387) and clear
 * ones inside a flagged block's span (Arabic-Indic digits), at every
 * offset; then a C1 control at every offset of a Cyrillic run.
 */
static void
test_text_two_byte_runs_against_nfc(void **state)
{
	static const int32_t alpha[] = { 'a', ' ', 0xe9, 0x416, 0x436,
	    0x451, 0x483, 0x4d9, 0x492, 0x627, 0x644, 0x64b, 0x670, 0x660,
	    0x669, 0x387, 0x3ac, 0x5d0, 0x5b4, 0x301, 0x7ff, 0x6d6, 0x6c0 };
	unsigned char b[256];
	uint32_t seed = 777;
	int iter, k, len;
	size_t n;

	for (iter = 0; iter < 20000; iter++) {
		struct text_error e;
		struct slice out, t;
		utf8proc_uint8_t *nfc;
		char *tz;

		len = 10 + iter % 40;
		for (n = 0, k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly letters: a flagged mark now and then. */
			n += (size_t)utf8proc_encode_char(alpha[(seed >> 16) %
			    (seed % 4 == 0 ? sizeof(alpha) / sizeof(alpha[0]) :
			    9)], b + n);
		}
		b[n] = 0;
		assert_int_equal(text_clean(&A, (char *)b, n, &out, &e), 0);
		t = text_trim((struct slice){ (char *)b, n });
		tz = strndup(t.p, t.n);
		nfc = utf8proc_NFC((utf8proc_uint8_t *)tz);
		t = text_trim(slice_from((char *)nfc));
		if (t.n != out.n || memcmp(t.p, out.p, t.n) != 0)
			fail_msg("clean('%s') = '%.*s', want '%.*s'", b,
			    (int)out.n, out.p, (int)t.n, t.p);
		free(nfc);
		free(tz);
		arena_reset(&A);
	}
	for (k = 0; k <= 20; k++) {
		char in[64], want[64];
		struct text_error e;
		struct slice out;
		int i;

		for (n = 0, i = 0; i < 20; i++) {
			if (i == k) {
				in[n++] = (char)0xc2;
				in[n++] = (char)0x85;
			}
			in[n++] = (char)0xd0;
			in[n++] = (char)0x96;
		}
		for (i = 0; i < 20; i++) {
			want[2 * i] = (char)0xd0;
			want[2 * i + 1] = (char)0x96;
		}
		assert_int_equal(text_clean(&A, in, n, &out, &e), 0);
		assert_int_equal(out.n, 40);
		assert_memory_equal(out.p, want, 40);
		arena_reset(&A);
	}
}

/*
 * The quick-check table is built from the code points that have a
 * decomposition only (and Hangul by arithmetic); it must be the table
 * that decomposing every code point gives, bit for bit.
 */
#define REF_LIMIT	0x30000
static uint64_t ref_qc[REF_LIMIT / 64];

static void
ref_set(int32_t cp)
{
	if (cp >= 0 && cp < REF_LIMIT)
		ref_qc[cp >> 6] |= (uint64_t)1 << (cp & 63);
}

static int
ref_get(int32_t cp)
{
	return (ref_qc[cp >> 6] >> (cp & 63)) & 1;
}

static void
test_text_quick_check_table_equals_full_build(void **state)
{
	utf8proc_int32_t d[32], c[32];
	utf8proc_ssize_t n, m, i;
	unsigned char b[8];
	int32_t cp;
	int bc, set = 0;

	for (cp = 0x300; cp < REF_LIMIT; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (utf8proc_get_property(cp)->combining_class != 0)
			ref_set(cp);
		bc = 0;
		n = utf8proc_decompose_char(cp, d, 32,
		    UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, &bc);
		if (n <= 0 || n > 32 || (n == 1 && d[0] == cp))
			continue;
		for (i = 1; i < n; i++)
			ref_set(d[i]);
		memcpy(c, d, (size_t)n * sizeof(c[0]));
		m = utf8proc_normalize_utf32(c, n,
		    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (m != 1 || c[0] != cp)
			ref_set(cp);
	}
	for (cp = 0x300; cp < REF_LIMIT; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		bc = 0;
		n = utf8proc_decompose_char(cp, d, 32,
		    UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, &bc);
		if (n > 1 && n <= 32 && ref_get(d[0]))
			ref_set(cp);
	}
	for (cp = 0x300; cp < REF_LIMIT; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8proc_encode_char(cp, b);
		set += ref_get(cp);
		if (text_nfc_quick((struct slice){ (char *)b, (size_t)n }) ==
		    ref_get(cp))
			fail_msg("U+%04X: table %d, full build %d", cp,
			    !ref_get(cp), ref_get(cp));
	}
	/* Combining marks alone are some thousands: the build ran. */
	assert_true(set > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_ascii_unchanged_is_not_copied),
		cmocka_unit_test(test_text_nfc_text_is_not_copied),
		cmocka_unit_test(test_text_invalid_utf8_reasons_and_offsets),
		cmocka_unit_test(test_text_utf8_fast_paths_match_utf8proc),
		cmocka_unit_test(test_text_edge_code_points_are_valid),
		cmocka_unit_test(test_text_controls_removed_newlines_kept),
		cmocka_unit_test(test_text_trim_unicode_spaces),
		cmocka_unit_test(test_text_nfc_composes),
		cmocka_unit_test(
		    test_text_nfc_quick_check_agrees_with_utf8proc_on_corpus),
		cmocka_unit_test(
		    test_text_nfc_quick_check_sound_for_every_code_point),
		cmocka_unit_test(test_text_quick_check_table_equals_full_build),
		cmocka_unit_test(test_text_nfc_span_equals_whole_string_nfc),
		cmocka_unit_test(test_text_two_byte_runs_against_nfc),
	};
	int r = cmocka_run_group_tests_name("text", tests, NULL, NULL);

	arena_release(&A);
	return r;
}
