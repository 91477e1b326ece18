/*
 * The study's charts as SVG files, read from the rollup tables so that
 * a year of data needs no scan of the message table.
 */
#ifndef SPAMPOT_CHARTS_H
#define SPAMPOT_CHARTS_H

#include <stddef.h>

#include "db.h"
#include "report.h"

/*
 * Write the charts into the directory dir, which must exist, with the
 * filters of opts (days, sensor, --top for the ranked charts).  Returns
 * the number of files written, or -1 with err set.
 */
int charts_write(struct db *db, const struct report_options *opts,
    const char *dir, char *err, size_t errlen);

#endif
