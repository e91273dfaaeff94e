/* test_engine: the lag engine's alert rules, instants, exactness to the fen,
 * order independence, status sums and persistence, on the Zunhua 2022 plan. */
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
#include "money.h"
#include "plan.h"

#define SHANGHAI (8 * 3600)
#define DAY 86400
#define T_JAN1 1640966400LL          /* 2022-01-01 00:00 +08:00 */
#define T_MAR31_END 1648742400LL     /* 2022-04-01 00:00 +08:00 = 03-31 16:00 UTC */

/* ---- fixtures ---- */

#define REC_MAX (1 << 16)

/* Records alert transitions; large, so always static or heap. */
typedef struct rec {
    bw_alert a[REC_MAX];
    size_t n;
} rec;

static void record(void *ctx, const bw_alert *a)
{
    rec *r = ctx;
    assert_true(r->n < REC_MAX);
    r->a[r->n++] = *a;
}

/* The one recorder of the single-recorder tests, emptied for each. */
static rec *rec_reset(void)
{
    static rec shared;
    shared.n = 0;
    return &shared;
}

static rec *rec_new(void)
{
    rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    return r;
}

static size_t count(const rec *r, int kind, int state)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->a[i].kind == kind && (state < 0 || r->a[i].state == state))
            n++;
    return n;
}

static const bw_alert *first(const rec *r, int kind, int state)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->a[i].kind == kind && (state < 0 || r->a[i].state == state))
            return &r->a[i];
    return NULL;
}

static bw_plan_opts default_opts(void)
{
    bw_plan_opts o = { .fiscal_year = 2022, .default_target_bp = 9500 };
    char why[256];
    assert_int_equal(bw_schedule_parse("03-31:30;06-30:60;10-31:90;12-31:100", 36, 2022,
                                       &o.default_schedule, why, sizeof why), 0);
    return o;
}

/* A one-project engine with a budget in fen, standing at Jan 1. */
static bw_engine *one_project(int64_t budget, int64_t now)
{
    bw_plan_opts o = default_opts();
    bw_plan *p = bw_plan_new(&o);
    bw_err err;
    bw_project_in in = { "323003", "遵化市社保服务中心", "P1", "测试项目", budget, -1, NULL, 0, 1 };
    assert_int_equal(bw_plan_add_project(p, &in, &err), 0);
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, SHANGHAI);
    bw_engine_opts eo;
    bw_engine_opts_default(&eo);
    bw_engine *e = bw_engine_new(&p, &cal, &eo, now, &err);
    assert_non_null(e);
    assert_null(p);
    return e;
}

static void pay(bw_engine *e, uint32_t ix, int64_t fen)
{
    bw_err err;
    assert_int_equal(bw_engine_apply(e, ix, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, fen, &err), 0);
}

static bw_engine *zunhua(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/zunhua-2022/plan.csv", BW_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    bw_plan_opts o = default_opts();
    bw_err err;
    bw_plan *p = bw_plan_parse_csv(buf, len, path, &o, &err);
    if (p == NULL)
        fail_msg("%s", err.msg);
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, SHANGHAI);
    bw_engine_opts eo;
    bw_engine_opts_default(&eo);
    bw_engine *e = bw_engine_new(&p, &cal, &eo, T_JAN1, &err);
    assert_non_null(e);
    return e;
}

static uint32_t project_ix(const bw_engine *e, const char *code)
{
    int64_t ix = bw_plan_find_project(bw_engine_plan(e), code, strlen(code));
    assert_true(ix >= 0);
    return (uint32_t)ix;
}

/* ---- milestones, to the fen and to the second ---- */

typedef struct ms_case {
    const char *name;
    int64_t budget;      /* fen */
    int64_t paid;        /* fen, paid on Jan 1 */
    bool fires;
} ms_case;

static const ms_case ms_cases[] = {
    { "18692 万元, exactly 30 %", 18692000000LL, 5607600000LL, false },
    { "18692 万元, one fen short", 18692000000LL, 5607599999LL, true },
    { "5.76 万元, exactly 30 %", 5760000LL, 1728000LL, false },
    { "5.76 万元, one fen short", 5760000LL, 1727999LL, true },
    { "2258.32 万元, exactly 30 %", 2258320000LL, 677496000LL, false },
    { "2258.32 万元, one fen short", 2258320000LL, 677495999LL, true },
};

