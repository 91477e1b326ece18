/*
 * The SMTP emulator's state machine; see smtp.h for its contract.
 *
 * Everything the peer sends is hostile.  A pending command line grows
 * only up to SMTP_COMMAND_LINE_MAX bytes, bodies grow only up to
 * SMTP_MESSAGE_SIZE_MAX and only within the host's memory budget, and
 * peer text echoed in replies is made printable and truncated.  Lines
 * may end in CRLF or a bare LF; replies always end in CRLF.
 */
#include "smtp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/*
 * Peer text echoed in one reply substitution.  Sendmail shortens echoed
 * commands to about 200 bytes; longer echoes help nobody.
 */
#define REPLY_ECHO_MAX 200

/* Maximum reply size: Sendmail's HELP text, with room for every echo. */
#define REPLY_MAX 2048

/* A host name we greet as, truncated to this length. */
#define HOSTNAME_MAX 255

/* First allocation of a pending command line; longer ones double. */
#define LINE_CHUNK 128

/* First allocation of the recipient list; longer lists double. */
#define RCPT_CHUNK 4

/* First allocation of a body; most spam fits, larger bodies double. */
#define BODY_CHUNK (64 * 1024)

/*
 * Room for a challenge we send: CHALLENGE_TEXT_MAX bytes of text, which
 * base64 makes 4/3 as long.
 */
#define CHALLENGE_TEXT_MAX 320
#define CHALLENGE_MAX      (CHALLENGE_TEXT_MAX / 3 * 4 + 8)

enum smtp_state {
	ST_NEW,     /* banner not sent yet */
	ST_INIT,    /* greeted, no HELO/EHLO yet */
	ST_READY,   /* HELO/EHLO accepted, no transaction */
	ST_MAIL,    /* MAIL accepted, no recipient yet */
	ST_RCPT,    /* at least one recipient */
	ST_DATA,    /* reading the body after 354 */
	ST_STORING, /* final dot seen, waiting for smtp_stored() */
	ST_AUTH,    /* a 334 sent, waiting for the client's response */
	ST_TLS,     /* 220 to STARTTLS sent, waiting for the handshake */
	ST_CLOSED,  /* last reply sent */
	ST_COUNT
};

static const char *const state_names[ST_COUNT] = {
    [ST_NEW] = "new",
    [ST_INIT] = "init",
    [ST_READY] = "ready",
    [ST_MAIL] = "mail",
    [ST_RCPT] = "rcpt",
    [ST_DATA] = "data",
    [ST_STORING] = "storing",
    [ST_AUTH] = "auth",
    [ST_TLS] = "tls",
    [ST_CLOSED] = "closed",
};

/* Position of the body scanner relative to line starts and dots. */
enum data_state {
	DS_BOL,    /* at the start of a line */
	DS_DOT,    /* a dot at the start of a line */
	DS_DOT_CR, /* a dot and CR at the start of a line */
	DS_MID,    /* inside a line */
	DS_CR,     /* inside a line, after a CR */
};

struct smtp_session {
	const struct smtp_personality *p;
	const struct smtp_host *host;
	char *hostname; /* at most HOSTNAME_MAX bytes */
	char client_ip[64];
	uint64_t seed;
	enum smtp_state state;
	const char *close_reason; /* static reason for ST_CLOSED, or NULL */

	/*
	 * The start of a command line whose LF has not come yet, or NULL.
	 * Most sessions sit idle between whole lines, so the buffer exists
	 * only while a line is pending and grows up to
	 * SMTP_COMMAND_LINE_MAX; longer lines are discarded.
	 */
	char *line;
	size_t line_len;
	size_t line_cap;
	bool line_overflow;

	char *helo; /* NULL before HELO/EHLO, at most SMTP_HELO_MAX bytes */
	bool esmtp;

	/* The current transaction, allocated as it arrives. */
	char *mail_from; /* NULL before MAIL */
	char **rcpts;    /* the first SMTP_RCPT_LOGGED_MAX */
	int rcpt_cap;
	int rcpt_logged;
	int rcpt_count;

	/* The current body. */
	enum data_state data_state;
	unsigned char *body;
	size_t body_len;
	size_t body_cap;  /* also the bytes reserved from the host */
	size_t body_size; /* all bytes, kept or not */
	bool body_too_big;
	bool body_no_memory;
	char queue_id[SMTP_QUEUE_ID_MAX];

	bool tls;           /* STARTTLS completed */
	bool authenticated; /* AUTH succeeded: no second AUTH */
	int auth_attempts;

	/* The AUTH dialogue in progress, from AUTH to its last reply. */
	struct auth_dialogue *auth;

	/* The command line being run, for replies that echo it. */
	const char *command;

	/* The local user a VRFY or EXPN argument resolved to, for %u. */
	const char *local_user;

	int seq;      /* messages that reached their final dot */
	int messages; /* stored and acknowledged */
	int commands;
	int errors;
};

/* One AUTH dialogue's state, about 1.3 KB, so made only for AUTH. */
struct auth_dialogue {
	const struct mechanism *mech;
	int step;
	char user[SMTP_AUTH_FIELD_MAX + 1];
	char challenge[CHALLENGE_MAX];     /* the last one, decoded */
	char challenge_b64[CHALLENGE_MAX]; /* the last one, as sent */
};

/* A row of the verb table: the verb, its handler, the states allowing it. */
struct verb {
	const char *name;
	void (*handler)(struct smtp_session *, const char *arg);
	/* Reply when the verb comes in a state outside its allowed ones. */
	enum smtp_reply refuse[ST_COUNT];
	unsigned allowed; /* bit per enum smtp_state */
};

#define BIT(st)     (1u << (st))
#define ANY_COMMAND (BIT(ST_INIT) | BIT(ST_READY) | BIT(ST_MAIL) | BIT(ST_RCPT))

static void
set_state(struct smtp_session *s, enum smtp_state to)
{
	if (s->host->trace != NULL && s->state != to)
		s->host->trace(
		    s->host->ctx, state_names[s->state], state_names[to]);
	s->state = to;
}

/* strndup that aborts when memory runs out, as every allocation here. */
static char *
xstrndup(const char *src, size_t max)
{
	char *copy = strndup(src, max);

	if (copy == NULL)
		abort();
	return copy;
}

