/* engine: the brain. Holds the plan, each project's paid totals and alert state,
 * and turns payments and the passage of time into execution rates and alert
 * transitions. Pure: no I/O, no globals, no clock — time is always an argument.
 *
 * Time model: the engine stands at an instant `now` that only moves forward.
 * bw_engine_apply changes totals at `now` and marks the project dirty;
 * bw_engine_evaluate(to) first evaluates the dirty projects at `now`, then walks
 * every instant at which an alert can change by time alone, in order, up to
 * `to`, evaluating each project at its own instant. Those instants are worked
 * out analytically and kept in a heap, so no call ever scans all projects. */
#ifndef BW_ENGINE_H
#define BW_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "err.h"
#include "plan.h"
#include "vocab.h"

#define BW_NEVER INT64_MAX

#define BW_MAX_BANDS 8
#define BW_BAND_NAME_MAX 32     /* bytes of UTF-8 in a band's name */

/* One colour band of the lag rule: a lag of at least bp below the basis. */
typedef struct bw_band {
    char name[BW_BAND_NAME_MAX + 1];
    int32_t bp;
} bw_band;

typedef struct bw_engine_opts {
    int32_t lag_warning_bp;     /* lag >= this fires a warning   (default 1000 = 10 pp) */
    int32_t lag_critical_bp;    /* lag >= this is critical        (default 2000 = 20 pp) */
    int32_t hysteresis_bp;      /* resolves only below warning - this (default 100) */
    int64_t repeat_interval;    /* seconds between reminders; 0 = none (default 86400) */
    uint8_t lag_basis;          /* bw_basis the lag is judged against (default plan) */
    /* The lag bands, thresholds strictly increasing; the first band is a
     * warning, every later one critical. nbands 0: two bands "warning" at
     * lag_warning_bp and "critical" at lag_critical_bp, today's pair. */
    int nbands;
    bw_band band[BW_MAX_BANDS];
    int64_t stalled_after;      /* stalled: seconds without a payment; 0 = off (default) */
    int32_t large_payment_bp;   /* large_payment: share of the budget; 0 = off (default) */
    int64_t large_payment_fen;  /* large_payment: amount; 0 = off (default) */
    int32_t burst_payments;     /* burst: more than this many payments ...; 0 = off (default) */
    int64_t burst_window;       /* ... within this many seconds (default 86400) */
    int64_t rush_window;        /* year_end_rush: the last this many seconds of the year; 0 = off */
    int32_t rush_bp;            /* ... holding more than this share of its payments (default 3000) */
} bw_engine_opts;

#define BW_BURST_MAX 64         /* burst_payments at most */

void bw_engine_opts_default(bw_engine_opts *o);

/* One alert transition. Figures are those at `evaluated`, the instant the
 * message is made; `at` is the instant the alert is about: `evaluated` too,
 * except for a milestone alert, whose `at` is always the deadline of the
 * milestone missed (PROTOCOL.md §1.3), in its reminders and resolution too. */
typedef struct bw_alert {
    uint8_t kind;               /* bw_alert_kind (never SOURCE_GAP here) */
    uint8_t state;              /* bw_alert_state */
    uint8_t severity;           /* bw_severity */
    uint8_t band;               /* lag: its band, 1-based (bw_engine_band_name); else 0 */
    uint8_t basis;              /* BW_BASIS_PLAN or BW_BASIS_PACE: what the lag is judged against */
    uint8_t handling;           /* bw_handling of the alert */
    uint32_t project;           /* plan index */
    int64_t budget, paid;       /* fen */
    int64_t shortfall;          /* planned share of budget - paid, fen (negative = ahead) */
    int64_t pace_shortfall;     /* 序时进度's share of budget - paid, fen */
    int32_t rate_bp;            /* floor(paid * 10000 / budget) */
    int32_t planned_bp;         /* floor of the interpolated plan */
    int32_t lag_bp;             /* planned_bp - rate_bp */
    int32_t pace_bp;            /* 序时进度: days elapsed / days in year */
    int32_t pace_lag_bp;        /* pace_bp - rate_bp */
    bw_milestone milestone;     /* the missed milestone (milestone alerts), else zero */
    int64_t at;                 /* the instant it is about (a milestone: its deadline) */
    int64_t evaluated;          /* the instant of the figures */
    int64_t since;              /* when this alert started firing */
} bw_alert;

typedef void (*bw_alert_fn)(void *ctx, const bw_alert *a);

