/*
 * The sensor's spool (see docs/spool.md): events appended to hourly
 * JSON Lines files, and message bodies, named by their SHA-256,
 * appended to a pack beside each of them (see bodypack.h).  A body
 * that is in the pack already is not appended again.
 *
 * Writes are staged and made durable together, so that one round of
 * flushes covers every message that completed while the last round
 * ran.  A message is acknowledged only after the commit that carried
 * its body and its event.
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
 * Stage a body: compute its SHA-256 into sha_hex and keep a copy of
 * the bytes for the next commit, which compresses them into the pack,
 * unless a body with that hash is stored by then.  A body staged twice
 * in one batch is kept once.
 */
void spool_stage_body(struct spool *sp, const void *body, size_t len,
    char sha_hex[SHA256_HEX_LEN + 1]);
/* Stage one event line (ending in '\n'). */
void spool_stage_event(struct spool *sp, const char *line, size_t len);

/* True when something is staged and a commit would do work. */
bool spool_has_staged(const struct spool *sp);

/*
 * Write what is staged, on the calling thread, after any batch in
 * flight.  With durable, the bodies are appended to the pack, the
 * events to their file, and one flush makes all of it durable.
 * Without it, events are only written, and a staged body makes the
 * commit durable all the same.  Returns 0, or -1 with err, and then
 * nothing staged is reported stored.
 */
int spool_commit(struct spool *sp, bool durable, char *err, size_t errlen);

/*
 * The commit thread: spool_commit_begin() hands what is staged to it,
 * and staging goes on into a second batch meanwhile.  When the thread
 * is done, the returned descriptor becomes readable, and
 * spool_commit_end() takes the result back.  Start the thread before
 * the process drops privileges or enters its seccomp filter.  Returns
 * the descriptor, or -1 with err.
 */
int spool_start_thread(struct spool *sp, char *err, size_t errlen);

/*
 * Hand the staged writes over as one batch, durable as spool_commit()
 * is.  Returns false, handing nothing, while a batch is in flight.
 * Without the thread, the batch is committed by spool_commit_end().
 */
bool spool_commit_begin(struct spool *sp, bool durable);

/*
 * Wait for the batch in flight, if any, and return what its commit
 * returned: 0, or -1 with err.
 */
int spool_commit_end(struct spool *sp, char *err, size_t errlen);

/*
 * Remove the files that the server has confirmed it holds: each
 * confirm/NAME.txt in the spool lists paths such as
 * "events/20261204T160000.jsonl" or "bodies/20261204T160000.pack", one
 * per line.  Only closed events files and packs are removed, nothing
 * outside them whatever a line says; each list is deleted once done.
 * Returns the number of files removed, or -1 with err.
 */
int spool_remove_confirmed(struct spool *sp, char *err, size_t errlen);

/* The process was chrooted into the spool: paths start at "/". */
void spool_chrooted(struct spool *sp);

/* Name of the events file being written, under events/; "" if none. */
const char *spool_events_name(struct spool *sp);

#endif
