/*
 * decode_json_test - the JSON scanner against json-c, a well-kept parser:
 * on every line of every JSON Lines file under testdata/ (the corpus
 * included) and on hand-written edge cases, both must accept or reject
 * the same texts and give the same fields.
 *
 * json-c is loaded with dlopen() (libjson-c5, Debian libjson-c-dev for
 * the .so link), so the build needs no extra flag; without it the
 * differential tests are skipped, the edge-case tests still run.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "decode.h"
#include "banned.h"

/* The slice of json-c's API used here (json_tokener.h, json_object.h). */
struct json_tokener;
struct json_object;
struct jc_iter {
	const void	*opaque_;
};
enum { JC_NULL, JC_BOOLEAN, JC_DOUBLE, JC_INT, JC_OBJECT, JC_ARRAY,
	JC_STRING };
#define JC_STRICT	0x01

static struct {
	struct json_tokener *(*tok_new_ex)(int);
	void	(*tok_free)(struct json_tokener *);
	void	(*tok_reset)(struct json_tokener *);
	void	(*tok_set_flags)(struct json_tokener *, int);
	struct json_object *(*tok_parse_ex)(struct json_tokener *,
	    const char *, int);
	int	(*tok_get_error)(struct json_tokener *);
	size_t	(*tok_parse_end)(struct json_tokener *);
	int	(*type)(const struct json_object *);
	int	(*str_len)(const struct json_object *);
	const char *(*str)(struct json_object *);
	double	(*dbl)(const struct json_object *);
	int	(*put)(struct json_object *);
	struct jc_iter (*it_begin)(struct json_object *);
	struct jc_iter (*it_end)(const struct json_object *);
	int	(*it_equal)(const struct jc_iter *, const struct jc_iter *);
	void	(*it_next)(struct jc_iter *);
	const char *(*it_name)(const struct jc_iter *);
	struct json_object *(*it_value)(const struct jc_iter *);
} jc;
static bool jc_ok;

static void
jc_load(void)
{
	void *h = dlopen("libjson-c.so.5", RTLD_NOW);

	if (h == NULL)
		h = dlopen("libjson-c.so", RTLD_NOW);
	if (h == NULL)
		return;
#define SYM(f, name) do { *(void **)&jc.f = dlsym(h, name); \
	if (jc.f == NULL) return; } while (0)
	SYM(tok_new_ex, "json_tokener_new_ex");
	SYM(tok_free, "json_tokener_free");
	SYM(tok_reset, "json_tokener_reset");
	SYM(tok_set_flags, "json_tokener_set_flags");
	SYM(tok_parse_ex, "json_tokener_parse_ex");
	SYM(tok_get_error, "json_tokener_get_error");
	SYM(tok_parse_end, "json_tokener_get_parse_end");
	SYM(type, "json_object_get_type");
	SYM(str_len, "json_object_get_string_len");
	SYM(str, "json_object_get_string");
	SYM(dbl, "json_object_get_double");
	SYM(put, "json_object_put");
	SYM(it_begin, "json_object_iter_begin");
	SYM(it_end, "json_object_iter_end");
	SYM(it_equal, "json_object_iter_equal");
	SYM(it_next, "json_object_iter_next");
	SYM(it_name, "json_object_iter_peek_name");
	SYM(it_value, "json_object_iter_peek_value");
#undef SYM
	jc_ok = true;
}

static struct arena A = ARENA_INIT;
static struct dec_rec R;
static size_t n_lines, n_rejected, n_fields, n_matched;

