/*
 * Unit tests of the dashboard's input and output edges: HTML and URL
 * escaping, UTF-8 repair, request URI and filter parsing, and the MIME
 * decoding of the message viewer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html.h"
#include "mimeview.h"
#include "webquery.h"

/* Escape s[0..len) and return the text (to free). */
static char *
escaped(const char *s, size_t len)
{
	struct sbuf b;

	sbuf_init(&b);
	html_escape(&b, s, len);
	return sbuf_steal(&b, NULL);
}

static void
expect_escape(const char *in, size_t len, const char *want)
{
	char *got = escaped(in, len);

	assert_string_equal(got, want);
	free(got);
}

static void
test_html_escape_markup(void **state)
{
	(void)state;
	expect_escape("<script>alert(1)</script>", 25,
	    "&lt;script&gt;alert(1)&lt;/script&gt;");
	expect_escape("a&b", 3, "a&amp;b");
	expect_escape("\"onerror='x'", 12, "&quot;onerror=&#39;x&#39;");
	expect_escape("plain text", 10, "plain text");
	expect_escape("", 0, "");
}

static void
test_html_escape_controls(void **state)
{
	(void)state;
	/* Tab, LF and CR stay; NUL, ESC and DEL become U+FFFD. */
	expect_escape("a\tb\r\nc", 6, "a\tb\r\nc");
	expect_escape("a\0b", 3,
	    "a\xef\xbf\xbd"
	    "b");
	expect_escape("\x1b[31m", 5, "\xef\xbf\xbd[31m");
	expect_escape("\x7f", 1, "\xef\xbf\xbd");
}

