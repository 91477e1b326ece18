/*
 * The p0f database reader and matcher: p0f's own p0f.fp when it is
 * installed, a small database written here otherwise, malformed
 * lines, and a real SYN that this machine's kernel sends on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "p0f.h"
#include "spampot_limits.h"
#include "synsig.h"
#include "syn_samples.h"

/* Linux UAPI values, for C libraries whose headers predate them. */
#ifndef TCP_SAVE_SYN
#define TCP_SAVE_SYN 27
#endif
#ifndef TCP_SAVED_SYN
#define TCP_SAVED_SYN 28
#endif

struct warnings {
	int count;
	int lines[64];
	char why[64][80];
};

static void
collect(void *arg, int line, const char *why)
{
	struct warnings *w = arg;

	if (w->count < 64) {
		w->lines[w->count] = line;
		snprintf(w->why[w->count], sizeof(w->why[0]), "%s", why);
	}
	w->count++;
}

static struct p0f_db *
load_small(void)
{
	struct warnings w = {0};
	struct p0f_db *db;

	db = p0f_db_parse(p0f_small_db, sizeof(p0f_small_db) - 1, collect, &w);
	assert_non_null(db);
	assert_int_equal(w.count, 0);
	return db;
}

static int
setup_small(void **state)
{
	*state = load_small();
	return 0;
}

/* The installed p0f.fp, or a skipped test when p0f is not installed. */
static int
setup_real(void **state)
{
	struct warnings w = {0};
	const char *err = NULL;

	if (access(P0F_DB_DEFAULT_PATH, R_OK) != 0) {
		print_message("no " P0F_DB_DEFAULT_PATH
			      " (Debian package p0f): skipping\n");
		*state = NULL;
		return 0;
	}
	*state = p0f_db_load(P0F_DB_DEFAULT_PATH, collect, &w, &err);
	assert_non_null(*state);
	if (w.count != 0)
		fail_msg(
		    "%s:%d: %s", P0F_DB_DEFAULT_PATH, w.lines[0], w.why[0]);
	return 0;
}

static int
teardown_db(void **state)
{
	p0f_db_free(*state);
	return 0;
}

#define NEED_DB(state)                                                         \
	do {                                                                   \
		if (*(state) == NULL)                                          \
			skip();                                                \
	} while (0)

static void
match_packet(const struct p0f_db *db, const uint8_t *buf, size_t len,
    struct p0f_match *m, bool expect)
{
	struct synsig sig;
	const char *why;

	assert_int_equal(synsig_from_packet(buf, len, &sig, &why), SYNSIG_OK);
	assert_int_equal(p0f_match(db, &sig, m), expect);
}

/*
 * A SYN with only an MSS option, for the rules that do not need a
 * stack's full layout: DF and ID as given, window 1024.
 */
static size_t
build_mss_syn(uint8_t *b, int version, int ttl, bool df, uint16_t id)
{
	static const uint8_t tcp[] = {
	    0x9c,
	    0x40,
	    0x00,
	    0x50,
	    0x00,
	    0x00,
	    0x10,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x60,
	    0x02,
	    0x04,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x02,
	    0x04,
	    0x05,
	    0xb4,
	};
	size_t ip;

	if (version == 4) {
		ip = 20;
		memset(b, 0, ip);
		b[0] = 0x45;
		b[3] = (uint8_t)(ip + sizeof(tcp));
		b[4] = (uint8_t)(id >> 8);
		b[5] = (uint8_t)id;
		b[6] = df ? 0x40 : 0x00;
		b[8] = (uint8_t)ttl;
		b[9] = 6;
	} else {
		ip = 40;
		memset(b, 0, ip);
		b[0] = 0x60;
		b[5] = sizeof(tcp);
		b[6] = 6;
		b[7] = (uint8_t)ttl;
	}
	memcpy(b + ip, tcp, sizeof(tcp));
	return ip + sizeof(tcp);
}

/* Matching against the small database. */

static void
small_exact_matches(void **state)
{
	struct p0f_match m;

	match_packet(*state, syn_linux, sizeof(syn_linux), &m, true);
	assert_int_equal(m.os_class, OS_CLASS_UNIX);
	assert_string_equal(m.name, "Linux");
	assert_string_equal(m.flavor, "3.11 and newer");
	assert_string_equal(m.class_name, "unix");
	assert_false(m.generic);
	assert_false(m.fuzzy);
	assert_int_equal(m.distance, 0);
	assert_int_equal(m.line, 11);

	match_packet(*state, syn_windows, sizeof(syn_windows), &m, true);
	assert_int_equal(m.os_class, OS_CLASS_WINDOWS);
	assert_string_equal(m.name, "Windows");
	assert_string_equal(m.flavor, "7 or 8");
	assert_int_equal(m.distance, 11);

	match_packet(*state, syn_freebsd, sizeof(syn_freebsd), &m, true);
	assert_int_equal(m.os_class, OS_CLASS_UNIX);
	assert_string_equal(m.name, "FreeBSD");
	assert_int_equal(m.distance, 6);

	/* The entry has no version, so its df and id+ do not apply. */
	match_packet(*state, syn_linux6, sizeof(syn_linux6), &m, true);
	assert_string_equal(m.name, "Linux");
	assert_false(m.fuzzy);
}

