/*
 * Tests of the shared code: the JSON Lines writer, the INI reader,
 * CIDR matching and the small helpers.  Every JSON line the writer
 * produces is parsed back with jansson, so that "valid JSON" is checked
 * by an independent parser and not by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ini.h"
#include "jsonw.h"
#include "netaddr.h"
#include "spampot_limits.h"
#include "util.h"

/* Bytes past the writer's capacity that must stay untouched. */
#define GUARD_LEN  64
#define GUARD_BYTE 0x5a

/* Parse one line as a JSON object, or fail the test. */
static json_t *
parse_line(const char *buf, int len)
{
	json_error_t error;
	json_t *root;

	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	assert_ptr_equal(memchr(buf, '\n', (size_t)len), buf + len - 1);
	root = json_loadb(
	    buf, (size_t)len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &error);
	if (root == NULL)
		fail_msg("invalid JSON at column %d: %s\n%s", error.column,
		    error.text, buf);
	assert_true(json_is_object(root));
	return root;
}

/* Check that the string at key is exactly the len bytes at want. */
static void
assert_json_string(json_t *root, const char *key, const void *want, size_t len)
{
	json_t *v = json_object_get(root, key);

	assert_non_null(v);
	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), len);
	assert_memory_equal(json_string_value(v), want, len);
}

/* JSON writer: escapes. */

struct escape_case {
	const char *name;
	const char *in;
	size_t in_len;
	const char *json;    /* the value as written, between quotes */
	const char *decoded; /* the value as jansson reads it back */
	size_t decoded_len;
};

#define BYTES(s) s, sizeof(s) - 1

