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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* ---- run's internals, exported for run_test.c ------------------------- */

/*
 * Append the map at p (n bytes) to b with the key _rp_seq = seq as its
 * FIRST pair (the stages keep input keys in order and append theirs, so
 * the tag stays first).  Returns false, appending nothing, when p does
 * not start with a map header.
 */
bool	run_tag(struct buf *b, const char *p, size_t n, uint64_t seq);

/*
 * The record `rec` (indexed by rec_parse) with the tag removed, as a map
 * header written to hdr (5 bytes) plus the tail of rec's own bytes, so
 * no pair is copied: *hlen and *body, *blen are set and the tag's value
 * is stored in *seq.  Returns false when rec is not in that shape (the
 * tag not first, a second _rp_seq key, a key header that is not the
 * shortest form): the caller then rebuilds the record key by key.
 */
bool	run_untag(const struct rec *rec, unsigned char hdr[5], size_t *hlen,
	    const char **body, size_t *blen, uint64_t *seq);

/*
 * Length of the msgpack value at p (n bytes) by run's fast skipper, or 0
 * when it leaves the value to mp_skip() (an unusual shape, or not all
 * there).  When it is not 0 it is what mp_skip() would say.
 */
size_t	run_fast_frame(const char *p, size_t n);

/*
 * A byte queue in blocks of RUN_Q_BLOCK bytes read by up to two readers
 * (reviews.msgpack and the stats pipe read the same bytes).  Appending
 * never moves queued bytes; a block is reused once every reader has
 * passed it, so a lagging reader costs memory, not copies.
 */
#define RUN_Q_BLOCK	(1024u * 1024u)
#define RUN_Q_READERS	2

struct run_qblock;

struct run_q {
	struct run_qblock *head, *tail, *spare;
	uint64_t	 base;		/* stream offset of head's first byte */
	uint64_t	 end;		/* stream offset after the last byte */
	uint64_t	 pos[RUN_Q_READERS];
	bool		 on[RUN_Q_READERS];
};

/* An empty queue with readers 0 .. nreaders-1. */
void	run_q_init(struct run_q *q, int nreaders);
void	run_q_release(struct run_q *q);
/* Append n bytes (aborts when out of memory, like buf_add). */
void	run_q_add(struct run_q *q, const void *p, size_t n);
/* Bytes queued that `reader` has not taken yet (0 for a reader that is off). */
uint64_t run_q_pending(const struct run_q *q, int reader);
/*
 * One writev(2) of what `reader` has not taken to fd: the bytes written,
 * or -1 with errno (EAGAIN on a full non-blocking pipe).
 */
ssize_t	run_q_write(struct run_q *q, int reader, int fd);
/* Turn `reader` off: it takes nothing more and holds no block. */
void	run_q_drop(struct run_q *q, int reader);

#endif
