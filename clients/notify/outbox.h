/* outbox: the notifier's durable record, its own SQLite file. It holds every
 * alert message taken from the daemon (and the last seq taken, so a restart
 * reads on from there), the queue of (receiver, alert) pairs waiting to be
 * grouped, every notification made from them (one row per message per
 * receiver, with its exact payload) and every attempt to deliver one with
 * the receiver's answer. Nothing is deleted: the outbox is the audit log.
 *
 * Each function runs one statement; the caller brackets what must happen
 * together with bwn_outbox_begin/commit (taking an alert = the alert, its
 * queue rows and the new last seq, in one transaction). Errors: -1 with the
 * reason (naming the file) in bwn_outbox_error. */
#ifndef BWN_OUTBOX_H
#define BWN_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"

typedef struct bwn_outbox bwn_outbox;

/* Opens (creating) the outbox at path. NULL with the reason in err (512 bytes). */
bwn_outbox *bwn_outbox_open(const char *path, char *err);
void bwn_outbox_close(bwn_outbox **o);
const char *bwn_outbox_error(const bwn_outbox *o);

int bwn_outbox_begin(bwn_outbox *o);
int bwn_outbox_commit(bwn_outbox *o);
void bwn_outbox_rollback(bwn_outbox *o);

/* The last alert seq taken (0 before the first). */
int bwn_outbox_last_seq(bwn_outbox *o, uint64_t *seq);
int bwn_outbox_set_last_seq(bwn_outbox *o, uint64_t seq);

/* Keeps an alert message (its bytes as published). 1 new, 0 already kept, -1 error. */
int bwn_outbox_add_alert(bwn_outbox *o, const bwn_alert *a, const void *raw, size_t len,
                         int64_t now_ms);
/* Queues alert seq for a receiver under a route's group; due_ms is when it may
 * go out (later than now when a mute window holds it). */
int bwn_outbox_queue(bwn_outbox *o, const char *receiver, uint64_t seq, const char *route,
                     const char *group_key, int64_t now_ms, int64_t due_ms);

/* Whether the previous message of alert `key` was firing at this severity
 * and band (so this firing one is a reminder); and remembering this one. A
 * handling step (acknowledged) or a resolution is never a reminder. */
int bwn_outbox_is_reminder(bwn_outbox *o, const char *key, const bwn_alert *a, bool *reminder);

/* Each group with queued alerts that are due by now: fn(ctx, receiver,
 * route, group_key, first queued_at). fn returns 0 to go on. */
typedef int (*bwn_group_fn)(void *ctx, const char *receiver, const char *route,
                            const char *group_key, int64_t first_ms);
int bwn_outbox_groups_each(bwn_outbox *o, int64_t now_ms, bwn_group_fn fn, void *ctx);
/* When the group last had a digest made (0: never), and setting it. */
int bwn_outbox_group_last(bwn_outbox *o, const char *receiver, const char *route,
                          const char *group_key, int64_t *last_ms);
int bwn_outbox_group_set_last(bwn_outbox *o, const char *receiver, const char *route,
                              const char *group_key, int64_t last_ms);
/* The group's due alerts in seq order: fn(ctx, seq, raw, len). */
typedef int (*bwn_item_fn)(void *ctx, uint64_t seq, const void *raw, size_t len);
int bwn_outbox_group_items(bwn_outbox *o, const char *receiver, const char *route,
                           const char *group_key, int64_t now_ms, bwn_item_fn fn, void *ctx);

/* A new notification (pending, due now); *id is its number, which receivers
 * see (notification_id, 通知编号) and may dedupe by. */
int bwn_outbox_note_new(bwn_outbox *o, const char *receiver, const char *route,
                        const char *group_key, const char *title, size_t nalerts, int64_t now_ms,
                        int64_t *id);
int bwn_outbox_note_payload(bwn_outbox *o, int64_t id, const char *payload, size_t len);
/* Puts queued alert seq of receiver into notification id. */
int bwn_outbox_assign(bwn_outbox *o, const char *receiver, uint64_t seq, int64_t id);

