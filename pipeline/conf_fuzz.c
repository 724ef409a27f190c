/*
 * conf_fuzz - libFuzzer target for the pipeline.conf reader: any bytes
 * must parse or fail with a message, never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct conf c;
	char err[256];
	FILE *fp;
	size_t i;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/revpipe-conf-fuzz.%d",
		    (int)getpid());
	if ((fp = fopen(path, "wb")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (conf_load(&c, path, err, sizeof(err)) == 0) {
		for (i = 0; i < c.n; i++)
			(void)conf_get(&c, c.v[i].section, c.v[i].key, NULL);
		conf_release(&c);
	}
	return 0;
}