static const struct escape_case escape_cases[] = {
    {"plain ASCII", BYTES("hello, world ~"), "hello, world ~",
	BYTES("hello, world ~")},
    {"quote", BYTES("a\"b"), "a\\\"b", BYTES("a\"b")},
    {"backslash", BYTES("a\\b"), "a\\\\b", BYTES("a\\b")},
    {"control bytes", BYTES("\x00\x01\t\n\r\x1f"),
	"\\u0000\\u0001\\u0009\\u000a\\u000d\\u001f",
	BYTES("\x00\x01\t\n\r\x1f")},
    {"DEL", BYTES("a\x7f"), "a\\u007f", BYTES("a\x7f")},
    {"two-byte UTF-8", BYTES("caf\xc3\xa9"), "caf\xc3\xa9",
	BYTES("caf\xc3\xa9")},
    {"three-byte UTF-8", BYTES("\xe2\x82\xac"), "\xe2\x82\xac",
	BYTES("\xe2\x82\xac")},
    {"four-byte UTF-8", BYTES("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80",
	BYTES("\xf0\x9f\x98\x80")},
    {"U+10FFFF", BYTES("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf",
	BYTES("\xf4\x8f\xbf\xbf")},
    {"past U+10FFFF", BYTES("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080",
	BYTES("\xc3\xb4\xc2\x90\xc2\x80\xc2\x80")},
    {"Latin-1 byte", BYTES("caf\xe9"), "caf\\u00e9", BYTES("caf\xc3\xa9")},
    {"byte 0xff", BYTES("\xff"), "\\u00ff", BYTES("\xc3\xbf")},
    {"lone continuation", BYTES("\x80"), "\\u0080", BYTES("\xc2\x80")},
    {"overlong slash C0", BYTES("\xc0\xaf"), "\\u00c0\\u00af",
	BYTES("\xc3\x80\xc2\xaf")},
    {"overlong C1", BYTES("\xc1\xbf"), "\\u00c1\\u00bf",
	BYTES("\xc3\x81\xc2\xbf")},
    {"overlong three-byte", BYTES("\xe0\x80\xaf"), "\\u00e0\\u0080\\u00af",
	BYTES("\xc3\xa0\xc2\x80\xc2\xaf")},
    {"overlong four-byte", BYTES("\xf0\x80\x80\xaf"),
	"\\u00f0\\u0080\\u0080\\u00af",
	BYTES("\xc3\xb0\xc2\x80\xc2\x80\xc2\xaf")},
    {"surrogate D800", BYTES("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080",
	BYTES("\xc3\xad\xc2\xa0\xc2\x80")},
    {"surrogate DFFF", BYTES("\xed\xbf\xbf"), "\\u00ed\\u00bf\\u00bf",
	BYTES("\xc3\xad\xc2\xbf\xc2\xbf")},
    {"sequence cut at end", BYTES("a\xe2\x82"), "a\\u00e2\\u0082",
	BYTES("a\xc3\xa2\xc2\x82")},
    {"bad continuation", BYTES("\xc3("), "\\u00c3(", BYTES("\xc3\x83(")},
    {"valid after invalid", BYTES("\xff\xc3\xa9"), "\\u00ff\xc3\xa9",
	BYTES("\xc3\xbf\xc3\xa9")},
};

static void
jsonw_escapes_table(void **state)
{
	char buf[EVENT_LINE_MAX], want[256];
	struct jsonw w;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < NELEM(escape_cases); i++) {
		const struct escape_case *c = &escape_cases[i];
		json_t *root;

		print_message("case: %s\n", c->name);
		jsonw_begin(&w, buf, sizeof(buf));
		jsonw_strn(&w, "k", c->in, c->in_len);
		n = jsonw_end(&w);
		snprintf(want, sizeof(want), "{\"k\":\"%s\"}\n", c->json);
		assert_string_equal(buf, want);
		assert_int_equal(n, strlen(want));

		root = parse_line(buf, n);
		assert_json_string(root, "k", c->decoded, c->decoded_len);
		json_decref(root);
	}
}

static void
jsonw_escapes_keys(void **state)
{
	char buf[256];
	struct jsonw w;
	json_t *root;
	int n;

	(void)state;
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_str(&w, "a\"b\\c\n", "v");
	n = jsonw_end(&w);
	assert_string_equal(buf, "{\"a\\\"b\\\\c\\u000a\":\"v\"}\n");

	root = parse_line(buf, n);
	assert_json_string(root, "a\"b\\c\n", "v", 1);
	json_decref(root);
}

/* JSON writer: truncation of long strings. */

static void
jsonw_truncates_long_string(void **state)
{
	static char in[2 * EVENT_STRING_MAX], buf[EVENT_LINE_MAX];
	struct jsonw w;
	json_t *root;
	int n;

	(void)state;
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_str(&w, "long", in);
	jsonw_strn(&w, "exact", in, EVENT_STRING_MAX);
	jsonw_strn(&w, "one-less", in, EVENT_STRING_MAX - 1);
	n = jsonw_end(&w);

	root = parse_line(buf, n);
	assert_json_string(root, "long", in, EVENT_STRING_MAX);
	assert_json_string(root, "exact", in, EVENT_STRING_MAX);
	assert_json_string(root, "one-less", in, EVENT_STRING_MAX - 1);
	json_decref(root);
}

static void
jsonw_truncation_splits_character(void **state)
{
	static char in[EVENT_STRING_MAX + 1], buf[EVENT_LINE_MAX];
	static char want[EVENT_STRING_MAX + 1];
	struct jsonw w;
	json_t *root;
	int n;

	(void)state;
	/*
	 * A two-byte character straddles the cut: only its lead byte is
	 * kept, and alone it is not valid UTF-8, so it becomes \u00c3.
	 */
	memset(in, 'a', EVENT_STRING_MAX - 1);
	in[EVENT_STRING_MAX - 1] = '\xc3';
	in[EVENT_STRING_MAX] = '\xa9';
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_strn(&w, "k", in, sizeof(in));
	n = jsonw_end(&w);
	assert_non_null(strstr(buf, "aaa\\u00c3\"}\n"));

	root = parse_line(buf, n);
	memset(want, 'a', EVENT_STRING_MAX - 1);
	want[EVENT_STRING_MAX - 1] = '\xc3';
	want[EVENT_STRING_MAX] = '\x83';
	assert_json_string(root, "k", want, EVENT_STRING_MAX + 1);
	json_decref(root);
}

static void
jsonw_truncates_escaped_bytes(void **state)
{
	static char in[2 * EVENT_STRING_MAX], buf[EVENT_LINE_MAX];
	struct jsonw w;
	json_t *root;
	int n;

	(void)state;
	/* The cut counts input bytes, not the six bytes of each escape. */
	memset(in, '\x01', sizeof(in));
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_strn(&w, "k", in, sizeof(in));
	n = jsonw_end(&w);
	assert_int_equal(n, strlen("{\"k\":\"\"}\n") + 6 * EVENT_STRING_MAX);

	root = parse_line(buf, n);
	assert_json_string(root, "k", in, EVENT_STRING_MAX);
	json_decref(root);
}

/* JSON writer: other values. */

static void
jsonw_empty_object(void **state)
{
	char buf[8];
	struct jsonw w;

	(void)state;
	jsonw_begin(&w, buf, sizeof(buf));
	assert_int_equal(jsonw_end(&w), 3);
	assert_string_equal(buf, "{}\n");
}

static void
jsonw_numbers_bools_null(void **state)
{
	char buf[512];
	struct jsonw w;
	json_t *root;
	int n;

	(void)state;
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_int(&w, "zero", 0);
	jsonw_int(&w, "minus-one", -1);
	jsonw_int(&w, "min", INT64_MIN);
	jsonw_int(&w, "max", INT64_MAX);
	jsonw_bool(&w, "yes", true);
	jsonw_bool(&w, "no", false);
	jsonw_str(&w, "none", NULL);
	jsonw_str(&w, "empty", "");
	n = jsonw_end(&w);
	assert_string_equal(buf,
	    "{\"zero\":0,\"minus-one\":-1,\"min\":-9223372036854775808,"
	    "\"max\":9223372036854775807,\"yes\":true,\"no\":false,"
	    "\"none\":null,\"empty\":\"\"}\n");

	root = parse_line(buf, n);
	assert_int_equal(json_integer_value(json_object_get(root, "zero")), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(root, "minus-one")), -1);
	assert_true(
	    json_integer_value(json_object_get(root, "min")) == INT64_MIN);
	assert_true(
	    json_integer_value(json_object_get(root, "max")) == INT64_MAX);
	assert_true(json_is_true(json_object_get(root, "yes")));
	assert_true(json_is_false(json_object_get(root, "no")));
	assert_true(json_is_null(json_object_get(root, "none")));
	assert_json_string(root, "empty", "", 0);
	json_decref(root);
}

static void
jsonw_arrays(void **state)
{
	char buf[512];
	struct jsonw w;
	json_t *root, *a;
	int n;

	(void)state;
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_array_begin(&w, "empty");
	jsonw_array_end(&w);
	jsonw_array_begin(&w, "rcpt");
	jsonw_array_strn(&w, "a@example.com", 13);
	jsonw_array_strn(&w, "\"q\"\xff", 4);
	jsonw_array_strn(&w, "", 0);
	jsonw_array_end(&w);
	jsonw_int(&w, "after", 3);
	n = jsonw_end(&w);
	assert_string_equal(buf,
	    "{\"empty\":[],\"rcpt\":[\"a@example.com\",\"\\\"q\\\"\\u00ff\","
	    "\"\"],\"after\":3}\n");

	root = parse_line(buf, n);
	a = json_object_get(root, "empty");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 0);
	a = json_object_get(root, "rcpt");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(
	    json_string_value(json_array_get(a, 0)), "a@example.com");
	assert_string_equal(
	    json_string_value(json_array_get(a, 1)), "\"q\"\xc3\xbf");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "");
	assert_int_equal(json_integer_value(json_object_get(root, "after")), 3);
	json_decref(root);
}

