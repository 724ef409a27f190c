/*
 * stats_read - the facts stats takes from a record, two ways.
 *
 * stats_rec_of() reads them from a record the driver framed and indexed
 * (struct rec).  stats_scan() reads the msgpack bytes of a record
 * directly, in one pass that frames the map, picks the keys stats needs
 * and steps over the rest (the texts of a reply are most of a record's
 * bytes) by their headers alone.  It knows the common shapes only:
 * anything else makes it return 0, and the caller hands the bytes to
 * rec_parse() and stats_rec_of(), so both ways give the same facts and
 * malformed input the same verdict (stats_test.c holds them together).
 */
#include <string.h>

#include "mp.h"
#include "rec.h"
#include "stats.h"
#include "banned.h"

/* ---- from an indexed record ---------------------------------------------- */

/*
 * The value of a pair as a string: fixstr and str8 (nearly every key and
 * short value) are read in place, anything else through mp_next().
 * Returns false when the value is not a string.
 */
static inline bool
val_str(const char *p, size_t n, struct slice *s)
{
	const unsigned char *u = (const unsigned char *)p;
	struct mp_val v;

	if (n >= 1 && (u[0] & 0xe0) == 0xa0 && (size_t)(u[0] & 0x1f) < n) {
		*s = (struct slice){ p + 1, u[0] & 0x1f };
		return true;
	}
	if (n >= 2 && u[0] == 0xd9 && (size_t)u[1] + 2 <= n) {
		*s = (struct slice){ p + 2, u[1] };
		return true;
	}
	if (mp_next(&p, p + n, &v) != MP_OK || v.type != MP_STR)
		return false;
	*s = v.v.s;
	return true;
}

/*
 * Up to `max` strings of the array in the value bytes [p, p + n) into v:
 * the strings before the first element that is not one (as
 * rec_array_str() reads them).
 */
static size_t
val_strs(const char *p, size_t n, struct slice *v, size_t max)
{
	const char *end = p + n;
	const unsigned char *u;
	struct mp_val a;
	size_t k = 0;

	if (n >= 1 && ((unsigned char)p[0] & 0xf0) == 0x90)
		p++;
	else if (mp_next(&p, end, &a) != MP_OK || a.type != MP_ARRAY)
		return 0;
	while (k < max && p < end) {
		u = (const unsigned char *)p;
		if ((u[0] & 0xe0) == 0xa0 && (size_t)(u[0] & 0x1f) <
		    (size_t)(end - p)) {
			v[k++] = (struct slice){ p + 1, u[0] & 0x1f };
			p += 1 + (u[0] & 0x1f);
		} else if (u[0] == 0xd9 && end - p >= 2 &&
		    (size_t)u[1] + 2 <= (size_t)(end - p)) {
			v[k++] = (struct slice){ p + 2, u[1] };
			p += 2 + u[1];
		} else if (mp_next(&p, end, &a) == MP_OK && a.type == MP_STR)
			v[k++] = a.v.s;
		else
			break;
	}
	return k;
}

/*
 * Keep the buyer's words of an evidence list: classify appends its
 * features as "name=value" ("stars=1", "model=neg 0.93"; see
 * docs/classify.md), which say nothing in a table of what buyers
 * complain about.
 */
static size_t
buyer_words(struct slice *v, size_t n)
{
	size_t i, k;

	for (i = k = 0; i < n; i++) {
		/* "stars=", "template=", "model=", "rule=", "lang=" and
		 * at least one byte after the '='. */
		switch (v[i].n > 5 ? v[i].p[0] : 0) {
		case 's':
			if (v[i].n > 6 && memcmp(v[i].p, "stars=", 6) == 0)
				continue;
			break;
		case 't':
			if (v[i].n > 9 && memcmp(v[i].p, "template=", 9) == 0)
				continue;
			break;
		case 'm':
			if (v[i].n > 6 && memcmp(v[i].p, "model=", 6) == 0)
				continue;
			break;
		case 'r':
			if (memcmp(v[i].p, "rule=", 5) == 0)
				continue;
			break;
		case 'l':
			if (memcmp(v[i].p, "lang=", 5) == 0)
				continue;
			break;
		}
		v[k++] = v[i];
	}
	return k;
}

