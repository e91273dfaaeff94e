/* store: the ledger in one SQLite file (WAL). The tables, readable with the
 * sqlite3 shell by an auditor:
 *   events       every accepted disbursement/refund, UNIQUE(src, id)
 *   rejects      every rejected message: raw bytes, reason, when, replayed_at
 *   projects     per-project budget, paid totals and alert slots (lag_*,
 *                milestone_*, overspend_*, year_end_*), saved in the same
 *                transaction as the events that changed them
 *   sources      last seq per payment system
 *   adjustments  budget adjustments (预算调整) with their reasons
 *   alerts       the alert log: every message published, by seq
 *   meta         small named integers (alert_seq, now)
 * Statements are prepared once; one event is one INSERT ... ON CONFLICT. */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define SCHEMA_VERSION 1

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS events ("
    " src TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, type TEXT NOT NULL,"
    " project TEXT NOT NULL, unit TEXT NOT NULL, amount INTEGER NOT NULL,"
    " fund TEXT NOT NULL, ts INTEGER NOT NULL, ref TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " UNIQUE (src, id));"
    "CREATE INDEX IF NOT EXISTS events_ref ON events (src, ref) WHERE ref != '';"
    "CREATE TABLE IF NOT EXISTS rejects ("
    " id INTEGER PRIMARY KEY, src TEXT NOT NULL, evid TEXT NOT NULL, raw BLOB NOT NULL,"
    " reason TEXT NOT NULL, at INTEGER NOT NULL, replayed_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS projects ("
    " code TEXT PRIMARY KEY, budget INTEGER NOT NULL,"
    " paid_fiscal INTEGER NOT NULL, paid_other INTEGER NOT NULL,"
    " lag_severity INTEGER, lag_acked INTEGER, lag_ms INTEGER, lag_since INTEGER, lag_last_sent INTEGER,"
    " milestone_severity INTEGER, milestone_acked INTEGER, milestone_ms INTEGER,"
    " milestone_since INTEGER, milestone_last_sent INTEGER,"
    " overspend_severity INTEGER, overspend_acked INTEGER, overspend_ms INTEGER,"
    " overspend_since INTEGER, overspend_last_sent INTEGER,"
    " year_end_severity INTEGER, year_end_acked INTEGER, year_end_ms INTEGER,"
    " year_end_since INTEGER, year_end_last_sent INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sources (src TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS adjustments ("
    " id INTEGER PRIMARY KEY, project TEXT NOT NULL, old_budget INTEGER NOT NULL,"
    " new_budget INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alerts ("
    " seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, severity TEXT NOT NULL,"
    " unit TEXT, unit_name TEXT, project TEXT, project_name TEXT, budget INTEGER, paid INTEGER,"
    " shortfall INTEGER, rate_bp INTEGER, planned_bp INTEGER, lag_bp INTEGER, pace_bp INTEGER,"
    " milestone TEXT, at INTEGER NOT NULL, since INTEGER, src TEXT, expected_seq INTEGER,"
    " got_seq INTEGER, by TEXT, note TEXT);"
    "CREATE INDEX IF NOT EXISTS alerts_project ON alerts (project);"
    "CREATE INDEX IF NOT EXISTS alerts_unit ON alerts (unit);"
    "CREATE INDEX IF NOT EXISTS alerts_at ON alerts (at);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, val INTEGER NOT NULL);";

enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_EV_INSERT, ST_EV_DELETE, ST_EV_EXISTS, ST_EV_GET,
    ST_REFUNDED, ST_REJ_INSERT, ST_REJ_EACH, ST_REJ_MARK, ST_REJ_PENDING, ST_PROJ_SAVE,
    ST_PROJ_EACH, ST_SRC_SAVE, ST_SRC_EACH, ST_ADJ_INSERT, ST_ADJ_LATEST, ST_ALERT_INSERT,
    ST_META_SET, ST_META_GET, ST_EV_COUNT, ST_COUNT
};

