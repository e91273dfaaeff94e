/* daemon: budgetwatchd's life cycle and event loop. One libuv loop watches every
 * ZeroMQ socket (uv_poll on ZMQ_FD), groups what one turn drains into one SQLite
 * transaction, and sends acks and alerts only after that transaction commits. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "log.h"
#include "money.h"
#include "notify.h"
#include "tz.h"
#include "zio.h"

#define MAX_SOURCES 4096
#define PENDING_ALERTS 4096
#define TIMER_CAP_MS (3600 * 1000)

static const char *const reject_names[BW_REJ_COUNT] = {
    "malformed", "unknown_project", "unit_mismatch", "out_of_year", "future",
    "bad_refund", "overflow", "too_many_sources", "unauthorized",
};

const char *bw_reject_class_name(int c)
{
    return c >= 0 && c < BW_REJ_COUNT ? reject_names[c] : "?";
}

int64_t bw_daemon_now(const bw_daemon *d)
{
    if (d->cfg.clock == BW_CLOCK_EVENT)
        return bw_engine_now(d->engine);
    return (int64_t)time(NULL);
}

/* ---- plan ---- */

static int read_file(const char *path, char **buf, size_t *len, bw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return bw_err_set(err, "%s: cannot open: %s; check the plan path in the configuration",
                          path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = NULL;
    for (;;) {
        char *nb = realloc(b, cap);
        if (nb == NULL) {
            free(b);
            fclose(f);
            return bw_err_set(err, "%s: out of memory reading the file", path);
        }
        b = nb;
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return bw_err_set(err, "%s: read error", path);
    }
    *buf = b;
    *len = n;
    return 0;
}

int bw_daemon_load_plan(const bw_config *cfg, bw_calendar *cal, bw_plan **plan, bw_err *err)
{
    if (bw_tz_calendar(cfg->timezone, cfg->fiscal_year, cal, err))
        return -1;
    char *buf = NULL;
    size_t len = 0;
    if (read_file(cfg->plan, &buf, &len, err))
        return -1;
    bw_plan_opts o = { cfg->fiscal_year, cfg->default_milestones, cfg->default_target_bp };
    *plan = bw_plan_parse_csv(buf, len, cfg->plan, &o, err);
    free(buf);
    return *plan ? 0 : -1;
}

int bw_daemon_check(const bw_config *cfg, bw_err *err)
{
    bw_calendar cal;
    bw_plan *plan = NULL;
    if (bw_auth_check(cfg, err) || bw_daemon_load_plan(cfg, &cal, &plan, err))
        return -1;
    bw_log(BW_LOG_INFO, "plan %s is valid: %zu projects in %zu units", cfg->plan,
           bw_plan_nprojects(plan), bw_plan_nunits(plan));
    bw_plan_free(&plan);
    return 0;
}

static void engine_opts(const bw_config *cfg, bw_engine_opts *o)
{
    o->lag_warning_bp = cfg->lag_warning_bp;
    o->lag_critical_bp = cfg->lag_critical_bp;
    o->hysteresis_bp = cfg->hysteresis_bp;
    o->repeat_interval = cfg->repeat_interval;
}

/* Rows written per commit from the queue of moved totals: an eighth of the
 * batch's events, so each row carries several payments, and at least one, so
 * that a trickle of payments still moves the watermark. More would cost the
 * small commits of a steady flow a page per row (their p99 latency). */
#define SAVE_MIN 1
#define SAVE_SHARE 8
/* Events after the watermark beyond which the queue is emptied twice as fast
 * as it fills: what a restart re-adds stays bounded. */
#define TAIL_MAX 1000000

void bw_touch(bw_daemon *d, uint32_t project)
{
    bw_saveq_now(d->saveq, project);
}

void bw_touch_totals(bw_daemon *d, uint32_t project)
{
    bw_saveq_later(d->saveq, project);
    d->batch_events++;
}

/* ---- restoring state from the ledger ---- */

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
    bw_daemon *d;
    bw_engine *e;
    bw_saveq *q;
    int64_t *upto;              /* per project: the rowid its saved totals reach */
    uint64_t *digest;           /* per project: the digest of its saved row */
    uint64_t sum;               /* the digests of every row read, orphans too */
    orphan *orph;               /* in code order, as the rows are read */
    size_t norph, caporph;
    size_t restored, replayed;
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
    return bw_sources_set(r->d->sources, src, last) ? bw_err_set(r->err, "too many sources") : 0;
}

/* The rows must add up to the digest the daemon wrote with them: if not,
 * something else changed them, and the totals they hold cannot be served. */
static int check_digest(bw_daemon *d, uint64_t sum, bw_err *err)
{
    int64_t saved = 0;
    int have = bw_store_meta_get(d->store, "totals_digest", &saved, err);
    if (have < 0)
        return -1;
    if (have == 1 && (uint64_t)saved == sum)
        return 0;
    d->exit_code = BW_EXIT_DAMAGED;
    return bw_err_set(err, "ledger %s/ledger.db: the saved project totals do not add up to the "
                      "digest written with them: the projects table was changed by something "
                      "other than budgetwatchd, or damaged. The events are the record: see which "
                      "rows differ with `budgetwatchd --verify`, then rebuild the totals from the "
                      "events with `budgetwatchd --rebuild-totals` (or restore a backup)",
                      d->cfg.state_dir);
}

