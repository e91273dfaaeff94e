/* engine: paid totals, execution rates and alert lifecycles per project, driven
 * by payments and by time. Every time-driven change is computed analytically
 * and kept in a min-heap, so neither events nor timers ever scan all projects.
 * What differs by alert kind is its rule (rule.h); the life cycle is here. */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "rule.h"

__extension__ typedef __int128 i128;

#define NOT_IN_HEAP UINT32_MAX

typedef struct proj {
    bw_project_state st;
    int64_t next_at;            /* next time-driven instant, BW_NEVER if none */
    uint32_t heap_pos;
    uint8_t dirty;
} proj;

struct bw_engine {
    bw_plan *plan;
    bw_calendar cal;
    bw_engine_opts opts;
    int64_t now;
    size_t n;
    proj *p;
    bw_knots *sched;            /* per schedule of the plan (rule.h) */
    uint32_t *heap;
    size_t heap_n;
    uint32_t *dirty;
    size_t ndirty;
    uint32_t *unit_off;         /* projects of unit u: unit_member[unit_off[u] .. unit_off[u+1]) */
    uint32_t *unit_member;
    /* The department's paid total and budget. Every figure is >= 0, so while
     * these fit in int64 so does every unit's subtotal: a payment, budget or
     * restored row that would overflow them is refused, and the status sums
     * need no check. */
    int64_t sum_paid, sum_budget;
    /* The windows of burst and year_end_rush, only when they are on: per
     * project its burst_payments + 1 latest payment ts (ascending, 0 unused),
     * and what it paid in the year's last rush_window. */
    int64_t *recent;
    int64_t *late;
    /* The kinds whose rule can fire with these options (bit per kind): the
     * others are looked at only while their slot holds something, so the
     * rules a bureau leaves off cost an evaluation nothing. */
    uint32_t kinds_on;
};

void bw_engine_opts_default(bw_engine_opts *o)
{
    o->lag_warning_bp = 1000;
    o->lag_critical_bp = 2000;
    o->hysteresis_bp = 100;
    o->repeat_interval = 86400;
    o->lag_basis = BW_BASIS_PLAN;
    o->nbands = 0;
    o->stalled_after = 0;
    o->large_payment_bp = 0;
    o->large_payment_fen = 0;
    o->burst_payments = 0;
    o->burst_window = 86400;
    o->rush_window = 0;
    o->rush_bp = 3000;
}

/* Without [alerts] bands, today's pair: warning and critical. */
static void derive_bands(bw_engine_opts *o)
{
    if (o->nbands > 0)
        return;
    o->nbands = 2;
    memset(o->band, 0, sizeof o->band);
    memcpy(o->band[0].name, "warning", sizeof "warning");
    o->band[0].bp = o->lag_warning_bp;
    memcpy(o->band[1].name, "critical", sizeof "critical");
    o->band[1].bp = o->lag_critical_bp;
}

/* ---- heap of projects keyed by next_at ---- */

static bool heap_less(const bw_engine *e, uint32_t a, uint32_t b)
{
    return e->p[a].next_at < e->p[b].next_at || (e->p[a].next_at == e->p[b].next_at && a < b);
}

static void heap_set(bw_engine *e, size_t i, uint32_t proj_ix)
{
    e->heap[i] = proj_ix;
    e->p[proj_ix].heap_pos = (uint32_t)i;
}

static void heap_up(bw_engine *e, size_t i)
{
    uint32_t x = e->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(e, x, e->heap[parent]))
            break;
        heap_set(e, i, e->heap[parent]);
        i = parent;
    }
    heap_set(e, i, x);
}

static void heap_down(bw_engine *e, size_t i)
{
    uint32_t x = e->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->heap_n)
            break;
        if (c + 1 < e->heap_n && heap_less(e, e->heap[c + 1], e->heap[c]))
            c++;
        if (!heap_less(e, e->heap[c], x))
            break;
        heap_set(e, i, e->heap[c]);
        i = c;
    }
    heap_set(e, i, x);
}

static void heap_remove(bw_engine *e, uint32_t ix)
{
    size_t i = e->p[ix].heap_pos;
    e->p[ix].heap_pos = NOT_IN_HEAP;
    uint32_t last = e->heap[--e->heap_n];
    if (i == e->heap_n)
        return;
    heap_set(e, i, last);
    heap_up(e, i);
    heap_down(e, e->p[last].heap_pos);
}

/* Moves a project to its new instant: O(log n). */
static void heap_update(bw_engine *e, uint32_t ix, int64_t next_at)
{
    proj *pr = &e->p[ix];
    bool in = pr->heap_pos != NOT_IN_HEAP;
    pr->next_at = next_at;
    if (next_at == BW_NEVER) {
        if (in)
            heap_remove(e, ix);
        return;
    }
    if (!in) {
        heap_set(e, e->heap_n++, ix);
        heap_up(e, e->heap_n - 1);
        return;
    }
    heap_up(e, pr->heap_pos);
    heap_down(e, pr->heap_pos);
}

/* ---- figures ---- */

static const bw_knots *knots_of(const bw_engine *e, uint32_t ix)
{
    return &e->sched[bw_plan_project(e->plan, ix)->schedule];
}

static int32_t clamp_bp(i128 v)
{
    if (v > INT32_MAX)
        return INT32_MAX;
    if (v < INT32_MIN)
        return INT32_MIN;
    return (int32_t)v;
}

