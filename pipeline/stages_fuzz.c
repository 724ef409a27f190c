/*
 * stages_fuzz - libFuzzer target: every filter stage's process() on
 * arbitrary msgpack.  The input is the stage's stdin; each stage in the
 * table that reads records runs over it through the real driver, so a
 * record with missing keys, wrong types, odd nesting or a cut tail must
 * end as a reject or an error message, never a crash or a leak.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stage.h"
#include "stages.gen.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct stage *const fuzz_stages[] = {
	STAGE_TABLE
	NULL
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	const struct stage *const *st;
	char name[64];
	char *argv[3];
	int in, save0, save1, save2;

	if (devnull == -1)
		devnull = open("/dev/null", O_WRONLY);
	for (st = fuzz_stages; *st != NULL; st++) {
		if ((*st)->process == NULL || (*st)->tool != NULL ||
		    ((*st)->flags & STAGE_NO_STDOUT))
			continue;
		if ((in = memfd_create("fuzz-in", 0)) == -1)
			return 0;
		if (write(in, data, size) != (ssize_t)size) {
			close(in);
			return 0;
		}
		lseek(in, 0, SEEK_SET);
		snprintf(name, sizeof(name), "%s", (*st)->name);
		argv[0] = name;
		argv[1] = (char *)"-q";
		argv[2] = NULL;
		save0 = dup(0);
		save1 = dup(1);
		save2 = dup(2);
		dup2(in, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		(void)stage_main(*st, 2, argv);
		dup2(save0, 0);
		dup2(save1, 1);
		dup2(save2, 2);
		close(save0);
		close(save1);
		close(save2);
		close(in);
	}
	return 0;
}
