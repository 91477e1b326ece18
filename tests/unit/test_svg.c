/*
 * Tests of the SVG chart writer: escaping of labels that come from
 * data, the choice of axis ticks, and the bound on points per series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svg.h"

/* Write chart c to a memory stream and return the text, NUL-ended. */
static char *
capture_chart(struct svg_chart *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	assert_int_equal(svg_write(fp, c), 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static char *
capture_text(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	svg_put_text(fp, s);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void
text_escapes_markup(void **state)
{
	char *out;

	(void)state;
	out = capture_text("AS <Evil> & \"Sons\"");
	assert_string_equal(out, "AS &lt;Evil&gt; &amp; &quot;Sons&quot;");
	free(out);
}

static void
text_replaces_invalid_utf8(void **state)
{
	char *out;

	(void)state;
	/* A lone continuation byte, an overlong '/', a surrogate, a C0. */
	out = capture_text("a\x80"
			   "b\xc0\xaf"
			   "c\xed\xa0\x80"
			   "d\x01"
			   "e");
	assert_string_equal(out,
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "d\xef\xbf\xbd"
	    "e");
	free(out);
	out = capture_text("S\xc3\xa3o Paulo \xe2\x82\xac");
	assert_string_equal(out, "S\xc3\xa3o Paulo \xe2\x82\xac");
	free(out);
}

static void
chart_escapes_labels_everywhere(void **state)
{
	struct svg_chart c;
	struct svg_series *s;
	char *out;

	(void)state;
	svg_chart_init(&c, "Top <ASNs> & more", NULL, "emails",
	    SVG_AXIS_CATEGORY, SVG_STYLE_BARS, 1);
	s = svg_add_series(&c, "emails");
	assert_non_null(s);
	svg_add_point(s, 64500, 7, "AS64500 <script>alert(1)</script> & \"x\\");
	out = capture_chart(&c);
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "<ASNs>"));
	assert_non_null(strstr(out, "Top &lt;ASNs&gt; &amp; more"));
	/* In the JSON the quote and backslash are escaped as well. */
	assert_non_null(strstr(out,
	    "[\"AS64500 &lt;script&gt;alert(1)&lt;/script&gt; &amp;"
	    " \\&quot;x\\\\\",7]"));
	assert_non_null(strstr(out, "data-y=\"7\""));
	free(out);
	svg_chart_free(&c);
}

static void
nice_ticks_are_round(void **state)
{
	static const struct {
		double lo, hi;
		double step, first;
		int count;
	} cases[] = {
	    {0, 97, 20, 0, 6},
	    {0, 1, 0.2, 0, 6},
	    {0, 5, 1, 0, 6},
	    {0, 1234567, 200000, 0, 8},
	    {0, 10, 2, 0, 6},
	    {3, 3, 0.2, 3, 6},
	};
	struct svg_ticks t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		svg_nice_ticks(cases[i].lo, cases[i].hi, 8, &t);
		assert_float_equal(t.step, cases[i].step, 1e-9);
		assert_float_equal(t.first, cases[i].first, 1e-9);
		assert_int_equal(t.count, cases[i].count);
		assert_true(
		    t.first + t.step * (t.count - 1) >= cases[i].hi - 1e-9);
		assert_true(t.count <= 8);
	}
}

static void
time_ticks_fall_on_round_times(void **state)
{
	int64_t ticks[16];
	const char *format = NULL;
	size_t n, i;

	(void)state;
	/* One day from 2026-12-03 17:01 UTC: every 3 hours, on the hour. */
	n = svg_time_ticks(
	    1796317260, 1796317260 + 86400, 9, ticks, 16, &format);
	assert_int_equal(n, 8);
	assert_string_equal(format, "%H:%M");
	for (i = 0; i < n; i++)
		assert_int_equal(ticks[i] % 10800, 0);
	assert_int_equal(ticks[0], 1796317260 - 1796317260 % 10800 + 10800);

	/* A year from 2026-01-01: on the first of every other month. */
	n = svg_time_ticks(
	    1767225600, 1767225600 + 365 * 86400, 9, ticks, 16, &format);
	assert_string_equal(format, "%Y-%m");
	assert_int_equal(n, 7);
	assert_int_equal(ticks[0], 1767225600); /* 2026-01-01 */
	assert_int_equal(ticks[1], 1772323200); /* 2026-03-01 */
	assert_int_equal(ticks[6], 1798761600); /* 2027-01-01 */
}

