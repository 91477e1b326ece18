/*
 * Reader of the collector configuration; see collector.h.  Keys are
 * table rows: a name, a type, where the value goes and its bounds.
 */
#include "collector.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "spampot_limits.h"
#include "util.h"

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL, KEY_LOAD, KEY_CHOICE };

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	long min, max;
	const char *const *choices; /* KEY_CHOICE: NULL-terminated */
};

/* Largest max-load accepted, because a larger value is a typo. */
#define LOAD_MAX 100000

/* ssh's StrictHostKeyChecking values that still check a known key. */
static const char *const host_key_checks[] = {"yes", "accept-new", NULL};

#define C(field) offsetof(struct collector_conf, field)
#define S(field) offsetof(struct sensor_conf, field)

static const struct key collector_keys[] = {
    {"mirror", KEY_STRING, C(mirror), 0, 0},
    {"database", KEY_STRING, C(database), 0, 0},
    {"geo", KEY_STRING, C(geo), 0, 0},
    {"known-hosts", KEY_STRING, C(known_hosts), 0, 0},
    {"host-key-check", KEY_CHOICE, C(host_key_check), 0, 0, host_key_checks},
    {"parallel", KEY_INT, C(parallel), 1, 64},
    {"connect-timeout", KEY_INT, C(connect_timeout), 1, 3600},
    {"io-timeout", KEY_INT, C(io_timeout), 1, 86400},
    {"transfer-timeout", KEY_INT, C(transfer_timeout), 1, 86400},
    {"bwlimit-kbps", KEY_INT, C(bwlimit_kbps), 0, 10000000},
    {"confirm", KEY_BOOL, C(confirm), 0, 0},
    {"heartbeat-stale", KEY_INT, C(heartbeat_stale_s), 1, 86400 * 30},
    {"max-esterror-ms", KEY_INT, C(esterror_max_ms), 0, 3600000},
    {"max-load", KEY_LOAD, C(load_max), 0, 0},
    {"min-free-disk-mb", KEY_INT, C(disk_free_min_mb), 0, 100000000},
    {"collect-stale", KEY_INT, C(collect_stale_s), 1, 86400 * 30},
};

static const struct key sensor_keys[] = {
    {"host", KEY_STRING, S(host), 0, 0},
    {"port", KEY_INT, S(port), 1, 65535},
    {"user", KEY_STRING, S(user), 0, 0},
    {"key", KEY_STRING, S(key), 0, 0},
    {"path", KEY_STRING, S(path), 0, 0},
    {"confirm", KEY_BOOL, S(confirm), 0, 0},
};

const char collector_conf_help[] =
    "Configuration (INI; see docs/collector.md):\n"
    "  [collector]\n"
    "  mirror = DIR            local copies of remote spools, DIR/NAME\n"
    "                          (default: mirror)\n"
    "  database = FILE         (default: $SPAMPOT_DB or spampot.db)\n"
    "  geo = DIR               ip-location-db packages for enrichment\n"
    "  parallel = N            sensors pulled at once (default: 4)\n"
    "  connect-timeout = S     ssh ConnectTimeout, seconds (default: 10)\n"
    "  io-timeout = S          rsync --timeout, seconds (default: 60)\n"
    "  transfer-timeout = S    seconds for one pull or push (default: 900)\n"
    "  bwlimit-kbps = N        rsync --bwlimit, KiB/s (default: 0, none)\n"
    "  host-key-check = yes|accept-new   ssh StrictHostKeyChecking\n"
    "  known-hosts = FILE      ssh UserKnownHostsFile\n"
    "  confirm = yes|no        let sensors delete what is ingested\n"
    "                          (default: no)\n"
    "  heartbeat-stale = S     heartbeat age that means down (default: 300)\n"
    "  max-esterror-ms = MS    clock error that warns (default: 100)\n"
    "  max-load = X            1-minute load that warns (default: 4)\n"
    "  min-free-disk-mb = MB   free spool space that warns (default: 1024)\n"
    "  collect-stale = S       age of the last good collect that warns\n"
    "                          (default: 3600)\n"
    "  [sensor NAME]           one per sensor\n"
    "  host = HOST             pulled with rsync over ssh; without host,\n"
    "                          path is a spool on this machine\n"
    "  port = N                ssh port (default: 22)\n"
    "  user = USER             ssh user (default: ssh's)\n"
    "  key = FILE              ssh identity file\n"
    "  path = DIR              the sensor's spool directory (required)\n"
    "  confirm = yes|no        overrides [collector] confirm\n";

static void
conf_defaults(struct collector_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->parallel = 4;
	conf->connect_timeout = 10;
	conf->io_timeout = 60;
	conf->transfer_timeout = 900;
	/* A heartbeat comes every minute; five missed ones mean down. */
	conf->heartbeat_stale_s = 300;
	conf->esterror_max_ms = 100;
	conf->load_max = 4.0;
	conf->disk_free_min_mb = 1024;
	conf->collect_stale_s = 3600;
}

