/*
 * Runs every golden SMTP transcript in $TRANSCRIPTS (smtp-*.txt) against
 * the emulator, twice: once with each burst of client lines fed in one
 * call, and once a byte at a time.
 *
 * Transcript format, one directive per line:
 *
 *   # text            a comment; blank lines are ignored too
 *   @personality P    the personality (postfix, sendmail, exim)
 *   @hostname H       the host name it greets as
 *   @client IP        the client address (a live run sends it in PROXY v1)
 *   @now SECONDS      the clock, for dates and queue ids (unit runs only)
 *   @store MODE       ok (default); fail: the store fails later (451);
 *                     refuse: the store fails at once (451)
 *   @budget BYTES     the body memory budget (default: none)
 *   @starttls off     the host cannot do TLS, so STARTTLS is not offered
 *   @auth-accept U:P  AUTH with user U and password P succeeds (235);
 *                     may be repeated
 *   C: text           the client sends text and CRLF
 *   C| text           the client sends text with escapes \r \n \t \\ \xHH
 *                     and nothing added
 *   C+ N text         the client sends text (escapes as C|) N times
 *   S: text           the next reply line is exactly text (CRLF removed)
 *   S+ N text         the next N reply lines are each exactly text
 *   S~ regex          the next reply line matches the POSIX extended
 *                     regex, anchored at both ends
 *   T: idle|total     the idle or the total timeout fires
 *   TLS               the server has asked for the TLS handshake; the
 *                     runner completes it (client bytes sent after
 *                     STARTTLS in the same burst are discarded, as the
 *                     host must)
 *   A: text           the next AUTH attempt the host saw was exactly
 *                     text: the mechanism, then user=, password=,
 *                     digest=, challenge= and failure= for each field
 *                     set, separated by single spaces
 *   X                 the server has closed, with no reply left unread
 *
 * Consecutive client lines are sent together, so a burst of C lines
 * followed by S lines tests pipelining.  Every reply must be matched by
 * an S line: replies left over at the end fail the transcript.  The
 * same files drive a live sensor through tests/integration/transcript.py,
 * which skips those that use @store, @budget, @starttls, @auth-accept,
 * T, TLS or A.
 */
#include <dirent.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp.h"

#define TRANSCRIPTS_MAX 256
#define PATH_LEN        1024
#define ACCEPTS_MAX     8
#define ATTEMPTS_MAX    16
#define ATTEMPT_LEN     1024

enum store_mode { STORE_OK, STORE_FAIL, STORE_REFUSE };

struct run {
	const char *path;
	size_t chunk; /* bytes per smtp_input call, 0 for all */
	int lineno;

	const struct smtp_personality *p;
	char hostname[256];
	char client[64];
	int64_t now;
	enum store_mode store;
	long budget; /* -1: unlimited */
	long reserved;

	struct smtp_session *s;
	char *pending; /* client bytes not yet fed */
	size_t pending_len;
	size_t pending_cap;
	char *out; /* reply bytes not yet matched */
	size_t out_len;
	int stored;

	bool no_starttls;
	bool tls_pending; /* SMTP_STARTTLS seen, TLS not yet run */
	char accepts[ACCEPTS_MAX][256]; /* "user:password" */
	int naccepts;
	char attempts[ATTEMPTS_MAX][ATTEMPT_LEN]; /* not yet matched */
	int nattempts;
};

static void
append_field(char *out, const char *key, const char *value)
{
	size_t len = strlen(out);

	if (value != NULL)
		snprintf(out + len, ATTEMPT_LEN - len, " %s=%s", key, value);
}

