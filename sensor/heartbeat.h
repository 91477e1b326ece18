/*
 * The heartbeat: a small JSON file in the spool, rewritten atomically
 * every minute, from which the server tells whether a sensor is alive
 * and healthy (listeners, clock, disk, load) without asking it.
 */
#ifndef SPAMPOT_HEARTBEAT_H
#define SPAMPOT_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heartbeat_listener {
	const char *name;
	const char *address;
	int port;
	const char *service;	/* "smtp" or "proxy" */
	int service_port;
	bool accepting;		/* the socket is listening */
};

struct heartbeat {
	const char *sensor;
	const char *version;
	int64_t started_usec;
	const struct heartbeat_listener *listeners;
	int nlisteners;
	int connections;
	uint64_t messages_stored;
	uint64_t rejected;
	const char *events_file;
	bool capture_paused;	/* disk below the configured minimum */

	/* Filled by heartbeat_measure(). */
	bool clock_synchronized;
	int64_t clock_esterror_us;
	int64_t clock_maxerror_us;
	uint64_t disk_free_bytes;
	uint64_t disk_total_bytes;
	double load[3];
};

/* Open /proc/loadavg while it is reachable, before a chroot. */
void heartbeat_open_proc(void);

/* Read the clock state (adjtimex), the spool's disk and the load. */
void heartbeat_measure(struct heartbeat *hb, const char *spool_dir);

/* Free bytes for unprivileged writers on the spool's file system. */
int disk_free(const char *dir, uint64_t *free_bytes, uint64_t *total_bytes);

/* Write spool_dir/heartbeat.json through a temporary file and rename. */
int heartbeat_write(const char *spool_dir, const struct heartbeat *hb,
    char *err, size_t errlen);

#endif
