/* app: the few functions of the application context (app.h). */
#include "app.h"

#include <stdio.h>
#include <time.h>

#include "batch.h"
#include "planfile.h"
#include "restore.h"
#include "tz.h"

#define MAX_SOURCES 4096

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

/* The ledger's own clock and alert seq, then the state restored from it. */
int bw_app_open(bw_app *a, bw_err *err)
{
    char path[BW_PATH_MAX + 16];
    a->started_at = (int64_t)time(NULL);
    snprintf(path, sizeof path, "%s/ledger.db", a->cfg.state_dir);
    a->store = bw_store_open(path, a->cfg.sync_full, err);
    if (a->store == NULL || bw_store_checkpoint_apart(a->store, a->cfg.sync_full, err))
        return bw_app_store_exit(err);
    int64_t now = 0, seq = 0;
    bw_calendar cal;
    if (bw_tz_calendar(a->cfg.timezone, a->cfg.fiscal_year, &cal, err))
        return BW_EXIT_CONFIG;
    int have = bw_store_meta_get(a->store, "now", &now, err);
    if (have < 0 || bw_store_meta_get(a->store, "alert_seq", &seq, err) < 0)
        return bw_app_store_exit(err);
    if (have == 0)
        now = bw_cal_year_start(&cal);   /* first start: time flows from the year's start */
    a->sources = bw_sources_new(MAX_SOURCES);
    a->batch = bw_batch_new(a->cfg.batch_max);
    if (a->sources == NULL || a->batch == NULL) {
        bw_err_set(err, "out of memory");
        return BW_EXIT_FAILURE;
    }
    bw_batch_set_seq(a->batch, (uint64_t)seq);
    bw_plan *plan = NULL;
    if (bw_planfile_load(&a->cfg, &cal, &plan, err))
        return BW_EXIT_CONFIG;
    int rc = bw_restore(a, &plan, &cal, now, true, err);
    bw_plan_free(&plan);
    return rc;
}

void bw_app_close(bw_app *a)
{
    bw_engine_free(&a->engine);
    bw_sources_free(&a->sources);
    bw_batch_free(&a->batch);
    bw_store_close(&a->store);
}
