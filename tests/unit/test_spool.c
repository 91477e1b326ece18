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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zstd.h>

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

static int regular_files;

static int
count_regular(
    const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	if (flag == FTW_F)
		regular_files++;
	return 0;
}

/* Number of regular files anywhere under dir. */
static int
count_files_under(const char *dir)
{
	regular_files = 0;
	assert_int_equal(nftw(dir, count_regular, 16, FTW_PHYS), 0);
	return regular_files;
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

/* Path of the stored body with hash sha, as docs/spool.md gives it. */
static void
body_path(const char *spool, const char *sha, char *out, size_t size)
{
	int n = snprintf(
	    out, size, "%s/bodies/%.2s/%.2s/%s.zst", spool, sha, sha + 2, sha);

	assert_true(n > 0 && (size_t)n < size);
}

/* Check that the file at path is one zstd frame of the len bytes. */
static void
assert_zstd_file(const char *path, const void *want, size_t len)
{
	size_t flen, n;
	char *data = read_file(path, SIZE_MAX, &flen);
	void *out;

	assert_non_null(data);
	assert_int_equal(ZSTD_findFrameCompressedSize(data, flen), flen);
	assert_int_equal(ZSTD_getFrameContentSize(data, flen), len);
	out = xmalloc(len + 1);
	n = ZSTD_decompress(out, len + 1, data, flen);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, len);
	assert_memory_equal(out, want, len);
	free(out);
	free(data);
}

