/*
 * classify_test - unit tests of classify's pieces: folding and tokens,
 * negation scopes, the lexicon matcher, the JSON reader, the trainer's
 * determinism, and the analysis on the built-in models (kind, topics,
 * stars, evidence).  Whole records are covered by testdata/classify/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"
#include "models.h"

static struct arena arena = ARENA_INIT;
static struct cls_models builtin;

static struct slice
model_bytes(const char *name)
{
	const struct model_file *mf;

	for (mf = model_files; mf->name != NULL; mf++)
		if (strcmp(mf->name, name) == 0)
			return (struct slice){ (const char *)mf->data,
			    mf->len };
	fail_msg("no built-in model '%s'", name);
	return (struct slice){ NULL, 0 };
}

static int
setup_models(void **state)
{
	static const char *const names[CLS_NLANG] = {
		"classify/lex.ar.txt", "classify/lex.el.txt",
		"classify/lex.en.txt", "classify/lex.fa.txt",
		"classify/lex.kk.txt", "classify/lex.ru.txt",
		"classify/lex.tr.txt"
	};
	struct slice lex[CLS_NLANG];
	char err[256];
	int l;

	(void)state;
	for (l = 0; l < CLS_NLANG; l++)
		lex[l] = model_bytes(names[l]);
	return cls_models_load(&builtin, model_bytes("classify/sentiment.bin"),
	    lex, model_bytes("classify/lex.all.txt"), err, sizeof(err));
}

static int
teardown_models(void **state)
{
	(void)state;
	cls_models_release(&builtin);
	arena_release(&arena);
	return 0;
}

/* The folded buffer of `s`, without the outer spaces, in the arena. */
static const char *
folded(const char *s)
{
	struct cls_text t;

	cls_norm(&arena, s, strlen(s), &t);
	assert_true(t.len >= 2);
	t.buf[t.len - 1] = '\0';
	return t.buf + 1;
}

static void
test_classify_norm_kazakh_letters_as_russian(void **state)
{
	(void)state;
	assert_string_equal(folded("Қазақ тілі ӘӨҮҰҒҢҺІ"),
	    "казак тили аоуугнхи");
}

static void
test_classify_norm_greek_accents_and_final_sigma(void **state)
{
	(void)state;
	assert_string_equal(folded("Καθυστέρησε πολύ, ΚΑΚΌΣ"),
	    "καθυστερησε πολυ κακοσ");
}

static void
test_classify_norm_arabic_diacritics_tatweel_alef(void **state)
{
	(void)state;
	/* Harakat and tatweel go, أ إ آ become ا, ة becomes ه, ى becomes ي. */
	assert_string_equal(folded("مُمْتـــاز أحمد إلى آخر الخدمة"),
	    "ممتاز احمد الي اخر الخدمه");
}

static void
test_classify_norm_digits_and_apostrophes(void **state)
{
	(void)state;
	assert_string_equal(folded("٥ أيام, I didn't get it"),
	    "5 ايام i didnt get it");
}

static void
test_classify_norm_tokens_point_into_the_source(void **state)
{
	const char *s = "Опоздал на 5 ДНЕЙ!";
	struct cls_text t;

	(void)state;
	cls_norm(&arena, s, strlen(s), &t);
	assert_int_equal(t.ntok, 4);
	assert_int_equal(t.tok[3].slen, strlen("ДНЕЙ"));
	assert_memory_equal(s + t.tok[3].soff, "ДНЕЙ", t.tok[3].slen);
	assert_true(t.tok[2].flags & CLS_TOK_NUM);
	assert_true(t.tok[3].flags & CLS_TOK_UPPER);
	assert_int_equal(t.nexcl, 1);
}

static void
test_classify_norm_invalid_utf8_is_a_separator(void **state)
{
	const char s[] = "good\xff\xfe" "bad";
	struct cls_text t;

	(void)state;
	cls_norm(&arena, s, sizeof(s) - 1, &t);
	assert_int_equal(t.ntok, 2);
}