/* Per-project alert slot, exported for persistence. */
typedef struct bw_slot {
    uint8_t severity;           /* BW_SEV_NONE when not firing */
    uint8_t acked;              /* handled: no reminders until it escalates */
    uint8_t ms;                 /* milestone slot: index+1 of the missed milestone */
    uint8_t band;               /* lag slot: its band, 1-based */
    uint8_t handling;           /* bw_handling of this episode */
    /* Judged normal up to this level (the band, or the severity for a kind
     * without bands): the alert is silent while it stays at or below it. A
     * lag's judgement outlives the episode (the same condition does not fire
     * again); every other kind's ends with it. */
    uint8_t normal;
    uint8_t quiet;              /* this episode began judged normal: never published */
    int64_t since;              /* start of this firing episode */
    int64_t last_sent;          /* last firing message (start, escalation, reminder) */
} bw_slot;

/* Everything the engine knows about one project beyond the plan: what the
 * store keeps so that a restart needs no re-summing of the ledger. */
typedef struct bw_project_state {
    int64_t budget;             /* current (adjusted) budget, fen */
    int64_t paid_fiscal, paid_other;
    int64_t last_paid;          /* ts of the latest disbursement (stalled), 0 if none */
    bw_slot slot[BW_PROJECT_KINDS];
} bw_project_state;

typedef struct bw_status {
    int64_t budget, paid, paid_fiscal, paid_other;
    int64_t planned_fen;        /* planned share of the budget at `at` */
    int64_t shortfall;          /* planned_fen - paid */
    int64_t pace_fen;           /* 序时进度's share of the budget (summed per project) */
    int64_t pace_shortfall;     /* pace_fen - paid */
    int32_t rate_bp, planned_bp, lag_bp, pace_bp;
    int32_t pace_lag_bp;        /* pace_bp - rate_bp */
    uint8_t basis;              /* BW_BASIS_PLAN or _PACE: what the row is judged against */
    uint8_t band;               /* worst firing lag band, 1-based; 0 none */
    uint8_t severity;           /* worst firing severity (projects; units: worst of theirs) */
    uint32_t firing;            /* number of firing alerts */
    uint32_t projects;          /* number of projects summed */
} bw_status;

typedef enum bw_rank_by { BW_RANK_LAG = 0, BW_RANK_SHORTFALL = 1 } bw_rank_by;

typedef struct bw_engine bw_engine;

/* Creates an engine standing at instant `now`. Takes ownership of *plan (and
 * sets *plan to NULL) on success; on failure the plan stays the caller's.
 * Copies cal and opts. Returns NULL with a message in err. */
bw_engine *bw_engine_new(bw_plan **plan, const bw_calendar *cal,
                         const bw_engine_opts *opts, int64_t now, bw_err *err);
void bw_engine_free(bw_engine **e);
/* Frees the engine but hands its plan back (the caller owns it): a reload
 * that may have to fall back on the old plan need not hold two engines. */
bw_plan *bw_engine_free_keep_plan(bw_engine **e);

const bw_plan *bw_engine_plan(const bw_engine *e);
const bw_calendar *bw_engine_calendar(const bw_engine *e);
int64_t bw_engine_now(const bw_engine *e);

/* Applies a disbursement or refund of amount fen (> 0) at `now`. Returns 0, or
 * -1 with the reason: a refund larger than what was paid, an overflow. On error
 * nothing changes. */
int bw_engine_apply(bw_engine *e, uint32_t project, bw_event_type type, bw_fund fund,
                    int64_t amount, bw_err *err);
/* Whether bw_engine_apply would succeed, changing nothing: 0, or -1 with the
 * reason. The shell checks before it writes the event to the ledger. */
int bw_engine_check(const bw_engine *e, uint32_t project, bw_event_type type, bw_fund fund,
                    int64_t amount, bw_err *err);
/* Sets a project's budget (fen, > 0) at once (预算调整). */
int bw_engine_adjust(bw_engine *e, uint32_t project, int64_t budget, bw_err *err);

/* Evaluates dirty projects at `now`, then every time-driven instant up to `to`
 * in order, calling fn for each transition; then stands at max(now, to).
 * Returns the number of transitions emitted. */
uint64_t bw_engine_evaluate(bw_engine *e, int64_t to, bw_alert_fn fn, void *ctx);
/* The next instant at which an alert can change without a new event, or
 * BW_NEVER. The shell sets one timer for it. */
int64_t bw_engine_next_instant(const bw_engine *e);

/* A supervisor acknowledges a firing alert: bw_engine_handle with the step
 * followed_up (no reminders until it escalates or resolves). Fills *out with
 * the acknowledged alert. -1 if it is not firing, or its handling is past
 * following up (corrected, judged_normal). */
