/*
 * Bandwidth caps: the token bucket's arithmetic on a simulated clock,
 * then the gate on real sockets, timed, with a real event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ratelimit.h"
#include "spampot_limits.h"
#include "util.h"

#define SEC 1000000LL

static void
bucket_starts_full(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, 5000, 0);
	assert_int_equal(b.tokens, 5000);
	assert_int_equal(tbucket_wait_usec(&b, 0), 0);
}

static void
bucket_debt_waits_for_rate(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, 5000, 0);
	tbucket_charge(&b, 5000, 0);
	/* Empty: one token is a millisecond away at 1000 bytes/s. */
	assert_int_equal(tbucket_wait_usec(&b, 0), 1000);
	tbucket_charge(&b, 2000, 0);
	assert_int_equal(b.tokens, -2000);
	assert_int_equal(tbucket_wait_usec(&b, 0), 2001000);
	/* Half a second repays 500 bytes of it. */
	assert_int_equal(tbucket_wait_usec(&b, SEC / 2), 1501000);
	assert_int_equal(b.tokens, -1500);
}

static void
bucket_refill_caps_at_burst(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, 5000, 0);
	tbucket_charge(&b, 4000, 0);
	tbucket_charge(&b, 0, 2 * SEC);
	assert_int_equal(b.tokens, 3000);
	tbucket_charge(&b, 0, 3600 * SEC);
	assert_int_equal(b.tokens, 5000);
}

/* Refills a microsecond apart must add up, not round down to nothing. */
static void
bucket_keeps_fractions(void **state)
{
	struct tbucket b;
	int64_t t;

	(void)state;
	tbucket_init(&b, 1000, 5000, 0);
	tbucket_charge(&b, 5000, 0);
	for (t = 1; t <= SEC; t += 1)
		tbucket_charge(&b, 0, t);
	assert_int_equal(b.tokens, 1000);
}

static void
bucket_rate_zero_never_waits(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 0, 0, 0);
	tbucket_charge(&b, 1000000000, 0);
	assert_int_equal(tbucket_wait_usec(&b, 0), 0);
}

/* A herd overdrawing a shared bucket cannot stall it for hours. */
static void
bucket_debt_is_capped(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, 5000, 0);
	tbucket_charge(&b, INT64_MAX / 4, 0);
	assert_true(tbucket_wait_usec(&b, 0) <= 61 * SEC);
	assert_true(tbucket_wait_usec(&b, 0) >= 59 * SEC);
}

static void
pair_burst_is_one_second_or_minimum(void **state)
{
	struct rate_pair p;

	(void)state;
	rate_pair_init(&p, 100000, 10, 0);
	assert_int_equal(p.in.burst, 100000);
	assert_int_equal(p.out.burst, RATE_BURST_MIN);
	assert_int_equal(p.out.rate, 10);
}

/* The gate on a socket pair: one side sends, the other reads. */

#define TRANSFER_BYTES 250000

struct transfer {
	struct event_base *base;
	struct bufferevent *reader, *writer;
	size_t received;
	int64_t done_usec;
};

static void
drain_cb(struct bufferevent *bev, void *arg)
{
	struct transfer *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	t->received += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (t->received >= TRANSFER_BYTES) {
		t->done_usec = now_usec();
		event_base_loopexit(t->base, NULL);
	}
}

/*
 * Socket buffers of 32 KiB: the gate charges a write after it, so one
 * write may move all the kernel takes before the gate can pause.
 */
