/*
 * reply_check - `revpipe reply --check`: verify every reply of a replied
 * stream against the rules of DESIGN.md (stage reply) in machine-checkable
 * form, pass the records on unchanged, print each violation and a summary,
 * and fail (exit 1) when any rule was broken.
 *
 * The rules read the reply texts through the per-language check lists of
 * the phrase banks (check.* slots, folded stems), not through the template
 * ids, so a bank edit that breaks a rule is caught.  The reply language is
 * checked with our own language identifier (pipeline/lang.h) when the
 * langid model is built in, and always by script and by the letters that
 * tell Kazakh from Russian and Persian from Arabic.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "lang.h"
#include "rec.h"
#include "stage.h"
#include "reply.h"

#define RULES(X) \
	X(NO_REPLY, "no_reply_map") X(LANG, "lang_mismatch") \
	X(LANG_TEXT, "lang_text") X(ACTION, "action_kind") \
	X(APOLOGY, "missing_apology") X(REMEDY, "missing_remedy") \
	X(TOPIC, "missing_topic") X(BLAME, "blame") \
	X(STOCK, "stock_phrase") X(RATING, "rating_request") \
	X(GIFT, "gift_offer") X(DETAILS, "missing_details") \
	X(MODERATION, "no_moderation_flag") X(STARS, "missing_stars") \
	X(THANKS, "missing_thanks") X(DUE, "due_at") \
	X(FOLLOWUP_AT, "followup_at") X(FOLLOWUP, "missing_followup") \
	X(LENGTH, "length") X(PLACEHOLDER, "placeholder") \
	X(REFUND, "refund_offered") \
	X(RECORD, "unreadable_record")

enum rule {
#define RULE_E(id, name) R_##id,
	RULES(RULE_E)
#undef RULE_E
	R_COUNT
};

static const char *const rule_names[R_COUNT] = {
#define RULE_N(id, name) name,
	RULES(RULE_N)
#undef RULE_N
};

/* One negative review: its text and the public reply it got. */
struct pair {
	uint64_t	 text, pub;
};

struct langstat {
	char		 lang[8];
	struct pair	*v;
	size_t		 n, cap;
	uint64_t	 replies, bad;
};

struct reply_check {
	struct lang_model *lm;
	struct lang_set	 allowed;
	uint64_t	 replies, bad_replies, violations;
	uint64_t	 per_rule[R_COUNT];
	struct langstat	 langs[REPLY_MAXLANG + 1];
	int		 nlangs;
	struct buf	 fold, ours;
};

/* The fields of a reply map. */
struct rmap {
	struct slice	 action, pub, prv, fup, fres, lang, fallback;
	bool		 has_action, has_lang, has_fallback, moderation;
	bool		 has_due, has_fat;
	int64_t		 due, fat;
};

static int
lang_model_load(struct stage_ctx *ctx, struct reply_check *ck)
{
	static const char name[] = "langid/profiles.bin";
	struct slice data;
	char err[256];

	/* Without the langid model the language is checked by script. */
	if (!reply_model_exists(ctx, name))
		return 0;
	if (stage_model(ctx, name, &data) == -1)
		return -1;
	if ((ck->lm = lang_model_new(data.p, data.n, err, sizeof(err))) ==
	    NULL) {
		stage_warn(ctx, "model '%s': %s; checking the reply language "
		    "by script only", name, err);
		return 0;
	}
	if (lang_set_parse(ck->lm, "en,ru,kk,ar,el,tr,fa", &ck->allowed, err,
	    sizeof(err)) == -1)
		memset(&ck->allowed, 0, sizeof(ck->allowed));
	return 0;
}

int
reply_check_init(struct stage_ctx *ctx, struct reply_state *st)
{
	struct reply_check *ck;

	if ((ck = calloc(1, sizeof(*ck))) == NULL)
		return stage_fail_errno(ctx, "cannot start the checker");
	buf_init(&ck->fold);
	buf_init(&ck->ours);
	st->check = ck;
	return lang_model_load(ctx, ck);
}

