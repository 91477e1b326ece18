/*
 * p0f v3 signatures of TCP SYNs; see synsig.h.  The rules for each
 * field and quirk follow p0f 3.09b's packet parser, so that the same
 * packet gives the same signature here and in p0f.
 */
#include "synsig.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define TCP_HEADER_MIN  20
#define IPPROTO_TCP_NUM 6

/* IPv4 flags and fragment offset field. */
#define IPV4_RESERVED 0x8000
#define IPV4_DF       0x4000
#define IPV4_MF       0x2000
#define IPV4_OFFSET   0x1fff

/* ECN bits of the IPv4 TOS and IPv6 traffic class: ECT(0), ECT(1), CE. */
#define IP_ECN_MASK 0x03

/* TCP flags, and the NS bit in the low bit of the data offset byte. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80
#define TH_NS  0x01

/* Smallest IPv4 and IPv6 packets with a TCP header, for MTU guesses. */
#define MIN_TCP4 (IPV4_HEADER_MIN + TCP_HEADER_MIN)
#define MIN_TCP6 (IPV6_HEADER_LEN + TCP_HEADER_MIN)

/* The usual Ethernet MTU, which some stacks use whatever the interface. */
#define ETHERNET_MTU 1500

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
synsig_guess_ittl(int ttl)
{
	static const int initial[] = {32, 64, 128};
	size_t i;

	for (i = 0; i < sizeof(initial) / sizeof(initial[0]); i++)
		if (ttl <= initial[i])
			return initial[i];
	return 255;
}

/* Offset of the TCP header, and the length the IP header claims. */
struct ip_view {
	size_t tcp_off;  /* offset of the TCP header */
	size_t ip_total; /* length the IP header claims, headers included */
};

static enum synsig_result
parse_ipv4(const uint8_t *p, size_t len, struct synsig *sig, struct ip_view *v,
    const char **why)
{
	size_t ihl, total;
	uint16_t frag, id;

	if (len < IPV4_HEADER_MIN) {
		*why = "truncated IPv4 header";
		return SYNSIG_INVALID;
	}
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = get16(p + 2);
	if (ihl < IPV4_HEADER_MIN) {
		*why = "IPv4 header length below 20";
		return SYNSIG_INVALID;
	}
	if (ihl > len) {
		*why = "IPv4 header length past the end of the packet";
		return SYNSIG_INVALID;
	}
	if (total < ihl + TCP_HEADER_MIN) {
		*why = "IPv4 total length too short for IPv4 and TCP";
		return SYNSIG_INVALID;
	}
	frag = get16(p + 6);
	if (frag & (IPV4_MF | IPV4_OFFSET)) {
		*why = "IPv4 fragment";
		return SYNSIG_SKIP;
	}
	if (p[9] != IPPROTO_TCP_NUM) {
		*why = "not TCP";
		return SYNSIG_SKIP;
	}

	sig->version = 4;
	sig->ttl = p[8];
	sig->ip_opt_len = (int)(ihl - IPV4_HEADER_MIN);
	memcpy(sig->src, p + 12, 4);
	memcpy(sig->dst, p + 16, 4);
	if (p[1] & IP_ECN_MASK)
		sig->quirks |= QUIRK_ECN;
	if (frag & IPV4_RESERVED)
		sig->quirks |= QUIRK_NZ_MBZ;
	id = get16(p + 4);
	if (frag & IPV4_DF) {
		sig->quirks |= QUIRK_DF;
		if (id != 0)
			sig->quirks |= QUIRK_NZ_ID;
	} else if (id == 0)
		sig->quirks |= QUIRK_ZERO_ID;

	v->tcp_off = ihl;
	v->ip_total = total;
	return SYNSIG_OK;
}

/*
 * Extension headers are not walked, as in p0f: a SYN with any is
 * skipped.  Almost no stack sends one on a SYN.
 */