/* Compare json-c's object o (at path prefix) with our fields. */
static void
compare_obj(struct json_object *o, const char *prefix, size_t *count,
    const char *line)
{
	struct jc_iter it = jc.it_begin(o), end = jc.it_end(o);

	for (; !jc.it_equal(&it, &end); jc.it_next(&it)) {
		struct json_object *v = jc.it_value(&it);
		const struct dec_field *f;
		char path[4096];
		int t = v == NULL ? JC_NULL : jc.type(v);

		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", jc.it_name(&it));
		(*count)++;
		f = dec_get(&R, slice_from(path));
		if (f == NULL)
			fail_msg("path '%s' missing in: %s", path, line);
		switch (t) {
		case JC_NULL:
			assert_int_equal(f->type, DV_NULL);
			break;
		case JC_BOOLEAN:
			assert_int_equal(f->type, DV_BOOL);
			assert_string_equal(jc.str(v), f->val.p[0] == 't' ?
			    "true" : "false");
			break;
		case JC_INT:
		case JC_DOUBLE: {
			char w[64];
			double x;

			assert_int_equal(f->type, DV_NUM);
			snprintf(w, sizeof(w), "%.*s", (int)f->val.n, f->val.p);
			x = strtod(w, NULL);
			if (fabs(x) < 1e15 && x != jc.dbl(v))
				fail_msg("'%s': %s vs %g in %s", path, w,
				    jc.dbl(v), line);
			break;
		}
		case JC_STRING:
			assert_int_equal(f->type, DV_STR);
			if ((size_t)jc.str_len(v) != f->val.n ||
			    memcmp(jc.str(v), f->val.p, f->val.n) != 0)
				fail_msg("'%s' differs in %s", path, line);
			n_fields++;
			break;
		case JC_ARRAY:
			assert_int_equal(f->type, DV_ARRAY);
			break;
		case JC_OBJECT:
			assert_int_equal(f->type, DV_OBJECT);
			compare_obj(v, path, count, line);
			break;
		}
	}
}

static size_t
distinct_paths(void)
{
	size_t i, j, n = 0;

	for (i = 0; i < R.n; i++) {
		for (j = 0; j < i; j++)
			if (slice_same(R.f[i].path, R.f[j].path))
				break;
		n += j == i;
	}
	return n;
}

/*
 * Texts json-c accepts even in strict mode though RFC 8259 does not:
 * the scanner rejects them, and that is the intended difference.
 */
static const char *const jsonc_lenient[] = {
	"{\"a\":1.}", "{\"a\":NaN}", "{\"a\":Infinity}",
	"{\"a\":\"tab\there\"}", "{'a':1}",
	NULL
};

static bool
lenient(const char *line)
{
	const char *const *l;

	for (l = jsonc_lenient; *l != NULL; l++)
		if (strcmp(*l, line) == 0)
			return true;
	return false;
}

/*
 * Parsing with expected paths (the previous text's, as decode does along
 * a JSON Lines file) must give what parsing without them gives, and
 * nmatched must count the leading fields that have the expected paths.
 * Then the paths of this text become the next one's expectation.
 */
static struct dec_rec R2;
static char exp_bytes[1 << 16];
static struct slice exp_paths[DEC_MAX_FIELDS];
static size_t exp_n;

static void
same_with_expect(const char *p, size_t n, int rc, const struct dj_error *e)
{
	struct dj_error e2;
	size_t i, k, want, off = 0;
	int rc2;

	rc2 = dj_parse_object_expect(&A, p, n, &R2, &e2, exp_paths, exp_n);
	assert_int_equal(rc2, rc);
	if (rc == -1) {
		assert_int_equal(e2.what, e->what);
		assert_int_equal(e2.off, e->off);
		return;
	}
	assert_int_equal(R2.n, R.n);
	assert_int_equal(R2.overflow, R.overflow);
	for (i = 0; i < R.n; i++) {
		assert_int_equal(R2.f[i].type, R.f[i].type);
		assert_true(slice_same(R2.f[i].path, R.f[i].path));
		assert_true(slice_same(R2.f[i].val, R.f[i].val));
	}
	for (want = 0; want < R.n && want < exp_n &&
	    slice_same(R.f[want].path, exp_paths[want]); want++)
		;
	/* Nested members are not predicted: at most that many. */
	assert_true(R2.nmatched <= want);
	for (i = 0; i < R2.nmatched; i++)
		assert_true(slice_same(R.f[i].path, exp_paths[i]));
	n_matched += R2.nmatched;
	/* This text's paths, up to one the scanner may not compare. */
	for (exp_n = 0; exp_n < R.n; exp_n++) {
		struct slice t = R.f[exp_n].path;

		if (off + t.n + DJ_EXPECT_PAD > sizeof(exp_bytes))
			break;
		for (k = 0; k < t.n; k++)
			if (t.p[k] == '"' || t.p[k] == '\\' ||
			    (unsigned char)t.p[k] < 0x20)
				break;
		if (k < t.n)
			break;
		memcpy(exp_bytes + off, t.p, t.n);
		exp_paths[exp_n] = (struct slice){ exp_bytes + off, t.n };
		off += t.n;
	}
}

