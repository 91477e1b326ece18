/*
 * The sensor's configuration file (spampotd.conf(5)): one [sensor]
 * section and one [listener NAME] section per listening socket.
 */
#ifndef SPAMPOT_CONFIG_H
#define SPAMPOT_CONFIG_H

#include <limits.h>
#include <sys/socket.h>
#include <stdbool.h>

#include "spampot_limits.h"
#include "netaddr.h"

#define CONFIG_NAME_MAX	     64
#define CONFIG_HOSTNAMES_MAX 32
#define CONFIG_PATTERNS_MAX  32	/* judge-patterns, probe-recipients */
#define CONFIG_PATTERN_MAX   128
#define CONFIG_PORTS_MAX     32	/* tunnel-accept-ports, tunnel-http-ports */
#define CONFIG_AUTH_ACCEPT_MAX 16	/* smtp-auth-accept pairs */

enum service {
	SERVICE_SMTP,	/* an open relay: SMTP from the first byte */
	SERVICE_PROXY,	/* SOCKS4/4a/5 or HTTP, told apart by the first bytes */
};

struct listener_config {
	char name[CONFIG_NAME_MAX];
	char address[ADDR_TEXT_MAX];
	int port;
	enum service service;
	int service_port;	/* the port a firewall redirect maps here */
	bool trusted_set;	/* proxy-protocol-from given for this listener */
	struct cidr trusted[TRUSTED_NETS_MAX];
	int ntrusted;
};

struct sensor_config {
	char name[CONFIG_NAME_MAX];
	char spool[PATH_MAX];
	char hostnames[CONFIG_HOSTNAMES_MAX][256];
	int nhostnames;
	struct cidr trusted[TRUSTED_NETS_MAX];	/* default for listeners */
	int ntrusted;
	int max_connections;
	int max_connections_per_ip;
	/*
	 * The SMTP banner waits a delay drawn per connection from
	 * [banner_delay_ms, banner_delay_max_ms], as a real MTA does
	 * while it looks the client up; 0 sends it at once.
	 */
	int banner_delay_ms;
	int banner_delay_max_ms;
	/* The only AUTH credentials that succeed: user and password. */
	struct {
		char user[SMTP_AUTH_FIELD_MAX + 1];
		char password[SMTP_AUTH_FIELD_MAX + 1];
	} smtp_auth_accept[CONFIG_AUTH_ACCEPT_MAX];
	int nsmtp_auth_accept;
	int heartbeat_interval;		/* seconds */
	int min_free_disk_mb;		/* below it, no new mail is taken */
	char user[64];			/* to run as after binding, as root */
	bool chroot;			/* into the spool, as root */
	bool seccomp;

	/* Bandwidth caps in bytes per second; 0 means no cap. */
	int rate_in, rate_out;			/* the whole sensor */
	int rate_in_per_ip, rate_out_per_ip;	/* each source address */

	/* Timeouts in seconds, never above their spampot_limits.h values. */
	int handshake_timeout;		/* PROXY_HANDSHAKE_TIMEOUT */
	int idle_timeout;		/* SMTP_IDLE_TIMEOUT */

	struct listener_config listeners[LISTENERS_MAX];
	int nlisteners;

	/* Proxy deception and probes. */
	char judge_patterns[CONFIG_PATTERNS_MAX][CONFIG_PATTERN_MAX];
	int njudge_patterns;
	int tunnel_accept_ports[CONFIG_PORTS_MAX];	/* succeed, then sink */
	int ntunnel_accept_ports;
	int tunnel_http_ports[CONFIG_PORTS_MAX];	/* origin emulator */
	int ntunnel_http_ports;
	struct cidr own_addresses[TRUSTED_NETS_MAX];	/* besides listeners */
	int nown_addresses;
	char probe_recipients[CONFIG_PATTERNS_MAX][CONFIG_PATTERN_MAX];
	int nprobe_recipients;				/* fnmatch(3) globs */
	bool probe_relay;		/* relay probes to probe_relay_host */
	char probe_relay_host[ADDR_TEXT_MAX + 8];	/* address:port */
	int probe_relay_per_hour;
	int probe_relay_per_domain;	/* per recipient domain and hour */
};

/* Parse "address:port" ("[v6]:port") into ss; returns 0 or -1. */
int parse_host_port(const char *text, struct sockaddr_storage *ss);

/* Set the defaults that apply when a key is absent. */
void config_defaults(struct sensor_config *cfg);

/* Parse configuration text; returns 0, or -1 with a message in err. */
int config_parse(const char *text, size_t len, struct sensor_config *cfg,
    char *err, size_t errlen);

/* Read and parse the file at path; returns 0, or -1 with err. */
int config_load(const char *path, struct sensor_config *cfg, char *err,
    size_t errlen);

/* The trusted PROXY-protocol networks in force for listener l. */
/*
 * Return true for a mail port (25, 587).  A tunnel to one always leads
 * to the SMTP emulator, so the tunnel port lists may not contain it.
 */
bool config_is_mail_port(int port);

const struct cidr *config_trusted(const struct sensor_config *cfg,
    const struct listener_config *l, int *n);

#endif
