/*
 * smtpload: an SMTP load client for the benchmarks, which can open
 * each session through a SOCKS5 or HTTP CONNECT tunnel first.
 *
 * Postfix's smtp-source speaks SMTP only, so the tunnel cases need
 * their own client; the same client then drives both the sensor and
 * the reference tunnel, so that the client's cost is the same on each
 * side.  One thread runs all sessions on epoll, as smtp-source runs
 * its sessions in one process.  Like smtp-source it does not pipeline:
 * each command waits for its reply.
 *
 * Each connection may be bound to one of several loopback source
 * addresses in turn (-B, -b), because the sensor caps the connections
 * of one address.  Every address given must be on 127.0.0.0/8.
 *
 * Output: one line "messages=N errors=N seconds=S rate=R" on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bytes of replies buffered per connection; replies are short. */
#define INBUF_MAX 8192

/* Sessions at once: well above the benchmarks' 100. */
#define SESSIONS_MAX 4096

/* Recipients per message, as the sensor's own cap. */
#define RCPT_MAX 1000

/* Longest message body generated. */
#define BODY_MAX (1024 * 1024)

enum tunnel { TUNNEL_NONE, TUNNEL_SOCKS5, TUNNEL_HTTP };

/*
 * A session's steps in order.  Each step sends its command (if any)
 * and waits for one reply; the tunnel steps come first when a tunnel
 * is used.
 */
enum step {
	ST_CONNECTING,
	ST_SOCKS_HELLO,   /* sent 05 01 00, want 05 00 */
	ST_SOCKS_CONNECT, /* sent the request, want 10 bytes */
	ST_HTTP_CONNECT,  /* sent CONNECT, want a 200 head */
	ST_BANNER,        /* want 220 */
	ST_EHLO,          /* want 250 */
	ST_MAIL,          /* want 250 */
	ST_RCPT,          /* want 250, rcpt times */
	ST_DATA,          /* want 354 */
	ST_BODY,          /* want 250: the message is stored */
	ST_QUIT,          /* want 221 */
	ST_DONE,
};

struct sess {
	int fd;
	enum step step;
	int rcpt_sent;
	size_t inlen;
	char in[INBUF_MAX];
	/* Unsent output of the current step. */
	char *out;
	size_t outlen, outoff;
};

struct opts {
	struct sockaddr_in server;
	enum tunnel tunnel;
	char target_host[64];
	int target_port;
	int sessions;
	long messages;
	int rcpts;
	long body_len;
	struct in_addr src_base;
	int src_count;
	double time_limit;
};

