/* active: the mirror of the active alerts (active.h). */
#include "active.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bww_active_free(bww_active *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i].msg);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static int cmp_key(const char *project, int kind, const bww_active_entry *e)
{
    int c = strcmp(project, e->project);
    return c ? c : (kind > e->kind) - (kind < e->kind);
}

/* The index of (project, kind), or where it would go (*found false). */
static size_t find(const bww_active *a, const char *project, int kind, bool *found)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(project, kind, &a->v[mid]);
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

/* Fills e from m; its packed message is new (the old one is the caller's to free). */
static int entry_of(const bww_alert *m, bww_active_entry *e)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_alert_encode(&m->m, &sb) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    memset(e, 0, sizeof *e);
    e->msg = sb.data;       /* the sbuffer's malloc'd bytes, now the entry's */
    e->len = sb.size;
    snprintf(e->project, sizeof e->project, "%s", m->m.project);
    e->kind = m->m.kind;
    e->severity = m->m.severity;
    e->state = m->m.state;
    snprintf(e->band, sizeof e->band, "%s", m->band);
    snprintf(e->handling, sizeof e->handling, "%s", m->handling);
    e->seq = m->m.seq;
    return 0;
}

static int put(bww_active *a, const bww_alert *m)
{
    bool found;
    size_t i = find(a, m->m.project, m->m.kind, &found);
    if (m->m.state == BW_STATE_RESOLVED) {
        if (found) {
            free(a->v[i].msg);
            memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof *a->v);
            a->n--;
        }
        return 0;
    }
    bww_active_entry e;
    if (entry_of(m, &e))
        return -1;
    if (!found) {
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 256;
            bww_active_entry *v = realloc(a->v, cap * sizeof *v);
            if (v == NULL) {
                free(e.msg);
                return -1;
            }
            a->v = v;
            a->cap = cap;
        }
        memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof *a->v);
        a->n++;
    } else {
        free(a->v[i].msg);
    }
    a->v[i] = e;
    return 0;
}

int bww_active_load(bww_active *a, const bww_alerts *s)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i].msg);
    a->n = 0;
    a->synced = false;
    for (size_t i = 0; i < s->n; i++)
        if (bw_kind_is_project(s->v[i].m.kind) && put(a, &s->v[i]))
            return -1;
    a->seq = s->seq;
    a->synced = true;
    return 0;
}

int bww_active_apply(bww_active *a, const bww_alert *m)
{
    if (!a->synced)
        return 1;
    if (m->m.seq <= a->seq)
        return 0;
    if (m->m.seq != a->seq + 1) {
        a->synced = false;
        return 1;
    }
    a->seq = m->m.seq;
    /* One-time notices (source_gap) and daemon kinds are not project alerts. */
    if (!bw_kind_is_project(m->m.kind))
        return 0;
    return put(a, m);
}

bool bww_active_behind(const bww_active *a, uint64_t hb_seq)
{
    return !a->synced || hb_seq > a->seq;
}

void bww_active_count(const bww_active *a, bww_active_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < a->n; i++) {
        const bww_active_entry *e = &a->v[i];
        if (e->severity < 3)
            c->severity[e->severity]++;
        bool handled = e->state == BW_STATE_ACKNOWLEDGED ||
                       (e->handling[0] && strcmp(e->handling, "unhandled") != 0);
        if (handled)
            c->handled++;
        else
            c->unhandled++;
        /* An acknowledgement from before handling existed reads as 已督办 (as in the daemon). */
        int h = e->handling[0] ? bw_handling_parse(e->handling) : -1;
        if (h < 0)
            h = e->state == BW_STATE_ACKNOWLEDGED ? BW_HANDLING_FOLLOWED_UP : BW_HANDLING_UNHANDLED;
        c->handling[h]++;
        if (e->band[0] == '\0')
            continue;
        size_t k = 0;
        while (k < c->nbands && strcmp(c->bands[k].band, e->band) != 0)
            k++;
        if (k == c->nbands && c->nbands < sizeof c->bands / sizeof c->bands[0]) {
            snprintf(c->bands[k].band, sizeof c->bands[k].band, "%s", e->band);
            c->nbands++;
        }
        if (k < c->nbands)
            c->bands[k].n++;
    }
}

static int by_seq(const void *x, const void *y)
{
    const bww_active_entry *const *a = x, *const *b = y;
    return ((*a)->seq > (*b)->seq) - ((*a)->seq < (*b)->seq);
}

int bww_active_newest(const bww_active *a, size_t n, bww_alerts *out)
{
    memset(out, 0, sizeof *out);
    out->seq = a->seq;
    const bww_active_entry **ix = malloc((a->n ? a->n : 1) * sizeof *ix);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (ix == NULL || out->v == NULL) {
        free(ix);
        bww_alerts_free(out);
        return -1;
    }
    for (size_t i = 0; i < a->n; i++)
        ix[i] = &a->v[i];
    qsort(ix, a->n, sizeof *ix, by_seq);
    size_t from = a->n > n ? a->n - n : 0;
    for (size_t i = from; i < a->n; i++) {
        bww_alert *x = &out->v[out->n];
        char why[BW_WHY_MAX];
        if (bw_alert_decode(ix[i]->msg, ix[i]->len, &x->m, why, sizeof why) != 0)
            continue;   /* cannot happen: packed by bw_alert_encode */
        snprintf(x->band, sizeof x->band, "%s", ix[i]->band);
        snprintf(x->handling, sizeof x->handling, "%s", ix[i]->handling);
        out->n++;
    }
    free(ix);
    return 0;
}
