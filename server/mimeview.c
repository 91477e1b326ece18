/*
 * MIME decoding for the message viewer (RFC 2045, RFC 2046).  Messages
 * are spam, often malformed on purpose: boundaries that never close,
 * bad base64, lines of megabytes.  The parser walks the buffer with
 * explicit bounds, caps header fields, parts and nesting from
 * spampot_limits.h, and shows what it could not parse as plain text.
 */
#include "mimeview.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "html.h"
#include "spampot_limits.h"
#include "util.h"

struct span {
	const char *p;
	size_t len;
};

/* The header fields of one entity that describe its body. */
struct entity {
	char type[64];     /* lowercase type/subtype */
	char charset[32];  /* lowercase */
	char encoding[32]; /* lowercase Content-Transfer-Encoding */
	char boundary[71]; /* RFC 2046: at most 70 characters */
	char filename[128];
};

struct walk {
	json_t *parts;
	bool truncated;
};

/* Next line of s from *pos, without its terminator; false at the end. */
static bool
next_line(struct span s, size_t *pos, struct span *line)
{
	const char *nl;

	if (*pos >= s.len)
		return false;
	line->p = s.p + *pos;
	nl = memchr(line->p, '\n', s.len - *pos);
	line->len = nl != NULL ? (size_t)(nl - line->p) : s.len - *pos;
	*pos += line->len + (nl != NULL ? 1 : 0);
	if (line->len > 0 && line->p[line->len - 1] == '\r')
		line->len--;
	return true;
}

/*
 * Split s into header and body at the first empty line.  A message
 * with no empty line is all header.
 */
static void
split_entity(struct span s, struct span *head, struct span *body)
{
	struct span line;
	size_t pos = 0, before;

	*head = s;
	body->p = s.p + s.len;
	body->len = 0;
	for (;;) {
		before = pos;
		if (!next_line(s, &pos, &line))
			return;
		if (line.len == 0) {
			head->len = before;
			body->p = s.p + pos;
			body->len = s.len - pos;
			return;
		}
	}
}

static void
lower_copy(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32
								 : src[i]);
	dst[len] = '\0';
}

static void
trim(struct span *s)
{
	while (s->len > 0 && (s->p[0] == ' ' || s->p[0] == '\t')) {
		s->p++;
		s->len--;
	}
	while (
	    s->len > 0 && (s->p[s->len - 1] == ' ' || s->p[s->len - 1] == '\t'))
		s->len--;
}

/*
 * Find parameter name in a Content-Type or Content-Disposition value
 * and copy it, unquoted, into out.  RFC 2231 continuations are not
 * joined; the first piece is kept.
 */
static void
header_param(struct span v, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name), i = 0, start, len;

	out[0] = '\0';
	while (i < v.len) {
		if (v.p[i++] != ';')
			continue;
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
		if (v.len - i <= nlen ||
		    strncasecmp(v.p + i, name, nlen) != 0 ||
		    v.p[i + nlen] != '=')
			continue;
		i += nlen + 1;
		if (i < v.len && v.p[i] == '"') {
			start = ++i;
			while (i < v.len && v.p[i] != '"')
				i++;
		} else {
			start = i;
			while (i < v.len && v.p[i] != ';' && v.p[i] != ' ' &&
			    v.p[i] != '\t')
				i++;
		}
		len = i - start;
		if (len >= size)
			len = size - 1;
		memcpy(out, v.p + start, len);
		out[len] = '\0';
		return;
	}
}

/* The value up to the first ';', lowercased: a type or an encoding. */
static void
header_token(struct span v, char *out, size_t size)
{
	const char *semi = memchr(v.p, ';', v.len);
	struct span t = {v.p, semi != NULL ? (size_t)(semi - v.p) : v.len};

	trim(&t);
	lower_copy(out, size, t.p, t.len);
}

/*
 * Call fn for each unfolded header field of head, at most
 * WEB_MIME_HEADERS_MAX; returns false if fields were left out.
 */
static bool
each_field(
    struct span head, void (*fn)(void *, struct span, struct span), void *arg)
{
	struct span line, field = {NULL, 0}, name, value;
	size_t pos = 0, count = 0;
	const char *colon;
	bool more = true;

