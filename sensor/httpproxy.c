/*
 * HTTP proxy request heads and Squid-like responses; see httpproxy.h.
 *
 * The request head comes from anyone.  The parser scans at most
 * HTTP_HEAD_MAX bytes and keeps at most HTTP_FIELDS_MAX fields, points
 * into the caller's buffer instead of copying, and rejects the framing
 * ambiguities (obs-fold, bare CR, conflicting lengths) that request
 * smuggling relies on.
 */
#include "httpproxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Form of a method's request target (RFC 9112 section 3.2). */
enum target_form {
	TARGET_AUTHORITY, /* CONNECT host:port */
	TARGET_ABSOLUTE,  /* http://host[:port]/path */
};

struct http_method {
	const char *name;
	enum target_form form;
};

/* Methods a proxy forwards; any other token is rejected with 501. */
static const struct http_method methods[] = {
    {"CONNECT", TARGET_AUTHORITY},
    {"GET", TARGET_ABSOLUTE},
    {"HEAD", TARGET_ABSOLUTE},
    {"POST", TARGET_ABSOLUTE},
    {"PUT", TARGET_ABSOLUTE},
    {"DELETE", TARGET_ABSOLUTE},
    {"OPTIONS", TARGET_ABSOLUTE},
    {"TRACE", TARGET_ABSOLUTE},
    {"PATCH", TARGET_ABSOLUTE},
};

#define HTTP_VERSION_LEN  8 /* "HTTP/1.1" */
#define HTTP_DEFAULT_PORT 80

/* Largest Content-Length kept: 18 digits cannot overflow int64_t. */
#define CONTENT_LENGTH_DIGITS_MAX 18

static int
fail(const char **why, int *status, const char *reason, int code)
{
	*why = reason;
	*status = code;
	return PARSE_ERROR;
}

/* RFC 9110 section 5.6.2. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Characters of a reg-name or IPv4 address (RFC 3986 section 3.2.2). */
static bool
is_host_char(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=%", c) != NULL;
}

/*
 * The line starting at off, ending before LF and before a CR that
 * directly precedes it.  Returns false while no LF has arrived.
 */
static bool
next_line(const char *buf, size_t len, size_t off, size_t *end, size_t *next)
{
	const char *lf = memchr(buf + off, '\n', len - off);

	if (lf == NULL)
		return false;
	*next = (size_t)(lf - buf) + 1;
	*end = (size_t)(lf - buf);
	if (*end > off && buf[*end - 1] == '\r')
		(*end)--;
	return true;
}

/*
 * Split "method SP target SP HTTP/d.d" and check its syntax.  Whether
 * the method, target and version are acceptable is decided later, once
 * the whole head is there to be logged.
 */
