/*
 * The SQLite store.  The schema is a list of migrations, one per
 * version, applied in order inside one transaction.  A file written by
 * an older build is thus brought up to date on open, and a crash during
 * a migration leaves the old version intact.
 *
 * Counts that reports need are kept in rollup tables at ingest, per
 * minute and per source address and day, so that a report reads a few
 * thousand rows where the message table may hold millions.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Milliseconds to wait for another writer, such as a running ingest. */
#define DB_BUSY_TIMEOUT_MS 10000

/*
 * Page size of a new database, in bytes (text, for the PRAGMA).  Against
 * SQLite's default of 4096, an ingest of 250,000 messages took about 8 %
 * less user time and a third to a half less system time, the database
 * came out 13 % smaller, and the report took as long (bench/README.md).
 */
#define DB_PAGE_SIZE "16384"

struct db {
	sqlite3 *handle;
	sqlite3_stmt *stmts[STMT_COUNT];
};

/* Schema version 1: the first layout. */
static const char schema_v1[] =
    "CREATE TABLE sensor ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " version TEXT,"
    " started TEXT);"
    "CREATE TABLE ingested_file ("
    " path TEXT PRIMARY KEY,"
    " sensor_id INTEGER REFERENCES sensor(id),"
    " offset_bytes INTEGER NOT NULL,"
    " lines INTEGER NOT NULL);"
    "CREATE TABLE session ("
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " source_ip TEXT,"
    " source_port INTEGER,"
    " source_os_signature TEXT,"
    " relay_ip TEXT,"
    " destination_ip TEXT,"
    " service_port INTEGER,"
    " listener_port INTEGER,"
    " listener_service TEXT,"
    " proxy_protocol TEXT,"
    " proxy_target TEXT,"
    " start_time TEXT,"
    " end_time TEXT,"
    " duration_ms INTEGER,"
    " bytes_in INTEGER,"
    " bytes_out INTEGER,"
    " messages INTEGER,"
    " end_reason TEXT,"
    " PRIMARY KEY (sensor_id, session_id));"
    "CREATE INDEX session_source_ip ON session(source_ip);"
    "CREATE TABLE message ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " time TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " source_ip TEXT,"
    " service_port INTEGER,"
    " protocol TEXT,"
    " proxy_target TEXT,"
    " helo TEXT,"
    " esmtp INTEGER,"
    " mail_from TEXT,"
    " rcpt_count INTEGER,"
    " rcpt TEXT,"
    " size INTEGER,"
    " sha256 TEXT,"
    " queue_id TEXT,"
    " personality TEXT,"
    " UNIQUE (sensor_id, session_id, seq));"
    "CREATE INDEX message_day ON message(day);"
    "CREATE TABLE auth ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " protocol TEXT,"
    " user_name TEXT,"
    " password TEXT,"
    " outcome TEXT,"
    " UNIQUE (sensor_id, session_id, time, user_name, password));"
    "CREATE TABLE proxy_request ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " protocol TEXT,"
    " command TEXT,"
    " target TEXT,"
    " target_host TEXT,"
    " target_port INTEGER,"
    " user_name TEXT,"
    " outcome TEXT,"
    " reply TEXT,"
    " url TEXT,"
    " UNIQUE (sensor_id, session_id, time, command, target));"
    "CREATE INDEX proxy_request_target ON proxy_request(target_host);"
    "CREATE TABLE ip ("
    " ip TEXT PRIMARY KEY,"
    " asn INTEGER,"
    " as_name TEXT,"
    " country TEXT,"
    " os_class TEXT NOT NULL DEFAULT 'Unknown',"
    " os_label TEXT,"
    " enriched INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX ip_pending ON ip(enriched) WHERE enriched = 0;"
    "CREATE INDEX ip_asn ON ip(asn);"
    "CREATE TABLE rollup_minute ("
    " minute INTEGER NOT NULL,"
    " sensor_id INTEGER NOT NULL,"
    " service_port INTEGER NOT NULL,"
    " messages INTEGER NOT NULL DEFAULT 0,"
    " recipients INTEGER NOT NULL DEFAULT 0,"
    " connections INTEGER NOT NULL DEFAULT 0,"
    " bytes_in INTEGER NOT NULL DEFAULT 0,"
    " bytes_out INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (minute, sensor_id, service_port)) WITHOUT ROWID;"
    "CREATE TABLE rollup_ip_day ("
    " day TEXT NOT NULL,"
    " sensor_id INTEGER NOT NULL,"
    " source_ip TEXT NOT NULL,"
    " messages INTEGER NOT NULL DEFAULT 0,"
    " recipients INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, sensor_id, source_ip)) WITHOUT ROWID;"
    "CREATE INDEX rollup_ip_day_ip ON rollup_ip_day(source_ip);";

