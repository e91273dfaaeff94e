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