/*
 * Bytes of the string at p (header and payload) when it is one whose
 * header tells (fixstr, str8, str16) and it fits before end, else 0.
 */
static inline size_t
str_size(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t avail = (size_t)(end - p), n;

	if (avail == 0)
		return 0;
	if ((u[0] & 0xe0) == 0xa0)
		n = 1 + (u[0] & 0x1f);
	else if (u[0] == 0xd9 && avail >= 2)
		n = 2 + (size_t)u[1];
	else if (u[0] == 0xda && avail >= 3)
		n = 3 + ((size_t)u[1] << 8 | u[2]);
	else
		return 0;
	return n <= avail ? n : 0;
}

/*
 * Bytes of the value at p when it is a scalar or a short array of
 * strings that fits before end (nearly all of a reply), else 0: then
 * mp_skip() frames it.
 */
static size_t
val_size(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t avail = (size_t)(end - p), n, k, e;

	if (avail == 0)
		return 0;
	if ((u[0] & 0xf0) != 0x90)
		return mp_head_size(u, (const unsigned char *)end);
	for (n = 1, k = 0; k < (size_t)(u[0] & 0x0f); k++, n += e)
		if ((e = str_size(p + n, end)) == 0)
			return 0;
	return n <= avail ? n : 0;
}

/* reply.action (the last string) and reply.due_at (the last integer). */
static void
get_reply(const char *val, size_t vlen, struct stats_rec *sr)
{
	struct mp_val m, v;
	struct slice k;
	const char *p, *end;
	uint32_t i;
	size_t n;

	p = val;
	end = val + vlen;
	if (mp_next(&p, end, &m) != MP_OK || m.type != MP_MAP)
		return;
	for (i = 0; i < m.v.n; i++) {
		/* Keys are short strings; most values are strings too. */
		if (p < end && ((unsigned char)*p & 0xe0) == 0xa0 &&
		    (n = str_size(p, end)) != 0) {
			k = (struct slice){ p + 1, n - 1 };
			p += n;
		} else if (mp_next(&p, end, &v) != MP_OK || v.type != MP_STR)
			return;
		else
			k = v.v.s;
		if (k.n == 6 && (memcmp(k.p, "due_at", 6) == 0 ||
		    memcmp(k.p, "action", 6) == 0)) {
			if (mp_next(&p, end, &v) != MP_OK)
				return;
			if (k.p[0] == 'a' && v.type == MP_STR) {
				sr->action = v.v.s;
				sr->has_action = true;
			} else if (k.p[0] == 'd' && mp_as_int(&v, &sr->due))
				sr->has_due = true;
		} else if ((n = val_size(p, end)) != 0)
			p += n;
		else if (mp_skip(&p, end) != MP_OK)
			return;
	}
}

/* The keys stats reads; a record's first pair with the key counts. */
enum {
	SK_PLATFORM, SK_SELLER, SK_BUYER, SK_LANG, SK_SENTIMENT, SK_KIND,
	SK_RATING, SK_CREATED, SK_SCORE, SK_TOPICS, SK_EVIDENCE, SK_REPLY,
	SK_N
};

/*
 * n bytes at a equal the literal b (n is a constant at every use: the
 * loads fold to one or two compares, where memcmp() would be a call).
 */
static inline __attribute__((always_inline)) bool
key_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y, x2, y2;
	uint32_t u, v, u2, v2;

	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&x2, a + n - 8, 8);
		memcpy(&y2, b + n - 8, 8);
		return x == y && x2 == y2;
	}
	memcpy(&u, a, 4);
	memcpy(&v, b, 4);
	memcpy(&u2, a + n - 4, 4);
	memcpy(&v2, b + n - 4, 4);
	return u == v && u2 == v2;
}

