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
#include <endian.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lang.h"
#include "mp.h"
#include "rec.h"
#include "stage.h"
#include "banned.h"

#define LANGID_MODEL	"langid/profiles.bin"

struct langid {
	struct lang_model	*model;
	struct lang_set		 allowed;
	double			 min_conf;
	struct buf		 out;	/* the output record, reused */
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
	buf_init(&li->out);
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

/* Is `k` one of the keys langid writes (an input one is replaced)? */
static inline bool
is_langid_key(struct slice k)
{
	switch (k.n) {
	case 4:
		return memcmp(k.p, "lang", 4) == 0;
	case 6:
		return memcmp(k.p, "script", 6) == 0;
	case 9:
		return memcmp(k.p, "lang_conf", 9) == 0;
	}
	return false;
}

/* A short string (under 32 bytes) as msgpack-c writes it; the end. */
static inline char *
put_fixstr(char *o, const char *s, size_t n)
{
	*o++ = (char)(0xa0 | n);
	memcpy(o, s, n);
	return o + n;
}

/*
 * The output record is written into li->out in one piece and handed to
 * the driver: the input's pairs but lang, lang_conf and script, then
 * those three, as rec_out_end() lays them out (lang_conf a float 64, as
 * msgpack-c packs a double), without the record builder's copies.
 */
static int
langid_emit(struct stage_ctx *ctx, struct langid *li, const struct rec *r,
    uint32_t kept, const struct lang_result *res, double conf)
{
	size_t nl = strlen(res->lang), ns = strlen(res->script);
	uint64_t bits;
	char *w;

	buf_reset(&li->out);
	buf_grow(&li->out, r->n + nl + ns + 64);
	w = rec_put_kept(li->out.p, r, kept, 3, is_langid_key);
	/* Language and script codes are a few letters: fixstrs. */
	w = put_fixstr(w, "lang", 4);
	w = put_fixstr(w, res->lang, nl);
	w = put_fixstr(w, "lang_conf", 9);
	*w++ = (char)0xcb;
	memcpy(&bits, &conf, sizeof(bits));
	bits = htobe64(bits);
	memcpy(w, &bits, sizeof(bits));
	w += sizeof(bits);
	w = put_fixstr(w, "script", 6);
	w = put_fixstr(w, res->script, ns);
	li->out.len = (size_t)(w - li->out.p);
	li->out.p[li->out.len] = '\0';
	return stage_emit(ctx, li->out.p, li->out.len);
}

static int
langid_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct langid *li = ctx->priv;
	const struct rec_kv *text_kv = NULL, *title_kv = NULL;
	struct lang_result res;
	struct slice text, k;
	uint32_t i, kept = 0;

	/* One walk: the pairs kept, and the first text and title. */
	for (i = 0; i < r->nkeys; i++) {
		k = r->kv[i].key;
		if (!is_langid_key(k))
			kept++;
		if (k.n == 4 && text_kv == NULL && memcmp(k.p, "text", 4) == 0)
			text_kv = &r->kv[i];
		else if (k.n == 5 && title_kv == NULL &&
		    memcmp(k.p, "title", 5) == 0)
			title_kv = &r->kv[i];
	}
	res.lang = "und";
	res.script = "Zyyy";
	res.conf = 0;
	if (rec_kv_str(text_kv, &text) == 0)
		lang_detect(li->model, text.p, text.n, &li->allowed, &res);
	if (res.conf == 0 && rec_kv_str(title_kv, &text) == 0)
		lang_detect(li->model, text.p, text.n, &li->allowed, &res);
	if (res.conf < li->min_conf || res.conf == 0) {
		res.lang = "und";
		res.conf = 0;
	}
	return langid_emit(ctx, li, r, kept, &res,
	    round(res.conf * 1000) / 1000);
}

static void
langid_free(struct stage_ctx *ctx)
{
	struct langid *li = ctx->priv;

	if (li == NULL)
		return;
	lang_model_free(li->model);
	buf_release(&li->out);
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
