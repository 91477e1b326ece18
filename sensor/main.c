/*
 * spampotd: the sensor daemon.  It reads its configuration, binds the
 * listeners, and serves in the foreground until SIGTERM or SIGINT.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "server.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/spampot/spampotd.conf"

static const char usage_text[] =
    "Usage: spampotd [-c FILE] [--check]\n"
    "\n"
    "A spam honeypot sensor: it poses as open SOCKS4/4a/5 and HTTP\n"
    "proxies and as an open SMTP relay, and stores every message that\n"
    "is sent through it in its spool.  It delivers none of them, and\n"
    "opens no connection, unless the relay of spammers' test messages\n"
    "(probe-relay, off by default) is turned on.\n"
    "It runs in the foreground and logs to standard error.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  read the configuration from FILE\n"
    "                     (default " DEFAULT_CONFIG ")\n"
    "  -n, --check        check the configuration and the user to run\n"
    "                     as, print a summary of the listeners and\n"
    "                     exit (addresses are not bound: one in use\n"
    "                     or not on this host is found only at start)\n"
    "  -h, --help         print this help and exit\n"
    "  -V, --version      print the version and exit\n"
    "\n"
    "Signals: SIGTERM and SIGINT stop the sensor after every message\n"
    "already received has been written to the spool.\n"
    "\n"
    "Exit status: 0 after a clean stop or a valid --check, 1 when the\n"
    "configuration, spool or a listener cannot be set up, 2 on a usage\n"
    "error.  See spampotd.conf(5) and docs/spool.md.\n";

static void
print_listeners(const struct sensor_config *cfg)
{
	int i;

	printf("sensor %s, spool %s\n", cfg->name, cfg->spool);
	for (i = 0; i < cfg->nlisteners; i++) {
		const struct listener_config *l = &cfg->listeners[i];

		printf("listener %s: %s port %d, %s, service port %d\n",
		    l->name, l->address, l->port,
		    l->service == SERVICE_SMTP ? "smtp" : "proxy",
		    l->service_port);
	}
}

/*
 * What --check can tell without binding: started as root, the daemon
 * needs a user to drop to, and that user must exist.  Whether every
 * address can be bound is known only at start.
 */
static int
check_user(const struct sensor_config *cfg)
{
	if (cfg->user[0] == '\0') {
		if (geteuid() == 0) {
			fprintf(stderr,
			    "spampotd: started as root, the sensor needs "
			    "\"user\" in [sensor] to drop to\n");
			return -1;
		}
		return 0;
	}
	if (getpwnam(cfg->user) == NULL) {
		fprintf(stderr, "spampotd: user \"%s\" not found\n",
		    cfg->user);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sensor_config cfg;
	const char *path = DEFAULT_CONFIG;
	char err[1024];
	int ch, check = 0;

	progname = "spampotd";
	while ((ch = getopt_long(argc, argv, "c:nhV", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("spampotd %s\n", SPAMPOT_VERSION_STRING);
			return 0;
		default:
			fputs("Try 'spampotd --help' for more information.\n",
			    stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "spampotd: unexpected argument \"%s\"\n%s",
		    argv[optind],
		    "Try 'spampotd --help' for more information.\n");
		return 2;
	}
	if (config_load(path, &cfg, err, sizeof(err)) < 0)
		fatal(1, "%s", err);
	if (check) {
		if (check_user(&cfg) < 0)
			return 1;
		print_listeners(&cfg);
		return 0;
	}
	return server_run(&cfg);
}
