/*
 * SOCKS4, SOCKS4a and SOCKS5 parsers and replies.  Wire bytes are
 * written out by hand from RFC 1928, RFC 1929 and the SOCKS4 and
 * SOCKS4a protocol documents, not produced by the code under test.
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

#include "socks.h"

typedef int (*request_parser)(
    const uint8_t *, size_t, struct socks_request *, size_t *, const char **);

/*
 * Feed msg one byte more at a time: every strict prefix must return
 * PARSE_MORE and the whole message PARSE_OK using all of it.
 */
static void
feed_request_bytewise(request_parser parse, const uint8_t *msg, size_t len,
    struct socks_request *out)
{
	const char *why = NULL;
	size_t used = 0, i;

	for (i = 0; i < len; i++)
		assert_int_equal(parse(msg, i, out, &used, &why), PARSE_MORE);
	assert_int_equal(parse(msg, len, out, &used, &why), PARSE_OK);
	assert_int_equal(used, len);
}

static void
socks4_connect_ipv4(void **state)
{
	/* CONNECT 192.0.2.7:25, user id "bob". */
	static const uint8_t msg[] = {
	    4, 1, 0, 25, 192, 0, 2, 7, 'b', 'o', 'b', 0};
	struct socks_request req;

	(void)state;
	feed_request_bytewise(socks4_parse_request, msg, sizeof(msg), &req);
	assert_int_equal(req.version, 4);
	assert_int_equal(req.command, SOCKS_CONNECT);
	assert_int_equal(req.atyp, SOCKS_ATYP_IPV4);
	assert_int_equal(req.port, 25);
	assert_memory_equal(req.addr, ((uint8_t[]){192, 0, 2, 7}), 4);
	assert_string_equal(req.host, "192.0.2.7");
	assert_string_equal(req.user, "bob");
	assert_int_equal(req.user_len, 3);
}

static void
socks4_empty_user_and_trailing_bytes(void **state)
{
	/* BIND with no user id, then the first bytes of the payload. */
	static const uint8_t msg[] = {
	    4, 2, 0x1f, 0x90, 10, 1, 2, 3, 0, 'E', 'H', 'L', 'O'};
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks4_parse_request(msg, sizeof(msg), &req, &used, &why),
	    PARSE_OK);
	assert_int_equal(used, 9);
	assert_int_equal(req.command, SOCKS_BIND);
	assert_int_equal(req.port, 8080);
	assert_string_equal(req.host, "10.1.2.3");
	assert_int_equal(req.user_len, 0);
	assert_string_equal(req.user, "");
}

static void
socks4a_host_name(void **state)
{
	/* DSTIP 0.0.0.1 announces a host name after the user id. */
	static const uint8_t msg[] = {4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 'e', 'x',
	    'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0};
	struct socks_request req;

	(void)state;
	feed_request_bytewise(socks4_parse_request, msg, sizeof(msg), &req);
	assert_int_equal(req.atyp, SOCKS_ATYP_DOMAIN);
	assert_string_equal(req.host, "example.com");
	assert_int_equal(req.port, 80);
	assert_string_equal(req.user, "u");
}

static void
socks4_ip_zero_is_not_socks4a(void **state)
{
	/* 0.0.0.0 is a plain (if useless) SOCKS4 address: no host follows. */
	static const uint8_t msg[] = {4, 1, 0, 80, 0, 0, 0, 0, 0};
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks4_parse_request(msg, sizeof(msg), &req, &used, &why),
	    PARSE_OK);
	assert_int_equal(used, sizeof(msg));
	assert_int_equal(req.atyp, SOCKS_ATYP_IPV4);
	assert_string_equal(req.host, "0.0.0.0");
}

static void
socks4_wrong_version(void **state)
{
	static const uint8_t msg[] = {5};
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks4_parse_request(msg, 1, &req, &used, &why), PARSE_ERROR);
	assert_non_null(why);
}

