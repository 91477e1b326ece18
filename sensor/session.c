/*
 * One connection, from accept to close: an optional PROXY header from
 * a trusted relay, then either SMTP (on an SMTP listener) or a proxy
 * handshake recognised by its first byte (SOCKS4/4a, SOCKS5 or HTTP).
 * A granted tunnel hands the same socket to an emulator: a mail port
 * to the SMTP emulator, an HTTP port to the origin emulator, one of the
 * sensor's own ports to that listener (a chain), a port configured as
 * a sink to nothing at all.  Every other tunnel is refused the way a
 * real proxy refuses it.
 *
 * Nothing here opens a connection: a "tunnel" is an emulator talking
 * on the client's own socket.  All peer bytes go through the parsers
 * in socks.c, httpproxy.c, proxyproto.c, httpemu.c and smtp.c, which
 * bound them.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpemu.h"
#include "httpproxy.h"
#include "jsonw.h"
#include "spampot_limits.h"
#include "netaddr.h"
#include "probe.h"
#include "proberelay.h"
#include "proxyproto.h"
#include "sensor.h"
#include "smtp.h"
#include "socks.h"
#include "synsig.h"
#include "tlshello.h"
#include "util.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80	/* from <linux/netfilter_ipv4.h> */
#endif

/* Text of one chain hop, "protocol:host:port", cut to fit an event. */
#define CHAIN_HOP_TEXT_MAX 96

/* Largest Squid error page with its head. */
#define HTTP_ERROR_MAX 8192

/* Bytes of a sink tunnel's start logged in hex, e.g. a TLS header. */
#define TUNNEL_FIRST_BYTES_LOGGED 64

/* The emulator an accepted CONNECT leads to; see tunnel_kind(). */
enum tunnel_kind {
	TUNNEL_REFUSE,
	TUNNEL_SMTP,	/* a mail port: the SMTP emulator */
	TUNNEL_HTTP,	/* an HTTP port: the origin emulator */
	TUNNEL_SINK,	/* tunnel-accept-ports: success, then silence */
	TUNNEL_CHAIN,	/* one of the sensor's own listeners */
};

enum conn_state {
	CONN_PROXY_HEADER,	/* a trusted relay's PROXY header */
	CONN_SNIFF,		/* proxy port: the first byte decides */
	CONN_SOCKS4,
	CONN_SOCKS5_GREETING,
	CONN_SOCKS5_AUTH,
	CONN_SOCKS5_REQUEST,
	CONN_HTTP,
	CONN_HTTP_BODY,		/* a request body the origin emulator reads */
	CONN_TUNNEL_SINK,	/* an accepted tunnel that leads nowhere */
	CONN_BANNER_DELAY,	/* SMTP, before the 220 */
	CONN_SMTP,
	CONN_CLOSING,		/* flushing replies, then close */
};

static const char *const state_names[] = {
	[CONN_PROXY_HEADER] = "proxy-header",
	[CONN_SNIFF] = "sniff",
	[CONN_SOCKS4] = "socks4",
	[CONN_SOCKS5_GREETING] = "socks5-greeting",
	[CONN_SOCKS5_AUTH] = "socks5-auth",
	[CONN_SOCKS5_REQUEST] = "socks5-request",
	[CONN_HTTP] = "http",
	[CONN_HTTP_BODY] = "http-body",
	[CONN_TUNNEL_SINK] = "tunnel-sink",
	[CONN_BANNER_DELAY] = "banner-delay",
	[CONN_SMTP] = "smtp",
	[CONN_CLOSING] = "closing",
};

/*
 * A proxy session's target and its chain through the sensor's own
 * ports, 1.3 KB, so allocated at the first proxy request and not for
 * every SMTP session.
 */
struct proxy_route {
	char target[SOCKS_FIELD_MAX + 16];	/* host:port or [v6]:port */
	char target_host[SOCKS_FIELD_MAX + 1];
	char chain[PROXY_CHAIN_DEPTH_MAX][CHAIN_HOP_TEXT_MAX];
	int hops;
};

struct conn {
	struct server *srv;
	struct listener *lst;
	struct bufferevent *bev;
	enum conn_state state;
	char id[32];

	struct sockaddr_storage peer, local;
	char peer_ip[ADDR_TEXT_MAX];	/* who connected */
	char src_ip[ADDR_TEXT_MAX];	/* the client: peer or PROXY source */
	int src_port;
	char admitted_ip[ADDR_TEXT_MAX]; /* counted against the caps */
	bool relayed;			/* src came from a PROXY header */
	int service_port;

	const char *protocol;		/* "smtp", "socks5", "http", ... */
	char os_signature[SYNSIG_TEXT_MAX]; /* p0f-style, "" if unknown */
	char local_ip[ADDR_TEXT_MAX];	/* the sensor address it reached */

	struct proxy_route *route;	/* NULL until a proxy request */
	struct probe_marks marks;
	bool origin;			/* HTTP behind a tunnel: origin-form */
	char *http_head;		/* a request head waiting for its body */
	struct http_request *http_req;	/* parsed from http_head */
	struct http_body *http_body;
	uint8_t *sink_prefix;		/* a sink tunnel's first bytes */
	size_t sink_len;
	uint64_t sink_bytes;

	struct smtp_session *smtp;
	struct smtp_host smtp_host;	/* the emulator keeps a pointer */
	const char *personality;
	const char *hostname;
	bool smtp_paused;
	bool output_paused;		/* over CONN_OUTPUT_MAX, not reading */
	enum { TLS_OFF, TLS_HANDSHAKE, TLS_ON } tls_state;
	const char *tls_version;	/* OpenSSL's static names, once TLS_ON */
	const char *tls_cipher;
	bool waiting_commit;
	bool finished;			/* closed and flushed: free when idle */
	int holds;			/* callbacks under way on this session */
	struct conn *next_waiting;

	struct event *timer;		/* the session's time limit */
	struct event *banner_timer;	/* the delay before the 220 */
	struct rate_gate *gate;		/* bandwidth caps, NULL if none */
	struct conn *prev, *next;	/* all connections, for shutdown */
	int64_t start_usec;
	int64_t end_usec;		/* when closing began, 0 before */
	uint64_t bytes_in, bytes_out;
	size_t input_seen;		/* bytes of input already counted */
	size_t linger_left;		/* input still taken after closing */
	const char *end_reason;
};

static void process_input(struct conn *c);
static void conn_close(struct conn *c, const char *reason);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void read_cb(struct bufferevent *bev, void *arg);
static void conn_hold(struct conn *c);
static void conn_release(struct conn *c);

struct conn **
session_next_waiting(struct conn *c)
{
	return &c->next_waiting;
}

static const char *
conn_target(const struct conn *c)
{
	return c->route != NULL ? c->route->target : "";
}

static int
conn_hops(const struct conn *c)
{
	return c->route != NULL ? c->route->hops : 0;
}

/* Add the hops so far to an event as proxy.hops and proxy.chain. */
static void
add_chain(const struct conn *c, struct jsonw *w)
{
	int i;

	jsonw_int(w, "proxy.hops", conn_hops(c));
	jsonw_array_begin(w, "proxy.chain");
	for (i = 0; i < conn_hops(c); i++)
		jsonw_array_strn(w, c->route->chain[i],
		    strlen(c->route->chain[i]));
	jsonw_array_end(w);
}

static void
set_state(struct conn *c, enum conn_state next)
{
	c->state = next;
}

