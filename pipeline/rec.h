/*
 * rec - review records: reading a msgpack stream, looking up keys, writing.
 *
 * A stream is concatenated msgpack maps with string keys (schemas/review.v1).
 * The reader frames each map in place and indexes its top-level keys while
 * validating it, so lookups never re-scan and a stage that passes a record
 * on copies its bytes unchanged.
 *
 * Ownership: a `const struct rec *` given to a stage, and every slice
 * reachable from it, is borrowed until the callback returns.
 */
#ifndef REVPIPE_REC_H
#define REVPIPE_REC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "mp.h"
#include "slice.h"

struct stage_ctx;

struct rec_kv {
	const char	*pair;	/* start of the key's msgpack bytes */
	struct slice	 key;
	const char	*val;	/* the value's msgpack bytes */
	size_t		 vlen;
};

struct rec {
	const char	*p;	/* the whole map, msgpack bytes */
	size_t		 n;
	uint64_t	 offset;	/* byte offset of the map in its stream */
	uint64_t	 seq;		/* 0-based record number in its stream */
	uint32_t	 nkeys;
	struct rec_kv	*kv;	/* nkeys entries, in stream order */
	size_t		 kvcap;
};

/* ---- lookup -------------------------------------------------------- */

/* Find the value of top-level `key`: 0 and *v set, or -1 when absent. */
int	rec_get(const struct rec *r, const char *key, struct mp_val *v);
/* Like rec_get() but gives the raw msgpack bytes of the value. */
int	rec_get_raw(const struct rec *r, const char *key, struct slice *raw);
/* 0 when `key` holds a string, -1 when absent or of another type. */
int	rec_get_str(const struct rec *r, const char *key, struct slice *s);

/*
 * For a stage that builds its output record itself (langid, reply): at w
 * (with room), the header of a map of kept + nnew pairs, then the input
 * pairs that stay: all in one copy when kept == r->nkeys, else each one
 * `replaced` says no to.  Returns the end; the stage appends its nnew
 * pairs there.
 */
static inline char *
rec_put_kept(char *w, const struct rec *r, uint32_t kept, uint32_t nnew,
    bool (*replaced)(struct slice key))
{
	const struct rec_kv *kv;
	unsigned char h[5];
	size_t len = mp_map_header(h, kept + nnew);
	uint32_t k;

	memcpy(w, h, len);
	w += len;
	if (kept == r->nkeys && kept > 0) {
		len = (size_t)(r->kv[kept - 1].val + r->kv[kept - 1].vlen -
		    r->kv[0].pair);
		memcpy(w, r->kv[0].pair, len);
		return w + len;
	}
	for (k = 0; k < r->nkeys; k++) {
		kv = &r->kv[k];
		if (replaced(kv->key))
			continue;
		len = (size_t)(kv->val + kv->vlen - kv->pair);
		memcpy(w, kv->pair, len);
		w += len;
	}
	return w;
}

/*
 * As rec_get_str() on the value of kv (NULL: absent): 0 and *s, or -1.
 * Inline, with the common string headers read without mp_next(): stages
 * that find their keys in one walk (langid, reply) read values with it.
 */
static inline int
rec_kv_str(const struct rec_kv *kv, struct slice *s)
{
	const char *p;
	struct mp_val v;
	unsigned char c;

	if (kv == NULL)
		return -1;
	/* A string as mp_next() would read it, without the call. */
	c = (unsigned char)kv->val[0];
	if ((c & 0xe0) == 0xa0 && kv->vlen == 1 + (size_t)(c & 0x1f)) {
		s->p = kv->val + 1;
		s->n = c & 0x1f;
		return 0;
	}
	if (c == 0xd9 && kv->vlen >= 2 &&
	    kv->vlen == 2 + (size_t)(unsigned char)kv->val[1]) {
		s->p = kv->val + 2;
		s->n = (unsigned char)kv->val[1];
		return 0;
	}
	if (c == 0xda && kv->vlen >= 3 && kv->vlen == 3 +
	    ((size_t)(unsigned char)kv->val[1] << 8 |
	    (unsigned char)kv->val[2])) {
		s->p = kv->val + 3;
		s->n = kv->vlen - 3;
		return 0;
	}
	p = kv->val;
	if (mp_next(&p, kv->val + kv->vlen, &v) != MP_OK || v.type != MP_STR)
		return -1;
	*s = v.v.s;
	return 0;
}

/* 0 when `key` holds an integer (or an integral float), else -1. */
int	rec_get_int(const struct rec *r, const char *key, int64_t *i);
/* 0 when `key` holds a number, else -1. */
int	rec_get_float(const struct rec *r, const char *key, double *f);
/* True when `key` is present and nil. */
bool	rec_is_nil(const struct rec *r, const char *key);
/*
 * Iterate a string array: call with *it = NULL first; each call stores the
 * next string in *s and returns 1, 0 at the end, -1 when `key` is absent or
 * not an array of strings.
 */
