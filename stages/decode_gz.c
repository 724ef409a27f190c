/*
 * decode_gz - gzip inflated by ISA-L (igzip) in front of libarchive.
 *
 * Why: inflate is most of decode's time.  ISA-L inflates about 2.5 times
 * faster than zlib (which libarchive uses) and 5 times faster than
 * `gzip -dc`: measured 0.10 s against 0.25 s and 0.52 s of CPU on a 96 MB
 * JSON Lines file.  A gzip input (or a gzip entry inside an archive) is
 * inflated here and libarchive sees the plain bytes (tar or a raw file);
 * anything else passes through untouched for libarchive's own filters.
 *
 * ISA-L is used when the build defines REVPIPE_ISAL and links -lisal
 * (pkg-config libisal, Debian libisal-dev); without it gz_fast() is false
 * and libarchive inflates with zlib, slower but the same bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#ifdef REVPIPE_ISAL
#include <isa-l/igzip_lib.h>
#define GZ_HAVE_ISAL	1
#endif

#include "decode_gz.h"
#include "banned.h"

#define GZ_IN	(256 * 1024)
#define GZ_OUT	(256 * 1024)
#define GZ_SLOTS	8	/* read-ahead blocks of GZ_OUT */

/*
 * A block inflated ahead by the reader thread: its bytes, or the end or
 * an error, and the compressed bytes consumed when it was made (so the
 * ratio check sees what it would see without the thread).
 */
struct gz_slot {
	unsigned char	*p;
	size_t		 n;
	int		 status;	/* 1 data, 0 end, -1 error */
	uint64_t	 in_used;
};

/*
 * Inflating a regular file's gzip runs in a thread of its own, a few
 * blocks ahead of libarchive and the parser: on two cores decode then
 * takes about the time of parsing alone.  Same blocks, same order, same
 * errors as without the thread.
 */
struct gz_ahead {
	pthread_t	 tid;
	pthread_mutex_t	 mu;
	pthread_cond_t	 filled, freed;
	struct gz_slot	 slot[GZ_SLOTS];
	unsigned	 head, tail;	/* consumer takes head, producer fills tail */
	bool		 lent;		/* slot head lent to libarchive */
	bool		 stop, ended;
	int		 end_status;	/* 0 or -1, once ended */
	uint64_t	 in_used;	/* of the last block handed out */
};

struct gz {
	int		 fd;		/* read from fd, or */
	struct archive	*outer;		/* from an archive entry */
	unsigned char	*in, *out;
	const unsigned char *inp;	/* unconsumed input */
	size_t		 in_avail;
	bool		 in_eof, gzip, member, done;
	uint64_t	 in_bytes;
	char		 err[160];
	struct gz_ahead	*ahead;		/* reader thread, or NULL */
#ifdef GZ_HAVE_ISAL
	struct inflate_state st;
#endif
};

bool
gz_fast(void)
{
#ifdef GZ_HAVE_ISAL
	return true;
#else
	return false;
#endif
}

