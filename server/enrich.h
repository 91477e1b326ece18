/*
 * Enrichment: source address to AS number, AS name and country code,
 * from the CSV range files of the ip-location-db packages.
 */
#ifndef SPAMPOT_ENRICH_H
#define SPAMPOT_ENRICH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

/* Directory of the packages as npm installs them, relative to the cwd. */
#define GEO_DEFAULT_DIR "node_modules/@ip-location-db"

struct geo;
struct geo_preload;

/* Result of one lookup; asn is -1 and country "" when not found. */
struct geo_info {
	int64_t asn;
	const char *as_name; /* NULL when not found; owned by the geo */
	char country[3];
};

/* The directory from SPAMPOT_GEO_DIR, or GEO_DEFAULT_DIR. */
const char *geo_default_dir(void);

/*
 * Load the four range files under dir (asn/asn-ipv{4,6}.csv and
 * geolite2-country/geolite2-country-ipv{4,6}.csv).  A missing or
 * unreadable file is a warning on log; its lookups find nothing.
 */
struct geo *geo_load(const char *dir, FILE *log);
void geo_free(struct geo *geo);

/*
 * Look up text address ip.  Returns true when both the ASN and the
 * country tables for its address family were loaded, so that a miss
 * means the address is in no range rather than that data is missing.
 */
bool geo_lookup(const struct geo *geo, const char *ip, struct geo_info *out);

/*
 * Enrich every address in the ip table not yet enriched, loading the
 * range files only when there is one.  Returns 0 and the number of
 * addresses looked up, or -1 with err set if the database fails.
 */
int enrich_pending(struct db *db, const char *geo_dir, FILE *log,
    uint64_t *count, char *err, size_t errlen);

/*
 * Start loading the range files of dir in a thread, so that a command
 * can enrich right after other work, such as an ingest, with
 * enrich_preloaded().  The loading stops early if no address needs it.
 */
struct geo_preload *geo_preload_start(const char *dir);

/*
 * Enrich as enrich_pending() does, with the data loaded by preload.
 * Frees preload on every path, failures included.
 */
int enrich_preloaded(struct db *db, struct geo_preload *preload, FILE *log,
    uint64_t *count, char *err, size_t errlen);

#endif
