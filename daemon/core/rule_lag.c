/* rule_lag: the execution rate trails its basis — the project's plan, 序时进度,
 * or whichever is stricter ([alerts] lag_basis, or the plan's lag_basis
 * column). The lag falls into colour bands (黄 / 红一档 / ...), each a
 * distance below the basis; the first band is a warning, the others
 * critical. Once in a band, the alert holds it until the lag falls
 * hysteresis_bp below its threshold, so a lag hovering at a threshold does
 * not flap. Without [alerts] bands the two bands are lag_warning_pp and
 * lag_critical_pp, today's pair. */
#include "rule.h"

__extension__ typedef __int128 i128;

static bw_rule_want lag_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    (void)t;
    const bw_engine_opts *o = p->opts;
    int cur = p->slot->band ? p->slot->band : p->slot->severity;   /* severity: today's pair */
    int32_t lag = bw_judged_lag(f);
    bw_rule_want w = { BW_SEV_NONE, 0, 0 };
    for (int b = bw_nbands(o); b >= 1; b--) {
        int32_t th = bw_band_bp(o, b);
        if (lag >= th || (cur >= b && lag >= th - o->hysteresis_bp)) {
            w.band = (uint8_t)b;
            w.severity = b == 1 ? BW_SEV_WARNING : BW_SEV_CRITICAL;
            break;
        }
    }
    return w;
}

/* The first instant at which the plan reaches x bp, or BW_NEVER. */
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

/* The first instant at which 序时进度 = floor(days * 10000 / ndays) reaches x bp:
 * the local midnight that ends day ceil(x * ndays / 10000), or BW_NEVER. */
static int64_t pace_reaches(const bw_calendar *cal, int64_t x)
{
    if (x <= 0)
        return cal->day_start[0];
    if (x > 10000)
        return BW_NEVER;
    int64_t days = (x * cal->ndays + 9999) / 10000;
    return cal->day_start[days];
}

int64_t bw_rule_lag_reaches(const bw_rule_project *p, uint8_t basis, int32_t rate_bp, int64_t x)
{
    int64_t at = (int64_t)rate_bp + x;
    if (basis == BW_BASIS_PLAN)
        return plan_reaches(p->k, at);
    if (basis == BW_BASIS_PACE)
        return pace_reaches(p->cal, at);
    int64_t plan = plan_reaches(p->k, at), pace = pace_reaches(p->cal, at);
    return plan < pace ? plan : pace;
}

/* Between events paid is fixed and both bases only rise, so the lag only
 * grows: the next change is the lag reaching the next band up. */
static int64_t lag_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)t;
    int cur = p->slot->band ? p->slot->band : p->slot->severity;
    if (cur >= bw_nbands(p->opts))
        return BW_NEVER;
    return bw_rule_lag_reaches(p, p->basis, rate_bp, bw_band_bp(p->opts, cur + 1));
}

const bw_rule bw_rule_lag = { .want = lag_want, .next = lag_next, .about_milestone = false,
                              .banded = true };
