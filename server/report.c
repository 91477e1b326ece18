/*
 * Reports.  One function per table fills a grid of text cells with
 * typed columns from the rollup tables.  The renderer of the chosen
 * format then writes it, so a new table or format is one row below.
 * AS names come from downloaded CSV files, so text cells are escaped
 * for the format they go into.
 */
#include "report.h"

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "charts.h"
#include "commands.h"
#include "ingest.h"
#include "osmatch.h"
#include "p0f.h"
#include "util.h"

#define MINUTES_PER_DAY 1440

enum col_type { COL_TEXT, COL_INT, COL_REAL };

struct column {
	const char *key;    /* csv and json name */
	const char *header; /* text and Markdown heading */
	enum col_type type;
};

struct table {
	const char *key;
	const char *title;
	const struct column *cols;
	size_t ncols;
	bool single;  /* one row, shown as name and value pairs */
	char **cells; /* nrows * ncols; NULL is an absent value */
	size_t nrows;
};

/* The report's filters and the totals that percentages divide by. */
struct query {
	struct db *db;
	const struct report_options *opts;
	int64_t sensor_id; /* -1: every sensor */
	int64_t first_minute;
	int64_t end_minute; /* exclusive */
	const char *since;
	const char *until;
	int64_t emails;
};

/* Filters, bound by name to whichever statement uses them. */
#define MINUTE_FILTER                                                          \
	" minute >= :first AND minute < :end"                                  \
	" AND (:sensor IS NULL OR sensor_id = :sensor)"
#define DAY_FILTER                                                             \
	" day >= :since AND day <= :until"                                     \
	" AND (:sensor IS NULL OR sensor_id = :sensor)"

static const struct {
	const char *name;
	enum report_format format;
} format_names[] = {
    {"text", REPORT_TEXT},
    {"csv", REPORT_CSV},
    {"json", REPORT_JSON},
    {"md", REPORT_MD},
};

/*
 * Service names of the ports seen in open proxy abuse.  The ports of
 * trojan proxies are those the trojans listen on: MyDoom 3127, AnalogX
 * 6588, Proxy+ 4480.
 * NOTE: 3382 for Sobig.f follows common proxy-scanner port lists and
 * was not checked against a Sobig.f analysis.
 */
static const struct {
	int port;
	const char *label;
} port_labels[] = {
    {25, "SMTP"},
    {80, "HTTP"},
    {81, "HTTP"},
    {587, "SMTP"},
    {1080, "SOCKS"},
    {3127, "SOCKS (MyDoom backdoor)"},
    {3128, "HTTP (Squid)"},
    {3382, "HTTP (Sobig.f)"},
    {4480, "HTTP (Proxy+)"},
    {6588, "HTTP (AnalogX)"},
    {8000, "HTTP"},
    {8080, "HTTP"},
    {8081, "HTTP"},
    {8888, "HTTP"},
};

