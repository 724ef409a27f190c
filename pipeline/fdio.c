#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "banned.h"

#define FDIO_BEHIND_WINDOW	((off_t)8 << 20)

void
fdio_behind_init(struct fdio_behind *b, int fd)
{
	struct stat sb;
	off_t pos;

	b->on = false;
	b->pos = b->dropped = 0;
	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (pos = lseek(fd, 0, SEEK_CUR)) == -1)
		return;
	b->on = true;
	b->pos = pos;
	/* Page-aligned ranges: a partial page would be kept anyway. */
	b->dropped = pos & ~(off_t)4095;
}

int
fdio_behind_wrote(struct fdio_behind *b, int fd, size_t n)
{
	const off_t w = FDIO_BEHIND_WINDOW;

	if (!b->on)
		return 0;
	b->pos += (off_t)n;
#ifdef SYNC_FILE_RANGE_WRITE
	while (b->pos - b->dropped >= 2 * w) {
		if (sync_file_range(fd, b->dropped + w,
		    b->pos - b->dropped - w, SYNC_FILE_RANGE_WRITE) == -1 ||
		    sync_file_range(fd, b->dropped, w,
		    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		    SYNC_FILE_RANGE_WAIT_AFTER) == -1) {
			if (errno == EIO || errno == ENOSPC)
				return -1;
			/* Not for this file system: plain writes then. */
			b->on = false;
			return 0;
		}
		(void)posix_fadvise(fd, b->dropped, w, POSIX_FADV_DONTNEED);
		b->dropped += w;
	}
#else
	b->on = false;
#endif
	return 0;
}

int
fdio_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fdio_read_file(const char *path, struct buf *b)
{
	char tmp[65536];
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		buf_add(b, tmp, (size_t)n);
	}
	close(fd);
	return 0;
}

int
fdio_mkdir_p(const char *dir)
{
	char path[PATH_MAX], *s;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (s = path + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0777) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(path, 0777) == -1 && errno != EEXIST)
		return -1;
	return 0;
}