/* Record the attempt for an A: line; accept the configured pairs. */
static bool
host_auth(void *ctx, const struct smtp_auth *a)
{
	struct run *r = ctx;
	char *out;

	if (r->nattempts == ATTEMPTS_MAX)
		fail_msg("%s: more than %d AUTH attempts unmatched", r->path,
		    ATTEMPTS_MAX);
	out = r->attempts[r->nattempts++];
	snprintf(out, ATTEMPT_LEN, "%s", a->mechanism);
	append_field(out, "user", a->user);
	append_field(out, "password", a->password);
	append_field(out, "digest", a->digest);
	append_field(out, "challenge", a->challenge);
	append_field(out, "failure", a->failure);
	for (int i = 0; i < r->naccepts; i++) {
		const char *colon = strchr(r->accepts[i], ':');
		size_t ulen = (size_t)(colon - r->accepts[i]);

		if (strlen(a->user) != ulen ||
		    strncmp(a->user, r->accepts[i], ulen) != 0)
			continue;
		if (a->password != NULL && strcmp(a->password, colon + 1) == 0)
			return true;
		if (a->digest != NULL && a->challenge != NULL &&
		    strcmp(a->mechanism, "CRAM-MD5") == 0 &&
		    smtp_cram_md5_matches(a->challenge, colon + 1, a->digest))
			return true;
	}
	return false;
}

static void
host_send(void *ctx, const char *buf, size_t len)
{
	struct run *r = ctx;

	r->out = realloc(r->out, r->out_len + len);
	assert_non_null(r->out);
	memcpy(r->out + r->out_len, buf, len);
	r->out_len += len;
}

static int
host_store(void *ctx, const struct smtp_envelope *env)
{
	struct run *r = ctx;

	assert_non_null(env->queue_id);
	r->stored++;
	return r->store == STORE_REFUSE ? -1 : 0;
}

static bool
host_reserve(void *ctx, long bytes)
{
	struct run *r = ctx;

	if (r->budget >= 0 && bytes > 0 && r->reserved + bytes > r->budget)
		return false;
	r->reserved += bytes;
	return true;
}

static int64_t
host_now(void *ctx)
{
	return ((struct run *)ctx)->now;
}

static void
append_pending(struct run *r, const char *buf, size_t len)
{
	if (r->pending_len + len > r->pending_cap) {
		r->pending_cap = 2 * (r->pending_len + len);
		r->pending = realloc(r->pending, r->pending_cap);
		assert_non_null(r->pending);
	}
	memcpy(r->pending + r->pending_len, buf, len);
	r->pending_len += len;
}

/* Decode the escapes of a C| or C+ line into out; returns the length. */
static size_t
unescape(const char *in, char *out)
{
	size_t n = 0;

	while (*in != '\0') {
		if (*in != '\\' || in[1] == '\0') {
			out[n++] = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 'r':
			out[n++] = '\r';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'x': {
			char hex[3] = {in[1], in[1] ? in[2] : 0, 0};

			out[n++] = (char)strtol(hex, NULL, 16);
			in += 2;
			break;
		}
		default:
			out[n++] = *in;
			break;
		}
		in++;
	}
	return n;
}

/* Feed what the client sent so far, storing whenever the session pauses. */
static void
flush(struct run *r)
{
	size_t off = 0;

	while (off < r->pending_len && !smtp_closed(r->s)) {
		size_t len = r->pending_len - off, used;
		enum smtp_status st;

		if (r->chunk > 0 && len > r->chunk)
			len = r->chunk;
		st = smtp_input(r->s, r->pending + off, len, &used);
		off += used;
		if (st == SMTP_PAUSED) {
			assert_int_equal(used <= len, 1);
			smtp_stored(r->s, r->store == STORE_OK);
		} else if (st == SMTP_STARTTLS) {
			/* Plaintext after STARTTLS must not be acted on. */
			r->tls_pending = true;
			break;
		} else if (st == SMTP_CONTINUE) {
			assert_int_equal(used, len);
		}
	}
	r->pending_len = 0;
}

/* Take the next reply line, which must end in CRLF. */
static char *
next_reply(struct run *r)
{
	char *crlf = NULL, *line;
	size_t n;

	for (size_t i = 0; i + 1 < r->out_len; i++)
		if (r->out[i] == '\r' && r->out[i + 1] == '\n') {
			crlf = r->out + i;
			break;
		}
	if (crlf == NULL) {
		fail_msg("%s:%d: expected a reply, got %s", r->path, r->lineno,
		    r->out_len ? "a partial line" : "none");
		return NULL;
	}
	n = (size_t)(crlf - r->out);
	line = malloc(n + 1);
	assert_non_null(line);
	memcpy(line, r->out, n);
	line[n] = '\0';
	assert_null(memchr(line, '\n', n));
	memmove(r->out, crlf + 2, r->out_len - n - 2);
	r->out_len -= n + 2;
	return line;
}