/* One JSON text: both parsers must agree. */
static void
differ(struct json_tokener *tok, const char *p, size_t n)
{
	struct dj_error e;
	struct json_object *o;
	int ours, theirs;
	char *line = strndup(p, n);

	assert_non_null(line);
	ours = dj_parse_object(&A, p, n, &R, &e) == 0;
	same_with_expect(p, n, ours ? 0 : -1, &e);
	jc.tok_reset(tok);
	o = jc.tok_parse_ex(tok, p, (int)n);
	theirs = o != NULL && jc.tok_get_error(tok) == 0;
	if (theirs) {
		size_t k = jc.tok_parse_end(tok);

		while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' ||
		    p[k] == '\n'))
			k++;
		if (k < n || jc.type(o) != JC_OBJECT)
			theirs = 0;
	}
	/* json-c passes lone surrogates through as U+FFFD; we refuse. */
	if (!ours && e.what == DJ_SURROGATE)
		theirs = 0;
	/* Keys with NUL: json-c cuts them; paths would not compare. */
	if (memmem(p, n, "\\u0000", 6) != NULL || R.overflow) {
		if (o != NULL)
			jc.put(o);
		free(line);
		arena_reset(&A);
		return;
	}
	if (ours != theirs && !ours && lenient(line)) {
		/* json-c accepts it against RFC 8259; we follow the RFC. */
		theirs = 0;
	}
	if (ours != theirs && getenv("DJ_LIST") != NULL) {
		print_message("DIFF %s\n", line);
		ours = theirs = 0;
	}
	if (ours != theirs)
		fail_msg("scanner %s, json-c %s: %s", ours ? "accepts" :
		    "rejects", theirs ? "accepts" : "rejects", line);
	if (ours) {
		size_t count = 0;

		compare_obj(o, "", &count, line);
		assert_int_equal(count, distinct_paths());
	} else
		n_rejected++;
	n_lines++;
	if (o != NULL)
		jc.put(o);
	free(line);
	arena_reset(&A);
}

static struct json_tokener *
tok_new(void)
{
	/* json-c counts the top level too: one more than our limit. */
	struct json_tokener *tok = jc.tok_new_ex(DJ_MAX_DEPTH + 1);

	assert_non_null(tok);
	jc.tok_set_flags(tok, JC_STRICT);
	return tok;
}

static void
differ_file(struct json_tokener *tok, const char *path)
{
	static char line[1 << 20];
	gzFile z = gzopen(path, "rb");
	size_t k = 0;

	if (z == NULL)
		return;
	/* Enough of a bomb's million identical lines. */
	while (k++ < 50000 && gzgets(z, line, sizeof(line)) != NULL) {
		size_t n = strlen(line);

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n > 0)
			differ(tok, line, n);
	}
	gzclose(z);
}

static bool
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static void
walk(struct json_tokener *tok, const char *dir, size_t *files)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			walk(tok, path, files);
		else if (ends_with(path, ".jsonl") ||
		    ends_with(path, ".jsonl.gz")) {
			differ_file(tok, path);
			(*files)++;
		}
	}
	closedir(d);
}

static void
test_decode_json_same_as_jsonc_on_every_testdata_file(void **state)
{
	struct json_tokener *tok;
	size_t files = 0;

	if (!jc_ok)
		skip();
	tok = tok_new();
	n_lines = n_rejected = n_fields = 0;
	walk(tok, "testdata", &files);
	jc.tok_free(tok);
	assert_true(files > 10);
	assert_true(n_lines > 10000);
	print_message("json: %zu files, %zu lines (%zu rejected by both), "
	    "%zu strings identical to json-c, %zu keys as expected\n", files,
	    n_lines, n_rejected, n_fields, n_matched);
	/* Most lines of a file list the keys of the line before. */
	assert_true(n_matched > n_lines);
}

