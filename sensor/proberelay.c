/*
 * The probe relay; see proberelay.h.  A small SMTP client over a
 * libevent bufferevent: it sends EHLO, MAIL, RCPT, DATA and QUIT and
 * gives up on any reply that is not 2xx or 3xx.  The smarthost is the
 * operator's, but its replies are still read with bounded lines.
 */
#include "proberelay.h"

#include <ctype.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spampot_limits.h"
#include "util.h"

/* Longest reply line read from the smarthost (RFC 5321: 512). */
#define RELAY_LINE_MAX 1024

/* Seconds of one cap window. */
#define RELAY_WINDOW 3600

enum relay_step {
	STEP_GREETING,
	STEP_EHLO,
	STEP_MAIL,
	STEP_RCPT,
	STEP_DATA,
	STEP_BODY,
	STEP_QUIT,
};

struct domain_count {
	char name[256];
	int count;
};

struct relay_job {
	struct probe_relay *relay;
	struct bufferevent *bev;
	enum relay_step step;
	char session_id[32];
	char helo[256];
	char mail_from[SMTP_ADDRESS_MAX + 1];
	char (*rcpts)[SMTP_ADDRESS_MAX + 1];
	int nrcpts, next_rcpt;
	unsigned char *body;
	size_t size;
};

struct probe_relay {
	struct event_base *base;
	struct sockaddr_storage host;
	int per_hour, per_domain;
	time_t window_start;
	int sent; /* in this window */
	struct domain_count domains[PROBE_RELAY_DOMAINS_MAX];
	int ndomains;
	int pending;
};

struct probe_relay *
probe_relay_new(struct event_base *base, const struct sockaddr_storage *host,
    int per_hour, int per_domain)
{
	struct probe_relay *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->host = *host;
	r->per_hour = per_hour;
	r->per_domain = per_domain;
	return r;
}

const char *
probe_relay_result_name(enum probe_relay_result res)
{
	static const char *const names[] = {
	    [PROBE_RELAY_QUEUED] = "queued",
	    [PROBE_RELAY_CAPPED] = "capped",
	    [PROBE_RELAY_FAILED] = "failed",
	};

	return names[res];
}

/* Start a new window once the current one is an hour old. */
static void
roll_window(struct probe_relay *r)
{
	time_t now = time(NULL);

	if (now - r->window_start < RELAY_WINDOW)
		return;
	r->window_start = now;
	r->sent = 0;
	r->ndomains = 0;
}

