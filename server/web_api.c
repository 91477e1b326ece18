/*
 * The dashboard's data: each function reads the database into a JSON
 * object that /api returns as it is and that the pages render.  Counts
 * come from the rollup tables, as in the report.  The report's own
 * tables are produced by report_write(), so that the dashboard and
 * `spampot report --format json` cannot disagree.
 */
#include "web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bodypack.h"
#include "charts.h"
#include "mimeview.h"
#include "report.h"
#include "collector.h"
#include "spampot_limits.h"
#include "util.h"

#define SECONDS_PER_DAY 86400

static struct web_result
result_ok(json_t *json)
{
	return (struct web_result){json, 200, NULL};
}

static struct web_result
result_error(int status, const char *error)
{
	return (struct web_result){NULL, status, error};
}

static struct web_result
result_db_error(json_t *partial)
{
	json_decref(partial);
	return result_error(500, "database query failed");
}

static sqlite3_stmt *
prepare(struct db *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

/* A text column as a JSON string, valid UTF-8 whatever it holds. */
static json_t *
column_text(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	struct sbuf b;
	json_t *j;

	if (s == NULL)
		return json_null();
	sbuf_init(&b);
	utf8_sanitize(&b, s, (size_t)sqlite3_column_bytes(st, col), false);
	j = json_stringn(b.data != NULL ? b.data : "", b.len);
	sbuf_free(&b);
	return j;
}

static json_t *
column_int(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(st, col));
}