static void
jsonw_array_first_and_last(void **state)
{
	char buf[128];
	struct jsonw w;
	json_t *root;
	int n;

	(void)state;
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_array_begin(&w, "only");
	jsonw_array_strn(&w, "x", 1);
	jsonw_array_end(&w);
	n = jsonw_end(&w);
	assert_string_equal(buf, "{\"only\":[\"x\"]}\n");
	root = parse_line(buf, n);
	json_decref(root);
}

/* JSON writer: a buffer too small for the object. */

/* Write one event with every kind of value and return jsonw_end(). */
static int
write_sample(char *buf, size_t cap)
{
	struct jsonw w;

	jsonw_begin(&w, buf, cap);
	jsonw_str(&w, "event.action", "message.stored");
	jsonw_strn(&w, "smtp.helo", "h\"\x01\xff\xc3\xa9", 6);
	jsonw_int(&w, "message.size", 123456789);
	jsonw_bool(&w, "smtp.esmtp", true);
	jsonw_str(&w, "proxy.user", NULL);
	jsonw_array_begin(&w, "smtp.rcpt_to");
	jsonw_array_strn(&w, "a@example.com", 13);
	jsonw_array_strn(&w, "b@example.net", 13);
	jsonw_array_end(&w);
	jsonw_int(&w, "smtp.rcpt_count", 2);
	return jsonw_end(&w);
}

static void
jsonw_small_buffer_fails(void **state)
{
	char full[1024];
	int len = write_sample(full, sizeof(full));
	size_t cap, i;

	(void)state;
	assert_true(len > 0);
	json_decref(parse_line(full, len));

	/*
	 * Every capacity below len + 1 (the object and its NUL) fails,
	 * and no capacity lets the writer touch a byte at or past cap.
	 */
	for (cap = 0; cap <= (size_t)len + 1; cap++) {
		char *buf = malloc(cap + GUARD_LEN);
		int n;

		assert_non_null(buf);
		memset(buf, GUARD_BYTE, cap + GUARD_LEN);
		n = write_sample(buf, cap);
		if (cap <= (size_t)len) {
			if (n != -1)
				fail_msg(
				    "cap %zu: returned %d, not -1", cap, n);
		} else {
			assert_int_equal(n, len);
			assert_memory_equal(buf, full, (size_t)len + 1);
		}
		for (i = cap; i < cap + GUARD_LEN; i++)
			if ((unsigned char)buf[i] != GUARD_BYTE)
				fail_msg("cap %zu: byte %zu written", cap, i);
		free(buf);
	}
}

