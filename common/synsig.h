/*
 * TCP SYN signatures in the form p0f v3 uses, taken from the raw IP
 * and TCP headers of one SYN: what Linux returns from
 * getsockopt(TCP_SAVED_SYN), or a packet from a capture with its link
 * header removed.
 *
 * The text form is p0f's: ver:ittl:olen:mss:wsize,scale:olayout:quirks:
 * pclass, with the TTL written as observed+distance ("57+7", or "57+?"
 * when the distance would exceed p0f's limit).  The window is always
 * written as its raw value, never as mss*N, so that the text can be
 * parsed back and matched again exactly as the packet would be.
 *
 * The packet bytes come from the peer: every length field is checked
 * against the buffer and against the other headers before it is used.
 */
#ifndef SPAMPOT_SYNSIG_H
#define SPAMPOT_SYNSIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Options recorded per SYN.  This is p0f 3.09b's MAX_TCP_OPT: a SYN
 * with more options gets the "bad" quirk, as it does in p0f, so the
 * layout and the quirks agree with p0f's for the same packet.
 */
#define SYNSIG_OPTIONS_MAX 24

/* Space for the text form of any signature, NUL included. */
#define SYNSIG_TEXT_MAX 256

/*
 * A TTL more than this below the guessed initial TTL is shown as "+?"
 * and makes a match fuzzy (p0f 3.09b's MAX_DIST).
 */
#define SYNSIG_DISTANCE_MAX 35

/* TCP option kinds that p0f names in a layout. */
enum {
	TCPOPT_KIND_EOL = 0,
	TCPOPT_KIND_NOP = 1,
	TCPOPT_KIND_MSS = 2,
	TCPOPT_KIND_WS = 3,
	TCPOPT_KIND_SACKOK = 4,
	TCPOPT_KIND_SACK = 5,
	TCPOPT_KIND_TS = 8,
};

/* p0f's quirks, in the order its text form lists them. */
enum synsig_quirk {
	QUIRK_DF = 1u << 0,        /* df: IPv4 don't fragment set */
	QUIRK_NZ_ID = 1u << 1,     /* id+: DF set but IPv4 ID not zero */
	QUIRK_ZERO_ID = 1u << 2,   /* id-: DF clear but IPv4 ID zero */
	QUIRK_ECN = 1u << 3,       /* ecn: ECN bits in IP or TCP header */
	QUIRK_NZ_MBZ = 1u << 4,    /* 0+: IPv4 reserved flag set */
	QUIRK_FLOW = 1u << 5,      /* flow: IPv6 flow label not zero */
	QUIRK_ZERO_SEQ = 1u << 6,  /* seq-: sequence number zero */
	QUIRK_NZ_ACK = 1u << 7,    /* ack+: ACK number without ACK flag */
	QUIRK_ZERO_ACK = 1u << 8,  /* ack-: ACK flag with number zero */
	QUIRK_NZ_URG = 1u << 9,    /* uptr+: urgent pointer without URG */
	QUIRK_URG = 1u << 10,      /* urgf+: URG flag */
	QUIRK_PUSH = 1u << 11,     /* pushf+: PSH flag */
	QUIRK_ZERO_TS1 = 1u << 12, /* ts1-: own timestamp zero */
	QUIRK_NZ_TS2 = 1u << 13,   /* ts2+: peer timestamp set on a SYN */
	QUIRK_EOL_NZ = 1u << 14,   /* opt+: non-zero bytes after EOL */
	QUIRK_EXWS = 1u << 15,     /* exws: window scale above 14 */
	QUIRK_OPT_BAD = 1u << 16,  /* bad: option lengths do not add up */
};

/* Quirks that only an IPv4 or only an IPv6 header can show. */
#define QUIRKS_IPV4_ONLY (QUIRK_DF | QUIRK_NZ_ID | QUIRK_ZERO_ID | QUIRK_NZ_MBZ)
#define QUIRKS_IPV6_ONLY (QUIRK_FLOW)

struct synsig {
	int version;    /* 4 or 6 */
	int ttl;        /* TTL or hop limit as received */
	int ittl;       /* guessed initial TTL: 32, 64, 128 or 255 */
	int ip_opt_len; /* bytes of IPv4 options; 0 for IPv6 */
	int mss;        /* MSS option value, 0 when absent */
	int window;     /* raw TCP window */
	int wscale;     /* window scale option value, 0 when absent */
	uint8_t layout[SYNSIG_OPTIONS_MAX]; /* option kinds in order */
	int layout_len;
	int eol_pad;     /* bytes after an EOL option */
	uint32_t quirks; /* enum synsig_quirk bits */
	int payload;     /* 1 if the SYN carries data */
	uint32_t ts1;    /* own timestamp, 0 when absent */
	int header_len;  /* IP and TCP header bytes; 0 if not known */

	/* Addresses in network order, IPv4 in the first 4 bytes. */
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
};

enum synsig_result {
	SYNSIG_INVALID = -1, /* malformed or truncated headers */
	SYNSIG_OK = 0,
	SYNSIG_SKIP = 1, /* well formed, but not a TCP SYN without ACK */
};

/*
 * Derive the signature of a SYN from the bytes of its IP header
 * onwards.  The buffer may stop after the TCP header, as a saved SYN
 * or a short capture does.  The payload class then comes from the IP
 * length.  On anything but SYNSIG_OK, *why names the reason.
 */
enum synsig_result synsig_from_packet(
    const void *buf, size_t len, struct synsig *sig, const char **why);

/* Write the text form; returns its length, or -1 if size is too small. */
int synsig_format(const struct synsig *sig, char *buf, size_t size);

/*
 * Parse text written by synsig_format back into a signature; the
 * addresses and ports are zeroed.  Returns 0, or -1 with *why set.
 *
 * NOTE: the text keeps neither the timestamp nor the header length,
 * which two window rules use.  Both are rebuilt from the layout and
 * quirks, and header_len is left 0 when an option's size is unknown
 * (SACK, unknown kinds, "bad").  A SYN with such options, or with two
 * timestamps, may then match differently from its text.
 */
int synsig_parse(const char *text, struct synsig *sig, const char **why);

/*
 * Split text[0..len) at ':' into the 8 fields of a signature; returns
 * 0, or -1 if there are more or fewer.
 */
int synsig_split(
    const char *text, size_t len, const char *field[8], size_t field_len[8]);

/*
 * Parse the option layout field of a signature ("mss,nop,ws,eol+1"),
 * text[0..len), for this module and for the p0f database reader.
 * Returns 0, or -1 with *why set.
 */
int synsig_parse_layout(const char *text, size_t len, uint8_t *layout,
    int *layout_len, int *eol_pad, const char **why);

/* Parse the quirks field ("df,id+"); returns 0, or -1 with *why set. */
int synsig_parse_quirks(
    const char *text, size_t len, uint32_t *quirks, const char **why);

/* The initial TTL p0f guesses for a received TTL. */
int synsig_guess_ittl(int ttl);

/*
 * Return the multiplier when the window is a multiple of the MSS or
 * of the MTU, tried in p0f's order, and set *use_mtu to 1 for the MTU.
 * Returns -1 when it is neither.
 */
int synsig_window_multiplier(const struct synsig *sig, int *use_mtu);

#endif
