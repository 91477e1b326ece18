/*
 * Least privilege for the sensor: it binds its listeners as root (the
 * study's ports are below 1024), then gives up root for good, confines
 * itself to the spool with chroot, and enters a seccomp filter that
 * allows only the system calls the running daemon makes.
 */
#ifndef SPAMPOT_PRIVSEP_H
#define SPAMPOT_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privsep {
	char user[64];
	uid_t uid;
	gid_t gid;
};

/* Look up user while /etc/passwd is still reachable; -1 with err. */
int privsep_lookup(const char *user, struct privsep *ps, char *err,
    size_t errlen);

/* Give the spool's directories to the user the daemon will run as. */
int privsep_chown_spool(const struct privsep *ps, const char *spool,
    char *err, size_t errlen);

/*
 * chroot into root_dir (unless NULL), then drop to the user's uid and
 * gid with no supplementary groups, and check that root cannot be
 * regained.  Returns 0, or -1 with err.
 */
int privsep_drop(const struct privsep *ps, const char *root_dir, char *err,
    size_t errlen);

/*
 * Allow only the system calls the daemon needs from here on; any other
 * kills the process.  allow_connect adds socket (AF_INET and AF_INET6
 * stream sockets only) and connect, for the probe relay; without it
 * the daemon cannot open a connection at all.  Returns 0, or -1 with
 * err.
 */
int sandbox_enter(bool allow_connect, char *err, size_t errlen);

#endif
