/*
 * dedupe_test - unit tests for dedupe's signatures and storage
 * (dedupe_sig.c, dedupe_store.c).  Stage behaviour is pinned by the golden
 * cases in testdata/dedupe/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dedupe.h"
#include "norm.h"
#include "banned.h"

/* Estimated similarity of two raw texts, through the matching form. */
static double
sim(const char *a, const char *b)
{
	struct arena ar = ARENA_INIT;
	struct dd_sig sa, sb;
	uint16_t pa[DD_KSTORE], pb[DD_KSTORE];

	dd_sig_make(&sa, norm_arena(&ar, slice_from(a)));
	dd_sig_make(&sb, norm_arena(&ar, slice_from(b)));
	assert_true(sa.has);
	assert_true(sb.has);
	dd_sig_pack(&sa, pa);
	dd_sig_pack(&sb, pb);
	arena_release(&ar);
	return dd_sig_sim(pa, pb);
}

static const char *base = "The designer understood my brief at once and "
    "delivered three great logo options within two days.";

static void
test_dedupe_sig_identical_texts_agree(void **state)
{
	assert_true(sim(base, base) == 1.0);
	/* Same matching form: case, punctuation and spacing differ. */
	assert_true(sim(base, "the DESIGNER understood my brief, at once - "
	    "and delivered three great logo options within two days!!") == 1.0);
}

static void
test_dedupe_sig_word_changed_is_similar(void **state)
{
	assert_true(sim(base, "The designer understood my brief at once and "
	    "delivered three nice logo options within two days.") >= 0.7);
}

static void
test_dedupe_sig_typo_is_similar(void **state)
{
	assert_true(sim(base, "The designer understod my brief at once and "
	    "delivered three great logo options within two days.") >= 0.7);
}

static void
test_dedupe_sig_emoji_added_is_similar(void **state)
{
	assert_true(sim(base, "The designer understood my brief at once and "
	    "delivered three great logo options within two days "
	    "\xf0\x9f\x98\x8d\xf0\x9f\x99\x8f") >= 0.7);
}

static void
test_dedupe_sig_different_reviews_differ(void **state)
{
	assert_true(sim(base, "The translation was late by four days and full "
	    "of mistakes, I had to fix it myself.") < 0.3);
	assert_true(sim("\xd0\x97\xd0\xb0\xd0\xba\xd0\xb0\xd0\xb7 "
	    "\xd0\xb2\xd1\x8b\xd0\xbf\xd0\xbe\xd0\xbb\xd0\xbd\xd0\xb5\xd0\xbd "
	    "\xd0\xb1\xd1\x8b\xd1\x81\xd1\x82\xd1\x80\xd0\xbe", base) < 0.1);
}

static void
test_dedupe_sig_too_short_has_none(void **state)
{
	struct dd_sig s;

	dd_sig_make(&s, slice_from("abc"));
	assert_false(s.has);
	assert_int_equal(s.len, 3);
	dd_sig_make(&s, slice_from("abcd"));
	assert_true(s.has);
	assert_int_equal(s.len, 4);
	/* Code points, not bytes. */
	dd_sig_make(&s, slice_from("\xd0\xb0\xd0\xb1\xd0\xb2"));
	assert_int_equal(s.len, 3);
}

static void
test_dedupe_sig_bands_follow_values_and_group(void **state)
{
	struct dd_sig a, b;
	int i;

	dd_sig_make(&a, slice_from("delivered three great logo options"));
	b = a;
	for (i = 0; i < DD_BANDS; i++)
		assert_true(dd_sig_band(&a, i, 7) == dd_sig_band(&b, i, 7));
	/* Another seller (group): no band in common. */
	for (i = 0; i < DD_BANDS; i++)
		assert_true(dd_sig_band(&a, i, 7) != dd_sig_band(&a, i, 8));
	/* One bin changed: only its band moves. */
	b.v[0] ^= 1;
	assert_true(dd_sig_band(&a, 0, 7) != dd_sig_band(&b, 0, 7));
	for (i = 1; i < DD_BANDS; i++)
		assert_true(dd_sig_band(&a, i, 7) == dd_sig_band(&b, i, 7));
}

static void
test_dedupe_sig_is_deterministic(void **state)
{
	struct dd_sig a, b;

	dd_sig_make(&a, slice_from("same input, same signature"));
	dd_sig_make(&b, slice_from("same input, same signature"));
	assert_memory_equal(a.v, b.v, sizeof(a.v));
}

