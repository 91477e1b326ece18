/*
 * libFuzzer harness for the HTTP proxy request parser.  Beyond what the
 * sanitizers catch, it aborts when the parser breaks its contract: a
 * pointer or length outside the input, an error without a reason or a
 * status, or a prefix of a complete head not reported PARSE_MORE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpproxy.h"

/* Maximum head length whose prefixes are all parsed (n^2 cost). */
#define PREFIX_CHECK_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_span(const char *p, size_t n, const char *buf, size_t size)
{
	if (p == NULL || p < buf || n > size || p + n > buf + size)
		abort();
}

static void
check_prefixes(const char *data, size_t head_len)
{
	struct http_request req;
	const char *why;
	size_t i;
	int status;

	if (head_len > PREFIX_CHECK_MAX)
		return;
	for (i = 0; i < head_len; i++) {
		/* A private copy lets ASan catch a read past i bytes. */
		char *copy = malloc(i + 1);

		if (copy == NULL)
			abort();
		memcpy(copy, data, i);
		if (http_parse_request(copy, i, &req, &why, &status) !=
		    PARSE_MORE)
			abort();
		free(copy);
	}
}

static void
check_request(const struct http_request *req, const char *buf, size_t size)
{
	char out[1024];
	int i;

	if (req->head_len == 0 || req->head_len > size ||
	    req->head_len > HTTP_HEAD_MAX)
		abort();
	check_span(req->method, req->method_len, buf, req->head_len);
	check_span(req->target, req->target_len, buf, req->head_len);
	if (req->nfields < 0 || req->nfields > HTTP_FIELDS_MAX)
		abort();
	for (i = 0; i < req->nfields; i++) {
		check_span(req->fields[i].name, req->fields[i].name_len, buf,
		    req->head_len);
		check_span(req->fields[i].value, req->fields[i].value_len, buf,
		    req->head_len);
	}
	if (memchr(req->host, '\0', sizeof(req->host)) == NULL ||
	    req->host[0] == '\0')
		abort();
	if (req->path != NULL && req->path[0] != '/')
		check_span(req->path, req->path_len, buf, req->head_len);
	if (req->chunked && req->content_length >= 0)
		abort();

	http_find_field(req, "Host");
	http_find_field(req, "Content-Length");
	http_expects_continue(req);
	http_format_response(out, sizeof(out), 200, "squid/3.5.27",
	    "text/plain", req->host, strlen(req->host));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	const char *why = NULL;
	int status = 0, r;

	r = http_parse_request(buf, size, &req, &why, &status);
	if (r == PARSE_ERROR) {
		if (why == NULL || status < 400 || status > 599 ||
		    http_reason(status) == NULL)
			abort();
		return 0;
	}
	if (r == PARSE_OK) {
		check_request(&req, buf, size);
		check_prefixes(buf, req.head_len);
	}
	return 0;
}
