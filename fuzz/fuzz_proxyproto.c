/*
 * libFuzzer harness for the PROXY protocol parser and formatters.
 * Beyond what the sanitizers catch, it aborts when a prefix of a
 * complete header is not reported PARSE_MORE or *used runs past the
 * input.  It also formats each parsed header as v1 and as v2 and
 * aborts unless both parse back to the same addresses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "proxyproto.h"
#include "spampot_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_prefixes(const uint8_t *data, size_t used)
{
	struct proxy_header h;
	const char *why;
	size_t n, i;

	for (i = 0; i < used; i++) {
		/* A private copy lets ASan catch a read past i bytes. */
		uint8_t *copy = malloc(i + 1);

		if (copy == NULL)
			abort();
		memcpy(copy, data, i);
		if (proxyproto_parse(copy, i, &h, &n, &why) != PARSE_MORE)
			abort();
		free(copy);
	}
}

static bool
same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    memcmp(&a4->sin_addr, &b4->sin_addr, 4) == 0;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
}

static void
check_round_trip(const struct proxy_header *h)
{
	struct proxy_header again;
	char text[PROXY_V1_MAX + 1];
	uint8_t bin[64];
	const char *why;
	size_t n, used;

	n = proxyproto_format_v1(text, sizeof(text),
	    (const struct sockaddr *)&h->src, (const struct sockaddr *)&h->dst);
	if (n == 0 || n > PROXY_V1_MAX)
		abort();
	if (proxyproto_parse((uint8_t *)text, n, &again, &used, &why) !=
		PARSE_OK ||
	    used != n || !same_address(&h->src, &again.src) ||
	    !same_address(&h->dst, &again.dst))
		abort();

	n = proxyproto_format_v2(bin, sizeof(bin),
	    (const struct sockaddr *)&h->src, (const struct sockaddr *)&h->dst);
	if (n == 0 || n > 52)
		abort();
	if (proxyproto_parse(bin, n, &again, &used, &why) != PARSE_OK ||
	    used != n || !same_address(&h->src, &again.src) ||
	    !same_address(&h->dst, &again.dst))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	const char *why = NULL;
	size_t used = 0;
	int r;

	r = proxyproto_parse(data, size, &h, &used, &why);
	if (r == PARSE_ERROR && why == NULL)
		abort();
	if (r != PARSE_OK)
		return 0;
	if (used == 0 || used > size || used > PROXY_V2_MAX)
		abort();
	check_prefixes(data, used);
	if (!h.local)
		check_round_trip(&h);
	return 0;
}
