/*
 * Tests of the body pack reader: record headers, pack names, scanning
 * whole and cut packs, and reading and checking records.  Packs are
 * built here in memory files, with frames from ZSTD_compress and
 * digests from OpenSSL, and their headers are formatted by the test
 * itself, so that the code under test does not write its own input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
/* ZSTD_getFrameHeader(), to check the window a test frame declares. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "bodypack.h"
#include "spampot_limits.h"

/* Records the scan tests build, and the max a callback collects. */
#define SCAN_RECORDS 5
#define COLLECT_MAX  16

/* A valid header, mutated by the parse tests. */
static const char good_header[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    " 0000abcd\n";

/* Deterministic bytes: text-like when compressible, else noise. */
static unsigned char *
make_body(size_t len, unsigned seed, int compressible)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = compressible ? (unsigned char)("spam and eggs\n"[x % 14])
				    : (unsigned char)x;
	}
	return p;
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char digest[32];
	unsigned int n = 0, i;

	assert_int_equal(
	    EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* Compress with ZSTD_compress; the caller frees *frame. */
static size_t
compress_body(const void *body, size_t len, unsigned char **frame)
{
	size_t cap = ZSTD_compressBound(len), n;

	*frame = malloc(cap);
	assert_non_null(*frame);
	n = ZSTD_compress(*frame, cap, body, len, 1);
	assert_false(ZSTD_isError(n));
	return n;
}

/* A pack being built in a memory file. */
struct pack {
	int fd;
	uint64_t size;
};

static void
pack_open(struct pack *p)
{
	p->fd = memfd_create("test-pack", 0);
	assert_true(p->fd >= 0);
	p->size = 0;
}

static void
pack_append(struct pack *p, const void *data, size_t len)
{
	assert_int_equal(
	    pwrite(p->fd, data, len, (off_t)p->size), (ssize_t)len);
	p->size += len;
}

/* Append a header with this sha and length as the sensor writes it. */
static void
pack_append_header(struct pack *p, const char *sha, uint32_t length)
{
	char hdr[PACK_HEADER_LEN + 1];

	assert_int_equal(
	    snprintf(hdr, sizeof(hdr), "%s %08x\n", sha, (unsigned)length),
	    PACK_HEADER_LEN);
	pack_append(p, hdr, PACK_HEADER_LEN);
}

/* One record of the test: its body, frame and where it went. */
struct record {
	unsigned char *body;
	size_t body_len;
	unsigned char *frame;
	size_t frame_len;
	char sha[65];
	uint64_t offset;
};

/* Append a record of body (which it takes over) to the pack. */
static void
add_record(struct pack *p, struct record *r, unsigned char *body, size_t len)
{
	r->body = body;
	r->body_len = len;
	r->frame_len = compress_body(body, len, &r->frame);
	sha256_hex(body, len, r->sha);
	r->offset = p->size;
	pack_append_header(p, r->sha, (uint32_t)r->frame_len);
	pack_append(p, r->frame, r->frame_len);
}

static void
free_records(struct record *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].body);
		free(r[i].frame);
	}
}

/*
 * The scan tests' records: an empty body, short and long text, and
 * noise whose frame is longer than one read of the reader.
 */
static void
build_scan_pack(struct pack *p, struct record r[SCAN_RECORDS])
{
	static const struct {
		size_t len;
		int compressible;
	} shapes[SCAN_RECORDS] = {
	    {0, 1},
	    {1, 1},
	    {5000, 1},
	    {3 * PACK_READ_CHUNK, 0},
	    {700, 0},
	};
	size_t i;

	pack_open(p);
	for (i = 0; i < SCAN_RECORDS; i++)
		add_record(p, &r[i],
		    make_body(
			shapes[i].len, (unsigned)i, shapes[i].compressible),
		    shapes[i].len);
	assert_true(r[3].frame_len > PACK_READ_CHUNK);
}

/* What a scan passed to its callback. */
struct collected {
	struct pack_record records[COLLECT_MAX];
	size_t count;
	size_t stop_at; /* stop when this many were seen, or 0 */
};

static int
collect(const struct pack_record *r, void *arg)
{
	struct collected *c = arg;

	assert_true(c->count < COLLECT_MAX);
	c->records[c->count++] = *r;
	if (c->stop_at != 0 && c->count == c->stop_at)
		return 7;
	return 0;
}

static void
assert_collected(
    const struct collected *c, const struct record *r, size_t first, size_t n)
{
	size_t i;

	assert_int_equal(c->count, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(c->records[i].sha, r[first + i].sha);
		assert_int_equal(c->records[i].offset, r[first + i].offset);
		assert_int_equal(c->records[i].length, r[first + i].frame_len);
	}
}

/* A body read back by pack_record_read. */
struct body_buf {
	unsigned char *data;
	size_t len, cap;
	size_t calls;
	size_t stop_after; /* stop after this many calls, or 0 */
	bool keep;         /* keep the bytes, or only count them */
};

