/*
 * reply - a reply plan for every review, in the review's language.
 *
 * Reads: id, text, lang, sentiment, topics, kind, evidence, rating,
 * created_at, buyer, service.  Writes: reply = {action, public, private,
 * followup, followup_resolved, lang, due_at, followup_at, template,
 * [moderation], [fallback]}.
 * Rejects: missing_field (no text; or neither sentiment nor rating),
 * bad_field (sentiment or kind with an unknown value).
 * due_at is created_at + --sla-hours (half of it for severity 3).
 * Options: --signature, --sla-hours, --followup-days, --refunds,
 * --free-revisions, --tone, --abusive; --check re-reads a replied stream
 * and verifies every reply against the rules (reply_check.c).
 *
 * Phrases come from models/reply/LANG.txt (README.md there); the xxh3 of
 * id and text picks the variants, so the same review always gets the same
 * reply and different reviews rarely get the same text.  Languages without
 * a bank get English, with `fallback` naming the review's language.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "models.h"
#include "rec.h"
#include "stage.h"
#include "reply.h"

/* The banks we ship, English first (the fallback). */
static const char *const reply_langs[] = {
	"en", "ru", "kk", "ar", "el", "tr", "fa"
};

static const struct opt reply_opts[] = {
	{ "check", 0, OPT_FLAG, NULL, NULL, 0, 0,
	    "verify every reply of a replied stream (records pass through)" },
	{ "signature", 0, OPT_STR, "TEXT", NULL, 0, 0,
	    "sign replies with TEXT (seller or shop name)" },
	{ "sla-hours", 0, OPT_INT, "N", "24", 1, 720,
	    "reply due N hours after the review (due_at)" },
	{ "followup-days", 0, OPT_INT, "N", "3", 1, 60,
	    "follow up N days after the reply is due (followup_at)" },
	{ "refunds", 0, OPT_STR, "yes|no", "yes", 0, 0,
	    "whether replies may offer refunds" },
	{ "free-revisions", 0, OPT_INT, "N", "1", 0, 100,
	    "free revisions the seller offers (0: offer none)" },
	{ "tone", 0, OPT_STR, "formal|friendly", "formal", 0, 0,
	    "register of greetings and closings" },
	{ "abusive", 0, OPT_STR, "report|ignore", "report", 0, 0,
	    "abusive reviews: report_to_platform or no_reply" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* ---- reading a record ----------------------------------------------------- */

bool
reply_model_exists(const struct stage_ctx *ctx, const char *name)
{
	const struct model_file *mf;
	char path[4096];
	FILE *fp;

	if (ctx->models_dir != NULL) {
		snprintf(path, sizeof(path), "%s/%s", ctx->models_dir, name);
		if ((fp = fopen(path, "rb")) == NULL)
			return false;
		fclose(fp);
		return true;
	}
	for (mf = model_files; mf->name != NULL; mf++)
		if (strcmp(mf->name, name) == 0)
			return true;
	return false;
}

const struct reply_bank *
reply_bank_for(const struct reply_state *st, struct slice lang)
{
	int i;

	for (i = 0; i < st->nbanks; i++)
		if (slice_eq(lang, st->banks[i].lang))
			return &st->banks[i];
	return NULL;
}

static struct slice
trim(struct slice s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\n' ||
	    s.p[0] == '\t' || s.p[0] == '\r')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\n' ||
	    s.p[s.n - 1] == '\t' || s.p[s.n - 1] == '\r'))
		s.n--;
	return s;
}

/* The keys reply_read() looks at, in one pass over the record. */
enum {
	RK_TEXT, RK_ID, RK_LANG, RK_BUYER, RK_SERVICE, RK_RATING,
	RK_SEVERITY, RK_CREATED_AT, RK_TOPICS, RK_SENTIMENT, RK_KIND,
	RK_EVIDENCE, RK_COUNT
};

static int
read_key(struct slice k)
{
	switch (k.n) {
	case 2:
		return memcmp(k.p, "id", 2) == 0 ? RK_ID : -1;
	case 4:
		if (memcmp(k.p, "text", 4) == 0)
			return RK_TEXT;
		if (memcmp(k.p, "lang", 4) == 0)
			return RK_LANG;
		return memcmp(k.p, "kind", 4) == 0 ? RK_KIND : -1;
	case 5:
		return memcmp(k.p, "buyer", 5) == 0 ? RK_BUYER : -1;
	case 6:
		if (memcmp(k.p, "rating", 6) == 0)
			return RK_RATING;
		return memcmp(k.p, "topics", 6) == 0 ? RK_TOPICS : -1;
	case 7:
		return memcmp(k.p, "service", 7) == 0 ? RK_SERVICE : -1;
	case 8:
		if (memcmp(k.p, "severity", 8) == 0)
			return RK_SEVERITY;
		return memcmp(k.p, "evidence", 8) == 0 ? RK_EVIDENCE : -1;
	case 9:
		return memcmp(k.p, "sentiment", 9) == 0 ? RK_SENTIMENT : -1;
	case 10:
		return memcmp(k.p, "created_at", 10) == 0 ? RK_CREATED_AT : -1;
	}
	return -1;
}

/* As rec_get_int() on the value. */
static int
val_int(const struct rec_kv *kv, int64_t *i)
{
	const unsigned char *u;
	const char *p;
	struct mp_val v;

	if (kv == NULL)
		return -1;
	/* A positive fixint or a uint 32, the common cases, directly. */
	u = (const unsigned char *)kv->val;
	if (u[0] < 0x80 && kv->vlen == 1) {
		*i = u[0];
		return 0;
	}
	if (u[0] == 0xce && kv->vlen == 5) {
		*i = (int64_t)((uint32_t)u[1] << 24 | (uint32_t)u[2] << 16 |
		    (uint32_t)u[3] << 8 | u[4]);
		return 0;
	}
	p = kv->val;
	if (mp_next(&p, kv->val + kv->vlen, &v) != MP_OK || !mp_as_int(&v, i))
		return -1;
	return 0;
}

