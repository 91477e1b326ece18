/*
 * syncprobe: what durable storage of many small files costs on the
 * disk under a directory, flushed two ways.
 *
 * The sensor's group commit once flushed each body file with
 * fdatasync and then each body's directory with fsync, one after the
 * other, so a batch of n messages cost about 2n + 1 cache flushes.  It
 * now ends each batch with one syncfs.  This probe writes batches of
 * small files into 256 subdirectories and flushes them first the old
 * way, then with one syncfs per batch after all the renames, and
 * prints the files per second of each: what the change is worth on
 * the disk under DIR.  It is not a case of its own.
 *
 *   syncprobe DIR [BATCH [ROUNDS]]     (defaults: 100 files, 5 rounds)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bytes per file: a typical compressed spam body. */
#define FILE_BYTES 2000

#define BATCH_MAX 1000
#define SUBDIRS   256

enum flush_mode { FLUSH_EACH, FLUSH_SYNCFS, FLUSH_MODES };

static const char *const mode_names[FLUSH_MODES] = {
    [FLUSH_EACH] = "fdatasync + directory fsync per file",
    [FLUSH_SYNCFS] = "one syncfs per batch",
};

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "syncprobe: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		die(path);
	close(fd);
}

/* Write, rename and flush one batch; n numbers the files. */
static void
run_batch(const char *dir, enum flush_mode mode, int batch, int n)
{
	static char data[FILE_BYTES];
	char tmp[512], final[1024], sub[512];
	int fds[BATCH_MAX], i, fd;

	memset(data, 'x', sizeof(data));
	for (i = 0; i < batch; i++) {
		snprintf(tmp, sizeof(tmp), "%s/tmp-%d", dir, i);
		fds[i] =
		    open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fds[i] < 0 || write(fds[i], data, sizeof(data)) < 0)
			die(tmp);
	}
	for (i = 0; i < batch; i++) {
		snprintf(tmp, sizeof(tmp), "%s/tmp-%d", dir, i);
		snprintf(sub, sizeof(sub), "%s/%02x", dir, (n + i) % SUBDIRS);
		snprintf(final, sizeof(final), "%s/%d-%d", sub, mode, n + i);
		if (mode == FLUSH_EACH && fdatasync(fds[i]) < 0)
			die(tmp);
		if (rename(tmp, final) < 0)
			die(final);
		if (mode == FLUSH_EACH)
			sync_dir(sub);
		close(fds[i]);
	}
	if (mode == FLUSH_SYNCFS) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) < 0)
			die(dir);
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	char sub[512];
	int batch, rounds, r, i, n = 0;
	enum flush_mode mode;
	double t0, elapsed;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: syncprobe DIR [BATCH [ROUNDS]]\n");
		return 2;
	}
	batch = argc > 2 ? atoi(argv[2]) : 100;
	rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (batch < 1 || batch > BATCH_MAX || rounds < 1) {
		fprintf(stderr, "syncprobe: BATCH 1 to %d, ROUNDS 1 or more\n",
		    BATCH_MAX);
		return 2;
	}
	for (i = 0; i < SUBDIRS; i++) {
		snprintf(sub, sizeof(sub), "%s/%02x", argv[1], i);
		if (mkdir(sub, 0755) < 0 && errno != EEXIST)
			die(sub);
	}
	sync();
	for (mode = 0; mode < FLUSH_MODES; mode++) {
		t0 = now_sec();
		for (r = 0; r < rounds; r++, n += batch)
			run_batch(argv[1], mode, batch, n);
		elapsed = now_sec() - t0;
		printf("%s: %d files in batches of %d, %.3f s, %.0f files/s\n",
		    mode_names[mode], batch * rounds, batch, elapsed,
		    (double)(batch * rounds) / elapsed);
	}
	return 0;
}