static int
parse_request_line(const char *s, size_t n, struct http_request *req,
    const char **why, int *status)
{
	const char *sp1, *sp2, *v;
	size_t i;

	sp1 = memchr(s, ' ', n);
	if (sp1 == NULL || sp1 == s)
		return fail(why, status, "request line malformed", 400);
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return fail(why, status, "request line malformed", 400);
	req->method = s;
	req->method_len = (size_t)(sp1 - s);
	req->target = sp1 + 1;
	req->target_len = (size_t)(sp2 - req->target);

	for (i = 0; i < req->method_len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return fail(why, status, "method invalid", 400);
	for (i = 0; i < req->target_len; i++)
		if (req->target[i] <= ' ' || req->target[i] >= 0x7f)
			return fail(why, status, "request target invalid", 400);

	v = sp2 + 1;
	if ((size_t)(s + n - v) != HTTP_VERSION_LEN ||
	    memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return fail(why, status, "HTTP version malformed", 400);
	req->version_minor = v[7] - '0';
	/* A major version other than 1 gets 505 once the head is whole. */
	if (v[5] != '1')
		req->version_minor = -1;
	return PARSE_OK;
}

/*
 * Reject junk before the request line is complete: a method can hold
 * only token characters, so binary probes need not wait for a LF.
 */
static int
check_method_prefix(const char *s, size_t n, const char **why, int *status)
{
	size_t i;

	for (i = 0; i < n && s[i] != ' '; i++)
		if (!is_tchar((unsigned char)s[i]))
			return fail(why, status, "method invalid", 400);
	if (n > 0 && s[0] == ' ')
		return fail(why, status, "request line malformed", 400);
	return PARSE_MORE;
}

/* Parse a Content-Length value: one or more equal decimal numbers. */
static bool
parse_content_length(const char *v, size_t n, int64_t *out)
{
	int64_t value = -1, item;
	size_t i = 0, digits;

	while (i < n) {
		while (i < n && is_blank(v[i]))
			i++;
		item = 0;
		for (digits = 0; i < n && v[i] >= '0' && v[i] <= '9';
		     digits++, i++) {
			if (digits == CONTENT_LENGTH_DIGITS_MAX)
				return false;
			item = item * 10 + (v[i] - '0');
		}
		while (i < n && is_blank(v[i]))
			i++;
		if (digits == 0 || (i < n && v[i] != ','))
			return false;
		if (value >= 0 && item != value)
			return false;
		value = item;
		i++;
	}
	if (value < 0 || (*out >= 0 && *out != value))
		return false;
	*out = value;
	return true;
}

/*
 * Note the codings of one Transfer-Encoding field.  chunked must be
 * the final coding of the request and appear only once (RFC 9112
 * section 6.1), so *last_chunked tracks whether it ends the list.
 */
static bool
note_transfer_coding(const char *v, size_t n, bool *last_chunked)
{
	size_t i = 0, start, end;

	while (i < n) {
		while (i < n && (is_blank(v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && is_blank(v[end - 1]))
			end--;
		if (end == start)
			continue;
		if (*last_chunked)
			return false;
		*last_chunked = end - start == 7 &&
		    strncasecmp(v + start, "chunked", 7) == 0;
	}
	return true;
}

/* Framing fields seen so far, checked together at the end. */
struct framing {
	bool has_length;
	bool has_coding;
	bool last_chunked;
};

static int
note_framing(struct http_request *req, const struct http_field *f,
    struct framing *fr, const char **why, int *status)
{
	if (f->name_len == 14 &&
	    strncasecmp(f->name, "Content-Length", 14) == 0) {
		fr->has_length = true;
		if (!parse_content_length(
			f->value, f->value_len, &req->content_length))
			return fail(why, status, "Content-Length invalid", 400);
	} else if (f->name_len == 17 &&
	    strncasecmp(f->name, "Transfer-Encoding", 17) == 0) {
		fr->has_coding = true;
		if (!note_transfer_coding(
			f->value, f->value_len, &fr->last_chunked))
			return fail(why, status,
			    "Transfer-Encoding has chunked before the end",
			    400);
	}
	return PARSE_OK;
}

/* Parse one field line, s[0..n), into f. */
static int
parse_field(const char *s, size_t n, struct http_field *f, const char **why,
    int *status)
{
	const char *colon;
	size_t i, start, end;

	if (is_blank(s[0]))
		return fail(why, status, "obsolete line folding", 400);
	colon = memchr(s, ':', n);
	if (colon == NULL || colon == s)
		return fail(why, status, "header field malformed", 400);
	f->name = s;
	f->name_len = (size_t)(colon - s);
	for (i = 0; i < f->name_len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return fail(
			    why, status, "header field name invalid", 400);

	start = f->name_len + 1;
	end = n;
	while (start < end && is_blank(s[start]))
		start++;
	while (end > start && is_blank(s[end - 1]))
		end--;
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < ' ' && c != '\t') || c == 0x7f)
			return fail(
			    why, status, "header field value invalid", 400);
	}
	f->value = s + start;
	f->value_len = end - start;
	return PARSE_OK;
}

/* Parse the field lines in buf[off..end_off), the blank line excluded. */
static int
parse_fields(const char *buf, size_t off, size_t end_off,
    struct http_request *req, const char **why, int *status)
{
	struct framing fr = {false, false, false};
	size_t end, next;

	while (off < end_off) {
		if (!next_line(buf, end_off, off, &end, &next) || end == off)
			break;
		if (memchr(buf + off, '\r', end - off) != NULL)
			return fail(why, status, "bare CR in header", 400);
		if (req->nfields == HTTP_FIELDS_MAX)
			return fail(why, status, "too many header fields", 431);
		if (parse_field(buf + off, end - off,
			&req->fields[req->nfields], why, status) != PARSE_OK)
			return PARSE_ERROR;
		if (note_framing(req, &req->fields[req->nfields], &fr, why,
			status) != PARSE_OK)
			return PARSE_ERROR;
		req->nfields++;
		off = next;
	}

	if (fr.has_coding) {
		if (req->version_minor == 0)
			return fail(
			    why, status, "Transfer-Encoding in HTTP/1.0", 400);
		if (fr.has_length)
			return fail(why, status,
			    "both Content-Length and Transfer-Encoding", 400);
		if (!fr.last_chunked)
			return fail(why, status,
			    "Transfer-Encoding does not end in chunked", 400);
		req->chunked = true;
	}
	return PARSE_OK;
}

/*
 * Parse host[:port] into req->host and req->port.  An IPv6 address
 * comes in brackets and is stored without them.
 */
static bool
parse_authority(
    const char *s, size_t n, bool need_port, struct http_request *req)
{
	uint8_t addr6[16];
	size_t hlen, i;
	const char *host = s, *rest;
	long port = HTTP_DEFAULT_PORT;

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL)
			return false;
		host = s + 1;
		hlen = (size_t)(rb - host);
		rest = rb + 1;
		if (hlen >= INET6_ADDRSTRLEN)
			return false;
		memcpy(req->host, host, hlen);
		req->host[hlen] = '\0';
		if (inet_pton(AF_INET6, req->host, addr6) != 1)
			return false;
	} else {
		for (hlen = 0; hlen < n && s[hlen] != ':'; hlen++)
			if (!is_host_char((unsigned char)s[hlen]))
				return false;
		if (hlen == 0 || hlen >= sizeof(req->host))
			return false;
		memcpy(req->host, host, hlen);
		req->host[hlen] = '\0';
		rest = s + hlen;
	}

	n -= (size_t)(rest - s);
	if (n == 0) {
		req->port = HTTP_DEFAULT_PORT;
		return !need_port;
	}
	if (rest[0] != ':' || n > 6)
		return false;
	/* RFC 3986 allows an empty port, meaning the scheme's default. */
	if (n == 1) {
		req->port = HTTP_DEFAULT_PORT;
		return !need_port;
	}
	port = 0;
	for (i = 1; i < n; i++) {
		if (rest[i] < '0' || rest[i] > '9')
			return false;
		port = port * 10 + (rest[i] - '0');
	}
	if (port == 0 || port > 65535)
		return false;
	req->port = (uint16_t)port;
	return true;
}