/* Stage body, commit durably, and check the stored file. */
static void
store_and_check(
    struct spool *sp, const char *spool, const void *body, size_t len)
{
	char sha[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
	char path[PATH_MAX], err[512];

	memset(sha, 'x', sizeof(sha));
	spool_stage_body(sp, body, len, sha);
	sha256_hex_openssl(body, len, want);
	assert_string_equal(sha, want);
	if (spool_commit(sp, true, err, sizeof(err)) < 0)
		fail_msg("commit: %s", err);
	body_path(spool, sha, path, sizeof(path));
	assert_zstd_file(path, body, len);
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
	static const char *const dirs[] = {
	    "", "bodies", "events", "tmp", "confirm"};
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

/* What a crash left in tmp/. */

/* Write body, compressed, to tmp/NAME; cut keeps only its first bytes. */
static void
put_tmp_body(const char *spool, const char *name, const char *body,
    size_t cut)
{
	size_t bound = ZSTD_compressBound(strlen(body)), n;
	char path[PATH_MAX], tmp[PATH_MAX];
	void *z = xmalloc(bound);
	int fd;

	n = ZSTD_compress(z, bound, body, strlen(body), 3);
	assert_false(ZSTD_isError(n));
	if (cut > 0 && cut < n)
		n = cut;
	join(tmp, sizeof(tmp), spool, "tmp");
	join(path, sizeof(path), tmp, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, z, n), 0);
	assert_int_equal(close(fd), 0);
	free(z);
}

static void
whole_tmp_bodies_recovered(void **state)
{
	static const char whole[] = "Subject: kept\r\n\r\nwhole body\r\n";
	static const char cut[] = "Subject: cut\r\n\r\nthis one was cut "
				  "short by the crash, mid-write\r\n";
	static const char other[] = "Subject: outside\r\n\r\nnot ours\r\n";
	struct fixture *f = *state;
	char sha_whole[SHA256_HEX_LEN + 1], sha_cut[SHA256_HEX_LEN + 1];
	char sha_other[SHA256_HEX_LEN + 1], target[PATH_MAX];
	char name[128], path[PATH_MAX], tmp[PATH_MAX], err[512];
	struct spool *sp = open_or_fail(f->spool);

	spool_close(sp);
	sha256_hex_openssl(whole, strlen(whole), sha_whole);
	sha256_hex_openssl(cut, strlen(cut), sha_cut);
	snprintf(name, sizeof(name), "%s.41.7", sha_whole);
	put_tmp_body(f->spool, name, whole, 0);
	snprintf(name, sizeof(name), "%s.41.8", sha_cut);
	put_tmp_body(f->spool, name, cut, 12);
	/* A whole body under another body's hash is not that body. */
	snprintf(name, sizeof(name), "%s.41.9", sha_cut);
	put_tmp_body(f->spool, name, whole, 0);
	put_tmp_body(f->spool, "stray", whole, 0);
	/* A link, even to a whole body, is not followed. */
	join(target, sizeof(target), f->base, "tmp");
	assert_int_equal(mkdir(target, 0700), 0);
	put_tmp_body(f->base, "elsewhere", other, 0);
	sha256_hex_openssl(other, strlen(other), sha_other);
	snprintf(name, sizeof(name), "%s.41.10", sha_other);
	join(tmp, sizeof(tmp), f->spool, "tmp");
	join(path, sizeof(path), tmp, name);
	join(target, sizeof(target), f->base, "tmp/elsewhere");
	assert_int_equal(symlink(target, path), 0);

	/* The first commit recovers them, after the daemon's drop to its user. */
	sp = open_or_fail(f->spool);
	body_path(f->spool, sha_whole, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	spool_stage_event(sp, "{}\n", 3);
	if (spool_commit(sp, true, err, sizeof(err)) < 0)
		fail_msg("commit: %s", err);
	assert_zstd_file(path, whole, strlen(whole));
	body_path(f->spool, sha_cut, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	body_path(f->spool, sha_other, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(target, F_OK), 0);
	assert_int_equal(count_entries(tmp), 0);
	spool_close(sp);
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
	char path[PATH_MAX], tmp[PATH_MAX], err[512];
	struct spool *sp = open_or_fail(f->spool);

	join(tmp, sizeof(tmp), f->spool, "tmp");
	assert_false(spool_has_staged(sp));
	spool_stage_body(sp, body, sizeof(body) - 1, sha);
	sha256_hex_openssl(body, sizeof(body) - 1, want);
	assert_string_equal(sha, want);
	assert_true(spool_has_staged(sp));

	/* Staged, not yet stored: the body is only in memory. */
	body_path(f->spool, sha, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_entries(tmp), 0);

	if (spool_commit(sp, true, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_false(spool_has_staged(sp));
	assert_zstd_file(path, body, sizeof(body) - 1);
	assert_int_equal(count_entries(tmp), 0);
	spool_close(sp);
}

static void
empty_body_stored(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct spool *sp = open_or_fail(f->spool);

	store_and_check(sp, f->spool, "", 0);
	/* The SHA-256 of the empty string. */
	body_path(f->spool,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
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
	char bodies[PATH_MAX], tmp[PATH_MAX], stored[PATH_MAX], err[512];
	struct stat before, after;
	struct spool *sp = open_or_fail(f->spool);

	join(bodies, sizeof(bodies), f->spool, "bodies");
	join(tmp, sizeof(tmp), f->spool, "tmp");
	sha256_hex_openssl(a, sizeof(a) - 1, sha1);
	body_path(f->spool, sha1, stored, sizeof(stored));

	/* Twice in one batch: stored once. */
	spool_stage_body(sp, a, sizeof(a) - 1, sha1);
	spool_stage_body(sp, a, sizeof(a) - 1, sha2);
	assert_string_equal(sha1, sha2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(count_files_under(bodies), 1);
	assert_int_equal(count_entries(tmp), 0);

	/* Again after it is stored: the stored file stays as it is. */
	assert_int_equal(count_entries(tmp), 0);
	assert_int_equal(stat(stored, &before), 0);
	spool_stage_body(sp, a, sizeof(a) - 1, sha2);
	assert_string_equal(sha1, sha2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(count_files_under(bodies), 1);
	assert_int_equal(count_entries(tmp), 0);
	assert_int_equal(stat(stored, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);

	/* A different body is a second file. */
	store_and_check(sp, f->spool, b, sizeof(b) - 1);
	assert_int_equal(count_files_under(bodies), 2);
	spool_close(sp);

	/* A new spool_open() still finds the stored body. */
	sp = open_or_fail(f->spool);
	spool_stage_body(sp, a, sizeof(a) - 1, sha2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	assert_int_equal(count_files_under(bodies), 2);
	assert_int_equal(stat(stored, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
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
	char sha[SHA256_HEX_LEN + 1], line[128], path[PATH_MAX], err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t len;
	char *data;

	spool_stage_body(sp, body, sizeof(body) - 1, sha);
	snprintf(line, sizeof(line), "{\"message.sha256\":\"%s\"}\n", sha);
	spool_stage_event(sp, line, strlen(line));

	/* A body forces a durable commit, even when not requested. */
	assert_int_equal(spool_commit(sp, false, err, sizeof(err)), 0);
	body_path(f->spool, sha, path, sizeof(path));
	assert_zstd_file(path, body, sizeof(body) - 1);
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
commit_fails_without_tmp(void **state)
{
	struct fixture *f = *state;
	char tmp[PATH_MAX], events[PATH_MAX], sha[SHA256_HEX_LEN + 1];
	char err[512];
	struct spool *sp = open_or_fail(f->spool);

	join(tmp, sizeof(tmp), f->spool, "tmp");
	join(events, sizeof(events), f->spool, "events");
	assert_int_equal(rmdir(tmp), 0);
	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "{}\n", 3);
	err[0] = '\0';
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), -1);
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, tmp));
	/* Neither the body nor its event is kept for a later commit. */
	assert_false(spool_has_staged(sp));
	assert_int_equal(count_entries(events), 0);
	spool_close(sp);
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

static void
commit_fails_bodies_not_dir(void **state)
{
	struct fixture *f = *state;
	char bodies[PATH_MAX], tmp[PATH_MAX], events[PATH_MAX];
	char sha[SHA256_HEX_LEN + 1], err[512];
	struct spool *sp = open_or_fail(f->spool);
	int fd;

	join(bodies, sizeof(bodies), f->spool, "bodies");
	join(tmp, sizeof(tmp), f->spool, "tmp");
	join(events, sizeof(events), f->spool, "events");
	assert_int_equal(rmdir(bodies), 0);
	fd = open(bodies, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);

	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "{}\n", 3);
	err[0] = '\0';
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), -1);
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, bodies));

	/* No event for a body that was not stored, and tmp/ is cleaned. */
	assert_false(spool_has_staged(sp));
	assert_int_equal(count_entries(events), 0);
	assert_int_equal(count_entries(tmp), 0);
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

static void
confirmed_files_removed(void **state)
{
	struct fixture *f = *state;
	char closed[64], open_name[64], sha[SHA256_HEX_LEN + 1];
	char list[2048], path[PATH_MAX], body[PATH_MAX], err[512];
	char secret[PATH_MAX], confirm[PATH_MAX], events[PATH_MAX];
	struct spool *sp = open_or_fail(f->spool);

	/* A closed events file, a stored body and the open events file. */
	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "a\n", 2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(closed, spool_events_name(sp), sizeof(closed));
	spool_close(sp);
	sp = open_or_fail(f->spool);
	spool_stage_event(sp, "b\n", 2);
	assert_int_equal(spool_commit(sp, true, err, sizeof(err)), 0);
	strlcpy_(open_name, spool_events_name(sp), sizeof(open_name));

	snprintf(list, sizeof(list),
	    "events/%s\r\n"
	    "events/%s\n"
	    "bodies/%.2s/%.2s/%s.zst\n"
	    "secret\n"
	    "../spool/secret\n"
	    "events/../secret\n"
	    "bodies/../secret\n"
	    "%s/secret\n",
	    closed, open_name, sha, sha + 2, sha, f->spool);
	join(confirm, sizeof(confirm), f->spool, "confirm");
	join(path, sizeof(path), confirm, "batch.txt");
	write_file(path, list);

	assert_int_equal(spool_remove_confirmed(sp, err, sizeof(err)), 2);
	join(events, sizeof(events), f->spool, "events");
	join(path, sizeof(path), events, closed);
	assert_int_equal(access(path, F_OK), -1);
	body_path(f->spool, sha, body, sizeof(body));
	assert_int_equal(access(body, F_OK), -1);

	/* The open events file and the secret stay, and the list is gone. */
	join(path, sizeof(path), events, open_name);
	assert_int_equal(access(path, F_OK), 0);
	join(secret, sizeof(secret), f->spool, "secret");
	assert_int_equal(access(secret, F_OK), 0);
	assert_int_equal(count_entries(confirm), 0);
	spool_close(sp);
}

/* A body the server had removed is written again when sent again. */
static void
removed_body_written_again(void **state)
{
	static const char body[] = "campaign body\r\n";
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], path[PATH_MAX], list[256], err[512];
	char confirm[PATH_MAX];
	struct spool *sp = open_or_fail(f->spool);

	store_and_check(sp, f->spool, body, sizeof(body) - 1);
	sha256_hex_openssl(body, sizeof(body) - 1, sha);
	snprintf(list, sizeof(list), "bodies/%.2s/%.2s/%s.zst\n", sha,
	    sha + 2, sha);
	join(confirm, sizeof(confirm), f->spool, "confirm");
	join(path, sizeof(path), confirm, "bodies.txt");
	write_file(path, list);
	assert_int_equal(spool_remove_confirmed(sp, err, sizeof(err)), 1);
	body_path(f->spool, sha, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);

	store_and_check(sp, f->spool, body, sizeof(body) - 1);
	spool_close(sp);
}

/* A stored body whose data a crash lost is replaced by a new copy. */
static void
broken_stored_body_replaced(void **state)
{
	static const char body[] = "Subject: again\r\n\r\nsame body\r\n";
	struct fixture *f = *state;
	char sha[SHA256_HEX_LEN + 1], dir[PATH_MAX], path[PATH_MAX];
	struct spool *sp = open_or_fail(f->spool);

	sha256_hex_openssl(body, sizeof(body) - 1, sha);
	snprintf(dir, sizeof(dir), "%s/bodies/%.2s", f->spool, sha);
	assert_int_equal(mkdir(dir, 0750), 0);
	snprintf(dir, sizeof(dir), "%s/bodies/%.2s/%.2s", f->spool, sha,
	    sha + 2);
	assert_int_equal(mkdir(dir, 0750), 0);
	body_path(f->spool, sha, path, sizeof(path));
	write_file(path, "");
	store_and_check(sp, f->spool, body, sizeof(body) - 1);
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
	body_path(f->spool, sha1, path, sizeof(path));
	assert_zstd_file(path, first, sizeof(first) - 1);
	body_path(f->spool, sha2, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	data = read_events(f->spool, spool_events_name(sp), &len);
	assert_string_equal(data, line1);
	free(data);

	assert_true(spool_commit_begin(sp, true));
	wait_readable(fd);
	assert_int_equal(spool_commit_end(sp, err, sizeof(err)), 0);
	assert_zstd_file(path, second, sizeof(second) - 1);
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
	char tmp[PATH_MAX], events[PATH_MAX], sha[SHA256_HEX_LEN + 1];
	char err[512];
	struct spool *sp = open_or_fail(f->spool);
	size_t len;
	char *data;
	int fd;

	join(tmp, sizeof(tmp), f->spool, "tmp");
	join(events, sizeof(events), f->spool, "events");
	fd = spool_start_thread(sp, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	assert_int_equal(rmdir(tmp), 0);
	spool_stage_body(sp, "x", 1, sha);
	spool_stage_event(sp, "lost\n", 5);
	assert_true(spool_commit_begin(sp, true));
	wait_readable(fd);
	err[0] = '\0';
	assert_int_equal(spool_commit_end(sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, tmp));
	assert_int_equal(count_entries(events), 0);

	assert_int_equal(mkdir(tmp, 0750), 0);
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
	    TEST(whole_tmp_bodies_recovered),
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
	    TEST(commit_fails_without_tmp),
	    TEST(commit_fails_events_not_dir),
	    TEST(commit_fails_bodies_not_dir),
	    TEST(confirmed_files_removed),
	    TEST(removed_body_written_again),
	    TEST(broken_stored_body_replaced),
	    TEST(thread_commits_while_next_batch_stages),
	    TEST(thread_reports_failed_batch),
	    TEST(thread_stops_at_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