static struct opts opt;
static long messages_started, messages_done, errors;
static int epfd, open_sessions;
static char *body_tmpl;
static size_t body_tmpl_len;
static char scratch[BODY_MAX + 256];

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("smtpload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= hostlen)
		die("expected HOST:PORT, not \"%s\"", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = atoi(colon + 1);
	if (*port <= 0 || *port > 65535)
		die("invalid port in \"%s\"", s);
}

static bool
loopback(struct in_addr a)
{
	return (ntohl(a.s_addr) >> 24) == 127;
}

/* Build the header lines that every message starts with. */
static void
make_body(void)
{
	size_t cap = (size_t)opt.body_len + 512, n;

	body_tmpl = malloc(cap);
	if (body_tmpl == NULL)
		die("out of memory");
	n = (size_t)snprintf(body_tmpl, cap,
	    "From: <load@bench-origin.example>\r\n"
	    "To: <rcpt@bench-target.example>\r\n"
	    "Subject: benchmark message\r\n");
	body_tmpl_len = n;
}

/*
 * Render message seq into scratch: headers, a Message-ID of its own (so
 * that the sensor stores every body, as with smtp-source), filler lines
 * up to the requested length and the final dot.
 */
static size_t
render_message(long seq)
{
	size_t n, filled = 0;
	static const char line[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "abcdefghijklm\r\n";

	memcpy(scratch, body_tmpl, body_tmpl_len);
	n = body_tmpl_len;
	n += (size_t)snprintf(scratch + n, sizeof(scratch) - n,
	    "Message-ID: <%ld.%ld@bench-origin.example>\r\n\r\n", seq,
	    (long)getpid());
	while (filled + sizeof(line) - 1 <= (size_t)opt.body_len) {
		memcpy(scratch + n, line, sizeof(line) - 1);
		n += sizeof(line) - 1;
		filled += sizeof(line) - 1;
	}
	memcpy(scratch + n, ".\r\n", 3);
	return n + 3;
}

static void
set_output(struct sess *s, const char *data, size_t len)
{
	free(s->out);
	s->out = malloc(len);
	if (s->out == NULL)
		die("out of memory");
	memcpy(s->out, data, len);
	s->outlen = len;
	s->outoff = 0;
}

static void
set_outputf(struct sess *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	set_output(s, buf, (size_t)n);
}

static void
watch(struct sess *s, bool want_write)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0);
	ev.data.ptr = s;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void start_session(struct sess *s);

static void
end_session(struct sess *s, bool failed)
{
	if (failed) {
		errors++;
		/* A message started and not acknowledged was not sent. */
		if (s->step >= ST_MAIL && s->step <= ST_BODY)
			messages_started--;
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->step = ST_DONE;
	free(s->out);
	s->out = NULL;
	open_sessions--;
	/* A failed session is replaced while messages remain. */
	if (failed && messages_started < opt.messages)
		start_session(s);
}

/* Begin the next message, or QUIT when none is left to send. */
static void
next_message(struct sess *s)
{
	if (messages_started >= opt.messages) {
		s->step = ST_QUIT;
		set_outputf(s, "QUIT\r\n");
		return;
	}
	messages_started++;
	s->step = ST_MAIL;
	s->rcpt_sent = 0;
	set_outputf(s, "MAIL FROM:<load@bench-origin.example>\r\n");
}

/* Send what is pending; false when the connection failed. */
static bool
flush_output(struct sess *s)
{
	while (s->outoff < s->outlen) {
		ssize_t n = send(s->fd, s->out + s->outoff,
		    s->outlen - s->outoff, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch(s, true);
			return true;
		}
		if (n <= 0)
			return false;
		s->outoff += (size_t)n;
	}
	watch(s, false);
	return true;
}

/*
 * Length of one complete SMTP reply at the start of the buffer, or 0
 * when it is not complete yet: lines "NNN-" continue, "NNN " ends.
 */
static size_t
smtp_reply_len(const struct sess *s)
{
	size_t off = 0;

	for (;;) {
		const char *nl = memchr(s->in + off, '\n', s->inlen - off);
		size_t linelen;

		if (nl == NULL)
			return 0;
		linelen = (size_t)(nl - (s->in + off)) + 1;
		if (linelen < 4 || s->in[off + 3] != '-')
			return off + linelen;
		off += linelen;
	}
}

static size_t
http_head_len(const struct sess *s)
{
	const char *end = memmem(s->in, s->inlen, "\r\n\r\n", 4);

	return end == NULL ? 0 : (size_t)(end - s->in) + 4;
}

/* Act on one complete reply; false ends the session as failed. */
static bool
on_reply(struct sess *s, const char *r, size_t len)
{
	char code = len >= 1 ? r[0] : '0';

	switch (s->step) {
	case ST_SOCKS_HELLO: {
		unsigned char req[10] = {5, 1, 0, 1};
		struct in_addr a;
		uint16_t port = htons((uint16_t)opt.target_port);

		if (len != 2 || r[0] != 5 || r[1] != 0)
			return false;
		if (inet_pton(AF_INET, opt.target_host, &a) != 1)
			return false;
		memcpy(req + 4, &a, 4);
		memcpy(req + 8, &port, 2);
		s->step = ST_SOCKS_CONNECT;
		set_output(s, (const char *)req, sizeof(req));
		return true;
	}
	case ST_SOCKS_CONNECT:
		if (len != 10 || r[1] != 0)
			return false;
		s->step = ST_BANNER;
		return true;
	case ST_HTTP_CONNECT:
		if (len < 12 || memcmp(r + 8, " 200", 4) != 0)
			return false;
		s->step = ST_BANNER;
		return true;
	case ST_BANNER:
		if (code != '2')
			return false;
		s->step = ST_EHLO;
		set_outputf(s, "EHLO load.bench-origin.example\r\n");
		return true;
	case ST_EHLO:
		if (code != '2')
			return false;
		next_message(s);
		return true;
	case ST_MAIL:
		if (code != '2')
			return false;
		s->step = ST_RCPT;
		/* FALLTHROUGH */
	case ST_RCPT:
		if (code != '2')
			return false;
		if (s->rcpt_sent < opt.rcpts) {
			set_outputf(s,
			    "RCPT TO:<%ld.%d@bench-target.example>\r\n",
			    messages_started, s->rcpt_sent);
			s->rcpt_sent++;
			return true;
		}
		s->step = ST_DATA;
		set_outputf(s, "DATA\r\n");
		return true;
	case ST_DATA:
		if (code != '3')
			return false;
		s->step = ST_BODY;
		set_output(s, scratch, render_message(messages_started));
		return true;
	case ST_BODY:
		if (code != '2')
			return false;
		messages_done++;
		next_message(s);
		return true;
	case ST_QUIT:
		end_session(s, false);
		return true;
	default:
		return false;
	}
}

static void
on_readable(struct sess *s)
{
	for (;;) {
		ssize_t n;
		size_t len;

		if (s->inlen == sizeof(s->in)) {
			end_session(s, true);
			return;
		}
		n = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			end_session(s, s->step != ST_QUIT);
			return;
		}
		s->inlen += (size_t)n;
		for (;;) {
			enum step before = s->step;

			if (s->step == ST_SOCKS_HELLO)
				len = s->inlen >= 2 ? 2 : 0;
			else if (s->step == ST_SOCKS_CONNECT)
				len = s->inlen >= 10 ? 10 : 0;
			else if (s->step == ST_HTTP_CONNECT)
				len = http_head_len(s);
			else
				len = smtp_reply_len(s);
			if (len == 0)
				break;
			if (!on_reply(s, s->in, len)) {
				fprintf(stderr,
				    "smtpload: unexpected reply "
				    "\"%.*s\" at step %d\n",
				    (int)(len > 80 ? 80 : len), s->in, before);
				end_session(s, true);
				return;
			}
			if (s->step == ST_DONE)
				return;
			memmove(s->in, s->in + len, s->inlen - len);
			s->inlen -= len;
			if (s->outlen > s->outoff && !flush_output(s)) {
				end_session(s, true);
				return;
			}
		}
	}
}

static void
on_connected(struct sess *s)
{
	int err = 0;
	socklen_t errlen = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 ||
	    err != 0) {
		end_session(s, true);
		return;
	}
	switch (opt.tunnel) {
	case TUNNEL_SOCKS5:
		s->step = ST_SOCKS_HELLO;
		set_output(s, "\x05\x01\x00", 3);
		break;
	case TUNNEL_HTTP:
		s->step = ST_HTTP_CONNECT;
		set_outputf(s, "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
		    opt.target_host, opt.target_port, opt.target_host,
		    opt.target_port);
		break;
	case TUNNEL_NONE:
		s->step = ST_BANNER;
		watch(s, false);
		return;
	}
	if (!flush_output(s))
		end_session(s, true);
}

