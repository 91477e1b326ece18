/*
 * Tests of the sensor's configuration reader: the files shipped in
 * etc/, the defaults, and an error naming the line or the listener for
 * every kind of mistake.  The test runs in tests/, so the shipped
 * files are read from ../etc/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

#define SHIPPED_CONFIG "../etc/spampotd.conf"
#define DEMO_CONFIG    "../etc/spampotd-demo.conf"

/* The sensor configuration is over 100 KiB, too large for the stack. */
static struct sensor_config cfg;

static int
parse_text(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return config_parse(text, strlen(text), &cfg, err, errlen);
}

/* Listeners of both shipped files: names, service and service port. */
struct expected_listener {
	const char *name;
	enum service service;
	int service_port;
	int demo_port;
};

static const struct expected_listener shipped_listeners[] = {
    {"smtp", SERVICE_SMTP, 25, 10025},
    {"http-80", SERVICE_PROXY, 80, 10080},
    {"http-81", SERVICE_PROXY, 81, 10081},
    {"socks-1080", SERVICE_PROXY, 1080, 11080},
    {"socks-3127", SERVICE_PROXY, 3127, 13127},
    {"squid-3128", SERVICE_PROXY, 3128, 13128},
    {"sobig-3382", SERVICE_PROXY, 3382, 13382},
    {"proxyplus-4480", SERVICE_PROXY, 4480, 14480},
    {"analogx-6588", SERVICE_PROXY, 6588, 16588},
    {"http-8000", SERVICE_PROXY, 8000, 18000},
    {"http-8080", SERVICE_PROXY, 8080, 18080},
};