static i128 floor_div(i128 a, i128 b)   /* b > 0 */
{
    i128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The plan at t as the fraction num/den of 10000 bp: exact, for money and bp alike. */
static void planned_frac(const bw_knots *k, int64_t t, i128 *num, i128 *den)
{
    if (t <= k->t[0]) {
        *num = 0;
        *den = 1;
        return;
    }
    for (int i = 1; i <= k->n; i++) {
        if (t < k->t[i]) {
            i128 span = k->t[i] - k->t[i - 1];
            *num = (i128)k->bp[i - 1] * span + (i128)(k->bp[i] - k->bp[i - 1]) * (t - k->t[i - 1]);
            *den = span;
            return;
        }
    }
    *num = k->bp[k->n];
    *den = 1;
}

static int32_t rate_bp_of(int64_t paid, int64_t budget)
{
    return clamp_bp(floor_div((i128)paid * 10000, budget));
}

/* The project's lag basis: its plan column, else [alerts] lag_basis. */
static uint8_t basis_of(const bw_engine *e, uint32_t ix)
{
    uint8_t b = bw_plan_project(e->plan, ix)->basis;
    return b > 0 ? (uint8_t)(b - 1) : e->opts.lag_basis;
}

/* What a lag is judged against under basis b, given both lags. */
static uint8_t judged_basis(uint8_t b, int32_t plan_lag, int32_t pace_lag)
{
    if (b == BW_BASIS_BOTH)
        return pace_lag > plan_lag ? BW_BASIS_PACE : BW_BASIS_PLAN;
    return b;
}

/* A project's figures at t for a budget and a paid total given. */
static void figures_of(const bw_engine *e, uint32_t ix, int64_t t, int64_t budget, int64_t paid,
                       bw_figures *f)
{
    i128 num, den;
    int days = bw_cal_days_elapsed(&e->cal, t);
    planned_frac(knots_of(e, ix), t, &num, &den);
    f->budget = budget;
    f->paid = paid;
    f->planned_fen = (int64_t)floor_div(num * f->budget, den * 10000);
    f->rate_bp = rate_bp_of(f->paid, f->budget);
    f->planned_bp = clamp_bp(floor_div(num, den));
    f->lag_bp = f->planned_bp - f->rate_bp;
    f->pace_bp = (int32_t)((int64_t)days * 10000 / e->cal.ndays);
    /* budget * days fits in 64 bits for any budget under 2.5e16 fen. */
    f->pace_fen = f->budget <= INT64_MAX / 367 ? f->budget * days / e->cal.ndays
                                                : (int64_t)floor_div((i128)f->budget * days, e->cal.ndays);
    f->pace_lag_bp = f->pace_bp - f->rate_bp;
    f->basis = judged_basis(basis_of(e, ix), f->lag_bp, f->pace_lag_bp);
}

static void figures_at(const bw_engine *e, uint32_t ix, int64_t t, bw_figures *f)
{
    const proj *pr = &e->p[ix];
    figures_of(e, ix, t, pr->st.budget, pr->st.paid_fiscal + pr->st.paid_other, f);
}

/* ---- alert lifecycle ---- */

typedef struct emitter {
    bw_alert_fn fn;
    void *ctx;
    uint64_t count;
} emitter;

static void fill_alert(const bw_engine *e, uint32_t ix, int kind, const bw_figures *f, int64_t t,
                       bw_alert *a)
{
    const bw_slot *s = &e->p[ix].st.slot[kind];
    memset(a, 0, sizeof *a);
    a->kind = (uint8_t)kind;
    a->state = s->acked ? BW_STATE_ACKNOWLEDGED : BW_STATE_FIRING;
    a->severity = s->severity;
    a->band = s->band;
    a->basis = f->basis;
    /* A slot acknowledged before handling existed (version 4) was followed up. */
    a->handling = s->handling ? s->handling : s->acked ? BW_HANDLING_FOLLOWED_UP : BW_HANDLING_UNHANDLED;
    a->project = ix;
    a->budget = f->budget;
    a->paid = f->paid;
    a->shortfall = f->planned_fen - f->paid;
    a->rate_bp = f->rate_bp;
    a->planned_bp = f->planned_bp;
    a->lag_bp = f->lag_bp;
    a->pace_bp = f->pace_bp;
    a->pace_lag_bp = f->pace_lag_bp;
    a->pace_shortfall = f->pace_fen - f->paid;
    a->evaluated = a->at = t;
    a->since = s->since;
    /* A reminder of a missed milestone is still about its deadline: a
     * receiver matches the messages of one miss by it. */
    if (bw_rule_of(kind)->about_milestone && s->ms > 0) {
        a->milestone = bw_plan_schedule(e->plan, bw_plan_project(e->plan, ix)->schedule)->m[s->ms - 1];
        a->at = knots_of(e, ix)->t[s->ms];
    }
}

static void emit(bw_engine *e, emitter *em, uint32_t ix, int kind, const bw_figures *f, int64_t t,
                 uint8_t state)
{
    bw_alert a;
    fill_alert(e, ix, kind, f, t, &a);
    a.state = state;
    em->count++;
    if (em->fn)
        em->fn(em->ctx, &a);
}

/* A slot's level: its band for a banded rule, else its severity. */
static uint8_t level_of(const bw_slot *s)
{
    return s->band ? s->band : s->severity;
}

/* Moves one slot to severity `want` (band `band`, milestone `ms`) at t,
 * saying so once: firing on start, escalation, de-escalation, a band change
 * or a new milestone; resolved on end; a reminder every repeat interval
 * while it fires unhandled. A move to a worse level starts the handling
 * again. While the slot stays at or below a level judged normal it is
 * silent, and an episode that began there is never published at all. */
static void transition(bw_engine *e, emitter *em, uint32_t ix, int kind, const bw_rule_want *w,
                       const bw_figures *f, int64_t t)
{
    bw_slot *s = &e->p[ix].st.slot[kind];
    const bw_rule *r = bw_rule_of(kind);
    if (w->severity == BW_SEV_NONE) {
        if (s->severity != BW_SEV_NONE) {
            if (!s->quiet)
                emit(e, em, ix, kind, f, t, BW_STATE_RESOLVED);
            uint8_t keep = r->banded ? s->normal : 0;   /* the same condition stays judged */
            memset(s, 0, sizeof *s);
            s->normal = keep;
        }
        return;
    }
    bool start = s->severity == BW_SEV_NONE || s->ms != w->ms;
    bool changed = start || s->severity != w->severity || s->band != w->band;
    uint8_t was = start ? 0 : level_of(s);
    if (start && s->ms != w->ms)
        s->normal = r->banded ? s->normal : 0;      /* another milestone: a new condition */
    s->severity = w->severity;
    s->band = w->band;
    s->ms = w->ms;
    uint8_t level = level_of(s);
    bool judged = s->normal > 0 && level <= s->normal;
    if (start) {
        s->since = t;
        s->acked = judged;
        s->handling = judged ? BW_HANDLING_JUDGED_NORMAL : BW_HANDLING_UNHANDLED;
        s->quiet = judged;
    } else if (level > was && !judged) {
        s->acked = 0;                   /* worse than handled: handle it again */
        s->handling = BW_HANDLING_UNHANDLED;
        s->normal = 0;
        if (s->quiet) {                 /* first heard of now */
            s->quiet = 0;
            s->since = t;
        }
    }
    if (s->quiet || (judged && s->handling == BW_HANDLING_JUDGED_NORMAL))
        return;
    bool remind = !s->acked && e->opts.repeat_interval > 0 && t >= s->last_sent + e->opts.repeat_interval;
    if (changed || remind) {
        s->last_sent = t;
        emit(e, em, ix, kind, f, t, BW_STATE_FIRING);
    }
}

/* What a rule may know of project ix besides its figures (slot: set per rule). */
static void rule_project(const bw_engine *e, uint32_t ix, bw_rule_project *rp)
{
    rp->opts = &e->opts;
    rp->cal = &e->cal;
    rp->k = knots_of(e, ix);
    rp->basis = basis_of(e, ix);
    rp->last_paid = e->p[ix].st.last_paid;
    rp->recent = e->recent ? &e->recent[(size_t)ix * (size_t)(e->opts.burst_payments + 1)] : NULL;
    rp->late_paid = e->late ? e->late[ix] : 0;
    rp->target_bp = bw_plan_project(e->plan, ix)->target_bp;
    rp->year_end = bw_cal_year_end(&e->cal);
    rp->slot = NULL;
}

/* Whether kind needs looking at for this slot: its rule is on, or the slot
 * still holds an alert from when it was (a reload turned it off: it resolves). */
static bool kind_live(const bw_engine *e, int kind, const bw_slot *s)
{
    return (e->kinds_on >> kind & 1) || s->severity != BW_SEV_NONE;
}

/* Each project kind in turn, in the table's order (the order of the messages
 * of one evaluation): its rule says where the slot should be, the life cycle
 * moves it there. */
static void evaluate_project(bw_engine *e, emitter *em, uint32_t ix, int64_t t)
{
    bw_figures f;
    figures_at(e, ix, t, &f);
    bw_rule_project rp;
    rule_project(e, ix, &rp);
    for (int kind = 0; kind < BW_PROJECT_KINDS; kind++) {
        if (!kind_live(e, kind, &e->p[ix].st.slot[kind]))
            continue;
        rp.slot = &e->p[ix].st.slot[kind];
        bw_rule_want w = bw_rule_of(kind)->want(&rp, &f, t);
        transition(e, em, ix, kind, &w, &f, t);
    }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The next instant after t at which this project's alerts can change by time
 * alone: the earliest of its rules' next instants (between events paid is
 * fixed and the plan only rises) and of its reminders due. */
static int64_t next_instant(const bw_engine *e, uint32_t ix, int64_t t)
{
    const proj *pr = &e->p[ix];
    int32_t rate = rate_bp_of(pr->st.paid_fiscal + pr->st.paid_other, pr->st.budget);
    int64_t next = BW_NEVER;
    bw_rule_project rp;
    rule_project(e, ix, &rp);
    for (int kind = 0; kind < BW_PROJECT_KINDS; kind++) {
        const bw_slot *s = &pr->st.slot[kind];
        if (!kind_live(e, kind, s))
            continue;
        rp.slot = s;
        next = min64(next, bw_rule_of(kind)->next(&rp, rate, t));
        if (s->severity != BW_SEV_NONE && !s->acked && !s->quiet && e->opts.repeat_interval > 0)
            next = min64(next, s->last_sent + e->opts.repeat_interval);   /* its reminder */
    }
    return next <= t ? t + 1 : next;
}

static void reschedule(bw_engine *e, uint32_t ix, int64_t t)
{
    heap_update(e, ix, next_instant(e, ix, t));
}

static void mark_dirty(bw_engine *e, uint32_t ix)
{
    if (e->p[ix].dirty)
        return;
    e->p[ix].dirty = 1;
    e->dirty[e->ndirty++] = ix;
}

/* ---- life cycle ---- */

static int build_knots(bw_engine *e, bw_err *err)
{
    size_t ns = bw_plan_nschedules(e->plan);
    e->sched = calloc(ns ? ns : 1, sizeof *e->sched);
    if (e->sched == NULL)
        return bw_err_set(err, "out of memory for %zu schedules", ns);
    for (size_t i = 0; i < ns; i++) {
        const bw_schedule *s = bw_plan_schedule(e->plan, i);
        bw_knots *k = &e->sched[i];
        k->n = s->n;
        k->t[0] = bw_cal_year_start(&e->cal);
        k->bp[0] = 0;
        for (int j = 0; j < s->n; j++) {
            if (!bw_cal_valid_date(e->cal.year, s->m[j].month, s->m[j].day))
                return bw_err_set(err, "milestone %02d-%02d does not exist in %d", s->m[j].month,
                                  s->m[j].day, e->cal.year);
            k->t[j + 1] = bw_cal_deadline(&e->cal, s->m[j].month, s->m[j].day);
            k->bp[j + 1] = s->m[j].bp;
        }
    }
    return 0;
}

static int build_units(bw_engine *e, bw_err *err)
{
    size_t nu = bw_plan_nunits(e->plan);
    e->unit_off = calloc(nu + 1, sizeof *e->unit_off);
    e->unit_member = malloc((e->n ? e->n : 1) * sizeof *e->unit_member);
    if (e->unit_off == NULL || e->unit_member == NULL)
        return bw_err_set(err, "out of memory indexing %zu units", nu);
    for (size_t i = 0; i < e->n; i++)
        e->unit_off[bw_plan_project(e->plan, i)->unit + 1]++;
    for (size_t u = 0; u < nu; u++)
        e->unit_off[u + 1] += e->unit_off[u];
    uint32_t *fill = calloc(nu ? nu : 1, sizeof *fill);
    if (fill == NULL)
        return bw_err_set(err, "out of memory indexing %zu units", nu);
    for (size_t i = 0; i < e->n; i++) {
        uint32_t u = bw_plan_project(e->plan, i)->unit;
        e->unit_member[e->unit_off[u] + fill[u]++] = (uint32_t)i;
    }
    free(fill);
    return 0;
}

bw_engine *bw_engine_new(bw_plan **plan, const bw_calendar *cal, const bw_engine_opts *opts,
                         int64_t now, bw_err *err)
{
    if (bw_plan_options(*plan)->fiscal_year != cal->year) {
        bw_err_set(err, "the plan is for fiscal year %d but the calendar for %d",
                   bw_plan_options(*plan)->fiscal_year, cal->year);
        return NULL;
    }
    bw_engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        bw_err_set(err, "out of memory creating the engine");
        return NULL;
    }
    e->plan = *plan;
    e->cal = *cal;
    e->opts = *opts;
    derive_bands(&e->opts);
    e->kinds_on = (1u << BW_PROJECT_KINDS) - 1;
    if (e->opts.stalled_after <= 0)
        e->kinds_on &= ~(1u << BW_KIND_STALLED);
    if (e->opts.large_payment_bp <= 0 && e->opts.large_payment_fen <= 0)
        e->kinds_on &= ~(1u << BW_KIND_LARGE_PAYMENT);
    if (e->opts.burst_payments <= 0)
        e->kinds_on &= ~(1u << BW_KIND_BURST);
    if (e->opts.rush_window <= 0)
        e->kinds_on &= ~(1u << BW_KIND_YEAR_END_RUSH);
    e->now = now;
    e->n = bw_plan_nprojects(e->plan);
    size_t n1 = e->n ? e->n : 1;
    e->p = calloc(n1, sizeof *e->p);
    e->heap = malloc(n1 * sizeof *e->heap);
    e->dirty = malloc(n1 * sizeof *e->dirty);
    if (e->p == NULL || e->heap == NULL || e->dirty == NULL) {
        bw_err_set(err, "out of memory for %zu projects", e->n);
        goto fail;
    }
    if (build_knots(e, err) || build_units(e, err))
        goto fail;
    if (e->opts.burst_payments < 0 || e->opts.burst_payments > BW_BURST_MAX) {
        bw_err_set(err, "burst_payments must be 0 to %d, got %d", BW_BURST_MAX,
                   (int)e->opts.burst_payments);
        goto fail;
    }
    if (e->opts.burst_payments > 0)
        e->recent = calloc(n1 * (size_t)(e->opts.burst_payments + 1), sizeof *e->recent);
    if (e->opts.rush_window > 0)
        e->late = calloc(n1, sizeof *e->late);
    if ((e->opts.burst_payments > 0 && e->recent == NULL) || (e->opts.rush_window > 0 && e->late == NULL)) {
        bw_err_set(err, "out of memory for the payment windows of %zu projects", e->n);
        goto fail;
    }
    for (size_t i = 0; i < e->n; i++) {
        e->p[i].st.budget = bw_plan_project(e->plan, i)->budget;
        if (!bw_fen_add(e->sum_budget, e->p[i].st.budget, &e->sum_budget)) {
            bw_err_set(err, "the plan's budgets add up to more than %lld fen; check the plan",
                       (long long)INT64_MAX);
            goto fail;
        }
        e->p[i].next_at = BW_NEVER;
        e->p[i].heap_pos = NOT_IN_HEAP;
        mark_dirty(e, (uint32_t)i);   /* first evaluate schedules every project */
    }
    *plan = NULL;
    return e;
fail:
    e->plan = NULL;   /* still the caller's */
    bw_engine_free(&e);
    return NULL;
}

