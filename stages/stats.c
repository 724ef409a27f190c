/*
 * stats - count reviews and write stats.json and report.html.
 *
 * Reads: platform, seller, buyer, lang, sentiment, sent_score, topics,
 * kind, evidence, rating, created_at, reply.action, reply.due_at.
 * Writes no records: every record is aggregated (stage_aggregate).
 * Rejects nothing: missing keys count as "unknown".
 * Options: -o DIR (stats.json, report.html), --partial FILE (mergeable
 * state, msgpack), --merge (operands are partial states; stdin is not
 * read), --now TIME (for "overdue"; default: the largest created_at),
 * --stage-counts FILE (the JSON lines `revpipe STAGE --counts FILE`
 * writes: duplicates and rejects of the upstream stages), --rejects-in
 * FILE (a reject stream, counted by stage and reason), --max-sellers N,
 * --top N.
 *
 * Every output is written to a temporary name in its folder and renamed
 * when complete.  See stats.h for bounded memory and exact merging.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"
#include "stats.h"
#include "fdio.h"
#include "banned.h"

static const struct opt stats_opts[] = {
	{ "output", 'o', OPT_STR, "DIR", NULL, 0, 0,
	  "write stats.json and report.html into DIR (created if missing)" },
	{ "partial", 0, OPT_STR, "FILE", NULL, 0, 0,
	  "write the mergeable state to FILE (msgpack)" },
	{ "merge", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "combine the partial states named as operands; stdin is not read" },
	{ "now", 0, OPT_STR, "TIME", NULL, 0, 0,
	  "replies due before TIME (unix seconds or YYYY-MM-DD[THH:MM:SS]Z) "
	  "are overdue; default: the latest created_at seen" },
	{ "stage-counts", 0, OPT_LIST, "FILE", NULL, 0, 0,
	  "count duplicates and rejects from FILE, the JSON lines written by "
	  "the stages' --counts (may repeat)" },
	{ "rejects-in", 0, OPT_LIST, "FILE", NULL, 0, 0,
	  "count rejects by stage and reason from the reject stream FILE "
	  "(may repeat)" },
	{ "max-sellers", 0, OPT_INT, "N", "65536", 16, 100000000,
	  "keep at most N sellers (a uniform sample by hash beyond)" },
	{ "top", 0, OPT_INT, "N", "5", 1, 64,
	  "topics and evidence words listed per seller" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct stats_stage {
	struct stats	 st;
	struct slice	 topics[64], evidence[64];
};

/*
 * The value of "key": N in a flat JSON object line, or -1.  The lines come
 * from the driver's --counts (pipeline/stage.c), one object per line.
 */
static int
json_uint(const char *line, size_t n, const char *key, uint64_t *out)
{
	char pat[64];
	const char *p, *end = line + n;
	size_t kn;

	kn = (size_t)snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = memmem(line, n, pat, kn);
	if (p == NULL)
		return -1;
	p += kn;
	while (p < end && *p == ' ')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return -1;
	*out = 0;
	while (p < end && *p >= '0' && *p <= '9')
		*out = *out * 10 + (uint64_t)(*p++ - '0');
	return 0;
}

static int
json_stage(const char *line, size_t n, struct slice *s)
{
	const char *p = memmem(line, n, "\"stage\":", 8), *q, *end = line + n;

	if (p == NULL)
		return -1;
	for (p += 8; p < end && *p == ' '; p++)
		;
	if (p == end || *p != '"')
		return -1;
	p++;
	if ((q = memchr(p, '"', (size_t)(end - p))) == NULL)
		return -1;
	*s = (struct slice){ p, (size_t)(q - p) };
	return 0;
}

static int
load_counts(struct stage_ctx *ctx, struct stats *st, const char *path)
{
	struct buf b = BUF_INIT;
	const char *p, *nl, *end;
	uint64_t c[SC_NVAL];
	struct slice name;
	static const char *const keys[SC_NVAL] = { "read", "written",
	    "duplicates", "rejects", "aggregated" };
	size_t i, line = 0;

	if (fdio_read_file(path, &b) == -1)
		return stage_fail_errno(ctx, "cannot read '%s'", path);
	end = b.p + b.len;
	for (p = b.p; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p)
			continue;
		if (json_stage(p, (size_t)(nl - p), &name) == -1)
			goto bad;
		for (i = 0; i < SC_NVAL; i++)
			if (json_uint(p, (size_t)(nl - p), keys[i],
			    &c[i]) == -1)
				goto bad;
		stats_add_stage(st, name, c);
	}
	buf_release(&b);
	return 0;
