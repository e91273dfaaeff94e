/* tz: the local midnights of a fiscal year in an IANA time zone, from the
 * system's time-zone database, for the core's calendar. Shell code: it sets the
 * process's TZ while it works, so call it at start-up and reload only. */
#ifndef BW_TZ_H
#define BW_TZ_H

#include "calendar.h"
#include "err.h"

/* Fills cal for `year` in `zone` (e.g. "Asia/Shanghai"). Returns 0, or -1 with
 * the reason: an unknown zone (glibc would silently use UTC), a bad name. */
int bw_tz_calendar(const char *zone, int year, bw_calendar *cal, bw_err *err);

#endif
