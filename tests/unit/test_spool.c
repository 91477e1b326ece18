/*
 * Tests of the sensor's spool in a fresh temporary directory per test.
 * Hashes are computed here with OpenSSL and bodies decompressed with
 * zstd, independently of the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "spampot_limits.h"
#include "spool.h"
#include "util.h"

/* The user and group "nobody", for the permission test run as root. */
#define UNPRIVILEGED_ID 65534

struct fixture {
	char base[64];   /* the temporary directory */
	char spool[128]; /* base/spool, not yet created */
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->base, sizeof(f->base), "/tmp/test_spool.XXXXXX");
	if (mkdtemp(f->base) == NULL)
		return -1;
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->base);
	*state = f;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	chmod(f->base, 0700);
	rc = nftw(f->base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* Join base and name into out; the test fails if it does not fit. */
static void
join(char *out, size_t size, const char *base, const char *name)
{
	int n = snprintf(out, size, "%s/%s", base, name);

	assert_true(n > 0 && (size_t)n < size);
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Number of entries in dir, "." and ".." not counted. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
sha256_hex_openssl(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, data, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	assert_int_equal(mdlen, 32);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, mdlen, out);
}

/* The pack beside the events file events_name, as docs/spool.md gives it. */
static void
pack_path(const char *spool, const char *events_name, char *out, size_t size)
{
	char stem[64];
	size_t len = strlen(events_name);
	int n;

	assert_true(len > 6 && len < sizeof(stem));
	assert_string_equal(events_name + len - 6, ".jsonl");
	memcpy(stem, events_name, len - 6);
	stem[len - 6] = '\0';
	n = snprintf(out, size, "%s/bodies/%s.pack", spool, stem);
	assert_true(n > 0 && (size_t)n < size);
}

/* Check that a frame of flen bytes is one zstd frame of the len bytes. */
static void
assert_zstd_frame(const char *data, size_t flen, const void *want, size_t len)
{
	size_t n;
	void *out;

	assert_int_equal(ZSTD_findFrameCompressedSize(data, flen), flen);
	assert_int_equal(ZSTD_getFrameContentSize(data, flen), len);
	out = xmalloc(len + 1);
	n = ZSTD_decompress(out, len + 1, data, flen);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, len);
	assert_memory_equal(out, want, len);
	free(out);
}

/*
 * Walk the pack at path, record by record, with a parser of its own:
 * a header "<64 hex> <8 hex>\n" and then a frame of that length, up
 * to the end of the file.  Returns the number of records, and checks
 * that the one with hash sha, if sha is given, appears once and
 * contains the len bytes of want.
 */
static int
pack_records(const char *path, const char *sha, const void *want, size_t len)
{
	size_t plen, pos = 0;
	char *data = read_file(path, SIZE_MAX, &plen);
	int records = 0, found = 0;

	assert_non_null(data);
	while (pos < plen) {
		char hsha[65];
		unsigned flen;
		int used = 0;

		assert_true(plen - pos >= 74);
		assert_int_equal(data[pos + 73], '\n');
		assert_int_equal(sscanf(data + pos, "%64[0-9a-f] %8x%n", hsha,
				     &flen, &used), 2);
		assert_int_equal(used, 73);
		assert_true(flen > 0 && plen - pos - 74 >= flen);
		if (sha != NULL && strcmp(hsha, sha) == 0) {
			assert_zstd_frame(data + pos + 74, flen, want, len);
			found++;
		}
		pos += 74 + flen;
		records++;
	}
	free(data);
	if (sha != NULL)
		assert_int_equal(found, 1);
	return records;
}

/* Check that the open events file's pack contains the body, once. */
static void
assert_stored(struct spool *sp, const char *spool, const char *sha,
    const void *body, size_t len)
{
	char path[PATH_MAX];

	pack_path(spool, spool_events_name(sp), path, sizeof(path));
	pack_records(path, sha, body, len);
}

