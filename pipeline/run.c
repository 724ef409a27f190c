/*
 * run - run the chain as processes: pipes, workers, outputs, manifest.
 *
 * See run.h for the behaviour.  One process, one poll(2) loop: it reads
 * the head of the chain (decode | dedupe), deals chunks of --chunk records
 * round-robin to the --jobs worker sub-chains (langid | classify | reply),
 * reads their outputs, puts records back in input order, and writes
 * reviews.msgpack, replies.csv and the stats input.  Every pipe end this
 * process holds is non-blocking, and it stops reading while an output
 * queue is over RUN_HIGH_WATER, so memory stays bounded and no stage can
 * wait on another in a cycle.  What goes out (to workers, to
 * reviews.msgpack and stats) sits in block queues (struct run_q), which
 * never move queued bytes; reviews.msgpack and stats read the same queue,
 * so a final record is copied once.  With one chain (--jobs 1) the
 * records read are final: stats gets them by tee(2) before they are read
 * and reviews.msgpack straight from the read buffer (head_in()).  Input
 * buffers drained from the front
 * are compacted once the drained part is as long as the rest (a buffer
 * that never empties would otherwise only grow: found at 1M reviews,
 * 1.5 GB).
 *
 * Reordering: record s (0-based) goes to worker (s / chunk) % jobs with
 * the key _rp_seq = s put first.  The stages keep input keys in order, so
 * the tag is still first in the worker's output and removing it is a new
 * map header in front of the record's own bytes (run_untag()); records
 * are framed by fast_skip(), a msgpack skipper for the common shapes that
 * hands anything unusual to mp_skip() and rec_parse().  Each worker keeps
 * order, so the merger waits for the owner of the next sequence number: a
 * record with that number is emitted (tag removed), a higher number means
 * the expected one was rejected by a worker stage and is skipped.
 *
 * Counts come from the stages' --counts lines (pipeline/stage.c), one per
 * process, summed per stage for the manifest and the accounting check.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <xxhash.h>

#include "run.h"
#include "stage.h"
#include "stages.gen.h"
#include "fdio.h"
#include "banned.h"

#define RUN_HIGH_WATER	(4u << 20)
#define RUN_READ	(1024u << 10)
#define RUN_PIPE_SIZE	(1024 * 1024)
#define RUN_MAX_STAGES	16
#define RUN_MAX_JOBS	64

static const struct opt run_opts[] = {
	{ "output", 'o', OPT_STR, "DIR", "out", 0, 0,
	  "write the outputs into DIR (created if missing)" },
	{ "jobs", 'j', OPT_INT, "N", "0", 0, RUN_MAX_JOBS,
	  "worker sub-chains for the parallel stages (0: one per core)" },
	{ "force", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "process inputs already listed in OUTDIR/manifest.json, and start "
	  "the outputs over" },
	{ "chain", 0, OPT_STR, "LIST", "decode,dedupe,langid,classify,reply,"
	  "stats", 0, 0, "the stages, in order (the first reads the inputs; "
	  "stats, if present, last)" },
	{ "parallel", 0, OPT_STR, "LIST", "langid,classify,reply", 0, 0,
	  "per-record stages that may run as --jobs workers" },
	{ "chunk", 0, OPT_INT, "N", "256", 1, 1000000,
	  "records dealt to a worker at a time" },
	{ "now", 0, OPT_STR, "TIME", NULL, 0, 0,
	  "passed to stats --now (default: the latest created_at)" },
	{ "progress", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "show the progress line even when stderr is not a terminal" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static const struct stage *const run_stage_table[] = {
	STAGE_TABLE
	NULL
};

struct child {
	pid_t		 pid;
	char		 name[32];
	int		 worker;	/* -1: not a worker */
	size_t		 pos;		/* place in the chain, stats last */
	int		 status;	/* wait status */
	bool		 done;
	double		 user_s, sys_s;
	long		 maxrss_kb;
};

struct worker {
	int		 in_fd, out_fd;
	struct run_q	 wq;		/* tagged records not yet written */
	struct buf	 q;		/* output read, not yet merged */
	size_t		 qpos;
	bool		 eof;
};

struct input {
	char		*path;
	uint64_t	 size;
	uint64_t	 xxh3;
	bool		 skip;
	bool		 hashed;	/* else the hasher thread does it */
};

/* The inputs no earlier run can have had, hashed beside the chain. */
struct hasher {
	pthread_t	 tid;
	bool		 started;
	struct input	*in;
	size_t		 nin;
	char		*blk;
	XXH3_state_t	*st;
	int		 err;		/* errno of the first failure */
	const char	*bad;		/* the input it failed on */
	atomic_bool	 stop;		/* the run failed: give up */
};

struct counts {
	char		 name[32];
	unsigned	 procs;
	uint64_t	 read, written, dups, rejects, agg;
};

struct run {
	struct stage_ctx *ctx;
	const char	*outdir;
	char		 tmpdir[PATH_MAX / 2];
	char		*chain[RUN_MAX_STAGES];
	char		*chain_buf;
	size_t		 nchain, npar, nhead;	/* head stages, then npar */
	bool		 has_stats;
	bool		 has_reply;	/* else replies.csv is its header */
	int		 jobs;
	size_t		 chunk;
	bool		 cumulative;	/* add to the earlier outputs */

	struct input	*in;
	size_t		 nin, nrun;
	uint64_t	 total_bytes;
	struct hasher	 hasher;

	struct child	 kids[RUN_MAX_STAGES * RUN_MAX_JOBS + 4];
	size_t		 nkids;
	pid_t		 decode_pid;
	int		 first_fail;	/* index into kids, or -1 */

	int		 h_fd;		/* output of the head of the chain */
	struct buf	 hbuf;
	size_t		 hpos;
	bool		 h_eof;
	struct worker	*w;
	uint64_t	 assigned, next;

	int		 s_fd;		/* stats input */
	bool		 tee;		/* one chain: stats gets tee(2) */
	bool		 tee_wait;	/* tee(2) waits for room in stats */
	size_t		 teed;		/* tee'd bytes still to read */
	struct run_q	 out;		/* final records: reviews, stats */
	struct buf	 csv;		/* buffered replies.csv */
	int		 reviews_fd, csv_fd;
	struct fdio_behind reviews_wb, csv_wb;	/* drop-behind of both */
	uint64_t	 nout;

	struct rec	 rec;
	struct buf	 tmp;
	double		 t0, last_progress;
	double		 t_out;		/* the last look before records came out */
	uint64_t	 expected;	/* records the chain will write, or 0 */
	bool		 exact;		/* expected is the count, not a bound */
	unsigned long long rchar;	/* decode's bytes read, last seen */
	bool		 progress;
};

static volatile sig_atomic_t run_signal;