/* Check that the only host name is the one gethostname() returns. */
static void
assert_default_hostname(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		strlcpy_(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(cfg.nhostnames, 1);
	assert_string_equal(cfg.hostnames[0], host);
}

static void
sockaddr_v4(const char *text, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
}

static void
shipped_config_parses(void **state)
{
	char err[512];
	size_t i;
	int n;

	(void)state;
	if (config_load(SHIPPED_CONFIG, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.name, "sensor01");
	assert_string_equal(cfg.spool, "/var/lib/spampot");
	assert_int_equal(cfg.max_connections, 16384);
	assert_int_equal(cfg.max_connections_per_ip, 64);
	assert_int_equal(cfg.banner_delay_ms, 0);
	assert_int_equal(cfg.ntrusted, 0);
	assert_default_hostname();

	assert_int_equal(cfg.nlisteners, NELEM(shipped_listeners));
	for (i = 0; i < NELEM(shipped_listeners); i++) {
		const struct expected_listener *want = &shipped_listeners[i];
		const struct listener_config *l = &cfg.listeners[i];

		assert_string_equal(l->name, want->name);
		assert_string_equal(l->address, "0.0.0.0");
		assert_int_equal(l->port, want->service_port);
		assert_int_equal(l->service_port, want->service_port);
		assert_int_equal(l->service, want->service);
		assert_false(l->trusted_set);
		config_trusted(&cfg, l, &n);
		assert_int_equal(n, 0);
	}
}

static void
demo_config_parses(void **state)
{
	struct sockaddr_in relay, client;
	const struct cidr *nets;
	char err[512];
	size_t i;
	int n;

	(void)state;
	if (config_load(DEMO_CONFIG, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.name, "demo");
	assert_string_equal(cfg.spool, "demo/spool");
	assert_int_equal(cfg.nhostnames, 3);
	assert_string_equal(cfg.hostnames[0], "mx1.demo-isp.example");
	assert_string_equal(cfg.hostnames[1], "mail.demo-isp.example");
	assert_string_equal(cfg.hostnames[2], "smtp.demo-isp.example");
	assert_int_equal(cfg.max_connections, CONN_TOTAL_MAX);
	assert_int_equal(cfg.max_connections_per_ip, CONN_PER_IP_MAX);

	/* Only 127.0.0.2 may send a PROXY header. */
	assert_int_equal(cfg.ntrusted, 1);
	assert_int_equal(cfg.trusted[0].family, AF_INET);
	assert_int_equal(cfg.trusted[0].prefix, 32);
	sockaddr_v4("127.0.0.2", &relay);
	sockaddr_v4("127.0.0.1", &client);

	assert_int_equal(cfg.nlisteners, NELEM(shipped_listeners));
	for (i = 0; i < NELEM(shipped_listeners); i++) {
		const struct expected_listener *want = &shipped_listeners[i];
		const struct listener_config *l = &cfg.listeners[i];

		assert_string_equal(l->name, want->name);
		assert_string_equal(l->address, "127.0.0.1");
		assert_int_equal(l->port, want->demo_port);
		assert_int_equal(l->service_port, want->service_port);
		assert_int_equal(l->service, want->service);
		assert_false(l->trusted_set);
		nets = config_trusted(&cfg, l, &n);
		assert_int_equal(n, 1);
		assert_true(cidr_contains(&nets[0], (struct sockaddr *)&relay));
		assert_false(
		    cidr_contains(&nets[0], (struct sockaddr *)&client));
	}
}

static void
config_load_missing_file(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(
	    config_load("no-such-dir/spampotd.conf", &cfg, err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "cannot read \"no-such-dir/spampotd.conf\": No such file or "
	    "directory");
}

/* A FIFO, a directory and an oversized file are rejected at once. */
static void
config_load_not_a_config_file(void **state)
{
	char dir[] = "/tmp/test-config.XXXXXX", path[64], err[512], want[128];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(unlink(path), 0);

	assert_int_equal(config_load(dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Is a directory"));

	snprintf(path, sizeof(path), "%s/huge.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fseek(f, CONFIG_SIZE_MAX, SEEK_SET), 0);
	assert_int_equal(fputc('\n', f), '\n');
	assert_int_equal(fclose(f), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "larger than the limit of %d bytes",
	    CONFIG_SIZE_MAX);
	assert_non_null(strstr(err, want));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
minimal_config_defaults(void **state)
{
	char err[512];
	int n;

	(void)state;
	assert_int_equal(
	    parse_text("[listener only]\nport = 2525\n", err, sizeof(err)), 0);
	assert_string_equal(cfg.name, "sensor");
	assert_string_equal(cfg.spool, "/var/lib/spampot");
	assert_int_equal(cfg.max_connections, CONN_TOTAL_MAX);
	assert_int_equal(cfg.max_connections_per_ip, CONN_PER_IP_MAX);
	assert_int_equal(cfg.banner_delay_ms, 0);
	assert_int_equal(cfg.ntrusted, 0);
	assert_default_hostname();

	assert_int_equal(cfg.nlisteners, 1);
	assert_string_equal(cfg.listeners[0].name, "only");
	assert_string_equal(cfg.listeners[0].address, "127.0.0.1");
	assert_int_equal(cfg.listeners[0].port, 2525);
	assert_int_equal(cfg.listeners[0].service, SERVICE_PROXY);
	assert_int_equal(cfg.listeners[0].service_port, 2525);
	assert_false(cfg.listeners[0].trusted_set);
	config_trusted(&cfg, &cfg.listeners[0], &n);
	assert_int_equal(n, 0);
}

static void
every_sensor_key(void **state)
{
	static const char text[] = "[sensor]\n"
				   "name = s2\n"
				   "spool = /srv/spool\n"
				   "hostnames = a.example b.example,c.example\n"
				   "max-connections = 100\n"
				   "max-connections-per-ip = 1\n"
				   "banner-delay-ms = 30000\n"
				   "[listener v6]\n"
				   "address = ::\n"
				   "port = 65535\n"
				   "service-port = 1\n"
				   "service = smtp\n";
	char err[512];

	(void)state;
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.name, "s2");
	assert_string_equal(cfg.spool, "/srv/spool");
	assert_int_equal(cfg.nhostnames, 3);
	assert_string_equal(cfg.hostnames[0], "a.example");
	assert_string_equal(cfg.hostnames[1], "b.example");
	assert_string_equal(cfg.hostnames[2], "c.example");
	assert_int_equal(cfg.max_connections, 100);
	assert_int_equal(cfg.max_connections_per_ip, 1);
	assert_int_equal(cfg.banner_delay_ms, 30000);
	assert_string_equal(cfg.listeners[0].address, "::");
	assert_int_equal(cfg.listeners[0].port, 65535);
	assert_int_equal(cfg.listeners[0].service_port, 1);
	assert_int_equal(cfg.listeners[0].service, SERVICE_SMTP);
}

static void
listener_trusted_overrides_sensor(void **state)
{
	static const char text[] =
	    "[listener inherits]\n"
	    "port = 1\n"
	    "[sensor]\n"
	    "proxy-protocol-from = 192.0.2.0/24, 2001:db8::/32\n"
	    "[listener own]\n"
	    "port = 2\n"
	    "proxy-protocol-from = 198.51.100.7\n"
	    "[listener nobody]\n"
	    "port = 3\n"
	    "proxy-protocol-from = none\n";
	struct sockaddr_in sensor_net, listener_net;
	const struct cidr *nets;
	char err[512];
	int n;

	(void)state;
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	sockaddr_v4("192.0.2.9", &sensor_net);
	sockaddr_v4("198.51.100.7", &listener_net);
	assert_int_equal(cfg.ntrusted, 2);
	assert_int_equal(cfg.trusted[0].family, AF_INET);
	assert_int_equal(cfg.trusted[1].family, AF_INET6);
	assert_int_equal(cfg.trusted[1].prefix, 32);
	assert_int_equal(cfg.nlisteners, 3);

	/* A listener without the key uses the sensor's list. */
	assert_false(cfg.listeners[0].trusted_set);
	nets = config_trusted(&cfg, &cfg.listeners[0], &n);
	assert_int_equal(n, 2);
	assert_ptr_equal(nets, cfg.trusted);

	/* Its own list replaces the sensor's. */
	assert_true(cfg.listeners[1].trusted_set);
	nets = config_trusted(&cfg, &cfg.listeners[1], &n);
	assert_int_equal(n, 1);
	assert_true(cidr_contains(&nets[0], (struct sockaddr *)&listener_net));
	assert_false(cidr_contains(&nets[0], (struct sockaddr *)&sensor_net));

	/* "none" is an empty list that still replaces the sensor's. */
	assert_true(cfg.listeners[2].trusted_set);
	config_trusted(&cfg, &cfg.listeners[2], &n);
	assert_int_equal(n, 0);
}

struct error_case {
	const char *text;
	const char *where; /* "line N" or "listener NAME" */
	const char *what;  /* a phrase the message must contain */
};

static const struct error_case error_cases[] = {
    {"[sensor]\ntunnel-http-ports = 80 25\n[listener a]\nport = 1\n",
	"tunnel-http-ports", "25 is a mail port"},
    {"[sensor]\ntunnel-accept-ports = 587\n[listener a]\nport = 1\n",
	"tunnel-accept-ports", "587 is a mail port"},
    {"[sensor]\ntunnel-http-ports = 8080\ntunnel-accept-ports = 8080\n"
     "[listener a]\nport = 1\n",
	"port 8080", "in both tunnel-http-ports and tunnel-accept-ports"},
    {"[sensor]\nname = t\nname = u\n[listener a]\nport = 1\n", "line 3",
	"\"name\" is already set on line 2"},
    {"[listener a]\nport = 1\n[listener b]\nport = 2\nport = 3\n",
	"line 5", "\"port\" is already set on line 4"},
    {"[sensor]\nchroot = true\n[listener a]\nport = 1\n", "line 2",
	"chroot must be yes or no, not \"true\""},
    {"[sensor]\ncolour = red\n[listener a]\nport = 1\n", "line 2",
	"unknown key \"colour\" in [sensor]"},
    {"[listener a]\nport = 1\nname = x\n", "line 3",
	"unknown key \"name\" in [listener a]"},
    {"[listener a]\nport = 1\n[server]\n", "line 3",
	"unknown section [server] (expected"},
    {"[sensor main]\n[listener a]\nport = 1\n", "line 1",
	"unknown section [sensor main]"},
    {"[listener]\nport = 1\n", "line 1", "unknown section [listener]"},
    {"[listener a]\nport = 1\n[listener b]\nport = 2\n[listener a]\n", "line 5",
	"listener \"a\" defined twice"},
    {"[listener a]\nport = 0\n", "line 2",
	"port must be a number from 1 to 65535, not \"0\""},
    {"[listener a]\nport = 65536\n", "line 2",
	"port must be a number from 1 to 65535, not \"65536\""},
    {"[listener a]\nport = smtp\n", "line 2",
	"port must be a number from 1 to 65535, not \"smtp\""},
    {"[listener a]\nport = -25\n", "line 2", "port must be a number"},
    {"[listener a]\nport = 25x\n", "line 2", "port must be a number"},
    {"[listener a]\nport =\n", "line 2", "port must be a number"},
    {"[listener a]\nport = 1\nservice-port = 70000\n", "line 3",
	"service-port must be a number"},
    {"[listener a]\nport = 1\nservice = socks\n", "line 3",
	"service must be smtp or proxy, not \"socks\""},
    {"[listener a]\nport = 1\nservice = SMTP\n", "line 3",
	"service must be smtp or proxy"},
    {"[listener a]\nport = 1\nservice =\n", "line 3",
	"service must be smtp or proxy"},
    {"[sensor]\nproxy-protocol-from = 192.0.2.0/33\n[listener a]\n", "line 2",
	"invalid network \"192.0.2.0/33\""},
    {"[sensor]\nproxy-protocol-from = 10.0.0.1, bogus\n", "line 2",
	"invalid network \"bogus\""},
    {"[listener a]\nport = 1\nproxy-protocol-from = ::/200\n", "line 3",
	"invalid network \"::/200\""},
    {"[listener a]\nport = 1\naddress = 192.0.2.0/24\n", "line 3",
	"address must be an IPv4 or IPv6 address"},
    {"[listener a]\nport = 1\naddress = localhost\n", "line 3",
	"address must be an IPv4 or IPv6 address"},
    {"[sensor]\nmax-connections = 0\n", "line 2",
	"max-connections must be a number"},
    {"[sensor]\nmax-connections-per-ip = 65\n", "line 2",
	"max-connections-per-ip must be a number from 1 to 64"},
    {"[sensor]\nbanner-delay-ms = 30001\n", "line 2",
	"banner-delay-ms must be a number"},
    {"[sensor]\nbanner-delay-ms = 500-100\n", "line 2",
	"banner-delay-ms must be a number from 500 to 30000, not \"100\""},
    {"[sensor]\nbanner-delay-ms = 100-30001\n", "line 2",
	"banner-delay-ms must be a number"},
    {"[sensor]\nbanner-delay-ms = -100\n", "line 2",
	"banner-delay-ms must be a number"},
    {"[sensor]\nsmtp-auth-accept = alice\n", "line 2",
	"smtp-auth-accept: \"alice\" is not user:password"},
    {"[sensor]\nsmtp-auth-accept = :secret\n", "line 2",
	"smtp-auth-accept: \":secret\" is not user:password"},
    {"[sensor]\nname =\n", "line 2", "name must be 1 to 63 bytes long, not 0"},
    {"[sensor]\nspool =\n", "line 2",
	"spool must be 1 to 4095 bytes long, not 0"},
    {"[sensor]\nuser = " "0123456789012345678901234567890123456789"
     "012345678901234567890123\n",
	"line 2", "user must be 1 to 63 bytes long, not 64"},
    {"[sensor]\n\nport = 1\n", "line 3", "unknown key \"port\""},
    {"port = 1\n", "line 1", "before any [section]"},
    {"[listener a]\nport 1\n", "line 2", "expected key = value"},
    {"", "no [listener NAME] section", ""},
    {"[sensor]\nname = lonely\n", "no [listener NAME] section", ""},
    {"[listener a]\nservice = smtp\n", "listener a", "port is missing"},
    {"[listener a]\nport = 1\n[listener b]\naddress = ::1\n", "listener b",
	"port is missing"},
};

static void
banner_delay_range(void **state)
{
	char err[512];

	(void)state;
	if (parse_text("[sensor]\nbanner-delay-ms = 250-4000\n[listener a]\n"
		       "port = 25\n",
		err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.banner_delay_ms, 250);
	assert_int_equal(cfg.banner_delay_max_ms, 4000);
	if (parse_text("[sensor]\nbanner-delay-ms = 1200\n[listener a]\n"
		       "port = 25\n",
		err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.banner_delay_ms, 1200);
	assert_int_equal(cfg.banner_delay_max_ms, 1200);
}

/* Bandwidth caps default to none; timeouts may only go down. */
static void
rate_and_timeout_keys(void **state)
{
	char err[512];

	(void)state;
	if (parse_text("[listener a]\nport = 25\n", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.rate_in, 0);
	assert_int_equal(cfg.rate_out_per_ip, 0);
	assert_int_equal(cfg.handshake_timeout, PROXY_HANDSHAKE_TIMEOUT);
	assert_int_equal(cfg.idle_timeout, SMTP_IDLE_TIMEOUT);
	if (parse_text("[sensor]\nrate-in = 1000000\nrate-out = 2000\n"
		       "rate-in-per-ip = 30000\nrate-out-per-ip = 400\n"
		       "handshake-timeout = 3\nidle-timeout = 5\n"
		       "[listener a]\nport = 25\n",
		err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.rate_in, 1000000);
	assert_int_equal(cfg.rate_out, 2000);
	assert_int_equal(cfg.rate_in_per_ip, 30000);
	assert_int_equal(cfg.rate_out_per_ip, 400);
	assert_int_equal(cfg.handshake_timeout, 3);
	assert_int_equal(cfg.idle_timeout, 5);
	assert_int_equal(parse_text("[sensor]\nhandshake-timeout = 31\n"
				    "[listener a]\nport = 25\n",
			     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "handshake-timeout"));
	assert_int_equal(parse_text("[sensor]\nidle-timeout = 301\n"
				    "[listener a]\nport = 25\n",
			     err, sizeof(err)),
	    -1);
	assert_int_equal(parse_text("[sensor]\nidle-timeout = 0\n"
				    "[listener a]\nport = 25\n",
			     err, sizeof(err)),
	    -1);
	assert_int_equal(parse_text("[sensor]\nrate-in = -1\n"
				    "[listener a]\nport = 25\n",
			     err, sizeof(err)),
	    -1);
	assert_int_equal(parse_text("[sensor]\nrate-out = 1000000001\n"
				    "[listener a]\nport = 25\n",
			     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "line 2"));
}

static void
smtp_auth_accept_pairs(void **state)
{
	char text[CONFIG_LINE_MAX * 2], err[512];
	int len;

	(void)state;
	if (parse_text("[sensor]\nsmtp-auth-accept = alice:s3cret, "
		       "bob@example.com:p:a:ss\tcarol:x\n"
		       "[listener a]\nport = 25\n",
		err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.nsmtp_auth_accept, 3);
	assert_string_equal(cfg.smtp_auth_accept[0].user, "alice");
	assert_string_equal(cfg.smtp_auth_accept[0].password, "s3cret");
	/* Only the first colon splits: passwords may hold more. */
	assert_string_equal(cfg.smtp_auth_accept[1].user, "bob@example.com");
	assert_string_equal(cfg.smtp_auth_accept[1].password, "p:a:ss");
	assert_string_equal(cfg.smtp_auth_accept[2].user, "carol");
	assert_string_equal(cfg.smtp_auth_accept[2].password, "x");

	if (parse_text("[listener a]\nport = 25\n", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.nsmtp_auth_accept, 0);

	/* One pair more than the table holds. */
	len = snprintf(text, sizeof(text), "[sensor]\nsmtp-auth-accept =");
	for (int i = 0; i <= CONFIG_AUTH_ACCEPT_MAX; i++)
		len += snprintf(
		    text + len, sizeof(text) - (size_t)len, " u%d:p", i);
	snprintf(text + len, sizeof(text) - (size_t)len, "\n");
	assert_int_equal(parse_text(text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16 pairs"));
}

static void
errors_name_line_or_listener(void **state)
{
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(error_cases); i++) {
		const struct error_case *c = &error_cases[i];

		print_message("case %zu: %s: %s\n", i, c->where, c->what);
		assert_int_equal(parse_text(c->text, err, sizeof(err)), -1);
		/* The message starts with where the mistake is. */
		if (strncmp(err, c->where, strlen(c->where)) != 0)
			fail_msg(
			    "\"%s\" does not start with \"%s\"", err, c->where);
		if (strstr(err, c->what) == NULL)
			fail_msg(
			    "\"%s\" does not contain \"%s\"", err, c->what);
	}
}

/* Append text to buf at *len, failing the test if it does not fit. */
static void
append(char *buf, size_t size, size_t *len, const char *text)
{
	size_t n = strlen(text);

	assert_true(*len + n < size);
	memcpy(buf + *len, text, n + 1);
	*len += n;
}

static void
too_many_listeners(void **state)
{
	static char text[64 * (LISTENERS_MAX + 1)];
	char section[64], err[512], want[64];
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i < LISTENERS_MAX; i++) {
		snprintf(section, sizeof(section),
		    "[listener l%d]\nport = %d\n", i, 1000 + i);
		append(text, sizeof(text), &len, section);
	}
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%d listeners: %s", LISTENERS_MAX, err);
	assert_int_equal(cfg.nlisteners, LISTENERS_MAX);

	/* The next header is on line 2 * LISTENERS_MAX + 1. */
	append(text, sizeof(text), &len, "[listener extra]\nport = 1\n");
	assert_int_equal(parse_text(text, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "line %d: more than %d listeners",
	    2 * LISTENERS_MAX + 1, LISTENERS_MAX);
	assert_string_equal(err, want);
}

static void
too_many_networks(void **state)
{
	static char text[32 * (TRUSTED_NETS_MAX + 2)];
	char net[32], err[512];
	size_t len = 0;
	int i;

	(void)state;
	append(text, sizeof(text), &len, "[listener a]\nport = 1\n");
	append(text, sizeof(text), &len, "proxy-protocol-from =");
	for (i = 0; i < TRUSTED_NETS_MAX; i++) {
		snprintf(net, sizeof(net), " 10.0.%d.0/24", i);
		append(text, sizeof(text), &len, net);
	}
	append(text, sizeof(text), &len, "\n");
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%d networks: %s", TRUSTED_NETS_MAX, err);
	assert_int_equal(cfg.listeners[0].ntrusted, TRUSTED_NETS_MAX);

	text[len - 1] = '\0';
	len--;
	append(text, sizeof(text), &len, " 10.1.0.0/16\n");
	assert_int_equal(parse_text(text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 3: more than"));
}

static void
listener_name_too_long(void **state)
{
	char text[2 * CONFIG_NAME_MAX + 64], name[CONFIG_NAME_MAX + 1];
	char err[512];

	(void)state;
	/* A name of the maximum length is kept whole. */
	memset(name, 'n', CONFIG_NAME_MAX - 1);
	name[CONFIG_NAME_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "[listener %s]\nport = 1\n", name);
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.listeners[0].name, name);

	/*
	 * One byte longer is an error.  If such names were cut to fit, two
	 * names that differ only past the cut would become equal.
	 */
	memset(name, 'n', CONFIG_NAME_MAX);
	name[CONFIG_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[listener %s]\nport = 1\n", name);
	assert_int_equal(parse_text(text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1: "));
	assert_non_null(strstr(err, "listener name"));
}

static void
hostnames_limits(void **state)
{
	static char text[512 + 16 * (CONFIG_HOSTNAMES_MAX + 1)];
	char host[32], err[512], longname[300];
	size_t len = 0;
	int i;

	(void)state;
	append(text, sizeof(text), &len, "[listener a]\nport = 1\n");
	append(text, sizeof(text), &len, "[sensor]\nhostnames =");
	for (i = 0; i < CONFIG_HOSTNAMES_MAX; i++) {
		snprintf(host, sizeof(host), " h%d.example", i);
		append(text, sizeof(text), &len, host);
	}
	append(text, sizeof(text), &len, "\n");
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.nhostnames, CONFIG_HOSTNAMES_MAX);
	assert_string_equal(
	    cfg.hostnames[CONFIG_HOSTNAMES_MAX - 1], "h31.example");

	text[len - 1] = '\0';
	len--;
	append(text, sizeof(text), &len, " extra.example\n");
	assert_int_equal(parse_text(text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 4: more than 32 host names"));

	/* 254 bytes in all, each label under 64. */
	memset(longname, 'h', 254);
	for (i = 63; i < 254; i += 64)
		longname[i] = '.';
	longname[254] = '\0';
	snprintf(text, sizeof(text),
	    "[listener a]\nport = 1\n[sensor]\nhostnames = %s\n", longname);
	assert_int_equal(parse_text(text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 4: invalid host name"));
	longname[253] = '\0';
	snprintf(text, sizeof(text),
	    "[listener a]\nport = 1\n[sensor]\nhostnames = %s\n", longname);
	if (parse_text(text, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* Host names go into banners and greetings, so only DNS names pass. */
static void
hostnames_syntax(void **state)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "mx.example.net", true },
		{ "mail-1.example", true },
		{ "localhost", true },
		{ "bad_host!name", false },
		{ "-mx.example", false },
		{ "mx-.example", false },
		{ "mx..example", false },
		{ "mx.example.", false },
		{ "a%s.example", false },
		{ "0123456789012345678901234567890123456789012345678901234567890123"
		  ".example",
		    false },
	};
	char text[512], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		print_message("case %zu: %s\n", i, cases[i].name);
		snprintf(text, sizeof(text),
		    "[listener a]\nport = 1\n[sensor]\nhostnames = %s\n",
		    cases[i].name);
		assert_int_equal(parse_text(text, err, sizeof(err)) == 0,
		    cases[i].valid);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shipped_config_parses),
	    cmocka_unit_test(demo_config_parses),
	    cmocka_unit_test(config_load_missing_file),
	    cmocka_unit_test(config_load_not_a_config_file),
	    cmocka_unit_test(minimal_config_defaults),
	    cmocka_unit_test(every_sensor_key),
	    cmocka_unit_test(listener_trusted_overrides_sensor),
	    cmocka_unit_test(errors_name_line_or_listener),
	    cmocka_unit_test(too_many_listeners),
	    cmocka_unit_test(too_many_networks),
	    cmocka_unit_test(listener_name_too_long),
	    cmocka_unit_test(hostnames_limits),
	    cmocka_unit_test(hostnames_syntax),
	    cmocka_unit_test(banner_delay_range),
	    cmocka_unit_test(smtp_auth_accept_pairs),
	    cmocka_unit_test(rate_and_timeout_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
