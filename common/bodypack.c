/* Body packs: their records, names and reading; see bodypack.h. */
#include "bodypack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "spampot_limits.h"
#include "util.h"

_Static_assert(PACK_FRAME_MAX >= ZSTD_COMPRESSBOUND(SMTP_MESSAGE_SIZE_MAX),
    "PACK_FRAME_MAX must hold the frame of the largest message");
_Static_assert((1u << PACK_WINDOW_LOG_MAX) >= SMTP_MESSAGE_SIZE_MAX,
    "the window must cover the largest message");
_Static_assert(PACK_FRAME_MAX <= 0xffffffffu,
    "a frame's length must fit the header's eight hex digits");

static bool
lower_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
			(p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static bool
digits(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

void
pack_header_format(char out[PACK_HEADER_LEN + 1], const char *sha,
    uint32_t length)
{
	snprintf(out, PACK_HEADER_LEN + 1, "%.64s %08x\n", sha,
	    (unsigned)length);
}

bool
pack_header_parse(const char *p, char sha[65], uint32_t *length)
{
	uint32_t n = 0;
	int i;

	if (!lower_hex(p, 64) || p[64] != ' ' || !lower_hex(p + 65, 8) ||
	    p[73] != '\n')
		return false;
	for (i = 65; i < 73; i++)
		n = n << 4 | (uint32_t)hex_value(p[i]);
	if (n == 0 || n > PACK_FRAME_MAX)
		return false;
	memcpy(sha, p, 64);
	sha[64] = '\0';
	*length = n;
	return true;
}

bool
pack_name_valid(const char *name)
{
	size_t len = strlen(name), n;

	if (len < 20 || !digits(name, 8) || name[8] != 'T' ||
	    !digits(name + 9, 6))
		return false;
	name += 15;
	if (*name == '-') {
		n = strspn(name + 1, "0123456789");
		if (n < 1 || n > 3)
			return false;
		name += 1 + n;
	}
	return strcmp(name, ".pack") == 0;
}

/* Read exactly n bytes at off, or fewer only at the end of the file. */
static ssize_t
read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static bool
all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != '\0')
			return false;
	return true;
}

/*
 * Return 1 when the bytes from off to size are all zeros, as in blocks
 * whose data never reached the disk, 0 when not, -1 on a read error.
 */
static int
zeros_to_end(int fd, uint64_t off, uint64_t size)
{
	char buf[PACK_READ_CHUNK];
	ssize_t got;
	size_t want;

	while (off < size) {
		want = size - off < sizeof(buf) ? (size_t)(size - off) :
		    sizeof(buf);
		if ((got = read_at(fd, buf, want, off)) < 0)
			return -1;
		if (got == 0)
			return 1;
		if (!all_zero(buf, (size_t)got))
			return 0;
		off += (uint64_t)got;
	}
	return 1;
}

/*
 * Return 1 when a header that failed to parse was cut by a crash: every
 * byte from its first NUL to the end of the file is zero.
 */
static int
header_cut(int fd, const char *hdr, uint64_t pos, uint64_t size)
{
	const char *nul = memchr(hdr, '\0', PACK_HEADER_LEN);

	if (nul == NULL ||
	    !all_zero(nul, PACK_HEADER_LEN - (size_t)(nul - hdr)))
		return 0;
	return zeros_to_end(fd, pos + PACK_HEADER_LEN, size);
}

/*
 * Return 1 when a crash cut a record that looks whole: zeros run from
 * inside its frame to the end of the file, and the frame does not hash
 * to its header's SHA-256.  Such zeros start at a block boundary, which
 * seldom falls on a header.  The two bytes around the frame's end
 * settle most records with one read.
 */
static int
frame_cut(int fd, const struct pack_record *r, uint64_t size)
{
	uint64_t end = r->offset + PACK_HEADER_LEN + r->length;
	char edge[2];
	size_t want = end < size ? 2 : 1;
	ssize_t got;
	int rc;

	if ((got = read_at(fd, edge, want, end - 1)) < 0)
		return -1;
	/* The file shrank under the scan: the frame is short. */
	if ((size_t)got < want)
		return 1;
	if (!all_zero(edge, want))
		return 0;
	if ((rc = zeros_to_end(fd, end, size)) != 1)
		return rc;
	return !pack_record_verified(fd, r);
}

