/* control: the REP socket's operations — ping, status, alerts, history, ack,
 * stats, verify, reload, adjust, replay_rejected, advance. One request, one
 * reply; a bad request gets ok=false and an error saying what to fix. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "keys.h"
#include "log.h"

#define HISTORY_MAX 100000

typedef struct reply {
    msgpack_sbuffer *out;
    msgpack_packer pk;
} reply;

static void reply_init(reply *r, msgpack_sbuffer *out, size_t nkeys)
{
    r->out = out;
    msgpack_packer_init(&r->pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&r->pk, nkeys + 1);
    bw_pack_kv_bool(&r->pk, "ok", true);
}

static int fail(msgpack_sbuffer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(msgpack_sbuffer *out, const char *fmt, ...)
{
    char msg[BW_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->size = 0;
    bw_reply_error(msg, out);
    return -1;
}

/* ---- status rows ---- */

static void row_of(const bw_status *s, bw_status_row *r)
{
    r->budget = s->budget;
    r->paid = s->paid;
    r->paid_fiscal = s->paid_fiscal;
    r->paid_other = s->paid_other;
    r->shortfall = s->shortfall;
    r->rate_bp = s->rate_bp;
    r->planned_bp = s->planned_bp;
    r->lag_bp = s->lag_bp;
    r->pace_bp = s->pace_bp;
    r->severity = s->severity;
    r->firing = s->firing;
    r->projects = s->projects;
}

static void project_row(const bw_daemon *d, uint32_t ix, bw_status_row *r)
{
    const bw_plan *p = bw_engine_plan(d->engine);
    const bw_project_def *pd = bw_plan_project(p, ix);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    bw_status s;
    memset(r, 0, sizeof *r);
    bw_engine_project_status(d->engine, ix, &s);
    row_of(&s, r);
    snprintf(r->unit, sizeof r->unit, "%s", u->code);
    snprintf(r->unit_name, sizeof r->unit_name, "%s", u->name);
    snprintf(r->project, sizeof r->project, "%s", pd->code);
    snprintf(r->project_name, sizeof r->project_name, "%s", pd->name);
}

static void unit_row(const bw_daemon *d, uint32_t u, bw_status_row *r)
{
    const bw_unit_def *ud = bw_plan_unit(bw_engine_plan(d->engine), u);
    bw_status s;
    memset(r, 0, sizeof *r);
    bw_engine_unit_status(d->engine, u, &s);
    row_of(&s, r);
    snprintf(r->unit, sizeof r->unit, "%s", ud->code);
    snprintf(r->unit_name, sizeof r->unit_name, "%s", ud->name);
}

static int cmp_code(const void *a, const void *b, void *plan)
{
    const bw_plan *p = plan;
    return strcmp(bw_plan_project(p, *(const uint32_t *)a)->code,
                  bw_plan_project(p, *(const uint32_t *)b)->code);
}

