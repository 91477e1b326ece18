/*
 * Unit tests of the SMTP emulator: parsing, state changes, the stored
 * envelope and body, every limit, and personality selection.  The
 * golden transcripts cover the exact reply texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp.h"

/* A host that records replies and copies of stored messages. */
struct fake_host {
	char *out;
	size_t out_len;
	size_t out_cap;
	int stores;
	int store_result;
	long budget; /* -1: unlimited */
	long reserved;
	/* The last stored message. */
	char from[SMTP_ADDRESS_MAX + 1];
	char first_rcpt[SMTP_ADDRESS_MAX + 1];
	int rcpt_logged;
	int rcpt_count;
	int seq;
	unsigned char *body;
	size_t size;
	char trace[64];
};

static void
fake_send(void *ctx, const char *buf, size_t len)
{
	struct fake_host *h = ctx;

	if (h->out_len + len + 1 > h->out_cap) {
		h->out_cap = 2 * (h->out_len + len + 1);
		h->out = realloc(h->out, h->out_cap);
		assert_non_null(h->out);
	}
	memcpy(h->out + h->out_len, buf, len);
	h->out_len += len;
	h->out[h->out_len] = '\0';
}

static int
fake_store(void *ctx, const struct smtp_envelope *env)
{
	struct fake_host *h = ctx;

	h->stores++;
	snprintf(h->from, sizeof(h->from), "%s", env->mail_from);
	snprintf(h->first_rcpt, sizeof(h->first_rcpt), "%s",
	    env->rcpt_logged > 0 ? env->rcpts[0] : "");
	h->rcpt_logged = env->rcpt_logged;
	h->rcpt_count = env->rcpt_count;
	h->seq = env->seq;
	free(h->body);
	h->body = malloc(env->size + 1);
	assert_non_null(h->body);
	memcpy(h->body, env->body, env->size);
	h->size = env->size;
	return h->store_result;
}

static bool
fake_reserve(void *ctx, long bytes)
{
	struct fake_host *h = ctx;

	if (h->budget >= 0 && bytes > 0 && h->reserved + bytes > h->budget)
		return false;
	h->reserved += bytes;
	return true;
}

static int64_t
fake_now(void *ctx)
{
	(void)ctx;
	return 1796400000;
}

static void
fake_trace(void *ctx, const char *from, const char *to)
{
	struct fake_host *h = ctx;

	snprintf(h->trace, sizeof(h->trace), "%s -> %s", from, to);
}

struct fixture {
	struct fake_host h;
	struct smtp_host host;
	struct smtp_session *s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h.budget = -1;
	f->host = (struct smtp_host){
	    .ctx = &f->h,
	    .send = fake_send,
	    .store = fake_store,
	    .reserve = fake_reserve,
	    .now = fake_now,
	    .trace = fake_trace,
	};
	f->s = smtp_session_new(smtp_personality_find("postfix"),
	    "mx.example.net", "192.0.2.1", &f->host, 42);
	smtp_greet(f->s);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	smtp_session_free(f->s);
	assert_int_equal(f->h.reserved, 0);
	free(f->h.out);
	free(f->h.body);
	free(f);
	return 0;
}

/* Forget the replies so far. */
static void
clear(struct fixture *f)
{
	f->h.out_len = 0;
	if (f->h.out != NULL)
		f->h.out[0] = '\0';
}

/* Feed len bytes, storing at each pause; return the last status. */
static enum smtp_status
feed_n(struct fixture *f, const char *data, size_t len, bool store_ok)
{
	enum smtp_status st = SMTP_CONTINUE;
	size_t off = 0, used;

	while (off < len) {
		st = smtp_input(f->s, data + off, len - off, &used);
		off += used;
		if (st == SMTP_PAUSED)
			st = smtp_stored(f->s, store_ok);
		else if (st == SMTP_CLOSE)
			break;
		else
			assert_int_equal(off, len);
	}
	return st;
}

