/*
 * Envelope recovery from message headers; see mailparse.h.
 *
 * Field values are scanned where they lie, folds and all, so nothing
 * is unfolded into a buffer: CR and LF count as white space inside a
 * value.  Addresses and tokens are copied only into fixed arrays, and
 * whatever would overflow one is dropped.
 *
 * Where the message came from.  Each relay prepends a Received field,
 * so the chain read from the top runs from the final mailbox back
 * towards the sender, and only the top of it was written by machines
 * of the receiving organisation.  Everything below the first external
 * hop was written by machines the sender controls and is easily
 * forged: spamware often adds a Received field of its own, sometimes
 * below the From field.  So the origin is taken from the top:
 *
 *   1. Skip hops without a "from" clause ("by host with SMTP id ...").
 *   2. Skip hops by which the recipient's side fetched or handed on
 *      mail locally: "with POP3", "with IMAP", fetchmail, "by
 *      localhost".  Their "from" names the recipient's own mailbox
 *      provider, not the sender.
 *   3. In the "from" clause of each remaining hop take the address
 *      the receiving relay saw: the last address in brackets
 *      ("from helo (rdns [192.0.2.1])"), else the last bare one
 *      ("from host - 192.0.2.1", qmail's "(192.0.2.1)").
 *   4. The first such address that is public is the top of the
 *      chain.  A private or loopback one means an internal hop: go
 *      on down.
 *   5. Below the top, follow the chain while each field was written
 *      by the relay that the field above names by its reverse DNS
 *      name (by its HELO name only when it has no qualified reverse
 *      DNS name), comparing registered domains.  Each public address
 *      on the way becomes the origin.  Forwarders, the receiving
 *      side's inner relays and list servers are passed this way, and
 *      the walk stops where no known relay wrote the field.
 *
 * On the SpamAssassin corpus (spam-1 and spam-2) every message gets
 * an origin, 1558 distinct ones for 1896 messages.  NOTE: a sender
 * that controls a relay named in the chain can still extend it with
 * forged fields below that relay.
 */
#include "mailparse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* One header field: its name and its raw value, folds included. */
struct field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static bool
is_space(int c)
{
	return is_wsp(c) || c == '\r' || c == '\n';
}

/* Offset just past the line that starts at pos: past its LF, or len. */
static size_t
line_end(const char *buf, size_t len, size_t pos)
{
	const char *lf = memchr(buf + pos, '\n', len - pos);

	return lf == NULL ? len : (size_t)(lf - buf) + 1;
}

/* Length of the empty line at pos (1 or 2), or 0 if it is not empty. */
static size_t
blank_line_len(const char *buf, size_t len, size_t pos)
{
	if (pos < len && buf[pos] == '\n')
		return 1;
	if (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
		return 2;
	return 0;
}

static bool
is_from_line(const char *buf, size_t len, size_t pos)
{
	return len - pos >= 5 && memcmp(buf + pos, "From ", 5) == 0;
}

/*
 * Read the field at *pos.  Returns false at the end of the header: an
 * empty line, the end of the buffer, or a line that is not a field.
 * RFC 5322's obsolete syntax allows white space before the colon.
 */
static bool
next_field(const char *buf, size_t len, size_t *pos, struct field *f)
{
	size_t p = *pos, i, name_end, end;

	if (p >= len || blank_line_len(buf, len, p) > 0)
		return false;
	for (i = p; i < len && buf[i] != ':'; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c <= ' ' || c >= 0x7f)
			break;
	}
	name_end = i;
	while (i < len && is_wsp(buf[i]))
		i++;
	if (i >= len || buf[i] != ':' || name_end == p)
		return false;

	end = line_end(buf, len, i + 1);
	while (end < len && is_wsp(buf[end]))
		end = line_end(buf, len, end);
	f->name = buf + p;
	f->name_len = name_end - p;
	f->value = buf + i + 1;
	f->value_len = end - (i + 1);
	*pos = end;
	return true;
}

