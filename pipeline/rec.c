/*
 * rec - framing, indexing and writing review records.
 *
 * Hot path of every stage: the reader frames maps in place in a large
 * buffer, the writer copies untouched pairs as raw bytes and appends new
 * ones, so a stage that adds three keys never unpacks the other twelve.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "stage.h"
#include "banned.h"

/* ---- lookup ------------------------------------------------------------ */

static const struct rec_kv *
rec_find(const struct rec *r, const char *key)
{
	size_t n = strlen(key);
	uint32_t i;

	/* Length and first byte settle most mismatches without a call. */
	for (i = 0; i < r->nkeys; i++) {
		const struct rec_kv *kv = &r->kv[i];

		if (kv->key.n == n && n > 0 && kv->key.p[0] == key[0] &&
		    memcmp(kv->key.p, key, n) == 0)
			return kv;
	}
	return NULL;
}

int
rec_get(const struct rec *r, const char *key, struct mp_val *v)
{
	const struct rec_kv *kv = rec_find(r, key);
	const char *p;

	if (kv == NULL)
		return -1;
	p = kv->val;
	return mp_next(&p, kv->val + kv->vlen, v) == MP_OK ? 0 : -1;
}

int
rec_get_raw(const struct rec *r, const char *key, struct slice *raw)
{
	const struct rec_kv *kv = rec_find(r, key);

	if (kv == NULL)
		return -1;
	raw->p = kv->val;
	raw->n = kv->vlen;
	return 0;
}

int
rec_get_str(const struct rec *r, const char *key, struct slice *s)
{
	struct mp_val v;

	if (rec_get(r, key, &v) == -1 || v.type != MP_STR)
		return -1;
	*s = v.v.s;
	return 0;
}

int
rec_get_int(const struct rec *r, const char *key, int64_t *i)
{
	struct mp_val v;

	if (rec_get(r, key, &v) == -1 || !mp_as_int(&v, i))
		return -1;
	return 0;
}

int
rec_get_float(const struct rec *r, const char *key, double *f)
{
	struct mp_val v;

	if (rec_get(r, key, &v) == -1 || !mp_as_double(&v, f))
		return -1;
	return 0;
}

bool
rec_is_nil(const struct rec *r, const char *key)
{
	struct mp_val v;

	return rec_get(r, key, &v) == 0 && v.type == MP_NIL;
}

int
rec_array_str(const struct rec *r, const char *key, const char **it,
    struct slice *s)
{
	const struct rec_kv *kv = rec_find(r, key);
	const char *end;
	struct mp_val v;

	if (kv == NULL)
		return -1;
	end = kv->val + kv->vlen;
	if (*it == NULL) {
		*it = kv->val;
		if (mp_next(it, end, &v) != MP_OK || v.type != MP_ARRAY)
			return -1;
	}
	if (*it >= end)
		return 0;
	if (mp_next(it, end, &v) != MP_OK || v.type != MP_STR)
		return -1;
	*s = v.v.s;
	return 1;
}

/* ---- parsing ----------------------------------------------------------- */

int
rec_parse(struct rec *r, const char *p, size_t n, size_t *used)
{
	const char *cur = p, *end = p + n, *pair;
	struct mp_val v;
	uint32_t i;
	unsigned char c;
	size_t len;
	int rc;

	*used = 0;
	if ((rc = mp_next(&cur, end, &v)) != MP_OK)
		return rc;
	if (v.type != MP_MAP) {
		cur = p;
		if ((rc = mp_skip(&cur, end)) != MP_OK)
			return rc;
		*used = (size_t)(cur - p);
		return MP_BAD;
	}
	/* Each pair takes two bytes at least: refuse absurd counts early. */
	if (v.v.n > (size_t)(end - cur) / 2)
		return MP_SHORT;
	if (v.v.n > r->kvcap) {
		size_t cap = r->kvcap < 16 ? 16 : r->kvcap;
		struct rec_kv *kv;

		while (cap < v.v.n)
			cap *= 2;
		if ((kv = realloc(r->kv, cap * sizeof(*kv))) == NULL)
			return MP_BAD;
		r->kv = kv;
		r->kvcap = cap;
	}
	r->nkeys = v.v.n;
	for (i = 0; i < r->nkeys; i++) {
		struct rec_kv *kv = &r->kv[i];

		pair = cur;
		c = cur < end ? (unsigned char)*cur : 0;
		/* Nearly every key is a fixstr: frame it without a call. */
		if ((c & 0xe0) == 0xa0 &&
		    (size_t)(end - cur) - 1 >= (c & 0x1f)) {
			v.type = MP_STR;
			v.v.s.p = cur + 1;
			v.v.s.n = c & 0x1f;
			cur += 1 + (c & 0x1f);
		} else if ((rc = mp_next(&cur, end, &v)) != MP_OK)
			return rc;
		if (v.type != MP_STR) {
			/* Well-formed but not ours: skip the rest of the map. */
			uint32_t left = r->nkeys - i;

			cur = pair;
			while (left-- > 0) {
				if ((rc = mp_skip_inside(&cur, end, 1)) !=
				    MP_OK ||
				    (rc = mp_skip_inside(&cur, end, 1)) != MP_OK)
					return rc;
			}
			*used = (size_t)(cur - p);
			return MP_BAD;
		}
		kv->pair = pair;
		kv->key = v.v.s;
		kv->val = cur;
		if (cur < end && (len = mp_head_size((const unsigned char *)cur,
		    (const unsigned char *)end)) != 0)
			cur += len;
		else {
			/* Only nesting needs mp_skip; the record's map is
			 * already one level open. */
			if ((rc = mp_next(&cur, end, &v)) != MP_OK)
				return rc;
			if (v.type == MP_ARRAY || v.type == MP_MAP) {
				cur = kv->val;
				if ((rc = mp_skip_inside(&cur, end, 1)) != MP_OK)
					return rc;
			}
		}
		kv->vlen = (size_t)(cur - kv->val);
	}
	r->p = p;
	r->n = (size_t)(cur - p);
	*used = r->n;
	return MP_OK;
}

