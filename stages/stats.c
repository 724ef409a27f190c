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
	struct slice	 topics[STATS_MAXLIST], evidence[STATS_MAXLIST];
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

static int
stats_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct stats_stage *s = ctx->priv;
	struct stats_rec sr;

	stats_rec_of(r, &sr, s->topics, s->evidence);
	stats_add(&s->st, &sr);
	return stage_aggregate(ctx, r);
}

/*
 * The driver's fast path (struct stage .scan): stats_scan() frames a
 * record and takes its facts in one pass, where the driver would index
 * every pair first (most of the cost of a record after reply).  What the
 * scan does not know goes through the driver's reader and
 * stats_process(), with the driver's rejects and messages.
 */
static size_t
stats_scan_rec(struct stage_ctx *ctx, const char *p, const char *end,
    uint64_t offset)
{
	struct stats_stage *s = ctx->priv;
	struct stats_rec sr;
	size_t used;

	(void)offset;
	if ((used = stats_scan(p, end, &sr, s->topics, s->evidence)) > 0) {
		stats_add(&s->st, &sr);
		stage_aggregate(ctx, NULL);
	}
	return used;
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
	.scan = stats_scan_rec,
	.finish = stats_finish,
	.free = stats_free,
	.flags = STAGE_NO_STDOUT,
};
