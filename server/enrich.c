/*
 * Enrichment from the ip-location-db CSV files.
 *
 * Each file lists address ranges, "start,end,asn,name" or
 * "start,end,CC", where a name with a comma is double-quoted and a quote
 * inside it doubled.  The files come from a package registry, so each
 * line is checked and a bad one is counted and skipped.  Ranges are kept
 * in arrays sorted by start address and searched by bisection.  The
 * files hold about a million ranges in all, so they are loaded only when
 * some address waits to be enriched.
 */
#include "enrich.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "spampot_limits.h"
#include "util.h"

#define NO_NAME UINT32_MAX

enum geo_kind { GEO_ASN, GEO_COUNTRY, GEO_KINDS };
enum geo_family { GEO_IPV4, GEO_IPV6, GEO_FAMILIES };

/* Addresses are compared as 16 big-endian bytes; IPv4 uses the first 4. */
struct range {
	uint8_t start[16];
	uint8_t end[16];
	uint32_t value; /* the ASN, or the country code's two letters */
	uint32_t name;  /* offset of the AS name in the pool, or NO_NAME */
};

struct range_table {
	struct range *ranges;
	size_t count;
	size_t cap;
	char *pool;
	size_t pool_len;
	size_t pool_cap;
	bool loaded;
};

struct geo {
	struct range_table tables[GEO_KINDS][GEO_FAMILIES];
};

static const struct geo_file {
	const char *path;
	enum geo_kind kind;
	enum geo_family family;
	const char *what; /* what addresses lack while the file is missing */
} geo_files[] = {
    {"asn/asn-ipv4.csv", GEO_ASN, GEO_IPV4, "IPv4 AS numbers"},
    {"asn/asn-ipv6.csv", GEO_ASN, GEO_IPV6, "IPv6 AS numbers"},
    {"geolite2-country/geolite2-country-ipv4.csv", GEO_COUNTRY, GEO_IPV4,
	"IPv4 countries"},
    {"geolite2-country/geolite2-country-ipv6.csv", GEO_COUNTRY, GEO_IPV6,
	"IPv6 countries"},
};

static const int family_af[GEO_FAMILIES] = {AF_INET, AF_INET6};

const char *
geo_default_dir(void)
{
	const char *env = getenv("SPAMPOT_GEO_DIR");

	return env != NULL && *env != '\0' ? env : GEO_DEFAULT_DIR;
}

/*
 * Split a CSV line in place into at most max fields.  Returns the field
 * count, or -1 for a stray or unclosed quote or too many fields.
 */
static int
csv_split(char *line, char **fields, int max)
{
	char *p = line, *w;
	int n = 0;

	for (;;) {
		if (n == max)
			return -1;
		if (*p != '"') {
			fields[n++] = p;
			p += strcspn(p, ",\"");
			if (*p == '"')
				return -1;
			if (*p == '\0')
				return n;
			*p++ = '\0';
			continue;
		}
		fields[n++] = w = ++p;
		for (;;) {
			if (*p == '\0')
				return -1;
			if (*p == '"' && p[1] == '"') {
				*w++ = '"';
				p += 2;
			} else if (*p == '"') {
				p++;
				break;
			} else {
				*w++ = *p++;
			}
		}
		/* w trails p, so this cannot overwrite the next byte. */
		*w = '\0';
		if (*p == '\0')
			return n;
		if (*p++ != ',')
			return -1;
	}
}

static int
parse_addr(enum geo_family family, const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	return inet_pton(family_af[family], text, out) == 1 ? 0 : -1;
}

static uint32_t
pool_add(struct range_table *t, const char *name)
{
	size_t len = strlen(name) + 1;
	uint32_t off;

	/* Neighbouring ranges mostly share an AS; store its name once. */
	if (t->count > 0 && t->ranges[t->count - 1].name != NO_NAME &&
	    strcmp(t->pool + t->ranges[t->count - 1].name, name) == 0)
		return t->ranges[t->count - 1].name;
	if (t->pool_len + len > t->pool_cap) {
		t->pool_cap = t->pool_cap ? t->pool_cap * 2 : 65536;
		while (t->pool_len + len > t->pool_cap)
			t->pool_cap *= 2;
		t->pool = xrealloc(t->pool, t->pool_cap);
	}
	off = (uint32_t)t->pool_len;
	memcpy(t->pool + t->pool_len, name, len);
	t->pool_len += len;
	return off;
}

