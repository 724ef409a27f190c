/*
 * models - the model files compiled into the binary.
 *
 * The Makefile embeds every file under models/ (but READMEs and src/
 * folders) and generates `model_files`, so the binary runs from any
 * directory.  Stages reach models through stage_model() (stage.h), which
 * also honours --models DIR.
 */
#ifndef REVPIPE_MODELS_H
#define REVPIPE_MODELS_H

#include <stddef.h>

struct model_file {
	const char		*name;	/* path under models/ */
	const unsigned char	*data;
	size_t			 len;
};

/* Terminated by an entry with name NULL. */
extern const struct model_file model_files[];

#endif
