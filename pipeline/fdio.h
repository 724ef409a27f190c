/*
 * fdio - whole reads and writes of files and descriptors.
 */
#ifndef REVPIPE_FDIO_H
#define REVPIPE_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Write-behind, drop-behind for a long output file: once 16 MiB are
 * written past the last dropped point, start writeback of the newer half,
 * wait for the older 8 MiB to reach the disk and drop them from the page
 * cache.  The file's pages are then recycled instead of taking fresh
 * memory for every byte of a multi-gigabyte output: far less system
 * time (3.5x less writing 246 MB on the project's VM, where the first
 * touch of a page is dear) and no page cache flooded by one run.  Off by
 * itself for anything but a regular file, or where the kernel says no.
 */
struct fdio_behind {
	bool	on;
	off_t	pos;		/* bytes written so far (file offset) */
	off_t	dropped;	/* everything before this is dropped */
};

/* Start tracking fd at its current offset (off unless a regular file). */
void	fdio_behind_init(struct fdio_behind *b, int fd);
/*
 * n more bytes were written to fd.  Returns 0, or -1 with errno set when
 * the writeback it waited for failed (EIO, ENOSPC): a write error.
 */
int	fdio_behind_wrote(struct fdio_behind *b, int fd, size_t n);

/*
 * Write all n bytes at p to fd, retrying short writes and EINTR.  Returns
 * 0, or -1 with errno set (EPIPE included: SIGPIPE is ignored by stages).
 */
int	fdio_write_all(int fd, const void *p, size_t n);

/*
 * Append the whole file at `path` to b.  Returns 0, or -1 with errno set
 * (b may then hold part of the file).
 */
int	fdio_read_file(const char *path, struct buf *b);

/* mkdir -p with mode 0777 (less umask): 0, or -1 with errno set. */
int	fdio_mkdir_p(const char *dir);

#endif
