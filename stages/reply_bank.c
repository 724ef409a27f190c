/*
 * reply_bank - phrase banks of the reply stage: parse a bank file into
 * slots of variants, pick a variant by hash, match folded stems.
 *
 * The format is in models/reply/README.md.  A bank is parsed once at
 * init; variants point into the model bytes, which live for the whole
 * run, so only the index arrays and folded stems are allocated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

static const char *const topic_names[RT_COUNT] = {
#define REPLY_T(t) #t,
	REPLY_TOPICS(REPLY_T)
#undef REPLY_T
	"none"
};

static const char *const slot_names[RS_COUNT] = {
#define REPLY_S(id, name) name,
	REPLY_SLOTS(REPLY_S)
#undef REPLY_S
};

enum reply_topic
reply_topic_from(struct slice s)
{
	int t;

	for (t = 0; t < RT_NONE; t++)
		if (slice_eq(s, topic_names[t]))
			return t;
	return RT_NONE;
}

const char *
reply_topic_name(enum reply_topic t)
{
	return t < RT_COUNT ? topic_names[t] : "none";
}

/* Does slot name `name` equal "a" "." "b" [ "." "c" [ "." "d" ]]? */
static bool
name_is(struct slice name, const char *a, const char *b, const char *c,
    const char *d)
{
	const char *part[4] = { a, b, c, d };
	size_t i, k, at = 0;

	/* Piece by piece: snprintf here was most of reply's start-up. */
	for (i = 0; i < 4 && part[i] != NULL; i++) {
		if (i > 0) {
			if (at == name.n || name.p[at] != '.')
				return false;
			at++;
		}
		k = strlen(part[i]);
		if (name.n - at < k || memcmp(name.p + at, part[i], k) != 0)
			return false;
		at += k;
	}
	return at == name.n;
}

static int
family_of(struct slice name, enum reply_topic *topic)
{
	int t;

	for (t = 0; t < RT_COUNT; t++) {
		*topic = t;
		if (name_is(name, "ack", topic_names[t], NULL, NULL))
			return RF_ACK;
		if (name_is(name, "remedy", topic_names[t], NULL, NULL))
			return RF_REMEDY;
		if (name_is(name, "remedy", topic_names[t], "norefund", NULL))
			return RF_REMEDY_NOREFUND;
		if (name_is(name, "remedy", topic_names[t], "norev", NULL))
			return RF_REMEDY_NOREV;
		if (name_is(name, "remedy", topic_names[t], "norefund",
		    "norev"))
			return RF_REMEDY_NOREFUND_NOREV;
		if (name_is(name, "liked", topic_names[t], NULL, NULL))
			return RF_LIKED;
		if (name_is(name, "check.topic", topic_names[t], NULL, NULL))
			return RF_CHECK_TOPIC;
	}
	return -1;
}

/* Stems of detect and check slots are matched folded: fold them once. */
static bool
is_stem_slot(struct slice name)
{
	return (name.n > 7 && memcmp(name.p, "detect.", 7) == 0) ||
	    (name.n > 6 && memcmp(name.p, "check.", 6) == 0);
}

static char *
fold_copy(struct arena *a, const char *p, size_t n, size_t *outn)
{
	struct buf b = BUF_INIT;
	char *s;

	reply_fold(&b, p, n);
	s = arena_strndup(a, b.p, b.len);
	*outn = b.len;
	buf_release(&b);
	return s;
}

/*
 * "LANG/name." for the template ids of slot s, in b->mem; a long name is
 * cut to keep an id under 96 bytes.  0, or -1 out of memory.
 */
static int
tmpl_prefix(struct reply_bank *b, struct reply_slotv *s)
{
	size_t langlen = strlen(b->lang), name = s->namelen;
	char *p;

	if (name > 96 - langlen - 16)
		name = 96 - langlen - 16;
	if ((p = arena_alloc(&b->mem, langlen + name + 2)) == NULL)
		return -1;
	memcpy(p, b->lang, langlen);
	p[langlen] = '/';
	memcpy(p + langlen + 1, s->name, name);
	p[langlen + 1 + name] = '.';
	s->tmpl = p;
	s->tmpllen = (uint32_t)(langlen + name + 2);
	return 0;
}