/* More input; returns 0, or -1 with g->err set. */
static int
gz_more(struct gz *g)
{
	if (g->outer != NULL) {
		const void *b;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(g->outer, &b, &n, &off);

		if (r == ARCHIVE_EOF) {
			g->in_eof = true;
			return 0;
		}
		if (r < ARCHIVE_WARN) {
			snprintf(g->err, sizeof(g->err), "%s",
			    archive_error_string(g->outer) != NULL ?
			    archive_error_string(g->outer) : "read error");
			return -1;
		}
		g->inp = b;
		g->in_avail = n;
	} else {
		ssize_t n;

		do
			n = read(g->fd, g->in, GZ_IN);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			snprintf(g->err, sizeof(g->err), "%s",
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			g->in_eof = true;
		g->inp = g->in;
		g->in_avail = (size_t)n;
	}
	g->in_bytes += g->in_avail;
	return 0;
}

static bool ahead_start(struct gz *);

struct gz *
gz_open(int fd, struct archive *outer, char *err, size_t errlen)
{
	struct gz *g = calloc(1, sizeof(*g));
	struct stat sb;

	if (g == NULL || (g->in = malloc(GZ_IN)) == NULL ||
	    (g->out = malloc(GZ_OUT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		gz_free(g);
		return NULL;
	}
	g->fd = fd;
	g->outer = outer;
	/* The first chunk, to see whether it is gzip. */
	while (g->in_avail == 0 && !g->in_eof)
		if (gz_more(g) == -1) {
			snprintf(err, errlen, "%s", g->err);
			gz_free(g);
			return NULL;
		}
	g->gzip = gz_fast() && g->in_avail >= 2 && g->inp[0] == 0x1f &&
	    g->inp[1] == 0x8b;
#ifdef GZ_HAVE_ISAL
	if (g->gzip)
		isal_inflate_init(&g->st);
#endif
	/*
	 * Read ahead in a thread only from a regular file: a pipe may block,
	 * and gz_free() must be able to join the thread at once.
	 */
	if (g->gzip && fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		(void)ahead_start(g);
	return g;
}

bool
gz_is_gzip(const struct gz *g)
{
	return g->gzip;
}

uint64_t
gz_in_bytes(const struct gz *g)
{
	/* Consumed, not read ahead: the ratio check needs the former. */
	if (g->ahead != NULL)
		return g->ahead->in_used;
	return g->in_bytes - g->in_avail;
}

static void ahead_stop(struct gz *);

void
gz_free(struct gz *g)
{
	if (g == NULL)
		return;
	ahead_stop(g);
	free(g->in);
	free(g->out);
	free(g);
}

static la_ssize_t
gz_fail(struct archive *a, struct gz *g)
{
	archive_set_error(a, EILSEQ, "%s", g->err);
	return -1;
}

/*
 * Inflate the next block of gzip input into out (cap bytes): 1 with
 * *n > 0 bytes, 0 at the end, -1 with g->err set.
 */
static int
gz_inflate_block(struct gz *g, unsigned char *out, size_t cap, size_t *n)
{
#ifdef GZ_HAVE_ISAL
	for (;;) {
		size_t produced;
		int r;

		if (g->done)
			return 0;
		if (g->in_avail == 0 && !g->in_eof && gz_more(g) == -1)
			return -1;
		if (!g->member) {
			if (g->in_avail == 0 && g->in_eof) {
				g->done = true;
				return 0;
			}
			/*
			 * Concatenated members (pigz, bgzip) go on; anything
			 * else after a member is ignored, as zlib's libarchive
			 * filter and gzip(1) do, so both builds agree.
			 */
			if (g->inp[0] != 0x1f || (g->in_avail > 1 &&
			    g->inp[1] != 0x8b)) {
				g->done = true;
				return 0;
			}
			isal_inflate_reset(&g->st);
			g->st.crc_flag = ISAL_GZIP;
			g->member = true;
		}
		g->st.next_in = (uint8_t *)(uintptr_t)g->inp;
		g->st.avail_in = (uint32_t)g->in_avail;
		g->st.next_out = out;
		g->st.avail_out = (uint32_t)cap;
		r = isal_inflate(&g->st);
		g->inp += g->in_avail - g->st.avail_in;
		g->in_avail = g->st.avail_in;
		produced = cap - g->st.avail_out;
		if (r < 0) {
			snprintf(g->err, sizeof(g->err), "%s",
			    r == ISAL_INCORRECT_CHECKSUM ?
			    "gzip checksum mismatch (corrupt data)" :
			    r == ISAL_INVALID_WRAPPER ?
			    "invalid gzip header" : "corrupt gzip data");
			return -1;
		}
		if (g->st.block_state == ISAL_BLOCK_FINISH)
			g->member = false;
		if (produced > 0) {
			*n = produced;
			return 1;
		}
		if (g->in_avail == 0 && g->in_eof && g->member) {
			snprintf(g->err, sizeof(g->err),
			    "truncated gzip input");
			return -1;
		}
	}
#else
	(void)out;
	(void)cap;
	(void)n;
	snprintf(g->err, sizeof(g->err), "gzip support missing");
	return -1;
#endif
}

/* ---- the reader thread ----------------------------------------------- */

static void *
ahead_main(void *arg)
{
	struct gz *g = arg;
	struct gz_ahead *ah = g->ahead;
	int status = 1;

	while (status == 1) {
		struct gz_slot *sl;

		pthread_mutex_lock(&ah->mu);
		while (!ah->stop && ah->tail - ah->head == GZ_SLOTS)
			pthread_cond_wait(&ah->freed, &ah->mu);
		if (ah->stop) {
			pthread_mutex_unlock(&ah->mu);
			break;
		}
		sl = &ah->slot[ah->tail % GZ_SLOTS];
		pthread_mutex_unlock(&ah->mu);

		/* The slot is the producer's alone until tail moves. */
		sl->n = 0;
		status = sl->status = gz_inflate_block(g, sl->p, GZ_OUT,
		    &sl->n);
		sl->in_used = g->in_bytes - g->in_avail;

		pthread_mutex_lock(&ah->mu);
		ah->tail++;
		pthread_cond_signal(&ah->filled);
		pthread_mutex_unlock(&ah->mu);
	}
	return NULL;
}

/* Start the reader thread; false (and no thread) when it cannot. */
static bool
ahead_start(struct gz *g)
{
	struct gz_ahead *ah = calloc(1, sizeof(*ah));
	int i;

	if (ah == NULL)
		return false;
	for (i = 0; i < GZ_SLOTS; i++)
		if ((ah->slot[i].p = malloc(GZ_OUT)) == NULL)
			goto fail;
	pthread_mutex_init(&ah->mu, NULL);
	pthread_cond_init(&ah->filled, NULL);
	pthread_cond_init(&ah->freed, NULL);
	g->ahead = ah;
	if (pthread_create(&ah->tid, NULL, ahead_main, g) == 0)
		return true;
	g->ahead = NULL;
	pthread_cond_destroy(&ah->filled);
	pthread_cond_destroy(&ah->freed);
	pthread_mutex_destroy(&ah->mu);
fail:
	for (i = 0; i < GZ_SLOTS; i++)
		free(ah->slot[i].p);
	free(ah);
	return false;
}

static void
ahead_stop(struct gz *g)
{
	struct gz_ahead *ah = g->ahead;
	int i;

	if (ah == NULL)
		return;
	pthread_mutex_lock(&ah->mu);
	ah->stop = true;
	pthread_cond_signal(&ah->freed);
	pthread_mutex_unlock(&ah->mu);
	pthread_join(ah->tid, NULL);
	pthread_cond_destroy(&ah->filled);
	pthread_cond_destroy(&ah->freed);
	pthread_mutex_destroy(&ah->mu);
	for (i = 0; i < GZ_SLOTS; i++)
		free(ah->slot[i].p);
	free(ah);
	g->ahead = NULL;
}

/* The next block from the reader thread, as gz_inflate_block says. */
static int
ahead_next(struct gz *g, const void **buf, size_t *n)
{
	struct gz_ahead *ah = g->ahead;
	struct gz_slot *sl;

	if (ah->ended)
		return ah->end_status;
	pthread_mutex_lock(&ah->mu);
	if (ah->lent) {
		/* libarchive is done with the block it had. */
		ah->head++;
		ah->lent = false;
		pthread_cond_signal(&ah->freed);
	}
	while (ah->head == ah->tail)
		pthread_cond_wait(&ah->filled, &ah->mu);
	pthread_mutex_unlock(&ah->mu);
	sl = &ah->slot[ah->head % GZ_SLOTS];
	ah->in_used = sl->in_used;
	if (sl->status != 1) {
		ah->ended = true;
		ah->end_status = sl->status;
		return sl->status;
	}
	ah->lent = true;
	*buf = sl->p;
	*n = sl->n;
	return 1;
}

la_ssize_t
gz_read(struct archive *a, void *cd, const void **buf)
{
	struct gz *g = cd;
	size_t n = 0;
	int r;

	if (!g->gzip) {
		/* Pass through: libarchive's filters do the rest. */
		if (g->in_avail == 0 && !g->in_eof && gz_more(g) == -1)
			return gz_fail(a, g);
		*buf = g->inp;
		n = g->in_avail;
		g->inp += n;
		g->in_avail = 0;
		return (la_ssize_t)n;
	}
	if (g->ahead != NULL)
		r = ahead_next(g, buf, &n);
	else {
		r = gz_inflate_block(g, g->out, GZ_OUT, &n);
		*buf = g->out;
	}
	if (r == -1)
		return gz_fail(a, g);
	return r == 1 ? (la_ssize_t)n : 0;
}