/* Parse one line into a range appended to t; returns 0 or -1 if bad. */
static int
add_line(struct range_table *t, const struct geo_file *f, char *line)
{
	char *fields[4], *end;
	struct range r;
	unsigned long asn;
	int n = csv_split(line, fields, 4);

	if (n != (f->kind == GEO_ASN ? 4 : 3) ||
	    parse_addr(f->family, fields[0], r.start) < 0 ||
	    parse_addr(f->family, fields[1], r.end) < 0 ||
	    memcmp(r.start, r.end, 16) > 0)
		return -1;
	r.name = NO_NAME;
	if (f->kind == GEO_ASN) {
		errno = 0;
		asn = strtoul(fields[2], &end, 10);
		if (errno != 0 || *end != '\0' || end == fields[2] ||
		    asn > UINT32_MAX)
			return -1;
		r.value = (uint32_t)asn;
		r.name = pool_add(t, fields[3]);
	} else {
		if (strlen(fields[2]) != 2 ||
		    strspn(fields[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2)
			return -1;
		r.value = (uint32_t)((unsigned char)fields[2][0] << 8 |
		    (unsigned char)fields[2][1]);
	}
	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 65536;
		t->ranges = xrealloc(t->ranges, t->cap * sizeof(*t->ranges));
	}
	t->ranges[t->count++] = r;
	return 0;
}

static int
range_cmp(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->start,
	    ((const struct range *)b)->start, 16);
}

static void
sort_if_needed(struct range_table *t)
{
	size_t i;

	for (i = 1; i < t->count; i++) {
		if (range_cmp(&t->ranges[i - 1], &t->ranges[i]) > 0) {
			qsort(
			    t->ranges, t->count, sizeof(*t->ranges), range_cmp);
			return;
		}
	}
}

/* Read the rest of an overlong line so the next read starts clean. */
static void
skip_line(FILE *fp)
{
	int c;

	while ((c = getc(fp)) != EOF && c != '\n')
		;
}

/* Load one range file, unless stop is set before it is read through. */
static void
load_file(struct range_table *t, const struct geo_file *f, const char *dir,
    FILE *log, const atomic_bool *stop)
{
	char path[4096], line[GEO_LINE_MAX + 2];
	unsigned long long bad = 0, first_bad = 0, line_no = 0;
	FILE *fp;

	bufprintf(path, sizeof(path), "%s/%s", dir, f->path);
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(log,
		    "%s: warning: cannot read %s: %s; addresses stay"
		    " without %s (install the data with npm, or name its"
		    " directory with --geo or SPAMPOT_GEO_DIR)\n",
		    progname, path, strerror(errno), f->what);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strlen(line);

		if (stop != NULL &&
		    atomic_load_explicit(stop, memory_order_relaxed)) {
			fclose(fp);
			return;
		}
		line_no++;
		if (len > 0 && line[len - 1] != '\n' && !feof(fp)) {
			skip_line(fp);
			line[0] = '\0';
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || add_line(t, f, line) < 0) {
			if (bad++ == 0)
				first_bad = line_no;
		}
	}
	if (ferror(fp))
		fprintf(log, "%s: warning: error reading %s: %s\n", progname,
		    path, strerror(errno));
	fclose(fp);
	if (bad > 0)
		fprintf(log,
		    "%s: warning: %s: %llu invalid lines skipped, the first"
		    " at line %llu\n",
		    progname, path, bad, first_bad);
	sort_if_needed(t);
	t->loaded = true;
}

static struct geo *
geo_load_until(const char *dir, FILE *log, const atomic_bool *stop)
{
	struct geo *geo = xcalloc(1, sizeof(*geo));
	size_t i;

	for (i = 0; i < NELEM(geo_files); i++) {
		const struct geo_file *f = &geo_files[i];

		load_file(&geo->tables[f->kind][f->family], f, dir, log, stop);
	}
	return geo;
}

struct geo *
geo_load(const char *dir, FILE *log)
{
	return geo_load_until(dir, log, NULL);
}

/*
 * Range files loaded by a thread while the caller does other work.  Its
 * warnings go to a buffer and reach the log only when the data is used,
 * as they would from enrich_pending().
 */
struct geo_preload {
	char *dir;
	pthread_t thread;
	bool running;
	atomic_bool stop; /* set when no address needs the data */
	struct geo *geo;
	FILE *log;
	char *log_text;
	size_t log_len;
};

static void *
preload_main(void *arg)
{
	struct geo_preload *p = arg;

	p->geo = geo_load_until(p->dir, p->log, &p->stop);
	return NULL;
}

struct geo_preload *
geo_preload_start(const char *dir)
{
	struct geo_preload *p = xcalloc(1, sizeof(*p));

	p->dir = xstrdup(dir);
	atomic_init(&p->stop, false);
	/* Without a buffer or a thread, enrich_preloaded() loads the data. */
	p->log = open_memstream(&p->log_text, &p->log_len);
	if (p->log != NULL &&
	    pthread_create(&p->thread, NULL, preload_main, p) == 0)
		p->running = true;
	return p;
}

/*
 * Wait for the loading thread and free p.  Returns its data, passing its
 * warnings on to log, when used; otherwise drops both and returns NULL.
 */
static struct geo *
geo_preload_finish(struct geo_preload *p, bool used, FILE *log)
{
	struct geo *geo = NULL;

	if (!used)
		atomic_store(&p->stop, true);
	if (p->running)
		pthread_join(p->thread, NULL);
	if (p->log != NULL)
		fclose(p->log);
	if (used && p->running) {
		fwrite(p->log_text, 1, p->log_len, log);
		geo = p->geo;
	} else {
		geo_free(p->geo);
	}
	if (used && geo == NULL)
		geo = geo_load(p->dir, log);
	free(p->log_text);
	free(p->dir);
	free(p);
	return geo;
}

