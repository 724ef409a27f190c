/*
 * classify_json - the flat JSON objects of labelled JSON Lines files, for
 * train-classify and classify-eval.
 *
 * Only what those files hold is understood: an object whose values are
 * strings, numbers, true/false/null or arrays of strings (other arrays
 * and nested objects are skipped).  Strings are unescaped (\uXXXX with
 * surrogate pairs) into arena memory.
 */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "banned.h"

static void
cls_json_ws(const char **pp, const char *end)
{
	while (*pp < end && (**pp == ' ' || **pp == '\t' || **pp == '\r' ||
	    **pp == '\n'))
		(*pp)++;
}

static int
cls_json_hex4(const char *p, const char *end, uint32_t *v)
{
	int i;

	*v = 0;
	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t
cls_json_utf8(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* The string at *pp (on its quote), unescaped into the arena. */
static int
cls_json_str(const char **pp, const char *end, struct arena *a,
    struct slice *out)
{
	const char *p = *pp + 1;
	char *o, *o0;

	/* Unescaping never makes a string longer. */
	o = o0 = arena_alloc(a, (size_t)(end - p) + 1);
	while (p < end && *p != '"') {
		uint32_t c, lo;

		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		if (++p == end)
			return -1;
		switch (*p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (cls_json_hex4(p, end, &c) == -1)
				return -1;
			p += 4;
			if (c >= 0xd800 && c < 0xdc00 && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u' &&
			    cls_json_hex4(p + 2, end, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			} else if (c >= 0xd800 && c < 0xe000)
				c = 0xfffd;
			o += cls_json_utf8(o, c);
			break;
		default:
			return -1;
		}
	}
	if (p == end)
		return -1;
	*o = '\0';
	out->p = o0;
	out->n = (size_t)(o - o0);
	*pp = p + 1;
	return 0;
}

/* Skip any value (nested ones included). */
static int
cls_json_skip(const char **pp, const char *end, struct arena *a)
{
	struct slice s;
	int depth = 0;

	do {
		cls_json_ws(pp, end);
		if (*pp == end)
			return -1;
		switch (**pp) {
		case '"':
			if (cls_json_str(pp, end, a, &s) == -1)
				return -1;
			break;
		case '{': case '[':
			depth++;
			(*pp)++;
			break;
		case '}': case ']':
			depth--;
			(*pp)++;
			break;
		default:
			(*pp)++;
			break;
		}
	} while (depth > 0);
	return 0;
}

int
cls_json_parse(const char *p, size_t n, struct arena *a,
    struct cls_json *j)
{
	const char *end = p + n;

	j->n = 0;
	cls_json_ws(&p, end);
	if (p == end || *p != '{')
		return -1;
	p++;
	for (;;) {
		struct cls_json_kv *kv;
		struct slice key;

		cls_json_ws(&p, end);
		if (p < end && *p == '}')
			return 0;
		if (p == end || *p != '"' || cls_json_str(&p, end, a, &key))
			return -1;
		cls_json_ws(&p, end);
		if (p == end || *p++ != ':')
			return -1;
		cls_json_ws(&p, end);
		if (p == end)
			return -1;
		kv = j->n < CLS_JSON_MAXKV ? &j->kv[j->n++] : NULL;
		if (kv != NULL) {
			memset(kv, 0, sizeof(*kv));
			kv->key = key;
		}
		if (*p == '"') {
			struct slice s;

			if (cls_json_str(&p, end, a, &s) == -1)
				return -1;
			if (kv != NULL) {
				kv->type = CLS_JSON_STR;
				kv->s = s;
			}
		} else if (*p == '[') {
			const char *q = p + 1;
			size_t cap = 16;

			if (kv != NULL) {
				kv->type = CLS_JSON_ARR;
				kv->arr = arena_alloc(a,
				    cap * sizeof(*kv->arr));
			}
			for (;;) {
				cls_json_ws(&q, end);
				if (q < end && *q == ']') {
					q++;
					break;
				}
				if (q < end && *q == '"' && kv != NULL &&
				    kv->narr < cap) {
					if (cls_json_str(&q, end, a,
					    &kv->arr[kv->narr]) == -1)
						return -1;
					kv->narr++;
				} else if (cls_json_skip(&q, end, a) == -1)
					return -1;
				cls_json_ws(&q, end);
				if (q < end && *q == ',')
					q++;
			}
			p = q;
		} else if (*p == 'n' || *p == 't' || *p == 'f') {
			if (kv != NULL) {
				kv->type = *p == 'n' ? CLS_JSON_NULL :
				    CLS_JSON_NUM;
				kv->num = *p == 't';
			}
			while (p < end && *p >= 'a' && *p <= 'z')
				p++;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			char tmp[64], *e;
			size_t k = 0;

			while (p < end && k + 1 < sizeof(tmp) &&
			    strchr("+-.eE0123456789", *p) != NULL)
				tmp[k++] = *p++;
			tmp[k] = '\0';
			if (kv != NULL) {
				kv->type = CLS_JSON_NUM;
				kv->num = strtod(tmp, &e);
			}
		} else if (cls_json_skip(&p, end, a) == -1)
			return -1;
		cls_json_ws(&p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			return 0;
		return -1;
	}
}

const struct cls_json_kv *
cls_json_get(const struct cls_json *j, const char *key)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (slice_eq(j->kv[i].key, key))
			return &j->kv[i];
	return NULL;
}