void
rec_release(struct rec *r)
{
	free(r->kv);
	r->kv = NULL;
	r->kvcap = 0;
	r->nkeys = 0;
}

/* ---- reading a stream ---------------------------------------------------- */

/* Large reads keep syscalls rare; a record may not exceed the limit. */
#define READER_CHUNK	(1 << 20)
#define READER_MAX_RECORD	((size_t)256 << 20)

struct rec_reader {
	int		 fd;
	const char	*name;
	char		*buf;
	size_t		 cap, start, end;
	uint64_t	 base;		/* stream offset of buf[0] */
	uint64_t	 seq;
	bool		 eof;
	struct rec	 rec;
	struct slice	 tail;
	char		 err[256];
};

struct rec_reader *
rec_reader_new(int fd, const char *name)
{
	struct rec_reader *rd;

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return NULL;
	if ((rd->buf = malloc(READER_CHUNK)) == NULL) {
		free(rd);
		return NULL;
	}
	rd->cap = READER_CHUNK;
	rd->fd = fd;
	rd->name = name;
	return rd;
}

void
rec_reader_free(struct rec_reader *rd)
{
	if (rd == NULL)
		return;
	rec_release(&rd->rec);
	free(rd->buf);
	free(rd);
}

/* Read more bytes; 1 when some arrived, 0 at end of file, -1 on error. */
static int
reader_fill(struct rec_reader *rd)
{
	ssize_t got;

	if (rd->start > 0) {
		memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
		rd->base += rd->start;
		rd->end -= rd->start;
		rd->start = 0;
	}
	if (rd->cap - rd->end < READER_CHUNK / 4) {
		size_t cap = rd->cap * 2;
		char *p;

		if (rd->end > READER_MAX_RECORD) {
			snprintf(rd->err, sizeof(rd->err),
			    "'%s': record at byte %llu is larger than %zu MiB",
			    rd->name, (unsigned long long)rd->base,
			    READER_MAX_RECORD >> 20);
			return -1;
		}
		if ((p = realloc(rd->buf, cap)) == NULL) {
			snprintf(rd->err, sizeof(rd->err),
			    "'%s': out of memory", rd->name);
			return -1;
		}
		rd->buf = p;
		rd->cap = cap;
	}
	do
		got = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end);
	while (got == -1 && errno == EINTR);
	if (got == -1) {
		snprintf(rd->err, sizeof(rd->err), "'%s': read error: %s",
		    rd->name, strerror(errno));
		return -1;
	}
	if (got == 0) {
		rd->eof = true;
		return 0;
	}
	rd->end += (size_t)got;
	return 1;
}