/*
 * Schema version 2: one row per collection attempt, for spampot status,
 * and an index that lets the collector check that a body it is about to
 * confirm belongs to an ingested message.
 */
static const char schema_v2[] =
    "CREATE TABLE collect_attempt ("
    " id INTEGER PRIMARY KEY,"
    " sensor TEXT NOT NULL,"
    " start_time TEXT NOT NULL,"
    " duration_ms INTEGER NOT NULL,"
    " outcome TEXT NOT NULL,"
    " bytes INTEGER,"
    " messages INTEGER,"
    " confirmed INTEGER,"
    " error TEXT);"
    "CREATE INDEX collect_attempt_sensor"
    " ON collect_attempt(sensor, outcome, start_time);"
    "CREATE INDEX message_sha256 ON message(sha256);";

/*
 * Schema version 3: the p0f match of each distinct SYN signature, kept
 * on the session and on the address (the class of its latest SYN), and
 * emails per day and signature so that the OS tables need no join of
 * the message table.  Signature id 0 in the rollup is "no signature".
 * Rows of an older file get their signatures listed unmatched
 * (matched = 0), which the next ingest, report or reclassify matches.
 */
static const char schema_v3[] =
    "CREATE TABLE os_signature ("
    " id INTEGER PRIMARY KEY,"
    " signature TEXT NOT NULL UNIQUE,"
    " os_class TEXT NOT NULL DEFAULT 'Unknown',"
    " os_label TEXT,"
    " os_generic INTEGER NOT NULL DEFAULT 0,"
    " os_fuzzy INTEGER NOT NULL DEFAULT 0,"
    " matched INTEGER NOT NULL DEFAULT 0);"
    "ALTER TABLE session ADD COLUMN os_signature_id INTEGER;"
    "ALTER TABLE session ADD COLUMN os_class TEXT;"
    "ALTER TABLE session ADD COLUMN os_label TEXT;"
    "ALTER TABLE session ADD COLUMN os_generic INTEGER;"
    "ALTER TABLE session ADD COLUMN os_fuzzy INTEGER;"
    "ALTER TABLE ip ADD COLUMN os_generic INTEGER;"
    "ALTER TABLE ip ADD COLUMN os_fuzzy INTEGER;"
    "ALTER TABLE ip ADD COLUMN os_time TEXT;"
    "CREATE TABLE rollup_os_day ("
    " day TEXT NOT NULL,"
    " sensor_id INTEGER NOT NULL,"
    " os_signature_id INTEGER NOT NULL,"
    " messages INTEGER NOT NULL DEFAULT 0,"
    " recipients INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, sensor_id, os_signature_id)) WITHOUT ROWID;"
    "INSERT INTO os_signature(signature)"
    " SELECT DISTINCT source_os_signature FROM session"
    " WHERE source_os_signature IS NOT NULL AND relay_ip IS NULL;"
    "UPDATE session SET os_signature_id = (SELECT id FROM os_signature"
    " WHERE signature = session.source_os_signature)"
    " WHERE relay_ip IS NULL;"
    "INSERT INTO rollup_os_day SELECT m.day, m.sensor_id,"
    " coalesce(s.os_signature_id, 0), count(*),"
    " coalesce(sum(m.rcpt_count), 0) FROM message m"
    " LEFT JOIN session s ON s.sensor_id = m.sensor_id"
    " AND s.session_id = m.session_id GROUP BY 1, 2, 3;";

