/*
 * decode.h - internals shared by the decode stage's files (decode.c: the
 * archive walk, limits and record output; decode_json.c, decode_csv.c,
 * decode_mp.c: the entry formats; decode_map.c: platform mappings).
 * Nothing outside stages/decode*.c includes this.
 */
#ifndef REVPIPE_DECODE_H
#define REVPIPE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "slice.h"

/* ---- one source record, flattened ---------------------------------------- */

enum dec_type { DV_NULL, DV_BOOL, DV_NUM, DV_STR, DV_ARRAY, DV_OBJECT };

/*
 * A field of a source record: a dotted path into nested objects
 * ("buyer.name") or a CSV column name, and its value.  Strings are
 * unescaped (they may still hold invalid UTF-8: text hygiene runs when a
 * mapping uses them); numbers keep their source text; booleans are
 * "true"/"false".  Arrays and objects are listed with an empty value
 * (an object's members follow as their own paths).  Paths and values
 * point into the input or into the scratch arena.
 */
struct dec_field {
	struct slice	 path;
	struct slice	 val;
	enum dec_type	 type;
};

#define DEC_MAX_FIELDS	256

struct dec_rec {
	struct dec_field f[DEC_MAX_FIELDS];
	size_t		 n;
	bool		 overflow;	/* fields beyond DEC_MAX_FIELDS */
	/*
	 * f[0 .. nmatched) have the paths the parser was told to expect
	 * (dj_parse_object_expect()); 0 when nothing was expected.
	 */
	size_t		 nmatched;
};

/* ---- JSON scanner (decode_json.c) ---------------------------------------- */

/* Deepest nesting accepted; deeper input is an error, not a crash. */
#define DJ_MAX_DEPTH	64

/* Why a JSON text was refused (dj_error.what). */
enum dj_bad {
	DJ_OK = 0,
	DJ_SYNTAX,	/* not JSON at all at that byte */
	DJ_EOF,		/* the text ends inside a value */
	DJ_DEPTH,	/* nested deeper than DJ_MAX_DEPTH */
	DJ_TRAILING,	/* something after the value */
	DJ_NOT_OBJECT,	/* a valid value that is not an object */
	DJ_SURROGATE,	/* a \u escape giving a lone surrogate */
	DJ_CONTROL	/* a raw control character inside a string */
};

struct dj_error {
	enum dj_bad	 what;
	size_t		 off;	/* byte offset in the text */
};

/*
 * Parse the JSON text in [p, p + n) (one object, white space around it
 * allowed) into *out, flattening nested objects into dotted paths.
 * Strings without escapes point into p; unescaped ones and joined paths
 * come from `a`.  Returns 0, or -1 with *err set.
 */
int	dj_parse_object(struct arena *a, const char *p, size_t n,
	    struct dec_rec *out, struct dj_error *err);

/*
 * The same, told that the fields are likely to have the paths exp[0 ..
 * nexp) in that order (the previous line's, in a JSON Lines file): a key
 * that is the expected one is taken by one comparison instead of a scan.
 * Sets out->nmatched to the number of leading fields whose paths are the
 * expected ones.  The expected paths must hold no '"', '\\' or bytes
 * below 0x20 (those could not be compared with the escaped form), and
 * 16 bytes must be readable from the start of each (DJ_EXPECT_PAD).
 */
#define DJ_EXPECT_PAD	16
int	dj_parse_object_expect(struct arena *a, const char *p, size_t n,
	    struct dec_rec *out, struct dj_error *err,
	    const struct slice *exp, size_t nexp);

/* A short phrase for err->what. */
const char *dj_bad_name(enum dj_bad what);

/* ---- CSV (decode_csv.c) -------------------------------------------------- */

/*
 * One CSV/TSV record in RFC 4180 terms.  csv_record() looks at the bytes
 * [p, p + n): returns 1 and the record's length in *used (the terminating
 * newline included) and its fields (unquoted, into `a` when they had
 * doubled quotes) in vals/nval; 0 when the bytes end inside the record
 * and more are needed (at_eof false); -1 on an unbalanced quote at the end
 * of the input (at_eof true).  *lines counts the newlines consumed.
 */
int	csv_record(struct arena *a, const char *p, size_t n, bool at_eof,
	    char delim, size_t *used, struct slice *vals, size_t maxvals,
	    size_t *nval, size_t *lines);

/* ---- platform mappings (decode_map.c) ------------------------------------ */

enum pm_key {
	PM_ID, PM_SELLER, PM_BUYER, PM_ORDER_ID, PM_SERVICE, PM_RATING,
	PM_CREATED_AT, PM_TITLE, PM_TEXT, PM_NKEYS
};

enum pm_scale { PM_SCALE_NONE, PM_SCALE_LINEAR, PM_SCALE_THUMBS };
enum pm_time { PM_TIME_NONE, PM_TIME_UNIX, PM_TIME_UNIX_MS, PM_TIME_ISO8601,
	PM_TIME_MDY };

#define PM_MAX_ALT	4
#define PM_MAX_DETECT	8

struct pm_paths {
	struct slice	 alt[PM_MAX_ALT];	/* first present wins */
	int		 n;
};

struct pmap {
	char		*name;		/* the record's `platform` */
	char		*file;		/* "platforms/khamsat.map" */
	struct pm_paths	 src[PM_NKEYS];
	struct slice	 detect[PM_MAX_DETECT];
	int		 ndetect;
	enum pm_scale	 scale;
	double		 rmin, rmax;
	enum pm_time	 time;
	char		*text_buf;	/* owns the strings above */
};

struct pm_set {
	struct pmap	*v;
	size_t		 n;
};

/*
 * Parse one mapping file (its bytes in data, named `file` in messages).
 * Returns 0, or -1 with a "FILE:LINE: ..." message in err.
 */
int	pm_parse(struct pmap *m, const char *file, struct slice data,
	    char *err, size_t errlen);
void	pm_release(struct pmap *m);
/* The mapping whose detect paths all occur in r, most paths first. */
const struct pmap *pm_detect(const struct pm_set *s, const struct dec_rec *r);
const struct pmap *pm_find(const struct pm_set *s, const char *name);

/* The last field of r at `path` (as JSON objects: last key wins). */
const struct dec_field *dec_get(const struct dec_rec *r, struct slice path);

/*
 * Rating on 1..5 from a value and the mapping's scale: 1 and *out, 0 when
 * the value is empty or null (rating nil), -1 when it is not a rating.
 */
int	pm_rating(const struct pmap *m, const struct dec_field *f, int *out);
/* Timestamp: 1 and *out (unix seconds), 0 when empty/null, -1 when bad. */
int	pm_time(const struct pmap *m, const struct dec_field *f,
	    int64_t *out);
/*
 * The msgpack encoding of v at w (9 bytes at most), the one msgpack-c's
 * msgpack_pack_int64() chooses; returns its length.  decode.c.
 */
size_t	dec_put_int(unsigned char *w, int64_t v);
/* Parsers used by pm_time, exposed for tests. */
int	pm_parse_iso8601(struct slice s, int64_t *out);
int	pm_parse_mdy(struct slice s, int64_t *out);

#endif
