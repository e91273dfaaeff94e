/* saveq: which project rows to write at each commit (see saveq.h). */
#include "saveq.h"

#include <stdbool.h>
#include <stdlib.h>

enum { F_NOW = 1, F_LATER = 2, F_QUEUED = 4 };

struct bw_saveq {
    size_t n;
    uint8_t *flag;              /* per project: F_* */
    uint32_t *now;              /* projects flagged F_NOW, in order */
    size_t nnow;
    uint32_t *ring;             /* FIFO of F_QUEUED projects; each at most once */
    size_t head, len;
    size_t pass_left;           /* entries at the head that belong to the pass */
    int64_t pass_rowid;         /* the rowid the pass started at */
    int64_t watermark;
    bool all;
};

bw_saveq *bw_saveq_new(size_t n, int64_t watermark)
{
    bw_saveq *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    size_t m = n ? n : 1;
    q->n = n;
    q->flag = calloc(m, 1);
    q->now = malloc(m * sizeof *q->now);
    q->ring = malloc(m * sizeof *q->ring);
    if (q->flag == NULL || q->now == NULL || q->ring == NULL) {
        bw_saveq_free(&q);
        return NULL;
    }
    q->watermark = q->pass_rowid = watermark;
    return q;
}

void bw_saveq_free(bw_saveq **qp)
{
    if (qp == NULL || *qp == NULL)
        return;
    free((*qp)->flag);
    free((*qp)->now);
    free((*qp)->ring);
    free(*qp);
    *qp = NULL;
}

void bw_saveq_now(bw_saveq *q, uint32_t ix)
{
    if (ix >= q->n || (q->flag[ix] & F_NOW))
        return;
    q->flag[ix] |= F_NOW;
    q->now[q->nnow++] = ix;
}

void bw_saveq_later(bw_saveq *q, uint32_t ix)
{
    if (ix >= q->n)
        return;
    q->flag[ix] |= F_LATER;
    if (q->flag[ix] & F_QUEUED)
        return;
    q->flag[ix] |= F_QUEUED;
    q->ring[(q->head + q->len) % q->n] = ix;
    q->len++;
}

void bw_saveq_all(bw_saveq *q)
{
    q->all = true;
}

static int flush_all(bw_saveq *q, int64_t upto, bw_saveq_fn fn, void *ctx)
{
    for (size_t i = 0; i < q->n; i++)
        if (fn(ctx, (uint32_t)i, upto))
            return -1;
    for (size_t i = 0; i < q->n; i++)
        q->flag[i] = 0;
    q->nnow = q->head = q->len = q->pass_left = 0;
    q->all = false;
    int moved = upto != q->watermark;
    q->watermark = q->pass_rowid = upto;
    return moved;
}

/* The pass at the head is written out: its start becomes the watermark, and
 * what is queued now (every project with unsaved events <= upto) is the next. */
static int next_pass(bw_saveq *q, int64_t upto)
{
    int moved = q->pass_rowid != q->watermark;
    q->watermark = q->pass_rowid;
    q->pass_rowid = upto;
    q->pass_left = q->len;
    return moved;
}

int bw_saveq_flush(bw_saveq *q, int64_t upto, size_t budget, bw_saveq_fn fn, void *ctx)
{
    if (q->all)
        return flush_all(q, upto, fn, ctx);
    for (size_t i = 0; i < q->nnow; i++) {
        uint32_t ix = q->now[i];
        if (fn(ctx, ix, upto))
            return -1;
        q->flag[ix] &= (uint8_t)~(F_NOW | F_LATER);  /* a queued entry stays, and is skipped */
    }
    q->nnow = 0;
    int moved = 0;
    for (; budget > 0 && q->len > 0; budget--) {
        if (q->pass_left == 0)
            moved |= next_pass(q, upto);
        uint32_t ix = q->ring[q->head];
        uint8_t f = q->flag[ix];
        if ((f & F_LATER) && fn(ctx, ix, upto))
            return -1;
        q->flag[ix] = (uint8_t)(f & ~(F_QUEUED | F_LATER));
        q->head = (q->head + 1) % q->n;
        q->len--;
        q->pass_left--;
    }
    if (q->len == 0) {
        /* Nothing unsaved: every row reaches upto. */
        moved |= upto != q->watermark;
        q->watermark = q->pass_rowid = upto;
        q->pass_left = 0;
    } else if (q->pass_left == 0) {
        moved |= next_pass(q, upto);
    }
    return moved;
}

int64_t bw_saveq_watermark(const bw_saveq *q)
{
    return q->watermark;
}

size_t bw_saveq_pending(const bw_saveq *q)
{
    return q->len;
}
