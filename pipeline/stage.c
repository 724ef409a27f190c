/*
 * stage - the driver: options, pipeline.conf, the record loop, output
 * buffering, rejects, accounting, messages and exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <msgpack.h>
#include <utf8proc.h>
#include <xxhash.h>
#include <zlib.h>

#include "conf.h"
#include "models.h"
#include "stage.h"
#include "fdio.h"
#include "banned.h"

/* Output is written in blocks of at least this size (pipes like 64 KiB+). */
#define OUT_FLUSH	(256 * 1024)
/* Ask for big pipe buffers so stages on both ends run in long bursts. */
#define PIPE_SIZE	(1024 * 1024)

enum mark { MARK_WRITTEN, MARK_DUP, MARK_REJECT, MARK_AGG };

struct stage_io {
	int		 out_fd;
	struct buf	 out;
	struct fdio_behind out_wb;	/* stdout a file: drop-behind */
	int		 rejects_fd;	/* -1: count and report only */
	const char	*rejects_path;
	const char	*counts_path;
	struct rec_out	*rec_out;
	bool		 source_mode;
	bool		 usage_error;
	bool		 write_failed;
	bool		 stream_error;	/* the input, not the stage, failed */
	const struct rec *cur;		/* record being processed */
	char		 msg[1024];	/* the fatal message */
	struct buf	 rej;		/* one reject record */
};

/* ---- messages ------------------------------------------------------------ */

static void
vmsg(const struct stage_ctx *ctx, const char *prefix, const char *fmt,
    va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "revpipe %s: %s%s\n", ctx->stage->name, prefix, line);
}

/*
 * Keep the first fatal message: later ones are consequences.  `errnum`
 * (non-zero) appends ": strerror"; `usage` makes the exit status 2.
 */
static int
vfail(struct stage_ctx *ctx, int errnum, bool usage, const char *fmt,
    va_list ap)
{
	size_t n;

	if (ctx->failed)
		return -1;
	vsnprintf(ctx->io->msg, sizeof(ctx->io->msg), fmt, ap);
	if (errnum != 0) {
		n = strlen(ctx->io->msg);
		snprintf(ctx->io->msg + n, sizeof(ctx->io->msg) - n, ": %s",
		    strerror(errnum));
	}
	ctx->failed = true;
	ctx->io->usage_error = usage;
	return -1;
}

int
stage_fail(struct stage_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ctx, 0, false, fmt, ap);
	va_end(ap);
	return -1;
}

int
stage_fail_errno(struct stage_ctx *ctx, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vfail(ctx, saved, false, fmt, ap);
	va_end(ap);
	return -1;
}

int
stage_usage_error(struct stage_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ctx, 0, true, fmt, ap);
	va_end(ap);
	return -1;
}

void
stage_warn(struct stage_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->verbose < 0)
		return;
	va_start(ap, fmt);
	vmsg(ctx, "warning: ", fmt, ap);
	va_end(ap);
}

void
stage_note(struct stage_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->verbose < 0)
		return;
	va_start(ap, fmt);
	vmsg(ctx, "", fmt, ap);
	va_end(ap);
}

void
stage_info(struct stage_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->verbose <= 0)
		return;
	va_start(ap, fmt);
	vmsg(ctx, "", fmt, ap);
	va_end(ap);
}

void
stage_input_error(struct stage_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(ctx, "", fmt, ap);
	va_end(ap);
	ctx->input_error = true;
}

/* ---- output -------------------------------------------------------------- */

static int
out_flush(struct stage_ctx *ctx)
{
	struct stage_io *io = ctx->io;

	if (io->out.len == 0)
		return 0;
	if (fdio_write_all(io->out_fd, io->out.p, io->out.len) == -1 ||
	    fdio_behind_wrote(&io->out_wb, io->out_fd, io->out.len) == -1) {
		io->write_failed = true;
		return stage_fail_errno(ctx, "write error on stdout");
	}
	buf_reset(&io->out);
	return 0;
}

static void
mark(struct stage_ctx *ctx, enum mark m)
{
	ctx->marks++;
	if (ctx->io->source_mode)
		ctx->counts.read++;
	switch (m) {
	case MARK_WRITTEN: ctx->counts.written++; break;
	case MARK_DUP: ctx->counts.duplicates++; break;
	case MARK_REJECT: ctx->counts.rejects++; break;
	case MARK_AGG: ctx->counts.aggregated++; break;
	}
}

int
stage_emit(struct stage_ctx *ctx, const void *p, size_t n)
{
	struct stage_io *io = ctx->io;

	mark(ctx, MARK_WRITTEN);
	if (ctx->stage->flags & STAGE_NO_STDOUT)
		return 0;
	buf_add(&io->out, p, n);
	if (io->out.len >= OUT_FLUSH)
		return out_flush(ctx);
	return 0;
}

