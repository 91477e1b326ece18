/*
 * spampot web: an HTTP server for the analyst, on libmicrohttpd with one
 * internal polling thread, so the one read-only database connection is
 * only ever used from that thread.
 *
 * Clients are trusted no more than anyone else who can reach the port.
 * The request URI is parsed from its raw bytes by webquery.c, only GET
 * and HEAD are served, and requests with a body are rejected.  The
 * connection count, per-address count, memory and idle time are capped
 * by the limits in spampot_limits.h.  Binding to an address that is not
 * loopback requires a bearer token or a Basic user and password.
 */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "collector.h"
#include "commands.h"
#include "spampot_limits.h"
#include "util.h"

/* Largest certificate or key file read for TLS. */
#define WEB_PEM_MAX (1024 * 1024)

struct web {
	struct db *db;
	struct collector_conf *collector; /* NULL: no status verdicts */
	char *auth_header;       /* the exact Authorization value required */
	const char *auth_scheme; /* for WWW-Authenticate */
};

/* The request state kept by the URI log callback, before any decoding. */
struct request {
	char *raw_uri; /* NULL when the URI was too long to keep */
};

/* A response under construction. */
struct reply {
	int status;
	const char *type;
	char *body;
	size_t len;
	const char *disposition; /* Content-Disposition, or NULL */
	const char *cache;       /* Cache-Control */
	const char *method;      /* the request's, for the log */
	const char *path;        /* the request's URI as sent, for the log */
	const char *reason;      /* static text of an error, for the log */
};

static const char content_security_policy[] =
    "default-src 'none'; img-src 'self'; style-src 'self';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

