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
#include <errno.h>
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

struct gz {
	int		 fd;		/* read from fd, or */
	struct archive	*outer;		/* from an archive entry */
	unsigned char	*in, *out;
	const unsigned char *inp;	/* unconsumed input */
	size_t		 in_avail;
	bool		 in_eof, gzip, member, done;
	uint64_t	 in_bytes;
	char		 err[160];
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

struct gz *
gz_open(int fd, struct archive *outer, char *err, size_t errlen)
{
	struct gz *g = calloc(1, sizeof(*g));

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
	return g->in_bytes - g->in_avail;
}

void
gz_free(struct gz *g)
{
	if (g == NULL)
		return;
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

la_ssize_t
gz_read(struct archive *a, void *cd, const void **buf)
{
	struct gz *g = cd;

	if (!g->gzip) {
		/* Pass through: libarchive's filters do the rest. */
		if (g->in_avail == 0 && !g->in_eof && gz_more(g) == -1)
			return gz_fail(a, g);
		*buf = g->inp;
		g->inp += g->in_avail;
		{
			size_t n = g->in_avail;

			g->in_avail = 0;
			return (la_ssize_t)n;
		}
	}
#ifdef GZ_HAVE_ISAL
	for (;;) {
		size_t produced;
		int r;

		if (g->done)
			return 0;
		if (g->in_avail == 0 && !g->in_eof && gz_more(g) == -1)
			return gz_fail(a, g);
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
		g->st.next_out = g->out;
		g->st.avail_out = GZ_OUT;
		r = isal_inflate(&g->st);
		g->inp += g->in_avail - g->st.avail_in;
		g->in_avail = g->st.avail_in;
		produced = GZ_OUT - g->st.avail_out;
		if (r < 0) {
			snprintf(g->err, sizeof(g->err), "%s",
			    r == ISAL_INCORRECT_CHECKSUM ?
			    "gzip checksum mismatch (corrupt data)" :
			    r == ISAL_INVALID_WRAPPER ?
			    "invalid gzip header" : "corrupt gzip data");
			return gz_fail(a, g);
		}
		if (g->st.block_state == ISAL_BLOCK_FINISH)
			g->member = false;
		if (produced > 0) {
			*buf = g->out;
			return (la_ssize_t)produced;
		}
		if (g->in_avail == 0 && g->in_eof && g->member) {
			snprintf(g->err, sizeof(g->err),
			    "truncated gzip input");
			return gz_fail(a, g);
		}
	}
#else
	snprintf(g->err, sizeof(g->err), "gzip support missing");
	return gz_fail(a, g);
#endif
}
