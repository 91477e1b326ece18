/*
 * Reader of INI configuration files: "[section]" or "[section name]"
 * headers, "key = value" lines, and comments starting with '#' or ';'.
 * Values run to the end of the line with surrounding blanks removed.
 */
#ifndef SPAMPOT_INI_H
#define SPAMPOT_INI_H

#include <stddef.h>

/*
 * Called once per header (key and value NULL) and once per key.  A
 * non-zero return stops parsing; the callback fills err for the caller.
 */
typedef int (*ini_handler)(void *ctx, const char *section,
    const char *name, const char *key, const char *value, int line,
    char *err, size_t errlen);

/* Parse text of len bytes; returns 0, or -1 with a message in err. */
int ini_parse(const char *text, size_t len, ini_handler handler, void *ctx,
    char *err, size_t errlen);

#endif