void bw_engine_free(bw_engine **ep)
{
    if (ep == NULL || *ep == NULL)
        return;
    bw_engine *e = *ep;
    bw_plan_free(&e->plan);
    free(e->p);
    free(e->sched);
    free(e->heap);
    free(e->dirty);
    free(e->unit_off);
    free(e->unit_member);
    free(e->recent);
    free(e->late);
    free(e);
    *ep = NULL;
}

bw_plan *bw_engine_free_keep_plan(bw_engine **ep)
{
    if (ep == NULL || *ep == NULL)
        return NULL;
    bw_plan *plan = (*ep)->plan;
    (*ep)->plan = NULL;
    bw_engine_free(ep);
    return plan;
}

const bw_plan *bw_engine_plan(const bw_engine *e) { return e->plan; }
const bw_engine_opts *bw_engine_options(const bw_engine *e) { return &e->opts; }

const char *bw_engine_band_name(const bw_engine *e, int band)
{
    return band >= 1 && band <= e->opts.nbands ? e->opts.band[band - 1].name : "";
}
const bw_calendar *bw_engine_calendar(const bw_engine *e) { return &e->cal; }
int64_t bw_engine_now(const bw_engine *e) { return e->now; }

size_t bw_engine_bytes_per_project(void)
{
    return sizeof(proj) + 3 * sizeof(uint32_t);   /* state, heap, dirty list, unit index */
}

