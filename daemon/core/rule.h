/* rule: what the engine asks of one project kind — the part of evaluating and
 * scheduling a project that differs by kind. One rule per project kind, each in
 * its own file (rule_lag.c, rule_milestone.c, ...); bw_rule_of maps a kind of
 * the table in proto/kinds.h to its rule. The life cycle around a rule (start,
 * escalation, reminders every repeat_interval, the handling steps and what
 * judged_normal silences, resolution) is the engine's, the same for every
 * kind.
 *
 * Pure like the engine: a rule reads what it is given and returns; it keeps
 * nothing, writes nothing, and never sees the clock. */
#ifndef BW_RULE_H
#define BW_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "plan.h"

/* A project's schedule resolved against the calendar: the knots of the
 * piecewise-linear plan. t[0] is the year's start and bp[0] 0; knot i
 * (1 .. n) is milestone i's deadline and the share it asks for. */
typedef struct bw_knots {
    int n;
    int64_t t[BW_MAX_MILESTONES + 1];
    int32_t bp[BW_MAX_MILESTONES + 1];
} bw_knots;

/* One project's figures at one instant. */
typedef struct bw_figures {
    int64_t budget, paid, planned_fen;
    int64_t pace_fen;           /* 序时进度's share of the budget */
    int32_t rate_bp, planned_bp, lag_bp, pace_bp;
    int32_t pace_lag_bp;        /* pace_bp - rate_bp */
    /* What the project is judged against at this instant: BW_BASIS_PLAN or
     * _PACE; with `both` the one with the larger lag, the plan on a tie. */
    uint8_t basis;
} bw_figures;

/* The lag against what the project is judged against. */
static inline int32_t bw_judged_lag(const bw_figures *f)
{
    return f->basis == BW_BASIS_PACE ? f->pace_lag_bp : f->lag_bp;
}

/* The lag bands of opts: its own, or without [alerts] bands today's pair
 * (warning at lag_warning_bp, critical at lag_critical_bp). */
static inline int bw_nbands(const bw_engine_opts *o)
{
    return o->nbands > 0 ? o->nbands : 2;
}

/* Band b's threshold (1-based, b <= bw_nbands). */
static inline int32_t bw_band_bp(const bw_engine_opts *o, int b)
{
    if (o->nbands > 0)
        return o->band[b - 1].bp;
    return b == 1 ? o->lag_warning_bp : o->lag_critical_bp;
}

/* What a rule may know of one project besides its figures. Everything is the
 * engine's and valid during the call only. */
typedef struct bw_rule_project {
    const bw_engine_opts *opts;
    const bw_knots *k;
    int32_t target_bp;          /* the year-end target */
    int64_t year_end;           /* the instant the fiscal year ends */
    const bw_slot *slot;        /* this rule's slot, as it stands before the call */
    const bw_calendar *cal;
    uint8_t basis;              /* the project's bw_basis (its plan column, else lag_basis) */
    int64_t last_paid;          /* ts of its latest disbursement, 0 if none */
    const int64_t *recent;      /* burst: the burst_payments + 1 latest payment ts, oldest first, 0 unused */
    int64_t late_paid;          /* year_end_rush: paid in the year's last rush_window */
} bw_rule_project;

/* Where a slot should be: BW_SEV_NONE (not firing) or a severity, and for a
 * rule about milestones the 1-based index of the milestone missed (else 0). */
typedef struct bw_rule_want {
    uint8_t severity;
    uint8_t ms;
    uint8_t band;               /* a banded rule: the 1-based band, else 0 */
} bw_rule_want;

typedef struct bw_rule {
    /* The severity (and milestone) the slot should be in at t, given the
     * project's figures f at t. The engine moves the slot there. */
    bw_rule_want (*want)(const bw_rule_project *p, const bw_figures *f, int64_t t);
    /* The first instant after t at which want can give another answer by time
     * alone, paid and budget staying as they are (rate_bp = their rate), or
     * BW_NEVER. An instant <= t means "at once" (the engine takes t + 1). */
    int64_t (*next)(const bw_rule_project *p, int32_t rate_bp, int64_t t);
    /* Its alerts are about the deadline of the slot's milestone: `at` is that
     * deadline and `milestone` its date (PROTOCOL.md §1.3). */
    bool about_milestone;
    /* Its level is a band (bw_rule_want.band): a judged_normal holds at that
     * band and below beyond the episode. */
    bool banded;
    /* An event alert: started by a payment (not by want), ended by a
     * concluding handling step (bw_engine_handle). */
    bool event;
} bw_rule;

/* The first instant at or after which the lag against basis (a bw_basis;
 * with BOTH the larger of the two) reaches x bp while the rate stays
 * rate_bp, or BW_NEVER: the plan is piecewise linear in time, 序时进度
 * steps at each local midnight. */
int64_t bw_rule_lag_reaches(const bw_rule_project *p, uint8_t basis, int32_t rate_bp, int64_t x);

/* Whether a disbursement of amount fen to a project of this budget is a
 * large payment (rule_large_payment.c). */
bool bw_rule_large_payment_is(const bw_engine_opts *o, int64_t budget, int64_t amount);

/* One rule per project kind of BW_KIND_MAP, named after the kind's word. */
#define BW_RULE_DECLARE_PROJECT(name) extern const bw_rule bw_rule_##name;
#define BW_RULE_DECLARE_DAEMON(name)
#define BW_RULE_DECLARE_(NAME, name, scope, ack, label, description) BW_RULE_DECLARE_##scope(name)
BW_KIND_MAP(BW_RULE_DECLARE_)
#undef BW_RULE_DECLARE_

/* The rule of a project kind; NULL for the daemon's kinds and for a value
 * that is no kind. */
const bw_rule *bw_rule_of(int kind);

#endif