static enum smtp_status
feed(struct fixture *f, const char *text)
{
	return feed_n(f, text, strlen(text), true);
}

static void
feed_bytewise(struct fixture *f, const char *text)
{
	for (size_t i = 0; text[i] != '\0'; i++)
		feed_n(f, text + i, 1, true);
}

static int
count_lines(const char *out, const char *prefix)
{
	int n = 0;

	for (const char *p = out; p != NULL && *p != '\0';) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return n;
}

static const char envelope[] = "EHLO client.example\r\n"
			       "MAIL FROM:<a@example.com>\r\n"
			       "RCPT TO:<b@example.net>\r\n"
			       "DATA\r\n";

static void
test_banner_then_crlf_only(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->h.out, "220 mx.example.net ESMTP Postfix\r\n");
	assert_string_equal(f->h.trace, "new -> init");
}

static void
test_states_follow_commands(void **state)
{
	struct fixture *f = *state;

	feed(f, "HELO x\r\n");
	assert_string_equal(f->h.trace, "init -> ready");
	feed(f, "MAIL FROM:<a@b>\r\n");
	assert_string_equal(f->h.trace, "ready -> mail");
	feed(f, "RCPT TO:<c@d>\r\n");
	assert_string_equal(f->h.trace, "mail -> rcpt");
	feed(f, "DATA\r\n");
	assert_string_equal(f->h.trace, "rcpt -> data");
	feed(f, ".\r\n");
	assert_string_equal(f->h.trace, "storing -> ready");
	feed(f, "MAIL FROM:<a@b>\r\nRSET\r\n");
	assert_string_equal(f->h.trace, "mail -> ready");
	assert_int_equal(feed(f, "QUIT\r\n"), SMTP_CLOSE);
	assert_string_equal(f->h.trace, "ready -> closed");
	assert_true(smtp_closed(f->s));
	assert_string_equal(smtp_close_reason(f->s), "quit");
}

static void
test_mail_from_forms(void **state)
{
	static const struct {
		const char *line;
		const char *from;
	} cases[] = {
	    {"MAIL FROM:<a@b.example>\r\n", "a@b.example"},
	    {"MAIL FROM: <a@b.example>\r\n", "a@b.example"},
	    {"mail from:a@b.example\r\n", "a@b.example"},
	    {"MAIL FROM:<>\r\n", ""},
	    {"MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME\r\n",
		"a@b.example"},
	    {"MAIL FROM:<@hop.example:a@b.example>\r\n", "a@b.example"},
	};
	struct fixture *f = *state;

	feed(f, "EHLO x\r\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clear(f);
		feed(f, cases[i].line);
		assert_string_equal(f->h.out, "250 2.1.0 Ok\r\n");
		feed(f, "RCPT TO:<r@x>\r\nDATA\r\n.\r\n");
		assert_string_equal(f->h.from, cases[i].from);
	}
}

static void
test_bad_addresses_rejected(void **state)
{
	static const char *const lines[] = {
	    "MAIL FROM:<a@b\r\n",
	    "MAIL FROM:<a b@c>\r\n",
	    "MAIL FROM:<a@b>x\r\n",
	    "MAIL FROM:<@hop.example>\r\n",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		clear(f);
		feed(f, lines[i]);
		assert_string_equal(
		    f->h.out, "501 5.1.7 Bad sender address syntax\r\n");
	}
}

static void
test_address_over_limit(void **state)
{
	struct fixture *f = *state;
	char line[SMTP_ADDRESS_MAX + 64];

	memset(line, 'a', sizeof(line));
	memcpy(line, "MAIL FROM:<", 11);
	strcpy(line + 11 + SMTP_ADDRESS_MAX + 1, ">\r\n");
	clear(f);
	feed(f, line);
	assert_string_equal(
	    f->h.out, "501 5.1.7 Bad sender address syntax\r\n");
}

