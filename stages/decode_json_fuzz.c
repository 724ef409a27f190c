/*
 * decode_json_fuzz - libFuzzer target for decode's format parsers: the
 * JSON scanner, the CSV record splitter, text hygiene and the timestamp
 * parsers, on arbitrary bytes.  Beyond "no crash": cleaned text is valid
 * UTF-8 and cleaning it again changes nothing; a CSV record never claims
 * more bytes than it was given; the JSON scanner told to expect the
 * paths it found gives the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"
#include "text.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct arena A = ARENA_INIT;
static struct dec_rec R, R2;
static struct slice E[DEC_MAX_FIELDS];
static char Ebuf[65536 + DJ_EXPECT_PAD];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct slice vals[64], out, again;
	struct text_error te;
	struct dj_error je;
	size_t used, nval, lines, off;
	int64_t t;
	int at_eof;

	if (dj_parse_object(&A, p, size, &R, &je) == 0) {
		size_t i, k, ne, off = 0;

		if (R.n > DEC_MAX_FIELDS)
			__builtin_trap();
		/*
		 * Its own paths as the expectation (those the scanner may
		 * compare) change nothing but nmatched.
		 */
		for (ne = 0; ne < R.n; ne++) {
			for (k = 0; k < R.f[ne].path.n; k++)
				if (R.f[ne].path.p[k] == '"' ||
				    R.f[ne].path.p[k] == '\\' ||
				    (unsigned char)R.f[ne].path.p[k] < 0x20)
					break;
			if (k < R.f[ne].path.n || off + k + DJ_EXPECT_PAD >
			    sizeof(Ebuf))
				break;
			/* A copy, padded as the scanner reads it. */
			memcpy(Ebuf + off, R.f[ne].path.p, k);
			memset(Ebuf + off + k, 0, DJ_EXPECT_PAD);
			E[ne] = (struct slice){ Ebuf + off, k };
			off += k;
		}
		if (dj_parse_object_expect(&A, p, size, &R2, &je, E, ne) != 0 ||
		    R2.n != R.n || R2.nmatched > ne)
			__builtin_trap();
		for (i = 0; i < R.n; i++)
			if (R2.f[i].type != R.f[i].type ||
			    !slice_same(R2.f[i].path, R.f[i].path) ||
			    !slice_same(R2.f[i].val, R.f[i].val) ||
			    (i < R2.nmatched && !slice_same(R2.f[i].path, E[i])))
				__builtin_trap();
	} else if (je.off > size)
		__builtin_trap();
	arena_reset(&A);

	for (at_eof = 0; at_eof <= 1; at_eof++)
		for (off = 0; off < size; off += used) {
			int r = csv_record(&A, p + off, size - off, at_eof,
			    size > 0 && data[0] == '\t' ? '\t' : ',', &used,
			    vals, 64, &nval, &lines);

			if (r != 1)
				break;
			if (used == 0 || used > size - off || nval > 64)
				__builtin_trap();
			arena_reset(&A);
		}
	arena_reset(&A);

	if (text_clean(&A, p, size, &out, &te) == 0) {
		if (text_utf8_check(out.p, out.n, &te) != 0)
			__builtin_trap();
		if (text_clean(&A, out.p, out.n, &again, &te) != 0 ||
		    again.n != out.n || memcmp(again.p, out.p, out.n) != 0)
			__builtin_trap();
	} else if (te.off >= size)
		__builtin_trap();
	arena_reset(&A);

	(void)pm_parse_iso8601((struct slice){ p, size }, &t);
	(void)pm_parse_mdy((struct slice){ p, size }, &t);
	return 0;
}
