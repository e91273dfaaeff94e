/* test_monitoring: the rules finance bureaus apply (issue 16) through the
 * engine — lag against 序时进度 and against the stricter of both bases, colour
 * bands and their hysteresis, the handling workflow, stalled and
 * large_payment — each at its exact instant, to the second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "engine.h"
#include "plan.h"
#include "rule.h"

#define SHANGHAI (8 * 3600)
#define DAY 86400LL
#define T0 1640966400LL              /* 2022-01-01 00:00 +08:00 */

typedef struct rec {
    bw_alert a[4096];
    size_t n;
} rec;

static void record(void *ctx, const bw_alert *a)
{
    rec *r = ctx;
    assert_true(r->n < sizeof r->a / sizeof r->a[0]);
    r->a[r->n++] = *a;
}

static rec *rec_new(void)
{
    rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    return r;
}

static const bw_alert *last_of(const rec *r, int kind)
{
    for (size_t i = r->n; i > 0; i--)
        if (r->a[i - 1].kind == kind)
            return &r->a[i - 1];
    return NULL;
}

static size_t count_of(const rec *r, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->a[i].kind == kind;
    return n;
}

/* Bureau bands 黄:5, 红一档:10, 红二档:20, 红三档:30 and hysteresis 1 pp. */
static void bureau_opts(bw_engine_opts *o, int basis)
{
    static const bw_band b[] = { { "黄", 500 }, { "红一档", 1000 }, { "红二档", 2000 },
                                 { "红三档", 3000 } };
    bw_engine_opts_default(o);
    o->lag_basis = (uint8_t)basis;
    o->nbands = 4;
    memcpy(o->band, b, sizeof b);
}

/* An engine at T0 over projects P0..P(n-1), each of budget 100,000 fen and
 * the schedule ms[i] (NULL: the default 03-31:30;06-30:60;10-31:90;12-31:100). */
static bw_engine *engine(const bw_engine_opts *eo, int n, const char *const *ms)
{
    bw_plan_opts o = { .fiscal_year = 2022, .default_target_bp = 9500 };
    char why[256];
    assert_int_equal(bw_schedule_parse("03-31:30;06-30:60;10-31:90;12-31:100", 36, 2022,
                                       &o.default_schedule, why, sizeof why), 0);
    bw_plan *p = bw_plan_new(&o);
    bw_err err;
    for (int i = 0; i < n; i++) {
        char code[16];
        snprintf(code, sizeof code, "P%d", i);
        bw_schedule s;
        if (ms != NULL && ms[i] != NULL)
            assert_int_equal(bw_schedule_parse(ms[i], strlen(ms[i]), 2022, &s, why, sizeof why), 0);
        bw_project_in in = { "U1", "单位", code, "项目", 100000, -1,
                             ms != NULL && ms[i] != NULL ? &s : NULL, 0, 0 };
        assert_int_equal(bw_plan_add_project(p, &in, &err), i);
    }
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, SHANGHAI);
    bw_engine *e = bw_engine_new(&p, &cal, eo, T0, &err);
    assert_non_null(e);
    return e;
}

static void pay(bw_engine *e, uint32_t ix, int64_t fen, int64_t ts)
{
    bw_err err;
    assert_int_equal(bw_engine_apply(e, ix, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, fen, &err), 0);
    bw_engine_paid_at(e, ix, ts);
}

/* Evaluates to t - 1 expecting nothing of kind, then to t expecting a
 * firing at t: the instant is exact to the second. */
static const bw_alert *fires_exactly_at(bw_engine *e, rec *r, int kind, int64_t t)
{
    size_t before = count_of(r, kind);
    bw_engine_evaluate(e, t - 1, record, r);
    if (count_of(r, kind) != before)
        fail_msg("%s fired at %lld, before %lld", bw_kind_name(kind),
                 (long long)last_of(r, kind)->evaluated, (long long)t);
    bw_engine_evaluate(e, t, record, r);
    const bw_alert *a = last_of(r, kind);
    assert_int_equal(count_of(r, kind), before + 1);
    assert_int_equal(a->evaluated, t);
    assert_int_equal(a->state, BW_STATE_FIRING);
    return a;
}

/* 序时进度 = floor(days * 10000 / 365) reaches 5 pp when 19 days have passed
 * (18.25 rounded up) and 10 pp at 37 (36.5): at those local midnights. */