static void
test_html_escape_utf8(void **state)
{
	(void)state;
	/* Valid sequences pass: e-acute, euro sign, an emoji. */
	expect_escape("caf\xc3\xa9", 5, "caf\xc3\xa9");
	expect_escape("\xe2\x82\xac", 3, "\xe2\x82\xac");
	expect_escape("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
	/* A lone continuation byte and a truncated sequence. */
	expect_escape("\x80", 1, "\xef\xbf\xbd");
	expect_escape("\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	/* Overlong '<' must not come back as a real '<'. */
	expect_escape("\xc0\xbc", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	/* A UTF-16 surrogate and a code point past U+10FFFF. */
	expect_escape(
	    "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect_escape("\xf4\x90\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_utf8_sanitize_latin1(void **state)
{
	struct sbuf b;

	(void)state;
	sbuf_init(&b);
	utf8_sanitize(&b, "caf\xe9", 4, true);
	assert_string_equal(b.data, "caf\xc3\xa9");
	sbuf_free(&b);
	utf8_sanitize(&b, "caf\xe9", 4, false);
	assert_string_equal(b.data, "caf\xef\xbf\xbd");
	sbuf_free(&b);
}

static void
test_url_escape_value(void **state)
{
	struct sbuf b;

	(void)state;
	sbuf_init(&b);
	url_escape(&b, "a b&c=d/\"<>'~._-");
	assert_string_equal(b.data, "a%20b%26c%3Dd%2F%22%3C%3E%27~._-");
	sbuf_free(&b);
}

static void
test_sbuf_printf_grows(void **state)
{
	struct sbuf b;
	size_t i;

	(void)state;
	sbuf_init(&b);
	for (i = 0; i < 1000; i++)
		sbuf_printf(&b, "%05zu,", i);
	assert_int_equal(b.len, 6000);
	assert_memory_equal(b.data + 5994, "00999,", 6);
	sbuf_free(&b);
}

/* URIs. */

static int
parse(const char *raw, struct web_uri *uri)
{
	const char *why = NULL;
	int rc = web_uri_parse(raw, uri, &why);

	if (rc != 0)
		assert_non_null(why);
	return rc;
}

static void
test_uri_plain_paths(void **state)
{
	struct web_uri uri;

	(void)state;
	assert_int_equal(parse("/", &uri), 0);
	assert_string_equal(uri.path, "/");
	assert_int_equal(uri.nparams, 0);
	assert_int_equal(parse("/messages/42/raw", &uri), 0);
	assert_string_equal(uri.path, "/messages/42/raw");
	assert_int_equal(parse("/static/style.css", &uri), 0);
	/* Encoded letters are decoded. */
	assert_int_equal(parse("/%6Dessages", &uri), 0);
	assert_string_equal(uri.path, "/messages");
}

static void
test_uri_rejects_traversal(void **state)
{
	static const char *const bad[] = {
	    "/../../etc/passwd",
	    "/static/../../etc/passwd",
	    "/%2e%2e/%2e%2e/etc/passwd",
	    "/%2E%2E/etc/passwd",
	    "/static/..%2fstyle.css",
	    "/static/%2f",
	    "/./messages",
	    "/messages/.",
	    "//etc/passwd",
	    "/messages//1",
	    "/messages%00",
	    "/messages%",
	    "/messages%4",
	    "/messages%zz",
	    "/a b",
	    "/a\\b",
	    "messages",
	    "",
	    "*",
	    "http://127.0.0.1/",
	    "/#frag",
	};
	struct web_uri uri;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &uri) != 400)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

static void
test_uri_too_long(void **state)
{
	char *raw = malloc(WEB_URI_MAX + 2);
	struct web_uri uri;

	(void)state;
	memset(raw, 'a', WEB_URI_MAX + 1);
	raw[0] = '/';
	raw[WEB_URI_MAX + 1] = '\0';
	assert_int_equal(parse(raw, &uri), 414);
	/* Exactly the limit is fine. */
	raw[WEB_URI_MAX] = '\0';
	assert_int_equal(parse(raw, &uri), 0);
	free(raw);
}

static void
test_uri_query_decoding(void **state)
{
	struct web_uri uri;

	(void)state;
	assert_int_equal(
	    parse("/messages?ip=192.0.2.1&sensor=a+b&day=2026%2D12%2D04&&x",
		&uri),
	    0);
	assert_string_equal(uri.path, "/messages");
	assert_int_equal(uri.nparams, 4);
	assert_string_equal(web_uri_param(&uri, "ip"), "192.0.2.1");
	assert_string_equal(web_uri_param(&uri, "sensor"), "a b");
	assert_string_equal(web_uri_param(&uri, "day"), "2026-12-04");
	assert_string_equal(web_uri_param(&uri, "x"), "");
	assert_null(web_uri_param(&uri, "page"));
}

static void
test_uri_query_rejects(void **state)
{
	static const char *const bad[] = {
	    "/m?ip=%zz",
	    "/m?ip=%4",
	    "/m?ip=%00",
	    "/m?ip=%0a",
	    "/m?ip=1&ip=2",
	    "/m?=1",
	    "/m?IP=1",
	    "/m?a-b=1",
	    "/m?averyveryverylongname=1",
	};
	struct web_uri uri;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &uri) != 400)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

static void
test_uri_query_limits(void **state)
{
	char raw[WEB_URI_MAX], value[WEB_PARAM_VALUE_MAX + 2];
	struct web_uri uri;
	size_t i, len;

	(void)state;
	/* WEB_PARAMS_MAX parameters pass; one more is rejected. */
	len = (size_t)snprintf(raw, sizeof(raw), "/m?");
	for (i = 0; i < WEB_PARAMS_MAX; i++)
		len += (size_t)snprintf(
		    raw + len, sizeof(raw) - len, "p%c=1&", (char)('a' + i));
	assert_int_equal(parse(raw, &uri), 0);
	assert_int_equal(uri.nparams, WEB_PARAMS_MAX);
	snprintf(raw + len, sizeof(raw) - len, "zz=1");
	assert_int_equal(parse(raw, &uri), 400);
	/* A value of the maximum length passes, one byte more fails. */
	memset(value, 'v', sizeof(value));
	value[WEB_PARAM_VALUE_MAX] = '\0';
	snprintf(raw, sizeof(raw), "/m?a=%s", value);
	assert_int_equal(parse(raw, &uri), 0);
	value[WEB_PARAM_VALUE_MAX] = 'v';
	value[WEB_PARAM_VALUE_MAX + 1] = '\0';
	snprintf(raw, sizeof(raw), "/m?a=%s", value);
	assert_int_equal(parse(raw, &uri), 400);
}

/* Filters. */

static int
filter(const char *raw, struct web_filter *f)
{
	const char *why = NULL;
	struct web_uri uri;

	assert_int_equal(parse(raw, &uri), 0);
	return web_filter_parse(&uri, f, &why);
}

static void
test_filter_valid(void **state)
{
	struct web_filter f;

	(void)state;
	assert_int_equal(filter("/m", &f), 0);
	assert_int_equal(f.asn, -1);
	assert_int_equal(f.port, -1);
	assert_int_equal(f.page, 1);
	assert_string_equal(f.ip, "");
	assert_int_equal(filter("/m?sensor=s-1.a_b&ip=2001%3Adb8%3A%3A1"
				"&asn=4294967295&country=DE&port=65535"
				"&day=2024-02-29&since=2024-01-01"
				"&until=2024-12-31&os=Windows&page=3",
			     &f),
	    0);
	assert_string_equal(f.sensor, "s-1.a_b");
	assert_string_equal(f.ip, "2001:db8::1");
	assert_int_equal(f.asn, 4294967295LL);
	assert_string_equal(f.country, "DE");
	assert_int_equal(f.port, 65535);
	assert_string_equal(f.day, "2024-02-29");
	assert_string_equal(f.since, "2024-01-01");
	assert_string_equal(f.until, "2024-12-31");
	assert_string_equal(f.os, "Windows");
	assert_int_equal(f.page, 3);
	/* One day is a range of its own. */
	assert_int_equal(filter("/m?since=2026-12-01&until=2026-12-01", &f), 0);
	/* Empty values are unset filters, as from an empty form field. */
	assert_int_equal(filter("/m?ip=&asn=&port=", &f), 0);
	assert_int_equal(f.asn, -1);
	assert_int_equal(f.port, -1);
}

static void
test_filter_invalid(void **state)
{
	static const char *const bad[] = {
	    "/m?unknown=1",
	    "/m?ip=1.2.3",
	    "/m?ip=1.2.3.4%27%20OR%201=1",
	    "/m?ip=localhost",
	    "/m?asn=-1",
	    "/m?asn=4294967296",
	    "/m?asn=12abc",
	    "/m?asn=+5",
	    "/m?country=de",
	    "/m?country=DEU",
	    "/m?since=2026-12-05&until=2026-12-01",
	    "/m?port=0",
	    "/m?port=65536",
	    "/m?port=25x",
	    "/m?day=2026-02-30",
	    "/m?day=2026-2-3",
	    "/m?day=20261204",
	    "/m?since=yesterday",
	    "/m?page=0",
	    "/m?page=100001",
	    "/m?sensor=a%2Fb",
	    "/m?sensor=%3Cscript%3E",
	    "/m?os=Win%20dows",
	};
	struct web_filter f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (filter(bad[i], &f) != -1)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

static void
test_valid_day(void **state)
{
	(void)state;
	assert_true(web_valid_day("2024-02-29"));
	assert_false(web_valid_day("2023-02-29"));
	assert_false(web_valid_day("2024-13-01"));
	assert_false(web_valid_day("2024-01-01x"));
	assert_false(web_valid_day(""));
}

/* MIME. */

static const json_t *
part(const json_t *view, size_t i)
{
	return json_array_get(json_object_get(view, "parts"), i);
}

static const char *
part_text(const json_t *view, size_t i)
{
	return json_string_value(json_object_get(part(view, i), "text"));
}

static void
test_mime_plain(void **state)
{
	static const char msg[] = "Subject: hi\r\n folded\r\n"
				  "From: a@example.com\r\n\r\nbody\r\n";
	json_t *view = mime_view(msg, sizeof(msg) - 1);
	const json_t *h = json_object_get(view, "headers");

	(void)state;
	assert_int_equal(json_array_size(h), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(h, 0), "value")),
	    "hi\r\n folded");
	assert_int_equal(json_array_size(json_object_get(view, "parts")), 1);
	assert_string_equal(part_text(view, 0), "body\r\n");
	json_decref(view);
}

static void
test_mime_multipart_decoding(void **state)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
	    "preamble\n--b1\n"
	    "Content-Type: text/plain; charset=ISO-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "caf=E9 soft=\nbreak =ZZ\n--b1\n"
	    "Content-Type: text/html\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\n--b1\n"
	    "Content-Type: image/png; name=\"x.png\"\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "iVBORw0KGgo=\n--b1--\nepilogue\n";
	json_t *view = mime_view(msg, sizeof(msg) - 1);

	(void)state;
	assert_int_equal(json_array_size(json_object_get(view, "parts")), 3);
	assert_string_equal(part_text(view, 0), "caf\xc3\xa9 softbreak =ZZ");
	assert_true(json_is_true(json_object_get(part(view, 1), "html")));
	assert_string_equal(part_text(view, 1), "<script>alert(1)</script>");
	assert_null(part_text(view, 2));
	assert_string_equal(
	    json_string_value(json_object_get(part(view, 2), "filename")),
	    "x.png");
	assert_int_equal(
	    json_integer_value(json_object_get(part(view, 2), "size")), 8);
	assert_false(json_is_true(json_object_get(view, "truncated")));
	json_decref(view);
}

/* The decoded value of the only header field of a one-line message. */
static void
expect_header(const char *field, const char *want)
{
	json_t *view = mime_view(field, strlen(field));
	const json_t *h = json_array_get(json_object_get(view, "headers"), 0);

	assert_string_equal(
	    json_string_value(json_object_get(h, "value")), want);
	json_decref(view);
}

static void
test_mime_encoded_words(void **state)
{
	(void)state;
	expect_header("Subject: =?UTF-8?B?Q2Fmw6k=?=\n", "Caf\xc3\xa9");
	expect_header("Subject: =?iso-8859-1?Q?Caf=E9_cr=E8me?=\n",
	    "Caf\xc3\xa9 cr\xc3\xa8me");
	/* Space between two encoded words goes, other text stays. */
	expect_header(
	    "Subject: =?utf-8?Q?a?= =?utf-8?Q?b?= c =?utf-8?Q?d?=\n", "ab c d");
	/* Decoded markup is only text: the page escapes it later. */
	expect_header("Subject: =?utf-8?B?PHNjcmlwdD4=?=\n", "<script>");
	/* Unknown charsets, bad encodings and broken words stay as sent. */
	expect_header("Subject: =?koi8-r?B?wMHJ?=\n", "=?koi8-r?B?wMHJ?=");
	expect_header("Subject: =?utf-8?X?abc?=\n", "=?utf-8?X?abc?=");
	expect_header("Subject: =?utf-8?B?abc\n", "=?utf-8?B?abc");
	expect_header("Subject: =?utf-8?Q?a b?=\n", "=?utf-8?Q?a b?=");
	expect_header("Subject: =?" "?=\n", "=?" "?=");
	/* Decoded bytes that are not UTF-8 become U+FFFD. */
	expect_header("Subject: =?utf-8?B?/w==?=\n", "\xef\xbf\xbd");
}

static void
test_mime_unclosed_multipart(void **state)
{
	static const char blank_tail[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\n\r\none\r\n--b\r\n\r\n";
	static const char text_tail[] =
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\none\n--b\n\ntwo, never closed\n";
	json_t *view;

	(void)state;
	/* A blank unclosed last part is the end, not another part. */
	view = mime_view(blank_tail, sizeof(blank_tail) - 1);
	assert_int_equal(json_array_size(json_object_get(view, "parts")), 1);
	assert_string_equal(part_text(view, 0), "one");
	json_decref(view);
	view = mime_view(text_tail, sizeof(text_tail) - 1);
	assert_int_equal(json_array_size(json_object_get(view, "parts")), 2);
	assert_string_equal(part_text(view, 1), "two, never closed\n");
	json_decref(view);
}

static void
test_mime_nesting_capped(void **state)
{
	struct sbuf b;
	json_t *view;
	int i;

	(void)state;
	sbuf_init(&b);
	for (i = 0; i < 20; i++)
		sbuf_printf(&b,
		    "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n"
		    "--b%d\n",
		    i, i);
	sbuf_puts(&b, "\ninnermost\n");
	view = mime_view(b.data, b.len);
	assert_true(json_is_true(json_object_get(view, "truncated")));
	assert_int_equal(json_array_size(json_object_get(view, "parts")), 1);
	json_decref(view);
	sbuf_free(&b);
}

static void
test_mime_parts_capped(void **state)
{
	struct sbuf b;
	json_t *view;
	int i;

	(void)state;
	sbuf_init(&b);
	sbuf_puts(&b, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (i = 0; i < WEB_MIME_PARTS_MAX + 10; i++)
		sbuf_puts(&b, "--x\n\npart\n");
	view = mime_view(b.data, b.len);
	assert_int_equal(json_array_size(json_object_get(view, "parts")),
	    WEB_MIME_PARTS_MAX);
	assert_true(json_is_true(json_object_get(view, "truncated")));
	json_decref(view);
	sbuf_free(&b);
}

static void
test_mime_no_body(void **state)
{
	json_t *view;

	(void)state;
	view = mime_view("", 0);
	assert_int_equal(json_array_size(json_object_get(view, "headers")), 0);
	json_decref(view);
	view = mime_view("Subject: \xff\xfe\n", 12);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(view, "headers"), 0), "value")),
	    "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(view);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_escape_markup),
	    cmocka_unit_test(test_html_escape_controls),
	    cmocka_unit_test(test_html_escape_utf8),
	    cmocka_unit_test(test_utf8_sanitize_latin1),
	    cmocka_unit_test(test_url_escape_value),
	    cmocka_unit_test(test_sbuf_printf_grows),
	    cmocka_unit_test(test_uri_plain_paths),
	    cmocka_unit_test(test_uri_rejects_traversal),
	    cmocka_unit_test(test_uri_too_long),
	    cmocka_unit_test(test_uri_query_decoding),
	    cmocka_unit_test(test_uri_query_rejects),
	    cmocka_unit_test(test_uri_query_limits),
	    cmocka_unit_test(test_filter_valid),
	    cmocka_unit_test(test_filter_invalid),
	    cmocka_unit_test(test_valid_day),
	    cmocka_unit_test(test_mime_plain),
	    cmocka_unit_test(test_mime_multipart_decoding),
	    cmocka_unit_test(test_mime_encoded_words),
	    cmocka_unit_test(test_mime_unclosed_multipart),
	    cmocka_unit_test(test_mime_nesting_capped),
	    cmocka_unit_test(test_mime_parts_capped),
	    cmocka_unit_test(test_mime_no_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
