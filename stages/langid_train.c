/*
 * train-langid - build the language profiles langid uses.
 *
 * Reads DIR/LANG.SCRIPT.txt (one text per line, UTF-8; e.g. kk.Cyrl.txt,
 * el.Latn.txt) and writes one profile file (lang.c describes the layout).
 * Only words written in SCRIPT count for that profile, so English inside
 * a Russian training row does not teach Russian English.
 * Per profile and feature order, P(feature) is the count smoothed by
 * --alpha; the --top most frequent features with at least --min-count
 * occurrences are kept, the rest fall to the profile's floor.  A profile
 * alone in its script keeps no features (the script decides), only its
 * floors.  The --words most frequent words of each script written by
 * several profiles get a precomputed row: the sums of their n-grams'
 * postings, so that lang_detect() looks them up once.
 * Options: -o/--out FILE, --top N, --min-count N, --alpha X, --words N.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lang.h"
#include "stage.h"
#include "banned.h"

#define TRAIN_QSCALE	64
#define LANG_QMAX	1023

struct feat {
	uint32_t	key;	/* 0 = empty slot */
	uint32_t	count;
	uint8_t		order;
};

struct fmap {
	struct feat	*v;
	size_t		 n, cap;	/* cap: power of two */
};

struct post {
	uint32_t	key;
	uint16_t	val;	/* profile << 10 | q, once quantised */
	uint8_t		prof, order;
	float		logp;
};

/* A word seen in the training text, its code points in wmap.cp. */
struct word {
	uint64_t	hash;	/* 0 = empty slot */
	uint32_t	count;
	uint32_t	off;
	uint8_t		len, script;
};

struct wmap {
	struct word	*v;
	size_t		 n, cap;	/* cap: power of two */
	uint32_t	*cp;
	size_t		 ncp, capcp;
	enum lang_script script;	/* of the file being read */
};

struct train {
	struct fmap	 map;
	struct wmap	 words;
	struct post	*posts;
	size_t		 nposts, capposts;
	double		 floor[LANG_MAX][LANG_ORDERS];
	double		 prior[LANG_MAX];
	int		 nscript[LS_COUNT];	/* profiles writing each */
};

static const struct opt train_opts[] = {
	{ "out", 'o', OPT_STR, "FILE", "models/langid/profiles.bin", 0, 0,
	    "write the profiles to FILE" },
	{ "top", 0, OPT_INT, "N", "20000", 100, 1000000,
	    "keep the N most frequent features per profile" },
	{ "min-count", 0, OPT_INT, "N", "2", 1, 1000,
	    "drop features seen fewer than N times" },
	{ "alpha", 0, OPT_FLOAT, "X", "0.5", 0.001, 10,
	    "additive smoothing of feature counts" },
	{ "prior", 0, OPT_LIST, "LANG=X", NULL, 0, 0,
	    "add X nats to LANG's score (the languages we expect)" },
	{ "own-floor", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "give each profile its own unseen-feature floor" },
	{ "words", 0, OPT_INT, "N", "20000", 0, 1000000,
	    "precompute the rows of the N most frequent words per script" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static int
fmap_grow(struct fmap *m)
{
	struct feat *old = m->v;
	size_t oldcap = m->cap, i, j;

	m->cap = oldcap == 0 ? 1 << 16 : oldcap * 2;
	if ((m->v = calloc(m->cap, sizeof(*m->v))) == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == 0)
			continue;
		for (j = old[i].key & (m->cap - 1); m->v[j].key != 0;
		    j = (j + 1) & (m->cap - 1))
			;
		m->v[j] = old[i];
	}
	free(old);
	return 0;
}

static void
count_feature(void *arg, uint32_t key, int order)
{
	struct fmap *m = arg;
	size_t j;

	if (m->n * 2 >= m->cap && fmap_grow(m) == -1) {
		fprintf(stderr, "revpipe train-langid: out of memory\n");
		exit(EXIT_RUNTIME);
	}
	for (j = key & (m->cap - 1); m->v[j].key != 0; j = (j + 1) & (m->cap - 1))
		if (m->v[j].key == key) {
			m->v[j].count++;
			return;
		}
	m->v[j].key = key;
	m->v[j].count = 1;
	m->v[j].order = (uint8_t)order;
	m->n++;
}

static int
wmap_grow(struct wmap *m)
{
	struct word *old = m->v;
	size_t oldcap = m->cap, i, j;

	m->cap = oldcap == 0 ? 1 << 16 : oldcap * 2;
	if ((m->v = calloc(m->cap, sizeof(*m->v))) == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].hash == 0)
			continue;
		for (j = old[i].hash & (m->cap - 1); m->v[j].hash != 0;
		    j = (j + 1) & (m->cap - 1))
			;
		m->v[j] = old[i];
	}
	free(old);
	return 0;
}

