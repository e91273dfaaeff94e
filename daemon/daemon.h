/* daemon: budgetwatchd's shell — one libuv loop driving the ZeroMQ sockets, the
 * SQLite store and the pure engine. Data flows one way: socket → decode (proto)
 * → store (commit) → core (apply, evaluate) → publish. This header is shared by
 * the shell's modules (daemon.c, ingest.c, publish.c, control.c); it is not an API. */
#ifndef BW_DAEMON_H
#define BW_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "engine.h"
#include "auth.h"
#include "err.h"
#include "proto.h"
#include "saveq.h"
#include "sources.h"
#include "store.h"

/* Why events are rejected, for `stats`. */
typedef enum bw_reject_class {
    BW_REJ_MALFORMED,       /* not a valid event message (decode failure, frames) */
    BW_REJ_UNKNOWN_PROJECT,
    BW_REJ_UNIT_MISMATCH,
    BW_REJ_OUT_OF_YEAR,
    BW_REJ_FUTURE,
    BW_REJ_BAD_REFUND,      /* past zero, unknown or mismatched ref */
    BW_REJ_OVERFLOW,
    BW_REJ_TOO_MANY_SOURCES,
    BW_REJ_UNAUTHORIZED,    /* a CURVE key no longer authorized, or a src not its own */
    BW_REJ_COUNT
} bw_reject_class;

const char *bw_reject_class_name(int c);

typedef struct bw_pending_ack {
    uint8_t idlen;
    unsigned char id[255];      /* the ROUTER's routing id of the sender */
    bw_ack ack;
} bw_pending_ack;

typedef struct bw_stats {
    uint64_t accepted, duplicates, rejected[BW_REJ_COUNT];
    uint64_t gaps, restarts, batches, alerts, control_requests, control_errors;
    uint64_t bad_frames;        /* messages with the wrong number of frames */
    uint64_t control_denied;    /* control requests a key's role does not allow */
    uint64_t dead_letters_dropped;  /* rejects not kept: max_dead_letters were waiting */
    uint64_t integrity_checks, integrity_failures;  /* background integrity checks run, damaged */
} bw_stats;

typedef struct bw_daemon {
    bw_config cfg;
    uv_loop_t loop;
    void *zctx;
    void *sub, *router, *pub, *rep;
    bool sub_curve, router_curve, rep_curve;   /* CURVE servers: check each peer */
    bw_auth *auth;
    uv_poll_t sub_poll, router_poll, rep_poll;
    uv_idle_t drain;            /* keeps draining when a turn stopped at batch_max */
    uv_timer_t alert_timer, hb_timer, wd_timer;
    uv_signal_t sighup, sigterm, sigint;

    bw_store *store;
    bw_engine *engine;
    bw_sources *sources;
    int lock_fd;                /* flock on STATE_DIR/budgetwatchd.lock; -1 = none */
    bw_calendar cal;

    bool in_txn;                /* a transaction is open (a batch is under way) */
    uint64_t alert_seq;         /* last alert seq published */
    bw_alert_msg *pending;      /* alerts committed with this batch, published after */
    size_t npending, cap_pending;
    bw_pending_ack *acks;       /* acks to send after the commit */
    size_t nacks, cap_acks;
    bw_saveq *saveq;            /* project rows to write, now or later */
    uint64_t *row_digest;       /* per project: the digest of its saved row */
    uint64_t digest;            /* their sum, and the rows of dropped projects' */
    size_t batch_events;        /* events that moved totals in this batch */
    bool save_all_totals;       /* the next commit empties the queue (verify, stop) */

    uv_work_t ckpt_work;        /* a WAL checkpoint on a worker thread (ckpt.c) */
    bool ckpt_busy;
    int ckpt_base;              /* WAL frames already in the database */
    int ckpt_rc, ckpt_done;     /* the worker's result, read once it is done */
    bw_err ckpt_err;

    uv_timer_t ichk_timer;      /* the ledger's integrity check (integrity.c) */
    uv_work_t ichk_work;
    bool ichk_busy;
    int64_t ichk_problems;      /* the worker's result, read once it is done */
    char ichk_first[BW_PROBLEM_MAX];
    bw_err ichk_err;
    int64_t ledger_damaged_since;   /* 0: no damage found */

    bw_stats stats;
    int64_t started_at;         /* wall clock, for uptime */
    bool stopping;
    bool loop_ready;
    bool status_sent;           /* STATUS= is re-sent only when a count changed */
    uint64_t status_sum;
    int exit_code;
} bw_daemon;