static void
small_generic_match(void **state)
{
	uint8_t b[sizeof(syn_linux)];
	struct p0f_match m;

	memcpy(b, syn_linux, sizeof(b));
	b[TCP_WIN_OFF] = 0x30; /* window 12304, not a multiple of the MSS */
	match_packet(*state, b, sizeof(b), &m, true);
	assert_string_equal(m.flavor, "2.2.x-3.x");
	assert_true(m.generic);
	assert_false(m.fuzzy);
}

static void
small_fuzzy_matches(void **state)
{
	uint8_t b[sizeof(syn_linux)];
	struct p0f_match m;

	/* DF cleared and ID zeroed by a middlebox: df gone, id- added. */
	memcpy(b, syn_linux, sizeof(b));
	b[IP_FLAGS_OFF] = 0;
	b[IP_ID_OFF] = b[IP_ID_OFF + 1] = 0;
	match_packet(*state, b, sizeof(b), &m, true);
	assert_string_equal(m.flavor, "3.11 and newer");
	assert_true(m.fuzzy);

	/* A TTL above the entry's initial TTL. */
	memcpy(b, syn_linux, sizeof(b));
	b[IP_TTL_OFF] = 100;
	match_packet(*state, b, sizeof(b), &m, true);
	assert_string_equal(m.name, "Linux");
	assert_true(m.fuzzy);
	assert_int_equal(m.distance, 28);

	/* A quirk p0f never forgives: no match at all. */
	memcpy(b, syn_linux, sizeof(b));
	b[TCP_FLAGS_OFF] |= 0x08;
	match_packet(*state, b, sizeof(b), &m, false);
	assert_int_equal(m.os_class, OS_CLASS_UNKNOWN);
}

static void
small_tool_rules(void **state)
{
	uint8_t b[64];
	struct p0f_match m;
	size_t len;

	len = build_mss_syn(b, 4, 50, false, 0x1234);
	match_packet(*state, b, len, &m, true);
	assert_string_equal(m.name, "NMap");
	assert_string_equal(m.class_name, "!");
	assert_int_equal(m.os_class, OS_CLASS_OTHER);
	assert_int_equal(m.distance, 14);

	/* "64-" allows any TTL up to 64, and none above. */
	len = build_mss_syn(b, 4, 70, false, 0x1234);
	match_packet(*state, b, len, &m, false);

	/* A tool's entry is never matched fuzzily (here, id- added). */
	len = build_mss_syn(b, 4, 50, false, 0);
	match_packet(*state, b, len, &m, false);
}

static void
small_version_respected(void **state)
{
	static const uint8_t tcp[] = {
	    0x9c,
	    0x40,
	    0x00,
	    0x50,
	    0x00,
	    0x00,
	    0x10,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x70,
	    0x02,
	    0x80,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x02,
	    0x04,
	    0x05,
	    0xb4,
	    0x01,
	    0x01,
	    0x04,
	    0x02,
	};
	uint8_t b[40 + sizeof(tcp)];
	struct p0f_match m;

	/* The Wii entry is for IPv4; the same SYN over IPv6 is not one. */
	memset(b, 0, 40);
	b[0] = 0x60;
	b[5] = sizeof(tcp);
	b[6] = 6;
	b[7] = 64;
	memcpy(b + 40, tcp, sizeof(tcp));
	match_packet(*state, b, sizeof(b), &m, false);
}

static void
small_garbage_unknown(void **state)
{
	uint8_t b[sizeof(syn_linux)];
	struct p0f_match m;

	/* Options shuffled into an order no stack uses. */
	memcpy(b, syn_linux, sizeof(b));
	memcpy(b + TCP_OPT_OFF, (uint8_t[]){1, 1, 1, 3, 3, 7, 4, 2}, 8);
	match_packet(*state, b, sizeof(b), &m, false);
	assert_int_equal(m.os_class, OS_CLASS_UNKNOWN);
	assert_string_equal(os_class_name(m.os_class), "Unknown");
	assert_string_equal(m.name, "");
	assert_int_equal(m.distance, 0);
}

