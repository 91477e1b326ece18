/*
 * PROXY protocol v1 and v2 parser and formatters.  The v2 headers are
 * written out byte by byte from HAProxy's specification, so that the
 * parser and the formatter are each checked against it, not only
 * against each other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "spampot_limits.h"
#include "proxyproto.h"

#define SIG                                                                    \
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a

static int
parse(const void *buf, size_t len, struct proxy_header *h, size_t *used)
{
	const char *why = NULL;
	int r;

	r = proxyproto_parse(buf, len, h, used, &why);
	if (r == PARSE_ERROR)
		assert_non_null(why);
	return r;
}

/* Every strict prefix must be PARSE_MORE and the whole PARSE_OK. */
static void
parse_bytewise(const void *buf, size_t len, struct proxy_header *h)
{
	size_t used = 0, i;

	for (i = 0; i < len; i++)
		assert_int_equal(parse(buf, i, h, &used), PARSE_MORE);
	assert_int_equal(parse(buf, len, h, &used), PARSE_OK);
	assert_int_equal(used, len);
}

static void
assert_inet(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char text[INET_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET);
	inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	assert_string_equal(text, addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void
assert_inet6(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET6);
	inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
	assert_string_equal(text, addr);
	assert_int_equal(ntohs(sin6->sin6_port), port);
}

static void
v1_tcp4_bytewise(void **state)
{
	static const char hdr[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	struct proxy_header h;

	(void)state;
	parse_bytewise(hdr, strlen(hdr), &h);
	assert_int_equal(h.version, 1);
	assert_false(h.local);
	assert_inet(&h.src, "192.0.2.1", 56324);
	assert_inet(&h.dst, "198.51.100.2", 25);
}

static void
v1_tcp6_with_payload(void **state)
{
	static const char buf[] =
	    "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\nEHLO x\r\n";
	struct proxy_header h;
	size_t used = 0;

	(void)state;
	assert_int_equal(parse(buf, strlen(buf), &h, &used), PARSE_OK);
	assert_int_equal(used, strlen(buf) - strlen("EHLO x\r\n"));
	assert_inet6(&h.src, "2001:db8::1", 0);
	assert_inet6(&h.dst, "2001:db8::2", 65535);
}

static void
v1_unknown(void **state)
{
	static const char bare[] = "PROXY UNKNOWN\r\n";
	static const char with_rest[] =
	    "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
	struct proxy_header h;
	size_t used = 0;

	(void)state;
	parse_bytewise(bare, strlen(bare), &h);
	assert_int_equal(h.version, 1);
	assert_true(h.local);

	/* After UNKNOWN, the receiver must ignore the rest of the line. */
	assert_int_equal(
	    parse(with_rest, strlen(with_rest), &h, &used), PARSE_OK);
	assert_true(h.local);
	assert_int_equal(used, strlen(with_rest));
}

static void
v1_longest_accepted(void **state)
{
	/* The longest TCP6 header; only UNKNOWN can fill all 107 bytes. */
	static const char hdr[] =
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	char unknown[PROXY_V1_MAX + 1];
	struct proxy_header h;
	size_t used = 0;

	(void)state;
	assert_int_equal(strlen(hdr), PROXY_V1_MAX - 3);
	parse_bytewise(hdr, strlen(hdr), &h);

	memset(unknown, 'x', sizeof(unknown));
	memcpy(unknown, "PROXY UNKNOWN ", 14);
	memcpy(unknown + PROXY_V1_MAX - 2, "\r\n", 2);
	assert_int_equal(parse(unknown, PROXY_V1_MAX, &h, &used), PARSE_OK);
	assert_int_equal(used, PROXY_V1_MAX);

	/* One byte more and the CRLF falls past the limit. */
	memset(unknown, 'x', sizeof(unknown));
	memcpy(unknown, "PROXY UNKNOWN ", 14);
	memcpy(unknown + PROXY_V1_MAX - 1, "\r\n", 2);
	assert_int_equal(
	    parse(unknown, PROXY_V1_MAX - 1, &h, &used), PARSE_MORE);
	assert_int_equal(parse(unknown, PROXY_V1_MAX, &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse(unknown, PROXY_V1_MAX + 1, &h, &used), PARSE_ERROR);
}

static void
v1_malformed(void **state)
{
	static const char *const bad[] = {
	    "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n",
	    "PROXY TCP4 192.0.2.1  198.51.100.2 1 2\r\n",
	    "PROXY TCP4 192.0.2.256 198.51.100.2 1 2\r\n",
	    "PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",
	    "PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 65536 2\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 01 2\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 -1 2\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 \r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n",
	    "PROXY TCP4\r\n",
	    "PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n",
	    "PROXY tcp4 192.0.2.1 198.51.100.2 1 2\r\n",
	    "PROXY  TCP4 192.0.2.1 198.51.100.2 1 2\r\n",
	    "PROXY\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\rX\r\n",
	};
	struct proxy_header h;
	size_t used = 0, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], strlen(bad[i]), &h, &used) != PARSE_ERROR)
			fail_msg(
			    "accepted malformed header %zu: %s", i, bad[i]);
	}
}