int
rec_reader_next(struct rec_reader *rd, const struct rec **r)
{
	size_t used;
	int rc;

	for (;;) {
		if (rd->end > rd->start) {
			rc = rec_parse(&rd->rec, rd->buf + rd->start,
			    rd->end - rd->start, &used);
			if (rc == MP_OK) {
				rd->rec.offset = rd->base + rd->start;
				rd->rec.seq = rd->seq++;
				rd->start += used;
				*r = &rd->rec;
				return 1;
			}
			if (rc == MP_BAD && used > 0) {
				rd->tail.p = rd->buf + rd->start;
				rd->tail.n = used;
				snprintf(rd->err, sizeof(rd->err),
				    "'%s': value at byte %llu is not a map with "
				    "string keys", rd->name,
				    (unsigned long long)(rd->base + rd->start));
				rd->seq++;
				rd->start += used;
				return 2;
			}
			if (rc == MP_BAD) {
				rd->tail.p = rd->buf + rd->start;
				rd->tail.n = rd->end - rd->start;
				snprintf(rd->err, sizeof(rd->err),
				    "'%s': malformed msgpack in the record at "
				    "byte %llu", rd->name,
				    (unsigned long long)(rd->base + rd->start));
				return -1;
			}
		} else if (rd->eof)
			return 0;
		if (rd->eof) {
			rd->tail.p = rd->buf + rd->start;
			rd->tail.n = rd->end - rd->start;
			snprintf(rd->err, sizeof(rd->err),
			    "'%s': stream ends inside the record at byte %llu "
			    "(%zu bytes, truncated)", rd->name,
			    (unsigned long long)(rd->base + rd->start),
			    rd->end - rd->start);
			return -1;
		}
		if (reader_fill(rd) == -1)
			return -1;
	}
}

const char *
rec_reader_error(const struct rec_reader *rd)
{
	return rd->err;
}

struct slice
rec_reader_tail(const struct rec_reader *rd)
{
	return rd->tail;
}

uint64_t
rec_reader_offset(const struct rec_reader *rd)
{
	return rd->base + rd->start;
}

int
rec_reader_peek(struct rec_reader *rd, const char **p, size_t *n)
{
	int rc;

	while (rd->end == rd->start)
		if ((rc = reader_fill(rd)) != 1)
			return rc;
	*p = rd->buf + rd->start;
	*n = rd->end - rd->start;
	return 1;
}

void
rec_reader_skip(struct rec_reader *rd, size_t used)
{
	rd->start += used;
	rd->seq++;
}

/* ---- writing ------------------------------------------------------------- */

#define REC_OUT_MAXKEYS	64

struct rec_out {
	struct stage_ctx *ctx;
	const struct rec *in;
	struct buf	 pairs;		/* new pairs, packed */
	struct buf	 rec;		/* the finished record */
	msgpack_packer	 pk;
	uint32_t	 nnew, ndel;
	uint64_t	 keybits;	/* key_bit() of every new and deleted key */
	struct slice	 newkeys[REC_OUT_MAXKEYS];	/* key names, borrowed */
	struct slice	 delkeys[REC_OUT_MAXKEYS];
};

/*
 * One bit per key from its length and first and last bytes: most input
 * keys are neither replaced nor deleted, and their bit says so at once.
 */
static inline uint64_t
key_bit(struct slice k)
{
	unsigned h;

	if (k.n == 0)
		return 1;
	h = (unsigned)k.n * 7u + (unsigned char)k.p[0] * 3u +
	    (unsigned char)k.p[k.n - 1];
	return (uint64_t)1 << (h & 63);
}

static int
buf_write_cb(void *data, const char *p, size_t n)
{
	struct buf *b = data;
	size_t i;

	if (b->cap - b->len <= n)
		buf_grow(b, n);
	/* msgpack-c writes headers of 1 to 9 bytes: no memcpy call. */
	if (n <= 9)
		for (i = 0; i < n; i++)
			b->p[b->len + i] = p[i];
	else
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void
mp_packer_buf(msgpack_packer *pk, struct buf *b)
{
	msgpack_packer_init(pk, b, buf_write_cb);
}

void
mp_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	struct buf *b = pk->data;
	unsigned char *h;
	size_t k;

	if (pk->callback != buf_write_cb) {
		msgpack_pack_str(pk, n);
		msgpack_pack_str_body(pk, s, n);
		return;
	}
	/* Into a buf: msgpack-c's header choice, one copy, no callbacks. */
	if (b->cap - b->len <= n + 5)
		buf_grow(b, n + 5);
	h = (unsigned char *)b->p + b->len;
	k = mp_str_header(h, n);
	if (n > 0)
		memcpy(h + k, s, n);
	b->len += k + n;
	b->p[b->len] = '\0';
}

void
mp_pack_cstr(msgpack_packer *pk, const char *s)
{
	mp_pack_strn(pk, s, strlen(s));
}

struct rec_out *
rec_out_new(struct stage_ctx *ctx)
{
	struct rec_out *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->ctx = ctx;
	buf_init(&o->pairs);
	buf_init(&o->rec);
	mp_packer_buf(&o->pk, &o->pairs);
	return o;
}

