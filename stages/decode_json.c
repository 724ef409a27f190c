/*
 * decode_json - a purpose-built JSON scanner for decode.
 *
 * It parses one object (a JSON Lines line or an element of a JSON array)
 * straight into a flat list of fields, nested objects becoming dotted
 * paths, without building a tree: strings without escapes are slices of
 * the input, so the common record costs no copies at all.  It accepts
 * exactly RFC 8259 JSON (checked against json-c by decode_json_test.c and
 * fuzzed by decode_json_fuzz.c); UTF-8 inside strings is left to text
 * hygiene, which rejects it with a byte offset when a mapping uses it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "banned.h"
#include "decode.h"

struct djp {
	const char	*p, *end, *base;
	struct arena	*a;
	struct dec_rec	*out;
	struct dj_error	*err;
	int		 depth;
	const struct slice *exp;	/* expected paths, or NULL */
	size_t		 nexp;
};

/* 1 for bytes that end the fast scan of a string: '"', '\\', controls. */
static const unsigned char dj_strstop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	['\\'] = 1,
};

const char *
dj_bad_name(enum dj_bad what)
{
	switch (what) {
	case DJ_OK:
		return "ok";
	case DJ_SYNTAX:
		return "syntax error";
	case DJ_EOF:
		return "unexpected end of text";
	case DJ_DEPTH:
		return "nested too deep";
	case DJ_TRAILING:
		return "text after the value";
	case DJ_NOT_OBJECT:
		return "not an object";
	case DJ_SURROGATE:
		return "lone surrogate in \\u escape";
	case DJ_CONTROL:
		return "control character in string";
	}
	return "error";
}

static int
dj_fail(struct djp *j, enum dj_bad what, const char *at)
{
	if (what == DJ_SYNTAX && at >= j->end)
		what = DJ_EOF;
	j->err->what = what;
	j->err->off = (size_t)(at - j->base);
	return -1;
}

static inline void
dj_ws(struct djp *j)
{
	const char *p = j->p;

	/* Compact JSON: no white space at all, and ' ' is the highest. */
	if (p < j->end && (unsigned char)*p > ' ')
		return;
	while (p < j->end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'))
		p++;
	j->p = p;
}

static int
dj_hex4(const char *p, uint32_t *v)
{
	uint32_t x = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)p[i];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= c - '0';
		else if (c >= 'a' && c <= 'f')
			x |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x |= c - 'A' + 10;
		else
			return -1;
	}
	*v = x;
	return 0;
}

static size_t
dj_put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The string at j->p (on the opening quote).  Without escapes *s points
 * into the input; with them the unescaped bytes are built in the arena
 * (never longer than the escaped form).
 */
static int
dj_string(struct djp *j, struct slice *s, bool keep)
{
	const unsigned char *p = (const unsigned char *)j->p + 1;
	const unsigned char *end = (const unsigned char *)j->end;
	const unsigned char *start = p;
	char *d, *d0;

#ifdef __SSE2__
	/* Sixteen bytes at a time while sixteen remain. */
	{
		const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'),
		    c = _mm_set1_epi8(0x1f);

		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			    _mm_or_si128(_mm_cmpeq_epi8(v, q),
			    _mm_cmpeq_epi8(v, b)),
			    _mm_cmpeq_epi8(_mm_max_epu8(v, c), c)));

			if (m != 0) {
				p += __builtin_ctz(m);
				goto stop;
			}
			p += 16;
		}
	}
#endif
	/* Eight bytes at a time to the first '"', '\\' or control. */
	while (end - p >= 8) {
		uint64_t w, q, b, c;

		memcpy(&w, p, 8);
		q = w ^ 0x2222222222222222ULL;
		b = w ^ 0x5c5c5c5c5c5c5c5cULL;
		c = ((q - 0x0101010101010101ULL) & ~q) |
		    ((b - 0x0101010101010101ULL) & ~b) |
		    ((w - 0x2020202020202020ULL) & ~w);
		if ((c & 0x8080808080808080ULL) != 0)
			break;
		p += 8;
	}
	while (p < end && !dj_strstop[*p])
		p++;
