/* rule_milestone: the latest milestone due was missed — its deadline passed
 * with the rate below the share it asks for. Critical; a later milestone
 * missed starts a new episode, and every message of one is about its
 * deadline. */
#include "rule.h"

/* Index (1-based) of the latest milestone due at or before t, 0 if none yet. */
static int milestone_due(const bw_knots *k, int64_t t)
{
    int i = 0;
    while (i < k->n && k->t[i + 1] <= t)
        i++;
    return i;
}

static bw_rule_want milestone_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    int due = milestone_due(p->k, t);
    bool missed = due > 0 && f->rate_bp < p->k->bp[due];
    bw_rule_want w = { missed ? BW_SEV_CRITICAL : BW_SEV_NONE, missed ? (uint8_t)due : 0, 0 };
    return w;
}

/* With paid fixed, a milestone can only be missed, never met: the next change
 * is the deadline of the first milestone still ahead that the rate falls short of. */
static int64_t milestone_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    const bw_knots *k = p->k;
    for (int i = milestone_due(k, t) + 1; i <= k->n; i++)
        if (rate_bp < k->bp[i])
            return k->t[i];
    return BW_NEVER;
}

const bw_rule bw_rule_milestone = { .want = milestone_want, .next = milestone_next,
                                    .about_milestone = true };