/* ISO 3166-1 alpha-2 codes and short English names, sorted by code. */
static const struct {
	char code[3];
	const char *name;
} countries[] = {
    {"AD", "Andorra"},
    {"AE", "United Arab Emirates"},
    {"AF", "Afghanistan"},
    {"AG", "Antigua and Barbuda"},
    {"AI", "Anguilla"},
    {"AL", "Albania"},
    {"AM", "Armenia"},
    {"AO", "Angola"},
    {"AQ", "Antarctica"},
    {"AR", "Argentina"},
    {"AS", "American Samoa"},
    {"AT", "Austria"},
    {"AU", "Australia"},
    {"AW", "Aruba"},
    {"AX", "Aland Islands"},
    {"AZ", "Azerbaijan"},
    {"BA", "Bosnia and Herzegovina"},
    {"BB", "Barbados"},
    {"BD", "Bangladesh"},
    {"BE", "Belgium"},
    {"BF", "Burkina Faso"},
    {"BG", "Bulgaria"},
    {"BH", "Bahrain"},
    {"BI", "Burundi"},
    {"BJ", "Benin"},
    {"BL", "Saint Barthelemy"},
    {"BM", "Bermuda"},
    {"BN", "Brunei Darussalam"},
    {"BO", "Bolivia"},
    {"BQ", "Bonaire, Sint Eustatius and Saba"},
    {"BR", "Brazil"},
    {"BS", "Bahamas"},
    {"BT", "Bhutan"},
    {"BV", "Bouvet Island"},
    {"BW", "Botswana"},
    {"BY", "Belarus"},
    {"BZ", "Belize"},
    {"CA", "Canada"},
    {"CC", "Cocos (Keeling) Islands"},
    {"CD", "Congo, Democratic Republic of the"},
    {"CF", "Central African Republic"},
    {"CG", "Congo"},
    {"CH", "Switzerland"},
    {"CI", "Cote d'Ivoire"},
    {"CK", "Cook Islands"},
    {"CL", "Chile"},
    {"CM", "Cameroon"},
    {"CN", "China"},
    {"CO", "Colombia"},
    {"CR", "Costa Rica"},
    {"CU", "Cuba"},
    {"CV", "Cabo Verde"},
    {"CW", "Curacao"},
    {"CX", "Christmas Island"},
    {"CY", "Cyprus"},
    {"CZ", "Czechia"},
    {"DE", "Germany"},
    {"DJ", "Djibouti"},
    {"DK", "Denmark"},
    {"DM", "Dominica"},
    {"DO", "Dominican Republic"},
    {"DZ", "Algeria"},
    {"EC", "Ecuador"},
    {"EE", "Estonia"},
    {"EG", "Egypt"},
    {"EH", "Western Sahara"},
    {"ER", "Eritrea"},
    {"ES", "Spain"},
    {"ET", "Ethiopia"},
    {"FI", "Finland"},
    {"FJ", "Fiji"},
    {"FK", "Falkland Islands"},
    {"FM", "Micronesia"},
    {"FO", "Faroe Islands"},
    {"FR", "France"},
    {"GA", "Gabon"},
    {"GB", "United Kingdom"},
    {"GD", "Grenada"},
    {"GE", "Georgia"},
    {"GF", "French Guiana"},
    {"GG", "Guernsey"},
    {"GH", "Ghana"},
    {"GI", "Gibraltar"},
    {"GL", "Greenland"},
    {"GM", "Gambia"},
    {"GN", "Guinea"},
    {"GP", "Guadeloupe"},
    {"GQ", "Equatorial Guinea"},
    {"GR", "Greece"},
    {"GS", "South Georgia and the South Sandwich Islands"},
    {"GT", "Guatemala"},
    {"GU", "Guam"},
    {"GW", "Guinea-Bissau"},
    {"GY", "Guyana"},
    {"HK", "Hong Kong"},
    {"HM", "Heard Island and McDonald Islands"},
    {"HN", "Honduras"},
    {"HR", "Croatia"},
    {"HT", "Haiti"},
    {"HU", "Hungary"},
    {"ID", "Indonesia"},
    {"IE", "Ireland"},
    {"IL", "Israel"},
    {"IM", "Isle of Man"},
    {"IN", "India"},
    {"IO", "British Indian Ocean Territory"},
    {"IQ", "Iraq"},
    {"IR", "Iran"},
    {"IS", "Iceland"},
    {"IT", "Italy"},
    {"JE", "Jersey"},
    {"JM", "Jamaica"},
    {"JO", "Jordan"},
    {"JP", "Japan"},
    {"KE", "Kenya"},
    {"KG", "Kyrgyzstan"},
    {"KH", "Cambodia"},
    {"KI", "Kiribati"},
    {"KM", "Comoros"},
    {"KN", "Saint Kitts and Nevis"},
    {"KP", "North Korea"},
    {"KR", "South Korea"},
    {"KW", "Kuwait"},
    {"KY", "Cayman Islands"},
    {"KZ", "Kazakhstan"},
    {"LA", "Laos"},
    {"LB", "Lebanon"},
    {"LC", "Saint Lucia"},
    {"LI", "Liechtenstein"},
    {"LK", "Sri Lanka"},
    {"LR", "Liberia"},
    {"LS", "Lesotho"},
    {"LT", "Lithuania"},
    {"LU", "Luxembourg"},
    {"LV", "Latvia"},
    {"LY", "Libya"},
    {"MA", "Morocco"},
    {"MC", "Monaco"},
    {"MD", "Moldova"},
    {"ME", "Montenegro"},
    {"MF", "Saint Martin (French part)"},
    {"MG", "Madagascar"},
    {"MH", "Marshall Islands"},
    {"MK", "North Macedonia"},
    {"ML", "Mali"},
    {"MM", "Myanmar"},
    {"MN", "Mongolia"},
    {"MO", "Macao"},
    {"MP", "Northern Mariana Islands"},
    {"MQ", "Martinique"},
    {"MR", "Mauritania"},
    {"MS", "Montserrat"},
    {"MT", "Malta"},
    {"MU", "Mauritius"},
    {"MV", "Maldives"},
    {"MW", "Malawi"},
    {"MX", "Mexico"},
    {"MY", "Malaysia"},
    {"MZ", "Mozambique"},
    {"NA", "Namibia"},
    {"NC", "New Caledonia"},
    {"NE", "Niger"},
    {"NF", "Norfolk Island"},
    {"NG", "Nigeria"},
    {"NI", "Nicaragua"},
    {"NL", "Netherlands"},
    {"NO", "Norway"},
    {"NP", "Nepal"},
    {"NR", "Nauru"},
    {"NU", "Niue"},
    {"NZ", "New Zealand"},
    {"OM", "Oman"},
    {"PA", "Panama"},
    {"PE", "Peru"},
    {"PF", "French Polynesia"},
    {"PG", "Papua New Guinea"},
    {"PH", "Philippines"},
    {"PK", "Pakistan"},
    {"PL", "Poland"},
    {"PM", "Saint Pierre and Miquelon"},
    {"PN", "Pitcairn"},
    {"PR", "Puerto Rico"},
    {"PS", "Palestine"},
    {"PT", "Portugal"},
    {"PW", "Palau"},
    {"PY", "Paraguay"},
    {"QA", "Qatar"},
    {"RE", "Reunion"},
    {"RO", "Romania"},
    {"RS", "Serbia"},
    {"RU", "Russia"},
    {"RW", "Rwanda"},
    {"SA", "Saudi Arabia"},
    {"SB", "Solomon Islands"},
    {"SC", "Seychelles"},
    {"SD", "Sudan"},
    {"SE", "Sweden"},
    {"SG", "Singapore"},
    {"SH", "Saint Helena, Ascension and Tristan da Cunha"},
    {"SI", "Slovenia"},
    {"SJ", "Svalbard and Jan Mayen"},
    {"SK", "Slovakia"},
    {"SL", "Sierra Leone"},
    {"SM", "San Marino"},
    {"SN", "Senegal"},
    {"SO", "Somalia"},
    {"SR", "Suriname"},
    {"SS", "South Sudan"},
    {"ST", "Sao Tome and Principe"},
    {"SV", "El Salvador"},
    {"SX", "Sint Maarten (Dutch part)"},
    {"SY", "Syria"},
    {"SZ", "Eswatini"},
    {"TC", "Turks and Caicos Islands"},
    {"TD", "Chad"},
    {"TF", "French Southern Territories"},
    {"TG", "Togo"},
    {"TH", "Thailand"},
    {"TJ", "Tajikistan"},
    {"TK", "Tokelau"},
    {"TL", "Timor-Leste"},
    {"TM", "Turkmenistan"},
    {"TN", "Tunisia"},
    {"TO", "Tonga"},
    {"TR", "Turkey"},
    {"TT", "Trinidad and Tobago"},
    {"TV", "Tuvalu"},
    {"TW", "Taiwan"},
    {"TZ", "Tanzania"},
    {"UA", "Ukraine"},
    {"UG", "Uganda"},
    {"UM", "United States Minor Outlying Islands"},
    {"US", "United States"},
    {"UY", "Uruguay"},
    {"UZ", "Uzbekistan"},
    {"VA", "Holy See"},
    {"VC", "Saint Vincent and the Grenadines"},
    {"VE", "Venezuela"},
    {"VG", "Virgin Islands (British)"},
    {"VI", "Virgin Islands (U.S.)"},
    {"VN", "Viet Nam"},
    {"VU", "Vanuatu"},
    {"WF", "Wallis and Futuna"},
    {"WS", "Samoa"},
    {"YE", "Yemen"},
    {"YT", "Mayotte"},
    {"ZA", "South Africa"},
    {"ZM", "Zambia"},
    {"ZW", "Zimbabwe"},
};