static void
test_pipelined_replies_in_order(void **state)
{
	struct fixture *f = *state;

	clear(f);
	feed(f, "NOOP\r\nVRFY x@example.com\r\nRSET\r\nFOO\r\nNOOP\r\n");
	assert_string_equal(f->h.out,
	    "250 2.0.0 Ok\r\n"
	    "252 2.0.0 x@example.com\r\n"
	    "250 2.0.0 Ok\r\n"
	    "502 5.5.2 Error: command not recognized\r\n"
	    "250 2.0.0 Ok\r\n");
}

static void
test_pause_until_stored(void **state)
{
	static const char input[] = "HELO x\r\nMAIL FROM:<a@b>\r\n"
				    "RCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\n"
				    "NOOP\r\n";
	struct fixture *f = *state;
	size_t used;

	assert_int_equal(
	    smtp_input(f->s, input, strlen(input), &used), SMTP_PAUSED);
	assert_int_equal(used, strlen(input) - strlen("NOOP\r\n"));
	assert_int_equal(f->h.stores, 1);
	assert_null(strstr(f->h.out, "queued"));

	/* Nothing is consumed while paused. */
	assert_int_equal(smtp_input(f->s, "NOOP\r\n", 6, &used), SMTP_PAUSED);
	assert_int_equal(used, 0);

	clear(f);
	assert_int_equal(smtp_stored(f->s, true), SMTP_CONTINUE);
	assert_non_null(strstr(f->h.out, "250 2.0.0 Ok: queued as "));
	assert_int_equal(smtp_input(f->s, "NOOP\r\n", 6, &used), SMTP_CONTINUE);
	assert_int_equal(used, 6);
}

static void
test_store_failure_451(void **state)
{
	struct fixture *f = *state;
	struct smtp_stats stats;

	feed(f, envelope);
	clear(f);
	feed_n(f, "x\r\n.\r\n", 6, false);
	assert_string_equal(
	    f->h.out, "451 4.3.0 Error: queue file write error\r\n");
	f->h.store_result = -1;
	feed(f, envelope);
	clear(f);
	feed(f, "y\r\n.\r\n");
	assert_string_equal(
	    f->h.out, "451 4.3.0 Error: queue file write error\r\n");
	smtp_get_stats(f->s, &stats);
	assert_int_equal(stats.messages, 0);
	assert_int_equal(f->h.stores, 2);
}

static void
test_dot_unstuffing(void **state)
{
	static const char original[] = "Subject: dots\r\n"
				       "\r\n"
				       ".leading dot\r\n"
				       "..two dots\r\n"
				       ".\r\n"
				       "end\r\n";
	static const char stuffed[] = "Subject: dots\r\n"
				      "\r\n"
				      "..leading dot\r\n"
				      "...two dots\r\n"
				      "..\r\n"
				      "end\r\n"
				      ".\r\n";
	struct fixture *f = *state;

	feed(f, envelope);
	feed(f, stuffed);
	assert_int_equal(f->h.stores, 1);
	assert_int_equal(f->h.size, strlen(original));
	assert_memory_equal(f->h.body, original, strlen(original));
}

static void
test_byte_at_a_time(void **state)
{
	static const char body[] = "Subject: slow\r\n\r\n.x\r\ny\r\n";
	struct fixture *f = *state;
	struct smtp_stats stats;

	feed_bytewise(f, envelope);
	feed_bytewise(f, "Subject: slow\r\n\r\n..x\r\ny\r\n.\r\n");
	assert_int_equal(f->h.size, strlen(body));
	assert_memory_equal(f->h.body, body, strlen(body));
	feed_bytewise(f,
	    "MAIL FROM:<e@f>\r\nRCPT TO:<g@h>\r\nDATA\r\n"
	    ".\r\nQUIT\r\n");
	assert_int_equal(f->h.stores, 2);
	assert_int_equal(f->h.size, 0);
	assert_string_equal(f->h.from, "e@f");
	smtp_get_stats(f->s, &stats);
	assert_int_equal(stats.messages, 2);
	assert_true(stats.esmtp);
	assert_string_equal(stats.helo, "client.example");
	assert_true(smtp_closed(f->s));
}