/* ---- operations ---- */

/* The new paid total of the fund an event touches, or -1 with the reason. */
static int new_paid(const bw_engine *e, uint32_t ix, bw_event_type type, bw_fund fund,
                    int64_t amount, int64_t *out, bw_err *err)
{
    if (ix >= e->n)
        return bw_err_set(err, "no project with index %u", ix);
    if (amount <= 0)
        return bw_err_set(err, "amount must be more than 0 fen, got %lld", (long long)amount);
    const bw_project_state *st = &e->p[ix].st;
    int64_t bucket = fund == BW_FUND_OTHER ? st->paid_other : st->paid_fiscal;
    int64_t rest = fund == BW_FUND_OTHER ? st->paid_fiscal : st->paid_other;
    const char *code = bw_plan_project(e->plan, ix)->code;
    int64_t total;
    if (type == BW_EV_REFUND) {
        if (amount > bucket)
            return bw_err_set(err, "refund of %lld fen would take project %s below zero %s paid "
                              "(%lld fen paid so far); check the amount and the fund",
                              (long long)amount, code, bw_fund_name(fund), (long long)bucket);
        *out = bucket - amount;
        return 0;
    }
    if (!bw_fen_add(bucket, amount, out) || !bw_fen_add(*out, rest, &total))
        return bw_err_set(err, "paid total of project %s would overflow", code);
    if (!bw_fen_add(e->sum_paid, amount, &total))
        return bw_err_set(err, "payment of %lld fen to project %s would take the department's paid "
                          "total past %lld fen; check the amount", (long long)amount, code,
                          (long long)INT64_MAX);
    return 0;
}

