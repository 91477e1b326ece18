/*
 * Ingest, enrichment and reports against real files: each test writes a
 * spool (and IP range files) into a temporary directory, ingests it
 * into a temporary SQLite database and checks the rows and the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "bodypack.h"
#include "db.h"
#include "enrich.h"
#include "ingest.h"
#include "report.h"
#include "spampot_limits.h"
#include "util.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct fixture {
	char dir[64];
	char spool[128];
	char events[160];
	char db_path[160];
	char geo[128];
	struct db *db;
	char *log;
	size_t log_len;
	FILE *log_fp;
};

static void append(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
append(const char *path, const char *fmt, ...)
{
	FILE *fp = fopen(path, "a");
	va_list ap;

	assert_non_null(fp);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(fp), 0);
}

static void
make_dir(const char *path)
{
	assert_int_equal(mkdir(path, 0700), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	strcpy(f->dir, "/tmp/test_ingest.XXXXXX");
	if (f == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	snprintf(f->events, sizeof(f->events), "%s/events", f->spool);
	snprintf(f->db_path, sizeof(f->db_path), "%s/test.db", f->dir);
	snprintf(f->geo, sizeof(f->geo), "%s/geo", f->dir);
	mkdir(f->spool, 0700);
	mkdir(f->events, 0700);
	f->db = db_open(f->db_path, true, err, sizeof(err));
	if (f->db == NULL)
		return -1;
	f->log_fp = open_memstream(&f->log, &f->log_len);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	db_close(f->db);
	fclose(f->log_fp);
	free(f->log);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Event lines, in the form the sensor writes them. */

static void
session_start(
    const char *file, const char *ts, const char *sid, const char *ip, int port)
{
	append(file,
	    "{\"@timestamp\":\"%s\",\"event.action\":\"session.start\","
	    "\"sensor.name\":\"s1\",\"session.id\":\"%s\","
	    "\"source.ip\":\"%s\",\"source.port\":40000,"
	    "\"destination.ip\":\"192.0.2.1\",\"destination.port\":%d,"
	    "\"listener.port\":%d,\"listener.service\":\"proxy\"}\n",
	    ts, sid, ip, port, 10000 + port);
}

static void
message(const char *file, const char *ts, const char *sid, int seq,
    const char *ip, int port, int rcpts)
{
	append(file,
	    "{\"@timestamp\":\"%s\",\"event.action\":\"message.stored\","
	    "\"sensor.name\":\"s1\",\"session.id\":\"%s\","
	    "\"message.sha256\":\"" SHA_A "\",\"message.size\":1234,"
	    "\"message.seq\":%d,\"smtp.queue_id\":\"Q%d\","
	    "\"smtp.helo\":\"pc.example\",\"smtp.esmtp\":true,"
	    "\"smtp.mail_from\":\"a@example.com\","
	    "\"smtp.rcpt_to\":[\"x@example.org\",\"y@example.org\"],"
	    "\"smtp.rcpt_count\":%d,\"smtp.personality\":\"postfix\","
	    "\"source.ip\":\"%s\",\"destination.port\":%d,"
	    "\"proxy.protocol\":\"socks5\","
	    "\"proxy.target\":\"mx.example.org:25\"}\n",
	    ts, sid, seq, seq, rcpts, ip, port);
}

static void
session_end(const char *file, const char *ts, const char *sid)
{
	append(file,
	    "{\"@timestamp\":\"%s\",\"event.action\":\"session.end\","
	    "\"sensor.name\":\"s1\",\"session.id\":\"%s\","
	    "\"network.bytes_in\":5000,\"network.bytes_out\":700,"
	    "\"session.duration_ms\":1200,\"smtp.messages\":2,"
	    "\"event.reason\":\"quit\"}\n",
	    ts, sid);
}

static int64_t
count(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(
	    sqlite3_prepare_v2(db_handle(f->db), sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static char *
text_of(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	char *s = NULL;

	assert_int_equal(
	    sqlite3_prepare_v2(db_handle(f->db), sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

/* Every row of every table as text, to compare two databases. */
static char *
dump(struct db *db)
{
	/* Each table, ordered by enough leading columns to be unique. */
	static const struct {
		const char *name;
		const char *order;
	} tables[] = {
	    {"sensor", "1"},
	    {"ingested_file", "1"},
	    {"session", "1, 2, 3"},
	    {"message", "1"},
	    {"auth", "1"},
	    {"proxy_request", "1"},
	    {"proxy_tunnel", "1"},
	    {"ip", "1"},
	    {"body", "1, 2"},
	    {"rollup_minute", "1, 2, 3"},
	    {"rollup_ip_day", "1, 2, 3"},
	    {"rollup_os_day", "1, 2, 3"},
	};
	char *buf = NULL, sql[128];
	size_t len = 0, t;
	FILE *fp = open_memstream(&buf, &len);

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		sqlite3_stmt *st;
		int c;

		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s",
		    tables[t].name, tables[t].order);
		assert_int_equal(
		    sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL),
		    SQLITE_OK);
		fprintf(fp, "[%s]\n", tables[t].name);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *v =
				    sqlite3_column_text(st, c);

				fprintf(
				    fp, "%s|", v ? (const char *)v : "NULL");
			}
			fputc('\n', fp);
		}
		sqlite3_finalize(st);
	}
	fclose(fp);
	return buf;
}

static int
run_ingest(struct fixture *f, struct db *db, const struct ingest_options *o,
    struct ingest_stats *stats)
{
	struct ingest_options defaults = {.log = f->log_fp};
	char err[256];

	memset(stats, 0, sizeof(*stats));
	return ingest_spool(
	    db, f->spool, o != NULL ? o : &defaults, stats, err, sizeof(err));
}

/* One file with every kind of trouble; returns the bytes of its partial tail.
 */
static size_t
write_troubled_file(struct fixture *f, char *file, size_t size)
{
	static const char partial[] =
	    "{\"@timestamp\":\"2026-11-01T10:05:00Z\"";
	char *big;

	snprintf(file, size, "%s/20261101T10.jsonl", f->events);
	session_start(
	    file, "2026-11-01T10:00:00.000001Z", "s-1", "192.0.2.7", 1080);
	message(file, "2026-11-01T10:00:01.000000Z", "s-1", 1, "192.0.2.7",
	    1080, 3);
	append(file, "{\"@timestamp\": not json\n"); /* line 3 */
	message(file, "2026-11-01T10:00:02.000000Z", "s-1", 2, "192.0.2.7",
	    1080, 4);
	message(file, "2026-11-01T10:00:01.000000Z", "s-1", 1, "192.0.2.7",
	    1080, 3); /* duplicate */
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:03Z\","
	    "\"sensor.name\":\"s1\",\"session.id\":\"s-1\"}\n"); /* 6 */
	big = malloc(INGEST_LINE_MAX + 100);
	assert_non_null(big);
	memset(big, 'x', INGEST_LINE_MAX + 99);
	big[INGEST_LINE_MAX + 99] = '\0';
	append(file, "%s\n", big); /* line 7 */
	free(big);
	append(file, "\n");                                      /* blank */
	session_end(file, "2026-11-01T10:00:04.000000Z", "s-1"); /* 9 */
	append(file, "%s", partial);
	return sizeof(partial) - 1;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Body packs, written here as the sensor writes them. */

/* A message of session sid whose body has the SHA-256 sha. */
static void
message_with_body(const char *file, const char *sid, const char *sha)
{
	append(file,
	    "{\"@timestamp\":\"2026-12-04T10:00:01Z\","
	    "\"event.action\":\"message.stored\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"%s\",\"message.sha256\":\"%s\","
	    "\"message.size\":10,\"message.seq\":1,\"smtp.rcpt_count\":1,"
	    "\"source.ip\":\"192.0.2.7\",\"destination.port\":25}\n",
	    sid, sha);
}

static void
sha256_hex(const char *body, char sha[65])
{
	unsigned char md[32];

	assert_int_equal(EVP_Digest(body, strlen(body), md, NULL,
			     EVP_sha256(), NULL),
	    1);
	hex_encode(md, sizeof(md), sha);
}

/*
 * Append a record of body to the pack at path and set sha; returns the
 * offset of its header.
 */
static uint64_t
pack_append(const char *path, const char *body, char sha[65])
{
	size_t cap = ZSTD_compressBound(strlen(body)), n;
	char hdr[PACK_HEADER_LEN + 1], *frame = malloc(cap);
	struct stat st;
	uint64_t offset = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	FILE *fp;

	assert_non_null(frame);
	sha256_hex(body, sha);
	n = ZSTD_compress(frame, cap, body, strlen(body), 3);
	assert_false(ZSTD_isError(n));
	pack_header_format(hdr, sha, (uint32_t)n);
	fp = fopen(path, "a");
	assert_non_null(fp);
	assert_int_equal(fwrite(hdr, 1, PACK_HEADER_LEN, fp), PACK_HEADER_LEN);
	assert_int_equal(fwrite(frame, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	free(frame);
	return offset;
}

/* The spool's bodies/NAME.pack and events/NAME.jsonl. */
static void
pack_paths(struct fixture *f, const char *name, char *pack, size_t pack_size,
    char *events, size_t events_size)
{
	snprintf(pack, pack_size, "%s/bodies", f->spool);
	mkdir(pack, 0700);
	snprintf(pack, pack_size, "%s/bodies/%s.pack", f->spool, name);
	snprintf(events, events_size, "%s/%s.jsonl", f->events, name);
}

/* The location of the sensor s1's body sha: "pack|offset|length". */
static char *
body_location(struct fixture *f, const char *sha)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT coalesce(pack, 'NULL') || '|' || coalesce(offset, '')"
	    " || '|' || coalesce(length, '') FROM body WHERE sha256 = '%s'",
	    sha);
	return text_of(f, sql);
}

static void
expect_location(
    struct fixture *f, const char *sha, const char *pack, uint64_t offset)
{
	char want[128], *got = body_location(f, sha);

	snprintf(want, sizeof(want), "%s|%llu|", pack,
	    (unsigned long long)offset);
	assert_non_null(got);
	assert_memory_equal(got, want, strlen(want));
	free(got);
}

static void
packs_indexed_with_locations(void **state)
{
	struct fixture *f = *state;
	char pack[256], events[256], a[65], b[65], sql[512];
	struct ingest_stats s;
	uint64_t off_a, off_b;
	int fd;

	pack_paths(f, "20261204T100000", pack, sizeof(pack), events,
	    sizeof(events));
	off_a = pack_append(pack, "Subject: a\r\n\r\npills\r\n", a);
	off_b = pack_append(pack, "Subject: b\r\n\r\nwatches\r\n", b);
	message_with_body(events, "m-1", a);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.pack_records, 2);
	assert_int_equal(off_a, 0);
	expect_location(f, a, "20261204T100000.pack", off_a);
	/* A body that no message read so far names is located as well. */
	expect_location(f, b, "20261204T100000.pack", off_b);
	assert_int_equal(count(f, "SELECT count(*) FROM body"), 2);
	snprintf(sql, sizeof(sql),
	    "SELECT length FROM body WHERE sha256 = '%s'", b);
	assert_int_equal(count(f, sql),
	    (int64_t)file_size(pack) - (int64_t)off_b - PACK_HEADER_LEN);
	/* The pack's progress is kept like an events file's. */
	assert_int_equal(count(f,
			     "SELECT offset_bytes FROM ingested_file"
			     " WHERE path LIKE '%/bodies/20261204T100000.pack'"),
	    file_size(pack));
	assert_int_equal(count(f,
			     "SELECT lines FROM ingested_file"
			     " WHERE path LIKE '%.pack'"),
	    2);
	/* The stored location reads back as the body. */
	fd = open(pack, O_RDONLY);
	assert_true(fd >= 0);
	{
		struct pack_record r = {.offset = off_b};

		strcpy(r.sha, b);
		r.length = (uint32_t)count(f, sql);
		assert_true(pack_record_verified(fd, &r));
	}
	close(fd);

	/* Nothing new: nothing read. */
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.pack_records, 0);
	assert_int_equal(s.packs, 0);
}

