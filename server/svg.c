/*
 * SVG charts; see svg.h.  The layout is fixed: a title on top, the
 * plot in the middle, the x axis title below it and a legend on the
 * right when there is more than one series.  Coordinates are written
 * with one decimal, which is finer than any screen needs.
 */
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Size of the image and of the margins around the plot, in pixels. */
#define WIDTH         960
#define HEIGHT        440
#define MARGIN_LEFT   90
#define MARGIN_RIGHT  180
#define MARGIN_TOP    56
#define MARGIN_BOTTOM 72

/* Category charts: room for the labels, and the height of one bar row. */
#define CATEGORY_LABEL_WIDTH 300
#define CATEGORY_ROW         22

/* Ticks per axis: enough to read a value, few enough to stay apart. */
#define Y_TICKS_MAX 8
#define X_TICKS_MAX 9

/* A time series drawn as bars past this many points becomes a line. */
#define BARS_MAX 120

#define SECONDS_PER_DAY 86400

/* Colours of the series, distinct for the common forms of colour blindness. */
static const char *const palette[SVG_SERIES_MAX] = {
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
};

/* Bucket widths that read as round, in seconds; wider ones double. */
static const int64_t bucket_widths[] = {
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    SECONDS_PER_DAY,
    2 * SECONDS_PER_DAY,
    7 * SECONDS_PER_DAY,
    14 * SECONDS_PER_DAY,
    28 * SECONDS_PER_DAY,
};

/* Steps between time ticks; 0 months means a step in seconds. */
static const struct {
	int64_t seconds;
	int months;
	const char *format;
} time_steps[] = {
    {60, 0, "%H:%M"},
    {300, 0, "%H:%M"},
    {900, 0, "%H:%M"},
    {1800, 0, "%H:%M"},
    {3600, 0, "%H:%M"},
    {3 * 3600, 0, "%H:%M"},
    {6 * 3600, 0, "%m-%d %H:%M"},
    {12 * 3600, 0, "%m-%d %H:%M"},
    {SECONDS_PER_DAY, 0, "%Y-%m-%d"},
    {2 * SECONDS_PER_DAY, 0, "%Y-%m-%d"},
    {7 * SECONDS_PER_DAY, 0, "%Y-%m-%d"},
    {14 * SECONDS_PER_DAY, 0, "%Y-%m-%d"},
    {0, 1, "%Y-%m"},
    {0, 2, "%Y-%m"},
    {0, 3, "%Y-%m"},
    {0, 6, "%Y-%m"},
    {0, 12, "%Y"},
    {0, 24, "%Y"},
    {0, 60, "%Y"},
    {0, 120, "%Y"},
};

void
svg_chart_init(struct svg_chart *c, const char *title, const char *x_title,
    const char *y_title, enum svg_axis axis, enum svg_style style, int64_t step)
{
	memset(c, 0, sizeof(*c));
	c->title = title;
	c->x_title = x_title;
	c->y_title = y_title;
	c->axis = axis;
	c->style = style;
	c->step = step > 0 ? step : 1;
}

void
svg_chart_free(struct svg_chart *c)
{
	size_t i;

	for (i = 0; i < c->nseries; i++)
		free(c->series[i].points);
	c->nseries = 0;
}

struct svg_series *
svg_add_series(struct svg_chart *c, const char *name)
{
	struct svg_series *s;

	if (c->nseries == SVG_SERIES_MAX)
		return NULL;
	s = &c->series[c->nseries++];
	memset(s, 0, sizeof(*s));
	strlcpy_(s->name, name, sizeof(s->name));
	return s;
}

void
svg_add_point(struct svg_series *s, int64_t x, double y, const char *label)
{
	struct svg_point *p;

	if (s->npoints == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->points = xrealloc(s->points, s->cap * sizeof(*s->points));
	}
	p = &s->points[s->npoints++];
	p->x = x;
	p->y = y;
	strlcpy_(p->label, label != NULL ? label : "", sizeof(p->label));
}