/* A NUL-terminated field of n non-NUL bytes after an 8-byte header. */
static size_t
build_socks4(uint8_t *buf, const uint8_t ip[4], size_t user_n, size_t host_n,
    int terminate_host)
{
	size_t off = 0;

	buf[off++] = 4;
	buf[off++] = 1;
	buf[off++] = 0;
	buf[off++] = 80;
	memcpy(buf + off, ip, 4);
	off += 4;
	memset(buf + off, 'u', user_n);
	off += user_n;
	buf[off++] = 0;
	if (host_n > 0) {
		memset(buf + off, 'h', host_n);
		off += host_n;
		if (terminate_host)
			buf[off++] = 0;
	}
	return off;
}

static void
socks4_user_id_bounds(void **state)
{
	static const uint8_t ip[4] = {192, 0, 2, 1};
	uint8_t buf[600];
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0, len;

	(void)state;
	/* SOCKS_FIELD_MAX bytes and the NUL: accepted. */
	len = build_socks4(buf, ip, SOCKS_FIELD_MAX, 0, 0);
	assert_int_equal(
	    socks4_parse_request(buf, len, &req, &used, &why), PARSE_OK);
	assert_int_equal(req.user_len, SOCKS_FIELD_MAX);
	assert_int_equal(strlen(req.user), SOCKS_FIELD_MAX);

	/* One more byte and no NUL in sight: rejected without waiting. */
	len = build_socks4(buf, ip, SOCKS_FIELD_MAX + 1, 0, 0);
	assert_int_equal(
	    socks4_parse_request(buf, len - 1, &req, &used, &why), PARSE_ERROR);
	assert_non_null(why);

	/* A long run without a NUL that has not reached the bound waits. */
	assert_int_equal(
	    socks4_parse_request(buf, 8 + SOCKS_FIELD_MAX, &req, &used, &why),
	    PARSE_MORE);
}

static void
socks4a_host_bounds(void **state)
{
	static const uint8_t ip[4] = {0, 0, 0, 9};
	uint8_t buf[600];
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0, len;

	(void)state;
	len = build_socks4(buf, ip, 1, SOCKS_FIELD_MAX, 1);
	assert_int_equal(
	    socks4_parse_request(buf, len, &req, &used, &why), PARSE_OK);
	assert_int_equal(strlen(req.host), SOCKS_FIELD_MAX);
	assert_int_equal(used, len);

	len = build_socks4(buf, ip, 1, SOCKS_FIELD_MAX + 1, 0);
	assert_int_equal(
	    socks4_parse_request(buf, len, &req, &used, &why), PARSE_ERROR);

	/* An empty host name names nothing to connect to. */
	len = build_socks4(buf, ip, 1, 0, 0);
	buf[len++] = 0;
	assert_int_equal(
	    socks4_parse_request(buf, len, &req, &used, &why), PARSE_ERROR);
}

static void
socks5_greeting_bytewise(void **state)
{
	static const uint8_t msg[] = {5, 2, 0x00, 0x02};
	struct socks5_greeting g;
	const char *why = NULL;
	size_t used = 0, i;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		assert_int_equal(
		    socks5_parse_greeting(msg, i, &g, &used, &why), PARSE_MORE);
	assert_int_equal(
	    socks5_parse_greeting(msg, sizeof(msg), &g, &used, &why), PARSE_OK);
	assert_int_equal(used, 4);
	assert_int_equal(g.nmethods, 2);
	assert_int_equal(g.methods[0], SOCKS5_METHOD_NONE);
	assert_int_equal(g.methods[1], SOCKS5_METHOD_USERPASS);
}

static void
socks5_greeting_all_methods(void **state)
{
	uint8_t msg[2 + 255];
	struct socks5_greeting g;
	const char *why = NULL;
	size_t used = 0;
	int i;

	(void)state;
	msg[0] = 5;
	msg[1] = 255;
	for (i = 0; i < 255; i++)
		msg[2 + i] = (uint8_t)(i + 1);
	assert_int_equal(
	    socks5_parse_greeting(msg, sizeof(msg) - 1, &g, &used, &why),
	    PARSE_MORE);
	assert_int_equal(
	    socks5_parse_greeting(msg, sizeof(msg), &g, &used, &why), PARSE_OK);
	assert_int_equal(g.nmethods, 255);
	assert_int_equal(g.methods[254], 255);
	assert_int_equal(used, sizeof(msg));
}

