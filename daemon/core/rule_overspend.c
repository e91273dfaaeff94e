/* rule_overspend: more paid than the budget (as adjusted). Critical; only a
 * payment, a refund or an adjustment changes it, never time. */
#include "rule.h"

static bw_rule_want overspend_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    (void)p, (void)t;
    bw_rule_want w = { f->paid > f->budget ? BW_SEV_CRITICAL : BW_SEV_NONE, 0, 0 };
    return w;
}

static int64_t overspend_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)p, (void)rate_bp, (void)t;
    return BW_NEVER;
}

const bw_rule bw_rule_overspend = { .want = overspend_want, .next = overspend_next,
                                    .about_milestone = false };