static const char *const sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_EV_INSERT] = "INSERT INTO events (src, id, seq, type, project, unit, amount, fund, ts, ref,"
                     " received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (src, id) DO NOTHING",
    [ST_EV_DELETE] = "DELETE FROM events WHERE src = ? AND id = ?",
    [ST_EV_EXISTS] = "SELECT 1 FROM events WHERE src = ? AND id = ?",
    [ST_EV_GET] = "SELECT seq, type, project, unit, amount, fund, ts, ref FROM events"
                  " WHERE src = ? AND id = ?",
    [ST_REFUNDED] = "SELECT coalesce(sum(amount), 0) FROM events"
                    " WHERE src = ? AND ref = ? AND ref != '' AND type = 'refund' AND id != ?",
    [ST_REJ_INSERT] = "INSERT INTO rejects (src, evid, raw, reason, at) VALUES (?,?,?,?,?)",
    [ST_REJ_EACH] = "SELECT id, raw, reason FROM rejects WHERE replayed_at IS NULL ORDER BY id",
    [ST_REJ_MARK] = "UPDATE rejects SET replayed_at = ? WHERE id = ?",
    [ST_REJ_PENDING] = "SELECT count(*) FROM rejects WHERE replayed_at IS NULL",
    [ST_PROJ_SAVE] = "INSERT OR REPLACE INTO projects VALUES (?,?,?,?, ?,?,?,?,?, ?,?,?,?,?,"
                     " ?,?,?,?,?, ?,?,?,?,?)",
    [ST_PROJ_EACH] = "SELECT * FROM projects",
    [ST_SRC_SAVE] = "INSERT OR REPLACE INTO sources (src, last_seq) VALUES (?, ?)",
    [ST_SRC_EACH] = "SELECT src, last_seq FROM sources",
    [ST_ADJ_INSERT] = "INSERT INTO adjustments (project, old_budget, new_budget, reason, at)"
                      " VALUES (?,?,?,?,?)",
    [ST_ADJ_LATEST] = "SELECT project, new_budget FROM adjustments a WHERE id ="
                      " (SELECT max(id) FROM adjustments b WHERE b.project = a.project)",
    [ST_ALERT_INSERT] = "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_META_SET] = "INSERT OR REPLACE INTO meta (key, val) VALUES (?, ?)",
    [ST_META_GET] = "SELECT val FROM meta WHERE key = ?",
    [ST_EV_COUNT] = "SELECT count(*) FROM events",
};

struct bw_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[ST_COUNT];
};

static int fail(bw_store *s, bw_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(bw_store *s, bw_err *err, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return bw_err_set(err, "ledger %s: %s: %s", s->path, what, s->db ? sqlite3_errmsg(s->db) : "");
}

static sqlite3_stmt *stmt(bw_store *s, int i)
{
    sqlite3_stmt *q = s->st[i];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return q;
}

static void text(sqlite3_stmt *q, int i, const char *v)
{
    sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* Runs a statement that returns no rows. */
static int run(bw_store *s, int i, bw_err *err, const char *what)
{
    int rc = sqlite3_step(s->st[i]);
    sqlite3_reset(s->st[i]);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "%s", what);
}

static int exec(bw_store *s, const char *q, bw_err *err, const char *what)
{
    return sqlite3_exec(s->db, q, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, err, "%s", what);
}

static int pragmas(bw_store *s, bool sync_full, bw_err *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "setting WAL mode");
    int rc = sqlite3_step(q);
    bool wal = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
    sqlite3_finalize(q);
    if (!wal)
        return fail(s, err, "the file system does not allow WAL mode");
    return exec(s, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err,
                "setting synchronous");
}

static int user_version(bw_store *s, int *v, bw_err *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "reading the schema version");
    *v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    return 0;
}