static void
send_bytes(struct conn *c, const void *buf, size_t len)
{
	ssize_t n = 0;

	if (c->bev == NULL)
		return;
	c->bytes_out += len;
	/*
	 * A plain socket with nothing queued is written to at once: a
	 * reply nearly always fits in the socket's buffer, and queueing
	 * it would cost two epoll_ctl calls, to arm the write event and
	 * to disarm it once drained.  The rest, and all output under TLS
	 * or bandwidth caps, goes through the bufferevent, which also
	 * reports any error of the socket.
	 */
	if (c->tls_state == TLS_OFF && c->gate == NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		n = send(bufferevent_getfd(c->bev), buf, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		bufferevent_write(c->bev, (const char *)buf + n, len - (size_t)n);
}

static void
new_event(struct conn *c, struct jsonw *w, char *buf, size_t cap,
    const char *action)
{
	event_begin(w, buf, cap, c->srv, action, c->id);
}

static void
emit_session_start(struct conn *c)
{
	char buf[EVENT_LINE_MAX], local_ip[ADDR_TEXT_MAX];
	struct jsonw w;

	addr_to_text((struct sockaddr *)&c->local, local_ip);
	new_event(c, &w, buf, sizeof(buf), "session.start");
	jsonw_str(&w, "source.ip", c->src_ip);
	jsonw_int(&w, "source.port", c->src_port);
	if (c->relayed)
		jsonw_str(&w, "relay.ip", c->peer_ip);
	jsonw_str(&w, "destination.ip", local_ip);
	jsonw_int(&w, "destination.port", c->service_port);
	jsonw_int(&w, "listener.port", c->lst->cfg->port);
	jsonw_str(&w, "listener.service",
	    c->lst->cfg->service == SERVICE_SMTP ? "smtp" : "proxy");
	if (c->os_signature[0] != '\0')
		jsonw_str(&w, "source.os.signature", c->os_signature);
	event_emit(c->srv, &w);
}

static void
emit_rejected(struct server *srv, const char *ip, int port, const char *why)
{
	char buf[EVENT_LINE_MAX];
	struct jsonw w;

	srv->rejected++;
	event_begin(&w, buf, sizeof(buf), srv, "session.rejected", NULL);
	jsonw_str(&w, "source.ip", ip);
	jsonw_int(&w, "destination.port", port);
	jsonw_str(&w, "event.reason", why);
	event_emit(srv, &w);
}

/* SMTP emulator host callbacks. */

static void
smtp_send_cb(void *ctx, const char *buf, size_t len)
{
	send_bytes(ctx, buf, len);
}

static bool
smtp_reserve_cb(void *ctx, long bytes)
{
	struct conn *c = ctx;

	if (bytes > 0 &&
	    c->srv->body_bytes + bytes > (long)SMTP_BODY_MEMORY_MAX)
		return false;
	c->srv->body_bytes += bytes;
	return true;
}

static bool
smtp_accepting_cb(void *ctx)
{
	struct conn *c = ctx;

	return !c->srv->capture_paused;
}

static int64_t
smtp_now_cb(void *ctx)
{
	(void)ctx;
	return now_usec() / 1000000;
}

/*
 * Hand a probe to the relay, made on first use: only a probe ever
 * reaches it, and only when the configuration turned it on.
 */
static enum probe_relay_result
relay_probe(struct conn *c, const struct smtp_envelope *env)
{
	static struct probe_relay *relay;
	const struct sensor_config *cfg = c->srv->cfg;
	struct sockaddr_storage host;

	if (relay == NULL) {
		if (parse_host_port(cfg->probe_relay_host, &host) < 0)
			return PROBE_RELAY_FAILED;
		relay = probe_relay_new(c->srv->base, &host,
		    cfg->probe_relay_per_hour, cfg->probe_relay_per_domain);
	}
	return probe_relay_submit(relay, c->id, c->hostname, env->mail_from,
	    env->rcpts, env->rcpt_logged, env->body, env->size);
}

/*
 * Mark a message that carries this sensor's address and proxy port,
 * or goes to a test recipient, as a probe, and add the chain it came
 * through.
 */
static void
add_message_probe(struct conn *c, struct jsonw *w,
    const struct smtp_envelope *env)
{
	struct probe_marks marks = c->marks;
	uint8_t addr[16];
	char reason[128];
	bool probe;

	/* The claimed target, when it is an address and not a name. */
	if (c->route != NULL &&
	    (inet_pton(AF_INET, c->route->target_host, addr) == 1 ||
		inet_pton(AF_INET6, c->route->target_host, addr) == 1))
		probe_add_addr(&marks, c->route->target_host);
	probe = probe_check_message(&marks, env->body, env->size, env->rcpts,
	    env->rcpt_logged, reason, sizeof(reason));
	jsonw_bool(w, "message.probe", probe);
	if (probe)
		jsonw_str(w, "message.probe_reason", reason);
	if (probe && c->srv->cfg->probe_relay)
		jsonw_str(w, "message.probe_relay",
		    probe_relay_result_name(relay_probe(c, env)));
	if (conn_hops(c) == 0)
		return;
	add_chain(c, w);
}

static void
add_tls_fields(const struct conn *c, struct jsonw *w)
{
	if (c->tls_state != TLS_ON)
		return;
	jsonw_str(w, "tls.version", c->tls_version);
	jsonw_str(w, "tls.cipher", c->tls_cipher);
}

/* True when the pair is in smtp-auth-accept (CRAM-MD5: by its digest). */
static bool
auth_accepted(const struct sensor_config *cfg, const struct smtp_auth *a)
{
	int i;

	for (i = 0; i < cfg->nsmtp_auth_accept && a->failure == NULL; i++) {
		const char *pass = cfg->smtp_auth_accept[i].password;

		if (strcmp(a->user, cfg->smtp_auth_accept[i].user) != 0)
			continue;
		if (a->password != NULL && strcmp(a->password, pass) == 0)
			return true;
		if (a->password == NULL && a->digest != NULL &&
		    strcmp(a->mechanism, "CRAM-MD5") == 0 &&
		    smtp_cram_md5_matches(a->challenge, pass, a->digest))
			return true;
	}
	return false;
}

/* Log every AUTH attempt as an smtp.auth event, and decide it. */
static bool
smtp_auth_cb(void *ctx, const struct smtp_auth *a)
{
	struct conn *c = ctx;
	char buf[EVENT_LINE_MAX];
	struct jsonw w;
	bool ok = auth_accepted(c->srv->cfg, a);

	new_event(c, &w, buf, sizeof(buf), "smtp.auth");
	jsonw_str(&w, "smtp.auth.mechanism", a->mechanism);
	jsonw_str(&w, "user.name", a->user);
	if (a->password != NULL)
		jsonw_str(&w, "user.password", a->password);
	if (a->digest != NULL)
		jsonw_str(&w, "user.password_digest", a->digest);
	if (a->challenge != NULL)
		jsonw_str(&w, "smtp.auth.challenge", a->challenge);
	jsonw_str(&w, "event.outcome", ok ? "success" : "failure");
	if (a->failure != NULL)
		jsonw_str(&w, "event.reason", a->failure);
	jsonw_str(&w, "smtp.personality", c->personality);
	jsonw_str(&w, "smtp.hostname", c->hostname);
	jsonw_str(&w, "source.ip", c->src_ip);
	jsonw_int(&w, "destination.port", c->service_port);
	if (c->protocol != NULL)
		jsonw_str(&w, "proxy.protocol", c->protocol);
	if (conn_target(c)[0] != '\0')
		jsonw_str(&w, "proxy.target", conn_target(c));
	add_tls_fields(c, &w);
	event_emit(c->srv, &w);
	return ok;
}

static int
smtp_store_cb(void *ctx, const struct smtp_envelope *env)
{
	struct conn *c = ctx;
	char buf[EVENT_LINE_MAX], sha[SHA256_HEX_LEN + 1];
	struct jsonw w;
	int i;

	spool_stage_body(c->srv->spool, env->body, env->size, sha);
	new_event(c, &w, buf, sizeof(buf), "message.stored");
	jsonw_str(&w, "message.sha256", sha);
	jsonw_int(&w, "message.size", (int64_t)env->size);
	jsonw_int(&w, "message.seq", env->seq);
	jsonw_str(&w, "smtp.queue_id", env->queue_id);
	jsonw_str(&w, "smtp.helo", env->helo);
	jsonw_bool(&w, "smtp.esmtp", env->esmtp);
	jsonw_str(&w, "smtp.mail_from", env->mail_from);
	jsonw_array_begin(&w, "smtp.rcpt_to");
	for (i = 0; i < env->rcpt_logged; i++)
		jsonw_array_strn(&w, env->rcpts[i], strlen(env->rcpts[i]));
	jsonw_array_end(&w);
	jsonw_int(&w, "smtp.rcpt_count", env->rcpt_count);
	jsonw_str(&w, "smtp.personality", c->personality);
	jsonw_str(&w, "smtp.hostname", c->hostname);
	jsonw_str(&w, "source.ip", c->src_ip);
	jsonw_int(&w, "destination.port", c->service_port);
	jsonw_str(&w, "proxy.protocol", c->protocol);
	if (conn_target(c)[0] != '\0')
		jsonw_str(&w, "proxy.target", conn_target(c));
	add_tls_fields(c, &w);
	add_message_probe(c, &w, env);
	event_emit(c->srv, &w);
	c->waiting_commit = true;
	server_wait_commit(c->srv, c);
	return 0;
}

static void
banner_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_hold(c);
	set_state(c, CONN_SMTP);
	smtp_greet(c->smtp);
	process_input(c);
	conn_release(c);
}

/*
 * Milliseconds before this connection's banner: uniform in the
 * configured range, so that the wait varies as an MTA's DNS lookups do.
 */
static int
banner_delay(const struct sensor_config *cfg)
{
	uint32_t r = 0;
	int span = cfg->banner_delay_max_ms - cfg->banner_delay_ms;

	if (span <= 0)
		return cfg->banner_delay_ms;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)now_usec();
	return cfg->banner_delay_ms + (int)(r % (uint32_t)(span + 1));
}