int
reply_bank_load(struct reply_bank *b, const char *lang, const char *p,
    size_t n, char *err, size_t errlen)
{
	const char *end = p + n, *line, *eol, *q;
	size_t vcap = 0, scap = 0, mcap = 0, len, lineno = 0;
	struct reply_slotv *cur = NULL;
	struct slice name;
	enum reply_topic topic;
	int i, f, t;

	memset(b, 0, sizeof(*b));
	snprintf(b->lang, sizeof(b->lang), "%s", lang);
	for (i = 0; i < RS_COUNT; i++)
		b->fixed[i] = -1;
	for (f = 0; f < RF_COUNT; f++)
		for (t = 0; t < RT_COUNT; t++)
			b->family[f][t] = -1;

	for (line = p; line < end; line = eol + 1) {
		lineno++;
		if ((eol = memchr(line, '\n', end - line)) == NULL)
			eol = end;
		len = eol - line;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (line[0] == '[') {
			if (len < 3 || line[len - 1] != ']') {
				snprintf(err, errlen, "%s bank line %zu: bad "
				    "slot header", lang, lineno);
				return -1;
			}
			if (b->nslots == scap) {
				scap = scap ? scap * 2 : 64;
				b->slots = realloc(b->slots,
				    scap * sizeof(*b->slots));
				if (b->slots == NULL)
					goto nomem;
			}
			cur = &b->slots[b->nslots];
			cur->name = line + 1;
			cur->namelen = len - 2;
			cur->first = b->nvars;
			cur->n = 0;
			name.p = cur->name;
			name.n = cur->namelen;
			for (i = 0; i < RS_COUNT; i++)
				if (slice_eq(name, slot_names[i]))
					b->fixed[i] = b->nslots;
			if ((f = family_of(name, &topic)) != -1)
				b->family[f][topic] = b->nslots;
			b->nslots++;
			continue;
		}
		if (cur == NULL) {
			snprintf(err, errlen, "%s bank line %zu: text before "
			    "the first [slot]", lang, lineno);
			return -1;
		}
		if (b->nvars == vcap) {
			vcap = vcap ? vcap * 2 : 512;
			if ((b->vars = realloc(b->vars,
			    vcap * sizeof(*b->vars))) == NULL)
				goto nomem;
		}
		b->vars[b->nvars].tone = REPLY_TONE_ANY;
		if (len > 3 && line[1] == ':' && line[2] == ' ' &&
		    (line[0] == 'f' || line[0] == 'y')) {
			b->vars[b->nvars].tone = line[0] == 'f' ?
			    REPLY_TONE_FORMAL : REPLY_TONE_FRIENDLY;
			line += 3;
			len -= 3;
		}
		name.p = cur->name;
		name.n = cur->namelen;
		if (slice_eq(name, "detect.money")) {
			/* "pattern => template" */
			for (q = line; q + 4 <= line + len; q++)
				if (memcmp(q, " => ", 4) == 0)
					break;
			if (q + 4 > line + len) {
				snprintf(err, errlen, "%s bank line %zu: "
				    "money line without ' => '", lang, lineno);
				return -1;
			}
			if (b->nmoney == mcap) {
				mcap = mcap ? mcap * 2 : 16;
				if ((b->money = realloc(b->money,
				    mcap * sizeof(*b->money))) == NULL)
					goto nomem;
			}
			b->money[b->nmoney].extra_only = line[0] == '+';
			b->money[b->nmoney].pat.p = fold_copy(&b->mem,
			    line + (line[0] == '+'), q - line - (line[0] == '+'),
			    &b->money[b->nmoney].pat.n);
			b->money[b->nmoney].tmpl.p = q + 4;
			b->money[b->nmoney].tmpl.n = line + len - (q + 4);
			b->nmoney++;
		}
		if (is_stem_slot(name)) {
			size_t fn;

			b->vars[b->nvars].p = fold_copy(&b->mem, line, len,
			    &fn);
			b->vars[b->nvars].n = fn;
		} else {
			b->vars[b->nvars].p = line;
			b->vars[b->nvars].n = len;
		}
		b->nvars++;
		cur->n++;
		if (eol == end)
			break;
	}
	/* What composing asks of every variant, once. */
	for (i = 0; i < (int)b->nslots; i++) {
		cur = &b->slots[i];
		if (tmpl_prefix(b, cur) == -1)
			goto nomem;
		for (t = 0; t < 4; t++)
			cur->smix[t] = reply_mix((uint64_t)i << 4 | (uint64_t)t);
		memset(cur->fit, 0, sizeof(cur->fit));
		for (f = 0; f < (int)cur->n; f++)
			for (t = 0; t < 3; t++)
				if (b->vars[cur->first + f].tone ==
				    REPLY_TONE_ANY ||
				    b->vars[cur->first + f].tone == t)
					cur->fit[t]++;
	}
	for (i = 0; i < (int)b->nvars; i++)
		b->vars[i].plain = memchr(b->vars[i].p, '{', b->vars[i].n) ==
		    NULL;
	if (reply_detect_index(b) == -1)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
reply_bank_release(struct reply_bank *b)
{
	int i;

	free(b->vars);
	free(b->slots);
	free(b->money);
	for (i = 0; i < 2; i++) {
		free(b->dt[i].st);
		free(b->dt[i].start);
		free(b->dt[i].bits);
	}
	free(b->dx_short);
	free(b->dx_pair);
	free(b->numw);
	free(b->numw_pair);
	arena_release(&b->mem);
	memset(b, 0, sizeof(*b));
}

const struct reply_slotv *
reply_slot(const struct reply_bank *b, enum reply_slot id)
{
	int i = b->fixed[id];

	return i < 0 || b->slots[i].n == 0 ? NULL : &b->slots[i];
}

const struct reply_slotv *
reply_family(const struct reply_bank *b, enum reply_family f,
    enum reply_topic t)
{
	int i = b->family[f][t];

	return i < 0 || b->slots[i].n == 0 ? NULL : &b->slots[i];
}

int
reply_pick(const struct reply_slotv *s, const struct reply_bank *b,
    uint64_t h, uint64_t salt, int tone)
{
	uint32_t i, fit = 0, k;

	if (s == NULL)
		return -1;
	if (tone >= 0 && tone < 3)
		fit = s->fit[tone];
	else
		for (i = 0; i < s->n; i++) {
			uint8_t vt = b->vars[s->first + i].tone;

			if (vt == REPLY_TONE_ANY || vt == tone)
				fit++;
		}
	if (fit == 0)
		return -1;
	k = reply_mix(h ^ reply_mix(salt)) % fit;
	if (fit == s->n)
		return (int)k;	/* every variant fits: the k-th */
	for (i = 0; i < s->n; i++) {
		uint8_t vt = b->vars[s->first + i].tone;

		if ((vt == REPLY_TONE_ANY || vt == tone) && k-- == 0)
			return i;
	}
	return -1;
}

bool
reply_find_any(const struct reply_bank *b, const struct reply_slotv *s,
    struct slice t, struct slice *hit)
{
	uint32_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < s->n; i++) {
		const struct reply_var *v = &b->vars[s->first + i];

		if (v->n > 0 && v->n <= t.n &&
		    memmem(t.p, t.n, v->p, v->n) != NULL) {
			if (hit != NULL) {
				hit->p = v->p;
				hit->n = v->n;
			}
			return true;
		}
	}
	return false;
}

bool
reply_has_any(const struct reply_bank *b, const struct reply_slotv *s,
    struct slice t)
{
	return reply_find_any(b, s, t, NULL);
}

int
reply_plural(const char *lang, long n)
{
	long m10 = n % 10, m100 = n % 100;

	if (strcmp(lang, "en") == 0 || strcmp(lang, "el") == 0)
		return n == 1 ? 0 : 1;
	if (strcmp(lang, "ru") == 0) {
		if (m10 == 1 && m100 != 11)
			return 0;
		if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14))
			return 1;
		return 2;
	}
	if (strcmp(lang, "ar") == 0) {
		if (n == 1)
			return 0;
		if (n == 2)
			return 1;
		if (m100 >= 3 && m100 <= 10)
			return 2;
		if (m100 >= 11 && m100 <= 99)
			return 3;
		return 4;
	}
	return 0;
}

size_t
reply_utf8_len(struct slice s)
{
	size_t i, n = 0;

	for (i = 0; i < s.n; i++)
		if (((unsigned char)s.p[i] & 0xc0) != 0x80)
			n++;
	return n;
}
