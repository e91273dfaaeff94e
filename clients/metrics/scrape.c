/* scrape: asks budgetwatchd for one scrape's figures (scrape.h). */
#include "scrape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One request and its decoded reply (valid until the next ask on u). */
static const msgpack_object *ask(bwc_client *c, const bw_ctl_req *q, msgpack_unpacked *u,
                                 bool *have, bwm_scrape *s)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_ctl_req_encode(q, &sb)) {
        msgpack_sbuffer_destroy(&sb);
        snprintf(s->error, sizeof s->error, "cannot encode the %s request", bw_op_name(q->op));
        return NULL;
    }
    const void *reply;
    size_t len;
    int rc = bwc_client_request(c, sb.data, sb.size, &reply, &len);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        snprintf(s->error, sizeof s->error, "%s: %s", bw_op_name(q->op), bwc_client_error(c));
        return NULL;
    }
    if (*have)
        msgpack_unpacked_destroy(u);
    char why[BW_WHY_MAX];
    const msgpack_object *m = bw_reply_unpack(reply, len, u, why, sizeof why);
    *have = true;
    bool ok = false;
    if (m == NULL || !bw_map_get_bool(m, "ok", &ok)) {
        snprintf(s->error, sizeof s->error, "%s: unreadable reply: %s", bw_op_name(q->op),
                 m ? "no 'ok' key" : why);
        return NULL;
    }
    if (!ok) {
        char err[400] = "(no reason given)";
        bw_map_get_str(m, "error", err, sizeof err);
        snprintf(s->error, sizeof s->error, "%s refused: %s", bw_op_name(q->op), err);
        return NULL;
    }
    return m;
}

static uint64_t u64(const msgpack_object *m, const char *key)
{
    uint64_t v = 0;
    bw_map_get_uint(m, key, &v);
    return v;
}

static int64_t i64(const msgpack_object *m, const char *key)
{
    int64_t v = 0;
    bw_map_get_int(m, key, &v);
    return v;
}

static size_t counts(const msgpack_object *m, const char *key, bwm_count *out, size_t max)
{
    const msgpack_object *o = bw_map_get(m, key);
    size_t n = 0;
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < o->via.map.size && n < max; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            continue;
        size_t len = kv->key.via.str.size < sizeof out[n].name ? kv->key.via.str.size
                                                                : sizeof out[n].name - 1;
        memcpy(out[n].name, kv->key.via.str.ptr, len);
        out[n].name[len] = '\0';
        out[n++].n = kv->val.via.u64;
    }
    return n;
}

static size_t uints(const msgpack_object *m, const char *key, uint64_t *out, size_t max)
{
    const msgpack_object *o = bw_map_get(m, key);
    size_t n = 0;
    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
        return 0;
    for (uint32_t i = 0; i < o->via.array.size && n < max; i++)
        if (o->via.array.ptr[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            out[n++] = o->via.array.ptr[i].via.u64;
    return n;
}

static void read_stats(const msgpack_object *m, bwm_stats *s)
{
    s->accepted = u64(m, "accepted");
    s->duplicates = u64(m, "duplicates");
    s->gaps = u64(m, "gaps");
    s->restarts = u64(m, "restarts");
    s->batches = u64(m, "batches");
    s->bad_frames = u64(m, "bad_frames");
    s->control_denied = u64(m, "control_denied");
    s->control_requests = u64(m, "control_requests");
    s->control_errors = u64(m, "control_errors");
    s->integrity_checks = u64(m, "integrity_checks");
    s->integrity_failures = u64(m, "integrity_failures");
    s->dead_letters_dropped = u64(m, "dead_letters_dropped");
    s->alert_seq = u64(m, "alert_seq");
    s->sources = u64(m, "sources");
    s->projects = u64(m, "projects");
    s->uptime = i64(m, "uptime");
    s->events_in_ledger = i64(m, "events_in_ledger");
    s->dead_letters_pending = i64(m, "dead_letters_pending");
    s->has_wal = bw_map_get_int(m, "wal_bytes", &s->wal_bytes);
    s->nrejected = counts(m, "rejected", s->rejected, 16);
    s->nauth = counts(m, "auth_denied", s->auth_denied, 8);
    size_t nb = uints(m, "commit_latency_buckets", s->latency_bounds_us, 16);
    size_t nc = uints(m, "commit_latency_counts", s->latency_counts, 16);
    s->nlatency = nb < nc ? nb : nc;
    s->latency_sum_us = u64(m, "commit_latency_sum_us");
    s->latency_count = u64(m, "commit_latency_count");
}

static int read_rows(const msgpack_object *m, const char *key, bw_status_row **out, size_t *n,
                     bwm_scrape *s)
{
    const msgpack_object *a = bw_map_get(m, key);
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(s->error, sizeof s->error, "status: no '%s' rows", key);
        return -1;
    }
    bw_status_row *r = realloc(*out, (*n + a->via.array.size + 1) * sizeof *r);
    if (r == NULL) {
        snprintf(s->error, sizeof s->error, "out of memory reading %u status rows",
                 a->via.array.size);
        return -1;
    }
    *out = r;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        char why[BW_WHY_MAX];
        if (bw_status_row_from_object(&a->via.array.ptr[i], &r[*n], why, sizeof why)) {
            snprintf(s->error, sizeof s->error, "status: an unreadable row: %s", why);
            return -1;
        }
        (*n)++;
    }
    return 0;
}

