/*
 * classify_model - the sentiment model: a multinomial logistic regression
 * over hashed features of the folded text.
 *
 * Features (switches in struct cls_cfg, stored in the model file):
 *   - character n-grams (minn..maxn code points) of each token padded
 *     with spaces, so prefixes and suffixes count (Kazakh and Turkish are
 *     agglutinative, Russian and Greek inflect);
 *   - word unigrams, marked when inside a negation scope ("not good" is
 *     not "good"), and word bigrams;
 *   - a bias per language and counts of '!' and capitals.
 * Each is hashed with a seed per language (perlang) and/or without
 * (shared), into 1 << bits rows of CLS_NCLASS weights stored together,
 * so one feature costs one cache line.
 *
 * Model file (little endian):
 *   "RPCLS2\0\0", then the struct cls_cfg fields as 8 uint32, a float
 *   scale, then (1 << bits) * CLS_NCLASS int16 weights.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "classify.h"
#include "banned.h"

#define CLS_MAGIC	"RPCLS2\0\0"
#define CLS_HDR		(8 + 8 * 4 + 4)

static inline void
cls_emit(uint32_t *out, size_t cap, size_t *n, uint64_t h, uint32_t mask)
{
	if (*n < cap)
		out[(*n)++] = (uint32_t)(mix64(h) & mask);
}

/* FNV-1a over bytes, continued from h. */
static inline uint64_t
cls_fnv(uint64_t h, const char *p, size_t n)
{
	const uint64_t P = 0x100000001b3ULL;
	const unsigned char *u = (const unsigned char *)p;
	size_t i;

	/* Four bytes a turn: the same hash with a quarter of the tests. */
	for (i = 0; i + 4 <= n; i += 4) {
		h = (h ^ u[i]) * P;
		h = (h ^ u[i + 1]) * P;
		h = (h ^ u[i + 2]) * P;
		h = (h ^ u[i + 3]) * P;
	}
	for (; i < n; i++)
		h = (h ^ u[i]) * P;
	return h;
}

/* Length in bytes of the UTF-8 sequence led by byte c. */
static inline size_t
cls_u8len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	return 2;
}

/*
 * Character n-grams of " word " for every word token, with seed.  Each
 * code point is read once into cp[] (its UTF-8 bytes packed in a
 * uint32); an n-gram's hash is FNV-1a over those, one multiply per code
 * point, and its row the top `bits` bits of one more multiply: half the
 * work of hashing bytes and mixing every n-gram (model format 2).  A
 * token longer than CLS_NGRAM_CPS code points gives the n-grams of its
 * start only.
 */
#define CLS_NGRAM_CPS	64

