/*
 * The daemon's frame: listening sockets, connection caps, the event
 * writer and the group commit that makes messages durable.
 *
 * Group commit: a session whose message is complete stages its body
 * and event and waits.  The commit event has a lower priority than
 * socket events, so it runs once the loop has served every readable
 * socket of this turn, and hands everything staged so far to the
 * spool's commit thread as one batch.  While the thread writes it and
 * flushes it (one flush whatever its size), the loop goes on serving
 * sockets and staging into the next batch.  When the thread is done,
 * each session of the batch sends its 250 and the next batch starts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "heartbeat.h"
#include "privsep.h"
#include "jsonw.h"
#include "spampot_limits.h"
#include "sensor.h"
#include "server.h"
#include "tlscert.h"
#include "util.h"

/*
 * Seconds between checks of the spool's free space.  Short, so that
 * capture stops soon after the disk fills and resumes soon after room
 * is made; a statvfs call costs next to nothing.
 */
#define DISK_CHECK_INTERVAL 5

/*
 * Milliseconds every listener pauses after accept() fails, so that a
 * process out of descriptors does not spin on a full backlog.
 */
#define ACCEPT_PAUSE_MS 200

/*
 * Descriptors kept beyond max-connections: listeners, the spool's
 * files, the event loop's own, the log.
 */
#define FD_RESERVE 64

/* Priorities: sockets first, then the commit. */
#define PRIORITY_IO	0
#define PRIORITY_COMMIT 1

/* Buckets of the per-address connection table. */
#define IPTABLE_BUCKETS 4096

/*
 * One source address's open connections and bandwidth caps.  The entry
 * goes when its last connection closes.
 * NOTE: so its buckets start full again on the next connection, and a
 * client that reconnects gets a fresh burst each time; only the
 * sensor's caps bound that.
 */
struct ipcount {
	struct ipcount *next;
	int count;
	struct rate_pair rate;
	char ip[ADDR_TEXT_MAX];
};

struct iptable {
	struct ipcount *buckets[IPTABLE_BUCKETS];
	int entries;
};

static unsigned
ip_hash(const char *ip)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *ip != '\0'; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % IPTABLE_BUCKETS;
}

