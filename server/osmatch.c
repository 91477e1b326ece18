/*
 * OS matching of stored SYN signatures; see osmatch.h.  The p0f
 * database is read once per run, and each distinct signature is looked
 * up in the os_signature table once per run through a small cache, so
 * that a busy source costs one hash lookup per session.
 */
#include "osmatch.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "p0f.h"
#include "synsig.h"
#include "util.h"

/*
 * Signatures cached per run.  This is an estimate with room to spare:
 * p0f 3.09b's p0f.fp has 322 sig lines in all.  A full cache is
 * emptied, which only costs repeated lookups.
 */
#define OS_CACHE_MAX 4096

/* Label bytes kept: p0f names and flavors are a few dozen bytes. */
#define OS_LABEL_MAX 128

/* Bytes of an error message that names the p0f database's path. */
#define OS_ERROR_MAX (PATH_MAX + 128)

/* Malformed p0f database lines reported one by one. */
#define OS_DB_WARNINGS_SHOWN 5

enum os_stmt {
	OS_SIG_FIND,
	OS_SIG_UPSERT,
	OS_SESSION_SET,
	OS_SESSION_FIND,
	OS_IP_SET,
	OS_ROLLUP_ADD,
	OS_SIG_ALL,
	OS_SESSIONS_COPY,
	OS_IPS_COPY,
	OS_STMT_COUNT
};

static const char *const os_sql[OS_STMT_COUNT] = {
    [OS_SIG_FIND] = "SELECT id, os_class, os_label, os_generic, os_fuzzy,"
		    " matched FROM os_signature WHERE signature = ?1",
    [OS_SIG_UPSERT] =
	"INSERT INTO os_signature(signature, os_class, os_label,"
	" os_generic, os_fuzzy, matched) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	" ON CONFLICT(signature) DO UPDATE SET os_class = excluded.os_class,"
	" os_label = excluded.os_label, os_generic = excluded.os_generic,"
	" os_fuzzy = excluded.os_fuzzy, matched = excluded.matched"
	" RETURNING id",
    [OS_SESSION_SET] = "UPDATE session SET os_signature_id = ?3, os_class = ?4,"
		       " os_label = ?5, os_generic = ?6, os_fuzzy = ?7"
		       " WHERE sensor_id = ?1 AND session_id = ?2",
    [OS_SESSION_FIND] = "SELECT os_signature_id FROM session"
			" WHERE sensor_id = ?1 AND session_id = ?2",
    /* Only a later SYN replaces an address's class. */
    [OS_IP_SET] = "UPDATE ip SET os_class = ?2, os_label = ?3,"
		  " os_generic = ?4, os_fuzzy = ?5, os_time = ?6"
		  " WHERE ip = ?1 AND (os_time IS NULL OR os_time <= ?6)",
    [OS_ROLLUP_ADD] =
	"INSERT INTO rollup_os_day(day, sensor_id, os_signature_id,"
	" messages, recipients) VALUES (?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT(day, sensor_id, os_signature_id) DO UPDATE SET"
	" messages = messages + excluded.messages,"
	" recipients = recipients + excluded.recipients",
    [OS_SIG_ALL] = "SELECT signature FROM os_signature"
		   " WHERE ?1 OR matched = 0",
    [OS_SESSIONS_COPY] =
	"UPDATE session SET os_class = s.os_class, os_label = s.os_label,"
	" os_generic = s.os_generic, os_fuzzy = s.os_fuzzy"
	" FROM os_signature s WHERE session.os_signature_id = s.id"
	" AND (session.os_class IS NOT s.os_class"
	" OR session.os_label IS NOT s.os_label"
	" OR session.os_generic IS NOT s.os_generic"
	" OR session.os_fuzzy IS NOT s.os_fuzzy)",
    [OS_IPS_COPY] =
	"UPDATE ip SET (os_class, os_label, os_generic, os_fuzzy, os_time)"
	" = (SELECT s.os_class, s.os_label, s.os_generic, s.os_fuzzy,"
	" s.start_time FROM session s WHERE s.source_ip = ip.ip"
	" AND s.os_signature_id IS NOT NULL"
	" ORDER BY s.start_time DESC LIMIT 1)"
	" WHERE os_time IS NOT NULL OR ip IN (SELECT source_ip FROM session"
	" WHERE os_signature_id IS NOT NULL)",
};

