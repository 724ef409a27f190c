/*
 * stats_html - report.html: one self-contained page, charts as inline SVG.
 *
 * No scripts, no fonts, no network: the page is read on a laptop in the
 * morning or attached to a mail.  Everything from the data is
 * HTML-escaped; text from reviews and seller names sits in dir="auto"
 * cells (and SVG text with unicode-bidi: plaintext) so Arabic and Persian
 * run right to left inside an English page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define C_POS	"#2e9e5b"
#define C_NEU	"#a0a7b4"
#define C_NEG	"#d1495b"
#define C_BAR	"#3d7dd8"
#define C_DUE	"#e0a030"

static const char stats_css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',"
	"'Noto Sans','Noto Sans Arabic',sans-serif;margin:0;padding:24px;"
	"color:#1d232b;background:#f5f6f8}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}"
	".meta{color:#5b6472;margin:0 0 18px}"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:18px}"
	".card{background:#fff;border-radius:8px;padding:10px 14px;"
	"min-width:120px;box-shadow:0 1px 2px rgba(0,0,0,.08)}"
	".card b{display:block;font-size:20px}"
	".card span{color:#5b6472;font-size:12px}"
	"section{background:#fff;border-radius:8px;padding:14px 16px;"
	"margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08);"
	"overflow-x:auto}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:start;padding:4px 8px;border-bottom:1px solid "
	"#e6e8ec;vertical-align:top}th{font-weight:600;color:#39414d}"
	"td.n{text-align:end;font-variant-numeric:tabular-nums}"
	"svg text{font:11px system-ui,sans-serif;fill:#39414d;"
	"unicode-bidi:plaintext}"
	".legend span{display:inline-block;margin-inline-end:14px}"
	".legend i{display:inline-block;width:10px;height:10px;"
	"margin-inline-end:4px;border-radius:2px}"
	".empty{color:#8a93a0}";

static void
esc(struct buf *b, const char *p, size_t n)
{
	stats_html_str(b, p, n);
}

static void
escs(struct buf *b, const char *s)
{
	stats_html_str(b, s, strlen(s));
}

static double
pct(uint64_t a, uint64_t b)
{
	return b == 0 ? 0.0 : 100.0 * (double)a / (double)b;
}

static void
card(struct buf *b, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
card(struct buf *b, const char *label, const char *fmt, ...)
{
	va_list ap;

	buf_adds(b, "<div class=\"card\"><b>");
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
	buf_adds(b, "</b><span>");
	escs(b, label);
	buf_adds(b, "</span></div>\n");
}

static void
svg_open(struct buf *b, const char *id, int w, int h, const char *label)
{
	buf_addf(b, "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/"
	    "2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-label=\"", id, w, h, w, h);
	escs(b, label);
	buf_adds(b, "\"><title>");
	escs(b, label);
	buf_adds(b, "</title>\n");
}

static void
svg_text(struct buf *b, double x, double y, const char *anchor,
    const char *p, size_t n)
{
	buf_adds(b, "<text x=\"");
	stats_addfix(b, 1, x);
	buf_adds(b, "\" y=\"");
	stats_addfix(b, 1, y);
	buf_adds(b, "\" text-anchor=\"");
	buf_adds(b, anchor);
	buf_adds(b, "\">");
	esc(b, p, n);
	buf_adds(b, "</text>\n");
}

static void
svg_rect(struct buf *b, double x, double y, double w, double h,
    const char *fill, const char *tip)
{
	buf_adds(b, "<rect x=\"");
	stats_addfix(b, 1, x);
	buf_adds(b, "\" y=\"");
	stats_addfix(b, 1, y);
	buf_adds(b, "\" width=\"");
	stats_addfix(b, 1, w < 0 ? 0 : w);
	buf_adds(b, "\" height=\"");
	stats_addfix(b, 1, h < 0 ? 0 : h);
	buf_adds(b, "\" fill=\"");
	buf_adds(b, fill);
	buf_adds(b, "\">");
	if (tip != NULL) {
		buf_adds(b, "<title>");
		escs(b, tip);
		buf_adds(b, "</title>");
	}
	buf_adds(b, "</rect>\n");
}

static void
legend(struct buf *b, const char *const *names, const char *const *colors,
    size_t n)
{
	size_t i;

	buf_adds(b, "<p class=\"legend\">");
	for (i = 0; i < n; i++) {
		buf_addf(b, "<span><i style=\"background:%s\"></i>",
		    colors[i]);
		escs(b, names[i]);
		buf_adds(b, "</span>");
	}
	buf_adds(b, "</p>\n");
}

/* ---- charts -------------------------------------------------------------- */

