/*
 * The dashboard's HTML, rendered from the JSON objects of web_api.c.
 * Pages have no script and no inline style: the style sheet is a file,
 * charts are <img> elements of our own SVG, and every value goes
 * through html_escape() or url_escape().  Message text is shown in
 * <pre> as text, HTML parts as their escaped source.
 */
#include "web.h"

#include <stddef.h>
#include <string.h>

#include "util.h"

const char web_style_css[] =
    "body { font-family: sans-serif; margin: 0 1em 2em 1em;"
    " color: #222; background: #fff; }\n"
    "nav { padding: 0.6em 0; border-bottom: 1px solid #ccc;"
    " margin-bottom: 1em; }\n"
    "nav a { margin-right: 1.2em; }\n"
    "table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }\n"
    "th, td { border: 1px solid #ddd; padding: 0.2em 0.5em;"
    " text-align: left; vertical-align: top; }\n"
    /* Spam header fields run to thousands of unbroken characters. */
    "td { overflow-wrap: anywhere; max-width: 60em; }\n"
    "td.num { text-align: right; font-variant-numeric: tabular-nums; }\n"
    "pre { white-space: pre-wrap; overflow-wrap: anywhere;"
    " background: #f6f6f6; padding: 0.5em; border: 1px solid #ddd; }\n"
    "img.chart { max-width: 100%; margin: 0.5em 0; display: block; }\n"
    ".ok { color: #060; } .warn { color: #a60; } .down { color: #b00; }\n"
    ".note { color: #666; }\n"
    "form label { margin-right: 1em; }\n";

static void
page_begin(struct sbuf *out, const char *title, bool refresh)
{
	sbuf_puts(out,
	    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n");
	if (refresh)
		sbuf_printf(out,
		    "<meta http-equiv=\"refresh\" content=\"%d\">\n",
		    WEB_REFRESH_SECONDS);
	sbuf_puts(out, "<title>spampot: ");
	html_escape_str(out, title);
	sbuf_puts(out,
	    "</title>\n"
	    "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
	    "<link rel=\"icon\" href=\"/static/icon.svg\">\n"
	    "</head>\n<body>\n<nav><a href=\"/\">Overview</a>"
	    "<a href=\"/reports\">Reports</a>"
	    "<a href=\"/messages\">Messages</a>"
	    "<a href=\"/metrics\">Metrics</a></nav>\n<main>\n<h1>");
	html_escape_str(out, title);
	sbuf_puts(out, "</h1>\n");
}

static void
page_end(struct sbuf *out)
{
	sbuf_puts(out, "</main>\n</body>\n</html>\n");
}

/* A JSON scalar as escaped text; null and absent values are "-". */
static void
put_value(struct sbuf *out, const json_t *v)
{
	if (json_is_string(v))
		html_escape_str(out, json_string_value(v));
	else if (json_is_integer(v))
		sbuf_printf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		sbuf_printf(out, "%.2f", json_real_value(v));
	else if (json_is_true(v))
		sbuf_puts(out, "yes");
	else if (json_is_false(v))
		sbuf_puts(out, "no");
	else
		sbuf_puts(out, "-");
}

/* A table cell with a data-key attribute, which the tests read. */
static void
put_cell(struct sbuf *out, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	sbuf_printf(out, "<td%s data-key=\"",
	    json_is_number(v) ? " class=\"num\"" : "");
	html_escape_str(out, key);
	sbuf_puts(out, "\">");
	put_value(out, v);
	sbuf_puts(out, "</td>");
}

/*
 * The filters of f but skip as query parameters: the first starts with
 * lead ("?" or "&amp;"), the others with "&amp;".
 */
static void
put_filter_query(struct sbuf *out, const struct web_filter *f, const char *skip,
    const char *lead)
{
	char num[32];
	static const struct {
		const char *name;
		size_t offset;
	} texts[] = {
	    {"sensor", offsetof(struct web_filter, sensor)},
	    {"ip", offsetof(struct web_filter, ip)},
	    {"country", offsetof(struct web_filter, country)},
	    {"day", offsetof(struct web_filter, day)},
	    {"since", offsetof(struct web_filter, since)},
	    {"until", offsetof(struct web_filter, until)},
	    {"os", offsetof(struct web_filter, os)},
	};
	const char *v;
	size_t i;

	for (i = 0; i < NELEM(texts); i++) {
		v = (const char *)f + texts[i].offset;
		if (v[0] == '\0' || strcmp(texts[i].name, skip) == 0)
			continue;
		sbuf_printf(out, "%s%s=", lead, texts[i].name);
		url_escape(out, v);
		lead = "&amp;";
	}
	if (f->asn >= 0 && strcmp(skip, "asn") != 0) {
		sbuf_printf(out, "%sasn=%s", lead,
		    bufprintf(num, sizeof(num), "%lld", (long long)f->asn));
		lead = "&amp;";
	}
	if (f->port >= 0 && strcmp(skip, "port") != 0)
		sbuf_printf(out, "%sport=%d", lead, f->port);
}

/* <a href="/messages?NAME=VALUE&FILTERS">TEXT</a>, for the top tables. */
static void
put_filter_link(struct sbuf *out, const struct web_filter *f, const char *name,
    const json_t *value)
{
	char num[32];
	const char *v;

	if (json_is_integer(value))
		v = bufprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(value));
	else if (json_is_string(value))
		v = json_string_value(value);
	else {
		put_value(out, value);
		return;
	}
	sbuf_printf(out, "<a href=\"/messages?%s=", name);
	url_escape(out, v);
	put_filter_query(out, f, name, "&amp;");
	sbuf_puts(out, "\">");
	html_escape_str(out, v);
	sbuf_puts(out, "</a>");
}

