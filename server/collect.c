/*
 * spampot collect: pull every configured sensor's spool with rsync over
 * ssh into a local mirror, ingest what is new, and optionally tell each
 * sensor which files the server now holds.
 *
 * The server opens every connection; a sensor needs only sshd and read
 * access to its spool.  Pulls run as child processes, at most
 * `parallel` at once, each with its own deadline, so that one slow or
 * dead sensor holds up no other.  Ingest and the database stay in this
 * process, one sensor at a time, as each pull ends.
 *
 * What comes back from a sensor is trusted no more than the sensor.
 * File names in rsync's listing are checked against the spool's naming
 * before they are used.  A pack of bodies is confirmed only after
 * every record's decompressed bytes hash to the SHA-256 its header
 * names.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bodypack.h"
#include "collector.h"
#include "commands.h"
#include "db.h"
#include "enrich.h"
#include "ingest.h"
#include "spampot_limits.h"
#include "util.h"

/* Seconds a child has after SIGTERM before it is killed outright. */
#define KILL_GRACE_S 5

/* How often the scheduler looks at its children, in milliseconds. */
#define POLL_MS 50

/* Partial files of an interrupted pull, kept per directory for resuming. */
#define PARTIAL_DIR ".rsync-partial"

/*
 * What one pull takes from a spool: events files, packs of bodies and
 * the heartbeat.  The secret, the TLS key, confirm/ and anything else
 * stay behind.
 */
static const char *const pull_filter[] = {
    "--exclude=.*",
    "--include=/heartbeat.json",
    "--include=/events/",
    "--include=/events/*.jsonl",
    "--include=/bodies/",
    "--include=/bodies/*.pack",
    "--exclude=*",
};

/*
 * A sensor's progress through one run.  A pull or push is a child
 * process; its exit moves the job on.
 */
enum job_state {
	JOB_WAITING,
	JOB_PULLING,
	JOB_PUSHING,
	JOB_FINISHED,
};

static const char *const state_names[] = {
    [JOB_WAITING] = "waiting",
    [JOB_PULLING] = "pulling",
    [JOB_PUSHING] = "pushing",
    [JOB_FINISHED] = "finished",
};

/* Outcomes, as recorded in collect_attempt.outcome. */
enum outcome {
	OUT_OK,
	OUT_BUSY,
	OUT_TRANSFER_FAILED,
	OUT_TIMEOUT,
	OUT_INGEST_FAILED,
	OUT_CONFIRM_FAILED,
};

static const char *const outcome_names[] = {
    [OUT_OK] = "ok",
    [OUT_BUSY] = "busy",
    [OUT_TRANSFER_FAILED] = "transfer-failed",
    [OUT_TIMEOUT] = "timeout",
    [OUT_INGEST_FAILED] = "ingest-failed",
    [OUT_CONFIRM_FAILED] = "confirm-failed",
};

struct job {
	const struct sensor_conf *sensor;
	enum job_state state;
	enum outcome outcome;
	pid_t pid;
	int lock_fd;
	int64_t start_usec;
	int64_t deadline_usec; /* of the running child */
	bool term_sent;
	char state_dir[PATH_MAX]; /* mirror/.state/NAME */
	char spool[PATH_MAX];     /* what ingest reads */
	uint64_t bytes;
	uint64_t messages;
	uint64_t confirmed;
	char error[256];
};

struct collect {
	const struct collector_conf *conf;
	struct db *db;
	struct job *jobs;
	size_t njobs;
	size_t running;
	bool verbose;
};

static void
job_set_state(const struct collect *c, struct job *job, enum job_state to)
{
	if (c->verbose)
		fprintf(stderr, "%s: %s: %s -> %s\n", progname,
		    job->sensor->name, state_names[job->state],
		    state_names[to]);
	job->state = to;
}

