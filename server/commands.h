/*
 * The subcommands of spampot(1).  Each takes the arguments after its
 * own name (argv[0] is the subcommand) and returns the exit status.
 */
#ifndef SPAMPOT_COMMANDS_H
#define SPAMPOT_COMMANDS_H

int cmd_ingest(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_fingerprint(int argc, char **argv);
int cmd_web(int argc, char **argv);
int cmd_reclassify(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
