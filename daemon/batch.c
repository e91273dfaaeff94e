/* batch: one transaction of the ledger and what waits on it (batch.h). The
 * project rows and the digest of the saved rows are written here, and only
 * here, in the transaction of the events that moved them. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Rows written per commit from the queue of moved totals: an eighth of the
 * batch's events, so each row carries several payments, and at least one, so
 * that a trickle of payments still moves the watermark. More would cost the
 * small commits of a steady flow a page per row (their p99 latency). */
#define SAVE_MIN 1
#define SAVE_SHARE 8
/* Events after the watermark beyond which the queue is emptied twice as fast
 * as it fills: what a restart re-adds stays bounded. */
#define TAIL_MAX 1000000

struct bw_batch {
    bool open;
    bool failed;
    bw_err why;                 /* the first cause, when failed */
    bw_pending_ack *acks;
    size_t nacks, cap_acks;
    uint64_t seq, committed, published;
    bw_saveq *saveq;
    uint64_t *row_digest;       /* per project: the digest of its saved row */
    uint64_t digest;            /* their sum, and the rows of dropped projects' */
    bw_batch_row *rows;         /* dropped projects' rows to write */
    size_t nrows;
    size_t events;              /* events that moved totals in this batch */
    bool save_all;              /* the next commit empties the queue */
};

bw_batch *bw_batch_new(size_t max_acks)
{
    bw_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->cap_acks = max_acks ? max_acks : 1;
    b->acks = malloc(b->cap_acks * sizeof *b->acks);
    if (b->acks == NULL) {
        free(b);
        return NULL;
    }
    return b;
}

static void free_rows(bw_batch *b)
{
    for (size_t i = 0; i < b->nrows; i++)
        free(b->rows[i].code);
    free(b->rows);
    b->rows = NULL;
    b->nrows = 0;
}

void bw_batch_free(bw_batch **bp)
{
    bw_batch *b = *bp;
    if (b == NULL)
        return;
    free(b->acks);
    bw_saveq_free(&b->saveq);
    free(b->row_digest);
    free_rows(b);
    free(b);
    *bp = NULL;
}

void bw_batch_adopt(bw_batch *b, bw_saveq **q, uint64_t **row_digest, uint64_t digest,
                    bw_batch_row **rows, size_t nrows)
{
    bw_saveq_free(&b->saveq);
    b->saveq = *q;
    *q = NULL;
    free(b->row_digest);
    b->row_digest = *row_digest;
    *row_digest = NULL;
    b->digest = digest;
    free_rows(b);
    b->rows = *rows;
    *rows = NULL;
    b->nrows = nrows;
}

void bw_batch_set_seq(bw_batch *b, uint64_t seq)
{
    b->seq = b->committed = b->published = seq;
}

int bw_batch_begin(bw_batch *b, bw_store *s, bw_err *err)
{
    if (b->open)
        return 0;
    if (b->failed)
        return bw_err_set(err, "%s", b->why.msg);
    if (bw_store_begin(s, err))
        return -1;
    b->open = true;
    return 0;
}

bool bw_batch_is_open(const bw_batch *b)
{
    return b->open;
}

bw_step bw_batch_fail(bw_batch *b, const bw_err *why)
{
    if (!b->failed) {
        b->failed = true;
        b->why = *why;
    }
    return BW_STEP_FATAL;
}

bool bw_batch_failed(const bw_batch *b)
{
    return b->failed;
}

bw_step bw_batch_add_ack(bw_batch *b, const void *id, size_t idlen, const bw_ack *ack)
{
    bw_pending_ack *a = &b->acks[b->nacks++];
    a->idlen = (uint8_t)(idlen > sizeof a->id ? sizeof a->id : idlen);
    memcpy(a->id, id, a->idlen);
    a->ack = *ack;
    return b->nacks == b->cap_acks ? BW_STEP_FULL : BW_STEP_OK;
}

bw_step bw_batch_add_alert(bw_batch *b, bw_store *s, bw_alert_msg *m)
{
    bw_err err;
    if (b->failed)
        return BW_STEP_FATAL;
    m->seq = b->seq + 1;
    if (bw_store_alert_append(s, m, &err))
        return bw_batch_fail(b, &err);
    b->seq = m->seq;
    return BW_STEP_OK;
}

void bw_batch_touch(bw_batch *b, uint32_t project)
{
    bw_saveq_now(b->saveq, project);
}

void bw_batch_touch_totals(bw_batch *b, uint32_t project)
{
    bw_saveq_later(b->saveq, project);
    b->events++;
}

void bw_batch_save_all_totals(bw_batch *b)
{
    b->save_all = true;
}

void bw_batch_save_all_rows(bw_batch *b)
{
    bw_saveq_all(b->saveq);
}

/* ---- the commit ---- */

