/*
 * Ingest: read events files of a spool and store their rows, and record
 * where each body is in the spool's packs.
 *
 * The spool is trusted no more than the peers whose bytes it records: a
 * line may be cut, overlong, not JSON, or carry values of the wrong type,
 * and each such line is counted, reported and skipped.  Rows are stored
 * in transactions of a few MiB of input, each of which also records the
 * offset just past the last complete line read in every file it
 * touched.  A run that dies part way thus leaves the database as if the
 * open transaction had never begun, and the next run reads those lines
 * again.  Rows are keyed so that a line read twice adds nothing, and
 * rollups grow only when a row was really added.  Packs are read the
 * same way, whole records only, and a header that is not one ends the
 * reading of its pack.
 */
#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bodypack.h"
#include "commands.h"
#include "enrich.h"
#include "osmatch.h"
#include "p0f.h"
#include "spampot_limits.h"
#include "util.h"

/*
 * Bytes of events stored per transaction, across files.  Each commit
 * rewrites the index and rollup pages it touched, so larger chunks
 * write less: at 4 MiB a run wrote about four times the size of the
 * database.  64 MiB is roughly 45,000 messages, which a crash makes
 * the next run read again in a few seconds.
 */
#define INGEST_CHUNK_BYTES (64 * 1024 * 1024)

/* Page cache of an ingest, in KiB: a chunk's dirty pages and more. */
#define INGEST_CACHE_KIB (256 * 1024)

/* Bytes of WAL after which a commit checkpoints. */
#define INGEST_CHECKPOINT_BYTES (256 * 1024 * 1024)

/* Bytes read from a file at a time. */
#define INGEST_READ_BYTES (256 * 1024)

/* Bad lines reported one by one per file; the rest are only counted. */
#define INGEST_BAD_REPORT_MAX 20

/*
 * Addresses, and bodies per sensor, remembered as already stored.  A
 * set of this many keys has at most 2^17 slots of 56 bytes, 7 MiB.  A
 * full set is emptied, which costs only repeated inserts.
 */
#define INGEST_KNOWN_KEYS_MAX (1 << 16)

/*
 * Batches parsed at once by worker threads.  With the storing thread,
 * two parsers keep two cores busy whichever step is slower.
 */
#define INGEST_PARSERS 2

/* Sensor names whose ids are cached during one run. */
#define SENSOR_CACHE_MAX 32

/* Line reader. */

void
line_reader_init(struct line_reader *r, uint64_t offset, uint64_t line_no)
{
	memset(r, 0, sizeof(*r));
	r->offset = offset;
	r->line_no = line_no;
}

void
line_reader_free(struct line_reader *r)
{
	free(r->partial);
	r->partial = NULL;
}

/* Keep the unfinished tail of a feed, or only its length once overlong. */
static void
keep_partial(struct line_reader *r, const char *p, size_t n)
{
	if (r->skipped > 0 || r->partial_len + n > INGEST_LINE_MAX) {
		r->skipped += r->partial_len + n;
		r->partial_len = 0;
		return;
	}
	if (r->partial == NULL)
		r->partial = xmalloc(INGEST_LINE_MAX);
	memcpy(r->partial + r->partial_len, p, n);
	r->partial_len += n;
}

int
line_reader_feed(
    struct line_reader *r, const char *data, size_t len, line_fn fn, void *arg)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p;
		size_t n, total;

		if (nl == NULL) {
			keep_partial(r, p, (size_t)(end - p));
			return 0;
		}
		n = (size_t)(nl - p);
		total = r->skipped + r->partial_len + n;
		if (r->skipped == 0 && r->partial_len > 0 &&
		    total <= INGEST_LINE_MAX) {
			memcpy(r->partial + r->partial_len, p, n);
			line = r->partial;
		}
		if (total > INGEST_LINE_MAX)
			line = NULL;
		r->line_no++;
		r->offset += total + 1;
		r->skipped = 0;
		r->partial_len = 0;
		p = nl + 1;
		if (fn(arg, line, total, r->line_no, r->offset) < 0)
			return -1;
	}
	return 0;
}

/*
 * Memory for the JSON trees a parse worker builds.  Jansson makes a few
 * dozen small allocations per line, and malloc and free, across
 * threads, took about as long as the parsing itself (perf, 100,000
 * generated messages).  A worker therefore takes them from large
 * blocks, and a batch drops its blocks at once.  Outside a worker,
 * allocations go to malloc as usual.
 */
struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
};

#define ARENA_BLOCK_BYTES (1024 * 1024)

static _Thread_local struct arena *parse_arena;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void *
json_alloc(size_t n)
{
	struct arena *a = parse_arena;
	struct arena_block *blk;
	void *p;

	if (a == NULL)
		return malloc(n);
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	blk = a->head;
	if (blk == NULL || blk->cap - blk->used < n) {
		size_t cap = n > ARENA_BLOCK_BYTES ? n : ARENA_BLOCK_BYTES;

		if ((blk = malloc(sizeof(*blk) + cap)) == NULL)
			return NULL;
		blk->next = a->head;
		blk->used = 0;
		blk->cap = cap;
		a->head = blk;
	}
	p = (char *)blk->data + blk->used;
	blk->used += n;
	return p;
}

/* Arena memory is released with its batch, never one block at a time. */
static void
json_free(void *p)
{
	if (parse_arena == NULL)
		free(p);
}

static void
arena_release(struct arena *a)
{
	struct arena_block *blk, *next;

	for (blk = a->head; blk != NULL; blk = next) {
		next = blk->next;
		free(blk);
	}
	a->head = NULL;
}

static void
use_arena_allocator(void)
{
	json_set_alloc_funcs(json_alloc, json_free);
}

/* Event mapper. */

enum field_type {
	F_TEXT,   /* string */
	F_TIME,   /* RFC 3339 UTC string */
	F_IP,     /* IPv4 or IPv6 address, stored in canonical text */
	F_PORT,   /* integer 0-65535 */
	F_COUNT,  /* integer >= 0 */
	F_BOOL,   /* true or false, stored as 1 or 0 */
	F_LIST,   /* array of strings, stored as compact JSON text */
	F_SHA256, /* 64 lowercase hex digits */
};

#define KIND(k) (1u << (k))
/* The sensor gives a rejected connection no session id. */
#define IN_SESSION                                                             \
	(~(KIND(EVENT_SENSOR_START) | KIND(EVENT_SENSOR_STOP) |                \
	    KIND(EVENT_SESSION_REJECTED)))
#define ALL_KINDS (~0u)
#define FROM_SOURCE                                                            \
	(KIND(EVENT_SESSION_START) | KIND(EVENT_SESSION_REJECTED) |            \
	    KIND(EVENT_MESSAGE_STORED))

/* A key of the event object, where it goes and for which kinds it must be. */
struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	unsigned required; /* KIND() bits */
};

#define AT(member) offsetof(struct event, member)

static const struct field fields[] = {
    {"@timestamp", F_TIME, AT(timestamp), ALL_KINDS},
    {"sensor.name", F_TEXT, AT(sensor), 0},
    {"sensor.version", F_TEXT, AT(sensor_version), 0},
    {"session.id", F_TEXT, AT(session_id), IN_SESSION},
    {"source.ip", F_IP, AT(source_ip), FROM_SOURCE},
    {"source.port", F_PORT, AT(source_port), 0},
    {"source.os.signature", F_TEXT, AT(os_signature), 0},
    {"relay.ip", F_IP, AT(relay_ip), 0},
    {"destination.ip", F_IP, AT(destination_ip), 0},
    {"destination.port", F_PORT, AT(destination_port), FROM_SOURCE},
    {"listener.port", F_PORT, AT(listener_port), 0},
    {"listener.service", F_TEXT, AT(listener_service), 0},
    {"event.reason", F_TEXT, AT(reason), 0},
    {"event.outcome", F_TEXT, AT(outcome), 0},
    {"proxy.protocol", F_TEXT, AT(protocol), 0},
    {"proxy.command", F_TEXT, AT(command), 0},
    {"proxy.target", F_TEXT, AT(target), 0},
    {"proxy.target.host", F_TEXT, AT(target_host), 0},
    {"proxy.target.port", F_PORT, AT(target_port), 0},
    {"proxy.user", F_TEXT, AT(proxy_user), 0},
    {"url.full", F_TEXT, AT(url), 0},
    {"user.name", F_TEXT, AT(user_name), 0},
    {"user.password", F_TEXT, AT(password), 0},
    {"message.sha256", F_SHA256, AT(sha256), 0},
    {"message.size", F_COUNT, AT(size), 0},
    {"message.seq", F_COUNT, AT(seq), KIND(EVENT_MESSAGE_STORED)},
    {"smtp.queue_id", F_TEXT, AT(queue_id), 0},
    {"smtp.helo", F_TEXT, AT(helo), 0},
    {"smtp.esmtp", F_BOOL, AT(esmtp), 0},
    {"smtp.mail_from", F_TEXT, AT(mail_from), 0},
    {"smtp.rcpt_to", F_LIST, AT(rcpt_json), 0},
    {"smtp.rcpt_count", F_COUNT, AT(rcpt_count), KIND(EVENT_MESSAGE_STORED)},
    {"smtp.personality", F_TEXT, AT(personality), 0},
    {"network.bytes_in", F_COUNT, AT(bytes_in), 0},
    {"network.bytes_out", F_COUNT, AT(bytes_out), 0},
    {"session.duration_ms", F_COUNT, AT(duration_ms), 0},
    {"smtp.messages", F_COUNT, AT(messages), 0},
    {"smtp.auth.mechanism", F_TEXT, AT(auth_mechanism), KIND(EVENT_SMTP_AUTH)},
    {"smtp.auth.challenge", F_TEXT, AT(auth_challenge), 0},
    {"user.password_digest", F_TEXT, AT(password_digest), 0},
    {"tls.version", F_TEXT, AT(tls_version), 0},
    {"tls.cipher", F_TEXT, AT(tls_cipher), 0},
    {"message.probe", F_BOOL, AT(probe), 0},
    {"message.probe_reason", F_TEXT, AT(probe_reason), 0},
    {"message.probe_relay", F_TEXT, AT(probe_relay), 0},
    {"proxy.probe", F_BOOL, AT(probe), 0},
    {"proxy.hops", F_COUNT, AT(hops), 0},
    {"proxy.chain", F_LIST, AT(chain_json), 0},
    {"http.via_tunnel", F_BOOL, AT(via_tunnel), 0},
    {"http.request.header_count", F_COUNT, AT(header_count), 0},
    {"http.request.headers", F_LIST, AT(headers_json), 0},
    {"http.request.body", F_TEXT, AT(http_body), 0},
    {"http.request.body_size", F_COUNT, AT(body_size), 0},
    {"http.request.body_truncated", F_BOOL, AT(body_truncated), 0},
    {"http.request.body_sha256", F_SHA256, AT(http_body_sha256), 0},
    {"tunnel.bytes", F_COUNT, AT(tunnel_bytes), 0},
    {"tunnel.first_bytes", F_TEXT, AT(tunnel_first_bytes), 0},
    {"tls.client.server_name", F_TEXT, AT(tls_server_name), 0},
};