bad:
	buf_release(&b);
	return stage_fail(ctx, "'%s:%zu': not a counts line", path, line);
}

static int
load_rejects(struct stage_ctx *ctx, struct stats *st, const char *path)
{
	struct rec_reader *rd;
	const struct rec *r;
	struct slice stage, reason;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return stage_fail_errno(ctx, "cannot open '%s'", path);
	if ((rd = rec_reader_new(fd, path)) == NULL) {
		close(fd);
		return stage_fail_errno(ctx, "cannot read '%s'", path);
	}
	while ((rc = rec_reader_next(rd, &r)) == 1) {
		if (rec_get_str(r, "stage", &stage) == -1)
			stage = slice_from("unknown");
		if (rec_get_str(r, "reason", &reason) == -1)
			reason = slice_from("unknown");
		stats_add_reject(st, stage, reason);
	}
	if (rc != 0)
		stage_fail(ctx, "'%s': %s", path, rc == 2 ? "not a reject "
		    "stream" : rec_reader_error(rd));
	rec_reader_free(rd);
	close(fd);
	return rc == 0 ? 0 : -1;
}

static int
for_each_list(struct stage_ctx *ctx, const char *name, struct stats *st,
    int (*fn)(struct stage_ctx *, struct stats *, const char *))
{
	const struct opt_val *v = stage_opt(ctx, name);
	char *copy, *p, *comma;
	int rc = 0;

	if (!v->set || v->s == NULL)
		return 0;
	if ((copy = strdup(v->s)) == NULL)
		return stage_fail_errno(ctx, "out of memory");
	for (p = copy; p != NULL && rc == 0; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (*p != '\0')
			rc = fn(ctx, st, p);
	}
	free(copy);
	return rc;
}

static int
merge_file(struct stage_ctx *ctx, struct stats *st, const char *path)
{
	struct buf b = BUF_INIT;
	char err[256];
	int rc = 0;

	if (fdio_read_file(path, &b) == -1)
		return stage_fail_errno(ctx, "cannot read '%s'", path);
	if (stats_merge_packed(st, b.p, b.len, err, sizeof(err)) == -1)
		rc = stage_fail(ctx, "'%s': %s", path, err);
	buf_release(&b);
	return rc;
}

static int
stats_init_stage(struct stage_ctx *ctx)
{
	struct stats_stage *s;
	const char *now_s = opt_str(ctx, "now");
	int64_t now = STATS_NOW_UNSET;
	int i, fd;

	if (opt_str(ctx, "output") == NULL && opt_str(ctx, "partial") == NULL)
		return stage_usage_error(ctx, "nothing to write: give -o DIR "
		    "and/or --partial FILE");
	if (now_s != NULL && stats_parse_time(now_s, &now) == -1)
		return stage_usage_error(ctx, "--now '%s': not a unix time or "
		    "YYYY-MM-DDTHH:MM:SSZ", now_s);
	if (!opt_flag(ctx, "merge") && ctx->argc > 0)
		return stage_usage_error(ctx, "unexpected operand '%s' "
		    "(partial states need --merge)", ctx->argv[0]);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return stage_fail_errno(ctx, "out of memory");
	ctx->priv = s;
	stats_init(&s->st, (size_t)opt_int(ctx, "max-sellers"), now);
	if (opt_flag(ctx, "merge")) {
		for (i = 0; i < ctx->argc; i++)
			if (merge_file(ctx, &s->st, ctx->argv[i]) == -1)
				return -1;
		/*
		 * The operands are consumed here, and records come from
		 * no stdin: the driver then sees an empty stream.
		 */
		ctx->argc = 0;
		if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1)
			return stage_fail_errno(ctx, "cannot open /dev/null");
		close(fd);
	}
	if (for_each_list(ctx, "stage-counts", &s->st, load_counts) == -1 ||
	    for_each_list(ctx, "rejects-in", &s->st, load_rejects) == -1)
		return -1;
	return 0;
}