int bw_engine_check(const bw_engine *e, uint32_t ix, bw_event_type type, bw_fund fund,
                    int64_t amount, bw_err *err)
{
    int64_t v;
    return new_paid(e, ix, type, fund, amount, &v, err);
}

int bw_engine_apply(bw_engine *e, uint32_t ix, bw_event_type type, bw_fund fund, int64_t amount,
                    bw_err *err)
{
    int64_t v;
    if (new_paid(e, ix, type, fund, amount, &v, err))
        return -1;
    int64_t *bucket = fund == BW_FUND_OTHER ? &e->p[ix].st.paid_other : &e->p[ix].st.paid_fiscal;
    e->sum_paid += v - *bucket;     /* checked by new_paid */
    *bucket = v;
    mark_dirty(e, ix);
    return 0;
}

int bw_engine_adjust(bw_engine *e, uint32_t ix, int64_t budget, bw_err *err)
{
    if (ix >= e->n)
        return bw_err_set(err, "no project with index %u", ix);
    if (budget <= 0)
        return bw_err_set(err, "a budget must be more than 0 fen, got %lld", (long long)budget);
    int64_t sum;
    if (!bw_fen_add(e->sum_budget - e->p[ix].st.budget, budget, &sum))
        return bw_err_set(err, "a budget of %lld fen for project %s would take the department's "
                          "budget past %lld fen; check the amount", (long long)budget,
                          bw_plan_project(e->plan, ix)->code, (long long)INT64_MAX);
    e->sum_budget = sum;
    e->p[ix].st.budget = budget;
    mark_dirty(e, ix);
    return 0;
}