static const struct {
	const char *name;
	enum event_kind kind;
} actions[] = {
    {"session.start", EVENT_SESSION_START},
    {"session.rejected", EVENT_SESSION_REJECTED},
    {"proxy.auth", EVENT_PROXY_AUTH},
    {"smtp.auth", EVENT_SMTP_AUTH},
    {"proxy.request", EVENT_PROXY_REQUEST},
    {"proxy.tunnel", EVENT_PROXY_TUNNEL},
    {"message.stored", EVENT_MESSAGE_STORED},
    {"session.end", EVENT_SESSION_END},
    {"sensor.start", EVENT_SENSOR_START},
    {"sensor.stop", EVENT_SENSOR_STOP},
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Parse the YYYY-MM-DD at the start of s into days since 1970-01-01. */
static int
parse_date(const char *s, int64_t *days)
{
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d;
	bool leap;

	if (strnlen(s, 10) < 10 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d))
		return -1;
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap))
		return -1;
	*days = days_from_civil(y, mo, d);
	return 0;
}

int
parse_day(const char *s, int64_t *days)
{
	return strlen(s) == 10 ? parse_date(s, days) : -1;
}

/* Parse YYYY-MM-DDTHH:MM:SS[.fraction]Z, the form the sensor writes. */
static int
parse_timestamp(const char *s, int64_t *usec, char day[11])
{
	int h, mi, sec, frac = 0, scale = 100000;
	int64_t days;
	const char *p;

	if (parse_date(s, &days) < 0 || strnlen(s, 20) < 20 ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec) || h > 23 || mi > 59 || sec > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			frac += scale * (*p - '0');
			scale /= 10;
		}
		if (p == s + 20)
			return -1;
	}
	if ((*p != 'Z' && *p != 'z') || p[1] != '\0')
		return -1;
	*usec = (days * 86400 + h * 3600 + mi * 60 + sec) * 1000000 + frac;
	memcpy(day, s, 10);
	day[10] = '\0';
	return 0;
}

/*
 * One value of the event object, read by jansson (j set) or by
 * flat_parse() (j NULL, and a list is already its compact text).
 */
struct value {
	enum {
		V_ABSENT,
		V_NULL,
		V_STRING,
		V_INTEGER,
		V_BOOL,
		V_LIST,
		V_OTHER
	} type;
	const char *s; /* string, or a list's compact text */
	int64_t n;     /* integer or boolean */
	json_t *j;
};

static void
value_of_json(json_t *j, struct value *v)
{
	v->j = j;
	v->s = json_string_value(j);
	v->n = json_integer_value(j);
	if (json_is_null(j))
		v->type = V_NULL;
	else if (v->s != NULL)
		v->type = V_STRING;
	else if (json_is_integer(j))
		v->type = V_INTEGER;
	else if (json_is_boolean(j)) {
		v->type = V_BOOL;
		v->n = json_is_true(j);
	} else
		v->type = json_is_array(j) ? V_LIST : V_OTHER;
}

/* A jansson array of strings as compact JSON text, or NULL. */
static char *
dump_list(json_t *j)
{
	size_t i;

	for (i = 0; i < json_array_size(j); i++)
		if (!json_is_string(json_array_get(j, i)))
			return NULL;
	return json_dumps(j, JSON_COMPACT);
}

/* Store one value of type f->type into ev; returns 0 or -1 if invalid. */
static int
map_field(const struct field *f, const struct value *v, struct event *ev)
{
	char *slot = (char *)ev + f->offset;
	const char *s = v->type == V_STRING ? v->s : NULL;
	unsigned char addr[16];

	switch (f->type) {
	case F_TEXT:
		if (s == NULL)
			return -1;
		*(const char **)slot = s;
		return 0;
	case F_TIME:
		if (s == NULL || parse_timestamp(s, &ev->usec, ev->day) < 0)
			return -1;
		*(const char **)slot = s;
		return 0;
	case F_IP:
		if (s == NULL)
			return -1;
		if (inet_pton(AF_INET, s, addr) == 1)
			inet_ntop(AF_INET, addr, slot, INET6_ADDRSTRLEN);
		else if (inet_pton(AF_INET6, s, addr) == 1)
			inet_ntop(AF_INET6, addr, slot, INET6_ADDRSTRLEN);
		else
			return -1;
		return 0;
	case F_PORT:
		if (v->type != V_INTEGER || v->n < 0 || v->n > 65535)
			return -1;
		*(int64_t *)slot = v->n;
		return 0;
	case F_COUNT:
		if (v->type != V_INTEGER || v->n < 0)
			return -1;
		*(int64_t *)slot = v->n;
		return 0;
	case F_BOOL:
		if (v->type != V_BOOL)
			return -1;
		*(int64_t *)slot = v->n;
		return 0;
	case F_LIST:
		if (v->type != V_LIST)
			return -1;
		if (v->j == NULL)
			*(const char **)slot = v->s;
		else
			*(char **)slot = dump_list(v->j);
		return *(char **)slot != NULL ? 0 : -1;
	case F_SHA256:
		if (s == NULL || strlen(s) != 64 ||
		    strspn(s, "0123456789abcdef") != 64)
			return -1;
		*(const char **)slot = s;
		return 0;
	}
	abort();
}

static const char *const type_names[] = {
    [F_TEXT] = "a string",
    [F_TIME] = "an RFC 3339 UTC time",
    [F_IP] = "an IP address",
    [F_PORT] = "a port number",
    [F_COUNT] = "a non-negative integer",
    [F_BOOL] = "true or false",
    [F_LIST] = "an array of strings",
    [F_SHA256] = "a lowercase hex SHA-256",
};

static void
event_clear(struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->source_port = ev->destination_port = ev->listener_port = -1;
	ev->target_port = ev->esmtp = ev->size = ev->seq = -1;
	ev->rcpt_count = ev->bytes_in = ev->bytes_out = -1;
	ev->duration_ms = ev->messages = -1;
	ev->probe = ev->hops = ev->via_tunnel = ev->header_count = -1;
	ev->body_size = ev->body_truncated = ev->tunnel_bytes = -1;
}

static int
find_kind(const char *action, enum event_kind *kind)
{
	size_t i;

	if (action == NULL)
		return -1;
	for (i = 0; i < NELEM(actions); i++) {
		if (strcmp(actions[i].name, action) == 0) {
			*kind = actions[i].kind;
			return 0;
		}
	}
	return -1;
}

/*
 * The fields in key order, so that each key of a line is looked up once
 * by bisection rather than each of the many fields hashed into every
 * line's object.
 */
static unsigned char field_order[NELEM(fields)];
static pthread_once_t field_order_once = PTHREAD_ONCE_INIT;

static int
field_key_cmp(const void *a, const void *b)
{
	return strcmp(fields[*(const unsigned char *)a].key,
	    fields[*(const unsigned char *)b].key);
}

static void
sort_fields(void)
{
	size_t i;

	for (i = 0; i < NELEM(fields); i++)
		field_order[i] = (unsigned char)i;
	qsort(
	    field_order, NELEM(fields), sizeof(field_order[0]), field_key_cmp);
}