static enum synsig_result
parse_ipv6(const uint8_t *p, size_t len, struct synsig *sig, struct ip_view *v,
    const char **why)
{
	uint32_t head;
	size_t total;

	if (len < IPV6_HEADER_LEN) {
		*why = "truncated IPv6 header";
		return SYNSIG_INVALID;
	}
	head = get32(p);
	total = IPV6_HEADER_LEN + (size_t)get16(p + 4);
	if (p[6] != IPPROTO_TCP_NUM) {
		*why = "not TCP, or IPv6 extension headers";
		return SYNSIG_SKIP;
	}
	if (total < IPV6_HEADER_LEN + TCP_HEADER_MIN) {
		*why = "IPv6 payload length too short for TCP";
		return SYNSIG_INVALID;
	}

	sig->version = 6;
	sig->ttl = p[7];
	sig->ip_opt_len = 0;
	memcpy(sig->src, p + 8, 16);
	memcpy(sig->dst, p + 24, 16);
	if (head & 0xfffff)
		sig->quirks |= QUIRK_FLOW;
	if ((head >> 20) & IP_ECN_MASK)
		sig->quirks |= QUIRK_ECN;

	v->tcp_off = IPV6_HEADER_LEN;
	v->ip_total = total;
	return SYNSIG_OK;
}

/*
 * Bytes each option must carry, its length byte included, or 0 for a
 * variable length.  p0f marks a fixed-length option whose length byte
 * disagrees as "bad" but still steps over the expected size.
 */
static int
option_fixed_size(uint8_t kind)
{
	switch (kind) {
	case TCPOPT_KIND_MSS:
		return 4;
	case TCPOPT_KIND_WS:
		return 3;
	case TCPOPT_KIND_SACKOK:
		return 2;
	case TCPOPT_KIND_TS:
		return 10;
	default:
		return 0;
	}
}

/*
 * Record the value of a fixed-size option that starts at opt.  Only
 * SYNs without ACK get here, so a peer timestamp is always a quirk.
 */
static void
take_option(struct synsig *sig, const uint8_t *opt)
{
	switch (opt[0]) {
	case TCPOPT_KIND_MSS:
		sig->mss = get16(opt + 2);
		break;
	case TCPOPT_KIND_WS:
		sig->wscale = opt[2];
		if (sig->wscale > 14)
			sig->quirks |= QUIRK_EXWS;
		break;
	case TCPOPT_KIND_TS:
		sig->ts1 = get32(opt + 2);
		if (sig->ts1 == 0)
			sig->quirks |= QUIRK_ZERO_TS1;
		if (get32(opt + 6) != 0)
			sig->quirks |= QUIRK_NZ_TS2;
		break;
	}
}

/*
 * Walk the options in opt[0..len).  A malformed option stops the walk
 * and sets the "bad" quirk, as p0f does.  It is not an error, because
 * buggy stacks are part of what a signature shows.
 */
static void
parse_options(const uint8_t *opt, size_t len, struct synsig *sig)
{
	size_t i = 0, size;
	uint8_t kind;

	while (i < len && sig->layout_len < SYNSIG_OPTIONS_MAX) {
		kind = opt[i];
		sig->layout[sig->layout_len++] = kind;
		if (kind == TCPOPT_KIND_EOL) {
			sig->eol_pad = (int)(len - i - 1);
			for (i++; i < len; i++)
				if (opt[i] != 0)
					sig->quirks |= QUIRK_EOL_NZ;
			return;
		}
		if (kind == TCPOPT_KIND_NOP) {
			i++;
			continue;
		}
		if ((size = (size_t)option_fixed_size(kind)) != 0) {
			if (len - i < size)
				break;
			if (opt[i + 1] != size)
				sig->quirks |= QUIRK_OPT_BAD;
			take_option(sig, opt + i);
			i += size;
			continue;
		}
		/* SACK carries 1 to 4 blocks; other kinds at least 2 bytes. */
		if (len - i < 2)
			break;
		size = opt[i + 1];
		if (kind == TCPOPT_KIND_SACK ? size < 10 || size > 34
					     : size < 2 || size > 40)
			break;
		if (len - i < size)
			break;
		i += size;
	}
	if (i != len)
		sig->quirks |= QUIRK_OPT_BAD;
}