static void
pack_resumes_and_keeps_location(void **state)
{
	struct fixture *f = *state;
	char pack[256], events[256], a[65], again[65], c[65];
	struct ingest_stats s;
	uint64_t off_a, off_c;

	pack_paths(f, "20261204T110000", pack, sizeof(pack), events,
	    sizeof(events));
	off_a = pack_append(pack, "body a\r\n", a);
	message_with_body(events, "m-1", a);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.pack_records, 1);

	/* The same body again, later in the pack, and a new one. */
	(void)pack_append(pack, "body a\r\n", again);
	off_c = pack_append(pack, "body c\r\n", c);
	message_with_body(events, "m-2", c);
	assert_string_equal(a, again);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.pack_records, 2);
	assert_int_equal(s.messages, 1);
	expect_location(f, a, "20261204T110000.pack", off_a);
	expect_location(f, c, "20261204T110000.pack", off_c);
	assert_int_equal(count(f,
			     "SELECT lines FROM ingested_file"
			     " WHERE path LIKE '%.pack'"),
	    3);
}

static void
pack_with_cut_tail_waits(void **state)
{
	struct fixture *f = *state;
	char pack[256], events[256], a[65], b[65], *whole;
	struct ingest_stats s;
	uint64_t off_b;
	off_t size;
	FILE *fp;

	pack_paths(f, "20261204T120000", pack, sizeof(pack), events,
	    sizeof(events));
	(void)pack_append(pack, "body a\r\n", a);
	off_b = pack_append(pack, "body b, cut by a crash\r\n", b);
	message_with_body(events, "m-1", a);
	/* Keep the whole pack, then cut b's record half way. */
	size = file_size(pack);
	whole = malloc((size_t)size);
	assert_non_null(whole);
	fp = fopen(pack, "r");
	assert_non_null(fp);
	assert_int_equal(fread(whole, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	assert_int_equal(truncate(pack, (off_t)off_b + 40), 0);

	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.pack_records, 1);
	assert_null(strstr(f->log != NULL ? f->log : "", "damaged"));
	assert_int_equal(count(f,
			     "SELECT offset_bytes FROM ingested_file"
			     " WHERE path LIKE '%.pack'"),
	    off_b);

	/* The rest arrives: the record is read whole. */
	fp = fopen(pack, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(whole, 1, (size_t)size, fp), (size_t)size);
	assert_int_equal(fclose(fp), 0);
	free(whole);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.pack_records, 1);
	expect_location(f, b, "20261204T120000.pack", off_b);
}

static void
damaged_pack_is_reported_and_skipped(void **state)
{
	struct fixture *f = *state;
	char pack[256], events[256], other[256], other_events[256];
	char a[65], b[65], c[65], want[512], *loc;
	struct ingest_stats s;
	uint64_t off_bad;
	size_t logged;
	FILE *fp;

	pack_paths(f, "20261204T130000", pack, sizeof(pack), events,
	    sizeof(events));
	pack_paths(f, "20261204T140000", other, sizeof(other), other_events,
	    sizeof(other_events));
	(void)pack_append(pack, "body a\r\n", a);
	off_bad = (uint64_t)file_size(pack);
	/* A header in upper case is not one. */
	fp = fopen(pack, "a");
	assert_non_null(fp);
	for (int i = 0; i < PACK_HEADER_LEN; i++)
		fputc(i == PACK_HEADER_LEN - 1 ? '\n' : 'X', fp);
	assert_int_equal(fclose(fp), 0);
	(void)pack_append(pack, "body b\r\n", b);
	(void)pack_append(other, "body c\r\n", c);
	message_with_body(events, "m-1", a);
	message_with_body(events, "m-2", b);
	message_with_body(other_events, "m-3", c);

	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.messages, 3);
	assert_int_equal(s.pack_records, 2);
	fflush(f->log_fp);
	snprintf(want, sizeof(want),
	    "%s: warning: damaged pack: no record header at offset %llu;"
	    " the rest of the pack is skipped",
	    pack, (unsigned long long)off_bad);
	assert_non_null(f->log);
	assert_non_null(strstr(f->log, want));
	/* Reported once per run. */
	assert_null(strstr(strstr(f->log, want) + 1, want));
	expect_location(f, a, "20261204T130000.pack", 0);
	expect_location(f, c, "20261204T140000.pack", 0);
	/* b's message is stored, but where its body is stays unknown. */
	loc = body_location(f, b);
	assert_string_equal(loc, "NULL||");
	free(loc);
	assert_int_equal(count(f,
			     "SELECT offset_bytes FROM ingested_file"
			     " WHERE path LIKE '%T130000.pack'"),
	    off_bad);

	/* The next run reports it again, once. */
	logged = f->log_len;
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	fflush(f->log_fp);
	assert_non_null(strstr(f->log + logged, want));
	assert_null(strstr(strstr(f->log + logged, want) + 1, want));
}

static void
pack_sensor_from_events_or_option(void **state)
{
	struct fixture *f = *state;
	struct ingest_options o = {.log = f->log_fp, .sensor = "s9"};
	char pack[256], events[256], a[65];
	struct ingest_stats s;

	/* No events file of this name: its sensor is unknown. */
	pack_paths(f, "20261204T150000", pack, sizeof(pack), events,
	    sizeof(events));
	(void)pack_append(pack, "body a\r\n", a);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.pack_records, 0);
	fflush(f->log_fp);
	assert_non_null(f->log);
	assert_non_null(strstr(f->log, "20261204T150000.pack: warning: no"
				       " events file of this name was"
				       " ingested"));
	assert_int_equal(count(f, "SELECT count(*) FROM body"), 0);

	/* --sensor names it. */
	assert_int_equal(run_ingest(f, f->db, &o, &s), 0);
	assert_int_equal(s.pack_records, 1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM body b JOIN sensor s"
			     " ON s.id = b.sensor_id WHERE s.name = 's9'"
			     " AND b.pack = '20261204T150000.pack'"),
	    1);
}