struct rec_out *
stage_rec_out(struct stage_ctx *ctx)
{
	return ctx->io->rec_out;
}

void
stage_count(struct stage_ctx *ctx, const char *name, uint64_t n)
{
	size_t i;

	for (i = 0; i < STAGE_MAX_EXTRA; i++) {
		if (ctx->extra_name[i] == NULL)
			ctx->extra_name[i] = name;
		if (strcmp(ctx->extra_name[i], name) == 0) {
			ctx->extra[i] += n;
			return;
		}
	}
}

/* ", 12 templates" for each stage_count() name, into b. */
static void
extra_counts(const struct stage_ctx *ctx, struct buf *b, bool as_keys)
{
	size_t i;

	for (i = 0; i < STAGE_MAX_EXTRA && ctx->extra_name[i] != NULL; i++) {
		if (as_keys)
			buf_addf(b, " %s=%llu", ctx->extra_name[i],
			    (unsigned long long)ctx->extra[i]);
		else
			buf_addf(b, ", %llu %s", (unsigned long long)ctx->extra[i],
			    ctx->extra_name[i]);
	}
}

int
stage_duplicate(struct stage_ctx *ctx, const struct rec *r)
{
	mark(ctx, MARK_DUP);
	return 0;
}

int
stage_aggregate(struct stage_ctx *ctx, const struct rec *r)
{
	mark(ctx, MARK_AGG);
	return 0;
}

int
stage_hold(struct stage_ctx *ctx, const struct rec *r)
{
	ctx->marks++;
	ctx->counts.held++;
	return 0;
}

void
stage_unhold(struct stage_ctx *ctx)
{
	ctx->marks--;
	ctx->counts.held--;
}

/* ---- rejects ------------------------------------------------------------- */

/* The largest raw bytes a reject keeps: enough to find and fix the input. */
#define REJECT_RAW_MAX	(1 << 20)

/*
 * `raw_is_record`: raw is a whole msgpack record and is embedded as the
 * value itself (byte for byte, readable through `revpipe cat`, and
 * re-feedable); otherwise raw is source bytes and goes in as bin.
 */
static int
reject_write(struct stage_ctx *ctx, const char *src, uint64_t offset,
    const void *raw, size_t n, bool raw_is_record, const char *reason,
    const char *detail)
{
	struct stage_io *io = ctx->io;
	msgpack_packer pk;

	mark(ctx, MARK_REJECT);
	if (ctx->verbose > 0)
		fprintf(stderr, "revpipe %s: '%s': reject %s: %s\n",
		    ctx->stage->name, src, reason, detail);
	if (io->rejects_fd == -1)
		return 0;
	buf_reset(&io->rej);
	mp_packer_buf(&pk, &io->rej);
	msgpack_pack_map(&pk, 6);
	mp_pack_cstr(&pk, "stage");
	mp_pack_cstr(&pk, ctx->stage->name);
	mp_pack_cstr(&pk, "reason");
	mp_pack_cstr(&pk, reason);
	mp_pack_cstr(&pk, "src");
	mp_pack_cstr(&pk, src);
	mp_pack_cstr(&pk, "offset");
	msgpack_pack_uint64(&pk, offset);
	mp_pack_cstr(&pk, "detail");
	mp_pack_cstr(&pk, detail);
	mp_pack_cstr(&pk, "raw");
	if (raw_is_record)
		buf_add(&io->rej, raw, n);
	else {
		if (n > REJECT_RAW_MAX)
			n = REJECT_RAW_MAX;
		msgpack_pack_bin(&pk, n);
		msgpack_pack_bin_body(&pk, raw, n);
	}
	/* One write per reject: stages sharing a file with O_APPEND never
	 * interleave inside a record. */
	if (fdio_write_all(io->rejects_fd, io->rej.p, io->rej.len) == -1)
		return stage_fail_errno(ctx, "cannot write rejects to '%s'",
		    io->rejects_path);
	return 0;
}

int
stage_reject(struct stage_ctx *ctx, const struct rec *r, const char *reason,
    const char *fmt, ...)
{
	char detail[1024], src[512];
	struct slice s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (rec_get_str(r, "src", &s) == 0)
		snprintf(src, sizeof(src), "%.*s", (int)(s.n > 500 ? 500 : s.n),
		    s.p);
	else
		snprintf(src, sizeof(src), "stdin:record %llu",
		    (unsigned long long)r->seq + 1);
	return reject_write(ctx, src, r->offset, r->p, r->n, true, reason,
	    detail);
}

int
stage_reject_raw(struct stage_ctx *ctx, const char *src, const void *raw,
    size_t n, const char *reason, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return reject_write(ctx, src, 0, raw, n, false, reason, detail);
}

/* ---- options ------------------------------------------------------------- */

