/* store: the durable ledger in SQLite (WAL). Every accepted event, every
 * rejected one with its reason (dead letters), budget adjustments, the alert
 * log, each source's last seq, and per-project totals + alert state kept in the
 * same transaction as the events that changed them, so that a restart needs no
 * re-summing and `verify` can prove totals equal the ledger (账账相符).
 *
 * Writes happen inside bw_store_begin/commit (group commit: the daemon puts one
 * loop turn's events in one transaction). Every call returns 0 (or a count) on
 * success and -1 with the SQLite message and what was being done in err. */
#ifndef BW_STORE_H
#define BW_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "proto.h"

typedef struct bw_store bw_store;

/* Opens (creating if needed) the ledger file; sets WAL and synchronous NORMAL
 * or FULL; creates or checks the schema (user_version). */
bw_store *bw_store_open(const char *path, bool sync_full, bw_err *err);
void bw_store_close(bw_store **s);
/* Whether err, filled by a store call, says the file is damaged (SQLite found
 * a malformed page or no database at all) rather than unreadable or full. */
bool bw_store_err_damaged(const bw_err *err);
/* The ledger file's path, as given to bw_store_open (the store owns it). */
const char *bw_store_path(const bw_store *s);

/* Checkpoints. By default SQLite copies the WAL into the database inside the
 * commit that takes the WAL past 1,000 pages, and that commit waits for two
 * fsyncs. bw_store_checkpoint_apart stops that and opens a second connection,
 * so that a worker thread can run bw_store_checkpoint(apart = true) while the
 * loop goes on committing. A passive checkpoint never blocks a writer, but the
 * WAL only starts over once a checkpoint has caught up with every commit: the
 * loop thread does that last step itself (apart = false, no transaction open).
 * bw_store_wal_frames: frames in the WAL after the last commit (only counted
 * once checkpoints are apart). *done: frames now in the database. */
int bw_store_checkpoint_apart(bw_store *s, bool sync_full, bw_err *err);
int bw_store_wal_frames(const bw_store *s);
/* Durability apart from the commit: bw_store_sync_apart makes commits on
 * the loop's connection return without waiting for the disk (synchronous =
 * NORMAL: a crash of the process loses nothing, a power cut may lose the
 * last commits, never the database's consistency), and bw_store_sync then
 * writes every commit made so far to the disk (an fdatasync of the WAL).
 * bw_store_sync touches only a file descriptor: a worker thread may run it
 * while the loop commits. Without sync_apart it does nothing (each commit
 * synced itself). */
int bw_store_sync_apart(bw_store *s, bw_err *err);
int bw_store_sync(const bw_store *s, bw_err *err);
int bw_store_checkpoint(bw_store *s, bool apart, int *done, bw_err *err);

int bw_store_begin(bw_store *s, bw_err *err);
int bw_store_commit(bw_store *s, bw_err *err);
void bw_store_rollback(bw_store *s);

/* Inserts an accepted event. Returns 1 if new, 0 if (src,id) is already in the
 * ledger (a duplicate: nothing written), -1 on error. */
int bw_store_event_insert(bw_store *s, const bw_event *ev, int64_t received_at, bw_err *err);
/* Removes an accepted event again (the daemon inserts first, so that a resend
 * is a duplicate, and takes the row back if a later check rejects the event). */
int bw_store_event_delete(bw_store *s, const char *src, const char *id, bw_err *err);
/* Whether (src,id) is already in the ledger: 1 yes, 0 no, -1 error. */
int bw_store_event_exists(bw_store *s, const char *src, const char *id, bw_err *err);
/* Looks up an accepted event by (src,id): 1 found (filled), 0 not found, -1 error. */
int bw_store_event_get(bw_store *s, const char *src, const char *id, bw_event *out, bw_err *err);
/* Calls fn for each accepted event with rowid > after_rowid, in insertion
 * (rowid) order, for audits and for rebuilding totals: pass 0 to start at the
 * beginning, or the last rowid seen to go on from there. The event is valid
 * during the call only. fn returns 0 to go on, non-zero to stop (not an error). */