static void
test_bare_lf_everywhere(void **state)
{
	static const char body[] = "line one\n..two\n.\rthree\r\n";
	struct fixture *f = *state;

	clear(f);
	feed(f, "HELO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n");
	feed(f, body);
	feed(f, ".\n");
	assert_int_equal(f->h.stores, 1);
	assert_memory_equal(
	    f->h.body, "line one\n.two\n\rthree\r\n", f->h.size);
	assert_int_equal(f->h.size, strlen("line one\n.two\n\rthree\r\n"));
	/* Every reply line ends in CRLF, never a bare LF. */
	for (size_t i = 0; i < f->h.out_len; i++)
		if (f->h.out[i] == '\n')
			assert_int_equal(f->h.out[i - 1], '\r');
}

static void
test_long_line_500_bounded(void **state)
{
	struct fixture *f = *state;
	char chunk[4096];

	memset(chunk, 'A', sizeof(chunk));
	clear(f);
	/* Far more than the limit, in pieces: nothing is answered yet. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(
		    feed_n(f, chunk, sizeof(chunk), true), SMTP_CONTINUE);
	assert_int_equal(f->h.out_len, 0);
	feed(f, "\r\nNOOP\r\n");
	assert_string_equal(f->h.out,
	    "500 5.5.2 Error: line too long\r\n"
	    "250 2.0.0 Ok\r\n");
}

static void
test_line_limit_exact(void **state)
{
	struct fixture *f = *state;
	char line[SMTP_COMMAND_LINE_MAX + 2];

	/* Terminator included, SMTP_COMMAND_LINE_MAX bytes pass. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + SMTP_COMMAND_LINE_MAX - 2, "\r\n", 2);
	clear(f);
	feed_n(f, line, SMTP_COMMAND_LINE_MAX, true);
	assert_string_equal(f->h.out, "250 2.0.0 Ok\r\n");

	memcpy(line + SMTP_COMMAND_LINE_MAX - 2, "x\r\n", 3);
	clear(f);
	feed_n(f, line, SMTP_COMMAND_LINE_MAX + 1, true);
	assert_string_equal(f->h.out, "500 5.5.2 Error: line too long\r\n");
}

static void
test_message_too_big_552(void **state)
{
	struct fixture *f = *state;
	char line[1002];

	memset(line, 'x', 1000);
	memcpy(line + 1000, "\r\n", 2);
	feed(f, envelope);
	for (int i = 0; i <= SMTP_MESSAGE_SIZE_MAX / 1002; i++)
		feed_n(f, line, sizeof(line), true);
	/* Over the limit, memory was given back at once. */
	assert_int_equal(f->h.reserved, 0);
	clear(f);
	feed(f, ".\r\nNOOP\r\n");
	assert_string_equal(f->h.out,
	    "552 5.3.4 Error: message file too big\r\n250 2.0.0 Ok\r\n");
	assert_int_equal(f->h.stores, 0);
}

static void
test_message_at_limit_stored(void **state)
{
	struct fixture *f = *state;
	char *body = malloc(SMTP_MESSAGE_SIZE_MAX);

	assert_non_null(body);
	memset(body, 'y', SMTP_MESSAGE_SIZE_MAX);
	memcpy(body + SMTP_MESSAGE_SIZE_MAX - 2, "\r\n", 2);
	feed(f, envelope);
	feed_n(f, body, SMTP_MESSAGE_SIZE_MAX, true);
	feed(f, ".\r\n");
	assert_int_equal(f->h.stores, 1);
	assert_int_equal(f->h.size, SMTP_MESSAGE_SIZE_MAX);
	free(body);
}