uint64_t bw_engine_evaluate(bw_engine *e, int64_t to, bw_alert_fn fn, void *ctx)
{
    emitter em = { fn, ctx, 0 };
    for (size_t i = 0; i < e->ndirty; i++) {
        uint32_t ix = e->dirty[i];
        e->p[ix].dirty = 0;
        evaluate_project(e, &em, ix, e->now);
        reschedule(e, ix, e->now);
    }
    e->ndirty = 0;
    while (e->heap_n > 0 && e->p[e->heap[0]].next_at <= to) {
        uint32_t ix = e->heap[0];
        int64_t t = e->p[ix].next_at;
        evaluate_project(e, &em, ix, t);
        reschedule(e, ix, t);
    }
    if (to > e->now)
        e->now = to;
    return em.count;
}

int64_t bw_engine_next_instant(const bw_engine *e)
{
    return e->heap_n > 0 ? e->p[e->heap[0]].next_at : BW_NEVER;
}

bool bw_engine_active(const bw_engine *e, uint32_t ix, bw_alert_kind kind, bw_alert *out)
{
    if (ix >= e->n || !bw_kind_is_project(kind) || e->p[ix].st.slot[kind].severity == BW_SEV_NONE ||
        e->p[ix].st.slot[kind].quiet)
        return false;
    bw_figures f;
    figures_at(e, ix, e->now, &f);
    fill_alert(e, ix, kind, &f, e->now, out);
    return true;
}

int bw_engine_handle(bw_engine *e, uint32_t ix, bw_alert_kind kind, bw_handling to,
                     bw_alert out[2], bw_err *err)
{
    if (ix >= e->n || !bw_kind_is_project(kind))
        return bw_err_set(err, "no such project or alert kind");
    if (!bw_kind_ackable(kind)) {
        char list[128];
        bw_kinds_ackable_list(list, sizeof list);
        return bw_err_set(err, "%s alerts cannot be acknowledged; ack takes %s", bw_kind_name(kind),
                          list);
    }
    bw_slot *s = &e->p[ix].st.slot[kind];
    const char *code = bw_plan_project(e->plan, ix)->code;
    if (s->severity == BW_SEV_NONE || s->quiet)
        return bw_err_set(err, "project %s has no firing %s alert to %s", code, bw_kind_name(kind),
                          to == BW_HANDLING_FOLLOWED_UP ? "acknowledge" : "handle");
    if (!bw_handling_allowed(s->handling, to))
        return bw_err_set(err, "the %s alert of project %s is %s; it cannot become %s (the "
                          "allowed steps are in PROTOCOL.md, \"Handling\")", bw_kind_name(kind),
                          code, bw_handling_name(s->handling), bw_handling_name(to));
    s->acked = 1;
    s->handling = (uint8_t)to;
    s->normal = to == BW_HANDLING_JUDGED_NORMAL ? level_of(s) : 0;   /* overturned: judged no more */
    bw_engine_active(e, ix, kind, &out[0]);
    out[0].state = BW_STATE_ACKNOWLEDGED;
    int n = 1;
    if (bw_rule_of(kind)->event && to != BW_HANDLING_FOLLOWED_UP) {
        out[1] = out[0];                /* concluded: the event alert ends here */
        out[1].state = BW_STATE_RESOLVED;
        memset(s, 0, sizeof *s);
        n = 2;
    }
    reschedule(e, ix, e->now);   /* its reminder is no longer due */
    return n;
}

int bw_engine_ack(bw_engine *e, uint32_t ix, bw_alert_kind kind, bw_alert *out, bw_err *err)
{
    bw_alert two[2];
    int n = bw_engine_handle(e, ix, kind, BW_HANDLING_FOLLOWED_UP, two, err);
    if (n < 0)
        return -1;
    *out = two[0];
    return 0;
}

void bw_engine_paid_at(bw_engine *e, uint32_t ix, int64_t ts)
{
    if (ix >= e->n || ts <= e->p[ix].st.last_paid)
        return;
    e->p[ix].st.last_paid = ts;
    mark_dirty(e, ix);
}

void bw_engine_window_payment(bw_engine *e, uint32_t ix, bw_event_type type, int64_t amount,
                              int64_t ts)
{
    if (ix >= e->n)
        return;
    bool moved = false;
    if (e->recent != NULL && type == BW_EV_DISBURSEMENT) {
        int n = e->opts.burst_payments + 1;
        int64_t *r = &e->recent[(size_t)ix * (size_t)n];
        if (ts > r[0]) {            /* among the n latest: it replaces the oldest */
            int i = 0;
            while (i + 1 < n && r[i + 1] < ts) {
                r[i] = r[i + 1];
                i++;
            }
            r[i] = ts;
            moved = true;
        }
    }
    if (e->late != NULL && ts >= bw_cal_year_end(&e->cal) - e->opts.rush_window) {
        int64_t *l = &e->late[ix];
        if (type == BW_EV_REFUND)
            *l = amount > *l ? 0 : *l - amount;
        else if (!bw_fen_add(*l, amount, l))
            *l = INT64_MAX;         /* more than any paid total can be: the share is all */
        moved = true;
    }
    if (moved)
        mark_dirty(e, ix);
}

int64_t bw_engine_window_start(const bw_engine *e)
{
    int64_t from = BW_NEVER;
    if (e->recent != NULL)
        from = e->now - e->opts.burst_window;
    if (e->late != NULL) {
        int64_t opens = bw_cal_year_end(&e->cal) - e->opts.rush_window;
        from = opens < from ? opens : from;
    }
    return from;
}

