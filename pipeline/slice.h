/*
 * slice - a borrowed run of bytes, not NUL-terminated.
 *
 * msgpack strings travel as slices: compare with slice_eq(), print with
 * "%.*s", (int)s.n, s.p.  strlen, strcmp and %s never touch them.
 */
#ifndef REVPIPE_SLICE_H
#define REVPIPE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct slice {
	const char	*p;
	size_t		 n;
};

#define SLICE_LIT(s)	((struct slice){ (s), sizeof(s) - 1 })

static inline struct slice
slice_from(const char *s)
{
	return (struct slice){ s, strlen(s) };
}

/* True when `a` holds exactly the NUL-terminated string `s`. */
static inline bool
slice_eq(struct slice a, const char *s)
{
	size_t n = strlen(s);

	return a.n == n && memcmp(a.p, s, n) == 0;
}

static inline bool
slice_same(struct slice a, struct slice b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

#endif
