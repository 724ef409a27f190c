/*
 * slurm - run the chain as Slurm job arrays, or the same tasks locally.
 *
 *     revpipe slurm submit [-c conf] --run DIR [options] INPUT...
 *     revpipe slurm submit --run DIR --resume
 *     revpipe slurm submit --run DIR --prepare INPUT...
 *     revpipe slurm status --run DIR [--wait]
 *
 * submit writes three bash task scripts into DIR/tasks/ and submits them
 * with sbatch:
 *
 *   map     array 0..M-1: task i decodes its group of inputs (contiguous,
 *           --group per task) and runs `partition --shard i --parts P`
 *           into DIR/map/sIIII/part-PPPP.msgpack;
 *   reduce  array 0..P-1, afterok:map: task p concatenates part p of every
 *           map output in shard order and runs the rest of the chain
 *           (dedupe, langid, classify, reply), tee'd into
 *           DIR/reduce/pPPPP/out.msgpack and `stats --partial`;
 *   merge   afterok:reduce: `gather` puts the records back in input order
 *           (reviews.msgpack, replies.csv), rejects and counts are
 *           concatenated, `stats --merge` writes stats.json, report.html
 *           and stats.partial, `slurm manifest` writes manifest.json.
 *
 * Both dependencies use --kill-on-invalid-dep=yes: a failed task cancels
 * what depends on it instead of leaving it pending forever.  Every task
 * writes into a temporary directory named after its job id and renames
 * it when complete, and a task's outputs depend only on its index, so
 * submitting failed task ids again (`--resume` does it: it resubmits the
 * map and reduce tasks whose outputs are missing, then the merge; or by
 * hand, `sbatch --array=3,17 DIR/tasks/map.sh`) is safe.
 *
 * The outputs equal those of `revpipe run` over the same inputs: see
 * stages/partition.c for why dedupe per partition is exact and how the
 * input order comes back.  The rejects hold the same records, in another
 * order, and those rejected after partition carry the _pos key.
 *
 * --local runs the same scripts on this machine, --jobs at a time, map
 * tasks first, then reduce, then merge (a failed map stops the run as
 * afterok would).  Tasks only read SLURM_ARRAY_TASK_ID and SLURM_JOB_ID.
 *
 * Site options (--partition, --account, --time, --mem, --qos, --cpus,
 * --sbatch-args) come from the command line or the [slurm] section of
 * pipeline.conf; the chain from --chain, else [run] chain in the conf.
 * DIR, the inputs and the binary (--revpipe) must be at the same path on
 * every node.
 *
 * Exit status: 0; 1 when a task failed (status and --wait name it) or
 * sbatch failed; 2 for usage errors.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "conf.h"
#include "stage.h"
#include "fdio.h"
#include "banned.h"

#define SLURM_MAX_STAGES	16
#define SLURM_DEF_CHAIN	"decode,dedupe,langid,classify,reply,stats"
#define SLURM_POLL_MS	250

static const struct opt slurm_opts[] = {
	{ "run", 'r', OPT_STR, "DIR", NULL, 0, 0,
	  "run directory (scripts, intermediate files, logs); on a "
	  "filesystem every node sees" },
	{ "output", 'o', OPT_STR, "DIR", NULL, 0, 0,
	  "final outputs, as revpipe run writes them (default: RUN/out)" },
	{ "parts", 'P', OPT_INT, "P", "16", 1, 10000,
	  "reduce tasks (hash partitions of the records)" },
	{ "group", 0, OPT_INT, "N", "0", 0, 1e9,
	  "inputs per map task (0: one, or more when there are more inputs "
	  "than --max-array)" },
	{ "max-array", 0, OPT_INT, "N", "1000", 1, 1e9,
	  "most tasks in one array (the cluster's MaxArraySize)" },
	{ "throttle", 0, OPT_INT, "N", "0", 0, 1e9,
	  "run at most N tasks of an array at once (0: no limit)" },
	{ "partition", 'p', OPT_STR, "NAME", NULL, 0, 0,
	  "sbatch --partition" },
	{ "account", 'A', OPT_STR, "NAME", NULL, 0, 0, "sbatch --account" },
	{ "qos", 0, OPT_STR, "NAME", NULL, 0, 0, "sbatch --qos" },
	{ "time", 't', OPT_STR, "TIME", NULL, 0, 0,
	  "sbatch --time, for every task" },
	{ "mem", 0, OPT_STR, "SIZE", NULL, 0, 0, "sbatch --mem, per task" },
	{ "cpus", 0, OPT_INT, "N", "1", 1, 4096,
	  "sbatch --cpus-per-task (a task's stages run as processes)" },
	{ "sbatch-args", 0, OPT_STR, "ARGS", NULL, 0, 0,
	  "more sbatch options, separated by spaces" },
	{ "chain", 0, OPT_STR, "LIST", NULL, 0, 0,
	  "the stages (default: [run] chain of the conf, else "
	  SLURM_DEF_CHAIN ")" },
	{ "key", 0, OPT_STR, "KEY", "group", 0, 0,
	  "partition --key: group (exact) or exact (even spread)" },
	{ "now", 0, OPT_STR, "TIME", NULL, 0, 0, "passed to stats --now" },
	{ "revpipe", 0, OPT_STR, "PATH", NULL, 0, 0,
	  "the binary the tasks run (default: this one)" },
	{ "local", 'l', OPT_FLAG, NULL, NULL, 0, 0,
	  "run the tasks on this machine, without Slurm" },
	{ "jobs", 'j', OPT_INT, "N", "0", 0, 4096,
	  "--local: tasks at once (0: one per core)" },
	{ "prepare", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "write RUN (scripts, inputs.txt, job.env) and start nothing: run "
	  "the task scripts yourself (several plain hosts)" },
	{ "resume", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "submit again the tasks of RUN whose outputs are missing" },
	{ "wait", 'w', OPT_FLAG, NULL, NULL, 0, 0,
	  "wait until the run is done or failed" },
	{ "timeout", 0, OPT_INT, "SECONDS", "0", 0, 1e9,
	  "--wait: give up after SECONDS (0: never)" },
	{ "dir", 0, OPT_STR, "DIR", NULL, 0, 0,
	  "manifest: the merge task's temporary directory" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

struct slurm {
	struct stage_ctx *ctx;
	char		*run;		/* absolute */
	char		*out;		/* absolute */
	char		*exe, *cwd, *conf;
	char		*chainbuf;
	char		*by;		/* [dedupe] by, for partition */
	const char	*chain[SLURM_MAX_STAGES];
	size_t		 nchain, nmap;	/* map = chain[0 .. nmap) */
	bool		 has_stats;
	long		 parts, group, ntasks, ninputs;
	long long	 submitted;
	char		 jobid[3][32];	/* map, reduce, merge */
	bool		 usage;		/* a usage error was recorded */
};

static const char *const task_names[3] = { "map", "reduce", "merge" };

/* stage_usage_error() that the tool can see: exit 2, not 1. */
static int
slurm_usage(struct slurm *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
slurm_usage(struct slurm *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->usage = true;
	return stage_usage_error(s->ctx, "%s", msg);
}

/* ---- small helpers ------------------------------------------------------- */

static char *
xstrdup(struct stage_ctx *ctx, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		stage_fail_errno(ctx, "out of memory");
	return p;
}

static char *
path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* An absolute version of path (need not exist), or NULL. */
static char *
absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	return path_join(cwd, path);
}

