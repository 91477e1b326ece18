/*
 * The MTAs the SMTP emulator plays: for each, the exact replies the
 * real server sends in its default configuration, and the shape of
 * its queue ids.  A spammer's tool that fingerprints the server sees
 * one of these, never a honeypot's own wording.
 *
 * Texts follow Postfix 3.x smtpd, Sendmail 8.14 and Exim 4.9x, each
 * set up as a mail host with TLS and SASL usually is:
 *
 *   Postfix with Dovecot SASL (PLAIN LOGIN), broken_sasl_auth_clients
 *   (the legacy "AUTH=" line) and smtpd_tls_auth_only, so AUTH is
 *   offered and allowed only after STARTTLS.
 *
 *   Sendmail with Cyrus SASL, offering AUTH with or without TLS, and
 *   PrivacyOptions=authwarnings, so VRFY and EXPN look users up.
 *
 *   Exim with Dovecot authenticators (PLAIN LOGIN) advertised only
 *   over TLS, as Debian's exim4 ships it, and no acl_smtp_vrfy, so it
 *   answers every VRFY and EXPN with a prohibition.
 *
 * CHUNKING is never offered because the emulator has no BDAT.
 */
#include "smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* Postfix: 10 to 12 uppercase hex digits, e.g. "4F2A13C0B1E". */
static void postfix_queue_id(
    char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq, int64_t now);
/* Sendmail 8.14: "oB4GK0a3012345", base-60 date, counter, process id. */
static void sendmail_queue_id(
    char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq, int64_t now);
/* Exim 4.9x: "1kxyZa-000abc-Q1", base-62 time, process id, fraction. */
static void exim_queue_id(
    char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq, int64_t now);