static void
jsonw_failure_is_sticky(void **state)
{
	static char in[EVENT_STRING_MAX];
	char buf[64];
	struct jsonw w;

	(void)state;
	/* A string that does not fit, then values that would. */
	memset(in, 'x', sizeof(in));
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_strn(&w, "big", in, sizeof(in));
	jsonw_int(&w, "n", 1);
	jsonw_bool(&w, "b", true);
	assert_int_equal(jsonw_end(&w), -1);
}

/* INI reader. */

struct ini_log {
	char text[4096];
	size_t len;
	int stop_at_line; /* the handler fails on this line, if > 0 */
};

/* Record each call as "line:section:name:key=value\n". */
static int
log_handler(void *arg, const char *section, const char *name, const char *key,
    const char *value, int line, char *err, size_t errlen)
{
	struct ini_log *log = arg;
	int n;

	if (line == log->stop_at_line) {
		snprintf(err, errlen, "handler stopped at line %d", line);
		return 1;
	}
	if (key == NULL)
		assert_null(value);
	else
		assert_non_null(value);
	n = snprintf(log->text + log->len, sizeof(log->text) - log->len,
	    "%d:%s:%s:%s=%s\n", line, section, name ? name : "-",
	    key ? key : "-", value ? value : "-");
	assert_true(n > 0 && (size_t)n < sizeof(log->text) - log->len);
	log->len += (size_t)n;
	return 0;
}

static int
ini_parse_text(
    const char *text, size_t len, struct ini_log *log, char *err, size_t errlen)
{
	memset(log, 0, sizeof(*log));
	err[0] = '\0';
	return ini_parse(text, len, log_handler, log, err, errlen);
}

static void
ini_sections_keys_comments(void **state)
{
	static const char text[] = "# leading comment\n"
				   "; another comment\n"
				   "\n"
				   "[sensor]\n"
				   "name=sensor01\n"
				   "  spool   =   /var/lib/spampot  \n"
				   "\t\n"
				   "   # indented comment\n"
				   "empty =\n"
				   "url = http://a/?x=1\n"
				   "inline = 25 # kept\n"
				   "[ listener  smtp-25 ]\n"
				   "port\t=\t25\t\n"
				   "[listener\thttp_8080.b]\n"
				   "last = no newline";
	struct ini_log log;
	char err[128];

	(void)state;
	assert_int_equal(
	    ini_parse_text(text, sizeof(text) - 1, &log, err, sizeof(err)), 0);
	assert_string_equal(log.text,
	    "4:sensor:-:-=-\n"
	    "5:sensor:-:name=sensor01\n"
	    "6:sensor:-:spool=/var/lib/spampot\n"
	    "9:sensor:-:empty=\n"
	    "10:sensor:-:url=http://a/?x=1\n"
	    "11:sensor:-:inline=25 # kept\n"
	    "12:listener:smtp-25:-=-\n"
	    "13:listener:smtp-25:port=25\n"
	    "14:listener:http_8080.b:-=-\n"
	    "15:listener:http_8080.b:last=no newline\n");
}

static void
ini_crlf_lines(void **state)
{
	static const char text[] = "# comment\r\n"
				   "\r\n"
				   "[sensor]\r\n"
				   "name = a b \r\n"
				   "[listener x]\r\n"
				   "port = 25\r\n";
	struct ini_log log;
	char err[128];

	(void)state;
	assert_int_equal(
	    ini_parse_text(text, sizeof(text) - 1, &log, err, sizeof(err)), 0);
	assert_string_equal(log.text,
	    "3:sensor:-:-=-\n"
	    "4:sensor:-:name=a b\n"
	    "5:listener:x:-=-\n"
	    "6:listener:x:port=25\n");
}

static void
ini_empty_input(void **state)
{
	struct ini_log log;
	char err[128];

	(void)state;
	assert_int_equal(ini_parse_text("", 0, &log, err, sizeof(err)), 0);
	assert_int_equal(log.len, 0);
	assert_int_equal(
	    ini_parse_text("\n\n# x\n", 6, &log, err, sizeof(err)), 0);
	assert_int_equal(log.len, 0);
}

struct ini_error_case {
	const char *text;
	size_t len;
	const char *err;
};