/* Rewrites the rows of dropped projects that restore_event moved, in a
 * transaction of their own: no batch is open during a restore. */
static int save_orphans(bw_daemon *d, restore_ctx *r, int64_t upto, bw_err *err)
{
    size_t moved = 0;
    for (size_t i = 0; i < r->norph; i++)
        moved += r->orph[i].moved;
    if (moved == 0)
        return 0;
    if (bw_store_begin(d->store, err))
        return -1;
    uint64_t sum = r->sum;
    for (size_t i = 0; i < r->norph; i++) {
        orphan *o = &r->orph[i];
        if (!o->moved)
            continue;
        sum += bw_store_row_digest(o->code, &o->st, upto) - o->digest;
        if (bw_store_project_save(d->store, o->code, &o->st, upto, err))
            goto undo;
    }
    if (bw_store_meta_set(d->store, "totals_digest", (int64_t)sum, err) ||
        bw_store_commit(d->store, err))
        goto undo;
    r->sum = sum;
    bw_log(BW_LOG_INFO, "brought the saved rows of %zu dropped project(s) up to date", moved);
    return 0;
undo:
    bw_store_rollback(d->store);
    return -1;
}

static int restore_walk(bw_daemon *d, restore_ctx *r, int64_t watermark, bool sources,
                        bw_err *err)
{
    if (bw_store_projects_each(d->store, restore_project, r, err))
        return -1;
    if (check_digest(d, r->sum, err))
        return -1;
    if (bw_store_adjusts_latest_each(d->store, restore_adjust, r, err) ||
        bw_store_events_each(d->store, watermark, restore_event, r, err) < 0)
        return -1;
    if (err->msg[0] != '\0')
        return -1;      /* restore_event stopped the walk */
    int64_t last = bw_store_event_max_rowid(d->store, err);
    if (last < 0 || save_orphans(d, r, last, err))
        return -1;
    return sources && bw_store_sources_each(d->store, restore_source, r, err) ? -1 : 0;
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

/* Puts project states, the events after the saved totals, adjustments and
 * sources back from the store into engine e, and makes the queue *q and the
 * row digests *digest that go with it. Used at start and after a reload. */
static int restore_state(bw_daemon *d, bw_engine *e, bw_saveq **q, uint64_t **digest,
                         uint64_t *sum, bool sources, bw_err *err)
{
    /* Every row holds all its events up to the watermark. A ledger that has
     * none (made by a release before schema 3, never through a whole save
     * pass) has no such promise: everything after 0 is looked at. */
    int64_t watermark = 0;
    if (bw_store_meta_get(d->store, "totals_upto", &watermark, err) < 0)
        return -1;
    restore_ctx r = { .d = d, .e = e, .err = err };
    if (restore_alloc(e, &r, watermark)) {
        free(r.upto);
        free(r.digest);
        bw_saveq_free(&r.q);
        return bw_err_set(err, "out of memory restoring %zu project states",
                          bw_plan_nprojects(bw_engine_plan(e)));
    }
    err->msg[0] = '\0';
    int rc = restore_walk(d, &r, watermark, sources, err);
    free(r.upto);
    size_t orphans = r.norph;
    free_orphans(&r);
    if (rc) {
        free(r.digest);
        bw_saveq_free(&r.q);
        return -1;
    }
    *q = r.q;
    *digest = r.digest;
    *sum = r.sum;
    if (orphans)
        bw_log(BW_LOG_WARNING, "the ledger holds %zu project(s) the plan no longer has; their "
               "events stay in the ledger and count again if the plan brings them back", orphans);
    bw_log(BW_LOG_INFO, "restored %zu project states from the ledger, and %zu events after "
           "their last save", r.restored, r.replayed);
    return 0;
}

/* Builds the engine for *plan (taken on success), puts the ledger's state
 * back into it and makes it the daemon's, with its save queue. On failure
 * the daemon's engine is left as it was and *plan stays the caller's. */
static int start_engine(bw_daemon *d, bw_plan **plan, const bw_calendar *cal, int64_t now,
                        bool sources, bw_err *err)
{
    bw_engine_opts eo;
    engine_opts(&d->cfg, &eo);
    bw_plan *mine = *plan;
    bw_engine *e = bw_engine_new(&mine, cal, &eo, now, err);
    if (e == NULL)
        return -1;
    bw_saveq *q = NULL;
    uint64_t *digest = NULL, sum = 0;
    if (restore_state(d, e, &q, &digest, &sum, sources, err)) {
        *plan = bw_engine_free_keep_plan(&e);
        return -1;
    }
    *plan = NULL;
    bw_engine_free(&d->engine);
    d->engine = e;
    bw_saveq_free(&d->saveq);
    d->saveq = q;
    free(d->row_digest);
    d->row_digest = digest;
    d->digest = sum;
    d->cal = *cal;
    return 0;
}

/* ---- batches ---- */

int bw_batch_begin(bw_daemon *d)
{
    if (d->in_txn)
        return 0;
    if (d->stopping && d->exit_code != 0)
        return -1;      /* the ledger failed: nothing more is written */
    bw_err err;
    if (bw_store_begin(d->store, &err)) {
        bw_log(BW_LOG_ERR, "%s", err.msg);
        return -1;
    }
    d->in_txn = true;
    return 0;
}

static int save_source(void *ctx, const char *src, uint64_t last)
{
    bw_daemon *d = ctx;
    bw_err err;
    if (bw_store_source_save(d->store, src, last, &err)) {
        bw_log(BW_LOG_ERR, "%s", err.msg);
        return -1;
    }
    return 0;
}

typedef struct save_ctx {
    bw_daemon *d;
    bw_err *err;
    size_t saved;               /* rows written */
} save_ctx;

static int save_project(void *ctx, uint32_t ix, int64_t upto)
{
    save_ctx *c = ctx;
    bw_daemon *d = c->d;
    const char *code = bw_plan_project(bw_engine_plan(d->engine), ix)->code;
    const bw_project_state *st = bw_engine_state(d->engine, ix);
    if (bw_store_project_save(d->store, code, st, upto, c->err))
        return -1;
    uint64_t h = bw_store_row_digest(code, st, upto);
    d->digest += h - d->row_digest[ix];
    d->row_digest[ix] = h;
    c->saved++;
    return 0;
}

/* How many queued rows this commit writes (see SAVE_MIN, TAIL_MAX). */
static size_t save_budget(bw_daemon *d, int64_t upto)
{
    if (d->save_all_totals)
        return SIZE_MAX;
    size_t n = d->batch_events / SAVE_SHARE;
    if (upto - bw_saveq_watermark(d->saveq) > TAIL_MAX)
        n = d->batch_events * 2;
    return n > SAVE_MIN ? n : SAVE_MIN;
}

static int save_state(bw_daemon *d, bw_err *err)
{
    int64_t upto = bw_store_event_max_rowid(d->store, err);
    if (upto < 0)
        return -1;
    save_ctx c = { d, err, 0 };
    int moved = bw_saveq_flush(d->saveq, upto, save_budget(d, upto), save_project, &c);
    if (moved < 0 || (moved && bw_store_meta_set(d->store, "totals_upto",
                                                 bw_saveq_watermark(d->saveq), err)))
        return -1;
    /* The digest goes with the rows, in their transaction (see check_digest). */
    if (c.saved && bw_store_meta_set(d->store, "totals_digest", (int64_t)d->digest, err))
        return -1;
    d->batch_events = 0;
    d->save_all_totals = false;
    if (bw_sources_flush(d->sources, save_source, d))
        return bw_err_set(err, "saving source sequence numbers failed");
    if (bw_store_meta_set(d->store, "alert_seq", (int64_t)d->alert_seq, err) ||
        bw_store_meta_set(d->store, "now", bw_engine_now(d->engine), err))
        return -1;
    return 0;
}

static void send_acks(bw_daemon *d)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < d->nacks; i++) {
        bw_pending_ack *a = &d->acks[i];
        sb.size = 0;
        if (bw_ack_encode(&a->ack, &sb))
            continue;
        /* A vanished sender is not an error: it will retry and get "duplicate". */
        const bw_zio_frame ack[] = { { a->id, a->idlen }, { sb.data, sb.size } };
        (void)bw_zio_send(d->router, ack, 2, ZMQ_DONTWAIT);
    }
    msgpack_sbuffer_destroy(&sb);
    d->nacks = 0;
}

