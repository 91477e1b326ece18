/*
 * Reader and matcher for p0f v3 databases; see p0f.h.  The syntax and
 * the matching rules are those of p0f 3.09b (readfp.c and fp_tcp.c),
 * written out here from its documentation and behaviour.
 *
 * The file is configuration, not peer input, but it is still parsed
 * defensively: the fuzz harness feeds it arbitrary bytes.
 */
#include "p0f.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spampot_limits.h"
#include "util.h"

/* Window rules of a database entry. */
enum window_rule {
	WINDOW_ANY,    /* "*" */
	WINDOW_EXACT,  /* "8192" */
	WINDOW_MODULO, /* "%8192": any multiple */
	WINDOW_MSS,    /* "mss*20": a multiple of the MSS */
	WINDOW_MTU,    /* "mtu*4": a multiple of the MTU */
};

struct p0f_label {
	char *class_name;
	char *name;
	char *flavor;
	enum os_class os_class;
	bool generic;
	bool tool; /* class "!": a userland tool, never matched fuzzily */
};

/* One sig line; -1 in version, mss, wscale or payload is a wildcard. */
struct p0f_sig {
	size_t label;
	int line;
	int version;
	int ittl;
	bool bad_ttl; /* "64-": the tool randomizes TTLs below ittl */
	int ip_opt_len;
	int mss;
	enum window_rule window_rule;
	int window;
	int wscale;
	uint8_t layout[SYNSIG_OPTIONS_MAX];
	int layout_len;
	int eol_pad;
	uint32_t quirks;
	int payload;
};

struct p0f_db {
	char **classes;
	size_t nclasses;
	struct p0f_label *labels;
	size_t nlabels;
	struct p0f_sig *sigs;
	size_t nsigs;
};

/* Parser state carried from one line to the next. */
struct reader {
	struct p0f_db *db;
	p0f_warn_fn *warn;
	void *arg;
	int line;
	bool in_tcp_request;
	bool have_label; /* the last label line was valid */
};

static const struct {
	const char *name;
	enum os_class os_class;
} class_map[] = {
    {"win", OS_CLASS_WINDOWS},
    {"unix", OS_CLASS_UNIX},
};

static const char *const os_class_names[] = {
    [OS_CLASS_UNKNOWN] = "Unknown",
    [OS_CLASS_WINDOWS] = "Windows",
    [OS_CLASS_UNIX] = "Unix",
    [OS_CLASS_OTHER] = "Other",
};

const char *
os_class_name(enum os_class c)
{
	if ((size_t)c >= NELEM(os_class_names))
		return "Unknown";
	return os_class_names[c];
}