static void
run_on_signal(int sig)
{
	run_signal = sig;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- small helpers ------------------------------------------------------- */

/* Append the file `path` to fd (a missing file is empty). */
static int
append_file(int fd, const char *path)
{
	char tmp[1 << 16];
	ssize_t n;
	int in;

	if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	while ((n = read(in, tmp, sizeof(tmp))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			close(in);
			return -1;
		}
		if (fdio_write_all(fd, tmp, (size_t)n) == -1) {
			close(in);
			return -1;
		}
	}
	close(in);
	return 0;
}

/* Paths too long for PATH_MAX become "" and fail at open(2). */
static void
tmp_path(const struct run *r, char *out, size_t n, const char *name)
{
	if ((size_t)snprintf(out, n, "%s/%s", r->tmpdir, name) >= n)
		out[0] = '\0';
}

static void
out_path(const struct run *r, char *out, size_t n, const char *name)
{
	if ((size_t)snprintf(out, n, "%s/%s", r->outdir, name) >= n)
		out[0] = '\0';
}

/* Remove the flat folder `dir` and the files in it. */
static void
remove_dir(const char *dir)
{
	char p[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * Remove the temporary folders of earlier runs that died without cleaning
 * up (SIGKILL, power loss): .revpipe-run.PID where PID no longer runs.
 */
static void
remove_stale(struct run *r)
{
	char old[PATH_MAX];
	struct dirent *de;
	char *end;
	long pid;
	DIR *d;

	if ((d = opendir(r->outdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".revpipe-run.", 13) != 0)
			continue;
		pid = strtol(de->d_name + 13, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((size_t)snprintf(old, sizeof(old), "%s/%s", r->outdir,
		    de->d_name) < sizeof(old))
			remove_dir(old);
	}
	closedir(d);
}

static const struct stage *
find_stage(const char *name)
{
	const struct stage *const *st;

	for (st = run_stage_table; *st != NULL; st++)
		if (strcmp((*st)->name, name) == 0)
			return *st;
	return NULL;
}

static bool
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

/* ---- fast framing -------------------------------------------------------- */

/*
 * Skip `todo` msgpack values at *pp without mp_next()'s decoding: the
 * records run sees are maps of strings, numbers, nil, booleans and short
 * arrays and maps.  Returns false, leaving *pp alone, for anything else
 * (ext types, 0xc1, more than RUN_FAST_NEST containers, or input that
 * ends early); the caller then uses mp_skip() or rec_parse(), which give
 * the answer, so this never decides a record is bad or short.  A value
 * with at most RUN_FAST_NEST containers nests at most that deep, within
 * what mp_skip() and rec_parse() accept, so both would take the same
 * bytes.
 */
#define RUN_FAST_NEST	24

static bool
fast_skip(const unsigned char **pp, const unsigned char *end, uint64_t todo)
{
	const unsigned char *p = *pp;
	unsigned nest = 0;
	uint64_t len, more;
	unsigned c;

	for (; todo > 0; todo--) {
		if (p == end)
			return false;
		c = *p;
		/* Scalars and strings up to str16: most values are. */
		if ((len = mp_head_size(p, end)) != 0) {
			p += len;
			continue;
		}
		if (c <= 0x9f || c >= 0xdc) {
			/* fixmap 0x8N, fixarray 0x9N, array16/32, map16/32 */
			if (c <= 0x9f) {
				more = (c & 0x10) ? (c & 0x0f) : 2 * (c & 0x0f);
				len = 1;
			} else if (c == 0xdc || c == 0xde) {
				if (end - p < 3)
					return false;
				more = (uint64_t)mp_be16(p + 1) *
				    (c == 0xde ? 2 : 1);
				len = 3;
			} else {
				if (end - p < 5)
					return false;
				more = (uint64_t)mp_be32(p + 1) *
				    (c == 0xdf ? 2 : 1);
				len = 5;
			}
			/* Each value takes a byte at least. */
			if (++nest > RUN_FAST_NEST ||
			    todo + more > (uint64_t)(end - p))
				return false;
			todo += more;
		} else {
			/* bin8/16/32 and str32; anything else is not ours. */
			switch (c) {
			case 0xc4:
				if (end - p < 2)
					return false;
				len = 2 + (uint64_t)p[1];
				break;
			case 0xc5:
				if (end - p < 3)
					return false;
				len = 3 + (uint64_t)mp_be16(p + 1);
				break;
			case 0xc6: case 0xdb:
				if (end - p < 5)
					return false;
				len = 5 + (uint64_t)mp_be32(p + 1);
				break;
			default:
				return false;
			}
		}
		if ((uint64_t)(end - p) < len)
			return false;
		p += len;
	}
	*pp = p;
	return true;
}

/* ---- RFC 4180 ------------------------------------------------------------ */

void
run_csv_field(struct buf *b, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *q;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n) {
		buf_add(b, s, n);
		return;
	}
	/* Quoted: copy the runs between quotes, doubling each quote. */
	buf_addc(b, '"');
	while ((q = memchr(p, '"', (size_t)(end - p))) != NULL) {
		buf_add(b, p, (size_t)(q - p) + 1);
		buf_addc(b, '"');
		p = q + 1;
	}
	buf_add(b, p, (size_t)(end - p));
	buf_addc(b, '"');
}

const char run_csv_header[] =
    "id,seller,action,public,private,due_at,followup_at\r\n";

/* Two decimal digits of v (0..99). */
static char *
put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

/*
 * t as "%Y-%m-%dT%H:%M:%SZ" in UTC for years 1970..9999, the same bytes
 * gmtime_r() and strftime() give, without their locale and time zone
 * work (most of replies.csv's cost).  Days to a civil date: count in
 * 400-year eras of 146097 days starting on 1 March, so the leap day is
 * the last day of a year.  Returns false outside that range.
 */
static bool
csv_time_fast(char s[20], int64_t t)
{
	uint64_t days, doe, yoe, doy, mp, y, m, d, sec;
	char *o = s;

	if (t < 0 || t > 253402300799LL)	/* 9999-12-31T23:59:59Z */
		return false;
	days = (uint64_t)t / 86400 + 719468;	/* since 0000-03-01 */
	sec = (uint64_t)t % 86400;
	doe = days % 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + days / 146097 * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	o = put2(o, (unsigned)(y / 100));
	o = put2(o, (unsigned)(y % 100));
	*o++ = '-';
	o = put2(o, (unsigned)m);
	*o++ = '-';
	o = put2(o, (unsigned)d);
	*o++ = 'T';
	o = put2(o, (unsigned)(sec / 3600));
	*o++ = ':';
	o = put2(o, (unsigned)(sec / 60 % 60));
	*o++ = ':';
	o = put2(o, (unsigned)(sec % 60));
	*o = 'Z';
	return true;
}

static void
csv_time(struct buf *b, const struct mp_val *v)
{
	int64_t t;
	struct tm tm;
	time_t tt;
	char s[32];

	if (v->type == MP_STR) {
		run_csv_field(b, v->v.s.p, v->v.s.n);
		return;
	}
	if (!mp_as_int(v, &t))
		return;
	if (csv_time_fast(s, t)) {
		buf_add(b, s, 20);
		return;
	}
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return;
	buf_adds(b, s);
}

/* The reply keys replies.csv shows, by column; -1 for any other key. */
static int
csv_reply_col(struct slice k)
{
	switch (k.n) {
	case 6:
		if (memcmp(k.p, "action", 6) == 0)
			return 0;
		if (memcmp(k.p, "public", 6) == 0)
			return 1;
		if (memcmp(k.p, "due_at", 6) == 0)
			return 3;
		return -1;
	case 7:
		return memcmp(k.p, "private", 7) == 0 ? 2 : -1;
	case 11:
		return memcmp(k.p, "followup_at", 11) == 0 ? 4 : -1;
	}
	return -1;
}

/*
 * The row from its parts: id and seller (NULL .p: absent or not a
 * string) and the raw bytes of the first `reply` (NULL .p: absent).
 */
static void
csv_row_parts(struct buf *b, struct slice id, struct slice seller,
    struct slice raw)
{
	struct mp_val f[5], m, k;
	const char *p, *end;
	bool have[5] = { false };
	unsigned c;
	uint32_t i;
	int j;

	if (id.p != NULL)
		run_csv_field(b, id.p, id.n);
	buf_addc(b, ',');
	if (seller.p != NULL)
		run_csv_field(b, seller.p, seller.n);
	if (raw.p != NULL) {
		p = raw.p;
		end = raw.p + raw.n;
		if (mp_next(&p, end, &m) == MP_OK && m.type == MP_MAP) {
			for (i = 0; i < m.v.n; i++) {
				c = p < end ? (unsigned char)*p : 0;
				if ((c & 0xe0) == 0xa0 &&
				    (size_t)(end - p) > (c & 0x1fu)) {
					k.type = MP_STR;
					k.v.s.p = p + 1;
					k.v.s.n = c & 0x1f;
					p += 1 + (c & 0x1f);
				} else if (mp_next(&p, end, &k) != MP_OK)
					break;
				j = k.type == MP_STR ?
				    csv_reply_col(k.v.s) : -1;
				if (j >= 0) {
					if (mp_next(&p, end, &f[j]) != MP_OK)
						break;
					/* A nested value is skipped whole. */
					if (f[j].type == MP_ARRAY ||
					    f[j].type == MP_MAP)
						break;
					have[j] = true;
				} else if (!fast_skip(
				    (const unsigned char **)&p,
				    (const unsigned char *)end, 1) &&
				    mp_skip(&p, end) != MP_OK)
					break;
			}
		}
	}
	for (j = 0; j < 5; j++) {
		buf_addc(b, ',');
		if (!have[j])
			continue;
		if (j >= 3)
			csv_time(b, &f[j]);
		else if (f[j].type == MP_STR)
			run_csv_field(b, f[j].v.s.p, f[j].v.s.n);
	}
	buf_add(b, "\r\n", 2);
}

void
run_csv_row(struct buf *b, const struct rec *rec)
{
	struct slice id = { NULL, 0 }, seller = { NULL, 0 };
	struct slice raw = { NULL, 0 };

	if (rec_get_str(rec, "id", &id) == -1)
		id.p = NULL;
	if (rec_get_str(rec, "seller", &seller) == -1)
		seller.p = NULL;
	if (rec_get_raw(rec, "reply", &raw) == -1)
		raw.p = NULL;
	csv_row_parts(b, id, seller, raw);
}

/* ---- msgpack map surgery ------------------------------------------------- */

static void
map_header(struct buf *b, uint32_t n)
{
	unsigned char h[5];

	buf_add(b, h, mp_map_header(h, n));
}

static void
str_header(struct buf *b, size_t n)
{
	unsigned char h[5];

	buf_add(b, h, mp_str_header(h, n));
}

/* The tag as run_tag() writes it: key, then the value as a uint 64. */
#define RUN_TAG_LEN	(1 + sizeof(RUN_SEQ_KEY) - 1 + 9)

/*
 * The new map header and the tag for the map at p (n bytes) into out;
 * returns their length and sets *hl to the length of p's own header, or
 * returns 0 when p does not start with a map header.
 */
static size_t
tag_prefix(unsigned char out[5 + RUN_TAG_LEN], const char *p, size_t n,
    uint64_t seq, size_t *hl)
{
	const unsigned char *u = (const unsigned char *)p;
	uint32_t cnt;
	size_t k;
	int i;

	if (n >= 1 && (u[0] & 0xf0) == 0x80) {
		cnt = u[0] & 0x0f;
		*hl = 1;
	} else if (n >= 3 && u[0] == 0xde) {
		cnt = (uint32_t)u[1] << 8 | u[2];
		*hl = 3;
	} else if (n >= 5 && u[0] == 0xdf) {
		cnt = (uint32_t)u[1] << 24 | (uint32_t)u[2] << 16 |
		    (uint32_t)u[3] << 8 | u[4];
		*hl = 5;
	} else
		return 0;
	if (cnt == UINT32_MAX)
		return 0;
	k = mp_map_header(out, cnt + 1);
	out[k++] = 0xa0 | (sizeof(RUN_SEQ_KEY) - 1);
	memcpy(out + k, RUN_SEQ_KEY, sizeof(RUN_SEQ_KEY) - 1);
	k += sizeof(RUN_SEQ_KEY) - 1;
	out[k++] = 0xcf;
	for (i = 0; i < 8; i++)
		out[k++] = (unsigned char)(seq >> (56 - 8 * i));
	return k;
}

bool
run_tag(struct buf *b, const char *p, size_t n, uint64_t seq)
{
	unsigned char pre[5 + RUN_TAG_LEN];
	size_t k, hl;

	if ((k = tag_prefix(pre, p, n, seq, &hl)) == 0)
		return false;
	buf_add(b, pre, k);
	buf_add(b, p + hl, n - hl);
	return true;
}

/* Length of the shortest msgpack header of a string of n bytes. */
static size_t
str_header_len(size_t n)
{
	return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

bool
run_untag(const struct rec *rec, unsigned char hdr[5], size_t *hlen,
    const char **body, size_t *blen, uint64_t *seq)
{
	const struct rec_kv *kv = rec->kv;
	const unsigned char *v;
	uint64_t x = 0;
	uint32_t i;
	int k;

	if (rec->nkeys == 0 || kv[0].key.n != sizeof(RUN_SEQ_KEY) - 1 ||
	    memcmp(kv[0].key.p, RUN_SEQ_KEY, kv[0].key.n) != 0 ||
	    kv[0].vlen != 9 || (unsigned char)kv[0].val[0] != 0xcf)
		return false;
	/*
	 * The output must be the bytes strip_key() would write: it writes
	 * each key with the shortest header and drops every _rp_seq key.
	 */
	for (i = 0; i < rec->nkeys; i++) {
		if ((size_t)(kv[i].key.p - kv[i].pair) !=
		    str_header_len(kv[i].key.n))
			return false;
		if (i > 0 && kv[i].key.n == sizeof(RUN_SEQ_KEY) - 1 &&
		    memcmp(kv[i].key.p, RUN_SEQ_KEY, kv[i].key.n) == 0)
			return false;
	}
	v = (const unsigned char *)kv[0].val + 1;
	for (k = 0; k < 8; k++)
		x = x << 8 | v[k];
	if (x > INT64_MAX)
		return false;
	*seq = x;
	*hlen = mp_map_header(hdr, rec->nkeys - 1);
	*body = kv[0].val + kv[0].vlen;
	*blen = (size_t)(rec->p + rec->n - *body);
	return true;
}

/* Append the record `rec` without its key `drop` to b. */
static void
strip_key(struct buf *b, const struct rec *rec, const char *drop)
{
	uint32_t i, n = 0;

	for (i = 0; i < rec->nkeys; i++)
		if (!slice_eq(rec->kv[i].key, drop))
			n++;
	map_header(b, n);
	for (i = 0; i < rec->nkeys; i++) {
		if (slice_eq(rec->kv[i].key, drop))
			continue;
		str_header(b, rec->kv[i].key.n);
		buf_add(b, rec->kv[i].key.p, rec->kv[i].key.n);
		buf_add(b, rec->kv[i].val, rec->kv[i].vlen);
	}
}

size_t
run_fast_frame(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;

	return fast_skip(&u, u + n, 1) ? (size_t)((const char *)u - p) : 0;
}

/*
 * Bytes of the scalar at p when its first bytes tell (strings up to 64 KiB,
 * numbers, nil, booleans) and it fits before end, else 0: most values of a
 * record, framed without a call.
 */
static inline size_t
scalar_size(const unsigned char *p, const unsigned char *end)
{
	static const unsigned char num[10] = { 5, 9, 2, 3, 5, 9, 2, 3, 5, 9 };
	size_t avail = (size_t)(end - p), n;
	unsigned c = p[0];

	if ((c & 0xe0) == 0xa0)
		n = 1 + (c & 0x1f);
	else if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
	    c == 0xc3)
		n = 1;
	else if (c == 0xd9 && avail >= 2)
		n = 2 + (size_t)p[1];
	else if (c == 0xda && avail >= 3)
		n = 3 + (size_t)mp_be16(p + 1);
	else if (c >= 0xca && c <= 0xd3)
		n = num[c - 0xca];
	else
		return 0;
	return n <= avail ? n : 0;
}

/* What emitting a record needs from it, found in one pass. */
struct run_scan {
	size_t		 n;		/* the record's length */
	uint32_t	 nkeys;		/* pairs after the tag */
	uint64_t	 seq;
	const char	*body;		/* the first pair after the tag */
	struct slice	 id, seller;	/* .p NULL: absent or not a string */
	struct slice	 reply;		/* raw value; .p NULL: absent */
};

/* The payload of the string at v (before end), or false. */
static bool
str_at(const unsigned char *v, const unsigned char *end, struct slice *s)
{
	size_t hl, n;

	if ((v[0] & 0xe0) == 0xa0) {
		hl = 1;
		n = v[0] & 0x1f;
	} else if (v[0] == 0xd9) {
		hl = 2;
		n = v[1];
	} else if (v[0] == 0xda) {
		hl = 3;
		n = mp_be16(v + 1);
	} else if (v[0] == 0xdb) {
		hl = 5;
		n = mp_be32(v + 1);
	} else
		return false;
	if ((size_t)(end - v) < hl + n)
		return false;
	s->p = (const char *)v + hl;
	s->n = n;
	return true;
}

/*
 * Frame the record at p (avail bytes) and find id, seller and reply as
 * rec_get_str() and rec_get_raw() would (the first pair with the key).
 * With `tagged` the first pair must be run's tag and no other key may be
 * _rp_seq; every key must be a string with the shortest header, so that
 * the record without the tag is the same bytes strip_key() would write.
 * Returns false when the record is not in that shape or not all there:
 * the caller then takes the general path.
 */
static bool
scan_rec(const char *rp, size_t avail, bool tagged, struct run_scan *sc)
{
	const unsigned char *p = (const unsigned char *)rp, *end = p + avail;
	const unsigned char *k, *v;
	bool have_id = false, have_seller = false, have_reply = false;
	uint32_t cnt, i, kl, x;
	size_t sz;
	int j;

	if (avail == 0)
		return false;
	if ((p[0] & 0xf0) == 0x80) {
		cnt = p[0] & 0x0f;
		p += 1;
	} else if (p[0] == 0xde && avail >= 3) {
		cnt = mp_be16(p + 1);
		p += 3;
	} else if (p[0] == 0xdf && avail >= 5) {
		cnt = mp_be32(p + 1);
		p += 5;
	} else
		return false;
	if (cnt > (size_t)(end - p) / 2)
		return false;
	sc->id.p = sc->seller.p = sc->reply.p = NULL;
	sc->id.n = sc->seller.n = sc->reply.n = 0;
	sc->seq = 0;
	i = 0;
	if (tagged) {
		if (cnt == 0 || end - p < (ptrdiff_t)RUN_TAG_LEN ||
		    p[0] != (0xa0 | (sizeof(RUN_SEQ_KEY) - 1)) ||
		    memcmp(p + 1, RUN_SEQ_KEY, sizeof(RUN_SEQ_KEY) - 1) != 0 ||
		    p[sizeof(RUN_SEQ_KEY)] != 0xcf)
			return false;
		for (j = 0; j < 8; j++)
			sc->seq = sc->seq << 8 | p[sizeof(RUN_SEQ_KEY) + 1 + j];
		if (sc->seq > INT64_MAX)
			return false;
		p += RUN_TAG_LEN;
		i = 1;
	}
	sc->body = (const char *)p;
	sc->nkeys = cnt - i;
	for (; i < cnt; i++) {
		if (p == end)
			return false;
		if ((p[0] & 0xe0) == 0xa0) {
			kl = p[0] & 0x1f;
			k = p + 1;
		} else if (p[0] == 0xd9 && end - p >= 2 && p[1] >= 32) {
			kl = p[1];
			k = p + 2;
		} else if (p[0] == 0xda && end - p >= 3 &&
		    (x = mp_be16(p + 1)) >= 256) {
			kl = x;
			k = p + 3;
		} else if (p[0] == 0xdb && end - p >= 5 &&
		    (x = mp_be32(p + 1)) >= 65536) {
			kl = x;
			k = p + 5;
		} else
			return false;
		if ((size_t)(end - k) < kl)
			return false;
		v = p = k + kl;
		if (p < end && (sz = scalar_size(p, end)) != 0)
			p += sz;
		else if (!fast_skip(&p, end, 1))
			return false;
		switch (kl) {
		case 2:
			if (!have_id && memcmp(k, "id", 2) == 0) {
				have_id = true;
				if (!str_at(v, p, &sc->id))
					sc->id.p = NULL;
			}
			break;
		case 5:
			if (!have_reply && memcmp(k, "reply", 5) == 0) {
				have_reply = true;
				sc->reply.p = (const char *)v;
				sc->reply.n = (size_t)(p - v);
			}
			break;
		case 6:
			if (!have_seller && memcmp(k, "seller", 6) == 0) {
				have_seller = true;
				if (!str_at(v, p, &sc->seller))
					sc->seller.p = NULL;
			}
			break;
		case sizeof(RUN_SEQ_KEY) - 1:
			if (tagged && memcmp(k, RUN_SEQ_KEY, kl) == 0)
				return false;
			break;
		}
	}
	sc->n = (size_t)((const char *)p - rp);
	return true;
}

/* ---- the byte queue ------------------------------------------------------ */

struct run_qblock {
	struct run_qblock *next;
	size_t		 len;
	char		 data[RUN_Q_BLOCK];
};

void
run_q_init(struct run_q *q, int nreaders)
{
	int i;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < RUN_Q_READERS; i++)
		q->on[i] = i < nreaders;
}

static void
run_q_free_list(struct run_qblock *b)
{
	struct run_qblock *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
}

void
run_q_release(struct run_q *q)
{
	run_q_free_list(q->head);
	run_q_free_list(q->spare);
	q->head = q->tail = q->spare = NULL;
}

/* Recycle the blocks every reader has passed. */
static void
run_q_trim(struct run_q *q)
{
	struct run_qblock *b;
	uint64_t low = q->end;
	int i;

	for (i = 0; i < RUN_Q_READERS; i++)
		if (q->on[i] && q->pos[i] < low)
			low = q->pos[i];
	while ((b = q->head) != NULL && low >= q->base + b->len &&
	    (b != q->tail || low == q->end)) {
		q->base += b->len;
		q->head = b->next;
		if (q->head == NULL)
			q->tail = NULL;
		b->next = q->spare;
		q->spare = b;
	}
}

void
run_q_add(struct run_q *q, const void *p, size_t n)
{
	const char *s = p;
	struct run_qblock *b;
	size_t k;

	while (n > 0) {
		if ((b = q->tail) == NULL || b->len == RUN_Q_BLOCK) {
			if ((b = q->spare) != NULL)
				q->spare = b->next;
			else if ((b = malloc(sizeof(*b))) == NULL) {
				fprintf(stderr, "revpipe: out of memory (%zu "
				    "bytes)\n", sizeof(*b));
				abort();
			}
			b->next = NULL;
			b->len = 0;
			if (q->tail != NULL)
				q->tail->next = b;
			else
				q->head = b;
			q->tail = b;
		}
		k = RUN_Q_BLOCK - b->len;
		if (k > n)
			k = n;
		memcpy(b->data + b->len, s, k);
		b->len += k;
		s += k;
		n -= k;
		q->end += k;
	}
}

uint64_t
run_q_pending(const struct run_q *q, int reader)
{
	return q->on[reader] ? q->end - q->pos[reader] : 0;
}

ssize_t
run_q_write(struct run_q *q, int reader, int fd)
{
	struct iovec iov[16];
	struct run_qblock *b = q->head;
	uint64_t off = q->pos[reader] - q->base;
	ssize_t n;
	int k = 0;

	if (!q->on[reader] || q->pos[reader] == q->end)
		return 0;
	/* Every block but the tail is full: walk to the reader's. */
	while (off >= b->len) {
		off -= b->len;
		b = b->next;
	}
	for (; b != NULL && k < 16; b = b->next, off = 0) {
		iov[k].iov_base = b->data + off;
		iov[k++].iov_len = b->len - off;
	}
	if ((n = writev(fd, iov, k)) > 0) {
		q->pos[reader] += (uint64_t)n;
		run_q_trim(q);
	}
	return n;
}

void
run_q_drop(struct run_q *q, int reader)
{
	q->on[reader] = false;
	run_q_trim(q);
}

/* Write everything `reader` has not taken to the blocking fd. */
static int
run_q_flush(struct run_q *q, int reader, int fd)
{
	while (run_q_pending(q, reader) > 0)
		if (run_q_write(q, reader, fd) == -1 && errno != EINTR)
			return -1;
	return 0;
}

/* ---- processes ----------------------------------------------------------- */

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	(void)fcntl(p[1], F_SETPIPE_SZ, RUN_PIPE_SIZE);
	return 0;
}

/*
 * Start `revpipe NAME` with stdin in_fd and stdout out_fd (-1: /dev/null)
 * and the common options; extra (NULL-terminated) follows them.
 */
static int
spawn(struct run *r, const char *name, int worker, int in_fd, int out_fd,
    char *const *extra)
{
	char *argv[64 + 2 * RUN_MAX_STAGES];
	char rej[PATH_MAX], cnt[PATH_MAX], rname[64];
	struct child *k;
	size_t n = 0, i;
	pid_t pid;
	int null;

	if (r->nkids >= sizeof(r->kids) / sizeof(r->kids[0]))
		return stage_fail(r->ctx, "too many processes");
	if (worker >= 0)
		snprintf(rname, sizeof(rname), "rejects.%s.%d.msgpack", name,
		    worker);
	else
		snprintf(rname, sizeof(rname), "rejects.%s.msgpack", name);
	tmp_path(r, rej, sizeof(rej), rname);
	tmp_path(r, cnt, sizeof(cnt), "counts.jsonl");
	argv[n++] = (char *)"revpipe";
	argv[n++] = (char *)name;
	if (r->ctx->conf_path != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)r->ctx->conf_path;
	}
	if (r->ctx->verbose > 0)
		argv[n++] = (char *)"-v";
	else if (r->ctx->verbose < 0)
		argv[n++] = (char *)"-q";
	if (r->ctx->models_dir != NULL) {
		argv[n++] = (char *)"--models";
		argv[n++] = (char *)r->ctx->models_dir;
	}
	argv[n++] = (char *)"--rejects";
	argv[n++] = rej;
	argv[n++] = (char *)"--counts";
	argv[n++] = cnt;
	for (i = 0; extra != NULL && extra[i] != NULL && n < 60; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	fflush(stderr);
	if ((pid = fork()) == -1)
		return stage_fail_errno(r->ctx, "cannot start '%s'", name);
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		null = open("/dev/null", O_RDWR);
		if (dup2(in_fd != -1 ? in_fd : null, STDIN_FILENO) == -1 ||
		    dup2(out_fd != -1 ? out_fd : null, STDOUT_FILENO) == -1)
			_exit(127);
		/* Every other descriptor of ours is close-on-exec. */
		execv("/proc/self/exe", argv);
		fprintf(stderr, "revpipe run: cannot execute '%s': %s\n", name,
		    strerror(errno));
		_exit(127);
	}
	k = &r->kids[r->nkids++];
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->worker = worker;
	for (k->pos = 0; k->pos < r->nchain; k->pos++)
		if (strcmp(r->chain[k->pos], name) == 0)
			break;
	if (strcmp(name, r->chain[0]) == 0 && worker < 0)
		r->decode_pid = pid;
	return 0;
}

