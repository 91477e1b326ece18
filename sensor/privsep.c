/* Dropping root, chroot and the seccomp filter; see privsep.h. */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util.h"

int
privsep_lookup(const char *user, struct privsep *ps, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" not found%s%s", user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen,
		    "user \"%s\" is root; name an unprivileged user", user);
		return -1;
	}
	strlcpy_(ps->user, user, sizeof(ps->user));
	ps->uid = pw->pw_uid;
	ps->gid = pw->pw_gid;
	return 0;
}

int
privsep_chown_spool(
    const struct privsep *ps, const char *spool, char *err, size_t errlen)
{
	static const char *const entries[] = {"", "/bodies", "/events",
	    "/confirm", "/secret", "/heartbeat.json"};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < NELEM(entries); i++) {
		snprintf(path, sizeof(path), "%s%s", spool, entries[i]);
		if (chown(path, ps->uid, ps->gid) < 0 && errno != ENOENT) {
			snprintf(
			    err, errlen, "chown %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
privsep_drop(
    const struct privsep *ps, const char *root_dir, char *err, size_t errlen)
{
	if (setgroups(1, &ps->gid) < 0) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (root_dir != NULL && (chroot(root_dir) < 0 || chdir("/") < 0)) {
		snprintf(
		    err, errlen, "chroot %s: %s", root_dir, strerror(errno));
		return -1;
	}
	if (setresgid(ps->gid, ps->gid, ps->gid) < 0 ||
	    setresuid(ps->uid, ps->uid, ps->uid) < 0) {
		snprintf(err, errlen, "cannot switch to user %s: %s", ps->user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "root could be regained after the drop");
		return -1;
	}
#if defined(__SANITIZE_ADDRESS__)
	/*
	 * Test builds only: changing uid makes the process undumpable,
	 * and LeakSanitizer's exit check then cannot ptrace it and hangs.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}

/*
 * The system calls of the running daemon: the event loop, sockets it
 * accepts, files in the spool, clocks and memory.  libc and the
 * sanitizers (in test builds) use a few more for their own book-
 * keeping.  Everything else, execve, connect and socket included, is
 * fatal.
 */
static const char *const allowed_syscalls[] = {
    "accept",
    "accept4",
    "adjtimex",
    "brk",
    "clock_adjtime",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_wait",
    "eventfd2",
    "exit",
    "exit_group",
    "fcntl",
    "fdatasync",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getpeername",
    "getpid",
    "getrandom",
    "getrusage",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "ioctl",
    "lseek",
    "lstat",
    "madvise",
    "mkdir",
    "mkdirat",
    "mmap",
    "mprotect",
    "mremap",
    "munmap",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "pipe2",
    "poll",
    "pread64",
    "prlimit64",
    "read",
    "readlink",
    "readv",
    "recvfrom",
    "recvmsg",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_getaffinity",
    "sched_yield",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "sigaltstack",
    "stat",
    "statfs",
    "statx",
    "syncfs",
    "sysinfo",
    "tgkill",
    "unlink",
    "unlinkat",
    "write",
    "writev",
#if defined(__SANITIZE_ADDRESS__)
    /*
     * Test builds only: LeakSanitizer checks for leaks at exit from a
     * helper thread that stops the process with ptrace.  The filter
     * of a release build has none of these.
     */
    "clone",
    "clone3",
    "getppid",
    "kill",
    "prctl",
    "ptrace",
    "process_vm_readv",
    "rseq",
    "sched_setaffinity",
    "set_robust_list",
    "wait4",
    "waitid",
#endif
};

/* socket(AF_INET or AF_INET6, SOCK_STREAM with any flags, any) only. */
static int
allow_outbound(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const int families[] = { AF_INET, AF_INET6 };
	size_t i;
	int rc;

	for (i = 0; i < NELEM(families); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
		if (rc < 0)
			goto fail;
	}
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect),
		 0)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "seccomp rule for the probe relay: %s",
	    strerror(-rc));
	return -1;
}

int
sandbox_enter(bool allow_connect, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	size_t i;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(
		    err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	for (i = 0; i < NELEM(allowed_syscalls); i++) {
		int nr = seccomp_syscall_resolve_name(allowed_syscalls[i]);

		/* Calls this architecture lacks (e.g. open on arm64). */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0) {
			snprintf(err, errlen, "seccomp rule for %s: %s",
			    allowed_syscalls[i], strerror(-rc));
			seccomp_release(ctx);
			return -1;
		}
	}
	/* Every thread, including the spool's commit thread. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		snprintf(err, errlen, "seccomp thread sync: %s",
		    strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	if (allow_connect && allow_outbound(ctx, err, errlen) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp_load: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
