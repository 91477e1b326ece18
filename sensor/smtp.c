/*
 * The SMTP emulator's state machine; see smtp.h for its contract.
 *
 * Everything the peer sends is hostile.  Command lines are held in a
 * fixed buffer of SMTP_COMMAND_LINE_MAX bytes, bodies grow only up to
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

/*
 * Peer text echoed in one reply substitution.  Sendmail shortens echoed
 * commands to about 200 bytes; longer echoes help nobody.
 */
#define REPLY_ECHO_MAX 200

/* Maximum reply size: Sendmail's HELP text, with room for every echo. */
#define REPLY_MAX 2048

/* First allocation of a body; most spam fits, larger bodies double. */
#define BODY_CHUNK (64 * 1024)

enum smtp_state {
	ST_NEW,     /* banner not sent yet */
	ST_INIT,    /* greeted, no HELO/EHLO yet */
	ST_READY,   /* HELO/EHLO accepted, no transaction */
	ST_MAIL,    /* MAIL accepted, no recipient yet */
	ST_RCPT,    /* at least one recipient */
	ST_DATA,    /* reading the body after 354 */
	ST_STORING, /* final dot seen, waiting for smtp_stored() */
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
	char hostname[256];
	char client_ip[64];
	uint64_t seed;
	enum smtp_state state;

	/* The command line being read; longer lines are discarded. */
	char line[SMTP_COMMAND_LINE_MAX];
	size_t line_len;
	bool line_overflow;

	char helo[SMTP_HELO_MAX + 1];
	bool esmtp;

	/* The current transaction. */
	char mail_from[SMTP_ADDRESS_MAX + 1];
	char *rcpts[SMTP_RCPT_LOGGED_MAX];
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