/* The projects a status request asks for, in the order it asks for. */
static size_t select_projects(const bw_daemon *d, const bw_ctl_req *q, int64_t unit, uint32_t *ix)
{
    const bw_plan *p = bw_engine_plan(d->engine);
    size_t n = bw_plan_nprojects(p);
    if (strcmp(q->sort, "shortfall") == 0)
        return bw_engine_rank(d->engine, BW_RANK_SHORTFALL, unit, ix, n);
    if (strcmp(q->sort, "lag") == 0)
        return bw_engine_rank(d->engine, BW_RANK_LAG, unit, ix, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (unit < 0 || bw_plan_project(p, i)->unit == (uint32_t)unit)
            ix[k++] = (uint32_t)i;
    if (strcmp(q->sort, "code") == 0)
        qsort_r(ix, k, sizeof *ix, cmp_code, (void *)p);
    return k;
}

static int op_status(bw_daemon *d, const bw_ctl_req *q, msgpack_sbuffer *out)
{
    const bw_plan *p = bw_engine_plan(d->engine);
    int64_t unit = -1, project = -1;
    if (q->sort[0] && strcmp(q->sort, "lag") && strcmp(q->sort, "shortfall") && strcmp(q->sort, "code"))
        return fail(out, "sort must be \"lag\", \"shortfall\" or \"code\", got \"%s\"", q->sort);
    if (q->unit[0] && (unit = bw_plan_find_unit(p, q->unit, strlen(q->unit))) < 0)
        return fail(out, "unknown unit \"%s\"; `budgetwatch status` lists the units", q->unit);
    if (q->project[0] && (project = bw_plan_find_project(p, q->project, strlen(q->project))) < 0)
        return fail(out, "unknown project \"%s\"; `budgetwatch status` lists the projects", q->project);
    size_t np = bw_plan_nprojects(p);
    uint32_t *ix = malloc((np ? np : 1) * sizeof *ix);
    if (ix == NULL)
        return fail(out, "out of memory");
    size_t n = 1;
    if (project >= 0) {
        ix[0] = (uint32_t)project;
        unit = bw_plan_project(p, (size_t)project)->unit;
    } else {
        n = select_projects(d, q, unit, ix);
    }
    if (q->limit && n > q->limit)
        n = q->limit;
    reply r;
    reply_init(&r, out, 5);
    bw_status tot;
    bw_engine_total_status(d->engine, &tot);
    bw_pack_kv_int(&r.pk, "at", bw_engine_now(d->engine));
    bw_pack_kv_int(&r.pk, "pace_bp", tot.pace_bp);
    bw_pack_key(&r.pk, "projects");
    msgpack_pack_array(&r.pk, n);
    bw_status_row row;
    for (size_t i = 0; i < n; i++) {
        project_row(d, ix[i], &row);
        bw_status_row_pack(&r.pk, &row);
    }
    free(ix);
    size_t nu = unit >= 0 ? 1 : bw_plan_nunits(p);
    bw_pack_key(&r.pk, "units");
    msgpack_pack_array(&r.pk, nu);
    for (size_t u = 0; u < nu; u++) {
        unit_row(d, unit >= 0 ? (uint32_t)unit : (uint32_t)u, &row);
        bw_status_row_pack(&r.pk, &row);
    }
    memset(&row, 0, sizeof row);
    row_of(&tot, &row);
    bw_pack_key(&r.pk, "total");
    bw_status_row_pack(&r.pk, &row);
    return 0;
}

/* ---- alerts ---- */

/* The active alerts, and for each the seq of its last message: a client
 * that read this snapshot, then follows the stream, tells by seq which
 * streamed messages the snapshot already holds (PROTOCOL.md §1.4). */
typedef struct active_list {
    size_t n;
    uint32_t *project;
    uint8_t *kind;
    bw_alert_key *keys;
    uint64_t *seq;
} active_list;

static void active_free(active_list *l)
{
    free(l->project);
    free(l->kind);
    free(l->keys);
    free(l->seq);
}

static int active_collect(bw_daemon *d, active_list *l, bw_err *err)
{
    const bw_plan *p = bw_engine_plan(d->engine);
    size_t np = bw_plan_nprojects(p), max = np * BW_PROJECT_KINDS + 1;
    bw_alert a;
    memset(l, 0, sizeof *l);
    l->project = malloc(max * sizeof *l->project);
    l->kind = malloc(max * sizeof *l->kind);
    l->keys = malloc(max * sizeof *l->keys);
    l->seq = malloc(max * sizeof *l->seq);
    if (l->project == NULL || l->kind == NULL || l->keys == NULL || l->seq == NULL)
        return bw_err_set(err, "out of memory listing the active alerts of %zu projects", np);
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < BW_PROJECT_KINDS; k++) {
            if (!bw_engine_active(d->engine, (uint32_t)i, (bw_alert_kind)k, &a))
                continue;
            l->project[l->n] = (uint32_t)i;
            l->kind[l->n] = (uint8_t)k;
            l->keys[l->n] = (bw_alert_key){ bw_plan_project(p, i)->code, bw_kind_name(k) };
            l->n++;
        }
    return bw_store_alerts_last_seq(d->store, l->keys, l->n, l->seq, err);
}

static int op_alerts(bw_daemon *d, msgpack_sbuffer *out)
{
    active_list l;
    bw_err err;
    if (active_collect(d, &l, &err)) {
        active_free(&l);
        return fail(out, "%s", err.msg);
    }
    reply r;
    reply_init(&r, out, 2);
    bw_pack_kv_uint(&r.pk, "seq", d->alert_seq);
    bw_pack_key(&r.pk, "alerts");
    msgpack_pack_array(&r.pk, l.n);
    for (size_t i = 0; i < l.n; i++) {
        bw_alert a;
        bw_alert_msg m;
        bw_engine_active(d->engine, l.project[i], (bw_alert_kind)l.kind[i], &a);
        bw_alert_to_msg(d, &a, &m);
        m.seq = l.seq[i];
        bw_alert_pack(&r.pk, &m);
    }
    active_free(&l);
    return 0;
}