int
pack_scan(int fd, uint64_t *pos, uint64_t size,
    int (*fn)(const struct pack_record *, void *), void *arg, bool *cut)
{
	char hdr[PACK_HEADER_LEN];
	struct pack_record r;
	ssize_t got;
	int rc;

	*cut = false;
	while (*pos < size) {
		if (size - *pos < PACK_HEADER_LEN) {
			*cut = true;
			return 0;
		}
		if ((got = read_at(fd, hdr, sizeof(hdr), *pos)) < 0)
			return -1;
		if ((size_t)got < sizeof(hdr) || all_zero(hdr, sizeof(hdr))) {
			*cut = true;
			return 0;
		}
		if (!pack_header_parse(hdr, r.sha, &r.length)) {
			if ((rc = header_cut(fd, hdr, *pos, size)) < 0)
				return -1;
			if (rc == 1) {
				*cut = true;
				return 0;
			}
			errno = EBADMSG;
			return -1;
		}
		if (size - *pos - PACK_HEADER_LEN < r.length) {
			*cut = true;
			return 0;
		}
		r.offset = *pos;
		if ((rc = frame_cut(fd, &r, size)) < 0)
			return -1;
		if (rc == 1) {
			*cut = true;
			return 0;
		}
		if ((rc = fn(&r, arg)) != 0)
			return rc;
		*pos += PACK_HEADER_LEN + (uint64_t)r.length;
	}
	return 0;
}

int
pack_record_read(int fd, uint64_t offset, const char *sha,
    uint32_t length, bool (*fn)(const void *, size_t, void *), void *arg)
{
	unsigned char in[PACK_READ_CHUNK], out[PACK_READ_CHUNK];
	char hdr[PACK_HEADER_LEN], hsha[65];
	uint64_t pos, end, total = 0;
	ZSTD_DStream *zs;
	uint32_t hlen;
	size_t zrc = 1;
	ssize_t n;
	int rc = -1;

	if (read_at(fd, hdr, sizeof(hdr), offset) != (ssize_t)sizeof(hdr) ||
	    !pack_header_parse(hdr, hsha, &hlen) || strcmp(hsha, sha) != 0 ||
	    hlen != length)
		return -1;
	if ((zs = ZSTD_createDStream()) == NULL)
		return -1;
	if (ZSTD_isError(ZSTD_DCtx_setParameter(zs, ZSTD_d_windowLogMax,
		PACK_WINDOW_LOG_MAX))) {
		ZSTD_freeDStream(zs);
		return -1;
	}
	pos = offset + PACK_HEADER_LEN;
	end = pos + length;
	while (pos < end) {
		size_t want = end - pos < sizeof(in) ? (size_t)(end - pos) :
		    sizeof(in);
		ZSTD_inBuffer ib;

		if ((n = read_at(fd, in, want, pos)) != (ssize_t)want)
			goto done;
		pos += want;
		ib = (ZSTD_inBuffer){in, want, 0};
		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = {out, sizeof(out), 0};

			zrc = ZSTD_decompressStream(zs, &ob, &ib);
			if (ZSTD_isError(zrc))
				goto done;
			total += ob.pos;
			if (total > SMTP_MESSAGE_SIZE_MAX)
				goto done;
			if (ob.pos > 0 && !fn(out, ob.pos, arg)) {
				rc = 1;
				goto done;
			}
			/* One frame per record: nothing may follow its end. */
			if (zrc == 0 && (ib.pos < ib.size || pos < end))
				goto done;
		}
	}
	/* Output still held inside zstd comes out with no more input. */
	while (zrc != 0) {
		ZSTD_inBuffer ib = {in, 0, 0};
		ZSTD_outBuffer ob = {out, sizeof(out), 0};

		zrc = ZSTD_decompressStream(zs, &ob, &ib);
		if (ZSTD_isError(zrc) || ob.pos == 0)
			goto done;
		total += ob.pos;
		if (total > SMTP_MESSAGE_SIZE_MAX)
			goto done;
		if (!fn(out, ob.pos, arg)) {
			rc = 1;
			goto done;
		}
	}
	rc = 0;
done:
	ZSTD_freeDStream(zs);
	return rc;
}

static bool
hash_piece(const void *p, size_t n, void *arg)
{
	return EVP_DigestUpdate(arg, p, n) == 1;
}

bool
pack_record_verified(int fd, const struct pack_record *r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32];
	char hex[65];
	bool ok = false;

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    pack_record_read(fd, r->offset, r->sha, r->length, hash_piece,
		md) == 0 &&
	    EVP_DigestFinal_ex(md, digest, NULL) == 1) {
		hex_encode(digest, sizeof(digest), hex);
		ok = strcmp(hex, r->sha) == 0;
	}
	EVP_MD_CTX_free(md);
	return ok;
}
