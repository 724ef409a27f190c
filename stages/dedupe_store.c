/*
 * dedupe_store - chunked arrays, nameless temporary files and buffered
 * writes: the storage under dedupe's memory bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dedupe.h"
#include "fdio.h"
#include "banned.h"

/* Big enough to amortise malloc, small enough not to matter when idle. */
#define DD_CHUNK	(256 << 10)
#define DD_HUGE		((size_t)2 << 20)

static void
dd_oom(void)
{
	fputs("revpipe dedupe: out of memory\n", stderr);
	abort();
}

void *
dd_slab_alloc(struct dd_slab *s, size_t n)
{
	void *p;

	n = (n + 63) & ~(size_t)63;
	if (n > s->left) {
		if (s->nblk == s->capblk) {
			size_t cap = s->capblk ? s->capblk * 2 : 16;
			char **nb = realloc(s->blk, cap * sizeof(*nb));

			if (nb == NULL)
				dd_oom();
			s->blk = nb;
			s->capblk = cap;
		}
		if ((s->cur = aligned_alloc(DD_HUGE, DD_HUGE)) == NULL)
			dd_oom();
		(void)madvise(s->cur, DD_HUGE, MADV_HUGEPAGE);
		s->blk[s->nblk++] = s->cur;
		s->left = DD_HUGE;
	}
	p = s->cur;
	s->cur += n;
	s->left -= n;
	return p;
}

size_t
dd_slab_bytes(const struct dd_slab *s)
{
	return s->nblk * DD_HUGE;
}

void
dd_slab_release(struct dd_slab *s)
{
	size_t i;

	for (i = 0; i < s->nblk; i++)
		free(s->blk[i]);
	free(s->blk);
	memset(s, 0, sizeof(*s));
}

void
dd_vec_init_chunk(struct dd_vec *v, size_t isz, size_t chunk)
{
	memset(v, 0, sizeof(*v));
	v->isz = isz > 0 ? isz : 1;
	for (v->shift = 0; ((size_t)2 << v->shift) * v->isz <= chunk;
	    v->shift++)
		;
	v->per = (size_t)1 << v->shift;
	v->chunkbytes = chunk;
}

void
dd_vec_init(struct dd_vec *v, size_t isz)
{
	dd_vec_init_chunk(v, isz, DD_CHUNK);
}

void *
dd_vec_push_chunk(struct dd_vec *v)
{
	size_t c = v->n / v->per;

	if (c == v->nchunk) {
		if (v->nchunk == v->capchunk) {
			size_t cap = v->capchunk ? v->capchunk * 2 : 16;
			char **nc = realloc(v->chunk, cap * sizeof(*nc));

			if (nc == NULL)
				dd_oom();
			v->chunk = nc;
			v->capchunk = cap;
		}
		if (v->slab != NULL)
			v->chunk[v->nchunk] = dd_slab_alloc(v->slab,
			    v->per * v->isz);
		else if (v->chunkbytes >= DD_HUGE) {
			v->chunk[v->nchunk] = aligned_alloc(DD_HUGE,
			    (v->per * v->isz + DD_HUGE - 1) & ~(DD_HUGE - 1));
			if (v->chunk[v->nchunk] == NULL)
				dd_oom();
			(void)madvise(v->chunk[v->nchunk], v->per * v->isz,
			    MADV_HUGEPAGE);
		} else if ((v->chunk[v->nchunk] = malloc(v->per * v->isz)) ==
		    NULL)
			dd_oom();
		v->nchunk++;
	}
	return dd_vec_at(v, v->n++);
}

size_t
dd_vec_bytes(const struct dd_vec *v)
{
	return v->nchunk * v->per * v->isz;
}

int
dd_vec_write(const struct dd_vec *v, int fd)
{
	size_t c, items;

	for (c = 0; c < v->nchunk; c++) {
		items = v->n - c * v->per;
		if (items > v->per)
			items = v->per;
		if (fdio_write_all(fd, v->chunk[c], items * v->isz) == -1)
			return -1;
	}
	return 0;
}

int
dd_vec_read(struct dd_vec *v, int fd, size_t n)
{
	uint64_t off = 0;
	size_t items;
	char *p;

	while (n > 0) {
		/* Push one item to get a chunk, then fill the chunk. */
		p = dd_vec_push(v);
		items = v->per - ((v->n - 1) & (v->per - 1));
		if (items > n)
			items = n;
		v->n += items - 1;
		if (dd_pread_all(fd, p, items * v->isz, off) == -1)
			return -1;
		off += items * v->isz;
		n -= items;
	}
	return 0;
}

void
dd_vec_release(struct dd_vec *v)
{
	struct dd_slab *slab = v->slab;
	size_t c;

	for (c = 0; c < v->nchunk && slab == NULL; c++)
		free(v->chunk[c]);
	free(v->chunk);
	dd_vec_init_chunk(v, v->isz, v->chunkbytes);
	v->slab = slab;
}

int
dd_tmpfile(const char *dir)
{
	char path[4096];
	int fd, n;

	if (dir == NULL && (dir = getenv("TMPDIR")) == NULL)
		dir = "/tmp";
#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	n = snprintf(path, sizeof(path), "%s/revpipe-dedupe.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
		return -1;
	unlink(path);
	return fd;
}

void
dd_wfile_init(struct dd_wfile *w, int fd)
{
	w->fd = fd;
	buf_init(&w->b);
	w->size = 0;
}

int
dd_wfile_flush(struct dd_wfile *w)
{
	if (w->b.len == 0)
		return 0;
	if (fdio_write_all(w->fd, w->b.p, w->b.len) == -1)
		return -1;
	buf_reset(&w->b);
	return 0;
}

int
dd_wfile_add(struct dd_wfile *w, const void *p, size_t n)
{
	w->size += n;
	if (w->b.len + n > DD_WFILE_BUF && dd_wfile_flush(w) == -1)
		return -1;
	if (n >= DD_WFILE_BUF)
		return fdio_write_all(w->fd, p, n);
	buf_add(&w->b, p, n);
	return 0;
}

void
dd_wfile_release(struct dd_wfile *w)
{
	buf_release(&w->b);
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
}

int
dd_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	char *q = p;
	ssize_t r;

	while (n > 0) {
		if ((r = pread(fd, q, n, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		q += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}