#ifdef __SSE2__
stop:
#endif
	if (p >= end)
		return dj_fail(j, DJ_EOF, (const char *)p);
	if (*p == '"') {
		s->p = (const char *)start;
		s->n = (size_t)(p - start);
		j->p = (const char *)p + 1;
		return 0;
	}
	if (*p < 0x20)
		return dj_fail(j, DJ_CONTROL, (const char *)p);
	/* Escapes: unescape into the arena (or just validate). */
	d0 = d = keep ? arena_alloc(j->a, (size_t)(end - start) + 1) : NULL;
	if (keep) {
		memcpy(d, start, (size_t)(p - start));
		d += p - start;
	}
	while (p < end) {
		unsigned char c = *p;
		char o;

		if (c == '"') {
			if (keep) {
				s->p = d0;
				s->n = (size_t)(d - d0);
			}
			j->p = (const char *)p + 1;
			return 0;
		}
		if (c < 0x20)
			return dj_fail(j, DJ_CONTROL, (const char *)p);
		if (c != '\\') {
			if (keep)
				*d++ = (char)c;
			p++;
			continue;
		}
		if (p + 1 >= end)
			return dj_fail(j, DJ_EOF, (const char *)end);
		switch (p[1]) {
		case '"':	o = '"'; break;
		case '\\':	o = '\\'; break;
		case '/':	o = '/'; break;
		case 'b':	o = '\b'; break;
		case 'f':	o = '\f'; break;
		case 'n':	o = '\n'; break;
		case 'r':	o = '\r'; break;
		case 't':	o = '\t'; break;
		case 'u': {
			uint32_t cp, lo;

			if (end - p < 6 || dj_hex4((const char *)p + 2, &cp))
				return dj_fail(j, end - p < 6 ? DJ_EOF :
				    DJ_SYNTAX, (const char *)p);
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return dj_fail(j, DJ_SURROGATE,
				    (const char *)p);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 12 || p[6] != '\\' ||
				    p[7] != 'u' ||
				    dj_hex4((const char *)p + 8, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return dj_fail(j, DJ_SURROGATE,
					    (const char *)p);
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			if (keep)
				d += dj_put_utf8(d, cp);
			p += 6;
			continue;
		}
		default:
			return dj_fail(j, DJ_SYNTAX, (const char *)p + 1);
		}
		if (keep)
			*d++ = o;
		p += 2;
	}
	return dj_fail(j, DJ_EOF, (const char *)end);
}

static int
dj_number(struct djp *j, struct slice *s)
{
	const char *p = j->p, *st = p, *end = j->end;

	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return dj_fail(j, DJ_SYNTAX, p);
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return dj_fail(j, DJ_SYNTAX, p);
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return dj_fail(j, DJ_SYNTAX, p);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return dj_fail(j, DJ_SYNTAX, p);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = st;
	s->n = (size_t)(p - st);
	j->p = p;
	return 0;
}

static int
dj_lit(struct djp *j, const char *w, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) {
		size_t k = 0;

		while (j->p + k < j->end && k < n && j->p[k] == w[k])
			k++;
		return dj_fail(j, DJ_SYNTAX, j->p + k);
	}
	j->p += n;
	return 0;
}

static void
dj_add(struct djp *j, struct slice path, struct slice val, enum dec_type t)
{
	struct dec_rec *r = j->out;

	if (r->n >= DEC_MAX_FIELDS) {
		r->overflow = true;
		return;
	}
	r->f[r->n].path = path;
	r->f[r->n].val = val;
	r->f[r->n].type = t;
	r->n++;
}

static int dj_value(struct djp *, struct slice, bool);

/*
 * Is the key at j->p (on its quote) the expected path e?  Then take it:
 * e holds no quote, backslash or control, so the bytes e then '"' are
 * that string and nothing else.
 */
static inline bool
dj_expected(struct djp *j, const struct slice *e, struct slice *key)
{
	const char *p = j->p + 1;
	size_t n = e->n;

	if ((size_t)(j->end - p) <= n || p[n] != '"')
		return false;
#ifdef __SSE2__
	/* Keys are short: one 16-byte comparison (e is padded). */
	if (n <= 16 && j->end - p >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)p),
		    _mm_loadu_si128((const __m128i *)e->p)));

		if ((~m & ((1u << n) - 1)) != 0)
			return false;
	} else
#endif
	if (memcmp(p, e->p, n) != 0)
		return false;
	key->p = p;
	key->n = e->n;
	j->p = p + e->n + 1;
	return true;
}

/*
 * Enter an object or array at j->p (its opening byte): 1 when it is empty
 * (and already closed), 0 when items follow, -1 on error.
 */
static int
dj_open(struct djp *j, char close)
{
	if (++j->depth > DJ_MAX_DEPTH)
		return dj_fail(j, DJ_DEPTH, j->p);
	j->p++;
	dj_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	return 0;
}

/* After an item: 1 when a ',' says another follows, 0 at `close`, -1. */
static int
dj_next(struct djp *j, char close)
{
	dj_ws(j);
	if (j->p >= j->end)
		return dj_fail(j, DJ_EOF, j->p);
	if (*j->p == ',') {
		j->p++;
		dj_ws(j);
		return 1;
	}
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	return dj_fail(j, DJ_SYNTAX, j->p);
}

