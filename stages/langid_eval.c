/*
 * langid-eval - accuracy and speed of the language identifier on labelled
 * JSON Lines (`text`, `lang` per line; other keys are ignored).
 *
 * Prints, per gold language: rows, right, accuracy, und and the most
 * frequent wrong answer; then the macro average (mean of the per-language
 * accuracies), the micro average, the confusion counts of the hard pairs
 * (kk/ru, ar/fa/ur, ru/uk/bg, tr/az, ...) and the throughput of
 * lang_detect() alone (texts in memory, single thread).
 * Options: --languages LIST, --min-conf X, --snippet N (score only the
 * first N characters of each text), --repeat N (timing passes),
 * --predictions FILE (gold, guess, conf, margin and letters, tab-separated,
 * per text), --errors
 * (print each wrong row to stderr).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang.h"
#include "stage.h"
#include "banned.h"

#define EVAL_MODEL	"langid/profiles.bin"
#define EVAL_MAXLANG	128

struct eval_row {
	char	*text;
	size_t	 n;
	char	 gold[8];
	int	 guess;		/* index in names, filled by the run */
	double	 conf, margin;
	unsigned letters;
};

struct eval {
	struct eval_row	*rows;
	size_t		 nrows, cap;
	char		 names[EVAL_MAXLANG][8];
	int		 nnames;
};

static const struct opt eval_opts[] = {
	{ "languages", 0, OPT_LIST, "LIST", NULL, 0, 0,
	    "only consider these languages" },
	{ "min-conf", 0, OPT_FLOAT, "X", "0", 0, 1,
	    "call a text und when the confidence is below X" },
	{ "snippet", 0, OPT_INT, "N", "0", 0, 100000,
	    "score the first N characters of each text only (0: all)" },
	{ "repeat", 0, OPT_INT, "N", "1", 1, 1000,
	    "time N passes over the texts" },
	{ "predictions", 0, OPT_STR, "FILE", NULL, 0, 0,
	    "write gold, guess, conf, margin, letters per text to FILE" },
	{ "errors", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "print every wrong row to stderr" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* The hard pairs: gold -> guess counts printed whenever gold occurs. */
static const char *const eval_pairs[][2] = {
	{ "kk", "ru" }, { "ru", "kk" }, { "ar", "fa" }, { "fa", "ar" },
	{ "ar", "ur" }, { "ur", "ar" }, { "fa", "ur" }, { "ur", "fa" },
	{ "ru", "uk" }, { "uk", "ru" }, { "ru", "bg" }, { "bg", "ru" },
	{ "uk", "bg" }, { "bg", "uk" }, { "tr", "az" }, { "az", "tr" },
	{ "uz", "tr" }, { "az", "uz" }, { "es", "pt" }, { "pt", "es" },
	{ "id", "ms" }, { "nl", "de" }, { "el", "en" },
	{ NULL, NULL }
};

static int
name_index(struct eval *ev, const char *s, size_t n)
{
	int i;

	if (n >= sizeof(ev->names[0]))
		n = sizeof(ev->names[0]) - 1;
	for (i = 0; i < ev->nnames; i++)
		if (strlen(ev->names[i]) == n && memcmp(ev->names[i], s, n) == 0)
			return i;
	if (ev->nnames == EVAL_MAXLANG)
		return EVAL_MAXLANG - 1;
	memcpy(ev->names[ev->nnames], s, n);
	ev->names[ev->nnames][n] = '\0';
	return ev->nnames++;
}

/* Append code point c as UTF-8. */
static void
put_utf8(struct buf *b, unsigned long c)
{
	char u[4];

	if (c < 0x80) {
		buf_addc(b, (int)c);
		return;
	}
	if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3f));
		u[2] = (char)(0x80 | (c >> 6 & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 4);
	}
}

static int
hex4(const char *p, const char *end, unsigned long *v)
{
	int i;

	*v = 0;
	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned long)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (unsigned long)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/* Parse the JSON string at *pp (at the quote) into b; -1 when malformed. */