/* Append src to the reply, making peer bytes printable. */
static size_t
put_text(char *out, size_t pos, const char *src, size_t max, bool peer)
{
	for (size_t i = 0; src[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)src[i];

		if (pos + 3 >= REPLY_MAX)
			break;
		if (peer && (c < 0x20 || c > 0x7e))
			c = '?';
		out[pos++] = (char)c;
	}
	return pos;
}

/* Format an RFC 5322 date in UTC, with the day padded or not. */
static void
format_date(int64_t now, bool pad_day, char *out, size_t size)
{
	static const char days[7][4] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)now;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, size, "%s, %0*d %s %d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], pad_day ? 2 : 1, tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int64_t
session_now(const struct smtp_session *s)
{
	if (s->host->now != NULL)
		return s->host->now(s->host->ctx);
	return (int64_t)time(NULL);
}

static const char *
helo_text(const struct smtp_session *s)
{
	return s->helo != NULL ? s->helo : "";
}

/* Expand one substitution of a reply template at out[pos]. */
static size_t
put_field(
    struct smtp_session *s, char field, const char *arg, char *out, size_t pos)
{
	char date[64];

	switch (field) {
	case 'h':
		return put_text(out, pos, s->hostname, REPLY_ECHO_MAX, false);
	case 'a':
		return put_text(out, pos, s->client_ip, REPLY_ECHO_MAX, false);
	case 'n':
		return put_text(out, pos, helo_text(s), REPLY_ECHO_MAX, true);
	case 's':
	case 'c':
		return put_text(out, pos, arg ? arg : "", REPLY_ECHO_MAX, true);
	case 'q':
		return put_text(out, pos, s->queue_id, REPLY_ECHO_MAX, false);
	case 'u':
		return put_text(out, pos,
		    s->local_user != NULL ? s->local_user : "", REPLY_ECHO_MAX,
		    true);
	case 'r':
		return put_text(out, pos,
		    s->auth != NULL ? s->auth->challenge_b64 : "",
		    REPLY_ECHO_MAX, false);
	case 'd':
	case 'D':
		format_date(session_now(s), field == 'D', date, sizeof(date));
		return put_text(out, pos, date, sizeof(date), false);
	default:
		return put_text(out, pos, "%", 1, false);
	}
}

/*
 * Send reply r, each template line ending in CRLF.  Class 5 replies
 * count as errors.
 */
static void
reply(struct smtp_session *s, enum smtp_reply r, const char *arg)
{
	const char *t = s->p->reply[r];
	char out[REPLY_MAX];
	size_t pos = 0;

	if (t == NULL)
		abort();
	for (; *t != '\0'; t++) {
		if (pos + 3 >= REPLY_MAX)
			break;
		if (*t == '\n') {
			out[pos++] = '\r';
			out[pos++] = '\n';
		} else if (*t == '%' && t[1] != '\0') {
			pos = put_field(s, *++t, arg, out, pos);
		} else {
			out[pos++] = *t;
		}
	}
	/* put_text leaves room for the CRLF. */
	out[pos++] = '\r';
	out[pos++] = '\n';
	if (out[0] == '5')
		s->errors++;
	s->host->send(s->host->ctx, out, pos);
}

/*
 * Send the last reply and stop reading.  reason is the end's name in the
 * session.end event, or NULL when the host names the end itself.
 */
static void
reply_close(struct smtp_session *s, enum smtp_reply r, const char *reason)
{
	s->close_reason = reason;
	reply(s, r, NULL);
	set_state(s, ST_CLOSED);
}

static void
release_body(struct smtp_session *s)
{
	if (s->body_cap > 0 && s->host->reserve != NULL)
		s->host->reserve(s->host->ctx, -(long)s->body_cap);
	free(s->body);
	s->body = NULL;
	s->body_len = s->body_cap = 0;
}

static void
reset_transaction(struct smtp_session *s)
{
	for (int i = 0; i < s->rcpt_logged; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->rcpt_cap = s->rcpt_logged = s->rcpt_count = 0;
	free(s->mail_from);
	s->mail_from = NULL;
	release_body(s);
	s->body_size = 0;
	s->body_too_big = s->body_no_memory = false;
	s->queue_id[0] = '\0';
}

/* The state a transaction reset returns to. */
static enum smtp_state
idle_state(const struct smtp_session *s)
{
	return s->helo != NULL || s->esmtp ? ST_READY : ST_INIT;
}

/* Command parsing. */

static const char *
skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Match a case-insensitive keyword such as "FROM:"; return what follows. */
static const char *
match_keyword(const char *p, const char *keyword)
{
	size_t n = strlen(keyword);

	if (strncasecmp(p, keyword, n) != 0)
		return NULL;
	return p + n;
}

/*
 * Parse a path, "<addr>" or a bare "addr", with an optional source route
 * ("<@a,@b:user@c>") that is dropped.  Return the parameters that follow,
 * or NULL when the address is malformed.  The address text is copied to
 * addr, which holds SMTP_ADDRESS_MAX bytes and a NUL.
 */
static const char *
parse_path(const char *p, char *addr)
{
	const char *start, *end, *rest;
	size_t n;

	if (*p == '<') {
		start = p + 1;
		end = strchr(start, '>');
		if (end == NULL)
			return NULL;
		rest = end + 1;
		if (*rest != '\0' && *rest != ' ' && *rest != '\t')
			return NULL;
	} else {
		start = p;
		end = start + strcspn(start, " \t");
		rest = end;
	}
	if (*start == '@') {
		const char *colon = memchr(start, ':', (size_t)(end - start));

		if (colon == NULL)
			return NULL;
		start = colon + 1;
	}
	n = (size_t)(end - start);
	if (n > SMTP_ADDRESS_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)start[i];

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
			return NULL;
	}
	memcpy(addr, start, n);
	addr[n] = '\0';
	return rest;
}

/*
 * Check the ESMTP parameters of MAIL.  Only SIZE is enforced: every other
 * parameter is accepted, since refusing costs us the message.
 */
