/* batch: the open transaction and everything that waits on it — the acks owed
 * to senders, the alerts to publish, the project rows to write. Handlers
 * (ingest, control, publish) add to it and return a bw_step; only the loop
 * commits it (bw_batch_commit), then sends the acks, then publishes the
 * alerts, in that order: nobody hears of anything the ledger does not hold.
 *
 * A handler that cannot record its change fails the batch (bw_batch_fail):
 * the commit then refuses, the loop rolls back, answers every sender and
 * control client that waits on the batch with the cause, and stops. */
#ifndef BW_BATCH_H
#define BW_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "proto.h"
#include "saveq.h"

/* What a handler tells the loop. */
typedef enum bw_step {
    BW_STEP_FATAL = -1,         /* the batch cannot be recorded: the loop rolls back and stops */
    BW_STEP_OK = 0,
    BW_STEP_FULL = 1,           /* recorded, and the batch is full: commit before the next */
} bw_step;

typedef struct bw_pending_ack {
    uint8_t idlen;
    unsigned char id[255];      /* the ROUTER's routing id of the sender */
    bw_ack ack;
} bw_pending_ack;

/* A row of a project the plan no longer has, to be written with the next
 * commit (restore.c brings such rows up to date; see there why). */
typedef struct bw_batch_row {
    char *code;                 /* owned by whoever holds the row */
    bw_project_state st;
    int64_t upto;
    uint64_t digest;            /* of the row as it was read */
} bw_batch_row;

/* A batch that holds at most max_acks acks; NULL when out of memory. */
bw_batch *bw_batch_new(size_t max_acks);
void bw_batch_free(bw_batch **b);

/* Takes what restore made for a new engine: its save queue, the digest of
 * each project's saved row, the sum of every row's digest, and the rows of
 * dropped projects to write (all taken; the pointers become NULL). Only
 * between batches. */
void bw_batch_adopt(bw_batch *b, bw_saveq **q, uint64_t **row_digest, uint64_t digest,
                    bw_batch_row **rows, size_t nrows);
/* The last alert seq the ledger holds, at start. */
void bw_batch_set_seq(bw_batch *b, uint64_t seq);

/* Opens the transaction unless it is open. 0, or -1 (err). */
int bw_batch_begin(bw_batch *b, bw_store *s, bw_err *err);
bool bw_batch_is_open(const bw_batch *b);
/* Marks the batch as unrecordable, keeping the first cause. Returns FATAL. */
bw_step bw_batch_fail(bw_batch *b, const bw_err *why);
bool bw_batch_failed(const bw_batch *b);

/* An ack to send once the batch is committed. FULL when the batch holds
 * max_acks of them. */
bw_step bw_batch_add_ack(bw_batch *b, const void *id, size_t idlen, const bw_ack *ack);
/* Gives m the next seq and writes it to the alert log in this transaction;
 * it is published after the commit. FATAL (and the batch failed) if the log
 * refused it. */
bw_step bw_batch_add_alert(bw_batch *b, bw_store *s, bw_alert_msg *m);
/* The project's row goes to disk with this commit (alert state, budget). */
void bw_batch_touch(bw_batch *b, uint32_t project);
/* The project's totals moved: its row is written within a few commits. */
void bw_batch_touch_totals(bw_batch *b, uint32_t project);
/* The next commit writes every queued row, so that the saved totals equal
 * the ledger (verify, a clean stop). */
void bw_batch_save_all_totals(bw_batch *b);
/* The next commit writes every project's row (after a plan reload). */
void bw_batch_save_all_rows(bw_batch *b);

/* Writes the rows, the watermark, the digest, the sources' seqs, the alert
 * seq and the engine's now, and commits. Nothing open: 0. A failed batch or
 * a failed write: -1 with the cause in err, and the transaction still open
 * for the caller to roll back. Only the loop calls this. */
int bw_batch_commit(bw_batch *b, bw_app *a, bw_err *err);
/* Rolls the transaction back and forgets its alerts and rows; the acks stay
 * for the loop to answer with the cause. */
void bw_batch_rollback(bw_batch *b, bw_store *s);

/* The acks waiting, committed or (after a failed commit) not. */
size_t bw_batch_nacks(const bw_batch *b);
bw_pending_ack *bw_batch_ack(bw_batch *b, size_t i);
void bw_batch_clear_acks(bw_batch *b);

/* Alert seqs: the last given out, the last committed, the last published
 * (those in between wait in the alert log for bw_batch_published). */
uint64_t bw_batch_seq(const bw_batch *b);
uint64_t bw_batch_committed_seq(const bw_batch *b);
uint64_t bw_batch_published_seq(const bw_batch *b);
void bw_batch_published(bw_batch *b, uint64_t seq);

#endif