static void
test_size_parameter(void **state)
{
	struct fixture *f = *state;

	feed(f, "EHLO x\r\n");
	clear(f);
	feed(f, "MAIL FROM:<a@b> SIZE=10240001\r\n");
	assert_string_equal(
	    f->h.out, "552 5.3.4 Message size exceeds fixed limit\r\n");
	clear(f);
	feed(f, "MAIL FROM:<a@b> SIZE=1x\r\nMAIL FROM:<a@b> SIZE=\r\n");
	assert_int_equal(
	    count_lines(f->h.out, "501 5.5.4 Bad message size"), 2);
	clear(f);
	feed(f, "MAIL FROM:<a@b> SIZE=10240000\r\n");
	assert_string_equal(f->h.out, "250 2.1.0 Ok\r\n");
}

static void
test_recipient_limits(void **state)
{
	struct fixture *f = *state;
	char line[64];

	feed(f, "EHLO x\r\nMAIL FROM:<a@b>\r\n");
	clear(f);
	for (int i = 0; i < SMTP_RCPT_MAX + 5; i++) {
		snprintf(
		    line, sizeof(line), "RCPT TO:<r%d@example.net>\r\n", i);
		feed(f, line);
	}
	assert_int_equal(count_lines(f->h.out, "250 2.1.5 Ok"), SMTP_RCPT_MAX);
	assert_int_equal(count_lines(f->h.out, "452 4.5.3"), 5);
	feed(f, "DATA\r\n.\r\n");
	assert_int_equal(f->h.rcpt_count, SMTP_RCPT_MAX);
	assert_int_equal(f->h.rcpt_logged, SMTP_RCPT_LOGGED_MAX);
	assert_string_equal(f->h.first_rcpt, "r0@example.net");
}

static void
test_errors_limit_closes(void **state)
{
	struct fixture *f = *state;
	enum smtp_status st = SMTP_CONTINUE;
	int i;

	clear(f);
	for (i = 0; i < 100 && st == SMTP_CONTINUE; i++)
		st = feed(f, "BOGUS\r\n");
	assert_int_equal(st, SMTP_CLOSE);
	assert_int_equal(i, SMTP_ERRORS_MAX);
	assert_int_equal(count_lines(f->h.out, "502 "), SMTP_ERRORS_MAX);
	assert_int_equal(count_lines(f->h.out,
			     "421 4.7.0 mx.example.net "
			     "Error: too many errors"),
	    1);
	assert_string_equal(smtp_close_reason(f->s), "too-many-errors");
}

static void
test_messages_per_session(void **state)
{
	static const char message[] = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"
				      "DATA\r\n.\r\n";
	struct fixture *f = *state;

	feed(f, "HELO x\r\n");
	for (int i = 0; i < SMTP_MESSAGES_PER_SESSION_MAX; i++)
		assert_int_equal(feed(f, message), SMTP_CONTINUE);
	clear(f);
	assert_int_equal(feed(f, message), SMTP_CLOSE);
	assert_string_equal(f->h.out,
	    "421 4.7.0 mx.example.net Error: too "
	    "much mail from 192.0.2.1\r\n");
	assert_int_equal(f->h.stores, SMTP_MESSAGES_PER_SESSION_MAX);
}

static void
test_budget_refused_452(void **state)
{
	struct fixture *f = *state;
	char line[1002];

	memset(line, 'z', 1000);
	memcpy(line + 1000, "\r\n", 2);
	f->h.budget = 100000;
	feed(f, envelope);
	for (int i = 0; i < 200; i++)
		feed_n(f, line, sizeof(line), true);
	assert_int_equal(f->h.reserved, 0);
	clear(f);
	feed(f, ".\r\n");
	assert_string_equal(
	    f->h.out, "452 4.3.1 Insufficient system storage\r\n");
	assert_int_equal(f->h.stores, 0);
}

