/*
 * Small helpers shared by the sensor and the server: allocation that
 * aborts on failure, bounded string copies, and errors for the top
 * level to report.
 */
#ifndef SPAMPOT_UTIL_H
#define SPAMPOT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN	  __attribute__((noreturn))
#define NELEM(a)	  (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is not recoverable here: these abort with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Print "prog: message" to standard error and exit with status. */
void fatal(int status, const char *fmt, ...) PRINTF_LIKE(2, 3) NORETURN;

/*
 * Print "prog: command: message" and then usage to standard error, for
 * a subcommand given invalid arguments; returns 2, the exit status of
 * a usage error.
 */
int usage_error(const char *command, const char *usage, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Format into a fixed buffer, always NUL-terminated; returns buf. */
char *bufprintf(char *buf, size_t size, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Copy at most size - 1 bytes and terminate; returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t size);

/* Parse a decimal number in [min, max]; returns -1 on any junk. */
int parse_long(const char *s, long min, long max, long *out);

/*
 * Print "prog: message" to standard error, for daemons that log there
 * (systemd's journal adds the time).  level is "error", "warning" or
 * NULL for information.
 */
void logmsg(const char *level, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Set by main() for messages: the program's name. */
extern const char *progname;

/* Wall clock as microseconds since the epoch. */
int64_t now_usec(void);

/* Format microseconds since the epoch as RFC 3339 UTC with microseconds. */
void format_rfc3339(int64_t usec, char buf[32]);

/* Write the whole buffer, retrying on EINTR; returns 0 or -1. */
int write_all(int fd, const void *buf, size_t len);

/*
 * Read a whole regular file of at most max bytes.  Returns NULL with
 * errno set: EINVAL for a file that is not regular (a FIFO, a device),
 * EFBIG for one over max.
 */
char *read_file(const char *path, size_t max, size_t *lenp);

/* Return the message for a read_file() error, using buf for the limit. */
const char *read_file_error(int err, size_t max, char *buf, size_t buflen);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);

/* Return the value of a hex digit of either case, or -1 for any other. */
int hex_value(char c);

#endif
