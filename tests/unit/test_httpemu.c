/*
 * The HTTP origin emulator: the judge echo an elite proxy would pass
 * on, made-up pages that differ by URL and stay the same on a re-visit,
 * and request bodies read by Content-Length or chunked, within bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpemu.h"
#include "parse.h"

static char response[HTTPEMU_RESPONSE_MAX];

static void
parse_ok(const char *text, struct http_request *req)
{
	const char *why = NULL;
	int status = 0;

	assert_int_equal(
	    http_parse_request(text, strlen(text), req, &why, &status),
	    PARSE_OK);
}

/* The response to text, NUL-terminated in the static buffer. */
static const char *
respond(const char *text, bool judge)
{
	struct http_request req;
	struct httpemu_env env = {"198.51.100.7", 50123, 1700000000, judge};
	size_t n;

	parse_ok(text, &req);
	n = httpemu_respond(&req, &env, response, sizeof(response) - 1);
	assert_true(n > 0);
	response[n] = '\0';
	return response;
}

static const char judge_request[] =
    "GET http://judge.test.example/azenv.php HTTP/1.1\r\n"
    "Host: judge.test.example\r\n"
    "User-Agent: checker/2.0 <x>\r\n"
    "Accept: */*\r\n"
    "Via: 1.1 client-side\r\n"
    "X-Forwarded-For: 203.0.113.9\r\n"
    "Forwarded: for=203.0.113.9\r\n"
    "Proxy-Connection: keep-alive\r\n"
    "\r\n";

static void
judge_echoes_client_fields(void **state)
{
	const char *r = respond(judge_request, true);

	(void)state;
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "Server: squid/3.5.27\r\n"));
	assert_non_null(strstr(r, "REMOTE_ADDR = 198.51.100.7\n"));
	assert_non_null(strstr(r, "REQUEST_URI = /azenv.php\n"));
	assert_non_null(strstr(r, "HTTP_HOST = judge.test.example\n"));
	/* The client's own value, HTML-escaped. */
	assert_non_null(strstr(r, "HTTP_USER_AGENT = checker/2.0 &lt;x&gt;\n"));
	assert_non_null(strstr(r, "HTTP_ACCEPT = */*\n"));
}

static void
judge_omits_proxy_fields(void **state)
{
	const char *r = respond(judge_request, true);

	(void)state;
	assert_null(strstr(r, "HTTP_VIA"));
	assert_null(strstr(r, "HTTP_X_FORWARDED_FOR"));
	assert_null(strstr(r, "HTTP_FORWARDED"));
	assert_null(strstr(r, "HTTP_PROXY_CONNECTION"));
	assert_null(strstr(r, "203.0.113.9"));
	assert_null(strstr(r, "\r\nVia:"));
}

static void
judge_patterns_match_url(void **state)
{
	static const char *const patterns[] = {"azenv", "prxjdg", "/env"};
	struct http_request req;

	(void)state;
	parse_ok("GET http://a.example/AZENV.php HTTP/1.0\r\n\r\n", &req);
	assert_true(httpemu_is_judge(&req, patterns, 3));
	parse_ok("GET http://prxjdg.example/ HTTP/1.0\r\n\r\n", &req);
	assert_true(httpemu_is_judge(&req, patterns, 3));
	parse_ok("GET http://a.example/cgi/env?x HTTP/1.0\r\n\r\n", &req);
	assert_true(httpemu_is_judge(&req, patterns, 3));
	parse_ok("GET http://a.example/index.html HTTP/1.0\r\n\r\n", &req);
	assert_false(httpemu_is_judge(&req, patterns, 3));
	assert_false(httpemu_is_judge(&req, patterns, 0));
}

static char *
page_body(const char *url)
{
	char text[512];
	const char *r, *body;

	snprintf(text, sizeof(text), "GET %s HTTP/1.1\r\n\r\n", url);
	r = respond(text, false);
	body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	return strdup(body + 4);
}

static void
pages_differ_by_path_and_host(void **state)
{
	static const char *const urls[] = {
	    "http://www.test.example/",
	    "http://www.test.example/a",
	    "http://www.test.example/b",
	    "http://www.test.example/a?x=1",
	    "http://other.test.example/a",
	};
	char *bodies[5];
	size_t i, j;

	(void)state;
	for (i = 0; i < 5; i++)
		bodies[i] = page_body(urls[i]);
	for (i = 0; i < 5; i++)
		for (j = i + 1; j < 5; j++)
			assert_string_not_equal(bodies[i], bodies[j]);
	for (i = 0; i < 5; i++)
		free(bodies[i]);
}

