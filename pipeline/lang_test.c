/*
 * lang_test - unit tests for the language identifier (lang.c), run on the
 * profiles compiled into the binary.  Texts are written here, not taken
 * from the rows the profiles were built from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lang.h"
#include "models.h"
#include "banned.h"

static struct lang_model *model;

static int
setup(void **state)
{
	const struct model_file *f;
	char err[256];

	for (f = model_files; f->name != NULL; f++)
		if (strcmp(f->name, "langid/profiles.bin") == 0)
			break;
	if (f->name == NULL)
		return -1;
	model = lang_model_new(f->data, f->len, err, sizeof(err));
	return model == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	lang_model_free(model);
	model = NULL;
	return 0;
}

static const char *
detect(const char *text, const char *allowed, struct lang_result *res)
{
	struct lang_set set = { 0 };
	char err[128];
	int idx;

	if (allowed != NULL)
		assert_int_equal(lang_set_parse(model, allowed, &set, err,
		    sizeof(err)), 0);
	idx = lang_detect(model, text, strlen(text), &set, res);
	/* Invariants of every answer. */
	assert_true(res->conf >= 0 && res->conf <= 1);
	assert_non_null(res->script);
	assert_int_equal(strlen(res->script), 4);
	if (idx < 0) {
		assert_string_equal(res->lang, "und");
		assert_true(res->conf == 0);
	} else
		assert_string_equal(res->lang, lang_model_lang(model, idx));
	return res->lang;
}

static void
expect(const char *text, const char *lang, const char *script)
{
	struct lang_result res;

	detect(text, NULL, &res);
	if (strcmp(res.lang, lang) != 0)
		fail_msg("'%s': got %s, want %s", text, res.lang, lang);
	if (script != NULL)
		assert_string_equal(res.script, script);
}

static void
test_lang_model_rejects_bad_bytes(void **state)
{
	char err[128], junk[64];

	memset(junk, 'x', sizeof(junk));
	assert_null(lang_model_new(junk, sizeof(junk), err, sizeof(err)));
	assert_non_null(strstr(err, "magic"));
	memcpy(junk, LANG_MAGIC, 8);
	memset(junk + 8, 0xff, 16);
	assert_null(lang_model_new(junk, sizeof(junk), err, sizeof(err)));
	assert_null(lang_model_new(junk, 10, err, sizeof(err)));
	lang_model_free(NULL);
}

static const struct model_file *
profiles(void)
{
	const struct model_file *f;

	for (f = model_files; strcmp(f->name, "langid/profiles.bin") != 0; f++)
		;
	return f;
}