static void
format_time(int64_t secs, char buf[32])
{
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parse the sensor's RFC 3339 UTC timestamps into epoch seconds. */
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

/*
 * The spool a sensor's events were read from: ingest records each
 * events file by its real path, SPOOL/events/NAME.jsonl.  Returns 0,
 * or -1 when nothing of that sensor was ingested from a file.
 */
static int
sensor_spool(struct db *db, int64_t sensor_id, char *buf, size_t size)
{
	sqlite3_stmt *st;
	const char *path;
	char *slash;
	int rc = -1;

	st = prepare(db,
	    "SELECT path FROM ingested_file WHERE sensor_id = ?1"
	    " AND path LIKE '%.jsonl' ORDER BY path DESC LIMIT 1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sensor_id);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (path = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    strlen(path) < size) {
		strlcpy_(buf, path, size);
		/* Cut "/events/NAME.jsonl". */
		if ((slash = strrchr(buf, '/')) != NULL) {
			*slash = '\0';
			if ((slash = strrchr(buf, '/')) != NULL &&
			    strcmp(slash, "/events") == 0) {
				*slash = '\0';
				rc = 0;
			}
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Fields of the sensor's heartbeat.json that the overview shows. */
static void
add_heartbeat(struct db *db, int64_t sensor_id, int64_t now, json_t *s)
{
	char spool[PATH_MAX], path[PATH_MAX + 16];
	json_t *root, *v;
	int64_t when;
	size_t len;
	char *text;

	if (sensor_spool(db, sensor_id, spool, sizeof(spool)) < 0)
		return;
	bufprintf(path, sizeof(path), "%s/heartbeat.json", spool);
	if ((text = read_file(path, WEB_HEARTBEAT_MAX, &len)) == NULL)
		return;
	root = json_loadb(text, len, 0, NULL);
	free(text);
	v = json_object_get(root, "@timestamp");
	if (json_is_string(v) && parse_utc(json_string_value(v), &when) == 0) {
		json_object_set(s, "last_heartbeat", v);
		json_object_set_new(
		    s, "heartbeat_age_s", json_integer(now - when));
	}
	if ((v = json_object_get(root, "capture.paused")) != NULL &&
	    json_is_boolean(v))
		json_object_set(s, "capture_paused", v);
	json_decref(root);
}

static int64_t
query_count(struct db *db, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st = prepare(db, sql);
	int64_t n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int64(st, 2, b);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_type(st, 0) == SQLITE_NULL
		    ? -1
		    : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * One sensor's row of the overview: the last event and heartbeat, and
 * the counts; web_overview() adds the status verdict when the
 * collector's configuration names the sensor.
 */
static json_t *
sensor_row(struct db *db, sqlite3_stmt *st, int64_t now)
{
	int64_t id = sqlite3_column_int64(st, 0), last, now_min = now / 60;
	json_t *s = json_object();
	char when[32];

	json_object_set_new(s, "name", column_text(st, 1));
	json_object_set_new(s, "version", column_text(st, 2));
	json_object_set_new(s, "started", column_text(st, 3));
	last = query_count(db,
	    "SELECT max(minute) FROM rollup_minute WHERE sensor_id = ?1", id,
	    0);
	if (last >= 0) {
		format_time(last * 60, when);
		json_object_set_new(s, "last_event_minute", json_string(when));
	} else {
		json_object_set_new(s, "last_event_minute", json_null());
	}
	json_object_set_new(s, "last_heartbeat", json_null());
	json_object_set_new(s, "heartbeat_age_s", json_null());
	add_heartbeat(db, id, now, s);
	json_object_set_new(s, "emails_recent",
	    json_integer(query_count(db,
		"SELECT coalesce(sum(messages), 0) FROM rollup_minute"
		" WHERE sensor_id = ?1 AND minute > ?2",
		id, now_min - WEB_RECENT_MINUTES)));
	json_object_set_new(s, "emails_today",
	    json_integer(query_count(db,
		"SELECT coalesce(sum(messages), 0) FROM rollup_minute"
		" WHERE sensor_id = ?1 AND minute >= ?2",
		id, now / SECONDS_PER_DAY * SECONDS_PER_DAY / 60)));
	return s;
}

/*
 * The report's tables as JSON, from report_write() itself.  Returns
 * NULL with *status and *why set on failure.
 */
static json_t *
report_json(struct db *db, const struct report_options *opts, int *status,
    const char **why)
{
	char err[256], *text = NULL;
	size_t len = 0;
	json_t *root;
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&text, &len)) == NULL) {
		*status = 500;
		*why = "out of memory";
		return NULL;
	}
	rc = report_write(db, opts, fp, err, sizeof(err));
	fclose(fp);
	root = rc == 0 ? json_loadb(text, len, 0, NULL) : NULL;
	free(text);
	if (root == NULL) {
		/* An unknown sensor is the only failure a request can cause. */
		*status = strncmp(err, "no sensor", 9) == 0 ? 404 : 500;
		*why = *status == 404 ? "no such sensor" : "report failed";
	}
	return root;
}

/* Copy each sensor's verdict and reason from the status rows. */
static void
add_verdicts(json_t *sensors, const struct collector_conf *conf,
    struct db *db, int64_t now)
{
	json_t *statuses, *st, *row;
	bool any_down;
	size_t i, j;

	if (conf == NULL)
		return;
	statuses = status_all_json(conf, db, now, &any_down);
	json_array_foreach(statuses, i, st) {
		const char *name =
		    json_string_value(json_object_get(st, "sensor"));
		json_t *found = NULL;

		json_array_foreach(sensors, j, row) {
			const char *n =
			    json_string_value(json_object_get(row, "name"));

			if (n != NULL && name != NULL && strcmp(n, name) == 0)
				found = row;
		}
		if (found == NULL) {
			/* Configured, but nothing of it ingested yet. */
			found = json_object();
			json_object_set_new(found, "name", json_string(name));
			json_array_append_new(sensors, found);
		}
		json_object_set(found, "verdict", json_object_get(st, "verdict"));
		json_object_set(found, "reason", json_object_get(st, "reason"));
	}
	json_decref(statuses);
}

struct web_result
web_overview(struct db *db, const struct collector_conf *conf, int64_t now)
{
	struct report_options opts = {.format = REPORT_JSON, .top = 1};
	json_t *root = json_object(), *sensors = json_array(), *report;
	const char *why = NULL;
	sqlite3_stmt *st;
	char when[32];
	int status = 0;

	format_time(now, when);
	json_object_set_new(root, "generated", json_string(when));
	json_object_set_new(root, "sensors", sensors);
	st = prepare(
	    db, "SELECT id, name, version, started FROM sensor ORDER BY name");
	if (st == NULL)
		return result_db_error(root);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(sensors, sensor_row(db, st, now));
	sqlite3_finalize(st);
	add_verdicts(sensors, conf, db, now);
	if ((report = report_json(db, &opts, &status, &why)) == NULL) {
		json_decref(root);
		return result_error(status, why);
	}
	json_object_set(root, "summary", json_object_get(report, "summary"));
	json_decref(report);
	return result_ok(root);
}

/* Bind the filters a statement names; an unset filter is NULL. */
static void
bind_filters(sqlite3_stmt *st, const struct web_filter *f)
{
	static const struct {
		const char *name;
		size_t offset;
	} texts[] = {
	    {":sensor", offsetof(struct web_filter, sensor)},
	    {":ip", offsetof(struct web_filter, ip)},
	    {":country", offsetof(struct web_filter, country)},
	    {":day", offsetof(struct web_filter, day)},
	    {":since", offsetof(struct web_filter, since)},
	    {":until", offsetof(struct web_filter, until)},
	    {":os", offsetof(struct web_filter, os)},
	};
	const char *v;
	size_t i;
	int idx;

	for (i = 0; i < NELEM(texts); i++) {
		if ((idx = sqlite3_bind_parameter_index(st, texts[i].name)) <=
		    0)
			continue;
		v = (const char *)f + texts[i].offset;
		db_bind_text(st, idx, v[0] != '\0' ? v : NULL);
	}
	if ((idx = sqlite3_bind_parameter_index(st, ":asn")) > 0)
		db_bind_opt_int(st, idx, f->asn);
	if ((idx = sqlite3_bind_parameter_index(st, ":port")) > 0)
		db_bind_opt_int(st, idx, f->port);
}

static json_t *
top_ips(struct db *db, const struct web_filter *f)
{
	json_t *rows = json_array(), *row;
	sqlite3_stmt *st;

	st = prepare(db,
	    "SELECT r.source_ip, sum(r.messages) AS n, i.asn, i.country"
	    " FROM rollup_ip_day r JOIN sensor s ON s.id = r.sensor_id"
	    " LEFT JOIN ip i ON i.ip = r.source_ip"
	    " WHERE (:sensor IS NULL OR s.name = :sensor)"
	    " AND (:since IS NULL OR r.day >= :since)"
	    " AND (:until IS NULL OR r.day <= :until)"
	    " GROUP BY r.source_ip HAVING n > 0"
	    " ORDER BY n DESC, r.source_ip LIMIT 10");
	if (st == NULL) {
		json_decref(rows);
		return NULL;
	}
	bind_filters(st, f);
	while (sqlite3_step(st) == SQLITE_ROW) {
		row = json_object();
		json_object_set_new(row, "ip", column_text(st, 0));
		json_object_set_new(row, "emails", column_int(st, 1));
		json_object_set_new(row, "asn", column_int(st, 2));
		json_object_set_new(row, "country", column_text(st, 3));
		json_array_append_new(rows, row);
	}
	sqlite3_finalize(st);
	return rows;
}

struct web_result
web_report(struct db *db, const struct web_filter *f)
{
	struct report_options opts = {.format = REPORT_JSON,
	    .top = WEB_TOP_ROWS,
	    .since = f->since[0] != '\0' ? f->since : NULL,
	    .until = f->until[0] != '\0' ? f->until : NULL,
	    .sensor = f->sensor[0] != '\0' ? f->sensor : NULL};
	const char *why = NULL;
	json_t *root, *ips;
	int status = 0;

	if ((root = report_json(db, &opts, &status, &why)) == NULL)
		return result_error(status, why);
	if ((ips = top_ips(db, f)) == NULL)
		return result_db_error(root);
	json_object_set_new(root, "top_source_ips", ips);
	return result_ok(root);
}

static json_t *
message_row(sqlite3_stmt *st)
{
	static const char *const keys[] = {"id", "time", "sensor", "source_ip",
	    "port", "mail_from", "rcpt_count", "size", "helo", "asn",
	    "country"};
	json_t *row = json_object();
	size_t i;

	for (i = 0; i < NELEM(keys); i++)
		json_object_set_new(row, keys[i],
		    sqlite3_column_type(st, (int)i) == SQLITE_INTEGER
			? column_int(st, (int)i)
			: column_text(st, (int)i));
	return row;
}

struct web_result
web_messages(struct db *db, const struct web_filter *f)
{
	json_t *root = json_object(), *rows = json_array();
	sqlite3_stmt *st;
	int n = 0;

	json_object_set_new(root, "page", json_integer(f->page));
	json_object_set_new(root, "page_size", json_integer(WEB_PAGE_SIZE));
	json_object_set_new(root, "messages", rows);
	/* Newest first.  One row past the page shows whether more follow. */
	st = prepare(db,
	    "SELECT m.id, m.time, s.name, m.source_ip, m.service_port,"
	    " m.mail_from, m.rcpt_count, m.size, m.helo, i.asn, i.country"
	    " FROM message m JOIN sensor s ON s.id = m.sensor_id"
	    " LEFT JOIN ip i ON i.ip = m.source_ip"
	    " WHERE (:sensor IS NULL OR s.name = :sensor)"
	    " AND (:ip IS NULL OR m.source_ip = :ip)"
	    " AND (:asn IS NULL OR i.asn = :asn)"
	    " AND (:country IS NULL OR i.country = :country)"
	    " AND (:port IS NULL OR m.service_port = :port)"
	    " AND (:day IS NULL OR m.day = :day)"
	    " AND (:os IS NULL OR coalesce(i.os_class, 'Unknown') = :os)"
	    " AND (:since IS NULL OR m.day >= :since)"
	    " AND (:until IS NULL OR m.day <= :until)"
	    " ORDER BY m.id DESC LIMIT :limit OFFSET :offset");
	if (st == NULL)
		return result_db_error(root);
	bind_filters(st, f);
	sqlite3_bind_int(
	    st, sqlite3_bind_parameter_index(st, ":limit"), WEB_PAGE_SIZE + 1);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":offset"),
	    (int64_t)(f->page - 1) * WEB_PAGE_SIZE);
	while (sqlite3_step(st) == SQLITE_ROW && n++ < WEB_PAGE_SIZE)
		json_array_append_new(rows, message_row(st));
	sqlite3_finalize(st);
	json_object_set_new(root, "has_next", json_boolean(n > WEB_PAGE_SIZE));
	return result_ok(root);
}

