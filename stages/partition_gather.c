/*
 * gather - merge partitioned streams back into input order.
 *
 * Reads: _pos (set by partition).  Writes: the records of every FILE
 * operand, merged by _pos = [shard, position], with _pos removed; with
 * --csv FILE also the replies.csv rows `revpipe run` writes, in the same
 * order.  Rejects nothing; a record without _pos is an error.
 * Options: --csv FILE.
 *
 * The reduce side of `revpipe slurm` writes one stream per partition,
 * each in _pos order (dedupe emits in input order and the per-record
 * stages keep it).  A k-way merge on a heap then gives one stream in the
 * order of a single run over the same inputs.  A file out of _pos order
 * is merged anyway (a warning says the order is not the input order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "stage.h"
#include "banned.h"

static const struct opt gather_opts[] = {
	{ "csv", 0, OPT_STR, "FILE", NULL, 0, 0,
	  "also write replies.csv rows (as revpipe run) to FILE" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct gather_in {
	const char	*path;
	int		 fd;
	struct rec_reader *rd;
	const struct rec *r;	/* current record, NULL at the end */
	uint64_t	 shard, pos;
};

struct gather {
	struct gather_in *in;
	size_t		 n, cap;
	size_t		*heap;		/* indices into in, by (shard, pos) */
	size_t		 nheap;
	bool		 warned;
	int		 csv_fd;
	char		*csv_tmp;
	struct buf	 csv;
};

static int
gather_init(struct stage_ctx *ctx)
{
	struct gather *g;
	const char *csv = opt_str(ctx, "csv");
	size_t n;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return stage_fail_errno(ctx, "out of memory");
	ctx->priv = g;
	g->csv_fd = -1;
	buf_init(&g->csv);
	if (csv != NULL) {
		n = strlen(csv) + 32;
		if ((g->csv_tmp = malloc(n)) == NULL)
			return stage_fail_errno(ctx, "out of memory");
		snprintf(g->csv_tmp, n, "%s.tmp.%ld", csv, (long)getpid());
		if ((g->csv_fd = open(g->csv_tmp, O_WRONLY | O_CREAT |
		    O_TRUNC | O_CLOEXEC, 0644)) == -1)
			return stage_fail_errno(ctx, "cannot create '%s'",
			    g->csv_tmp);
		buf_adds(&g->csv, run_csv_header);
	}
	return 0;
}

/* Operands are only collected: the merge needs all of them at once. */
static int
gather_source(struct stage_ctx *ctx, const char *path)
{
	struct gather *g = ctx->priv;
	struct gather_in *in;

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		if ((in = realloc(g->in, g->cap * sizeof(*in))) == NULL)
			return stage_fail_errno(ctx, "out of memory");
		g->in = in;
	}
	in = &g->in[g->n++];
	memset(in, 0, sizeof(*in));
	in->path = path;
	in->fd = -1;
	return 0;
}

/* Load the next record of `in`: 1, 0 at its end, -1 on failure. */
static int
gather_next(struct stage_ctx *ctx, struct gather *g, struct gather_in *in)
{
	struct slice raw;
	struct mp_val a, s, p;
	const char *c, *end;
	uint64_t shard = in->shard, pos = in->pos;
	bool first = in->r == NULL;
	int rc;

	rc = rec_reader_next(in->rd, &in->r);
	if (rc == 0) {
		in->r = NULL;
		return 0;
	}
	if (rc != 1)
		return stage_fail(ctx, "'%s': %s", in->path, rc == 2 ?
		    "a value that is not a record" : rec_reader_error(in->rd));
	if (rec_get_raw(in->r, "_pos", &raw) == -1)
		return stage_fail(ctx, "'%s': record %llu has no _pos (not "
		    "written by partition)", in->path,
		    (unsigned long long)in->r->seq + 1);
	c = raw.p;
	end = raw.p + raw.n;
	if (mp_next(&c, end, &a) != MP_OK || a.type != MP_ARRAY ||
	    a.v.n != 2 || mp_next(&c, end, &s) != MP_OK ||
	    s.type != MP_UINT || mp_next(&c, end, &p) != MP_OK ||
	    p.type != MP_UINT)
		return stage_fail(ctx, "'%s': record %llu: _pos is not "
		    "[shard, position]", in->path,
		    (unsigned long long)in->r->seq + 1);
	in->shard = s.v.u;
	in->pos = p.v.u;
	if (!first && !g->warned && (in->shard < shard ||
	    (in->shard == shard && in->pos <= pos))) {
		stage_warn(ctx, "'%s': records not in _pos order; the output "
		    "is not in input order", in->path);
		g->warned = true;
	}
	return 1;
}