/* A corrupt table is refused; unaligned bytes work. */
static void
test_lang_model_checks_its_table(void **state)
{
	const struct model_file *f = profiles();
	static const char kk[] = "Жаксы зат, унады";
	struct lang_model *m;
	struct lang_result res;
	unsigned char *b;
	char err[128];
	size_t off;
	uint32_t nprof, nkeys, k0, k1;

	assert_non_null(b = malloc(f->len + 1));
	memcpy(b + 1, f->data, f->len);
	m = lang_model_new(b + 1, f->len, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(lang_detect(m, kk, strlen(kk), NULL, &res),
	    lang_detect(model, kk, strlen(kk), NULL, &res));
	assert_string_equal(res.lang, "kk");
	lang_model_free(m);

	memcpy(b, f->data, f->len);
	memcpy(&nprof, b + 8, 4);
	memcpy(&nkeys, b + 12, 4);
	off = LANG_HDR_BYTES + (size_t)nprof * LANG_PROF_BYTES;
	/* Keys out of order (a duplicate would also be). */
	memcpy(&k0, b + off, 4);
	memcpy(&k1, b + off + 4, 4);
	memcpy(b + off, &k1, 4);
	memcpy(b + off + 4, &k0, 4);
	assert_null(lang_model_new(b, f->len, err, sizeof(err)));
	assert_non_null(strstr(err, "key"));
	memcpy(b, f->data, f->len);
	/* Postings far past the end. */
	b[off + 4 * (size_t)nkeys] = 0xff;
	assert_null(lang_model_new(b, f->len, err, sizeof(err)));
	/* Cut short. */
	assert_null(lang_model_new(f->data, f->len - 1, err, sizeof(err)));
	free(b);
}

/* Any one corrupt byte is refused or gives a model that still works. */
static void
test_lang_model_survives_a_corrupt_byte(void **state)
{
	static const char *const texts[] = { "Great product, fast shipping",
	    "Доставка быстрая, спасибо", "المنتج ممتاز والتوصيل سريع" };
	const struct model_file *f = profiles();
	struct lang_result res;
	struct lang_model *m;
	unsigned char *b;
	unsigned seed = 4242;
	size_t pos, i;
	char err[128];
	int round;

	assert_non_null(b = malloc(f->len));
	for (round = 0; round < 24; round++) {
		memcpy(b, f->data, f->len);
		seed = seed * 1103515245 + 12345;
		/* Half in the header and profiles, half anywhere. */
		pos = round % 2 == 0 ? seed % (LANG_HDR_BYTES + 64 *
		    LANG_PROF_BYTES) : (size_t)seed % f->len;
		if (pos >= f->len)
			pos = f->len - 1;
		b[pos] ^= (unsigned char)(1 + (seed >> 16) % 255);
		if ((m = lang_model_new(b, f->len, err, sizeof(err))) == NULL) {
			assert_true(err[0] != '\0');
			continue;
		}
		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			lang_detect(m, texts[i], strlen(texts[i]), NULL, &res);
			assert_true(res.conf >= 0 && res.conf <= 1);
		}
		lang_model_free(m);
	}
	free(b);
}

/*
 * The word rows hold exactly what the n-grams of their words sum to: a
 * model without them gives the same answers, margins and feature counts.
 */
static void
test_lang_word_rows_match_the_ngrams(void **state)
{
	static const char *const texts[] = {
		"Great product, fast shipping, would buy again",
		"The seller never answered my messages and the item was late",
		"Urun cok guzel, hizli kargo icin tesekkurler",
		"Ürün çok güzel ama kargo biraz geç geldi, yine de teşekkürler",
		"Доставка быстрая, товар соответствует описанию",
		"Продавец не отвечает, заказ пришёл через две недели",
		"Өте жақсы, уақытында жеткізілді, рахмет",
		"Жаксы зат, унады, рахмет",
		"المنتج ممتاز والتوصيل سريع",
		"کیفیت محصول خیلی خوب بود و ارسال سریع انجام شد",
		"Швидка доставка, дякую продавцю",
		"Der Verkäufer war freundlich, die Lieferung kam schnell",
		"Le produit est arrivé cassé et personne ne répond",
		"El producto llegó tarde pero funciona bien",
		"Spasibo, vse otlichno, dostavka bystraya",
	};
	const struct model_file *f = profiles();
	struct lang_result a, b;
	struct lang_model *bare;
	unsigned char *copy;
	uint32_t nwords = 0;
	char err[128];
	size_t i;

	memcpy(&nwords, f->data + 24, 4);
	assert_true(nwords > 1000);
	assert_non_null(copy = malloc(f->len));
	memcpy(copy, f->data, f->len);
	memset(copy + 24, 0, 4);
	assert_non_null(bare = lang_model_new(copy, f->len, err,
	    sizeof(err)));
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		lang_detect(model, texts[i], strlen(texts[i]), NULL, &a);
		lang_detect(bare, texts[i], strlen(texts[i]), NULL, &b);
		assert_string_equal(a.lang, b.lang);
		assert_true(a.conf == b.conf);
		assert_true(a.margin == b.margin);
		assert_int_equal(a.features, b.features);
		assert_int_equal(a.letters, b.letters);
	}
	lang_model_free(bare);
	free(copy);
}