/*
 * Schema version 4: proxy checkers' probes, SMTP AUTH and tunnels.
 * Messages and proxy requests carry their probe flag and the chain
 * they came through.  From this version on, the messages and
 * recipients of every rollup count spam only, that is messages not
 * marked probe, and probes and judge_checks count the rest, so every
 * table read from a rollup counts spam.  Messages stored before this
 * version have no flag and count as spam.  An SMTP AUTH row may lack
 * a user name or a password, and SQL takes two NULLs as distinct, so
 * a unique index over their coalesced values keeps a line read twice
 * from adding a row; duplicates already there are removed first.
 */
static const char schema_v4[] =
    "ALTER TABLE message ADD COLUMN probe INTEGER;"
    "ALTER TABLE message ADD COLUMN probe_reason TEXT;"
    "ALTER TABLE message ADD COLUMN probe_relay TEXT;"
    "ALTER TABLE message ADD COLUMN proxy_hops INTEGER;"
    "ALTER TABLE message ADD COLUMN proxy_chain TEXT;"
    "ALTER TABLE message ADD COLUMN tls_version TEXT;"
    "ALTER TABLE message ADD COLUMN tls_cipher TEXT;"
    "ALTER TABLE auth ADD COLUMN mechanism TEXT;"
    "ALTER TABLE auth ADD COLUMN password_digest TEXT;"
    "ALTER TABLE auth ADD COLUMN challenge TEXT;"
    "ALTER TABLE auth ADD COLUMN reason TEXT;"
    "ALTER TABLE auth ADD COLUMN tls_version TEXT;"
    "ALTER TABLE auth ADD COLUMN tls_cipher TEXT;"
    "DELETE FROM auth WHERE id NOT IN (SELECT min(id) FROM auth"
    " GROUP BY sensor_id, session_id, time, coalesce(protocol, ''),"
    " coalesce(user_name, ''), coalesce(password, ''));"
    "CREATE UNIQUE INDEX auth_attempt ON auth(sensor_id, session_id,"
    " time, coalesce(protocol, ''), coalesce(user_name, ''),"
    " coalesce(password, ''), coalesce(password_digest, ''));"
    "ALTER TABLE proxy_request ADD COLUMN probe INTEGER;"
    "ALTER TABLE proxy_request ADD COLUMN hops INTEGER;"
    "ALTER TABLE proxy_request ADD COLUMN chain TEXT;"
    "ALTER TABLE proxy_request ADD COLUMN via_tunnel INTEGER;"
    "ALTER TABLE proxy_request ADD COLUMN header_count INTEGER;"
    "ALTER TABLE proxy_request ADD COLUMN headers TEXT;"
    "ALTER TABLE proxy_request ADD COLUMN body TEXT;"
    "ALTER TABLE proxy_request ADD COLUMN body_size INTEGER;"
    "ALTER TABLE proxy_request ADD COLUMN body_truncated INTEGER;"
    "ALTER TABLE proxy_request ADD COLUMN body_sha256 TEXT;"
    "CREATE TABLE proxy_tunnel ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " protocol TEXT,"
    " target TEXT,"
    " bytes INTEGER,"
    " first_bytes TEXT,"
    " server_name TEXT,"
    " UNIQUE (sensor_id, session_id, time));"
    "ALTER TABLE rollup_minute ADD COLUMN"
    " probes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rollup_minute ADD COLUMN"
    " judge_checks INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rollup_ip_day ADD COLUMN"
    " probes INTEGER NOT NULL DEFAULT 0;";