static int
json_str(const char **pp, const char *end, struct buf *b)
{
	const char *p = *pp + 1;
	unsigned long c, lo;

	while (p < end && *p != '"') {
		if (*p != '\\') {
			buf_addc(b, *p++);
			continue;
		}
		if (++p >= end)
			return -1;
		switch (*p++) {
		case 'n': buf_addc(b, '\n'); break;
		case 't': buf_addc(b, '\t'); break;
		case 'r': buf_addc(b, '\r'); break;
		case 'b': buf_addc(b, '\b'); break;
		case 'f': buf_addc(b, '\f'); break;
		case 'u':
			if (hex4(p, end, &c) == -1)
				return -1;
			p += 4;
			if (c >= 0xd800 && c < 0xdc00 && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u' &&
			    hex4(p + 2, end, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			put_utf8(b, c);
			break;
		default:
			buf_addc(b, p[-1]);
			break;
		}
	}
	if (p >= end)
		return -1;
	*pp = p + 1;
	return 0;
}

/* Skip one JSON value (not a string's contents: those are parsed). */
static int
json_skip(const char **pp, const char *end, struct buf *tmp)
{
	const char *p = *pp;
	int depth = 0;

	do {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end)
			return -1;
		if (*p == '"') {
			buf_reset(tmp);
			if (json_str(&p, end, tmp) == -1)
				return -1;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (*p == ',' || *p == ':')
			p++;
		else
			while (p < end && strchr(",:}] \t\n", *p) == NULL)
				p++;
	} while (depth > 0);
	*pp = p;
	return 0;
}

/* Pull `text` and `lang` out of one JSON object line. */
static int
eval_line(const char *p, const char *end, struct buf *text, struct buf *lang,
    struct buf *tmp)
{
	int have = 0;

	while (p < end && *p != '{')
		p++;
	if (p++ >= end)
		return -1;
	for (;;) {
		while (p < end && (*p == ' ' || *p == ',' || *p == '\t'))
			p++;
		if (p >= end || *p == '}')
			break;
		buf_reset(tmp);
		if (*p != '"' || json_str(&p, end, tmp) == -1)
			return -1;
		while (p < end && (*p == ' ' || *p == ':'))
			p++;
		if (p < end && *p == '"' && strcmp(tmp->p, "text") == 0) {
			if (json_str(&p, end, text) == -1)
				return -1;
			have |= 1;
		} else if (p < end && *p == '"' && strcmp(tmp->p, "lang") == 0) {
			if (json_str(&p, end, lang) == -1)
				return -1;
			have |= 2;
		} else if (json_skip(&p, end, tmp) == -1)
			return -1;
	}
	return have == 3 ? 0 : -1;
}

static int
eval_load(struct stage_ctx *ctx, struct eval *ev, const char *path)
{
	struct buf text = BUF_INIT, lang = BUF_INIT, tmp = BUF_INIT;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	FILE *fp;
	int ret = -1;

	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "r")) == NULL)
		return stage_fail_errno(ctx, "cannot open '%s'", path);
	while ((len = getline(&line, &cap, fp)) != -1) {
		struct eval_row *r;

		lineno++;
		buf_reset(&text);
		buf_reset(&lang);
		if (len <= 1)
			continue;
		if (eval_line(line, line + len, &text, &lang, &tmp) == -1) {
			stage_fail(ctx, "'%s:%zu': expected a JSON object "
			    "with string 'text' and 'lang'", path, lineno);
			goto out;
		}
		if (ev->nrows == ev->cap) {
			size_t nc = ev->cap ? ev->cap * 2 : 1024;
			struct eval_row *nr;

			if ((nr = realloc(ev->rows, nc * sizeof(*nr))) == NULL) {
				stage_fail_errno(ctx, "cannot read '%s'", path);
				goto out;
			}
			ev->rows = nr;
			ev->cap = nc;
		}
		r = &ev->rows[ev->nrows];
		r->n = text.len;
		r->text = buf_detach(&text, NULL);
		snprintf(r->gold, sizeof(r->gold), "%s", lang.p);
		ev->nrows++;
	}
	if (ferror(fp)) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		goto out;
	}
	ret = 0;
out:
	if (fp != stdin)
		fclose(fp);
	free(line);
	buf_release(&text);
	buf_release(&lang);
	buf_release(&tmp);
	return ret;
}