static int migrate(bw_store *s, bw_err *err)
{
    int v = 0;
    if (user_version(s, &v, err))
        return -1;
    if (v > SCHEMA_VERSION)
        return bw_err_set(err, "ledger %s: schema version %d is newer than this budgetwatchd "
                          "understands (%d); run the newer budgetwatchd", s->path, v, SCHEMA_VERSION);
    if (exec(s, "BEGIN", err, "creating the schema") || exec(s, schema, err, "creating the schema") ||
        exec(s, "PRAGMA user_version = 1", err, "setting the schema version") ||
        exec(s, "COMMIT", err, "creating the schema"))
        return -1;
    return 0;
}

bw_store *bw_store_open(const char *path, bool sync_full, bw_err *err)
{
    bw_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        bw_err_set(err, "ledger %s: out of memory", path);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        fail(s, err, "cannot open (check state_dir and its permissions)");
        bw_store_close(&s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (pragmas(s, sync_full, err) || migrate(s, err)) {
        bw_store_close(&s);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            fail(s, err, "preparing statement %d", i);
            bw_store_close(&s);
            return NULL;
        }
    }
    return s;
}

void bw_store_close(bw_store **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    bw_store *s = *sp;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    if (s->db)
        sqlite3_close(s->db);
    free(s->path);
    free(s);
    *sp = NULL;
}

int bw_store_begin(bw_store *s, bw_err *err) { return run(s, ST_BEGIN, err, "starting a transaction"); }
int bw_store_commit(bw_store *s, bw_err *err) { return run(s, ST_COMMIT, err, "committing"); }

void bw_store_rollback(bw_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_step(stmt(s, ST_ROLLBACK));
    sqlite3_reset(s->st[ST_ROLLBACK]);
}

/* ---- events ---- */

int bw_store_event_insert(bw_store *s, const bw_event *ev, int64_t received_at, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_EV_INSERT);
    text(q, 1, ev->src);
    text(q, 2, ev->id);
    if (ev->has_seq)
        sqlite3_bind_int64(q, 3, (int64_t)ev->seq);
    text(q, 4, bw_event_type_name(ev->type));
    text(q, 5, ev->project);
    text(q, 6, ev->unit);
    sqlite3_bind_int64(q, 7, ev->amount);
    text(q, 8, bw_fund_name(ev->fund));
    sqlite3_bind_int64(q, 9, ev->ts);
    text(q, 10, ev->ref);
    sqlite3_bind_int64(q, 11, received_at);
    if (run(s, ST_EV_INSERT, err, "inserting an event"))
        return bw_err_set(err, "%s (source \"%s\", id \"%s\")", err->msg, ev->src, ev->id);
    return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

int bw_store_event_delete(bw_store *s, const char *src, const char *id, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_EV_DELETE);
    text(q, 1, src);
    text(q, 2, id);
    return run(s, ST_EV_DELETE, err, "taking back a rejected event");
}

int bw_store_event_exists(bw_store *s, const char *src, const char *id, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_EV_EXISTS);
    text(q, 1, src);
    text(q, 2, id);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, err, "looking up an event");
    return rc == SQLITE_ROW;
}

static void copy_col(sqlite3_stmt *q, int col, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int bw_store_event_get(bw_store *s, const char *src, const char *id, bw_event *out, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_EV_GET);
    text(q, 1, src);
    text(q, 2, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(out->src, sizeof out->src, "%s", src);
        snprintf(out->id, sizeof out->id, "%s", id);
        out->has_seq = sqlite3_column_type(q, 0) != SQLITE_NULL;
        out->seq = (uint64_t)sqlite3_column_int64(q, 0);
        out->type = strcmp((const char *)sqlite3_column_text(q, 1), "refund") == 0;
        copy_col(q, 2, out->project, sizeof out->project);
        copy_col(q, 3, out->unit, sizeof out->unit);
        out->amount = sqlite3_column_int64(q, 4);
        out->fund = strcmp((const char *)sqlite3_column_text(q, 5), "other") == 0;
        out->ts = sqlite3_column_int64(q, 6);
        copy_col(q, 7, out->ref, sizeof out->ref);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, err, "reading an event");
    return rc == SQLITE_ROW;
}

