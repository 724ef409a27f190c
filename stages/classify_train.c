/*
 * train-classify - train the sentiment model classify uses.
 *
 * Reads labelled JSON Lines files (operands; `text`, `label` pos/neg/neu
 * and `lang` per line, other keys ignored; rows without a known label
 * are skipped), extracts the same features the stage does (with the
 * lexicons of models/classify/, or of --models DIR), trains a
 * multinomial logistic regression (classify_model.c) and writes the model
 * file to --out, through a temporary name.  Deterministic: rows are read
 * in the order given and shuffled with --seed.
 * Options: -o/--out FILE, --bits N, --minn N, --maxn N, --no-bigrams,
 * --no-shared, --epochs N, --lr X, --l2 X, --average, --balance,
 * --nb A, --nb-mix X (NB log-count ratio scaling), --seed N.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "stage.h"
#include "banned.h"

static const struct opt train_opts[] = {
	{ "out", 'o', OPT_STR, "FILE", "models/classify/sentiment.bin", 0, 0,
	    "write the model to FILE" },
	{ "bits", 0, OPT_INT, "N", "18", 10, 24,
	    "hash table of 2^N rows" },
	{ "minn", 0, OPT_INT, "N", "3", 0, 8,
	    "shortest character n-gram (code points)" },
	{ "maxn", 0, OPT_INT, "N", "4", 0, 8,
	    "longest character n-gram (0: none)" },
	{ "no-bigrams", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "no word bigram features" },
	{ "shared", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "add language-independent copies of every feature" },
	{ "epochs", 0, OPT_INT, "N", "10", 1, 1000,
	    "passes over the data" },
	{ "lr", 0, OPT_FLOAT, "X", "0.1", 0.0001, 10,
	    "AdaGrad learning rate" },
	{ "l2", 0, OPT_FLOAT, "X", "0", 0, 1,
	    "L2 penalty" },
	{ "average", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "keep the mean of the weights over all steps" },
	{ "balance", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "weight the classes of each language equally" },
	{ "nb", 0, OPT_FLOAT, "A", "0", 0, 100,
	    "scale features by NB log-count ratios, smoothed by A (0: off)" },
	{ "nb-mix", 0, OPT_FLOAT, "X", "1", 0, 1,
	    "how much of the NB ratio: 1 - X + X * r" },
	{ "seed", 0, OPT_INT, "N", "42", 1, 2147483647.0,
	    "shuffling seed" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct train_set {
	struct cls_example *ex;
	size_t		 n, cap;
	size_t		 per[CLS_NLANG + 1][CLS_NCLASS];
};

static int
train_read(struct stage_ctx *ctx, const char *path,
    const struct cls_models *m, const struct cls_cfg *cfg,
    struct train_set *ts, uint32_t *fb)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = -1;

	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "r")) == NULL)
		return stage_fail_errno(ctx, "cannot open '%s'", path);
	while ((len = getline(&line, &cap, fp)) > 0) {
		const struct cls_json_kv *text, *label, *lang;
		struct cls_example *e;
		struct cls_json j;
		struct cls_text t;
		enum cls_lang l;
		size_t n, nchar;
		int lab;

		lineno++;
		arena_reset(&ctx->scratch);
		if (cls_json_parse(line, (size_t)len, &ctx->scratch,
		    &j) == -1) {
			stage_warn(ctx, "'%s:%zu': not a JSON object, skipped",
			    path, lineno);
			continue;
		}
		text = cls_json_get(&j, "text");
		label = cls_json_get(&j, "label");
		lang = cls_json_get(&j, "lang");
		if (text == NULL || text->type != CLS_JSON_STR ||
		    label == NULL || label->type != CLS_JSON_STR ||
		    (lab = cls_class_parse(label->s)) < 0)
			continue;
		cls_norm(&ctx->scratch, text->s.p, text->s.n, &t);
		l = lang != NULL && lang->type == CLS_JSON_STR ?
		    cls_lang_from(lang->s) : CLS_LANG_NONE;
		if (l == CLS_LANG_NONE)
			l = cls_script_guess(&t);
		cls_mark_neg(&t, l);
		n = cls_text_features(m, cfg, l, &t, &ctx->scratch, fb, &nchar);
		if (ts->n == ts->cap) {
			size_t nc = ts->cap ? 2 * ts->cap : 4096;
			struct cls_example *ne;

			if ((ne = realloc(ts->ex, nc * sizeof(*ne))) == NULL) {
				stage_fail_errno(ctx, "cannot read '%s'", path);
				goto out;
			}
			ts->ex = ne;
			ts->cap = nc;
		}
		e = &ts->ex[ts->n];
		if ((e->f = malloc((n + 1) * sizeof(*e->f))) == NULL) {
			stage_fail_errno(ctx, "cannot read '%s'", path);
			goto out;
		}
		memcpy(e->f, fb, n * sizeof(*e->f));
		e->n = (uint32_t)n;
		e->nchar = (uint32_t)nchar;
		e->label = (uint8_t)lab;
		e->lang = (uint8_t)l;
		ts->per[l][lab]++;
		ts->n++;
	}
	if (ferror(fp)) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		goto out;
	}
	ret = 0;
out:
	free(line);
	if (fp != stdin)
		fclose(fp);
	return ret;
}

static int
train_write(struct stage_ctx *ctx, const char *path, const char *data,
    size_t n)
{
	char tmp[4096];
	FILE *fp;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return stage_fail(ctx, "path too long '%s'", path);
	if ((fp = fopen(tmp, "wb")) == NULL)
		return stage_fail_errno(ctx, "cannot write '%s'", tmp);
	if (fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return stage_fail_errno(ctx, "cannot write '%s'", tmp);
	}
	if (rename(tmp, path) == -1)
		return stage_fail_errno(ctx, "cannot rename '%s'", tmp);
	return 0;
}

static int
train_tool(struct stage_ctx *ctx)
{
	struct cls_cfg cfg;
	struct cls_train_opts o;
	struct cls_models m;
	struct train_set ts;
	uint32_t *fb = NULL;
	char *data = NULL;
	size_t dlen, i;
	int status = EXIT_RUNTIME, l;

	memset(&ts, 0, sizeof(ts));
	memset(&m, 0, sizeof(m));
	if (ctx->argc == 0) {
		fprintf(stderr, "revpipe train-classify: no input files\n");
		stage_usage(ctx->stage, stderr);
		return EXIT_USAGE;
	}
	cfg = (struct cls_cfg){
		.bits = (uint32_t)opt_int(ctx, "bits"),
		.minn = (uint32_t)opt_int(ctx, "minn"),
		.maxn = (uint32_t)opt_int(ctx, "maxn"),
		.words = 1,
		.bigrams = !opt_flag(ctx, "no-bigrams"),
		.shared = opt_flag(ctx, "shared"),
		.perlang = 1,
		.negmark = 1,
	};
	if (cfg.minn == 0 && cfg.maxn > 0)
		cfg.minn = 1;
	if (cfg.minn > cfg.maxn)
		cfg.minn = cfg.maxn;
	o = (struct cls_train_opts){
		.epochs = (unsigned)opt_int(ctx, "epochs"),
		.lr = opt_float(ctx, "lr"),
		.l2 = opt_float(ctx, "l2"),
		.seed = (uint64_t)opt_int(ctx, "seed"),
		.average = opt_flag(ctx, "average"),
		.balance = opt_flag(ctx, "balance"),
		.nb = opt_float(ctx, "nb"),
		.nbmix = opt_float(ctx, "nb-mix"),
	};
	if (classify_load_models(ctx, &m, false) == -1)
		goto out;
	if ((fb = malloc(CLS_MAX_FEATURES * sizeof(*fb))) == NULL) {
		stage_fail_errno(ctx, "cannot start");
		goto out;
	}
	for (i = 0; i < (size_t)ctx->argc; i++)
		if (train_read(ctx, ctx->argv[i], &m, &cfg, &ts, fb) == -1)
			goto out;
	if (ts.n == 0) {
		stage_fail(ctx, "no labelled rows in the input");
		goto out;
	}
	if (cls_train(&cfg, &o, ts.ex, ts.n, &data, &dlen) == -1) {
		stage_fail(ctx, "out of memory while training");
		goto out;
	}
	if (train_write(ctx, opt_str(ctx, "out"), data, dlen) == -1)
		goto out;
	if (ctx->verbose >= 0) {
		fprintf(stderr, "revpipe train-classify: %zu rows", ts.n);
		for (l = 0; l <= CLS_NLANG; l++) {
			size_t *p = ts.per[l];

			if (p[0] + p[1] + p[2] > 0)
				fprintf(stderr, ", %s %zu/%zu/%zu",
				    cls_lang_name(l), p[CLS_POS], p[CLS_NEG],
				    p[CLS_NEU]);
		}
		fprintf(stderr, " (pos/neg/neu); wrote '%s' (%zu bytes)\n",
		    opt_str(ctx, "out"), dlen);
	}
	status = EXIT_OK;
out:
	for (i = 0; i < ts.n; i++)
		free(ts.ex[i].f);
	free(ts.ex);
	free(fb);
	free(data);
	cls_models_release(&m);
	return status;
}

const struct stage train_classify_stage = {
	.name = "train-classify",
	.summary = "train classify's sentiment model from labelled JSON Lines",
	.usage = "FILE.jsonl...",
	.opts = train_opts,
	.tool = train_tool,
};
