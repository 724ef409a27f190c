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
	fprintf(fp, "\n'revpipe STAGE --help' describes a stage's options; "
	    "'revpipe STAGE --eval FILE'\nruns STAGE-eval where one exists.\n");
}

static const struct stage *
find_stage(const char *name)
{
	const struct stage *const *st;

	for (st = stages; *st != NULL; st++)
		if (strcmp((*st)->name, name) == 0)
			return *st;
	return NULL;
}

/*
 * `revpipe STAGE --eval FILE ...` is spelled as the issues and docs spell
 * it, but runs the tool `STAGE-eval`: an evaluation reads labelled JSON
 * Lines and prints a table, so it is a tool with its own options, not a
 * mode of the filter.  Returns -1 when argv is not such a call.
 */
static int
eval_alias(int argc, char **argv)
{
	char name[64];
	const struct stage *st;

	if (argc < 3 || strncmp(argv[2], "--eval", 6) != 0 ||
	    (argv[2][6] != '\0' && argv[2][6] != '='))
		return -1;
	snprintf(name, sizeof(name), "%s-eval", argv[1]);
	if ((st = find_stage(name)) == NULL)
		return -1;
	argv[1] = name;
	if (argv[2][6] == '=')
		argv[2] += 7;		/* --eval=FILE: FILE is the operand */
	else {
		memmove(&argv[2], &argv[3], (size_t)(argc - 2) * sizeof(*argv));
		argc--;
	}
	return stage_main(st, argc - 1, argv + 1);
}

int
main(int argc, char **argv)
{
	const struct stage *st;
	int status;

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
	if ((status = eval_alias(argc, argv)) != -1)
		return status;
	if ((st = find_stage(argv[1])) != NULL)
		return stage_main(st, argc - 1, argv + 1);
	fprintf(stderr, "revpipe: unknown stage '%s' (see revpipe --help)\n",
	    argv[1]);
	return EXIT_USAGE;
}
