/*
 * dupkey - dedupe's keys as a library (see dupkey.h).
 *
 * The formulas repeat stages/dedupe.c (dedupe_field, the seed and group
 * folds in dedupe_process) so that both agree; a change to one is a
 * change to the other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "dupkey.h"
#include "banned.h"

int
dupkey_init(struct dupkey *k, const char *bylist, char *err, size_t errlen)
{
	char *f, *save = NULL;

	memset(k, 0, sizeof(*k));
	if ((k->list = strdup(bylist)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (f = strtok_r(k->list, ",", &save); f != NULL;
	    f = strtok_r(NULL, ",", &save)) {
		if (k->nby == DUPKEY_MAX_BY) {
			snprintf(err, errlen, "--by takes at most %d fields",
			    DUPKEY_MAX_BY);
			return -1;
		}
		if (strcmp(f, "text") == 0)
			k->by_text = true;
		k->by[k->nby++] = f;
	}
	if (k->nby == 0) {
		snprintf(err, errlen, "--by needs at least one field");
		return -1;
	}
	return 0;
}

void
dupkey_release(struct dupkey *k)
{
	free(k->list);
	memset(k, 0, sizeof(*k));
}

/* Hash of field `name` (index i in --by), or of its absence. */
static uint64_t
dupkey_field(const struct rec *r, const char *name, uint64_t i)
{
	struct slice raw;

	if (rec_get_raw(r, name, &raw) == -1 || rec_is_nil(r, name))
		return mix64(0x5bd1e995ULL + i);
	return XXH3_64bits_withSeed(raw.p, raw.n, i + 1);
}

uint64_t
dupkey_exact(const struct dupkey *k, const struct rec *r, struct slice form)
{
	uint64_t seed = 0;
	size_t i;

	for (i = 0; i < k->nby; i++) {
		if (strcmp(k->by[i], "text") == 0)
			continue;
		seed = mix64(seed ^ dupkey_field(r, k->by[i], i)) + i;
	}
	return k->by_text ? XXH3_64bits_withSeed(form.p, form.n, seed) :
	    mix64(seed ^ 0x2545f4914f6cdd1dULL);
}

uint64_t
dupkey_group(const struct dupkey *k, const struct rec *r)
{
	uint64_t group = 0;
	size_t i;

	for (i = 0; i < k->nby; i++) {
		if (strcmp(k->by[i], "text") == 0 ||
		    strcmp(k->by[i], "buyer") == 0)
			continue;
		group = mix64(group ^ dupkey_field(r, k->by[i], i)) + i;
	}
	return group;
}