static void
expect_exact(struct run *r, const char *want)
{
	char *got = next_reply(r);

	if (strcmp(got, want) != 0)
		fail_msg("%s:%d: expected \"%s\", got \"%s\"", r->path,
		    r->lineno, want, got);
	free(got);
}

static void
expect_regex(struct run *r, const char *pattern)
{
	size_t size = strlen(pattern) + 5;
	char *anchored = malloc(size);
	regex_t re;
	char *got = next_reply(r);

	assert_non_null(anchored);
	snprintf(anchored, size, "^(%s)$", pattern);
	if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
		fail_msg("%s:%d: invalid regex", r->path, r->lineno);
	if (regexec(&re, got, 0, NULL, 0) != 0)
		fail_msg("%s:%d: expected /%s/, got \"%s\"", r->path, r->lineno,
		    pattern, got);
	regfree(&re);
	free(anchored);
	free(got);
}

static void
start_session(struct run *r)
{
	static struct smtp_host host = {
	    .send = host_send,
	    .store = host_store,
	    .reserve = host_reserve,
	    .now = host_now,
	    .auth = host_auth,
	};

	if (r->s != NULL)
		return;
	if (r->p == NULL)
		fail_msg("%s: @personality missing or unknown", r->path);
	host.ctx = r;
	host.starttls = !r->no_starttls;
	r->s = smtp_session_new(
	    r->p, r->hostname, r->client, &host, 0x5eed5eed5eedULL);
	smtp_greet(r->s);
}

static void
run_header(struct run *r, const char *key, const char *value)
{
	if (strcmp(key, "personality") == 0)
		r->p = smtp_personality_find(value);
	else if (strcmp(key, "hostname") == 0)
		snprintf(r->hostname, sizeof(r->hostname), "%s", value);
	else if (strcmp(key, "client") == 0)
		snprintf(r->client, sizeof(r->client), "%s", value);
	else if (strcmp(key, "now") == 0)
		r->now = strtoll(value, NULL, 10);
	else if (strcmp(key, "budget") == 0)
		r->budget = strtol(value, NULL, 10);
	else if (strcmp(key, "starttls") == 0 && strcmp(value, "off") == 0)
		r->no_starttls = true;
	else if (strcmp(key, "auth-accept") == 0 && strchr(value, ':') &&
	    r->naccepts < ACCEPTS_MAX)
		snprintf(r->accepts[r->naccepts++], sizeof(r->accepts[0]), "%s",
		    value);
	else if (strcmp(key, "store") == 0 && strcmp(value, "fail") == 0)
		r->store = STORE_FAIL;
	else if (strcmp(key, "store") == 0 && strcmp(value, "refuse") == 0)
		r->store = STORE_REFUSE;
	else if (strcmp(key, "store") != 0 || strcmp(value, "ok") != 0)
		fail_msg("%s:%d: unknown header @%s", r->path, r->lineno, key);
}

static void
run_client(struct run *r, char kind, const char *text)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 3);
	long count = 1;

	assert_non_null(buf);
	if (kind == ':') {
		memcpy(buf, text, len);
		memcpy(buf + len, "\r\n", 2);
		len += 2;
	} else {
		if (kind == '+') {
			char *end;

			count = strtol(text, &end, 10);
			text = *end == ' ' ? end + 1 : end;
		}
		len = unescape(text, buf);
	}
	for (long i = 0; i < count; i++)
		append_pending(r, buf, len);
	free(buf);
}

