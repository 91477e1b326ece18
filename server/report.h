/*
 * Reports over the database: the tables of the SpamPots study (period
 * and totals, top ASNs, top countries, service ports, source operating
 * systems, spams per day), read from the rollup tables.
 */
#ifndef SPAMPOT_REPORT_H
#define SPAMPOT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

/* Rows in each ranked table when --top is not given. */
#define REPORT_TOP_DEFAULT 10

/* Largest --top accepted; more rows than this are no longer a summary. */
#define REPORT_TOP_MAX 100000

enum report_format {
	REPORT_TEXT,
	REPORT_CSV,
	REPORT_JSON,
	REPORT_MD,
};

struct report_options {
	enum report_format format;
	int top;            /* rows per ranked table */
	const char *since;  /* first UTC day, YYYY-MM-DD, or NULL */
	const char *until;  /* last UTC day, inclusive, or NULL */
	const char *sensor; /* one sensor's name, or NULL for all */
	bool detail;        /* add the OS table by p0f label */
};

/* The English short name of an ISO 3166-1 code, or "unknown". */
const char *report_country_name(const char *code);

/* The proxy or mail service usually found on port, or "unknown". */
const char *report_port_label(int64_t port);

/* Map "text", "csv", "json" or "md"; returns 0 or -1 if unknown. */
int report_parse_format(const char *name, enum report_format *out);

/*
 * Write every table to out.  Returns 0, or -1 with err set when the
 * options name an unknown sensor or the database fails.
 */
int report_write(struct db *db, const struct report_options *opts, FILE *out,
    char *err, size_t errlen);

#endif
