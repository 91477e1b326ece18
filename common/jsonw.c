/* JSON Lines writer for events; see jsonw.h. */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "spampot_limits.h"

static void
put(struct jsonw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->cap - w->len < n + 1) {
		w->failed = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t
utf8_sequence(const unsigned char *p, size_t avail)
{
	size_t need, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (avail < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

static void
put_string(struct jsonw *w, const void *val, size_t len)
{
	const unsigned char *p = val;
	char esc[8];
	size_t i = 0, n;

	if (len > EVENT_STRING_MAX)
		len = EVENT_STRING_MAX;
	put(w, "\"", 1);
	while (i < len) {
		unsigned char c = p[i];

		/* Most of a string is printable ASCII: copy runs of it. */
		for (n = 0; i + n < len && p[i + n] >= 0x20 && p[i + n] < 0x7f &&
		    p[i + n] != '"' && p[i + n] != '\\'; n++)
			;
		if (n > 0) {
			put(w, (const char *)p + i, n);
			i += n;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(w, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
			i++;
		} else if ((n = utf8_sequence(p + i, len - i)) == 0) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
			i++;
		} else {
			put(w, (const char *)p + i, n);
			i += n;
		}
	}
	put(w, "\"", 1);
}

static void
put_key(struct jsonw *w, const char *key)
{
	if (w->need_comma)
		put(w, ",", 1);
	put_string(w, key, strlen(key));
	put(w, ":", 1);
	w->need_comma = true;
}

void
jsonw_begin(struct jsonw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->need_comma = false;
	w->failed = false;
	put(w, "{", 1);
}

void
jsonw_strn(struct jsonw *w, const char *key, const void *val, size_t len)
{
	put_key(w, key);
	put_string(w, val, len);
}

void
jsonw_str(struct jsonw *w, const char *key, const char *val)
{
	if (val == NULL) {
		put_key(w, key);
		put(w, "null", 4);
		return;
	}
	jsonw_strn(w, key, val, strlen(val));
}

void
jsonw_int(struct jsonw *w, const char *key, int64_t val)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, val);

	put_key(w, key);
	put(w, num, (size_t)n);
}

void
jsonw_fixed2(struct jsonw *w, const char *key, double val)
{
	char num[48];
	int n;

	put_key(w, key);
	if (!isfinite(val) || val > 1e15 || val < -1e15) {
		put(w, "null", 4);
		return;
	}
	n = snprintf(num, sizeof(num), "%.2f", val);
	put(w, num, (size_t)n);
}

void
jsonw_bool(struct jsonw *w, const char *key, bool val)
{
	put_key(w, key);
	if (val)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void
jsonw_array_begin(struct jsonw *w, const char *key)
{
	put_key(w, key);
	put(w, "[", 1);
	w->need_comma = false;
}

void
jsonw_array_strn(struct jsonw *w, const void *val, size_t len)
{
	if (w->need_comma)
		put(w, ",", 1);
	put_string(w, val, len);
	w->need_comma = true;
}

void
jsonw_array_end(struct jsonw *w)
{
	put(w, "]", 1);
	w->need_comma = true;
}

void
jsonw_object_begin(struct jsonw *w, const char *key)
{
	if (key != NULL)
		put_key(w, key);
	else if (w->need_comma)
		put(w, ",", 1);
	put(w, "{", 1);
	w->need_comma = false;
}

void
jsonw_object_end(struct jsonw *w)
{
	put(w, "}", 1);
	w->need_comma = true;
}

int
jsonw_end(struct jsonw *w)
{
	put(w, "}\n", 2);
	if (w->failed)
		return -1;
	w->buf[w->len] = '\0';
	return (int)w->len;
}