void
reply_check_free(struct reply_state *st)
{
	struct reply_check *ck = st->check;
	int i;

	if (ck == NULL)
		return;
	lang_model_free(ck->lm);
	for (i = 0; i < ck->nlangs; i++)
		free(ck->langs[i].v);
	buf_release(&ck->fold);
	buf_release(&ck->ours);
	free(ck);
	st->check = NULL;
}

static int
read_rmap(const struct rec *r, struct rmap *m)
{
	struct slice raw, key;
	struct mp_val v;
	const char *p, *end;
	uint32_t i, n;

	memset(m, 0, sizeof(*m));
	/* Absent texts are empty, never NULL. */
	m->action = m->pub = m->prv = m->fup = m->fres = m->lang =
	    m->fallback = SLICE_LIT("");
	if (rec_get_raw(r, "reply", &raw) == -1)
		return -1;
	p = raw.p;
	end = raw.p + raw.n;
	if (mp_next(&p, end, &v) != MP_OK || v.type != MP_MAP)
		return -1;
	n = v.v.n;
	for (i = 0; i < n; i++) {
		if (mp_next(&p, end, &v) != MP_OK || v.type != MP_STR)
			return -1;
		key = v.v.s;
		if (slice_eq(key, "template")) {
			if (mp_skip(&p, end) != MP_OK)
				return -1;
			continue;
		}
		if (mp_next(&p, end, &v) != MP_OK)
			return -1;
		if (v.type == MP_ARRAY || v.type == MP_MAP)
			return -1;
		if (v.type == MP_STR) {
			if (slice_eq(key, "action")) {
				m->action = v.v.s;
				m->has_action = true;
			} else if (slice_eq(key, "public"))
				m->pub = v.v.s;
			else if (slice_eq(key, "private"))
				m->prv = v.v.s;
			else if (slice_eq(key, "followup"))
				m->fup = v.v.s;
			else if (slice_eq(key, "followup_resolved"))
				m->fres = v.v.s;
			else if (slice_eq(key, "lang")) {
				m->lang = v.v.s;
				m->has_lang = true;
			} else if (slice_eq(key, "fallback")) {
				m->fallback = v.v.s;
				m->has_fallback = true;
			}
		} else if (slice_eq(key, "moderation") && v.type == MP_BOOL)
			m->moderation = v.v.b;
		else if (slice_eq(key, "due_at"))
			m->has_due = mp_as_int(&v, &m->due);
		else if (slice_eq(key, "followup_at"))
			m->has_fat = mp_as_int(&v, &m->fat);
	}
	return 0;
}

struct checking {
	struct stage_ctx *ctx;
	struct reply_check *ck;
	struct slice	 id;
	int		 nviol;
	bool		 refunds;	/* --refunds as given to the checker */
};

