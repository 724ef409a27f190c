/*
 * fdio - whole writes on file descriptors.
 */
#ifndef REVPIPE_FDIO_H
#define REVPIPE_FDIO_H

#include <stddef.h>

/*
 * Write all n bytes at p to fd, retrying short writes and EINTR.  Returns
 * 0, or -1 with errno set (EPIPE included: SIGPIPE is ignored by stages).
 */
int	fdio_write_all(int fd, const void *p, size_t n);

#endif