static void test_pace_bands_at_the_analytic_instants(void **state)
{
    (void)state;
    bw_engine_opts o;
    bureau_opts(&o, BW_BASIS_PACE);
    o.repeat_interval = 0;      /* only the band changes */
    bw_engine *e = engine(&o, 1, NULL);
    rec *r = rec_new();
    bw_engine_evaluate(e, T0, record, r);
    assert_int_equal(bw_engine_next_instant(e), T0 + 19 * DAY);
    const bw_alert *a = fires_exactly_at(e, r, BW_KIND_LAG, T0 + 19 * DAY);
    assert_int_equal(a->band, 1);
    assert_string_equal(bw_engine_band_name(e, a->band), "黄");
    assert_int_equal(a->severity, BW_SEV_WARNING);
    assert_int_equal(a->basis, BW_BASIS_PACE);
    assert_int_equal(a->pace_bp, 19 * 10000 / 365);
    assert_int_equal(a->pace_lag_bp, 19 * 10000 / 365);
    assert_int_equal(a->pace_shortfall, 100000 * 19 / 365);
    a = fires_exactly_at(e, r, BW_KIND_LAG, T0 + 37 * DAY);
    assert_int_equal(a->band, 2);
    assert_int_equal(a->severity, BW_SEV_CRITICAL);
    /* 20 pp at 73 days exactly, 30 pp at 109.5 -> 110. */
    assert_int_equal(fires_exactly_at(e, r, BW_KIND_LAG, T0 + 73 * DAY)->band, 3);
    assert_int_equal(fires_exactly_at(e, r, BW_KIND_LAG, T0 + 110 * DAY)->band, 4);
    bw_status s;
    bw_engine_project_status(e, 0, &s);
    assert_int_equal(s.band, 4);
    assert_int_equal(s.basis, BW_BASIS_PACE);
    bw_engine_free(&e);
    free(r);
}

/* Against the plan the same bands cross where the plan reaches them: 30 % by
 * the end of 03-31 (90 days) rises 5 pp in 15 days. With `both` a project
 * whose own plan is back-loaded is judged by 序时进度, which is stricter, and
 * the alert says so; one on the default plan by its plan. */
static void test_both_takes_the_stricter_basis(void **state)
{
    (void)state;
    bw_engine_opts o;
    bureau_opts(&o, BW_BASIS_BOTH);
    o.repeat_interval = 0;
    const char *const ms[] = { NULL, "06-30:10;12-31:100" };
    bw_engine *e = engine(&o, 2, ms);
    rec *r = rec_new();
    bw_engine_evaluate(e, T0, record, r);
    const bw_alert *a = fires_exactly_at(e, r, BW_KIND_LAG, T0 + 15 * DAY);
    assert_int_equal(a->project, 0);
    assert_int_equal(a->basis, BW_BASIS_PLAN);
    assert_int_equal(a->lag_bp, 500);
    a = fires_exactly_at(e, r, BW_KIND_LAG, T0 + 19 * DAY);
    assert_int_equal(a->project, 1);
    assert_int_equal(a->basis, BW_BASIS_PACE);
    assert_true(a->pace_lag_bp > a->lag_bp);
    bw_engine_free(&e);

    /* Per project: P1's own basis is the plan (the plan file's column). */
    bw_plan_opts po = { .fiscal_year = 2022, .default_target_bp = 9500 };
    bw_plan *p = bw_plan_new(&po);
    bw_schedule s;
    char why[128];
    assert_int_equal(bw_schedule_parse(ms[1], strlen(ms[1]), 2022, &s, why, sizeof why), 0);
    bw_err err;
    bw_project_in in = { "U1", "单位", "P1", "项目", 100000, -1, &s, 0, 0 };
    assert_int_equal(bw_plan_add_project(p, &in, &err), 0);
    bw_plan_set_basis(p, 0, BW_BASIS_PLAN);
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, SHANGHAI);
    e = bw_engine_new(&p, &cal, &o, T0, &err);
    assert_non_null(e);
    r->n = 0;
    bw_engine_evaluate(e, T0 + 60 * DAY, record, r);
    assert_int_equal(r->n, 0);      /* 序时进度 is 16 pp ahead, but P1 is judged by its plan */
    bw_engine_free(&e);
    free(r);
}