/* The index in fields[] of key, or -1 if it is not one of ours. */
static int
find_field(const char *key)
{
	size_t lo = 0, hi = NELEM(fields);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(key, fields[field_order[mid]].key);

		if (c == 0)
			return field_order[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * The flat reader.  The sensor writes one-level objects of plain ASCII
 * strings, small integers, booleans and arrays of strings, and building
 * a jansson tree for each line took most of an ingest's CPU.  This
 * reader takes only that shape, in place in a copy of the line: a
 * string's closing quote becomes its NUL, and a list is rewritten as
 * its compact text from the ':' before it, so the text never overtakes
 * the bytes still to read.  On anything else (an escape, a byte outside
 * printable ASCII, a fraction, a nested object, a repeated field, bad
 * syntax) it gives up and jansson reads the line, so both accept the
 * same lines, give the same values and report the same faults.
 */
static char *
skip_space(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* The closing quote of the plain string that starts after p, or NULL. */
static char *
plain_string(char *p)
{
	for (p++; *p != '"'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '\\')
			return NULL;
	return p;
}

static char *
flat_list(char *p, char *w, struct value *v)
{
	char *q;

	v->type = V_LIST;
	v->s = w;
	*w++ = '[';
	p = skip_space(p + 1);
	if (*p == ']')
		p++;
	else
		for (;;) {
			if (*p != '"' || (q = plain_string(p)) == NULL)
				return NULL;
			memmove(w, p, (size_t)(q + 1 - p));
			w += q + 1 - p;
			p = skip_space(q + 1);
			if (*p == ']') {
				p++;
				break;
			}
			if (*p != ',')
				return NULL;
			*w++ = ',';
			p = skip_space(p + 1);
		}
	*w++ = ']';
	*w = '\0';
	return p;
}

/* Integers of up to 18 digits, which fit an int64_t; no sign. */
#define FLAT_DIGITS_MAX 18

static char *
flat_number(char *p, struct value *v)
{
	int n;

	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return NULL;
	v->type = V_INTEGER;
	v->n = 0;
	for (n = 0; *p >= '0' && *p <= '9'; n++, p++) {
		if (n == FLAT_DIGITS_MAX)
			return NULL;
		v->n = v->n * 10 + (*p - '0');
	}
	if (n == 0 || *p == '.' || *p == 'e' || *p == 'E')
		return NULL;
	return p;
}

/* Read the value at p into v; w is where a list's text may go. */
static char *
flat_value(char *p, char *w, struct value *v)
{
	static const struct {
		const char *word;
		int type;
		int64_t n;
	} words[] = {
	    {"true", V_BOOL, 1},
	    {"false", V_BOOL, 0},
	    {"null", V_NULL, 0},
	};
	char *q;
	size_t i;

	if (*p == '"') {
		if ((q = plain_string(p)) == NULL)
			return NULL;
		*q = '\0';
		v->type = V_STRING;
		v->s = p + 1;
		return q + 1;
	}
	if (*p == '[')
		return flat_list(p, w, v);
	for (i = 0; i < NELEM(words); i++) {
		size_t n = strlen(words[i].word);

		if (strncmp(p, words[i].word, n) == 0) {
			v->type = words[i].type;
			v->n = words[i].n;
			return p + n;
		}
	}
	return flat_number(p, v);
}

/* Returns 0, or -1 when the line is for jansson to read. */
static int
flat_parse(char *t, size_t len, struct value *values, const char **action,
    struct value *reply)
{
	struct value v, *slot;
	char *p = skip_space(t), *q, *colon;
	int idx;

	if (*p != '{')
		return -1;
	p = skip_space(p + 1);
	for (;;) {
		if (*p != '"' || (q = plain_string(p)) == NULL)
			return -1;
		*q = '\0';
		colon = skip_space(q + 1);
		if (*colon != ':')
			return -1;
		memset(&v, 0, sizeof(v));
		if ((q = flat_value(skip_space(colon + 1), colon, &v)) == NULL)
			return -1;
		if (strcmp(p + 1, "event.action") == 0) {
			if (*action != NULL || v.type != V_STRING)
				return -1;
			*action = v.s;
		} else if (strcmp(p + 1, "proxy.reply") == 0) {
			if (reply->type != V_ABSENT)
				return -1;
			*reply = v;
		} else if ((idx = find_field(p + 1)) >= 0) {
			slot = &values[idx];
			if (slot->type != V_ABSENT)
				return -1;
			*slot = v;
		}
		p = skip_space(q);
		if (*p == '}')
			break;
		if (*p != ',')
			return -1;
		p = skip_space(p + 1);
	}
	p = skip_space(p + 1);
	return p == t + len ? 0 : -1;
}

/*
 * Replace the string value of key in root, which contains NUL bytes, with
 * a copy where each NUL is U+2400 SYMBOL FOR NULL.  The database and
 * its readers handle text as C strings, which would end at the first
 * NUL and hide what a peer sent after it.  Returns the new value, or j
 * when there is no memory for the copy.
 */
static json_t *
nul_made_visible(json_t *root, const char *key, json_t *j)
{
	static const char symbol[] = "\xe2\x90\x80";
	const char *s = json_string_value(j);
	size_t len = json_string_length(j), i, n = 0;
	json_t *copy;
	char *buf;

	if ((buf = malloc(3 * len + 1)) == NULL)
		return j;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0') {
			memcpy(buf + n, symbol, 3);
			n += 3;
		} else {
			buf[n++] = s[i];
		}
	}
	copy = json_stringn(buf, n);
	free(buf);
	if (copy == NULL || json_object_set_new(root, key, copy) < 0)
		return j;
	return copy;
}

/* Read the line with jansson into ev->root and values. */
static int
tree_parse(const char *line, size_t len, struct event *ev, struct value *values,
    const char **action, struct value *reply, char *err, size_t errlen)
{
	json_t *r;

	json_error_t jerr;
	const char *key;
	json_t *j;
	int idx;

	/* Peer strings may hold NUL, which the sensor writes as \u0000. */
	ev->root = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (ev->root == NULL) {
		bufprintf(err, errlen, "invalid JSON at column %d: %s",
		    jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(ev->root)) {
		bufprintf(err, errlen, "not a JSON object");
		return -1;
	}
	*action = json_string_value(json_object_get(ev->root, "event.action"));
	if ((r = json_object_get(ev->root, "proxy.reply")) != NULL)
		value_of_json(r, reply);
	json_object_foreach(ev->root, key, j)
	{
		if ((idx = find_field(key)) < 0)
			continue;
		if (json_is_string(j) && memchr(json_string_value(j), '\0',
		    json_string_length(j)) != NULL)
			j = nul_made_visible(ev->root, key, j);
		value_of_json(j, &values[idx]);
	}
	return 0;
}

int
event_parse(
    const char *line, size_t len, struct event *ev, char *err, size_t errlen)
{
	struct value values[NELEM(fields)], reply;
	const char *action = NULL;
	size_t i;

	event_clear(ev);
	ev->in_arena = parse_arena != NULL;
	pthread_once(&field_order_once, sort_fields);
	memset(values, 0, sizeof(values));
	memset(&reply, 0, sizeof(reply));
	if ((ev->text = json_alloc(len + 1)) == NULL) {
		bufprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(ev->text, line, len);
	ev->text[len] = '\0';
	if (flat_parse(ev->text, len, values, &action, &reply) < 0) {
		json_free(ev->text);
		ev->text = NULL;
		action = NULL;
		memset(values, 0, sizeof(values));
		memset(&reply, 0, sizeof(reply));
		if (tree_parse(line, len, ev, values, &action, &reply, err,
			errlen) < 0)
			goto fail;
	}
	/* A proxy's reply is its status code or, failing that, its text. */
	ev->has_reply_code = reply.type == V_INTEGER;
	ev->reply_code = reply.n;
	ev->reply_text = reply.type == V_STRING ? reply.s : NULL;
	if (find_kind(action, &ev->kind) < 0) {
		bufprintf(err, errlen, "missing or unknown event.action");
		goto fail;
	}
	/* Checked in table order, so the first fault named is stable. */
	for (i = 0; i < NELEM(fields); i++) {
		const struct field *f = &fields[i];
		const struct value *v = &values[i];

		if (v->type == V_ABSENT || v->type == V_NULL) {
			if (f->required & KIND(ev->kind)) {
				bufprintf(err, errlen, "missing %s", f->key);
				goto fail;
			}
			continue;
		}
		if (map_field(f, v, ev) < 0) {
			bufprintf(err, errlen, "%s is not %s", f->key,
			    type_names[f->type]);
			goto fail;
		}
	}
	return 0;
fail:
	event_free(ev);
	return -1;
}

void
event_free(struct event *ev)
{
	/* Lists of the flat reader point into its text. */
	if (!ev->in_arena && ev->text != NULL)
		free(ev->text);
	else if (!ev->in_arena) {
		json_decref(ev->root);
		free(ev->rcpt_json);
		free(ev->chain_json);
		free(ev->headers_json);
	}
	event_clear(ev);
}

/* Rollups, summed in memory per chunk and added to the tables at commit. */

enum rollup_sum {
	SUM_MESSAGES,
	SUM_RECIPIENTS,
	SUM_CONNECTIONS,
	SUM_BYTES_IN,
	SUM_BYTES_OUT,
	SUM_PROBES,
	SUM_JUDGE_CHECKS,
	SUM_COUNT
};

/* Zeroed before it is filled, so it can be hashed and compared as bytes. */
struct rollup_key {
	int64_t minute;
	int64_t sensor_id;
	int64_t port;
	char day[11];
	char ip[INET6_ADDRSTRLEN];
};

struct rollup_slot {
	bool used;
	struct rollup_key key;
	int64_t sums[SUM_COUNT];
};

struct rollup_table {
	struct rollup_slot *slots;
	size_t cap; /* a power of two */
	size_t count;
	struct rollup_slot *last; /* the slot found last, or NULL */
};

/*
 * A multiplicative hash taken eight bytes at a time: every message
 * hashes several rollup keys of about 90 bytes, which FNV-1a, a byte
 * at a time, made a few per cent of an ingest's CPU.
 */
static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull, w;

	for (; n >= sizeof(w); n -= sizeof(w), b += sizeof(w)) {
		memcpy(&w, b, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; n > 0; n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static struct rollup_slot *
rollup_probe(
    struct rollup_slot *slots, size_t cap, const struct rollup_key *key)
{
	size_t i = hash_bytes(key, sizeof(*key)) & (cap - 1);

	while (slots[i].used && memcmp(&slots[i].key, key, sizeof(*key)) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void
rollup_grow(struct rollup_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024, i;
	struct rollup_slot *slots = xcalloc(cap, sizeof(*slots));

	for (i = 0; i < t->cap; i++)
		if (t->slots[i].used)
			*rollup_probe(slots, cap, &t->slots[i].key) =
			    t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	t->last = NULL;
}

static int64_t *
rollup_sums(struct rollup_table *t, const struct rollup_key *key)
{
	struct rollup_slot *s;

	/* Events of one session follow one another and share their keys. */
	if (t->last != NULL && memcmp(&t->last->key, key, sizeof(*key)) == 0)
		return t->last->sums;
	if (2 * (t->count + 1) > t->cap)
		rollup_grow(t);
	s = rollup_probe(t->slots, t->cap, key);
	if (!s->used) {
		s->used = true;
		s->key = *key;
		t->count++;
	}
	t->last = s;
	return s->sums;
}

static void
rollup_clear(struct rollup_table *t)
{
	if (t->count > 0)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->count = 0;
	t->last = NULL;
}

/*
 * Keys of rows known to be stored, so that most events skip the INSERT
 * OR IGNORE of a row that is already there.  Emptied when it reaches
 * INGEST_KNOWN_KEYS_MAX, which costs only repeated inserts, and when a
 * transaction is rolled back, whose rows it may name.  Keys are kept in
 * the slots, zero-padded, so that a lookup reads one slot and no
 * string elsewhere: there is a lookup per message.
 */
#define KNOWN_KEY_BYTES 48

struct known_key {
	uint64_t hash; /* 0 in an empty slot */
	unsigned char key[KNOWN_KEY_BYTES];
};

struct key_set {
	struct known_key *slots;
	size_t cap; /* a power of two */
	size_t count;
	const struct known_key *last; /* the slot added or found last */
};

static void
key_set_clear(struct key_set *t)
{
	if (t->count > 0)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->count = 0;
	t->last = NULL;
}

static struct known_key *
key_set_find(
    struct known_key *slots, size_t cap, const unsigned char *key, uint64_t h)
{
	size_t i = h & (cap - 1);

	while (slots[i].hash != 0 &&
	    (slots[i].hash != h ||
		memcmp(slots[i].key, key, KNOWN_KEY_BYTES) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Add a key of KNOWN_KEY_BYTES; returns false when it was there already. */
static bool
key_set_add(struct key_set *t, const unsigned char *key)
{
	struct known_key *slot;
	uint64_t h;

	/* Events of one session follow one another and share their keys. */
	if (t->last != NULL && memcmp(t->last->key, key, KNOWN_KEY_BYTES) == 0)
		return false;
	h = hash_bytes(key, KNOWN_KEY_BYTES) | 1;
	if (t->count >= INGEST_KNOWN_KEYS_MAX)
		key_set_clear(t);
	if (2 * (t->count + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024, i;
		struct known_key *slots = xcalloc(cap, sizeof(*slots));

		for (i = 0; i < t->cap; i++)
			if (t->slots[i].hash != 0)
				*key_set_find(slots, cap, t->slots[i].key,
				    t->slots[i].hash) = t->slots[i];
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	slot = key_set_find(t->slots, t->cap, key, h);
	t->last = slot;
	if (slot->hash != 0)
		return false;
	slot->hash = h;
	memcpy(slot->key, key, KNOWN_KEY_BYTES);
	t->count++;
	return true;
}

/* One ingest run over one spool. */

struct sensor_cache_entry {
	char *name;
	int64_t id;
};

/*
 * The session row of the last message or proxy request.  Most events of
 * a session follow one another, so this saves most session lookups.
 */
struct session_cache {
	char *id; /* the sensor's session id, or NULL when empty */
	int64_t sensor_id;
	int64_t row;          /* session.id */
	int64_t signature_id; /* session.os_signature_id, or 0 */
};

struct ingest_run {
	struct db *db;
	const struct ingest_options *opts;
	struct ingest_stats *stats;
	char *file_name; /* the file whose lines are being stored */
	int64_t file_sensor_id;
	uint64_t file_bad_lines;
	struct rollup_table per_minute;
	struct rollup_table per_ip_day;
	struct rollup_table per_os_day; /* port holds the signature id */
	struct key_set known_ips;       /* addresses in the ip table */
	struct key_set known_bodies;    /* sensor id and digest in body */
	struct os_matcher *os;
	struct session_cache last_session;
	struct sensor_cache_entry sensors[SENSOR_CACHE_MAX];
	size_t nsensors;
	bool in_tx;
	size_t tx_bytes; /* bytes stored since the transaction began */
	struct batch *pending[INGEST_PARSERS + 1]; /* oldest first */
	size_t npending;
	struct batch *stored; /* stored, to be freed by the next worker */
	char **deferred_packs; /* names of packs whose sensor was unknown */
	size_t ndeferred_packs;
};

static void
add_minute(struct ingest_run *run, const struct event *ev, int64_t sensor_id,
    int64_t port, enum rollup_sum which, int64_t n)
{
	struct rollup_key key;

	memset(&key, 0, sizeof(key));
	key.minute = ev->usec / 60000000;
	key.sensor_id = sensor_id;
	key.port = port < 0 ? 0 : port;
	rollup_sums(&run->per_minute, &key)[which] += n;
}

static void
add_ip_day(struct ingest_run *run, const struct event *ev, int64_t sensor_id)
{
	struct rollup_key key;
	int64_t *sums;

	memset(&key, 0, sizeof(key));
	memcpy(key.day, ev->day, sizeof(key.day));
	key.sensor_id = sensor_id;
	memcpy(key.ip, ev->source_ip, sizeof(key.ip));
	sums = rollup_sums(&run->per_ip_day, &key);
	if (ev->probe == 1) {
		sums[SUM_PROBES]++;
		return;
	}
	sums[SUM_MESSAGES]++;
	sums[SUM_RECIPIENTS] += ev->rcpt_count > 0 ? ev->rcpt_count : 0;
}

static int
flush_rollups(struct ingest_run *run)
{
	size_t i;
	int j;

	for (i = 0; i < run->per_minute.cap; i++) {
		const struct rollup_slot *s = &run->per_minute.slots[i];
		sqlite3_stmt *st;

		if (!s->used)
			continue;
		st = db_stmt(run->db, STMT_ROLLUP_MINUTE_ADD);
		sqlite3_bind_int64(st, 1, s->key.minute);
		sqlite3_bind_int64(st, 2, s->key.sensor_id);
		sqlite3_bind_int64(st, 3, s->key.port);
		for (j = 0; j < SUM_COUNT; j++)
			sqlite3_bind_int64(st, 4 + j, s->sums[j]);
		if (db_step_done(st) < 0)
			return -1;
	}
	for (i = 0; i < run->per_ip_day.cap; i++) {
		const struct rollup_slot *s = &run->per_ip_day.slots[i];
		sqlite3_stmt *st;

		if (!s->used)
			continue;
		st = db_stmt(run->db, STMT_ROLLUP_IP_DAY_ADD);
		db_bind_text(st, 1, s->key.day);
		sqlite3_bind_int64(st, 2, s->key.sensor_id);
		db_bind_text(st, 3, s->key.ip);
		sqlite3_bind_int64(st, 4, s->sums[SUM_MESSAGES]);
		sqlite3_bind_int64(st, 5, s->sums[SUM_RECIPIENTS]);
		sqlite3_bind_int64(st, 6, s->sums[SUM_PROBES]);
		if (db_step_done(st) < 0)
			return -1;
	}
	for (i = 0; i < run->per_os_day.cap; i++) {
		const struct rollup_slot *s = &run->per_os_day.slots[i];

		if (s->used &&
		    os_rollup_add(run->os, s->key.day, s->key.sensor_id,
			s->key.port, s->sums[SUM_MESSAGES],
			s->sums[SUM_RECIPIENTS]) < 0)
			return -1;
	}
	rollup_clear(&run->per_minute);
	rollup_clear(&run->per_ip_day);
	rollup_clear(&run->per_os_day);
	return 0;
}

static int64_t
sensor_id(struct ingest_run *run, const char *name)
{
	sqlite3_stmt *st;
	int64_t id = -1;
	size_t i;

	for (i = 0; i < run->nsensors; i++)
		if (strcmp(run->sensors[i].name, name) == 0)
			return run->sensors[i].id;
	st = db_stmt(run->db, STMT_SENSOR_FIND);
	db_bind_text(st, 1, name);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (id < 0) {
		st = db_stmt(run->db, STMT_SENSOR_INSERT);
		db_bind_text(st, 1, name);
		if (db_step_done(st) < 0)
			return -1;
		id = sqlite3_last_insert_rowid(db_handle(run->db));
	}
	if (run->nsensors < SENSOR_CACHE_MAX) {
		run->sensors[run->nsensors].name = xstrdup(name);
		run->sensors[run->nsensors++].id = id;
	}
	return id;
}

static const char *
opt_ip(const char *ip)
{
	return ip[0] != '\0' ? ip : NULL;
}

static int
add_ip(struct ingest_run *run, const char *ip)
{
	unsigned char key[KNOWN_KEY_BYTES];
	sqlite3_stmt *st;

	/* Most events repeat an address; skip the insert for those. */
	if (ip[0] == '\0')
		return 0;
	memset(key, 0, sizeof(key));
	strlcpy_((char *)key, ip, sizeof(key));
	if (!key_set_add(&run->known_ips, key))
		return 0;
	st = db_stmt(run->db, STMT_IP_INSERT);
	db_bind_text(st, 1, ip);
	return db_step_done(st);
}

/*
 * The body a message names, for the collector.  A failed insert fails
 * the transaction, whose rollback empties the set.
 */
static int
add_body(struct ingest_run *run, int64_t sid, const char *sha256)
{
	unsigned char key[KNOWN_KEY_BYTES];
	sqlite3_stmt *st;
	size_t i;

	if (sha256 == NULL)
		return 0;
	/* The sensor id, then the digest, which the mapper checked is hex. */
	memset(key, 0, sizeof(key));
	memcpy(key, &sid, sizeof(sid));
	for (i = 0; i < 32; i++)
		key[sizeof(sid) + i] =
		    (unsigned char)(hex_value(sha256[2 * i]) << 4 |
			hex_value(sha256[2 * i + 1]));
	if (!key_set_add(&run->known_bodies, key))
		return 0;
	st = db_stmt(run->db, STMT_BODY_INSERT);
	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, sha256);
	return db_step_done(st);
}

/*
 * Empty the session cache, before a change to a session row can make it
 * stale and when a rollback may have removed the row.
 */
static void
session_forget(struct ingest_run *run)
{
	free(run->last_session.id);
	run->last_session.id = NULL;
}

/*
 * Find the row id and OS signature id of the event's session.  A
 * session whose start has not been read gets a row with only its ids,
 * which its start and end fill in when they come.
 */
static int
session_row(struct ingest_run *run, const struct event *ev, int64_t sid,
    int64_t *row, int64_t *signature_id)
{
	struct session_cache *c = &run->last_session;
	sqlite3_stmt *st;
	int rc;

	if (c->id != NULL && c->sensor_id == sid &&
	    strcmp(c->id, ev->session_id) == 0) {
		*row = c->row;
		*signature_id = c->signature_id;
		return 0;
	}
	st = db_stmt(run->db, STMT_SESSION_FIND);
	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	*row = -1;
	*signature_id = 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*row = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*signature_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (rc == SQLITE_DONE) {
		st = db_stmt(run->db, STMT_SESSION_ADD);
		sqlite3_bind_int64(st, 1, sid);
		db_bind_text(st, 2, ev->session_id);
		if (db_step_done(st) < 0)
			return -1;
		*row = sqlite3_last_insert_rowid(db_handle(run->db));
	}
	session_forget(run);
	c->id = xstrdup(ev->session_id);
	c->sensor_id = sid;
	c->row = *row;
	c->signature_id = *signature_id;
	return 0;
}

/* True when the last statement added or changed a row. */
static bool
row_changed(struct ingest_run *run)
{
	return sqlite3_changes(db_handle(run->db)) > 0;
}

static int
store_session_start(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_SESSION_START);

	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	db_bind_text(st, 3, opt_ip(ev->source_ip));
	db_bind_opt_int(st, 4, ev->source_port);
	db_bind_text(st, 5, opt_ip(ev->relay_ip));
	db_bind_text(st, 6, opt_ip(ev->destination_ip));
	db_bind_opt_int(st, 7, ev->destination_port);
	db_bind_opt_int(st, 8, ev->listener_port);
	db_bind_text(st, 9, ev->listener_service);
	db_bind_text(st, 10, ev->timestamp);
	db_bind_text(st, 11, ev->os_signature);
	session_forget(run);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run)) {
		run->stats->duplicates++;
		return 0;
	}
	run->stats->sessions++;
	add_minute(run, ev, sid, ev->destination_port, SUM_CONNECTIONS, 1);
	if (add_ip(run, ev->source_ip) < 0)
		return -1;
	return os_store_session(run->os, sid, ev->session_id,
	    opt_ip(ev->source_ip), opt_ip(ev->relay_ip), ev->timestamp,
	    ev->os_signature);
}

static int
store_session_rejected(
    struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_SESSION_REJECTED);
	char id[96];

	/*
	 * Without an id from the sensor, time and address name the row, so
	 * that reading the line again finds it.
	 * NOTE: two rejections of one address in the same microsecond
	 * would count as one.
	 */
	if (ev->session_id == NULL)
		bufprintf(id, sizeof(id), "rejected-%lld-%s",
		    (long long)ev->usec, ev->source_ip);
	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id != NULL ? ev->session_id : id);
	db_bind_text(st, 3, opt_ip(ev->source_ip));
	db_bind_opt_int(st, 4, ev->destination_port);
	db_bind_text(st, 5, ev->timestamp);
	db_bind_text(st, 6, ev->reason);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run)) {
		run->stats->duplicates++;
		return 0;
	}
	run->stats->sessions++;
	add_minute(run, ev, sid, ev->destination_port, SUM_CONNECTIONS, 1);
	return add_ip(run, ev->source_ip);
}

/* The service port of a stored session, or 0 when it is not known. */
static int64_t
session_port(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_SESSION_PORT);
	int64_t port = 0;

	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		port = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return port;
}

static int
store_session_end(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_SESSION_END);
	int64_t port;

	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	db_bind_text(st, 3, ev->timestamp);
	db_bind_opt_int(st, 4, ev->duration_ms);
	db_bind_opt_int(st, 5, ev->bytes_in);
	db_bind_opt_int(st, 6, ev->bytes_out);
	db_bind_opt_int(st, 7, ev->messages);
	db_bind_text(st, 8, ev->reason);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run)) {
		run->stats->duplicates++;
		return 0;
	}
	port = session_port(run, ev, sid);
	add_minute(run, ev, sid, port, SUM_BYTES_IN,
	    ev->bytes_in > 0 ? ev->bytes_in : 0);
	add_minute(run, ev, sid, port, SUM_BYTES_OUT,
	    ev->bytes_out > 0 ? ev->bytes_out : 0);
	return 0;
}

