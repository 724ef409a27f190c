/*
 * norm_test - unit tests for the matching form (norm.c): one rule per test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "norm.h"
#include "banned.h"

/*
 * norm_form() on `in` must give the form norm_into() gives (`form`, n
 * bytes) and stay inside its room.
 */
static void
check_form(struct slice in, const char *form, size_t n)
{
	size_t room = NORM_FORM_ROOM(in.n);
	char *out = malloc(room + 1);

	assert_non_null(out);
	memset(out, 0x55, room + 1);
	assert_int_equal(norm_form(out, in), n);
	assert_memory_equal(out, form, n);
	assert_int_equal((unsigned char)out[room], 0x55);
	free(out);
}

/* The form of `in` must be exactly `want`; also checks the invariants. */
static void
check(const char *in, const char *want)
{
	char out[1024];
	size_t n, m;
	struct slice s = slice_from(in);

	n = norm_into(out, sizeof(out), s);
	assert_true(n < sizeof(out));
	assert_true(n <= NORM_MAX_GROWTH * s.n);
	out[n] = '\0';
	assert_string_equal(out, want);
	/* No leading, trailing or double spaces. */
	if (n > 0) {
		assert_true(out[0] != ' ');
		assert_true(out[n - 1] != ' ');
	}
	assert_null(strstr(out, "  "));
	check_form(s, out, n);
	/* Idempotent: the form of the form is itself. */
	m = norm_into(out + 512, 512, (struct slice){ out, n });
	assert_int_equal(m, n);
	assert_memory_equal(out, out + 512, n);
}

static void
test_norm_ascii_case_and_spaces(void **state)
{
	check("  Hello,\tWORLD!!\n  again ", "hello world again");
	check("", "");
	check("   ", "");
	check("abc123", "abc123");
}

static void
test_norm_ascii_punctuation_is_separator(void **state)
{
	check("good-product,fast.delivery", "good product fast delivery");
	check("100% ok?! $5 + tax", "100 ok 5 tax");
	check("(great) [work] {done}", "great work done");
}

static void
test_norm_apostrophes_dropped(void **state)
{
	check("don't", "dont");
	check("don\xe2\x80\x99t", "dont");	/* U+2019 */
	check("it`s", "its");
}

static void
test_norm_compat_forms_folded(void **state)
{
	check("\xef\xac\x81ne", "fine");		/* U+FB01 ligature */
	check("\xef\xbc\xa5\xef\xbd\x98", "ex");	/* fullwidth E x */
	check("x\xc2\xb2", "x2");			/* superscript two */
	check("a\xc2\xa0" "b", "a b");		/* no-break space */
}

static void
test_norm_case_folding_full(void **state)
{
	check("Stra\xc3\x9f" "e", "strasse");
	check("\xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3",
	    "\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x83");	/* ΣΟΦΟΣ */
	check("\xcf\x83\xce\xbf\xcf\x86\xcf\x8c\xcf\x82",
	    "\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x83");	/* σοφός */
	check("\xd0\x9f\xd1\x80\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
	    "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");	/* ПрИВЕТ */
}

static void
test_norm_greek_accents_stripped(void **state)
{
	/* Άριστο -> αριστο, both precomposed and decomposed input. */
	check("\xce\x86\xcf\x81\xce\xb9\xcf\x83\xcf\x84\xce\xbf",
	    "\xce\xb1\xcf\x81\xce\xb9\xcf\x83\xcf\x84\xce\xbf");
	check("\xce\x91\xcc\x81\xcf\x81\xce\xb9\xcf\x83\xcf\x84\xce\xbf",
	    "\xce\xb1\xcf\x81\xce\xb9\xcf\x83\xcf\x84\xce\xbf");
}

static void
test_norm_latin_accents_stripped(void **state)
{
	check("caf\xc3\xa9 na\xc3\xafve", "cafe naive");
	check("cafe\xcc\x81", "cafe");		/* combining acute */
	check("\xc5\x9f" "eker \xc4\xb1l\xc4\xb1k \xc4\xb0stanbul",
	    "seker ilik istanbul");		/* Turkish */
}