/* Headings of the summary's known keys; others are shown by key. */
static const struct {
	const char *key;
	const char *label;
} summary_labels[] = {
    {"first_day", "First day"},
    {"last_day", "Last day"},
    {"days", "Days"},
    {"emails", "Emails"},
    {"recipients", "Recipients"},
    {"recipients_per_email", "Recipients per email"},
    {"unique_ips", "Unique IP addresses"},
    {"unique_asns", "Unique ASNs"},
    {"unique_countries", "Unique country codes"},
    {"probe_messages", "Probe messages"},
    {"judge_checks", "Judge checks"},
};

/* Every field of the report's summary, in the report's order. */
static void
put_summary(struct sbuf *out, const json_t *summary)
{
	const char *key, *label;
	const json_t *v;
	size_t i;

	sbuf_puts(out, "<table id=\"summary\">\n");
	json_object_foreach((json_t *)summary, key, v)
	{
		label = key;
		for (i = 0; i < NELEM(summary_labels); i++)
			if (strcmp(summary_labels[i].key, key) == 0)
				label = summary_labels[i].label;
		sbuf_puts(out, "<tr><th>");
		html_escape_str(out, label);
		sbuf_puts(out, "</th>");
		put_cell(out, summary, key);
		sbuf_puts(out, "</tr>\n");
	}
	sbuf_puts(out, "</table>\n");
}

static void
put_sensor_row(struct sbuf *out, const json_t *s)
{
	const json_t *age = json_object_get(s, "heartbeat_age_s");

	sbuf_puts(out, "<tr>");
	put_cell(out, s, "name");
	put_cell(out, s, "verdict");
	put_cell(out, s, "reason");
	put_cell(out, s, "version");
	put_cell(out, s, "last_heartbeat");
	if (json_is_integer(age))
		sbuf_printf(out, "<td class=\"num\">%lld s ago</td>",
		    (long long)json_integer_value(age));
	else
		sbuf_puts(out, "<td>none found</td>");
	put_cell(out, s, "last_event_minute");
	put_cell(out, s, "emails_recent");
	put_cell(out, s, "emails_today");
	sbuf_puts(out, "</tr>\n");
}

void
page_overview(struct sbuf *out, const json_t *overview)
{
	const json_t *sensors = json_object_get(overview, "sensors"), *s;
	size_t i;

	page_begin(out, "Overview", true);
	sbuf_puts(out, "<p class=\"note\">Generated ");
	put_value(out, json_object_get(overview, "generated"));
	sbuf_puts(out,
	    " (UTC).  Verdicts are those of <code>spampot status</code>, from"
	    " the collector's configuration (<code>--config</code>); without"
	    " it they are empty.</p>\n"
	    "<h2>Sensors</h2>\n<table id=\"sensors\">\n<tr><th>Sensor</th>"
	    "<th>Verdict</th><th>Reason</th>"
	    "<th>Version</th><th>Last heartbeat</th><th>Age</th>"
	    "<th>Last event (minute)</th>");
	sbuf_printf(out,
	    "<th>Emails, last %d min</th><th>Emails today (UTC)"
	    "</th></tr>\n",
	    WEB_RECENT_MINUTES);
	json_array_foreach(sensors, i, s) put_sensor_row(out, s);
	sbuf_puts(out, "</table>\n");
	if (json_array_size(sensors) == 0)
		sbuf_puts(out, "<p>No sensor has been ingested yet.</p>\n");
	sbuf_puts(out, "<h2>Totals</h2>\n");
	put_summary(out, json_object_get(overview, "summary"));
	page_end(out);
}

