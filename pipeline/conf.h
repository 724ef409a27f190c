/*
 * conf - pipeline.conf: one [stage] section per stage, keys = long option
 * names of that stage (see struct opt in stage.h), parsed with inih.
 *
 * The file is read once into a list of (section, key, value, line); the
 * driver applies a stage's section to its options (command-line options
 * win), and `revpipe run` reads the chain from it.  An unknown key or a bad
 * value is an error naming `FILE:LINE`; nothing silently falls back.
 */
#ifndef REVPIPE_CONF_H
#define REVPIPE_CONF_H

#include <stddef.h>

struct conf_entry {
	char	*section;
	char	*key;
	char	*value;
	int	 line;
};

struct conf {
	char			*path;
	struct conf_entry	*v;
	size_t			 n;
};

/*
 * Parse `path` into *c.  Returns 0, or -1 with a message ("FILE:LINE:
 * ...", or the strerror of opening it) in err (size errlen).
 */
int	conf_load(struct conf *c, const char *path, char *err, size_t errlen);
void	conf_release(struct conf *c);
/* The value of `key` in `section`, or NULL; *line gets its line. */
const char *conf_get(const struct conf *c, const char *section,
	    const char *key, int *line);

#endif