/* The count of domain (lowercased) in this window, or NULL if full. */
static struct domain_count *
domain_slot(struct probe_relay *r, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	char name[256];
	size_t i;
	int j;

	at = at != NULL ? at + 1 : "";
	for (i = 0; at[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = (char)tolower((unsigned char)at[i]);
	name[i] = '\0';
	for (j = 0; j < r->ndomains; j++)
		if (strcmp(r->domains[j].name, name) == 0)
			return &r->domains[j];
	if (r->ndomains == PROBE_RELAY_DOMAINS_MAX)
		return NULL;
	strlcpy_(r->domains[r->ndomains].name, name, sizeof(name));
	r->domains[r->ndomains].count = 0;
	return &r->domains[r->ndomains++];
}

static void
job_free(struct relay_job *job, const char *outcome)
{
	logmsg(NULL, "session %s: probe relay %s", job->session_id, outcome);
	job->relay->pending--;
	if (job->bev != NULL)
		bufferevent_free(job->bev);
	free(job->rcpts);
	free(job->body);
	free(job);
}

/* Send the body dot-stuffed (RFC 5321 section 4.5.2) and the final dot. */
static void
send_body(struct relay_job *job, struct evbuffer *out)
{
	size_t i, start = 0;

	for (i = 0; i < job->size; i++) {
		if (i == start && job->body[i] == '.')
			evbuffer_add(out, ".", 1);
		if (job->body[i] == '\n') {
			evbuffer_add(out, job->body + start, i + 1 - start);
			start = i + 1;
		}
	}
	evbuffer_add(out, job->body + start, job->size - start);
	if (job->size > 0 && job->body[job->size - 1] != '\n')
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
}

/* Send the command that follows a positive reply to the current step. */
static void
advance(struct relay_job *job)
{
	struct evbuffer *out = bufferevent_get_output(job->bev);

	switch (job->step) {
	case STEP_GREETING:
		evbuffer_add_printf(out, "EHLO %s\r\n", job->helo);
		job->step = STEP_EHLO;
		break;
	case STEP_EHLO:
		evbuffer_add_printf(out, "MAIL FROM:<%s>\r\n", job->mail_from);
		job->step = STEP_MAIL;
		break;
	case STEP_MAIL:
	case STEP_RCPT:
		if (job->next_rcpt < job->nrcpts) {
			evbuffer_add_printf(out, "RCPT TO:<%s>\r\n",
			    job->rcpts[job->next_rcpt++]);
			job->step = STEP_RCPT;
		} else {
			evbuffer_add(out, "DATA\r\n", 6);
			job->step = STEP_DATA;
		}
		break;
	case STEP_DATA:
		send_body(job, out);
		job->step = STEP_BODY;
		break;
	case STEP_BODY:
		evbuffer_add(out, "QUIT\r\n", 6);
		job->step = STEP_QUIT;
		break;
	case STEP_QUIT:
		break;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_job *job = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		/* "250-" continues a reply; "250 " ends it. */
		bool last = n < 4 || line[3] != '-';
		char code = line[0];

		free(line);
		if (!last)
			continue;
		if (job->step == STEP_QUIT) {
			job_free(job, "delivered");
			return;
		}
		if (code != '2' && code != '3') {
			job_free(job, "rejected by the smarthost");
			return;
		}
		if (job->step == STEP_BODY) {
			logmsg(NULL,
			    "session %s: probe relay accepted by the "
			    "smarthost",
			    job->session_id);
		}
		advance(job);
	}
	if (evbuffer_get_length(in) > RELAY_LINE_MAX)
		job_free(job, "failed: reply line too long");
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_job *job = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	job_free(job,
	    what & BEV_EVENT_TIMEOUT     ? "failed: timed out"
		: job->step == STEP_QUIT ? "delivered"
					 : "failed: connection closed");
}

static bool
line_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

enum probe_relay_result
probe_relay_submit(struct probe_relay *r, const char *session_id,
    const char *helo, const char *mail_from, const char *const *rcpts,
    int nrcpts, const unsigned char *body, size_t size)
{
	struct timeval tv = {PROBE_RELAY_TIMEOUT, 0};
	struct relay_job *job;
	socklen_t hostlen;
	int i, n = 0;

	/* Every field becomes part of an SMTP command line. */
	if (!line_safe(helo) || !line_safe(mail_from))
		return PROBE_RELAY_FAILED;
	for (i = 0; i < nrcpts; i++)
		if (!line_safe(rcpts[i]))
			return PROBE_RELAY_FAILED;
	roll_window(r);
	if (r->sent >= r->per_hour || r->pending >= PROBE_RELAY_PENDING_MAX)
		return PROBE_RELAY_CAPPED;
	job = xcalloc(1, sizeof(*job));
	job->rcpts =
	    xcalloc((size_t)(nrcpts > 0 ? nrcpts : 1), sizeof(*job->rcpts));
	for (i = 0; i < nrcpts && i < SMTP_RCPT_LOGGED_MAX; i++) {
		struct domain_count *d = domain_slot(r, rcpts[i]);

		if (d == NULL || d->count >= r->per_domain)
			continue;
		d->count++;
		strlcpy_(job->rcpts[n++], rcpts[i], sizeof(job->rcpts[0]));
	}
	if (n == 0) {
		free(job->rcpts);
		free(job);
		return PROBE_RELAY_CAPPED;
	}
	job->relay = r;
	job->nrcpts = n;
	strlcpy_(job->session_id, session_id, sizeof(job->session_id));
	strlcpy_(
	    job->helo, helo[0] != '\0' ? helo : "localhost", sizeof(job->helo));
	strlcpy_(job->mail_from, mail_from, sizeof(job->mail_from));
	job->body = xmalloc(size > 0 ? size : 1);
	memcpy(job->body, body, size);
	job->size = size;
	r->sent++;
	r->pending++;
	job->bev = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(job->bev, read_cb, NULL, event_cb, job);
	bufferevent_set_timeouts(job->bev, &tv, &tv);
	bufferevent_enable(job->bev, EV_READ | EV_WRITE);
	hostlen = r->host.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						: sizeof(struct sockaddr_in);
	if (bufferevent_socket_connect(
		job->bev, (struct sockaddr *)&r->host, (int)hostlen) < 0) {
		job_free(job, "failed: cannot connect");
		return PROBE_RELAY_FAILED;
	}
	return PROBE_RELAY_QUEUED;
}
