/*
 * p0f signatures of hand-built SYNs: the text for each sample stack,
 * every quirk, and headers whose length fields lie.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synsig.h"
#include "syn_samples.h"

/* A writable copy of a sample, to bend one field at a time. */
struct packet {
	uint8_t b[128];
	size_t len;
};

static struct packet
copy(const uint8_t *sample, size_t len)
{
	struct packet p;

	assert_true(len <= sizeof(p.b));
	memset(&p, 0, sizeof(p));
	memcpy(p.b, sample, len);
	p.len = len;
	return p;
}

#define COPY(sample) copy(sample, sizeof(sample))

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Parse a packet that must be a valid SYN and return its text. */
static const char *
text_of(const uint8_t *buf, size_t len, struct synsig *sig)
{
	static char text[SYNSIG_TEXT_MAX];
	const char *why = NULL;

	assert_int_equal(synsig_from_packet(buf, len, sig, &why), SYNSIG_OK);
	assert_true(synsig_format(sig, text, sizeof(text)) > 0);
	return text;
}

static enum synsig_result
parse_result(const struct packet *p)
{
	struct synsig sig;
	const char *why = NULL;
	enum synsig_result r;

	r = synsig_from_packet(p->b, p->len, &sig, &why);
	if (r != SYNSIG_OK)
		assert_non_null(why);
	return r;
}

static uint32_t
quirks_of(const struct packet *p)
{
	struct synsig sig;
	const char *why;

	assert_int_equal(
	    synsig_from_packet(p->b, p->len, &sig, &why), SYNSIG_OK);
	return sig.quirks;
}

static void
linux_sample(void **state)
{
	struct synsig sig;

	(void)state;
	assert_string_equal(
	    text_of(syn_linux, sizeof(syn_linux), &sig), SYN_LINUX_SIG);
	assert_int_equal(sig.version, 4);
	assert_int_equal(sig.ttl, 64);
	assert_int_equal(sig.ittl, 64);
	assert_int_equal(sig.mss, 1460);
	assert_int_equal(sig.window, 29200);
	assert_int_equal(sig.wscale, 7);
	assert_int_equal(sig.ts1, 123456);
	assert_int_equal(sig.header_len, 60);
	assert_int_equal(sig.sport, 50000);
	assert_int_equal(sig.dport, 25);
	assert_memory_equal(sig.src, ((uint8_t[]){192, 0, 2, 1}), 4);
	assert_memory_equal(sig.dst, ((uint8_t[]){198, 51, 100, 10}), 4);
}

static void
windows_sample(void **state)
{
	struct synsig sig;

	(void)state;
	assert_string_equal(
	    text_of(syn_windows, sizeof(syn_windows), &sig), SYN_WINDOWS_SIG);
	assert_int_equal(sig.ittl, 128);
	assert_int_equal(sig.ttl, 117);
}

static void
freebsd_sample(void **state)
{
	struct synsig sig;

	(void)state;
	assert_string_equal(
	    text_of(syn_freebsd, sizeof(syn_freebsd), &sig), SYN_FREEBSD_SIG);
}

static void
ipv6_sample(void **state)
{
	struct packet p = COPY(syn_linux6);
	struct synsig sig;

	(void)state;
	assert_int_equal(sizeof(syn_linux6), 80);
	assert_string_equal(
	    text_of(syn_linux6, sizeof(syn_linux6), &sig), SYN_LINUX6_SIG);
	assert_int_equal(sig.src[15], 1);
	assert_int_equal(sig.dst[15], 2);

	/* A flow label and the ECT(0) bit of the traffic class. */
	p.b[1] = 0x2b;
	p.b[2] = 0xcd;
	p.b[3] = 0xef;
	assert_int_equal(quirks_of(&p), QUIRK_FLOW | QUIRK_ECN);
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "6:64+0:0:1440:28800,7:mss,sok,ts,nop,ws:ecn,flow:0");
}

static void
ttl_guess_rounds_up(void **state)
{
	static const struct {
		int ttl, ittl;
	} cases[] = {
	    {1, 32},
	    {32, 32},
	    {33, 64},
	    {64, 64},
	    {65, 128},
	    {128, 128},
	    {129, 255},
	    {255, 255},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
		    synsig_guess_ittl(cases[i].ttl), cases[i].ittl);
}

