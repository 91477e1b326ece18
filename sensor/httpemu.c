/*
 * The HTTP origin emulator; see httpemu.h.  Peer bytes reach the pages
 * built here only HTML-escaped, and every buffer is bounded by its
 * caller's capacity.
 */
#include "httpemu.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

/* A bounded output buffer; once full, it stays full and ignores more. */
struct outbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void
out_mem(struct outbuf *o, const void *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
out_str(struct outbuf *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* Append peer bytes as HTML text: markup and control bytes escaped. */
static void
out_html(struct outbuf *o, const char *s, size_t n)
{
	char ent[8];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '<')
			out_str(o, "&lt;");
		else if (ch == '>')
			out_str(o, "&gt;");
		else if (ch == '&')
			out_str(o, "&amp;");
		else if (ch == '"')
			out_str(o, "&quot;");
		else if (ch < 0x20 || ch == 0x7f) {
			snprintf(ent, sizeof(ent), "&#%u;", ch);
			out_str(o, ent);
		} else
			out_mem(o, &ch, 1);
	}
}

static void
out_int(struct outbuf *o, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	out_str(o, num);
}

/* Request body reading. */

void
http_body_init(struct http_body *b, const struct http_request *req)
{
	memset(b, 0, sizeof(*b));
	if (req->chunked) {
		b->mode = HTTP_BODY_CHUNKED;
		b->chunk = CHUNK_SIZE;
	} else if (req->content_length > 0) {
		b->mode = HTTP_BODY_LENGTH;
		b->remaining = (uint64_t)req->content_length;
	} else {
		b->mode = HTTP_BODY_NONE;
	}
}