int bw_store_refunded_total(bw_store *s, const char *src, const char *ref, const char *except_id,
                            int64_t *out, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_REFUNDED);
    text(q, 1, src);
    text(q, 2, ref);
    text(q, 3, except_id);
    int rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : fail(s, err, "summing refunds");
}

int64_t bw_store_event_count(bw_store *s, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_EV_COUNT);
    int rc = sqlite3_step(q);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return n >= 0 ? n : fail(s, err, "counting events");
}

/* ---- dead letters ---- */

int64_t bw_store_reject_insert(bw_store *s, const char *src, const char *id, const void *raw,
                               size_t rawlen, const char *reason, int64_t at, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_REJ_INSERT);
    text(q, 1, src);
    text(q, 2, id);
    sqlite3_bind_blob64(q, 3, rawlen ? raw : "", rawlen, SQLITE_STATIC);
    text(q, 4, reason);
    sqlite3_bind_int64(q, 5, at);
    if (run(s, ST_REJ_INSERT, err, "keeping a rejected message"))
        return -1;
    return sqlite3_last_insert_rowid(s->db);
}

int bw_store_rejects_each(bw_store *s, bw_reject_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_REJ_EACH);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (fn(ctx, sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
               (size_t)sqlite3_column_bytes(q, 1), (const char *)sqlite3_column_text(q, 2)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "reading the dead letters");
}

int bw_store_reject_mark_replayed(bw_store *s, int64_t id, int64_t at, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_REJ_MARK);
    sqlite3_bind_int64(q, 1, at);
    sqlite3_bind_int64(q, 2, id);
    return run(s, ST_REJ_MARK, err, "marking a dead letter replayed");
}

int64_t bw_store_rejects_pending(bw_store *s, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_REJ_PENDING);
    int rc = sqlite3_step(q);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return n >= 0 ? n : fail(s, err, "counting dead letters");
}

/* ---- project state ---- */

int bw_store_project_save(bw_store *s, const char *code, const bw_project_state *st, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_PROJ_SAVE);
    text(q, 1, code);
    sqlite3_bind_int64(q, 2, st->budget);
    sqlite3_bind_int64(q, 3, st->paid_fiscal);
    sqlite3_bind_int64(q, 4, st->paid_other);
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        const bw_slot *sl = &st->slot[k];
        int c = 5 + k * 5;
        sqlite3_bind_int(q, c, sl->severity);
        sqlite3_bind_int(q, c + 1, sl->acked);
        sqlite3_bind_int(q, c + 2, sl->ms);
        sqlite3_bind_int64(q, c + 3, sl->since);
        sqlite3_bind_int64(q, c + 4, sl->last_sent);
    }
    if (run(s, ST_PROJ_SAVE, err, "saving project totals"))
        return bw_err_set(err, "%s (project %s)", err->msg, code);
    return 0;
}

int bw_store_projects_each(bw_store *s, bw_project_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_PROJ_EACH);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_project_state st;
        st.budget = sqlite3_column_int64(q, 1);
        st.paid_fiscal = sqlite3_column_int64(q, 2);
        st.paid_other = sqlite3_column_int64(q, 3);
        for (int k = 0; k < BW_PROJECT_KINDS; k++) {
            int c = 4 + k * 5;
            st.slot[k] = (bw_slot){ (uint8_t)sqlite3_column_int(q, c), (uint8_t)sqlite3_column_int(q, c + 1),
                                    (uint8_t)sqlite3_column_int(q, c + 2), sqlite3_column_int64(q, c + 3),
                                    sqlite3_column_int64(q, c + 4) };
        }
        if (fn(ctx, (const char *)sqlite3_column_text(q, 0), &st) != 0) {
            sqlite3_reset(q);
            return bw_err_set(err, "ledger %s: restoring project %s failed: %s", s->path,
                              (const char *)sqlite3_column_text(q, 0), err->msg);
        }
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "reading project totals");
}

/* ---- sources ---- */