static void
far_ttl_shows_unknown_distance(void **state)
{
	struct packet p = COPY(syn_linux);
	struct synsig sig;

	(void)state;
	p.b[IP_TTL_OFF] = 70; /* 58 below 128: past p0f's 35 */
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:70+?:0:1460:29200,7:mss,sok,ts,nop,ws:df,id+:0");
}

/* Each IP and TCP header quirk, set alone on the Linux sample. */
static void
header_quirks(void **state)
{
	struct packet p;

	(void)state;

	p = COPY(syn_linux);
	p.b[IP_FLAGS_OFF] = 0x00; /* DF clear, ID set: no quirk */
	assert_int_equal(quirks_of(&p), 0);

	p = COPY(syn_linux);
	p.b[IP_FLAGS_OFF] = 0x00;
	put16(p.b + IP_ID_OFF, 0);
	assert_int_equal(quirks_of(&p), QUIRK_ZERO_ID);

	p = COPY(syn_linux);
	put16(p.b + IP_ID_OFF, 0);
	assert_int_equal(quirks_of(&p), QUIRK_DF);

	p = COPY(syn_linux);
	p.b[1] = 0x01; /* ECT(1) */
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_ECN);

	p = COPY(syn_linux);
	p.b[IP_FLAGS_OFF] = 0xc0; /* reserved bit and DF */
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_NZ_MBZ);

	p = COPY(syn_linux);
	p.b[TCP_FLAGS_OFF] |= 0xc0; /* ECE and CWR */
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_ECN);

	p = COPY(syn_linux);
	p.b[TCP_DOFF_OFF] |= 0x01; /* NS */
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_ECN);

	p = COPY(syn_linux);
	memset(p.b + TCP_OFF + 4, 0, 4);
	assert_int_equal(
	    quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_ZERO_SEQ);

	p = COPY(syn_linux);
	p.b[TCP_ACK_OFF + 3] = 0x02; /* a low bit, which p0f 3.09b misses */
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_NZ_ACK);

	p = COPY(syn_linux);
	put16(p.b + TCP_URG_OFF, 7);
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_NZ_URG);

	p = COPY(syn_linux);
	put16(p.b + TCP_URG_OFF, 7);
	p.b[TCP_FLAGS_OFF] |= 0x20;
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_URG);

	p = COPY(syn_linux);
	p.b[TCP_FLAGS_OFF] |= 0x08;
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_PUSH);
}

/* Quirks of the option walk: timestamps, padding, scale, lengths. */
static void
option_quirks(void **state)
{
	const size_t ts = TCP_OPT_OFF + 6, ws = TCP_OPT_OFF + 17;
	struct synsig sig;
	struct packet p;

	(void)state;

	p = COPY(syn_linux);
	memset(p.b + ts + 2, 0, 4);
	assert_int_equal(
	    quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_ZERO_TS1);

	p = COPY(syn_linux);
	p.b[ts + 9] = 1;
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_NZ_TS2);

	p = COPY(syn_linux);
	p.b[ws + 2] = 15;
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_EXWS);

	/* EOL in place of the NOP: three bytes follow, not all zero. */
	p = COPY(syn_linux);
	p.b[TCP_OPT_OFF + 16] = 0;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,sok,ts,eol+3:df,id+,opt+:0");

	/* The same with zero padding is no quirk. */
	memset(p.b + TCP_OPT_OFF + 17, 0, 3);
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,sok,ts,eol+3:df,id+:0");

	/* An MSS option that claims 0 bytes still takes 4, but is bad. */
	p = COPY(syn_linux);
	p.b[TCP_OPT_OFF + 1] = 0;
	assert_int_equal(quirks_of(&p), QUIRK_DF | QUIRK_NZ_ID | QUIRK_OPT_BAD);
}