/*
 * Schema version 5: the bodies each sensor stored, one row per distinct
 * body, which the collector checks before it confirms a body.  It takes
 * the place of an index on message.sha256.  Digests are random keys, so
 * with that index every message insert wrote to some page of a B-tree
 * of about 80 bytes per message.  A few thousand rows answer the same
 * question.
 */
static const char schema_v5[] =
    "CREATE TABLE body ("
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " sha256 TEXT NOT NULL,"
    " PRIMARY KEY (sensor_id, sha256)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO body SELECT sensor_id, sha256 FROM message"
    " WHERE sha256 IS NOT NULL;"
    "DROP INDEX message_sha256;";

/*
 * Schema version 6: messages and proxy requests keyed by the id of
 * their session row rather than by the sensor's text session id.
 * Session ids are random text, so each insert wrote to some page of a
 * large unique index over them.  Session row ids grow with time, so
 * keys that start with them are appended at the end of their index.
 * The session table gets an explicit INTEGER PRIMARY KEY, whose values
 * VACUUM keeps.  A message or proxy request
 * whose session has no row yet gets a row with only its ids, which the
 * session's start and end fill in later, as a session end before its
 * start already did.  The text session_id stays in each table for the
 * readers that show it.
 */
static const char schema_v6[] =
    "CREATE TABLE session_v6 ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " source_ip TEXT,"
    " source_port INTEGER,"
    " source_os_signature TEXT,"
    " relay_ip TEXT,"
    " destination_ip TEXT,"
    " service_port INTEGER,"
    " listener_port INTEGER,"
    " listener_service TEXT,"
    " proxy_protocol TEXT,"
    " proxy_target TEXT,"
    " start_time TEXT,"
    " end_time TEXT,"
    " duration_ms INTEGER,"
    " bytes_in INTEGER,"
    " bytes_out INTEGER,"
    " messages INTEGER,"
    " end_reason TEXT,"
    " os_signature_id INTEGER,"
    " os_class TEXT,"
    " os_label TEXT,"
    " os_generic INTEGER,"
    " os_fuzzy INTEGER,"
    " UNIQUE (sensor_id, session_id));"
    "INSERT INTO session_v6(sensor_id, session_id, source_ip,"
    " source_port, source_os_signature, relay_ip, destination_ip,"
    " service_port, listener_port, listener_service, proxy_protocol,"
    " proxy_target, start_time, end_time, duration_ms, bytes_in,"
    " bytes_out, messages, end_reason, os_signature_id, os_class,"
    " os_label, os_generic, os_fuzzy) SELECT sensor_id, session_id,"
    " source_ip, source_port, source_os_signature, relay_ip,"
    " destination_ip, service_port, listener_port, listener_service,"
    " proxy_protocol, proxy_target, start_time, end_time, duration_ms,"
    " bytes_in, bytes_out, messages, end_reason, os_signature_id,"
    " os_class, os_label, os_generic, os_fuzzy FROM session ORDER BY"
    " rowid;"
    "INSERT OR IGNORE INTO session_v6(sensor_id, session_id) SELECT"
    " sensor_id, session_id FROM message UNION ALL SELECT sensor_id,"
    " session_id FROM proxy_request;"
    "DROP TABLE session;"
    "ALTER TABLE session_v6 RENAME TO session;"
    "CREATE INDEX session_source_ip ON session(source_ip);"
    "CREATE TABLE message_v6 ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " session_ref INTEGER NOT NULL REFERENCES session(id),"
    " seq INTEGER NOT NULL,"
    " time TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " source_ip TEXT,"
    " service_port INTEGER,"
    " protocol TEXT,"
    " proxy_target TEXT,"
    " helo TEXT,"
    " esmtp INTEGER,"
    " mail_from TEXT,"
    " rcpt_count INTEGER,"
    " rcpt TEXT,"
    " size INTEGER,"
    " sha256 TEXT,"
    " queue_id TEXT,"
    " personality TEXT,"
    " probe INTEGER,"
    " probe_reason TEXT,"
    " probe_relay TEXT,"
    " proxy_hops INTEGER,"
    " proxy_chain TEXT,"
    " tls_version TEXT,"
    " tls_cipher TEXT,"
    " UNIQUE (session_ref, seq));"
    "INSERT INTO message_v6(id, sensor_id, session_id, seq, time,"
    " day, source_ip, service_port, protocol, proxy_target, helo,"
    " esmtp, mail_from, rcpt_count, rcpt, size, sha256, queue_id,"
    " personality, probe, probe_reason, probe_relay, proxy_hops,"
    " proxy_chain, tls_version, tls_cipher, session_ref) SELECT m.id,"
    " m.sensor_id, m.session_id, m.seq, m.time, m.day, m.source_ip,"
    " m.service_port, m.protocol, m.proxy_target, m.helo, m.esmtp,"
    " m.mail_from, m.rcpt_count, m.rcpt, m.size, m.sha256, m.queue_id,"
    " m.personality, m.probe, m.probe_reason, m.probe_relay,"
    " m.proxy_hops, m.proxy_chain, m.tls_version, m.tls_cipher, s.id"
    " FROM message m JOIN session s ON s.sensor_id = m.sensor_id AND"
    " s.session_id = m.session_id;"
    "DROP TABLE message;"
    "ALTER TABLE message_v6 RENAME TO message;"
    "CREATE INDEX message_day ON message(day);"
    "CREATE TABLE proxy_request_v6 ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensor(id),"
    " session_id TEXT NOT NULL,"
    " session_ref INTEGER NOT NULL REFERENCES session(id),"
    " time TEXT NOT NULL,"
    " protocol TEXT,"
    " command TEXT,"
    " target TEXT,"
    " target_host TEXT,"
    " target_port INTEGER,"
    " user_name TEXT,"
    " outcome TEXT,"
    " reply TEXT,"
    " url TEXT,"
    " probe INTEGER,"
    " hops INTEGER,"
    " chain TEXT,"
    " via_tunnel INTEGER,"
    " header_count INTEGER,"
    " headers TEXT,"
    " body TEXT,"
    " body_size INTEGER,"
    " body_truncated INTEGER,"
    " body_sha256 TEXT,"
    " UNIQUE (session_ref, time, command, target));"
    "INSERT INTO proxy_request_v6(id, sensor_id, session_id, time,"
    " protocol, command, target, target_host, target_port, user_name,"
    " outcome, reply, url, probe, hops, chain, via_tunnel,"
    " header_count, headers, body, body_size, body_truncated,"
    " body_sha256, session_ref) SELECT p.id, p.sensor_id,"
    " p.session_id, p.time, p.protocol, p.command, p.target,"
    " p.target_host, p.target_port, p.user_name, p.outcome, p.reply,"
    " p.url, p.probe, p.hops, p.chain, p.via_tunnel, p.header_count,"
    " p.headers, p.body, p.body_size, p.body_truncated, p.body_sha256,"
    " s.id FROM proxy_request p JOIN session s ON s.sensor_id ="
    " p.sensor_id AND s.session_id = p.session_id;"
    "DROP TABLE proxy_request;"
    "ALTER TABLE proxy_request_v6 RENAME TO proxy_request;"
    "CREATE INDEX proxy_request_target ON proxy_request(target_host);";

