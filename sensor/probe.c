/* Probe detection in captured messages; see probe.h. */
#include "probe.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

void
probe_add_addr(struct probe_marks *m, const char *addr)
{
	int i;

	if (addr == NULL || addr[0] == '\0')
		return;
	for (i = 0; i < m->naddrs; i++)
		if (strcmp(m->addrs[i], addr) == 0)
			return;
	if (m->naddrs < PROBE_ADDRS_MAX)
		m->addrs[m->naddrs++] = addr;
}

void
probe_add_port(struct probe_marks *m, int port)
{
	int i;

	if (port <= 0)
		return;
	for (i = 0; i < m->nports; i++)
		if (m->ports[i] == port)
			return;
	if (m->nports < PROBE_PORTS_MAX)
		m->ports[m->nports++] = port;
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The port written after an address at p: one or more of ':', blank
 * or tab, then digits that end the number.  Returns it, or -1.
 */
static long
port_after(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q = p;
	long port = 0;
	int digits = 0;

	while (q < end && (*q == ':' || *q == ' ' || *q == '\t') && q - p < 8)
		q++;
	if (q == p)
		return -1;
	while (q < end && is_digit(*q) && digits < 6) {
		port = port * 10 + (*q++ - '0');
		digits++;
	}
	if (digits == 0 || (q < end && is_digit(*q)))
		return -1;
	return port;
}

/* Find addr followed by one of m's ports in msg; returns that port. */
static int
find_addr_port(const struct probe_marks *m, const char *addr,
    const unsigned char *msg, size_t size)
{
	size_t alen = strlen(addr), off = 0;
	const unsigned char *end = msg + size, *hit;
	long port;
	int i;

	while (off < size &&
	    (hit = memmem(msg + off, size - off, addr, alen)) != NULL) {
		off = (size_t)(hit - msg) + 1;
		/* "11.2.3.4" must not match "1.2.3.4". */
		if (hit > msg && (is_digit(hit[-1]) || hit[-1] == '.'))
			continue;
		if ((port = port_after(hit + alen, end)) < 0)
			continue;
		for (i = 0; i < m->nports; i++)
			if (m->ports[i] == port)
				return (int)port;
	}
	return -1;
}

bool
probe_check_message(const struct probe_marks *m, const unsigned char *msg,
    size_t size, const char *const *rcpts, int nrcpts, char *reason,
    size_t reasonlen)
{
	int i, j, port;

	for (i = 0; i < m->naddrs; i++) {
		if ((port = find_addr_port(m, m->addrs[i], msg, size)) > 0) {
			snprintf(reason, reasonlen, "address %s:%d in message",
			    m->addrs[i], port);
			return true;
		}
	}
	for (i = 0; i < nrcpts; i++) {
		for (j = 0; j < m->nrcpt_patterns; j++) {
			if (fnmatch(m->rcpt_patterns[j], rcpts[i],
				FNM_CASEFOLD) == 0) {
				snprintf(reason, reasonlen,
				    "recipient matches %s",
				    m->rcpt_patterns[j]);
				return true;
			}
		}
	}
	return false;
}
