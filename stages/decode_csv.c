/*
 * decode_csv - one CSV or TSV record at a time (RFC 4180).
 *
 * Quoted fields may hold the delimiter, doubled quotes and newlines; a
 * record ends at LF, CR LF or a lone CR outside quotes.  Being lenient
 * where exports are sloppy: a quote inside an unquoted field is a plain
 * character, and text after a closing quote is kept as part of the field.
 * A quote still open at the end of the input is the one error (bad_csv).
 */
#include <stdbool.h>
#include <string.h>

#include "banned.h"
#include "decode.h"

int
csv_record(struct arena *a, const char *p, size_t n, bool at_eof,
    char delim, size_t *used, struct slice *vals, size_t maxvals,
    size_t *nval, size_t *lines)
{
	size_t i = 0, nf = 0, nl = 0;

	for (;;) {
		struct slice v;
		size_t st = i;

		if (i < n && p[i] == '"') {
			/* Quoted: to the closing quote; count doubled ones. */
			size_t k = i + 1, dq = 0;

			for (;;) {
				const char *q = memchr(p + k, '"', n - k);

				if (q == NULL) {
					if (!at_eof)
						return 0;
					*lines = nl;
					return -1;
				}
				k = (size_t)(q - p);
				if (k + 1 < n && p[k + 1] == '"') {
					dq++;
					k += 2;
					continue;
				}
				if (k + 1 >= n && !at_eof)
					return 0;
				break;
			}
			v.p = p + st + 1;
			v.n = k - st - 1;
			for (size_t m = st + 1; m < k; m++)
				if (p[m] == '\n' || (p[m] == '\r' &&
				    (m + 1 >= k || p[m + 1] != '\n')))
					nl++;
			if (dq > 0) {
				char *d = arena_alloc(a, v.n + 1);
				size_t o = 0;

				for (size_t m = 0; m < v.n; m++) {
					d[o++] = v.p[m];
					if (v.p[m] == '"')
						m++;
				}
				v.p = d;
				v.n = o;
			}
			i = k + 1;
			if (i < n && p[i] != delim && p[i] != '\n' &&
			    p[i] != '\r') {
				/* Sloppy: text after the closing quote. */
				size_t t = i;
				char *d;

				while (t < n && p[t] != delim && p[t] != '\n' &&
				    p[t] != '\r')
					t++;
				if (t >= n && !at_eof)
					return 0;
				d = arena_alloc(a, v.n + (t - i) + 1);
				memcpy(d, v.p, v.n);
				memcpy(d + v.n, p + i, t - i);
				v.p = d;
				v.n += t - i;
				i = t;
			}
		} else {
			while (i < n && p[i] != delim && p[i] != '\n' &&
			    p[i] != '\r')
				i++;
			v.p = p + st;
			v.n = i - st;
		}
		if (nf < maxvals)
			vals[nf] = v;
		nf++;
		if (i >= n) {
			if (!at_eof)
				return 0;
			break;
		}
		if (p[i] == delim) {
			i++;
			if (i >= n && !at_eof)
				return 0;
			if (i >= n) {
				/* Trailing delimiter: one more empty field. */
				if (nf < maxvals)
					vals[nf] = (struct slice){ p + i, 0 };
				nf++;
				break;
			}
			continue;
		}
		if (p[i] == '\r') {
			if (i + 1 >= n && !at_eof)
				return 0;
			i++;
			if (i < n && p[i] == '\n')
				i++;
		} else
			i++;
		nl++;
		break;
	}
	*used = i;
	*nval = nf < maxvals ? nf : maxvals;
	*lines = nl;
	return 1;
}