static void test_milestone_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ms_cases / sizeof ms_cases[0]; i++) {
        const ms_case *c = &ms_cases[i];
        bw_engine *e = one_project(c->budget, T_JAN1);
        pay(e, 0, c->paid);
        rec *r = rec_reset();
        bw_engine_evaluate(e, T_MAR31_END - 1, record, r);
        assert_int_equal(count(r, BW_KIND_MILESTONE, -1), 0);
        bw_engine_evaluate(e, T_MAR31_END, record, r);
        if (!c->fires) {
            assert_int_equal(count(r, BW_KIND_MILESTONE, -1), 0);
        } else {
            const bw_alert *a = first(r, BW_KIND_MILESTONE, BW_STATE_FIRING);
            if (a == NULL)
                fail_msg("%s: no milestone alert", c->name);
            assert_int_equal(a->at, T_MAR31_END);
            assert_int_equal(a->severity, BW_SEV_CRITICAL);
            assert_int_equal(a->milestone.month, 3);
            assert_int_equal(a->milestone.day, 31);
            assert_int_equal(a->rate_bp, 2999);
            assert_int_equal(a->planned_bp, 3000);
            assert_int_equal(a->shortfall, 1);   /* exactly one fen behind the plan */
        }
        bw_engine_free(&e);
        assert_null(e);
    }
}

/* A project that never pays: warning at 10 pp, critical at 20 pp, then the
 * milestone, at the analytically right instants: the plan rises 30 % over the
 * 90 days to 03-31, so 10 pp falls at day 30 and 20 pp at day 60. */
static void test_never_paid_instants(void **state)
{
    (void)state;
    bw_engine *e = one_project(100000000, T_JAN1);
    rec *r = rec_reset();
    bw_engine_evaluate(e, T_JAN1, record, r);
    assert_int_equal(r->n, 0);
    assert_int_equal(bw_engine_next_instant(e), T_JAN1 + 30 * DAY);
    bw_engine_evaluate(e, T_MAR31_END, record, r);

    const bw_alert *w = first(r, BW_KIND_LAG, BW_STATE_FIRING);
    assert_non_null(w);
    assert_int_equal(w->severity, BW_SEV_WARNING);
    assert_int_equal(w->at, T_JAN1 + 30 * DAY);
    assert_int_equal(w->lag_bp, 1000);
    assert_int_equal(w->shortfall, 10000000);

    const bw_alert *c = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->a[i].kind == BW_KIND_LAG && r->a[i].severity == BW_SEV_CRITICAL) {
            c = &r->a[i];
            break;
        }
    assert_non_null(c);
    assert_int_equal(c->at, T_JAN1 + 60 * DAY);
    assert_int_equal(c->since, T_JAN1 + 30 * DAY);   /* one episode: since is kept */

    const bw_alert *m = first(r, BW_KIND_MILESTONE, BW_STATE_FIRING);
    assert_non_null(m);
    assert_int_equal(m->at, T_MAR31_END);
    assert_true(c < m && w < c);
    for (size_t i = 1; i < r->n; i++)
        assert_true(r->a[i - 1].evaluated <= r->a[i].evaluated);
    bw_engine_free(&e);
}

static void test_overspend_by_one_fen(void **state)
{
    (void)state;
    bw_engine *e = one_project(5760000, T_JAN1);
    rec *r = rec_reset();
    pay(e, 0, 5760000);
    bw_engine_evaluate(e, T_JAN1, record, r);
    assert_int_equal(count(r, BW_KIND_OVERSPEND, -1), 0);
    pay(e, 0, 1);
    bw_engine_evaluate(e, T_JAN1 + 10, record, r);
    const bw_alert *a = first(r, BW_KIND_OVERSPEND, BW_STATE_FIRING);
    assert_non_null(a);
    assert_int_equal(a->severity, BW_SEV_CRITICAL);
    assert_int_equal(a->paid, 5760001);
    assert_int_equal(a->at, T_JAN1);
    /* A refund of the fen resolves it. */
    bw_err err;
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_REFUND, BW_FUND_FISCAL, 1, &err), 0);
    bw_engine_evaluate(e, T_JAN1 + 20, record, r);
    assert_int_equal(count(r, BW_KIND_OVERSPEND, BW_STATE_RESOLVED), 1);
    bw_engine_free(&e);
}

