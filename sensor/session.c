/*
 * One connection, from accept to close: an optional PROXY header from
 * a trusted relay, then either SMTP (on an SMTP listener) or a proxy
 * handshake told apart by its first byte (SOCKS4/4a, SOCKS5 or HTTP).
 * A tunnel to a mail port hands the same socket to the SMTP emulator;
 * every other tunnel is refused the way a real proxy refuses it.
 *
 * Nothing here opens a connection: a "tunnel" is the emulator talking
 * on the client's own socket.  All peer bytes go through the parsers
 * in socks.c, httpproxy.c, proxyproto.c and smtp.c, which bound them.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpproxy.h"
#include "jsonw.h"
#include "spampot_limits.h"
#include "netaddr.h"
#include "proxyproto.h"
#include "sensor.h"
#include "smtp.h"
#include "socks.h"
#include "synsig.h"
#include "util.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80	/* from <linux/netfilter_ipv4.h> */
#endif

/* The Server field of HTTP answers: a common Squid release. */
#define HTTP_SERVER_NAME "squid/3.5.27"

enum conn_state {
	CONN_PROXY_HEADER,	/* a trusted relay's PROXY header */
	CONN_SNIFF,		/* proxy port: the first byte decides */
	CONN_SOCKS4,
	CONN_SOCKS5_GREETING,
	CONN_SOCKS5_AUTH,
	CONN_SOCKS5_REQUEST,
	CONN_HTTP,
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
	[CONN_BANNER_DELAY] = "banner-delay",
	[CONN_SMTP] = "smtp",
	[CONN_CLOSING] = "closing",
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
	char target[SOCKS_FIELD_MAX + 16];	/* host:port or [v6]:port */

	struct smtp_session *smtp;
	struct smtp_host smtp_host;	/* the emulator keeps a pointer */
	const char *personality;
	const char *hostname;
	bool smtp_paused;
	bool waiting_commit;
	bool finished;			/* closed and flushed: free when idle */
	int holds;			/* callbacks under way on this session */
	struct conn *next_waiting;

	struct event *timer;		/* the session's time limit */
	struct event *banner_timer;	/* the delay before the 220 */
	struct conn *prev, *next;	/* all connections, for shutdown */
	int64_t start_usec;
	uint64_t bytes_in, bytes_out;
	size_t input_seen;		/* bytes of input already counted */
	const char *end_reason;
};

static void process_input(struct conn *c);
static void conn_close(struct conn *c, const char *reason);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_hold(struct conn *c);
static void conn_release(struct conn *c);

struct conn **
session_next_waiting(struct conn *c)
{
	return &c->next_waiting;
}

static void
set_state(struct conn *c, enum conn_state next)
{
	c->state = next;
}

