/*
 * The [tcp:request] signatures of a p0f v3 fingerprint database
 * (p0f.fp), and matching of SYN signatures against them with p0f's
 * rules: an exact match first, then a generic one, then a fuzzy one.
 *
 * Other sections are skipped.  A malformed line is reported with its
 * number and skipped, so that one bad local entry does not disable
 * the rest.  The file is read whole, up to P0F_DB_SIZE_MAX bytes.
 */
#ifndef SPAMPOT_P0F_H
#define SPAMPOT_P0F_H

#include <stdbool.h>
#include <stddef.h>

#include "synsig.h"

/* Path of the database that Debian's p0f package installs. */
#define P0F_DB_DEFAULT_PATH "/etc/p0f/p0f.fp"

/*
 * The operating system classes of the SpamPots study.  p0f's "unix"
 * covers Linux, the BSDs, Mac OS X and Solaris; "other" and the
 * userland tools ("!") are Other.
 */
enum os_class {
	OS_CLASS_UNKNOWN,
	OS_CLASS_WINDOWS,
	OS_CLASS_UNIX,
	OS_CLASS_OTHER,
};

struct p0f_db;

/* Called for each skipped line; why is a fixed English phrase. */
typedef void p0f_warn_fn(void *arg, int line, const char *why);

/*
 * Load the database at path.  Returns NULL with *err set to a message
 * when the file cannot be read; malformed lines only reach warn, which
 * may be NULL.
 */
struct p0f_db *p0f_db_load(
    const char *path, p0f_warn_fn *warn, void *arg, const char **err);

/* Parse a database already in memory; text need not end in NUL. */
struct p0f_db *p0f_db_parse(
    const char *text, size_t len, p0f_warn_fn *warn, void *arg);

void p0f_db_free(struct p0f_db *db);

/* Signatures and labels kept from [tcp:request]. */
size_t p0f_db_signatures(const struct p0f_db *db);
size_t p0f_db_labels(const struct p0f_db *db);

struct p0f_match {
	enum os_class os_class;
	const char *class_name; /* as in the database: "win", "unix", "!" */
	const char *name;       /* "Linux", "Windows" */
	const char *flavor;     /* "3.11 and newer"; may be "" */
	bool generic;           /* a "g:" label */
	bool fuzzy;             /* quirks or TTL differ from the entry */
	int distance;           /* hops from the initial TTL */
	int line;               /* line of the matching sig in the file */
};

/*
 * Match sig against the database.  Returns true and fills *m on a
 * match; on none, returns false and sets m->os_class to Unknown, the
 * strings to "", and the distance to p0f's guess.  The strings belong
 * to db.
 */
bool p0f_match(
    const struct p0f_db *db, const struct synsig *sig, struct p0f_match *m);

/* "Windows", "Unix", "Other" or "Unknown". */
const char *os_class_name(enum os_class c);

#endif
