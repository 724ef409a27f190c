/*
 * buf - a growable byte buffer.
 *
 * Invariants: after BUF_INIT or buf_init() `p` is never NULL and
 * `p[len] == '\0'`; the bytes may hold NULs, so `len` is the truth.
 * Growth failures abort with a message: revpipe treats running out of
 * memory for a buffer as fatal (the alternative is a half-written record).
 */
#ifndef REVPIPE_BUF_H
#define REVPIPE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

extern char buf_empty[];
#define BUF_INIT	{ buf_empty, 0, 0 }

/* Make `b` empty without allocating. */
void	buf_init(struct buf *b);
/* Free the contents; `b` is empty (as after buf_init) afterwards. */
void	buf_release(struct buf *b);
/* Empty `b` and keep its memory for reuse. */
static inline void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap != 0)
		b->p[0] = '\0';
}
/* Make room for `extra` more bytes. */
void	buf_grow(struct buf *b, size_t extra);
void	buf_add(struct buf *b, const void *p, size_t n);
void	buf_addc(struct buf *b, int c);
void	buf_adds(struct buf *b, const char *s);
void	buf_addf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Cut to `len` bytes (len <= b->len). */
void	buf_truncate(struct buf *b, size_t len);
/* Hand the bytes to the caller, who must free() them; `b` becomes empty. */
char	*buf_detach(struct buf *b, size_t *len);

#endif