static void
warn_line(struct reader *r, const char *why)
{
	if (r->warn != NULL)
		r->warn(r->arg, r->line, why);
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (
	    end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* A decimal number that is all of s, in [min, max]. */
static int
number(const char *s, size_t len, long min, long max, long *out)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 6)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "*" or a number in [min, max]; the wildcard gives -1. */
static int
number_or_any(const char *s, size_t len, long min, long max, int *out)
{
	long v;

	if (len == 1 && s[0] == '*') {
		*out = -1;
		return 0;
	}
	if (number(s, len, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* Signature fields. */

static const char *
parse_version(const char *s, size_t len, struct p0f_sig *sig)
{
	if (len == 1 && (s[0] == '4' || s[0] == '6' || s[0] == '*')) {
		sig->version = s[0] == '*' ? -1 : s[0] - '0';
		return NULL;
	}
	return "IP version neither 4, 6 nor *";
}

/* "64", "64-" (random TTLs up to 64) or "54+10" (observed+distance). */
static const char *
parse_ttl(const char *s, size_t len, struct p0f_sig *sig)
{
	const char *mark = s;
	long ttl, add;

	while (mark < s + len && *mark >= '0' && *mark <= '9')
		mark++;
	if (number(s, (size_t)(mark - s), 1, 255, &ttl) < 0)
		return "invalid initial TTL";
	sig->ittl = (int)ttl;
	if (mark == s + len)
		return NULL;
	if (*mark == '-' && mark + 1 == s + len) {
		sig->bad_ttl = true;
		return NULL;
	}
	if (*mark == '+' &&
	    number(mark + 1, (size_t)(s + len - mark - 1), 0, 255, &add) == 0 &&
	    ttl + add <= 255) {
		sig->ittl += (int)add;
		return NULL;
	}
	return "invalid initial TTL";
}

static const char *
parse_window(const char *s, size_t len, struct p0f_sig *sig)
{
	static const struct {
		const char *prefix;
		enum window_rule rule;
		long min, max;
	} forms[] = {
	    {"mss*", WINDOW_MSS, 1, 1000},
	    {"mtu*", WINDOW_MTU, 1, 1000},
	    {"%", WINDOW_MODULO, 2, 65535},
	    {"", WINDOW_EXACT, 0, 65535},
	};
	size_t i, plen;
	long v;

	if (len == 1 && s[0] == '*') {
		sig->window_rule = WINDOW_ANY;
		return NULL;
	}
	for (i = 0; i < NELEM(forms); i++) {
		plen = strlen(forms[i].prefix);
		if (len < plen || memcmp(s, forms[i].prefix, plen) != 0)
			continue;
		if (number(s + plen, len - plen, forms[i].min, forms[i].max,
			&v) < 0)
			return "invalid window size";
		sig->window_rule = forms[i].rule;
		sig->window = (int)v;
		return NULL;
	}
	return "invalid window size";
}

static const char *
parse_window_scale(const char *s, size_t len, struct p0f_sig *sig)
{
	const char *comma = memchr(s, ',', len);
	const char *why;

	if (comma == NULL)
		return "window size and scale not separated by a comma";
	if ((why = parse_window(s, (size_t)(comma - s), sig)) != NULL)
		return why;
	if (number_or_any(comma + 1, len - (size_t)(comma - s) - 1, 0, 255,
		&sig->wscale) < 0)
		return "invalid window scale";
	return NULL;
}

static const char *
parse_signature(const char *text, struct p0f_sig *sig)
{
	const char *f[8], *why = NULL;
	size_t flen[8];
	long olen;

	if (synsig_split(text, strlen(text), f, flen) < 0)
		return "signature does not have 8 fields";
	if ((why = parse_version(f[0], flen[0], sig)) != NULL ||
	    (why = parse_ttl(f[1], flen[1], sig)) != NULL)
		return why;
	if (number(f[2], flen[2], 0, 255, &olen) < 0)
		return "invalid IP options length";
	sig->ip_opt_len = (int)olen;
	if (number_or_any(f[3], flen[3], 0, 65535, &sig->mss) < 0)
		return "invalid MSS";
	if ((why = parse_window_scale(f[4], flen[4], sig)) != NULL)
		return why;
	if (synsig_parse_layout(f[5], flen[5], sig->layout, &sig->layout_len,
		&sig->eol_pad, &why) < 0 ||
	    synsig_parse_quirks(f[6], flen[6], &sig->quirks, &why) < 0)
		return why;
	if ((sig->version == 4 && (sig->quirks & QUIRKS_IPV6_ONLY)) ||
	    (sig->version == 6 && (sig->quirks & QUIRKS_IPV4_ONLY)))
		return "quirk not valid for this IP version";
	if (flen[7] == 1 && f[7][0] == '*')
		sig->payload = -1;
	else if (flen[7] == 1 && (f[7][0] == '0' || f[7][0] == '+'))
		sig->payload = f[7][0] == '+';
	else
		return "payload class neither 0, + nor *";
	return NULL;
}

/* Lines. */

static void
add_classes(struct reader *r, char *value)
{
	struct p0f_db *db = r->db;
	char *name, *next;

	for (name = value; name != NULL; name = next) {
		if ((next = strchr(name, ',')) != NULL)
			*next++ = '\0';
		name = trim(name);
		if (*name == '\0') {
			warn_line(r, "empty class name");
			continue;
		}
		db->classes = xrealloc(
		    db->classes, (db->nclasses + 1) * sizeof(*db->classes));
		db->classes[db->nclasses++] = xstrdup(name);
	}
}

static bool
class_declared(const struct p0f_db *db, const char *name)
{
	size_t i;

	for (i = 0; i < db->nclasses; i++)
		if (strcmp(db->classes[i], name) == 0)
			return true;
	return false;
}

static enum os_class
map_class(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(class_map); i++)
		if (strcmp(class_map[i].name, name) == 0)
			return class_map[i].os_class;
	return OS_CLASS_OTHER;
}

/* "s:unix:Linux:3.11 and newer"; the flavor may be empty. */
static const char *
parse_label(struct reader *r, char *value)
{
	struct p0f_db *db = r->db;
	struct p0f_label label;
	char *class, *name, *flavor;

	if ((value[0] != 's' && value[0] != 'g') || value[1] != ':')
		return "label type neither s nor g";
	class = value + 2;
	if ((name = strchr(class, ':')) == NULL)
		return "label has no name";
	*name++ = '\0';
	if ((flavor = strchr(name, ':')) == NULL)
		return "label has no flavor field";
	*flavor++ = '\0';
	if (*name == '\0')
		return "label has an empty name";
	if (strcmp(class, "!") != 0 && !class_declared(db, class))
		return "label class not declared in classes";

	label.class_name = xstrdup(class);
	label.name = xstrdup(name);
	label.flavor = xstrdup(flavor);
	label.generic = value[0] == 'g';
	label.tool = strcmp(class, "!") == 0;
	label.os_class = label.tool ? OS_CLASS_OTHER : map_class(class);
	db->labels =
	    xrealloc(db->labels, (db->nlabels + 1) * sizeof(*db->labels));
	db->labels[db->nlabels++] = label;
	return NULL;
}

static const char *
add_signature(struct reader *r, const char *value)
{
	struct p0f_db *db = r->db;
	struct p0f_sig sig;
	const char *why;

	if (!r->have_label)
		return "sig without a valid label before it";
	memset(&sig, 0, sizeof(sig));
	if ((why = parse_signature(value, &sig)) != NULL)
		return why;
	sig.label = db->nlabels - 1;
	sig.line = r->line;
	db->sigs = xrealloc(db->sigs, (db->nsigs + 1) * sizeof(*db->sigs));
	db->sigs[db->nsigs++] = sig;
	return NULL;
}

/* A "key = value" line inside [tcp:request]. */
static const char *
tcp_request_field(struct reader *r, const char *key, char *value)
{
	const char *why;

	if (strcmp(key, "label") == 0) {
		why = parse_label(r, value);
		r->have_label = why == NULL;
		return why;
	}
	if (strcmp(key, "sig") == 0)
		return add_signature(r, value);
	/* The systems a userland tool runs on: not needed to classify. */
	if (strcmp(key, "sys") == 0)
		return NULL;
	return "unknown field in [tcp:request]";
}

static const char *
section_line(struct reader *r, char *line)
{
	size_t len = strlen(line);

	if (len < 3 || line[len - 1] != ']')
		return "malformed section header";
	line[len - 1] = '\0';
	r->in_tcp_request = strcmp(line + 1, "tcp:request") == 0;
	r->have_label = false;
	return NULL;
}

static const char *
field_line(struct reader *r, char *line)
{
	char *eq = strchr(line, '='), *key, *value;

	if (eq == NULL)
		return "expected key = value";
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*key == '\0')
		return "empty key";
	if (*value == '\0')
		return "empty value";
	if (strcmp(key, "classes") == 0) {
		add_classes(r, value);
		return NULL;
	}
	if (!r->in_tcp_request)
		return NULL;
	return tcp_request_field(r, key, value);
}

static void
parse_line(struct reader *r, char *line)
{
	const char *why;

	line = trim(line);
	if (*line == '\0' || *line == ';')
		return;
	why = *line == '[' ? section_line(r, line) : field_line(r, line);
	if (why != NULL)
		warn_line(r, why);
}

struct p0f_db *
p0f_db_parse(const char *text, size_t len, p0f_warn_fn *warn, void *arg)
{
	struct reader r = {0};
	char *copy, *line, *next, *end;

	r.db = xcalloc(1, sizeof(*r.db));
	r.warn = warn;
	r.arg = arg;
	if (len > P0F_DB_SIZE_MAX) {
		r.line = 0;
		warn_line(&r, "database larger than P0F_DB_SIZE_MAX, ignored");
		return r.db;
	}

	copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	end = copy + len;
	for (line = copy; line < end; line = next) {
		next = memchr(line, '\n', (size_t)(end - line));
		if (next == NULL)
			next = end;
		*next++ = '\0';
		r.line++;
		/* A NUL inside a line would hide its rest from the parser. */
		if (strlen(line) != (size_t)(next - 1 - line)) {
			warn_line(&r, "NUL byte in line");
			continue;
		}
		parse_line(&r, line);
	}
	free(copy);
	return r.db;
}

struct p0f_db *
p0f_db_load(const char *path, p0f_warn_fn *warn, void *arg, const char **err)
{
	struct p0f_db *db;
	size_t len;
	char *text;

	/* The message outlives this call, so it cannot be on the stack. */
	static _Thread_local char limit[64];

	if ((text = read_file(path, P0F_DB_SIZE_MAX, &len)) == NULL) {
		*err = read_file_error(errno, P0F_DB_SIZE_MAX, limit,
		    sizeof(limit));
		return NULL;
	}
	db = p0f_db_parse(text, len, warn, arg);
	free(text);
	return db;
}

void
p0f_db_free(struct p0f_db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nclasses; i++)
		free(db->classes[i]);
	for (i = 0; i < db->nlabels; i++) {
		free(db->labels[i].class_name);
		free(db->labels[i].name);
		free(db->labels[i].flavor);
	}
	free(db->classes);
	free(db->labels);
	free(db->sigs);
	free(db);
}

size_t
p0f_db_signatures(const struct p0f_db *db)
{
	return db->nsigs;
}

size_t
p0f_db_labels(const struct p0f_db *db)
{
	return db->nlabels;
}

/* Matching. */

static bool
window_matches(const struct p0f_sig *ref, const struct synsig *sig,
    int multiplier, int use_mtu)
{
	switch (ref->window_rule) {
	case WINDOW_ANY:
		return true;
	case WINDOW_EXACT:
		return sig->window == ref->window;
	case WINDOW_MODULO:
		return sig->window % ref->window == 0;
	case WINDOW_MSS:
		return !use_mtu && multiplier == ref->window;
	case WINDOW_MTU:
		return use_mtu && multiplier == ref->window;
	}
	return false;
}

/*
 * Quirks of ref as they apply to sig: an entry for either IP version
 * cannot require the quirks that only the other version has.
 */
static uint32_t
expected_quirks(const struct p0f_sig *ref, const struct synsig *sig)
{
	if (ref->version != -1)
		return ref->quirks;
	if (sig->version == 4)
		return ref->quirks & ~(uint32_t)QUIRK_FLOW;
	return ref->quirks &
	    ~(uint32_t)(QUIRK_DF | QUIRK_NZ_ID | QUIRK_ZERO_ID);
}

/*
 * p0f lets quirks differ only in ways that middleboxes and settings
 * cause: df or id+ missing, id- or ecn added.
 */
static bool
quirks_close(uint32_t expected, uint32_t seen)
{
	uint32_t missing = expected & ~seen, added = seen & ~expected;

	return (missing & ~(uint32_t)(QUIRK_DF | QUIRK_NZ_ID)) == 0 &&
	    (added & ~(uint32_t)(QUIRK_ZERO_ID | QUIRK_ECN)) == 0;
}

enum verdict {
	VERDICT_NONE,
	VERDICT_EXACT,
	VERDICT_FUZZY,
};

/* Compare one entry; have_fuzzy stops a second fuzzy quirk match. */
static enum verdict
compare(const struct p0f_sig *ref, const struct synsig *sig, int multiplier,
    int use_mtu, bool have_fuzzy)
{
	uint32_t expected;
	bool fuzzy = false;

	if (ref->layout_len != sig->layout_len ||
	    memcmp(ref->layout, sig->layout, (size_t)sig->layout_len) != 0)
		return VERDICT_NONE;
	/*
	 * p0f 3.09b does not compare the version itself, so an entry for
	 * one version can still match a packet of the other when their
	 * quirks allow it.  Here an entry's version is binding.
	 */
	if (ref->version != -1 && ref->version != sig->version)
		return VERDICT_NONE;
	expected = expected_quirks(ref, sig);
	if (expected != sig->quirks) {
		if (have_fuzzy || !quirks_close(expected, sig->quirks))
			return VERDICT_NONE;
		fuzzy = true;
	}
	if (ref->eol_pad != sig->eol_pad || ref->ip_opt_len != sig->ip_opt_len)
		return VERDICT_NONE;
	if (ref->bad_ttl) {
		if (ref->ittl < sig->ttl)
			return VERDICT_NONE;
	} else if (ref->ittl < sig->ttl ||
	    ref->ittl - sig->ttl > SYNSIG_DISTANCE_MAX)
		fuzzy = true;
	if ((ref->mss != -1 && ref->mss != sig->mss) ||
	    (ref->wscale != -1 && ref->wscale != sig->wscale) ||
	    (ref->payload != -1 && ref->payload != sig->payload))
		return VERDICT_NONE;
	if (!window_matches(ref, sig, multiplier, use_mtu))
		return VERDICT_NONE;
	return fuzzy ? VERDICT_FUZZY : VERDICT_EXACT;
}

static void
fill_match(const struct p0f_db *db, const struct p0f_sig *ref,
    const struct synsig *sig, bool fuzzy, struct p0f_match *m)
{
	const struct p0f_label *label = &db->labels[ref->label];

	m->os_class = label->os_class;
	m->class_name = label->class_name;
	m->name = label->name;
	m->flavor = label->flavor;
	m->generic = label->generic;
	m->fuzzy = fuzzy;
	m->line = ref->line;
	/* A TTL out of the entry's range leaves p0f's guess in place. */
	if (ref->ittl >= sig->ttl &&
	    (ref->bad_ttl || ref->ittl - sig->ttl <= SYNSIG_DISTANCE_MAX))
		m->distance = ref->ittl - sig->ttl;
}

bool
p0f_match(
    const struct p0f_db *db, const struct synsig *sig, struct p0f_match *m)
{
	const struct p0f_sig *generic = NULL, *fuzzy = NULL, *ref;
	int use_mtu = 0, multiplier;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->os_class = OS_CLASS_UNKNOWN;
	m->class_name = m->name = m->flavor = "";
	m->distance = sig->ittl - sig->ttl;
	multiplier = synsig_window_multiplier(sig, &use_mtu);

	/* Entries are tried in file order, so the first of a kind wins. */
	for (i = 0; i < db->nsigs; i++) {
		ref = &db->sigs[i];
		switch (compare(ref, sig, multiplier, use_mtu, fuzzy != NULL)) {
		case VERDICT_EXACT:
			if (!db->labels[ref->label].generic) {
				fill_match(db, ref, sig, false, m);
				return true;
			}
			if (generic == NULL)
				generic = ref;
			break;
		case VERDICT_FUZZY:
			if (fuzzy == NULL)
				fuzzy = ref;
			break;
		case VERDICT_NONE:
			break;
		}
	}
	if (generic != NULL) {
		fill_match(db, generic, sig, false, m);
		return true;
	}
	/* A tool's packets are odd by design: only an exact match counts. */
	if (fuzzy == NULL || db->labels[fuzzy->label].tool)
		return false;
	fill_match(db, fuzzy, sig, true, m);
	return true;
}