static void
socks5_greeting_malformed(void **state)
{
	static const uint8_t socks4[] = {4, 1};
	static const uint8_t none[] = {5, 0};
	static const uint8_t http[] = {'G', 'E', 'T'};
	struct socks5_greeting g;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks5_parse_greeting(socks4, 2, &g, &used, &why), PARSE_ERROR);
	why = NULL;
	assert_int_equal(
	    socks5_parse_greeting(none, 2, &g, &used, &why), PARSE_ERROR);
	assert_non_null(why);
	assert_int_equal(
	    socks5_parse_greeting(http, 1, &g, &used, &why), PARSE_ERROR);
}

static void
socks5_method_choice(void **state)
{
	struct socks5_greeting g;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.nmethods = 3;
	g.methods[0] = 0x02;
	g.methods[1] = 0x01;
	g.methods[2] = 0x00;
	assert_int_equal(socks5_choose_method(&g), SOCKS5_METHOD_NONE);

	g.methods[2] = 0x80;
	assert_int_equal(socks5_choose_method(&g), SOCKS5_METHOD_USERPASS);

	g.nmethods = 1;
	g.methods[0] = 0x01; /* GSSAPI only */
	assert_int_equal(socks5_choose_method(&g), SOCKS5_METHOD_UNACCEPTABLE);
}

static void
socks5_auth_bytewise(void **state)
{
	static const uint8_t msg[] = {
	    1, 5, 'a', 'd', 'm', 'i', 'n', 3, 'p', 0, 'w'};
	struct socks5_auth a;
	const char *why = NULL;
	size_t used = 0, i;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		assert_int_equal(
		    socks5_parse_auth(msg, i, &a, &used, &why), PARSE_MORE);
	assert_int_equal(
	    socks5_parse_auth(msg, sizeof(msg), &a, &used, &why), PARSE_OK);
	assert_int_equal(used, sizeof(msg));
	assert_int_equal(a.user_len, 5);
	assert_string_equal(a.user, "admin");
	/* A password may hold NUL; pass_len gives its end. */
	assert_int_equal(a.pass_len, 3);
	assert_memory_equal(a.pass, "p\0w", 4);
}

static void
socks5_auth_longest_and_empty(void **state)
{
	uint8_t msg[3 + 2 * 255];
	struct socks5_auth a;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	msg[0] = 1;
	msg[1] = 255;
	memset(msg + 2, 'u', 255);
	msg[257] = 255;
	memset(msg + 258, 'p', 255);
	assert_int_equal(
	    socks5_parse_auth(msg, sizeof(msg), &a, &used, &why), PARSE_OK);
	assert_int_equal(a.user_len, 255);
	assert_int_equal(a.pass_len, 255);
	assert_int_equal(a.user[255], '\0');
	assert_int_equal(a.pass[255], '\0');
	assert_int_equal(used, sizeof(msg));

	msg[1] = 0;
	msg[2] = 0;
	assert_int_equal(socks5_parse_auth(msg, 3, &a, &used, &why), PARSE_OK);
	assert_int_equal(a.user_len, 0);
	assert_int_equal(a.pass_len, 0);
	assert_int_equal(used, 3);
}

static void
socks5_auth_wrong_version(void **state)
{
	static const uint8_t msg[] = {5, 1, 'a', 1, 'b'};
	struct socks5_auth a;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks5_parse_auth(msg, sizeof(msg), &a, &used, &why), PARSE_ERROR);
	assert_non_null(why);
}

static void
socks5_request_ipv4(void **state)
{
	static const uint8_t msg[] = {5, 1, 0, 1, 198, 51, 100, 4, 0x01, 0xbb};
	struct socks_request req;

	(void)state;
	feed_request_bytewise(socks5_parse_request, msg, sizeof(msg), &req);
	assert_int_equal(req.version, 5);
	assert_int_equal(req.command, SOCKS_CONNECT);
	assert_int_equal(req.atyp, SOCKS_ATYP_IPV4);
	assert_string_equal(req.host, "198.51.100.4");
	assert_int_equal(req.port, 443);
}