static void
pack_indexed_in_small_chunks(void **state)
{
	struct fixture *f = *state;
	struct ingest_options o = {.log = f->log_fp, .chunk_bytes = 1};
	char pack[256], events[256], body[64], sha[65];
	struct ingest_stats s;
	int i;

	pack_paths(f, "20261204T160000", pack, sizeof(pack), events,
	    sizeof(events));
	for (i = 0; i < 50; i++) {
		snprintf(body, sizeof(body), "body %d\r\n", i);
		(void)pack_append(pack, body, sha);
	}
	message_with_body(events, "m-1", sha);
	assert_int_equal(run_ingest(f, f->db, &o, &s), 0);
	assert_int_equal(s.pack_records, 50);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM body WHERE pack IS NOT NULL"), 50);
	assert_int_equal(count(f,
			     "SELECT offset_bytes FROM ingested_file"
			     " WHERE path LIKE '%.pack'"),
	    file_size(pack));
	assert_int_equal(count(f,
			     "SELECT lines FROM ingested_file"
			     " WHERE path LIKE '%.pack'"),
	    50);
}

static void
ingest_counts_rows_and_offsets(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], sql[512];
	size_t tail = write_troubled_file(f, file, sizeof(file));
	char *rcpt;

	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.files, 1);
	assert_int_equal(s.lines, 9);
	assert_int_equal(s.bad_lines, 3);
	assert_int_equal(s.duplicates, 1);
	assert_int_equal(s.messages, 2);
	assert_int_equal(s.sessions, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM message"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM session"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM sensor"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM ip"), 1);
	/* Both messages name the same body, which is listed once. */
	assert_int_equal(count(f, "SELECT count(*) FROM body"), 1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM body WHERE sensor_id = 1"
			     " AND sha256 = '" SHA_A "'"),
	    1);
	assert_int_equal(count(f, "SELECT bytes_in FROM session"), 5000);
	assert_int_equal(count(f, "SELECT service_port FROM session"), 1080);
	assert_int_equal(
	    count(f, "SELECT sum(messages) FROM rollup_minute"), 2);
	assert_int_equal(
	    count(f, "SELECT sum(recipients) FROM rollup_minute"), 7);
	assert_int_equal(
	    count(f, "SELECT sum(connections) FROM rollup_minute"), 1);
	assert_int_equal(
	    count(f, "SELECT sum(bytes_out) FROM rollup_minute"), 700);
	assert_int_equal(
	    count(f, "SELECT sum(messages) FROM rollup_ip_day"), 2);
	rcpt = text_of(f, "SELECT rcpt FROM message WHERE seq = 1");
	assert_string_equal(rcpt, "[\"x@example.org\",\"y@example.org\"]");
	free(rcpt);
	snprintf(sql, sizeof(sql), "SELECT offset_bytes FROM ingested_file");
	assert_int_equal(count(f, sql), file_size(file) - (off_t)tail);
	assert_int_equal(count(f, "SELECT lines FROM ingested_file"), 9);
	/* Bad lines are reported by file and line number. */
	fflush(f->log_fp);
	assert_non_null(strstr(f->log, "20261101T10.jsonl:3: skipped"));
	assert_non_null(strstr(f->log,
	    "20261101T10.jsonl:6: skipped: "
	    "missing or unknown event.action"));
	assert_non_null(
	    strstr(f->log, "20261101T10.jsonl:7: skipped: line of"));
}

static void
ingest_twice_gives_same_database(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], *before, *after;

	write_troubled_file(f, file, sizeof(file));
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	before = dump(f->db);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.lines, 0);
	assert_int_equal(s.messages, 0);
	after = dump(f->db);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
ingest_completes_partial_line_once(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], *before, *after;

	write_troubled_file(f, file, sizeof(file));
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM message"), 2);
	/* The sensor finishes the line it was writing. */
	append(file,
	    ",\"event.action\":\"message.stored\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"s-1\",\"message.seq\":3,\"smtp.rcpt_count\":5,"
	    "\"source.ip\":\"192.0.2.7\",\"destination.port\":1080}\n");
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.lines, 1);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.bad_lines, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM message"), 3);
	assert_int_equal(count(f,
			     "SELECT rcpt_count FROM message"
			     " WHERE seq = 3"),
	    5);
	assert_int_equal(count(f, "SELECT offset_bytes FROM ingested_file"),
	    file_size(file));
	assert_int_equal(count(f, "SELECT lines FROM ingested_file"), 10);
	before = dump(f->db);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	after = dump(f->db);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
ingest_sensor_override_and_auth(void **state)
{
	struct fixture *f = *state;
	struct ingest_options o = {.log = f->log_fp};
	struct ingest_stats s;
	char file[256], *text;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:00Z\","
	    "\"event.action\":\"proxy.auth\",\"session.id\":\"a\","
	    "\"proxy.protocol\":\"socks5\",\"user.name\":\"root\","
	    "\"user.password\":\"123456\","
	    "\"event.outcome\":\"success\"}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:01Z\","
	    "\"event.action\":\"proxy.request\",\"session.id\":\"a\","
	    "\"proxy.protocol\":\"http\",\"proxy.command\":\"CONNECT\","
	    "\"proxy.target\":\"mx.example.org:25\","
	    "\"proxy.target.host\":\"mx.example.org\","
	    "\"proxy.target.port\":25,\"event.outcome\":\"tunnel\","
	    "\"proxy.reply\":200}\n");

	/* Without sensor.name and without --sensor, the lines are bad. */
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.bad_lines, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM auth"), 0);
	fflush(f->log_fp);
	assert_non_null(strstr(f->log, "missing sensor.name"));

	/* A new file read with --sensor stores them under that name. */
	snprintf(file, sizeof(file), "%s/20261101T11.jsonl", f->events);
	append(file,
	    "{\"@timestamp\":\"2026-11-01T11:00:00Z\","
	    "\"event.action\":\"proxy.auth\",\"session.id\":\"b\","
	    "\"sensor.name\":\"ignored\",\"user.name\":\"admin\","
	    "\"user.password\":\"admin\",\"event.outcome\":\"failure\"}"
	    "\n");
	o.sensor = "honey-1";
	assert_int_equal(run_ingest(f, f->db, &o, &s), 0);
	assert_int_equal(s.bad_lines, 0);
	assert_int_equal(s.events, 1);
	text = text_of(f,
	    "SELECT s.name FROM auth a JOIN sensor s"
	    " ON s.id = a.sensor_id");
	assert_string_equal(text, "honey-1");
	free(text);
	text = text_of(f, "SELECT password FROM auth");
	assert_string_equal(text, "admin");
	free(text);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM sensor"
			     " WHERE name = 'ignored'"),
	    0);
}

static void
proxy_request_is_stored(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], *text;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	session_start(file, "2026-11-01T10:00:00Z", "a", "192.0.2.7", 8080);
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:01Z\","
	    "\"event.action\":\"proxy.request\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"a\",\"proxy.protocol\":\"http\","
	    "\"proxy.command\":\"CONNECT\","
	    "\"proxy.target\":\"mx.example.org:25\","
	    "\"proxy.target.host\":\"mx.example.org\","
	    "\"proxy.target.port\":25,\"event.outcome\":\"tunnel\","
	    "\"proxy.reply\":200}\n");
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.bad_lines, 0);
	assert_int_equal(count(f, "SELECT reply FROM proxy_request"), 200);
	assert_int_equal(count(f, "SELECT target_port FROM proxy_request"), 25);
	text = text_of(f, "SELECT proxy_target FROM session");
	assert_string_equal(text, "mx.example.org:25");
	free(text);
	text = text_of(f, "SELECT proxy_protocol FROM session");
	assert_string_equal(text, "http");
	free(text);
}

/*
 * A message read before its session's start gets a session row with
 * only its ids, which the start fills in; the two messages share it.
 */
static void
message_before_session_start(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256];

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	message(file, "2026-11-01T10:00:01Z", "c", 1, "192.0.2.7", 1080, 3);
	session_start(file, "2026-11-01T10:00:00Z", "c", "192.0.2.7", 1080);
	message(file, "2026-11-01T10:00:02Z", "c", 2, "192.0.2.7", 1080, 4);
	message(file, "2026-11-01T10:00:02Z", "c", 2, "192.0.2.7", 1080, 4);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.messages, 2);
	assert_int_equal(s.sessions, 1);
	assert_int_equal(s.duplicates, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM session"), 1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM session WHERE"
			     " start_time = '2026-11-01T10:00:00Z'"
			     " AND service_port = 1080"),
	    1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM message m JOIN session s"
			     " ON s.id = m.session_ref"
			     " WHERE s.session_id = 'c'"),
	    2);
	assert_int_equal(
	    count(f, "SELECT sum(connections) FROM rollup_minute"), 1);
	assert_int_equal(
	    count(f, "SELECT sum(recipients) FROM rollup_minute"), 7);
}