/* Stage body, commit durably, and check the stored file. */
static void
store_and_check(
    struct spool *sp, const char *spool, const void *body, size_t len)
{
	char sha[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
	char err[512];

	memset(sha, 'x', sizeof(sha));
	spool_stage_body(sp, body, len, sha);
	sha256_hex_openssl(body, len, want);
	assert_string_equal(sha, want);
	if (spool_commit(sp, true, err, sizeof(err)) < 0)
		fail_msg("commit: %s", err);
	assert_stored(sp, spool, sha, body, len);
}

static struct spool *
open_or_fail(const char *dir)
{
	char err[512];
	struct spool *sp = spool_open(dir, err, sizeof(err));

	if (sp == NULL)
		fail_msg("spool_open %s: %s", dir, err);
	return sp;
}

/* Layout and secret. */

static void
open_creates_layout(void **state)
{
	static const char *const dirs[] = {"", "bodies", "events", "confirm"};
	struct fixture *f = *state;
	char nested[256], path[PATH_MAX];
	struct spool *sp;
	size_t i;

	/* Missing parents are created too. */
	join(nested, sizeof(nested), f->base, "a/b/spool");
	sp = open_or_fail(nested);
	for (i = 0; i < NELEM(dirs); i++) {
		join(path, sizeof(path), nested, dirs[i]);
		if (!is_dir(path))
			fail_msg("%s is not a directory", path);
	}
	spool_close(sp);
}

static void
secret_created_and_kept(void **state)
{
	struct fixture *f = *state;
	uint8_t first[32], zero[32] = {0};
	char path[PATH_MAX], other[256];
	struct spool *sp;
	struct stat st;
	size_t len;
	char *data;

	sp = open_or_fail(f->spool);
	memcpy(first, spool_secret(sp), sizeof(first));
	assert_memory_not_equal(first, zero, sizeof(first));
	spool_close(sp);

	join(path, sizeof(path), f->spool, "secret");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	data = read_file(path, 1024, &len);
	assert_non_null(data);
	assert_int_equal(len, 32);
	assert_memory_equal(data, first, 32);
	free(data);

	/* Reopening reads the same secret back. */
	sp = open_or_fail(f->spool);
	assert_memory_equal(spool_secret(sp), first, sizeof(first));
	spool_close(sp);

	/* Another spool gets its own. */
	join(other, sizeof(other), f->base, "other");
	sp = open_or_fail(other);
	assert_memory_not_equal(spool_secret(sp), first, sizeof(first));
	spool_close(sp);
}

static void
secret_wrong_size_fails(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], err[512];
	int fd;

	spool_close(open_or_fail(f->spool));
	join(path, sizeof(path), f->spool, "secret");
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, "short", 5), 0);
	assert_int_equal(close(fd), 0);

	err[0] = '\0';
	assert_null(spool_open(f->spool, err, sizeof(err)));
	assert_non_null(strstr(err, path));
}

/* Bodies. */

