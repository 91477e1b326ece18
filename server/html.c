/*
 * Text buffers and escaping for the dashboard's HTML.  The escaper
 * decodes UTF-8 itself instead of trusting a charset label, because a
 * spam header may claim any charset and carry any bytes.
 */
#include "html.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define REPLACEMENT "\xef\xbf\xbd"

void
sbuf_init(struct sbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
sbuf_free(struct sbuf *b)
{
	free(b->data);
	sbuf_init(b);
}

static void
sbuf_reserve(struct sbuf *b, size_t more)
{
	size_t cap = b->cap > 0 ? b->cap : 256;

	if (more > SIZE_MAX / 2 - b->len)
		abort();
	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap != b->cap) {
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
}

void
sbuf_add(struct sbuf *b, const void *data, size_t len)
{
	sbuf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	sbuf_reserve(b, 128);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if ((size_t)n >= b->cap - b->len) {
		sbuf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *
sbuf_steal(struct sbuf *b, size_t *lenp)
{
	char *s;

	if (b->data == NULL)
		sbuf_add(b, "", 0);
	s = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	sbuf_init(b);
	return s;
}

/*
 * Length of the valid UTF-8 sequence at s, or 0 if the bytes there are
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * invalid (RFC 3629).
 */
static size_t
utf8_sequence(const unsigned char *s, size_t len)
{
	unsigned int cp, min;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static const char *
html_entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

static bool
is_forbidden_control(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

void
html_escape(struct sbuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *entity;
	size_t i = 0, n;

	while (i < len) {
		if ((entity = html_entity(p[i])) != NULL) {
			sbuf_puts(b, entity);
			i++;
		} else if (is_forbidden_control(p[i])) {
			sbuf_puts(b, REPLACEMENT);
			i++;
		} else if ((n = utf8_sequence(p + i, len - i)) == 0) {
			sbuf_puts(b, REPLACEMENT);
			i++;
		} else {
			sbuf_add(b, p + i, n);
			i += n;
		}
	}
}

void
utf8_sanitize(struct sbuf *b, const char *s, size_t len, bool latin1)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char two[2];
	size_t i = 0, n;

	while (i < len) {
		if (latin1 && p[i] >= 0x80) {
			two[0] = (unsigned char)(0xc0 | p[i] >> 6);
			two[1] = (unsigned char)(0x80 | (p[i] & 0x3f));
			sbuf_add(b, two, 2);
			i++;
		} else if (p[i] == '\0' ||
		    (n = utf8_sequence(p + i, len - i)) == 0) {
			sbuf_puts(b, REPLACEMENT);
			i++;
		} else {
			sbuf_add(b, p + i, n);
			i += n;
		}
	}
}

void
html_escape_str(struct sbuf *b, const char *s)
{
	if (s != NULL)
		html_escape(b, s, strlen(s));
}

void
url_escape(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char enc[3];

	for (; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			sbuf_add(b, p, 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 0xf];
		sbuf_add(b, enc, 3);
	}
}
