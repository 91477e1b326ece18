/*
 * Request URI parsing for the dashboard.  Every byte comes from the
 * client, so the parser writes only into the fixed fields of struct
 * web_uri.  It rejects what does not fit instead of truncating it, so a
 * filter never matches something other than what was requested.
 */
#include "webquery.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Largest ASN: AS numbers are 32 bits (RFC 6793). */
#define ASN_MAX 4294967295LL

/* Highest page number; deeper pages would only be slow OFFSET scans. */
#define PAGE_MAX 100000


/* Decode "%XX" at s; returns the byte, or -1 if it is not two hex digits. */
static int
percent_byte(const char *s)
{
	int hi, lo;

	if (s[0] != '%' || (hi = hex_value(s[1])) < 0 ||
	    (lo = hex_value(s[2])) < 0)
		return -1;
	return hi << 4 | lo;
}

static bool
is_path_byte(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Reject empty, "." and ".." segments of a decoded path. */
static int
check_segments(const char *path, const char **why)
{
	const char *seg = path + 1, *end;
	size_t len;

	if (strcmp(path, "/") == 0)
		return 0;
	for (;;) {
		end = strchr(seg, '/');
		len = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if ((len == 0 && end != NULL) || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.')) {
			*why = "invalid path segment";
			return 400;
		}
		if (end == NULL)
			return 0;
		seg = end + 1;
	}
}

static int
parse_path(const char *raw, size_t len, struct web_uri *uri, const char **why)
{
	size_t i = 0, out = 0;
	int c;

	if (len == 0 || raw[0] != '/') {
		*why = "the path must start with '/'";
		return 400;
	}
	while (i < len) {
		c = (unsigned char)raw[i];
		if (c == '/') {
			i++;
		} else if (c == '%') {
			/* An encoded slash would hide a segment boundary. */
			if (len - i < 3 || (c = percent_byte(raw + i)) < 0 ||
			    !is_path_byte(c)) {
				*why = "invalid percent-encoding in the path";
				return 400;
			}
			i += 3;
		} else if (is_path_byte(c)) {
			i++;
		} else {
			*why = "invalid character in the path";
			return 400;
		}
		uri->path[out++] = (char)c;
	}
	uri->path[out] = '\0';
	return check_segments(uri->path, why);
}

static bool
is_name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

/* Decode a form-encoded value: '+' is a space, %XX a byte. */
static int
decode_value(const char *s, size_t len, char *out, const char **why)
{
	size_t i = 0, n = 0;
	int c;

	while (i < len) {
		if (s[i] == '%') {
			if (len - i < 3 || (c = percent_byte(s + i)) < 0) {
				*why =
				    "invalid percent-encoding in a parameter";
				return 400;
			}
			i += 3;
		} else {
			c = s[i] == '+' ? ' ' : (unsigned char)s[i];
			i++;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in a parameter";
			return 400;
		}
		if (n == WEB_PARAM_VALUE_MAX) {
			*why = "parameter value too long";
			return 400;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

static int
add_param(struct web_uri *uri, const char *s, size_t len, const char **why)
{
	const char *eq = memchr(s, '=', len);
	size_t namelen = eq != NULL ? (size_t)(eq - s) : len, i;
	struct web_param *p;

	if (uri->nparams == WEB_PARAMS_MAX) {
		*why = "too many parameters";
		return 400;
	}
	if (namelen == 0 || namelen > WEB_PARAM_NAME_MAX) {
		*why = "invalid parameter name";
		return 400;
	}
	p = &uri->params[uri->nparams];
	for (i = 0; i < namelen; i++) {
		if (!is_name_byte(s[i])) {
			*why = "invalid parameter name";
			return 400;
		}
		p->name[i] = s[i];
	}
	p->name[namelen] = '\0';
	if (web_uri_param(uri, p->name) != NULL) {
		*why = "repeated parameter";
		return 400;
	}
	if (eq == NULL)
		p->value[0] = '\0';
	else if (decode_value(eq + 1, len - namelen - 1, p->value, why) != 0)
		return 400;
	uri->nparams++;
	return 0;
}

static int
parse_query(const char *q, struct web_uri *uri, const char **why)
{
	const char *amp;
	size_t len;
	int rc;

	while (*q != '\0') {
		amp = strchr(q, '&');
		len = amp != NULL ? (size_t)(amp - q) : strlen(q);
		if (len > 0 && (rc = add_param(uri, q, len, why)) != 0)
			return rc;
		if (amp == NULL)
			break;
		q = amp + 1;
	}
	return 0;
}

int
web_uri_parse(const char *raw, struct web_uri *uri, const char **why)
{
	size_t len = strlen(raw), pathlen;
	const char *qmark;
	int rc;

	uri->path[0] = '\0';
	uri->nparams = 0;
	if (len > WEB_URI_MAX) {
		*why = "URI too long";
		return 414;
	}
	if (strchr(raw, '#') != NULL) {
		*why = "fragment in the request URI";
		return 400;
	}
	qmark = strchr(raw, '?');
	pathlen = qmark != NULL ? (size_t)(qmark - raw) : len;
	if ((rc = parse_path(raw, pathlen, uri, why)) != 0)
		return rc;
	if (qmark != NULL)
		return parse_query(qmark + 1, uri, why);
	return 0;
}

const char *
web_uri_param(const struct web_uri *uri, const char *name)
{
	size_t i;

	for (i = 0; i < uri->nparams; i++)
		if (strcmp(uri->params[i].name, name) == 0)
			return uri->params[i].value;
	return NULL;
}

/* Filters. */

bool
web_valid_day(const char *s)
{
	struct tm tm;
	const char *end;
	char back[11];
	time_t t;

	if (strlen(s) != 10)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return false;
	/* timegm normalises 2026-02-30 to March; a round trip catches it. */
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(back, sizeof(back), "%Y-%m-%d", &tm);
	return strcmp(back, s) == 0;
}

static bool
set_sensor(struct web_filter *f, const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len >= sizeof(f->sensor))
		return false;
	for (i = 0; i < len; i++)
		if (!is_path_byte((unsigned char)v[i]))
			return false;
	memcpy(f->sensor, v, len + 1);
	return true;
}

static bool
set_ip(struct web_filter *f, const char *v)
{
	unsigned char addr[16];

	if (strlen(v) >= sizeof(f->ip) ||
	    (inet_pton(AF_INET, v, addr) != 1 &&
		inet_pton(AF_INET6, v, addr) != 1))
		return false;
	memcpy(f->ip, v, strlen(v) + 1);
	return true;
}

static bool
set_asn(struct web_filter *f, const char *v)
{
	char *end;
	long long n;

	if (v[0] < '0' || v[0] > '9')
		return false;
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 0 || n > ASN_MAX)
		return false;
	f->asn = n;
	return true;
}

static bool
set_country(struct web_filter *f, const char *v)
{
	if (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' ||
	    v[1] > 'Z')
		return false;
	memcpy(f->country, v, 3);
	return true;
}

static bool
set_port(struct web_filter *f, const char *v)
{
	long n;

	if (parse_long(v, 1, 65535, &n) < 0)
		return false;
	f->port = (int)n;
	return true;
}

static bool
set_day_field(char out[11], const char *v)
{
	if (!web_valid_day(v))
		return false;
	memcpy(out, v, 11);
	return true;
}

static bool
set_day(struct web_filter *f, const char *v)
{
	return set_day_field(f->day, v);
}

static bool
set_since(struct web_filter *f, const char *v)
{
	return set_day_field(f->since, v);
}

static bool
set_until(struct web_filter *f, const char *v)
{
	return set_day_field(f->until, v);
}

static bool
set_os(struct web_filter *f, const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len >= sizeof(f->os))
		return false;
	for (i = 0; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= 'A' && v[i] <= 'Z')))
			return false;
	memcpy(f->os, v, len + 1);
	return true;
}

