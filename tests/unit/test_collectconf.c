/*
 * Tests of the collector configuration reader: defaults, inheritance
 * of confirm, and the checks that keep a value from reaching ssh or
 * rsync as an option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector.h"
#include "util.h"

/* Load text as a configuration file; returns collector_conf_load's. */
static int
load_text(
    const char *text, struct collector_conf *conf, char *err, size_t errlen)
{
	char path[] = "/tmp/test_collectconf.XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
	rc = collector_conf_load(path, conf, err, errlen);
	unlink(path);
	return rc;
}

static void
test_full_config(void **state)
{
	static const char text[] = "[collector]\n"
				   "mirror = /srv/mirror\n"
				   "parallel = 2\n"
				   "confirm = yes\n"
				   "max-load = 2.5\n"
				   "[sensor fra1]\n"
				   "host = 192.0.2.10\n"
				   "port = 2222\n"
				   "user = collect\n"
				   "key = /etc/spampot/key\n"
				   "path = /var/lib/spampot\n"
				   "[sensor lab]\n"
				   "path = /var/lib/spampot\n"
				   "confirm = no\n";
	struct collector_conf conf;
	char err[256];

	(void)state;
	assert_int_equal(load_text(text, &conf, err, sizeof(err)), 0);
	assert_string_equal(conf.mirror, "/srv/mirror");
	assert_int_equal(conf.parallel, 2);
	assert_true(conf.load_max > 2.49 && conf.load_max < 2.51);
	assert_int_equal(conf.io_timeout, 60);
	assert_int_equal(conf.heartbeat_stale_s, 300);
	assert_string_equal(conf.host_key_check, "yes");
	assert_int_equal(conf.nsensors, 2);
	assert_string_equal(conf.sensors[0].name, "fra1");
	assert_true(sensor_is_remote(&conf.sensors[0]));
	assert_int_equal(conf.sensors[0].port, 2222);
	assert_int_equal(conf.sensors[0].confirm, 1);
	assert_false(sensor_is_remote(&conf.sensors[1]));
	assert_int_equal(conf.sensors[1].confirm, 0);
	collector_conf_free(&conf);
}

static void
test_defaults(void **state)
{
	struct collector_conf conf;
	char err[256], dir[64];

	(void)state;
	assert_int_equal(load_text("[sensor a]\nhost = h\npath = /s\n", &conf,
			     err, sizeof(err)),
	    0);
	assert_string_equal(conf.mirror, "mirror");
	assert_int_equal(conf.parallel, 4);
	assert_int_equal(conf.sensors[0].port, 22);
	assert_int_equal(conf.sensors[0].confirm, 0);
	sensor_spool_dir(&conf, &conf.sensors[0], dir, sizeof(dir));
	assert_string_equal(dir, "mirror/a");
	collector_conf_free(&conf);
}

/* Each configuration here must be rejected with a message naming why. */
static const struct {
	const char *text;
	const char *reason;
} invalid[] = {
    {"[collector]\nparallel = 2\n", "no [sensor NAME]"},
    {"[sensor a]\nhost = h\n", "missing path"},
    {"[sensor a]\nhost = -oProxyCommand=x\npath = /s\n", "may not start"},
    {"[sensor a]\nhost = h\nuser = -l\npath = /s\n", "may not start"},
    {"[sensor a]\nhost = h\nuser = a@b\npath = /s\n", "may not start"},
    {"[sensor a]\nhost = user@h\npath = /s\n", "may not start"},
    {"[sensor a]\nhost = h\nkey = /k ey\npath = /s\n", "may not start"},
    {"[sensor a]\nhost = h\nkey = /k'ey\npath = /s\n", "may not start"},
    {"[sensor a]\nhost = h\npath = -s\n", "may not start"},
    {"[sensor a]\npath = /s\nkey = /k\n", "need a host"},
    {"[sensor a]\npath = /s\n[sensor a]\npath = /t\n", "listed twice"},
    {"[sensor .a]\npath = /s\n", "needs a name"},
    {"[sensor]\npath = /s\n", "needs a name"},
    {"[sensor a]\npath = /s\nport = 0\n",
	"line 3: port must be a number from 1 to 65535, not \"0\""},
    {"[sensor a]\npath = /s\nport = 99999\n",
	"line 3: port must be a number from 1 to 65535, not \"99999\""},
    {"[sensor a]\npath = \n", "line 2: missing value for path"},
    {"[sensor a]\npath = /s\ncolour = red\n", "unknown key"},
    {"[collector]\nparallel = 0\n[sensor a]\npath = /s\n",
	"line 2: parallel must be a number from 1 to 64, not \"0\""},
    {"[collector]\nconfirm = maybe\n[sensor a]\npath = /s\n",
	"line 2: confirm must be yes or no, not \"maybe\""},
    {"[collector]\nmax-load = -1\n[sensor a]\npath = /s\n",
	"line 2: max-load must be a number above 0"},
    {"[collector]\nmax-load = inf\n[sensor a]\npath = /s\n",
	"max-load must be a number above 0 and at most 100000, not \"inf\""},
    {"[collector]\nmax-load = nan\n[sensor a]\npath = /s\n",
	"max-load must be a number above 0 and at most 100000, not \"nan\""},
    {"[collector]\nmax-load = -nan\n[sensor a]\npath = /s\n",
	"max-load must be a number above 0"},
    {"[collector]\nmax-load = 1e999\n[sensor a]\npath = /s\n",
	"max-load must be a number above 0"},
    {"[collector]\nhost-key-check = no\n[sensor a]\npath = /s\n",
	"line 2: host-key-check must be yes or accept-new, not \"no\""},
    {"[collector]\nknown-hosts = -x\n[sensor a]\npath = /s\n",
	"known-hosts may not"},
    {"[listener smtp]\nport = 25\n", "unknown section"},
};

static void
test_invalid_configs(void **state)
{
	struct collector_conf conf;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(invalid); i++) {
		err[0] = '\0';
		if (load_text(invalid[i].text, &conf, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", invalid[i].text);
		if (strstr(err, invalid[i].reason) == NULL)
			fail_msg("for %s expected \"%s\" in \"%s\"",
			    invalid[i].text, invalid[i].reason, err);
	}
}

static void
test_missing_file(void **state)
{
	struct collector_conf conf;
	char err[256];

	(void)state;
	assert_int_equal(collector_conf_load("/nonexistent/collector.conf",
			     &conf, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cannot read /nonexistent/collector.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_invalid_configs),
	    cmocka_unit_test(test_missing_file),
	};

	progname = "test_collectconf";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