/* Store a choice among k->choices, or describe them in err. */
static int
set_choice(void *field, const struct key *k, const char *value, int line,
    char *err, size_t errlen)
{
	const char *const *c;
	size_t used;

	for (c = k->choices; *c != NULL; c++)
		if (strcmp(value, *c) == 0) {
			free(*(char **)field);
			*(char **)field = xstrdup(value);
			return 0;
		}
	used =
	    (size_t)snprintf(err, errlen, "line %d: %s must be", line, k->name);
	for (c = k->choices; *c != NULL && used < errlen; c++)
		used += (size_t)snprintf(err + used, errlen - used, "%s %s",
		    c == k->choices    ? ""
			: c[1] == NULL ? " or"
				       : ",",
		    *c);
	if (used < errlen)
		snprintf(err + used, errlen - used, ", not \"%s\"", value);
	return -1;
}

/* Parse a finite load above 0 and at most LOAD_MAX.  Returns 0 or -1. */
static int
parse_load(const char *value, double *load)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(value, &end);
	/* strtod accepts "nan" and "inf", which no load compares with. */
	if (errno != 0 || end == value || *end != '\0' || !isfinite(d) ||
	    d <= 0 || d > LOAD_MAX)
		return -1;
	*load = d;
	return 0;
}

static int
set_value(void *base, const struct key *k, const char *value, int line,
    char *err, size_t errlen)
{
	char *p = (char *)base + k->offset;
	long n;

	switch (k->type) {
	case KEY_STRING:
		if (*value == '\0') {
			bufprintf(err, errlen, "line %d: missing value for %s",
			    line, k->name);
			return -1;
		}
		free(*(char **)p);
		*(char **)p = xstrdup(value);
		return 0;
	case KEY_INT:
		if (parse_long(value, k->min, k->max, &n) < 0) {
			bufprintf(err, errlen,
			    "line %d: %s must be a number from %ld to %ld,"
			    " not \"%s\"",
			    line, k->name, k->min, k->max, value);
			return -1;
		}
		*(int *)p = (int)n;
		return 0;
	case KEY_BOOL:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			bufprintf(err, errlen,
			    "line %d: %s must be yes or no, not \"%s\"", line,
			    k->name, value);
			return -1;
		}
		*(int *)p = strcmp(value, "yes") == 0;
		return 0;
	case KEY_LOAD:
		if (parse_load(value, (double *)p) < 0) {
			bufprintf(err, errlen,
			    "line %d: %s must be a number above 0 and at most"
			    " %d, not \"%s\"",
			    line, k->name, LOAD_MAX, value);
			return -1;
		}
		return 0;
	case KEY_CHOICE:
		return set_choice(p, k, value, line, err, errlen);
	}
	abort();
}

