/*
 * spampotd.conf reader.  The file is the operator's, so it is trusted
 * not to be hostile, but every value is still checked and every error
 * names the line and the key.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ini.h"
#include "util.h"

/* Longest banner delay: 30 s, well inside every client's timeout. */
#define BANNER_DELAY_MAX_MS 30000

struct parse_ctx {
	struct sensor_config *cfg;
	struct listener_config *current;	/* NULL in [sensor] */
};

/*
 * The URL parts of the judge scripts proxy checkers use (azenv.php,
 * prxjdg, proxyjudge.info, judge pages under /env), and port 80 for
 * tunnels answered by the HTTP origin emulator.
 */
static const char *const default_judge_patterns[] = {
	"azenv", "judge", "prxjdg", "proxyjudge", "/env",
};

static void
set_list_defaults(struct sensor_config *cfg)
{
	size_t i;

	for (i = 0; i < NELEM(default_judge_patterns); i++)
		strlcpy_(cfg->judge_patterns[i], default_judge_patterns[i],
		    sizeof(cfg->judge_patterns[0]));
	cfg->njudge_patterns = (int)NELEM(default_judge_patterns);
	cfg->tunnel_http_ports[0] = 80;
	cfg->ntunnel_http_ports = 1;
	cfg->probe_relay_per_hour = PROBE_RELAY_PER_HOUR_DEFAULT;
	cfg->probe_relay_per_domain = PROBE_RELAY_PER_DOMAIN_DEFAULT;
}

void
config_defaults(struct sensor_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strlcpy_(cfg->name, "sensor", sizeof(cfg->name));
	strlcpy_(cfg->spool, "/var/lib/spampot", sizeof(cfg->spool));
	cfg->max_connections = CONN_TOTAL_MAX;
	cfg->max_connections_per_ip = CONN_PER_IP_MAX;
	cfg->banner_delay_ms = 0;
	cfg->heartbeat_interval = 60;
	cfg->min_free_disk_mb = 256;
	cfg->chroot = true;
	cfg->seccomp = true;
	cfg->handshake_timeout = PROXY_HANDSHAKE_TIMEOUT;
	cfg->idle_timeout = SMTP_IDLE_TIMEOUT;
	set_list_defaults(cfg);
}

/* Copy a text value of 1 to size - 1 bytes into out. */
static int
parse_text(const char *key, const char *value, char *out, size_t size,
    int line, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (n == 0 || n >= size) {
		snprintf(err, errlen,
		    "line %d: %s must be 1 to %zu bytes long, not %zu", line,
		    key, size - 1, n);
		return -1;
	}
	memcpy(out, value, n + 1);
	return 0;
}

static int
parse_bool(const char *key, const char *value, bool *out, int line,
    char *err, size_t errlen)
{
	if (strcmp(value, "yes") == 0) {
		*out = true;
	} else if (strcmp(value, "no") == 0) {
		*out = false;
	} else {
		snprintf(err, errlen, "line %d: %s must be yes or no, not \"%s\"",
		    line, key, value);
		return -1;
	}
	return 0;
}

