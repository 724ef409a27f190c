/*
 * dedupe - drop repeated reviews, flag copy-paste campaigns.
 *
 * Reads: text, buyer, and the --by fields.  Writes: dup and dup_of (with
 * --keep, on duplicates), template (on the kept records of a template
 * cluster: the number of distinct buyers that posted the text).
 * Counts duplicates; rejects: missing_field, wrong_type.
 * Options: --by, --keep, --mode, --threshold, --short, --template-buyers,
 * --template-length, --memory, --tmpdir.
 *
 * Which records are the same.  Every record gets an exact key: xxh3 of the
 * matching form of its text (pipeline/norm.h) and of the other --by fields
 * (raw msgpack bytes; absent is a value of its own).  In near mode it also
 * gets a MinHash signature over character 4-grams of the form and DD_BANDS
 * LSH band keys; two records sharing a band key are near duplicates when
 * their estimated Jaccard similarity is >= --threshold and they share the
 * buyer, or both texts are at least --short characters long (so "great"
 * and "ممتاز" from different buyers stay apart).  Band keys include the
 * --by fields other than text and buyer (the seller), so reviews of
 * different sellers never match.  In exact mode, identical forms of at
 * least --short characters from different buyers are linked the same way.
 * Links form clusters (connected components).
 *
 * What happens to a cluster.  When it holds at least --template-buyers
 * distinct buyers and its first text is at least --template-length
 * characters, it is a template: each buyer's first record is kept and
 * gets `template` = number of distinct buyers, later records of the same
 * buyer are duplicates of that first one.  Otherwise the cluster's first
 * record is kept and the others are duplicates of it (`dup` is `exact`
 * when the exact key equals the kept record's, else `near`).  Records
 * whose text has an empty matching form are never duplicates.
 *
 * How.  Deciding a record may need records that come after it (the third
 * buyer of a template), so process() holds every record: when stdin is a
 * regular file only its offset and length are kept and the file is read
 * again at the end, else its bytes go to a spool (in memory, then a
 * nameless file); its keys go to DD_NPART partitions by key, its buyer,
 * length and signature to a per-record table.  finish() groups each
 * partition by key, links records with a union-find over record numbers,
 * decides every cluster, then re-reads the spool and emits in input order.
 * Output therefore always comes in input order, after the input ends.
 * While partitions and table fit in --memory they stay in memory; past it
 * they spill to nameless temporary files (removed by the kernel at exit,
 * on error, SIGINT or SIGKILL) and finish() loads one partition at a time.
 * The result does not depend on spilling: a key's records always meet in
 * one partition and each key group is handled alone, in record order.
 * What stays in memory regardless is 8 bytes per record (union-find).
 *
 * Threads.  While nothing is spilled, a worker thread makes the matching
 * forms, signatures and keys (dedupe_keys()) of the records the stage's
 * thread hands it through a queue, in record order, so the output is the
 * same as with one thread (REVPIPE_DEDUPE_THREADS=1 keeps one, for
 * comparison).  Before spilling, the worker is drained and ended.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inlined: the fields hashed are a few bytes, where the call costs most. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedupe.h"
#include "norm.h"
#include "stage.h"
#include "dupkey.h"
#include "banned.h"

#define DD_NPART_BITS	7
#define DD_NPART	(1 << DD_NPART_BITS)
#define DD_ENT		12		/* key (8) + record number (4) */
#define DD_MAX_LEADERS	16		/* comparisons per record per band */
#define DD_MAX_BY	16
#define DD_RECPOS	12		/* offset (8) + length (4) */
#define DD_RPBLOCK	8192		/* positions read back at once */
#define DD_MCACHE	(1 << 15)	/* spilled table entries cached (4 MiB) */
#define DD_PCHUNK	(64 << 10)	/* partition chunk bytes */

/* Kind of a key, in its low 2 bits. */
#define DD_KEY_EXACT	1
#define DD_KEY_TEXT	2
#define DD_KEY_BAND	3

/* What a --by field is. */
#define DD_BY_TEXT	0
#define DD_BY_BUYER	1
#define DD_BY_OTHER	2

/* Per-record table entry; the signature follows in near mode. */
struct dd_meta {
	uint32_t	 buyer;		/* hash of buyer, 0 = none */
	uint16_t	 len;		/* code points of the form, capped */
	uint16_t	 flags;
};
#define DD_META_SIG	0x1		/* a signature follows */


/* One record for dedupe_keys(): its number and field hashes; its text
 * waits in the worker's text ring. */
struct dd_job {
	uint32_t	 seq, buyer;
	uint64_t	 seed, group;
	size_t		 toff, tlen, treserved;
};
#define DD_JOBS		4096
#define DD_TRING	(4 << 20)

/* A decided record that is not simply passed on. */
struct dd_out {
	uint32_t	 seq;
	uint32_t	 keeper;	/* == seq: kept */
	uint32_t	 tsize;		/* template: distinct buyers */
	uint32_t	 exact;		/* duplicate of the same exact key */
};

struct dd_part {
	struct dd_vec	 mem;		/* DD_ENT items until spilled */
	struct dd_wfile	 w;		/* fd -1 until spilled */
	uint64_t	 n;
};

struct dedupe {
	/* Options. */
	const char	*by[DD_MAX_BY];
	int		 bykind[DD_MAX_BY];	/* DD_BY_* */
	/*
	 * Keys looked up per record: text, buyer, then the --by fields;
	 * fielduniq[] says which of the nuniq distinct names each one is.
	 */
	const char	*field[DD_MAX_BY + 2];
	size_t		 fieldlen[DD_MAX_BY + 2];
	size_t		 fielduniq[DD_MAX_BY + 2], nuniq;
	uint64_t	 lenmask;	/* bit n: a name of n < 64 bytes */
	size_t		 nby;
	char		*bylist;
	bool		 by_text;
	bool		 keep, near;
	double		 threshold;
	uint32_t	 short_len, tbuyers, tlen;
	uint32_t	 lenmax;	/* max(short_len, tlen) */
	uint64_t	 memory;
	const char	*tmpdir;

	/* Pass 1. */
	uint32_t	 n;		/* records held */
	bool		 infile;	/* stdin is a file: re-read it */
	uint64_t	 inbase;	/* its offset when we started */
	struct dd_vec	 recpos;	/* infile: (offset, length) per record */
	struct dd_wfile	 recposw;	/* fd -1 until spilled */
	char		 rpbuf[DD_RPBLOCK * DD_RECPOS];	/* read back */
	uint32_t	 rpfirst, rpn;
	struct dd_wfile	 spool;		/* not infile: (uint32 length, bytes) */
	struct dd_vec	 meta;
	struct dd_wfile	 metaw;		/* fd -1 until spilled */
	size_t		 msz;
	struct dd_part	 part[DD_NPART];
	struct dd_slab	 slab;		/* chunks of part[].mem */
	struct dd_slab	 rslab;		/* chunks of recpos */
	bool		 spilled;
	uint64_t	 membytes;	/* the in-memory part of pass 1 */
	_Atomic uint64_t wbytes;	/* the same, added by dedupe_keys() */
	struct buf	 formbuf;	/* matching form, stage's thread */

	/* The worker thread and its queue (see dedupe_give()). */
	bool		 threaded;
	pthread_t	 worker;
	pthread_mutex_t	 qlock;
	pthread_cond_t	 qwork, qroom, qidle;
	struct dd_job	*jobs;
	size_t		 jfirst, njobs;
	char		*tring;
	size_t		 thead, tused;
	bool		 qstop, wwaiting, pwaiting, qinit;