	while (more) {
		more = next_line(head, &pos, &line);
		if (more && line.len > 0 &&
		    (line.p[0] == ' ' || line.p[0] == '\t') &&
		    field.p != NULL) {
			field.len = (size_t)(line.p + line.len - field.p);
			continue;
		}
		if (field.p != NULL &&
		    (colon = memchr(field.p, ':', field.len)) != NULL) {
			if (count++ == WEB_MIME_HEADERS_MAX)
				return false;
			name.p = field.p;
			name.len = (size_t)(colon - field.p);
			value.p = colon + 1;
			value.len = field.len - name.len - 1;
			trim(&name);
			trim(&value);
			fn(arg, name, value);
		}
		field = more ? line : (struct span){NULL, 0};
	}
	return true;
}

static void
read_entity_field(void *arg, struct span name, struct span value)
{
	struct entity *e = arg;

	if (name.len == 12 && strncasecmp(name.p, "Content-Type", 12) == 0) {
		header_token(value, e->type, sizeof(e->type));
		header_param(value, "charset", e->charset, sizeof(e->charset));
		lower_copy(e->charset, sizeof(e->charset), e->charset,
		    strlen(e->charset));
		header_param(
		    value, "boundary", e->boundary, sizeof(e->boundary));
		if (e->filename[0] == '\0')
			header_param(
			    value, "name", e->filename, sizeof(e->filename));
	} else if (name.len == 25 &&
	    strncasecmp(name.p, "Content-Transfer-Encoding", 25) == 0) {
		header_token(value, e->encoding, sizeof(e->encoding));
	} else if (name.len == 19 &&
	    strncasecmp(name.p, "Content-Disposition", 19) == 0) {
		header_param(
		    value, "filename", e->filename, sizeof(e->filename));
	}
}

/* Strings from the message, made valid UTF-8 for JSON. */
static json_t *
json_text(const char *s, size_t len, bool latin1)
{
	struct sbuf b;
	json_t *j;

	sbuf_init(&b);
	utf8_sanitize(&b, s, len, latin1);
	j = json_stringn(b.data != NULL ? b.data : "", b.len);
	sbuf_free(&b);
	return j;
}

static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64, skipping what is not in the alphabet (RFC 2045 6.8). */
static void
decode_base64(struct span in, struct sbuf *out)
{
	unsigned int acc = 0;
	unsigned char byte;
	int bits = 0, v;
	size_t i;

	for (i = 0; i < in.len; i++) {
		if (in.p[i] == '=')
			break;
		if ((v = base64_value((unsigned char)in.p[i])) < 0)
			continue;
		acc = (acc << 6 | (unsigned int)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (unsigned char)(acc >> bits);
			sbuf_add(out, &byte, 1);
		}
	}
}

/* Decode quoted-printable; a broken "=" sequence is kept as it is. */
static void
decode_qp(struct span in, struct sbuf *out)
{
	unsigned char byte;
	size_t i = 0;
	int hi, lo;

	while (i < in.len) {
		if (in.p[i] != '=') {
			sbuf_add(out, in.p + i++, 1);
			continue;
		}
		if (i + 1 < in.len && in.p[i + 1] == '\n') {
			i += 2;
		} else if (i + 2 < in.len && in.p[i + 1] == '\r' &&
		    in.p[i + 2] == '\n') {
			i += 3;
		} else if (i + 2 < in.len &&
		    (hi = hex_value(in.p[i + 1])) >= 0 &&
		    (lo = hex_value(in.p[i + 2])) >= 0) {
			byte = (unsigned char)(hi << 4 | lo);
			sbuf_add(out, &byte, 1);
			i += 3;
		} else {
			sbuf_add(out, "=", 1);
			i++;
		}
	}
}

/* Charsets whose bytes over 0x7f we show as ISO 8859-1. */
static bool
is_latin1(const char *charset)
{
	return strncmp(charset, "iso-8859-", 9) == 0 ||
	    strncmp(charset, "windows-125", 11) == 0 ||
	    strcmp(charset, "latin1") == 0;
}

static bool
is_blank(struct span s)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (s.p[i] != ' ' && s.p[i] != '\t' && s.p[i] != '\r' &&
		    s.p[i] != '\n')
			return false;
	return true;
}

