/*
 * spampot fingerprint: the operating system of each host that sent a
 * SYN in a packet capture, from its p0f signature and p0f's database.
 * It answers the same question the sensor answers live, so that old
 * captures and other sensors' traffic can be classified alike.
 *
 * The capture is peer traffic: link headers are checked against the
 * captured length, and synsig checks the IP and TCP headers.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "commands.h"
#include "jsonw.h"
#include "p0f.h"
#include "synsig.h"
#include "util.h"

/* Database warnings printed before they are only counted. */
#define DB_WARNINGS_SHOWN 10

/* VLAN tags skipped in front of the IP header of an Ethernet frame. */
#define VLAN_TAGS_MAX 2

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8

enum output_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

/* Offset of the IP header in a frame, or -1 if it carries no IP. */
typedef long link_skip_fn(const uint8_t *frame, size_t caplen);

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool
is_ip_ethertype(uint16_t type)
{
	return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6;
}

static long
skip_ethernet(const uint8_t *frame, size_t caplen)
{
	size_t off = 12;
	int tags;

	for (tags = 0; tags <= VLAN_TAGS_MAX; tags++) {
		if (caplen < off + 2)
			return -1;
		if (is_ip_ethertype(get16(frame + off)))
			return (long)off + 2;
		if (get16(frame + off) != ETHERTYPE_VLAN &&
		    get16(frame + off) != ETHERTYPE_QINQ)
			return -1;
		off += 4;
	}
	return -1;
}

/* Linux cooked capture v1: the protocol is at 14 of a 16-byte header. */
static long
skip_sll(const uint8_t *frame, size_t caplen)
{
	if (caplen < 16 || !is_ip_ethertype(get16(frame + 14)))
		return -1;
	return 16;
}

/* Linux cooked capture v2: the protocol leads a 20-byte header. */
static long
skip_sll2(const uint8_t *frame, size_t caplen)
{
	if (caplen < 20 || !is_ip_ethertype(get16(frame)))
		return -1;
	return 20;
}

/* BSD loopback: a 4-byte address family.  synsig checks the version. */
static long
skip_null(const uint8_t *frame, size_t caplen)
{
	(void)frame;
	return caplen < 4 ? -1 : 4;
}

static long
skip_none(const uint8_t *frame, size_t caplen)
{
	(void)frame;
	(void)caplen;
	return 0;
}

static const struct {
	int dlt;
	link_skip_fn *skip;
} link_types[] = {
    {DLT_EN10MB, skip_ethernet},
    {DLT_LINUX_SLL, skip_sll},
    {DLT_LINUX_SLL2, skip_sll2},
    {DLT_RAW, skip_none},
    {DLT_IPV4, skip_none},
    {DLT_IPV6, skip_none},
    {DLT_NULL, skip_null},
    {DLT_LOOP, skip_null},
};

static link_skip_fn *
find_link_type(int dlt)
{
	size_t i;

	for (i = 0; i < NELEM(link_types); i++)
		if (link_types[i].dlt == dlt)
			return link_types[i].skip;
	return NULL;
}

/* Source hosts in the order of their first SYN. */

struct host {
	struct synsig sig; /* of the host's first SYN */
	unsigned long syns;
};

struct host_table {
	struct host *hosts;
	size_t nhosts;
	size_t *slots; /* index + 1 into hosts, or 0 for an empty slot */
	size_t nslots; /* a power of two, kept over twice nhosts */
};

static size_t
hash_source(const struct synsig *sig)
{
	size_t i, len = sig->version == 4 ? 4 : 16;
	uint32_t h = 2166136261u;

	/* FNV-1a: the keys are addresses, not chosen to collide here. */
	h = (h ^ (uint32_t)sig->version) * 16777619u;
	for (i = 0; i < len; i++)
		h = (h ^ sig->src[i]) * 16777619u;
	return h;
}

static bool
same_source(const struct synsig *a, const struct synsig *b)
{
	return a->version == b->version &&
	    memcmp(a->src, b->src, sizeof(a->src)) == 0;
}

static void
table_grow(struct host_table *t)
{
	size_t i, j;

	t->nslots = t->nslots ? t->nslots * 2 : 64;
	free(t->slots);
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	for (i = 0; i < t->nhosts; i++) {
		j = hash_source(&t->hosts[i].sig) & (t->nslots - 1);
		while (t->slots[j] != 0)
			j = (j + 1) & (t->nslots - 1);
		t->slots[j] = i + 1;
	}
}