static void
page_same_on_revisit(void **state)
{
	char *first = page_body("http://www.test.example/shop?id=7");
	char *second = page_body("http://www.test.example/shop?id=7");

	(void)state;
	assert_string_equal(first, second);
	assert_non_null(strstr(first, "<title>"));
	free(first);
	free(second);
}

static void
page_escapes_host_and_path(void **state)
{
	char *body = page_body("http://www.test.example/%22%3E<b>");

	(void)state;
	assert_null(strstr(body, "<b>"));
	assert_non_null(strstr(body, "&lt;b&gt;"));
	free(body);
}

static void
head_has_no_body(void **state)
{
	const char *r =
	    respond("HEAD http://www.test.example/ HTTP/1.1\r\n\r\n", false);
	const char *end = strstr(r, "\r\n\r\n");

	(void)state;
	assert_non_null(end);
	assert_string_equal(end, "\r\n\r\n");
	assert_non_null(strstr(r, "Content-Length: "));
	assert_null(strstr(r, "Content-Length: 0\r\n"));
}

/* Feed text in pieces of step bytes; returns the final status. */
static int
feed(struct http_body *b, const char *text, size_t len, size_t step,
    size_t *consumed)
{
	size_t off = 0, used;
	const char *why = NULL;
	int rc = PARSE_MORE;

	while (off < len && rc == PARSE_MORE) {
		size_t n = len - off < step ? len - off : step;

		rc = http_body_feed(b, text + off, n, &used, &why);
		assert_true(used <= n);
		off += used;
		if (rc == PARSE_ERROR)
			assert_non_null(why);
	}
	*consumed = off;
	return rc;
}

static struct http_body body;

static void
body_by_content_length(void **state)
{
	struct http_request req;
	size_t used;

	(void)state;
	parse_ok(
	    "POST http://a.example/f HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	    &req);
	http_body_init(&body, &req);
	assert_int_equal(feed(&body, "hello+extra", 11, 2, &used), PARSE_OK);
	assert_int_equal(used, 5);
	assert_int_equal(body.len, 5);
	assert_memory_equal(body.data, "hello", 5);
	assert_false(body.truncated);
}

static void
body_chunked_decoded(void **state)
{
	static const char text[] = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n"
				   "0\r\nTrailer: x\r\n\r\nNEXT";
	struct http_request req;
	size_t used, step;

	(void)state;
	parse_ok("POST http://a.example/f HTTP/1.1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
	    &req);
	for (step = 1; step <= sizeof(text); step++) {
		http_body_init(&body, &req);
		assert_int_equal(
		    feed(&body, text, sizeof(text) - 1, step, &used), PARSE_OK);
		assert_int_equal(used, sizeof(text) - 1 - 4);
		assert_int_equal(body.len, 9);
		assert_memory_equal(body.data, "Wikipedia", 9);
	}
}

static void
body_chunked_errors(void **state)
{
	static const char *const bad[] = {
	    "zz\r\n",
	    "4\r\nWikiXX\r\n",
	    "1234567890abcdef\r\n",
	    "4 junk\r\n",
	};
	struct http_request req;
	size_t i, used;

	(void)state;
	parse_ok("POST http://a.example/f HTTP/1.1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
	    &req);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_body_init(&body, &req);
		assert_int_equal(feed(&body, bad[i], strlen(bad[i]), 64, &used),
		    PARSE_ERROR);
	}
}

static void
body_chunk_line_bounded(void **state)
{
	struct http_request req;
	char *line = malloc(HTTP_CHUNK_LINE_MAX + 10);
	size_t used;

	(void)state;
	memset(line, '1', HTTP_CHUNK_LINE_MAX + 10);
	line[0] = '1';
	line[1] = ';';
	parse_ok("POST http://a.example/f HTTP/1.1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
	    &req);
	http_body_init(&body, &req);
	assert_int_equal(
	    feed(&body, line, HTTP_CHUNK_LINE_MAX + 10, 100, &used),
	    PARSE_ERROR);
	free(line);
}

static void
body_stops_at_max(void **state)
{
	struct http_request req;
	size_t big = HTTP_BODY_MAX + 5000, used;
	char *data = malloc(big);
	char head[128];

	(void)state;
	memset(data, 'x', big);
	snprintf(head, sizeof(head),
	    "POST http://a.example/f HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
	    (size_t)1 << 40);
	parse_ok(head, &req);
	http_body_init(&body, &req);
	assert_int_equal(feed(&body, data, big, 4096, &used), PARSE_OK);
	assert_int_equal(body.len, HTTP_BODY_MAX);
	assert_true(body.truncated);
	assert_true(used <= HTTP_BODY_MAX);
	free(data);
}

