/*
 * HTTP proxy request parser and response builder.  Requests are the
 * kinds open-proxy scanners and spammers send; expected statuses follow
 * RFC 9110 and RFC 9112.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpproxy.h"

struct result {
	int r;
	const char *why;
	int status;
};

static struct result
parse_text(const char *text, struct http_request *req)
{
	struct result res = {0, NULL, 0};

	res.r =
	    http_parse_request(text, strlen(text), req, &res.why, &res.status);
	return res;
}

/* Expect PARSE_ERROR with status; why must be set. */
static void
assert_rejected(const char *text, int status)
{
	struct http_request req;
	struct result res = parse_text(text, &req);

	if (res.r != PARSE_ERROR)
		fail_msg("accepted (%d): %s", res.r, text);
	assert_non_null(res.why);
	if (res.status != status)
		fail_msg("status %d, expected %d (%s): %s", res.status, status,
		    res.why, text);
}

/* Every strict prefix must be PARSE_MORE and the whole PARSE_OK. */
static void
parse_bytewise(const char *text, struct http_request *req)
{
	const char *why = NULL;
	size_t len = strlen(text), i;
	int status = 0;

	for (i = 0; i < len; i++) {
		if (http_parse_request(text, i, req, &why, &status) !=
		    PARSE_MORE)
			fail_msg("prefix of %zu bytes not PARSE_MORE", i);
	}
	assert_int_equal(
	    http_parse_request(text, len, req, &why, &status), PARSE_OK);
}

