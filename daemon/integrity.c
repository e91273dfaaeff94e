/* integrity: SQLite's integrity_check of the ledger file on a libuv worker
 * thread, every [store] integrity_check_interval, with a ledger_damaged alert
 * when it finds damage. A damaged index can let a resent event count twice
 * and still read back consistent totals, so damage must be looked for, not
 * waited for. The full check, not quick_check: only it compares each index
 * with its table, which is that very case, and on a 10,000,000-event ledger
 * it costs the worker 7.7 s a day against quick_check's 2.7 s
 * (bench/RESULTS.md). It reads through a connection of its own: WAL readers
 * never block the loop's commits. */
#include <string.h>

#include "daemon.h"
#include "log.h"

static void check_work(uv_work_t *w)
{
    bw_daemon *d = w->data;
    /* Only the worker's own connection is touched on this thread. */
    d->ichk_problems = bw_store_integrity_file(bw_store_path(d->store), true, d->ichk_first,
                                               &d->ichk_err);
}

/* Published again at every check that still finds damage: a reminder at the
 * check's interval, as long as nobody has restored the file. */
static void raise_damaged(bw_daemon *d)
{
    bw_alert_msg m;
    memset(&m, 0, sizeof m);
    m.kind = BW_KIND_LEDGER_DAMAGED;
    m.state = BW_STATE_FIRING;
    m.severity = BW_SEV_CRITICAL;
    snprintf(m.note, sizeof m.note, "%s", d->ichk_first);
    m.at = bw_daemon_now(d);
    m.since = d->ledger_damaged_since ? d->ledger_damaged_since : m.at;
    d->ledger_damaged_since = m.since;
    /* A commit that fails here stops the daemon (bw_daemon_store_failed),
     * which logs why: nothing more to do with the result. */
    if (bw_batch_begin(d) == 0 && bw_publish_queue(d, &m) == 0)
        (void)bw_batch_checkpoint(d);
}

static void check_done(uv_work_t *w, int status)
{
    bw_daemon *d = w->data;
    d->ichk_busy = false;
    if (status != 0 || d->stopping)
        return;
    d->stats.integrity_checks++;
    if (d->ichk_problems < 0) {
        bw_log(BW_LOG_WARNING, "the ledger's integrity check could not run: %s; it is tried "
               "again at the next interval", d->ichk_err.msg);
        return;
    }
    if (d->ichk_problems == 0)
        return;
    d->stats.integrity_failures++;
    bw_log(BW_LOG_ERR, "the ledger %s is damaged: SQLite's integrity_check found %lld problem(s), "
           "the first: %s. Keep a copy of the file and restore the last backup; `budgetwatchd "
           "--verify` lists what integrity_check finds", bw_store_path(d->store),
           (long long)d->ichk_problems, d->ichk_first);
    raise_damaged(d);
}

static void on_check_timer(uv_timer_t *t)
{
    bw_daemon *d = t->data;
    if (d->ichk_busy || d->stopping)
        return;
    d->ichk_work.data = d;
    int rc = uv_queue_work(&d->loop, &d->ichk_work, check_work, check_done);
    if (rc)
        bw_log(BW_LOG_WARNING, "cannot start the ledger's integrity check: %s", uv_strerror(rc));
    else
        d->ichk_busy = true;
}

int bw_integrity_start(bw_daemon *d, bw_err *err)
{
    uint64_t ms = (uint64_t)d->cfg.integrity_check_interval * 1000;
    if (ms == 0)
        return 0;
    int rc = uv_timer_start(&d->ichk_timer, on_check_timer, ms, ms);
    return rc ? bw_err_set(err, "libuv: %s", uv_strerror(rc)) : 0;
}