static void
body_stored_under_sha256(void **state)
{
	static const char body[] = "From: a@example.com\r\n"
				   "Subject: hello\r\n"
				   "\r\n"
				   "Buy now.\r\n";
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
	char bodies[PATH_MAX], err[512];
	struct spool *sp = open_or_fail(f->spool);

	join(bodies, sizeof(bodies), f->spool, "bodies");
	assert_false(spool_has_staged(sp));
	spool_stage_body(sp, body, sizeof(body) - 1, sha);
	sha256_hex_openssl(body, sizeof(body) - 1, want);
	assert_string_equal(sha, want);
	assert_true(spool_has_staged(sp));

	/* Staged, not yet stored: the body is only in memory. */
	assert_int_equal(count_entries(bodies), 0);

	if (spool_commit(sp, true, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_false(spool_has_staged(sp));
	assert_int_equal(count_entries(bodies), 1);
	assert_stored(sp, f->spool, sha, body, sizeof(body) - 1);
	spool_close(sp);
}

static void
empty_body_stored(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_or_fail(f->spool);

	store_and_check(sp, f->spool, "", 0);
	/* The SHA-256 of the empty string. */
	assert_stored(sp, f->spool,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "", 0);
	spool_close(sp);
}

static void
large_body_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * 1024 * 1024 + 7, i;
	unsigned char *body = xmalloc(len);
	uint32_t x = 12345;
	struct spool *sp = open_or_fail(f->spool);

	/* Half compressible text, half pseudo-random bytes. */
	for (i = 0; i < len / 2; i++)
		body[i] = (unsigned char)"spam spam eggs\r\n"[i % 16];
	for (; i < len; i++) {
		x = x * 1103515245 + 12345;
		body[i] = (unsigned char)(x >> 16);
	}
	store_and_check(sp, f->spool, body, len);
	free(body);
	spool_close(sp);
}

static void
identical_bodies_stored_once(void **state)
{
	static const char a[] = "body A\r\n", b[] = "body B\r\n";
	struct fixture *f = *state;
	char sha1[SHA256_HEX_LEN + 1], sha2[SHA256_HEX_LEN + 1];
	char pack[PATH_MAX], first[PATH_MAX], err[512];
	struct stat before, after;
	struct spool *sp = open_or_fail(f->spool);

	/* Twice in one batch: stored once. */
	spool_stage_body(sp, a, sizeof(a) - 1, sha1);
	spool_stage_body(sp, a, sizeof(a) - 1, sha2);
	assert_string_equal(sha1, sha2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	pack_path(f->spool, spool_events_name(sp), pack, sizeof(pack));
	assert_int_equal(pack_records(pack, sha1, a, sizeof(a) - 1), 1);

	/* Again after it is stored: the pack stays as it is. */
	assert_int_equal(stat(pack, &before), 0);
	spool_stage_body(sp, a, sizeof(a) - 1, sha2);
	assert_string_equal(sha1, sha2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(stat(pack, &after), 0);
	assert_int_equal(before.st_size, after.st_size);

	/* A different body is a second record. */
	store_and_check(sp, f->spool, b, sizeof(b) - 1);
	assert_int_equal(pack_records(pack, sha1, a, sizeof(a) - 1), 2);
	spool_close(sp);

	/*
	 * A new spool_open() writes a new pack, and a body stored before
	 * goes into it again: the old pack may be gone by the time the
	 * server reads the new one's events.
	 */
	strlcpy_(first, pack, sizeof(first));
	sp = open_or_fail(f->spool);
	spool_stage_body(sp, a, sizeof(a) - 1, sha2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	pack_path(f->spool, spool_events_name(sp), pack, sizeof(pack));
	assert_string_not_equal(pack, first);
	assert_int_equal(pack_records(pack, sha1, a, sizeof(a) - 1), 1);
	assert_int_equal(pack_records(first, sha1, a, sizeof(a) - 1), 2);
	spool_close(sp);
}

/* Events. */

static void
utc_hour(char out[16])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 16, "%Y%m%dT%H", &tm);
}

/* Check that name is YYYYMMDDTHHMMSS.jsonl, optionally with -N. */
static void
assert_events_name(const char *name, const char *hour)
{
	size_t i, len = strlen(name);

	print_message("events file: %s\n", name);
	assert_true(len >= 21);
	assert_memory_equal(name, hour, 11);
	for (i = 11; i < 15; i++)
		assert_true(name[i] >= '0' && name[i] <= '9');
	assert_string_equal(name + len - 6, ".jsonl");
}

static char *
read_events(const char *spool, const char *name, size_t *len)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char *data;

	join(dir, sizeof(dir), spool, "events");
	join(path, sizeof(path), dir, name);
	data = read_file(path, SIZE_MAX, len);
	assert_non_null(data);
	return data;
}

static void
events_written_in_order_at_commit(void **state)
{
	static const char *const lines[] = {
	    "{\"n\":1}\n",
	    "{\"n\":2}\n",
	    "{\"n\":3}\n",
	};
	struct fixture *f = *state;
	char events[PATH_MAX], hour[16], after[16], name[64], err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t i, len;
	char *data;

	join(events, sizeof(events), f->spool, "events");
	utc_hour(hour);
	for (i = 0; i < NELEM(lines); i++)
		spool_stage_event(sp, lines[i], strlen(lines[i]));
	assert_true(spool_has_staged(sp));
	assert_int_equal(count_entries(events), 0);
	assert_string_equal(spool_events_name(sp), "");

	if (spool_commit(sp, false, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	utc_hour(after);
	if (strcmp(hour, after) != 0)
		skip(); /* the hour turned during the test */
	assert_false(spool_has_staged(sp));
	assert_int_equal(count_entries(events), 1);
	strlcpy_(name, spool_events_name(sp), sizeof(name));
	assert_events_name(name, hour);
	data = read_events(f->spool, name, &len);
	assert_string_equal(data, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
	free(data);

	/* A durable commit appends to the same file. */
	spool_stage_event(sp, "{\"n\":4}\n", 8);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	utc_hour(after);
	if (strcmp(hour, after) != 0)
		skip();
	assert_string_equal(spool_events_name(sp), name);
	data = read_events(f->spool, name, &len);
	assert_string_equal(
	    data, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
	free(data);

	/* A commit with nothing staged writes nothing. */
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	data = read_events(f->spool, name, &len);
	assert_int_equal(len, 4 * 8);
	free(data);
	spool_close(sp);
}

static void
events_buffer_grows(void **state)
{
	struct fixture *f = *state;
	char line[1001], err[512];
	size_t i, len, count = 300;
	struct spool *sp = open_or_fail(f->spool);
	char *data;

	/* 300 KB of events, past the initial 64 KiB staging buffer. */
	for (i = 0; i < count; i++) {
		memset(line, 'a' + (int)(i % 26), sizeof(line) - 1);
		line[sizeof(line) - 2] = '\n';
		spool_stage_event(sp, line, sizeof(line) - 1);
	}
	if (spool_commit(sp, false, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_int_equal(len, count * (sizeof(line) - 1));
	for (i = 0; i < count; i++) {
		const char *l = data + i * (sizeof(line) - 1);

		assert_int_equal(l[0], 'a' + (int)(i % 26));
		assert_int_equal(l[sizeof(line) - 2], '\n');
	}
	free(data);
	spool_close(sp);
}

static void
reopen_starts_new_events_file(void **state)
{
	struct fixture *f = *state;
	char events[PATH_MAX], first[64], err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t len;
	char *data;

	join(events, sizeof(events), f->spool, "events");
	spool_stage_event(sp, "old\n", 4);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(first, spool_events_name(sp), sizeof(first));
	spool_close(sp);

	sp = open_or_fail(f->spool);
	spool_stage_event(sp, "new\n", 4);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_string_not_equal(spool_events_name(sp), first);
	assert_int_equal(count_entries(events), 2);
	data = read_events(f->spool, first, &len);
	assert_string_equal(data, "old\n");
	free(data);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_string_equal(data, "new\n");
	free(data);
	spool_close(sp);
}

static void
body_and_event_committed_together(void **state)
{
	static const char body[] = "hi\r\n";
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], line[128], err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t len;
	char *data;

	spool_stage_body(sp, body, sizeof(body) - 1, sha);
	snprintf(line, sizeof(line), "{\"message.sha256\":\"%s\"}\n", sha);
	spool_stage_event(sp, line, strlen(line));

	/* A body forces a durable commit, even when not requested. */
	assert_int_equal(spool_commit(sp, false, err, sizeof(err)), 0);
	assert_stored(sp, f->spool, sha, body, sizeof(body) - 1);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_string_equal(data, line);
	free(data);
	spool_close(sp);
}

/* Errors. */

static void
spool_path_is_file(void **state)
{
	struct fixture *f = *state;
	char file[PATH_MAX], below[PATH_MAX], err[512];
	int fd;

	join(file, sizeof(file), f->base, "file");
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);

	err[0] = '\0';
	assert_null(spool_open(file, err, sizeof(err)));
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, file));

	join(below, sizeof(below), file, "spool");
	err[0] = '\0';
	assert_null(spool_open(below, err, sizeof(err)));
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, strerror(ENOTDIR)));
}

/*
 * Open dir and copy the error into err.  As root, permissions do not
 * apply, so the open runs in a child that has dropped to nobody.
 */
static bool
open_unprivileged(const char *dir, char *err, size_t errlen)
{
	struct spool *sp;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0) {
		sp = spool_open(dir, err, errlen);
		spool_close(sp);
		return sp != NULL;
	}
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		err[0] = '\0';
		if (setgid(UNPRIVILEGED_ID) < 0 || setuid(UNPRIVILEGED_ID) < 0)
			_exit(2);
		sp = spool_open(dir, err, errlen);
		write_all(fds[1], err, strlen(err));
		_exit(sp != NULL);
	}
	close(fds[1]);
	n = read(fds[0], err, errlen - 1);
	close(fds[0]);
	err[n > 0 ? n : 0] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 2);
	return WEXITSTATUS(status) != 0;
}