static void
test_classify_norm_latin_lookalikes_in_cyrillic_words(void **state)
{
	const char *s = "cука idiot";
	struct cls_text t;

	(void)state;
	cls_norm(&arena, s, strlen(s), &t);
	assert_int_equal(t.ntok, 2);
	assert_int_equal(t.tok[0].len, strlen("сука"));
	assert_memory_equal(t.buf + t.tok[0].off, "сука", t.tok[0].len);
	/* A Latin word stays Latin. */
	assert_memory_equal(t.buf + t.tok[1].off, "idiot", 5);
}

/*
 * cls_norm() (word loop by table, code points kept for the n-grams) must
 * give what the plain cls_norm_ref() gives, field by field, and the same
 * feature rows: on awkward strings, and on strings drawn from pieces of
 * every script, marks, apostrophes, emoji, capitals and invalid bytes.
 */
static void
norm_same(const char *s, size_t n)
{
	static uint32_t fa[CLS_MAX_FEATURES], fb[CLS_MAX_FEATURES];
	struct cls_text a, b;
	size_t i, na, nb, ca, cb;
	int l;

	cls_norm(&arena, s, n, &a);
	cls_norm_ref(&arena, s, n, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len + 1);
	assert_int_equal(a.ntok, b.ntok);
	assert_int_equal(a.nexcl, b.nexcl);
	assert_int_equal(a.nletters, b.nletters);
	assert_int_equal(a.nupper, b.nupper);
	assert_memory_equal(a.script, b.script, sizeof(a.script));
	for (i = 0; i < a.ntok; i++) {
		assert_int_equal(a.tok[i].off, b.tok[i].off);
		assert_int_equal(a.tok[i].len, b.tok[i].len);
		assert_int_equal(a.tok[i].flags, b.tok[i].flags);
		assert_int_equal(a.tok[i].soff, b.tok[i].soff);
		/* cls_norm_ref() leaves an empty token's slen unset. */
		if (b.tok[i].len > 0)
			assert_int_equal(a.tok[i].slen, b.tok[i].slen);
	}
	for (l = 0; l <= CLS_NLANG; l++) {
		cls_mark_neg(&a, (enum cls_lang)l);
		cls_mark_neg(&b, (enum cls_lang)l);
		na = cls_features(&builtin.model.cfg, (enum cls_lang)l, &a, fa,
		    CLS_MAX_FEATURES, &ca);
		nb = cls_features(&builtin.model.cfg, (enum cls_lang)l, &b, fb,
		    CLS_MAX_FEATURES, &cb);
		assert_int_equal(na, nb);
		assert_int_equal(ca, cb);
		assert_memory_equal(fa, fb, na * sizeof(*fa));
	}
	arena_reset(&arena);
}

