/*
 * validate - check records against schemas/review.v1 and pass them on.
 *
 * Reads: every key the schema names.  Writes: nothing new; valid records
 * pass through byte for byte.  Rejects: missing_field (a required key is
 * absent), wrong_type (a key holds a type the schema does not allow),
 * bad_utf8 (a string that is not valid UTF-8).
 * Options: --after STAGE (also require the keys of STAGE and the stages
 * before it), --schema NAME, --no-utf8.
 *
 * Put it anywhere in a chain to catch a stage that broke the contract;
 * with no checks needed it is also the pass-through used by `make bench`.
 */
#include <stdlib.h>
#include <string.h>

#include "stage.h"
#include "text.h"
#include "banned.h"

static const struct opt validate_opts[] = {
	{ "after", 0, OPT_STR, "STAGE", NULL, 0, 0,
	  "also require the keys set by STAGE and the stages before it" },
	{ "schema", 0, OPT_STR, "NAME", "review.v1", 0, 0,
	  "schema file under schemas/" },
	{ "no-utf8", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "skip the UTF-8 check of strings (decode already guarantees it)" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

enum vtype {
	VT_STR = 1 << 0, VT_INT = 1 << 1, VT_FLOAT = 1 << 2, VT_NIL = 1 << 3,
	VT_BOOL = 1 << 4, VT_STRS = 1 << 5, VT_MAP = 1 << 6, VT_ANY = 0xff
};

/* Stage order: the keys of every stage up to --after are required. */
static const char *const stage_order[] = {
	"decode", "dedupe", "langid", "classify", "reply", NULL
};

#define SCHEMA_MAX_KEYS	64

#define SCHEMA_KEY_MAX	32

struct field {
	char		 key[SCHEMA_KEY_MAX];
	size_t		 len;
	unsigned	 types;
	bool		 required;
	unsigned char	 next;		/* 1 + next field in the chain, or 0 */
};

struct validate {
	struct field	 f[SCHEMA_MAX_KEYS];
	size_t		 n;
	bool		 check_utf8;
	/*
	 * 1 + the first field with this key length and first byte: each
	 * record key is looked up once instead of scanning the record once
	 * per schema key.
	 */
	unsigned char	 head[SCHEMA_KEY_MAX][256];
};

static int
stage_rank(const char *name, size_t n)
{
	int i;

	for (i = 0; stage_order[i] != NULL; i++)
		if (strlen(stage_order[i]) == n &&
		    memcmp(stage_order[i], name, n) == 0)
			return i;
	return -1;
}

static unsigned
parse_types(const char *p, size_t n)
{
	static const struct { const char *name; unsigned bits; } names[] = {
		{ "str", VT_STR }, { "int", VT_INT },
		{ "float", VT_FLOAT }, { "num", VT_INT | VT_FLOAT },
		{ "nil", VT_NIL }, { "bool", VT_BOOL }, { "strs", VT_STRS },
		{ "map", VT_MAP }, { "any", VT_ANY }
	};
	unsigned bits = 0;
	size_t i, len;

	while (n > 0) {
		for (len = 0; len < n && p[len] != '|'; len++)
			;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len &&
			    memcmp(names[i].name, p, len) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return 0;
		bits |= names[i].bits;
		p += len;
		n -= len;
		if (n > 0) {
			p++;
			n--;
		}
	}
	return bits;
}

/* Split the next whitespace-separated word off [*p, end). */
static struct slice
word(const char **p, const char *end)
{
	struct slice w;

	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	w.p = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	w.n = (size_t)(*p - w.p);
	return w;
}

static int
validate_init(struct stage_ctx *ctx)
{
	struct validate *v;
	struct slice schema, key, types, setby, req;
	const char *after = opt_str(ctx, "after"), *p, *end, *eol;
	char name[128];
	int upto = -1, lineno = 0;
	size_t i;

	if (after != NULL &&
	    (upto = stage_rank(after, strlen(after))) == -1)
		return stage_usage_error(ctx, "--after: unknown stage '%s' "
		    "(decode, dedupe, langid, classify or reply)", after);
	snprintf(name, sizeof(name), "schemas/%s", opt_str(ctx, "schema"));
	if (stage_model(ctx, name, &schema) == -1)
		return -1;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	ctx->priv = v;
	v->check_utf8 = !opt_flag(ctx, "no-utf8");
	for (p = schema.p, end = p + schema.n; p < end; p = eol + 1) {
		int rank;

		lineno++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (p == eol || *p == '#')
			continue;
		key = word(&p, eol);
		types = word(&p, eol);
		setby = word(&p, eol);
		req = word(&p, eol);
		if (key.n == 0 || key.n >= sizeof(v->f[0].key) ||
		    v->n == SCHEMA_MAX_KEYS ||
		    (v->f[v->n].types = parse_types(types.p, types.n)) == 0 ||
		    (rank = stage_rank(setby.p, setby.n)) == -1)
			return stage_fail(ctx, "'%s':%d: bad schema line",
			    name, lineno);
		memcpy(v->f[v->n].key, key.p, key.n);
		v->f[v->n].len = key.n;
		v->f[v->n].required = slice_eq(req, "yes") ||
		    (slice_eq(req, "after") && rank <= upto);
		v->n++;
	}
	/* Chain in reverse so each chain runs in schema order. */
	for (i = v->n; i-- > 0;) {
		unsigned char *h =
		    &v->head[v->f[i].len][(unsigned char)v->f[i].key[0]];

		v->f[i].next = *h;
		*h = (unsigned char)(i + 1);
	}
	return 0;
}

static unsigned
value_type(const struct mp_val *mv, const char *p, const char *end)
{
	struct mp_val item;
	uint32_t i;

	switch (mv->type) {
	case MP_STR: return VT_STR;
	case MP_INT: case MP_UINT: return VT_INT;
	case MP_FLOAT: return VT_FLOAT;
	case MP_NIL: return VT_NIL;
	case MP_BOOL: return VT_BOOL;
	case MP_MAP: return VT_MAP;
	case MP_ARRAY:
		for (i = 0; i < mv->v.n; i++)
			if (mp_next(&p, end, &item) != MP_OK ||
			    item.type != MP_STR)
				return 0;
		return VT_STRS;
	default:
		return 0;
	}
}

static int
validate_process(struct stage_ctx *ctx, const struct rec *r)
{
	const struct validate *v = ctx->priv;
	const struct rec_kv *at[SCHEMA_MAX_KEYS];
	struct text_error te;
	struct slice raw;
	struct mp_val mv;
	const char *p;
	size_t i;
	unsigned j, c;

	memset(at, 0, v->n * sizeof(at[0]));
	for (i = 0; i < r->nkeys; i++) {
		const struct rec_kv *kv = &r->kv[i];

		if (kv->key.n == 0 || kv->key.n >= SCHEMA_KEY_MAX)
			continue;
		for (j = v->head[kv->key.n][(unsigned char)kv->key.p[0]];
		    j != 0; j = v->f[j - 1].next) {
			/* A repeated key: the first one counts. */
			if (at[j - 1] == NULL && memcmp(v->f[j - 1].key,
			    kv->key.p, kv->key.n) == 0)
				at[j - 1] = kv;
		}
	}
	for (i = 0; i < v->n; i++) {
		const struct field *f = &v->f[i];

		if (at[i] == NULL) {
			if (f->required)
				return stage_reject(ctx, r, "missing_field",
				    "no '%s'", f->key);
			continue;
		}
		raw.p = at[i]->val;
		raw.n = at[i]->vlen;
		p = raw.p;
		/* Short strings, most values, without the call. */
		c = (unsigned char)raw.p[0];
		if ((c & 0xe0) == 0xa0 && raw.n == 1 + (c & 0x1fu)) {
			mv.type = MP_STR;
			mv.v.s.p = raw.p + 1;
			mv.v.s.n = c & 0x1f;
			p = raw.p + raw.n;
		} else if (mp_next(&p, raw.p + raw.n, &mv) != MP_OK)
			return stage_reject(ctx, r, "wrong_type",
			    "'%s' has the wrong type", f->key);
		if ((value_type(&mv, p, raw.p + raw.n) & f->types) == 0)
			return stage_reject(ctx, r, "wrong_type",
			    "'%s' has the wrong type", f->key);
		if (mv.type == MP_STR && v->check_utf8 &&
		    text_utf8_check(mv.v.s.p, mv.v.s.n, &te) == -1)
			return stage_reject(ctx, r, "bad_utf8", "'%s': %s at "
			    "byte %zu", f->key, text_bad_name(te.what), te.off);
	}
	return rec_pass(ctx, r);
}

static void
validate_free(struct stage_ctx *ctx)
{
	free(ctx->priv);
}

const struct stage validate_stage = {
	.name = "validate",
	.summary = "check records against the review.v1 schema",
	.opts = validate_opts,
	.init = validate_init,
	.process = validate_process,
	.free = validate_free,
};