bool bw_engine_large_payment(bw_engine *e, uint32_t ix, int64_t amount, bw_alert *out)
{
    if (ix >= e->n || !bw_rule_large_payment_is(&e->opts, e->p[ix].st.budget, amount))
        return false;
    bw_slot *s = &e->p[ix].st.slot[BW_KIND_LARGE_PAYMENT];
    memset(s, 0, sizeof *s);            /* each payment is an alert of its own */
    s->severity = BW_SEV_WARNING;
    s->since = s->last_sent = e->now;
    bw_engine_active(e, ix, BW_KIND_LARGE_PAYMENT, out);
    reschedule(e, ix, e->now);          /* its first reminder */
    return true;
}

/* ---- status ---- */

static void status_add(const bw_engine *e, uint32_t ix, bw_status *out)
{
    bw_figures f;
    figures_at(e, ix, e->now, &f);
    const bw_project_state *st = &e->p[ix].st;
    out->budget += f.budget;
    out->paid += f.paid;
    out->paid_fiscal += st->paid_fiscal;
    out->paid_other += st->paid_other;
    out->planned_fen += f.planned_fen;
    out->pace_fen += f.pace_fen;
    out->projects++;
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        if (st->slot[k].severity == BW_SEV_NONE || st->slot[k].quiet)
            continue;
        out->firing++;
        if (st->slot[k].severity > out->severity)
            out->severity = st->slot[k].severity;
        if (st->slot[k].band > out->band)
            out->band = st->slot[k].band;
    }
}

/* Rates of a sum are taken from the summed money, so subtotals are exact sums of
 * the rows above them and never an average of rounded rates. */
static void status_finish(const bw_engine *e, bw_status *out)
{
    out->shortfall = out->planned_fen - out->paid;
    if (out->budget > 0) {
        out->rate_bp = rate_bp_of(out->paid, out->budget);
        out->planned_bp = clamp_bp(floor_div((i128)out->planned_fen * 10000, out->budget));
    }
    out->lag_bp = out->planned_bp - out->rate_bp;
    out->pace_bp = (int32_t)(bw_cal_days_elapsed(&e->cal, e->now) * 10000 / e->cal.ndays);
    out->pace_shortfall = out->pace_fen - out->paid;
    out->pace_lag_bp = out->pace_bp - out->rate_bp;
    out->basis = judged_basis(e->opts.lag_basis, out->lag_bp, out->pace_lag_bp);
}

void bw_engine_project_status(const bw_engine *e, uint32_t ix, bw_status *out)
{
    memset(out, 0, sizeof *out);
    if (ix >= e->n)
        return;
    status_add(e, ix, out);
    bw_figures f;
    figures_at(e, ix, e->now, &f);
    out->shortfall = f.planned_fen - f.paid;
    out->rate_bp = f.rate_bp;
    out->planned_bp = f.planned_bp;
    out->lag_bp = f.lag_bp;
    out->pace_bp = f.pace_bp;
    out->pace_lag_bp = f.pace_lag_bp;
    out->pace_shortfall = f.pace_fen - f.paid;
    out->basis = f.basis;
}

void bw_engine_unit_status(const bw_engine *e, uint32_t unit, bw_status *out)
{
    memset(out, 0, sizeof *out);
    if (unit >= bw_plan_nunits(e->plan))
        return;
    for (uint32_t i = e->unit_off[unit]; i < e->unit_off[unit + 1]; i++)
        status_add(e, e->unit_member[i], out);
    status_finish(e, out);
}

void bw_engine_total_status(const bw_engine *e, bw_status *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < e->n; i++)
        status_add(e, (uint32_t)i, out);
    status_finish(e, out);
}

int64_t bw_engine_planned_fen(const bw_engine *e, uint32_t ix, int64_t t)
{
    if (ix >= e->n)
        return 0;
    bw_figures f;
    figures_at(e, ix, t, &f);
    return f.planned_fen;
}

/* ---- status as of an instant ---- */

/* The one place the as-of level comes from: the kinds judged from a
 * project's figures alone (lag, milestone, overspend, year_end), each rule
 * asked with an empty slot, i.e. the level a first evaluation at t gives
 * these figures. It knows no history, so a lag inside the hysteresis band
 * below a threshold reads as the level below (a daemon that was there keeps
 * the level above until the lag falls hysteresis_bp under it). The kinds
 * about the payments themselves (stalled, large_payment, burst,
 * year_end_rush) are left out: their level is a matter of which payments
 * came when, not of the figures, and the alert log has them. */
static void level_at(const bw_engine *e, uint32_t ix, const bw_figures *f, int64_t t,
                     bw_status *out)
{
    static const int kinds[] = { BW_KIND_LAG, BW_KIND_MILESTONE, BW_KIND_OVERSPEND,
                                 BW_KIND_YEAR_END };
    bw_rule_project rp;
    rule_project(e, ix, &rp);
    const bw_slot empty = { 0 };
    rp.slot = &empty;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        bw_rule_want w = bw_rule_of(kinds[i])->want(&rp, f, t);
        out->firing += w.severity != BW_SEV_NONE;
        if (w.severity > out->severity)
            out->severity = w.severity;
        if (w.band > out->band)
            out->band = w.band;
    }
}

