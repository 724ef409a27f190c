/*
 * dedupe_sig - MinHash signatures of matching forms, for near duplicates.
 *
 * One hash per shingle (one-permutation hashing) keeps this at a few
 * nanoseconds per character; see dedupe.h for the scheme.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dedupe.h"
#include "norm.h"
#include "dupkey.h"
#include "banned.h"

/* The first DD_PROBES steps of every bin's probe sequence, computed once. */
#define DD_PROBES	32
static uint8_t		dd_probe[DD_K][DD_PROBES];
static pthread_once_t	dd_probe_once = PTHREAD_ONCE_INIT;

static void
dd_probe_build(void)
{
	uint32_t i, a;

	for (i = 0; i < DD_K; i++)
		for (a = 1; a <= DD_PROBES; a++)
			dd_probe[i][a - 1] = (uint8_t)(mix64((uint64_t)i << 32 |
			    a) >> (64 - DD_KBITS));
}

static void	dd_sig_densify(struct dd_sig *);

/*
 * norm's two-byte table (norm.h) keyed by the two bytes as one
 * little-endian 16-bit load: dd_pair[p[1] << 8 | p[0]] is
 * two[(p[0] - 0xc0) << 8 | p[1]] for lead bytes 0xc0..0xdf and 0 for any
 * other pair, so a walk tests a pair with one load instead of checking
 * the lead byte first.  512 KiB from calloc (mapped zero pages), of
 * which only the entries of valid pairs (second byte 0x80..0xbf: 128 KiB
 * of pages) are written.
 */
static uint64_t		*dd_pair;
static pthread_once_t	dd_pair_once = PTHREAD_ONCE_INIT;
/* norm's ASCII table for every byte, 0 (ends an ASCII run) from 0x80. */
static unsigned char	dd_byte[256];

static void
dd_pair_build(void)
{
	const uint64_t *two = norm_step_tab()->two;
	uint32_t a, b;

	memcpy(dd_byte, norm_step_tab()->ascii, 128);
	if ((dd_pair = calloc(1 << 16, sizeof(*dd_pair))) == NULL) {
		fputs("revpipe dedupe: out of memory\n", stderr);
		abort();
	}
	for (a = 0xc0; a <= 0xdf; a++)
		for (b = 0; b < 256; b++)
			if (two[(a - 0xc0) << 8 | b] != 0)
				dd_pair[b << 8 | a] = two[(a - 0xc0) << 8 | b];
}

static inline const uint64_t *
dd_pair_tab(void)
{
	pthread_once(&dd_pair_once, dd_pair_build);
	return dd_pair;
}

/* The two bytes at p as dd_pair's index. */
static inline uint32_t
dd_pair_at(const unsigned char *p)
{
	return (uint32_t)p[1] << 8 | p[0];
}

/* Add code point c to the window; from the DD_SHINGLE-th on, hash. */
#define DD_PUSH(c) do {							\
	w = w << 16 ^ (c);						\
	if (++len >= DD_SHINGLE) {					\
		h = w * 0xd6e8feb86659fd93ULL;				\
		h ^= h >> 29;						\
		h *= 0x9e3779b97f4a7c15ULL;				\
		i = (uint32_t)(h >> (64 - DD_KBITS));			\
		v = (uint32_t)(h >> (32 - DD_KBITS));			\
		bins[i] = v < bins[i] ? v : bins[i];			\
	}								\
} while (0)