void bw_daemon_store_failed(bw_daemon *d, const bw_err *why)
{
    bw_log(BW_LOG_ERR, "%s; stopping so that no unrecorded event is acknowledged", why->msg);
    /* SQLite may have rolled back already; either way nothing of this batch
     * is in the ledger, so nothing of it is acknowledged or published, and
     * no later statement runs outside a transaction. */
    bw_store_rollback(d->store);
    d->in_txn = false;
    d->nacks = 0;
    d->npending = 0;
    d->exit_code = bw_store_err_damaged(why) ? BW_EXIT_DAMAGED : BW_EXIT_STORE;
    d->stopping = true;
    uv_stop(&d->loop);
}

/* Commits what the batch holds, then tells the world: acks, then alerts.
 * A failed commit leaves memory ahead of the ledger, so the daemon stops
 * (unacknowledged senders retry; the state comes back from the ledger). */
static int commit_flush(bw_daemon *d)
{
    if (!d->in_txn)
        return 0;
    bw_err err;
    if (save_state(d, &err) || bw_store_commit(d->store, &err)) {
        bw_daemon_store_failed(d, &err);
        return -1;
    }
    d->in_txn = false;
    d->stats.batches++;
    send_acks(d);
    bw_publish_flush(d);
    bw_ckpt_after_commit(d);
    return 0;
}

int bw_batch_flush_pending(bw_daemon *d)
{
    if (commit_flush(d))
        return -1;
    return bw_batch_begin(d);
}

int bw_batch_save_all_totals(bw_daemon *d)
{
    if (bw_batch_begin(d))
        return -1;
    d->save_all_totals = true;
    /* No new transaction: what reads the ledger next (verify, its integrity
     * check) must not run inside a write transaction, which SQLite would
     * refuse to go on with once the check has met a damaged page. The next
     * event begins one. */
    return commit_flush(d);
}

static void arm_alert_timer(bw_daemon *d);

int bw_batch_checkpoint(bw_daemon *d)
{
    if (!d->in_txn)
        return 0;
    bw_engine_evaluate(d->engine, bw_engine_now(d->engine), bw_on_alert, d);
    int rc = commit_flush(d);
    arm_alert_timer(d);
    return rc;
}