/* Floor division, so that times before 1970 still align. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool
time_range(const struct svg_chart *c, int64_t *lo, int64_t *hi)
{
	bool any = false;
	size_t i, j;

	for (i = 0; i < c->nseries; i++) {
		for (j = 0; j < c->series[i].npoints; j++) {
			int64_t x = c->series[i].points[j].x;

			if (!any || x < *lo)
				*lo = x;
			if (!any || x > *hi)
				*hi = x;
			any = true;
		}
	}
	return any;
}

static int64_t
bucket_width(int64_t step, int64_t lo, int64_t hi, size_t max_points)
{
	int64_t w = 0;
	size_t i;

	for (i = 0; i < NELEM(bucket_widths); i++) {
		w = bucket_widths[i];
		if (w < step || w % step != 0)
			continue;
		if (floor_div(hi, w) - floor_div(lo, w) + 1 <=
		    (int64_t)max_points)
			return w;
	}
	if (w < step)
		w = step;
	while (floor_div(hi, w) - floor_div(lo, w) + 1 > (int64_t)max_points)
		w *= 2;
	return w;
}

/* Sum s into dense buckets of width w from first, n of them. */
static void
rebucket(struct svg_series *s, int64_t first, int64_t w, size_t n)
{
	struct svg_point *dense = xcalloc(n > 0 ? n : 1, sizeof(*dense));
	size_t i;

	for (i = 0; i < n; i++)
		dense[i].x = first + (int64_t)i * w;
	for (i = 0; i < s->npoints; i++)
		dense[(floor_div(s->points[i].x, w) * w - first) / w].y +=
		    s->points[i].y;
	free(s->points);
	s->points = dense;
	s->npoints = s->cap = n;
}

static void
merge_tail(struct svg_series *s, size_t max_points)
{
	struct svg_point *other;
	size_t i;

	if (s->npoints <= max_points || max_points < 1)
		return;
	other = &s->points[max_points - 1];
	for (i = max_points; i < s->npoints; i++)
		other->y += s->points[i].y;
	strlcpy_(other->label, "other", sizeof(other->label));
	s->npoints = max_points;
}

void
svg_aggregate(struct svg_chart *c, size_t max_points)
{
	int64_t lo = 0, hi = 0, w, first;
	size_t i, n;

	if (max_points < 1)
		max_points = 1;
	if (c->axis == SVG_AXIS_CATEGORY) {
		for (i = 0; i < c->nseries; i++)
			merge_tail(&c->series[i], max_points);
		return;
	}
	if (!time_range(c, &lo, &hi))
		return;
	w = bucket_width(c->step, lo, hi, max_points);
	first = floor_div(lo, w) * w;
	n = (size_t)(floor_div(hi, w) * w - first) / (size_t)w + 1;
	for (i = 0; i < c->nseries; i++)
		rebucket(&c->series[i], first, w, n);
	c->step = w;
}

void
svg_nice_ticks(double lo, double hi, int max_ticks, struct svg_ticks *t)
{
	static const double mantissas[] = {1, 2, 5};
	double span, magnitude, step;
	size_t i;

	if (max_ticks < 2)
		max_ticks = 2;
	if (!(hi > lo))
		hi = lo + 1;
	span = hi - lo;
	magnitude = pow(10, floor(log10(span / (max_ticks - 1))));
	step = 10 * magnitude;
	for (i = 0; i < NELEM(mantissas); i++) {
		double s = mantissas[i] * magnitude;

		if (ceil(hi / s - 1e-9) - floor(lo / s + 1e-9) + 1 <=
		    max_ticks) {
			step = s;
			break;
		}
	}
	t->step = step;
	t->first = floor(lo / step + 1e-9) * step;
	t->count = (int)(ceil(hi / step - 1e-9) - floor(lo / step + 1e-9)) + 1;
}

