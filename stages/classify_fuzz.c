/*
 * classify_fuzz - libFuzzer target for classify's analysis of arbitrary
 * text: folding, tokens, negation, lexicon matching, the model and the
 * evidence spans, on the built-in models.  The first byte picks the
 * language, the second the stars and the template; the rest is the text.
 * Checks: the score is in [-1, 1], kind and severity are in range, and
 * every evidence phrase that is not a feature lies inside the text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "models.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct slice
fuzz_model(const char *name)
{
	const struct model_file *mf;

	for (mf = model_files; mf->name != NULL; mf++)
		if (strcmp(mf->name, name) == 0)
			return (struct slice){ (const char *)mf->data,
			    mf->len };
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const langs[] = {
		"ar", "el", "en", "fa", "kk", "ru", "tr", "und", "", "de"
	};
	static const char *const lexn[CLS_NLANG] = {
		"classify/lex.ar.txt", "classify/lex.el.txt",
		"classify/lex.en.txt", "classify/lex.fa.txt",
		"classify/lex.kk.txt", "classify/lex.ru.txt",
		"classify/lex.tr.txt"
	};
	static struct cls_models m;
	static bool loaded;
	static struct arena a = ARENA_INIT;
	struct cls_input in;
	struct cls_result r;
	size_t i;

	if (!loaded) {
		struct slice lex[CLS_NLANG];
		char err[256];
		int l;

		for (l = 0; l < CLS_NLANG; l++)
			lex[l] = fuzz_model(lexn[l]);
		if (cls_models_load(&m, fuzz_model("classify/sentiment.bin"),
		    lex, fuzz_model("classify/lex.all.txt"), err,
		    sizeof(err)) == -1)
			abort();
		loaded = true;
	}
	if (size < 2)
		return 0;
	in.lang = slice_from(langs[data[0] % 10]);
	in.rating = data[1] % 6;
	in.template_n = data[1] >> 5;
	in.text = (struct slice){ (const char *)data + 2, size - 2 };
	cls_analyze(&m, &in, &a, &r);
	if (!(r.score >= -1 && r.score <= 1) || r.kind >= CLS_NKIND ||
	    r.severity < 0 || r.severity > 3 || r.nevidence >
	    CLS_MAX_EVIDENCE)
		__builtin_trap();
	for (i = 0; i < r.nevidence; i++) {
		const char *p = r.evidence[i].p;

		if (r.evidence[i].n == 0)
			__builtin_trap();
		if (p >= in.text.p && p < in.text.p + in.text.n &&
		    p + r.evidence[i].n > in.text.p + in.text.n)
			__builtin_trap();
	}
	arena_reset(&a);
	return 0;
}