static void
rejected_and_fingerprinted_sessions(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], *text, *before, *after;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:00.000001Z\","
	    "\"event.action\":\"session.rejected\","
	    "\"sensor.name\":\"s1\",\"source.ip\":\"192.0.2.9\","
	    "\"destination.port\":1080,"
	    "\"event.reason\":\"per-ip-limit\"}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:00.000002Z\","
	    "\"event.action\":\"session.rejected\","
	    "\"sensor.name\":\"s1\",\"source.ip\":\"192.0.2.9\","
	    "\"destination.port\":1080,"
	    "\"event.reason\":\"per-ip-limit\"}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:01Z\","
	    "\"event.action\":\"session.start\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"a\",\"source.ip\":\"192.0.2.8\","
	    "\"destination.port\":25,"
	    "\"source.os.signature\":\"4:64+0:0:1460:mss*44,7:mss:df:0\"}"
	    "\n");
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.bad_lines, 0);
	assert_int_equal(s.sessions, 3);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM session"
			     " WHERE end_reason = 'per-ip-limit'"),
	    2);
	assert_int_equal(count(f,
			     "SELECT sum(connections) FROM rollup_minute"
			     " WHERE service_port = 1080"),
	    2);
	text = text_of(f,
	    "SELECT source_os_signature FROM session"
	    " WHERE session_id = 'a'");
	assert_string_equal(text, "4:64+0:0:1460:mss*44,7:mss:df:0");
	free(text);

	/*
	 * Forget the offsets, as for a spool copied elsewhere, so every
	 * line is read again: the ids made up for rejected rows must
	 * still match, and nothing may be added twice.
	 */
	before = dump(f->db);
	assert_int_equal(sqlite3_exec(db_handle(f->db),
			     "DELETE FROM ingested_file", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.lines, 3);
	assert_int_equal(s.duplicates, 3);
	after = dump(f->db);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
write_busy_spool(struct fixture *f)
{
	char file[256], sid[32], ts[40], ip[32];
	int h, i;

	for (h = 0; h < 3; h++) {
		snprintf(file, sizeof(file), "%s/2026110%dT12.jsonl", f->events,
		    h + 1);
		for (i = 0; i < 60; i++) {
			snprintf(sid, sizeof(sid), "s-%d-%d", h, i);
			snprintf(ts, sizeof(ts), "2026-11-0%dT12:%02d:00.5Z",
			    h + 1, i);
			snprintf(ip, sizeof(ip), "198.51.100.%d", i % 7 + 1);
			session_start(file, ts, sid, ip, i % 2 ? 3128 : 1080);
			message(file, ts, sid, 1, ip, i % 2 ? 3128 : 1080, i);
			message(file, ts, sid, 2, ip, i % 2 ? 3128 : 1080, 1);
			session_end(file, ts, sid);
		}
	}
}

struct kill_plan {
	int commits_left;
};

static void
die_before_commit(void *arg, bool committed)
{
	struct kill_plan *plan = arg;

	if (!committed && plan->commits_left-- == 0)
		raise(SIGKILL);
}

static void
ingest_resumes_after_kill(void **state)
{
	struct fixture *f = *state;
	struct kill_plan plan = {.commits_left = 2};
	struct ingest_options o = {.log = f->log_fp,
	    .chunk_bytes = 4096,
	    .chunk_hook = die_before_commit,
	    .hook_arg = &plan};
	struct ingest_stats s;
	char clean_path[200], err[256], *resumed, *clean;
	struct db *clean_db;
	int status;
	pid_t pid;

	write_busy_spool(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct db *db = db_open(f->db_path, true, err, sizeof(err));

		run_ingest(f, db, &o, &s);
		_exit(0); /* not reached: the hook kills the process */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* Two chunks were committed, the third was lost. */
	assert_true(count(f, "SELECT count(*) FROM message") > 0);
	assert_true(count(f, "SELECT count(*) FROM message") < 360);

	o.chunk_hook = NULL;
	assert_int_equal(run_ingest(f, f->db, &o, &s), 0);
	snprintf(clean_path, sizeof(clean_path), "%s/clean.db", f->dir);
	clean_db = db_open(clean_path, true, err, sizeof(err));
	assert_non_null(clean_db);
	assert_int_equal(run_ingest(f, clean_db, NULL, &s), 0);
	assert_int_equal(s.messages, 360);
	resumed = dump(f->db);
	clean = dump(clean_db);
	assert_string_equal(resumed, clean);
	assert_int_equal(count(f, "SELECT count(*) FROM message"), 360);
	assert_int_equal(
	    count(f, "SELECT sum(messages) FROM rollup_minute"), 360);
	free(resumed);
	free(clean);
	db_close(clean_db);
}

/* Range files with a quoted AS name holding a comma and a quote. */
static void
write_geo(struct fixture *f)
{
	char path[256];

	snprintf(path, sizeof(path), "%s", f->geo);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/asn", f->geo);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/geolite2-country", f->geo);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/asn/asn-ipv4.csv", f->geo);
	append(path,
	    "192.0.2.0,192.0.2.127,64500,\"Example, \"\"Net\"\" Inc.\"\n"
	    "not,a,valid,line\n"
	    "198.51.100.0,198.51.100.255,64501,Plain Networks\n");
	snprintf(path, sizeof(path), "%s/asn/asn-ipv6.csv", f->geo);
	append(path, "2001:db8::,2001:db8::ffff,64502,Six Net\n");
	snprintf(path, sizeof(path),
	    "%s/geolite2-country/geolite2-country-ipv4.csv", f->geo);
	append(path,
	    "192.0.2.0,192.0.2.255,BR\n"
	    "198.51.100.0,198.51.100.127,US\n");
	snprintf(path, sizeof(path),
	    "%s/geolite2-country/geolite2-country-ipv6.csv", f->geo);
	append(path, "2001:db8::,2001:db8::ff,JP\n");
}

static void
enrich_uses_range_files(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], err[256], *name;
	uint64_t n;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	session_start(file, "2026-11-01T10:00:00Z", "a", "192.0.2.7", 1080);
	session_start(
	    file, "2026-11-01T10:00:00Z", "b", "198.51.100.200", 1080);
	session_start(file, "2026-11-01T10:00:00Z", "c", "2001:db8::1", 1080);
	session_start(file, "2026-11-01T10:00:00Z", "d", "203.0.113.9", 1080);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);

	/* Without the files every address stays pending. */
	assert_int_equal(
	    enrich_pending(f->db, f->geo, f->log_fp, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM ip"
			     " WHERE enriched = 0 AND asn IS NULL"),
	    4);
	fflush(f->log_fp);
	assert_non_null(strstr(f->log, "asn-ipv4.csv"));

	write_geo(f);
	assert_int_equal(
	    enrich_pending(f->db, f->geo, f->log_fp, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM ip WHERE enriched = 0"), 0);
	assert_int_equal(
	    count(f, "SELECT asn FROM ip WHERE ip = '192.0.2.7'"), 64500);
	name = text_of(f, "SELECT as_name FROM ip WHERE ip = '192.0.2.7'");
	assert_string_equal(name, "Example, \"Net\" Inc.");
	free(name);
	name = text_of(f, "SELECT country FROM ip WHERE ip = '192.0.2.7'");
	assert_string_equal(name, "BR");
	free(name);
	assert_int_equal(count(f,
			     "SELECT asn FROM ip"
			     " WHERE ip = '198.51.100.200'"),
	    64501);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM ip WHERE"
			     " ip = '198.51.100.200' AND country IS NULL"),
	    1);
	assert_int_equal(
	    count(f, "SELECT asn FROM ip WHERE ip = '2001:db8::1'"), 64502);
	name = text_of(f, "SELECT country FROM ip WHERE ip = '2001:db8::1'");
	assert_string_equal(name, "JP");
	free(name);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM ip WHERE"
			     " ip = '203.0.113.9' AND asn IS NULL"
			     " AND country IS NULL"),
	    1);
	/* Nothing is pending now, so nothing is looked up again. */
	assert_int_equal(
	    enrich_pending(f->db, f->geo, f->log_fp, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
}

/* Four emails: three from AS 64500 in BR on port 1080, one from US. */
static void
write_report_data(struct fixture *f)
{
	char file[256], err[256];
	struct ingest_stats s;
	uint64_t n;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	session_start(file, "2026-11-01T10:00:00Z", "a", "192.0.2.7", 1080);
	message(file, "2026-11-01T10:00:01Z", "a", 1, "192.0.2.7", 1080, 10);
	message(file, "2026-11-01T10:00:02Z", "a", 2, "192.0.2.7", 1080, 20);
	message(file, "2026-11-01T10:01:02Z", "a", 3, "192.0.2.7", 1080, 30);
	snprintf(file, sizeof(file), "%s/20261103T23.jsonl", f->events);
	session_start(file, "2026-11-03T23:59:59Z", "b", "198.51.100.9", 3128);
	message(file, "2026-11-03T23:59:59Z", "b", 1, "198.51.100.9", 3128, 40);
	write_geo(f);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(
	    enrich_pending(f->db, f->geo, f->log_fp, &n, err, sizeof(err)), 0);
}

static char *
report_to_string(
    struct fixture *f, enum report_format format, const char *since)
{
	struct report_options o = {.format = format, .top = 10, .since = since};
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_int_equal(report_write(f->db, &o, fp, err, sizeof(err)), 0);
	fclose(fp);
	return buf;
}

static void
report_json_matches_data(void **state)
{
	struct fixture *f = *state;
	char *out;
	json_t *root, *summary, *row;
	json_error_t jerr;

	write_report_data(f);
	out = report_to_string(f, REPORT_JSON, NULL);
	root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	summary = json_object_get(root, "summary");
	assert_string_equal(
	    json_string_value(json_object_get(summary, "first_day")),
	    "2026-11-01");
	assert_string_equal(
	    json_string_value(json_object_get(summary, "last_day")),
	    "2026-11-03");
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "days")), 3);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "emails")), 4);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "recipients")), 100);
	assert_true(json_real_value(json_object_get(
			summary, "recipients_per_email")) == 25.0);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "unique_ips")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "unique_asns")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "unique_countries")),
	    2);

	row = json_array_get(json_object_get(root, "top_asns"), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(row, "asn")), 64500);
	assert_int_equal(json_integer_value(json_object_get(row, "emails")), 3);
	assert_true(json_real_value(json_object_get(row, "percent")) == 75.0);
	row = json_array_get(json_object_get(root, "top_countries"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(row, "code")), "BR");
	assert_string_equal(
	    json_string_value(json_object_get(row, "country")), "Brazil");
	row = json_array_get(json_object_get(root, "top_countries"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(row, "code")), "US");
	assert_int_equal(json_integer_value(json_object_get(row, "emails")), 1);
	row = json_array_get(json_object_get(root, "service_ports"), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(row, "port")), 1080);
	assert_string_equal(
	    json_string_value(json_object_get(row, "service")), "SOCKS");
	row = json_array_get(json_object_get(root, "service_ports"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(row, "service")), "HTTP (Squid)");
	assert_int_equal(
	    json_array_size(json_object_get(root, "source_os")), 1);
	row = json_array_get(json_object_get(root, "source_os"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "rank")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(row, "class")), "Unknown");
	assert_int_equal(json_integer_value(json_object_get(row, "emails")), 4);
	assert_int_equal(
	    json_array_size(json_object_get(root, "spams_per_day")), 2);
	row = json_array_get(json_object_get(root, "spams_per_day"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(row, "day")), "2026-11-03");
	assert_int_equal(
	    json_integer_value(json_object_get(row, "recipients")), 40);
	json_decref(root);
	free(out);
}