static enum synsig_result
parse_tcp(const uint8_t *p, size_t len, const struct ip_view *v,
    struct synsig *sig, const char **why)
{
	const uint8_t *tcp = p + v->tcp_off;
	size_t avail, doff;
	uint8_t flags;

	/* What was captured and what the IP header claims, whichever is less.
	 */
	avail = len < v->ip_total ? len : v->ip_total;
	if (avail < v->tcp_off + TCP_HEADER_MIN) {
		*why = "truncated TCP header";
		return SYNSIG_INVALID;
	}
	avail -= v->tcp_off;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HEADER_MIN) {
		*why = "TCP data offset below 20";
		return SYNSIG_INVALID;
	}
	if (doff > avail) {
		*why = "TCP data offset past the end of the packet";
		return SYNSIG_INVALID;
	}
	flags = tcp[13];
	if ((flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) != TH_SYN) {
		*why = "not a SYN without ACK";
		return SYNSIG_SKIP;
	}

	sig->sport = get16(tcp);
	sig->dport = get16(tcp + 2);
	sig->window = get16(tcp + 14);
	if ((flags & (TH_ECE | TH_CWR)) || (tcp[12] & TH_NS))
		sig->quirks |= QUIRK_ECN;
	if (get32(tcp + 4) == 0)
		sig->quirks |= QUIRK_ZERO_SEQ;
	/*
	 * NOTE: p0f 3.09b tests the ACK number with a bitwise AND, so it
	 * detects only some of these.  This sets ack+ for any non-zero
	 * value.
	 */
	if (get32(tcp + 8) != 0)
		sig->quirks |= QUIRK_NZ_ACK;
	if (flags & TH_URG)
		sig->quirks |= QUIRK_URG;
	else if (get16(tcp + 18) != 0)
		sig->quirks |= QUIRK_NZ_URG;
	if (flags & TH_PSH)
		sig->quirks |= QUIRK_PUSH;

	/* The IP length, not the capture, decides whether data follows. */
	sig->payload = v->ip_total > v->tcp_off + doff;
	sig->header_len = (int)(v->tcp_off + doff);
	parse_options(tcp + TCP_HEADER_MIN, doff - TCP_HEADER_MIN, sig);
	return SYNSIG_OK;
}

enum synsig_result
synsig_from_packet(
    const void *buf, size_t len, struct synsig *sig, const char **why)
{
	const uint8_t *p = buf;
	struct ip_view v;
	enum synsig_result r;

	memset(sig, 0, sizeof(*sig));
	if (len < 1) {
		*why = "empty packet";
		return SYNSIG_INVALID;
	}
	switch (p[0] >> 4) {
	case 4:
		r = parse_ipv4(p, len, sig, &v, why);
		break;
	case 6:
		r = parse_ipv6(p, len, sig, &v, why);
		break;
	default:
		*why = "IP version neither 4 nor 6";
		return SYNSIG_INVALID;
	}
	if (r != SYNSIG_OK)
		return r;
	if ((r = parse_tcp(p, len, &v, sig, why)) != SYNSIG_OK)
		return r;
	sig->ittl = synsig_guess_ittl(sig->ttl);
	return SYNSIG_OK;
}

int
synsig_window_multiplier(const struct synsig *sig, int *use_mtu)
{
	struct {
		int divisor;
		bool mtu;
		bool when;
	} tries[] = {
	    {sig->mss, false, true},
	    /* Some stacks subtract the 12 bytes of timestamps. */
	    {sig->mss - 12, false, sig->ts1 != 0},
	    /* Some take the MSS of an Ethernet link whatever the route. */
	    {ETHERNET_MTU - MIN_TCP4, false, true},
	    {ETHERNET_MTU - MIN_TCP4 - 12, false, true},
	    {ETHERNET_MTU - MIN_TCP6, false, sig->version == 6},
	    {ETHERNET_MTU - MIN_TCP6 - 12, false, sig->version == 6},
	    /* Some use the MTU where the MSS belongs. */
	    {sig->mss + MIN_TCP4, true, true},
	    {sig->mss + sig->header_len, true, sig->header_len > 0},
	    {sig->mss + MIN_TCP6, true, sig->version == 6},
	    {ETHERNET_MTU, true, true},
	};
	size_t i;

	if (sig->window == 0 || sig->mss < 100)
		return -1;
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (!tries[i].when || sig->window % tries[i].divisor != 0)
			continue;
		*use_mtu = tries[i].mtu;
		return sig->window / tries[i].divisor;
	}
	return -1;
}