int bw_store_source_save(bw_store *s, const char *src, uint64_t last_seq, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_SRC_SAVE);
    text(q, 1, src);
    sqlite3_bind_int64(q, 2, (int64_t)last_seq);
    return run(s, ST_SRC_SAVE, err, "saving a source's seq");
}

int bw_store_sources_each(bw_store *s, bw_source_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_SRC_EACH);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, (const char *)sqlite3_column_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1))) {
            sqlite3_reset(q);
            return bw_err_set(err, "ledger %s: restoring sources failed", s->path);
        }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "reading sources");
}

/* ---- adjustments ---- */

int bw_store_adjust_insert(bw_store *s, const char *project, int64_t old_budget, int64_t new_budget,
                           const char *reason, int64_t at, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_ADJ_INSERT);
    text(q, 1, project);
    sqlite3_bind_int64(q, 2, old_budget);
    sqlite3_bind_int64(q, 3, new_budget);
    text(q, 4, reason);
    sqlite3_bind_int64(q, 5, at);
    return run(s, ST_ADJ_INSERT, err, "recording a budget adjustment");
}

int bw_store_adjusts_latest_each(bw_store *s, bw_adjust_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_ADJ_LATEST);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1))) {
            sqlite3_reset(q);
            return -1;
        }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "reading budget adjustments");
}

/* ---- the alert log ---- */

int bw_store_alert_append(bw_store *s, const bw_alert_msg *a, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_ALERT_INSERT);
    sqlite3_bind_int64(q, 1, (int64_t)a->seq);
    text(q, 2, bw_kind_name(a->kind));
    text(q, 3, bw_state_name(a->state));
    text(q, 4, bw_severity_name(a->severity));
    text(q, 5, a->unit);
    text(q, 6, a->unit_name);
    text(q, 7, a->project);
    text(q, 8, a->project_name);
    sqlite3_bind_int64(q, 9, a->budget);
    sqlite3_bind_int64(q, 10, a->paid);
    sqlite3_bind_int64(q, 11, a->shortfall);
    sqlite3_bind_int(q, 12, a->rate_bp);
    sqlite3_bind_int(q, 13, a->planned_bp);
    sqlite3_bind_int(q, 14, a->lag_bp);
    sqlite3_bind_int(q, 15, a->pace_bp);
    text(q, 16, a->milestone);
    sqlite3_bind_int64(q, 17, a->at);
    sqlite3_bind_int64(q, 18, a->since);
    text(q, 19, a->src);
    sqlite3_bind_int64(q, 20, (int64_t)a->expected_seq);
    sqlite3_bind_int64(q, 21, (int64_t)a->got_seq);
    text(q, 22, a->by);
    text(q, 23, a->note);
    return run(s, ST_ALERT_INSERT, err, "appending to the alert log");
}

static int word_index(const unsigned char *w, const char *(*name)(int), int n)
{
    for (int i = 0; i < n; i++)
        if (w && strcmp((const char *)w, name(i)) == 0)
            return i;
    return 0;
}

static const char *kind_name(int k) { return bw_kind_name(k); }
static const char *state_name(int k) { return bw_state_name(k); }
static const char *severity_name(int k) { return bw_severity_name(k); }

