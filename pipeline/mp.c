/*
 * mp - allocation-free msgpack reading (format: msgpack spec, 2017).
 */
#include <math.h>
#include <string.h>

#include "mp.h"
#include "banned.h"

/* Length-prefixed payload: header of `hl` bytes, then `len` bytes. */
static int
mp_payload(const unsigned char *p, size_t avail, size_t hl, size_t len,
    struct mp_val *v, enum mp_type t, size_t *used)
{
	if (avail - hl < len)
		return MP_SHORT;
	v->type = t;
	v->v.s.p = (const char *)p + hl;
	v->v.s.n = len;
	*used = hl + len;
	return MP_OK;
}

int
mp_next(const char **pp, const char *end, struct mp_val *v)
{
	const unsigned char *p = (const unsigned char *)*pp;
	size_t avail = (size_t)(end - *pp), used = 1, len;
	unsigned char c;
	union { uint32_t u; float f; } f32;
	union { uint64_t u; double f; } f64;
	int rc = MP_OK;

	if (avail == 0)
		return MP_SHORT;
	c = p[0];
	if (c <= 0x7f) {
		v->type = MP_UINT;
		v->v.u = c;
	} else if (c >= 0xe0) {
		v->type = MP_INT;
		v->v.i = (int8_t)c;
	} else if ((c & 0xe0) == 0xa0) {
		rc = mp_payload(p, avail, 1, c & 0x1f, v, MP_STR, &used);
	} else if ((c & 0xf0) == 0x90) {
		v->type = MP_ARRAY;
		v->v.n = c & 0x0f;
	} else if ((c & 0xf0) == 0x80) {
		v->type = MP_MAP;
		v->v.n = c & 0x0f;
	} else {
		/* Fixed-size headers: 0xc0..0xdf; sizes after the tag byte. */
		static const unsigned char extra[32] = {
			0, 0, 0, 0, 1, 2, 4, 2, 3, 5, 4, 8, 1, 2, 4, 8,
			1, 2, 4, 8, 2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4
		};
		size_t hl = 1 + (size_t)extra[c - 0xc0];

		if (c == 0xc1)
			return MP_BAD;
		if (avail < hl)
			return MP_SHORT;
		used = hl;
		switch (c) {
		case 0xc0: v->type = MP_NIL; break;
		case 0xc2: v->type = MP_BOOL; v->v.b = false; break;
		case 0xc3: v->type = MP_BOOL; v->v.b = true; break;
		case 0xc4: rc = mp_payload(p, avail, 2, p[1], v, MP_BIN, &used); break;
		case 0xc5: rc = mp_payload(p, avail, 3, mp_be16(p + 1), v, MP_BIN, &used); break;
		case 0xc6: rc = mp_payload(p, avail, 5, mp_be32(p + 1), v, MP_BIN, &used); break;
		case 0xc7: case 0xc8: case 0xc9:
			len = c == 0xc7 ? p[1] : c == 0xc8 ? mp_be16(p + 1) : mp_be32(p + 1);
			rc = mp_payload(p, avail, hl, len, v, MP_EXT, &used);
			v->ext_type = (int8_t)p[hl - 1];
			break;
		case 0xca:
			f32.u = mp_be32(p + 1);
			v->type = MP_FLOAT; v->v.f = f32.f; break;
		case 0xcb:
			f64.u = mp_be64(p + 1);
			v->type = MP_FLOAT; v->v.f = f64.f; break;
		case 0xcc: v->type = MP_UINT; v->v.u = p[1]; break;
		case 0xcd: v->type = MP_UINT; v->v.u = mp_be16(p + 1); break;
		case 0xce: v->type = MP_UINT; v->v.u = mp_be32(p + 1); break;
		case 0xcf: v->type = MP_UINT; v->v.u = mp_be64(p + 1); break;
		case 0xd0: v->type = MP_INT; v->v.i = (int8_t)p[1]; break;
		case 0xd1: v->type = MP_INT; v->v.i = (int16_t)mp_be16(p + 1); break;
		case 0xd2: v->type = MP_INT; v->v.i = (int32_t)mp_be32(p + 1); break;
		case 0xd3: v->type = MP_INT; v->v.i = (int64_t)mp_be64(p + 1); break;
		case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
			rc = mp_payload(p, avail, 2, hl - 2, v, MP_EXT, &used);
			v->ext_type = (int8_t)p[1];
			break;
		case 0xd9: rc = mp_payload(p, avail, 2, p[1], v, MP_STR, &used); break;
		case 0xda: rc = mp_payload(p, avail, 3, mp_be16(p + 1), v, MP_STR, &used); break;
		case 0xdb: rc = mp_payload(p, avail, 5, mp_be32(p + 1), v, MP_STR, &used); break;
		case 0xdc: v->type = MP_ARRAY; v->v.n = mp_be16(p + 1); break;
		case 0xdd: v->type = MP_ARRAY; v->v.n = mp_be32(p + 1); break;
		case 0xde: v->type = MP_MAP; v->v.n = mp_be16(p + 1); break;
		case 0xdf: v->type = MP_MAP; v->v.n = mp_be32(p + 1); break;
		}
	}
	if (rc != MP_OK)
		return rc;
	*pp += used;
	return MP_OK;
}