/* Text form. */

static const struct {
	uint8_t kind;
	const char *name;
} option_names[] = {
    {TCPOPT_KIND_NOP, "nop"},
    {TCPOPT_KIND_MSS, "mss"},
    {TCPOPT_KIND_WS, "ws"},
    {TCPOPT_KIND_SACKOK, "sok"},
    {TCPOPT_KIND_SACK, "sack"},
    {TCPOPT_KIND_TS, "ts"},
};

static const struct {
	uint32_t bit;
	const char *name;
} quirk_names[] = {
    {QUIRK_DF, "df"},
    {QUIRK_NZ_ID, "id+"},
    {QUIRK_ZERO_ID, "id-"},
    {QUIRK_ECN, "ecn"},
    {QUIRK_NZ_MBZ, "0+"},
    {QUIRK_FLOW, "flow"},
    {QUIRK_ZERO_SEQ, "seq-"},
    {QUIRK_NZ_ACK, "ack+"},
    {QUIRK_ZERO_ACK, "ack-"},
    {QUIRK_NZ_URG, "uptr+"},
    {QUIRK_URG, "urgf+"},
    {QUIRK_PUSH, "pushf+"},
    {QUIRK_ZERO_TS1, "ts1-"},
    {QUIRK_NZ_TS2, "ts2+"},
    {QUIRK_EOL_NZ, "opt+"},
    {QUIRK_EXWS, "exws"},
    {QUIRK_OPT_BAD, "bad"},
};

/* A bounded appender: once the buffer is full, it stays failed. */
struct text {
	char *buf;
	size_t size;
	size_t len;
	bool failed;
};

static void text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len) {
		t->failed = true;
		return;
	}
	t->len += (size_t)n;
}

static const char *
option_name(uint8_t kind)
{
	size_t i;

	for (i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++)
		if (option_names[i].kind == kind)
			return option_names[i].name;
	return NULL;
}

static void
format_layout(struct text *t, const struct synsig *sig)
{
	const char *name;
	int i;

	for (i = 0; i < sig->layout_len; i++) {
		const char *sep = i ? "," : "";

		if (sig->layout[i] == TCPOPT_KIND_EOL)
			text_add(t, "%seol+%d", sep, sig->eol_pad);
		else if ((name = option_name(sig->layout[i])) != NULL)
			text_add(t, "%s%s", sep, name);
		else
			text_add(t, "%s?%u", sep, sig->layout[i]);
	}
}

static void
format_quirks(struct text *t, uint32_t quirks)
{
	const char *sep = "";
	size_t i;

	for (i = 0; i < sizeof(quirk_names) / sizeof(quirk_names[0]); i++) {
		if (quirks & quirk_names[i].bit) {
			text_add(t, "%s%s", sep, quirk_names[i].name);
			sep = ",";
		}
	}
}

int
synsig_format(const struct synsig *sig, char *buf, size_t size)
{
	struct text t = {buf, size, 0, size == 0};
	int distance = sig->ittl - sig->ttl;

	if (distance >= 0 && distance <= SYNSIG_DISTANCE_MAX)
		text_add(&t, "%d:%d+%d:", sig->version, sig->ttl, distance);
	else
		text_add(&t, "%d:%d+?:", sig->version, sig->ttl);
	text_add(&t, "%d:%d:%d,%d:", sig->ip_opt_len, sig->mss, sig->window,
	    sig->wscale);
	format_layout(&t, sig);
	text_add(&t, ":");
	format_quirks(&t, sig->quirks);
	text_add(&t, ":%s", sig->payload ? "+" : "0");
	if (t.failed)
		return -1;
	return (int)t.len;
}