static void
test_classify_norm_fast_path_equals_reference(void **state)
{
	static const char *const fixed[] = {
		"", " ", "a", "A", "AB", "!!", "ـ", "ـ ـ", "ـمرحبا",
		"don't ’tis it’s", "Опоздал на 5 ДНЕЙ!", "cука idiot",
		"good\xff\xfe" "bad", "tail\xc3", "\xd0", "e\xcc\x81t\xcc\x81",
		"İSTANBUL ışık Şahane", "ΆΈΉΊΌΎΏ ΐΰ όμορφος", "Әсем ҚАЗАҚ ұнады",
		"لَا أُحِبُّ هذا", "خیلی خوب بود ۵ ستاره", "ab\xe2\x80\x8d" "cd",
		"\xe2\x84\xaa" "elvin \xe2\x84\xab", "日本語 テスト", "👍🔥 ok 😊",
		"x\xcd\x8f" "y", "pаypаl", "123 4,5 ٣٤", "word\xef\xbb\xbf" "next",
	};
	static const char *const piece[] = {
		"a", "Z", "é", "É", "ß", "ı", "İ", "ş", "ğ", "7", "٥", "۵",
		"д", "Д", "ё", "қ", "Қ", "і", "ұ", "ά", "Σ", "ς", "ώ", "ل",
		"أ", "ـ", "\xd9\x8e", "\xd9\xb0", "ی", "ک", "پ", "'", "’",
		"\xcc\x81", "\xcc\x87", "\xe2\x80\x8d", "\xc2\xad", "👍",
		"©", "\xe2\x84\xaa", "日", " ", " ", "  ", ".", ",", "!", "?",
		"-", "…", "\n", "\xff", "\xc3", "\xe2\x82", "c", "o", "p",
	};
	char s[256];
	uint64_t r = 42;
	size_t i, n, k;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		norm_same(fixed[i], strlen(fixed[i]));
	for (i = 0; i < 3000; i++) {
		size_t len = 0;

		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (size_t)(r >> 59);
		for (k = 0; k < 4 * n; k++) {
			const char *pc;

			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			pc = piece[(r >> 33) % (sizeof(piece) / sizeof(piece[0]))];
			if (len + strlen(pc) >= sizeof(s))
				break;
			memcpy(s + len, pc, strlen(pc));
			len += strlen(pc);
		}
		norm_same(s, len);
	}
}

/*
 * The word cache gives the probabilities of the rows one by one, the
 * first time a word is seen (a miss) and after (a hit), for words longer
 * than an entry holds, symbols, negation scopes and every language.
 */
static void
test_classify_word_cache_equals_rows(void **state)
{
	static const char *const texts[] = {
		"not good at all, never again!!!", "GREAT JOB, REALLY GREAT",
		"Заказ отменили без предупреждения", "жақсы емес 👍 👍",
		"δεν πήρα καμία απάντηση", "لا أنصح به ابدا", "çok güzel değil",
		"Antidisestablishmentarianism-antidisestablishmentarianism",
		"خیلی خوب بود", "ok", "", "🔥", "5 days late, 5 days late",
	};
	const struct cls_lex *lx;
	struct cls_tcache *tc = cls_tcache_new();
	struct cls_text t;
	struct cls_match *mt;
	float pa[CLS_NCLASS], pb[CLS_NCLASS];
	size_t i, nm;
	uint64_t lookups, misses;
	int l, round;

	(void)state;
	assert_non_null(tc);
	for (round = 0; round < 2; round++)
		for (l = 0; l <= CLS_NLANG; l++)
			for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
				cls_norm(&arena, texts[i], strlen(texts[i]), &t);
				cls_mark_neg(&t, (enum cls_lang)l);
				lx = &builtin.lex[l];
				mt = cls_lex_match(lx, &t, &arena, &nm);
				cls_text_predict(&builtin.model, tc,
				    (enum cls_lang)l, &t, lx, mt, nm, 4096,
				    &arena, NULL, pa);
				cls_text_predict(&builtin.model, NULL,
				    (enum cls_lang)l, &t, lx, mt, nm, 4096,
				    &arena, NULL, pb);
				assert_memory_equal(pa, pb, sizeof(pa));
				arena_reset(&arena);
			}
	cls_tcache_stats(tc, &lookups, &misses);
	assert_true(misses > 0);
	assert_true(lookups >= 2 * misses);
	cls_tcache_free(tc);
}

static void
test_classify_negation_prefix_scope_ends_at_a_break(void **state)
{
	const char *s = "not good at all, great";
	struct cls_text t;

	(void)state;
	cls_norm(&arena, s, strlen(s), &t);
	cls_mark_neg(&t, CLS_EN);
	assert_true(t.tok[0].flags & CLS_TOK_NEGATOR);
	assert_true(t.tok[1].flags & CLS_TOK_NEG);
	assert_false(t.tok[4].flags & CLS_TOK_NEG);
}