typedef int (*bw_event_fn)(void *ctx, int64_t rowid, const bw_event *ev);
int bw_store_events_each(bw_store *s, int64_t after_rowid, bw_event_fn fn, void *ctx,
                         bw_err *err);
/* Calls fn for each accepted event dated ts >= from_ts, in no particular
 * order (a scan: for the windows of burst and year_end_rush at start). */
int bw_store_events_since(bw_store *s, int64_t from_ts, bw_event_fn fn, void *ctx, bw_err *err);
/* Total refunded against the disbursement (src, ref), not counting the refund
 * `except_id` (the one being checked, already inserted). */
int bw_store_refunded_total(bw_store *s, const char *src, const char *ref, const char *except_id,
                            int64_t *out, bw_err *err);

/* Keeps a rejected message: its raw bytes, what could be read of src/id (may be
 * ""), the reason, the CURVE peer it came from (NULL: none; see the schema),
 * and when. Returns the dead letter's id (> 0) or -1. */
int64_t bw_store_reject_insert(bw_store *s, const char *src, const char *id,
                               const void *raw, size_t rawlen, const char *reason,
                               const char *peer, int64_t at, bw_err *err);
/* Calls fn for each dead letter not yet replayed whose id is above after_id
 * (0: all), oldest first, with its peer as stored (NULL or a name). fn
 * returns 0 to go on, non-zero to stop (then resume after the last id seen). */
typedef int (*bw_reject_fn)(void *ctx, int64_t id, const void *raw, size_t rawlen,
                            const char *reason, const char *peer);
int bw_store_rejects_each(bw_store *s, int64_t after_id, bw_reject_fn fn, void *ctx, bw_err *err);
/* Marks a dead letter as replayed (it stays in the table for the audit). */
int bw_store_reject_mark_replayed(bw_store *s, int64_t id, int64_t at, bw_err *err);
int64_t bw_store_rejects_pending(bw_store *s, bw_err *err);

/* Per-project state (totals, budget, alert slots), keyed by project code; the
 * slots are kept keyed by kind word (daemon/slots.h), so a new kind needs no
 * schema change.
 * `upto` is the events rowid the saved totals reach: they are the sum of the
 * project's events with rowid <= upto, so a restore adds only the later ones
 * (the daemon saves totals lazily; see daemon.c).
 * The restore walks below (projects, sources, adjustments) stop at the first
 * non-zero return of fn and then return -1, keeping the message fn put in err
 * (or saying which row it stopped at). Strings passed to fn are valid during
 * the call only; fn must not start the same walk again. */
int bw_store_project_save(bw_store *s, const char *code, const bw_project_state *st,
                          int64_t upto, bw_err *err);
typedef int (*bw_project_fn)(void *ctx, const char *code, const bw_project_state *st,
                             int64_t upto);
int bw_store_projects_each(bw_store *s, bw_project_fn fn, void *ctx, bw_err *err);

/* The digest of one projects row as bw_store_project_save writes it and
 * bw_store_projects_each reads it back. The ledger keeps the sum (mod 2^64)
 * of the digests of all its rows in meta "totals_digest", written by the
 * daemon in the same transaction as the rows: a row changed by anything but
 * the daemon no longer adds up at the next start. A check against accident
 * and stray tools, not against someone who can write the file at will. */
uint64_t bw_store_row_digest(const char *code, const bw_project_state *st, int64_t upto);

/* Sources: last seq seen per src. */
int bw_store_source_save(bw_store *s, const char *src, uint64_t last_seq, bw_err *err);
typedef int (*bw_source_fn)(void *ctx, const char *src, uint64_t last_seq);
int bw_store_sources_each(bw_store *s, bw_source_fn fn, void *ctx, bw_err *err);

/* Budget adjustments: the audit trail of 预算调整. */
int bw_store_adjust_insert(bw_store *s, const char *project, int64_t old_budget,
                           int64_t new_budget, const char *reason, int64_t at, bw_err *err);
