/* view: the figures every surface shows — status rows, stats, the active
 * alerts, the alert history, a verify result — as C structures, and their
 * encoders into control replies (PROTOCOL.md §3). The daemon builds them
 * (daemon/views.c); the control socket packs them here, and the coming
 * surfaces (HTTP console, metrics, reports) read the same structures.
 *
 * Strings in a view are borrowed from whoever built it (the plan, mostly)
 * and valid until that changes; the view's arrays are the view's own. Every
 * encoder counts its own keys (bw_mapw): adding a field is one line. */
#ifndef BW_VIEW_H
#define BW_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto.h"

/* A map whose size is written when it ends: the header is a map32 patched
 * in place, so the writer need not count in advance (msgpack allows any
 * map's size in a map32). Only into an sbuffer. */
typedef struct bw_mapw {
    msgpack_sbuffer *sb;
    msgpack_packer pk;
    size_t at;                  /* offset of the header in sb */
    uint32_t n;
} bw_mapw;

void bw_mapw_begin(bw_mapw *m, msgpack_sbuffer *sb);
/* Packs key and returns the packer for its value (one value per key). */
msgpack_packer *bw_mapw_key(bw_mapw *m, const char *key);
void bw_mapw_str(bw_mapw *m, const char *key, const char *val);
void bw_mapw_int(bw_mapw *m, const char *key, int64_t val);
void bw_mapw_uint(bw_mapw *m, const char *key, uint64_t val);
void bw_mapw_bool(bw_mapw *m, const char *key, bool val);
void bw_mapw_end(bw_mapw *m);

/* One status row: a project, a unit's subtotal or the department's total. */
typedef struct bw_view_row {
    const char *unit, *unit_name, *project, *project_name;     /* "" where none */
    int64_t budget, paid, paid_fiscal, paid_other, shortfall;  /* fen */
    int32_t rate_bp, planned_bp, lag_bp, pace_bp;
    uint8_t severity;           /* worst firing severity, 0 = none */
    uint32_t firing;            /* firing alerts */
    uint32_t projects;          /* projects summed */
    int64_t plan_budget;        /* the budget of the plan, before any adjustment (预算数) */
    const char *band;           /* worst firing lag band's name, "" none */
    uint8_t basis;              /* bw_basis: what the row is judged against */
    int32_t pace_lag_bp;        /* pace_bp - rate_bp */
    int64_t pace_shortfall;     /* 序时进度's share of the budget - paid, fen */
} bw_view_row;

typedef struct bw_view_status {
    int64_t at;                 /* the instant of the figures */
    int32_t pace_bp;            /* 序时进度 at `at` */
    size_t nprojects, nunits;
    bw_view_row *projects;      /* in the order asked for */
    bw_view_row *units;
    bw_view_row total;          /* 部门整体 */
    uint64_t matched;           /* project rows matching the filters, before paging */
} bw_view_status;

/* The `series` reply: a project's, a unit's or the department's cumulative
 * paid money by local day, and its plan line (PROTOCOL.md, series). */
typedef struct bw_view_point {
    int64_t t;                  /* Unix s: the end of a local day, a deadline, ... */
    int64_t fen;                /* cumulative paid, or planned, at t */
} bw_view_point;

typedef struct bw_view_series {
    int64_t budget, year_start, year_end, now;
    size_t npoints, nplan;
    bw_view_point *points;      /* owned by the view */
    bw_view_point *plan;
} bw_view_series;
/* A page of one project's payments (accepted events), newest first. */
typedef struct bw_view_payment {
    int64_t row;                /* events rowid: the cursor */
    int64_t received_at;
    bw_event ev;
} bw_view_payment;

typedef struct bw_view_payments {
    size_t n;
    bw_view_payment *v;         /* owned */
    int64_t total;              /* the project's events */
    int64_t next;               /* the `before` of the next page; 0 at the end */
} bw_view_payments;

typedef struct bw_view_adjustment {
    int64_t old_budget, new_budget, at;
    char reason[BW_TEXT_MAX + 1];
} bw_view_adjustment;

typedef struct bw_view_adjustments {
    size_t n;
    bw_view_adjustment *v;      /* owned, oldest first */
} bw_view_adjustments;

/* A count under a name (reject classes, auth domains). */
typedef struct bw_view_count {
    const char *name;
    uint64_t n;
} bw_view_count;

/* Active alerts of one kind, severity, state, band ("" for a kind without
 * bands) and handling step, counted. */