static void
reap(struct run *r, bool block)
{
	struct rusage ru;
	pid_t pid;
	size_t i;
	int st;

	for (;;) {
		pid = wait4(-1, &st, block ? 0 : WNOHANG, &ru);
		if (pid == -1 && errno == ECHILD) {
			for (i = 0; i < r->nkids; i++)
				r->kids[i].done = true;
			return;
		}
		if (pid <= 0) {
			if (pid == -1 && errno == EINTR && block &&
			    run_signal == 0)
				continue;
			return;
		}
		for (i = 0; i < r->nkids; i++) {
			if (r->kids[i].pid != pid || r->kids[i].done)
				continue;
			r->kids[i].done = true;
			r->kids[i].status = st;
			r->kids[i].user_s = (double)ru.ru_utime.tv_sec +
			    (double)ru.ru_utime.tv_usec / 1e6;
			r->kids[i].sys_s = (double)ru.ru_stime.tv_sec +
			    (double)ru.ru_stime.tv_usec / 1e6;
			r->kids[i].maxrss_kb = ru.ru_maxrss;
			if ((!WIFEXITED(st) || WEXITSTATUS(st) != 0) &&
			    r->first_fail == -1)
				r->first_fail = (int)i;
		}
	}
}

static bool
all_reaped(const struct run *r)
{
	size_t i;

	for (i = 0; i < r->nkids; i++)
		if (!r->kids[i].done)
			return false;
	return true;
}

