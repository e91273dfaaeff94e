/* calendar: dates of the fiscal year and the instants at which its local days
 * begin. Pure: the day starts are handed in (tz.c fills them from tzdata). */
#include "calendar.h"

bool bw_cal_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int bw_cal_days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && bw_cal_is_leap(year) ? 29 : days[month - 1];
}

bool bw_cal_valid_date(int year, int month, int day)
{
    return day >= 1 && day <= bw_cal_days_in_month(year, month);
}

int bw_cal_doy(const bw_calendar *cal, int month, int day)
{
    if (!bw_cal_valid_date(cal->year, month, day))
        return -1;
    int doy = day - 1;
    for (int m = 1; m < month; m++)
        doy += bw_cal_days_in_month(cal->year, m);
    return doy;
}

/* Days from 1970-01-01 to year-01-01 (proleptic Gregorian), for fixed zones. */
static int64_t days_before_year(int year)
{
    int64_t y = year - 1;
    return 365 * (y - 1969) + (y / 4 - 1969 / 4) - (y / 100 - 1969 / 100) + (y / 400 - 1969 / 400);
}

void bw_cal_init_fixed(bw_calendar *cal, int year, int64_t utc_offset)
{
    cal->year = year;
    cal->ndays = bw_cal_is_leap(year) ? 366 : 365;
    int64_t start = days_before_year(year) * 86400 - utc_offset;
    for (int i = 0; i <= cal->ndays; i++)
        cal->day_start[i] = start + (int64_t)i * 86400;
}

int64_t bw_cal_deadline(const bw_calendar *cal, int month, int day)
{
    return cal->day_start[bw_cal_doy(cal, month, day) + 1];
}

int64_t bw_cal_year_start(const bw_calendar *cal) { return cal->day_start[0]; }
int64_t bw_cal_year_end(const bw_calendar *cal) { return cal->day_start[cal->ndays]; }

int bw_cal_days_elapsed(const bw_calendar *cal, int64_t t)
{
    if (t <= cal->day_start[0])
        return 0;
    if (t >= cal->day_start[cal->ndays])
        return cal->ndays;
    int lo = 0, hi = cal->ndays;     /* day_start[lo] <= t < day_start[hi] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (cal->day_start[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

bool bw_cal_local_date(const bw_calendar *cal, int64_t t, int *month, int *day)
{
    if (t < cal->day_start[0] || t >= cal->day_start[cal->ndays])
        return false;
    int doy = bw_cal_days_elapsed(cal, t);
    int m = 1;
    while (doy >= bw_cal_days_in_month(cal->year, m)) {
        doy -= bw_cal_days_in_month(cal->year, m);
        m++;
    }
    *month = m;
    *day = doy + 1;
    return true;
}