/* Each band holds until the lag falls hysteresis below its own threshold. */
static void test_hysteresis_per_band(void **state)
{
    (void)state;
    bw_engine_opts o;
    bureau_opts(&o, BW_BASIS_PLAN);
    bw_knots k = { .n = 1, .t = { T0, T0 + 365 * DAY }, .bp = { 0, 10000 } };
    bw_slot slot = { 0 };
    bw_rule_project p = { &o, &k, 9500, T0 + 365 * DAY, &slot, NULL, BW_BASIS_PLAN, 0, NULL, 0 };
    static const struct { uint8_t from; int32_t lag; uint8_t band; } cases[] = {
        { 0, 499, 0 },  { 0, 500, 1 },  { 0, 999, 1 },  { 0, 1000, 2 }, { 0, 3000, 4 },
        { 1, 400, 1 },  { 1, 399, 0 },  { 2, 900, 2 },  { 2, 899, 1 },  { 3, 1900, 3 },
        { 3, 1899, 2 }, { 4, 2900, 4 }, { 4, 2899, 3 }, { 4, 399, 0 },  { 1, 2000, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        slot.band = cases[i].from;
        slot.severity = cases[i].from == 0 ? 0 : cases[i].from == 1 ? 1 : 2;
        bw_figures f = { .lag_bp = cases[i].lag, .basis = BW_BASIS_PLAN };
        bw_rule_want w = bw_rule_lag.want(&p, &f, T0);
        if (w.band != cases[i].band)
            fail_msg("from band %u at lag %d: band %u, expected %u", cases[i].from, cases[i].lag,
                     w.band, cases[i].band);
        assert_int_equal(w.severity, w.band == 0 ? BW_SEV_NONE : w.band == 1 ? BW_SEV_WARNING
                                                                               : BW_SEV_CRITICAL);
    }
}

/* The steps a supervisor may take, and that reminders stop once handled. */
static void test_handling_transitions(void **state)
{
    (void)state;
    bw_engine_opts o;
    bureau_opts(&o, BW_BASIS_PACE);
    bw_engine *e = engine(&o, 1, NULL);
    rec *r = rec_new();
    bw_alert out[2];
    bw_err err;
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_FOLLOWED_UP, out, &err), -1);
    assert_non_null(strstr(err.msg, "has no firing lag alert"));
    bw_engine_evaluate(e, T0 + 20 * DAY, record, r);
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_FOLLOWED_UP, out, &err), 1);
    assert_int_equal(out[0].state, BW_STATE_ACKNOWLEDGED);
    assert_int_equal(out[0].handling, BW_HANDLING_FOLLOWED_UP);
    /* No reminder while handled: the next instant is the next band, 37 days. */
    assert_int_equal(bw_engine_next_instant(e), T0 + 37 * DAY);
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_JUDGED_VIOLATION, out, &err), 1);
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_JUDGED_NORMAL, out, &err), -1);
    assert_non_null(strstr(err.msg, "is judged_violation; it cannot become judged_normal"));
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_CORRECTED, out, &err), 1);
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_FOLLOWED_UP, out, &err), -1);
    assert_int_equal(bw_engine_ack(e, 0, BW_KIND_LAG, out, &err), -1);   /* ack = followed_up */
    /* A worse band makes it unhandled again, with reminders. */
    size_t n = r->n;
    bw_engine_evaluate(e, T0 + 37 * DAY, record, r);
    assert_int_equal(r->n, n + 1);
    assert_int_equal(r->a[n].band, 2);
    assert_int_equal(r->a[n].handling, BW_HANDLING_UNHANDLED);
    assert_int_equal(r->a[n].state, BW_STATE_FIRING);
    assert_int_equal(bw_engine_next_instant(e), T0 + 38 * DAY);   /* its reminder */
    bw_engine_free(&e);
    free(r);
}

/* judged_normal: silent at its band and below, beyond the episode, until
 * the lag reaches a worse band. */