/* Hand the connection to the SMTP emulator (directly or via a tunnel). */
static void
start_smtp(struct conn *c)
{
	const struct sensor_config *cfg = c->srv->cfg;
	const struct smtp_personality *p;
	const char *names[CONFIG_HOSTNAMES_MAX];
	struct smtp_host *host = &c->smtp_host;
	struct timeval tv, wtv = { WRITE_TIMEOUT, 0 };
	int i, delay;

	for (i = 0; i < cfg->nhostnames; i++)
		names[i] = cfg->hostnames[i];
	smtp_personality_pick(spool_secret(c->srv->spool), c->src_ip, names,
	    cfg->nhostnames, &p, &c->hostname);
	c->personality = smtp_personality_name(p);
	host->ctx = c;
	host->send = smtp_send_cb;
	host->store = smtp_store_cb;
	host->reserve = smtp_reserve_cb;
	host->now = smtp_now_cb;
	host->accepting = smtp_accepting_cb;
	host->auth = smtp_auth_cb;
	host->starttls = c->srv->tls != NULL;
	c->smtp = smtp_session_new(p, c->hostname, c->src_ip, host,
	    (uint64_t)now_usec() ^ c->srv->next_session);
	tv.tv_sec = c->srv->cfg->idle_timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &wtv);
	if ((delay = banner_delay(cfg)) > 0) {
		set_state(c, CONN_BANNER_DELAY);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		c->banner_timer = evtimer_new(c->srv->base, banner_cb, c);
		evtimer_add(c->banner_timer, &tv);
		return;
	}
	set_state(c, CONN_SMTP);
	smtp_greet(c->smtp);
}