static void
spool_path_unwritable(void **state)
{
	struct fixture *f = *state;
	char locked[PATH_MAX], dir[PATH_MAX], err[512];

	assert_int_equal(chmod(f->base, 0755), 0);
	join(locked, sizeof(locked), f->base, "locked");
	assert_int_equal(mkdir(locked, 0555), 0);
	join(dir, sizeof(dir), locked, "spool");

	assert_false(open_unprivileged(dir, err, sizeof(err)));
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, strerror(EACCES)));
}

static void
commit_fails_events_not_dir(void **state)
{
	struct fixture *f = *state;
	char events[PATH_MAX], err[512];
	struct spool *sp = open_or_fail(f->spool);
	int fd;

	join(events, sizeof(events), f->spool, "events");
	assert_int_equal(rmdir(events), 0);
	fd = open(events, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);

	spool_stage_event(sp, "{}\n", 3);
	err[0] = '\0';
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), -1);
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, events));
	/* The failed events are dropped, not written by a later commit. */
	assert_false(spool_has_staged(sp));
	spool_close(sp);
}

/* Read the open events file, which must exist, and return its size. */
static size_t
events_size(struct spool *sp, const char *spool)
{
	size_t len;
	char *data;

	assert_string_not_equal(spool_events_name(sp), "");
	data = read_events(spool, spool_events_name(sp), &len);
	free(data);
	return len;
}