static void test_judged_normal_does_not_fire_again(void **state)
{
    (void)state;
    bw_engine_opts o;
    bureau_opts(&o, BW_BASIS_PACE);
    bw_engine *e = engine(&o, 1, NULL);
    rec *r = rec_new();
    bw_alert out[2];
    bw_err err;
    bw_engine_evaluate(e, T0 + 40 * DAY, record, r);        /* 红一档 (lag 10.95 pp) */
    assert_int_equal(last_of(r, BW_KIND_LAG)->band, 2);
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LAG, BW_HANDLING_JUDGED_NORMAL, out, &err), 1);
    assert_int_equal(bw_engine_next_instant(e), T0 + 73 * DAY);   /* 红二档, no reminder */
    size_t n = r->n;
    /* Paid up to 3.95 pp behind, below 黄 less the hysteresis: resolved. */
    pay(e, 0, 7000, T0 + 40 * DAY);
    bw_engine_evaluate(e, T0 + 40 * DAY, record, r);
    assert_int_equal(r->n, n + 1);
    assert_int_equal(r->a[n].state, BW_STATE_RESOLVED);
    /* Falling behind again through 黄 and 红一档: judged normal, so silent. */
    n = r->n;
    bw_engine_evaluate(e, T0 + 72 * DAY, record, r);
    assert_int_equal(r->n, n);
    bw_alert act;
    assert_false(bw_engine_active(e, 0, BW_KIND_LAG, &act));
    /* 红二档 is worse than judged: it fires, unhandled. (Lag 20 pp needs
     * 序时进度 27 pp = 98.55 days -> 99.) */
    const bw_alert *a = fires_exactly_at(e, r, BW_KIND_LAG, T0 + 99 * DAY);
    assert_int_equal(a->band, 3);
    assert_int_equal(a->handling, BW_HANDLING_UNHANDLED);
    assert_int_equal(a->since, T0 + 99 * DAY);
    bw_engine_free(&e);
    free(r);
}

/* stalled: at the exact instant stalled_days after the latest payment (the
 * year's start when none), while the project trails its basis; a payment
 * ends it. */
static void test_stalled_at_last_payment_plus_days(void **state)
{
    (void)state;
    bw_engine_opts o;
    bw_engine_opts_default(&o);
    o.stalled_after = 30 * DAY;
    o.repeat_interval = 0;
    bw_engine *e = engine(&o, 2, NULL);
    rec *r = rec_new();
    bw_engine_evaluate(e, T0 + 10 * DAY, record, r);
    pay(e, 0, 1000, T0 + 10 * DAY + 3600);      /* 1 %, at 01:00 on day 11 */
    bw_engine_evaluate(e, T0 + 10 * DAY + 3600, record, r);
    const bw_alert *a = fires_exactly_at(e, r, BW_KIND_STALLED, T0 + 30 * DAY);
    assert_int_equal(a->project, 1);            /* never paid: from the year's start */
    assert_int_equal(a->severity, BW_SEV_WARNING);
    a = fires_exactly_at(e, r, BW_KIND_STALLED, T0 + 40 * DAY + 3600);
    assert_int_equal(a->project, 0);
    pay(e, 0, 500, T0 + 45 * DAY);
    bw_engine_evaluate(e, T0 + 45 * DAY, record, r);
    assert_int_equal(last_of(r, BW_KIND_STALLED)->state, BW_STATE_RESOLVED);
    assert_int_equal(last_of(r, BW_KIND_STALLED)->project, 0);
    assert_int_equal(fires_exactly_at(e, r, BW_KIND_STALLED, T0 + 75 * DAY)->project, 0);
    /* A project ahead of its basis is not stalled however long it waits. */
    bw_engine_free(&e);
    e = engine(&o, 1, NULL);
    r->n = 0;
    pay(e, 0, 100000, T0);
    bw_engine_evaluate(e, T0 + 200 * DAY, record, r);
    assert_int_equal(count_of(r, BW_KIND_STALLED), 0);
    bw_engine_free(&e);
    free(r);
}

/* large_payment: once per payment at or above the share; a concluding step
 * resolves it, a follow-up does not. */
static void test_large_payment(void **state)
{
    (void)state;
    bw_engine_opts o;
    bw_engine_opts_default(&o);
    o.large_payment_bp = 3000;
    bw_engine *e = engine(&o, 1, NULL);
    bw_alert a, out[2];
    bw_err err;
    pay(e, 0, 29999, T0);
    assert_false(bw_engine_large_payment(e, 0, 29999, &a));
    pay(e, 0, 30000, T0);
    assert_true(bw_engine_large_payment(e, 0, 30000, &a));
    assert_int_equal(a.kind, BW_KIND_LARGE_PAYMENT);
    assert_int_equal(a.state, BW_STATE_FIRING);
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LARGE_PAYMENT, BW_HANDLING_FOLLOWED_UP, out,
                                      &err), 1);
    assert_true(bw_engine_active(e, 0, BW_KIND_LARGE_PAYMENT, &a));
    assert_int_equal(bw_engine_handle(e, 0, BW_KIND_LARGE_PAYMENT, BW_HANDLING_JUDGED_NORMAL, out,
                                      &err), 2);
    assert_int_equal(out[0].state, BW_STATE_ACKNOWLEDGED);
    assert_int_equal(out[0].handling, BW_HANDLING_JUDGED_NORMAL);
    assert_int_equal(out[1].state, BW_STATE_RESOLVED);
    assert_false(bw_engine_active(e, 0, BW_KIND_LARGE_PAYMENT, &a));
    rec *r = rec_new();
    bw_engine_evaluate(e, T0 + 300 * DAY, record, r);
    assert_int_equal(count_of(r, BW_KIND_LARGE_PAYMENT), 0);   /* time changes nothing */
    o.large_payment_bp = 0;
    o.large_payment_fen = 50000;
    assert_true(bw_rule_large_payment_is(&o, 100000000, 50000));
    assert_false(bw_rule_large_payment_is(&o, 100000, 49999));
    bw_engine_free(&e);
    free(r);
}

