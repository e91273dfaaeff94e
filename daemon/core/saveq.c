/* saveq: which project rows to write at each commit (see saveq.h). */
#include "saveq.h"

#include <stdbool.h>
#include <stdlib.h>

enum { F_NOW = 1, F_LATER = 2 };

/* How many positions a flush may look at per row it may write: a sparse
 * queue costs a bounded scan per commit, and a pass still ends. */
#define SCAN_PER_ROW 16

struct bw_saveq {
    size_t n;
    uint8_t *flag;              /* per project: F_* */
    uint32_t *now;              /* projects flagged F_NOW, in order */
    size_t nnow;
    uint32_t *order;            /* the sweep: projects in the table's key order */
    size_t cur;                 /* the sweep's next position in order[] */
    size_t later;               /* projects flagged F_LATER */
    size_t pass_left;           /* positions the pass has still to visit; 0: none under way */
    int64_t pass_rowid;         /* the rowid the pass started at */
    int64_t watermark;
    bool all;
};

bw_saveq *bw_saveq_new(size_t n, uint32_t **order, int64_t watermark)
{
    bw_saveq *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    size_t m = n ? n : 1;
    q->n = n;
    q->flag = calloc(m, 1);
    q->now = malloc(m * sizeof *q->now);
    if (order != NULL && *order != NULL) {
        q->order = *order;
        *order = NULL;
    } else if ((q->order = malloc(m * sizeof *q->order)) != NULL) {
        for (size_t i = 0; i < n; i++)
            q->order[i] = (uint32_t)i;
    }
    if (q->flag == NULL || q->now == NULL || q->order == NULL) {
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
    free((*qp)->order);
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
    if (ix >= q->n || (q->flag[ix] & F_LATER))
        return;
    q->flag[ix] |= F_LATER;
    q->later++;
}

void bw_saveq_all(bw_saveq *q)
{
    q->all = true;
}

/* Nothing unsaved: every row reaches upto. */
static int caught_up(bw_saveq *q, int64_t upto)
{
    int moved = upto != q->watermark;
    q->watermark = q->pass_rowid = upto;
    q->pass_left = 0;
    return moved;
}

static int flush_all(bw_saveq *q, int64_t upto, bw_saveq_fn fn, void *ctx)
{
    for (size_t i = 0; i < q->n; i++)
        if (fn(ctx, (uint32_t)i, upto))
            return -1;
    for (size_t i = 0; i < q->n; i++)
        q->flag[i] = 0;
    q->nnow = q->later = 0;
    q->all = false;
    return caught_up(q, upto);
}

static int write_now(bw_saveq *q, int64_t upto, bw_saveq_fn fn, void *ctx)
{
    for (size_t i = 0; i < q->nnow; i++) {
        uint32_t ix = q->now[i];
        if (fn(ctx, ix, upto))
            return -1;
        q->later -= (q->flag[ix] & F_LATER) != 0;
        q->flag[ix] = 0;
    }
    q->nnow = 0;
    return 0;
}

/* A pass is one round of the sweep, started at a commit (rowid R). Every
 * project with unsaved events <= R is flagged then, and is written when the
 * sweep passes it (or earlier, "now"); a project flagged after the sweep
 * passed it has nothing unsaved <= R. So once the round is complete, every
 * row holds all its events up to R: R becomes the watermark. */
int bw_saveq_flush(bw_saveq *q, int64_t upto, size_t budget, bw_saveq_fn fn, void *ctx)
{
    if (q->all)
        return flush_all(q, upto, fn, ctx);
    if (write_now(q, upto, fn, ctx))
        return -1;
    if (q->later == 0)
        return caught_up(q, upto);
    int moved = 0;
    if (q->pass_left == 0) {
        q->pass_rowid = upto;
        q->pass_left = q->n;
    }
    size_t scan = budget > SIZE_MAX / SCAN_PER_ROW ? SIZE_MAX : budget * SCAN_PER_ROW;
    while (budget > 0 && scan > 0 && q->later > 0) {
        uint32_t ix = q->order[q->cur];
        if (q->flag[ix] & F_LATER) {
            if (fn(ctx, ix, upto))
                return -1;
            q->flag[ix] &= (uint8_t)~F_LATER;
            q->later--;
            budget--;
        }
        q->cur = q->cur + 1 == q->n ? 0 : q->cur + 1;
        scan--;
        if (--q->pass_left == 0) {
            moved |= q->pass_rowid != q->watermark;
            q->watermark = q->pass_rowid;
            q->pass_rowid = upto;       /* the next round starts here */
            q->pass_left = q->n;
        }
    }
    if (q->later == 0)
        moved |= caught_up(q, upto);
    return moved;
}

int64_t bw_saveq_watermark(const bw_saveq *q)
{
    return q->watermark;
}

size_t bw_saveq_pending(const bw_saveq *q)
{
    return q->later;
}