static const struct ini_error_case ini_error_cases[] = {
    {BYTES("[s]\nkey value\n"), "line 2: expected key = value"},
    {BYTES("\n# c\nkey = v\n"), "line 3: key \"key\" before any [section]"},
    {BYTES("[s\n"), "line 1: invalid section header"},
    {BYTES("[s] # c\n"), "line 1: invalid section header"},
    {BYTES("[]\n"), "line 1: invalid section header"},
    {BYTES("[ ]\n"), "line 1: invalid section header"},
    {BYTES("[s!]\n"), "line 1: invalid section header"},
    {BYTES("[s]x\n"), "line 1: invalid section header"},
    {BYTES("[s a b]\n"),
	"line 1: invalid section name \"a b\": use letters, digits, '-', "
	"'_' and '.'"},
    {BYTES("[s a/b]\n"),
	"line 1: invalid section name \"a/b\": use letters, digits, '-', "
	"'_' and '.'"},
    {BYTES("[s]\nk = 1\nk = 2\n"),
	"line 3: \"k\" is already set on line 2 of this section"},
    {BYTES("[s]\nbad key = 1\n"), "line 2: invalid key"},
    {BYTES("[s]\n= 1\n"), "line 2: invalid key"},
    {BYTES("[s]\nk!y = 1\n"), "line 2: invalid key"},
    {BYTES("[s]\nk\0ey = 1\n"), "line 2: contains a NUL byte"},
    {BYTES("[s]\n# \0 in a comment\n"), "line 2: contains a NUL byte"},
    {BYTES("[s]\r\n\r\nbad\r\n"), "line 3: expected key = value"},
};

static void
ini_errors_name_line(void **state)
{
	struct ini_log log;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(ini_error_cases); i++) {
		const struct ini_error_case *c = &ini_error_cases[i];

		print_message("case %zu: %s\n", i, c->err);
		assert_int_equal(
		    ini_parse_text(c->text, c->len, &log, err, sizeof(err)),
		    -1);
		assert_string_equal(err, c->err);
	}
}