static void
aggregation_bounds_points(void **state)
{
	struct svg_chart c;
	struct svg_series *s;
	double sum = 0, total = 0;
	size_t i;
	char *out, *p;
	size_t rects = 0;

	(void)state;
	/* A year of minutes, one email in each. */
	svg_chart_init(&c, "Emails per minute", "time (UTC)", "emails",
	    SVG_AXIS_TIME, SVG_STYLE_LINES, 60);
	s = svg_add_series(&c, "emails");
	for (i = 0; i < 365 * 1440; i++)
		svg_add_point(s, 1767225600 + (int64_t)i * 60, 1, NULL);
	svg_aggregate(&c, SVG_POINTS_MAX);
	assert_true(s->npoints <= SVG_POINTS_MAX);
	assert_true(s->npoints > SVG_POINTS_MAX / 4);
	assert_int_equal(c.step, 86400);
	for (i = 0; i < s->npoints; i++) {
		sum += s->points[i].y;
		assert_int_equal(s->points[i].x % c.step, 0);
	}
	assert_float_equal(sum, 365.0 * 1440, 1e-6);
	svg_chart_free(&c);

	/* The writer bounds the points whatever the caller did. */
	svg_chart_init(&c, "Spams per day", "day (UTC)", "emails",
	    SVG_AXIS_TIME, SVG_STYLE_BARS, 86400);
	s = svg_add_series(&c, "emails");
	for (i = 0; i < 3 * 365; i++) {
		svg_add_point(s, 1767225600 + (int64_t)i * 86400, 2, NULL);
		total += 2;
	}
	out = capture_chart(&c);
	assert_true(s->npoints <= SVG_POINTS_MAX);
	for (p = out; (p = strstr(p, "<rect")) != NULL; p++)
		rects++;
	assert_true(rects <= SVG_POINTS_MAX + 1);
	assert_true(strlen(out) < 64 * 1024);
	sum = 0;
	for (i = 0; i < s->npoints; i++)
		sum += s->points[i].y;
	assert_float_equal(sum, total, 1e-6);
	free(out);
	svg_chart_free(&c);
}

static void
aggregation_fills_gaps_with_zero(void **state)
{
	struct svg_chart c;
	struct svg_series *s;

	(void)state;
	svg_chart_init(&c, "Spams per day", "day (UTC)", "emails",
	    SVG_AXIS_TIME, SVG_STYLE_BARS, 86400);
	s = svg_add_series(&c, "emails");
	svg_add_point(s, 1767225600, 3, NULL);
	svg_add_point(s, 1767225600 + 3 * 86400, 4, NULL);
	svg_aggregate(&c, SVG_POINTS_MAX);
	assert_int_equal(s->npoints, 4);
	assert_int_equal(c.step, 86400);
	assert_float_equal(s->points[0].y, 3, 0);
	assert_float_equal(s->points[1].y, 0, 0);
	assert_float_equal(s->points[2].y, 0, 0);
	assert_float_equal(s->points[3].y, 4, 0);
	assert_int_equal(s->points[3].x, 1767225600 + 3 * 86400);
	svg_chart_free(&c);
}

static void
categories_merge_tail_into_other(void **state)
{
	struct svg_chart c;
	struct svg_series *s;
	char name[16];
	int i;

	(void)state;
	svg_chart_init(&c, "Top ASNs", NULL, "emails", SVG_AXIS_CATEGORY,
	    SVG_STYLE_BARS, 1);
	s = svg_add_series(&c, "emails");
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "AS%d", i);
		svg_add_point(s, i, 10 - i, name);
	}
	svg_aggregate(&c, 4);
	assert_int_equal(s->npoints, 4);
	assert_string_equal(s->points[2].label, "AS2");
	assert_string_equal(s->points[3].label, "other");
	assert_float_equal(s->points[3].y, 7 + 6 + 5 + 4 + 3 + 2 + 1, 0);
	svg_chart_free(&c);
}

static void
series_are_capped(void **state)
{
	struct svg_chart c;
	int i;

	(void)state;
	svg_chart_init(&c, "Bandwidth", "time (UTC)", "bytes", SVG_AXIS_TIME,
	    SVG_STYLE_LINES, 3600);
	for (i = 0; i < SVG_SERIES_MAX; i++)
		assert_non_null(svg_add_series(&c, "sensor"));
	assert_null(svg_add_series(&c, "one too many"));
	svg_chart_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(text_escapes_markup),
	    cmocka_unit_test(text_replaces_invalid_utf8),
	    cmocka_unit_test(chart_escapes_labels_everywhere),
	    cmocka_unit_test(nice_ticks_are_round),
	    cmocka_unit_test(time_ticks_fall_on_round_times),
	    cmocka_unit_test(aggregation_bounds_points),
	    cmocka_unit_test(aggregation_fills_gaps_with_zero),
	    cmocka_unit_test(categories_merge_tail_into_other),
	    cmocka_unit_test(series_are_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
