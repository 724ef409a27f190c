/*
 * fdio - whole reads and writes of files and descriptors.
 */
#ifndef REVPIPE_FDIO_H
#define REVPIPE_FDIO_H

#include <stddef.h>

#include "buf.h"

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
