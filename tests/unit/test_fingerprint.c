/*
 * spampot fingerprint on captures that the test writes with libpcap:
 * Ethernet (with a VLAN tag), Linux cooked and raw IP frames carrying
 * the sample SYNs, among packets it must pass over.  The command runs
 * in this process with its standard output sent to a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include <cmocka.h>

#include "commands.h"
#include "syn_samples.h"

struct paths {
	char dir[64];
	char db[96];
	char pcap[96];
	char out[96];
};

static int
setup(void **state)
{
	struct paths *p = calloc(1, sizeof(*p));
	FILE *fp;

	assert_non_null(p);
	snprintf(p->dir, sizeof(p->dir), "/tmp/test_fingerprint.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->db, sizeof(p->db), "%s/p0f.fp", p->dir);
	snprintf(p->pcap, sizeof(p->pcap), "%s/syns.pcap", p->dir);
	snprintf(p->out, sizeof(p->out), "%s/out.txt", p->dir);
	assert_non_null(fp = fopen(p->db, "w"));
	fputs(p0f_small_db, fp);
	fclose(fp);
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct paths *p = *state;

	unlink(p->db);
	unlink(p->pcap);
	unlink(p->out);
	rmdir(p->dir);
	free(p);
	return 0;
}

/* A capture being written: one link type, frames added one by one. */
struct capture {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	int link;
};

static void
capture_open(struct capture *c, const char *path, int link)
{
	c->link = link;
	assert_non_null(c->pcap = pcap_open_dead(link, 65535));
	assert_non_null(c->dumper = pcap_dump_open(c->pcap, path));
}

static void
capture_frame(struct capture *c, const uint8_t *frame, size_t len)
{
	struct pcap_pkthdr hdr = {
	    .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};

	pcap_dump((u_char *)c->dumper, &hdr, frame);
}

static void
capture_close(struct capture *c)
{
	pcap_dump_close(c->dumper);
	pcap_close(c->pcap);
}

/* Wrap an IP packet in the link header of c and write it. */
static void
capture_ip(struct capture *c, const uint8_t *ip, size_t len, bool vlan)
{
	uint8_t frame[256], *f = frame;
	uint16_t type = (ip[0] >> 4) == 6 ? 0x86dd : 0x0800;

	assert_true(len + 20 <= sizeof(frame));
	switch (c->link) {
	case DLT_EN10MB:
		memcpy(
		    f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
		f += 12;
		if (vlan) {
			memcpy(f, "\x81\x00\x00\x2a", 4);
			f += 4;
		}
		*f++ = (uint8_t)(type >> 8);
		*f++ = (uint8_t)type;
		break;
	case DLT_LINUX_SLL:
		/* Incoming, Ethernet, 6-byte address, then the protocol. */
		memcpy(f,
		    "\x00\x00\x00\x01\x00\x06\x02\x00\x00\x00\x00\x01"
		    "\x00\x00",
		    14);
		f += 14;
		*f++ = (uint8_t)(type >> 8);
		*f++ = (uint8_t)type;
		break;
	}
	memcpy(f, ip, len);
	capture_frame(c, frame, (size_t)(f - frame) + len);
}

/* Run the command with standard output in p->out; returns its status. */
static int
run(const struct paths *p, const char *format, char *out, size_t size)
{
	char *argv[] = {"fingerprint", "--pcap", (char *)p->pcap, "--fp",
	    (char *)p->db, "--format", (char *)format, NULL};
	int saved, rc;
	ssize_t n;
	FILE *fp;

	fflush(stdout);
	assert_true((saved = dup(STDOUT_FILENO)) >= 0);
	assert_non_null(fp = fopen(p->out, "w"));
	assert_true(dup2(fileno(fp), STDOUT_FILENO) >= 0);
	fclose(fp);
	rc = cmd_fingerprint(7, argv);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);

	assert_non_null(fp = fopen(p->out, "r"));
	n = (ssize_t)fread(out, 1, size - 1, fp);
	fclose(fp);
	out[n > 0 ? n : 0] = '\0';
	return rc;
}

