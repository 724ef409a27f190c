/*
 * dedupe internals shared by dedupe.c (the stage), dedupe_sig.c (MinHash
 * signatures) and dedupe_store.c (memory/temporary-file storage).
 * Nothing outside stages/dedupe*.c includes this.
 */
#ifndef REVPIPE_DEDUPE_H
#define REVPIPE_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dupkey.h"
#include "slice.h"

/* ---- signatures (dedupe_sig.c) ------------------------------------------ */

/*
 * One-permutation MinHash over character shingles of the matching form
 * (norm.h): each shingle of DD_SHINGLE code points is hashed once, the top
 * bits pick one of DD_K bins and the bin keeps the smallest value; empty
 * bins are filled by "optimal densification" (Shrivastava 2017), so two
 * texts agree on a bin with probability = their Jaccard similarity.  LSH:
 * DD_BANDS bands of DD_ROWS bins; texts sharing any band are compared.
 */
#define DD_K		64
#define DD_KBITS	6
#ifndef DD_BANDS
#define DD_BANDS	8
#endif
#ifndef DD_ROWS
#define DD_ROWS		3
#endif
#define DD_SHINGLE	4
/* Bins kept for verification: 60 x 16 bits + 8 bytes = 128-byte entries. */
#define DD_KSTORE	60

struct dd_sig {
	uint32_t	 len;		/* code points in the form */
	bool		 has;		/* at least one shingle */
	uint32_t	 v[DD_K];
};

/* Signature of the matching form `form` (valid UTF-8). */
void	dd_sig_make(struct dd_sig *s, struct slice form);
/*
 * The same from the text itself, in one pass that also writes its
 * matching form to `form` (room for NORM_FORM_ROOM(text.n) bytes); returns
 * the form's length.
 */
size_t	dd_sig_text(struct dd_sig *s, struct slice text, char *restrict form);
/*
 * The matching form of `text` alone (norm_form()'s bytes) into `form`
 * (room for NORM_FORM_ROOM(text.n) bytes), and in *ncp its code points;
 * returns the form's length.
 */
size_t	dd_form_text(struct slice text, char *restrict form, uint32_t *ncp);
/* The LSH key of band `band` (0..DD_BANDS-1) within group `group`. */
static inline uint64_t
dd_sig_band(const struct dd_sig *s, int band, uint64_t group)
{
	const uint32_t *v = s->v + band * DD_ROWS;
	uint64_t k = group ^ (uint64_t)(band + 1) * 0x9e3779b97f4a7c15ULL;
	int r;

	for (r = 0; r < DD_ROWS; r++)
		k = (k ^ v[r]) * 0xff51afd7ed558ccdULL;
	return mix64(k);
}
/* The stored form of a signature: the low 16 bits of DD_KSTORE bins. */
void	dd_sig_pack(const struct dd_sig *s, uint16_t *out);
/* Estimated Jaccard similarity of two packed signatures, in [0, 1]. */
double	dd_sig_sim(const uint16_t *a, const uint16_t *b);

/* ---- storage (dedupe_store.c) -------------------------------------------- */

/*
 * Memory carved from 2 MiB blocks on huge pages, freed all at once: many
 * small growing arrays (the partitions) then fault a page per 2 MiB, not
 * per 4 KiB.
 */
struct dd_slab {
	char		**blk;
	size_t		 nblk, capblk;
	char		*cur;
	size_t		 left;
};

#define DD_SLAB_INIT	{ NULL, 0, 0, NULL, 0 }

/* n bytes (at most 2 MiB), 64-byte aligned; aborts when out of memory. */
void	*dd_slab_alloc(struct dd_slab *s, size_t n);
/* Bytes allocated in blocks. */
size_t	dd_slab_bytes(const struct dd_slab *s);
void	dd_slab_release(struct dd_slab *s);

/*
 * A growable array of fixed-size items in chunks: growing never copies,
 * so the memory it takes is its size, not twice that.  Chunks come from
 * `slab` when it is set (dd_vec_release() then frees only the index).
 */
struct dd_vec {
	char		**chunk;
	size_t		 nchunk, capchunk;
	size_t		 isz;		/* bytes per item */
	size_t		 per;		/* items per chunk, a power of 2 */
	unsigned	 shift;		/* log2(per) */
	size_t		 n;		/* items */
	size_t		 chunkbytes;
	struct dd_slab	*slab;
};

void	dd_vec_init(struct dd_vec *v, size_t isz);
/*
 * The same with chunks of `chunk` bytes; at 2 MiB and more they are
 * aligned and given huge pages (one page fault per 2 MiB, not per 4 KiB).
 */
void	dd_vec_init_chunk(struct dd_vec *v, size_t isz, size_t chunk);
static inline void *
dd_vec_at(const struct dd_vec *v, size_t i)
{
	return v->chunk[i >> v->shift] + (i & (v->per - 1)) * v->isz;
}
/* Room for one more item at the end; aborts when out of memory. */
void	*dd_vec_push_chunk(struct dd_vec *v);
static inline void *
dd_vec_push(struct dd_vec *v)
{
	if ((v->n >> v->shift) < v->nchunk)
		return dd_vec_at(v, v->n++);
	return dd_vec_push_chunk(v);
}
/* Bytes allocated. */
size_t	dd_vec_bytes(const struct dd_vec *v);
/* Write every item to fd; returns 0 or -1 (errno set). */
int	dd_vec_write(const struct dd_vec *v, int fd);
/* Append n items read from fd at offset 0; returns 0 or -1 (errno set). */
int	dd_vec_read(struct dd_vec *v, int fd, size_t n);
void	dd_vec_release(struct dd_vec *v);

/*
 * A temporary file in `dir` ($TMPDIR or /tmp when NULL) that has no name
 * from the start (O_TMPFILE, else mkstemp + unlink): it disappears when
 * the process ends, on error, SIGINT or SIGKILL as well.  Returns an fd or
 * -1 (errno set).
 */
int	dd_tmpfile(const char *dir);

/* A write-behind buffer on a file descriptor. */
struct dd_wfile {
	int		 fd;
	struct buf	 b;
	uint64_t	 size;		/* bytes written or buffered */
};

#define DD_WFILE_BUF	(256 << 10)

void	dd_wfile_init(struct dd_wfile *w, int fd);
/* Returns 0 or -1 (errno set). */
int	dd_wfile_add(struct dd_wfile *w, const void *p, size_t n);
int	dd_wfile_flush(struct dd_wfile *w);
void	dd_wfile_release(struct dd_wfile *w);

/* Read exactly n bytes at offset; 0, or -1 (errno set, EIO when short). */
int	dd_pread_all(int fd, void *p, size_t n, uint64_t off);

#endif
