/* restore: the projects' state put back from the ledger into a new engine
 * (restore.h). A dropped project's row must hold all its events, or the
 * watermark would pass events it lacks: see orphan below. */
#include "restore.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "log.h"
#include "money.h"

/* A project in the ledger that the plan no longer has: a saved row, or only
 * events (dropped before its first row was written). Its events stay in the
 * ledger, and its row must hold all of them, or the watermark would pass
 * events it lacks and a plan that brings the project back would lose them:
 * so the events after its row are summed here and the row (re)written. */
typedef struct orphan {
    char *code;
    bw_project_state st;
    int64_t upto;
    uint64_t digest;            /* of the row as it was read */
    bool moved;
} orphan;

typedef struct restore_ctx {
    bw_app *a;
    bw_engine *e;
    bw_saveq *q;
    int64_t *upto;              /* per project: the rowid its saved totals reach */
    uint64_t *digest;           /* per project: the digest of its saved row */
    uint64_t sum;               /* the digests of every row read, orphans too */
    orphan *orph;               /* in code order, as the rows are read */
    size_t norph, caporph;
    size_t restored, replayed;
    bw_batch_row *rows;         /* the orphans' rows to write, once moved */
    size_t nrows;
    bw_err *err;
} restore_ctx;

/* Adds an orphan at position at, keeping the array in code order. */
static orphan *keep_orphan(restore_ctx *r, size_t at, const char *code, const bw_project_state *st,
                           int64_t upto, uint64_t digest)
{
    if (r->norph == r->caporph) {
        size_t cap = r->caporph ? r->caporph * 2 : 16;
        orphan *o = realloc(r->orph, cap * sizeof *o);
        if (o == NULL) {
            bw_err_set(r->err, "out of memory keeping the rows of dropped projects");
            return NULL;
        }
        r->orph = o;
        r->caporph = cap;
    }
    char *dup = strdup(code);
    if (dup == NULL) {
        bw_err_set(r->err, "out of memory keeping the rows of dropped projects");
        return NULL;
    }
    orphan *o = &r->orph[at];
    memmove(o + 1, o, (r->norph - at) * sizeof *o);
    *o = (orphan){ dup, *st, upto, digest, false };
    r->norph++;
    return o;
}

/* Where code is, or would go, in the orphans' code order. */
static size_t orphan_find(const restore_ctx *r, const char *code, bool *found)
{
    size_t lo = 0, hi = r->norph;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, r->orph[mid].code);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

static void free_orphans(restore_ctx *r)
{
    for (size_t i = 0; i < r->norph; i++)
        free(r->orph[i].code);
    free(r->orph);
    r->orph = NULL;
    r->norph = 0;
}

static int restore_project(void *ctx, const char *code, const bw_project_state *st,
                           int64_t upto)
{
    restore_ctx *r = ctx;
    uint64_t h = bw_store_row_digest(code, st, upto);
    r->sum += h;
    const bw_plan *p = bw_engine_plan(r->e);
    int64_t ix = bw_plan_find_project(p, code, strlen(code));
    if (ix < 0)     /* rows come in code order: each goes at the end */
        return keep_orphan(r, r->norph, code, st, upto, h) ? 0 : -1;
    /* The budget comes from the plan, then from the adjustments on top of it. */
    bw_project_state s = *st;
    s.budget = bw_plan_project(p, (size_t)ix)->budget;
    if (bw_engine_restore(r->e, (uint32_t)ix, &s, r->err))
        return -1;
    r->upto[ix] = upto;
    r->digest[ix] = h;
    r->restored++;
    return 0;
}

/* The same sums as the engine's, for a row outside the plan. */
static int orphan_apply(restore_ctx *r, orphan *o, int64_t rowid, const bw_event *ev)
{
    int64_t *bucket = ev->fund == BW_FUND_OTHER ? &o->st.paid_other : &o->st.paid_fiscal;
    bool ok = ev->type == BW_EV_REFUND ? bw_fen_sub(*bucket, ev->amount, bucket)
                                       : bw_fen_add(*bucket, ev->amount, bucket);
    if (!ok)
        return bw_err_set(r->err, "ledger event %s/%s (rowid %lld) overflows the total of "
                          "project %s; run `budgetwatchd --verify`", ev->src, ev->id,
                          (long long)rowid, o->code);
    o->moved = true;
    return 0;
}

/* A ledger event in the windows of burst and year_end_rush (their state is
 * not saved: it is read back from the ledger, every event of the window once). */