typedef struct history_ctx {
    msgpack_sbuffer items;
    msgpack_packer pk;
    size_t n;
    size_t first_end;           /* bytes of the first (oldest) alert packed */
} history_ctx;

static int history_row(void *ctx, const bw_alert_msg *a)
{
    history_ctx *h = ctx;
    bw_alert_pack(&h->pk, a);
    if (h->n++ == 0)
        h->first_end = h->items.size;
    return 0;
}

/* A reply holds the newest `want` matching alerts (`limit`, at most
 * HISTORY_MAX). The store is asked for one more: if it comes, older alerts
 * match too, the reply says `truncated`, and that extra oldest one is dropped.
 * So `truncated` means exactly "the log holds older matching alerts than
 * these", whichever of `limit` or the cap left them out. */
static int op_history(bw_daemon *d, const bw_ctl_req *q, msgpack_sbuffer *out)
{
    uint32_t want = q->limit && q->limit < HISTORY_MAX ? q->limit : HISTORY_MAX;
    bw_history_filter f = { q->project, q->unit, q->has_since, q->since, q->has_until, q->until,
                            want + 1 };
    history_ctx h = { .n = 0 };
    msgpack_sbuffer_init(&h.items);
    msgpack_packer_init(&h.pk, &h.items, msgpack_sbuffer_write);
    bw_err err;
    if (bw_store_history_each(d->store, &f, history_row, &h, &err)) {
        msgpack_sbuffer_destroy(&h.items);
        return fail(out, "%s", err.msg);
    }
    bool truncated = h.n > want;
    size_t skip = truncated ? h.first_end : 0;
    reply r;
    reply_init(&r, out, 2);
    bw_pack_kv_bool(&r.pk, "truncated", truncated);
    bw_pack_key(&r.pk, "alerts");
    msgpack_pack_array(&r.pk, truncated ? want : h.n);
    if (h.items.size > skip)
        msgpack_sbuffer_write(out, h.items.data + skip, h.items.size - skip);
    msgpack_sbuffer_destroy(&h.items);
    return 0;
}

static int64_t find_project(bw_daemon *d, const char *code, msgpack_sbuffer *out)
{
    int64_t ix = bw_plan_find_project(bw_engine_plan(d->engine), code, strlen(code));
    if (ix < 0)
        fail(out, "unknown project \"%s\"; `budgetwatch status` lists the projects", code);
    return ix;
}

/* A change whose commit failed was never recorded, and the daemon is
 * stopping (bw_daemon_store_failed): the client must not be told ok. */
static int commit_failed(msgpack_sbuffer *out, const char *what)
{
    return fail(out, "the ledger could not commit the %s, so it was not recorded; budgetwatchd "
                "is stopping (its log says why): send it again once the daemon is back", what);
}

static int op_ack(bw_daemon *d, const bw_ctl_req *q, msgpack_sbuffer *out)
{
    int kind = bw_kind_parse(q->kind);
    if (kind == BW_KIND_SOURCE_GAP)
        return fail(out, "a source_gap is a one-time notice, never active, so there is nothing to "
                    "acknowledge; ack takes lag, milestone, overspend or year_end");
    if (kind == BW_KIND_LEDGER_DAMAGED)
        return fail(out, "ledger_damaged is ended only by restoring the ledger file from a backup "
                    "(budgetwatchd(8), DURABILITY AND DAMAGE), not by an ack");
    if (kind < 0 || kind >= BW_PROJECT_KINDS)
        return fail(out, "kind must be lag, milestone, overspend or year_end, got \"%s\"", q->kind);
    int64_t ix = find_project(d, q->project, out);
    if (ix < 0)
        return -1;
    bw_alert a;
    bw_err err;
    if (bw_engine_ack(d->engine, (uint32_t)ix, (bw_alert_kind)kind, &a, &err))
        return fail(out, "%s", err.msg);
    if (bw_batch_begin(d))
        return fail(out, "the ledger cannot start a transaction; see the daemon's log");
    bw_alert_msg m;
    bw_alert_to_msg(d, &a, &m);
    snprintf(m.by, sizeof m.by, "%s", q->by);
    snprintf(m.note, sizeof m.note, "%s", q->note);
    bw_touch(d, (uint32_t)ix);
    if (bw_publish_queue(d, &m) || bw_batch_checkpoint(d))
        return commit_failed(out, "acknowledgement");
    reply r;
    reply_init(&r, out, 1);
    bw_pack_key(&r.pk, "alert");
    bw_alert_pack(&r.pk, &m);
    return 0;
}