	/* finish(). */
	int32_t		*par;		/* union-find: < 0 root of -par */
	uint32_t	*efirst;	/* first record with the same exact key */
	char		*mbuf;		/* a few meta entries */
	char		*mcache;	/* spilled: DD_MCACHE table entries */
	uint32_t	*mtag;		/* their record numbers */
	/* Grouping tables, reused from partition to partition. */
	int32_t		*ghead, *gtail, *gnext;
	uint32_t	*gmulti;	/* slots of groups of two or more */
	uint32_t	*gseq;
	size_t		 gslots, gn, gseqcap;
	char		*lead;
	uint64_t	 templates, tclusters;
};

static const struct opt dedupe_opts[] = {
	{ "by", 0, OPT_LIST, "FIELDS", "text,buyer,seller", 0, 0,
	  "fields that make two records the same (text is compared in its "
	  "matching form)" },
	{ "keep", 'k', OPT_FLAG, NULL, NULL, 0, 0,
	  "keep duplicates, marked with dup and dup_of, instead of dropping" },
	{ "mode", 0, OPT_STR, "MODE", "near", 0, 0,
	  "exact (same matching form) or near (also small edits)" },
	{ "threshold", 't', OPT_FLOAT, "SIM", "0.7", 0.3, 1.0,
	  "near: least estimated Jaccard similarity of character 4-grams" },
	{ "short", 0, OPT_INT, "N", "20", 0, 65535,
	  "texts of fewer characters are never near duplicates across buyers" },
	{ "template-buyers", 0, OPT_INT, "N", "3", 2, 1e9,
	  "distinct buyers that make a cluster a template" },
	{ "template-length", 0, OPT_INT, "N", "30", 0, 65535,
	  "shortest text (characters) that can be a template" },
	{ "memory", 'm', OPT_SIZE, "SIZE", "512M", 1 << 20, 1e15,
	  "memory for held records, keys and tables before spilling to "
	  "temporary files" },
	{ "tmpdir", 0, OPT_STR, "DIR", NULL, 0, 0,
	  "directory for temporary files (default $TMPDIR, then /tmp)" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static void	*dedupe_worker(void *);

static int
dedupe_init(struct stage_ctx *ctx)
{
	struct dedupe *d;
	const char *mode;
	char *f, *save = NULL;
	struct stat st;
	off_t base;
	int i, fd;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	ctx->priv = d;
	dd_wfile_init(&d->spool, -1);
	for (i = 0; i < DD_NPART; i++) {
		/* Small chunks from one slab: 128 partitions grow at once. */
		dd_vec_init_chunk(&d->part[i].mem, DD_ENT, DD_PCHUNK);
		d->part[i].mem.slab = &d->slab;
		dd_wfile_init(&d->part[i].w, -1);
	}
	dd_wfile_init(&d->metaw, -1);
	dd_wfile_init(&d->recposw, -1);
	/* Its own slab: the worker thread fills the partitions'. */
	dd_vec_init(&d->recpos, DD_RECPOS);
	d->recpos.slab = &d->rslab;
	/*
	 * When stdin is a regular file, records are read again from it at
	 * the end instead of being copied to a spool: 12 bytes a record
	 * instead of the record.  init() runs before the driver reads.
	 */
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (base = lseek(STDIN_FILENO, 0, SEEK_CUR)) != -1) {
		d->infile = true;
		d->inbase = (uint64_t)base;
	}

	d->keep = opt_flag(ctx, "keep");
	mode = opt_str(ctx, "mode");
	if (strcmp(mode, "near") == 0)
		d->near = true;
	else if (strcmp(mode, "exact") != 0)
		return stage_usage_error(ctx, "--mode must be exact or near, "
		    "not '%s'", mode);
	d->threshold = opt_float(ctx, "threshold");
	d->short_len = (uint32_t)opt_int(ctx, "short");
	d->tbuyers = (uint32_t)opt_int(ctx, "template-buyers");
	d->tlen = (uint32_t)opt_int(ctx, "template-length");
	d->lenmax = d->short_len > d->tlen ? d->short_len : d->tlen;
	d->memory = (uint64_t)opt_int(ctx, "memory");
	d->tmpdir = opt_str(ctx, "tmpdir");

	if ((d->bylist = strdup(opt_str(ctx, "by"))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	for (f = strtok_r(d->bylist, ",", &save); f != NULL;
	    f = strtok_r(NULL, ",", &save)) {
		if (d->nby == DD_MAX_BY)
			return stage_usage_error(ctx, "--by takes at most %d "
			    "fields", DD_MAX_BY);
		d->bykind[d->nby] = strcmp(f, "text") == 0 ? DD_BY_TEXT :
		    strcmp(f, "buyer") == 0 ? DD_BY_BUYER : DD_BY_OTHER;
		if (d->bykind[d->nby] == DD_BY_TEXT)
			d->by_text = true;
		d->by[d->nby++] = f;
	}
	if (d->nby == 0)
		return stage_usage_error(ctx, "--by needs at least one field");
	for (i = 0; i < (int)d->nby + 2; i++) {
		const char *name = i == 0 ? "text" : i == 1 ? "buyer" :
		    d->by[i - 2];
		size_t k;

		for (k = 0; k < d->nuniq && strcmp(d->field[k], name) != 0;
		    k++)
			;
		if (k == d->nuniq) {
			d->field[k] = name;
			d->fieldlen[k] = strlen(name);
			if (d->fieldlen[k] < 64)
				d->lenmask |= 1ULL << d->fieldlen[k];
			d->nuniq++;
		}
		d->fielduniq[i] = k;
	}

	d->msz = sizeof(struct dd_meta) +
	    (d->near ? DD_KSTORE * sizeof(uint16_t) : 0);
	dd_vec_init_chunk(&d->meta, d->msz, 2 << 20);
	if ((d->mbuf = malloc(d->msz * 2)) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	/* The worker: matching forms, signatures and keys beside the
	 * stage's thread, which reads, looks up fields and holds. */
	buf_init(&d->formbuf);
	if ((d->jobs = malloc(DD_JOBS * sizeof(*d->jobs))) == NULL ||
	    (d->tring = malloc(DD_TRING)) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	pthread_mutex_init(&d->qlock, NULL);
	pthread_cond_init(&d->qwork, NULL);
	pthread_cond_init(&d->qroom, NULL);
	pthread_cond_init(&d->qidle, NULL);
	d->qinit = true;
	if (getenv("REVPIPE_DEDUPE_THREADS") == NULL ||
	    strcmp(getenv("REVPIPE_DEDUPE_THREADS"), "1") != 0)
		d->threaded = pthread_create(&d->worker, NULL, dedupe_worker,
		    d) == 0;
	/* Fail now rather than after an hour when the directory is bad. */
	if ((fd = dd_tmpfile(d->tmpdir)) == -1)
		return stage_fail_errno(ctx, "cannot create a temporary file "
		    "in '%s'", d->tmpdir != NULL ? d->tmpdir :
		    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	close(fd);
	/*
	 * From a pipe the records go to a nameless file as they come: the
	 * page cache takes them without the zeroing and page faults of as
	 * much fresh memory (a fifth of the run time, in the kernel).
	 */
	if (!d->infile) {
		if ((fd = dd_tmpfile(d->tmpdir)) == -1)
			return stage_fail_errno(ctx, "cannot create a "
			    "temporary file");
		dd_wfile_init(&d->spool, fd);
	}
	return 0;
}

/* Append one record to the spool file. */
static int
dedupe_spool(struct stage_ctx *ctx, struct dedupe *d, const struct rec *r)
{
	uint32_t rn = (uint32_t)r->n;

	if (dd_wfile_add(&d->spool, &rn, sizeof(rn)) == -1 ||
	    dd_wfile_add(&d->spool, r->p, r->n) == -1)
		return stage_fail_errno(ctx, "cannot write the spool file");
	return 0;
}

/*
 * The partitions and positions are written out or grouped: free their
 * slab; from now on their chunks (a partition read back) come from malloc.
 */
static void
dedupe_slab_done(struct dedupe *d)
{
	int p;

	for (p = 0; p < DD_NPART; p++) {
		dd_vec_release(&d->part[p].mem);
		d->part[p].mem.slab = NULL;
	}
	dd_slab_release(&d->slab);
}

/* Move the in-memory partitions and table to temporary files. */
static int
dedupe_spill(struct stage_ctx *ctx, struct dedupe *d)
{
	int i, fd;

	stage_warn(ctx, "over --memory %s, spilling to %d temporary "
	    "partitions", opt_str(ctx, "memory"), DD_NPART);
	for (i = 0; i <= DD_NPART; i++) {
		struct dd_vec *v = i < DD_NPART ? &d->part[i].mem : &d->meta;
		struct dd_wfile *w = i < DD_NPART ? &d->part[i].w : &d->metaw;

		if ((fd = dd_tmpfile(d->tmpdir)) == -1)
			return stage_fail_errno(ctx, "cannot create a "
			    "temporary file");
		w->fd = fd;
		if (dd_vec_write(v, fd) == -1)
			return stage_fail_errno(ctx, "cannot write a "
			    "temporary file");
		w->size = (uint64_t)v->n * v->isz;
		dd_vec_release(v);
	}
	if (d->infile) {
		if ((fd = dd_tmpfile(d->tmpdir)) == -1)
			return stage_fail_errno(ctx, "cannot create a "
			    "temporary file");
		d->recposw.fd = fd;
		if (dd_vec_write(&d->recpos, fd) == -1)
			return stage_fail_errno(ctx, "cannot write a "
			    "temporary file");
		dd_vec_release(&d->recpos);
		d->recpos.slab = NULL;
		dd_slab_release(&d->rslab);
	}
	dedupe_slab_done(d);
	d->spilled = true;
	d->membytes = 0;
	atomic_store(&d->wbytes, 0);
	return 0;
}

static inline int
dedupe_add_key(struct stage_ctx *ctx, struct dedupe *d, uint64_t key,
    int kind, uint32_t seq)
{
	struct dd_part *pt;
	char e[DD_ENT];

	key = (key & ~3ULL) | (uint64_t)kind;
	pt = &d->part[key >> (64 - DD_NPART_BITS)];
	pt->n++;
	if (!d->spilled) {
		char *p = dd_vec_push(&pt->mem);

		memcpy(p, &key, 8);
		memcpy(p + 8, &seq, 4);
		return 0;
	}
	memcpy(e, &key, 8);
	memcpy(e + 8, &seq, 4);
	if (dd_wfile_add(&pt->w, e, DD_ENT) == -1)
		return stage_fail_errno(ctx, "cannot write a temporary file");
	return 0;
}

/* Hash of a field's value (its pair, or NULL when absent). */
static uint64_t
dedupe_field(const struct rec_kv *kv, uint64_t i)
{
	if (kv == NULL || (kv->vlen == 1 &&
	    (unsigned char)kv->val[0] == 0xc0))	/* nil */
		return mix64(0x5bd1e995ULL + i);
	return XXH3_64bits_withSeed(kv->val, kv->vlen, i + 1);
}

/*
 * The work on one record that needs only its text and the hashes of its
 * fields: the matching form, the keys and the table entry.  Runs on the
 * worker thread while nothing is spilled (then ctx is only passed through
 * and never used), on the stage's thread after.  Records go through it in
 * record order either way, so the result does not depend on the thread.
 */
static int
dedupe_keys(struct stage_ctx *ctx, struct dedupe *d, const struct dd_job *j,
    struct slice text, struct buf *fb)
{
	struct slice form;
	struct dd_sig sig;
	struct dd_meta *m;
	uint64_t h, exact, th, added = 0;
	uint32_t len, ncp = 0;
	char *mp;
	int b;

	buf_reset(fb);
	if (d->near) {
		/* The form and the signature in one pass over the text. */
		buf_grow(fb, NORM_FORM_ROOM(text.n));
		form.n = dd_sig_text(&sig, text, fb->p);
		form.p = fb->p;
	} else {
		/* The form and its length in code points in one pass. */
		buf_grow(fb, NORM_FORM_ROOM(text.n));
		form.n = dd_form_text(text, fb->p, &ncp);
		form.p = fb->p;
	}
	/* One pass over the form serves the exact and the text key. */
	th = XXH3_64bits(form.p, form.n);
	exact = d->by_text ? mix64(th ^ mix64(j->seed ^
	    0x94d049bb133111ebULL)) : mix64(j->seed ^ 0x2545f4914f6cdd1dULL);

	mp = dd_vec_push(&d->meta);
	m = (struct dd_meta *)mp;
	m->buyer = j->buyer;
	m->flags = 0;
	if (d->near) {
		len = sig.len;
		if (sig.has) {
			m->flags |= DD_META_SIG;
			dd_sig_pack(&sig, (uint16_t *)(mp + sizeof(*m)));
		} else
			memset(mp + sizeof(*m), 0,
			    DD_KSTORE * sizeof(uint16_t));
	} else {
		/* Only compared with --short and --template-length: no
		 * further than the larger (as the count used to stop). */
		len = ncp <= d->lenmax ? ncp : d->lenmax + 1;
	}
	m->len = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
	if (d->spilled) {
		if (dd_wfile_add(&d->metaw, mp, d->msz) == -1)
			return stage_fail_errno(ctx, "cannot write a temporary "
			    "file");
		d->meta.n = 0;		/* one entry, reused */
	} else
		added += d->msz;

	if (form.n > 0 || !d->by_text) {
		if (dedupe_add_key(ctx, d, exact, DD_KEY_EXACT, j->seq) == -1)
			return -1;
		added += DD_ENT;
	}
	if (!d->near && form.n > 0 && len >= d->short_len) {
		h = mix64(th ^ j->group);
		if (dedupe_add_key(ctx, d, h, DD_KEY_TEXT, j->seq) == -1)
			return -1;
		added += DD_ENT;
	}
	if (d->near && (m->flags & DD_META_SIG)) {
		for (b = 0; b < DD_BANDS; b++)
			if (dedupe_add_key(ctx, d, dd_sig_band(&sig, b,
			    j->group), DD_KEY_BAND, j->seq) == -1)
				return -1;
		added += DD_BANDS * DD_ENT;
	}
	if (!d->spilled)
		atomic_fetch_add_explicit(&d->wbytes, added,
		    memory_order_relaxed);
	return 0;
}

/* ---- the worker thread ------------------------------------------------- */

static void *
dedupe_worker(void *arg)
{
	struct dedupe *d = arg;
	struct dd_job *batch = NULL;
	struct buf fb = BUF_INIT;
	size_t n, i, k, freed;

	if ((batch = malloc(DD_JOBS * sizeof(*batch))) == NULL) {
		fputs("revpipe dedupe: out of memory\n", stderr);
		abort();
	}
	pthread_mutex_lock(&d->qlock);
	for (;;) {
		while (d->njobs == 0 && !d->qstop) {
			d->wwaiting = true;
			pthread_cond_broadcast(&d->qidle);
			pthread_cond_wait(&d->qwork, &d->qlock);
			d->wwaiting = false;
		}
		if (d->njobs == 0 && d->qstop)
			break;
		/* Take every waiting job; work on them unlocked. */
		n = d->njobs;
		for (i = 0; i < n; i++)
			batch[i] = d->jobs[(d->jfirst + i) % DD_JOBS];
		pthread_mutex_unlock(&d->qlock);
		freed = 0;
		for (i = 0; i < n; i++) {
			(void)dedupe_keys(NULL, d, &batch[i], (struct slice){
			    d->tring + batch[i].toff, batch[i].tlen }, &fb);
			freed += batch[i].treserved;
		}
		pthread_mutex_lock(&d->qlock);
		k = d->njobs == DD_JOBS || d->tused + 65536 > DD_TRING;
		d->jfirst = (d->jfirst + n) % DD_JOBS;
		d->njobs -= n;
		d->tused -= freed;
		if (k || d->pwaiting)
			pthread_cond_signal(&d->qroom);
	}
	d->wwaiting = true;
	pthread_cond_broadcast(&d->qidle);
	pthread_mutex_unlock(&d->qlock);
	buf_release(&fb);
	free(batch);
	return NULL;
}

/* Wait until the worker has done every job given to it. */
static void
dedupe_drain(struct dedupe *d)
{
	if (!d->threaded)
		return;
	pthread_mutex_lock(&d->qlock);
	while (d->njobs > 0 || !d->wwaiting)
		pthread_cond_wait(&d->qidle, &d->qlock);
	pthread_mutex_unlock(&d->qlock);
}

/* Drain and end the worker: from now on the stage's thread does it all. */
static void
dedupe_stop(struct dedupe *d)
{
	if (!d->threaded)
		return;
	pthread_mutex_lock(&d->qlock);
	d->qstop = true;
	pthread_cond_signal(&d->qwork);
	pthread_mutex_unlock(&d->qlock);
	pthread_join(d->worker, NULL);
	d->threaded = false;
}

/* Give a job and its text to the worker (copied into the text ring). */
static void
dedupe_give(struct dedupe *d, struct dd_job *j, struct slice text)
{
	size_t pos, waste;

	pthread_mutex_lock(&d->qlock);
	for (;;) {
		pos = d->thead;
		waste = pos + text.n > DD_TRING ? DD_TRING - pos : 0;
		if (waste > 0)
			pos = 0;
		if (d->njobs < DD_JOBS &&
		    d->tused + waste + text.n <= DD_TRING)
			break;
		d->pwaiting = true;
		pthread_cond_wait(&d->qroom, &d->qlock);
		d->pwaiting = false;
	}
	memcpy(d->tring + pos, text.p, text.n);
	j->toff = pos;
	j->tlen = text.n;
	j->treserved = waste + text.n;
	d->thead = pos + text.n;
	d->tused += waste + text.n;
	d->jobs[(d->jfirst + d->njobs) % DD_JOBS] = *j;
	d->njobs++;
	if (d->wwaiting)
		pthread_cond_signal(&d->qwork);
	pthread_mutex_unlock(&d->qlock);
}

/* The key k (of the name's length) is the name: bytes compared inline. */
static inline bool
dedupe_name_is(struct slice k, const char *name)
{
	size_t i;

	for (i = 0; i < k.n; i++)
		if (k.p[i] != name[i])
			return false;
	return true;
}

static int	dedupe_take(struct stage_ctx *, struct dedupe *,
		    const struct rec *, const struct rec_kv *const *,
		    struct slice);

static int
dedupe_process(struct stage_ctx *ctx, const struct rec *r)
{
	static const char *type_names[] = { "nil", "boolean", "integer",
	    "integer", "float", "string", "binary", "array", "map",
	    "extension" };
	struct dedupe *d = ctx->priv;
	const struct rec_kv *f[DD_MAX_BY + 2], *u[DD_MAX_BY + 2];
	struct mp_val v;
	const char *vp;
	size_t k, left, nf = d->nby + 2;
	uint32_t x;

	/*
	 * One walk over the record's index for text, buyer and the --by
	 * fields (the first pair with a key counts, as in rec_get()).
	 */
	memset(u, 0, d->nuniq * sizeof(u[0]));
	for (x = 0, left = d->nuniq; x < r->nkeys && left > 0; x++) {
		const struct rec_kv *kv = &r->kv[x];

		if (kv->key.n < 64 && !(d->lenmask >> kv->key.n & 1))
			continue;
		for (k = 0; k < d->nuniq; k++)
			if (u[k] == NULL && kv->key.n == d->fieldlen[k] &&
			    dedupe_name_is(kv->key, d->field[k])) {
				u[k] = kv;
				left--;
				break;
			}
	}
	for (k = 0; k < nf; k++)
		f[k] = u[d->fielduniq[k]];
	/* A text of up to 255 bytes, nearly every one, read in place. */
	if (f[0] != NULL && ((unsigned char)f[0]->val[0] & 0xe0) == 0xa0) {
		v.type = MP_STR;
		v.v.s = (struct slice){ f[0]->val + 1, f[0]->vlen - 1 };
	} else if (f[0] != NULL && (unsigned char)f[0]->val[0] == 0xd9 &&
	    f[0]->vlen >= 2) {
		v.type = MP_STR;
		v.v.s = (struct slice){ f[0]->val + 2, f[0]->vlen - 2 };
	} else if (f[0] == NULL || (vp = f[0]->val, mp_next(&vp, f[0]->val +
	    f[0]->vlen, &v) != MP_OK) || v.type == MP_NIL)
		return stage_reject(ctx, r, "missing_field", "no 'text'");
	if (v.type != MP_STR)
		return stage_reject(ctx, r, "wrong_type", "'text' is %s %s, not "
		    "a string", v.type == MP_INT || v.type == MP_UINT ||
		    v.type == MP_ARRAY ? "an" : "a", type_names[v.type]);
	return dedupe_take(ctx, d, r, f, v.v.s);
}

/*
 * Hold record r, whose text is `text` and whose buyer and --by fields are
 * f[1..] (NULL: absent): its keys go to the worker, its bytes or place to
 * be read again at the end.  Only r's bytes and offset are used.
 */
static int
dedupe_take(struct stage_ctx *ctx, struct dedupe *d, const struct rec *r,
    const struct rec_kv *const *f, struct slice text)
{
	struct slice buyer;
	struct dd_job j;
	uint64_t h;
	size_t i;

	if (d->n == INT32_MAX)
		return stage_fail(ctx, "more than %d records", INT32_MAX);
	memset(&j, 0, sizeof(j));
	j.seq = d->n++;
	for (i = 0; i < d->nby; i++) {
		if (d->bykind[i] == DD_BY_TEXT)
			continue;
		h = dedupe_field(f[i + 2], i);
		j.seed = mix64(j.seed ^ h) + i;
		if (d->bykind[i] == DD_BY_OTHER)
			j.group = mix64(j.group ^ h) + i;
	}
	/* Any value but nil and "" (0xc0, 0xa0) is a buyer. */
	if (f[1] != NULL && (buyer = (struct slice){ f[1]->val, f[1]->vlen },
	    !(buyer.n == 1 && ((unsigned char)buyer.p[0] == 0xc0 ||
	    (unsigned char)buyer.p[0] == 0xa0))))
		j.buyer = (uint32_t)XXH3_64bits(buyer.p, buyer.n) | 1;

	if (d->threaded && text.n > DD_TRING / 4)
		dedupe_drain(d);	/* a huge text: in order, here */
	if (d->threaded && text.n <= DD_TRING / 4)
		dedupe_give(d, &j, text);
	else if (dedupe_keys(ctx, d, &j, text, &d->formbuf) == -1)
		return -1;

	if (d->infile) {
		uint64_t off = d->inbase + r->offset;
		uint32_t rn = (uint32_t)r->n;
		char e[DD_RECPOS];

		memcpy(e, &off, 8);
		memcpy(e + 8, &rn, 4);
		if (!d->spilled) {
			memcpy(dd_vec_push(&d->recpos), e, DD_RECPOS);
			d->membytes += DD_RECPOS;
		} else if (dd_wfile_add(&d->recposw, e, DD_RECPOS) == -1)
			return stage_fail_errno(ctx, "cannot write a "
			    "temporary file");
	} else if (dedupe_spool(ctx, d, r) == -1)
		return -1;
	stage_hold(ctx, r);

	/*
	 * finish() will need 8 bytes per record on top.  The worker's bytes
	 * lag by at most a ring of jobs.
	 */
	if (!d->spilled && d->membytes + atomic_load_explicit(&d->wbytes,
	    memory_order_relaxed) + 8ULL * d->n + (8 << 20) > d->memory) {
		dedupe_stop(d);
		return dedupe_spill(ctx, d);
	}
	return 0;
}

/*
 * The driver's fast path (struct stage .scan): one walk over the record's
 * pairs picks text, buyer and the --by fields without indexing the rest,
 * then dedupe_take() as process() does.  Anything else (a key that is not
 * a fixstr, a text that is not a string of up to 255 bytes, a record it
 * would reject or that is not all there) returns 0 for the driver's path.
 * (size_t)-1: dedupe_take() failed, with its message.
 */
static size_t
dedupe_scan(struct stage_ctx *ctx, const char *p, const char *end,
    uint64_t offset)
{
	struct dedupe *d = ctx->priv;
	const unsigned char *q = (const unsigned char *)p;
	const unsigned char *e = (const unsigned char *)end, *key, *val;
	struct rec_kv kv[DD_MAX_BY + 2];
	const struct rec_kv *u[DD_MAX_BY + 2], *f[DD_MAX_BY + 2];
	const char *cp;
	struct rec r;
	struct slice text;
	size_t kn, len, k, left = d->nuniq, nf = d->nby + 2;
	uint32_t npairs, x;

	if ((*q & 0xf0) == 0x80)
		npairs = *q++ & 0x0f;
	else if (*q == 0xde && e - q >= 3) {
		npairs = (uint32_t)q[1] << 8 | q[2];
		q += 3;
	} else
		return 0;
	memset(u, 0, d->nuniq * sizeof(u[0]));
	for (x = 0; x < npairs; x++) {
		if (q >= e || (*q & 0xe0) != 0xa0)
			return 0;
		kn = *q & 0x1f;
		key = q + 1;
		if ((size_t)(e - key) <= kn)
			return 0;
		val = key + kn;
		if ((len = mp_head_size(val, e)) == 0) {
			cp = (const char *)val;
			if (mp_skip_inside(&cp, end, 1) != MP_OK)
				return 0;
			len = (size_t)((const unsigned char *)cp - val);
		}
		if (left > 0 && (kn >= 64 || (d->lenmask >> kn & 1)))
			for (k = 0; k < d->nuniq; k++)
				if (u[k] == NULL && kn == d->fieldlen[k] &&
				    memcmp(key, d->field[k], kn) == 0) {
					kv[k].key = (struct slice){
					    (const char *)key, kn };
					kv[k].val = (const char *)val;
					kv[k].vlen = len;
					u[k] = &kv[k];
					left--;
					break;
				}
		q = val + len;
	}
	for (k = 0; k < nf; k++)
		f[k] = u[d->fielduniq[k]];
	if (f[0] == NULL)
		return 0;
	val = (const unsigned char *)f[0]->val;
	if ((*val & 0xe0) == 0xa0)
		text = (struct slice){ f[0]->val + 1, f[0]->vlen - 1 };
	else if (*val == 0xd9)
		text = (struct slice){ f[0]->val + 2, f[0]->vlen - 2 };
	else if (*val == 0xda)
		text = (struct slice){ f[0]->val + 3, f[0]->vlen - 3 };
	else
		return 0;
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.n = (size_t)((const char *)q - p);
	r.offset = offset;
	if (dedupe_take(ctx, d, &r, f, text) == -1)
		return (size_t)-1;
	return r.n;
}

/* ---- finish: link ------------------------------------------------------ */

static uint32_t
uf_find(int32_t *par, uint32_t x)
{
	while (par[x] >= 0) {
		if (par[par[x]] >= 0)
			par[x] = par[par[x]];
		x = (uint32_t)par[x];
	}
	return x;
}

static void
uf_union(int32_t *par, uint32_t a, uint32_t b)
{
	uint32_t t;

	a = uf_find(par, a);
	b = uf_find(par, b);
	if (a == b)
		return;
	if (par[a] > par[b]) {		/* a is the smaller set */
		t = a;
		a = b;
		b = t;
	}
	par[a] += par[b];
	par[b] = (int32_t)a;
}

/* The table entry of record `seq` into out (d->msz bytes). */
static int
dedupe_meta(struct stage_ctx *ctx, struct dedupe *d, uint32_t seq, char *out)
{
	size_t slot;

	if (!d->spilled) {
		memcpy(out, dd_vec_at(&d->meta, seq), d->msz);
		return 0;
	}
	/*
	 * Spilled: a record is asked for once per band it shares, so a small
	 * direct-mapped cache saves most of the reads.
	 */
	if (d->mcache == NULL) {
		d->mcache = malloc(DD_MCACHE * d->msz);
		d->mtag = malloc(DD_MCACHE * sizeof(*d->mtag));
		if (d->mcache == NULL || d->mtag == NULL)
			return stage_fail_errno(ctx, "cannot read a temporary "
			    "file");
		memset(d->mtag, 0xff, DD_MCACHE * sizeof(*d->mtag));
	}
	slot = seq & (DD_MCACHE - 1);
	if (d->mtag[slot] != seq) {
		if (dd_pread_all(d->metaw.fd, d->mcache + slot * d->msz,
		    d->msz, (uint64_t)seq * d->msz) == -1)
			return stage_fail_errno(ctx, "cannot read a temporary "
			    "file");
		d->mtag[slot] = seq;
	}
	memcpy(out, d->mcache + slot * d->msz, d->msz);
	return 0;
}

/* Near-duplicate test of two table entries. */
static bool
dedupe_similar(const struct dedupe *d, const char *a, const char *b)
{
	const struct dd_meta *ma = (const struct dd_meta *)a;
	const struct dd_meta *mb = (const struct dd_meta *)b;

	if (!(ma->flags & mb->flags & DD_META_SIG))
		return false;
	if (!(ma->buyer != 0 && ma->buyer == mb->buyer) &&
	    (ma->len < d->short_len || mb->len < d->short_len))
		return false;
	return dd_sig_sim((const uint16_t *)(a + sizeof(*ma)),
	    (const uint16_t *)(b + sizeof(*mb))) >= d->threshold;
}

/*
 * A band group: records in order; each is compared with the group's first
 * unmatched records ("leaders") and linked to the first that is similar.
 */
static int
dedupe_band_group(struct stage_ctx *ctx, struct dedupe *d,
    const uint32_t *seqs, size_t n, char *lead)
{
	size_t i, l, nl = 0;
	uint32_t lseq[DD_MAX_LEADERS];
	char *cur = d->mbuf;
	bool linked;

	for (i = 0; i < n; i++) {
		if (dedupe_meta(ctx, d, seqs[i], cur) == -1)
			return -1;
		linked = false;
		for (l = 0; l < nl && !linked; l++) {
			if (uf_find(d->par, lseq[l]) == uf_find(d->par, seqs[i]) ||
			    dedupe_similar(d, lead + l * d->msz, cur)) {
				uf_union(d->par, lseq[l], seqs[i]);
				linked = true;
			}
		}
		if (!linked && nl < DD_MAX_LEADERS) {
			memcpy(lead + nl * d->msz, cur, d->msz);
			lseq[nl++] = seqs[i];
		}
	}
	return 0;
}

/* Bring partition p into memory (pt->mem) when it was spilled. */
static int
dedupe_load(struct stage_ctx *ctx, struct dedupe *d, int p)
{
	struct dd_part *pt = &d->part[p];

	if (!d->spilled)
		return 0;
	if (dd_wfile_flush(&pt->w) == -1 ||
	    dd_vec_read(&pt->mem, pt->w.fd, pt->n) == -1)
		return stage_fail_errno(ctx, "cannot read a temporary file");
	dd_wfile_release(&pt->w);
	return 0;
}

static int	dd_u32_cmp(const void *, const void *);

/* Group partition p by key and link the records of each group. */
static int
dedupe_partition(struct stage_ctx *ctx, struct dedupe *d, int p)
{
	struct dd_vec *e = &d->part[p].mem;
	char *lead;
	size_t n, i, cap, mask, s, gn, gcap, nmulti, m;
	int32_t *head, *tail, *next;
	uint32_t *g, seq, s0;
	uint64_t key, k2;
	int j, ret = -1;

	if (dedupe_load(ctx, d, p) == -1)
		return -1;
	if ((n = e->n) < 2) {
		dd_vec_release(e);
		return 0;
	}
	for (cap = 16; cap < 2 * n; cap *= 2)
		;
	mask = cap - 1;
	/* Reused: fresh tables per partition cost a page fault per 4 KiB. */
	if (cap > d->gslots) {
		free(d->ghead);
		free(d->gtail);
		d->ghead = malloc(cap * sizeof(*d->ghead));
		d->gtail = malloc(cap * sizeof(*d->gtail));
		d->gslots = d->ghead != NULL && d->gtail != NULL ? cap : 0;
	}
	if (n > d->gn) {
		free(d->gnext);
		free(d->gmulti);
		d->gnext = malloc(n * sizeof(*d->gnext));
		d->gmulti = malloc(n * sizeof(*d->gmulti));
		d->gn = d->gnext != NULL && d->gmulti != NULL ? n : 0;
	}
	if (d->lead == NULL)
		d->lead = malloc(DD_MAX_LEADERS * d->msz);
	if (d->gslots == 0 || d->gn == 0 || d->lead == NULL) {
		stage_fail_errno(ctx, "cannot group a partition");
		dd_vec_release(e);
		return -1;
	}
	head = d->ghead;
	tail = d->gtail;
	next = d->gnext;
	lead = d->lead;
	g = d->gseq;
	gcap = d->gseqcap;
	memset(head, 0xff, cap * sizeof(*head));
	nmulti = 0;
	for (i = 0; i < n; i++) {
		memcpy(&key, dd_vec_at(e, i), 8);
		next[i] = -1;
		for (s = (key >> 2) & mask;; s = (s + 1) & mask) {
			if (head[s] == -1) {
				head[s] = tail[s] = (int32_t)i;
				break;
			}
			memcpy(&k2, dd_vec_at(e, (size_t)head[s]), 8);
			if (k2 == key) {
				/* A second member: the group is worth a look. */
				if (tail[s] == head[s])
					d->gmulti[nmulti++] = (uint32_t)s;
				next[tail[s]] = (int32_t)i;
				tail[s] = (int32_t)i;
				break;
			}
		}
	}
	/*
	 * The groups of two or more in slot order, as a scan of every slot
	 * would meet them: the order in which band groups link records
	 * decides which become leaders.
	 */
	if (nmulti > 1)
		qsort(d->gmulti, nmulti, sizeof(*d->gmulti), dd_u32_cmp);
	for (m = 0; m < nmulti; m++) {
		s = d->gmulti[m];
		gn = 0;
		for (j = head[s]; j != -1; j = next[j]) {
			if (gn == gcap) {
				size_t nc = gcap ? gcap * 2 : 64;
				uint32_t *ng = realloc(g, nc * sizeof(*g));

				if (ng == NULL) {
					stage_fail_errno(ctx, "cannot group "
					    "a partition");
					goto out;
				}
				g = d->gseq = ng;
				gcap = d->gseqcap = nc;
			}
			memcpy(&seq, (char *)dd_vec_at(e, (size_t)j) + 8, 4);
			g[gn++] = seq;
		}
		memcpy(&key, dd_vec_at(e, (size_t)head[s]), 8);
		s0 = g[0];
		switch (key & 3) {
		case DD_KEY_EXACT:
			for (i = 1; i < gn; i++) {
				uf_union(d->par, s0, g[i]);
				d->efirst[g[i]] = s0;
			}
			break;
		case DD_KEY_TEXT:
			for (i = 1; i < gn; i++)
				uf_union(d->par, s0, g[i]);
			break;
		case DD_KEY_BAND:
			if (dedupe_band_group(ctx, d, g, gn, lead) == -1)
				goto out;
			break;
		}
	}
	ret = 0;
out:
	dd_vec_release(e);
	return ret;
}

/* ---- finish: decide ---------------------------------------------------- */

struct dd_member {
	uint32_t	 root, buyer, seq, len;
};

static int
dd_member_cmp(const void *a, const void *b)
{
	const struct dd_member *x = a, *y = b;

	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	if (x->buyer != y->buyer)
		return x->buyer < y->buyer ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* dd_radix16() moves both as 16-byte items keyed by their first field. */
_Static_assert(sizeof(struct dd_member) == 16 && sizeof(struct dd_out) == 16,
    "dd_member and dd_out are 16-byte items");

static int
dd_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sort the n 16-byte items at v (struct dd_member, struct dd_out) by the
 * uint32_t that leads each, keeping the order of equal keys: LSD radix,
 * a byte a pass, passes where every key has the same byte skipped (the
 * keys are record numbers).  tmp has room for n items.  Returns where
 * the sorted items are, v or tmp.
 */
static void *
dd_radix16(void *v, void *tmp, size_t n)
{
	unsigned char *src = v, *dst = tmp, *t;
	size_t cnt[4][256], pos[256], i, sum, c;
	uint32_t key;
	int b;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++) {
		memcpy(&key, src + 16 * i, 4);
		cnt[0][key & 0xff]++;
		cnt[1][key >> 8 & 0xff]++;
		cnt[2][key >> 16 & 0xff]++;
		cnt[3][key >> 24]++;
	}
	for (b = 0; b < 4; b++) {
		for (c = sum = 0; c < 256; c++) {
			if (cnt[b][c] == n)
				break;
			pos[c] = sum;
			sum += cnt[b][c];
		}
		if (c < 256)
			continue;
		for (i = 0; i < n; i++) {
			memcpy(&key, src + 16 * i, 4);
			memcpy(dst + 16 * pos[key >> (8 * b) & 0xff]++,
			    src + 16 * i, 16);
		}
		t = src;
		src = dst;
		dst = t;
	}
	return src;
}

/*
 * The members of one cluster (same root, record order) by buyer, then
 * record: insertion keeps record order among a buyer's records.
 */
static void
dd_sort_buyers(struct dd_member *m, size_t n)
{
	struct dd_member x;
	size_t i, j;

	if (n > 32) {
		qsort(m, n, sizeof(*m), dd_member_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		x = m[i];
		for (j = i; j > 0 && m[j - 1].buyer > x.buyer; j--)
			m[j] = m[j - 1];
		m[j] = x;
	}
}

/*
 * Decide every record of a cluster of two or more: the outcomes, sorted
 * by record number, into *outp (*noutp entries).
 */
static int
dedupe_decide(struct stage_ctx *ctx, struct dedupe *d, struct dd_out **outp,
    size_t *noutp)
{
	struct dd_member *mem = NULL, *tmp = NULL;
	struct dd_out *out = NULL;
	struct dd_meta m;
	void *sorted;
	size_t nm = 0, cm = 0, i, j, k, b, nout = 0;
	uint32_t seq, root, keeper, nb, klen;
	bool tmpl;

	for (seq = 0; seq < d->n; seq++) {
		root = uf_find(d->par, seq);
		if (d->par[root] == -1)
			continue;
		if (nm == cm) {
			size_t nc = cm ? cm * 2 : 1024;
			struct dd_member *nmem = realloc(mem, nc * sizeof(*mem));

			if (nmem == NULL)
				goto oom;
			mem = nmem;
			cm = nc;
		}
		if (dedupe_meta(ctx, d, seq, d->mbuf) == -1)
			goto fail;
		memcpy(&m, d->mbuf, sizeof(m));
		mem[nm].root = root;
		mem[nm].buyer = m.buyer;
		mem[nm].seq = seq;
		mem[nm].len = m.len;
		nm++;
	}
	/*
	 * By root, then buyer, then record (dd_member_cmp): members come
	 * in record order, so a stable sort by root and one by buyer within
	 * each cluster give it without comparing every pair.
	 */
	if ((out = malloc((nm + 1) * sizeof(*out))) == NULL ||
	    (tmp = malloc((nm + 1) * sizeof(*tmp))) == NULL)
		goto oom;
	if ((sorted = dd_radix16(mem, tmp, nm)) != mem) {
		memcpy(mem, sorted, nm * sizeof(*mem));
	}
	for (i = 0; i < nm; i = j) {
		for (j = i + 1; j < nm && mem[j].root == mem[i].root; j++)
			;
		dd_sort_buyers(mem + i, j - i);
	}
	for (i = 0; i < nm; i = j) {
		keeper = mem[i].seq;
		klen = mem[i].len;
		nb = 0;
		for (j = i; j < nm && mem[j].root == mem[i].root; j++) {
			if (mem[j].seq < keeper) {
				keeper = mem[j].seq;
				klen = mem[j].len;
			}
			if (mem[j].buyer != 0 && (j == i ||
			    mem[j].buyer != mem[j - 1].buyer))
				nb++;
		}
		tmpl = nb >= d->tbuyers && klen >= d->tlen;
		if (tmpl) {
			d->tclusters++;
			for (b = i; b < j; b = k) {
				/* Sorted by buyer, then record: b keeps. */
				for (k = b; k < j && mem[k].buyer ==
				    mem[b].buyer; k++) {
					out[nout].seq = mem[k].seq;
					out[nout].keeper = mem[b].seq;
					out[nout].tsize = nb;
					out[nout].exact = d->efirst[mem[k].seq] ==
					    mem[b].seq;
					nout++;
				}
				d->templates++;
			}
			continue;
		}
		for (k = i; k < j; k++) {
			if (mem[k].seq == keeper)
				continue;
			out[nout].seq = mem[k].seq;
			out[nout].keeper = keeper;
			out[nout].tsize = 0;
			out[nout].exact = d->efirst[mem[k].seq] == keeper;
			nout++;
		}
	}
	free(mem);
	/* Record numbers are unique: any sort by them is this one. */
	if ((sorted = dd_radix16(out, tmp, nout)) != out)
		memcpy(out, sorted, nout * sizeof(*out));
	free(tmp);
	*outp = out;
	*noutp = nout;
	return 0;
oom:
	stage_fail_errno(ctx, "cannot decide clusters");
fail:
	free(mem);
	free(out);
	free(tmp);
	return -1;
}

/* ---- finish: emit ------------------------------------------------------ */

struct dd_ids {
	uint32_t	*seq;		/* sorted keepers */
	uint32_t	*off, *len;	/* their ids in pool; len UINT32_MAX: none */
	size_t		 n;
	struct buf	 pool;
};

/*
 * Record `seq` read again from the input file: a window [*woff, *woff +
 * *have) of it is kept in *bufp.  Returns the record and sets *rn, or NULL
 * with a message.
 */
static const char *
dedupe_reread(struct stage_ctx *ctx, struct dedupe *d, uint32_t seq,
    uint32_t *rn, char **bufp, size_t *cap, uint64_t *woff, size_t *have)
{
	char e[DD_RECPOS], *nb;
	uint64_t off;
	ssize_t got;

	if (!d->spilled)
		memcpy(e, dd_vec_at(&d->recpos, seq), DD_RECPOS);
	else {
		/* Records come in order: read their positions in blocks. */
		if (seq < d->rpfirst || seq >= d->rpfirst + d->rpn) {
			d->rpfirst = seq;
			d->rpn = d->n - seq < DD_RPBLOCK ? d->n - seq :
			    DD_RPBLOCK;
			if (dd_pread_all(d->recposw.fd, d->rpbuf,
			    (size_t)d->rpn * DD_RECPOS,
			    (uint64_t)seq * DD_RECPOS) == -1) {
				stage_fail_errno(ctx, "cannot read a "
				    "temporary file");
				return NULL;
			}
		}
		memcpy(e, d->rpbuf + (size_t)(seq - d->rpfirst) * DD_RECPOS,
		    DD_RECPOS);
	}
	memcpy(&off, e, 8);
	memcpy(rn, e + 8, 4);
	if (off < *woff || off > *woff + *have) {
		*woff = off;
		*have = 0;
	}
	if (off + *rn > *woff + *have && off > *woff) {
		/* Keep the record's start, drop what is before it. */
		memmove(*bufp, *bufp + (off - *woff), *have - (off - *woff));
		*have -= off - *woff;
		*woff = off;
	}
	if (*rn > *cap) {
		if ((nb = realloc(*bufp, *rn)) == NULL) {
			stage_fail_errno(ctx, "cannot emit");
			return NULL;
		}
		*bufp = nb;
		*cap = *rn;
	}
	while (off + *rn > *woff + *have) {
		got = pread(STDIN_FILENO, *bufp + *have, *cap - *have,
		    (off_t)(*woff + *have));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EIO;
			stage_fail_errno(ctx, "cannot read the input again "
			    "(did it change?)");
			return NULL;
		}
		*have += (size_t)got;
	}
	return *bufp + (off - *woff);
}

static int
dedupe_emit(struct stage_ctx *ctx, struct dedupe *d, const struct dd_out *out,
    size_t nout)
{
	struct dd_ids ids;
	struct rec r;
	struct rec_out *o;
	struct slice id;
	char *buf = NULL;
	size_t cap = 1 << 20, have = 0, pos = 0, oc = 0, ic = 0, used, i, k;
	const char *rp;
	uint32_t *f;
	uint64_t off = 0;
	uint32_t seq, rn = 0;
	ssize_t got;
	int ret = -1;

	memset(&ids, 0, sizeof(ids));
	memset(&r, 0, sizeof(r));
	buf_init(&ids.pool);
	if (d->keep && nout > 0) {
		if ((ids.seq = malloc(nout * sizeof(uint32_t))) == NULL ||
		    (ids.off = malloc(nout * sizeof(uint32_t))) == NULL ||
		    (ids.len = malloc(nout * sizeof(uint32_t))) == NULL) {
			stage_fail_errno(ctx, "cannot emit");
			goto out;
		}
		for (i = 0; i < nout; i++)
			if (out[i].keeper != out[i].seq)
				ids.seq[ids.n++] = out[i].keeper;
		if (ids.n > 0)
			qsort(ids.seq, ids.n, sizeof(uint32_t), dd_u32_cmp);
		for (i = k = 0; i < ids.n; i++)
			if (k == 0 || ids.seq[i] != ids.seq[k - 1])
				ids.seq[k++] = ids.seq[i];
		ids.n = k;
		for (i = 0; i < ids.n; i++)
			ids.len[i] = UINT32_MAX;
	}
	if (d->spool.fd != -1 && dd_wfile_flush(&d->spool) == -1) {
		stage_fail_errno(ctx, "cannot write the spool file");
		goto out;
	}
	if ((buf = malloc(cap)) == NULL) {
		stage_fail_errno(ctx, "cannot emit");
		goto out;
	}
	if (d->infile && d->spilled && dd_wfile_flush(&d->recposw) == -1) {
		stage_fail_errno(ctx, "cannot write a temporary file");
		goto out;
	}
	for (seq = 0; seq < d->n; seq++) {
		if (d->infile) {
			if ((rp = dedupe_reread(ctx, d, seq, &rn, &buf, &cap,
			    &off, &have)) == NULL)
				goto out;
		} else {
			/* Make the next length and record contiguous in buf. */
			for (;;) {
				if (have - pos >= sizeof(rn)) {
					memcpy(&rn, buf + pos, sizeof(rn));
					if (have - pos >= sizeof(rn) + rn)
						break;
				}
				if (pos > 0) {
					memmove(buf, buf + pos, have - pos);
					have -= pos;
					pos = 0;
				}
				if (have >= sizeof(rn) && sizeof(rn) + rn > cap) {
					char *nb = realloc(buf, sizeof(rn) + rn);

					if (nb == NULL) {
						stage_fail_errno(ctx,
						    "cannot emit");
						goto out;
					}
					buf = nb;
					cap = sizeof(rn) + rn;
				}
				got = pread(d->spool.fd, buf + have,
				    cap - have, (off_t)off);
				if (got == -1 && errno == EINTR)
					continue;
				if (got <= 0) {
					if (got == 0)
						errno = EIO;
					stage_fail_errno(ctx, "cannot read "
					    "the spool file");
					goto out;
				}
				have += (size_t)got;
				off += (uint64_t)got;
			}
			rp = buf + pos + sizeof(rn);
			pos += sizeof(rn) + rn;
		}
		stage_unhold(ctx);
		f = ic < ids.n && ids.seq[ic] == seq ? &ids.seq[ic++] : NULL;
		if (f == NULL && (oc >= nout || out[oc].seq != seq)) {
			/* Passed on as it came: no need to index it. */
			r.p = rp;
			r.n = rn;
			if (rec_pass(ctx, &r) == -1)
				goto out;
			continue;
		}
		if (rec_parse(&r, rp, rn, &used) != MP_OK) {
			stage_fail(ctx, "spool record %u is corrupt", seq);
			goto out;
		}

		if (f != NULL) {
			if (rec_get_str(&r, "id", &id) == 0) {
				k = (size_t)(f - ids.seq);
				ids.off[k] = (uint32_t)ids.pool.len;
				ids.len[k] = (uint32_t)id.n;
				buf_add(&ids.pool, id.p, id.n);
			}
		}
		if (oc < nout && out[oc].seq == seq) {
			const struct dd_out *u = &out[oc++];

			if (u->keeper == seq) {
				o = rec_out_begin(ctx, &r);
				rec_out_int(o, "template", u->tsize);
				if (rec_out_end(o) == -1)
					goto out;
				continue;
			}
			if (!d->keep) {
				stage_duplicate(ctx, &r);
				continue;
			}
			o = rec_out_begin(ctx, &r);
			rec_out_str(o, "dup", u->exact ? "exact" : "near");
			if (u->tsize > 0)
				rec_out_int(o, "template", u->tsize);
			f = bsearch(&u->keeper, ids.seq, ids.n,
			    sizeof(uint32_t), dd_u32_cmp);
			k = f != NULL ? (size_t)(f - ids.seq) : 0;
			if (f != NULL && ids.len[k] != UINT32_MAX)
				rec_out_strn(o, "dup_of", ids.pool.p +
				    ids.off[k], ids.len[k]);
			else
				rec_out_nil(o, "dup_of");
			if (rec_out_end(o) == -1)
				goto out;
			continue;
		}
		if (rec_pass(ctx, &r) == -1)
			goto out;
	}
	ret = 0;
out:
	free(buf);
	rec_release(&r);
	free(ids.seq);
	free(ids.off);
	free(ids.len);
	buf_release(&ids.pool);
	return ret;
}

static int
dedupe_finish(struct stage_ctx *ctx)
{
	struct dedupe *d = ctx->priv;
	struct dd_out *out = NULL;
	size_t nout = 0;
	uint32_t i;
	int p;

	dedupe_stop(d);

	if (d->spilled) {
		for (p = 0; p < DD_NPART; p++)
			if (dd_wfile_flush(&d->part[p].w) == -1)
				return stage_fail_errno(ctx, "cannot write a "
				    "temporary file");
		if (dd_wfile_flush(&d->metaw) == -1)
			return stage_fail_errno(ctx, "cannot write a "
			    "temporary file");
	}
	if ((d->par = malloc(((size_t)d->n + 1) * sizeof(*d->par))) == NULL ||
	    (d->efirst = malloc(((size_t)d->n + 1) *
	    sizeof(*d->efirst))) == NULL)
		return stage_fail_errno(ctx, "cannot hold %u records", d->n);
	for (i = 0; i < d->n; i++) {
		d->par[i] = -1;
		d->efirst[i] = i;
	}
	for (p = 0; p < DD_NPART; p++)
		if (dedupe_partition(ctx, d, p) == -1)
			return -1;
	dedupe_slab_done(d);
	if (dedupe_decide(ctx, d, &out, &nout) == -1)
		return -1;
	free(d->efirst);
	d->efirst = NULL;
	if (dedupe_emit(ctx, d, out, nout) == -1) {
		free(out);
		return -1;
	}
	free(out);
	if (d->templates > 0) {
		stage_count(ctx, "templates", d->templates);
		stage_count(ctx, "template_clusters", d->tclusters);
	}
	return 0;
}

static void
dedupe_free(struct stage_ctx *ctx)
{
	struct dedupe *d = ctx->priv;
	int p;

	if (d == NULL)
		return;
	dedupe_stop(d);
	if (d->qinit) {
		pthread_mutex_destroy(&d->qlock);
		pthread_cond_destroy(&d->qwork);
		pthread_cond_destroy(&d->qroom);
		pthread_cond_destroy(&d->qidle);
	}
	free(d->jobs);
	free(d->tring);
	buf_release(&d->formbuf);
	for (p = 0; p < DD_NPART; p++) {
		dd_vec_release(&d->part[p].mem);
		dd_wfile_release(&d->part[p].w);
	}
	dd_slab_release(&d->slab);
	dd_vec_release(&d->meta);
	dd_wfile_release(&d->metaw);
	dd_wfile_release(&d->spool);
	dd_vec_release(&d->recpos);
	dd_slab_release(&d->rslab);
	dd_wfile_release(&d->recposw);
	free(d->par);
	free(d->efirst);
	free(d->mbuf);
	free(d->mcache);
	free(d->mtag);
	free(d->ghead);
	free(d->gtail);
	free(d->gnext);
	free(d->gmulti);
	free(d->gseq);
	free(d->lead);
	free(d->bylist);
	free(d);
	ctx->priv = NULL;
}

const struct stage dedupe_stage = {
	.name = "dedupe",
	.summary = "drop exact and near-duplicate reviews, mark templates",
	.opts = dedupe_opts,
	.init = dedupe_init,
	.process = dedupe_process,
	.scan = dedupe_scan,
	.finish = dedupe_finish,
	.free = dedupe_free,
	.flags = STAGE_FINISH_ON_CUT,
};
