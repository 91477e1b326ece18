/*
 * The study's charts; see charts.h.  Each chart is one query over a
 * rollup table and one SVG file.  Time series are summed in SQL at the
 * rollup's own resolution and then bounded by svg_aggregate(), so a
 * file contains at most SVG_POINTS_MAX points per series whatever the
 * period.
 */
#include "charts.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "svg.h"
#include "util.h"

#define MINUTES_PER_DAY 1440

/* Sensors drawn in the bandwidth chart: one line in, one out, each. */
#define BANDWIDTH_SENSORS_MAX (SVG_SERIES_MAX / 2)

/* Filters of one run, bound by name as in the report. */
struct chart_query {
	struct db *db;
	const struct report_options *opts;
	int64_t sensor_id; /* -1: every sensor */
	int64_t first_minute;
	int64_t end_minute; /* exclusive */
	const char *since;
	const char *until;
};

#define MINUTE_FILTER                                                          \
	" minute >= :first AND minute < :end"                                  \
	" AND (:sensor IS NULL OR sensor_id = :sensor)"
#define DAY_FILTER                                                             \
	" day >= :since AND day <= :until"                                     \
	" AND (:sensor IS NULL OR r.sensor_id = :sensor)"

static void
bind_named(sqlite3_stmt *st, const char *name, int64_t v)
{
	int idx = sqlite3_bind_parameter_index(st, name);

	if (idx > 0)
		sqlite3_bind_int64(st, idx, v);
}