static const char *const security_headers[][2] = {
    {"Content-Security-Policy", content_security_policy},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

static const char icon_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
    "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#b00\"/>"
    "<path d=\"M3 5h10v7H3z\" fill=\"#fff\"/>"
    "<path d=\"M3 5l5 4 5-4\" stroke=\"#b00\" fill=\"none\"/></svg>\n";

#define TYPE_HTML    "text/html; charset=utf-8"
#define TYPE_JSON    "application/json"
#define TYPE_SVG     "image/svg+xml"
#define TYPE_CSS     "text/css; charset=utf-8"
#define TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define TYPE_RAW     "application/octet-stream"

static void
reply_text(struct reply *r, int status, const char *type, struct sbuf *b)
{
	r->status = status;
	r->type = type;
	r->body = sbuf_steal(b, &r->len);
}

static void
reply_json(struct reply *r, int status, json_t *json)
{
	struct sbuf b;
	char *text;

	sbuf_init(&b);
	text = json_dumps(json, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		abort();
	sbuf_puts(&b, text);
	sbuf_puts(&b, "\n");
	free(text);
	reply_text(r, status, TYPE_JSON, &b);
}

/* An error: JSON under /api, an HTML page elsewhere. */
static void
reply_error(struct reply *r, bool api, int status, const char *reason)
{
	struct sbuf b;
	json_t *j;

	r->reason = reason;
	if (api) {
		j = json_pack("{s:i, s:s}", "status", status, "error", reason);
		reply_json(r, status, j);
		json_decref(j);
		return;
	}
	sbuf_init(&b);
	page_error(&b, status, reason);
	reply_text(r, status, TYPE_HTML, &b);
}

/* Routes.  A pattern segment "#" matches a message id, "*" a name. */
struct route_args {
	struct web *web;
	const struct web_uri *uri;
	struct web_filter filter;
	int64_t id;
	char name[64];
};

typedef void (*route_fn)(struct route_args *, struct reply *);

static void
serve_overview(struct route_args *a, struct reply *r, bool api)
{
	struct web_result res =
	    web_overview(a->web->db, a->web->collector, (int64_t)time(NULL));
	struct sbuf b;

	if (res.json == NULL) {
		reply_error(r, api, res.status, res.error);
		return;
	}
	if (api) {
		reply_json(r, 200, res.json);
	} else {
		sbuf_init(&b);
		page_overview(&b, res.json);
		reply_text(r, 200, TYPE_HTML, &b);
	}
	json_decref(res.json);
}

static void
route_overview(struct route_args *a, struct reply *r)
{
	serve_overview(a, r, false);
}

static void
route_api_overview(struct route_args *a, struct reply *r)
{
	serve_overview(a, r, true);
}

static void
route_reports(struct route_args *a, struct reply *r)
{
	struct web_result rep = web_report(a->web->db, &a->filter), charts;
	struct sbuf b;

	if (rep.json == NULL) {
		reply_error(r, false, rep.status, rep.error);
		return;
	}
	charts = web_charts(a->web->db, &a->filter);
	sbuf_init(&b);
	page_report(&b, rep.json, charts.json, &a->filter);
	reply_text(r, 200, TYPE_HTML, &b);
	json_decref(rep.json);
	json_decref(charts.json);
}

/* Serve a data object as JSON. */
static void
serve_api(struct reply *r, struct web_result res)
{
	if (res.json == NULL) {
		reply_error(r, true, res.status, res.error);
		return;
	}
	reply_json(r, 200, res.json);
	json_decref(res.json);
}

static void
route_api_report(struct route_args *a, struct reply *r)
{
	serve_api(r, web_report(a->web->db, &a->filter));
}

/* The chart list without the drawings, which /charts/NAME serves. */
static void
route_api_charts(struct route_args *a, struct reply *r)
{
	struct web_result res = web_charts(a->web->db, &a->filter);
	json_t *chart;
	size_t i;

	json_array_foreach(json_object_get(res.json, "charts"), i, chart)
	    json_object_del(chart, "svg");
	serve_api(r, res);
}

static void
route_chart(struct route_args *a, struct reply *r)
{
	struct web_result res = web_charts(a->web->db, &a->filter);
	const json_t *chart, *svg = NULL;
	struct sbuf b;
	size_t i;

	if (res.json == NULL) {
		reply_error(r, false, res.status, res.error);
		return;
	}
	json_array_foreach(json_object_get(res.json, "charts"), i, chart)
	{
		if (strcmp(json_string_value(json_object_get(chart, "name")),
			a->name) == 0)
			svg = json_object_get(chart, "svg");
	}
	if (svg == NULL) {
		reply_error(r, false, 404, "no such chart");
	} else {
		sbuf_init(&b);
		sbuf_add(&b, json_string_value(svg), json_string_length(svg));
		reply_text(r, 200, TYPE_SVG, &b);
	}
	json_decref(res.json);
}

static void
route_messages(struct route_args *a, struct reply *r)
{
	struct web_result res = web_messages(a->web->db, &a->filter);
	struct sbuf b;

	if (res.json == NULL) {
		reply_error(r, false, res.status, res.error);
		return;
	}
	sbuf_init(&b);
	page_messages(&b, res.json, &a->filter);
	reply_text(r, 200, TYPE_HTML, &b);
	json_decref(res.json);
}

static void
route_api_messages(struct route_args *a, struct reply *r)
{
	serve_api(r, web_messages(a->web->db, &a->filter));
}

static void
route_message(struct route_args *a, struct reply *r)
{
	struct web_result res = web_message(a->web->db, a->id);
	struct sbuf b;

	if (res.json == NULL) {
		reply_error(r, false, res.status, res.error);
		return;
	}
	sbuf_init(&b);
	page_message(&b, res.json);
	reply_text(r, 200, TYPE_HTML, &b);
	json_decref(res.json);
}

static void
route_api_message(struct route_args *a, struct reply *r)
{
	serve_api(r, web_message(a->web->db, a->id));
}

static void
route_raw(struct route_args *a, struct reply *r)
{
	static char disposition[96];
	const char *why = NULL;
	char sha[65];
	int status;

	/*
	 * NOTE: the whole body, up to WEB_RAW_BYTES_MAX, is held until it
	 * is sent, so slow readers on every connection could pin
	 * WEB_CONNECTIONS_MAX times that.  Streaming it would bound this.
	 */
	status =
	    web_message_raw(a->web->db, a->id, &r->body, &r->len, sha, &why);
	if (status != 0) {
		reply_error(r, false, status, why);
		return;
	}
	/* One polling thread: the static buffer is never shared. */
	bufprintf(disposition, sizeof(disposition),
	    "attachment; filename=\"%s.eml\"", sha);
	r->status = 200;
	r->type = TYPE_RAW;
	r->disposition = disposition;
}

static void
route_metrics(struct route_args *a, struct reply *r)
{
	struct sbuf b;

	sbuf_init(&b);
	if (web_metrics(a->web->db, &b) < 0) {
		sbuf_free(&b);
		reply_error(r, false, 500, "database query failed");
		return;
	}
	reply_text(r, 200, TYPE_METRICS, &b);
}

static void
serve_static(struct reply *r, const char *type, const char *text)
{
	struct sbuf b;

	sbuf_init(&b);
	sbuf_puts(&b, text);
	reply_text(r, 200, type, &b);
	r->cache = "max-age=3600";
}

static void
route_style(struct route_args *a, struct reply *r)
{
	(void)a;
	serve_static(r, TYPE_CSS, web_style_css);
}

static void
route_icon(struct route_args *a, struct reply *r)
{
	(void)a;
	serve_static(r, TYPE_SVG, icon_svg);
}

static const struct route {
	const char *pattern;
	route_fn fn;
} routes[] = {
    {"/", route_overview},
    {"/reports", route_reports},
    {"/charts/*", route_chart},
    {"/messages", route_messages},
    {"/messages/#", route_message},
    {"/messages/#/raw", route_raw},
    {"/metrics", route_metrics},
    {"/static/style.css", route_style},
    {"/static/icon.svg", route_icon},
    {"/api/overview", route_api_overview},
    {"/api/report", route_api_report},
    {"/api/charts", route_api_charts},
    {"/api/messages", route_api_messages},
    {"/api/messages/#", route_api_message},
};

/* Match one segment; returns false if it does not fit the pattern's. */
static bool
match_segment(const char *pat, size_t plen, const char *seg, size_t slen,
    struct route_args *a)
{
	long id;
	char num[24];

	if (plen == 1 && pat[0] == '#') {
		if (slen == 0 || slen >= sizeof(num) || seg[0] == '0')
			return false;
		memcpy(num, seg, slen);
		num[slen] = '\0';
		if (parse_long(num, 1, LONG_MAX, &id) < 0)
			return false;
		a->id = id;
		return true;
	}
	if (plen == 1 && pat[0] == '*') {
		if (slen == 0 || slen >= sizeof(a->name))
			return false;
		memcpy(a->name, seg, slen);
		a->name[slen] = '\0';
		return true;
	}
	return plen == slen && memcmp(pat, seg, slen) == 0;
}

static bool
route_matches(const char *pattern, const char *path, struct route_args *a)
{
	const char *pe, *se;
	size_t plen, slen;

	if (strcmp(pattern, "/") == 0 || strcmp(path, "/") == 0)
		return strcmp(pattern, path) == 0;
	pattern++;
	path++;
	for (;;) {
		pe = strchr(pattern, '/');
		se = strchr(path, '/');
		plen = pe != NULL ? (size_t)(pe - pattern) : strlen(pattern);
		slen = se != NULL ? (size_t)(se - path) : strlen(path);
		if (!match_segment(pattern, plen, path, slen, a))
			return false;
		if (pe == NULL || se == NULL)
			return pe == NULL && se == NULL;
		pattern = pe + 1;
		path = se + 1;
	}
}

/* Route a parsed URI; r is filled in every case. */
static void
dispatch(struct web *web, const struct web_uri *uri, struct reply *r)
{
	bool api = strncmp(uri->path, "/api/", 5) == 0;
	struct route_args a = {.web = web, .uri = uri};
	const char *why = NULL;
	size_t i;

	for (i = 0; i < NELEM(routes); i++)
		if (route_matches(routes[i].pattern, uri->path, &a))
			break;
	if (i == NELEM(routes)) {
		reply_error(r, api, 404, "not found");
		return;
	}
	if (web_filter_parse(uri, &a.filter, &why) < 0) {
		reply_error(r, api, 400, why);
		return;
	}
	routes[i].fn(&a, r);
}

/* Compare without an early exit, so timing does not leak the secret. */
static bool
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = la != lb;

	for (i = 0; i < lb; i++)
		diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return diff == 0;
}

static bool
authorized(struct web *web, struct MHD_Connection *c)
{
	const char *header;

	if (web->auth_header == NULL)
		return true;
	header = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	return header != NULL && secret_equal(header, web->auth_header);
}

/*
 * Copy the path of a request URI, without its query, for a log line.
 * The copy is cut after WEB_LOG_PATH_MAX bytes, with "..." marking the
 * cut.  Control bytes, quotes, backslashes and non-ASCII bytes become
 * \xHH, so that a client cannot forge or break a log line.
 */
static void
escape_path(const char *uri, char *out, size_t size)
{
	size_t i, n = 0;
	unsigned char ch;

	for (i = 0; uri[i] != '\0' && uri[i] != '?' && i < WEB_LOG_PATH_MAX;
	     i++) {
		ch = (unsigned char)uri[i];
		if (n + 5 > size)
			break;
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
		else
			out[n++] = (char)ch;
	}
	if (uri[i] != '\0' && uri[i] != '?' && n + 4 <= size) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* Log a failed request with its path, the status and our reason text. */
static void
log_failure(
    const char *method, const char *path, int status, const char *reason)
{
	char safe_method[16], safe_path[4 * WEB_LOG_PATH_MAX + 4];
	size_t i;

	strlcpy_(safe_method, method, sizeof(safe_method));
	for (i = 0; safe_method[i] != '\0'; i++)
		if (safe_method[i] < 'A' || safe_method[i] > 'Z')
			safe_method[i] = '?';
	escape_path(path != NULL ? path : "-", safe_path, sizeof(safe_path));
	logmsg(status >= 500 ? "error" : NULL,
	    "web: request failed: method=%s path=\"%s\" status=%d"
	    " reason=\"%s\"",
	    safe_method, safe_path, status, reason != NULL ? reason : "-");
}

static enum MHD_Result
send_reply(struct web *web, struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	char challenge[64];
	size_t i;

	if (r->status >= 400)
		log_failure(r->method, r->path, r->status, r->reason);
	resp = MHD_create_response_from_buffer(
	    r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(r->body);
		return MHD_NO;
	}
	for (i = 0; i < NELEM(security_headers); i++)
		MHD_add_response_header(
		    resp, security_headers[i][0], security_headers[i][1]);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    r->cache != NULL ? r->cache : "no-store");
	if (r->disposition != NULL)
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, r->disposition);
	if (r->status == 401) {
		bufprintf(challenge, sizeof(challenge), "%s realm=\"spampot\"",
		    web->auth_scheme);
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
	}
	if (r->status == 405)
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Whether the request announces a body, which no route takes. */
static bool
has_body(struct MHD_Connection *c)
{
	const char *len = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (len != NULL && strcmp(len, "0") != 0) ||
	    MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size,
    void **req_cls)
{
	struct web *web = cls;
	struct request *req = *req_cls;
	struct reply r = {.status = 500, .method = method, .path = url};
	struct web_uri *uri;
	const char *why = "invalid request";
	int status;

	(void)version;
	if (req != NULL && req->raw_uri != NULL)
		r.path = req->raw_uri;
	(void)upload_data;
	/* A body is refused before it is read: the first call has none. */
	if (*upload_data_size != 0)
		return MHD_NO;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		reply_error(&r, false, 405, "only GET and HEAD are served");
		return send_reply(web, c, &r);
	}
	if (has_body(c)) {
		reply_error(&r, false, 413, "requests may not have a body");
		return send_reply(web, c, &r);
	}
	if (!authorized(web, c)) {
		reply_error(&r, false, 401, "authorization required");
		return send_reply(web, c, &r);
	}
	if (req == NULL || req->raw_uri == NULL) {
		reply_error(&r, false, 414, "URI too long");
		return send_reply(web, c, &r);
	}
	uri = xmalloc(sizeof(*uri));
	if ((status = web_uri_parse(req->raw_uri, uri, &why)) != 0)
		reply_error(&r, false, status, why);
	else
		dispatch(web, uri, &r);
	free(uri);
	return send_reply(web, c, &r);
}