static bool
is_sha256(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* A body as pack_record_read() passes it, kept up to max bytes. */
struct body_buf {
	struct sbuf out;
	size_t max;
	bool truncated;
};

static bool
keep_piece(const void *p, size_t n, void *arg)
{
	struct body_buf *b = arg;

	if (b->out.len + n > b->max) {
		sbuf_add(&b->out, p, b->max - b->out.len);
		b->truncated = true;
		return false;
	}
	sbuf_add(&b->out, p, n);
	return true;
}

/* A body's location: its pack's path and the record's offset. */
struct body_place {
	char path[PATH_MAX];
	char pack[NAME_MAX + 1];
	uint64_t offset;
	uint32_t length;
};

/*
 * Look up the locations of the sensor's body sha.  The body row gives
 * the pack and the record.  Each ingested_file row of a pack of that
 * name gives a path, since ingest may have read the pack from more than
 * one spool, such as a mirror and a copy of it.  Returns the statement
 * on its first row, or NULL with the reason in why.
 */
static sqlite3_stmt *
find_body(struct db *db, int64_t sensor_id, const char *sha, char *why,
    size_t whylen)
{
	sqlite3_stmt *st;

	if (sha == NULL || !is_sha256(sha)) {
		bufprintf(why, whylen, "the message has no stored body");
		return NULL;
	}
	st = prepare(db,
	    "SELECT b.pack, b.offset, b.length, f.path FROM body b"
	    " LEFT JOIN ingested_file f ON f.sensor_id = b.sensor_id"
	    " AND substr(f.path, -length(b.pack) - 8) = '/bodies/' || b.pack"
	    " WHERE b.sensor_id = ?1 AND b.sha256 = ?2"
	    " ORDER BY f.path DESC");
	if (st == NULL) {
		bufprintf(why, whylen, "database query failed");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, sensor_id);
	db_bind_text(st, 2, sha);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_type(st, 0) == SQLITE_NULL) {
		bufprintf(why, whylen,
		    "the body's location is unknown: no pack indexed so far"
		    " holds it (its pack has not been copied yet, or is"
		    " damaged)");
	} else if (sqlite3_column_text(st, 3) == NULL) {
		bufprintf(why, whylen,
		    "the pack %s that holds the body was not ingested from"
		    " any spool of this sensor",
		    (const char *)sqlite3_column_text(st, 0));
	} else {
		return st;
	}
	sqlite3_finalize(st);
	return NULL;
}