static void
chart_rating(struct buf *b, const uint64_t *g)
{
	static const char *const lab[6] = { "none", "1", "2", "3", "4", "5" };
	static const char *const col[6] = { C_NEU, C_NEG, "#e07a5f",
	    "#e0c060", "#8cc084", C_POS };
	uint64_t max = 1;
	char tip[64];
	double h;
	size_t i;

	for (i = 0; i < 6; i++)
		if (g[SG_R0 + i] > max)
			max = g[SG_R0 + i];
	buf_adds(b, "<section><h2>Rating distribution</h2>\n");
	svg_open(b, "chart-rating", 420, 200, "Rating distribution");
	for (i = 0; i < 6; i++) {
		size_t k = (i + 1) % 6;	/* 1..5, then "none" */
		double x = 20 + (double)i * 66;

		h = 150.0 * (double)g[SG_R0 + k] / (double)max;
		snprintf(tip, sizeof(tip), "%s: %llu", lab[k],
		    (unsigned long long)g[SG_R0 + k]);
		svg_rect(b, x, 170 - h, 50, h, col[k], tip);
		svg_text(b, x + 25, 186, "middle", lab[k], strlen(lab[k]));
		snprintf(tip, sizeof(tip), "%llu",
		    (unsigned long long)g[SG_R0 + k]);
		svg_text(b, x + 25, 165 - h, "middle", tip, strlen(tip));
	}
	buf_adds(b, "</svg>\n</section>\n");
}

static void
stacked_row(struct buf *b, double x, double y, double w, double h,
    const uint64_t *v, const char *const *col, size_t n, const char *name,
    size_t namelen)
{
	uint64_t tot = 0;
	double at = x, seg;
	char tip[256];
	size_t i;

	for (i = 0; i < n; i++)
		tot += v[i];
	for (i = 0; i < n && tot > 0; i++) {
		seg = w * (double)v[i] / (double)tot;
		snprintf(tip, sizeof(tip), "%.*s: %llu (%.1f%%)",
		    (int)(namelen > 100 ? 100 : namelen), name,
		    (unsigned long long)v[i], pct(v[i], tot));
		svg_rect(b, at, y, seg, h, col[i], tip);
		at += seg;
	}
}

static void
chart_sentiment_lang(struct buf *b, struct stats *s)
{
	static const char *const names[3] = { "positive", "neutral",
	    "negative" };
	static const char *const col[3] = { C_POS, C_NEU, C_NEG };
	struct stab_ent **v;
	size_t i, n;
	uint64_t tri[3];
	char lab[64];
	int h;

	v = stats_top(&s->tab[ST_LANG], SG_N, 24, &n);
	h = 20 + 24 * (int)(n == 0 ? 1 : n);
	buf_adds(b, "<section><h2>Sentiment by language</h2>\n");
	legend(b, names, col, 3);
	svg_open(b, "chart-sentiment-lang", 560, h, "Sentiment by language");
	for (i = 0; i < n; i++) {
		const char *k = stab_key(v[i], SG_NVAL);
		double y = 10 + 24 * (double)i;

		svg_text(b, 60, y + 13, "end", k, v[i]->klen);
		tri[0] = v[i]->val[SG_POS];
		tri[1] = v[i]->val[SG_NEU];
		tri[2] = v[i]->val[SG_NEG];
		stacked_row(b, 70, y, 400, 18, tri, col, 3, k, v[i]->klen);
		snprintf(lab, sizeof(lab), "%llu (%.0f%% neg)",
		    (unsigned long long)v[i]->val[SG_N],
		    pct(v[i]->val[SG_NEG], v[i]->val[SG_N]));
		svg_text(b, 476, y + 13, "start", lab, strlen(lab));
	}
	if (n == 0)
		svg_text(b, 10, 20, "start", "no reviews", 10);
	buf_adds(b, "</svg>\n</section>\n");
	free(v);
}

