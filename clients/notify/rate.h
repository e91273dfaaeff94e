/* rate: a receiver's send limit, "at most max sends in any window", as the
 * robots count it (WeCom and DingTalk: 20 a minute). Pure: time comes in as
 * Unix milliseconds; nothing here reads a clock.
 *
 * It is the token bucket of the issue in its strict form: a ring of the last
 * `max` send instants, so that no window of `window_ms` ever holds more than
 * `max` sends (a refilling bucket of capacity max would let 2 x max through
 * a window that straddles a refill, which a robot answers with 45009). */
#ifndef BWN_RATE_H
#define BWN_RATE_H

#include <stdint.h>

typedef struct bwn_rate {
    int max;                    /* sends allowed in any window; 0 = no limit */
    int64_t window_ms;
    int64_t *t;                 /* the last n send instants, a ring; owned */
    int n, head;                /* head: the oldest of them */
} bwn_rate;

/* Sets r up for max sends per window_ms (max 0: unlimited). Returns 0, or -1
 * when out of memory. Free with bwn_rate_free. */
int bwn_rate_init(bwn_rate *r, int max, int64_t window_ms);
void bwn_rate_free(bwn_rate *r);

/* The earliest instant at or after now when one more send keeps the limit. */
int64_t bwn_rate_next(const bwn_rate *r, int64_t now);

/* Counts a send at `now` (callers ask bwn_rate_next first; the notifier
 * counts a delivery when its answer came, see notifier.c). Instants must not
 * go backwards; one that does is taken as the last instant seen. */
void bwn_rate_take(bwn_rate *r, int64_t now);

#endif
