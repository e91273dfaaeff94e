/* control: the control socket's operations (control.h) — ping, status,
 * alerts, history, ack, stats, verify, reload, adjust, replay_rejected,
 * advance. One request, one reply; a bad request gets ok=false and an error
 * saying what to fix. The table of operations says who may call each and
 * whether it needs a quiet ledger; the handlers fill views and batches. */
#include "control.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "publish.h"
#include "reload.h"
#include "views.h"

static bw_ctl_result fail(msgpack_sbuffer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bw_ctl_result fail(msgpack_sbuffer *out, const char *fmt, ...)
{
    char msg[BW_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->size = 0;
    bw_reply_error(msg, out);
    return BW_CTL_REPLY;
}

void bw_control_not_recorded(msgpack_sbuffer *out, const char *change, const char *cause)
{
    char msg[BW_ERR_MAX * 2];
    snprintf(msg, sizeof msg, "the ledger could not commit the %s, so it was not recorded (%s); "
             "budgetwatchd is stopping: send it again once the daemon is back", change, cause);
    out->size = 0;
    bw_reply_error(msg, out);
}

/* A change that could not even be added to the batch. */
static bw_ctl_result not_recorded(bw_app *a, msgpack_sbuffer *out, const char *change,
                                  const bw_err *why)
{
    bw_batch_fail(a->batch, why);
    bw_control_not_recorded(out, change, why->msg);
    return BW_CTL_FATAL;
}

static void reply_begin(bw_mapw *m, msgpack_sbuffer *out)
{
    out->size = 0;
    bw_mapw_begin(m, out);
    bw_mapw_bool(m, "ok", true);
}

/* The batch a changing operation adds to. */
static bool begin(bw_app *a, msgpack_sbuffer *out, const char *change, bw_ctl_result *rc)
{
    bw_err err;
    if (bw_batch_begin(a->batch, a->store, &err) == 0)
        return true;
    *rc = not_recorded(a, out, change, &err);
    return false;
}

static int64_t find_project(bw_app *a, const char *code, msgpack_sbuffer *out, bw_ctl_result *rc)
{
    int64_t ix = bw_plan_find_project(bw_engine_plan(a->engine), code, strlen(code));
    if (ix < 0)
        *rc = fail(out, "unknown project \"%s\"; `budgetwatch status` lists the projects", code);
    return ix;
}

/* ---- reading ---- */

static bw_ctl_result op_ping(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    (void)q;
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_mapw_str(&m, "version", BW_VERSION);
    bw_mapw_int(&m, "now", bw_app_now(a));
    bw_mapw_str(&m, "clock", a->cfg.clock == BW_CLOCK_EVENT ? "event" : "wall");
    /* The lag bands in force, mildest first, and the basis: a report colours
     * and counts by band in this order, and names the bands a day with no
     * project in them too. */
    bw_mapw_str(&m, "lag_basis", bw_basis_name(a->cfg.lag_basis));
    if (a->engine != NULL) {
        const bw_engine_opts *o = bw_engine_options(a->engine);
        msgpack_packer *pk = bw_mapw_key(&m, "bands");
        msgpack_pack_array(pk, (size_t)o->nbands);
        for (int i = 0; i < o->nbands; i++) {
            bw_mapw b;
            bw_mapw_begin(&b, m.sb);
            bw_mapw_str(&b, "name", o->band[i].name);
            bw_mapw_int(&b, "bp", o->band[i].bp);
            bw_mapw_end(&b);
        }
    }
    bw_mapw_end(&m);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_status(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_status_query sq = { q->unit, q->project, q->sort, q->limit,
                           q->offset, q->q, q->band, q->alert, q->desc };
    bw_view_status v;
    bw_err err;
    if (q->has_at ? bw_views_status_at(a, &sq, q->at, &v, &err) : bw_views_status(a, &sq, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_status_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_status_free(&v);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_alerts(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    (void)q;
    bw_view_alerts v;
    bw_err err;
    if (bw_views_alerts(a, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_alerts_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_alerts_free(&v);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_history(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_history_filter f = { q->project, q->unit, q->has_since, q->since, q->has_until, q->until,
                            q->limit, q->has_after_seq, q->after_seq };
    bw_view_alerts v;
    bw_err err;
    if (bw_views_history(a, &f, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_history_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_alerts_free(&v);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_payments(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_view_payments v;
    bw_err err;
    if (bw_views_payments(a, q->project, q->limit, q->before, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_payments_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_payments_free(&v);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_adjustments(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_view_adjustments v;
    bw_err err;
    if (bw_views_adjustments(a, q->project, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_adjustments_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_adjustments_free(&v);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_stats(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    (void)q;
    bw_view_stats v;
    bw_views_stats(a, &v);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_stats_put(&m, &v);
    bw_mapw_end(&m);
    return BW_CTL_REPLY;
}

static bw_ctl_result op_series(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_view_series v;
    bw_err err;
    if (bw_views_series(a, q->unit, q->project, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_series_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_series_free(&v);
    return BW_CTL_REPLY;
}

/* Runs with every queued row saved and no transaction open (BW_CTL_QUIET):
 * the saved totals then equal the ledger, and SQLite's integrity check
 * must not run inside a write transaction, which it would refuse to go on
 * with once it has met a damaged page. */
static bw_ctl_result op_verify(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    (void)q;
    bw_view_verify v;
    bw_err err;
    if (bw_views_verify(a, &v, &err))
        return fail(c->out, "%s", err.msg);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_view_verify_put(&m, &v);
    bw_mapw_end(&m);
    bw_view_verify_free(&v);
    return BW_CTL_REPLY;
}

/* ---- changing ---- */

/* Why a kind the table says may not be acknowledged is refused. */
static const char *why_no_ack(int kind)
{
    switch (kind) {
    case BW_KIND_SOURCE_GAP:
        return "a source_gap is a one-time notice, never active, so there is nothing to "
               "acknowledge";
    case BW_KIND_LEDGER_DAMAGED:
        return "ledger_damaged is ended only by restoring the ledger file from a backup "
               "(budgetwatchd(8), DURABILITY AND DAMAGE), not by an ack";
    default:
        return "this kind is never acknowledged";
    }
}

/* A handling step (ack is one: followed_up), recorded as an acknowledged
 * message with `handling`, `by` and `note`; a step that concludes an event
 * alert (large_payment) is followed by its resolution. */
static bw_ctl_result handle(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q, bw_handling to,
                            const char *op)
{
    int kind = bw_kind_parse(q->kind);
    bw_ctl_result rc = BW_CTL_REPLY;
    char kinds[128];
    bw_kinds_ackable_list(kinds, sizeof kinds);
    if (kind < 0)
        return fail(c->out, "kind must be %s, got \"%s\"", kinds, q->kind);
    if (!bw_kind_ackable(kind))
        return fail(c->out, "%s; %s takes %s", why_no_ack(kind), op, kinds);
    int64_t ix = find_project(a, q->project, c->out, &rc);
    if (ix < 0)
        return rc;
    bw_alert al[2];
    bw_err err;
    int n = bw_engine_handle(a->engine, (uint32_t)ix, (bw_alert_kind)kind, to, al, &err);
    if (n < 0)
        return fail(c->out, "%s", err.msg);
    const char *what = to == BW_HANDLING_FOLLOWED_UP ? "acknowledgement" : "handling step";
    if (!begin(a, c->out, what, &rc))
        return rc;
    bw_alert_msg msg, end;
    bw_views_alert_msg(a, &al[0], &msg);
    snprintf(msg.by, sizeof msg.by, "%s", q->by);
    snprintf(msg.note, sizeof msg.note, "%s", q->note);
    bw_batch_touch(a->batch, (uint32_t)ix);
    if (bw_publish_queue(a, &msg) == BW_STEP_FATAL) {
        bw_err_set(&err, "the alert log refused the %s", what);
        return not_recorded(a, c->out, what, &err);
    }
    if (n == 2) {
        end = msg;              /* the same payment, handled */
        end.state = BW_STATE_RESOLVED;
        end.by[0] = end.note[0] = '\0';
        if (bw_publish_queue(a, &end) == BW_STEP_FATAL) {
            bw_err_set(&err, "the alert log refused the resolution after the %s", what);
            return not_recorded(a, c->out, what, &err);
        }
    }
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_alert_pack(bw_mapw_key(&m, "alert"), &msg);
    bw_mapw_end(&m);
    c->change = what;
    return BW_CTL_COMMIT;
}

static bw_ctl_result op_ack(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    return handle(a, c, q, BW_HANDLING_FOLLOWED_UP, "ack");
}

static bw_ctl_result op_handle(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    int to = bw_handling_parse(q->state);
    if (to <= BW_HANDLING_UNHANDLED)
        return fail(c->out, "state must be followed_up, corrected, judged_normal or "
                    "judged_violation, got \"%s\"", q->state);
    return handle(a, c, q, (bw_handling)to, "handle");
}

static bw_ctl_result op_adjust(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_ctl_result rc = BW_CTL_REPLY;
    int64_t ix = find_project(a, q->project, c->out, &rc);
    if (ix < 0)
        return rc;
    int64_t old = bw_engine_state(a->engine, (uint32_t)ix)->budget;
    bw_err err;
    if (!begin(a, c->out, "budget adjustment", &rc))
        return rc;
    if (bw_engine_adjust(a->engine, (uint32_t)ix, q->budget, &err))
        return fail(c->out, "%s", err.msg);
    /* A failure here stops the daemon, and its engine with it. */
    if (bw_store_adjust_insert(a->store, q->project, old, q->budget, q->reason, bw_app_now(a),
                               &err))
        return not_recorded(a, c->out, "budget adjustment", &err);
    bw_batch_touch(a->batch, (uint32_t)ix);
    char why[BW_TEXT_MAX * 4];      /* a reason may span lines: one log line still */
    bw_log(BW_LOG_NOTICE, "budget of %s adjusted from %" PRId64 " to %" PRId64 " fen: %s",
           q->project, old, q->budget, bw_utf8_escape(q->reason, strlen(q->reason), why, sizeof why));
    bw_view_row row;
    bw_views_project_row(a, (uint32_t)ix, &row);
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_mapw_key(&m, "project");
    bw_view_row_pack(c->out, &row);
    bw_mapw_int(&m, "old_budget", old);
    bw_mapw_end(&m);
    c->change = "budget adjustment";
    return BW_CTL_COMMIT;
}

static bw_ctl_result op_advance(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    bw_ctl_result rc = BW_CTL_REPLY;
    if (a->cfg.clock != BW_CLOCK_EVENT)
        return fail(c->out, "advance needs clock = event in [daemon]; this daemon follows the "
                    "wall clock");
    if (q->to < bw_engine_now(a->engine))
        return fail(c->out, "to = %" PRId64 " is before the daemon's clock (%" PRId64 "); time "
                    "only moves forward", q->to, bw_engine_now(a->engine));
    if (!begin(a, c->out, "alerts that fell due", &rc))
        return rc;
    uint64_t before = bw_batch_seq(a->batch);
    if (bw_publish_advance(a, q->to) == BW_STEP_FATAL) {
        bw_err err;
        bw_err_set(&err, "the alert log refused an alert");
        return not_recorded(a, c->out, "alerts that fell due", &err);
    }
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_mapw_int(&m, "now", bw_engine_now(a->engine));
    bw_mapw_uint(&m, "alerts", bw_batch_seq(a->batch) - before);
    bw_mapw_end(&m);
    c->change = "alerts that fell due";
    return BW_CTL_COMMIT;
}

/* Runs quiet (BW_CTL_QUIET): the old engine's state is all in the ledger,
 * which is then the one source for carrying projects over. */
static bw_ctl_result op_reload(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    (void)q;
    bw_err err;
    if (bw_reload(a, &err)) {
        if (a->engine == NULL) {
            fail(c->out, "reload failed and budgetwatchd is stopping: %s", err.msg);
            return BW_CTL_FATAL;
        }
        bw_log(BW_LOG_ERR, "reload failed, still running the old plan: %s", err.msg);
        return fail(c->out, "reload failed, still running the old plan: %s", err.msg);
    }
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_mapw_uint(&m, "projects", bw_plan_nprojects(bw_engine_plan(a->engine)));
    bw_mapw_end(&m);
    c->change = "plan reload";
    return BW_CTL_COMMIT;
}

/* ---- dead letters ---- */

typedef struct dead_letter {
    int64_t id;
    size_t len;
    char *raw;
    char *peer;     /* the CURVE key name it came with, or NULL */
} dead_letter;

/* Dead letters held in memory at once: a replay walks them in chunks, so a
 * full store (max_dead_letters of max_message_bytes each) never is. */
#define REPLAY_CHUNK 1024

typedef struct replay_ctx {
    dead_letter v[REPLAY_CHUNK];
    size_t n;
    bool oom;
    size_t replayed, accepted, still;
    size_t framing;                     /* refused for their frames: never replayed */
    char framing_reason[BW_TEXT_MAX];   /* the first one's reason */
} replay_ctx;

/* The reasons the loop gives a message with the wrong number of frames
 * (loop.c: drain_router, drain_sub); the rejects table has no class column,
 * so the reason is the mark. test_wire.py fails if the two drift apart. */
static const char *const framing_reasons[] = {
    "expected one frame [event] from a DEALER, got ",
    "expected two frames [topic][event] on SUB, got ",
};

/* A message with the wrong number of frames was never one event: the frame
 * kept of it is only the daemon's guess at where an event might be, and a
 * replay that accepted it would count a payment nobody sent as one. It stays
 * a dead letter, and the reply says why. */
static bool framing_reject(const char *reason)
{
    for (size_t i = 0; i < sizeof framing_reasons / sizeof framing_reasons[0]; i++)
        if (strncmp(reason, framing_reasons[i], strlen(framing_reasons[i])) == 0)
            return true;
    return false;
}

static int collect_reject(void *ctx, int64_t id, const void *raw, size_t len, const char *reason,
                          const char *peer)
{
    replay_ctx *r = ctx;
    if (framing_reject(reason)) {
        if (r->framing++ == 0)
            snprintf(r->framing_reason, sizeof r->framing_reason, "%s", reason);
        return 0;
    }
    char *copy = malloc(len ? len : 1), *who = peer ? strdup(peer) : NULL;
    if (copy == NULL || (peer && who == NULL)) {
        free(copy);
        free(who);
        r->oom = true;
        return 1;
    }
    memcpy(copy, raw, len);
    r->v[r->n++] = (dead_letter){ id, len, copy, who };
    return r->n == REPLAY_CHUNK;
}

static void free_chunk(replay_ctx *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].raw);
        free(r->v[i].peer);
    }
}

/* Ingests the chunk again, into the batch. -1 when the ledger failed. */
static int replay_chunk(bw_app *a, replay_ctx *r)
{
    for (size_t i = 0; i < r->n; i++) {
        bw_ack ack;
        bw_err err;
        /* The sender's key is checked again: a forged src stays rejected. */
        if (bw_ingest_event(a, r->v[i].raw, r->v[i].len, r->v[i].peer, &ack, true) ==
            BW_STEP_FATAL)
            return -1;
        if (ack.status == BW_ACK_REJECTED) {
            r->still++;
            continue;
        }
        r->accepted += ack.status == BW_ACK_ACCEPTED;
        if (bw_store_reject_mark_replayed(a->store, r->v[i].id, bw_app_now(a), &err)) {
            bw_batch_fail(a->batch, &err);
            return -1;
        }
    }
    r->replayed += r->n;
    return 0;
}

static void replay_reply(bw_app *a, bw_ctl_call *c, const replay_ctx *rc)
{
    char why[BW_TEXT_MAX + 256] = "";
    if (rc->framing > 0)
        snprintf(why, sizeof why, "%zu dead letter(s) were refused for their framing (\"%s\"%s) "
                 "and stay dead letters: a message with the wrong number of frames is not an "
                 "event, whichever frame was kept; the sender must send each event again as "
                 "one frame", rc->framing, rc->framing_reason, rc->framing > 1 ? ", ..." : "");
    bw_log(BW_LOG_NOTICE, "replayed %zu dead letters: %zu accepted, %zu still rejected%s%s",
           rc->replayed, rc->accepted, rc->still, rc->framing ? "; " : "", why);
    (void)a;
    bw_mapw m;
    reply_begin(&m, c->out);
    bw_mapw_uint(&m, "replayed", rc->replayed);
    bw_mapw_uint(&m, "accepted", rc->accepted);
    bw_mapw_uint(&m, "still_rejected", rc->still);
    bw_mapw_uint(&m, "not_replayable", rc->framing);
    if (rc->framing > 0)
        bw_mapw_str(&m, "not_replayable_reason", why);
    bw_mapw_end(&m);
}

/* Every dead letter goes into one batch: the reply is sent once all of it
 * is committed, or not at all. */
static bw_ctl_result op_replay(bw_app *a, bw_ctl_call *c, const bw_ctl_req *q)
{
    (void)q;
    bw_ctl_result res = BW_CTL_REPLY;
    replay_ctx *rc = calloc(1, sizeof *rc);
    if (rc == NULL)
        return fail(c->out, "out of memory replaying the dead letters");
    if (!begin(a, c->out, "replay of the dead letters", &res)) {
        free(rc);
        return res;
    }
    bw_err err;
    int64_t after = 0;
    int failed, lost = 0;
    do {
        rc->n = 0;
        failed = bw_store_rejects_each(a->store, after, collect_reject, rc, &err);
        if (rc->n > 0)
            after = rc->v[rc->n - 1].id;
        lost = replay_chunk(a, rc);
        free_chunk(rc);
    } while (!failed && !lost && !rc->oom && rc->n == REPLAY_CHUNK);
    if (lost) {
        free(rc);
        bw_err_set(&err, "the ledger failed during the replay; its log says why");
        return not_recorded(a, c->out, "replay of the dead letters", &err);
    }
    if (failed || rc->oom) {
        /* What was replayed so far is in the batch and correct: it is kept. */
        fail(c->out, "%s (%zu dead letters replayed before it; replay again)",
             failed ? err.msg : "out of memory replaying the dead letters", rc->replayed);
        free(rc);
        c->change = "replay of the dead letters";
        return BW_CTL_COMMIT;
    }
    replay_reply(a, c, rc);
    free(rc);
    c->change = "replay of the dead letters";
    return BW_CTL_COMMIT;
}

/* ---- dispatch ---- */

enum { ADMIN = 1, QUIET = 2 };

static const struct {
    bw_ctl_result (*fn)(bw_app *, bw_ctl_call *, const bw_ctl_req *);
    unsigned flags;
} ops[BW_OP_COUNT] = {
    [BW_OP_PING] = { op_ping, 0 },
    [BW_OP_STATUS] = { op_status, 0 },
    [BW_OP_ALERTS] = { op_alerts, 0 },
    [BW_OP_HISTORY] = { op_history, 0 },
    [BW_OP_ACK] = { op_ack, 0 },
    [BW_OP_STATS] = { op_stats, 0 },
    [BW_OP_VERIFY] = { op_verify, QUIET },
    [BW_OP_RELOAD] = { op_reload, ADMIN | QUIET },
    [BW_OP_ADJUST] = { op_adjust, ADMIN },
    [BW_OP_REPLAY_REJECTED] = { op_replay, ADMIN },
    [BW_OP_ADVANCE] = { op_advance, ADMIN },
    [BW_OP_SERIES] = { op_series, 0 },
    [BW_OP_PAYMENTS] = { op_payments, 0 },
    [BW_OP_ADJUSTMENTS] = { op_adjustments, 0 },
    [BW_OP_HANDLE] = { op_handle, 0 },
};

/* A supervisor reads and acknowledges; changing the plan, the budgets, the
 * dead letters or the clock takes an administrator. */
static bool allowed(bw_role role, bw_op op)
{
    if (role == BW_ROLE_ADMIN)
        return true;
    return role == BW_ROLE_SUPERVISOR && !(ops[op].flags & ADMIN);
}

static bw_ctl_result deny(bw_app *a, bw_ctl_call *c, bw_op op)
{
    char esc[BW_KEY_NAME_MAX * 4];
    bw_utf8_escape(c->name, strlen(c->name), esc, sizeof esc);
    a->stats.control_denied++;
    if (c->role == BW_ROLE_NONE) {
        bw_log(BW_LOG_WARNING, "refused \"%s\": the control key is no longer authorized",
               bw_op_name(op));
        return fail(c->out, "your key is no longer authorized (removed from the administrator "
                    "and supervisor keys); ask the daemon's administrator");
    }
    bw_log(BW_LOG_WARNING, "refused \"%s\" from supervisor key \"%s\": it takes an administrator "
           "key", bw_op_name(op), esc);
    return fail(c->out, "%s takes an administrator key; \"%s\" is a supervisor key, which may "
                "ping, status, alerts, history, ack, handle, stats, verify, series, payments and "
                "adjustments", bw_op_name(op), esc);
}

bw_ctl_result bw_control_handle(bw_app *a, bw_ctl_call *c)
{
    bw_ctl_req q;
    char why[BW_WHY_MAX];
    c->change = NULL;
    if (bw_ctl_req_decode(c->req, c->len, &q, why, sizeof why)) {
        a->stats.control_errors++;
        return fail(c->out, "bad control request: %s", why);
    }
    if (q.op >= BW_OP_COUNT || ops[q.op].fn == NULL) {
        a->stats.control_errors++;
        return fail(c->out, "unknown op");
    }
    if (!allowed(c->role, (bw_op)q.op))
        return deny(a, c, (bw_op)q.op);
    if ((ops[q.op].flags & QUIET) && !c->quiet)
        return BW_CTL_QUIET;
    return ops[q.op].fn(a, c, &q);
}
