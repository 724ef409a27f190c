/*
 * gen - a deterministic generator of synthetic multilingual reviews with
 * known duplicates, for benchmarks and accuracy checks.
 *
 * usage: gen [-z] [-n N] [-s SEED] [-e PCT] [-r PCT] [-t PCT]
 *            [-p SHAPE] [-T TRUTH] [-c CORPUS_DIR] [-o FILE]
 *
 * Texts are assembled from sentences of the real reviews in
 * testdata/corpus/reviews.*.jsonl.gz (read at run time): 1 to 3 sentences
 * of one language, never the same matching form twice for one seller.
 * Output is one platform shape (-p, the mappings in schemas/platforms): generic
 * (JSON Lines, our own keys; the default), khamsat (JSON Lines, nested
 * buyer/seller objects, thumbs), fiverr (CSV, fractional stars, "Nov 3,
 * 2026" dates), tenpoint (JSON Lines, 10-point score, ISO-8601), percent
 * (a JSON array, one element per line, percent scores, unix ms); gzip'd
 * with -z.  The same arguments give the same bytes.
 *
 * decode drops keys its mapping does not name, so -T TRUTH also writes
 * the ground truth as lines "LINE<TAB>KIND<TAB>CAMPAIGN": LINE is where the
 * record starts in the output (decode's `src` ends in it), KIND is exact,
 * near or -, CAMPAIGN is 0 or the campaign number.  bench/dedupe_eval -t
 * joins it back.
 *
 * Ground truth rides along in keys dedupe passes through:
 *   _truth_dup_of   the id of the original of an exact (-e, default 5%) or
 *                   near (-r, default 3%) duplicate; same buyer and
 *                   seller; an exact one is the original text with case,
 *                   spacing or punctuation changed, and half of them repeat
 *                   the original id (overlapping exports);
 *   _truth_kind     exact | near; near edits: a word changed, a typo,
 *                   punctuation added, an emoji added;
 *   _truth_template campaign number: the same praise pasted by 3..8
 *                   distinct buyers for one seller (-t, default 1% of
 *                   records); these are not duplicates.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>

#include "buf.h"
#include "norm.h"
#include "banned.h"

#define GEN_NLANG	7
#define GEN_RECENT	(1 << 16)	/* originals a duplicate may copy */

static const char *gen_langs[GEN_NLANG] = {
	"ar", "el", "en", "fa", "kk", "ru", "tr"
};

static const char *gen_emoji[] = {
	"\xf0\x9f\x91\x8d", "\xe2\x9d\xa4\xef\xb8\x8f", "\xf0\x9f\x99\x8f",
	"\xf0\x9f\x98\x8a", "\xf0\x9f\x94\xa5", "\xf0\x9f\x91\x8c"
};

static const char *gen_punct[] = { "!", "!!", "...", ".", " !", "?!" };

static const char *gen_services[] = {
	"logo design", "translation", "web development", "voice over",
	"video editing", "data entry", "seo audit", "mobile app"
};

struct gen_lang {
	char	**frag;			/* sentences */
	size_t	 nfrag, capfrag;
	char	**word;			/* words of length >= 3 */
	size_t	 nword, capword;
};

struct gen_orig {
	char		 id[32];
	uint32_t	 buyer, seller;
	int		 lang;
	char		*text;
};

struct gen_pending {
	uint64_t	 due;
	uint32_t	 buyer, seller, campaign;
	char		*text;
};

static struct gen_lang	 langs[GEN_NLANG];
static uint64_t		 rng_state;

static void
gen_die(const char *fmt, ...)
{
	va_list ap;

	fputs("gen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
gen_alloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		gen_die("out of memory");
	return p;
}

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rnd_below(uint64_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

static void
push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		if ((*v = realloc(*v, *cap * sizeof(**v))) == NULL)
			gen_die("out of memory");
	}
	(*v)[(*n)++] = s;
}

