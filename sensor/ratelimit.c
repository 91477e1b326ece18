/*
 * Token buckets for the bandwidth caps, and the gate that applies them
 * to one connection.
 *
 * libevent's own rate limiting puts a bufferevent in at most one group
 * besides its own bucket, and a connection here is charged to two shared
 * buckets: its source address's and the sensor's.  So the gate keeps
 * the buckets itself and charges them from evbuffer callbacks, after
 * the bytes have moved.  To pause, it does not disable the
 * bufferevent: the session enables and disables reading for its own
 * reasons (an SMTP client waits for its commit), and two owners of one
 * switch would undo each other.  It drives instead the bufferevent's
 * private bucket, which libevent keeps apart from enable and disable:
 * that bucket refills so fast that it never limits by itself, and the
 * gate overdraws it by as many ticks as the debt takes to repay.
 *
 * NOTE: charged after the fact, a connection overshoots its cap by one
 * read (libevent reads at most 4 KiB at a time) or by one write, which
 * can be as large as the kernel's send buffer.  The average holds,
 * because the overshoot is repaid as debt.
 */
#include "ratelimit.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdbool.h>
#include <stdlib.h>

#include "spampot_limits.h"
#include "util.h"

#define USEC_PER_SEC 1000000

/* The private bucket's tick: the granularity of every pause. */
#define GATE_TICK_USEC 10000

/* Bytes added to the private bucket each tick: more than any link moves. */
#define GATE_TICK_BYTES ((ev_ssize_t)1 << 30)

/*
 * Maximum length of one pause.  A deeper debt is waited out in several
 * pauses, each starting when the next bytes move.
 */
#define GATE_PAUSE_MAX_USEC (10LL * USEC_PER_SEC)

/*
 * Deepest debt of a bucket, in seconds of its rate.  Thousands of
 * connections reading at once can overdraw a shared bucket far; past
 * this, the excess is forgiven rather than stalling everyone for long.
 */
#define RATE_DEBT_SECONDS_MAX 60

struct rate_gate {
	struct bufferevent *bev;
	struct rate_pair *pairs[2];
	struct evbuffer_cb_entry *in_cb, *out_cb;
};

/* One configuration serves every gate; libevent does not copy it. */
static struct ev_token_bucket_cfg *gate_cfg;

void
tbucket_init(struct tbucket *b, int64_t rate, int64_t burst, int64_t now_usec)
{
	b->rate = rate > 0 ? rate : 0;
	b->burst = burst > 0 ? burst : 0;
	b->tokens = b->burst;
	b->last_usec = now_usec;
}