typedef struct save_ctx {
    bw_batch *b;
    bw_app *a;
    bw_err *err;
    size_t saved;               /* rows written */
} save_ctx;

static int save_project(void *ctx, uint32_t ix, int64_t upto)
{
    save_ctx *c = ctx;
    const char *code = bw_plan_project(bw_engine_plan(c->a->engine), ix)->code;
    const bw_project_state *st = bw_engine_state(c->a->engine, ix);
    if (bw_store_project_save(c->a->store, code, st, upto, c->err))
        return -1;
    uint64_t h = bw_store_row_digest(code, st, upto);
    c->b->digest += h - c->b->row_digest[ix];
    c->b->row_digest[ix] = h;
    c->saved++;
    return 0;
}

/* The rows of dropped projects, brought up to date by restore. The plan
 * has no such project, so no event of this batch moved them. */
static int save_rows(bw_batch *b, bw_store *s, bw_err *err)
{
    for (size_t i = 0; i < b->nrows; i++) {
        bw_batch_row *r = &b->rows[i];
        if (bw_store_project_save(s, r->code, &r->st, r->upto, err))
            return -1;
        b->digest += bw_store_row_digest(r->code, &r->st, r->upto) - r->digest;
    }
    if (b->nrows > 0)
        bw_log(BW_LOG_INFO, "brought the saved rows of %zu dropped project(s) up to date", b->nrows);
    return 0;
}

/* How many queued rows this commit writes (see SAVE_MIN, TAIL_MAX). */
static size_t save_budget(const bw_batch *b, int64_t upto)
{
    if (b->save_all)
        return SIZE_MAX;
    size_t n = b->events / SAVE_SHARE;
    if (upto - bw_saveq_watermark(b->saveq) > TAIL_MAX)
        n = b->events * 2;
    return n > SAVE_MIN ? n : SAVE_MIN;
}

static int save_source(void *ctx, const char *src, uint64_t last)
{
    save_ctx *c = ctx;
    return bw_store_source_save(c->a->store, src, last, c->err);
}

static int save_state(bw_batch *b, bw_app *a, bw_err *err)
{
    int64_t upto = bw_store_event_max_rowid(a->store, err);
    if (upto < 0)
        return -1;
    save_ctx c = { b, a, err, b->nrows };
    if (save_rows(b, a->store, err))
        return -1;
    int moved = bw_saveq_flush(b->saveq, upto, save_budget(b, upto), save_project, &c);
    if (moved < 0 || (moved && bw_store_meta_set(a->store, "totals_upto",
                                                 bw_saveq_watermark(b->saveq), err)))
        return -1;
    /* The digest goes with the rows, in their transaction (restore checks it). */
    if (c.saved && bw_store_meta_set(a->store, "totals_digest", (int64_t)b->digest, err))
        return -1;
    if (bw_sources_flush(a->sources, save_source, &c))
        return err->msg[0] ? -1 : bw_err_set(err, "saving source sequence numbers failed");
    if (bw_store_meta_set(a->store, "alert_seq", (int64_t)b->seq, err) ||
        bw_store_meta_set(a->store, "now", bw_engine_now(a->engine), err))
        return -1;
    return 0;
}

int bw_batch_commit(bw_batch *b, bw_app *a, bw_err *err)
{
    if (!b->open)
        return 0;
    if (b->failed)
        return bw_err_set(err, "%s", b->why.msg);
    if (a->engine == NULL) {
        bw_err_set(err, "the projects' state was lost (a reload could not rebuild it); "
                   "nothing more is written");
        bw_batch_fail(b, err);
        return -1;
    }
    err->msg[0] = '\0';
    if (save_state(b, a, err) || bw_store_commit(a->store, err)) {
        bw_batch_fail(b, err);
        return -1;
    }
    b->open = false;
    b->events = 0;
    b->save_all = false;
    free_rows(b);
    b->committed = b->seq;
    a->stats.batches++;
    return 0;
}

void bw_batch_rollback(bw_batch *b, bw_store *s)
{
    /* SQLite may have rolled back already; either way nothing of this batch
     * is in the ledger, and no later statement runs outside a transaction. */
    if (b->open)
        bw_store_rollback(s);
    b->open = false;
    b->seq = b->committed;
}

size_t bw_batch_nacks(const bw_batch *b)
{
    return b->nacks;
}

bw_pending_ack *bw_batch_ack(bw_batch *b, size_t i)
{
    return &b->acks[i];
}

void bw_batch_clear_acks(bw_batch *b)
{
    b->nacks = 0;
}

uint64_t bw_batch_seq(const bw_batch *b) { return b->seq; }
uint64_t bw_batch_committed_seq(const bw_batch *b) { return b->committed; }
uint64_t bw_batch_published_seq(const bw_batch *b) { return b->published; }

void bw_batch_published(bw_batch *b, uint64_t seq)
{
    b->published = seq;
}