/* One ranked table: columns as key, heading and the filter they set. */
struct rank_column {
	const char *key;
	const char *heading;
	const char *filter; /* message list parameter, or NULL */
};

static void
put_ranked(struct sbuf *out, const char *id, const char *title,
    const json_t *rows, const struct rank_column *cols, size_t ncols,
    const struct web_filter *f)
{
	const json_t *row;
	size_t i, c;

	sbuf_printf(out, "<h2>%s</h2>\n<table id=\"%s\">\n<tr>", title, id);
	for (c = 0; c < ncols; c++)
		sbuf_printf(out, "<th>%s</th>", cols[c].heading);
	sbuf_puts(out, "</tr>\n");
	json_array_foreach(rows, i, row)
	{
		sbuf_puts(out, "<tr>");
		for (c = 0; c < ncols; c++) {
			if (cols[c].filter == NULL) {
				put_cell(out, row, cols[c].key);
				continue;
			}
			sbuf_printf(out, "<td data-key=\"%s\">", cols[c].key);
			put_filter_link(out, f, cols[c].filter,
			    json_object_get(row, cols[c].key));
			sbuf_puts(out, "</td>");
		}
		sbuf_puts(out, "</tr>\n");
	}
	sbuf_puts(out, "</table>\n");
	if (json_array_size(rows) == 0)
		sbuf_puts(out, "<p>None in this selection.</p>\n");
}

static const struct rank_column asn_columns[] = {
    {"rank", "Rank", NULL},
    {"asn", "ASN", "asn"},
    {"as_name", "AS name", NULL},
    {"emails", "Emails", NULL},
    {"percent", "%", NULL},
};
static const struct rank_column country_columns[] = {
    {"rank", "Rank", NULL},
    {"code", "Code", "country"},
    {"country", "Country", NULL},
    {"emails", "Emails", NULL},
    {"percent", "%", NULL},
};
static const struct rank_column port_columns[] = {
    {"rank", "Rank", NULL},
    {"port", "Port", "port"},
    {"service", "Service", NULL},
    {"emails", "Emails", NULL},
    {"percent", "%", NULL},
};
static const struct rank_column os_columns[] = {
    {"class", "OS class", "os"},
    {"emails", "Emails", NULL},
    {"percent", "%", NULL},
};
static const struct rank_column ip_columns[] = {
    {"ip", "Source IP", "ip"},
    {"asn", "ASN", NULL},
    {"country", "Country", NULL},
    {"emails", "Emails", NULL},
};
static const struct rank_column day_columns[] = {
    {"day", "Day", "day"},
    {"emails", "Emails", NULL},
    {"recipients", "Recipients", NULL},
};

#define RANK(a) a, NELEM(a)

static const struct {
	const char *key;
	const char *title;
	const struct rank_column *cols;
	size_t ncols;
} report_sections[] = {
    {"top_asns", "Top ASNs", RANK(asn_columns)},
    {"top_countries", "Top countries", RANK(country_columns)},
    {"service_ports", "Service ports", RANK(port_columns)},
    {"source_os", "Source operating systems", RANK(os_columns)},
    {"top_source_ips", "Top source IP addresses", RANK(ip_columns)},
    {"spams_per_day", "Spams per day", RANK(day_columns)},
};

static void
put_input(
    struct sbuf *out, const char *name, const char *label, const char *value)
{
	sbuf_printf(out, "<label>%s <input name=\"%s\" size=\"12\" value=\"",
	    label, name);
	html_escape_str(out, value);
	sbuf_puts(out, "\"></label>");
}

static void
put_report_form(struct sbuf *out, const struct web_filter *f)
{
	sbuf_puts(out, "<form method=\"get\" action=\"/reports\">");
	put_input(out, "since", "Since (YYYY-MM-DD)", f->since);
	put_input(out, "until", "Until", f->until);
	put_input(out, "sensor", "Sensor", f->sensor);
	sbuf_puts(out, "<button type=\"submit\">Show</button></form>\n");
}

static void
put_charts(struct sbuf *out, const json_t *charts, const struct web_filter *f)
{
	const json_t *chart;
	size_t i;

	json_array_foreach(json_object_get(charts, "charts"), i, chart)
	{
		sbuf_puts(out, "<img class=\"chart\" src=\"/charts/");
		url_escape(
		    out, json_string_value(json_object_get(chart, "name")));
		put_filter_query(out, f, "", "?");
		sbuf_puts(out, "\" alt=\"");
		html_escape_str(
		    out, json_string_value(json_object_get(chart, "name")));
		sbuf_puts(out, "\">\n");
	}
}