static void
table_add(struct host_table *t, const struct synsig *sig)
{
	size_t j;

	if (2 * (t->nhosts + 1) > t->nslots)
		table_grow(t);
	j = hash_source(sig) & (t->nslots - 1);
	for (; t->slots[j] != 0; j = (j + 1) & (t->nslots - 1)) {
		if (same_source(&t->hosts[t->slots[j] - 1].sig, sig)) {
			t->hosts[t->slots[j] - 1].syns++;
			return;
		}
	}
	t->hosts = xrealloc(t->hosts, (t->nhosts + 1) * sizeof(*t->hosts));
	t->hosts[t->nhosts].sig = *sig;
	t->hosts[t->nhosts].syns = 1;
	t->slots[j] = ++t->nhosts;
}

/* Reading the capture. */

struct capture_counts {
	unsigned long packets;
	unsigned long syns;
	unsigned long malformed;
};

static int
read_capture(const char *path, struct host_table *t, struct capture_counts *n)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *frame;
	link_skip_fn *skip;
	struct synsig sig;
	const char *why;
	pcap_t *pcap;
	long off;
	int r;

	if ((pcap = pcap_open_offline(path, errbuf)) == NULL) {
		/* libpcap names the file only when it cannot open it. */
		if (strstr(errbuf, path) != NULL)
			fprintf(
			    stderr, "%s: fingerprint: %s\n", progname, errbuf);
		else
			fprintf(stderr,
			    "%s: fingerprint: %s: %s; expected a pcap or"
			    " pcapng capture\n",
			    progname, path, errbuf);
		return -1;
	}
	if ((skip = find_link_type(pcap_datalink(pcap))) == NULL) {
		fprintf(stderr,
		    "%s: fingerprint: %s: link type %s is not supported;"
		    " use Ethernet, Linux cooked, raw IP or loopback\n",
		    progname, path,
		    pcap_datalink_val_to_name(pcap_datalink(pcap)));
		pcap_close(pcap);
		return -1;
	}
	while ((r = pcap_next_ex(pcap, &hdr, &frame)) == 1) {
		n->packets++;
		if ((off = skip(frame, hdr->caplen)) < 0)
			continue;
		switch (synsig_from_packet(
		    frame + off, hdr->caplen - (size_t)off, &sig, &why)) {
		case SYNSIG_OK:
			n->syns++;
			table_add(t, &sig);
			break;
		case SYNSIG_INVALID:
			n->malformed++;
			break;
		case SYNSIG_SKIP:
			break;
		}
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "%s: fingerprint: %s: %s\n", progname, path,
		    pcap_geterr(pcap));
		pcap_close(pcap);
		return -1;
	}
	pcap_close(pcap);
	return 0;
}

/* Output. */

static void
source_text(const struct synsig *sig, char out[INET6_ADDRSTRLEN])
{
	inet_ntop(sig->version == 4 ? AF_INET : AF_INET6, sig->src, out,
	    INET6_ADDRSTRLEN);
}

static void
label_text(const struct p0f_match *m, char *out, size_t size)
{
	if (m->os_class == OS_CLASS_UNKNOWN)
		bufprintf(out, size, "-");
	else if (m->flavor[0] == '\0')
		bufprintf(out, size, "%s", m->name);
	else
		bufprintf(out, size, "%s %s", m->name, m->flavor);
}

static void
print_host(
    const struct host *h, const struct p0f_match *m, enum output_format format)
{
	char addr[INET6_ADDRSTRLEN], text[SYNSIG_TEXT_MAX], label[512];
	char line[2048];
	struct jsonw w;
	int len;

	source_text(&h->sig, addr);
	if (synsig_format(&h->sig, text, sizeof(text)) < 0)
		abort(); /* SYNSIG_TEXT_MAX fits every signature */
	label_text(m, label, sizeof(label));
	if (format == FORMAT_TEXT) {
		printf("%s\t%s\t%s\t%s\n", addr, text, label,
		    os_class_name(m->os_class));
		return;
	}
	jsonw_begin(&w, line, sizeof(line));
	jsonw_str(&w, "ip", addr);
	jsonw_str(&w, "signature", text);
	jsonw_str(&w, "label", m->os_class == OS_CLASS_UNKNOWN ? "" : label);
	jsonw_str(&w, "class", os_class_name(m->os_class));
	jsonw_str(&w, "name", m->name);
	jsonw_str(&w, "flavor", m->flavor);
	jsonw_bool(&w, "generic", m->generic);
	jsonw_bool(&w, "fuzzy", m->fuzzy);
	jsonw_int(&w, "distance", m->distance);
	jsonw_int(&w, "syns", (int64_t)h->syns);
	if ((len = jsonw_end(&w)) > 0)
		fwrite(line, 1, (size_t)len, stdout);
}