const char *
reply_read(const struct rec *r, struct reply_info *in, char *detail,
    size_t dlen)
{
	const struct rec_kv *kv[RK_COUNT] = { NULL };
	const char *it, *end;
	struct slice sent, kind;
	struct mp_val v;
	bool has_sent, has_kind;
	uint32_t k;
	int64_t n;
	int i;

	/* The first pair with each key, as rec_get() finds it. */
	for (k = 0; k < r->nkeys; k++)
		if ((i = read_key(r->kv[k].key)) >= 0 && kv[i] == NULL)
			kv[i] = &r->kv[k];
	memset(in, 0, sizeof(*in));
	if (rec_kv_str(kv[RK_TEXT], &in->text) == -1) {
		snprintf(detail, dlen, "no string 'text'");
		return "missing_field";
	}
	if (rec_kv_str(kv[RK_ID], &in->id) == -1)
		in->id = SLICE_LIT("");
	in->has_lang = rec_kv_str(kv[RK_LANG], &in->lang) == 0;
	if (rec_kv_str(kv[RK_BUYER], &in->buyer) == -1)
		in->buyer = SLICE_LIT("");
	if (rec_kv_str(kv[RK_SERVICE], &in->service) == -1)
		in->service = SLICE_LIT("");
	in->buyer = trim(in->buyer);
	in->service = trim(in->service);
	if (val_int(kv[RK_RATING], &n) == 0 && n >= 1 && n <= 5)
		in->rating = n;
	if (val_int(kv[RK_SEVERITY], &n) == 0)
		in->severity = n;
	if (val_int(kv[RK_CREATED_AT], &n) == 0) {
		in->created_at = n;
		in->has_created = true;
	}
	/* topics: strings up to the first element that is not one. */
	if (kv[RK_TOPICS] != NULL) {
		it = kv[RK_TOPICS]->val;
		end = it + kv[RK_TOPICS]->vlen;
		if (mp_next(&it, end, &v) != MP_OK || v.type != MP_ARRAY)
			it = end;
		while (it < end && mp_next(&it, end, &v) == MP_OK &&
		    v.type == MP_STR) {
			enum reply_topic t = reply_topic_from(v.v.s);

			if (t == RT_NONE)
				continue;
			for (i = 0; i < in->ntopics; i++)
				if (in->topics[i] == t)
					break;
			if (i == in->ntopics && in->ntopics < RT_COUNT)
				in->topics[in->ntopics++] = t;
		}
	}

	if (kv[RK_EVIDENCE] != NULL) {
		in->evidence = kv[RK_EVIDENCE]->val;
		in->evidence_end = kv[RK_EVIDENCE]->val + kv[RK_EVIDENCE]->vlen;
	}
	has_sent = rec_kv_str(kv[RK_SENTIMENT], &sent) == 0;
	has_kind = rec_kv_str(kv[RK_KIND], &kind) == 0;
	if (!has_sent) {
		/* Without classify, the stars are the only sentiment. */
		if (in->rating == 0) {
			snprintf(detail, dlen, "no 'sentiment' and no 'rating' "
			    "(run classify first)");
			return "missing_field";
		}
		sent = in->rating <= 2 ? SLICE_LIT("neg") :
		    in->rating == 3 ? SLICE_LIT("neu") : SLICE_LIT("pos");
	}
	if (slice_eq(sent, "neg"))
		in->rcase = RC_NEGATIVE;
	else if (slice_eq(sent, "neu"))
		in->rcase = RC_NEUTRAL;
	else if (slice_eq(sent, "pos"))
		in->rcase = RC_POSITIVE;
	else {
		snprintf(detail, dlen, "sentiment '%.*s' is not pos, neg or "
		    "neu", (int)(sent.n > 32 ? 32 : sent.n), sent.p);
		return "bad_field";
	}
	if (!has_kind || slice_eq(kind, "genuine"))
		return NULL;
	if (slice_eq(kind, "suspect_fake"))
		in->rcase = RC_FAKE;
	else if (slice_eq(kind, "abusive"))
		in->rcase = RC_ABUSIVE;
	else if (slice_eq(kind, "rating_mismatch")) {
		/* Without stars there is nothing to ask about. */
		if (in->rating != 0)
			in->rcase = RC_MISMATCH;
	} else {
		snprintf(detail, dlen, "kind '%.*s' is not genuine, "
		    "suspect_fake, abusive or rating_mismatch",
		    (int)(kind.n > 32 ? 32 : kind.n), kind.p);
		return "bad_field";
	}
	return NULL;
}

/* ---- composing -------------------------------------------------------------- */

struct compose {
	struct reply_state *st;
	const struct reply_bank *b;
	const struct reply_info *in;
	uint64_t	 h;
	int		 part;		/* salt: public 0, private 1, ... */
	struct slice	 quote;		/* buyer's words to quote, or empty */
	struct reply_facts facts;
	int		 nused;
	/* Last: only used[0..nused-1] is read, so it is never cleared. */
	struct {
		const struct reply_slotv *s;
		int	 v;
	} used[REPLY_MAXTMPL];
};