static void
test_classify_negation_kazakh_postfix(void **state)
{
	const char *s = "жұмыс жақсы емес";
	struct cls_text t;

	(void)state;
	cls_norm(&arena, s, strlen(s), &t);
	cls_mark_neg(&t, CLS_KK);
	assert_true(t.tok[1].flags & CLS_TOK_NEG);
	assert_true(t.tok[2].flags & CLS_TOK_NEGATOR);
}

static void
test_classify_lex_prefix_and_multiword(void **state)
{
	const char *lex = "# test\nneg: ужасн*\ntopic.delivery: не пришел | "
	    "опозда*\n";
	const char *s = "Ужасный продавец, заказ не пришёл";
	struct cls_lex lx;
	struct cls_match *m;
	struct cls_text t;
	char err[128];
	size_t n;

	(void)state;
	assert_int_equal(cls_lex_load(&lx, slice_from(lex), err, sizeof(err)),
	    0);
	cls_norm(&arena, s, strlen(s), &t);
	m = cls_lex_match(&lx, &t, &arena, &n);
	assert_int_equal(n, 2);
	assert_int_equal(lx.e[m[0].entry].cls, CLS_LX_NEG);
	assert_int_equal(lx.e[m[1].entry].cls, CLS_LX_TOPIC + 0);
	assert_int_equal(m[1].nw, 2);
	cls_lex_release(&lx);
}