static void
test_norm_cyrillic_kazakh_letters_kept(void **state)
{
	/* Kazakh letters have no decomposition and stay. */
	check("\xd2\x9a\xd0\xb0\xd0\xb7\xd0\xb0\xd2\x9b \xd3\x99",
	    "\xd2\x9b\xd0\xb0\xd0\xb7\xd0\xb0\xd2\x9b \xd3\x99");
	/* й and ё lose their marks. */
	check("\xd0\xb9\xd1\x91", "\xd0\xb8\xd0\xb5");
}

static void
test_norm_arabic_tatweel_and_harakat(void **state)
{
	/* الـسـلام -> السلام */
	check("\xd8\xa7\xd9\x84\xd9\x80\xd8\xb3\xd9\x80\xd9\x84\xd8\xa7\xd9\x85",
	    "\xd8\xa7\xd9\x84\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85");
	/* عَلَيْكُمْ -> عليكم */
	check("\xd8\xb9\xd9\x8e\xd9\x84\xd9\x8e\xd9\x8a\xd9\x92\xd9\x83\xd9\x8f"
	    "\xd9\x85\xd9\x92",
	    "\xd8\xb9\xd9\x84\xd9\x8a\xd9\x83\xd9\x85");
	/* shadda: مُمْتَاز with شدة on nothing else -> ممتاز */
	check("\xd9\x85\xd9\x8f\xd9\x85\xd9\x92\xd8\xaa\xd9\x8e\xd8\xa7\xd8\xb2",
	    "\xd9\x85\xd9\x85\xd8\xaa\xd8\xa7\xd8\xb2");
}

static void
test_norm_arabic_alef_variants_unified(void **state)
{
	/* أ إ آ ٱ ا -> ا x5 */
	check("\xd8\xa3\xd8\xa5\xd8\xa2\xd9\xb1\xd8\xa7",
	    "\xd8\xa7\xd8\xa7\xd8\xa7\xd8\xa7\xd8\xa7");
}

static void
test_norm_arabic_letter_variants(void **state)
{
	/* مستشفى -> مستشفي (alef maksura), مدرسة -> مدرسه (teh marbuta) */
	check("\xd9\x85\xd8\xb3\xd8\xaa\xd8\xb4\xd9\x81\xd9\x89",
	    "\xd9\x85\xd8\xb3\xd8\xaa\xd8\xb4\xd9\x81\xd9\x8a");
	check("\xd9\x85\xd8\xaf\xd8\xb1\xd8\xb3\xd8\xa9",
	    "\xd9\x85\xd8\xaf\xd8\xb1\xd8\xb3\xd9\x87");
	/* Persian ی and ک meet their Arabic forms. */
	check("\xdb\x8c\xda\xa9", "\xd9\x8a\xd9\x83");
}

static void
test_norm_eastern_digits(void **state)
{
	check("\xd9\xa1\xd9\xa2\xd9\xa3 \xdb\xb4\xdb\xb5", "123 45");
}

static void
test_norm_emoji_variation_and_skin_tone_dropped(void **state)
{
	/* 👍🏽 -> 👍, ❤️ -> ❤, ZWJ sequence loses its joiners. */
	check("great \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
	    "great \xf0\x9f\x91\x8d");
	check("\xe2\x9d\xa4\xef\xb8\x8f", "\xe2\x9d\xa4");
	check("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9",
	    "\xf0\x9f\x91\xa8\xf0\x9f\x91\xa9");
}

static void
test_norm_unicode_punctuation_and_spaces(void **state)
{
	/* « » — … and the ideographic space are separators. */
	check("\xc2\xab" "a\xc2\xbb\xe2\x80\x94" "b\xe2\x80\xa6\xe3\x80\x80" "c",
	    "a b c");
	/* Arabic comma and question mark. */
	check("\xd8\xa7\xd8\x8c\xd8\xa8\xd8\x9f", "\xd8\xa7 \xd8\xa8");
}

static void
test_norm_invisible_format_chars_dropped(void **state)
{
	check("a\xc2\xad" "b", "ab");			/* soft hyphen */
	check("\xef\xbb\xbf" "ab\xe2\x80\x8b", "ab");	/* BOM, ZWSP */
	check("a\xe2\x80\x8f" "b", "ab");		/* RLM */
}