void bw_advance(bw_daemon *d, int64_t to)
{
    if (bw_engine_next_instant(d->engine) > to && to <= bw_engine_now(d->engine))
        return;
    if (bw_batch_begin(d))
        return;
    bw_engine_evaluate(d->engine, to, bw_on_alert, d);
}

/* ---- sockets ---- */

static int zerr(bw_err *err, const char *what, const char *url)
{
    return bw_err_set(err, "%s %s: %s", what, url, zmq_strerror(zmq_errno()));
}

/* An address in use is another process's (75: worth a restart later); any
 * other failure is the configuration's (78). */
static void bind_failed(bw_daemon *d, const char *url, bw_err *err)
{
    int e = zmq_errno();
    bool in_use = e == EADDRINUSE;
    d->exit_code = in_use ? BW_EXIT_IN_USE : BW_EXIT_CONFIG;
    bw_err_set(err, "cannot bind %s: %s; %s", url, zmq_strerror(e),
               in_use ? "another process (another budgetwatchd?) holds that address: stop it, or "
                        "give this daemon another endpoint in [endpoints]"
                      : "check the address in [endpoints]");
}

/* ipc:// endpoints live in the runtime directory; only the service's group may
 * connect (mode 0660). */
static int restrict_ipc(const char *url, bw_err *err)
{
    if (strncmp(url, "ipc://", 6) != 0 || url[6] == '@' || chmod(url + 6, 0660) == 0)
        return 0;
    return bw_err_set(err, "cannot restrict %s to its group (chmod 0660): %s", url + 6,
                      strerror(errno));
}

/* libzmq unlinks an ipc:// socket file before it binds, so a second daemon
 * would silently take the first one's sockets over. A socket someone still
 * answers on is in use; one nobody answers on is a dead daemon's, and taken. */
static bool ipc_in_use(const char *url)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strncmp(url, "ipc://", 6) != 0 || url[6] == '@' || strlen(url + 6) >= sizeof sa.sun_path)
        return false;
    strcpy(sa.sun_path, url + 6);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool used = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return used;
}

static int bind_endpoint(bw_daemon *d, void *s, const char *url, bw_err *err)
{
    if (ipc_in_use(url)) {
        d->exit_code = BW_EXIT_IN_USE;
        return bw_err_set(err, "cannot bind %s: another process (another budgetwatchd?) is "
                          "listening on that socket: stop it, or give this daemon a "
                          "runtime_dir or endpoints of its own", url);
    }
    if (zmq_bind(s, url) != 0) {
        bind_failed(d, url, err);
        return -1;
    }
    return restrict_ipc(url, err);
}

/* Says once where anyone who can reach a tcp:// port may speak. */
static void note_open(const char *what, const char *url)
{
    if (strncmp(url, "tcp://", 6) == 0)
        bw_log(BW_LOG_NOTICE, "%s on %s accepts any client that can reach it: set [security] "
               "server_key to require CURVE keys (SECURITY.md)", what, url);
}