/* Keep the URI as sent: MHD decodes the one it gives to handle(). */
static void *
log_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *req = xcalloc(1, sizeof(*req));

	(void)cls;
	(void)c;
	if (strlen(uri) <= WEB_URI_MAX)
		req->raw_uri = xstrdup(uri);
	return req;
}

static void
request_done(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *req = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (req != NULL) {
		free(req->raw_uri);
		free(req);
		*req_cls = NULL;
	}
}

/* Options and start-up. */

struct web_options {
	const char *db_path;
	const char *config; /* collector configuration, or NULL */
	const char *listen;
	const char *token;
	const char *basic_auth;
	const char *cert;
	const char *key;
};

/*
 * Parse ADDRESS:PORT or [IPV6]:PORT.  Only literal addresses, because a
 * name could resolve to anything.  Returns 0 or -1.
 */
static int
web_parse_listen(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	size_t hlen;
	long port;

	if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) < 0)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1
		    ? 0
		    : -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static bool
is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
	    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		sin6->sin6_addr.s6_addr[12] == 127);
}

static void
base64_encode(const char *in, struct sbuf *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in;
	size_t len = strlen(in), i;
	unsigned int v;
	char q[4];

	for (i = 0; i < len; i += 3) {
		v = (unsigned int)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned int)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = alphabet[v >> 18 & 63];
		q[1] = alphabet[v >> 12 & 63];
		q[2] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? alphabet[v & 63] : '=';
		sbuf_add(out, q, 4);
	}
}