static void
start_session(struct sess *s)
{
	static unsigned next_src;
	struct epoll_event ev;
	struct sockaddr_in src;
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.src_count > 0) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(ntohl(opt.src_base.s_addr) +
		    next_src++ % (unsigned)opt.src_count);
		if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			die("bind: %s", strerror(errno));
	}
	s->step = ST_CONNECTING;
	ev.events = EPOLLOUT;
	ev.data.ptr = s;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	if (connect(s->fd, (struct sockaddr *)&opt.server, sizeof(opt.server)) <
		0 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	open_sessions++;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: smtpload [-s sessions] [-m messages] [-r recipients]\n"
	    "                [-l body-bytes] [-B source-base -b count]\n"
	    "                [-p none|socks5|http -T target-ip:port]\n"
	    "                [-t seconds] server-ip:port\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct sess sess[SESSIONS_MAX];
	struct epoll_event evs[256];
	char host[64];
	double start, elapsed;
	int c, i, port;

	opt.sessions = 100;
	opt.messages = 20000;
	opt.rcpts = 5;
	opt.body_len = 4096;
	opt.time_limit = 600;
	while ((c = getopt(argc, argv, "s:m:r:l:B:b:p:T:t:")) != -1) {
		switch (c) {
		case 's':
			opt.sessions = atoi(optarg);
			break;
		case 'm':
			opt.messages = atol(optarg);
			break;
		case 'r':
			opt.rcpts = atoi(optarg);
			break;
		case 'l':
			opt.body_len = atol(optarg);
			break;
		case 'B':
			if (inet_pton(AF_INET, optarg, &opt.src_base) != 1 ||
			    !loopback(opt.src_base))
				die("-B needs an address on 127.0.0.0/8");
			break;
		case 'b':
			opt.src_count = atoi(optarg);
			break;
		case 'p':
			if (strcmp(optarg, "socks5") == 0)
				opt.tunnel = TUNNEL_SOCKS5;
			else if (strcmp(optarg, "http") == 0)
				opt.tunnel = TUNNEL_HTTP;
			else if (strcmp(optarg, "none") == 0)
				opt.tunnel = TUNNEL_NONE;
			else
				usage();
			break;
		case 'T':
			parse_hostport(optarg, opt.target_host,
			    sizeof(opt.target_host), &opt.target_port);
			break;
		case 't':
			opt.time_limit = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || opt.sessions < 1 ||
	    opt.sessions > SESSIONS_MAX || opt.messages < 1 || opt.rcpts < 1 ||
	    opt.rcpts > RCPT_MAX || opt.body_len < 0 ||
	    opt.body_len > BODY_MAX || opt.src_count < 0 || opt.src_count > 255)
		usage();
	if (opt.tunnel != TUNNEL_NONE && opt.target_host[0] == '\0')
		die("a tunnel needs -T target-ip:port");
	parse_hostport(argv[optind], host, sizeof(host), &port);
	opt.server.sin_family = AF_INET;
	opt.server.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &opt.server.sin_addr) != 1 ||
	    !loopback(opt.server.sin_addr))
		die("the server must be an address on 127.0.0.0/8");
	if (opt.tunnel != TUNNEL_NONE) {
		struct in_addr t;

		if (inet_pton(AF_INET, opt.target_host, &t) != 1 ||
		    !loopback(t))
			die("the tunnel target must be on 127.0.0.0/8");
	}
	make_body();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	start = now_sec();
	for (i = 0; i < opt.sessions; i++)
		start_session(&sess[i]);
	while (open_sessions > 0) {
		int n = epoll_wait(epfd, evs, 256, 1000);

		if (now_sec() - start > opt.time_limit) {
			fprintf(stderr, "smtpload: time limit reached\n");
			break;
		}
		for (i = 0; i < n; i++) {
			struct sess *s = evs[i].data.ptr;

			if (s->fd < 0)
				continue;
			if (s->step == ST_CONNECTING) {
				on_connected(s);
				continue;
			}
			if ((evs[i].events & EPOLLOUT) &&
			    s->outoff < s->outlen && !flush_output(s)) {
				end_session(s, true);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(s);
		}
	}
	elapsed = now_sec() - start;
	printf("messages=%ld errors=%ld seconds=%.3f rate=%.1f\n",
	    messages_done, errors, elapsed,
	    elapsed > 0 ? (double)messages_done / elapsed : 0.0);
	return messages_done == opt.messages && errors == 0 ? 0 : 1;
}