static void
report_text_csv_md_match_data(void **state)
{
	struct fixture *f = *state;
	char *out;

	write_report_data(f);
	out = report_to_string(f, REPORT_CSV, NULL);
	assert_non_null(strstr(out, "table,first_day,last_day,days,emails,"));
	assert_non_null(strstr(
	    out, "\nsummary,2026-11-01,2026-11-03,3,4,100,25.00,2,2,2,0,0\n"));
	assert_non_null(strstr(
	    out, "\ntop_asns,1,64500,\"Example, \"\"Net\"\" Inc.\",3,75.00\n"));
	assert_non_null(strstr(out,
	    "\ntop_countries,2,US,United States,1,"
	    "25.00\n"));
	assert_non_null(strstr(out, "\nservice_ports,1,1080,SOCKS,3,75.00\n"));
	assert_non_null(strstr(out, "\nsource_os,1,Unknown,4,100.00\n"));
	assert_non_null(strstr(out, "\nspams_per_day,2026-11-01,3,60\n"));
	free(out);

	out = report_to_string(f, REPORT_MD, NULL);
	assert_non_null(strstr(out, "## Top ASNs\n"));
	assert_non_null(
	    strstr(out, "| 1 | 64500 | Example, \"Net\" Inc. | 3 | 75.00 |\n"));
	assert_non_null(strstr(out, "| Emails | 4 |\n"));
	assert_non_null(strstr(out, "| 2026-11-03 | 1 | 40 |\n"));
	free(out);

	out = report_to_string(f, REPORT_TEXT, NULL);
	assert_non_null(strstr(out, "  Emails                4\n"));
	assert_non_null(strstr(out, "  Recipients per email  25.00\n"));
	assert_non_null(strstr(out, "HTTP (Squid)"));
	assert_non_null(strstr(out, "  2026-11-01       3          60\n"));
	free(out);

	/* A period filter counts only its days. */
	out = report_to_string(f, REPORT_CSV, "2026-11-02");
	assert_non_null(strstr(
	    out, "\nsummary,2026-11-03,2026-11-03,1,1,40,40.00,1,1,1,0,0\n"));
	free(out);
}

static void
report_rejects_unknown_sensor(void **state)
{
	struct fixture *f = *state;
	struct report_options o = {
	    .format = REPORT_TEXT, .top = 10, .sensor = "nosuch"};
	char err[256];

	write_report_data(f);
	assert_int_equal(
	    report_write(f->db, &o, f->log_fp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nosuch"));
	o.sensor = "s1";
	assert_int_equal(
	    report_write(f->db, &o, f->log_fp, err, sizeof(err)), 0);
}

/* The line reader alone: lines cut at every byte boundary. */

struct collected {
	char lines[8][64];
	size_t lens[8];
	uint64_t ends[8];
	int n;
};

static int
collect(void *arg, const char *line, size_t len, uint64_t line_no, uint64_t end)
{
	struct collected *c = arg;

	assert_int_equal(line_no, (uint64_t)c->n + 1);
	assert_true(c->n < 8);
	c->lens[c->n] = len;
	c->ends[c->n] = end;
	if (line != NULL)
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%.*s", (int)len,
		    line);
	else
		strcpy(c->lines[c->n], "(overlong)");
	c->n++;
	return 0;
}

static void
line_reader_cuts_at_newlines(void **state)
{
	static const char input[] = "ab\n\ncde\nfg";
	struct collected c;
	struct line_reader r;
	size_t i;

	(void)state;
	memset(&c, 0, sizeof(c));
	line_reader_init(&r, 100, 0);
	for (i = 0; i < sizeof(input) - 1; i++)
		assert_int_equal(
		    line_reader_feed(&r, input + i, 1, collect, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.lines[0], "ab");
	assert_int_equal(c.ends[0], 103);
	assert_string_equal(c.lines[1], "");
	assert_string_equal(c.lines[2], "cde");
	assert_int_equal(c.ends[2], 108);
	assert_int_equal(r.offset, 108);
	assert_int_equal(r.partial_len, 2);
	line_reader_free(&r);
}

static void
line_reader_skips_overlong_line(void **state)
{
	size_t n = INGEST_LINE_MAX + 1, i;
	char *big = malloc(n);
	struct collected c;
	struct line_reader r;

	(void)state;
	assert_non_null(big);
	memset(big, 'y', n);
	memset(&c, 0, sizeof(c));
	line_reader_init(&r, 0, 0);
	/* Fed in pieces, so the line overflows the kept partial line. */
	for (i = 0; i < n; i += 1000)
		line_reader_feed(
		    &r, big + i, n - i < 1000 ? n - i : 1000, collect, &c);
	assert_int_equal(c.n, 0);
	assert_int_equal(r.partial_len, 0);
	line_reader_feed(&r, "\nok\n", 4, collect, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.lines[0], "(overlong)");
	assert_int_equal(c.lens[0], n);
	assert_string_equal(c.lines[1], "ok");
	assert_int_equal(r.offset, n + 4);
	/* A line of exactly the limit is kept. */
	line_reader_feed(&r, big, INGEST_LINE_MAX, collect, &c);
	line_reader_feed(&r, "\n", 1, collect, &c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.lens[2], INGEST_LINE_MAX);
	assert_string_not_equal(c.lines[2], "(overlong)");
	line_reader_free(&r);
	free(big);
}

static void
event_parse_rejects_invalid_values(void **state)
{
	static const struct {
		const char *line;
		const char *why;
	} cases[] = {
	    {"[1,2]", "not a JSON object"},
	    {"{\"event.action\":\"session.end\",\"session.id\":\"a\"}",
		"missing @timestamp"},
	    {"{\"@timestamp\":\"2026-02-30T00:00:00Z\","
	     "\"event.action\":\"session.end\",\"session.id\":\"a\"}",
		"@timestamp is not an RFC 3339 UTC time"},
	    {"{\"@timestamp\":\"2026-02-01T00:00:00Z\","
	     "\"event.action\":\"session.start\",\"session.id\":\"a\","
	     "\"source.ip\":\"999.1.1.1\",\"destination.port\":25}",
		"source.ip is not an IP address"},
	    {"{\"@timestamp\":\"2026-02-01T00:00:00Z\","
	     "\"event.action\":\"session.start\",\"session.id\":\"a\","
	     "\"source.ip\":\"192.0.2.1\",\"destination.port\":70000}",
		"destination.port is not a port number"},
	    {"{\"@timestamp\":\"2026-02-01T00:00:00Z\","
	     "\"event.action\":\"message.stored\",\"session.id\":\"a\","
	     "\"source.ip\":\"192.0.2.1\",\"destination.port\":25,"
	     "\"message.seq\":1,\"smtp.rcpt_count\":1,"
	     "\"message.sha256\":\"../../etc/passwd\"}",
		"message.sha256 is not a lowercase hex SHA-256"},
	    {"{\"@timestamp\":\"2026-02-01T00:00:00Z\","
	     "\"event.action\":\"message.stored\",\"session.id\":\"a\","
	     "\"source.ip\":\"192.0.2.1\",\"destination.port\":25,"
	     "\"message.seq\":1,\"smtp.rcpt_count\":-1}",
		"smtp.rcpt_count is not a non-negative integer"},
	    {"{\"@timestamp\":\"2026-02-01T00:00:00Z\","
	     "\"event.action\":\"message.stored\",\"session.id\":\"a\","
	     "\"source.ip\":\"192.0.2.1\",\"destination.port\":25,"
	     "\"message.seq\":1,\"smtp.rcpt_count\":1,"
	     "\"smtp.rcpt_to\":[\"a\",2]}",
		"smtp.rcpt_to is not an array of strings"},
	};
	struct event ev;
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    event_parse(cases[i].line, strlen(cases[i].line), &ev, why,
			sizeof(why)),
		    -1);
		assert_string_equal(why, cases[i].why);
	}
}

