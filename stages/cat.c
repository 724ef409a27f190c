/*
 * cat - show a msgpack record stream as JSON Lines, or the reverse.
 *
 * Reads: any msgpack stream (records, rejects).  Writes: one JSON object
 * per line, keys in stream order (stages append keys in a fixed order, so
 * the order is stable), UTF-8 not escaped, for people and for jq.
 * --to-msgpack packs JSON Lines into a stream (tests, hand-made input).
 * Options: --to-msgpack.  Operands: files, '-' or none for stdin.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage.h"
#include "banned.h"

static const struct opt cat_opts[] = {
	{ "to-msgpack", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "read JSON Lines and write msgpack" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* ---- msgpack to JSON ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;	/* overlong or surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static bool
utf8_valid(struct slice s)
{
	size_t i = 0, k;

	while (i < s.n) {
		if ((k = utf8_len((const unsigned char *)s.p + i, s.n - i)) == 0)
			return false;
		i += k;
	}
	return true;
}

static void
json_str(struct buf *b, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k, run;

	buf_addc(b, '"');
	while (i < n) {
		/* Copy runs of plain bytes at once. */
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		    s[run] != '"' && s[run] != '\\'; run++)
			;
		buf_add(b, p + i, run - i);
		if ((i = run) >= n)
			break;
		switch (s[i]) {
		case '"': buf_adds(b, "\\\""); i++; continue;
		case '\\': buf_adds(b, "\\\\"); i++; continue;
		case '\n': buf_adds(b, "\\n"); i++; continue;
		case '\t': buf_adds(b, "\\t"); i++; continue;
		case '\r': buf_adds(b, "\\r"); i++; continue;
		}
		if (s[i] < 0x20) {
			buf_addf(b, "\\u%04x", s[i]);
			i++;
		} else if ((k = utf8_len(s + i, n - i)) != 0) {
			buf_add(b, p + i, k);
			i += k;
		} else {
			buf_adds(b, "\xef\xbf\xbd");	/* U+FFFD */
			i++;
		}
	}
	buf_addc(b, '"');
}

static void
base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		buf_addc(b, tab[p[i] >> 2]);
		buf_addc(b, tab[(p[i] & 3) << 4 | p[i + 1] >> 4]);
		buf_addc(b, tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6]);
		buf_addc(b, tab[p[i + 2] & 63]);
	}
	if (i + 1 == n) {
		buf_addc(b, tab[p[i] >> 2]);
		buf_addc(b, tab[(p[i] & 3) << 4]);
		buf_adds(b, "==");
	} else if (i + 2 == n) {
		buf_addc(b, tab[p[i] >> 2]);
		buf_addc(b, tab[(p[i] & 3) << 4 | p[i + 1] >> 4]);
		buf_addc(b, tab[(p[i + 1] & 15) << 2]);
		buf_addc(b, '=');
	}
}

static void
json_double(struct buf *b, double d)
{
	char tmp[40];

	if (!isfinite(d)) {
		buf_adds(b, "null");
		return;
	}
	/* The shortest of %.15g/%.17g that reads back as the same double. */
	snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	buf_adds(b, tmp);
	if (strpbrk(tmp, ".eEn") == NULL)
		buf_adds(b, ".0");	/* keep it a float for the reverse trip */
}