static const char *
country_name(const char *code)
{
	size_t lo = 0, hi = NELEM(countries), mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(countries[mid].code, code);
		if (c == 0)
			return countries[mid].name;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "unknown";
}

static const char *
port_label(int64_t port)
{
	size_t i;

	for (i = 0; i < NELEM(port_labels); i++)
		if (port_labels[i].port == port)
			return port_labels[i].label;
	return "unknown";
}

const char *
report_country_name(const char *code)
{
	return country_name(code);
}

const char *
report_port_label(int64_t port)
{
	return port_label(port);
}

/* Building tables. */

static void
table_add_row(struct table *t)
{
	t->cells =
	    xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof(*t->cells));
	t->nrows++;
}

static void
set_cell(struct table *t, size_t col, char *value)
{
	char **cell = &t->cells[(t->nrows - 1) * t->ncols + col];

	free(*cell);
	*cell = value;
}

static void
set_int(struct table *t, size_t col, int64_t v)
{
	char buf[32];

	set_cell(
	    t, col, xstrdup(bufprintf(buf, sizeof(buf), "%lld", (long long)v)));
}

static void
set_text(struct table *t, size_t col, const char *s)
{
	set_cell(t, col, s != NULL ? xstrdup(s) : NULL);
}

static void
set_percent(struct table *t, size_t col, int64_t part, int64_t whole)
{
	char buf[32];

	set_cell(t, col,
	    xstrdup(bufprintf(buf, sizeof(buf), "%.2f",
		whole > 0 ? 100.0 * part / whole : 0.0)));
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

static sqlite3_stmt *
prepare(struct query *q, const char *sql)
{
	sqlite3_stmt *st;
	int idx;

	if (sqlite3_prepare_v2(db_handle(q->db), sql, -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	if ((idx = sqlite3_bind_parameter_index(st, ":first")) > 0)
		sqlite3_bind_int64(st, idx, q->first_minute);
	if ((idx = sqlite3_bind_parameter_index(st, ":end")) > 0)
		sqlite3_bind_int64(st, idx, q->end_minute);
	if ((idx = sqlite3_bind_parameter_index(st, ":since")) > 0)
		db_bind_text(st, idx, q->since);
	if ((idx = sqlite3_bind_parameter_index(st, ":until")) > 0)
		db_bind_text(st, idx, q->until);
	if ((idx = sqlite3_bind_parameter_index(st, ":sensor")) > 0)
		db_bind_opt_int(st, idx, q->sensor_id);
	if ((idx = sqlite3_bind_parameter_index(st, ":top")) > 0)
		sqlite3_bind_int(st, idx, q->opts->top);
	return st;
}

/* Step through rows; returns 1 for a row, 0 at the end, -1 on error. */
static int
next_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return -1;
}

static void
format_day(int64_t minute, char day[11])
{
	time_t sec = (time_t)(minute * 60);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

static const struct column summary_cols[] = {
    {"first_day", "First day", COL_TEXT},
    {"last_day", "Last day", COL_TEXT},
    {"days", "Days", COL_INT},
    {"emails", "Emails", COL_INT},
    {"recipients", "Recipients", COL_INT},
    {"recipients_per_email", "Recipients per email", COL_REAL},
    {"unique_ips", "Unique IP addresses", COL_INT},
    {"unique_asns", "Unique ASNs", COL_INT},
    {"unique_countries", "Unique country codes", COL_INT},
    {"probe_messages", "Probe messages", COL_INT},
    {"judge_checks", "Judge checks", COL_INT},
};

static int
fill_summary(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	char first[11], last[11], buf[32];
	int64_t recipients;
	int rc;

	st = prepare(q,
	    "SELECT min(minute), max(minute), sum(messages),"
	    " sum(recipients) FROM rollup_minute"
	    " WHERE messages > 0 AND" MINUTE_FILTER);
	if (st == NULL || (rc = next_row(st)) < 0)
		goto fail;
	table_add_row(t);
	q->emails = sqlite3_column_int64(st, 2);
	recipients = sqlite3_column_int64(st, 3);
	if (q->emails > 0) {
		format_day(sqlite3_column_int64(st, 0), first);
		format_day(sqlite3_column_int64(st, 1), last);
		set_text(t, 0, first);
		set_text(t, 1, last);
		set_int(t, 2,
		    sqlite3_column_int64(st, 1) / MINUTES_PER_DAY -
			sqlite3_column_int64(st, 0) / MINUTES_PER_DAY + 1);
	} else {
		set_int(t, 2, 0);
	}
	set_int(t, 3, q->emails);
	set_int(t, 4, recipients);
	set_cell(t, 5,
	    xstrdup(bufprintf(buf, sizeof(buf), "%.2f",
		q->emails > 0 ? (double)recipients / q->emails : 0.0)));
	sqlite3_finalize(st);
	st = prepare(q,
	    "SELECT count(*), count(DISTINCT i.asn),"
	    " count(DISTINCT i.country) FROM"
	    " (SELECT DISTINCT source_ip FROM rollup_ip_day"
	    " WHERE messages > 0 AND" DAY_FILTER ") r"
	    " LEFT JOIN ip i ON i.ip = r.source_ip");
	if (st == NULL || next_row(st) <= 0)
		goto fail;
	set_int(t, 6, sqlite3_column_int64(st, 0));
	set_int(t, 7, sqlite3_column_int64(st, 1));
	set_int(t, 8, sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	st = prepare(q,
	    "SELECT coalesce(sum(probes), 0), coalesce(sum(judge_checks), 0)"
	    " FROM rollup_minute WHERE" MINUTE_FILTER);
	if (st == NULL || next_row(st) <= 0)
		goto fail;
	set_int(t, 9, sqlite3_column_int64(st, 0));
	set_int(t, 10, sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	return -1;
}

static const struct column asn_cols[] = {
    {"rank", "Rank", COL_INT},
    {"asn", "ASN", COL_INT},
    {"as_name", "AS name", COL_TEXT},
    {"emails", "Emails", COL_INT},
    {"percent", "%", COL_REAL},
};

static int
fill_asns(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(q,
	    "SELECT i.asn, max(i.as_name), sum(r.messages) AS n"
	    " FROM rollup_ip_day r JOIN ip i ON i.ip = r.source_ip"
	    " WHERE i.asn IS NOT NULL AND" DAY_FILTER
	    " GROUP BY i.asn HAVING n > 0 ORDER BY n DESC, i.asn"
	    " LIMIT :top");
	if (st == NULL)
		return -1;
	while ((rc = next_row(st)) > 0) {
		table_add_row(t);
		set_int(t, 0, (int64_t)t->nrows);
		set_int(t, 1, sqlite3_column_int64(st, 0));
		set_text(t, 2, (const char *)sqlite3_column_text(st, 1));
		set_int(t, 3, sqlite3_column_int64(st, 2));
		set_percent(t, 4, sqlite3_column_int64(st, 2), q->emails);
	}
	sqlite3_finalize(st);
	return rc;
}

static const struct column country_cols[] = {
    {"rank", "Rank", COL_INT},
    {"code", "Code", COL_TEXT},
    {"country", "Country", COL_TEXT},
    {"emails", "Emails", COL_INT},
    {"percent", "%", COL_REAL},
};

static int
fill_countries(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	const char *code;
	int rc;

	st = prepare(q,
	    "SELECT i.country, sum(r.messages) AS n"
	    " FROM rollup_ip_day r JOIN ip i ON i.ip = r.source_ip"
	    " WHERE i.country IS NOT NULL AND" DAY_FILTER
	    " GROUP BY i.country HAVING n > 0 ORDER BY n DESC, i.country"
	    " LIMIT :top");
	if (st == NULL)
		return -1;
	while ((rc = next_row(st)) > 0) {
		code = (const char *)sqlite3_column_text(st, 0);
		table_add_row(t);
		set_int(t, 0, (int64_t)t->nrows);
		set_text(t, 1, code);
		set_text(t, 2, country_name(code));
		set_int(t, 3, sqlite3_column_int64(st, 1));
		set_percent(t, 4, sqlite3_column_int64(st, 1), q->emails);
	}
	sqlite3_finalize(st);
	return rc;
}

static const struct column port_cols[] = {
    {"rank", "Rank", COL_INT},
    {"port", "Port", COL_INT},
    {"service", "Service", COL_TEXT},
    {"emails", "Emails", COL_INT},
    {"percent", "%", COL_REAL},
};

static int
fill_ports(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(q,
	    "SELECT service_port, sum(messages) AS n"
	    " FROM rollup_minute WHERE" MINUTE_FILTER
	    " GROUP BY service_port HAVING n > 0 OR sum(connections) > 0"
	    " ORDER BY n DESC, service_port");
	if (st == NULL)
		return -1;
	while ((rc = next_row(st)) > 0) {
		table_add_row(t);
		set_int(t, 0, (int64_t)t->nrows);
		set_int(t, 1, sqlite3_column_int64(st, 0));
		set_text(t, 2, port_label(sqlite3_column_int64(st, 0)));
		set_int(t, 3, sqlite3_column_int64(st, 1));
		set_percent(t, 4, sqlite3_column_int64(st, 1), q->emails);
	}
	sqlite3_finalize(st);
	return rc;
}

static const struct column os_cols[] = {
    {"rank", "Rank", COL_INT},
    {"class", "OS class", COL_TEXT},
    {"emails", "Emails", COL_INT},
    {"percent", "%", COL_REAL},
};

/*
 * Emails per class of the SYN of their session.  Rollup rows with
 * signature id 0 (no signature, or a PROXY relay) are Unknown.
 */
static int
fill_os(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(q,
	    "SELECT coalesce(s.os_class, 'Unknown') AS c,"
	    " sum(r.messages) AS n FROM rollup_os_day r"
	    " LEFT JOIN os_signature s ON s.id = r.os_signature_id"
	    " WHERE" DAY_FILTER " GROUP BY c HAVING n > 0"
	    " ORDER BY n DESC, c");
	if (st == NULL)
		return -1;
	while ((rc = next_row(st)) > 0) {
		table_add_row(t);
		set_int(t, 0, (int64_t)t->nrows);
		set_text(t, 1, (const char *)sqlite3_column_text(st, 0));
		set_int(t, 2, sqlite3_column_int64(st, 1));
		set_percent(t, 3, sqlite3_column_int64(st, 1), q->emails);
	}
	sqlite3_finalize(st);
	return rc;
}

static const struct column os_label_cols[] = {
    {"rank", "Rank", COL_INT},
    {"label", "OS (p0f label)", COL_TEXT},
    {"class", "OS class", COL_TEXT},
    {"emails", "Emails", COL_INT},
    {"percent", "%", COL_REAL},
};

static int
fill_os_labels(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(q,
	    "SELECT coalesce(s.os_label, 'unknown') AS l,"
	    " coalesce(s.os_class, 'Unknown') AS c, sum(r.messages) AS n"
	    " FROM rollup_os_day r"
	    " LEFT JOIN os_signature s ON s.id = r.os_signature_id"
	    " WHERE" DAY_FILTER " GROUP BY l, c HAVING n > 0"
	    " ORDER BY n DESC, l");
	if (st == NULL)
		return -1;
	while ((rc = next_row(st)) > 0) {
		table_add_row(t);
		set_int(t, 0, (int64_t)t->nrows);
		set_text(t, 1, (const char *)sqlite3_column_text(st, 0));
		set_text(t, 2, (const char *)sqlite3_column_text(st, 1));
		set_int(t, 3, sqlite3_column_int64(st, 2));
		set_percent(t, 4, sqlite3_column_int64(st, 2), q->emails);
	}
	sqlite3_finalize(st);
	return rc;
}

static const struct column day_cols[] = {
    {"day", "Day", COL_TEXT},
    {"emails", "Emails", COL_INT},
    {"recipients", "Recipients", COL_INT},
};

static int
fill_days(struct query *q, struct table *t)
{
	sqlite3_stmt *st;
	char day[11];
	int rc;

	st = prepare(q,
	    "SELECT minute / 1440 AS d, sum(messages) AS n,"
	    " sum(recipients) FROM rollup_minute"
	    " WHERE" MINUTE_FILTER " GROUP BY d HAVING n > 0 ORDER BY d");
	if (st == NULL)
		return -1;
	while ((rc = next_row(st)) > 0) {
		format_day(sqlite3_column_int64(st, 0) * MINUTES_PER_DAY, day);
		table_add_row(t);
		set_text(t, 0, day);
		set_int(t, 1, sqlite3_column_int64(st, 1));
		set_int(t, 2, sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	return rc;
}

#define COLS(a) a, NELEM(a)

/* The report, in order; the summary comes first because it sets totals. */
static const struct report_table {
	const char *key;
	const char *title;
	const struct column *cols;
	size_t ncols;
	bool single;
	int (*fill)(struct query *, struct table *);
	bool detail; /* only with --detail */
} report_tables[] = {
    {"summary", "Summary", COLS(summary_cols), true, fill_summary},
    {"top_asns", "Top ASNs", COLS(asn_cols), false, fill_asns},
    {"top_countries", "Top countries", COLS(country_cols), false,
	fill_countries},
    {"service_ports", "Service ports", COLS(port_cols), false, fill_ports},
    {"source_os", "Source operating systems", COLS(os_cols), false, fill_os},
    {"source_os_labels", "Source operating systems by p0f label",
	COLS(os_label_cols), false, fill_os_labels, true},
    {"spams_per_day", "Spams per day", COLS(day_cols), false, fill_days},
};

/* Renderers. */

static bool
is_number(const struct column *c)
{
	return c->type != COL_TEXT;
}

/* Write text with control bytes as '?', so a cell cannot break a line. */
static void
put_plain(FILE *out, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static size_t
cell_width(const char *s)
{
	return s != NULL ? strlen(s) : 1;
}

static void
put_padded(FILE *out, const char *s, size_t width, bool right)
{
	size_t pad = width - cell_width(s);

	if (right)
		fprintf(out, "%*s", (int)pad, "");
	put_plain(out, s != NULL ? s : "-");
	if (!right)
		fprintf(out, "%*s", (int)pad, "");
}

static void
render_text_single(FILE *out, const struct table *t)
{
	size_t i, width = 0;

	for (i = 0; i < t->ncols; i++)
		if (strlen(t->cols[i].header) > width)
			width = strlen(t->cols[i].header);
	for (i = 0; i < t->ncols; i++) {
		fprintf(out, "  %-*s  ", (int)width, t->cols[i].header);
		put_plain(out, t->cells[i] != NULL ? t->cells[i] : "-");
		fputc('\n', out);
	}
}

static void
render_text(FILE *out, const struct table *t)
{
	size_t widths[NELEM(summary_cols)], r, c;

	fprintf(out, "%s\n", t->title);
	if (t->single && t->nrows == 1) {
		render_text_single(out, t);
		return;
	}
	/* The summary is the widest table; a wider one is a bug. */
	if (t->ncols > NELEM(widths))
		abort();
	for (c = 0; c < t->ncols; c++) {
		widths[c] = strlen(t->cols[c].header);
		for (r = 0; r < t->nrows; r++)
			if (cell_width(t->cells[r * t->ncols + c]) > widths[c])
				widths[c] =
				    cell_width(t->cells[r * t->ncols + c]);
	}
	for (c = 0; c < t->ncols; c++) {
		fputs("  ", out);
		put_padded(
		    out, t->cols[c].header, widths[c], is_number(&t->cols[c]));
	}
	fputc('\n', out);
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			fputs("  ", out);
			put_padded(out, t->cells[r * t->ncols + c], widths[c],
			    is_number(&t->cols[c]));
		}
		fputc('\n', out);
	}
	if (t->nrows == 0)
		fputs("  (none)\n", out);
}

/* Quote a field holding a comma, quote or line break, as RFC 4180 does. */
static void
put_csv(FILE *out, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void
render_csv(FILE *out, const struct table *t)
{
	size_t r, c;

	fputs("table", out);
	for (c = 0; c < t->ncols; c++)
		fprintf(out, ",%s", t->cols[c].key);
	fputc('\n', out);
	for (r = 0; r < t->nrows; r++) {
		fputs(t->key, out);
		for (c = 0; c < t->ncols; c++) {
			fputc(',', out);
			put_csv(out, t->cells[r * t->ncols + c]);
		}
		fputc('\n', out);
	}
}

static void
put_md(FILE *out, const char *s)
{
	if (s == NULL) {
		fputc('-', out);
		return;
	}
	for (; *s != '\0'; s++) {
		if (strchr("|\\*_`[]<>", *s) != NULL)
			fputc('\\', out);
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
	}
}

static void
render_md(FILE *out, const struct table *t)
{
	size_t r, c;

	fprintf(out, "## %s\n\n", t->title);
	if (t->single && t->nrows == 1) {
		fputs("| Field | Value |\n| --- | ---: |\n", out);
		for (c = 0; c < t->ncols; c++) {
			fprintf(out, "| %s | ", t->cols[c].header);
			put_md(out, t->cells[c]);
			fputs(" |\n", out);
		}
		fputc('\n', out);
		return;
	}
	for (c = 0; c < t->ncols; c++)
		fprintf(out, "| %s ", t->cols[c].header);
	fputs("|\n", out);
	for (c = 0; c < t->ncols; c++)
		fputs(is_number(&t->cols[c]) ? "| ---: " : "| --- ", out);
	fputs("|\n", out);
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			fputs("| ", out);
			put_md(out, t->cells[r * t->ncols + c]);
			fputc(' ', out);
		}
		fputs("|\n", out);
	}
	fputc('\n', out);
}

static json_t *
json_cell(const struct column *c, const char *s)
{
	if (s == NULL)
		return json_null();
	switch (c->type) {
	case COL_INT:
		return json_integer(strtoll(s, NULL, 10));
	case COL_REAL:
		return json_real(strtod(s, NULL));
	case COL_TEXT:
		break;
	}
	/* Invalid UTF-8 from a data file would make jansson reject it. */
	return json_stringn_nocheck(s, strlen(s));
}

static json_t *
json_row(const struct table *t, size_t r)
{
	json_t *obj = json_object();
	size_t c;

	for (c = 0; c < t->ncols; c++)
		json_object_set_new(obj, t->cols[c].key,
		    json_cell(&t->cols[c], t->cells[r * t->ncols + c]));
	return obj;
}

static json_t *
json_table(const struct table *t)
{
	json_t *rows;
	size_t r;

	if (t->single && t->nrows == 1)
		return json_row(t, 0);
	rows = json_array();
	for (r = 0; r < t->nrows; r++)
		json_array_append_new(rows, json_row(t, r));
	return rows;
}

int
report_parse_format(const char *name, enum report_format *out)
{
	size_t i;

	for (i = 0; i < NELEM(format_names); i++) {
		if (strcmp(format_names[i].name, name) == 0) {
			*out = format_names[i].format;
			return 0;
		}
	}
	return -1;
}

static int
set_filters(struct query *q, char *err, size_t errlen)
{
	const struct report_options *o = q->opts;
	sqlite3_stmt *st;
	int64_t days;

	q->sensor_id = -1;
	q->since = o->since != NULL ? o->since : "0000-00-00";
	q->until = o->until != NULL ? o->until : "9999-99-99";
	q->first_minute = 0;
	q->end_minute = INT64_MAX;
	if (o->since != NULL) {
		if (parse_day(o->since, &days) < 0)
			goto bad_day;
		q->first_minute = days * MINUTES_PER_DAY;
	}
	if (o->until != NULL) {
		if (parse_day(o->until, &days) < 0)
			goto bad_day;
		q->end_minute = (days + 1) * MINUTES_PER_DAY;
	}
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
bad_day:
	bufprintf(err, errlen, "invalid day; expected YYYY-MM-DD");
	return -1;
}

int
report_write(struct db *db, const struct report_options *opts, FILE *out,
    char *err, size_t errlen)
{
	struct table tables[NELEM(report_tables)];
	struct query q = {.db = db, .opts = opts};
	json_t *root = NULL;
	size_t i;
	int rc = 0;

	if (set_filters(&q, err, errlen) < 0)
		return -1;
	memset(tables, 0, sizeof(tables));
	/* Read every table in one snapshot so the numbers agree. */
	if (db_exec(db, "BEGIN") < 0)
		goto db_fail;
	for (i = 0; i < NELEM(report_tables) && rc == 0; i++) {
		const struct report_table *rt = &report_tables[i];

		if (rt->detail && !opts->detail)
			continue;
		tables[i] = (struct table){.key = rt->key,
		    .title = rt->title,
		    .cols = rt->cols,
		    .ncols = rt->ncols,
		    .single = rt->single};
		rc = rt->fill(&q, &tables[i]);
	}
	db_rollback(db);
	if (rc < 0)
		goto db_fail;
	if (opts->format == REPORT_JSON)
		root = json_object();
	for (i = 0; i < NELEM(report_tables); i++) {
		if (report_tables[i].detail && !opts->detail)
			continue;
		switch (opts->format) {
		case REPORT_TEXT:
			if (i > 0)
				fputc('\n', out);
			render_text(out, &tables[i]);
			break;
		case REPORT_CSV:
			render_csv(out, &tables[i]);
			break;
		case REPORT_MD:
			render_md(out, &tables[i]);
			break;
		case REPORT_JSON:
			json_object_set_new(
			    root, tables[i].key, json_table(&tables[i]));
			break;
		}
	}
	if (root != NULL) {
		json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
		json_decref(root);
	}
	for (i = 0; i < NELEM(report_tables); i++)
		table_free(&tables[i]);
	return 0;
db_fail:
	bufprintf(err, errlen, "report query failed: %s", db_error(db));
	for (i = 0; i < NELEM(report_tables); i++)
		table_free(&tables[i]);
	return -1;
}

/* The report command. */

static const char report_usage[] =
    "usage: spampot report [--db FILE] [--format text|csv|json|md]"
    " [--top N]\n"
    "                      [--since DAY] [--until DAY] [--sensor NAME]\n"
    "                      [--detail] [--charts DIR] [--p0f FILE]\n";

static const char report_help[] =
    "\n"
    "Print the tables of a spam honeypot study from the database: the\n"
    "period and totals (days, emails, recipients, recipients per email,\n"
    "unique source addresses, ASNs and country codes, probe messages and\n"
    "judge checks), the top ASNs and countries by emails, the service\n"
    "ports the emails came in on, the source operating systems, and the\n"
    "emails per day.  Percentages are of all emails in the selection.\n"
    "Addresses whose AS or country is unknown are left out of the ranked\n"
    "tables but counted in the totals.  An email's operating system is\n"
    "the p0f class (Windows, Unix, Other) of its session's SYN; sessions\n"
    "relayed with a PROXY header, and SYNs that match nothing, are\n"
    "Unknown.  Every service port that took a connection is listed,\n"
    "whatever --top says.\n"
    "\n"
    "Emails are spam only.  A message that the sensor marked as a proxy\n"
    "checker's probe (its text names the sensor's own address and port,\n"
    "or it goes to a probe recipient) is left out of the emails, the\n"
    "recipients, the source addresses and every other table, in every\n"
    "format, and is counted apart as a probe message.  Judge checks are\n"
    "proxy requests for a URL that matches the sensor's judge patterns.\n"
    "Messages ingested by a build that did not record probes count as\n"
    "spam.\n"
    "\n"
    "Options:\n"
    "  --db FILE      database to read (default: $SPAMPOT_DB, or\n"
    "                 spampot.db in the current directory)\n"
    "  --format FMT   text (aligned columns, the default), csv (all tables\n"
    "                 in one file, the first column naming the table),\n"
    "                 json (one object with a key per table) or md\n"
    "                 (Markdown tables)\n"
    "  --top N        rows in each ranked table, 1 to 100000 (default: 10)\n"
    "  --since DAY    first UTC day to count, as YYYY-MM-DD (default: the\n"
    "                 first day in the database)\n"
    "  --until DAY    last UTC day to count, inclusive (default: the last)\n"
    "  --sensor NAME  count only the events of sensor NAME\n"
    "  --detail       add the operating systems by p0f label\n"
    "  --charts DIR   also write the charts as SVG files into DIR, which\n"
    "                 must exist: spams per day, emails per minute over\n"
    "                 the last day of data (or --since to --until),\n"
    "                 bandwidth per hour and sensor, connections per\n"
    "                 port, and the top ASNs and countries\n"
    "  --p0f FILE     p0f v3 database for signatures stored while none\n"
    "                 could be read (default: $SPAMPOT_P0F, or\n"
    "                 " P0F_DB_DEFAULT_PATH ")\n"
    "  -h, --help     show this help and exit\n"
    "\n"
    "Exit status: 0 on success; 1 when the database cannot be read or\n"
    "names no such sensor; 2 on invalid arguments.\n";

/*
 * Match the signatures that an ingest without a p0f database left
 * unmatched, so that the OS tables count them.  Returns 0, or 1 with
 * err set.
 */
static int
match_pending(struct db *db, const char *p0f_path, char *err, size_t errlen)
{
	struct os_matcher *m = os_matcher_new(db, p0f_path, stderr);
	uint64_t matched;
	int rc;

	rc = os_rematch(m, false, &matched, err, errlen) < 0 ? 1 : 0;
	os_matcher_free(m);
	return rc;
}

static bool
is_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"top", required_argument, NULL, 't'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"sensor", required_argument, NULL, 'n'},
	    {"detail", no_argument, NULL, 'D'},
	    {"charts", required_argument, NULL, 'c'},
	    {"p0f", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct report_options opts = {
	    .format = REPORT_TEXT, .top = REPORT_TOP_DEFAULT};
	const char *db_path = db_default_path();
	const char *p0f_path = NULL, *charts_dir = NULL;
	int64_t days;
	char err[512];
	struct db *db;
	long top;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 'f':
			if (report_parse_format(optarg, &opts.format) < 0)
				return usage_error("report", report_usage,
				    "invalid format '%s';"
				    " use text, csv, json or md",
				    optarg);
			break;
		case 't':
			if (parse_long(optarg, 1, REPORT_TOP_MAX, &top) < 0)
				return usage_error("report", report_usage,
				    "invalid --top '%s'; use 1 to 100000",
				    optarg);
			opts.top = (int)top;
			break;
		case 's':
		case 'u':
			if (parse_day(optarg, &days) < 0)
				return usage_error("report", report_usage,
				    "invalid day '%s';"
				    " use YYYY-MM-DD",
				    optarg);
			if (c == 's')
				opts.since = optarg;
			else
				opts.until = optarg;
			break;
		case 'n':
			opts.sensor = optarg;
			break;
		case 'D':
			opts.detail = true;
			break;
		case 'c':
			charts_dir = optarg;
			break;
		case 'p':
			p0f_path = optarg;
			break;
		case 'h':
			fputs(report_usage, stdout);
			fputs(report_help, stdout);
			return 0;
		default:
			fprintf(stderr,
			    "%s: report: invalid option or missing"
			    " argument: %s\n",
			    progname, argv[optind - 1]);
			fputs(report_usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("report", report_usage,
		    "unexpected argument '%s'", argv[optind]);
	/* Days are YYYY-MM-DD, so text order is date order. */
	if (opts.since != NULL && opts.until != NULL &&
	    strcmp(opts.since, opts.until) > 0)
		return usage_error("report", report_usage,
		    "--since %s is after --until %s", opts.since, opts.until);
	if (charts_dir != NULL && !is_directory(charts_dir)) {
		fprintf(stderr,
		    "%s: report: --charts %s is not a directory; create it "
		    "first\n",
		    progname, charts_dir);
		return 1;
	}
	if ((db = db_open(db_path, false, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	rc = match_pending(db, p0f_path, err, sizeof(err));
	if (rc == 0)
		rc = report_write(db, &opts, stdout, err, sizeof(err)) < 0;
	if (rc == 0 && charts_dir != NULL)
		rc = charts_write(db, &opts, charts_dir, err, sizeof(err)) < 0;
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", progname, err);
	db_close(db);
	return rc;
}