static void window_pay(bw_engine *e, uint32_t ix, int64_t fen, int64_t ts)
{
    pay(e, ix, fen, ts);
    bw_engine_window_payment(e, ix, BW_EV_DISBURSEMENT, fen, ts);
}

/* burst: more than K payments dated within the window; it ends at the exact
 * instant the oldest of them leaves it, whatever order they came in. */
static void test_burst(void **state)
{
    (void)state;
    bw_engine_opts o;
    bw_engine_opts_default(&o);
    o.burst_payments = 3;
    o.burst_window = 3600;
    o.repeat_interval = 0;
    static const int64_t ts[] = { 100, 400, 300, 200 };     /* out of order */
    bw_engine *e = engine(&o, 1, NULL);
    rec *r = rec_new();
    bw_engine_evaluate(e, T0 + 400, record, r);
    for (int i = 0; i < 3; i++)
        window_pay(e, 0, 10, T0 + ts[i]);
    bw_engine_evaluate(e, T0 + 400, record, r);
    assert_int_equal(count_of(r, BW_KIND_BURST), 0);        /* three: not more than 3 */
    window_pay(e, 0, 10, T0 + ts[3]);
    bw_engine_evaluate(e, T0 + 400, record, r);
    assert_int_equal(count_of(r, BW_KIND_BURST), 1);
    assert_int_equal(last_of(r, BW_KIND_BURST)->state, BW_STATE_FIRING);
    assert_int_equal(bw_engine_next_instant(e), T0 + 100 + 3600);
    bw_engine_evaluate(e, T0 + 3699, record, r);
    assert_int_equal(count_of(r, BW_KIND_BURST), 1);
    bw_engine_evaluate(e, T0 + 3700, record, r);
    assert_int_equal(last_of(r, BW_KIND_BURST)->state, BW_STATE_RESOLVED);
    assert_int_equal(last_of(r, BW_KIND_BURST)->evaluated, T0 + 3700);
    /* A payment dated before the four latest changes nothing. */
    window_pay(e, 0, 10, T0 + 50);
    assert_int_equal(bw_engine_window_start(e), T0 + 3700 - 3600);
    bw_engine_free(&e);
    free(r);
}

/* year_end_rush: from the instant the window opens, the share of the
 * project's payments dated inside it, over all it paid. */
static void test_year_end_rush(void **state)
{
    (void)state;
    bw_engine_opts o;
    bw_engine_opts_default(&o);
    o.rush_window = 30 * DAY;
    o.rush_bp = 3000;
    o.repeat_interval = 0;
    const int64_t ye = T0 + 365 * DAY;
    bw_engine *e = engine(&o, 2, NULL);
    rec *r = rec_new();
    bw_engine_evaluate(e, T0 + 10 * DAY, record, r);
    window_pay(e, 0, 50000, T0 + 10 * DAY);
    window_pay(e, 1, 20000, T0 + 10 * DAY);
    bw_engine_evaluate(e, ye - 30 * DAY, record, r);
    assert_int_equal(count_of(r, BW_KIND_YEAR_END_RUSH), 0);
    bw_engine_evaluate(e, ye - 20 * DAY, record, r);
    window_pay(e, 0, 30000, ye - 20 * DAY);                 /* 37.5 % of 80,000 */
    window_pay(e, 1, 5000, ye - 20 * DAY);                  /* 20 % of 25,000 */
    bw_engine_evaluate(e, ye - 20 * DAY, record, r);
    assert_int_equal(count_of(r, BW_KIND_YEAR_END_RUSH), 1);
    const bw_alert *a = last_of(r, BW_KIND_YEAR_END_RUSH);
    assert_int_equal(a->project, 0);
    assert_int_equal(a->evaluated, ye - 20 * DAY);
    /* Just under 30 % does not fire. */
    window_pay(e, 1, 3571, ye - 10 * DAY);                  /* 8571 of 28571: 29.99 % */
    bw_engine_evaluate(e, ye - 10 * DAY, record, r);
    assert_int_equal(count_of(r, BW_KIND_YEAR_END_RUSH), 1);
    bw_engine_free(&e);

    /* Dated inside the window but the window not open yet: it fires as it opens. */
    e = engine(&o, 1, NULL);
    r->n = 0;
    window_pay(e, 0, 100000, ye - DAY);     /* a future-dated payment, taken at T0 */
    bw_engine_evaluate(e, T0, record, r);
    assert_int_equal(count_of(r, BW_KIND_YEAR_END_RUSH), 0);
    const bw_alert *first = fires_exactly_at(e, r, BW_KIND_YEAR_END_RUSH, ye - 30 * DAY);
    assert_int_equal(first->project, 0);
    bw_engine_free(&e);
    free(r);
}

