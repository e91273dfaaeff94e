/* integrity: SQLite's integrity_check of the ledger file on a libuv worker
 * thread, every [store] integrity_check_interval, with a ledger_damaged alert
 * when it finds damage. A damaged index can let a resent event count twice
 * and still read back consistent totals, so damage must be looked for, not
 * waited for. The full check, not quick_check: only it compares each index
 * with its table, which is that very case, and on a 10,000,000-event ledger
 * it costs the worker 7.7 s a day against quick_check's 2.7 s
 * (bench/RESULTS.md). It reads through a connection of its own: WAL readers
 * never block the loop's commits. */
#include "integrity.h"

#include <string.h>

#include "log.h"

static void check_work(uv_work_t *w)
{
    bw_ichk *c = w->data;
    /* Only the worker's own connection is touched on this thread. */
    c->problems = bw_store_integrity_file(bw_store_path(c->app->store), true, c->first, &c->err);
}

static void check_done(uv_work_t *w, int status)
{
    bw_ichk *c = w->data;
    c->busy = false;
    if (status != 0 || *c->stopping)
        return;
    c->app->stats.integrity_checks++;
    if (c->problems < 0) {
        bw_log(BW_LOG_WARNING, "the ledger's integrity check could not run: %s; it is tried "
               "again at the next interval", c->err.msg);
        return;
    }
    if (c->problems == 0)
        return;
    c->app->stats.integrity_failures++;
    bw_log(BW_LOG_ERR, "the ledger %s is damaged: SQLite's integrity_check found %lld problem(s), "
           "the first: %s. Keep a copy of the file and restore the last backup; `budgetwatchd "
           "--verify` lists what integrity_check finds", bw_store_path(c->app->store),
           (long long)c->problems, c->first);
    c->on_damage(c->ctx, c->first);
}

static void on_check_timer(uv_timer_t *t)
{
    bw_ichk *c = t->data;
    if (c->busy || *c->stopping)
        return;
    c->work.data = c;
    int rc = uv_queue_work(t->loop, &c->work, check_work, check_done);
    if (rc)
        bw_log(BW_LOG_WARNING, "cannot start the ledger's integrity check: %s", uv_strerror(rc));
    else
        c->busy = true;
}

int bw_ichk_init(bw_ichk *c, uv_loop_t *loop, bw_app *a, bw_damage_fn fn, void *ctx,
                 const bool *stopping, bw_err *err)
{
    memset(c, 0, sizeof *c);
    c->app = a;
    c->on_damage = fn;
    c->ctx = ctx;
    c->stopping = stopping;
    int rc = uv_timer_init(loop, &c->timer);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    c->timer.data = c;
    return 0;
}

int bw_ichk_start(bw_ichk *c, bw_err *err)
{
    uint64_t ms = (uint64_t)c->app->cfg.integrity_check_interval * 1000;
    if (ms == 0)
        return 0;
    int rc = uv_timer_start(&c->timer, on_check_timer, ms, ms);
    return rc ? bw_err_set(err, "libuv: %s", uv_strerror(rc)) : 0;
}