/* Keep body bytes up to HTTP_BODY_MAX; false when some did not fit. */
static bool
keep(struct http_body *b, const unsigned char *p, size_t n)
{
	size_t room = sizeof(b->data) - b->len;

	if (n > room) {
		memcpy(b->data + b->len, p, room);
		b->len += room;
		b->truncated = true;
		return false;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

/* Parse a chunk-size line's hex size; extensions after ';' ignored. */
static int
chunk_size(const char *line, size_t n, uint64_t *size)
{
	size_t i, digits = 0;
	uint64_t v = 0;

	for (i = 0; i < n && isxdigit((unsigned char)line[i]); i++) {
		/* Past 15 digits the size is absurd; stop before overflow. */
		if (++digits > 15)
			return -1;
		v = v * 16 +
		    (uint64_t)(isdigit((unsigned char)line[i])
			    ? line[i] - '0'
			    : tolower((unsigned char)line[i]) - 'a' + 10);
	}
	if (digits == 0)
		return -1;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < n && line[i] != ';')
		return -1;
	*size = v;
	return 0;
}

/*
 * Gather one line into b->line.  Returns 1 with the line (CRLF or LF
 * removed) when whole, 0 when it needs more, -1 when too long.
 */
static int
take_line(struct http_body *b, const unsigned char *p, size_t len, size_t *off)
{
	while (*off < len) {
		unsigned char ch = p[(*off)++];

		if (ch == '\n') {
			if (b->line_len > 0 && b->line[b->line_len - 1] == '\r')
				b->line_len--;
			return 1;
		}
		if (b->line_len == sizeof(b->line))
			return -1;
		b->line[b->line_len++] = (char)ch;
	}
	return 0;
}

static int
feed_chunked(struct http_body *b, const unsigned char *p, size_t len,
    size_t *used, const char **why)
{
	size_t off = 0, n;
	int rc;

	while (off < len && b->chunk != CHUNK_DONE) {
		switch (b->chunk) {
		case CHUNK_SIZE:
		case CHUNK_DATA_END:
		case CHUNK_TRAILER:
			if ((rc = take_line(b, p, len, &off)) == 0)
				break;
			if (rc < 0) {
				*why = "chunk line too long";
				return PARSE_ERROR;
			}
			if (b->chunk == CHUNK_DATA_END) {
				if (b->line_len != 0) {
					*why =
					    "chunk data not followed by CRLF";
					return PARSE_ERROR;
				}
				b->chunk = CHUNK_SIZE;
			} else if (b->chunk == CHUNK_TRAILER) {
				if (b->line_len == 0)
					b->chunk = CHUNK_DONE;
			} else if (chunk_size(b->line, b->line_len,
				       &b->remaining) < 0) {
				*why = "chunk size invalid";
				return PARSE_ERROR;
			} else {
				b->chunk = b->remaining == 0 ? CHUNK_TRAILER
							     : CHUNK_DATA;
			}
			b->line_len = 0;
			break;
		case CHUNK_DATA:
			n = len - off;
			if (n > b->remaining)
				n = (size_t)b->remaining;
			if (!keep(b, p + off, n)) {
				*used = len;
				return PARSE_OK;
			}
			b->remaining -= n;
			off += n;
			if (b->remaining == 0)
				b->chunk = CHUNK_DATA_END;
			break;
		case CHUNK_DONE:
			break;
		}
	}
	*used = off;
	return b->chunk == CHUNK_DONE ? PARSE_OK : PARSE_MORE;
}

int
http_body_feed(struct http_body *b, const void *buf, size_t len, size_t *used,
    const char **why)
{
	const unsigned char *p = buf;
	size_t n;

	*used = 0;
	switch (b->mode) {
	case HTTP_BODY_NONE:
		return PARSE_OK;
	case HTTP_BODY_CHUNKED:
		return feed_chunked(b, p, len, used, why);
	case HTTP_BODY_LENGTH:
		break;
	}
	n = len < b->remaining ? len : (size_t)b->remaining;
	*used = n;
	if (!keep(b, p, n))
		return PARSE_OK;
	b->remaining -= n;
	if (b->remaining == 0)
		return PARSE_OK;
	if (b->len == sizeof(b->data)) {
		b->truncated = true;
		return PARSE_OK;
	}
	return PARSE_MORE;
}

/* Judges and proxy header fields. */

bool
httpemu_is_judge(
    const struct http_request *req, const char *const *patterns, int npatterns)
{
	char url[512];
	size_t hlen = strlen(req->host), plen;
	int i;

	/* host and path together, so that "/env" or "judge." can match. */
	plen = req->path_len < sizeof(url) - hlen - 1 ? req->path_len
						      : sizeof(url) - hlen - 1;
	memcpy(url, req->host, hlen);
	memcpy(url + hlen, req->path, plen);
	url[hlen + plen] = '\0';
	for (i = 0; i < npatterns; i++)
		if (patterns[i][0] != '\0' && strcasestr(url, patterns[i]))
			return true;
	return false;
}

/*
 * Fields that would give a proxy away or that a proxy consumes.  An
 * elite proxy adds none of the first kind and forwards none of the
 * second, so the judge echo leaves all of them out.
 */
static const char *const proxy_fields[] = {
    "Via",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-Server",
    "Forwarded",
    "X-Real-IP",
    "Client-IP",
    "X-Client-IP",
    "X-Proxy-ID",
    "X-Cache",
    "X-Cache-Lookup",
    "Proxy-Connection",
    "Proxy-Authorization",
    "Keep-Alive",
};

bool
httpemu_is_proxy_field(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(proxy_fields) / sizeof(proxy_fields[0]); i++)
		if (strlen(proxy_fields[i]) == len &&
		    strncasecmp(proxy_fields[i], name, len) == 0)
			return true;
	return false;
}

/* "User-Agent" as a CGI variable: "HTTP_USER_AGENT". */
static void
out_cgi_name(struct outbuf *o, const char *name, size_t len)
{
	size_t i;

	out_str(o, "HTTP_");
	for (i = 0; i < len; i++) {
		char ch = name[i] == '-'
		    ? '_'
		    : (char)toupper((unsigned char)name[i]);

		out_html(o, &ch, 1);
	}
}

/*
 * The page of azenv.php, the judge script most proxy checkers use: the
 * CGI variables the origin saw, one "NAME = value" line each.
 */
