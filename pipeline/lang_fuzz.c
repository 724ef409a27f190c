/*
 * lang_fuzz - libFuzzer target: lang_detect() and lang_features() on
 * arbitrary bytes (invalid UTF-8, lone surrogates, huge words), against
 * the compiled-in profiles, with and without a restricted set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "models.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lang_model *model;

static void
count(void *arg, uint32_t key, int order)
{
	unsigned *n = arg;

	if (key == 0 || order < 0 || order >= LANG_ORDERS)
		abort();
	(*n)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct model_file *f;
	struct lang_result res;
	struct lang_set set = { 0 };
	char err[128];
	unsigned n = 0;

	if (model == NULL) {
		for (f = model_files; f->name != NULL; f++)
			if (strcmp(f->name, "langid/profiles.bin") == 0)
				break;
		if (f->name == NULL || (model = lang_model_new(f->data,
		    f->len, err, sizeof(err))) == NULL)
			abort();
	}
	lang_detect(model, (const char *)data, size, NULL, &res);
	if (res.conf < 0 || res.conf > 1 || strlen(res.script) != 4)
		abort();
	if (lang_set_parse(model, "kk,ru,en", &set, err, sizeof(err)) == -1)
		abort();
	lang_detect(model, (const char *)data, size, &set, &res);
	if (res.idx >= 0 && strstr("kk,ru,en", res.lang) == NULL)
		abort();
	lang_features((const char *)data, size, LS_CYRL, 1000, count, &n);
	/* The profile parser must refuse garbage, never crash on it. */
	lang_model_free(lang_model_new(data, size, err, sizeof(err)));
	return 0;
}
