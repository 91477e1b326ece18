/*
 * Request URIs of the dashboard: the path and query parameters, decoded
 * and checked before any handler reads them, and the filters of the
 * message list and the reports.
 *
 * The URI is read as the client sent it, before any decoding by the
 * HTTP library, so that an encoded "..", NUL or slash is caught here.
 */
#ifndef SPAMPOT_WEBQUERY_H
#define SPAMPOT_WEBQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spampot_limits.h"

/* Maximum length of a parameter name: ours are short words. */
#define WEB_PARAM_NAME_MAX 15

struct web_param {
	char name[WEB_PARAM_NAME_MAX + 1];
	char value[WEB_PARAM_VALUE_MAX + 1];
};

struct web_uri {
	char path[WEB_URI_MAX + 1]; /* decoded, starts with '/' */
	struct web_param params[WEB_PARAMS_MAX];
	size_t nparams;
};

/*
 * Split and decode a request URI.  Returns 0, or the HTTP status to
 * respond with (400 or 414) with the reason in *why.  The path may contain
 * only letters, digits and "-._/" after decoding, and no "." or ".."
 * segment and no empty segment; each parameter name may appear once.
 */
int web_uri_parse(const char *raw, struct web_uri *uri, const char **why);

/* The value of parameter name, or NULL. */
const char *web_uri_param(const struct web_uri *uri, const char *name);

/*
 * Filters that pages and the API accept.  A string is "" and a number
 * is -1 when the request does not set it.
 */
struct web_filter {
	char sensor[64];
	char ip[46];
	int64_t asn;
	char country[3];
	int port;
	char day[11];
	char since[11];
	char until[11];
	char os[16]; /* an operating system class: Windows, Unix... */
	long page;   /* from 1 */
};

/*
 * Check the parameters against the filters' table.  Returns 0, or -1
 * with the reason in *why for a parameter that is unknown or whose
 * value is invalid.
 */
int web_filter_parse(
    const struct web_uri *uri, struct web_filter *f, const char **why);

/* Whether s is a valid UTC day, YYYY-MM-DD. */
bool web_valid_day(const char *s);

#endif