static bool
field_is(const struct field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	    strncasecmp(f->name, name, f->name_len) == 0;
}

/* Addresses. */

enum addr_status {
	ADDR_NONE,    /* an empty list element, or a group's name */
	ADDR_OK,      /* a usable mailbox */
	ADDR_NULL,    /* "<>", the null reverse-path */
	ADDR_INVALID, /* something, but not a mailbox we would send */
};

/* A bounded copy of the bytes of an address being assembled. */
struct addr_buf {
	char text[SMTP_ADDRESS_MAX + 1];
	size_t len;
	bool overflow;
};

static void
addr_buf_add(struct addr_buf *b, char c)
{
	if (b->len >= SMTP_ADDRESS_MAX) {
		b->overflow = true;
		return;
	}
	b->text[b->len++] = c;
	b->text[b->len] = '\0';
}

static void
addr_buf_clear(struct addr_buf *b)
{
	b->len = 0;
	b->overflow = false;
	b->text[0] = '\0';
}

static bool
is_domain_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A dot-separated name such as "mail.example.com", or "[literal]". */
static bool
is_valid_domain(const char *d, size_t len)
{
	size_t i, label = 0;

	if (len >= 2 && d[0] == '[' && d[len - 1] == ']') {
		for (i = 1; i + 1 < len; i++)
			if (!is_domain_char(d[i]) && d[i] != '.' && d[i] != ':')
				return false;
		return len > 2;
	}
	for (i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (is_domain_char(d[i])) {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

/*
 * A mailbox we can put in MAIL FROM or RCPT TO as it is: printable
 * ASCII, a local part without specials or quotes, and a domain.
 */
static bool
is_valid_mailbox(const char *a, size_t len)
{
	const char *at = NULL;
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] == '@')
			at = a + i;
	if (at == NULL || at == a)
		return false;
	for (i = 0; a + i < at; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= ' ' || c >= 0x7f || strchr("<>()[]\\,;:\"@", c))
			return false;
	}
	return is_valid_domain(at + 1, len - (size_t)(at + 1 - a));
}

/* The scanner's position inside one element of an address list. */
struct addr_scan {
	size_t depth; /* nesting of (comments) */
	bool quoted;
	bool in_angle;
	bool angle_seen;
	bool word_done; /* a bare word with '@' was found: ignore the rest */
	struct addr_buf angle;
	struct addr_buf word;
};

static void
addr_scan_space(struct addr_scan *s)
{
	if (s->in_angle || s->word.len == 0)
		return;
	if (memchr(s->word.text, '@', s->word.len) != NULL)
		s->word_done = true;
	else
		addr_buf_clear(&s->word);
}

/* Feed one byte outside comments and quotes; true at the element's end. */
static bool
addr_scan_byte(struct addr_scan *s, char c)
{
	switch (c) {
	case '"':
		s->quoted = true;
		break;
	case '(':
		s->depth = 1;
		break;
	case '<':
		s->in_angle = true;
		s->angle_seen = true;
		addr_buf_clear(&s->angle);
		break;
	case '>':
		s->in_angle = false;
		break;
	case ',':
	case ';':
		if (!s->in_angle)
			return true;
		addr_buf_add(&s->angle, c);
		break;
	case ':':
		/* A group's name, or an obsolete source route before it. */
		if (s->in_angle)
			addr_buf_clear(&s->angle);
		else
			addr_buf_clear(&s->word);
		break;
	default:
		if (is_space(c))
			addr_scan_space(s);
		else if (s->in_angle)
			addr_buf_add(&s->angle, c);
		else if (!s->word_done)
			addr_buf_add(&s->word, c);
		break;
	}
	return false;
}

