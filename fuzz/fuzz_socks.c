/*
 * libFuzzer harness for the SOCKS parsers.  Every parser reads the
 * input.  Beyond what the sanitizers catch, the harness aborts on a
 * broken contract: *used past the input, a string without its NUL, or
 * a prefix of a complete message not reported PARSE_MORE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "socks.h"

/* Maximum message length whose prefixes are all parsed (n^2 cost). */
#define PREFIX_CHECK_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*request_parser)(
    const uint8_t *, size_t, struct socks_request *, size_t *, const char **);

static void
check_string(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

/* A complete message must be PARSE_MORE at every shorter length. */
static void
check_prefixes(request_parser parse, const uint8_t *data, size_t used)
{
	struct socks_request req;
	const char *why;
	size_t n, i;

	if (used > PREFIX_CHECK_MAX)
		return;
	for (i = 0; i < used; i++) {
		/* A private copy lets ASan catch a read past i bytes. */
		uint8_t *copy = malloc(i + 1);

		if (copy == NULL)
			abort();
		memcpy(copy, data, i);
		if (parse(copy, i, &req, &n, &why) != PARSE_MORE)
			abort();
		free(copy);
	}
}

static void
check_request(request_parser parse, const uint8_t *data, size_t size)
{
	struct socks_request req;
	struct sockaddr_in sin;
	uint8_t reply[22];
	const char *why = NULL;
	size_t used = 0;
	int r;

	r = parse(data, size, &req, &used, &why);
	if (r == PARSE_ERROR && why == NULL)
		abort();
	if (r != PARSE_OK)
		return;
	if (used == 0 || used > size)
		abort();
	check_string(req.host, sizeof(req.host));
	check_string(req.user, sizeof(req.user));
	if (req.user_len > SOCKS_FIELD_MAX)
		abort();
	check_prefixes(parse, data, used);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(req.port);
	memcpy(&sin.sin_addr, req.addr, 4);
	if (socks5_reply(reply, SOCKS5_SUCCEEDED, (struct sockaddr *)&sin) !=
	    10)
		abort();
	socks4_reply(reply, SOCKS4_GRANTED, req.port, req.addr);
}

static void
check_greeting(const uint8_t *data, size_t size)
{
	struct socks5_greeting g;
	uint8_t reply[2];
	const char *why = NULL;
	size_t used = 0;
	int method;

	if (socks5_parse_greeting(data, size, &g, &used, &why) != PARSE_OK)
		return;
	if (used > size || g.nmethods < 1 || g.nmethods > 255)
		abort();
	method = socks5_choose_method(&g);
	if (method != SOCKS5_METHOD_NONE && method != SOCKS5_METHOD_USERPASS &&
	    method != SOCKS5_METHOD_UNACCEPTABLE)
		abort();
	socks5_method_reply(reply, method);
}

static void
check_auth(const uint8_t *data, size_t size)
{
	struct socks5_auth a;
	const char *why = NULL;
	size_t used = 0;

	if (socks5_parse_auth(data, size, &a, &used, &why) != PARSE_OK)
		return;
	if (used > size || used != 3 + a.user_len + a.pass_len)
		abort();
	if (a.user[a.user_len] != '\0' || a.pass[a.pass_len] != '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(socks4_parse_request, data, size);
	check_request(socks5_parse_request, data, size);
	check_greeting(data, size);
	check_auth(data, size);
	return 0;
}