void bw_engine_project_status_at(const bw_engine *e, uint32_t ix, int64_t t, int64_t budget,
                                 int64_t paid_fiscal, int64_t paid_other, bw_status *out)
{
    memset(out, 0, sizeof *out);
    if (ix >= e->n || budget <= 0)
        return;
    bw_figures f;
    figures_of(e, ix, t, budget, paid_fiscal + paid_other, &f);
    out->budget = budget;
    out->paid = f.paid;
    out->paid_fiscal = paid_fiscal;
    out->paid_other = paid_other;
    out->planned_fen = f.planned_fen;
    out->shortfall = f.planned_fen - f.paid;
    out->pace_fen = f.pace_fen;
    out->pace_shortfall = f.pace_fen - f.paid;
    out->rate_bp = f.rate_bp;
    out->planned_bp = f.planned_bp;
    out->lag_bp = f.lag_bp;
    out->pace_bp = f.pace_bp;
    out->pace_lag_bp = f.pace_lag_bp;
    out->basis = f.basis;
    level_at(e, ix, &f, t, out);
    out->projects = 1;
}

int bw_engine_status_sum(bw_status *sum, const bw_status *row)
{
    bw_status n = *sum;
    if (!bw_fen_add(n.budget, row->budget, &n.budget) || !bw_fen_add(n.paid, row->paid, &n.paid) ||
        !bw_fen_add(n.paid_fiscal, row->paid_fiscal, &n.paid_fiscal) ||
        !bw_fen_add(n.paid_other, row->paid_other, &n.paid_other) ||
        !bw_fen_add(n.planned_fen, row->planned_fen, &n.planned_fen) ||
        !bw_fen_add(n.pace_fen, row->pace_fen, &n.pace_fen))
        return -1;
    n.firing += row->firing;
    n.projects += row->projects;
    if (row->severity > n.severity)
        n.severity = row->severity;
    if (row->band > n.band)
        n.band = row->band;
    *sum = n;
    return 0;
}

void bw_engine_status_finish_at(const bw_engine *e, int64_t t, bw_status *sum)
{
    sum->shortfall = sum->planned_fen - sum->paid;
    sum->rate_bp = sum->planned_bp = 0;
    if (sum->budget > 0) {
        sum->rate_bp = rate_bp_of(sum->paid, sum->budget);
        sum->planned_bp = clamp_bp(floor_div((i128)sum->planned_fen * 10000, sum->budget));
    }
    sum->lag_bp = sum->planned_bp - sum->rate_bp;
    sum->pace_bp = (int32_t)(bw_cal_days_elapsed(&e->cal, t) * 10000 / e->cal.ndays);
    sum->pace_shortfall = sum->pace_fen - sum->paid;
    sum->pace_lag_bp = sum->pace_bp - sum->rate_bp;
    sum->basis = judged_basis(e->opts.lag_basis, sum->lag_bp, sum->pace_lag_bp);
}

typedef struct rank_item {
    int64_t key;
    uint32_t ix;
} rank_item;

static int rank_cmp(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->ix < y->ix ? -1 : x->ix > y->ix;
}

size_t bw_engine_rank(const bw_engine *e, bw_rank_by by, int64_t unit, uint32_t *out, size_t max)
{
    size_t lo = 0, hi = e->n;
    if (unit >= 0) {
        if ((size_t)unit >= bw_plan_nunits(e->plan))
            return 0;
        lo = e->unit_off[unit];
        hi = e->unit_off[unit + 1];
    }
    rank_item *items = malloc((hi - lo ? hi - lo : 1) * sizeof *items);
    if (items == NULL)
        return 0;
    for (size_t i = lo; i < hi; i++) {
        uint32_t ix = unit >= 0 ? e->unit_member[i] : (uint32_t)i;
        bw_figures f;
        figures_at(e, ix, e->now, &f);
        items[i - lo].ix = ix;
        items[i - lo].key = by == BW_RANK_SHORTFALL ? f.planned_fen - f.paid : f.lag_bp;
    }
    qsort(items, hi - lo, sizeof *items, rank_cmp);
    size_t n = hi - lo < max ? hi - lo : max;
    for (size_t i = 0; i < n; i++)
        out[i] = items[i].ix;
    free(items);
    return n;
}

/* ---- persistence ---- */

const bw_project_state *bw_engine_state(const bw_engine *e, uint32_t ix)
{
    return ix < e->n ? &e->p[ix].st : NULL;
}

int bw_engine_restore(bw_engine *e, uint32_t ix, const bw_project_state *st, bw_err *err)
{
    if (ix >= e->n)
        return bw_err_set(err, "no project with index %u", ix);
    if (st->budget <= 0 || st->paid_fiscal < 0 || st->paid_other < 0)
        return bw_err_set(err, "saved state of project %s is invalid (budget %lld, paid %lld + %lld)",
                          bw_plan_project(e->plan, ix)->code, (long long)st->budget,
                          (long long)st->paid_fiscal, (long long)st->paid_other);
    const bw_project_state *was = &e->p[ix].st;
    int64_t paid, budget;
    if (!bw_fen_add(e->sum_paid - was->paid_fiscal - was->paid_other, st->paid_fiscal, &paid) ||
        !bw_fen_add(paid, st->paid_other, &paid) ||
        !bw_fen_add(e->sum_budget - was->budget, st->budget, &budget))
        return bw_err_set(err, "saved state of project %s takes the department's totals past %lld "
                          "fen; run `budgetwatchd --verify`", bw_plan_project(e->plan, ix)->code,
                          (long long)INT64_MAX);
    e->sum_paid = paid;
    e->sum_budget = budget;
    e->p[ix].st = *st;
    mark_dirty(e, ix);
    return 0;
}