/* Order independence: the same payments (amount, ts) applied in a seeded
 * random order, all at once, leave every project as a model says: paid the
 * sum, stalled counted from the latest ts, the same slots as in ts order. */
static void test_order_independence_all_rules(void **state)
{
    (void)state;
    enum { NP = 6, NPAY = 40 };
    bw_engine_opts o;
    bureau_opts(&o, BW_BASIS_BOTH);
    o.stalled_after = 20 * DAY;
    o.large_payment_bp = 2500;
    o.burst_payments = 3;
    o.burst_window = 10 * DAY;
    o.rush_window = 300 * DAY;
    struct { uint32_t p; int64_t fen, ts; } pays[NPAY];
    unsigned seed0 = 16;
    srand(seed0);
    for (int i = 0; i < NPAY; i++) {
        pays[i].p = (uint32_t)(rand() % NP);
        pays[i].fen = 100 + rand() % 3000;
        pays[i].ts = T0 + rand() % (100 * DAY);
    }
    bw_engine *ref = NULL;
    for (unsigned round = 0; round < 20; round++) {
        unsigned seed = seed0 * 1000 + round;
        srand(seed);
        int order[NPAY];
        for (int i = 0; i < NPAY; i++)
            order[i] = i;
        for (int i = NPAY - 1; round > 0 && i > 0; i--) {
            int j = rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        bw_engine *e = engine(&o, NP, NULL);
        rec *r = rec_new();
        bw_engine_evaluate(e, T0 + 100 * DAY, record, r);
        for (int i = 0; i < NPAY; i++)
            window_pay(e, pays[order[i]].p, pays[order[i]].fen, pays[order[i]].ts);
        bw_engine_evaluate(e, T0 + 130 * DAY, record, r);
        for (uint32_t p = 0; p < NP; p++) {
            int64_t paid = 0, last = 0;
            for (int i = 0; i < NPAY; i++)
                if (pays[i].p == p) {
                    paid += pays[i].fen;
                    last = pays[i].ts > last ? pays[i].ts : last;
                }
            const bw_project_state *st = bw_engine_state(e, p);
            if (st->paid_fiscal != paid || st->last_paid != last)
                fail_msg("seed %u: project %u paid %lld last %lld, model %lld %lld", seed, p,
                         (long long)st->paid_fiscal, (long long)st->last_paid, (long long)paid,
                         (long long)last);
            if (ref != NULL &&
                memcmp(st->slot, bw_engine_state(ref, p)->slot, sizeof st->slot) != 0)
                fail_msg("seed %u: project %u's alert slots differ from ts order", seed, p);
        }
        free(r);
        if (ref == NULL)
            ref = e;
        else
            bw_engine_free(&e);
    }
    bw_engine_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pace_bands_at_the_analytic_instants),
        cmocka_unit_test(test_both_takes_the_stricter_basis),
        cmocka_unit_test(test_hysteresis_per_band),
        cmocka_unit_test(test_handling_transitions),
        cmocka_unit_test(test_judged_normal_does_not_fire_again),
        cmocka_unit_test(test_stalled_at_last_payment_plus_days),
        cmocka_unit_test(test_large_payment),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_year_end_rush),
        cmocka_unit_test(test_order_independence_all_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
