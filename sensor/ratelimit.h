/*
 * Bandwidth caps: token buckets, and a gate that charges a
 * connection's traffic to up to two pairs of them (its source
 * address's and the whole sensor's) and pauses the connection while
 * either is in debt.
 */
#ifndef SPAMPOT_RATELIMIT_H
#define SPAMPOT_RATELIMIT_H

#include <stdint.h>

struct bufferevent;
struct event_base;

/*
 * A token bucket in bytes.  Tokens may go negative: traffic is charged
 * after it has moved, and the debt is what the owner must wait out.
 */
struct tbucket {
	int64_t rate;  /* bytes per second; 0 means no cap */
	int64_t burst; /* maximum tokens in the bucket */
	int64_t tokens;
	int64_t last_usec; /* time up to which tokens were added */
};

/* A cap for each direction, as seen from the sensor. */
struct rate_pair {
	struct tbucket in, out;
};

/* Set a full bucket; rate 0 makes one that never runs out. */
void tbucket_init(
    struct tbucket *b, int64_t rate, int64_t burst, int64_t now_usec);

/* Take bytes from the bucket, going into debt if need be. */
void tbucket_charge(struct tbucket *b, int64_t bytes, int64_t now_usec);

/* Microseconds until the bucket has a token again; 0 if it has one. */
int64_t tbucket_wait_usec(struct tbucket *b, int64_t now_usec);

/* Fill both buckets of a pair from rates in bytes per second. */
void rate_pair_init(
    struct rate_pair *p, int64_t rate_in, int64_t rate_out, int64_t now_usec);

struct rate_gate;

/*
 * Charge everything bev reads and writes to the pairs a and b (either
 * may be NULL), pausing its reads or writes while a bucket is in
 * debt.  The pairs must outlive the gate, and the gate must be freed
 * before bev.
 */
struct rate_gate *rate_gate_new(
    struct bufferevent *bev, struct rate_pair *a, struct rate_pair *b);
void rate_gate_free(struct rate_gate *g);

#endif