static bool
span_equal(const char *p, size_t n, const char *want)
{
	return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static void
connect_bytewise(void **state)
{
	static const char text[] = "CONNECT mx.example.net:25 HTTP/1.1\r\n"
				   "Host: mx.example.net:25\r\n"
				   "Proxy-Connection: Keep-Alive\r\n"
				   "\r\n";
	struct http_request req;

	(void)state;
	parse_bytewise(text, &req);
	assert_true(span_equal(req.method, req.method_len, "CONNECT"));
	assert_true(
	    span_equal(req.target, req.target_len, "mx.example.net:25"));
	assert_int_equal(req.version_minor, 1);
	assert_string_equal(req.host, "mx.example.net");
	assert_int_equal(req.port, 25);
	assert_null(req.path);
	assert_int_equal(req.nfields, 2);
	assert_int_equal(req.head_len, strlen(text));
	assert_int_equal(req.content_length, -1);
	assert_false(req.chunked);
}

static void
connect_ipv6_and_ipv4(void **state)
{
	struct http_request req;
	struct result res;

	(void)state;
	res = parse_text("CONNECT [2001:db8::25]:587 HTTP/1.0\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_string_equal(req.host, "2001:db8::25");
	assert_int_equal(req.port, 587);
	assert_int_equal(req.version_minor, 0);

	res = parse_text("CONNECT 192.0.2.25:25 HTTP/1.0\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_string_equal(req.host, "192.0.2.25");
	assert_int_equal(req.port, 25);
}

static void
get_absolute_uri(void **state)
{
	static const char text[] =
	    "GET http://Example.COM:8080/a/b?q=1 HTTP/1.1\r\n"
	    "Host: example.com:8080\r\n"
	    "User-Agent:   probe/1.0  \r\n"
	    "Accept:\r\n"
	    "\r\n"
	    "body that is not part of the head";
	struct http_request req;
	const struct http_field *f;
	struct result res;

	(void)state;
	res = parse_text(text, &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_string_equal(req.host, "Example.COM");
	assert_int_equal(req.port, 8080);
	assert_true(span_equal(req.path, req.path_len, "/a/b?q=1"));
	assert_int_equal(req.head_len,
	    strlen(text) - strlen("body that is not part of the head"));

	f = http_find_field(&req, "user-agent");
	assert_non_null(f);
	assert_true(span_equal(f->value, f->value_len, "probe/1.0"));
	f = http_find_field(&req, "ACCEPT");
	assert_non_null(f);
	assert_int_equal(f->value_len, 0);
	assert_null(http_find_field(&req, "Cookie"));
	assert_null(http_find_field(&req, "Host:"));
}

static void
absolute_uri_defaults(void **state)
{
	struct http_request req;
	struct result res;

	(void)state;
	res = parse_text("HEAD http://example.org HTTP/1.1\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_string_equal(req.host, "example.org");
	assert_int_equal(req.port, 80);
	assert_true(span_equal(req.path, req.path_len, "/"));

	/* An empty port means the default (RFC 3986 section 3.2.3). */
	res = parse_text("GET HTTP://example.org:/x HTTP/1.1\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_int_equal(req.port, 80);
	assert_true(span_equal(req.path, req.path_len, "/x"));

	res = parse_text("GET http://[2001:db8::80]/ HTTP/1.1\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_string_equal(req.host, "2001:db8::80");
	assert_int_equal(req.port, 80);

	res = parse_text("GET http://example.org?x=1 HTTP/1.1\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_true(span_equal(req.path, req.path_len, "?x=1"));
}

static void
bare_lf_and_leading_blank_lines(void **state)
{
	static const char mixed[] = "GET http://a/ HTTP/1.1\nA: b\r\n\n";
	static const char text[] = "\r\n\nGET http://example.org/ HTTP/1.0\n"
				   "Host: example.org\n"
				   "\n";
	struct http_request req;
	const struct http_field *f;

	(void)state;
	parse_bytewise(text, &req);
	assert_true(span_equal(req.method, req.method_len, "GET"));
	assert_int_equal(req.head_len, strlen(text));
	f = http_find_field(&req, "Host");
	assert_non_null(f);
	assert_true(span_equal(f->value, f->value_len, "example.org"));

	/* A CRLF line may end a head of bare LF lines, and vice versa. */
	assert_int_equal(parse_text(mixed, &req).r, PARSE_OK);
	assert_int_equal(req.head_len, strlen(mixed));
}

static void
content_length_values(void **state)
{
	struct http_request req;
	struct result res;

	(void)state;
	res = parse_text(
	    "POST http://a/ HTTP/1.1\r\nContent-Length: 42\r\n\r\n", &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_int_equal(req.content_length, 42);

	/* A list of equal values is one length (RFC 9110 section 8.6). */
	res = parse_text("POST http://a/ HTTP/1.1\r\n"
			 "Content-Length: 7, 7\r\ncontent-length: 7\r\n\r\n",
	    &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_int_equal(req.content_length, 7);

	res = parse_text("POST http://a/ HTTP/1.1\r\n"
			 "Content-Length: 999999999999999999\r\n\r\n",
	    &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_int_equal(req.content_length, 999999999999999999LL);

	assert_rejected("POST http://a/ HTTP/1.1\r\n"
			"Content-Length: 7, 8\r\n\r\n",
	    400);
	assert_rejected("POST http://a/ HTTP/1.1\r\n"
			"Content-Length: 7\r\nContent-Length: 8\r\n\r\n",
	    400);
	assert_rejected(
	    "POST http://a/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	assert_rejected(
	    "POST http://a/ HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400);
	assert_rejected(
	    "POST http://a/ HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
	assert_rejected("POST http://a/ HTTP/1.1\r\n"
			"Content-Length: 9999999999999999999\r\n\r\n",
	    400);
}

static void
expect_continue(void **state)
{
	static const struct {
		const char *head;
		bool expects;
	} cases[] = {
		{ "POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\n"
		  "Expect: 100-Continue\r\n\r\n",
		    true },
		{ "POST http://a/ HTTP/1.0\r\nContent-Length: 5\r\n"
		  "Expect: 100-continue\r\n\r\n",
		    false },
		{ "POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\n"
		  "Expect: 100-continuex\r\n\r\n",
		    false },
		{ "POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
		    false },
	};
	struct http_request req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_text(cases[i].head, &req).r, PARSE_OK);
		assert_int_equal(http_expects_continue(&req), cases[i].expects);
	}
}

static void
transfer_encoding_chunked(void **state)
{
	struct http_request req;
	struct result res;

	(void)state;
	res = parse_text("POST http://a/ HTTP/1.1\r\n"
			 "Transfer-Encoding: gzip, Chunked\r\n\r\n",
	    &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_true(req.chunked);
	assert_int_equal(req.content_length, -1);

	res = parse_text("POST http://a/ HTTP/1.1\r\n"
			 "Transfer-Encoding: gzip\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n",
	    &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_true(req.chunked);

	assert_rejected("POST http://a/ HTTP/1.1\r\n"
			"Transfer-Encoding: chunked, gzip\r\n\r\n",
	    400);
	assert_rejected("POST http://a/ HTTP/1.1\r\n"
			"Transfer-Encoding: chunked\r\n"
			"Transfer-Encoding: chunked\r\n\r\n",
	    400);
	assert_rejected("POST http://a/ HTTP/1.1\r\n"
			"Transfer-Encoding: gzip\r\n\r\n",
	    400);
	assert_rejected(
	    "POST http://a/ HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	    400);
	assert_rejected("POST http://a/ HTTP/1.0\r\n"
			"Transfer-Encoding: chunked\r\n\r\n",
	    400);
}

static void
origin_form_keeps_fields(void **state)
{
	static const char text[] = "GET / HTTP/1.1\r\n"
				   "Host: 203.0.113.5\r\n"
				   "User-Agent: zgrab/0.x\r\n\r\n";
	struct http_request req;
	const struct http_field *f;
	struct result res;

	(void)state;
	res = parse_text(text, &req);
	assert_int_equal(res.r, PARSE_ERROR);
	assert_int_equal(res.status, 400);
	/* The fields are still there for the event log. */
	f = http_find_field(&req, "User-Agent");
	assert_non_null(f);
	assert_true(span_equal(f->value, f->value_len, "zgrab/0.x"));

	assert_rejected("OPTIONS * HTTP/1.1\r\n\r\n", 400);
}

static void
methods_and_versions(void **state)
{
	(void)state;
	assert_rejected("BREW http://pot/ HTTP/1.1\r\n\r\n", 501);
	assert_rejected("get http://a/ HTTP/1.1\r\n\r\n", 501);
	assert_rejected("PRI * HTTP/2.0\r\n\r\n", 505);
	assert_rejected("GET http://a/ HTTP/3.0\r\n\r\n", 505);
	assert_rejected("GET http://a/ HTTP/1.1x\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/11\r\n\r\n", 400);
	assert_rejected("GET http://a/ http/1.1\r\n\r\n", 400);
	assert_rejected("GET http://a/\r\n\r\n", 400);
	assert_rejected("GET  http://a/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http://a/  HTTP/1.1\r\n\r\n", 400);
	assert_rejected(" GET http://a/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("G@T http://a/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http://a/\x01 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\rX\r\n\r\n", 400);
}

static void
junk_rejected_before_lf(void **state)
{
	/* A TLS ClientHello and a SOCKS5 greeting sent to the HTTP port. */
	static const char tls[] = {0x16, 0x03, 0x01, 0x00};
	static const char socks[] = {0x05, 0x01, 0x00};
	struct http_request req;
	const char *why = NULL;
	int status = 0;

	(void)state;
	assert_int_equal(
	    http_parse_request(tls, 1, &req, &why, &status), PARSE_ERROR);
	assert_int_equal(status, 400);
	assert_int_equal(
	    http_parse_request(socks, 3, &req, &why, &status), PARSE_ERROR);
	assert_int_equal(
	    http_parse_request("GET", 3, &req, &why, &status), PARSE_MORE);
	assert_int_equal(
	    http_parse_request("\r", 1, &req, &why, &status), PARSE_MORE);
}

static void
field_syntax_errors(void **state)
{
	(void)state;
	assert_rejected("GET http://a/ HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\n\tc\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\nNoColon\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\n: empty\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\nA: b\rc\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400);
	assert_rejected("GET http://a/ HTTP/1.1\r\nA(b: c\r\n\r\n", 400);
}

static void
nul_in_field_value(void **state)
{
	static const char text[] = "GET http://a/ HTTP/1.1\r\nA: b\0c\r\n\r\n";
	struct http_request req;
	const char *why = NULL;
	int status = 0;

	(void)state;
	assert_int_equal(
	    http_parse_request(text, sizeof(text) - 1, &req, &why, &status),
	    PARSE_ERROR);
	assert_int_equal(status, 400);
}

/* A head with n fields "Xn: v". */
static char *
head_with_fields(int n)
{
	size_t cap = 64 + (size_t)n * 16, off;
	char *text = malloc(cap);
	int i;

	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "GET http://a/ HTTP/1.1\r\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, cap - off, "X%d: v\r\n", i);
	snprintf(text + off, cap - off, "\r\n");
	return text;
}

static void
field_count_limit(void **state)
{
	struct http_request req;
	struct result res;
	char *text;

	(void)state;
	text = head_with_fields(HTTP_FIELDS_MAX);
	res = parse_text(text, &req);
	assert_int_equal(res.r, PARSE_OK);
	assert_int_equal(req.nfields, HTTP_FIELDS_MAX);
	free(text);

	text = head_with_fields(HTTP_FIELDS_MAX + 1);
	res = parse_text(text, &req);
	assert_int_equal(res.r, PARSE_ERROR);
	assert_int_equal(res.status, 431);

	/* The extra line is enough: the blank line is not waited for. */
	text[strlen(text) - 2] = '\0';
	res = parse_text(text, &req);
	assert_int_equal(res.r, PARSE_ERROR);
	assert_int_equal(res.status, 431);
	*strrchr(text, '\n') = '\0';
	res = parse_text(text, &req);
	assert_int_equal(res.r, PARSE_MORE);
	free(text);
}

static void
head_size_limit(void **state)
{
	char *buf = malloc(HTTP_HEAD_MAX + 16);
	struct http_request req;
	const char *why = NULL;
	size_t prefix;
	int status = 0;

	(void)state;
	assert_non_null(buf);

	/* One long field: waits below the limit, 431 at it. */
	prefix = (size_t)snprintf(buf, 64, "GET http://a/ HTTP/1.1\r\nX: ");
	memset(buf + prefix, 'v', HTTP_HEAD_MAX + 16 - prefix);
	assert_int_equal(
	    http_parse_request(buf, HTTP_HEAD_MAX - 1, &req, &why, &status),
	    PARSE_MORE);
	assert_int_equal(
	    http_parse_request(buf, HTTP_HEAD_MAX, &req, &why, &status),
	    PARSE_ERROR);
	assert_int_equal(status, 431);

	/* A head that ends exactly at the limit is accepted. */
	memcpy(buf + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(
	    http_parse_request(buf, HTTP_HEAD_MAX, &req, &why, &status),
	    PARSE_OK);
	assert_int_equal(req.head_len, HTTP_HEAD_MAX);

	/* One byte later, it is not, even with the blank line in the buffer. */
	memset(buf + prefix, 'v', HTTP_HEAD_MAX + 16 - prefix);
	memcpy(buf + HTTP_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(
	    http_parse_request(buf, HTTP_HEAD_MAX + 1, &req, &why, &status),
	    PARSE_ERROR);
	assert_int_equal(status, 431);

	/* A request line that never ends: 414. */
	memcpy(buf, "GET http://a/", 13);
	memset(buf + 13, 'a', HTTP_HEAD_MAX + 3);
	assert_int_equal(
	    http_parse_request(buf, HTTP_HEAD_MAX + 16, &req, &why, &status),
	    PARSE_ERROR);
	assert_int_equal(status, 414);
	free(buf);
}

static void
connect_target_errors(void **state)
{
	char text[512];
	char host[300];

	(void)state;
	assert_rejected("CONNECT example.com HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT example.com: HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT example.com:0 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT example.com:65536 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT example.com:25x HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT :25 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT [2001:db8::1:25 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT [example.com]:25 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT [::1]25 HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT http://a:25/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("CONNECT user@a:25 HTTP/1.1\r\n\r\n", 400);

	/* A host name of 255 bytes fits; 256 does not. */
	memset(host, 'h', 255);
	host[255] = '\0';
	snprintf(text, sizeof(text), "CONNECT %s:25 HTTP/1.1\r\n\r\n", host);
	{
		struct http_request req;

		assert_int_equal(parse_text(text, &req).r, PARSE_OK);
		assert_int_equal(strlen(req.host), 255);
	}
	memset(host, 'h', 256);
	host[256] = '\0';
	snprintf(text, sizeof(text), "CONNECT %s:25 HTTP/1.1\r\n\r\n", host);
	assert_rejected(text, 400);
}

static void
absolute_uri_errors(void **state)
{
	(void)state;
	assert_rejected("GET https://a/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET ftp://a/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http:// HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http:///x HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http://user:pw@a/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET http://a:99999/ HTTP/1.1\r\n\r\n", 400);
	assert_rejected("GET example.com HTTP/1.1\r\n\r\n", 400);
}

static void
format_date_fixed(void **state)
{
	char out[HTTP_DATE_SIZE];

	(void)state;
	/* The example of RFC 9110 section 5.6.7. */
	http_format_date(784111777, out);
	assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_format_date(0, out);
	assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_format_date(951782400, out); /* a leap day */
	assert_string_equal(out, "Tue, 29 Feb 2000 00:00:00 GMT");
}

/* Check that the head contains name: value on a line of its own. */
static void
assert_header_line(const char *head, const char *line)
{
	char want[128];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	if (strstr(head, want) == NULL)
		fail_msg("missing \"%s\" in:\n%s", line, head);
}

static void
format_response_bytes(void **state)
{
	static const char body[] = "<html>denied</html>\n";
	char out[1024], date[HTTP_DATE_SIZE];
	const char *p;
	size_t n;

	(void)state;
	n = http_format_response(out, sizeof(out), 403, "squid/3.5.27",
	    "text/html;charset=utf-8", body, strlen(body));
	assert_true(n > 0);
	assert_true(n < sizeof(out));
	out[n] = '\0';

	assert_memory_equal(out, "HTTP/1.1 403 Forbidden\r\n", 24);
	assert_header_line(out, "Server: squid/3.5.27");
	assert_header_line(out, "Mime-Version: 1.0");
	assert_header_line(out, "Content-Type: text/html;charset=utf-8");
	assert_header_line(out, "Content-Length: 20");
	assert_header_line(out, "Connection: close");

	/* The body follows the blank line, byte for byte. */
	p = strstr(out, "\r\n\r\n");
	assert_non_null(p);
	assert_int_equal((size_t)(out + n - (p + 4)), strlen(body));
	assert_memory_equal(p + 4, body, strlen(body));

	/* Date has the IMF-fixdate shape. */
	p = strstr(out, "\r\nDate: ");
	assert_non_null(p);
	memcpy(date, p + 8, HTTP_DATE_SIZE - 1);
	date[HTTP_DATE_SIZE - 1] = '\0';
	assert_int_equal(date[3], ',');
	assert_memory_equal(date + 26, "GMT", 3);
	assert_memory_equal(p + 8 + HTTP_DATE_SIZE - 1, "\r\n", 2);
}

static void
format_response_exact_without_optionals(void **state)
{
	char out[256], want[256], date[HTTP_DATE_SIZE];
	const char *p;
	size_t n;

	(void)state;
	n = http_format_response(out, sizeof(out), 502, NULL, NULL, NULL, 0);
	assert_true(n > 0);
	out[n] = '\0';
	p = strstr(out, "Date: ");
	assert_non_null(p);
	memcpy(date, p + 6, HTTP_DATE_SIZE - 1);
	date[HTTP_DATE_SIZE - 1] = '\0';
	snprintf(want, sizeof(want),
	    "HTTP/1.1 502 Bad Gateway\r\n"
	    "Mime-Version: 1.0\r\n"
	    "Date: %s\r\n"
	    "Content-Length: 0\r\n"
	    "Connection: close\r\n"
	    "\r\n",
	    date);
	assert_string_equal(out, want);
}

static void
format_response_rejects(void **state)
{
	char out[512];
	size_t n;

	(void)state;
	n = http_format_response(
	    out, sizeof(out), 400, "squid", "text/plain", "x", 1);
	assert_true(n > 0);
	/* Every size short of the full response yields 0. */
	assert_int_equal(http_format_response(
			     out, n - 1, 400, "squid", "text/plain", "x", 1),
	    0);
	assert_int_equal(
	    http_format_response(out, 10, 400, "squid", "text/plain", "x", 1),
	    0);
	assert_int_equal(http_format_response(out, sizeof(out), 400,
			     "squid\r\nSet-Cookie: a=b", "text/plain", "x", 1),
	    0);
	assert_int_equal(http_format_response(out, sizeof(out), 400, "squid",
			     "text/plain\n", "x", 1),
	    0);
}

static void
reason_phrases(void **state)
{
	(void)state;
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(400), "Bad Request");
	assert_string_equal(http_reason(405), "Method Not Allowed");
	assert_string_equal(http_reason(414), "URI Too Long");
	assert_string_equal(
	    http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(501), "Not Implemented");
	assert_string_equal(http_reason(502), "Bad Gateway");
	assert_string_equal(http_reason(505), "HTTP Version Not Supported");
	assert_non_null(http_reason(299));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(connect_bytewise),
	    cmocka_unit_test(connect_ipv6_and_ipv4),
	    cmocka_unit_test(get_absolute_uri),
	    cmocka_unit_test(absolute_uri_defaults),
	    cmocka_unit_test(bare_lf_and_leading_blank_lines),
	    cmocka_unit_test(content_length_values),
	    cmocka_unit_test(transfer_encoding_chunked),
	    cmocka_unit_test(expect_continue),
	    cmocka_unit_test(origin_form_keeps_fields),
	    cmocka_unit_test(methods_and_versions),
	    cmocka_unit_test(junk_rejected_before_lf),
	    cmocka_unit_test(field_syntax_errors),
	    cmocka_unit_test(nul_in_field_value),
	    cmocka_unit_test(field_count_limit),
	    cmocka_unit_test(head_size_limit),
	    cmocka_unit_test(connect_target_errors),
	    cmocka_unit_test(absolute_uri_errors),
	    cmocka_unit_test(format_date_fixed),
	    cmocka_unit_test(format_response_bytes),
	    cmocka_unit_test(format_response_exact_without_optionals),
	    cmocka_unit_test(format_response_rejects),
	    cmocka_unit_test(reason_phrases),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
