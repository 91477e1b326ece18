/*
 * The HTTP origin emulator: what an open proxy's client gets back for
 * a GET, HEAD or POST it asked the proxy to forward.  Nothing is ever
 * fetched.  A proxy-judge check gets an echo of its own request as an
 * elite (anonymous) proxy would pass it on; any other URL gets a small
 * page made up from the host and path, the same page on every visit.
 *
 * Everything here is pure: request heads come from httpproxy.c's
 * parser, and the results are bytes for the caller to send.
 */
#ifndef SPAMPOT_HTTPEMU_H
#define SPAMPOT_HTTPEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "httpproxy.h"
#include "spampot_limits.h"

/* The Server field of every response: a common Squid release. */
#define HTTPEMU_SERVER "squid/3.5.27"

/* Largest response the emulator builds: an echo of a maximal head. */
#define HTTPEMU_RESPONSE_MAX (2 * HTTP_HEAD_MAX + 4096)

enum http_body_mode {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,  /* Content-Length bytes */
	HTTP_BODY_CHUNKED, /* RFC 9112 section 7.1 */
};

enum http_chunk_state {
	CHUNK_SIZE,     /* reading a chunk-size line */
	CHUNK_DATA,     /* reading chunk data */
	CHUNK_DATA_END, /* the CRLF after chunk data */
	CHUNK_TRAILER,  /* trailer lines up to the empty one */
	CHUNK_DONE,
};

/*
 * A request body being read.  The first HTTP_BODY_MAX bytes (decoded,
 * for chunked bodies) are kept in data; reading stops there, with
 * truncated set, because a proxy that forwards nothing needs no more.
 */
struct http_body {
	enum http_body_mode mode;
	enum http_chunk_state chunk;
	uint64_t remaining; /* of the Content-Length or current chunk */
	char line[HTTP_CHUNK_LINE_MAX];
	size_t line_len;
	unsigned char data[HTTP_BODY_MAX];
	size_t len;
	bool truncated;
};

/* Set up b for req's body: by Content-Length, chunked, or none. */
void http_body_init(struct http_body *b, const struct http_request *req);

/*
 * Consume body bytes from buf.  Returns PARSE_MORE with *used == len
 * while the body goes on, PARSE_OK with *used set when it ended (or
 * reached HTTP_BODY_MAX), or PARSE_ERROR with *why for a malformed
 * chunked encoding.
 */
int http_body_feed(struct http_body *b, const void *buf, size_t len,
    size_t *used, const char **why);

/*
 * True if req's URL contains one of the patterns, compared without
 * regard to case: the marks of a proxy-judge script ("azenv", "judge").
 */
bool httpemu_is_judge(
    const struct http_request *req, const char *const *patterns, int npatterns);

/* Connection details the emulator puts into its responses. */
struct httpemu_env {
	const char *remote_addr; /* the address the judge would see */
	int remote_port;
	time_t now;
	bool judge; /* answer with the judge echo */
};

/*
 * Build the whole response to req in out (cap bytes, at least
 * HTTPEMU_RESPONSE_MAX).  Returns its length, or 0 when it does not
 * fit.  HEAD gets the head only, with the Content-Length of the GET.
 */
size_t httpemu_respond(const struct http_request *req,
    const struct httpemu_env *env, char *out, size_t cap);

/*
 * Build the error page Squid sends when it cannot serve url: status
 * (e.g. 503), Squid's error name for the X-Squid-Error field (e.g.
 * "ERR_CONNECT_FAIL 111") and the system message shown in the page
 * (e.g. "(111) Connection refused").  Returns the length, or 0 when
 * it does not fit in cap.
 */
size_t httpemu_error(int status, const char *squid_error, const char *url,
    const char *sysmsg, const char *hostname, time_t now, char *out,
    size_t cap);

/* True for a header field a proxy adds or consumes (Via, Forwarded). */
bool httpemu_is_proxy_field(const char *name, size_t len);

#endif