/* Exit statuses (sysexits.h values; budgetwatchd(8) lists them). */
enum {
    BW_EXIT_FAILURE = 1,        /* anything else */
    BW_EXIT_DAMAGED = 65,       /* EX_DATAERR: the ledger is damaged or was changed behind our back */
    BW_EXIT_STORE = 74,         /* EX_IOERR: the ledger cannot be opened, read or written */
    BW_EXIT_IN_USE = 75,        /* EX_TEMPFAIL: another budgetwatchd holds the ledger or an address */
    BW_EXIT_CONFIG = 78,        /* EX_CONFIG: configuration, plan, keys, time zone */
};

/* daemon.c: life cycle. */
int bw_daemon_init(bw_daemon *d, const bw_config *cfg, bw_err *err);
int bw_daemon_run(bw_daemon *d);
void bw_daemon_fini(bw_daemon *d);
/* The daemon's "now": wall clock, or in event mode the engine's instant. */
int64_t bw_daemon_now(const bw_daemon *d);
/* Reloads the plan: validate fully, swap only when valid. */
int bw_daemon_reload(bw_daemon *d, bw_err *err);
/* Loads and validates config + plan without starting anything (--check). */
int bw_daemon_check(const bw_config *cfg, bw_err *err);
/* budgetwatchd --rebuild-totals: takes the ledger's lock, then
 * bw_store_rebuild_totals. Returns 0, or a BW_EXIT_* status with err filled. */
int bw_daemon_rebuild_totals(const bw_config *cfg, int64_t *rows, bw_err *err);
/* Builds the calendar and parses the plan named by cfg. */
int bw_daemon_load_plan(const bw_config *cfg, bw_calendar *cal, bw_plan **plan, bw_err *err);

/* The ledger failed a write: rolls the batch back, drops its acks and
 * alerts, and stops the loop with BW_EXIT_STORE. */
void bw_daemon_store_failed(bw_daemon *d, const bw_err *why);

/* Batches: begin lazily, then commit + send acks + publish alerts. */
int bw_batch_begin(bw_daemon *d);
int bw_batch_checkpoint(bw_daemon *d);
/* Commits and publishes what is pending, then opens a new transaction (for
 * callers that filled the pending alerts in the middle of a batch). */
int bw_batch_flush_pending(bw_daemon *d);
/* The project's row goes to disk with this batch (alert state, budget). */
void bw_touch(bw_daemon *d, uint32_t project);
/* The project's totals moved: its row is written within a few batches. */
void bw_touch_totals(bw_daemon *d, uint32_t project);
/* Commits the batch with every queued row written, so that the saved totals
 * equal the ledger (verify); no batch is open afterwards. */
int bw_batch_save_all_totals(bw_daemon *d);

/* integrity.c: starts the periodic integrity_check of the ledger on a worker. */
int bw_integrity_start(bw_daemon *d, bw_err *err);

/* ckpt.c: starts a WAL checkpoint on a worker thread when the WAL has grown. */
void bw_ckpt_after_commit(bw_daemon *d);

/* ingest.c: one event message from SUB (ack == NULL) or ROUTER. peer: the
 * CURVE key name it came with (its src must be that name), "" for a key no
 * longer authorized, NULL for a socket without CURVE. replay: the message
 * comes from the dead letters (a new rejection is not stored again). Returns
 * the ack status. */
int bw_ingest_event(bw_daemon *d, const void *raw, size_t len, const char *peer, bw_ack *ack,
                    bool replay);
void bw_ingest_reject(bw_daemon *d, bw_reject_class cls, const char *src, const char *id,
                      const void *raw, size_t len, const char *reason, const char *peer,
                      bw_ack *ack, bool replay);
/* Moves time to `to`, evaluating every instant passed. */
void bw_advance(bw_daemon *d, int64_t to);

/* publish.c */
void bw_on_alert(void *ctx, const bw_alert *a);    /* the engine's callback */
/* Logs, stores and queues a message for publication after the commit. */
int bw_publish_queue(bw_daemon *d, bw_alert_msg *m);
void bw_alert_to_msg(const bw_daemon *d, const bw_alert *a, bw_alert_msg *m);
void bw_publish_flush(bw_daemon *d);
void bw_publish_heartbeat(bw_daemon *d);

/* control.c: one request, one reply (caller owns out). */
/* role and name: who sent it (by CURVE key; an ipc:// client is an admin). */
void bw_control_handle(bw_daemon *d, const char *req, size_t len, bw_role role, const char *name,
                       msgpack_sbuffer *out);

#endif