/* The latest adjusted budget per project, so adjustments survive restarts and
 * plan reloads. */
typedef int (*bw_adjust_fn)(void *ctx, const char *project, int64_t budget);
int bw_store_adjusts_latest_each(bw_store *s, bw_adjust_fn fn, void *ctx, bw_err *err);

/* The console's reads. bw_store_payments_each calls fn for at most limit of
 * the project's accepted events with rowid < before (before <= 0: from the
 * newest), newest first; fn returns non-zero to stop. bw_store_payments_count
 * counts the project's events (-1 on error). bw_store_adjustments_each calls
 * fn for each adjustment of the project, oldest first. Strings are valid
 * during the call only. */
typedef int (*bw_payment_fn)(void *ctx, int64_t rowid, int64_t received_at, const bw_event *ev);
int bw_store_payments_each(bw_store *s, const char *project, int64_t before, int64_t limit,
                           bw_payment_fn fn, void *ctx, bw_err *err);
int64_t bw_store_payments_count(bw_store *s, const char *project, bw_err *err);
typedef int (*bw_adjustment_fn)(void *ctx, int64_t old_budget, int64_t new_budget,
                                const char *reason, int64_t at);
int bw_store_adjustments_each(bw_store *s, const char *project, bw_adjustment_fn fn, void *ctx,
                              bw_err *err);

/* The alert log: every alert message published, in seq order. */
int bw_store_alert_append(bw_store *s, const bw_alert_msg *a, bw_err *err);
typedef struct bw_history_filter {
    const char *project;        /* NULL or "" = any */
    const char *unit;
    bool has_since; int64_t since;   /* at >= since */
    bool has_until; int64_t until;   /* at <  until */
    uint32_t limit;             /* 0 = no limit; the newest `limit`, in seq order */
    /* seq > after_seq only, and then `limit` takes the OLDEST of them */
    bool has_after_seq; uint64_t after_seq;
} bw_history_filter;
/* fn returns 0 to go on, non-zero to stop (not an error). */
typedef int (*bw_alert_msg_fn)(void *ctx, const bw_alert_msg *a);
int bw_store_history_each(bw_store *s, const bw_history_filter *f, bw_alert_msg_fn fn,
                          void *ctx, bw_err *err);

/* Every alert of the log with seq > after, in seq order (publishing reads
 * back what a commit wrote). fn returns 0 to go on, non-zero to stop. */
int bw_store_alerts_after(bw_store *s, uint64_t after, bw_alert_msg_fn fn, void *ctx, bw_err *err);

/* Small named integers: the last alert seq, the engine's `now`, ... */
int bw_store_meta_set(bw_store *s, const char *key, int64_t val, bw_err *err);
/* 1 found, 0 absent (val untouched), -1 error. */
int bw_store_meta_get(bw_store *s, const char *key, int64_t *val, bw_err *err);

/* verify: recomputes every project's paid totals (fiscal, other) from the
 * ledger and compares them with the saved state. Calls fn for each difference
 * (a project with events but no saved row is one, even at zero; fn returning
 * non-zero stops early); returns the number of projects checked, or -1. */
typedef int (*bw_verify_fn)(void *ctx, const char *code, int64_t saved_fiscal,
                            int64_t saved_other, int64_t ledger_fiscal, int64_t ledger_other);
int64_t bw_store_verify(bw_store *s, bw_verify_fn fn, void *ctx, bw_err *err);

/* Damage: SQLite's own check of the file. full: PRAGMA integrity_check (also
 * that each index holds exactly its table's rows and UNIQUE holds), else
 * quick_check (pages, b-trees, record formats; much faster). Calls fn (may
 * be NULL) for each problem, at most 100; returns their number (0: intact),
 * or -1 when the check itself could not run. */
#define BW_PROBLEM_MAX 256
typedef int (*bw_problem_fn)(void *ctx, const char *problem);
int64_t bw_store_integrity(bw_store *s, bool full, bw_problem_fn fn, void *ctx, bw_err *err);
/* The same on a read-only connection of its own, so that a worker thread
 * can run it while the loop commits; *first gets the first problem. */
