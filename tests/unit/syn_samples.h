/*
 * SYNs written out byte by byte, from the IP header on, as Linux's
 * TCP_SAVED_SYN returns them.  Each copies the option order, window
 * and TTL of one stack's entry in p0f 3.09b's p0f.fp; the checksums
 * are zero because nothing here verifies them.  A small database with
 * those entries follows, for tests that must not depend on p0f being
 * installed.
 */
#ifndef SYN_SAMPLES_H
#define SYN_SAMPLES_H

#include <stdint.h>

/* Laid out by hand: each header under a comment naming its fields. */
/* clang-format off */
/* Linux 3.11 and newer: window 20 * MSS, scale 7, from 192.0.2.1. */
static const uint8_t syn_linux[] = {
	/* IPv4: length 60, ID 0x1c46, DF, TTL 64, TCP */
	0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00,
	0x00, 192, 0, 2, 1, 198, 51, 100, 10,
	/* TCP: 50000 -> 25, seq 0x12345678, offset 40, SYN, window 29200 */
	0xc3, 0x50, 0x00, 0x19, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00,
	0x00, 0xa0, 0x02, 0x72, 0x10, 0x00, 0x00, 0x00, 0x00,
	/* mss 1460, sok, ts 123456 0, nop, ws 7 */
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0xe2,
	0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};
#define SYN_LINUX_SIG "4:64+0:0:1460:29200,7:mss,sok,ts,nop,ws:df,id+:0"

/* Windows 7 or 8: window 8192, scale 8, TTL 117 after 11 hops. */
static const uint8_t syn_windows[] = {
	/* IPv4: length 52, ID 0x0a2b, DF, TTL 117, TCP, from 192.0.2.2 */
	0x45, 0x00, 0x00, 0x34, 0x0a, 0x2b, 0x40, 0x00, 0x75, 0x06, 0x00,
	0x00, 192, 0, 2, 2, 198, 51, 100, 10,
	/* TCP: 49231 -> 1080, offset 32, SYN, window 8192 */
	0xc0, 0x4f, 0x04, 0x38, 0x7f, 0x00, 0x31, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x80, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* mss 1460, nop, ws 8, nop, nop, sok */
	0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04,
	0x02,
};
#define SYN_WINDOWS_SIG "4:117+11:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0"

/* FreeBSD 9 and newer: window 65535, scale 6, TTL 58. */
static const uint8_t syn_freebsd[] = {
	/* IPv4: length 60, ID 0x9e01, DF, TTL 58, TCP, from 192.0.2.3 */
	0x45, 0x00, 0x00, 0x3c, 0x9e, 0x01, 0x40, 0x00, 0x3a, 0x06, 0x00,
	0x00, 192, 0, 2, 3, 198, 51, 100, 10,
	/* TCP: 61000 -> 8080, offset 40, SYN, window 65535 */
	0xee, 0x48, 0x1f, 0x90, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00,
	0x00, 0xa0, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	/* mss 1460, nop, ws 6, sok, ts 0x2a 0 */
	0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x06, 0x04, 0x02, 0x08,
	0x0a, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00,
};
#define SYN_FREEBSD_SIG "4:58+6:0:1460:65535,6:mss,nop,ws,sok,ts:df,id+:0"

/* Linux over IPv6: MSS 1440, window 20 * MSS, flow label 0. */
static const uint8_t syn_linux6[] = {
	/* IPv6: payload 40, TCP, hop limit 64, 2001:db8::1 -> 2001:db8::2 */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x28, 0x06, 0x40, 0x20, 0x01, 0x0d,
	0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x20, 0x01, 0x0d, 0xb8,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
	/* TCP: 50001 -> 25, offset 40, SYN, window 28800 */
	0xc3, 0x51, 0x00, 0x19, 0x22, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00,
	0x00, 0xa0, 0x02, 0x70, 0x80, 0x00, 0x00, 0x00, 0x00,
	/* mss 1440, sok, ts 99 0, nop, ws 7 */
	0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0x00,
	0x63, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};
#define SYN_LINUX6_SIG "6:64+0:0:1440:28800,7:mss,sok,ts,nop,ws::0"

/* clang-format on */

/*
 * Entries copied from p0f 3.09b's p0f.fp, a section the reader must
 * skip, and a [tcp:response] entry that would match the Linux sample
 * if the reader mixed the sections up.
 */
static const char p0f_small_db[] =
    "; test database\n"
    "classes = win,unix,other\n"
    "\n"
    "[mtu]\n"
    "label = Ethernet or modem\n"
    "sig   = 1500\n"
    "\n"
    "[tcp:request]\n"
    "label = s:unix:Linux:3.11 and newer\n"
    "sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0\n"
    "sig   = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0\n"
    "label = g:unix:Linux:2.2.x-3.x\n"
    "sig   = *:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0\n"
    "label = s:win:Windows:7 or 8\n"
    "sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n"
    "label = s:unix:FreeBSD:9.x or newer\n"
    "sig   = *:64:0:*:65535,6:mss,nop,ws,sok,ts:df,id+:0\n"
    "label = s:!:NMap:SYN scan\n"
    "sys   = @unix,@win\n"
    "sig   = *:64-:0:1460:1024,0:mss::0\n"
    "label = s:other:Nintendo:Wii\n"
    "sig   = 4:64:0:1460:32768,0:mss,nop,nop,sok:df,id+:0\n"
    "\n"
    "[tcp:response]\n"
    "label = s:win:Wrong:section\n"
    "sig   = *:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0\n";

/* Offsets into the IPv4 samples. */
#define IP_LEN_OFF    2
#define IP_ID_OFF     4
#define IP_FLAGS_OFF  6
#define IP_TTL_OFF    8
#define IP_PROTO_OFF  9
#define TCP_OFF       20
#define TCP_ACK_OFF   (TCP_OFF + 8)
#define TCP_DOFF_OFF  (TCP_OFF + 12)
#define TCP_FLAGS_OFF (TCP_OFF + 13)
#define TCP_WIN_OFF   (TCP_OFF + 14)
#define TCP_URG_OFF   (TCP_OFF + 18)
#define TCP_OPT_OFF   (TCP_OFF + 20)

#endif