/* The Authorization value to require; returns 0 or -1 with *why. */
static int
set_auth(struct web *web, const struct web_options *o, const char **why)
{
	struct sbuf b;

	if (o->token != NULL && o->basic_auth != NULL) {
		*why = "give --token or --basic-auth, not both";
		return -1;
	}
	sbuf_init(&b);
	if (o->token != NULL) {
		if (strlen(o->token) < 16 || strpbrk(o->token, " \t\r\n")) {
			*why = "invalid --token: use 16 or more characters"
			       " and no white space";
			return -1;
		}
		sbuf_printf(&b, "Bearer %s", o->token);
		web->auth_scheme = "Bearer";
	} else if (o->basic_auth != NULL) {
		if (strchr(o->basic_auth, ':') == NULL ||
		    o->basic_auth[0] == ':' ||
		    strlen(strchr(o->basic_auth, ':') + 1) < 8) {
			*why = "invalid --basic-auth: use USER:PASS with a"
			       " password of 8 or more characters";
			return -1;
		}
		sbuf_puts(&b, "Basic ");
		base64_encode(o->basic_auth, &b);
		web->auth_scheme = "Basic";
	} else {
		return 0;
	}
	web->auth_header = sbuf_steal(&b, NULL);
	return 0;
}

static const char web_usage[] =
    "usage: spampot web [--db FILE] [--config FILE] [--listen ADDRESS:PORT]\n"
    "                   [--token TOKEN | --basic-auth USER:PASS]\n"
    "                   [--cert FILE --key FILE]\n";

