/* model: what the console shows, as C structures decoded from the daemon's
 * replies (proto/PROTOCOL.md) — status rows, alerts, payments, adjustments,
 * a series — so that the page builders (pages.h) work from fixed values in
 * tests and from the daemon in service alike. Keys a newer daemon adds
 * (band, handling) are read when present and "" when not. */
#ifndef BWW_MODEL_H
#define BWW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto.h"

typedef struct bww_row {
    bw_status_row r;
    char band[32];              /* the worst firing lag band, "" when none or unknown */
} bww_row;

typedef struct bww_status {
    int64_t at;
    int32_t pace_bp;
    uint64_t matched;
    bww_row total;
    size_t nunits, nprojects;
    bww_row *units, *projects;  /* owned */
} bww_status;

typedef struct bww_alert {
    bw_alert_msg m;
    char band[32], handling[24];
} bww_alert;

typedef struct bww_alerts {
    uint64_t seq;
    bool truncated;
    size_t n;
    bww_alert *v;               /* owned */
} bww_alerts;

typedef struct bww_payment {
    int64_t row, ts, amount, received_at;
    char src[BW_SRC_MAX + 1], id[BW_ID_MAX + 1], ref[BW_ID_MAX + 1];
    char type[16], fund[8];
} bww_payment;

typedef struct bww_payments {
    size_t n;
    bww_payment *v;             /* owned */
    int64_t total, next;
} bww_payments;

typedef struct bww_adjustment {
    int64_t old_budget, new_budget, at;
    char reason[BW_TEXT_MAX + 1];
} bww_adjustment;

typedef struct bww_adjustments {
    size_t n;
    bww_adjustment *v;          /* owned */
} bww_adjustments;

/* A notification from budgetwatch-notify's log (its query endpoint,
 * budgetwatch-notify(8)): to whom, in which state, when, with which answer,
 * carrying which alert messages (the first BWW_NOTE_ALERTS of a digest). */
#define BWW_NOTE_ALERTS 8
#define BWW_NOTE_ATTEMPTS 8
typedef struct bww_note {
    int64_t id, created_ms, at_ms;  /* at: the last attempt's end, else when made */
    char receiver[64], rtype[16], state[16];
    size_t attempts, nattempts;     /* all its attempts, and those in attempt[] (the last ones) */
    struct {
        int64_t at_ms;              /* its end (its start when cut short) */
        char result[16], answer[512];
    } attempt[BWW_NOTE_ATTEMPTS];
    size_t nalerts, nshown;         /* all its alerts, and those in alerts[] */
    struct {
        uint64_t seq;
        char kind[32], state[16], project[BW_CODE_LEN_MAX + 1];
    } alerts[BWW_NOTE_ALERTS];
} bww_note;

typedef struct bww_notes {
    bool more;                  /* older ones were left out */
    size_t n;
    bww_note *v;                /* owned; newest first */
} bww_notes;

/* Each decoder reads a reply map (ok = true) into its structure: 0, or -1
 * with why. The structure is the caller's, freed with its _free. */
int bww_status_decode(const msgpack_object *m, bww_status *s, char *why, size_t whylen);
int bww_alerts_decode(const msgpack_object *m, bww_alerts *a, char *why, size_t whylen);
int bww_payments_decode(const msgpack_object *m, bww_payments *p, char *why, size_t whylen);
int bww_adjustments_decode(const msgpack_object *m, bww_adjustments *a, char *why, size_t whylen);
int bww_notes_decode(const msgpack_object *m, bww_notes *n, char *why, size_t whylen);
void bww_status_free(bww_status *s);
void bww_notes_free(bww_notes *n);
void bww_alerts_free(bww_alerts *a);
void bww_payments_free(bww_payments *p);
void bww_adjustments_free(bww_adjustments *a);

/* Appends a msgpack object as JSON (maps with string keys; anything else
 * as a key is written as its JSON text in a string). */
struct bww_buf;
void bww_json_of(struct bww_buf *b, const msgpack_object *o);

#endif