/* Option lengths of 0 and past the header stop the walk as "bad". */
static void
option_lengths_bad(void **state)
{
	struct synsig sig;
	struct packet p;

	(void)state;

	/* Unknown kind 30 with length 0, in place of sok. */
	p = COPY(syn_linux);
	p.b[TCP_OPT_OFF + 4] = 30;
	p.b[TCP_OPT_OFF + 5] = 0;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,?30:df,id+,bad:0");

	/* Unknown kind 30 that claims more than the header holds. */
	p.b[TCP_OPT_OFF + 5] = 40;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,?30:df,id+,bad:0");

	/* A SACK with a length under 10. */
	p.b[TCP_OPT_OFF + 4] = TCPOPT_KIND_SACK;
	p.b[TCP_OPT_OFF + 5] = 2;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,sack:df,id+,bad:0");

	/* A timestamp whose 10 bytes run past the options. */
	p = COPY(syn_linux);
	p.b[TCP_OPT_OFF + 16] = TCPOPT_KIND_TS;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,sok,ts,ts:df,id+,bad:0");

	/* A kind byte as the last option byte, with no length. */
	p = COPY(syn_linux);
	p.b[TCP_OPT_OFF + 17] = TCPOPT_KIND_NOP;
	p.b[TCP_OPT_OFF + 18] = TCPOPT_KIND_NOP;
	p.b[TCP_OPT_OFF + 19] = 30;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,0:mss,sok,ts,nop,nop,nop,?30:df,id+,bad:0");
}

static void
too_many_options_bad(void **state)
{
	struct packet p = COPY(syn_linux);
	struct synsig sig;
	const char *why;

	(void)state;
	memset(p.b + TCP_OPT_OFF, TCPOPT_KIND_NOP, 40);
	p.b[TCP_DOFF_OFF] = 0xf0;
	put16(p.b + IP_LEN_OFF, 80);
	p.len = 80;
	assert_int_equal(synsig_from_packet(p.b, p.len, &sig, &why), SYNSIG_OK);
	assert_int_equal(sig.layout_len, SYNSIG_OPTIONS_MAX);
	assert_true(sig.quirks & QUIRK_OPT_BAD);
}

static void
payload_from_ip_length(void **state)
{
	struct packet p = COPY(syn_linux);
	struct synsig sig;

	(void)state;
	/* Data follows in the IP length, though the buffer ends before. */
	put16(p.b + IP_LEN_OFF, 60 + 100);
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:0:1460:29200,7:mss,sok,ts,nop,ws:df,id+:+");

	/* Bytes past the IP length are link padding, not data. */
	p = COPY(syn_linux);
	p.len += 6;
	assert_string_equal(text_of(p.b, p.len, &sig), SYN_LINUX_SIG);
}

static void
ip_options_counted(void **state)
{
	struct packet p;
	struct synsig sig;

	(void)state;
	/* Four bytes of IPv4 options (a router alert) before TCP. */
	memset(&p, 0, sizeof(p));
	memcpy(p.b, syn_linux, 20);
	p.b[0] = 0x46;
	put16(p.b + IP_LEN_OFF, 64);
	memcpy(p.b + 20, (uint8_t[]){0x94, 0x04, 0x00, 0x00}, 4);
	memcpy(p.b + 24, syn_linux + 20, 40);
	p.len = 64;
	assert_string_equal(text_of(p.b, p.len, &sig),
	    "4:64+0:4:1460:29200,7:mss,sok,ts,nop,ws:df,id+:0");
	assert_int_equal(sig.header_len, 64);
}

static void
truncated_headers_invalid(void **state)
{
	const uint8_t *samples[] = {
	    syn_linux, syn_windows, syn_freebsd, syn_linux6};
	const size_t lens[] = {sizeof(syn_linux), sizeof(syn_windows),
	    sizeof(syn_freebsd), sizeof(syn_linux6)};
	size_t i, n;

	(void)state;
	for (i = 0; i < 4; i++) {
		/* Every prefix that cuts the headers, each in its own buffer.
		 */
		for (n = 0; n < lens[i]; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			struct synsig sig;
			const char *why = NULL;

			memcpy(cut, samples[i], n);
			assert_int_equal(synsig_from_packet(cut, n, &sig, &why),
			    SYNSIG_INVALID);
			assert_non_null(why);
			free(cut);
		}
	}
}

static void
length_fields_lie(void **state)
{
	struct packet p;

	(void)state;

	p = COPY(syn_linux);
	p.b[0] = 0x4f; /* IHL 60 bytes: the TCP header would be options */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	p.len = 40;
	p.b[0] = 0x4f; /* IHL past the end of the buffer */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	p.b[0] = 0x44; /* IHL 16 */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	put16(p.b + IP_LEN_OFF, 39); /* no room for TCP */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	put16(p.b + IP_LEN_OFF, 50); /* cuts the TCP options */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	p.b[TCP_DOFF_OFF] = 0xf0; /* data offset 60, 40 bytes there */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	p.b[TCP_DOFF_OFF] = 0x40; /* data offset 16 */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux6);
	put16(p.b + 4, 10); /* IPv6 payload too short for TCP */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux6);
	put16(p.b + 4, 24); /* IPv6 payload cuts the data offset */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);

	p = COPY(syn_linux);
	p.b[0] = 0x55; /* version 5 */
	assert_int_equal(parse_result(&p), SYNSIG_INVALID);
}