static enum smtp_reply
check_mail_params(const char *p)
{
	while (*(p = skip_spaces(p)) != '\0') {
		size_t n = strcspn(p, " \t");
		const char *value = match_keyword(p, "SIZE=");

		if (value != NULL) {
			unsigned long long size = 0;
			const char *q = value;

			if (q == p + n)
				return SMTP_R_MAIL_BAD_SIZE;
			for (; q < p + n; q++) {
				if (!isdigit((unsigned char)*q))
					return SMTP_R_MAIL_BAD_SIZE;
				if (size <= SMTP_MESSAGE_SIZE_MAX)
					size = size * 10 + (unsigned)(*q - '0');
			}
			if (size > SMTP_MESSAGE_SIZE_MAX)
				return SMTP_R_MAIL_TOO_BIG;
		}
		p += n;
	}
	return SMTP_R_MAIL_OK;
}

/* Verb handlers. */

/* The EHLO list: STARTTLS and AUTH come and go with TLS. */
static enum smtp_reply
ehlo_reply(const struct smtp_session *s)
{
	if (s->tls)
		return SMTP_R_EHLO_TLS;
	return s->host->starttls ? SMTP_R_EHLO : SMTP_R_EHLO_NO_TLS;
}

static void
do_hello(struct smtp_session *s, const char *arg, bool esmtp)
{
	arg = skip_spaces(arg);
	if (*arg == '\0') {
		reply(s, esmtp ? SMTP_R_EHLO_SYNTAX : SMTP_R_HELO_SYNTAX, NULL);
		return;
	}
	reset_transaction(s);
	free(s->helo);
	s->helo = xstrndup(arg, SMTP_HELO_MAX);
	s->esmtp = esmtp;
	set_state(s, ST_READY);
	reply(s, esmtp ? ehlo_reply(s) : SMTP_R_HELO, NULL);
}

static void
do_helo(struct smtp_session *s, const char *arg)
{
	do_hello(s, arg, false);
}

static void
do_ehlo(struct smtp_session *s, const char *arg)
{
	do_hello(s, arg, true);
}

static void
do_mail(struct smtp_session *s, const char *arg)
{
	char addr[SMTP_ADDRESS_MAX + 1];
	const char *p = match_keyword(skip_spaces(arg), "FROM:");
	const char *path;
	enum smtp_reply r;

	if (s->seq >= SMTP_MESSAGES_PER_SESSION_MAX) {
		reply_close(s, SMTP_R_TOO_MANY_MESSAGES, "too-many-messages");
		return;
	}
	if (p == NULL || *(p = skip_spaces(p)) == '\0') {
		reply(s, SMTP_R_MAIL_SYNTAX, NULL);
		return;
	}
	if (s->host->accepting != NULL && !s->host->accepting(s->host->ctx)) {
		reply(s, SMTP_R_NO_STORAGE, NULL);
		return;
	}
	path = p;
	if ((p = parse_path(path, addr)) == NULL) {
		reply(s, SMTP_R_MAIL_BAD_ADDRESS, path);
		return;
	}
	if ((r = check_mail_params(p)) != SMTP_R_MAIL_OK) {
		reply(s, r, NULL);
		return;
	}
	s->mail_from = xstrndup(addr, SMTP_ADDRESS_MAX);
	set_state(s, ST_MAIL);
	reply(s, SMTP_R_MAIL_OK, addr);
}

/* Make room for one more logged recipient. */
static void
grow_rcpts(struct smtp_session *s)
{
	int cap = s->rcpt_cap == 0 ? RCPT_CHUNK : s->rcpt_cap * 2;

	if (s->rcpt_logged < s->rcpt_cap)
		return;
	if (cap > SMTP_RCPT_LOGGED_MAX)
		cap = SMTP_RCPT_LOGGED_MAX;
	s->rcpts = realloc(s->rcpts, (size_t)cap * sizeof(s->rcpts[0]));
	if (s->rcpts == NULL)
		abort();
	s->rcpt_cap = cap;
}

static void
do_rcpt(struct smtp_session *s, const char *arg)
{
	char addr[SMTP_ADDRESS_MAX + 1];
	const char *p = match_keyword(skip_spaces(arg), "TO:");

	if (p == NULL || *(p = skip_spaces(p)) == '\0') {
		reply(s, SMTP_R_RCPT_SYNTAX, NULL);
		return;
	}
	if (parse_path(p, addr) == NULL || addr[0] == '\0') {
		reply(s, SMTP_R_RCPT_BAD_ADDRESS, p);
		return;
	}
	if (s->rcpt_count >= SMTP_RCPT_MAX) {
		reply(s, SMTP_R_RCPT_TOO_MANY, NULL);
		return;
	}
	if (s->rcpt_logged < SMTP_RCPT_LOGGED_MAX) {
		grow_rcpts(s);
		s->rcpts[s->rcpt_logged++] = xstrndup(addr, SMTP_ADDRESS_MAX);
	}
	s->rcpt_count++;
	set_state(s, ST_RCPT);
	reply(s, SMTP_R_RCPT_OK, addr);
}

static void
do_data(struct smtp_session *s, const char *arg)
{
	(void)arg;
	s->data_state = DS_BOL;
	set_state(s, ST_DATA);
	reply(s, SMTP_R_DATA_OK, NULL);
}

static void
do_rset(struct smtp_session *s, const char *arg)
{
	(void)arg;
	reset_transaction(s);
	set_state(s, idle_state(s));
	reply(s, SMTP_R_RSET, NULL);
}

static void
do_noop(struct smtp_session *s, const char *arg)
{
	(void)arg;
	reply(s, SMTP_R_NOOP, NULL);
}

/*
 * The local recipients of a stock Debian host: system accounts from
 * /etc/passwd and the RFC 2142 role aliases of /etc/aliases, with the
 * account each one delivers to.
 */
static const struct local_user {
	const char *name;
	const char *user;
} local_users[] = {
    {"root", "root"},
    {"postmaster", "root"},
    {"mailer-daemon", "root"},
    {"abuse", "root"},
    {"hostmaster", "root"},
    {"webmaster", "root"},
    {"security", "root"},
    {"noc", "root"},
    {"daemon", "daemon"},
    {"bin", "bin"},
    {"sys", "sys"},
    {"mail", "mail"},
    {"news", "news"},
    {"www-data", "www-data"},
    {"backup", "backup"},
    {"nobody", "nobody"},
};