static bool
take_piece(const void *p, size_t n, void *arg)
{
	struct body_buf *b = arg;

	assert_true(n > 0);
	b->calls++;
	if (b->keep) {
		if (b->len + n > b->cap) {
			b->cap = (b->len + n) * 2;
			b->data = realloc(b->data, b->cap);
			assert_non_null(b->data);
		}
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	return b->stop_after == 0 || b->calls < b->stop_after;
}

static int
read_body(int fd, const struct record *r, struct body_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->keep = true;
	return pack_record_read(
	    fd, r->offset, r->sha, (uint32_t)r->frame_len, take_piece, b);
}

/* Append a record of this frame under the header's sha of body. */
static uint64_t
add_raw_record(struct pack *p, const char *sha, const void *frame, size_t len)
{
	uint64_t offset = p->size;

	pack_append_header(p, sha, (uint32_t)len);
	pack_append(p, frame, len);
	return offset;
}

/* Read the record at offset whose header says sha and len. */
static int
read_raw(
    int fd, uint64_t offset, const char *sha, size_t len, struct body_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->keep = true;
	return pack_record_read(fd, offset, sha, (uint32_t)len, take_piece, b);
}

/* Headers */

static void
test_header_format_exact(void **state)
{
	char out[PACK_HEADER_LEN + 1];

	(void)state;
	memset(out, 'x', sizeof(out));
	pack_header_format(out,
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef",
	    0xabcd);
	assert_string_equal(out, good_header);
	assert_int_equal(strlen(out), PACK_HEADER_LEN);
}

static void
test_header_round_trip(void **state)
{
	static const uint32_t lengths[] = {
	    1,
	    9,
	    0xff,
	    PACK_READ_CHUNK,
	    0x123456,
	    PACK_FRAME_MAX - 1,
	    PACK_FRAME_MAX,
	};
	char out[PACK_HEADER_LEN + 1], sha[65], want[65];
	uint32_t length;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		sha256_hex(&i, sizeof(i), want);
		pack_header_format(out, want, lengths[i]);
		assert_true(pack_header_parse(out, sha, &length));
		assert_string_equal(sha, want);
		assert_int_equal(length, lengths[i]);
	}
}

static void
test_header_parse_accepts_valid(void **state)
{
	char sha[65];
	uint32_t length = 0;

	(void)state;
	assert_true(pack_header_parse(good_header, sha, &length));
	assert_int_equal(length, 0xabcd);
	assert_memory_equal(sha, good_header, 64);
	assert_int_equal(sha[64], '\0');
}

/* Change one byte of good_header, or the length, and parse that. */
struct bad_header {
	const char *name;
	int at; /* byte to change, or -1 */
	char byte;
	const char *length; /* eight digits to put in, or NULL */
};

static void
test_header_parse_rejects(void **state)
{
	char limit[9], over[9];
	const struct bad_header cases[] = {
	    {"upper-case digit in sha", 10, 'A', NULL},
	    {"upper-case last digit of sha", 63, 'F', NULL},
	    {"upper-case digit in length", -1, 0, "0000ABCD"},
	    {"not a hex digit in sha", 0, 'g', NULL},
	    {"not a hex digit in length", 70, 'x', NULL},
	    {"tab for the space", 64, '\t', NULL},
	    {"no space", 64, '0', NULL},
	    {"carriage return for newline", 73, '\r', NULL},
	    {"no newline", 73, '0', NULL},
	    {"space inside sha", 30, ' ', NULL},
	    {"space inside length", 65, ' ', NULL},
	    {"NUL inside sha", 5, '\0', NULL},
	    {"length 0", -1, 0, "00000000"},
	    {"length above PACK_FRAME_MAX", -1, 0, over},
	    {"length ffffffff", -1, 0, "ffffffff"},
	};
	char hdr[PACK_HEADER_LEN + 1], sha[65];
	uint32_t length;
	size_t i;

	(void)state;
	snprintf(limit, sizeof(limit), "%08x", (unsigned)PACK_FRAME_MAX);
	snprintf(over, sizeof(over), "%08x", (unsigned)PACK_FRAME_MAX + 1);

	/* The limit itself passes, so the case above it tests the limit. */
	memcpy(hdr, good_header, sizeof(hdr));
	memcpy(hdr + 65, limit, 8);
	assert_true(pack_header_parse(hdr, sha, &length));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(hdr, good_header, sizeof(hdr));
		if (cases[i].at >= 0)
			hdr[cases[i].at] = cases[i].byte;
		if (cases[i].length != NULL)
			memcpy(hdr + 65, cases[i].length, 8);
		if (pack_header_parse(hdr, sha, &length))
			fail_msg("accepted a header with %s", cases[i].name);
	}
}

/* Names */