static const struct smtp_personality personalities[] = {
    {
	.name = "postfix",
	.queue_id = postfix_queue_id,
	.auth_mechanisms = "PLAIN LOGIN",
	.auth_needs_tls = true,
	.reply =
	    {
		[SMTP_R_BANNER] = "220 %h ESMTP Postfix",
		[SMTP_R_HELO] = "250 %h",
		[SMTP_R_EHLO] = "250-%h\n"
				"250-PIPELINING\n"
				"250-SIZE 10240000\n"
				"250-VRFY\n"
				"250-ETRN\n"
				"250-STARTTLS\n"
				"250-ENHANCEDSTATUSCODES\n"
				"250-8BITMIME\n"
				"250-DSN\n"
				"250 SMTPUTF8",
		[SMTP_R_EHLO_TLS] = "250-%h\n"
				    "250-PIPELINING\n"
				    "250-SIZE 10240000\n"
				    "250-VRFY\n"
				    "250-ETRN\n"
				    "250-AUTH PLAIN LOGIN\n"
				    "250-AUTH=PLAIN LOGIN\n"
				    "250-ENHANCEDSTATUSCODES\n"
				    "250-8BITMIME\n"
				    "250-DSN\n"
				    "250 SMTPUTF8",
		[SMTP_R_EHLO_NO_TLS] = "250-%h\n"
				       "250-PIPELINING\n"
				       "250-SIZE 10240000\n"
				       "250-VRFY\n"
				       "250-ETRN\n"
				       "250-ENHANCEDSTATUSCODES\n"
				       "250-8BITMIME\n"
				       "250-DSN\n"
				       "250 SMTPUTF8",
		[SMTP_R_HELO_SYNTAX] = "501 Syntax: HELO hostname",
		[SMTP_R_EHLO_SYNTAX] = "501 Syntax: EHLO hostname",
		[SMTP_R_MAIL_OK] = "250 2.1.0 Ok",
		[SMTP_R_MAIL_SYNTAX] = "501 5.5.4 Syntax: MAIL FROM:<address>",
		[SMTP_R_MAIL_BAD_ADDRESS] =
		    "501 5.1.7 Bad sender address syntax",
		[SMTP_R_MAIL_NESTED] = "503 5.5.1 Error: nested MAIL command",
		[SMTP_R_MAIL_TOO_BIG] =
		    "552 5.3.4 Message size exceeds fixed limit",
		[SMTP_R_MAIL_BAD_SIZE] = "501 5.5.4 Bad message size syntax",
		[SMTP_R_RCPT_OK] = "250 2.1.5 Ok",
		[SMTP_R_RCPT_SYNTAX] = "501 5.5.4 Syntax: RCPT TO:<address>",
		[SMTP_R_RCPT_BAD_ADDRESS] =
		    "501 5.1.3 Bad recipient address syntax",
		[SMTP_R_RCPT_NEED_MAIL] = "503 5.5.1 Error: need MAIL command",
		[SMTP_R_RCPT_TOO_MANY] = "452 4.5.3 Error: too many recipients",
		[SMTP_R_DATA_OK] = "354 End data with <CR><LF>.<CR><LF>",
		[SMTP_R_DATA_NEED_MAIL] = "503 5.5.1 Error: need RCPT command",
		[SMTP_R_DATA_NEED_RCPT] =
		    "554 5.5.1 Error: no valid recipients",
		[SMTP_R_QUEUED] = "250 2.0.0 Ok: queued as %q",
		[SMTP_R_DATA_TOO_BIG] = "552 5.3.4 Error: message file too big",
		[SMTP_R_NO_STORAGE] = "452 4.3.1 Insufficient system storage",
		[SMTP_R_STORE_FAILED] =
		    "451 4.3.0 Error: queue file write error",
		[SMTP_R_RSET] = "250 2.0.0 Ok",
		[SMTP_R_NOOP] = "250 2.0.0 Ok",
		[SMTP_R_QUIT] = "221 2.0.0 Bye",
		/* Postfix has no HELP command. */
		[SMTP_R_HELP] = "502 5.5.2 Error: command not recognized",
		[SMTP_R_VRFY] = "252 2.0.0 %s",
		[SMTP_R_VRFY_KNOWN] = "252 2.0.0 %s",
		[SMTP_R_VRFY_UNKNOWN] =
		    "550 5.1.1 <%s>: Recipient address rejected: User unknown "
		    "in local recipient table",
		[SMTP_R_VRFY_SYNTAX] = "501 5.5.4 Syntax: VRFY address",
		/* Postfix has no EXPN command. */
		[SMTP_R_EXPN] = "502 5.5.2 Error: command not recognized",
		[SMTP_R_EXPN_KNOWN] = "502 5.5.2 Error: command not recognized",
		[SMTP_R_EXPN_UNKNOWN] =
		    "502 5.5.2 Error: command not recognized",
		[SMTP_R_STARTTLS] = "220 2.0.0 Ready to start TLS",
		[SMTP_R_STARTTLS_SYNTAX] = "501 5.5.4 Syntax: STARTTLS",
		[SMTP_R_STARTTLS_ACTIVE] =
		    "554 5.5.1 Error: TLS already active",
		[SMTP_R_IN_TRANSACTION] =
		    "503 5.5.1 Error: MAIL transaction in progress",
		[SMTP_R_AUTH_OK] = "235 2.7.0 Authentication successful",
		/*
		 * NOTE: with Dovecot, Postfix appends the last challenge
		 * it sent as the reason; this is our reading of
		 * xsasl_dovecot_server, not a capture.
		 */
		[SMTP_R_AUTH_FAILED] =
		    "535 5.7.8 Error: authentication failed: %r",
		[SMTP_R_AUTH_CANCELLED] = "501 5.7.0 Authentication aborted",
		[SMTP_R_AUTH_BAD_BASE64] =
		    "535 5.7.8 Error: authentication failed: Invalid base64 "
		    "data in continued response",
		[SMTP_R_AUTH_BAD_MECH] = "535 5.7.8 Error: authentication "
					 "failed: Invalid authentication "
					 "mechanism",
		[SMTP_R_AUTH_SYNTAX] = "501 5.5.4 Syntax: AUTH mechanism",
		[SMTP_R_AUTH_NOT_OFFERED] =
		    "503 5.5.1 Error: authentication not enabled",
		[SMTP_R_AUTH_ALREADY] =
		    "503 5.5.1 Error: already authenticated",
		[SMTP_R_BAD_BYTES] = "500 5.5.2 Error: bad UTF-8 syntax",
		[SMTP_R_UNKNOWN] = "502 5.5.2 Error: command not recognized",
		[SMTP_R_EMPTY] = "500 5.5.2 Error: bad syntax",
		/* NOTE: Postfix truncates long lines; this wording is ours. */
		[SMTP_R_LINE_TOO_LONG] = "500 5.5.2 Error: line too long",
		[SMTP_R_TIMEOUT] = "421 4.4.2 %h Error: timeout exceeded",
		[SMTP_R_TIMEOUT_DATA] = "421 4.4.2 %h Error: timeout exceeded",
		[SMTP_R_TOO_MANY_ERRORS] =
		    "421 4.7.0 %h Error: too many errors",
		[SMTP_R_TOO_MANY_MESSAGES] =
		    "421 4.7.0 %h Error: too much mail from %a",
		[SMTP_R_SHUTDOWN] = "421 4.3.2 %h Service shutting down",
	    },
    },
    {
	.name = "sendmail",
	.queue_id = sendmail_queue_id,
	.auth_mechanisms = "DIGEST-MD5 CRAM-MD5 LOGIN PLAIN",
	.auth_needs_tls = false,
	.reply =
	    {
		[SMTP_R_BANNER] = "220 %h ESMTP Sendmail 8.14.7/8.14.7; %d",
		[SMTP_R_HELO] = "250 %h Hello %n [%a], pleased to meet you",
		/*
		 * Sendmail advertises bare SIZE without MaxMessageSize; we
		 * enforce a limit, so we advertise it as a server configured
		 * with one.
		 */
		[SMTP_R_EHLO] = "250-%h Hello %n [%a], pleased to meet you\n"
				"250-ENHANCEDSTATUSCODES\n"
				"250-PIPELINING\n"
				"250-8BITMIME\n"
				"250-SIZE 10240000\n"
				"250-DSN\n"
				"250-ETRN\n"
				"250-AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN\n"
				"250-STARTTLS\n"
				"250-DELIVERBY\n"
				"250 HELP",
		[SMTP_R_EHLO_TLS] =
		    "250-%h Hello %n [%a], pleased to meet you\n"
		    "250-ENHANCEDSTATUSCODES\n"
		    "250-PIPELINING\n"
		    "250-8BITMIME\n"
		    "250-SIZE 10240000\n"
		    "250-DSN\n"
		    "250-ETRN\n"
		    "250-AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN\n"
		    "250-DELIVERBY\n"
		    "250 HELP",
		[SMTP_R_EHLO_NO_TLS] =
		    "250-%h Hello %n [%a], pleased to meet you\n"
		    "250-ENHANCEDSTATUSCODES\n"
		    "250-PIPELINING\n"
		    "250-8BITMIME\n"
		    "250-SIZE 10240000\n"
		    "250-DSN\n"
		    "250-ETRN\n"
		    "250-AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN\n"
		    "250-DELIVERBY\n"
		    "250 HELP",
		[SMTP_R_HELO_SYNTAX] = "501 5.0.0 HELO requires domain address",
		[SMTP_R_EHLO_SYNTAX] = "501 5.0.0 EHLO requires domain address",
		[SMTP_R_MAIL_OK] = "250 2.1.0 <%s>... Sender ok",
		[SMTP_R_MAIL_SYNTAX] =
		    "501 5.5.2 Syntax error in parameters scanning \"from\"",
		[SMTP_R_MAIL_BAD_ADDRESS] =
		    "553 5.1.7 %s... Invalid sender address",
		[SMTP_R_MAIL_NESTED] = "503 5.5.0 Sender already specified",
		[SMTP_R_MAIL_TOO_BIG] = "552 5.2.3 Message size exceeds fixed "
					"maximum message size (10240000)",
		[SMTP_R_MAIL_BAD_SIZE] = "501 5.5.4 Invalid SIZE parameter",
		[SMTP_R_RCPT_OK] = "250 2.1.5 <%s>... Recipient ok",
		[SMTP_R_RCPT_SYNTAX] =
		    "501 5.5.2 Syntax error in parameters scanning \"to\"",
		[SMTP_R_RCPT_BAD_ADDRESS] =
		    "553 5.1.3 %s... User address required",
		[SMTP_R_RCPT_NEED_MAIL] = "503 5.0.0 Need MAIL before RCPT",
		[SMTP_R_RCPT_TOO_MANY] = "452 4.5.3 Too many recipients",
		[SMTP_R_DATA_OK] =
		    "354 Enter mail, end with \".\" on a line by itself",
		[SMTP_R_DATA_NEED_MAIL] = "503 5.0.0 Need MAIL command",
		[SMTP_R_DATA_NEED_RCPT] = "503 5.0.0 Need RCPT (recipient)",
		[SMTP_R_QUEUED] = "250 2.0.0 %q Message accepted for delivery",
		[SMTP_R_DATA_TOO_BIG] =
		    "552 5.2.3 Message exceeds maximum fixed "
		    "size (10240000)",
		[SMTP_R_NO_STORAGE] =
		    "452 4.4.5 Insufficient disk space; try again "
		    "later",
		[SMTP_R_STORE_FAILED] =
		    "451 4.3.0 Temporary system failure. Please "
		    "try again later.",
		[SMTP_R_RSET] = "250 2.0.0 Reset state",
		[SMTP_R_NOOP] = "250 2.0.0 OK",
		[SMTP_R_QUIT] = "221 2.0.0 %h closing connection",
		[SMTP_R_HELP] =
		    "214-2.0.0 This is sendmail version 8.14.7\n"
		    "214-2.0.0 Topics:\n"
		    "214-2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA\n"
		    "214-2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY\n"
		    "214-2.0.0 \tEXPN\tETRN\tDSN\n"
		    "214-2.0.0 For more info use \"HELP <topic>\".\n"
		    "214-2.0.0 To report bugs in the implementation "
		    "see\n"
		    "214-2.0.0 \thttp://www.sendmail.org/"
		    "email-addresses.html\n"
		    "214-2.0.0 For local information send email to "
		    "Postmaster at your site.\n"
		    "214 2.0.0 End of HELP info",
		/*
		 * NOTE: a remote address is answered as deliverable,
		 * as an open relay would; our reading, not a capture.
		 */
		[SMTP_R_VRFY] = "250 2.1.5 <%s>",
		[SMTP_R_VRFY_KNOWN] = "250 2.1.5 %u <%u@%h>",
		[SMTP_R_VRFY_UNKNOWN] = "550 5.1.1 %s... User unknown",
		[SMTP_R_VRFY_SYNTAX] = "501 5.5.2 Argument required",
		[SMTP_R_EXPN] = "250 2.1.5 <%s>",
		[SMTP_R_EXPN_KNOWN] = "250 2.1.5 %u <%u@%h>",
		[SMTP_R_EXPN_UNKNOWN] = "550 5.1.1 %s... User unknown",
		[SMTP_R_STARTTLS] = "220 2.0.0 Ready to start TLS",
		[SMTP_R_STARTTLS_SYNTAX] =
		    "501 5.5.2 Syntax error (no parameters allowed)",
		[SMTP_R_STARTTLS_ACTIVE] = "503 5.5.0 TLS already active",
		[SMTP_R_IN_TRANSACTION] =
		    "503 5.5.0 AUTH not permitted during a mail transaction",
		[SMTP_R_AUTH_OK] = "235 2.0.0 OK Authenticated",
		[SMTP_R_AUTH_FAILED] = "535 5.7.0 authentication failed",
		[SMTP_R_AUTH_CANCELLED] = "501 5.0.0 AUTH aborted",
		[SMTP_R_AUTH_BAD_BASE64] =
		    "501 5.5.4 cannot decode AUTH parameter",
		[SMTP_R_AUTH_BAD_MECH] =
		    "504 5.3.3 AUTH mechanism %s not available",
		[SMTP_R_AUTH_SYNTAX] =
		    "501 5.5.2 AUTH mechanism must be specified",
		[SMTP_R_AUTH_NOT_OFFERED] = "503 5.3.3 AUTH not available",
		[SMTP_R_AUTH_ALREADY] = "503 5.5.0 Already Authenticated",
		[SMTP_R_BAD_BYTES] = "500 5.5.1 Command unrecognized: \"%c\"",
		[SMTP_R_UNKNOWN] = "500 5.5.1 Command unrecognized: \"%c\"",
		[SMTP_R_EMPTY] = "500 5.5.1 Command unrecognized: \"\"",
		[SMTP_R_LINE_TOO_LONG] = "500 5.5.0 Command line too long",
		/* NOTE: these three are our best reading of sendmail's wording.
		 */
		[SMTP_R_TIMEOUT] = "421 4.4.2 %h Timeout waiting for input",
		[SMTP_R_TIMEOUT_DATA] =
		    "421 4.4.2 %h Timeout waiting for input "
		    "during message collect",
		[SMTP_R_TOO_MANY_ERRORS] =
		    "421 4.7.0 %h Too many bad commands; closing connection",
		[SMTP_R_TOO_MANY_MESSAGES] =
		    "421 4.7.0 %h Too many messages for this session",
		[SMTP_R_SHUTDOWN] = "421 4.3.2 %h Shutting down",
	    },
    },
    {
	.name = "exim",
	.queue_id = exim_queue_id,
	.auth_mechanisms = "PLAIN LOGIN",
	.auth_needs_tls = true,
	.reply =
	    {
		[SMTP_R_BANNER] = "220 %h ESMTP Exim 4.96 %D",
		[SMTP_R_HELO] = "250 %h Hello %n [%a]",
		[SMTP_R_EHLO] = "250-%h Hello %n [%a]\n"
				"250-SIZE 10240000\n"
				"250-8BITMIME\n"
				"250-PIPELINING\n"
				"250-STARTTLS\n"
				"250 HELP",
		[SMTP_R_EHLO_TLS] = "250-%h Hello %n [%a]\n"
				    "250-SIZE 10240000\n"
				    "250-8BITMIME\n"
				    "250-PIPELINING\n"
				    "250-AUTH PLAIN LOGIN\n"
				    "250 HELP",
		[SMTP_R_EHLO_NO_TLS] = "250-%h Hello %n [%a]\n"
				       "250-SIZE 10240000\n"
				       "250-8BITMIME\n"
				       "250-PIPELINING\n"
				       "250 HELP",
		[SMTP_R_HELO_SYNTAX] =
		    "501 Syntactically invalid HELO argument(s)",
		[SMTP_R_EHLO_SYNTAX] =
		    "501 Syntactically invalid EHLO argument(s)",
		[SMTP_R_MAIL_OK] = "250 OK",
		[SMTP_R_MAIL_SYNTAX] = "501 MAIL must have an address operand",
		[SMTP_R_MAIL_BAD_ADDRESS] = "501 %s: malformed address",
		[SMTP_R_MAIL_NESTED] = "503 sender already given",
		[SMTP_R_MAIL_TOO_BIG] =
		    "552 Message size exceeds maximum permitted",
		[SMTP_R_MAIL_BAD_SIZE] = "501 invalid data for SIZE",
		[SMTP_R_RCPT_OK] = "250 Accepted",
		[SMTP_R_RCPT_SYNTAX] = "501 RCPT must have an address operand",
		[SMTP_R_RCPT_BAD_ADDRESS] = "501 %s: malformed address",
		[SMTP_R_RCPT_NEED_MAIL] = "503 sender not yet given",
		[SMTP_R_RCPT_TOO_MANY] = "452 too many recipients",
		[SMTP_R_DATA_OK] =
		    "354 Enter message, ending with \".\" on a line "
		    "by itself",
		[SMTP_R_DATA_NEED_MAIL] =
		    "503 valid RCPT command must precede DATA",
		[SMTP_R_DATA_NEED_RCPT] =
		    "503 valid RCPT command must precede DATA",
		[SMTP_R_QUEUED] = "250 OK id=%q",
		[SMTP_R_DATA_TOO_BIG] =
		    "552 Message size exceeds maximum message "
		    "size",
		[SMTP_R_NO_STORAGE] = "452 Space shortage, please try later",
		[SMTP_R_STORE_FAILED] =
		    "451 Temporary local problem - please try "
		    "later",
		[SMTP_R_RSET] = "250 Reset OK",
		[SMTP_R_NOOP] = "250 OK",
		[SMTP_R_QUIT] = "221 %h closing connection",
		[SMTP_R_HELP] =
		    "214-Commands supported:\n"
		    "214 HELO EHLO MAIL RCPT DATA NOOP QUIT RSET HELP",
		[SMTP_R_VRFY] = "252 Administrative prohibition",
		[SMTP_R_VRFY_KNOWN] = "252 Administrative prohibition",
		[SMTP_R_VRFY_UNKNOWN] = "252 Administrative prohibition",
		[SMTP_R_VRFY_SYNTAX] = "252 Administrative prohibition",
		[SMTP_R_EXPN] = "550 Administrative prohibition",
		[SMTP_R_EXPN_KNOWN] = "550 Administrative prohibition",
		[SMTP_R_EXPN_UNKNOWN] = "550 Administrative prohibition",
		[SMTP_R_STARTTLS] = "220 TLS go ahead",
		[SMTP_R_STARTTLS_SYNTAX] = "501 garbage after STARTTLS command",
		[SMTP_R_STARTTLS_ACTIVE] =
		    "503 STARTTLS command used when not advertised",
		/* NOTE: our reading of Exim's smtp_in.c, not a capture. */
		[SMTP_R_IN_TRANSACTION] = "503 sender already given",
		[SMTP_R_AUTH_OK] = "235 Authentication succeeded",
		[SMTP_R_AUTH_FAILED] = "535 Incorrect authentication data",
		[SMTP_R_AUTH_CANCELLED] = "501 Authentication cancelled",
		[SMTP_R_AUTH_BAD_BASE64] = "501 Invalid base64 data",
		[SMTP_R_AUTH_BAD_MECH] = "504 %s mechanism not supported",
		[SMTP_R_AUTH_SYNTAX] =
		    "501 AUTH command requires an authentication mechanism",
		[SMTP_R_AUTH_NOT_OFFERED] =
		    "503 AUTH command used when not advertised",
		[SMTP_R_AUTH_ALREADY] = "503 already authenticated",
		[SMTP_R_BAD_BYTES] = "500 unrecognized command",
		[SMTP_R_UNKNOWN] = "500 unrecognized command",
		[SMTP_R_EMPTY] = "500 unrecognized command",
		[SMTP_R_LINE_TOO_LONG] = "500 Command line too long",
		[SMTP_R_TIMEOUT] = "421 %h SMTP command timeout - closing "
				   "connection",
		[SMTP_R_TIMEOUT_DATA] =
		    "421 %h SMTP incoming data timeout - closing "
		    "connection",
		[SMTP_R_TOO_MANY_ERRORS] = "421 %h too many syntax or protocol "
					   "errors",
		[SMTP_R_TOO_MANY_MESSAGES] = "421 too many messages in this "
					     "connection",
		[SMTP_R_SHUTDOWN] = "421 %h Service not available - closing "
				    "connection",
	    },
    },
};