/* The stored match of one signature. */
struct os_entry {
	char *signature; /* NULL: a free slot */
	int64_t id;
	const char *class_name;
	char label[OS_LABEL_MAX];
	bool has_label;
	bool generic;
	bool fuzzy;
};

struct os_matcher {
	struct db *db;
	const char *p0f_path;
	FILE *log;
	struct p0f_db *p0f;
	bool p0f_tried;
	char p0f_error[OS_ERROR_MAX]; /* reason p0f is NULL after a try */
	sqlite3_stmt *stmts[OS_STMT_COUNT];
	struct os_entry *cache; /* 2 * OS_CACHE_MAX slots */
	size_t cached;
};

const char *
os_default_p0f_path(void)
{
	const char *env = getenv("SPAMPOT_P0F");

	return env != NULL && *env != '\0' ? env : P0F_DB_DEFAULT_PATH;
}

struct os_matcher *
os_matcher_new(struct db *db, const char *p0f_path, FILE *log)
{
	struct os_matcher *m = xcalloc(1, sizeof(*m));

	m->db = db;
	m->p0f_path = p0f_path != NULL ? p0f_path : os_default_p0f_path();
	m->log = log;
	m->cache = xcalloc(2 * OS_CACHE_MAX, sizeof(*m->cache));
	return m;
}

void
os_matcher_forget(struct os_matcher *m)
{
	size_t i;

	for (i = 0; i < 2 * OS_CACHE_MAX; i++) {
		free(m->cache[i].signature);
		m->cache[i].signature = NULL;
	}
	m->cached = 0;
}

void
os_matcher_free(struct os_matcher *m)
{
	size_t i;

	if (m == NULL)
		return;
	os_matcher_forget(m);
	free(m->cache);
	for (i = 0; i < OS_STMT_COUNT; i++)
		sqlite3_finalize(m->stmts[i]);
	p0f_db_free(m->p0f);
	free(m);
}

static sqlite3_stmt *
stmt(struct os_matcher *m, enum os_stmt id)
{
	sqlite3_stmt *st = m->stmts[id];

	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	/* The SQL is ours and fixed: failing to prepare it is a bug. */
	if (sqlite3_prepare_v3(db_handle(m->db), os_sql[id], -1,
		SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: cannot prepare OS statement %d: %s\n",
		    progname, (int)id, db_error(m->db));
		abort();
	}
	m->stmts[id] = st;
	return st;
}

struct warn_state {
	FILE *log;
	const char *path;
	unsigned long count;
};

static void
warn_line(void *arg, int line, const char *why)
{
	struct warn_state *w = arg;

	if (w->count++ < OS_DB_WARNINGS_SHOWN && w->log != NULL)
		fprintf(w->log, "%s: warning: %s:%d: %s; line skipped\n",
		    progname, w->path, line, why);
}

int
os_matcher_load(struct os_matcher *m, char *err, size_t errlen)
{
	struct warn_state w = {m->log, m->p0f_path, 0};
	const char *reason = NULL;

	if (m->p0f_tried) {
		bufprintf(err, errlen, "%s", m->p0f_error);
		return m->p0f != NULL ? 0 : -1;
	}
	m->p0f_tried = true;
	m->p0f = p0f_db_load(m->p0f_path, warn_line, &w, &reason);
	if (m->p0f == NULL)
		bufprintf(m->p0f_error, sizeof(m->p0f_error),
		    "cannot read p0f database %s: %s", m->p0f_path, reason);
	else if (p0f_db_signatures(m->p0f) == 0) {
		/*
		 * Any file parses, because unknown sections and lines are
		 * skipped.  Matching with no signature would turn every
		 * stored class into Unknown.
		 */
		bufprintf(m->p0f_error, sizeof(m->p0f_error),
		    "no p0f signatures in %s (no sig line under"
		    " [tcp:request])",
		    m->p0f_path);
		p0f_db_free(m->p0f);
		m->p0f = NULL;
	}
	bufprintf(err, errlen, "%s", m->p0f_error);
	return m->p0f != NULL ? 0 : -1;
}