static const char web_help[] =
    "\n"
    "Serve the dashboard: sensors and totals, the report's tables and\n"
    "charts, the captured messages (their text shown escaped, never\n"
    "rendered), a JSON API under /api/ and Prometheus metrics at\n"
    "/metrics.  The database is read only.  Pages refresh themselves\n"
    "every minute and use no JavaScript.\n"
    "\n"
    "Options:\n"
    "  --db FILE              database to read (default: $SPAMPOT_DB, or\n"
    "                         spampot.db in the current directory)\n"
    "  --config FILE          collector configuration, for each sensor's\n"
    "                         status verdict as `spampot status` gives\n"
    "                         it (default: " COLLECTOR_DEFAULT_CONFIG "\n"
    "                         when that file exists; without one the\n"
    "                         overview shows no verdicts)\n"
    "  --listen ADDR:PORT     literal address and port to bind (default:\n"
    "                         " WEB_DEFAULT_LISTEN "; IPv6 as [::1]:8025).\n"
    "                         An address outside 127.0.0.0/8 and ::1\n"
    "                         requires --token or --basic-auth\n"
    "  --token TOKEN          require 'Authorization: Bearer TOKEN' (16\n"
    "                         or more characters), for scripts and\n"
    "                         Prometheus\n"
    "  --basic-auth USER:PASS require HTTP Basic authentication, for\n"
    "                         browsers (password of 8 or more characters)\n"
    "  --cert FILE, --key FILE\n"
    "                         serve HTTPS with this PEM certificate and\n"
    "                         key; without TLS, credentials cross the\n"
    "                         network in clear text\n"
    "  -h, --help             show this help and exit\n"
    "\n"
    "Exit status: 0 after SIGINT or SIGTERM; 1 when the database, the\n"
    "certificate or the address cannot be used; 2 on invalid arguments.\n";

