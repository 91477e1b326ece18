/* Heartbeat measurements and the atomic write; see heartbeat.h. */
#include "heartbeat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include "jsonw.h"
#include "util.h"

/* Room for the heartbeat with LISTENERS_MAX listeners. */
#define HEARTBEAT_MAX 32768

int
disk_free(const char *dir, uint64_t *free_bytes, uint64_t *total_bytes)
{
	struct statvfs st;

	if (statvfs(dir, &st) < 0)
		return -1;
	*free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
	*total_bytes = (uint64_t)st.f_blocks * st.f_frsize;
	return 0;
}

/* /proc/loadavg, opened before the chroot and read with pread. */
static int loadavg_fd = -1;

void
heartbeat_open_proc(void)
{
	if (loadavg_fd < 0)
		loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
}

static int
read_load(double load[3])
{
	char buf[128];
	ssize_t n;

	if (loadavg_fd < 0)
		return getloadavg(load, 3) == 3 ? 0 : -1;
	n = pread(loadavg_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3
	    ? 0
	    : -1;
}

void
heartbeat_measure(struct heartbeat *hb, const char *spool_dir)
{
	struct timex tx;
	int state;

	memset(&tx, 0, sizeof(tx));
	/* modes = 0 only reads; TIME_ERROR means not synchronised. */
	state = adjtimex(&tx);
	hb->clock_synchronized = state >= 0 && state != TIME_ERROR &&
	    !(tx.status & STA_UNSYNC);
	hb->clock_esterror_us = tx.esterror;
	hb->clock_maxerror_us = tx.maxerror;
	if (disk_free(spool_dir, &hb->disk_free_bytes,
		&hb->disk_total_bytes) < 0)
		hb->disk_free_bytes = hb->disk_total_bytes = 0;
	if (read_load(hb->load) < 0)
		hb->load[0] = hb->load[1] = hb->load[2] = NAN;
}

int
heartbeat_write(const char *spool_dir, const struct heartbeat *hb, char *err,
    size_t errlen)
{
	char *buf = xmalloc(HEARTBEAT_MAX), ts[32];
	char tmp[PATH_MAX], path[PATH_MAX];
	struct jsonw w;
	int i, len, fd;

	jsonw_begin(&w, buf, HEARTBEAT_MAX);
	format_rfc3339(now_usec(), ts);
	jsonw_str(&w, "@timestamp", ts);
	jsonw_str(&w, "sensor.name", hb->sensor);
	jsonw_str(&w, "sensor.version", hb->version);
	format_rfc3339(hb->started_usec, ts);
	jsonw_str(&w, "sensor.started", ts);
	jsonw_int(&w, "process.pid", (int64_t)getpid());
	jsonw_array_begin(&w, "listeners");
	for (i = 0; i < hb->nlisteners; i++) {
		const struct heartbeat_listener *l = &hb->listeners[i];

		jsonw_object_begin(&w, NULL);
		jsonw_str(&w, "name", l->name);
		jsonw_str(&w, "address", l->address);
		jsonw_int(&w, "port", l->port);
		jsonw_str(&w, "service", l->service);
		jsonw_int(&w, "service_port", l->service_port);
		jsonw_bool(&w, "accepting", l->accepting);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_int(&w, "connections.open", hb->connections);
	jsonw_int(&w, "connections.rejected", (int64_t)hb->rejected);
	jsonw_int(&w, "messages.stored", (int64_t)hb->messages_stored);
	jsonw_bool(&w, "capture.paused", hb->capture_paused);
	jsonw_str(&w, "events.current", hb->events_file);
	jsonw_bool(&w, "clock.synchronized", hb->clock_synchronized);
	jsonw_int(&w, "clock.esterror_us", hb->clock_esterror_us);
	jsonw_int(&w, "clock.maxerror_us", hb->clock_maxerror_us);
	jsonw_int(&w, "disk.free_bytes", (int64_t)hb->disk_free_bytes);
	jsonw_int(&w, "disk.total_bytes", (int64_t)hb->disk_total_bytes);
	jsonw_fixed2(&w, "load.1m", hb->load[0]);
	jsonw_fixed2(&w, "load.5m", hb->load[1]);
	jsonw_fixed2(&w, "load.15m", hb->load[2]);
	len = jsonw_end(&w);
	if (len < 0) {
		snprintf(err, errlen, "heartbeat larger than %d bytes",
		    HEARTBEAT_MAX);
		free(buf);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/heartbeat.json.tmp", spool_dir);
	snprintf(path, sizeof(path), "%s/heartbeat.json", spool_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	if (write_all(fd, buf, (size_t)len) < 0 || fsync(fd) < 0) {
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	unlink(tmp);
	free(buf);
	return -1;
}