#define KEYIS(k, n, lit)	((n) == sizeof(lit) - 1 && \
	key_eq((k), lit, sizeof(lit) - 1))

/* Which of the SK_* keys the n bytes at k name, or -1. */
static inline __attribute__((always_inline)) int
key_of(const char *k, size_t n)
{
	switch (n) {
	case 4:
		return KEYIS(k, n, "lang") ? SK_LANG : KEYIS(k, n, "kind") ?
		    SK_KIND : -1;
	case 5:
		return KEYIS(k, n, "buyer") ? SK_BUYER : KEYIS(k, n,
		    "reply") ? SK_REPLY : -1;
	case 6:
		return KEYIS(k, n, "seller") ? SK_SELLER : KEYIS(k, n,
		    "rating") ? SK_RATING : KEYIS(k, n, "topics") ?
		    SK_TOPICS : -1;
	case 8:
		return KEYIS(k, n, "platform") ? SK_PLATFORM :
		    KEYIS(k, n, "evidence") ? SK_EVIDENCE : -1;
	case 9:
		return KEYIS(k, n, "sentiment") ? SK_SENTIMENT : -1;
	case 10:
		return KEYIS(k, n, "created_at") ? SK_CREATED :
		    KEYIS(k, n, "sent_score") ? SK_SCORE : -1;
	default:
		return -1;
	}
}

/* rating: 1..5, else 0 (absent, not an integer, out of range). */
static inline int64_t
rating_of(const struct mp_val *v)
{
	int64_t r;

	return mp_as_int(v, &r) && r >= 1 && r <= 5 ? r : 0;
}

/* sent_score in micro-units when it is a number in [-1, 1]. */
static inline bool
score_of(const struct mp_val *v, int64_t *micro)
{
	double score;

	if (!mp_as_double(v, &score) || !(score >= -1.0 && score <= 1.0))
		return false;
	*micro = (int64_t)(score * 1e6 + (score < 0 ? -0.5 : 0.5));
	return true;
}

void
stats_rec_of(const struct rec *r, struct stats_rec *sr, struct slice *topics,
    struct slice *evidence)
{
	const struct rec_kv *kv[SK_N];
	struct mp_val v;
	const char *p;
	uint32_t i;
	int k;

	/* One walk over the record's index instead of a lookup per key. */
	memset(kv, 0, sizeof(kv));
	for (i = 0; i < r->nkeys; i++)
		if ((k = key_of(r->kv[i].key.p, r->kv[i].key.n)) != -1 &&
		    kv[k] == NULL)
			kv[k] = &r->kv[i];
	memset(sr, 0, sizeof(*sr));
#define GETSTR(key, field, has)	\
	(sr->has = kv[key] != NULL && val_str(kv[key]->val, kv[key]->vlen, \
	    &sr->field))
	GETSTR(SK_PLATFORM, platform, has_platform);
	GETSTR(SK_SELLER, seller, has_seller);
	GETSTR(SK_BUYER, buyer, has_buyer);
	GETSTR(SK_LANG, lang, has_lang);
	GETSTR(SK_SENTIMENT, sentiment, has_sentiment);
	GETSTR(SK_KIND, kind, has_kind);
#undef GETSTR
#define GETNUM(key)	(kv[key] != NULL && (p = kv[key]->val, \
	mp_next(&p, p + kv[key]->vlen, &v) == MP_OK))
	if (GETNUM(SK_RATING))
		sr->rating = rating_of(&v);
	sr->has_created = GETNUM(SK_CREATED) && mp_as_int(&v, &sr->created);
	sr->has_score = GETNUM(SK_SCORE) && score_of(&v, &sr->score_micro);