uint64_t
smtp_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
postfix_queue_id(
    char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq, int64_t now)
{
	uint64_t h =
	    smtp_mix64(seed ^ smtp_mix64((uint64_t)seq) ^ (uint64_t)now);
	int digits = 10 + (int)(h % 3);

	h = smtp_mix64(h);
	snprintf(out, SMTP_QUEUE_ID_MAX, "%0*llX", digits,
	    (unsigned long long)(h & ((1ULL << (4 * digits)) - 1)));
}

static const char base60[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";

static void
sendmail_queue_id(
    char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq, int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;
	unsigned pid = 1000 + (unsigned)(smtp_mix64(seed) % 98000);
	unsigned counter = (unsigned)seq % (60 * 60);

	gmtime_r(&t, &tm);
	snprintf(out, SMTP_QUEUE_ID_MAX, "%c%c%c%c%c%c%c%c%06u",
	    base60[tm.tm_year % 60], base60[tm.tm_mon], base60[tm.tm_mday],
	    base60[tm.tm_hour], base60[tm.tm_min], base60[tm.tm_sec % 60],
	    base60[counter / 60], base60[counter % 60], pid);
}

static const char base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
put_base62(char *out, int width, uint64_t v)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = base62[v % 62];
		v /= 62;
	}
}

static void
exim_queue_id(char out[SMTP_QUEUE_ID_MAX], uint64_t seed, int seq, int64_t now)
{
	uint64_t pid = 1000 + smtp_mix64(seed) % 4000000;
	uint64_t fraction = smtp_mix64(seed + (uint64_t)seq) % (62 * 62);

	put_base62(out, 6, (uint64_t)now + (uint64_t)seq / 62);
	out[6] = '-';
	put_base62(out + 7, 6, pid);
	out[13] = '-';
	put_base62(out + 14, 2, fraction);
	out[16] = '\0';
}