static void
ethernet_capture(void **state)
{
	const struct paths *p = *state;
	uint8_t synack[sizeof(syn_linux)], odd[sizeof(syn_linux)];
	static const uint8_t arp[42] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
	struct capture c;
	char out[4096];

	memcpy(synack, syn_linux, sizeof(synack));
	synack[TCP_FLAGS_OFF] = 0x12;
	memcpy(synack + 12, (uint8_t[]){192, 0, 2, 9}, 4);
	/* Options in an order no stack uses, from 192.0.2.4. */
	memcpy(odd, syn_linux, sizeof(odd));
	memcpy(odd + TCP_OPT_OFF, (uint8_t[]){1, 1, 1, 3, 3, 7, 4, 2}, 8);
	odd[15] = 4;

	capture_open(&c, p->pcap, DLT_EN10MB);
	capture_ip(&c, syn_linux, sizeof(syn_linux), false);
	capture_ip(&c, syn_windows, sizeof(syn_windows), true);
	capture_ip(&c, synack, sizeof(synack), false);
	capture_ip(&c, syn_linux, sizeof(syn_linux), false);
	capture_frame(&c, arp, sizeof(arp));
	capture_ip(&c, syn_freebsd, 30, false);
	capture_ip(&c, syn_freebsd, sizeof(syn_freebsd), false);
	capture_ip(&c, syn_linux6, sizeof(syn_linux6), false);
	capture_ip(&c, odd, sizeof(odd), false);
	capture_close(&c);

	assert_int_equal(run(p, "text", out, sizeof(out)), 0);
	assert_string_equal(out,
	    "192.0.2.1\t" SYN_LINUX_SIG "\tLinux 3.11 and newer\tUnix\n"
	    "192.0.2.2\t" SYN_WINDOWS_SIG "\tWindows 7 or 8\tWindows\n"
	    "192.0.2.3\t" SYN_FREEBSD_SIG "\tFreeBSD 9.x or newer\tUnix\n"
	    "2001:db8::1\t" SYN_LINUX6_SIG "\tLinux 3.11 and newer\tUnix\n"
	    "192.0.2.4\t4:64+0:0:0:29200,7:nop,nop,nop,ws,sok,eol+11:"
	    "df,id+,opt+:0\t-\tUnknown\n");

	assert_int_equal(run(p, "json", out, sizeof(out)), 0);
	assert_non_null(strstr(out,
	    "{\"ip\":\"192.0.2.1\",\"signature\":\"" SYN_LINUX_SIG "\","
	    "\"label\":\"Linux 3.11 and newer\",\"class\":\"Unix\","
	    "\"name\":\"Linux\",\"flavor\":\"3.11 and newer\","
	    "\"generic\":false,\"fuzzy\":false,\"distance\":0,"
	    "\"syns\":2}\n"));
	assert_non_null(strstr(out, "\"ip\":\"192.0.2.2\""));
	assert_non_null(strstr(out, "\"class\":\"Windows\""));
	assert_non_null(strstr(out, "\"distance\":11"));
	assert_non_null(strstr(out, "\"label\":\"\",\"class\":\"Unknown\""));
	assert_null(strstr(out, "192.0.2.9"));
}

static void
cooked_capture(void **state)
{
	const struct paths *p = *state;
	struct capture c;
	char out[1024];

	capture_open(&c, p->pcap, DLT_LINUX_SLL);
	capture_ip(&c, syn_windows, sizeof(syn_windows), false);
	capture_close(&c);
	assert_int_equal(run(p, "text", out, sizeof(out)), 0);
	assert_string_equal(
	    out, "192.0.2.2\t" SYN_WINDOWS_SIG "\tWindows 7 or 8\tWindows\n");
}

static void
raw_capture(void **state)
{
	const struct paths *p = *state;
	struct capture c;
	char out[1024];

	capture_open(&c, p->pcap, DLT_RAW);
	capture_frame(&c, syn_linux6, sizeof(syn_linux6));
	capture_frame(&c, syn_freebsd, sizeof(syn_freebsd));
	capture_close(&c);
	assert_int_equal(run(p, "text", out, sizeof(out)), 0);
	assert_string_equal(out,
	    "2001:db8::1\t" SYN_LINUX6_SIG "\tLinux 3.11 and newer\tUnix\n"
	    "192.0.2.3\t" SYN_FREEBSD_SIG "\tFreeBSD 9.x or newer\tUnix\n");
}

static void
unsupported_link_fails(void **state)
{
	const struct paths *p = *state;
	struct capture c;
	char out[64];

	capture_open(&c, p->pcap, DLT_IEEE802_11);
	capture_close(&c);
	assert_int_equal(run(p, "text", out, sizeof(out)), 1);
	assert_string_equal(out, "");
}

static void
usage_errors(void **state)
{
	const struct paths *p = *state;
	char *no_pcap[] = {"fingerprint", "--fp", (char *)p->db, NULL};
	char *bad_format[] = {
	    "fingerprint", "--pcap", (char *)p->pcap, "--format", "xml", NULL};
	char *extra[] = {
	    "fingerprint", "--pcap", (char *)p->pcap, "more", NULL};
	char *no_db[] = {"fingerprint", "--pcap", (char *)p->pcap, "--fp",
	    "/nonexistent/p0f.fp", NULL};
	char *no_file[] = {"fingerprint", "--pcap", "/nonexistent/x.pcap",
	    "--fp", (char *)p->db, NULL};
	/* Any text parses as a p0f database, one without signatures. */
	char *no_signatures[] = {"fingerprint", "--pcap", (char *)p->pcap,
	    "--fp", (char *)p->out, NULL};
	struct capture c;
	FILE *fp;

	assert_int_equal(cmd_fingerprint(3, no_pcap), 2);
	assert_int_equal(cmd_fingerprint(5, bad_format), 2);
	assert_int_equal(cmd_fingerprint(4, extra), 2);
	assert_int_equal(cmd_fingerprint(5, no_db), 1);
	assert_int_equal(cmd_fingerprint(5, no_file), 1);

	capture_open(&c, p->pcap, DLT_EN10MB);
	capture_close(&c);
	assert_non_null(fp = fopen(p->out, "w"));
	fputs("[collector]\nparallel = 2\n", fp);
	fclose(fp);
	assert_int_equal(cmd_fingerprint(5, no_signatures), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(ethernet_capture, setup, teardown),
	    cmocka_unit_test_setup_teardown(cooked_capture, setup, teardown),
	    cmocka_unit_test_setup_teardown(raw_capture, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		unsupported_link_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
