/*
 * stage - the interface every stage implements, and the driver that runs it.
 *
 * A stage is a `const struct stage` (see STYLE.md section 2); the driver
 * (stage_main) parses options from the stage's opts table and
 * pipeline.conf, reads records from stdin, calls process() once per record,
 * writes output in large blocks, writes rejects, counts, and picks the exit
 * status.  Stages never touch stdin, stdout or exit().
 *
 * Marking: every input record is marked exactly once per process() call:
 * emitted (rec_pass, rec_out_end), rejected (stage_reject), counted as a
 * duplicate (stage_duplicate), aggregated (stage_aggregate) or held for
 * later (stage_hold).  A held record is released later (in process or
 * finish) with stage_unhold() followed by exactly one other mark.  The
 * driver checks this after every call and stops with exit 3 when a record
 * went unmarked or was marked twice: that keeps
 *     read = written + duplicates + rejects (+ aggregated)
 * true by construction.
 */
#ifndef REVPIPE_STAGE_H
#define REVPIPE_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "rec.h"
#include "slice.h"

enum opt_type {
	OPT_FLAG,	/* --name, no argument */
	OPT_STR,	/* --name VALUE */
	OPT_INT,	/* integer in [min, max] */
	OPT_SIZE,	/* bytes, with K/M/G suffixes (powers of 1024) */
	OPT_FLOAT,	/* decimal in [min, max] */
	OPT_LIST	/* may repeat; values joined with ',' */
};

struct opt {
	const char	*name;		/* long option = pipeline.conf key */
	int		 shortopt;	/* single letter or 0 */
	enum opt_type	 type;
	const char	*arg;		/* metavariable in --help, e.g. "SIZE" */
	const char	*def;		/* default as text, NULL = unset */
	double		 min, max;	/* range for INT, SIZE, FLOAT */
	const char	*help;
};

struct stage_ctx;

struct stage {
	const char	*name;		/* argv[1], conf section, log prefix */
	const char	*summary;	/* one line for --help */
	const char	*usage;		/* operands after the options, or NULL */
	const struct opt *opts;		/* {0}-terminated, may be NULL */
	int	(*init)(struct stage_ctx *);
	int	(*process)(struct stage_ctx *, const struct rec *);
	int	(*source)(struct stage_ctx *, const char *path);
	int	(*finish)(struct stage_ctx *);
	void	(*free)(struct stage_ctx *);
	/*
	 * A tool rather than a filter (cat, eval commands): gets argc/argv
	 * after option parsing and does its own I/O; returns an exit status.
	 */
	int	(*tool)(struct stage_ctx *);
	/*
	 * Optional, for a stage whose work per record is small: take the
	 * whole record at the front of [p, end) (at byte `offset` of the
	 * stream) in one pass and mark it, returning its length; or return
	 * 0 (a shape it does not know, a record it would reject, or one not
	 * all there) and the driver indexes the record and calls process()
	 * as usual, with the same rejects and messages.  (size_t)-1: the
	 * stage failed (stage_fail() said why).
	 */
	size_t	(*scan)(struct stage_ctx *, const char *p, const char *end,
		    uint64_t offset);
	unsigned	 flags;
};

/* struct stage flags */
#define STAGE_NO_STDOUT	0x1	/* writes no record stream (stats) */
#define STAGE_TEXT_OUT	0x2	/* stdout is text for people (cat) */
/*
 * Run finish() even when the input stream was cut or malformed, because
 * the stage holds good records it must still write (dedupe).  Exit status
 * stays 1.  Stages that publish final files in finish() leave it unset.
 */
#define STAGE_FINISH_ON_CUT	0x4

struct stage_counts {
	uint64_t	read, written, duplicates, rejects, aggregated, held;
};

struct opt_val {
	bool		 set;
	const char	*s;	/* text as given (STR, LIST) */
	long long	 i;	/* INT, SIZE, FLAG (1 when given) */
	double		 f;	/* FLOAT */
};

#define STAGE_MAX_EXTRA	8	/* stage_count() names per stage */

struct stage_ctx {
	const struct stage *stage;
	void		*priv;		/* the stage's own state */
	struct arena	 scratch;	/* reset after every record */
	struct opt_val	*optv;		/* parallel to stage->opts */
	int		 argc;		/* operands left after options */
	char		**argv;
	int		 verbose;	/* -v: 1, -q: -1 */
	const char	*models_dir;	/* --models DIR or NULL: built-in */
	const char	*conf_path;	/* -c FILE or NULL */
	const char	*src;		/* decode: provenance of the record being made */
	struct stage_counts counts;
	const char	*extra_name[STAGE_MAX_EXTRA];	/* stage_count() */
	uint64_t	 extra[STAGE_MAX_EXTRA];
	/* Driver internals. */
	struct stage_io	*io;
	unsigned	 marks;
	bool		 failed;
	bool		 input_error;	/* an input could not be opened */
};