/*
 * Schema version 7: where each body is.  A sensor appends bodies to
 * packs, bodies/NAME.pack, and ingest records the pack's file name, the
 * offset of the record's header and the length of its zstd frame.  A
 * body that a message names, but that no pack read so far contains,
 * has no pack.
 */
static const char schema_v7[] =
    "ALTER TABLE body ADD COLUMN pack TEXT;"
    "ALTER TABLE body ADD COLUMN offset INTEGER;"
    "ALTER TABLE body ADD COLUMN length INTEGER;";

/* Migration i brings the schema from version i to version i + 1. */
static const char *const migrations[DB_SCHEMA_VERSION] = {
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
    schema_v6,
    schema_v7,
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_SENSOR_FIND] = "SELECT id FROM sensor WHERE name = ?1",
    [STMT_SENSOR_INSERT] = "INSERT INTO sensor(name) VALUES (?1)",
    [STMT_SENSOR_VERSION] = "UPDATE sensor SET version = ?2, started = ?3"
			    " WHERE id = ?1",
    [STMT_FILE_FIND] = "SELECT offset_bytes, lines, sensor_id"
		       " FROM ingested_file WHERE path = ?1",
    [STMT_FILE_UPSERT] =
	"INSERT INTO ingested_file(path, sensor_id, offset_bytes, lines)"
	" VALUES (?1, ?2, ?3, ?4) ON CONFLICT(path) DO UPDATE SET"
	" sensor_id = coalesce(excluded.sensor_id, sensor_id),"
	" offset_bytes = excluded.offset_bytes, lines = excluded.lines",
    /* A start fills a row that an earlier end created, but only once. */
    [STMT_SESSION_START] =
	"INSERT INTO session(sensor_id, session_id, source_ip,"
	" source_port, relay_ip, destination_ip, service_port,"
	" listener_port, listener_service, start_time,"
	" source_os_signature)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
	" ON CONFLICT(sensor_id, session_id) DO UPDATE SET"
	" source_ip = excluded.source_ip,"
	" source_port = excluded.source_port,"
	" relay_ip = excluded.relay_ip,"
	" destination_ip = excluded.destination_ip,"
	" service_port = excluded.service_port,"
	" listener_port = excluded.listener_port,"
	" listener_service = excluded.listener_service,"
	" start_time = excluded.start_time,"
	" source_os_signature = excluded.source_os_signature"
	" WHERE start_time IS NULL",
    [STMT_SESSION_REJECTED] =
	"INSERT INTO session(sensor_id, session_id, source_ip,"
	" service_port, start_time, end_time, end_reason)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)"
	" ON CONFLICT(sensor_id, session_id) DO NOTHING",
    [STMT_SESSION_END] =
	"INSERT INTO session(sensor_id, session_id, end_time,"
	" duration_ms, bytes_in, bytes_out, messages, end_reason)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	" ON CONFLICT(sensor_id, session_id) DO UPDATE SET"
	" end_time = excluded.end_time,"
	" duration_ms = excluded.duration_ms,"
	" bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,"
	" messages = excluded.messages, end_reason = excluded.end_reason"
	" WHERE end_time IS NULL",
    [STMT_SESSION_FIND] = "SELECT id, os_signature_id FROM session"
			  " WHERE sensor_id = ?1 AND session_id = ?2",
    [STMT_SESSION_ADD] = "INSERT INTO session(sensor_id, session_id)"
			 " VALUES (?1, ?2)",
    [STMT_SESSION_PORT] = "SELECT service_port FROM session"
			  " WHERE sensor_id = ?1 AND session_id = ?2",
    [STMT_SESSION_PROXY] =
	"UPDATE session SET proxy_protocol = ?3, proxy_target = ?4"
	" WHERE sensor_id = ?1 AND session_id = ?2"
	" AND proxy_protocol IS NULL",
    [STMT_MESSAGE_INSERT] =
	"INSERT OR IGNORE INTO message(sensor_id, session_id, seq, time,"
	" day, source_ip, service_port, protocol, proxy_target, helo,"
	" esmtp, mail_from, rcpt_count, rcpt, size, sha256, queue_id,"
	" personality, probe, probe_reason, probe_relay, proxy_hops,"
	" proxy_chain, tls_version, tls_cipher, session_ref) VALUES (?1,"
	" ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
    [STMT_AUTH_INSERT] =
	"INSERT OR IGNORE INTO auth(sensor_id, session_id, time,"
	" protocol, user_name, password, outcome, mechanism,"
	" password_digest, challenge, reason, tls_version, tls_cipher)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [STMT_PROXY_REQUEST_INSERT] =
	"INSERT OR IGNORE INTO proxy_request(sensor_id, session_id, time,"
	" protocol, command, target, target_host, target_port, user_name,"
	" outcome, reply, url, probe, hops, chain, via_tunnel,"
	" header_count, headers, body, body_size, body_truncated,"
	" body_sha256, session_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	" ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
	" ?21, ?22, ?23)",
    [STMT_PROXY_TUNNEL_INSERT] =
	"INSERT OR IGNORE INTO proxy_tunnel(sensor_id, session_id, time,"
	" protocol, target, bytes, first_bytes, server_name)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STMT_IP_INSERT] = "INSERT OR IGNORE INTO ip(ip) VALUES (?1)",
    [STMT_BODY_INSERT] = "INSERT OR IGNORE INTO body(sensor_id, sha256)"
			 " VALUES (?1, ?2)",
    /* The first pack found to hold a body stays its location. */
    [STMT_BODY_LOCATE] =
	"INSERT INTO body(sensor_id, sha256, pack, offset, length)"
	" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(sensor_id, sha256)"
	" DO UPDATE SET pack = excluded.pack, offset = excluded.offset,"
	" length = excluded.length WHERE pack IS NULL",
    [STMT_ROLLUP_MINUTE_ADD] =
	"INSERT INTO rollup_minute(minute, sensor_id, service_port,"
	" messages, recipients, connections, bytes_in, bytes_out, probes,"
	" judge_checks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	" ON CONFLICT(minute, sensor_id, service_port) DO UPDATE SET"
	" messages = messages + excluded.messages,"
	" recipients = recipients + excluded.recipients,"
	" connections = connections + excluded.connections,"
	" bytes_in = bytes_in + excluded.bytes_in,"
	" bytes_out = bytes_out + excluded.bytes_out,"
	" probes = probes + excluded.probes,"
	" judge_checks = judge_checks + excluded.judge_checks",
    [STMT_ROLLUP_IP_DAY_ADD] =
	"INSERT INTO rollup_ip_day(day, sensor_id, source_ip, messages,"
	" recipients, probes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	" ON CONFLICT(day, sensor_id, source_ip) DO UPDATE SET"
	" messages = messages + excluded.messages,"
	" recipients = recipients + excluded.recipients,"
	" probes = probes + excluded.probes",
    [STMT_IP_PENDING] = "SELECT ip FROM ip WHERE enriched = 0",
    [STMT_IP_ENRICH] = "UPDATE ip SET asn = ?2, as_name = ?3,"
		       " country = ?4, enriched = ?5 WHERE ip = ?1",
};