static bool
set_page(struct web_filter *f, const char *v)
{
	return parse_long(v, 1, PAGE_MAX, &f->page) == 0;
}

static const struct {
	const char *name;
	bool (*set)(struct web_filter *, const char *);
	const char *invalid;
} filter_params[] = {
    {"sensor", set_sensor, "invalid sensor name"},
    {"ip", set_ip, "invalid IP address"},
    {"asn", set_asn, "invalid ASN"},
    {"country", set_country, "invalid country code; use two capitals"},
    {"port", set_port, "invalid port; use 1 to 65535"},
    {"day", set_day, "invalid day; use YYYY-MM-DD"},
    {"since", set_since, "invalid since; use YYYY-MM-DD"},
    {"until", set_until, "invalid until; use YYYY-MM-DD"},
    {"os", set_os, "invalid operating system class"},
    {"page", set_page, "invalid page; use 1 to 100000"},
};

int
web_filter_parse(
    const struct web_uri *uri, struct web_filter *f, const char **why)
{
	const struct web_param *p;
	size_t i, j;

	memset(f, 0, sizeof(*f));
	f->asn = -1;
	f->port = -1;
	f->page = 1;
	for (i = 0; i < uri->nparams; i++) {
		p = &uri->params[i];
		for (j = 0; j < NELEM(filter_params); j++)
			if (strcmp(filter_params[j].name, p->name) == 0)
				break;
		if (j == NELEM(filter_params)) {
			*why = "unknown parameter";
			return -1;
		}
		/* An empty value is an unset filter, as an empty form field. */
		if (p->value[0] == '\0')
			continue;
		if (!filter_params[j].set(f, p->value)) {
			*why = filter_params[j].invalid;
			return -1;
		}
	}
	/* YYYY-MM-DD compares as text, as report --since and --until do. */
	if (f->since[0] != '\0' && f->until[0] != '\0' &&
	    strcmp(f->since, f->until) > 0) {
		*why = "since is after until";
		return -1;
	}
	return 0;
}
