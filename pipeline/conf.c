/*
 * conf - read pipeline.conf with inih into a flat list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "banned.h"

static char *
conf_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/*
 * Debian's inih is built without INI_HANDLER_LINENO, so lines are counted
 * in the reader: inih calls the handler for a line before reading the next.
 */
struct conf_stream {
	FILE		*fp;
	int		 line;
	struct conf	*c;
};

static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_stream *cs = stream;
	char *s = fgets(str, num, cs->fp);

	if (s != NULL)
		cs->line++;
	return s;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_stream *cs = user;
	struct conf *c = cs->c;
	int line = cs->line;
	struct conf_entry *e;

	if (name == NULL)		/* a section header alone */
		return 1;
	/* Capacity doubles from 16: grow when n reaches a power of two. */
	if (c->n == 0 || (c->n >= 16 && (c->n & (c->n - 1)) == 0)) {
		size_t cap = c->n == 0 ? 16 : c->n * 2;
		struct conf_entry *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			return 0;
		c->v = v;
	}
	e = &c->v[c->n];
	e->section = conf_strdup(section);
	e->key = conf_strdup(name);
	e->value = conf_strdup(value);
	e->line = line;
	c->n++;
	if (e->section == NULL || e->key == NULL || e->value == NULL)
		return 0;
	return 1;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_stream cs;
	FILE *fp;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	c->path = conf_strdup(path);
	cs.fp = fp;
	cs.line = 0;
	cs.c = c;
	rc = ini_parse_stream(conf_reader, &cs, conf_handler, &cs);
	fclose(fp);
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		else
			snprintf(err, errlen, "'%s': out of memory", path);
		conf_release(c);
		return -1;
	}
	return 0;
}

void
conf_release(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].section);
		free(c->v[i].key);
		free(c->v[i].value);
	}
	free(c->v);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

const char *
conf_get(const struct conf *c, const char *section, const char *key,
    int *line)
{
	size_t i;

	/* The last occurrence wins, as on a command line. */
	for (i = c->n; i-- > 0;) {
		if (strcmp(c->v[i].section, section) == 0 &&
		    strcmp(c->v[i].key, key) == 0) {
			if (line != NULL)
				*line = c->v[i].line;
			return c->v[i].value;
		}
	}
	return NULL;
}
