/*
 * spampot web: the analyst's dashboard.  web.c runs the HTTP server and
 * routes requests.  web_api.c reads the database into JSON objects, the
 * one source for both the /api responses and the pages.  web_pages.c
 * renders those objects as HTML.  The database is opened read-only
 * (query_only), and every text shown came from spammers, so it is
 * escaped on output.
 */
#ifndef SPAMPOT_WEB_H
#define SPAMPOT_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "html.h"
#include "webquery.h"

/* Address and port used when --listen is not given. */
#define WEB_DEFAULT_LISTEN "127.0.0.1:8025"

/* Seconds between the pages' own refreshes. */
#define WEB_REFRESH_SECONDS 60

/* Rows in each top table of the reports page. */
#define WEB_TOP_ROWS 10

/* Minutes counted as "recent" on the overview. */
#define WEB_RECENT_MINUTES 15

/* A result of the data layer: a JSON object, or an HTTP error. */
struct web_result {
	json_t *json;      /* NULL on error */
	int status;        /* 200, or the error's status */
	const char *error; /* static text for the error page */
};

/* Data (web_api.c); now is seconds since the epoch. */
struct collector_conf;

/* conf, when not NULL, adds each sensor's `spampot status` verdict. */
struct web_result web_overview(struct db *db,
    const struct collector_conf *conf, int64_t now);
struct web_result web_report(struct db *db, const struct web_filter *f);
struct web_result web_messages(struct db *db, const struct web_filter *f);
struct web_result web_message(struct db *db, int64_t id);

/*
 * The report's charts for the filter's period and sensor, drawn by
 * charts_write(): {"charts": [{"name": "X.svg", "svg": "<svg..."}]}.
 */
struct web_result web_charts(struct db *db, const struct web_filter *f);

/*
 * The raw body of message id, decompressed, at most WEB_RAW_BYTES_MAX
 * bytes.  Returns 0 with *data (to free) and *len, or the HTTP status
 * with *why: 404 when there is no such message or its body is gone.
 */
int web_message_raw(struct db *db, int64_t id, char **data, size_t *len,
    char *sha256, const char **why);

/* Prometheus metrics in text format 0.0.4; returns 0 or -1. */
int web_metrics(struct db *db, struct sbuf *out);

/* Pages (web_pages.c): each appends a whole HTML document to out. */
void page_overview(struct sbuf *out, const json_t *overview);
void page_report(struct sbuf *out, const json_t *report, const json_t *charts,
    const struct web_filter *f);
void page_messages(
    struct sbuf *out, const json_t *list, const struct web_filter *f);
void page_message(struct sbuf *out, const json_t *message);
void page_error(struct sbuf *out, int status, const char *reason);

/* The style sheet served at /static/style.css. */
extern const char web_style_css[];

#endif