static void
v1_junk_rejected_early(void **state)
{
	struct proxy_header h;
	size_t used = 0;

	(void)state;
	/* Not a header at all: known from the first byte that differs. */
	assert_int_equal(parse("EHLO", 4, &h, &used), PARSE_ERROR);
	assert_int_equal(parse("PROXZ", 5, &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse("GET / HTTP/1.1\r\n", 16, &h, &used), PARSE_ERROR);
	/* A character no address can hold, long before 107 bytes. */
	assert_int_equal(
	    parse("PROXY TCP4 1.2.3.4/", 19, &h, &used), PARSE_ERROR);
	assert_int_equal(parse("PROXY TCPX", 10, &h, &used), PARSE_ERROR);
	/* Still possible prefixes. */
	assert_int_equal(parse("PROX", 4, &h, &used), PARSE_MORE);
	assert_int_equal(
	    parse("PROXY TCP4 1.2.3.4 ", 19, &h, &used), PARSE_MORE);
	assert_int_equal(parse("PROXY UNK", 9, &h, &used), PARSE_MORE);
}

static void
v2_tcp4_bytewise(void **state)
{
	static const uint8_t hdr[] = {SIG, 0x21, 0x11, 0x00, 0x0c, 192, 0, 2, 1,
	    198, 51, 100, 2, 0xdc, 0x04, 0x00, 0x19};
	struct proxy_header h;

	(void)state;
	parse_bytewise(hdr, sizeof(hdr), &h);
	assert_int_equal(h.version, 2);
	assert_false(h.local);
	assert_inet(&h.src, "192.0.2.1", 56324);
	assert_inet(&h.dst, "198.51.100.2", 25);
}

static void
v2_tcp6_with_tlvs(void **state)
{
	uint8_t hdr[16 + 36 + 7 + 4];
	struct proxy_header h;
	size_t off = 0;

	(void)state;
	memcpy(hdr, (uint8_t[]){SIG, 0x21, 0x21, 0x00, 36 + 7 + 4}, 16);
	off = 16;
	inet_pton(AF_INET6, "2001:db8::1", hdr + off);
	inet_pton(AF_INET6, "2001:db8::2", hdr + off + 16);
	hdr[off + 32] = 0x30;
	hdr[off + 33] = 0x39;
	hdr[off + 34] = 0x01;
	hdr[off + 35] = 0xbb;
	off += 36;
	/* PP2_TYPE_AUTHORITY "abcd", then an empty PP2_TYPE_NOOP. */
	memcpy(hdr + off, (uint8_t[]){0x02, 0x00, 0x04, 'a', 'b', 'c', 'd'}, 7);
	off += 7;
	memcpy(hdr + off, (uint8_t[]){0x04, 0x00, 0x01, 0x00}, 4);
	off += 4;
	assert_int_equal(off, sizeof(hdr));

	parse_bytewise(hdr, sizeof(hdr), &h);
	assert_inet6(&h.src, "2001:db8::1", 12345);
	assert_inet6(&h.dst, "2001:db8::2", 443);
}

static void
v2_local_and_unspec(void **state)
{
	/* LOCAL with leftover bytes: they are skipped, addresses ignored. */
	static const uint8_t local[] = {SIG, 0x20, 0x00, 0x00, 0x03, 1, 2, 3};
	static const uint8_t unspec[] = {SIG, 0x21, 0x00, 0x00, 0x00};
	struct proxy_header h;

	(void)state;
	parse_bytewise(local, sizeof(local), &h);
	assert_true(h.local);
	assert_int_equal(h.version, 2);
	parse_bytewise(unspec, sizeof(unspec), &h);
	assert_true(h.local);
}

static void
v2_lying_lengths(void **state)
{
	/* Length 8 cannot hold two IPv4 addresses and two ports. */
	static const uint8_t short4[] = {
	    SIG, 0x21, 0x11, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
	/* A TLV that claims 200 bytes where 2 remain. */
	static const uint8_t long_tlv[] = {SIG, 0x21, 0x11, 0x00, 0x11, 1, 2, 3,
	    4, 5, 6, 7, 8, 0, 1, 0, 2, 0x02, 0x00, 0xc8, 'a', 'b'};
	/* Two bytes after the addresses: too few for a TLV header. */
	static const uint8_t stub_tlv[] = {SIG, 0x21, 0x11, 0x00, 0x0e, 1, 2, 3,
	    4, 5, 6, 7, 8, 0, 1, 0, 2, 0x02, 0x00};
	struct proxy_header h;
	size_t used = 0;

	(void)state;
	assert_int_equal(parse(short4, sizeof(short4), &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse(long_tlv, sizeof(long_tlv), &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse(stub_tlv, sizeof(stub_tlv), &h, &used), PARSE_ERROR);
}

static void
v2_length_over_limit(void **state)
{
	uint8_t hdr[16] = {SIG, 0x21, 0x11, 0, 0};
	size_t blen = PROXY_V2_MAX - 16, used = 0;
	struct proxy_header h;
	uint8_t *big;

	(void)state;
	/* The announced length alone decides, before any body arrives. */
	hdr[14] = (uint8_t)((blen + 1) >> 8);
	hdr[15] = (uint8_t)((blen + 1) & 0xff);
	assert_int_equal(parse(hdr, 16, &h, &used), PARSE_ERROR);
	hdr[14] = 0xff;
	hdr[15] = 0xff;
	assert_int_equal(parse(hdr, 16, &h, &used), PARSE_ERROR);

	/* Exactly at the limit: waits, then parses with one big TLV. */
	big = calloc(1, PROXY_V2_MAX);

	assert_non_null(big);
	memcpy(big, hdr, 14);
	big[14] = (uint8_t)(blen >> 8);
	big[15] = (uint8_t)(blen & 0xff);
	big[16 + 12] = 0x04;
	big[16 + 13] = (uint8_t)((blen - 15) >> 8);
	big[16 + 14] = (uint8_t)((blen - 15) & 0xff);
	assert_int_equal(parse(big, PROXY_V2_MAX - 1, &h, &used), PARSE_MORE);
	assert_int_equal(parse(big, PROXY_V2_MAX, &h, &used), PARSE_OK);
	assert_int_equal(used, PROXY_V2_MAX);
	free(big);
}

static void
v2_bad_fixed_fields(void **state)
{
	static const uint8_t version1[] = {SIG, 0x11, 0x11, 0x00, 0x0c};
	static const uint8_t command2[] = {SIG, 0x22, 0x11, 0x00, 0x0c};
	static const uint8_t dgram[] = {
	    SIG, 0x21, 0x12, 0x00, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
	static const uint8_t unix_stream[] = {SIG, 0x21, 0x31, 0x00, 0x00};
	static const uint8_t bad_sig[] = {
	    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x55};
	struct proxy_header h;
	size_t used = 0;

	(void)state;
	/* Version and command are judged as soon as their byte arrives. */
	assert_int_equal(parse(version1, 13, &h, &used), PARSE_ERROR);
	assert_int_equal(parse(command2, 13, &h, &used), PARSE_ERROR);
	assert_int_equal(parse(dgram, sizeof(dgram), &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse(unix_stream, sizeof(unix_stream), &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse(bad_sig, sizeof(bad_sig), &h, &used), PARSE_ERROR);
	assert_int_equal(
	    parse(bad_sig, sizeof(bad_sig) - 1, &h, &used), PARSE_MORE);
}

static void
set_sin(struct sockaddr_in *sin, const char *addr, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sin->sin_addr);
}

static void
set_sin6(struct sockaddr_in6 *sin6, const char *addr, int port)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, addr, &sin6->sin6_addr);
}

static void
format_v1_families(void **state)
{
	struct sockaddr_in a, b;
	struct sockaddr_in6 c, d;
	struct sockaddr_storage un;
	char out[PROXY_V1_MAX];

	(void)state;
	set_sin(&a, "192.0.2.1", 1234);
	set_sin(&b, "198.51.100.2", 25);
	set_sin6(&c, "2001:db8::1", 4321);
	set_sin6(&d, "2001:db8::2", 587);
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;

	assert_int_equal(proxyproto_format_v1(out, sizeof(out),
			     (struct sockaddr *)&a, (struct sockaddr *)&b),
	    strlen("PROXY TCP4 192.0.2.1 198.51.100.2 1234 25\r\n"));
	assert_string_equal(
	    out, "PROXY TCP4 192.0.2.1 198.51.100.2 1234 25\r\n");

	proxyproto_format_v1(
	    out, sizeof(out), (struct sockaddr *)&c, (struct sockaddr *)&d);
	assert_string_equal(
	    out, "PROXY TCP6 2001:db8::1 2001:db8::2 4321 587\r\n");

	/* Mixed families: the IPv4 side is mapped into IPv6. */
	proxyproto_format_v1(
	    out, sizeof(out), (struct sockaddr *)&a, (struct sockaddr *)&d);
	assert_string_equal(
	    out, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1234 587\r\n");

	proxyproto_format_v1(
	    out, sizeof(out), (struct sockaddr *)&un, (struct sockaddr *)&b);
	assert_string_equal(out, "PROXY UNKNOWN\r\n");

	/* Too small a buffer yields 0, not a cut header. */
	assert_int_equal(proxyproto_format_v1(out, 20, (struct sockaddr *)&a,
			     (struct sockaddr *)&b),
	    0);
}

static void
format_v2_bytes(void **state)
{
	static const uint8_t want4[] = {SIG, 0x21, 0x11, 0x00, 0x0c, 192, 0, 2,
	    1, 198, 51, 100, 2, 0x04, 0xd2, 0x00, 0x19};
	static const uint8_t want_local[] = {SIG, 0x20, 0x00, 0x00, 0x00};
	struct sockaddr_in a, b;
	struct sockaddr_in6 c, d;
	struct sockaddr_storage un;
	uint8_t out[64];

	(void)state;
	set_sin(&a, "192.0.2.1", 1234);
	set_sin(&b, "198.51.100.2", 25);
	set_sin6(&c, "2001:db8::1", 4321);
	set_sin6(&d, "2001:db8::2", 587);
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;

	assert_int_equal(proxyproto_format_v2(out, sizeof(out),
			     (struct sockaddr *)&a, (struct sockaddr *)&b),
	    sizeof(want4));
	assert_memory_equal(out, want4, sizeof(want4));

	assert_int_equal(proxyproto_format_v2(out, sizeof(out),
			     (struct sockaddr *)&c, (struct sockaddr *)&d),
	    52);
	assert_memory_equal(
	    out, ((uint8_t[]){SIG, 0x21, 0x21, 0x00, 0x24}), 16);
	assert_memory_equal(out + 16, &c.sin6_addr, 16);
	assert_memory_equal(out + 32, &d.sin6_addr, 16);
	assert_memory_equal(out + 48, ((uint8_t[]){0x10, 0xe1, 0x02, 0x4b}), 4);

	assert_int_equal(proxyproto_format_v2(out, sizeof(out),
			     (struct sockaddr *)&un, (struct sockaddr *)&b),
	    sizeof(want_local));
	assert_memory_equal(out, want_local, sizeof(want_local));

	assert_int_equal(proxyproto_format_v2(out, 51, (struct sockaddr *)&c,
			     (struct sockaddr *)&d),
	    0);
}

static void
format_then_parse_round_trip(void **state)
{
	struct sockaddr_in6 c, d;
	struct proxy_header h;
	char text[PROXY_V1_MAX];
	uint8_t bin[64];
	size_t n, used = 0;

	(void)state;
	set_sin6(&c, "2001:db8::a", 40000);
	set_sin6(&d, "::1", 2525);
	n = proxyproto_format_v1(
	    text, sizeof(text), (struct sockaddr *)&c, (struct sockaddr *)&d);
	assert_int_equal(parse(text, n, &h, &used), PARSE_OK);
	assert_inet6(&h.src, "2001:db8::a", 40000);
	assert_inet6(&h.dst, "::1", 2525);

	n = proxyproto_format_v2(
	    bin, sizeof(bin), (struct sockaddr *)&c, (struct sockaddr *)&d);
	assert_int_equal(parse(bin, n, &h, &used), PARSE_OK);
	assert_int_equal(used, n);
	assert_inet6(&h.src, "2001:db8::a", 40000);
	assert_inet6(&h.dst, "::1", 2525);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(v1_tcp4_bytewise),
	    cmocka_unit_test(v1_tcp6_with_payload),
	    cmocka_unit_test(v1_unknown),
	    cmocka_unit_test(v1_longest_accepted),
	    cmocka_unit_test(v1_malformed),
	    cmocka_unit_test(v1_junk_rejected_early),
	    cmocka_unit_test(v2_tcp4_bytewise),
	    cmocka_unit_test(v2_tcp6_with_tlvs),
	    cmocka_unit_test(v2_local_and_unspec),
	    cmocka_unit_test(v2_lying_lengths),
	    cmocka_unit_test(v2_length_over_limit),
	    cmocka_unit_test(v2_bad_fixed_fields),
	    cmocka_unit_test(format_v1_families),
	    cmocka_unit_test(format_v2_bytes),
	    cmocka_unit_test(format_then_parse_round_trip),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