static void
build_judge(struct outbuf *o, const struct http_request *req,
    const struct httpemu_env *env)
{
	int i;

	out_str(o,
	    "<html>\n<head>\n<title>AZ Environment variables 1.04"
	    "</title>\n</head>\n<body>\n<pre>\nREMOTE_ADDR = ");
	out_html(o, env->remote_addr, strlen(env->remote_addr));
	out_str(o, "\nREMOTE_PORT = ");
	out_int(o, env->remote_port);
	out_str(o, "\nREQUEST_METHOD = ");
	out_html(o, req->method, req->method_len);
	out_str(o, "\nREQUEST_URI = ");
	out_html(o, req->path, req->path_len);
	out_str(o, "\nREQUEST_TIME_FLOAT = ");
	out_int(o, (long long)env->now);
	out_str(o, ".");
	/* Sub-second digits that vary by request, as a real clock's do. */
	out_int(o, 100000 + (env->remote_port * 7919L) % 900000);
	out_str(o, "\nREQUEST_TIME = ");
	out_int(o, (long long)env->now);
	for (i = 0; i < req->nfields; i++) {
		const struct http_field *f = &req->fields[i];

		if (httpemu_is_proxy_field(f->name, f->name_len))
			continue;
		out_str(o, "\n");
		out_cgi_name(o, f->name, f->name_len);
		out_str(o, " = ");
		out_html(o, f->value, f->value_len);
	}
	out_str(o, "\n</pre>\n</body>\n</html>\n");
}

/* Made-up pages. */

static const char *const page_titles[] = {
    "Welcome",
    "Home",
    "Latest news",
    "About us",
    "Our products",
    "Contact",
    "Blog",
    "Services",
    "Customer support",
    "Archive",
    "Downloads",
    "Events",
};

static const char *const page_sentences[] = {
    "We are glad to have you here.",
    "This site is updated every week with new articles.",
    "Please check back soon for more information.",
    "Our team has been serving customers since 2009.",
    "Sign up for the newsletter to hear about new offers.",
    "All prices include shipping within the country.",
    "The office is open Monday to Friday, 9 to 5.",
    "Read the frequently asked questions before writing to us.",
    "New photos from the spring event are in the gallery.",
    "The page you are looking at was last changed this month.",
    "Thank you for your patience while we improve the site.",
    "Follow the links below to find what you need.",
};

/* FNV-1a over the host (case folded) and path: stable per URL. */
static uint64_t
url_hash(const struct http_request *req)
{
	uint64_t h = 14695981039346656037ULL;
	const char *s;
	size_t i;

	for (s = req->host; *s != '\0'; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) *
		    1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (i = 0; i < req->path_len; i++)
		h = (h ^ (unsigned char)req->path[i]) * 1099511628211ULL;
	return h;
}

#define NTITLES    (sizeof(page_titles) / sizeof(page_titles[0]))
#define NSENTENCES (sizeof(page_sentences) / sizeof(page_sentences[0]))

/*
 * A small page chosen by the URL's hash.  The canonical link carries
 * the URL itself, so two URLs never get the same bytes even when their
 * hashes pick the same words.
 */