static void
heat_color(char out[16], uint64_t v, uint64_t max)
{
	/* White to the negative red, by share of the largest cell. */
	double t = max == 0 ? 0 : (double)v / (double)max;
	int r = (int)(255 - t * (255 - 209));
	int g = (int)(255 - t * (255 - 73));
	int bl = (int)(255 - t * (255 - 91));

	snprintf(out, 16, "#%02x%02x%02x", r & 255, g & 255, bl & 255);
}

static void
chart_topics_seller(struct buf *b, struct stats *s)
{
	struct stab_ent **v;
	size_t i, j, n;
	uint64_t max = 0;
	char col[16], tip[256], num[32];
	int h;

	v = stats_top(&s->tab[ST_SELLER], SG_COMPLAINT, 15, &n);
	while (n > 0 && v[n - 1]->val[SG_COMPLAINT] == 0)
		n--;
	for (i = 0; i < n; i++)
		for (j = 0; j <= STATS_NTOPICS; j++)
			if (v[i]->val[SG_TOPIC + j] > max)
				max = v[i]->val[SG_TOPIC + j];
	h = 110 + 22 * (int)(n == 0 ? 1 : n);
	buf_adds(b, "<section><h2>Complaint topics per seller</h2>\n");
	svg_open(b, "chart-topics-seller", 180 + 46 * (STATS_NTOPICS + 1), h,
	    "Complaint topics per seller (sellers with most complaints)");
	for (j = 0; j <= STATS_NTOPICS; j++) {
		const char *t = j < STATS_NTOPICS ? stats_topic_names[j] :
		    "other";

		buf_addf(b, "<text transform=\"translate(%zu,96) "
		    "rotate(-45)\">", 180 + 46 * j + 18);
		escs(b, t);
		buf_adds(b, "</text>\n");
	}
	for (i = 0; i < n; i++) {
		const char *k = stab_key(v[i], SG_NVAL);
		double y = 104 + 22 * (double)i;

		svg_text(b, 170, y + 15, "end", k, v[i]->klen > 60 ? 60 :
		    v[i]->klen);
		for (j = 0; j <= STATS_NTOPICS; j++) {
			uint64_t c = v[i]->val[SG_TOPIC + j];

			heat_color(col, c, max);
			snprintf(tip, sizeof(tip), "%.*s / %s: %llu",
			    (int)(v[i]->klen > 100 ? 100 : v[i]->klen), k,
			    j < STATS_NTOPICS ? stats_topic_names[j] : "other",
			    (unsigned long long)c);
			svg_rect(b, 180 + 46 * (double)j, y, 44, 20, col, tip);
			if (c != 0) {
				snprintf(num, sizeof(num), "%llu",
				    (unsigned long long)c);
				svg_text(b, 180 + 46 * (double)j + 22, y + 14,
				    "middle", num, strlen(num));
			}
		}
	}
	if (n == 0)
		svg_text(b, 10, 120, "start", "no complaints", 13);
	buf_adds(b, "</svg>\n</section>\n");
	free(v);
}

#define DAYS_SHOWN	90

/* Label bar i of [first, n): the ends and about `k` between, apart. */
static bool
tick(size_t i, size_t first, size_t n, size_t k)
{
	size_t step = (n - first) / k;

	if (i == first || i + 1 == n)
		return true;
	if (n - first <= 8 || step == 0)
		return false;
	return (i - first) % step == 0 && n - 1 - i >= step / 2 + 1;
}

