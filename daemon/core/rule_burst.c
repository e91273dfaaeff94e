/* rule_burst: more than [alerts] burst_payments disbursements to one project
 * dated within burst_window (异常高频支付). A warning while the window before
 * the instant (t - burst_window, t] holds more than that many; it resolves at
 * the exact instant the oldest of them leaves the window. The engine keeps
 * each project's burst_payments + 1 latest payment times (rule.h `recent`),
 * so the count is the same whatever order the payments came in. Off when
 * burst_payments is 0. */
#include "rule.h"

/* Whether all burst_payments + 1 latest payments lie in (t - window, t]. */
static bool bursting(const bw_rule_project *p, int64_t t)
{
    const int64_t *r = p->recent;
    int n = p->opts->burst_payments + 1;
    return p->opts->burst_payments > 0 && r != NULL && r[0] != 0 && r[0] > t - p->opts->burst_window &&
           r[n - 1] <= t;
}

static bw_rule_want burst_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    (void)f;
    bw_rule_want w = { bursting(p, t) ? BW_SEV_WARNING : BW_SEV_NONE, 0, 0 };
    return w;
}

/* A burst ends when its oldest payment leaves the window; one starts by
 * time alone only when a payment is dated after the instant (a payment
 * system's clock ahead of the daemon's): at that payment's time. */
static int64_t burst_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)rate_bp;
    const int64_t *r = p->recent;
    if (p->opts->burst_payments <= 0 || r == NULL || r[0] == 0)
        return BW_NEVER;
    int n = p->opts->burst_payments + 1;
    if (bursting(p, t))
        return r[0] + p->opts->burst_window;
    return r[n - 1] > t && r[0] > r[n - 1] - p->opts->burst_window ? r[n - 1] : BW_NEVER;
}

const bw_rule bw_rule_burst = { .want = burst_want, .next = burst_next, .about_milestone = false };
