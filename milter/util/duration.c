/* duration.c - parse and print durations such as "2h", "30m", "1h30m" */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/duration.h"

/* unit_seconds - seconds per unit letter, 0 if not a unit */
static long
unit_seconds(char c)
{
    switch (c) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return 0;
    }
}

/* parse - one or more NUMBER[UNIT] groups, no sign, no space; a bare
 * number is seconds unless every group must name its unit */
static bool
parse(const char *s, bool need_unit, long *seconds)
{
    long total = 0, v, unit;
    char *end;

    if (s == NULL || *s == '\0')
        return false;
    while (*s) {
        if (*s < '0' || *s > '9')
            return false;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || v < 0 || v > SW_DURATION_MAX)
            return false;
        if (*end == '\0' && !need_unit)
            unit = 1;
        else if ((unit = unit_seconds(*end)) == 0)
            return false;
        else
            end++;
        if (v > (SW_DURATION_MAX - total) / unit)
            return false;
        total += v * unit;
        s = end;
    }
    if (total <= 0)
        return false;
    *seconds = total;
    return true;
}

/* sw_duration_parse - "90" is 90 seconds (configuration files) */
bool
sw_duration_parse(const char *s, long *seconds)
{
    return parse(s, false, seconds);
}

/* sw_duration_parse_unit - every group names its unit: on a command line
 * "--for 30" is more likely 30 minutes meant than 30 seconds, so it is
 * refused rather than guessed */
bool
sw_duration_parse_unit(const char *s, long *seconds)
{
    return parse(s, true, seconds);
}

/* sw_duration_format - largest units first, at most two groups */
void
sw_duration_format(long seconds, char *out, size_t size)
{
    static const struct {
        long secs;
        char unit;
    } units[] = {
        { 86400, 'd' },
        { 3600, 'h' },
        { 60, 'm' },
        { 1, 's' },
    };
    size_t i, used = 0;
    int groups = 0, n;

    if (size == 0)
        return;
    out[0] = '\0';
    if (seconds <= 0) {
        (void) snprintf(out, size, "0s");
        return;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]) && groups < 2; i++) {
        if (seconds < units[i].secs)
            continue;
        n = snprintf(out + used, size - used, "%ld%c", seconds / units[i].secs, units[i].unit);
        if (n < 0 || (size_t) n >= size - used)
            return;
        used += (size_t) n;
        seconds %= units[i].secs;
        groups++;
        if (seconds == 0)
            break;
    }
}