static bool
port_listed(const int *ports, int n, int port)
{
	int i;

	for (i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/*
 * True if host is an address of this sensor: one the configuration
 * names, one a listener is bound to, or the one the client reached.
 * Host names are never resolved, so only address literals can match.
 */
static bool
is_own_address(const struct conn *c, const char *host)
{
	const struct sensor_config *cfg = c->srv->cfg;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char text[ADDR_TEXT_MAX];
	struct cidr net;
	int i;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return false;
	addr_to_text((struct sockaddr *)&ss, text);
	if (strcmp(text, c->local_ip) == 0)
		return true;
	for (i = 0; i < cfg->nown_addresses; i++)
		if (cidr_contains(&cfg->own_addresses[i],
			(struct sockaddr *)&ss))
			return true;
	for (i = 0; i < c->srv->nlisteners; i++)
		if (cidr_parse(c->srv->listeners[i].cfg->address, &net) == 0 &&
		    cidr_contains(&net, (struct sockaddr *)&ss))
			return true;
	return false;
}

/* The listener that serves port, by its own or its service port. */
static struct listener *
listener_for_port(struct server *srv, int port)
{
	int i;

	for (i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i].cfg->port == port ||
		    srv->listeners[i].cfg->service_port == port)
			return &srv->listeners[i];
	return NULL;
}

/*
 * Classify a CONNECT to host:port by the emulator it leads to.  Nothing
 * leaves the sensor, because a tunnel is always an emulator talking on
 * the client's own socket.
 */
static enum tunnel_kind
tunnel_kind(struct conn *c, const char *host, int port, struct listener **hop)
{
	const struct sensor_config *cfg = c->srv->cfg;

	*hop = NULL;
	if (conn_hops(c) >= PROXY_CHAIN_DEPTH_MAX)
		return TUNNEL_REFUSE;
	if (is_own_address(c, host) &&
	    (*hop = listener_for_port(c->srv, port)) != NULL)
		return TUNNEL_CHAIN;
	if (config_is_mail_port(port))
		return TUNNEL_SMTP;
	if (port_listed(cfg->tunnel_http_ports, cfg->ntunnel_http_ports, port))
		return TUNNEL_HTTP;
	if (port_listed(cfg->tunnel_accept_ports, cfg->ntunnel_accept_ports,
		port))
		return TUNNEL_SINK;
	return TUNNEL_REFUSE;
}

/* The session's proxy route, allocated on first use. */
static struct proxy_route *
route_of(struct conn *c)
{
	if (c->route == NULL)
		c->route = xcalloc(1, sizeof(*c->route));
	return c->route;
}

/* Record a proxy request as the next hop of the client's chain. */
static void
add_hop(struct conn *c)
{
	struct proxy_route *r = route_of(c);

	if (r->hops >= PROXY_CHAIN_DEPTH_MAX)
		return;
	/* Cut on purpose: a hop's text has to fit the event line. */
	bufprintf(r->chain[r->hops], sizeof(r->chain[0]), "%s:%s",
	    c->protocol, r->target);
	r->hops++;
}

/*
 * Go on behind an accepted tunnel.  A chain hop is served by the
 * target listener's emulator as if the client had connected there.
 */
static void
start_tunnel(struct conn *c, enum tunnel_kind kind, struct listener *hop)
{
	struct timeval tv = { TUNNEL_IDLE_TIMEOUT, 0 };
	struct timeval wtv = { WRITE_TIMEOUT, 0 };

	switch (kind) {
	case TUNNEL_SMTP:
		start_smtp(c);
		break;
	case TUNNEL_HTTP:
		c->origin = true;
		set_state(c, CONN_HTTP);
		break;
	case TUNNEL_SINK:
		bufferevent_set_timeouts(c->bev, &tv, &wtv);
		c->sink_prefix = xmalloc(TUNNEL_PREFIX_MAX);
		set_state(c, CONN_TUNNEL_SINK);
		break;
	case TUNNEL_CHAIN:
		c->lst = hop;
		c->service_port = hop->cfg->service_port;
		probe_add_port(&c->marks, hop->cfg->port);
		probe_add_port(&c->marks, hop->cfg->service_port);
		c->origin = false;
		if (hop->cfg->service == SERVICE_SMTP)
			start_smtp(c);
		else
			set_state(c, CONN_SNIFF);
		break;
	case TUNNEL_REFUSE:
		break;
	}
}

static const char *const tunnel_outcomes[] = {
	[TUNNEL_REFUSE] = "refused",
	[TUNNEL_SMTP] = "tunnel",
	[TUNNEL_HTTP] = "tunnel",
	[TUNNEL_SINK] = "tunnel",
	[TUNNEL_CHAIN] = "chain",
};

/* Fields of a proxy.request event beyond the connection's own data. */
struct request_info {
	const char *command;
	const char *host;
	int port;
	const char *user;
	size_t user_len;
	const char *outcome;
	int reply;
	const char *url;
	size_t url_len;
	const struct http_request *http; /* fields to log, or NULL */
	const struct http_body *body;	 /* or NULL */
	bool probe;
};

/* Room kept at the end of a proxy.request event for its last fields. */
#define EVENT_TAIL_RESERVE 256

/*
 * The request's header fields as "Name: value" strings, each cut at
 * HTTP_FIELD_LOGGED_MAX, for as long as the event has room.
 */
static void
emit_http_fields(struct jsonw *w, const struct http_request *req)
{
	char line[HTTP_FIELD_LOGGED_MAX];
	size_t worst = 6 * sizeof(line) + 8;
	int i, n;

	jsonw_int(w, "http.request.header_count", req->nfields);
	jsonw_array_begin(w, "http.request.headers");
	for (i = 0; i < req->nfields; i++) {
		const struct http_field *f = &req->fields[i];

		if (w->len + worst > EVENT_LINE_MAX - EVENT_TAIL_RESERVE)
			break;
		n = snprintf(line, sizeof(line), "%.*s: %.*s",
		    (int)f->name_len, f->name, (int)f->value_len, f->value);
		if (n < 0)
			break;
		jsonw_array_strn(w, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	jsonw_array_end(w);
}

/* The body's first HTTP_BODY_LOGGED_MAX bytes in base64, and its size. */
static void
emit_http_body(struct jsonw *w, const struct http_body *b)
{
	unsigned char b64[4 * ((HTTP_BODY_LOGGED_MAX + 2) / 3) + 1];
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	size_t n = b->len < HTTP_BODY_LOGGED_MAX ? b->len
						 : HTTP_BODY_LOGGED_MAX;

	EVP_EncodeBlock(b64, b->data, (int)n);
	jsonw_str(w, "http.request.body", (const char *)b64);
	jsonw_int(w, "http.request.body_size", (int64_t)b->len);
	jsonw_bool(w, "http.request.body_truncated", b->truncated);
	SHA256(b->data, b->len, md);
	hex_encode(md, sizeof(md), hex);
	jsonw_str(w, "http.request.body_sha256", hex);
}

static void
emit_proxy_request(struct conn *c, const struct request_info *ri)
{
	char buf[EVENT_LINE_MAX];
	struct jsonw w;

	new_event(c, &w, buf, sizeof(buf), "proxy.request");
	jsonw_str(&w, "proxy.protocol", c->protocol);
	jsonw_str(&w, "proxy.command", ri->command);
	jsonw_str(&w, "proxy.target", conn_target(c));
	jsonw_str(&w, "proxy.target.host", ri->host);
	jsonw_int(&w, "proxy.target.port", ri->port);
	if (ri->user != NULL && ri->user_len > 0)
		jsonw_strn(&w, "proxy.user", ri->user, ri->user_len);
	if (ri->url != NULL)
		jsonw_strn(&w, "url.full", ri->url, ri->url_len);
	add_chain(c, &w);
	if (c->origin)
		jsonw_bool(&w, "http.via_tunnel", true);
	jsonw_bool(&w, "proxy.probe", ri->probe);
	if (ri->body != NULL && ri->body->len > 0)
		emit_http_body(&w, ri->body);
	if (ri->http != NULL)
		emit_http_fields(&w, ri->http);
	jsonw_str(&w, "event.outcome", ri->outcome);
	jsonw_int(&w, "proxy.reply", ri->reply);
	event_emit(c->srv, &w);
}

static void
set_target(struct conn *c, const char *host, int port)
{
	struct proxy_route *r = route_of(c);

	if (strchr(host, ':') != NULL)
		snprintf(r->target, sizeof(r->target), "[%s]:%d", host, port);
	else
		snprintf(r->target, sizeof(r->target), "%s:%d", host, port);
	strlcpy_(r->target_host, host, sizeof(r->target_host));
}

static const char *
socks_command_name(int command)
{
	switch (command) {
	case SOCKS_CONNECT:
		return "connect";
	case SOCKS_BIND:
		return "bind";
	case SOCKS_UDP_ASSOCIATE:
		return "udp-associate";
	default:
		return "unknown";
	}
}

/* The port a real proxy would report having bound for the tunnel. */
static uint16_t
fake_bound_port(const struct conn *c)
{
	return (uint16_t)(32768 + (c->srv->next_session * 7919) % 28000);
}

static void
finish_socks4(struct conn *c, const struct socks_request *req)
{
	struct request_info ri = { 0 };
	struct listener *hop = NULL;
	enum tunnel_kind kind = TUNNEL_REFUSE;
	uint8_t reply[8];
	uint8_t zero[4] = { 0, 0, 0, 0 };
	int code;

	c->protocol = req->atyp == SOCKS_ATYP_DOMAIN ? "socks4a" : "socks4";
	set_target(c, req->host, req->port);
	if (req->command == SOCKS_CONNECT)
		kind = tunnel_kind(c, req->host, req->port, &hop);
	code = kind != TUNNEL_REFUSE ? SOCKS4_GRANTED : SOCKS4_REJECTED;
	if (kind != TUNNEL_REFUSE)
		add_hop(c);
	ri.command = socks_command_name(req->command);
	ri.host = req->host;
	ri.port = req->port;
	ri.user = req->user;
	ri.user_len = req->user_len;
	ri.outcome = tunnel_outcomes[kind];
	ri.reply = code;
	emit_proxy_request(c, &ri);
	send_bytes(c, reply,
	    socks4_reply(reply, code, kind != TUNNEL_REFUSE ? req->port : 0,
		kind != TUNNEL_REFUSE ? req->addr : zero));
	if (kind != TUNNEL_REFUSE)
		start_tunnel(c, kind, hop);
	else
		conn_close(c, "proxy-refused");
}

static void
finish_socks5(struct conn *c, const struct socks_request *req)
{
	struct request_info ri = { 0 };
	struct listener *hop = NULL;
	enum tunnel_kind kind = TUNNEL_REFUSE;
	uint8_t reply[22];
	struct sockaddr_storage bound = c->local;
	int code;

	c->protocol = "socks5";
	set_target(c, req->host, req->port);
	if (req->command != SOCKS_CONNECT) {
		code = SOCKS5_COMMAND_NOT_SUPPORTED;
	} else {
		kind = tunnel_kind(c, req->host, req->port, &hop);
		code = kind != TUNNEL_REFUSE ? SOCKS5_SUCCEEDED
					     : SOCKS5_CONNECTION_REFUSED;
	}
	if (kind != TUNNEL_REFUSE)
		add_hop(c);
	if (bound.ss_family == AF_INET)
		((struct sockaddr_in *)&bound)->sin_port =
		    htons(fake_bound_port(c));
	else if (bound.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&bound)->sin6_port =
		    htons(fake_bound_port(c));
	ri.command = socks_command_name(req->command);
	ri.host = req->host;
	ri.port = req->port;
	ri.outcome = tunnel_outcomes[kind];
	ri.reply = code;
	emit_proxy_request(c, &ri);
	send_bytes(c, reply,
	    socks5_reply(reply, code, (struct sockaddr *)&bound));
	if (kind != TUNNEL_REFUSE)
		start_tunnel(c, kind, hop);
	else
		conn_close(c, "proxy-refused");
}

static void
emit_auth(struct conn *c, const struct socks5_auth *auth)
{
	char buf[EVENT_LINE_MAX];
	struct jsonw w;

	new_event(c, &w, buf, sizeof(buf), "proxy.auth");
	jsonw_str(&w, "proxy.protocol", "socks5");
	jsonw_strn(&w, "user.name", auth->user, auth->user_len);
	jsonw_strn(&w, "user.password", auth->pass, auth->pass_len);
	jsonw_str(&w, "event.outcome", "success");
	event_emit(c->srv, &w);
}

/* A Squid error page: ERR_INVALID_REQ and the like, or a refused tunnel. */
static void
send_http_error(struct conn *c, int status, const char *squid_error,
    const char *url, const char *sysmsg)
{
	char *out = xmalloc(HTTP_ERROR_MAX);
	size_t n = httpemu_error(status, squid_error, url, sysmsg,
	    c->srv->cfg->hostnames[0], time(NULL), out, HTTP_ERROR_MAX);

	if (n > 0)
		send_bytes(c, out, n);
	free(out);
}

static void
send_http(struct conn *c, int status)
{
	send_http_error(c, status, status == 503 ? "ERR_CONNECT_FAIL 111"
						 : "ERR_INVALID_REQ 0",
	    conn_target(c), status == 503 ? "(111) Connection refused" : "-");
}

/* The answer to a GET, HEAD or POST whose body (if any) has arrived. */
static void
answer_http(struct conn *c)
{
	const struct http_request *req = c->http_req;
	const struct sensor_config *cfg = c->srv->cfg;
	const char *patterns[CONFIG_PATTERNS_MAX];
	struct request_info ri = { 0 };
	struct httpemu_env env;
	char method[16], *out;
	size_t n;
	int i;

	for (i = 0; i < cfg->njudge_patterns; i++)
		patterns[i] = cfg->judge_patterns[i];
	env.remote_addr = c->local_ip;
	env.remote_port = fake_bound_port(c);
	env.now = time(NULL);
	env.judge = httpemu_is_judge(req, patterns, cfg->njudge_patterns);
	out = xmalloc(HTTPEMU_RESPONSE_MAX);
	n = httpemu_respond(req, &env, out, HTTPEMU_RESPONSE_MAX);
	snprintf(method, sizeof(method), "%.*s",
	    (int)(req->method_len < 15 ? req->method_len : 15), req->method);
	ri.command = method;
	ri.host = req->host;
	ri.port = req->port;
	ri.url = req->target;
	ri.url_len = req->target_len;
	ri.outcome = n > 0 ? "answered" : "refused";
	ri.reply = n > 0 ? 200 : 502;
	ri.http = req;
	ri.body = c->http_body;
	ri.probe = env.judge;
	emit_proxy_request(c, &ri);
	if (n > 0)
		send_bytes(c, out, n);
	else
		send_http_error(c, 502, "ERR_READ_ERROR 0", conn_target(c), "-");
	free(out);
	conn_close(c, "http-answered");
}

/*
 * Keep a request head whose body is still to come: the parsed fields
 * point into the input buffer, which is drained, so they are parsed
 * again from a copy.
 */
static bool
keep_http_request(struct conn *c, const char *head, size_t len)
{
	const char *why = NULL;
	int status;

	c->http_head = xmalloc(len);
	memcpy(c->http_head, head, len);
	c->http_req = xmalloc(sizeof(*c->http_req));
	return (c->origin ? http_parse_origin_request
			  : http_parse_request)(c->http_head, len, c->http_req,
		   &why, &status) == PARSE_OK;
}

/* CONNECT: the tunnel's answer, then whatever lies behind it. */
static void
finish_connect(struct conn *c, const struct http_request *req,
    const char *method)
{
	struct request_info ri = { 0 };
	struct listener *hop = NULL;
	enum tunnel_kind kind = tunnel_kind(c, req->host, req->port, &hop);
	char line[64];
	int n;

	if (kind != TUNNEL_REFUSE)
		add_hop(c);
	ri.command = method;
	ri.host = req->host;
	ri.port = req->port;
	ri.outcome = tunnel_outcomes[kind];
	ri.reply = kind != TUNNEL_REFUSE ? 200 : 503;
	emit_proxy_request(c, &ri);
	if (kind == TUNNEL_REFUSE) {
		send_http(c, 503);
		conn_close(c, "proxy-refused");
		return;
	}
	n = snprintf(line, sizeof(line),
	    "HTTP/1.%d 200 Connection established\r\n\r\n",
	    req->version_minor);
	send_bytes(c, line, (size_t)n);
	start_tunnel(c, kind, hop);
}

/*
 * A parsed request head at the start of the input: CONNECT opens a
 * tunnel; any other method is answered by the origin emulator once its
 * body has been read.  Returns the head's length to drain, or 0 when
 * the session was closed.
 */
static size_t
finish_http(struct conn *c, const struct http_request *req,
    const char *head)
{
	static const char continue_reply[] = "HTTP/1.1 100 Continue\r\n\r\n";
	char method[16];

	if (!c->origin)
		c->protocol = "http";
	set_target(c, req->host, req->port);
	snprintf(method, sizeof(method), "%.*s",
	    (int)(req->method_len < 15 ? req->method_len : 15), req->method);
	if (strcmp(method, "CONNECT") == 0) {
		finish_connect(c, req, method);
		return req->head_len;
	}
	/* A proxy GET is a hop too; an origin request is the last step. */
	if (!c->origin)
		add_hop(c);
	/* Bodies count against the budget that SMTP bodies use. */
	if (!smtp_reserve_cb(c, (long)sizeof(*c->http_body))) {
		send_http(c, 503);
		conn_close(c, "memory-budget");
		return 0;
	}
	c->http_body = xmalloc(sizeof(*c->http_body));
	if (!keep_http_request(c, head, req->head_len)) {
		send_http(c, 400);
		conn_close(c, "protocol-error");
		return 0;
	}
	http_body_init(c->http_body, c->http_req);
	if (c->http_body->mode == HTTP_BODY_NONE) {
		answer_http(c);
		return req->head_len;
	}
	/* A real server sends it, and curl would wait a second without it. */
	if (http_expects_continue(c->http_req))
		send_bytes(c, continue_reply, sizeof(continue_reply) - 1);
	set_state(c, CONN_HTTP_BODY);
	return req->head_len;
}

/*
 * Each step parses what has arrived for the current state.  It returns
 * false when it needs more bytes, true when the state moved on and the
 * loop should look at the input again.
 */
typedef bool (*step_fn)(struct conn *c, struct evbuffer *in, size_t len);

static const uint8_t *
peek(struct evbuffer *in, size_t len, size_t max)
{
	return evbuffer_pullup(in, (ev_ssize_t)(len < max ? len : max));
}

static bool
step_proxy_header(struct conn *c, struct evbuffer *in, size_t len)
{
	struct proxy_header h;
	const char *why = NULL, *cap_why;
	size_t used;
	int rc = proxyproto_parse(peek(in, len, PROXY_V2_MAX),
	    len < PROXY_V2_MAX ? len : PROXY_V2_MAX, &h, &used, &why);

	if (rc == PARSE_MORE && len < PROXY_V2_MAX)
		return false;
	if (rc != PARSE_OK) {
		logmsg("warning", "session %s: invalid PROXY header from %s: %s",
		    c->id, c->peer_ip, why ? why : "too long");
		conn_close(c, "protocol-error");
		return false;
	}
	evbuffer_drain(in, used);
	if (!h.local) {
		addr_to_text((struct sockaddr *)&h.src, c->src_ip);
		c->src_port = addr_port((struct sockaddr *)&h.src);
		c->relayed = true;
	}
	/* The relay itself is not capped; the client it carries is. */
	if (!server_admit(c->srv, c->src_ip, &cap_why)) {
		emit_rejected(c->srv, c->src_ip, c->service_port, cap_why);
		conn_close(c, cap_why);
		return false;
	}
	strlcpy_(c->admitted_ip, c->src_ip, sizeof(c->admitted_ip));
	c->gate = server_rate_gate(c->srv, c->bev, c->admitted_ip);
	emit_session_start(c);
	if (c->lst->cfg->service == SERVICE_SMTP)
		start_smtp(c);
	else
		set_state(c, CONN_SNIFF);
	return true;
}

static bool
step_sniff(struct conn *c, struct evbuffer *in, size_t len)
{
	const uint8_t *p = peek(in, len, 1);

	(void)len;
	if (p[0] == 4)
		set_state(c, CONN_SOCKS4);
	else if (p[0] == 5)
		set_state(c, CONN_SOCKS5_GREETING);
	else
		set_state(c, CONN_HTTP);
	return true;
}

/* Longest SOCKS4a request: header, user id, host, and their NULs. */
#define SOCKS4_REQUEST_MAX (8 + 2 * (SOCKS_FIELD_MAX + 1))

static bool
step_socks4(struct conn *c, struct evbuffer *in, size_t len)
{
	struct socks_request req;
	const char *why = NULL;
	size_t used, n = len < SOCKS4_REQUEST_MAX ? len : SOCKS4_REQUEST_MAX;
	int rc = socks4_parse_request(peek(in, len, n), n, &req, &used, &why);
	uint8_t reply[8], zero[4] = { 0, 0, 0, 0 };

	if (rc == PARSE_MORE)
		return false;
	if (rc == PARSE_ERROR) {
		c->protocol = "socks4";
		send_bytes(c, reply,
		    socks4_reply(reply, SOCKS4_REJECTED, 0, zero));
		conn_close(c, "protocol-error");
		return false;
	}
	evbuffer_drain(in, used);
	finish_socks4(c, &req);
	return true;
}

static bool
step_socks5_greeting(struct conn *c, struct evbuffer *in, size_t len)
{
	struct socks5_greeting g;
	const char *why = NULL;
	size_t used, n = len < 257 ? len : 257;
	int rc = socks5_parse_greeting(peek(in, len, n), n, &g, &used, &why);
	uint8_t reply[2];
	int method;

	if (rc == PARSE_MORE)
		return false;
	c->protocol = "socks5";
	if (rc == PARSE_ERROR) {
		send_bytes(c, reply,
		    socks5_method_reply(reply, SOCKS5_METHOD_UNACCEPTABLE));
		conn_close(c, "protocol-error");
		return false;
	}
	evbuffer_drain(in, used);
	method = socks5_choose_method(&g);
	send_bytes(c, reply, socks5_method_reply(reply, method));
	if (method == SOCKS5_METHOD_UNACCEPTABLE) {
		conn_close(c, "proxy-refused");
		return false;
	}
	set_state(c, method == SOCKS5_METHOD_USERPASS ? CONN_SOCKS5_AUTH
						      : CONN_SOCKS5_REQUEST);
	return true;
}

static bool
step_socks5_auth(struct conn *c, struct evbuffer *in, size_t len)
{
	struct socks5_auth auth;
	const char *why = NULL;
	size_t used, n = len < 513 ? len : 513;
	int rc = socks5_parse_auth(peek(in, len, n), n, &auth, &used, &why);
	uint8_t reply[2];

	if (rc == PARSE_MORE)
		return false;
	if (rc == PARSE_ERROR) {
		send_bytes(c, reply, socks5_auth_reply(reply, 0));
		conn_close(c, "protocol-error");
		return false;
	}
	evbuffer_drain(in, used);
	emit_auth(c, &auth);
	send_bytes(c, reply, socks5_auth_reply(reply, 1));
	set_state(c, CONN_SOCKS5_REQUEST);
	return true;
}

static bool
step_socks5_request(struct conn *c, struct evbuffer *in, size_t len)
{
	struct socks_request req;
	const char *why = NULL;
	size_t used, n = len < 262 ? len : 262;
	int rc = socks5_parse_request(peek(in, len, n), n, &req, &used, &why);
	uint8_t reply[22];

	if (rc == PARSE_MORE)
		return false;
	if (rc == PARSE_ERROR) {
		send_bytes(c, reply,
		    socks5_reply(reply, SOCKS5_GENERAL_FAILURE,
			(struct sockaddr *)&c->local));
		conn_close(c, "protocol-error");
		return false;
	}
	evbuffer_drain(in, used);
	finish_socks5(c, &req);
	return true;
}

static bool
step_http(struct conn *c, struct evbuffer *in, size_t len)
{
	struct http_request *req = xmalloc(sizeof(*req));
	const char *why = NULL;
	size_t used, n = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	const char *head = (const char *)peek(in, len, n);
	int status = 400;
	int rc = (c->origin ? http_parse_origin_request : http_parse_request)(
	    head, n, req, &why, &status);

	if (rc == PARSE_MORE && len < HTTP_HEAD_MAX) {
		free(req);
		return false;
	}
	if (!c->origin)
		c->protocol = "http";
	if (rc != PARSE_OK) {
		send_http(c, rc == PARSE_MORE ? 431 : status);
		conn_close(c, "protocol-error");
		free(req);
		return false;
	}
	used = finish_http(c, req, head);
	free(req);
	if (used == 0)
		return false;
	evbuffer_drain(in, used);
	return true;
}

static bool
step_http_body(struct conn *c, struct evbuffer *in, size_t len)
{
	const char *why = NULL;
	size_t used;
	int rc = http_body_feed(c->http_body, peek(in, len, len), len, &used,
	    &why);

	evbuffer_drain(in, used);
	if (rc == PARSE_MORE)
		return false;
	if (rc == PARSE_ERROR) {
		send_http(c, 400);
		conn_close(c, "protocol-error");
		return false;
	}
	answer_http(c);
	return false;
}

/* Count and drop what a client sends into a tunnel that leads nowhere. */
static bool
step_tunnel_sink(struct conn *c, struct evbuffer *in, size_t len)
{
	size_t room = TUNNEL_PREFIX_MAX - c->sink_len;
	size_t n = len < room ? len : room;

	if (n > 0)
		evbuffer_copyout(in, c->sink_prefix + c->sink_len, n);
	c->sink_len += n;
	c->sink_bytes += len;
	evbuffer_drain(in, len);
	return false;
}

/*
 * After the 220 to STARTTLS: wrap the socket's bufferevent in a TLS
 * filter that runs the handshake as the server.  The 220 still queued
 * on the socket goes out first, in plaintext.
 */
static void
start_tls(struct conn *c)
{
	struct timeval tv = { SMTP_IDLE_TIMEOUT, 0 };
	struct timeval wtv = { WRITE_TIMEOUT, 0 };
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *tls;
	SSL *ssl;

	if (c->tls_state != TLS_OFF)
		return;
	/* RFC 3207: plaintext pipelined after STARTTLS is never acted on. */
	evbuffer_drain(in, evbuffer_get_length(in));
	c->input_seen = 0;
	if ((ssl = SSL_new(c->srv->tls)) == NULL) {
		conn_close(c, "tls-failed");
		return;
	}
	tls = bufferevent_openssl_filter_new(c->srv->base, c->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		conn_close(c, "tls-failed");
		return;
	}
	/* The filter now owns the socket's bufferevent; time only the top. */
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	c->bev = tls;
	c->tls_state = TLS_HANDSHAKE;
	bufferevent_setcb(tls, read_cb, NULL, event_cb, c);
	bufferevent_setwatermark(tls, EV_READ, 0, CONN_INPUT_MAX);
	bufferevent_set_timeouts(tls, &tv, &wtv);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/*
 * A TLS filter that outlives its session until the socket has sent its
 * last records.  It is no longer counted against the connection caps,
 * so it gets a deadline as well as the write timeout.  NOTE: no test
 * reaches this path, which needs the kernel's socket buffers full when
 * the session ends: on loopback they take every reply a test queues.
 */
struct tls_linger {
	struct bufferevent *filter;
	struct event *deadline;
};

static void
tls_linger_end(struct tls_linger *tl)
{
	bufferevent_free(tl->filter);
	event_free(tl->deadline);
	free(tl);
}

static void
tls_linger_done(struct bufferevent *socket_bev, void *arg)
{
	(void)socket_bev;
	tls_linger_end(arg);
}

static void
tls_linger_event(struct bufferevent *socket_bev, short what, void *arg)
{
	(void)socket_bev;
	(void)what;
	tls_linger_end(arg);
}

static void
tls_linger_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tls_linger_end(arg);
}

/*
 * Free the connection's bufferevent.  A TLS filter hands its last
 * records to the socket's bufferevent, which may still hold them:
 * freeing both at once would drop the final reply, so the filter
 * lingers, unowned, until the socket has sent them, failed, or
 * LINGER_TIMEOUT has passed.
 */
static void
free_bev(struct conn *c)
{
	struct timeval wtv = { WRITE_TIMEOUT, 0 };
	struct timeval deadline = { LINGER_TIMEOUT, 0 };
	struct bufferevent *under;
	struct tls_linger *tl;

	if (c->tls_state == TLS_OFF) {
		bufferevent_free(c->bev);
		return;
	}
	under = bufferevent_get_underlying(c->bev);
	if (under == NULL ||
	    evbuffer_get_length(bufferevent_get_output(under)) == 0) {
		bufferevent_free(c->bev);
		return;
	}
	tl = xmalloc(sizeof(*tl));
	tl->filter = c->bev;
	tl->deadline = evtimer_new(c->srv->base, tls_linger_deadline, tl);
	if (tl->deadline == NULL) {
		free(tl);
		bufferevent_free(c->bev);
		return;
	}
	/*
	 * The filter may be inside its own read loop, which would call
	 * read_cb again with the session freed after this returns.
	 */
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(under, NULL, tls_linger_done, tls_linger_event, tl);
	bufferevent_set_timeouts(under, NULL, &wtv);
	bufferevent_enable(under, EV_WRITE);
	evtimer_add(tl->deadline, &deadline);
}

/* The handshake finished: the SMTP session starts over, encrypted. */
static void
tls_ready(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	c->tls_state = TLS_ON;
	c->tls_version = SSL_get_version(ssl);
	c->tls_cipher = SSL_get_cipher_name(ssl);
	smtp_tls_started(c->smtp);
	process_input(c);
}

static void
smtp_status(struct conn *c, enum smtp_status st)
{
	const char *reason;

	if (st == SMTP_PAUSED) {
		c->smtp_paused = true;
		bufferevent_disable(c->bev, EV_READ);
	} else if (st == SMTP_CLOSE) {
		reason = smtp_close_reason(c->smtp);
		conn_close(c, reason != NULL ? reason : "quit");
	} else if (st == SMTP_STARTTLS) {
		start_tls(c);
	}
}

static bool
step_smtp(struct conn *c, struct evbuffer *in, size_t len)
{
	struct evbuffer_iovec vec[8];
	size_t used, total = 0;
	int n, i;
	enum smtp_status st = SMTP_CONTINUE;

	(void)len;
	if (c->smtp_paused)
		return false;
	n = evbuffer_peek(in, -1, NULL, vec, (int)NELEM(vec));
	for (i = 0; i < n && i < (int)NELEM(vec); i++) {
		st = smtp_input(c->smtp, vec[i].iov_base, vec[i].iov_len,
		    &used);
		total += used;
		if (st != SMTP_CONTINUE || used < vec[i].iov_len)
			break;
	}
	evbuffer_drain(in, total);
	smtp_status(c, st);
	/* More chunks than one peek covers: go round again. */
	return st == SMTP_CONTINUE && c->state == CONN_SMTP && total > 0 &&
	    evbuffer_get_length(in) > 0;
}

static const step_fn steps[] = {
	[CONN_PROXY_HEADER] = step_proxy_header,
	[CONN_SNIFF] = step_sniff,
	[CONN_SOCKS4] = step_socks4,
	[CONN_SOCKS5_GREETING] = step_socks5_greeting,
	[CONN_SOCKS5_AUTH] = step_socks5_auth,
	[CONN_SOCKS5_REQUEST] = step_socks5_request,
	[CONN_HTTP] = step_http,
	[CONN_HTTP_BODY] = step_http_body,
	[CONN_TUNNEL_SINK] = step_tunnel_sink,
	[CONN_BANNER_DELAY] = NULL,
	[CONN_SMTP] = step_smtp,
	[CONN_CLOSING] = NULL,
};

/* Resume reading once the peer has read half of its queued replies. */
static void
output_drained_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	conn_hold(c);
	c->output_paused = false;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_setcb(bev, read_cb, NULL, event_cb, c);
	if (c->state != CONN_CLOSING && !c->smtp_paused) {
		bufferevent_enable(bev, EV_READ);
		process_input(c);
	}
	conn_release(c);
}

/*
 * Return true, and stop reading, when more than CONN_OUTPUT_MAX bytes
 * wait for a peer that does not read its replies.
 */
static bool
output_full(struct conn *c)
{
	struct bufferevent *bev = c->bev;

	if (c->output_paused)
		return true;
	if (c->state == CONN_CLOSING ||
	    evbuffer_get_length(bufferevent_get_output(bev)) <=
		CONN_OUTPUT_MAX)
		return false;
	c->output_paused = true;
	bufferevent_disable(bev, EV_READ);
	bufferevent_setwatermark(bev, EV_WRITE, CONN_OUTPUT_MAX / 2, 0);
	bufferevent_setcb(bev, read_cb, output_drained_cb, event_cb, c);
	return true;
}

static void
process_input(struct conn *c)
{
	struct evbuffer *in;
	size_t len;

	if (c->bev == NULL)
		return;
	in = bufferevent_get_input(c->bev);
	for (;;) {
		len = evbuffer_get_length(in);
		if (len > c->input_seen)
			c->bytes_in += len - c->input_seen;
		c->input_seen = len;
		if (len == 0 || steps[c->state] == NULL)
			break;
		if (output_full(c))
			break;
		if (!steps[c->state](c, in, len))
			break;
	}
	if (c->bev != NULL)
		c->input_seen = evbuffer_get_length(in);
}

static void
emit_session_end(struct conn *c)
{
	char buf[EVENT_LINE_MAX];
	struct smtp_stats stats;
	struct jsonw w;

	memset(&stats, 0, sizeof(stats));
	if (c->smtp != NULL)
		smtp_get_stats(c->smtp, &stats);
	new_event(c, &w, buf, sizeof(buf), "session.end");
	jsonw_str(&w, "source.ip", c->src_ip);
	jsonw_int(&w, "destination.port", c->service_port);
	jsonw_int(&w, "network.bytes_in", (int64_t)c->bytes_in);
	jsonw_int(&w, "network.bytes_out", (int64_t)c->bytes_out);
	jsonw_int(&w, "session.duration_ms",
	    ((c->end_usec != 0 ? c->end_usec : now_usec()) - c->start_usec) /
		1000);
	jsonw_int(&w, "smtp.messages", stats.messages);
	jsonw_str(&w, "event.reason", c->end_reason ? c->end_reason : "");
	if (c->protocol != NULL)
		jsonw_str(&w, "proxy.protocol", c->protocol);
	jsonw_str(&w, "session.state", state_names[c->state]);
	add_tls_fields(c, &w);
	event_emit(c->srv, &w);
}

/* What a client sent into a sink tunnel, when it ends. */
static void
emit_tunnel(struct conn *c)
{
	char buf[EVENT_LINE_MAX], hex[2 * TUNNEL_FIRST_BYTES_LOGGED + 1];
	char sni[256];
	struct jsonw w;
	size_t n = c->sink_len < TUNNEL_FIRST_BYTES_LOGGED
	    ? c->sink_len
	    : TUNNEL_FIRST_BYTES_LOGGED;

	new_event(c, &w, buf, sizeof(buf), "proxy.tunnel");
	jsonw_str(&w, "proxy.protocol", c->protocol);
	jsonw_str(&w, "proxy.target", conn_target(c));
	jsonw_int(&w, "tunnel.bytes", (int64_t)c->sink_bytes);
	hex_encode(c->sink_prefix, n, hex);
	jsonw_str(&w, "tunnel.first_bytes", hex);
	if (tls_client_hello_sni(c->sink_prefix, c->sink_len, sni,
		sizeof(sni)))
		jsonw_str(&w, "tls.client.server_name", sni);
	event_emit(c->srv, &w);
}

static void
conn_free(struct conn *c)
{
	if (c->sink_prefix != NULL)
		emit_tunnel(c);
	emit_session_end(c);
	if (c->http_body != NULL)
		c->srv->body_bytes -= (long)sizeof(*c->http_body);
	free(c->http_body);
	free(c->http_req);
	free(c->http_head);
	free(c->sink_prefix);
	free(c->route);
	rate_gate_free(c->gate);
	if (c->admitted_ip[0] != '\0')
		server_release(c->srv, c->admitted_ip);
	if (c->bev != NULL)
		free_bev(c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->banner_timer != NULL)
		event_free(c->banner_timer);
	smtp_session_free(c->smtp);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

/*
 * Every callback that enters a session holds it until it returns, so
 * that a step deep inside may close the session without freeing it
 * under its callers' feet.  The last release of a finished session
 * frees it, unless a commit still owes it an answer.
 */
static void
conn_hold(struct conn *c)
{
	c->holds++;
}

static void
conn_release(struct conn *c)
{
	if (--c->holds == 0 && c->finished && !c->waiting_commit)
		conn_free(c);
}

/* Count and drop the input that comes after the last reply. */
static void
linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	conn_hold(c);
	c->bytes_in += n;
	evbuffer_drain(in, n);
	if (n >= c->linger_left) {
		bufferevent_disable(bev, EV_READ);
		c->finished = true;
	} else {
		c->linger_left -= n;
	}
	conn_release(c);
}

/*
 * Half-close after the last reply and wait for the peer's end of
 * stream, so that input it sent meanwhile does not make the kernel send
 * a reset that could destroy the reply in flight.  The peer's EOF or an
 * error ends it in event_cb, the session's timer at LINGER_TIMEOUT in
 * session_timer_cb, and LINGER_BYTES_MAX here.  A TLS session closes at
 * once: its last records may still wait in the filter, which free_bev
 * flushes.
 */
static void
conn_linger(struct conn *c)
{
	struct timeval tv = { LINGER_TIMEOUT, 0 };
	struct evbuffer *in;

	if (c->bev == NULL || c->timer == NULL || c->tls_state != TLS_OFF ||
	    shutdown(bufferevent_getfd(c->bev), SHUT_WR) != 0) {
		c->finished = true;
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->input_seen = 0;
	c->linger_left = LINGER_BYTES_MAX;
	bufferevent_setcb(c->bev, linger_read_cb, NULL, event_cb, c);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	/* A deadline, so that a trickle of input cannot extend it. */
	evtimer_add(c->timer, &tv);
}

static void
closing_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_hold(c);
	conn_linger(c);
	conn_release(c);
}

/* Flush what is queued for the peer, then free the connection. */
static void
conn_close(struct conn *c, const char *reason)
{
	struct timeval flush_tv = { WRITE_TIMEOUT, 0 };

	if (c->end_reason == NULL)
		c->end_reason = reason;
	if (c->state == CONN_CLOSING)
		return;
	/* The duration excludes the linger that follows. */
	c->end_usec = now_usec();
	set_state(c, CONN_CLOSING);
	/* WRITE_TIMEOUT restarts at each write, so bound the flush too. */
	if (c->timer != NULL)
		evtimer_add(c->timer, &flush_tv);
	if (c->banner_timer != NULL)
		evtimer_del(c->banner_timer);
	if (c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_linger(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	/* A write error or timeout ends it too, through event_cb. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, closing_write_cb, event_cb, c);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_hold(c);
	process_input(c);
	conn_release(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	const char *reason;

	(void)bev;
	conn_hold(c);
	if ((what & BEV_EVENT_CONNECTED) && c->tls_state == TLS_HANDSHAKE) {
		tls_ready(c);
		conn_release(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->smtp != NULL && c->state == CONN_SMTP) {
		smtp_timeout(c->smtp, false);
		conn_close(c, "idle-timeout");
		conn_release(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		reason = (what & BEV_EVENT_WRITING) ? "write-timeout"
						    : "idle-timeout";
	else if (what & BEV_EVENT_EOF)
		reason = "peer-closed";
	else if (c->tls_state == TLS_HANDSHAKE)
		reason = "tls-failed";
	else
		reason = "write-error";
	if (c->end_reason == NULL)
		c->end_reason = reason;
	/* The peer is gone: nothing more can be flushed. */
	rate_gate_free(c->gate);
	c->gate = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	set_state(c, CONN_CLOSING);
	c->finished = true;
	conn_release(c);
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_hold(c);
	if (c->state == CONN_CLOSING) {
		/* The deadline of the last replies' flush or of the linger passed. */
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ);
		c->finished = true;
		conn_release(c);
		return;
	}
	if (c->smtp != NULL && c->state == CONN_SMTP)
		smtp_timeout(c->smtp, true);
	conn_close(c, "session-timeout");
	conn_release(c);
}

void
session_committed(struct conn *c, bool ok)
{
	conn_hold(c);
	c->waiting_commit = false;
	if (c->state != CONN_CLOSING) {
		c->smtp_paused = false;
		smtp_status(c, smtp_stored(c->smtp, ok));
	}
	if (c->state == CONN_SMTP && !c->smtp_paused && !c->output_paused) {
		bufferevent_enable(c->bev, EV_READ);
		process_input(c);
	}
	conn_release(c);
}

/* The service port: the firewall's original destination, if any. */
static int
original_port(int fd, const struct listener_config *lc)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int port;

	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) == 0) {
		port = addr_port((struct sockaddr *)&ss);
		if (port != 0 && port != lc->port)
			return port;
	}
	return lc->service_port;
}

