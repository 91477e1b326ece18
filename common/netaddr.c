/* Address formatting and CIDR matching; see netaddr.h. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int
cidr_parse(const char *text, struct cidr *out)
{
	char buf[ADDR_TEXT_MAX];
	char *slash;
	long prefix = -1;
	int max;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strlcpy_(buf, text, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		if (parse_long(slash + 1, 0, 128, &prefix) < 0)
			return -1;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	if (prefix > max)
		return -1;
	out->prefix = prefix < 0 ? max : (int)prefix;
	return 0;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

bool
cidr_contains(const struct cidr *net, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		return net->family == AF_INET &&
		    prefix_equal(net->addr, (const void *)&sin->sin_addr,
			net->prefix);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;

		if (net->family == AF_INET6)
			return prefix_equal(net->addr, a, net->prefix);
		if (memcmp(a, mapped, sizeof(mapped)) == 0)
			return prefix_equal(net->addr, a + 12, net->prefix);
	}
	return false;
}

void
addr_to_text(const struct sockaddr *sa, char out[ADDR_TEXT_MAX])
{
	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, out, ADDR_TEXT_MAX);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, sin6->sin6_addr.s6_addr + 12, out,
			    ADDR_TEXT_MAX);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    ADDR_TEXT_MAX);
	}
}

int
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)
			->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)
			->sin6_port);
	return 0;
}