static struct ipcount **
ip_find(struct iptable *t, const char *ip)
{
	struct ipcount **pp = &t->buckets[ip_hash(ip)];

	while (*pp != NULL && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool
server_admit(struct server *srv, const char *ip, const char **why)
{
	struct ipcount **pp;

	if (srv->nconns >= srv->cfg->max_connections) {
		*why = "total-limit";
		return false;
	}
	pp = ip_find(srv->per_ip, ip);
	if (*pp == NULL) {
		if (srv->per_ip->entries >= CONN_TRACKED_IPS_MAX) {
			*why = "total-limit";
			return false;
		}
		*pp = xcalloc(1, sizeof(**pp));
		strlcpy_((*pp)->ip, ip, sizeof((*pp)->ip));
		rate_pair_init(&(*pp)->rate, srv->cfg->rate_in_per_ip,
		    srv->cfg->rate_out_per_ip, now_usec());
		srv->per_ip->entries++;
	}
	if ((*pp)->count >= srv->cfg->max_connections_per_ip) {
		*why = "per-ip-limit";
		return false;
	}
	(*pp)->count++;
	srv->nconns++;
	return true;
}

void
server_release(struct server *srv, const char *ip)
{
	struct ipcount **pp = ip_find(srv->per_ip, ip), *e = *pp;

	if (e == NULL)
		abort();	/* released an address never admitted */
	srv->nconns--;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
		srv->per_ip->entries--;
	}
}

struct rate_gate *
server_rate_gate(struct server *srv, struct bufferevent *bev, const char *ip)
{
	const struct sensor_config *cfg = srv->cfg;
	struct ipcount *e = *ip_find(srv->per_ip, ip);
	struct rate_pair *per_ip = NULL;

	if (!srv->rate_limited)
		return NULL;
	if (e == NULL)
		abort();	/* a gate for an address never admitted */
	if (cfg->rate_in_per_ip > 0 || cfg->rate_out_per_ip > 0)
		per_ip = &e->rate;
	return rate_gate_new(bev, per_ip,
	    cfg->rate_in > 0 || cfg->rate_out > 0 ? &srv->rate : NULL);
}

void
event_begin(struct jsonw *w, char *buf, size_t cap, const struct server *srv,
    const char *action, const char *session_id)
{
	char ts[32];

	format_rfc3339(now_usec(), ts);
	jsonw_begin(w, buf, cap);
	jsonw_str(w, "@timestamp", ts);
	jsonw_str(w, "event.action", action);
	jsonw_str(w, "sensor.name", srv->cfg->name);
	if (session_id != NULL)
		jsonw_str(w, "session.id", session_id);
}

void
event_emit(struct server *srv, struct jsonw *w)
{
	int len = jsonw_end(w);

	if (len < 0) {
		/* Fields are cut to fit, so this is a bug, not input. */
		logmsg("error", "event does not fit in %d bytes; dropped",
		    EVENT_LINE_MAX);
		return;
	}
	spool_stage_event(srv->spool, w->buf, (size_t)len);
	event_active(srv->commit_ev, 0, 0);
}

void
server_wait_commit(struct server *srv, struct conn *c)
{
	*session_next_waiting(c) = srv->waiting;
	srv->waiting = c;
	srv->commit_durable = true;
	event_active(srv->commit_ev, 0, 0);
}

/*
 * Hand what is staged to the commit thread, with the sessions waiting
 * for it, unless a batch is in flight: its end starts the next.
 */
static void
commit_begin(struct server *srv)
{
	if (srv->in_flight ||
	    (!spool_has_staged(srv->spool) && srv->waiting == NULL))
		return;
	if (!spool_commit_begin(srv->spool, srv->commit_durable))
		return;
	srv->flight_waiting = srv->waiting;
	srv->in_flight = true;
	srv->waiting = NULL;
	srv->commit_durable = false;
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	commit_begin(arg);
}

/* The batch in flight is done: reply to its sessions, start the next. */
static void
committed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct conn *c, *next;
	char err[512];
	bool ok;

	(void)fd;
	(void)what;
	if (!srv->in_flight)
		return;
	ok = spool_commit_end(srv->spool, err, sizeof(err)) == 0;
	if (!ok)
		logmsg("error", "spool commit failed: %s", err);
	c = srv->flight_waiting;
	srv->flight_waiting = NULL;
	srv->in_flight = false;
	for (; c != NULL; c = next) {
		next = *session_next_waiting(c);
		*session_next_waiting(c) = NULL;
		if (ok)
			srv->messages_stored++;
		session_committed(c, ok);
	}
	commit_begin(srv);
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *peer, int peerlen, void *arg)
{
	struct listener *l = arg;

	(void)evl;
	if (l->srv->stopping) {
		close(fd);
		return;
	}
	session_accept(l, fd, peer, peerlen);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	int i;

	(void)fd;
	(void)what;
	if (srv->stopping)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i].evl);
}

/*
 * accept() failed, most often for want of descriptors (EMFILE, ENFILE).
 * The pending connection stays in the backlog and the listener would
 * be woken for it again at once, so every listener pauses for
 * ACCEPT_PAUSE_MS; the warning is logged once per pause, not per try.
 */
static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR(), i;

	(void)evl;
	srv->accept_errors++;
	if (evtimer_pending(srv->resume_ev, NULL))
		return;
	logmsg("warning",
	    "listener %s: accept: %s; pausing every listener for %d ms "
	    "(%llu accept errors so far)",
	    l->cfg->name, evutil_socket_error_to_string(err),
	    ACCEPT_PAUSE_MS, (unsigned long long)srv->accept_errors);
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i].evl);
	evtimer_add(srv->resume_ev, &tv);
}

/*
 * Make room for max-connections descriptors: raise the soft limit to
 * the hard one, and lower the cap (with a warning) when even that is
 * too small, so that accept() does not run out of descriptors.
 */
static void
fit_descriptor_limit(struct server *srv, struct sensor_config *cfg)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)cfg->max_connections + FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		int fit = rl.rlim_cur > FD_RESERVE * 2
		    ? (int)(rl.rlim_cur - FD_RESERVE)
		    : (int)(rl.rlim_cur / 2);

		logmsg("warning",
		    "the descriptor limit is %llu: max-connections lowered "
		    "from %d to %d (raise the limit, e.g. LimitNOFILE= in "
		    "the systemd unit)",
		    (unsigned long long)rl.rlim_cur, cfg->max_connections,
		    fit);
		cfg->max_connections = fit;
	}
	(void)srv;
}