static void
count_word(void *arg, const uint32_t *w, unsigned len)
{
	struct wmap *m = arg;
	uint64_t h = lang_word_hash(w, len);
	uint32_t *np;
	size_t j;

	if (m->n * 2 >= m->cap && wmap_grow(m) == -1)
		goto oom;
	for (j = h & (m->cap - 1); m->v[j].hash != 0;
	    j = (j + 1) & (m->cap - 1))
		if (m->v[j].hash == h) {
			m->v[j].count++;
			return;
		}
	if (m->ncp + len > m->capcp) {
		m->capcp = m->capcp == 0 ? 1 << 20 : m->capcp * 2;
		if ((np = realloc(m->cp, m->capcp * sizeof(*np))) == NULL)
			goto oom;
		m->cp = np;
	}
	memcpy(m->cp + m->ncp, w, len * sizeof(*w));
	m->v[j].hash = h;
	m->v[j].count = 1;
	m->v[j].off = (uint32_t)m->ncp;
	m->v[j].len = (uint8_t)len;
	m->v[j].script = (uint8_t)m->script;
	m->ncp += len;
	m->n++;
	return;
oom:
	fprintf(stderr, "revpipe train-langid: out of memory\n");
	exit(EXIT_RUNTIME);
}

static int
word_by_count_desc(const void *a, const void *b)
{
	const struct word *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int
word_by_hash(const void *a, const void *b)
{
	const struct word *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int
by_count_desc(const void *a, const void *b)
{
	const struct feat *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static int
by_key(const void *a, const void *b)
{
	const struct post *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->val < y->val ? -1 : x->val > y->val;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Count one profile's features from `path`, keep the best, and append its
 * postings (quantised later, once every floor is known).
 */
static int
train_profile(struct stage_ctx *ctx, struct train *t, int idx,
    const char *path, enum lang_script script)
{
	uint64_t total[LANG_ORDERS] = { 0 }, distinct[LANG_ORDERS] = { 0 };
	double denom[LANG_ORDERS], alpha = opt_float(ctx, "alpha");
	size_t cap = 0, i, kept = 0, top = (size_t)opt_int(ctx, "top");
	uint32_t minc = (uint32_t)opt_int(ctx, "min-count");
	struct feat *all = NULL;
	char *line = NULL;
	ssize_t len;
	FILE *fp;
	int o, ret = -1;
	uint64_t lines = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return stage_fail_errno(ctx, "cannot open '%s'", path);
	free(t->map.v);
	memset(&t->map, 0, sizeof(t->map));
	t->words.script = script;
	while ((len = getline(&line, &cap, fp)) != -1) {
		lang_features(line, (size_t)len, script, UINT32_MAX,
		    count_feature, &t->map);
		if (t->nscript[script] > 1)
			lang_words(line, (size_t)len, script, UINT32_MAX,
			    count_word, &t->words);
		lines++;
	}
	if (ferror(fp)) {
		stage_fail_errno(ctx, "cannot read '%s'", path);
		goto out;
	}
	if ((all = malloc((t->map.n + 1) * sizeof(*all))) == NULL) {
		stage_fail_errno(ctx, "cannot train '%s'", path);
		goto out;
	}
	for (i = 0; i < t->map.cap; i++) {
		if (t->map.v[i].key == 0)
			continue;
		all[kept++] = t->map.v[i];
		total[t->map.v[i].order] += t->map.v[i].count;
		distinct[t->map.v[i].order]++;
	}
	qsort(all, kept, sizeof(*all), by_count_desc);
	for (o = 0; o < LANG_ORDERS; o++) {
		denom[o] = (double)total[o] + alpha * (double)distinct[o] + 1;
		t->floor[idx][o] = log(alpha / denom[o]);
	}
	/* The floors above still count: they are common to all profiles. */
	if (t->nscript[script] < 2)
		top = 0;
	for (i = 0; i < kept && i < top && all[i].count >= minc; i++) {
		if (t->nposts == t->capposts) {
			size_t nc = t->capposts ? t->capposts * 2 : 1 << 16;
			struct post *np = realloc(t->posts, nc * sizeof(*np));

			if (np == NULL) {
				stage_fail_errno(ctx, "cannot train '%s'",
				    path);
				goto out;
			}
			t->posts = np;
			t->capposts = nc;
		}
		t->posts[t->nposts].key = all[i].key;
		t->posts[t->nposts].prof = (uint8_t)idx;
		t->posts[t->nposts].order = all[i].order;
		t->posts[t->nposts].logp = (float)log((all[i].count + alpha) /
		    denom[all[i].order]);
		t->nposts++;
	}
	stage_info(ctx, "'%s': %llu lines, %zu features, %zu kept", path,
	    (unsigned long long)lines, kept, i);
	ret = 0;
out:
	free(all);
	free(line);
	fclose(fp);
	return ret;
}

/*
 * Fix each profile's floor and quantise the postings against it.  By
 * default every profile gets the lowest floor of its order: a profile
 * built from little text would otherwise pay far less for the features
 * it never saw and win every text that is a little out of domain.
 */
static void
train_quantise(struct stage_ctx *ctx, struct train *t, int nprof,
    unsigned char *hdrs)
{
	double common[LANG_ORDERS];
	size_t i;
	int p, o;

	for (o = 0; o < LANG_ORDERS; o++) {
		common[o] = 0;
		for (p = 0; p < nprof; p++)
			if (t->floor[p][o] < common[o])
				common[o] = t->floor[p][o];
	}
	if (!opt_flag(ctx, "own-floor"))
		for (p = 0; p < nprof; p++)
			for (o = 0; o < LANG_ORDERS; o++)
				t->floor[p][o] = common[o];
	for (p = 0; p < nprof; p++)
		for (o = 0; o < LANG_ORDERS; o++) {
			unsigned char *h = hdrs + (size_t)p *
			    LANG_PROF_BYTES + 8 + 4 * o;
			float f = (float)t->floor[p][o];
			uint32_t u;

			memcpy(&u, &f, sizeof(u));
			put32(h, u);
		}
	for (p = 0; p < nprof; p++) {
		unsigned char *h = hdrs + (size_t)p * LANG_PROF_BYTES +
		    8 + 4 * LANG_ORDERS;
		float f = (float)t->prior[p];
		uint32_t u;

		memcpy(&u, &f, sizeof(u));
		put32(h, u);
	}
	for (i = 0; i < t->nposts; i++) {
		struct post *e = &t->posts[i];
		long q = lround((e->logp - t->floor[e->prof][e->order]) *
		    TRAIN_QSCALE);

		if (q > (long)LANG_QMAX)
			q = LANG_QMAX;
		if (q < 0)
			q = 0;
		e->val = (uint16_t)(e->prof << 10 | q);
	}
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void
buf_add32(struct buf *b, uint32_t v)
{
	unsigned char x[4];

	put32(x, v);
	buf_add(b, x, 4);
}

static void
buf_add16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = { (unsigned char)(v & 0xff),
	    (unsigned char)(v >> 8) };

	buf_add(b, x, 2);
}

/*
 * Pick the --words most frequent words (seen --min-count times) of each
 * script several profiles write whose sums, looked up in `m` (the n-gram
 * table just built), fit a u16, and append their section to `b`.
 * Returns the number of words, or -1 when memory ran out.
 */
static long
train_words(struct stage_ctx *ctx, struct train *t,
    const struct lang_model *m, struct buf *b)
{
	size_t nmax = (size_t)opt_int(ctx, "words"), i, nc = 0, nw = 0;
	uint32_t minc = (uint32_t)opt_int(ctx, "min-count");
	size_t taken[LS_COUNT] = { 0 };
	uint32_t sums[LANG_MAX];
	struct word *cand, *w;
	unsigned char x[8];
	int l, nl;

	if (nmax == 0 || t->words.n == 0)
		return 0;
	if ((cand = malloc(t->words.n * sizeof(*cand))) == NULL)
		return -1;
	for (i = 0; i < t->words.cap; i++) {
		w = &t->words.v[i];
		if (w->hash != 0 && w->count >= minc &&
		    t->nscript[w->script] > 1)
			cand[nc++] = *w;
	}
	qsort(cand, nc, sizeof(*cand), word_by_count_desc);
	for (i = 0; i < nc; i++) {
		w = &cand[i];
		if (taken[w->script] == nmax)
			continue;
		nl = lang_word_sums(m, w->script, t->words.cp + w->off,
		    w->len, sums);
		for (l = 0; l < nl && sums[l] <= UINT16_MAX; l++)
			;
		if (l < nl)
			continue;
		taken[w->script]++;
		cand[nw++] = *w;
	}
	qsort(cand, nw, sizeof(*cand), word_by_hash);
	for (i = 0; i < nw; i++) {
		put64(x, cand[i].hash);
		buf_add(b, x, 8);
	}
	for (i = 0; i < nw; i++)
		buf_addc(b, cand[i].script);
	for (i = 0; i < nw; i++) {
		w = &cand[i];
		nl = lang_word_sums(m, w->script, t->words.cp + w->off,
		    w->len, sums);
		for (l = 0; l < (int)LANG_ROW(nl); l++)
			buf_add16(b, l < nl ? (uint16_t)sums[l] : 0);
	}
	for (l = 0; l < LS_COUNT; l++)
		if (taken[l] > 0)
			stage_info(ctx, "%zu word rows for %s", taken[l],
			    lang_script_name(l));
	free(cand);
	return (long)nw;
}

static int
train_write(struct stage_ctx *ctx, struct train *t, int nprof,
    unsigned char *hdrs, const char *path)
{
	struct buf b = BUF_INIT;
	struct lang_model *m;
	size_t nkeys = 0, i, c;
	char err[256];
	long nw;
	FILE *fp = NULL;
	int ret = -1;

	train_quantise(ctx, t, nprof, hdrs);
	qsort(t->posts, t->nposts, sizeof(*t->posts), by_key);
	for (i = 0; i < t->nposts; i++)
		if (i == 0 || t->posts[i].key != t->posts[i - 1].key)
			nkeys++;
	buf_add(&b, LANG_MAGIC, 8);
	buf_add32(&b, (uint32_t)nprof);
	buf_add32(&b, (uint32_t)nkeys);
	buf_add32(&b, (uint32_t)t->nposts);
	buf_add32(&b, TRAIN_QSCALE);
	buf_add32(&b, 0);		/* words, set below */
	buf_add32(&b, 0);
	buf_add(&b, hdrs, (size_t)nprof * LANG_PROF_BYTES);
	for (i = 0; i < t->nposts; i = c) {
		for (c = i; c < t->nposts && t->posts[c].key == t->posts[i].key;
		    c++)
			;
		buf_add32(&b, t->posts[i].key);
	}
	for (i = 0; i < t->nposts; i = c) {
		for (c = i; c < t->nposts && t->posts[c].key == t->posts[i].key;
		    c++)
			;
		buf_addc(&b, (int)(c - i));
	}
	for (i = 0; i < t->nposts; i++)
		buf_add16(&b, t->posts[i].val);
	/* The word rows are summed by the identifier itself. */
	if ((m = lang_model_new(b.p, b.len, err, sizeof(err))) == NULL) {
		stage_fail(ctx, "cannot check '%s': %s", path, err);
		goto out;
	}
	nw = train_words(ctx, t, m, &b);
	lang_model_free(m);
	if (nw == -1) {
		stage_fail_errno(ctx, "cannot write '%s'", path);
		goto out;
	}
	put32((unsigned char *)b.p + 24, (uint32_t)nw);
	if ((fp = fopen(path, "wb")) == NULL) {
		stage_fail_errno(ctx, "cannot create '%s'", path);
		goto out;
	}
	fwrite(b.p, 1, b.len, fp);
	if (ferror(fp) || fclose(fp) == EOF) {
		fp = NULL;
		stage_fail_errno(ctx, "cannot write '%s'", path);
		goto out;
	}
	fp = NULL;
	stage_info(ctx, "'%s': %d profiles, %zu keys, %zu postings, %ld "
	    "word rows, %zu bytes", path, nprof, nkeys, t->nposts, nw, b.len);
	ret = 0;
out:
	if (fp != NULL)
		fclose(fp);
	buf_release(&b);
	return ret;
}

/* --prior kk=1.5,ru=1.5: every profile of LANG gets log odds X. */
static int
train_priors(struct train *t, const char *list, const unsigned char *hdrs,
    int nprof)
{
	const char *p = list, *eq;
	char *end;
	double x;
	int i, found;

	while (p != NULL && *p != '\0') {
		if ((eq = strchr(p, '=')) == NULL || eq == p)
			goto bad;
		x = strtod(eq + 1, &end);
		if (end == eq + 1 || (*end != ',' && *end != '\0') ||
		    x < -50 || x > 50)
			goto bad;
		found = 0;
		for (i = 0; i < nprof; i++) {
			const char *l = (const char *)hdrs +
			    (size_t)i * LANG_PROF_BYTES;

			if (strnlen(l, 4) == (size_t)(eq - p) &&
			    memcmp(l, p, (size_t)(eq - p)) == 0) {
				t->prior[i] = x;
				found = 1;
			}
		}
		if (!found)
			goto bad;
		p = *end == ',' ? end + 1 : NULL;
	}
	return 0;
bad:
	fprintf(stderr, "revpipe train-langid: --prior: expected LANG=X "
	    "with a language we have, at '%s'\n", p);
	return -1;
}

static int
train_tool(struct stage_ctx *ctx)
{
	struct train t;
	unsigned char hdrs[LANG_MAX * LANG_PROF_BYTES];
	char *names[LANG_MAX + 1], path[4096];
	const char *dir, *dot;
	struct dirent *de;
	DIR *d;
	int n = 0, i, ret = EXIT_RUNTIME;

	memset(&t, 0, sizeof(t));
	if (ctx->argc != 1) {
		fprintf(stderr, "revpipe train-langid: expected one "
		    "directory of LANG.SCRIPT.txt files\n");
		stage_usage(ctx->stage, stderr);
		return EXIT_USAGE;
	}
	dir = ctx->argv[0];
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "revpipe train-langid: cannot open '%s': %s\n",
		    dir, strerror(errno));
		return EXIT_RUNTIME;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		if (n == LANG_MAX) {
			fprintf(stderr, "revpipe train-langid: more than %d "
			    "profiles\n", LANG_MAX);
			goto out;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto out;
		n++;
	}
	qsort(names, (size_t)n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++)
		if ((dot = strchr(names[i], '.')) != NULL)
			t.nscript[lang_script_from_name(dot + 1,
			    strlen(dot + 1) - 4)]++;
	for (i = 0; i < n; i++) {
		unsigned char *h = hdrs + (size_t)i * LANG_PROF_BYTES;
		enum lang_script s;
		size_t ll;

		dot = strchr(names[i], '.');
		ll = (size_t)(dot - names[i]);
		s = lang_script_from_name(dot + 1, strlen(dot + 1) - 4);
		if (ll < 2 || ll > 3 || s == LS_NONE) {
			fprintf(stderr, "revpipe train-langid: '%s': not "
			    "named LANG.SCRIPT.txt\n", names[i]);
			goto out;
		}
		memset(h, 0, 8);
		memcpy(h, names[i], ll);
		memcpy(h + 4, dot + 1, 4);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (train_profile(ctx, &t, i, path, s) == -1)
			goto out;
	}
	if (n == 0) {
		fprintf(stderr, "revpipe train-langid: no *.txt in '%s'\n",
		    dir);
		goto out;
	}
	if (train_priors(&t, opt_str(ctx, "prior"), hdrs, n) == -1) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (train_write(ctx, &t, n, hdrs, opt_str(ctx, "out")) == -1)
		goto out;
	ret = EXIT_OK;
out:
	if (ctx->failed)
		ret = EXIT_RUNTIME;
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(t.map.v);
	free(t.words.v);
	free(t.words.cp);
	free(t.posts);
	return ret;
}

const struct stage train_langid_stage = {
	.name = "train-langid",
	.summary = "build langid's language profiles from text files",
	.usage = "DIR",
	.opts = train_opts,
	.tool = train_tool,
};
