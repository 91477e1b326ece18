/* INI configuration reader; see ini.h.  Input is a trusted local file,
 * but it is still bounded: lines over CONFIG_LINE_MAX are an error. */
#include "ini.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spampot_limits.h"

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

static int
valid_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

static int
parse_header(char *p, char *section, char *name, int lineno, char *err,
    size_t errlen)
{
	char *close = strchr(p, ']'), *space;

	if (close == NULL || close[1] != '\0') {
		snprintf(err, errlen, "line %d: invalid section header", lineno);
		return -1;
	}
	*close = '\0';
	p = trim(p + 1);
	name[0] = '\0';
	if ((space = strpbrk(p, " \t")) != NULL) {
		*space = '\0';
		snprintf(name, CONFIG_LINE_MAX, "%s", trim(space + 1));
		if (!valid_word(name)) {
			snprintf(err, errlen,
			    "line %d: invalid section name \"%.64s\": use "
			    "letters, digits, '-', '_' and '.'",
			    lineno, name);
			return -1;
		}
	}
	if (!valid_word(p)) {
		snprintf(err, errlen, "line %d: invalid section header", lineno);
		return -1;
	}
	snprintf(section, CONFIG_LINE_MAX, "%s", p);
	return 0;
}

/* The keys of the section being read, to catch one given twice. */
struct seen_keys {
	char *keys[CONFIG_SECTION_KEYS_MAX];
	int lines[CONFIG_SECTION_KEYS_MAX];
	int n;
};

static void
seen_clear(struct seen_keys *seen)
{
	while (seen->n > 0)
		free(seen->keys[--seen->n]);
}

/* Record key at lineno.  Returns 0, or -1 with err if the key repeats. */
static int
seen_add(struct seen_keys *seen, const char *key, int lineno, char *err,
    size_t errlen)
{
	int i;

	for (i = 0; i < seen->n; i++) {
		if (strcmp(seen->keys[i], key) == 0) {
			snprintf(err, errlen,
			    "line %d: \"%s\" is already set on line %d of "
			    "this section",
			    lineno, key, seen->lines[i]);
			return -1;
		}
	}
	if (seen->n == CONFIG_SECTION_KEYS_MAX) {
		snprintf(err, errlen,
		    "line %d: more than %d keys in one section", lineno,
		    CONFIG_SECTION_KEYS_MAX);
		return -1;
	}
	seen->keys[seen->n] = strdup(key);
	if (seen->keys[seen->n] == NULL) {
		snprintf(err, errlen, "line %d: out of memory", lineno);
		return -1;
	}
	seen->lines[seen->n++] = lineno;
	return 0;
}

static int parse_lines(const char *text, size_t len, ini_handler handler,
    void *ctx, struct seen_keys *seen, char *err, size_t errlen);

int
ini_parse(const char *text, size_t len, ini_handler handler, void *ctx,
    char *err, size_t errlen)
{
	struct seen_keys seen = { .n = 0 };
	int rc;

	rc = parse_lines(text, len, handler, ctx, &seen, err, errlen);
	seen_clear(&seen);
	return rc;
}

static int
parse_lines(const char *text, size_t len, ini_handler handler, void *ctx,
    struct seen_keys *seen, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 1], section[CONFIG_LINE_MAX];
	char name[CONFIG_LINE_MAX];
	size_t pos = 0;
	int lineno = 0;

	section[0] = name[0] = '\0';
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *p, *eq;

		lineno++;
		if (n > CONFIG_LINE_MAX) {
			snprintf(err, errlen, "line %d: longer than %d bytes",
			    lineno, CONFIG_LINE_MAX);
			return -1;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		if (memchr(line, '\0', n) != NULL) {
			snprintf(err, errlen, "line %d: contains a NUL byte",
			    lineno);
			return -1;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			if (parse_header(p, section, name, lineno, err,
				errlen) < 0)
				return -1;
			seen_clear(seen);
			if (handler(ctx, section, name[0] ? name : NULL, NULL,
				NULL, lineno, err, errlen) != 0)
				return -1;
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "line %d: expected key = value",
			    lineno);
			return -1;
		}
		*eq = '\0';
		p = trim(p);
		if (!valid_word(p)) {
			snprintf(err, errlen, "line %d: invalid key", lineno);
			return -1;
		}
		if (section[0] == '\0') {
			snprintf(err, errlen,
			    "line %d: key \"%s\" before any [section]", lineno,
			    p);
			return -1;
		}
		if (seen_add(seen, p, lineno, err, errlen) < 0)
			return -1;
		if (handler(ctx, section, name[0] ? name : NULL, p,
			trim(eq + 1), lineno, err, errlen) != 0)
			return -1;
	}
	return 0;
}