static void
test_norm_invalid_utf8_dropped(void **state)
{
	check("a\xff" "b", "ab");
	check("a\xc0\xaf" "b", "ab");		/* overlong '/' */
	check("a\xed\xa0\x80" "b", "ab");	/* surrogate */
	check("ab\xe2\x82", "ab");		/* truncated */
}

static void
test_norm_long_expansion_fits_bound(void **state)
{
	/* U+FDFA expands to four words. */
	check("\xef\xb7\xba", "\xd8\xb5\xd9\x84\xd9\x8a \xd8\xa7\xd9\x84\xd9\x84"
	    "\xd9\x87 \xd8\xb9\xd9\x84\xd9\x8a\xd9\x87 \xd9\x88\xd8\xb3\xd9\x84"
	    "\xd9\x85");
}

static void
test_norm_into_reports_needed_length(void **state)
{
	char out[4];
	size_t n;

	n = norm_into(out, sizeof(out), slice_from("Hello World"));
	assert_int_equal(n, 11);
	assert_memory_equal(out, "hell", 4);
	assert_int_equal(norm_into(NULL, 0, slice_from(" A ")), 1);
}

static void
test_norm_arena_and_buf_agree(void **state)
{
	struct arena a = ARENA_INIT;
	struct buf b = BUF_INIT;
	struct slice in = slice_from("\xef\xb7\xba\xef\xb7\xba\xef\xb7\xba x");
	struct slice s;

	s = norm_arena(&a, in);
	assert_int_equal(s.p[s.n], '\0');
	buf_adds(&b, "pre:");
	assert_int_equal(norm_buf(&b, in), s.n);
	assert_int_equal(b.len, 4 + s.n);
	assert_memory_equal(b.p + 4, s.p, s.n);
	assert_int_equal(b.p[b.len], '\0');
	arena_release(&a);
	buf_release(&b);
}

static void
test_norm_growth_bound_over_all_code_points(void **state)
{
	char in[4], out[64];
	int32_t c;
	size_t n, len;

	for (c = 1; c < 0x110000; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		if (c < 0x80) {
			in[0] = (char)c;
			len = 1;
		} else if (c < 0x800) {
			in[0] = (char)(0xc0 | c >> 6);
			in[1] = (char)(0x80 | (c & 0x3f));
			len = 2;
		} else if (c < 0x10000) {
			in[0] = (char)(0xe0 | c >> 12);
			in[1] = (char)(0x80 | (c >> 6 & 0x3f));
			in[2] = (char)(0x80 | (c & 0x3f));
			len = 3;
		} else {
			in[0] = (char)(0xf0 | c >> 18);
			in[1] = (char)(0x80 | (c >> 12 & 0x3f));
			in[2] = (char)(0x80 | (c >> 6 & 0x3f));
			in[3] = (char)(0x80 | (c & 0x3f));
			len = 4;
		}
		n = norm_into(out, sizeof(out), (struct slice){ in, len });
		assert_true(n <= NORM_MAX_GROWTH * len);
		check_form((struct slice){ in, len }, out, n);
	}
}

/*
 * norm_form() against norm_into() on random byte strings: every code point
 * length, separators, apostrophes, marks, invalid and cut sequences.
 */