static void
event_parse_maps_fields(void **state)
{
	static const char line[] =
	    "{\"@timestamp\":\"2026-11-01T10:00:01.25Z\","
	    "\"event.action\":\"session.start\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"x-1\",\"source.ip\":\"::ffff:192.0.2.1\","
	    "\"source.port\":5555,\"destination.port\":1080}";
	struct event ev;
	char why[256];

	(void)state;
	assert_int_equal(
	    event_parse(line, strlen(line), &ev, why, sizeof(why)), 0);
	assert_int_equal(ev.kind, EVENT_SESSION_START);
	assert_int_equal(ev.usec, 1793527201250000LL);
	assert_string_equal(ev.day, "2026-11-01");
	assert_string_equal(ev.source_ip, "::ffff:192.0.2.1");
	assert_int_equal(ev.source_port, 5555);
	assert_int_equal(ev.listener_port, -1);
	assert_null(ev.relay_ip[0] ? ev.relay_ip : NULL);
	event_free(&ev);
}

/* SMTP AUTH attempts, as the sensor logs them, next to a SOCKS5 login. */
static void
write_auth_events(const char *file)
{
	session_start(file, "2026-11-01T10:00:00Z", "m", "192.0.2.7", 25);
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:01Z\","
	    "\"event.action\":\"smtp.auth\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"m\",\"smtp.auth.mechanism\":\"PLAIN\","
	    "\"user.name\":\"alice\",\"user.password\":\"hunter2\","
	    "\"event.outcome\":\"success\",\"source.ip\":\"192.0.2.7\","
	    "\"destination.port\":25,\"tls.version\":\"TLSv1.3\","
	    "\"tls.cipher\":\"TLS_AES_256_GCM_SHA384\"}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:02Z\","
	    "\"event.action\":\"smtp.auth\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"m\",\"smtp.auth.mechanism\":\"CRAM-MD5\","
	    "\"user.name\":\"bob\","
	    "\"user.password_digest\":\"b913a602c7eda7a495b4e6e7334d3890\","
	    "\"smtp.auth.challenge\":\"<1896.697170952@postoffice.example>\","
	    "\"event.outcome\":\"failure\"}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:03Z\","
	    "\"event.action\":\"smtp.auth\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"m\",\"smtp.auth.mechanism\":\"LOGIN\","
	    "\"user.name\":null,\"event.outcome\":\"failure\","
	    "\"event.reason\":\"cancelled\"}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:00:04Z\","
	    "\"event.action\":\"proxy.auth\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"m\",\"proxy.protocol\":\"socks5\","
	    "\"user.name\":\"root\",\"user.password\":\"toor\","
	    "\"event.outcome\":\"failure\"}\n");
}

static void
smtp_auth_rows_are_stored(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], *text, *before, *after;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	write_auth_events(file);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.bad_lines, 0);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM auth WHERE protocol = 'smtp'"), 3);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM auth WHERE protocol ="
			     " 'socks5' AND mechanism IS NULL"),
	    1);
	text = text_of(f,
	    "SELECT user_name || ':' || password || ':' || outcome"
	    " FROM auth WHERE mechanism = 'PLAIN'");
	assert_string_equal(text, "alice:hunter2:success");
	free(text);
	text = text_of(f,
	    "SELECT tls_version || ' ' || tls_cipher FROM auth"
	    " WHERE mechanism = 'PLAIN'");
	assert_string_equal(text, "TLSv1.3 TLS_AES_256_GCM_SHA384");
	free(text);
	text = text_of(f,
	    "SELECT password_digest FROM auth"
	    " WHERE mechanism = 'CRAM-MD5' AND password IS NULL");
	assert_string_equal(text, "b913a602c7eda7a495b4e6e7334d3890");
	free(text);
	text = text_of(
	    f, "SELECT challenge FROM auth WHERE mechanism = 'CRAM-MD5'");
	assert_string_equal(text, "<1896.697170952@postoffice.example>");
	free(text);
	text = text_of(f,
	    "SELECT reason FROM auth WHERE mechanism = 'LOGIN'"
	    " AND user_name IS NULL");
	assert_string_equal(text, "cancelled");
	free(text);

	/* Read again, a row without a user name must not come back. */
	before = dump(f->db);
	assert_int_equal(sqlite3_exec(db_handle(f->db),
			     "DELETE FROM ingested_file", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.duplicates, 5);
	after = dump(f->db);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
probe_message(const char *file, const char *ts, const char *sid, int seq,
    const char *ip, int port)
{
	append(file,
	    "{\"@timestamp\":\"%s\",\"event.action\":\"message.stored\","
	    "\"sensor.name\":\"s1\",\"session.id\":\"%s\","
	    "\"message.sha256\":\"" SHA_A "\",\"message.size\":300,"
	    "\"message.seq\":%d,\"smtp.mail_from\":\"check@example.net\","
	    "\"smtp.rcpt_to\":[\"check@example.net\"],"
	    "\"smtp.rcpt_count\":1,\"source.ip\":\"%s\","
	    "\"destination.port\":%d,\"proxy.protocol\":\"socks5\","
	    "\"proxy.target\":\"192.0.2.1:25\",\"message.probe\":true,"
	    "\"message.probe_reason\":\"address 192.0.2.1:1080\","
	    "\"message.probe_relay\":\"queued\",\"proxy.hops\":2,"
	    "\"proxy.chain\":[\"socks5:192.0.2.1:8080\","
	    "\"http:192.0.2.1:25\"],\"tls.version\":\"TLSv1.2\","
	    "\"tls.cipher\":\"ECDHE-RSA-AES128-GCM-SHA256\"}\n",
	    ts, sid, seq, ip, port);
}

/*
 * One spam message and one probe from 192.0.2.7, a probe alone from
 * 198.51.100.9, a judge check, a refused request and a sink tunnel.
 */
static void
write_probe_data(struct fixture *f)
{
	char file[256];

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	session_start(file, "2026-11-01T10:00:00Z", "a", "192.0.2.7", 1080);
	message(file, "2026-11-01T10:00:01Z", "a", 1, "192.0.2.7", 1080, 10);
	probe_message(file, "2026-11-01T10:00:02Z", "a", 2, "192.0.2.7", 1080);
	session_start(file, "2026-11-01T10:05:00Z", "b", "198.51.100.9", 8080);
	probe_message(
	    file, "2026-11-01T10:05:01Z", "b", 1, "198.51.100.9", 8080);
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:05:02Z\","
	    "\"event.action\":\"proxy.request\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"b\",\"proxy.protocol\":\"http\","
	    "\"proxy.command\":\"GET\",\"proxy.target\":\"judge.example:80\","
	    "\"proxy.target.host\":\"judge.example\","
	    "\"proxy.target.port\":80,"
	    "\"url.full\":\"http://judge.example/azenv.php\","
	    "\"proxy.hops\":1,\"proxy.chain\":[\"http:judge.example:80\"],"
	    "\"proxy.probe\":true,\"http.request.body\":\"aGk=\","
	    "\"http.request.body_size\":2,"
	    "\"http.request.body_truncated\":false,"
	    "\"http.request.body_sha256\":\"" SHA_A "\","
	    "\"http.request.header_count\":2,"
	    "\"http.request.headers\":[\"Host: judge.example\","
	    "\"Accept: */*\"],\"event.outcome\":\"answered\","
	    "\"proxy.reply\":200}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:05:03Z\","
	    "\"event.action\":\"proxy.request\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"b\",\"proxy.protocol\":\"http\","
	    "\"proxy.command\":\"CONNECT\","
	    "\"proxy.target\":\"203.0.113.5:443\","
	    "\"proxy.target.host\":\"203.0.113.5\","
	    "\"proxy.target.port\":443,\"proxy.hops\":0,\"proxy.chain\":[],"
	    "\"http.via_tunnel\":true,\"proxy.probe\":false,"
	    "\"event.outcome\":\"tunnel\",\"proxy.reply\":200}\n");
	append(file,
	    "{\"@timestamp\":\"2026-11-01T10:05:09Z\","
	    "\"event.action\":\"proxy.tunnel\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"b\",\"proxy.protocol\":\"http\","
	    "\"proxy.target\":\"203.0.113.5:443\",\"tunnel.bytes\":517,"
	    "\"tunnel.first_bytes\":\"160301\","
	    "\"tls.client.server_name\":\"www.example.com\"}\n");
}