static void
test_binary_garbage_survives(void **state)
{
	struct fixture *f = *state;
	unsigned char junk[65536];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
		/* No LF: the whole input is one endless command line. */
		if (junk[i] == '\n')
			junk[i] = 'n';
	}
	clear(f);
	feed_n(f, (const char *)junk, sizeof(junk), true);
	/* One endless line: only the 500 once the LF comes. */
	assert_int_equal(f->h.out_len, 0);
	feed(f, "\r\n");
	assert_string_equal(f->h.out, "500 5.5.2 Error: line too long\r\n");
}

static void
test_nul_in_command(void **state)
{
	struct fixture *f = *state;

	clear(f);
	feed_n(f, "NOOP\0x\r\n", 8, true);
	assert_string_equal(
	    f->h.out, "502 5.5.2 Error: command not recognized\r\n");
}

static void
test_timeout_and_shutdown(void **state)
{
	struct fixture *f = *state;
	size_t used;

	clear(f);
	smtp_timeout(f->s, false);
	assert_string_equal(
	    f->h.out, "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");
	assert_true(smtp_closed(f->s));
	assert_null(smtp_close_reason(f->s));
	/* A closed session sends nothing more and consumes nothing. */
	smtp_shutdown(f->s);
	smtp_timeout(f->s, true);
	assert_int_equal(smtp_input(f->s, "NOOP\r\n", 6, &used), SMTP_CLOSE);
	assert_int_equal(used, 0);
	assert_string_equal(
	    f->h.out, "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");
}

static void
test_timeout_while_storing(void **state)
{
	struct fixture *f = *state;
	size_t used;

	feed(f, envelope);
	assert_int_equal(smtp_input(f->s, ".\r\n", 3, &used), SMTP_PAUSED);
	smtp_shutdown(f->s);
	clear(f);
	assert_int_equal(smtp_stored(f->s, true), SMTP_CLOSE);
	assert_int_equal(f->h.out_len, 0);
}

static void
test_personality_lookup(void **state)
{
	(void)state;
	assert_true(smtp_personality_count() >= 3);
	for (int i = 0; i < smtp_personality_count(); i++) {
		const struct smtp_personality *p = smtp_personality_get(i);

		assert_ptr_equal(
		    smtp_personality_find(smtp_personality_name(p)), p);
		for (int r = 0; r < SMTP_R_COUNT; r++)
			assert_non_null(p->reply[r]);
		/* STARTTLS is offered once, and only with TLS possible. */
		assert_non_null(strstr(p->reply[SMTP_R_EHLO], "STARTTLS"));
		assert_null(strstr(p->reply[SMTP_R_EHLO_TLS], "STARTTLS"));
		assert_null(strstr(p->reply[SMTP_R_EHLO_NO_TLS], "STARTTLS"));
		/* After TLS, every personality offers AUTH. */
		assert_non_null(strstr(p->reply[SMTP_R_EHLO_TLS], "AUTH "));
		assert_int_equal(strstr(p->reply[SMTP_R_EHLO], "AUTH ") != NULL,
		    !p->auth_needs_tls);
		/* No BDAT, so no CHUNKING. */
		assert_null(strstr(p->reply[SMTP_R_EHLO], "CHUNKING"));
		assert_null(strstr(p->reply[SMTP_R_EHLO_TLS], "CHUNKING"));
	}
	assert_null(smtp_personality_get(-1));
	assert_null(smtp_personality_get(smtp_personality_count()));
	assert_null(smtp_personality_find("qmail"));
}