static int read_alerts(const msgpack_object *m, bwm_scrape *s)
{
    const msgpack_object *a = bw_map_get(m, "alerts");
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(s->error, sizeof s->error, "alerts: no 'alerts' list");
        return -1;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        bwm_alert_count c;
        memset(&c, 0, sizeof c);
        const msgpack_object *o = &a->via.array.ptr[i];
        bw_map_get_str(o, "kind", c.kind, sizeof c.kind);
        bw_map_get_str(o, "severity", c.severity, sizeof c.severity);
        bw_map_get_str(o, "state", c.state, sizeof c.state);
        if (!bw_map_get_str(o, "band", c.band, sizeof c.band))
            c.band[0] = '\0';
        if (!bw_map_get_str(o, "handling", c.handling, sizeof c.handling))
            c.handling[0] = '\0';
        bwm_alert_tally(s->alerts, &n, sizeof s->alerts / sizeof s->alerts[0], &c, 1);
    }
    s->in.alerts = s->alerts;
    s->in.nalerts = n;
    return 0;
}

/* stats' own count of the active alerts (a daemon since issue 19): false
 * when it has none, and the alerts are counted from the `alerts` op. */
static bool stats_alerts(const msgpack_object *m, bwm_scrape *s)
{
    const msgpack_object *a = bw_map_get(m, "alerts_active");
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
        return false;
    size_t n = 0, max = sizeof s->alerts / sizeof s->alerts[0];
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *o = &a->via.array.ptr[i];
        bwm_alert_count c;
        memset(&c, 0, sizeof c);
        if (!bw_map_get_str(o, "kind", c.kind, sizeof c.kind) ||
            !bw_map_get_str(o, "severity", c.severity, sizeof c.severity) ||
            !bw_map_get_str(o, "state", c.state, sizeof c.state) || !bw_map_get_uint(o, "n", &c.n))
            continue;
        /* band and handling: a daemon since issues 16 and 19 (absent: ""). */
        if (!bw_map_get_str(o, "band", c.band, sizeof c.band))
            c.band[0] = '\0';
        if (!bw_map_get_str(o, "handling", c.handling, sizeof c.handling))
            c.handling[0] = '\0';
        /* Tallied, not copied: one series per label set whatever the
         * daemon's grouping. */
        bwm_alert_tally(s->alerts, &n, max, &c, c.n);
    }
    s->in.alerts = s->alerts;
    s->in.nalerts = n;
    return true;
}

/* The projects with series of their own: every one up to the cap, or the
 * allowlist's (each asked for by code; an unknown code is left out). */
static int read_projects(bwc_client *c, const bwm_select *sel, bwm_scrape *s, msgpack_unpacked *u,
                         bool *have)
{
    size_t n = 0;
    if (sel->per_project) {
        bw_ctl_req q = { .op = BW_OP_STATUS, .limit = (uint32_t)(sel->cap + 1) };
        const msgpack_object *m = ask(c, &q, u, have, s);
        if (m == NULL || read_rows(m, "projects", &s->projects, &n, s))
            return -1;
    } else {
        for (size_t i = 0; i < sel->nallow && n <= sel->cap; i++) {
            bw_ctl_req q = { .op = BW_OP_STATUS };
            snprintf(q.project, sizeof q.project, "%s", sel->allow[i]);
            const msgpack_object *m = ask(c, &q, u, have, s);
            if (m == NULL) {
                s->error[0] = '\0';     /* a code the plan no longer has: not this scrape's failure */
                continue;
            }
            if (read_rows(m, "projects", &s->projects, &n, s))
                return -1;
        }
    }
    s->in.capped = n > sel->cap;
    s->in.nprojects = n > sel->cap ? sel->cap : n;
    s->in.projects = s->projects;
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

void bwm_scrape_run(bwc_client *c, const bwm_select *sel, bwm_scrape *s)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(s, 0, sizeof *s);
    s->in.cap = sel->cap;
    s->in.per_project = sel->per_project || sel->nallow > 0;
    msgpack_unpacked u;
    bool have = false;
    bw_ctl_req q = { .op = BW_OP_STATS };
    const msgpack_object *m = ask(c, &q, &u, &have, s);
    if (m == NULL)
        goto out;
    read_stats(m, &s->in.stats);
    bool counted = stats_alerts(m, s);
    /* limit 1: the units and the total are the department's whatever the limit. */
    q = (bw_ctl_req){ .op = BW_OP_STATUS, .limit = 1 };
    if ((m = ask(c, &q, &u, &have, s)) == NULL)
        goto out;
    int64_t pace = 0;
    char why[BW_WHY_MAX];
    size_t nu = 0;
    if (read_rows(m, "units", &s->units, &nu, s))
        goto out;
    if (bw_status_row_from_object(bw_map_get(m, "total"), &s->in.total, why, sizeof why)) {
        snprintf(s->error, sizeof s->error, "status: an unreadable total: %s", why);
        goto out;
    }
    bw_map_get_int(m, "pace_bp", &pace);
    s->in.pace_bp = (int32_t)pace;
    s->in.units = s->units;
    s->in.nunits = nu;
    q = (bw_ctl_req){ .op = BW_OP_ALERTS };
    if (!counted && ((m = ask(c, &q, &u, &have, s)) == NULL || read_alerts(m, s)))
        goto out;
    if (s->in.per_project && read_projects(c, sel, s, &u, &have))
        goto out;
    s->in.up = true;
out:
    if (have)
        msgpack_unpacked_destroy(&u);
    s->in.scrape_seconds = seconds_since(&t0);
}

void bwm_scrape_free(bwm_scrape *s)
{
    free(s->units);
    free(s->projects);
    s->units = s->projects = NULL;
}