static int op_stats(bw_daemon *d, msgpack_sbuffer *out)
{
    bw_err err;
    int64_t events = bw_store_event_count(d->store, &err);
    int64_t pending = bw_store_rejects_pending(d->store, &err);
    reply r;
    reply_init(&r, out, 20);
    bw_pack_kv_uint(&r.pk, "accepted", d->stats.accepted);
    bw_pack_kv_uint(&r.pk, "duplicates", d->stats.duplicates);
    bw_pack_key(&r.pk, "rejected");
    msgpack_pack_map(&r.pk, BW_REJ_COUNT);
    for (int i = 0; i < BW_REJ_COUNT; i++)
        bw_pack_kv_uint(&r.pk, bw_reject_class_name(i), d->stats.rejected[i]);
    bw_pack_kv_uint(&r.pk, "gaps", d->stats.gaps);
    bw_pack_kv_uint(&r.pk, "restarts", d->stats.restarts);
    bw_pack_kv_uint(&r.pk, "batches", d->stats.batches);
    bw_pack_kv_int(&r.pk, "uptime", (int64_t)time(NULL) - d->started_at);
    bw_pack_kv_int(&r.pk, "events_in_ledger", events);
    bw_pack_kv_int(&r.pk, "dead_letters_pending", pending);
    bw_pack_kv_uint(&r.pk, "dead_letters_dropped", d->stats.dead_letters_dropped);
    bw_pack_kv_uint(&r.pk, "integrity_checks", d->stats.integrity_checks);
    bw_pack_kv_uint(&r.pk, "integrity_failures", d->stats.integrity_failures);
    bw_pack_kv_uint(&r.pk, "projects", bw_plan_nprojects(bw_engine_plan(d->engine)));
    bw_pack_kv_uint(&r.pk, "alert_seq", d->alert_seq);
    bw_pack_kv_uint(&r.pk, "bad_frames", d->stats.bad_frames);
    bw_pack_kv_uint(&r.pk, "sources", bw_sources_count(d->sources));
    bw_pack_key(&r.pk, "auth_denied");
    msgpack_pack_map(&r.pk, BW_DOM_COUNT);
    for (int i = 0; i < BW_DOM_COUNT; i++)
        bw_pack_kv_uint(&r.pk, bw_domain_name((bw_domain)i), bw_auth_denied(d->auth, (bw_domain)i));
    bw_pack_kv_uint(&r.pk, "control_denied", d->stats.control_denied);
    bw_pack_kv_uint(&r.pk, "control_requests", d->stats.control_requests);
    bw_pack_kv_uint(&r.pk, "control_errors", d->stats.control_errors);
    return 0;
}

/* ---- verify ---- */

typedef struct verify_ctx {
    msgpack_sbuffer items;
    msgpack_packer pk;
    size_t n;
} verify_ctx;

static int verify_diff(void *ctx, const char *code, int64_t sf, int64_t so, int64_t lf, int64_t lo)
{
    verify_ctx *v = ctx;
    msgpack_pack_map(&v->pk, 5);
    bw_pack_kv_str(&v->pk, "project", code);
    bw_pack_kv_int(&v->pk, "saved_fiscal", sf);
    bw_pack_kv_int(&v->pk, "saved_other", so);
    bw_pack_kv_int(&v->pk, "ledger_fiscal", lf);
    bw_pack_kv_int(&v->pk, "ledger_other", lo);
    v->n++;
    return 0;
}

/* The problems SQLite's integrity_check reports, as an array of strings. */
typedef struct damage_ctx {
    msgpack_sbuffer items;
    msgpack_packer pk;
    size_t n;
} damage_ctx;