/* Replace the bodies directory with a file, so that no pack opens. */
static void
break_bodies(const char *spool, char *bodies, size_t size)
{
	int fd;

	join(bodies, size, spool, "bodies");
	assert_int_equal(rmdir(bodies), 0);
	fd = open(bodies, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
}

static void
commit_fails_bodies_not_dir(void **state)
{
	struct fixture *f = *state;
	char bodies[PATH_MAX], sha[SHA256_HEX_LEN + 1], err[512];
	struct spool *sp = open_or_fail(f->spool);

	break_bodies(f->spool, bodies, sizeof(bodies));
	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "{}\n", 3);
	err[0] = '\0';
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), -1);
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, bodies));

	/* No event for a body that was not stored, now or later. */
	assert_false(spool_has_staged(sp));
	assert_int_equal(events_size(sp, f->spool), 0);
	spool_stage_event(sp, "{}\n", 3);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(events_size(sp, f->spool), 3);
	spool_close(sp);
}

/* A failed write leaves the pack ending with its last whole record. */
static void
failed_pack_write_cut_back(void **state)
{
	static const char kept[] = "kept body\r\n";
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], pack[PATH_MAX], err[512];
	struct rlimit old, small;
	struct stat st;
	unsigned char big[65536];
	struct spool *sp = open_or_fail(f->spool);
	size_t i;

	store_and_check(sp, f->spool, kept, sizeof(kept) - 1);
	pack_path(f->spool, spool_events_name(sp), pack, sizeof(pack));
	assert_int_equal(stat(pack, &st), 0);

	/* A file size limit just past the pack: the next write is cut. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7919 >> 3);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = (rlim_t)st.st_size + 100;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	spool_stage_body(sp, big, sizeof(big), sha);
	spool_stage_event(sp, "{}\n", 3);
	err[0] = '\0';
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, ".pack"));

	assert_int_equal(pack_records(pack, NULL, NULL, 0), 1);
	assert_int_equal(stat(pack, &st), 0);
	/* The same body is appended whole by the next commit. */
	spool_stage_body(sp, big, sizeof(big), sha);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(pack_records(pack, sha, big, sizeof(big)), 2);
	spool_close(sp);
}

