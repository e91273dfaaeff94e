/* flush: durability apart from the commit (flush.h). The sync runs on a
 * worker: an fdatasync took 1.5-2.7 ms a commit, a fifth of the loop
 * thread's time on the acknowledged path at full load, waiting for the disk
 * instead of reading the next events (bench/RESULTS.md). The worker touches
 * only the WAL's file descriptor (bw_store_sync). */
#include "flush.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static void sync_work(uv_work_t *w)
{
    bw_flush *f = w->data;
    f->rc = bw_store_sync(f->app->store, &f->err);
}

static void start(bw_flush *f);

static void sync_done(uv_work_t *w, int status)
{
    bw_flush *f = w->data;
    f->busy = false;
    if (status != 0) {
        bw_err_set(&f->err, "the sync of the ledger was cancelled");
        f->rc = -1;
    }
    if (f->rc) {
        f->done(f->ctx, &f->err);
        return;
    }
    /* bw_flush_now may have made them durable already: then nsyncing is 0. */
    f->nready += f->nsyncing;
    f->nsyncing = 0;
    if (f->seq_syncing > f->seq_durable)
        f->seq_durable = f->seq_syncing;
    f->done(f->ctx, NULL);
    start(f);
}

static void start(bw_flush *f)
{
    if (f->busy || (f->nacks == f->nready && f->seq_committed == f->seq_durable))
        return;
    f->nsyncing = f->nacks - f->nready;
    f->seq_syncing = f->seq_committed;
    f->work.data = f;
    f->rc = 0;
    int rc = uv_queue_work(f->loop, &f->work, sync_work, sync_done);
    if (rc == 0) {
        f->busy = true;
        return;
    }
    /* The next commit (or a control request, or the stop) syncs them. */
    f->nsyncing = 0;
    bw_log(BW_LOG_WARNING, "cannot start the ledger's sync on a worker (%s); the acks wait for "
           "the next commit", uv_strerror(rc));
}

int bw_flush_init(bw_flush *f, uv_loop_t *loop, bw_app *a, bool apart, bw_flush_fn fn, void *ctx,
                  uint64_t seq, bw_err *err)
{
    *f = (bw_flush){ .loop = loop, .app = a, .apart = apart, .done = fn, .ctx = ctx,
                     .seq_syncing = seq, .seq_committed = seq, .seq_durable = seq };
    if (apart && bw_store_sync_apart(a->store, err))
        return -1;
    return 0;
}

void bw_flush_free(bw_flush *f)
{
    free(f->acks);
    f->acks = NULL;
    f->nacks = f->cap = f->nready = f->nsyncing = 0;
}

static int keep(bw_flush *f, bw_batch *b, bw_err *err)
{
    size_t n = bw_batch_nacks(b);
    if (f->nacks + n > f->cap) {
        size_t cap = f->cap ? f->cap : 1024;
        while (cap < f->nacks + n)
            cap *= 2;
        bw_pending_ack *acks = realloc(f->acks, cap * sizeof *acks);
        if (acks == NULL)
            return bw_err_set(err, "out of memory keeping %zu acks until the ledger is synced",
                              f->nacks + n);
        f->acks = acks;
        f->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        f->acks[f->nacks++] = *bw_batch_ack(b, i);
    bw_batch_clear_acks(b);
    return 0;
}

int bw_flush_committed(bw_flush *f, bw_batch *b, bw_err *err)
{
    int rc = keep(f, b, err);
    f->seq_committed = bw_batch_committed_seq(b);
    if (!f->apart) {
        /* Each commit synced itself (or nothing is ever synced: normal). */
        f->nready = f->nacks;
        f->seq_durable = f->seq_committed;
        return rc;
    }
    if (rc == 0)
        start(f);
    return rc;
}

int bw_flush_now(bw_flush *f, bw_err *err)
{
    if (f->nacks == f->nready && f->seq_committed == f->seq_durable)
        return 0;
    if (bw_store_sync(f->app->store, err))
        return -1;
    f->nready = f->nacks;
    f->nsyncing = 0;
    f->seq_durable = f->seq_committed;
    return 0;
}

size_t bw_flush_backlog(const bw_flush *f)
{
    return f->nacks - f->nready;
}

size_t bw_flush_ready(bw_flush *f, bw_pending_ack **acks)
{
    *acks = f->acks;
    return f->nready;
}

void bw_flush_sent(bw_flush *f)
{
    if (f->nready == 0)
        return;                 /* acks may be NULL yet */
    memmove(f->acks, f->acks + f->nready, (f->nacks - f->nready) * sizeof *f->acks);
    f->nacks -= f->nready;
    f->nready = 0;
}

uint64_t bw_flush_durable_seq(const bw_flush *f)
{
    return f->seq_durable;
}

void bw_flush_forget(bw_flush *f)
{
    f->nacks = f->nready = f->nsyncing = 0;
}

size_t bw_flush_unsure(bw_flush *f, bw_pending_ack **acks)
{
    *acks = f->acks + f->nready;
    return f->nacks - f->nready;
}