static int
parse_options(int argc, char **argv, struct web_options *o)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'C'},
	    {"listen", required_argument, NULL, 'l'},
	    {"token", required_argument, NULL, 't'},
	    {"basic-auth", required_argument, NULL, 'b'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->db_path = optarg;
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'b':
			o->basic_auth = optarg;
			break;
		case 'c':
			o->cert = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'h':
			fputs(web_usage, stdout);
			fputs(web_help, stdout);
			return 0;
		default:
			return usage_error("web", web_usage,
			    "invalid option or missing"
			    " argument: %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(
		    "web", web_usage, "unexpected argument '%s'", argv[optind]);
	if ((o->cert == NULL) != (o->key == NULL))
		return usage_error(
		    "web", web_usage, "--cert and --key go together");
	return -1;
}

/*
 * Bind and listen on ss ourselves, so that a failure is reported with
 * its errno rather than in libmicrohttpd's words.  Returns the socket,
 * or -1 with errno set.
 */
static int
open_listener(const struct sockaddr_storage *ss)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int fd, on = 1, saved;

	fd = socket(
	    ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) <
		    0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return 0;
}

/*
 * Check that pem[0] is a PEM certificate and pem[1] the unencrypted PEM
 * private key for it, so that a bad file is named before anything is
 * bound.  Returns 0, or -1 after printing the cause.
 */
static int
check_pems(const struct web_options *o, char *pem[2])
{
	const char *problem = NULL, *path = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *bio;

	if ((bio = BIO_new_mem_buf(pem[0], -1)) != NULL) {
		cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if ((bio = BIO_new_mem_buf(pem[1], -1)) != NULL) {
		key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if (cert == NULL) {
		problem = "invalid certificate: no PEM certificate in it";
		path = o->cert;
	} else if (key == NULL) {
		problem = "invalid key: no unencrypted PEM private key in it";
		path = o->key;
	} else if (X509_check_private_key(cert, key) != 1) {
		problem = "key does not match the certificate";
		path = o->key;
	}
	if (problem != NULL)
		fprintf(stderr, "%s: web: %s: %s\n", progname, path, problem);
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	return problem != NULL ? -1 : 0;
}

static struct MHD_Daemon *
start_daemon(struct web *web, int fd, struct sockaddr_storage *ss, char *pem[2])
{
	unsigned int flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (pem[0] != NULL)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(flags, 0, NULL, NULL, handle, web,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)WEB_CONNECTIONS_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)WEB_CONNECTIONS_PER_IP,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_IDLE_TIMEOUT,
	    MHD_OPTION_URI_LOG_CALLBACK, log_uri, NULL,
	    /* Reject what RFC 9112 forbids, such as HTTP/1.1 with no Host. */
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_NOTIFY_COMPLETED,
	    request_done, NULL,
	    pem[0] != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, pem[0],
	    MHD_OPTION_HTTPS_MEM_KEY, pem[1], MHD_OPTION_END);
}

