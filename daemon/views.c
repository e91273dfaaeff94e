/* views: the shared views built from the application (views.h). The rows
 * borrow the plan's strings, so a view lives no longer than the loop turn
 * that built it. */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "log.h"

/* A history reply holds at most this many alerts. */
#define HISTORY_MAX 100000

/* ---- status ---- */

static void row_of(const bw_app *a, const bw_status *s, bw_view_row *r)
{
    r->band = bw_engine_band_name(a->engine, s->band);
    r->basis = s->basis;
    r->pace_lag_bp = s->pace_lag_bp;
    r->pace_shortfall = s->pace_shortfall;
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

void bw_views_project_row(const bw_app *a, uint32_t ix, bw_view_row *r)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_project_def *pd = bw_plan_project(p, ix);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    bw_status s;
    bw_engine_project_status(a->engine, ix, &s);
    row_of(a, &s, r);
    r->unit = u->code;
    r->unit_name = u->name;
    r->project = pd->code;
    r->project_name = pd->name;
}

static void unit_row(const bw_app *a, uint32_t u, bw_view_row *r)
{
    const bw_unit_def *ud = bw_plan_unit(bw_engine_plan(a->engine), u);
    bw_status s;
    bw_engine_unit_status(a->engine, u, &s);
    row_of(a, &s, r);
    r->unit = ud->code;
    r->unit_name = ud->name;
    r->project = r->project_name = "";
}

static int cmp_code(const void *x, const void *y, void *plan)
{
    const bw_plan *p = plan;
    return strcmp(bw_plan_project(p, *(const uint32_t *)x)->code,
                  bw_plan_project(p, *(const uint32_t *)y)->code);
}

/* The projects a status query asks for, in the order it asks for. */
static size_t select_projects(const bw_app *a, const char *sort, int64_t unit, uint32_t *ix)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    size_t n = bw_plan_nprojects(p);
    if (strcmp(sort, "shortfall") == 0)
        return bw_engine_rank(a->engine, BW_RANK_SHORTFALL, unit, ix, n);
    if (strcmp(sort, "lag") == 0)
        return bw_engine_rank(a->engine, BW_RANK_LAG, unit, ix, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (unit < 0 || bw_plan_project(p, i)->unit == (uint32_t)unit)
            ix[k++] = (uint32_t)i;
    if (strcmp(sort, "code") == 0)
        qsort_r(ix, k, sizeof *ix, cmp_code, (void *)p);
    return k;
}

static bool given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Which unit and project a query names: -1 for none; -1 returned on error. */
static int resolve(const bw_app *a, const bw_status_query *q, int64_t *unit, int64_t *project,
                   bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const char *sort = q->sort ? q->sort : "";
    *unit = *project = -1;
    if (sort[0] && strcmp(sort, "lag") && strcmp(sort, "shortfall") && strcmp(sort, "code"))
        return bw_err_set(err, "sort must be \"lag\", \"shortfall\" or \"code\", got \"%s\"", sort);
    if (given(q->unit) && (*unit = bw_plan_find_unit(p, q->unit, strlen(q->unit))) < 0)
        return bw_err_set(err, "unknown unit \"%s\"; `budgetwatch status` lists the units", q->unit);
    if (given(q->project) &&
        (*project = bw_plan_find_project(p, q->project, strlen(q->project))) < 0)
        return bw_err_set(err, "unknown project \"%s\"; `budgetwatch status` lists the projects",
                          q->project);
    if (*project >= 0)
        *unit = bw_plan_project(p, (size_t)*project)->unit;
    return 0;
}

int bw_views_status(const bw_app *a, const bw_status_query *q, bw_view_status *v, bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    int64_t unit, project;
    memset(v, 0, sizeof *v);
    if (resolve(a, q, &unit, &project, err))
        return -1;
    size_t np = bw_plan_nprojects(p), nu = unit >= 0 ? 1 : bw_plan_nunits(p);
    uint32_t *ix = malloc((np ? np : 1) * sizeof *ix);
    v->units = malloc((nu ? nu : 1) * sizeof *v->units);
    if (ix == NULL || v->units == NULL) {
        free(ix);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu projects", np);
    }
    size_t n = 1;
    if (project >= 0)
        ix[0] = (uint32_t)project;
    else
        n = select_projects(a, q->sort ? q->sort : "", unit, ix);
    if (q->limit && n > q->limit)
        n = q->limit;
    /* The rows go where the indices were: a row is larger than an index. */
    v->projects = malloc((n ? n : 1) * sizeof *v->projects);
    if (v->projects == NULL) {
        free(ix);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu projects", n);
    }
    for (size_t i = 0; i < n; i++)
        bw_views_project_row(a, ix[i], &v->projects[i]);
    free(ix);
    v->nprojects = n;
    for (size_t u = 0; u < nu; u++)
        unit_row(a, unit >= 0 ? (uint32_t)unit : (uint32_t)u, &v->units[u]);
    v->nunits = nu;
    bw_status tot;
    bw_engine_total_status(a->engine, &tot);
    row_of(a, &tot, &v->total);
    v->total.unit = v->total.unit_name = v->total.project = v->total.project_name = "";
    v->at = bw_engine_now(a->engine);
    v->pace_bp = tot.pace_bp;
    return 0;
}

