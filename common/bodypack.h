/*
 * Body packs: the files in which a sensor stores the bodies of the
 * messages it accepts, and from which the server reads them.
 *
 * A pack is bodies/NAME.pack, where NAME is the name of the events
 * file the sensor had open when it began the pack, without ".jsonl".
 * The sensor only appends to a pack, and closes it when it closes that
 * events file.  A pack contains records one after the other, with
 * nothing between them.  A record is a header of PACK_HEADER_LEN bytes,
 *
 *	<64 lower-case hex digits> <8 lower-case hex digits>\n
 *
 * the SHA-256 of the body and the length of what follows, and then one
 * zstd frame of that length, which decompresses to the body.  A body is
 * at most SMTP_MESSAGE_SIZE_MAX bytes, and its frame at most
 * PACK_FRAME_MAX.
 *
 * A crash may cut the last record of a pack, or leave zeros where its
 * data never reached the disk.  Its message was never acknowledged:
 * readers stop at the last whole record and report the rest as cut.
 */
#ifndef SPAMPOT_BODYPACK_H
#define SPAMPOT_BODYPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACK_HEADER_LEN (64 + 1 + 8 + 1)

/* Bytes that the readers below read from a pack at a time. */
#define PACK_READ_CHUNK 65536

/* One record: where its header starts and how long its frame is. */
struct pack_record {
	char sha[65];
	uint64_t offset;	/* of the header */
	uint32_t length;	/* of the frame after it */
};

/* Write the header of a record into out, which ends in a NUL. */
void pack_header_format(char out[PACK_HEADER_LEN + 1], const char *sha,
    uint32_t length);

/*
 * Parse a header of PACK_HEADER_LEN bytes.  Returns false when it is not
 * one: wrong form, upper-case digits, or a length of 0 or more than
 * PACK_FRAME_MAX.
 */
bool pack_header_parse(const char *p, char sha[65], uint32_t *length);

/*
 * Whether name is a pack's name as the sensor makes it, with no
 * directory: "YYYYMMDDTHHMMSS.pack" or "YYYYMMDDTHHMMSS-N.pack", N of
 * one to three digits.
 */
bool pack_name_valid(const char *name);

/*
 * Read the whole records of the pack open on fd, from *pos up to size
 * bytes, and call fn for each.  fn returns 0 to go on, or anything
 * else to stop the scan, which then returns that value.  On return
 * *pos is the end of the last record for which fn returned 0.  A scan
 * that fn stopped therefore resumes at the record it stopped on.
 *
 * Returns 0 at the end.  *cut is set when bytes after *pos do not
 * make a whole record but could be the cut tail of a crash: a short
 * header or frame, or zeros that run from inside a record to the end
 * of the file, where that record's frame does not decompress to its
 * hash.  Returns -1 with errno set on a read error, or with errno
 * EBADMSG on a header that is not one.
 */
int pack_scan(int fd, uint64_t *pos, uint64_t size,
    int (*fn)(const struct pack_record *, void *), void *arg, bool *cut);

/*
 * Decompress the frame of the record at offset on fd, whose header is
 * checked against sha and length, and pass the body to fn in pieces.
 * fn returns false to stop early.  Returns 0 when fn saw the whole body
 * (at most SMTP_MESSAGE_SIZE_MAX bytes), 1 when fn stopped, -1 when the
 * record cannot be read or its frame is damaged.
 */
int pack_record_read(int fd, uint64_t offset, const char *sha,
    uint32_t length, bool (*fn)(const void *, size_t, void *), void *arg);

/* Whether the record's body decompresses whole and has its SHA-256. */
bool pack_record_verified(int fd, const struct pack_record *r);

#endif
