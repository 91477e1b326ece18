/*
 * A writer of one flat JSON object per line into a fixed buffer, for
 * events.  Strings from peers are escaped and cut at EVENT_STRING_MAX
 * bytes; bytes that are not valid UTF-8 are written as \u00XX, so the
 * line is always valid JSON and the original bytes can be recovered.
 * When the buffer is too small the writer marks itself failed instead
 * of writing a partial object.
 */
#ifndef SPAMPOT_JSONW_H
#define SPAMPOT_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *buf;
	size_t cap;
	size_t len;
	bool need_comma;
	bool failed;
};

void jsonw_begin(struct jsonw *w, char *buf, size_t cap);
void jsonw_str(struct jsonw *w, const char *key, const char *val);
void jsonw_strn(struct jsonw *w, const char *key, const void *val,
    size_t len);
void jsonw_int(struct jsonw *w, const char *key, int64_t val);
/* A number with two decimals; NaN and infinities are written as null. */
void jsonw_fixed2(struct jsonw *w, const char *key, double val);
void jsonw_bool(struct jsonw *w, const char *key, bool val);
void jsonw_array_begin(struct jsonw *w, const char *key);
void jsonw_array_strn(struct jsonw *w, const void *val, size_t len);
void jsonw_array_end(struct jsonw *w);

/* A nested object; key is NULL for an object inside an array. */
void jsonw_object_begin(struct jsonw *w, const char *key);
void jsonw_object_end(struct jsonw *w);

/* Close the object and add a newline; returns its length or -1. */
int jsonw_end(struct jsonw *w);

#endif