/* Parse http://authority[/path][?query] into host, port and path. */
static bool
parse_absolute_uri(struct http_request *req)
{
	const char *s = req->target, *auth;
	size_t n = req->target_len, alen;

	if (n < 7 || strncasecmp(s, "http://", 7) != 0)
		return false;
	auth = s + 7;
	for (alen = 0; 7 + alen < n; alen++)
		if (auth[alen] == '/' || auth[alen] == '?' || auth[alen] == '#')
			break;
	if (!parse_authority(auth, alen, false, req))
		return false;
	if (7 + alen == n) {
		req->path = "/";
		req->path_len = 1;
	} else {
		req->path = auth + alen;
		req->path_len = n - 7 - alen;
	}
	return true;
}

/*
 * Take an origin-form target ("/path") and the Host field's authority,
 * as an origin server reads a request that came through a tunnel.
 */
static bool
parse_origin_target(struct http_request *req)
{
	const struct http_field *host = http_find_field(req, "Host");

	if (req->target[0] != '/' || host == NULL)
		return false;
	if (!parse_authority(host->value, host->value_len, false, req))
		return false;
	req->path = req->target;
	req->path_len = req->target_len;
	return true;
}

/* Check the method and its target once the head is whole. */
static int
check_request(struct http_request *req, bool origin, const char **why,
    int *status)
{
	const struct http_method *m = NULL;
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strlen(methods[i].name) == req->method_len &&
		    memcmp(methods[i].name, req->method, req->method_len) ==
			0) {
			m = &methods[i];
			break;
		}
	}
	if (m == NULL)
		return fail(why, status, "method not implemented", 501);

	if (m->form == TARGET_AUTHORITY) {
		if (!parse_authority(req->target, req->target_len, true, req))
			return fail(why, status, "CONNECT target invalid", 400);
		req->path = NULL;
		req->path_len = 0;
		return PARSE_OK;
	}
	if (origin && req->target[0] == '/') {
		if (!parse_origin_target(req))
			return fail(why, status, "Host field invalid", 400);
		return PARSE_OK;
	}
	if (req->target[0] == '/' || req->target[0] == '*')
		return fail(why, status, "origin-form target on a proxy", 400);
	if (!parse_absolute_uri(req))
		return fail(why, status, "absolute URI invalid", 400);
	return PARSE_OK;
}

/*
 * Skip the empty lines RFC 9112 section 2.2 lets a server ignore
 * before the request line.  Returns false while a CR may be the start
 * of one more.
 */
static bool
skip_leading_empty_lines(const char *buf, size_t len, size_t *off)
{
	size_t i = 0;

	while (i < len) {
		if (buf[i] == '\n')
			i++;
		else if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			i += 2;
		else if (buf[i] == '\r' && i + 1 == len)
			return false;
		else
			break;
	}
	*off = i;
	return true;
}