static enum addr_status
addr_scan_result(struct addr_scan *s, char out[SMTP_ADDRESS_MAX + 1])
{
	struct addr_buf *b = s->angle_seen ? &s->angle : &s->word;

	if (s->angle_seen && b->len == 0 && !b->overflow)
		return ADDR_NULL;
	if (b->len == 0)
		return ADDR_NONE;
	if (b->overflow || !is_valid_mailbox(b->text, b->len))
		return ADDR_INVALID;
	memcpy(out, b->text, b->len + 1);
	return ADDR_OK;
}

/*
 * Scan the address-list element of v[0..len) that starts at *pos and
 * move *pos past it.  "Name <a@b>" yields a@b, "a@b (Name)" yields
 * a@b, and a group's name is skipped.  False when nothing is left.
 */
static bool
next_address(const char *v, size_t len, size_t *pos,
    char out[SMTP_ADDRESS_MAX + 1], enum addr_status *status)
{
	struct addr_scan s;
	size_t i;

	if (*pos >= len)
		return false;
	memset(&s, 0, sizeof(s));
	for (i = *pos; i < len; i++) {
		char c = v[i];

		if (s.quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				s.quoted = false;
		} else if (s.depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				s.depth++;
			else if (c == ')')
				s.depth--;
		} else if (addr_scan_byte(&s, c)) {
			break;
		}
	}
	addr_scan_space(&s);
	*pos = i + 1;
	*status = addr_scan_result(&s, out);
	return true;
}

/* Sender and recipients. */

/* Set the sender from the first field named name; true if it had one. */
static bool
take_sender(const char *buf, size_t len, size_t start, const char *name,
    struct mail_envelope *env)
{
	struct field f;
	size_t pos = start, apos;
	enum addr_status st;
	char addr[SMTP_ADDRESS_MAX + 1];

	while (next_field(buf, len, &pos, &f)) {
		if (!field_is(&f, name))
			continue;
		apos = 0;
		while (next_address(f.value, f.value_len, &apos, addr, &st)) {
			if (st == ADDR_OK) {
				memcpy(env->sender, addr, sizeof(addr));
				return true;
			}
			if (st == ADDR_NULL) {
				env->sender[0] = '\0';
				return true;
			}
		}
		return false;
	}
	return false;
}

static void
add_recipient(struct mail_envelope *env, const char *addr)
{
	size_t i;

	/* Case-blind, although RFC 5321 lets a local part be case-exact. */
	for (i = 0; i < env->rcpt_count; i++)
		if (strcasecmp(env->rcpt[i], addr) == 0)
			return;
	if (env->rcpt_count < REPLAY_RCPT_MAX)
		strlcpy_(
		    env->rcpt[env->rcpt_count++], addr, sizeof(env->rcpt[0]));
}

/* Fields whose addresses become recipients, in the order they are used. */
static const char *const rcpt_fields[] = {
    "To",
    "Cc",
    "Delivered-To",
    "X-Original-To",
};

static void
take_recipients(
    const char *buf, size_t len, size_t start, struct mail_envelope *env)
{
	struct field f;
	size_t i, pos, apos;
	enum addr_status st;
	char addr[SMTP_ADDRESS_MAX + 1];

	for (i = 0; i < NELEM(rcpt_fields); i++) {
		pos = start;
		while (env->rcpt_count < REPLAY_RCPT_MAX &&
		    next_field(buf, len, &pos, &f)) {
			if (!field_is(&f, rcpt_fields[i]))
				continue;
			apos = 0;
			while (env->rcpt_count < REPLAY_RCPT_MAX &&
			    next_address(
				f.value, f.value_len, &apos, addr, &st))
				if (st == ADDR_OK)
					add_recipient(env, addr);
		}
	}
	if (env->rcpt_count == 0) {
		strlcpy_(
		    env->rcpt[0], MAIL_FALLBACK_RCPT, sizeof(env->rcpt[0]));
		env->rcpt_count = 1;
		env->rcpt_fallback = true;
	}
}

/* Addresses. */