/* Write the value at *pp as JSON; the stream was validated by the reader. */
static void
json_value(struct buf *b, const char **pp, const char *end, int depth)
{
	struct mp_val v;
	uint32_t i;

	if (mp_next(pp, end, &v) != MP_OK || depth > MP_MAX_DEPTH) {
		buf_adds(b, "null");
		return;
	}
	switch (v.type) {
	case MP_NIL: buf_adds(b, "null"); break;
	case MP_BOOL: buf_adds(b, v.v.b ? "true" : "false"); break;
	case MP_INT: buf_addf(b, "%lld", (long long)v.v.i); break;
	case MP_UINT: buf_addf(b, "%llu", (unsigned long long)v.v.u); break;
	case MP_FLOAT: json_double(b, v.v.f); break;
	case MP_STR: json_str(b, v.v.s.p, v.v.s.n); break;
	case MP_BIN:
		/* Rejects keep raw bytes: text stays readable, the rest is
		 * base64 with a prefix saying so. */
		if (utf8_valid(v.v.s))
			json_str(b, v.v.s.p, v.v.s.n);
		else {
			buf_adds(b, "\"base64:");
			base64(b, (const unsigned char *)v.v.s.p, v.v.s.n);
			buf_addc(b, '"');
		}
		break;
	case MP_EXT:
		buf_addf(b, "\"ext%d:", v.ext_type);
		base64(b, (const unsigned char *)v.v.s.p, v.v.s.n);
		buf_addc(b, '"');
		break;
	case MP_ARRAY:
		buf_addc(b, '[');
		for (i = 0; i < v.v.n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			json_value(b, pp, end, depth + 1);
		}
		buf_addc(b, ']');
		break;
	case MP_MAP:
		buf_addc(b, '{');
		for (i = 0; i < v.v.n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			json_value(b, pp, end, depth + 1);
			buf_addc(b, ':');
			json_value(b, pp, end, depth + 1);
		}
		buf_addc(b, '}');
		break;
	}
}

static int
flush_stdout(struct stage_ctx *ctx, struct buf *b)
{
	if (fwrite(b->p, 1, b->len, stdout) != b->len)
		return stage_fail_errno(ctx, "write error on stdout");
	buf_reset(b);
	return 0;
}

static int
cat_to_json(struct stage_ctx *ctx, int fd, const char *name)
{
	struct rec_reader *rd;
	const struct rec *r;
	struct buf out = BUF_INIT;
	struct slice tail;
	const char *p;
	int rc, ret = -1;

	if ((rd = rec_reader_new(fd, name)) == NULL)
		return stage_fail_errno(ctx, "cannot read '%s'", name);
	while ((rc = rec_reader_next(rd, &r)) != 0) {
		if (rc == -1) {
			/* Show what was whole before saying what was not. */
			if (flush_stdout(ctx, &out) == 0)
				stage_fail(ctx, "%s", rec_reader_error(rd));
			goto out;
		}
		if (rc == 2) {
			tail = rec_reader_tail(rd);
			p = tail.p;
			json_value(&out, &p, tail.p + tail.n, 0);
		} else {
			p = r->p;
			json_value(&out, &p, r->p + r->n, 0);
		}
		buf_addc(&out, '\n');
		if (out.len >= 65536 && flush_stdout(ctx, &out) == -1)
			goto out;
	}
	ret = flush_stdout(ctx, &out);
out:
	buf_release(&out);
	rec_reader_free(rd);
	return ret;
}

/* ---- JSON to msgpack ------------------------------------------------------- */