/* The receiver's oldest pending notification due by now: 1 found (payload
 * malloc'ed, the caller frees), 0 none. */
typedef struct bwn_note {
    int64_t id, created_ms;
    int attempts;
    char *payload;
    size_t len;
} bwn_note;
int bwn_outbox_note_due(bwn_outbox *o, const char *receiver, int64_t now_ms, bwn_note *n);
/* The earliest next_at of the receiver's pending notifications (INT64_MAX: none). */
int bwn_outbox_note_next(bwn_outbox *o, const char *receiver, int64_t *next_ms);

/* An attempt starts (kept as 'sending' until it ends, so a crash leaves a
 * trace and the limiter counts it after a restart). */
int bwn_outbox_attempt_start(bwn_outbox *o, int64_t note, int64_t now_ms, int64_t *attempt);
/* It ended: result "sent", "retry", "limited" or "failed"; the notification
 * becomes sent or failed, or stays pending until next_ms. */
int bwn_outbox_attempt_end(bwn_outbox *o, int64_t attempt, int64_t note, const char *result,
                           long status, const char *answer, int64_t now_ms, int64_t next_ms);
/* Attempts left 'sending' by a crash become 'interrupted'; returns how many. */
int bwn_outbox_interrupted(bwn_outbox *o, int64_t now_ms);
/* When the receiver's attempts since since_ms ended (or started, for one
 * cut short), oldest first: the send limit counts them at their end. */
typedef int (*bwn_time_fn)(void *ctx, int64_t t);
int bwn_outbox_attempt_times(bwn_outbox *o, const char *receiver, int64_t since_ms, bwn_time_fn fn,
                             void *ctx);

/* The alerts still firing for a receiver (the last message of each alert it
 * was given, unless that one resolved it), in seq order: for Alertmanager,
 * which forgets an alert not posted again within its resolve_timeout. */
int bwn_outbox_firing_each(bwn_outbox *o, const char *receiver, bwn_item_fn fn, void *ctx);

/* Counts of notifications by state, and of failed ones. */
int bwn_outbox_counts(bwn_outbox *o, int64_t *pending, int64_t *sent, int64_t *failed);

/* The audit log, oldest first: one call per notification (optionally only
 * those carrying an alert of `project`, made at or after since_ms). */
typedef struct bwn_log_row {
    int64_t id, created_ms, done_ms;
    const char *receiver, *state, *title, *answer, *alerts;  /* alerts: "seq kind project; ..." */
    int attempts, nalerts;
} bwn_log_row;
typedef int (*bwn_log_fn)(void *ctx, const bwn_log_row *r);
int bwn_outbox_log(bwn_outbox *o, const char *project, int64_t since_ms, bwn_log_fn fn, void *ctx);
/* The same log under a filter (the CLI's `log` and the query endpoint read
 * it): notifications carrying an alert of project / kind / with seq (NULL,
 * NULL, 0: any), made at or after since_ms; limit 0 all of them oldest
 * first, else the newest `limit` newest first, and *more (may be NULL) says
 * whether older ones were left out. */
typedef struct bwn_log_filter {
    const char *project, *kind;
    uint64_t seq;
    int64_t since_ms;
    uint32_t limit;
} bwn_log_filter;
int bwn_outbox_find(bwn_outbox *o, const bwn_log_filter *f, bwn_log_fn fn, void *ctx, bool *more);
/* A notification's alerts in seq order, and its attempts oldest first
 * (ended_ms 0 and status -1 when there is none). */
typedef int (*bwn_note_alert_fn)(void *ctx, uint64_t seq, const char *kind, const char *state,
                                 const char *project);
int bwn_outbox_note_alerts(bwn_outbox *o, int64_t note, bwn_note_alert_fn fn, void *ctx);
typedef int (*bwn_attempt_fn)(void *ctx, int64_t started_ms, int64_t ended_ms, const char *result,
                              long status, const char *answer);
int bwn_outbox_note_attempts(bwn_outbox *o, int64_t note, bwn_attempt_fn fn, void *ctx);

#endif