static void
socks5_request_domain(void **state)
{
	static const uint8_t msg[] = {5, 1, 0, 3, 14, 'm', 'x', '.', 'e', 'x',
	    'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0, 25};
	struct socks_request req;

	(void)state;
	feed_request_bytewise(socks5_parse_request, msg, sizeof(msg), &req);
	assert_int_equal(req.atyp, SOCKS_ATYP_DOMAIN);
	assert_string_equal(req.host, "mx.example.org");
	assert_int_equal(req.port, 25);
}

static void
socks5_request_ipv6(void **state)
{
	static const uint8_t msg[] = {5, 3, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x35};
	struct socks_request req;

	(void)state;
	feed_request_bytewise(socks5_parse_request, msg, sizeof(msg), &req);
	assert_int_equal(req.command, SOCKS_UDP_ASSOCIATE);
	assert_int_equal(req.atyp, SOCKS_ATYP_IPV6);
	assert_memory_equal(req.addr, msg + 4, 16);
	assert_string_equal(req.host, "2001:db8::1");
	assert_int_equal(req.port, 53);
}

static void
socks5_request_longest_domain(void **state)
{
	uint8_t msg[4 + 1 + 255 + 2];
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	msg[0] = 5;
	msg[1] = 1;
	msg[2] = 0;
	msg[3] = 3;
	msg[4] = 255;
	memset(msg + 5, 'a', 255);
	msg[260] = 0;
	msg[261] = 80;
	assert_int_equal(
	    socks5_parse_request(msg, sizeof(msg) - 1, &req, &used, &why),
	    PARSE_MORE);
	assert_int_equal(
	    socks5_parse_request(msg, sizeof(msg), &req, &used, &why),
	    PARSE_OK);
	assert_int_equal(strlen(req.host), 255);
	assert_int_equal(used, sizeof(msg));
}

static void
socks5_request_malformed(void **state)
{
	static const uint8_t bad_version[] = {4, 1, 0, 1};
	static const uint8_t bad_atyp[] = {5, 1, 0, 2, 1, 2, 3, 4, 0, 80};
	static const uint8_t empty_host[] = {5, 1, 0, 3, 0, 0, 80};
	static const uint8_t nul_host[] = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80};
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks5_parse_request(bad_version, 1, &req, &used, &why),
	    PARSE_ERROR);

	/* An unknown type is reported at once, with the type for a reply. */
	why = NULL;
	assert_int_equal(
	    socks5_parse_request(bad_atyp, 4, &req, &used, &why), PARSE_ERROR);
	assert_non_null(why);
	assert_int_equal(req.atyp, 2);
	assert_int_equal(req.command, SOCKS_CONNECT);

	assert_int_equal(socks5_parse_request(
			     empty_host, sizeof(empty_host), &req, &used, &why),
	    PARSE_ERROR);
	assert_int_equal(
	    socks5_parse_request(nul_host, sizeof(nul_host), &req, &used, &why),
	    PARSE_ERROR);
}

static void
socks5_request_unknown_command_parsed(void **state)
{
	/* Command 9 does not exist; the caller replies 0x07. */
	static const uint8_t msg[] = {5, 9, 0, 1, 127, 0, 0, 1, 0, 80};
	struct socks_request req;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(
	    socks5_parse_request(msg, sizeof(msg), &req, &used, &why),
	    PARSE_OK);
	assert_int_equal(req.command, 9);
}

static void
socks4_reply_bytes(void **state)
{
	static const uint8_t addr[4] = {192, 0, 2, 1};
	static const uint8_t granted[8] = {
	    0x00, 0x5a, 0x04, 0x38, 192, 0, 2, 1};
	static const uint8_t rejected[8] = {0x00, 0x5b, 0, 0, 0, 0, 0, 0};
	uint8_t out[8];

	(void)state;
	assert_int_equal(socks4_reply(out, SOCKS4_GRANTED, 1080, addr), 8);
	assert_memory_equal(out, granted, 8);
	assert_int_equal(socks4_reply(out, SOCKS4_REJECTED, 0, NULL), 8);
	assert_memory_equal(out, rejected, 8);
}

