/* Socket addresses as text, and networks in CIDR notation. */
#ifndef SPAMPOT_NETADDR_H
#define SPAMPOT_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Long enough for any IPv6 address in text, with a zone. */
#define ADDR_TEXT_MAX 64

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
};

/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address. */
int cidr_parse(const char *text, struct cidr *out);

/* True if sa lies in net; IPv4-mapped IPv6 addresses match IPv4 nets. */
bool cidr_contains(const struct cidr *net, const struct sockaddr *sa);

/* Address of sa as text (no port), IPv4-mapped IPv6 shown as IPv4. */
void addr_to_text(const struct sockaddr *sa, char out[ADDR_TEXT_MAX]);

/* Port of sa in host order, or 0. */
int addr_port(const struct sockaddr *sa);

#endif