static void
ini_section_keys_limit(void **state)
{
	static char text[16 * (CONFIG_SECTION_KEYS_MAX + 2)];
	struct ini_log log;
	char err[128], want[64];
	size_t len;
	int i;

	(void)state;
	/* CONFIG_SECTION_KEYS_MAX keys pass, and a new section starts over. */
	len = (size_t)snprintf(text, sizeof(text), "[s]\n");
	for (i = 0; i < CONFIG_SECTION_KEYS_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "k%d = 1\n", i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "[t]\nk0 = 1\n");
	assert_int_equal(ini_parse_text(text, len, &log, err, sizeof(err)), 0);

	/* One key more in a section is an error. */
	len = (size_t)snprintf(text, sizeof(text), "[s]\n");
	for (i = 0; i <= CONFIG_SECTION_KEYS_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "k%d = 1\n", i);
	assert_int_equal(ini_parse_text(text, len, &log, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "line %d: more than %d keys in one section",
	    CONFIG_SECTION_KEYS_MAX + 2, CONFIG_SECTION_KEYS_MAX);
	assert_string_equal(err, want);
}

static void
ini_line_length_limit(void **state)
{
	static char text[2 * CONFIG_LINE_MAX];
	struct ini_log log;
	char err[128], want[64];
	size_t len;

	(void)state;
	/* "[s]\n" then "k = vvv..." of exactly CONFIG_LINE_MAX bytes. */
	len = (size_t)snprintf(text, sizeof(text), "[s]\nk = ");
	memset(text + len, 'v', CONFIG_LINE_MAX - 4);
	len += CONFIG_LINE_MAX - 4;
	text[len++] = '\n';
	assert_int_equal(ini_parse_text(text, len, &log, err, sizeof(err)), 0);
	assert_int_equal(log.len,
	    strlen("1:s:-:-=-\n") + strlen("2:s:-:k=\n") + CONFIG_LINE_MAX - 4);

	/* One byte more is an error naming the line. */
	memmove(text + 9, text + 8, len - 8);
	len++;
	assert_int_equal(ini_parse_text(text, len, &log, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "line 2: longer than %d bytes",
	    CONFIG_LINE_MAX);
	assert_string_equal(err, want);

	/* The same without a final newline. */
	assert_int_equal(
	    ini_parse_text(text, len - 1, &log, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void
ini_handler_stops_parse(void **state)
{
	static const char text[] = "[a]\nx = 1\ny = 2\nz = 3\n";
	struct ini_log log;
	char err[128];

	(void)state;
	memset(&log, 0, sizeof(log));
	log.stop_at_line = 3;
	assert_int_equal(ini_parse(text, sizeof(text) - 1, log_handler, &log,
			     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "handler stopped at line 3");
	assert_string_equal(log.text, "1:a:-:-=-\n2:a:-:x=1\n");
}

/* CIDR parsing and matching. */

struct cidr_case {
	const char *text;
	int family;
	int prefix;
	const char *addr; /* the network address as inet_pton reads it */
};

static const struct cidr_case cidr_valid[] = {
    {"192.0.2.0/24", AF_INET, 24, "192.0.2.0"},
    {"192.0.2.7", AF_INET, 32, "192.0.2.7"},
    {"192.0.2.7/32", AF_INET, 32, "192.0.2.7"},
    {"0.0.0.0/0", AF_INET, 0, "0.0.0.0"},
    {"10.1.2.3/8", AF_INET, 8, "10.1.2.3"},
    {"2001:db8::/32", AF_INET6, 32, "2001:db8::"},
    {"::1", AF_INET6, 128, "::1"},
    {"::1/128", AF_INET6, 128, "::1"},
    {"::/0", AF_INET6, 0, "::"},
    {"::ffff:192.0.2.1", AF_INET6, 128, "::ffff:192.0.2.1"},
};

static const char *const cidr_invalid[] = {
    "",
    "/",
    "/24",
    "192.0.2.0/",
    "192.0.2.0/33",
    "192.0.2.0/-1",
    "192.0.2.0/24/1",
    "192.0.2.0/2x",
    "192.0.2.0/0x10",
    "192.0.2.0/ 24",
    "192.0.2.0/+24",
    "192.0.2.0 /24",
    " 192.0.2.0",
    "192.0.2",
    "256.0.0.0",
    "192.0.2.0.1",
    "mail.example.com",
    "::/129",
    "2001:db8::/999",
    "2001:db8:::/32",
    "fe80::1%lo",
    "0000000000000000000000000000000000000000000000000000000000000000",
};

static void
cidr_parse_valid(void **state)
{
	uint8_t want[16];
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cidr_valid); i++) {
		const struct cidr_case *v = &cidr_valid[i];

		print_message("case: %s\n", v->text);
		memset(want, 0, sizeof(want));
		assert_int_equal(inet_pton(v->family, v->addr, want), 1);
		assert_int_equal(cidr_parse(v->text, &c), 0);
		assert_int_equal(c.family, v->family);
		assert_int_equal(c.prefix, v->prefix);
		assert_memory_equal(c.addr, want, sizeof(want));
	}
}

static void
cidr_parse_invalid(void **state)
{
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cidr_invalid); i++) {
		print_message("case: \"%s\"\n", cidr_invalid[i]);
		assert_int_equal(cidr_parse(cidr_invalid[i], &c), -1);
	}
}

/* A socket address of either family from its text form. */
static void
make_sockaddr(const char *text, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
}

struct contains_case {
	const char *net;
	const char *addr;
	bool inside;
};

static const struct contains_case contains_cases[] = {
    {"192.0.2.0/24", "192.0.2.0", true},
    {"192.0.2.0/24", "192.0.2.255", true},
    {"192.0.2.0/24", "192.0.3.0", false},
    {"192.0.2.0/24", "192.0.1.255", false},
    {"192.0.2.128/25", "192.0.2.127", false},
    {"192.0.2.128/25", "192.0.2.128", true},
    {"10.0.0.0/31", "10.0.0.1", true},
    {"10.0.0.0/31", "10.0.0.2", false},
    {"10.0.0.0/9", "10.127.255.255", true},
    {"10.0.0.0/9", "10.128.0.0", false},
    {"192.0.2.7/32", "192.0.2.7", true},
    {"192.0.2.7/32", "192.0.2.6", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "255.255.255.255", true},
    /* IPv4-mapped IPv6 addresses match IPv4 networks. */
    {"192.0.2.0/24", "::ffff:192.0.2.7", true},
    {"192.0.2.0/24", "::ffff:192.0.3.7", false},
    {"192.0.2.7/32", "::ffff:192.0.2.7", true},
    {"0.0.0.0/0", "::ffff:203.0.113.9", true},
    /* Other IPv6 addresses never match an IPv4 network. */
    {"0.0.0.0/0", "2001:db8::1", false},
    {"0.0.0.0/0", "::", false},
    {"192.0.2.0/24", "::192.0.2.7", false},
    {"192.0.2.0/24", "::fffe:192.0.2.7", false},
    /* IPv6 networks. */
    {"2001:db8::/32", "2001:db8::1", true},
    {"2001:db8::/32", "2001:db8:ffff:ffff::1", true},
    {"2001:db8::/32", "2001:db9::", false},
    {"2001:db8::/33", "2001:db8:7fff::1", true},
    {"2001:db8::/33", "2001:db8:8000::1", false},
    {"::1/128", "::1", true},
    {"::1/128", "::2", false},
    {"::/0", "2001:db8::1", true},
    {"::/0", "::ffff:192.0.2.7", true},
    {"::/0", "192.0.2.7", false},
    {"2001:db8::/32", "192.0.2.7", false},
};

static void
cidr_contains_table(void **state)
{
	struct sockaddr_storage ss;
	struct cidr net;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(contains_cases); i++) {
		const struct contains_case *c = &contains_cases[i];

		print_message("case: %s in %s\n", c->addr, c->net);
		assert_int_equal(cidr_parse(c->net, &net), 0);
		make_sockaddr(c->addr, 25, &ss);
		assert_int_equal(
		    cidr_contains(&net, (struct sockaddr *)&ss), c->inside);
	}
}

static void
cidr_contains_other_family(void **state)
{
	struct sockaddr_un local;
	struct cidr net;

	(void)state;
	memset(&local, 0, sizeof(local));
	local.sun_family = AF_UNIX;
	assert_int_equal(cidr_parse("0.0.0.0/0", &net), 0);
	assert_false(cidr_contains(&net, (struct sockaddr *)&local));
	assert_int_equal(cidr_parse("::/0", &net), 0);
	assert_false(cidr_contains(&net, (struct sockaddr *)&local));
}

static void
addr_text_and_port(void **state)
{
	static const struct {
		const char *in;
		int port;
		const char *text;
	} cases[] = {
	    {"192.0.2.7", 25, "192.0.2.7"},
	    {"0.0.0.0", 65535, "0.0.0.0"},
	    {"2001:0db8:0000:0000:0000:0000:0000:0001", 8080, "2001:db8::1"},
	    {"::1", 1, "::1"},
	    {"::ffff:192.0.2.7", 3128, "192.0.2.7"},
	    {"::192.0.2.7", 80, "::192.0.2.7"},
	};
	struct sockaddr_storage ss;
	struct sockaddr_un local;
	char text[ADDR_TEXT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		make_sockaddr(cases[i].in, cases[i].port, &ss);
		memset(text, 'x', sizeof(text));
		addr_to_text((struct sockaddr *)&ss, text);
		assert_string_equal(text, cases[i].text);
		assert_int_equal(
		    addr_port((struct sockaddr *)&ss), cases[i].port);
	}
	memset(&local, 0, sizeof(local));
	local.sun_family = AF_UNIX;
	memset(text, 'x', sizeof(text));
	addr_to_text((struct sockaddr *)&local, text);
	assert_string_equal(text, "");
	assert_int_equal(addr_port((struct sockaddr *)&local), 0);
}

/* Helpers in util.c. */

struct long_case {
	const char *text;
	long min, max;
	int rc;
	long value;
};

static const struct long_case long_cases[] = {
    {"0", 0, 10, 0, 0},
    {"10", 0, 10, 0, 10},
    {"11", 0, 10, -1, 0},
    {"-1", 0, 10, -1, 0},
    {"-10", -10, 10, 0, -10},
    {"-11", -10, 10, -1, 0},
    {"007", 0, 10, 0, 7},
    {"65535", 1, 65535, 0, 65535},
    {"65536", 1, 65535, -1, 0},
    {"9223372036854775807", 0, LONG_MAX, 0, LONG_MAX},
    {"9223372036854775808", 0, LONG_MAX, -1, 0},
    {"-9223372036854775809", LONG_MIN, 0, -1, 0},
    {"99999999999999999999999", LONG_MIN, LONG_MAX, -1, 0},
    {"", 0, 10, -1, 0},
    {"-", -10, 10, -1, 0},
    {"5a", 0, 10, -1, 0},
    {"a5", 0, 10, -1, 0},
    {"5 ", 0, 10, -1, 0},
    {" 5", 0, 10, -1, 0},
    {"\t5", 0, 10, -1, 0},
    {"\v5", 0, 10, -1, 0},
    {"+5", 0, 10, -1, 0},
    {"- 5", -10, 10, -1, 0},
    {"0x5", 0, 10, -1, 0},
    {"1e1", 0, 100, -1, 0},
    {"5.0", 0, 10, -1, 0},
};

static void
parse_long_table(void **state)
{
	size_t i;
	long v;

	(void)state;
	for (i = 0; i < NELEM(long_cases); i++) {
		const struct long_case *c = &long_cases[i];

		print_message(
		    "case: \"%s\" in [%ld, %ld]\n", c->text, c->min, c->max);
		v = 12345;
		assert_int_equal(
		    parse_long(c->text, c->min, c->max, &v), c->rc);
		/* On failure the output is left alone. */
		assert_int_equal(v, c->rc == 0 ? c->value : 12345);
	}
	assert_int_equal(parse_long(NULL, 0, 10, &v), -1);
}

static void
format_rfc3339_table(void **state)
{
	static const struct {
		int64_t usec;
		const char *text;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000000Z"},
	    {1, "1970-01-01T00:00:00.000001Z"},
	    {999999, "1970-01-01T00:00:00.999999Z"},
	    {1700000000123456LL, "2023-11-14T22:13:20.123456Z"},
	    {951782400000001LL, "2000-02-29T00:00:00.000001Z"},
	    {253402300799999999LL, "9999-12-31T23:59:59.999999Z"},
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		format_rfc3339(cases[i].usec, buf);
		assert_string_equal(buf, cases[i].text);
	}
}

static void
hex_encode_bytes(void **state)
{
	static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'x', sizeof(out));
	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
	memset(out, 'x', sizeof(out));
	hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

static void
strlcpy_truncates(void **state)
{
	char dst[4];

	(void)state;
	assert_int_equal(strlcpy_(dst, "ab", sizeof(dst)), 2);
	assert_string_equal(dst, "ab");
	assert_int_equal(strlcpy_(dst, "abcdef", sizeof(dst)), 6);
	assert_string_equal(dst, "abc");
	dst[0] = 'z';
	assert_int_equal(strlcpy_(dst, "abc", 0), 3);
	assert_int_equal(dst[0], 'z');
}

/* Create a file in /tmp with the len bytes at data, named in path. */
static void
make_temp_file(char path[64], const void *data, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/test_common.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

static void
read_file_size_cap(void **state)
{
	static const char data[] = "abc\0def\n";
	char path[64];
	size_t len = 99;
	char *p;

	(void)state;
	make_temp_file(path, data, sizeof(data) - 1);

	p = read_file(path, sizeof(data) - 1, &len);
	assert_non_null(p);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(p, data, sizeof(data) - 1);
	assert_int_equal(p[len], '\0');
	free(p);

	p = read_file(path, SIZE_MAX, NULL);
	assert_non_null(p);
	free(p);

	/* One byte over the cap: nothing is read. */
	len = 99;
	errno = 0;
	assert_null(read_file(path, sizeof(data) - 2, &len));
	assert_int_equal(errno, EFBIG);
	assert_int_equal(len, 99);

	assert_int_equal(unlink(path), 0);
	errno = 0;
	assert_null(read_file(path, 1024, &len));
	assert_int_equal(errno, ENOENT);
}

static void
read_file_empty(void **state)
{
	char path[64];
	size_t len = 99;
	char *p;

	(void)state;
	make_temp_file(path, "", 0);
	p = read_file(path, 0, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
	assert_int_equal(unlink(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jsonw_escapes_table),
	    cmocka_unit_test(jsonw_escapes_keys),
	    cmocka_unit_test(jsonw_truncates_long_string),
	    cmocka_unit_test(jsonw_truncation_splits_character),
	    cmocka_unit_test(jsonw_truncates_escaped_bytes),
	    cmocka_unit_test(jsonw_empty_object),
	    cmocka_unit_test(jsonw_numbers_bools_null),
	    cmocka_unit_test(jsonw_arrays),
	    cmocka_unit_test(jsonw_array_first_and_last),
	    cmocka_unit_test(jsonw_small_buffer_fails),
	    cmocka_unit_test(jsonw_failure_is_sticky),
	    cmocka_unit_test(ini_sections_keys_comments),
	    cmocka_unit_test(ini_crlf_lines),
	    cmocka_unit_test(ini_empty_input),
	    cmocka_unit_test(ini_errors_name_line),
	    cmocka_unit_test(ini_line_length_limit),
	    cmocka_unit_test(ini_section_keys_limit),
	    cmocka_unit_test(ini_handler_stops_parse),
	    cmocka_unit_test(cidr_parse_valid),
	    cmocka_unit_test(cidr_parse_invalid),
	    cmocka_unit_test(cidr_contains_table),
	    cmocka_unit_test(cidr_contains_other_family),
	    cmocka_unit_test(addr_text_and_port),
	    cmocka_unit_test(parse_long_table),
	    cmocka_unit_test(format_rfc3339_table),
	    cmocka_unit_test(hex_encode_bytes),
	    cmocka_unit_test(strlcpy_truncates),
	    cmocka_unit_test(read_file_size_cap),
	    cmocka_unit_test(read_file_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
