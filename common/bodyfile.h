/*
 * Stored bodies: zstd files named by the SHA-256 of their content.
 */
#ifndef SPAMPOT_BODYFILE_H
#define SPAMPOT_BODYFILE_H

#include <stdbool.h>

/*
 * Check that the file at path decompresses, whole, to at most
 * SMTP_MESSAGE_SIZE_MAX bytes whose SHA-256 in lower-case hex is sha.
 * Reads the file once, in fixed-size pieces.
 */
bool body_file_verified(const char *path, const char *sha);

#endif