static int window_event(void *ctx, int64_t rowid, const bw_event *ev)
{
    (void)rowid;
    restore_ctx *r = ctx;
    int64_t ix = bw_plan_find_project(bw_engine_plan(r->e), ev->project, strlen(ev->project));
    if (ix >= 0)
        bw_engine_window_payment(r->e, (uint32_t)ix, ev->type, ev->amount, ev->ts);
    return 0;
}

/* An event after the watermark: counted unless its project's row has it. */
static int restore_event(void *ctx, int64_t rowid, const bw_event *ev)
{
    restore_ctx *r = ctx;
    int64_t ix = bw_plan_find_project(bw_engine_plan(r->e), ev->project, strlen(ev->project));
    if (ix < 0) {
        bool found;
        size_t at = orphan_find(r, ev->project, &found);
        /* A project without a row has all its events after the watermark
         * (it had none below it while it was in the plan): start at zero. */
        static const bw_project_state none;
        orphan *o = found ? &r->orph[at] : keep_orphan(r, at, ev->project, &none, 0, 0);
        if (o == NULL)
            return -1;
        return rowid > o->upto ? orphan_apply(r, o, rowid, ev) : 0;
    }
    if (rowid <= r->upto[ix])
        return 0;
    bw_err err;
    if (bw_engine_apply(r->e, (uint32_t)ix, ev->type, ev->fund, ev->amount, &err))
        return bw_err_set(r->err, "ledger event %s/%s (rowid %lld): %s; run `budgetwatchd "
                          "--verify`", ev->src, ev->id, (long long)rowid, err.msg);
    if (ev->type == BW_EV_DISBURSEMENT)
        bw_engine_paid_at(r->e, (uint32_t)ix, ev->ts);
    bw_saveq_later(r->q, (uint32_t)ix);
    r->replayed++;
    return 0;
}

static int restore_adjust(void *ctx, const char *code, int64_t budget)
{
    restore_ctx *r = ctx;
    int64_t ix = bw_plan_find_project(bw_engine_plan(r->e), code, strlen(code));
    if (ix < 0)
        return 0;
    return bw_engine_adjust(r->e, (uint32_t)ix, budget, r->err);
}

static int restore_source(void *ctx, const char *src, uint64_t last)
{
    restore_ctx *r = ctx;
    return bw_sources_set(r->a->sources, src, last) ? bw_err_set(r->err, "too many sources") : 0;
}

/* The rows must add up to the digest the daemon wrote with them: if not,
 * something else changed them, and the totals they hold cannot be served. */
static int check_digest(bw_app *a, uint64_t sum, bw_err *err)
{
    int64_t saved = 0;
    int have = bw_store_meta_get(a->store, "totals_digest", &saved, err);
    if (have < 0)
        return bw_app_store_exit(err);
    if (have == 1 && (uint64_t)saved == sum)
        return 0;
    bw_err_set(err, "ledger %s/ledger.db: the saved project totals do not add up to the "
               "digest written with them: the projects table was changed by something "
               "other than budgetwatchd, or damaged. The events are the record: see which "
               "rows differ with `budgetwatchd --verify`, then rebuild the totals from the "
               "events with `budgetwatchd --rebuild-totals` (or restore a backup)",
               a->cfg.state_dir);
    return BW_EXIT_DAMAGED;
}

/* The rows of dropped projects that restore_event moved, for the batch to
 * write with its first commit (every event up to `upto` is in them). */
static int moved_rows(restore_ctx *r, int64_t upto, bw_batch_row **rows, size_t *n, bw_err *err)
{
    size_t moved = 0;
    for (size_t i = 0; i < r->norph; i++)
        moved += r->orph[i].moved;
    *rows = NULL;
    *n = 0;
    if (moved == 0)
        return 0;
    if ((*rows = malloc(moved * sizeof **rows)) == NULL)
        return bw_err_set(err, "out of memory keeping the rows of dropped projects");
    for (size_t i = 0; i < r->norph; i++) {
        orphan *o = &r->orph[i];
        if (!o->moved)
            continue;
        (*rows)[(*n)++] = (bw_batch_row){ o->code, o->st, upto, o->digest };
        o->code = NULL;         /* the row has it now */
    }
    return 0;
}

static int restore_walk(bw_app *a, restore_ctx *r, int64_t watermark, bool sources, bw_err *err)
{
    if (bw_store_projects_each(a->store, restore_project, r, err))
        return -1;
    int rc = check_digest(a, r->sum, err);
    if (rc)
        return rc;
    if (bw_store_adjusts_latest_each(a->store, restore_adjust, r, err) ||
        bw_store_events_each(a->store, watermark, restore_event, r, err) < 0)
        return -1;
    if (err->msg[0] != '\0')
        return -1;      /* restore_event stopped the walk */
    int64_t from = bw_engine_window_start(r->e);
    if (from != BW_NEVER && bw_store_events_since(a->store, from, window_event, r, err))
        return -1;
    int64_t last = bw_store_event_max_rowid(a->store, err);
    if (last < 0 || moved_rows(r, last, &r->rows, &r->nrows, err))
        return -1;
    return sources && bw_store_sources_each(a->store, restore_source, r, err) ? -1 : 0;
}