/* One word's row, from the table or summed here, is the same. */
static void
test_lang_word_sums_of_a_frequent_word(void **state)
{
	static const uint32_t the[] = { 't', 'h', 'e' };
	static const uint32_t nonsense[] = { 'q', 'x', 'z', 'q', 'x' };
	uint32_t sums[LANG_MAX];
	int nl, l, en = -1, i;

	nl = lang_word_sums(model, LS_LATN, the, 3, sums);
	assert_true(nl > 10);
	for (i = 0, l = 0; i < lang_model_count(model); i++)
		if (strcmp(lang_model_script(model, i), "Latn") == 0) {
			if (strcmp(lang_model_lang(model, i), "en") == 0)
				en = l;
			l++;
		}
	assert_int_equal(l, nl);
	assert_true(en >= 0);
	/* "the" is English more than anything else. */
	for (l = 0; l < nl; l++)
		assert_true(sums[l] <= sums[en]);
	assert_true(lang_word_hash(the, 3) != lang_word_hash(the, 2));
	assert_true(lang_word_hash(nonsense, 5) != 0);
}

static void
test_lang_model_has_the_languages(void **state)
{
	static const char *const want[] = { "ar", "fa", "ur", "kk", "ru",
	    "uk", "bg", "el", "en", "tr", "fr", "de", "es", "it", "pt", "nl",
	    "pl", "id", "az", "uz", NULL };
	struct lang_set set;
	char err[128];
	int i;

	assert_true(lang_model_count(model) >= 20);
	for (i = 0; want[i] != NULL; i++)
		assert_int_equal(lang_set_parse(model, want[i], &set, err,
		    sizeof(err)), 0);
}

static void
test_lang_script_of(void **state)
{
	assert_int_equal(lang_script_of('a'), LS_LATN);
	assert_int_equal(lang_script_of(0x0416), LS_CYRL);	/* Ж */
	assert_int_equal(lang_script_of(0x04d9), LS_CYRL);	/* ә */
	assert_int_equal(lang_script_of(0x0639), LS_ARAB);	/* ع */
	assert_int_equal(lang_script_of(0x03bb), LS_GREK);	/* λ */
	assert_int_equal(lang_script_of(0xac00), LS_HANG);
	assert_int_equal(lang_script_of('1'), LS_NONE);
	assert_int_equal(lang_script_of(0x1f600), LS_NONE);	/* emoji */
	assert_string_equal(lang_script_name(LS_CYRL), "Cyrl");
	assert_int_equal(lang_script_from_name("Arab", 4), LS_ARAB);
	assert_int_equal(lang_script_from_name("Arabic", 6), LS_NONE);
}

static void
test_lang_und_without_enough_letters(void **state)
{
	expect("\xf0\x9f\x98\x80\xf0\x9f\x91\x8d", "und", "Zsye");
	expect("12345 678", "und", "Zyyy");
	expect("!!! ???", "und", "Zyyy");
	expect("", "und", "Zyyy");
	expect("ok", "und", "Latn");
	expect("\xd0\xbe\xd0\xba!", "und", "Cyrl");	/* ок! */
}

static void
test_lang_one_language_scripts_need_no_lookup(void **state)
{
	struct lang_result res;

	detect("Πολύ καλό κινητό", NULL, &res);
	assert_string_equal(res.lang, "el");
	assert_string_equal(res.script, "Grek");
	assert_int_equal(res.features, 0);
	expect("정말 좋은 제품입니다", "ko", "Hang");
	expect("とても良い商品です", "ja", "Jpan");
}

/*
 * Only the words of the chosen script are scored, wherever the words of
 * other scripts stand: before the first of them (the script of the first
 * letter loses the count and the text is scored again), between them or
 * after them.  The margin, the features and the letters are the same as
 * for those words alone; only the confidence scales with the share.
 */