struct jp {
	const char	*p, *end, *start;
	msgpack_packer	*pk;
	struct buf	*tmp;
	const char	*err;
};

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jp_hex4(struct jp *j, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (j->end - j->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = j->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	j->p += 4;
	*out = v;
	return 0;
}

static void
utf8_put(struct buf *b, unsigned cp)
{
	if (cp < 0x80)
		buf_addc(b, (int)cp);
	else if (cp < 0x800) {
		buf_addc(b, (int)(0xc0 | cp >> 6));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (int)(0xe0 | cp >> 12));
		buf_addc(b, (int)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (int)(0xf0 | cp >> 18));
		buf_addc(b, (int)(0x80 | (cp >> 12 & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	}
}

/* A string at j->p (after the quote) into j->tmp. */
static int
jp_string(struct jp *j)
{
	unsigned cp, lo;

	buf_reset(j->tmp);
	for (;;) {
		const char *run = j->p;

		while (j->p < j->end && *j->p != '"' && *j->p != '\\')
			j->p++;
		buf_add(j->tmp, run, (size_t)(j->p - run));
		if (j->p >= j->end) {
			j->err = "unterminated string";
			return -1;
		}
		if (*j->p++ == '"')
			return 0;
		if (j->p >= j->end) {
			j->err = "unterminated escape";
			return -1;
		}
		switch (*j->p++) {
		case '"': buf_addc(j->tmp, '"'); break;
		case '\\': buf_addc(j->tmp, '\\'); break;
		case '/': buf_addc(j->tmp, '/'); break;
		case 'b': buf_addc(j->tmp, '\b'); break;
		case 'f': buf_addc(j->tmp, '\f'); break;
		case 'n': buf_addc(j->tmp, '\n'); break;
		case 'r': buf_addc(j->tmp, '\r'); break;
		case 't': buf_addc(j->tmp, '\t'); break;
		case 'u':
			if (jp_hex4(j, &cp) == -1) {
				j->err = "bad \\u escape";
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 &&
			    j->p[0] == '\\' && j->p[1] == 'u') {
				j->p += 2;
				if (jp_hex4(j, &lo) == -1 || lo < 0xdc00 ||
				    lo > 0xdfff) {
					j->err = "bad surrogate pair";
					return -1;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				j->err = "lone surrogate";
				return -1;
			}
			utf8_put(j->tmp, cp);
			break;
		default:
			j->err = "bad escape";
			return -1;
		}
	}
}

static int
jp_value(struct jp *j, int depth)
{
	const char *start;
	uint32_t n;
	char num[64];
	char *end;

	jp_ws(j);
	if (j->p >= j->end) {
		j->err = "unexpected end of line";
		return -1;
	}
	if (depth > MP_MAX_DEPTH) {
		j->err = "nested too deeply";
		return -1;
	}
	switch (*j->p) {
	case '"':
		j->p++;
		if (jp_string(j) == -1)
			return -1;
		mp_pack_strn(j->pk, j->tmp->p, j->tmp->len);
		return 0;
	case '{': case '[': {
		/* msgpack needs the count first: count on a scan, then pack. */
		bool obj = *j->p == '{';
		struct buf saved = BUF_INIT;
		struct buf *outer = j->pk->data;
		msgpack_packer inner;
		int rc = 0;

		j->p++;
		mp_packer_buf(&inner, &saved);
		msgpack_packer *keep = j->pk;
		j->pk = &inner;
		n = 0;
		jp_ws(j);
		if (j->p < j->end && *j->p == (obj ? '}' : ']'))
			j->p++;
		else for (;;) {
			if (obj) {
				jp_ws(j);
				if (j->p >= j->end || *j->p != '"') {
					j->err = "expected a key";
					rc = -1;
					break;
				}
				if ((rc = jp_value(j, depth + 1)) == -1)
					break;
				jp_ws(j);
				if (j->p >= j->end || *j->p != ':') {
					j->err = "expected ':'";
					rc = -1;
					break;
				}
				j->p++;
			}
			if ((rc = jp_value(j, depth + 1)) == -1)
				break;
			n++;
			jp_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
				j->p++;
				break;
			}
			j->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
			rc = -1;
			break;
		}
		j->pk = keep;
		if (rc == 0) {
			if (obj)
				msgpack_pack_map(j->pk, n);
			else
				msgpack_pack_array(j->pk, n);
			buf_add(outer, saved.p, saved.len);
		}
		buf_release(&saved);
		return rc;
	}
	case 't':
		if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
			j->p += 4;
			msgpack_pack_true(j->pk);
			return 0;
		}
		break;
	case 'f':
		if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
			j->p += 5;
			msgpack_pack_false(j->pk);
			return 0;
		}
		break;
	case 'n':
		if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
			j->p += 4;
			msgpack_pack_nil(j->pk);
			return 0;
		}
		break;
	default:
		start = j->p;
		while (j->p < j->end && strchr("+-0123456789.eE", *j->p) != NULL)
			j->p++;
		if (j->p == start || (size_t)(j->p - start) >= sizeof(num))
			break;
		memcpy(num, start, (size_t)(j->p - start));
		num[j->p - start] = '\0';
		errno = 0;
		if (strpbrk(num, ".eE") == NULL) {
			if (num[0] == '-') {
				long long v = strtoll(num, &end, 10);

				if (*end == '\0' && errno == 0) {
					msgpack_pack_int64(j->pk, v);
					return 0;
				}
			} else {
				unsigned long long v = strtoull(num, &end, 10);

				if (*end == '\0' && errno == 0) {
					msgpack_pack_uint64(j->pk, v);
					return 0;
				}
			}
		}
		errno = 0;
		{
			double d = strtod(num, &end);

			if (*end == '\0') {
				msgpack_pack_double(j->pk, d);
				return 0;
			}
		}
		break;
	}
	j->err = "not JSON";
	return -1;
}

