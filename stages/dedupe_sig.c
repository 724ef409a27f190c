/*
 * dedupe_sig - MinHash signatures of matching forms, for near duplicates.
 *
 * One hash per shingle (one-permutation hashing) keeps this at a few
 * nanoseconds per character; see dedupe.h for the scheme.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "dedupe.h"
#include "norm.h"
#include "dupkey.h"
#include "banned.h"

/* The first DD_PROBES steps of every bin's probe sequence, computed once. */
#define DD_PROBES	8
static uint8_t		dd_probe[DD_K][DD_PROBES];
static pthread_once_t	dd_probe_once = PTHREAD_ONCE_INIT;

static void
dd_probe_build(void)
{
	uint32_t i, a;

	for (i = 0; i < DD_K; i++)
		for (a = 1; a <= DD_PROBES; a++)
			dd_probe[i][a - 1] = (uint8_t)(dupkey_mix((uint64_t)i << 32 |
			    a) >> (64 - DD_KBITS));
}

void
dd_sig_make(struct dd_sig *s, struct slice form)
{
	const char *p = form.p, *end = form.p + form.n;
	uint64_t w = 0, h, filled = 0;
	uint32_t len = 0, i, j, attempt, v;
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
	for (i = 0; i < DD_K; i++)
		if (s->v[i] != UINT32_MAX)
			filled |= 1ULL << i;
	s->has = len >= DD_SHINGLE;
	if (!s->has)
		return;
	/*
	 * Optimal densification: an empty bin borrows the value of the first
	 * non-empty bin in its own fixed pseudo-random probe sequence, so
	 * two texts fill it alike exactly when they agree on the donor.
	 */
	pthread_once(&dd_probe_once, dd_probe_build);
	for (i = 0; i < DD_K; i++) {
		if (filled & 1ULL << i)
			continue;
		for (attempt = 1; attempt <= DD_PROBES; attempt++)
			if (filled & 1ULL << (j = dd_probe[i][attempt - 1]))
				break;
		for (; attempt > DD_PROBES; attempt++) {
			j = (uint32_t)(dupkey_mix((uint64_t)i << 32 | attempt) >>
			    (64 - DD_KBITS));
			if (filled & 1ULL << j)
				break;
		}
		s->v[i] = s->v[j];
	}
}

uint64_t
dd_sig_band(const struct dd_sig *s, int band, uint64_t group)
{
	const uint32_t *v = s->v + band * DD_ROWS;
	uint64_t k = group ^ (uint64_t)(band + 1) * 0x9e3779b97f4a7c15ULL;
	int r;

	for (r = 0; r < DD_ROWS; r++)
		k = (k ^ v[r]) * 0xff51afd7ed558ccdULL;
	return dupkey_mix(k);
}

void
dd_sig_pack(const struct dd_sig *s, uint16_t *out)
{
	int i;

	for (i = 0; i < DD_KSTORE; i++)
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