/* Add the tokens earned since last_usec, keeping the fraction unspent. */
static void
tbucket_refill(struct tbucket *b, int64_t now_usec)
{
	int64_t elapsed = now_usec - b->last_usec, gain, full_usec;

	if (elapsed <= 0)
		return;
	/* Compare times, not products, so that nothing can overflow. */
	full_usec =
	    (b->burst - b->tokens) / b->rate * USEC_PER_SEC + USEC_PER_SEC;
	if (elapsed >= full_usec) {
		b->tokens = b->burst;
		b->last_usec = now_usec;
		return;
	}
	gain = elapsed * b->rate / USEC_PER_SEC;
	b->tokens += gain;
	b->last_usec += gain * USEC_PER_SEC / b->rate;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

void
tbucket_charge(struct tbucket *b, int64_t bytes, int64_t now_usec)
{
	if (b->rate == 0)
		return;
	tbucket_refill(b, now_usec);
	b->tokens -= bytes;
	/* Many connections can overdraw at once; cap what one waits. */
	if (b->tokens < -RATE_DEBT_SECONDS_MAX * b->rate)
		b->tokens = -RATE_DEBT_SECONDS_MAX * b->rate;
}

int64_t
tbucket_wait_usec(struct tbucket *b, int64_t now_usec)
{
	if (b->rate == 0)
		return 0;
	tbucket_refill(b, now_usec);
	if (b->tokens > 0)
		return 0;
	return ((1 - b->tokens) * USEC_PER_SEC + b->rate - 1) / b->rate;
}

/* One second of traffic, but never less than one read of libevent's. */
static int64_t
burst_for(int64_t rate)
{
	return rate > RATE_BURST_MIN ? rate : RATE_BURST_MIN;
}

void
rate_pair_init(
    struct rate_pair *p, int64_t rate_in, int64_t rate_out, int64_t now_usec)
{
	tbucket_init(&p->in, rate_in, burst_for(rate_in), now_usec);
	tbucket_init(&p->out, rate_out, burst_for(rate_out), now_usec);
}

/*
 * Overdraw the private bucket so that it stays empty for wait_usec.
 * libevent refills it by the ticks since its last refill, which after
 * a busy spell without pauses is long past.  So the bucket is first
 * started afresh at the current tick, keeping a pause still under way
 * in the other direction.
 */
static void
gate_pause(struct rate_gate *g, bool reading, int64_t wait_usec)
{
	ev_ssize_t ticks, target, read_limit, write_limit;

	if (wait_usec > GATE_PAUSE_MAX_USEC)
		wait_usec = GATE_PAUSE_MAX_USEC;
	ticks = (wait_usec + GATE_TICK_USEC - 1) / GATE_TICK_USEC;
	/* It resumes once the limit is above zero again: after ticks. */
	target = 1 - ticks * GATE_TICK_BYTES;
	read_limit = bufferevent_get_read_limit(g->bev);
	write_limit = bufferevent_get_write_limit(g->bev);
	if (reading && read_limit > target)
		read_limit = target;
	if (!reading && write_limit > target)
		write_limit = target;
	bufferevent_set_rate_limit(g->bev, NULL);
	bufferevent_set_rate_limit(g->bev, gate_cfg);
	if (read_limit < GATE_TICK_BYTES)
		bufferevent_decrement_read_limit(
		    g->bev, GATE_TICK_BYTES - read_limit);
	if (write_limit < GATE_TICK_BYTES)
		bufferevent_decrement_write_limit(
		    g->bev, GATE_TICK_BYTES - write_limit);
}

/*
 * Bytes added to the input buffer came from the peer; bytes removed
 * from the output buffer went to it.  The session's own additions to
 * the output and its draining of the input move nothing on the wire.
 */
static void
gate_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct rate_gate *g = arg;
	bool reading = buf == bufferevent_get_input(g->bev);
	size_t moved = reading ? info->n_added : info->n_deleted;
	int64_t now, wait = 0, w;
	struct tbucket *b;
	int i;

	if (moved == 0)
		return;
	now = now_usec();
	for (i = 0; i < 2; i++) {
		if (g->pairs[i] == NULL)
			continue;
		b = reading ? &g->pairs[i]->in : &g->pairs[i]->out;
		tbucket_charge(b, (int64_t)moved, now);
		if ((w = tbucket_wait_usec(b, now)) > wait)
			wait = w;
	}
	if (wait > 0)
		gate_pause(g, reading, wait);
}

struct rate_gate *
rate_gate_new(struct bufferevent *bev, struct rate_pair *a, struct rate_pair *b)
{
	struct timeval tick = {0, GATE_TICK_USEC};
	struct rate_gate *g;

	if (gate_cfg == NULL)
		gate_cfg = ev_token_bucket_cfg_new(GATE_TICK_BYTES,
		    GATE_TICK_BYTES, GATE_TICK_BYTES, GATE_TICK_BYTES, &tick);
	if (gate_cfg == NULL || bufferevent_set_rate_limit(bev, gate_cfg) < 0)
		return NULL;
	g = xcalloc(1, sizeof(*g));
	g->bev = bev;
	g->pairs[0] = a;
	g->pairs[1] = b;
	g->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), gate_cb, g);
	g->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), gate_cb, g);
	return g;
}

void
rate_gate_free(struct rate_gate *g)
{
	if (g == NULL)
		return;
	if (g->in_cb != NULL)
		evbuffer_remove_cb_entry(
		    bufferevent_get_input(g->bev), g->in_cb);
	if (g->out_cb != NULL)
		evbuffer_remove_cb_entry(
		    bufferevent_get_output(g->bev), g->out_cb);
	free(g);
}