static void
run_line(struct run *r, char *line)
{
	if (line[0] == '#' || line[0] == '\0')
		return;
	if (line[0] == '@') {
		char *value = strchr(line, ' ');

		if (value == NULL)
			fail_msg(
			    "%s:%d: header without value", r->path, r->lineno);
		*value++ = '\0';
		run_header(r, line + 1, value);
		return;
	}
	start_session(r);
	if (line[0] == 'C' && strchr(":|+", line[1]) && line[1] != '\0') {
		run_client(r, line[1], line[2] == ' ' ? line + 3 : line + 2);
		return;
	}
	flush(r);
	if (strncmp(line, "S: ", 3) == 0)
		expect_exact(r, line + 3);
	else if (strcmp(line, "S:") == 0)
		expect_exact(r, "");
	else if (strncmp(line, "S+ ", 3) == 0) {
		char *text;
		long count = strtol(line + 3, &text, 10);

		for (long i = 0; i < count; i++)
			expect_exact(r, *text == ' ' ? text + 1 : text);
	} else if (strncmp(line, "S~ ", 3) == 0)
		expect_regex(r, line + 3);
	else if (strcmp(line, "T: idle") == 0 || strcmp(line, "T: total") == 0)
		smtp_timeout(r->s, line[3] == 't');
	else if (strcmp(line, "TLS") == 0) {
		if (!r->tls_pending)
			fail_msg(
			    "%s:%d: no STARTTLS pending", r->path, r->lineno);
		if (r->out_len != 0)
			fail_msg("%s:%d: replies unread before TLS", r->path,
			    r->lineno);
		r->tls_pending = false;
		smtp_tls_started(r->s);
	} else if (strncmp(line, "A: ", 3) == 0) {
		if (r->nattempts == 0)
			fail_msg(
			    "%s:%d: no AUTH attempt seen", r->path, r->lineno);
		if (strcmp(r->attempts[0], line + 3) != 0)
			fail_msg("%s:%d: expected attempt \"%s\", got \"%s\"",
			    r->path, r->lineno, line + 3, r->attempts[0]);
		r->nattempts--;
		memmove(r->attempts[0], r->attempts[1],
		    (size_t)r->nattempts * ATTEMPT_LEN);
	} else if (strcmp(line, "X") == 0) {
		if (!smtp_closed(r->s))
			fail_msg(
			    "%s:%d: session still open", r->path, r->lineno);
		if (r->out_len != 0)
			fail_msg("%s:%d: unread replies at close", r->path,
			    r->lineno);
	} else
		fail_msg("%s:%d: unknown directive \"%s\"", r->path, r->lineno,
		    line);
}

static void
run_file(const char *path, size_t chunk)
{
	struct run r = {.path = path, .chunk = chunk, .budget = -1};
	char line[65536];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fail_msg("cannot open %s", path);
	r.now = 1796400000;
	snprintf(r.hostname, sizeof(r.hostname), "mx.example.net");
	snprintf(r.client, sizeof(r.client), "192.0.2.1");
	while (fgets(line, sizeof(line), f) != NULL) {
		r.lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		run_line(&r, line);
	}
	fclose(f);
	start_session(&r);
	flush(&r);
	if (r.out_len != 0)
		fail_msg("%s: replies left unmatched: \"%.*s\"", path,
		    (int)r.out_len, r.out);
	if (r.nattempts != 0)
		fail_msg("%s: AUTH attempt left unmatched: \"%s\"", path,
		    r.attempts[0]);
	smtp_session_free(r.s);
	assert_int_equal(r.reserved, 0);
	free(r.pending);
	free(r.out);
}

static void
test_transcript(void **state)
{
	const char *path = *state;

	run_file(path, 0);
	run_file(path, 1);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	const char *dir = getenv("TRANSCRIPTS");
	struct CMUnitTest tests[TRANSCRIPTS_MAX];
	char *paths[TRANSCRIPTS_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0, rc;

	if (dir == NULL)
		dir = "transcripts";
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "cannot open transcript directory %s\n", dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < TRANSCRIPTS_MAX) {
		size_t len = strlen(de->d_name);

		if (strncmp(de->d_name, "smtp-", 5) != 0 || len < 4 ||
		    strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		paths[n] = malloc(PATH_LEN);
		snprintf(paths[n], PATH_LEN, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "no smtp-*.txt transcripts in %s\n", dir);
		return 1;
	}
	qsort(paths, (size_t)n, sizeof(paths[0]), compare_names);
	for (int i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){
		    .name = strrchr(paths[i], '/') + 1,
		    .test_func = test_transcript,
		    .initial_state = paths[i],
		};
	rc = _cmocka_run_group_tests(
	    "transcripts", tests, (size_t)n, NULL, NULL);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	return rc;
}
