/*
 * classify-eval - how well classify does on labelled JSON Lines; also
 * reached as `revpipe classify --eval FILE.jsonl`.
 *
 * Each line: `text`, `lang`, and any of `label` (pos/neg/neu), `rating`,
 * `template`, `topics` (array) and `kind` (hand-checked gold).  Prints:
 *   - sentiment per language: binary pos/neg (rows labelled pos or neg,
 *     decided by P(pos) vs P(neg)) accuracy and macro-F1, and three-way
 *     accuracy and macro-F1 where the language has neu rows.  Sentiment
 *     is judged on the text alone (the corpus labels come from the stars,
 *     so using them would score the stars); --stars judges the stage's
 *     final sentiment instead;
 *   - topics: precision and recall per topic and per language, over the
 *     rows that have a `topics` key;
 *   - kind: precision and recall per kind and accuracy per language, over
 *     the rows that have a `kind` key.  Topics and kind are computed as the
 *     stage does, stars included.
 * Options: --stars, --model FILE (another sentiment model), --errors
 * (print each row whose topics or kind differ to stderr), --scores (each
 * labelled row's text-model probabilities to stderr, for choosing a
 * decision rule on dev).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "stage.h"
#include "banned.h"

static const struct opt eval_opts[] = {
	{ "stars", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "judge the final sentiment (text and stars), not the text alone" },
	{ "model", 0, OPT_STR, "FILE", NULL, 0, 0,
	    "use this sentiment model file instead of the built-in one" },
	{ "errors", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "print rows whose topics or kind differ from the gold" },
	{ "scores", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "print each labelled row's language, label and text-model "
	    "probabilities (pos neg neu) to stderr" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct prf {
	unsigned	 tp, fp, fn;
};

struct eval_stats {
	unsigned	 bin[CLS_NLANG + 1][2][2];	/* gold, predicted */
	unsigned	 tri[CLS_NLANG + 1][3][3];
	struct prf	 topic[CLS_NTOPIC];
	struct prf	 topic_lang[CLS_NLANG + 1];
	unsigned	 topic_rows[CLS_NLANG + 1];
	struct prf	 kind[CLS_NKIND];
	unsigned	 kind_rows[CLS_NLANG + 1], kind_ok[CLS_NLANG + 1];
};

static double
eval_f1(unsigned tp, unsigned fp, unsigned fn)
{
	return tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
}

static double
eval_ratio(unsigned a, unsigned b)
{
	return b == 0 ? 0 : (double)a / b;
}