static void
test_lang_other_scripts_do_not_score(void **state)
{
	static const char *const pairs[][2] = {
	    { "OK, отличный товар, спасибо большое",
		"отличный товар, спасибо большое" },
	    { "отличный товар, super, спасибо большое",
		"отличный товар, спасибо большое" },
	    { "Great product! Очень хороший товар, доставка быстрая",
		"Очень хороший товар, доставка быстрая" },
	    { "ممتاز جدا the best seller ever thank you so much",
		"the best seller ever thank you so much" },
	    { "Ürün çok güzel, спасибо", "Ürün çok güzel" },
	};
	struct lang_result a, b;
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		detect(pairs[i][0], NULL, &a);
		detect(pairs[i][1], NULL, &b);
		assert_string_equal(a.lang, b.lang);
		assert_string_equal(a.script, b.script);
		assert_true(a.margin == b.margin);
		assert_int_equal(a.features, b.features);
		assert_int_equal(a.letters, b.letters);
		assert_true(a.conf < b.conf);
	}
}

static void
test_lang_kazakh_without_kazakh_letters(void **state)
{
	expect("Жаксы зат, унады, рахмет", "kk", "Cyrl");
	expect("Маган унады, сапасы жаксы екен", "kk", "Cyrl");
	expect("Өте жақсы, уақытында жеткізілді", "kk", "Cyrl");
	expect("Доставка быстрая, товар соответствует описанию", "ru", "Cyrl");
}

/*
 * Persian typed with the Arabic yeh and kaf (an Arabic keyboard layout)
 * is Persian when it has a letter Arabic lacks; Arabic with a loanword's
 * gaf stays Arabic, and so does Persian-looking text without such a
 * letter (nothing tells it apart).
 */
static void
test_lang_persian_on_an_arabic_keyboard(void **state)
{
	struct lang_result res;

	expect("\xd8\xae\xd9\x8a\xd9\x84\xd9\x8a \xd8\xa8\xd8\xaf "
	    "\xd8\xa8\xd9\x88\xd8\xaf\xd8\x8c \xd9\x83\xd8\xa7\xd8\xb1 "
	    "\xd8\xb1\xd8\xa7 \xd8\xaf\xd9\x8a\xd8\xb1 \xd8\xaa\xd8\xad"
	    "\xd9\x88\xd9\x8a\xd9\x84 \xd8\xaf\xd8\xa7\xd8\xaf \xd9\x88 "
	    "\xd9\xbe\xd9\x88\xd9\x84 \xd8\xa7\xd8\xb6\xd8\xa7\xd9\x81"
	    "\xd9\x87 \xd8\xae\xd9\x88\xd8\xa7\xd8\xb3\xd8\xaa", "fa",
	    "Arab");
	/* The same with Persian letters: Persian, as before. */
	expect("\xd8\xae\xdb\x8c\xd9\x84\xdb\x8c \xd8\xa8\xd8\xaf "
	    "\xd8\xa8\xd9\x88\xd8\xaf\xd8\x8c \xda\xa9\xd8\xa7\xd8\xb1 "
	    "\xd8\xb1\xd8\xa7 \xd8\xaf\xdb\x8c\xd8\xb1 \xd8\xaa\xd8\xad"
	    "\xd9\x88\xdb\x8c\xd9\x84 \xd8\xaf\xd8\xa7\xd8\xaf \xd9\x88 "
	    "\xd9\xbe\xd9\x88\xd9\x84 \xd8\xa7\xd8\xb6\xd8\xa7\xd9\x81"
	    "\xd9\x87 \xd8\xae\xd9\x88\xd8\xa7\xd8\xb3\xd8\xaa", "fa",
	    "Arab");
	/* Arabic (a corpus row) with gaf in a loanword. */
	expect("\xd8\xb5\xd8\xb9\xd8\xa8 \xd8\xa7\xd9\x84\xd8\xba"
	    "\xd9\x84\xd8\xa7\xd9\x81 \xd8\xa7\xd9\x84\xd8\xae\xd8\xa7"
	    "\xd8\xb1\xd8\xac\xd9\x8a \xd8\xba\xd9\x8a\xd8\xb1 \xd9\x85"
	    "\xd8\xaa\xd9\x85\xd8\xa7\xd8\xb3\xda\xaf \xd9\x84\xd9\x80 "
	    "\xd8\xaf\xd8\xb1\xd8\xac\xd8\xa9 \xd8\xa7\xd9\x86\xda\xaf "
	    "\xd8\xaa\xd8\xad\xd8\xaa\xd8\xa7\xd8\xac \xd9\x84\xd9\x80 "
	    "\xd8\xaa\xd8\xb3\xd9\x86\xd9\x8a\xd8\xaf\xd9\x87 \xd8\xb9"
	    "\xd9\x84\xd9\x89 \xd8\xa7\xd8\xad\xd8\xaf\xd9\x89 \xd8\xa7"
	    "\xd9\x84\xd8\xac\xd8\xaf\xd8\xb1\xd8\xa7\xd9\x86", "ar",
	    "Arab");
	expect("\xd8\xa7\xd9\x84\xd9\x85\xd9\x86\xd8\xaa\xd8\xac "
	    "\xd9\x85\xd9\x85\xd8\xaa\xd8\xa7\xd8\xb2", "ar", "Arab");
	/* Restricted to Arabic, the rescoring cannot answer Persian. */
	assert_string_equal(detect("\xd8\xae\xd9\x8a\xd9\x84\xd9\x8a "
	    "\xd8\xa8\xd8\xaf \xd8\xa8\xd9\x88\xd8\xaf \xd9\x88 "
	    "\xd9\xbe\xd9\x88\xd9\x84 \xd8\xa7\xd8\xb6\xd8\xa7\xd9\x81"
	    "\xd9\x87 \xd8\xae\xd9\x88\xd8\xa7\xd8\xb3\xd8\xaa", "ar",
	    &res), "ar");
}

