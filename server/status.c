/*
 * spampot status: one row per configured sensor, from its last
 * heartbeat (in the mirror, or in the local spool) and the database.
 *
 * The heartbeat comes from the sensor and is read with a size bound.
 * Only numbers and booleans are taken from it, so no text the sensor
 * wrote is printed.  Each check is a table row that turns the facts
 * into ok, warn or down with a reason; the worst one is the verdict.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "collector.h"
#include "commands.h"
#include "db.h"
#include "spampot_limits.h"
#include "util.h"

enum level { LEVEL_OK, LEVEL_WARN, LEVEL_DOWN };

static const char *const level_names[] = {
    [LEVEL_OK] = "ok",
    [LEVEL_WARN] = "warn",
    [LEVEL_DOWN] = "down",
};

/* Facts about one sensor; -1 or NAN where unknown. */
struct sensor_status {
	const struct sensor_conf *sensor;
	bool have_heartbeat;
	int64_t heartbeat_age_s;
	int64_t pid;
	int listeners;
	int accepting;
	bool clock_synchronized;
	int64_t esterror_us;
	int64_t disk_free_bytes;
	bool capture_paused;
	double load_1m;
	int64_t last_ok_age_s;
	int64_t last_ok_duration_ms;
	char last_outcome[32];
	int64_t messages_15m;
	int64_t messages_today;
	enum level verdict;
	char reason[512];
};

/* Parse RFC 3339 UTC, as the sensor writes it, into epoch seconds. */
static int
parse_utc(const char *s, int64_t *secs)
{
	struct tm tm;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if (strcmp(p, "Z") != 0)
		return -1;
	*secs = (int64_t)timegm(&tm);
	return 0;
}

static int64_t
json_int(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static void
read_heartbeat(
    const struct collector_conf *conf, struct sensor_status *st, int64_t now)
{
	char spool[PATH_MAX], path[PATH_MAX + 16];
	json_t *root, *list, *l, *load;
	int64_t when;
	size_t len, i;
	char *text;

	sensor_spool_dir(conf, st->sensor, spool, sizeof(spool));
	bufprintf(path, sizeof(path), "%s/heartbeat.json", spool);
	if ((text = read_file(path, HEARTBEAT_FILE_MAX, &len)) == NULL)
		return;
	root = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(root) ||
	    parse_utc(json_string_value(json_object_get(root, "@timestamp")),
		&when) < 0) {
		json_decref(root);
		return;
	}
	st->have_heartbeat = true;
	st->heartbeat_age_s = now - when;
	st->pid = json_int(root, "process.pid");
	list = json_object_get(root, "listeners");
	json_array_foreach(list, i, l)
	{
		st->listeners++;
		st->accepting += json_is_true(json_object_get(l, "accepting"));
	}
	st->clock_synchronized =
	    json_is_true(json_object_get(root, "clock.synchronized"));
	st->esterror_us = json_int(root, "clock.esterror_us");
	st->disk_free_bytes = json_int(root, "disk.free_bytes");
	st->capture_paused =
	    json_is_true(json_object_get(root, "capture.paused"));
	load = json_object_get(root, "load.1m");
	if (json_is_number(load))
		st->load_1m = json_number_value(load);
	json_decref(root);
}

