/*
 * SOCKS4, SOCKS4a (no RFC; the NEC documents) and SOCKS5 (RFC 1928)
 * with username/password authentication (RFC 1929): parsers of what a
 * client sends and builders of the replies a real proxy sends back.
 *
 * Parsers are incremental and pure: they look at the bytes received so
 * far, return PARSE_MORE until a message is whole, and never read past
 * len.  Nothing here touches a socket, so each is unit-tested and fuzzed.
 */
#ifndef SPAMPOT_SOCKS_H
#define SPAMPOT_SOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "spampot_limits.h"
#include "parse.h"

enum socks_command {
	SOCKS_CONNECT = 1,
	SOCKS_BIND = 2,
	SOCKS_UDP_ASSOCIATE = 3,
};

/* SOCKS5 address types; SOCKS4 uses IPV4, SOCKS4a uses DOMAIN. */
enum socks_atyp {
	SOCKS_ATYP_IPV4 = 1,
	SOCKS_ATYP_DOMAIN = 3,
	SOCKS_ATYP_IPV6 = 4,
};

/* SOCKS5 reply codes (RFC 1928 section 6). */
enum socks5_reply_code {
	SOCKS5_SUCCEEDED = 0x00,
	SOCKS5_GENERAL_FAILURE = 0x01,
	SOCKS5_NOT_ALLOWED = 0x02,
	SOCKS5_NETWORK_UNREACHABLE = 0x03,
	SOCKS5_HOST_UNREACHABLE = 0x04,
	SOCKS5_CONNECTION_REFUSED = 0x05,
	SOCKS5_TTL_EXPIRED = 0x06,
	SOCKS5_COMMAND_NOT_SUPPORTED = 0x07,
	SOCKS5_ATYP_NOT_SUPPORTED = 0x08,
};

/* SOCKS4 reply codes. */
enum socks4_reply_code {
	SOCKS4_GRANTED = 0x5a,
	SOCKS4_REJECTED = 0x5b,
};

/* SOCKS5 authentication methods. */
#define SOCKS5_METHOD_NONE         0x00
#define SOCKS5_METHOD_USERPASS     0x02
#define SOCKS5_METHOD_UNACCEPTABLE 0xff

/* A CONNECT, BIND or UDP ASSOCIATE request of either version. */
struct socks_request {
	int version;                    /* 4 or 5 */
	int command;                    /* enum socks_command, as sent */
	int atyp;                       /* enum socks_atyp */
	uint8_t addr[16];               /* IPV4 or IPV6 in network order */
	char host[SOCKS_FIELD_MAX + 1]; /* domain, or the address as text */
	uint16_t port;
	char user[SOCKS_FIELD_MAX + 1]; /* SOCKS4 user id, may be empty */
	size_t user_len;
};

struct socks5_greeting {
	int nmethods;
	uint8_t methods[255];
};

/* RFC 1929 username/password request; either may hold any bytes. */
struct socks5_auth {
	char user[SOCKS_FIELD_MAX + 1];
	size_t user_len;
	char pass[SOCKS_FIELD_MAX + 1];
	size_t pass_len;
};

/*
 * Each parser returns PARSE_MORE, PARSE_ERROR with *why set to a short
 * static reason for the event log, or PARSE_OK with *used set to the
 * bytes that made up the message.  Requests are returned with any
 * command byte, for the caller to reject by reply.  When a SOCKS5
 * request fails on an unknown address type, out->atyp contains that type,
 * so that the caller can reply SOCKS5_ATYP_NOT_SUPPORTED.
 */
int socks4_parse_request(const uint8_t *buf, size_t len,
    struct socks_request *out, size_t *used, const char **why);
int socks5_parse_greeting(const uint8_t *buf, size_t len,
    struct socks5_greeting *out, size_t *used, const char **why);
int socks5_parse_auth(const uint8_t *buf, size_t len, struct socks5_auth *out,
    size_t *used, const char **why);
int socks5_parse_request(const uint8_t *buf, size_t len,
    struct socks_request *out, size_t *used, const char **why);

/*
 * The method a permissive open proxy picks from a greeting: no
 * authentication when offered, else username/password (whose every
 * credential it then accepts), else SOCKS5_METHOD_UNACCEPTABLE.
 */
int socks5_choose_method(const struct socks5_greeting *g);

/* Replies; each returns the number of bytes written to out. */
size_t socks4_reply(
    uint8_t out[8], int code, uint16_t port, const uint8_t addr[4]);
size_t socks5_method_reply(uint8_t out[2], int method);
size_t socks5_auth_reply(uint8_t out[2], int ok);

/* bound: the address the proxy claims to have bound (IPv4 or IPv6). */
size_t socks5_reply(uint8_t out[22], int code, const struct sockaddr *bound);

#endif