static void
body_chunked_stops_at_max(void **state)
{
	struct http_request req;
	static char text[2 * HTTP_BODY_MAX];
	size_t off, used;

	(void)state;
	off =
	    (size_t)snprintf(text, sizeof(text), "%x\r\n", HTTP_BODY_MAX + 100);
	memset(text + off, 'y', HTTP_BODY_MAX + 100);
	off += HTTP_BODY_MAX + 100;
	parse_ok("POST http://a.example/f HTTP/1.1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
	    &req);
	http_body_init(&body, &req);
	assert_int_equal(feed(&body, text, off, 7000, &used), PARSE_OK);
	assert_int_equal(body.len, HTTP_BODY_MAX);
	assert_true(body.truncated);
}

static void
body_none_without_length(void **state)
{
	struct http_request req;
	size_t used;

	(void)state;
	parse_ok("GET http://a.example/ HTTP/1.1\r\n\r\n", &req);
	http_body_init(&body, &req);
	assert_int_equal(feed(&body, "abc", 3, 3, &used), PARSE_OK);
	assert_int_equal(body.len, 0);
}

static void
origin_form_takes_host_field(void **state)
{
	static const char text[] = "GET /azenv.php HTTP/1.0\r\n"
				   "Host: judge.test.example:8080\r\n\r\n";
	struct http_request req;
	const char *why = NULL;
	int status = 0;

	(void)state;
	assert_int_equal(
	    http_parse_origin_request(text, strlen(text), &req, &why, &status),
	    PARSE_OK);
	assert_string_equal(req.host, "judge.test.example");
	assert_int_equal(req.port, 8080);
	assert_int_equal(req.path_len, 10);
	assert_int_equal(http_parse_origin_request(
			     "GET / HTTP/1.0\r\n\r\n", 18, &req, &why, &status),
	    PARSE_ERROR);
	assert_int_equal(status, 400);
	/* A proxy still rejects the origin form. */
	assert_int_equal(
	    http_parse_request(text, strlen(text), &req, &why, &status),
	    PARSE_ERROR);
}

static void
squid_error_page(void **state)
{
	char out[8192], *content;
	size_t n = httpemu_error(503, "ERR_CONNECT_FAIL 111",
	    "www.test.example:443", "(111) Connection refused",
	    "proxy<1>.test.example", 1700000000, out, sizeof(out) - 1);
	long length;

	(void)state;
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out,
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Server: squid/3.5.27\r\n"));
	assert_non_null(strstr(out, "X-Squid-Error: ERR_CONNECT_FAIL 111\r\n"));
	assert_non_null(strstr(out, "<body id=\"ERR_CONNECT_FAIL\">"));
	assert_non_null(strstr(out, "proxy&lt;1&gt;.test.example"));
	content = strstr(out, "\r\n\r\n") + 4;
	length = strtol(strstr(out, "Content-Length: ") + 16, NULL, 10);
	assert_int_equal(length, (long)(out + n - content));
	assert_int_equal(httpemu_error(503, "ERR_X\r\nSet-Cookie: a", "u", "m",
			     "h", 0, out, sizeof(out)),
	    0);
	assert_int_equal(
	    httpemu_error(503, "ERR_X 1", "u", "m", "h", 0, out, 100), 0);
}

static void
proxy_fields_table(void **state)
{
	(void)state;
	assert_true(httpemu_is_proxy_field("via", 3));
	assert_true(httpemu_is_proxy_field("X-FORWARDED-FOR", 15));
	assert_false(httpemu_is_proxy_field("User-Agent", 10));
	assert_false(httpemu_is_proxy_field("Vi", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(judge_echoes_client_fields),
	    cmocka_unit_test(judge_omits_proxy_fields),
	    cmocka_unit_test(judge_patterns_match_url),
	    cmocka_unit_test(pages_differ_by_path_and_host),
	    cmocka_unit_test(page_same_on_revisit),
	    cmocka_unit_test(page_escapes_host_and_path),
	    cmocka_unit_test(head_has_no_body),
	    cmocka_unit_test(body_by_content_length),
	    cmocka_unit_test(body_chunked_decoded),
	    cmocka_unit_test(body_chunked_errors),
	    cmocka_unit_test(body_chunk_line_bounded),
	    cmocka_unit_test(body_stops_at_max),
	    cmocka_unit_test(body_chunked_stops_at_max),
	    cmocka_unit_test(body_none_without_length),
	    cmocka_unit_test(origin_form_takes_host_field),
	    cmocka_unit_test(squid_error_page),
	    cmocka_unit_test(proxy_fields_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