size_t
dd_sig_text(struct dd_sig *s, struct slice text, char *restrict form)
{
	const struct norm_step_tab *nt = norm_step_tab();
	const unsigned char *ascii = nt->ascii;
	const uint64_t *pair = dd_pair_tab();
	const unsigned char *p = (const unsigned char *)text.p;
	const unsigned char *end = p + text.n;
	uint32_t bins[DD_K], pend[NORM_STEP_MAX], t, c, u, i, v, len = 0;
	uint64_t w = 0, h, x;
	size_t o = 0, k, j, o2;
	bool sep = false, sep2;

	/*
	 * norm_form()'s walk (norm.h) with dd_sig_make()'s hashing of
	 * each code point as it comes: one pass, no code point array.
	 * Runs of kept ASCII bytes and of table code points take inner
	 * loops: no separator can be pending inside a run.
	 */
	for (i = 0; i < DD_K; i++)
		bins[i] = UINT32_MAX;
	while (p < end) {
		t = *p;
		if (t < 0x80) {
			c = ascii[t];
			p++;
			if (c > ' ') {
				if (sep) {
					form[o++] = ' ';
					DD_PUSH(' ');
					sep = false;
				}
				for (;;) {
					form[o++] = (char)c;
					DD_PUSH(c);
					if (p == end || (c = dd_byte[*p]) <= ' ')
						break;
					p++;
				}
			} else if (c == ' ')
				sep = o > 0;
			continue;
		}
		if (p + 1 < end && (x = pair[dd_pair_at(p)]) != 0) {
			if (sep) {
				form[o++] = ' ';
				DD_PUSH(' ');
				sep = false;
			}
			do {
				p += 2;
				u = (uint32_t)x;
				memcpy(form + o, &u, sizeof(u));
				o += (x >> 32) & 0xff;
				DD_PUSH((uint32_t)(x >> 40));
			} while (p + 1 < end &&
			    (x = pair[dd_pair_at(p)]) != 0);
			continue;
		}
		/* Copies: o and sep stay in registers in the loops above. */
		k = 0;
		o2 = o;
		sep2 = sep;
		p += norm_step_slow((const char *)p, (const char *)end, form,
		    &o2, pend, &k, &sep2);
		o = o2;
		sep = sep2;
		for (j = 0; j < k; j++)
			DD_PUSH(pend[j]);
	}
	memcpy(s->v, bins, sizeof(bins));
	s->len = len;
	dd_sig_densify(s);
	return o;
}

size_t
dd_form_text(struct slice text, char *restrict form, uint32_t *ncp)
{
	const struct norm_step_tab *nt = norm_step_tab();
	const unsigned char *ascii = nt->ascii;
	const uint64_t *pair = dd_pair_tab();
	const unsigned char *p = (const unsigned char *)text.p;
	const unsigned char *end = p + text.n;
	uint32_t pend[NORM_STEP_MAX], t, c, u, n = 0;
	uint64_t x;
	size_t o = 0, k, o2;
	bool sep = false, sep2;

	/* dd_sig_text()'s walk without the hashing. */
	while (p < end) {
		t = *p;
		if (t < 0x80) {
			c = ascii[t];
			p++;
			if (c > ' ') {
				if (sep) {
					form[o++] = ' ';
					n++;
					sep = false;
				}
				for (;;) {
					form[o++] = (char)c;
					n++;
					if (p == end || (c = dd_byte[*p]) <= ' ')
						break;
					p++;
				}
			} else if (c == ' ')
				sep = o > 0;
			continue;
		}
		if (p + 1 < end && (x = pair[dd_pair_at(p)]) != 0) {
			if (sep) {
				form[o++] = ' ';
				n++;
				sep = false;
			}
			do {
				p += 2;
				u = (uint32_t)x;
				memcpy(form + o, &u, sizeof(u));
				o += (x >> 32) & 0xff;
				n++;
			} while (p + 1 < end &&
			    (x = pair[dd_pair_at(p)]) != 0);
			continue;
		}
		k = 0;
		o2 = o;
		sep2 = sep;
		p += norm_step_slow((const char *)p, (const char *)end, form,
		    &o2, pend, &k, &sep2);
		o = o2;
		sep = sep2;
		n += (uint32_t)k;
	}
	*ncp = n;
	return o;
}