/*
 * A SOCKS5 login or an SMTP AUTH attempt.  An SMTP row's protocol is
 * "smtp" even when the dialogue came through a proxy tunnel, whose
 * protocol the session row keeps.
 */
static int
store_auth(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_AUTH_INSERT);
	bool smtp = ev->kind == EVENT_SMTP_AUTH;

	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	db_bind_text(st, 3, ev->timestamp);
	db_bind_text(st, 4, smtp ? "smtp" : ev->protocol);
	db_bind_text(st, 5, ev->user_name);
	db_bind_text(st, 6, ev->password);
	db_bind_text(st, 7, ev->outcome);
	db_bind_text(st, 8, ev->auth_mechanism);
	db_bind_text(st, 9, ev->password_digest);
	db_bind_text(st, 10, ev->auth_challenge);
	db_bind_text(st, 11, ev->reason);
	db_bind_text(st, 12, ev->tls_version);
	db_bind_text(st, 13, ev->tls_cipher);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run))
		run->stats->duplicates++;
	return 0;
}

/* proxy.reply is a number for SOCKS and HTTP status codes, text otherwise. */
static void
bind_reply(sqlite3_stmt *st, int idx, const struct event *ev)
{
	if (ev->has_reply_code)
		sqlite3_bind_int64(st, idx, ev->reply_code);
	else
		db_bind_text(st, idx, ev->reply_text);
}