/* A network that no public Internet host has an address in. */
struct netblock {
	uint8_t prefix[16];
	int bits;
};

static const struct netblock ipv4_non_public[] = {
    {{0}, 8},             /* "this network", RFC 791 */
    {{10}, 8},            /* private, RFC 1918 */
    {{100, 64}, 10},      /* carrier-grade NAT, RFC 6598 */
    {{127}, 8},           /* loopback */
    {{169, 254}, 16},     /* link-local, RFC 3927 */
    {{172, 16}, 12},      /* private, RFC 1918 */
    {{192, 0, 0}, 24},    /* IETF protocol assignments, RFC 6890 */
    {{192, 0, 2}, 24},    /* documentation, RFC 5737 */
    {{192, 168}, 16},     /* private, RFC 1918 */
    {{198, 18}, 15},      /* benchmarking, RFC 2544 */
    {{198, 51, 100}, 24}, /* documentation, RFC 5737 */
    {{203, 0, 113}, 24},  /* documentation, RFC 5737 */
    {{224}, 4},           /* multicast */
    {{240}, 4},           /* reserved, and the broadcast address */
};

/* Inside 2000::/3, the only global unicast space, these are not hosts. */
static const struct netblock ipv6_non_public[] = {
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48}, /* benchmarking */
    {{0x20, 0x01, 0x0d, 0xb8}, 32},             /* documentation */
    {{0x3f, 0xff}, 20},                         /* documentation, RFC 9637 */
};

static bool
prefix_matches(const uint8_t *addr, const struct netblock *net)
{
	int full = net->bits / 8, rest = net->bits % 8;
	uint8_t mask;

	if (memcmp(addr, net->prefix, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (addr[full] & mask) == (net->prefix[full] & mask);
}

static bool
in_any(const uint8_t *addr, const struct netblock *nets, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (prefix_matches(addr, &nets[i]))
			return true;
	return false;
}

bool
mail_addr_is_public(const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = {
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0xff,
	    0xff,
	};
	const uint8_t *a;

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)
			->sin_addr;
		return !in_any(a, ipv4_non_public, NELEM(ipv4_non_public));
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return !in_any(a + 12, ipv4_non_public, NELEM(ipv4_non_public));
	if ((a[0] & 0xe0) != 0x20)
		return false;
	return !in_any(a, ipv6_non_public, NELEM(ipv6_non_public));
}

/* Received fields. */

/* A word of a Received value, and where it stood. */
struct token {
	const char *text;
	size_t len;
	size_t depth;   /* inside how many (comments) */
	bool bracketed; /* right after '[' */
};

struct tokenizer {
	const char *v;
	size_t len;
	size_t pos;
	size_t depth;
	bool bracket;
};

/* Bytes that separate words; ';' is a word of its own. */
static bool
is_token_delim(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || strchr("()[]<>,\"=", c) != NULL;
}

static bool
token_next(struct tokenizer *tz, struct token *t)
{
	size_t start;

	while (tz->pos < tz->len) {
		unsigned char c = (unsigned char)tz->v[tz->pos];

		if (c == ';' || !is_token_delim(c))
			break;
		if (c == '(')
			tz->depth++;
		else if (c == ')' && tz->depth > 0)
			tz->depth--;
		tz->bracket = c == '[';
		tz->pos++;
	}
	if (tz->pos >= tz->len)
		return false;

	start = tz->pos;
	if (tz->v[tz->pos] == ';')
		tz->pos++;
	else
		while (tz->pos < tz->len && tz->v[tz->pos] != ';' &&
		    !is_token_delim((unsigned char)tz->v[tz->pos]))
			tz->pos++;
	t->text = tz->v + start;
	t->len = tz->pos - start;
	t->depth = tz->depth;
	t->bracketed = tz->bracket;
	tz->bracket = false;
	return true;
}

static bool
token_is(const struct token *t, const char *word)
{
	return strlen(word) == t->len &&
	    strncasecmp(t->text, word, t->len) == 0;
}

static bool
token_starts(const struct token *t, const char *prefix)
{
	size_t n = strlen(prefix);

	return t->len >= n && strncasecmp(t->text, prefix, n) == 0;
}

/*
 * Parse a token that is an IPv4 or IPv6 address, with or without the
 * "IPv6:" tag of RFC 5321 address literals.
 */
static bool
token_to_addr(const struct token *t, struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN];
	const char *s = t->text;
	size_t n = t->len, i;

	if (token_starts(t, "IPv6:")) {
		s += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof(text))
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF:.", s[i]) || s[i] == '\0')
			return false;
	memcpy(text, s, n);
	text[n] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr) ==
	    1) {
		ss->ss_family = AF_INET;
		return true;
	}
	if (inet_pton(
		AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return true;
	}
	return false;
}