static void
transfer_setup(struct transfer *t)
{
	int fds[2], size = 32768, i;

	memset(t, 0, sizeof(*t));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	for (i = 0; i < 2; i++) {
		evutil_make_socket_nonblocking(fds[i]);
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	t->base = event_base_new();
	assert_non_null(t->base);
	t->reader =
	    bufferevent_socket_new(t->base, fds[0], BEV_OPT_CLOSE_ON_FREE);
	t->writer =
	    bufferevent_socket_new(t->base, fds[1], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(t->reader, drain_cb, NULL, NULL, t);
	bufferevent_enable(t->reader, EV_READ);
	bufferevent_enable(t->writer, EV_WRITE);
}

/* Send TRANSFER_BYTES and return the seconds until all arrived. */
static double
transfer_run(struct transfer *t)
{
	static char chunk[TRANSFER_BYTES];
	struct timeval limit = {20, 0};
	int64_t start = now_usec();

	bufferevent_write(t->writer, chunk, sizeof(chunk));
	event_base_loopexit(t->base, &limit);
	event_base_dispatch(t->base);
	assert_int_equal(t->received, TRANSFER_BYTES);
	return (double)(t->done_usec - start) / SEC;
}

static void
transfer_teardown(struct transfer *t)
{
	bufferevent_free(t->reader);
	bufferevent_free(t->writer);
	event_base_free(t->base);
}

static void
gate_absent_is_fast(void **state)
{
	struct transfer t;

	(void)state;
	transfer_setup(&t);
	assert_true(transfer_run(&t) < 0.5);
	transfer_teardown(&t);
}

/*
 * 250 kB at 100 kB/s with a 100 kB burst: at least 1.5 s, less the one
 * read that may overshoot before the debt is seen.
 */
static void
gate_caps_reading(void **state)
{
	struct transfer t;
	struct rate_pair p;
	struct rate_gate *g;
	double secs;

	(void)state;
	transfer_setup(&t);
	rate_pair_init(&p, 100000, 0, now_usec());
	g = rate_gate_new(t.reader, &p, NULL);
	assert_non_null(g);
	secs = transfer_run(&t);
	assert_true(secs >= 1.3);
	assert_true(secs < 4.0);
	rate_gate_free(g);
	transfer_teardown(&t);
}

/*
 * 250 kB at 50 kB/s with a 50 kB burst, less the socket buffers' worth
 * one write may carry past the cap: at least 2 s.
 */
static void
gate_caps_writing(void **state)
{
	struct transfer t;
	struct rate_pair p;
	struct rate_gate *g;
	double secs;

	(void)state;
	transfer_setup(&t);
	rate_pair_init(&p, 0, 50000, now_usec());
	g = rate_gate_new(t.writer, NULL, &p);
	assert_non_null(g);
	secs = transfer_run(&t);
	assert_true(secs >= 2.0);
	assert_true(secs < 6.0);
	rate_gate_free(g);
	transfer_teardown(&t);
}

/* A wide first pair does not lift the second, narrow one. */
static void
gate_obeys_tighter_pair(void **state)
{
	struct transfer t;
	struct rate_pair wide, narrow;
	struct rate_gate *g;
	double secs;

	(void)state;
	transfer_setup(&t);
	rate_pair_init(&wide, 100000000, 0, now_usec());
	rate_pair_init(&narrow, 100000, 0, now_usec());
	g = rate_gate_new(t.reader, &wide, &narrow);
	secs = transfer_run(&t);
	assert_true(secs >= 1.3);
	rate_gate_free(g);
	transfer_teardown(&t);
}

/*
 * Reading disabled by its owner while the gate pauses it stays
 * disabled when the pause ends: the gate never enables reading.
 */
static void
gate_leaves_enable_alone(void **state)
{
	struct transfer t;
	struct rate_pair p;
	struct rate_gate *g;
	struct timeval wait = {1, 0};

	(void)state;
	transfer_setup(&t);
	rate_pair_init(&p, 1000, 0, now_usec());
	g = rate_gate_new(t.reader, &p, NULL);
	bufferevent_disable(t.reader, EV_READ);
	bufferevent_write(t.writer, "x", 1);
	event_base_loopexit(t.base, &wait);
	event_base_dispatch(t.base);
	assert_int_equal(t.received, 0);
	assert_false(bufferevent_get_enabled(t.reader) & EV_READ);
	rate_gate_free(g);
	transfer_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bucket_starts_full),
	    cmocka_unit_test(bucket_debt_waits_for_rate),
	    cmocka_unit_test(bucket_refill_caps_at_burst),
	    cmocka_unit_test(bucket_keeps_fractions),
	    cmocka_unit_test(bucket_rate_zero_never_waits),
	    cmocka_unit_test(bucket_debt_is_capped),
	    cmocka_unit_test(pair_burst_is_one_second_or_minimum),
	    cmocka_unit_test(gate_absent_is_fast),
	    cmocka_unit_test(gate_caps_reading),
	    cmocka_unit_test(gate_caps_writing),
	    cmocka_unit_test(gate_obeys_tighter_pair),
	    cmocka_unit_test(gate_leaves_enable_alone),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
