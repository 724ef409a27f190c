/*
 * stage_test - the driver: options, pipeline.conf, marking and accounting,
 * and the output builder (keys added, replaced, deleted, passed through).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mp.h"
#include "stage.h"
#include "banned.h"

/* ---- a tiny stage under test -------------------------------------------- */

static const struct opt t_opts[] = {
	{ "memory", 0, OPT_SIZE, "SIZE", "64M", 1024, 1e12, "memory" },
	{ "threshold", 0, OPT_FLOAT, "X", "0.8", 0, 1, "threshold" },
	{ "count", 'n', OPT_INT, "N", "3", 1, 100, "count" },
	{ "mode", 0, OPT_STR, "M", NULL, 0, 0, "mode" },
	{ "skip-mark", 0, OPT_FLAG, NULL, NULL, 0, 0, "forget to mark" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static long long seen_memory, seen_count;
static double seen_threshold;
static char seen_mode[64];	/* a copy: argv dies with run_t() */

static int
t_init(struct stage_ctx *ctx)
{
	seen_memory = opt_int(ctx, "memory");
	seen_count = opt_int(ctx, "count");
	seen_threshold = opt_float(ctx, "threshold");
	snprintf(seen_mode, sizeof(seen_mode), "%s",
	    opt_str(ctx, "mode") != NULL ? opt_str(ctx, "mode") : "");
	return 0;
}

static int
t_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct rec_out *o;
	struct slice s;

	if (opt_flag(ctx, "skip-mark"))
		return 0;
	if (rec_get_str(r, "text", &s) == -1)
		return stage_reject(ctx, r, "missing_field", "no 'text'");
	if (slice_eq(s, "dup"))
		return stage_duplicate(ctx, r);
	o = rec_out_begin(ctx, r);
	rec_out_str(o, "lang", "kk");
	rec_out_int(o, "n", (int64_t)s.n);
	rec_out_del(o, "tmp");
	return rec_out_end(o);
}

static const struct stage t_stage = {
	.name = "t",
	.summary = "test stage",
	.opts = t_opts,
	.init = t_init,
	.process = t_process,
};

/*
 * The .scan fast path: takes a whole record whose text is "fast" (counted
 * as aggregated), leaves every other one to the driver and process().
 */
static size_t
t_scan(struct stage_ctx *ctx, const char *p, const char *end,
    uint64_t offset)
{
	static const char key_val[] = {
		'\xa4', 't', 'e', 'x', 't', '\xa4', 'f', 'a', 's', 't'
	};
	const char *q = p;

	(void)offset;
	if (mp_skip(&q, end) != MP_OK || memmem(p, (size_t)(q - p), key_val,
	    sizeof(key_val)) == NULL)
		return 0;
	if (!opt_flag(ctx, "skip-mark"))
		stage_aggregate(ctx, NULL);
	return (size_t)(q - p);
}

static const struct stage t_scan_stage = {
	.name = "t",
	.summary = "test stage with a scan",
	.opts = t_opts,
	.init = t_init,
	.process = t_process,
	.scan = t_scan,
};

static const struct stage *t_under_test = &t_stage;

/* Run t_stage with `args` (space separated) over the records in `in`,
 * one per line as "key=value;key=value" (string values); stdout and stderr
 * come back in out and err. */
static int
run_t(const char *args, const char *in, struct buf *out, struct buf *err)
{
	char inpath[] = "/tmp/stage_test_in.XXXXXX";
	char outpath[] = "/tmp/stage_test_out.XXXXXX";
	char errpath[] = "/tmp/stage_test_err.XXXXXX";
	char *argv[32], *copy, *w;
	int argc = 0, status, fin, fout, ferr, save0, save1, save2;
	FILE *fp;
	char line[4096];
	size_t n;

	fin = mkstemp(inpath);
	fout = mkstemp(outpath);
	ferr = mkstemp(errpath);
	/* The input is packed with the msgpack-c packer from literal records
	 * given as "key=value;key=value" lines (strings only). */
	{
		struct buf mp = BUF_INIT;
		msgpack_packer pk;
		const char *p = in;

		mp_packer_buf(&pk, &mp);
		while (*p != '\0') {
			const char *eol = strchr(p, '\n'), *q;
			size_t pairs = 0;

			for (q = p; q < eol; q++)
				if (*q == '=')
					pairs++;
			msgpack_pack_map(&pk, pairs);
			while (p < eol) {
				const char *eq = memchr(p, '=', (size_t)(eol - p));
				const char *semi = memchr(eq, ';', (size_t)(eol - eq));

				if (semi == NULL)
					semi = eol;
				mp_pack_strn(&pk, p, (size_t)(eq - p));
				mp_pack_strn(&pk, eq + 1, (size_t)(semi - eq - 1));
				p = semi < eol ? semi + 1 : eol;
			}
			p = eol + 1;
		}
		assert_int_equal(write(fin, mp.p, mp.len), (ssize_t)mp.len);
		buf_release(&mp);
	}
	lseek(fin, 0, SEEK_SET);
	argv[argc++] = (char *)"t";
	copy = strdup(args);
	{
		char *save = NULL;

		for (w = strtok_r(copy, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
	}
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	save0 = dup(0);
	save1 = dup(1);
	save2 = dup(2);
	dup2(fin, 0);
	dup2(fout, 1);
	dup2(ferr, 2);
	status = stage_main(t_under_test, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save0, 0);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save0);
	close(save1);
	close(save2);
	free(copy);
	/* The output stays msgpack: tests inspect it with rec_parse(). */
	lseek(fout, 0, SEEK_SET);
	while ((n = (size_t)read(fout, line, sizeof(line))) > 0 &&
	    n != (size_t)-1)
		buf_add(out, line, n);
	if ((fp = fdopen(ferr, "r")) != NULL) {
		rewind(fp);
		while ((n = fread(line, 1, sizeof(line), fp)) > 0)
			buf_add(err, line, n);
		fclose(fp);
	}
	close(fin);
	close(fout);
	unlink(inpath);
	unlink(outpath);
	unlink(errpath);
	return status;
}

static void
test_stage_adds_replaces_deletes_and_passes_unknown_keys(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct rec r;
	struct slice s;
	size_t used;

	memset(&r, 0, sizeof(r));
	assert_int_equal(run_t("", "id=1;lang=ru;tmp=x;zz=unknown;text=hello\n",
	    &out, &err), EXIT_OK);
	assert_int_equal(rec_parse(&r, out.p, out.len, &used), MP_OK);
	assert_int_equal(used, out.len);
	/* id, zz, text kept in order; lang replaced; tmp dropped; n added. */
	assert_int_equal(r.nkeys, 5);
	assert_true(slice_eq(r.kv[0].key, "id"));
	assert_true(slice_eq(r.kv[1].key, "zz"));
	assert_true(slice_eq(r.kv[2].key, "text"));
	assert_true(slice_eq(r.kv[3].key, "lang"));
	assert_true(slice_eq(r.kv[4].key, "n"));
	assert_int_equal(rec_get_str(&r, "lang", &s), 0);
	assert_true(slice_eq(s, "kk"));
	assert_int_equal(rec_get_str(&r, "zz", &s), 0);
	assert_true(slice_eq(s, "unknown"));
	assert_int_equal(err.len, 0);
	rec_release(&r);
	buf_release(&out);
	buf_release(&err);
}

static void
test_stage_counts_add_up_with_rejects_and_duplicates(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT;

	assert_int_equal(run_t("", "id=1;text=a\nid=2\nid=3;text=dup\n"
	    "id=4;text=b\n", &out, &err), EXIT_OK);
	assert_non_null(strstr(err.p, "4 read, 2 written, 1 duplicates, "
	    "1 rejects"));
	buf_release(&out);
	buf_release(&err);
}

static void
test_stage_unmarked_record_is_exit_3(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT;

	assert_int_equal(run_t("--skip-mark", "id=1;text=a\n", &out, &err),
	    EXIT_ACCOUNTING);
	assert_non_null(strstr(err.p, "marked 0 times"));
	buf_release(&out);
	buf_release(&err);
}

static void
test_stage_scan_takes_records_and_leaves_the_rest(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct rec r;
	struct slice s;
	size_t used;

	t_under_test = &t_scan_stage;
	assert_int_equal(run_t("", "id=1;text=fast\nid=2;text=slow\n"
	    "id=3\nid=4;text=fast\nid=5;text=dup\n", &out, &err), EXIT_OK);
	/* Two taken by the scan, the rest through process(). */
	assert_non_null(strstr(err.p, "5 read, 1 written, 1 duplicates, "
	    "1 rejects, 2 aggregated"));
	memset(&r, 0, sizeof(r));
	assert_int_equal(rec_parse(&r, out.p, out.len, &used), MP_OK);
	assert_int_equal(used, out.len);
	assert_int_equal(rec_get_str(&r, "id", &s), 0);
	assert_true(slice_eq(s, "2"));
	rec_release(&r);
	buf_reset(&out);
	buf_reset(&err);
	/* A scan that takes a record without marking it is a bug: exit 3. */
	assert_int_equal(run_t("--skip-mark", "id=1;text=fast\n", &out, &err),
	    EXIT_ACCOUNTING);
	assert_non_null(strstr(err.p, "scan marked a record 0 times"));
	t_under_test = &t_stage;
	buf_release(&out);
	buf_release(&err);
}

static void
test_stage_options_parse_sizes_ranges_and_defaults(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT;

	assert_int_equal(run_t("--memory 512M -n 7 --mode=fast", "", &out,
	    &err), EXIT_OK);
	assert_int_equal(seen_memory, 512LL << 20);
	assert_int_equal(seen_count, 7);
	assert_true(seen_threshold == 0.8);
	assert_string_equal(seen_mode, "fast");
	assert_int_equal(run_t("--memory 2G", "", &out, &err), EXIT_OK);
	assert_int_equal(seen_memory, 2LL << 30);
	buf_release(&out);
	buf_release(&err);
}

static void
test_stage_bad_values_are_usage_errors(void **state)
{
	static const char *const bad[] = {
		"--memory 12Q", "--threshold 1.5", "-n 0", "-n 3x",
		"--count", "--nosuch", "--skip-mark=yes", "stray-operand"
	};
	struct buf out = BUF_INIT, err = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&err);
		assert_int_equal(run_t(bad[i], "", &out, &err), EXIT_USAGE);
		assert_non_null(strstr(err.p, "revpipe t: "));
		assert_non_null(strstr(err.p, "usage: revpipe t"));
	}
	buf_release(&out);
	buf_release(&err);
}