static void
build_page(struct outbuf *o, const struct http_request *req)
{
	uint64_t h = url_hash(req);
	size_t hlen = strlen(req->host);
	const char *title = page_titles[h % NTITLES];
	int i;

	out_str(o,
	    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>");
	out_str(o, title);
	out_str(o, " - ");
	out_html(o, req->host, hlen);
	out_str(o, "</title>\n<link rel=\"canonical\" href=\"http://");
	out_html(o, req->host, hlen);
	out_html(o, req->path, req->path_len);
	out_str(o, "\">\n</head>\n<body>\n<h1>");
	out_str(o, title);
	out_str(o, "</h1>\n");
	for (i = 0; i < 2 + (int)((h >> 8) % 3); i++) {
		out_str(o, "<p>");
		out_str(o, page_sentences[(h >> (12 + 4 * i)) % NSENTENCES]);
		out_str(o, "</p>\n");
	}
	out_str(o, "<p><a href=\"/\">");
	out_html(o, req->host, hlen);
	out_str(o, "</a></p>\n</body>\n</html>\n");
}

size_t
httpemu_respond(const struct http_request *req, const struct httpemu_env *env,
    char *out, size_t cap)
{
	/* Static, not on the stack: the daemon is single-threaded. */
	static char body[HTTPEMU_RESPONSE_MAX];
	struct outbuf o = {body, 0, sizeof(body), false};
	size_t n;
	char *end;

	if (env->judge)
		build_judge(&o, req, env);
	else
		build_page(&o, req);
	if (o.full)
		return 0;
	n = http_format_response(out, cap, 200, HTTPEMU_SERVER,
	    "text/html; charset=UTF-8", body, o.len);
	if (n == 0)
		return 0;
	if (req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0) {
		end = memmem(out, n, "\r\n\r\n", 4);
		n = end != NULL ? (size_t)(end - out) + 4 : n;
	}
	return n;
}

/*
 * Squid 3.5 answers its own errors with these fields after the usual
 * ones, and a page whose body id names the error, so checkers that
 * look for either see a real Squid.
 */
size_t
httpemu_error(int status, const char *squid_error, const char *url,
    const char *sysmsg, const char *hostname, time_t now, char *out, size_t cap)
{
	char body[4096], date[HTTP_DATE_SIZE], name[64];
	struct outbuf b = {body, 0, sizeof(body), false};
	struct outbuf o = {out, 0, cap, false};
	size_t n;

	http_format_date(now, date);
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(squid_error, " "),
	    squid_error);
	out_str(&b,
	    "<!DOCTYPE html>\n<html><head>\n<meta http-equiv="
	    "\"Content-Type\" content=\"text/html; charset=utf-8\">"
	    "\n<title>ERROR: The requested URL could not be "
	    "retrieved</title>\n</head><body id=\"");
	out_str(&b, name);
	out_str(&b,
	    "\">\n<div id=\"titles\"><h1>ERROR</h1>\n<h2>The "
	    "requested URL could not be retrieved</h2></div>\n<hr>\n"
	    "<div id=\"content\">\n<p>While retrieving <a href=\"");
	out_html(&b, url, strlen(url));
	out_str(&b, "\">");
	out_html(&b, url, strlen(url));
	out_str(&b,
	    "</a> the proxy failed.</p>\n<p id=\"sysmsg\">The system "
	    "returned: <i>");
	out_html(&b, sysmsg, strlen(sysmsg));
	out_str(&b,
	    "</i></p>\n</div>\n<hr>\n<div id=\"footer\">\n"
	    "<p>Generated ");
	out_str(&b, date);
	out_str(&b, " by ");
	out_html(&b, hostname, strlen(hostname));
	out_str(&b, " (" HTTPEMU_SERVER ")</p>\n</div>\n</body></html>\n");
	if (b.full || strpbrk(squid_error, "\r\n") != NULL)
		return 0;

	n = (size_t)snprintf(name, sizeof(name), "%d ", status);
	out_str(&o, "HTTP/1.1 ");
	out_mem(&o, name, n);
	out_str(&o, http_reason(status));
	out_str(&o,
	    "\r\nServer: " HTTPEMU_SERVER "\r\nMime-Version: 1.0"
	    "\r\nDate: ");
	out_str(&o, date);
	out_str(&o,
	    "\r\nContent-Type: text/html;charset=utf-8\r\n"
	    "Content-Length: ");
	out_int(&o, (long long)b.len);
	out_str(&o, "\r\nX-Squid-Error: ");
	out_str(&o, squid_error);
	out_str(&o,
	    "\r\nVary: Accept-Language\r\nContent-Language: en\r\n"
	    "Connection: close\r\n\r\n");
	out_mem(&o, body, b.len);
	return o.full ? 0 : o.len;
}