static int
dj_object(struct djp *j, struct slice prefix, bool keep)
{
	struct slice key, path;
	int rc;

	if ((rc = dj_open(j, '}')) != 0)
		return rc == 1 ? 0 : -1;
	for (;;) {
		if (j->p >= j->end || *j->p != '"')
			return dj_fail(j, DJ_SYNTAX, j->p);
		if (keep && prefix.n == 0 && j->out->n == j->out->nmatched &&
		    j->out->nmatched < j->nexp &&
		    dj_expected(j, &j->exp[j->out->nmatched], &key))
			j->out->nmatched++;
		else if (dj_string(j, &key, keep) == -1)
			return -1;
		dj_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return dj_fail(j, DJ_SYNTAX, j->p);
		j->p++;
		dj_ws(j);
		path = key;
		if (keep && prefix.n > 0) {
			char *q = arena_alloc(j->a, prefix.n + 1 + key.n + 1);

			memcpy(q, prefix.p, prefix.n);
			q[prefix.n] = '.';
			memcpy(q + prefix.n + 1, key.p, key.n);
			path.p = q;
			path.n = prefix.n + 1 + key.n;
		}
		/* A string, the usual value, without the switch. */
		if (keep && j->p < j->end && *j->p == '"') {
			struct slice v;

			if (dj_string(j, &v, true) == -1)
				return -1;
			dj_add(j, path, v, DV_STR);
		} else if (dj_value(j, path, keep) == -1)
			return -1;
		/* A comma and the next key's quote, without white space. */
		if (j->end - j->p >= 2 && j->p[0] == ',' && j->p[1] == '"') {
			j->p++;
			continue;
		}
		if ((rc = dj_next(j, '}')) == -1)
			return -1;
		if (rc == 0)
			return 0;
	}
}

static int
dj_array(struct djp *j)
{
	int rc;

	if ((rc = dj_open(j, ']')) != 0)
		return rc == 1 ? 0 : -1;
	do {
		if (dj_value(j, (struct slice){ "", 0 }, false) == -1)
			return -1;
	} while ((rc = dj_next(j, ']')) == 1);
	return rc;
}

static int
dj_value(struct djp *j, struct slice path, bool keep)
{
	struct slice v = { "", 0 };

	if (j->p >= j->end)
		return dj_fail(j, DJ_EOF, j->p);
	switch (*j->p) {
	case '"':
		if (dj_string(j, &v, keep) == -1)
			return -1;
		if (keep)
			dj_add(j, path, v, DV_STR);
		return 0;
	case '{':
		if (keep)
			dj_add(j, path, v, DV_OBJECT);
		return dj_object(j, path, keep);
	case '[':
		if (keep)
			dj_add(j, path, v, DV_ARRAY);
		return dj_array(j);
	case 't':
		if (dj_lit(j, "true", 4) == -1)
			return -1;
		if (keep)
			dj_add(j, path, SLICE_LIT("true"), DV_BOOL);
		return 0;
	case 'f':
		if (dj_lit(j, "false", 5) == -1)
			return -1;
		if (keep)
			dj_add(j, path, SLICE_LIT("false"), DV_BOOL);
		return 0;
	case 'n':
		if (dj_lit(j, "null", 4) == -1)
			return -1;
		if (keep)
			dj_add(j, path, v, DV_NULL);
		return 0;
	default:
		if (dj_number(j, &v) == -1)
			return -1;
		if (keep)
			dj_add(j, path, v, DV_NUM);
		return 0;
	}
}

int
dj_parse_object(struct arena *a, const char *p, size_t n,
    struct dec_rec *out, struct dj_error *err)
{
	return dj_parse_object_expect(a, p, n, out, err, NULL, 0);
}

int
dj_parse_object_expect(struct arena *a, const char *p, size_t n,
    struct dec_rec *out, struct dj_error *err, const struct slice *exp,
    size_t nexp)
{
	struct djp j = { p, p + n, p, a, out, err, 0, exp,
	    exp != NULL ? nexp : 0 };

	out->n = 0;
	out->nmatched = 0;
	out->overflow = false;
	err->what = DJ_OK;
	err->off = 0;
	dj_ws(&j);
	if (j.p >= j.end)
		return dj_fail(&j, DJ_EOF, j.p);
	if (*j.p != '{') {
		const char *at = j.p;

		if (dj_value(&j, (struct slice){ "", 0 }, false) == -1)
			return -1;
		dj_ws(&j);
		if (j.p < j.end)
			return dj_fail(&j, DJ_TRAILING, j.p);
		return dj_fail(&j, DJ_NOT_OBJECT, at);
	}
	if (dj_object(&j, (struct slice){ "", 0 }, true) == -1)
		return -1;
	dj_ws(&j);
	if (j.p < j.end)
		return dj_fail(&j, DJ_TRAILING, j.p);
	return 0;
}
