/* calendar: the days of one fiscal year as instants in the configured time zone.
 * The shell (tz.c) fills day_start[] from the system's time-zone database; the
 * core only reads it, so it needs no clock and no time-zone code of its own. */
#ifndef BW_CALENDAR_H
#define BW_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct bw_calendar {
    int year;                 /* the fiscal year = the calendar year */
    int ndays;                /* 365 or 366 */
    int64_t day_start[367];   /* Unix s of local midnight starting day i (0 = Jan 1);
                                 day_start[ndays] is the start of the next year */
} bw_calendar;

bool bw_cal_is_leap(int year);
int bw_cal_days_in_month(int year, int month);       /* 0 for a bad month */
bool bw_cal_valid_date(int year, int month, int day);
/* Day index (0 = Jan 1) of a valid date in the calendar's year, or -1. */
int bw_cal_doy(const bw_calendar *cal, int month, int day);
/* Fills a calendar for a zone with a fixed UTC offset (seconds east); for tests
 * and for zones without daylight saving. */
void bw_cal_init_fixed(bw_calendar *cal, int year, int64_t utc_offset);
/* The instant a milestone MM-DD falls due: the end of that local day, which is
 * the start of the next one. Requires a valid date. */
int64_t bw_cal_deadline(const bw_calendar *cal, int month, int day);
int64_t bw_cal_year_start(const bw_calendar *cal);
int64_t bw_cal_year_end(const bw_calendar *cal);   /* start of next year */
/* Whole local days elapsed since the start of the year at instant t, clamped to
 * [0, ndays]. (序时进度 = this / ndays.) */
int bw_cal_days_elapsed(const bw_calendar *cal, int64_t t);
/* Splits t into local month/day (1-based) and seconds into the day; t must lie
 * inside the year. Returns false outside it. */
bool bw_cal_local_date(const bw_calendar *cal, int64_t t, int *month, int *day);

#endif
