/* daemon: budgetwatchd — its life cycle (daemon.c: lock, ledger, restore,
 * start, stop) and its loop (loop.c: one libuv loop watching every ZeroMQ
 * socket, the timers and the signals, and the one place that commits). The
 * modules below the loop get the application context (app.h), never this. */
#ifndef BW_DAEMON_H
#define BW_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "app.h"
#include "ckpt.h"
#include "flush.h"
#include "integrity.h"

typedef struct bw_daemon {
    bw_app app;
    uv_loop_t loop;
    bool loop_ready;
    void *zctx;
    void *sub, *router, *pub, *rep;
    bool sub_curve, router_curve, rep_curve;   /* CURVE servers: check each peer */
    uv_poll_t sub_poll, router_poll, rep_poll;
    uv_idle_t drain;            /* keeps draining when a turn stopped at batch_max */
    uv_timer_t alert_timer, hb_timer, wd_timer;
    uv_signal_t sighup, sigterm, sigint;
    bw_ckpt ckpt;
    bw_flush flush;
    bw_ichk ichk;
    bool paused;                /* the ROUTER is not read: too many acks wait for a sync */
    int lock_fd;                /* flock on STATE_DIR/budgetwatchd.lock; -1 = none */
    bool stopping;
    bool status_sent;           /* STATUS= is re-sent only when a count changed */
    uint64_t status_sum;
    int exit_code;
} bw_daemon;

/* daemon.c: life cycle. init returns 0, or -1 with err and d->exit_code set. */
int bw_daemon_init(bw_daemon *d, const bw_config *cfg, bw_err *err);
int bw_daemon_run(bw_daemon *d);
void bw_daemon_fini(bw_daemon *d);
/* Opens the ledger STATE_DIR/ledger.db of a->cfg (set before; the rest
 * zeroed), loads the plan and restores the state: 0, or the BW_EXIT_* status
 * to stop with, err filled. No sockets, no lock: the caller holds the lock
 * (budgetwatchd) or a ledger of its own (the shell's unit tests). */
int bw_app_open(bw_app *a, bw_err *err);
/* Frees what bw_app_open made; the batch must not be open. */
void bw_app_close(bw_app *a);
/* budgetwatchd --rebuild-totals: takes the ledger's lock, then
 * bw_store_rebuild_totals. Returns 0, or a BW_EXIT_* status with err filled. */
int bw_daemon_rebuild_totals(const bw_config *cfg, int64_t *rows, bw_err *err);

/* loop.c */
/* Opens the sockets and starts the timers and signals. */
int bw_loop_open(bw_daemon *d, bw_err *err);
/* Evaluates every instant up to the wall clock (or the engine's now), then
 * commits: at start, so that alerts that fell due while the daemon was down
 * go out now. 0, or -1 when the ledger failed (d->exit_code set). */
int bw_loop_catch_up(bw_daemon *d);
/* The loop turn's end, also at a stop: commits with every row saved. */
int bw_loop_stop_commit(bw_daemon *d);
/* Runs until a signal or a failure stops it; drains first. */
void bw_loop_run(bw_daemon *d);
void bw_loop_close(bw_daemon *d);

#endif