static void
eval_row(struct stage_ctx *ctx, const struct cls_models *m,
    const struct cls_json *j, struct eval_stats *es, const char *where)
{
	const struct cls_json_kv *text, *lang, *label, *rating, *tmpl;
	const struct cls_json_kv *topics, *kind;
	struct cls_input in = { { NULL, 0 }, { "", 0 }, 0, 0 };
	struct cls_result res;
	int gold, l, k;
	unsigned gt = 0;
	size_t i;

	text = cls_json_get(j, "text");
	if (text == NULL || text->type != CLS_JSON_STR)
		return;
	in.text = text->s;
	if ((lang = cls_json_get(j, "lang")) != NULL &&
	    lang->type == CLS_JSON_STR)
		in.lang = lang->s;
	if ((rating = cls_json_get(j, "rating")) != NULL &&
	    rating->type == CLS_JSON_NUM && rating->num >= 1 &&
	    rating->num <= 5)
		in.rating = (int)rating->num;
	if ((tmpl = cls_json_get(j, "template")) != NULL &&
	    tmpl->type == CLS_JSON_NUM)
		in.template_n = (int64_t)tmpl->num;
	cls_analyze(m, &in, &ctx->scratch, &res);
	l = cls_lang_from(in.lang);

	label = cls_json_get(j, "label");
	if (label != NULL && label->type == CLS_JSON_STR &&
	    (gold = cls_class_parse(label->s)) >= 0) {
		bool stars = opt_flag(ctx, "stars");
		int p3 = stars ? (int)res.sent : (int)res.text_sent;
		int p2 = stars ? (res.score >= 0 ? CLS_POS : CLS_NEG) :
		    (res.prob[CLS_POS] >= res.prob[CLS_NEG] ? CLS_POS :
		    CLS_NEG);

		if (opt_flag(ctx, "scores"))
			fprintf(stderr, "%s\t%s\t%.4f\t%.4f\t%.4f\n",
			    cls_lang_name(l), cls_class_names[gold],
			    res.prob[CLS_POS], res.prob[CLS_NEG],
			    res.prob[CLS_NEU]);
		if (gold != CLS_NEU)
			es->bin[l][gold][p2]++;
		es->tri[l][gold][p3]++;
	}

	topics = cls_json_get(j, "topics");
	if (topics != NULL && topics->type == CLS_JSON_ARR) {
		for (i = 0; i < topics->narr; i++)
			for (k = 0; k < CLS_NTOPIC; k++)
				if (slice_eq(topics->arr[i],
				    cls_topic_names[k]))
					gt |= 1u << k;
		es->topic_rows[l]++;
		for (k = 0; k < CLS_NTOPIC; k++) {
			bool g = gt & (1u << k), p = res.topics & (1u << k);
			struct prf *a = &es->topic[k], *b = &es->topic_lang[l];

			if (g && p) {
				a->tp++;
				b->tp++;
			} else if (p) {
				a->fp++;
				b->fp++;
			} else if (g) {
				a->fn++;
				b->fn++;
			}
		}
	}
	kind = cls_json_get(j, "kind");
	if (kind != NULL && kind->type == CLS_JSON_STR) {
		int gk = -1;

		for (k = 0; k < CLS_NKIND; k++)
			if (slice_eq(kind->s, cls_kind_names[k]))
				gk = k;
		if (gk >= 0) {
			es->kind_rows[l]++;
			if (gk == (int)res.kind) {
				es->kind_ok[l]++;
				es->kind[gk].tp++;
			} else {
				es->kind[gk].fn++;
				es->kind[res.kind].fp++;
			}
		}
		if (opt_flag(ctx, "errors") && (gk != (int)res.kind ||
		    (topics != NULL && gt != res.topics))) {
			fprintf(stderr, "%s: kind %.*s -> %s; topics", where,
			    (int)kind->s.n, kind->s.p,
			    cls_kind_names[res.kind]);
			for (k = 0; k < CLS_NTOPIC; k++)
				if ((gt ^ res.topics) & (1u << k))
					fprintf(stderr, " %c%s",
					    (gt & (1u << k)) ? '-' : '+',
					    cls_topic_names[k]);
			fprintf(stderr, "; sent %s; %.*s\n",
			    cls_class_names[res.sent],
			    (int)(in.text.n < 160 ? in.text.n : 160),
			    in.text.p);
		}
	}
}