static void
test_lang_hard_pairs(void **state)
{
	expect("Швидка доставка, дякую продавцю", "uk", NULL);
	expect("Доставката беше бърза, благодаря", "bg", NULL);
	expect("المنتج ممتاز والتوصيل سريع", "ar", "Arab");
	expect("کیفیت محصول خیلی خوب بود و ارسال سریع انجام شد", "fa",
	    "Arab");
	expect("یہ پروڈکٹ بہت اچھی ہے اور ڈیلیوری بھی جلدی ہوئی", "ur",
	    "Arab");
	expect("Urun cok guzel, hizli kargo icin tesekkurler", "tr", "Latn");
	expect("Məhsul çox yaxşıdır, çatdırılma sürətli oldu", "az", "Latn");
	expect("Great product, fast shipping, would buy again", "en",
	    "Latn");
}

static void
test_lang_set_parse_rejects_unknown(void **state)
{
	struct lang_set set;
	char err[128];

	assert_int_equal(lang_set_parse(model, "kk, ru ,en", &set, err,
	    sizeof(err)), 0);
	assert_true(set.bits != 0);
	assert_int_equal(lang_set_parse(model, "kk,xx", &set, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'xx'"));
	assert_int_equal(lang_set_parse(model, "", &set, err, sizeof(err)),
	    0);
	assert_true(set.bits == 0);
}

/* Restricting to a set holding the right answer never loses it. */
static void
test_lang_restricting_never_lowers_accuracy(void **state)
{
	static const char *const cases[][2] = {
		{ "Жаксы зат, унады, рахмет", "kk" },
		{ "Супер, рахмет", "kk" },
		{ "Игра отличная, но оптимизация хромает", "ru" },
		{ "Швидка доставка, дякую продавцю", "uk" },
		{ "المنتج ممتاز والتوصيل سريع", "ar" },
		{ "Great value for the money", "en" },
		{ "Urun cok guzel", "tr" },
	};
	static const char *const sets[] = { "kk,ru", "kk,ru,uk,bg",
	    "ar,fa,ur", "en,tr,az", "kk,ru,ar,fa,en,tr,el", "ru,uk" };
	struct lang_result all, some;
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		detect(cases[i][0], NULL, &all);
		for (j = 0; j < sizeof(sets) / sizeof(sets[0]); j++) {
			if (strstr(sets[j], cases[i][1]) == NULL)
				continue;
			detect(cases[i][0], sets[j], &some);
			if (strcmp(all.lang, cases[i][1]) == 0)
				assert_string_equal(some.lang, cases[i][1]);
			if (strcmp(some.lang, "und") != 0)
				assert_non_null(strstr(sets[j], some.lang));
		}
	}
	/* No allowed language writes Greek: und, the script still told. */
	detect("Πολύ καλό", "kk,en", &some);
	assert_string_equal(some.lang, "und");
	assert_string_equal(some.script, "Grek");
}

static void
test_lang_invalid_utf8_is_skipped(void **state)
{
	struct lang_result res;
	unsigned char junk[512];
	unsigned seed = 12345;
	size_t i;
	int round;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245 + 12345;
			junk[i] = (unsigned char)(seed >> 16);
		}
		lang_detect(model, (const char *)junk, (size_t)round * 2,
		    NULL, &res);
		assert_true(res.conf >= 0 && res.conf <= 1);
	}
	/* A cut multibyte sequence at the end. */
	lang_detect(model, "Привет\xd0", 13, NULL, &res);
	assert_true(res.conf >= 0 && res.conf <= 1);
}