/*
 * The value of a pair as a string: fixstr and str8 (nearly every key and
 * short value) are read in place, anything else through mp_next().
 * Returns false when the value is not a string.
 */
static inline bool
val_str(const char *p, size_t n, struct slice *s)
{
	const unsigned char *u = (const unsigned char *)p;
	struct mp_val v;

	if (n >= 1 && (u[0] & 0xe0) == 0xa0 && (size_t)(u[0] & 0x1f) < n) {
		*s = (struct slice){ p + 1, u[0] & 0x1f };
		return true;
	}
	if (n >= 2 && u[0] == 0xd9 && (size_t)u[1] + 2 <= n) {
		*s = (struct slice){ p + 2, u[1] };
		return true;
	}
	if (mp_next(&p, p + n, &v) != MP_OK || v.type != MP_STR)
		return false;
	*s = v.v.s;
	return true;
}

/*
 * Up to `max` strings of the array in the value bytes [p, p + n) into v:
 * the strings before the first element that is not one (as
 * rec_array_str() reads them).
 */
static size_t
val_strs(const char *p, size_t n, struct slice *v, size_t max)
{
	const char *end = p + n;
	const unsigned char *u;
	struct mp_val a;
	size_t k = 0;

	if (n >= 1 && ((unsigned char)p[0] & 0xf0) == 0x90)
		p++;
	else if (mp_next(&p, end, &a) != MP_OK || a.type != MP_ARRAY)
		return 0;
	while (k < max && p < end) {
		u = (const unsigned char *)p;
		if ((u[0] & 0xe0) == 0xa0 && (size_t)(u[0] & 0x1f) <
		    (size_t)(end - p)) {
			v[k++] = (struct slice){ p + 1, u[0] & 0x1f };
			p += 1 + (u[0] & 0x1f);
		} else if (u[0] == 0xd9 && end - p >= 2 &&
		    (size_t)u[1] + 2 <= (size_t)(end - p)) {
			v[k++] = (struct slice){ p + 2, u[1] };
			p += 2 + u[1];
		} else if (mp_next(&p, end, &a) == MP_OK && a.type == MP_STR)
			v[k++] = a.v.s;
		else
			break;
	}
	return k;
}

/*
 * Keep the buyer's words of an evidence list: classify appends its
 * features as "name=value" ("stars=1", "model=neg 0.93"; see
 * docs/classify.md), which say nothing in a table of what buyers
 * complain about.
 */
static size_t
buyer_words(struct slice *v, size_t n)
{
	static const char *const features[] = {
		"stars=", "template=", "model=", "rule=", "lang="
	};
	size_t i, f, k;

	for (i = k = 0; i < n; i++) {
		for (f = 0; f < sizeof(features) / sizeof(features[0]); f++)
			if (v[i].n > strlen(features[f]) &&
			    memcmp(v[i].p, features[f], strlen(features[f])) ==
			    0)
				break;
		if (f == sizeof(features) / sizeof(features[0]))
			v[k++] = v[i];
	}
	return k;
}

/*
 * Bytes of the string at p (header and payload) when it is one whose
 * header tells (fixstr, str8, str16) and it fits before end, else 0.
 */
static inline size_t
str_size(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t avail = (size_t)(end - p), n;

	if (avail == 0)
		return 0;
	if ((u[0] & 0xe0) == 0xa0)
		n = 1 + (u[0] & 0x1f);
	else if (u[0] == 0xd9 && avail >= 2)
		n = 2 + (size_t)u[1];
	else if (u[0] == 0xda && avail >= 3)
		n = 3 + ((size_t)u[1] << 8 | u[2]);
	else
		return 0;
	return n <= avail ? n : 0;
}

/*
 * Bytes of the value at p when it is a scalar or a short array of
 * strings that fits before end (nearly all of a reply), else 0: then
 * mp_skip() frames it.
 */
static size_t
val_size(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t avail = (size_t)(end - p), n, k, e;
	static const unsigned char fixed[32] = {
		/* 0xc0 .. 0xdf: size of the fixed-size kinds, 0 others. */
		1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5, 9, 2, 3, 5, 9,
		2, 3, 5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
	};

	if (avail == 0)
		return 0;
	if (u[0] <= 0x7f || u[0] >= 0xe0)
		return 1;
	if (u[0] >= 0xc0 && fixed[u[0] - 0xc0] != 0)
		n = fixed[u[0] - 0xc0];
	else if ((u[0] & 0xf0) == 0x90) {
		for (n = 1, k = 0; k < (size_t)(u[0] & 0x0f); k++, n += e)
			if ((e = str_size(p + n, end)) == 0)
				return 0;
	} else
		n = str_size(p, end);
	return n <= avail ? n : 0;
}

