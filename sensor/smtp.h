/*
 * The SMTP emulator: an RFC 5321 server that plays one of several real
 * MTAs, accepts every sender and recipient, and hands each message to
 * its host for durable storage before answering 250.  It never relays.
 *
 * The emulator is a state machine over bytes.  It owns no socket and
 * no timer: the host feeds it what the peer sent, it answers through
 * the host's send callback, and the host tells it when a message has
 * reached the disk.  This keeps it testable with golden transcripts
 * and fuzzable without a network.
 */
#ifndef SPAMPOT_SMTP_H
#define SPAMPOT_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct smtp_session;
struct smtp_personality;

/* One message, handed to the host when its final dot arrives. */
struct smtp_envelope {
	const char *helo;		/* HELO/EHLO argument, "" if none */
	bool esmtp;			/* EHLO rather than HELO */
	const char *mail_from;		/* reverse-path without <>, may be "" */
	const char *const *rcpts;	/* first SMTP_RCPT_LOGGED_MAX */
	int rcpt_logged;
	int rcpt_count;			/* all accepted recipients */
	const char *queue_id;		/* the id the reply will announce */
	int seq;			/* 1 for the session's first message */
	const unsigned char *body;	/* after dot-unstuffing */
	size_t size;
};

struct smtp_host {
	void *ctx;

	/* Send reply bytes to the peer (always whole CRLF lines). */
	void (*send)(void *ctx, const char *buf, size_t len);

	/*
	 * Start storing a message.  Return 0 when the host accepted it
	 * and will later call smtp_stored(); -1 to have it answered as a
	 * temporary failure at once.  The envelope is valid only during
	 * the call.
	 */
	int (*store)(void *ctx, const struct smtp_envelope *env);

	/*
	 * Reserve (bytes > 0) or release (bytes < 0) memory for bodies,
	 * against a budget shared by all sessions; return false when a
	 * reservation would exceed it.  May be NULL: no budget.
	 */
	bool (*reserve)(void *ctx, long bytes);

	/* Seconds since the epoch, for Date-bearing replies; may be NULL. */
	int64_t (*now)(void *ctx);
};

/* What the host should do after feeding input. */
enum smtp_status {
	SMTP_CONTINUE,	/* keep reading */
	SMTP_PAUSED,	/* waiting for smtp_stored(): stop feeding input */
	SMTP_CLOSE,	/* replies are queued; flush them and close */
};

/*
 * Create a session for a client at client_ip (text) that the
 * personality p will greet as host name hostname.  The host sends
 * nothing until smtp_greet(), so that it can delay the banner.
 */
struct smtp_session *smtp_session_new(const struct smtp_personality *p,
    const char *hostname, const char *client_ip, const struct smtp_host *host,
    uint64_t queue_id_seed);
void smtp_session_free(struct smtp_session *s);

/* Send the 220 banner. */
void smtp_greet(struct smtp_session *s);

/*
 * Feed bytes from the peer.  Consumes as many as it can and returns
 * the count in *used; it stops early only when pausing or closing.
 * Partial lines are kept inside, up to SMTP_COMMAND_LINE_MAX.
 */
enum smtp_status smtp_input(struct smtp_session *s, const char *data,
    size_t len, size_t *used);

/* The host finished storing the current message: 250 or 451 is sent. */
enum smtp_status smtp_stored(struct smtp_session *s, bool ok);

/* The client was idle too long, or the session lasted too long. */
void smtp_timeout(struct smtp_session *s, bool total);

/* The host is shutting down or out of disk: 421 is sent. */
void smtp_shutdown(struct smtp_session *s);

/*
 * Counters for the close event.
 */
struct smtp_stats {
	int messages;		/* stored and acknowledged */
	int commands;
	int errors;		/* replies of class 5 */
	bool esmtp;
	char helo[SMTP_HELO_MAX + 1];
};
void smtp_get_stats(const struct smtp_session *s, struct smtp_stats *out);

/* Personalities. */

/* Number of built-in personalities, and one by index or by name. */
int smtp_personality_count(void);
const struct smtp_personality *smtp_personality_get(int i);
const struct smtp_personality *smtp_personality_find(const char *name);
const char *smtp_personality_name(const struct smtp_personality *p);

/*
 * Pick the personality and host name a client meets, stable for that
 * address: a keyed hash of (secret, client_ip) chooses among the
 * personalities and the configured host names.
 */
void smtp_personality_pick(const uint8_t secret[32], const char *client_ip,
    const char *const *hostnames, int nhostnames,
    const struct smtp_personality **p, const char **hostname);

#endif