static void
test_pack_name_valid(void **state)
{
	static const char *const good[] = {
	    "20261204T231500.pack",
	    "20261204T231500-1.pack",
	    "20261204T231500-0.pack",
	    "20261204T231500-999.pack",
	    "19700101T000000.pack",
	};
	static const char *const bad[] = {
	    "",
	    ".pack",
	    "20261204T231500",
	    "20261204T231500.jsonl",
	    "20261204T231500.zst",
	    "20261204T231500.pack.tmp",
	    "20261204T231500.packs",
	    "20261204T231500.pac",
	    "20261204T231500-.pack",
	    "20261204T231500-1000.pack",
	    "20261204T231500-1a.pack",
	    "20261204T231500--1.pack",
	    "20261204T231500_1.pack",
	    "20261204t231500.pack",
	    "20261204 231500.pack",
	    "2026120T2315000.pack",
	    "20261204T23150.pack",
	    "20261204T2315000.pack",
	    "x20261204T231500.pack",
	    "bodies/20261204T231500.pack",
	    "../20261204T231500.pack",
	    "20261204T231500.PACK",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!pack_name_valid(good[i]))
			fail_msg("rejected \"%s\"", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pack_name_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
}

/* Scanning */

static void
test_scan_reports_every_record(void **state)
{
	struct record r[SCAN_RECORDS];
	struct collected c = {.count = 0};
	struct pack p;
	uint64_t pos = 0;
	bool cut = true;

	(void)state;
	build_scan_pack(&p, r);
	assert_int_equal(pack_scan(p.fd, &pos, p.size, collect, &c, &cut), 0);
	assert_false(cut);
	assert_int_equal(pos, p.size);
	assert_collected(&c, r, 0, SCAN_RECORDS);
	assert_int_equal(c.records[0].offset, 0);
	assert_int_equal(c.records[1].offset, PACK_HEADER_LEN + r[0].frame_len);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

static void
test_scan_empty_pack(void **state)
{
	struct collected c = {.count = 0};
	struct pack p;
	uint64_t pos = 0;
	bool cut = true;

	(void)state;
	pack_open(&p);
	assert_int_equal(pack_scan(p.fd, &pos, 0, collect, &c, &cut), 0);
	assert_false(cut);
	assert_int_equal(pos, 0);
	assert_int_equal(c.count, 0);
	close(p.fd);
}

/* Tails a crash may leave after the last whole record. */
enum tail {
	TAIL_SHORT_HEADER,
	TAIL_SHORT_FRAME,
	TAIL_HEADER_ONLY,
	TAIL_ZERO_HEADER,
	TAIL_ZERO_BLOCK,
	TAIL_FEW_ZEROS,
	TAIL_COUNT
};

static const char *const tail_names[TAIL_COUNT] = {
    "short header",
    "short frame",
    "header only",
    "header of zeros",
    "block of zeros",
    "a few zeros",
};

static void
append_tail(struct pack *p, enum tail t, const struct record *next)
{
	char hdr[PACK_HEADER_LEN + 1];
	static const char zeros[4096];

	snprintf(hdr, sizeof(hdr), "%s %08x\n", next->sha,
	    (unsigned)next->frame_len);
	switch (t) {
	case TAIL_SHORT_HEADER:
		pack_append(p, hdr, PACK_HEADER_LEN - 1);
		break;
	case TAIL_SHORT_FRAME:
		pack_append(p, hdr, PACK_HEADER_LEN);
		pack_append(p, next->frame, next->frame_len - 1);
		break;
	case TAIL_HEADER_ONLY:
		pack_append(p, hdr, PACK_HEADER_LEN);
		break;
	case TAIL_ZERO_HEADER:
		pack_append(p, zeros, PACK_HEADER_LEN);
		break;
	case TAIL_ZERO_BLOCK:
		pack_append(p, zeros, sizeof(zeros));
		break;
	case TAIL_FEW_ZEROS:
		pack_append(p, zeros, 10);
		break;
	default:
		fail();
	}
}

static void
test_scan_cut_tail(void **state)
{
	struct record r[SCAN_RECORDS];
	struct pack p;
	enum tail t;

	(void)state;
	for (t = 0; t < TAIL_COUNT; t++) {
		struct collected c = {.count = 0};
		uint64_t pos = 0, whole;
		bool cut = false;

		build_scan_pack(&p, r);
		whole = p.size;
		append_tail(&p, t, &r[2]);
		if (pack_scan(p.fd, &pos, p.size, collect, &c, &cut) != 0)
			fail_msg("tail \"%s\": scan failed", tail_names[t]);
		if (!cut)
			fail_msg(
			    "tail \"%s\": not reported cut", tail_names[t]);
		if (pos != whole)
			fail_msg("tail \"%s\": pos %llu, expected %llu",
			    tail_names[t], (unsigned long long)pos,
			    (unsigned long long)whole);
		assert_collected(&c, r, 0, SCAN_RECORDS);
		close(p.fd);
		free_records(r, SCAN_RECORDS);
	}
}

/* A size short of the file's end cuts the record it falls in. */
static void
test_scan_size_cuts_record(void **state)
{
	struct record r[SCAN_RECORDS];
	struct collected c = {.count = 0};
	struct pack p;
	uint64_t pos = 0;
	bool cut = false;

	(void)state;
	build_scan_pack(&p, r);
	assert_int_equal(
	    pack_scan(p.fd, &pos, r[3].offset + 100, collect, &c, &cut), 0);
	assert_true(cut);
	assert_int_equal(pos, r[3].offset);
	assert_collected(&c, r, 0, 3);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

static void
test_scan_damaged_header(void **state)
{
	struct record r[SCAN_RECORDS];
	struct collected c = {.count = 0};
	struct pack p;
	uint64_t pos = 0;
	bool cut = false;

	(void)state;
	build_scan_pack(&p, r);
	/* Upper-case the last digit of the third record's length. */
	assert_int_equal(pwrite(p.fd, "A", 1, (off_t)r[2].offset + 72), 1);
	errno = 0;
	assert_int_equal(pack_scan(p.fd, &pos, p.size, collect, &c, &cut), -1);
	assert_int_equal(errno, EBADMSG);
	assert_false(cut);
	assert_int_equal(pos, r[2].offset);
	assert_collected(&c, r, 0, 2);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

/* Zeros before a header that is not zeros: not a tail, damage. */
static void
test_scan_partly_zero_header(void **state)
{
	struct record r[SCAN_RECORDS];
	struct collected c = {.count = 0};
	struct pack p;
	uint64_t pos = 0;
	bool cut = false;
	char hdr[PACK_HEADER_LEN];

	(void)state;
	build_scan_pack(&p, r);
	memset(hdr, 0, sizeof(hdr));
	hdr[PACK_HEADER_LEN - 1] = '\n';
	pack_append(&p, hdr, sizeof(hdr));
	errno = 0;
	assert_int_equal(pack_scan(p.fd, &pos, p.size, collect, &c, &cut), -1);
	assert_int_equal(errno, EBADMSG);
	assert_collected(&c, r, 0, SCAN_RECORDS);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

/*
 * A crash leaves zeros from a block boundary to the end of the pack.
 * When they start inside a frame or a header, that record is the cut
 * tail, not a whole record to index.
 */
static void
test_scan_zeros_into_record(void **state)
{
	static const char zeros[4096];
	struct record r[SCAN_RECORDS], extra;
	struct pack p;
	int at;

	(void)state;
	for (at = 0; at < 3; at++) {
		struct collected c = {.count = 0};
		char hdr[PACK_HEADER_LEN + 1];
		uint64_t pos = 0, whole;
		bool cut = false;

		build_scan_pack(&p, r);
		whole = p.size;
		extra.frame_len = compress_body(r[3].body, r[3].body_len,
		    &extra.frame);
		snprintf(hdr, sizeof(hdr), "%s %08x\n", r[3].sha,
		    (unsigned)extra.frame_len);
		if (at == 0) {
			/* The frame's second half never reached the disk. */
			pack_append(&p, hdr, PACK_HEADER_LEN);
			memset(extra.frame + extra.frame_len / 2, 0,
			    extra.frame_len - extra.frame_len / 2);
			pack_append(&p, extra.frame, extra.frame_len);
		} else if (at == 1) {
			/* As above, with a zero block after the frame. */
			pack_append(&p, hdr, PACK_HEADER_LEN);
			memset(extra.frame + extra.frame_len / 2, 0,
			    extra.frame_len - extra.frame_len / 2);
			pack_append(&p, extra.frame, extra.frame_len);
			pack_append(&p, zeros, sizeof(zeros));
		} else {
			/* Half a header, then zeros. */
			pack_append(&p, hdr, 30);
			pack_append(&p, zeros, sizeof(zeros));
		}
		if (pack_scan(p.fd, &pos, p.size, collect, &c, &cut) != 0)
			fail_msg("zeros %d: scan failed", at);
		if (!cut)
			fail_msg("zeros %d: not reported cut", at);
		if (pos != whole)
			fail_msg("zeros %d: pos %llu, expected %llu", at,
			    (unsigned long long)pos, (unsigned long long)whole);
		assert_collected(&c, r, 0, SCAN_RECORDS);
		free(extra.frame);
		close(p.fd);
		free_records(r, SCAN_RECORDS);
	}
}

/* A whole last record whose frame ends in a zero byte is kept. */
static void
test_scan_frame_ends_in_zero(void **state)
{
	struct record r[SCAN_RECORDS], last;
	struct collected c = {.count = 0};
	unsigned char *body;
	struct pack p;
	uint64_t pos = 0;
	bool cut = false;

	(void)state;
	build_scan_pack(&p, r);
	/* Noise is stored raw, so the frame ends with the body's 0. */
	body = make_body(700, 9, 0);
	body[699] = 0;
	add_record(&p, &last, body, 700);
	assert_int_equal(last.frame[last.frame_len - 1], 0);
	assert_int_equal(pack_scan(p.fd, &pos, p.size, collect, &c, &cut), 0);
	assert_false(cut);
	assert_int_equal(pos, p.size);
	assert_int_equal(c.count, SCAN_RECORDS + 1);
	assert_string_equal(c.records[SCAN_RECORDS].sha, last.sha);
	free_records(&last, 1);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

static void
test_scan_read_error(void **state)
{
	struct collected c = {.count = 0};
	uint64_t pos = 0;
	bool cut = false;
	int fds[2];

	(void)state;
	/* pread on a pipe fails with ESPIPE. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(
	    write(fds[1], good_header, PACK_HEADER_LEN), PACK_HEADER_LEN);
	errno = 0;
	assert_int_equal(pack_scan(fds[0], &pos, 1000, collect, &c, &cut), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(c.count, 0);
	assert_int_equal(pos, 0);
	close(fds[0]);
	close(fds[1]);
}

/*
 * A callback that stops the scan: its value is returned, and *pos
 * stays at the start of the record it stopped on, so that a later scan
 * from *pos offers that record again.
 */
static void
test_scan_callback_stops(void **state)
{
	struct record r[SCAN_RECORDS];
	struct collected c = {.count = 0, .stop_at = 2};
	struct pack p;
	uint64_t pos = 0;
	bool cut = true;

	(void)state;
	build_scan_pack(&p, r);
	assert_int_equal(pack_scan(p.fd, &pos, p.size, collect, &c, &cut), 7);
	assert_false(cut);
	assert_collected(&c, r, 0, 2);
	assert_int_equal(pos, r[1].offset);

	memset(&c, 0, sizeof(c));
	assert_int_equal(pack_scan(p.fd, &pos, p.size, collect, &c, &cut), 0);
	assert_collected(&c, r, 1, SCAN_RECORDS - 1);
	assert_int_equal(pos, p.size);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

/* A pack read while it grows: each scan resumes where the last ended. */
static void
test_scan_resumes(void **state)
{
	struct record r[SCAN_RECORDS];
	struct collected c = {.count = 0};
	struct pack p;
	uint64_t pos = 0, whole, full;
	bool cut = false;

	(void)state;
	build_scan_pack(&p, r);
	full = p.size;
	/* First read it as if only two records and part of a third were in. */
	whole = r[2].offset;
	assert_int_equal(pack_scan(p.fd, &pos, whole + PACK_HEADER_LEN + 3,
			     collect, &c, &cut),
	    0);
	assert_true(cut);
	assert_int_equal(pos, whole);
	assert_collected(&c, r, 0, 2);

	/* The rest arrived. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(pack_scan(p.fd, &pos, full, collect, &c, &cut), 0);
	assert_false(cut);
	assert_int_equal(pos, full);
	assert_collected(&c, r, 2, SCAN_RECORDS - 2);

	/* Nothing new: no record, no cut. */
	memset(&c, 0, sizeof(c));
	cut = true;
	assert_int_equal(pack_scan(p.fd, &pos, full, collect, &c, &cut), 0);
	assert_false(cut);
	assert_int_equal(pos, full);
	assert_int_equal(c.count, 0);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

/* Reading records */

static void
test_record_read_whole(void **state)
{
	struct record r[SCAN_RECORDS];
	struct body_buf b;
	struct pack p;
	size_t i;

	(void)state;
	build_scan_pack(&p, r);
	for (i = 0; i < SCAN_RECORDS; i++) {
		assert_int_equal(read_body(p.fd, &r[i], &b), 0);
		assert_int_equal(b.len, r[i].body_len);
		if (b.len > 0)
			assert_memory_equal(b.data, r[i].body, b.len);
		else
			assert_int_equal(b.calls, 0);
		free(b.data);
	}
	/* The long body comes in several pieces. */
	assert_int_equal(read_body(p.fd, &r[3], &b), 0);
	assert_true(b.calls > 1);
	free(b.data);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

static void
test_record_read_stops(void **state)
{
	struct record r[SCAN_RECORDS];
	struct body_buf b = {.stop_after = 1};
	struct pack p;

	(void)state;
	build_scan_pack(&p, r);
	assert_int_equal(pack_record_read(p.fd, r[3].offset, r[3].sha,
			     (uint32_t)r[3].frame_len, take_piece, &b),
	    1);
	assert_int_equal(b.calls, 1);
	assert_true(b.len < r[3].body_len);

	/* Stopping on the last piece still returns 1. */
	memset(&b, 0, sizeof(b));
	b.stop_after = 1;
	assert_int_equal(pack_record_read(p.fd, r[1].offset, r[1].sha,
			     (uint32_t)r[1].frame_len, take_piece, &b),
	    1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.len, 1);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

/* Stopping on the last of several pieces. */
static void
test_record_read_stops_on_last_piece(void **state)
{
	unsigned char *body, *frame;
	struct body_buf b;
	struct pack p;
	uint64_t off;
	size_t len, calls;
	char sha[65];

	(void)state;
	body = make_body(ZSTD_BLOCKSIZE_MAX, 13, 1);
	sha256_hex(body, ZSTD_BLOCKSIZE_MAX, sha);
	len = compress_body(body, ZSTD_BLOCKSIZE_MAX, &frame);
	pack_open(&p);
	off = add_raw_record(&p, sha, frame, len);

	assert_int_equal(read_raw(p.fd, off, sha, len, &b), 0);
	assert_int_equal(b.len, ZSTD_BLOCKSIZE_MAX);
	assert_memory_equal(b.data, body, ZSTD_BLOCKSIZE_MAX);
	calls = b.calls;
	assert_true(calls > 1);
	free(b.data);

	memset(&b, 0, sizeof(b));
	b.stop_after = calls;
	assert_int_equal(
	    pack_record_read(p.fd, off, sha, (uint32_t)len, take_piece, &b), 1);
	assert_int_equal(b.calls, calls);
	assert_int_equal(b.len, ZSTD_BLOCKSIZE_MAX);

	close(p.fd);
	free(frame);
	free(body);
}

static void
test_record_read_wrong_arguments(void **state)
{
	struct record r[SCAN_RECORDS];
	struct body_buf b = {.calls = 0};
	struct pack p;
	char sha[65];

	(void)state;
	build_scan_pack(&p, r);
	strcpy(sha, r[2].sha);
	sha[0] = sha[0] == '0' ? '1' : '0';
	assert_int_equal(pack_record_read(p.fd, r[2].offset, sha,
			     (uint32_t)r[2].frame_len, take_piece, &b),
	    -1);
	assert_int_equal(pack_record_read(p.fd, r[2].offset, r[1].sha,
			     (uint32_t)r[2].frame_len, take_piece, &b),
	    -1);
	assert_int_equal(pack_record_read(p.fd, r[2].offset, r[2].sha,
			     (uint32_t)r[2].frame_len + 1, take_piece, &b),
	    -1);
	assert_int_equal(pack_record_read(p.fd, r[2].offset, r[2].sha,
			     (uint32_t)r[2].frame_len - 1, take_piece, &b),
	    -1);
	/* An offset that is not a record's. */
	assert_int_equal(pack_record_read(p.fd, r[2].offset + 1, r[2].sha,
			     (uint32_t)r[2].frame_len, take_piece, &b),
	    -1);
	/* An offset past the end. */
	assert_int_equal(pack_record_read(p.fd, p.size, r[2].sha,
			     (uint32_t)r[2].frame_len, take_piece, &b),
	    -1);
	assert_int_equal(b.calls, 0);
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

static void
test_record_read_damaged_frame(void **state)
{
	unsigned char *body, *frame, *bad;
	struct body_buf b;
	struct pack p;
	uint64_t off;
	size_t len;
	char sha[65];

	(void)state;
	body = make_body(3000, 9, 1);
	len = compress_body(body, 3000, &frame);
	sha256_hex(body, 3000, sha);
	bad = malloc(len);
	assert_non_null(bad);
	pack_open(&p);

	/* Not a zstd frame at all. */
	off = add_raw_record(&p, sha, "hello, world", 12);
	assert_int_equal(read_raw(p.fd, off, sha, 12, &b), -1);

	/* A wrong magic number. */
	memcpy(bad, frame, len);
	bad[0] ^= 0x01;
	off = add_raw_record(&p, sha, bad, len);
	assert_int_equal(read_raw(p.fd, off, sha, len, &b), -1);

	/* A frame cut short, its length in the header cut to match. */
	off = add_raw_record(&p, sha, frame, len - 2);
	assert_int_equal(read_raw(p.fd, off, sha, len - 2, &b), -1);

	/* The frame itself reads back, so the cases above test damage. */
	off = add_raw_record(&p, sha, frame, len);
	assert_int_equal(read_raw(p.fd, off, sha, len, &b), 0);
	assert_int_equal(b.len, 3000);
	free(b.data);

	close(p.fd);
	free(bad);
	free(frame);
	free(body);
}

static void
test_record_read_trailing_bytes(void **state)
{
	unsigned char *body, *frame, *two;
	struct body_buf b;
	struct pack p;
	uint64_t off;
	size_t len;
	char sha[65];

	(void)state;
	body = make_body(3000, 10, 1);
	len = compress_body(body, 3000, &frame);
	sha256_hex(body, 3000, sha);
	two = malloc(2 * len + 3);
	assert_non_null(two);
	pack_open(&p);

	/* Three bytes of junk after the frame. */
	memcpy(two, frame, len);
	memcpy(two + len, "xyz", 3);
	off = add_raw_record(&p, sha, two, len + 3);
	assert_int_equal(read_raw(p.fd, off, sha, len + 3, &b), -1);
	free(b.data);

	/* Two whole frames in one record. */
	memcpy(two + len, frame, len);
	off = add_raw_record(&p, sha, two, 2 * len);
	assert_int_equal(read_raw(p.fd, off, sha, 2 * len, &b), -1);
	free(b.data);

	close(p.fd);
	free(two);
	free(frame);
	free(body);
}

/*
 * A frame that ends exactly where one read of the reader ends, with
 * bytes after it.  The extra bytes come only with the next read, and
 * when they are a whole frame, decompressing them raises no error.
 */
static void
test_record_read_trailing_next_chunk(void **state)
{
	unsigned char *body = NULL, *frame = NULL, *small, *buf;
	struct body_buf b;
	struct pack p;
	uint64_t off;
	size_t n, len = 0, small_len;
	char sha[65];

	(void)state;
	/* Noise compresses to itself and a few bytes of framing. */
	for (n = PACK_READ_CHUNK; n > PACK_READ_CHUNK - 64; n--) {
		free(body);
		free(frame);
		body = make_body(n, 11, 0);
		len = compress_body(body, n, &frame);
		if (len == PACK_READ_CHUNK)
			break;
	}
	assert_int_equal(len, PACK_READ_CHUNK);
	sha256_hex(body, n, sha);
	small_len = compress_body("x", 1, &small);
	buf = malloc(len + small_len);
	assert_non_null(buf);
	memcpy(buf, frame, len);
	memcpy(buf + len, "extra", 5);
	pack_open(&p);

	off = add_raw_record(&p, sha, frame, len);
	assert_int_equal(read_raw(p.fd, off, sha, len, &b), 0);
	assert_int_equal(b.len, n);
	free(b.data);

	off = add_raw_record(&p, sha, buf, len + 5);
	assert_int_equal(read_raw(p.fd, off, sha, len + 5, &b), -1);
	free(b.data);

	memcpy(buf + len, small, small_len);
	off = add_raw_record(&p, sha, buf, len + small_len);
	assert_int_equal(read_raw(p.fd, off, sha, len + small_len, &b), -1);
	free(b.data);
	free(small);

	close(p.fd);
	free(buf);
	free(frame);
	free(body);
}

static void
test_record_read_size_limit(void **state)
{
	unsigned char *body, *frame;
	struct body_buf b;
	struct pack p;
	uint64_t at_max, over_max;
	size_t len_max, len_over;
	char sha_max[65], sha_over[65];

	(void)state;
	body = calloc(SMTP_MESSAGE_SIZE_MAX + 1, 1);
	assert_non_null(body);
	pack_open(&p);

	len_max = compress_body(body, SMTP_MESSAGE_SIZE_MAX, &frame);
	sha256_hex(body, SMTP_MESSAGE_SIZE_MAX, sha_max);
	at_max = add_raw_record(&p, sha_max, frame, len_max);
	free(frame);

	len_over = compress_body(body, SMTP_MESSAGE_SIZE_MAX + 1, &frame);
	sha256_hex(body, SMTP_MESSAGE_SIZE_MAX + 1, sha_over);
	over_max = add_raw_record(&p, sha_over, frame, len_over);
	free(frame);

	memset(&b, 0, sizeof(b));
	assert_int_equal(pack_record_read(p.fd, at_max, sha_max,
			     (uint32_t)len_max, take_piece, &b),
	    0);
	assert_int_equal(b.len, SMTP_MESSAGE_SIZE_MAX);

	memset(&b, 0, sizeof(b));
	assert_int_equal(pack_record_read(p.fd, over_max, sha_over,
			     (uint32_t)len_over, take_piece, &b),
	    -1);
	assert_true(b.len <= SMTP_MESSAGE_SIZE_MAX);

	close(p.fd);
	free(body);
}

/* A frame that declares a window past PACK_WINDOW_LOG_MAX is not read. */
static void
test_record_read_window_limit(void **state)
{
	static const char body[] = "a short body with a huge window\r\n";
	unsigned char frame[256];
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_inBuffer in = {body, sizeof(body) - 1, 0};
	ZSTD_outBuffer out = {frame, sizeof(frame), 0};
	ZSTD_frameHeader header;
	struct body_buf b;
	struct pack p;
	uint64_t at;
	char sha[65];

	(void)state;
	assert_non_null(cctx);
	/* Streamed without a size, so the frame keeps its window. */
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx,
	    ZSTD_c_windowLog, PACK_WINDOW_LOG_MAX + 1)));
	assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &out, &in,
	    ZSTD_e_continue)));
	assert_int_equal(in.pos, in.size);
	assert_int_equal(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end),
	    0);
	ZSTD_freeCCtx(cctx);
	assert_int_equal(ZSTD_getFrameHeader(&header, frame, out.pos), 0);
	assert_true(header.windowSize > (1u << PACK_WINDOW_LOG_MAX));

	sha256_hex(body, sizeof(body) - 1, sha);
	pack_open(&p);
	at = add_raw_record(&p, sha, frame, out.pos);
	memset(&b, 0, sizeof(b));
	assert_int_equal(pack_record_read(p.fd, at, sha, (uint32_t)out.pos,
			     take_piece, &b),
	    -1);
	assert_int_equal(b.len, 0);
	close(p.fd);
}

/* Checking records */

static bool
verified_at(int fd, uint64_t offset, const char *sha, size_t len)
{
	struct pack_record r;

	memcpy(r.sha, sha, sizeof(r.sha));
	r.offset = offset;
	r.length = (uint32_t)len;
	return pack_record_verified(fd, &r);
}

static void
test_record_verified(void **state)
{
	struct record r[SCAN_RECORDS];
	struct pack p;
	size_t i;

	(void)state;
	build_scan_pack(&p, r);
	for (i = 0; i < SCAN_RECORDS; i++)
		assert_true(
		    verified_at(p.fd, r[i].offset, r[i].sha, r[i].frame_len));
	/* A damaged frame is not verified. */
	assert_int_equal(pwrite(p.fd, "\xff\xff\xff\xff", 4,
			     (off_t)r[2].offset + PACK_HEADER_LEN),
	    4);
	assert_false(verified_at(p.fd, r[2].offset, r[2].sha, r[2].frame_len));
	/* Neither is a record whose header does not match. */
	assert_false(verified_at(p.fd, r[3].offset, r[4].sha, r[3].frame_len));
	close(p.fd);
	free_records(r, SCAN_RECORDS);
}

/*
 * A frame of one raw (stored) block and no checksum still decompresses
 * when a byte of its content changes, so only the hash check can tell.
 */
static void
test_record_verified_checks_hash(void **state)
{
	unsigned char *body, *frame;
	struct body_buf b;
	ZSTD_CCtx *cctx;
	struct pack p;
	uint64_t off;
	size_t len, cap;
	char sha[65];

	(void)state;
	body = make_body(200, 12, 0);
	sha256_hex(body, 200, sha);
	cap = ZSTD_compressBound(200);
	frame = malloc(cap);
	assert_non_null(frame);
	cctx = ZSTD_createCCtx();
	assert_non_null(cctx);
	assert_false(
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)));
	len = ZSTD_compress2(cctx, frame, cap, body, 200);
	assert_false(ZSTD_isError(len));
	ZSTD_freeCCtx(cctx);
	/* Noise is stored raw: the body is the frame's last 200 bytes. */
	assert_true(len > 200);
	assert_memory_equal(frame + len - 200, body, 200);

	pack_open(&p);
	off = add_raw_record(&p, sha, frame, len);
	assert_true(verified_at(p.fd, off, sha, len));

	frame[len - 100] ^= 0x20;
	off = add_raw_record(&p, sha, frame, len);
	assert_int_equal(read_raw(p.fd, off, sha, len, &b), 0);
	assert_int_equal(b.len, 200);
	assert_int_equal(memcmp(b.data, body, 200) != 0, 1);
	free(b.data);
	assert_false(verified_at(p.fd, off, sha, len));

	close(p.fd);
	free(frame);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_format_exact),
	    cmocka_unit_test(test_header_round_trip),
	    cmocka_unit_test(test_header_parse_accepts_valid),
	    cmocka_unit_test(test_header_parse_rejects),
	    cmocka_unit_test(test_pack_name_valid),
	    cmocka_unit_test(test_scan_reports_every_record),
	    cmocka_unit_test(test_scan_empty_pack),
	    cmocka_unit_test(test_scan_cut_tail),
	    cmocka_unit_test(test_scan_size_cuts_record),
	    cmocka_unit_test(test_scan_damaged_header),
	    cmocka_unit_test(test_scan_partly_zero_header),
	    cmocka_unit_test(test_scan_zeros_into_record),
	    cmocka_unit_test(test_scan_frame_ends_in_zero),
	    cmocka_unit_test(test_scan_read_error),
	    cmocka_unit_test(test_scan_callback_stops),
	    cmocka_unit_test(test_scan_resumes),
	    cmocka_unit_test(test_record_read_whole),
	    cmocka_unit_test(test_record_read_stops),
	    cmocka_unit_test(test_record_read_stops_on_last_piece),
	    cmocka_unit_test(test_record_read_wrong_arguments),
	    cmocka_unit_test(test_record_read_damaged_frame),
	    cmocka_unit_test(test_record_read_trailing_bytes),
	    cmocka_unit_test(test_record_read_trailing_next_chunk),
	    cmocka_unit_test(test_record_read_size_limit),
	    cmocka_unit_test(test_record_read_window_limit),
	    cmocka_unit_test(test_record_verified),
	    cmocka_unit_test(test_record_verified_checks_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