/* Split a comma- or blank-separated list of networks into nets. */
static int
parse_networks(const char *value, struct cidr *nets, int *n, int line,
    char *err, size_t errlen)
{
	char buf[CONFIG_LINE_MAX + 1], *tok, *save = NULL;

	strlcpy_(buf, value, sizeof(buf));
	*n = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		if (*n == TRUSTED_NETS_MAX) {
			snprintf(err, errlen, "line %d: more than %d networks",
			    line, TRUSTED_NETS_MAX);
			return -1;
		}
		if (cidr_parse(tok, &nets[*n]) < 0) {
			snprintf(err, errlen,
			    "line %d: invalid network \"%s\" (expected an "
			    "address or address/prefix)",
			    line, tok);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

static int
parse_number(const char *key, const char *value, long min, long max,
    int *out, int line, char *err, size_t errlen)
{
	long v;

	if (parse_long(value, min, max, &v) < 0) {
		snprintf(err, errlen,
		    "line %d: %s must be a number from %ld to %ld, not \"%s\"",
		    line, key, min, max, value);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/*
 * Return true for a DNS host name (RFC 1123): labels of 1 to 63
 * letters, digits and hyphens, not starting or ending with a hyphen,
 * joined by dots, 253 bytes in all at most.
 */
static bool
valid_hostname(const char *name)
{
	size_t label = 0, i, n = strlen(name);

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i <= n; i++) {
		if (name[i] == '.' || name[i] == '\0') {
			if (label == 0 || label > 63 || name[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)name[i]) ||
		    (name[i] == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static int
parse_hostnames(struct sensor_config *cfg, const char *value, int line,
    char *err, size_t errlen)
{
	char buf[CONFIG_LINE_MAX + 1], *tok, *save = NULL;

	strlcpy_(buf, value, sizeof(buf));
	cfg->nhostnames = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (cfg->nhostnames == CONFIG_HOSTNAMES_MAX) {
			snprintf(err, errlen,
			    "line %d: more than %d host names", line,
			    CONFIG_HOSTNAMES_MAX);
			return -1;
		}
		if (!valid_hostname(tok)) {
			snprintf(err, errlen,
			    "line %d: invalid host name \"%.64s\": use "
			    "labels of letters, digits and '-', joined by "
			    "'.', 253 bytes at most",
			    line, tok);
			return -1;
		}
		strlcpy_(cfg->hostnames[cfg->nhostnames++], tok,
		    sizeof(cfg->hostnames[0]));
	}
	return 0;
}

/*
 * banner-delay-ms: "MIN-MAX" or one value, in milliseconds, up to
 * BANNER_DELAY_MAX_MS.
 */
static int
parse_delay_range(struct sensor_config *cfg, const char *key,
    const char *value, int line, char *err, size_t errlen)
{
	char low[32];
	const char *dash = strchr(value, '-');
	size_t n = dash != NULL ? (size_t)(dash - value) : strlen(value);

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	memcpy(low, value, n);
	low[n] = '\0';
	if (parse_number(key, low, 0, BANNER_DELAY_MAX_MS,
	    &cfg->banner_delay_ms, line, err, errlen) < 0)
		return -1;
	cfg->banner_delay_max_ms = cfg->banner_delay_ms;
	if (dash == NULL)
		return 0;
	return parse_number(key, dash + 1, cfg->banner_delay_ms,
	    BANNER_DELAY_MAX_MS, &cfg->banner_delay_max_ms, line, err, errlen);
}

/*
 * smtp-auth-accept: "user:password" pairs separated by commas or
 * blanks, so neither part can contain those; "none" is empty.
 */
static int
parse_auth_accept(struct sensor_config *cfg, const char *value, int line,
    char *err, size_t errlen)
{
	char buf[CONFIG_LINE_MAX + 1], *tok, *save = NULL, *colon;
	int n = 0;

	strlcpy_(buf, value, sizeof(buf));
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		colon = strchr(tok, ':');
		if (colon == NULL || colon == tok ||
		    (size_t)(colon - tok) > SMTP_AUTH_FIELD_MAX ||
		    strlen(colon + 1) > SMTP_AUTH_FIELD_MAX) {
			snprintf(err, errlen,
			    "line %d: smtp-auth-accept: \"%s\" is not "
			    "user:password (each at most %d bytes)",
			    line, tok, SMTP_AUTH_FIELD_MAX);
			return -1;
		}
		if (n == CONFIG_AUTH_ACCEPT_MAX) {
			snprintf(err, errlen,
			    "line %d: smtp-auth-accept: more than %d pairs",
			    line, CONFIG_AUTH_ACCEPT_MAX);
			return -1;
		}
		*colon = '\0';
		strlcpy_(cfg->smtp_auth_accept[n].user, tok,
		    sizeof(cfg->smtp_auth_accept[n].user));
		strlcpy_(cfg->smtp_auth_accept[n].password, colon + 1,
		    sizeof(cfg->smtp_auth_accept[n].password));
		n++;
	}
	cfg->nsmtp_auth_accept = n;
	return 0;
}

/* Split a comma- or blank-separated list of words; "none" is empty. */
static int
parse_words(const char *key, const char *value,
    char (*words)[CONFIG_PATTERN_MAX], int *n, int line, char *err,
    size_t errlen)
{
	char buf[CONFIG_LINE_MAX + 1], *tok, *save = NULL;

	strlcpy_(buf, value, sizeof(buf));
	*n = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		if (*n == CONFIG_PATTERNS_MAX ||
		    strlen(tok) >= CONFIG_PATTERN_MAX) {
			snprintf(err, errlen,
			    "line %d: %s: more than %d entries, or one longer "
			    "than %d bytes",
			    line, key, CONFIG_PATTERNS_MAX,
			    CONFIG_PATTERN_MAX - 1);
			return -1;
		}
		strlcpy_(words[(*n)++], tok, CONFIG_PATTERN_MAX);
	}
	return 0;
}

/* Split a comma- or blank-separated list of ports; "none" is empty. */
static int
parse_ports(const char *key, const char *value, int *ports, int *n, int line,
    char *err, size_t errlen)
{
	char buf[CONFIG_LINE_MAX + 1], *tok, *save = NULL;

	strlcpy_(buf, value, sizeof(buf));
	*n = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		if (*n == CONFIG_PORTS_MAX) {
			snprintf(err, errlen, "line %d: %s: more than %d ports",
			    line, key, CONFIG_PORTS_MAX);
			return -1;
		}
		if (parse_number(key, tok, 1, 65535, &ports[*n], line, err,
			errlen) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

/*
 * Largest bandwidth cap: a gigabyte per second is more than a sensor's
 * link, and it keeps every bucket's arithmetic far from overflow.
 */
#define RATE_CONFIG_MAX 1000000000

/*
 * Numeric keys of the bandwidth caps and timeouts.  A timeout may only
 * be lowered from its built-in value, so that a configuration cannot
 * let a peer hold a connection longer than spampot_limits.h allows.
 */
static const struct {
	const char *key;
	size_t offset;
	long min, max;
} limit_keys[] = {
	{ "rate-in", offsetof(struct sensor_config, rate_in), 0,
	    RATE_CONFIG_MAX },
	{ "rate-out", offsetof(struct sensor_config, rate_out), 0,
	    RATE_CONFIG_MAX },
	{ "rate-in-per-ip", offsetof(struct sensor_config, rate_in_per_ip),
	    0, RATE_CONFIG_MAX },
	{ "rate-out-per-ip", offsetof(struct sensor_config, rate_out_per_ip),
	    0, RATE_CONFIG_MAX },
	{ "handshake-timeout",
	    offsetof(struct sensor_config, handshake_timeout), 1,
	    PROXY_HANDSHAKE_TIMEOUT },
	{ "idle-timeout", offsetof(struct sensor_config, idle_timeout), 1,
	    SMTP_IDLE_TIMEOUT },
};

/* Keys of limit_keys; returns 1 when key is not one of them. */
static int
limit_key(struct sensor_config *cfg, const char *key, const char *value,
    int line, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NELEM(limit_keys); i++)
		if (strcmp(key, limit_keys[i].key) == 0)
			return parse_number(key, value, limit_keys[i].min,
			    limit_keys[i].max,
			    (int *)((char *)cfg + limit_keys[i].offset), line,
			    err, errlen);
	return 1;
}

/*
 * Parse "192.0.2.1:25" or "[2001:db8::1]:25" into ss.  Names are not
 * accepted: the sensor resolves nothing.
 */
int
parse_host_port(const char *text, struct sockaddr_storage *ss)
{
	char host[ADDR_TEXT_MAX];
	const char *colon = strrchr(text, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t n;
	long port;

	if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) < 0)
		return -1;
	n = (size_t)(colon - text);
	if (n > 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	} else {
		return -1;
	}
	return 0;
}

/* Keys of the proxy deception; returns 1 when key is not one of them. */
static int
deception_key(struct sensor_config *cfg, const char *key, const char *value,
    int line, char *err, size_t errlen)
{
	if (strcmp(key, "judge-patterns") == 0)
		return parse_words(key, value, cfg->judge_patterns,
		    &cfg->njudge_patterns, line, err, errlen);
	if (strcmp(key, "probe-recipients") == 0)
		return parse_words(key, value, cfg->probe_recipients,
		    &cfg->nprobe_recipients, line, err, errlen);
	if (strcmp(key, "tunnel-accept-ports") == 0)
		return parse_ports(key, value, cfg->tunnel_accept_ports,
		    &cfg->ntunnel_accept_ports, line, err, errlen);
	if (strcmp(key, "tunnel-http-ports") == 0)
		return parse_ports(key, value, cfg->tunnel_http_ports,
		    &cfg->ntunnel_http_ports, line, err, errlen);
	if (strcmp(key, "own-addresses") == 0)
		return parse_networks(value, cfg->own_addresses,
		    &cfg->nown_addresses, line, err, errlen);
	if (strcmp(key, "probe-relay") == 0)
		return parse_bool(key, value, &cfg->probe_relay, line, err,
		    errlen);
	if (strcmp(key, "probe-relay-per-hour") == 0)
		return parse_number(key, value, 1, PROBE_RELAY_PER_HOUR_MAX,
		    &cfg->probe_relay_per_hour, line, err, errlen);
	if (strcmp(key, "probe-relay-per-domain") == 0)
		return parse_number(key, value, 1, PROBE_RELAY_PER_HOUR_MAX,
		    &cfg->probe_relay_per_domain, line, err, errlen);
	if (strcmp(key, "probe-relay-host") == 0) {
		struct sockaddr_storage ss;

		if (parse_host_port(value, &ss) < 0) {
			snprintf(err, errlen,
			    "line %d: probe-relay-host must be an IP address "
			    "and port, e.g. 127.0.0.1:2525, not \"%s\"",
			    line, value);
			return -1;
		}
		strlcpy_(cfg->probe_relay_host, value,
		    sizeof(cfg->probe_relay_host));
		return 0;
	}
	return 1;
}

static int
sensor_key(struct sensor_config *cfg, const char *key, const char *value,
    int line, char *err, size_t errlen)
{
	int rc;

	if ((rc = deception_key(cfg, key, value, line, err, errlen)) != 1)
		return rc;
	if ((rc = limit_key(cfg, key, value, line, err, errlen)) != 1)
		return rc;

	if (strcmp(key, "name") == 0) {
		return parse_text(key, value, cfg->name, sizeof(cfg->name), line,
		    err, errlen);
	} else if (strcmp(key, "spool") == 0) {
		return parse_text(key, value, cfg->spool, sizeof(cfg->spool),
		    line, err, errlen);
	} else if (strcmp(key, "hostnames") == 0) {
		return parse_hostnames(cfg, value, line, err, errlen);
	} else if (strcmp(key, "proxy-protocol-from") == 0) {
		return parse_networks(value, cfg->trusted, &cfg->ntrusted,
		    line, err, errlen);
	} else if (strcmp(key, "max-connections") == 0) {
		return parse_number(key, value, 1, CONN_TOTAL_MAX,
		    &cfg->max_connections, line, err, errlen);
	} else if (strcmp(key, "max-connections-per-ip") == 0) {
		return parse_number(key, value, 1, CONN_PER_IP_MAX,
		    &cfg->max_connections_per_ip, line, err, errlen);
	} else if (strcmp(key, "user") == 0) {
		return parse_text(key, value, cfg->user, sizeof(cfg->user), line,
		    err, errlen);
	} else if (strcmp(key, "chroot") == 0) {
		return parse_bool(key, value, &cfg->chroot, line, err, errlen);
	} else if (strcmp(key, "seccomp") == 0) {
		return parse_bool(key, value, &cfg->seccomp, line, err, errlen);
	} else if (strcmp(key, "heartbeat-interval") == 0) {
		return parse_number(key, value, 1, 3600,
		    &cfg->heartbeat_interval, line, err, errlen);
	} else if (strcmp(key, "min-free-disk-mb") == 0) {
		return parse_number(key, value, 0, 1000000,
		    &cfg->min_free_disk_mb, line, err, errlen);
	} else if (strcmp(key, "banner-delay-ms") == 0) {
		return parse_delay_range(cfg, key, value, line, err, errlen);
	} else if (strcmp(key, "smtp-auth-accept") == 0) {
		return parse_auth_accept(cfg, value, line, err, errlen);
	} else {
		snprintf(err, errlen, "line %d: unknown key \"%s\" in [sensor]",
		    line, key);
		return -1;
	}
	return 0;
}

static int
listener_key(struct listener_config *l, const char *key, const char *value,
    int line, char *err, size_t errlen)
{
	struct cidr probe;

	if (strcmp(key, "address") == 0) {
		if (cidr_parse(value, &probe) < 0 || strchr(value, '/')) {
			snprintf(err, errlen,
			    "line %d: address must be an IPv4 or IPv6 address, "
			    "not \"%s\"",
			    line, value);
			return -1;
		}
		strlcpy_(l->address, value, sizeof(l->address));
	} else if (strcmp(key, "port") == 0) {
		return parse_number(key, value, 1, 65535, &l->port, line, err,
		    errlen);
	} else if (strcmp(key, "service-port") == 0) {
		return parse_number(key, value, 1, 65535, &l->service_port,
		    line, err, errlen);
	} else if (strcmp(key, "service") == 0) {
		if (strcmp(value, "smtp") == 0) {
			l->service = SERVICE_SMTP;
		} else if (strcmp(value, "proxy") == 0) {
			l->service = SERVICE_PROXY;
		} else {
			snprintf(err, errlen,
			    "line %d: service must be smtp or proxy, not "
			    "\"%s\"",
			    line, value);
			return -1;
		}
	} else if (strcmp(key, "proxy-protocol-from") == 0) {
		l->trusted_set = true;
		return parse_networks(value, l->trusted, &l->ntrusted, line,
		    err, errlen);
	} else {
		snprintf(err, errlen,
		    "line %d: unknown key \"%s\" in [listener %s]", line, key,
		    l->name);
		return -1;
	}
	return 0;
}

static int
start_section(struct parse_ctx *ctx, const char *section, const char *name,
    int line, char *err, size_t errlen)
{
	struct sensor_config *cfg = ctx->cfg;
	struct listener_config *l;
	int i;

	if (strcmp(section, "sensor") == 0 && name == NULL) {
		ctx->current = NULL;
		return 0;
	}
	if (strcmp(section, "listener") != 0 || name == NULL) {
		snprintf(err, errlen,
		    "line %d: unknown section [%s%s%s] (expected [sensor] "
		    "or [listener NAME])",
		    line, section, name != NULL ? " " : "",
		    name != NULL ? name : "");
		return -1;
	}
	/* A name cut to fit could equal another listener's. */
	if (strlen(name) >= sizeof(cfg->listeners[0].name)) {
		snprintf(err, errlen,
		    "line %d: listener name longer than %zu bytes", line,
		    sizeof(cfg->listeners[0].name) - 1);
		return -1;
	}
	if (cfg->nlisteners == LISTENERS_MAX) {
		snprintf(err, errlen, "line %d: more than %d listeners", line,
		    LISTENERS_MAX);
		return -1;
	}
	for (i = 0; i < cfg->nlisteners; i++) {
		if (strcmp(cfg->listeners[i].name, name) == 0) {
			snprintf(err, errlen,
			    "line %d: listener \"%s\" defined twice", line,
			    name);
			return -1;
		}
	}
	l = &cfg->listeners[cfg->nlisteners++];
	memset(l, 0, sizeof(*l));
	strlcpy_(l->name, name, sizeof(l->name));
	strlcpy_(l->address, "127.0.0.1", sizeof(l->address));
	l->service = SERVICE_PROXY;
	ctx->current = l;
	return 0;
}

static int
handle(void *arg, const char *section, const char *name, const char *key,
    const char *value, int line, char *err, size_t errlen)
{
	struct parse_ctx *ctx = arg;

	if (key == NULL)
		return start_section(ctx, section, name, line, err, errlen);
	if (ctx->current == NULL)
		return sensor_key(ctx->cfg, key, value, line, err, errlen);
	return listener_key(ctx->current, key, value, line, err, errlen);
}

bool
config_is_mail_port(int port)
{
	return port == 25 || port == 587;
}

/* Reject a port of the tunnel lists that another rule takes first. */
static int
check_tunnel_ports(const struct sensor_config *cfg, char *err,
    size_t errlen)
{
	const struct {
		const char *key;
		const int *ports;
		int n;
	} lists[] = {
		{ "tunnel-http-ports", cfg->tunnel_http_ports,
		    cfg->ntunnel_http_ports },
		{ "tunnel-accept-ports", cfg->tunnel_accept_ports,
		    cfg->ntunnel_accept_ports },
	};
	size_t i;
	int j, k;

	for (i = 0; i < NELEM(lists); i++) {
		for (j = 0; j < lists[i].n; j++) {
			if (config_is_mail_port(lists[i].ports[j])) {
				snprintf(err, errlen,
				    "%s: %d is a mail port, and a tunnel to "
				    "it always goes to the SMTP emulator",
				    lists[i].key, lists[i].ports[j]);
				return -1;
			}
		}
	}
	for (j = 0; j < lists[0].n; j++) {
		for (k = 0; k < lists[1].n; k++) {
			if (lists[0].ports[j] == lists[1].ports[k]) {
				snprintf(err, errlen,
				    "port %d is in both tunnel-http-ports and "
				    "tunnel-accept-ports",
				    lists[0].ports[j]);
				return -1;
			}
		}
	}
	return 0;
}

static int
check(struct sensor_config *cfg, char *err, size_t errlen)
{
	int i, j;

	if (cfg->nlisteners == 0) {
		snprintf(err, errlen, "no [listener NAME] section");
		return -1;
	}
	for (i = 0; i < cfg->nlisteners; i++) {
		struct listener_config *l = &cfg->listeners[i];

		if (l->port == 0) {
			snprintf(err, errlen, "listener %s: port is missing",
			    l->name);
			return -1;
		}
		if (l->service_port == 0)
			l->service_port = l->port;
		for (j = 0; j < i; j++) {
			const struct listener_config *o = &cfg->listeners[j];

			if (o->port == l->port &&
			    strcmp(o->address, l->address) == 0) {
				snprintf(err, errlen,
				    "listeners %s and %s both use %s port %d",
				    o->name, l->name, l->address, l->port);
				return -1;
			}
		}
	}
	if (check_tunnel_ports(cfg, err, errlen) < 0)
		return -1;
	if (cfg->probe_relay && cfg->probe_relay_host[0] == '\0') {
		snprintf(err, errlen,
		    "probe-relay = yes needs probe-relay-host (address:port)");
		return -1;
	}
	if (cfg->nhostnames == 0) {
		char host[256];

		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			strlcpy_(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		strlcpy_(cfg->hostnames[0], host, sizeof(cfg->hostnames[0]));
		cfg->nhostnames = 1;
	}
	return 0;
}

int
config_parse(const char *text, size_t len, struct sensor_config *cfg,
    char *err, size_t errlen)
{
	struct parse_ctx ctx = { cfg, NULL };

	config_defaults(cfg);
	if (ini_parse(text, len, handle, &ctx, err, errlen) < 0)
		return -1;
	return check(cfg, err, errlen);
}

int
config_load(const char *path, struct sensor_config *cfg, char *err,
    size_t errlen)
{
	char inner[512];
	size_t len;
	char *text = read_file(path, CONFIG_SIZE_MAX, &len);
	int rc;

	if (text == NULL) {
		snprintf(err, errlen, "cannot read \"%s\": %s", path,
		    read_file_error(errno, CONFIG_SIZE_MAX, inner,
			sizeof(inner)));
		return -1;
	}
	rc = config_parse(text, len, cfg, inner, sizeof(inner));
	free(text);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, inner);
	return rc;
}

const struct cidr *
config_trusted(const struct sensor_config *cfg,
    const struct listener_config *l, int *n)
{
	if (l->trusted_set) {
		*n = l->ntrusted;
		return l->trusted;
	}
	*n = cfg->ntrusted;
	return cfg->trusted;
}
