/*
 * Every bound on peer input and on the resources one peer can hold.
 *
 * The sensor reads bytes from anyone on the Internet.  Each value here
 * caps what such a peer can make it buffer, wait for or repeat, and
 * its comment gives the reason for that value.  Configuration may
 * lower the connection caps, but nothing may raise a byte limit past
 * these.
 */
#ifndef SPAMPOT_LIMITS_H
#define SPAMPOT_LIMITS_H

/* SMTP (RFC 5321 section 4.5.3.1 gives the minimums). */

/*
 * Longest command line, terminator included.  RFC 5321 requires 512;
 * Postfix accepts 2048 (line_length_limit), and we answer 500 above it.
 */
#define SMTP_COMMAND_LINE_MAX 2048

/*
 * Largest message, in bytes after dot-unstuffing.  This is Postfix's
 * default message_size_limit, and it is the SIZE we advertise.
 */
#define SMTP_MESSAGE_SIZE_MAX 10240000

/*
 * Largest zstd frame of one body in a pack: zstd's bound for the
 * largest message, rounded up (bodypack.c checks it at compile time).
 * A pack's header that names more is damage, not a body.
 */
#define PACK_FRAME_MAX \
	(SMTP_MESSAGE_SIZE_MAX + SMTP_MESSAGE_SIZE_MAX / 128 + 65536)

/*
 * Largest zstd window, as a power of two, that a reader of a pack
 * allocates for a frame: 16 MiB, more than the largest body needs.  A
 * frame may declare up to 2^27 bytes by zstd's default, and a damaged
 * or hostile pack could then cost 128 MiB for each body read.
 */
#define PACK_WINDOW_LOG_MAX 24

/* Recipients per message: Postfix's smtpd_recipient_limit default. */
#define SMTP_RCPT_MAX 1000

/*
 * Recipients whose addresses are kept in the event of a message; the
 * count is always exact.  Spam runs to thousands of recipients, and the
 * first few are enough to tell a campaign's targets.
 */
#define SMTP_RCPT_LOGGED_MAX 100

/* Longest mailbox we keep: RFC 5321 path limit (256) rounded up. */
#define SMTP_ADDRESS_MAX 320

/* Longest HELO/EHLO argument kept: a host name is at most 255. */
#define SMTP_HELO_MAX 255

/*
 * Bytes kept of each AUTH user name, password and response.  Real ones
 * are far shorter; a longer one is truncated, never refused.
 */
#define SMTP_AUTH_FIELD_MAX 256

/* Seconds a client may stay silent between commands (RFC 5321: 5 min). */
#define SMTP_IDLE_TIMEOUT 300

/* Seconds one SMTP session may last in all, however busy. */
#define SMTP_SESSION_TIME_MAX 3600

/* Messages per SMTP session before we answer 421 and close. */
#define SMTP_MESSAGES_PER_SESSION_MAX 10000

/* Protocol errors per session before 421 and close (Postfix: 20). */
#define SMTP_ERRORS_MAX 20

/*
 * Bytes of message bodies held in memory by all sessions together.
 * A message over this budget is discarded and answered 452, so that
 * many clients sending large bodies at once cannot exhaust memory.
 */
#define SMTP_BODY_MEMORY_MAX (256u * 1024 * 1024)

/*
 * Relay of probe messages (off unless configured): messages per clock
 * hour in all and per recipient domain by default, the most an
 * operator may set, recipient domains tracked within one hour, relays
 * under way at once, and seconds one relay may take.  A checker sends
 * a probe or two per proxy it tests; more than a few an hour to one
 * domain would make the sensor a relay for whoever fakes probes.
 */
#define PROBE_RELAY_PER_HOUR_DEFAULT	   10
#define PROBE_RELAY_PER_DOMAIN_DEFAULT	   3
#define PROBE_RELAY_PER_HOUR_MAX	   1000
#define PROBE_RELAY_DOMAINS_MAX		   256
#define PROBE_RELAY_PENDING_MAX		   8
#define PROBE_RELAY_TIMEOUT		   60

/* Proxy protocols. */

/*
 * Seconds a new connection may take to send its first bytes on a
 * proxy port, and to finish the SOCKS or HTTP handshake.
 */
#define PROXY_HANDSHAKE_TIMEOUT 30

/* Longest HTTP request head (request line and headers): Squid's 64 KiB. */
#define HTTP_HEAD_MAX 65536

/* Header fields per HTTP request, as Apache's LimitRequestFields. */
#define HTTP_FIELDS_MAX 100