static void
kill_all(struct run *r, int sig)
{
	size_t i;

	for (i = 0; i < r->nkids; i++)
		if (!r->kids[i].done)
			kill(r->kids[i].pid, sig);
}

/*
 * The stage to blame.  A failing stage makes the stages before it fail too
 * (their writes meet a closed pipe) while the stages after it see a clean
 * end of stream, so the last failing stage in the chain is the cause; a
 * crash (a signal we did not send) comes first.
 */
static int
blame(const struct run *r)
{
	const struct child *k;
	int best = -1, sig;
	size_t i;

	for (i = 0; i < r->nkids; i++) {
		k = &r->kids[i];
		if (!k->done || (WIFEXITED(k->status) &&
		    WEXITSTATUS(k->status) == 0))
			continue;
		sig = WIFSIGNALED(k->status) ? WTERMSIG(k->status) : 0;
		if (sig == SIGTERM)
			continue;	/* ours, after another failure */
		if (sig != 0 && sig != SIGPIPE && sig != SIGINT)
			return (int)i;
		if (best == -1 || k->pos > r->kids[best].pos)
			best = (int)i;
	}
	return best;
}

static int
child_exit(const struct child *k)
{
	if (WIFEXITED(k->status))
		return WEXITSTATUS(k->status);
	if (WIFSIGNALED(k->status))
		return 128 + WTERMSIG(k->status);
	return EXIT_RUNTIME;
}

/* ---- inputs and the earlier manifest ------------------------------------- */

/*
 * Size and xxh3 of one input into in, reading with blk (1 MiB) and st;
 * -1 with errno set on failure.  No stage messages: the hasher thread
 * calls it too.
 */
static int
hash_file(struct input *in, char *blk, XXH3_state_t *st, atomic_bool *stop)
{
	ssize_t n;
	int fd, e;

	if ((fd = open(in->path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	XXH3_64bits_reset(st);
	in->size = 0;
	while ((n = read(fd, blk, 1 << 20)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || (stop != NULL && atomic_load(stop))) {
			e = n == -1 ? errno : ECANCELED;
			close(fd);
			errno = e;
			return -1;
		}
		XXH3_64bits_update(st, blk, (size_t)n);
		in->size += (uint64_t)n;
	}
	close(fd);
	in->xxh3 = XXH3_64bits_digest(st);
	in->hashed = true;
	return 0;
}

static int
hash_input(struct run *r, struct input *in)
{
	XXH3_state_t *st = XXH3_createState();
	char *blk = malloc(1 << 20);
	int ret = 0;

	if (st == NULL || blk == NULL)
		ret = stage_fail_errno(r->ctx, "out of memory");
	else if (hash_file(in, blk, st, NULL) == -1)
		ret = stage_fail_errno(r->ctx, "cannot read '%s'", in->path);
	XXH3_freeState(st);
	free(blk);
	return ret;
}

/* An input's size, and whether it can be opened at all. */
static int
input_size(struct run *r, struct input *in)
{
	struct stat sb;
	int fd;

	if ((fd = open(in->path, O_RDONLY | O_CLOEXEC)) == -1)
		return stage_fail_errno(r->ctx, "cannot open '%s'", in->path);
	if (fstat(fd, &sb) == -1) {
		stage_fail_errno(r->ctx, "cannot read '%s'", in->path);
		close(fd);
		return -1;
	}
	close(fd);
	in->size = (uint64_t)sb.st_size;
	/* A pipe or device is read once: hash it before the run, as it
	 * always was, not beside decode. */
	if (!S_ISREG(sb.st_mode))
		return hash_input(r, in);
	return 0;
}

static void *
hasher_main(void *arg)
{
	struct hasher *h = arg;
	size_t i;

	for (i = 0; i < h->nin && h->err == 0; i++)
		if (!h->in[i].skip && !h->in[i].hashed &&
		    hash_file(&h->in[i], h->blk, h->st, &h->stop) == -1) {
			h->err = errno;
			h->bad = h->in[i].path;
		}
	return NULL;
}

/*
 * Hash the inputs not hashed yet in a thread of their own, so that the
 * chain starts without reading them all first.  Signals stay with the
 * main thread (its poll() must see them); the thread allocates nothing.
 * Falls back to hashing here when no thread can be had.
 */
static int
hasher_start(struct run *r, struct hasher *h)
{
	sigset_t all, old;
	size_t i;
	int e;

	h->in = r->in;
	h->nin = r->nin;
	atomic_init(&h->stop, false);
	if ((h->st = XXH3_createState()) == NULL ||
	    (h->blk = malloc(1 << 20)) == NULL)
		return stage_fail_errno(r->ctx, "out of memory");
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&h->tid, NULL, hasher_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0) {
		h->started = true;
		return 0;
	}
	for (i = 0; i < r->nin; i++)
		if (!r->in[i].skip && !r->in[i].hashed &&
		    hash_input(r, &r->in[i]) == -1)
			return -1;
	return 0;
}

/*
 * Wait for the hasher (told to give up when `cancel`); -1 (with the
 * message) when an input failed.
 */
static int
hasher_join(struct run *r, struct hasher *h, bool cancel)
{
	int ret = 0;

	if (h->started) {
		if (cancel)
			atomic_store(&h->stop, true);
		pthread_join(h->tid, NULL);
		h->started = false;
		if (h->err != 0 && !cancel) {
			errno = h->err;
			ret = stage_fail_errno(r->ctx, "cannot read '%s'",
			    h->bad);
		}
	}
	XXH3_freeState(h->st);
	free(h->blk);
	h->st = NULL;
	h->blk = NULL;
	return ret;
}

/*
 * Earlier inputs: manifest.json lists one input per line as
 *   {"path": "...", "size": N, "xxh3": "HEX"}
 * (run writes it that way), so a line scan is enough to read it back.
 * With size_only, is there an earlier input of in's size at all (only
 * then can in be one of them, and need hashing before the run)?
 */
struct earlier {
	struct buf	 text;
	size_t		 n;
};

static bool
earlier_has(const struct earlier *e, const struct input *in, bool size_only)
{
	char pat[96];
	const char *p = e->text.p, *end = e->text.p + e->text.len, *nl;

	if (size_only)
		snprintf(pat, sizeof(pat), "\"size\": %llu, \"xxh3\": \"",
		    (unsigned long long)in->size);
	else
		snprintf(pat, sizeof(pat), "\"size\": %llu, \"xxh3\": "
		    "\"%016llx\"", (unsigned long long)in->size,
		    (unsigned long long)in->xxh3);
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (memmem(p, (size_t)(nl - p), pat, strlen(pat)) != NULL &&
		    memmem(p, (size_t)(nl - p), "{\"path\": ", 9) != NULL)
			return true;
	}
	return false;
}

/* ---- the event loop ------------------------------------------------------ */

/* Readers of r->out. */
#define RUN_REVIEWS	0
#define RUN_STATS	1

static int
flush_file(struct run *r, int fd, struct fdio_behind *wb, struct buf *b,
    const char *name)
{
	if (b->len == 0)
		return 0;
	if (fdio_write_all(fd, b->p, b->len) == -1 ||
	    fdio_behind_wrote(wb, fd, b->len) == -1)
		return stage_fail_errno(r->ctx, "cannot write '%s'", name);
	buf_reset(b);
	return 0;
}

/* Write what reviews.msgpack has not taken from r->out yet. */
static int
flush_reviews(struct run *r)
{
	uint64_t n = run_q_pending(&r->out, RUN_REVIEWS);

	if (run_q_flush(&r->out, RUN_REVIEWS, r->reviews_fd) == -1 ||
	    fdio_behind_wrote(&r->reviews_wb, r->reviews_fd, (size_t)n) == -1)
		return stage_fail_errno(r->ctx, "cannot write "
		    "'reviews.msgpack'");
	return 0;
}

/*
 * A final record (untagged), as a map header and the rest of its bytes,
 * queued once for reviews.msgpack and stats (its replies.csv row is
 * already in r->csv).
 */
static int
emit(struct run *r, const void *hdr, size_t hlen, const char *body,
    size_t blen)
{
	r->nout++;
	run_q_add(&r->out, hdr, hlen);
	run_q_add(&r->out, body, blen);
	if (run_q_pending(&r->out, RUN_REVIEWS) >= RUN_READ &&
	    flush_reviews(r) == -1)
		return -1;
	if (r->csv.len >= RUN_READ && flush_file(r, r->csv_fd, &r->csv_wb,
	    &r->csv, "replies.csv") == -1)
		return -1;
	return 0;
}

/* Length of the complete msgpack value at p, 0 when incomplete, -1 bad. */
static ssize_t
frame(const char *p, size_t n)
{
	const char *q = p;
	int rc = mp_skip(&q, p + n);

	if (rc == MP_OK)
		return q - p;
	return rc == MP_SHORT ? 0 : -1;
}

/*
 * Drop the consumed front of b once it is at least as long as what is
 * left, so each byte moves at most once on average however far ahead a
 * worker runs.
 */
static void
compact(struct buf *b, size_t *pos)
{
	if (*pos == 0 || *pos < b->len - *pos)
		return;
	memmove(b->p, b->p + *pos, b->len - *pos);
	buf_truncate(b, b->len - *pos);
	*pos = 0;
}

/*
 * Read what is there from fd into b, max bytes at most; 1 more may come,
 * 0 EOF, -1 error.
 */
static int
fill(int fd, struct buf *b, size_t max)
{
	ssize_t n;

	buf_grow(b, max);
	n = read(fd, b->p + b->len, max);
	if (n > 0) {
		b->len += (size_t)n;
		b->p[b->len] = '\0';
		return 1;
	}
	if (n == 0)
		return 0;
	return errno == EAGAIN || errno == EINTR ? 1 : -1;
}

/* Frame head records: pass them on, or deal them to the workers. */
static int
split(struct run *r)
{
	unsigned char pre[5 + RUN_TAG_LEN];
	const unsigned char *e;
	struct run_scan sc;
	size_t used, k, hl, w, from = r->hpos;
	ssize_t len;

	for (;;) {
		const char *p = r->hbuf.p + r->hpos;
		size_t avail = r->hbuf.len - r->hpos;

		if (r->jobs == 0 && !r->has_reply) {
			/* No replies to list: frame the record, no more. */
			e = (const unsigned char *)p;
			if (fast_skip(&e, e + avail, 1))
				len = (ssize_t)(e - (const unsigned char *)p);
			else if ((len = frame(p, avail)) <= 0)
				break;
			r->nout++;
		} else if (r->jobs == 0) {
			/* One chain: the head's records are final. */
			if (scan_rec(p, avail, false, &sc)) {
				len = (ssize_t)sc.n;
				csv_row_parts(&r->csv, sc.id, sc.seller,
				    sc.reply);
			} else if ((len = frame(p, avail)) <= 0)
				break;
			else if (rec_parse(&r->rec, p, (size_t)len, &used) ==
			    MP_OK)
				run_csv_row(&r->csv, &r->rec);
			r->nout++;
		} else {
			e = (const unsigned char *)p;
			if (fast_skip(&e, e + avail, 1))
				len = (ssize_t)(e - (const unsigned char *)p);
			else if ((len = frame(p, avail)) <= 0)
				break;
			w = (size_t)(r->assigned / r->chunk) % (size_t)r->jobs;
			if ((k = tag_prefix(pre, p, (size_t)len, r->assigned,
			    &hl)) > 0) {
				run_q_add(&r->w[w].wq, pre, k);
				run_q_add(&r->w[w].wq, p + hl,
				    (size_t)len - hl);
			} else
				run_q_add(&r->w[w].wq, p, (size_t)len);
			r->assigned++;
		}
		r->hpos += (size_t)len;
	}
	if (len == -1)
		return stage_fail(r->ctx, "'%s' wrote a malformed stream",
		    r->chain[r->nhead - 1]);
	if (r->jobs == 0 && r->hpos > from) {
		/*
		 * The records are final as they came: reviews.msgpack gets
		 * them straight from the read buffer, stats through tee(2)
		 * or else the queue.
		 */
		if (fdio_write_all(r->reviews_fd, r->hbuf.p + from,
		    r->hpos - from) == -1 || fdio_behind_wrote(&r->reviews_wb,
		    r->reviews_fd, r->hpos - from) == -1)
			return stage_fail_errno(r->ctx, "cannot write "
			    "'reviews.msgpack'");
		if (!r->tee)
			run_q_add(&r->out, r->hbuf.p + from, r->hpos - from);
		if (r->csv.len >= RUN_READ && flush_file(r, r->csv_fd,
		    &r->csv_wb, &r->csv, "replies.csv") == -1)
			return -1;
	}
	compact(&r->hbuf, &r->hpos);
	return 0;
}

/*
 * The head's output is readable (or, `stats_ready`, stats' pipe has
 * room): with tee(2), first copy what the pipe holds to stats without
 * consuming it, then read exactly that much, so stats gets the same bytes
 * without their passing through this process.
 */
static int
head_in(struct run *r, bool stats_ready)
{
	size_t want = RUN_READ;
	ssize_t t, n;

	if (r->tee && r->teed == 0) {
		t = tee(r->h_fd, r->s_fd, RUN_READ, SPLICE_F_NONBLOCK);
		if (t == -1 && errno == EINVAL && r->out.end == 0 &&
		    r->nout == 0 && r->hbuf.len == 0) {
			/* No tee(2) for these pipes: use the queue. */
			r->tee = false;
			r->out.on[RUN_STATS] = true;
		} else if (t == -1) {
			if (errno == EINTR)
				return 0;
			if (errno != EAGAIN)
				return stage_fail_errno(r->ctx, "cannot write "
				    "to stats");
			/* Woken by data, the wait is for room; and back. */
			r->tee_wait = !stats_ready;
			return 0;
		} else {
			r->tee_wait = false;
			r->teed = (size_t)t;
		}
	}
	for (;;) {
		if (r->tee && r->teed > 0)
			want = r->teed;
		buf_grow(&r->hbuf, want);
		n = read(r->h_fd, r->hbuf.p + r->hbuf.len, want);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return stage_fail_errno(r->ctx, "cannot read from '%s'",
			    r->chain[r->nhead - 1]);
		}
		if (n == 0)
			break;
		r->hbuf.len += (size_t)n;
		r->hbuf.p[r->hbuf.len] = '\0';
		if (r->tee)
			r->teed -= (size_t)n < r->teed ? (size_t)n : r->teed;
		if (split(r) == -1)
			return -1;
		if (!r->tee || r->teed == 0)
			return 0;
	}
	close(r->h_fd);
	r->h_fd = -1;
	r->h_eof = true;
	if (r->hbuf.len != r->hpos)
		return stage_fail(r->ctx, "'%s' stopped inside a record",
		    r->chain[r->nhead - 1]);
	return 0;
}