/* Words that end the "from" clause of a Received value (RFC 5321). */
static const char *const clause_words[] = {
    "by",
    "via",
    "with",
    "id",
    "for",
    ";",
};

static bool
is_clause_word(const struct token *t)
{
	size_t i;

	if (t->depth > 0)
		return false;
	for (i = 0; i < NELEM(clause_words); i++)
		if (token_is(t, clause_words[i]))
			return true;
	return false;
}

/* "with" protocols by which a recipient fetches mail from its mailbox. */
static const char *const fetch_protocols[] = {"POP", "IMAP"};

/* "by" hosts that mean the recipient's own machine handed mail on. */
static const char *const local_hosts[] = {
    "localhost",
    "localhost.localdomain",
};

/* One Received field, as far as finding the origin needs it. */
struct hop {
	bool has_from;
	bool fetched; /* by the recipient's side from its own mailbox */
	bool has_addr;
	struct sockaddr_storage addr;
	struct token helo; /* the first word after "from" */
	bool has_helo;
	struct token rdns; /* the name before the address in brackets */
	bool has_rdns;
	struct token by; /* the relay that wrote the field */
	bool has_by;
};

static void
hop_check_clause(
    struct hop *hop, const struct token *keyword, const struct token *arg)
{
	size_t i;

	if (token_is(keyword, "with"))
		for (i = 0; i < NELEM(fetch_protocols); i++)
			if (token_starts(arg, fetch_protocols[i]))
				hop->fetched = true;
	if (!token_is(keyword, "by"))
		return;
	hop->by = *arg;
	hop->has_by = true;
	for (i = 0; i < NELEM(local_hosts); i++)
		if (token_is(arg, local_hosts[i]))
			hop->fetched = true;
}

/* Keep the host part of "(user@host [address])" as the reverse DNS name. */
static void
hop_set_rdns(struct hop *hop, const struct token *prev)
{
	struct token name = *prev;
	const char *at;

	if (prev->depth == 0)
		return;
	while ((at = memchr(name.text, '@', name.len)) != NULL) {
		name.len -= (size_t)(at + 1 - name.text);
		name.text = at + 1;
	}
	if (name.len == 0)
		return;
	hop->rdns = name;
	hop->has_rdns = true;
}

/*
 * Read the "from" clause up to the word that ends it, which is stored
 * in *end.  Returns false if the value ends first.
 */
static bool
hop_read_from(struct hop *hop, struct tokenizer *tz, struct token *end)
{
	struct sockaddr_storage ss, bare;
	bool has_bare = false, ended = false;
	struct token t, prev = {NULL, 0, 0, false};

	for (; !ended && token_next(tz, &t); prev = t) {
		if (is_clause_word(&t)) {
			*end = t;
			ended = true;
			continue;
		}
		if (t.depth == 0 && !hop->has_helo) {
			hop->helo = t;
			hop->has_helo = true;
		}
		if (!token_to_addr(&t, &ss))
			continue;
		if (t.bracketed) {
			hop->addr = ss;
			hop->has_addr = true;
			hop->has_rdns = false;
			if (prev.text != NULL && !token_to_addr(&prev, &ss))
				hop_set_rdns(hop, &prev);
		} else {
			bare = ss;
			has_bare = true;
		}
	}
	if (!hop->has_addr && has_bare) {
		hop->addr = bare;
		hop->has_addr = true;
	}
	return ended;
}