	int seq;      /* messages that reached their final dot */
	int messages; /* stored and acknowledged */
	int commands;
	int errors;
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
		return put_text(out, pos, s->helo, REPLY_ECHO_MAX, true);
	case 's':
	case 'c':
		return put_text(out, pos, arg ? arg : "", REPLY_ECHO_MAX, true);
	case 'q':
		return put_text(out, pos, s->queue_id, REPLY_ECHO_MAX, false);
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

/* Send a 421 and stop reading. */
static void
reply_close(struct smtp_session *s, enum smtp_reply r)
{
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
	s->rcpt_logged = s->rcpt_count = 0;
	s->mail_from[0] = '\0';
	release_body(s);
	s->body_size = 0;
	s->body_too_big = s->body_no_memory = false;
	s->queue_id[0] = '\0';
}

/* The state a transaction reset returns to. */
static enum smtp_state
idle_state(const struct smtp_session *s)
{
	return s->helo[0] != '\0' || s->esmtp ? ST_READY : ST_INIT;
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

static void
do_hello(struct smtp_session *s, const char *arg, bool esmtp)
{
	arg = skip_spaces(arg);
	if (*arg == '\0') {
		reply(s, esmtp ? SMTP_R_EHLO_SYNTAX : SMTP_R_HELO_SYNTAX, NULL);
		return;
	}
	reset_transaction(s);
	snprintf(s->helo, sizeof(s->helo), "%s", arg);
	s->esmtp = esmtp;
	set_state(s, ST_READY);
	reply(s, esmtp ? SMTP_R_EHLO : SMTP_R_HELO, NULL);
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
		reply_close(s, SMTP_R_TOO_MANY_MESSAGES);
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
	snprintf(s->mail_from, sizeof(s->mail_from), "%s", addr);
	set_state(s, ST_MAIL);
	reply(s, SMTP_R_MAIL_OK, addr);
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
	if (s->rcpt_logged < SMTP_RCPT_LOGGED_MAX)
		s->rcpts[s->rcpt_logged++] = strdup(addr);
	if (s->rcpt_logged > 0 && s->rcpts[s->rcpt_logged - 1] == NULL)
		abort();
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

static void
do_vrfy(struct smtp_session *s, const char *arg)
{
	arg = skip_spaces(arg);
	reply(s, *arg == '\0' ? SMTP_R_VRFY_SYNTAX : SMTP_R_VRFY, arg);
}

static void
do_expn(struct smtp_session *s, const char *arg)
{
	reply(s, SMTP_R_EXPN, skip_spaces(arg));
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
	reply_close(s, SMTP_R_QUIT);
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
};

/* Run one complete command line (terminator removed, NUL-terminated). */
static void
run_command(struct smtp_session *s, const char *line, size_t len)
{
	/* Input before the banner is answered as if it came after. */
	enum smtp_state st = s->state == ST_NEW ? ST_INIT : s->state;
	size_t n = strcspn(line, " \t");

	s->commands++;
	if (len == 0) {
		reply(s, SMTP_R_EMPTY, NULL);
		return;
	}
	if (strlen(line) != len || n != 4) {
		reply(s, SMTP_R_UNKNOWN, line);
		return;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const struct verb *v = &verbs[i];

		if (strncasecmp(line, v->name, 4) != 0)
			continue;
		if ((v->allowed & BIT(st)) == 0)
			reply(s, v->refuse[st], NULL);
		else
			v->handler(s, line + 4);
		return;
	}
	reply(s, SMTP_R_UNKNOWN, line);
}

/* After each reply that may be an error: too many errors close. */
static void
check_errors(struct smtp_session *s)
{
	if (s->errors >= SMTP_ERRORS_MAX && s->state != ST_CLOSED)
		reply_close(s, SMTP_R_TOO_MANY_ERRORS);
}

/*
 * Read command bytes up to and including one LF.  A line over
 * SMTP_COMMAND_LINE_MAX is discarded as it arrives and answered once
 * its LF comes.
 */
static size_t
line_input(struct smtp_session *s, const char *data, size_t len)
{
	const char *lf = memchr(data, '\n', len);
	size_t take = lf != NULL ? (size_t)(lf - data) : len;

	/* Keep room for the LF within the limit, as RFC 5321 counts it. */
	if (!s->line_overflow &&
	    s->line_len + take <= SMTP_COMMAND_LINE_MAX - 1) {
		memcpy(s->line + s->line_len, data, take);
		s->line_len += take;
	} else {
		s->line_overflow = true;
	}
	if (lf == NULL)
		return len;

	if (s->line_overflow) {
		s->commands++;
		reply(s, SMTP_R_LINE_TOO_LONG, NULL);
	} else {
		if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
			s->line_len--;
		s->line[s->line_len] = '\0';
		run_command(s, s->line, s->line_len);
	}
	s->line_len = 0;
	s->line_overflow = false;
	check_errors(s);
	return take + 1;
}

/* Grow the body to hold n more bytes, within size and memory limits. */
static bool
body_reserve(struct smtp_session *s, size_t n)
{
	size_t cap = s->body_cap;

	if (s->body_len + n <= cap)
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
	    .helo = s->helo,
	    .esmtp = s->esmtp,
	    .mail_from = s->mail_from,
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
	/* The host copied the body, so its memory can go at once. */
	release_body(s);
}

/* Bytes before the first CR or LF in p[0..n). */
static size_t
run_length(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
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
	snprintf(s->hostname, sizeof(s->hostname), "%s", hostname);
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
	reply_close(
	    s, s->state == ST_DATA ? SMTP_R_TIMEOUT_DATA : SMTP_R_TIMEOUT);
}

void
smtp_shutdown(struct smtp_session *s)
{
	if (s->state != ST_CLOSED)
		reply_close(s, SMTP_R_SHUTDOWN);
}

bool
smtp_closed(const struct smtp_session *s)
{
	return s->state == ST_CLOSED;
}

void
smtp_get_stats(const struct smtp_session *s, struct smtp_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->messages = s->messages;
	out->commands = s->commands;
	out->errors = s->errors;
	out->esmtp = s->esmtp;
	snprintf(out->helo, sizeof(out->helo), "%s", s->helo);
}