/* Put worker outputs back in order. */
static int
merge(struct run *r)
{
	struct worker *w;
	unsigned char hdr[5];
	const char *body;
	size_t used, hlen, blen;
	struct run_scan sc;
	uint64_t useq;
	int64_t seq;
	bool fast;
	int rc;

	while (r->next < r->assigned) {
		w = &r->w[(r->next / r->chunk) % (size_t)r->jobs];
		/* One pass frames the record and finds what emit needs. */
		fast = false;
		if (w->q.len == w->qpos)
			rc = MP_SHORT;
		else if (scan_rec(w->q.p + w->qpos, w->q.len - w->qpos, true,
		    &sc)) {
			rc = MP_OK;
			used = sc.n;
			fast = true;
		} else
			rc = rec_parse(&r->rec, w->q.p + w->qpos,
			    w->q.len - w->qpos, &used);
		if (rc == MP_BAD)
			return stage_fail(r->ctx, "worker wrote a malformed "
			    "stream");
		if (rc == MP_SHORT) {
			if (!w->eof)
				break;
			r->next++;	/* rejected by a worker stage */
			continue;
		}
		/* The tag is first: drop it without copying the pairs. */
		body = NULL;
		if (fast) {
			seq = (int64_t)sc.seq;
			hlen = mp_map_header(hdr, sc.nkeys);
			body = sc.body;
			blen = used - (size_t)(sc.body - (w->q.p + w->qpos));
		} else if (run_untag(&r->rec, hdr, &hlen, &body, &blen,
		    &useq))
			seq = (int64_t)useq;
		else if (rec_get_int(&r->rec, RUN_SEQ_KEY, &seq) == -1)
			seq = -1;
		if (seq < 0 || (uint64_t)seq < r->next)
			return stage_fail(r->ctx, "worker output lost its "
			    "sequence tag (a bug)");
		if ((uint64_t)seq > r->next) {
			r->next++;
			continue;
		}
		if (body == NULL) {
			buf_reset(&r->tmp);
			strip_key(&r->tmp, &r->rec, RUN_SEQ_KEY);
			hlen = 0;
			body = r->tmp.p;
			blen = r->tmp.len;
		}
		r->next++;
		/* r->rec still indexes the tagged copy: same fields. */
		if (!r->has_reply)
			;
		else if (fast)
			csv_row_parts(&r->csv, sc.id, sc.seller, sc.reply);
		else
			run_csv_row(&r->csv, &r->rec);
		if (emit(r, hdr, hlen, body, blen) == -1)
			return -1;
		w->qpos += used;
	}
	for (w = r->w; w < r->w + r->jobs; w++)
		compact(&w->q, &w->qpos);
	return 0;
}

static size_t	load_counts(struct run *, struct counts *);

/*
 * The records the chain will write, once known: the written count of the
 * last stage before the workers (dedupe) when it has exited, else an
 * upper bound, decode's, when decode has.
 */
static void
progress_expect(struct run *r)
{
	struct counts c[RUN_MAX_STAGES + 2];
	const char *last = r->chain[r->nhead - 1];
	bool decoded = false, head_done = false;
	size_t i, n;

	for (i = 0; i < r->nkids; i++) {
		if (!r->kids[i].done || r->kids[i].worker >= 0)
			continue;
		if (r->kids[i].pid == r->decode_pid)
			decoded = true;
		if (strcmp(r->kids[i].name, last) == 0)
			head_done = true;
	}
	if (!decoded || r->exact)
		return;
	n = load_counts(r, c);
	for (i = 0; i < n; i++) {
		if (head_done && strcmp(c[i].name, last) == 0) {
			r->expected = c[i].written;
			r->exact = true;
		} else if (r->expected == 0 &&
		    strcmp(c[i].name, r->chain[0]) == 0)
			r->expected = c[i].written;
	}
}

/*
 * One line, redrawn: while decode reads, how much of the input it has
 * read; after (dedupe holds every record until then), the records out
 * against those expected, their rate and the time left.
 */
static void
progress(struct run *r, bool final)
{
	double t = now_s() - r->t0, rate, mbs = 0, pct, eta;
	unsigned long long rchar;
	char path[64], line[256];
	FILE *fp;
	size_t i;
	bool decoded = false;

	if (!r->progress || (!final && now_s() - r->last_progress < 0.5))
		return;
	r->last_progress = now_s();
	/* Compressed bytes decode has read; all of them once it is done. */
	rchar = r->rchar;
	for (i = 0; i < r->nkids; i++)
		if (r->kids[i].pid == r->decode_pid && r->kids[i].done) {
			rchar = r->total_bytes;
			decoded = true;
		}
	if (rchar < r->total_bytes && r->decode_pid > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/io",
		    (long)r->decode_pid);
		if ((fp = fopen(path, "r")) != NULL) {
			while (fgets(line, sizeof(line), fp) != NULL)
				if (sscanf(line, "rchar: %llu", &rchar) == 1)
					break;
			fclose(fp);
		}
	}
	r->rchar = rchar;
	if (rchar > r->total_bytes)
		rchar = r->total_bytes;
	if (t > 0)
		mbs = (double)rchar / 1e6 / t;
	/* Output began after the last look that saw none. */
	if (r->nout == 0)
		r->t_out = now_s();
	if (!decoded && !final) {
		pct = r->total_bytes > 0 ? 100.0 * (double)rchar /
		    (double)r->total_bytes : 0;
		fprintf(stderr, "\r\033[Krevpipe run: reading the input, %.0f%%, "
		    "%.1f MB/s", pct, mbs);
		if (pct > 1 && pct < 100) {
			eta = t * (100 - pct) / pct;
			fprintf(stderr, ", %d:%02d to read", (int)eta / 60,
			    (int)eta % 60);
		}
		fprintf(stderr, "; %llu records out",
		    (unsigned long long)r->nout);
		fflush(stderr);
		return;
	}
	progress_expect(r);
	rate = r->t_out > 0 && now_s() > r->t_out ?
	    (double)r->nout / (now_s() - r->t_out) : 0;
	fprintf(stderr, "\r\033[Krevpipe run: input read; %llu records out",
	    (unsigned long long)r->nout);
	if (r->expected > 0 && r->nout <= r->expected) {
		pct = 100.0 * (double)r->nout / (double)r->expected;
		fprintf(stderr, " of %s%llu (%.0f%%)", r->exact ? "" : "at most ",
		    (unsigned long long)r->expected, pct);
		if (rate > 0 && !final) {
			eta = (double)(r->expected - r->nout) / rate;
			fprintf(stderr, ", %.0f rec/s, ETA %d:%02d", rate,
			    (int)eta / 60, (int)eta % 60);
		}
	}
	fflush(stderr);
}