void
geo_free(struct geo *geo)
{
	int k, f;

	if (geo == NULL)
		return;
	for (k = 0; k < GEO_KINDS; k++) {
		for (f = 0; f < GEO_FAMILIES; f++) {
			free(geo->tables[k][f].ranges);
			free(geo->tables[k][f].pool);
		}
	}
	free(geo);
}

/* The range holding key: the last one starting at or before it. */
static const struct range *
range_find(const struct range_table *t, const uint8_t key[16])
{
	size_t lo = 0, hi = t->count, mid;
	const struct range *r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(t->ranges[mid].start, key, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	r = &t->ranges[lo - 1];
	return memcmp(key, r->end, 16) <= 0 ? r : NULL;
}

bool
geo_lookup(const struct geo *geo, const char *ip, struct geo_info *out)
{
	static const uint8_t v4mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const struct range_table *asn, *country;
	const struct range *r;
	enum geo_family family;
	uint8_t key[16];

	out->asn = -1;
	out->as_name = NULL;
	out->country[0] = '\0';
	memset(key, 0, sizeof(key));
	if (inet_pton(AF_INET, ip, key) == 1) {
		family = GEO_IPV4;
	} else if (inet_pton(AF_INET6, ip, key) == 1) {
		family = GEO_IPV6;
		if (memcmp(key, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(key, key + 12, 4);
			memset(key + 4, 0, 12);
			family = GEO_IPV4;
		}
	} else {
		return true; /* not an address: no data will ever match */
	}
	asn = &geo->tables[GEO_ASN][family];
	country = &geo->tables[GEO_COUNTRY][family];
	if ((r = range_find(asn, key)) != NULL) {
		out->asn = r->value;
		out->as_name = r->name != NO_NAME ? asn->pool + r->name : NULL;
	}
	if ((r = range_find(country, key)) != NULL) {
		out->country[0] = (char)(r->value >> 8);
		out->country[1] = (char)(r->value & 0xff);
		out->country[2] = '\0';
	}
	return asn->loaded && country->loaded;
}

static char **
pending_addresses(struct db *db, size_t *count)
{
	sqlite3_stmt *st = db_stmt(db, STMT_IP_PENDING);
	char **ips = NULL;
	size_t n = 0, cap = 0;

	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *ip = (const char *)sqlite3_column_text(st, 0);

		if (ip == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			ips = xrealloc(ips, cap * sizeof(*ips));
		}
		ips[n++] = xstrdup(ip);
	}
	sqlite3_reset(st);
	*count = n;
	return ips;
}

static int
store_info(
    struct db *db, const char *ip, const struct geo_info *info, bool complete)
{
	sqlite3_stmt *st = db_stmt(db, STMT_IP_ENRICH);

	db_bind_text(st, 1, ip);
	db_bind_opt_int(st, 2, info->asn);
	db_bind_text(st, 3, info->as_name);
	db_bind_text(st, 4, info->country[0] ? info->country : NULL);
	/* Left pending while data is missing, so a later run fills it. */
	sqlite3_bind_int(st, 5, complete);
	return db_step_done(st);
}

/* Look up the n addresses of ips with geo, store them and free ips. */
static int
enrich_addresses(struct db *db, const struct geo *geo, char **ips, size_t n,
    uint64_t *count, char *err, size_t errlen)
{
	struct geo_info info;
	size_t i;
	int rc = 0;

	if (db_begin(db) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		bool complete = geo_lookup(geo, ips[i], &info);

		if (store_info(db, ips[i], &info, complete) < 0)
			rc = -1;
	}
	if (rc == 0 && db_commit(db) < 0)
		rc = -1;
	if (rc < 0) {
		bufprintf(err, errlen, "enrichment failed: %s", db_error(db));
		db_rollback(db);
	} else {
		*count = n;
	}
	for (i = 0; i < n; i++)
		free(ips[i]);
	free(ips);
	return rc;
}

int
enrich_pending(struct db *db, const char *geo_dir, FILE *log, uint64_t *count,
    char *err, size_t errlen)
{
	struct geo *geo;
	size_t n;
	char **ips = pending_addresses(db, &n);
	int rc;

	*count = 0;
	if (n == 0) {
		free(ips);
		return 0;
	}
	geo = geo_load(geo_dir, log);
	rc = enrich_addresses(db, geo, ips, n, count, err, errlen);
	geo_free(geo);
	return rc;
}

int
enrich_preloaded(struct db *db, struct geo_preload *preload, FILE *log,
    uint64_t *count, char *err, size_t errlen)
{
	struct geo *geo;
	size_t n;
	char **ips = pending_addresses(db, &n);
	int rc = 0;

	*count = 0;
	geo = geo_preload_finish(preload, n > 0, log);
	if (n > 0)
		rc = enrich_addresses(db, geo, ips, n, count, err, errlen);
	else
		free(ips);
	geo_free(geo);
	return rc;
}
