/*
 * Spool writer; see spool.h and docs/spool.md.
 *
 * Order of a durable commit: the staged bodies are compressed and
 * appended to the pack of the open events file (see bodypack.h), the
 * events are appended, and one syncfs makes all of it durable.  A
 * message is acknowledged only after that, so an acknowledged message
 * always has its event and its whole body.  A crash during the flush
 * can leave messages that were never acknowledged in any state: an
 * event may name a body whose record was cut, and readers of a pack
 * stop at its last whole record.  After a restart the sensor writes to
 * a new events file and a new pack, and never appends to a cut one.
 *
 * Threads: the event loop stages bodies and events into one batch
 * while the commit thread flushes the other.  The loop owns the batch
 * it fills; the thread owns the batch in flight and the events file
 * until the loop takes the result back.  Only the flight handover and
 * the events file's name are shared, under the lock.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "bodypack.h"
#include "spampot_limits.h"
#include "util.h"

/* zstd level 3 is its default: fast, and about 4:1 on spam. */
#define BODY_ZSTD_LEVEL 3

/* Initial size of the staged-events buffer; it grows as needed. */
#define EVENT_BUFFER_INITIAL 65536

/*
 * Bodies remembered as stored, so that a body a campaign sends again
 * and again is neither compressed nor written again.  One slot of 65
 * bytes for each value of a hash's first three hex digits: 260 KiB.
 */
#define STORED_CACHE_SLOTS 4096

/* Room left in a PATH_MAX buffer for what follows the spool path. */
#define SPOOL_DIR_MAX (PATH_MAX - 160)

/*
 * A body staged by the loop: a copy of its bytes until the committing
 * thread has compressed them into the pack.
 */
struct staged_body {
	char sha[SHA256_HEX_LEN + 1];
	unsigned char *data;
	size_t len;
	bool appended;		/* by this commit, not stored before */
};

/*
 * Writes staged together and committed together: the bodies for the
 * pack and the event lines that name them.
 */
struct batch {
	struct staged_body *bodies;
	int nbodies, bodies_cap;

	char *events;
	size_t events_len, events_cap;

	bool durable;
	int rc;			/* of its commit: 0 or -1 with err */
	char err[2 * PATH_MAX + 64];	/* room for two paths and strerror */
};

struct spool {
	char dir[SPOOL_DIR_MAX];
	int dirfd;
	uint8_t secret[32];

	/*
	 * The loop stages into fill.  A batch handed to the commit thread
	 * is in flight until the loop takes its result back, and the
	 * thread owns it and the events file meanwhile.
	 */
	struct batch batches[2];
	struct batch *fill;
	struct batch *flight;

	int events_fd;
	char events_hour[16];	/* YYYYMMDDTHH of the open events file */
	char events_name[48];	/* its name under events/; under lock */
	char events_name_copy[48];
	size_t events_size;
	int pack_fd;		/* the pack of the open events file, or -1 */
	uint64_t pack_size;

	/* Used only by the thread that commits. */
	ZSTD_CCtx *zstd;
	unsigned char *records;	/* the batch's records for the pack */
	size_t records_len, records_cap;
	char (*stored)[SHA256_HEX_LEN + 1];	/* STORED_CACHE_SLOTS */
	bool stored_stale;	/* under lock: bodies were removed */

	bool threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool flight_done;	/* under lock */
	bool stopping;		/* under lock */
	int done_fd;		/* eventfd the thread signals */
};

static int
make_dir_mode(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
make_dir(const char *path, char *err, size_t errlen)
{
	return make_dir_mode(path, 0750, err, errlen);
}

/*
 * Create dir and any missing parents, as mkdir -p does.  Parents are
 * left searchable, so that the user the daemon drops to can reach the
 * spool when it is not chrooted.
 */
static int
make_dirs(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *p;

	strlcpy_(path, dir, sizeof(path));
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (make_dir_mode(path, 0755, err, errlen) < 0)
			return -1;
		*p = '/';
	}
	return make_dir(path, err, errlen);
}

