/*
 * dedupe_eval - score `revpipe dedupe --keep` output of bench/gen data
 * against its ground truth.
 *
 * usage: revpipe dedupe --keep <gen.msgpack | dedupe_eval
 *
 * A record is a true duplicate when it has _truth_dup_of, a found one when
 * it has dup.  Prints precision and recall of exact+near duplicates, and
 * of template marking (_truth_template vs template on kept records).
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "rec.h"
#include "banned.h"

int
main(void)
{
	struct rec_reader *rd;
	const struct rec *r;
	struct slice s;
	int64_t t;
	uint64_t n = 0, tp = 0, fp = 0, fn = 0, ttp = 0, tfp = 0, tfn = 0;
	uint64_t exact_fn = 0, near_fn = 0;
	int rc, truth, found, ttruth, tfound;

	if ((rd = rec_reader_new(STDIN_FILENO, "stdin")) == NULL)
		return 1;
	while ((rc = rec_reader_next(rd, &r)) == 1) {
		n++;
		truth = rec_get_str(r, "_truth_dup_of", &s) == 0;
		found = rec_get_str(r, "dup", &s) == 0;
		ttruth = rec_get_int(r, "_truth_template", &t) == 0;
		tfound = !found && rec_get_int(r, "template", &t) == 0;
		tp += truth && found;
		fp += !truth && found;
		fn += truth && !found;
		if (truth && !found && rec_get_str(r, "_truth_kind", &s) == 0) {
			if (slice_eq(s, "exact"))
				exact_fn++;
			else
				near_fn++;
		}
		ttp += ttruth && tfound;
		tfp += !ttruth && tfound;
		tfn += ttruth && !tfound;
	}
	if (rc != 0) {
		fprintf(stderr, "dedupe_eval: %s\n", rec_reader_error(rd));
		return 1;
	}
	rec_reader_free(rd);
	printf("records %llu\n", (unsigned long long)n);
	printf("duplicates: tp %llu fp %llu fn %llu (exact %llu, near %llu) "
	    "precision %.4f recall %.4f\n", (unsigned long long)tp,
	    (unsigned long long)fp, (unsigned long long)fn,
	    (unsigned long long)exact_fn, (unsigned long long)near_fn,
	    tp + fp ? (double)tp / (double)(tp + fp) : 1.0,
	    tp + fn ? (double)tp / (double)(tp + fn) : 1.0);
	printf("templates: tp %llu fp %llu fn %llu precision %.4f "
	    "recall %.4f\n", (unsigned long long)ttp, (unsigned long long)tfp,
	    (unsigned long long)tfn,
	    ttp + tfp ? (double)ttp / (double)(ttp + tfp) : 1.0,
	    ttp + tfn ? (double)ttp / (double)(ttp + tfn) : 1.0);
	return 0;
}