/* Return whether the len bytes at p have the lower-case hex SHA-256 sha. */
static bool
has_sha256(const void *p, size_t len, const char *sha)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(p, len, digest, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return false;
	hex_encode(digest, n, hex);
	return strcmp(hex, sha) == 0;
}

/*
 * Read the body at place into b.  A body read whole must have the
 * message's SHA-256, which the pack's header only claims.  Returns 0,
 * or -1 with the reason in why.
 */
static int
read_place(const struct body_place *place, const char *sha,
    struct body_buf *b, char *why, size_t whylen)
{
	struct stat sb;
	int fd, rc;

	/* O_NONBLOCK: a FIFO in the pack's place must not hang the server. */
	if ((fd = open(place->path,
		 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		bufprintf(why, whylen,
		    errno == ENOENT
			? "the pack %s that holds the body is not in the spool"
			  " (removed, or never copied)"
			: "the pack %s that holds the body cannot be opened",
		    place->pack);
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		bufprintf(why, whylen,
		    "the pack %s that holds the body is not a regular file",
		    place->pack);
		return -1;
	}
	sbuf_init(&b->out);
	b->truncated = false;
	rc = pack_record_read(
	    fd, place->offset, sha, place->length, keep_piece, b);
	close(fd);
	if (rc < 0) {
		sbuf_free(&b->out);
		bufprintf(why, whylen,
		    "the body cannot be read or decompressed from the pack %s"
		    " at offset %llu",
		    place->pack, (unsigned long long)place->offset);
		return -1;
	}
	if (!b->truncated && !has_sha256(b->out.data, b->out.len, sha)) {
		sbuf_free(&b->out);
		bufprintf(why, whylen,
		    "the body in the pack %s at offset %llu does not have the"
		    " message's SHA-256",
		    place->pack, (unsigned long long)place->offset);
		return -1;
	}
	return 0;
}

/*
 * Read the message's body from its pack, at most max bytes; *truncated
 * is set when more followed.  Each copy of the pack is tried in turn,
 * and the reason given is the first copy's.  Returns the bytes (to
 * free), or NULL with the reason in why.
 */
static char *
load_body(struct db *db, sqlite3_stmt *msg, size_t max, size_t *lenp,
    bool *truncated, char *why, size_t whylen)
{
	const char *sha = (const char *)sqlite3_column_text(msg, 1);
	struct body_buf b = {.max = max};
	struct body_place place;
	char other[PATH_MAX];
	sqlite3_stmt *st;
	bool first = true;

	*truncated = false;
	if ((st = find_body(db, sqlite3_column_int64(msg, 0), sha, why,
		 whylen)) == NULL)
		return NULL;
	do {
		const char *path = (const char *)sqlite3_column_text(st, 3);

		if (path == NULL || strlen(path) >= sizeof(place.path))
			continue;
		strlcpy_(place.pack, (const char *)sqlite3_column_text(st, 0),
		    sizeof(place.pack));
		strlcpy_(place.path, path, sizeof(place.path));
		place.offset = (uint64_t)sqlite3_column_int64(st, 1);
		place.length = (uint32_t)sqlite3_column_int64(st, 2);
		if (read_place(&place, sha, &b, first ? why : other,
			first ? whylen : sizeof(other)) == 0) {
			sqlite3_finalize(st);
			*truncated = b.truncated;
			return sbuf_steal(&b.out, lenp);
		}
		first = false;
	} while (sqlite3_step(st) == SQLITE_ROW);
	sqlite3_finalize(st);
	if (first)
		bufprintf(why, whylen,
		    "the pack that holds the body has a path too long to open");
	return NULL;
}

static sqlite3_stmt *
find_message(struct db *db, int64_t id)
{
	sqlite3_stmt *st = prepare(db,
	    "SELECT m.sensor_id, m.sha256, m.id, m.time, s.name, m.source_ip,"
	    " m.service_port, m.protocol, m.proxy_target, m.helo, m.esmtp,"
	    " m.mail_from, m.rcpt_count, m.rcpt, m.size, m.queue_id,"
	    " m.personality, i.asn, i.as_name, i.country, i.os_class"
	    " FROM message m JOIN sensor s ON s.id = m.sensor_id"
	    " LEFT JOIN ip i ON i.ip = m.source_ip WHERE m.id = ?1");

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void
add_body_view(struct db *db, sqlite3_stmt *st, json_t *root)
{
	char why[PATH_MAX], *body;
	bool truncated;
	json_t *view;
	size_t len;

	if ((body = load_body(db, st, WEB_VIEW_BYTES_MAX, &len, &truncated,
		 why, sizeof(why))) == NULL) {
		json_object_set_new(root, "body_error", json_string(why));
		return;
	}
	view = mime_view(body, len);
	free(body);
	json_object_set_new(view, "body_truncated", json_boolean(truncated));
	json_object_set_new(root, "body", view);
}

struct web_result
web_message(struct db *db, int64_t id)
{
	static const char *const keys[] = {"id", "time", "sensor", "source_ip",
	    "port", "protocol", "proxy_target", "helo", "esmtp", "mail_from",
	    "rcpt_count", "rcpt", "size", "queue_id", "personality", "asn",
	    "as_name", "country", "os_class"};
	json_t *root, *rcpt;
	sqlite3_stmt *st;
	size_t i;

	if ((st = find_message(db, id)) == NULL)
		return result_error(404, "no such message");
	root = json_object();
	for (i = 0; i < NELEM(keys); i++)
		json_object_set_new(root, keys[i],
		    sqlite3_column_type(st, (int)i + 2) == SQLITE_INTEGER
			? column_int(st, (int)i + 2)
			: column_text(st, (int)i + 2));
	/* Recipients are stored as a JSON array written by ingest. */
	rcpt =
	    json_loads(json_string_value(json_object_get(root, "rcpt")) != NULL
		    ? json_string_value(json_object_get(root, "rcpt"))
		    : "[]",
		0, NULL);
	json_object_set_new(
	    root, "rcpt", json_is_array(rcpt) ? rcpt : json_array());
	if (!json_is_array(rcpt))
		json_decref(rcpt);
	json_object_set_new(root, "sha256", column_text(st, 1));
	json_object_set_new(root, "body", json_null());
	add_body_view(db, st, root);
	sqlite3_finalize(st);
	return result_ok(root);
}

int
web_message_raw(struct db *db, int64_t id, char **data, size_t *len,
    char *sha256, const char **why)
{
	/* One polling thread: the static buffer is never shared. */
	static char reason[PATH_MAX];
	sqlite3_stmt *st;
	bool truncated;
	int rc = 0;

	if ((st = find_message(db, id)) == NULL) {
		*why = "no such message";
		return 404;
	}
	if ((*data = load_body(db, st, WEB_RAW_BYTES_MAX, len, &truncated,
		 reason, sizeof(reason))) == NULL) {
		*why = reason;
		rc = 404;
	} else {
		strlcpy_(sha256, (const char *)sqlite3_column_text(st, 1), 65);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Prometheus label values escape backslash, quote and line feed. */
static void
put_label(struct sbuf *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			sbuf_add(out, "\\", 1);
		if (*s == '\n')
			sbuf_puts(out, "\\n");
		else
			sbuf_add(out, s, 1);
	}
}

int
web_metrics(struct db *db, struct sbuf *out)
{
	static const struct {
		const char *name;
		const char *help;
	} metrics[] = {
	    {"spampot_messages_total", "Messages stored."},
	    {"spampot_recipients_total", "Recipients of stored messages."},
	    {"spampot_connections_total", "Connections accepted."},
	    {"spampot_received_bytes_total", "Bytes received from clients."},
	    {"spampot_sent_bytes_total", "Bytes sent to clients."},
	};
	sqlite3_stmt *st;
	size_t i;

	/* NOTE: this sums every rollup row, one per minute, sensor and port. */
	st = prepare(db,
	    "SELECT s.name, r.service_port, sum(r.messages),"
	    " sum(r.recipients), sum(r.connections), sum(r.bytes_in),"
	    " sum(r.bytes_out) FROM rollup_minute r"
	    " JOIN sensor s ON s.id = r.sensor_id"
	    " GROUP BY s.name, r.service_port ORDER BY 1, 2");
	if (st == NULL)
		return -1;
	for (i = 0; i < NELEM(metrics); i++) {
		sbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n",
		    metrics[i].name, metrics[i].help, metrics[i].name);
		sqlite3_reset(st);
		while (sqlite3_step(st) == SQLITE_ROW) {
			sbuf_printf(out, "%s{sensor=\"", metrics[i].name);
			put_label(
			    out, (const char *)sqlite3_column_text(st, 0));
			sbuf_printf(out, "\",port=\"%lld\"} %lld\n",
			    (long long)sqlite3_column_int64(st, 1),
			    (long long)sqlite3_column_int64(st, (int)i + 2));
		}
	}
	sqlite3_finalize(st);
	return 0;
}

/* Read dir's .svg files, in name order, into charts; returns 0 or -1. */
static int
read_charts(const char *dir, json_t *charts)
{
	char path[PATH_MAX + 256], *text;
	struct dirent **names;
	json_t *chart;
	size_t len;
	int n, i;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		len = strlen(names[i]->d_name);
		if (len > 4 &&
		    strcmp(names[i]->d_name + len - 4, ".svg") == 0) {
			bufprintf(
			    path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			text = read_file(path, WEB_CHART_BYTES_MAX, &len);
			if (text != NULL) {
				chart = json_object();
				json_object_set_new(chart, "name",
				    json_string(names[i]->d_name));
				json_object_set_new(chart, "svg",
				    json_stringn_nocheck(text, len));
				json_array_append_new(charts, chart);
				free(text);
			}
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

struct web_result
web_charts(struct db *db, const struct web_filter *f)
{
	struct report_options opts = {.format = REPORT_JSON,
	    .top = WEB_TOP_ROWS,
	    .since = f->since[0] != '\0' ? f->since : NULL,
	    .until = f->until[0] != '\0' ? f->until : NULL,
	    .sensor = f->sensor[0] != '\0' ? f->sensor : NULL};
	char dir[] = "/tmp/spampot-web.XXXXXX", err[256], path[PATH_MAX];
	json_t *root = json_object(), *charts = json_array();
	struct dirent *de;
	int rc;
	DIR *d;

	json_object_set_new(root, "charts", charts);
	/*
	 * charts_write() draws every chart into a directory; a private
	 * one per request keeps concurrent requests apart.
	 */
	if (mkdtemp(dir) == NULL)
		return result_db_error(root);
	rc = charts_write(db, &opts, dir, err, sizeof(err));
	if (rc >= 0)
		rc = read_charts(dir, charts);
	/* Remove whatever is left, such as files that were not charts. */
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			bufprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
	if (rc < 0) {
		json_decref(root);
		return result_error(
		    strncmp(err, "no sensor", 9) == 0 ? 404 : 500,
		    strncmp(err, "no sensor", 9) == 0 ? "no such sensor"
						      : "charts failed");
	}
	return result_ok(root);
}
