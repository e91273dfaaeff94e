/* active: the console's mirror of the daemon's active alerts — a snapshot
 * from `alerts`, then every message of the stream applied in seq order
 * (PROTOCOL.md §1.4), read again whenever a seq is missing or a heartbeat is
 * ahead — so that the overview's counts by severity, band and handling state
 * cost no round trip and no walk of a province's hundreds of thousands of
 * alerts per page; and the 预警 page's newest active alerts come from it too.
 * Each entry is its key and counts (about 140 bytes) and the message packed
 * as on the wire (about 300), kept sorted by (project, kind). Pure: the
 * caller feeds it. */
#ifndef BWW_ACTIVE_H
#define BWW_ACTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct bww_active_entry {
    char project[BW_CODE_LEN_MAX + 1];
    uint8_t kind, severity, state;
    char band[32], handling[24];
    uint64_t seq;
    char *msg;                  /* owned: the message, bw_alert_encode'd */
    size_t len;
} bww_active_entry;

typedef struct bww_active {
    size_t n, cap;
    bww_active_entry *v;        /* owned, sorted by (project, kind) */
    uint64_t seq;               /* the last seq applied (snapshot or stream) */
    bool synced;                /* a snapshot was loaded and no seq was missed since */
} bww_active;

typedef struct bww_active_counts {
    unsigned severity[3];       /* by bw_severity */
    unsigned unhandled, handled;
    unsigned handling[BW_HANDLINGS];    /* by bw_handling: 未处理, 已督办, 已整改, 认定正常, 认定违规 */
    size_t nbands;
    struct { char band[32]; unsigned n; } bands[16];   /* the first 16 band names */
} bww_active_counts;

void bww_active_free(bww_active *a);
/* Replaces the mirror with a snapshot (the `alerts` reply). -1 out of memory. */
int bww_active_load(bww_active *a, const bww_alerts *snapshot);
/* Applies one streamed message. Returns 0; 1 when the mirror has lost step
 * (a seq is missing) and must be loaded again; -1 out of memory. A message
 * at or below the mirror's seq is already in it and is skipped. */
int bww_active_apply(bww_active *a, const bww_alert *m);
/* Whether a heartbeat's seq says messages were missed. */
bool bww_active_behind(const bww_active *a, uint64_t heartbeat_seq);
void bww_active_count(const bww_active *a, bww_active_counts *c);
/* The newest n active alerts by their last seq, oldest of them first, into
 * *out (the caller's, freed with bww_alerts_free); out->seq = the mirror's
 * seq. -1 out of memory. */
int bww_active_newest(const bww_active *a, size_t n, bww_alerts *out);

#endif
