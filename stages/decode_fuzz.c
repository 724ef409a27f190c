/*
 * decode_fuzz - libFuzzer target for the whole decode stage on arbitrary
 * archive bytes: the input is written to a file and decoded as `revpipe
 * decode FILE` would (libarchive, nesting, every format, mappings,
 * limits), output to /dev/null (run with -close_fd_mask=2 to quiet its
 * messages).  It must never crash, hang or leak, and
 * exit 0 or 1 only.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stage.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const struct stage decode_stage;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static int ready;
	char *argv[] = { "decode", "-f", "-q", "--max-ratio", "50",
	    "--max-entry-size", "4M", path, NULL };
	int fd, st;

	if (!ready) {
		int null = open("/dev/null", O_WRONLY);

		snprintf(path, sizeof(path), "/tmp/decode_fuzz.%d.in",
		    (int)getpid());
		if (null == -1 || dup2(null, 1) == -1)
			abort();
		close(null);
		ready = 1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	st = stage_main(&decode_stage, 8, argv);
	if (st != 0 && st != 1)
		__builtin_trap();
	return 0;
}
