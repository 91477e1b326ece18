/* The daemon's entry point after configuration. */
#ifndef SPAMPOT_SERVER_H
#define SPAMPOT_SERVER_H

#include "config.h"
#include "version.h"

#define SPAMPOT_VERSION_STRING SPAMPOT_VERSION

/*
 * Listen, serve until SIGTERM or SIGINT; returns the exit status.
 * max_connections may be lowered to fit the descriptor limit.
 */
int server_run(struct sensor_config *cfg);

#endif
