/*
 * dedupe_eval - score `revpipe dedupe --keep` output of bench/gen data
 * against its ground truth.
 *
 * usage: revpipe dedupe --keep <gen.msgpack | dedupe_eval [-t TRUTH]
 *
 * A record is a true duplicate when it has _truth_dup_of, a found one when
 * it has dup.  After decode (which drops the _truth_ keys) give gen's -T
 * file: the truth is then looked up by the line number that ends `src`.  Prints precision and recall of exact+near duplicates, and
 * of template marking (_truth_template vs template on kept records).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "banned.h"

/* Truth by line: 0 none, 1 exact, 2 near duplicate; campaign number. */
static uint8_t	*tdup;
static uint32_t	*tcamp;
static uint64_t	 tlines;

static void
load_truth(const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned long long ln;
	char kind[16];
	unsigned camp;

	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	while (fscanf(fp, "%llu\t%15s\t%u", &ln, kind, &camp) == 3) {
		if (ln >= tlines) {
			uint64_t n = (ln + 1) * 2;

			tdup = realloc(tdup, n);
			tcamp = realloc(tcamp, n * sizeof(*tcamp));
			if (tdup == NULL || tcamp == NULL) {
				fputs("dedupe_eval: out of memory\n", stderr);
				exit(1);
			}
			memset(tdup + tlines, 0, n - tlines);
			memset(tcamp + tlines, 0, (n - tlines) * sizeof(*tcamp));
			tlines = n;
		}
		tdup[ln] = kind[0] == 'e' ? 1 : kind[0] == 'n' ? 2 : 0;
		tcamp[ln] = camp;
	}
	fclose(fp);
}

/* The line number at the end of src ("file:N"), or 0. */
static uint64_t
src_line(const struct rec *r)
{
	struct slice s;
	uint64_t n = 0, mul = 1;
	size_t i;

	if (rec_get_str(r, "src", &s) == -1)
		return 0;
	for (i = s.n; i > 0 && s.p[i - 1] >= '0' && s.p[i - 1] <= '9'; i--) {
		n += (uint64_t)(s.p[i - 1] - '0') * mul;
		mul *= 10;
	}
	return n < tlines ? n : 0;
}

int
main(int argc, char **argv)
{
	struct rec_reader *rd;
	const struct rec *r;
	struct slice s;
	int64_t t;
	uint64_t n = 0, tp = 0, fp = 0, fn = 0, ttp = 0, tfp = 0, tfn = 0;
	uint64_t exact_fn = 0, near_fn = 0;
	int rc, truth, found, ttruth, tfound, tkind = 0;

	uint64_t ln;

	if (argc == 3 && strcmp(argv[1], "-t") == 0)
		load_truth(argv[2]);
	else if (argc != 1) {
		fputs("usage: dedupe_eval [-t TRUTH] <records\n", stderr);
		return 2;
	}
	if ((rd = rec_reader_new(STDIN_FILENO, "stdin")) == NULL)
		return 1;
	while ((rc = rec_reader_next(rd, &r)) == 1) {
		n++;
		if (tlines > 0) {
			ln = src_line(r);
			tkind = tdup[ln];
			truth = tkind != 0;
			ttruth = tcamp[ln] != 0;
		} else {
			truth = rec_get_str(r, "_truth_dup_of", &s) == 0;
			ttruth = rec_get_int(r, "_truth_template", &t) == 0;
		}
		found = rec_get_str(r, "dup", &s) == 0;
		tfound = !found && rec_get_int(r, "template", &t) == 0;
		tp += truth && found;
		fp += !truth && found;
		fn += truth && !found;
		if (truth && !found && tlines > 0) {
			exact_fn += tkind == 1;
			near_fn += tkind == 2;
		} else if (truth && !found &&
		    rec_get_str(r, "_truth_kind", &s) == 0) {
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
