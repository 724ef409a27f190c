/*
 * mp - a small, allocation-free msgpack reader.
 *
 * Records are read in place: mp_next() decodes the value at a cursor into
 * a struct mp_val whose strings point into the input bytes.  Arrays and maps
 * are returned as a header (type and count); the cursor then stands on the
 * first element, so nested values are walked with further mp_next() calls
 * or skipped whole with mp_skip().  Writing goes through msgpack-c's
 * msgpack_packer (see rec.h).
 *
 * Every function checks bounds: on malformed or truncated input it returns
 * MP_BAD or MP_SHORT and never reads past `end`.
 */
#ifndef REVPIPE_MP_H
#define REVPIPE_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slice.h"

enum mp_type {
	MP_NIL, MP_BOOL, MP_INT, MP_UINT, MP_FLOAT, MP_STR, MP_BIN,
	MP_ARRAY, MP_MAP, MP_EXT
};

struct mp_val {
	enum mp_type	 type;
	union {
		bool		 b;
		int64_t		 i;	/* MP_INT */
		uint64_t	 u;	/* MP_UINT */
		double		 f;	/* MP_FLOAT */
		struct slice	 s;	/* MP_STR, MP_BIN, MP_EXT (payload) */
		uint32_t	 n;	/* MP_ARRAY, MP_MAP: element count */
	} v;
	int8_t		 ext_type;	/* MP_EXT */
};

enum {
	MP_OK = 0,
	MP_SHORT = 1,	/* input ends inside the value: more bytes needed */
	MP_BAD = -1	/* not msgpack (0xc1) or nesting too deep */
};

/* Deepest nesting mp_skip() accepts, as msgpack-c's unpacker (its stack
 * holds 32 levels); deeper input is MP_BAD, not a crash. */
#define MP_MAX_DEPTH	32

/*
 * Decode the value at *pp (before end) into *v and advance *pp past it, or
 * only past the header for arrays and maps.  Returns MP_OK, MP_SHORT or
 * MP_BAD; *pp is unchanged on failure.
 */
int	mp_next(const char **pp, const char *end, struct mp_val *v);

/* Advance *pp past one whole value, nested contents included. */
int	mp_skip(const char **pp, const char *end);
/*
 * The same for a value inside `open` containers already open (a record's
 * values: 1), so the whole nesting stays within MP_MAX_DEPTH as msgpack-c
 * counts it.
 */
int	mp_skip_inside(const char **pp, const char *end, int open);

/* Integer value of an MP_INT/MP_UINT/MP_FLOAT with an integral value. */
bool	mp_as_int(const struct mp_val *v, int64_t *out);
/* Numeric value of an MP_INT/MP_UINT/MP_FLOAT. */
bool	mp_as_double(const struct mp_val *v, double *out);

/*
 * Encode the header of a string of n bytes, or of a map of n pairs, into
 * h (5 bytes at most), choosing the shortest form as msgpack-c does;
 * returns the header's length.  For code that writes msgpack straight
 * into a buffer (the record writer, run's tagging).
 */
size_t	mp_str_header(unsigned char h[5], size_t n);
size_t	mp_map_header(unsigned char h[5], uint32_t n);

/* Big-endian lengths and numbers as msgpack stores them. */
static inline uint16_t
mp_be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
mp_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
mp_be64(const unsigned char *p)
{
	return (uint64_t)mp_be32(p) << 32 | mp_be32(p + 4);
}

/*
 * Bytes of the value at p (< end) when its header alone tells and it fits
 * before end: nil, booleans, numbers, fixstr, str8 and str16 (the values
 * of nearly every record).  0 for anything else, or when it does not fit:
 * mp_next() or mp_skip() then frames it and says why.  For the scanners
 * that step over values by their headers (rec_parse, stats, dedupe).
 */
static inline size_t
mp_head_size(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p), n;
	unsigned c = p[0];

	if (c <= 0x7f || c >= 0xe0)
		return 1;
	if ((c & 0xe0) == 0xa0)
		n = 1 + (c & 0x1f);
	else {
		switch (c) {
		case 0xc0: case 0xc2: case 0xc3:
			return 1;
		case 0xcc: case 0xd0:
			n = 2;
			break;
		case 0xcd: case 0xd1:
			n = 3;
			break;
		case 0xca: case 0xce: case 0xd2:
			n = 5;
			break;
		case 0xcb: case 0xcf: case 0xd3:
			n = 9;
			break;
		case 0xd9:
			n = avail >= 2 ? 2 + (size_t)p[1] : 0;
			break;
		case 0xda:
			n = avail >= 3 ? 3 + (size_t)mp_be16(p + 1) : 0;
			break;
		default:
			return 0;
		}
	}
	return n <= avail ? n : 0;
}

#endif