static void
other_packets_skipped(void **state)
{
	struct packet p;

	(void)state;

	p = COPY(syn_linux);
	p.b[TCP_FLAGS_OFF] = 0x12; /* SYN+ACK */
	assert_int_equal(parse_result(&p), SYNSIG_SKIP);

	p = COPY(syn_linux);
	p.b[TCP_FLAGS_OFF] = 0x10; /* ACK */
	assert_int_equal(parse_result(&p), SYNSIG_SKIP);

	p = COPY(syn_linux);
	p.b[TCP_FLAGS_OFF] = 0x03; /* SYN+FIN */
	assert_int_equal(parse_result(&p), SYNSIG_SKIP);

	p = COPY(syn_linux);
	p.b[IP_PROTO_OFF] = 17;
	assert_int_equal(parse_result(&p), SYNSIG_SKIP);

	p = COPY(syn_linux);
	p.b[IP_FLAGS_OFF] = 0x20; /* more fragments */
	assert_int_equal(parse_result(&p), SYNSIG_SKIP);

	p = COPY(syn_linux6);
	p.b[6] = 0; /* hop-by-hop options header */
	assert_int_equal(parse_result(&p), SYNSIG_SKIP);
}

/* Flip every bit of every sample: any result, but no bad reads. */
static void
bit_flips_stay_in_bounds(void **state)
{
	const uint8_t *samples[] = {syn_linux, syn_windows, syn_linux6};
	const size_t lens[] = {
	    sizeof(syn_linux), sizeof(syn_windows), sizeof(syn_linux6)};
	char text[SYNSIG_TEXT_MAX];
	struct synsig sig, back;
	const char *why;
	size_t i, byte;
	int bit;

	(void)state;
	for (i = 0; i < 3; i++) {
		for (byte = 0; byte < lens[i]; byte++) {
			for (bit = 0; bit < 8; bit++) {
				uint8_t *b = malloc(lens[i]);

				memcpy(b, samples[i], lens[i]);
				b[byte] ^= (uint8_t)(1u << bit);
				if (synsig_from_packet(
					b, lens[i], &sig, &why) == SYNSIG_OK) {
					assert_true(synsig_format(&sig, text,
							sizeof(text)) > 0);
					assert_int_equal(
					    synsig_parse(text, &back, &why), 0);
				}
				free(b);
			}
		}
	}
}

static void
text_round_trip(void **state)
{
	const char *texts[] = {
	    SYN_LINUX_SIG,
	    SYN_WINDOWS_SIG,
	    SYN_FREEBSD_SIG,
	    SYN_LINUX6_SIG,
	    "4:70+?:0:1460:29200,0:mss,sok,ts,eol+3:df,id+,opt+:+",
	    ("4:250+5:8:0:1024,0:?30,nop:id-,ecn,0+,seq-,ack+,uptr+,"
		"urgf+,pushf+,ts1-,ts2+,exws,bad:0"),
	    "4:64+0:0:0:0,0:::0",
	};
	char out[SYNSIG_TEXT_MAX];
	struct synsig sig;
	const char *why = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (synsig_parse(texts[i], &sig, &why) != 0)
			fail_msg("rejected (%s): %s", why, texts[i]);
		assert_true(synsig_format(&sig, out, sizeof(out)) > 0);
		assert_string_equal(out, texts[i]);
	}
}

static void
parsed_text_keeps_window_rules(void **state)
{
	struct synsig from_packet, from_text;
	int mtu_a = -1, mtu_b = -1;
	const char *why;

	(void)state;
	text_of(syn_linux, sizeof(syn_linux), &from_packet);
	assert_int_equal(synsig_parse(SYN_LINUX_SIG, &from_text, &why), 0);
	assert_int_equal(from_text.header_len, from_packet.header_len);
	assert_true(from_text.ts1 != 0);
	assert_int_equal(synsig_window_multiplier(&from_packet, &mtu_a), 20);
	assert_int_equal(synsig_window_multiplier(&from_text, &mtu_b), 20);
	assert_int_equal(mtu_a, mtu_b);
}

