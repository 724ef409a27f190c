/*
 * stats_fuzz - libFuzzer target for stats_scan(), the one-pass reader of
 * stats_read.c, checked against rec_parse() + stats_rec_of(): whenever
 * the scan takes bytes as a record, rec_parse() must frame the same
 * bytes and the facts must be the same; the scan never reads past the end
 * (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "stats.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(bool ha, struct slice a, bool hb, struct slice b)
{
	if (ha != hb)
		return 0;
	return !ha || (a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice t1[STATS_MAXLIST], e1[STATS_MAXLIST];
	struct slice t2[STATS_MAXLIST], e2[STATS_MAXLIST];
	struct stats_rec a, c;
	struct rec r;
	char *p;
	size_t n, used, i;
	int ok = 1;

	/* A copy of exactly size bytes: reads past it are ASan errors. */
	if ((p = malloc(size + 1)) == NULL)
		return 0;
	memcpy(p, data, size);
	memset(&r, 0, sizeof(r));
	n = stats_scan(p, p + size, &c, t2, e2);
	if (n != 0) {
		if (rec_parse(&r, p, size, &used) != MP_OK || used != n)
			__builtin_trap();
		stats_rec_of(&r, &a, t1, e1);
		ok = same(a.has_platform, a.platform, c.has_platform,
		    c.platform) && same(a.has_seller, a.seller, c.has_seller,
		    c.seller) && same(a.has_buyer, a.buyer, c.has_buyer,
		    c.buyer) && same(a.has_lang, a.lang, c.has_lang, c.lang) &&
		    same(a.has_sentiment, a.sentiment, c.has_sentiment,
		    c.sentiment) && same(a.has_kind, a.kind, c.has_kind,
		    c.kind) && same(a.has_action, a.action, c.has_action,
		    c.action) && a.rating == c.rating &&
		    a.has_created == c.has_created &&
		    (!a.has_created || a.created == c.created) &&
		    a.has_score == c.has_score &&
		    (!a.has_score || a.score_micro == c.score_micro) &&
		    a.has_due == c.has_due && (!a.has_due || a.due == c.due) &&
		    a.ntopics == c.ntopics && a.nevidence == c.nevidence;
		for (i = 0; ok && i < a.ntopics; i++)
			ok = same(true, a.topics[i], true, c.topics[i]);
		for (i = 0; ok && i < a.nevidence; i++)
			ok = same(true, a.evidence[i], true, c.evidence[i]);
		if (!ok)
			__builtin_trap();
	}
	rec_release(&r);
	free(p);
	return 0;
}