static void test_refund_past_zero_rejected(void **state)
{
    (void)state;
    bw_engine *e = one_project(1000000, T_JAN1);
    bw_err err;
    pay(e, 0, 500);
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_REFUND, BW_FUND_FISCAL, 501, &err), -1);
    assert_non_null(strstr(err.msg, "below zero"));
    assert_non_null(strstr(err.msg, "P1"));
    assert_non_null(strstr(err.msg, "500 fen paid so far"));
    /* Nothing changed, and the other fund cannot be refunded into the negative either. */
    assert_int_equal(bw_engine_state(e, 0)->paid_fiscal, 500);
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_REFUND, BW_FUND_OTHER, 1, &err), -1);
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_REFUND, BW_FUND_FISCAL, 500, &err), 0);
    assert_int_equal(bw_engine_state(e, 0)->paid_fiscal, 0);
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, 0, &err), -1);
    bw_engine_free(&e);
}

static void test_overflow_rejected(void **state)
{
    (void)state;
    bw_engine *e = one_project(1000000, T_JAN1);
    bw_err err;
    pay(e, 0, INT64_MAX - 10);
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, 11, &err), -1);
    assert_non_null(strstr(err.msg, "overflow"));
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_DISBURSEMENT, BW_FUND_OTHER, 11, &err), -1);
    assert_int_equal(bw_engine_state(e, 0)->paid_fiscal, INT64_MAX - 10);
    assert_int_equal(bw_engine_state(e, 0)->paid_other, 0);
    bw_engine_free(&e);
}

static void test_adjust_changes_rate_at_once(void **state)
{
    (void)state;
    bw_engine *e = one_project(2258320000, T_JAN1);
    bw_err err;
    pay(e, 0, 1129160000);   /* 50 % */
    bw_status st;
    bw_engine_project_status(e, 0, &st);
    assert_int_equal(st.rate_bp, 5000);
    assert_int_equal(bw_engine_adjust(e, 0, 4516640000, &err), 0);
    bw_engine_project_status(e, 0, &st);
    assert_int_equal(st.rate_bp, 2500);
    assert_int_equal(st.budget, 4516640000);
    /* Cutting the budget under what was paid is an overspend, at once. */
    rec *r = rec_reset();
    assert_int_equal(bw_engine_adjust(e, 0, 1000000000, &err), 0);
    bw_engine_evaluate(e, T_JAN1, record, r);
    assert_non_null(first(r, BW_KIND_OVERSPEND, BW_STATE_FIRING));
    assert_int_equal(bw_engine_adjust(e, 0, 0, &err), -1);
    bw_engine_free(&e);
}

static void test_year_end_target(void **state)
{
    (void)state;
    const int64_t budget = 100000000, end = T_JAN1 + 365LL * DAY;
    int64_t paid[] = { 94999999, 95000000 };
    for (int i = 0; i < 2; i++) {
        bw_engine *e = one_project(budget, T_JAN1);
        pay(e, 0, paid[i]);
        rec *r = rec_reset();
        bw_engine_evaluate(e, end - 1, record, r);
        assert_int_equal(count(r, BW_KIND_YEAR_END, -1), 0);
        bw_engine_evaluate(e, end + 3600, record, r);
        const bw_alert *a = first(r, BW_KIND_YEAR_END, BW_STATE_FIRING);
        if (i == 0) {
            assert_non_null(a);
            assert_int_equal(a->at, end);
            assert_int_equal(a->rate_bp, 9499);
        } else {
            assert_null(a);
        }
        bw_engine_free(&e);
    }
}

/* Lag hovers around the warning line: it fires once, does not resolve inside
 * the hysteresis band, and resolves below it. */