static void
chart_neg_day(struct buf *b, struct stats *s)
{
	struct stab_ent **v;
	size_t i, n, first;
	double w, x, h;
	char tip[128];

	v = stab_sorted(&s->tab[ST_DAY], &n);
	/* "unknown" sorts after the digits: leave it out of the time line. */
	while (n > 0 && stab_key(v[n - 1], SG_NVAL)[0] == 'u')
		n--;
	first = n > DAYS_SHOWN ? n - DAYS_SHOWN : 0;
	buf_adds(b, "<section><h2>Negative share per day</h2>\n");
	svg_open(b, "chart-neg-day", 720, 220, "Negative share per day");
	buf_adds(b, "<line x1=\"40\" y1=\"180\" x2=\"710\" y2=\"180\" "
	    "stroke=\"#c8ccd3\"/>\n");
	svg_text(b, 34, 184, "end", "0%", 2);
	svg_text(b, 34, 34, "end", "100%", 4);
	w = n - first == 0 ? 0 : 660.0 / (double)(n - first);
	for (i = first; i < n; i++) {
		const char *k = stab_key(v[i], SG_NVAL);

		x = 44 + w * (double)(i - first);
		h = 150.0 * pct(v[i]->val[SG_NEG], v[i]->val[SG_N]) / 100.0;
		snprintf(tip, sizeof(tip), "%.*s: %.1f%% negative of %llu",
		    (int)v[i]->klen, k,
		    pct(v[i]->val[SG_NEG], v[i]->val[SG_N]),
		    (unsigned long long)v[i]->val[SG_N]);
		svg_rect(b, x, 180 - h, w > 2 ? w - 1 : w, h, C_NEG, tip);
		if (tick(i, first, n, 6))
			svg_text(b, x + w / 2, 198, "middle", k, v[i]->klen);
	}
	if (n == 0)
		svg_text(b, 60, 100, "start", "no dated reviews", 16);
	buf_adds(b, "</svg>\n</section>\n");
	free(v);
}

static void
chart_due(struct buf *b, struct stats *s)
{
	static const char *const names[2] = { "due day over (overdue)",
	    "due later" };
	static const char *const col[2] = { C_NEG, C_DUE };
	struct stab_ent **v;
	size_t i, n, first;
	uint64_t max = 1;
	int64_t now = stats_now(s);
	char today[16], tip[128];
	double w, x, h;

	if (now != STATS_NOW_UNSET)
		stats_day(now, today);
	else
		today[0] = '\0';
	v = stab_sorted(&s->tab[ST_DUEDAY], &n);
	first = n > 30 ? n - 30 : 0;
	for (i = first; i < n; i++)
		if (v[i]->val[0] > max)
			max = v[i]->val[0];
	buf_addf(b, "<section><h2>Replies due</h2>\n<p>%llu replies due, "
	    "%llu overdue",
	    (unsigned long long)stab_add(&s->tab[ST_ALL], "", 0)[SG_DUE],
	    (unsigned long long)stats_overdue(s));
	if (today[0] != '\0')
		buf_addf(b, " at %s", today);
	buf_adds(b, ".</p>\n");
	legend(b, names, col, 2);
	svg_open(b, "chart-replies-due", 720, 200, "Replies due per day");
	w = n - first == 0 ? 0 : 660.0 / (double)(n - first);
	for (i = first; i < n; i++) {
		const char *k = stab_key(v[i], 1);
		bool past = today[0] != '\0' && v[i]->klen == 10 &&
		    memcmp(k, today, 10) < 0;

		x = 44 + w * (double)(i - first);
		h = 140.0 * (double)v[i]->val[0] / (double)max;
		snprintf(tip, sizeof(tip), "%.*s: %llu due", (int)v[i]->klen, k,
		    (unsigned long long)v[i]->val[0]);
		svg_rect(b, x, 170 - h, w > 2 ? w - 2 : w, h,
		    past ? C_NEG : C_DUE, tip);
		if (tick(i, first, n, 4))
			svg_text(b, x + w / 2, 188, "middle", k, v[i]->klen);
	}
	if (n == 0)
		svg_text(b, 60, 100, "start", "no replies planned", 18);
	buf_adds(b, "</svg>\n</section>\n");
	free(v);
}

/* ---- tables -------------------------------------------------------------- */