void
rec_out_free(struct rec_out *o)
{
	if (o == NULL)
		return;
	buf_release(&o->pairs);
	buf_release(&o->rec);
	free(o);
}

struct rec_out *
rec_out_begin(struct stage_ctx *ctx, const struct rec *r)
{
	struct rec_out *o = stage_rec_out(ctx);

	o->in = r;
	o->nnew = 0;
	o->ndel = 0;
	o->keybits = 0;
	buf_reset(&o->pairs);
	return o;
}

msgpack_packer *
rec_out_key(struct rec_out *o, const char *key)
{
	size_t n = strlen(key);

	if (o->nnew == REC_OUT_MAXKEYS) {
		/* A programming error, not a data error: stop loudly. */
		fprintf(stderr, "revpipe: more than %d new keys in a record\n",
		    REC_OUT_MAXKEYS);
		abort();
	}
	o->newkeys[o->nnew].p = key;
	o->newkeys[o->nnew].n = n;
	o->keybits |= key_bit(o->newkeys[o->nnew]);
	o->nnew++;
	mp_pack_strn(&o->pk, key, n);
	return &o->pk;
}

void
rec_out_str(struct rec_out *o, const char *key, const char *s)
{
	mp_pack_cstr(rec_out_key(o, key), s);
}

void
rec_out_strn(struct rec_out *o, const char *key, const char *s, size_t n)
{
	mp_pack_strn(rec_out_key(o, key), s, n);
}

void
rec_out_slice(struct rec_out *o, const char *key, struct slice s)
{
	mp_pack_strn(rec_out_key(o, key), s.p, s.n);
}

void
rec_out_int(struct rec_out *o, const char *key, int64_t i)
{
	msgpack_pack_int64(rec_out_key(o, key), i);
}

void
rec_out_float(struct rec_out *o, const char *key, double f)
{
	msgpack_pack_double(rec_out_key(o, key), f);
}

void
rec_out_bool(struct rec_out *o, const char *key, bool b)
{
	msgpack_packer *pk = rec_out_key(o, key);

	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
rec_out_nil(struct rec_out *o, const char *key)
{
	msgpack_pack_nil(rec_out_key(o, key));
}

void
rec_out_raw(struct rec_out *o, const char *key, const void *mp, size_t n)
{
	rec_out_key(o, key);
	buf_add(&o->pairs, mp, n);
}

void
rec_out_del(struct rec_out *o, const char *key)
{
	if (o->ndel < REC_OUT_MAXKEYS) {
		o->delkeys[o->ndel] = slice_from(key);
		o->keybits |= key_bit(o->delkeys[o->ndel]);
		o->ndel++;
	}
}

/* Is input key `k` replaced by a new key or deleted? */
static bool
rec_out_dropped(const struct rec_out *o, struct slice k)
{
	uint32_t i;

	if ((o->keybits & key_bit(k)) == 0)
		return false;
	for (i = 0; i < o->nnew; i++)
		if (slice_same(o->newkeys[i], k))
			return true;
	for (i = 0; i < o->ndel; i++)
		if (slice_same(o->delkeys[i], k))
			return true;
	return false;
}

static void
pack_map_header(struct buf *b, uint32_t n)
{
	unsigned char h[5];

	buf_add(b, h, mp_map_header(h, n));
}

int
rec_out_end(struct rec_out *o)
{
	const struct rec *in = o->in;
	const char *run = NULL, *runend = NULL;
	uint32_t i, kept = 0;

	buf_reset(&o->rec);
	if (in != NULL && in->nkeys > 0) {
		/* Count first: the header comes before the pairs. */
		for (i = 0; i < in->nkeys; i++)
			if (o->nnew + o->ndel == 0 ||
			    !rec_out_dropped(o, in->kv[i].key))
				kept++;
	}
	pack_map_header(&o->rec, kept + o->nnew);
	if (in != NULL && kept == in->nkeys && kept > 0) {
		run = in->kv[0].pair;
		runend = in->kv[kept - 1].val + in->kv[kept - 1].vlen;
		buf_add(&o->rec, run, (size_t)(runend - run));
	} else if (in != NULL) {
		for (i = 0; i < in->nkeys; i++) {
			const struct rec_kv *kv = &in->kv[i];

			if (rec_out_dropped(o, kv->key))
				continue;
			buf_add(&o->rec, kv->pair,
			    (size_t)(kv->val + kv->vlen - kv->pair));
		}
	}
	buf_add(&o->rec, o->pairs.p, o->pairs.len);
	return stage_emit(o->ctx, o->rec.p, o->rec.len);
}

int
rec_pass(struct stage_ctx *ctx, const struct rec *r)
{
	return stage_emit(ctx, r->p, r->n);
}
