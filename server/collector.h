/*
 * The collector's configuration: which sensors to pull, where their
 * mirrors live, and the thresholds that `spampot status` applies.
 *
 * The file belongs to the operator and is trusted, but it is still read
 * with bounds.  Every value that ends up on an rsync or ssh command
 * line is checked so that it cannot be taken for an option.
 */
#ifndef SPAMPOT_COLLECTOR_H
#define SPAMPOT_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Configuration read when --config is not given. */
#define COLLECTOR_DEFAULT_CONFIG "/etc/spampot/collector.conf"

/* Sensors one configuration may list. */
#define COLLECTOR_SENSORS_MAX 256

/* Maximum sensor name length: it names a mirror and a confirm list. */
#define SENSOR_NAME_MAX 63

struct sensor_conf {
	char name[SENSOR_NAME_MAX + 1];
	char *host; /* NULL: path is a spool on this machine */
	int port;
	char *user;  /* NULL: ssh's default */
	char *key;   /* ssh identity file; NULL: ssh's default */
	char *path;  /* the spool, on host or here */
	int confirm; /* 1 or 0; -1 until resolved from [collector] */
};

struct collector_conf {
	char *mirror;
	char *database;
	char *geo;
	char *known_hosts;    /* NULL: ssh's default */
	char *host_key_check; /* StrictHostKeyChecking: yes, accept-new */
	int parallel;
	int connect_timeout;  /* seconds, ssh ConnectTimeout */
	int io_timeout;       /* seconds without data, rsync --timeout */
	int transfer_timeout; /* seconds for one whole rsync run */
	int bwlimit_kbps;     /* rsync --bwlimit; 0: unlimited */
	int confirm;          /* 1 or 0 */
	/* Thresholds of spampot status. */
	int heartbeat_stale_s;
	int esterror_max_ms;
	double load_max;
	int disk_free_min_mb;
	int collect_stale_s;
	struct sensor_conf *sensors;
	size_t nsensors;
};

/*
 * Read and check the configuration at path.  Returns 0, or -1 with the
 * reason in err; conf is then freed already.
 */
int collector_conf_load(
    const char *path, struct collector_conf *conf, char *err, size_t errlen);
void collector_conf_free(struct collector_conf *conf);

/* Whether a sensor is pulled over ssh rather than read in place. */
bool sensor_is_remote(const struct sensor_conf *s);

/* Path of the spool that ingest reads: the mirror or the local spool. */
void sensor_spool_dir(const struct collector_conf *conf,
    const struct sensor_conf *s, char *buf, size_t size);

struct db;

/*
 * Judge every configured sensor as `spampot status --format json` does:
 * an array with an object per sensor ("sensor", "verdict", "reason" and
 * the facts behind them).  db may be NULL.  *any_down is set when a
 * sensor is down.  The caller owns the array.
 */
json_t *status_all_json(const struct collector_conf *conf, struct db *db,
    int64_t now, bool *any_down);

/* The configuration file's keys, for both commands' --help. */
extern const char collector_conf_help[];

#endif