/* Read the clauses after "from", up to the date after ';'. */
static void
hop_read_clauses(struct hop *hop, struct tokenizer *tz, struct token keyword)
{
	struct token t;
	bool first = true;

	while (!token_is(&keyword, ";") && token_next(tz, &t)) {
		if (token_starts(&t, "fetchmail"))
			hop->fetched = true;
		if (t.depth > 0)
			continue;
		if (is_clause_word(&t)) {
			keyword = t;
			first = true;
			continue;
		}
		if (first)
			hop_check_clause(hop, &keyword, &t);
		first = false;
	}
}

static void
parse_hop(const char *v, size_t len, struct hop *hop)
{
	struct tokenizer tz = {v, len, 0, 0, false};
	struct token t, keyword;
	bool found = false;

	memset(hop, 0, sizeof(*hop));
	while (!found && token_next(&tz, &t))
		found = t.depth == 0;
	if (!found || !token_is(&t, "from"))
		return;
	hop->has_from = true;
	if (hop_read_from(hop, &tz, &keyword))
		hop_read_clauses(hop, &tz, keyword);
}

/* Copy the hop's HELO name, as an address literal if it is an address. */
static void
set_helo(struct mail_envelope *env, const struct hop *hop)
{
	struct sockaddr_storage ss;
	char text[INET6_ADDRSTRLEN];
	const void *a;
	size_t i;

	strlcpy_(env->helo, MAIL_FALLBACK_HELO, sizeof(env->helo));
	if (!hop->has_helo || hop->helo.len > SMTP_HELO_MAX)
		return;
	if (token_to_addr(&hop->helo, &ss)) {
		a = ss.ss_family == AF_INET
		    ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
		    : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
		inet_ntop(ss.ss_family, a, text, sizeof(text));
		bufprintf(env->helo, sizeof(env->helo), "[%s%s]",
		    ss.ss_family == AF_INET6 ? "IPv6:" : "", text);
		return;
	}
	for (i = 0; i < hop->helo.len; i++)
		if (!is_domain_char(hop->helo.text[i]) &&
		    hop->helo.text[i] != '.')
			return;
	memcpy(env->helo, hop->helo.text, hop->helo.len);
	env->helo[hop->helo.len] = '\0';
}

/*
 * The part of a host name that its organisation registered: the last
 * two labels, or three under a two-letter country code with a short
 * second level such as "co.uk".  NOTE: an approximation, because the
 * Public Suffix List is too large to carry here.
 */
static struct token
org_domain(const struct token *name)
{
	struct token org = *name;
	size_t i, dots = 0, want = 2, last_label = 0, second_label = 0;
	size_t label = 0;

	for (i = name->len; i > 0; i--) {
		if (name->text[i - 1] != '.') {
			label++;
			continue;
		}
		dots++;
		if (dots == 1)
			last_label = label;
		else if (dots == 2)
			second_label = label;
		label = 0;
		if (dots == 2 && last_label == 2 && second_label <= 3)
			want = 3;
		if (dots == want) {
			org.text = name->text + i;
			org.len = name->len - i;
			break;
		}
	}
	return org;
}

/*
 * True if host names a and b belong to one organisation.  Names
 * without a dot ("localhost", "dd_it7") mean nothing outside their own
 * network, and a sender can claim one freely, so they never match.
 */
static bool
same_organisation(const struct token *a, const struct token *b)
{
	struct token oa, ob;

	if (memchr(a->text, '.', a->len) == NULL ||
	    memchr(b->text, '.', b->len) == NULL)
		return false;
	oa = org_domain(a);
	ob = org_domain(b);
	return oa.len == ob.len && strncasecmp(oa.text, ob.text, oa.len) == 0;
}

