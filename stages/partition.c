/*
 * partition - route records to P files by their dedupe key.
 *
 * Reads: text, and the --by fields (dedupe's).  Writes: no record stream;
 * each record goes to DIR/part-NNNN.msgpack (NNNN = key mod P, 4 digits)
 * with the key _pos = [shard, position] added.  Every record is counted
 * as written.  Rejects nothing (a record dedupe will reject still goes
 * to a partition, so dedupe rejects it there, once).
 * Options: --parts P, --out DIR, --shard N, --key group|exact, --by,
 * --no-pos.
 *
 * This is the map side of `revpipe slurm`: every map task runs
 * `decode SHARDS | partition --shard I --out map/sI`, and reduce task p
 * reads part p of every map/sI in shard order, so a dedupe there sees
 * every copy of a review.  Which records meet:
 *
 *   --key group (default): the --by fields other than text and buyer,
 *   i.e. the seller.  dedupe links records (exact copies, near copies,
 *   templates across buyers) only within one group, so the dedupe of a
 *   partition finds exactly what one dedupe over everything finds.  The
 *   price: a seller's reviews are never split across partitions.
 *
 *   --key exact: dedupe's exact key (text form + buyer + seller).  Spreads
 *   the load evenly, but only exact copies are sure to meet; near copies
 *   and templates across buyers may land apart.
 *
 * Ties and order.  dedupe keeps the first record of a cluster in its
 * input order.  Reduce inputs are the map files concatenated in shard
 * order, each file in arrival order: that is (shard, position) order,
 * the order of one run over the same inputs, whatever order the map
 * tasks finished in.  The _pos key makes that order explicit and
 * survives the per-record stages, so `revpipe gather` can merge the
 * reduce outputs back into input order and drop it: the final outputs
 * then equal those of `revpipe run` byte for byte.  --no-pos leaves the
 * records untouched.
 *
 * Files are written under .part-NNNN.msgpack.tmp.PID in DIR and renamed
 * when the input ended cleanly; on failure the temporary files are
 * removed and no part file is half written.  All P files are made, empty
 * ones too, so a reduce task can tell "no records" from "map not done".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "dupkey.h"
#include "norm.h"
#include "stage.h"
#include "fdio.h"
#include "banned.h"

#define PART_MAX	10000		/* 4-digit file names */
#define PART_BUF_TOTAL	(64u << 20)	/* write buffers, all partitions */
#define PART_BUF_MAX	(256u << 10)
#define PART_BUF_MIN	(4u << 10)
#define PART_POS_KEY	"_pos"