static void
probes_are_counted_apart(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char *text, *before, *after;

	write_probe_data(f);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.bad_lines, 0);
	assert_int_equal(s.messages, 3);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM message WHERE probe = 1"), 2);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM message WHERE probe IS NULL"), 1);
	text = text_of(f,
	    "SELECT probe_reason || '|' || probe_relay || '|' || proxy_hops"
	    " || '|' || proxy_chain || '|' || tls_version FROM message"
	    " WHERE session_id = 'b'");
	assert_string_equal(text,
	    "address 192.0.2.1:1080|queued|2|"
	    "[\"socks5:192.0.2.1:8080\",\"http:192.0.2.1:25\"]|TLSv1.2");
	free(text);

	/* The spam rollups leave both probes out. */
	assert_int_equal(
	    count(f, "SELECT sum(messages) FROM rollup_minute"), 1);
	assert_int_equal(
	    count(f, "SELECT sum(recipients) FROM rollup_minute"), 10);
	assert_int_equal(count(f, "SELECT sum(probes) FROM rollup_minute"), 2);
	assert_int_equal(count(f,
			     "SELECT judge_checks FROM rollup_minute"
			     " WHERE service_port = 8080 AND judge_checks > 0"),
	    1);
	assert_int_equal(count(f,
			     "SELECT probes FROM rollup_ip_day"
			     " WHERE source_ip = '198.51.100.9'"
			     " AND messages = 0 AND recipients = 0"),
	    1);
	assert_int_equal(count(f,
			     "SELECT messages FROM rollup_ip_day"
			     " WHERE source_ip = '192.0.2.7' AND probes = 1"),
	    1);
	assert_int_equal(
	    count(f, "SELECT sum(messages) FROM rollup_os_day"), 1);

	/* Proxy requests keep the judge flag, chain, headers and body. */
	text = text_of(f,
	    "SELECT probe || '|' || hops || '|' || chain || '|' ||"
	    " header_count || '|' || headers || '|' || body || '|' ||"
	    " body_size || '|' || body_truncated FROM proxy_request"
	    " WHERE command = 'GET'");
	assert_string_equal(text,
	    "1|1|[\"http:judge.example:80\"]|2|"
	    "[\"Host: judge.example\",\"Accept: */*\"]|aGk=|2|0");
	free(text);
	assert_int_equal(count(f,
			     "SELECT via_tunnel FROM proxy_request"
			     " WHERE command = 'CONNECT' AND probe = 0"),
	    1);
	text = text_of(f,
	    "SELECT target || '|' || bytes || '|' || first_bytes || '|' ||"
	    " server_name FROM proxy_tunnel");
	assert_string_equal(text, "203.0.113.5:443|517|160301|www.example.com");
	free(text);

	/* Read again, nothing is added and no rollup grows. */
	before = dump(f->db);
	assert_int_equal(sqlite3_exec(db_handle(f->db),
			     "DELETE FROM ingested_file", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.messages, 0);
	after = dump(f->db);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
report_counts_probes_apart(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char *out, err[256];
	json_t *root, *summary, *row;
	json_error_t jerr;
	uint64_t n;

	write_probe_data(f);
	write_geo(f);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(
	    enrich_pending(f->db, f->geo, f->log_fp, &n, err, sizeof(err)), 0);

	out = report_to_string(f, REPORT_JSON, NULL);
	root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	summary = json_object_get(root, "summary");
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "emails")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "recipients")), 10);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "unique_ips")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "probe_messages")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "judge_checks")), 1);
	/* 198.51.100.9 sent only a probe, so AS 64501 and US are absent. */
	assert_int_equal(json_array_size(json_object_get(root, "top_asns")), 1);
	row = json_array_get(json_object_get(root, "top_asns"), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(row, "asn")), 64500);
	assert_true(json_real_value(json_object_get(row, "percent")) == 100.0);
	assert_int_equal(
	    json_array_size(json_object_get(root, "top_countries")), 1);
	row = json_array_get(json_object_get(root, "source_os"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "emails")), 1);
	row = json_array_get(json_object_get(root, "spams_per_day"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "emails")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(row, "recipients")), 10);
	json_decref(root);
	free(out);

	out = report_to_string(f, REPORT_CSV, NULL);
	assert_non_null(strstr(out,
	    ",unique_countries,probe_messages,"
	    "judge_checks\n"));
	assert_non_null(strstr(
	    out, "\nsummary,2026-11-01,2026-11-01,1,1,10,10.00,1,1,1,2,1\n"));
	assert_non_null(strstr(out, "\ntop_asns,1,64500,"));
	assert_null(strstr(out, "\ntop_asns,2,"));
	assert_non_null(strstr(out, "\nservice_ports,1,1080,SOCKS,1,100.00\n"));
	assert_non_null(strstr(out, "\nservice_ports,2,8080,HTTP,0,0.00\n"));
	free(out);

	out = report_to_string(f, REPORT_MD, NULL);
	assert_non_null(strstr(out, "| Emails | 1 |\n"));
	assert_non_null(strstr(out, "| Recipients | 10 |\n"));
	assert_non_null(strstr(out, "| Probe messages | 2 |\n"));
	assert_non_null(strstr(out, "| Judge checks | 1 |\n"));
	free(out);

	out = report_to_string(f, REPORT_TEXT, NULL);
	assert_non_null(strstr(out, "  Emails                1\n"));
	assert_non_null(strstr(out, "  Probe messages        2\n"));
	assert_non_null(strstr(out, "  Judge checks          1\n"));
	assert_null(strstr(out, "Plain Networks"));
	free(out);
}

/*
 * Undo schema versions 6, 5 and 4 on an open database, as a file
 * written by the build before them would be.  Version 6 rebuilt the
 * session, message and proxy_request tables, so they are rebuilt here
 * in their version 3 layout, keyed by the text session id.
 */
