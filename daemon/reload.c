/* reload: a new plan, or the old one again (reload.h). */
#include "reload.h"

#include "batch.h"
#include "log.h"
#include "notify.h"
#include "planfile.h"
#include "restore.h"

static int rebuild_old(bw_app *a, bw_plan **old, const bw_calendar *cal, int64_t now)
{
    bw_err again;
    if (bw_restore(a, old, cal, now, false, &again) == 0)
        return 0;
    bw_log(BW_LOG_ERR, "cannot rebuild the projects' state from the ledger (%s); stopping",
           again.msg);
    return -1;
}

static int swap_plan(bw_app *a, bw_err *err)
{
    /* The ledger has every event and (quiet) every alert state, so it is the
     * one source for carrying projects over. The old engine goes first, so
     * that a province's plan is never held twice beside two engines; a plan
     * that does not load is rebuilt from the old plan and the ledger, as at
     * start. */
    int64_t now = bw_engine_now(a->engine);
    bw_calendar cal, oldcal = a->cal;
    bw_plan *old = bw_engine_free_keep_plan(&a->engine), *plan = NULL;
    if (bw_planfile_load(&a->cfg, &cal, &plan, err)) {
        rebuild_old(a, &old, &oldcal, now);
        bw_plan_free(&old);
        return -1;
    }
    bw_plan_free(&old);
    if (bw_restore(a, &plan, &cal, now, false, err)) {
        bw_plan_free(&plan);
        bw_log(BW_LOG_ERR, "cannot rebuild the projects' state from the ledger (%s); stopping",
               err->msg);
        return -1;
    }
    return 0;
}

int bw_reload(bw_app *a, bw_err *err)
{
    bw_notify_reloading();
    bw_err kerr;
    if (a->auth && bw_auth_reload(a->auth, &a->cfg, &kerr))
        bw_log(BW_LOG_ERR, "keys not reloaded, the old ones stay in force: %s", kerr.msg);
    bw_log(BW_LOG_NOTICE, "reloading the plan %s", a->cfg.plan);
    int rc = swap_plan(a, err);
    if (rc == 0) {
        /* Everything is saved once against the new plan's budgets. */
        bw_batch_save_all_rows(a->batch);
        bw_err berr;
        /* The new plan runs either way; if its rows cannot be written, the
         * commit that follows refuses and the daemon stops. */
        if (bw_batch_begin(a->batch, a->store, &berr))
            bw_batch_fail(a->batch, &berr);
        bw_log(BW_LOG_NOTICE, "plan reloaded: %zu projects in %zu units",
                   bw_plan_nprojects(bw_engine_plan(a->engine)),
                   bw_plan_nunits(bw_engine_plan(a->engine)));
    }
    bw_notify_ready();
    return rc;
}
