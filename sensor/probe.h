/*
 * Telling proxy checks from spam.  A checker that found an open proxy
 * sends a test message through it to a mailbox of its own, and writes
 * the proxy's address and port into the message, so that it knows
 * which proxy delivered.  Such a message, or one to a configured test
 * recipient, is a probe; the server counts probes apart from spam.
 */
#ifndef SPAMPOT_PROBE_H
#define SPAMPOT_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Addresses and ports at most: the own address, the claimed target. */
#define PROBE_ADDRS_MAX 4
#define PROBE_PORTS_MAX (2 * (PROXY_CHAIN_DEPTH_MAX + 1))

/* Marks that make a message a probe of this sensor. */
struct probe_marks {
	const char *addrs[PROBE_ADDRS_MAX]; /* as text, e.g. "192.0.2.1" */
	int naddrs;
	int ports[PROBE_PORTS_MAX]; /* listener and service ports */
	int nports;
	const char (*rcpt_patterns)[CONFIG_PATTERN_MAX];
	int nrcpt_patterns;
};

/* Add addr or port to m once; extra ones past the bounds are ignored. */
void probe_add_addr(struct probe_marks *m, const char *addr);
void probe_add_port(struct probe_marks *m, int port);

/*
 * Check a message.  Returns true with a short reason in reason (e.g.
 * "address 192.0.2.1:8080 in message") when the message text carries
 * one of m's addresses followed by one of its ports ("a.b.c.d:port" or
 * "a.b.c.d port"), or a recipient matches one of m's fnmatch(3)
 * patterns, case-insensitively.  The scan is linear in size.
 */
bool probe_check_message(const struct probe_marks *m, const unsigned char *msg,
    size_t size, const char *const *rcpts, int nrcpts, char *reason,
    size_t reasonlen);

#endif
