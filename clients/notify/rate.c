/* rate: at most max sends in any window (see rate.h). */
#include "rate.h"

#include <stdlib.h>

int bwn_rate_init(bwn_rate *r, int max, int64_t window_ms)
{
    r->max = max > 0 ? max : 0;
    r->window_ms = window_ms;
    r->n = r->head = 0;
    r->t = NULL;
    if (r->max == 0)
        return 0;
    r->t = calloc((size_t)r->max, sizeof *r->t);
    return r->t ? 0 : -1;
}

void bwn_rate_free(bwn_rate *r)
{
    free(r->t);
    r->t = NULL;
    r->n = r->head = 0;
}

int64_t bwn_rate_next(const bwn_rate *r, int64_t now)
{
    if (r->max == 0 || r->n < r->max)
        return now;
    /* The oldest of the last max sends must have left the window (now - W, now]. */
    int64_t free_at = r->t[r->head] + r->window_ms;
    return free_at > now ? free_at : now;
}

void bwn_rate_take(bwn_rate *r, int64_t now)
{
    if (r->max == 0)
        return;
    if (r->n > 0) {
        int last = (r->head + r->n - 1) % r->max;
        if (now < r->t[last])
            now = r->t[last];
    }
    if (r->n < r->max) {
        r->t[(r->head + r->n) % r->max] = now;
        r->n++;
    } else {
        r->t[r->head] = now;
        r->head = (r->head + 1) % r->max;
    }
}