static char *
gen_strndup(const char *p, size_t n)
{
	char *s = gen_alloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Append code point c as UTF-8. */
static void
put_utf8(struct buf *b, uint32_t c)
{
	if (c < 0x80)
		buf_addc(b, (int)c);
	else if (c < 0x800) {
		buf_addc(b, (int)(0xc0 | c >> 6));
		buf_addc(b, (int)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_addc(b, (int)(0xe0 | c >> 12));
		buf_addc(b, (int)(0x80 | (c >> 6 & 0x3f)));
		buf_addc(b, (int)(0x80 | (c & 0x3f)));
	} else {
		buf_addc(b, (int)(0xf0 | c >> 18));
		buf_addc(b, (int)(0x80 | (c >> 12 & 0x3f)));
		buf_addc(b, (int)(0x80 | (c >> 6 & 0x3f)));
		buf_addc(b, (int)(0x80 | (c & 0x3f)));
	}
}

/*
 * The value of "text" in one corpus JSON line, unescaped into b; 0, or -1
 * when the line has none.  The corpus is ours and well-formed.
 */
static int
json_text(const char *line, struct buf *b)
{
	const char *p = strstr(line, "\"text\": \"");
	unsigned c, lo;
	int n;

	if (p == NULL)
		return -1;
	buf_reset(b);
	for (p += 9; *p != '\0' && *p != '"'; p++) {
		if (*p != '\\') {
			buf_addc(b, *p);
			continue;
		}
		switch (*++p) {
		case 'n': buf_addc(b, '\n'); break;
		case 't': buf_addc(b, '\t'); break;
		case 'r': buf_addc(b, '\r'); break;
		case 'b': case 'f': break;
		case 'u':
			if (sscanf(p + 1, "%4x%n", &c, &n) != 1 || n != 4)
				return -1;
			p += 4;
			if (c >= 0xd800 && c < 0xdc00 && p[1] == '\\' &&
			    p[2] == 'u' && sscanf(p + 3, "%4x", &lo) == 1) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			put_utf8(b, c);
			break;
		case '\0':
			return -1;
		default:
			buf_addc(b, *p);
		}
	}
	return 0;
}

/* Split a review into sentences and words of language l. */
static void
gen_add_review(struct gen_lang *l, const char *t, size_t n)
{
	size_t i, start = 0, w;

	for (i = 0; i <= n; i++) {
		int end = i == n || t[i] == '\n' ||
		    ((t[i] == '.' || t[i] == '!' || t[i] == '?') &&
		    (i + 1 == n || t[i + 1] == ' ' || t[i + 1] == '\n')) ||
		    (i + 1 < n && (unsigned char)t[i] == 0xd8 &&
		    (unsigned char)t[i + 1] == 0x9f);	/* Arabic ? */
		size_t e = i < n && t[i] != '\n' ? i + 1 : i;

		if (!end)
			continue;
		if (i + 1 < n && (unsigned char)t[i] == 0xd8)
			e = i + 2;
		while (start < e && (t[start] == ' ' || t[start] == '\n'))
			start++;
		if (e > start + 3 && e - start < 400)
			push(&l->frag, &l->nfrag, &l->capfrag,
			    gen_strndup(t + start, e - start));
		start = e;
		if (e > i)
			i = e - 1;
	}
	for (i = 0; i < n; i = w + 1) {
		for (w = i; w < n && t[w] != ' ' && t[w] != '\n'; w++)
			;
		if (w - i >= 3 && w - i < 24 && l->nword < 200000)
			push(&l->word, &l->nword, &l->capword,
			    gen_strndup(t + i, w - i));
	}
}

static void
gen_load(const char *dir)
{
	char path[4096], line[65536];
	struct buf b = BUF_INIT;
	gzFile f;
	int i;

	for (i = 0; i < GEN_NLANG; i++) {
		snprintf(path, sizeof(path), "%s/reviews.%s.jsonl.gz", dir,
		    gen_langs[i]);
		if ((f = gzopen(path, "rb")) == NULL)
			gen_die("cannot open '%s': %s", path, strerror(errno));
		while (gzgets(f, line, sizeof(line)) != NULL)
			if (json_text(line, &b) == 0)
				gen_add_review(&langs[i], b.p, b.len);
		gzclose(f);
		if (langs[i].nfrag == 0 || langs[i].nword == 0)
			gen_die("no sentences in '%s'", path);
	}
	buf_release(&b);
}

/* ---- output ---------------------------------------------------------- */

static struct buf	 out = BUF_INIT;
static gzFile		 outgz;
static FILE		*outfp;

static void
out_flush(void)
{
	if (out.len == 0)
		return;
	if (outgz != NULL) {
		if (gzwrite(outgz, out.p, (unsigned)out.len) != (int)out.len)
			gen_die("write error");
	} else if (fwrite(out.p, 1, out.len, outfp) != out.len)
		gen_die("write error: %s", strerror(errno));
	buf_reset(&out);
}

static void
out_json_str(const char *s)
{
	const unsigned char *p;

	buf_addc(&out, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(&out, '\\');
			buf_addc(&out, *p);
		} else if (*p == '\n')
			buf_add(&out, "\\n", 2);
		else if (*p < 0x20)
			buf_addf(&out, "\\u%04x", *p);
		else
			buf_addc(&out, *p);
	}
	buf_addc(&out, '"');
}

/* Output shapes: the platform mappings in schemas/platforms/. */
enum { SHAPE_GENERIC, SHAPE_KHAMSAT, SHAPE_FIVERR, SHAPE_TENPOINT,
	SHAPE_PERCENT };
static const char *shape_names[] = { "generic", "khamsat", "fiverr",
	"tenpoint", "percent", NULL };
static int		 shape;
static uint64_t		 line = 1;	/* where the next record starts */
static FILE		*truthfp;

static void
out_csv_str(const char *s)
{
	buf_addc(&out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_addc(&out, '"');
		buf_addc(&out, *s);
	}
	buf_addc(&out, '"');
}

static void
out_header(void)
{
	if (shape == SHAPE_FIVERR) {
		buf_adds(&out, "Order ID,Buyer,Seller,Gig Title,Rating,Review,"
		    "Review Date\n");
		line++;
	} else if (shape == SHAPE_PERCENT) {
		buf_adds(&out, "[\n");
		line++;
	}
}

static void
out_footer(void)
{
	if (shape == SHAPE_PERCENT)
		buf_adds(&out, "\n]\n");
}

static void
out_record(const char *id, uint32_t buyer, uint32_t seller, int lang,
    uint64_t i, const char *text, const char *dup_of, const char *kind,
    uint32_t campaign)
{
	static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *service = gen_services[(seller + (uint32_t)lang) % 8];
	int stars = 1 + (int)((i * 2654435761u >> 7) % 5);
	time_t t = (time_t)(1700000000ULL + i * 37 % 31536000);
	char iso[32], ord[32];
	struct tm tm;
	const char *p;

	gmtime_r(&t, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ord, sizeof(ord), "o%010llu", (unsigned long long)i);
	if (truthfp != NULL)
		fprintf(truthfp, "%llu\t%s\t%u\n", (unsigned long long)line,
		    kind != NULL ? kind : "-", campaign);
	switch (shape) {
	case SHAPE_KHAMSAT:
		buf_adds(&out, "{\"review_id\":");
		out_json_str(id);
		buf_addf(&out, ",\"order\":{\"id\":\"%s\"},\"service\":"
		    "{\"title\":\"%s\"},\"buyer\":{\"username\":\"b%08u\"},"
		    "\"seller\":{\"username\":\"s%06u\"},\"recommended\":%s,"
		    "\"comment\":", ord, service, buyer, seller,
		    stars >= 3 ? "true" : "false");
		out_json_str(text);
		buf_addf(&out, ",\"created_at\":\"%s\"", iso);
		break;
	case SHAPE_FIVERR:
		buf_addf(&out, "%s,b%08u,s%06u,", ord, buyer, seller);
		out_csv_str(service);
		buf_addf(&out, ",%.1f,", stars - (stars > 1 ? (double)(i % 4) /
		    10 : 0));
		out_csv_str(text);
		buf_addf(&out, ",\"%s %d, %d\"\n", mon[tm.tm_mon], tm.tm_mday,
		    tm.tm_year + 1900);
		line++;
		for (p = text; *p != '\0'; p++)
			line += *p == '\n';
		goto done;
	case SHAPE_TENPOINT:
		buf_adds(&out, "{\"review_uuid\":");
		out_json_str(id);
		buf_addf(&out, ",\"merchant\":\"s%06u\",\"author\":\"b%08u\","
		    "\"listing\":\"%s\",\"score\":%d,\"posted_at\":\"%s\","
		    "\"body\":", seller, buyer, service,
		    stars * 2 - (int)(i % 2), iso);
		out_json_str(text);
		break;
	case SHAPE_PERCENT:
		if (line > 2)
			buf_add(&out, ",\n", 2);
		buf_adds(&out, "{\"reviewId\":");
		out_json_str(id);
		buf_addf(&out, ",\"shop\":{\"name\":\"s%06u\"},\"customer\":"
		    "{\"name\":\"b%08u\"},\"orderRef\":\"%s\",\"product\":"
		    "{\"name\":\"%s\"},\"satisfaction\":%d,\"timestamp\":"
		    "%lld000,\"content\":", seller, buyer, ord, service,
		    stars * 20 - (int)(i % 10), (long long)t);
		out_json_str(text);
		break;
	default:
		buf_adds(&out, "{\"id\":");
		out_json_str(id);
		buf_addf(&out, ",\"platform\":\"generic\",\"seller\":\"s%06u\","
		    "\"buyer\":\"b%08u\",\"order_id\":\"%s\",\"service\":"
		    "\"%s\",\"rating\":%d,\"created_at\":%lld,\"text\":",
		    seller, buyer, ord, service, stars, (long long)t);
		out_json_str(text);
		break;
	}
	/* Ground truth rides along; decode drops it, hence also -T. */
	if (dup_of != NULL) {
		buf_adds(&out, ",\"_truth_dup_of\":");
		out_json_str(dup_of);
		buf_addf(&out, ",\"_truth_kind\":\"%s\"", kind);
	}
	if (campaign != 0)
		buf_addf(&out, ",\"_truth_template\":%u", campaign);
	buf_add(&out, "}", 1);
	if (shape != SHAPE_PERCENT)
		buf_addc(&out, '\n');
	line++;
done:
	if (out.len >= (1 << 20))
		out_flush();
}

/* ---- texts ------------------------------------------------------------ */

/* Seen (seller, matching form) pairs: open addressing on 64-bit hashes. */
static uint64_t	*seen;
static size_t	 seen_mask;

static int
seen_add(uint64_t h)
{
	size_t s;

	h |= 1;
	for (s = h & seen_mask; seen[s] != 0; s = (s + 1) & seen_mask)
		if (seen[s] == h)
			return 0;
	seen[s] = h;
	return 1;
}

static uint64_t
form_hash(const char *text, uint32_t seller)
{
	struct buf f = BUF_INIT;
	uint64_t h;

	norm_buf(&f, slice_from(text));
	h = XXH3_64bits_withSeed(f.p, f.len, seller);
	buf_release(&f);
	return h;
}

/* A new text of language l, unique for the seller. */
static char *
gen_text(int l, uint32_t seller)
{
	struct gen_lang *g = &langs[l];
	struct buf b = BUF_INIT;
	int k, n, tries;

	for (tries = 0;; tries++) {
		buf_reset(&b);
		n = 1 + (int)rnd_below(3) + (tries > 4);
		for (k = 0; k < n; k++) {
			if (k > 0)
				buf_addc(&b, ' ');
			buf_adds(&b, g->frag[rnd_below(g->nfrag)]);
		}
		if (seen_add(form_hash(b.p, seller)))
			break;
	}
	return buf_detach(&b, NULL);
}

/* Byte offsets of code point starts in s. */
static size_t
cp_starts(const char *s, size_t *pos, size_t max)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && n < max; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			pos[n++] = i;
	return n;
}