static void
test_stage_conf_applies_and_command_line_wins(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT, args = BUF_INIT;
	char path[] = "/tmp/stage_test_conf.XXXXXX";
	int fd = mkstemp(path);
	const char conf[] = "# comment\n[other]\nanything = goes\n\n[t]\n"
	    "count = 9\nmode = slow\n";

	assert_int_equal(write(fd, conf, sizeof(conf) - 1),
	    (ssize_t)sizeof(conf) - 1);
	close(fd);
	buf_addf(&args, "-c %s --mode quick", path);
	assert_int_equal(run_t(args.p, "", &out, &err), EXIT_OK);
	assert_int_equal(seen_count, 9);
	assert_string_equal(seen_mode, "quick");
	unlink(path);
	buf_release(&out);
	buf_release(&err);
	buf_release(&args);
}

static void
test_stage_conf_unknown_key_names_the_line(void **state)
{
	struct buf out = BUF_INIT, err = BUF_INIT, args = BUF_INIT;
	char path[] = "/tmp/stage_test_conf.XXXXXX";
	int fd = mkstemp(path);
	const char conf[] = "[t]\ncount = 9\n\ncolour = blue\n";

	assert_int_equal(write(fd, conf, sizeof(conf) - 1),
	    (ssize_t)sizeof(conf) - 1);
	close(fd);
	buf_addf(&args, "-c %s", path);
	assert_int_equal(run_t(args.p, "", &out, &err), EXIT_USAGE);
	assert_non_null(strstr(err.p, ":4: unknown key 'colour' in [t]"));
	unlink(path);
	buf_release(&out);
	buf_release(&err);
	buf_release(&args);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage_adds_replaces_deletes_and_passes_unknown_keys),
		cmocka_unit_test(test_stage_counts_add_up_with_rejects_and_duplicates),
		cmocka_unit_test(test_stage_unmarked_record_is_exit_3),
		cmocka_unit_test(test_stage_scan_takes_records_and_leaves_the_rest),
		cmocka_unit_test(test_stage_options_parse_sizes_ranges_and_defaults),
		cmocka_unit_test(test_stage_bad_values_are_usage_errors),
		cmocka_unit_test(test_stage_conf_applies_and_command_line_wins),
		cmocka_unit_test(test_stage_conf_unknown_key_names_the_line),
	};

	return cmocka_run_group_tests_name("stage", tests, NULL, NULL);
}
