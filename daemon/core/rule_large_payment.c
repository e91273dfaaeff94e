/* rule_large_payment: one disbursement at or above [alerts]
 * large_payment_pct of the project's budget or large_payment_wan (大额支付).
 * An event alert: each such payment starts one (bw_engine_large_payment,
 * never a re-read of the ledger), a warning carrying the payment's src, id,
 * amount and ref; it stays until a handling step concludes it. Time
 * changes nothing. Off when both keys are 0. */
#include "rule.h"

__extension__ typedef __int128 i128;

bool bw_rule_large_payment_is(const bw_engine_opts *o, int64_t budget, int64_t amount)
{
    if (o->large_payment_fen > 0 && amount >= o->large_payment_fen)
        return true;
    /* amount / budget >= bp / 10000, exactly */
    return o->large_payment_bp > 0 && (i128)amount * 10000 >= (i128)budget * o->large_payment_bp;
}

static bw_rule_want large_payment_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    (void)f, (void)t;
    bw_rule_want w = { p->slot->severity, 0, 0 };
    return w;
}

static int64_t large_payment_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)p, (void)rate_bp, (void)t;
    return BW_NEVER;
}

const bw_rule bw_rule_large_payment = { .want = large_payment_want, .next = large_payment_next,
                                        .about_milestone = false, .event = true };