typedef struct bw_view_active {
    const char *kind, *severity, *state;
    uint64_t n;
    const char *band, *handling;
} bw_view_active;

typedef struct bw_view_stats {
    uint64_t accepted, duplicates, gaps, restarts, batches;
    int64_t uptime, events_in_ledger, dead_letters_pending;
    uint64_t dead_letters_dropped, integrity_checks, integrity_failures, projects, alert_seq;
    uint64_t bad_frames, sources, control_denied, control_requests, control_errors;
    size_t nrejected, nauth;
    bw_view_count rejected[16];     /* by reason class */
    bw_view_count auth_denied[8];   /* by socket domain */
    /* The commit-latency histogram: counts[i] commits took <= bounds[i] µs. */
    size_t nlatency;
    uint64_t latency_bounds[16], latency_counts[16], latency_sum_us, latency_count;
    int64_t wal_bytes;          /* the ledger's WAL file now, -1 unknown */
    /* The active alerts counted by kind, severity and state (firing or
     * acknowledged), band and handling, only the non-zero ones: what
     * `alerts` would list, without making 100,000 messages to count them. */
    size_t nactive;
    bw_view_active active[256];
} bw_view_stats;

/* Alert messages: the active alerts (each with the seq it was last
 * published with) or a stretch of the history. Neither holds a struct per
 * message (1.4 KB): a history keeps its messages packed as on the wire
 * (about 300 bytes each, up to 100,000 of them), and the active alerts of a
 * province's plan, which may be millions, keep what makes each (make, with
 * ctx). bw_view_alerts_get gives the i-th as a struct either way. */
typedef struct bw_view_alerts {
    uint64_t seq;               /* active: the last alert seq published */
    bool truncated;             /* history: the log holds older matching alerts */
    size_t n;
    /* history: message i is packed[off[i] .. off[i + 1]) */
    msgpack_sbuffer packed;
    size_t *off, cap;
    /* active: */
    void (*make)(const void *ctx, size_t i, bw_alert_msg *out);
    void *ctx;                  /* freed with the view */
} bw_view_alerts;

typedef struct bw_view_difference {
    const char *project;        /* owned by the view */
    int64_t saved_fiscal, saved_other, ledger_fiscal, ledger_other;
} bw_view_difference;

typedef struct bw_view_verify {
    bool damaged;
    int64_t checked;            /* projects compared (0 when damaged) */
    size_t ndamage, ndiff;
    char **damage;              /* integrity_check's problems (owned) */
    bw_view_difference *diff;
    int64_t daily_differences;  /* (project, day) sums that differ from the events */
} bw_view_verify;

void bw_view_status_free(bw_view_status *v);
void bw_view_alerts_free(bw_view_alerts *v);
void bw_view_verify_free(bw_view_verify *v);
void bw_view_series_free(bw_view_series *v);
void bw_view_payments_free(bw_view_payments *v);
void bw_view_adjustments_free(bw_view_adjustments *v);
/* Appends m to a history view (zeroed to start); -1 when out of memory. */
int bw_view_alerts_add(bw_view_alerts *v, const bw_alert_msg *m);
/* Drops a history view's last (newest) message. */
void bw_view_alerts_drop_last(bw_view_alerts *v);
/* Drops a history view's first (oldest) message. */
void bw_view_alerts_drop_first(bw_view_alerts *v);
/* The i-th message of the view, i < n. */
void bw_view_alerts_get(const bw_view_alerts *v, size_t i, bw_alert_msg *out);

/* Encoders: each adds the view's keys to the reply map m (PROTOCOL.md §3). */
void bw_view_row_pack(msgpack_sbuffer *sb, const bw_view_row *r);
void bw_view_status_put(bw_mapw *m, const bw_view_status *v);
void bw_view_stats_put(bw_mapw *m, const bw_view_stats *v);
void bw_view_alerts_put(bw_mapw *m, const bw_view_alerts *v);     /* seq, alerts */
void bw_view_history_put(bw_mapw *m, const bw_view_alerts *v);    /* truncated, alerts */
void bw_view_verify_put(bw_mapw *m, const bw_view_verify *v);
/* budget, year_start, year_end, now, points, plan */
void bw_view_series_put(bw_mapw *m, const bw_view_series *v);
void bw_view_payments_put(bw_mapw *m, const bw_view_payments *v);      /* payments, total, next */
void bw_view_adjustments_put(bw_mapw *m, const bw_view_adjustments *v); /* adjustments */

#endif