int bw_engine_ack(bw_engine *e, uint32_t project, bw_alert_kind kind, bw_alert *out,
                  bw_err *err);
/* A supervisor records a handling step (PROTOCOL.md §1.7): `to` is
 * followed_up, corrected, judged_normal or judged_violation, allowed from
 * where the alert stands (bw_handling_allowed). Every step stops reminders
 * until the alert escalates; judged_normal also keeps it silent at its band
 * and below until it reaches a worse one. Fills out[0] with the step (state
 * acknowledged, handling = to) and returns how many messages it makes: 1, or
 * 2 when the step ends the alert (a large_payment concluded by corrected,
 * judged_normal or judged_violation: out[1] is its resolution). -1 with the
 * reason: no such firing alert, or a step not allowed from where it is. */
int bw_engine_handle(bw_engine *e, uint32_t project, bw_alert_kind kind, bw_handling to,
                     bw_alert out[2], bw_err *err);
/* Records that a disbursement paid at ts (stalled counts from the latest). */
void bw_engine_paid_at(bw_engine *e, uint32_t project, int64_t ts);
/* Counts a payment (dated ts) into the windows of burst and year_end_rush.
 * Their state is not saved: the shell calls this for each payment it takes,
 * and at start for every ledger event from bw_engine_window_start on (and
 * for no other: not again for the events a restart re-adds). */
void bw_engine_window_payment(bw_engine *e, uint32_t project, bw_event_type type, int64_t amount,
                              int64_t ts);
/* The earliest ts a payment must have to count in a window at the engine's
 * now (burst: now - burst_window; year_end_rush: the year's end -
 * rush_window), or BW_NEVER when both rules are off. */
int64_t bw_engine_window_start(const bw_engine *e);
/* A disbursement of amount fen just applied to project: when it is a large
 * payment (rule_large_payment.c), starts a new large_payment alert at `now`,
 * fills *out with its firing message and returns true. Call once per
 * payment, never when replaying the ledger on a restart. */
bool bw_engine_large_payment(bw_engine *e, uint32_t project, int64_t amount, bw_alert *out);
/* The name of lag band b (1-based), "" for 0 or a band that does not exist. */
const char *bw_engine_band_name(const bw_engine *e, int band);
const bw_engine_opts *bw_engine_options(const bw_engine *e);

/* Fills *out with the current alert of a slot; false if it is not firing. */
bool bw_engine_active(const bw_engine *e, uint32_t project, bw_alert_kind kind,
                      bw_alert *out);

/* Status at the engine's `now`. */
void bw_engine_project_status(const bw_engine *e, uint32_t project, bw_status *out);
void bw_engine_unit_status(const bw_engine *e, uint32_t unit, bw_status *out);
void bw_engine_total_status(const bw_engine *e, bw_status *out);
/* Status as of an instant t (the `status` op's `at`): the figures of
 * project ix at t for the budget it had then and what was paid by then
 * (both from the ledger, passed in), its severity and firing count from
 * those figures alone, as a first evaluation at t would give them (the
 * rules with empty slots; no hysteresis, no acknowledgements). Subtotals:
 * bw_engine_status_sum each row into a zeroed sum, then
 * bw_engine_status_finish_at (rates from the summed money, pace at t).
 * bw_engine_status_sum returns -1, the sum unchanged, when a sum would pass
 * 2^63 - 1 fen (budgets of the past need not fit as today's do). */
void bw_engine_project_status_at(const bw_engine *e, uint32_t project, int64_t t, int64_t budget,
                                 int64_t paid_fiscal, int64_t paid_other, bw_status *out);
int bw_engine_status_sum(bw_status *sum, const bw_status *row);
void bw_engine_status_finish_at(const bw_engine *e, int64_t t, bw_status *sum);
/* The planned share of project ix's current budget at t, fen (the status
 * rows' planned money): the `series` op's plan line. */
int64_t bw_engine_planned_fen(const bw_engine *e, uint32_t project, int64_t t);
/* Writes up to max project indices, worst first, restricted to one unit unless
 * unit < 0. Returns how many were written. */
size_t bw_engine_rank(const bw_engine *e, bw_rank_by by, int64_t unit,
                      uint32_t *out, size_t max);

/* Persistence: read or restore one project's state. Restore puts the project
 * back in the heap; it emits nothing. */
const bw_project_state *bw_engine_state(const bw_engine *e, uint32_t project);
int bw_engine_restore(bw_engine *e, uint32_t project, const bw_project_state *st,
                      bw_err *err);

/* Bytes the engine holds per project (state + heap), for the README and bench. */
size_t bw_engine_bytes_per_project(void);

#endif