/* The first instant at or after t that starts a month of the step. */
static int64_t
month_start(int64_t t, int months, int add)
{
	time_t sec = (time_t)t;
	struct tm tm;
	int64_t m;

	gmtime_r(&sec, &tm);
	m = (int64_t)tm.tm_year * 12 + tm.tm_mon;
	if (add == 0) {
		/* Align to multiples of the step counted from year 0. */
		m = floor_div(m + 1900 * 12, months) * months - 1900 * 12;
		tm.tm_year = (int)floor_div(m, 12);
		tm.tm_mon = (int)(m - (int64_t)tm.tm_year * 12);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		if ((int64_t)timegm(&tm) < t)
			return month_start(t, months, months);
		return (int64_t)timegm(&tm);
	}
	m += add;
	tm.tm_year = (int)floor_div(m, 12);
	tm.tm_mon = (int)(m - (int64_t)tm.tm_year * 12);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return month_start((int64_t)timegm(&tm), months, 0);
}

size_t
svg_time_ticks(int64_t lo, int64_t hi, int max_ticks, int64_t *ticks,
    size_t cap, const char **format)
{
	size_t i, n = 0;
	int64_t t;

	for (i = 0; i < NELEM(time_steps); i++) {
		int64_t s = time_steps[i].seconds;
		int months = time_steps[i].months;
		int64_t approx = s > 0 ? s : (int64_t)months * 30 * 86400;

		/* A step that leaves too many ticks is skipped early. */
		if ((hi - lo) / approx + 1 > max_ticks &&
		    i + 1 < NELEM(time_steps))
			continue;
		*format = time_steps[i].format;
		n = 0;
		t = s > 0 ? floor_div(lo + s - 1, s) * s
			  : month_start(lo, months, 0);
		while (t <= hi && n < cap && n < (size_t)max_ticks) {
			ticks[n++] = t;
			t = s > 0 ? t + s : month_start(t, months, months);
		}
		return n;
	}
	return 0;
}

/*
 * Decode one UTF-8 character at s: its length, or 0 when the bytes are
 * not valid UTF-8 (overlong forms and surrogates included) or are a
 * character XML 1.0 does not allow.
 */
static size_t
utf8_char(const unsigned char *s)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return len;
}

/*
 * Write s escaped for XML; inside a JSON string as well when json is
 * set, where quotes and backslashes take a backslash.
 */
static void
put_escaped(FILE *out, const char *s, bool json)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	while (*p != '\0') {
		if ((len = utf8_char(p)) == 0) {
			fputs("\xef\xbf\xbd", out); /* U+FFFD */
			p++;
			continue;
		}
		if (*p == '&')
			fputs("&amp;", out);
		else if (*p == '<')
			fputs("&lt;", out);
		else if (*p == '>')
			fputs("&gt;", out);
		else if (*p == '"')
			fputs(json ? "\\&quot;" : "&quot;", out);
		else if (*p == '\\' && json)
			fputs("\\\\", out);
		else if ((*p == '\t' || *p == '\n') && json)
			fputs(*p == '\t' ? "\\t" : "\\n", out);
		else
			fwrite(p, 1, len, out);
		p += len;
	}
}

void
svg_put_text(FILE *out, const char *s)
{
	put_escaped(out, s, false);
}

/* A value without a trailing ".0", so counts read as integers. */
static void
put_number(FILE *out, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		fprintf(out, "%.0f", v);
	else
		fprintf(out, "%.6g", v);
}