static void test_hysteresis(void **state)
{
    (void)state;
    const int64_t budget = 1000000000;
    int64_t t = T_JAN1 + 60 * DAY;   /* plan at exactly 20 % */
    bw_engine *e = one_project(budget, t);
    rec *r = rec_reset();
    bw_err err;
    pay(e, 0, 100000000);                     /* 10 %: lag 10 pp -> warning */
    bw_engine_evaluate(e, t, record, r);
    assert_int_equal(count(r, BW_KIND_LAG, BW_STATE_FIRING), 1);
    pay(e, 0, 5000000);                       /* 10.5 %: lag 9.5 pp, inside the band */
    bw_engine_evaluate(e, t, record, r);
    assert_int_equal(bw_engine_apply(e, 0, BW_EV_REFUND, BW_FUND_FISCAL, 5000000, &err), 0);
    bw_engine_evaluate(e, t, record, r);     /* back to 10 pp: still the same alert */
    pay(e, 0, 5000000);
    bw_engine_evaluate(e, t, record, r);
    assert_int_equal(count(r, BW_KIND_LAG, -1), 1);
    pay(e, 0, 5000000);                       /* 11.00 %: lag 9.00 pp, still the band's edge */
    bw_engine_evaluate(e, t, record, r);
    assert_int_equal(count(r, BW_KIND_LAG, BW_STATE_RESOLVED), 0);
    pay(e, 0, 100000);                        /* 11.01 %: lag 8.99 pp -> resolved */
    bw_engine_evaluate(e, t, record, r);
    assert_int_equal(count(r, BW_KIND_LAG, BW_STATE_RESOLVED), 1);
    assert_int_equal(r->n, 2);
    bw_engine_free(&e);
}

static void test_repeat_interval_and_ack(void **state)
{
    (void)state;
    bw_engine *e = one_project(100000000, T_JAN1);
    rec *r = rec_reset();
    int64_t warn = T_JAN1 + 30 * DAY;
    bw_engine_evaluate(e, warn + 3 * DAY, record, r);
    assert_int_equal(count(r, BW_KIND_LAG, BW_STATE_FIRING), 4);   /* start + 3 reminders */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r->a[i].at, warn + i * DAY);
        assert_int_equal(r->a[i].since, warn);
    }
    bw_alert a;
    bw_err err;
    assert_int_equal(bw_engine_ack(e, 0, BW_KIND_LAG, &a, &err), 0);
    assert_int_equal(a.state, BW_STATE_ACKNOWLEDGED);
    r->n = 0;
    bw_engine_evaluate(e, warn + 29 * DAY, record, r);
    assert_int_equal(r->n, 0);                 /* acknowledged: no reminders */
    bw_engine_evaluate(e, warn + 31 * DAY, record, r);
    /* the escalation to critical (day 60) fires again despite the ack, then reminds */
    assert_int_equal(r->n, 2);
    assert_int_equal(r->a[0].severity, BW_SEV_CRITICAL);
    assert_int_equal(r->a[0].at, T_JAN1 + 60 * DAY);
    assert_int_equal(r->a[1].at, T_JAN1 + 61 * DAY);
    assert_int_equal(bw_engine_ack(e, 0, BW_KIND_OVERSPEND, &a, &err), -1);
    assert_non_null(strstr(err.msg, "no firing overspend alert"));
    bw_engine_free(&e);
}

/* PROTOCOL.md §1.3: a milestone alert's `at` is the deadline itself — in its
 * reminders, its acknowledgement, the snapshot and its resolution too, while
 * the figures are those of the instant each message is made. */