static int
open_listener(struct server *srv, const struct listener_config *lc)
{
	struct listener *l = &srv->listeners[srv->nlisteners];
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char spec[ADDR_TEXT_MAX + 16];

	if (strchr(lc->address, ':') != NULL)
		snprintf(spec, sizeof(spec), "[%s]:%d", lc->address, lc->port);
	else
		snprintf(spec, sizeof(spec), "%s:%d", lc->address, lc->port);
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss,
		&sslen) < 0) {
		logmsg("error", "listener %s: invalid address %s", lc->name,
		    spec);
		return -1;
	}
	l->srv = srv;
	l->cfg = lc;
	l->trusted = config_trusted(srv->cfg, lc, &l->ntrusted);
	l->evl = evconnlistener_new_bind(srv->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, sslen);
	if (l->evl == NULL) {
		logmsg("error", "listener %s: cannot listen on %s: %s",
		    lc->name, spec, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, accept_error_cb);
	/* Keep each client's SYN for its passive OS fingerprint. */
	{
		int one = 1;

		if (setsockopt(evconnlistener_get_fd(l->evl), IPPROTO_TCP,
			TCP_SAVE_SYN, &one, sizeof(one)) < 0)
			logmsg("warning",
			    "listener %s: TCP_SAVE_SYN: %s; no OS fingerprints",
			    lc->name, strerror(errno));
	}
	srv->nlisteners++;
	return 0;
}

static void
emit_lifecycle(struct server *srv, const char *action)
{
	char buf[EVENT_LINE_MAX], item[ADDR_TEXT_MAX + 64];
	struct jsonw w;
	int i;

	event_begin(&w, buf, sizeof(buf), srv, action, NULL);
	jsonw_str(&w, "sensor.version", SPAMPOT_VERSION_STRING);
	if (strcmp(action, "sensor.start") == 0) {
		jsonw_array_begin(&w, "sensor.listeners");
		for (i = 0; i < srv->nlisteners; i++) {
			const struct listener_config *lc =
			    srv->listeners[i].cfg;

			snprintf(item, sizeof(item), "%s:%d/%s=%d",
			    lc->address, lc->port,
			    lc->service == SERVICE_SMTP ? "smtp" : "proxy",
			    lc->service_port);
			jsonw_array_strn(&w, item, strlen(item));
		}
		jsonw_array_end(&w);
	} else {
		jsonw_int(&w, "sensor.messages_stored",
		    (int64_t)srv->messages_stored);
		jsonw_int(&w, "sensor.rejected", (int64_t)srv->rejected);
	}
	event_emit(srv, &w);
}

static void
check_disk(struct server *srv)
{
	uint64_t avail, total;
	bool low;

	if (disk_free(srv->spool_fs, &avail, &total) < 0)
		return;
	low = avail < (uint64_t)srv->cfg->min_free_disk_mb * 1024 * 1024;
	if (low != srv->capture_paused)
		logmsg(low ? "warning" : NULL,
		    "spool %s has %llu MiB free: capture %s", srv->cfg->spool,
		    (unsigned long long)(avail >> 20),
		    low ? "paused" : "resumed");
	srv->capture_paused = low;
}

static void
disk_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	check_disk(arg);
}

static int
write_heartbeat(struct server *srv)
{
	struct heartbeat_listener ls[LISTENERS_MAX];
	struct heartbeat hb;
	char err[512];
	int i, on;

	memset(&hb, 0, sizeof(hb));
	for (i = 0; i < srv->nlisteners; i++) {
		const struct listener_config *lc = srv->listeners[i].cfg;
		socklen_t len = sizeof(on);
		int fd = evconnlistener_get_fd(srv->listeners[i].evl);

		ls[i].name = lc->name;
		ls[i].address = lc->address;
		ls[i].port = lc->port;
		ls[i].service = lc->service == SERVICE_SMTP ? "smtp" : "proxy";
		ls[i].service_port = lc->service_port;
		on = 0;
		ls[i].accepting = !srv->stopping &&
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
		    on;
	}
	hb.sensor = srv->cfg->name;
	hb.version = SPAMPOT_VERSION_STRING;
	hb.started_usec = srv->started_usec;
	hb.listeners = ls;
	hb.nlisteners = srv->nlisteners;
	hb.connections = srv->nconns;
	hb.messages_stored = srv->messages_stored;
	hb.rejected = srv->rejected;
	hb.events_file = spool_events_name(srv->spool);
	hb.capture_paused = srv->capture_paused;
	heartbeat_measure(&hb, srv->spool_fs);
	if (heartbeat_write(srv->spool_dir, &hb, err, sizeof(err)) < 0) {
		logmsg("error", "%s", err);
		return -1;
	}
	return 0;
}