/* buf_add() without the call: composing appends many short pieces. */
static inline void
out_add(struct buf *b, const char *p, size_t n)
{
	if (b->cap - b->len <= n)
		buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
out_addc(struct buf *b, char ch)
{
	if (b->cap - b->len <= 1)
		buf_grow(b, 1);
	b->p[b->len++] = ch;
	b->p[b->len] = '\0';
}

/* Append number `n` in the bank's digits (slot "digits", else ASCII). */
static void
put_num(struct compose *c, struct buf *out, const char *digits, size_t nd)
{
	const struct reply_slotv *ds = reply_slot(c->b, RS_DIGITS);
	const struct reply_var *dv;
	size_t i, k, w;
	const char *p;

	if (ds == NULL) {
		buf_add(out, digits, nd);
		return;
	}
	dv = &c->b->vars[ds->first];
	for (i = 0; i < nd; i++) {
		if (digits[i] < '0' || digits[i] > '9') {
			buf_addc(out, digits[i]);
			continue;
		}
		/* The digits line holds ten UTF-8 characters. */
		p = dv->p;
		for (k = 0; k < (size_t)(digits[i] - '0'); k++) {
			p++;
			while (p < dv->p + dv->n && (*p & 0xc0) == 0x80)
				p++;
		}
		for (w = 1; p + w < dv->p + dv->n && (p[w] & 0xc0) == 0x80;
		    w++)
			;
		buf_add(out, p, w);
	}
}

/* n in decimal ASCII into num (24 bytes at least); returns its length. */
static int
fmt_long(char num[24], long n)
{
	unsigned long u = n < 0 ? 0UL - (unsigned long)n : (unsigned long)n;
	char tmp[24];
	int k = 0, len = 0;

	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (n < 0)
		num[len++] = '-';
	while (k > 0)
		num[len++] = tmp[--k];
	num[len] = '\0';
	return len;
}

/* Append "N unit" from the forms of unit slot `id` ("% day|% days"). */
static void
put_count(struct compose *c, struct buf *out, enum reply_slot id, long n)
{
	const struct reply_slotv *s = reply_slot(c->b, id);
	const struct reply_var *v;
	const char *p, *end, *bar, *pct;
	char num[24];
	int form, k;

	k = fmt_long(num, n);
	if (s == NULL) {
		buf_add(out, num, k);
		return;
	}
	v = &c->b->vars[s->first];
	p = v->p;
	end = v->p + v->n;
	for (form = reply_plural(c->b->lang, n); form > 0; form--) {
		if ((bar = memchr(p, '|', end - p)) == NULL)
			break;
		p = bar + 1;
	}
	if ((bar = memchr(p, '|', end - p)) != NULL)
		end = bar;
	while (p < end) {
		if ((pct = memchr(p, '%', end - p)) == NULL)
			pct = end;
		out_add(out, p, pct - p);
		if (pct == end)
			break;
		put_num(c, out, num, k);
		p = pct + 1;
	}
}

static void
put_quote(struct compose *c, struct buf *out, struct slice q)
{
	const struct reply_slotv *s = reply_slot(c->b, RS_QUOTE);
	const struct reply_var *v;
	const char *bar;

	if (s == NULL) {
		buf_addc(out, '"');
		buf_add(out, q.p, q.n);
		buf_addc(out, '"');
		return;
	}
	v = &c->b->vars[s->first];
	bar = memchr(v->p, '|', v->n);
	if (bar == NULL)
		bar = v->p + v->n;
	buf_add(out, v->p, bar - v->p);
	buf_add(out, q.p, q.n);
	if (bar < v->p + v->n)
		buf_add(out, bar + 1, v->p + v->n - bar - 1);
}

static void
put_money(struct compose *c, struct buf *out)
{
	const struct reply_money *m = c->facts.money;
	size_t i;

	for (i = 0; i < m->tmpl.n; i++) {
		if (m->tmpl.p[i] == '%')
			put_num(c, out, c->facts.money_num.p,
			    c->facts.money_num.n);
		else
			buf_addc(out, m->tmpl.p[i]);
	}
}

static const enum reply_slot unit_forms[] = {
	RS_COUNT, RS_UNIT_DAY, RS_UNIT_HOUR, RS_UNIT_WEEK, RS_UNIT_MONTH
};

/*
 * A name from the record: braces would read as placeholders to the
 * checker and line breaks would break the layout, so both are softened.
 */
static void
put_clean(struct buf *out, struct slice s)
{
	size_t i, from = 0;

	for (i = 0; i < s.n; i++)
		if (s.p[i] == '{' || s.p[i] == '}' ||
		    (unsigned char)s.p[i] <= '\r')
			break;
	if (i == s.n) {
		out_add(out, s.p, s.n);
		return;
	}

	for (i = 0; i < s.n; i++) {
		char ch = s.p[i];

		if (ch != '{' && ch != '}' && ch != '\n' && ch != '\r' &&
		    ch != '\t')
			continue;
		buf_add(out, s.p + from, i - from);
		buf_addc(out, ch == '{' ? '(' : ch == '}' ? ')' : ' ');
		from = i + 1;
	}
	buf_add(out, s.p + from, s.n - from);
}

enum {
	PH_OTHER, PH_BUYER, PH_SERVICE, PH_Q, PH_SIG, PH_AMOUNT, PH_DUR,
	PH_FDAYS, PH_STARS
};

/* Which placeholder `name` (between the braces) is. */
static int
placeholder(struct slice name)
{
	switch (name.n) {
	case 1:
		return name.p[0] == 'q' ? PH_Q : PH_OTHER;
	case 3:
		if (memcmp(name.p, "sig", 3) == 0)
			return PH_SIG;
		return memcmp(name.p, "dur", 3) == 0 ? PH_DUR : PH_OTHER;
	case 5:
		if (memcmp(name.p, "buyer", 5) == 0)
			return PH_BUYER;
		if (memcmp(name.p, "fdays", 5) == 0)
			return PH_FDAYS;
		return memcmp(name.p, "stars", 5) == 0 ? PH_STARS : PH_OTHER;
	case 6:
		return memcmp(name.p, "amount", 6) == 0 ? PH_AMOUNT : PH_OTHER;
	case 7:
		return memcmp(name.p, "service", 7) == 0 ? PH_SERVICE :
		    PH_OTHER;
	}
	return PH_OTHER;
}

/* Expand the placeholders of variant text `t` into `out`. */
static void
render(struct compose *c, struct buf *out, struct slice t)
{
	const char *p = t.p, *end = t.p + t.n, *close;
	struct slice name;

	while (p < end) {
		const char *open = memchr(p, '{', end - p);

		if (open == NULL) {
			out_add(out, p, end - p);
			break;
		}
		out_add(out, p, open - p);
		p = open;
		if ((close = memchr(p, '}', end - p)) == NULL) {
			out_add(out, p, end - p);
			break;
		}
		name.p = p + 1;
		name.n = close - p - 1;
		switch (placeholder(name)) {
		case PH_BUYER:
			put_clean(out, c->in->buyer);
			break;
		case PH_SERVICE:
			put_clean(out, c->in->service);
			break;
		case PH_Q:
			put_quote(c, out, c->quote);
			break;
		case PH_SIG:
			if (c->st->signature == NULL)
				goto keep;
			buf_adds(out, c->st->signature);
			break;
		case PH_AMOUNT:
			if (c->facts.money == NULL)
				goto keep;
			put_money(c, out);
			break;
		case PH_DUR:
			if (c->facts.unit == RU_NONE)
				goto keep;
			put_count(c, out, unit_forms[c->facts.unit],
			    c->facts.dur);
			break;
		case PH_FDAYS:
			put_count(c, out, RS_UNIT_FDAY, c->st->followup_days);
			break;
		case PH_STARS:
			put_count(c, out, RS_UNIT_STAR, c->in->rating);
			break;
		default:
keep:
			/* The checker sees it. */
			out_add(out, p, close + 1 - p);
		}
		p = close + 1;
	}
}

/*
 * reply_pick(s, b, h, slot << 4 | part, tone) with the salt's mix made at
 * load (reply_slotv.smix).
 */
static inline int
pick(const struct compose *c, const struct reply_slotv *s)
{
	const struct reply_bank *b = c->b;
	int tone = c->st->tone;
	uint32_t i, fit, k;

	if (c->part < 0 || c->part >= 4 || tone < 0 || tone >= 3)
		return reply_pick(s, b, c->h, (uint64_t)(s - b->slots) << 4 |
		    (uint64_t)c->part, tone);
	if ((fit = s->fit[tone]) == 0)
		return -1;
	k = reply_mix(c->h ^ s->smix[c->part]) % fit;
	if (fit == s->n)
		return (int)k;	/* every variant fits: the k-th */
	for (i = 0; i < s->n; i++) {
		uint8_t vt = b->vars[s->first + i].tone;

		if ((vt == REPLY_TONE_ANY || vt == tone) && k-- == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Append one variant of slot `s` to `out`, separated by character `sep`
 * (0: none) when `out` is not empty.  Returns false when the slot has no
 * variant for the tone.
 */
static bool
say(struct compose *c, struct buf *out, const struct reply_slotv *s,
    char sep)
{
	const struct reply_var *var;
	int v;

	if (s == NULL)
		return false;
	v = pick(c, s);
	if (v < 0)
		return false;
	if (out->len > 0 && sep != 0)
		out_addc(out, sep);
	var = &c->b->vars[s->first + v];
	if (var->plain)
		out_add(out, var->p, var->n);
	else
		render(c, out, (struct slice){ var->p, var->n });
	if (c->nused < REPLY_MAXTMPL) {
		c->used[c->nused].s = s;
		c->used[c->nused].v = v;
		c->nused++;
	}
	return true;
}

static bool
sayf(struct compose *c, struct buf *out, enum reply_slot id, char sep)
{
	return say(c, out, reply_slot(c->b, id), sep);
}

static void
greet(struct compose *c, struct buf *out)
{
	if (c->in->buyer.n > 0 && c->in->buyer.n <= 64 &&
	    sayf(c, out, RS_GREET_NAME, 0))
		return;
	sayf(c, out, RS_GREET, 0);
}

static void
sign(struct compose *c, struct buf *out)
{
	if (c->st->signature != NULL && c->st->signature[0] != '\0')
		sayf(c, out, RS_SIGN, '\n');
}

/* The remedy slot for topic t under the seller's settings. */
static const struct reply_slotv *
remedy_slot(struct compose *c, enum reply_topic t)
{
	const struct reply_bank *b = c->b;
	const struct reply_slotv *s = NULL;

	if (reply_family(b, RF_REMEDY, t) == NULL)
		t = RT_NONE;
	if (!c->st->refunds && c->st->revisions == 0)
		s = reply_family(b, RF_REMEDY_NOREFUND_NOREV, t);
	if (s == NULL && !c->st->refunds)
		s = reply_family(b, RF_REMEDY_NOREFUND, t);
	if (s == NULL && c->st->refunds && c->st->revisions == 0)
		s = reply_family(b, RF_REMEDY_NOREV, t);
	if (s == NULL)
		s = reply_family(b, RF_REMEDY, t);
	return s;
}

/* No line break and no braces: a string fit to quote. */
static bool
quotable(struct slice s)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (s.p[i] == '\n' || s.p[i] == '{' || s.p[i] == '}')
			return false;
	return true;
}

/*
 * Where h contains n (n.n >= 2), or NULL.  memmem() costs more on short
 * texts, and in Cyrillic or Greek the first byte alone is nearly every
 * other byte.
 */
static const char *
find(struct slice h, struct slice n)
{
	const char *p, *last;
	uint32_t n4, h4;
	uint16_t n2, h2;

	if (n.n > h.n)
		return NULL;
	/* classify's own evidence ("stars=5") is rarely in the text. */
	if (memchr(n.p, '=', n.n) != NULL && memchr(h.p, '=', h.n) == NULL)
		return NULL;
	last = h.p + (h.n - n.n);
	if (n.n >= 4) {
		/* Two Cyrillic letters rule out more than one. */
		memcpy(&n4, n.p, 4);
		for (p = h.p; p <= last; p++) {
			memcpy(&h4, p, 4);
			if (h4 == n4 && memcmp(p + 4, n.p + 4, n.n - 4) == 0)
				return p;
		}
		return NULL;
	}
	memcpy(&n2, n.p, 2);
	for (p = h.p; p <= last; p++) {
		memcpy(&h2, p, 2);
		if (h2 == n2 && memcmp(p + 2, n.p + 2, n.n - 2) == 0)
			return p;
	}
	return NULL;
}

/* Does a digit (ASCII, Arabic-Indic or Persian) end just before p? */
static bool
digit_before(const char *lo, const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	if (p > lo && u[-1] >= '0' && u[-1] <= '9')
		return true;
	return p - lo >= 2 && ((u[-2] == 0xd9 && u[-1] >= 0xa0 &&
	    u[-1] <= 0xa9) || (u[-2] == 0xdb && u[-1] >= 0xb0 &&
	    u[-1] <= 0xb9));
}

/* Does a digit start at p? */
static bool
digit_at(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;

	if (p < end && u[0] >= '0' && u[0] <= '9')
		return true;
	return end - p >= 2 && ((u[0] == 0xd9 && u[1] >= 0xa0 &&
	    u[1] <= 0xa9) || (u[0] == 0xdb && u[1] >= 0xb0 &&
	    u[1] <= 0xb9));
}

/* Past the number at p (digits of any of the three kinds, '.', ','). */
static const char *
skip_number(const char *p, const char *end)
{
	while (p < end)
		if (*p == '.' || *p == ',' || (*p >= '0' && *p <= '9'))
			p++;
		else if (digit_at(p, end))
			p += 2;
		else
			break;
	return p;
}

/* Past spaces and Arabic tatweel (بـ ٣) from p. */
static const char *
skip_gap(const char *p, const char *end)
{
	while (p < end)
		if (*p == ' ')
			p++;
		else if (end - p >= 2 && (unsigned char)p[0] == 0xd9 &&
		    (unsigned char)p[1] == 0x80)
			p += 2;
		else
			break;
	return p;
}

/* Back over spaces and tatweel before p. */
static const char *
skip_gap_back(const char *lo, const char *p)
{
	while (p > lo)
		if (p[-1] == ' ')
			p--;
		else if (p - lo >= 2 && (unsigned char)p[-2] == 0xd9 &&
		    (unsigned char)p[-1] == 0x80)
			p -= 2;
		else
			break;
	return p;
}

/*
 * Does a number with a unit word end at a, in the same sentence ("3 күн
 * | деп уәде берді", not "4 days. | Good battery")?
 */
static bool
duration_before(struct compose *c, struct slice text, const char *a)
{
	const char *w = a;

	if (a == text.p || (unsigned char)a[-1] < 0x80)
		return false;	/* the word before ends in a mark */
	while (w > text.p && w[-1] != ' ')
		w--;
	return w < a && digit_before(text.p, skip_gap_back(text.p, w)) &&
	    reply_unit_word(c->b, &c->st->tmp, w, a);
}

/*
 * Is the phrase at [p, p + n) of text cut at a duration?  classify's
 * evidence splits "Обещал сделать за 2 дня, а сделал за 9 дней" into
 * «Обещал сделать за», «2 дня» and «дней»: none means anything quoted
 * alone, and the delay fact says the number.  So a phrase may not
 * start with a number inside a sentence ("Гарантия | 1 жыл"; "5 days
 * late." at its start is whole), be a number and its unit only ("3
 * gün | dedi"), start with the unit word after a number ("9 | days
 * late") or right after a duration ("3 күн | деп уәде берді"), and a
 * phrase of several words may not stop before a duration ("за | 2
 * дня", "сдали через | 10.", the unit left out).  "perfect | 48
 * megapixels", "2016 | no such problems" and "not bad | 10 of 10" are
 * whole.
 */
static bool
cut_at_number(struct compose *c, struct slice text, const char *p,
    size_t n)
{
	const char *a, *z = p + n, *end = text.p + text.n;

	a = skip_gap_back(text.p, p);
	if (digit_at(p, z)) {
		if (a > text.p && a[-1] != '.' && a[-1] != '!' &&
		    a[-1] != '?' && a[-1] != '\n')
			return true;
		for (a = skip_number(p, z); a < z && *a == ' '; a++)
			;
		return memchr(a, ' ', z - a) == NULL &&
		    reply_unit_word(c->b, &c->st->tmp, a, z);
	}
	if (digit_before(text.p, a) &&
	    reply_unit_word(c->b, &c->st->tmp, p, end))
		return true;
	if (memchr(p, ' ', n) != NULL && duration_before(c, text, a))
		return true;
	z = skip_gap(z, end);
	if (memchr(p, ' ', n) == NULL || !digit_at(z, end))
		return false;
	for (z = skip_number(z, end); z < end && (*z == ' ' || *z == '-');
	    z++)
		;
	return z == end || *z == '.' || *z == ',' || *z == '!' ||
	    *z == '?' || *z == ';' || reply_unit_word(c->b, &c->st->tmp, z,
	    end);
}

/* Are there words to quote (three letters, not just emoji and marks)? */
static bool
wordy(struct slice s)
{
	size_t i, letters = 0;

	for (i = 0; i < s.n && letters < 3; i++) {
		unsigned char c = s.p[i];

		/* ASCII letters, and the lead bytes of the two-byte letters
		 * of Latin, Greek, Cyrillic and Arabic script. */
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			letters++;
		else if (c >= 0xc3 && c <= 0xdb)
			letters++;
	}
	return letters >= 3;
}

/*
 * The buyer's own words to quote: the first evidence phrase that occurs
 * verbatim in the text, else the whole text when it is one short line.
 */
static struct slice
pick_quote(struct compose *c, const struct rec *r,
    const struct reply_info *in)
{
	const char *it = NULL, *end = NULL, *p;
	struct slice e, q = { NULL, 0 };
	struct mp_val v;

	/* The first "evidence" pair, found by reply_read(). */
	if (in->evidence != NULL) {
		it = in->evidence;
		end = in->evidence_end;
		if (mp_next(&it, end, &v) != MP_OK || v.type != MP_ARRAY)
			it = end;
	}
	while (it < end && mp_next(&it, end, &v) == MP_OK &&
	    v.type == MP_STR) {
		e = v.v.s;
		if (e.n >= 3 && e.n <= 60 && quotable(e) &&
		    (p = find(in->text, e)) != NULL &&
		    !cut_at_number(c, in->text, p, e.n))
			return e;
	}
	q = in->text;
	if (q.n < 3 || q.n > 80 || memchr(q.p, '\n', q.n) != NULL ||
	    memchr(q.p, '{', q.n) != NULL || memchr(q.p, '}', q.n) != NULL ||
	    !wordy(q))
		return (struct slice){ NULL, 0 };
	/* Trailing punctuation would clash with the quote marks. */
	for (p = q.p + q.n; p > q.p && (p[-1] == '.' || p[-1] == '!' ||
	    p[-1] == ' ' || p[-1] == ','); p--)
		;
	q.n = p - q.p;
	return q.n >= 3 ? q : (struct slice){ NULL, 0 };
}

/* Facts said in a public reply (a bit per fact slot). */
#define SAID(slot)	(1u << ((slot) - RS_FACT_LATE))

/* Does a fact already said name topic t? */
static bool
covered(unsigned said, enum reply_topic t)
{
	switch (t) {
	case RT_cancellation:	return said & SAID(RS_FACT_CANCEL_UNASKED);
	case RT_communication:	return said & SAID(RS_FACT_NO_ANSWER);
	case RT_scope:
	case RT_price:		return said & SAID(RS_FACT_EXTRA_ASK);
	case RT_delivery:	return said & (SAID(RS_FACT_LATE) |
				    SAID(RS_FACT_EARLY_DELIVERY));
	default:		return false;
	}
}

/*
 * The remedy for topic t once the facts `said` are named.  Work delivered
 * before the buyer approved it is not late: it is reopened, not made up
 * for like a delay.  Being asked for more than agreed is settled by
 * keeping to the agreement, not by a price review.  With no topic, the
 * first situation said decides.
 */
static const struct reply_slotv *
remedy_for(struct compose *c, enum reply_topic t, unsigned said)
{
	const struct reply_slotv *s;

	/*
	 * With --free-revisions 0 the reopened order is finished as agreed,
	 * without the free changes the plain variants offer.
	 */
	if ((said & SAID(RS_FACT_EARLY_DELIVERY)) &&
	    !(said & SAID(RS_FACT_LATE)) &&
	    (t == RT_delivery || t == RT_NONE) &&
	    (s = reply_slot(c->b, c->st->revisions == 0 ?
	    RS_REMEDY_EARLY_DELIVERY_NOREV : RS_REMEDY_EARLY_DELIVERY)) != NULL)
		return s;
	if ((said & SAID(RS_FACT_EXTRA_ASK)) && t == RT_price)
		t = RT_scope;
	if (t == RT_NONE) {
		if (said & SAID(RS_FACT_CANCEL_UNASKED))
			t = RT_cancellation;
		else if (said & SAID(RS_FACT_NO_ANSWER))
			t = RT_communication;
		else if (said & SAID(RS_FACT_EXTRA_ASK))
			t = RT_scope;
		else if (said & SAID(RS_FACT_LATE))
			t = RT_delivery;
	}
	/*
	 * The delay remedy fits what happened: nothing delivered yet is
	 * finished and delivered (no re-sending of what never came),
	 * delivered late is made up for.
	 */
	if (t == RT_delivery && (c->facts.undelivered ||
	    c->facts.delivered_late)) {
		bool pending = c->facts.undelivered;

		s = NULL;
		if (!c->st->refunds)
			s = reply_slot(c->b, pending ?
			    RS_REMEDY_DELIVERY_PENDING_NOREFUND :
			    RS_REMEDY_DELIVERY_LATE_NOREFUND);
		else
			s = reply_slot(c->b, pending ?
			    RS_REMEDY_DELIVERY_PENDING :
			    RS_REMEDY_DELIVERY_LATE);
		if (s != NULL)
			return s;
	}
	return remedy_slot(c, t);
}

static void
compose_negative(struct compose *c, const struct rec *r)
{
	struct reply_state *st = c->st;
	const struct reply_info *in = c->in;
	const struct reply_facts *f = &c->facts;
	struct slice folded;
	enum reply_topic t0 = in->ntopics > 0 ? in->topics[0] : RT_NONE;
	int i, said, acks = 0, nfacts = 0;
	unsigned facts = 0;

	buf_reset(&st->fold);
	reply_fold(&st->fold, in->text.p, in->text.n);
	folded.p = st->fold.p;
	folded.n = st->fold.len;
	reply_facts_scan(c->b, folded, &c->facts);
	c->quote = pick_quote(c, r, in);

	c->part = 0;
	greet(c, &st->pub);
	sayf(c, &st->pub, RS_THANK_NEG, '\n');
	/*
	 * Name the problem.  A fact found in the text says it more precisely
	 * than the topic ("cancelled without asking you" rather than "your
	 * order was cancelled"), so a topic a fact covers gets no ack of its
	 * own; facts come first, the most specific first.
	 */
#define FACT(cond, slot) do { \
	if (nfacts < 2 && (cond) && sayf(c, &st->pub, (slot), ' ')) { \
		nfacts++; \
		facts |= SAID(slot); \
	} \
} while (0)
	FACT(f->cancel_unasked, RS_FACT_CANCEL_UNASKED);
	FACT(f->early_delivery, RS_FACT_EARLY_DELIVERY);
	FACT(f->no_answer, RS_FACT_NO_ANSWER);
	FACT(f->extra_ask, RS_FACT_EXTRA_ASK);
	/* How long it took is said as such, never as the delay. */
	if (nfacts < 2 && f->unit != RU_NONE && sayf(c, &st->pub,
	    f->dur_took ? RS_FACT_LATE_TOOK : RS_FACT_LATE, ' ')) {
		nfacts++;
		facts |= SAID(RS_FACT_LATE);
	}
	for (i = 0; i < in->ntopics && i < 2 && acks + nfacts < 3; i++)
		if (!covered(facts, in->topics[i]) && say(c, &st->pub,
		    reply_family(c->b, RF_ACK, in->topics[i]), ' '))
			acks++;
	FACT(f->money != NULL, RS_FACT_MONEY);
	FACT(in->service.n > 0 && in->service.n <= 80, RS_FACT_SERVICE);
#undef FACT
	said = acks + nfacts;
	/* The buyer's own words make the reply theirs: echo them. */
	if (said < 2 && c->quote.n > 0 && sayf(c, &st->pub, RS_ACK_QUOTE,
	    ' '))
		said++;
	if (said == 0)
		say(c, &st->pub, reply_family(c->b, RF_ACK, RT_NONE), ' ');
	sayf(c, &st->pub, RS_APOLOGY, ' ');
	say(c, &st->pub, remedy_for(c, t0, facts), ' ');
	sayf(c, &st->pub, RS_MOVE, ' ');
	sayf(c, &st->pub, RS_PROMISE, ' ');
	sign(c, &st->pub);

	c->part = 1;
	greet(c, &st->prv);
	sayf(c, &st->prv, RS_PRIVATE_INTRO, '\n');
	/* The same offer as in public: the public text's variant. */
	c->part = 0;
	say(c, &st->prv, remedy_for(c, t0, facts), ' ');
	c->part = 1;
	if (in->ntopics > 1 && remedy_for(c, in->topics[1], facts) !=
	    remedy_for(c, t0, facts))
		say(c, &st->prv, remedy_for(c, in->topics[1], facts), ' ');
	sayf(c, &st->prv, RS_PRIVATE_ASK, ' ');
	sayf(c, &st->prv, RS_PROMISE, ' ');
	sign(c, &st->prv);

	c->part = 2;
	greet(c, &st->fup);
	sayf(c, &st->fup, RS_FOLLOWUP_ASK, '\n');
	sign(c, &st->fup);
	c->part = 3;
	sayf(c, &st->fres, RS_FOLLOWUP_RESOLVED, 0);
}

static void
compose_positive(struct compose *c, const struct rec *r, bool neutral)
{
	struct reply_state *st = c->st;
	const struct reply_info *in = c->in;
	const struct reply_slotv *liked = NULL;
	int i;

	c->quote = pick_quote(c, r, in);
	c->part = 0;
	greet(c, &st->pub);
	sayf(c, &st->pub, neutral ? RS_NEU_THANK : RS_POS_THANK, '\n');
	if (neutral) {
		/* Mixed feelings: name the concern, or echo their words. */
		if (in->ntopics > 0)
			liked = reply_family(c->b, RF_ACK, in->topics[0]);
		else if (c->quote.n > 0)
			liked = reply_slot(c->b, RS_NEU_QUOTE);
		say(c, &st->pub, liked, ' ');
	} else {
		for (i = 0; i < in->ntopics && liked == NULL; i++)
			liked = reply_family(c->b, RF_LIKED, in->topics[i]);
		/* Pick between the named topic and the buyer's words. */
		if (liked != NULL && c->quote.n > 0 && (c->h >> 61 & 1))
			liked = NULL;
		if (liked == NULL && c->quote.n > 0)
			liked = reply_slot(c->b, RS_LIKED_QUOTE);
		if (liked == NULL && in->service.n > 0 &&
		    in->service.n <= 80)
			liked = reply_slot(c->b, RS_LIKED_SERVICE);
		say(c, &st->pub, liked, ' ');
	}
	sayf(c, &st->pub, neutral ? RS_NEU_ASK : RS_POS_CLOSE, ' ');
	sign(c, &st->pub);
}

/* A msgpack string at o (the header msgpack-c writes, then s); the end. */
static inline char *
put_str(char *o, const char *s, size_t n)
{
	unsigned char *u = (unsigned char *)o;

	if (n < 32)
		*u++ = 0xa0 | n;
	else if (n < 256) {
		*u++ = 0xd9;
		*u++ = n;
	} else if (n < 65536) {
		*u++ = 0xda;
		*u++ = n >> 8;
		*u++ = n;
	} else {
		*u++ = 0xdb;
		*u++ = n >> 24;
		*u++ = n >> 16;
		*u++ = n >> 8;
		*u++ = n;
	}
	memcpy(u, s, n);
	return (char *)u + n;
}

#define PUT_LIT(o, s)	put_str((o), (s), sizeof(s) - 1)

/* Room for one template id with its header (the old id buffer, 96). */
#define REPLY_TMPL_MAX	(96 + 5)

/*
 * The template id "ru/ack.delivery.2" of variant v (from 1) of slot s as
 * a msgpack string at o; the end.  The slot's "LANG/name." is made at
 * load (a long name cut to leave the id under 96 bytes).
 */
static char *
put_tmpl(char *o, const struct reply_slotv *s, int v)
{
	char digits[12];
	size_t len;
	int nd = 0;

	do {
		digits[nd++] = '0' + v % 10;
		v /= 10;
	} while (v > 0 && nd < 10);
	len = s->tmpllen + (size_t)nd;
	/* len < 96: a fixstr or a str 8. */
	if (len < 32)
		*o++ = (char)(0xa0 | len);
	else {
		*o++ = (char)0xd9;
		*o++ = (char)len;
	}
	memcpy(o, s->tmpl, s->tmpllen);
	o += s->tmpllen;
	while (nd > 0)
		*o++ = digits[--nd];
	return o;
}

/* Is `k` the key reply writes (an input "reply" is replaced)? */
static inline bool
is_reply_key(struct slice k)
{
	return k.n == 5 && memcmp(k.p, "reply", 5) == 0;
}

/* An integer as msgpack-c packs it, at b's end; returns the new end. */
static char *
put_int(struct buf *b, char *o, int64_t v)
{
	msgpack_packer pk;

	b->len = (size_t)(o - b->p);
	mp_packer_buf(&pk, b);
	msgpack_pack_int64(&pk, v);
	return b->p + b->len;
}

/*
 * The output record is written straight into st->tmp, sized first, and
 * handed to the driver in one piece: the input's pairs but a "reply" key,
 * then "reply" and its map, as rec_out_end() would lay them out, without
 * its copies (msgpack-c's packer costs a callback per piece, and the
 * record builder copies the pairs twice).  Integers still go through
 * msgpack-c so they keep its encoding.
 */
static int
reply_emit(struct stage_ctx *ctx, const struct rec *r, struct compose *c,
    const char *action, const struct reply_info *in, bool followup,
    struct slice fallback, bool has_fallback)
{
	struct reply_state *st = c->st;
	struct buf *b = &st->tmp;
	unsigned char h[5];
	char *w;
	size_t len, actlen = strlen(action), langlen = strlen(c->b->lang);
	int64_t sla;
	uint32_t k, kept = 0;
	int i, n;

	for (k = 0; k < r->nkeys; k++)
		if (!is_reply_key(r->kv[k].key))
			kept++;
	/* Strings take 5 bytes of header at most; keys and numbers < 256. */
	buf_reset(b);
	buf_grow(b, r->n + st->pub.len + st->prv.len + st->fup.len +
	    st->fres.len + fallback.n + REPLY_TMPL_MAX * (size_t)c->nused +
	    512);
	w = rec_put_kept(b->p, r, kept, 1, is_reply_key);
	w = PUT_LIT(w, "reply");

	n = 9 + (in->rcase == RC_FAKE) + has_fallback;
	len = mp_map_header(h, (uint32_t)n);
	memcpy(w, h, len);
	w += len;
	w = PUT_LIT(w, "action");
	w = put_str(w, action, actlen);
	w = PUT_LIT(w, "public");
	w = put_str(w, st->pub.p, st->pub.len);
	w = PUT_LIT(w, "private");
	w = put_str(w, st->prv.p, st->prv.len);
	w = PUT_LIT(w, "followup");
	w = put_str(w, st->fup.p, st->fup.len);
	w = PUT_LIT(w, "followup_resolved");
	w = put_str(w, st->fres.p, st->fres.len);
	w = PUT_LIT(w, "lang");
	w = put_str(w, c->b->lang, langlen);
	/* The gravest reviews (classify severity 3) get half the time. */
	sla = in->severity >= 3 ? (st->sla_hours + 1) / 2 : st->sla_hours;
	w = PUT_LIT(w, "due_at");
	/* Only no_reply starts with an n: it is due never. */
	if (in->has_created && action[0] != 'n')
		w = put_int(b, w, in->created_at + sla * 3600);
	else
		*w++ = (char)0xc0;
	w = PUT_LIT(w, "followup_at");
	if (in->has_created && followup)
		w = put_int(b, w, in->created_at + sla * 3600 +
		    st->followup_days * 86400);
	else
		*w++ = (char)0xc0;
	w = PUT_LIT(w, "template");
	/* nused <= REPLY_MAXTMPL: a fixarray or an array 16. */
	if (c->nused < 16)
		*w++ = (char)(0x90 | c->nused);
	else {
		*w++ = (char)0xdc;
		*w++ = 0;
		*w++ = (char)c->nused;
	}
	for (i = 0; i < c->nused; i++)
		w = put_tmpl(w, c->used[i].s, c->used[i].v + 1);
	if (in->rcase == RC_FAKE) {
		w = PUT_LIT(w, "moderation");
		*w++ = (char)0xc3;
	}
	if (has_fallback) {
		w = PUT_LIT(w, "fallback");
		w = put_str(w, fallback.p, fallback.n);
	}
	b->len = (size_t)(w - b->p);
	b->p[b->len] = '\0';
	return stage_emit(ctx, b->p, b->len);
}

static int
reply_process(struct stage_ctx *ctx, const struct rec *r)
{
	struct reply_state *st = ctx->priv;
	struct reply_info in;
	struct compose c;
	const char *why, *action = "public_reply";
	char detail[160];
	bool followup = false, has_fallback = false;
	struct slice fallback = { NULL, 0 };

	if (st->check != NULL)
		return reply_check_process(ctx, st, r);
	if ((why = reply_read(r, &in, detail, sizeof(detail))) != NULL)
		return stage_reject(ctx, r, why, "%s", detail);

	memset(&c, 0, offsetof(struct compose, used));
	c.st = st;
	c.in = &in;
	c.b = in.has_lang ? reply_bank_for(st, in.lang) : NULL;
	if (c.b == NULL) {
		c.b = &st->banks[st->en];
		has_fallback = true;
		fallback = in.has_lang ? in.lang : SLICE_LIT("missing");
	}
	c.h = XXH3_64bits_withSeed(in.text.p, in.text.n,
	    XXH3_64bits(in.id.p, in.id.n));
	buf_reset(&st->pub);
	buf_reset(&st->prv);
	buf_reset(&st->fup);
	buf_reset(&st->fres);

	switch (in.rcase) {
	case RC_NEGATIVE:
		compose_negative(&c, r);
		followup = true;
		break;
	case RC_NEUTRAL:
	case RC_POSITIVE:
		compose_positive(&c, r, in.rcase == RC_NEUTRAL);
		break;
	case RC_FAKE:
		action = "request_details";
		c.part = 0;
		greet(&c, &st->pub);
		sayf(&c, &st->pub, RS_FAKE_PUBLIC, '\n');
		sign(&c, &st->pub);
		c.part = 1;
		greet(&c, &st->prv);
		sayf(&c, &st->prv, RS_FAKE_PRIVATE, '\n');
		sign(&c, &st->prv);
		c.part = 2;
		greet(&c, &st->fup);
		sayf(&c, &st->fup, RS_FAKE_FOLLOWUP, '\n');
		sign(&c, &st->fup);
		followup = true;
		break;
	case RC_ABUSIVE:
		/* No argument in public: one neutral line at most. */
		if (st->ignore_abusive)
			action = "no_reply";
		else {
			action = "report_to_platform";
			sayf(&c, &st->pub, RS_ABUSIVE_PUBLIC, 0);
		}
		break;
	case RC_MISMATCH:
		c.part = 0;
		greet(&c, &st->pub);
		sayf(&c, &st->pub, RS_MISMATCH_PUBLIC, '\n');
		sign(&c, &st->pub);
		break;
	}
	return reply_emit(ctx, r, &c, action, &in, followup, fallback,
	    has_fallback);
}

/* ---- lifecycle -------------------------------------------------------------- */

static int
reply_init(struct stage_ctx *ctx)
{
	struct reply_state *st;
	struct slice data;
	const char *s;
	char name[64], err[256];
	size_t i;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	ctx->priv = st;
	buf_init(&st->pub);
	buf_init(&st->prv);
	buf_init(&st->fup);
	buf_init(&st->fres);
	buf_init(&st->fold);
	buf_init(&st->tmp);

	s = opt_str(ctx, "refunds");
	if (strcmp(s, "yes") == 0)
		st->refunds = true;
	else if (strcmp(s, "no") != 0)
		return stage_usage_error(ctx, "--refunds must be yes or no, "
		    "not '%s'", s);
	s = opt_str(ctx, "tone");
	if (strcmp(s, "formal") == 0)
		st->tone = REPLY_TONE_FORMAL;
	else if (strcmp(s, "friendly") == 0)
		st->tone = REPLY_TONE_FRIENDLY;
	else
		return stage_usage_error(ctx, "--tone must be formal or "
		    "friendly, not '%s'", s);
	s = opt_str(ctx, "abusive");
	if (strcmp(s, "ignore") == 0)
		st->ignore_abusive = true;
	else if (strcmp(s, "report") != 0)
		return stage_usage_error(ctx, "--abusive must be report or "
		    "ignore, not '%s'", s);
	st->signature = opt_str(ctx, "signature");
	st->sla_hours = opt_int(ctx, "sla-hours");
	st->followup_days = opt_int(ctx, "followup-days");
	st->revisions = opt_int(ctx, "free-revisions");

	st->en = -1;
	for (i = 0; i < sizeof(reply_langs) / sizeof(reply_langs[0]); i++) {
		snprintf(name, sizeof(name), "reply/%s.txt", reply_langs[i]);
		if (!reply_model_exists(ctx, name))
			continue;
		if (stage_model(ctx, name, &data) == -1)
			return -1;
		if (reply_bank_load(&st->banks[st->nbanks], reply_langs[i],
		    data.p, data.n, err, sizeof(err)) == -1)
			return stage_fail(ctx, "model '%s': %s", name, err);
		if (strcmp(reply_langs[i], "en") == 0)
			st->en = st->nbanks;
		st->nbanks++;
	}
	if (st->en == -1)
		return stage_fail(ctx, "no phrase bank 'reply/en.txt'");
	if (opt_flag(ctx, "check"))
		return reply_check_init(ctx, st);
	return 0;
}

static int
reply_finish(struct stage_ctx *ctx)
{
	struct reply_state *st = ctx->priv;

	if (st->check != NULL)
		return reply_check_finish(ctx, st);
	return 0;
}

static void
reply_free(struct stage_ctx *ctx)
{
	struct reply_state *st = ctx->priv;
	int i;

	if (st == NULL)
		return;
	reply_check_free(st);
	for (i = 0; i < st->nbanks; i++)
		reply_bank_release(&st->banks[i]);
	buf_release(&st->pub);
	buf_release(&st->prv);
	buf_release(&st->fup);
	buf_release(&st->fres);
	buf_release(&st->fold);
	buf_release(&st->tmp);
	free(st);
	ctx->priv = NULL;
}

const struct stage reply_stage = {
	.name = "reply",
	.summary = "plan a reply to every review, in the review's language",
	.opts = reply_opts,
	.init = reply_init,
	.process = reply_process,
	.finish = reply_finish,
	.free = reply_free,
};