/* A tick label with an SI prefix: 1500 is "1.5k", 2000000 is "2M". */
static void
format_value(double v, char *buf, size_t size)
{
	static const struct {
		double scale;
		const char *prefix;
	} prefixes[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
	size_t i;

	for (i = 0; i < NELEM(prefixes); i++) {
		if (fabs(v) >= prefixes[i].scale) {
			bufprintf(buf, size, "%g%s", v / prefixes[i].scale,
			    prefixes[i].prefix);
			return;
		}
	}
	bufprintf(buf, size, "%g", v);
}

/* The formats are our own, from time_steps, never from data. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
format_time(int64_t t, const char *format, char *buf, size_t size)
{
	time_t sec = (time_t)t;
	struct tm tm;

	gmtime_r(&sec, &tm);
	if (strftime(buf, size, format, &tm) == 0)
		bufprintf(buf, size, "%s", "?");
}
#pragma GCC diagnostic pop

static void
write_metadata(FILE *out, const struct svg_chart *c)
{
	size_t i, j;

	fputs("<metadata id=\"chart-data\">{\"title\":\"", out);
	put_escaped(out, c->title, true);
	fprintf(out, "\",\"axis\":\"%s\",\"step\":%lld,\"series\":[",
	    c->axis == SVG_AXIS_TIME ? "time" : "category", (long long)c->step);
	for (i = 0; i < c->nseries; i++) {
		const struct svg_series *s = &c->series[i];

		fputs(i > 0 ? ",{\"name\":\"" : "{\"name\":\"", out);
		put_escaped(out, s->name, true);
		fputs("\",\"points\":[", out);
		for (j = 0; j < s->npoints; j++) {
			fputs(j > 0 ? ",[" : "[", out);
			if (c->axis == SVG_AXIS_TIME) {
				fprintf(out, "%lld", (long long)s->points[j].x);
			} else {
				fputc('"', out);
				put_escaped(out, s->points[j].label, true);
				fputc('"', out);
			}
			fputc(',', out);
			put_number(out, s->points[j].y);
			fputc(']', out);
		}
		fputs("]}", out);
	}
	fputs("]}</metadata>\n", out);
}

static double
max_y(const struct svg_chart *c)
{
	double m = 0;
	size_t i, j;

	for (i = 0; i < c->nseries; i++)
		for (j = 0; j < c->series[i].npoints; j++)
			if (c->series[i].points[j].y > m)
				m = c->series[i].points[j].y;
	return m;
}

static void
write_head(FILE *out, const struct svg_chart *c, int height)
{
	fprintf(out,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
	    " height=\"%d\" viewBox=\"0 0 %d %d\""
	    " font-family=\"sans-serif\" font-size=\"13\">\n",
	    WIDTH, height, WIDTH, height);
	fputs("<title>", out);
	svg_put_text(out, c->title);
	fputs("</title>\n", out);
	write_metadata(out, c);
	fprintf(out,
	    "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
	    "<text x=\"%d\" y=\"30\" font-size=\"18\" font-weight=\"bold\""
	    " text-anchor=\"middle\">",
	    WIDTH, height, WIDTH / 2);
	svg_put_text(out, c->title);
	fputs("</text>\n", out);
}

/* The plot area of a time chart and its scales. */
struct frame {
	double left, right, top, bottom;
	int64_t x_lo, x_hi; /* x_hi is the end of the last bucket */
	double y_top;
};

static double
x_pos(const struct frame *f, int64_t x)
{
	return f->left +
	    (f->right - f->left) * (double)(x - f->x_lo) /
	    (double)(f->x_hi - f->x_lo);
}

static double
y_pos(const struct frame *f, double y)
{
	return f->bottom - (f->bottom - f->top) * y / f->y_top;
}

static void
write_y_axis(FILE *out, struct frame *f, const struct svg_chart *c)
{
	struct svg_ticks t;
	char label[32];
	int i;

	svg_nice_ticks(0, max_y(c) > 0 ? max_y(c) : 1, Y_TICKS_MAX, &t);
	f->y_top = t.first + t.step * (t.count - 1);
	for (i = 0; i < t.count; i++) {
		double v = t.first + t.step * i;
		double y = y_pos(f, v);

		format_value(v, label, sizeof(label));
		fprintf(out,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\""
		    " stroke=\"#dddddd\"/>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" "
		    "text-anchor=\"end\">%s</text>\n",
		    f->left, y, f->right, y, f->left - 6, y + 4, label);
	}
	fprintf(out,
	    "<text transform=\"translate(20 %.1f) rotate(-90)\""
	    " text-anchor=\"middle\">",
	    (f->top + f->bottom) / 2);
	svg_put_text(out, c->y_title);
	fputs("</text>\n", out);
}

static void
write_x_axis(FILE *out, const struct frame *f, const struct svg_chart *c)
{
	int64_t ticks[X_TICKS_MAX];
	const char *format = "%Y-%m-%d";
	char label[32], from[32], to[32];
	size_t n, i;

	n = svg_time_ticks(
	    f->x_lo, f->x_hi, X_TICKS_MAX, ticks, NELEM(ticks), &format);
	for (i = 0; i < n; i++) {
		double x = x_pos(f, ticks[i]);

		format_time(ticks[i], format, label, sizeof(label));
		fprintf(out,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\""
		    " stroke=\"#333333\"/>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
		    "</text>\n",
		    x, f->bottom, x, f->bottom + 5, x, f->bottom + 20, label);
	}
	fprintf(out,
	    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\""
	    " stroke=\"#333333\"/>\n"
	    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
	    f->left, f->bottom, f->right, f->bottom, (f->left + f->right) / 2,
	    f->bottom + 48);
	svg_put_text(out, c->x_title);
	/* The ticks may show only hours; the period gives the dates. */
	format_time(f->x_lo, "%Y-%m-%d %H:%M", from, sizeof(from));
	format_time(f->x_hi, "%Y-%m-%d %H:%M", to, sizeof(to));
	fprintf(out, ", %s to %s</text>\n", from, to);
}

static void
write_bars(FILE *out, const struct frame *f, const struct svg_series *s,
    const char *colour, int64_t step)
{
	double width = x_pos(f, f->x_lo + step) - f->left;
	size_t i;

	width = width > 2 ? width - 1 : width;
	for (i = 0; i < s->npoints; i++) {
		const struct svg_point *p = &s->points[i];
		double top = y_pos(f, p->y);

		if (p->y <= 0)
			continue;
		fprintf(out,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
		    " height=\"%.1f\" fill=\"%s\" data-x=\"%lld\""
		    " data-y=\"",
		    x_pos(f, p->x), top, width, f->bottom - top, colour,
		    (long long)p->x);
		put_number(out, p->y);
		fputs("\"/>\n", out);
	}
}

static void
write_line(FILE *out, const struct frame *f, const struct svg_series *s,
    const char *colour, int64_t step)
{
	size_t i;

	fprintf(out,
	    "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\""
	    " points=\"",
	    colour);
	for (i = 0; i < s->npoints; i++)
		fprintf(out, "%s%.1f,%.1f", i > 0 ? " " : "",
		    x_pos(f, s->points[i].x + step / 2),
		    y_pos(f, s->points[i].y));
	fputs("\"/>\n", out);
	/* Markers, so that a lone point or a short series shows. */
	if (s->npoints > BARS_MAX)
		return;
	for (i = 0; i < s->npoints; i++) {
		fprintf(out,
		    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\""
		    " data-x=\"%lld\" data-y=\"",
		    x_pos(f, s->points[i].x + step / 2),
		    y_pos(f, s->points[i].y), colour,
		    (long long)s->points[i].x);
		put_number(out, s->points[i].y);
		fputs("\"/>\n", out);
	}
}

static void
write_legend(FILE *out, const struct frame *f, const struct svg_chart *c)
{
	size_t i;

	for (i = 0; i < c->nseries; i++) {
		double y = f->top + 18.0 * (double)i;

		fprintf(out,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\""
		    " fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%.1f\">",
		    f->right + 14, y, palette[i], f->right + 32, y + 11);
		svg_put_text(out, c->series[i].name);
		fputs("</text>\n", out);
	}
}

static void
write_time_chart(FILE *out, const struct svg_chart *c)
{
	struct frame f = {MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP,
	    HEIGHT - MARGIN_BOTTOM, 0, 0, 1};
	bool bars;
	size_t i;

	if (!time_range(c, &f.x_lo, &f.x_hi)) {
		f.x_lo = 0;
		f.x_hi = 0;
	}
	f.x_hi += c->step;
	bars = c->style == SVG_STYLE_BARS && c->nseries == 1 &&
	    c->series[0].npoints <= BARS_MAX;
	write_head(out, c, HEIGHT);
	write_y_axis(out, &f, c);
	for (i = 0; i < c->nseries; i++) {
		if (bars)
			write_bars(out, &f, &c->series[i], palette[i], c->step);
		else
			write_line(out, &f, &c->series[i], palette[i], c->step);
	}
	write_x_axis(out, &f, c);
	if (c->nseries > 1)
		write_legend(out, &f, c);
	if (c->nseries == 0 || max_y(c) <= 0)
		fprintf(out,
		    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\""
		    " fill=\"#777777\">no data in this period</text>\n",
		    WIDTH / 2, HEIGHT / 2);
}

/* Horizontal bars, one row per category of the first series. */
static void
write_category_chart(FILE *out, const struct svg_chart *c)
{
	const struct svg_series *s = c->nseries > 0 ? &c->series[0] : NULL;
	size_t rows = s != NULL ? s->npoints : 0, i;
	int height = MARGIN_TOP + MARGIN_BOTTOM +
	    CATEGORY_ROW * (int)(rows > 0 ? rows : 1);
	struct frame f = {CATEGORY_LABEL_WIDTH, WIDTH - 60, MARGIN_TOP,
	    height - MARGIN_BOTTOM, 0, 1, 1};
	struct svg_ticks t;
	char label[32];
	int k;

	write_head(out, c, height);
	svg_nice_ticks(0, max_y(c) > 0 ? max_y(c) : 1, Y_TICKS_MAX, &t);
	f.y_top = t.first + t.step * (t.count - 1);
	for (k = 0; k < t.count; k++) {
		double v = t.first + t.step * k;
		double x = f.left + (f.right - f.left) * v / f.y_top;

		format_value(v, label, sizeof(label));
		fprintf(out,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\""
		    " stroke=\"#dddddd\"/>\n<text x=\"%.1f\" y=\"%.1f\""
		    " text-anchor=\"middle\">%s</text>\n",
		    x, f.top, x, f.bottom, x, f.bottom + 18, label);
	}
	for (i = 0; i < rows; i++) {
		const struct svg_point *p = &s->points[i];
		double y = f.top + CATEGORY_ROW * (double)i;
		double w = (f.right - f.left) * p->y / f.y_top;

		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
		    f.left - 8, y + 15);
		svg_put_text(out, p->label);
		fprintf(out,
		    "</text>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
		    " height=\"%d\" fill=\"%s\" data-x=\"",
		    f.left, y + 3, w, CATEGORY_ROW - 6, palette[0]);
		svg_put_text(out, p->label);
		fputs("\" data-y=\"", out);
		put_number(out, p->y);
		fputs("\"/>\n", out);
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
	    (f.left + f.right) / 2, f.bottom + 44);
	svg_put_text(out, c->y_title);
	fputs("</text>\n", out);
	if (rows == 0)
		fprintf(out,
		    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\""
		    " fill=\"#777777\">no data in this period</text>\n",
		    WIDTH / 2, f.top + 15);
}

int
svg_write(FILE *out, struct svg_chart *c)
{
	svg_aggregate(c, SVG_POINTS_MAX);
	if (c->axis == SVG_AXIS_TIME)
		write_time_chart(out, c);
	else
		write_category_chart(out, c);
	fputs("</svg>\n", out);
	return ferror(out) ? -1 : 0;
}