static int
store_proxy_request(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st;
	int64_t row, signature_id;

	if (session_row(run, ev, sid, &row, &signature_id) < 0)
		return -1;
	st = db_stmt(run->db, STMT_PROXY_REQUEST_INSERT);
	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	db_bind_text(st, 3, ev->timestamp);
	db_bind_text(st, 4, ev->protocol);
	db_bind_text(st, 5, ev->command);
	db_bind_text(st, 6, ev->target);
	db_bind_text(st, 7, ev->target_host);
	db_bind_opt_int(st, 8, ev->target_port);
	db_bind_text(st, 9, ev->proxy_user);
	db_bind_text(st, 10, ev->outcome);
	bind_reply(st, 11, ev);
	db_bind_text(st, 12, ev->url);
	db_bind_opt_int(st, 13, ev->probe);
	db_bind_opt_int(st, 14, ev->hops);
	db_bind_text(st, 15, ev->chain_json);
	db_bind_opt_int(st, 16, ev->via_tunnel);
	db_bind_opt_int(st, 17, ev->header_count);
	db_bind_text(st, 18, ev->headers_json);
	db_bind_text(st, 19, ev->http_body);
	db_bind_opt_int(st, 20, ev->body_size);
	db_bind_opt_int(st, 21, ev->body_truncated);
	db_bind_text(st, 22, ev->http_body_sha256);
	sqlite3_bind_int64(st, 23, row);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run)) {
		run->stats->duplicates++;
		return 0;
	}
	if (ev->probe == 1)
		add_minute(run, ev, sid, session_port(run, ev, sid),
		    SUM_JUDGE_CHECKS, 1);
	if (ev->protocol == NULL)
		return 0;
	st = db_stmt(run->db, STMT_SESSION_PROXY);
	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	db_bind_text(st, 3, ev->protocol);
	db_bind_text(st, 4, ev->target);
	return db_step_done(st);
}

/* Emails per day and OS signature of the message's session. */
static void
add_os_day(struct ingest_run *run, const struct event *ev, int64_t sensor_id,
    int64_t signature_id)
{
	struct rollup_key key;
	int64_t *sums;

	memset(&key, 0, sizeof(key));
	memcpy(key.day, ev->day, sizeof(key.day));
	key.sensor_id = sensor_id;
	key.port = signature_id;
	sums = rollup_sums(&run->per_os_day, &key);
	sums[SUM_MESSAGES]++;
	sums[SUM_RECIPIENTS] += ev->rcpt_count > 0 ? ev->rcpt_count : 0;
}

static int
store_message(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st;
	int64_t row, signature_id;

	if (session_row(run, ev, sid, &row, &signature_id) < 0)
		return -1;
	st = db_stmt(run->db, STMT_MESSAGE_INSERT);
	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	sqlite3_bind_int64(st, 3, ev->seq);
	db_bind_text(st, 4, ev->timestamp);
	db_bind_text(st, 5, ev->day);
	db_bind_text(st, 6, opt_ip(ev->source_ip));
	db_bind_opt_int(st, 7, ev->destination_port);
	db_bind_text(st, 8, ev->protocol);
	db_bind_text(st, 9, ev->target);
	db_bind_text(st, 10, ev->helo);
	db_bind_opt_int(st, 11, ev->esmtp);
	db_bind_text(st, 12, ev->mail_from);
	db_bind_opt_int(st, 13, ev->rcpt_count);
	db_bind_text(st, 14, ev->rcpt_json);
	db_bind_opt_int(st, 15, ev->size);
	db_bind_text(st, 16, ev->sha256);
	db_bind_text(st, 17, ev->queue_id);
	db_bind_text(st, 18, ev->personality);
	db_bind_opt_int(st, 19, ev->probe);
	db_bind_text(st, 20, ev->probe_reason);
	db_bind_text(st, 21, ev->probe_relay);
	db_bind_opt_int(st, 22, ev->hops);
	db_bind_text(st, 23, ev->chain_json);
	db_bind_text(st, 24, ev->tls_version);
	db_bind_text(st, 25, ev->tls_cipher);
	sqlite3_bind_int64(st, 26, row);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run)) {
		run->stats->duplicates++;
		return 0;
	}
	run->stats->messages++;
	if (add_body(run, sid, ev->sha256) < 0)
		return -1;
	add_ip_day(run, ev, sid);
	/* The spam rollups leave a proxy checker's test out. */
	if (ev->probe == 1) {
		add_minute(run, ev, sid, ev->destination_port, SUM_PROBES, 1);
		return add_ip(run, ev->source_ip);
	}
	add_minute(run, ev, sid, ev->destination_port, SUM_MESSAGES, 1);
	add_minute(
	    run, ev, sid, ev->destination_port, SUM_RECIPIENTS, ev->rcpt_count);
	add_os_day(run, ev, sid, signature_id);
	return add_ip(run, ev->source_ip);
}

static int
store_proxy_tunnel(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_PROXY_TUNNEL_INSERT);

	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->session_id);
	db_bind_text(st, 3, ev->timestamp);
	db_bind_text(st, 4, ev->protocol);
	db_bind_text(st, 5, ev->target);
	db_bind_opt_int(st, 6, ev->tunnel_bytes);
	db_bind_text(st, 7, ev->tunnel_first_bytes);
	db_bind_text(st, 8, ev->tls_server_name);
	if (db_step_done(st) < 0)
		return -1;
	if (!row_changed(run))
		run->stats->duplicates++;
	return 0;
}

static int
store_sensor_start(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_SENSOR_VERSION);

	sqlite3_bind_int64(st, 1, sid);
	db_bind_text(st, 2, ev->sensor_version);
	db_bind_text(st, 3, ev->timestamp);
	return db_step_done(st);
}