static int damage_item(void *ctx, const char *problem)
{
    damage_ctx *c = ctx;
    bw_pack_str(&c->pk, problem);
    c->n++;
    return 0;
}

static int op_verify(bw_daemon *d, msgpack_sbuffer *out)
{
    verify_ctx v = { .n = 0 };
    damage_ctx dm = { .n = 0 };
    msgpack_sbuffer_init(&v.items);
    msgpack_packer_init(&v.pk, &v.items, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&dm.items);
    msgpack_packer_init(&dm.pk, &dm.items, msgpack_sbuffer_write);
    bw_err err;
    int64_t checked = -1, problems = -1;
    /* Saved totals lag memory by a few batches; write them all, then compare.
     * Damage is looked for first: totals read from a damaged file prove nothing. */
    if (bw_batch_save_all_totals(d))
        bw_err_set(&err, "writing the project totals to the ledger failed (see the log)");
    else if ((problems = bw_store_integrity(d->store, true, damage_item, &dm, &err)) == 0)
        checked = bw_store_verify(d->store, verify_diff, &v, &err);
    if (problems < 0 || (problems == 0 && checked < 0)) {
        msgpack_sbuffer_destroy(&v.items);
        msgpack_sbuffer_destroy(&dm.items);
        return fail(out, "%s", err.msg);
    }
    if (problems > 0)
        bw_log(BW_LOG_ERR, "verify: the ledger %s is damaged: integrity_check found %lld "
               "problem(s)", bw_store_path(d->store), (long long)problems);
    if (v.n)
        bw_log(BW_LOG_ERR, "verify: %zu project(s) whose totals differ from the ledger", v.n);
    reply r;
    reply_init(&r, out, 5);
    bw_pack_kv_bool(&r.pk, "consistent", problems == 0 && v.n == 0);
    bw_pack_kv_bool(&r.pk, "damaged", problems > 0);
    bw_pack_key(&r.pk, "damage");
    msgpack_pack_array(&r.pk, dm.n);
    msgpack_sbuffer_write(out, dm.items.data, dm.items.size);
    bw_pack_kv_int(&r.pk, "checked", checked < 0 ? 0 : checked);
    bw_pack_key(&r.pk, "differences");
    msgpack_pack_array(&r.pk, v.n);
    msgpack_sbuffer_write(out, v.items.data, v.items.size);
    msgpack_sbuffer_destroy(&v.items);
    msgpack_sbuffer_destroy(&dm.items);
    return 0;
}

static int op_reload(bw_daemon *d, msgpack_sbuffer *out)
{
    bw_err err;
    if (bw_daemon_reload(d, &err)) {
        if (d->engine == NULL)
            return fail(out, "reload failed and budgetwatchd is stopping: %s", err.msg);
        bw_log(BW_LOG_ERR, "reload failed, still running the old plan: %s", err.msg);
        return fail(out, "reload failed, still running the old plan: %s", err.msg);
    }
    reply r;
    reply_init(&r, out, 1);
    bw_pack_kv_uint(&r.pk, "projects", bw_plan_nprojects(bw_engine_plan(d->engine)));
    return 0;
}

static int op_adjust(bw_daemon *d, const bw_ctl_req *q, msgpack_sbuffer *out)
{
    int64_t ix = find_project(d, q->project, out);
    if (ix < 0)
        return -1;
    int64_t old = bw_engine_state(d->engine, (uint32_t)ix)->budget;
    bw_err err;
    if (bw_batch_begin(d))
        return fail(out, "the ledger cannot start a transaction; see the daemon's log");
    if (bw_engine_adjust(d->engine, (uint32_t)ix, q->budget, &err))
        return fail(out, "%s", err.msg);
    if (bw_store_adjust_insert(d->store, q->project, old, q->budget, q->reason,
                               bw_daemon_now(d), &err)) {
        bw_engine_adjust(d->engine, (uint32_t)ix, old, &err);
        return fail(out, "%s", err.msg);
    }
    bw_touch(d, (uint32_t)ix);
    char why[BW_TEXT_MAX * 4];      /* a reason may span lines: one log line still */
    bw_log(BW_LOG_NOTICE, "budget of %s adjusted from %" PRId64 " to %" PRId64 " fen: %s",
           q->project, old, q->budget, bw_utf8_escape(q->reason, strlen(q->reason), why, sizeof why));
    if (bw_batch_checkpoint(d))
        return commit_failed(out, "budget adjustment");
    reply r;
    reply_init(&r, out, 2);
    bw_status_row row;
    project_row(d, (uint32_t)ix, &row);
    bw_pack_key(&r.pk, "project");
    bw_status_row_pack(&r.pk, &row);
    bw_pack_kv_int(&r.pk, "old_budget", old);
    return 0;
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
    bool failed;                        /* a chunk's commit failed: the daemon is stopping */
    size_t framing;                     /* refused for their frames: never replayed */
    char framing_reason[BW_TEXT_MAX];   /* the first one's reason */
} replay_ctx;