static int
loop(struct run *r)
{
	struct pollfd pf[2 * RUN_MAX_JOBS + 4];
	int who[2 * RUN_MAX_JOBS + 4];
	size_t n, i;
	bool full, done;
	ssize_t wr;
	int rc;

	for (;;) {
		if (run_signal != 0)
			return -1;
		reap(r, false);
		/* Stop reading while an output is over the high-water mark. */
		full = run_q_pending(&r->out, RUN_STATS) > RUN_HIGH_WATER;
		for (i = 0; i < (size_t)r->jobs; i++)
			if (run_q_pending(&r->w[i].wq, 0) > RUN_HIGH_WATER)
				full = true;
		n = 0;
		if (r->h_fd != -1 && !full) {
			if (r->tee && r->tee_wait)
				pf[n] = (struct pollfd){ r->s_fd, POLLOUT, 0 };
			else
				pf[n] = (struct pollfd){ r->h_fd, POLLIN, 0 };
			who[n++] = -1;
		}
		for (i = 0; i < (size_t)r->jobs; i++) {
			struct worker *w = &r->w[i];

			if (w->in_fd != -1 && run_q_pending(&w->wq, 0) > 0) {
				pf[n] = (struct pollfd){ w->in_fd, POLLOUT, 0 };
				who[n++] = (int)(1000 + i);
			}
			if (w->out_fd != -1 && run_q_pending(&r->out,
			    RUN_STATS) <= RUN_HIGH_WATER) {
				pf[n] = (struct pollfd){ w->out_fd, POLLIN, 0 };
				who[n++] = (int)(2000 + i);
			}
		}
		if (r->s_fd != -1 && run_q_pending(&r->out, RUN_STATS) > 0) {
			pf[n] = (struct pollfd){ r->s_fd, POLLOUT, 0 };
			who[n++] = -2;
		}
		done = r->h_fd == -1;
		for (i = 0; i < (size_t)r->jobs; i++)
			if (r->w[i].in_fd != -1 || r->w[i].out_fd != -1)
				done = false;
		if (done && run_q_pending(&r->out, RUN_STATS) == 0) {
			if (r->s_fd != -1) {
				close(r->s_fd);
				r->s_fd = -1;
			}
			return 0;
		}
		if (n == 0) {
			/* Only possible while waiting on a full buffer. */
			poll(NULL, 0, 10);
			continue;
		}
		rc = poll(pf, n, 200);
		progress(r, false);
		if (rc == -1) {
			if (errno == EINTR)
				continue;
			return stage_fail_errno(r->ctx, "poll");
		}
		for (i = 0; i < n; i++) {
			if (pf[i].revents == 0)
				continue;
			if (who[i] == -1) {
				if (head_in(r, r->tee && r->tee_wait) == -1)
					return -1;
			} else if (who[i] == -2) {
				wr = run_q_write(&r->out, RUN_STATS, r->s_fd);
				if (wr == -1 && errno != EAGAIN &&
				    errno != EINTR)
					return stage_fail_errno(r->ctx,
					    "cannot write to stats");
			} else if (who[i] >= 2000) {
				struct worker *w = &r->w[who[i] - 2000];

				rc = fill(w->out_fd, &w->q, RUN_READ);
				if (rc == -1)
					return stage_fail_errno(r->ctx,
					    "cannot read from a worker");
				if (rc == 0) {
					close(w->out_fd);
					w->out_fd = -1;
					w->eof = true;
				}
				if (merge(r) == -1)
					return -1;
			} else {
				struct worker *w = &r->w[who[i] - 1000];

				wr = run_q_write(&w->wq, 0, w->in_fd);
				if (wr == -1 && errno != EAGAIN &&
				    errno != EINTR) {
					/* The worker died; it says why. */
					close(w->in_fd);
					w->in_fd = -1;
					run_q_drop(&w->wq, 0);
					continue;
				}
			}
		}
		/* After the head ends, close worker inputs once drained. */
		for (i = 0; i < (size_t)r->jobs && r->h_eof; i++) {
			struct worker *w = &r->w[i];

			if (w->in_fd != -1 && run_q_pending(&w->wq, 0) == 0) {
				close(w->in_fd);
				w->in_fd = -1;
			}
		}
		if (r->jobs > 0 && merge(r) == -1)
			return -1;
	}
}

/* ---- setup --------------------------------------------------------------- */

static int
parse_chain(struct run *r)
{
	const char *chain = opt_str(r->ctx, "chain");
	const char *par = opt_str(r->ctx, "parallel");
	const struct stage *st;
	char *copy, *p, *e;
	size_t i;

	if ((copy = strdup(chain)) == NULL)
		return stage_fail_errno(r->ctx, "out of memory");
	r->chain_buf = copy;	/* r->chain points into it */
	for (p = copy; p != NULL; p = e) {
		if ((e = strchr(p, ',')) != NULL)
			*e++ = '\0';
		while (*p == ' ')
			p++;
		if (*p == '\0')
			continue;
		if (r->nchain == RUN_MAX_STAGES)
			return stage_usage_error(r->ctx, "--chain: more than "
			    "%d stages", RUN_MAX_STAGES);
		if ((st = find_stage(p)) == NULL || st->tool != NULL ||
		    strcmp(p, "run") == 0)
			return stage_usage_error(r->ctx, "--chain: '%s' is not "
			    "a stage", p);
		if (r->nchain == 0 && st->source == NULL)
			return stage_usage_error(r->ctx, "--chain: the first "
			    "stage must read files ('%s' reads records)", p);
		if (r->nchain > 0 && st->process == NULL)
			return stage_usage_error(r->ctx, "--chain: '%s' cannot "
			    "read records", p);
		if (r->has_stats)
			return stage_usage_error(r->ctx, "--chain: stats must "
			    "be the last stage");
		if (strcmp(p, "stats") == 0)
			r->has_stats = true;
		else
			r->chain[r->nchain++] = p;
		if (strcmp(p, "reply") == 0)
			r->has_reply = true;
	}
	/* Parallel: the longest run of per-record stages at the end. */
	for (i = r->nchain; i > 1 && in_list(par, r->chain[i - 1]); i--)
		;
	r->nhead = i;
	r->npar = r->nchain - i;
	if (r->nchain == 0)
		return stage_usage_error(r->ctx, "--chain: no stages");
	return 0;
}

/*
 * One worker per core, as issue 8 asks.  On 2 cores one plain chain
 * (--jobs 1, no dealing) is about 5% faster on an idle machine, since
 * the head, run and stats already keep both cores busy (docs/run.md).
 */
static int
jobs_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > RUN_MAX_JOBS ? RUN_MAX_JOBS : (int)n;
}

static int
start(struct run *r, char **inputs, size_t ninputs)
{
	char *extra[RUN_MAX_STAGES + 8];
	char part[PATH_MAX], now_arg[128];
	int p[2], prev = -1, sp[2];
	size_t i, j, k;

	/* The head: decode INPUTS | ... */
	for (i = 0; i < r->nhead; i++) {
		k = 0;
		if (i == 0) {
			extra[k++] = (char *)"--";
			for (j = 0; j < ninputs && k < RUN_MAX_STAGES + 6; j++)
				extra[k++] = inputs[j];
		}
		extra[k] = NULL;
		if (make_pipe(p) == -1)
			return stage_fail_errno(r->ctx, "pipe");
		if (spawn(r, r->chain[i], -1, prev, p[1], extra) == -1)
			return -1;
		close(p[1]);
		if (prev != -1)
			close(prev);
		prev = p[0];
	}
	r->h_fd = prev;
	set_nonblock(r->h_fd);
	/* Worker sub-chains. */
	for (j = 0; j < (size_t)r->jobs; j++) {
		struct worker *w = &r->w[j];

		if (make_pipe(p) == -1)
			return stage_fail_errno(r->ctx, "pipe");
		w->in_fd = p[1];
		prev = p[0];
		for (i = r->nhead; i < r->nchain; i++) {
			if (make_pipe(p) == -1)
				return stage_fail_errno(r->ctx, "pipe");
			if (spawn(r, r->chain[i], (int)j, prev, p[1],
			    NULL) == -1)
				return -1;
			close(p[1]);
			close(prev);
			prev = p[0];
		}
		w->out_fd = prev;
		set_nonblock(w->in_fd);
		set_nonblock(w->out_fd);
	}
	r->s_fd = -1;
	/* One chain: reviews.msgpack is written from the read buffer. */
	if (r->jobs == 0)
		run_q_drop(&r->out, RUN_REVIEWS);
	if (!r->has_stats)
		run_q_drop(&r->out, RUN_STATS);
	else {
		if (make_pipe(sp) == -1)
			return stage_fail_errno(r->ctx, "pipe");
		tmp_path(r, part, sizeof(part), "stats.run.partial");
		k = 0;
		extra[k++] = (char *)"--partial";
		extra[k++] = part;
		if (opt_str(r->ctx, "now") != NULL) {
			snprintf(now_arg, sizeof(now_arg), "--now=%s",
			    opt_str(r->ctx, "now"));
			extra[k++] = now_arg;
		}
		extra[k] = NULL;
		if (spawn(r, "stats", -1, sp[0], -1, extra) == -1)
			return -1;
		close(sp[0]);
		r->s_fd = sp[1];
		set_nonblock(r->s_fd);
		if (r->jobs == 0) {
			r->tee = true;
			run_q_drop(&r->out, RUN_STATS);
		}
	}
	return 0;
}

/* ---- after the stream: stats, rejects, counts, manifest ------------------ */

static struct counts *
counts_find(struct counts *c, size_t *n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strlen(c[i].name) == len && memcmp(c[i].name, name,
		    len) == 0)
			return &c[i];
	if (*n == RUN_MAX_STAGES + 2)
		return NULL;
	memset(&c[*n], 0, sizeof(c[*n]));
	snprintf(c[*n].name, sizeof(c[*n].name), "%.*s", (int)len, name);
	return &c[(*n)++];
}