static void
table_worst(struct buf *b, struct stats *s, size_t top)
{
	struct stab_ent **v, **sev, *ev[64];
	size_t i, j, n, nsev, ne, shown = 0;
	uint64_t rated, rsum;

	v = stats_worst(&s->tab[ST_SELLER], 20, &n);
	sev = stab_sorted(&s->tab[ST_SELLER_EVIDENCE], &nsev);
	buf_adds(b, "<section><h2>Worst sellers</h2>\n");
	if (stab_fraction(&s->tab[ST_SELLER]) < 1.0)
		buf_addf(b, "<p class=\"empty\">Too many sellers: a uniform "
		    "sample of %.2f%% of them is shown.</p>\n",
		    100.0 * stab_fraction(&s->tab[ST_SELLER]));
	buf_adds(b, "<table id=\"worst-sellers\"><thead><tr><th>seller</th>"
	    "<th>reviews</th><th>negative</th><th>share</th>"
	    "<th>avg rating</th><th>top complaints</th>"
	    "<th>evidence</th></tr></thead><tbody>\n");
	for (i = 0; i < n && v[i]->val[SG_NEG] > 0; i++) {
		const uint64_t *g = v[i]->val;
		struct slice name = { stab_key(v[i], SG_NVAL), v[i]->klen };
		size_t order[STATS_NTOPICS + 1], k, m;

		rated = rsum = 0;
		for (j = 1; j <= 5; j++) {
			rated += g[SG_R0 + j];
			rsum += j * g[SG_R0 + j];
		}
		buf_adds(b, "<tr><td dir=\"auto\">");
		esc(b, name.p, name.n);
		buf_addf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu"
		    "</td><td class=\"n\">%.1f%%</td><td class=\"n\">",
		    (unsigned long long)g[SG_N], (unsigned long long)g[SG_NEG],
		    pct(g[SG_NEG], g[SG_N]));
		if (rated == 0)
			buf_adds(b, "&ndash;");
		else
			buf_addf(b, "%.2f", (double)rsum / (double)rated);
		buf_adds(b, "</td><td>");
		for (k = 0; k <= STATS_NTOPICS; k++) {
			for (m = k; m > 0 && g[SG_TOPIC + order[m - 1]] <
			    g[SG_TOPIC + k]; m--)
				order[m] = order[m - 1];
			order[m] = k;
		}
		for (k = 0; k < top && k <= STATS_NTOPICS &&
		    g[SG_TOPIC + order[k]] > 0; k++)
			buf_addf(b, "%s%s&nbsp;(%llu)", k == 0 ? "" : ", ",
			    order[k] < STATS_NTOPICS ?
			    stats_topic_names[order[k]] : "other",
			    (unsigned long long)g[SG_TOPIC + order[k]]);
		buf_adds(b, "</td><td dir=\"auto\">");
		ne = stats_seller_evidence(sev, nsev, name, top, ev);
		for (k = 0; k < ne; k++) {
			const char *w = stab_key(ev[k], 1) + name.n + 1;

			if (k > 0)
				buf_adds(b, ", ");
			buf_adds(b, "<bdi>");
			esc(b, w, ev[k]->klen - name.n - 1);
			buf_addf(b, "</bdi>&nbsp;(%llu)",
			    (unsigned long long)ev[k]->val[0]);
		}
		buf_adds(b, "</td></tr>\n");
		shown++;
	}
	if (shown == 0)
		buf_adds(b, "<tr><td colspan=\"7\" class=\"empty\">no "
		    "negative reviews</td></tr>\n");
	buf_adds(b, "</tbody></table>\n</section>\n");
	free(v);
	free(sev);
}

