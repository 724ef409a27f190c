/*
 * decode - turn platform export archives into review.v1 records.
 *
 * Reads: the files named on the command line ('-' or none: stdin), any of
 * .tar .tar.gz/.tgz .tar.zst .tar.xz .tar.bz2 .zip .gz .zst .xz .bz2 or
 * plain, nested one level (a .zip of .jsonl.gz, a .tar of .csv.gz),
 * streamed through libarchive: nothing is extracted to disk and no entry
 * is read whole into memory.  Entries hold JSON Lines, a JSON array,
 * CSV/TSV with a header row, or msgpack maps (by extension, else sniffed).
 * Writes: id, platform, seller, buyer, order_id, service, rating,
 * created_at, title, text, src (schemas/review.v1), through the platform
 * mapping detected from the field names (schemas/platforms/NAME.map) or
 * forced with --platform.
 * Rejects: bad_json, bad_csv, bad_msgpack, bad_utf8, bad_type,
 * bad_rating, bad_time, missing_field, field_too_large, record_too_large,
 * unsafe_path, nested_too_deep, unknown_format, unknown_platform,
 * bad_archive, entry_too_large, ratio_exceeded, too_many_records.
 * Options: --platform, --format, --max-entry-size, --max-ratio,
 * --max-field, --max-records.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <xxhash.h>

#include "decode.h"
#include "decode_gz.h"
#include "models.h"
#include "rec.h"
#include "stage.h"
#include "text.h"
#include "banned.h"

/* Bytes asked of libarchive per read. */
#define WIN_READ	(256 * 1024)
/* Record bytes beyond --max-field before a record is too large. */
#define REC_SLACK	(64 * 1024)
/* The ratio check starts once an input has produced this much. */
#define RATIO_FLOOR	(1024 * 1024)
/* The most raw bytes a reject of a huge record keeps. */
#define RAW_HEAD	1024
#define MAX_COLUMNS	DEC_MAX_FIELDS

enum dec_fmt { FMT_NONE, FMT_JSONL, FMT_ARRAY, FMT_CSV, FMT_TSV,
	FMT_MSGPACK };

struct decode {
	struct pm_set	 maps;
	const struct pmap *forced;
	enum dec_fmt	 force_fmt;
	uint64_t	 max_entry, max_field, max_records, rec_limit;
	double		 max_ratio;

	/* The input file. */
	const char	*path;
	struct archive	*top;		/* outermost archive (ratio) */
	struct gz	*topgz;		/* its gzip layer, or NULL */
	uint64_t	 file_out;	/* entry bytes produced from it */

	/* The entry being decoded. */
	struct archive	*cur;
	struct buf	 win;		/* window of entry bytes */
	size_t		 wpos;		/* first unconsumed byte */
	bool		 eof;
	int		 stop;		/* STOP_NONE or why it stopped */
	char		 errmsg[512];
	uint64_t	 entry_bytes, nrec;
	const struct pmap *map;
	struct buf	 src;		/* provenance: prefix + ":N" */
	size_t		 src_prefix;
	uint64_t	 src_n;		/* that N, 0: none */
	struct dec_rec	 rec;

	/*
	 * The paths a recent record had (the lines of an export mostly
	 * list the same keys in the same order): the JSON scanner checks
	 * keys against them, and map_fields() knows which mapping keys
	 * each one serves (exp_bits, for exp_map) without comparing.
	 */
	struct buf	 exp_buf;	/* the paths' bytes */
	struct slice	 exp[DEC_MAX_FIELDS];
	uint64_t	 exp_bits[DEC_MAX_FIELDS];
	size_t		 nexp;
	size_t		 nexp_json;	/* leading paths the scanner may use */
	const struct pmap *exp_map;
	/* map_fields()' answer for a record with the paths exp[0 .. res_n) */
	size_t		 res_n;		/* 0: none */
	size_t		 res_f[PM_NKEYS];	/* field + 1, 0: none */
	struct slice	 res_name[PM_NKEYS];
	struct buf	 out;		/* the record being written */

	/* CSV header, copied. */
	struct buf	 hdr;
	size_t		 hdr_off[MAX_COLUMNS], hdr_len[MAX_COLUMNS];
	size_t		 ncols;
	struct slice	 vals[MAX_COLUMNS];
};

enum { STOP_NONE, STOP_ERROR, STOP_LIMIT, STOP_DONE };