int
smtp_personality_count(void)
{
	return (int)(sizeof(personalities) / sizeof(personalities[0]));
}

const struct smtp_personality *
smtp_personality_get(int i)
{
	if (i < 0 || i >= smtp_personality_count())
		return NULL;
	return &personalities[i];
}

const struct smtp_personality *
smtp_personality_find(const char *name)
{
	for (int i = 0; i < smtp_personality_count(); i++)
		if (strcmp(personalities[i].name, name) == 0)
			return &personalities[i];
	return NULL;
}

const char *
smtp_personality_name(const struct smtp_personality *p)
{
	return p->name;
}

/*
 * SHA-256 of the secret and the address, so that the same client meets
 * the same server across connections and restarts, and nobody without
 * the secret can predict which one.
 */
void
smtp_personality_pick(const uint8_t secret[32], const char *client_ip,
    const char *const *hostnames, int nhostnames,
    const struct smtp_personality **p, const char **hostname)
{
	unsigned char digest[32];
	unsigned int dlen = sizeof(digest);
	uint64_t a = 0, b = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, secret, 32) != 1 ||
	    EVP_DigestUpdate(md, client_ip, strlen(client_ip)) != 1 ||
	    EVP_DigestFinal_ex(md, digest, &dlen) != 1)
		abort();
	EVP_MD_CTX_free(md);

	for (int i = 0; i < 8; i++) {
		a = a << 8 | digest[i];
		b = b << 8 | digest[8 + i];
	}
	*p = &personalities[a % (uint64_t)smtp_personality_count()];
	if (nhostnames > 0)
		*hostname = hostnames[b % (uint64_t)nhostnames];
	else
		*hostname = "localhost";
}
