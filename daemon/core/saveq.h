/* saveq: which project rows the daemon writes to the ledger at each commit,
 * and how far the saved totals are known to reach.
 *
 * An alert transition, an acknowledgement or a budget adjustment must be on
 * disk with the batch that made it ("now"): a restart must not announce it
 * again. A payment only moves totals, and totals can be rebuilt from the
 * events themselves, so those rows are saved later ("later"), a few per
 * commit; one row then carries many payments, and a burst spread over
 * 100,000 projects writes a fraction of a row per event instead of one.
 * The later rows are written by a sweep over the projects in the order of the
 * table's key, so that rows written together share pages, whatever order the
 * payments came in.
 *
 * Every saved row says which events rowid its totals reach (`upto`). A pass
 * is one round of the sweep, started at one commit (at rowid R); once it is
 * complete, every project row holds all of its events up to R, and R becomes
 * the watermark. A restart reads the rows, then adds each event after the
 * watermark whose rowid is above its own row's `upto`. Pure: no I/O; the
 * caller writes the rows. */
#ifndef BW_SAVEQ_H
#define BW_SAVEQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct bw_saveq bw_saveq;

/* For a plan of n projects, swept in *order (a permutation of 0..n-1, taken:
 * *order becomes NULL; NULL or *order NULL: index order); NULL when out of
 * memory (*order is then still the caller's). */
bw_saveq *bw_saveq_new(size_t n, uint32_t **order, int64_t watermark);
void bw_saveq_free(bw_saveq **q);

/* The project's row must be written at the next flush. */
void bw_saveq_now(bw_saveq *q, uint32_t project);
/* The project's totals moved; its row may be written at a later flush. */
void bw_saveq_later(bw_saveq *q, uint32_t project);
/* Every project's row is written at the next flush (start, plan reload). */
void bw_saveq_all(bw_saveq *q);

/* Writes one row: 0, or -1 to stop the flush (the caller's error). */
typedef int (*bw_saveq_fn)(void *ctx, uint32_t project, int64_t upto);

/* At a commit: `upto` is the largest events rowid, every event up to it
 * applied. Writes each "now" row and up to `budget` of the later rows
 * (SIZE_MAX: all of them), looking at no more than 16 sweep positions per
 * row. Returns 1 when the watermark moved (the caller saves
 * bw_saveq_watermark in the same transaction), 0 when not, -1 when fn failed
 * (the queue is then no longer exact: the caller stops). */
int bw_saveq_flush(bw_saveq *q, int64_t upto, size_t budget, bw_saveq_fn fn, void *ctx);

/* Every project row holds all its events with rowid <= the watermark. */
int64_t bw_saveq_watermark(const bw_saveq *q);
/* Rows waiting to be written later (for stats and the flush budget). */
size_t bw_saveq_pending(const bw_saveq *q);

#endif