/* Create dir and its parents, like mkdir -p. */
static int
make_dirs(const char *dir)
{
	char path[PATH_MAX];
	char *p;

	strlcpy_(path, dir, sizeof(path));
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/*
 * Take the sensor's lock, so that two collect runs never write one
 * mirror at once.  Returns 0, 1 when another run has it, or -1.
 */
static int
job_lock(struct job *job)
{
	char path[PATH_MAX];

	bufprintf(path, sizeof(path), "%s/lock", job->state_dir);
	job->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (job->lock_fd < 0)
		return -1;
	if (flock(job->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	close(job->lock_fd);
	job->lock_fd = -1;
	return errno == EWOULDBLOCK ? 1 : -1;
}

static void job_fail(struct job *job, enum outcome outcome, const char *fmt,
    ...) PRINTF_LIKE(3, 4);

static void
job_fail(struct job *job, enum outcome outcome, const char *fmt, ...)
{
	va_list ap;

	job->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(job->error, sizeof(job->error), fmt, ap);
	va_end(ap);
}

/*
 * Run argv with standard output and error appended to files in the
 * job's state directory.  The child dies with this process (so that a
 * killed collect leaves no transfer behind) and leads its own process
 * group, so that a timeout ends rsync and the ssh it started.
 */
static pid_t
spawn(struct job *job, char *const argv[], const char *out_name)
{
	char out[PATH_MAX], errpath[PATH_MAX];
	pid_t parent = getpid(), pid;
	int fd;

	bufprintf(out, sizeof(out), "%s/%s", job->state_dir, out_name);
	bufprintf(errpath, sizeof(errpath), "%s/stderr", job->state_dir);
	if ((pid = fork()) != 0)
		return pid;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    dup2(fd, STDOUT_FILENO) < 0)
		_exit(127);
	if ((fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Build the ssh command for rsync's -e; see safe_word in collectconf.c. */
static void
ssh_command(const struct collector_conf *conf, const struct sensor_conf *s,
    char *buf, size_t size)
{
	char key[PATH_MAX + 8] = "", known[PATH_MAX + 32] = "";

	if (s->key != NULL)
		bufprintf(
		    key, sizeof(key), " -i '%s' -o IdentitiesOnly=yes", s->key);
	if (conf->known_hosts != NULL)
		bufprintf(known, sizeof(known), " -o UserKnownHostsFile='%s'",
		    conf->known_hosts);
	bufprintf(buf, size,
	    "ssh -p %d%s -o BatchMode=yes -o StrictHostKeyChecking=%s%s"
	    " -o ConnectTimeout=%d -o ServerAliveInterval=15"
	    " -o ServerAliveCountMax=2",
	    s->port, key, conf->host_key_check, known, conf->connect_timeout);
}

/* "[user@]host:path" with suffix appended to the path. */
static void
remote_spec(
    const struct sensor_conf *s, const char *suffix, char *buf, size_t size)
{
	bufprintf(buf, size, "%s%s%s:%s%s", s->user ? s->user : "",
	    s->user ? "@" : "", s->host, s->path, suffix);
}

/*
 * The argument vector shared by pull and push, up to the paths; the
 * caller appends the rest.  Strings live in store.
 */
struct argv_buf {
	char *argv[48];
	size_t argc;
	char store[6][PATH_MAX + 256];
};

static void
argv_add(struct argv_buf *a, const char *arg)
{
	if (a->argc + 1 >= NELEM(a->argv))
		abort(); /* the vectors are ours and fixed */
	a->argv[a->argc++] = (char *)arg;
	a->argv[a->argc] = NULL;
}

static void
rsync_common(const struct collector_conf *conf, const struct sensor_conf *s,
    struct argv_buf *a)
{
	a->argc = 0;
	argv_add(a, "rsync");
	/* Paths go to the remote side unsplit by its shell. */
	argv_add(a, "--protect-args");
	bufprintf(
	    a->store[0], sizeof(a->store[0]), "--timeout=%d", conf->io_timeout);
	argv_add(a, a->store[0]);
	if (conf->bwlimit_kbps > 0) {
		bufprintf(a->store[1], sizeof(a->store[1]), "--bwlimit=%d",
		    conf->bwlimit_kbps);
		argv_add(a, a->store[1]);
	}
	argv_add(a, "-e");
	ssh_command(conf, s, a->store[2], sizeof(a->store[2]));
	argv_add(a, a->store[2]);
}

static int
start_pull(struct collect *c, struct job *job)
{
	const struct sensor_conf *s = job->sensor;
	struct argv_buf a;
	size_t i;

	if (make_dirs(job->spool) < 0) {
		job_fail(job, OUT_TRANSFER_FAILED, "cannot create %s: %s",
		    job->spool, strerror(errno));
		return -1;
	}
	rsync_common(c->conf, s, &a);
	argv_add(&a, "--archive");
	/* Only regular files: a link or a FIFO from a sensor is refused. */
	argv_add(&a, "--no-links");
	argv_add(&a, "--no-specials");
	argv_add(&a, "--no-devices");
	argv_add(&a, "--partial-dir=" PARTIAL_DIR);
	/*
	 * Flush each file pulled to disk.  Confirmation takes zeros at the
	 * end of a mirrored file for blocks that a sensor crash kept from
	 * the sensor's disk.  Zeros that a crash of this server left in an
	 * unflushed copy would look the same, and confirming that copy
	 * would remove the sensor's good one.
	 */
	argv_add(&a, "--fsync");
	/* Every file, changed or not, so the listing is the whole spool. */
	argv_add(&a, "--itemize-changes");
	argv_add(&a, "--itemize-changes");
	argv_add(&a, "--out-format=%i %l %n");
	argv_add(&a, "--stats");
	for (i = 0; i < NELEM(pull_filter); i++)
		argv_add(&a, pull_filter[i]);
	remote_spec(s, "/", a.store[3], sizeof(a.store[3]));
	argv_add(&a, a.store[3]);
	bufprintf(a.store[4], sizeof(a.store[4]), "%s/", job->spool);
	argv_add(&a, a.store[4]);
	if ((job->pid = spawn(job, a.argv, "listing")) < 0) {
		job_fail(job, OUT_TRANSFER_FAILED, "fork: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
start_push(struct collect *c, struct job *job)
{
	const struct sensor_conf *s = job->sensor;
	struct argv_buf a;
	char suffix[SENSOR_NAME_MAX + 16];

	rsync_common(c->conf, s, &a);
	bufprintf(
	    a.store[3], sizeof(a.store[3]), "%s/confirm.txt", job->state_dir);
	argv_add(&a, a.store[3]);
	/* rsync writes a dot file and renames it: never a partial list. */
	bufprintf(suffix, sizeof(suffix), "/confirm/%s.txt", s->name);
	remote_spec(s, suffix, a.store[4], sizeof(a.store[4]));
	argv_add(&a, a.store[4]);
	if ((job->pid = spawn(job, a.argv, "push-output")) < 0) {
		job_fail(job, OUT_CONFIRM_FAILED, "fork: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* rsync's exit statuses (rsync(1), EXIT VALUES) that we explain. */
static const struct {
	int status;
	const char *meaning;
} rsync_exits[] = {
    {5, "error starting the client-server protocol"},
    {10, "error in socket I/O"},
    {11, "error in file I/O"},
    {12, "error in the rsync protocol data stream"},
    {20, "received SIGUSR1 or SIGINT"},
    {23, "partial transfer due to error"},
    {30, "timeout in data send or receive"},
    {35, "timeout waiting for the daemon connection"},
    {127, "rsync not found"},
    {255, "ssh failed"},
};

/*
 * First line of the child's standard error, made printable.  rsync
 * prints the cause first (ssh's own message, say) and a summary last.
 */
static void
first_error_line(const struct job *job, char *buf, size_t size)
{
	char path[PATH_MAX], head[512];
	ssize_t n;
	char *p;
	int fd;

	buf[0] = '\0';
	bufprintf(path, sizeof(path), "%s/stderr", job->state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n <= 0)
		return;
	head[n] = '\0';
	p = head + strspn(head, "\r\n");
	p[strcspn(p, "\r\n")] = '\0';
	/* The remote side wrote part of this: keep it to plain ASCII. */
	for (char *q = p; *q != '\0'; q++)
		if (*q < 0x20 || *q > 0x7e)
			*q = '?';
	bufprintf(buf, size, "%s", p);
}

static void
describe_exit(const struct job *job, int status, char *buf, size_t size)
{
	const char *meaning = "";
	char line[256];
	size_t i;

	first_error_line(job, line, sizeof(line));
	if (WIFSIGNALED(status)) {
		bufprintf(buf, size, "rsync killed by signal %d%s%s",
		    WTERMSIG(status), line[0] ? ": " : "", line);
		return;
	}
	for (i = 0; i < NELEM(rsync_exits); i++)
		if (rsync_exits[i].status == WEXITSTATUS(status))
			meaning = rsync_exits[i].meaning;
	bufprintf(buf, size, "rsync exited with status %d%s%s%s%s%s",
	    WEXITSTATUS(status), meaning[0] ? " (" : "", meaning,
	    meaning[0] ? ")" : "", line[0] ? ": " : "", line);
}

/* "Total bytes received: 1,234" from --stats, commas or not. */
static uint64_t
parse_bytes_received(const char *line)
{
	static const char prefix[] = "Total bytes received: ";
	uint64_t n = 0;
	const char *p;

	if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	for (p = line + sizeof(prefix) - 1; *p != '\0'; p++) {
		if (*p == ',' || *p == '.')
			continue;
		if (*p < '0' || *p > '9' || n > UINT64_MAX / 10)
			break;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	return n;
}

/* Entries of the pull's listing that confirm may name. */
struct entry {
	char path[96]; /* events/NAME.jsonl or bodies/NAME.pack */
	uint64_t size;
};

struct listing {
	struct entry *items;
	size_t n, cap;
	char newest_events[96];
};

static bool
all_in(const char *s, size_t n, const char *set)
{
	return strspn(s, set) >= n;
}

/* The sensor's names: events/NAME.jsonl and bodies/NAME.pack. */
static bool
valid_spool_path(const char *p)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = strlen(p);

	if (strncmp(p, "events/", 7) == 0)
		return n > 7 + 6 && n < 80 && p[7] != '.' &&
		    strcmp(p + n - 6, ".jsonl") == 0 &&
		    all_in(p + 7, n - 7, safe);
	return strncmp(p, "bodies/", 7) == 0 && pack_name_valid(p + 7);
}

/*
 * Compare two events/NAME.jsonl paths by when the sensor opened them.
 * The sensor names a file YYYYMMDDTHHMMSS.jsonl, and a later one opened
 * in the same second YYYYMMDDTHHMMSS-N.jsonl.  String order would put
 * "-1.jsonl" before ".jsonl", and "-10" before "-9".  Other names,
 * which no sensor makes, fall back to string order.
 */
static int
events_order(const char *a, const char *b)
{
	const size_t stamp = strlen("events/") + 15;
	long na = 0, nb = 0;
	int c;

	if (strlen(a) <= stamp || strlen(b) <= stamp ||
	    (c = strncmp(a, b, stamp)) != 0)
		return strcmp(a, b);
	if (a[stamp] == '-')
		na = strtol(a + stamp + 1, NULL, 10);
	if (b[stamp] == '-')
		nb = strtol(b + stamp + 1, NULL, 10);
	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp(a, b);
}

/*
 * Parse one line of the listing, "%i %l %n": the item's change flags,
 * its length and its name.  Keeps regular files with a valid name.
 */
static void
listing_add_line(struct listing *l, const char *line, uint64_t *bytes)
{
	unsigned long long size;
	char name[96];
	int used = 0;

	if (strncmp(line, "Total bytes received: ", 22) == 0) {
		*bytes = parse_bytes_received(line);
		return;
	}
	if (strlen(line) < 14 || line[1] != 'f' || line[11] != ' ')
		return;
	if (sscanf(line + 12, "%llu %n", &size, &used) != 1 || used == 0)
		return;
	if (strlen(line + 12 + used) >= sizeof(name))
		return;
	strlcpy_(name, line + 12 + used, sizeof(name));
	if (!valid_spool_path(name))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	strlcpy_(l->items[l->n].path, name, sizeof(l->items[l->n].path));
	l->items[l->n].size = size;
	l->n++;
	if (name[0] == 'e' && (l->newest_events[0] == '\0' ||
	    events_order(name, l->newest_events) > 0))
		strlcpy_(l->newest_events, name, sizeof(l->newest_events));
}

static int
read_listing(const struct job *job, struct listing *l, uint64_t *bytes)
{
	char path[PATH_MAX], line[PATH_MAX + 64];
	FILE *fp;

	memset(l, 0, sizeof(*l));
	bufprintf(path, sizeof(path), "%s/listing", job->state_dir);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n = strlen(line);

		if (n == 0 || line[n - 1] != '\n') {
			/* Overlong: skip to its end; no valid name is. */
			int ch;

			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			continue;
		}
		line[n - 1] = '\0';
		listing_add_line(l, line, bytes);
	}
	fclose(fp);
	return 0;
}

/* The events file the heartbeat names as open, as "events/NAME". */
static void
heartbeat_current(const char *spool, char *buf, size_t size)
{
	char path[PATH_MAX];
	const char *cur;
	json_t *root;
	size_t len;
	char *text;

	buf[0] = '\0';
	bufprintf(path, sizeof(path), "%s/heartbeat.json", spool);
	if ((text = read_file(path, HEARTBEAT_FILE_MAX, &len)) == NULL)
		return;
	root = json_loadb(text, len, 0, NULL);
	free(text);
	if (root == NULL)
		return;
	cur = json_string_value(json_object_get(root, "events.current"));
	if (cur != NULL) {
		const char *slash = strrchr(cur, '/');

		bufprintf(buf, size, "events/%s", slash ? slash + 1 : cur);
	}
	json_decref(root);
}

/*
 * Return true when bytes from..size of the file at path hold no line
 * end: the cut last line that a sensor crash leaves, or the zeros of
 * blocks that never reached the disk.
 */
static bool
cut_line_only(const char *path, uint64_t from, uint64_t size)
{
	char buf[65536];
	bool cut = true;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	while (cut && from < size) {
		n = pread(fd, buf, sizeof(buf), (off_t)from);
		if (n <= 0)
			cut = false;
		else if (memchr(buf, '\n', (size_t)n) != NULL)
			cut = false;
		else
			from += (uint64_t)n;
	}
	close(fd);
	return cut;
}

/*
 * Return true when the mirror's events file, a closed one, was ingested
 * to its last line end.  A sensor never writes again to a closed file, so what
 * follows that line end was cut by a crash.  The batch it belonged to
 * was never acknowledged, so confirming the file loses no message.
 */
static bool
events_ingested(struct collect *c, const struct job *job, const struct entry *e)
{
	char path[PATH_MAX], key[PATH_MAX];
	uint64_t read_to;
	sqlite3_stmt *st;
	struct stat sb;
	bool done = false;

	bufprintf(path, sizeof(path), "%s/%s", job->spool, e->path);
	if (stat(path, &sb) < 0 || (uint64_t)sb.st_size != e->size ||
	    realpath(path, key) == NULL)
		return false;
	st = db_stmt(c->db, STMT_FILE_FIND);
	db_bind_text(st, 1, key);
	if (sqlite3_step(st) == SQLITE_ROW) {
		read_to = (uint64_t)sqlite3_column_int64(st, 0);
		done = read_to == e->size ||
		    (read_to < e->size && cut_line_only(path, read_to, e->size));
		if (done && read_to < e->size)
			fprintf(stderr,
			    "%s: %s: %s: %" PRIu64 " bytes after the last "
			    "line end, cut by a crash, were not ingested\n",
			    progname, job->sensor->name, e->path,
			    e->size - read_to);
	}
	sqlite3_reset(st);
	return done;
}

/* Whether events/NAME.jsonl is closed: not the open file, and older. */
static bool
events_closed(
    const char *events_path, const struct listing *l, const char *current)
{
	return current[0] != '\0' && strcmp(events_path, current) != 0 &&
	    events_order(events_path, l->newest_events) < 0;
}

static int
record_verified(const struct pack_record *r, void *arg)
{
	const int *fd = arg;

	return pack_record_verified(*fd, r) ? 0 : 1;
}

/*
 * Return true when the mirror's pack, a closed one, has the listed
 * size, was indexed to its last whole record, and every record's body
 * has the SHA-256 its header names.  Bytes after the last whole record
 * that pack_scan() reports as cut were left by a crash mid-append: the
 * message whose body they began was never acknowledged.
 */
static bool
pack_confirmable(struct collect *c, const struct job *job, const struct entry *e)
{
	char path[PATH_MAX], key[PATH_MAX];
	uint64_t indexed = 0, pos = 0;
	sqlite3_stmt *st;
	struct stat sb;
	bool cut = false;
	int fd, rc;

	bufprintf(path, sizeof(path), "%s/%s", job->spool, e->path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return false;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size != e->size || realpath(path, key) == NULL) {
		close(fd);
		return false;
	}
	/* A pack that ingest never read has no row: nothing indexed. */
	st = db_stmt(c->db, STMT_FILE_FIND);
	db_bind_text(st, 1, key);
	if (sqlite3_step(st) == SQLITE_ROW)
		indexed = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	rc = pack_scan(fd, &pos, e->size, record_verified, &fd, &cut);
	close(fd);
	if (rc != 0 || pos != indexed || (pos < e->size && !cut))
		return false;
	if (pos < e->size)
		fprintf(stderr,
		    "%s: %s: %s: %" PRIu64 " bytes after the last whole "
		    "record, cut by a crash, were not indexed\n",
		    progname, job->sensor->name, e->path, e->size - pos);
	return true;
}

static bool
confirmable(struct collect *c, const struct job *job, const struct entry *e,
    const struct listing *l, const char *current)
{
	char events[96];
	const char *name;

	if (e->path[0] == 'e')
		return events_closed(e->path, l, current) &&
		    events_ingested(c, job, e);
	/* bodies/NAME.pack closes with events/NAME.jsonl. */
	name = e->path + strlen("bodies/");
	bufprintf(events, sizeof(events), "events/%.*s.jsonl",
	    (int)(strlen(name) - strlen(".pack")), name);
	return events_closed(events, l, current) &&
	    pack_confirmable(c, job, e);
}

/*
 * Write state_dir/confirm.txt: the files in this pull's listing of
 * which the server has a complete, checked copy.  Returns the number listed, or
 * -1.
 */
static int64_t
write_confirm_list(struct collect *c, struct job *job, const struct listing *l)
{
	char path[PATH_MAX], current[96];
	uint64_t written = 0;
	int64_t count = 0;
	size_t i;
	FILE *fp;

	heartbeat_current(job->spool, current, sizeof(current));
	bufprintf(path, sizeof(path), "%s/confirm.txt", job->state_dir);
	if ((fp = fopen(path, "we")) == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		const struct entry *e = &l->items[i];

		/* The sensor reads no more; the rest waits for next time. */
		if (written + sizeof(e->path) > CONFIRM_FILE_MAX)
			break;
		if (!confirmable(c, job, e, l, current))
			continue;
		fprintf(fp, "%s\n", e->path);
		written += strlen(e->path) + 1;
		count++;
	}
	if (fclose(fp) != 0)
		return -1;
	return count;
}

static void
job_ingest(struct collect *c, struct job *job)
{
	struct ingest_options opts = {
	    .sensor = job->sensor->name, .log = stderr};
	struct ingest_stats stats;
	char err[512];

	memset(&stats, 0, sizeof(stats));
	if (ingest_spool(c->db, job->spool, &opts, &stats, err, sizeof(err)) <
	    0) {
		job_fail(job, OUT_INGEST_FAILED, "ingest: %s", err);
		return;
	}
	job->messages = stats.messages;
}

/*
 * Ingest after a pull that exited with status, then push the confirm
 * list when confirm is on and the list is not empty.
 */
static void
pull_done(struct collect *c, struct job *job, int status)
{
	struct listing l;
	int64_t count;

	/* 24: a file vanished mid-pull, as a confirmed one may. */
	if (!WIFEXITED(status) ||
	    (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 24)) {
		describe_exit(job, status, job->error, sizeof(job->error));
		if (job->outcome == OUT_TIMEOUT)
			job_fail(job, OUT_TIMEOUT,
			    "no end within transfer-timeout = %d s",
			    c->conf->transfer_timeout);
		else
			job->outcome = OUT_TRANSFER_FAILED;
		job_set_state(c, job, JOB_FINISHED);
		return;
	}
	if (read_listing(job, &l, &job->bytes) < 0) {
		job_fail(job, OUT_TRANSFER_FAILED, "cannot read the listing");
		job_set_state(c, job, JOB_FINISHED);
		return;
	}
	job_ingest(c, job);
	if (job->outcome != OUT_OK || !job->sensor->confirm) {
		free(l.items);
		job_set_state(c, job, JOB_FINISHED);
		return;
	}
	count = write_confirm_list(c, job, &l);
	free(l.items);
	if (count < 0) {
		job_fail(job, OUT_CONFIRM_FAILED,
		    "cannot write the confirm list: %s", strerror(errno));
	} else if (count > 0) {
		job->confirmed = (uint64_t)count;
		if (start_push(c, job) == 0) {
			job->deadline_usec = now_usec() +
			    (int64_t)c->conf->transfer_timeout * 1000000;
			job->term_sent = false;
			job_set_state(c, job, JOB_PUSHING);
			return;
		}
	}
	job_set_state(c, job, JOB_FINISHED);
}

static void
push_done(struct collect *c, struct job *job, int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		job->outcome = OUT_CONFIRM_FAILED;
		describe_exit(job, status, job->error, sizeof(job->error));
		job->confirmed = 0;
	}
	job_set_state(c, job, JOB_FINISHED);
}

static void
record_attempt(struct collect *c, const struct job *job)
{
	int64_t duration_ms = (now_usec() - job->start_usec) / 1000;
	sqlite3_stmt *st;
	char start[32];

	format_rfc3339(job->start_usec, start);
	if (sqlite3_prepare_v2(db_handle(c->db),
		"INSERT INTO collect_attempt(sensor, start_time, duration_ms,"
		" outcome, bytes, messages, confirmed, error)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		-1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s: failed to record the attempt: %s\n",
		    progname, job->sensor->name, db_error(c->db));
		return;
	}
	db_bind_text(st, 1, job->sensor->name);
	db_bind_text(st, 2, start);
	sqlite3_bind_int64(st, 3, duration_ms);
	db_bind_text(st, 4, outcome_names[job->outcome]);
	sqlite3_bind_int64(st, 5, (int64_t)job->bytes);
	sqlite3_bind_int64(st, 6, (int64_t)job->messages);
	sqlite3_bind_int64(st, 7, (int64_t)job->confirmed);
	db_bind_text(st, 8, job->error[0] ? job->error : NULL);
	if (sqlite3_step(st) != SQLITE_DONE)
		fprintf(stderr, "%s: %s: failed to record the attempt: %s\n",
		    progname, job->sensor->name, db_error(c->db));
	sqlite3_finalize(st);
}

static void
job_finish(struct collect *c, struct job *job)
{
	double seconds = (double)(now_usec() - job->start_usec) / 1e6;

	record_attempt(c, job);
	if (job->lock_fd >= 0)
		close(job->lock_fd);
	job->lock_fd = -1;
	if (job->outcome == OUT_OK)
		printf("%s: ok: %llu bytes, %llu new messages, %llu files"
		       " confirmed, %.1f s\n",
		    job->sensor->name, (unsigned long long)job->bytes,
		    (unsigned long long)job->messages,
		    (unsigned long long)job->confirmed, seconds);
	else
		printf("%s: %s after %.1f s: %s; retried at the next run\n",
		    job->sensor->name, outcome_names[job->outcome], seconds,
		    job->error);
	fflush(stdout);
}

/* Lock, then pull a remote sensor or ingest a local one in place. */
static void
job_start(struct collect *c, struct job *job)
{
	int rc;

	job->start_usec = now_usec();
	job->outcome = OUT_OK;
	if (make_dirs(job->state_dir) < 0) {
		job_fail(job, OUT_TRANSFER_FAILED, "cannot create %s: %s",
		    job->state_dir, strerror(errno));
	} else if ((rc = job_lock(job)) != 0) {
		job_fail(job, rc > 0 ? OUT_BUSY : OUT_TRANSFER_FAILED,
		    rc > 0 ? "another collect run holds %s/lock"
			   : "cannot lock %s/lock",
		    job->state_dir);
	} else if (!sensor_is_remote(job->sensor)) {
		job_ingest(c, job);
	} else if (start_pull(c, job) == 0) {
		job->deadline_usec =
		    now_usec() + (int64_t)c->conf->transfer_timeout * 1000000;
		job->term_sent = false;
		job_set_state(c, job, JOB_PULLING);
		c->running++;
		return;
	}
	job_set_state(c, job, JOB_FINISHED);
	job_finish(c, job);
}

static struct job *
job_by_pid(struct collect *c, pid_t pid)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i].pid == pid &&
		    (c->jobs[i].state == JOB_PULLING ||
			c->jobs[i].state == JOB_PUSHING))
			return &c->jobs[i];
	return NULL;
}

static void
reap(struct collect *c)
{
	struct job *job;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((job = job_by_pid(c, pid)) == NULL)
			continue;
		job->pid = 0;
		if (job->state == JOB_PULLING)
			pull_done(c, job, status);
		else
			push_done(c, job, status);
		if (job->state == JOB_FINISHED) {
			c->running--;
			job_finish(c, job);
		}
	}
}

/* Ask an overdue child to stop, then make it. */
static void
enforce_deadlines(struct collect *c)
{
	int64_t now = now_usec();
	size_t i;

	for (i = 0; i < c->njobs; i++) {
		struct job *job = &c->jobs[i];

		if (job->pid <= 0 || now < job->deadline_usec)
			continue;
		if (!job->term_sent) {
			job->outcome = OUT_TIMEOUT;
			kill(-job->pid, SIGTERM);
			job->term_sent = true;
			job->deadline_usec = now + KILL_GRACE_S * 1000000LL;
		} else {
			kill(-job->pid, SIGKILL);
		}
	}
}

static void
run_jobs(struct collect *c)
{
	const struct timespec tick = {0, POLL_MS * 1000000L};
	size_t next = 0, finished;

	for (;;) {
		while (
		    next < c->njobs && c->running < (size_t)c->conf->parallel)
			job_start(c, &c->jobs[next++]);
		reap(c);
		enforce_deadlines(c);
		finished = 0;
		for (size_t i = 0; i < c->njobs; i++)
			finished += c->jobs[i].state == JOB_FINISHED;
		if (finished == c->njobs)
			return;
		nanosleep(&tick, NULL);
	}
}

static const char collect_usage[] =
    "usage: spampot collect [--config FILE] [--verbose]\n";

static const char collect_help[] =
    "\n"
    "Pull each configured sensor's spool (events, bodies, heartbeat)\n"
    "with rsync over ssh into MIRROR/NAME, several sensors at once,\n"
    "and ingest what is new under the sensor's configured name.  A\n"
    "sensor with a path and no host is ingested in place.  With\n"
    "confirm = yes, each sensor is then sent confirm/NAME.txt naming\n"
    "the closed events files and packs of bodies that the server holds\n"
    "in full and has checked, which the sensor deletes; nothing else on\n"
    "a sensor is ever deleted.\n"
    "\n"
    "A sensor that cannot be reached, times out or is cut off is\n"
    "reported and tried again by the next run; the others go on.  Each\n"
    "attempt is recorded in the database (table collect_attempt).\n"
    "An interrupted run is simply run again: rsync keeps its partial\n"
    "files in .rsync-partial directories, which ingest never reads.\n"
    "\n"
    "Options:\n"
    "  --config FILE  collector configuration "
    "(default: " COLLECTOR_DEFAULT_CONFIG ")\n"
    "  --verbose      log each sensor's state changes to standard error\n"
    "  -h, --help     show this help and exit\n"
    "\n";

static const char collect_exit_help[] =
    "\n"
    "Prints one line per sensor to standard output.\n"
    "\n"
    "Exit status: 0 when every sensor was collected; 1 when any failed\n"
    "or the configuration or database is unusable; 2 on invalid\n"
    "arguments.\n";

static void
init_jobs(struct collect *c)
{
	size_t i;

	c->njobs = c->conf->nsensors;
	c->jobs = xcalloc(c->njobs, sizeof(*c->jobs));
	for (i = 0; i < c->njobs; i++) {
		struct job *job = &c->jobs[i];

		job->sensor = &c->conf->sensors[i];
		job->lock_fd = -1;
		bufprintf(job->state_dir, sizeof(job->state_dir),
		    "%s/.state/%s", c->conf->mirror, job->sensor->name);
		sensor_spool_dir(
		    c->conf, job->sensor, job->spool, sizeof(job->spool));
	}
}

static int
collect_all(const struct collector_conf *conf, bool verbose)
{
	struct collect c = {.conf = conf, .verbose = verbose};
	const char *geo = conf->geo ? conf->geo : geo_default_dir();
	const char *db_path =
	    conf->database ? conf->database : db_default_path();
	uint64_t enriched = 0;
	char err[512];
	int rc = 0;
	size_t i;

	if ((c.db = db_open(db_path, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	init_jobs(&c);
	run_jobs(&c);
	for (i = 0; i < c.njobs; i++)
		if (c.jobs[i].outcome != OUT_OK)
			rc = 1;
	if (enrich_pending(c.db, geo, stderr, &enriched, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		rc = 1;
	}
	free(c.jobs);
	db_close(c.db);
	return rc;
}

int
cmd_collect(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = COLLECTOR_DEFAULT_CONFIG;
	struct collector_conf conf;
	bool verbose = false;
	char err[512];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(collect_usage, stdout);
			fputs(collect_help, stdout);
			fputs(collector_conf_help, stdout);
			fputs(collect_exit_help, stdout);
			return 0;
		default:
			fprintf(stderr,
			    "%s: collect: invalid option or missing"
			    " argument: %s\n",
			    progname, argv[optind - 1]);
			fputs(collect_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: collect: unexpected argument: %s\n",
		    progname, argv[optind]);
		fputs(collect_usage, stderr);
		return 2;
	}
	if (collector_conf_load(config, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	rc = collect_all(&conf, verbose);
	collector_conf_free(&conf);
	return rc;
}
