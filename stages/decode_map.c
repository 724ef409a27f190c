/*
 * decode_map - platform mappings: parsing the mapping files, detecting the
 * platform of an entry, and normalising ratings and timestamps.
 *
 * The file format is documented in schemas/platforms/README.md; in short,
 * `key = value` lines, `#` comments, `|` between alternatives.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banned.h"
#include "decode.h"

static const char *const pm_key_names[PM_NKEYS] = {
	"id", "seller", "buyer", "order_id", "service", "rating",
	"created_at", "title", "text"
};

static inline struct slice
pm_strip(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r'))
		n--;
	return (struct slice){ p, n };
}

/* Split v at '|' into at most max stripped slices; returns the count. */
static int
pm_split(struct slice v, struct slice *out, int max)
{
	int k = 0;

	while (v.n > 0) {
		const char *bar = memchr(v.p, '|', v.n);
		size_t len = bar != NULL ? (size_t)(bar - v.p) : v.n;
		struct slice s = pm_strip(v.p, len);

		if (k == max)
			return -1;
		if (s.n > 0)
			out[k++] = s;
		if (bar == NULL)
			break;
		v.p = bar + 1;
		v.n -= len + 1;
	}
	return k;
}

int
pm_parse(struct pmap *m, const char *file, struct slice data, char *err,
    size_t errlen)
{
	char *t, *line, *end;
	int lineno = 0, k;

	memset(m, 0, sizeof(*m));
	if ((t = malloc(data.n + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	memcpy(t, data.p, data.n);
	t[data.n] = '\0';
	m->text_buf = t;
	m->file = strdup(file);
	for (line = t; line < t + data.n; line = end + 1) {
		struct slice key, val;
		char *eq;

		lineno++;
		if ((end = memchr(line, '\n', (size_t)(t + data.n - line))) ==
		    NULL)
			end = t + data.n;
		*end = '\0';
		key = pm_strip(line, (size_t)(end - line));
		if (key.n == 0 || key.p[0] == '#')
			continue;
		if ((eq = memchr(key.p, '=', key.n)) == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'",
			    file, lineno);
			return -1;
		}
		val = pm_strip(eq + 1, (size_t)(key.p + key.n - eq - 1));
		key = pm_strip(key.p, (size_t)(eq - key.p));
		if (slice_eq(key, "platform")) {
			m->name = (char *)val.p;
			((char *)val.p)[val.n] = '\0';
		} else if (slice_eq(key, "detect")) {
			if ((m->ndetect = pm_split(val, m->detect,
			    PM_MAX_DETECT)) < 0) {
				snprintf(err, errlen, "%s:%d: more than %d "
				    "detect fields", file, lineno,
				    PM_MAX_DETECT);
				return -1;
			}
		} else if (slice_eq(key, "scale")) {
			char w[64];

			snprintf(w, sizeof(w), "%.*s", (int)val.n, val.p);
			if (strcmp(w, "thumbs") == 0)
				m->scale = PM_SCALE_THUMBS;
			else if (sscanf(w, "linear %lf %lf", &m->rmin,
			    &m->rmax) == 2 && m->rmax > m->rmin)
				m->scale = PM_SCALE_LINEAR;
			else {
				snprintf(err, errlen, "%s:%d: scale must be "
				    "'thumbs' or 'linear MIN MAX'", file,
				    lineno);
				return -1;
			}
		} else if (slice_eq(key, "time")) {
			if (slice_eq(val, "unix"))
				m->time = PM_TIME_UNIX;
			else if (slice_eq(val, "unix_ms"))
				m->time = PM_TIME_UNIX_MS;
			else if (slice_eq(val, "iso8601"))
				m->time = PM_TIME_ISO8601;
			else if (slice_eq(val, "mdy"))
				m->time = PM_TIME_MDY;
			else {
				snprintf(err, errlen, "%s:%d: time must be "
				    "unix, unix_ms, iso8601 or mdy", file,
				    lineno);
				return -1;
			}
		} else {
			for (k = 0; k < PM_NKEYS; k++)
				if (slice_eq(key, pm_key_names[k]))
					break;
			if (k == PM_NKEYS) {
				snprintf(err, errlen, "%s:%d: unknown key "
				    "'%.*s'", file, lineno, (int)key.n, key.p);
				return -1;
			}
			if (slice_eq(val, "-")) {
				m->src[k].n = 0;
				continue;
			}
			if ((m->src[k].n = pm_split(val, m->src[k].alt,
			    PM_MAX_ALT)) < 0) {
				snprintf(err, errlen, "%s:%d: more than %d "
				    "alternatives", file, lineno, PM_MAX_ALT);
				return -1;
			}
		}
	}
	if (m->name == NULL || m->src[PM_TEXT].n == 0) {
		snprintf(err, errlen, "%s: needs 'platform' and 'text'", file);
		return -1;
	}
	if (m->src[PM_RATING].n > 0 && m->scale == PM_SCALE_NONE) {
		snprintf(err, errlen, "%s: 'rating' needs a 'scale'", file);
		return -1;
	}
	if (m->src[PM_CREATED_AT].n > 0 && m->time == PM_TIME_NONE) {
		snprintf(err, errlen, "%s: 'created_at' needs a 'time'", file);
		return -1;
	}
	return 0;
}

void
pm_release(struct pmap *m)
{
	free(m->text_buf);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

const struct dec_field *
dec_get(const struct dec_rec *r, struct slice path)
{
	size_t i;

	for (i = r->n; i > 0; i--) {
		const struct dec_field *f = &r->f[i - 1];

		if (f->path.n == path.n && memcmp(f->path.p, path.p,
		    path.n) == 0)
			return f;
	}
	return NULL;
}

const struct pmap *
pm_detect(const struct pm_set *s, const struct dec_rec *r)
{
	const struct pmap *best = NULL;
	size_t i;
	int k;

	for (i = 0; i < s->n; i++) {
		const struct pmap *m = &s->v[i];

		if (m->ndetect == 0)
			continue;
		for (k = 0; k < m->ndetect; k++)
			if (dec_get(r, m->detect[k]) == NULL)
				break;
		if (k < m->ndetect)
			continue;
		if (best == NULL || m->ndetect > best->ndetect)
			best = m;
	}
	return best;
}

const struct pmap *
pm_find(const struct pm_set *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

/* A number in s (white space around it allowed): 0, or -1. */
static int
pm_number(struct slice s, double *out)
{
	char w[64], *end;

	s = pm_strip(s.p, s.n);
	if (s.n == 0 || s.n >= sizeof(w))
		return -1;
	if (s.n <= 15 && s.p[0] >= '0' && s.p[0] <= '9') {
		/*
		 * Plain integers (ratings, epoch seconds) without strtod: up
		 * to 15 digits a double holds them exactly, so the value is
		 * the one strtod would give.
		 */
		int64_t v = 0;
		size_t i;
		unsigned c;

		for (i = 0; i < s.n && (c = (unsigned char)s.p[i] - '0') <= 9;
		    i++)
			v = v * 10 + c;
		if (i == s.n) {
			*out = (double)v;
			return 0;
		}
	}
	memcpy(w, s.p, s.n);
	w[s.n] = '\0';
	*out = strtod(w, &end);
	if (*end != '\0' || !isfinite(*out))
		return -1;
	return 0;
}

static bool
pm_word(struct slice s, const char *const *words)
{
	for (; *words != NULL; words++) {
		size_t n = strlen(*words);

		if (s.n == n && strncasecmp(s.p, *words, n) == 0)
			return true;
	}
	return false;
}

int
pm_rating(const struct pmap *m, const struct dec_field *f, int *out)
{
	static const char *const up[] = { "up", "yes", "positive", "like",
	    "true", "1", "+1", "\xf0\x9f\x91\x8d", NULL };
	static const char *const down[] = { "down", "no", "negative",
	    "dislike", "false", "0", "-1", "\xf0\x9f\x91\x8e", NULL };
	struct slice v;
	double x;

	if (f == NULL || f->type == DV_NULL)
		return 0;
	if (f->type == DV_ARRAY || f->type == DV_OBJECT)
		return -1;
	v = pm_strip(f->val.p, f->val.n);
	if (v.n == 0 && f->type == DV_STR)
		return 0;
	if (m->scale == PM_SCALE_THUMBS) {
		if (pm_word(v, up)) {
			*out = 5;
			return 1;
		}
		if (pm_word(v, down)) {
			*out = 1;
			return 1;
		}
		return -1;
	}
	if (f->type == DV_BOOL || pm_number(v, &x) == -1)
		return -1;
	if (x < m->rmin || x > m->rmax)
		return -1;
	*out = 1 + (int)floor((x - m->rmin) * 4 / (m->rmax - m->rmin) + 0.5);
	return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
pm_days(int64_t y, int mo, int d)
{
	int64_t era, yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
pm_valid_date(int64_t y, int mo, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1])
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return false;
	return true;
}

/* Read exactly n digits at s->p[*i]. */
static int
pm_digits(struct slice s, size_t *i, size_t n, int64_t *v)
{
	int64_t x = 0;
	size_t k;

	if (*i + n > s.n)
		return -1;
	for (k = 0; k < n; k++) {
		char c = s.p[*i + k];

		if (c < '0' || c > '9')
			return -1;
		x = x * 10 + (c - '0');
	}
	*i += n;
	*v = x;
	return 0;
}

int
pm_parse_iso8601(struct slice s, int64_t *out)
{
	int64_t y, mo, d, h = 0, mi = 0, se = 0, oh, om;
	size_t i = 0;
	int64_t off = 0;

	s = pm_strip(s.p, s.n);
	if (pm_digits(s, &i, 4, &y) || i >= s.n || s.p[i++] != '-' ||
	    pm_digits(s, &i, 2, &mo) || i >= s.n || s.p[i++] != '-' ||
	    pm_digits(s, &i, 2, &d))
		return -1;
	if (!pm_valid_date(y, (int)mo, (int)d))
		return -1;
	if (i < s.n) {
		if (s.p[i] != 'T' && s.p[i] != 't' && s.p[i] != ' ')
			return -1;
		i++;
		if (pm_digits(s, &i, 2, &h) || i >= s.n || s.p[i++] != ':' ||
		    pm_digits(s, &i, 2, &mi))
			return -1;
		if (i < s.n && s.p[i] == ':') {
			i++;
			if (pm_digits(s, &i, 2, &se))
				return -1;
			if (i < s.n && (s.p[i] == '.' || s.p[i] == ',')) {
				i++;
				if (i >= s.n || s.p[i] < '0' || s.p[i] > '9')
					return -1;
				while (i < s.n && s.p[i] >= '0' &&
				    s.p[i] <= '9')
					i++;
			}
		}
		if (h > 23 || mi > 59 || se > 60)
			return -1;
		if (i < s.n && (s.p[i] == 'Z' || s.p[i] == 'z'))
			i++;
		else if (i < s.n && (s.p[i] == '+' || s.p[i] == '-')) {
			int sign = s.p[i] == '-' ? -1 : 1;

			i++;
			if (pm_digits(s, &i, 2, &oh))
				return -1;
			if (i < s.n && s.p[i] == ':')
				i++;
			if (pm_digits(s, &i, 2, &om) || oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600 + om * 60);
		}
		if (i != s.n)
			return -1;
	}
	*out = pm_days(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 +
	    se - off;
	return 0;
}

/* "Nov 3, 2026", "November 3, 2026", "Nov 3 2026". */
int
pm_parse_mdy(struct slice s, int64_t *out)
{
	static const char *const mon[] = { "jan", "feb", "mar", "apr", "may",
	    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	static const char *const full[] = { "january", "february", "march",
	    "april", "may", "june", "july", "august", "september", "october",
	    "november", "december" };
	size_t i = 0, w;
	int64_t d = 0, y;
	int mo;

	s = pm_strip(s.p, s.n);
	while (i < s.n && isalpha((unsigned char)s.p[i]))
		i++;
	w = i;
	for (mo = 0; mo < 12; mo++)
		if ((w == 3 && strncasecmp(s.p, mon[mo], 3) == 0) ||
		    (w == 4 && mo == 8 && strncasecmp(s.p, "sept", 4) == 0) ||
		    (w == strlen(full[mo]) && strncasecmp(s.p, full[mo],
		    w) == 0))
			break;
	if (mo == 12)
		return -1;
	if (i < s.n && s.p[i] == '.')
		i++;
	if (i >= s.n || s.p[i] != ' ')
		return -1;
	while (i < s.n && s.p[i] == ' ')
		i++;
	if (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
		d = s.p[i++] - '0';
	else
		return -1;
	if (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
		d = d * 10 + (s.p[i++] - '0');
	if (i < s.n && s.p[i] == ',')
		i++;
	if (i >= s.n || s.p[i] != ' ')
		return -1;
	while (i < s.n && s.p[i] == ' ')
		i++;
	if (pm_digits(s, &i, 4, &y) || i != s.n ||
	    !pm_valid_date(y, mo + 1, (int)d))
		return -1;
	*out = pm_days(y, mo + 1, (int)d) * 86400;
	return 0;
}

int
pm_time(const struct pmap *m, const struct dec_field *f, int64_t *out)
{
	struct slice v;
	double x;

	if (f == NULL || f->type == DV_NULL)
		return 0;
	if (f->type != DV_STR && f->type != DV_NUM)
		return -1;
	v = pm_strip(f->val.p, f->val.n);
	if (v.n == 0)
		return 0;
	switch (m->time) {
	case PM_TIME_UNIX:
	case PM_TIME_UNIX_MS:
		if (pm_number(v, &x) == -1)
			return -1;
		if (m->time == PM_TIME_UNIX_MS)
			x /= 1000;
		if (x < 0 || x > 253402300799.0)
			return -1;
		*out = (int64_t)floor(x);
		return 1;
	case PM_TIME_ISO8601:
		return pm_parse_iso8601(v, out) == 0 ? 1 : -1;
	case PM_TIME_MDY:
		return pm_parse_mdy(v, out) == 0 ? 1 : -1;
	case PM_TIME_NONE:
		break;
	}
	return -1;
}
