/*
 * The sensor's spool (see docs/spool.md): message bodies stored once
 * under their SHA-256, and events appended to hourly JSON Lines files.
 *
 * Writes are staged and made durable together by spool_commit(), so
 * that one round of fsync calls covers every message that completed in
 * the same turn of the event loop.  A message is acknowledged only
 * after the commit that carried its body and its event.
 */
#ifndef SPAMPOT_SPOOL_H
#define SPAMPOT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN 64

struct spool;

/* Open (creating as needed) the spool at dir; NULL with err on failure. */
struct spool *spool_open(const char *dir, char *err, size_t errlen);
void spool_close(struct spool *sp);

/* The spool's 32-byte secret, created at random on first open. */
const uint8_t *spool_secret(const struct spool *sp);

/*
 * Stage a body: compute its SHA-256 into sha_hex and, unless a body
 * with that hash is already stored or staged, compress it into tmp/.
 * Returns 0, or -1 with err (the message must then be refused).
 */
int spool_stage_body(struct spool *sp, const void *body, size_t len,
    char sha_hex[SHA256_HEX_LEN + 1], char *err, size_t errlen);

/* Stage one event line (ending in '\n'). */
void spool_stage_event(struct spool *sp, const char *line, size_t len);

/* True when something is staged and a commit would do work. */
bool spool_has_staged(const struct spool *sp);

/*
 * Write what is staged.  With durable, bodies are flushed and renamed
 * into place, their directories flushed, and then the events file is
 * written and flushed; without it, events are only written.  Returns
 * 0, or -1 with err; on failure nothing staged is reported stored.
 */
int spool_commit(struct spool *sp, bool durable, char *err, size_t errlen);

/*
 * Remove the files that the server has confirmed it holds: each
 * confirm/NAME.txt in the spool lists paths such as
 * "events/20261204T160000.jsonl" or "bodies/ab/cd/<sha256>.zst", one
 * per line.  Only closed events files and bodies are removed, nothing
 * outside them whatever a line says; each list is deleted once done.
 * Returns the number of files removed, or -1 with err.
 */
int spool_remove_confirmed(struct spool *sp, char *err, size_t errlen);

/* The process was chrooted into the spool: paths start at "/". */
void spool_chrooted(struct spool *sp);

/* Name of the events file being written, under events/; "" if none. */
const char *spool_events_name(const struct spool *sp);

#endif