/*
 * The p0f-style signature of the client's SYN, which the kernel kept
 * because the listener set TCP_SAVE_SYN.  Matching it against p0f's
 * database is the server's job, so that a newer database can be used
 * on old captures.
 */
static void
read_syn_signature(struct conn *c, int fd)
{
	uint8_t syn[512];
	socklen_t len = sizeof(syn);
	struct synsig sig;
	const char *why;

	if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len) < 0 ||
	    len == 0)
		return;
	if (synsig_from_packet(syn, len, &sig, &why) != SYNSIG_OK)
		return;
	if (synsig_format(&sig, c->os_signature, sizeof(c->os_signature)) <
	    0)
		c->os_signature[0] = '\0';
}

static bool
peer_is_trusted(const struct listener *l, const struct sockaddr *peer)
{
	int i;

	for (i = 0; i < l->ntrusted; i++)
		if (cidr_contains(&l->trusted[i], peer))
			return true;
	return false;
}

void
session_accept(struct listener *l, int fd, const struct sockaddr *peer,
    int peerlen)
{
	struct server *srv = l->srv;
	struct conn *c;
	struct timeval tv;
	socklen_t len = sizeof(c->local);
	char ip[ADDR_TEXT_MAX];
	struct timeval wtv = { WRITE_TIMEOUT, 0 };
	const char *why;
	bool trusted = peer_is_trusted(l, peer);

	addr_to_text(peer, ip);
	if (!trusted && !server_admit(srv, ip, &why)) {
		emit_rejected(srv, ip, original_port(fd, l->cfg), why);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->lst = l;
	c->start_usec = now_usec();
	snprintf(c->id, sizeof(c->id), "%s-%llu", srv->boot_id,
	    (unsigned long long)++srv->next_session);
	memcpy(&c->peer, peer, (size_t)peerlen);
	getsockname(fd, (struct sockaddr *)&c->local, &len);
	strlcpy_(c->peer_ip, ip, sizeof(c->peer_ip));
	strlcpy_(c->src_ip, ip, sizeof(c->src_ip));
	c->src_port = addr_port(peer);
	c->service_port = original_port(fd, l->cfg);
	addr_to_text((struct sockaddr *)&c->local, c->local_ip);
	probe_add_addr(&c->marks, c->local_ip);
	probe_add_port(&c->marks, l->cfg->port);
	probe_add_port(&c->marks, c->service_port);
	c->marks.rcpt_patterns = srv->cfg->probe_recipients;
	c->marks.nrcpt_patterns = srv->cfg->nprobe_recipients;
	c->protocol = l->cfg->service == SERVICE_SMTP ? "smtp" : NULL;
	/* A relay's SYN describes the relay, not the client it carries. */
	if (!trusted)
		read_syn_signature(c, fd);
	if (!trusted)
		strlcpy_(c->admitted_ip, ip, sizeof(c->admitted_ip));
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;

	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_INPUT_MAX);
	if (!trusted)
		c->gate = server_rate_gate(srv, c->bev, ip);
	tv.tv_sec = srv->cfg->handshake_timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &wtv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	tv.tv_sec = SMTP_SESSION_TIME_MAX;
	c->timer = evtimer_new(srv->base, session_timer_cb, c);
	evtimer_add(c->timer, &tv);

	if (trusted) {
		set_state(c, CONN_PROXY_HEADER);
		return;
	}
	emit_session_start(c);
	if (l->cfg->service == SERVICE_SMTP)
		start_smtp(c);
	else
		set_state(c, CONN_SNIFF);
}

/*
 * At shutdown, send what is queued, half-close and read what input has
 * already arrived, without waiting.  Input left unread at close would
 * make the kernel send a reset, which may destroy the 421 in flight.
 */
static void
flush_and_drain(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	evbuffer_write(bufferevent_get_output(c->bev), fd);
	if (shutdown(fd, SHUT_WR) != 0)
		return;
	while (total < LINGER_BYTES_MAX &&
	    (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

void
session_close_all(struct server *srv)
{
	while (srv->conns != NULL) {
		struct conn *c = srv->conns;

		if (c->smtp != NULL && c->state == CONN_SMTP)
			smtp_shutdown(c->smtp);
		if (c->end_reason == NULL)
			c->end_reason = "shutdown";
		/* Under TLS, raw writes would put plaintext in the stream. */
		if (c->bev != NULL && c->tls_state == TLS_OFF)
			flush_and_drain(c);
		conn_free(c);
	}
}