/* Which replies a VRFY or EXPN argument gets. */
enum lookup { LOOKUP_REMOTE, LOOKUP_KNOWN, LOOKUP_UNKNOWN };

/*
 * Resolve a VRFY or EXPN argument, "user", "user@domain" or either in
 * angle brackets: a domain other than ours is remote, and a local part
 * is looked up in local_users.  The bare address goes to addr.
 */
static enum lookup
lookup_address(struct smtp_session *s, const char *arg, char *addr)
{
	size_t n = strlen(arg);
	const char *at;

	if (*arg == '<') {
		arg++;
		n = strcspn(arg, ">");
	}
	if (n > SMTP_ADDRESS_MAX)
		n = SMTP_ADDRESS_MAX;
	memcpy(addr, arg, n);
	addr[n] = '\0';
	at = strrchr(addr, '@');
	if (at != NULL && strcasecmp(at + 1, s->hostname) != 0 &&
	    strcasecmp(at + 1, "localhost") != 0)
		return LOOKUP_REMOTE;
	n = at != NULL ? (size_t)(at - addr) : strlen(addr);
	for (size_t i = 0; i < sizeof(local_users) / sizeof(local_users[0]);
	     i++) {
		const struct local_user *u = &local_users[i];

		if (strlen(u->name) == n &&
		    strncasecmp(addr, u->name, n) == 0) {
			s->local_user = u->user;
			return LOOKUP_KNOWN;
		}
	}
	return LOOKUP_UNKNOWN;
}

static void
do_vrfy(struct smtp_session *s, const char *arg)
{
	static const enum smtp_reply replies[] = {
	    [LOOKUP_REMOTE] = SMTP_R_VRFY,
	    [LOOKUP_KNOWN] = SMTP_R_VRFY_KNOWN,
	    [LOOKUP_UNKNOWN] = SMTP_R_VRFY_UNKNOWN,
	};
	char addr[SMTP_ADDRESS_MAX + 1];

	arg = skip_spaces(arg);
	if (*arg == '\0') {
		reply(s, SMTP_R_VRFY_SYNTAX, NULL);
		return;
	}
	reply(s, replies[lookup_address(s, arg, addr)], addr);
}

static void
do_expn(struct smtp_session *s, const char *arg)
{
	static const enum smtp_reply replies[] = {
	    [LOOKUP_REMOTE] = SMTP_R_EXPN,
	    [LOOKUP_KNOWN] = SMTP_R_EXPN_KNOWN,
	    [LOOKUP_UNKNOWN] = SMTP_R_EXPN_UNKNOWN,
	};
	char addr[SMTP_ADDRESS_MAX + 1];

	reply(s, replies[lookup_address(s, skip_spaces(arg), addr)], addr);
}

static void
do_starttls(struct smtp_session *s, const char *arg)
{
	if (!s->host->starttls) {
		reply(s, SMTP_R_UNKNOWN, s->command);
		return;
	}
	if (s->tls) {
		reply(s, SMTP_R_STARTTLS_ACTIVE, NULL);
		return;
	}
	if (*skip_spaces(arg) != '\0') {
		reply(s, SMTP_R_STARTTLS_SYNTAX, NULL);
		return;
	}
	reply(s, SMTP_R_STARTTLS, NULL);
	set_state(s, ST_TLS);
}

static void
do_help(struct smtp_session *s, const char *arg)
{
	(void)arg;
	reply(s, SMTP_R_HELP, NULL);
}

static void
do_quit(struct smtp_session *s, const char *arg)
{
	(void)arg;
	reply_close(s, SMTP_R_QUIT, "quit");
}

/* SMTP AUTH (RFC 4954) with the SASL mechanisms the personalities offer. */

/* A SASL mechanism: its first step, and each response to a challenge. */
struct mechanism {
	const char *name;
	/* initial: the decoded initial response, or NULL for none. */
	void (*start)(struct smtp_session *s, const char *initial, size_t len);
	void (*step)(struct smtp_session *s, const char *resp, size_t len);
};

/* Strict base64 (RFC 4648): no spaces, padding only at the end. */
static int
base64_value(unsigned char c)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

/*
 * Decode base64 text of length n into out, which holds at least
 * 3 * n / 4 + 1 bytes, and NUL-terminate it.  Returns the decoded
 * length, or -1 when the text is not base64.
 */
static long
base64_decode(const char *in, size_t n, char *out)
{
	size_t o = 0, pad = 0;

	if (n % 4 != 0)
		return -1;
	while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n; i += 4) {
		unsigned v = 0;

		for (size_t k = 0; k < 4; k++) {
			int d = i + k >= n - pad
			    ? 0
			    : base64_value((unsigned char)in[i + k]);

			if (d < 0)
				return -1;
			v = v << 6 | (unsigned)d;
		}
		out[o++] = (char)(v >> 16);
		out[o++] = (char)(v >> 8 & 0xff);
		out[o++] = (char)(v & 0xff);
	}
	o -= pad;
	out[o] = '\0';
	return (long)o;
}

/* Copy a peer field up to its first NUL, within SMTP_AUTH_FIELD_MAX. */
static void
copy_field(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len);

	if (n > SMTP_AUTH_FIELD_MAX)
		n = SMTP_AUTH_FIELD_MAX;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Send "334 " and the challenge in base64, and wait for the response. */
static void
send_challenge(struct smtp_session *s, const char *text)
{
	char line[CHALLENGE_MAX + 8];
	int n;

	snprintf(s->auth->challenge, sizeof(s->auth->challenge), "%s", text);
	if (strlen(s->auth->challenge) >= CHALLENGE_TEXT_MAX)
		abort();
	EVP_EncodeBlock((unsigned char *)s->auth->challenge_b64,
	    (const unsigned char *)s->auth->challenge,
	    (int)strlen(s->auth->challenge));
	n = snprintf(line, sizeof(line), "334 %s\r\n", s->auth->challenge_b64);
	set_state(s, ST_AUTH);
	s->host->send(s->host->ctx, line, (size_t)n);
}

