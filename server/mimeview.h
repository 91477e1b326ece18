/*
 * A message taken apart for reading: its header fields and its MIME
 * parts, with quoted-printable and base64 text decoded.  Nothing here
 * renders HTML: an HTML part is returned as its source text, for the
 * page to show escaped.
 */
#ifndef SPAMPOT_MIMEVIEW_H
#define SPAMPOT_MIMEVIEW_H

#include <stddef.h>

#include <jansson.h>

/*
 * Decode msg[0..len) into an object:
 *   "headers": [{"name", "value"}] of the top level, unfolded;
 *   "parts": [{"type", "charset", "encoding", "filename", "size",
 *              "text" (decoded UTF-8, text parts only), "html" (true
 *              for text/html)}];
 *   "truncated": true when limits cut headers or parts.
 * Every string is valid UTF-8: undecodable bytes become U+FFFD.
 */
json_t *mime_view(const char *msg, size_t len);

#endif