static int
store_nothing(struct ingest_run *run, const struct event *ev, int64_t sid)
{
	(void)run;
	(void)ev;
	(void)sid;
	return 0;
}

static int (*const store_event[EVENT_KIND_COUNT])(
    struct ingest_run *, const struct event *, int64_t) = {
    [EVENT_SESSION_START] = store_session_start,
    [EVENT_SESSION_REJECTED] = store_session_rejected,
    [EVENT_PROXY_AUTH] = store_auth,
    [EVENT_SMTP_AUTH] = store_auth,
    [EVENT_PROXY_REQUEST] = store_proxy_request,
    [EVENT_PROXY_TUNNEL] = store_proxy_tunnel,
    [EVENT_MESSAGE_STORED] = store_message,
    [EVENT_SESSION_END] = store_session_end,
    [EVENT_SENSOR_START] = store_sensor_start,
    [EVENT_SENSOR_STOP] = store_nothing,
};

/* Print text that may hold peer bytes, with anything unprintable as '?'. */
static void
print_sanitized(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', fp);
}

/*
 * A line cut from a file and, once parsed, its event.  An overlong line
 * has off == LINE_OVERLONG and only its length.
 */
struct line_item {
	size_t off; /* in the batch's text */
	size_t len;
	uint64_t line_no;
	int status; /* 0, or -1 with why set */
	struct event ev;
	char why[160];
};

#define LINE_OVERLONG SIZE_MAX

/*
 * The complete lines of one read from one file.  Worker threads parse
 * the next batches while the main thread stores this one, because
 * parsing JSON costs about as much as writing SQLite.
 */
struct batch {
	char *path; /* as named on the command line, for messages */
	char *key;  /* the real path, which keys ingested_file */
	char *text;
	size_t text_len;
	size_t text_cap;
	struct line_item *items;
	size_t count;
	size_t cap;
	uint64_t start_offset;
	uint64_t end_offset;
	uint64_t start_lines;
	uint64_t end_lines;
	size_t bytes; /* bytes read, complete lines or not */
	struct arena arena;
	struct batch *stored; /* the batch before, for the worker to free */
	pthread_t worker;
	bool running;
};

static int
collect_line(
    void *arg, const char *line, size_t len, uint64_t line_no, uint64_t end)
{
	struct batch *b = arg;
	struct line_item *it;

	(void)end;
	if (line != NULL && len == 0)
		return 0;
	if (b->count == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
	}
	it = &b->items[b->count++];
	it->len = len;
	it->line_no = line_no;
	it->status = 0;
	it->why[0] = '\0';
	if (line == NULL) {
		it->off = LINE_OVERLONG;
		return 0;
	}
	if (b->text_len + len > b->text_cap) {
		b->text_cap = b->text_cap ? b->text_cap : 65536;
		while (b->text_len + len > b->text_cap)
			b->text_cap *= 2;
		b->text = xrealloc(b->text, b->text_cap);
	}
	it->off = b->text_len;
	memcpy(b->text + b->text_len, line, len);
	b->text_len += len;
	return 0;
}

static void batch_wait(struct batch *b);

static void
batch_free(struct batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	batch_wait(b);
	batch_free(b->stored);
	for (i = 0; i < b->count; i++)
		if (b->items[i].status == 0)
			event_free(&b->items[i].ev);
	arena_release(&b->arena);
	free(b->items);
	free(b->text);
	free(b->path);
	free(b->key);
	free(b);
}

static void *
parse_batch(void *arg)
{
	struct batch *b = arg;
	size_t i;

	/* Free the batch stored before this one here, off the storing thread.
	 */
	batch_free(b->stored);
	b->stored = NULL;
	parse_arena = &b->arena;
	for (i = 0; i < b->count; i++) {
		struct line_item *it = &b->items[i];

		if (it->off == LINE_OVERLONG) {
			bufprintf(it->why, sizeof(it->why),
			    "line of %zu bytes is over the limit of %d bytes",
			    it->len, INGEST_LINE_MAX);
			it->status = -1;
			continue;
		}
		it->status = event_parse(b->text + it->off, it->len, &it->ev,
		    it->why, sizeof(it->why));
	}
	parse_arena = NULL;
	return NULL;
}

static void
batch_start(struct batch *b)
{
	/* Without a thread the batch is parsed here; slower, not wrong. */
	if (pthread_create(&b->worker, NULL, parse_batch, b) == 0)
		b->running = true;
	else
		parse_batch(b);
}

static void
batch_wait(struct batch *b)
{
	if (b->running)
		pthread_join(b->worker, NULL);
	b->running = false;
}

static void
report_bad_line(struct ingest_run *run, uint64_t line_no, const char *why)
{
	run->stats->bad_lines++;
	if (++run->file_bad_lines > INGEST_BAD_REPORT_MAX)
		return;
	fprintf(run->opts->log, "%s: %s:%llu: skipped: ", progname,
	    run->file_name, (unsigned long long)line_no);
	print_sanitized(run->opts->log, why);
	fputc('\n', run->opts->log);
}

/* Say how many bad lines of the file were not reported one by one. */
static void
finish_file(struct ingest_run *run)
{
	if (run->file_bad_lines > INGEST_BAD_REPORT_MAX)
		fprintf(run->opts->log, "%s: %s: %llu more bad lines skipped\n",
		    progname, run->file_name,
		    (unsigned long long)(run->file_bad_lines -
			INGEST_BAD_REPORT_MAX));
	free(run->file_name);
	run->file_name = NULL;
	run->file_bad_lines = 0;
	run->file_sensor_id = -1;
}

static int
store_item(struct ingest_run *run, const struct line_item *it)
{
	const char *sensor;
	int64_t sid;

	if (it->status < 0) {
		report_bad_line(run, it->line_no, it->why);
		return 0;
	}
	sensor = run->opts->sensor != NULL ? run->opts->sensor : it->ev.sensor;
	if (sensor == NULL) {
		report_bad_line(run, it->line_no,
		    "missing sensor.name; name the sensor with --sensor");
		return 0;
	}
	if ((sid = sensor_id(run, sensor)) < 0)
		return -1;
	if (store_event[it->ev.kind](run, &it->ev, sid) < 0)
		return -1;
	run->stats->events++;
	run->file_sensor_id = sid;
	return 0;
}

static int
record_offset(struct ingest_run *run, const struct batch *b)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_FILE_UPSERT);

	db_bind_text(st, 1, b->key);
	db_bind_opt_int(st, 2, run->file_sensor_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)b->end_offset);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)b->end_lines);
	return db_step_done(st);
}

static int
tx_begin(struct ingest_run *run)
{
	if (run->in_tx)
		return 0;
	if (db_begin(run->db) < 0)
		return -1;
	run->in_tx = true;
	run->tx_bytes = 0;
	return 0;
}

static int
tx_commit(struct ingest_run *run)
{
	if (!run->in_tx)
		return 0;
	if (flush_rollups(run) < 0)
		return -1;
	if (run->opts->chunk_hook != NULL)
		run->opts->chunk_hook(run->opts->hook_arg, false);
	if (db_commit(run->db) < 0)
		return -1;
	run->in_tx = false;
	if (run->opts->chunk_hook != NULL)
		run->opts->chunk_hook(run->opts->hook_arg, true);
	return 0;
}

static void
tx_abort(struct ingest_run *run)
{
	rollup_clear(&run->per_minute);
	rollup_clear(&run->per_ip_day);
	rollup_clear(&run->per_os_day);
	key_set_clear(&run->known_ips);
	key_set_clear(&run->known_bodies);
	session_forget(run);
	os_matcher_forget(run->os);
	db_rollback(run->db);
	run->in_tx = false;
}

/*
 * Store a parsed batch and the offset past its last line in the open
 * transaction, and commit once the transaction has a chunk's worth.
 */
static int
store_batch(struct ingest_run *run, struct batch *b)
{
	size_t chunk = run->opts->chunk_bytes ? run->opts->chunk_bytes
					      : INGEST_CHUNK_BYTES;
	size_t i;

	if (run->file_name == NULL || strcmp(run->file_name, b->path) != 0) {
		finish_file(run);
		run->file_name = xstrdup(b->path);
	}
	if (tx_begin(run) < 0)
		return -1;
	for (i = 0; i < b->count; i++)
		if (store_item(run, &b->items[i]) < 0)
			return -1;
	run->stats->lines += b->end_lines - b->start_lines;
	if (b->end_offset != b->start_offset && record_offset(run, b) < 0)
		return -1;
	run->tx_bytes += b->bytes;
	return run->tx_bytes >= chunk ? tx_commit(run) : 0;
}

/* Store the oldest batch once its worker is done. */
static int
store_oldest(struct ingest_run *run)
{
	struct batch *b = run->pending[0];
	int rc;

	run->npending--;
	memmove(run->pending, run->pending + 1,
	    run->npending * sizeof(*run->pending));
	batch_wait(b);
	rc = store_batch(run, b);
	batch_free(run->stored);
	run->stored = b;
	return rc;
}

/* Start parsing b, then store the oldest batch if enough are parsing. */
static int
pipeline_push(struct ingest_run *run, struct batch *b)
{
	b->stored = run->stored;
	run->stored = NULL;
	batch_start(b);
	run->pending[run->npending++] = b;
	if (run->npending > INGEST_PARSERS)
		return store_oldest(run);
	return 0;
}

static int
pipeline_drain(struct ingest_run *run)
{
	while (run->npending > 0)
		if (store_oldest(run) < 0)
			return -1;
	return 0;
}