static void *open_socket(bw_daemon *d, int type, const char *url, bw_domain dom, bool *curve,
                         bw_err *err)
{
    void *s = zmq_socket(d->zctx, type);
    if (s == NULL) {
        zerr(err, "cannot create a socket for", url);
        return NULL;
    }
    int linger = 1000, hwm = 1000000;
    int64_t maxmsg = d->cfg.max_message_bytes;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    int c = url != NULL ? bw_auth_serve(d->auth, s, dom, url, err) : 0;
    if (c < 0) {
        zmq_close(s);
        return NULL;
    }
    *curve = c == 1;
    if (url != NULL && c == 0)
        note_open(bw_domain_name(dom), url);
    if (url != NULL && bind_endpoint(d, s, url, err)) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int open_sub(bw_daemon *d, bw_err *err)
{
    if (d->cfg.n_events_sub == 0)
        return 0;
    d->sub = open_socket(d, ZMQ_SUB, NULL, BW_DOM_INGEST, &d->sub_curve, err);
    if (d->sub == NULL)
        return -1;
    /* The configuration has made sure that with CURVE on, a socket with a
     * tcp:// endpoint has only bound tcp:// ones. */
    int c = bw_auth_serve(d->auth, d->sub, BW_DOM_INGEST, d->cfg.events_sub[0].url, err);
    if (c < 0)
        return -1;
    d->sub_curve = c == 1;
    if (!d->sub_curve)
        for (int i = 0; i < d->cfg.n_events_sub; i++)
            note_open("ingest (SUB)", d->cfg.events_sub[i].url);
    for (int i = 0; i < d->cfg.n_prefixes; i++)
        zmq_setsockopt(d->sub, ZMQ_SUBSCRIBE, d->cfg.events_sub_prefixes[i],
                       strlen(d->cfg.events_sub_prefixes[i]));
    for (int i = 0; i < d->cfg.n_events_sub; i++) {
        const bw_endpoint *ep = &d->cfg.events_sub[i];
        if (ep->bind ? bind_endpoint(d, d->sub, ep->url, err)
                     : zmq_connect(d->sub, ep->url) != 0 ? zerr(err, "cannot connect events_sub",
                                                                ep->url) : 0)
            return -1;
    }
    return 0;
}

static void on_readable(uv_poll_t *h, int status, int events);
static void on_idle(uv_idle_t *h);

static int watch(bw_daemon *d, void *sock, uv_poll_t *h, bw_err *err)
{
    return bw_zio_watch(&d->loop, h, sock, on_readable, d, err);
}

static int make_dir_for(const char *url)
{
    if (strncmp(url, "ipc://", 6) != 0 || url[6] == '@')
        return 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", url + 6);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    return mkdir(dir, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

static int open_sockets(bw_daemon *d, bw_err *err)
{
    d->zctx = zmq_ctx_new();
    if (d->zctx == NULL)
        return bw_err_set(err, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    make_dir_for(d->cfg.control);
    if ((d->auth = bw_auth_new(d->zctx, &d->loop, &d->cfg, err)) == NULL)
        return -1;
    if ((d->router = open_socket(d, ZMQ_ROUTER, d->cfg.events_ack, BW_DOM_INGEST, &d->router_curve,
                                 err)) == NULL ||
        (d->pub = open_socket(d, ZMQ_PUB, d->cfg.alerts_pub, BW_DOM_ALERTS, &(bool){ false },
                              err)) == NULL ||
        (d->rep = open_socket(d, ZMQ_REP, d->cfg.control, BW_DOM_CONTROL, &d->rep_curve, err)) == NULL ||
        open_sub(d, err))
        return -1;
    if (watch(d, d->router, &d->router_poll, err) || watch(d, d->rep, &d->rep_poll, err))
        return -1;
    if (d->sub && watch(d, d->sub, &d->sub_poll, err))
        return -1;
    return 0;
}

/* ---- draining ---- */

static void push_ack(bw_daemon *d, zmq_msg_t *id, const bw_ack *ack)
{
    bw_pending_ack *a = &d->acks[d->nacks++];
    size_t n = zmq_msg_size(id);
    a->idlen = (uint8_t)(n > sizeof a->id ? sizeof a->id : n);
    memcpy(a->id, zmq_msg_data(id), a->idlen);
    a->ack = *ack;
}

/* Who sent a message on an ingest socket: NULL without CURVE, else its key's
 * name, or "" when the key is no longer authorized (see bw_ingest_event). */
static const char *ingest_peer(bw_daemon *d, bool curve, zmq_msg_t *frame)
{
    const char *name;
    if (!curve)
        return NULL;
    return bw_auth_peer(d->auth, frame, BW_DOM_INGEST, &name) == BW_ROLE_PAYMENT ? name : "";
}

/* Reads events until the socket is empty (false) or the turn's budget is
 * spent (true: come back next turn). */
static bool drain_router(bw_daemon *d, uint32_t *budget)
{
    zmq_msg_t f[3];
    while (*budget > 0 && !d->stopping) {
        int n = bw_zio_recv(d->router, f, 3);
        if (n == 0)
            return false;
        (*budget)--;
        if (bw_batch_begin(d)) {
            bw_zio_close(f, n, 3);
            return false;
        }
        bw_ack ack;
        int status = BW_ACK_REJECTED;
        /* The key comes from a frame the peer sent: the routing-id frame the
         * ROUTER adds does not always carry the connection's metadata (seen
         * with libzmq 4.3.4: an event now and then lost its User-Id there). */
        const char *peer = ingest_peer(d, d->router_curve, &f[n > 1 ? 1 : 0]);
        if (n != 2) {
            char why[128];
            snprintf(why, sizeof why, "expected one frame [event] from a DEALER, got %d frames", n - 1);
            d->stats.bad_frames++;
            bw_ingest_reject(d, BW_REJ_MALFORMED, "", "", n > 1 ? zmq_msg_data(&f[n > 3 ? 2 : n - 1]) : "",
                             n > 1 ? zmq_msg_size(&f[n > 3 ? 2 : n - 1]) : 0, why, peer, &ack, false);
        } else {
            status = bw_ingest_event(d, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), peer, &ack, false);
        }
        if (status >= 0)        /* < 0: the ledger failed, and no ack is owed */
            push_ack(d, &f[0], &ack);
        bw_zio_close(f, n, 3);
        if (d->nacks == d->cap_acks && commit_flush(d))
            return false;
    }
    return true;
}

/* Like drain_router: true if it stopped on the budget, false when empty. */
static bool drain_sub(bw_daemon *d, uint32_t *budget)
{
    zmq_msg_t f[2];
    if (d->sub == NULL)
        return false;
    while (*budget > 0 && !d->stopping) {
        int n = bw_zio_recv(d->sub, f, 2);
        if (n == 0)
            return false;
        (*budget)--;
        if (bw_batch_begin(d)) {
            bw_zio_close(f, n, 2);
            return false;
        }
        const char *peer = ingest_peer(d, d->sub_curve, &f[0]);
        if (n != 2) {
            char why[128];
            snprintf(why, sizeof why, "expected two frames [topic][event] on SUB, got %d", n);
            d->stats.bad_frames++;
            bw_ingest_reject(d, BW_REJ_MALFORMED, "", "", zmq_msg_data(&f[n > 1 ? 1 : 0]),
                             zmq_msg_size(&f[n > 1 ? 1 : 0]), why, peer, NULL, false);
        } else {
            bw_ingest_event(d, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), peer, NULL, false);
        }
        bw_zio_close(f, n, 2);
    }
    return true;
}

static void drain_control(bw_daemon *d)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    for (int i = 0; i < 64 && !d->stopping; i++) {
        zmq_msg_t f[1];
        int n = bw_zio_recv(d->rep, f, 1);
        if (n == 0)
            break;
        out.size = 0;
        /* ipc:// control is guarded by its file mode: whoever can open it administers. */
        const char *name = "";
        bw_role role = d->rep_curve ? bw_auth_peer(d->auth, &f[0], BW_DOM_CONTROL, &name) : BW_ROLE_ADMIN;
        d->stats.control_requests++;
        if (n != 1) {
            bw_reply_error("a control request is one frame", &out);
            d->stats.control_errors++;
        } else {
            bw_control_handle(d, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), role, name, &out);
        }
        bw_zio_close(f, n, 1);
        /* A reply not sent leaves that client waiting: at least say why. */
        if (zmq_send(d->rep, out.data, out.size, ZMQ_DONTWAIT) < 0)
            bw_log(BW_LOG_WARNING, "cannot send a control reply: %s", zmq_strerror(zmq_errno()));
    }
    msgpack_sbuffer_destroy(&out);
}