static void
cls_char_features(const struct cls_cfg *cfg, const struct cls_text *t,
    uint64_t seed, uint32_t *out, size_t cap, size_t *n)
{
	unsigned shift = 64 - cfg->bits;
	uint32_t cpbuf[CLS_NGRAM_CPS];
	size_t i, j, ncp, at = *n;

	seed ^= 0x63686172;
	for (i = 0; i < t->ntok; i++) {
		const struct cls_tok *k = &t->tok[i];
		const unsigned char *p, *e;
		const uint32_t *cp;

		if (k->len == 0 || (k->flags & CLS_TOK_SYM))
			continue;
		/* cls_norm() kept the code points with their spaces. */
		if (t->cp != NULL && k->ncp != CLS_NCP_BUF) {
			cp = t->cp + k->cp - 1;
			ncp = (size_t)k->ncp + 2;
			if (ncp > CLS_NGRAM_CPS)
				ncp = CLS_NGRAM_CPS;
			goto hash;
		}
		cp = cpbuf;
		p = (const unsigned char *)t->buf + k->off - 1;
		e = (const unsigned char *)t->buf + k->off + k->len + 1;
		for (ncp = 0; p < e && ncp < CLS_NGRAM_CPS; ncp++) {
			size_t cl, b;
			uint32_t v = *p;

			/* ASCII and two-byte letters first: nearly all. */
			if (v < 0x80) {
				cpbuf[ncp] = v;
				p++;
				continue;
			}
			if (v < 0xe0 && p + 1 < e) {
				cpbuf[ncp] = v << 8 | p[1];
				p += 2;
				continue;
			}
			cl = cls_u8len(*p);
			for (b = 1; b < cl && p + b < e; b++)
				v = v << 8 | p[b];
			cpbuf[ncp] = v;
			p += cl;
		}
hash:
		/*
		 * One length only (the shipped 5-grams): the same rows as the
		 * general loop below without its per-length tests.
		 */
		if (cfg->minn == cfg->maxn && cfg->minn >= 2) {
			const uint64_t P = 0x100000001b3ULL;
			uint32_t m = cfg->minn, q;

			if (m == 5 && cap - at >= ncp) {
				for (j = 0; j + 5 <= ncp; j++) {
					uint64_t h = ((((seed ^ cp[j]) * P ^
					    cp[j + 1]) * P ^ cp[j + 2]) * P ^
					    cp[j + 3]) * P;

					h = (h ^ cp[j + 4]) * P;
					out[at++] = (uint32_t)((h *
					    0x9e3779b97f4a7c15ULL) >> shift);
				}
				continue;
			}
			for (j = 0; j + m <= ncp; j++) {
				uint64_t h = seed;

				for (q = 0; q < m; q++)
					h = (h ^ cp[j + q]) * P;
				if (at == cap)
					goto out;
				out[at++] = (uint32_t)((h *
				    0x9e3779b97f4a7c15ULL) >> shift);
			}
			continue;
		}
		/*
		 * The 3-4-grams, unrolled (the same rows as the loop
		 * below): the general loop's branches cost more than its
		 * multiplies.
		 */
		if (cfg->minn == 3 && cfg->maxn == 4 && ncp >= 3 &&
		    cap - at >= 2 * ncp) {
			const uint64_t P = 0x100000001b3ULL;
			const uint64_t G = 0x9e3779b97f4a7c15ULL;

			for (j = 0; j + 3 < ncp; j++) {
				uint64_t h = (((seed ^ cp[j]) * P ^ cp[j + 1]) *
				    P ^ cp[j + 2]) * P;

				out[at++] = (uint32_t)((h * G) >> shift);
				h = (h ^ cp[j + 3]) * P;
				out[at++] = (uint32_t)((h * G) >> shift);
			}
			{
				uint64_t h = (((seed ^ cp[j]) * P ^ cp[j + 1]) *
				    P ^ cp[j + 2]) * P;

				out[at++] = (uint32_t)((h * G) >> shift);
			}
			continue;
		}
		for (j = 0; j < ncp; j++) {
			uint64_t h = seed;
			uint32_t m;

			for (m = 1; m <= cfg->maxn && j + m <= ncp; m++) {
				h = (h ^ cp[j + m - 1]) * 0x100000001b3ULL;
				if (m < cfg->minn || (m == 1 && cp[j] == ' '))
					continue;
				if (at == cap)
					goto out;
				out[at++] = (uint32_t)((h *
				    0x9e3779b97f4a7c15ULL) >> shift);
			}
		}
	}
out:
	*n = at;
}

size_t
cls_features(const struct cls_cfg *cfg, enum cls_lang l,
    const struct cls_text *t, uint32_t *out, size_t cap, size_t *nchar)
{
	uint64_t seeds[2];
	uint32_t mask = (1u << cfg->bits) - 1;
	size_t n = 0, i, s, ns = 0;

	if (cfg->perlang && l < CLS_NLANG)
		seeds[ns++] = 0x9e3779b97f4a7c15ULL * (uint64_t)(l + 1);
	if (cfg->shared || ns == 0)
		seeds[ns++] = 0xcbf29ce484222325ULL;
	/* Character n-grams first: they are scaled as their own group. */
	if (cfg->maxn > 0)
		for (s = 0; s < ns; s++)
			cls_char_features(cfg, t, seeds[s], out, cap, &n);
	*nchar = n;
	for (s = 0; s < ns; s++) {
		uint64_t seed = seeds[s];
		uint64_t prev = 0;

		/* A bias, then "!" and shouting. */
		cls_emit(out, cap, &n, seed ^ 0x62696173, mask);
		if (t->nexcl > 0)
			cls_emit(out, cap, &n, seed ^ (t->nexcl > 2 ?
			    0x65786333 : 0x65786331), mask);
		if (t->nletters >= 8 && t->nupper * 2 > t->nletters)
			cls_emit(out, cap, &n, seed ^ 0x75707072, mask);
		for (i = 0; i < t->ntok; i++) {
			const struct cls_tok *k = &t->tok[i];
			uint64_t hw;

			if (k->len == 0)
				continue;
			hw = cls_fnv(seed ^ 0x776f7264, t->buf + k->off,
			    k->len);
			if (cfg->negmark && (k->flags & CLS_TOK_NEG))
				hw = cls_fnv(hw, "!", 1);
			if (cfg->words)
				cls_emit(out, cap, &n, hw, mask);
			if (cfg->bigrams && i > 0 &&
			    !(k->flags & CLS_TOK_BREAK))
				cls_emit(out, cap, &n, prev * 31 + hw, mask);
			prev = hw;
		}
	}
	return n;
}