/* Longest HTTP request body we read and log, for POST through a proxy. */
#define HTTP_BODY_MAX 65536

/*
 * Longest chunk-size line of a chunked request body, extensions and
 * CRLF included.  Sixteen hex digits cover any size; the rest leaves
 * room for the chunk extensions clients rarely send.
 */
#define HTTP_CHUNK_LINE_MAX 1024

/*
 * Bytes of one request header field, and of a request body, kept in a
 * proxy.request event.  Escaped, a byte can take six characters, and
 * the event still has to fit in EVENT_LINE_MAX with its other fields.
 */
#define HTTP_FIELD_LOGGED_MAX 256
#define HTTP_BODY_LOGGED_MAX  1024

/*
 * Hops of a proxy chain served in-process, counting the first proxy:
 * a chain through the sensor's own ports longer than this is refused,
 * so that a client cannot loop a tunnel back on itself forever.
 * Checkers chain two or three proxies; eight leaves room.
 */
#define PROXY_CHAIN_DEPTH_MAX 8

/*
 * An accepted tunnel that leads nowhere: seconds it may stay silent,
 * and its first bytes kept for the event (enough for a TLS ClientHello
 * with its server name).  Later bytes are counted and dropped.
 */
#define TUNNEL_IDLE_TIMEOUT 60
#define TUNNEL_PREFIX_MAX   2048

/*
 * SOCKS fields carry one-byte lengths (RFC 1928, RFC 1929), so 255 is
 * the protocol's own bound.  SOCKS4 user ids and SOCKS4a host names
 * end in NUL and have no length; we cap them at the same value.
 */
#define SOCKS_FIELD_MAX 255

/* PROXY protocol v1 header, CRLF included (HAProxy specification). */
#define PROXY_V1_MAX 107

/*
 * PROXY protocol v2: 16 bytes of fixed header plus the announced
 * length.  We accept addresses and a modest set of TLVs, no more.
 */
#define PROXY_V2_MAX (16 + 512)

/* Connections. */

/*
 * Seconds a peer may leave our replies unread before we give up on it,
 * so that a client that never reads cannot pin its output buffer.
 */
#define WRITE_TIMEOUT 120

/*
 * After its last reply a plain connection half-closes and reads what
 * the peer still sends, for at most this many seconds and bytes (give
 * or take one read), then closes.  Before that, a closing connection
 * has WRITE_TIMEOUT seconds in all to send its last replies.  Closing with input unread makes the kernel send a reset,
 * which may destroy the last reply before the peer has read it.
 */
#define LINGER_TIMEOUT   2
#define LINGER_BYTES_MAX 65536

/*
 * Bytes read ahead from one connection and not yet consumed.  The
 * handshake parsers need at most HTTP_HEAD_MAX; SMTP input is consumed
 * as it comes, so this also bounds what a pipelining client can queue
 * while its previous message is being committed.
 */
#define CONN_INPUT_MAX (HTTP_HEAD_MAX + 4096)

/*
 * Bytes of replies queued for a peer that does not read them.  Past
 * this the sensor stops reading the peer's input, so a client that
 * pipelines commands without reading their replies cannot grow the
 * queue, and reads again once half of it has drained.
 */
#define CONN_OUTPUT_MAX 65536

/* Open connections from one source address. */
#define CONN_PER_IP_MAX 64

/* Open connections in all, kept under the usual descriptor limits. */
#define CONN_TOTAL_MAX 16384

/* Source addresses tracked for the per-address cap (a hash table). */
#define CONN_TRACKED_IPS_MAX 65536

/*
 * Least burst of a bandwidth cap's token bucket, in bytes: one read of
 * libevent's (16 KiB), so that a single read can always be charged
 * whole.  Above it the burst is one second of the configured rate.
 */
#define RATE_BURST_MIN 16384

/* Listeners one sensor may configure. */
#define LISTENERS_MAX 64

/* Trusted networks for the PROXY protocol in one configuration. */
#define TRUSTED_NETS_MAX 64

/* Configuration file: longest line and largest file. */
#define CONFIG_LINE_MAX 1024
#define CONFIG_SIZE_MAX (1024 * 1024)

/*
 * Keys in one section of a configuration file.  A key may appear once
 * per section, and the reader compares each with those before it, so
 * the bound also caps that cost.  The [sensor] section of
 * spampotd.conf(5) has 28 keys.
 */
#define CONFIG_SECTION_KEYS_MAX 128

/* Spool. */

/*
 * Longest event line the sensor writes.  Fields from peers are escaped
 * and truncated so that one event always fits.
 */
#define EVENT_LINE_MAX 16384