/* One loop turn's worth of work. ZMQ_FD is edge-triggered, so a turn either
 * drains every socket until EAGAIN or leaves the idle handle on to come back. */
static void drain_all(bw_daemon *d)
{
    if (d->stopping)
        return;
    if (d->cfg.clock == BW_CLOCK_WALL)
        bw_advance(d, (int64_t)time(NULL));
    uint32_t budget = d->cfg.batch_max;
    bool more = true;
    while (more && budget > 0 && !d->stopping) {
        bool r = drain_router(d, &budget);
        bool s = drain_sub(d, &budget);
        more = r || s;
    }
    bw_batch_checkpoint(d);
    drain_control(d);
    /* Sends on the ROUTER and REP sockets may have consumed the edge. */
    if (!d->stopping && (budget == 0 || bw_zio_readable(d->router) || bw_zio_readable(d->sub) ||
                         bw_zio_readable(d->rep)))
        uv_idle_start(&d->drain, on_idle);
}

static void on_idle(uv_idle_t *h)
{
    bw_daemon *d = h->data;
    uv_idle_stop(h);
    drain_all(d);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    bw_daemon *d = h->data;
    if (status < 0)
        bw_log(BW_LOG_WARNING, "socket poll error: %s", uv_strerror(status));
    drain_all(d);
}

/* ---- timers and signals ---- */

static void on_alert_timer(uv_timer_t *h)
{
    bw_daemon *d = h->data;
    if (d->stopping)
        return;     /* uv_stop ends the loop after this turn; the engine may be gone */
    bw_advance(d, (int64_t)time(NULL));
    bw_batch_checkpoint(d);
    arm_alert_timer(d);
}

static void arm_alert_timer(bw_daemon *d)
{
    if (d->cfg.clock != BW_CLOCK_WALL || d->stopping)
        return;
    int64_t next = bw_engine_next_instant(d->engine);
    if (next == BW_NEVER) {
        uv_timer_stop(&d->alert_timer);
        return;
    }
    int64_t ms = (next - (int64_t)time(NULL)) * 1000;
    if (ms < 0)
        ms = 0;
    if (ms > TIMER_CAP_MS)
        ms = TIMER_CAP_MS;   /* re-check hourly: the wall clock may be set */
    uv_timer_start(&d->alert_timer, on_alert_timer, (uint64_t)ms, 0);
}

/* STATUS= for systemctl status, sent only when a count moved. */
static void status_line(bw_daemon *d)
{
    uint64_t rej = 0;
    for (int i = 0; i < BW_REJ_COUNT; i++)
        rej += d->stats.rejected[i];
    uint64_t sum = d->stats.accepted + d->stats.duplicates + rej + d->alert_seq;
    if (sum == d->status_sum && d->status_sent)
        return;
    d->status_sum = sum;
    d->status_sent = true;
    bw_notify_status("%llu accepted, %llu duplicates, %llu rejected, %llu alerts published",
                     (unsigned long long)d->stats.accepted, (unsigned long long)d->stats.duplicates,
                     (unsigned long long)rej, (unsigned long long)d->alert_seq);
}

static void on_heartbeat(uv_timer_t *h)
{
    bw_daemon *d = h->data;
    if (d->stopping)
        return;
    bw_publish_heartbeat(d);
    bw_auth_tick(d->auth);
    status_line(d);
}

static void on_watchdog(uv_timer_t *h)
{
    (void)h;
    bw_notify_watchdog();
}