static void
test_dedupe_vec_items_across_chunks(void **state)
{
	struct dd_vec v;
	size_t i, n = 100000;
	uint32_t x;

	dd_vec_init(&v, 12);
	assert_true(v.per > 1 && (v.per & (v.per - 1)) == 0);
	for (i = 0; i < n; i++) {
		x = (uint32_t)i * 2654435761u;
		memcpy(dd_vec_push(&v), &x, 4);
		assert_int_equal(v.n, i + 1);
	}
	assert_true(v.nchunk > 1);
	assert_true(dd_vec_bytes(&v) >= n * 12);
	for (i = 0; i < n; i++) {
		memcpy(&x, dd_vec_at(&v, i), 4);
		assert_int_equal(x, (uint32_t)i * 2654435761u);
	}
	dd_vec_release(&v);
	assert_int_equal(v.n, 0);
	assert_int_equal(v.nchunk, 0);
	assert_int_equal(v.isz, 12);
}

/*
 * Vectors sharing a slab, pushed in turn as the partitions are: every
 * item stays where it was put, chunks are aligned and do not overlap,
 * and releasing a vector leaves the slab (and the others) alone.
 */
static void
test_dedupe_vec_slab_shared_by_many(void **state)
{
	struct dd_slab slab = DD_SLAB_INIT;
	struct dd_vec v[16];
	size_t i, k, n = 20000;
	uint32_t x;

	for (k = 0; k < 16; k++) {
		dd_vec_init_chunk(&v[k], 12, 4096);
		v[k].slab = &slab;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < 16; k++) {
			x = (uint32_t)(i * 16 + k) * 2654435761u;
			memcpy(dd_vec_push(&v[k]), &x, 4);
		}
	/* 16 x 20000 x 12 bytes in 4 KiB chunks: several 2 MiB blocks. */
	assert_true(slab.nblk > 1);
	assert_true(dd_slab_bytes(&slab) >= 16 * n * 12);
	for (k = 0; k < 16; k++)
		for (i = 0; i < v[k].nchunk; i++)
			assert_int_equal((uintptr_t)v[k].chunk[i] % 64, 0);
	dd_vec_release(&v[3]);
	assert_int_equal(v[3].n, 0);
	assert_ptr_equal(v[3].slab, &slab);
	for (k = 0; k < 16; k++) {
		if (k == 3)
			continue;
		for (i = 0; i < n; i++) {
			memcpy(&x, dd_vec_at(&v[k], i), 4);
			assert_int_equal(x, (uint32_t)(i * 16 + k) * 2654435761u);
		}
		dd_vec_release(&v[k]);
	}
	dd_slab_release(&slab);
	assert_int_equal(slab.nblk, 0);
}

static void
test_dedupe_vec_write_read_roundtrip(void **state)
{
	struct dd_vec a, b;
	size_t i, n = 50000;
	int fd;

	dd_vec_init(&a, 12);
	dd_vec_init(&b, 12);
	for (i = 0; i < n; i++)
		memset(dd_vec_push(&a), (int)(i & 0xff), 12);
	assert_true((fd = dd_tmpfile(NULL)) != -1);
	assert_int_equal(dd_vec_write(&a, fd), 0);
	assert_int_equal(dd_vec_read(&b, fd, n), 0);
	assert_int_equal(b.n, n);
	for (i = 0; i < n; i++)
		assert_memory_equal(dd_vec_at(&a, i), dd_vec_at(&b, i), 12);
	close(fd);
	dd_vec_release(&a);
	dd_vec_release(&b);
}

static void
test_dedupe_vec_zero_size_item_does_not_hang(void **state)
{
	struct dd_vec v;

	dd_vec_init(&v, 0);
	assert_int_equal(v.isz, 1);
	dd_vec_release(&v);
}

static int
dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_dedupe_tmpfile_has_no_name(void **state)
{
	char dir[] = "/tmp/dedupe_test.XXXXXX";
	struct dd_wfile w;
	char back[6];
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_true((fd = dd_tmpfile(dir)) != -1);
	assert_int_equal(dir_entries(dir), 0);
	dd_wfile_init(&w, fd);
	assert_int_equal(dd_wfile_add(&w, "hello", 5), 0);
	assert_int_equal(w.size, 5);
	assert_int_equal(dd_wfile_flush(&w), 0);
	assert_int_equal(dd_pread_all(fd, back, 5, 0), 0);
	assert_memory_equal(back, "hello", 5);
	/* Reading past the end is an error, not a short success. */
	assert_int_equal(dd_pread_all(fd, back, 6, 0), -1);
	dd_wfile_release(&w);
	assert_int_equal(w.fd, -1);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(dd_tmpfile("/nonexistent/dir"), -1);
}