/* ---- options ------------------------------------------------------------ */

/* The option named `name` of the running stage (must exist in opts). */
const struct opt_val *stage_opt(const struct stage_ctx *ctx, const char *name);
bool		 opt_flag(const struct stage_ctx *ctx, const char *name);
const char	*opt_str(const struct stage_ctx *ctx, const char *name);
long long	 opt_int(const struct stage_ctx *ctx, const char *name);
double		 opt_float(const struct stage_ctx *ctx, const char *name);

/* ---- marking records ------------------------------------------------------ */

/* Send `r` to the reject stream with a stable snake_case reason
 * (schemas/rejects.md) and a detail; returns 0 (the run goes on). */
int	stage_reject(struct stage_ctx *ctx, const struct rec *r,
	    const char *reason, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Same for bytes that never became a record (decode); `src` is
 * archive!entry:line provenance. */
int	stage_reject_raw(struct stage_ctx *ctx, const char *src,
	    const void *raw, size_t n, const char *reason, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
int	stage_duplicate(struct stage_ctx *ctx, const struct rec *r);
int	stage_aggregate(struct stage_ctx *ctx, const struct rec *r);
int	stage_hold(struct stage_ctx *ctx, const struct rec *r);
void	stage_unhold(struct stage_ctx *ctx);

/*
 * Add `n` to a stage-specific counter `name` (a static string, e.g.
 * "templates"): shown after the standard counts in the summary line and
 * the REVPIPE_COUNTS_FD line (as name=N), so `run` can put it in the
 * manifest.  At most STAGE_MAX_EXTRA names per stage.
 */
void	stage_count(struct stage_ctx *ctx, const char *name, uint64_t n);

/* ---- failing and messages ------------------------------------------------- */

/* Record a fatal message; returns -1 for `return stage_fail(...)`. */
int	stage_fail(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errno)" appended (errno read first). */
int	stage_fail_errno(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* "revpipe STAGE: warning: ..." unless -q. */
void	stage_warn(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* "revpipe STAGE: ..." unless -q: reports a person asked for (--check). */
void	stage_note(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* "revpipe STAGE: ..." only with -v. */
void	stage_info(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* An input file could not be used: reported, the others go on, exit 1. */
void	stage_input_error(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ---- models ------------------------------------------------------------- */

/*
 * The model file `name` (a path under models/, e.g. "langid/profiles.bin"):
 * from --models DIR when given, else the copy compiled into the binary.
 * On success *data stays valid until the process ends (files are read
 * once and cached).  Returns 0, or -1 with a stage_fail message.
 */
int	stage_model(struct stage_ctx *ctx, const char *name, struct slice *data);

/*
 * The whole file at `path` (read once and cached like a model; valid until
 * the process ends).  Returns 0, or -1 with a stage_fail message.
 */
int	stage_file(struct stage_ctx *ctx, const char *path, struct slice *data);

/* ---- driver --------------------------------------------------------------- */

/* Run `st` with argv (argv[0] = stage name); returns the exit status. */
int	stage_main(const struct stage *st, int argc, char **argv);
/* Print the usage line for `st` to `fp`. */
void	stage_usage(const struct stage *st, FILE *fp);

/*
 * A configuration or option problem found in init(): like stage_fail() but
 * the exit status is 2 (usage) and nothing was processed.
 */
int	stage_usage_error(struct stage_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Append one finished record (a whole msgpack map) to the output and
 * count it as written.  rec_out_end() uses it; a stage that builds its
 * records itself (langid, reply: one buffer, no second copy) may too.
 */
int	stage_emit(struct stage_ctx *ctx, const void *p, size_t n);
/* The reusable output builder of ctx (rec.c). */
struct rec_out *stage_rec_out(struct stage_ctx *ctx);

/* Exit statuses (STYLE.md section 5). */
#define EXIT_OK		0
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define EXIT_ACCOUNTING	3

/* "revpipe 0.1.0 (libarchive ..., zlib ..., msgpack-c ..., xxhash ...)" */
const char *revpipe_version(void);

#endif
