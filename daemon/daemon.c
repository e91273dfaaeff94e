/* daemon: budgetwatchd's life cycle — one daemon per ledger (the lock), the
 * ledger opened and the state restored from it, the loop started, and
 * everything closed again in the reverse order (daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "log.h"
#include "notify.h"
#include "planfile.h"
#include "restore.h"
#include "tz.h"

#define MAX_SOURCES 4096

/* One daemon per ledger: a second one would accept events beside the first
 * and each would hold totals the other does not know. The lock goes with the
 * process, so a SIGKILL never leaves it stale. Returns 0 or a BW_EXIT_*. */
static int lock_state(const bw_config *cfg, int *fd, bw_err *err)
{
    char path[BW_PATH_MAX + 24], pid[32] = "";
    snprintf(path, sizeof path, "%s/budgetwatchd.lock", cfg->state_dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        bw_err_set(err, "cannot open %s: %s; check that state_dir exists and is writable", path,
                   strerror(errno));
        return BW_EXIT_STORE;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t n = pread(*fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        bw_err_set(err, "the ledger in %s is in use by another budgetwatchd (pid %s); stop it "
                   "first, or give this one a state_dir of its own", cfg->state_dir,
                   *pid ? pid : "unknown");
        return BW_EXIT_IN_USE;
    }
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)len, 0) != len) {
        bw_err_set(err, "cannot write %s: %s", path, strerror(errno));
        return BW_EXIT_STORE;
    }
    return 0;
}

static int fail(bw_daemon *d, int code)
{
    d->exit_code = code;
    return -1;
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
    if (bw_store_days_set(a->store, &cal, err))
        return bw_app_store_exit(err);
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

static int open_state(bw_daemon *d, bw_err *err)
{
    int rc = lock_state(&d->app.cfg, &d->lock_fd, err);
    if (rc == 0)
        rc = bw_app_open(&d->app, err);
    return rc ? fail(d, rc) : 0;
}

int bw_daemon_rebuild_totals(const bw_config *cfg, int64_t *rows, bw_err *err)
{
    int fd = -1;
    char path[BW_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/ledger.db", cfg->state_dir);
    int rc = lock_state(cfg, &fd, err);
    if (rc == 0) {
        bw_calendar cal;
        if (bw_tz_calendar(cfg->timezone, cfg->fiscal_year, &cal, err))
            rc = BW_EXIT_CONFIG;
        /* The daily sums too, keyed by the plan's days (bw_store_days_set). */
        bw_store *s = rc ? NULL : bw_store_open(path, cfg->sync_full, err);
        if (rc == 0 && (s == NULL || bw_store_days_set(s, &cal, err) ||
                        bw_store_rebuild_totals(s, rows, err)))
            rc = bw_app_store_exit(err);
        bw_store_close(&s);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int bw_daemon_init(bw_daemon *d, const bw_config *cfg, bw_err *err)
{
    memset(d, 0, sizeof *d);
    d->lock_fd = -1;
    d->app.cfg = *cfg;
    if (open_state(d, err))
        return -1;
    if (bw_loop_open(d, err)) {
        if (d->exit_code == 0)
            d->exit_code = BW_EXIT_FAILURE;
        return -1;
    }
    if (bw_loop_catch_up(d))
        return bw_err_set(err, "the ledger failed while catching up with the alerts that fell "
                          "due (see the log)");
    return 0;
}

int bw_daemon_run(bw_daemon *d)
{
    const bw_config *c = &d->app.cfg;
    bw_log(BW_LOG_NOTICE, "serving %zu projects; events on %s, alerts on %s, control on %s, "
           "clock %s", bw_plan_nprojects(bw_engine_plan(d->app.engine)), c->events_ack,
           c->alerts_pub, c->control, c->clock == BW_CLOCK_EVENT ? "event" : "wall");
    bw_notify_ready();
    bw_loop_run(d);
    return d->exit_code;
}

void bw_daemon_fini(bw_daemon *d)
{
    bw_app *a = &d->app;
    if (a->batch && bw_batch_is_open(a->batch) && !bw_batch_failed(a->batch) && a->engine)
        (void)bw_loop_stop_commit(d);
    bw_loop_close(d);
    bw_app_close(a);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    d->lock_fd = -1;
}