/*
 * Decode one RFC 2047 encoded word, "=?charset?B|Q?text?=", at s into
 * out as UTF-8.  Returns its length, or 0 if s does not start one or
 * its charset is not one we can show (UTF-8, ASCII, Latin-1 family).
 */
static size_t
decode_word(struct span s, struct sbuf *out)
{
	const char *q1, *q2, *end;
	char charset[32], enc;
	struct span text;
	struct sbuf raw;
	size_t i, len;
	bool latin1;

	if (s.len < 8 || s.p[0] != '=' || s.p[1] != '?' ||
	    (q1 = memchr(s.p + 2, '?', s.len - 2)) == NULL ||
	    (size_t)(q1 - s.p) + 4 > s.len || q1[2] != '?')
		return 0;
	q2 = q1 + 2;
	end = NULL;
	for (i = (size_t)(q2 - s.p) + 1; i + 1 < s.len; i++) {
		if (s.p[i] == '?' && s.p[i + 1] == '=') {
			end = s.p + i;
			break;
		}
		if (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\n')
			return 0;
	}
	if (end == NULL)
		return 0;
	/* RFC 2231 allows "charset*language"; the language is dropped. */
	len = (size_t)(q1 - s.p - 2);
	lower_copy(charset, sizeof(charset), s.p + 2, len);
	charset[strcspn(charset, "*")] = '\0';
	latin1 = is_latin1(charset);
	if (!latin1 && strcmp(charset, "utf-8") != 0 &&
	    strcmp(charset, "us-ascii") != 0)
		return 0;
	enc = q1[1];
	text.p = q2 + 1;
	text.len = (size_t)(end - text.p);
	sbuf_init(&raw);
	if (enc == 'B' || enc == 'b') {
		decode_base64(text, &raw);
	} else if (enc == 'Q' || enc == 'q') {
		decode_qp(text, &raw);
		for (i = 0; i < raw.len; i++)
			if (raw.data[i] == '_')
				raw.data[i] = ' ';
	} else {
		return 0;
	}
	utf8_sanitize(out, raw.data != NULL ? raw.data : "", raw.len, latin1);
	sbuf_free(&raw);
	return (size_t)(end + 2 - s.p);
}

/*
 * Decode the encoded words of a header field value.  White space
 * between two encoded words is dropped (RFC 2047 section 6.2); all
 * other text is kept as it is.
 */
static void
decode_header_value(struct span v, struct sbuf *out)
{
	struct span rest, plain;
	size_t i = 0, start = 0, n;
	bool after_word = false;
	struct sbuf word;

	sbuf_init(&word);
	while (i < v.len) {
		rest.p = v.p + i;
		rest.len = v.len - i;
		word.len = 0;
		if (v.p[i] != '=' || (n = decode_word(rest, &word)) == 0) {
			i++;
			continue;
		}
		plain.p = v.p + start;
		plain.len = i - start;
		if (!(after_word && is_blank(plain)))
			utf8_sanitize(out, plain.p, plain.len, false);
		sbuf_add(out, word.data, word.len);
		i += n;
		start = i;
		after_word = true;
	}
	utf8_sanitize(out, v.p + start, v.len - start, false);
	sbuf_free(&word);
}

static void
add_header_json(void *arg, struct span name, struct span value)
{
	json_t *field = json_object();
	struct sbuf decoded;

	sbuf_init(&decoded);
	decode_header_value(value, &decoded);
	json_object_set_new(field, "name", json_text(name.p, name.len, false));
	json_object_set_new(field, "value",
	    json_stringn(
		decoded.data != NULL ? decoded.data : "", decoded.len));
	json_object_set_new(field, "raw", json_text(value.p, value.len, false));
	json_array_append_new(arg, field);
	sbuf_free(&decoded);
}

static bool
is_text(const struct entity *e)
{
	return strncmp(e->type, "text/", 5) == 0 ||
	    strcmp(e->type, "message/rfc822") == 0 ||
	    strcmp(e->type, "message/delivery-status") == 0;
}

static void
add_leaf(struct walk *w, const struct entity *e, struct span body)
{
	json_t *part = json_object();
	struct sbuf decoded;

	json_object_set_new(part, "type", json_string(e->type));
	json_object_set_new(
	    part, "charset", json_text(e->charset, strlen(e->charset), false));
	json_object_set_new(part, "encoding",
	    json_text(e->encoding, strlen(e->encoding), false));
	json_object_set_new(part, "filename",
	    json_text(e->filename, strlen(e->filename), false));
	json_object_set_new(
	    part, "html", json_boolean(strcmp(e->type, "text/html") == 0));
	sbuf_init(&decoded);
	if (strcmp(e->encoding, "base64") == 0)
		decode_base64(body, &decoded);
	else if (strcmp(e->encoding, "quoted-printable") == 0)
		decode_qp(body, &decoded);
	else
		sbuf_add(&decoded, body.p, body.len);
	json_object_set_new(
	    part, "size", json_integer((json_int_t)decoded.len));
	if (is_text(e))
		json_object_set_new(part, "text",
		    json_text(
			decoded.data, decoded.len, is_latin1(e->charset)));
	sbuf_free(&decoded);
	json_array_append_new(w->parts, part);
}

static void walk_entity(struct walk *w, struct span s, int depth);

/*
 * Whether line is "--boundary", or "--boundary--" with *last set.  Only
 * white space may follow (RFC 2046 5.1.1), so that boundary "b1" does
 * not match the line "--b10" of a nested part.
 */
static bool
is_delimiter(struct span line, const char *boundary, bool *last)
{
	size_t blen = strlen(boundary), i;

	if (line.len < blen + 2 || line.p[0] != '-' || line.p[1] != '-' ||
	    memcmp(line.p + 2, boundary, blen) != 0)
		return false;
	i = blen + 2;
	*last = line.len >= i + 2 && line.p[i] == '-' && line.p[i + 1] == '-';
	if (*last)
		i += 2;
	for (; i < line.len; i++)
		if (line.p[i] != ' ' && line.p[i] != '\t')
			return false;
	return true;
}

static void
walk_multipart(
    struct walk *w, const struct entity *e, struct span body, int depth)
{
	struct span line, part = {NULL, 0};
	size_t pos = 0, line_start;
	bool last = false;

	for (;;) {
		line_start = pos;
		if (!next_line(body, &pos, &line))
			break;
		if (!is_delimiter(line, e->boundary, &last))
			continue;
		if (part.p != NULL) {
			/* The CRLF before a delimiter belongs to it. */
			part.len = (size_t)(body.p + line_start - part.p);
			if (part.len > 0 && part.p[part.len - 1] == '\n')
				part.len--;
			if (part.len > 0 && part.p[part.len - 1] == '\r')
				part.len--;
			walk_entity(w, part, depth + 1);
		}
		if (last)
			return;
		part.p = body.p + pos;
	}
	/* An unclosed last part is still shown, unless it is blank. */
	if (part.p != NULL) {
		part.len = (size_t)(body.p + body.len - part.p);
		if (!is_blank(part))
			walk_entity(w, part, depth + 1);
	}
}

static void
walk_entity(struct walk *w, struct span s, int depth)
{
	struct entity e;
	struct span head, body;

	if (json_array_size(w->parts) >= WEB_MIME_PARTS_MAX) {
		w->truncated = true;
		return;
	}
	memset(&e, 0, sizeof(e));
	split_entity(s, &head, &body);
	if (!each_field(head, read_entity_field, &e))
		w->truncated = true;
	if (e.type[0] == '\0')
		strlcpy_(e.type, "text/plain", sizeof(e.type));
	if (strncmp(e.type, "multipart/", 10) == 0 && e.boundary[0] != '\0') {
		if (depth < WEB_MIME_DEPTH_MAX) {
			walk_multipart(w, &e, body, depth);
			return;
		}
		/* Too deep: show the rest as its source. */
		w->truncated = true;
		strlcpy_(e.type, "text/plain", sizeof(e.type));
		e.encoding[0] = '\0';
	}
	add_leaf(w, &e, body);
}

json_t *
mime_view(const char *msg, size_t len)
{
	struct span s = {msg, len}, head, body;
	struct walk w = {json_array(), false};
	json_t *view = json_object(), *headers = json_array();

	split_entity(s, &head, &body);
	if (!each_field(head, add_header_json, headers))
		w.truncated = true;
	walk_entity(&w, s, 0);
	json_object_set_new(view, "headers", headers);
	json_object_set_new(view, "parts", w.parts);
	json_object_set_new(view, "truncated", json_boolean(w.truncated));
	return view;
}