static sqlite3_stmt *
prepare(struct chart_query *q, const char *sql)
{
	sqlite3_stmt *st;
	int idx;

	if (sqlite3_prepare_v2(db_handle(q->db), sql, -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	bind_named(st, ":first", q->first_minute);
	bind_named(st, ":end", q->end_minute);
	bind_named(st, ":top", q->opts->top);
	if ((idx = sqlite3_bind_parameter_index(st, ":since")) > 0)
		db_bind_text(st, idx, q->since);
	if ((idx = sqlite3_bind_parameter_index(st, ":until")) > 0)
		db_bind_text(st, idx, q->until);
	if ((idx = sqlite3_bind_parameter_index(st, ":sensor")) > 0)
		db_bind_opt_int(st, idx, q->sensor_id);
	return st;
}

/* Finish a statement stepped to its end; returns 0 or -1. */
static int
finish(sqlite3_stmt *st, int rc)
{
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* "minute", "5 minutes", "hour", "day", "7 days": the width of a bucket. */
static void
step_name(int64_t step, char *buf, size_t size)
{
	static const struct {
		int64_t seconds;
		const char *one;
		const char *many;
	} units[] = {
	    {86400, "day", "days"},
	    {3600, "hour", "hours"},
	    {60, "minute", "minutes"},
	    {1, "second", "seconds"},
	};
	size_t i;

	for (i = 0; i < NELEM(units); i++) {
		if (step % units[i].seconds != 0)
			continue;
		if (step == units[i].seconds)
			bufprintf(buf, size, "%s", units[i].one);
		else
			bufprintf(buf, size, "%lld %s",
			    (long long)(step / units[i].seconds),
			    units[i].many);
		return;
	}
}

/* Aggregate, then name the unit of y after the bucket width. */
static void
set_rate_title(struct svg_chart *c, const char *what, char *buf, size_t size)
{
	char unit[32];

	svg_aggregate(c, SVG_POINTS_MAX);
	step_name(c->step, unit, sizeof(unit));
	c->y_title = bufprintf(buf, size, "%s per %s", what, unit);
}

static int
chart_spams_per_day(struct chart_query *q, struct svg_chart *c)
{
	static char y_title[64];
	struct svg_series *s;
	sqlite3_stmt *st;
	int rc;

	svg_chart_init(c, "Spams captured per day", "day (UTC)", NULL,
	    SVG_AXIS_TIME, SVG_STYLE_BARS, 86400);
	st = prepare(q,
	    "SELECT minute / 1440 AS d, sum(messages) FROM rollup_minute"
	    " WHERE" MINUTE_FILTER " GROUP BY d ORDER BY d");
	if (st == NULL)
		return -1;
	s = svg_add_series(c, "emails");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		svg_add_point(s, sqlite3_column_int64(st, 0) * 86400,
		    (double)sqlite3_column_int64(st, 1), NULL);
	set_rate_title(c, "emails", y_title, sizeof(y_title));
	return finish(st, rc);
}

/*
 * The window of the per-minute chart: the --since and --until days, or
 * else the last day (1440 minutes) up to the last minute with email.
 */
static int
minute_window(struct chart_query *q, int64_t *first, int64_t *end)
{
	sqlite3_stmt *st;
	int rc;

	*first = q->first_minute;
	*end = q->end_minute;
	if (q->opts->since != NULL || q->opts->until != NULL) {
		if (*end == INT64_MAX)
			*end = *first + MINUTES_PER_DAY;
		if (q->opts->since == NULL)
			*first = *end - MINUTES_PER_DAY;
		return 0;
	}
	st = prepare(q,
	    "SELECT max(minute) FROM rollup_minute"
	    " WHERE messages > 0 AND" MINUTE_FILTER);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*end = sqlite3_column_int64(st, 0) + 1;
		*first = *end - MINUTES_PER_DAY;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
chart_emails_per_minute(struct chart_query *q, struct svg_chart *c)
{
	static char y_title[64];
	struct chart_query window = *q;
	struct svg_series *s;
	sqlite3_stmt *st;
	int rc;

	svg_chart_init(c, "Emails per minute", "time (UTC)", NULL,
	    SVG_AXIS_TIME, SVG_STYLE_LINES, 60);
	if (minute_window(q, &window.first_minute, &window.end_minute) < 0)
		return -1;
	st = prepare(&window,
	    "SELECT minute, sum(messages) FROM rollup_minute"
	    " WHERE" MINUTE_FILTER " GROUP BY minute ORDER BY minute");
	if (st == NULL)
		return -1;
	s = svg_add_series(c, "emails");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		svg_add_point(s, sqlite3_column_int64(st, 0) * 60,
		    (double)sqlite3_column_int64(st, 1), NULL);
	/* Both ends of the window, so that quiet minutes show as zero. */
	if (s->npoints > 0 || window.end_minute != INT64_MAX) {
		svg_add_point(s, window.first_minute * 60, 0, NULL);
		svg_add_point(s, (window.end_minute - 1) * 60, 0, NULL);
	}
	set_rate_title(c, "emails", y_title, sizeof(y_title));
	return finish(st, rc);
}

static int
chart_bandwidth(struct chart_query *q, struct svg_chart *c)
{
	static char y_title[64];
	struct svg_series *in, *out;
	sqlite3_stmt *st, *hours;
	char name[SVG_LABEL_MAX];
	int rc = SQLITE_DONE, sensors;

	svg_chart_init(c, "Bandwidth per sensor", "time (UTC)", NULL,
	    SVG_AXIS_TIME, SVG_STYLE_LINES, 3600);
	st = prepare(q,
	    "SELECT r.sensor_id, s.name, sum(bytes_in) + sum(bytes_out) AS n"
	    " FROM rollup_minute r JOIN sensor s ON s.id = r.sensor_id"
	    " WHERE" MINUTE_FILTER " GROUP BY r.sensor_id"
	    " ORDER BY n DESC, s.name LIMIT :max");
	hours = prepare(q,
	    "SELECT minute / 60 AS h, sum(bytes_in), sum(bytes_out)"
	    " FROM rollup_minute WHERE minute >= :first AND minute < :end"
	    " AND sensor_id = :id GROUP BY h ORDER BY h");
	if (st == NULL || hours == NULL) {
		sqlite3_finalize(st);
		sqlite3_finalize(hours);
		return -1;
	}
	bind_named(st, ":max", BANDWIDTH_SENSORS_MAX);
	while ((sensors = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sensor = (const char *)sqlite3_column_text(st, 1);

		in = svg_add_series(
		    c, bufprintf(name, sizeof(name), "%.80s in", sensor));
		out = svg_add_series(
		    c, bufprintf(name, sizeof(name), "%.80s out", sensor));
		sqlite3_reset(hours);
		bind_named(hours, ":id", sqlite3_column_int64(st, 0));
		while ((rc = sqlite3_step(hours)) == SQLITE_ROW) {
			int64_t t = sqlite3_column_int64(hours, 0) * 3600;

			svg_add_point(in, t,
			    (double)sqlite3_column_int64(hours, 1), NULL);
			svg_add_point(out, t,
			    (double)sqlite3_column_int64(hours, 2), NULL);
		}
		if (rc != SQLITE_DONE)
			break;
	}
	set_rate_title(c, "bytes", y_title, sizeof(y_title));
	sqlite3_finalize(hours);
	return finish(st, rc != SQLITE_DONE ? rc : sensors);
}

static int
chart_ports(struct chart_query *q, struct svg_chart *c)
{
	struct svg_series *s;
	sqlite3_stmt *st;
	char label[SVG_LABEL_MAX];
	int rc;

	svg_chart_init(c, "Connections per service port", NULL, "connections",
	    SVG_AXIS_CATEGORY, SVG_STYLE_BARS, 1);
	st = prepare(q,
	    "SELECT service_port, sum(connections) AS n FROM rollup_minute"
	    " WHERE" MINUTE_FILTER " GROUP BY service_port HAVING n > 0"
	    " ORDER BY n DESC, service_port");
	if (st == NULL)
		return -1;
	s = svg_add_series(c, "connections");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t port = sqlite3_column_int64(st, 0);

		bufprintf(label, sizeof(label), "%lld %s", (long long)port,
		    report_port_label(port));
		svg_add_point(
		    s, port, (double)sqlite3_column_int64(st, 1), label);
	}
	return finish(st, rc);
}

static int
chart_asns(struct chart_query *q, struct svg_chart *c)
{
	struct svg_series *s;
	sqlite3_stmt *st;
	char label[SVG_LABEL_MAX];
	int rc;

	svg_chart_init(c, "Top ASNs by emails", NULL, "emails",
	    SVG_AXIS_CATEGORY, SVG_STYLE_BARS, 1);
	st = prepare(q,
	    "SELECT i.asn, max(i.as_name), sum(r.messages) AS n"
	    " FROM rollup_ip_day r JOIN ip i ON i.ip = r.source_ip"
	    " WHERE i.asn IS NOT NULL AND" DAY_FILTER
	    " GROUP BY i.asn HAVING n > 0 ORDER BY n DESC, i.asn LIMIT :top");
	if (st == NULL)
		return -1;
	s = svg_add_series(c, "emails");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		bufprintf(label, sizeof(label), "AS%lld %.60s",
		    (long long)sqlite3_column_int64(st, 0),
		    name != NULL ? name : "");
		svg_add_point(s, sqlite3_column_int64(st, 0),
		    (double)sqlite3_column_int64(st, 2), label);
	}
	return finish(st, rc);
}

static int
chart_countries(struct chart_query *q, struct svg_chart *c)
{
	struct svg_series *s;
	sqlite3_stmt *st;
	char label[SVG_LABEL_MAX];
	int rc;

	svg_chart_init(c, "Top countries by emails", NULL, "emails",
	    SVG_AXIS_CATEGORY, SVG_STYLE_BARS, 1);
	st = prepare(q,
	    "SELECT i.country, sum(r.messages) AS n"
	    " FROM rollup_ip_day r JOIN ip i ON i.ip = r.source_ip"
	    " WHERE i.country IS NOT NULL AND" DAY_FILTER
	    " GROUP BY i.country HAVING n > 0"
	    " ORDER BY n DESC, i.country LIMIT :top");
	if (st == NULL)
		return -1;
	s = svg_add_series(c, "emails");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(st, 0);

		bufprintf(label, sizeof(label), "%.8s %s", code,
		    report_country_name(code));
		svg_add_point(s, (int64_t)s->npoints,
		    (double)sqlite3_column_int64(st, 1), label);
	}
	return finish(st, rc);
}

static const struct {
	const char *file;
	int (*fill)(struct chart_query *, struct svg_chart *);
} charts[] = {
    {"spams-per-day.svg", chart_spams_per_day},
    {"emails-per-minute.svg", chart_emails_per_minute},
    {"bandwidth-per-hour.svg", chart_bandwidth},
    {"connections-per-port.svg", chart_ports},
    {"top-asns.svg", chart_asns},
    {"top-countries.svg", chart_countries},
};

static int
set_filters(struct chart_query *q, char *err, size_t errlen)
{
	const struct report_options *o = q->opts;
	sqlite3_stmt *st;
	int64_t days;

	q->sensor_id = -1;
	q->since = o->since != NULL ? o->since : "0000-00-00";
	q->until = o->until != NULL ? o->until : "9999-99-99";
	q->first_minute = 0;
	q->end_minute = INT64_MAX;
	if (o->since != NULL && parse_day(o->since, &days) == 0)
		q->first_minute = days * MINUTES_PER_DAY;
	if (o->until != NULL && parse_day(o->until, &days) == 0)
		q->end_minute = (days + 1) * MINUTES_PER_DAY;
	if (o->sensor == NULL)
		return 0;
	st = db_stmt(q->db, STMT_SENSOR_FIND);
	db_bind_text(st, 1, o->sensor);
	if (sqlite3_step(st) == SQLITE_ROW)
		q->sensor_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (q->sensor_id < 0) {
		bufprintf(err, errlen, "no sensor named '%s' in the database",
		    o->sensor);
		return -1;
	}
	return 0;
}

/* Write one chart to dir/file through a temporary name. */
static int
write_file(const char *dir, const char *file, struct svg_chart *c, char *err,
    size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *fp;
	int rc;

	bufprintf(path, sizeof(path), "%s/%s", dir, file);
	bufprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		bufprintf(
		    err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	rc = svg_write(fp, c);
	if (fclose(fp) != 0 || rc < 0 || rename(tmp, path) < 0) {
		bufprintf(
		    err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
charts_write(struct db *db, const struct report_options *opts, const char *dir,
    char *err, size_t errlen)
{
	struct chart_query q = {.db = db, .opts = opts};
	struct svg_chart c;
	size_t i;
	int written = 0;

	if (set_filters(&q, err, errlen) < 0)
		return -1;
	/* Read every chart in one snapshot so the numbers agree. */
	if (db_exec(db, "BEGIN") < 0)
		goto db_fail;
	for (i = 0; i < NELEM(charts); i++) {
		memset(&c, 0, sizeof(c));
		if (charts[i].fill(&q, &c) < 0) {
			svg_chart_free(&c);
			goto db_fail;
		}
		if (write_file(dir, charts[i].file, &c, err, errlen) < 0) {
			svg_chart_free(&c);
			db_rollback(db);
			return -1;
		}
		svg_chart_free(&c);
		written++;
	}
	db_rollback(db);
	return written;
db_fail:
	bufprintf(err, errlen, "chart query failed: %s", db_error(db));
	db_rollback(db);
	return -1;
}
