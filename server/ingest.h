/*
 * Ingest: events files of a spool into the database, and where each
 * body is in the spool's packs.
 *
 * Three layers, each usable alone.  The line reader cuts a byte stream
 * into lines of at most INGEST_LINE_MAX bytes.  The event mapper turns
 * one line into a struct event without touching the database.  The
 * ingest driver stores events, and records how far each file was read
 * in the same transaction as the rows.
 */
#ifndef SPAMPOT_INGEST_H
#define SPAMPOT_INGEST_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "db.h"

/*
 * Called for each complete line, without its newline.  A line over
 * INGEST_LINE_MAX is passed as line == NULL with its true length.
 * line_no counts from 1 in the file; end is the file offset just past
 * the newline.  Returns 0 to go on, -1 to stop the reader.
 */
typedef int (*line_fn)(
    void *arg, const char *line, size_t len, uint64_t line_no, uint64_t end);

/* Line splitter state; it keeps at most INGEST_LINE_MAX partial bytes. */
struct line_reader {
	char *partial;
	size_t partial_len;
	size_t skipped;   /* bytes of an overlong line not kept */
	uint64_t line_no; /* complete lines seen, before the first feed too */
	uint64_t offset;  /* file offset just past the last newline */
};

void line_reader_init(struct line_reader *r, uint64_t offset, uint64_t line_no);
void line_reader_free(struct line_reader *r);

/* Feed the next len bytes of the file; returns 0, or -1 if fn stopped. */
int line_reader_feed(
    struct line_reader *r, const char *data, size_t len, line_fn fn, void *arg);

enum event_kind {
	EVENT_SESSION_START,
	EVENT_SESSION_REJECTED,
	EVENT_PROXY_AUTH,
	EVENT_SMTP_AUTH,
	EVENT_PROXY_REQUEST,
	EVENT_PROXY_TUNNEL,
	EVENT_MESSAGE_STORED,
	EVENT_SESSION_END,
	EVENT_SENSOR_START,
	EVENT_SENSOR_STOP,
	EVENT_KIND_COUNT
};

/*
 * One event line, validated.  Strings point into root or text and live
 * as long as the event.  An absent string is NULL, an absent address is "",
 * and an absent number is -1.
 */
struct event {
	enum event_kind kind;
	json_t *root;
	char *text;   /* or a copy of the line that strings point into */
	int64_t usec; /* @timestamp, microseconds since the epoch */
	char day[11]; /* @timestamp's UTC date, YYYY-MM-DD */
	const char *timestamp;
	const char *sensor;
	const char *sensor_version;
	const char *session_id;
	const char *os_signature; /* p0f signature of the client's SYN */
	char source_ip[INET6_ADDRSTRLEN];
	char relay_ip[INET6_ADDRSTRLEN];
	char destination_ip[INET6_ADDRSTRLEN];
	int64_t source_port;
	int64_t destination_port;
	int64_t listener_port;
	const char *listener_service;
	const char *reason;
	const char *outcome;
	const char *protocol;
	const char *command;
	const char *target;
	const char *target_host;
	int64_t target_port;
	const char *proxy_user;
	const char *reply;
	const char *url;
	const char *reply_text; /* proxy.reply when a string */
	int64_t reply_code;     /* proxy.reply when an integer */
	bool has_reply_code;
	const char *user_name;
	const char *password;
	const char *auth_mechanism;
	const char *password_digest; /* CRAM-MD5 or DIGEST-MD5 response */
	const char *auth_challenge;
	const char *tls_version;
	const char *tls_cipher;
	const char *probe_reason;
	const char *probe_relay;
	const char *http_body; /* base64 of the body's first bytes */
	const char *http_body_sha256;
	const char *tunnel_first_bytes; /* hex */
	const char *tls_server_name;
	const char *sha256;
	const char *queue_id;
	const char *helo;
	const char *mail_from;
	const char *personality;
	char *rcpt_json;    /* smtp.rcpt_to as compact JSON text, owned */
	char *chain_json;   /* proxy.chain, likewise */
	char *headers_json; /* http.request.headers, likewise */
	bool in_arena; /* root and the JSON texts live in a worker's arena */
	int64_t esmtp;
	int64_t size;
	int64_t seq;
	int64_t rcpt_count;
	int64_t bytes_in;
	int64_t bytes_out;
	int64_t duration_ms;
	int64_t messages;
	int64_t probe; /* message.probe or proxy.probe, 1 or 0 */
	int64_t hops;
	int64_t via_tunnel;
	int64_t header_count;
	int64_t body_size;
	int64_t body_truncated;
	int64_t tunnel_bytes;
};

/*
 * Parse and validate one line.  Returns 0, or -1 with the reason in
 * err and nothing to free.
 */
int event_parse(
    const char *line, size_t len, struct event *ev, char *err, size_t errlen);
void event_free(struct event *ev);

/* Parse a UTC date, YYYY-MM-DD, into days since 1970-01-01; 0 or -1. */
int parse_day(const char *s, int64_t *days);

/* Options of one ingest run. */
struct ingest_options {
	const char *sensor;   /* overrides sensor.name; NULL: from events */
	FILE *log;            /* bad lines and warnings go here */
	size_t chunk_bytes;   /* bytes per transaction; 0: the default */
	const char *p0f_path; /* p0f database; NULL: os_default_p0f_path() */
	/*
	 * Called before and after each commit.  The tests use it to
	 * stop a run part way through, as a crash would.
	 */
	void (*chunk_hook)(void *arg, bool committed);
	void *hook_arg;
};

struct ingest_stats {
	uint64_t files;
	uint64_t lines;
	uint64_t bad_lines;
	uint64_t duplicates;
	uint64_t messages;
	uint64_t sessions;
	uint64_t events;
	uint64_t packs;        /* packs with records read */
	uint64_t pack_records; /* body records indexed */
};

/*
 * Ingest every events file under spool/events, and index the records
 * of every pack under spool/bodies, from where the last run stopped.
 * Returns 0, or -1 with err set when the spool cannot be read or the
 * database fails.  Bad lines are counted and a damaged pack is
 * reported, never fatal.
 */
int ingest_spool(struct db *db, const char *spool,
    const struct ingest_options *opts, struct ingest_stats *stats, char *err,
    size_t errlen);

#endif