static void
violation(struct checking *k, enum rule rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
violation(struct checking *k, enum rule rule, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	k->ck->violations++;
	k->ck->per_rule[rule]++;
	k->nviol++;
	stage_warn(k->ctx, "'%.*s': %s: %s", (int)(k->id.n > 80 ? 80 :
	    k->id.n), k->id.p, rule_names[rule], detail);
}

static struct slice
folded(struct reply_check *ck, struct slice s)
{
	buf_reset(&ck->fold);
	reply_fold(&ck->fold, s.p, s.n);
	return (struct slice){ ck->fold.p, ck->fold.len };
}

/*
 * The reply's own words: `s` without the spans in the bank's quote marks,
 * which are the buyer's words ("gift", "5 stars") and not ours to judge.
 */
static struct slice
ours(struct reply_check *ck, const struct reply_bank *b, struct slice s)
{
	const struct reply_slotv *qs = reply_slot(b, RS_QUOTE);
	struct slice open, close;
	const char *p = s.p, *end = s.p + s.n, *o, *c, *bar;

	if (qs == NULL)
		return s;
	open.p = b->vars[qs->first].p;
	open.n = b->vars[qs->first].n;
	if ((bar = memchr(open.p, '|', open.n)) == NULL)
		return s;
	close.p = bar + 1;
	close.n = open.p + open.n - close.p;
	open.n = bar - open.p;
	buf_reset(&ck->ours);
	while (p < end) {
		o = open.n > 0 ? memmem(p, end - p, open.p, open.n) : NULL;
		if (o == NULL || (c = memmem(o + open.n, end - o - open.n,
		    close.p, close.n)) == NULL) {
			buf_add(&ck->ours, p, end - p);
			break;
		}
		buf_add(&ck->ours, p, o - p);
		p = c + close.n;
	}
	return (struct slice){ ck->ours.p, ck->ours.len };
}

/* Check one text for the lists every reply text must avoid. */
static void
check_forbidden(struct checking *k, const struct reply_bank *b,
    const char *what, struct slice text, bool stars_ok)
{
	struct slice t, hit;

	text = ours(k->ck, b, text);
	t = folded(k->ck, text);

	if (reply_find_any(b, reply_slot(b, RS_CHECK_BLAME), t, &hit))
		violation(k, R_BLAME, "%s blames: '%.*s'", what, (int)hit.n,
		    hit.p);
	if (reply_find_any(b, reply_slot(b, RS_CHECK_STOCK), t, &hit))
		violation(k, R_STOCK, "%s has a stock phrase: '%.*s'", what,
		    (int)hit.n, hit.p);
	if (reply_find_any(b, reply_slot(b, RS_CHECK_GIFT), t, &hit))
		violation(k, R_GIFT, "%s offers a gift: '%.*s'", what,
		    (int)hit.n, hit.p);
	if (reply_find_any(b, reply_slot(b, RS_CHECK_RATING_CHANGE), t, &hit))
		violation(k, R_RATING, "%s asks to change the rating: '%.*s'",
		    what, (int)hit.n, hit.p);
	else if (!stars_ok && reply_find_any(b, reply_slot(b,
	    RS_CHECK_RATING), t, &hit))
		violation(k, R_RATING, "%s mentions the rating: '%.*s'", what,
		    (int)hit.n, hit.p);
	if (!k->refunds && reply_find_any(b, reply_slot(b,
	    RS_CHECK_REFUND_OFFER), t, &hit))
		violation(k, R_REFUND, "%s offers a refund under --refunds no: "
		    "'%.*s'", what, (int)hit.n, hit.p);
	if (memchr(text.p, '{', text.n) != NULL ||
	    memchr(text.p, '}', text.n) != NULL)
		violation(k, R_PLACEHOLDER, "%s has an unexpanded placeholder",
		    what);
}

static bool
has(struct checking *k, const struct reply_bank *b, enum reply_slot id,
    struct slice text)
{
	return reply_has_any(b, reply_slot(b, id), folded(k->ck, text));
}

static void
check_length(struct checking *k, const char *what, struct slice s,
    size_t min, size_t max)
{
	size_t n = reply_utf8_len(s);

	if (n < min || n > max)
		violation(k, R_LENGTH, "%s is %zu characters, not %zu..%zu",
		    what, n, min, max);
}

/* Letters only Kazakh writes among the Cyrillic ones. */
static bool
has_kazakh_letter(struct slice s)
{
	static const char *const kk[] = {
		"ә", "ғ", "қ", "ң", "ө", "ұ", "ү", "һ", "і",
		"Ә", "Ғ", "Қ", "Ң", "Ө", "Ұ", "Ү", "Һ", "І"
	};
	size_t i;

	for (i = 0; i < sizeof(kk) / sizeof(kk[0]); i++)
		if (memmem(s.p, s.n, kk[i], strlen(kk[i])) != NULL)
			return true;
	return false;
}

/* Letters Persian writes and Arabic does not. */
static bool
has_persian_letter(struct slice s)
{
	static const char *const fa[] = { "پ", "چ", "ژ", "گ", "ی", "ک" };
	size_t i;

	for (i = 0; i < sizeof(fa) / sizeof(fa[0]); i++)
		if (memmem(s.p, s.n, fa[i], strlen(fa[i])) != NULL)
			return true;
	return false;
}

static void
check_language(struct checking *k, struct slice lang, struct slice text)
{
	unsigned counts[LS_COUNT];
	enum lang_script want = LS_LATN, best = LS_NONE;
	struct lang_result res;
	int s;

	if (text.n == 0)
		return;
	if (slice_eq(lang, "ru") || slice_eq(lang, "kk"))
		want = LS_CYRL;
	else if (slice_eq(lang, "ar") || slice_eq(lang, "fa"))
		want = LS_ARAB;
	else if (slice_eq(lang, "el"))
		want = LS_GREK;
	memset(counts, 0, sizeof(counts));
	lang_script_counts(text.p, text.n, counts);
	for (s = LS_LATN; s < LS_COUNT; s++)
		if (best == LS_NONE || counts[s] > counts[best])
			best = s;
	if (best != want) {
		violation(k, R_LANG_TEXT, "public reply is in script %s, not "
		    "the script of '%.*s'", lang_script_name(best),
		    (int)lang.n, lang.p);
		return;
	}
	if (slice_eq(lang, "kk") && !has_kazakh_letter(text))
		violation(k, R_LANG_TEXT, "Kazakh reply without Kazakh letters");
	if (slice_eq(lang, "fa") && !has_persian_letter(text))
		violation(k, R_LANG_TEXT, "Persian reply without Persian "
		    "letters");
	if (k->ck->lm != NULL && reply_utf8_len(text) >= 40 &&
	    lang_detect(k->ck->lm, text.p, text.n, &k->ck->allowed,
	    &res) >= 0 && !slice_eq(lang, res.lang))
		violation(k, R_LANG_TEXT, "reply identified as '%s', not "
		    "'%.*s'", res.lang, (int)lang.n, lang.p);
}

static struct langstat *
langstat(struct reply_check *ck, struct slice lang)
{
	int i;

	for (i = 0; i < ck->nlangs; i++)
		if (slice_eq(lang, ck->langs[i].lang))
			return &ck->langs[i];
	if (ck->nlangs == REPLY_MAXLANG + 1)
		return &ck->langs[REPLY_MAXLANG];	/* "other" */
	snprintf(ck->langs[i].lang, sizeof(ck->langs[i].lang), "%.*s",
	    (int)(lang.n > 7 ? 7 : lang.n), lang.p);
	ck->nlangs++;
	return &ck->langs[i];
}

int
reply_check_process(struct stage_ctx *ctx, struct reply_state *st,
    const struct rec *r)
{
	struct reply_check *ck = st->check;
	struct checking k = { ctx, ck, SLICE_LIT(""), 0, st->refunds };
	const struct reply_bank *b, *want;
	struct reply_info in;
	struct rmap m;
	struct langstat *ls;
	const char *want_action, *why;
	char detail[160];
	int i;

	ck->replies++;
	if (rec_get_str(r, "id", &k.id) == -1)
		k.id = SLICE_LIT("?");
	if ((why = reply_read(r, &in, detail, sizeof(detail))) != NULL) {
		violation(&k, R_RECORD, "%s: %s", why, detail);
		goto out;
	}
	if (read_rmap(r, &m) == -1 || !m.has_action || !m.has_lang) {
		violation(&k, R_NO_REPLY, "no well-formed 'reply' map");
		goto out;
	}

	/* Language: the review's, or English with the fallback recorded. */
	want = in.has_lang ? reply_bank_for(st, in.lang) : NULL;
	if (want != NULL && !slice_eq(m.lang, want->lang))
		violation(&k, R_LANG, "reply in '%.*s', review in '%.*s'",
		    (int)m.lang.n, m.lang.p, (int)in.lang.n, in.lang.p);
	if (want == NULL && (!slice_eq(m.lang, "en") || !m.has_fallback ||
	    !slice_same(m.fallback, in.has_lang ? in.lang :
	    SLICE_LIT("missing"))))
		violation(&k, R_LANG, "unsupported language '%.*s' without an "
		    "English fallback recorded", (int)in.lang.n, in.lang.p);
	if ((b = reply_bank_for(st, m.lang)) == NULL) {
		violation(&k, R_LANG, "no bank for reply language '%.*s'",
		    (int)m.lang.n, m.lang.p);
		goto out;
	}
	check_language(&k, m.lang, m.pub);

	switch (in.rcase) {
	case RC_FAKE:		want_action = "request_details"; break;
	case RC_ABUSIVE:	want_action = "report_to_platform"; break;
	default:		want_action = "public_reply"; break;
	}
	if (!slice_eq(m.action, want_action) && !(in.rcase == RC_ABUSIVE &&
	    slice_eq(m.action, "no_reply")))
		violation(&k, R_ACTION, "action '%.*s' for this review, not "
		    "'%s'", (int)m.action.n, m.action.p, want_action);

	check_forbidden(&k, b, "public", m.pub, in.rcase == RC_MISMATCH);
	check_forbidden(&k, b, "private", m.prv, false);
	check_forbidden(&k, b, "followup", m.fup, false);

	if (slice_eq(m.action, "no_reply"))
		check_length(&k, "public", m.pub, 0, 0);
	else if (in.rcase == RC_ABUSIVE)
		check_length(&k, "public", m.pub, 0, 200);
	else
		check_length(&k, "public", m.pub, 20, 1000);
	check_length(&k, "private", m.prv, 0, 1500);
	check_length(&k, "followup", m.fup, 0, 600);
	check_length(&k, "followup_resolved", m.fres, 0, 400);

	switch (in.rcase) {
	case RC_NEGATIVE:
		if (!has(&k, b, RS_CHECK_APOLOGY, m.pub))
			violation(&k, R_APOLOGY, "no apology in public");
		if (!has(&k, b, RS_CHECK_REMEDY, m.pub) &&
		    !has(&k, b, RS_CHECK_REMEDY, m.prv))
			violation(&k, R_REMEDY, "no remedy offered");
		if (in.ntopics > 0) {
			for (i = 0; i < in.ntopics; i++)
				if (reply_has_any(b, reply_family(b,
				    RF_CHECK_TOPIC, in.topics[i]),
				    folded(ck, m.pub)))
					break;
			if (i == in.ntopics)
				violation(&k, R_TOPIC, "public names none of "
				    "the topics (first: %s)",
				    reply_topic_name(in.topics[0]));
		}
		if (m.fup.n == 0)
			violation(&k, R_FOLLOWUP, "no follow-up message");
		break;
	case RC_FAKE:
		if (!has(&k, b, RS_CHECK_DETAILS, m.pub))
			violation(&k, R_DETAILS, "public does not ask for the "
			    "order number");
		if (!m.moderation)
			violation(&k, R_MODERATION, "not flagged for "
			    "moderation");
		if (m.fup.n == 0)
			violation(&k, R_FOLLOWUP, "no follow-up message");
		break;
	case RC_MISMATCH:
		if (!has(&k, b, RS_CHECK_STARS, m.pub))
			violation(&k, R_STARS, "public does not ask about the "
			    "stars");
		/* FALLTHROUGH */
	case RC_POSITIVE:
	case RC_NEUTRAL:
		if (!has(&k, b, RS_CHECK_THANK, m.pub))
			violation(&k, R_THANKS, "public does not thank");
		break;
	case RC_ABUSIVE:
		break;
	}

	if (in.has_created && !slice_eq(m.action, "no_reply") &&
	    (!m.has_due || m.due <= in.created_at))
		violation(&k, R_DUE, "due_at missing or not after created_at");
	if (in.has_created && (in.rcase == RC_NEGATIVE ||
	    in.rcase == RC_FAKE) && (!m.has_fat || !m.has_due ||
	    m.fat <= m.due))
		violation(&k, R_FOLLOWUP_AT, "followup_at missing or not "
		    "after due_at");

	ls = langstat(ck, m.lang);
	ls->replies++;
	if (in.rcase == RC_NEGATIVE) {
		if (ls->n == ls->cap) {
			ls->cap = ls->cap ? ls->cap * 2 : 1024;
			ls->v = realloc(ls->v, ls->cap * sizeof(*ls->v));
			if (ls->v == NULL)
				return stage_fail_errno(ctx, "checker");
		}
		ls->v[ls->n].text = XXH3_64bits(in.text.p, in.text.n);
		ls->v[ls->n].pub = XXH3_64bits(m.pub.p, m.pub.n);
		ls->n++;
	}
	if (k.nviol > 0)
		ls->bad++;
out:
	if (k.nviol > 0)
		ck->bad_replies++;
	return rec_pass(ctx, r);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->text != y->text)
		return x->text < y->text ? -1 : 1;
	return 0;
}