static void test_milestone_at_is_the_deadline(void **state)
{
    (void)state;
    const int64_t budget = 100000000;
    bw_engine *e = one_project(budget, T_JAN1);
    pay(e, 0, budget / 4);                       /* 25 %: misses 30 % on 03-31 */
    rec *r = rec_reset();
    bw_engine_evaluate(e, T_MAR31_END + 3 * DAY, record, r);
    assert_int_equal(count(r, BW_KIND_MILESTONE, BW_STATE_FIRING), 4);   /* start + 3 reminders */
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const bw_alert *a = &r->a[i];
        if (a->kind != BW_KIND_MILESTONE)
            continue;
        if (a->at != T_MAR31_END)
            fail_msg("milestone message %zu has at %lld, not the deadline %lld", k,
                     (long long)a->at, (long long)T_MAR31_END);
        assert_int_equal(a->since, T_MAR31_END);
        assert_int_equal(a->evaluated, T_MAR31_END + (int64_t)k * DAY);
        k++;
    }
    /* The reminders' figures move with the plan: planned_bp rises after 03-31. */
    const bw_alert *last = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->a[i].kind == BW_KIND_MILESTONE)
            last = &r->a[i];
    assert_true(last->planned_bp > 3000);

    bw_alert a;
    assert_true(bw_engine_active(e, 0, BW_KIND_MILESTONE, &a));
    assert_int_equal(a.at, T_MAR31_END);
    bw_err err;
    assert_int_equal(bw_engine_ack(e, 0, BW_KIND_MILESTONE, &a, &err), 0);
    assert_int_equal(a.at, T_MAR31_END);

    /* Paid up to 30 % on 04-10: resolved, and still about the 03-31 deadline. */
    r->n = 0;
    bw_engine_evaluate(e, T_MAR31_END + 9 * DAY, record, r);
    pay(e, 0, budget * 30 / 100 - budget / 4);
    bw_engine_evaluate(e, T_MAR31_END + 9 * DAY, record, r);
    const bw_alert *res = first(r, BW_KIND_MILESTONE, BW_STATE_RESOLVED);
    assert_non_null(res);
    assert_int_equal(res->at, T_MAR31_END);
    assert_int_equal(res->rate_bp, 3000);
    bw_engine_free(&e);
}

/* ---- the Zunhua plan ---- */

static void test_zunhua_status_sums(void **state)
{
    (void)state;
    bw_engine *e = zunhua();
    const bw_plan *p = bw_engine_plan(e);
    assert_int_equal(bw_plan_nprojects(p), 27);
    assert_int_equal(bw_plan_nunits(p), 3);
    rec *r = rec_reset();
    bw_engine_evaluate(e, T_JAN1 + 100 * DAY, record, r);
    for (size_t i = 0; i < bw_plan_nprojects(p); i++)
        pay(e, (uint32_t)i, (int64_t)(i + 1) * 123457);
    bw_engine_evaluate(e, T_JAN1 + 100 * DAY, record, r);

    bw_status tot, u, pr;
    bw_engine_total_status(e, &tot);
    int64_t budget = 0, paid = 0, shortfall = 0;
    for (size_t un = 0; un < bw_plan_nunits(p); un++) {
        bw_engine_unit_status(e, (uint32_t)un, &u);
        int64_t ub = 0, up = 0, us = 0;
        for (size_t i = 0; i < bw_plan_nprojects(p); i++) {
            if (bw_plan_project(p, i)->unit != un)
                continue;
            bw_engine_project_status(e, (uint32_t)i, &pr);
            ub += pr.budget;
            up += pr.paid;
            us += pr.shortfall;
        }
        assert_int_equal(u.budget, ub);
        assert_int_equal(u.paid, up);
        assert_int_equal(u.shortfall, us);   /* subtotals are exact sums, to the fen */
        budget += ub;
        paid += up;
        shortfall += us;
    }
    assert_int_equal(tot.budget, budget);
    assert_int_equal(tot.paid, paid);
    assert_int_equal(tot.shortfall, shortfall);
    assert_int_equal(tot.projects, 27);
    assert_int_equal(tot.paid, 123457LL * 27 * 28 / 2);
    /* 序时进度 on day 100: 100 of 365 days. */
    assert_int_equal(tot.pace_bp, 100 * 10000 / 365);

    uint32_t order[27];
    assert_int_equal(bw_engine_rank(e, BW_RANK_SHORTFALL, -1, order, 27), 27);
    for (int i = 1; i < 27; i++) {
        bw_status a, b;
        bw_engine_project_status(e, order[i - 1], &a);
        bw_engine_project_status(e, order[i], &b);
        assert_true(a.shortfall >= b.shortfall);
    }
    bw_engine_free(&e);
}

/* The same events in any order give the same totals and the same final alerts. */
typedef struct ev {
    uint32_t project;
    uint8_t type, fund;
    int64_t amount;
} ev;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void run_events(const ev *evs, size_t n, const size_t *order, rec *r, bw_project_state *out)
{
    bw_engine *e = zunhua();
    bw_err err;
    for (size_t i = 0; i < n; i++) {
        const ev *x = &evs[order[i]];
        int rc = bw_engine_apply(e, x->project, x->type, x->fund, x->amount, &err);
        assert_int_equal(rc, 0);
    }
    bw_engine_evaluate(e, T_JAN1 + 200 * DAY, record, r);
    for (size_t i = 0; i < 27; i++)
        out[i] = *bw_engine_state(e, (uint32_t)i);
    bw_engine_free(&e);
}