static uint64_t
jnum(const char *line, size_t n, const char *key)
{
	char pat[48];
	const char *p;
	uint64_t v = 0;
	size_t kn = (size_t)snprintf(pat, sizeof(pat), "\"%s\":", key);

	if ((p = memmem(line, n, pat, kn)) == NULL)
		return 0;
	for (p += kn; p < line + n && *p == ' '; p++)
		;
	for (; p < line + n && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

static size_t
load_counts(struct run *r, struct counts *c)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	const char *p, *nl, *s, *q, *end;
	struct counts *e;
	size_t n = 0;

	tmp_path(r, path, sizeof(path), "counts.jsonl");
	(void)fdio_read_file(path, &b);
	end = b.p + b.len;
	for (p = b.p; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((s = memmem(p, (size_t)(nl - p), "\"stage\":\"", 9)) ==
		    NULL)
			continue;
		s += 9;
		if ((q = memchr(s, '"', (size_t)(nl - s))) == NULL)
			continue;
		if ((e = counts_find(c, &n, s, (size_t)(q - s))) == NULL)
			continue;
		e->procs++;
		e->read += jnum(p, (size_t)(nl - p), "read");
		e->written += jnum(p, (size_t)(nl - p), "written");
		e->dups += jnum(p, (size_t)(nl - p), "duplicates");
		e->rejects += jnum(p, (size_t)(nl - p), "rejects");
		e->agg += jnum(p, (size_t)(nl - p), "aggregated");
	}
	buf_release(&b);
	return n;
}

struct rej {
	uint64_t	 seq;
	size_t		 off, len;	/* in the collected buffer */
};

static int
rej_cmp(const void *a, const void *b)
{
	const struct rej *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * The rejects of one parallel stage from all its workers, in input order
 * and without the sequence tag inside `raw`.
 */
static int
collect_worker_rejects(struct run *r, const char *stage, int fd)
{
	struct buf in = BUF_INIT, all = BUF_INIT, raw = BUF_INIT;
	struct rec rr = { 0 }, inner = { 0 };
	struct rej *v = NULL;
	size_t nv = 0, cap = 0, pos, used, i;
	char path[PATH_MAX], name[128];
	struct mp_val mv = { .type = MP_NIL };
	struct slice rs;
	int64_t seq;
	msgpack_packer pk;
	size_t iused;
	bool israw_map;
	int j, ret = -1;

	for (j = 0; j < r->jobs; j++) {
		snprintf(name, sizeof(name), "rejects.%s.%d.msgpack", stage, j);
		tmp_path(r, path, sizeof(path), name);
		buf_reset(&in);
		if (fdio_read_file(path, &in) == -1)
			continue;
		for (pos = 0; pos < in.len; pos += used) {
			if (rec_parse(&rr, in.p + pos, in.len - pos, &used) !=
			    MP_OK || used == 0)
				break;
			if (nv == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				if ((v = realloc(v, cap * sizeof(*v))) == NULL)
					goto out;
			}
			seq = INT64_MAX;
			buf_reset(&raw);
			israw_map = false;
			/* raw: the record (a map) or its bytes. */
			if (rec_get_raw(&rr, "raw", &rs) == 0 && rs.n > 0) {
				const unsigned char c = (unsigned char)rs.p[0];

				israw_map = (c & 0xf0) == 0x80 || c == 0xde ||
				    c == 0xdf;
				if (!israw_map &&
				    rec_get(&rr, "raw", &mv) == 0 &&
				    (mv.type == MP_BIN || mv.type == MP_STR))
					rs = mv.v.s;
				if ((israw_map || mv.type == MP_BIN ||
				    mv.type == MP_STR) && rec_parse(&inner,
				    rs.p, rs.n, &iused) == MP_OK &&
				    rec_get_int(&inner, RUN_SEQ_KEY, &seq) == 0)
					strip_key(&raw, &inner, RUN_SEQ_KEY);
			}
			v[nv].seq = (uint64_t)seq;
			v[nv].off = all.len;
			/* The reject map with raw replaced. */
			map_header(&all, rr.nkeys);
			for (i = 0; i < rr.nkeys; i++) {
				str_header(&all, rr.kv[i].key.n);
				buf_add(&all, rr.kv[i].key.p, rr.kv[i].key.n);
				if (slice_eq(rr.kv[i].key, "raw") && raw.len &&
				    israw_map)
					buf_add(&all, raw.p, raw.len);
				else if (slice_eq(rr.kv[i].key, "raw") &&
				    raw.len) {
					mp_packer_buf(&pk, &all);
					msgpack_pack_bin(&pk, raw.len);
					msgpack_pack_bin_body(&pk, raw.p,
					    raw.len);
				} else
					buf_add(&all, rr.kv[i].val,
					    rr.kv[i].vlen);
			}
			v[nv].len = all.len - v[nv].off;
			nv++;
		}
		unlink(path);
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), rej_cmp);
	for (i = 0; i < nv; i++)
		if (fdio_write_all(fd, all.p + v[i].off, v[i].len) == -1)
			goto out;
	ret = 0;
out:
	if (ret == -1)
		stage_fail_errno(r->ctx, "cannot collect rejects");
	free(v);
	rec_release(&rr);
	rec_release(&inner);
	buf_release(&in);
	buf_release(&all);
	buf_release(&raw);
	return ret;
}

/* rejects.new.msgpack: every stage's rejects in chain order. */
static int
collect_rejects(struct run *r)
{
	char path[PATH_MAX], one[PATH_MAX], name[128];
	size_t i;
	int fd, ret = 0;

	tmp_path(r, path, sizeof(path), "rejects.new.msgpack");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return stage_fail_errno(r->ctx, "cannot create '%s'", path);
	for (i = 0; i < r->nchain + (r->has_stats ? 1 : 0) && ret == 0; i++) {
		const char *st = i < r->nchain ? r->chain[i] : "stats";

		if (i >= r->nhead && i < r->nchain && r->jobs > 0) {
			ret = collect_worker_rejects(r, st, fd);
			continue;
		}
		snprintf(name, sizeof(name), "rejects.%s.msgpack", st);
		tmp_path(r, one, sizeof(one), name);
		if (append_file(fd, one) == -1)
			ret = stage_fail_errno(r->ctx, "cannot read '%s'", one);
		unlink(one);
	}
	if (close(fd) == -1 && ret == 0)
		ret = stage_fail_errno(r->ctx, "cannot write '%s'", path);
	return ret;
}

/* stats --merge of this run's partial (and the earlier state). */
static int
final_stats(struct run *r)
{
	char part[PATH_MAX], prev[PATH_MAX], cnt[PATH_MAX], rej[PATH_MAX];
	char cum[PATH_MAX], now_arg[128];
	char *argv[20];
	size_t n = 0;
	pid_t pid;
	int st;
	struct stat sb;

	tmp_path(r, part, sizeof(part), "stats.run.partial");
	out_path(r, prev, sizeof(prev), "stats.partial");
	tmp_path(r, cnt, sizeof(cnt), "counts.jsonl");
	tmp_path(r, rej, sizeof(rej), "rejects.new.msgpack");
	tmp_path(r, cum, sizeof(cum), "stats.partial");
	argv[n++] = (char *)"revpipe";
	argv[n++] = (char *)"stats";
	if (r->ctx->conf_path != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)r->ctx->conf_path;
	}
	argv[n++] = (char *)"-q";
	argv[n++] = (char *)"--stage-counts";
	argv[n++] = cnt;
	argv[n++] = (char *)"--rejects-in";
	argv[n++] = rej;
	argv[n++] = (char *)"--partial";
	argv[n++] = cum;
	argv[n++] = (char *)"-o";
	argv[n++] = r->tmpdir;
	if (opt_str(r->ctx, "now") != NULL) {
		snprintf(now_arg, sizeof(now_arg), "--now=%s",
		    opt_str(r->ctx, "now"));
		argv[n++] = now_arg;
	}
	argv[n++] = (char *)"--merge";
	argv[n++] = part;
	if (r->cumulative && stat(prev, &sb) == 0)
		argv[n++] = prev;
	argv[n] = NULL;
	fflush(stderr);
	if ((pid = fork()) == -1)
		return stage_fail_errno(r->ctx, "cannot start stats");
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR || run_signal != 0) {
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
			return -1;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return stage_fail(r->ctx, "stage 'stats' failed (merging the "
		    "partial state)");
	unlink(part);
	return 0;
}

static void
json_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_addc(b, '"');
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, *p);
		} else if (*p < 0x20)
			buf_addf(b, "\\u%04x", *p);
		else
			buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

static int
write_manifest(struct run *r, const struct earlier *old, struct counts *c,
    size_t nc, bool acct_ok, const char *acct_msg, uint64_t read,
    uint64_t dups, uint64_t rejects)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX], ts[32];
	const char *p, *nl, *end;
	time_t t = time(NULL);
	struct rusage ru;
	struct tm tm;
	size_t i, j, first = 1;
	int fd, ret = 0;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_adds(&b, "{\n  \"revpipe\": ");
	json_str(&b, revpipe_version());
	buf_adds(&b, ",\n  \"started\": ");
	json_str(&b, ts);
	buf_adds(&b, ",\n  \"chain\": [");
	for (i = 0; i < r->nchain; i++) {
		buf_adds(&b, i == 0 ? "" : ", ");
		json_str(&b, r->chain[i]);
	}
	if (r->has_stats)
		buf_adds(&b, r->nchain > 0 ? ", \"stats\"" : "\"stats\"");
	buf_addf(&b, "],\n  \"jobs\": %d,\n  \"inputs\": [", r->jobs);
	/* Earlier inputs first (their lines as written), then this run's. */
	if (r->cumulative && old->text.len > 0) {
		end = old->text.p + old->text.len;
		for (p = old->text.p; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			while (p < nl && *p == ' ')
				p++;
			if ((size_t)(nl - p) < 10 || memcmp(p, "{\"path\": ",
			    9) != 0)
				continue;
			buf_adds(&b, first ? "\n    " : ",\n    ");
			buf_add(&b, p, (size_t)(nl - p) - (nl[-1] == ',' ?
			    1 : 0));
			first = 0;
		}
	}
	for (i = 0; i < r->nin; i++) {
		if (r->in[i].skip)
			continue;
		buf_adds(&b, first ? "\n    " : ",\n    ");
		buf_adds(&b, "{\"path\": ");
		json_str(&b, r->in[i].path);
		buf_addf(&b, ", \"size\": %llu, \"xxh3\": \"%016llx\"}",
		    (unsigned long long)r->in[i].size,
		    (unsigned long long)r->in[i].xxh3);
		first = 0;
	}
	buf_adds(&b, first ? "],\n" : "\n  ],\n");
	buf_adds(&b, "  \"skipped\": [");
	for (i = 0, first = 1; i < r->nin; i++) {
		if (!r->in[i].skip)
			continue;
		buf_adds(&b, first ? "" : ", ");
		json_str(&b, r->in[i].path);
		first = 0;
	}
	buf_adds(&b, "],\n  \"stages\": [");
	for (i = 0; i < nc; i++) {
		buf_adds(&b, i == 0 ? "\n    {\"stage\": " :
		    ",\n    {\"stage\": ");
		json_str(&b, c[i].name);
		buf_addf(&b, ", \"processes\": %u, \"read\": %llu, "
		    "\"written\": %llu, \"duplicates\": %llu, \"rejects\": "
		    "%llu, \"aggregated\": %llu", c[i].procs,
		    (unsigned long long)c[i].read,
		    (unsigned long long)c[i].written,
		    (unsigned long long)c[i].dups,
		    (unsigned long long)c[i].rejects,
		    (unsigned long long)c[i].agg);
		{
			double u = 0, s = 0;
			long rss = 0;

			for (j = 0; j < r->nkids; j++)
				if (strcmp(r->kids[j].name, c[i].name) == 0) {
					u += r->kids[j].user_s;
					s += r->kids[j].sys_s;
					if (r->kids[j].maxrss_kb > rss)
						rss = r->kids[j].maxrss_kb;
				}
			buf_addf(&b, ", \"cpu_user_s\": %.3f, "
			    "\"cpu_sys_s\": %.3f, \"max_rss_mb\": %.1f}", u, s,
			    (double)rss / 1024);
		}
	}
	buf_adds(&b, nc == 0 ? "],\n" : "\n  ],\n");
	buf_addf(&b, "  \"accounting\": {\"check\": \"read = written + "
	    "duplicates + rejects\", \"read\": %llu, \"written\": %llu, "
	    "\"duplicates\": %llu, \"rejects\": %llu, \"ok\": %s",
	    (unsigned long long)read, (unsigned long long)r->nout,
	    (unsigned long long)dups, (unsigned long long)rejects,
	    acct_ok ? "true" : "false");
	if (!acct_ok) {
		buf_adds(&b, ", \"error\": ");
		json_str(&b, acct_msg);
	}
	getrusage(RUSAGE_SELF, &ru);
	buf_addf(&b, "},\n  \"timings\": {\"wall_s\": %.3f, "
	    "\"run_cpu_user_s\": %.3f, \"run_cpu_sys_s\": %.3f, "
	    "\"run_max_rss_mb\": %.1f},\n", now_s() - r->t0,
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	    (double)ru.ru_maxrss / 1024);
	buf_adds(&b, "  \"outputs\": [\"reviews.msgpack\", \"replies.csv\", "
	    "\"rejects.msgpack\"");
	if (r->has_stats)
		buf_adds(&b, ", \"stats.json\", \"report.html\", "
		    "\"stats.partial\"");
	buf_adds(&b, "]\n}\n");
	tmp_path(r, path, sizeof(path), "manifest.json");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || fdio_write_all(fd, b.p, b.len) == -1)
		ret = stage_fail_errno(r->ctx, "cannot write '%s'", path);
	if (fd != -1 && close(fd) == -1 && ret == 0)
		ret = stage_fail_errno(r->ctx, "cannot write '%s'", path);
	buf_release(&b);
	return ret;
}