/* The reasons drain_router and drain_sub (daemon.c) give a message with the
 * wrong number of frames; the rejects table has no class column, so the
 * reason is the mark. test_wire.py fails if the two drift apart. */
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

/* Ingests the chunk again, in one batch, and frees it. */
static void replay_chunk(bw_daemon *d, replay_ctx *r)
{
    bw_err err;
    if (bw_batch_begin(d) == 0) {
        for (size_t i = 0; i < r->n; i++) {
            bw_ack ack;
            /* The sender's key is checked again: a forged src stays rejected. */
            int st = bw_ingest_event(d, r->v[i].raw, r->v[i].len, r->v[i].peer, &ack, true);
            if (st == BW_ACK_ACCEPTED || st == BW_ACK_DUPLICATE) {
                r->accepted += st == BW_ACK_ACCEPTED;
                if (bw_store_reject_mark_replayed(d->store, r->v[i].id, bw_daemon_now(d), &err))
                    bw_log(BW_LOG_ERR, "%s", err.msg);
            } else {
                r->still++;
            }
        }
        if (bw_batch_checkpoint(d))
            r->failed = true;       /* nothing of this chunk was recorded */
        else
            r->replayed += r->n;
    } else {
        r->failed = true;
    }
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].raw);
        free(r->v[i].peer);
    }
}

static int op_replay(bw_daemon *d, msgpack_sbuffer *out)
{
    replay_ctx *rc = calloc(1, sizeof *rc);
    if (rc == NULL)
        return fail(out, "out of memory replaying the dead letters");
    bw_err err;
    int64_t after = 0;
    int failed;
    do {
        rc->n = 0;
        failed = bw_store_rejects_each(d->store, after, collect_reject, rc, &err);
        if (rc->n > 0)
            after = rc->v[rc->n - 1].id;
        replay_chunk(d, rc);
    } while (!failed && !rc->oom && !rc->failed && rc->n == REPLAY_CHUNK && !d->stopping);
    bool oom = rc->oom, uncommitted = rc->failed;
    size_t replayed = rc->replayed, accepted = rc->accepted, still = rc->still;
    size_t framing = rc->framing;
    char why[BW_TEXT_MAX + 256] = "";
    if (framing > 0)
        snprintf(why, sizeof why, "%zu dead letter(s) were refused for their framing (\"%s\"%s) "
                 "and stay dead letters: a message with the wrong number of frames is not an "
                 "event, whichever frame was kept; the sender must send each event again as "
                 "one frame", framing, rc->framing_reason, framing > 1 ? ", ..." : "");
    free(rc);
    if (uncommitted)
        return fail(out, "the ledger could not commit a chunk of the replay, so it was not "
                    "recorded (%zu dead letters replayed before it); budgetwatchd is stopping (its "
                    "log says why): replay again once the daemon is back", replayed);
    if (failed || oom)
        return fail(out, "%s (%zu dead letters replayed before it)",
                    failed ? err.msg : "out of memory replaying the dead letters", replayed);
    bw_log(BW_LOG_NOTICE, "replayed %zu dead letters: %zu accepted, %zu still rejected%s%s",
           replayed, accepted, still, framing ? "; " : "", why);
    reply r;
    reply_init(&r, out, framing > 0 ? 5 : 4);
    bw_pack_kv_uint(&r.pk, "replayed", replayed);
    bw_pack_kv_uint(&r.pk, "accepted", accepted);
    bw_pack_kv_uint(&r.pk, "still_rejected", still);
    bw_pack_kv_uint(&r.pk, "not_replayable", framing);
    if (framing > 0)
        bw_pack_kv_str(&r.pk, "not_replayable_reason", why);
    return 0;
}