static const struct opt common_opts[] = {
	{ "help", 'h', OPT_FLAG, NULL, NULL, 0, 0, "show this help and exit" },
	{ "version", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "show the version and linked libraries and exit" },
	{ "config", 'c', OPT_STR, "FILE", NULL, 0, 0,
	  "read options from the [STAGE] section of FILE (pipeline.conf)" },
	{ "force", 'f', OPT_FLAG, NULL, NULL, 0, 0,
	  "write msgpack even when stdout is a terminal" },
	{ "quiet", 'q', OPT_FLAG, NULL, NULL, 0, 0, "print errors only" },
	{ "verbose", 'v', OPT_FLAG, NULL, NULL, 0, 0,
	  "print each reject and a summary" },
	{ "rejects", 0, OPT_STR, "FILE", NULL, 0, 0,
	  "append rejected records to FILE (msgpack, see schemas/rejects.md)" },
	{ "models", 0, OPT_STR, "DIR", NULL, 0, 0,
	  "load models from DIR instead of the built-in ones" },
	{ "counts", 0, OPT_STR, "FILE", NULL, 0, 0,
	  "append this stage's counts to FILE as one JSON line" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};
enum { CO_HELP, CO_VERSION, CO_CONFIG, CO_FORCE, CO_QUIET, CO_VERBOSE,
    CO_REJECTS, CO_MODELS, CO_COUNTS, CO_N };

static size_t
opts_count(const struct opt *o)
{
	size_t n = 0;

	while (o != NULL && o[n].name != NULL)
		n++;
	return n;
}

/* Parse a size: digits, optional fraction, optional K/M/G/T (1024-based). */
static int
parse_size(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024.0; end++; break;
	case 'm': case 'M': v *= 1024.0 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': v *= 1024.0 * 1024 * 1024 * 1024; end++; break;
	}
	if (*end == 'i' && end[-1] != *s)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0')
		return -1;
	*out = floor(v);
	return 0;
}

static bool
parse_bool(const char *s, bool *b)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0 || strcmp(s, "on") == 0)
		*b = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0 || strcmp(s, "off") == 0)
		*b = false;
	else
		return false;
	return true;
}

/*
 * Store `text` as the value of option `o`; on error write a message into
 * err.  The one strict parser for every number: range, suffix, no garbage.
 */
static int
opt_set(const struct opt *o, struct opt_val *v, const char *text,
    char *err, size_t errlen, struct buf *lists)
{
	char *end;
	double d;
	bool b;

	switch (o->type) {
	case OPT_FLAG:
		if (text == NULL)
			b = true;
		else if (!parse_bool(text, &b)) {
			snprintf(err, errlen, "'%s' is not yes or no for %s",
			    text, o->name);
			return -1;
		}
		v->i = b;
		break;
	case OPT_STR:
		v->s = text;
		break;
	case OPT_LIST:
		if (v->set && v->s != NULL && lists != NULL) {
			struct buf *b2 = lists;

			/* Joined lists live until exit in a small pool. */
			while (b2->len != 0)
				b2++;
			buf_addf(b2, "%s,%s", v->s, text);
			v->s = b2->p;
		} else
			v->s = text;
		break;
	case OPT_INT:
		errno = 0;
		d = (double)strtoll(text, &end, 10);
		if (end == text || *end != '\0' || errno != 0) {
			snprintf(err, errlen, "'%s' is not an integer for %s",
			    text, o->name);
			return -1;
		}
		goto range;
	case OPT_SIZE:
		if (parse_size(text, &d) == -1) {
			snprintf(err, errlen, "'%s' is not a size for %s "
			    "(e.g. 512M, 2G)", text, o->name);
			return -1;
		}
		goto range;
	case OPT_FLOAT:
		errno = 0;
		d = strtod(text, &end);
		if (end == text || *end != '\0' || errno != 0 || isnan(d)) {
			snprintf(err, errlen, "'%s' is not a number for %s",
			    text, o->name);
			return -1;
		}
	range:
		if ((o->min != 0 || o->max != 0) && (d < o->min || d > o->max)) {
			snprintf(err, errlen, "%s must be between %g and %g, "
			    "not '%s'", o->name, o->min, o->max, text);
			return -1;
		}
		v->i = (long long)d;
		v->f = d;
		break;
	}
	v->set = true;
	if (o->type != OPT_LIST)
		v->s = text;
	return 0;
}

static const struct opt *
opt_lookup(const struct opt *opts, const char *name, size_t n, size_t *idx)
{
	size_t i;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		if (strlen(opts[i].name) == n &&
		    memcmp(opts[i].name, name, n) == 0) {
			*idx = i;
			return &opts[i];
		}
	}
	return NULL;
}

static const struct opt *
opt_short(const struct opt *opts, int c, size_t *idx)
{
	size_t i;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		if (opts[i].shortopt == c) {
			*idx = i;
			return &opts[i];
		}
	}
	return NULL;
}