/* Removal of files the server has confirmed. */

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	assert_int_equal(close(fd), 0);
}

/*
 * A batch whose records pass PACK_RECORDS_KEEP_MAX reaches the pack in
 * more than one write.  When a later write fails, the earlier ones are
 * cut off too: none of the batch's messages is acknowledged.
 */
static void
big_batch_cut_back_whole(void **state)
{
	enum { BODIES = 3, BODY_LEN = 3 * 1024 * 1024 };
	struct fixture *f = *state;
	char sha[BODIES][SHA256_HEX_LEN + 1], pack[PATH_MAX], err[512];
	unsigned char *body[BODIES];
	struct rlimit old, small;
	struct stat st;
	uint32_t x = 99;
	size_t i, j;
	struct spool *sp = open_or_fail(f->spool);

	store_and_check(sp, f->spool, "first\r\n", 7);
	pack_path(f->spool, spool_events_name(sp), pack, sizeof(pack));
	assert_int_equal(stat(pack, &st), 0);
	/* Bytes that do not compress: each record is about BODY_LEN. */
	for (i = 0; i < BODIES; i++) {
		body[i] = xmalloc(BODY_LEN);
		for (j = 0; j < BODY_LEN; j++) {
			x = x * 1103515245 + 12345;
			body[i][j] = (unsigned char)(x >> 16);
		}
	}

	/* Room for the first write of the batch, not for the second. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = (rlim_t)st.st_size + 2 * BODY_LEN + 65536;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (i = 0; i < BODIES; i++)
		spool_stage_body(sp, body[i], BODY_LEN, sha[i]);
	err[0] = '\0';
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	print_message("error: %s\n", err);
	assert_int_equal(pack_records(pack, NULL, NULL, 0), 1);

	for (i = 0; i < BODIES; i++)
		spool_stage_body(sp, body[i], BODY_LEN, sha[i]);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	for (i = 0; i < BODIES; i++)
		assert_int_equal(pack_records(pack, sha[i], body[i], BODY_LEN),
		    1 + BODIES);
	for (i = 0; i < BODIES; i++)
		free(body[i]);
	spool_close(sp);
}

/*
 * A pack that reaches PACK_FILE_SIZE_MAX closes with its events file at
 * the next commit, and the commits after that append to the new file.
 */
static void
full_pack_rotates_once(void **state)
{
	const size_t len = PACK_FILE_SIZE_MAX + 1024;
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], first[64], second[64], err[512];
	char events[PATH_MAX];
	unsigned char *body = xmalloc(len);
	struct spool *sp = open_or_fail(f->spool);
	char hour[16], after[16];
	uint32_t x = 7;
	size_t i;

	utc_hour(hour);

	/* Bytes that do not compress, so that the pack passes the limit. */
	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		body[i] = (unsigned char)(x >> 16);
	}
	spool_stage_body(sp, body, len, sha);
	free(body);
	spool_stage_event(sp, "big\n", 4);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(first, spool_events_name(sp), sizeof(first));

	spool_stage_event(sp, "next\n", 5);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(second, spool_events_name(sp), sizeof(second));
	assert_string_not_equal(first, second);
	spool_stage_event(sp, "again\n", 6);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	utc_hour(after);
	if (strcmp(hour, after) != 0)
		skip(); /* the hour turned during the test */
	assert_string_equal(spool_events_name(sp), second);
	join(events, sizeof(events), f->spool, "events");
	assert_int_equal(count_entries(events), 2);
	spool_close(sp);
}