void
page_report(struct sbuf *out, const json_t *report, const json_t *charts,
    const struct web_filter *f)
{
	size_t i;

	page_begin(out, "Reports", true);
	put_report_form(out, f);
	sbuf_puts(out, "<h2>Summary</h2>\n");
	put_summary(out, json_object_get(report, "summary"));
	sbuf_puts(out, "<h2>Charts</h2>\n");
	put_charts(out, charts, f);
	for (i = 0; i < NELEM(report_sections); i++)
		put_ranked(out, report_sections[i].key,
		    report_sections[i].title,
		    json_object_get(report, report_sections[i].key),
		    report_sections[i].cols, report_sections[i].ncols, f);
	page_end(out);
}

static void
put_messages_form(struct sbuf *out, const struct web_filter *f)
{
	char num[32];

	sbuf_puts(out, "<form method=\"get\" action=\"/messages\">");
	put_input(out, "sensor", "Sensor", f->sensor);
	put_input(out, "ip", "IP", f->ip);
	put_input(out, "asn", "ASN",
	    f->asn >= 0 ? bufprintf(num, sizeof(num), "%lld", (long long)f->asn)
			: "");
	put_input(out, "country", "Country", f->country);
	put_input(out, "port", "Port",
	    f->port >= 0 ? bufprintf(num, sizeof(num), "%d", f->port) : "");
	put_input(out, "day", "Day", f->day);
	sbuf_puts(out, "<button type=\"submit\">Filter</button></form>\n");
}

static void
put_message_row(struct sbuf *out, const json_t *m, const struct web_filter *f)
{
	sbuf_printf(out, "<tr><td><a href=\"/messages/%lld\">%lld</a></td>",
	    (long long)json_integer_value(json_object_get(m, "id")),
	    (long long)json_integer_value(json_object_get(m, "id")));
	put_cell(out, m, "time");
	put_cell(out, m, "sensor");
	sbuf_puts(out, "<td data-key=\"source_ip\">");
	put_filter_link(out, f, "ip", json_object_get(m, "source_ip"));
	sbuf_puts(out, "</td>");
	put_cell(out, m, "port");
	put_cell(out, m, "country");
	put_cell(out, m, "asn");
	put_cell(out, m, "mail_from");
	put_cell(out, m, "rcpt_count");
	put_cell(out, m, "size");
	sbuf_puts(out, "</tr>\n");
}

void
page_messages(struct sbuf *out, const json_t *list, const struct web_filter *f)
{
	const json_t *messages = json_object_get(list, "messages"), *m;
	size_t i;

	page_begin(out, "Messages", true);
	put_messages_form(out, f);
	sbuf_puts(out,
	    "<table id=\"messages\">\n<tr><th>Id</th><th>Time (UTC)</th>"
	    "<th>Sensor</th><th>Source IP</th><th>Port</th><th>Country</th>"
	    "<th>ASN</th><th>Sender</th><th>Recipients</th><th>Bytes</th>"
	    "</tr>\n");
	json_array_foreach(messages, i, m) put_message_row(out, m, f);
	sbuf_puts(out, "</table>\n");
	if (json_array_size(messages) == 0)
		sbuf_puts(out, "<p>No messages match.</p>\n");
	sbuf_printf(out, "<p>Page %ld. ", f->page);
	if (f->page > 1) {
		sbuf_printf(out, "<a rel=\"prev\" href=\"/messages?page=%ld",
		    f->page - 1);
		put_filter_query(out, f, "", "&amp;");
		sbuf_puts(out, "\">Previous</a> ");
	}
	if (json_is_true(json_object_get(list, "has_next"))) {
		sbuf_printf(out, "<a rel=\"next\" href=\"/messages?page=%ld",
		    f->page + 1);
		put_filter_query(out, f, "", "&amp;");
		sbuf_puts(out, "\">Next</a>");
	}
	sbuf_puts(out, "</p>\n");
	page_end(out);
}

