/*
 * A growable text buffer and the escapers that put untrusted text into
 * HTML and into URLs.  Everything the dashboard shows came from spam or
 * from a spammer's connection, so no byte of it reaches a page unless it
 * went through html_escape() or url_escape() first.
 */
#ifndef SPAMPOT_HTML_H
#define SPAMPOT_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct sbuf {
	char *data; /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_add(struct sbuf *b, const void *data, size_t len);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Hand over the text (never NULL); the buffer is empty afterwards. */
char *sbuf_steal(struct sbuf *b, size_t *lenp);

/*
 * Append s[0..len) as HTML text that is also safe inside a quoted
 * attribute value.  & < > " ' are written as character references.
 * Bytes that are not valid UTF-8, NUL and C0 controls other than tab,
 * line feed and carriage return become U+FFFD, so the page stays valid
 * UTF-8 whatever the input.
 */
void html_escape(struct sbuf *b, const char *s, size_t len);
void html_escape_str(struct sbuf *b, const char *s);

/*
 * Append s[0..len) with every byte that is not valid UTF-8, and NUL,
 * replaced by U+FFFD, for JSON strings and anything else that must be
 * valid UTF-8.  With latin1, bytes over 0x7f are taken as ISO 8859-1
 * characters instead.
 */
void utf8_sanitize(struct sbuf *b, const char *s, size_t len, bool latin1);

/*
 * Append s as one URL query value: letters, digits and -._~ as they
 * are, every other byte as %XX (RFC 3986 unreserved characters).
 */
void url_escape(struct sbuf *b, const char *s);

#endif
