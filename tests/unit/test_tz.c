/* test_tz: milestone deadlines come from the system's time-zone database —
 * Asia/Shanghai's local midnights equal UTC+8's, a DST zone has its short and
 * long days, an unknown zone is refused instead of silently becoming UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "tz.h"

static void test_shanghai_is_utc8(void **state)
{
    (void)state;
    bw_calendar tz, fixed;
    bw_err err;
    if (bw_tz_calendar("Asia/Shanghai", 2022, &tz, &err))
        fail_msg("%s", err.msg);
    bw_cal_init_fixed(&fixed, 2022, 8 * 3600);
    assert_int_equal(tz.ndays, 365);
    assert_memory_equal(tz.day_start, fixed.day_start, sizeof(int64_t) * 366);
    assert_int_equal(tz.day_start[0], 1640966400);                 /* 2022-01-01 00:00 +08:00 */
    assert_int_equal(bw_cal_deadline(&tz, 3, 31), 1648742400);     /* 2022-03-31T16:00:00Z */
}

static void test_dst_days(void **state)
{
    (void)state;
    bw_calendar c;
    bw_err err;
    assert_int_equal(bw_tz_calendar("Europe/Berlin", 2022, &c, &err), 0);
    int mar27 = bw_cal_doy(&c, 3, 27), oct30 = bw_cal_doy(&c, 10, 30);
    assert_int_equal(c.day_start[mar27 + 1] - c.day_start[mar27], 23 * 3600);
    assert_int_equal(c.day_start[oct30 + 1] - c.day_start[oct30], 25 * 3600);
    assert_int_equal(c.day_start[mar27] - c.day_start[mar27 - 1], 24 * 3600);
}

static void test_leap_year_and_unknown_zone(void **state)
{
    (void)state;
    bw_calendar c;
    bw_err err;
    assert_int_equal(bw_tz_calendar("Asia/Shanghai", 2024, &c, &err), 0);
    assert_int_equal(c.ndays, 366);
    assert_int_equal(bw_cal_doy(&c, 2, 29), 59);
    assert_int_equal(bw_tz_calendar("Asia/Shangai", 2022, &c, &err), -1);
    assert_non_null(strstr(err.msg, "time zone \"Asia/Shangai\" is not in the time-zone database"));
    assert_int_equal(bw_tz_calendar("../etc/passwd", 2022, &c, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shanghai_is_utc8),
        cmocka_unit_test(test_dst_days),
        cmocka_unit_test(test_leap_year_and_unknown_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