static void
heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	char err[512];
	int removed;

	(void)fd;
	(void)what;
	removed = spool_remove_confirmed(srv->spool, err, sizeof(err));
	if (removed < 0)
		logmsg("warning", "%s", err);
	else if (removed > 0)
		logmsg(NULL, "removed %d files the server confirmed", removed);
	write_heartbeat(srv);
}

/*
 * SIGHUP: nothing to reload, since the configuration is read once, as
 * root, before the drop.  Stopping on a lost terminal or a stray
 * reload request would cut every session short, so it is logged only.
 */
static void
hangup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	logmsg(NULL, "SIGHUP ignored: restart the sensor to apply a new "
	    "configuration");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	int i;

	(void)what;
	logmsg(NULL, "caught signal %d, stopping", (int)sig);
	srv->stopping = true;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i].evl);
	emit_lifecycle(srv, "sensor.stop");
	/* Let the commit of this turn run, then leave the loop. */
	event_base_loopexit(srv->base, NULL);
}

/* Start a periodic timer of the given number of seconds. */
static struct event *
start_timer(struct server *srv, int seconds, event_callback_fn fn)
{
	struct timeval tv = { seconds, 0 };
	struct event *ev = event_new(srv->base, -1, EV_PERSIST, fn, srv);

	event_add(ev, &tv);
	return ev;
}

/*
 * Give up root once the listeners are bound: chroot into the spool,
 * switch to the configured user, then enter the seccomp filter.
 * Started by another user, the daemon keeps that user and has no
 * root to give up; it still enters the filter.
 */
static void
confine(struct server *srv)
{
	const struct sensor_config *cfg = srv->cfg;
	struct privsep ps;
	unsigned char md[EVP_MAX_MD_SIZE];
	const char *names[CONFIG_HOSTNAMES_MAX];
	char err[512];

	/* OpenSSL loads its providers on first use: do it while it can. */
	EVP_Digest("", 0, md, NULL, EVP_sha256(), NULL);
	/* Load the key before the drop: only its creator may read it. */
	for (int i = 0; i < cfg->nhostnames; i++)
		names[i] = cfg->hostnames[i];
	srv->tls = tlscert_server_context(cfg->spool, names, cfg->nhostnames,
	    err, sizeof(err));
	if (srv->tls == NULL)
		logmsg("warning", "STARTTLS not offered: %s", err);
	heartbeat_open_proc();
	if (geteuid() == 0) {
		if (cfg->user[0] == '\0')
			fatal(1, "refusing to run as root: set \"user\" in "
				 "[sensor] to an unprivileged user");
		if (privsep_lookup(cfg->user, &ps, err, sizeof(err)) < 0 ||
		    privsep_chown_spool(&ps, cfg->spool, err, sizeof(err)) <
			0 ||
		    privsep_drop(&ps, cfg->chroot ? cfg->spool : NULL, err,
			sizeof(err)) < 0)
			fatal(1, "%s", err);
		if (cfg->chroot) {
			spool_chrooted(srv->spool);
			srv->spool_dir = "";
			srv->spool_fs = "/";
		}
		logmsg(NULL, "running as %s%s", cfg->user,
		    cfg->chroot ? ", chrooted to the spool" : "");
	} else if (cfg->user[0] != '\0') {
		logmsg("warning", "not started as root: running as uid %ld, "
		    "not as %s, and without chroot", (long)geteuid(),
		    cfg->user);
	}
	if (cfg->seccomp && sandbox_enter(cfg->probe_relay, err, sizeof(err)) < 0)
		fatal(1, "%s", err);
}

