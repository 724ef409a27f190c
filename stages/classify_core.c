/*
 * classify_core - one review in, sentiment, topics, kind, severity and
 * evidence out.  Shared by the stage, classify-eval and the unit tests.
 *
 * Sentiment: the linear model's class probabilities on the text
 * (classify_model.c; lexicon polarity with negation is among its
 * features).  With stars, text and stars are blended (stars weigh 0.6),
 * unless they clearly disagree, which is kind rating_mismatch and keeps
 * the text's sentiment (a misclick or a troll, not a neutral review).
 *
 * Topics: a complaint cue of the topic's lexicon outside a negation scope
 * ("arrived late", "no answer"), in any review; and a subject word
 * ("delivery") within CLS_SUBJ_NEAR tokens of a negative word in a
 * negative review.
 *
 * kind, in this order: rating_mismatch; abusive (insults, threats of
 * court or police); suspect_fake (dedupe's template cluster of 2 or more,
 * or a negative review with no concrete fact: no number, no fact cue, and
 * either generic wording without a complaint cue or, in at most
 * CLS_SHORT_JUDGE tokens, nothing but judgement words); genuine.  A
 * genuine negative review with no topic gets quality (it complains about
 * the thing bought) unless it is short and has no lexicon word at all.
 *
 * Severity: 0 nothing to fix; 1 positive or neutral with a complaint, or
 * a star mismatch; 2 negative; 3 negative with fraud, refund or
 * cancellation, a threat, three or more topics or intensified anger, and
 * every abusive review.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "banned.h"

#define CLS_SUBJ_NEAR	4
#define CLS_SHORT_JUDGE	6
#define CLS_CONTENT_CP	4
#define CLS_NEG_BACK	4	/* how far back a prefix negator reaches */
#define CLS_STAR_WEIGHT	0.6f
#define CLS_SENT_EDGE	0.2f
#define CLS_OVERRIDE	0.65f

const char *const cls_kind_names[CLS_NKIND] = {
	"genuine", "suspect_fake", "abusive", "rating_mismatch"
};

const char *const cls_class_names[CLS_NCLASS] = { "pos", "neg", "neu" };

int
cls_class_parse(struct slice s)
{
	int c;

	for (c = 0; c < CLS_NCLASS; c++)
		if (slice_eq(s, cls_class_names[c]))
			return c;
	return -1;
}

/*
 * Neutral is the rare class (5-17% of the labelled rows): deciding it when
 * P(neu) * 2 beats the others gives the best mean three-way macro-F1 on
 * the dev split (ar en fa kk: 0.604 at 1, 0.614 at 1.6, 0.616 at 2,
 * 0.615 at 2.5).  Binary pos/neg decisions are not affected.
 */
static const float cls_class_weight[CLS_NCLASS] = { 1, 1, 2 };

