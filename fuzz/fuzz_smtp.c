/*
 * libFuzzer harness for the SMTP emulator.  The first input byte picks
 * the personality, the read size, whether stores succeed and whether
 * STARTTLS is offered; the rest is what the peer sends.  A STARTTLS
 * status is answered with a completed handshake, so the fuzzer also
 * reaches the session after TLS and its AUTH dialogues.  The harness
 * checks that every reply is made of whole CRLF lines, that AUTH
 * attempts carry bounded fields, and that body memory is given back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_host {
	long reserved;
	int store_result;
};

static void
fuzz_send(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	if (len < 2 || buf[len - 2] != '\r' || buf[len - 1] != '\n')
		abort();
	for (size_t i = 0; i + 1 < len; i++)
		if (buf[i + 1] == '\n' && buf[i] != '\r')
			abort();
}

static int
fuzz_store(void *ctx, const struct smtp_envelope *env)
{
	struct fuzz_host *h = ctx;

	if (env->size > SMTP_MESSAGE_SIZE_MAX ||
	    env->rcpt_logged > SMTP_RCPT_LOGGED_MAX ||
	    env->rcpt_count > SMTP_RCPT_MAX)
		abort();
	return h->store_result;
}

static void
check_field(const char *field)
{
	if (field != NULL && strlen(field) > SMTP_AUTH_FIELD_MAX)
		abort();
}

/* Accept one pair, so that the authenticated state is reached too. */
static bool
fuzz_auth(void *ctx, const struct smtp_auth *a)
{
	(void)ctx;
	if (a->mechanism == NULL || a->user == NULL)
		abort();
	check_field(a->user);
	check_field(a->password);
	check_field(a->digest);
	if (a->challenge != NULL && a->password == NULL &&
	    smtp_cram_md5_matches(
		a->challenge, "pw", a->digest ? a->digest : ""))
		return true;
	return a->password != NULL && strcmp(a->user, "u") == 0 &&
	    strcmp(a->password, "pw") == 0;
}

static bool
fuzz_reserve(void *ctx, long bytes)
{
	struct fuzz_host *h = ctx;

	/* A small budget, so that the refusal path runs too. */
	if (bytes > 0 && h->reserved + bytes > 256 * 1024)
		return false;
	h->reserved += bytes;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_host h = {0};
	struct smtp_host host = {
	    .ctx = &h,
	    .send = fuzz_send,
	    .store = fuzz_store,
	    .reserve = fuzz_reserve,
	    .auth = fuzz_auth,
	};
	struct smtp_session *s;
	size_t off = 1, chunk;
	uint8_t mode;

	if (size == 0)
		return 0;
	mode = data[0];
	chunk = (size_t)1 << (mode & 7);
	h.store_result = (mode & 0x40) ? -1 : 0;
	/* With stores refused, STARTTLS is not offered: both paths run. */
	host.starttls = (mode & 0x40) == 0;
	s = smtp_session_new(
	    smtp_personality_get((mode >> 3) % smtp_personality_count()),
	    "mx.example.net", "192.0.2.1", &host, mode);
	smtp_greet(s);
	while (off < size) {
		size_t len = size - off < chunk ? size - off : chunk, used;
		enum smtp_status st;

		st = smtp_input(s, (const char *)data + off, len, &used);
		if (used > len)
			abort();
		off += used;
		if (st == SMTP_PAUSED)
			smtp_stored(s, (mode & 0x80) == 0);
		else if (st == SMTP_STARTTLS)
			smtp_tls_started(s);
		else if (st == SMTP_CLOSE)
			break;
		else if (used != len)
			abort();
	}
	if (mode & 0x20)
		smtp_timeout(s, false);
	smtp_session_free(s);
	if (h.reserved != 0)
		abort();
	return 0;
}