/* Bytes of the first `chars` code points of p, n (all when chars is 0). */
static size_t
eval_cut(const char *p, size_t n, long long chars)
{
	size_t i = 0;

	if (chars <= 0)
		return n;
	while (i < n && chars > 0) {
		i++;
		while (i < n && ((unsigned char)p[i] & 0xc0) == 0x80)
			i++;
		chars--;
	}
	return i;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
eval_tool(struct stage_ctx *ctx)
{
	static unsigned conf[EVAL_MAXLANG][EVAL_MAXLANG];
	struct eval ev;
	struct lang_model *m = NULL;
	struct lang_set allowed = { 0 };
	struct lang_result res;
	struct slice data;
	const char *list, *pred;
	long long snip = opt_int(ctx, "snippet"), rep = opt_int(ctx, "repeat");
	double minc = opt_float(ctx, "min-conf"), t0, dt, macro = 0;
	size_t i, bytes = 0, right = 0, k;
	int g, j, nl = 0, ret = EXIT_RUNTIME, und_i;
	FILE *pf = NULL;
	char err[256];

	memset(&ev, 0, sizeof(ev));
	memset(conf, 0, sizeof(conf));
	if (ctx->argc != 1) {
		fprintf(stderr, "revpipe langid-eval: expected one FILE.jsonl\n");
		stage_usage(ctx->stage, stderr);
		return EXIT_USAGE;
	}
	if (stage_model(ctx, EVAL_MODEL, &data) == -1)
		return EXIT_RUNTIME;
	if ((m = lang_model_new(data.p, data.n, err, sizeof(err))) == NULL) {
		stage_fail(ctx, "'%s': %s", EVAL_MODEL, err);
		return EXIT_RUNTIME;
	}
	list = opt_str(ctx, "languages");
	if (list != NULL && lang_set_parse(m, list, &allowed, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "revpipe langid-eval: --languages: %s\n", err);
		ret = EXIT_USAGE;
		goto out;
	}
	if (eval_load(ctx, &ev, ctx->argv[0]) == -1)
		goto out;
	und_i = name_index(&ev, "und", 3);

	t0 = now();
	for (k = 0; k < (size_t)rep; k++)
		for (i = 0; i < ev.nrows; i++) {
			struct eval_row *r = &ev.rows[i];
			size_t n = eval_cut(r->text, r->n, snip);

			lang_detect(m, r->text, n, &allowed, &res);
			if (k == 0) {
				bytes += n;
				r->conf = res.conf;
				r->margin = res.margin;
				r->letters = res.letters;
				r->guess = res.conf < minc || res.idx < 0 ?
				    und_i : name_index(&ev, res.lang,
				    strlen(res.lang));
			}
		}
	dt = now() - t0;

	if ((pred = opt_str(ctx, "predictions")) != NULL &&
	    (pf = fopen(pred, "w")) == NULL) {
		stage_fail_errno(ctx, "cannot create '%s'", pred);
		goto out;
	}
	for (i = 0; i < ev.nrows; i++) {
		struct eval_row *r = &ev.rows[i];

		g = name_index(&ev, r->gold, strlen(r->gold));
		conf[g][r->guess]++;
		if (g == r->guess)
			right++;
		else if (opt_flag(ctx, "errors"))
			fprintf(stderr, "%s -> %s\t%.*s\n", r->gold,
			    ev.names[r->guess], (int)eval_cut(r->text, r->n,
			    snip > 0 ? snip : 200), r->text);
		if (pf != NULL)
			fprintf(pf, "%s\t%s\t%.3f\t%.2f\t%u\n", r->gold,
			    ev.names[r->guess], r->conf, r->margin, r->letters);
	}
	printf("%-5s %7s %7s %8s %5s  %s\n", "lang", "rows", "right",
	    "accuracy", "und", "most confused with");
	for (g = 0; g < ev.nnames; g++) {
		unsigned n = 0, worst = 0;
		int wj = -1;

		for (j = 0; j < ev.nnames; j++) {
			n += conf[g][j];
			if (j != g && j != und_i && conf[g][j] > worst) {
				worst = conf[g][j];
				wj = j;
			}
		}
		if (n == 0)
			continue;
		nl++;
		macro += (double)conf[g][g] / n;
		printf("%-5s %7u %7u %8.4f %5u  ", ev.names[g], n, conf[g][g],
		    (double)conf[g][g] / n, conf[g][und_i]);
		if (wj >= 0)
			printf("%s %u\n", ev.names[wj], worst);
		else
			printf("-\n");
	}
	if (nl == 0) {
		stage_fail(ctx, "'%s': no rows", ctx->argv[0]);
		goto out;
	}
	printf("macro accuracy %.4f over %d languages, micro %.4f over %zu "
	    "rows\n", macro / nl, nl, (double)right / ev.nrows, ev.nrows);
	printf("hard pairs (gold->guess):");
	for (k = 0; eval_pairs[k][0] != NULL; k++) {
		int a = -1, b = -1;

		for (j = 0; j < ev.nnames; j++) {
			if (strcmp(ev.names[j], eval_pairs[k][0]) == 0)
				a = j;
			if (strcmp(ev.names[j], eval_pairs[k][1]) == 0)
				b = j;
		}
		if (a >= 0)
			printf(" %s->%s %u", eval_pairs[k][0], eval_pairs[k][1],
			    b >= 0 ? conf[a][b] : 0);
	}
	printf("\n");
	printf("speed %.0f texts/s, %.1f MB/s (lang_detect, one thread, "
	    "%lld pass%s)\n", ev.nrows * rep / (dt > 0 ? dt : 1e-9),
	    bytes * rep / 1e6 / (dt > 0 ? dt : 1e-9), rep,
	    rep == 1 ? "" : "es");
	ret = EXIT_OK;
out:
	if (pf != NULL && fclose(pf) == EOF && ret == EXIT_OK) {
		stage_fail_errno(ctx, "cannot write '%s'", pred);
		ret = EXIT_RUNTIME;
	}
	for (i = 0; i < ev.nrows; i++)
		free(ev.rows[i].text);
	free(ev.rows);
	lang_model_free(m);
	return ctx->failed ? EXIT_RUNTIME : ret;
}

const struct stage langid_eval_stage = {
	.name = "langid-eval",
	.summary = "accuracy and speed of langid on labelled JSON Lines",
	.usage = "FILE.jsonl",
	.opts = eval_opts,
	.tool = eval_tool,
	.flags = STAGE_TEXT_OUT,
};