#undef GETNUM
	sr->topics = topics;
	if (kv[SK_TOPICS] != NULL)
		sr->ntopics = val_strs(kv[SK_TOPICS]->val, kv[SK_TOPICS]->vlen,
		    topics, STATS_MAXLIST);
	sr->evidence = evidence;
	if (kv[SK_EVIDENCE] != NULL)
		sr->nevidence = buyer_words(evidence, val_strs(
		    kv[SK_EVIDENCE]->val, kv[SK_EVIDENCE]->vlen, evidence,
		    STATS_MAXLIST));
	if (kv[SK_REPLY] != NULL)
		get_reply(kv[SK_REPLY]->val, kv[SK_REPLY]->vlen, sr);
}

/* ---- from the bytes ---------------------------------------------------- */

/*
 * Nesting the scan follows below the record's map: a reply's template
 * list is two levels down.  Deeper values go the slow way.
 */
#define SCAN_DEPTH	4

static size_t	scan_skip(const unsigned char *, const unsigned char *, int);

/*
 * Bytes of the value at p (p < end): strings and small integers, nearly
 * every value, here; the rest in scan_skip().  0 when the scan does not
 * know the value or it does not fit before end.
 */
static inline size_t
skip1(const unsigned char *p, const unsigned char *end, int depth)
{
	size_t avail = (size_t)(end - p), n;
	unsigned c = p[0];

	if ((c & 0xe0) == 0xa0)
		n = 1 + (c & 0x1f);
	else if (c == 0xd9 && avail >= 2)
		n = 2 + (size_t)p[1];
	else if (c == 0xda && avail >= 3)
		n = 3 + (size_t)mp_be16(p + 1);
	else if (c <= 0x7f)
		return 1;
	else
		return scan_skip(p, end, depth);
	return n <= avail ? n : 0;
}

/*
 * Bytes of the value at p when it and everything in it are kinds the
 * scan knows (nil, booleans, numbers, strings up to str16, arrays and
 * maps up to 16-bit counts, `depth` levels deep) and fit before end;
 * else 0.
 */
static size_t
scan_skip(const unsigned char *p, const unsigned char *end, int depth)
{
	static const unsigned char num[10] = { 5, 9, 2, 3, 5, 9, 2, 3, 5, 9 };
	size_t avail = (size_t)(end - p), n, cnt, i, e;
	unsigned c;

	if (avail == 0)
		return 0;
	c = p[0];
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 1;
	if ((c & 0xe0) == 0xa0)
		n = 1 + (c & 0x1f);
	else if (c == 0xd9)
		n = avail >= 2 ? 2 + (size_t)p[1] : 0;
	else if (c == 0xda)
		n = avail >= 3 ? 3 + (size_t)mp_be16(p + 1) : 0;
	else if (c >= 0xca && c <= 0xd3)
		n = num[c - 0xca];
	else if (c <= 0x9f || c == 0xdc || c == 0xde) {
		if (depth == 0)
			return 0;
		if (c <= 0x9f) {
			cnt = c & 0x0f;
			n = 1;
		} else if (avail >= 3) {
			cnt = mp_be16(p + 1);
			n = 3;
		} else
			return 0;
		if (c <= 0x8f || c == 0xde)
			cnt *= 2;
		for (i = 0; i < cnt; i++, n += e)
			if (n >= avail ||
			    (e = skip1(p + n, end, depth - 1)) == 0)
				return 0;
		return n;
	} else
		return 0;
	return n != 0 && n <= avail ? n : 0;
}

/*
 * A string value (fixstr, str8, str16) into *s and *has; any other value
 * the scan knows leaves *has false.  Bytes of the value, or 0.
 */
