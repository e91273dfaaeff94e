/* rule_year_end: the fiscal year ended with the rate below the project's
 * target (预算资金完成率). Critical, from the year's end on. */
#include "rule.h"

static bw_rule_want year_end_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    bool short_at_end = t >= p->year_end && f->rate_bp < p->target_bp;
    bw_rule_want w = { short_at_end ? BW_SEV_CRITICAL : BW_SEV_NONE, 0, 0 };
    return w;
}

static int64_t year_end_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    return t < p->year_end && rate_bp < p->target_bp ? p->year_end : BW_NEVER;
}

const bw_rule bw_rule_year_end = { .want = year_end_want, .next = year_end_next,
                                   .about_milestone = false };