static int
read_pems(const struct web_options *o, char *pem[2])
{
	const char *paths[2] = {o->cert, o->key};
	char limit[64];
	size_t len;
	int i;

	for (i = 0; i < 2; i++) {
		if (paths[i] == NULL)
			continue;
		if ((pem[i] = read_file(paths[i], WEB_PEM_MAX, &len)) == NULL) {
			fprintf(stderr, "%s: web: cannot read %s: %s\n",
			    progname, paths[i],
			    read_file_error(errno, WEB_PEM_MAX, limit,
				sizeof(limit)));
			return -1;
		}
	}
	if (pem[0] != NULL &&
	    MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		fprintf(stderr, "%s: web: this libmicrohttpd has no TLS\n",
		    progname);
		return -1;
	}
	return pem[0] != NULL ? check_pems(o, pem) : 0;
}

/* Serve until SIGINT or SIGTERM; returns the exit status. */
static int
serve(struct web *web, const struct web_options *o, struct sockaddr_storage *ss)
{
	char *pem[2] = {NULL, NULL}, err[512];
	struct MHD_Daemon *d = NULL;
	sigset_t set;
	int sig, fd, rc = 1;

	if (read_pems(o, pem) < 0)
		goto done;
	if ((web->db = db_open(o->db_path, false, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: web: %s\n", progname, err);
		goto done;
	}
	/* Read-only: the dashboard never changes what ingest wrote. */
	if (db_exec(web->db, "PRAGMA query_only = ON") < 0) {
		fprintf(stderr, "%s: web: %s\n", progname, db_error(web->db));
		goto done;
	}
	/* Block the signals before the server thread starts and inherits. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = open_listener(ss)) < 0) {
		fprintf(stderr, "%s: web: cannot listen on %s: %s\n", progname,
		    o->listen, strerror(errno));
		goto done;
	}
	if ((d = start_daemon(web, fd, ss, pem)) == NULL) {
		/* libmicrohttpd has printed why. */
		fprintf(stderr, "%s: web: cannot start the server on %s\n",
		    progname, o->listen);
		close(fd);
		goto done;
	}
	logmsg(NULL, "web: listening on %s://%s",
	    pem[0] != NULL ? "https" : "http", o->listen);
	sigwait(&set, &sig);
	logmsg(NULL, "web: stopping on signal %d", sig);
	MHD_stop_daemon(d);
	rc = 0;
done:
	db_close(web->db);
	free(pem[0]);
	free(pem[1]);
	return rc;
}

/*
 * Read the collector's configuration for the status verdicts: the file
 * given, which must be readable, or the default one when it exists.
 */
static int
load_collector(struct web *web, const char *path)
{
	char err[512];

	if (path == NULL) {
		if (access(COLLECTOR_DEFAULT_CONFIG, R_OK) != 0)
			return 0;
		path = COLLECTOR_DEFAULT_CONFIG;
	}
	web->collector = xcalloc(1, sizeof(*web->collector));
	if (collector_conf_load(path, web->collector, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: web: %s\n", progname, err);
		free(web->collector);
		web->collector = NULL;
		return -1;
	}
	return 0;
}

int
cmd_web(int argc, char **argv)
{
	struct web_options o = {
	    .db_path = db_default_path(), .listen = WEB_DEFAULT_LISTEN};
	struct web web = {.db = NULL};
	struct sockaddr_storage ss;
	const char *why = NULL;
	int rc;

	if ((rc = parse_options(argc, argv, &o)) >= 0)
		return rc;
	if (web_parse_listen(o.listen, &ss) < 0)
		return usage_error("web", web_usage,
		    "invalid --listen '%s'; use a literal"
		    " ADDRESS:PORT such as %s",
		    o.listen, WEB_DEFAULT_LISTEN);
	if (set_auth(&web, &o, &why) < 0)
		return usage_error("web", web_usage, "%s", why);
	/* Checked before anything is bound, so nothing is ever exposed. */
	if (!is_loopback(&ss) && web.auth_header == NULL) {
		fprintf(stderr,
		    "%s: web: refusing to listen on %s without"
		    " authentication; add --token or --basic-auth, or listen"
		    " on loopback\n",
		    progname, o.listen);
		return 2;
	}
	if (load_collector(&web, o.config) < 0) {
		free(web.auth_header);
		return 1;
	}
	rc = serve(&web, &o, &ss);
	if (web.collector != NULL) {
		collector_conf_free(web.collector);
		free(web.collector);
	}
	free(web.auth_header);
	return rc;
}