const struct opt_val *
stage_opt(const struct stage_ctx *ctx, const char *name)
{
	size_t i;

	if (opt_lookup(ctx->stage->opts, name, strlen(name), &i) == NULL) {
		fprintf(stderr, "revpipe %s: no option '%s' (a bug)\n",
		    ctx->stage->name, name);
		abort();
	}
	return &ctx->optv[i];
}

bool
opt_flag(const struct stage_ctx *ctx, const char *name)
{
	const struct opt_val *v = stage_opt(ctx, name);

	return v->set && v->i != 0;
}

const char *
opt_str(const struct stage_ctx *ctx, const char *name)
{
	const struct opt_val *v = stage_opt(ctx, name);

	return v->set ? v->s : NULL;
}

long long
opt_int(const struct stage_ctx *ctx, const char *name)
{
	return stage_opt(ctx, name)->i;
}

double
opt_float(const struct stage_ctx *ctx, const char *name)
{
	return stage_opt(ctx, name)->f;
}

static void
usage_opts(const struct opt *opts, struct buf *b)
{
	size_t i;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		const struct opt *o = &opts[i];

		if (o->shortopt != 0 && o->type == OPT_FLAG)
			continue;	/* in the [-xyz] cluster */
		if (o->shortopt != 0)
			buf_addf(b, " [-%c %s]", o->shortopt,
			    o->arg != NULL ? o->arg : "VALUE");
		else if (o->type == OPT_FLAG)
			buf_addf(b, " [--%s]", o->name);
		else
			buf_addf(b, " [--%s %s]", o->name,
			    o->arg != NULL ? o->arg : "VALUE");
	}
}

void
stage_usage(const struct stage *st, FILE *fp)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_addf(&b, "usage: revpipe %s [-", st->name);
	for (i = 0; common_opts[i].name != NULL; i++)
		if (common_opts[i].shortopt != 0 &&
		    common_opts[i].type == OPT_FLAG)
			buf_addc(&b, common_opts[i].shortopt);
	for (i = 0; st->opts != NULL && st->opts[i].name != NULL; i++)
		if (st->opts[i].shortopt != 0 && st->opts[i].type == OPT_FLAG)
			buf_addc(&b, st->opts[i].shortopt);
	buf_adds(&b, "] [-c conf]");
	usage_opts(st->opts, &b);
	if (st->usage != NULL)
		buf_addf(&b, " %s", st->usage);
	fprintf(fp, "%s\n", b.p);
	buf_release(&b);
}

static void
help_opts(const struct opt *opts, FILE *fp)
{
	char left[64];
	size_t i;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		const struct opt *o = &opts[i];

		if (o->shortopt != 0)
			snprintf(left, sizeof(left), "-%c, --%s%s%s",
			    o->shortopt, o->name, o->type == OPT_FLAG ? "" : " ",
			    o->type == OPT_FLAG ? "" : o->arg ? o->arg : "VALUE");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
			    o->type == OPT_FLAG ? "" : " ",
			    o->type == OPT_FLAG ? "" : o->arg ? o->arg : "VALUE");
		fprintf(fp, "  %-26s %s", left, o->help != NULL ? o->help : "");
		if (o->def != NULL)
			fprintf(fp, " (default %s)", o->def);
		fputc('\n', fp);
	}
}

static void
stage_help(const struct stage *st)
{
	stage_usage(st, stdout);
	printf("\n%s\n\noptions:\n", st->summary);
	help_opts(st->opts, stdout);
	help_opts(common_opts, stdout);
	printf("\nexit status: 0 every record written, counted as a duplicate "
	    "or rejected; 1 runtime failure;\n2 usage or configuration error; "
	    "3 accounting check failed (a bug)\n");
}

const char *
revpipe_version(void)
{
	static char v[256];

	if (v[0] == '\0')
		snprintf(v, sizeof(v), "revpipe %s (%s, zlib %s, msgpack-c %s, "
		    "xxhash %u.%u.%u, utf8proc %s%s)", REVPIPE_VERSION,
		    archive_version_string(), zlibVersion(), msgpack_version(),
		    XXH_versionNumber() / 10000, XXH_versionNumber() / 100 % 100,
		    XXH_versionNumber() % 100, utf8proc_version(),
#ifdef REVPIPE_ISAL
		    ", isa-l"
#else
		    ""
#endif
		    );
	return v;
}

/* ---- models ------------------------------------------------------------- */

struct model_cache {
	struct model_cache	*next;
	char			*name;
	char			*data;
	size_t			 len;
};
static struct model_cache *model_cache;

static void
model_cache_free(void)
{
	struct model_cache *m, *next;

	for (m = model_cache; m != NULL; m = next) {
		next = m->next;
		free(m->name);
		free(m->data);
		free(m);
	}
	model_cache = NULL;
}