/* An exact duplicate: the same matching form, differently typed. */
static char *
gen_exact(const char *t)
{
	struct buf b = BUF_INIT;
	size_t i;

	switch (rnd_below(4)) {
	case 0:		/* as is */
		buf_adds(&b, t);
		break;
	case 1:		/* ASCII upper case */
		for (i = 0; t[i] != '\0'; i++)
			buf_addc(&b, t[i] >= 'a' && t[i] <= 'z' ?
			    t[i] - 32 : t[i]);
		break;
	case 2:		/* extra spaces */
		buf_adds(&b, "  ");
		for (i = 0; t[i] != '\0'; i++) {
			buf_addc(&b, t[i]);
			if (t[i] == ' ')
				buf_addc(&b, ' ');
		}
		break;
	default:	/* punctuation at the end */
		buf_adds(&b, t);
		buf_adds(&b, gen_punct[rnd_below(6)]);
		break;
	}
	return buf_detach(&b, NULL);
}

/* A near duplicate: one small edit of kind k. */
static char *
gen_near(const char *t, int l, int k)
{
	struct buf b = BUF_INIT;
	size_t pos[4096], n, i, a, e;
	const char *w;

	n = cp_starts(t, pos, 4096);
	switch (k) {
	case 0:		/* a word changed */
		/* Pick a word boundary after the first quarter. */
		for (a = n / 4 + rnd_below(n / 2 + 1); a < n &&
		    t[pos[a]] != ' '; a++)
			;
		if (a >= n) {
			buf_adds(&b, t);
			buf_addc(&b, ' ');
			buf_adds(&b, langs[l].word[rnd_below(langs[l].nword)]);
			break;
		}
		for (e = a + 1; e < n && t[pos[e]] != ' '; e++)
			;
		buf_add(&b, t, pos[a] + 1);
		w = langs[l].word[rnd_below(langs[l].nword)];
		buf_adds(&b, w);
		if (e < n)
			buf_adds(&b, t + pos[e]);
		break;
	case 1:		/* a typo: a letter dropped, doubled or swapped */
		a = 1 + rnd_below(n > 2 ? n - 2 : 1);
		e = a + 1 < n ? pos[a + 1] : strlen(t);
		switch (rnd_below(3)) {
		case 0:
			buf_add(&b, t, pos[a]);
			buf_adds(&b, t + e);
			break;
		case 1:
			buf_add(&b, t, e);
			buf_adds(&b, t + pos[a]);
			break;
		default:
			if (a + 2 >= n) {
				buf_add(&b, t, pos[a]);
				buf_adds(&b, t + e);
				break;
			}
			buf_add(&b, t, pos[a]);
			buf_add(&b, t + e, pos[a + 2] - e);
			buf_add(&b, t + pos[a], e - pos[a]);
			buf_adds(&b, t + pos[a + 2]);
		}
		break;
	case 2:		/* punctuation added in the middle and the end */
		for (i = 0; t[i] != '\0'; i++) {
			buf_addc(&b, t[i]);
			if (t[i] == ' ' && rnd_below(6) == 0)
				buf_adds(&b, ", ");
		}
		buf_adds(&b, gen_punct[rnd_below(6)]);
		break;
	default:	/* an emoji added */
		buf_adds(&b, t);
		buf_addc(&b, ' ');
		buf_adds(&b, gen_emoji[rnd_below(6)]);
		if (rnd_below(2))
			buf_adds(&b, gen_emoji[rnd_below(6)]);
		break;
	}
	return buf_detach(&b, NULL);
}