static void
test_norm_form_agrees_with_norm_into(void **state)
{
	static const char *const piece[] = { "a", "Z", " ", ",", "'", "7",
	    "\t", "\xc3\xa9", "\xc3\x9f", "\xd0\x99", "\xd9\x80",
	    "\xd8\xa3", "\xd9\x8e", "\xcc\x81", "\xc4\xb0", "\xc7\x86",
	    "\xe2\x80\x99", "\xef\xac\x81", "\xef\xb7\xba",
	    "\xe2\x80\x8d", "\xf0\x9f\x91\x8d", "\xf0\x9f\x8f\xbd",
	    "\xc0\xaf", "\xc1\x81", "\x80", "\xff", "\xc3", "\xe2\x80",
	    "\xed\xa0\x80", "\xd9\xa3", "\xdb\xb5", "\xc2\xa0" };
	size_t npiece = sizeof(piece) / sizeof(piece[0]);
	char in[256], form[256 * NORM_MAX_GROWTH + 16];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t iter, len, n, k;

	for (iter = 0; iter < 20000; iter++) {
		len = 0;
		for (k = 0; k < 1 + iter % 40; k++) {
			const char *pc;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			pc = piece[x % npiece];
			memcpy(in + len, pc, strlen(pc));
			len += strlen(pc);
		}
		n = norm_into(form, sizeof(form), (struct slice){ in, len });
		assert_true(n <= sizeof(form));
		/* Cut anywhere: the last sequence may end early. */
		check_form((struct slice){ in, len }, form, n);
		n = norm_into(form, sizeof(form), (struct slice){ in,
		    len - x % 3 % len });
		check_form((struct slice){ in, len - x % 3 % len }, form, n);
	}
}

static void
test_norm_fast_and_checked_paths_agree(void **state)
{
	static const char *in[] = {
		"  Hello,\tWORLD!!  don't \xef\xac\x81ne",
		"\xd0\x9f\xd1\x80\xd0\x98\xd0\x92\xd0\x95\xd0\xa2, "
		    "\xd0\xbc\xd0\xb8\xd1\x80! \xf0\x9f\x91\x8d\xf0\x9f\x8f"
		    "\xbd ok",
		"\xd8\xa7\xd9\x84\xd9\x80\xd8\xb3\xd9\x8e\xd9\x84\xd8\xa7"
		    "\xd9\x85 \xef\xb7\xba x \xd9\xa1\xd9\xa2",
		"\xce\x86\xcf\x81\xce\xb9\xcf\x83\xcf\x84\xce\xbf\xcf\x82 "
		    "\xc3\x9f \xc4\xb0 a\xff" "b",
	};
	char big[1024], small[1024];
	size_t i, n, cap, m;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		n = norm_into(big, sizeof(big), slice_from(in[i]));
		/* Every smaller buffer: same length reported, same prefix. */
		for (cap = 0; cap <= n + 2; cap++) {
			memset(small, 0x55, sizeof(small));
			m = norm_into(small, cap, slice_from(in[i]));
			assert_int_equal(m, n);
			assert_memory_equal(small, big, cap < n ? cap : n);
			assert_int_equal((unsigned char)small[cap], 0x55);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_ascii_case_and_spaces),
		cmocka_unit_test(test_norm_ascii_punctuation_is_separator),
		cmocka_unit_test(test_norm_apostrophes_dropped),
		cmocka_unit_test(test_norm_compat_forms_folded),
		cmocka_unit_test(test_norm_case_folding_full),
		cmocka_unit_test(test_norm_greek_accents_stripped),
		cmocka_unit_test(test_norm_latin_accents_stripped),
		cmocka_unit_test(test_norm_cyrillic_kazakh_letters_kept),
		cmocka_unit_test(test_norm_arabic_tatweel_and_harakat),
		cmocka_unit_test(test_norm_arabic_alef_variants_unified),
		cmocka_unit_test(test_norm_arabic_letter_variants),
		cmocka_unit_test(test_norm_eastern_digits),
		cmocka_unit_test(test_norm_emoji_variation_and_skin_tone_dropped),
		cmocka_unit_test(test_norm_unicode_punctuation_and_spaces),
		cmocka_unit_test(test_norm_invisible_format_chars_dropped),
		cmocka_unit_test(test_norm_invalid_utf8_dropped),
		cmocka_unit_test(test_norm_long_expansion_fits_bound),
		cmocka_unit_test(test_norm_into_reports_needed_length),
		cmocka_unit_test(test_norm_form_agrees_with_norm_into),
		cmocka_unit_test(test_norm_arena_and_buf_agree),
		cmocka_unit_test(test_norm_fast_and_checked_paths_agree),
		cmocka_unit_test(test_norm_growth_bound_over_all_code_points),
	};

	return cmocka_run_group_tests_name("norm", tests, NULL, NULL);
}
