/*
 * spampot: the server side of the honeypot.  Dispatches to one command
 * per job; each command parses its own options and documents them in
 * its --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "version.h"
#include "util.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"ingest", cmd_ingest,
	"read sensor spools into the database and enrich new addresses"},
    {"collect", cmd_collect,
	"pull sensor spools over ssh, ingest them, confirm what is held"},
    {"status", cmd_status,
	"show each sensor's health: heartbeat, clock, disk, collects"},
    {"report", cmd_report,
	"print the study tables (totals, ASNs, countries, ports, days)"},
    {"replay", cmd_replay,
	"send a spam corpus to a sensor through its proxies"},
    {"fingerprint", cmd_fingerprint,
	"guess the operating system of hosts in a packet capture (p0f)"},
    {"web", cmd_web,
	"serve the dashboard: sensors, reports, charts, messages, metrics"},
    {"reclassify", cmd_reclassify,
	"match stored SYN signatures again with a newer p0f database"},
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: spampot [--help | --version] COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < NELEM(commands); i++)
		fprintf(
		    fp, "  %-11s  %s\n", commands[i].name, commands[i].summary);
	fprintf(fp,
	    "\n"
	    "Run 'spampot COMMAND --help' for the options of a command.\n"
	    "\n"
	    "Environment:\n"
	    "  SPAMPOT_DB       database file when --db is not given\n"
	    "                   (default: spampot.db in the current "
	    "directory)\n"
	    "  SPAMPOT_GEO_DIR  ip-location-db directory when --geo is not\n"
	    "                   given (default: node_modules/@ip-location-db)\n"
	    "  SPAMPOT_P0F      p0f fingerprint database when --p0f is not\n"
	    "                   given (default: /etc/p0f/p0f.fp)\n"
	    "\n"
	    "Exit status: 0 on success, 1 on failure, 2 on invalid"
	    " arguments.\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	progname = "spampot";
	/* "+": stop at the command name, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("spampot %s\n", SPAMPOT_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "%s: missing command\n", progname);
		usage(stderr);
		return 2;
	}
	for (i = 0; i < NELEM(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(argc - optind, argv + optind);
	fprintf(stderr, "%s: unknown command '%s'; run 'spampot --help'\n",
	    progname, argv[optind]);
	return 2;
}