static void
table_pain(struct buf *b, struct stats *s, const uint64_t *g, size_t top)
{
	struct stab_ent **v;
	size_t i, n;

	buf_adds(b, "<section><h2>Top pain points</h2>\n<table id=\"pain-"
	    "points\"><thead><tr><th>complaint topic</th><th>reviews</th>"
	    "<th>share of complaints</th></tr></thead><tbody>\n");
	v = stats_top(&s->tab[ST_TOPIC], 0, 20, &n);
	for (i = 0; i < n; i++) {
		buf_adds(b, "<tr><td dir=\"auto\">");
		esc(b, stab_key(v[i], 1), v[i]->klen);
		buf_addf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">"
		    "%.1f%%</td></tr>\n", (unsigned long long)v[i]->val[0],
		    pct(v[i]->val[0], g[SG_COMPLAINT]));
	}
	if (n == 0)
		buf_adds(b, "<tr><td colspan=\"3\" class=\"empty\">no "
		    "complaints</td></tr>\n");
	free(v);
	buf_adds(b, "</tbody></table>\n<h2 style=\"margin-top:14px\">Words "
	    "behind the complaints</h2>\n<p dir=\"auto\">");
	v = stats_top(&s->tab[ST_EVIDENCE], 0, top * 6, &n);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(b, " &middot; ");
		buf_adds(b, "<bdi>");
		esc(b, stab_key(v[i], 1), v[i]->klen);
		buf_addf(b, "</bdi>&nbsp;(%llu)",
		    (unsigned long long)v[i]->val[0]);
	}
	if (n == 0)
		buf_adds(b, "<span class=\"empty\">none</span>");
	buf_adds(b, "</p>\n</section>\n");
	free(v);
}

static void
table_groups(struct buf *b, const struct stab *t, const char *title,
    const char *id)
{
	struct stab_ent **v;
	size_t i, n;

	v = stab_sorted(t, &n);
	buf_adds(b, "<section><h2>");
	escs(b, title);
	buf_addf(b, "</h2>\n<table id=\"%s\"><thead><tr><th>name</th>"
	    "<th>reviews</th><th>positive</th><th>negative</th>"
	    "<th>complaints</th><th>replies due</th></tr></thead><tbody>\n",
	    id);
	for (i = 0; i < n; i++) {
		const uint64_t *g = v[i]->val;

		buf_adds(b, "<tr><td dir=\"auto\">");
		esc(b, stab_key(v[i], SG_NVAL), v[i]->klen);
		buf_addf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">"
		    "%.1f%%</td><td class=\"n\">%.1f%%</td><td class=\"n\">"
		    "%llu</td><td class=\"n\">%llu</td></tr>\n",
		    (unsigned long long)g[SG_N], pct(g[SG_POS], g[SG_N]),
		    pct(g[SG_NEG], g[SG_N]),
		    (unsigned long long)g[SG_COMPLAINT],
		    (unsigned long long)g[SG_DUE]);
	}
	buf_adds(b, "</tbody></table>\n</section>\n");
	free(v);
}

static void
table_upstream(struct buf *b, struct stats *s)
{
	struct stab_ent **v;
	size_t i, n;

	v = stab_sorted(&s->tab[ST_STAGES], &n);
	buf_adds(b, "<section><h2>Pipeline: duplicates and rejects</h2>\n"
	    "<table id=\"upstream\"><thead><tr><th>stage</th><th>read</th>"
	    "<th>written</th><th>duplicates</th><th>rejects</th></tr>"
	    "</thead><tbody>\n");
	for (i = 0; i < n; i++) {
		buf_adds(b, "<tr><td>");
		esc(b, stab_key(v[i], SC_NVAL), v[i]->klen);
		buf_addf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">"
		    "%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu"
		    "</td></tr>\n", (unsigned long long)v[i]->val[SC_READ],
		    (unsigned long long)v[i]->val[SC_WRITTEN],
		    (unsigned long long)v[i]->val[SC_DUPS],
		    (unsigned long long)v[i]->val[SC_REJECTS]);
	}
	if (n == 0)
		buf_adds(b, "<tr><td colspan=\"5\" class=\"empty\">no stage "
		    "counts given (stats --stage-counts)</td></tr>\n");
	free(v);
	buf_adds(b, "</tbody></table>\n");
	v = stab_sorted(&s->tab[ST_REJECTS], &n);
	if (n > 0) {
		buf_adds(b, "<table id=\"reject-reasons\"><thead><tr><th>stage"
		    "</th><th>reason</th><th>rejects</th></tr></thead>"
		    "<tbody>\n");
		for (i = 0; i < n; i++) {
			const char *k = stab_key(v[i], 1);
			const char *nul = memchr(k, '\0', v[i]->klen);
			size_t sn = nul == NULL ? v[i]->klen :
			    (size_t)(nul - k);

			buf_adds(b, "<tr><td>");
			esc(b, k, sn);
			buf_adds(b, "</td><td>");
			if (nul != NULL)
				esc(b, nul + 1, v[i]->klen - sn - 1);
			buf_addf(b, "</td><td class=\"n\">%llu</td></tr>\n",
			    (unsigned long long)v[i]->val[0]);
		}
		buf_adds(b, "</tbody></table>\n");
	}
	free(v);
	buf_adds(b, "</section>\n");
}