static const struct opt decode_opts[] = {
	{ "platform", 'p', OPT_STR, "NAME", NULL, 0, 0,
	  "use this platform mapping (default: detect from field names)" },
	{ "platforms", 0, OPT_STR, "DIR", NULL, 0, 0,
	  "also load the platform mappings DIR/*.map (no rebuild needed)" },
	{ "format", 0, OPT_STR, "FMT", NULL, 0, 0,
	  "entry format: jsonl, json, csv, tsv, msgpack (default: by name, "
	  "else sniffed)" },
	{ "max-entry-size", 0, OPT_SIZE, "SIZE", "8G", 1, 1e18,
	  "stop an archive entry after SIZE uncompressed bytes" },
	{ "max-ratio", 0, OPT_FLOAT, "N", "100", 0, 1e12,
	  "stop an input expanding more than N times its compressed size "
	  "(0: no limit)" },
	{ "max-field", 0, OPT_SIZE, "SIZE", "1M", 16, 1e12,
	  "reject a record with a field over SIZE bytes" },
	{ "max-records", 0, OPT_INT, "N", "100000000", 0, 9e18,
	  "stop an entry after N records (0: no limit)" },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* ---- provenance -------------------------------------------------------- */

static void
src_set_prefix(struct decode *d, const char *a, const char *b,
    const char *c)
{
	buf_reset(&d->src);
	buf_adds(&d->src, a);
	if (b != NULL) {
		buf_addc(&d->src, '!');
		buf_adds(&d->src, b);
	}
	if (c != NULL) {
		buf_addc(&d->src, '!');
		buf_adds(&d->src, c);
	}
	d->src_prefix = d->src.len;
	d->src_n = 0;
}

/* Set ctx->src to "prefix:n" (n = 0: the entry itself). */
static const char *
src_at(struct stage_ctx *ctx, struct decode *d, uint64_t n)
{
	char tmp[24];
	int k = 0;
	size_t i;

	/* The next line of the entry: add one to the decimal in place. */
	if (n > 0 && n == d->src_n + 1 && d->src_n > 0) {
		for (i = d->src.len - 1; d->src.p[i] == '9'; i--)
			d->src.p[i] = '0';
		if (d->src.p[i] != ':') {
			d->src.p[i]++;
			d->src_n = n;
			ctx->src = d->src.p;
			return d->src.p;
		}
	}
	d->src_n = n;
	buf_truncate(&d->src, d->src_prefix);
	if (n > 0) {
		while (n > 0) {
			tmp[k++] = (char)('0' + n % 10);
			n /= 10;
		}
		buf_grow(&d->src, (size_t)k + 1);
		d->src.p[d->src.len++] = ':';
		while (k > 0)
			d->src.p[d->src.len++] = tmp[--k];
		d->src.p[d->src.len] = '\0';
	}
	ctx->src = d->src.p;
	return d->src.p;
}

/* ---- limits and reading ------------------------------------------------ */

static void
human(char *b, size_t n, uint64_t v)
{
	if (v >= 1024 * 1024 * 1024)
		snprintf(b, n, "%.1f GiB", v / 1073741824.0);
	else if (v >= 1024 * 1024)
		snprintf(b, n, "%.1f MiB", v / 1048576.0);
	else
		snprintf(b, n, "%" PRIu64 " bytes", v);
}

/* Stop the entry for a limit: a reject for it and a message (exit 1). */
static void
entry_limit(struct stage_ctx *ctx, struct decode *d, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
entry_limit(struct stage_ctx *ctx, struct decode *d, const char *reason,
    const char *fmt, ...)
{
	char msg[512];
	const char *src;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	src = src_at(ctx, d, 0);
	stage_reject_raw(ctx, src, "", 0, reason, "%s", msg);
	stage_input_error(ctx, "'%s': %s: %s", src, reason, msg);
	d->stop = STOP_LIMIT;
}

/*
 * The next block of entry bytes in *blk, *bn (valid until the next read),
 * counted against the limits.  Returns 1, 0 at the end of the entry, -1
 * when it stopped on an error (d->stop, d->errmsg), -2 when the block came
 * but a limit stopped the entry (reported).
 */
static int
win_block(struct stage_ctx *ctx, struct decode *d, const void **blk,
    size_t *bn)
{
	la_int64_t off, in;
	char h[32];
	int r;

	/*
	 * Block by block, not archive_read_data(): that one drops the bytes
	 * it had gathered when a later block fails, and the records before
	 * a truncation are worth keeping.
	 */
	r = archive_read_data_block(d->cur, blk, bn, &off);
	if (r == ARCHIVE_EOF) {
		d->eof = true;
		return 0;
	}
	if (r < ARCHIVE_WARN) {
		snprintf(d->errmsg, sizeof(d->errmsg), "%s",
		    archive_error_string(d->cur) != NULL ?
		    archive_error_string(d->cur) : "read error");
		d->stop = STOP_ERROR;
		return -1;
	}
	d->entry_bytes += (uint64_t)*bn;
	d->file_out += (uint64_t)*bn;
	if (d->entry_bytes > d->max_entry) {
		human(h, sizeof(h), d->max_entry);
		entry_limit(ctx, d, "entry_too_large",
		    "more than %s uncompressed (--max-entry-size)", h);
		return -2;
	}
	in = d->topgz != NULL ? (la_int64_t)gz_in_bytes(d->topgz) :
	    archive_filter_bytes(d->top, -1);
	if (d->max_ratio > 0 && d->file_out > RATIO_FLOOR && in > 0 &&
	    (double)d->file_out > d->max_ratio * (double)in) {
		/* No byte counts: where it trips depends on block sizes. */
		entry_limit(ctx, d, "ratio_exceeded",
		    "expands more than %g times its compressed size "
		    "(--max-ratio): a compression bomb?", d->max_ratio);
		return -2;
	}
	return 1;
}

/*
 * Append more entry bytes to the window.  Returns 1 when bytes came, 0 at
 * the end of the entry, -1 when the entry stopped (error or limit, already
 * reported or to be reported by the caller through d->stop).
 */
static int
win_fill(struct stage_ctx *ctx, struct decode *d)
{
	const void *blk;
	size_t bn;
	int r;

	if (d->stop != STOP_NONE)
		return -1;
	if (d->eof)
		return 0;
	if (d->wpos > 0) {
		memmove(d->win.p, d->win.p + d->wpos, d->win.len - d->wpos);
		d->win.len -= d->wpos;
		d->wpos = 0;
	}
	if ((r = win_block(ctx, d, &blk, &bn)) == 0 || r == -1)
		return r;
	buf_add(&d->win, blk, bn);
	return r == 1 ? 1 : -1;
}

/* ---- output -------------------------------------------------------------- */

static int
rej(struct stage_ctx *ctx, struct decode *d, uint64_t pos, const char *raw,
    size_t n, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int
rej(struct stage_ctx *ctx, struct decode *d, uint64_t pos, const char *raw,
    size_t n, const char *reason, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	arena_reset(&ctx->scratch);
	return stage_reject_raw(ctx, src_at(ctx, d, pos), raw, n, reason,
	    "%s", msg);
}

static const char *const pm_out_keys[PM_NKEYS] = {
	"id", "seller", "buyer", "order_id", "service", "rating",
	"created_at", "title", "text"
};

/* The (mapping key, alternative) pairs that path is: bit k * PM_MAX_ALT + a. */
static uint64_t
path_bits(const struct pmap *m, struct slice path)
{
	uint64_t bits = 0;
	int k, a;

	for (k = 0; k < PM_NKEYS; k++)
		for (a = 0; a < m->src[k].n; a++)
			if (slice_same(m->src[k].alt[a], path))
				bits |= (uint64_t)1 << (k * PM_MAX_ALT + a);
	return bits;
}

/* Remember the paths of d->rec (their bits are in d->exp_bits already). */
static void
exp_store(struct decode *d)
{
	const struct dec_rec *r = &d->rec;
	size_t i, k, off = 0;

	buf_reset(&d->exp_buf);
	for (i = 0; i < r->n; i++)
		buf_add(&d->exp_buf, r->f[i].path.p, r->f[i].path.n);
	/* The scanner reads 16 bytes from each path's start. */
	buf_grow(&d->exp_buf, DJ_EXPECT_PAD);
	memset(d->exp_buf.p + d->exp_buf.len, 0, DJ_EXPECT_PAD);
	d->nexp_json = r->n;
	for (i = 0; i < r->n; i++) {
		d->exp[i].p = d->exp_buf.p + off;
		d->exp[i].n = r->f[i].path.n;
		off += d->exp[i].n;
		for (k = 0; k < d->exp[i].n && d->nexp_json == r->n; k++) {
			unsigned char c = (unsigned char)d->exp[i].p[k];

			if (c == '"' || c == '\\' || c < 0x20)
				d->nexp_json = i;
		}
	}
	d->nexp = r->n;
}

/*
 * For each mapping key k, the field of d->rec it takes (f[k], NULL when
 * none) and the path named in messages (name[k]): the last field at the
 * first alternative that is present, as JSON objects go (last key wins).
 */
static void
map_fields(struct decode *d, const struct dec_field **f, struct slice *name)
{
	const struct dec_rec *r = &d->rec;
	size_t last[PM_NKEYS * PM_MAX_ALT];
	size_t i, nm = r->nmatched;
	bool store;
	int k, a;

	if (d->exp_map != d->map) {
		d->exp_map = d->map;
		d->nexp = d->nexp_json = d->res_n = nm = 0;
	}
	/* The scanner compared what it could; CSV and msgpack are here. */
	while (nm < r->n && nm < d->nexp && slice_same(r->f[nm].path,
	    d->exp[nm]))
		nm++;
	if (nm == r->n && nm == d->res_n && nm > 0) {
		for (k = 0; k < PM_NKEYS; k++) {
			f[k] = d->res_f[k] != 0 ? &r->f[d->res_f[k] - 1] :
			    NULL;
			name[k] = d->res_name[k];
		}
		return;
	}
	store = nm < r->n;
	memset(last, 0, sizeof(last));
	for (i = 0; i < r->n; i++) {
		uint64_t b;

		if (i < nm)
			b = d->exp_bits[i];
		else {
			b = path_bits(d->map, r->f[i].path);
			if (store)
				d->exp_bits[i] = b;
		}
		for (; b != 0; b &= b - 1)
			last[__builtin_ctzll(b)] = i + 1;
	}
	if (store)
		exp_store(d);
	d->res_n = r->n;
	for (k = 0; k < PM_NKEYS; k++) {
		const struct pm_paths *pp = &d->map->src[k];

		f[k] = NULL;
		d->res_f[k] = 0;
		name[k] = pp->n > 0 ? pp->alt[0] : (struct slice){ "", 0 };
		for (a = 0; a < pp->n; a++)
			if (last[k * PM_MAX_ALT + a] != 0) {
				d->res_f[k] = last[k * PM_MAX_ALT + a];
				f[k] = &r->f[d->res_f[k] - 1];
				name[k] = pp->alt[a];
				break;
			}
		d->res_name[k] = name[k];
	}
}

/* The msgpack string s at w (room checked); returns the end. */
static inline char *
put_str(char *w, const char *s, size_t n)
{
	if (n < 32)
		*w++ = (char)(0xa0 | n);
	else
		w += mp_str_header((unsigned char *)w, n);
	memcpy(w, s, n);
	return w + n;
}

size_t
dec_put_int(unsigned char *w, int64_t v)
{
	uint64_t u = (uint64_t)v;
	size_t n, i;

	/* msgpack-c's choice for an int64 (pack_template.h). */
	if (v >= -32 && v < 128) {
		w[0] = (unsigned char)u;
		return 1;
	}
	if (v < 0) {
		if (v >= -128)
			w[0] = 0xd0, n = 1;
		else if (v >= -32768)
			w[0] = 0xd1, n = 2;
		else if (v >= -2147483648LL)
			w[0] = 0xd2, n = 4;
		else
			w[0] = 0xd3, n = 8;
	} else if (v < 256)
		w[0] = 0xcc, n = 1;
	else if (v < 65536)
		w[0] = 0xcd, n = 2;
	else if (v < 4294967296LL)
		w[0] = 0xce, n = 4;
	else
		w[0] = 0xcf, n = 8;
	for (i = 0; i < n; i++)
		w[1 + i] = (unsigned char)(u >> (8 * (n - 1 - i)));
	return 1 + n;
}

/*
 * review.v1 keys as msgpack strings, header byte first, padded to 16
 * bytes: put_key() copies all 16 (the record's room has that slack) and
 * moves on by the key's length.
 */
static const struct {
	char	 b[16];
	size_t	 n;
} out_key[PM_NKEYS] = {
	{ "\xa2" "id", 3 }, { "\xa6" "seller", 7 }, { "\xa5" "buyer", 6 },
	{ "\xa8" "order_id", 9 }, { "\xa7" "service", 8 },
	{ "\xa6" "rating", 7 }, { "\xaa" "created_at", 11 },
	{ "\xa5" "title", 6 }, { "\xa4" "text", 5 }
};

static inline char *
put_key(char *w, int k)
{
	memcpy(w, out_key[k].b, 16);
	return w + out_key[k].n;
}

/*
 * Map d->rec (the source record at position pos, raw bytes raw/n) to a
 * review.v1 record and emit it, or reject it.
 */
static int
emit(struct stage_ctx *ctx, struct decode *d, uint64_t pos, const char *raw,
    size_t n)
{
	const struct dec_field *f[PM_NKEYS];
	struct slice name[PM_NKEYS], val[PM_NKEYS];
	struct text_error te;
	int64_t ts = 0;
	int k, rating = 0, hr, ht, nkeys;
	size_t room;
	char idbuf[20], *w;

	if (d->map == NULL) {
		d->map = d->forced != NULL ? d->forced :
		    pm_detect(&d->maps, &d->rec);
		if (d->map == NULL) {
			struct buf b = BUF_INIT;
			size_t i;

			for (i = 0; i < d->rec.n && i < 12; i++)
				buf_addf(&b, "%s'%.*s'", i ? ", " : "",
				    (int)d->rec.f[i].path.n,
				    d->rec.f[i].path.p);
			src_at(ctx, d, 0);
			stage_warn(ctx, "'%s': no platform mapping matches the "
			    "fields %s; use --platform", d->src.p, b.p);
			rej(ctx, d, pos, raw, n, "unknown_platform",
			    "no mapping matches the fields %s", b.p);
			buf_release(&b);
			d->stop = STOP_DONE;
			return 0;
		}
	}
	map_fields(d, f, name);
	for (k = 0; k < PM_NKEYS; k++) {
		val[k] = (struct slice){ "", 0 };
		if (f[k] == NULL || k == PM_RATING || k == PM_CREATED_AT)
			continue;
		if (f[k]->type == DV_NULL) {
			f[k] = NULL;
			continue;
		}
		if (f[k]->type != DV_STR && f[k]->type != DV_NUM)
			return rej(ctx, d, pos, raw, n, "bad_type",
			    "'%.*s' (%s) is not a string", (int)name[k].n,
			    name[k].p, pm_out_keys[k]);
		if (f[k]->val.n > d->max_field)
			return rej(ctx, d, pos, raw, n > RAW_HEAD ? RAW_HEAD :
			    n, "field_too_large",
			    "'%.*s' has %zu bytes, over --max-field %" PRIu64,
			    (int)name[k].n, name[k].p, f[k]->val.n,
			    d->max_field);
		if (text_clean(&ctx->scratch, f[k]->val.p, f[k]->val.n,
		    &val[k], &te) == -1)
			return rej(ctx, d, pos, raw, n, "bad_utf8",
			    "'%.*s': %s 0x%02x at byte %zu of the field",
			    (int)name[k].n, name[k].p, text_bad_name(te.what),
			    te.byte, te.off);
	}
	if (f[PM_TEXT] == NULL)
		return rej(ctx, d, pos, raw, n, "missing_field",
		    "no '%.*s' (text)", (int)name[PM_TEXT].n, name[PM_TEXT].p);
	if ((hr = pm_rating(d->map, f[PM_RATING], &rating)) == -1)
		return rej(ctx, d, pos, raw, n, "bad_rating",
		    "'%.*s' = '%.*s' is not a rating on this platform's scale",
		    (int)name[PM_RATING].n, name[PM_RATING].p,
		    (int)(f[PM_RATING]->val.n > 64 ? 64 :
		    f[PM_RATING]->val.n), f[PM_RATING]->val.p);
	if ((ht = pm_time(d->map, f[PM_CREATED_AT], &ts)) == -1)
		return rej(ctx, d, pos, raw, n, "bad_time",
		    "'%.*s' = '%.*s' is not a timestamp",
		    (int)name[PM_CREATED_AT].n, name[PM_CREATED_AT].p,
		    (int)(f[PM_CREATED_AT]->val.n > 64 ? 64 :
		    f[PM_CREATED_AT]->val.n), f[PM_CREATED_AT]->val.p);

	/*
	 * The record is written here rather than through rec_out: its keys
	 * are known, new and distinct, so the bytes go straight to one
	 * buffer (the order and encodings are rec_out's).
	 */
	src_at(ctx, d, pos);
	room = 160 + d->src.len + strlen(d->map->name);
	for (k = 0; k < PM_NKEYS; k++)
		room += val[k].n + 5;
	buf_reset(&d->out);
	buf_grow(&d->out, room);
	w = d->out.p;
	nkeys = 6;
	for (k = PM_SELLER; k <= PM_SERVICE; k++)
		nkeys += f[k] != NULL;
	nkeys += f[PM_TITLE] != NULL;
	*w++ = (char)(0x80 | nkeys);
	w = put_key(w, PM_ID);
	if (f[PM_ID] != NULL && val[PM_ID].n > 0)
		w = put_str(w, val[PM_ID].p, val[PM_ID].n);
	else {
		snprintf(idbuf, sizeof(idbuf), "%016" PRIx64,
		    (uint64_t)XXH3_64bits(d->src.p, d->src.len));
		w = put_str(w, idbuf, 16);
	}
	w = put_str(w, "platform", 8);
	w = put_str(w, d->map->name, strlen(d->map->name));
	for (k = PM_SELLER; k <= PM_SERVICE; k++)
		if (f[k] != NULL) {
			w = put_key(w, k);
			w = put_str(w, val[k].p, val[k].n);
		}
	w = put_key(w, PM_RATING);
	if (hr == 1)
		w += dec_put_int((unsigned char *)w, rating);
	else
		*w++ = (char)0xc0;
	w = put_key(w, PM_CREATED_AT);
	if (ht == 1)
		w += dec_put_int((unsigned char *)w, ts);
	else
		*w++ = (char)0xc0;
	if (f[PM_TITLE] != NULL) {
		w = put_key(w, PM_TITLE);
		w = put_str(w, val[PM_TITLE].p, val[PM_TITLE].n);
	}
	w = put_key(w, PM_TEXT);
	w = put_str(w, val[PM_TEXT].p, val[PM_TEXT].n);
	w = put_str(w, "src", 3);
	w = put_str(w, d->src.p, d->src.len);
	k = stage_emit(ctx, d->out.p, (size_t)(w - d->out.p));
	arena_reset(&ctx->scratch);
	return k;
}

/* Count a record and stop at --max-records. */
static bool
count_record(struct stage_ctx *ctx, struct decode *d)
{
	if (d->max_records > 0 && d->nrec >= d->max_records) {
		entry_limit(ctx, d, "too_many_records",
		    "more than %" PRIu64 " records (--max-records)",
		    d->max_records);
		return false;
	}
	d->nrec++;
	return true;
}

/* ---- JSON Lines -------------------------------------------------------- */

static int
json_record(struct stage_ctx *ctx, struct decode *d, uint64_t pos,
    const char *p, size_t n)
{
	struct dj_error e;

	if (!count_record(ctx, d))
		return 0;
	if (dj_parse_object_expect(&ctx->scratch, p, n, &d->rec, &e, d->exp,
	    d->exp_map == d->map ? d->nexp_json : 0) == -1)
		return rej(ctx, d, pos, p, n, e.what == DJ_SURROGATE ?
		    "bad_utf8" : "bad_json", "%s at byte %zu",
		    dj_bad_name(e.what), e.off);
	return emit(ctx, d, pos, p, n);
}

static bool
blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* One line of JSON Lines: -1 to fail, 1 to stop the entry, 0 to go on. */
static int
jsonl_line(struct stage_ctx *ctx, struct decode *d, uint64_t line,
    const char *p, size_t len)
{
	if (len > d->rec_limit) {
		if (!count_record(ctx, d))
			return 1;
		return rej(ctx, d, line, p, RAW_HEAD, "record_too_large",
		    "line over --max-field %" PRIu64 " + 64 KiB",
		    d->max_field) == -1 ? -1 : 0;
	}
	if (blank(p, len))
		return 0;
	if (json_record(ctx, d, line, p, len) == -1)
		return -1;
	return d->stop != STOP_NONE ? 1 : 0;
}

static int
do_jsonl(struct stage_ctx *ctx, struct decode *d)
{
	uint64_t line = 0;
	int r;

	for (;;) {
		const char *base = d->win.p + d->wpos;
		size_t avail = d->win.len - d->wpos;
		const char *nl = memchr(base, '\n', avail);
		const char *bp, *bend;
		const void *blk;
		size_t bn;

		if (nl != NULL || (d->eof && avail > 0)) {
			size_t len = nl != NULL ? (size_t)(nl - base) : avail;

			d->wpos += len + (nl != NULL);
			if ((r = jsonl_line(ctx, d, ++line, base, len)) != 0)
				return r == -1 ? -1 : 0;
			continue;
		}
		if (d->eof)
			return 0;
		if (avail > d->rec_limit) {
			/* A line too long to keep: reject it, skip to LF. */
			line++;
			if (!count_record(ctx, d))
				return 0;
			if (rej(ctx, d, line, base, RAW_HEAD,
			    "record_too_large", "line over --max-field "
			    "%" PRIu64 " + 64 KiB", d->max_field) == -1)
				return -1;
			for (;;) {
				d->wpos = d->win.len;
				if ((r = win_fill(ctx, d)) <= 0)
					return 0;
				nl = memchr(d->win.p, '\n', d->win.len);
				if (nl != NULL) {
					d->wpos = (size_t)(nl - d->win.p) + 1;
					break;
				}
			}
			continue;
		}
		if (d->stop != STOP_NONE)
			return 0;
		/*
		 * The window holds at most the start of a line.  The next
		 * block's lines are read where the block is: only what ends
		 * the window's line, and the piece of a line at the block's
		 * end, are copied into the window.
		 */
		if (d->wpos > 0) {
			memmove(d->win.p, base, avail);
			d->win.len = avail;
			d->wpos = 0;
		}
		if ((r = win_block(ctx, d, &blk, &bn)) == -1)
			return 0;
		if (r == 0)
			continue;
		bp = blk;
		bend = bp + bn;
		if (r == -2 || (nl = memchr(bp, '\n', bn)) == NULL) {
			buf_add(&d->win, bp, bn);
			if (r == -2)
				return 0;
			continue;
		}
		buf_add(&d->win, bp, (size_t)(nl + 1 - bp));
		d->wpos = d->win.len;
		if ((r = jsonl_line(ctx, d, ++line, d->win.p,
		    d->win.len - 1)) != 0)
			return r == -1 ? -1 : 0;
		for (bp = nl + 1; (nl = memchr(bp, '\n',
		    (size_t)(bend - bp))) != NULL; bp = nl + 1)
			if ((r = jsonl_line(ctx, d, ++line, bp,
			    (size_t)(nl - bp))) != 0)
				return r == -1 ? -1 : 0;
		buf_reset(&d->win);
		d->wpos = 0;
		buf_add(&d->win, bp, (size_t)(bend - bp));
	}
}

/* ---- JSON array, element by element ------------------------------------ */

static int
do_array(struct stage_ctx *ctx, struct decode *d)
{
	/* 0: before '[', 1: element or ']', 2: in element, 3: ',' or ']'. */
	int phase = 0, depth = 0;
	bool in_str = false, esc = false, first = true;
	size_t i = d->wpos;
	uint64_t line = 1, eline = 1, nel = 0;

	for (;;) {
		char *p = d->win.p;
		size_t n = d->win.len;

		for (; i < n; i++) {
			char c = p[i];

			if (phase == 2) {
				if (in_str) {
					if (esc)
						esc = false;
					else if (c == '\\')
						esc = true;
					else if (c == '"')
						in_str = false;
					else if (c == '\n')
						line++;
					continue;
				}
				if (c == '"') {
					in_str = true;
					continue;
				}
				if (c == '{' || c == '[') {
					depth++;
					continue;
				}
				if (c == '}' || c == ']') {
					if (depth > 0 && --depth == 0) {
						i++;
						goto element;
					}
					if (depth == 0)
						goto element;
					continue;
				}
				if (depth == 0 && (c == ',' || c == ' ' ||
				    c == '\n' || c == '\r' || c == '\t'))
					goto element;
				if (c == '\n')
					line++;
				continue;
			}
			if (c == '\n') {
				line++;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\r')
				continue;
			if (phase == 0) {
				if (c != '[')
					goto syntax;
				phase = 1;
				continue;
			}
			if (phase == 3 || (phase == 1 && first)) {
				if (c == ']') {
					phase = 4;
					i++;
					goto done;
				}
				if (phase == 3) {
					if (c != ',')
						goto syntax;
					phase = 1;
					continue;
				}
			}
			if (phase == 4)
				goto syntax;
			/* phase 1: an element starts. */
			phase = 2;
			first = false;
			depth = 0;
			d->wpos = i;
			eline = line;
			i--;
			if (c == '"') {
				i++;
				in_str = true;
			} else if (c == '{' || c == '[') {
				i++;
				depth = 1;
			}
			continue;
element:
			nel++;
			if (json_record(ctx, d, eline, p + d->wpos,
			    i - d->wpos) == -1)
				return -1;
			if (d->stop != STOP_NONE)
				return 0;
			d->wpos = i;
			phase = 3;
			i--;
			continue;
		}
		if (phase != 2)
			d->wpos = i;
		else if (i - d->wpos > d->rec_limit) {
			if (!count_record(ctx, d))
				return 0;
			rej(ctx, d, eline, p + d->wpos, RAW_HEAD,
			    "record_too_large", "array element over "
			    "--max-field %" PRIu64 " + 64 KiB; rest of the "
			    "entry skipped", d->max_field);
			d->stop = STOP_DONE;
			return 0;
		}
		if (d->eof)
			break;
		{
			size_t keep = d->wpos;

			if (win_fill(ctx, d) == -1)
				return 0;
			i -= keep;
		}
	}
	if (phase == 4)
		return 0;
done:
	/* Only white space may follow the array. */
	for (;;) {
		for (; i < d->win.len; i++) {
			char c = d->win.p[i];

			if (c == '\n')
				line++;
			else if (c != ' ' && c != '\t' && c != '\r')
				goto syntax;
		}
		if (phase != 4)
			break;
		d->wpos = i;
		if (win_fill(ctx, d) <= 0)
			return 0;
		i = d->wpos;
	}
	/* The input ended inside the array. */
	if (!count_record(ctx, d))
		return 0;
	return rej(ctx, d, phase == 2 ? eline : line, d->win.p + d->wpos,
	    d->win.len - d->wpos > RAW_HEAD ? RAW_HEAD : d->win.len - d->wpos,
	    "bad_json", "JSON array not closed (%" PRIu64 " elements read)",
	    nel);
syntax:
	if (!count_record(ctx, d))
		return 0;
	d->stop = STOP_DONE;
	return rej(ctx, d, line, d->win.p + i,
	    d->win.len - i > RAW_HEAD ? RAW_HEAD : d->win.len - i, "bad_json",
	    "unexpected '%c' in the JSON array at line %" PRIu64
	    "; rest of the entry skipped", d->win.p[i], line);
}

/* ---- CSV / TSV ---------------------------------------------------------- */

static int
do_csv(struct stage_ctx *ctx, struct decode *d, char delim)
{
	uint64_t line = 1;
	size_t used, nval, lines, i;
	bool header = true;
	int r;

	for (;;) {
		const char *p = d->win.p + d->wpos;
		size_t avail = d->win.len - d->wpos;

		if (avail == 0 && d->eof)
			return 0;
		r = avail == 0 ? 0 : csv_record(&ctx->scratch, p, avail,
		    d->eof, delim, &used, d->vals, MAX_COLUMNS, &nval, &lines);
		if (r == -1) {
			if (!count_record(ctx, d))
				return 0;
			d->stop = STOP_DONE;
			return rej(ctx, d, line, p, avail > RAW_HEAD ?
			    RAW_HEAD : avail, "bad_csv", "quote opened at "
			    "line %" PRIu64 " never closed", line);
		}
		if (r == 0) {
			if (avail > d->rec_limit) {
				if (!count_record(ctx, d))
					return 0;
				d->stop = STOP_DONE;
				return rej(ctx, d, line, p, RAW_HEAD,
				    "record_too_large", "CSV record at line "
				    "%" PRIu64 " over --max-field %" PRIu64
				    " + 64 KiB (an unbalanced quote?); rest of "
				    "the entry skipped", line, d->max_field);
			}
			if (win_fill(ctx, d) == -1)
				return 0;
			continue;
		}
		d->wpos += used;
		if (nval == 1 && d->vals[0].n == 0) {
			line += lines;
			arena_reset(&ctx->scratch);
			continue;
		}
		if (header) {
			header = false;
			buf_reset(&d->hdr);
			for (i = 0; i < nval; i++) {
				struct slice v = d->vals[i];

				d->hdr_off[i] = d->hdr.len;
				d->hdr_len[i] = v.n;
				buf_add(&d->hdr, v.p, v.n);
			}
			d->ncols = nval;
			line += lines;
			arena_reset(&ctx->scratch);
			continue;
		}
		if (!count_record(ctx, d))
			return 0;
		if (nval != d->ncols) {
			if (rej(ctx, d, line, p, used, "bad_csv", "%zu fields, "
			    "the header has %zu", nval, d->ncols) == -1)
				return -1;
			line += lines;
			continue;
		}
		d->rec.n = nval;
		d->rec.overflow = false;
		d->rec.nmatched = 0;
		for (i = 0; i < nval; i++) {
			d->rec.f[i].path.p = d->hdr.p + d->hdr_off[i];
			d->rec.f[i].path.n = d->hdr_len[i];
			d->rec.f[i].val = d->vals[i];
			d->rec.f[i].type = DV_STR;
		}
		if (emit(ctx, d, line, p, used) == -1)
			return -1;
		line += lines;
		if (d->stop != STOP_NONE)
			return 0;
	}
}

/* ---- msgpack ------------------------------------------------------------ */

static int
mp_flatten(struct stage_ctx *ctx, struct decode *d, const char **pp,
    const char *end, struct slice prefix, int depth)
{
	struct mp_val k, v;
	uint32_t i, n;

	if (mp_next(pp, end, &v) != MP_OK || v.type != MP_MAP ||
	    depth > DJ_MAX_DEPTH)
		return -1;
	n = v.v.n;
	for (i = 0; i < n; i++) {
		struct slice path;
		struct dec_field *f;
		const char *save;

		if (mp_next(pp, end, &k) != MP_OK || k.type != MP_STR)
			return -1;
		path = k.v.s;
		if (prefix.n > 0) {
			char *q = arena_alloc(&ctx->scratch, prefix.n +
			    k.v.s.n + 2);

			memcpy(q, prefix.p, prefix.n);
			q[prefix.n] = '.';
			memcpy(q + prefix.n + 1, k.v.s.p, k.v.s.n);
			path = (struct slice){ q, prefix.n + 1 + k.v.s.n };
		}
		save = *pp;
		if (mp_next(pp, end, &v) != MP_OK)
			return -1;
		if (d->rec.n >= DEC_MAX_FIELDS) {
			d->rec.overflow = true;
			*pp = save;
			if (mp_skip(pp, end) != MP_OK)
				return -1;
			continue;
		}
		f = &d->rec.f[d->rec.n++];
		f->path = path;
		f->val = (struct slice){ "", 0 };
		switch (v.type) {
		case MP_NIL:
			f->type = DV_NULL;
			break;
		case MP_BOOL:
			f->type = DV_BOOL;
			f->val = v.v.b ? SLICE_LIT("true") : SLICE_LIT("false");
			break;
		case MP_INT:
		case MP_UINT:
		case MP_FLOAT: {
			char *t = arena_alloc(&ctx->scratch, 32);
			int m;

			if (v.type == MP_INT)
				m = snprintf(t, 32, "%" PRId64, v.v.i);
			else if (v.type == MP_UINT)
				m = snprintf(t, 32, "%" PRIu64, v.v.u);
			else
				m = snprintf(t, 32, "%.17g", v.v.f);
			f->type = DV_NUM;
			f->val = (struct slice){ t, (size_t)m };
			break;
		}
		case MP_STR:
		case MP_BIN:
			f->type = DV_STR;
			f->val = v.v.s;
			break;
		case MP_MAP:
			f->type = DV_OBJECT;
			*pp = save;
			if (mp_flatten(ctx, d, pp, end, path, depth + 1) == -1)
				return -1;
			break;
		case MP_ARRAY:
			f->type = DV_ARRAY;
			*pp = save;
			if (mp_skip(pp, end) != MP_OK)
				return -1;
			break;
		case MP_EXT:
			f->type = DV_ARRAY;
			break;
		}
	}
	return 0;
}

static int
do_msgpack(struct stage_ctx *ctx, struct decode *d)
{
	uint64_t nr = 0;

	for (;;) {
		const char *p = d->win.p + d->wpos, *q = p;
		size_t avail = d->win.len - d->wpos;
		int r;

		if (avail == 0 && d->eof)
			return 0;
		r = avail == 0 ? MP_SHORT : mp_skip(&q, p + avail);
		if (r == MP_SHORT) {
			if (d->eof) {
				if (!count_record(ctx, d))
					return 0;
				d->stop = STOP_DONE;
				return rej(ctx, d, nr + 1, p, avail,
				    "bad_msgpack", "input ends inside record "
				    "%" PRIu64 " (%zu bytes left)", nr + 1,
				    avail);
			}
			if (avail > d->rec_limit) {
				if (!count_record(ctx, d))
					return 0;
				d->stop = STOP_DONE;
				return rej(ctx, d, nr + 1, p, RAW_HEAD,
				    "record_too_large", "msgpack record over "
				    "--max-field %" PRIu64 " + 64 KiB; rest of "
				    "the entry skipped", d->max_field);
			}
			if (win_fill(ctx, d) == -1)
				return 0;
			continue;
		}
		nr++;
		if (!count_record(ctx, d))
			return 0;
		if (r != MP_OK) {
			d->stop = STOP_DONE;
			return rej(ctx, d, nr, p, avail > RAW_HEAD ? RAW_HEAD :
			    avail, "bad_msgpack", "not msgpack at byte %" PRIu64
			    " of the entry; rest skipped",
			    d->entry_bytes - avail);
		}
		{
			const char *e = q;

			d->wpos += (size_t)(e - p);
			d->rec.n = 0;
			d->rec.overflow = false;
			d->rec.nmatched = 0;
			q = p;
			if (mp_flatten(ctx, d, &q, e, (struct slice){ "", 0 },
			    0) == -1) {
				if (rej(ctx, d, nr, p, (size_t)(e - p),
				    "bad_msgpack", "record %" PRIu64 " is not "
				    "a map with string keys", nr) == -1)
					return -1;
				continue;
			}
			if (emit(ctx, d, nr, p, (size_t)(e - p)) == -1)
				return -1;
		}
		if (d->stop != STOP_NONE)
			return 0;
	}
}

/* ---- entries ----------------------------------------------------------- */

static bool
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static const char *const compr_suffixes[] = { ".gz", ".zst", ".xz",
	".bz2", ".lz4", ".z", NULL };
static const char *const container_suffixes[] = { ".tar", ".tgz", ".tbz2",
	".txz", ".tzst", ".zip", ".gz", ".zst", ".xz", ".bz2", NULL };

static bool
is_container(const char *name)
{
	const char *const *s;

	for (s = container_suffixes; *s != NULL; s++)
		if (has_suffix(name, *s))
			return true;
	return false;
}

/* The format a name suggests, compression suffixes ignored. */
static enum dec_fmt
fmt_by_name(const char *name)
{
	char tmp[256];
	const char *const *s;
	bool again = true;

	snprintf(tmp, sizeof(tmp), "%s", name);
	while (again) {
		again = false;
		for (s = compr_suffixes; *s != NULL; s++)
			if (has_suffix(tmp, *s)) {
				tmp[strlen(tmp) - strlen(*s)] = '\0';
				again = true;
			}
	}
	if (has_suffix(tmp, ".jsonl") || has_suffix(tmp, ".ndjson"))
		return FMT_JSONL;
	if (has_suffix(tmp, ".csv"))
		return FMT_CSV;
	if (has_suffix(tmp, ".tsv") || has_suffix(tmp, ".tab"))
		return FMT_TSV;
	if (has_suffix(tmp, ".msgpack") || has_suffix(tmp, ".mpk") ||
	    has_suffix(tmp, ".mp"))
		return FMT_MSGPACK;
	return FMT_NONE;	/* .json and others: sniffed */
}

/* Sniff the window: JSON by its first byte, msgpack maps, else CSV. */
static enum dec_fmt
fmt_sniff(const struct decode *d)
{
	const unsigned char *p = (const unsigned char *)d->win.p + d->wpos;
	size_t n = d->win.len - d->wpos, i = 0, commas = 0, tabs = 0, semis = 0;
	bool q = false;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	if (i < n && p[i] == '[')
		return FMT_ARRAY;
	if (i < n && p[i] == '{')
		return FMT_JSONL;
	if (n > 0 && ((p[0] >= 0x80 && p[0] <= 0x8f) || p[0] == 0xde ||
	    p[0] == 0xdf)) {
		/* A map whose first key is a string (or an empty map). */
		const char *c = (const char *)p;
		struct mp_val v;

		if (mp_next(&c, (const char *)p + n, &v) == MP_OK &&
		    (v.v.n == 0 || (mp_next(&c, (const char *)p + n, &v) ==
		    MP_OK && v.type == MP_STR)))
			return FMT_MSGPACK;
	}
	/* Text has no NUL and few other C0 controls: else it is binary. */
	for (i = 0; i < n && i < 4096; i++)
		if (p[i] < 0x09 || (p[i] > 0x0d && p[i] < 0x20 && p[i] != 0x1b))
			return FMT_NONE;
	for (i = 0; i < n && i < 4096; i++) {
		if (p[i] == '"')
			q = !q;
		if (q)
			continue;
		if (p[i] == '\n')
			break;
		commas += p[i] == ',';
		tabs += p[i] == '\t';
		semis += p[i] == ';';
	}
	if (tabs > commas && tabs >= semis)
		return FMT_TSV;
	return FMT_CSV;
}

static bool
unsafe_path(const char *name)
{
	const char *p = name;

	if (name[0] == '/' || name[0] == '\\' || (name[0] != '\0' &&
	    name[1] == ':' && (name[2] == '/' || name[2] == '\\')))
		return true;
	while (*p != '\0') {
		size_t n = strcspn(p, "/\\");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		if (*p != '\0')
			p++;
	}
	return false;
}

/* Decode the current entry of archive a (name: for the format hint). */
static int
decode_entry(struct stage_ctx *ctx, struct decode *d, struct archive *a,
    const char *hint)
{
	enum dec_fmt fmt;
	int r = 0;

	d->cur = a;
	buf_reset(&d->win);
	d->wpos = 0;
	d->eof = false;
	d->stop = STOP_NONE;
	d->entry_bytes = 0;
	d->nrec = 0;
	d->map = NULL;
	d->errmsg[0] = '\0';
	(void)win_fill(ctx, d);
	if (d->win.len - d->wpos >= 3 &&
	    memcmp(d->win.p + d->wpos, "\xef\xbb\xbf", 3) == 0)
		d->wpos += 3;
	fmt = d->force_fmt != FMT_NONE ? d->force_fmt : fmt_by_name(hint);
	if (fmt == FMT_NONE && d->win.len > d->wpos)
		fmt = fmt_sniff(d);
	if (d->stop == STOP_NONE) {
		if (d->win.len == d->wpos && d->eof) {
			src_at(ctx, d, 0);
			stage_info(ctx, "'%s': empty entry", d->src.p);
		} else if (fmt == FMT_NONE) {
			size_t n = d->win.len - d->wpos;

			if (count_record(ctx, d))
				r = rej(ctx, d, 0, d->win.p + d->wpos, n >
				    RAW_HEAD ? RAW_HEAD : n, "unknown_format",
				    "not JSON, CSV or msgpack (binary data)");
		} else if (fmt == FMT_JSONL)
			r = do_jsonl(ctx, d);
		else if (fmt == FMT_ARRAY)
			r = do_array(ctx, d);
		else if (fmt == FMT_CSV || fmt == FMT_TSV)
			r = do_csv(ctx, d, fmt == FMT_TSV ? '\t' : ',');
		else
			r = do_msgpack(ctx, d);
	}
	if (r == 0 && d->stop == STOP_ERROR) {
		const char *src = src_at(ctx, d, 0);

		stage_reject_raw(ctx, src, "", 0, "bad_archive", "%s",
		    d->errmsg);
		stage_input_error(ctx, "'%s': %s", src, d->errmsg);
		return 1;
	}
	return r == -1 ? -1 : (d->stop == STOP_LIMIT ? 1 : 0);
}

static struct archive *
archive_new(void)
{
	struct archive *a = archive_read_new();

	if (a == NULL)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_empty(a);
	archive_read_support_format_raw(a);
	return a;
}

static int decode_archive(struct stage_ctx *, struct decode *,
    struct archive *, const char *, const char *, int);

/*
 * Walk the entries of archive a.  `outer_name` is the provenance of a
 * itself ("x.tar" or "x.tar!inner.zip"), `hint` the name to take the
 * format from when a has a single unnamed (raw) entry.
 */
static int
decode_archive(struct stage_ctx *ctx, struct decode *d, struct archive *a,
    const char *outer, const char *hint, int depth)
{
	struct archive_entry *e;
	int r, ret = 0;

	for (;;) {
		const char *name;
		bool raw;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			src_set_prefix(d, outer, NULL, NULL);
			src_at(ctx, d, 0);
			stage_reject_raw(ctx, d->src.p, "", 0, "bad_archive",
			    "%s", archive_error_string(a) != NULL ?
			    archive_error_string(a) : "cannot read");
			stage_input_error(ctx, "'%s': %s", d->src.p,
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "cannot read");
			return 1;
		}
		raw = archive_format(a) == ARCHIVE_FORMAT_RAW;
		if (raw && (has_suffix(hint, ".zip") || has_suffix(hint,
		    ".tar") || has_suffix(hint, ".tgz"))) {
			src_set_prefix(d, outer, NULL, NULL);
			src_at(ctx, d, 0);
			stage_reject_raw(ctx, d->src.p, "", 0, "bad_archive",
			    "not a valid %s archive", strrchr(hint, '.') + 1);
			stage_input_error(ctx, "'%s': not a valid %s archive",
			    d->src.p, strrchr(hint, '.') + 1);
			return 1;
		}
		if (raw) {
			src_set_prefix(d, outer, NULL, NULL);
			r = decode_entry(ctx, d, a, hint);
			if (r == -1)
				return -1;
			ret |= r;
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		name = archive_entry_pathname(e);
		if (name == NULL)
			name = "?";
		src_set_prefix(d, outer, name, NULL);
		if (unsafe_path(name)) {
			src_at(ctx, d, 0);
			stage_reject_raw(ctx, d->src.p, name, strlen(name),
			    "unsafe_path", "entry name '%s' is absolute or "
			    "climbs out with '..'", name);
			continue;
		}
		if (is_container(name)) {
			struct archive *in;
			struct gz *g;
			char *prov, err[256];

			if (depth > 0) {
				src_at(ctx, d, 0);
				stage_reject_raw(ctx, d->src.p, "", 0,
				    "nested_too_deep", "archive inside an "
				    "archive inside an archive");
				continue;
			}
			if ((g = gz_open(-1, a, err, sizeof(err))) == NULL) {
				src_at(ctx, d, 0);
				stage_reject_raw(ctx, d->src.p, "", 0,
				    "bad_archive", "%s", err);
				stage_input_error(ctx, "'%s': %s", d->src.p,
				    err);
				return 1;
			}
			if ((in = archive_new()) == NULL) {
				gz_free(g);
				return stage_fail(ctx, "out of memory");
			}
			prov = strdup(d->src.p);
			if (prov == NULL ||
			    archive_read_open(in, g, NULL, gz_read, NULL) !=
			    ARCHIVE_OK) {
				stage_reject_raw(ctx, d->src.p, "", 0,
				    "bad_archive", "%s", archive_error_string(
				    in) ? archive_error_string(in) :
				    "cannot open");
				stage_input_error(ctx, "'%s': %s", d->src.p,
				    archive_error_string(in) ?
				    archive_error_string(in) : "cannot open");
				ret = 1;
			} else {
				r = decode_archive(ctx, d, in, prov, name, 1);
				if (r == -1) {
					archive_read_free(in);
					gz_free(g);
					free(prov);
					return -1;
				}
				ret |= r;
			}
			archive_read_free(in);
			gz_free(g);
			free(prov);
			continue;
		}
		r = decode_entry(ctx, d, a, name);
		if (r == -1)
			return -1;
		ret |= r;
		if (d->stop == STOP_ERROR)
			return 1;
	}
	return ret;
}

static int
decode_source(struct stage_ctx *ctx, const char *path)
{
	struct decode *d = ctx->priv;
	struct archive *a;
	struct gz *g = NULL;
	char err[256];
	int r, fd;

	if ((a = archive_new()) == NULL)
		return stage_fail(ctx, "out of memory");
	d->path = path;
	d->top = a;
	d->topgz = NULL;
	d->file_out = 0;
	if (strcmp(path, "-") == 0)
		fd = 0;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		stage_input_error(ctx, "cannot open '%s': %s", path,
		    strerror(errno));
		archive_read_free(a);
		return 0;
	}
	if ((g = gz_open(fd, NULL, err, sizeof(err))) == NULL) {
		stage_input_error(ctx, "cannot read '%s': %s", path, err);
		archive_read_free(a);
		if (fd != 0)
			close(fd);
		return 0;
	}
	if (gz_is_gzip(g) || fd == 0) {
		/* gzip inflated by ISA-L; stdin cannot be reopened. */
		d->topgz = g;
		r = archive_read_open(a, g, NULL, gz_read, NULL);
	} else {
		/* A file libarchive can seek in (zip central directory). */
		gz_free(g);
		g = NULL;
		close(fd);
		fd = -1;
		r = archive_read_open_filename(a, path, 64 * 1024);
	}
	if (r != ARCHIVE_OK) {
		const char *msg = archive_error_string(a) != NULL ?
		    archive_error_string(a) : "unknown error";
		int e = archive_errno(a);

		/*
		 * A file that is there but unreadable as an archive (a
		 * truncated .gz whose end libarchive met while sniffing) is a
		 * reject too; a missing or forbidden file is not a record.
		 */
		if (e != ENOENT && e != EACCES && e != EISDIR &&
		    e != ENOTDIR && e != EPERM && e != ELOOP)
			stage_reject_raw(ctx, path, "", 0, "bad_archive",
			    "%s", msg);
		stage_input_error(ctx, "cannot open '%s': %s", path, msg);
		r = 0;
		goto out;
	}
	r = decode_archive(ctx, d, a, strcmp(path, "-") == 0 ? "-" : path,
	    path, 0);
out:
	archive_read_free(a);
	gz_free(g);
	if (fd > 0)
		close(fd);
	d->top = NULL;
	d->topgz = NULL;
	return r == -1 ? -1 : 0;
}

/* ---- setup --------------------------------------------------------------- */

static int
maps_add(struct stage_ctx *ctx, struct decode *d, const char *name)
{
	struct slice data;
	struct pmap *v;
	char err[512];

	if ((strncmp(name, "schemas/", 8) == 0 ?
	    stage_model(ctx, name, &data) : stage_file(ctx, name, &data)) == -1)
		return -1;
	v = realloc(d->maps.v, (d->maps.n + 1) * sizeof(*v));
	if (v == NULL)
		return stage_fail_errno(ctx, "cannot load '%s'", name);
	d->maps.v = v;
	if (pm_parse(&v[d->maps.n], name, data, err, sizeof(err)) == -1) {
		pm_release(&v[d->maps.n]);
		return stage_fail(ctx, "%s", err);
	}
	d->maps.n++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every schemas/platforms/NAME.map compiled in, then NAME.map files in
 * --platforms DIR (a new platform without rebuilding; same name wins).
 */
static int
maps_load(struct stage_ctx *ctx, struct decode *d)
{
	char **names = NULL, path[4096];
	size_t n = 0, i;
	int ret = -1;

	if (opt_str(ctx, "platforms") != NULL) {
		DIR *dir;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s", opt_str(ctx, "platforms"));
		if ((dir = opendir(path)) == NULL)
			return stage_fail_errno(ctx, "cannot open '%s'", path);
		while ((de = readdir(dir)) != NULL) {
			char **nn;

			if (!has_suffix(de->d_name, ".map"))
				continue;
			if ((nn = realloc(names, (n + 1) * sizeof(*nn))) ==
			    NULL)
				break;
			names = nn;
			snprintf(path, sizeof(path), "%s/%s",
			    opt_str(ctx, "platforms"), de->d_name);
			names[n++] = strdup(path);
		}
		closedir(dir);
	}
	{
		const struct model_file *m;

		for (m = model_files; m->name != NULL; m++) {
			char **nn;

			if (strncmp(m->name, "schemas/platforms/", 18) != 0 ||
			    !has_suffix(m->name, ".map"))
				continue;
			if ((nn = realloc(names, (n + 1) * sizeof(*nn))) ==
			    NULL)
				break;
			names = nn;
			names[n++] = strdup(m->name);
		}
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		if (names[i] == NULL || maps_add(ctx, d, names[i]) == -1)
			goto out;
	if (d->maps.n == 0) {
		stage_fail(ctx, "no platform mappings (schemas/platforms/*.map)");
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

static int
decode_init(struct stage_ctx *ctx)
{
	struct decode *d;
	const char *s;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return stage_fail_errno(ctx, "cannot start");
	ctx->priv = d;
	buf_init(&d->win);
	buf_init(&d->src);
	buf_init(&d->hdr);
	buf_init(&d->exp_buf);
	buf_init(&d->out);
	d->max_entry = (uint64_t)opt_int(ctx, "max-entry-size");
	d->max_ratio = opt_float(ctx, "max-ratio");
	d->max_field = (uint64_t)opt_int(ctx, "max-field");
	d->max_records = (uint64_t)opt_int(ctx, "max-records");
	d->rec_limit = d->max_field + REC_SLACK;
	if (maps_load(ctx, d) == -1)
		return -1;
	if ((s = opt_str(ctx, "platform")) != NULL &&
	    (d->forced = pm_find(&d->maps, s)) == NULL) {
		struct buf b = BUF_INIT;
		size_t i;

		for (i = 0; i < d->maps.n; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", d->maps.v[i].name);
		stage_usage_error(ctx, "unknown platform '%s' (known: %s)", s,
		    b.p);
		buf_release(&b);
		return -1;
	}
	if ((s = opt_str(ctx, "format")) != NULL) {
		if (strcmp(s, "jsonl") == 0)
			d->force_fmt = FMT_JSONL;
		else if (strcmp(s, "json") == 0)
			d->force_fmt = FMT_ARRAY;
		else if (strcmp(s, "csv") == 0)
			d->force_fmt = FMT_CSV;
		else if (strcmp(s, "tsv") == 0)
			d->force_fmt = FMT_TSV;
		else if (strcmp(s, "msgpack") == 0)
			d->force_fmt = FMT_MSGPACK;
		else
			return stage_usage_error(ctx, "unknown --format '%s' "
			    "(jsonl, json, csv, tsv, msgpack)", s);
	}
	return 0;
}

static void
decode_free(struct stage_ctx *ctx)
{
	struct decode *d = ctx->priv;
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->maps.n; i++)
		pm_release(&d->maps.v[i]);
	free(d->maps.v);
	buf_release(&d->win);
	buf_release(&d->src);
	buf_release(&d->hdr);
	buf_release(&d->exp_buf);
	buf_release(&d->out);
	free(d);
	ctx->priv = NULL;
}

const struct stage decode_stage = {
	.name = "decode",
	.summary = "decode export archives (tar, zip, gz, zst, xz, bz2; "
	    "JSON, CSV, msgpack) into review records",
	.usage = "[FILE...]",
	.opts = decode_opts,
	.init = decode_init,
	.source = decode_source,
	.free = decode_free,
};
