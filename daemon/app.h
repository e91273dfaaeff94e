/* app: the application context that the shell's modules share — the
 * configuration, the ledger, the engine, the sources, the calendar, the keys,
 * the open batch and the counters. The loop (loop.c) owns it; ingest, control,
 * publish, reload and the views receive it and own only what their own
 * headers say. None of them calls back into the loop: they add to the batch
 * and return, and the loop commits (see batch.h). */
#ifndef BW_APP_H
#define BW_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "calendar.h"
#include "config.h"
#include "engine.h"
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

/* A histogram of commit latencies for `stats` (and so for Prometheus):
 * le[i] counts the commits that took at most bw_latency_bounds[i] µs
 * (cumulative, as Prometheus buckets are); count and sum_us are all of
 * them. The bounds are fixed so that every scrape adds up. */
#define BW_LATENCY_BUCKETS 14
extern const uint64_t bw_latency_bounds[BW_LATENCY_BUCKETS];
typedef struct bw_latency {
    uint64_t count, sum_us, le[BW_LATENCY_BUCKETS];
} bw_latency;
void bw_latency_observe(bw_latency *h, uint64_t us);

typedef struct bw_stats {
    uint64_t accepted, duplicates, rejected[BW_REJ_COUNT];
    uint64_t gaps, restarts, batches, alerts, control_requests, control_errors;
    uint64_t bad_frames;        /* messages with the wrong number of frames */
    uint64_t control_denied;    /* control requests a key's role does not allow */
    uint64_t dead_letters_dropped;  /* rejects not kept: max_dead_letters were waiting */
    uint64_t integrity_checks, integrity_failures;  /* background integrity checks run, damaged */
    bw_latency commit_latency;  /* bw_batch_commit: the rows and SQLite's COMMIT */
} bw_stats;

/* Exit statuses (sysexits.h values; budgetwatchd(8) lists them). */
enum {
    BW_EXIT_FAILURE = 1,        /* anything else */
    BW_EXIT_DAMAGED = 65,       /* EX_DATAERR: the ledger is damaged or was changed behind our back */
    BW_EXIT_STORE = 74,         /* EX_IOERR: the ledger cannot be opened, read or written */
    BW_EXIT_IN_USE = 75,        /* EX_TEMPFAIL: another budgetwatchd holds the ledger or an address */
    BW_EXIT_CONFIG = 78,        /* EX_CONFIG: configuration, plan, keys, time zone */
};

typedef struct bw_batch bw_batch;

typedef struct bw_app {
    bw_config cfg;
    bw_store *store;
    bw_engine *engine;          /* NULL only when a reload lost it (the loop then stops) */
    bw_sources *sources;
    bw_auth *auth;              /* NULL in tests without sockets */
    bw_calendar cal;
    bw_batch *batch;
    bw_stats stats;
    int64_t started_at;         /* wall clock, for uptime */
    int64_t ledger_damaged_since;   /* 0: no damage found */
} bw_app;

/* The daemon's "now": the wall clock, or with clock = event the engine's instant. */
int64_t bw_app_now(const bw_app *a);

/* The status a store error stops the daemon with: damaged or unwritable. */
int bw_app_store_exit(const bw_err *err);

#endif