int
server_run(struct sensor_config *cfg)
{
	struct server srv;
	struct event *sigterm, *sigint, *sighup;
	uint32_t boot;
	char err[512];
	int i, done_fd, rc = 1;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	srv.spool_dir = cfg->spool;
	srv.spool_fs = cfg->spool;
	signal(SIGPIPE, SIG_IGN);
	if (getrandom(&boot, sizeof(boot), 0) != sizeof(boot))
		fatal(1, "getrandom: %s", strerror(errno));
	snprintf(srv.boot_id, sizeof(srv.boot_id), "%08x", boot);
	srv.per_ip = xcalloc(1, sizeof(*srv.per_ip));
	rate_pair_init(&srv.rate, cfg->rate_in, cfg->rate_out, now_usec());
	srv.rate_limited = cfg->rate_in > 0 || cfg->rate_out > 0 ||
	    cfg->rate_in_per_ip > 0 || cfg->rate_out_per_ip > 0;
	fit_descriptor_limit(&srv, cfg);
	if ((srv.spool = spool_open(cfg->spool, err, sizeof(err))) == NULL)
		fatal(1, "%s", err);
	/* Before confine(): the filter allows no thread to be made. */
	if ((done_fd = spool_start_thread(srv.spool, err, sizeof(err))) < 0)
		fatal(1, "%s", err);
	if ((srv.base = event_base_new()) == NULL)
		fatal(1, "cannot create the event loop");
	event_base_priority_init(srv.base, 2);
	srv.commit_ev = event_new(srv.base, -1, 0, commit_cb, &srv);
	srv.committed_ev = event_new(srv.base, done_fd, EV_READ | EV_PERSIST,
	    committed_cb, &srv);
	event_priority_set(srv.committed_ev, PRIORITY_IO);
	event_add(srv.committed_ev, NULL);
	srv.resume_ev = evtimer_new(srv.base, resume_cb, &srv);
	event_priority_set(srv.commit_ev, PRIORITY_COMMIT);
	for (i = 0; i < cfg->nlisteners; i++)
		if (open_listener(&srv, &cfg->listeners[i]) < 0)
			goto out;
	sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, &srv);
	sigint = evsignal_new(srv.base, SIGINT, signal_cb, &srv);
	sighup = evsignal_new(srv.base, SIGHUP, hangup_cb, &srv);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(sighup, NULL);
	confine(&srv);

	srv.started_usec = now_usec();
	check_disk(&srv);
	srv.disk_ev = start_timer(&srv, DISK_CHECK_INTERVAL, disk_cb);
	srv.heartbeat_ev = start_timer(&srv, cfg->heartbeat_interval,
	    heartbeat_cb);
	/* A spool the daemon cannot write would lose every message. */
	if (write_heartbeat(&srv) < 0)
		fatal(1, "the spool %s is not writable by the daemon; check its "
			 "owner and mode", cfg->spool);
	emit_lifecycle(&srv, "sensor.start");
	logmsg(NULL, "sensor %s ready: %d listeners, spool %s", cfg->name,
	    srv.nlisteners, cfg->spool);
	event_base_dispatch(srv.base);

	/* Answer the messages still waiting, then close every session. */
	srv.commit_durable = true;
	commit_begin(&srv);
	while (srv.in_flight)
		committed_cb(-1, 0, &srv);
	session_close_all(&srv);
	/*
	 * One more turn of the loop: a TLS session's last records are
	 * sent, and its bufferevents freed, only from callbacks.  Without
	 * it, the shutdown reply under TLS is lost and its memory leaks.
	 */
	event_base_loop(srv.base, EVLOOP_NONBLOCK);
	spool_commit(srv.spool, true, err, sizeof(err));
	write_heartbeat(&srv);
	event_free(srv.heartbeat_ev);
	event_free(srv.disk_ev);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	rc = 0;
out:
	for (i = 0; i < srv.nlisteners; i++)
		evconnlistener_free(srv.listeners[i].evl);
	event_free(srv.commit_ev);
	event_free(srv.committed_ev);
	event_free(srv.resume_ev);
	event_base_free(srv.base);
	spool_close(srv.spool);
	SSL_CTX_free(srv.tls);
	free(srv.per_ip);
	return rc;
}
