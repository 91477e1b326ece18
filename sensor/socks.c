/*
 * SOCKS4, SOCKS4a and SOCKS5 messages; see socks.h.
 *
 * Every byte here comes from an unauthenticated peer.  Lengths are one
 * byte wide, so no field can exceed SOCKS_FIELD_MAX, and the fields
 * that end in NUL instead of a length are cut off at the same bound.
 */
#include "socks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define SOCKS4_VERSION      4
#define SOCKS5_VERSION      5
#define SOCKS5_AUTH_VERSION 1 /* RFC 1929 sub-negotiation version */

/* VN CD DSTPORT DSTIP, before the user id. */
#define SOCKS4_FIXED_LEN 8

/* VER CMD RSV ATYP, before the address. */
#define SOCKS5_REQUEST_FIXED_LEN 4

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/*
 * Copy the NUL-terminated field at buf[off] into out.  Returns
 * PARSE_OK with *next just past the NUL, PARSE_MORE while the NUL may
 * still come, or PARSE_ERROR once SOCKS_FIELD_MAX bytes have none.
 */
static int
get_nul_field(const uint8_t *buf, size_t len, size_t off,
    char out[SOCKS_FIELD_MAX + 1], size_t *out_len, size_t *next)
{
	size_t avail = len - off;
	const uint8_t *nul;

	if (avail > SOCKS_FIELD_MAX + 1)
		avail = SOCKS_FIELD_MAX + 1;
	nul = memchr(buf + off, '\0', avail);
	if (nul == NULL)
		return avail == SOCKS_FIELD_MAX + 1 ? PARSE_ERROR : PARSE_MORE;

	*out_len = (size_t)(nul - (buf + off));
	memcpy(out, buf + off, *out_len);
	out[*out_len] = '\0';
	*next = off + *out_len + 1;
	return PARSE_OK;
}

/* SOCKS4a marks a host name to follow with DSTIP 0.0.0.x, x != 0. */
static int
is_socks4a(const uint8_t ip[4])
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0;
}

/*
 * Any command byte is accepted, so that the caller can log it and
 * reject it with the reply a real server sends.
 */
int
socks4_parse_request(const uint8_t *buf, size_t len, struct socks_request *out,
    size_t *used, const char **why)
{
	size_t host_len, next;
	int r;

	if (len >= 1 && buf[0] != SOCKS4_VERSION) {
		*why = "not a SOCKS4 request";
		return PARSE_ERROR;
	}
	if (len < SOCKS4_FIXED_LEN)
		return PARSE_MORE;

	memset(out, 0, sizeof(*out));
	out->version = SOCKS4_VERSION;
	out->command = buf[1];
	out->port = get_be16(buf + 2);
	memcpy(out->addr, buf + 4, 4);

	r = get_nul_field(
	    buf, len, SOCKS4_FIXED_LEN, out->user, &out->user_len, &next);
	if (r == PARSE_ERROR)
		*why = "SOCKS4 user id too long";
	if (r != PARSE_OK)
		return r;

	if (!is_socks4a(out->addr)) {
		out->atyp = SOCKS_ATYP_IPV4;
		inet_ntop(AF_INET, out->addr, out->host, sizeof(out->host));
		*used = next;
		return PARSE_OK;
	}

	out->atyp = SOCKS_ATYP_DOMAIN;
	r = get_nul_field(buf, len, next, out->host, &host_len, &next);
	if (r == PARSE_ERROR)
		*why = "SOCKS4a host name too long";
	if (r != PARSE_OK)
		return r;
	if (host_len == 0) {
		*why = "SOCKS4a host name empty";
		return PARSE_ERROR;
	}
	*used = next;
	return PARSE_OK;
}

int
socks5_parse_greeting(const uint8_t *buf, size_t len,
    struct socks5_greeting *out, size_t *used, const char **why)
{
	size_t n;

	if (len >= 1 && buf[0] != SOCKS5_VERSION) {
		*why = "not a SOCKS5 greeting";
		return PARSE_ERROR;
	}
	if (len < 2)
		return PARSE_MORE;
	n = buf[1];
	if (n == 0) {
		*why = "SOCKS5 greeting offers no methods";
		return PARSE_ERROR;
	}
	if (len < 2 + n)
		return PARSE_MORE;

	out->nmethods = (int)n;
	memcpy(out->methods, buf + 2, n);
	*used = 2 + n;
	return PARSE_OK;
}

/*
 * RFC 1929 requires lengths of 1 to 255, but empty user names and
 * passwords are accepted, because an open proxy takes any credential
 * and the attempt is worth logging as sent.
 */
int
socks5_parse_auth(const uint8_t *buf, size_t len, struct socks5_auth *out,
    size_t *used, const char **why)
{
	size_t ulen, plen;

	if (len >= 1 && buf[0] != SOCKS5_AUTH_VERSION) {
		*why = "not an RFC 1929 authentication request";
		return PARSE_ERROR;
	}
	if (len < 2)
		return PARSE_MORE;
	ulen = buf[1];
	if (len < 2 + ulen + 1)
		return PARSE_MORE;
	plen = buf[2 + ulen];
	if (len < 2 + ulen + 1 + plen)
		return PARSE_MORE;

	memcpy(out->user, buf + 2, ulen);
	out->user[ulen] = '\0';
	out->user_len = ulen;
	memcpy(out->pass, buf + 3 + ulen, plen);
	out->pass[plen] = '\0';
	out->pass_len = plen;
	*used = 3 + ulen + plen;
	return PARSE_OK;
}