static void
test_classify_lex_unknown_class_is_an_error(void **state)
{
	struct cls_lex lx;
	char err[128];

	(void)state;
	assert_int_equal(cls_lex_load(&lx, slice_from("pos: ok\nmood: x\n"),
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	cls_lex_release(&lx);
}

static void
test_classify_json_unescapes_and_skips(void **state)
{
	const char *line = "{\"text\":\"a\\\"b \\ud83d\\ude00\",\"n\":3,"
	    "\"o\":{\"x\":[1,{}]},\"topics\":[\"price\",\"scope\"],"
	    "\"r\":null}";
	const struct cls_json_kv *kv;
	struct cls_json j;

	(void)state;
	assert_int_equal(cls_json_parse(line, strlen(line), &arena, &j), 0);
	kv = cls_json_get(&j, "text");
	assert_non_null(kv);
	assert_int_equal(kv->s.n, strlen("a\"b \xf0\x9f\x98\x80"));
	assert_memory_equal(kv->s.p, "a\"b \xf0\x9f\x98\x80", kv->s.n);
	assert_true(cls_json_get(&j, "n")->num == 3);
	assert_int_equal(cls_json_get(&j, "topics")->narr, 2);
	assert_int_equal(cls_json_get(&j, "r")->type, CLS_JSON_NULL);
	assert_int_equal(cls_json_parse("[1]", 3, &arena, &j), -1);
}

/* Train a tiny model from two toy classes (nb: NB ratio smoothing). */
static void
toy_train(char **out, size_t *outlen, double nb)
{
	static const char *const pos[] = { "great fast work", "excellent",
	    "great seller", "fast and great" };
	static const char *const neg[] = { "awful late work", "terrible",
	    "awful seller", "late and awful" };
	struct cls_cfg cfg = { 12, 1, 3, 1, 1, 0, 1, 1 };
	struct cls_train_opts o = { 20, 0.2, 0, 7, false, false, nb, 1 };
	struct cls_example ex[8];
	uint32_t *f = malloc(CLS_MAX_FEATURES * sizeof(*f));
	size_t i;

	assert_non_null(f);
	for (i = 0; i < 8; i++) {
		const char *s = i < 4 ? pos[i] : neg[i - 4];
		struct cls_text t;
		size_t nchar, n;

		cls_norm(&arena, s, strlen(s), &t);
		n = cls_features(&cfg, CLS_EN, &t, f, CLS_MAX_FEATURES, &nchar);
		ex[i].f = malloc(n * sizeof(*f));
		assert_non_null(ex[i].f);
		memcpy(ex[i].f, f, n * sizeof(*f));
		ex[i].n = (uint32_t)n;
		ex[i].nchar = (uint32_t)nchar;
		ex[i].label = i < 4 ? CLS_POS : CLS_NEG;
		ex[i].lang = CLS_EN;
	}
	assert_int_equal(cls_train(&cfg, &o, ex, 8, out, outlen), 0);
	for (i = 0; i < 8; i++)
		free(ex[i].f);
	free(f);
}

static void
test_classify_train_is_deterministic_and_learns(void **state)
{
	struct cls_model m;
	struct cls_text t;
	uint32_t *f = malloc(CLS_MAX_FEATURES * sizeof(*f));
	char *a, *b, err[128];
	size_t na, nb, n, nchar;
	float p[CLS_NCLASS];

	(void)state;
	assert_non_null(f);
	toy_train(&a, &na, 0);
	toy_train(&b, &nb, 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(cls_model_load(&m, (struct slice){ a, na }, err,
	    sizeof(err)), 0);
	cls_norm(&arena, "awful and late", 14, &t);
	n = cls_features(&m.cfg, CLS_EN, &t, f, CLS_MAX_FEATURES, &nchar);
	cls_model_predict(&m, f, n, nchar, p);
	assert_true(p[CLS_NEG] > p[CLS_POS]);
	cls_model_release(&m);
	assert_int_equal(cls_model_load(&m, (struct slice){ a, na - 1 }, err,
	    sizeof(err)), -1);
	free(a);
	free(b);
	free(f);
}

/*
 * With NB scaling (--nb) the ratios are folded into the stored weights:
 * same file size and format, deterministic, and it still learns both
 * classes.
 */
static void
test_classify_train_nb_folds_ratios_into_weights(void **state)
{
	static const char *const probe[] = { "awful and late", "great fast" };
	struct cls_model m;
	struct cls_text t;
	uint32_t *f = malloc(CLS_MAX_FEATURES * sizeof(*f));
	char *a, *b, *plain, err[128];
	size_t na, nb, np, n, nchar, i;
	float p[CLS_NCLASS];

	(void)state;
	assert_non_null(f);
	toy_train(&a, &na, 1);
	toy_train(&b, &nb, 1);
	toy_train(&plain, &np, 0);
	assert_int_equal(na, nb);
	assert_int_equal(na, np);
	assert_memory_equal(a, b, na);
	assert_true(memcmp(a, plain, na) != 0);
	assert_int_equal(cls_model_load(&m, (struct slice){ a, na }, err,
	    sizeof(err)), 0);
	for (i = 0; i < 2; i++) {
		cls_norm(&arena, probe[i], strlen(probe[i]), &t);
		n = cls_features(&m.cfg, CLS_EN, &t, f, CLS_MAX_FEATURES,
		    &nchar);
		cls_model_predict(&m, f, n, nchar, p);
		if (i == 0)
			assert_true(p[CLS_NEG] > p[CLS_POS]);
		else
			assert_true(p[CLS_POS] > p[CLS_NEG]);
	}
	cls_model_release(&m);
	free(a);
	free(b);
	free(plain);
	free(f);
}

static void
analyze(const char *text, const char *lang, int rating, int tmpl,
    struct cls_result *res)
{
	struct cls_input in;

	in.text = slice_from(text);
	in.lang = slice_from(lang);
	in.rating = rating;
	in.template_n = tmpl;
	cls_analyze(&builtin, &in, &arena, res);
	assert_true(res->score >= -1 && res->score <= 1);
}

static void
test_classify_freelance_situations_in_english(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("He cancelled the order without asking me.", "en", 0, 0, &r);
	assert_true(r.topics & (1u << 3));
	analyze("No answer to my messages for 3 days.", "en", 0, 0, &r);
	assert_true(r.topics & (1u << 2));
	assert_int_equal(r.sent, CLS_NEG);
	assert_int_equal(r.kind, CLS_GENUINE);
	analyze("Delivered 5 days late.", "en", 0, 0, &r);
	assert_true(r.topics & (1u << 0));
	analyze("The seller refused to refund my money.", "en", 0, 0, &r);
	assert_true(r.topics & (1u << 4));
	assert_int_equal(r.severity, 3);
}

/* `#` is one number token, in any place of a term (the first too). */
static void
test_classify_lex_number_placeholder(void **state)
{
	const char *lex = "topic.scope: asked for # extra | # lira daha\n"
	    "topic.price: # stars\n";
	static const struct {
		const char *text;
		int nmatch;
	} cases[] = {
		{ "He asked for 50 extra.", 1 },
		{ "he asked for ٥٠ extra", 1 },		/* Arabic-Indic */
		{ "He asked for ۵۰ extra", 1 },		/* Persian */
		{ "He asked for fifty extra.", 0 },	/* a word, no number */
		{ "He asked for extra.", 0 },		/* no token skipped */
		{ "He asked for 5a extra.", 0 },	/* not all digits */
		{ "He asked for 50 100 extra.", 0 },	/* one token only */
		{ "Sonra 50 lira daha istedi", 1 },
		{ "50 lira daha", 1 },
		{ "lira daha", 0 },
		{ "#", 0 },
	};
	struct cls_lex lx;
	struct cls_match *m;
	struct cls_text t;
	char err[128];
	size_t i, n;

	(void)state;
	assert_int_equal(cls_lex_load(&lx, slice_from(lex), err, sizeof(err)),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cls_norm(&arena, cases[i].text, strlen(cases[i].text), &t);
		m = cls_lex_match(&lx, &t, &arena, &n);
		if ((int)n != cases[i].nmatch)
			fail_msg("'%s': %zu matches", cases[i].text, n);
		if (n == 1 && lx.e[m[0].entry].cls != CLS_LX_TOPIC + 6)
			fail_msg("'%s': class %d", cases[i].text,
			    lx.e[m[0].entry].cls);
	}
	cls_lex_release(&lx);
}

/* "asked for N extra" in the seven languages is the scope topic. */
static void
test_classify_asked_for_n_extra_is_scope(void **state)
{
	static const struct {
		const char *lang, *text;
	} cases[] = {
		{ "en", "Paid 200 dollars, he asked for 50 extra before "
		    "sending the source files." },
		{ "en", "The designer wanted 30 more to finish the logo." },
		{ "ru", "Договорились на 5000, а он попросил ещё 2000." },
		{ "ar", "اتفقنا على 50 دولار وبعدين طلب 30 زيادة" },
		{ "ar", "دفعت المبلغ كاملا ثم طلب ٣٠ دولار زيادة" },
		{ "el", "Πλήρωσα 100 ευρώ και μετά ζήτησε άλλα 20." },
		{ "kk", "Жұмысты бітірмей, тағы 5000 сұрады." },
		{ "tr", "Anlaştığımız fiyat belliydi, sonra 50 lira daha "
		    "istedi." },
		{ "fa", "بعد از توافق ۵۰ هزار تومان بیشتر خواست" },
	};
	struct cls_result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		analyze(cases[i].text, cases[i].lang, 1, 0, &r);
		if (!(r.topics & (1u << 6)))
			fail_msg("%s: '%s': topics %#x", cases[i].lang,
			    cases[i].text, r.topics);
	}
	/* A price said with a number is no request for more. */
	analyze("I would pay 20 dollars more for a better speaker.", "en", 4,
	    0, &r);
	assert_false(r.topics & (1u << 6));
	analyze("Δώστε 30 ευρώ παραπάνω και πάρτε άλλο.", "el", 3, 0, &r);
	assert_false(r.topics & (1u << 6));
}

static void
test_classify_kind_words_with_one_star_is_mismatch(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("Excellent work, very professional, thank you!", "en", 1, 0,
	    &r);
	assert_int_equal(r.kind, CLS_RATING_MISMATCH);
	assert_int_equal(r.sent, CLS_POS);
}

static void
test_classify_template_cluster_is_suspect_fake(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("Delivered 5 days late.", "en", 1, 3, &r);
	assert_int_equal(r.kind, CLS_SUSPECT_FAKE);
}

static void
test_classify_threat_of_court_is_abusive(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("Я подам в суд на этого продавца", "ru", 1, 0, &r);
	assert_int_equal(r.kind, CLS_ABUSIVE);
	assert_int_equal(r.severity, 3);
}

static void
test_classify_issue6_judgement_words_only_is_suspect_fake(void **state)
{
	struct cls_result r;

	(void)state;
	/* Nothing but verdicts: no fact a seller could check. */
	analyze("Terrible, very poor quality.", "en", 0, 0, &r);
	assert_int_equal(r.sent, CLS_NEG);
	assert_int_equal(r.kind, CLS_SUSPECT_FAKE);
	/* A complaint cue that is not a verdict states a fact. */
	analyze("Bad, doesnt work.", "en", 0, 0, &r);
	assert_int_equal(r.kind, CLS_GENUINE);
	assert_true(r.topics & (1u << 1));
	/* Longer than a verdict: a statement, not a drive-by. */
	analyze("Terrible, the strap broke after two days of use.", "en", 0,
	    0, &r);
	assert_int_equal(r.kind, CLS_GENUINE);
}

static void
test_classify_issue6_complaint_in_a_positive_review(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("Great phone, fast and beautiful, I love it. The only "
	    "downside is the camera at night.", "en", 5, 0, &r);
	assert_int_equal(r.sent, CLS_POS);
	assert_true(r.topics & (1u << 1));
	analyze("Great phone, fast and beautiful, I love it.", "en", 5, 0, &r);
	assert_int_equal(r.topics, 0);
}

static void
test_classify_issue6_late_work_is_not_bad_work(void **state)
{
	struct cls_result r;

	(void)state;
	/* "late" says when the work came, not that it was bad ... */
	analyze("Жұмысты 4 күнге кешіктіріп тапсырды.", "kk", 2, 0, &r);
	assert_int_equal(r.topics, 1u << 0);
	/* ... but a bad word about the work beside another cue counts. */
	analyze("The work was bad and he refused to refund my money.", "en",
	    1, 0, &r);
	assert_int_equal(r.topics, 1u << 1 | 1u << 4);
}

static void
test_classify_issue6_negator_binds_to_a_judgement(void **state)
{
	struct cls_result r;

	(void)state;
	/* "not very nice bugs": the bugs are there. */
	analyze("Есть не очень приятные баги.", "ru", 0, 0, &r);
	assert_true(r.topics & (1u << 1));
	/* "no bugs": they are not. */
	analyze("Отличная игра, нет багов.", "ru", 5, 0, &r);
	assert_int_equal(r.topics, 0);
}

static void
test_classify_evidence_quotes_the_text(void **state)
{
	const char *text = "Работа не сделана, деньги вернуть отказался.";
	struct cls_result r;
	size_t i, quoted = 0;

	(void)state;
	analyze(text, "ru", 0, 0, &r);
	assert_true(r.nevidence > 0);
	for (i = 0; i < r.nevidence; i++)
		if (r.evidence[i].p >= text &&
		    r.evidence[i].p + r.evidence[i].n <= text + strlen(text))
			quoted++;
	assert_true(quoted > 0);
}

static void
test_classify_praise_evidence_starts_with_praise(void **state)
{
	struct cls_result r;

	(void)state;
	/* reply thanks for the first phrase: not "3 days", not "күн". */
	analyze("Took 3 days but great work, very happy.", "en", 5, 0, &r);
	assert_int_equal(r.sent, CLS_POS);
	assert_true(r.nevidence > 0);
	assert_true(r.evidence[0].n == 5 &&
	    memcmp(r.evidence[0].p, "great", 5) == 0);
	analyze("Алғаныма 3-4 күн болды. Өте жақсы.", "kk", 5, 0, &r);
	assert_int_not_equal(r.sent, CLS_NEG);
	assert_true(r.nevidence > 0);
	assert_true(r.evidence[0].n == strlen("Өте жақсы") &&
	    memcmp(r.evidence[0].p, "Өте жақсы", r.evidence[0].n) == 0);
	/* A complaint still leads with what is wrong, then the facts. */
	analyze("Delivered 5 days late, very bad.", "en", 1, 0, &r);
	assert_int_equal(r.sent, CLS_NEG);
	assert_true(r.nevidence >= 2);
	assert_true(memmem(r.evidence[0].p, r.evidence[0].n, "late", 4) !=
	    NULL);
}

static void
test_classify_unknown_language_is_guessed_from_script(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("Δεν απάντησε ποτέ στα μηνύματα", "und", 0, 0, &r);
	assert_int_equal(r.lang, CLS_EL);
	assert_true(r.lang_guessed);
	analyze("👍", "", 0, 0, &r);
	assert_int_equal(r.lang, CLS_LANG_NONE);
}

static void
test_classify_empty_text_is_neutral_ground(void **state)
{
	struct cls_result r;

	(void)state;
	analyze("", "en", 0, 0, &r);
	assert_int_equal(r.topics, 0);
	assert_int_equal(r.kind, CLS_GENUINE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_norm_kazakh_letters_as_russian),
		cmocka_unit_test(
		    test_classify_norm_greek_accents_and_final_sigma),
		cmocka_unit_test(
		    test_classify_norm_arabic_diacritics_tatweel_alef),
		cmocka_unit_test(test_classify_norm_digits_and_apostrophes),
		cmocka_unit_test(
		    test_classify_norm_tokens_point_into_the_source),
		cmocka_unit_test(
		    test_classify_norm_invalid_utf8_is_a_separator),
		cmocka_unit_test(
		    test_classify_norm_latin_lookalikes_in_cyrillic_words),
		cmocka_unit_test(
		    test_classify_norm_fast_path_equals_reference),
		cmocka_unit_test(test_classify_word_cache_equals_rows),
		cmocka_unit_test(
		    test_classify_negation_prefix_scope_ends_at_a_break),
		cmocka_unit_test(test_classify_negation_kazakh_postfix),
		cmocka_unit_test(test_classify_lex_prefix_and_multiword),
		cmocka_unit_test(test_classify_lex_unknown_class_is_an_error),
		cmocka_unit_test(test_classify_lex_number_placeholder),
		cmocka_unit_test(test_classify_json_unescapes_and_skips),
		cmocka_unit_test(
		    test_classify_train_is_deterministic_and_learns),
		cmocka_unit_test(
		    test_classify_train_nb_folds_ratios_into_weights),
		cmocka_unit_test(test_classify_freelance_situations_in_english),
		cmocka_unit_test(test_classify_asked_for_n_extra_is_scope),
		cmocka_unit_test(
		    test_classify_kind_words_with_one_star_is_mismatch),
		cmocka_unit_test(
		    test_classify_template_cluster_is_suspect_fake),
		cmocka_unit_test(test_classify_threat_of_court_is_abusive),
		cmocka_unit_test(
		    test_classify_issue6_judgement_words_only_is_suspect_fake),
		cmocka_unit_test(
		    test_classify_issue6_complaint_in_a_positive_review),
		cmocka_unit_test(
		    test_classify_issue6_late_work_is_not_bad_work),
		cmocka_unit_test(
		    test_classify_issue6_negator_binds_to_a_judgement),
		cmocka_unit_test(test_classify_evidence_quotes_the_text),
		cmocka_unit_test(test_classify_praise_evidence_starts_with_praise),
		cmocka_unit_test(
		    test_classify_unknown_language_is_guessed_from_script),
		cmocka_unit_test(test_classify_empty_text_is_neutral_ground),
	};

	return cmocka_run_group_tests_name("classify", tests, setup_models,
	    teardown_models);
}
