/*
 * libFuzzer harness for the SMTP emulator.  The first input byte picks
 * the personality, the read size and whether stores succeed; the rest
 * is what the peer sends.  The harness checks that every reply is made
 * of whole CRLF lines and that body memory is given back.
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
	};
	struct smtp_session *s;
	size_t off = 1, chunk;
	uint8_t mode;

	if (size == 0)
		return 0;
	mode = data[0];
	chunk = (size_t)1 << (mode & 7);
	h.store_result = (mode & 0x40) ? -1 : 0;
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
