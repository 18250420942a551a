/* duration.h - parse and print durations such as "2h", "30m", "1h30m" */
#ifndef SW_DURATION_H
#define SW_DURATION_H

#include <stdbool.h>
#include <stddef.h>

/* Longest duration accepted anywhere: one year. */
#define SW_DURATION_MAX (366L * 86400L)

/* Parse "90", "90s", "10m", "2h", "1d", "1h30m" into seconds (> 0). */
bool sw_duration_parse(const char *s, long *seconds);
/* The same, but every group needs its unit ("30" is refused, "30m" not):
 * for operators' command lines. */
bool sw_duration_parse_unit(const char *s, long *seconds);
/* Print seconds compactly ("2h", "1h30m", "45s") into out. */
void sw_duration_format(long seconds, char *out, size_t size);

#endif