static int64_t
query_int(struct db *db, const char *sql, const char *name, int64_t arg)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	db_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, arg);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
read_database(struct db *db, struct sensor_status *st, int64_t now)
{
	static const char messages_since[] =
	    "SELECT coalesce(sum(messages), 0) FROM rollup_minute"
	    " WHERE sensor_id = (SELECT id FROM sensor WHERE name = ?1)"
	    " AND minute >= ?2";
	const char *name = st->sensor->name;
	int64_t minute = now / 60;
	sqlite3_stmt *q;

	/* The current minute and the 14 before it. */
	st->messages_15m = query_int(db, messages_since, name, minute - 14);
	st->messages_today =
	    query_int(db, messages_since, name, minute - minute % 1440);
	if (sqlite3_prepare_v2(db_handle(db),
		"SELECT start_time, duration_ms FROM collect_attempt"
		" WHERE sensor = ?1 AND outcome = 'ok'"
		" ORDER BY start_time DESC LIMIT 1",
		-1, &q, NULL) == SQLITE_OK) {
		int64_t when;

		db_bind_text(q, 1, name);
		if (sqlite3_step(q) == SQLITE_ROW &&
		    parse_utc((const char *)sqlite3_column_text(q, 0), &when) ==
			0) {
			st->last_ok_age_s = now - when;
			st->last_ok_duration_ms = sqlite3_column_int64(q, 1);
		}
		sqlite3_finalize(q);
	}
	if (sqlite3_prepare_v2(db_handle(db),
		"SELECT outcome FROM collect_attempt WHERE sensor = ?1"
		" ORDER BY id DESC LIMIT 1",
		-1, &q, NULL) == SQLITE_OK) {
		db_bind_text(q, 1, name);
		if (sqlite3_step(q) == SQLITE_ROW &&
		    sqlite3_column_text(q, 0) != NULL)
			bufprintf(st->last_outcome, sizeof(st->last_outcome),
			    "%s", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
}

/*
 * The checks.  Each returns a level and, unless ok, writes its reason.
 * Without a fresh heartbeat only the heartbeat check speaks, because
 * the rest of an old heartbeat does not describe the sensor now.
 */
typedef enum level (*check_fn)(const struct collector_conf *conf,
    const struct sensor_status *st, char *why, size_t size);

static bool
fresh(const struct collector_conf *conf, const struct sensor_status *st)
{
	return st->have_heartbeat &&
	    st->heartbeat_age_s <= conf->heartbeat_stale_s;
}

static enum level
check_heartbeat(const struct collector_conf *conf,
    const struct sensor_status *st, char *why, size_t size)
{
	if (!st->have_heartbeat) {
		bufprintf(why, size, "no readable heartbeat.json");
		return LEVEL_DOWN;
	}
	if (!fresh(conf, st)) {
		bufprintf(why, size, "heartbeat %llds old (stale after %ds)",
		    (long long)st->heartbeat_age_s, conf->heartbeat_stale_s);
		return LEVEL_DOWN;
	}
	return LEVEL_OK;
}

static enum level
check_daemon(const struct collector_conf *conf, const struct sensor_status *st,
    char *why, size_t size)
{
	if (!fresh(conf, st))
		return LEVEL_OK;
	if (st->accepting == 0) {
		bufprintf(why, size, "no listener accepting");
		return LEVEL_DOWN;
	}
	if (st->accepting < st->listeners) {
		bufprintf(why, size, "%d of %d listeners accepting",
		    st->accepting, st->listeners);
		return LEVEL_WARN;
	}
	return LEVEL_OK;
}

static enum level
check_clock(const struct collector_conf *conf, const struct sensor_status *st,
    char *why, size_t size)
{
	if (!fresh(conf, st))
		return LEVEL_OK;
	if (!st->clock_synchronized) {
		bufprintf(why, size, "clock not synchronised");
		return LEVEL_WARN;
	}
	if (st->esterror_us > (int64_t)conf->esterror_max_ms * 1000) {
		bufprintf(why, size, "clock error %lld us over %d ms",
		    (long long)st->esterror_us, conf->esterror_max_ms);
		return LEVEL_WARN;
	}
	return LEVEL_OK;
}

static enum level
check_disk(const struct collector_conf *conf, const struct sensor_status *st,
    char *why, size_t size)
{
	int64_t min = (int64_t)conf->disk_free_min_mb * 1024 * 1024;

	if (!fresh(conf, st))
		return LEVEL_OK;
	if (st->capture_paused) {
		bufprintf(why, size, "capture paused: spool disk full");
		return LEVEL_WARN;
	}
	if (st->disk_free_bytes >= 0 && st->disk_free_bytes < min) {
		bufprintf(why, size, "%lld MiB free, under %d MiB",
		    (long long)(st->disk_free_bytes / (1024 * 1024)),
		    conf->disk_free_min_mb);
		return LEVEL_WARN;
	}
	return LEVEL_OK;
}

static enum level
check_load(const struct collector_conf *conf, const struct sensor_status *st,
    char *why, size_t size)
{
	if (!fresh(conf, st) || isnan(st->load_1m) ||
	    st->load_1m <= conf->load_max)
		return LEVEL_OK;
	bufprintf(
	    why, size, "load %.2f over %.2f", st->load_1m, conf->load_max);
	return LEVEL_WARN;
}

static enum level
check_collect(const struct collector_conf *conf, const struct sensor_status *st,
    char *why, size_t size)
{
	if (st->last_ok_age_s < 0) {
		bufprintf(why, size, "never collected");
		return LEVEL_WARN;
	}
	if (st->last_ok_age_s > conf->collect_stale_s) {
		bufprintf(why, size, "last good collect %llds ago%s%s",
		    (long long)st->last_ok_age_s,
		    st->last_outcome[0] ? ", last attempt " : "",
		    st->last_outcome);
		return LEVEL_WARN;
	}
	return LEVEL_OK;
}

static const check_fn checks[] = {
    check_heartbeat,
    check_daemon,
    check_clock,
    check_disk,
    check_load,
    check_collect,
};

static void
judge(const struct collector_conf *conf, struct sensor_status *st)
{
	char why[160];
	size_t i, n;

	st->verdict = LEVEL_OK;
	st->reason[0] = '\0';
	for (i = 0; i < NELEM(checks); i++) {
		enum level lv;

		why[0] = '\0';
		lv = checks[i](conf, st, why, sizeof(why));
		if (lv == LEVEL_OK)
			continue;
		if (lv > st->verdict)
			st->verdict = lv;
		n = strlen(st->reason);
		bufprintf(st->reason + n, sizeof(st->reason) - n, "%s%s",
		    n > 0 ? "; " : "", why);
	}
}

static json_t *
opt_int(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *
status_json(const struct collector_conf *conf, const struct sensor_status *st)
{
	bool up = fresh(conf, st) && st->accepting > 0;

	return json_pack("{s:s, s:s, s:s, s:o, s:{s:b, s:o, s:i, s:i},"
			 " s:{s:b, s:o}, s:{s:o, s:b}, s:o,"
			 " s:{s:o, s:o, s:o}, s:{s:o, s:o}}",
	    "sensor", st->sensor->name, "verdict", level_names[st->verdict],
	    "reason", st->reason, "heartbeat_age_s",
	    st->have_heartbeat ? json_integer(st->heartbeat_age_s)
			       : json_null(),
	    "daemon", "up", up, "pid",
	    opt_int(st->have_heartbeat ? st->pid : -1), "listeners",
	    st->listeners, "accepting", st->accepting, "ntp", "synchronized",
	    st->clock_synchronized, "esterror_us",
	    opt_int(st->have_heartbeat ? st->esterror_us : -1), "disk",
	    "free_bytes",
	    opt_int(st->have_heartbeat ? st->disk_free_bytes : -1),
	    "capture_paused", st->capture_paused, "load_1m",
	    isnan(st->load_1m) ? json_null() : json_real(st->load_1m),
	    "collect", "last_ok_age_s", opt_int(st->last_ok_age_s),
	    "last_ok_duration_ms", opt_int(st->last_ok_duration_ms),
	    "last_outcome",
	    st->last_outcome[0] ? json_string(st->last_outcome) : json_null(),
	    "messages", "last_15m", opt_int(st->messages_15m), "today",
	    opt_int(st->messages_today));
}

static void
format_opt(char *buf, size_t size, int64_t v, const char *unit)
{
	if (v < 0)
		bufprintf(buf, size, "-");
	else
		bufprintf(buf, size, "%lld%s", (long long)v, unit);
}

/* The columns of the text table.  REASON comes last and is not padded. */
enum status_column {
	COL_SENSOR,
	COL_VERDICT,
	COL_HEARTBEAT,
	COL_DAEMON,
	COL_NTP,
	COL_DISK,
	COL_LOAD,
	COL_COLLECT,
	COL_15MIN,
	COL_TODAY,
	COL_REASON,
	COL_COUNT
};

static const struct {
	const char *title;
	bool right; /* counts line up on their last digit */
} status_columns[COL_COUNT] = {
    [COL_SENSOR] = {"SENSOR", false},
    [COL_VERDICT] = {"VERDICT", false},
    [COL_HEARTBEAT] = {"HEARTBEAT", false},
    [COL_DAEMON] = {"DAEMON", false},
    [COL_NTP] = {"NTP", false},
    [COL_DISK] = {"DISK", false},
    [COL_LOAD] = {"LOAD", false},
    [COL_COLLECT] = {"COLLECT", false},
    [COL_15MIN] = {"15MIN", true},
    [COL_TODAY] = {"TODAY", true},
    [COL_REASON] = {"REASON", false},
};

/*
 * One sensor's row of the text table, formatted before any is printed.
 * A sensor name is the widest cell: two 64-bit numbers take 41 bytes.
 */
struct text_row {
	char cell[COL_COUNT - 1][SENSOR_NAME_MAX + 1];
	char reason[sizeof(((struct sensor_status *)0)->reason)];
};

static void
format_text_row(const struct collector_conf *conf,
    const struct sensor_status *st, struct text_row *row)
{
	char(*cell)[sizeof(row->cell[0])] = row->cell;

	bufprintf(cell[COL_SENSOR], sizeof(cell[0]), "%s", st->sensor->name);
	bufprintf(
	    cell[COL_VERDICT], sizeof(cell[0]), "%s", level_names[st->verdict]);
	format_opt(cell[COL_HEARTBEAT], sizeof(cell[0]),
	    st->have_heartbeat ? st->heartbeat_age_s : -1, "s");
	if (fresh(conf, st) && st->accepting > 0)
		bufprintf(cell[COL_DAEMON], sizeof(cell[0]), "up/%lld",
		    (long long)st->pid);
	else
		bufprintf(cell[COL_DAEMON], sizeof(cell[0]), "down");
	if (!st->have_heartbeat)
		bufprintf(cell[COL_NTP], sizeof(cell[0]), "-");
	else
		bufprintf(cell[COL_NTP], sizeof(cell[0]), "%s/%lldus",
		    st->clock_synchronized ? "sync" : "unsync",
		    (long long)st->esterror_us);
	if (!st->have_heartbeat || st->disk_free_bytes < 0)
		bufprintf(cell[COL_DISK], sizeof(cell[0]), "-");
	else
		bufprintf(cell[COL_DISK], sizeof(cell[0]), "%lldM%s",
		    (long long)(st->disk_free_bytes / (1024 * 1024)),
		    st->capture_paused ? "/paused" : "");
	if (!st->have_heartbeat || isnan(st->load_1m))
		bufprintf(cell[COL_LOAD], sizeof(cell[0]), "-");
	else
		bufprintf(cell[COL_LOAD], sizeof(cell[0]), "%.2f", st->load_1m);
	if (st->last_ok_age_s < 0)
		bufprintf(cell[COL_COLLECT], sizeof(cell[0]), "never");
	else
		bufprintf(cell[COL_COLLECT], sizeof(cell[0]), "%llds/%.1fs",
		    (long long)st->last_ok_age_s,
		    (double)st->last_ok_duration_ms / 1000);
	format_opt(cell[COL_15MIN], sizeof(cell[0]), st->messages_15m, "");
	format_opt(cell[COL_TODAY], sizeof(cell[0]), st->messages_today, "");
	bufprintf(row->reason, sizeof(row->reason), "%s",
	    st->reason[0] ? st->reason : "-");
}

/* Print one line: cells padded to width, then the reason. */
static void
print_text_line(const char *const cells[COL_COUNT], const int width[COL_COUNT])
{
	int c;

	for (c = 0; c < COL_REASON; c++)
		printf(status_columns[c].right ? "%*s " : "%-*s ", width[c],
		    cells[c]);
	printf(" %s\n", cells[COL_REASON]);
}

/* Print the table with each column as wide as its widest cell. */
static void
print_text_table(const struct text_row *rows, size_t n)
{
	const char *cells[COL_COUNT];
	int width[COL_COUNT], c;
	size_t i;

	for (c = 0; c < COL_COUNT; c++) {
		cells[c] = status_columns[c].title;
		width[c] = (int)strlen(cells[c]);
	}
	for (i = 0; i < n; i++)
		for (c = 0; c < COL_REASON; c++)
			if ((int)strlen(rows[i].cell[c]) > width[c])
				width[c] = (int)strlen(rows[i].cell[c]);
	print_text_line(cells, width);
	for (i = 0; i < n; i++) {
		for (c = 0; c < COL_REASON; c++)
			cells[c] = rows[i].cell[c];
		cells[COL_REASON] = rows[i].reason;
		print_text_line(cells, width);
	}
}

static const char status_usage[] =
    "usage: spampot status [--config FILE] [--format text|json]\n";

static const char status_help[] =
    "\n"
    "Print one row per configured sensor: the age of its last heartbeat\n"
    "(from the mirror, so as of the last collect, or from the local\n"
    "spool), whether the daemon is up (fresh heartbeat and a listener\n"
    "accepting) and its pid, the clock (synchronised, estimated error),\n"
    "free spool space and whether capture is paused, the 1-minute load,\n"
    "the age and duration of the last successful collect, messages in\n"
    "the last 15 minutes and today (UTC) from the database, and a\n"
    "verdict: ok, warn or down, with the reasons.\n"
    "\n"
    "down: no heartbeat, a heartbeat older than heartbeat-stale, or no\n"
    "listener accepting.  warn: clock unsynchronised or its error over\n"
    "max-esterror-ms, capture paused or free space under\n"
    "min-free-disk-mb, load over max-load, or no successful collect\n"
    "within collect-stale.\n"
    "\n"
    "Options:\n"
    "  --config FILE         collector configuration "
    "(default: " COLLECTOR_DEFAULT_CONFIG ")\n"
    "  --format text|json    output format (default: text); json is one\n"
    "                        array with an object per sensor\n"
    "  -h, --help            show this help and exit\n"
    "\n";

static const char status_exit_help[] =
    "\n"
    "Exit status: 0 when no sensor is down; 1 when any sensor is down or\n"
    "the configuration cannot be read; 2 on invalid arguments.\n";

static void
init_status(struct sensor_status *st, const struct sensor_conf *s)
{
	memset(st, 0, sizeof(*st));
	st->sensor = s;
	st->heartbeat_age_s = st->pid = st->esterror_us = -1;
	st->disk_free_bytes = st->last_ok_age_s = -1;
	st->last_ok_duration_ms = st->messages_15m = st->messages_today = -1;
	st->load_1m = NAN;
}

json_t *
status_all_json(const struct collector_conf *conf, struct db *db, int64_t now,
    bool *any_down)
{
	json_t *rows = json_array();
	struct sensor_status st;
	size_t i;

	*any_down = false;
	for (i = 0; i < conf->nsensors; i++) {
		init_status(&st, &conf->sensors[i]);
		read_heartbeat(conf, &st, now);
		if (db != NULL)
			read_database(db, &st, now);
		judge(conf, &st);
		if (st.verdict == LEVEL_DOWN)
			*any_down = true;
		json_array_append_new(rows, status_json(conf, &st));
	}
	return rows;
}

static int
show_status(const struct collector_conf *conf, bool json)
{
	const char *db_path =
	    conf->database ? conf->database : db_default_path();
	int64_t now = (int64_t)time(NULL);
	struct text_row *text_rows = NULL;
	struct sensor_status st;
	json_t *rows = json_array();
	struct db *db;
	char err[512];
	int rc = 0;
	size_t i;

	/* Without a database the heartbeats still tell whether sensors run. */
	if ((db = db_open(db_path, false, err, sizeof(err))) == NULL)
		fprintf(stderr, "%s: %s\n", progname, err);
	if (!json)
		text_rows = xcalloc(conf->nsensors, sizeof(*text_rows));
	for (i = 0; i < conf->nsensors; i++) {
		init_status(&st, &conf->sensors[i]);
		read_heartbeat(conf, &st, now);
		if (db != NULL)
			read_database(db, &st, now);
		judge(conf, &st);
		if (st.verdict == LEVEL_DOWN)
			rc = 1;
		if (json)
			json_array_append_new(rows, status_json(conf, &st));
		else
			format_text_row(conf, &st, &text_rows[i]);
	}
	if (json) {
		json_dumpf(rows, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		print_text_table(text_rows, conf->nsensors);
	free(text_rows);
	json_decref(rows);
	db_close(db);
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = COLLECTOR_DEFAULT_CONFIG;
	struct collector_conf conf;
	bool json = false;
	char err[512];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "text") != 0) {
				fprintf(stderr,
				    "%s: status: --format must be text or"
				    " json, not '%s'\n",
				    progname, optarg);
				return 2;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			fputs(status_usage, stdout);
			fputs(status_help, stdout);
			fputs(collector_conf_help, stdout);
			fputs(status_exit_help, stdout);
			return 0;
		default:
			fprintf(stderr,
			    "%s: status: invalid option or missing"
			    " argument: %s\n",
			    progname, argv[optind - 1]);
			fputs(status_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: status: unexpected argument: %s\n",
		    progname, argv[optind]);
		fputs(status_usage, stderr);
		return 2;
	}
	if (collector_conf_load(config, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	rc = show_status(&conf, json);
	collector_conf_free(&conf);
	return rc;
}