/* Start a staged output from the earlier one when adding to it. */
static int
open_output(struct run *r, const char *name, const char *header, int *fdp)
{
	char path[PATH_MAX], prev[PATH_MAX];
	struct stat sb;
	int fd;

	tmp_path(r, path, sizeof(path), name);
	out_path(r, prev, sizeof(prev), name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return stage_fail_errno(r->ctx, "cannot create '%s'", path);
	*fdp = fd;
	if (r->cumulative && stat(prev, &sb) == 0) {
		if (append_file(fd, prev) == -1)
			return stage_fail_errno(r->ctx, "cannot copy '%s'",
			    prev);
	} else if (header != NULL &&
	    fdio_write_all(fd, header, strlen(header)) == -1)
		return stage_fail_errno(r->ctx, "cannot write '%s'", path);
	return 0;
}

static int
publish(struct run *r)
{
	static const char *const names[] = { "reviews.msgpack", "replies.csv",
	    "rejects.msgpack", "stats.json", "report.html", "stats.partial",
	    "manifest.json" };
	char from[PATH_MAX], to[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		tmp_path(r, from, sizeof(from), names[i]);
		out_path(r, to, sizeof(to), names[i]);
		if (access(from, F_OK) != 0)
			continue;
		if (rename(from, to) == -1)
			return stage_fail_errno(r->ctx, "cannot rename '%s' "
			    "to '%s'", from, to);
	}
	return 0;
}

static int
run_tool(struct stage_ctx *ctx)
{
	struct run run, *r = &run;
	struct earlier old = { BUF_INIT, 0 };
	struct counts c[RUN_MAX_STAGES + 2];
	struct sigaction sa;
	char path[PATH_MAX], msg[512], **torun = NULL;
	uint64_t read = 0, dups = 0, rejects = 0, prev_written = 0;
	size_t i, nc;
	int status = EXIT_RUNTIME, e;
	bool acct_ok = true;

	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->outdir = opt_str(ctx, "output");
	r->first_fail = -1;
	r->h_fd = r->s_fd = r->reviews_fd = r->csv_fd = -1;
	r->chunk = (size_t)opt_int(ctx, "chunk");
	r->t0 = now_s();
	buf_init(&r->hbuf);
	run_q_init(&r->out, 2);
	buf_init(&r->csv);
	buf_init(&r->tmp);
	msg[0] = '\0';

	if (ctx->argc == 0) {
		stage_usage_error(ctx, "no inputs (name the export files)");
		return EXIT_USAGE;
	}
	if (parse_chain(r) == -1) {
		free(r->chain_buf);
		return EXIT_USAGE;
	}
	r->jobs = (int)opt_int(ctx, "jobs");
	if (r->jobs == 0)
		r->jobs = jobs_default();
	if (r->npar == 0 || r->jobs == 1)
		r->jobs = 0;	/* one plain chain, no dealing */
	if (r->jobs > 0) {
		r->nhead = r->nchain - r->npar;
		if ((r->w = calloc((size_t)r->jobs, sizeof(*r->w))) == NULL) {
			stage_fail_errno(ctx, "out of memory");
			free(r->chain_buf);
			return EXIT_RUNTIME;
		}
		for (i = 0; i < (size_t)r->jobs; i++) {
			run_q_init(&r->w[i].wq, 1);
			buf_init(&r->w[i].q);
			r->w[i].in_fd = r->w[i].out_fd = -1;
		}
	} else
		r->nhead = r->nchain;
	r->progress = opt_flag(ctx, "progress") ||
	    (isatty(STDERR_FILENO) && ctx->verbose >= 0);

	/* Inputs: size and xxh3, skipped when an earlier run had them. */
	if ((r->in = calloc((size_t)ctx->argc, sizeof(*r->in))) == NULL ||
	    (torun = calloc((size_t)ctx->argc + 1, sizeof(*torun))) == NULL) {
		stage_fail_errno(ctx, "out of memory");
		goto out;
	}
	r->nin = (size_t)ctx->argc;
	if (mkdir(r->outdir, 0777) == -1 && errno != EEXIST) {
		stage_fail_errno(ctx, "cannot create '%s'", r->outdir);
		goto out;
	}
	remove_stale(r);
	out_path(r, path, sizeof(path), "manifest.json");
	if (!opt_flag(ctx, "force") && fdio_read_file(path, &old.text) == 0)
		r->cumulative = true;
	for (i = 0; i < r->nin; i++) {
		r->in[i].path = ctx->argv[i];
		if (input_size(r, &r->in[i]) == -1)
			goto out;
		/* Only a size seen before needs the hash now. */
		if (r->cumulative && !r->in[i].hashed &&
		    earlier_has(&old, &r->in[i], true) &&
		    hash_input(r, &r->in[i]) == -1)
			goto out;
		if (r->cumulative && r->in[i].hashed &&
		    earlier_has(&old, &r->in[i], false)) {
			r->in[i].skip = true;
			if (ctx->verbose >= 0)
				fprintf(stderr, "revpipe run: '%s' is in '%s' "
				    "already, skipped (--force to redo)\n",
				    r->in[i].path, path);
			continue;
		}
		r->total_bytes += r->in[i].size;
		torun[r->nrun++] = r->in[i].path;
	}
	if (r->nrun == 0) {
		if (ctx->verbose >= 0)
			fprintf(stderr, "revpipe run: nothing new to do in "
			    "'%s'\n", r->outdir);
		status = EXIT_OK;
		goto out;
	}

	if ((size_t)snprintf(r->tmpdir, sizeof(r->tmpdir),
	    "%s/.revpipe-run.%ld", r->outdir, (long)getpid()) >=
	    sizeof(r->tmpdir)) {
		r->tmpdir[0] = '\0';
		stage_usage_error(ctx, "'%s': path too long", r->outdir);
		status = EXIT_USAGE;
		goto out;
	}
	if (mkdir(r->tmpdir, 0700) == -1) {
		stage_fail_errno(ctx, "cannot create '%s'", r->tmpdir);
		r->tmpdir[0] = '\0';
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (open_output(r, "reviews.msgpack", NULL, &r->reviews_fd) == -1 ||
	    open_output(r, "replies.csv", run_csv_header, &r->csv_fd) == -1)
		goto fail;
	fdio_behind_init(&r->reviews_wb, r->reviews_fd);
	fdio_behind_init(&r->csv_wb, r->csv_fd);

	if (hasher_start(r, &r->hasher) == -1)
		goto fail;
	if (start(r, torun, r->nrun) == -1 || loop(r) == -1) {
		kill_all(r, SIGTERM);
		goto fail;
	}
	if (flush_reviews(r) == -1 || flush_file(r, r->csv_fd, &r->csv_wb,
	    &r->csv, "replies.csv") == -1)
		goto fail;
	while (!all_reaped(r) && run_signal == 0)
		reap(r, true);
	if (run_signal != 0)
		goto fail;
	progress(r, true);
	if (r->progress)
		fputc('\n', stderr);
	if (r->first_fail != -1)
		goto fail;
	if (close(r->reviews_fd) == -1 || close(r->csv_fd) == -1) {
		r->reviews_fd = r->csv_fd = -1;
		stage_fail_errno(ctx, "cannot write outputs");
		goto fail;
	}
	r->reviews_fd = r->csv_fd = -1;

	/* Rejects, then stats over them, then the accounting check. */
	if (collect_rejects(r) == -1)
		goto fail;
	if (r->has_stats && final_stats(r) == -1)
		goto fail;
	{
		int fd;
		char rej[PATH_MAX], nrej[PATH_MAX];

		tmp_path(r, nrej, sizeof(nrej), "rejects.new.msgpack");
		if (open_output(r, "rejects.msgpack", NULL, &fd) == -1)
			goto fail;
		tmp_path(r, rej, sizeof(rej), "rejects.msgpack");
		e = append_file(fd, nrej);
		if (close(fd) == -1 || e == -1) {
			stage_fail_errno(ctx, "cannot write '%s'", rej);
			goto fail;
		}
		unlink(nrej);
	}
	nc = load_counts(r, c);
	/* Order the counts as the chain. */
	{
		struct counts sorted[RUN_MAX_STAGES + 2];
		size_t k = 0, j;

		for (i = 0; i <= r->nchain; i++) {
			const char *name = i < r->nchain ? r->chain[i] :
			    "stats";

			for (j = 0; j < nc; j++)
				if (strcmp(c[j].name, name) == 0)
					sorted[k++] = c[j];
		}
		memcpy(c, sorted, k * sizeof(c[0]));
		nc = k;
	}
	for (i = 0; i < nc; i++) {
		if (c[i].read != c[i].written + c[i].dups + c[i].rejects +
		    c[i].agg && acct_ok) {
			snprintf(msg, sizeof(msg), "stage '%.31s': %llu "
			    "read != %llu written + %llu duplicates + %llu "
			    "rejects",
			    c[i].name, (unsigned long long)c[i].read,
			    (unsigned long long)c[i].written,
			    (unsigned long long)c[i].dups,
			    (unsigned long long)c[i].rejects);
			acct_ok = false;
		}
		if (i > 0 && c[i].read != prev_written && acct_ok) {
			snprintf(msg, sizeof(msg), "stage '%.31s' read %llu "
			    "records but '%.31s' wrote %llu", c[i].name,
			    (unsigned long long)c[i].read, c[i - 1].name,
			    (unsigned long long)prev_written);
			acct_ok = false;
		}
		prev_written = c[i].written;
		if (strcmp(c[i].name, "stats") != 0) {
			dups += c[i].dups;
			rejects += c[i].rejects;
		}
	}
	if (nc > 0)
		read = c[0].read;
	if (nc != r->nchain + (r->has_stats ? 1 : 0) && acct_ok) {
		snprintf(msg, sizeof(msg), "counts missing: %zu of %zu stages "
		    "reported", nc, r->nchain + (r->has_stats ? 1 : 0));
		acct_ok = false;
	}
	if (acct_ok && read != r->nout + dups + rejects) {
		snprintf(msg, sizeof(msg), "%llu read != %llu written + %llu "
		    "duplicates + %llu rejects", (unsigned long long)read,
		    (unsigned long long)r->nout, (unsigned long long)dups,
		    (unsigned long long)rejects);
		acct_ok = false;
	}
	if (hasher_join(r, &r->hasher, false) == -1 ||
	    write_manifest(r, &old, c, nc, acct_ok, msg, read, dups,
	    rejects) == -1)
		goto fail;
	if (!acct_ok) {
		fprintf(stderr, "revpipe run: accounting check failed: %s "
		    "(outputs left in '%s')\n", msg, r->tmpdir);
		status = EXIT_ACCOUNTING;
		r->tmpdir[0] = '\0';	/* keep them for the bug report */
		goto out;
	}
	if (run_signal != 0 || publish(r) == -1)
		goto fail;
	{
		double t = now_s() - r->t0;
		uint64_t bytes = r->total_bytes;

		fprintf(stderr, "revpipe run: %zu input%s (%zu skipped), "
		    "%llu read, %llu written, %llu duplicates, %llu rejects "
		    "in %.2f s (%.0f rec/s, %.1f MB/s) -> %s\n", r->nrun,
		    r->nrun == 1 ? "" : "s", r->nin - r->nrun,
		    (unsigned long long)read, (unsigned long long)r->nout,
		    (unsigned long long)dups, (unsigned long long)rejects, t,
		    t > 0 ? (double)read / t : 0,
		    t > 0 ? (double)bytes / 1e6 / t : 0, r->outdir);
	}
	status = EXIT_OK;
	goto out;

fail:
	if (run_signal != 0) {
		kill_all(r, SIGTERM);
		while (!all_reaped(r))
			if (wait4(-1, NULL, 0, NULL) == -1 && errno == ECHILD)
				break;
		if (r->progress)
			fputc('\n', stderr);
		fprintf(stderr, "revpipe run: stopped by %s; nothing written "
		    "to '%s'\n", strsignal(run_signal), r->outdir);
		status = 128 + run_signal;
	} else {
		int had = r->first_fail;

		kill_all(r, SIGTERM);
		while (!all_reaped(r))
			reap(r, true);
		r->first_fail = had == -1 ? -1 : blame(r);
		if (r->first_fail != -1) {
			struct child *k = &r->kids[r->first_fail];

			status = child_exit(k);
			fprintf(stderr, "revpipe run: stage '%s'%s failed "
			    "(exit %d); nothing written to '%s'\n", k->name,
			    k->worker >= 0 ? " (a worker)" : "", status,
			    r->outdir);
		} else
			status = EXIT_RUNTIME;
	}
out:
	(void)hasher_join(r, &r->hasher, true);
	if (r->reviews_fd != -1)
		close(r->reviews_fd);
	if (r->csv_fd != -1)
		close(r->csv_fd);
	if (r->h_fd != -1)
		close(r->h_fd);
	if (r->s_fd != -1)
		close(r->s_fd);
	for (i = 0; r->w != NULL && i < (size_t)r->jobs; i++) {
		if (r->w[i].in_fd != -1)
			close(r->w[i].in_fd);
		if (r->w[i].out_fd != -1)
			close(r->w[i].out_fd);
		run_q_release(&r->w[i].wq);
		buf_release(&r->w[i].q);
	}
	remove_dir(r->tmpdir);
	free(r->w);
	free(r->chain_buf);
	free(r->in);
	free(torun);
	rec_release(&r->rec);
	buf_release(&r->hbuf);
	run_q_release(&r->out);
	buf_release(&r->csv);
	buf_release(&r->tmp);
	buf_release(&old.text);
	return status;
}

const struct stage run_stage = {
	.name = "run",
	.summary = "run the whole chain from pipeline.conf: workers, outputs, "
	    "manifest",
	.usage = "INPUT...",
	.opts = run_opts,
	.tool = run_tool,
};
