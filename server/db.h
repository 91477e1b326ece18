/*
 * The server's SQLite store: schema, migrations and the prepared
 * statements that ingest and report share.
 *
 * The database is a local file owned by the operator.  Its rows came
 * from event lines, so a text column may contain anything a peer sent,
 * and no column is ever used as SQL or as a format.
 */
#ifndef SPAMPOT_DB_H
#define SPAMPOT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Database used when neither --db nor SPAMPOT_DB names one. */
#define DB_DEFAULT_PATH "spampot.db"

/* Schema version this build writes; older files are migrated on open. */
#define DB_SCHEMA_VERSION 7

/* Statements prepared once per connection, named by what they do. */
enum db_stmt {
	STMT_SENSOR_FIND,
	STMT_SENSOR_INSERT,
	STMT_SENSOR_VERSION,
	STMT_FILE_FIND,
	STMT_FILE_UPSERT,
	STMT_SESSION_START,
	STMT_SESSION_REJECTED,
	STMT_SESSION_END,
	STMT_SESSION_FIND,
	STMT_SESSION_ADD,
	STMT_SESSION_PORT,
	STMT_SESSION_PROXY,
	STMT_MESSAGE_INSERT,
	STMT_AUTH_INSERT,
	STMT_PROXY_REQUEST_INSERT,
	STMT_PROXY_TUNNEL_INSERT,
	STMT_IP_INSERT,
	STMT_BODY_INSERT,
	STMT_BODY_LOCATE,
	STMT_ROLLUP_MINUTE_ADD,
	STMT_ROLLUP_IP_DAY_ADD,
	STMT_IP_PENDING,
	STMT_IP_ENRICH,
	STMT_COUNT
};

struct db;

/*
 * Open the database at path.  With create, a missing file is created;
 * either way the schema is brought to DB_SCHEMA_VERSION.  On failure
 * returns NULL and writes the reason into err.
 */
struct db *db_open(const char *path, bool create, char *err, size_t errlen);
void db_close(struct db *db);

/* The path from SPAMPOT_DB, or DB_DEFAULT_PATH. */
const char *db_default_path(void);

sqlite3 *db_handle(struct db *db);

/* The prepared statement id, reset and with its bindings cleared. */
sqlite3_stmt *db_stmt(struct db *db, enum db_stmt id);

/* Transactions; each returns 0, or -1 with db_error() set. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Run one statement without results; returns 0 or -1. */
int db_exec(struct db *db, const char *sql);

/* Step a statement that returns no rows; returns 0 or -1. */
int db_step_done(sqlite3_stmt *stmt);

/* The last SQLite error message of this connection. */
const char *db_error(struct db *db);

/* Bind text, or NULL when s is NULL. */
void db_bind_text(sqlite3_stmt *stmt, int idx, const char *s);

/* Bind an integer, or NULL when v is negative (absent). */
void db_bind_opt_int(sqlite3_stmt *stmt, int idx, int64_t v);

#endif
