/*
 * run - `revpipe run`: the whole chain from pipeline.conf in one command.
 *
 *     revpipe run [-c pipeline.conf] [-o OUTDIR] [--jobs N] [--force] INPUT...
 *
 * The stages run as real processes (this binary re-executed with the stage
 * name) connected by pipes.  The per-record stages at the end of the chain
 * (--parallel, by default langid, classify and reply) run as --jobs
 * sub-chains: this process hands them round-robin chunks of records, each
 * tagged with its sequence number, and merges their outputs back into input
 * order, so the outputs do not depend on --jobs.  It then writes
 * reviews.msgpack and replies.csv and feeds stats.
 *
 * Outputs go to OUTDIR/.revpipe-run.PID/ and are renamed into OUTDIR only
 * when every stage succeeded and the accounting check holds; manifest.json
 * is renamed last.  SIGINT and SIGTERM stop every stage and remove the
 * temporary folder, so no partial output ever has a final name.
 *
 * Incremental runs: inputs whose size and xxh3 are already listed in
 * OUTDIR/manifest.json are skipped (unless --force), and the new records
 * are added to the earlier outputs: reviews.msgpack, replies.csv and
 * rejects.msgpack are extended, stats are merged with OUTDIR/stats.partial.
 * --force starts the folder over from the given inputs.
 *
 * Exit status: 0; the first failing stage's status (the stage is named on
 * stderr); 2 for usage and pipeline.conf errors; 3 when the accounting
 * check fails; 128 + signal when stopped by SIGINT/SIGTERM.
 */
#ifndef REVPIPE_RUN_H
#define REVPIPE_RUN_H

#include <stddef.h>

#include "buf.h"

/* The tag run adds to records on their way through parallel workers. */
struct rec;

#define RUN_SEQ_KEY	"_rp_seq"

/*
 * Append `s` (n bytes) to b as one RFC 4180 field: quoted when it holds a
 * comma, a quote, CR or LF (quotes doubled), else as is.
 */
void	run_csv_field(struct buf *b, const char *s, size_t n);

/* The header line of replies.csv, CRLF-terminated. */
extern const char run_csv_header[];

/*
 * Append the replies.csv row for `rec` to b: id, seller and the reply's
 * action, public, private, due_at and followup_at (times as ISO 8601 UTC),
 * CRLF-terminated.  Missing values are empty fields.
 */
void	run_csv_row(struct buf *b, const struct rec *rec);

#endif
