/*
 * PROXY protocol headers; see proxyproto.h.
 *
 * The header is read only from trusted relays, but it is still parsed
 * as hostile input: a misconfigured network may let anyone send one.
 * Nothing is read past len, and no length field is believed beyond
 * PROXY_V2_MAX.
 */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "spampot_limits.h"

#define V1_PREFIX     "PROXY "
#define V1_PREFIX_LEN (sizeof(V1_PREFIX) - 1)

static const uint8_t v2_signature[12] = {
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
};

/* Signature, version and command, family and protocol, length. */
#define V2_FIXED_LEN 16

#define V2_VERSION       0x20
#define V2_CMD_LOCAL     0x00
#define V2_CMD_PROXY     0x01
#define V2_FAM_UNSPEC    0x00
#define V2_FAM_INET      0x10
#define V2_FAM_INET6     0x20
#define V2_PROTO_STREAM  0x01
#define V2_INET_LEN      12 /* two IPv4 addresses, two ports */
#define V2_INET6_LEN     36 /* two IPv6 addresses, two ports */
#define V2_TLV_FIXED_LEN 3  /* type, two bytes of length */

/* True while buf[0..len) agrees with the first len bytes of want. */
static bool
is_prefix(const uint8_t *buf, size_t len, const void *want, size_t wlen)
{
	return memcmp(buf, want, len < wlen ? len : wlen) == 0;
}

static void
set_inet(struct sockaddr_storage *ss, const void *addr, uint16_t port_be)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	sin->sin_port = port_be;
}

static void
set_inet6(struct sockaddr_storage *ss, const void *addr, uint16_t port_be)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
	sin6->sin6_port = port_be;
}

/* Version 1. */

/* One protocol of a v1 header and the address family it carries. */
struct v1_proto {
	const char *name; /* with the space that follows it, if any */
	int family;       /* AF_UNSPEC for UNKNOWN */
};

static const struct v1_proto v1_protos[] = {
    {"TCP4 ", AF_INET},
    {"TCP6 ", AF_INET6},
    {"UNKNOWN", AF_UNSPEC},
};

/* Characters an address, a port or a separator may use in TCP4/TCP6. */
static bool
is_v1_addr_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F') || c == '.' || c == ':' || c == ' ';
}

/*
 * Parse a decimal port from 0 to 65535.  A sign or a leading zero is
 * rejected, so that a port has one spelling.  Returns -1 if invalid.
 */
static long
parse_v1_port(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

/* Split "a b c d" at single spaces into exactly four fields. */
static bool
split_v1_fields(const char *s, size_t n, const char *f[4], size_t flen[4])
{
	size_t i, start = 0;
	int k = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (k == 4 || i == start)
			return false;
		f[k] = s + start;
		flen[k] = i - start;
		k++;
		start = i + 1;
	}
	return k == 4;
}

static int
parse_v1_addresses(const char *s, size_t n, int family,
    struct proxy_header *out, const char **why)
{
	uint8_t src[16], dst[16];
	char text[INET6_ADDRSTRLEN];
	const char *f[4];
	size_t flen[4];
	long sport, dport;
	int i;

	if (!split_v1_fields(s, n, f, flen)) {
		*why = "PROXY v1 header needs two addresses and two ports";
		return PARSE_ERROR;
	}
	for (i = 0; i < 2; i++) {
		if (flen[i] >= sizeof(text)) {
			*why = "PROXY v1 address invalid";
			return PARSE_ERROR;
		}
		memcpy(text, f[i], flen[i]);
		text[flen[i]] = '\0';
		if (inet_pton(family, text, i == 0 ? src : dst) != 1) {
			*why = "PROXY v1 address invalid";
			return PARSE_ERROR;
		}
	}
	sport = parse_v1_port(f[2], flen[2]);
	dport = parse_v1_port(f[3], flen[3]);
	if (sport < 0 || dport < 0) {
		*why = "PROXY v1 port invalid";
		return PARSE_ERROR;
	}

	if (family == AF_INET) {
		set_inet(&out->src, src, htons((uint16_t)sport));
		set_inet(&out->dst, dst, htons((uint16_t)dport));
	} else {
		set_inet6(&out->src, src, htons((uint16_t)sport));
		set_inet6(&out->dst, dst, htons((uint16_t)dport));
	}
	return PARSE_OK;
}

/*
 * Check the bytes so far of a v1 header, starting after "PROXY ", so
 * that junk is rejected before PROXY_V1_MAX bytes have been waited for.
 */