static int
file_progress(
    struct ingest_run *run, const char *key, uint64_t *offset, uint64_t *lines)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_FILE_FIND);
	int rc;

	db_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	*offset = *lines = 0;
	if (rc == SQLITE_ROW) {
		*offset = (uint64_t)sqlite3_column_int64(st, 0);
		*lines = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Warn that the file at path has fewer bytes than the done bytes that
 * a run before this one has already read (the verb) from it.
 */
static void
warn_shorter(struct ingest_run *run, const char *path, uint64_t size,
    uint64_t done, const char *verb)
{
	fprintf(run->opts->log,
	    "%s: %s: warning: file is shorter (%llu bytes) than the"
	    " %llu bytes already %s; skipped\n",
	    progname, path, (unsigned long long)size,
	    (unsigned long long)done, verb);
}

/*
 * Open a file of the spool for reading and set *size.  A spool comes
 * from a sensor, which may be hostile: only regular files are read,
 * never a symbolic link (it could name any file of ours) or a FIFO (it
 * would block).  One such entry, or one we cannot open, is skipped with
 * a warning and -1; the others are ingested.
 */
static int
open_regular(struct ingest_run *run, const char *path, uint64_t *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(run->opts->log, "%s: %s: warning: %s; skipped\n",
		    progname, path,
		    fd < 0
			? (errno == ELOOP ? "a symbolic link" : strerror(errno))
			: "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Open path at the offset already ingested; returns the fd, -1, or -2 if
 * there is nothing new to read. */
static int
open_at_progress(struct ingest_run *run, const char *path, const char *key,
    struct line_reader *r, char *err, size_t errlen)
{
	uint64_t offset, lines, size;
	int fd;

	if (file_progress(run, key, &offset, &lines) < 0) {
		bufprintf(err, errlen, "database: %s", db_error(run->db));
		return -1;
	}
	if ((fd = open_regular(run, path, &size)) < 0)
		return -2;
	if (size < offset)
		warn_shorter(run, path, size, offset, "ingested");
	if (size <= offset || lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		close(fd);
		return -2;
	}
	line_reader_init(r, offset, lines);
	return fd;
}

static int
ingest_file(struct ingest_run *run, const char *path, char *err, size_t errlen)
{
	size_t chunk = INGEST_READ_BYTES;
	char key[PATH_MAX];
	struct line_reader r;
	struct batch *b;
	char *buf;
	int fd, rc = 0;

	if (realpath(path, key) == NULL) {
		bufprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	run->stats->files++;
	if ((fd = open_at_progress(run, path, key, &r, err, errlen)) < 0)
		return fd == -2 ? 0 : -1;
	if (run->opts->chunk_bytes > 0 && run->opts->chunk_bytes < chunk)
		chunk = run->opts->chunk_bytes;
	buf = xmalloc(chunk);
	for (;;) {
		ssize_t n = read(fd, buf, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bufprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		b = xcalloc(1, sizeof(*b));
		b->path = xstrdup(path);
		b->key = xstrdup(key);
		b->start_offset = r.offset;
		b->start_lines = r.line_no;
		/* Room for every line, so that collect_line() never grows it.
		 */
		b->text_cap = r.partial_len + (size_t)n;
		b->text = xmalloc(b->text_cap);
		line_reader_feed(&r, buf, (size_t)n, collect_line, b);
		b->end_offset = r.offset;
		b->end_lines = r.line_no;
		b->bytes = (size_t)n;
		if (pipeline_push(run, b) < 0) {
			bufprintf(err, errlen, "%s: database: %s", path,
			    db_error(run->db));
			rc = -1;
			break;
		}
	}
	line_reader_free(&r);
	free(buf);
	close(fd);
	return rc;
}

/*
 * Body packs.  Each record of SPOOL/bodies/NAME.pack gets its location
 * in the body table, and the pack's ingested_file row records how far
 * it was read, as for events files, in the same transactions.
 */

/* What index_record() returns to stop pack_scan(). */
enum {
	SCAN_CHUNK_FULL = 1, /* commit, then scan on from this record */
	SCAN_DB_FAILED,
};

/* One pack being read. */
struct pack_scan_state {
	struct ingest_run *run;
	const char *name; /* NAME.pack, as body.pack stores it */
	int64_t sensor_id;
	uint64_t from; /* where the open transaction's records begin */
	uint64_t records;
	size_t chunk;
};

static int
index_record(const struct pack_record *r, void *arg)
{
	struct pack_scan_state *s = arg;
	sqlite3_stmt *st;

	/* At least one record per transaction, so that each makes progress. */
	if (r->offset > s->from &&
	    s->run->tx_bytes + (r->offset - s->from) >= s->chunk)
		return SCAN_CHUNK_FULL;
	st = db_stmt(s->run->db, STMT_BODY_LOCATE);
	sqlite3_bind_int64(st, 1, s->sensor_id);
	db_bind_text(st, 2, r->sha);
	db_bind_text(st, 3, s->name);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->offset);
	sqlite3_bind_int64(st, 5, r->length);
	if (db_step_done(st) < 0)
		return SCAN_DB_FAILED;
	s->records++;
	s->run->stats->pack_records++;
	return 0;
}

static int
record_pack_offset(struct ingest_run *run, const char *key, int64_t sid,
    uint64_t offset, uint64_t records)
{
	sqlite3_stmt *st = db_stmt(run->db, STMT_FILE_UPSERT);

	db_bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, sid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)offset);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)records);
	return db_step_done(st);
}

/*
 * Index the records of the open pack from *pos to size, committing a
 * chunk at a time.  Returns 0, or -1 with err set.  A header that is
 * not one is reported, and the rest of the pack is left unread.
 */
static int
scan_pack(struct ingest_run *run, int fd, const char *path, const char *key,
    struct pack_scan_state *s, uint64_t *pos, uint64_t size, char *err,
    size_t errlen)
{
	bool cut;
	int rc;

	for (;;) {
		if (tx_begin(run) < 0)
			goto db_failed;
		s->from = *pos;
		rc = pack_scan(fd, pos, size, index_record, s, &cut);
		if (rc < 0 && errno != EBADMSG) {
			bufprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (rc == SCAN_DB_FAILED ||
		    (*pos > s->from &&
			record_pack_offset(
			    run, key, s->sensor_id, *pos, s->records) < 0))
			goto db_failed;
		run->tx_bytes += (size_t)(*pos - s->from);
		if (rc < 0)
			fprintf(run->opts->log,
			    "%s: %s: warning: damaged pack: no record header"
			    " at offset %llu; the rest of the pack is"
			    " skipped\n",
			    progname, path, (unsigned long long)*pos);
		if (rc != SCAN_CHUNK_FULL)
			break;
		if (tx_commit(run) < 0)
			goto db_failed;
	}
	if (run->tx_bytes >= s->chunk && tx_commit(run) < 0)
		goto db_failed;
	return 0;
db_failed:
	bufprintf(err, errlen, "%s: database: %s", path, db_error(run->db));
	return -1;
}

/*
 * The sensor whose bodies the pack NAME.pack holds: the one named with
 * --sensor, else the one recorded for events/NAME.jsonl, which the
 * sensor had open when it began the pack.  Returns -1 when neither is
 * known yet, -2 on a database error.
 */
static int64_t
pack_sensor(struct ingest_run *run, const char *events_dir, const char *name)
{
	char key[PATH_MAX + NAME_MAX];
	sqlite3_stmt *st;
	int64_t sid = -1;
	int rc;

	if (run->opts->sensor != NULL) {
		sid = sensor_id(run, run->opts->sensor);
		return sid < 0 ? -2 : sid;
	}
	bufprintf(key, sizeof(key), "%s/%.*s.jsonl", events_dir,
	    (int)(strlen(name) - 5), name);
	st = db_stmt(run->db, STMT_FILE_FIND);
	db_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 2) == SQLITE_INTEGER)
		sid = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? sid : -2;
}

/*
 * Index what is new in the pack dir/name.  A pack whose sensor is not
 * known yet is deferred until the events are read, and reported when
 * it is still unknown then.
 */