static void
count_feature(void *arg, uint32_t key, int order)
{
	unsigned *n = arg;

	assert_true(key != 0);
	assert_true(order >= 0 && order < LANG_ORDERS);
	n[order]++;
}

static void
test_lang_features_of_a_word(void **state)
{
	unsigned n[LANG_ORDERS] = { 0 };

	/* " ab ": a b; " a" ab "b "; " ab" "ab "; " ab "; and the word. */
	assert_int_equal(lang_features("AB", 2, LS_LATN, 100, count_feature,
	    n), 2);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 2);
	assert_int_equal(n[2], 3);
	assert_int_equal(n[3], 2);
	assert_int_equal(n[4], 1);
	assert_int_equal(n[5], 0);
	/* Words of another script are not features of this one. */
	memset(n, 0, sizeof(n));
	assert_int_equal(lang_features("ab где", 9, LS_CYRL, 100,
	    count_feature, n), 3);
	assert_int_equal(n[0], 1);
}

static void
test_lang_long_text_stops_early(void **state)
{
	static const char line[] = "Отличная игра, сюжет затягивает, "
	    "графика красивая, музыка приятная. ";
	struct lang_result res;
	char text[sizeof(line) * 40];
	size_t i;

	for (i = 0; i < 40; i++)
		memcpy(text + i * (sizeof(line) - 1), line, sizeof(line) - 1);
	lang_detect(model, text, 40 * (sizeof(line) - 1), NULL, &res);
	assert_string_equal(res.lang, "ru");
	assert_true(res.conf > 0.9);
	/* Far fewer features than the text has: it stopped once sure. */
	assert_true(res.features < 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_model_rejects_bad_bytes),
		cmocka_unit_test(test_lang_model_checks_its_table),
		cmocka_unit_test(test_lang_model_survives_a_corrupt_byte),
		cmocka_unit_test(test_lang_word_rows_match_the_ngrams),
		cmocka_unit_test(test_lang_word_sums_of_a_frequent_word),
		cmocka_unit_test(test_lang_model_has_the_languages),
		cmocka_unit_test(test_lang_script_of),
		cmocka_unit_test(test_lang_und_without_enough_letters),
		cmocka_unit_test(test_lang_one_language_scripts_need_no_lookup),
		cmocka_unit_test(test_lang_kazakh_without_kazakh_letters),
		cmocka_unit_test(test_lang_hard_pairs),
		cmocka_unit_test(test_lang_persian_on_an_arabic_keyboard),
		cmocka_unit_test(test_lang_set_parse_rejects_unknown),
		cmocka_unit_test(test_lang_restricting_never_lowers_accuracy),
		cmocka_unit_test(test_lang_invalid_utf8_is_skipped),
		cmocka_unit_test(test_lang_features_of_a_word),
		cmocka_unit_test(test_lang_long_text_stops_early),
		cmocka_unit_test(test_lang_other_scripts_do_not_score),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