static void
test_dedupe_wfile_big_writes_bypass_buffer(void **state)
{
	struct dd_wfile w;
	char *big = malloc(DD_WFILE_BUF + 10), *back = malloc(DD_WFILE_BUF + 13);
	int fd;

	assert_non_null(big);
	assert_non_null(back);
	memset(big, 'x', DD_WFILE_BUF + 10);
	assert_true((fd = dd_tmpfile(NULL)) != -1);
	dd_wfile_init(&w, fd);
	assert_int_equal(dd_wfile_add(&w, "abc", 3), 0);
	assert_int_equal(dd_wfile_add(&w, big, DD_WFILE_BUF + 10), 0);
	assert_int_equal(dd_wfile_flush(&w), 0);
	assert_int_equal(w.size, DD_WFILE_BUF + 13);
	assert_int_equal(dd_pread_all(fd, back, DD_WFILE_BUF + 13, 0), 0);
	assert_memory_equal(back, "abc", 3);
	assert_memory_equal(back + 3, big, DD_WFILE_BUF + 10);
	dd_wfile_release(&w);
	free(big);
	free(back);
}

/*
 * The signature from the text in one pass (dd_sig_text()) equals the one
 * from the form's bytes, and so does its form: every bin, the length and
 * whether there is one, for texts of every length around the shingle size
 * and code points of every size.  dd_form_text() makes the same form and
 * counts its code points.
 */
static void
test_dedupe_sig_text_same(void **state)
{
	static const char *const piece[] = { "a", "b", "c", " ", "e\xcc\x81",
	    "\xc3\x9f", "\xef\xb7\xba", "\xff", "\xd0", "'", "\xc7\x86",
	    "\xd0\xb6", "\xd8\xb3", "\xe4\xb8\xad", "\xf0\x9f\x91\x8d",
	    "\xef\xac\x81", "!", "9" };
	size_t npiece = sizeof(piece) / sizeof(piece[0]);
	char in[512], *form, *form1;
	uint64_t x = 88172645463325252ULL;
	struct dd_sig a, b;
	size_t iter, len, k, n, cps;
	uint32_t ncp;

	form = malloc(NORM_FORM_ROOM(sizeof(in)));
	form1 = malloc(NORM_FORM_ROOM(sizeof(in)));
	assert_non_null(form);
	assert_non_null(form1);
	for (iter = 0; iter < 3000; iter++) {
		len = 0;
		for (k = 0; k < iter % 90; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(in + len, piece[x % npiece], strlen(piece[x %
			    npiece]));
			len += strlen(piece[x % npiece]);
		}
		n = norm_into(form, NORM_FORM_ROOM(sizeof(in)),
		    (struct slice){ in, len });
		dd_sig_make(&a, (struct slice){ form, n });
		/* In one pass from the text: the same form and signature. */
		memset(&b, 0, sizeof(b));
		assert_int_equal(dd_sig_text(&b, (struct slice){ in, len },
		    form1), n);
		assert_memory_equal(form1, form, n);
		assert_int_equal(a.len, b.len);
		assert_int_equal(a.has, b.has);
		assert_memory_equal(a.v, b.v, sizeof(a.v));
		/* The form alone, and its code points, as exact mode
		 * makes them. */
		memset(form1, 0, n);
		assert_int_equal(dd_form_text((struct slice){ in, len }, form1,
		    &ncp), n);
		assert_memory_equal(form1, form, n);
		for (k = cps = 0; k < n; k++)
			cps += ((unsigned char)form[k] & 0xc0) != 0x80;
		assert_int_equal(ncp, cps);
		assert_int_equal(ncp, a.len);
	}
	free(form);
	free(form1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe_sig_identical_texts_agree),
		cmocka_unit_test(test_dedupe_sig_word_changed_is_similar),
		cmocka_unit_test(test_dedupe_sig_typo_is_similar),
		cmocka_unit_test(test_dedupe_sig_emoji_added_is_similar),
		cmocka_unit_test(test_dedupe_sig_different_reviews_differ),
		cmocka_unit_test(test_dedupe_sig_too_short_has_none),
		cmocka_unit_test(test_dedupe_sig_bands_follow_values_and_group),
		cmocka_unit_test(test_dedupe_sig_is_deterministic),
		cmocka_unit_test(test_dedupe_sig_text_same),
		cmocka_unit_test(test_dedupe_vec_items_across_chunks),
		cmocka_unit_test(test_dedupe_vec_slab_shared_by_many),
		cmocka_unit_test(test_dedupe_vec_write_read_roundtrip),
		cmocka_unit_test(test_dedupe_vec_zero_size_item_does_not_hang),
		cmocka_unit_test(test_dedupe_tmpfile_has_no_name),
		cmocka_unit_test(test_dedupe_wfile_big_writes_bypass_buffer),
	};

	return cmocka_run_group_tests_name("dedupe", tests, NULL, NULL);
}