static void
bad_text_rejected(void **state)
{
	const char *texts[] = {
	    "",
	    "4:64+0:0:1460:29200,7:mss:df:0:extra",
	    "4:64+0:0:1460:29200,7:mss:df",
	    "5:64+0:0:1460:29200,7:mss:df:0",
	    "*:64+0:0:1460:29200,7:mss:df:0",
	    "4:64:0:1460:29200,7:mss:df:0",
	    "4:64+1:0:1460:29200,7:mss:df:0",
	    "4:60+?:0:1460:29200,7:mss:df:0",
	    "4:200+55:0:1460:29200,7:mss:df:0",
	    "4:256+0:0:1460:29200,7:mss:df:0",
	    "4:64+0:0:mss:29200,7:mss:df:0",
	    "4:64+0:0:1460:mss*20,7:mss:df:0",
	    "4:64+0:0:1460:29200:mss:df:0",
	    "4:64+0:0:1460:29200,7:mss,:df:0",
	    "4:64+0:0:1460:29200,7:mss,,ws:df:0",
	    "4:64+0:0:1460:29200,7:eol+1,mss:df:0",
	    "4:64+0:0:1460:29200,7:?256:df:0",
	    "4:64+0:0:1460:29200,7:mss:df,:0",
	    "4:64+0:0:1460:29200,7:mss:dff:0",
	    "4:64+0:0:1460:29200,7:mss:flow:0",
	    "6:64+0:0:1460:29200,7:mss:df:0",
	    "6:64+0:4:1460:29200,7:mss::0",
	    "4:64+0:0:1460:29200,7:mss:df:*",
	    "4:64+0:0:1460:29200,7:mss:df:00",
	    "4:64+0:0:1460:29200,7:nop,nop,nop,nop,nop,nop,nop,nop,nop,"
	    "nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,"
	    "nop:df:0",
	};
	struct synsig sig;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *why = NULL;

		if (synsig_parse(texts[i], &sig, &why) == 0)
			fail_msg("accepted: %s", texts[i]);
		assert_non_null(why);
	}
}

static void
format_reports_small_buffer(void **state)
{
	struct synsig sig;
	char small[16];

	(void)state;
	text_of(syn_linux, sizeof(syn_linux), &sig);
	assert_int_equal(synsig_format(&sig, small, sizeof(small)), -1);
	assert_int_equal(synsig_format(&sig, small, 0), -1);
}

static void
format_fits_longest(void **state)
{
	struct synsig sig = {.version = 6,
	    .ttl = 255,
	    .ittl = 255,
	    .ip_opt_len = 40,
	    .mss = 65535,
	    .window = 65535,
	    .wscale = 255,
	    .quirks = 0x1ffff,
	    .payload = 1};
	char text[SYNSIG_TEXT_MAX];
	int i;

	(void)state;
	for (i = 0; i < SYNSIG_OPTIONS_MAX; i++)
		sig.layout[i] = 255;
	sig.layout_len = SYNSIG_OPTIONS_MAX;
	assert_true(synsig_format(&sig, text, sizeof(text)) > 0);
	sig.ttl = 0;
	assert_true(synsig_format(&sig, text, sizeof(text)) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(linux_sample),
	    cmocka_unit_test(windows_sample),
	    cmocka_unit_test(freebsd_sample),
	    cmocka_unit_test(ipv6_sample),
	    cmocka_unit_test(ttl_guess_rounds_up),
	    cmocka_unit_test(far_ttl_shows_unknown_distance),
	    cmocka_unit_test(header_quirks),
	    cmocka_unit_test(option_quirks),
	    cmocka_unit_test(option_lengths_bad),
	    cmocka_unit_test(too_many_options_bad),
	    cmocka_unit_test(payload_from_ip_length),
	    cmocka_unit_test(ip_options_counted),
	    cmocka_unit_test(truncated_headers_invalid),
	    cmocka_unit_test(length_fields_lie),
	    cmocka_unit_test(other_packets_skipped),
	    cmocka_unit_test(bit_flips_stay_in_bounds),
	    cmocka_unit_test(text_round_trip),
	    cmocka_unit_test(parsed_text_keeps_window_rules),
	    cmocka_unit_test(bad_text_rejected),
	    cmocka_unit_test(format_reports_small_buffer),
	    cmocka_unit_test(format_fits_longest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
