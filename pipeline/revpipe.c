/*
 * revpipe - one binary, one subcommand per stage (the way git lists its
 * builtins).  The table is generated from the sources by make.
 */
#include <stdio.h>
#include <string.h>

#include "stage.h"
#include "stages.gen.h"

static const struct stage *const stages[] = {
	STAGE_TABLE
	NULL
};

static void
usage(FILE *fp)
{
	const struct stage *const *st;

	fprintf(fp, "usage: revpipe [--version] [-h] STAGE [options] "
	    "[operands]\n\n"
	    "Bulk review processing as a chain of Unix filters passing "
	    "msgpack records:\n"
	    "  revpipe decode exports/*.tar.gz | revpipe dedupe | "
	    "revpipe langid \\\n"
	    "    | revpipe classify | revpipe reply | revpipe stats -o out/\n\n"
	    "stages and tools:\n");
	for (st = stages; *st != NULL; st++)
		fprintf(fp, "  %-15s %s\n", (*st)->name, (*st)->summary);
	fprintf(fp, "\n'revpipe STAGE --help' describes a stage's options.\n");
}

int
main(int argc, char **argv)
{
	const struct stage *const *st;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("%s\n", revpipe_version());
		return EXIT_OK;
	}
	for (st = stages; *st != NULL; st++)
		if (strcmp((*st)->name, argv[1]) == 0)
			return stage_main(*st, argc - 1, argv + 1);
	fprintf(stderr, "revpipe: unknown stage '%s' (see revpipe --help)\n",
	    argv[1]);
	return EXIT_USAGE;
}