static void
get_reply(const char *val, size_t vlen, struct stats_rec *sr)
{
	struct mp_val m, v;
	struct slice k;
	const char *p, *end;
	uint32_t i;
	size_t n;

	p = val;
	end = val + vlen;
	if (mp_next(&p, end, &m) != MP_OK || m.type != MP_MAP)
		return;
	for (i = 0; i < m.v.n; i++) {
		/* Keys are short strings; most values are strings too. */
		if (p < end && ((unsigned char)*p & 0xe0) == 0xa0 &&
		    (n = str_size(p, end)) != 0) {
			k = (struct slice){ p + 1, n - 1 };
			p += n;
		} else if (mp_next(&p, end, &v) != MP_OK || v.type != MP_STR)
			return;
		else
			k = v.v.s;
		if (k.n == 6 && (memcmp(k.p, "due_at", 6) == 0 ||
		    memcmp(k.p, "action", 6) == 0)) {
			if (mp_next(&p, end, &v) != MP_OK)
				return;
			if (k.p[0] == 'a' && v.type == MP_STR) {
				sr->action = v.v.s;
				sr->has_action = true;
			} else if (k.p[0] == 'd' && mp_as_int(&v, &sr->due))
				sr->has_due = true;
		} else if ((n = val_size(p, end)) != 0)
			p += n;
		else if (mp_skip(&p, end) != MP_OK)
			return;
	}
}

/* The keys stats reads; a record's first pair with the key counts. */
enum {
	SK_PLATFORM, SK_SELLER, SK_BUYER, SK_LANG, SK_SENTIMENT, SK_KIND,
	SK_RATING, SK_CREATED, SK_SCORE, SK_TOPICS, SK_EVIDENCE, SK_REPLY,
	SK_N
};

#define KEYIS(kv, lit)	((kv)->key.n == sizeof(lit) - 1 && \
	memcmp((kv)->key.p, lit, sizeof(lit) - 1) == 0)

/* Which of the SK_* keys the pair has, or -1. */
static inline int
key_of(const struct rec_kv *kv)
{
	switch (kv->key.n) {
	case 4:
		return KEYIS(kv, "lang") ? SK_LANG : KEYIS(kv, "kind") ?
		    SK_KIND : -1;
	case 5:
		return KEYIS(kv, "buyer") ? SK_BUYER : KEYIS(kv, "reply") ?
		    SK_REPLY : -1;
	case 6:
		return KEYIS(kv, "seller") ? SK_SELLER : KEYIS(kv, "rating") ?
		    SK_RATING : KEYIS(kv, "topics") ? SK_TOPICS : -1;
	case 8:
		return KEYIS(kv, "platform") ? SK_PLATFORM :
		    KEYIS(kv, "evidence") ? SK_EVIDENCE : -1;
	case 9:
		return KEYIS(kv, "sentiment") ? SK_SENTIMENT : -1;
	case 10:
		return KEYIS(kv, "created_at") ? SK_CREATED :
		    KEYIS(kv, "sent_score") ? SK_SCORE : -1;
	default:
		return -1;
	}
}

static int
stats_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct stats_stage *s = ctx->priv;
	const struct rec_kv *kv[SK_N];
	struct stats_rec sr;
	struct mp_val v;
	const char *p;
	double score;
	uint32_t i;
	int k;

	/* One walk over the record's index instead of a lookup per key. */
	memset(kv, 0, sizeof(kv));
	for (i = 0; i < r->nkeys; i++)
		if ((k = key_of(&r->kv[i])) != -1 && kv[k] == NULL)
			kv[k] = &r->kv[i];
	memset(&sr, 0, sizeof(sr));
#define GETSTR(key, field, has)	\
	(sr.has = kv[key] != NULL && val_str(kv[key]->val, kv[key]->vlen, \
	    &sr.field))
	GETSTR(SK_PLATFORM, platform, has_platform);
	GETSTR(SK_SELLER, seller, has_seller);
	GETSTR(SK_BUYER, buyer, has_buyer);
	GETSTR(SK_LANG, lang, has_lang);
	GETSTR(SK_SENTIMENT, sentiment, has_sentiment);
	GETSTR(SK_KIND, kind, has_kind);
