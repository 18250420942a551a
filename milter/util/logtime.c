/* logtime.c - the time a mail log line carries, and whether it is recent enough */
#include "config.h"

#include <string.h>

#include "util/logtime.h"

/* Days from 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's
 * algorithm): timegm() without the time zone and without libc extensions. */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long) doe - 719468;
}

/* A BSD stamp has no year: read on 1 January, "Dec 31" is last year's;
 * read on 31 December by a host whose clock runs behind, "Jan  1" is next
 * year's.  Up to a month ahead of now is taken as this side of New Year. */
#define SW_LOGTIME_YEAR_SLACK (31L * 86400L)

/* digits - n ASCII digits at p (bounded by end) as a number, -1 if not */
static int
digits(const char *p, const char *end, size_t n)
{
    int v = 0;
    size_t i;

    if ((size_t) (end - p) < n)
        return -1;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* skip_fraction - ".123456" after the seconds */
static const char *
skip_fraction(const char *p, const char *end)
{
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

/* valid_clock - a plausible date and time of day (leap second allowed) */
static bool
valid_clock(int mon, int day, int h, int m, int s)
{
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && h >= 0 && h <= 23 && m >= 0 && m <= 59
           && s >= 0 && s <= 60;
}

/* parse_rfc3339 - "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" */
static bool
parse_rfc3339(const char *p, const char *end, time_t *t)
{
    int y = digits(p, end, 4), mon, day, h, m, s, oh, om, sign = 0;
    long long secs;

    if (y < 0 || end - p < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ')
        || p[13] != ':' || p[16] != ':')
        return false;
    mon = digits(p + 5, end, 2);
    day = digits(p + 8, end, 2);
    h = digits(p + 11, end, 2);
    m = digits(p + 14, end, 2);
    s = digits(p + 17, end, 2);
    if (!valid_clock(mon, day, h, m, s))
        return false;
    p = skip_fraction(p + 19, end);
    if (p < end && (*p == 'Z' || *p == 'z')) {
        oh = om = 0;
    } else if (end - p >= 6 && (*p == '+' || *p == '-') && p[3] == ':') {
        sign = *p == '-' ? -1 : 1;
        oh = digits(p + 1, end, 2);
        om = digits(p + 4, end, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
    } else {
        return false; /* no zone: ambiguous, not a time we can trust */
    }
    secs = days_from_civil(y, (unsigned) mon, (unsigned) day) * 86400LL + h * 3600LL + m * 60LL + s;
    secs -= sign * (oh * 3600LL + om * 60LL);
    *t = (time_t) secs;
    return true;
}

/* month - "Jan" .. "Dec" to 0 .. 11, -1 if not */
static int
month(const char *p, const char *end)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int i;

    if (end - p < 3)
        return -1;
    for (i = 0; i < 12; i++)
        if (memcmp(p, names + 3 * i, 3) == 0)
            return i;
    return -1;
}

/* bsd_at - the BSD stamp's local time in a given year */
static time_t
bsd_at(int year, int mon, int day, int h, int m, int s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

/* parse_bsd - "Mmm dd HH:MM:SS[.frac] " in local time; the year: the latest
 * that does not put the line more than SW_LOGTIME_YEAR_SLACK ahead of now */
static bool
parse_bsd(const char *p, const char *end, time_t now, time_t *t)
{
    int mon = month(p, end), day, h, m, s, year, dy;
    struct tm nowtm;
    time_t cand;

    if (mon < 0 || end - p < 15 || p[3] != ' ' || p[9] != ':' || p[12] != ':')
        return false;
    day = p[4] == ' ' ? digits(p + 5, end, 1) : digits(p + 4, end, 2);
    h = digits(p + 7, end, 2);
    m = digits(p + 10, end, 2);
    s = digits(p + 13, end, 2);
    if (!valid_clock(mon + 1, day, h, m, s))
        return false;
    p = skip_fraction(p + 15, end);
    if (p < end && *p != ' ')
        return false;
    if (localtime_r(&now, &nowtm) == NULL)
        return false;
    year = nowtm.tm_year + 1900;
    for (dy = 1; dy >= -1; dy--) {
        cand = bsd_at(year + dy, mon, day, h, m, s);
        if (cand != (time_t) -1 && (long long) cand - (long long) now <= SW_LOGTIME_YEAR_SLACK) {
            *t = cand;
            return true;
        }
    }
    return false;
}

/* sw_logtime_parse - the timestamp at the start of a line */
bool
sw_logtime_parse(const char *line, size_t len, time_t now, time_t *t)
{
    const char *end = line + len;

    if (len > 0 && line[0] >= '0' && line[0] <= '9')
        return parse_rfc3339(line, end, t);
    return parse_bsd(line, end, now, t);
}

/* sw_logtime_check - recent enough to be evidence */
enum sw_logtime_verdict
sw_logtime_check(time_t t, time_t now)
{
    if ((long long) t - (long long) now > SW_LOGTIME_MAX_FUTURE)
        return SW_LOGTIME_FUTURE;
    if ((long long) now - (long long) t > SW_LOGTIME_MAX_AGE)
        return SW_LOGTIME_OLD;
    return SW_LOGTIME_OK;
}

/* sw_logtime_verdict_name - for logs and counters */
const char *
sw_logtime_verdict_name(enum sw_logtime_verdict v)
{
    switch (v) {
    case SW_LOGTIME_OK: return "ok";
    case SW_LOGTIME_NONE: return "undated";
    case SW_LOGTIME_FUTURE: return "future";
    case SW_LOGTIME_OLD: return "old";
    }
    return "?";
}