static uint32_t
cls_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
cls_put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/*
 * A row (CLS_NCLASS == 3 int16) is read as 4 lanes of one 8-byte load
 * and widened to int32 with the compiler's vector extension; the fourth
 * lane belongs to the next row and is ignored, so the weights end with a
 * spare int16.
 */
#define CLS_ROW_SLACK	1
_Static_assert(CLS_NCLASS <= 4, "a row must fit in 4 lanes");

typedef int16_t cls_v4h __attribute__((vector_size(8)));
typedef int32_t cls_v4i __attribute__((vector_size(16)));

static inline cls_v4i
cls_row(const int16_t *w)
{
#ifdef __SSE2__
	/* Each int16 twice in an int32, shifted down: 3 instructions. */
	__m128i v = _mm_loadl_epi64((const void *)w);

	return (cls_v4i)_mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16);
#else
	cls_v4h h;

	memcpy(&h, w, sizeof(h));
	return __builtin_convertvector(h, cls_v4i);
#endif
}

int
cls_model_load(struct cls_model *m, struct slice data, char *err,
    size_t errlen)
{
	const unsigned char *p = (const unsigned char *)data.p;
	uint32_t v[8];
	size_t rows, i;
	float scale;

	memset(m, 0, sizeof(*m));
	if (data.n < CLS_HDR || memcmp(p, CLS_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a classify model (bad magic)");
		return -1;
	}
	for (i = 0; i < 8; i++)
		v[i] = cls_get32(p + 8 + 4 * i);
	if (v[0] < 8 || v[0] > 26 || v[2] > 8 || v[1] > v[2]) {
		snprintf(err, errlen, "bad model header");
		return -1;
	}
	m->cfg = (struct cls_cfg){ v[0], v[1], v[2], v[3], v[4], v[5],
	    v[6], v[7] };
	{
		uint32_t u = cls_get32(p + 8 + 32);

		memcpy(&scale, &u, sizeof(scale));
	}
	m->scale = scale;
	rows = (size_t)1 << m->cfg.bits;
	if (data.n != CLS_HDR + rows * CLS_NCLASS * 2) {
		snprintf(err, errlen, "model size %zu, expected %zu", data.n,
		    CLS_HDR + rows * CLS_NCLASS * 2);
		return -1;
	}
	/* The embedded bytes are only 16-aligned at the start: copy. */
	if ((m->own = calloc(rows * CLS_NCLASS + CLS_ROW_SLACK,
	    sizeof(int16_t))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < rows * CLS_NCLASS; i++) {
		const unsigned char *q = p + CLS_HDR + 2 * i;

		m->own[i] = (int16_t)(uint16_t)(q[0] | q[1] << 8);
	}
	m->w = m->own;
	return 0;
}

void
cls_model_release(struct cls_model *m)
{
	free(m->own);
	m->own = NULL;
	m->w = NULL;
}

static void
cls_softmax(const float *z, float *prob)
{
	float mx = z[0], sum = 0;
	int c;

	for (c = 1; c < CLS_NCLASS; c++)
		if (z[c] > mx)
			mx = z[c];
	for (c = 0; c < CLS_NCLASS; c++)
		sum += prob[c] = expf(z[c] - mx);
	for (c = 0; c < CLS_NCLASS; c++)
		prob[c] /= sum;
}

/*
 * The input scale of each group: 1/sqrt(size), so long reviews do not
 * have larger scores for their length alone.  The n-gram group counts
 * half: measured on the dev split (mean binary macro-F1 over the seven
 * languages 0.865 at 1.0, 0.872 at 0.5, 0.871 at 0.3).
 */
#define CLS_CHAR_WEIGHT	0.5f
#define CLS_PREFETCH	16

static inline void
cls_group_scales(size_t n, size_t nchar, float *xc, float *xw)
{
	*xc = nchar > 0 ? CLS_CHAR_WEIGHT / sqrtf((float)nchar) : 0;
	*xw = n > nchar ? 1.0f / sqrtf((float)(n - nchar)) : 0;
}

/* The probabilities from the summed rows of both groups. */
static void
cls_model_finish(const struct cls_model *m, cls_v4i ac, cls_v4i aw,
    size_t n, size_t nchar, float prob[CLS_NCLASS])
{
	float z[CLS_NCLASS], xc, xw;
	int c;

	cls_group_scales(n, nchar, &xc, &xw);
	for (c = 0; c < CLS_NCLASS; c++)
		z[c] = m->scale * ((float)ac[c] * xc + (float)aw[c] * xw);
	cls_softmax(z, prob);
}

void
cls_model_predict(const struct cls_model *m, const uint32_t *f, size_t n,
    size_t nchar, float prob[CLS_NCLASS])
{
	cls_v4i ac = { 0, 0, 0, 0 }, aw = { 0, 0, 0, 0 };
	size_t i;

	/* The rows are random reads: ask for them a few steps ahead. */
	for (i = 0; i < n && i < CLS_PREFETCH; i++)
		__builtin_prefetch(m->w + (size_t)f[i] * CLS_NCLASS);
	/* Split where the prefetches end, so no step tests for it. */
	for (i = 0; i < nchar && i + CLS_PREFETCH < n; i++) {
		__builtin_prefetch(m->w + (size_t)f[i + CLS_PREFETCH] *
		    CLS_NCLASS);
		ac += cls_row(m->w + (size_t)f[i] * CLS_NCLASS);
	}
	for (; i < nchar; i++)
		ac += cls_row(m->w + (size_t)f[i] * CLS_NCLASS);
	for (; i + CLS_PREFETCH < n; i++) {
		__builtin_prefetch(m->w + (size_t)f[i + CLS_PREFETCH] *
		    CLS_NCLASS);
		aw += cls_row(m->w + (size_t)f[i] * CLS_NCLASS);
	}
	for (; i < n; i++)
		aw += cls_row(m->w + (size_t)f[i] * CLS_NCLASS);
	cls_model_finish(m, ac, aw, n, nchar, prob);
}

/* xorshift64*: the one random source of training, seeded. */
static uint64_t
cls_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/*
 * NB log-count ratios (as in NBSVM), one per row and class: how much
 * more often the examples of class c hold the row than the others do,
 * smoothed by o->nb, each example counting a row once.  Training scales
 * a row's input to class c by 1 - nbmix + nbmix * r, and the model
 * stores the weights times that scale, so prediction does not change.
 * Returns a malloc'ed [rows][CLS_NCLASS] array, or NULL.
 */
static float *
cls_nb_ratios(const struct cls_train_opts *o, const struct cls_example *ex,
    size_t n, size_t rows)
{
	float *cnt, *r = NULL;
	uint32_t *stamp;
	double tot[CLS_NCLASS] = { 0 }, all = 0, a = o->nb;
	size_t i, f;
	int c;

	cnt = calloc(rows * CLS_NCLASS, sizeof(*cnt));
	stamp = calloc(rows, sizeof(*stamp));
	if (cnt == NULL || stamp == NULL)
		goto out;
	for (i = 0; i < n; i++)
		for (f = 0; f < ex[i].n; f++) {
			uint32_t row = ex[i].f[f];

			if (stamp[row] == i + 1)
				continue;
			stamp[row] = (uint32_t)(i + 1);
			cnt[(size_t)row * CLS_NCLASS + ex[i].label]++;
			tot[ex[i].label]++;
		}
	for (c = 0; c < CLS_NCLASS; c++)
		all += tot[c];
	if ((r = malloc(rows * CLS_NCLASS * sizeof(*r))) == NULL)
		goto out;
	for (f = 0; f < rows; f++) {
		const float *k = cnt + f * CLS_NCLASS;
		float sum = 0;

		for (c = 0; c < CLS_NCLASS; c++)
			sum += k[c];
		for (c = 0; c < CLS_NCLASS; c++) {
			double p = (k[c] + a) / (tot[c] + a * (double)rows);
			double q = (sum - k[c] + a) / (all - tot[c] +
			    a * (double)rows);

			r[f * CLS_NCLASS + c] = (float)(1 - o->nbmix +
			    o->nbmix * log(p / q));
		}
	}
out:
	free(cnt);
	free(stamp);
	return r;
}

int
cls_train(const struct cls_cfg *cfg, const struct cls_train_opts *o,
    const struct cls_example *ex, size_t n, char **out, size_t *outlen)
{
	size_t rows = (size_t)1 << cfg->bits, nw = rows * CLS_NCLASS;
	float *w = NULL, *g2 = NULL, *avg = NULL, *r = NULL, mx = 0, scale;
	float cw[CLS_NLANG + 1][CLS_NCLASS];
	size_t cnt[CLS_NLANG + 1][CLS_NCLASS];
	size_t *order = NULL, i, j, ep;
	double step = 1;
	unsigned char *file = NULL;
	uint64_t rs = o->seed | 1;
	int ret = -1;

	w = calloc(nw, sizeof(*w));
	g2 = calloc(nw, sizeof(*g2));
	order = malloc((n + 1) * sizeof(*order));
	file = malloc(CLS_HDR + nw * 2);
	if (o->average)
		avg = calloc(nw, sizeof(*avg));
	if (o->nb > 0)
		r = cls_nb_ratios(o, ex, n, rows);
	if (w == NULL || g2 == NULL || order == NULL || file == NULL ||
	    (o->average && avg == NULL) || (o->nb > 0 && r == NULL))
		goto out;
	for (i = 0; i < n; i++)
		order[i] = i;
	/*
	 * Class weights per language (--balance): each class present counts
	 * as much as the others in its language's loss, which is what the
	 * macro-F1 of the report rewards.
	 */
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
		cnt[ex[i].lang][ex[i].label]++;
	for (i = 0; i <= CLS_NLANG; i++) {
		size_t tot = 0, k = 0;
		int c;

		for (c = 0; c < CLS_NCLASS; c++)
			if (cnt[i][c] > 0) {
				tot += cnt[i][c];
				k++;
			}
		for (c = 0; c < CLS_NCLASS; c++)
			cw[i][c] = o->balance && cnt[i][c] > 0 ?
			    (float)tot / (float)(k * cnt[i][c]) : 1.0f;
	}
	/*
	 * AdaGrad on the log loss, with L2 applied to the rows an example
	 * touches; the order is shuffled per epoch by the seeded generator.
	 */
	for (ep = 0; ep < o->epochs; ep++) {
		for (i = n; i > 1; i--) {
			size_t k = cls_rand(&rs) % i, tmp = order[i - 1];

			order[i - 1] = order[k];
			order[k] = tmp;
		}
		for (j = 0; j < n; j++) {
			const struct cls_example *e = &ex[order[j]];
			float z[CLS_NCLASS] = { 0 }, prob[CLS_NCLASS], x;
			float xc, xw, ew = cw[e->lang][e->label];
			uint32_t f;
			int c;

			if (e->n == 0)
				continue;
			cls_group_scales(e->n, e->nchar, &xc, &xw);
			for (f = 0; f < e->n; f++) {
				x = f < e->nchar ? xc : xw;
				for (c = 0; c < CLS_NCLASS; c++) {
					size_t at = (size_t)e->f[f] *
					    CLS_NCLASS + c;

					z[c] += w[at] * x * (r ? r[at] : 1);
				}
			}
			cls_softmax(z, prob);
			for (f = 0; f < e->n; f++) {
				x = f < e->nchar ? xc : xw;
				for (c = 0; c < CLS_NCLASS; c++) {
					size_t at = (size_t)e->f[f] *
					    CLS_NCLASS + c;
					float g = (prob[c] - (c == e->label)) *
					    x * ew * (r ? r[at] : 1) +
					    (float)o->l2 * w[at], d;

					g2[at] += g * g;
					d = (float)o->lr * g /
					    (sqrtf(g2[at]) + 1e-6f);
					w[at] -= d;
					if (avg != NULL)
						avg[at] -= (float)step * d;
				}
			}
			step++;
		}
	}
	/*
	 * --average: the mean of the weights over all steps (w - avg / step,
	 * the usual trick that costs one more array, not a copy per step).
	 */
	if (avg != NULL)
		for (i = 0; i < nw; i++)
			w[i] -= avg[i] / (float)step;
	/* The NB scales fold into the weights: the model format is unchanged. */
	if (r != NULL)
		for (i = 0; i < nw; i++)
			w[i] *= r[i];
	for (i = 0; i < nw; i++)
		if (fabsf(w[i]) > mx)
			mx = fabsf(w[i]);
	scale = mx > 0 ? mx / 32767.0f : 1.0f;
	memcpy(file, CLS_MAGIC, 8);
	{
		const uint32_t v[8] = { cfg->bits, cfg->minn, cfg->maxn,
		    cfg->words, cfg->bigrams, cfg->shared, cfg->perlang,
		    cfg->negmark };
		uint32_t u;

		for (i = 0; i < 8; i++)
			cls_put32(file + 8 + 4 * i, v[i]);
		memcpy(&u, &scale, sizeof(u));
		cls_put32(file + 8 + 32, u);
	}
	for (i = 0; i < nw; i++) {
		long q = lroundf(w[i] / scale);
		uint16_t u = (uint16_t)(int16_t)q;

		file[CLS_HDR + 2 * i] = u & 0xff;
		file[CLS_HDR + 2 * i + 1] = u >> 8;
	}
	*out = (char *)file;
	*outlen = CLS_HDR + nw * 2;
	file = NULL;
	ret = 0;
out:
	free(w);
	free(g2);
	free(avg);
	free(r);
	free(order);
	free(file);
	return ret;
}

size_t
cls_lex_features(const struct cls_cfg *cfg, enum cls_lang l,
    const struct cls_lex *lx, const struct cls_match *m, size_t nm,
    const struct cls_text *t, uint32_t *out, size_t n, size_t cap)
{
	uint32_t mask = (1u << cfg->bits) - 1;
	uint64_t seeds[2];
	size_t i, s, ns = 0, last_int = (size_t)-1;
	int pos = 0, neg = 0;

	(void)t;
	seeds[ns++] = 0xcbf29ce484222325ULL ^ 0x6c6578;
	if (l < CLS_NLANG)
		seeds[ns++] = 0x9e3779b97f4a7c15ULL * (uint64_t)(l + 1) ^
		    0x6c6578;
	for (i = 0; i < nm; i++) {
		const struct cls_lex_entry *e = &lx->e[m[i].entry];
		bool intense = last_int != (size_t)-1 && last_int + 1 ==
		    m[i].tok;
		uint64_t f;

		if (e->cls == CLS_LX_INT) {
			last_int = m[i].tok;
			continue;
		}
		if (e->cls == CLS_LX_POS || e->cls == CLS_LX_NEG) {
			bool p = (e->cls == CLS_LX_POS) != m[i].neg;

			/* "not bad" is mildly positive, "not good" negative. */
			f = m[i].neg ? (p ? 0x6e6e6567 : 0x6e706f73) :
			    (p ? 0x706f73 : 0x6e6567);
			if (p)
				pos++;
			else
				neg++;
		} else if (e->cls == CLS_LX_ABUSE || e->cls == CLS_LX_THREAT)
			f = 0x6162;
		else if (e->cls >= CLS_LX_TOPIC && e->cls < CLS_LX_SUBJ)
			f = 0x746f70;
		else
			continue;
		for (s = 0; s < ns; s++) {
			cls_emit(out, cap, &n, seeds[s] ^ f, mask);
			if (intense)
				cls_emit(out, cap, &n, seeds[s] ^ f ^ 0x696e74,
				    mask);
		}
	}
	for (s = 0; s < ns; s++) {
		if (pos > neg)
			cls_emit(out, cap, &n, seeds[s] ^ 0x6d706f73, mask);
		else if (neg > pos)
			cls_emit(out, cap, &n, seeds[s] ^ 0x6d6e6567, mask);
		else if (pos == 0)
			cls_emit(out, cap, &n, seeds[s] ^ 0x6e6f6e65, mask);
	}
	return n;
}

/*
 * The word cache.  An entry holds one token (of a language, with its
 * CLS_TOK_SYM flag) of up to CLS_TC_MAXLEN bytes: what the lexicon and
 * the negators make of it (first, so an entry is its struct cls_tokx),
 * the n-gram rows' weights summed over the seeds and their number, the
 * weights of its word rows outside a negation scope, and its word hash
 * per seed.  Integer sums, so the order rows are added in does not
 * matter: the probabilities are those of cls_model_predict().  An entry
 * a review uses is not taken by another word of the same review (the
 * epoch): that word gets one of its own in the arena.
 */
#define CLS_TC_BITS	15
#define CLS_TC_MAXLEN	48

struct cls_tc_ent {
	struct cls_tokx	 x;
	uint8_t		 tag;		/* language + 1, 0x80 for a symbol */
	uint8_t		 len;
	uint16_t	 nng;
	cls_v4i		 ng, wp;
	uint64_t	 key;		/* 0: empty */
	uint64_t	 hw[2];
	uint32_t	 epoch;
	char		 tok[CLS_TC_MAXLEN];
};

struct cls_tcache {
	struct cls_tc_ent *e;
	uint64_t	 lookups, misses;
	uint32_t	 epoch;
};

struct cls_tcache *
cls_tcache_new(void)
{
	struct cls_tcache *tc;

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return NULL;
	if ((tc->e = calloc((size_t)1 << CLS_TC_BITS, sizeof(*tc->e))) ==
	    NULL) {
		free(tc);
		return NULL;
	}
	return tc;
}

void
cls_tcache_free(struct cls_tcache *tc)
{
	if (tc == NULL)
		return;
	free(tc->e);
	free(tc);
}

void
cls_tcache_stats(const struct cls_tcache *tc, uint64_t *lookups,
    uint64_t *misses)
{
	*lookups = tc != NULL ? tc->lookups : 0;
	*misses = tc != NULL ? tc->misses : 0;
}

static inline cls_v4i
cls_row_at(const struct cls_model *m, uint64_t h, uint32_t mask)
{
	return cls_row(m->w + (size_t)(mix64(h) & mask) * CLS_NCLASS);
}

static size_t
cls_seeds(const struct cls_cfg *cfg, enum cls_lang l, uint64_t seeds[2])
{
	size_t ns = 0;

	if (cfg->perlang && l < CLS_NLANG)
		seeds[ns++] = 0x9e3779b97f4a7c15ULL * (uint64_t)(l + 1);
	if (cfg->shared || ns == 0)
		seeds[ns++] = 0xcbf29ce484222325ULL;
	return ns;
}

/* Fill e with token i of t (what the rows of that token would give). */
static void
cls_tc_fill(const struct cls_model *m, enum cls_lang l,
    const struct cls_text *t, const struct cls_lex *lx, size_t i,
    struct cls_tc_ent *e)
{
	const struct cls_cfg *cfg = &m->cfg;
	const struct cls_tok *k = &t->tok[i];
	uint32_t rows[CLS_NGRAM_CPS * 8], mask = (1u << cfg->bits) - 1;
	struct cls_text one = *t;
	cls_v4i z = { 0, 0, 0, 0 };
	uint64_t seeds[2];
	size_t s, j, nr, ns = cls_seeds(cfg, l, seeds);

	e->ng = e->wp = z;
	e->nng = 0;
	one.tok = (struct cls_tok *)k;
	one.ntok = 1;
	for (s = 0; s < ns; s++) {
		nr = 0;
		if (cfg->maxn > 0)
			cls_char_features(cfg, &one, seeds[s], rows,
			    sizeof(rows) / sizeof(rows[0]), &nr);
		for (j = 0; j < nr; j++)
			e->ng += cls_row(m->w + (size_t)rows[j] * CLS_NCLASS);
		e->nng += (uint16_t)nr;
		e->hw[s] = cls_fnv(seeds[s] ^ 0x776f7264, t->buf + k->off,
		    k->len);
		e->wp += cls_row_at(m, e->hw[s], mask);
	}
	e->x.negk = (uint8_t)cls_neg_kind(t, k, l);
	e->x.nslot = (int8_t)(lx != NULL ? cls_lex_slots(lx, t, i, e->x.slot,
	    CLS_TOKX_SLOTS) : -1);
}

const struct cls_tokx *const *
cls_tc_tokens(const struct cls_model *m, struct cls_tcache *tc,
    enum cls_lang l, const struct cls_text *t, const struct cls_lex *lx,
    struct arena *a)
{
	struct cls_tc_ent **ents, *tab = tc->e;
	uint32_t epoch = ++tc->epoch;
	uint64_t *keys;
	size_t i;

	ents = arena_alloc(a, (t->ntok + 1) * sizeof(*ents));
	keys = arena_alloc(a, (t->ntok + 1) * sizeof(*keys));
	/*
	 * The keys first, and the entries asked for: the table is larger
	 * than the caches, so the reads of all words overlap.
	 */
	for (i = 0; i < t->ntok; i++) {
		const struct cls_tok *k = &t->tok[i];
		uint8_t tag = (uint8_t)((l + 1) |
		    (k->flags & CLS_TOK_SYM ? 0x80 : 0));
		uint64_t key;

		if (k->len == 0 || k->len > CLS_TC_MAXLEN) {
			keys[i] = 0;
			continue;
		}
		key = cls_hash(t->buf + k->off, k->len) ^ (uint64_t)tag *
		    0x9e3779b97f4a7c15ULL;
		key += key == 0;
		keys[i] = key;
		__builtin_prefetch(&tab[(key >> (64 - CLS_TC_BITS)) &
		    ~(size_t)1]);
	}
	for (i = 0; i < t->ntok; i++) {
		const struct cls_tok *k = &t->tok[i];
		const char *w = t->buf + k->off;
		uint8_t tag = (uint8_t)((l + 1) |
		    (k->flags & CLS_TOK_SYM ? 0x80 : 0));
		struct cls_tc_ent *e;
		uint64_t key = keys[i];

		ents[i] = NULL;
		if (k->len == 0)
			continue;
		if (k->len > CLS_TC_MAXLEN) {
			e = arena_alloc(a, sizeof(*e));
			cls_tc_fill(m, l, t, lx, i, e);
			ents[i] = e;
			continue;
		}
		/* Two ways: a word goes where the older one was used. */
		e = &tab[(key >> (64 - CLS_TC_BITS)) & ~(size_t)1];
		tc->lookups++;
		if (e->key != key && e[1].key == key)
			e++;
		if (e->key != key || e->tag != tag || e->len != k->len ||
		    !cls_same(e->tok, w, k->len)) {
			tc->misses++;
			if (e->key == key || e[1].epoch < e->epoch)
				e = e->key == key ? e : e + 1;
			/* Taken by another word of this review. */
			if (e->key != 0 && e->epoch == epoch)
				e = arena_alloc(a, sizeof(*e));
			cls_tc_fill(m, l, t, lx, i, e);
			e->key = key;
			e->tag = tag;
			e->len = (uint8_t)k->len;
			memcpy(e->tok, w, k->len);
		}
		e->epoch = epoch;
		ents[i] = e;
	}
	return (const struct cls_tokx *const *)ents;
}

void
cls_text_predict(const struct cls_model *m, struct cls_tcache *tc,
    enum cls_lang l, const struct cls_text *t, const struct cls_lex *lx,
    const struct cls_match *mt, size_t nm, size_t cap, struct arena *a,
    const struct cls_tokx *const *tx, float prob[CLS_NCLASS])
{
	const struct cls_cfg *cfg = &m->cfg;
	uint32_t mask = (1u << cfg->bits) - 1, *f;
	cls_v4i ac = { 0, 0, 0, 0 }, aw = { 0, 0, 0, 0 };
	uint64_t seeds[2], prev[2] = { 0, 0 };
	size_t ns, nchar = 0, nw = 0, i, s, n;
	/* In locals: stores through the entries could alias *cfg. */
	const bool words = cfg->words != 0, bigrams = cfg->bigrams != 0;
	const bool negmark = cfg->negmark != 0;

	if (tc == NULL || cfg->maxn > 8)
		goto rows;
	if (tx == NULL)
		tx = cls_tc_tokens(m, tc, l, t, lx, a);
	ns = cls_seeds(cfg, l, seeds);
	for (i = 0; i < t->ntok; i++) {
		const struct cls_tok *k = &t->tok[i];
		const struct cls_tc_ent *e = (const struct cls_tc_ent *)tx[i];
		bool neg, big;

		if (e == NULL)
			continue;
		ac += e->ng;
		nchar += e->nng;
		neg = negmark && (k->flags & CLS_TOK_NEG);
		big = bigrams && i > 0 && !(k->flags & CLS_TOK_BREAK);
		for (s = 0; s < ns; s++) {
			uint64_t hw = e->hw[s];

			if (neg) {
				hw = cls_fnv(hw, "!", 1);
				if (words)
					aw += cls_row_at(m, hw, mask);
			}
			if (big) {
				aw += cls_row_at(m, prev[s] * 31 + hw, mask);
				nw++;
			}
			prev[s] = hw;
		}
		if (words) {
			if (!neg)
				aw += e->wp;
			nw += ns;
		}
	}
	for (s = 0; s < ns; s++) {
		aw += cls_row_at(m, seeds[s] ^ 0x62696173, mask);
		nw++;
		if (t->nexcl > 0) {
			aw += cls_row_at(m, seeds[s] ^ (t->nexcl > 2 ?
			    0x65786333 : 0x65786331), mask);
			nw++;
		}
		if (t->nletters >= 8 && t->nupper * 2 > t->nletters) {
			aw += cls_row_at(m, seeds[s] ^ 0x75707072, mask);
			nw++;
		}
	}
	if (lx != NULL) {
		/* At most 2 rows per seed and match, and one per seed. */
		size_t lcap = 4 * nm + 8;

		f = arena_alloc(a, lcap * sizeof(*f));
		n = cls_lex_features(cfg, l, lx, mt, nm, t, f, 0, lcap);
		for (i = 0; i < n; i++)
			aw += cls_row(m->w + (size_t)f[i] * CLS_NCLASS);
		nw += n;
	}
	/* Rows the old way would have dropped: do it the old way. */
	if (nchar + nw <= cap) {
		cls_model_finish(m, ac, aw, nchar + nw, nchar, prob);
		return;
	}
rows:
	f = arena_alloc(a, cap * sizeof(*f));
	n = cls_features(cfg, l, t, f, cap, &nchar);
	if (lx != NULL)
		n = cls_lex_features(cfg, l, lx, mt, nm, t, f, n, cap);
	cls_model_predict(m, f, n, nchar, prob);
}
