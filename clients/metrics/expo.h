/* expo: the Prometheus exposition (text format 0.0.4) of what the daemon
 * said — its stats, the status of its units and department, its active
 * alerts, and per-project series when asked for. Pure: it reads the structs
 * below and appends text to a buffer; no socket, no clock, no globals, so
 * that budgetwatch-metrics and (later) the web console's /metrics write the
 * same text. Money goes out in yuan written from integer fen ("1234.56"),
 * rates as ratios written from basis points ("0.5730"): the decimals are
 * exact, whatever float the scraper makes of them. */
#ifndef BWM_EXPO_H
#define BWM_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* A growing text buffer; oom is set (and the text kept short) when an
 * append could not get memory. Free s with free(). */
typedef struct bwm_buf {
    char *s;
    size_t n, cap;
    bool oom;
} bwm_buf;

typedef struct bwm_count {
    char name[32];
    uint64_t n;
} bwm_count;

/* The daemon's `stats` reply, decoded (scrape.c). */
typedef struct bwm_stats {
    uint64_t accepted, duplicates, gaps, restarts, batches, bad_frames, control_denied,
        control_requests, control_errors, integrity_checks, integrity_failures,
        dead_letters_dropped, alert_seq, sources, projects;
    int64_t uptime, events_in_ledger, dead_letters_pending, wal_bytes;
    bool has_wal;
    size_t nrejected, nauth, nlatency;
    bwm_count rejected[16], auth_denied[8];
    uint64_t latency_bounds_us[16], latency_counts[16], latency_sum_us, latency_count;
} bwm_stats;

/* Active alerts counted by kind, severity, state (firing, acknowledged),
 * lag band ("" for the other kinds, or a daemon before bands) and handling
 * step ("" from a daemon before handling). */
typedef struct bwm_alert_count {
    char kind[24], severity[16], state[16];
    uint64_t n;
    char band[BW_BAND_LEN_MAX + 1], handling[24];
} bwm_alert_count;

typedef struct bwm_input {
    bool up;                    /* the daemon answered; false: only budgetwatch_up 0 */
    bwm_stats stats;
    int32_t pace_bp;
    bw_status_row total;
    const bw_status_row *units;
    size_t nunits;
    const bw_status_row *projects;  /* the per-project rows to expose (already chosen) */
    size_t nprojects;
    bool capped;                /* more projects were asked for than the cap */
    size_t cap;
    bool per_project;           /* per-project series are enabled at all */
    const bwm_alert_count *alerts;
    size_t nalerts;
    double scrape_seconds;      /* how long asking the daemon took */
} bwm_input;

/* Appends the whole exposition of in to out. */
void bwm_expo_write(const bwm_input *in, bwm_buf *out);
/* Counts k active alerts of c's labels into a table of at most max entries
 * (*n used); c->n is ignored. */
void bwm_alert_tally(bwm_alert_count *t, size_t *n, size_t max, const bwm_alert_count *c,
                     uint64_t k);

#endif
