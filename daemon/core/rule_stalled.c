/* rule_stalled: no payment for [alerts] stalled_days while the project is
 * below its basis (长期未支付). A warning from the exact instant stalled_days
 * after the latest disbursement (the year's start if none) at which the lag
 * against the basis is above zero; a payment ends it. Off when
 * stalled_days is 0. */
#include "rule.h"

/* The instant the project counts as stalled from, if no payment comes. */
static int64_t stalled_from(const bw_rule_project *p)
{
    int64_t last = p->last_paid > p->cal->day_start[0] ? p->last_paid : p->cal->day_start[0];
    return last > INT64_MAX - p->opts->stalled_after ? BW_NEVER : last + p->opts->stalled_after;
}

static bw_rule_want stalled_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    bool on = p->opts->stalled_after > 0 && t >= stalled_from(p) && bw_judged_lag(f) > 0;
    bw_rule_want w = { on ? BW_SEV_WARNING : BW_SEV_NONE, 0, 0 };
    return w;
}

/* With paid fixed the lag only grows, so a stalled project stays stalled;
 * one not yet stalled becomes so at the later of its instant and the
 * instant the lag first exceeds zero. */
static int64_t stalled_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)t;
    if (p->opts->stalled_after <= 0 || p->slot->severity != BW_SEV_NONE)
        return BW_NEVER;
    int64_t from = stalled_from(p);
    int64_t below = bw_rule_lag_reaches(p, p->basis, rate_bp, 1);
    return from > below ? from : below;
}

const bw_rule bw_rule_stalled = { .want = stalled_want, .next = stalled_next,
                                  .about_milestone = false };