/* ---- stats ---- */

void bw_views_stats(const bw_app *a, bw_view_stats *v)
{
    const bw_stats *s = &a->stats;
    bw_err err;
    memset(v, 0, sizeof *v);
    v->accepted = s->accepted;
    v->duplicates = s->duplicates;
    for (int i = 0; i < BW_REJ_COUNT; i++)
        v->rejected[v->nrejected++] = (bw_view_count){ bw_reject_class_name(i), s->rejected[i] };
    v->gaps = s->gaps;
    v->restarts = s->restarts;
    v->batches = s->batches;
    v->uptime = (int64_t)time(NULL) - a->started_at;
    v->events_in_ledger = bw_store_event_count(a->store, &err);
    v->dead_letters_pending = bw_store_rejects_pending(a->store, &err);
    v->dead_letters_dropped = s->dead_letters_dropped;
    v->integrity_checks = s->integrity_checks;
    v->integrity_failures = s->integrity_failures;
    v->projects = bw_plan_nprojects(bw_engine_plan(a->engine));
    v->alert_seq = bw_batch_committed_seq(a->batch);
    v->bad_frames = s->bad_frames;
    v->sources = bw_sources_count(a->sources);
    for (int i = 0; i < BW_DOM_COUNT; i++)
        v->auth_denied[v->nauth++] = (bw_view_count){
            bw_domain_name((bw_domain)i), a->auth ? bw_auth_denied(a->auth, (bw_domain)i) : 0 };
    v->control_denied = s->control_denied;
    v->control_requests = s->control_requests;
    v->control_errors = s->control_errors;
}

/* ---- alerts ---- */

void bw_views_alert_msg(const bw_app *a, const bw_alert *al, bw_alert_msg *m)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_project_def *pd = bw_plan_project(p, al->project);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    memset(m, 0, sizeof *m);
    m->kind = al->kind;
    m->state = al->state;
    m->severity = al->severity;
    snprintf(m->unit, sizeof m->unit, "%s", u->code);
    snprintf(m->unit_name, sizeof m->unit_name, "%s", u->name);
    snprintf(m->project, sizeof m->project, "%s", pd->code);
    snprintf(m->project_name, sizeof m->project_name, "%s", pd->name);
    m->budget = al->budget;
    m->paid = al->paid;
    m->shortfall = al->shortfall;
    m->rate_bp = al->rate_bp;
    m->planned_bp = al->planned_bp;
    m->lag_bp = al->lag_bp;
    m->pace_bp = al->pace_bp;
    if (al->kind == BW_KIND_MILESTONE && al->milestone.month >= 1 && al->milestone.month <= 12 &&
        al->milestone.day >= 1 && al->milestone.day <= 31)
        snprintf(m->milestone, sizeof m->milestone, "%02u-%02u", al->milestone.month % 100u,
                 al->milestone.day % 100u);
    m->at = al->at;
    m->since = al->since;
    snprintf(m->band, sizeof m->band, "%s", bw_engine_band_name(a->engine, al->band));
    m->basis = al->basis;
    m->handling = al->handling;
    m->pace_lag_bp = al->pace_lag_bp;
    m->pace_shortfall = al->pace_shortfall;
    /* The engine keeps no payment: its first message in the log has it. A
     * failure leaves the keys empty; the log still has the first message. */
    if (al->kind == BW_KIND_LARGE_PAYMENT) {
        bw_err err;
        (void)bw_store_alert_payment(a->store, pd->code, m, &err);
    }
}

/* What makes one active alert's message: 16 bytes, not a message's 1.4 KB. */
typedef struct active_ref {
    uint64_t seq;
    uint32_t project;
    uint8_t kind;
} active_ref;

typedef struct active_ctx {
    const bw_app *a;
    active_ref r[];
} active_ctx;

static void make_active(const void *ctx, size_t i, bw_alert_msg *out)
{
    const active_ctx *c = ctx;
    bw_alert al;
    /* The view lives within the loop turn that built it: still active. */
    (void)bw_engine_active(c->a->engine, c->r[i].project, (bw_alert_kind)c->r[i].kind, &al);
    bw_views_alert_msg(c->a, &al, out);
    out->seq = c->r[i].seq;
}

/* A slot that is not empty is an active alert (bw_engine_active). */
static bool active(const bw_app *a, size_t project, int kind)
{
    const bw_slot *s = &bw_engine_state(a->engine, (uint32_t)project)->slot[kind];
    return s->severity != BW_SEV_NONE && !s->quiet;   /* a quiet one was never published */
}

static size_t count_active(const bw_app *a)
{
    size_t n = 0, np = bw_plan_nprojects(bw_engine_plan(a->engine));
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < BW_PROJECT_KINDS; k++)
            n += active(a, i, k);
    return n;
}