static int
check_v1_partial(const uint8_t *p, size_t n, const struct v1_proto **protop)
{
	const struct v1_proto *proto = NULL;
	size_t i, plen;

	for (i = 0; i < sizeof(v1_protos) / sizeof(v1_protos[0]); i++) {
		plen = strlen(v1_protos[i].name);
		if (is_prefix(p, n, v1_protos[i].name, plen)) {
			proto = &v1_protos[i];
			break;
		}
	}
	if (proto == NULL)
		return PARSE_ERROR;
	*protop = proto;

	/* After UNKNOWN, anything may come before the CRLF. */
	if (proto->family == AF_UNSPEC || n <= plen)
		return PARSE_MORE;
	for (i = plen; i < n; i++) {
		if (p[i] == '\r')
			return i + 1 == n || p[i + 1] == '\n' ? PARSE_MORE
							      : PARSE_ERROR;
		if (!is_v1_addr_char(p[i]))
			return PARSE_ERROR;
	}
	return PARSE_MORE;
}

static int
parse_v1(const uint8_t *buf, size_t len, struct proxy_header *out, size_t *used,
    const char **why)
{
	const struct v1_proto *proto = NULL;
	const uint8_t *crlf = NULL;
	size_t n, i, plen;

	n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	for (i = V1_PREFIX_LEN; i + 1 < n; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			crlf = buf + i;
			break;
		}
	}
	if (check_v1_partial(buf + V1_PREFIX_LEN,
		(crlf != NULL ? (size_t)(crlf - buf) : n) - V1_PREFIX_LEN,
		&proto) == PARSE_ERROR) {
		*why = "PROXY v1 header malformed";
		return PARSE_ERROR;
	}
	if (crlf == NULL) {
		if (len < PROXY_V1_MAX)
			return PARSE_MORE;
		*why = "PROXY v1 header too long";
		return PARSE_ERROR;
	}

	/* The CRLF may cut the protocol short, as in "PROXY TCP4\r\n". */
	plen = strlen(proto->name);
	if ((size_t)(crlf - buf) < V1_PREFIX_LEN + plen) {
		*why = "PROXY v1 header malformed";
		return PARSE_ERROR;
	}

	memset(out, 0, sizeof(*out));
	out->version = 1;
	if (proto->family == AF_UNSPEC) {
		out->local = true;
	} else {
		const char *s = (const char *)buf + V1_PREFIX_LEN + plen;
		size_t slen = (size_t)((const char *)crlf - s);

		if (parse_v1_addresses(s, slen, proto->family, out, why) !=
		    PARSE_OK)
			return PARSE_ERROR;
	}
	*used = (size_t)(crlf - buf) + 2;
	return PARSE_OK;
}

/* Version 2. */

/*
 * Walk the TLVs after the addresses without keeping them, so that a
 * TLV whose length runs past the header is caught.
 */
static bool
check_v2_tlvs(const uint8_t *p, size_t n)
{
	size_t off = 0, vlen;

	while (off < n) {
		if (n - off < V2_TLV_FIXED_LEN)
			return false;
		vlen = (size_t)(p[off + 1] << 8 | p[off + 2]);
		if (vlen > n - off - V2_TLV_FIXED_LEN)
			return false;
		off += V2_TLV_FIXED_LEN + vlen;
	}
	return true;
}

static int
parse_v2_proxy(const uint8_t *body, size_t blen, uint8_t fam,
    struct proxy_header *out, const char **why)
{
	size_t alen;
	uint16_t sport, dport;

	switch (fam) {
	case V2_FAM_INET | V2_PROTO_STREAM:
		alen = V2_INET_LEN;
		break;
	case V2_FAM_INET6 | V2_PROTO_STREAM:
		alen = V2_INET6_LEN;
		break;
	case V2_FAM_UNSPEC:
		/* The specification lets the receiver keep the peer. */
		out->local = true;
		return PARSE_OK;
	default:
		*why = "PROXY v2 family or protocol not supported";
		return PARSE_ERROR;
	}
	if (blen < alen) {
		*why = "PROXY v2 length shorter than its addresses";
		return PARSE_ERROR;
	}
	if (!check_v2_tlvs(body + alen, blen - alen)) {
		*why = "PROXY v2 TLV overruns the header";
		return PARSE_ERROR;
	}

	/* Ports stay in network order, as sockaddr wants them. */
	if (alen == V2_INET_LEN) {
		memcpy(&sport, body + 8, 2);
		memcpy(&dport, body + 10, 2);
		set_inet(&out->src, body, sport);
		set_inet(&out->dst, body + 4, dport);
	} else {
		memcpy(&sport, body + 32, 2);
		memcpy(&dport, body + 34, 2);
		set_inet6(&out->src, body, sport);
		set_inet6(&out->dst, body + 16, dport);
	}
	return PARSE_OK;
}