static void
test_personality_pick_stable(void **state)
{
	static const char *const names[] = {
	    "a.example", "b.example", "c.example", "d.example"};
	uint8_t secret[32] = {1, 2, 3};
	uint8_t other[32] = {9};
	const struct smtp_personality *p1, *p2;
	const char *h1, *h2;
	int seen[8] = {0}, changed = 0;
	char ip[32];

	(void)state;
	smtp_personality_pick(secret, "198.51.100.7", names, 4, &p1, &h1);
	smtp_personality_pick(secret, "198.51.100.7", names, 4, &p2, &h2);
	assert_ptr_equal(p1, p2);
	assert_ptr_equal(h1, h2);

	/* Every personality turns up, and the secret changes the picks. */
	for (int i = 0; i < 256; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		smtp_personality_pick(secret, ip, names, 4, &p1, &h1);
		smtp_personality_pick(other, ip, names, 4, &p2, &h2);
		for (int k = 0; k < smtp_personality_count(); k++)
			if (smtp_personality_get(k) == p1)
				seen[k]++;
		changed += p1 != p2 || h1 != h2;
	}
	for (int k = 0; k < smtp_personality_count(); k++)
		assert_true(seen[k] > 0);
	assert_true(changed > 64);

	smtp_personality_pick(secret, "198.51.100.7", NULL, 0, &p1, &h1);
	assert_string_equal(h1, "localhost");
}

static void
test_queue_id_formats(void **state)
{
	const struct smtp_personality *pf = smtp_personality_find("postfix");
	const struct smtp_personality *sm = smtp_personality_find("sendmail");
	const struct smtp_personality *ex = smtp_personality_find("exim");
	char a[SMTP_QUEUE_ID_MAX], b[SMTP_QUEUE_ID_MAX];

	(void)state;
	for (int seq = 1; seq < 50; seq++) {
		size_t n;

		pf->queue_id(a, 7, seq, 1796400000);
		n = strlen(a);
		assert_true(n >= 10 && n <= 12);
		assert_int_equal(strspn(a, "0123456789ABCDEF"), n);
		pf->queue_id(b, 7, seq + 1, 1796400000);
		assert_string_not_equal(a, b);
	}
	/* 2026-12-04 16:00:00 UTC: year 126 % 60 = 6, December = B. */
	sm->queue_id(a, 7, 1, 1796400000);
	assert_int_equal(strlen(a), 14);
	assert_memory_equal(a, "6B4G00", 6);
	assert_memory_equal(a + 6, "01", 2);
	ex->queue_id(a, 7, 1, 1796400000);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(a[6], '-');
	assert_int_equal(a[13], '-');
}

static void
test_sendmail_banner_date(void **state)
{
	struct fixture *f = *state;
	struct smtp_session *s =
	    smtp_session_new(smtp_personality_find("sendmail"),
		"mx.example.net", "192.0.2.1", &f->host, 1);

	clear(f);
	smtp_greet(s);
	assert_string_equal(f->h.out,
	    "220 mx.example.net ESMTP Sendmail "
	    "8.14.7/8.14.7; Fri, 4 Dec 2026 "
	    "16:00:00 +0000\r\n");
	smtp_session_free(s);
}

/* RFC 2195's example exchange. */
static void
test_cram_md5_rfc2195(void **state)
{
	static const char challenge[] =
	    "<1896.697170952@postoffice.reston.mci.net>";

	(void)state;
	assert_true(smtp_cram_md5_matches(
	    challenge, "tanstaaftanstaaf", "b913a602c7eda7a495b4e6e7334d3890"));
	assert_true(smtp_cram_md5_matches(
	    challenge, "tanstaaftanstaaf", "B913A602C7EDA7A495B4E6E7334D3890"));
	assert_false(smtp_cram_md5_matches(
	    challenge, "tanstaaftanstaag", "b913a602c7eda7a495b4e6e7334d3890"));
	assert_false(smtp_cram_md5_matches(
	    challenge, "tanstaaftanstaaf", "b913a602c7eda7a495b4e6e7334d389"));
	assert_false(smtp_cram_md5_matches(challenge, "tanstaaftanstaaf", ""));
}

/*
 * STARTTLS stops input at its own line, and the TLS reset forgets the
 * HELO, the transaction and the plaintext that followed.
 */
