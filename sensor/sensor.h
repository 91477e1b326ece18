/*
 * The daemon's own structures, shared by server.c (listeners, caps and
 * commits) and session.c (one connection's protocol dialogue).
 */
#ifndef SPAMPOT_SENSOR_H
#define SPAMPOT_SENSOR_H

#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "jsonw.h"
#include "ratelimit.h"
#include "spool.h"

struct conn;
struct iptable;

struct listener {
	struct server *srv;
	const struct listener_config *cfg;
	struct evconnlistener *evl;
	const struct cidr *trusted;	/* PROXY protocol relays */
	int ntrusted;
};

struct server {
	struct event_base *base;
	const struct sensor_config *cfg;
	struct spool *spool;
	const char *spool_dir;		/* prefix of spool paths: "" in chroot */
	const char *spool_fs;		/* a path on the spool's file system */
	struct listener listeners[LISTENERS_MAX];
	int nlisteners;

	struct event *commit_ev;	/* runs after the loop's reads */
	struct event *committed_ev;	/* the commit thread is done */
	struct event *resume_ev;	/* re-enables listeners after EMFILE */
	uint64_t accept_errors;
	struct conn *waiting;		/* messages waiting for a commit */
	struct conn *flight_waiting;	/* those of the batch in flight */
	bool in_flight;	/* a batch is in flight */
	struct conn *conns;		/* every open connection */
	bool commit_durable;

	int nconns;
	struct iptable *per_ip;
	struct rate_pair rate;		/* the sensor's bandwidth caps */
	bool rate_limited;		/* a cap is set, per sensor or address */
	long body_bytes;		/* reserved by SMTP sessions */

	char boot_id[9];		/* random, prefixes session ids */
	uint64_t next_session;
	uint64_t messages_stored;
	uint64_t rejected;
	int64_t started_usec;
	bool capture_paused;		/* spool disk below its minimum */
	struct ssl_ctx_st *tls;		/* for STARTTLS; NULL: not offered */
	bool stopping;
	struct event *heartbeat_ev;
	struct event *disk_ev;
};

/* server.c */

/* Start an event: @timestamp, event.action, sensor.name, session.id. */
void event_begin(struct jsonw *w, char *buf, size_t cap,
    const struct server *srv, const char *action, const char *session_id);

/* Finish an event and stage it; it is written after this loop turn. */
void event_emit(struct server *srv, struct jsonw *w);

/* Queue c until the next durable commit, then session_committed(). */
void server_wait_commit(struct server *srv, struct conn *c);

/* Count a connection from ip; false when a cap forbids it. */
bool server_admit(struct server *srv, const char *ip, const char **why);
void server_release(struct server *srv, const char *ip);

/*
 * Put bev, from the admitted address ip, under the bandwidth caps;
 * NULL when none is set.  Free the gate before releasing ip.
 */
struct rate_gate *server_rate_gate(struct server *srv,
    struct bufferevent *bev, const char *ip);

/* session.c */

void session_accept(struct listener *l, int fd, const struct sockaddr *peer,
    int peerlen);

/* The commit that carried c's message finished; ok is its outcome. */
void session_committed(struct conn *c, bool ok);

/* Close every connection at shutdown, sending SMTP clients a 421. */
void session_close_all(struct server *srv);

/* Link for the server's list of sessions waiting for a commit. */
struct conn **session_next_waiting(struct conn *c);

#endif