void
stats_html(struct stats *s, struct buf *b, size_t top)
{
	const uint64_t *g = stab_add(&s->tab[ST_ALL], "", 0);
	static const uint64_t zero[SG_NVAL];
	struct stab_ent **v;
	uint64_t rated = 0, rsum = 0, dups = 0, rejects = 0;
	int64_t now = stats_now(s);
	size_t i, n;
	char ts[32];

	if (g == NULL)
		g = zero;
	for (i = 1; i <= 5; i++) {
		rated += g[SG_R0 + i];
		rsum += i * g[SG_R0 + i];
	}
	v = stab_sorted(&s->tab[ST_STAGES], &n);
	for (i = 0; i < n; i++) {
		dups += v[i]->val[SC_DUPS];
		rejects += v[i]->val[SC_REJECTS];
	}
	free(v);
	if (n == 0) {
		v = stab_sorted(&s->tab[ST_REJECTS], &n);
		for (i = 0; i < n; i++)
			rejects += v[i]->val[0];
		free(v);
	}

	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\""
	    "width=device-width, initial-scale=1\">\n"
	    "<title>revpipe review report</title>\n<style>");
	buf_adds(b, stats_css);
	buf_adds(b, "</style>\n</head>\n<body>\n<h1>Review report</h1>\n"
	    "<p class=\"meta\">");
	buf_addf(b, "%llu reviews", (unsigned long long)s->records);
	if (now != STATS_NOW_UNSET) {
		stats_iso(now, ts);
		buf_addf(b, " &middot; as of %s (%s)", ts,
		    s->now != STATS_NOW_UNSET ? "--now" : "latest review");
	}
	buf_adds(b, " &middot; generated by revpipe stats</p>\n"
	    "<div class=\"cards\">\n");
	card(b, "reviews", "%llu", (unsigned long long)s->records);
	card(b, "negative", "%.1f%%", pct(g[SG_NEG], g[SG_N]));
	if (rated == 0)
		card(b, "average rating", "&ndash;");
	else
		card(b, "average rating", "%.2f", (double)rsum / (double)rated);
	card(b, "complaints", "%llu", (unsigned long long)g[SG_COMPLAINT]);
	card(b, "replies due", "%llu", (unsigned long long)g[SG_DUE]);
	card(b, "overdue", "%llu", (unsigned long long)stats_overdue(s));
	card(b, "distinct buyers (approx.)", "%llu",
	    (unsigned long long)hll_estimate(s->hll_buyers));
	card(b, "sellers", "%zu", s->tab[ST_SELLER].n);
	card(b, "duplicates dropped", "%llu", (unsigned long long)dups);
	card(b, "rejects", "%llu", (unsigned long long)rejects);
	buf_adds(b, "</div>\n");

	chart_rating(b, g);
	chart_sentiment_lang(b, s);
	chart_topics_seller(b, s);
	chart_neg_day(b, s);
	chart_due(b, s);
	table_worst(b, s, top);
	table_pain(b, s, g, top);
	table_groups(b, &s->tab[ST_PLATFORM], "Platforms", "platforms");
	table_groups(b, &s->tab[ST_LANG], "Languages", "languages");
	table_upstream(b, s);
	buf_adds(b, "</body>\n</html>\n");
}