static void alert_row(sqlite3_stmt *q, bw_alert_msg *a)
{
    memset(a, 0, sizeof *a);
    a->seq = (uint64_t)sqlite3_column_int64(q, 0);
    a->kind = (uint8_t)word_index(sqlite3_column_text(q, 1), kind_name, BW_KINDS);
    a->state = (uint8_t)word_index(sqlite3_column_text(q, 2), state_name, 3);
    a->severity = (uint8_t)word_index(sqlite3_column_text(q, 3), severity_name, 3);
    copy_col(q, 4, a->unit, sizeof a->unit);
    copy_col(q, 5, a->unit_name, sizeof a->unit_name);
    copy_col(q, 6, a->project, sizeof a->project);
    copy_col(q, 7, a->project_name, sizeof a->project_name);
    a->budget = sqlite3_column_int64(q, 8);
    a->paid = sqlite3_column_int64(q, 9);
    a->shortfall = sqlite3_column_int64(q, 10);
    a->rate_bp = sqlite3_column_int(q, 11);
    a->planned_bp = sqlite3_column_int(q, 12);
    a->lag_bp = sqlite3_column_int(q, 13);
    a->pace_bp = sqlite3_column_int(q, 14);
    copy_col(q, 15, a->milestone, sizeof a->milestone);
    a->at = sqlite3_column_int64(q, 16);
    a->since = sqlite3_column_int64(q, 17);
    copy_col(q, 18, a->src, sizeof a->src);
    a->expected_seq = (uint64_t)sqlite3_column_int64(q, 19);
    a->got_seq = (uint64_t)sqlite3_column_int64(q, 20);
    copy_col(q, 21, a->by, sizeof a->by);
    copy_col(q, 22, a->note, sizeof a->note);
}

int bw_store_history_each(bw_store *s, const bw_history_filter *f, bw_alert_msg_fn fn, void *ctx,
                          bw_err *err)
{
    /* The newest `limit` rows, returned oldest first. */
    char q_text[512];
    snprintf(q_text, sizeof q_text,
             "SELECT * FROM (SELECT * FROM alerts WHERE (?1 = '' OR project = ?1) AND"
             " (?2 = '' OR unit = ?2) AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)"
             " ORDER BY seq DESC LIMIT ?5) ORDER BY seq");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, q_text, -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "querying the alert log");
    text(q, 1, f->project ? f->project : "");
    text(q, 2, f->unit ? f->unit : "");
    if (f->has_since)
        sqlite3_bind_int64(q, 3, f->since);
    if (f->has_until)
        sqlite3_bind_int64(q, 4, f->until);
    sqlite3_bind_int64(q, 5, f->limit ? (int64_t)f->limit : -1);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_alert_msg a;
        alert_row(q, &a);
        if (fn(ctx, &a) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(s, err, "reading the alert log");
}

/* ---- meta ---- */

int bw_store_meta_set(bw_store *s, const char *key, int64_t val, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_META_SET);
    text(q, 1, key);
    sqlite3_bind_int64(q, 2, val);
    return run(s, ST_META_SET, err, "saving meta");
}

int bw_store_meta_get(bw_store *s, const char *key, int64_t *val, bw_err *err)
{
    sqlite3_stmt *q = stmt(s, ST_META_GET);
    text(q, 1, key);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *val = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, err, "reading meta");
    return rc == SQLITE_ROW;
}

/* ---- verify ---- */

int64_t bw_store_verify(bw_store *s, bw_verify_fn fn, void *ctx, bw_err *err)
{
    static const char *const q_text =
        "WITH l AS (SELECT project,"
        "  sum(CASE WHEN fund = 'fiscal' THEN (CASE WHEN type = 'refund' THEN -amount ELSE amount END)"
        "      ELSE 0 END) AS lf,"
        "  sum(CASE WHEN fund = 'other' THEN (CASE WHEN type = 'refund' THEN -amount ELSE amount END)"
        "      ELSE 0 END) AS lo"
        "  FROM events GROUP BY project)"
        " SELECT code, paid_fiscal, paid_other, coalesce(lf, 0), coalesce(lo, 0)"
        "  FROM projects LEFT JOIN l ON l.project = projects.code"
        " UNION ALL"
        " SELECT project, 0, 0, lf, lo FROM l WHERE project NOT IN (SELECT code FROM projects)";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, q_text, -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "preparing verify");
    int64_t checked = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t sf = sqlite3_column_int64(q, 1), so = sqlite3_column_int64(q, 2);
        int64_t lf = sqlite3_column_int64(q, 3), lo = sqlite3_column_int64(q, 4);
        checked++;
        if ((sf != lf || so != lo) && fn(ctx, (const char *)sqlite3_column_text(q, 0), sf, so, lf, lo))
            break;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, err, "recomputing totals from the ledger");
    return checked;
}
