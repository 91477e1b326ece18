/*
 * A small SVG chart writer: bar and line charts over a time axis, and
 * horizontal bars over named categories, with a title, axes, units and
 * ticks at round values.  The files are self-contained: no script, no
 * external reference, generic font families only, styles inline.
 *
 * Each chart also carries its data as JSON in a <metadata> element
 * (id "chart-data"), so that a test or a script can read the drawn
 * numbers back.  Labels may come from downloaded data (AS names), so
 * every text is escaped for XML, and bytes that are not valid UTF-8 are
 * written as U+FFFD.
 */
#ifndef SPAMPOT_SVG_H
#define SPAMPOT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Points drawn per series.  A longer series is merged into wider time
 * buckets (or, over categories, its tail into "other"), so that a
 * chart's size does not grow with the period or the data: 400 points
 * fill a 900-pixel plot at two pixels each.
 */
#define SVG_POINTS_MAX 400

/* Series per chart: more lines than this are no longer readable. */
#define SVG_SERIES_MAX 8

/* Bytes kept of a series name or a category label. */
#define SVG_LABEL_MAX 96

enum svg_axis {
	SVG_AXIS_TIME,     /* x is seconds since the epoch, UTC */
	SVG_AXIS_CATEGORY, /* x is a label; bars are horizontal */
};

enum svg_style {
	SVG_STYLE_BARS,
	SVG_STYLE_LINES,
};

struct svg_point {
	int64_t x; /* time: start of the bucket; category: its rank */
	double y;
	char label[SVG_LABEL_MAX]; /* category name; "" on a time axis */
};

struct svg_series {
	char name[SVG_LABEL_MAX];
	struct svg_point *points;
	size_t npoints;
	size_t cap;
};

struct svg_chart {
	const char *title;
	const char *x_title;
	const char *y_title; /* with the unit: "emails per day" */
	enum svg_axis axis;
	enum svg_style style;
	int64_t step; /* seconds each time point covers */
	struct svg_series series[SVG_SERIES_MAX];
	size_t nseries;
};

/* Round values for an axis from lo to hi: first, first + step, ... */
struct svg_ticks {
	double first;
	double step;
	int count;
};

void svg_chart_init(struct svg_chart *c, const char *title, const char *x_title,
    const char *y_title, enum svg_axis axis, enum svg_style style,
    int64_t step);
void svg_chart_free(struct svg_chart *c);

/* A new series named name (truncated), or NULL past SVG_SERIES_MAX. */
struct svg_series *svg_add_series(struct svg_chart *c, const char *name);

/* Append a point; label is for category axes and may be NULL. */
void svg_add_point(
    struct svg_series *s, int64_t x, double y, const char *label);

/*
 * Bound every series to max_points.  On a time axis, points are summed
 * into the narrowest round bucket (minutes, hours, days, weeks) that
 * leaves at most max_points, aligned to multiples of its width, and
 * c->step becomes that width.  Over categories, the points past
 * max_points - 1 are summed into one named "other".
 */
void svg_aggregate(struct svg_chart *c, size_t max_points);

/*
 * Ticks at multiples of 1, 2 or 5 times a power of ten, covering
 * [lo, hi] with at most max_ticks values.
 */
void svg_nice_ticks(double lo, double hi, int max_ticks, struct svg_ticks *t);

/*
 * Ticks at round times within [lo, hi]: whole minutes, hours, days or
 * calendar months, at most max_ticks of them, written to ticks (cap
 * entries).  *format is the strftime format that suits the step.
 * Returns the number of ticks.
 */
size_t svg_time_ticks(int64_t lo, int64_t hi, int max_ticks, int64_t *ticks,
    size_t cap, const char **format);

/* Write s as XML character data: escaped, and valid UTF-8 only. */
void svg_put_text(FILE *out, const char *s);

/* Aggregate to SVG_POINTS_MAX and write the chart; returns 0 or -1. */
int svg_write(FILE *out, struct svg_chart *c);

#endif