static void
confirmed_files_removed(void **state)
{
	struct fixture *f = *state;
	char closed[64], open_name[64], sha[SHA256_HEX_LEN + 1];
	char list[2048], path[PATH_MAX], err[512];
	char closed_pack[PATH_MAX], open_pack[PATH_MAX];
	char secret[PATH_MAX], confirm[PATH_MAX], events[PATH_MAX];
	struct spool *sp = open_or_fail(f->spool);

	/* A closed events file and its pack, and the open ones. */
	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "a\n", 2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(closed, spool_events_name(sp), sizeof(closed));
	pack_path(f->spool, closed, closed_pack, sizeof(closed_pack));
	spool_close(sp);
	sp = open_or_fail(f->spool);
	spool_stage_body(sp, "y", 1, sha);
	spool_stage_event(sp, "b\n", 2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(open_name, spool_events_name(sp), sizeof(open_name));
	pack_path(f->spool, open_name, open_pack, sizeof(open_pack));
	assert_int_equal(access(closed_pack, F_OK), 0);
	assert_int_equal(access(open_pack, F_OK), 0);

	snprintf(list, sizeof(list),
	    "events/%s\r\n"
	    "events/%s\n"
	    "bodies/%.*s.pack\n"
	    "bodies/%.*s.pack\n"
	    "bodies/%.2s/%.2s/%s.zst\n"
	    "secret\n"
	    "../spool/secret\n"
	    "events/../secret\n"
	    "bodies/../secret\n"
	    "bodies/../secret.pack\n"
	    "%s/secret\n",
	    closed, open_name, (int)(strlen(closed) - 6), closed,
	    (int)(strlen(open_name) - 6), open_name, sha, sha + 2, sha,
	    f->spool);
	join(confirm, sizeof(confirm), f->spool, "confirm");
	join(path, sizeof(path), confirm, "batch.txt");
	write_file(path, list);

	assert_int_equal(spool_remove_confirmed(sp, err, sizeof(err)), 2);
	join(events, sizeof(events), f->spool, "events");
	join(path, sizeof(path), events, closed);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(closed_pack, F_OK), -1);

	/* The open files and the secret stay, and the list is gone. */
	join(path, sizeof(path), events, open_name);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(access(open_pack, F_OK), 0);
	join(secret, sizeof(secret), f->spool, "secret");
	assert_int_equal(access(secret, F_OK), 0);
	assert_int_equal(count_entries(confirm), 0);
	spool_close(sp);
}

/*
 * A body whose pack the server had removed is written again when sent
 * again, even by the process that wrote it first.
 */
static void
removed_body_written_again(void **state)
{
	static const char body[] = "campaign body\r\n";
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], path[PATH_MAX], list[256], err[512];
	char confirm[PATH_MAX], first[64], pack[PATH_MAX];
	struct spool *sp = open_or_fail(f->spool);

	/* The pack to remove is closed: the events file of a former run. */
	store_and_check(sp, f->spool, body, sizeof(body) - 1);
	strlcpy_(first, spool_events_name(sp), sizeof(first));
	spool_close(sp);
	sp = open_or_fail(f->spool);
	/* This run stores the body too, and caches it as stored. */
	store_and_check(sp, f->spool, body, sizeof(body) - 1);
	pack_path(f->spool, spool_events_name(sp), pack, sizeof(pack));
	spool_stage_body(sp, body, sizeof(body) - 1, sha);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(pack_records(pack, NULL, NULL, 0), 1);

	snprintf(list, sizeof(list), "bodies/%.*s.pack\n",
	    (int)(strlen(first) - 6), first);
	join(confirm, sizeof(confirm), f->spool, "confirm");
	join(path, sizeof(path), confirm, "bodies.txt");
	write_file(path, list);
	assert_int_equal(spool_remove_confirmed(sp, err, sizeof(err)), 1);
	pack_path(f->spool, first, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);

	/* The removal empties the cache, so this body is written again. */
	spool_stage_body(sp, body, sizeof(body) - 1, sha);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(pack_records(pack, NULL, NULL, 0), 2);
	spool_close(sp);
}

/* The commit thread. */

/* Wait until the thread's descriptor is readable, or fail. */
static void
wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 10000), 1);
}