static const char downgrade_to_v3[] =
    "CREATE TABLE session_v3 ("
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL, source_ip TEXT, source_port INTEGER,"
    " source_os_signature TEXT, relay_ip TEXT, destination_ip TEXT,"
    " service_port INTEGER, listener_port INTEGER,"
    " listener_service TEXT, proxy_protocol TEXT, proxy_target TEXT,"
    " start_time TEXT, end_time TEXT, duration_ms INTEGER,"
    " bytes_in INTEGER, bytes_out INTEGER, messages INTEGER,"
    " end_reason TEXT, os_signature_id INTEGER, os_class TEXT,"
    " os_label TEXT, os_generic INTEGER, os_fuzzy INTEGER,"
    " PRIMARY KEY (sensor_id, session_id));"
    "INSERT INTO session_v3 SELECT sensor_id, session_id, source_ip,"
    " source_port, source_os_signature, relay_ip, destination_ip,"
    " service_port, listener_port, listener_service, proxy_protocol,"
    " proxy_target, start_time, end_time, duration_ms, bytes_in,"
    " bytes_out, messages, end_reason, os_signature_id, os_class,"
    " os_label, os_generic, os_fuzzy FROM session;"
    "CREATE TABLE message_v3 (id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " time TEXT NOT NULL, day TEXT NOT NULL, source_ip TEXT,"
    " service_port INTEGER, protocol TEXT, proxy_target TEXT,"
    " helo TEXT, esmtp INTEGER, mail_from TEXT, rcpt_count INTEGER,"
    " rcpt TEXT, size INTEGER, sha256 TEXT, queue_id TEXT,"
    " personality TEXT, UNIQUE (sensor_id, session_id, seq));"
    "INSERT INTO message_v3 SELECT id, sensor_id, session_id, seq,"
    " time, day, source_ip, service_port, protocol, proxy_target, helo,"
    " esmtp, mail_from, rcpt_count, rcpt, size, sha256, queue_id,"
    " personality FROM message;"
    "CREATE TABLE proxy_request_v3 (id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL, time TEXT NOT NULL, protocol TEXT,"
    " command TEXT, target TEXT, target_host TEXT,"
    " target_port INTEGER, user_name TEXT, outcome TEXT, reply TEXT,"
    " url TEXT, UNIQUE (sensor_id, session_id, time, command, target));"
    "INSERT INTO proxy_request_v3 SELECT id, sensor_id, session_id,"
    " time, protocol, command, target, target_host, target_port,"
    " user_name, outcome, reply, url FROM proxy_request;"
    "DROP TABLE session;"
    "DROP TABLE message;"
    "DROP TABLE proxy_request;"
    "ALTER TABLE session_v3 RENAME TO session;"
    "ALTER TABLE message_v3 RENAME TO message;"
    "ALTER TABLE proxy_request_v3 RENAME TO proxy_request;"
    "CREATE INDEX session_source_ip ON session(source_ip);"
    "CREATE INDEX message_day ON message(day);"
    "CREATE INDEX message_sha256 ON message(sha256);"
    "CREATE INDEX proxy_request_target ON proxy_request(target_host);"
    "DROP TABLE body;"
    "DROP INDEX auth_attempt;"
    "DROP TABLE proxy_tunnel;"
    "ALTER TABLE auth DROP COLUMN mechanism;"
    "ALTER TABLE auth DROP COLUMN password_digest;"
    "ALTER TABLE auth DROP COLUMN challenge;"
    "ALTER TABLE auth DROP COLUMN reason;"
    "ALTER TABLE auth DROP COLUMN tls_version;"
    "ALTER TABLE auth DROP COLUMN tls_cipher;"
    "ALTER TABLE rollup_minute DROP COLUMN probes;"
    "ALTER TABLE rollup_minute DROP COLUMN judge_checks;"
    "ALTER TABLE rollup_ip_day DROP COLUMN probes;"
    "DELETE FROM schema_version WHERE version >= 4;";

static void
old_database_migrates(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256], err[256], *out;
	json_t *root, *summary;
	json_error_t jerr;

	snprintf(file, sizeof(file), "%s/20261101T10.jsonl", f->events);
	session_start(file, "2026-11-01T10:00:00Z", "a", "192.0.2.7", 1080);
	message(file, "2026-11-01T10:00:01Z", "a", 1, "192.0.2.7", 1080, 10);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(
	    sqlite3_exec(db_handle(f->db), downgrade_to_v3, NULL, NULL, NULL),
	    SQLITE_OK);
	/* Version 3 let two rows without a password in. */
	assert_int_equal(sqlite3_exec(db_handle(f->db),
			     "INSERT INTO auth(sensor_id, session_id, time,"
			     " protocol, user_name) VALUES"
			     " (1, 'a', 't', 'socks5', 'root'),"
			     " (1, 'a', 't', 'socks5', 'root')",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	/* A proxy request whose session has no row yet. */
	assert_int_equal(sqlite3_exec(db_handle(f->db),
			     "INSERT INTO proxy_request(sensor_id,"
			     " session_id, time, command, target) VALUES"
			     " (1, 'b', 't', 'CONNECT', 'mx.example.org:25')",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	db_close(f->db);

	f->db = db_open(f->db_path, false, err, sizeof(err));
	assert_non_null(f->db);
	assert_int_equal(count(f, "SELECT max(version) FROM schema_version"),
	    DB_SCHEMA_VERSION);
	assert_int_equal(count(f, "SELECT count(*) FROM auth"), 1);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM message WHERE probe IS NULL"), 1);
	assert_int_equal(count(f, "SELECT sum(probes) FROM rollup_minute"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM body"), 1);
	/* No pack was read, so the body's location is unknown. */
	assert_int_equal(count(f,
			     "SELECT count(*) FROM body WHERE pack IS NULL"
			     " AND offset IS NULL AND length IS NULL"),
	    1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM sqlite_schema"
			     " WHERE name = 'message_sha256'"),
	    0);
	/* Rows point at their session's row, added when it was missing. */
	assert_int_equal(count(f, "SELECT count(*) FROM session"), 2);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM message m JOIN session s"
			     " ON s.id = m.session_ref WHERE s.session_id = 'a'"
			     " AND s.start_time IS NOT NULL"),
	    1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM proxy_request p"
			     " JOIN session s ON s.id = p.session_ref"
			     " WHERE s.session_id = 'b'"
			     " AND s.start_time IS NULL"),
	    1);

	/* New events go into the migrated file; the old message is spam. */
	snprintf(file, sizeof(file), "%s/20261101T11.jsonl", f->events);
	probe_message(file, "2026-11-01T11:00:00Z", "a", 2, "192.0.2.7", 1080);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.messages, 1);
	out = report_to_string(f, REPORT_JSON, NULL);
	root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	summary = json_object_get(root, "summary");
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "emails")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(summary, "probe_messages")), 1);
	json_decref(root);
	free(out);
}

/* A new database gets 16 KiB pages; an ingest keeps them. */
static void
new_database_page_size(void **state)
{
	struct fixture *f = *state;
	struct ingest_stats s;
	char file[256];

	assert_int_equal(count(f, "PRAGMA page_size"), 16384);
	snprintf(file, sizeof(file), "%s/20261204T120000.jsonl", f->events);
	session_start(
	    file, "2026-12-04T12:00:00.000001Z", "p-1", "192.0.2.7", 1080);
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(count(f, "PRAGMA page_size"), 16384);
	/* 256 MiB of WAL in 16 KiB pages. */
	assert_int_equal(count(f, "PRAGMA wal_autocheckpoint"), 16384);
}

/* A NUL a peer sent stays visible, as U+2400, with what follows it. */
static void
nul_in_peer_string_kept(void **state)
{
	struct fixture *f = *state;
	char file[256];
	struct ingest_stats s;
	char *helo, *from;

	snprintf(file, sizeof(file), "%s/20261204T110000.jsonl", f->events);
	append(file,
	    "{\"@timestamp\":\"2026-12-04T11:00:01Z\","
	    "\"event.action\":\"message.stored\",\"sensor.name\":\"s1\","
	    "\"session.id\":\"n-1\",\"message.sha256\":\"" SHA_A "\","
	    "\"message.size\":10,\"message.seq\":1,\"smtp.rcpt_count\":1,"
	    "\"smtp.helo\":\"pc\\u0000\\u0000evil\","
	    "\"smtp.mail_from\":\"\\u0000a@example.com\","
	    "\"source.ip\":\"192.0.2.7\",\"destination.port\":25}\n");
	assert_int_equal(run_ingest(f, f->db, NULL, &s), 0);
	assert_int_equal(s.messages, 1);
	helo = text_of(f, "SELECT helo FROM message");
	from = text_of(f, "SELECT mail_from FROM message");
	assert_non_null(helo);
	assert_non_null(from);
	assert_string_equal(helo, "pc\xe2\x90\x80\xe2\x90\x80" "evil");
	assert_string_equal(from, "\xe2\x90\x80" "a@example.com");
	free(helo);
	free(from);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		new_database_page_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		nul_in_peer_string_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		ingest_counts_rows_and_offsets, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		ingest_twice_gives_same_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		ingest_completes_partial_line_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		ingest_sensor_override_and_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		proxy_request_is_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		message_before_session_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		rejected_and_fingerprinted_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		ingest_resumes_after_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		enrich_uses_range_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		report_json_matches_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		report_text_csv_md_match_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		report_rejects_unknown_sensor, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		smtp_auth_rows_are_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		probes_are_counted_apart, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		report_counts_probes_apart, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		old_database_migrates, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		packs_indexed_with_locations, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		pack_resumes_and_keeps_location, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		pack_with_cut_tail_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		damaged_pack_is_reported_and_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		pack_sensor_from_events_or_option, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		pack_indexed_in_small_chunks, setup, teardown),
	    cmocka_unit_test(line_reader_cuts_at_newlines),
	    cmocka_unit_test(line_reader_skips_overlong_line),
	    cmocka_unit_test(event_parse_rejects_invalid_values),
	    cmocka_unit_test(event_parse_maps_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