static void test_order_independence(void **state)
{
    (void)state;
    enum { N = 400 };
    static ev evs[N];
    static size_t order[N];
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    bw_engine *z = zunhua();
    for (size_t i = 0; i < N; i++) {
        uint32_t p = (uint32_t)(rng_next(&seed) % 27);
        int64_t budget = bw_plan_project(bw_engine_plan(z), p)->budget;
        evs[i] = (ev){ p, BW_EV_DISBURSEMENT, (uint8_t)(rng_next(&seed) % 2),
                       1 + (int64_t)(rng_next(&seed) % (uint64_t)(budget / 60)) };
    }
    bw_engine_free(&z);
    static bw_project_state base[27], other[27];
    rec *r0 = rec_new(), *r1 = rec_new();
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    run_events(evs, N, order, r0, base);
    for (int round = 0; round < 20; round++) {
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = rng_next(&seed) % (i + 1);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        r1->n = 0;
        run_events(evs, N, order, r1, other);
        assert_memory_equal(base, other, sizeof base);
        assert_int_equal(r0->n, r1->n);
        assert_memory_equal(r0->a, r1->a, r0->n * sizeof r0->a[0]);
    }
    free(r0);
    free(r1);
}

/* A jump of the clock walks every passed instant in order, each at its own time;
 * a restored engine announces nothing already announced. */
static void test_jump_and_restore(void **state)
{
    (void)state;
    bw_engine *e = zunhua();
    rec *r = rec_new();
    uint32_t ix = project_ix(e, "130281219RAC9NBCKQYEU");
    pay(e, ix, 18692LL * 1000000 / 2);
    bw_engine_evaluate(e, T_JAN1 + 200 * DAY, record, r);
    assert_true(r->n > 27);
    for (size_t i = 1; i < r->n; i++)
        assert_true(r->a[i - 1].evaluated <= r->a[i].evaluated);
    free(r);

    bw_plan_opts o = default_opts();
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/zunhua-2022/plan.csv", BW_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    bw_err err;
    bw_plan *p = bw_plan_parse_csv(buf, len, path, &o, &err);
    assert_non_null(p);
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, SHANGHAI);
    bw_engine_opts eo;
    bw_engine_opts_default(&eo);
    bw_engine *e2 = bw_engine_new(&p, &cal, &eo, bw_engine_now(e), &err);
    for (uint32_t i = 0; i < 27; i++)
        assert_int_equal(bw_engine_restore(e2, i, bw_engine_state(e, i), &err), 0);
    rec *r2 = rec_new(), *r1 = rec_new();
    bw_engine_evaluate(e2, bw_engine_now(e), record, r2);
    assert_int_equal(r2->n, 0);
    /* And both go on to say the same things. */
    bw_engine_evaluate(e, T_JAN1 + 300 * DAY, record, r1);
    bw_engine_evaluate(e2, T_JAN1 + 300 * DAY, record, r2);
    assert_true(r1->n > 0);
    assert_int_equal(r1->n, r2->n);
    assert_memory_equal(r1->a, r2->a, r1->n * sizeof r1->a[0]);
    free(r1);
    free(r2);
    bw_engine_free(&e);
    bw_engine_free(&e2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milestone_exact),
        cmocka_unit_test(test_never_paid_instants),
        cmocka_unit_test(test_overspend_by_one_fen),
        cmocka_unit_test(test_refund_past_zero_rejected),
        cmocka_unit_test(test_overflow_rejected),
        cmocka_unit_test(test_adjust_changes_rate_at_once),
        cmocka_unit_test(test_year_end_target),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_repeat_interval_and_ack),
        cmocka_unit_test(test_milestone_at_is_the_deadline),
        cmocka_unit_test(test_zunhua_status_sums),
        cmocka_unit_test(test_order_independence),
        cmocka_unit_test(test_jump_and_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