static void
send_bytes(struct conn *c, const void *buf, size_t len)
{
	if (c->bev == NULL)
		return;
	bufferevent_write(c->bev, buf, len);
	c->bytes_out += len;
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

static int
smtp_store_cb(void *ctx, const struct smtp_envelope *env)
{
	struct conn *c = ctx;
	char buf[EVENT_LINE_MAX], sha[SHA256_HEX_LEN + 1], err[512];
	struct jsonw w;
	int i;

	if (spool_stage_body(c->srv->spool, env->body, env->size, sha, err,
		sizeof(err)) < 0) {
		logmsg("error", "session %s: cannot store a message: %s",
		    c->id, err);
		return -1;
	}
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
	if (c->target[0] != '\0')
		jsonw_str(&w, "proxy.target", c->target);
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

/* Hand the connection to the SMTP emulator (directly or via a tunnel). */
static void
start_smtp(struct conn *c)
{
	const struct sensor_config *cfg = c->srv->cfg;
	const struct smtp_personality *p;
	const char *names[CONFIG_HOSTNAMES_MAX];
	struct smtp_host *host = &c->smtp_host;
	struct timeval tv, wtv = { WRITE_TIMEOUT, 0 };
	int i;

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
	c->smtp = smtp_session_new(p, c->hostname, c->src_ip, host,
	    (uint64_t)now_usec() ^ c->srv->next_session);
	tv.tv_sec = SMTP_IDLE_TIMEOUT;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &wtv);
	if (cfg->banner_delay_ms > 0) {
		set_state(c, CONN_BANNER_DELAY);
		tv.tv_sec = cfg->banner_delay_ms / 1000;
		tv.tv_usec = (cfg->banner_delay_ms % 1000) * 1000;
		c->banner_timer = evtimer_new(c->srv->base, banner_cb, c);
		evtimer_add(c->banner_timer, &tv);
		return;
	}
	set_state(c, CONN_SMTP);
	smtp_greet(c->smtp);
}

static bool
is_mail_port(int port)
{
	return port == 25 || port == 587;
}

static void
emit_proxy_request(struct conn *c, const char *command, const char *host,
    int port, const char *user, size_t user_len, bool tunnel, int reply,
    const char *url, size_t url_len)
{
	char buf[EVENT_LINE_MAX];
	struct jsonw w;

	new_event(c, &w, buf, sizeof(buf), "proxy.request");
	jsonw_str(&w, "proxy.protocol", c->protocol);
	jsonw_str(&w, "proxy.command", command);
	jsonw_str(&w, "proxy.target", c->target);
	jsonw_str(&w, "proxy.target.host", host);
	jsonw_int(&w, "proxy.target.port", port);
	if (user != NULL && user_len > 0)
		jsonw_strn(&w, "proxy.user", user, user_len);
	if (url != NULL)
		jsonw_strn(&w, "url.full", url, url_len);
	jsonw_str(&w, "event.outcome", tunnel ? "tunnel" : "refused");
	jsonw_int(&w, "proxy.reply", reply);
	event_emit(c->srv, &w);
}

static void
set_target(struct conn *c, const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		snprintf(c->target, sizeof(c->target), "[%s]:%d", host, port);
	else
		snprintf(c->target, sizeof(c->target), "%s:%d", host, port);
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
	uint8_t reply[8];
	bool tunnel = req->command == SOCKS_CONNECT && is_mail_port(req->port);
	int code = tunnel ? SOCKS4_GRANTED : SOCKS4_REJECTED;
	uint8_t zero[4] = { 0, 0, 0, 0 };

	c->protocol = req->atyp == SOCKS_ATYP_DOMAIN ? "socks4a" : "socks4";
	set_target(c, req->host, req->port);
	emit_proxy_request(c, socks_command_name(req->command), req->host,
	    req->port, req->user, req->user_len, tunnel, code, NULL, 0);
	send_bytes(c, reply,
	    socks4_reply(reply, code, tunnel ? req->port : 0,
		tunnel ? req->addr : zero));
	if (tunnel)
		start_smtp(c);
	else
		conn_close(c, "proxy-refused");
}

static void
finish_socks5(struct conn *c, const struct socks_request *req)
{
	uint8_t reply[22];
	struct sockaddr_storage bound = c->local;
	bool tunnel = false;
	int code;

	c->protocol = "socks5";
	set_target(c, req->host, req->port);
	if (req->command != SOCKS_CONNECT)
		code = SOCKS5_COMMAND_NOT_SUPPORTED;
	else if (!is_mail_port(req->port))
		code = SOCKS5_CONNECTION_REFUSED;
	else
		code = SOCKS5_SUCCEEDED, tunnel = true;
	if (bound.ss_family == AF_INET)
		((struct sockaddr_in *)&bound)->sin_port =
		    htons(fake_bound_port(c));
	else if (bound.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&bound)->sin6_port =
		    htons(fake_bound_port(c));
	emit_proxy_request(c, socks_command_name(req->command), req->host,
	    req->port, NULL, 0, tunnel, code, NULL, 0);
	send_bytes(c, reply,
	    socks5_reply(reply, code, (struct sockaddr *)&bound));
	if (tunnel)
		start_smtp(c);
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

static void
send_http(struct conn *c, int status)
{
	char body[512], out[1024];
	size_t n;

	snprintf(body, sizeof(body),
	    "<html><head><title>ERROR: The requested URL could not be "
	    "retrieved</title></head><body><h1>%d %s</h1></body></html>\n",
	    status, http_reason(status));
	n = http_format_response(out, sizeof(out), status, HTTP_SERVER_NAME,
	    "text/html;charset=utf-8", body, strlen(body));
	if (n > 0)
		send_bytes(c, out, n);
}

static void
finish_http(struct conn *c, const struct http_request *req)
{
	bool connect = req->method_len == 7 &&
	    memcmp(req->method, "CONNECT", 7) == 0;
	bool tunnel = connect && is_mail_port(req->port);
	char method[16];
	int status = tunnel ? 200 : 503;

	c->protocol = "http";
	set_target(c, req->host, req->port);
	snprintf(method, sizeof(method), "%.*s",
	    (int)(req->method_len < 15 ? req->method_len : 15), req->method);
	emit_proxy_request(c, method, req->host, req->port, NULL, 0, tunnel,
	    status, connect ? NULL : req->target,
	    connect ? 0 : req->target_len);
	if (tunnel) {
		char line[64];
		int n = snprintf(line, sizeof(line),
		    "HTTP/1.%d 200 Connection established\r\n\r\n",
		    req->version_minor);

		send_bytes(c, line, (size_t)n);
		start_smtp(c);
		return;
	}
	send_http(c, status);
	conn_close(c, "proxy-refused");
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
	size_t n = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	int status = 400;
	int rc = http_parse_request((const char *)peek(in, len, n), n, req,
	    &why, &status);

	if (rc == PARSE_MORE && len < HTTP_HEAD_MAX) {
		free(req);
		return false;
	}
	c->protocol = "http";
	if (rc != PARSE_OK) {
		send_http(c, rc == PARSE_MORE ? 431 : status);
		conn_close(c, "protocol-error");
		free(req);
		return false;
	}
	finish_http(c, req);
	evbuffer_drain(in, req->head_len);
	free(req);
	return true;
}

static void
smtp_status(struct conn *c, enum smtp_status st)
{
	if (st == SMTP_PAUSED) {
		c->smtp_paused = true;
		bufferevent_disable(c->bev, EV_READ);
	} else if (st == SMTP_CLOSE) {
		conn_close(c, "quit");
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
	[CONN_BANNER_DELAY] = NULL,
	[CONN_SMTP] = step_smtp,
	[CONN_CLOSING] = NULL,
};

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
	    (now_usec() - c->start_usec) / 1000);
	jsonw_int(&w, "smtp.messages", stats.messages);
	jsonw_str(&w, "event.reason", c->end_reason ? c->end_reason : "");
	if (c->protocol != NULL)
		jsonw_str(&w, "proxy.protocol", c->protocol);
	jsonw_str(&w, "session.state", state_names[c->state]);
	event_emit(c->srv, &w);
}

static void
conn_free(struct conn *c)
{
	emit_session_end(c);
	if (c->admitted_ip[0] != '\0')
		server_release(c->srv, c->admitted_ip);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
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

static void
closing_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_hold(c);
	c->finished = true;
	conn_release(c);
}

/* Flush what is queued for the peer, then free the connection. */
static void
conn_close(struct conn *c, const char *reason)
{
	if (c->end_reason == NULL)
		c->end_reason = reason;
	if (c->state == CONN_CLOSING)
		return;
	set_state(c, CONN_CLOSING);
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (c->banner_timer != NULL)
		evtimer_del(c->banner_timer);
	if (c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		c->finished = true;
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	/* A write error or timeout ends it too, through event_cb. */
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
	else
		reason = "write-error";
	if (c->end_reason == NULL)
		c->end_reason = reason;
	/* The peer is gone: nothing more can be flushed. */
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
	if (c->state == CONN_SMTP && !c->smtp_paused) {
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
	c->protocol = l->cfg->service == SERVICE_SMTP ? "smtp" : NULL;
	/* A relay's SYN says nothing of the client it carries. */
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
	tv.tv_sec = PROXY_HANDSHAKE_TIMEOUT;
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

void
session_close_all(struct server *srv)
{
	while (srv->conns != NULL) {
		struct conn *c = srv->conns;

		if (c->smtp != NULL && c->state == CONN_SMTP)
			smtp_shutdown(c->smtp);
		if (c->end_reason == NULL)
			c->end_reason = "shutdown";
		if (c->bev != NULL)
			evbuffer_write(bufferevent_get_output(c->bev),
			    bufferevent_getfd(c->bev));
		conn_free(c);
	}
}
