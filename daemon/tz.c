/* tz: local midnights of a year in a named zone, through mktime under TZ. The
 * zone file must exist: glibc treats an unknown TZ as UTC without a word. */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int zone_exists(const char *zone)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    if (zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..") != NULL)
        return 0;
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    return access(path, R_OK) == 0;
}

int bw_tz_calendar(const char *zone, int year, bw_calendar *cal, bw_err *err)
{
    if (!zone_exists(zone))
        return bw_err_set(err, "time zone \"%s\" is not in the time-zone database "
                          "(/usr/share/zoneinfo); use a name like Asia/Shanghai, and install "
                          "tzdata", zone);
    if (year < 1971 || year > 9999)
        return bw_err_set(err, "fiscal year %d is out of range", year);
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", zone, 1);
    tzset();
    cal->year = year;
    cal->ndays = bw_cal_is_leap(year) ? 366 : 365;
    int rc = 0;
    for (int i = 0; i <= cal->ndays && rc == 0; i++) {
        /* mktime normalises day-of-year overflow into the right month. */
        struct tm tm = { .tm_year = year - 1900, .tm_mon = 0, .tm_mday = 1 + i, .tm_isdst = -1 };
        time_t t = mktime(&tm);
        if (t == (time_t)-1)
            rc = bw_err_set(err, "cannot compute local midnights of %d in %s", year, zone);
        cal->day_start[i] = (int64_t)t;
    }
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    return rc;
}
