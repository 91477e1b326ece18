/*
 * libFuzzer harness for the body pack reader: the input is one pack.
 * It is written to a memory file, scanned whole, and every record the
 * scan reports is read and checked, as the server does.  The pack is
 * also scanned in two steps, cut where the first byte picks, to test
 * resuming.  Beyond what the sanitizers catch, it aborts when the
 * reader breaks its contract.  That is records that are not back to
 * back or run past the end, or a header that does not parse again.
 * It is also a body longer than SMTP_MESSAGE_SIZE_MAX, a verified
 * record that does not read whole, a scan whose end, cut flag or errno
 * disagrees with its records, and two scans that disagree.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bodypack.h"
#include "spampot_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Records kept for comparing two scans.  More are only counted. */
#define KEPT_RECORDS 256

struct scan {
	int fd;
	uint64_t size;
	uint64_t next; /* where the next record must start */
	size_t count;
	struct pack_record kept[KEPT_RECORDS];
	bool read; /* read and verify each record */
};

static bool
count_piece(const void *p, size_t n, void *arg)
{
	uint64_t *total = arg;

	(void)p;
	if (n == 0)
		abort();
	*total += n;
	if (*total > SMTP_MESSAGE_SIZE_MAX)
		abort();
	return true;
}

static void
check_record_body(int fd, const struct pack_record *r)
{
	uint64_t total = 0;
	int rc;

	rc = pack_record_read(
	    fd, r->offset, r->sha, r->length, count_piece, &total);
	if (rc != 0 && rc != -1)
		abort();
	if (pack_record_verified(fd, r) && rc != 0)
		abort();
}

static int
take_record(const struct pack_record *r, void *arg)
{
	char hdr[PACK_HEADER_LEN + 1], sha[65];
	struct scan *s = arg;
	uint32_t length;

	if (r->offset != s->next || r->length == 0 ||
	    r->length > PACK_FRAME_MAX ||
	    r->offset + PACK_HEADER_LEN + r->length > s->size)
		abort();
	pack_header_format(hdr, r->sha, r->length);
	if (!pack_header_parse(hdr, sha, &length) || strcmp(sha, r->sha) != 0 ||
	    length != r->length)
		abort();
	if (s->read)
		check_record_body(s->fd, r);
	if (s->count < KEPT_RECORDS)
		s->kept[s->count] = *r;
	s->count++;
	s->next = r->offset + PACK_HEADER_LEN + r->length;
	return 0;
}

/* Scan from *pos to size, and check what pack_scan promises of its end. */
static int
scan_to(struct scan *s, uint64_t *pos, uint64_t size, bool *cut)
{
	int rc;

	s->size = size;
	errno = 0;
	rc = pack_scan(s->fd, pos, size, take_record, s, cut);
	if (*pos != s->next)
		abort();
	if (rc == 0 && *cut != (*pos < size))
		abort();
	if (rc == -1 && (errno != EBADMSG || *pos >= size || *cut))
		abort();
	if (rc != 0 && rc != -1)
		abort();
	return rc;
}

static int
memory_file(void)
{
	static int fd = -1;

	if (fd < 0 && (fd = memfd_create("fuzz-pack", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0)
		abort();
	return fd;
}

static bool
same_records(const struct scan *a, const struct scan *b)
{
	size_t n = a->count < KEPT_RECORDS ? a->count : KEPT_RECORDS;

	return a->count == b->count &&
	    memcmp(a->kept, b->kept, n * sizeof(a->kept[0])) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scan whole, parts;
	uint64_t pos = 0, cut_at;
	bool cut = false;
	int fd, rc, rc2;

	fd = memory_file();
	if (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	memset(&whole, 0, sizeof(whole));
	whole.fd = fd;
	whole.read = true;
	rc = scan_to(&whole, &pos, size, &cut);

	/* The same scan in two steps finds the same records. */
	memset(&parts, 0, sizeof(parts));
	parts.fd = fd;
	cut_at = size > 0 ? (uint64_t)size * data[0] / 256 : 0;
	pos = 0;
	rc2 = scan_to(&parts, &pos, cut_at, &cut);
	if (rc2 == 0)
		rc2 = scan_to(&parts, &pos, size, &cut);
	if (rc2 != rc || !same_records(&whole, &parts))
		abort();
	return 0;
}