int
cls_models_load(struct cls_models *m, struct slice model,
    const struct slice lex[CLS_NLANG], struct slice all, char *err,
    size_t errlen)
{
	char sub[200];
	int l;

	memset(m, 0, sizeof(*m));
	if (model.n > 0) {
		if (cls_model_load(&m->model, model, sub, sizeof(sub)) == -1) {
			snprintf(err, errlen, "sentiment model: %s", sub);
			return -1;
		}
		m->have_model = true;
	}
	for (l = 0; l <= CLS_NLANG; l++) {
		/* Kazakh reviews switch to Russian: kk gets both lexicons. */
		struct slice parts[3] = { { NULL, 0 }, all, { NULL, 0 } };
		size_t n = 0, k;
		char *text;
		int rc;

		if (l < CLS_NLANG)
			parts[0] = lex[l];
		if (l == CLS_KK)
			parts[2] = lex[CLS_RU];
		for (k = 0; k < 3; k++)
			n += parts[k].n + 1;
		if ((text = malloc(n)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (n = 0, k = 0; k < 3; k++) {
			if (parts[k].n > 0)
				memcpy(text + n, parts[k].p, parts[k].n);
			n += parts[k].n;
			text[n++] = '\n';
		}
		rc = cls_lex_load(&m->lex[l], (struct slice){ text, n }, sub,
		    sizeof(sub));
		free(text);
		if (rc == -1) {
			snprintf(err, errlen, "lexicon '%s': %s",
			    cls_lang_name(l), sub);
			return -1;
		}
	}
	return 0;
}

void
cls_models_release(struct cls_models *m)
{
	int l;

	cls_model_release(&m->model);
	cls_tcache_free(m->tc);
	m->tc = NULL;
	for (l = 0; l <= CLS_NLANG; l++)
		cls_lex_release(&m->lex[l]);
}

/* A text of unknown language still gets the emoji of lex.all. */
static const struct cls_lex *
cls_lex_for(const struct cls_models *m, enum cls_lang l)
{
	return &m->lex[l < CLS_NLANG ? l : CLS_NLANG];
}

size_t
cls_text_features(const struct cls_models *m, const struct cls_cfg *cfg,
    enum cls_lang l, const struct cls_text *t, struct arena *a,
    uint32_t *out, size_t *nchar)
{
	const struct cls_lex *lx = cls_lex_for(m, l);
	size_t n, nm = 0;
	struct cls_match *mt;

	n = cls_features(cfg, l, t, out, CLS_MAX_FEATURES, nchar);
	if (lx == NULL)
		return n;
	mt = cls_lex_match(lx, t, a, &nm);
	return cls_lex_features(cfg, l, lx, mt, nm, t, out, n,
	    CLS_MAX_FEATURES);
}

/* The original text of tokens [a, b]. */
static struct slice
cls_span(const struct cls_input *in, const struct cls_text *t, size_t a,
    size_t b)
{
	size_t s = t->tok[a].soff, e = t->tok[b].soff + t->tok[b].slen;

	if (e > in->text.n || s > e)
		return (struct slice){ in->text.p, 0 };
	return (struct slice){ in->text.p + s, e - s };
}

/*
 * Add s unless it says nothing new: the same words, or a part of a
 * phrase already there ("late" after "3 days late"); a longer phrase
 * replaces the part it contains.  Phrases point into the review text,
 * so containment is a pointer test.
 */
static void
cls_evidence(struct cls_result *res, struct slice s)
{
	size_t i;

	if (s.n == 0)
		return;
	size_t j;
	bool placed = false;

	for (i = 0; i < res->nevidence; i++) {
		struct slice e = res->evidence[i];

		if (slice_same(e, s) || (s.p >= e.p && s.p + s.n <= e.p + e.n))
			return;
	}
	/* The first part it contains gives up its place, the others go. */
	for (i = j = 0; i < res->nevidence; i++) {
		struct slice e = res->evidence[i];

		if (e.p >= s.p && e.p + e.n <= s.p + s.n) {
			if (placed)
				continue;
			e = s;
			placed = true;
		}
		res->evidence[j++] = e;
	}
	res->nevidence = j;
	if (!placed && res->nevidence < CLS_MAX_EVIDENCE)
		res->evidence[res->nevidence++] = s;
}

static void
cls_evidencef(struct cls_result *res, struct arena *a, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
cls_evidencef(struct cls_result *res, struct arena *a, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	cls_evidence(res, (struct slice){ arena_strndup(a, tmp, (size_t)n),
	    (size_t)n });
}

/* "key=N" for N >= 0, without printf. */
static void
cls_evidence_int(struct cls_result *res, struct arena *a, const char *key,
    int64_t v)
{
	char digits[24], *p;
	size_t kn = strlen(key), n = 0, i;
	uint64_t u = (uint64_t)v;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	p = arena_alloc(a, kn + n + 1);
	memcpy(p, key, kn);
	for (i = 0; i < n; i++)
		p[kn + i] = digits[n - 1 - i];
	p[kn + n] = '\0';
	cls_evidence(res, (struct slice){ p, kn + n });
}

/* Lexicon-only probabilities, when no model is loaded. */
static void
cls_lex_prob(int pos, int neg, float prob[CLS_NCLASS])
{
	float d = (float)(pos - neg);

	prob[CLS_POS] = d > 0 ? 0.7f : 0.15f;
	prob[CLS_NEG] = d < 0 ? 0.7f : 0.15f;
	prob[CLS_NEU] = d == 0 ? 0.7f : 0.15f;
}

struct cls_tally {
	int		 pos, neg, intense, abuse, threat, fact, generic;
	unsigned	 strong, subj;
	uint16_t	 negat[32];	/* token positions of negative words */
	int		 nnegat;
};

/*
 * A prefix negator binds to the first judgement word after it: in "не
 * очень приятные баги" (not very nice bugs) it negates "nice", not the
 * bugs, so a complaint cue behind that word stands.
 */
static void
cls_unbind_cues(const struct cls_lex *lx, struct cls_match *mt, size_t nm,
    const struct cls_text *t)
{
	size_t i, j, p;

	for (i = 0; i < nm; i++) {
		int c = lx->e[mt[i].entry].cls;

		if (!mt[i].neg || c < CLS_LX_TOPIC || c >= CLS_LX_SUBJ)
			continue;
		for (p = mt[i].tok; p > 0 && p + CLS_NEG_BACK > mt[i].tok; p--)
			if ((t->tok[p].flags & CLS_TOK_BREAK) ||
			    (t->tok[p - 1].flags & CLS_TOK_NEGATOR))
				break;
		if (p == 0 || !(t->tok[p - 1].flags & CLS_TOK_NEGATOR))
			continue;
		for (j = 0; j < nm; j++) {
			int d = lx->e[mt[j].entry].cls;

			if ((d == CLS_LX_POS || d == CLS_LX_NEG) &&
			    mt[j].tok >= p && mt[j].tok < mt[i].tok) {
				mt[i].neg = false;
				break;
			}
		}
	}
}

static void
cls_tally(const struct cls_lex *lx, const struct cls_match *mt, size_t nm,
    struct cls_tally *ty)
{
	size_t i, last_int = (size_t)-1;

	memset(ty, 0, sizeof(*ty));
	for (i = 0; i < nm; i++) {
		const struct cls_lex_entry *e = &lx->e[mt[i].entry];
		bool p;

		switch (e->cls) {
		case CLS_LX_INT:
			/* "не очень" (not very) softens, it does not stress. */
			if (!mt[i].neg)
				last_int = mt[i].tok;
			break;
		case CLS_LX_POS:
		case CLS_LX_NEG:
			p = (e->cls == CLS_LX_POS) != mt[i].neg;
			if (p) {
				ty->pos++;
				break;
			}
			ty->neg++;
			if (last_int + 1 == mt[i].tok)
				ty->intense++;
			if (ty->nnegat < 32)
				ty->negat[ty->nnegat++] = mt[i].tok;
			break;
		case CLS_LX_ABUSE:
			if (!mt[i].neg)
				ty->abuse++;
			break;
		case CLS_LX_THREAT:
			if (!mt[i].neg)
				ty->threat++;
			break;
		case CLS_LX_FACT:
			ty->fact++;
			break;
		case CLS_LX_GENERIC:
			ty->generic++;
			break;
		default:
			if (e->cls >= CLS_LX_TOPIC && e->cls < CLS_LX_SUBJ) {
				if (!mt[i].neg)
					ty->strong |= 1u << (e->cls -
					    CLS_LX_TOPIC);
			} else if (e->cls >= CLS_LX_SUBJ && e->cls < CLS_LX_N)
				ty->subj |= 1u << (e->cls - CLS_LX_SUBJ);
			break;
		}
	}
}

/*
 * Topics that name what happened (late, no answer, cancelled, no refund,
 * more than agreed) rather than how good something was.
 */
#define CLS_EVENT_TOPICS \
	(1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 6)

/*
 * Whether a negative word is near token tok.  A negative word inside a
 * cue of an event topic does not count: "delivered the work 4 days late"
 * says when, not that the work was bad.
 */
static bool
cls_near_neg(const struct cls_lex *lx, const struct cls_match *mt,
    size_t nm, const struct cls_tally *ty, size_t tok)
{
	size_t j;
	int i;

	for (i = 0; i < ty->nnegat; i++) {
		size_t p = ty->negat[i];
		bool event = false;

		if (p + CLS_SUBJ_NEAR < tok || p > tok + CLS_SUBJ_NEAR)
			continue;
		for (j = 0; j < nm && !event; j++) {
			int c = lx->e[mt[j].entry].cls - CLS_LX_TOPIC;

			event = c >= 0 && c < CLS_NTOPIC && !mt[j].neg &&
			    (CLS_EVENT_TOPICS & (1u << c)) &&
			    p >= mt[j].tok && p < (size_t)mt[j].tok + mt[j].nw;
		}
		if (!event)
			return true;
	}
	return false;
}

/*
 * A short negative review made of judgement words only ("Terrible, worst
 * ever.", "poor quality and service.", "Өте нашар") states no fact a
 * seller could check.  Content words are tokens of CLS_CONTENT_CP code
 * points or more that no lexicon entry covers ("and", "به", "и" are not);
 * one is allowed (the thing judged), two make it a statement ("doesn't
 * have a Greek menu", "shows the buses wrong").
 */
static bool
cls_judgement_only(const struct cls_lex *lx, const struct cls_match *mt,
    size_t nm, const struct cls_text *t, const struct cls_tally *ty)
{
	unsigned judged = 0, word = 0, cued = 0;
	size_t i, j;
	int content = 0;

	/* Praise beside the blame ("not bad, but not very good") is a
	 * weighed opinion, not a drive-by verdict. */
	if (t->ntok > CLS_SHORT_JUDGE || ty->neg == 0 || ty->pos > 0)
		return false;
	for (i = 0; i < nm; i++) {
		const struct cls_lex_entry *e = &lx->e[mt[i].entry];
		unsigned *set = e->cls >= CLS_LX_TOPIC && e->cls < CLS_LX_SUBJ ?
		    &cued : &judged;

		if (e->cls == CLS_LX_FACT)
			continue;
		for (j = mt[i].tok; j < (size_t)mt[i].tok + mt[i].nw &&
		    j < t->ntok; j++)
			*set |= 1u << j;
		if (set == &judged && mt[i].nw == 1 && mt[i].tok < t->ntok)
			word |= 1u << mt[i].tok;
	}
	/*
	 * A complaint cue made of judgement words is a verdict ("poor
	 * quality"); any other states a fact ("doesn't work", "ولا تعمل").
	 */
	if ((cued & ~word) != 0)
		return false;
	for (i = 0; i < t->ntok; i++) {
		const struct cls_tok *k = &t->tok[i];
		size_t cp = 0;

		if ((judged & (1u << i)) ||
		    (k->flags & (CLS_TOK_SYM | CLS_TOK_NEGATOR)))
			continue;
		for (j = 0; j < k->len; j++)
			if (((unsigned char)t->buf[k->off + j] & 0xc0) != 0x80)
				cp++;
		if (cp >= CLS_CONTENT_CP && ++content > 1)
			return false;
	}
	return true;
}

static bool
cls_has_negator(const struct cls_text *t)
{
	size_t i;

	for (i = 0; i < t->ntok; i++)
		if (t->tok[i].flags & CLS_TOK_NEGATOR)
			return true;
	return false;
}

/*
 * Whether a negative review says anything about what is wrong: a short
 * one with no negative word and no negator ("None", "Average", "сабақ
 * үшін керек", "Brawl Stars маған ұнайды") names no complaint, so gets
 * no default topic.
 */
static bool
cls_says_something(const struct cls_text *t, const struct cls_tally *ty)
{
	return t->ntok > CLS_SHORT_JUDGE || ty->neg > 0 || cls_has_negator(t);
}

static int
cls_popcount(unsigned v)
{
	int n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

/*
 * Evidence of the polarity words that agree with the sentiment (with the
 * negator that turns them), and with facts, the fact words, in text order.
 */
static void
cls_evidence_words(struct cls_result *res, const struct cls_input *in,
    const struct cls_lex *lx, const struct cls_match *mt, size_t nm,
    const struct cls_text *t, bool facts)
{
	size_t i;

	for (i = 0; i < nm; i++) {
		const struct cls_lex_entry *e = &lx->e[mt[i].entry];
		size_t first = mt[i].tok, last = mt[i].tok + mt[i].nw - 1;

		if (e->cls == CLS_LX_FACT ? !facts :
		    e->cls != CLS_LX_POS && e->cls != CLS_LX_NEG)
			continue;
		if (e->cls != CLS_LX_FACT &&
		    ((e->cls == CLS_LX_POS) != mt[i].neg) !=
		    (res->sent != CLS_NEG))
			continue;	/* only words that agree */
		/* Show the negator with what it negates. */
		while (mt[i].neg && first > 0 &&
		    !(t->tok[first].flags & CLS_TOK_BREAK) &&
		    (t->tok[first - 1].flags &
		    (CLS_TOK_NEG | CLS_TOK_NEGATOR)))
			first--;
		while (mt[i].neg && last + 1 < t->ntok &&
		    !(t->tok[last + 1].flags & CLS_TOK_BREAK) &&
		    (t->tok[last + 1].flags & CLS_TOK_NEGATOR))
			last++;
		cls_evidence(res, cls_span(in, t, first, last));
	}
}

void
cls_analyze(const struct cls_models *m, const struct cls_input *in,
    struct arena *a, struct cls_result *res)
{
	const struct cls_lex *lx;
	const struct cls_tokx *const *tx = NULL;
	struct cls_match *mt = NULL;
	struct cls_tally ty;
	struct cls_text t;
	size_t nm = 0, i, nnum = 0;
	float text_score;
	bool mismatch = false, override = false;
	enum cls_class model_sent;
	int c;

	memset(res, 0, sizeof(*res));
	res->lang = cls_lang_from(in->lang);
	if (res->lang == CLS_LANG_NONE) {
		cls_norm(a, in->text.p, in->text.n, &t);
		res->lang = cls_script_guess(&t);
		res->lang_guessed = res->lang != CLS_LANG_NONE;
	} else	/* Letters per script only to guess the language. */
		cls_norm_noscript(a, in->text.p, in->text.n, &t);
	lx = cls_lex_for(m, res->lang);
	/* What the word cache knows of each token, for all that follows. */
	if (m->have_model && m->tc != NULL) {
		tx = cls_tc_tokens(&m->model, m->tc, res->lang, &t, lx, a);
		cls_mark_neg_x(&t, res->lang, tx);
	} else
		cls_mark_neg(&t, res->lang);
	if (lx != NULL)
		mt = cls_lex_match_x(lx, &t, a, &nm, tx);
	if (lx != NULL)
		cls_unbind_cues(lx, mt, nm, &t);
	cls_tally(lx, mt, nm, &ty);

	if (m->have_model) {
		/*
		 * At most this many feature rows, sized to the text as when
		 * they were all kept in the scratch arena's first block:
		 * only pathological texts lose their last features.
		 */
		size_t cap = 8 * in->text.n + 256;

		if (cap > CLS_MAX_FEATURES)
			cap = CLS_MAX_FEATURES;
		cls_text_predict(&m->model, m->tc, res->lang, &t, lx, mt, nm,
		    cap, a, tx, res->prob);
	} else
		cls_lex_prob(ty.pos, ty.neg, res->prob);
	res->text_sent = CLS_POS;
	for (c = 1; c < CLS_NCLASS; c++)
		if (res->prob[c] * cls_class_weight[c] >
		    res->prob[res->text_sent] * cls_class_weight[res->text_sent])
			res->text_sent = c;
	text_score = res->prob[CLS_POS] - res->prob[CLS_NEG];
	model_sent = res->text_sent;
	/*
	 * A complaint cue with more negative than positive words is a
	 * complaint unless the model is sure otherwise: the corpus the
	 * model learnt from has few freelance complaints ("late by 3 days").
	 * With as many (often none), it still outweighs an unsure positive,
	 * not a neutral.
	 */
	if (res->text_sent != CLS_NEG && ty.strong != 0 &&
	    (ty.neg > ty.pos || (ty.neg == ty.pos &&
	    res->text_sent == CLS_POS)) && res->prob[CLS_POS] < CLS_OVERRIDE) {
		res->text_sent = CLS_NEG;
		override = true;
		if (text_score > -CLS_SENT_EDGE - 0.1f)
			text_score = -CLS_SENT_EDGE - 0.1f;
	} else if (res->text_sent == CLS_NEG && ty.strong == 0 &&
	    ty.pos >= 2 && ty.neg == 0 && res->prob[CLS_NEG] < CLS_OVERRIDE) {
		/* And praise with no complaint word ("not bad, not slow,
		 * good job") is praise unless the model is sure otherwise. */
		res->text_sent = CLS_POS;
		override = true;
		if (text_score < CLS_SENT_EDGE + 0.1f)
			text_score = CLS_SENT_EDGE + 0.1f;
	}
	res->sent = res->text_sent;
	res->score = text_score;

	/* Stars. */
	if (in->rating >= 1 && in->rating <= 5) {
		float star = (float)(in->rating - 3) / 2.0f;

		if (in->rating <= 2 && res->text_sent == CLS_POS &&
		    res->prob[CLS_POS] >= 0.7f && ty.neg == 0 &&
		    ty.strong == 0 && ty.abuse == 0)
			mismatch = true;
		else if (in->rating >= 4 && (ty.abuse > 0 || ty.threat > 0 ||
		    (res->text_sent == CLS_NEG && res->prob[CLS_NEG] >= 0.8f &&
		    ty.neg > 0 && ty.pos == 0)))
			mismatch = true;
		if (!mismatch) {
			res->score = (1 - CLS_STAR_WEIGHT) * text_score +
			    CLS_STAR_WEIGHT * star;
			res->sent = res->score > CLS_SENT_EDGE ? CLS_POS :
			    res->score < -CLS_SENT_EDGE ? CLS_NEG : CLS_NEU;
		} else if (ty.abuse > 0 || ty.threat > 0)
			res->sent = CLS_NEG;
	}
	if (res->score > 1)
		res->score = 1;
	if (res->score < -1)
		res->score = -1;

	/*
	 * Topics.  A complaint cue counts whatever the sentiment: a happy
	 * review that says "the only downside is the battery" raises
	 * quality.  A subject word counts in a negative review when a
	 * negative word is near it, also beside a cue of another topic
	 * ("poor quality and service" is about the service too).
	 */
	res->topics = ty.strong;
	if (res->sent == CLS_NEG && ty.subj != 0) {
		for (i = 0; i < nm; i++) {
			const struct cls_lex_entry *e = &lx->e[mt[i].entry];

			if (e->cls >= CLS_LX_SUBJ && e->cls < CLS_LX_N &&
			    cls_near_neg(lx, mt, nm, &ty, mt[i].tok))
				res->topics |= 1u << (e->cls - CLS_LX_SUBJ);
		}
	}

	for (i = 0; i < t.ntok; i++)
		if (t.tok[i].flags & CLS_TOK_NUM)
			nnum++;

	/* Kind. */
	if (mismatch)
		res->kind = CLS_RATING_MISMATCH;
	else if (ty.abuse > 0 || ty.threat > 0)
		res->kind = CLS_ABUSIVE;
	else if (in->template_n >= 2)
		res->kind = CLS_SUSPECT_FAKE;
	else if (res->sent == CLS_NEG && nnum == 0 && ty.fact == 0 &&
	    ((ty.strong == 0 && ty.generic > 0) ||
	    cls_judgement_only(lx, mt, nm, &t, &ty)))
		res->kind = CLS_SUSPECT_FAKE;
	else
		res->kind = CLS_GENUINE;
	/*
	 * A genuine negative review that names no more specific topic
	 * complains about the thing bought: the product or the work.
	 */
	if (res->sent == CLS_NEG && res->kind == CLS_GENUINE &&
	    res->topics == 0 && cls_says_something(&t, &ty))
		res->topics = 1u << 1;

	/* Severity. */
	if (res->kind == CLS_ABUSIVE)
		res->severity = 3;
	else if (res->sent == CLS_NEG) {
		/* fraud, refund, cancellation */
		unsigned grave = 1u << 7 | 1u << 4 | 1u << 3;

		res->severity = 2;
		if ((res->topics & grave) != 0 || ty.threat > 0 ||
		    cls_popcount(res->topics) >= 3 ||
		    (ty.intense > 0 && res->topics != 0))
			res->severity = 3;
	} else
		res->severity = res->topics != 0 || mismatch ? 1 : 0;

	/*
	 * Evidence: the buyer's own words first, then the features.  For a
	 * complaint: topic cues, abuse, a number, then facts and the
	 * polarity words that agree.  For praise the agreeing polarity words
	 * come first (reply quotes the first phrase it finds, so it must not
	 * thank for "3 days" or "late"), facts and numbers are left out.
	 */
	if (res->sent != CLS_NEG)
		cls_evidence_words(res, in, lx, mt, nm, &t, false);
	for (i = 0; i < nm; i++) {
		const struct cls_lex_entry *e = &lx->e[mt[i].entry];

		if (e->cls >= CLS_LX_TOPIC && e->cls < CLS_LX_SUBJ &&
		    (res->topics & (1u << (e->cls - CLS_LX_TOPIC))) &&
		    !mt[i].neg)
			cls_evidence(res, cls_span(in, &t, mt[i].tok,
			    mt[i].tok + mt[i].nw - 1));
	}
	for (i = 0; i < nm; i++) {
		const struct cls_lex_entry *e = &lx->e[mt[i].entry];

		if ((e->cls == CLS_LX_ABUSE || e->cls == CLS_LX_THREAT) &&
		    !mt[i].neg)
			cls_evidence(res, cls_span(in, &t, mt[i].tok,
			    mt[i].tok + mt[i].nw - 1));
	}
	if (res->sent == CLS_NEG) {
		for (i = 0; i < t.ntok && nnum > 0; i++) {
			if (!(t.tok[i].flags & CLS_TOK_NUM))
				continue;
			cls_evidence(res, cls_span(in, &t, i, i + 1 < t.ntok &&
			    !(t.tok[i + 1].flags & CLS_TOK_BREAK) ? i + 1 : i));
			break;
		}
		cls_evidence_words(res, in, lx, mt, nm, &t, true);
	}
	/* By hand: vsnprintf() was a twentieth of the stage. */
	if (in->rating >= 1 && in->rating <= 5) {
		char *sp = arena_strndup(a, "stars=0", 7);

		sp[6] = (char)('0' + in->rating);
		cls_evidence(res, (struct slice){ sp, 7 });
	}
	if (in->template_n >= 2)
		cls_evidence_int(res, a, "template=", in->template_n);
	if (m->have_model) {
		/* By hand: printf's float formatting is a visible cost here. */
		int pc = (int)(res->prob[model_sent] * 100.0f + 0.5f);
		char tmp[16] = "model=xxx 0.00";

		memcpy(tmp + 6, cls_class_names[model_sent], 3);
		tmp[10] = (char)('0' + pc / 100);
		tmp[12] = (char)('0' + pc / 10 % 10);
		tmp[13] = (char)('0' + pc % 10);
		cls_evidence(res, (struct slice){ arena_strndup(a, tmp, 14),
		    14 });
	}
	if (override)
		cls_evidencef(res, a, "rule=%s words", res->text_sent ==
		    CLS_NEG ? "complaint" : "praise");
	if (res->lang_guessed)
		cls_evidencef(res, a, "lang=%s from script",
		    cls_lang_name(res->lang));
}
