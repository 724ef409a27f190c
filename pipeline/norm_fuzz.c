/*
 * norm_fuzz - libFuzzer target for the matching form: any bytes give a
 * form that is valid UTF-8, within NORM_MAX_GROWTH, has no leading,
 * trailing or double spaces, is its own form, and is the same whatever the
 * buffer size (the fast and the checked paths agree).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice in = { (const char *)data, size };
	char *a, *b;
	size_t n, m, i;
	const char *p, *end;

	if ((a = malloc(NORM_MAX_GROWTH * size + 16)) == NULL ||
	    (b = malloc(NORM_MAX_GROWTH * size + 16)) == NULL) {
		free(a);
		return 0;
	}
	n = norm_into(a, NORM_MAX_GROWTH * size + 16, in);
	if (n > NORM_MAX_GROWTH * size)
		abort();
	if (n > 0 && (a[0] == ' ' || a[n - 1] == ' '))
		abort();
	for (i = 1; i < n; i++)
		if (a[i] == ' ' && a[i - 1] == ' ')
			abort();
	/* Valid UTF-8: norm_next_cp() consumes it exactly. */
	for (p = a, end = a + n; p < end;)
		if (norm_next_cp(&p, end) < 0)
			abort();
	/* Exact-size buffer: the checked path gives the same bytes. */
	if (norm_into(b, n, in) != n || memcmp(a, b, n) != 0)
		abort();
	/* Idempotent. */
	m = norm_into(b, NORM_MAX_GROWTH * size + 16, (struct slice){ a, n });
	if (m != n || memcmp(a, b, n) != 0)
		abort();
	free(a);
	free(b);
	return 0;
}