static inline size_t
scan_str(const unsigned char *p, const unsigned char *end, struct slice *s,
    bool *has)
{
	size_t avail = (size_t)(end - p), n, h;
	unsigned c = p[0];

	if ((c & 0xe0) == 0xa0) {
		h = 1;
		n = c & 0x1f;
	} else if (c == 0xd9 && avail >= 2) {
		h = 2;
		n = p[1];
	} else if (c == 0xda && avail >= 3) {
		h = 3;
		n = mp_be16(p + 1);
	} else {
		*has = false;
		return scan_skip(p, end, SCAN_DEPTH);
	}
	if (avail - h < n)
		return 0;
	*s = (struct slice){ (const char *)p + h, n };
	*has = true;
	return h + n;
}

/*
 * The value at p as mp_next() reads it, for the numbers: bytes of the
 * whole value, or 0.
 */
static inline size_t
scan_num(const unsigned char *p, const unsigned char *end, struct mp_val *v)
{
	const char *q = (const char *)p;
	union { uint64_t u; double f; } f64;
	size_t n;

	if (p[0] <= 0x7f) {
		v->type = MP_UINT;
		v->v.u = p[0];
		return 1;
	}
	if (p[0] == 0xce && end - p >= 5) {
		v->type = MP_UINT;
		v->v.u = mp_be32(p + 1);
		return 5;
	}
	if (p[0] == 0xcb && end - p >= 9) {
		f64.u = (uint64_t)mp_be32(p + 1) << 32 | mp_be32(p + 5);
		v->type = MP_FLOAT;
		v->v.f = f64.f;
		return 9;
	}
	if ((n = scan_skip(p, end, SCAN_DEPTH)) == 0 ||
	    mp_next(&q, q + n, v) != MP_OK)
		return 0;
	return n;
}

/*
 * topics and evidence: the strings before the first element that is not
 * one, at most STATS_MAXLIST, into v and *k (as val_strs()).
 */
static size_t
scan_strs(const unsigned char *p, const unsigned char *end, struct slice *v,
    size_t *k)
{
	size_t avail = (size_t)(end - p), n, cnt, i, e, len;
	bool more = true;
	unsigned c = p[0];

	if ((c & 0xf0) == 0x90) {
		cnt = c & 0x0f;
		n = 1;
	} else if (c == 0xdc && avail >= 3) {
		cnt = mp_be16(p + 1);
		n = 3;
	} else
		return scan_skip(p, end, SCAN_DEPTH);
	for (i = 0; i < cnt; i++, n += e) {
		if (n >= avail)
			return 0;
		c = p[n];
		if (more && (c & 0xe0) == 0xa0) {
			len = c & 0x1f;
			e = 1 + len;
		} else if (more && c == 0xd9 && avail - n >= 2) {
			len = p[n + 1];
			e = 2 + len;
		} else if (more && c == 0xda && avail - n >= 3) {
			len = mp_be16(p + n + 1);
			e = 3 + len;
		} else {
			more = false;
			if ((e = skip1(p + n, end, SCAN_DEPTH - 1)) == 0)
				return 0;
			continue;
		}
		if (e > avail - n)
			return 0;
		v[(*k)++] = (struct slice){ (const char *)p + n + e - len, len };
		more = *k < STATS_MAXLIST;
	}
	return n;
}

/* reply.action and reply.due_at (as get_reply()); bytes, or 0. */
static size_t
scan_reply(const unsigned char *p, const unsigned char *end,
    struct stats_rec *sr)
{
	size_t avail = (size_t)(end - p), n, cnt, i, e, kl;
	const unsigned char *k;
	struct mp_val v;
	bool has = false;
	unsigned c = p[0];

