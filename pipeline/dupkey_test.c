/*
 * dupkey_test - unit tests for dedupe's keys as a library (dupkey.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dupkey.h"
#include "norm.h"
#include "banned.h"

#define ABSENT	((const char *)1)	/* the key is not in the record */

/*
 * A record with text, buyer and seller (NULL: nil, ABSENT: no key);
 * bytes in b, index in r.
 */
static void
make(struct buf *b, struct rec *r, const char *text, const char *buyer,
    const char *seller)
{
	const char *k[3] = { "text", "buyer", "seller" };
	const char *v[3] = { text, buyer, seller };
	msgpack_packer pk;
	size_t used;
	uint32_t n = 0;
	int i;

	buf_reset(b);
	mp_packer_buf(&pk, b);
	for (i = 0; i < 3; i++)
		n += v[i] != ABSENT;
	msgpack_pack_map(&pk, n);
	for (i = 0; i < 3; i++) {
		if (v[i] == ABSENT)
			continue;
		mp_pack_cstr(&pk, k[i]);
		if (v[i] == NULL)
			msgpack_pack_nil(&pk);
		else
			mp_pack_cstr(&pk, v[i]);
	}
	assert_int_equal(rec_parse(r, b->p, b->len, &used), MP_OK);
	assert_int_equal(used, b->len);
}

static uint64_t
group(const struct dupkey *k, const char *text, const char *buyer,
    const char *seller)
{
	struct buf b = BUF_INIT;
	struct rec r = { 0 };
	uint64_t h;

	make(&b, &r, text, buyer, seller);
	h = dupkey_group(k, &r);
	rec_release(&r);
	buf_release(&b);
	return h;
}

static uint64_t
exact(const struct dupkey *k, const char *text, const char *buyer,
    const char *seller)
{
	struct buf b = BUF_INIT, form = BUF_INIT;
	struct rec r = { 0 };
	uint64_t h;

	make(&b, &r, text, buyer, seller);
	norm_buf(&form, slice_from(text));
	h = dupkey_exact(k, &r, (struct slice){ form.p, form.len });
	rec_release(&r);
	buf_release(&b);
	buf_release(&form);
	return h;
}

static void
init_default(struct dupkey *k)
{
	char err[128];

	assert_int_equal(dupkey_init(k, "text,buyer,seller", err,
	    sizeof(err)), 0);
	assert_int_equal(k->nby, 3);
	assert_true(k->by_text);
}

static void
test_dupkey_group_ignores_text_and_buyer(void **state)
{
	struct dupkey k;

	init_default(&k);
	assert_true(group(&k, "great", "b1", "s1") ==
	    group(&k, "awful, late", "b2", "s1"));
	assert_true(group(&k, "great", "b1", "s1") !=
	    group(&k, "great", "b1", "s2"));
	dupkey_release(&k);
}

static void
test_dupkey_group_absent_is_nil(void **state)
{
	struct dupkey k;

	init_default(&k);
	assert_true(group(&k, "x", "b", ABSENT) == group(&k, "x", "b", NULL));
	assert_true(group(&k, "x", "b", ABSENT) != group(&k, "x", "b", ""));
	dupkey_release(&k);
}

static void
test_dupkey_exact_same_form_same_key(void **state)
{
	struct dupkey k;

	init_default(&k);
	assert_true(exact(&k, "Late by 5 days!", "b1", "s1") ==
	    exact(&k, "late  by 5 DAYS", "b1", "s1"));
	assert_true(exact(&k, "Late by 5 days!", "b1", "s1") !=
	    exact(&k, "Late by 5 days!", "b2", "s1"));
	assert_true(exact(&k, "Late by 5 days!", "b1", "s1") !=
	    exact(&k, "Late by 6 days!", "b1", "s1"));
	dupkey_release(&k);
}

/* Changing a key changes which records dedupe and partition group:
 * stages/dedupe.c computes the same values (pinned here). */
static void
test_dupkey_values_pinned(void **state)
{
	struct dupkey k;

	init_default(&k);
	assert_int_equal(exact(&k, "Great work", "b", "s"),
	    0xe68c31155b1c7a4bULL);
	assert_int_equal(group(&k, "Great work", "b", "s"),
	    0xdee9d6c85cf2e7d5ULL);
	dupkey_release(&k);
}

static void
test_dupkey_init_errors(void **state)
{
	struct dupkey k;
	char err[128];

	assert_int_equal(dupkey_init(&k, ",,", err, sizeof(err)), -1);
	assert_string_equal(err, "--by needs at least one field");
	dupkey_release(&k);
	assert_int_equal(dupkey_init(&k, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
	    err, sizeof(err)), -1);
	dupkey_release(&k);
	assert_int_equal(dupkey_init(&k, "seller", err, sizeof(err)), 0);
	assert_false(k.by_text);
	dupkey_release(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dupkey_group_ignores_text_and_buyer),
		cmocka_unit_test(test_dupkey_group_absent_is_nil),
		cmocka_unit_test(test_dupkey_exact_same_form_same_key),
		cmocka_unit_test(test_dupkey_values_pinned),
		cmocka_unit_test(test_dupkey_init_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
