/*
 * HTTP proxy requests (RFC 9110, RFC 9112): CONNECT with an authority
 * target, and GET, HEAD and POST with an absolute URI.  The parser
 * reads a request head from the bytes received so far; the builders
 * produce the answers a Squid-like proxy gives.
 */
#ifndef SPAMPOT_HTTPPROXY_H
#define SPAMPOT_HTTPPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "spampot_limits.h"
#include "parse.h"

struct http_field {
	const char *name; /* points into the parsed buffer */
	size_t name_len;
	const char *value; /* blanks around it removed */
	size_t value_len;
};

struct http_request {
	const char *method; /* all point into the parsed buffer */
	size_t method_len;
	const char *target;
	size_t target_len;
	int version_minor; /* HTTP/1.x */
	struct http_field fields[HTTP_FIELDS_MAX];
	int nfields;
	size_t head_len;        /* bytes up to and including the blank line */
	int64_t content_length; /* -1 when absent */
	bool chunked;

	/* From the target: CONNECT's authority, or an absolute URI. */
	char host[256];
	uint16_t port;
	const char *path; /* absolute URI's path and query, or "/" */
	size_t path_len;
};

/*
 * Parse a request head at the start of buf.  Returns PARSE_MORE until
 * the blank line arrives, PARSE_OK, or PARSE_ERROR with *why and
 * *status, the 4xx or 5xx to send: 400 for malformed input, 414 or
 * 431 past HTTP_HEAD_MAX, 431 past HTTP_FIELDS_MAX, 501 for a method
 * a proxy does not forward, 505 for a major version other than 1.
 * A CONNECT target must be host:port; other methods need an absolute
 * http:// URI, since a proxy is asked for other hosts' pages.  Bare LF
 * ends lines as CRLF does.  A request line that cannot be HTTP, and
 * field lines past HTTP_FIELDS_MAX, are rejected at once.  Other errors
 * wait for the whole head, so that on error req still contains the
 * method, target and fields for the log.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *req,
    const char **why, int *status);

/*
 * Parse a request head as an origin server does, for requests that
 * arrive through an accepted tunnel: an origin-form target ("/path")
 * takes its host and port from the Host field, which it then requires.
 * Absolute URIs and CONNECT are parsed as by http_parse_request.
 */
int http_parse_origin_request(const char *buf, size_t len,
    struct http_request *req, const char **why, int *status);

/* The value of the first field named name (case-insensitive), or NULL. */
const struct http_field *http_find_field(
    const struct http_request *req, const char *name);

/*
 * Return true when an HTTP/1.1 request expects a 100 Continue before
 * its client sends the body (RFC 9110, section 10.1.1).
 */
bool http_expects_continue(const struct http_request *req);

/*
 * Format a complete response with Server, Mime-Version, Date,
 * Content-Type, Content-Length and Connection: close, and the body.
 * Returns the length, or 0 when cap is too small or server or
 * content_type contains CR or LF.  server is the proxy's Server field,
 * e.g. "squid/3.5.27"; a NULL server or content_type is left out.
 */
size_t http_format_response(char *out, size_t cap, int status,
    const char *server, const char *content_type, const char *body,
    size_t body_len);

/* Length of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") plus NUL. */
#define HTTP_DATE_SIZE 30

/* Format t as an IMF-fixdate (RFC 9110 section 5.6.7), in any locale. */
void http_format_date(time_t t, char out[HTTP_DATE_SIZE]);

/* The standard reason phrase of status, e.g. "Bad Gateway". */
const char *http_reason(int status);

#endif