static int
sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
load_secret(struct spool *sp, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len;
	char *data;
	int fd;

	snprintf(path, sizeof(path), "%s/secret", sp->dir);
	if ((data = read_file(path, 64, &len)) != NULL) {
		if (len != sizeof(sp->secret)) {
			free(data);
			snprintf(err, errlen, "%s: expected %zu bytes", path,
			    sizeof(sp->secret));
			return -1;
		}
		memcpy(sp->secret, data, len);
		free(data);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (getrandom(sp->secret, sizeof(sp->secret), 0) !=
	    (ssize_t)sizeof(sp->secret)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/secret.tmp", sp->dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, sp->secret, sizeof(sp->secret)) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return sync_path(sp->dir);
}

struct spool *
spool_open(const char *dir, char *err, size_t errlen)
{
	static const char *subdirs[] = { "bodies", "events", "confirm" };
	struct spool *sp;
	char path[PATH_MAX];
	size_t i;

	if (strlen(dir) >= SPOOL_DIR_MAX) {
		snprintf(err, errlen, "spool path too long: %s", dir);
		return NULL;
	}
	if (make_dirs(dir, err, errlen) < 0)
		return NULL;
	for (i = 0; i < NELEM(subdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		if (make_dir(path, err, errlen) < 0)
			return NULL;
	}
	sp = xcalloc(1, sizeof(*sp));
	strlcpy_(sp->dir, dir, sizeof(sp->dir));
	sp->events_fd = -1;
	sp->pack_fd = -1;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", dir,
		    strerror(errno));
		free(sp);
		return NULL;
	}
	if (load_secret(sp, err, errlen) < 0) {
		spool_close(sp);
		return NULL;
	}
	for (i = 0; i < NELEM(sp->batches); i++) {
		sp->batches[i].events_cap = EVENT_BUFFER_INITIAL;
		sp->batches[i].events = xmalloc(EVENT_BUFFER_INITIAL);
	}
	sp->fill = &sp->batches[0];
	sp->done_fd = -1;
	sp->stored = xcalloc(STORED_CACHE_SLOTS, sizeof(*sp->stored));
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	return sp;
}

static void
discard_bodies(struct batch *b)
{
	int i;

	for (i = 0; i < b->nbodies; i++)
		free(b->bodies[i].data);
	b->nbodies = 0;
}

static void stop_thread(struct spool *sp);

void
spool_close(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	stop_thread(sp);
	for (i = 0; i < NELEM(sp->batches); i++) {
		discard_bodies(&sp->batches[i]);
		free(sp->batches[i].bodies);
		free(sp->batches[i].events);
	}
	if (sp->events_fd >= 0)
		close(sp->events_fd);
	if (sp->pack_fd >= 0)
		close(sp->pack_fd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	ZSTD_freeCCtx(sp->zstd);
	free(sp->records);
	free(sp->stored);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	free(sp);
}

const uint8_t *
spool_secret(const struct spool *sp)
{
	return sp->secret;
}

static void
sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		abort();	/* SHA-256 cannot fail on valid input */
	hex_encode(md, 32, out);
}

static bool
already_staged(const struct batch *b, const char *sha)
{
	int i;

	for (i = 0; i < b->nbodies; i++)
		if (strcmp(b->bodies[i].sha, sha) == 0)
			return true;
	return false;
}

void
spool_stage_body(struct spool *sp, const void *body, size_t len,
    char sha_hex[SHA256_HEX_LEN + 1])
{
	struct batch *fill = sp->fill;
	struct staged_body *b;

	sha256_hex(body, len, sha_hex);
	if (already_staged(fill, sha_hex))
		return;
	if (fill->nbodies == fill->bodies_cap) {
		fill->bodies_cap = fill->bodies_cap ? 2 * fill->bodies_cap : 16;
		fill->bodies = xrealloc(fill->bodies,
		    (size_t)fill->bodies_cap * sizeof(*fill->bodies));
	}
	b = &fill->bodies[fill->nbodies++];
	strlcpy_(b->sha, sha_hex, sizeof(b->sha));
	b->data = xmalloc(len > 0 ? len : 1);
	memcpy(b->data, body, len);
	b->len = len;
	b->appended = false;
}

void
spool_stage_event(struct spool *sp, const char *line, size_t len)
{
	struct batch *fill = sp->fill;

	if (fill->events_len + len > fill->events_cap) {
		while (fill->events_len + len > fill->events_cap)
			fill->events_cap *= 2;
		fill->events = xrealloc(fill->events, fill->events_cap);
	}
	memcpy(fill->events + fill->events_len, line, len);
	fill->events_len += len;
}

bool
spool_has_staged(const struct spool *sp)
{
	return sp->fill->nbodies > 0 || sp->fill->events_len > 0;
}

/* Return the cache slot of a hash: its first three hex digits. */
static char *
stored_slot(struct spool *sp, const char *sha)
{
	int idx = hex_value(sha[0]) << 8 | hex_value(sha[1]) << 4 |
	    hex_value(sha[2]);

	return sp->stored[idx];
}

/*
 * Empty the cache of stored bodies: after the server removed some, and
 * after a failed commit, whose records may be in the pack but not
 * flushed.  A later message with such a body must get a record and a
 * flush of its own before it is acknowledged.
 */
static void
clear_stored(struct spool *sp)
{
	memset(sp->stored, 0, STORED_CACHE_SLOTS * sizeof(*sp->stored));
}

/*
 * Compress a staged body into a record at the end of sp->records,
 * unless it is known to be stored already.  Its copy is freed either
 * way.
 */
static int
add_record(struct spool *sp, struct staged_body *b, char *err,
    size_t errlen)
{
	size_t bound = ZSTD_compressBound(b->len), n;
	char header[PACK_HEADER_LEN + 1];
	unsigned char *at;
	int rc = -1;

	if (strcmp(stored_slot(sp, b->sha), b->sha) == 0) {
		rc = 0;
		goto out;
	}
	if (sp->zstd == NULL && (sp->zstd = ZSTD_createCCtx()) == NULL) {
		snprintf(err, errlen, "zstd: out of memory");
		goto out;
	}
	if (sp->records_len + PACK_HEADER_LEN + bound > sp->records_cap) {
		sp->records_cap = 2 * (sp->records_len + PACK_HEADER_LEN +
		    bound);
		sp->records = xrealloc(sp->records, sp->records_cap);
	}
	at = sp->records + sp->records_len;
	n = ZSTD_compressCCtx(sp->zstd, at + PACK_HEADER_LEN, bound, b->data,
	    b->len, BODY_ZSTD_LEVEL);
	if (ZSTD_isError(n)) {
		snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(n));
		goto out;
	}
	pack_header_format(header, b->sha, (uint32_t)n);
	memcpy(at, header, PACK_HEADER_LEN);
	sp->records_len += PACK_HEADER_LEN + n;
	b->appended = true;
	rc = 0;
out:
	free(b->data);
	b->data = NULL;
	return rc;
}