static const char *const edge_cases[] = {
	"{}", " { } ", "{\"a\":1}", "{\"a\":-0}", "{\"a\":0.5e+10}",
	"{\"a\":1E-2}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
	"{\"a\":+1}", "{\"a\":1e}", "{\"a\":NaN}", "{\"a\":Infinity}",
	"{\"a\":true,\"b\":false,\"c\":null}", "{\"a\":tru}", "{\"a\":nul}",
	"{\"a\":truex}", "{\"a\":\"x\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\"}",
	"{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\uZZZZ\"}",
	"{\"a\":\"tab\there\"}", "{'a':1}", "{\"a\":1,}", "{\"a\":1 \"b\":2}",
	"{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":[1,2,[3,{}]]}",
	"{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[}", "{\"a\":{\"b\":{\"c\":"
	"\"deep\"}},\"ab\":0}", "{\"a\":1,\"a\":2}", "{\"a\":1} x",
	"{\"a\":1}{\"b\":2}", "[1,2]", "\"str\"", "12", "null", "",
	"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800x\"}",
	"{\"a\":1", "{\"a\":\"open", "{\"\xc3\xa9\":\"\xd0\x9f\"}",
	"{\"a\":123456789012345678901234567890}", "{\"a\":1e400}",
	"{\"a\":\"\\/\"}", "\xef\xbb\xbf{}", "{\"a\":[\"x\",{\"y\":[]}],"
	"\"b\":{}}", "{\"a\" : 1 , \"b\" :\t2}", "{\n\"a\"\r\n:\n1\n}",
};

static void
test_decode_json_edge_cases_same_as_jsonc(void **state)
{
	struct json_tokener *tok;
	size_t i;

	if (!jc_ok)
		skip();
	tok = tok_new();
	for (i = 0; i < sizeof(edge_cases) / sizeof(edge_cases[0]); i++)
		differ(tok, edge_cases[i], strlen(edge_cases[i]));
	jc.tok_free(tok);
}

static void
test_decode_json_depth_limit(void **state)
{
	char b[8 * DJ_MAX_DEPTH + 64];
	struct dj_error e;
	size_t n = 0;
	int i, d;

	for (d = DJ_MAX_DEPTH; d <= DJ_MAX_DEPTH + 1; d++) {
		n = 0;
		for (i = 0; i < d; i++)
			n += (size_t)snprintf(b + n, sizeof(b) - n, "{\"a\":");
		n += (size_t)snprintf(b + n, sizeof(b) - n, "1");
		for (i = 0; i < d; i++)
			b[n++] = '}';
		if (d == DJ_MAX_DEPTH)
			assert_int_equal(dj_parse_object(&A, b, n, &R, &e), 0);
		else {
			assert_int_equal(dj_parse_object(&A, b, n, &R, &e),
			    -1);
			assert_int_equal(e.what, DJ_DEPTH);
		}
		arena_reset(&A);
	}
}

static void
test_decode_json_flattens_paths_and_unescapes(void **state)
{
	const char *s = "{\"id\":7,\"buyer\":{\"name\":\"A\\u0301li\","
	    "\"tags\":[1,{\"x\":2}]},\"t\":\"q\\\"uote\"}";
	struct dj_error e;

	assert_int_equal(dj_parse_object(&A, s, strlen(s), &R, &e), 0);
	assert_int_equal(R.n, 5);
	assert_true(slice_eq(R.f[0].path, "id"));
	assert_true(slice_eq(R.f[0].val, "7"));
	assert_int_equal(R.f[1].type, DV_OBJECT);
	assert_true(slice_eq(R.f[2].path, "buyer.name"));
	assert_true(slice_eq(R.f[2].val, "A\xcc\x81li"));
	assert_true(slice_eq(R.f[3].path, "buyer.tags"));
	assert_int_equal(R.f[3].type, DV_ARRAY);
	assert_true(slice_eq(R.f[4].val, "q\"uote"));
	/* No escapes: the value points into the input. */
	assert_ptr_equal(R.f[0].val.p, strstr(s, "7"));
	arena_reset(&A);
}