static int
eval_file(struct stage_ctx *ctx, const struct cls_models *m,
    const char *path, struct eval_stats *es)
{
	FILE *fp;
	char *line = NULL, where[512];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		stage_input_error(ctx, "cannot open '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) > 0) {
		struct cls_json j;

		lineno++;
		arena_reset(&ctx->scratch);
		if (cls_json_parse(line, (size_t)len, &ctx->scratch,
		    &j) == -1) {
			stage_warn(ctx, "'%s:%zu': not a JSON object, skipped",
			    path, lineno);
			continue;
		}
		snprintf(where, sizeof(where), "%s:%zu", path, lineno);
		eval_row(ctx, m, &j, es, where);
	}
	if (ferror(fp)) {
		stage_input_error(ctx, "cannot read '%s': %s", path,
		    strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(fp);
	return ret;
}

static void
eval_print(struct stage_ctx *ctx, const struct eval_stats *es)
{
	struct prf all = { 0, 0, 0 };
	unsigned rows = 0, ok = 0;
	int l, k, c;

	printf("sentiment (%s)\n", opt_flag(ctx, "stars") ?
	    "final: text and stars" : "text alone");
	printf("%-5s %6s %7s %8s | %6s %7s %8s\n", "lang", "binary", "acc",
	    "macroF1", "3-way", "acc", "macroF1");
	for (l = 0; l <= CLS_NLANG; l++) {
		const unsigned (*b)[2] = es->bin[l];
		const unsigned (*t)[3] = es->tri[l];
		unsigned nb = b[0][0] + b[0][1] + b[1][0] + b[1][1];
		unsigned nt = 0, okt = 0, nneu = t[2][0] + t[2][1] + t[2][2];
		double f2 = 0, f3 = 0;

		for (c = 0; c < 3; c++)
			for (k = 0; k < 3; k++) {
				nt += t[c][k];
				if (c == k)
					okt += t[c][k];
			}
		if (nt == 0)
			continue;
		for (c = 0; c < 2; c++)
			f2 += eval_f1(b[c][c], b[1 - c][c], b[c][1 - c]) / 2;
		for (c = 0; c < 3; c++) {
			unsigned fp = 0, fn = 0;

			for (k = 0; k < 3; k++)
				if (k != c) {
					fp += t[k][c];
					fn += t[c][k];
				}
			f3 += eval_f1(t[c][c], fp, fn) / 3;
		}
		printf("%-5s %6u %7.3f %8.3f", cls_lang_name(l), nb,
		    eval_ratio(b[0][0] + b[1][1], nb), f2);
		if (nneu > 0)
			printf(" | %6u %7.3f %8.3f\n", nt, eval_ratio(okt, nt),
			    f3);
		else
			printf(" | %6s %7s %8s\n", "-", "-", "-");
	}

	for (l = 0; l <= CLS_NLANG; l++)
		rows += es->topic_rows[l];
	if (rows > 0) {
		printf("\ntopics (%u rows with gold topics)\n", rows);
		printf("%-14s %5s %5s %5s %9s %7s\n", "topic", "gold", "pred",
		    "tp", "precision", "recall");
		for (k = 0; k < CLS_NTOPIC; k++) {
			const struct prf *p = &es->topic[k];

			printf("%-14s %5u %5u %5u %9.3f %7.3f\n",
			    cls_topic_names[k], p->tp + p->fn, p->tp + p->fp,
			    p->tp, eval_ratio(p->tp, p->tp + p->fp),
			    eval_ratio(p->tp, p->tp + p->fn));
			all.tp += p->tp;
			all.fp += p->fp;
			all.fn += p->fn;
		}
		printf("%-14s %5u %5u %5u %9.3f %7.3f\n", "all (micro)",
		    all.tp + all.fn, all.tp + all.fp, all.tp,
		    eval_ratio(all.tp, all.tp + all.fp),
		    eval_ratio(all.tp, all.tp + all.fn));
		for (l = 0; l <= CLS_NLANG; l++) {
			const struct prf *p = &es->topic_lang[l];

			if (es->topic_rows[l] == 0)
				continue;
			printf("%-14s %5u %5u %5u %9.3f %7.3f  (%u rows)\n",
			    cls_lang_name(l), p->tp + p->fn, p->tp + p->fp,
			    p->tp, eval_ratio(p->tp, p->tp + p->fp),
			    eval_ratio(p->tp, p->tp + p->fn),
			    es->topic_rows[l]);
		}
	}

	rows = 0;
	for (l = 0; l <= CLS_NLANG; l++) {
		rows += es->kind_rows[l];
		ok += es->kind_ok[l];
	}
	if (rows > 0) {
		printf("\nkind (%u rows with gold kind, accuracy %.3f)\n", rows,
		    eval_ratio(ok, rows));
		printf("%-16s %5s %5s %5s %9s %7s\n", "kind", "gold", "pred",
		    "tp", "precision", "recall");
		for (k = 0; k < CLS_NKIND; k++) {
			const struct prf *p = &es->kind[k];

			printf("%-16s %5u %5u %5u %9.3f %7.3f\n",
			    cls_kind_names[k], p->tp + p->fn, p->tp + p->fp,
			    p->tp, eval_ratio(p->tp, p->tp + p->fp),
			    eval_ratio(p->tp, p->tp + p->fn));
		}
		for (l = 0; l <= CLS_NLANG; l++)
			if (es->kind_rows[l] > 0)
				printf("%-16s accuracy %.3f (%u rows)\n",
				    cls_lang_name(l), eval_ratio(
				    es->kind_ok[l], es->kind_rows[l]),
				    es->kind_rows[l]);
	}
}

static int
eval_tool(struct stage_ctx *ctx)
{
	struct cls_models m;
	struct eval_stats *es = NULL;
	const char *mpath = opt_str(ctx, "model");
	char *mdata = NULL;
	int status = EXIT_RUNTIME, i;

	memset(&m, 0, sizeof(m));
	if (ctx->argc == 0) {
		fprintf(stderr, "revpipe classify-eval: no input files\n");
		stage_usage(ctx->stage, stderr);
		return EXIT_USAGE;
	}
	if (mpath != NULL) {
		struct slice lex[CLS_NLANG], all;
		FILE *fp;
		long n;
		char err[256];

		/* Lexicons as usual, the model from the file. */
		if (classify_load_models(ctx, &m, false) == -1)
			goto out;
		cls_models_release(&m);
		if ((fp = fopen(mpath, "rb")) == NULL) {
			stage_fail_errno(ctx, "cannot open '%s'", mpath);
			goto out;
		}
		if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
		    fseek(fp, 0, SEEK_SET) != 0 ||
		    (mdata = malloc((size_t)n + 1)) == NULL ||
		    fread(mdata, 1, (size_t)n, fp) != (size_t)n) {
			stage_fail_errno(ctx, "cannot read '%s'", mpath);
			fclose(fp);
			goto out;
		}
		fclose(fp);
		for (i = 0; i < CLS_NLANG; i++) {
			static const char *const names[CLS_NLANG] = {
				"classify/lex.ar.txt", "classify/lex.el.txt",
				"classify/lex.en.txt", "classify/lex.fa.txt",
				"classify/lex.kk.txt", "classify/lex.ru.txt",
				"classify/lex.tr.txt"
			};

			if (stage_model(ctx, names[i], &lex[i]) == -1)
				goto out;
		}
		if (stage_model(ctx, "classify/lex.all.txt", &all) == -1)
			goto out;
		if (cls_models_load(&m, (struct slice){ mdata, (size_t)n },
		    lex, all, err, sizeof(err)) == -1) {
			stage_fail(ctx, "'%s': %s", mpath, err);
			goto out;
		}
	} else if (classify_load_models(ctx, &m, true) == -1)
		goto out;
	if ((es = calloc(1, sizeof(*es))) == NULL) {
		stage_fail_errno(ctx, "cannot start");
		goto out;
	}
	for (i = 0; i < ctx->argc; i++)
		(void)eval_file(ctx, &m, ctx->argv[i], es);
	eval_print(ctx, es);
	if (fflush(stdout) != 0) {
		stage_fail_errno(ctx, "cannot write the table");
		goto out;
	}
	status = ctx->input_error ? EXIT_RUNTIME : EXIT_OK;
out:
	cls_models_release(&m);
	free(mdata);
	free(es);
	return status;
}

const struct stage classify_eval_stage = {
	.name = "classify-eval",
	.summary = "accuracy of classify on labelled JSON Lines (sentiment, "
	    "topics, kind)",
	.usage = "FILE.jsonl...",
	.opts = eval_opts,
	.tool = eval_tool,
	.flags = STAGE_TEXT_OUT,
};
