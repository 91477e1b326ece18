/* The daemon's entry point after configuration. */
#ifndef SPAMPOT_SERVER_H
#define SPAMPOT_SERVER_H

#include "config.h"
#include "version.h"

#define SPAMPOT_VERSION_STRING SPAMPOT_VERSION

/* Listen, serve until SIGTERM or SIGINT; returns the exit status. */
int server_run(const struct sensor_config *cfg);

#endif
