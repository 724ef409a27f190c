/*
 * run_test - unit tests for run's replies.csv quoting (RFC 4180).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_csv_plain_field_unquoted),
		cmocka_unit_test(test_run_csv_comma_quoted),
		cmocka_unit_test(test_run_csv_quotes_doubled),
		cmocka_unit_test(test_run_csv_line_breaks_quoted),
		cmocka_unit_test(test_run_csv_nul_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
