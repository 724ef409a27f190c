/*
 * decode_gz.h - gzip inflated by ISA-L in front of libarchive (see
 * decode_gz.c).  A `struct gz` is a libarchive read callback source:
 *
 *	g = gz_open(fd, NULL, err, sizeof(err));	(or (-1, outer))
 *	archive_read_open(a, g, NULL, gz_read, NULL);
 *	...
 *	archive_read_free(a); gz_free(g);
 *
 * It inflates gzip input itself when ISA-L is linked and passes any other
 * bytes through for libarchive's own filters.
 */
#ifndef REVPIPE_DECODE_GZ_H
#define REVPIPE_DECODE_GZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>

struct gz;

/* True when ISA-L is linked in. */
bool	gz_fast(void);
/*
 * Read from fd (outer NULL) or from the current entry of outer; reads the
 * first chunk to sniff gzip.  NULL with a message in err on failure.
 */
struct gz *gz_open(int fd, struct archive *outer, char *err, size_t errlen);
/* True when the input is gzip and inflated here. */
bool	gz_is_gzip(const struct gz *g);
/* Compressed bytes consumed so far (for the ratio limit). */
uint64_t gz_in_bytes(const struct gz *g);
/* The libarchive read callback; client data is the struct gz. */
la_ssize_t gz_read(struct archive *a, void *cd, const void **buf);
void	gz_free(struct gz *g);

#endif
