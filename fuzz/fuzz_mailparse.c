/*
 * libFuzzer harness for the message header parser.  Beyond what the
 * sanitizers catch, it aborts when the parser breaks its contract.
 * Offsets must lie inside the input and the recipient count within
 * its bounds.  Every string must be able to go into an SMTP command
 * as it is, so it needs its NUL and no CR, LF, space or angle bracket.
 * The same input is also split as an mbox, and every message must lie
 * inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../server/mailparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mail_envelope env;

/* A string of at most cap - 1 bytes, all printable ASCII but space. */
static void
check_word(const char *s, size_t cap)
{
	size_t i;

	if (memchr(s, '\0', cap) == NULL)
		abort();
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '<' || s[i] == '>')
			abort();
}

static void
check_envelope(size_t size)
{
	size_t i;

	if (env.start > size || env.body_start > size ||
	    env.body_start < env.start)
		abort();
	if (env.rcpt_count < 1 || env.rcpt_count > REPLAY_RCPT_MAX)
		abort();
	check_word(env.sender, sizeof(env.sender));
	check_word(env.helo, sizeof(env.helo));
	if (env.helo[0] == '\0')
		abort();
	for (i = 0; i < env.rcpt_count; i++) {
		check_word(env.rcpt[i], sizeof(env.rcpt[i]));
		if (strchr(env.rcpt[i], '@') == NULL)
			abort();
	}
	if (env.has_origin &&
	    !mail_addr_is_public((const struct sockaddr *)&env.origin))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t pos = 0, start, len, last = 0;

	mail_parse(buf, size, &env);
	check_envelope(size);

	while (mail_mbox_next(buf, size, &pos, &start, &len)) {
		if (start < last || start + len > size || pos > size ||
		    pos <= start)
			abort();
		last = pos;
	}
	return 0;
}