/* Return the p0f database, read on first use, or NULL if unusable. */
static const struct p0f_db *
p0f(struct os_matcher *m)
{
	char err[OS_ERROR_MAX];

	if (m->p0f_tried)
		return m->p0f;
	if (os_matcher_load(m, err, sizeof(err)) < 0 && m->log != NULL)
		fprintf(m->log,
		    "%s: warning: %s; operating systems stay Unknown until"
		    " 'spampot reclassify --p0f FILE' runs\n",
		    progname, err);
	return m->p0f;
}

void
os_label_text(const struct p0f_match *match, char *out, size_t size)
{
	if (match->os_class == OS_CLASS_UNKNOWN)
		bufprintf(out, size, "%s", "");
	else if (match->flavor[0] == '\0')
		bufprintf(out, size, "%s", match->name);
	else
		bufprintf(out, size, "%s %s", match->name, match->flavor);
}

/* Match text with the p0f database; *matched is false without one. */
static void
match_text(
    struct os_matcher *m, const char *text, struct os_entry *e, bool *matched)
{
	const struct p0f_db *db = p0f(m);
	struct p0f_match match;
	struct synsig sig;
	const char *why;

	e->class_name = os_class_name(OS_CLASS_UNKNOWN);
	e->has_label = false;
	e->generic = e->fuzzy = false;
	*matched = db != NULL;
	if (db == NULL || synsig_parse(text, &sig, &why) < 0)
		return;
	if (!p0f_match(db, &sig, &match))
		return;
	e->class_name = os_class_name(match.os_class);
	os_label_text(&match, e->label, sizeof(e->label));
	e->has_label = e->label[0] != '\0';
	e->generic = match.generic;
	e->fuzzy = match.fuzzy;
}

/* Store e's match of text; sets e->id.  Returns 0 or -1. */
static int
store_match(
    struct os_matcher *m, const char *text, struct os_entry *e, bool matched)
{
	sqlite3_stmt *st = stmt(m, OS_SIG_UPSERT);
	int rc;

