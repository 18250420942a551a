/* metrics.h - the Prometheus text exposition format (version 0.0.4) */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stdbool.h>

#include "util/buf.h"

/*
 * A family is announced once with its HELP and TYPE lines, then its
 * samples follow:
 *
 *   # HELP spillway_lookups_total Socketmap lookups answered, by result.
 *   # TYPE spillway_lookups_total counter
 *   spillway_lookups_total{result="found"} 12
 *
 * Label values come from configuration and from outside (a destination
 * domain a bounce named), so they are escaped as the format requires
 * (backslash, double quote, newline) and cut at SW_METRICS_LABEL_MAX
 * bytes; other control bytes become '?'.  Label names and metric names
 * are the program's own constants.  Nothing here does I/O.
 */
#define SW_METRICS_LABEL_MAX 320 /* a scope key: "destination:" + 253 */

enum sw_metric_type { SW_METRIC_COUNTER, SW_METRIC_GAUGE };

/* "# HELP" and "# TYPE" lines. */
bool sw_metrics_family(struct sw_buf *b, const char *name, enum sw_metric_type type,
                       const char *help);
/* One sample: labels is NULL or a NULL-terminated list of name, value
 * pairs ("relay", "alt-eu", NULL).  Values print as integers when they
 * are whole, else with up to 6 decimals. */
bool sw_metrics_sample(struct sw_buf *b, const char *name, const char *const *labels,
                       double value);

#endif
