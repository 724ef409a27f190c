/*
 * langid - identify each review's language.
 *
 * Reads: text (title when text is missing or gives und).
 * Writes: lang (ISO 639-1, `und` when unsure), lang_conf in [0, 1] (three
 * decimals), script (ISO 15924; Zsye for emoji-only, Zyyy when there are
 * no letters).  Never rejects: a record without text is `und`.
 * Options: --min-conf X (und below it), --languages LIST (restrict the
 * candidates, e.g. kk,ru,en).  Accuracy on labelled JSONL:
 * `revpipe langid --eval FILE.jsonl` (= langid-eval, stages/langid_eval.c).
 *
 * The identifier itself is pipeline/lang.c, so other stages can use it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "stage.h"
#include "banned.h"

#define LANGID_MODEL	"langid/profiles.bin"

struct langid {
	struct lang_model	*model;
	struct lang_set		 allowed;
	double			 min_conf;
};

static const struct opt langid_opts[] = {
	{ "min-conf", 0, OPT_FLOAT, "X", "0", 0, 1,
	    "call a text und when the confidence is below X" },
	{ "languages", 0, OPT_LIST, "LIST", NULL, 0, 0,
	    "only consider these languages (ISO 639-1, comma-separated)" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static int
langid_init(struct stage_ctx *ctx)
{
	struct langid *li;
	struct slice data;
	const char *list;
	char err[256];

	if ((li = calloc(1, sizeof(*li))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	ctx->priv = li;
	if (stage_model(ctx, LANGID_MODEL, &data) == -1)
		return -1;
	li->model = lang_model_new(data.p, data.n, err, sizeof(err));
	if (li->model == NULL)
		return stage_fail(ctx, "'%s': %s", LANGID_MODEL, err);
	li->min_conf = opt_float(ctx, "min-conf");
	list = opt_str(ctx, "languages");
	if (list != NULL && lang_set_parse(li->model, list, &li->allowed, err,
	    sizeof(err)) == -1)
		return stage_usage_error(ctx, "--languages: %s", err);
	return 0;
}

static int
langid_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct langid *li = ctx->priv;
	struct lang_result res;
	struct rec_out *o;
	struct slice text;

	res.lang = "und";
	res.script = "Zyyy";
	res.conf = 0;
	if (rec_get_str(r, "text", &text) == 0)
		lang_detect(li->model, text.p, text.n, &li->allowed, &res);
	if (res.conf == 0 && rec_get_str(r, "title", &text) == 0)
		lang_detect(li->model, text.p, text.n, &li->allowed, &res);
	if (res.conf < li->min_conf || res.conf == 0) {
		res.lang = "und";
		res.conf = 0;
	}
	o = rec_out_begin(ctx, r);
	rec_out_str(o, "lang", res.lang);
	rec_out_float(o, "lang_conf", round(res.conf * 1000) / 1000);
	rec_out_str(o, "script", res.script);
	return rec_out_end(o);
}

static void
langid_free(struct stage_ctx *ctx)
{
	struct langid *li = ctx->priv;

	if (li == NULL)
		return;
	lang_model_free(li->model);
	free(li);
	ctx->priv = NULL;
}

const struct stage langid_stage = {
	.name = "langid",
	.summary = "identify the language and script of each review",
	.opts = langid_opts,
	.init = langid_init,
	.process = langid_process,
	.free = langid_free,
};