int
stage_model(struct stage_ctx *ctx, const char *name, struct slice *data)
{
	const struct model_file *mf;
	struct buf path = BUF_INIT;
	int rc;

	/* Schemas are part of the program, not of a model set. */
	if (ctx->models_dir == NULL || strncmp(name, "schemas/", 8) == 0) {
		for (mf = model_files; mf->name != NULL; mf++) {
			if (strcmp(mf->name, name) == 0) {
				data->p = (const char *)mf->data;
				data->n = mf->len;
				return 0;
			}
		}
		return stage_fail(ctx, "no built-in model '%s' (rebuild with "
		    "make, or use --models DIR)", name);
	}
	buf_addf(&path, "%s/%s", ctx->models_dir, name);
	rc = stage_file(ctx, path.p, data);
	buf_release(&path);
	return rc;
}

int
stage_file(struct stage_ctx *ctx, const char *path, struct slice *data)
{
	struct model_cache *m;
	struct buf content = BUF_INIT;
	char chunk[65536];
	size_t got;
	FILE *fp;

	for (m = model_cache; m != NULL; m = m->next) {
		if (strcmp(m->name, path) == 0) {
			data->p = m->data;
			data->n = m->len;
			return 0;
		}
	}
	if ((fp = fopen(path, "rb")) == NULL)
		return stage_fail_errno(ctx, "cannot read '%s'", path);
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&content, chunk, got);
	if (ferror(fp)) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		fclose(fp);
		buf_release(&content);
		return -1;
	}
	fclose(fp);
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->name = strdup(path)) == NULL) {
		free(m);
		buf_release(&content);
		return stage_fail_errno(ctx, "cannot load '%s'", path);
	}
	m->data = buf_detach(&content, &m->len);
	m->next = model_cache;
	model_cache = m;
	data->p = m->data;
	data->n = m->len;
	return 0;
}

/* ---- the driver ------------------------------------------------------------ */

struct parsed {
	struct opt_val	 common[CO_N];
	struct buf	 lists[8];
	bool		*given;		/* options set on the command line */
	struct conf	 conf;		/* values point into it: keep it */
};

static int
parse_args(struct stage_ctx *ctx, struct parsed *ps, int argc, char **argv,
    char *err, size_t errlen)
{
	const struct stage *st = ctx->stage;
	const struct opt *o;
	struct opt_val *v;
	size_t idx;
	int i, nops = 0;
	bool only_operands = false;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (only_operands || a[0] != '-' || a[1] == '\0') {
			argv[++nops] = a;	/* operands move to the front */
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_operands = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);
			const char *val = eq != NULL ? eq + 1 : NULL;

			if ((o = opt_lookup(st->opts, name, n, &idx)) != NULL)
				v = &ctx->optv[idx];
			else if ((o = opt_lookup(common_opts, name, n, &idx)) != NULL)
				v = &ps->common[idx];
			else {
				snprintf(err, errlen, "unknown option '--%.*s'",
				    (int)n, name);
				return -1;
			}
			if (o->type == OPT_FLAG) {
				if (val != NULL) {
					snprintf(err, errlen, "--%s takes no "
					    "value", o->name);
					return -1;
				}
			} else if (val == NULL) {
				if (i + 1 >= argc) {
					snprintf(err, errlen, "--%s needs a "
					    "value", o->name);
					return -1;
				}
				val = argv[++i];
			}
			if (opt_set(o, v, val, err, errlen, ps->lists) == -1)
				return -1;
			continue;
		}
		/* Short options, possibly clustered: -fqv, -c FILE, -cFILE. */
		for (a++; *a != '\0'; a++) {
			const char *val = NULL;

			if ((o = opt_short(st->opts, *a, &idx)) != NULL)
				v = &ctx->optv[idx];
			else if ((o = opt_short(common_opts, *a, &idx)) != NULL)
				v = &ps->common[idx];
			else {
				snprintf(err, errlen, "unknown option '-%c'", *a);
				return -1;
			}
			if (o->type != OPT_FLAG) {
				if (a[1] != '\0')
					val = a + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else {
					snprintf(err, errlen, "-%c needs a value",
					    *a);
					return -1;
				}
			}
			if (opt_set(o, v, val, err, errlen, ps->lists) == -1)
				return -1;
			if (val != NULL)
				break;
		}
	}
	ctx->argc = nops;
	ctx->argv = argv + 1;
	return 0;
}

/* Apply [stage] of pipeline.conf to options the command line left unset. */
static int
apply_conf(struct stage_ctx *ctx, struct parsed *ps, const char *path,
    char *err, size_t errlen)
{
	const struct stage *st = ctx->stage;
	struct conf *c = &ps->conf;
	size_t i, idx;
	char e2[512];

	if (conf_load(c, path, err, errlen) == -1)
		return -1;
	for (i = 0; i < c->n; i++) {
		const struct conf_entry *e = &c->v[i];
		const struct opt *o;

		if (strcmp(e->section, st->name) != 0)
			continue;
		o = opt_lookup(st->opts, e->key, strlen(e->key), &idx);
		if (o == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key '%s' in "
			    "[%s]", path, e->line, e->key, st->name);
			return -1;
		}
		if (ps->given[idx])
			continue;	/* the command line wins */
		if (opt_set(o, &ctx->optv[idx], e->value, e2, sizeof(e2),
		    NULL) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, e->line, e2);
			return -1;
		}
	}
	return 0;
}