/* Append s to b as one bash word in single quotes. */
static void
sh_quote(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '\'');
}

/* Write b to run/name through a temporary name; mode as for chmod. */
static int
write_file(struct slurm *s, const char *name, const struct buf *b,
    mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	ssize_t w;
	size_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->run, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return stage_fail_errno(s->ctx, "cannot create '%s'", tmp);
	while (off < b->len) {
		if ((w = write(fd, b->p + off, b->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			stage_fail_errno(s->ctx, "cannot write '%s'", tmp);
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		stage_fail_errno(s->ctx, "cannot write '%s'", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static bool
exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool
exists(const char *fmt, ...)
{
	char path[PATH_MAX];
	struct stat sb;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return stat(path, &sb) == 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the run's parameters: RUN/job.env ----------------------------------- */

/*
 * job.env is sourced by the task scripts; it is also read back here
 * (status, --resume): lines KEY=value or KEY='value'.
 */
static int
env_get(const struct buf *env, const char *key, char *out, size_t n)
{
	const char *p = env->p, *end = env->p + env->len, *nl;
	size_t k = strlen(key), o = 0;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) <= k || memcmp(p, key, k) != 0 ||
		    p[k] != '=')
			continue;
		for (p += k + 1; p < nl && o + 1 < n; p++) {
			if (*p == '\'') {
				if (nl - p >= 4 && memcmp(p, "'\\''", 4) == 0) {
					out[o++] = '\'';
					p += 3;
				}
				continue;
			}
			out[o++] = *p;
		}
		out[o] = '\0';
		return 0;
	}
	return -1;
}

static long
env_long(const struct buf *env, const char *key)
{
	char v[64], *e;
	long x;

	if (env_get(env, key, v, sizeof(v)) == -1)
		return -1;
	x = strtol(v, &e, 10);
	return *e == '\0' ? x : -1;
}

static int
load_env(struct slurm *s)
{
	struct buf env = BUF_INIT;
	char path[PATH_MAX], v[PATH_MAX];
	int ret = -1;

	snprintf(path, sizeof(path), "%s/job.env", s->run);
	if (fdio_read_file(path, &env) == -1) {
		stage_fail_errno(s->ctx, "'%s' is not a run directory: cannot "
		    "read '%s'", s->run, path);
		goto out;
	}
	s->parts = env_long(&env, "P");
	s->ntasks = env_long(&env, "NMAP");
	s->group = env_long(&env, "GROUP");
	s->ninputs = env_long(&env, "NINPUTS");
	s->submitted = env_long(&env, "SUBMITTED");
	s->has_stats = env_long(&env, "STATS") == 1;
	if (s->parts < 1 || s->ntasks < 1 || s->group < 1 ||
	    env_get(&env, "OUT", v, sizeof(v)) == -1) {
		stage_fail(s->ctx, "'%s': damaged", path);
		goto out;
	}
	free(s->out);
	if ((s->out = xstrdup(s->ctx, v)) == NULL)
		goto out;
	ret = 0;
out:
	buf_release(&env);
	return ret;
}

/* ---- writing the run directory ----------------------------------------- */

static int
parse_chain(struct slurm *s)
{
	struct stage_ctx *ctx = s->ctx;
	const char *list = opt_str(ctx, "chain");
	struct conf c = { 0 };
	const char *by = NULL;
	char err[256], *p, *e;
	size_t i;

	/*
	 * partition must group records by dedupe's --by fields: [dedupe] by
	 * of the conf, unless [partition] by says otherwise (the partition
	 * process reads that itself).
	 */
	if (ctx->conf_path != NULL &&
	    conf_load(&c, ctx->conf_path, err, sizeof(err)) == 0) {
		if (list == NULL)
			list = conf_get(&c, "run", "chain", NULL);
		if (conf_get(&c, "partition", "by", NULL) == NULL)
			by = conf_get(&c, "dedupe", "by", NULL);
	}
	s->chainbuf = strdup(list != NULL ? list : SLURM_DEF_CHAIN);
	s->by = strdup(by != NULL ? by : "");
	conf_release(&c);
	if (s->chainbuf == NULL || s->by == NULL)
		return stage_fail_errno(ctx, "out of memory");
	for (p = s->chainbuf; p != NULL; p = e) {
		if ((e = strchr(p, ',')) != NULL)
			*e++ = '\0';
		while (*p == ' ')
			p++;
		if (*p == '\0')
			continue;
		if (s->has_stats)
			return slurm_usage(s, "--chain: stats must be "
			    "the last stage");
		if (strcmp(p, "stats") == 0) {
			s->has_stats = true;
			continue;
		}
		if (s->nchain == SLURM_MAX_STAGES)
			return slurm_usage(s, "--chain: more than %d "
			    "stages", SLURM_MAX_STAGES);
		for (i = 0; p[i] != '\0'; i++)
			if (!islower((unsigned char)p[i]) &&
			    !isdigit((unsigned char)p[i]) && p[i] != '-' &&
			    p[i] != '_')
				return slurm_usage(s, "--chain: '%s' is "
				    "not a stage", p);
		s->chain[s->nchain++] = p;
	}
	if (s->nchain == 0)
		return slurm_usage(s, "--chain: no stages");
	/* The map side: everything before dedupe (at least the reader). */
	for (s->nmap = 1; s->nmap < s->nchain; s->nmap++)
		if (strcmp(s->chain[s->nmap], "dedupe") == 0)
			break;
	return 0;
}

/* Lines shared by the three scripts: strict bash, the run's variables. */
static void
script_head(struct slurm *s, struct buf *b, const char *what)
{
	buf_addf(b, "#!/bin/bash\n"
	    "# revpipe slurm: %s task, written by 'revpipe slurm submit'.\n"
	    "# Runs under sbatch or locally; reads SLURM_ARRAY_TASK_ID and "
	    "SLURM_JOB_ID.\n"
	    "set -euo pipefail\n"
	    "RUN=", what);
	sh_quote(b, s->run);
	buf_adds(b, "\n. \"$RUN/job.env\"\n"
	    "id=${SLURM_JOB_ID:-local$$}\n"
	    "cd \"$CWD\"\n");
}

/*
 * The EXIT trap: drop the temporary folder, leave a failure marker.
 * scancel and time limits send TERM, which must run it too.
 */
static void
script_trap(struct buf *b, const char *task, const char *var)
{
	buf_addf(b, "mkdir -p \"$RUN/failed\"\n"
	    "rm -f \"$RUN/failed/%s-$%s\"\n"
	    "trap 'rc=$?; if [ $rc -ne 0 ]; then rm -rf \"$tmp\"; "
	    "echo \"$rc $id\" > \"$RUN/failed/%s-$%s\"; "
	    "echo \"revpipe slurm: %s task $%s failed (exit $rc)\" >&2; fi' "
	    "EXIT\n"
	    "trap 'exit 143' TERM\n"
	    "rm -rf \"$tmp\"\nmkdir -p \"$tmp\"\n", task, var, task, var,
	    task, var);
}

static void
stage_cmd(struct buf *b, const char *name)
{
	buf_addf(b, "\"$REVPIPE\" %s \"${COMMON[@]}\" "
	    "--rejects \"$tmp/rejects.%s.msgpack\" "
	    "--counts \"$tmp/counts.jsonl\"", name, name);
}

static int
write_scripts(struct slurm *s)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc = -1;

	/* map */
	script_head(s, &b, "map");
	buf_adds(&b, "i=${SLURM_ARRAY_TASK_ID:?not an array task}\n"
	    "out=$(printf '%s/map/s%04d' \"$RUN\" \"$i\")\n"
	    "tmp=$(printf '%s/map/.s%04d.tmp.%s' \"$RUN\" \"$i\" \"$id\")\n");
	script_trap(&b, "map", "i");
	buf_adds(&b, "mapfile -t inputs < <(sed -n "
	    "\"$((i * GROUP + 1)),$(((i + 1) * GROUP))p\" "
	    "\"$RUN/inputs.txt\")\n"
	    "[ ${#inputs[@]} -gt 0 ] || { echo \"revpipe slurm: map task $i: "
	    "no inputs\" >&2; exit 2; }\n");
	for (i = 0; i < s->nmap; i++) {
		stage_cmd(&b, s->chain[i]);
		buf_adds(&b, i == 0 ? " -- \"${inputs[@]}\" \\\n\t| " :
		    " \\\n\t| ");
	}
	buf_adds(&b, "\"$REVPIPE\" partition \"${COMMON[@]}\" "
	    "--counts \"$tmp/partition.counts\" --parts \"$P\" "
	    "--shard \"$i\" --key \"$KEY\" ${BY:+--by \"$BY\"} "
	    "--out \"$tmp\"\n"
	    "rm -rf \"$out\"\nmv \"$tmp\" \"$out\"\n");
	if (write_file(s, "tasks/map.sh", &b, 0755) == -1)
		goto out;

	/* reduce */
	buf_reset(&b);
	script_head(s, &b, "reduce");
	buf_adds(&b, "p=${SLURM_ARRAY_TASK_ID:?not an array task}\n"
	    "out=$(printf '%s/reduce/p%04d' \"$RUN\" \"$p\")\n"
	    "tmp=$(printf '%s/reduce/.p%04d.tmp.%s' \"$RUN\" \"$p\" \"$id\")\n");
	script_trap(&b, "reduce", "p");
	buf_adds(&b, "files=()\n"
	    "for ((s = 0; s < NMAP; s++)); do\n"
	    "\tf=$(printf '%s/map/s%04d/part-%04d.msgpack' \"$RUN\" \"$s\" "
	    "\"$p\")\n"
	    "\t[ -f \"$f\" ] || { echo \"revpipe slurm: reduce task $p: "
	    "no '$f' (map task $s not done)\" >&2; exit 1; }\n"
	    "\tfiles+=(\"$f\")\n"
	    "done\n"
	    "# Shard order = input order: dedupe keeps the same survivors as "
	    "one run.\n"
	    "cat -- \"${files[@]}\"");
	for (i = s->nmap; i < s->nchain; i++) {
		buf_adds(&b, " \\\n\t| ");
		stage_cmd(&b, s->chain[i]);
	}
	if (s->has_stats) {
		buf_adds(&b, " \\\n\t| tee \"$tmp/out.msgpack\" \\\n\t| ");
		stage_cmd(&b, "stats");
		buf_adds(&b, " --partial \"$tmp/stats.partial\"\n");
	} else
		buf_adds(&b, " > \"$tmp/out.msgpack\"\n");
	buf_adds(&b, "rm -rf \"$out\"\nmv \"$tmp\" \"$out\"\n");
	if (write_file(s, "tasks/reduce.sh", &b, 0755) == -1)
		goto out;

	/* merge */
	buf_reset(&b);
	script_head(s, &b, "merge");
	buf_adds(&b, "m=0\n"
	    "mkdir -p \"$OUT\"\n"
	    "tmp=\"$OUT/.revpipe-slurm.$id\"\n");
	script_trap(&b, "merge", "m");
	buf_adds(&b, "rm -f \"$RUN/merge.done\"\n"
	    "outs=() parts=()\n"
	    "for ((p = 0; p < P; p++)); do\n"
	    "\td=$(printf '%s/reduce/p%04d' \"$RUN\" \"$p\")\n"
	    "\t[ -f \"$d/out.msgpack\" ] || { echo \"revpipe slurm: merge: "
	    "no '$d' (reduce task $p not done)\" >&2; exit 1; }\n"
	    "\touts+=(\"$d/out.msgpack\")\n"
	    "\t[ \"$STATS\" != 1 ] || parts+=(\"$d/stats.partial\")\n"
	    "done\n"
	    "maps=()\n"
	    "for ((s = 0; s < NMAP; s++)); do\n"
	    "\tmaps+=(\"$(printf '%s/map/s%04d' \"$RUN\" \"$s\")\")\n"
	    "done\n"
	    "\"$REVPIPE\" gather \"${COMMON[@]}\" -q "
	    "--counts \"$tmp/gather.counts\" --csv \"$tmp/replies.csv\" "
	    "-- \"${outs[@]}\" > \"$tmp/reviews.msgpack\"\n"
	    "# Rejects and counts stage by stage, in chain order.\n"
	    ": > \"$tmp/rejects.msgpack\"\n: > \"$tmp/counts.jsonl\"\n"
	    ": > \"$tmp/shuffle.counts\"\n"
	    "for d in \"${maps[@]}\"; do\n"
	    "\tcat \"$d/counts.jsonl\" >> \"$tmp/counts.jsonl\"\n"
	    "\tcat \"$d/partition.counts\" >> \"$tmp/shuffle.counts\"\n"
	    "done\n"
	    "for d in \"${outs[@]}\"; do\n"
	    "\tcat \"${d%/out.msgpack}/counts.jsonl\" >> \"$tmp/counts.jsonl\"\n"
	    "done\n"
	    "cat \"$tmp/gather.counts\" >> \"$tmp/shuffle.counts\"\n"
	    "for st in $MAP_STAGES; do\n"
	    "\tfor d in \"${maps[@]}\"; do cat \"$d/rejects.$st.msgpack\"; "
	    "done\n"
	    "done >> \"$tmp/rejects.msgpack\"\n"
	    "for st in $REDUCE_STAGES; do\n"
	    "\tfor d in \"${outs[@]}\"; do "
	    "cat \"${d%/out.msgpack}/rejects.$st.msgpack\"; done\n"
	    "done >> \"$tmp/rejects.msgpack\"\n"
	    "if [ \"$STATS\" = 1 ]; then\n"
	    "\t\"$REVPIPE\" stats \"${COMMON[@]}\" -q "
	    "--stage-counts \"$tmp/counts.jsonl\" "
	    "--rejects-in \"$tmp/rejects.msgpack\" "
	    "--partial \"$tmp/stats.partial\" -o \"$tmp\" "
	    "${NOW:+--now=\"$NOW\"} --merge \"${parts[@]}\"\n"
	    "fi\n"
	    "\"$REVPIPE\" slurm manifest --run \"$RUN\" --dir \"$tmp\"\n"
	    "# Publish: every output under its final name, manifest.json "
	    "last.\n"
	    "for f in reviews.msgpack replies.csv rejects.msgpack stats.json "
	    "report.html stats.partial; do\n"
	    "\t[ ! -e \"$tmp/$f\" ] || mv -f \"$tmp/$f\" \"$OUT/$f\"\n"
	    "done\n"
	    "mv -f \"$tmp/manifest.json\" \"$OUT/manifest.json\"\n"
	    "rm -rf \"$tmp\"\n"
	    "date +%s > \"$RUN/merge.done\"\n");
	if (write_file(s, "tasks/merge.sh", &b, 0755) == -1)
		goto out;
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

static int
write_env(struct slurm *s)
{
	struct stage_ctx *ctx = s->ctx;
	struct buf b = BUF_INIT;
	size_t i;
	int rc;

	buf_adds(&b, "# revpipe slurm: the run's parameters (sourced by the "
	    "task scripts)\nREVPIPE=");
	sh_quote(&b, s->exe);
	buf_adds(&b, "\nCWD=");
	sh_quote(&b, s->cwd);
	buf_adds(&b, "\nOUT=");
	sh_quote(&b, s->out);
	buf_addf(&b, "\nP=%ld\nNMAP=%ld\nGROUP=%ld\nNINPUTS=%ld\nSTATS=%d\n"
	    "SUBMITTED=%lld\nKEY=", s->parts, s->ntasks, s->group,
	    s->ninputs, s->has_stats ? 1 : 0, s->submitted);
	sh_quote(&b, opt_str(ctx, "key"));
	buf_adds(&b, "\nBY=");
	sh_quote(&b, s->by);
	buf_adds(&b, "\nNOW=");
	sh_quote(&b, opt_str(ctx, "now") != NULL ? opt_str(ctx, "now") : "");
	buf_adds(&b, "\nMAP_STAGES='");
	for (i = 0; i < s->nmap; i++)
		buf_addf(&b, "%s%s", i ? " " : "", s->chain[i]);
	buf_adds(&b, "'\nREDUCE_STAGES='");
	for (i = s->nmap; i < s->nchain; i++)
		buf_addf(&b, "%s ", s->chain[i]);
	buf_adds(&b, s->has_stats ? "stats'\n" : "'\n");
	buf_adds(&b, "CHAIN='");
	for (i = 0; i < s->nchain; i++)
		buf_addf(&b, "%s%s", i ? "," : "", s->chain[i]);
	buf_adds(&b, s->has_stats ? ",stats'\n" : "'\n");
	buf_adds(&b, "COMMON=(");
	if (s->conf != NULL) {
		buf_adds(&b, "-c ");
		sh_quote(&b, s->conf);
	}
	if (ctx->models_dir != NULL) {
		char *m = absolute(ctx->models_dir);

		buf_adds(&b, " --models ");
		sh_quote(&b, m != NULL ? m : ctx->models_dir);
		free(m);
	}
	if (ctx->verbose > 0)
		buf_adds(&b, " -v");
	buf_adds(&b, ")\n");
	rc = write_file(s, "job.env", &b, 0644);
	buf_release(&b);
	return rc;
}

/* ---- running: sbatch, or local workers ----------------------------------- */

/*
 * Run argv; its stdout into out (may be NULL).  Returns the exit status,
 * or -1 when it could not be started.
 */
static int
spawn_capture(char *const argv[], struct buf *out)
{
	char tmp[4096];
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "revpipe slurm: cannot run '%s': %s\n",
		    argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], tmp, sizeof(tmp))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out != NULL)
			buf_add(out, tmp, (size_t)n);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "0-5", "0-5%2" or "3,17" for the tasks in need[0..n) (NULL: all). */
static void
array_spec(struct slurm *s, struct buf *b, const bool *need, long n)
{
	long i, first = 1;

	buf_adds(b, "--array=");
	if (need == NULL)
		buf_addf(b, "0-%ld", n - 1);
	else
		for (i = 0; i < n; i++)
			if (need[i]) {
				buf_addf(b, first ? "%ld" : ",%ld", i);
				first = 0;
			}
	if (opt_int(s->ctx, "throttle") > 0)
		buf_addf(b, "%%%lld", opt_int(s->ctx, "throttle"));
}

static int
sbatch(struct slurm *s, int task, const bool *need, long n, const char *dep)
{
	struct stage_ctx *ctx = s->ctx;
	static const char *const site[][2] = {
		{ "partition", "--partition=" }, { "account", "--account=" },
		{ "qos", "--qos=" }, { "time", "--time=" }, { "mem", "--mem=" },
	};
	struct buf a[16], out = BUF_INIT;
	char *argv[64], *extra = NULL, *w, *save = NULL;
	size_t na = 0, nargs = 0, i;
	int rc, ret = -1;

	for (i = 0; i < 16; i++)
		buf_init(&a[i]);
	argv[nargs++] = (char *)"sbatch";
	argv[nargs++] = (char *)"--parsable";
	buf_addf(&a[na], "--job-name=revpipe-%s", task_names[task]);
	argv[nargs++] = a[na++].p;
	buf_addf(&a[na], "--output=%s/logs/%s-%s.log", s->run,
	    task_names[task], task == 2 ? "%j" : "%A_%a");
	argv[nargs++] = a[na++].p;
	if (task != 2) {
		array_spec(s, &a[na], need, n);
		argv[nargs++] = a[na++].p;
	}
	buf_addf(&a[na], "--cpus-per-task=%lld", opt_int(ctx, "cpus"));
	argv[nargs++] = a[na++].p;
	for (i = 0; i < sizeof(site) / sizeof(site[0]); i++) {
		if (opt_str(ctx, site[i][0]) == NULL)
			continue;
		buf_addf(&a[na], "%s%s", site[i][1], opt_str(ctx, site[i][0]));
		argv[nargs++] = a[na++].p;
	}
	if (dep != NULL) {
		buf_addf(&a[na], "--dependency=afterok:%s", dep);
		argv[nargs++] = a[na++].p;
		argv[nargs++] = (char *)"--kill-on-invalid-dep=yes";
	}
	if (opt_str(ctx, "sbatch-args") != NULL) {
		if ((extra = strdup(opt_str(ctx, "sbatch-args"))) == NULL)
			return stage_fail_errno(ctx, "out of memory");
		for (w = strtok_r(extra, " \t", &save); w != NULL &&
		    nargs < 60; w = strtok_r(NULL, " \t", &save))
			argv[nargs++] = w;
	}
	buf_addf(&a[na], "%s/tasks/%s.sh", s->run, task_names[task]);
	argv[nargs++] = a[na++].p;
	argv[nargs] = NULL;

	if (ctx->verbose > 0) {
		fprintf(stderr, "revpipe slurm:");
		for (i = 0; i < nargs; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}
	rc = spawn_capture(argv, &out);
	if (rc != 0) {
		stage_fail(ctx, "sbatch for the %s tasks failed (%s %d)",
		    task_names[task], rc == -1 ? "cannot start," : "exit", rc);
		goto out;
	}
	for (i = 0; i < out.len && i + 1 < sizeof(s->jobid[0]) &&
	    isdigit((unsigned char)out.p[i]); i++)
		s->jobid[task][i] = out.p[i];
	s->jobid[task][i] = '\0';
	if (i == 0) {
		stage_fail(ctx, "sbatch printed no job id for the %s tasks: "
		    "'%.*s'", task_names[task], (int)out.len, out.p);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < 16; i++)
		buf_release(&a[i]);
	buf_release(&out);
	free(extra);
	return ret;
}

/*
 * Run tasks `need` (NULL: all n) of script `task` here, `jobs` at a time,
 * each with SLURM_ARRAY_TASK_ID set and its output in RUN/logs.  Returns
 * the number of failed tasks, -1 when a task could not be started.
 */
static long
local_tasks(struct slurm *s, int task, const bool *need, long n, long jobs)
{
	char script[PATH_MAX], log[PATH_MAX], idv[32];
	long next = 0, running = 0, failed = 0;
	pid_t pid;
	int st, fd;

	snprintf(script, sizeof(script), "%s/tasks/%s.sh", s->run,
	    task_names[task]);
	fflush(stdout);
	fflush(stderr);
	for (;;) {
		while (running < jobs && next < n) {
			long i = next++;

			if (need != NULL && !need[i])
				continue;
			if ((pid = fork()) == -1)
				return stage_fail_errno(s->ctx, "cannot start "
				    "a %s task", task_names[task]);
			if (pid == 0) {
				snprintf(log, sizeof(log), "%s/logs/%s-local_%ld"
				    ".log", s->run, task_names[task], i);
				snprintf(idv, sizeof(idv), "%ld", i);
				if ((fd = open(log, O_WRONLY | O_CREAT |
				    O_TRUNC, 0644)) != -1) {
					dup2(fd, STDOUT_FILENO);
					dup2(fd, STDERR_FILENO);
					close(fd);
				}
				if (task != 2)
					setenv("SLURM_ARRAY_TASK_ID", idv, 1);
				unsetenv("SLURM_JOB_ID");
				execl("/bin/bash", "bash", script, (char *)NULL);
				_exit(127);
			}
			running++;
		}
		if (running == 0)
			break;
		if ((pid = waitpid(-1, &st, 0)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		running--;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	return failed;
}

/* ---- progress ------------------------------------------------------------ */

struct progress {
	long	 done[3], failed[3], total[3];
	bool	 merged;
};

static void
progress_read(struct slurm *s, struct progress *pr)
{
	long i;

	memset(pr, 0, sizeof(*pr));
	pr->total[0] = s->ntasks;
	pr->total[1] = s->parts;
	pr->total[2] = 1;
	for (i = 0; i < s->ntasks; i++) {
		if (exists("%s/map/s%04ld", s->run, i))
			pr->done[0]++;
		else if (exists("%s/failed/map-%ld", s->run, i))
			pr->failed[0]++;
	}
	for (i = 0; i < s->parts; i++) {
		if (exists("%s/reduce/p%04ld", s->run, i))
			pr->done[1]++;
		else if (exists("%s/failed/reduce-%ld", s->run, i))
			pr->failed[1]++;
	}
	pr->merged = exists("%s/merge.done", s->run);
	pr->done[2] = pr->merged;
	pr->failed[2] = !pr->merged && exists("%s/failed/merge-0", s->run);
}

/* The job ids of the last submission (RUN/jobs). */
static void
jobs_read(struct slurm *s)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	int t;

	memset(s->jobid, 0, sizeof(s->jobid));
	snprintf(path, sizeof(path), "%s/jobs", s->run);
	if (fdio_read_file(path, &b) == -1)
		return;
	for (t = 0; t < 3; t++)
		if (env_get(&b, task_names[t], s->jobid[t],
		    sizeof(s->jobid[t])) == -1 ||
		    strcmp(s->jobid[t], "local") == 0 ||
		    strcmp(s->jobid[t], "none") == 0)
			s->jobid[t][0] = '\0';
	buf_release(&b);
}

/*
 * Jobs of the last submission still known to squeue as pending or
 * running: > 0, 0 when none, -1 when squeue could not tell.
 */
static int
squeue_active(struct slurm *s, struct buf *lines)
{
	char ids[128] = "";
	char *argv[10];
	int t, rc;

	for (t = 0; t < 3; t++)
		if (s->jobid[t][0] != '\0') {
			if (ids[0] != '\0')
				strncat(ids, ",", sizeof(ids) - strlen(ids) - 1);
			strncat(ids, s->jobid[t], sizeof(ids) - strlen(ids) - 1);
		}
	if (ids[0] == '\0')
		return 0;
	argv[0] = (char *)"squeue";
	argv[1] = (char *)"-h";
	argv[2] = (char *)"-j";
	argv[3] = ids;
	argv[4] = (char *)"-o";
	argv[5] = (char *)"%i %j %T %r";
	argv[6] = NULL;
	buf_reset(lines);
	rc = spawn_capture(argv, lines);
	if (rc == 0)
		return lines->len > 0 ? 1 : 0;
	/*
	 * squeue also fails on job ids it has already forgotten: when it
	 * answers without -j, the controller is up and our jobs are gone.
	 */
	argv[2] = (char *)"-o";
	argv[3] = (char *)"%i";
	argv[4] = NULL;
	buf_reset(lines);
	rc = spawn_capture(argv, lines);
	buf_reset(lines);
	return rc == 0 ? 0 : -1;
}

static void
progress_print(struct slurm *s, const struct progress *pr, FILE *fp)
{
	int t;

	fprintf(fp, "run %s: %ld inputs\n", s->run, s->ninputs);
	for (t = 0; t < 3; t++) {
		fprintf(fp, "  %-7s %ld/%ld done", task_names[t], pr->done[t],
		    pr->total[t]);
		if (pr->failed[t] > 0)
			fprintf(fp, ", %ld failed", pr->failed[t]);
		if (s->jobid[t][0] != '\0')
			fprintf(fp, "  (job %s)", s->jobid[t]);
		fputc('\n', fp);
	}
	if (pr->merged)
		fprintf(fp, "  outputs in %s\n", s->out);
}

/* Names of the failed tasks, with their logs, on stderr. */
static void
failures_print(struct slurm *s)
{
	long i;
	int t;

	for (t = 0; t < 3; t++) {
		long n = t == 0 ? s->ntasks : t == 1 ? s->parts : 1;

		for (i = 0; i < n; i++) {
			if (!exists("%s/failed/%s-%ld", s->run, task_names[t],
			    i))
				continue;
			if (t == 2)
				fprintf(stderr, "revpipe slurm: merge task "
				    "failed; log: %s/logs/merge-*.log\n",
				    s->run);
			else
				fprintf(stderr, "revpipe slurm: %s task %ld "
				    "failed; log: %s/logs/%s-*_%ld.log\n",
				    task_names[t], i, s->run, task_names[t],
				    i);
		}
	}
	fprintf(stderr, "revpipe slurm: fix the cause, then 'revpipe slurm "
	    "submit --run %s --resume' runs the missing tasks again\n",
	    s->run);
}

/*
 * Wait for the run: 0 when merged, 1 when it failed (no job left and
 * no result), -1 on timeout.  While squeue cannot answer (controller
 * down) it keeps waiting.
 */
static int
wait_run(struct slurm *s, long timeout)
{
	struct buf lines = BUF_INIT;
	struct progress pr;
	double t0 = now_s();
	int act, ret;
	struct timespec ts = { 0, SLURM_POLL_MS * 1000000L };

	jobs_read(s);
	for (;;) {
		progress_read(s, &pr);
		if (pr.merged) {
			ret = 0;
			break;
		}
		act = squeue_active(s, &lines);
		if (act == 0) {
			/* Settle: a task may have finished between reads. */
			progress_read(s, &pr);
			ret = pr.merged ? 0 : 1;
			break;
		}
		if (timeout > 0 && now_s() - t0 > (double)timeout) {
			ret = -1;
			break;
		}
		nanosleep(&ts, NULL);
	}
	buf_release(&lines);
	return ret;
}

/* ---- submit ---------------------------------------------------------------- */

static int
submit_new(struct slurm *s)
{
	struct stage_ctx *ctx = s->ctx;
	struct buf b = BUF_INIT;
	struct stat sb;
	const char *o = opt_str(ctx, "output");
	long maxarr = (long)opt_int(ctx, "max-array");
	char path[PATH_MAX];
	int i, rc = -1;

	if (ctx->argc < 2)
		return slurm_usage(s, "submit: no inputs (or --resume "
		    "for an earlier run)");
	snprintf(path, sizeof(path), "%s/job.env", s->run);
	if (stat(path, &sb) == 0)
		return slurm_usage(s, "'%s' already holds a run (use "
		    "--resume, or another --run)", s->run);
	if (parse_chain(s) == -1)
		return -1;
	s->ninputs = ctx->argc - 1;
	for (i = 1; i < ctx->argc; i++) {
		if (strchr(ctx->argv[i], '\n') != NULL) {
			slurm_usage(s, "input names with a newline are not "
			    "supported");
			goto out;
		}
		if (stat(ctx->argv[i], &sb) == -1) {
			stage_fail_errno(ctx, "cannot use input '%s'",
			    ctx->argv[i]);
			goto out;
		}
		if (!S_ISREG(sb.st_mode)) {
			stage_fail(ctx, "cannot use input '%s': not a file",
			    ctx->argv[i]);
			goto out;
		}
		buf_adds(&b, ctx->argv[i]);
		buf_addc(&b, '\n');
	}
	s->parts = (long)opt_int(ctx, "parts");
	s->group = (long)opt_int(ctx, "group");
	if (s->group == 0)
		s->group = (s->ninputs + maxarr - 1) / maxarr;
	s->ntasks = (s->ninputs + s->group - 1) / s->group;
	if (s->ntasks > maxarr || s->parts > maxarr) {
		slurm_usage(s, "%ld map tasks or %ld reduce tasks exceed "
		    "--max-array %ld (raise --group, lower --parts)",
		    s->ntasks, s->parts, maxarr);
		goto out;
	}
	if ((s->out = o != NULL ? absolute(o) : path_join(s->run, "out")) ==
	    NULL) {
		stage_fail_errno(ctx, "out of memory");
		goto out;
	}
	s->submitted = (long long)time(NULL);

	for (i = 0; i < 5; i++) {
		static const char *const sub[] = { "tasks", "map", "reduce",
		    "logs", "failed" };

		snprintf(path, sizeof(path), "%s/%s", s->run, sub[i]);
		if (fdio_mkdir_p(path) == -1) {
			stage_fail_errno(ctx, "cannot create '%s'", path);
			goto out;
		}
	}
	if (write_file(s, "inputs.txt", &b, 0644) == -1 ||
	    write_env(s) == -1 || write_scripts(s) == -1)
		goto out;
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

static int
jobs_write(struct slurm *s, bool local)
{
	struct buf b = BUF_INIT;
	int t, rc;

	for (t = 0; t < 3; t++)
		buf_addf(&b, "%s=%s\n", task_names[t], local ? "local" :
		    s->jobid[t][0] != '\0' ? s->jobid[t] : "none");
	rc = write_file(s, "jobs", &b, 0644);
	buf_release(&b);
	return rc;
}

static int
slurm_submit(struct slurm *s)
{
	struct stage_ctx *ctx = s->ctx;
	bool *need[2] = { NULL, NULL }, resume = opt_flag(ctx, "resume");
	long n[2], todo[2] = { 0, 0 }, i, jobs, failed = 0;
	const char *dep;
	double t0 = now_s();
	int t, ret = EXIT_RUNTIME, w;

	if (resume) {
		if (ctx->argc > 1) {
			slurm_usage(s, "--resume takes no inputs (they are in "
			    "RUN/inputs.txt)");
			return EXIT_USAGE;
		}
		if (load_env(s) == -1)
			return EXIT_RUNTIME;
		if (exists("%s/merge.done", s->run)) {
			printf("revpipe slurm: %s is complete; outputs in %s\n",
			    s->run, s->out);
			return EXIT_OK;
		}
	} else if (submit_new(s) == -1)
		return s->usage ? EXIT_USAGE : EXIT_RUNTIME;
	if (opt_flag(ctx, "prepare")) {
		printf("revpipe slurm: %s is ready: %ld map tasks "
		    "(SLURM_ARRAY_TASK_ID=0..%ld bash %s/tasks/map.sh), then "
		    "%ld reduce tasks (0..%ld, tasks/reduce.sh), then "
		    "tasks/merge.sh\n", s->run, s->ntasks, s->ntasks - 1,
		    s->run, s->parts, s->parts - 1);
		return EXIT_OK;
	}

	n[0] = s->ntasks;
	n[1] = s->parts;
	for (t = 0; t < 2; t++) {
		if ((need[t] = calloc((size_t)n[t], sizeof(bool))) == NULL) {
			stage_fail_errno(ctx, "out of memory");
			goto out;
		}
		for (i = 0; i < n[t]; i++) {
			need[t][i] = !exists("%s/%s/%c%04ld", s->run,
			    t == 0 ? "map" : "reduce", t == 0 ? 's' : 'p', i);
			todo[t] += need[t][i];
		}
	}

	if (opt_flag(ctx, "local")) {
		jobs = (long)opt_int(ctx, "jobs");
		if (jobs == 0)
			jobs = sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
			    sysconf(_SC_NPROCESSORS_ONLN) : 1;
		if (jobs_write(s, true) == -1)
			goto out;
		for (t = 0; t < 3 && failed == 0; t++) {
			if (t < 2 && todo[t] == 0)
				continue;
			failed = local_tasks(s, t, t < 2 ? need[t] : NULL,
			    t < 2 ? n[t] : 1, jobs);
			if (failed == -1)
				goto out;
		}
		if (failed > 0) {
			failures_print(s);
			goto out;
		}
		if (ctx->verbose >= 0)
			fprintf(stderr, "revpipe slurm: done in %.2f s, outputs "
			    "in %s\n", now_s() - t0, s->out);
		ret = EXIT_OK;
		goto out;
	}

	/* Slurm: map, reduce after map, merge after reduce. */
	dep = NULL;
	if (todo[0] > 0) {
		if (sbatch(s, 0, resume ? need[0] : NULL, n[0], NULL) == -1)
			goto out;
		dep = s->jobid[0];
	}
	if (todo[1] > 0) {
		if (sbatch(s, 1, resume ? need[1] : NULL, n[1], dep) == -1)
			goto out;
		dep = s->jobid[1];
	}
	if (sbatch(s, 2, NULL, 1, dep) == -1 || jobs_write(s, false) == -1)
		goto out;
	if (ctx->verbose >= 0)
		fprintf(stderr, "revpipe slurm: submitted %ld map and %ld "
		    "reduce tasks and the merge (jobs %s %s %s); 'revpipe "
		    "slurm status --run %s' shows progress\n", todo[0],
		    todo[1], s->jobid[0][0] ? s->jobid[0] : "-",
		    s->jobid[1][0] ? s->jobid[1] : "-", s->jobid[2], s->run);
	ret = EXIT_OK;
	if (opt_flag(ctx, "wait")) {
		w = wait_run(s, (long)opt_int(ctx, "timeout"));
		if (w != 0) {
			if (w == -1)
				fprintf(stderr, "revpipe slurm: still running "
				    "after --timeout %lld s\n",
				    opt_int(ctx, "timeout"));
			else
				failures_print(s);
			ret = EXIT_RUNTIME;
		} else if (ctx->verbose >= 0)
			fprintf(stderr, "revpipe slurm: done in %.2f s, outputs "
			    "in %s\n", now_s() - t0, s->out);
	}
out:
	free(need[0]);
	free(need[1]);
	return ret;
}

/* ---- status ---------------------------------------------------------------- */

static int
slurm_status(struct slurm *s)
{
	struct stage_ctx *ctx = s->ctx;
	struct buf lines = BUF_INIT;
	struct progress pr;
	int act, w;

	if (load_env(s) == -1)
		return EXIT_RUNTIME;
	if (opt_flag(ctx, "wait")) {
		w = wait_run(s, (long)opt_int(ctx, "timeout"));
		progress_read(s, &pr);
		progress_print(s, &pr, stdout);
		if (w == 1)
			failures_print(s);
		else if (w == -1)
			fprintf(stderr, "revpipe slurm: still running after "
			    "--timeout %lld s\n", opt_int(ctx, "timeout"));
		return w == 0 ? EXIT_OK : EXIT_RUNTIME;
	}
	jobs_read(s);
	progress_read(s, &pr);
	progress_print(s, &pr, stdout);
	act = squeue_active(s, &lines);
	if (act == 1) {
		printf("  slurm:\n");
		fwrite(lines.p, 1, lines.len, stdout);
	}
	buf_release(&lines);
	if (pr.merged)
		return EXIT_OK;
	if (act != 1 && (pr.failed[0] || pr.failed[1] || pr.failed[2] ||
	    s->jobid[2][0] != '\0')) {
		printf("  failed: no job left and no result\n");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* ---- manifest (run by the merge task) --------------------------------------- */

struct scount {
	char		 name[32];
	unsigned	 procs;
	uint64_t	 v[5];		/* read written duplicates rejects aggregated */
};

static const char *const scount_keys[5] = { "read", "written",
    "duplicates", "rejects", "aggregated" };

static int
json_u64(const char *p, size_t n, const char *key, uint64_t *out)
{
	char pat[40];
	const char *q, *end = p + n;
	size_t k;

	k = (size_t)snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((q = memmem(p, n, pat, k)) == NULL)
		return -1;
	for (q += k, *out = 0; q < end && isdigit((unsigned char)*q); q++)
		*out = *out * 10 + (uint64_t)(*q - '0');
	return 0;
}

/* Sum counts lines (pipeline/stage.c --counts) per stage into c. */
static int
counts_load(const char *path, struct scount *c, size_t *nc, size_t max)
{
	struct buf b = BUF_INIT;
	const char *p, *nl, *end, *q, *e;
	size_t i, j;

	if (fdio_read_file(path, &b) == -1)
		return -1;
	end = b.p + b.len;
	for (p = b.p; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((q = memmem(p, (size_t)(nl - p), "\"stage\":\"", 9)) == NULL)
			continue;
		q += 9;
		if ((e = memchr(q, '"', (size_t)(nl - q))) == NULL ||
		    e - q >= 32)
			continue;
		for (i = 0; i < *nc; i++)
			if (strlen(c[i].name) == (size_t)(e - q) &&
			    memcmp(c[i].name, q, (size_t)(e - q)) == 0)
				break;
		if (i == *nc) {
			if (*nc == max)
				continue;
			memset(&c[i], 0, sizeof(c[i]));
			memcpy(c[i].name, q, (size_t)(e - q));
			(*nc)++;
		}
		c[i].procs++;
		for (j = 0; j < 5; j++) {
			uint64_t x;

			if (json_u64(p, (size_t)(nl - p), scount_keys[j],
			    &x) == 0)
				c[i].v[j] += x;
		}
	}
	buf_release(&b);
	return 0;
}

static struct scount *
counts_find(struct scount *c, size_t nc, const char *name)
{
	size_t i;

	for (i = 0; i < nc; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	return NULL;
}

static void
json_str(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			buf_addf(b, "\\%c", ch);
		else if (ch < 0x20)
			buf_addf(b, "\\u%04x", ch);
		else
			buf_addc(b, (char)ch);
	}
	buf_addc(b, '"');
}

/* Size and xxh3 of a file: 0, or -1 with errno set. */
static int
file_hash(const char *path, uint64_t *size, uint64_t *h)
{
	XXH3_state_t *st;
	char tmp[1 << 16];
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((st = XXH3_createState()) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	XXH3_64bits_reset(st);
	*size = 0;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			XXH3_freeState(st);
			close(fd);
			errno = e;
			return -1;
		}
		XXH3_64bits_update(st, tmp, (size_t)n);
		*size += (uint64_t)n;
	}
	*h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	close(fd);
	return 0;
}

static int
slurm_manifest(struct slurm *s)
{
	struct stage_ctx *ctx = s->ctx;
	const char *dir = opt_str(ctx, "dir");
	struct buf env = BUF_INIT, in = BUF_INIT, b = BUF_INIT;
	struct scount c[SLURM_MAX_STAGES + 2], sh[4], *x, *part, *gat;
	size_t nc = 0, nsh = 0, i, first = 1;
	char path[PATH_MAX], cwd[PATH_MAX], chain[1024], ts[32], *save = NULL;
	char *st;
	const char *p, *nl, *end;
	uint64_t size, h, read = 0, dups = 0, rej = 0, written = 0, last;
	bool ok = true, shuffle_ok = true;
	struct tm tm;
	time_t t;
	int ret = EXIT_RUNTIME, fd;

	if (dir == NULL) {
		slurm_usage(s, "manifest: --dir DIR is required");
		return EXIT_USAGE;
	}
	if (load_env(s) == -1)
		return EXIT_RUNTIME;
	snprintf(path, sizeof(path), "%s/job.env", s->run);
	if (fdio_read_file(path, &env) == -1 ||
	    env_get(&env, "CWD", cwd, sizeof(cwd)) == -1 ||
	    env_get(&env, "CHAIN", chain, sizeof(chain)) == -1) {
		stage_fail(ctx, "'%s': damaged", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/inputs.txt", s->run);
	if (fdio_read_file(path, &in) == -1) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		goto out;
	}
	/* Stages in chain order, then what else the counts name. */
	for (st = strtok_r(chain, ",", &save); st != NULL && nc <
	    SLURM_MAX_STAGES; st = strtok_r(NULL, ",", &save)) {
		memset(&c[nc], 0, sizeof(c[nc]));
		snprintf(c[nc].name, sizeof(c[nc].name), "%s", st);
		nc++;
	}
	snprintf(path, sizeof(path), "%s/counts.jsonl", dir);
	if (counts_load(path, c, &nc, SLURM_MAX_STAGES + 2) == -1) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/shuffle.counts", dir);
	if (counts_load(path, sh, &nsh, 4) == -1) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		goto out;
	}
	part = counts_find(sh, nsh, "partition");
	gat = counts_find(sh, nsh, "gather");

	/* read = written + duplicates + rejects, over the chain. */
	read = nc > 0 ? c[0].v[0] : 0;
	written = gat != NULL ? gat->v[1] : 0;
	for (i = 0; i < nc; i++) {
		dups += c[i].v[2];
		rej += c[i].v[3];
		if (c[i].v[0] != c[i].v[1] + c[i].v[2] + c[i].v[3] + c[i].v[4])
			ok = false;
	}
	if (read != written + dups + rej)
		ok = false;
	/* Nothing lost in the shuffle: map out = partition = reduce in. */
	x = counts_find(c, nc, "dedupe");
	last = 0;
	for (i = 0; i < nc; i++)
		if (strcmp(c[i].name, "stats") != 0)
			last = c[i].v[1];
	if (part == NULL || gat == NULL || part->v[0] != part->v[1] ||
	    gat->v[0] != last || (x != NULL && x->v[0] != part->v[1]))
		shuffle_ok = false;

	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_adds(&b, "{\n  \"revpipe\": ");
	json_str(&b, revpipe_version());
	buf_adds(&b, ",\n  \"mode\": \"slurm\",\n  \"run\": ");
	json_str(&b, s->run);
	buf_adds(&b, ",\n  \"finished\": ");
	json_str(&b, ts);
	buf_adds(&b, ",\n  \"chain\": [");
	for (i = 0; i < nc; i++) {
		buf_adds(&b, i == 0 ? "" : ", ");
		json_str(&b, c[i].name);
	}
	buf_addf(&b, "],\n  \"map_tasks\": %ld,\n  \"reduce_tasks\": %ld,\n"
	    "  \"inputs\": [", s->ntasks, s->parts);
	end = in.p + in.len;
	for (p = in.p; p < end; p = nl + 1) {
		char ip[PATH_MAX], full[2 * PATH_MAX];

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p || (size_t)(nl - p) >= sizeof(ip))
			continue;
		memcpy(ip, p, (size_t)(nl - p));
		ip[nl - p] = '\0';
		if (ip[0] == '/')
			snprintf(full, sizeof(full), "%s", ip);
		else
			snprintf(full, sizeof(full), "%s/%s", cwd, ip);
		if (file_hash(full, &size, &h) == -1) {
			stage_fail_errno(ctx, "cannot read input '%s'", full);
			goto out;
		}
		buf_adds(&b, first ? "\n    {\"path\": " : ",\n    {\"path\": ");
		json_str(&b, ip);
		buf_addf(&b, ", \"size\": %llu, \"xxh3\": \"%016llx\"}",
		    (unsigned long long)size, (unsigned long long)h);
		first = 0;
	}
	buf_adds(&b, first ? "],\n" : "\n  ],\n");
	buf_adds(&b, "  \"stages\": [");
	for (i = 0; i < nc + nsh; i++) {
		x = i < nc ? &c[i] : &sh[i - nc];
		buf_adds(&b, i == 0 ? "\n    {\"stage\": " :
		    ",\n    {\"stage\": ");
		json_str(&b, x->name);
		buf_addf(&b, ", \"processes\": %u, \"read\": %llu, "
		    "\"written\": %llu, \"duplicates\": %llu, \"rejects\": "
		    "%llu, \"aggregated\": %llu}", x->procs,
		    (unsigned long long)x->v[0], (unsigned long long)x->v[1],
		    (unsigned long long)x->v[2], (unsigned long long)x->v[3],
		    (unsigned long long)x->v[4]);
	}
	buf_adds(&b, "\n  ],\n");
	buf_addf(&b, "  \"accounting\": {\"check\": \"read = written + "
	    "duplicates + rejects\", \"read\": %llu, \"written\": %llu, "
	    "\"duplicates\": %llu, \"rejects\": %llu, \"ok\": %s, "
	    "\"shuffle_ok\": %s},\n", (unsigned long long)read,
	    (unsigned long long)written, (unsigned long long)dups,
	    (unsigned long long)rej, ok ? "true" : "false",
	    shuffle_ok ? "true" : "false");
	buf_addf(&b, "  \"timings\": {\"wall_s\": %.3f},\n",
	    s->submitted > 0 ? now_s() - (double)s->submitted : 0.0);
	buf_addf(&b, "  \"outputs\": [\"reviews.msgpack\", \"replies.csv\", "
	    "\"rejects.msgpack\"%s]\n}\n", s->has_stats ? ", \"stats.json\", "
	    "\"report.html\", \"stats.partial\"" : "");
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || write(fd, b.p, b.len) != (ssize_t)b.len ||
	    close(fd) == -1) {
		stage_fail_errno(ctx, "cannot write '%s'", path);
		goto out;
	}
	if (!ok || !shuffle_ok) {
		fprintf(stderr, "revpipe slurm: accounting check failed: %llu "
		    "read != %llu written + %llu duplicates + %llu rejects, "
		    "or records lost between map and reduce (see '%s')\n",
		    (unsigned long long)read, (unsigned long long)written,
		    (unsigned long long)dups, (unsigned long long)rej, path);
		ret = EXIT_ACCOUNTING;
		goto out;
	}
	ret = EXIT_OK;
out:
	buf_release(&env);
	buf_release(&in);
	buf_release(&b);
	return ret;
}

/* ---- the tool ---------------------------------------------------------------- */

static int
slurm_tool(struct stage_ctx *ctx)
{
	struct slurm s;
	const char *cmd, *run = opt_str(ctx, "run");
	char *exe = NULL, cwd[PATH_MAX], self[PATH_MAX];
	ssize_t n;
	int ret;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	if (ctx->argc < 1) {
		fprintf(stderr, "revpipe slurm: submit, status or manifest?\n");
		stage_usage(ctx->stage, stderr);
		return EXIT_USAGE;
	}
	cmd = ctx->argv[0];
	if (run == NULL) {
		fprintf(stderr, "revpipe slurm: --run DIR is required\n");
		return EXIT_USAGE;
	}
	if ((s.run = absolute(run)) == NULL || getcwd(cwd, sizeof(cwd)) ==
	    NULL || (s.cwd = strdup(cwd)) == NULL) {
		stage_fail_errno(ctx, "cannot resolve '%s'", run);
		ret = EXIT_RUNTIME;
		goto out;
	}
	if (opt_str(ctx, "revpipe") != NULL)
		exe = absolute(opt_str(ctx, "revpipe"));
	else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		exe = strdup(self);
	}
	s.exe = exe;
	if (ctx->conf_path != NULL)
		s.conf = absolute(ctx->conf_path);
	if (s.exe == NULL) {
		stage_fail(ctx, "cannot tell where this binary is (--revpipe)");
		ret = EXIT_RUNTIME;
		goto out;
	}
	if (strcmp(cmd, "submit") == 0) {
		if (fdio_mkdir_p(s.run) == -1) {
			stage_fail_errno(ctx, "cannot create '%s'", s.run);
			ret = EXIT_RUNTIME;
			goto out;
		}
		ret = slurm_submit(&s);
	} else if (strcmp(cmd, "status") == 0 && ctx->argc == 1)
		ret = slurm_status(&s);
	else if (strcmp(cmd, "manifest") == 0 && ctx->argc == 1)
		ret = slurm_manifest(&s);
	else {
		fprintf(stderr, "revpipe slurm: unknown command '%s' (submit, "
		    "status)\n", cmd);
		ret = EXIT_USAGE;
	}
out:
	free(s.run);
	free(s.out);
	free(s.exe);
	free(s.cwd);
	free(s.conf);
	free(s.chainbuf);
	free(s.by);
	return ret;
}

const struct stage slurm_stage = {
	.name = "slurm",
	.summary = "run the chain as Slurm job arrays (or the same tasks "
	    "locally)",
	.usage = "submit INPUT... | submit --resume | status",
	.opts = slurm_opts,
	.tool = slurm_tool,
};