int	rec_array_str(const struct rec *r, const char *key,
	    const char **it, struct slice *s);

/*
 * Index the map in the `n` bytes at `p` into *r (kv storage is reused and
 * grown as needed; release it with rec_release()).  Returns MP_OK, MP_SHORT
 * when the bytes end inside the map, or MP_BAD; *used is the map's size.
 * A value that is not a map, or has a non-string key, is MP_BAD with
 * *used set to its size when it could be skipped (0 otherwise).
 */
int	rec_parse(struct rec *r, const char *p, size_t n, size_t *used);
void	rec_release(struct rec *r);

/* ---- reading a stream ------------------------------------------------ */

struct rec_reader;

/* A reader over file descriptor `fd`; `name` appears in messages. */
struct rec_reader *rec_reader_new(int fd, const char *name);
void	rec_reader_free(struct rec_reader *rd);
/*
 * The next record: 1 and *r valid until the next call, 0 at a clean end of
 * stream, -1 on a read error or a malformed or truncated stream (message
 * in rec_reader_error(), the unusable tail in rec_reader_tail()).  A
 * well-formed value that is not a map of string keys returns 2: it is
 * skipped and rec_reader_tail() holds its bytes for the reject stream.
 */
int	rec_reader_next(struct rec_reader *rd, const struct rec **r);
const char *rec_reader_error(const struct rec_reader *rd);
struct slice rec_reader_tail(const struct rec_reader *rd);
/* Bytes consumed so far (the offset of the next record). */
uint64_t rec_reader_offset(const struct rec_reader *rd);
/*
 * For a stage that frames records itself (struct stage .scan): the bytes
 * buffered after the last record, reading more when none are.  Returns 1
 * with [*p, *p + *n) (n >= 1), 0 at the end of the input, -1 on a read
 * error (rec_reader_error()).  rec_reader_skip() then takes the first
 * `used` bytes as a record; rec_reader_next() reads the next record the
 * usual way (and knows every error and message).
 */
int	rec_reader_peek(struct rec_reader *rd, const char **p, size_t *n);
void	rec_reader_skip(struct rec_reader *rd, size_t used);

/* ---- writing --------------------------------------------------------- */

/*
 * Building an output record.  rec_out_begin() starts from the input record
 * `r` (its keys pass through untouched, unknown ones included) or from
 * nothing when r is NULL.  Each rec_out_* call adds one key; a key that
 * the input already has is replaced, not repeated.  The input's pairs are
 * copied as raw bytes, never unpacked and repacked.  rec_out_end() writes
 * the record to the stage's output and marks r as emitted.
 */
struct rec_out;

struct rec_out *rec_out_begin(struct stage_ctx *ctx, const struct rec *r);
void	rec_out_str(struct rec_out *o, const char *key, const char *s);
void	rec_out_strn(struct rec_out *o, const char *key, const char *s,
	    size_t n);
void	rec_out_slice(struct rec_out *o, const char *key, struct slice s);
void	rec_out_int(struct rec_out *o, const char *key, int64_t i);
void	rec_out_float(struct rec_out *o, const char *key, double f);
void	rec_out_bool(struct rec_out *o, const char *key, bool b);
void	rec_out_nil(struct rec_out *o, const char *key);
/* Add `key` with a value already packed as msgpack. */
void	rec_out_raw(struct rec_out *o, const char *key, const void *mp,
	    size_t n);
/*
 * Add `key` and return a packer on which the caller packs exactly one
 * value (an array, a map, ...) before the next rec_out_* call.
 */
msgpack_packer *rec_out_key(struct rec_out *o, const char *key);
/* Drop `key` of the input record from the output. */
void	rec_out_del(struct rec_out *o, const char *key);
/* Emit; returns 0, or -1 when the output failed (stage_fail recorded). */
int	rec_out_end(struct rec_out *o);

/* Driver internals: the builder a stage context owns. */
struct rec_out *rec_out_new(struct stage_ctx *ctx);
void	rec_out_free(struct rec_out *o);

/* Emit `r` unchanged and mark it. */
int	rec_pass(struct stage_ctx *ctx, const struct rec *r);

/* Pack a NUL-terminated or counted string with msgpack-c. */
void	mp_pack_cstr(msgpack_packer *pk, const char *s);
void	mp_pack_strn(msgpack_packer *pk, const char *s, size_t n);
/* A packer that appends to `b`. */
void	mp_packer_buf(msgpack_packer *pk, struct buf *b);

#endif
