/* ckpt: WAL checkpoints on a libuv worker thread, after commits. */
#ifndef BW_CKPT_H
#define BW_CKPT_H

#include <stdbool.h>

#include <uv.h>

#include "app.h"

typedef struct bw_ckpt {
    uv_loop_t *loop;            /* NULL: no loop yet, no checkpoints */
    bw_app *app;
    uv_work_t work;
    bool busy;
    int base;                   /* WAL frames already in the database */
    int rc, done;               /* the worker's result, read once it is done */
    bw_err err;
} bw_ckpt;

void bw_ckpt_init(bw_ckpt *c, uv_loop_t *loop, bw_app *a);
/* Starts a checkpoint on a worker when the WAL has grown enough. */
void bw_ckpt_after_commit(bw_ckpt *c);

#endif
