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

#include "spampot_limits.h"

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

	/*
	 * Seconds since the epoch, for the banner date and queue ids;
	 * may be NULL, and then the system clock is read.
	 */
	int64_t (*now)(void *ctx);

	/*
	 * Called on every state change with the old and new state names,
	 * for debug logs; may be NULL.
	 */
	void (*trace)(void *ctx, const char *from, const char *to);

	/*
	 * False while the host cannot take mail (its disk is nearly
	 * full): MAIL is then answered 452, as a real MTA short of queue
	 * space answers.  May be NULL: always true.
	 */
	bool (*accepting)(void *ctx);
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

/* Send the 220 banner.  Input fed before it is answered all the same. */
void smtp_greet(struct smtp_session *s);

/*
 * Feed bytes from the peer.  Consumes as many as it can and returns
 * the count in *used; it stops early only when pausing or closing.
 * Partial lines are kept inside, up to SMTP_COMMAND_LINE_MAX.  The
 * host feeds the unused rest again after smtp_stored().
 */
enum smtp_status smtp_input(struct smtp_session *s, const char *data,
    size_t len, size_t *used);

/*
 * The host finished storing the current message: 250 or 451 is sent.
 * After a timeout or shutdown during the store, nothing is sent and
 * SMTP_CLOSE is returned.
 */
enum smtp_status smtp_stored(struct smtp_session *s, bool ok);

/*
 * The client was idle too long, or the session lasted too long: the
 * personality's 421 is sent and the session is closed.
 */
void smtp_timeout(struct smtp_session *s, bool total);

/* The host is shutting down or out of disk: 421 is sent. */
void smtp_shutdown(struct smtp_session *s);

/* True once the session has sent its last reply and wants closing. */
bool smtp_closed(const struct smtp_session *s);

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
 * personalities and the configured host names.  With no host names,
 * the host name is "localhost".
 */
void smtp_personality_pick(const uint8_t secret[32], const char *client_ip,
    const char *const *hostnames, int nhostnames,
    const struct smtp_personality **p, const char **hostname);

/*
 * The tables behind a personality, shared by smtp.c and personality.c.
 * The host needs none of this.
 */

/* Every reply a personality words in its own way. */
enum smtp_reply {
	SMTP_R_BANNER,
	SMTP_R_HELO,
	SMTP_R_EHLO,
	SMTP_R_HELO_SYNTAX,	/* HELO without a host name */
	SMTP_R_EHLO_SYNTAX,
	SMTP_R_MAIL_OK,
	SMTP_R_MAIL_SYNTAX,	/* no FROM: */
	SMTP_R_MAIL_BAD_ADDRESS,
	SMTP_R_MAIL_NESTED,	/* MAIL inside a transaction */
	SMTP_R_MAIL_TOO_BIG,	/* SIZE= over the limit */
	SMTP_R_MAIL_BAD_SIZE,	/* SIZE= not a number */
	SMTP_R_RCPT_OK,
	SMTP_R_RCPT_SYNTAX,
	SMTP_R_RCPT_BAD_ADDRESS,
	SMTP_R_RCPT_NEED_MAIL,
	SMTP_R_RCPT_TOO_MANY,
	SMTP_R_DATA_OK,		/* 354 */
	SMTP_R_DATA_NEED_MAIL,
	SMTP_R_DATA_NEED_RCPT,
	SMTP_R_QUEUED,		/* 250 at the final dot */
	SMTP_R_DATA_TOO_BIG,
	SMTP_R_NO_STORAGE,	/* the body memory budget ran out */
	SMTP_R_STORE_FAILED,
	SMTP_R_RSET,
	SMTP_R_NOOP,
	SMTP_R_QUIT,
	SMTP_R_HELP,
	SMTP_R_VRFY,
	SMTP_R_VRFY_SYNTAX,
	SMTP_R_EXPN,
	SMTP_R_UNKNOWN,
	SMTP_R_EMPTY,		/* an empty command line */
	SMTP_R_LINE_TOO_LONG,
	SMTP_R_TIMEOUT,
	SMTP_R_TIMEOUT_DATA,	/* silent in the middle of DATA */
	SMTP_R_TOO_MANY_ERRORS,
	SMTP_R_TOO_MANY_MESSAGES,
	SMTP_R_SHUTDOWN,
	SMTP_R_COUNT
};

/* Room for any personality's queue id and its NUL. */
#define SMTP_QUEUE_ID_MAX 32

/*
 * A personality: reply templates indexed by enum smtp_reply, and its
 * queue id format.  A template is one or more lines joined by '\n',
 * each starting with its full reply code, and may contain these
 * substitutions: %h our host name, %a the client address, %n the
 * HELO argument, %s the address or argument of the command, %c the
 * command line, %q the queue id, %d the date with the day unpadded
 * (Sendmail), %D the date with a two-digit day (Exim), %% a percent
 * sign.  Peer text is made printable and truncated when substituted.
 */
struct smtp_personality {
	const char *name;
	const char *reply[SMTP_R_COUNT];
	/* Write the queue id of message number seq (from 1). */
	void (*queue_id)(char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq,
	    int64_t now);
};

#endif