static void
text_matches_like_packet(void **state)
{
	const uint8_t *samples[] = {
	    syn_linux, syn_windows, syn_freebsd, syn_linux6};
	const size_t lens[] = {sizeof(syn_linux), sizeof(syn_windows),
	    sizeof(syn_freebsd), sizeof(syn_linux6)};
	struct synsig from_packet, from_text;
	struct p0f_match a, b;
	char text[SYNSIG_TEXT_MAX];
	const char *why;
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(
		    synsig_from_packet(samples[i], lens[i], &from_packet, &why),
		    SYNSIG_OK);
		assert_true(
		    synsig_format(&from_packet, text, sizeof(text)) > 0);
		assert_int_equal(synsig_parse(text, &from_text, &why), 0);
		assert_true(p0f_match(*state, &from_packet, &a));
		assert_true(p0f_match(*state, &from_text, &b));
		assert_int_equal(a.line, b.line);
		assert_int_equal(a.fuzzy, b.fuzzy);
		assert_int_equal(a.distance, b.distance);
	}
}

/* The reader. */

static void
malformed_lines_skipped(void **state)
{
	static const char db_text[] =
	    "classes = win,unix,other\n"                     /* 1 */
	    "[tcp:request]\n"                                /* 2 */
	    "sig = *:64:0:*:*,*:mss:df:0\n"                  /* 3 */
	    "label = s:unix:Good:one\n"                      /* 4 */
	    "sig = *:64:0:*:*,*:mss,nop:df:0\n"              /* 5 */
	    "sig = *:64:0:*:*,*:mss,bogus:df:0\n"            /* 6 */
	    "sig = *:64:0:*:*,*:mss:df,zz:0\n"               /* 7 */
	    "sig = *:64:0:*\n"                               /* 8 */
	    "sig = 4:300:0:*:*,*:mss:df:0\n"                 /* 9 */
	    "sig = 6:64:0:*:*,*:mss:df:0\n"                  /* 10 */
	    "sig = *:64:0:*:mss*0,*:mss:df:0\n"              /* 11 */
	    "sig = *:64:0:*:%1,*:mss:df:0\n"                 /* 12 */
	    "label = x:unix:Bad:type\n"                      /* 13 */
	    "sig = *:64:0:*:*,*:ws:df:0\n"                   /* 14 */
	    "label = s:beos:Bad:class\n"                     /* 15 */
	    "label = s:unix::noname\n"                       /* 16 */
	    "no equals sign here\n"                          /* 17 */
	    "[broken\n"                                      /* 18 */
	    "frobnicate = 1\n"                               /* 19 */
	    "label = g:win:Windows:\n"                       /* 20 */
	    "sig = *:128:0:*:*,*:mss,nop,nop,sok:df,id+:*\n" /* 21 */
	    "[http:request]\n"                               /* 22 */
	    "label = s:!:anything:here\n"                    /* 23 */
	    "sig = *:Host,User-Agent:Accept:x\n"             /* 24 */
	    "= novalue\n"                                    /* 25 */
	    "[tcp:request]\n"                                /* 26 */
	    "sig = *:64:0:*:*,*:mss:df:0\n"                  /* 27 */
	    "label = s:unix:Nul\0byte:x\n"                   /* 28 */
	    "label = s:other:Last:line\n"                    /* 29 */
	    "sig = *:64:0:*:*,*:mss:df:0";                   /* 30 */
	static const int bad[] = {
	    3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28};
	struct warnings w = {0};
	struct p0f_db *db;
	size_t i;

	(void)state;
	db = p0f_db_parse(db_text, sizeof(db_text) - 1, collect, &w);
	assert_non_null(db);
	assert_int_equal(w.count, (int)(sizeof(bad) / sizeof(bad[0])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (w.lines[i] != bad[i])
			fail_msg("warning %zu on line %d (%s), expected %d", i,
			    w.lines[i], w.why[i], bad[i]);
	}
	assert_int_equal(p0f_db_labels(db), 3);
	assert_int_equal(p0f_db_signatures(db), 3);
	p0f_db_free(db);
}

static void
load_reports_missing_file(void **state)
{
	const char *err = NULL;

	(void)state;
	assert_null(p0f_db_load("/nonexistent/p0f.fp", NULL, NULL, &err));
	assert_non_null(err);
}

static void
oversized_db_rejected(void **state)
{
	struct warnings w = {0};
	struct p0f_db *db;
	char *big;

	(void)state;
	big = calloc(1, P0F_DB_SIZE_MAX + 1);
	assert_non_null(big);
	db = p0f_db_parse(big, P0F_DB_SIZE_MAX + 1, collect, &w);
	assert_int_equal(w.count, 1);
	assert_int_equal(p0f_db_signatures(db), 0);
	p0f_db_free(db);
	free(big);
}

static void
class_names(void **state)
{
	(void)state;
	assert_string_equal(os_class_name(OS_CLASS_WINDOWS), "Windows");
	assert_string_equal(os_class_name(OS_CLASS_UNIX), "Unix");
	assert_string_equal(os_class_name(OS_CLASS_OTHER), "Other");
	assert_string_equal(os_class_name(OS_CLASS_UNKNOWN), "Unknown");
	assert_string_equal(os_class_name((enum os_class)42), "Unknown");
}

/* p0f's own database. */

static void
real_db_loads(void **state)
{
	NEED_DB(state);
	/* Debian's p0f 3.09b has 45 labels and 91 sigs in [tcp:request]. */
	assert_true(p0f_db_labels(*state) >= 45);
	assert_true(p0f_db_signatures(*state) >= 91);
}

static void
real_db_matches_samples(void **state)
{
	uint8_t b[sizeof(syn_linux)];
	struct p0f_match m;

	NEED_DB(state);
	match_packet(*state, syn_windows, sizeof(syn_windows), &m, true);
	assert_int_equal(m.os_class, OS_CLASS_WINDOWS);
	assert_string_equal(m.name, "Windows");
	assert_string_equal(m.flavor, "7 or 8");

	match_packet(*state, syn_linux, sizeof(syn_linux), &m, true);
	assert_int_equal(m.os_class, OS_CLASS_UNIX);
	assert_string_equal(m.name, "Linux");
	assert_string_equal(m.flavor, "3.11 and newer");

	match_packet(*state, syn_freebsd, sizeof(syn_freebsd), &m, true);
	assert_int_equal(m.os_class, OS_CLASS_UNIX);
	assert_string_equal(m.name, "FreeBSD");

	memcpy(b, syn_linux, sizeof(b));
	memcpy(b + TCP_OPT_OFF, (uint8_t[]){1, 1, 1, 3, 3, 7, 4, 2}, 8);
	match_packet(*state, b, sizeof(b), &m, false);
	assert_int_equal(m.os_class, OS_CLASS_UNKNOWN);
}

/*
 * A SYN from this machine's own stack, saved by the kernel for a
 * listener with TCP_SAVE_SYN, as the sensor reads it.
 */
static void
loopback_syn_is_linux(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin), saved_len;
	char text[SYNSIG_TEXT_MAX];
	uint8_t saved[512];
	struct synsig sig;
	struct p0f_match m;
	const char *why;
	int one = 1, lfd, cfd, afd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(
	    setsockopt(lfd, IPPROTO_TCP, TCP_SAVE_SYN, &one, sizeof(one)), 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	assert_true((cfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true((afd = accept(lfd, NULL, NULL)) >= 0);
	saved_len = sizeof(saved);
	assert_int_equal(
	    getsockopt(afd, IPPROTO_TCP, TCP_SAVED_SYN, saved, &saved_len), 0);
	close(afd);
	close(cfd);
	close(lfd);

	assert_int_equal(
	    synsig_from_packet(saved, saved_len, &sig, &why), SYNSIG_OK);
	assert_int_equal(sig.version, 4);
	assert_int_equal(sig.ittl, 64);
	assert_int_equal(sig.dport, ntohs(sin.sin_port));
	assert_true(synsig_format(&sig, text, sizeof(text)) > 0);
	print_message("loopback SYN: %s\n", text);

	NEED_DB(state);
	assert_true(p0f_match(*state, &sig, &m));
	print_message("loopback SYN: %s %s (%s%s%s)\n", m.name, m.flavor,
	    os_class_name(m.os_class), m.generic ? ", generic" : "",
	    m.fuzzy ? ", fuzzy" : "");
	assert_int_equal(m.os_class, OS_CLASS_UNIX);
	assert_string_equal(m.name, "Linux");
}

int
main(void)
{
	const struct CMUnitTest small[] = {
	    cmocka_unit_test(small_exact_matches),
	    cmocka_unit_test(small_generic_match),
	    cmocka_unit_test(small_fuzzy_matches),
	    cmocka_unit_test(small_tool_rules),
	    cmocka_unit_test(small_version_respected),
	    cmocka_unit_test(small_garbage_unknown),
	    cmocka_unit_test(text_matches_like_packet),
	};
	const struct CMUnitTest reader[] = {
	    cmocka_unit_test(malformed_lines_skipped),
	    cmocka_unit_test(load_reports_missing_file),
	    cmocka_unit_test(oversized_db_rejected),
	    cmocka_unit_test(class_names),
	};
	const struct CMUnitTest real[] = {
	    cmocka_unit_test(real_db_loads),
	    cmocka_unit_test(real_db_matches_samples),
	    cmocka_unit_test(loopback_syn_is_linux),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name(
	    "small database", small, setup_small, teardown_db);
	failed += cmocka_run_group_tests_name("reader", reader, NULL, NULL);
	failed += cmocka_run_group_tests_name(
	    "p0f.fp", real, setup_real, teardown_db);
	return failed;
}