/* Looks up, in chunks, the seq of each alert's last message in the log. */
static int active_seqs(bw_app *a, active_ctx *c, size_t n, bw_err *err)
{
    enum { CHUNK = 4096 };
    bw_alert_key keys[CHUNK];
    uint64_t seqs[CHUNK];
    const bw_plan *p = bw_engine_plan(a->engine);
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        for (size_t i = 0; i < m; i++)
            keys[i] = (bw_alert_key){ bw_plan_project(p, c->r[at + i].project)->code,
                                      bw_kind_name(c->r[at + i].kind) };
        if (bw_store_alerts_last_seq(a->store, keys, m, seqs, err))
            return -1;
        for (size_t i = 0; i < m; i++)
            c->r[at + i].seq = seqs[i];
    }
    return 0;
}

/* The active alerts, and for each the seq of its last message: a client
 * that read this snapshot, then follows the stream, tells by seq which
 * streamed messages the snapshot already holds (PROTOCOL.md §1.4). */
int bw_views_alerts(bw_app *a, bw_view_alerts *v, bw_err *err)
{
    size_t n = count_active(a), np = bw_plan_nprojects(bw_engine_plan(a->engine));
    memset(v, 0, sizeof *v);
    v->seq = bw_batch_published_seq(a->batch);
    active_ctx *c = malloc(sizeof *c + (n ? n : 1) * sizeof c->r[0]);
    if (c == NULL)
        return bw_err_set(err, "out of memory listing the %zu active alerts of %zu projects", n, np);
    c->a = a;
    size_t k = 0;
    for (size_t i = 0; i < np && k < n; i++)
        for (int kind = 0; kind < BW_PROJECT_KINDS; kind++)
            if (active(a, i, kind))
                c->r[k++] = (active_ref){ 0, (uint32_t)i, (uint8_t)kind };
    v->make = make_active;
    v->ctx = c;
    v->n = k;
    if (active_seqs(a, c, k, err)) {
        bw_view_alerts_free(v);
        return -1;
    }
    return 0;
}

typedef struct history_ctx {
    bw_view_alerts *v;
    bool oom;
} history_ctx;

static int history_row(void *ctx, const bw_alert_msg *m)
{
    history_ctx *h = ctx;
    h->oom = bw_view_alerts_add(h->v, m) != 0;
    return h->oom;
}

/* The store is asked for one more than wanted: if it comes, older alerts
 * match too, the view says `truncated`, and that extra oldest one is
 * dropped. So `truncated` means exactly "the log holds older matching
 * alerts than these", whichever of the limit or the cap left them out. */
int bw_views_history(bw_app *a, const bw_history_filter *f, bw_view_alerts *v, bw_err *err)
{
    uint32_t want = f->limit && f->limit < HISTORY_MAX ? f->limit : HISTORY_MAX;
    bw_history_filter g = *f;
    g.limit = want + 1;
    memset(v, 0, sizeof *v);
    history_ctx h = { v, false };
    if (bw_store_history_each(a->store, &g, history_row, &h, err) || h.oom) {
        bw_view_alerts_free(v);
        return h.oom ? bw_err_set(err, "out of memory reading the alert log") : -1;
    }
    v->truncated = v->n > want;
    if (v->truncated) {
        bw_view_alerts_drop_first(v);
    }
    return 0;
}

/* ---- verify ---- */

static int verify_diff(void *ctx, const char *code, int64_t sf, int64_t so, int64_t lf, int64_t lo)
{
    bw_view_verify *v = ctx;
    bw_view_difference *d = realloc(v->diff, (v->ndiff + 1) * sizeof *d);
    char *dup = strdup(code);
    if (d == NULL || dup == NULL) {
        free(dup);
        if (d)
            v->diff = d;
        return -1;
    }
    v->diff = d;
    v->diff[v->ndiff++] = (bw_view_difference){ dup, sf, so, lf, lo };
    return 0;
}

static int damage_item(void *ctx, const char *problem)
{
    bw_view_verify *v = ctx;
    char **d = realloc(v->damage, (v->ndamage + 1) * sizeof *d);
    char *dup = strdup(problem);
    if (d == NULL || dup == NULL) {
        free(dup);
        if (d)
            v->damage = d;
        return -1;
    }
    v->damage = d;
    v->damage[v->ndamage++] = dup;
    return 0;
}

/* Damage is looked for first: totals read from a damaged file prove nothing. */
int bw_views_verify(bw_app *a, bw_view_verify *v, bw_err *err)
{
    memset(v, 0, sizeof *v);
    int64_t problems = bw_store_integrity(a->store, true, damage_item, v, err);
    if (problems < 0)
        return -1;
    v->damaged = problems > 0;
    if (v->damaged) {
        bw_log(BW_LOG_ERR, "verify: the ledger %s is damaged: integrity_check found %lld "
               "problem(s)", bw_store_path(a->store), (long long)problems);
        return 0;
    }
    v->checked = bw_store_verify(a->store, verify_diff, v, err);
    if (v->checked < 0) {
        bw_view_verify_free(v);
        return -1;
    }
    if (v->ndiff)
        bw_log(BW_LOG_ERR, "verify: %zu project(s) whose totals differ from the ledger", v->ndiff);
    return 0;
}