static void
test_starttls_stops_and_resets(void **state)
{
	struct fixture *f = *state;
	static const char in[] = "EHLO a.example\r\nSTARTTLS\r\n"
				 "MAIL FROM:<x@example.com>\r\n";
	struct smtp_stats stats;
	size_t used;

	f->host.starttls = true;
	clear(f);
	assert_int_equal(
	    smtp_input(f->s, in, sizeof(in) - 1, &used), SMTP_STARTTLS);
	assert_int_equal(used, strlen("EHLO a.example\r\nSTARTTLS\r\n"));
	assert_non_null(strstr(f->h.out, "250-STARTTLS\r\n"));
	assert_non_null(strstr(f->h.out, "220 2.0.0 Ready to start TLS\r\n"));
	/* Until the handshake ends, nothing more is read. */
	assert_int_equal(smtp_input(f->s, "NOOP\r\n", 6, &used), SMTP_STARTTLS);
	assert_int_equal(used, 0);

	smtp_tls_started(f->s);
	smtp_get_stats(f->s, &stats);
	assert_true(stats.tls);
	assert_string_equal(stats.helo, "");
	clear(f);
	feed(f, "AUTH PLAIN AGEAYg==\r\nEHLO a.example\r\n");
	assert_int_equal(count_lines(f->h.out,
			     "503 5.5.1 Error: "
			     "authentication not enabled"),
	    1);
	assert_int_equal(count_lines(f->h.out, "250-AUTH PLAIN LOGIN"), 1);
	assert_int_equal(count_lines(f->h.out, "250-STARTTLS"), 0);
	clear(f);
	feed(f, "STARTTLS\r\n");
	assert_string_equal(
	    f->h.out, "554 5.5.1 Error: TLS already active\r\n");
}

/* An AUTH dialogue holds lines as responses, whatever they look like. */
static void
test_auth_response_not_a_command(void **state)
{
	struct fixture *f = *state;
	struct smtp_stats stats;

	f->host.starttls = true;
	feed(f, "STARTTLS\r\n");
	smtp_tls_started(f->s);
	clear(f);
	/* "QUIT" is valid base64: it is the user name, not a command. */
	feed(f, "EHLO a\r\nAUTH LOGIN\r\nQUIT\r\n");
	assert_int_equal(count_lines(f->h.out, "334 UGFzc3dvcmQ6"), 1);
	assert_false(smtp_closed(f->s));
	clear(f);
	feed(f, "*\r\n");
	assert_string_equal(f->h.out, "501 5.7.0 Authentication aborted\r\n");
	smtp_get_stats(f->s, &stats);
	assert_int_equal(stats.auth_attempts, 1);
	assert_false(stats.authenticated);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_banner_then_crlf_only),
	    T(test_states_follow_commands),
	    T(test_mail_from_forms),
	    T(test_bad_addresses_rejected),
	    T(test_address_over_limit),
	    T(test_pipelined_replies_in_order),
	    T(test_pause_until_stored),
	    T(test_store_failure_451),
	    T(test_dot_unstuffing),
	    T(test_byte_at_a_time),
	    T(test_bare_lf_everywhere),
	    T(test_long_line_500_bounded),
	    T(test_line_limit_exact),
	    T(test_message_too_big_552),
	    T(test_message_at_limit_stored),
	    T(test_size_parameter),
	    T(test_recipient_limits),
	    T(test_errors_limit_closes),
	    T(test_messages_per_session),
	    T(test_budget_refused_452),
	    T(test_binary_garbage_survives),
	    T(test_nul_in_command),
	    T(test_timeout_and_shutdown),
	    T(test_timeout_while_storing),
	    T(test_personality_lookup),
	    T(test_personality_pick_stable),
	    T(test_queue_id_formats),
	    T(test_sendmail_banner_date),
	    cmocka_unit_test(test_cram_md5_rfc2195),
	    T(test_starttls_stops_and_resets),
	    T(test_auth_response_not_a_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