	if ((c & 0xf0) == 0x80) {
		cnt = c & 0x0f;
		n = 1;
	} else if (c == 0xde && avail >= 3) {
		cnt = mp_be16(p + 1);
		n = 3;
	} else
		return scan_skip(p, end, SCAN_DEPTH);
	for (i = 0; i < cnt; i++, n += e) {
		/* A key and a value's first byte. */
		if (n >= avail || (p[n] & 0xe0) != 0xa0 ||
		    (kl = p[n] & 0x1f) + 1 >= avail - n)
			return 0;
		k = p + n + 1;
		n += 1 + kl;
		c = p[n];
		if (kl != 6 || (!key_eq((const char *)k, "action", 6) &&
		    !key_eq((const char *)k, "due_at", 6))) {
			if ((e = skip1(p + n, end, SCAN_DEPTH - 1)) == 0)
				return 0;
			continue;
		}
		/* get_reply() reads only the header of an array or map. */
		if ((c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf))
			return 0;
		if (k[0] == 'a') {
			e = scan_str(p + n, end, &v.v.s, &has);
			if (has) {
				sr->action = v.v.s;
				sr->has_action = true;
			}
		} else if ((e = scan_num(p + n, end, &v)) != 0 &&
		    mp_as_int(&v, &sr->due))
			sr->has_due = true;
		if (e == 0)
			return 0;
	}
	return n;
}

size_t
stats_scan(const char *rp, const char *rend, struct stats_rec *sr,
    struct slice *topics, struct slice *evidence)
{
	const unsigned char *p = (const unsigned char *)rp;
	const unsigned char *end = (const unsigned char *)rend;
	size_t npairs, kl, e, nev = 0;
	unsigned seen = 0;
	struct mp_val v;
	int k;

	memset(sr, 0, sizeof(*sr));
	sr->topics = topics;
	sr->evidence = evidence;
	if (p >= end)
		return 0;
	if ((p[0] & 0xf0) == 0x80) {
		npairs = p[0] & 0x0f;
		p++;
	} else if (p[0] == 0xde && end - p >= 3) {
		npairs = mp_be16(p + 1);
		p += 3;
	} else
		return 0;
	for (; npairs > 0; npairs--, p += e) {
		/* A fixstr key and the value's first byte. */
		if (p >= end || (p[0] & 0xe0) != 0xa0 ||
		    (kl = p[0] & 0x1f) + 1 >= (size_t)(end - p))
			return 0;
		k = key_of((const char *)p + 1, kl);
		p += 1 + kl;
		if (k == -1 || (seen & 1u << k) != 0) {
			if ((e = skip1(p, end, SCAN_DEPTH)) == 0)
				return 0;
			continue;
		}
		seen |= 1u << k;
		switch (k) {
		case SK_PLATFORM:
			e = scan_str(p, end, &sr->platform, &sr->has_platform);
			break;
		case SK_SELLER:
			e = scan_str(p, end, &sr->seller, &sr->has_seller);
			break;
		case SK_BUYER:
			e = scan_str(p, end, &sr->buyer, &sr->has_buyer);
			break;
		case SK_LANG:
			e = scan_str(p, end, &sr->lang, &sr->has_lang);
			break;
		case SK_SENTIMENT:
			e = scan_str(p, end, &sr->sentiment,
			    &sr->has_sentiment);
			break;
		case SK_KIND:
			e = scan_str(p, end, &sr->kind, &sr->has_kind);
			break;
		case SK_RATING:
			if ((e = scan_num(p, end, &v)) != 0)
				sr->rating = rating_of(&v);
			break;
		case SK_CREATED:
			if ((e = scan_num(p, end, &v)) != 0)
				sr->has_created = mp_as_int(&v, &sr->created);
			break;
		case SK_SCORE:
			if ((e = scan_num(p, end, &v)) != 0)
				sr->has_score = score_of(&v, &sr->score_micro);
			break;
		case SK_TOPICS:
			e = scan_strs(p, end, topics, &sr->ntopics);
			break;
		case SK_EVIDENCE:
			e = scan_strs(p, end, evidence, &nev);
			break;
		default:
			e = scan_reply(p, end, sr);
			break;
		}
		if (e == 0)
			return 0;
	}
	sr->nevidence = buyer_words(evidence, nev);
	return (size_t)((const char *)p - rp);
}