/* Database warnings, printed up to DB_WARNINGS_SHOWN and then counted. */
struct db_warnings {
	const char *path;
	unsigned long count;
};

static void
warn_db(void *arg, int line, const char *why)
{
	struct db_warnings *w = arg;

	if (w->count++ < DB_WARNINGS_SHOWN)
		fprintf(stderr, "%s: fingerprint: %s:%d: %s; line skipped\n",
		    progname, w->path, line, why);
}

static const char fingerprint_usage[] =
    "usage: spampot fingerprint --pcap FILE [--fp FILE]"
    " [--format text|json]\n";

static const char fingerprint_help[] =
    "\n"
    "Print the operating system of each host that sent a TCP SYN in a\n"
    "packet capture, one line per source address in the order of its\n"
    "first SYN: the address, the p0f signature of that first SYN, the\n"
    "p0f label and the class (Windows, Unix, Other or Unknown).\n"
    "SYN+ACKs are left out.  Captures may be Ethernet, Linux cooked\n"
    "(v1 or v2), raw IP or BSD loopback.\n"
    "\n"
    "Options:\n"
    "  --pcap FILE    capture to read, in pcap or pcapng format\n"
    "  --fp FILE      p0f v3 database (default: " P0F_DB_DEFAULT_PATH ")\n"
    "  --format FMT   text (tab-separated columns, the default) or json\n"
    "                 (one object per line, adding name, flavor,\n"
    "                 generic, fuzzy, distance and the SYN count)\n"
    "  -h, --help     show this help and exit\n"
    "\n"
    "Exit status: 0 on success; 1 when the capture or the database\n"
    "cannot be read; 2 on invalid arguments.\n";

static void
print_summary(const char *path, const struct capture_counts *n, size_t hosts)
{
	fprintf(stderr,
	    "%s: fingerprint: %s: %lu packets, %lu SYNs from %zu hosts,"
	    " %lu malformed\n",
	    progname, path, n->packets, n->syns, hosts, n->malformed);
}

int
cmd_fingerprint(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"pcap", required_argument, NULL, 'p'},
	    {"fp", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum output_format format = FORMAT_TEXT;
	const char *pcap_path = NULL, *fp_path = P0F_DB_DEFAULT_PATH, *err;
	struct db_warnings warnings = {0};
	struct capture_counts counts = {0};
	struct host_table table = {0};
	struct p0f_match match;
	struct p0f_db *db;
	size_t i;
	int c, rc = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pcap_path = optarg;
			break;
		case 'f':
			fp_path = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "text") == 0)
				format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				format = FORMAT_JSON;
			else
				return usage_error("fingerprint",
				    fingerprint_usage,
				    "invalid format '%s'; use text or json",
				    optarg);
			break;
		case 'h':
			fputs(fingerprint_usage, stdout);
			fputs(fingerprint_help, stdout);
			return 0;
		default:
			fputs(fingerprint_usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("fingerprint", fingerprint_usage,
		    "unexpected argument '%s'", argv[optind]);
	if (pcap_path == NULL)
		return usage_error(
		    "fingerprint", fingerprint_usage, "missing --pcap FILE");

	warnings.path = fp_path;
	if ((db = p0f_db_load(fp_path, warn_db, &warnings, &err)) == NULL) {
		fprintf(stderr,
		    "%s: fingerprint: cannot read p0f database %s: %s;"
		    " install p0f or pass --fp FILE\n",
		    progname, fp_path, err);
		return 1;
	}
	if (p0f_db_signatures(db) == 0) {
		fprintf(stderr,
		    "%s: fingerprint: no p0f signatures in %s (no sig line"
		    " under [tcp:request]); pass a p0f v3 database with --fp\n",
		    progname, fp_path);
		p0f_db_free(db);
		return 1;
	}
	if (warnings.count > DB_WARNINGS_SHOWN)
		fprintf(stderr,
		    "%s: fingerprint: %s: %lu lines skipped in all\n", progname,
		    fp_path, warnings.count);

	if (read_capture(pcap_path, &table, &counts) < 0)
		rc = 1;
	for (i = 0; rc == 0 && i < table.nhosts; i++) {
		p0f_match(db, &table.hosts[i].sig, &match);
		print_host(&table.hosts[i], &match, format);
	}
	if (rc == 0)
		print_summary(pcap_path, &counts, table.nhosts);
	if (fflush(stdout) != 0)
		rc = 1;
	free(table.hosts);
	free(table.slots);
	p0f_db_free(db);
	return rc;
}