static int
cat_to_msgpack(struct stage_ctx *ctx, FILE *fp, const char *name)
{
	struct buf out = BUF_INIT, tmp = BUF_INIT;
	msgpack_packer pk;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	struct jp j;
	int ret = -1;

	mp_packer_buf(&pk, &out);
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		memset(&j, 0, sizeof(j));
		j.p = j.start = line;
		j.end = line + len;
		j.pk = &pk;
		j.tmp = &tmp;
		jp_ws(&j);
		if (j.p == j.end)
			continue;	/* blank line */
		if (jp_value(&j, 0) == -1 || (jp_ws(&j), j.p != j.end)) {
			stage_fail(ctx, "'%s':%zu: %s at column %zu", name,
			    lineno, j.err != NULL ? j.err : "trailing bytes",
			    (size_t)(j.p - line) + 1);
			goto out;
		}
		if (out.len >= 65536 && flush_stdout(ctx, &out) == -1)
			goto out;
	}
	if (ferror(fp)) {
		stage_fail_errno(ctx, "cannot read '%s'", name);
		goto out;
	}
	ret = flush_stdout(ctx, &out);
out:
	free(line);
	buf_release(&out);
	buf_release(&tmp);
	return ret;
}

static int
cat_tool(struct stage_ctx *ctx)
{
	bool to_mp = opt_flag(ctx, "to-msgpack");
	int i, n = ctx->argc > 0 ? ctx->argc : 1, status = EXIT_OK, fd, rc;
	const char *path;
	FILE *fp;

	if (to_mp && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "revpipe cat: refusing to write msgpack to a "
		    "terminal\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		path = ctx->argc > 0 ? ctx->argv[i] : "-";
		if (strcmp(path, "-") == 0) {
			fd = STDIN_FILENO;
			fp = stdin;
		} else if (to_mp) {
			fd = -1;
			if ((fp = fopen(path, "r")) == NULL) {
				stage_input_error(ctx, "cannot open '%s': %s",
				    path, strerror(errno));
				status = EXIT_RUNTIME;
				continue;
			}
		} else {
			fp = NULL;
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
				stage_input_error(ctx, "cannot open '%s': %s",
				    path, strerror(errno));
				status = EXIT_RUNTIME;
				continue;
			}
		}
		rc = to_mp ? cat_to_msgpack(ctx, fp, path) :
		    cat_to_json(ctx, fd, strcmp(path, "-") == 0 ? "stdin" : path);
		if (fp != NULL && fp != stdin)
			fclose(fp);
		if (fd > STDIN_FILENO)
			close(fd);
		if (rc == -1)
			return EXIT_RUNTIME;
	}
	if (fflush(stdout) == EOF)
		return stage_fail_errno(ctx, "write error on stdout"),
		    EXIT_RUNTIME;
	return status;
}

const struct stage cat_stage = {
	.name = "cat",
	.summary = "show a msgpack stream as JSON Lines (--to-msgpack: the reverse)",
	.usage = "[FILE...]",
	.opts = cat_opts,
	.tool = cat_tool,
	.flags = STAGE_TEXT_OUT,
};
