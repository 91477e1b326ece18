/*
 * PROXY protocol versions 1 and 2 (HAProxy's "The PROXY protocol"
 * specification): the header a redirector or load balancer puts in
 * front of a connection to carry the original client's address.
 * The sensor reads it only from configured trusted networks.
 */
#ifndef SPAMPOT_PROXYPROTO_H
#define SPAMPOT_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parse.h"

struct proxy_header {
	int version; /* 1 or 2 */
	bool local;  /* LOCAL, UNSPEC or UNKNOWN: keep the peer */
	struct sockaddr_storage src; /* original client, when !local */
	struct sockaddr_storage dst; /* address it connected to */
};

/*
 * Parse a header at the start of buf.  Returns PARSE_MORE while the
 * bytes could still be a header, PARSE_ERROR (with *why) as soon as
 * they cannot be one or are malformed, and PARSE_OK with *used bytes
 * consumed.  v1 is bounded by PROXY_V1_MAX and v2 by PROXY_V2_MAX.
 * v2 TLVs are checked to fit the header, then skipped.  v2 addresses
 * are accepted for TCP over IPv4 and IPv6 only.
 */
int proxyproto_parse(const uint8_t *buf, size_t len, struct proxy_header *out,
    size_t *used, const char **why);

/* Write a v1 header ("PROXY TCP4 ...\r\n") for src -> dst; returns length. */
size_t proxyproto_format_v1(char *out, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst);

/* Write a v2 header for src -> dst; returns length (at most 52). */
size_t proxyproto_format_v2(uint8_t *out, size_t cap,
    const struct sockaddr *src, const struct sockaddr *dst);

#endif