static int
flush_file_system(struct spool *sp, char *err, size_t errlen)
{
	if (syncfs(sp->dirfd) < 0) {
		snprintf(err, errlen, "syncfs %s: %s", sp->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Open the pack of the open events file, bodies/NAME.pack, where
 * events/NAME.jsonl is that file.  Its name is in the directory once
 * the commit's flush is done, before any message in it is
 * acknowledged.
 */
static int
open_pack(struct spool *sp, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t stem;

	if (sp->pack_fd >= 0)
		return 0;
	stem = strlen(sp->events_name) - strlen(".jsonl");
	snprintf(path, sizeof(path), "%s/bodies/%.*s.pack", sp->dir,
	    (int)stem, sp->events_name);
	sp->pack_fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (sp->pack_fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	sp->pack_size = 0;
	return 0;
}

/*
 * Close the events file and its pack, so that the next commit starts
 * new ones: at the hour, at a size limit, and after a write that could
 * not be undone.
 */
static void
close_files(struct spool *sp)
{
	if (sp->events_fd >= 0) {
		fdatasync(sp->events_fd);
		close(sp->events_fd);
		sp->events_fd = -1;
	}
	if (sp->pack_fd >= 0) {
		fdatasync(sp->pack_fd);
		close(sp->pack_fd);
		sp->pack_fd = -1;
	}
	/* The next events file has no pack yet, however big the last. */
	sp->pack_size = 0;
}

/*
 * Write the records compressed so far to the pack, opening it first if
 * needed, and count them in *written.
 */
static int
write_records(struct spool *sp, uint64_t *written, char *err,
    size_t errlen)
{
	if (open_pack(sp, err, errlen) < 0)
		return -1;
	if (write_all(sp->pack_fd, sp->records, sp->records_len) < 0) {
		snprintf(err, errlen, "write bodies/%.*s.pack: %s",
		    (int)(strlen(sp->events_name) - strlen(".jsonl")),
		    sp->events_name, strerror(errno));
		return -1;
	}
	*written += sp->records_len;
	sp->records_len = 0;
	return 0;
}

/*
 * Append the staged bodies to the pack: in one write, unless their
 * records pass PACK_RECORDS_KEEP_MAX, which bounds the buffer that
 * contains them.  Returns how many were appended (the others were stored
 * already), or -1.  Nothing is flushed here: the flush that ends the
 * commit covers the batch's records and its events at once, and only
 * then is any of its messages acknowledged.  A failed write is cut off
 * again, so that the pack still ends with the last batch's last record.
 */
static int
commit_bodies(struct spool *sp, struct batch *batch, char *err,
    size_t errlen)
{
	uint64_t written = 0;
	int i, appended = 0;

	pthread_mutex_lock(&sp->lock);
	if (sp->stored_stale)
		clear_stored(sp);
	sp->stored_stale = false;
	pthread_mutex_unlock(&sp->lock);
	sp->records_len = 0;
	for (i = 0; i < batch->nbodies; i++) {
		if (add_record(sp, &batch->bodies[i], err, errlen) < 0)
			goto fail;
		appended += batch->bodies[i].appended;
		if (sp->records_len > PACK_RECORDS_KEEP_MAX &&
		    write_records(sp, &written, err, errlen) < 0)
			goto fail;
	}
	if (appended == 0) {
		batch->nbodies = 0;
		return 0;
	}
	if (sp->records_len > 0 &&
	    write_records(sp, &written, err, errlen) < 0)
		goto fail;
	sp->pack_size += written;
	for (i = 0; i < batch->nbodies; i++)
		if (batch->bodies[i].appended)
			strlcpy_(stored_slot(sp, batch->bodies[i].sha),
			    batch->bodies[i].sha, SHA256_HEX_LEN + 1);
	batch->nbodies = 0;
	return appended;
fail:
	if (sp->pack_fd >= 0 &&
	    ftruncate(sp->pack_fd, (off_t)sp->pack_size) < 0)
		close_files(sp);
	return -1;
}

/*
 * Free the records buffer after a batch that grew it past
 * PACK_RECORDS_KEEP_MAX, so that one burst of big bodies does not hold
 * that memory until the daemon stops.
 */
static void
trim_records(struct spool *sp)
{
	if (sp->records_cap <= PACK_RECORDS_KEEP_MAX)
		return;
	free(sp->records);
	sp->records = NULL;
	sp->records_cap = 0;
	sp->records_len = 0;
}

/*
 * Open the events file to append to.  A new file starts at each UTC
 * hour, when the current one reaches EVENTS_FILE_SIZE_MAX or its pack
 * PACK_FILE_SIZE_MAX, and at every start of the daemon.  A closed file
 * is never reopened, so a file that is not the newest is complete, and
 * the server may remove it and its pack once it has read them.  Names
 * sort in time order: YYYYMMDDTHHMMSS[-N].jsonl.  The pack is opened
 * with the first body that needs it.
 */
static int
open_events(struct spool *sp, char *err, size_t errlen)
{
	char hour[16], stamp[32], name[sizeof(sp->events_name)];
	char path[PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&now, &tm);
	strftime(hour, sizeof(hour), "%Y%m%dT%H", &tm);
	if (sp->events_fd >= 0 && strcmp(hour, sp->events_hour) == 0 &&
	    sp->events_size < EVENTS_FILE_SIZE_MAX &&
	    sp->pack_size < PACK_FILE_SIZE_MAX)
		return 0;
	close_files(sp);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	for (n = 0; n < 1000; n++) {
		if (n == 0)
			snprintf(name, sizeof(name), "%s.jsonl", stamp);
		else
			snprintf(name, sizeof(name), "%s-%d.jsonl", stamp, n);
		snprintf(path, sizeof(path), "%s/events/%s", sp->dir, name);
		sp->events_fd = open(path,
		    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (sp->events_fd >= 0 || errno != EEXIST)
			break;
	}
	if (sp->events_fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		name[0] = '\0';
	}
	pthread_mutex_lock(&sp->lock);
	strlcpy_(sp->events_name, name, sizeof(sp->events_name));
	pthread_mutex_unlock(&sp->lock);
	if (sp->events_fd < 0)
		return -1;
	strlcpy_(sp->events_hour, hour, sizeof(sp->events_hour));
	sp->events_size = 0;
	snprintf(path, sizeof(path), "%s/events", sp->dir);
	sync_path(path);
	return 0;
}

void
spool_chrooted(struct spool *sp)
{
	sp->dir[0] = '\0';
}

const char *
spool_events_name(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	strlcpy_(sp->events_name_copy, sp->events_name,
	    sizeof(sp->events_name_copy));
	pthread_mutex_unlock(&sp->lock);
	return sp->events_name_copy;
}

/*
 * Truncate the events file back to its last whole line after a failed
 * write, so that the next batch does not append its first line to a
 * cut one.  A short write is common on a full disk.  If the truncation
 * fails too, the file and its pack are closed and the next commit
 * starts new ones.
 */
static void
truncate_partial_events(struct spool *sp)
{
	if (sp->events_fd < 0 ||
	    ftruncate(sp->events_fd, (off_t)sp->events_size) == 0)
		return;
	logmsg("warning", "cannot truncate events file %s to %zu bytes: %s; "
	    "the next events go to a new file", sp->events_name,
	    sp->events_size, strerror(errno));
	close_files(sp);
}


/*
 * Commit one batch, on whichever thread owns the events file.  On
 * failure the batch is emptied all the same: its messages get an error
 * reply, and no record of theirs is left in the pack.
 */
static int
commit_batch(struct spool *sp, struct batch *b, char *err, size_t errlen)
{
	/* An event may name a staged body: never write it before the body. */
	bool durable = b->durable || b->nbodies > 0;
	bool wrote_events = b->events_len > 0;
	int appended = 0;

	if (errlen > 0)
		err[0] = '\0';
	/* The events file first: the bodies go to its pack. */
	if ((wrote_events || b->nbodies > 0) &&
	    open_events(sp, err, errlen) < 0) {
		discard_bodies(b);
		b->events_len = 0;
		return -1;
	}
	if (b->nbodies > 0) {
		appended = commit_bodies(sp, b, err, errlen);
		trim_records(sp);
	}
	if (appended < 0) {
		discard_bodies(b);
		clear_stored(sp);
		b->events_len = 0;
		return -1;
	}
	if (wrote_events &&
	    write_all(sp->events_fd, b->events, b->events_len) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "write events: %s",
			    strerror(errno));
		truncate_partial_events(sp);
		clear_stored(sp);
		b->events_len = 0;
		return -1;
	}
	sp->events_size += b->events_len;
	b->events_len = 0;
	if (!durable)
		return 0;
	/*
	 * One flush for the pack, the events and a new file's name.
	 * syncfs also flushes whatever else is dirty on that file system,
	 * so the spool is best kept on one of its own.  It cost less than
	 * an fdatasync of the pack and another of the events file.
	 */
	if (appended > 0) {
		if (flush_file_system(sp, err, errlen) < 0) {
			clear_stored(sp);
			return -1;
		}
		return 0;
	}
	if (wrote_events && fdatasync(sp->events_fd) < 0) {
		snprintf(err, errlen, "fsync events: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void *
commit_thread(void *arg)
{
	struct spool *sp = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&sp->lock);
	for (;;) {
		struct batch *b;

		while (!sp->stopping &&
		    (sp->flight == NULL || sp->flight_done))
			pthread_cond_wait(&sp->cond, &sp->lock);
		if (sp->flight == NULL || sp->flight_done)
			break;
		b = sp->flight;
		pthread_mutex_unlock(&sp->lock);
		b->rc = commit_batch(sp, b, b->err, sizeof(b->err));
		pthread_mutex_lock(&sp->lock);
		sp->flight_done = true;
		pthread_cond_broadcast(&sp->cond);
		/*
		 * eventfd(2): the write fails only when the counter would
		 * overflow, and a counter that high already wakes the loop.
		 */
		(void)!write(sp->done_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

int
spool_start_thread(struct spool *sp, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	if (sp->threaded)
		return sp->done_fd;
	sp->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sp->done_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	/* Block every signal in the thread, so that the loop gets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&sp->thread, NULL, commit_thread, sp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the commit thread: %s",
		    strerror(rc));
		close(sp->done_fd);
		sp->done_fd = -1;
		return -1;
	}
	sp->threaded = true;
	return sp->done_fd;
}

static void
stop_thread(struct spool *sp)
{
	if (!sp->threaded) {
		if (sp->done_fd >= 0)
			close(sp->done_fd);
		return;
	}
	pthread_mutex_lock(&sp->lock);
	sp->stopping = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	pthread_join(sp->thread, NULL);
	sp->threaded = false;
	close(sp->done_fd);
	sp->done_fd = -1;
}

bool
spool_commit_begin(struct spool *sp, bool durable)
{
	if (sp->flight != NULL)
		return false;
	sp->fill->durable = durable;
	pthread_mutex_lock(&sp->lock);
	sp->flight = sp->fill;
	sp->flight_done = false;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	sp->fill = sp->fill == &sp->batches[0] ? &sp->batches[1] :
	    &sp->batches[0];
	return true;
}

int
spool_commit_end(struct spool *sp, char *err, size_t errlen)
{
	struct batch *b = sp->flight;
	uint64_t count;

	if (b == NULL)
		return 0;
	pthread_mutex_lock(&sp->lock);
	if (!sp->threaded && !sp->flight_done) {
		/* No thread: the batch is committed here. */
		pthread_mutex_unlock(&sp->lock);
		b->rc = commit_batch(sp, b, b->err, sizeof(b->err));
		pthread_mutex_lock(&sp->lock);
		sp->flight_done = true;
	}
	while (!sp->flight_done)
		pthread_cond_wait(&sp->cond, &sp->lock);
	sp->flight = NULL;
	pthread_mutex_unlock(&sp->lock);
	if (sp->done_fd >= 0)
		(void)!read(sp->done_fd, &count, sizeof(count));
	if (b->rc < 0)
		strlcpy_(err, b->err, errlen);
	return b->rc;
}

int
spool_commit(struct spool *sp, bool durable, char *err, size_t errlen)
{
	char prev[512];

	/* Events must reach the file in the order they were staged. */
	if (spool_commit_end(sp, prev, sizeof(prev)) < 0)
		logmsg("error", "spool commit failed: %s", prev);
	spool_commit_begin(sp, durable);
	return spool_commit_end(sp, err, errlen);
}

static bool
all_chars(const char *s, size_t n, int (*pred)(int))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!pred((unsigned char)s[i]))
			return false;
	return true;
}

/* "YYYYMMDDTHHMMSS.jsonl" or "YYYYMMDDTHHMMSS-N.jsonl". */
static bool
valid_events_name(const char *name)
{
	size_t len = strlen(name);
	const char *dot;

	if (len < 21 || len > 25 || !all_chars(name, 8, isdigit) ||
	    name[8] != 'T' || !all_chars(name + 9, 6, isdigit))
		return false;
	dot = name + 15;
	if (*dot == '-') {
		const char *d = dot + 1;

		dot = strchr(d, '.');
		if (dot == NULL || dot == d || dot - d > 3 ||
		    !all_chars(d, (size_t)(dot - d), isdigit))
			return false;
	}
	return strcmp(dot, ".jsonl") == 0;
}

/*
 * "bodies/NAME.pack", unless NAME.jsonl is current, the events file
 * being written, whose pack is still growing.
 */
static bool
removable_pack(const char *p, const char *current)
{
	size_t stem;

	if (strncmp(p, "bodies/", 7) != 0 || !pack_name_valid(p + 7))
		return false;
	stem = strlen(p + 7) - strlen(".pack");
	return !(strncmp(p + 7, current, stem) == 0 &&
	    strcmp(current + stem, ".jsonl") == 0);
}

static int
remove_listed(struct spool *sp, char *list, size_t len)
{
	char path[PATH_MAX], current[sizeof(sp->events_name)];
	char *line, *save = NULL;
	int removed = 0, bodies = 0;

	(void)len;
	/* Keep the file being written: it is not complete. */
	strlcpy_(current, spool_events_name(sp), sizeof(current));
	for (line = strtok_r(list, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		bool ok;

		if (strncmp(line, "events/", 7) == 0)
			ok = valid_events_name(line + 7) &&
			    strcmp(line + 7, current) != 0;
		else
			ok = removable_pack(line, current);
		if (!ok)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sp->dir, line);
		if (unlink(path) == 0) {
			removed++;
			bodies += line[0] == 'b';
		}
	}
	/*
	 * A body removed here is written again when a message sends it
	 * anew.  A batch in flight may still name it without writing it,
	 * and the server has it, since it requested the removal of the
	 * pack that held it.
	 */
	if (bodies > 0) {
		pthread_mutex_lock(&sp->lock);
		sp->stored_stale = true;
		pthread_mutex_unlock(&sp->lock);
	}
	return removed;
}

int
spool_remove_confirmed(struct spool *sp, char *err, size_t errlen)
{
	char dir[SPOOL_DIR_MAX + 16], path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int removed = 0;

	snprintf(dir, sizeof(dir), "%s/confirm", sp->dir);
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), len;
		struct stat st;
		char *list;

		if (n < 5 || strcmp(de->d_name + n - 4, ".txt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((list = read_file(path, CONFIRM_FILE_MAX, &len)) == NULL) {
			logmsg("warning", "cannot read %s: %s", path,
			    strerror(errno));
			continue;
		}
		removed += remove_listed(sp, list, len);
		free(list);
		unlink(path);
	}
	closedir(d);
	return removed;
}