/*
 * Big pipe buffers let the stages on both ends run in long bursts instead
 * of waking each other every 64 KiB.  REVPIPE_PIPE_SIZE (bytes, 0 = leave
 * the kernel's default) exists so `make bench` can measure the difference.
 */
static void
set_pipe_size(int fd)
{
	const char *env = getenv("REVPIPE_PIPE_SIZE");
	long size = PIPE_SIZE;
	struct stat sb;

	if (env != NULL && *env != '\0')
		size = strtol(env, NULL, 10);
	if (size > 0 && fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, (int)size);
}

static void
write_counts(struct stage_ctx *ctx, const char *path)
{
	FILE *fp;

	if ((fp = fopen(path, "a")) == NULL) {
		stage_warn(ctx, "cannot write counts to '%s': %s", path,
		    strerror(errno));
		return;
	}
	fprintf(fp, "{\"stage\":\"%s\",\"read\":%llu,\"written\":%llu,"
	    "\"duplicates\":%llu,\"rejects\":%llu,\"aggregated\":%llu,"
	    "\"failed\":%s}\n", ctx->stage->name,
	    (unsigned long long)ctx->counts.read,
	    (unsigned long long)ctx->counts.written,
	    (unsigned long long)ctx->counts.duplicates,
	    (unsigned long long)ctx->counts.rejects,
	    (unsigned long long)ctx->counts.aggregated,
	    ctx->failed ? "true" : "false");
	fclose(fp);
}

/*
 * For `revpipe run`: when REVPIPE_COUNTS_FD names an open descriptor, one
 * line of counts goes there in a single write(2), so parallel workers
 * sharing the descriptor never interleave.
 */
static void
write_counts_fd(const struct stage_ctx *ctx, int status)
{
	const char *env = getenv("REVPIPE_COUNTS_FD");
	struct buf line = BUF_INIT;
	char *end;
	long fd;

	if (env == NULL || *env == '\0')
		return;
	fd = strtol(env, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 1 << 20)
		return;
	buf_addf(&line, "counts %s read=%llu written=%llu duplicates=%llu "
	    "rejects=%llu aggregated=%llu held=%llu exit=%d",
	    ctx->stage->name, (unsigned long long)ctx->counts.read,
	    (unsigned long long)ctx->counts.written,
	    (unsigned long long)ctx->counts.duplicates,
	    (unsigned long long)ctx->counts.rejects,
	    (unsigned long long)ctx->counts.aggregated,
	    (unsigned long long)ctx->counts.held, status);
	extra_counts(ctx, &line, true);
	buf_addc(&line, '\n');
	(void)fdio_write_all((int)fd, line.p, line.len);
	buf_release(&line);
}

static int
run_records(struct stage_ctx *ctx)
{
	struct rec_reader *rd;
	const struct rec *r;
	struct slice tail;
	const char *p;
	size_t n, used;
	bool scan;
	int rc, status = 0;

	if ((rd = rec_reader_new(STDIN_FILENO, "stdin")) == NULL)
		return stage_fail_errno(ctx, "cannot start reading");
	/* REVPIPE_NO_SCAN=1: process() only, for tests that compare. */
	scan = ctx->stage->scan != NULL && (getenv("REVPIPE_NO_SCAN") == NULL ||
	    strcmp(getenv("REVPIPE_NO_SCAN"), "1") != 0);
	for (;;) {
		/* The stage's own one-pass scan first, where it has one. */
		if (scan && rec_reader_peek(rd, &p, &n) == 1) {
			ctx->marks = 0;
			used = ctx->stage->scan(ctx, p, p + n,
			    rec_reader_offset(rd));
			if (used == (size_t)-1) {
				status = -1;
				break;
			}
			if (used > 0) {
				ctx->counts.read++;
				rec_reader_skip(rd, used);
				if (ctx->marks != 1) {
					fprintf(stderr, "revpipe %s: scan "
					    "marked a record %u times, not "
					    "once (a bug)\n", ctx->stage->name,
					    ctx->marks);
					rec_reader_free(rd);
					return -3;
				}
				continue;
			}
		}
		rc = rec_reader_next(rd, &r);
		if (rc == 0)
			break;
		if (rc == -1 || rc == 2) {
			tail = rec_reader_tail(rd);
			if (tail.n > 0) {
				ctx->counts.read++;
				ctx->io->source_mode = false;
				/* A skipped value is behind the offset. */
				reject_write(ctx, "stdin", rec_reader_offset(rd) -
				    (rc == 2 ? tail.n : 0), tail.p, tail.n, rc == 2, rc == 2 ?
				    "not_a_map" : "bad_msgpack",
				    rec_reader_error(rd));
				ctx->marks = 0;
			}
			if (rc == 2)
				continue;
			stage_fail(ctx, "%s", rec_reader_error(rd));
			ctx->io->stream_error = true;
			status = -1;
			break;
		}
		ctx->counts.read++;
		ctx->marks = 0;
		ctx->io->cur = r;
		rc = ctx->stage->process(ctx, r);
		arena_reset(&ctx->scratch);
		if (rc == -1) {
			status = -1;
			break;
		}
		if (ctx->marks != 1) {
			fprintf(stderr, "revpipe %s: record %llu at byte %llu was "
			    "marked %u times, not once (a bug)\n",
			    ctx->stage->name, (unsigned long long)r->seq + 1,
			    (unsigned long long)r->offset, ctx->marks);
			rec_reader_free(rd);
			return -3;
		}
	}
	ctx->io->cur = NULL;
	rec_reader_free(rd);
	return status;
}