static const struct key *
find_key(const struct key *keys, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
start_sensor(struct collector_conf *conf, const char *name, int line, char *err,
    size_t errlen)
{
	struct sensor_conf *s;
	size_t i;

	if (name == NULL || name[0] == '.' || strlen(name) > SENSOR_NAME_MAX) {
		bufprintf(err, errlen,
		    "line %d: a sensor needs a name of at most %d letters,"
		    " digits, '-', '_' or '.', not starting with '.'",
		    line, SENSOR_NAME_MAX);
		return -1;
	}
	for (i = 0; i < conf->nsensors; i++)
		if (strcmp(conf->sensors[i].name, name) == 0) {
			bufprintf(err, errlen,
			    "line %d: sensor %s listed twice", line, name);
			return -1;
		}
	if (conf->nsensors == COLLECTOR_SENSORS_MAX) {
		bufprintf(err, errlen, "line %d: more than %d sensors", line,
		    COLLECTOR_SENSORS_MAX);
		return -1;
	}
	conf->sensors = xrealloc(
	    conf->sensors, (conf->nsensors + 1) * sizeof(*conf->sensors));
	s = &conf->sensors[conf->nsensors++];
	memset(s, 0, sizeof(*s));
	strlcpy_(s->name, name, sizeof(s->name));
	s->port = 22;
	s->confirm = -1;
	return 0;
}

static int
on_key(void *ctx, const char *section, const char *name, const char *key,
    const char *value, int line, char *err, size_t errlen)
{
	struct collector_conf *conf = ctx;
	const struct key *k;
	void *base;

	if (strcmp(section, "sensor") == 0) {
		if (key == NULL)
			return start_sensor(conf, name, line, err, errlen);
		k = find_key(sensor_keys, NELEM(sensor_keys), key);
		base = &conf->sensors[conf->nsensors - 1];
	} else if (strcmp(section, "collector") == 0 && name == NULL) {
		if (key == NULL)
			return 0;
		k = find_key(collector_keys, NELEM(collector_keys), key);
		base = conf;
	} else {
		bufprintf(err, errlen,
		    "line %d: unknown section [%s]; expected [collector] or"
		    " [sensor NAME]",
		    line, section);
		return -1;
	}
	if (k == NULL) {
		bufprintf(err, errlen, "line %d: unknown key \"%s\" in [%s]",
		    line, key, section);
		return -1;
	}
	return set_value(base, k, value, line, err, errlen);
}

/*
 * A value placed on the ssh command line: it must not start with '-',
 * where ssh would take it for an option, nor carry a blank or a quote,
 * which rsync's -e parsing would split on.
 */
static bool
safe_word(const char *s, const char *also_banned)
{
	return s[0] != '-' && strpbrk(s, " \t'\"\\") == NULL &&
	    strpbrk(s, also_banned) == NULL;
}

static int
check_sensor(const struct collector_conf *conf, struct sensor_conf *s,
    char *err, size_t errlen)
{
	if (s->path == NULL) {
		bufprintf(err, errlen, "sensor %s: missing path", s->name);
		return -1;
	}
	if (s->confirm < 0)
		s->confirm = conf->confirm;
	if (s->host == NULL) {
		if (s->user != NULL || s->key != NULL) {
			bufprintf(err, errlen,
			    "sensor %s: user and key need a host", s->name);
			return -1;
		}
		return 0;
	}
	if (!safe_word(s->host, "@:/") ||
	    (s->user != NULL && !safe_word(s->user, "@:/")) ||
	    (s->key != NULL && !safe_word(s->key, "")) ||
	    !safe_word(s->path, "")) {
		bufprintf(err, errlen,
		    "sensor %s: host, user, key and path may not start with"
		    " '-' or hold blanks or quotes, and host and user no '@',"
		    " ':' or '/'",
		    s->name);
		return -1;
	}
	return 0;
}

static int
check_conf(struct collector_conf *conf, char *err, size_t errlen)
{
	size_t i;

	if (conf->nsensors == 0) {
		bufprintf(err, errlen, "no [sensor NAME] section");
		return -1;
	}
	if (conf->mirror == NULL)
		conf->mirror = xstrdup("mirror");
	if (conf->host_key_check == NULL)
		conf->host_key_check = xstrdup(host_key_checks[0]);
	if (conf->known_hosts != NULL && !safe_word(conf->known_hosts, "")) {
		bufprintf(err, errlen,
		    "known-hosts may not start with '-' or hold blanks or"
		    " quotes");
		return -1;
	}
	for (i = 0; i < conf->nsensors; i++)
		if (check_sensor(conf, &conf->sensors[i], err, errlen) < 0)
			return -1;
	return 0;
}

int
collector_conf_load(
    const char *path, struct collector_conf *conf, char *err, size_t errlen)
{
	char msg[512];
	size_t len;
	char *text;

	conf_defaults(conf);
	if ((text = read_file(path, CONFIG_SIZE_MAX, &len)) == NULL) {
		/* On a first run there is no default file: name the option. */
		bufprintf(err, errlen, "cannot read %s: %s%s", path,
		    read_file_error(errno, CONFIG_SIZE_MAX, msg, sizeof(msg)),
		    strcmp(path, COLLECTOR_DEFAULT_CONFIG) == 0
			? "; create it, or name the collector configuration"
			  " with --config FILE"
			: "");
		return -1;
	}
	if (ini_parse(text, len, on_key, conf, msg, sizeof(msg)) < 0 ||
	    check_conf(conf, msg, sizeof(msg)) < 0) {
		bufprintf(err, errlen, "%s: %s", path, msg);
		free(text);
		collector_conf_free(conf);
		return -1;
	}
	free(text);
	return 0;
}

void
collector_conf_free(struct collector_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nsensors; i++) {
		free(conf->sensors[i].host);
		free(conf->sensors[i].user);
		free(conf->sensors[i].key);
		free(conf->sensors[i].path);
	}
	free(conf->sensors);
	free(conf->mirror);
	free(conf->database);
	free(conf->geo);
	free(conf->known_hosts);
	free(conf->host_key_check);
	memset(conf, 0, sizeof(*conf));
}

bool
sensor_is_remote(const struct sensor_conf *s)
{
	return s->host != NULL;
}

void
sensor_spool_dir(const struct collector_conf *conf, const struct sensor_conf *s,
    char *buf, size_t size)
{
	if (sensor_is_remote(s))
		bufprintf(buf, size, "%s/%s", conf->mirror, s->name);
	else
		bufprintf(buf, size, "%s", s->path);
}
