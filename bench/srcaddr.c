/*
 * srcaddr.so: an LD_PRELOAD shim that spreads a client's loopback
 * connections over several source addresses.
 *
 * The sensor caps the connections of one source address, and tools
 * such as smtp-source have no option to bind their sockets.  With
 * SPAMPOT_BENCH_SRC=127.0.1.1+4, each IPv4 connect() to 127.0.0.0/8
 * first binds the socket to the next of 127.0.1.1 .. 127.0.1.4 in
 * turn.  Any other destination is left untouched.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static unsigned counter;

static int
parse_spec(struct in_addr *base, unsigned *count)
{
	const char *spec = getenv("SPAMPOT_BENCH_SRC");
	char buf[64], *plus;

	if (spec == NULL || strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	plus = strchr(buf, '+');
	if (plus == NULL)
		return -1;
	*plus = '\0';
	*count = (unsigned)strtoul(plus + 1, NULL, 10);
	if (*count == 0 || inet_pton(AF_INET, buf, base) != 1)
		return -1;
	return 0;
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static connect_fn next;
	const struct sockaddr_in *dst = (const struct sockaddr_in *)sa;
	struct sockaddr_in src;
	struct in_addr base;
	unsigned count, n;

	if (next == NULL)
		next = (connect_fn)dlsym(RTLD_NEXT, "connect");
	if (sa != NULL && sa->sa_family == AF_INET && len >= sizeof(*dst) &&
	    (ntohl(dst->sin_addr.s_addr) >> 24) == 127 &&
	    parse_spec(&base, &count) == 0) {
		n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED) % count;
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(ntohl(base.s_addr) + n);
		/* A failed bind leaves the kernel's choice of source. */
		(void)bind(fd, (struct sockaddr *)&src, sizeof(src));
	}
	return next(fd, sa, len);
}