static void
usage(void)
{
	fputs("usage: gen [-z] [-n N] [-s SEED] [-e PCT] [-r PCT] [-t PCT] "
	    "[-p SHAPE] [-T TRUTH] [-c CORPUS_DIR] [-o FILE]\n"
	    "shapes: generic khamsat fiverr tenpoint percent\n", stderr);
	exit(2);
}

static double
num(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || d < 0)
		usage();
	return d;
}

int
main(int argc, char **argv)
{
	struct gen_orig *recent;
	struct gen_pending *pend = NULL;
	size_t npend = 0, cappend = 0, nrecent = 0, j;
	const char *dir = "testdata/corpus", *path = NULL;
	double pexact = 5, pnear = 3, ptmpl = 1;
	uint64_t n = 100000, seed = 1, i, done = 0, nbuyers, nsellers;
	uint32_t campaign = 0;
	char id[32], *text;
	int c, z = 0, l;

	while ((c = getopt(argc, argv, "zn:s:e:r:t:c:o:p:T:")) != -1) {
		switch (c) {
		case 'p':
			for (shape = 0; shape_names[shape] != NULL &&
			    strcmp(shape_names[shape], optarg) != 0; shape++)
				;
			if (shape_names[shape] == NULL)
				usage();
			break;
		case 'T':
			if ((truthfp = fopen(optarg, "w")) == NULL)
				gen_die("cannot open '%s': %s", optarg,
				    strerror(errno));
			break;
		case 'z': z = 1; break;
		case 'n': n = (uint64_t)num(optarg); break;
		case 's': seed = (uint64_t)num(optarg); break;
		case 'e': pexact = num(optarg); break;
		case 'r': pnear = num(optarg); break;
		case 't': ptmpl = num(optarg); break;
		case 'c': dir = optarg; break;
		case 'o': path = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || pexact + pnear + ptmpl > 50)
		usage();
	rng_state = seed * 0x2545f4914f6cdd1dULL;
	gen_load(dir);
	nbuyers = n / 2 < 1000 ? 1000 : n / 2;
	nsellers = n / 100 < 100 ? 100 : n / 100;
	for (seen_mask = 1024; seen_mask < 2 * n; seen_mask *= 2)
		;
	seen = calloc(seen_mask, sizeof(*seen));
	seen_mask--;
	recent = calloc(GEN_RECENT, sizeof(*recent));
	if (seen == NULL || recent == NULL)
		gen_die("out of memory");

	if (z) {
		if ((outgz = path != NULL ? gzopen(path, "wb6") :
		    gzdopen(STDOUT_FILENO, "wb6")) == NULL)
			gen_die("cannot open output");
	} else if (path != NULL) {
		if ((outfp = fopen(path, "w")) == NULL)
			gen_die("cannot open '%s': %s", path, strerror(errno));
	} else
		outfp = stdout;

	out_header();
	for (i = 0; done < n; i++) {
		double u = (double)rnd_below(1000000) / 10000.0;

		snprintf(id, sizeof(id), "g%llu-%llu", (unsigned long long)seed,
		    (unsigned long long)i);
		/* A campaign record that is due goes first. */
		for (j = 0; j < npend; j++)
			if (pend[j].due <= i)
				break;
		if (j < npend) {
			struct gen_pending p = pend[j];

			pend[j] = pend[--npend];
			out_record(id, p.buyer, p.seller, 2, i, p.text, NULL,
			    NULL, p.campaign);
			free(p.text);
			done++;
			continue;
		}
		if (nrecent > 0 && u < pexact + pnear) {
			struct gen_orig *o = &recent[rnd_below(nrecent)];
			int near = u >= pexact;

			if (near && strlen(o->text) < 40)
				goto fresh;
			text = near ? gen_near(o->text, o->lang,
			    (int)rnd_below(4)) : gen_exact(o->text);
			out_record(!near && rnd_below(2) ? o->id : id,
			    o->buyer, o->seller, o->lang, i, text, o->id,
			    near ? "near" : "exact", 0);
			free(text);
			done++;
			continue;
		}
		if (u >= 100 - ptmpl / 5.5 && done + npend + 8 < n) {
			/* A campaign: one praise, 3..8 buyers, one seller. */
			uint32_t k, nb = 3 + (uint32_t)rnd_below(6);
			uint32_t seller = (uint32_t)rnd_below(nsellers);
			char *t = gen_text(2, seller);

			/* Long enough to be a template (dedupe --template-length). */
			while (strlen(t) < 60) {
				free(t);
				t = gen_text(2, seller);
			}

			campaign++;
			for (k = 0; k < nb; k++) {
				if (npend == cappend) {
					cappend = cappend ? cappend * 2 : 64;
					if ((pend = realloc(pend, cappend *
					    sizeof(*pend))) == NULL)
						gen_die("out of memory");
				}
				pend[npend].due = i + 1 + rnd_below(n / 4 <
				    2000 ? n / 4 + 1 : 2000);
				pend[npend].buyer = (uint32_t)rnd_below(nbuyers);
				pend[npend].seller = seller;
				pend[npend].campaign = campaign;
				pend[npend].text = gen_strndup(t, strlen(t));
				npend++;
			}
			free(t);
			continue;
		}
fresh:
		l = (int)rnd_below(GEN_NLANG);
		{
			struct gen_orig *o = &recent[nrecent < GEN_RECENT ?
			    nrecent++ : rnd_below(GEN_RECENT)];

			free(o->text);
			memcpy(o->id, id, sizeof(id));
			o->buyer = (uint32_t)rnd_below(nbuyers);
			o->seller = (uint32_t)rnd_below(nsellers);
			o->lang = l;
			o->text = gen_text(l, o->seller);
			out_record(id, o->buyer, o->seller, l, i, o->text, NULL,
			    NULL, 0);
		}
		done++;
	}
	out_footer();
	out_flush();
	if (truthfp != NULL && fclose(truthfp) == EOF)
		gen_die("cannot write the truth file: %s", strerror(errno));
	if (outgz != NULL && gzclose(outgz) != Z_OK)
		gen_die("write error");
	if (outfp != NULL && outfp != stdout && fclose(outfp) == EOF)
		gen_die("write error: %s", strerror(errno));
	if (outfp == stdout && fflush(stdout) == EOF)
		gen_die("write error: %s", strerror(errno));
	return 0;
}