	db_bind_text(st, 1, text);
	db_bind_text(st, 2, e->class_name);
	db_bind_text(st, 3, e->has_label ? e->label : NULL);
	sqlite3_bind_int(st, 4, e->generic);
	sqlite3_bind_int(st, 5, e->fuzzy);
	sqlite3_bind_int(st, 6, matched);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e->id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Load a stored match; returns 1 when one was found, 0, or -1. */
static int
load_match(struct os_matcher *m, const char *text, struct os_entry *e)
{
	sqlite3_stmt *st = stmt(m, OS_SIG_FIND);
	const char *cls, *label;
	int rc, found = 0;

	db_bind_text(st, 1, text);
	rc = sqlite3_step(st);
	/* A matched row is final; an unmatched one waits for a database. */
	if (rc == SQLITE_ROW &&
	    (sqlite3_column_int(st, 5) != 0 || p0f(m) == NULL)) {
		e->id = sqlite3_column_int64(st, 0);
		cls = (const char *)sqlite3_column_text(st, 1);
		label = (const char *)sqlite3_column_text(st, 2);
		e->class_name = os_class_name(OS_CLASS_UNKNOWN);
		for (int c = OS_CLASS_UNKNOWN; c <= OS_CLASS_OTHER; c++)
			if (cls != NULL && strcmp(cls, os_class_name(c)) == 0)
				e->class_name = os_class_name(c);
		e->has_label = label != NULL;
		if (label != NULL)
			strlcpy_(e->label, label, sizeof(e->label));
		e->generic = sqlite3_column_int(st, 3) != 0;
		e->fuzzy = sqlite3_column_int(st, 4) != 0;
		found = 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

static uint64_t
hash_text(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The cached match of text, looked up, matched and stored if new. */
static const struct os_entry *
lookup(struct os_matcher *m, const char *text)
{
	size_t cap = 2 * OS_CACHE_MAX, i;
	struct os_entry e, *slot;
	bool matched;
	int found;

	if (m->cached >= OS_CACHE_MAX)
		os_matcher_forget(m);
	i = hash_text(text) & (cap - 1);
	while (m->cache[i].signature != NULL &&
	    strcmp(m->cache[i].signature, text) != 0)
		i = (i + 1) & (cap - 1);
	slot = &m->cache[i];
	if (slot->signature != NULL)
		return slot;
	memset(&e, 0, sizeof(e));
	if ((found = load_match(m, text, &e)) < 0)
		return NULL;
	if (found == 0) {
		match_text(m, text, &e, &matched);
		if (store_match(m, text, &e, matched) < 0)
			return NULL;
	}
	*slot = e;
	slot->signature = xstrdup(text);
	m->cached++;
	return slot;
}

static void
bind_entry(sqlite3_stmt *st, int idx, const struct os_entry *e)
{
	db_bind_text(st, idx, e->class_name);
	db_bind_text(st, idx + 1, e->has_label ? e->label : NULL);
	sqlite3_bind_int(st, idx + 2, e->generic);
	sqlite3_bind_int(st, idx + 3, e->fuzzy);
}

int
os_store_session(struct os_matcher *m, int64_t sensor_id,
    const char *session_id, const char *source_ip, const char *relay_ip,
    const char *time, const char *signature)
{
	static const struct os_entry unknown = {.class_name = "Unknown"};
	const struct os_entry *e = &unknown;
	sqlite3_stmt *st;

	/*
	 * A relayed session's SYN came from the relay, and a signature
	 * too long to be ours cannot parse; both stay Unknown.
	 */
	if (relay_ip == NULL && signature != NULL &&
	    strlen(signature) < SYNSIG_TEXT_MAX &&
	    (e = lookup(m, signature)) == NULL)
		return -1;
	st = stmt(m, OS_SESSION_SET);
	sqlite3_bind_int64(st, 1, sensor_id);
	db_bind_text(st, 2, session_id);
	db_bind_opt_int(st, 3, e == &unknown ? -1 : e->id);
	bind_entry(st, 4, e);
	if (db_step_done(st) < 0)
		return -1;
	if (e == &unknown || source_ip == NULL || time == NULL)
		return 0;
	st = stmt(m, OS_IP_SET);
	db_bind_text(st, 1, source_ip);
	bind_entry(st, 2, e);
	db_bind_text(st, 6, time);
	return db_step_done(st);
}

int
os_session_signature(struct os_matcher *m, int64_t sensor_id,
    const char *session_id, int64_t *signature_id)
{
	sqlite3_stmt *st = stmt(m, OS_SESSION_FIND);
	int rc;

	*signature_id = 0;
	sqlite3_bind_int64(st, 1, sensor_id);
	db_bind_text(st, 2, session_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*signature_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
os_rollup_add(struct os_matcher *m, const char *day, int64_t sensor_id,
    int64_t signature_id, int64_t messages, int64_t recipients)
{
	sqlite3_stmt *st = stmt(m, OS_ROLLUP_ADD);

	db_bind_text(st, 1, day);
	sqlite3_bind_int64(st, 2, sensor_id);
	sqlite3_bind_int64(st, 3, signature_id);
	sqlite3_bind_int64(st, 4, messages);
	sqlite3_bind_int64(st, 5, recipients);
	return db_step_done(st);
}

/* Read the signatures to match, so that no statement stays open. */
static char **
pending_signatures(struct os_matcher *m, bool all, size_t *n, int *rc)
{
	sqlite3_stmt *st = stmt(m, OS_SIG_ALL);
	char **list = NULL;
	size_t cap = 0;

	*n = 0;
	sqlite3_bind_int(st, 1, all);
	while ((*rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			list = xrealloc(list, cap * sizeof(*list));
		}
		list[(*n)++] =
		    xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	*rc = *rc == SQLITE_DONE ? 0 : -1;
	return list;
}

static int
rematch_rows(struct os_matcher *m, bool all, uint64_t *changed)
{
	struct os_entry e;
	size_t n, i, todo;
	bool matched;
	char **list;
	int rc;

	*changed = 0;
	list = pending_signatures(m, all, &n, &rc);
	/* Without a database nothing changes; p0f() has warned. */
	todo = n > 0 && p0f(m) != NULL ? n : 0;
	for (i = 0; i < todo && rc == 0; i++) {
		memset(&e, 0, sizeof(e));
		match_text(m, list[i], &e, &matched);
		rc = store_match(m, list[i], &e, matched);
		(*changed)++;
	}
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	if (rc < 0 || *changed == 0)
		return rc;
	if (db_step_done(stmt(m, OS_SESSIONS_COPY)) < 0)
		return -1;
	return db_step_done(stmt(m, OS_IPS_COPY));
}

int
os_rematch(
    struct os_matcher *m, bool all, uint64_t *changed, char *err, size_t errlen)
{
	bool own_tx = sqlite3_get_autocommit(db_handle(m->db)) != 0;

	os_matcher_forget(m);
	if (own_tx && db_begin(m->db) < 0)
		goto fail;
	if (rematch_rows(m, all, changed) < 0) {
		if (own_tx)
			db_rollback(m->db);
		goto fail;
	}
	if (own_tx && db_commit(m->db) < 0)
		goto fail;
	return 0;
fail:
	bufprintf(
	    err, errlen, "matching OS signatures failed: %s", db_error(m->db));
	if (own_tx)
		db_rollback(m->db);
	return -1;
}

/* The reclassify command. */

static const char reclassify_usage[] =
    "usage: spampot reclassify [--db FILE] [--p0f FILE]\n";

static const char reclassify_help[] =
    "\n"
    "Match every stored SYN signature again with a p0f database, for\n"
    "example a newer one, and update the operating system of sessions\n"
    "and source addresses.  No capture is needed: the sessions keep the\n"
    "signatures as the sensor recorded them.\n"
    "\n"
    "Options:\n"
    "  --db FILE   database to update (default: $SPAMPOT_DB, or\n"
    "              spampot.db in the current directory)\n"
    "  --p0f FILE  p0f v3 database (default: $SPAMPOT_P0F, "
    "or " P0F_DB_DEFAULT_PATH ")\n"
    "  -h, --help  show this help and exit\n"
    "\n"
    "Exit status: 0 on success; 1 when either database cannot be read\n"
    "or the p0f file has no signature, and then nothing changes; 2 on\n"
    "invalid arguments.\n";

int
cmd_reclassify(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"p0f", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db_path = db_default_path();
	const char *p0f_path = os_default_p0f_path();
	struct os_matcher *m;
	uint64_t changed = 0;
	char err[512];
	struct db *db;
	int c, rc = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 'p':
			p0f_path = optarg;
			break;
		case 'h':
			fputs(reclassify_usage, stdout);
			fputs(reclassify_help, stdout);
			return 0;
		default:
			fprintf(stderr,
			    "%s: reclassify: invalid option or missing"
			    " argument: %s\n",
			    progname, argv[optind - 1]);
			fputs(reclassify_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: reclassify: unexpected argument '%s'\n",
		    progname, argv[optind]);
		fputs(reclassify_usage, stderr);
		return 2;
	}
	if ((db = db_open(db_path, false, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	m = os_matcher_new(db, p0f_path, stderr);
	/* Load first, so that an unusable file changes nothing. */
	if (os_matcher_load(m, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: reclassify: %s\n", progname, err);
		rc = 1;
	} else if (os_rematch(m, true, &changed, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		rc = 1;
	} else {
		printf(
		    "matched %llu signatures\n", (unsigned long long)changed);
	}
	os_matcher_free(m);
	db_close(db);
	return rc;
}
