/*
 * The envelope of a raw RFC 5322 message, recovered from its headers so
 * that replay can send the message again as its sender once did: who
 * sent it, to whom, and from which address it reached the Internet.
 *
 * The messages come from spam corpora, so every byte is untrusted: the
 * parser reads nothing past the buffer, copies into fixed fields and
 * drops what does not fit.
 */
#ifndef SPAMPOT_MAILPARSE_H
#define SPAMPOT_MAILPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "spampot_limits.h"

/* Recipient used when no To, Cc, Delivered-To or X-Original-To parses. */
#define MAIL_FALLBACK_RCPT "postmaster@example.com"

/* HELO name used when the origin hop names none we can send. */
#define MAIL_FALLBACK_HELO "localhost"

struct mail_envelope {
	/* Return-Path, else the From address; "" for the null path. */
	char sender[SMTP_ADDRESS_MAX + 1];

	/* Deduplicated recipients, at most REPLAY_RCPT_MAX; never none. */
	char rcpt[REPLAY_RCPT_MAX][SMTP_ADDRESS_MAX + 1];
	size_t rcpt_count;
	bool rcpt_fallback; /* rcpt[0] is MAIL_FALLBACK_RCPT */

	/* First public address on the Received chain, if any. */
	bool has_origin;
	struct sockaddr_storage origin;

	/* Name the origin host gave in HELO, or MAIL_FALLBACK_HELO. */
	char helo[SMTP_HELO_MAX + 1];

	size_t start;      /* message offset, past an mbox "From " line */
	size_t body_start; /* offset of the body, past the blank line */
};

/* Extract the envelope of the message in buf[0..len). */
void mail_parse(const char *buf, size_t len, struct mail_envelope *env);

/*
 * Find the message of an mbox that begins at or after *pos: on return
 * true, buf[*start..*start + *msglen) is the message with its "From "
 * line and *pos is past it.  Returns false when no message is left.
 */
bool mail_mbox_next(
    const char *buf, size_t len, size_t *pos, size_t *start, size_t *msglen);

/*
 * True if sa is a globally routed unicast address: not unspecified,
 * private, loopback, link-local, CGNAT, documentation, benchmarking,
 * multicast or reserved.  IPv4-mapped IPv6 is judged as IPv4.
 */
bool mail_addr_is_public(const struct sockaddr *sa);

#endif