/* Bytes of a peer-supplied string kept in an event before truncation. */
#define EVENT_STRING_MAX 1024

/* Events file size at which the sensor starts a new one. */
#define EVENTS_FILE_SIZE_MAX (64u * 1024 * 1024)

/*
 * Pack size at which the sensor starts a new events file and pack.
 * Bodies compress about 4:1, so an hour of a busy sensor fits in one.
 */
#define PACK_FILE_SIZE_MAX (256u * 1024 * 1024)

/*
 * Bytes of compressed records after which the sensor's commit thread
 * writes them to the pack before it compresses the batch's next body.
 * Its buffer then contains at most this and one body's record, which the
 * thread frees after a batch that grew it past this size.
 */
#define PACK_RECORDS_KEEP_MAX (4u * 1024 * 1024)

/*
 * Largest confirmation list the sensor reads from spool/confirm/: the
 * server writes one line per file it has verified (about 80 bytes).
 */
#define CONFIRM_FILE_MAX (16 * 1024 * 1024)

/* Server side. */

/*
 * Largest heartbeat.json the server reads.  The sensor's own is under
 * 32 KiB even with LISTENERS_MAX listeners.
 */
#define HEARTBEAT_FILE_MAX (64 * 1024)

/* Longest event line the server reads; longer lines are skipped. */
#define INGEST_LINE_MAX (4 * EVENT_LINE_MAX)

/*
 * Longest line of the IP-to-ASN and IP-to-country CSV files.  Their
 * longest AS names are under 250 bytes, so a longer line is damage.
 */
#define GEO_LINE_MAX 1024

/* Largest message replay sends; corpus files above it are skipped. */
#define REPLAY_MESSAGE_MAX SMTP_MESSAGE_SIZE_MAX

/*
 * Recipients replay takes from one message's headers.  Corpus spam
 * addresses a handful; a list of thousands in To: would only slow the
 * replay, and the sensor keeps no more than SMTP_RCPT_LOGGED_MAX.
 */
#define REPLAY_RCPT_MAX 100

/*
 * Largest p0f fingerprint database read.  p0f 3.09b's p0f.fp is 36 KB;
 * 1 MiB leaves room for local entries, and since every entry takes a
 * line, it also bounds the entries and the memory they use.
 */
#define P0F_DB_SIZE_MAX (1024 * 1024)

/* The web dashboard (spampot web). */

/*
 * Longest request URI, query included.  Our own links stay far below
 * 1 KiB; a longer one is a probe, answered 414 before it is parsed.
 */
#define WEB_URI_MAX 2048

/* Query parameters per request; every page takes fewer than ten. */
#define WEB_PARAMS_MAX 16

/* Bytes of one decoded query parameter value (an IP, a day, a name). */
#define WEB_PARAM_VALUE_MAX 128

/*
 * Bytes libmicrohttpd may use per connection for the request line and
 * headers.  A request whose head does not fit gets 431 or 414; 32 KiB
 * holds any browser's headers with room to spare.
 */
#define WEB_CONN_MEMORY_MAX (32 * 1024)

/* Open connections in all, and from one address: one analyst's tabs. */
#define WEB_CONNECTIONS_MAX    64
#define WEB_CONNECTIONS_PER_IP 16

/* Seconds an idle connection stays open. */
#define WEB_IDLE_TIMEOUT 30

/* Messages per page of the message list. */
#define WEB_PAGE_SIZE 50

/*
 * Bytes of a message the viewer decodes and shows, and the largest
 * body it decompresses for a download: the sensor stores no larger.
 */
#define WEB_VIEW_BYTES_MAX (1024 * 1024)
#define WEB_RAW_BYTES_MAX  SMTP_MESSAGE_SIZE_MAX

/* MIME parts the viewer lists, and how deep multiparts may nest. */
#define WEB_MIME_PARTS_MAX 64
#define WEB_MIME_DEPTH_MAX 4

/* Header fields of one message or part the viewer lists. */
#define WEB_MIME_HEADERS_MAX 256

/*
 * Largest SVG chart the dashboard serves.  The chart writer caps its
 * points at 400 per series, so 1 MiB is an estimate with a wide margin.
 */
#define WEB_CHART_BYTES_MAX (1024 * 1024)

/* Largest heartbeat.json read for the overview. */
#define WEB_HEARTBEAT_MAX (64 * 1024)

/*
 * Bytes of a request's path written to the log line of a failed
 * request.  The dashboard's own paths are under 64 bytes, so more only
 * shows how long a probe was.
 */
#define WEB_LOG_PATH_MAX 160

#endif