int
stage_main(const struct stage *st, int argc, char **argv)
{
	struct stage_ctx ctx;
	struct stage_io io;
	struct parsed ps;
	char err[1024];
	size_t i, nopts = opts_count(st->opts);
	int status = EXIT_OK, rc;
	bool source;

	memset(&ctx, 0, sizeof(ctx));
	memset(&io, 0, sizeof(io));
	memset(&ps, 0, sizeof(ps));
	for (i = 0; i < 8; i++)
		buf_init(&ps.lists[i]);
	ctx.stage = st;
	ctx.io = &io;
	io.rejects_fd = -1;
	io.out_fd = STDOUT_FILENO;
	buf_init(&io.out);
	buf_init(&io.rej);
	if ((ctx.optv = calloc(nopts + 1, sizeof(*ctx.optv))) == NULL ||
	    (ps.given = calloc(nopts + 1, sizeof(*ps.given))) == NULL) {
		fprintf(stderr, "revpipe %s: out of memory\n", st->name);
		return EXIT_RUNTIME;
	}
	for (i = 0; i < nopts; i++) {
		if (st->opts[i].def == NULL)
			continue;
		if (opt_set(&st->opts[i], &ctx.optv[i], st->opts[i].def, err,
		    sizeof(err), NULL) == -1) {
			fprintf(stderr, "revpipe %s: bad default: %s (a bug)\n",
			    st->name, err);
			status = EXIT_USAGE;
			goto out;
		}
		ctx.optv[i].set = false;	/* a default is not "given" */
		ctx.optv[i].s = st->opts[i].def;
	}
	if (parse_args(&ctx, &ps, argc, argv, err, sizeof(err)) == -1) {
		fprintf(stderr, "revpipe %s: %s\n", st->name, err);
		stage_usage(st, stderr);
		status = EXIT_USAGE;
		goto out;
	}
	/* Defaults count as set for opt_str() and friends. */
	for (i = 0; i < nopts; i++) {
		ps.given[i] = ctx.optv[i].set;
		if (!ctx.optv[i].set && st->opts[i].def != NULL)
			ctx.optv[i].set = true;
	}
	if (ps.common[CO_HELP].set) {
		stage_help(st);
		goto out;
	}
	if (ps.common[CO_VERSION].set) {
		printf("%s\n", revpipe_version());
		goto out;
	}
	if (ps.common[CO_CONFIG].set) {
		ctx.conf_path = ps.common[CO_CONFIG].s;
		if (apply_conf(&ctx, &ps, ctx.conf_path, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "revpipe %s: %s\n", st->name, err);
			status = EXIT_USAGE;
			goto out;
		}
	}
	ctx.verbose = ps.common[CO_VERBOSE].set ? 1 :
	    ps.common[CO_QUIET].set ? -1 : 0;
	ctx.models_dir = ps.common[CO_MODELS].s;
	io.rejects_path = ps.common[CO_REJECTS].s;
	io.counts_path = ps.common[CO_COUNTS].s;

	if (st->tool != NULL) {
		status = st->tool(&ctx);
		if (ctx.failed)
			fprintf(stderr, "revpipe %s: %s\n", st->name, io.msg);
		goto out;
	}
	if (!(st->flags & (STAGE_NO_STDOUT | STAGE_TEXT_OUT)) &&
	    isatty(STDOUT_FILENO) && !ps.common[CO_FORCE].set) {
		fprintf(stderr, "revpipe %s: refusing to write msgpack to a "
		    "terminal (pipe it, use 'revpipe cat', or -f)\n", st->name);
		status = EXIT_USAGE;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	set_pipe_size(STDIN_FILENO);
	set_pipe_size(STDOUT_FILENO);
	fdio_behind_init(&io.out_wb, STDOUT_FILENO);
	if (io.rejects_path != NULL && (io.rejects_fd = open(io.rejects_path,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "revpipe %s: cannot open '%s': %s\n", st->name,
		    io.rejects_path, strerror(errno));
		status = EXIT_RUNTIME;
		goto out;
	}
	if ((io.rec_out = rec_out_new(&ctx)) == NULL) {
		fprintf(stderr, "revpipe %s: out of memory\n", st->name);
		status = EXIT_RUNTIME;
		goto out;
	}

	rc = st->init != NULL ? st->init(&ctx) : 0;
	if (rc == -1)
		goto done;
	source = st->source != NULL;
	io.source_mode = source;
	if (source) {
		static char dash[] = "-";
		static char *stdin_only[] = { dash };
		char **paths = ctx.argc > 0 ? ctx.argv : stdin_only;
		int n = ctx.argc > 0 ? ctx.argc : 1;

		for (i = 0; i < (size_t)n && rc != -1; i++) {
			rc = st->source(&ctx, paths[i]);
			arena_reset(&ctx.scratch);
		}
	} else if (st->process != NULL) {
		if (ctx.argc > 0) {
			fprintf(stderr, "revpipe %s: unexpected operand '%s' "
			    "(records come on stdin)\n", st->name, ctx.argv[0]);
			stage_usage(st, stderr);
			status = EXIT_USAGE;
			goto free;
		}
		rc = run_records(&ctx);
		if (rc == -3) {
			status = EXIT_ACCOUNTING;
			goto free;
		}
	}
	/* After a cut input the records before it are good: a stage that
	 * holds them still writes them (STAGE_FINISH_ON_CUT). */
	if ((rc != -1 || (io.stream_error &&
	    (st->flags & STAGE_FINISH_ON_CUT))) && st->finish != NULL) {
		ctx.marks = 0;
		io.source_mode = source;
		rc = st->finish(&ctx);
		arena_reset(&ctx.scratch);
		if (rc != -1 && ctx.marks != 0 && !source) {
			fprintf(stderr, "revpipe %s: finish marked %u records "
			    "that were not held (a bug)\n", st->name, ctx.marks);
			status = EXIT_ACCOUNTING;
			goto free;
		}
	}
	/* Records already counted as written go out even when the input
	 * failed later: counts and bytes must agree. */
	if (!(ctx.failed && io.write_failed))
		(void)out_flush(&ctx);
done:
	if (ctx.failed) {
		fprintf(stderr, "revpipe %s: %s\n", st->name, io.msg);
		status = io.usage_error ? EXIT_USAGE : EXIT_RUNTIME;
	} else if (ctx.input_error)
		status = EXIT_RUNTIME;
	if (status == EXIT_OK && (ctx.counts.held != 0 || ctx.counts.read !=
	    ctx.counts.written + ctx.counts.duplicates + ctx.counts.rejects +
	    ctx.counts.aggregated)) {
		fprintf(stderr, "revpipe %s: accounting check failed: %llu read "
		    "!= %llu written + %llu duplicates + %llu rejects + %llu "
		    "aggregated (%llu still held; a bug)\n", st->name,
		    (unsigned long long)ctx.counts.read,
		    (unsigned long long)ctx.counts.written,
		    (unsigned long long)ctx.counts.duplicates,
		    (unsigned long long)ctx.counts.rejects,
		    (unsigned long long)ctx.counts.aggregated,
		    (unsigned long long)ctx.counts.held);
		status = EXIT_ACCOUNTING;
	}
	if (!io.usage_error && (ctx.counts.rejects > 0 || ctx.verbose > 0) &&
	    ctx.verbose >= 0) {
		fprintf(stderr, "revpipe %s: %llu read, %llu written, %llu "
		    "duplicates, %llu rejects", st->name,
		    (unsigned long long)ctx.counts.read,
		    (unsigned long long)ctx.counts.written,
		    (unsigned long long)ctx.counts.duplicates,
		    (unsigned long long)ctx.counts.rejects);
		if (ctx.counts.aggregated > 0)
			fprintf(stderr, ", %llu aggregated",
			    (unsigned long long)ctx.counts.aggregated);
		{
			struct buf b = BUF_INIT;

			extra_counts(&ctx, &b, false);
			fprintf(stderr, "%s\n", b.p);
			buf_release(&b);
		}
	}
	if (io.counts_path != NULL && !io.usage_error)
		write_counts(&ctx, io.counts_path);
free:
	if (st->tool == NULL && !io.usage_error)
		write_counts_fd(&ctx, status);
	if (st->free != NULL)
		st->free(&ctx);
out:
	if (io.rejects_fd != -1)
		close(io.rejects_fd);
	rec_out_free(io.rec_out);
	buf_release(&io.out);
	buf_release(&io.rej);
	for (i = 0; i < 8; i++)
		buf_release(&ps.lists[i]);
	arena_release(&ctx.scratch);
	free(ctx.optv);
	free(ps.given);
	conf_release(&ps.conf);
	model_cache_free();
	return status;
}