static int
parse_v2(const uint8_t *buf, size_t len, struct proxy_header *out, size_t *used,
    const char **why)
{
	size_t blen, total;
	uint8_t cmd;

	if (len > sizeof(v2_signature) && (buf[12] & 0xf0) != V2_VERSION) {
		*why = "PROXY v2 version not 2";
		return PARSE_ERROR;
	}
	cmd = len > sizeof(v2_signature) ? buf[12] & 0x0f : 0;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY) {
		*why = "PROXY v2 command unknown";
		return PARSE_ERROR;
	}
	if (len < V2_FIXED_LEN)
		return PARSE_MORE;

	blen = (size_t)(buf[14] << 8 | buf[15]);
	total = V2_FIXED_LEN + blen;
	if (total > PROXY_V2_MAX) {
		*why = "PROXY v2 header too long";
		return PARSE_ERROR;
	}
	if (len < total)
		return PARSE_MORE;

	memset(out, 0, sizeof(*out));
	out->version = 2;
	if (cmd == V2_CMD_LOCAL) {
		/* Health checks from the relay itself: skip what follows. */
		out->local = true;
	} else if (parse_v2_proxy(
		       buf + V2_FIXED_LEN, blen, buf[13], out, why) != PARSE_OK)
		return PARSE_ERROR;
	*used = total;
	return PARSE_OK;
}

int
proxyproto_parse(const uint8_t *buf, size_t len, struct proxy_header *out,
    size_t *used, const char **why)
{
	if (len == 0)
		return PARSE_MORE;
	if (is_prefix(buf, len, v2_signature, sizeof(v2_signature))) {
		if (len < sizeof(v2_signature))
			return PARSE_MORE;
		return parse_v2(buf, len, out, used, why);
	}
	if (is_prefix(buf, len, V1_PREFIX, V1_PREFIX_LEN)) {
		if (len <= V1_PREFIX_LEN)
			return PARSE_MORE;
		return parse_v1(buf, len, out, used, why);
	}
	*why = "not a PROXY protocol header";
	return PARSE_ERROR;
}

/* Formatters. */

/*
 * Bring src and dst to one family: both IPv4, both IPv6 (an IPv4 one
 * mapped into IPv6), or AF_UNSPEC when either is of another family.
 */
static int
common_family(const struct sockaddr *src, const struct sockaddr *dst)
{
	int a = src != NULL ? src->sa_family : AF_UNSPEC;
	int b = dst != NULL ? dst->sa_family : AF_UNSPEC;

	if ((a != AF_INET && a != AF_INET6) || (b != AF_INET && b != AF_INET6))
		return AF_UNSPEC;
	return a == AF_INET && b == AF_INET ? AF_INET : AF_INET6;
}

/* Address and port (network order) of sa, as family wants it. */
static void
get_addr(
    const struct sockaddr *sa, int family, uint8_t addr[16], uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET6) {
		memcpy(addr, &sin6->sin6_addr, 16);
		*port = sin6->sin6_port;
		return;
	}
	*port = sin->sin_port;
	if (family == AF_INET) {
		memcpy(addr, &sin->sin_addr, 4);
		return;
	}
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	memcpy(addr + 12, &sin->sin_addr, 4);
}

size_t
proxyproto_format_v1(char *out, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	char stext[INET6_ADDRSTRLEN], dtext[INET6_ADDRSTRLEN];
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	int family, n;

	family = common_family(src, dst);
	if (family == AF_UNSPEC) {
		n = snprintf(out, cap, "PROXY UNKNOWN\r\n");
	} else {
		get_addr(src, family, saddr, &sport);
		get_addr(dst, family, daddr, &dport);
		inet_ntop(family, saddr, stext, sizeof(stext));
		inet_ntop(family, daddr, dtext, sizeof(dtext));
		n = snprintf(out, cap, "PROXY %s %s %s %u %u\r\n",
		    family == AF_INET ? "TCP4" : "TCP6", stext, dtext,
		    ntohs(sport), ntohs(dport));
	}
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

size_t
proxyproto_format_v2(uint8_t *out, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	size_t alen, total;
	int family;

	family = common_family(src, dst);
	alen = family == AF_INET ? V2_INET_LEN
	    : family == AF_INET6 ? V2_INET6_LEN
				 : 0;
	total = V2_FIXED_LEN + alen;
	if (cap < total)
		return 0;

	memcpy(out, v2_signature, sizeof(v2_signature));
	out[14] = 0;
	out[15] = (uint8_t)alen;
	if (family == AF_UNSPEC) {
		out[12] = V2_VERSION | V2_CMD_LOCAL;
		out[13] = V2_FAM_UNSPEC;
		return total;
	}

	out[12] = V2_VERSION | V2_CMD_PROXY;
	out[13] =
	    (family == AF_INET ? V2_FAM_INET : V2_FAM_INET6) | V2_PROTO_STREAM;
	get_addr(src, family, saddr, &sport);
	get_addr(dst, family, daddr, &dport);
	if (family == AF_INET) {
		memcpy(out + 16, saddr, 4);
		memcpy(out + 20, daddr, 4);
		memcpy(out + 24, &sport, 2);
		memcpy(out + 26, &dport, 2);
	} else {
		memcpy(out + 16, saddr, 16);
		memcpy(out + 32, daddr, 16);
		memcpy(out + 48, &sport, 2);
		memcpy(out + 50, &dport, 2);
	}
	return total;
}