static int
index_pack(struct ingest_run *run, const char *dir, const char *events_dir,
    const char *name, bool last_pass, char *err, size_t errlen)
{
	struct pack_scan_state s = {.run = run, .name = name};
	char path[PATH_MAX + NAME_MAX], key[PATH_MAX];
	uint64_t pos, size;
	int fd, rc;

	s.chunk = run->opts->chunk_bytes ? run->opts->chunk_bytes
					 : INGEST_CHUNK_BYTES;
	bufprintf(path, sizeof(path), "%s/%s", dir, name);
	if (realpath(path, key) == NULL) {
		/* Removed since the directory was read, once confirmed. */
		if (errno == ENOENT)
			return 0;
		bufprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (tx_begin(run) < 0 ||
	    (s.sensor_id = pack_sensor(run, events_dir, name)) == -2 ||
	    file_progress(run, key, &pos, &s.records) < 0) {
		bufprintf(
		    err, errlen, "%s: database: %s", path, db_error(run->db));
		return -1;
	}
	if (s.sensor_id < 0 && !last_pass) {
		run->deferred_packs = xrealloc(run->deferred_packs,
		    (run->ndeferred_packs + 1) * sizeof(*run->deferred_packs));
		run->deferred_packs[run->ndeferred_packs++] = xstrdup(name);
		return 0;
	}
	if (s.sensor_id < 0) {
		fprintf(run->opts->log,
		    "%s: %s: warning: no events file of this name was"
		    " ingested, so the pack's sensor is unknown; skipped"
		    " (name the sensor with --sensor)\n",
		    progname, path);
		return 0;
	}
	if ((fd = open_regular(run, path, &size)) < 0)
		return 0;
	if (size < pos)
		warn_shorter(run, path, size, pos, "indexed");
	rc = 0;
	if (size > pos) {
		run->stats->packs++;
		rc = scan_pack(run, fd, path, key, &s, &pos, size, err, errlen);
	}
	close(fd);
	return rc;
}

/* Whether the entry is a pack as the sensor names it. */
static int
is_pack_file(const struct dirent *d)
{
	return pack_name_valid(d->d_name);
}

/* The spool's bodies/ and the real path of its events/, for index_pack(). */
static int
pack_dirs(const char *spool, char dir[PATH_MAX], char events_dir[PATH_MAX],
    char *err, size_t errlen)
{
	char events[PATH_MAX];

	bufprintf(dir, PATH_MAX, "%s/bodies", spool);
	bufprintf(events, sizeof(events), "%s/events", spool);
	if (realpath(events, events_dir) == NULL) {
		bufprintf(err, errlen, "cannot read %s: %s", events,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Index every pack of the spool, deferring those whose sensor is not
 * known yet.  A spool without bodies/ has none: a sensor that has
 * stored no message yet.
 */
static int
index_packs(struct ingest_run *run, const char *spool, char *err,
    size_t errlen)
{
	char dir[PATH_MAX], events_dir[PATH_MAX];
	struct dirent **names;
	int i, n, rc = 0;

	if (pack_dirs(spool, dir, events_dir, err, errlen) < 0)
		return -1;
	if ((n = scandir(dir, &names, is_pack_file, alphasort)) < 0) {
		if (errno == ENOENT)
			return 0;
		bufprintf(
		    err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0 && index_pack(run, dir, events_dir,
				   names[i]->d_name, false, err, errlen) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Index the deferred packs, now that their events files have been read. */
static int
index_deferred_packs(
    struct ingest_run *run, const char *spool, char *err, size_t errlen)
{
	char dir[PATH_MAX], events_dir[PATH_MAX];
	size_t i;

	if (run->ndeferred_packs == 0)
		return 0;
	if (pack_dirs(spool, dir, events_dir, err, errlen) < 0)
		return -1;
	for (i = 0; i < run->ndeferred_packs; i++)
		if (index_pack(run, dir, events_dir, run->deferred_packs[i],
			true, err, errlen) < 0)
			return -1;
	return 0;
}

/*
 * Accept NAME.jsonl where NAME is letters, digits, '.', '_' and '-', as
 * the sensor writes them, so that a file name printed in a message
 * cannot carry terminal controls.
 */
static int
is_events_file(const struct dirent *d)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 6 &&
	    strcmp(d->d_name + n - 6, ".jsonl") == 0 &&
	    strspn(d->d_name, safe) == n;
}

/*
 * Set the connection up for a bulk write.  The cache is large enough for
 * a whole chunk's dirty pages, so that they reach the WAL once at commit
 * rather than spilling part way.  The WAL is copied back into the
 * database every INGEST_CHECKPOINT_BYTES rather than every 1000 pages,
 * so a hot page is copied back once per few chunks.  A crash still
 * loses at most the open chunk, and its offsets with it.
 */
static int
ingest_tune(struct db *db)
{
	sqlite3_stmt *st;
	int page = 4096;
	char sql[128];

	if (sqlite3_prepare_v2(db_handle(db), "PRAGMA page_size", -1, &st,
		NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0)
		page = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	bufprintf(sql, sizeof(sql),
	    "PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d;"
	    " PRAGMA temp_store = MEMORY",
	    INGEST_CACHE_KIB, INGEST_CHECKPOINT_BYTES / page);
	return db_exec(db, sql);
}

int
ingest_spool(struct db *db, const char *spool,
    const struct ingest_options *opts, struct ingest_stats *stats, char *err,
    size_t errlen)
{
	struct ingest_run run;
	struct dirent **names;
	char dir[PATH_MAX], path[PATH_MAX];
	uint64_t rematched;
	int i, n, rc = 0;

	pthread_once(&arena_once, use_arena_allocator);
	if (ingest_tune(db) < 0) {
		bufprintf(err, errlen, "database: %s", db_error(db));
		return -1;
	}
	memset(&run, 0, sizeof(run));
	run.db = db;
	run.opts = opts;
	run.stats = stats;
	run.file_sensor_id = -1;
	bufprintf(dir, sizeof(dir), "%s/events", spool);
	if ((n = scandir(dir, &names, is_events_file, alphasort)) < 0) {
		bufprintf(
		    err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	/* Signatures left unmatched by a run without p0f are matched now. */
	run.os = os_matcher_new(db, opts->p0f_path, opts->log);
	if (os_rematch(run.os, false, &rematched, err, errlen) < 0)
		rc = -1;
	/*
	 * Packs are indexed before the events.  A pack whose events file
	 * is read for the first time waits for it, since its events name
	 * the pack's sensor.
	 */
	if (rc == 0 && index_packs(&run, spool, err, errlen) < 0)
		rc = -1;
	/* File names are UTC hours, so name order is time order. */
	for (i = 0; i < n; i++) {
		bufprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && ingest_file(&run, path, err, errlen) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	if (rc == 0 && pipeline_drain(&run) < 0) {
		bufprintf(err, errlen, "database: %s", db_error(db));
		rc = -1;
	}
	if (rc == 0 && index_deferred_packs(&run, spool, err, errlen) < 0)
		rc = -1;
	if (rc == 0 && tx_commit(&run) < 0) {
		bufprintf(err, errlen, "database: %s", db_error(db));
		rc = -1;
	}
	if (rc < 0) {
		for (i = 0; i < (int)run.npending; i++)
			batch_free(run.pending[i]);
		tx_abort(&run);
	}
	batch_free(run.stored);
	finish_file(&run);
	for (i = 0; i < (int)run.nsensors; i++)
		free(run.sensors[i].name);
	free(run.per_minute.slots);
	free(run.per_ip_day.slots);
	free(run.per_os_day.slots);
	free(run.known_ips.slots);
	free(run.known_bodies.slots);
	for (i = 0; i < (int)run.ndeferred_packs; i++)
		free(run.deferred_packs[i]);
	free(run.deferred_packs);
	session_forget(&run);
	os_matcher_free(run.os);
	return rc;
}

/* The ingest command. */

static const char ingest_usage[] =
    "usage: spampot ingest [--db FILE] [--sensor NAME] [--geo DIR]"
    " [--p0f FILE] SPOOL...\n";

static const char ingest_help[] =
    "\n"
    "Read the events files of each SPOOL directory (SPOOL/events/*.jsonl)\n"
    "into the database, starting where the previous run stopped, then\n"
    "look up the AS number, AS name and country of every source address\n"
    "not looked up before.  Files are read in name order; a name with\n"
    "bytes other than letters, digits, '.', '_' and '-' is ignored.\n"
    "\n"
    "Only complete lines are read; a partial last line is left for the\n"
    "next run.  The rows of each chunk and the offset reached are\n"
    "committed together, so an interrupted run is simply run again.\n"
    "An event already in the database (same sensor, session and message\n"
    "sequence) is counted as a duplicate and not stored twice.  A line\n"
    "that is not a valid event is reported as FILE:LINE and skipped.\n"
    "\n"
    "The bodies of the messages are in packs, SPOOL/bodies/NAME.pack:\n"
    "ingest records where each body is, for 'spampot web' and the\n"
    "collector, also from where the previous run stopped.  A pack's\n"
    "sensor is the one its events file SPOOL/events/NAME.jsonl names.\n"
    "A damaged record is reported with its offset, and the rest of\n"
    "that pack is skipped.\n"
    "\n"
    "Options:\n"
    "  --db FILE      database to create or update (default: $SPAMPOT_DB,\n"
    "                 or spampot.db in the current directory)\n"
    "  --sensor NAME  store every event under sensor NAME instead of the\n"
    "                 sensor.name it carries; needed for events without one\n"
    "  --geo DIR      directory of the ip-location-db packages, holding\n"
    "                 asn/ and geolite2-country/ (default: $SPAMPOT_GEO_DIR,\n"
    "                 or node_modules/@ip-location-db in the current\n"
    "                 directory); if files are missing, addresses stay\n"
    "                 unknown and are looked up again by the next run\n"
    "  --p0f FILE     p0f v3 database that names the OS of each client's\n"
    "                 SYN signature (default: $SPAMPOT_P0F, or\n"
    "                 " P0F_DB_DEFAULT_PATH "); if it is missing, the OS\n"
    "                 stays Unknown until a run or 'spampot reclassify'\n"
    "                 has it\n"
    "  -h, --help     show this help and exit\n"
    "\n"
    "Prints one summary line to standard output; skipped lines and\n"
    "warnings go to standard error.\n"
    "\n"
    "Exit status: 0 on success, even when lines were skipped; 1 when a\n"
    "spool cannot be read or the database fails; 2 on invalid arguments.\n";

static void
print_summary(const struct ingest_stats *s, uint64_t enriched)
{
	printf("ingested %llu files: %llu lines, %llu messages, %llu"
	       " sessions, %llu duplicates, %llu bad lines;"
	       " %llu body records from %llu packs;"
	       " %llu addresses enriched\n",
	    (unsigned long long)s->files, (unsigned long long)s->lines,
	    (unsigned long long)s->messages, (unsigned long long)s->sessions,
	    (unsigned long long)s->duplicates, (unsigned long long)s->bad_lines,
	    (unsigned long long)s->pack_records, (unsigned long long)s->packs,
	    (unsigned long long)enriched);
}

int
cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"sensor", required_argument, NULL, 's'},
	    {"geo", required_argument, NULL, 'g'},
	    {"p0f", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ingest_options opts = {.log = stderr};
	struct ingest_stats stats;
	const char *db_path = db_default_path();
	const char *geo_dir = geo_default_dir();
	struct geo_preload *preload;
	uint64_t enriched = 0;
	char err[512];
	struct db *db;
	int c, i, rc = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 's':
			if (*optarg == '\0') {
				fprintf(stderr, "%s: --sensor needs a name\n",
				    progname);
				return 2;
			}
			opts.sensor = optarg;
			break;
		case 'g':
			geo_dir = optarg;
			break;
		case 'p':
			opts.p0f_path = optarg;
			break;
		case 'h':
			fputs(ingest_usage, stdout);
			fputs(ingest_help, stdout);
			return 0;
		default:
			fprintf(stderr,
			    "%s: ingest: invalid option or missing"
			    " argument: %s\n",
			    progname, argv[optind - 1]);
			fputs(ingest_usage, stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(
		    stderr, "%s: ingest: missing SPOOL directory\n", progname);
		fputs(ingest_usage, stderr);
		return 2;
	}
	if ((db = db_open(db_path, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	/* Storing keeps one core busy; the range files load on the other. */
	preload = geo_preload_start(geo_dir);
	memset(&stats, 0, sizeof(stats));
	for (i = optind; i < argc && rc == 0; i++) {
		if (ingest_spool(db, argv[i], &opts, &stats, err, sizeof(err)) <
		    0) {
			fprintf(stderr, "%s: %s\n", progname, err);
			rc = 1;
		}
	}
	/* Whatever was committed is worth enriching, even after a failure. */
	if (enrich_preloaded(db, preload, stderr, &enriched, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		rc = 1;
	}
	print_summary(&stats, enriched);
	db_close(db);
	return rc;
}