/* Distinct public replies among negatives with distinct texts. */
static double
distinct(struct langstat *ls, size_t *texts)
{
	uint64_t *pubs;
	size_t i, n = 0, d = 0;

	*texts = 0;
	if (ls->n == 0)
		return 1.0;
	qsort(ls->v, ls->n, sizeof(*ls->v), cmp_pair);
	if ((pubs = malloc(ls->n * sizeof(*pubs))) == NULL)
		return 0.0;
	for (i = 0; i < ls->n; i++)
		if (i == 0 || ls->v[i].text != ls->v[i - 1].text)
			pubs[n++] = ls->v[i].pub;
	qsort(pubs, n, sizeof(*pubs), cmp_u64);
	for (i = 0; i < n; i++)
		if (i == 0 || pubs[i] != pubs[i - 1])
			d++;
	free(pubs);
	*texts = n;
	return (double)d / n;
}

int
reply_check_finish(struct stage_ctx *ctx, struct reply_state *st)
{
	struct reply_check *ck = st->check;
	struct buf line = BUF_INIT;
	size_t texts;
	double d;
	int i;

	if (ctx->verbose >= 0) {
		buf_addf(&line, "check: %llu replies, %llu "
		    "violations in %llu replies; language by %s",
		    (unsigned long long)ck->replies,
		    (unsigned long long)ck->violations,
		    (unsigned long long)ck->bad_replies,
		    ck->lm != NULL ? "langid and script" : "script only");
		for (i = 0; i < R_COUNT; i++)
			if (ck->per_rule[i] > 0)
				buf_addf(&line, ", %s %llu", rule_names[i],
				    (unsigned long long)ck->per_rule[i]);
		stage_note(ctx, "%s", line.p);
		for (i = 0; i < ck->nlangs; i++) {
			d = distinct(&ck->langs[i], &texts);
			stage_note(ctx, "check: %s: %llu replies, %llu with "
			    "violations, %.1f%% distinct public replies among "
			    "%zu negative texts", ck->langs[i].lang,
			    (unsigned long long)ck->langs[i].replies,
			    (unsigned long long)ck->langs[i].bad, 100.0 * d,
			    texts);
		}
		buf_release(&line);
	}
	if (ck->violations > 0)
		return stage_fail(ctx, "check failed: %llu violations in %llu "
		    "of %llu replies", (unsigned long long)ck->violations,
		    (unsigned long long)ck->bad_replies,
		    (unsigned long long)ck->replies);
	return 0;
}
