/* rule_lag: the execution rate trails the plan. A warning at lag_warning_bp,
 * critical at lag_critical_bp; once firing, a level holds until the lag falls
 * hysteresis_bp below its threshold, so a lag hovering at a threshold does not
 * flap. */
#include "rule.h"

__extension__ typedef __int128 i128;

static bw_rule_want lag_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    (void)t;
    const bw_engine_opts *o = p->opts;
    uint8_t cur = p->slot->severity;
    int32_t lag = f->lag_bp;
    bw_rule_want w = { BW_SEV_NONE, 0 };
    if (lag >= o->lag_critical_bp || (cur == BW_SEV_CRITICAL && lag >= o->lag_critical_bp - o->hysteresis_bp))
        w.severity = BW_SEV_CRITICAL;
    else if (lag >= o->lag_warning_bp || (cur != BW_SEV_NONE && lag >= o->lag_warning_bp - o->hysteresis_bp))
        w.severity = BW_SEV_WARNING;
    return w;
}

/* The first instant at which the plan reaches x bp (so lag reaches a threshold
 * while paid stays as it is), or BW_NEVER. */
static int64_t plan_reaches(const bw_knots *k, int64_t x)
{
    if (x <= 0)
        return k->t[0];
    for (int i = 1; i <= k->n; i++) {
        if (x <= k->bp[i]) {
            int64_t rise = k->bp[i] - k->bp[i - 1];
            i128 need = (i128)(x - k->bp[i - 1]) * (k->t[i] - k->t[i - 1]);
            return k->t[i - 1] + (int64_t)((need + rise - 1) / rise);
        }
    }
    return BW_NEVER;
}

/* Between events paid is fixed and the plan only rises, so lag only grows:
 * the next change is the plan reaching the rate plus the next threshold up. */
static int64_t lag_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)t;
    uint8_t cur = p->slot->severity;
    if (cur == BW_SEV_CRITICAL)
        return BW_NEVER;
    int32_t th = cur == BW_SEV_WARNING ? p->opts->lag_critical_bp : p->opts->lag_warning_bp;
    return plan_reaches(p->k, (int64_t)rate_bp + th);
}

const bw_rule bw_rule_lag = { .want = lag_want, .next = lag_next, .about_milestone = false };
