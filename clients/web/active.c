/* active: the mirror of the active alerts (active.h). */
#include "active.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bww_active_free(bww_active *a)
{
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

static void entry_of(const bww_alert *m, bww_active_entry *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->project, sizeof e->project, "%s", m->m.project);
    e->kind = m->m.kind;
    e->severity = m->m.severity;
    e->state = m->m.state;
    snprintf(e->band, sizeof e->band, "%s", m->band);
    snprintf(e->handling, sizeof e->handling, "%s", m->handling);
    e->seq = m->m.seq;
}

static int put(bww_active *a, const bww_alert *m)
{
    bool found;
    size_t i = find(a, m->m.project, m->m.kind, &found);
    if (m->m.state == BW_STATE_RESOLVED) {
        if (found) {
            memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof *a->v);
            a->n--;
        }
        return 0;
    }
    if (!found) {
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 256;
            bww_active_entry *v = realloc(a->v, cap * sizeof *v);
            if (v == NULL)
                return -1;
            a->v = v;
            a->cap = cap;
        }
        memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof *a->v);
        a->n++;
    }
    entry_of(m, &a->v[i]);
    return 0;
}

int bww_active_load(bww_active *a, const bww_alerts *s)
{
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