/*
 * End the dialogue: tell the host, then answer.  With failure set, the
 * attempt is logged and answered r; otherwise the host decides between
 * 235 and 535.
 */
static void
finish_auth(
    struct smtp_session *s, const struct smtp_auth *a, enum smtp_reply r)
{
	bool ok = false;

	if (s->host->auth != NULL)
		ok = s->host->auth(s->host->ctx, a) && a->failure == NULL;
	if (a->failure == NULL)
		r = ok ? SMTP_R_AUTH_OK : SMTP_R_AUTH_FAILED;
	s->authenticated = ok;
	set_state(s, idle_state(s));
	/* The 535 may quote the last challenge, so free only after it. */
	reply(s, r, a->mechanism);
	free(s->auth);
	s->auth = NULL;
}

/* End a dialogue that brought no complete credentials. */
static void
fail_auth(struct smtp_session *s, const char *why, enum smtp_reply r)
{
	struct smtp_auth a = {
	    .mechanism = s->auth->mech->name,
	    .user = s->auth->user,
	    .challenge =
		s->auth->challenge[0] != '\0' ? s->auth->challenge : NULL,
	    .failure = why,
	};

	finish_auth(s, &a, r);
}

/* PLAIN (RFC 4616): authzid NUL authcid NUL password. */
static void
plain_step(struct smtp_session *s, const char *resp, size_t len)
{
	char password[SMTP_AUTH_FIELD_MAX + 1];
	const char *authcid = memchr(resp, '\0', len), *pass;
	struct smtp_auth a = {.mechanism = "PLAIN"};

	pass = authcid != NULL
	    ? memchr(authcid + 1, '\0', len - (size_t)(authcid + 1 - resp))
	    : NULL;
	if (pass == NULL) {
		copy_field(s->auth->user, resp, len);
		fail_auth(s, "malformed", SMTP_R_AUTH_FAILED);
		return;
	}
	authcid++;
	pass++;
	copy_field(s->auth->user, authcid, (size_t)(pass - 1 - authcid));
	copy_field(password, pass, len - (size_t)(pass - resp));
	a.user = s->auth->user;
	a.password = password;
	finish_auth(s, &a, SMTP_R_AUTH_FAILED);
}

static void
plain_start(struct smtp_session *s, const char *initial, size_t len)
{
	if (initial == NULL) {
		send_challenge(s, "");
		return;
	}
	plain_step(s, initial, len);
}

/* LOGIN: the user name, then the password, each after its prompt. */
static void
login_step(struct smtp_session *s, const char *resp, size_t len)
{
	char password[SMTP_AUTH_FIELD_MAX + 1];
	struct smtp_auth a = {.mechanism = "LOGIN", .user = s->auth->user};

	if (s->auth->step++ == 0) {
		copy_field(s->auth->user, resp, len);
		send_challenge(s, "Password:");
		return;
	}
	copy_field(password, resp, len);
	a.password = password;
	finish_auth(s, &a, SMTP_R_AUTH_FAILED);
}

static void
login_start(struct smtp_session *s, const char *initial, size_t len)
{
	if (initial == NULL) {
		send_challenge(s, "Username:");
		return;
	}
	login_step(s, initial, len);
}

/*
 * CRAM-MD5 (RFC 2195): a challenge in the form Cyrus SASL and Dovecot
 * send, <random.time@hostname>, answered by "user hexdigest".
 */
static void
cram_start(struct smtp_session *s, const char *initial, size_t len)
{
	char text[CHALLENGE_TEXT_MAX];
	uint64_t r = smtp_mix64(s->seed ^ (uint64_t)s->auth_attempts);

	/* Neither mechanism has an initial response: ignore one. */
	(void)initial;
	(void)len;
	snprintf(text, sizeof(text), "<%llu.%lld@%.200s>",
	    (unsigned long long)(r % 10000000000ULL), (long long)session_now(s),
	    s->hostname);
	send_challenge(s, text);
}

static void
cram_step(struct smtp_session *s, const char *resp, size_t len)
{
	char digest[SMTP_AUTH_FIELD_MAX + 1];
	const char *space = memchr(resp, ' ', strnlen(resp, len));
	struct smtp_auth a = {
	    .mechanism = "CRAM-MD5",
	    .user = s->auth->user,
	    .digest = digest,
	    .challenge = s->auth->challenge,
	};

	if (space == NULL) {
		copy_field(s->auth->user, resp, len);
		fail_auth(s, "malformed", SMTP_R_AUTH_FAILED);
		return;
	}
	copy_field(s->auth->user, resp, (size_t)(space - resp));
	copy_field(digest, space + 1, len - (size_t)(space + 1 - resp));
	finish_auth(s, &a, SMTP_R_AUTH_FAILED);
}

/*
 * DIGEST-MD5 (RFC 2831), offered by Sendmail with Cyrus SASL.  Only its
 * first round runs: the client's response carries the user name and
 * digest we log.  Nothing can accept it, because checking it would
 * need the realm, nonces and URI of a full exchange.
 */
static void
digest_start(struct smtp_session *s, const char *initial, size_t len)
{
	char text[CHALLENGE_TEXT_MAX];
	uint64_t r = smtp_mix64(s->seed + (uint64_t)s->auth_attempts);

	/* Neither mechanism has an initial response: ignore one. */
	(void)initial;
	(void)len;
	snprintf(text, sizeof(text),
	    "realm=\"%.200s\",nonce=\"%016llx%08llx\",qop=\"auth\","
	    "charset=utf-8,algorithm=md5-sess",
	    s->hostname, (unsigned long long)r,
	    (unsigned long long)(smtp_mix64(r) & 0xffffffffULL));
	send_challenge(s, text);
}

/* Copy the value of key="..." or key=... from a DIGEST-MD5 response. */
static void
digest_field(const char *resp, const char *key, char *out)
{
	const char *p = strstr(resp, key);
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(key);
	if (*p == '"')
		n = strcspn(++p, "\"");
	else
		n = strcspn(p, ",");
	copy_field(out, p, n);
}