/* The queue and the row digests that go with an engine of n projects. */
static int restore_alloc(const bw_engine *e, restore_ctx *r, int64_t watermark)
{
    size_t n = bw_plan_nprojects(bw_engine_plan(e)), m = n ? n : 1;
    r->upto = calloc(m, sizeof *r->upto);
    r->digest = calloc(m, sizeof *r->digest);
    uint32_t *order = malloc(m * sizeof *order);
    if (order != NULL && bw_plan_code_order(bw_engine_plan(e), order) == 0)
        r->q = bw_saveq_new(n, &order, watermark);
    free(order);
    return r->upto && r->digest && r->q ? 0 : -1;
}

static void restore_free(restore_ctx *r)
{
    free(r->upto);
    free(r->digest);
    bw_saveq_free(&r->q);
    for (size_t i = 0; i < r->nrows; i++)
        free(r->rows[i].code);
    free(r->rows);
    free_orphans(r);
}

/* Puts project states, the events after the saved totals, adjustments and
 * sources back from the store into engine e, filling r with the queue, the
 * row digests and the rows to write that go with it. */
static int restore_state(bw_app *a, bw_engine *e, restore_ctx *r, bool sources, bw_err *err)
{
    /* Every row holds all its events up to the watermark. A ledger that has
     * none (made by a release before schema 3, never through a whole save
     * pass) has no such promise: everything after 0 is looked at. */
    int64_t watermark = 0;
    if (bw_store_meta_get(a->store, "totals_upto", &watermark, err) < 0)
        return bw_app_store_exit(err);
    if (restore_alloc(e, r, watermark)) {
        bw_err_set(err, "out of memory restoring %zu project states",
                   bw_plan_nprojects(bw_engine_plan(e)));
        return BW_EXIT_FAILURE;
    }
    err->msg[0] = '\0';
    int rc = restore_walk(a, r, watermark, sources, err);
    if (rc)
        return rc > 0 ? rc : bw_app_store_exit(err);
    if (r->norph)
        bw_log(BW_LOG_WARNING, "the ledger holds %zu project(s) the plan no longer has; their "
               "events stay in the ledger and count again if the plan brings them back", r->norph);
    bw_log(BW_LOG_INFO, "restored %zu project states from the ledger, and %zu events after "
           "their last save", r->restored, r->replayed);
    return 0;
}

static void engine_opts(const bw_config *cfg, bw_engine_opts *o)
{
    bw_engine_opts_default(o);
    o->lag_warning_bp = cfg->lag_warning_bp;
    o->lag_critical_bp = cfg->lag_critical_bp;
    o->hysteresis_bp = cfg->hysteresis_bp;
    o->repeat_interval = cfg->repeat_interval;
    o->lag_basis = cfg->lag_basis;
    o->nbands = cfg->nbands;
    memcpy(o->band, cfg->bands, sizeof o->band);
    o->stalled_after = cfg->stalled_after;
    o->large_payment_bp = cfg->large_payment_bp;
    o->large_payment_fen = cfg->large_payment_fen;
    o->burst_payments = cfg->burst_payments;
    o->burst_window = cfg->burst_window;
    o->rush_window = cfg->rush_window;
    o->rush_bp = cfg->rush_bp;
}

int bw_restore(bw_app *a, bw_plan **plan, const bw_calendar *cal, int64_t now, bool sources,
               bw_err *err)
{
    bw_engine_opts eo;
    engine_opts(&a->cfg, &eo);
    bw_plan *mine = *plan;
    bw_engine *e = bw_engine_new(&mine, cal, &eo, now, err);
    if (e == NULL)
        return BW_EXIT_FAILURE;
    restore_ctx r = { .a = a, .e = e, .err = err };
    int rc = restore_state(a, e, &r, sources, err);
    if (rc) {
        restore_free(&r);
        *plan = bw_engine_free_keep_plan(&e);
        return rc;
    }
    *plan = NULL;
    bw_engine_free(&a->engine);
    a->engine = e;
    a->cal = *cal;
    bw_batch_adopt(a->batch, &r.q, &r.digest, r.sum, &r.rows, r.nrows);
    r.nrows = 0;
    restore_free(&r);
    return 0;
}