int64_t bw_store_integrity_file(const char *path, bool full, char first[BW_PROBLEM_MAX],
                                bw_err *err);

/* Recomputes every saved row's paid totals from the events (making rows for
 * projects that have events but none), moves upto and the watermark to the
 * last event and writes the digest anew, in one transaction; *rows: how many
 * rows the table then has. For `budgetwatchd --rebuild-totals`, with no
 * daemon running on the ledger. */
int bw_store_rebuild_totals(bw_store *s, int64_t *rows, bw_err *err);

/* Daily sums (schema 5): per project and local day, the net paid (fiscal,
 * other) of the accepted events whose ts falls in that day, written in the
 * transaction of the events (inserts, and events taken back), so that the
 * as-of status and the series read days instead of events.
 * bw_store_days_set gives the store the plan's local days (the calendar is
 * copied); until then days are UTC days. When the table is keyed by other
 * days (an upgrade, another time zone or fiscal year), it is rebuilt from
 * the events in one transaction of its own: call it with no transaction
 * open. Returns 0, or -1 (err). */
int bw_store_days_set(bw_store *s, const bw_calendar *cal, bw_err *err);
int bw_store_daily_add(bw_store *s, const bw_event *ev, bw_err *err);
/* How many (project, day) sums differ from the events (0: they all agree),
 * or -1. For verify, with no transaction open. */
int64_t bw_store_daily_verify(bw_store *s, bw_err *err);
/* The net paid of every project from the events with ts <= at, in pieces:
 * fn may be called several times for one project (whole days, then the
 * events of the day `at` falls in); its sums are the pieces' sums. fn
 * returns 0 to go on, non-zero to stop (then -1, with fn's message). */
typedef int (*bw_paid_fn)(void *ctx, const char *project, int64_t fiscal, int64_t other);
int bw_store_paid_at(bw_store *s, int64_t at, bw_paid_fn fn, void *ctx, bw_err *err);
/* The daily sums (day = the local midnight starting it, net = fiscal +
 * other) of one project, oldest first, or (project NULL) of all projects in
 * no order. fn returns 0 to go on, non-zero to stop (then -1). */
typedef int (*bw_daily_fn)(void *ctx, const char *project, int64_t day, int64_t net);
int bw_store_daily_each(bw_store *s, const char *project, bw_daily_fn fn, void *ctx, bw_err *err);

/* The budget each adjusted project had at `at`: its last adjustment with
 * at <= `at` (projects not adjusted by then are not named: their plan
 * budget holds). fn returns 0 to go on, non-zero to stop (then -1). */
int bw_store_budgets_at(bw_store *s, int64_t at, bw_adjust_fn fn, void *ctx, bw_err *err);

/* The size of the ledger's WAL file in bytes, or -1 when it cannot be read. */
int64_t bw_store_wal_bytes(const bw_store *s);

/* Counts, for stats and tests. */
int64_t bw_store_event_count(bw_store *s, bw_err *err);
/* The largest events rowid (0 for an empty ledger), or -1. Rows deleted in the
 * same transaction are gone, so every later insert lands above it. */
int64_t bw_store_event_max_rowid(bw_store *s, bw_err *err);

/* The seq of the last message in the alert log about each (project code, kind
 * word) of keys — its firing, escalation, reminder or acknowledgement — into
 * seqs[i], or 0 if the log has none. For the `alerts` snapshot, whose alerts
 * carry the seq they were last published with. Returns 0, or -1 (err). */
typedef struct bw_alert_key {
    const char *project;
    const char *kind;
} bw_alert_key;
int bw_store_alerts_last_seq(bw_store *s, const bw_alert_key *keys, size_t n, uint64_t *seqs,
                             bw_err *err);

/* Fills m's src, id, amount and ref with the payment the latest large_payment
 * alert of project is about (its firing message in the log). 1 when found,
 * 0 when the log has none, -1 with the reason. */
int bw_store_alert_payment(bw_store *s, const char *project, bw_alert_msg *m, bw_err *err);

#endif
