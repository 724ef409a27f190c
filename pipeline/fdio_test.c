/*
 * fdio_test - whole writes and the drop-behind of long output files.
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

#include "fdio.h"
#include "banned.h"

/* A nameless temporary file in TMPDIR (or /tmp). */
static int
temp_file(void)
{
	char path[4096];
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/fdio_test.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	return fd;
}

/*
 * 40 MiB written in uneven pieces: the bytes read back are the bytes
 * written, and all but the last two windows were handed back.
 */
static void
test_fdio_behind_keeps_bytes_and_drops_old_pages(void **state)
{
	static unsigned char chunk[700001];
	struct fdio_behind b;
	size_t i, total = 0, k;
	int fd = temp_file();
	uint64_t sum_w = 0, sum_r = 0;
	ssize_t n;

	(void)state;
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (unsigned char)(i * 131 + 7);
	assert_int_equal(write(fd, "head", 4), 4);
	fdio_behind_init(&b, fd);
	assert_true(b.on);
	assert_int_equal(b.pos, 4);
	for (k = 0; total < (size_t)40 << 20; k++) {
		size_t len = sizeof(chunk) - k % 1000;

		assert_int_equal(fdio_write_all(fd, chunk, len), 0);
		assert_int_equal(fdio_behind_wrote(&b, fd, len), 0);
		for (i = 0; i < len; i++)
			sum_w += chunk[i] * (uint64_t)(total + i + 1);
		total += len;
	}
	assert_int_equal(b.pos, (off_t)(total + 4));
	if (b.on) {
		/* The kernel took it: only the newest 16 MiB may be kept. */
		assert_true(b.dropped >= b.pos - ((off_t)16 << 20));
		assert_true(b.dropped % 4096 == 0);
	}
	assert_int_equal(lseek(fd, 4, SEEK_SET), 4);
	total = 0;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			sum_r += chunk[i] * (uint64_t)(total + i + 1);
		total += (size_t)n;
	}
	assert_int_equal(b.pos, (off_t)(total + 4));
	assert_true(sum_r == sum_w);
	close(fd);
}

/* A pipe is left alone. */
static void
test_fdio_behind_off_for_pipes(void **state)
{
	struct fdio_behind b;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	fdio_behind_init(&b, p[1]);
	assert_false(b.on);
	assert_int_equal(fdio_behind_wrote(&b, p[1], (size_t)64 << 20), 0);
	assert_int_equal(b.dropped, 0);
	close(p[0]);
	close(p[1]);
	fdio_behind_init(&b, -1);
	assert_false(b.on);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_fdio_behind_keeps_bytes_and_drops_old_pages),
		cmocka_unit_test(test_fdio_behind_off_for_pipes),
	};

	return cmocka_run_group_tests_name("fdio", tests, NULL, NULL);
}