static void
put_field_table(struct sbuf *out, const json_t *m)
{
	static const struct {
		const char *key;
		const char *label;
	} rows[] = {
	    {"time", "Time (UTC)"},
	    {"sensor", "Sensor"},
	    {"source_ip", "Source IP"},
	    {"asn", "ASN"},
	    {"as_name", "AS name"},
	    {"country", "Country"},
	    {"os_class", "OS class"},
	    {"port", "Service port"},
	    {"protocol", "Protocol"},
	    {"proxy_target", "Proxy target"},
	    {"helo", "HELO"},
	    {"mail_from", "MAIL FROM"},
	    {"rcpt_count", "Recipients"},
	    {"size", "Bytes"},
	    {"queue_id", "Queue id"},
	    {"personality", "MTA personality"},
	    {"sha256", "SHA-256"},
	};
	const json_t *r;
	size_t i;

	sbuf_puts(out, "<table id=\"envelope\">\n");
	for (i = 0; i < NELEM(rows); i++) {
		sbuf_printf(out, "<tr><th>%s</th>", rows[i].label);
		put_cell(out, m, rows[i].key);
		sbuf_puts(out, "</tr>\n");
	}
	sbuf_puts(out, "<tr><th>RCPT TO</th><td data-key=\"rcpt\">");
	json_array_foreach(json_object_get(m, "rcpt"), i, r)
	{
		if (i > 0)
			sbuf_puts(out, "<br>");
		put_value(out, r);
	}
	sbuf_puts(out, "</td></tr>\n</table>\n");
}

static void
put_part(struct sbuf *out, size_t n, const json_t *part)
{
	const json_t *text = json_object_get(part, "text");

	sbuf_printf(out, "<h3>Part %zu: ", n + 1);
	put_value(out, json_object_get(part, "type"));
	sbuf_puts(out, "</h3>\n<p class=\"note\">charset ");
	put_value(out, json_object_get(part, "charset"));
	sbuf_puts(out, ", transfer encoding ");
	put_value(out, json_object_get(part, "encoding"));
	sbuf_puts(out, ", file name ");
	put_value(out, json_object_get(part, "filename"));
	sbuf_puts(out, ", ");
	put_value(out, json_object_get(part, "size"));
	sbuf_puts(out, " bytes decoded.");
	if (json_is_true(json_object_get(part, "html")))
		sbuf_puts(out, " HTML is shown as its source, never rendered.");
	sbuf_puts(out, "</p>\n");
	if (json_is_string(text)) {
		sbuf_puts(out, "<pre class=\"part\">");
		html_escape_str(out, json_string_value(text));
		sbuf_puts(out, "</pre>\n");
	} else {
		sbuf_puts(out,
		    "<p>Not text: not shown; download the raw "
		    "message to inspect it.</p>\n");
	}
}

static void
put_body(struct sbuf *out, const json_t *body)
{
	const json_t *h, *part;
	size_t i;

	sbuf_puts(out, "<h2>Header</h2>\n<table id=\"headers\">\n");
	json_array_foreach(json_object_get(body, "headers"), i, h)
	{
		sbuf_puts(out, "<tr>");
		put_cell(out, h, "name");
		put_cell(out, h, "value");
		sbuf_puts(out, "</tr>\n");
	}
	sbuf_puts(out, "</table>\n<h2>Parts</h2>\n");
	if (json_is_true(json_object_get(body, "truncated")) ||
	    json_is_true(json_object_get(body, "body_truncated")))
		sbuf_puts(out,
		    "<p class=\"note\">The message was too large or"
		    " had too many parts or fields: only its"
		    " beginning is shown.</p>\n");
	json_array_foreach(json_object_get(body, "parts"), i, part)
	    put_part(out, i, part);
}

void
page_message(struct sbuf *out, const json_t *m)
{
	long long id = json_integer_value(json_object_get(m, "id"));
	const json_t *body = json_object_get(m, "body");
	char title[48];

	page_begin(
	    out, bufprintf(title, sizeof(title), "Message %lld", id), false);
	put_field_table(out, m);
	if (json_is_object(body)) {
		sbuf_printf(out,
		    "<p><a href=\"/messages/%lld/raw\" download>Download the"
		    " raw message</a> (application/octet-stream)</p>\n",
		    id);
		put_body(out, body);
	} else {
		sbuf_puts(out,
		    "<p id=\"body-missing\">The body is not"
		    " available: ");
		put_value(out, json_object_get(m, "body_error"));
		sbuf_puts(out, "</p>\n");
	}
	page_end(out);
}

void
page_error(struct sbuf *out, int status, const char *reason)
{
	char title[32];

	page_begin(
	    out, bufprintf(title, sizeof(title), "Error %d", status), false);
	sbuf_puts(out, "<p>");
	html_escape_str(out, reason);
	sbuf_puts(out, "</p>\n");
	page_end(out);
}
