/*
 * classify - sentiment, complaint topics, kind, severity and evidence of
 * each review.
 *
 * Reads: text (else title), lang (from langid; absent or `und`: guessed
 * from the script and said so in evidence), rating, template (dedupe).
 * Writes: sentiment (pos/neg/neu), sent_score ([-1, 1]), topics,
 * kind (genuine/suspect_fake/abusive/rating_mismatch), severity (0-3),
 * evidence (the buyer's words that drove the decisions, then features
 * such as "stars=1" and "model=neg 0.93").
 * Rejects: missing_field (neither text nor title is a string).
 * Options: --no-stars, --word-cache.
 * Models: classify/sentiment.bin (revpipe train-classify) and
 * classify/lex.LANG.txt; see models/classify/README.md.  How decisions
 * are made: classify_core.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "stage.h"
#include "banned.h"

static const struct opt classify_opts[] = {
	{ "no-stars", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "ignore rating: sentiment from the text alone, no "
	    "rating_mismatch" },
	{ "word-cache", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "keep each word's features across reviews (4 MiB; fewer "
	    "instructions, same output, slower on a busy machine)" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct classify {
	struct cls_models models;
	bool		 no_stars;
};

/* Load models/classify/ for a stage or tool: 0, or -1 (stage_fail). */
int
classify_load_models(struct stage_ctx *ctx, struct cls_models *m,
    bool need_model)
{
	static const char *const names[CLS_NLANG] = {
		"classify/lex.ar.txt", "classify/lex.el.txt",
		"classify/lex.en.txt", "classify/lex.fa.txt",
		"classify/lex.kk.txt", "classify/lex.ru.txt",
		"classify/lex.tr.txt"
	};
	struct slice lex[CLS_NLANG], all, model = { NULL, 0 };
	char err[256];
	int l;

	for (l = 0; l < CLS_NLANG; l++)
		if (stage_model(ctx, names[l], &lex[l]) == -1)
			return -1;
	if (stage_model(ctx, "classify/lex.all.txt", &all) == -1)
		return -1;
	if (need_model && stage_model(ctx, "classify/sentiment.bin",
	    &model) == -1)
		return -1;
	if (cls_models_load(m, model, lex, all, err, sizeof(err)) == -1)
		return stage_fail(ctx, "%s", err);
	return 0;
}

static int
classify_init(struct stage_ctx *ctx)
{
	struct classify *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	ctx->priv = c;
	c->no_stars = opt_flag(ctx, "no-stars");
	if (classify_load_models(ctx, &c->models, true) == -1)
		return -1;
	/*
	 * Off by default: it saves a tenth of the instructions, but its
	 * 4 MiB table costs more in cache misses than that on our shared
	 * machine (docs/classify.md, Speed).
	 */
	if (opt_flag(ctx, "word-cache") &&
	    (c->models.tc = cls_tcache_new()) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	return 0;
}

/* Scores are written with 3 decimals: outputs stay stable and diffable. */
static double
classify_round(float x)
{
	return round((double)x * 1000.0) / 1000.0;
}

static int
classify_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct classify *c = ctx->priv;
	struct cls_input in = { { NULL, 0 }, { "", 0 }, 0, 0 };
	struct cls_result res;
	struct rec_out *o;
	msgpack_packer *pk;
	int64_t v;
	size_t i;
	int t;

	if (rec_get_str(r, "text", &in.text) == -1 &&
	    rec_get_str(r, "title", &in.text) == -1)
		return stage_reject(ctx, r, "missing_field",
		    "no string 'text' or 'title'");
	(void)rec_get_str(r, "lang", &in.lang);
	if (!c->no_stars && rec_get_int(r, "rating", &v) == 0 && v >= 1 &&
	    v <= 5)
		in.rating = (int)v;
	if (rec_get_int(r, "template", &v) == 0)
		in.template_n = v;
	cls_analyze(&c->models, &in, &ctx->scratch, &res);

	o = rec_out_begin(ctx, r);
	rec_out_str(o, "sentiment", cls_class_names[res.sent]);
	rec_out_float(o, "sent_score", classify_round(res.score));
	pk = rec_out_key(o, "topics");
	msgpack_pack_array(pk, (size_t)__builtin_popcount(res.topics));
	for (t = 0; t < CLS_NTOPIC; t++)
		if (res.topics & (1u << t))
			mp_pack_cstr(pk, cls_topic_names[t]);
	rec_out_str(o, "kind", cls_kind_names[res.kind]);
	rec_out_int(o, "severity", res.severity);
	pk = rec_out_key(o, "evidence");
	msgpack_pack_array(pk, res.nevidence);
	for (i = 0; i < res.nevidence; i++)
		mp_pack_strn(pk, res.evidence[i].p, res.evidence[i].n);
	return rec_out_end(o);
}

static void
classify_free(struct stage_ctx *ctx)
{
	struct classify *c = ctx->priv;

	if (c == NULL)
		return;
	cls_models_release(&c->models);
	free(c);
}

const struct stage classify_stage = {
	.name = "classify",
	.summary = "sentiment, complaint topics, kind and severity, with "
	    "evidence",
	.opts = classify_opts,
	.init = classify_init,
	.process = classify_process,
	.free = classify_free,
};
