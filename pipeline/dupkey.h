/*
 * dupkey - the keys dedupe groups records by, for the stages that must
 * agree with it (partition routes records by them).
 *
 * `--by FIELDS` lists the fields that make two records the same (dedupe's
 * option, default text,buyer,seller).  Each field other than text adds the
 * xxh3 of its raw msgpack value (absent and nil are one value of their
 * own).  Two keys come out:
 *
 *   exact  xxh3 of the matching form of text (norm.h), seeded with the
 *          other --by fields: equal for exact copies.  Bit for bit the
 *          key stages/dedupe.c computes.
 *   group  the --by fields other than text and buyer (the seller by
 *          default).  dedupe only ever links two records (exact, near or
 *          template) whose group is equal: its band and text keys include
 *          it.  Routing by the group therefore keeps every cluster dedupe
 *          could form in one partition.
 */
#ifndef REVPIPE_DUPKEY_H
#define REVPIPE_DUPKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix.h"
#include "rec.h"
#include "slice.h"

#define DUPKEY_MAX_BY	16

struct dupkey {
	const char	*by[DUPKEY_MAX_BY];	/* point into list */
	size_t		 nby;
	bool		 by_text;
	char		*list;
};

/*
 * Parse the comma-separated `bylist` into *k.  Returns 0, or -1 with a
 * message in err (errlen bytes): empty list, too many fields, no memory.
 * Release with dupkey_release() in both cases.
 */
int	dupkey_init(struct dupkey *k, const char *bylist, char *err,
	    size_t errlen);
void	dupkey_release(struct dupkey *k);

/* The exact key of r, given the matching form of its text. */
uint64_t dupkey_exact(const struct dupkey *k, const struct rec *r,
	    struct slice form);
/* The group key of r (0 fields in the group: one constant). */
uint64_t dupkey_group(const struct dupkey *k, const struct rec *r);


#endif
