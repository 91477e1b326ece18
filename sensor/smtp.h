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

/*
 * One AUTH dialogue, handed to the host when it ends, whatever its end.
 * Strings are NUL-terminated peer bytes (possibly empty, never NULL
 * unless said), truncated to SMTP_AUTH_FIELD_MAX, and valid only
 * during the call.
 */
struct smtp_auth {
	const char *mechanism;	/* "PLAIN", "LOGIN", "CRAM-MD5", ... */
	const char *user;	/* the authentication identity */
	const char *password;	/* NULL for challenge-response mechanisms */
	const char *digest;	/* their response in hex, else NULL */
	const char *challenge;	/* the challenge we sent, else NULL */
	/*
	 * NULL when the client sent complete credentials; otherwise why
	 * the dialogue ended without them: "cancelled", "malformed" or
	 * "unsupported-mechanism".
	 */
	const char *failure;
};

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

	/*
	 * Decide an AUTH attempt: return true to let those credentials
	 * in (235).  Called for every dialogue, failed ones included,
	 * so that the host can log it; the result is ignored when
	 * a->failure is set.  May be NULL: nothing is ever accepted.
	 */
	bool (*auth)(void *ctx, const struct smtp_auth *a);

	/* The host can run TLS on the connection: offer STARTTLS. */
	bool starttls;
};

/* What the host should do after feeding input. */
enum smtp_status {
	SMTP_CONTINUE,	/* keep reading */
	SMTP_PAUSED,	/* waiting for smtp_stored(): stop feeding input */
	SMTP_CLOSE,	/* replies are queued; flush them and close */
	/*
	 * The 220 to STARTTLS is queued: flush it, discard any input
	 * still buffered (RFC 3207 forbids acting on plaintext sent
	 * before the handshake), run the TLS handshake as the server,
	 * then call smtp_tls_started() and resume feeding input.
	 */
	SMTP_STARTTLS,
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
 * The TLS handshake after SMTP_STARTTLS succeeded.  The session starts
 * over as RFC 3207 section 4.2 requires: the HELO and any transaction
 * are forgotten, the client must send EHLO again, and STARTTLS is no
 * longer offered.  On a failed handshake the host just closes.
 */
void smtp_tls_started(struct smtp_session *s);

/*
 * True when digest_hex is HMAC-MD5(password, challenge) in hex, as a
 * CRAM-MD5 response made with that password would be (RFC 2195).
 */
bool smtp_cram_md5_matches(const char *challenge, const char *password,
    const char *digest_hex);

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
 * Return why the emulator closed the session ("quit",
 * "too-many-errors", "too-many-messages"), or NULL when it closed on
 * its host's request: a timeout or the sensor's shutdown.
 */
const char *smtp_close_reason(const struct smtp_session *s);

/*
 * Counters for the close event.
 */
struct smtp_stats {
	int messages;		/* stored and acknowledged */
	int commands;
	int errors;		/* replies of class 5 */
	bool esmtp;
	bool tls;		/* STARTTLS completed */
	bool authenticated;
	int auth_attempts;
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
	SMTP_R_EHLO,		/* before TLS, STARTTLS offered */
	SMTP_R_EHLO_TLS,	/* after STARTTLS */
	SMTP_R_EHLO_NO_TLS,	/* the host cannot do TLS */
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
	SMTP_R_VRFY,		/* a remote address */
	SMTP_R_VRFY_KNOWN,	/* a local user or alias we have */
	SMTP_R_VRFY_UNKNOWN,	/* a local user we lack */
	SMTP_R_VRFY_SYNTAX,
	SMTP_R_EXPN,		/* a remote address */
	SMTP_R_EXPN_KNOWN,
	SMTP_R_EXPN_UNKNOWN,
	SMTP_R_STARTTLS,	/* 220: go ahead */
	SMTP_R_STARTTLS_SYNTAX,	/* STARTTLS with an argument */
	SMTP_R_STARTTLS_ACTIVE,	/* STARTTLS once TLS runs */
	SMTP_R_IN_TRANSACTION,	/* AUTH or STARTTLS after MAIL */
	SMTP_R_AUTH_OK,		/* 235 */
	SMTP_R_AUTH_FAILED,	/* 535 */
	SMTP_R_AUTH_CANCELLED,	/* the client sent "*" */
	SMTP_R_AUTH_BAD_BASE64,
	SMTP_R_AUTH_BAD_MECH,	/* a mechanism we do not offer */
	SMTP_R_AUTH_SYNTAX,	/* AUTH without a mechanism */
	SMTP_R_AUTH_NOT_OFFERED, /* before HELO, or before TLS if needed */
	SMTP_R_AUTH_ALREADY,	/* AUTH after a successful one */
	SMTP_R_BAD_BYTES,	/* a command that is not valid UTF-8 */
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
 * command line, %u the local user an address or alias resolves to,
 * %r the last AUTH challenge we sent (base64), %q the queue id, %d the
 * date with the day unpadded (Sendmail), %D the date with a two-digit
 * day (Exim), %% a percent sign.  Peer text is made printable and
 * truncated when substituted.
 */
struct smtp_personality {
	const char *name;
	const char *reply[SMTP_R_COUNT];
	/* SASL mechanisms offered, space-separated, as in the EHLO line. */
	const char *auth_mechanisms;
	/* AUTH only once TLS runs (Postfix's smtpd_tls_auth_only). */
	bool auth_needs_tls;
	/* Write the queue id of message number seq (from 1). */
	void (*queue_id)(char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq,
	    int64_t now);
};

/* SplitMix64's finalizer: spreads a seed over 64 bits. */
uint64_t smtp_mix64(uint64_t x);

#endif
