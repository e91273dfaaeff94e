/* app: the few functions of the application context (app.h). */
#include "app.h"

#include <time.h>

static const char *const reject_names[BW_REJ_COUNT] = {
    "malformed", "unknown_project", "unit_mismatch", "out_of_year", "future",
    "bad_refund", "overflow", "too_many_sources", "unauthorized",
};

const char *bw_reject_class_name(int c)
{
    return c >= 0 && c < BW_REJ_COUNT ? reject_names[c] : "?";
}

int64_t bw_app_now(const bw_app *a)
{
    if (a->cfg.clock == BW_CLOCK_EVENT)
        return bw_engine_now(a->engine);
    return (int64_t)time(NULL);
}

int bw_app_store_exit(const bw_err *err)
{
    return bw_store_err_damaged(err) ? BW_EXIT_DAMAGED : BW_EXIT_STORE;
}


/* From 50 µs (a small commit in the page cache) to 5 s (a disk that stalls). */
const uint64_t bw_latency_bounds[BW_LATENCY_BUCKETS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000,
};

void bw_latency_observe(bw_latency *h, uint64_t us)
{
    h->count++;
    h->sum_us += us;
    for (int i = 0; i < BW_LATENCY_BUCKETS; i++)
        if (us <= bw_latency_bounds[i])
            h->le[i]++;
}
