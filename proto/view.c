/* view: encoders of the shared views into control replies (view.h). */
#include "view.h"

#include <stdlib.h>
#include <string.h>

void bw_mapw_begin(bw_mapw *m, msgpack_sbuffer *sb)
{
    static const char map32[5] = { (char)0xdf, 0, 0, 0, 0 };
    m->sb = sb;
    m->at = sb->size;
    m->n = 0;
    msgpack_packer_init(&m->pk, sb, msgpack_sbuffer_write);
    msgpack_sbuffer_write(sb, map32, sizeof map32);
}

msgpack_packer *bw_mapw_key(bw_mapw *m, const char *key)
{
    m->n++;
    bw_pack_str(&m->pk, key);
    return &m->pk;
}

void bw_mapw_str(bw_mapw *m, const char *key, const char *val) { bw_pack_str(bw_mapw_key(m, key), val); }
void bw_mapw_int(bw_mapw *m, const char *key, int64_t val) { msgpack_pack_int64(bw_mapw_key(m, key), val); }
void bw_mapw_uint(bw_mapw *m, const char *key, uint64_t val) { msgpack_pack_uint64(bw_mapw_key(m, key), val); }

void bw_mapw_bool(bw_mapw *m, const char *key, bool val)
{
    msgpack_packer *pk = bw_mapw_key(m, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void bw_mapw_end(bw_mapw *m)
{
    unsigned char *h = (unsigned char *)m->sb->data + m->at + 1;
    h[0] = (unsigned char)(m->n >> 24);
    h[1] = (unsigned char)(m->n >> 16);
    h[2] = (unsigned char)(m->n >> 8);
    h[3] = (unsigned char)m->n;
}

void bw_view_status_free(bw_view_status *v)
{
    free(v->projects);
    free(v->units);
    v->projects = v->units = NULL;
    v->nprojects = v->nunits = 0;
}

void bw_view_alerts_free(bw_view_alerts *v)
{
    msgpack_sbuffer_destroy(&v->packed);
    free(v->off);
    free(v->ctx);
    memset(v, 0, sizeof *v);
}

void bw_view_alerts_get(const bw_view_alerts *v, size_t i, bw_alert_msg *out)
{
    char why[BW_WHY_MAX];
    if (v->make != NULL)
        v->make(v->ctx, i, out);
    else if (bw_alert_decode(v->packed.data + v->off[i], v->off[i + 1] - v->off[i], out, why,
                             sizeof why))
        memset(out, 0, sizeof *out);    /* cannot happen: packed by bw_alert_encode */
}

void bw_view_verify_free(bw_view_verify *v)
{
    for (size_t i = 0; i < v->ndamage; i++)
        free(v->damage[i]);
    for (size_t i = 0; i < v->ndiff; i++)
        free((char *)v->diff[i].project);
    free(v->damage);
    free(v->diff);
    v->damage = NULL;
    v->diff = NULL;
    v->ndamage = v->ndiff = 0;
}

int bw_view_alerts_add(bw_view_alerts *v, const bw_alert_msg *m)
{
    if (v->n + 2 > v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        size_t *off = realloc(v->off, cap * sizeof *off);
        if (off == NULL)
            return -1;
        v->off = off;
        v->cap = cap;
    }
    msgpack_sbuffer one;
    msgpack_sbuffer_init(&one);
    int rc = bw_alert_encode(m, &one);
    v->off[v->n] = v->packed.size;
    if (rc == 0 && msgpack_sbuffer_write(&v->packed, one.data, one.size) != 0)
        rc = -1;
    msgpack_sbuffer_destroy(&one);
    if (rc)
        return -1;
    v->off[++v->n] = v->packed.size;
    return 0;
}

void bw_view_alerts_drop_first(bw_view_alerts *v)
{
    if (v->n == 0)
        return;
    size_t cut = v->off[1];
    memmove(v->packed.data, v->packed.data + cut, v->packed.size - cut);
    v->packed.size -= cut;
    for (size_t i = 0; i < v->n; i++)
        v->off[i] = v->off[i + 1] - cut;
    v->n--;
}

void bw_view_alerts_drop_last(bw_view_alerts *v)
{
    if (v->n == 0)
        return;
    v->n--;
    v->packed.size = v->off[v->n];
}

void bw_view_row_pack(msgpack_sbuffer *sb, const bw_view_row *r)
{
    bw_mapw m;
    bw_mapw_begin(&m, sb);
    bw_mapw_str(&m, "unit", r->unit);
    bw_mapw_str(&m, "unit_name", r->unit_name);
    bw_mapw_str(&m, "project", r->project);
    bw_mapw_str(&m, "project_name", r->project_name);
    bw_mapw_int(&m, "budget", r->budget);
    bw_mapw_int(&m, "paid", r->paid);
    bw_mapw_int(&m, "paid_fiscal", r->paid_fiscal);
    bw_mapw_int(&m, "paid_other", r->paid_other);
    bw_mapw_int(&m, "shortfall", r->shortfall);
    bw_mapw_int(&m, "rate_bp", r->rate_bp);
    bw_mapw_int(&m, "planned_bp", r->planned_bp);
    bw_mapw_int(&m, "lag_bp", r->lag_bp);
    bw_mapw_int(&m, "pace_bp", r->pace_bp);
    bw_mapw_str(&m, "severity", bw_severity_name(r->severity));
    bw_mapw_uint(&m, "firing", r->firing);
    bw_mapw_uint(&m, "projects", r->projects);
    bw_mapw_int(&m, "plan_budget", r->plan_budget);
    bw_mapw_str(&m, "band", r->band ? r->band : "");
    bw_mapw_str(&m, "basis", bw_basis_name(r->basis));
    bw_mapw_int(&m, "pace_lag_bp", r->pace_lag_bp);
    bw_mapw_int(&m, "pace_shortfall", r->pace_shortfall);
    bw_mapw_end(&m);
}

static void rows_put(bw_mapw *m, const char *key, const bw_view_row *r, size_t n)
{
    msgpack_pack_array(bw_mapw_key(m, key), n);
    for (size_t i = 0; i < n; i++)
        bw_view_row_pack(m->sb, &r[i]);
}

void bw_view_status_put(bw_mapw *m, const bw_view_status *v)
{
    bw_mapw_int(m, "at", v->at);
    bw_mapw_int(m, "pace_bp", v->pace_bp);
    rows_put(m, "projects", v->projects, v->nprojects);
    rows_put(m, "units", v->units, v->nunits);
    bw_mapw_key(m, "total");
    bw_view_row_pack(m->sb, &v->total);
    bw_mapw_uint(m, "matched", v->matched);
}

static void counts_put(bw_mapw *m, const char *key, const bw_view_count *c, size_t n)
{
    bw_mapw inner;
    bw_mapw_key(m, key);
    bw_mapw_begin(&inner, m->sb);
    for (size_t i = 0; i < n; i++)
        bw_mapw_uint(&inner, c[i].name, c[i].n);
    bw_mapw_end(&inner);
}

void bw_view_stats_put(bw_mapw *m, const bw_view_stats *v)
{
    bw_mapw_uint(m, "accepted", v->accepted);
    bw_mapw_uint(m, "duplicates", v->duplicates);
    counts_put(m, "rejected", v->rejected, v->nrejected);
    bw_mapw_uint(m, "gaps", v->gaps);
    bw_mapw_uint(m, "restarts", v->restarts);
    bw_mapw_uint(m, "batches", v->batches);
    bw_mapw_int(m, "uptime", v->uptime);
    bw_mapw_int(m, "events_in_ledger", v->events_in_ledger);
    bw_mapw_int(m, "dead_letters_pending", v->dead_letters_pending);
    bw_mapw_uint(m, "dead_letters_dropped", v->dead_letters_dropped);
    bw_mapw_uint(m, "integrity_checks", v->integrity_checks);
    bw_mapw_uint(m, "integrity_failures", v->integrity_failures);
    bw_mapw_uint(m, "projects", v->projects);
    bw_mapw_uint(m, "alert_seq", v->alert_seq);
    bw_mapw_uint(m, "bad_frames", v->bad_frames);
    bw_mapw_uint(m, "sources", v->sources);
    counts_put(m, "auth_denied", v->auth_denied, v->nauth);
    bw_mapw_uint(m, "control_denied", v->control_denied);
    bw_mapw_uint(m, "control_requests", v->control_requests);
    bw_mapw_uint(m, "control_errors", v->control_errors);
    msgpack_packer *pk = bw_mapw_key(m, "commit_latency_buckets");
    msgpack_pack_array(pk, v->nlatency);
    for (size_t i = 0; i < v->nlatency; i++)
        msgpack_pack_uint64(pk, v->latency_bounds[i]);
    pk = bw_mapw_key(m, "commit_latency_counts");
    msgpack_pack_array(pk, v->nlatency);
    for (size_t i = 0; i < v->nlatency; i++)
        msgpack_pack_uint64(pk, v->latency_counts[i]);
    bw_mapw_uint(m, "commit_latency_sum_us", v->latency_sum_us);
    bw_mapw_uint(m, "commit_latency_count", v->latency_count);
    if (v->wal_bytes >= 0)
        bw_mapw_int(m, "wal_bytes", v->wal_bytes);
    pk = bw_mapw_key(m, "alerts_active");
    msgpack_pack_array(pk, v->nactive);
    for (size_t i = 0; i < v->nactive; i++) {
        bw_mapw e;
        bw_mapw_begin(&e, m->sb);
        bw_mapw_str(&e, "kind", v->active[i].kind);
        bw_mapw_str(&e, "severity", v->active[i].severity);
        bw_mapw_str(&e, "state", v->active[i].state);
        bw_mapw_uint(&e, "n", v->active[i].n);
        if (v->active[i].band != NULL)
            bw_mapw_str(&e, "band", v->active[i].band);
        if (v->active[i].handling != NULL)
            bw_mapw_str(&e, "handling", v->active[i].handling);
        bw_mapw_end(&e);
    }
}

static void alerts_list(bw_mapw *m, const bw_view_alerts *v)
{
    msgpack_packer *pk = bw_mapw_key(m, "alerts");
    msgpack_pack_array(pk, v->n);
    if (v->make == NULL) {      /* already packed */
        if (v->n > 0)
            msgpack_sbuffer_write(m->sb, v->packed.data, v->packed.size);
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        bw_alert_msg a;
        bw_view_alerts_get(v, i, &a);
        bw_alert_pack(pk, &a);
    }
}

void bw_view_alerts_put(bw_mapw *m, const bw_view_alerts *v)
{
    bw_mapw_uint(m, "seq", v->seq);
    alerts_list(m, v);
}

void bw_view_history_put(bw_mapw *m, const bw_view_alerts *v)
{
    bw_mapw_bool(m, "truncated", v->truncated);
    alerts_list(m, v);
}

void bw_view_verify_put(bw_mapw *m, const bw_view_verify *v)
{
    bw_mapw_bool(m, "consistent", !v->damaged && v->ndiff == 0 && v->daily_differences == 0);
    bw_mapw_int(m, "daily_differences", v->daily_differences);
    bw_mapw_bool(m, "damaged", v->damaged);
    msgpack_packer *pk = bw_mapw_key(m, "damage");
    msgpack_pack_array(pk, v->ndamage);
    for (size_t i = 0; i < v->ndamage; i++)
        bw_pack_str(pk, v->damage[i]);
    bw_mapw_int(m, "checked", v->checked);
    pk = bw_mapw_key(m, "differences");
    msgpack_pack_array(pk, v->ndiff);
    for (size_t i = 0; i < v->ndiff; i++) {
        bw_mapw d;
        bw_mapw_begin(&d, m->sb);
        bw_mapw_str(&d, "project", v->diff[i].project);
        bw_mapw_int(&d, "saved_fiscal", v->diff[i].saved_fiscal);
        bw_mapw_int(&d, "saved_other", v->diff[i].saved_other);
        bw_mapw_int(&d, "ledger_fiscal", v->diff[i].ledger_fiscal);
        bw_mapw_int(&d, "ledger_other", v->diff[i].ledger_other);
        bw_mapw_end(&d);
    }
}

/* ---- series ---- */

void bw_view_series_free(bw_view_series *v)
{
    free(v->points);
    free(v->plan);
    v->points = v->plan = NULL;
    v->npoints = v->nplan = 0;
}

static void points_put(bw_mapw *m, const char *key, const bw_view_point *p, size_t n)
{
    msgpack_packer *pk = bw_mapw_key(m, key);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_array(pk, 2);
        msgpack_pack_int64(pk, p[i].t);
        msgpack_pack_int64(pk, p[i].fen);
    }
}

void bw_view_series_put(bw_mapw *m, const bw_view_series *v)
{
    bw_mapw_int(m, "budget", v->budget);
    bw_mapw_int(m, "year_start", v->year_start);
    bw_mapw_int(m, "year_end", v->year_end);
    bw_mapw_int(m, "now", v->now);
    points_put(m, "points", v->points, v->npoints);
    points_put(m, "plan", v->plan, v->nplan);
}
void bw_view_payments_free(bw_view_payments *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

void bw_view_adjustments_free(bw_view_adjustments *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

void bw_view_payments_put(bw_mapw *m, const bw_view_payments *v)
{
    msgpack_pack_array(bw_mapw_key(m, "payments"), v->n);
    for (size_t i = 0; i < v->n; i++) {
        const bw_view_payment *p = &v->v[i];
        bw_mapw e;
        bw_mapw_begin(&e, m->sb);
        bw_mapw_int(&e, "row", p->row);
        bw_mapw_int(&e, "ts", p->ev.ts);
        bw_mapw_str(&e, "src", p->ev.src);
        bw_mapw_str(&e, "id", p->ev.id);
        bw_mapw_str(&e, "type", bw_event_type_name(p->ev.type));
        bw_mapw_int(&e, "amount", p->ev.amount);
        bw_mapw_str(&e, "fund", bw_fund_name(p->ev.fund));
        bw_mapw_str(&e, "ref", p->ev.ref);
        bw_mapw_int(&e, "received_at", p->received_at);
        bw_mapw_end(&e);
    }
    bw_mapw_int(m, "total", v->total);
    if (v->next > 0)
        bw_mapw_int(m, "next", v->next);
}

void bw_view_adjustments_put(bw_mapw *m, const bw_view_adjustments *v)
{
    msgpack_pack_array(bw_mapw_key(m, "adjustments"), v->n);
    for (size_t i = 0; i < v->n; i++) {
        bw_mapw e;
        bw_mapw_begin(&e, m->sb);
        bw_mapw_int(&e, "old_budget", v->v[i].old_budget);
        bw_mapw_int(&e, "new_budget", v->v[i].new_budget);
        bw_mapw_str(&e, "reason", v->v[i].reason);
        bw_mapw_int(&e, "at", v->v[i].at);
        bw_mapw_end(&e);
    }
}