/* Bytes of address after ATYP, or 0 while they cannot be known yet. */
static size_t
socks5_addr_len(int atyp, const uint8_t *buf, size_t len)
{
	switch (atyp) {
	case SOCKS_ATYP_IPV4:
		return 4;
	case SOCKS_ATYP_IPV6:
		return 16;
	case SOCKS_ATYP_DOMAIN:
		if (len <= SOCKS5_REQUEST_FIXED_LEN)
			return 0;
		return 1 + (size_t)buf[SOCKS5_REQUEST_FIXED_LEN];
	}
	return 0;
}

/*
 * The reserved byte is not checked.  RFC 1928 requires it to be zero,
 * but a sloppy client's request is still worth a reply and a log line.
 * Any command byte is accepted for the caller to reject by reply.  On
 * an unknown address type, out->atyp is set to the type sent, so that
 * the caller can reply SOCKS5_ATYP_NOT_SUPPORTED.
 */
int
socks5_parse_request(const uint8_t *buf, size_t len, struct socks_request *out,
    size_t *used, const char **why)
{
	const uint8_t *addr;
	size_t alen, total;
	int atyp;

	if (len >= 1 && buf[0] != SOCKS5_VERSION) {
		*why = "not a SOCKS5 request";
		return PARSE_ERROR;
	}
	if (len < SOCKS5_REQUEST_FIXED_LEN)
		return PARSE_MORE;

	atyp = buf[3];
	if (atyp != SOCKS_ATYP_IPV4 && atyp != SOCKS_ATYP_DOMAIN &&
	    atyp != SOCKS_ATYP_IPV6) {
		memset(out, 0, sizeof(*out));
		out->version = SOCKS5_VERSION;
		out->command = buf[1];
		out->atyp = atyp;
		*why = "SOCKS5 address type not supported";
		return PARSE_ERROR;
	}
	alen = socks5_addr_len(atyp, buf, len);
	if (alen == 0)
		return PARSE_MORE;
	total = SOCKS5_REQUEST_FIXED_LEN + alen + 2;
	if (len < total)
		return PARSE_MORE;

	memset(out, 0, sizeof(*out));
	out->version = SOCKS5_VERSION;
	out->command = buf[1];
	out->atyp = atyp;
	addr = buf + SOCKS5_REQUEST_FIXED_LEN;
	out->port = get_be16(addr + alen);

	switch (atyp) {
	case SOCKS_ATYP_IPV4:
		memcpy(out->addr, addr, 4);
		inet_ntop(AF_INET, out->addr, out->host, sizeof(out->host));
		break;
	case SOCKS_ATYP_IPV6:
		memcpy(out->addr, addr, 16);
		inet_ntop(AF_INET6, out->addr, out->host, sizeof(out->host));
		break;
	case SOCKS_ATYP_DOMAIN:
		/* A NUL would cut the host short in logs and look-ups. */
		if (alen == 1 || memchr(addr + 1, '\0', alen - 1) != NULL) {
			*why = alen == 1 ? "SOCKS5 host name empty"
					 : "SOCKS5 host name contains NUL";
			return PARSE_ERROR;
		}
		memcpy(out->host, addr + 1, alen - 1);
		out->host[alen - 1] = '\0';
		break;
	}
	*used = total;
	return PARSE_OK;
}

int
socks5_choose_method(const struct socks5_greeting *g)
{
	int i, userpass = 0;

	for (i = 0; i < g->nmethods; i++) {
		if (g->methods[i] == SOCKS5_METHOD_NONE)
			return SOCKS5_METHOD_NONE;
		if (g->methods[i] == SOCKS5_METHOD_USERPASS)
			userpass = 1;
	}
	return userpass ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_UNACCEPTABLE;
}

/* SOCKS4 replies start with a version byte of 0, not 4. */
size_t
socks4_reply(uint8_t out[8], int code, uint16_t port, const uint8_t addr[4])
{
	out[0] = 0;
	out[1] = (uint8_t)code;
	put_be16(out + 2, port);
	if (addr != NULL)
		memcpy(out + 4, addr, 4);
	else
		memset(out + 4, 0, 4);
	return 8;
}

size_t
socks5_method_reply(uint8_t out[2], int method)
{
	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)method;
	return 2;
}

/* RFC 1929: status 0 is success, any other value failure. */
size_t
socks5_auth_reply(uint8_t out[2], int ok)
{
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = ok ? 0x00 : 0x01;
	return 2;
}

/*
 * An IPv4-mapped IPv6 address is sent as IPv4, as a dual-stack server
 * would report it; any other family, or none, as 0.0.0.0 port 0.
 */
size_t
socks5_reply(uint8_t out[22], int code, const struct sockaddr *bound)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)code;
	out[2] = 0;
	if (bound != NULL && bound->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)bound;
		if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			out[3] = SOCKS_ATYP_IPV6;
			memcpy(out + 4, &sin6->sin6_addr, 16);
			memcpy(out + 20, &sin6->sin6_port, 2);
			return 22;
		}
		out[3] = SOCKS_ATYP_IPV4;
		memcpy(out + 4, sin6->sin6_addr.s6_addr + 12, 4);
		memcpy(out + 8, &sin6->sin6_port, 2);
		return 10;
	}
	out[3] = SOCKS_ATYP_IPV4;
	if (bound != NULL && bound->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)bound;
		memcpy(out + 4, &sin->sin_addr, 4);
		memcpy(out + 8, &sin->sin_port, 2);
	} else
		memset(out + 4, 0, 6);
	return 10;
}