static bool
gather_less(const struct gather *g, size_t a, size_t b)
{
	const struct gather_in *x = &g->in[a], *y = &g->in[b];

	if (x->shard != y->shard)
		return x->shard < y->shard;
	if (x->pos != y->pos)
		return x->pos < y->pos;
	return a < b;
}

static void
heap_down(struct gather *g, size_t i)
{
	size_t l, m, t;

	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < g->nheap && gather_less(g, g->heap[l], g->heap[m]))
			m = l;
		if (l + 1 < g->nheap &&
		    gather_less(g, g->heap[l + 1], g->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = g->heap[i];
		g->heap[i] = g->heap[m];
		g->heap[m] = t;
		i = m;
	}
}

static int
csv_flush(struct stage_ctx *ctx, struct gather *g)
{
	const char *p = g->csv.p;
	size_t n = g->csv.len;
	ssize_t w;

	while (n > 0) {
		if ((w = write(g->csv_fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return stage_fail_errno(ctx, "cannot write '%s'",
			    g->csv_tmp);
		}
		p += w;
		n -= (size_t)w;
	}
	buf_reset(&g->csv);
	return 0;
}

static int
gather_finish(struct stage_ctx *ctx)
{
	struct gather *g = ctx->priv;
	struct gather_in *in;
	struct rec_out *o;
	size_t i;
	int rc;

	if ((g->heap = calloc(g->n + 1, sizeof(*g->heap))) == NULL)
		return stage_fail_errno(ctx, "out of memory");
	for (i = 0; i < g->n; i++) {
		in = &g->in[i];
		if (strcmp(in->path, "-") == 0)
			in->fd = dup(STDIN_FILENO);
		else
			in->fd = open(in->path, O_RDONLY | O_CLOEXEC);
		if (in->fd == -1)
			return stage_fail_errno(ctx, "cannot open '%s'",
			    in->path);
		if ((in->rd = rec_reader_new(in->fd, in->path)) == NULL)
			return stage_fail_errno(ctx, "out of memory");
		if ((rc = gather_next(ctx, g, in)) == -1)
			return -1;
		if (rc == 1)
			g->heap[g->nheap++] = i;
	}
	for (i = g->nheap; i-- > 0; )
		heap_down(g, i);
	while (g->nheap > 0) {
		in = &g->in[g->heap[0]];
		o = rec_out_begin(ctx, in->r);
		rec_out_del(o, "_pos");
		if (rec_out_end(o) == -1)
			return -1;
		if (g->csv_fd != -1) {
			run_csv_row(&g->csv, in->r);
			if (g->csv.len >= (256u << 10) &&
			    csv_flush(ctx, g) == -1)
				return -1;
		}
		arena_reset(&ctx->scratch);
		if ((rc = gather_next(ctx, g, in)) == -1)
			return -1;
		if (rc == 0)
			g->heap[0] = g->heap[--g->nheap];
		heap_down(g, 0);
	}
	if (g->csv_fd != -1) {
		if (csv_flush(ctx, g) == -1)
			return -1;
		rc = close(g->csv_fd);
		g->csv_fd = -1;
		if (rc == -1)
			return stage_fail_errno(ctx, "cannot write '%s'",
			    g->csv_tmp);
		if (rename(g->csv_tmp, opt_str(ctx, "csv")) == -1)
			return stage_fail_errno(ctx, "cannot rename '%s'",
			    g->csv_tmp);
		free(g->csv_tmp);
		g->csv_tmp = NULL;
	}
	return 0;
}

static void
gather_free(struct stage_ctx *ctx)
{
	struct gather *g = ctx->priv;
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		rec_reader_free(g->in[i].rd);
		if (g->in[i].fd != -1)
			close(g->in[i].fd);
	}
	if (g->csv_fd != -1)
		close(g->csv_fd);
	if (g->csv_tmp != NULL)
		unlink(g->csv_tmp);
	free(g->csv_tmp);
	buf_release(&g->csv);
	free(g->heap);
	free(g->in);
	free(g);
}

const struct stage gather_stage = {
	.name = "gather",
	.summary = "merge partitioned streams back into input order (_pos)",
	.usage = "FILE...",
	.opts = gather_opts,
	.init = gather_init,
	.source = gather_source,
	.finish = gather_finish,
	.free = gather_free,
};