static void
thread_commits_while_next_batch_stages(void **state)
{
	static const char first[] = "first body\r\n", second[] = "second\r\n";
	struct fixture *f = *state;
	char sha1[SHA256_HEX_LEN + 1], sha2[SHA256_HEX_LEN + 1];
	char line1[128], line2[128], both[256], path[PATH_MAX], err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t len;
	char *data;
	int fd;

	fd = spool_start_thread(sp, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	spool_stage_body(sp, first, sizeof(first) - 1, sha1);
	snprintf(line1, sizeof(line1), "{\"message.sha256\":\"%s\"}\n", sha1);
	spool_stage_event(sp, line1, strlen(line1));
	assert_true(spool_commit_begin(sp, true));
	assert_false(spool_has_staged(sp));

	/* Staging goes on; a second batch waits for the first. */
	spool_stage_body(sp, second, sizeof(second) - 1, sha2);
	snprintf(line2, sizeof(line2), "{\"message.sha256\":\"%s\"}\n", sha2);
	spool_stage_event(sp, line2, strlen(line2));
	assert_false(spool_commit_begin(sp, true));
	assert_true(spool_has_staged(sp));

	wait_readable(fd);
	assert_int_equal(spool_commit_end(sp, err, sizeof(err)), 0);
	pack_path(f->spool, spool_events_name(sp), path, sizeof(path));
	assert_int_equal(pack_records(path, sha1, first, sizeof(first) - 1),
	    1);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_string_equal(data, line1);
	free(data);

	assert_true(spool_commit_begin(sp, true));
	wait_readable(fd);
	assert_int_equal(spool_commit_end(sp, err, sizeof(err)), 0);
	assert_int_equal(pack_records(path, sha2, second, sizeof(second) - 1),
	    2);
	snprintf(both, sizeof(both), "%s%s", line1, line2);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_string_equal(data, both);
	free(data);
	spool_close(sp);
}

/* A failed batch is reported by its end, and the next one succeeds. */
static void
thread_reports_failed_batch(void **state)
{
	struct fixture *f = *state;
	char bodies[PATH_MAX], sha[SHA256_HEX_LEN + 1], err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t len;
	char *data;
	int fd;

	fd = spool_start_thread(sp, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	break_bodies(f->spool, bodies, sizeof(bodies));
	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "lost\n", 5);
	assert_true(spool_commit_begin(sp, true));
	wait_readable(fd);
	err[0] = '\0';
	assert_int_equal(spool_commit_end(sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, bodies));
	assert_int_equal(events_size(sp, f->spool), 0);

	assert_int_equal(unlink(bodies), 0);
	assert_int_equal(mkdir(bodies, 0750), 0);
	spool_stage_event(sp, "kept\n", 5);
	assert_true(spool_commit_begin(sp, false));
	wait_readable(fd);
	assert_int_equal(spool_commit_end(sp, err, sizeof(err)), 0);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_string_equal(data, "kept\n");
	free(data);
	spool_close(sp);
}

/* Closing the spool commits nothing more but stops the thread. */
static void
thread_stops_at_close(void **state)
{
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], err[512];
	struct spool *sp = open_or_fail(f->spool);

	assert_true(spool_start_thread(sp, err, sizeof(err)) >= 0);
	spool_stage_body(sp, "y", 1, sha);
	assert_true(spool_commit_begin(sp, true));
	/* Still in flight, or done: either way the close waits for it. */
	spool_close(sp);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(open_creates_layout),
	    TEST(secret_created_and_kept),
	    TEST(secret_wrong_size_fails),
	    TEST(body_stored_under_sha256),
	    TEST(empty_body_stored),
	    TEST(large_body_round_trip),
	    TEST(identical_bodies_stored_once),
	    TEST(events_written_in_order_at_commit),
	    TEST(events_buffer_grows),
	    TEST(reopen_starts_new_events_file),
	    TEST(body_and_event_committed_together),
	    TEST(spool_path_is_file),
	    TEST(spool_path_unwritable),
	    TEST(commit_fails_events_not_dir),
	    TEST(commit_fails_bodies_not_dir),
	    TEST(failed_pack_write_cut_back),
	    TEST(big_batch_cut_back_whole),
	    TEST(full_pack_rotates_once),
	    TEST(confirmed_files_removed),
	    TEST(removed_body_written_again),
	    TEST(thread_commits_while_next_batch_stages),
	    TEST(thread_reports_failed_batch),
	    TEST(thread_stops_at_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