void
dd_sig_make(struct dd_sig *s, struct slice form)
{
	const char *p = form.p, *end = form.p + form.n;
	uint64_t w = 0, h;
	uint32_t len = 0, i, v;
	int32_t c;

	for (i = 0; i < DD_K; i++)
		s->v[i] = UINT32_MAX;
	/* The first DD_SHINGLE - 1 code points only fill the window. */
	while (p < end && len < DD_SHINGLE - 1) {
		if ((c = norm_next_cp(&p, end)) == -1)
			break;
		w = w << 16 ^ (uint32_t)c;
		len++;
	}
	while (p < end) {
		/* Inline decode: the form is valid UTF-8 (norm.h). */
		c = (unsigned char)*p;
		if (c < 0x80)
			p++;
		else if (c < 0xe0 && end - p >= 2) {
			c = (c & 0x1f) << 6 | ((unsigned char)p[1] & 0x3f);
			p += 2;
		} else if ((c = norm_next_cp(&p, end)) == -1)
			break;
		len++;
		/*
		 * The window: 16 bits per code point, four in 64 bits (code
		 * points above U+FFFF fold into the next one's bits, which
		 * only merges a few emoji shingles).  Multiplicative hashing:
		 * the top bits pick the bin, the next 32 are the value.
		 */
		w = w << 16 ^ (uint32_t)c;
		h = w * 0xd6e8feb86659fd93ULL;
		h ^= h >> 29;
		h *= 0x9e3779b97f4a7c15ULL;
		i = (uint32_t)(h >> (64 - DD_KBITS));
		v = (uint32_t)(h >> (32 - DD_KBITS));
		/* Branch-free: which bin gets a new minimum is random. */
		s->v[i] = v < s->v[i] ? v : s->v[i];
	}
	s->len = len;
	dd_sig_densify(s);
}

/*
 * Fill the empty bins of a signature whose bins hold the minima, and set
 * s->has from s->len.
 */
static void
dd_sig_densify(struct dd_sig *s)
{
	uint64_t filled = 0, empty;
	uint32_t i, j, attempt;

#ifdef __SSE2__
	/* Four bins per compare: this loop was half the cost of filling. */
	for (i = 0; i < DD_K; i += 4) {
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)
		    (s->v + i));

		filled |= (uint64_t)(~_mm_movemask_ps(_mm_castsi128_ps(
		    _mm_cmpeq_epi32(b, _mm_set1_epi32(-1)))) & 0xf) << i;
	}
#else
	for (i = 0; i < DD_K; i++)
		filled |= (uint64_t)(s->v[i] != UINT32_MAX) << i;
#endif
	s->has = s->len >= DD_SHINGLE;
	if (!s->has)
		return;
	/*
	 * Optimal densification: an empty bin borrows the value of the first
	 * non-empty bin in its own fixed pseudo-random probe sequence, so
	 * two texts fill it alike exactly when they agree on the donor.
	 */
	pthread_once(&dd_probe_once, dd_probe_build);
	for (empty = ~filled; empty != 0; empty &= empty - 1) {
		i = (uint32_t)__builtin_ctzll(empty);
		for (attempt = 1; attempt <= DD_PROBES; attempt++)
			if (filled & 1ULL << (j = dd_probe[i][attempt - 1]))
				break;
		for (; attempt > DD_PROBES; attempt++) {
			j = (uint32_t)(mix64((uint64_t)i << 32 | attempt) >>
			    (64 - DD_KBITS));
			if (filled & 1ULL << j)
				break;
		}
		s->v[i] = s->v[j];
	}
}

void
dd_sig_pack(const struct dd_sig *s, uint16_t *out)
{
	int i = 0;

#ifdef __SSE2__
	/* Low halves of eight bins at a time: sign-extend, then pack. */
	for (; i + 8 <= DD_KSTORE; i += 8) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)
		    (s->v + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)
		    (s->v + i + 4));

		a = _mm_srai_epi32(_mm_slli_epi32(a, 16), 16);
		b = _mm_srai_epi32(_mm_slli_epi32(b, 16), 16);
		_mm_storeu_si128((__m128i *)(void *)(out + i),
		    _mm_packs_epi32(a, b));
	}
#endif
	for (; i < DD_KSTORE; i++)
		out[i] = (uint16_t)s->v[i];
}

double
dd_sig_sim(const uint16_t *a, const uint16_t *b)
{
	int i, same = 0;

	for (i = 0; i < DD_KSTORE; i++)
		same += a[i] == b[i];
	return (double)same / DD_KSTORE;
}