static int
parse_head(const char *buf, size_t len, bool origin, struct http_request *req,
    const char **why, int *status)
{
	size_t limit, off, end, next, fields_off;
	int nlines;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;

	if (!skip_leading_empty_lines(buf, limit, &off))
		return PARSE_MORE;
	if (!next_line(buf, limit, off, &end, &next)) {
		if (check_method_prefix(buf + off, limit - off, why, status) ==
		    PARSE_ERROR)
			return PARSE_ERROR;
		if (len < HTTP_HEAD_MAX)
			return PARSE_MORE;
		return fail(why, status, "request line too long", 414);
	}
	if (memchr(buf + off, '\r', end - off) != NULL)
		return fail(why, status, "bare CR in request line", 400);
	if (parse_request_line(buf + off, end - off, req, why, status) !=
	    PARSE_OK)
		return PARSE_ERROR;

	/*
	 * Find the blank line that ends the head.  Too many field lines
	 * are rejected without waiting for it, so that a peer sending
	 * short lines slowly does not make every call rescan them.
	 */
	fields_off = next;
	off = next;
	for (nlines = 0;; nlines++) {
		if (!next_line(buf, limit, off, &end, &next)) {
			if (len < HTTP_HEAD_MAX)
				return PARSE_MORE;
			return fail(why, status, "request head too long", 431);
		}
		if (end == off)
			break;
		if (nlines == HTTP_FIELDS_MAX)
			return fail(why, status, "too many header fields", 431);
		off = next;
	}
	req->head_len = next;

	if (req->version_minor < 0)
		return fail(why, status, "HTTP version not supported", 505);
	if (parse_fields(buf, fields_off, req->head_len, req, why, status) !=
	    PARSE_OK)
		return PARSE_ERROR;
	return check_request(req, origin, why, status);
}

int
http_parse_request(const char *buf, size_t len, struct http_request *req,
    const char **why, int *status)
{
	return parse_head(buf, len, false, req, why, status);
}

int
http_parse_origin_request(const char *buf, size_t len,
    struct http_request *req, const char **why, int *status)
{
	return parse_head(buf, len, true, req, why, status);
}

const struct http_field *
http_find_field(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < req->nfields; i++) {
		if (req->fields[i].name_len == n &&
		    strncasecmp(req->fields[i].name, name, n) == 0)
			return &req->fields[i];
	}
	return NULL;
}

bool
http_expects_continue(const struct http_request *req)
{
	const struct http_field *expect = http_find_field(req, "Expect");

	return req->version_minor >= 1 && expect != NULL &&
	    expect->value_len == 12 &&
	    strncasecmp(expect->value, "100-continue", 12) == 0;
}

/* Names fixed by RFC 5322, independent of the locale. */
static const char day_names[7][4] = {
    "Sun",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
};
static const char month_names[12][4] = {
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
};

void
http_format_date(time_t t, char out[HTTP_DATE_SIZE])
{
	char text[64];
	struct tm tm;

	/* A four-digit year keeps the text at HTTP_DATE_SIZE - 1 bytes. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, text, HTTP_DATE_SIZE - 1);
	out[HTTP_DATE_SIZE - 1] = '\0';
}

/* A caller's string is put in a header only if it cannot end the line. */
static bool
is_header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

size_t
http_format_response(char *out, size_t cap, int status, const char *server,
    const char *content_type, const char *body, size_t body_len)
{
	char date[HTTP_DATE_SIZE];
	size_t off = 0;
	int n;

	if ((server != NULL && !is_header_safe(server)) ||
	    (content_type != NULL && !is_header_safe(content_type)))
		return 0;
	http_format_date(time(NULL), date);

	n = snprintf(
	    out, cap, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	if (n < 0 || (size_t)n >= cap)
		return 0;
	off = (size_t)n;
	if (server != NULL) {
		n = snprintf(out + off, cap - off, "Server: %s\r\n", server);
		if (n < 0 || (size_t)n >= cap - off)
			return 0;
		off += (size_t)n;
	}
	/* Squid 3.5.27 sends Mime-Version: 1.0 right after Server. */
	n = snprintf(
	    out + off, cap - off, "Mime-Version: 1.0\r\nDate: %s\r\n", date);
	if (n < 0 || (size_t)n >= cap - off)
		return 0;
	off += (size_t)n;
	if (content_type != NULL) {
		n = snprintf(
		    out + off, cap - off, "Content-Type: %s\r\n", content_type);
		if (n < 0 || (size_t)n >= cap - off)
			return 0;
		off += (size_t)n;
	}
	n = snprintf(out + off, cap - off,
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", body_len);
	if (n < 0 || (size_t)n >= cap - off || body_len > cap - off - (size_t)n)
		return 0;
	off += (size_t)n;
	if (body_len > 0)
		memcpy(out + off, body, body_len);
	return off + body_len;
}

struct http_status {
	int code;
	const char *reason;
};

/* RFC 9110 section 15, and RFC 6585 for 431. */
static const struct http_status statuses[] = {
    {200, "OK"},
    {400, "Bad Request"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *
http_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].code == status)
			return statuses[i].reason;
	return "Unknown Status";
}
