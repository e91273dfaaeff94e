/* route: matching, grouping and mute windows (see route.h). */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool in(const bwn_words *l, const char *w)
{
    if (l->n == 0)
        return true;
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->w[i], w))
            return true;
    return false;
}

bool bwn_route_match(const bwn_route *r, const bwn_alert *a)
{
    return strncmp(a->unit, r->unit, strlen(r->unit)) == 0 && in(&r->projects, a->project) &&
           in(&r->kinds, a->kind) && in(&r->severities, a->severity) && in(&r->bands, a->band);
}

static const char *field(const bwn_alert *a, const char *name)
{
    if (!strcmp(name, "unit")) return a->unit;
    if (!strcmp(name, "project")) return a->project;
    if (!strcmp(name, "kind")) return a->kind;
    if (!strcmp(name, "severity")) return a->severity;
    if (!strcmp(name, "band")) return a->band;
    return "";
}

void bwn_route_group_key(const bwn_route *r, const bwn_alert *a, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->group_by.n && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s=%s", i ? "," : "", r->group_by.w[i],
                         field(a, r->group_by.w[i]));
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void bwn_route_group_label(const bwn_route *r, const bwn_alert *a, char *buf, size_t len)
{
    for (int i = 0; i < r->group_by.n; i++) {
        if (!strcmp(r->group_by.w[i], "unit") && a->unit[0]) {
            snprintf(buf, len, "%s", a->unit_name[0] ? a->unit_name : a->unit);
            return;
        }
        if (!strcmp(r->group_by.w[i], "project") && a->project[0]) {
            snprintf(buf, len, "%s", a->project_name[0] ? a->project_name : a->project);
            return;
        }
    }
    snprintf(buf, len, "全部");
}

static int cmp_day(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

static bool holiday(int32_t day, const int32_t *h, int n)
{
    return n > 0 && bsearch(&day, h, (size_t)n, sizeof *h, cmp_day) != NULL;
}

/* Whether local minute m (minutes since 1970-01-01 local) is muted. */
static bool muted(const bwn_route *r, int64_t m, const int32_t *h, int nh)
{
    int64_t day = m >= 0 ? m / 1440 : -((-m + 1439) / 1440);
    int min = (int)(m - day * 1440);
    unsigned dow = (unsigned)(((day % 7) + 7 + 4) % 7);    /* 1970-01-01 was a Thursday */
    if (r->mute_holidays && holiday((int32_t)day, h, nh))
        return true;
    for (int i = 0; i < r->nmute; i++) {
        const bwn_mute *w = &r->mute[i];
        bool inside = w->from <= w->to ? min >= w->from && min < w->to
                                       : min >= w->from || min < w->to;
        /* Over midnight, the early part belongs to the day the window began. */
        unsigned d = w->from > w->to && min < w->to ? (dow + 6) % 7 : dow;
        if (inside && (w->days == 0 || (w->days >> d & 1u)))
            return true;
    }
    return false;
}

int64_t bwn_route_unmuted_at(const bwn_route *r, const char *severity, int64_t now_ms,
                             int64_t off, const int32_t *h, int nh)
{
    if (!strcmp(severity, "critical") || (r->nmute == 0 && !r->mute_holidays))
        return now_ms;
    int64_t local_ms = now_ms + off * 1000;
    int64_t m = local_ms >= 0 ? local_ms / 60000 : -((-local_ms + 59999) / 60000);
    if (!muted(r, m, h, nh))
        return now_ms;
    /* Walk minute by minute to the first free one: at most a few weeks of
     * holidays, 40,320 minutes a four-week cap, a bounded loop. */
    for (int64_t i = 1; i <= 60 * 24 * 28; i++)
        if (!muted(r, m + i, h, nh))
            return (m + i) * 60000 - off * 1000;
    return now_ms;      /* muted around the clock: a configuration that mutes everything is not obeyed */
}

int64_t bwn_route_group_due(const bwn_route *r, int64_t first_ms, int64_t last_ms)
{
    int64_t due = first_ms + r->group_wait_ms;
    if (last_ms > 0 && last_ms + r->group_interval_ms > due)
        due = last_ms + r->group_interval_ms;
    return due;
}