static int
schema_version(struct db *db, int *version)
{
	sqlite3_stmt *st;
	int rc;

	if (db_exec(db,
		"CREATE TABLE IF NOT EXISTS schema_version"
		" (version INTEGER NOT NULL)") < 0)
		return -1;
	if (sqlite3_prepare_v2(db->handle,
		"SELECT max(version) FROM schema_version", -1, &st,
		NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
migrate(struct db *db, char *err, size_t errlen)
{
	char sql[64];
	int version, v;

	if (db_begin(db) < 0)
		goto fail;
	if (schema_version(db, &version) < 0)
		goto fail_tx;
	if (version > DB_SCHEMA_VERSION) {
		db_rollback(db);
		bufprintf(err, errlen,
		    "database schema version %d is newer than this program"
		    " (%d); use a newer spampot",
		    version, DB_SCHEMA_VERSION);
		return -1;
	}
	for (v = version; v < DB_SCHEMA_VERSION; v++) {
		if (db_exec(db, migrations[v]) < 0)
			goto fail_tx;
		bufprintf(sql, sizeof(sql),
		    "INSERT INTO schema_version VALUES (%d)", v + 1);
		if (db_exec(db, sql) < 0)
			goto fail_tx;
	}
	if (db_commit(db) < 0)
		goto fail;
	return 0;
fail_tx:
	bufprintf(err, errlen, "schema migration failed: %s", db_error(db));
	db_rollback(db);
	return -1;
fail:
	bufprintf(err, errlen, "schema migration failed: %s", db_error(db));
	return -1;
}

struct db *
db_open(const char *path, bool create, char *err, size_t errlen)
{
	struct db *db = xcalloc(1, sizeof(*db));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (!create && access(path, F_OK) < 0) {
		bufprintf(err, errlen,
		    "database %s not found; create it with 'spampot ingest',"
		    " or name it with --db or SPAMPOT_DB",
		    path);
		free(db);
		return NULL;
	}
	if (sqlite3_open_v2(path, &db->handle, flags, NULL) != SQLITE_OK) {
		bufprintf(err, errlen, "cannot open database %s: %s", path,
		    db->handle != NULL ? sqlite3_errmsg(db->handle)
				       : "out of memory");
		db_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db->handle, DB_BUSY_TIMEOUT_MS);
	/*
	 * DB_PAGE_SIZE applies to a new database only: an existing one
	 * keeps its page size.  WAL lets a report read while an ingest
	 * writes.  NORMAL synchronisation may lose the last commits on
	 * power failure but never corrupts the file, and a lost commit
	 * also loses its recorded offset, so the next ingest reads those
	 * lines again.
	 */
	if (db_exec(db, "PRAGMA page_size = " DB_PAGE_SIZE) < 0 ||
	    db_exec(db, "PRAGMA journal_mode = WAL") < 0 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL") < 0 ||
	    db_exec(db, "PRAGMA cache_size = -65536") < 0) {
		bufprintf(err, errlen, "cannot set up database %s: %s", path,
		    db_error(db));
		db_close(db);
		return NULL;
	}
	if (migrate(db, err, errlen) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(db->stmts[i]);
	sqlite3_close(db->handle);
	free(db);
}

const char *
db_default_path(void)
{
	const char *env = getenv("SPAMPOT_DB");

	return env != NULL && *env != '\0' ? env : DB_DEFAULT_PATH;
}

sqlite3 *
db_handle(struct db *db)
{
	return db->handle;
}

sqlite3_stmt *
db_stmt(struct db *db, enum db_stmt id)
{
	sqlite3_stmt *st = db->stmts[id];

	if (st == NULL) {
		/* The SQL is ours and fixed: failing to prepare it is a bug. */
		if (sqlite3_prepare_v3(db->handle, stmt_sql[id], -1,
			SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: cannot prepare statement %d: %s\n",
			    progname, (int)id, sqlite3_errmsg(db->handle));
			abort();
		}
		db->stmts[id] = st;
		return st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int
db_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(db->handle, sql, NULL, NULL, NULL) == SQLITE_OK
	    ? 0
	    : -1;
}

int
db_begin(struct db *db)
{
	/* IMMEDIATE takes the write lock now, not halfway through a chunk. */
	return db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->handle))
		(void)db_exec(db, "ROLLBACK");
}

int
db_step_done(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

const char *
db_error(struct db *db)
{
	return sqlite3_errmsg(db->handle);
}

void
db_bind_text(sqlite3_stmt *stmt, int idx, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(stmt, idx);
	else
		sqlite3_bind_text(stmt, idx, s, -1, SQLITE_STATIC);
}

void
db_bind_opt_int(sqlite3_stmt *stmt, int idx, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(stmt, idx);
	else
		sqlite3_bind_int64(stmt, idx, v);
}
