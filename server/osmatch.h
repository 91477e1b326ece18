/*
 * The operating system of each client, from the p0f signature of its
 * SYN as the sensor recorded it.  Each distinct signature is matched
 * once against a p0f database and the result kept in the os_signature
 * table, then copied onto the session and onto the source address
 * (the class of that address's latest SYN).  The raw signature stays
 * in the session row, so a newer database can match it again.
 *
 * Signatures come from event lines, so they are parsed, never trusted.
 */
#ifndef SPAMPOT_OSMATCH_H
#define SPAMPOT_OSMATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

struct os_matcher;

/*
 * Path of the p0f database: $SPAMPOT_P0F, or P0F_DB_DEFAULT_PATH when
 * it is unset or empty.
 */
const char *os_default_p0f_path(void);

/*
 * A matcher for db reading the p0f database at p0f_path (NULL: the
 * default) when it first needs it.  When that file cannot be read or
 * has no signature, one warning goes to log and every signature stays Unknown
 * and unmatched, so that a later run with the file matches it.
 */
struct os_matcher *os_matcher_new(
    struct db *db, const char *p0f_path, FILE *log);
void os_matcher_free(struct os_matcher *m);

/*
 * Read the p0f database now rather than on first use.  Returns 0, or
 * -1 with err set when the file cannot be read or has no signature,
 * in which case the matcher works as without the file.
 */
int os_matcher_load(struct os_matcher *m, char *err, size_t errlen);

/*
 * Forget the cached signature ids, which a rolled back transaction
 * may have made wrong.
 */
void os_matcher_forget(struct os_matcher *m);

/*
 * Store the OS of a new session on its row and, when the client's own
 * SYN was seen, on its address.  A session relayed with a PROXY header
 * (relay_ip not NULL) or without a signature is Unknown.  time is the
 * session's RFC 3339 start time.  Returns 0, or -1 on a database error.
 */
int os_store_session(struct os_matcher *m, int64_t sensor_id,
    const char *session_id, const char *source_ip, const char *relay_ip,
    const char *time, const char *signature);

/*
 * Find the signature id of a stored session: 0 when it has none or is
 * not stored.  Returns 0, or -1 on a database error.
 */
int os_session_signature(struct os_matcher *m, int64_t sensor_id,
    const char *session_id, int64_t *signature_id);

/* Add to the emails per day and signature; returns 0 or -1. */
int os_rollup_add(struct os_matcher *m, const char *day, int64_t sensor_id,
    int64_t signature_id, int64_t messages, int64_t recipients);

/*
 * Match again every stored signature (all) or only those never matched,
 * then copy the results onto sessions and addresses, in one
 * transaction unless one is open.  *changed counts the signatures
 * matched.  Returns 0, or -1 with err set.
 */
int os_rematch(struct os_matcher *m, bool all, uint64_t *changed, char *err,
    size_t errlen);

/* The human-readable label of a match result: "Linux 3.11 and newer". */
struct p0f_match;
void os_label_text(const struct p0f_match *match, char *out, size_t size);

#endif