static const struct opt partition_opts[] = {
	{ "parts", 'p', OPT_INT, "P", NULL, 1, PART_MAX,
	  "number of partitions (files part-0000 .. part-P-1)" },
	{ "out", 'o', OPT_STR, "DIR", NULL, 0, 0,
	  "directory for the part files (created with its parents)" },
	{ "shard", 0, OPT_INT, "N", "0", 0, 2147483647.0,
	  "shard number written in _pos (the map task index)" },
	{ "key", 0, OPT_STR, "KEY", "group", 0, 0,
	  "group (the --by fields but text and buyer: exact dedupe in each "
	  "partition) or exact (dedupe's exact key: even spread)" },
	{ "by", 0, OPT_LIST, "FIELDS", "text,buyer,seller", 0, 0,
	  "dedupe's --by fields" },
	{ "no-pos", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "do not add the _pos key" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct part_file {
	int		 fd;
	struct buf	 b;
	char		*tmp;		/* NULL once renamed */
	char		*final;
};

struct partition {
	struct dupkey	 key;
	bool		 exact, pos;
	int64_t		 shard;
	uint32_t	 nparts;
	size_t		 bufsz;
	struct part_file *f;
	struct buf	 rec;
};

static int
partition_init(struct stage_ctx *ctx)
{
	struct partition *pt;
	const char *dir = opt_str(ctx, "out"), *key = opt_str(ctx, "key");
	char err[128], name[64];
	struct part_file *f;
	uint32_t i;
	size_t n;

	if (!stage_opt(ctx, "parts")->set)
		return stage_usage_error(ctx, "--parts P is required");
	if (dir == NULL)
		return stage_usage_error(ctx, "--out DIR is required");
	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return stage_fail_errno(ctx, "out of memory");
	ctx->priv = pt;
	buf_init(&pt->rec);
	if (strcmp(key, "exact") == 0)
		pt->exact = true;
	else if (strcmp(key, "group") != 0)
		return stage_usage_error(ctx, "--key must be group or exact, "
		    "not '%s'", key);
	if (dupkey_init(&pt->key, opt_str(ctx, "by"), err, sizeof(err)) == -1)
		return stage_usage_error(ctx, "%s", err);
	pt->pos = !opt_flag(ctx, "no-pos");
	pt->shard = opt_int(ctx, "shard");
	pt->nparts = (uint32_t)opt_int(ctx, "parts");
	pt->bufsz = PART_BUF_TOTAL / pt->nparts;
	if (pt->bufsz > PART_BUF_MAX)
		pt->bufsz = PART_BUF_MAX;
	if (pt->bufsz < PART_BUF_MIN)
		pt->bufsz = PART_BUF_MIN;

	if (fdio_mkdir_p(dir) == -1)
		return stage_fail_errno(ctx, "cannot create '%s'", dir);
	if ((pt->f = calloc(pt->nparts, sizeof(*pt->f))) == NULL)
		return stage_fail_errno(ctx, "out of memory");
	for (i = 0; i < pt->nparts; i++)
		pt->f[i].fd = -1;
	for (i = 0; i < pt->nparts; i++) {
		f = &pt->f[i];
		buf_init(&f->b);
		n = strlen(dir) + 64;
		if ((f->tmp = malloc(n)) == NULL ||
		    (f->final = malloc(n)) == NULL)
			return stage_fail_errno(ctx, "out of memory");
		snprintf(name, sizeof(name), "part-%04u.msgpack", i);
		snprintf(f->final, n, "%s/%s", dir, name);
		snprintf(f->tmp, n, "%s/.%s.tmp.%ld", dir, name,
		    (long)getpid());
		if ((f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644)) == -1)
			return stage_fail_errno(ctx, "cannot create '%s'",
			    f->tmp);
	}
	return 0;
}

static int
part_flush(struct stage_ctx *ctx, struct part_file *f)
{
	const char *p = f->b.p;
	size_t n = f->b.len;
	ssize_t w;

	while (n > 0) {
		if ((w = write(f->fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return stage_fail_errno(ctx, "cannot write '%s'",
			    f->tmp);
		}
		p += w;
		n -= (size_t)w;
	}
	buf_reset(&f->b);
	return 0;
}

/* r with _pos = [shard, position] into pt->rec (an old _pos replaced). */
static void
partition_tag(struct partition *pt, const struct rec *r)
{
	msgpack_packer pk;
	uint32_t i, n = 0;

	buf_reset(&pt->rec);
	mp_packer_buf(&pk, &pt->rec);
	for (i = 0; i < r->nkeys; i++)
		if (!slice_eq(r->kv[i].key, PART_POS_KEY))
			n++;
	msgpack_pack_map(&pk, n + 1);
	for (i = 0; i < r->nkeys; i++) {
		const struct rec_kv *kv = &r->kv[i];

		if (!slice_eq(kv->key, PART_POS_KEY))
			buf_add(&pt->rec, kv->pair,
			    (size_t)(kv->val + kv->vlen - kv->pair));
	}
	mp_pack_cstr(&pk, PART_POS_KEY);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int64(&pk, pt->shard);
	msgpack_pack_uint64(&pk, r->seq);
}

static int
partition_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct partition *pt = ctx->priv;
	struct part_file *f;
	struct slice text = { "", 0 }, form = { "", 0 };
	uint64_t key;

	if (pt->exact) {
		if (rec_get_str(r, "text", &text) == 0)
			form = norm_arena(&ctx->scratch, text);
		key = dupkey_exact(&pt->key, r, form);
	} else
		key = dupkey_group(&pt->key, r);
	key = XXH3_64bits_withSeed(&key, sizeof(key), 0x70617274ULL);
	f = &pt->f[key % pt->nparts];

	if (pt->pos) {
		partition_tag(pt, r);
		buf_add(&f->b, pt->rec.p, pt->rec.len);
	} else
		buf_add(&f->b, r->p, r->n);
	if (f->b.len >= pt->bufsz && part_flush(ctx, f) == -1)
		return -1;
	/* STAGE_NO_STDOUT: counted as written, the bytes went to f. */
	return rec_pass(ctx, r);
}

static int
partition_finish(struct stage_ctx *ctx)
{
	struct partition *pt = ctx->priv;
	struct part_file *f;
	uint32_t i;

	for (i = 0; i < pt->nparts; i++) {
		f = &pt->f[i];
		if (part_flush(ctx, f) == -1)
			return -1;
		if (close(f->fd) == -1) {
			f->fd = -1;
			return stage_fail_errno(ctx, "cannot write '%s'",
			    f->tmp);
		}
		f->fd = -1;
	}
	/* Only when every file is complete does any get its name. */
	for (i = 0; i < pt->nparts; i++) {
		f = &pt->f[i];
		if (rename(f->tmp, f->final) == -1)
			return stage_fail_errno(ctx, "cannot rename '%s'",
			    f->tmp);
		free(f->tmp);
		f->tmp = NULL;
	}
	return 0;
}

static void
partition_free(struct stage_ctx *ctx)
{
	struct partition *pt = ctx->priv;
	uint32_t i;

	if (pt == NULL)
		return;
	for (i = 0; pt->f != NULL && i < pt->nparts; i++) {
		if (pt->f[i].fd != -1)
			close(pt->f[i].fd);
		if (pt->f[i].tmp != NULL)
			unlink(pt->f[i].tmp);
		free(pt->f[i].tmp);
		free(pt->f[i].final);
		buf_release(&pt->f[i].b);
	}
	free(pt->f);
	buf_release(&pt->rec);
	dupkey_release(&pt->key);
	free(pt);
}

const struct stage partition_stage = {
	.name = "partition",
	.summary = "route records to P files by dedupe key (map side of "
	    "'revpipe slurm')",
	.opts = partition_opts,
	.init = partition_init,
	.process = partition_process,
	.finish = partition_finish,
	.free = partition_free,
	.flags = STAGE_NO_STDOUT,
};