/*
 * True if hop was written by the relay that origin's hop names.  The
 * reverse DNS name, when the relay recorded one, was looked up by the
 * relay; the HELO name is only the client's claim, so it counts only
 * when there is no qualified reverse DNS name.
 */
static bool
hop_continues(const struct hop *origin, const struct hop *hop)
{
	if (!hop->has_by)
		return false;
	if (origin->has_rdns &&
	    memchr(origin->rdns.text, '.', origin->rdns.len) != NULL)
		return same_organisation(&origin->rdns, &hop->by);
	return origin->has_helo && same_organisation(&origin->helo, &hop->by);
}

/*
 * Find the origin in two steps.  First the top of the chain: the first
 * hop, not a mailbox fetch, whose address is public.  Then follow the
 * chain down for as long as each field was written by the relay the
 * field above it names: those relays are known to have handled the
 * message, so what they recorded is as good as the top.  List servers
 * and forwarders are passed this way to whoever sent to them.  The
 * walk stops at the first field no known relay wrote, which is where
 * forged fields would begin.
 */
static void
take_origin(
    const char *buf, size_t len, size_t start, struct mail_envelope *env)
{
	struct field f;
	struct hop hop, origin;
	size_t pos = start;

	strlcpy_(env->helo, MAIL_FALLBACK_HELO, sizeof(env->helo));
	while (next_field(buf, len, &pos, &f)) {
		if (!field_is(&f, "Received"))
			continue;
		parse_hop(f.value, f.value_len, &hop);
		if (!hop.has_from || !hop.has_addr)
			continue;
		if (!env->has_origin) {
			if (hop.fetched ||
			    !mail_addr_is_public((struct sockaddr *)&hop.addr))
				continue;
		} else if (!hop_continues(&origin, &hop)) {
			break;
		} else if (!mail_addr_is_public((struct sockaddr *)&hop.addr)) {
			/* A hop inside the relay's own network. */
			continue;
		}
		origin = hop;
		env->has_origin = true;
	}
	if (env->has_origin) {
		env->origin = origin.addr;
		set_helo(env, &origin);
	}
}

/* The message. */

void
mail_parse(const char *buf, size_t len, struct mail_envelope *env)
{
	struct field f;
	size_t pos;

	memset(env, 0, sizeof(*env));
	env->start =
	    len > 0 && is_from_line(buf, len, 0) ? line_end(buf, len, 0) : 0;

	pos = env->start;
	while (next_field(buf, len, &pos, &f))
		continue;
	env->body_start = pos + blank_line_len(buf, len, pos);

	if (!take_sender(buf, len, env->start, "Return-Path", env) &&
	    !take_sender(buf, len, env->start, "From", env))
		env->sender[0] = '\0';
	take_recipients(buf, len, env->start, env);
	take_origin(buf, len, env->start, env);
}

bool
mail_mbox_next(
    const char *buf, size_t len, size_t *pos, size_t *start, size_t *msglen)
{
	size_t p = *pos, end;

	while (p < len && !is_from_line(buf, len, p))
		p = line_end(buf, len, p);
	if (p >= len)
		return false;

	/*
	 * mboxo and mboxrd quote body lines that begin with "From " as
	 * ">From ", so every unquoted one starts the next message.
	 */
	end = line_end(buf, len, p);
	while (end < len && !is_from_line(buf, len, end))
		end = line_end(buf, len, end);
	*start = p;
	*pos = end;

	/* The empty line before the next "From " separates, it is not body. */
	if (end - p >= 2 && buf[end - 1] == '\n' && buf[end - 2] == '\n')
		end--;
	else if (end - p >= 4 && memcmp(buf + end - 4, "\r\n\r\n", 4) == 0)
		end -= 2;
	*msglen = end - p;
	return true;
}