int
mp_skip(const char **pp, const char *end)
{
	return mp_skip_inside(pp, end, 0);
}

int
mp_skip_inside(const char **pp, const char *end, int open)
{
	/* Values still to skip at each open level: no recursion, bounded depth. */
	uint64_t todo[MP_MAX_DEPTH + 1];
	const char *p = *pp;
	struct mp_val v;
	int depth = 0, rc;

	if (open < 0 || open > MP_MAX_DEPTH)
		return MP_BAD;

	todo[0] = 1;
	for (;;) {
		while (todo[depth] == 0) {
			if (depth == 0) {
				*pp = p;
				return MP_OK;
			}
			depth--;
		}
		todo[depth]--;
		if ((rc = mp_next(&p, end, &v)) != MP_OK)
			return rc;
		if (v.type == MP_ARRAY || v.type == MP_MAP) {
			uint64_t n = v.type == MP_MAP ? 2 * (uint64_t)v.v.n : v.v.n;

			/*
			 * msgpack-c checks its stack before it looks at the
			 * count: an empty container is one level too.
			 */
			if (depth + open == MP_MAX_DEPTH)
				return MP_BAD;
			if (n == 0)
				continue;
			/* Each element takes at least one byte: a cheap bound. */
			if (n > (uint64_t)(end - p))
				return MP_SHORT;
			todo[++depth] = n;
		}
	}
}

bool
mp_as_int(const struct mp_val *v, int64_t *out)
{
	switch (v->type) {
	case MP_INT:
		*out = v->v.i;
		return true;
	case MP_UINT:
		if (v->v.u > INT64_MAX)
			return false;
		*out = (int64_t)v->v.u;
		return true;
	case MP_FLOAT:
		if (!(v->v.f >= -9.2e18 && v->v.f <= 9.2e18) ||
		    v->v.f != floor(v->v.f))
			return false;
		*out = (int64_t)v->v.f;
		return true;
	default:
		return false;
	}
}

bool
mp_as_double(const struct mp_val *v, double *out)
{
	switch (v->type) {
	case MP_INT:
		*out = (double)v->v.i;
		return true;
	case MP_UINT:
		*out = (double)v->v.u;
		return true;
	case MP_FLOAT:
		*out = v->v.f;
		return true;
	default:
		return false;
	}
}

/* The 4-byte forms: the length in big-endian after the tag. */
static size_t
mp_header32(unsigned char h[5], unsigned char tag, uint32_t n)
{
	h[0] = tag;
	h[1] = (unsigned char)(n >> 24);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 8);
	h[4] = (unsigned char)n;
	return 5;
}

size_t
mp_str_header(unsigned char h[5], size_t n)
{
	if (n < 32) {
		h[0] = (unsigned char)(0xa0 | n);
		return 1;
	}
	if (n < 256) {
		h[0] = 0xd9;
		h[1] = (unsigned char)n;
		return 2;
	}
	if (n < 65536) {
		h[0] = 0xda;
		h[1] = (unsigned char)(n >> 8);
		h[2] = (unsigned char)n;
		return 3;
	}
	return mp_header32(h, 0xdb, (uint32_t)n);
}

size_t
mp_map_header(unsigned char h[5], uint32_t n)
{
	if (n < 16) {
		h[0] = (unsigned char)(0x80 | n);
		return 1;
	}
	if (n < 65536) {
		h[0] = 0xde;
		h[1] = (unsigned char)(n >> 8);
		h[2] = (unsigned char)n;
		return 3;
	}
	return mp_header32(h, 0xdf, n);
}