#undef GETSTR
	if (kv[SK_RATING] != NULL && (p = kv[SK_RATING]->val,
	    mp_next(&p, p + kv[SK_RATING]->vlen, &v) == MP_OK) &&
	    mp_as_int(&v, &sr.rating) && sr.rating >= 1 && sr.rating <= 5)
		;
	else
		sr.rating = 0;
	sr.has_created = kv[SK_CREATED] != NULL && (p = kv[SK_CREATED]->val,
	    mp_next(&p, p + kv[SK_CREATED]->vlen, &v) == MP_OK) &&
	    mp_as_int(&v, &sr.created);
	if (kv[SK_SCORE] != NULL && (p = kv[SK_SCORE]->val,
	    mp_next(&p, p + kv[SK_SCORE]->vlen, &v) == MP_OK) &&
	    mp_as_double(&v, &score) && score >= -1.0 && score <= 1.0) {
		sr.has_score = true;
		sr.score_micro = (int64_t)(score * 1e6 + (score < 0 ? -0.5 :
		    0.5));
	}
	sr.topics = s->topics;
	if (kv[SK_TOPICS] != NULL)
		sr.ntopics = val_strs(kv[SK_TOPICS]->val, kv[SK_TOPICS]->vlen,
		    s->topics, 64);
	sr.evidence = s->evidence;
	if (kv[SK_EVIDENCE] != NULL)
		sr.nevidence = buyer_words(s->evidence, val_strs(
		    kv[SK_EVIDENCE]->val, kv[SK_EVIDENCE]->vlen, s->evidence,
		    64));
	if (kv[SK_REPLY] != NULL)
		get_reply(kv[SK_REPLY]->val, kv[SK_REPLY]->vlen, &sr);
	stats_add(&s->st, &sr);
	return stage_aggregate(ctx, r);
}

/* Write b to dir/name through a temporary name and rename(2). */
static int
write_atomic(struct stage_ctx *ctx, const char *path, const struct buf *b)
{
	char tmp[PATH_MAX];
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return stage_fail(ctx, "'%s': path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return stage_fail_errno(ctx, "cannot create '%s'", tmp);
	if (fdio_write_all(fd, b->p, b->len) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = e;
	return stage_fail_errno(ctx, "cannot write '%s'", path);
}

static int
stats_finish(struct stage_ctx *ctx)
{
	struct stats_stage *s = ctx->priv;
	const char *dir = opt_str(ctx, "output"), *part;
	size_t top = (size_t)opt_int(ctx, "top");
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	int rc = 0;

	if ((part = opt_str(ctx, "partial")) != NULL) {
		stats_pack(&s->st, &b);
		rc = write_atomic(ctx, part, &b);
	}
	if (rc == 0 && dir != NULL) {
		if (mkdir(dir, 0777) == -1 && errno != EEXIST)
			rc = stage_fail_errno(ctx, "cannot create '%s'", dir);
	}
	if (rc == 0 && dir != NULL) {
		buf_reset(&b);
		stats_json(&s->st, &b, top);
		snprintf(path, sizeof(path), "%s/stats.json", dir);
		rc = write_atomic(ctx, path, &b);
	}
	if (rc == 0 && dir != NULL) {
		buf_reset(&b);
		stats_html(&s->st, &b, top);
		snprintf(path, sizeof(path), "%s/report.html", dir);
		rc = write_atomic(ctx, path, &b);
	}
	buf_release(&b);
	return rc;
}

static void
stats_free(struct stage_ctx *ctx)
{
	struct stats_stage *s = ctx->priv;

	if (s == NULL)
		return;
	stats_release(&s->st);
	free(s);
	ctx->priv = NULL;
}

const struct stage stats_stage = {
	.name = "stats",
	.summary = "count reviews; write stats.json, report.html, partials",
	.usage = "[--merge PARTIAL...]",
	.opts = stats_opts,
	.init = stats_init_stage,
	.process = stats_process,
	.finish = stats_finish,
	.free = stats_free,
	.flags = STAGE_NO_STDOUT,
};