static void
test_decode_json_expected_keys(void **state)
{
	/* Padded as the scanner reads them. */
	static const char pad[4][DJ_EXPECT_PAD] = { "a", "bc", "d", "" };
	static const struct slice exp[] = { { pad[0], 1 }, { pad[1], 2 },
	    { pad[2], 1 }, { pad[3], 0 } };
	static const struct {
		const char	*json;
		size_t		 n, nmatched;
	} c[] = {
		{ "{\"a\":1,\"bc\":2,\"d\":3,\"\":4}", 4, 4 },
		{ "{\"a\":1,\"bc\":2}", 2, 2 },
		/* A longer key that starts like the expected one. */
		{ "{\"ab\":1,\"bc\":2}", 2, 0 },
		/* The expected key escaped: same path, found by a scan. */
		{ "{\"\\u0061\":1,\"bc\":2}", 2, 0 },
		/* An object value: its members are not expected. */
		{ "{\"a\":{\"bc\":1},\"bc\":2}", 3, 1 },
		{ "{\"a\":1,\"x\":2,\"d\":3}", 3, 1 },
		{ "{\"a\":[{\"bc\":1}],\"bc\":2,\"d\":3,\"\":4,"
		  "\"e\":5}", 5, 4 },
		{ "{\"a\" : 1 , \"bc\"\t:2}", 2, 2 },
		{ "{\"a", 0, 0 },
	};
	struct dj_error e, e2;
	size_t i, k;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = strlen(c[i].json);

		rc = dj_parse_object(&A, c[i].json, n, &R, &e);
		assert_int_equal(dj_parse_object_expect(&A, c[i].json, n, &R2,
		    &e2, exp, 4), rc);
		if (rc == -1) {
			assert_int_equal(e2.off, e.off);
			continue;
		}
		assert_int_equal(R2.n, c[i].n);
		assert_int_equal(R2.nmatched, c[i].nmatched);
		for (k = 0; k < R.n; k++) {
			assert_true(slice_same(R2.f[k].path, R.f[k].path));
			assert_true(slice_same(R2.f[k].val, R.f[k].val));
		}
		arena_reset(&A);
	}
}

static void
test_decode_json_error_offsets(void **state)
{
	struct dj_error e;

	assert_int_equal(dj_parse_object(&A, "{\"a\":1,}", 8, &R, &e), -1);
	assert_int_equal(e.what, DJ_SYNTAX);
	assert_int_equal(e.off, 7);
	assert_int_equal(dj_parse_object(&A, "{\"a\":\"x", 7, &R, &e), -1);
	assert_int_equal(e.what, DJ_EOF);
	assert_int_equal(dj_parse_object(&A, "[1]", 3, &R, &e), -1);
	assert_int_equal(e.what, DJ_NOT_OBJECT);
	assert_int_equal(dj_parse_object(&A, "{} {}", 5, &R, &e), -1);
	assert_int_equal(e.what, DJ_TRAILING);
	assert_int_equal(e.off, 3);
	assert_int_equal(dj_parse_object(&A, "{\"a\":\"\x01\"}", 9, &R, &e),
	    -1);
	assert_int_equal(e.what, DJ_CONTROL);
	assert_int_equal(e.off, 6);
	arena_reset(&A);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_json_flattens_paths_and_unescapes),
		cmocka_unit_test(test_decode_json_error_offsets),
		cmocka_unit_test(test_decode_json_expected_keys),
		cmocka_unit_test(test_decode_json_depth_limit),
		cmocka_unit_test(test_decode_json_edge_cases_same_as_jsonc),
		cmocka_unit_test(
		    test_decode_json_same_as_jsonc_on_every_testdata_file),
	};
	int r;

	jc_load();
	r = cmocka_run_group_tests_name("decode_json", tests, NULL, NULL);
	arena_release(&A);
	return r;
}