static void
digest_step(struct smtp_session *s, const char *resp, size_t len)
{
	char digest[SMTP_AUTH_FIELD_MAX + 1];
	struct smtp_auth a = {
	    .mechanism = "DIGEST-MD5",
	    .user = s->auth->user,
	    .digest = digest,
	    .challenge = s->auth->challenge,
	};

	(void)len;
	digest_field(resp, "username=", s->auth->user);
	digest_field(resp, "response=", digest);
	if (s->auth->user[0] == '\0' || digest[0] == '\0') {
		fail_auth(s, "malformed", SMTP_R_AUTH_FAILED);
		return;
	}
	finish_auth(s, &a, SMTP_R_AUTH_FAILED);
}

static const struct mechanism mechanisms[] = {
    {"PLAIN", plain_start, plain_step},
    {"LOGIN", login_start, login_step},
    {"CRAM-MD5", cram_start, cram_step},
    {"DIGEST-MD5", digest_start, digest_step},
};

/* True when the personality lists word, of length n, among its mechanisms. */
static bool
mechanism_offered(const struct smtp_session *s, const char *word, size_t n)
{
	const char *p = s->p->auth_mechanisms;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncasecmp(p, word, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

static bool
auth_offered(const struct smtp_session *s)
{
	return s->p->auth_mechanisms != NULL && s->helo != NULL &&
	    (s->tls || !s->p->auth_needs_tls);
}

static void
do_auth(struct smtp_session *s, const char *arg)
{
	char initial[SMTP_COMMAND_LINE_MAX];
	const char *word = skip_spaces(arg), *rest;
	size_t n = strcspn(word, " \t");
	long len;

	if (!auth_offered(s)) {
		reply(s, SMTP_R_AUTH_NOT_OFFERED, NULL);
		return;
	}
	if (s->authenticated) {
		reply(s, SMTP_R_AUTH_ALREADY, NULL);
		return;
	}
	if (n == 0) {
		reply(s, SMTP_R_AUTH_SYNTAX, NULL);
		return;
	}
	s->auth_attempts++;
	free(s->auth);
	s->auth = calloc(1, sizeof(*s->auth));
	if (s->auth == NULL)
		abort();
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
		if (strlen(mechanisms[i].name) == n &&
		    strncasecmp(word, mechanisms[i].name, n) == 0)
			s->auth->mech = &mechanisms[i];
	if (s->auth->mech == NULL || !mechanism_offered(s, word, n)) {
		struct smtp_auth a = {
		    .user = "", .failure = "unsupported-mechanism"};
		char name[32];

		copy_field(name, word, n < sizeof(name) - 1 ? n : 31);
		a.mechanism = name;
		finish_auth(s, &a, SMTP_R_AUTH_BAD_MECH);
		return;
	}
	rest = skip_spaces(word + n);
	if (*rest == '\0') {
		s->auth->mech->start(s, NULL, 0);
		return;
	}
	/* RFC 4954: "=" is an empty initial response. */
	if (strcmp(rest, "=") == 0) {
		initial[0] = '\0';
		s->auth->mech->start(s, initial, 0);
		return;
	}
	if ((len = base64_decode(rest, strlen(rest), initial)) < 0) {
		fail_auth(s, "malformed", SMTP_R_AUTH_BAD_BASE64);
		return;
	}
	s->auth->mech->start(s, initial, (size_t)len);
}

/* A line in answer to our 334: "*" cancels, anything else is base64. */
static void
auth_response(struct smtp_session *s, const char *line, size_t len)
{
	char decoded[SMTP_COMMAND_LINE_MAX];
	long n;

	if (strcmp(line, "*") == 0) {
		fail_auth(s, "cancelled", SMTP_R_AUTH_CANCELLED);
		return;
	}
	if (strlen(line) != len ||
	    (n = base64_decode(line, len, decoded)) < 0) {
		fail_auth(s, "malformed", SMTP_R_AUTH_BAD_BASE64);
		return;
	}
	s->auth->mech->step(s, decoded, (size_t)n);
}

bool
smtp_cram_md5_matches(
    const char *challenge, const char *password, const char *digest_hex)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (HMAC(EVP_md5(), password, (int)strlen(password),
		(const unsigned char *)challenge, strlen(challenge), mac,
		&maclen) == NULL)
		return false;
	for (unsigned i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return strlen(digest_hex) == 2 * maclen &&
	    strncasecmp(hex, digest_hex, 2 * maclen) == 0;
}

static const struct verb verbs[] = {
    {"HELO", do_helo, {0}, ANY_COMMAND},
    {"EHLO", do_ehlo, {0}, ANY_COMMAND},
    {"MAIL", do_mail,
	{[ST_MAIL] = SMTP_R_MAIL_NESTED, [ST_RCPT] = SMTP_R_MAIL_NESTED},
	BIT(ST_INIT) | BIT(ST_READY)},
    {"RCPT", do_rcpt,
	{[ST_INIT] = SMTP_R_RCPT_NEED_MAIL, [ST_READY] = SMTP_R_RCPT_NEED_MAIL},
	BIT(ST_MAIL) | BIT(ST_RCPT)},
    {"DATA", do_data,
	{[ST_INIT] = SMTP_R_DATA_NEED_MAIL,
	    [ST_READY] = SMTP_R_DATA_NEED_MAIL,
	    [ST_MAIL] = SMTP_R_DATA_NEED_RCPT},
	BIT(ST_RCPT)},
    {"RSET", do_rset, {0}, ANY_COMMAND},
    {"NOOP", do_noop, {0}, ANY_COMMAND},
    {"VRFY", do_vrfy, {0}, ANY_COMMAND},
    {"EXPN", do_expn, {0}, ANY_COMMAND},
    {"HELP", do_help, {0}, ANY_COMMAND},
    {"QUIT", do_quit, {0}, ANY_COMMAND},
    {"STARTTLS", do_starttls,
	{[ST_MAIL] = SMTP_R_IN_TRANSACTION, [ST_RCPT] = SMTP_R_IN_TRANSACTION},
	BIT(ST_INIT) | BIT(ST_READY)},
    {"AUTH", do_auth,
	{[ST_MAIL] = SMTP_R_IN_TRANSACTION, [ST_RCPT] = SMTP_R_IN_TRANSACTION},
	BIT(ST_INIT) | BIT(ST_READY)},
};

/*
 * True when the n bytes at p are well-formed UTF-8 (RFC 3629): no
 * overlong forms, surrogates or code points past U+10FFFF.
 */
static bool
valid_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return false;
		if (n - i - 1 < need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((need == 2 &&
			(cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += need + 1;
	}
	return true;
}

/* Run one complete command line (terminator removed, NUL-terminated). */
static void
run_command(struct smtp_session *s, const char *line, size_t len)
{
	/* Input before the banner is answered as if it came after. */
	enum smtp_state st = s->state == ST_NEW ? ST_INIT : s->state;
	size_t n = strcspn(line, " \t");

	if (s->state == ST_AUTH) {
		auth_response(s, line, len);
		return;
	}
	s->commands++;
	if (len == 0) {
		reply(s, SMTP_R_EMPTY, NULL);
		return;
	}
	if (strlen(line) != len) {
		reply(s, SMTP_R_UNKNOWN, line);
		return;
	}
	if (!valid_utf8((const unsigned char *)line, len)) {
		reply(s, SMTP_R_BAD_BYTES, line);
		return;
	}
	s->command = line;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const struct verb *v = &verbs[i];

		if (strlen(v->name) != n || strncasecmp(line, v->name, n) != 0)
			continue;
		if ((v->allowed & BIT(st)) == 0)
			reply(s, v->refuse[st], NULL);
		else
			v->handler(s, line + n);
		return;
	}
	reply(s, SMTP_R_UNKNOWN, line);
}

/* After each reply that may be an error: too many errors close. */
static void
check_errors(struct smtp_session *s)
{
	if (s->errors >= SMTP_ERRORS_MAX && s->state != ST_CLOSED)
		reply_close(s, SMTP_R_TOO_MANY_ERRORS, "too-many-errors");
}

static void
free_line(struct smtp_session *s)
{
	free(s->line);
	s->line = NULL;
	s->line_len = s->line_cap = 0;
}

/* Keep the start of a line until its LF comes; the caller bounds it. */
static void
keep_line(struct smtp_session *s, const char *data, size_t n)
{
	size_t cap = s->line_cap;

	if (s->line_len + n > cap) {
		while (cap < s->line_len + n)
			cap = cap == 0 ? LINE_CHUNK : cap * 2;
		if (cap > SMTP_COMMAND_LINE_MAX)
			cap = SMTP_COMMAND_LINE_MAX;
		s->line = realloc(s->line, cap);
		if (s->line == NULL)
			abort();
		s->line_cap = cap;
	}
	memcpy(s->line + s->line_len, data, n);
	s->line_len += n;
}

/*
 * Read command bytes up to and including one LF.  A line over
 * SMTP_COMMAND_LINE_MAX is discarded as it arrives and answered once
 * its LF comes.  A whole line is run from the stack, so the session
 * keeps no line buffer between commands.
 */
static size_t
line_input(struct smtp_session *s, const char *data, size_t len)
{
	char line[SMTP_COMMAND_LINE_MAX];
	const char *lf = memchr(data, '\n', len);
	size_t take = lf != NULL ? (size_t)(lf - data) : len;
	size_t n;

	/* Keep room for the LF within the limit, as RFC 5321 counts it. */
	if (s->line_overflow ||
	    s->line_len + take > SMTP_COMMAND_LINE_MAX - 1) {
		s->line_overflow = true;
		free_line(s);
	} else if (lf == NULL) {
		keep_line(s, data, take);
	}
	if (lf == NULL)
		return len;

	if (s->line_overflow) {
		s->commands++;
		reply(s, SMTP_R_LINE_TOO_LONG, NULL);
	} else {
		n = s->line_len;
		if (n > 0)
			memcpy(line, s->line, n);
		memcpy(line + n, data, take);
		n += take;
		free_line(s);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		run_command(s, line, n);
	}
	s->line_overflow = false;
	check_errors(s);
	return take + 1;
}

/* Grow the body to hold n more bytes, within size and memory limits. */
static bool
body_reserve(struct smtp_session *s, size_t n)
{
	size_t cap = s->body_cap;

	if (s->body != NULL && s->body_len + n <= cap)
		return true;
	while (cap < s->body_len + n)
		cap = cap == 0 ? BODY_CHUNK : cap * 2;
	if (cap > SMTP_MESSAGE_SIZE_MAX)
		cap = SMTP_MESSAGE_SIZE_MAX;
	if (s->host->reserve != NULL &&
	    !s->host->reserve(s->host->ctx, (long)(cap - s->body_cap))) {
		s->body_no_memory = true;
		release_body(s);
		return false;
	}
	s->body = realloc(s->body, cap);
	if (s->body == NULL)
		abort();
	s->body_cap = cap;
	return true;
}

/* Append body bytes, or only count them once the message is refused. */
static void
body_append(struct smtp_session *s, const char *data, size_t n)
{
	if (s->body_too_big)
		return;
	if (s->body_size + n > SMTP_MESSAGE_SIZE_MAX) {
		s->body_too_big = true;
		release_body(s);
		return;
	}
	s->body_size += n;
	if (s->body_no_memory || !body_reserve(s, n))
		return;
	memcpy(s->body + s->body_len, data, n);
	s->body_len += n;
}

/* Hand the finished message to the host, or refuse it. */
static void
finish_message(struct smtp_session *s)
{
	struct smtp_envelope env;

	s->seq++;
	if (s->body_too_big || s->body_no_memory) {
		reply(s,
		    s->body_too_big ? SMTP_R_DATA_TOO_BIG : SMTP_R_NO_STORAGE,
		    NULL);
		reset_transaction(s);
		set_state(s, idle_state(s));
		check_errors(s);
		return;
	}
	s->p->queue_id(s->queue_id, s->seed, s->seq, session_now(s));
	env = (struct smtp_envelope){
	    .helo = helo_text(s),
	    .esmtp = s->esmtp,
	    .mail_from = s->mail_from != NULL ? s->mail_from : "",
	    .rcpts = (const char *const *)s->rcpts,
	    .rcpt_logged = s->rcpt_logged,
	    .rcpt_count = s->rcpt_count,
	    .queue_id = s->queue_id,
	    .seq = s->seq,
	    .body = s->body != NULL ? s->body : (const unsigned char *)"",
	    .size = s->body_len,
	};
	set_state(s, ST_STORING);
	if (s->host->store(s->host->ctx, &env) != 0) {
		reply(s, SMTP_R_STORE_FAILED, NULL);
		reset_transaction(s);
		set_state(s, idle_state(s));
		return;
	}
	/*
	 * The host copied the body, so this copy can go at once.  The
	 * reservation stays until smtp_stored(): the host's copy lives
	 * until the commit, and counts against the same memory cap.
	 */
	free(s->body);
	s->body = NULL;
	s->body_len = 0;
}

/* Bytes before the first CR or LF in p[0..n). */
static size_t
run_length(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n), *cr;

	if (lf != NULL)
		n = (size_t)(lf - p);
	cr = memchr(p, '\r', n);
	return cr != NULL ? (size_t)(cr - p) : n;
}

/*
 * Read body bytes: undo dot-stuffing and stop after the line holding
 * only a dot.  Returns the bytes consumed.
 */
static size_t
data_input(struct smtp_session *s, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		char c = data[i];

		switch (s->data_state) {
		case DS_MID: {
			/* Copy the run up to the next CR or LF in one go. */
			size_t run = run_length(data + i, len - i);

			if (run > 0) {
				body_append(s, data + i, run);
				i += run;
				continue;
			}
			break;
		}
		case DS_DOT:
			i++;
			if (c == '\n') {
				finish_message(s);
				return i;
			}
			if (c == '\r') {
				s->data_state = DS_DOT_CR;
				continue;
			}
			/* A leading dot is stuffing: drop it, keep c. */
			s->data_state = DS_MID;
			i--;
			continue;
		case DS_DOT_CR:
			if (c == '\n') {
				finish_message(s);
				return i + 1;
			}
			/* ".\r" then more: the dot was stuffing. */
			body_append(s, "\r", 1);
			s->data_state = DS_CR;
			continue;
		case DS_BOL:
			if (c == '.') {
				s->data_state = DS_DOT;
				i++;
				continue;
			}
			break;
		case DS_CR:
			break;
		}
		body_append(s, &data[i], 1);
		i++;
		if (c == '\n')
			s->data_state = DS_BOL;
		else if (c == '\r')
			s->data_state = DS_CR;
		else
			s->data_state = DS_MID;
	}
	return i;
}

/* The public interface. */

struct smtp_session *
smtp_session_new(const struct smtp_personality *p, const char *hostname,
    const char *client_ip, const struct smtp_host *host, uint64_t queue_id_seed)
{
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	s->p = p;
	s->host = host;
	s->hostname = xstrndup(hostname, HOSTNAME_MAX);
	snprintf(s->client_ip, sizeof(s->client_ip), "%s", client_ip);
	s->seed = queue_id_seed;
	s->state = ST_NEW;
	return s;
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	reset_transaction(s);
	free_line(s);
	free(s->auth);
	free(s->helo);
	free(s->hostname);
	free(s);
}

void
smtp_greet(struct smtp_session *s)
{
	if (s->state != ST_NEW)
		return;
	set_state(s, ST_INIT);
	reply(s, SMTP_R_BANNER, NULL);
}

static enum smtp_status
status_of(const struct smtp_session *s)
{
	switch (s->state) {
	case ST_STORING:
		return SMTP_PAUSED;
	case ST_CLOSED:
		return SMTP_CLOSE;
	case ST_TLS:
		return SMTP_STARTTLS;
	default:
		return SMTP_CONTINUE;
	}
}

enum smtp_status
smtp_input(struct smtp_session *s, const char *data, size_t len, size_t *used)
{
	size_t i = 0;

	while (i < len && status_of(s) == SMTP_CONTINUE) {
		if (s->state == ST_DATA)
			i += data_input(s, data + i, len - i);
		else
			i += line_input(s, data + i, len - i);
	}
	*used = i;
	return status_of(s);
}

enum smtp_status
smtp_stored(struct smtp_session *s, bool ok)
{
	if (s->state == ST_CLOSED)
		return SMTP_CLOSE;
	if (s->state != ST_STORING)
		abort();
	if (ok) {
		s->messages++;
		reply(s, SMTP_R_QUEUED, NULL);
	} else {
		reply(s, SMTP_R_STORE_FAILED, NULL);
	}
	reset_transaction(s);
	set_state(s, idle_state(s));
	return SMTP_CONTINUE;
}

void
smtp_timeout(struct smtp_session *s, bool total)
{
	/* Every MTA here words the idle and the overall limit alike. */
	(void)total;
	if (s->state == ST_CLOSED)
		return;
	/* Mid-handshake, plaintext would only garble the TLS stream. */
	if (s->state == ST_TLS) {
		set_state(s, ST_CLOSED);
		return;
	}
	reply_close(s,
	    s->state == ST_DATA ? SMTP_R_TIMEOUT_DATA : SMTP_R_TIMEOUT, NULL);
}

void
smtp_shutdown(struct smtp_session *s)
{
	if (s->state == ST_TLS)
		set_state(s, ST_CLOSED);
	else if (s->state != ST_CLOSED)
		reply_close(s, SMTP_R_SHUTDOWN, NULL);
}

void
smtp_tls_started(struct smtp_session *s)
{
	if (s->state != ST_TLS)
		abort();
	reset_transaction(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	s->authenticated = false;
	s->tls = true;
	free_line(s);
	s->line_overflow = false;
	set_state(s, ST_INIT);
}

bool
smtp_closed(const struct smtp_session *s)
{
	return s->state == ST_CLOSED;
}

const char *
smtp_close_reason(const struct smtp_session *s)
{
	return s->close_reason;
}

void
smtp_get_stats(const struct smtp_session *s, struct smtp_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->messages = s->messages;
	out->commands = s->commands;
	out->errors = s->errors;
	out->esmtp = s->esmtp;
	out->tls = s->tls;
	out->authenticated = s->authenticated;
	out->auth_attempts = s->auth_attempts;
	snprintf(out->helo, sizeof(out->helo), "%s", helo_text(s));
}
