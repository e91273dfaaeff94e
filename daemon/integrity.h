/* integrity: SQLite's integrity_check of the ledger file on a libuv worker
 * thread, every [store] integrity_check_interval. */
#ifndef BW_INTEGRITY_H
#define BW_INTEGRITY_H

#include <stdbool.h>

#include <uv.h>

#include "app.h"

/* Called on the loop thread when a check found damage, with its first problem. */
typedef void (*bw_damage_fn)(void *ctx, const char *first);

typedef struct bw_ichk {
    uv_timer_t timer;
    uv_work_t work;
    bw_app *app;
    bw_damage_fn on_damage;
    void *ctx;
    const bool *stopping;       /* the loop's: no check starts or reports once it is set */
    bool busy;
    int64_t problems;           /* the worker's result, read once it is done */
    char first[BW_PROBLEM_MAX];
    bw_err err;
} bw_ichk;

/* Initializes the timer on loop (its handle then needs uv_close). */
int bw_ichk_init(bw_ichk *c, uv_loop_t *loop, bw_app *a, bw_damage_fn fn, void *ctx,
                 const bool *stopping, bw_err *err);
/* Starts the periodic check (none with an interval of 0). */
int bw_ichk_start(bw_ichk *c, bw_err *err);

#endif