static void on_sighup(uv_signal_t *h, int sig)
{
    (void)sig;
    bw_daemon *d = h->data;
    bw_err err;
    if (!d->stopping && bw_daemon_reload(d, &err) && d->engine != NULL)
        bw_log(BW_LOG_ERR, "reload failed, still running the old plan: %s", err.msg);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void on_stop(uv_signal_t *h, int sig)
{
    bw_daemon *d = h->data;
    bw_log(BW_LOG_NOTICE, "signal %d: stopping", sig);
    bw_notify_stopping();
    d->stopping = true;
    /* A clean stop leaves every row current: the next start re-adds nothing. */
    d->save_all_totals = true;
    if (bw_batch_begin(d) == 0)
        bw_batch_checkpoint(d);
    uv_stop(&d->loop);
}

/* ---- reload ---- */

/* The daemon cannot go on without an engine: stop, and let systemd start it
 * again from the ledger. */
static void engine_lost(bw_daemon *d, const bw_err *why)
{
    bw_log(BW_LOG_ERR, "cannot rebuild the projects' state from the ledger (%s); stopping",
           why->msg);
    d->exit_code = 1;
    d->stopping = true;
    uv_stop(&d->loop);
}

int bw_daemon_reload(bw_daemon *d, bw_err *err)
{
    bw_notify_reloading();
    bw_err kerr;
    if (bw_auth_reload(d->auth, &d->cfg, &kerr))
        bw_log(BW_LOG_ERR, "keys not reloaded, the old ones stay in force: %s", kerr.msg);
    bw_log(BW_LOG_NOTICE, "reloading the plan %s", d->cfg.plan);
    if (bw_batch_checkpoint(d)) {
        bw_notify_ready();
        return bw_err_set(err, "the ledger failed before the reload (see the log); stopping");
    }
    /* The checkpoint above saved every alert state and the ledger has every
     * event, so the ledger is the one source for carrying projects over. The
     * old engine goes first, so that a province's plan is never held twice
     * beside two engines; a plan that does not load is rebuilt from the old
     * plan and the ledger, as at start. */
    int64_t now = bw_engine_now(d->engine);
    bw_calendar cal, oldcal = d->cal;
    bw_plan *old = bw_engine_free_keep_plan(&d->engine), *plan = NULL;
    bw_err again;
    if (bw_daemon_load_plan(&d->cfg, &cal, &plan, err)) {
        if (start_engine(d, &old, &oldcal, now, false, &again))
            engine_lost(d, &again);
        bw_plan_free(&old);
        bw_notify_ready();
        return -1;
    }
    bw_plan_free(&old);
    if (start_engine(d, &plan, &cal, now, false, err)) {
        bw_plan_free(&plan);
        engine_lost(d, err);
        return -1;
    }
    /* Everything is saved once against the new plan's budgets. */
    bw_saveq_all(d->saveq);
    if (bw_batch_begin(d) == 0)
        bw_batch_checkpoint(d);
    bw_log(BW_LOG_NOTICE, "plan reloaded: %zu projects in %zu units",
           bw_plan_nprojects(bw_engine_plan(d->engine)), bw_plan_nunits(bw_engine_plan(d->engine)));
    bw_notify_ready();
    return 0;
}

/* ---- life cycle ---- */

static int init_handles(bw_daemon *d, bw_err *err)
{
    uv_handle_t *hs[] = { (uv_handle_t *)&d->drain, (uv_handle_t *)&d->alert_timer,
                          (uv_handle_t *)&d->hb_timer, (uv_handle_t *)&d->wd_timer,
                          (uv_handle_t *)&d->sighup, (uv_handle_t *)&d->sigterm,
                          (uv_handle_t *)&d->sigint, (uv_handle_t *)&d->ichk_timer };
    int rc = uv_idle_init(&d->loop, &d->drain);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->alert_timer);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->hb_timer);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->wd_timer);
    rc = rc ? rc : uv_signal_init(&d->loop, &d->sighup);
    rc = rc ? rc : uv_signal_init(&d->loop, &d->sigterm);
    rc = rc ? rc : uv_signal_init(&d->loop, &d->sigint);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->ichk_timer);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        hs[i]->data = d;
    return 0;
}

static int start_handles(bw_daemon *d, bw_err *err)
{
    uint64_t hb = (uint64_t)d->cfg.heartbeat_interval * 1000;
    int rc = uv_signal_start(&d->sighup, on_sighup, SIGHUP);
    rc = rc ? rc : uv_signal_start(&d->sigterm, on_stop, SIGTERM);
    rc = rc ? rc : uv_signal_start(&d->sigint, on_stop, SIGINT);
    rc = rc ? rc : uv_timer_start(&d->hb_timer, on_heartbeat, hb, hb);
    uint64_t wd = bw_notify_watchdog_usec();
    if (rc == 0 && wd > 0)
        rc = uv_timer_start(&d->wd_timer, on_watchdog, wd / 2000, wd / 2000);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    return bw_integrity_start(d, err);
}

/* One daemon per ledger: a second one would accept events beside the first
 * and each would hold totals the other does not know. The lock goes with the
 * process, so a SIGKILL never leaves it stale. */
