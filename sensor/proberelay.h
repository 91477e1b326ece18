/*
 * Relay of probe messages to one configured smarthost, so that a
 * proxy checker sees its test message arrive and rates the sensor as
 * a working proxy.  Only messages the probe detector marked are ever
 * given here; spam never is.  The smarthost is an IP address and port
 * from the configuration: nothing is resolved, no MX is looked up.
 * Caps per clock hour, in all and per recipient domain, keep a faked
 * probe from turning the sensor into an open relay.
 */
#ifndef SPAMPOT_PROBERELAY_H
#define SPAMPOT_PROBERELAY_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct probe_relay;

/* A relay to host (an IP address and port), with its hourly caps. */
struct probe_relay *probe_relay_new(struct event_base *base,
    const struct sockaddr_storage *host, int per_hour, int per_domain);

/* Outcome of probe_relay_submit() for one message. */
enum probe_relay_result {
	PROBE_RELAY_QUEUED, /* a connection to the smarthost is under way */
	PROBE_RELAY_CAPPED, /* over a cap: not relayed */
	PROBE_RELAY_FAILED, /* no connection could be started */
};

/*
 * Relay a message: the recipients whose domain is still under its cap
 * get a copy, sent in the background.  The arguments are copied; the
 * outcome is logged.  session_id names the message in the log.
 */
enum probe_relay_result probe_relay_submit(struct probe_relay *r,
    const char *session_id, const char *helo, const char *mail_from,
    const char *const *rcpts, int nrcpts, const unsigned char *body,
    size_t size);

/* "queued", "capped" or "failed", for events. */
const char *probe_relay_result_name(enum probe_relay_result res);

#endif