static int op_advance(bw_daemon *d, const bw_ctl_req *q, msgpack_sbuffer *out)
{
    if (d->cfg.clock != BW_CLOCK_EVENT)
        return fail(out, "advance needs clock = event in [daemon]; this daemon follows the wall clock");
    if (q->to < bw_engine_now(d->engine))
        return fail(out, "to = %" PRId64 " is before the daemon's clock (%" PRId64 "); time only "
                    "moves forward", q->to, bw_engine_now(d->engine));
    uint64_t before = d->alert_seq;
    bw_advance(d, q->to);
    /* bw_advance commits along the way when many alerts fall due. */
    if (bw_batch_checkpoint(d) || d->exit_code != 0)
        return commit_failed(out, "alerts that fell due");
    reply r;
    reply_init(&r, out, 2);
    bw_pack_kv_int(&r.pk, "now", bw_engine_now(d->engine));
    bw_pack_kv_uint(&r.pk, "alerts", d->alert_seq - before);
    return 0;
}

static int op_ping(bw_daemon *d, msgpack_sbuffer *out)
{
    reply r;
    reply_init(&r, out, 3);
    bw_pack_kv_str(&r.pk, "version", BW_VERSION);
    bw_pack_kv_int(&r.pk, "now", bw_daemon_now(d));
    bw_pack_kv_str(&r.pk, "clock", d->cfg.clock == BW_CLOCK_EVENT ? "event" : "wall");
    return 0;
}

/* A supervisor reads and acknowledges; changing the plan, the budgets, the
 * dead letters or the clock takes an administrator. */
static bool allowed(bw_role role, bw_op op)
{
    if (role == BW_ROLE_ADMIN)
        return true;
    return role == BW_ROLE_SUPERVISOR && op != BW_OP_RELOAD && op != BW_OP_ADJUST &&
           op != BW_OP_REPLAY_REJECTED && op != BW_OP_ADVANCE;
}

static void deny(bw_daemon *d, bw_role role, const char *name, bw_op op, msgpack_sbuffer *out)
{
    char esc[BW_KEY_NAME_MAX * 4];
    bw_utf8_escape(name, strlen(name), esc, sizeof esc);
    d->stats.control_denied++;
    if (role == BW_ROLE_NONE) {
        bw_log(BW_LOG_WARNING, "refused \"%s\": the control key is no longer authorized", bw_op_name(op));
        fail(out, "your key is no longer authorized (removed from the administrator and supervisor "
             "keys); ask the daemon's administrator");
        return;
    }
    bw_log(BW_LOG_WARNING, "refused \"%s\" from supervisor key \"%s\": it takes an administrator key",
           bw_op_name(op), esc);
    fail(out, "%s takes an administrator key; \"%s\" is a supervisor key, which may ping, status, "
         "alerts, history, ack, stats and verify", bw_op_name(op), esc);
}

void bw_control_handle(bw_daemon *d, const char *req, size_t len, bw_role role, const char *name,
                       msgpack_sbuffer *out)
{
    bw_ctl_req q;
    char why[BW_WHY_MAX];
    if (bw_ctl_req_decode(req, len, &q, why, sizeof why)) {
        d->stats.control_errors++;
        fail(out, "bad control request: %s", why);
        return;
    }
    if (!allowed(role, (bw_op)q.op)) {
        deny(d, role, name, (bw_op)q.op, out);
        return;
    }
    switch ((bw_op)q.op) {
    case BW_OP_PING: op_ping(d, out); return;
    case BW_OP_STATUS: op_status(d, &q, out); return;
    case BW_OP_ALERTS: op_alerts(d, out); return;
    case BW_OP_HISTORY: op_history(d, &q, out); return;
    case BW_OP_ACK: op_ack(d, &q, out); return;
    case BW_OP_STATS: op_stats(d, out); return;
    case BW_OP_VERIFY: op_verify(d, out); return;
    case BW_OP_RELOAD: op_reload(d, out); return;
    case BW_OP_ADJUST: op_adjust(d, &q, out); return;
    case BW_OP_REPLAY_REJECTED: op_replay(d, out); return;
    case BW_OP_ADVANCE: op_advance(d, &q, out); return;
    case BW_OP_COUNT: break;
    }
    d->stats.control_errors++;
    fail(out, "unknown op");
}