static int lock_state(bw_daemon *d, bw_err *err)
{
    char path[BW_PATH_MAX + 24], pid[32] = "";
    snprintf(path, sizeof path, "%s/budgetwatchd.lock", d->cfg.state_dir);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0) {
        d->exit_code = BW_EXIT_STORE;
        return bw_err_set(err, "cannot open %s: %s; check that state_dir exists and is writable",
                          path, strerror(errno));
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        d->exit_code = BW_EXIT_IN_USE;
        ssize_t n = pread(d->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        return bw_err_set(err, "the ledger in %s is in use by another budgetwatchd (pid %s); stop "
                          "it first, or give this one a state_dir of its own", d->cfg.state_dir,
                          *pid ? pid : "unknown");
    }
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)len, 0) != len) {
        d->exit_code = BW_EXIT_STORE;
        return bw_err_set(err, "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

/* A ledger that fails to open or restore: damaged (its own words said so,
 * or SQLite's), else unreadable or unwritable. */
static int store_exit(bw_daemon *d, const bw_err *err)
{
    if (d->exit_code == 0)
        d->exit_code = bw_store_err_damaged(err) ? BW_EXIT_DAMAGED : BW_EXIT_STORE;
    return -1;
}

static int open_state(bw_daemon *d, bw_err *err)
{
    char path[BW_PATH_MAX + 16];
    if (lock_state(d, err))
        return -1;
    snprintf(path, sizeof path, "%s/ledger.db", d->cfg.state_dir);
    d->store = bw_store_open(path, d->cfg.sync_full, err);
    if (d->store == NULL || bw_store_checkpoint_apart(d->store, d->cfg.sync_full, err))
        return store_exit(d, err);
    int64_t now = 0, seq = 0;
    bw_calendar cal;
    if (bw_tz_calendar(d->cfg.timezone, d->cfg.fiscal_year, &cal, err)) {
        d->exit_code = BW_EXIT_CONFIG;
        return -1;
    }
    int have = bw_store_meta_get(d->store, "now", &now, err);
    if (have < 0 || bw_store_meta_get(d->store, "alert_seq", &seq, err) < 0)
        return store_exit(d, err);
    if (have == 0)
        now = bw_cal_year_start(&cal);   /* first start: time flows from the year's start */
    d->alert_seq = (uint64_t)seq;
    d->sources = bw_sources_new(MAX_SOURCES);
    if (d->sources == NULL)
        return bw_err_set(err, "out of memory");
    bw_plan *plan = NULL;
    if (bw_daemon_load_plan(&d->cfg, &cal, &plan, err)) {
        d->exit_code = BW_EXIT_CONFIG;
        return -1;
    }
    int rc = start_engine(d, &plan, &cal, now, true, err);
    bw_plan_free(&plan);
    return rc ? store_exit(d, err) : 0;
}

int bw_daemon_rebuild_totals(const bw_config *cfg, int64_t *rows, bw_err *err)
{
    bw_daemon d = { .cfg = *cfg, .lock_fd = -1 };
    char path[BW_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/ledger.db", cfg->state_dir);
    if (lock_state(&d, err) == 0) {
        d.store = bw_store_open(path, cfg->sync_full, err);
        if (d.store == NULL || bw_store_rebuild_totals(d.store, rows, err))
            store_exit(&d, err);
    }
    bw_store_close(&d.store);
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    return d.exit_code;
}

int bw_daemon_init(bw_daemon *d, const bw_config *cfg, bw_err *err)
{
    memset(d, 0, sizeof *d);
    d->lock_fd = -1;
    d->cfg = *cfg;
    d->started_at = (int64_t)time(NULL);
    d->cap_acks = cfg->batch_max ? cfg->batch_max : 1;
    d->cap_pending = PENDING_ALERTS;
    d->acks = malloc(d->cap_acks * sizeof *d->acks);
    d->pending = malloc(d->cap_pending * sizeof *d->pending);
    if (d->acks == NULL || d->pending == NULL)
        return bw_err_set(err, "out of memory");
    int rc = uv_loop_init(&d->loop);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    d->loop_ready = true;
    if (open_state(d, err) || init_handles(d, err))
        return -1;
    d->drain.data = d;
    if (open_sockets(d, err) || start_handles(d, err))
        return -1;
    /* Alerts that fell due while the daemon was down go out now, each at its
     * own instant; what was already announced is not announced again. */
    if (bw_batch_begin(d))
        return bw_err_set(err, "cannot start a transaction on the ledger");
    bw_batch_checkpoint(d);
    if (cfg->clock == BW_CLOCK_WALL) {
        bw_advance(d, (int64_t)time(NULL));
        bw_batch_checkpoint(d);
    }
    return 0;
}

int bw_daemon_run(bw_daemon *d)
{
    bw_log(BW_LOG_NOTICE, "serving %zu projects; events on %s, alerts on %s, control on %s, "
           "clock %s", bw_plan_nprojects(bw_engine_plan(d->engine)), d->cfg.events_ack,
           d->cfg.alerts_pub, d->cfg.control, d->cfg.clock == BW_CLOCK_EVENT ? "event" : "wall");
    bw_notify_ready();
    status_line(d);
    drain_all(d);   /* anything that arrived while starting */
    uv_run(&d->loop, UV_RUN_DEFAULT);
    return d->exit_code;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, close_cb);
}

void bw_daemon_fini(bw_daemon *d)
{
    if (d->in_txn && d->engine && d->store)
        bw_batch_checkpoint(d);
    if (d->loop_ready) {
        uv_walk(&d->loop, close_walk, NULL);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->loop);
    }
    void *socks[] = { d->sub, d->router, d->pub, d->rep };
    for (size_t i = 0; i < 4; i++)
        if (socks[i])
            zmq_close(socks[i]);
    bw_auth_free(&d->auth);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    bw_engine_free(&d->engine);
    bw_sources_free(&d->sources);
    bw_store_close(&d->store);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    free(d->acks);
    free(d->pending);
    bw_saveq_free(&d->saveq);
    free(d->row_digest);
}