static void
socks5_method_and_auth_replies(void **state)
{
	uint8_t out[2];

	(void)state;
	assert_int_equal(socks5_method_reply(out, SOCKS5_METHOD_NONE), 2);
	assert_memory_equal(out, ((uint8_t[]){0x05, 0x00}), 2);
	assert_int_equal(
	    socks5_method_reply(out, SOCKS5_METHOD_UNACCEPTABLE), 2);
	assert_memory_equal(out, ((uint8_t[]){0x05, 0xff}), 2);
	assert_int_equal(socks5_auth_reply(out, 1), 2);
	assert_memory_equal(out, ((uint8_t[]){0x01, 0x00}), 2);
	assert_int_equal(socks5_auth_reply(out, 0), 2);
	assert_int_equal(out[0], 0x01);
	assert_int_not_equal(out[1], 0x00);
}

static void
socks5_reply_ipv4(void **state)
{
	static const uint8_t want[10] = {
	    0x05, 0x00, 0x00, 0x01, 203, 0, 113, 9, 0xc3, 0x50};
	struct sockaddr_in sin;
	uint8_t out[22];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50000);
	inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
	assert_int_equal(
	    socks5_reply(out, SOCKS5_SUCCEEDED, (struct sockaddr *)&sin), 10);
	assert_memory_equal(out, want, 10);
}

static void
socks5_reply_ipv6_and_mapped(void **state)
{
	static const uint8_t want6[22] = {0x05, 0x00, 0x00, 0x04, 0x20, 0x01,
	    0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x50};
	static const uint8_t want4[10] = {
	    0x05, 0x00, 0x00, 0x01, 192, 0, 2, 33, 0x00, 0x50};
	struct sockaddr_in6 sin6;
	uint8_t out[22];

	(void)state;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(80);
	inet_pton(AF_INET6, "2001:db8::2", &sin6.sin6_addr);
	assert_int_equal(
	    socks5_reply(out, SOCKS5_SUCCEEDED, (struct sockaddr *)&sin6), 22);
	assert_memory_equal(out, want6, 22);

	inet_pton(AF_INET6, "::ffff:192.0.2.33", &sin6.sin6_addr);
	assert_int_equal(
	    socks5_reply(out, SOCKS5_SUCCEEDED, (struct sockaddr *)&sin6), 10);
	assert_memory_equal(out, want4, 10);
}

static void
socks5_reply_failure_without_address(void **state)
{
	static const uint8_t want[10] = {
	    0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	uint8_t out[22];

	(void)state;
	assert_int_equal(
	    socks5_reply(out, SOCKS5_COMMAND_NOT_SUPPORTED, NULL), 10);
	assert_memory_equal(out, want, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(socks4_connect_ipv4),
	    cmocka_unit_test(socks4_empty_user_and_trailing_bytes),
	    cmocka_unit_test(socks4a_host_name),
	    cmocka_unit_test(socks4_ip_zero_is_not_socks4a),
	    cmocka_unit_test(socks4_wrong_version),
	    cmocka_unit_test(socks4_user_id_bounds),
	    cmocka_unit_test(socks4a_host_bounds),
	    cmocka_unit_test(socks5_greeting_bytewise),
	    cmocka_unit_test(socks5_greeting_all_methods),
	    cmocka_unit_test(socks5_greeting_malformed),
	    cmocka_unit_test(socks5_method_choice),
	    cmocka_unit_test(socks5_auth_bytewise),
	    cmocka_unit_test(socks5_auth_longest_and_empty),
	    cmocka_unit_test(socks5_auth_wrong_version),
	    cmocka_unit_test(socks5_request_ipv4),
	    cmocka_unit_test(socks5_request_domain),
	    cmocka_unit_test(socks5_request_ipv6),
	    cmocka_unit_test(socks5_request_longest_domain),
	    cmocka_unit_test(socks5_request_malformed),
	    cmocka_unit_test(socks5_request_unknown_command_parsed),
	    cmocka_unit_test(socks4_reply_bytes),
	    cmocka_unit_test(socks5_method_and_auth_replies),
	    cmocka_unit_test(socks5_reply_ipv4),
	    cmocka_unit_test(socks5_reply_ipv6_and_mapped),
	    cmocka_unit_test(socks5_reply_failure_without_address),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
