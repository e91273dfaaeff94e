/* ckpt: WAL checkpoints on a libuv worker thread. Left to SQLite, the commit
 * that takes the WAL past 1,000 pages copies it into the database and waits
 * for two fsyncs on the loop thread, and every event arriving meanwhile waits
 * too: that was most of the acknowledgement and alert p99 (bench/RESULTS.md).
 * Here a worker copies the WAL (passive: commits go on beside it), and only
 * the last few frames are copied on the loop thread, once the WAL is long,
 * so that it can start over instead of growing without end. */
#include "ckpt.h"

#include "batch.h"
#include "log.h"

#define CKPT_FRAMES 1000        /* new frames that start a checkpoint: SQLite's own figure */
#define CKPT_RESTART 8192       /* a WAL this long (32 MB of 4 KiB pages) is made to start over */

static void ckpt_work(uv_work_t *w)
{
    bw_ckpt *c = w->data;
    /* Only the checkpoint connection is touched on this thread. */
    c->rc = bw_store_checkpoint(c->app->store, true, &c->done, &c->err);
}

static void ckpt_done(uv_work_t *w, int status)
{
    bw_ckpt *c = w->data;
    c->busy = false;
    if (status != 0)
        return;
    if (c->rc) {
        bw_log(BW_LOG_WARNING, "%s; will try again after the next commits", c->err.msg);
        return;
    }
    c->base = c->done;
    if (bw_batch_is_open(c->app->batch) || bw_store_wal_frames(c->app->store) < CKPT_RESTART)
        return;
    /* What was committed while the worker ran: a few frames, copied here so
     * that the next commit starts the WAL over. */
    bw_err err;
    int done;
    if (bw_store_checkpoint(c->app->store, false, &done, &err))
        bw_log(BW_LOG_WARNING, "%s; will try again after the next commits", err.msg);
}

void bw_ckpt_init(bw_ckpt *c, uv_loop_t *loop, bw_app *a)
{
    *c = (bw_ckpt){ .loop = loop, .app = a };
}

void bw_ckpt_after_commit(bw_ckpt *c)
{
    if (c->loop == NULL)
        return;                 /* no loop yet to report the worker back on */
    int frames = bw_store_wal_frames(c->app->store);
    if (frames < c->base)
        c->base = 0;            /* the WAL has started over */
    if (c->busy || frames - c->base < CKPT_FRAMES)
        return;
    c->work.data = c;
    int rc = uv_queue_work(c->loop, &c->work, ckpt_work, ckpt_done);
    if (rc)
        bw_log(BW_LOG_WARNING, "cannot start a WAL checkpoint: %s", uv_strerror(rc));
    else
        c->busy = true;
}
