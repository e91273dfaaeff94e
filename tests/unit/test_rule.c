/* test_rule: every project kind of the table has its rule and the daemon's kinds
 * none; each rule on its own, at its thresholds, without an engine. The life
 * cycle around the rules is test_engine's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "rule.h"

#define T0 1640966400LL         /* 2022-01-01 00:00 +08:00 */
#define DAY 86400LL

/* 30 % by day 90, 100 % by day 360; target 95 %, year end at day 365. */
static bw_knots knots(void)
{
    bw_knots k = { .n = 2, .t = { T0, T0 + 90 * DAY, T0 + 360 * DAY }, .bp = { 0, 3000, 10000 } };
    return k;
}

typedef struct world {
    bw_engine_opts opts;
    bw_knots k;
    bw_slot slot;
    bw_rule_project p;
} world;

static void world_init(world *w)
{
    bw_engine_opts_default(&w->opts);
    w->k = knots();
    w->slot = (bw_slot){ 0 };
    w->p = (bw_rule_project){ &w->opts, &w->k, 9500, T0 + 365 * DAY, &w->slot, NULL, 0, 0, NULL, 0 };
}

static bw_figures fig(int32_t rate_bp, int32_t planned_bp, int64_t paid, int64_t budget)
{
    bw_figures f = { .budget = budget, .paid = paid, .rate_bp = rate_bp, .planned_bp = planned_bp,
                     .lag_bp = planned_bp - rate_bp };
    return f;
}

static void test_every_project_kind_has_a_rule(void **state)
{
    (void)state;
    for (int k = 0; k < BW_KINDS; k++) {
        const bw_rule *r = bw_rule_of(k);
        if (!bw_kind_is_project(k)) {
            assert_null(r);
            continue;
        }
        assert_non_null(r);
        assert_non_null(r->want);
        assert_non_null(r->next);
        assert_int_equal(r->about_milestone, k == BW_KIND_MILESTONE);
    }
    assert_null(bw_rule_of(-1));
    assert_null(bw_rule_of(BW_KINDS));
    assert_ptr_equal(bw_rule_of(BW_KIND_LAG), &bw_rule_lag);
    assert_ptr_equal(bw_rule_of(BW_KIND_YEAR_END), &bw_rule_year_end);
}

/* Thresholds 10 and 20 pp; a firing level holds down to 1 pp below them. */
static void test_lag(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    const bw_rule *r = &bw_rule_lag;
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 999 }, T0).severity, BW_SEV_NONE);
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 1000 }, T0).severity, BW_SEV_WARNING);
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 2000 }, T0).severity, BW_SEV_CRITICAL);
    w.slot.severity = BW_SEV_WARNING;
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 900 }, T0).severity, BW_SEV_WARNING);
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 899 }, T0).severity, BW_SEV_NONE);
    w.slot.severity = BW_SEV_CRITICAL;
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 1900 }, T0).severity, BW_SEV_CRITICAL);
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 1899 }, T0).severity, BW_SEV_WARNING);
    assert_int_equal(r->want(&w.p, &(bw_figures){ .lag_bp = 5000 }, T0).ms, 0);
    /* Nothing paid: the plan reaches 10 % on day 30, 20 % on day 60. */
    w.slot.severity = BW_SEV_NONE;
    assert_int_equal(r->next(&w.p, 0, T0), T0 + 30 * DAY);
    w.slot.severity = BW_SEV_WARNING;
    assert_int_equal(r->next(&w.p, 0, T0), T0 + 60 * DAY);
    w.slot.severity = BW_SEV_CRITICAL;
    assert_int_equal(r->next(&w.p, 0, T0), BW_NEVER);
    /* Paid more than the plan ever asks, less the threshold: never. */
    w.slot.severity = BW_SEV_NONE;
    assert_int_equal(r->next(&w.p, 9001, T0), BW_NEVER);
}

static void test_milestone(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    const bw_rule *r = &bw_rule_milestone;
    int64_t due = T0 + 90 * DAY;
    bw_figures f = fig(2999, 3000, 0, 1);
    assert_int_equal(r->want(&w.p, &f, due - 1).severity, BW_SEV_NONE);
    bw_rule_want got = r->want(&w.p, &f, due);
    assert_int_equal(got.severity, BW_SEV_CRITICAL);
    assert_int_equal(got.ms, 1);
    f.rate_bp = 3000;
    assert_int_equal(r->want(&w.p, &f, due).severity, BW_SEV_NONE);
    assert_int_equal(r->want(&w.p, &f, due).ms, 0);
    got = r->want(&w.p, &f, T0 + 360 * DAY);       /* the second one, at 100 % */
    assert_int_equal((got.severity << 8) | got.ms, (BW_SEV_CRITICAL << 8) | 2);
    /* Next: the first deadline ahead that the rate falls short of. */
    assert_int_equal(r->next(&w.p, 2999, T0), due);
    assert_int_equal(r->next(&w.p, 3000, T0), T0 + 360 * DAY);
    assert_int_equal(r->next(&w.p, 2999, due), T0 + 360 * DAY);
    assert_int_equal(r->next(&w.p, 10000, T0), BW_NEVER);
}

static void test_overspend(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    const bw_rule *r = &bw_rule_overspend;
    bw_figures f = fig(10000, 0, 100, 100);
    assert_int_equal(r->want(&w.p, &f, T0).severity, BW_SEV_NONE);
    f.paid = 101;
    assert_int_equal(r->want(&w.p, &f, T0).severity, BW_SEV_CRITICAL);
    assert_int_equal(r->next(&w.p, 0, T0), BW_NEVER);   /* time alone never changes it */
}

static void test_year_end(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    const bw_rule *r = &bw_rule_year_end;
    int64_t end = T0 + 365 * DAY;
    bw_figures f = fig(9499, 10000, 0, 1);
    assert_int_equal(r->want(&w.p, &f, end - 1).severity, BW_SEV_NONE);
    assert_int_equal(r->want(&w.p, &f, end).severity, BW_SEV_CRITICAL);
    f.rate_bp = 9500;
    assert_int_equal(r->want(&w.p, &f, end).severity, BW_SEV_NONE);
    assert_int_equal(r->next(&w.p, 9499, T0), end);
    assert_int_equal(r->next(&w.p, 9500, T0), BW_NEVER);
    assert_int_equal(r->next(&w.p, 0, end), BW_NEVER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_project_kind_has_a_rule),
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_milestone),
        cmocka_unit_test(test_overspend),
        cmocka_unit_test(test_year_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
