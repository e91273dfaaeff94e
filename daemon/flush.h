/* flush: committed batches made durable before anyone hears of them. With
 * synchronous = full the loop commits without waiting for the disk, and a
 * worker thread writes the WAL to it (fdatasync) while the next batch
 * fills; the acks and alerts of every batch that sync covered go out when
 * it returns (group commit: one sync covers each batch committed before it
 * began). With synchronous = normal a batch is released at its commit. */
#ifndef BW_FLUSH_H
#define BW_FLUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "app.h"
#include "batch.h"

/* On the loop thread, when a sync has ended: failed is NULL, or its cause. */
typedef void (*bw_flush_fn)(void *ctx, const bw_err *failed);

typedef struct bw_flush {
    uv_loop_t *loop;
    bw_app *app;
    bool apart;                 /* syncs on a worker (synchronous = full) */
    bw_flush_fn done;
    void *ctx;
    uv_work_t work;
    bool busy;
    /* Committed acks in commit order: the first nready are durable (to
     * send), the next nsyncing are covered by the sync under way, the rest
     * wait for the next one. */
    bw_pending_ack *acks;
    size_t nacks, cap, nready, nsyncing;
    uint64_t seq_syncing, seq_committed, seq_durable;
    int rc;                     /* the worker's result, read once it is done */
    bw_err err;
} bw_flush;

int bw_flush_init(bw_flush *f, uv_loop_t *loop, bw_app *a, bool apart, bw_flush_fn fn, void *ctx,
                  uint64_t seq, bw_err *err);
void bw_flush_free(bw_flush *f);
/* After a commit: takes the batch's acks (clearing them there) and its
 * alerts' seqs, and starts a sync unless one runs. 0, or -1 (err) when it
 * could not keep them: the caller then syncs with bw_flush_now. */
int bw_flush_committed(bw_flush *f, bw_batch *b, bw_err *err);
/* Syncs on this thread: everything committed is then durable. 0, or -1. */
int bw_flush_now(bw_flush *f, bw_err *err);
/* Acks committed but not yet durable (the loop stops reading past a limit). */
size_t bw_flush_backlog(const bw_flush *f);
/* The durable acks (to send, then bw_flush_sent) and the last durable seq. */
size_t bw_flush_ready(bw_flush *f, bw_pending_ack **acks);
void bw_flush_sent(bw_flush *f);
uint64_t bw_flush_durable_seq(const bw_flush *f);
/* The acks not durable (after a failure: to answer with it). */
size_t bw_flush_unsure(bw_flush *f, bw_pending_ack **acks);
/* Drops every ack (they have been answered otherwise). */
void bw_flush_forget(bw_flush *f);

#endif
