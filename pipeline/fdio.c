#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "banned.h"

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