/* Parsing the text form. */

/* A decimal number filling text[0..len), in [0, max]. */
static int
parse_number(const char *text, size_t len, long max, long *out)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 6)
		return -1;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (text[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_option(const char *text, size_t len, uint8_t *kind)
{
	long v;
	size_t i;

	for (i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++) {
		if (strlen(option_names[i].name) == len &&
		    memcmp(option_names[i].name, text, len) == 0) {
			*kind = option_names[i].kind;
			return 0;
		}
	}
	if (len > 1 && text[0] == '?' &&
	    parse_number(text + 1, len - 1, 255, &v) == 0) {
		*kind = (uint8_t)v;
		return 0;
	}
	return -1;
}

int
synsig_parse_layout(const char *text, size_t len, uint8_t *layout,
    int *layout_len, int *eol_pad, const char **why)
{
	const char *end = text + len, *comma;
	long pad;

	*layout_len = 0;
	*eol_pad = 0;
	while (text < end) {
		comma = memchr(text, ',', (size_t)(end - text));
		if (comma == NULL)
			comma = end;
		if (*layout_len >= SYNSIG_OPTIONS_MAX) {
			*why = "too many TCP options";
			return -1;
		}
		if (comma - text > 4 && memcmp(text, "eol+", 4) == 0) {
			if (comma != end) {
				*why = "eol is not the last option";
				return -1;
			}
			if (parse_number(text + 4, (size_t)(comma - text - 4),
				255, &pad) < 0) {
				*why = "invalid eol padding";
				return -1;
			}
			*eol_pad = (int)pad;
			layout[(*layout_len)++] = TCPOPT_KIND_EOL;
		} else if (parse_option(text, (size_t)(comma - text),
			       &layout[*layout_len]) == 0) {
			(*layout_len)++;
		} else {
			*why = "unknown TCP option name";
			return -1;
		}
		text = comma + 1;
		if (comma + 1 == end) {
			*why = "empty TCP option name";
			return -1;
		}
	}
	return 0;
}

int
synsig_parse_quirks(
    const char *text, size_t len, uint32_t *quirks, const char **why)
{
	const char *end = text + len, *comma;
	size_t i, n;

	*quirks = 0;
	while (text < end) {
		comma = memchr(text, ',', (size_t)(end - text));
		if (comma == NULL)
			comma = end;
		n = (size_t)(comma - text);
		for (i = 0; i < sizeof(quirk_names) / sizeof(quirk_names[0]);
		     i++)
			if (strlen(quirk_names[i].name) == n &&
			    memcmp(quirk_names[i].name, text, n) == 0)
				break;
		if (i == sizeof(quirk_names) / sizeof(quirk_names[0])) {
			*why = "unknown quirk";
			return -1;
		}
		*quirks |= quirk_names[i].bit;
		text = comma + 1;
		if (comma + 1 == end) {
			*why = "empty quirk";
			return -1;
		}
	}
	return 0;
}

int
synsig_split(
    const char *text, size_t len, const char *field[8], size_t field_len[8])
{
	const char *end = text + len, *colon;
	int i;

	for (i = 0; i < 8; i++) {
		colon = memchr(text, ':', (size_t)(end - text));
		field[i] = text;
		if (i == 7) {
			field_len[i] = (size_t)(end - text);
			return colon == NULL ? 0 : -1;
		}
		if (colon == NULL)
			return -1;
		field_len[i] = (size_t)(colon - text);
		text = colon + 1;
	}
	return -1;
}

/*
 * Option bytes implied by a layout, or -1 if a length is unknown.  A
 * walk without the "bad" quirk ended exactly at the data offset.
 */
static int
layout_bytes(const struct synsig *sig)
{
	int i, n = 0, size;

	if (sig->quirks & QUIRK_OPT_BAD)
		return -1;
	for (i = 0; i < sig->layout_len; i++) {
		if (sig->layout[i] == TCPOPT_KIND_EOL)
			return n + 1 + sig->eol_pad;
		if (sig->layout[i] == TCPOPT_KIND_NOP)
			n++;
		else if ((size = option_fixed_size(sig->layout[i])) > 0)
			n += size;
		else
			return -1;
	}
	return n;
}

static int
parse_ttl(const char *text, size_t len, struct synsig *sig)
{
	const char *plus = memchr(text, '+', len);
	long ttl, distance;

	if (plus == NULL ||
	    parse_number(text, (size_t)(plus - text), 255, &ttl) < 0)
		return -1;
	sig->ttl = (int)ttl;
	sig->ittl = synsig_guess_ittl(sig->ttl);
	len -= (size_t)(plus - text) + 1;
	/* p0f writes '?' only when the distance is past its limit. */
	if (len == 1 && plus[1] == '?')
		return sig->ittl - sig->ttl > SYNSIG_DISTANCE_MAX ? 0 : -1;
	/* The distance is redundant, but it must agree with the guess. */
	if (parse_number(plus + 1, len, SYNSIG_DISTANCE_MAX, &distance) < 0 ||
	    distance != sig->ittl - sig->ttl)
		return -1;
	return 0;
}

int
synsig_parse(const char *text, struct synsig *sig, const char **why)
{
	const char *f[8], *comma;
	size_t flen[8];
	long v, mss, window, scale;
	int opt_bytes;

	memset(sig, 0, sizeof(*sig));
	if (synsig_split(text, strlen(text), f, flen) < 0) {
		*why = "signature does not have 8 fields";
		return -1;
	}
	if (flen[0] != 1 || (f[0][0] != '4' && f[0][0] != '6')) {
		*why = "IP version neither 4 nor 6";
		return -1;
	}
	sig->version = f[0][0] - '0';
	if (parse_ttl(f[1], flen[1], sig) < 0) {
		*why = "invalid TTL, expected TTL+distance";
		return -1;
	}
	if (parse_number(f[2], flen[2], 40, &v) < 0 ||
	    (sig->version == 6 && v != 0)) {
		*why = "invalid IP options length";
		return -1;
	}
	sig->ip_opt_len = (int)v;
	comma = memchr(f[4], ',', flen[4]);
	if (parse_number(f[3], flen[3], 65535, &mss) < 0 || comma == NULL ||
	    parse_number(f[4], (size_t)(comma - f[4]), 65535, &window) < 0 ||
	    parse_number(comma + 1, flen[4] - (size_t)(comma - f[4]) - 1, 255,
		&scale) < 0) {
		*why = "invalid MSS, window or window scale";
		return -1;
	}
	sig->mss = (int)mss;
	sig->window = (int)window;
	sig->wscale = (int)scale;
	if (synsig_parse_layout(f[5], flen[5], sig->layout, &sig->layout_len,
		&sig->eol_pad, why) < 0 ||
	    synsig_parse_quirks(f[6], flen[6], &sig->quirks, why) < 0)
		return -1;
	if (sig->quirks &
	    (sig->version == 4 ? QUIRKS_IPV6_ONLY : QUIRKS_IPV4_ONLY)) {
		*why = "quirk not valid for this IP version";
		return -1;
	}
	if (flen[7] != 1 || (f[7][0] != '0' && f[7][0] != '+')) {
		*why = "payload class neither 0 nor +";
		return -1;
	}
	sig->payload = f[7][0] == '+';

	/*
	 * The text keeps no timestamp value, only whether it was zero,
	 * which is all the window rules use.  The header length is known
	 * only when every option in the layout has a fixed size.
	 */
	if (memchr(sig->layout, TCPOPT_KIND_TS, (size_t)sig->layout_len) &&
	    !(sig->quirks & QUIRK_ZERO_TS1))
		sig->ts1 = 1;
	if ((opt_bytes = layout_bytes(sig)) >= 0)
		sig->header_len =
		    (sig->version == 4 ? MIN_TCP4 + sig->ip_opt_len
				       : MIN_TCP6) +
		    opt_bytes;
	return 0;
}
