/* store: the durable ledger in one SQLite file (WAL) — accepted events, dead
 * letters, budget adjustments, the alert log and per-project totals/alert state.
 *
 * Schema (version 6 = PRAGMA user_version; STRICT tables, so a value of the
 * wrong type is refused rather than stored; readable with the sqlite3 shell):
 *   events       rowid INTEGER PRIMARY KEY (insertion order, stable across
 *                VACUUM), src, id, seq (NULL when the sender gave none), type
 *                (0 disbursement, 1 refund), project, unit, amount (fen, > 0),
 *                fund (0 fiscal, 1 other), ts, ref ('' when none), received_at;
 *                UNIQUE (src, id). The view events_readable spells type/fund.
 *                Index (version 5): events_project (project, rowid: a
 *                project's payment pages, and its events of a part of a day
 *                for the as-of status).
 *   rejects      id, src, evid ('' when unreadable), raw BLOB, reason, at,
 *                replayed_at (NULL until replayed), peer (the CURVE key name
 *                it came with; '' an unauthorized key; NULL no CURVE)
 *   projects     code PRIMARY KEY, budget, paid_fiscal, paid_other, upto = the
 *                events rowid the saved totals reach (they sum every event of
 *                the project up to it), slots = the alert slots that are not
 *                empty, keyed by kind word: "lag:2,1,0,SINCE,LAST_SENT;..."
 *                (severity, acked, ms, since, last_sent, and from version 6
 *                band, handling, normal, quiet when set; daemon/slots.h), so a
 *                new kind needs no new column (version 3 had five per kind);
 *                last_paid = the latest disbursement's ts (version 6)
 *   sources      src PRIMARY KEY, last_seq
 *   adjustments  id, project, old_budget, new_budget, reason, at
 *   alerts       seq PRIMARY KEY, kind, state, severity (the wire words), unit,
 *                unit_name, project, project_name, budget, paid, shortfall,
 *                rate_bp, planned_bp, lag_bp, pace_bp, milestone, at, since, src,
 *                expected_seq, got_seq, by, note, and from version 6 band,
 *                basis, pace_lag_bp, pace_shortfall, handling, evid, amount,
 *                ref (a large_payment's event; NULL where a field is empty)
 *   daily        (project, day) PRIMARY KEY, fiscal, other (net fen: refunds
 *                subtracted), events: every accepted event of the project whose
 *                ts falls in the local day starting at `day` (Unix s of its
 *                midnight in the plan's time zone), written in the
 *                transaction of the events (version 5; see bw_store_days_set)
 *   meta         key PRIMARY KEY, val INTEGER (alert_seq, now, totals_upto,
 *                totals_digest = the sum mod 2^64 of bw_store_row_digest over
 *                every projects row, written with them; version 3 on; the same
 *                value for the same rows in version 4; daily_days = the
 *                digest of the day boundaries daily is keyed by, 0 = UTC days)
 * Times are Unix seconds (UTC), money integer fen. Every statement is prepared
 * once at open; one event is one INSERT ... ON CONFLICT DO NOTHING. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "slots.h"

#define SCHEMA_VERSION 6
/* The UNIQUE (src, id) index takes inserts all over the file once the ledger is
 * large; a bigger page cache than SQLite's 2 MiB default keeps them in memory. */
#define CACHE_KIB 32768
#define BUSY_TIMEOUT_MS 5000
/* Added to every message about a damaged file; bw_store_err_damaged finds it. */
#define DAMAGE_HINT " (the ledger file is damaged: keep a copy, restore the last backup)"

/* One statement per save, as in version 3: the slots are one text column of
 * the row. A table of slots keyed by (project, kind) was measured too
 * (200,000 saves over 10,000 projects, WAL, synchronous = FULL): its extra
 * DELETE and INSERTs made a save 18 % slower with one slot firing and 2.7
 * times slower with four, where the text made the save itself 15-35 % faster
 * than version 3's twenty integer columns (bench/savebench.c). The price: a
 * firing slot takes ~38 bytes of text against ~15 as integers, so rows with
 * all four slots firing dirty more pages per commit (~10 % more time with
 * the fsync in that worst case; none with up to two firing). */
#define PROJECTS_TABLE(name)                                                           \
    "CREATE TABLE " name " ("                                                          \
    " code TEXT PRIMARY KEY, budget INTEGER NOT NULL,"                                 \
    " paid_fiscal INTEGER NOT NULL, paid_other INTEGER NOT NULL,"                      \
    " upto INTEGER NOT NULL, slots TEXT NOT NULL) STRICT, WITHOUT ROWID;"

/* Version 5: the daily sums of the events (the as-of status, the series),
 * and the index on project that pages through a project's payments (the
 * console) and finds its events of a part of a day (the as-of status). */
#define DAILY_SCHEMA                                                                   \
    "CREATE TABLE daily ("                                                             \
    " project TEXT NOT NULL, day INTEGER NOT NULL, fiscal INTEGER NOT NULL,"           \
    " other INTEGER NOT NULL, events INTEGER NOT NULL,"                                \
    " PRIMARY KEY (project, day)) STRICT, WITHOUT ROWID;"                              \
    "CREATE INDEX events_project ON events (project, rowid);"

static const char schema_sql[] =
    "CREATE TABLE events ("
    " rowid INTEGER PRIMARY KEY,"
    " src TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER,"
    " type INTEGER NOT NULL CHECK (type IN (0, 1)),"
    " project TEXT NOT NULL, unit TEXT NOT NULL,"
    " amount INTEGER NOT NULL CHECK (amount > 0),"
    " fund INTEGER NOT NULL CHECK (fund IN (0, 1)),"
    " ts INTEGER NOT NULL, ref TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " UNIQUE (src, id)) STRICT;"
    /* Refund checks sum the refunds of one original; only refunds carry a ref. */
    "CREATE INDEX events_ref ON events (src, ref) WHERE ref != '';"
    "CREATE VIEW events_readable AS SELECT rowid, src, id, seq,"
    " CASE type WHEN 0 THEN 'disbursement' ELSE 'refund' END AS type, project, unit, amount,"
    " printf('%d.%02d', amount / 100, amount % 100) AS yuan,"
    " CASE fund WHEN 0 THEN 'fiscal' ELSE 'other' END AS fund,"
    " datetime(ts, 'unixepoch') AS ts_utc, ref,"
    " datetime(received_at, 'unixepoch') AS received_utc FROM events;"
    "CREATE TABLE rejects ("
    " id INTEGER PRIMARY KEY, src TEXT NOT NULL, evid TEXT NOT NULL, raw BLOB NOT NULL,"
    " reason TEXT NOT NULL, at INTEGER NOT NULL, replayed_at INTEGER, peer TEXT) STRICT;"
    "CREATE INDEX rejects_pending ON rejects (id) WHERE replayed_at IS NULL;"
    PROJECTS_TABLE("projects")
    "CREATE TABLE sources (src TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE adjustments ("
    " id INTEGER PRIMARY KEY, project TEXT NOT NULL, old_budget INTEGER NOT NULL,"
    " new_budget INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX adjustments_project ON adjustments (project, id);"
    "CREATE TABLE alerts ("
    " seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, severity TEXT NOT NULL,"
    " unit TEXT, unit_name TEXT, project TEXT, project_name TEXT,"
    " budget INTEGER NOT NULL, paid INTEGER NOT NULL, shortfall INTEGER NOT NULL,"
    " rate_bp INTEGER NOT NULL, planned_bp INTEGER NOT NULL, lag_bp INTEGER NOT NULL,"
    " pace_bp INTEGER NOT NULL, milestone TEXT, at INTEGER NOT NULL, since INTEGER NOT NULL,"
    " src TEXT, expected_seq INTEGER, got_seq INTEGER, \"by\" TEXT, note TEXT) STRICT;"
    /* An index on one column also holds the rowid (seq), so "newest N of a
     * project" is read straight off alerts_project in seq order. */
    "CREATE INDEX alerts_project ON alerts (project);"
    "CREATE INDEX alerts_unit ON alerts (unit);"
    "CREATE INDEX alerts_at ON alerts (at);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, val INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    DAILY_SCHEMA
    /* A new ledger has saved no row: every event is after the watermark, and
     * the digest of no rows is 0. Both keys are always present from here on. */
    "INSERT INTO meta (key, val) VALUES ('totals_upto', 0), ('totals_digest', 0);";

/* Version 6: each project's latest disbursement, for the stalled
 * rule; and on every alert message its lag band, basis, distance and money
 * against 序时进度, handling, and for a large_payment the payment's id,
 * amount and ref (src is the column source_gap uses). A new ledger is built
 * as version 5 and then these, so both roads give the same tables. */
static const char v6_projects_sql[] =
    "ALTER TABLE projects ADD COLUMN last_paid INTEGER NOT NULL DEFAULT 0;";
static const char v6_alerts_sql[] =
    "ALTER TABLE alerts ADD COLUMN band TEXT;"
    "ALTER TABLE alerts ADD COLUMN basis TEXT;"
    "ALTER TABLE alerts ADD COLUMN pace_lag_bp INTEGER;"
    "ALTER TABLE alerts ADD COLUMN pace_shortfall INTEGER;"
    "ALTER TABLE alerts ADD COLUMN handling TEXT;"
    "ALTER TABLE alerts ADD COLUMN evid TEXT;"
    "ALTER TABLE alerts ADD COLUMN amount INTEGER;"
    "ALTER TABLE alerts ADD COLUMN ref TEXT;";

#define EVENT_COLS "src, id, seq, type, project, unit, amount, fund, ts, ref"
#define ALERT_COLS \
    "seq, kind, state, severity, unit, unit_name, project, project_name, budget, paid," \
    " shortfall, rate_bp, planned_bp, lag_bp, pace_bp, milestone, at, since, src," \
    " expected_seq, got_seq, \"by\", note, band, basis, pace_lag_bp, pace_shortfall, handling," \
    " evid, amount, ref"
#define PROJECT_COLS "code, budget, paid_fiscal, paid_other, upto, slots"
#define PROJECT_COLS_V6 PROJECT_COLS ", last_paid"
/* Version 3's projects row, read only to upgrade it: five columns per kind,
 * the kinds of that version in their order. */
#define V3_PROJECT_COLS \
    "code, budget, paid_fiscal, paid_other," \
    " lag_severity, lag_acked, lag_ms, lag_since, lag_last_sent," \
    " milestone_severity, milestone_acked, milestone_ms, milestone_since, milestone_last_sent," \
    " overspend_severity, overspend_acked, overspend_ms, overspend_since, overspend_last_sent," \
    " year_end_severity, year_end_acked, year_end_ms, year_end_since, year_end_last_sent, upto"
#define V3_KINDS 4                  /* lag, milestone, overspend, year_end */
#define V3_FIRST_SLOT_COL 4         /* 0-based column of lag_severity */
#define V3_SLOT_COLS 5
#define V3_UPTO_COL 24

enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
    ST_EV_INSERT, ST_EV_DELETE, ST_EV_EXISTS, ST_EV_GET, ST_EV_EACH, ST_EV_COUNT, ST_REFUNDED,
    ST_REJ_INSERT, ST_REJ_EACH, ST_REJ_MARK, ST_REJ_PENDING,
    ST_PROJ_SAVE, ST_PROJ_EACH, ST_SRC_SAVE, ST_SRC_EACH, ST_ADJ_INSERT, ST_ADJ_LATEST,
    ST_ALERT_INSERT, ST_META_SET, ST_META_GET, ST_VERIFY, ST_EV_MAX_ROWID,
    ST_ALERT_AFTER,
    ST_DAILY_ADD, ST_DAILY_BEFORE, ST_DAILY_SPAN, ST_DAILY_PROJECT,
    ST_DAILY_ALL, ST_ADJ_AT,
    ST_ALERT_PAYMENT, ST_EV_SINCE,
    ST_COUNT
};

static const char *const sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_EV_INSERT] = "INSERT INTO events (" EVENT_COLS ", received_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                     " ON CONFLICT (src, id) DO NOTHING",
    [ST_EV_DELETE] = "DELETE FROM events WHERE src = ?1 AND id = ?2",
    [ST_EV_EXISTS] = "SELECT 1 FROM events WHERE src = ?1 AND id = ?2",
    [ST_EV_GET] = "SELECT " EVENT_COLS " FROM events WHERE src = ?1 AND id = ?2",
    [ST_EV_EACH] = "SELECT rowid, " EVENT_COLS " FROM events WHERE rowid > ?1 ORDER BY rowid",
    [ST_EV_COUNT] = "SELECT count(*) FROM events",
    /* At start only, with burst or year_end_rush on: a scan, in no order. */
    [ST_EV_SINCE] = "SELECT rowid, " EVENT_COLS " FROM events WHERE ts >= ?1",
    [ST_REFUNDED] = "SELECT coalesce(sum(amount), 0) FROM events"
                    " WHERE src = ?1 AND ref = ?2 AND ref != '' AND type = 1 AND id != ?3",
    [ST_REJ_INSERT] = "INSERT INTO rejects (src, evid, raw, reason, at, peer)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_REJ_EACH] = "SELECT id, raw, reason, peer FROM rejects WHERE replayed_at IS NULL AND id > ?1"
                    " ORDER BY id",
    [ST_REJ_MARK] = "UPDATE rejects SET replayed_at = ?2 WHERE id = ?1 AND replayed_at IS NULL",
    [ST_REJ_PENDING] = "SELECT count(*) FROM rejects WHERE replayed_at IS NULL",
    /* An upsert rewrites the row in place; INSERT OR REPLACE would delete it
     * and insert it again, a second B-tree operation on every save. */
    [ST_PROJ_SAVE] = "INSERT INTO projects (" PROJECT_COLS_V6 ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                     " ON CONFLICT (code) DO UPDATE SET"
                     " budget = excluded.budget, paid_fiscal = excluded.paid_fiscal,"
                     " paid_other = excluded.paid_other, upto = excluded.upto,"
                     " slots = excluded.slots, last_paid = excluded.last_paid",
    [ST_PROJ_EACH] = "SELECT " PROJECT_COLS_V6 " FROM projects ORDER BY code",
    [ST_SRC_SAVE] = "INSERT INTO sources (src, last_seq) VALUES (?1, ?2)"
                    " ON CONFLICT (src) DO UPDATE SET last_seq = excluded.last_seq",
    [ST_SRC_EACH] = "SELECT src, last_seq FROM sources ORDER BY src",
    [ST_ADJ_INSERT] = "INSERT INTO adjustments (project, old_budget, new_budget, reason, at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_ADJ_LATEST] = "SELECT project, new_budget FROM adjustments"
                      " WHERE id IN (SELECT max(id) FROM adjustments GROUP BY project) ORDER BY id",
    [ST_ALERT_INSERT] = "INSERT INTO alerts (" ALERT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                        " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,"
                        " ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)",
    [ST_META_SET] = "INSERT INTO meta (key, val) VALUES (?1, ?2)"
                    " ON CONFLICT (key) DO UPDATE SET val = excluded.val",
    [ST_META_GET] = "SELECT val FROM meta WHERE key = ?1",
    [ST_EV_MAX_ROWID] = "SELECT coalesce(max(rowid), 0) FROM events",
    [ST_ALERT_AFTER] = "SELECT " ALERT_COLS " FROM alerts WHERE seq > ?1 ORDER BY seq",
    [ST_DAILY_ADD] = "INSERT INTO daily (project, day, fiscal, other, events)"
                     " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (project, day) DO UPDATE SET"
                     " fiscal = fiscal + excluded.fiscal, other = other + excluded.other,"
                     " events = events + excluded.events",
    /* Whole days before a day, then the events of the part of a day: the
     * as-of status (bw_store_paid_at). */
    [ST_DAILY_BEFORE] = "SELECT project, fiscal, other, day FROM daily WHERE day <= ?1",
    /* One project's events of a part of a day, through events_project: an
     * index on ts would serve this too, at a B-tree insert on every event. */
    [ST_DAILY_SPAN] = "SELECT CASE type WHEN 0 THEN amount ELSE -amount END, fund FROM events"
                      " WHERE project = ?1 AND ts >= ?2 AND ts <= ?3",
    [ST_DAILY_PROJECT] = "SELECT project, day, fiscal + other FROM daily WHERE project = ?1"
                         " ORDER BY day",
    [ST_DAILY_ALL] = "SELECT project, day, fiscal + other FROM daily",
    [ST_ADJ_AT] = "SELECT project, new_budget FROM adjustments WHERE id IN"
                  " (SELECT max(id) FROM adjustments WHERE at <= ?1 GROUP BY project)",
    /* The payment a project's large_payment alert is about: its first message. */
    [ST_ALERT_PAYMENT] = "SELECT src, evid, amount, ref FROM alerts WHERE project = ?1"
                         " AND kind = 'large_payment' AND evid IS NOT NULL ORDER BY seq DESC LIMIT 1",
    /* Totals recomputed from the ledger beside the saved ones, in one
     * GROUP BY over both (a project on one side only shows up as well). A
     * FULL JOIN of the saved rows with the per-project sums did the same in
     * a nested loop: 7 minutes for 100,000 projects and 1,000,000 events,
     * against 0.7 s. sum() of integers raises "integer overflow" rather
     * than wrapping. */
    [ST_VERIFY] =
        "SELECT code, max(saved) = 0, sum(sf), sum(so), sum(lf), sum(lo) FROM ("
        " SELECT code, 1 AS saved, paid_fiscal AS sf, paid_other AS so, 0 AS lf, 0 AS lo"
        "  FROM projects"
        " UNION ALL"
        " SELECT project, 0, 0, 0,"
        "  CASE fund WHEN 0 THEN CASE type WHEN 0 THEN amount ELSE -amount END ELSE 0 END,"
        "  CASE fund WHEN 1 THEN CASE type WHEN 0 THEN amount ELSE -amount END ELSE 0 END"
        "  FROM events)"
        " GROUP BY code ORDER BY code",
};

/* History queries: one statement per combination of filters (bit 0 project,
 * 1 unit, 2 since, 3 until, 4 after_seq), so each can use its index; the
 * newest `limit` rows are picked in descending seq, then handed out
 * ascending. With after_seq it is the oldest `limit` rows after it instead:
 * a notifier catching up reads forward from the last seq it took. */
enum { HF_PROJECT = 1, HF_UNIT = 2, HF_SINCE = 4, HF_UNTIL = 8, HF_AFTER = 16, HIST_VARIANTS = 32 };

/* The console's reads of one project: its events a page at a time, newest
 * first, read off events_project (version 5), and its adjustments. */
enum { CON_PAYMENTS, CON_PAYMENTS_COUNT, CON_ADJUSTMENTS, CON_COUNT };
static const char *const console_sql[CON_COUNT] = {
    [CON_PAYMENTS] = "SELECT rowid, " EVENT_COLS ", received_at FROM events"
                     " WHERE project = ?1 AND rowid < ?2 ORDER BY rowid DESC LIMIT ?3",
    [CON_PAYMENTS_COUNT] = "SELECT count(*) FROM events WHERE project = ?1",
    /* In parentheses: clang's -Wstring-concatenation takes two literals in a
     * list of single ones for a missing comma. */
    [CON_ADJUSTMENTS] = ("SELECT old_budget, new_budget, reason, at FROM adjustments"
                         " WHERE project = ?1 ORDER BY id"),
};

struct bw_store {
    sqlite3 *db;
    sqlite3 *ckpt;              /* the worker thread's connection; NULL: SQLite's own checkpoints */
    int wal_frames;             /* frames in the WAL after the last commit (wal hook) */
    int wal_fd;                 /* the WAL, for bw_store_sync; -1: commits sync themselves */
    /* Counted once with count(*), then kept up to date: `stats` must not scan
     * a ledger of millions of rows. -1: to be counted (at open, after a rollback). */
    int64_t nevents, npending;
    char *path;
    sqlite3_stmt *st[ST_COUNT];
    sqlite3_stmt *hist[HIST_VARIANTS];
    /* The local days the daily sums are keyed by (bw_store_days_set);
     * without a calendar, UTC days. */
    bool have_cal;
    bw_calendar cal;
    sqlite3_stmt *console[CON_COUNT];  /* the console's reads (payments, adjustments) */
};

/* ---- errors and statement helpers ---- */

static int vfail(bw_store *s, bw_err *err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int vfail(bw_store *s, bw_err *err, const char *fmt, va_list ap)
{
    char what[256];
    vsnprintf(what, sizeof what, fmt, ap);
    int code = sqlite3_errcode(s->db);
    return bw_err_set(err, "ledger %s: %s: %s%s", s->path, what, sqlite3_errmsg(s->db),
                      code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? DAMAGE_HINT : "");
}

const char *bw_store_path(const bw_store *s)
{
    return s->path;
}

bool bw_store_err_damaged(const bw_err *err)
{
    return err != NULL && strstr(err->msg, DAMAGE_HINT) != NULL;
}

/* Fills err with "ledger PATH: WHAT: SQLITE MESSAGE"; returns -1. */
static int fail(bw_store *s, bw_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(bw_store *s, bw_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(s, err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Readies a statement for its next use and drops its pointers into the
 * caller's buffers (strings are bound SQLITE_STATIC). sqlite3_reset only
 * repeats the error of the last step, which has been reported already, and
 * sqlite3_clear_bindings cannot fail; neither code carries news. */
static void release(sqlite3_stmt *q)
{
    (void)sqlite3_reset(q);
    (void)sqlite3_clear_bindings(q);
}

/* Binders return SQLite's code, so that a list of them chains with ||. */
static int bind_text(sqlite3_stmt *q, int i, const char *v)
{
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* NULL for "", so that the sqlite3 shell shows an absent field as absent. */
static int bind_opt_text(sqlite3_stmt *q, int i, const char *v)
{
    return v[0] ? bind_text(q, i, v) : sqlite3_bind_null(q, i);
}

static int bind_i64(sqlite3_stmt *q, int i, int64_t v)
{
    return sqlite3_bind_int64(q, i, v);
}

static int bind_opt_u64(sqlite3_stmt *q, int i, uint64_t v)
{
    return v ? sqlite3_bind_int64(q, i, (int64_t)v) : sqlite3_bind_null(q, i);
}

/* Steps a statement that returns no rows, unless binding failed (bad != 0).
 * Returns 0, or -1 with WHAT in err; q is always left ready for reuse. */
static int run(bw_store *s, sqlite3_stmt *q, int bad, bw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int run(bw_store *s, sqlite3_stmt *q, int bad, bw_err *err, const char *fmt, ...)
{
    int rc = bad ? SQLITE_ERROR : sqlite3_step(q);
    if (rc != SQLITE_DONE) {
        va_list ap;
        va_start(ap, fmt);
        vfail(s, err, fmt, ap);
        va_end(ap);
        release(q);
        return -1;
    }
    release(q);
    return 0;
}

/* Steps a query that returns at most one row. Returns SQLITE_ROW (the caller
 * reads it, then releases q), SQLITE_DONE (q released), or -1 (reported, q
 * released). */
static int one_row(bw_store *s, sqlite3_stmt *q, int bad, bw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int one_row(bw_store *s, sqlite3_stmt *q, int bad, bw_err *err, const char *fmt, ...)
{
    int rc = bad ? SQLITE_ERROR : sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return rc;
    if (rc != SQLITE_DONE) {
        va_list ap;
        va_start(ap, fmt);
        vfail(s, err, fmt, ap);
        va_end(ap);
    }
    release(q);
    return rc == SQLITE_DONE ? rc : -1;
}

/* Copies a text column into a fixed buffer; false if it does not fit (the
 * row was not written by this store: refuse rather than cut it). */
static bool copy_col(sqlite3_stmt *q, int col, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    if (len >= n)
        return false;
    memcpy(dst, t ? (const char *)t : "", t ? len : 0);
    dst[t ? len : 0] = '\0';
    return true;
}

static const char *col_text(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    return t ? (const char *)t : "";
}

/* ---- opening ---- */

static int exec(bw_store *s, const char *q, bw_err *err, const char *what)
{
    return sqlite3_exec(s->db, q, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, err, "%s", what);
}

/* Runs a one-off statement (a PRAGMA) and returns its first column. */
static int query_first(bw_store *s, const char *q_text, int64_t *num, char *text, size_t len,
                       bw_err *err, const char *what)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, q_text, -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "%s", what);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        fail(s, err, "%s", what);
        sqlite3_finalize(q);
        return -1;
    }
    if (num)
        *num = sqlite3_column_int64(q, 0);
    if (text)
        snprintf(text, len, "%s", col_text(q, 0));
    /* A finished one-off statement has nothing left to report on finalize. */
    (void)sqlite3_finalize(q);
    return 0;
}

static int open_db(bw_store *s, bw_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK)
        return fail(s, err, "opening (check that state_dir exists and budgetwatchd may write to it)");
    if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
        return fail(s, err, "setting the busy timeout");
    return 0;
}

static int set_pragmas(bw_store *s, bool sync_full, bw_err *err)
{
    char mode[16];
    if (query_first(s, "PRAGMA journal_mode=WAL", NULL, mode, sizeof mode, err,
                    "switching to WAL mode"))
        return -1;
    if (strcmp(mode, "wal") != 0)
        return bw_err_set(err, "ledger %s: switching to WAL mode: SQLite kept journal mode \"%s\";"
                          " put state_dir on a local file system that allows shared memory",
                          s->path, mode);
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return bw_err_set(err, "ledger %s: opened read-only; budgetwatchd must be allowed to write"
                          " the file and its directory", s->path);
    if (exec(s, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err,
             "setting synchronous"))
        return -1;
    char cache[64];
    snprintf(cache, sizeof cache, "PRAGMA cache_size=-%d", CACHE_KIB);
    return exec(s, cache, err, "setting the cache size");
}

static int create_schema(bw_store *s, bw_err *err)
{
    int64_t version = 0, tables = 0;   /* set by query_first */
    if (exec(s, "BEGIN IMMEDIATE", err, "creating the schema"))
        return -1;
    /* Another process may have created it while this one waited for the lock. */
    if (query_first(s, "PRAGMA user_version", &version, NULL, 0, err, "reading the schema version") ||
        query_first(s, "SELECT count(*) FROM sqlite_schema", &tables, NULL, 0, err,
                    "looking for tables"))
        goto undo;
    if (version == SCHEMA_VERSION)
        return exec(s, "COMMIT", err, "creating the schema");
    if (tables > 0) {
        bw_err_set(err, "ledger %s: a SQLite file with %lld tables but no budgetwatch schema version;"
                   " it is not a budgetwatch ledger: move it away or set another state_dir",
                   s->path, (long long)tables);
        goto undo;
    }
    if (exec(s, schema_sql, err, "creating the schema") ||
        exec(s, v6_projects_sql, err, "creating the schema") ||
        exec(s, v6_alerts_sql, err, "creating the schema") ||
        exec(s, "PRAGMA user_version = 6", err, "setting the schema version") ||
        exec(s, "COMMIT", err, "creating the schema"))
        goto undo;
    return 0;
undo:
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);   /* already failing */
    return -1;
}

/* Version 1 saved every touched project's totals in each batch, so its rows
 * reach the last event: upto and totals_upto say so. It had no CURVE, so its
 * dead letters have no peer. */
static int upgrade_v1(bw_store *s, bw_err *err)
{
    if (exec(s, "BEGIN IMMEDIATE", err, "upgrading the schema from version 1"))
        return -1;
    if (exec(s, "ALTER TABLE projects ADD COLUMN upto INTEGER NOT NULL DEFAULT 0;"
                "ALTER TABLE rejects ADD COLUMN peer TEXT;"
                "UPDATE projects SET upto = (SELECT coalesce(max(rowid), 0) FROM events);"
                "INSERT OR REPLACE INTO meta (key, val)"
                " SELECT 'totals_upto', coalesce(max(rowid), 0) FROM events;"
                "PRAGMA user_version = 2", err, "upgrading the schema from version 1") ||
        exec(s, "COMMIT", err, "upgrading the schema from version 1")) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);   /* already failing */
        return -1;
    }
    return 0;
}

/* Reads a projects row selected as PROJECT_COLS. Returns 0, or -1 with the
 * reason in err if its slots cannot be read. */
static int project_row(bw_store *s, sqlite3_stmt *q, bw_project_state *st, int64_t *upto,
                       bw_err *err)
{
    st->budget = sqlite3_column_int64(q, 1);
    st->paid_fiscal = sqlite3_column_int64(q, 2);
    st->paid_other = sqlite3_column_int64(q, 3);
    *upto = sqlite3_column_int64(q, 4);
    const char *text = col_text(q, 5);
    char why[192];
    if (bw_slots_parse(text, (size_t)sqlite3_column_bytes(q, 5), st->slot, why, sizeof why))
        return bw_err_set(err, "ledger %s: project %s: alert slots \"%.80s\": %s", s->path,
                          col_text(q, 0), text, why);
    return 0;
}

/* Reads a version 3 projects row selected as V3_PROJECT_COLS (upgrades only). */
static void v3_project_row(sqlite3_stmt *q, bw_project_state *st, int64_t *upto)
{
    memset(st, 0, sizeof *st);
    st->budget = sqlite3_column_int64(q, 1);
    st->paid_fiscal = sqlite3_column_int64(q, 2);
    st->paid_other = sqlite3_column_int64(q, 3);
    for (int k = 0; k < V3_KINDS; k++) {
        int c = V3_FIRST_SLOT_COL + k * V3_SLOT_COLS;
        st->slot[k] = (bw_slot){ .severity = (uint8_t)sqlite3_column_int(q, c),
                                 .acked = (uint8_t)sqlite3_column_int(q, c + 1),
                                 .ms = (uint8_t)sqlite3_column_int(q, c + 2),
                                 .since = sqlite3_column_int64(q, c + 3),
                                 .last_sent = sqlite3_column_int64(q, c + 4) };
        if (k == BW_KIND_LAG)   /* version 3's lag bands were its severities */
            st->slot[k].band = st->slot[k].severity;
    }
    *upto = sqlite3_column_int64(q, V3_UPTO_COL);
}

/* The digest of every projects row, read with a statement of its own (the
 * prepared ones do not exist yet during an upgrade); v3: the rows are still
 * in version 3's columns. */
static int digest_rows(bw_store *s, bool v3, uint64_t *out, bw_err *err)
{
    static const char what[] = "reading the project rows for their digest";
    sqlite3_stmt *q;
    const char *text = v3 ? "SELECT " V3_PROJECT_COLS " FROM projects"
                          : "SELECT " PROJECT_COLS " FROM projects";
    if (sqlite3_prepare_v2(s->db, text, -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "%s", what);
    uint64_t sum = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_project_state st;
        int64_t upto;
        if (v3)
            v3_project_row(q, &st, &upto);
        else if (project_row(s, q, &st, &upto, err)) {
            (void)sqlite3_finalize(q);  /* the row was read: nothing to report */
            return -1;
        }
        sum += bw_store_row_digest(col_text(q, 0), &st, upto);
    }
    if (rc != SQLITE_DONE) {
        fail(s, err, "%s", what);
        (void)sqlite3_finalize(q);      /* repeats the error reported above */
        return -1;
    }
    (void)sqlite3_finalize(q);
    *out = sum;
    return 0;
}

static int set_digest(bw_store *s, uint64_t digest, bw_err *err, const char *what)
{
    char q[96];
    snprintf(q, sizeof q, "INSERT OR REPLACE INTO meta (key, val) VALUES ('totals_digest', %lld)",
             (long long)(int64_t)digest);
    return exec(s, q, err, what);
}

/* Version 2 kept no digest of the saved rows; a version 2 ledger that never
 * completed a save pass had no totals_upto either, and every event of it is
 * then after the watermark (0). */
static int upgrade_v2(bw_store *s, bw_err *err)
{
    static const char what[] = "upgrading the schema from version 2";
    uint64_t digest = 0;   /* set by digest_rows */
    if (exec(s, "BEGIN IMMEDIATE", err, what))
        return -1;
    if (exec(s, "INSERT OR IGNORE INTO meta (key, val) VALUES ('totals_upto', 0)", err, what) ||
        digest_rows(s, true, &digest, err) || set_digest(s, digest, err, what) ||
        exec(s, "PRAGMA user_version = 3", err, what) || exec(s, "COMMIT", err, what)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);   /* already failing */
        return -1;
    }
    return 0;
}

/* Copies every version 3 row into the version 4 table, its slots as text. */
static int v3_copy_rows(bw_store *s, uint64_t *digest, bw_err *err)
{
    static const char what[] = "upgrading the schema from version 3: copying the project rows";
    sqlite3_stmt *from = NULL, *to = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " V3_PROJECT_COLS " FROM projects", -1, &from,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT INTO projects_v4 (" PROJECT_COLS ")"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &to, NULL) != SQLITE_OK) {
        fail(s, err, "%s", what);
        (void)sqlite3_finalize(from);   /* reported above */
        return -1;
    }
    uint64_t sum = 0;
    int rc, bad = 0;
    while (!bad && (rc = sqlite3_step(from)) == SQLITE_ROW) {
        bw_project_state st;
        int64_t upto;
        char slots[BW_SLOTS_TEXT_MAX];
        v3_project_row(from, &st, &upto);
        size_t len = bw_slots_format(st.slot, slots);
        sum += bw_store_row_digest(col_text(from, 0), &st, upto);
        bad = bind_text(to, 1, col_text(from, 0)) || bind_i64(to, 2, st.budget) ||
              bind_i64(to, 3, st.paid_fiscal) || bind_i64(to, 4, st.paid_other) ||
              bind_i64(to, 5, upto) ||
              sqlite3_bind_text(to, 6, slots, (int)len, SQLITE_STATIC);
        bad = run(s, to, bad, err, "%s (project %s)", what, col_text(from, 0));
    }
    if (!bad && rc != SQLITE_DONE)
        bad = fail(s, err, "%s", what);
    /* Both were stepped to the end or reported: finalize has nothing to add. */
    (void)sqlite3_finalize(from);
    (void)sqlite3_finalize(to);
    *digest = sum;
    return bad ? -1 : 0;
}

/* Version 3 kept five columns per alert kind in projects; version 4 keeps
 * the slots as one text keyed by kind word. The table is built anew (SQLite
 * would rewrite it once per dropped column) in one transaction. The digest
 * meta is left as it is: the rows hold the same state, so a row that did not
 * add up before the upgrade does not after it either; and the copy is read
 * back and must give the digest of what was read. */
static int upgrade_v3(bw_store *s, bw_err *err)
{
    static const char what[] = "upgrading the schema from version 3";
    uint64_t before = 0, after = 0;
    if (exec(s, "BEGIN IMMEDIATE", err, what))
        return -1;
    if (exec(s, PROJECTS_TABLE("projects_v4"), err, what) || v3_copy_rows(s, &before, err) ||
        exec(s, "DROP TABLE projects; ALTER TABLE projects_v4 RENAME TO projects", err, what) ||
        digest_rows(s, false, &after, err))
        goto undo;
    if (after != before) {
        bw_err_set(err, "ledger %s: %s: the rows read back differ from the rows copied; the"
                   " ledger is left at version 3", s->path, what);
        goto undo;
    }
    if (exec(s, "PRAGMA user_version = 4", err, what) || exec(s, "COMMIT", err, what))
        goto undo;
    return 0;
undo:
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);   /* already failing */
    return -1;
}

/* ---- daily sums: keys and rebuilding ---- */

#define UTC_DAY 86400

/* The start of the day an instant falls in: the local midnight of the
 * calendar's year, else the UTC midnight (not after the year's end, so that
 * the keys grow with ts across the year's edges). Every event of the day
 * starting at d has ts in [d, next day), so "day < d" is "ts < d". */
static int64_t day_of(const bw_store *s, int64_t ts)
{
    int64_t utc = ts < INT64_MIN + UTC_DAY ? INT64_MIN : ts - ((ts % UTC_DAY) + UTC_DAY) % UTC_DAY;
    if (!s->have_cal)
        return utc;
    const bw_calendar *c = &s->cal;
    if (ts >= c->day_start[c->ndays])
        return utc > c->day_start[c->ndays] ? utc : c->day_start[c->ndays];
    if (ts < c->day_start[0])
        return utc;
    int lo = 0, hi = c->ndays;          /* day_start[lo] <= ts < day_start[hi] */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (c->day_start[mid] <= ts)
            lo = mid;
        else
            hi = mid;
    }
    return c->day_start[lo];
}

/* What the daily table is keyed by: 0 for UTC days, else a digest (FNV-1a)
 * of the calendar's midnights, kept in meta daily_days. */
static int64_t days_digest(const bw_store *s)
{
    if (!s->have_cal)
        return 0;
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i <= s->cal.ndays; i++) {
        uint64_t v = (uint64_t)s->cal.day_start[i];
        for (int b = 0; b < 8; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 1099511628211ull;
        }
    }
    return (int64_t)(h | 1);            /* never 0, which means UTC */
}

/* Puts the local midnights into temp.bw_days (start, next), where the SQL
 * below looks each event's day up. */
static int days_table(bw_store *s, bw_err *err, const char *what)
{
    if (exec(s, "CREATE TEMP TABLE IF NOT EXISTS bw_days (start INTEGER PRIMARY KEY,"
                " next INTEGER NOT NULL); DELETE FROM temp.bw_days", err, what))
        return -1;
    if (!s->have_cal)
        return 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO temp.bw_days (start, next) VALUES (?1, ?2)", -1, &q,
                           NULL) != SQLITE_OK)
        return fail(s, err, "%s", what);
    int bad = 0;
    for (int i = 0; i < s->cal.ndays && !bad; i++)
        bad = run(s, q, bind_i64(q, 1, s->cal.day_start[i]) || bind_i64(q, 2, s->cal.day_start[i + 1]),
                  err, "%s", what);
    (void)sqlite3_finalize(q);          /* stepped to the end or reported */
    return bad ? -1 : 0;
}

/* The events as (project, fund, net, day), day as day_of gives it: the
 * local midnight from temp.bw_days, else the UTC one (not before the year's
 * end once past it). */
static void events_by_day(const bw_store *s, char *out, size_t len)
{
    long long end = s->have_cal ? (long long)s->cal.day_start[s->cal.ndays] : (long long)INT64_MAX;
    snprintf(out, len,
             "SELECT project, fund, CASE type WHEN 0 THEN amount ELSE -amount END AS net,"
             " coalesce((SELECT d.start FROM temp.bw_days d WHERE d.start <= ts AND d.next > ts"
             "  ORDER BY d.start DESC LIMIT 1),"
             "  CASE WHEN ts >= %lld THEN max(ts - ((ts %% 86400) + 86400) %% 86400, %lld)"
             "  ELSE ts - ((ts %% 86400) + 86400) %% 86400 END) AS day FROM events",
             end, s->have_cal ? end : 0LL);
}

/* Fills daily anew from the events, keyed as day_of does, inside the
 * caller's transaction. */
static int daily_rebuild(bw_store *s, bw_err *err)
{
    static const char what[] = "rebuilding the daily sums from the events";
    char ev[1024], sql_text[2048];
    if (days_table(s, err, what) || exec(s, "DELETE FROM daily", err, what))
        return -1;
    events_by_day(s, ev, sizeof ev);
    snprintf(sql_text, sizeof sql_text,
             "INSERT INTO daily (project, day, fiscal, other, events)"
             " SELECT project, day, sum(CASE fund WHEN 0 THEN net ELSE 0 END),"
             "  sum(CASE fund WHEN 1 THEN net ELSE 0 END), count(*) FROM (%s)"
             " GROUP BY project, day;"
             "INSERT OR REPLACE INTO meta (key, val) VALUES ('daily_days', %lld);"
             "DELETE FROM temp.bw_days", ev, (long long)days_digest(s));
    return exec(s, sql_text, err, what);
}

int64_t bw_store_daily_verify(bw_store *s, bw_err *err)
{
    static const char what[] = "comparing the daily sums with the events";
    char ev[1024], sql_text[2048];
    int64_t n = 0;
    if (days_table(s, err, what))
        return -1;
    events_by_day(s, ev, sizeof ev);
    /* Both sides in one GROUP BY: a day on one side only shows up too. */
    snprintf(sql_text, sizeof sql_text,
             "SELECT count(*) FROM (SELECT project, day FROM ("
             " SELECT project, day, fiscal AS f, other AS o, events AS n FROM daily"
             " UNION ALL SELECT project, day, CASE fund WHEN 0 THEN -net ELSE 0 END,"
             "  CASE fund WHEN 1 THEN -net ELSE 0 END, -1 FROM (%s))"
             " GROUP BY project, day HAVING sum(f) != 0 OR sum(o) != 0 OR sum(n) != 0)", ev);
    if (query_first(s, sql_text, &n, NULL, 0, err, what) ||
        exec(s, "DELETE FROM temp.bw_days", err, what))
        return -1;
    return n;
}

/* Version 5 keeps the daily sums of the events (and the indexes on ts and
 * project), filled here from the events by UTC day; the daemon's first
 * bw_store_days_set keys them by the plan's local days (a second pass, on the
 * first start). */
static int upgrade_v4(bw_store *s, bw_err *err)
{
    static const char what[] = "upgrading the schema from version 4";
    if (exec(s, "BEGIN IMMEDIATE", err, what))
        return -1;
    if (exec(s, DAILY_SCHEMA, err, what) || daily_rebuild(s, err) ||
        exec(s, "PRAGMA user_version = 5", err, what) || exec(s, "COMMIT", err, what)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);   /* already failing */
        return -1;
    }
    return 0;
}

/* Version 6 adds columns (v6_projects_sql, v6_alerts_sql); the latest
 * disbursement of each project is read off the ledger once, here, so that
 * stalled counts from it. */
static int upgrade_v5(bw_store *s, bw_err *err)
{
    static const char what[] = "upgrading the schema from version 5";
    if (exec(s, "BEGIN IMMEDIATE", err, what))
        return -1;
    int64_t has_paid = 0, has_band = 0;   /* set by query_first */
    /* A table the version 3 upgrade just built, or a file made by hand from
     * a newer one, may have a column already. */
    if (query_first(s, "SELECT count(*) FROM pragma_table_info('projects') WHERE name = 'last_paid'",
                    &has_paid, NULL, 0, err, what) ||
        query_first(s, "SELECT count(*) FROM pragma_table_info('alerts') WHERE name = 'band'",
                    &has_band, NULL, 0, err, what) ||
        (!has_paid && exec(s, v6_projects_sql, err, what)) ||
        (!has_band && exec(s, v6_alerts_sql, err, what)) ||
        exec(s, "UPDATE projects SET last_paid = m.ts FROM (SELECT project, max(ts) AS ts"
                " FROM events WHERE type = 0 GROUP BY project) AS m WHERE m.project = projects.code",
             err, what) ||
        exec(s, "PRAGMA user_version = 6", err, what) || exec(s, "COMMIT", err, what)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);   /* already failing */
        return -1;
    }
    return 0;
}

static int check_schema(bw_store *s, bw_err *err)
{
    int64_t version = 0;   /* set by query_first */
    if (query_first(s, "PRAGMA user_version", &version, NULL, 0, err, "reading the schema version"))
        return -1;
    if (version == SCHEMA_VERSION)
        return 0;
    /* Each step in a transaction of its own, one version up. */
    if (version == 1 && upgrade_v1(s, err))
        return -1;
    if ((version == 1 || version == 2) && upgrade_v2(s, err))
        return -1;
    if (version >= 1 && version <= 3 && upgrade_v3(s, err))
        return -1;
    if (version >= 1 && version <= 4 && upgrade_v4(s, err))
        return -1;
    if (version >= 1 && version <= 5)
        return upgrade_v5(s, err);
    if (version > SCHEMA_VERSION)
        return bw_err_set(err, "ledger %s: schema version %lld is newer than this budgetwatchd"
                          " understands (%d); run the budgetwatchd that wrote it, or a newer one",
                          s->path, (long long)version, SCHEMA_VERSION);
    if (version != 0)
        return bw_err_set(err, "ledger %s: unknown schema version %lld; it is not a budgetwatch"
                          " ledger: move it away or set another state_dir", s->path,
                          (long long)version);
    return create_schema(s, err);
}

static int prepare(bw_store *s, const char *q_text, sqlite3_stmt **out, bw_err *err)
{
    if (sqlite3_prepare_v3(s->db, q_text, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
        return fail(s, err, "preparing \"%.80s\"", q_text);
    return 0;
}

static int prepare_history(bw_store *s, bw_err *err)
{
    for (unsigned m = 0; m < HIST_VARIANTS; m++) {
        char q[768];
        const char *filters[4] = {
            m & HF_PROJECT ? " AND project = ?1" : "", m & HF_UNIT ? " AND unit = ?2" : "",
            m & HF_SINCE ? " AND at >= ?3" : "", m & HF_UNTIL ? " AND at < ?4" : "" };
        if (m & HF_AFTER)
            snprintf(q, sizeof q,
                     "SELECT " ALERT_COLS " FROM alerts WHERE seq > ?6%s%s%s%s ORDER BY seq LIMIT ?5",
                     filters[0], filters[1], filters[2], filters[3]);
        else
            snprintf(q, sizeof q,
                     "SELECT " ALERT_COLS " FROM (SELECT * FROM alerts WHERE 1%s%s%s%s"
                     " ORDER BY seq DESC LIMIT ?5) ORDER BY seq",
                     filters[0], filters[1], filters[2], filters[3]);
        if (prepare(s, q, &s->hist[m], err))
            return -1;
    }
    return 0;
}

static int prepare_console(bw_store *s, bw_err *err)
{
    for (int i = 0; i < CON_COUNT; i++)
        if (prepare(s, console_sql[i], &s->console[i], err))
            return -1;
    return 0;
}

static int prepare_all(bw_store *s, bw_err *err)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (prepare(s, sql[i], &s->st[i], err))
            return -1;
    return prepare_history(s, err) || prepare_console(s, err) ? -1 : 0;
}

bw_store *bw_store_open(const char *path, bool sync_full, bw_err *err)
{
    bw_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        bw_err_set(err, "ledger %s: out of memory", path);
        return NULL;
    }
    s->nevents = s->npending = -1;
    s->wal_fd = -1;
    if (open_db(s, err) || set_pragmas(s, sync_full, err) || check_schema(s, err) ||
        prepare_all(s, err)) {
        bw_store_close(&s);
        return NULL;
    }
    return s;
}

int bw_store_days_set(bw_store *s, const bw_calendar *cal, bw_err *err)
{
    static const char what[] = "keying the daily sums by the plan's local days";
    s->cal = *cal;
    s->have_cal = true;
    int64_t have = 0;
    int found = bw_store_meta_get(s, "daily_days", &have, err);
    if (found < 0)
        return -1;
    if (have == days_digest(s))
        return 0;
    if (exec(s, "BEGIN IMMEDIATE", err, what))
        return -1;
    if (daily_rebuild(s, err) || exec(s, "COMMIT", err, what)) {
        bw_store_rollback(s);
        return -1;
    }
    return 0;
}

/* ---- checkpoints ---- */

static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((bw_store *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

int bw_store_checkpoint_apart(bw_store *s, bool sync_full, bw_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(s->path, &s->ckpt, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(s->ckpt, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
        bw_err_set(err, "ledger %s: opening the checkpoint connection: %s", s->path,
                   s->ckpt ? sqlite3_errmsg(s->ckpt) : "out of memory");
        (void)sqlite3_close_v2(s->ckpt);
        s->ckpt = NULL;
        return -1;
    }
    /* Our hook replaces the one behind wal_autocheckpoint: commits no longer checkpoint. */
    sqlite3_wal_hook(s->db, on_wal, s);
    return 0;
}

int bw_store_sync_apart(bw_store *s, bw_err *err)
{
    char wal[4096];
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", s->path) >= sizeof wal)
        return bw_err_set(err, "ledger %s: the path is too long", s->path);
    /* The WAL exists once the connection has read the database in WAL mode;
     * it is never deleted while the connections stay open. */
    s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (s->wal_fd < 0)
        return bw_err_set(err, "ledger %s: cannot open %s to sync it: %s", s->path, wal,
                          strerror(errno));
    if (sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        close(s->wal_fd);
        s->wal_fd = -1;
        return bw_err_set(err, "ledger %s: PRAGMA synchronous=NORMAL: %s", s->path,
                          sqlite3_errmsg(s->db));
    }
    return 0;
}

int bw_store_sync(const bw_store *s, bw_err *err)
{
    if (s->wal_fd < 0 || fdatasync(s->wal_fd) == 0)
        return 0;
    return bw_err_set(err, "ledger %s: writing the WAL to the disk (fdatasync of %s-wal): %s",
                      s->path, s->path, strerror(errno));
}

int64_t bw_store_wal_bytes(const bw_store *s)
{
    char wal[4096];
    struct stat st;
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", s->path) >= sizeof wal || stat(wal, &st) != 0)
        return -1;
    return (int64_t)st.st_size;
}

int bw_store_wal_frames(const bw_store *s)
{
    return s->wal_frames;
}

int bw_store_checkpoint(bw_store *s, bool apart, int *done, bw_err *err)
{
    sqlite3 *db = apart ? s->ckpt : s->db;
    int log = 0, ckpt = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
    *done = ckpt;
    if (rc != SQLITE_OK)
        return bw_err_set(err, "ledger %s: checkpointing the WAL into the database: %s", s->path,
                          sqlite3_errmsg(db));
    return 0;
}

void bw_store_close(bw_store **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    bw_store *s = *sp;
    (void)sqlite3_close_v2(s->ckpt);
    /* finalize repeats the last step's error, reported when it happened. */
    for (int i = 0; i < ST_COUNT; i++)
        (void)sqlite3_finalize(s->st[i]);
    for (int i = 0; i < HIST_VARIANTS; i++)
        (void)sqlite3_finalize(s->hist[i]);
    for (int i = 0; i < CON_COUNT; i++)
        (void)sqlite3_finalize(s->console[i]);
    /* With every statement finalized, close_v2 cannot be kept busy; an open
     * transaction is rolled back, and the last connection checkpoints the WAL. */
    (void)sqlite3_close_v2(s->db);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    free(s->path);
    free(s);
    *sp = NULL;
}

/* ---- transactions ---- */

int bw_store_begin(bw_store *s, bw_err *err)
{
    return run(s, s->st[ST_BEGIN], 0, err, "starting a transaction");
}

int bw_store_commit(bw_store *s, bw_err *err)
{
    return run(s, s->st[ST_COMMIT], 0, err, "committing");
}

void bw_store_rollback(bw_store *s)
{
    /* SQLite may already have rolled back by itself (disk full, I/O error). */
    if (s == NULL || sqlite3_get_autocommit(s->db))
        return;
    /* The caller is already handling the error that led here; a failing
     * ROLLBACK leaves nothing more to do (closing rolls back too). */
    (void)sqlite3_step(s->st[ST_ROLLBACK]);
    release(s->st[ST_ROLLBACK]);
    s->nevents = s->npending = -1;
}

/* ---- events ---- */

int bw_store_event_insert(bw_store *s, const bw_event *ev, int64_t received_at, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_EV_INSERT];
    int bad = bind_text(q, 1, ev->src) || bind_text(q, 2, ev->id) ||
              (ev->has_seq ? bind_i64(q, 3, (int64_t)ev->seq) : sqlite3_bind_null(q, 3)) ||
              bind_i64(q, 4, ev->type) || bind_text(q, 5, ev->project) ||
              bind_text(q, 6, ev->unit) || bind_i64(q, 7, ev->amount) || bind_i64(q, 8, ev->fund) ||
              bind_i64(q, 9, ev->ts) || bind_text(q, 10, ev->ref) || bind_i64(q, 11, received_at);
    if (run(s, q, bad, err, "inserting event (src \"%s\", id \"%s\")", ev->src, ev->id))
        return -1;
    /* ON CONFLICT DO NOTHING inserts no row for a (src, id) already there. */
    if (sqlite3_changes(s->db) == 0)
        return 0;
    if (s->nevents >= 0)
        s->nevents++;
    return 1;
}

int bw_store_event_delete(bw_store *s, const char *src, const char *id, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_EV_DELETE];
    int bad = bind_text(q, 1, src) || bind_text(q, 2, id);
    if (run(s, q, bad, err, "taking back event (src \"%s\", id \"%s\")", src, id))
        return -1;
    if (s->nevents > 0 && sqlite3_changes(s->db) > 0)
        s->nevents--;
    return 0;
}

int bw_store_daily_add(bw_store *s, const bw_event *ev, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_DAILY_ADD];
    int64_t day = day_of(s, ev->ts), net = ev->type == BW_EV_DISBURSEMENT ? ev->amount : -ev->amount;
    bool fiscal = ev->fund == BW_FUND_FISCAL;
    int bad = bind_text(q, 1, ev->project) || bind_i64(q, 2, day) ||
              bind_i64(q, 3, fiscal ? net : 0) || bind_i64(q, 4, fiscal ? 0 : net) ||
              bind_i64(q, 5, 1);
    return run(s, q, bad, err, "adding event (src \"%s\", id \"%s\") to the daily sum of"
               " project %s, day %lld", ev->src, ev->id, ev->project, (long long)day);
}

int bw_store_event_exists(bw_store *s, const char *src, const char *id, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_EV_EXISTS];
    int bad = bind_text(q, 1, src) || bind_text(q, 2, id);
    int rc = one_row(s, q, bad, err, "looking up event (src \"%s\", id \"%s\")", src, id);
    if (rc < 0)
        return -1;
    if (rc == SQLITE_ROW)
        release(q);
    return rc == SQLITE_ROW;
}

/* Reads the EVENT_COLS starting at column c into *ev. */
static int event_row(bw_store *s, sqlite3_stmt *q, int c, bw_event *ev, bw_err *err)
{
    memset(ev, 0, sizeof *ev);
    if (!copy_col(q, c, ev->src, sizeof ev->src) || !copy_col(q, c + 1, ev->id, sizeof ev->id) ||
        !copy_col(q, c + 4, ev->project, sizeof ev->project) ||
        !copy_col(q, c + 5, ev->unit, sizeof ev->unit) ||
        !copy_col(q, c + 9, ev->ref, sizeof ev->ref))
        return bw_err_set(err, "ledger %s: event (src \"%.64s\", id \"%.128s\") has a field longer"
                          " than the protocol allows; the file was altered outside budgetwatchd",
                          s->path, col_text(q, c), col_text(q, c + 1));
    ev->has_seq = sqlite3_column_type(q, c + 2) != SQLITE_NULL;
    ev->seq = (uint64_t)sqlite3_column_int64(q, c + 2);
    ev->type = (uint8_t)sqlite3_column_int(q, c + 3);
    ev->amount = sqlite3_column_int64(q, c + 6);
    ev->fund = (uint8_t)sqlite3_column_int(q, c + 7);
    ev->ts = sqlite3_column_int64(q, c + 8);
    return 0;
}

int bw_store_event_get(bw_store *s, const char *src, const char *id, bw_event *out, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_EV_GET];
    int bad = bind_text(q, 1, src) || bind_text(q, 2, id);
    int rc = one_row(s, q, bad, err, "reading event (src \"%s\", id \"%s\")", src, id);
    if (rc != SQLITE_ROW)
        return rc < 0 ? -1 : 0;
    rc = event_row(s, q, 0, out, err);
    release(q);
    return rc < 0 ? -1 : 1;
}

int bw_store_events_each(bw_store *s, int64_t after_rowid, bw_event_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_EV_EACH];
    if (bind_i64(q, 1, after_rowid) != SQLITE_OK)
        return run(s, q, 1, err, "reading the events");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_event ev;
        int64_t rowid = sqlite3_column_int64(q, 0);
        if (event_row(s, q, 1, &ev, err)) {
            release(q);
            return -1;
        }
        if (fn(ctx, rowid, &ev) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the events after rowid %lld", (long long)after_rowid);
    release(q);
    return 0;
}

int bw_store_events_since(bw_store *s, int64_t from_ts, bw_event_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_EV_SINCE];
    if (bind_i64(q, 1, from_ts) != SQLITE_OK)
        return run(s, q, 1, err, "reading the events since %lld", (long long)from_ts);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_event ev;
        if (event_row(s, q, 1, &ev, err)) {
            release(q);
            return -1;
        }
        if (fn(ctx, sqlite3_column_int64(q, 0), &ev) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the events since %lld", (long long)from_ts);
    release(q);
    return 0;
}

int bw_store_refunded_total(bw_store *s, const char *src, const char *ref, const char *except_id,
                            int64_t *out, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_REFUNDED];
    int bad = bind_text(q, 1, src) || bind_text(q, 2, ref) || bind_text(q, 3, except_id);
    int rc = one_row(s, q, bad, err, "summing the refunds of (src \"%s\", id \"%s\")", src, ref);
    if (rc != SQLITE_ROW)   /* an aggregate always returns its row */
        return -1;
    *out = sqlite3_column_int64(q, 0);
    release(q);
    return 0;
}

/* Runs a SELECT count(*) statement. */
static int64_t count(bw_store *s, int st, bw_err *err, const char *what)
{
    sqlite3_stmt *q = s->st[st];
    if (one_row(s, q, 0, err, "%s", what) != SQLITE_ROW)
        return -1;
    int64_t n = sqlite3_column_int64(q, 0);
    release(q);
    return n;
}

int64_t bw_store_event_count(bw_store *s, bw_err *err)
{
    if (s->nevents < 0)
        s->nevents = count(s, ST_EV_COUNT, err, "counting events");
    return s->nevents;
}

int64_t bw_store_event_max_rowid(bw_store *s, bw_err *err)
{
    return count(s, ST_EV_MAX_ROWID, err, "finding the last event");
}

/* ---- dead letters ---- */

int64_t bw_store_reject_insert(bw_store *s, const char *src, const char *id, const void *raw,
                               size_t rawlen, const char *reason, const char *peer, int64_t at,
                               bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_REJ_INSERT];
    /* A NULL pointer would bind SQL NULL; an empty message is an empty blob. */
    int bad = bind_text(q, 1, src) || bind_text(q, 2, id) ||
              sqlite3_bind_blob64(q, 3, raw ? raw : "", raw ? rawlen : 0, SQLITE_STATIC) ||
              bind_text(q, 4, reason) || bind_i64(q, 5, at) ||
              (peer ? bind_text(q, 6, peer) : sqlite3_bind_null(q, 6));
    if (run(s, q, bad, err, "keeping a rejected message (src \"%s\", id \"%s\")", src, id))
        return -1;
    if (s->npending >= 0)
        s->npending++;
    return sqlite3_last_insert_rowid(s->db);
}

int bw_store_rejects_each(bw_store *s, int64_t after_id, bw_reject_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_REJ_EACH];
    if (bind_i64(q, 1, after_id) != SQLITE_OK)
        return run(s, q, 1, err, "reading the dead letters");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const void *raw = sqlite3_column_blob(q, 1);
        size_t len = (size_t)sqlite3_column_bytes(q, 1);
        const char *peer = sqlite3_column_type(q, 3) == SQLITE_NULL ? NULL : col_text(q, 3);
        if (fn(ctx, sqlite3_column_int64(q, 0), raw ? raw : "", len, col_text(q, 2), peer) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the dead letters");
    release(q);
    return 0;
}

int bw_store_reject_mark_replayed(bw_store *s, int64_t id, int64_t at, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_REJ_MARK];
    int bad = bind_i64(q, 1, id) || bind_i64(q, 2, at);
    if (run(s, q, bad, err, "marking dead letter %lld replayed", (long long)id))
        return -1;
    if (s->npending > 0 && sqlite3_changes(s->db) > 0)
        s->npending--;
    return 0;
}

int64_t bw_store_rejects_pending(bw_store *s, bw_err *err)
{
    if (s->npending < 0)
        s->npending = count(s, ST_REJ_PENDING, err, "counting dead letters");
    return s->npending;
}

/* ---- project state ---- */

int bw_store_project_save(bw_store *s, const char *code, const bw_project_state *st,
                          int64_t upto, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_PROJ_SAVE];
    char slots[BW_SLOTS_TEXT_MAX];
    size_t len = bw_slots_format(st->slot, slots);
    int bad = bind_text(q, 1, code) || bind_i64(q, 2, st->budget) ||
              bind_i64(q, 3, st->paid_fiscal) || bind_i64(q, 4, st->paid_other) ||
              bind_i64(q, 5, upto) || sqlite3_bind_text(q, 6, slots, (int)len, SQLITE_STATIC) ||
              bind_i64(q, 7, st->last_paid);
    return run(s, q, bad, err, "saving the state of project %s", code);
}

/* Records that fn stopped a restore walk: keeps fn's own message, or says
 * what was being restored if fn left none. */
static int stopped(bw_store *s, sqlite3_stmt *q, bw_err *err, const char *what, const char *key)
{
    if (err != NULL && err->msg[0] == '\0')
        bw_err_set(err, "ledger %s: restoring %s %s failed", s->path, what, key);
    release(q);
    return -1;
}

int bw_store_projects_each(bw_store *s, bw_project_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_PROJ_EACH];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_project_state st;
        int64_t upto;
        if (project_row(s, q, &st, &upto, err)) {
            release(q);
            return -1;
        }
        st.last_paid = sqlite3_column_int64(q, 6);
        if (err != NULL)
            err->msg[0] = '\0';
        if (fn(ctx, col_text(q, 0), &st, upto) != 0)
            return stopped(s, q, err, "project", col_text(q, 0));
    }
    if (rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the project states");
    release(q);
    return 0;
}

/* FNV-1a over the code, then each figure folded in through splitmix64's
 * finaliser: any one changed column changes the digest, and the sum over
 * rows does not depend on the order they are read in.
 * The slots of version 3's four kinds are folded in always, in their order,
 * as version 3 did, so that the digests it wrote hold in version 4; a kind
 * added since is folded in only when its slot is not empty, after its word,
 * so that adding a kind leaves every digest already written valid. */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h += 0x9e3779b97f4a7c15u;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

uint64_t bw_store_row_digest(const char *code, const bw_project_state *st, int64_t upto)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *c = (const unsigned char *)code; *c; c++)
        h = (h ^ *c) * 0x100000001b3u;
    h = mix(h, (uint64_t)st->budget);
    h = mix(h, (uint64_t)st->paid_fiscal);
    h = mix(h, (uint64_t)st->paid_other);
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        const bw_slot *sl = &st->slot[k];
        if (k >= V3_KINDS) {
            if (bw_slot_is_empty(sl))
                continue;
            uint64_t w = 0xcbf29ce484222325u;
            for (const unsigned char *c = (const unsigned char *)bw_kind_name(k); *c; c++)
                w = (w ^ *c) * 0x100000001b3u;
            h = mix(h, w);
        }
        h = mix(h, (uint64_t)sl->severity | (uint64_t)sl->acked << 8 | (uint64_t)sl->ms << 16);
        /* Version 6's fields only when set: an older row keeps its digest. */
        if (bw_slot_says_more(k, sl))
            h = mix(h, (uint64_t)sl->handling | (uint64_t)sl->normal << 8 |
                           (uint64_t)sl->quiet << 16 | (uint64_t)sl->band << 24);
        h = mix(h, (uint64_t)sl->since);
        h = mix(h, (uint64_t)sl->last_sent);
    }
    return mix(h, (uint64_t)upto);
}

/* ---- sources ---- */

int bw_store_source_save(bw_store *s, const char *src, uint64_t last_seq, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_SRC_SAVE];
    int bad = bind_text(q, 1, src) || bind_i64(q, 2, (int64_t)last_seq);
    return run(s, q, bad, err, "saving the last seq of source \"%s\"", src);
}

int bw_store_sources_each(bw_store *s, bw_source_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_SRC_EACH];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (err != NULL)
            err->msg[0] = '\0';
        if (fn(ctx, col_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1)) != 0)
            return stopped(s, q, err, "source", col_text(q, 0));
    }
    if (rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the sources");
    release(q);
    return 0;
}

/* ---- adjustments ---- */

int bw_store_adjust_insert(bw_store *s, const char *project, int64_t old_budget, int64_t new_budget,
                           const char *reason, int64_t at, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_ADJ_INSERT];
    int bad = bind_text(q, 1, project) || bind_i64(q, 2, old_budget) ||
              bind_i64(q, 3, new_budget) || bind_text(q, 4, reason) || bind_i64(q, 5, at);
    return run(s, q, bad, err, "recording a budget adjustment of project %s", project);
}

int bw_store_adjusts_latest_each(bw_store *s, bw_adjust_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_ADJ_LATEST];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (err != NULL)
            err->msg[0] = '\0';
        if (fn(ctx, col_text(q, 0), sqlite3_column_int64(q, 1)) != 0)
            return stopped(s, q, err, "the budget adjustment of project", col_text(q, 0));
    }
    if (rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the budget adjustments");
    release(q);
    return 0;
}

/* ---- the console's reads ---- */

int bw_store_payments_each(bw_store *s, const char *project, int64_t before, int64_t limit,
                           bw_payment_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->console[CON_PAYMENTS];
    int bad = bind_text(q, 1, project) || bind_i64(q, 2, before > 0 ? before : INT64_MAX) ||
              bind_i64(q, 3, limit);
    if (bad)
        return run(s, q, 1, err, "reading the payments of project %s", project);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_event ev;
        if (event_row(s, q, 1, &ev, err)) {
            release(q);
            return -1;
        }
        if (fn(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 11), &ev) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the payments of project %s", project);
    release(q);
    return 0;
}

int64_t bw_store_payments_count(bw_store *s, const char *project, bw_err *err)
{
    sqlite3_stmt *q = s->console[CON_PAYMENTS_COUNT];
    int bad = bind_text(q, 1, project);
    if (one_row(s, q, bad, err, "counting the payments of project %s", project) != SQLITE_ROW)
        return -1;
    int64_t n = sqlite3_column_int64(q, 0);
    release(q);
    return n;
}

int bw_store_adjustments_each(bw_store *s, const char *project, bw_adjustment_fn fn, void *ctx,
                              bw_err *err)
{
    sqlite3_stmt *q = s->console[CON_ADJUSTMENTS];
    if (bind_text(q, 1, project))
        return run(s, q, 1, err, "reading the budget adjustments of project %s", project);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), col_text(q, 2),
               sqlite3_column_int64(q, 3)) != 0)
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the budget adjustments of project %s", project);
    release(q);
    return 0;
}

/* ---- the alert log ---- */

int bw_store_alert_append(bw_store *s, const bw_alert_msg *a, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_ALERT_INSERT];
    int bad = bind_i64(q, 1, (int64_t)a->seq) || bind_text(q, 2, bw_kind_name(a->kind)) ||
              bind_text(q, 3, bw_state_name(a->state)) ||
              bind_text(q, 4, bw_severity_name(a->severity)) || bind_opt_text(q, 5, a->unit) ||
              bind_opt_text(q, 6, a->unit_name) || bind_opt_text(q, 7, a->project) ||
              bind_opt_text(q, 8, a->project_name) || bind_i64(q, 9, a->budget) ||
              bind_i64(q, 10, a->paid) || bind_i64(q, 11, a->shortfall) ||
              bind_i64(q, 12, a->rate_bp) || bind_i64(q, 13, a->planned_bp) ||
              bind_i64(q, 14, a->lag_bp) || bind_i64(q, 15, a->pace_bp) ||
              bind_opt_text(q, 16, a->milestone) || bind_i64(q, 17, a->at) ||
              bind_i64(q, 18, a->since) || bind_opt_text(q, 19, a->src) ||
              bind_opt_u64(q, 20, a->expected_seq) || bind_opt_u64(q, 21, a->got_seq) ||
              bind_opt_text(q, 22, a->by) || bind_opt_text(q, 23, a->note) ||
              bind_opt_text(q, 24, a->band) || bind_text(q, 25, bw_basis_name(a->basis)) ||
              bind_i64(q, 26, a->pace_lag_bp) || bind_i64(q, 27, a->pace_shortfall) ||
              bind_text(q, 28, bw_handling_name(a->handling)) || bind_opt_text(q, 29, a->id) ||
              (a->id[0] ? bind_i64(q, 30, a->amount) : sqlite3_bind_null(q, 30) != SQLITE_OK) ||
              bind_opt_text(q, 31, a->ref);
    return run(s, q, bad, err, "appending alert %llu to the alert log", (unsigned long long)a->seq);
}

/* The index of a wire word among name(0..n-1), or -1. */
static int word_index(const char *w, const char *(*name)(int), int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(w, name(i)) == 0)
            return i;
    return -1;
}

static int alert_row(bw_store *s, sqlite3_stmt *q, bw_alert_msg *a, bw_err *err)
{
    memset(a, 0, sizeof *a);
    a->seq = (uint64_t)sqlite3_column_int64(q, 0);
    int kind = word_index(col_text(q, 1), bw_kind_name, BW_KINDS);
    int state = word_index(col_text(q, 2), bw_state_name, BW_STATE_RESOLVED + 1);
    int sev = word_index(col_text(q, 3), bw_severity_name, BW_SEV_CRITICAL + 1);
    if (kind < 0 || state < 0 || sev < 0)
        return bw_err_set(err, "ledger %s: alert %llu has kind \"%s\", state \"%s\", severity \"%s\";"
                          " one of them is not a budgetwatch word (the file was altered)",
                          s->path, (unsigned long long)a->seq, col_text(q, 1), col_text(q, 2),
                          col_text(q, 3));
    a->kind = (uint8_t)kind;
    a->state = (uint8_t)state;
    a->severity = (uint8_t)sev;
    if (!copy_col(q, 4, a->unit, sizeof a->unit) ||
        !copy_col(q, 5, a->unit_name, sizeof a->unit_name) ||
        !copy_col(q, 6, a->project, sizeof a->project) ||
        !copy_col(q, 7, a->project_name, sizeof a->project_name) ||
        !copy_col(q, 15, a->milestone, sizeof a->milestone) ||
        !copy_col(q, 18, a->src, sizeof a->src) || !copy_col(q, 21, a->by, sizeof a->by) ||
        !copy_col(q, 22, a->note, sizeof a->note) || !copy_col(q, 23, a->band, sizeof a->band) ||
        !copy_col(q, 28, a->id, sizeof a->id) || !copy_col(q, 30, a->ref, sizeof a->ref))
        return bw_err_set(err, "ledger %s: alert %llu has a field longer than the protocol allows"
                          " (the file was altered)", s->path, (unsigned long long)a->seq);
    a->budget = sqlite3_column_int64(q, 8);
    a->paid = sqlite3_column_int64(q, 9);
    a->shortfall = sqlite3_column_int64(q, 10);
    a->rate_bp = sqlite3_column_int(q, 11);
    a->planned_bp = sqlite3_column_int(q, 12);
    a->lag_bp = sqlite3_column_int(q, 13);
    a->pace_bp = sqlite3_column_int(q, 14);
    a->at = sqlite3_column_int64(q, 16);
    a->since = sqlite3_column_int64(q, 17);
    a->expected_seq = (uint64_t)sqlite3_column_int64(q, 19);
    a->got_seq = (uint64_t)sqlite3_column_int64(q, 20);
    /* NULL in messages a version 4 ledger logged: the plan, and unhandled
     * but for an acknowledgement, which was the step followed_up. */
    int basis = bw_basis_parse(col_text(q, 24)), handling = bw_handling_parse(col_text(q, 27));
    a->basis = basis == BW_BASIS_PACE ? BW_BASIS_PACE : BW_BASIS_PLAN;
    if (handling < 0)
        handling = a->state == BW_STATE_ACKNOWLEDGED ? BW_HANDLING_FOLLOWED_UP
                                                     : BW_HANDLING_UNHANDLED;
    a->handling = (uint8_t)handling;
    a->pace_lag_bp = sqlite3_column_int(q, 25);
    a->pace_shortfall = sqlite3_column_int64(q, 26);
    a->amount = sqlite3_column_int64(q, 29);
    return 0;
}

static sqlite3_stmt *history_stmt(bw_store *s, const bw_history_filter *f, int *bad)
{
    unsigned m = (f->project && f->project[0] ? HF_PROJECT : 0) |
                 (f->unit && f->unit[0] ? HF_UNIT : 0) | (f->has_since ? HF_SINCE : 0) |
                 (f->has_until ? HF_UNTIL : 0) | (f->has_after_seq ? HF_AFTER : 0);
    sqlite3_stmt *q = s->hist[m];
    *bad = (m & HF_PROJECT && bind_text(q, 1, f->project)) ||
           (m & HF_UNIT && bind_text(q, 2, f->unit)) ||
           (m & HF_SINCE && bind_i64(q, 3, f->since)) ||
           (m & HF_UNTIL && bind_i64(q, 4, f->until)) ||
           (m & HF_AFTER && bind_i64(q, 6, f->after_seq > INT64_MAX ? INT64_MAX : (int64_t)f->after_seq)) ||
           bind_i64(q, 5, f->limit ? (int64_t)f->limit : -1);   /* LIMIT -1: no limit */
    return q;
}

/* Steps q (bound) and calls fn for each alert it returns, until fn says stop. */
static int alerts_walk(bw_store *s, sqlite3_stmt *q, bw_alert_msg_fn fn, void *ctx, bw_err *err)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bw_alert_msg a;
        if (alert_row(s, q, &a, err)) {
            release(q);
            return -1;
        }
        if (fn(ctx, &a) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the alert log");
    release(q);
    return 0;
}

int bw_store_history_each(bw_store *s, const bw_history_filter *f, bw_alert_msg_fn fn, void *ctx,
                          bw_err *err)
{
    int bad;
    sqlite3_stmt *q = history_stmt(s, f, &bad);
    if (bad)
        return run(s, q, 1, err, "reading the alert log");
    return alerts_walk(s, q, fn, ctx, err);
}

int bw_store_alerts_after(bw_store *s, uint64_t after, bw_alert_msg_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_ALERT_AFTER];
    if (bind_i64(q, 1, (int64_t)after))
        return run(s, q, 1, err, "reading the alert log after #%llu", (unsigned long long)after);
    return alerts_walk(s, q, fn, ctx, err);
}

/* ---- meta ---- */

int bw_store_meta_set(bw_store *s, const char *key, int64_t val, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_META_SET];
    int bad = bind_text(q, 1, key) || bind_i64(q, 2, val);
    return run(s, q, bad, err, "saving meta %s", key);
}

int bw_store_meta_get(bw_store *s, const char *key, int64_t *val, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_META_GET];
    int rc = one_row(s, q, bind_text(q, 1, key), err, "reading meta %s", key);
    if (rc != SQLITE_ROW)
        return rc < 0 ? -1 : 0;
    *val = sqlite3_column_int64(q, 0);
    release(q);
    return 1;
}

/* ---- damage ---- */

/* One row of integrity_check may hold several problems, one a line, after a
 * "*** in database main ***" header: each line is one problem. */
static int64_t each_line(const char *rows, bw_problem_fn fn, void *ctx)
{
    int64_t n = 0;
    while (*rows) {
        size_t len = strcspn(rows, "\n");
        if (len > 0 && strncmp(rows, "***", 3) != 0) {
            char line[BW_PROBLEM_MAX];
            snprintf(line, sizeof line, "%.*s", (int)len, rows);
            n++;
            if (fn != NULL)
                fn(ctx, line);
        }
        rows += len + (rows[len] == '\n');
    }
    return n;
}

/* Runs PRAGMA quick_check or integrity_check on db. SQLite reports damage as
 * rows of text, or, where a page cannot be read at all, as SQLITE_CORRUPT
 * from the step itself: both count as problems, not as a failed check. */
static int64_t check_db(sqlite3 *db, const char *path, bool full, bw_problem_fn fn, void *ctx,
                        bw_err *err)
{
    sqlite3_stmt *q;
    const char *text = full ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)";
    if (sqlite3_prepare_v2(db, text, -1, &q, NULL) != SQLITE_OK) {
        int code = sqlite3_errcode(db);
        if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
            if (fn != NULL)
                fn(ctx, sqlite3_errmsg(db));
            return 1;
        }
        return bw_err_set(err, "ledger %s: cannot run %s: %s", path, text + 7, sqlite3_errmsg(db));
    }
    int64_t problems = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *row = (const char *)sqlite3_column_text(q, 0);
        if (row == NULL || strcmp(row, "ok") == 0)
            continue;
        problems += each_line(row, fn, ctx);
    }
    int64_t out = problems;
    if (rc != SQLITE_DONE) {
        int code = sqlite3_extended_errcode(db) & 0xff;
        if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
            if (fn != NULL)
                fn(ctx, sqlite3_errmsg(db));
            out = problems + 1;
        } else {
            out = bw_err_set(err, "ledger %s: %s stopped: %s", path, text + 7, sqlite3_errmsg(db));
        }
    }
    (void)sqlite3_finalize(q);  /* repeats the step's result, handled above */
    return out;
}

int64_t bw_store_integrity(bw_store *s, bool full, bw_problem_fn fn, void *ctx, bw_err *err)
{
    return check_db(s->db, s->path, full, fn, ctx, err);
}

static int first_problem(void *ctx, const char *msg)
{
    char *first = ctx;
    if (first[0] == '\0')
        snprintf(first, BW_PROBLEM_MAX, "%s", msg);
    return 0;
}

int64_t bw_store_integrity_file(const char *path, bool full, char first[BW_PROBLEM_MAX],
                                bw_err *err)
{
    sqlite3 *db = NULL;
    first[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        bw_err_set(err, "ledger %s: opening a connection for the integrity check: %s", path,
                   db ? sqlite3_errmsg(db) : "out of memory");
        (void)sqlite3_close_v2(db);
        return -1;
    }
    (void)sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    int64_t n = check_db(db, path, full, first_problem, first, err);
    (void)sqlite3_close_v2(db);     /* read-only, no statement left: nothing to report */
    return n;
}

/* ---- rebuilding the saved totals ---- */

/* Every projects row gets the totals of all its events, and a row is made for
 * each project that has events but none; upto and the watermark become the
 * last event, and the digest is made anew. Alert slots are kept. */
int bw_store_rebuild_totals(bw_store *s, int64_t *rows, bw_err *err)
{
    static const char what[] = "rebuilding the project totals from the events";
    static const char sql_text[] =
        "INSERT INTO projects (" PROJECT_COLS ")"
        " SELECT DISTINCT project, 0, 0, 0, 0, '' FROM events WHERE true"
        " ON CONFLICT (code) DO NOTHING;"
        "UPDATE projects SET paid_fiscal = 0, paid_other = 0,"
        " upto = (SELECT coalesce(max(rowid), 0) FROM events);"
        "WITH ledger AS (SELECT project,"
        "  sum(CASE fund WHEN 0 THEN CASE type WHEN 0 THEN amount ELSE -amount END ELSE 0 END)"
        "   AS fiscal,"
        "  sum(CASE fund WHEN 1 THEN CASE type WHEN 0 THEN amount ELSE -amount END ELSE 0 END)"
        "   AS other"
        "  FROM events GROUP BY project)"
        " UPDATE projects SET paid_fiscal = ledger.fiscal, paid_other = ledger.other"
        " FROM ledger WHERE ledger.project = projects.code;"
        "INSERT OR REPLACE INTO meta (key, val)"
        " SELECT 'totals_upto', coalesce(max(rowid), 0) FROM events;";
    uint64_t digest = 0;   /* set by digest_rows */
    if (exec(s, "BEGIN IMMEDIATE", err, what))
        return -1;
    if (exec(s, sql_text, err, what) || daily_rebuild(s, err) ||
        digest_rows(s, false, &digest, err) ||
        set_digest(s, digest, err, what) ||
        query_first(s, "SELECT count(*) FROM projects", rows, NULL, 0, err, what) ||
        exec(s, "COMMIT", err, what)) {
        bw_store_rollback(s);
        return -1;
    }
    return 0;
}

/* ---- daily sums: reading ---- */

/* The events of one project in [from, at], into fn. */
static int paid_span(bw_store *s, const char *project, int64_t from, int64_t at, bw_paid_fn fn,
                     void *ctx, bw_err *err)
{
    static const char what[] = "summing a project's payments of a part of a day";
    sqlite3_stmt *q = s->st[ST_DAILY_SPAN];
    if (bind_text(q, 1, project) || bind_i64(q, 2, from) || bind_i64(q, 3, at))
        return run(s, q, 1, err, "%s", what);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t net = sqlite3_column_int64(q, 0);
        bool fiscal = sqlite3_column_int(q, 1) == BW_FUND_FISCAL;
        stop = fn(ctx, project, fiscal ? net : 0, fiscal ? 0 : net);
    }
    if (!stop && rc != SQLITE_DONE)
        return run(s, q, 1, err, "%s (project %s, %lld to %lld)", what, project, (long long)from,
                   (long long)at);
    release(q);
    return stop ? -1 : 0;
}

/* The whole days before at's day from the daily sums; the day at falls in
 * from the events of the projects that paid on it (the daily sums name
 * them), so only those projects' events are read. */
int bw_store_paid_at(bw_store *s, int64_t at, bw_paid_fn fn, void *ctx, bw_err *err)
{
    static const char what[] = "summing the payments up to an instant";
    int64_t d0 = day_of(s, at);
    sqlite3_stmt *q = s->st[ST_DAILY_BEFORE];
    if (bind_i64(q, 1, d0) != SQLITE_OK)
        return run(s, q, 1, err, "%s", what);
    char **today = NULL;
    size_t n = 0, cap = 0;
    int rc, stop = 0;
    bool oom = false;
    while (!stop && !oom && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *code = col_text(q, 0);
        if (sqlite3_column_int64(q, 3) < d0) {
            stop = fn(ctx, code, sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2));
            continue;
        }
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 64;
            char **grown = realloc(today, c2 * sizeof *grown);
            if (grown == NULL) {
                oom = true;
                break;
            }
            today = grown;
            cap = c2;
        }
        if ((today[n] = strdup(code)) == NULL) {
            oom = true;
            break;
        }
        n++;
    }
    int bad = 0;
    if (oom) {
        release(q);
        bad = bw_err_set(err, "%s: out of memory listing the projects paid on the day of %lld",
                         what, (long long)at);
    } else if (!stop && rc != SQLITE_DONE) {
        bad = run(s, q, 1, err, "%s (the whole days before %lld)", what, (long long)d0);
    } else {
        release(q);
        bad = stop ? -1 : 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!bad && paid_span(s, today[i], d0, at, fn, ctx, err))
            bad = -1;
        free(today[i]);
    }
    free(today);
    return bad ? -1 : 0;
}

int bw_store_budgets_at(bw_store *s, int64_t at, bw_adjust_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_ADJ_AT];
    if (bind_i64(q, 1, at) != SQLITE_OK)
        return run(s, q, 1, err, "reading the budgets as adjusted by %lld", (long long)at);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
        stop = fn(ctx, col_text(q, 0), sqlite3_column_int64(q, 1));
    if (!stop && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the budgets as adjusted by %lld", (long long)at);
    release(q);
    return stop ? -1 : 0;
}

int bw_store_daily_each(bw_store *s, const char *project, bw_daily_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[project ? ST_DAILY_PROJECT : ST_DAILY_ALL];
    if (project && bind_text(q, 1, project) != SQLITE_OK)
        return run(s, q, 1, err, "reading the daily sums");
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
        stop = fn(ctx, col_text(q, 0), sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2));
    if (!stop && rc != SQLITE_DONE)
        return run(s, q, 1, err, "reading the daily sums");
    release(q);
    return stop ? -1 : 0;
}

/* ---- verify ---- */

int64_t bw_store_verify(bw_store *s, bw_verify_fn fn, void *ctx, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_VERIFY];
    int64_t checked = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bool no_saved_row = sqlite3_column_int(q, 1) != 0;
        int64_t sf = sqlite3_column_int64(q, 2), so = sqlite3_column_int64(q, 3);
        int64_t lf = sqlite3_column_int64(q, 4), lo = sqlite3_column_int64(q, 5);
        checked++;
        /* Events without a saved row differ even when they net to zero: the
         * daemon saves every project its events touch. */
        if ((no_saved_row || sf != lf || so != lo) && fn(ctx, col_text(q, 0), sf, so, lf, lo) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run(s, q, 1, err, "recomputing the totals from the events");
    release(q);
    return checked;
}

/* ---- the last message of each active alert ---- */

/* One statement for the whole list, prepared here rather than at open: an
 * `alerts` request is rare, and each look-up walks alerts_project newest
 * first, stopping at the first row of the kind — a few rows per alert,
 * whatever the size of the log. */
int bw_store_alerts_last_seq(bw_store *s, const bw_alert_key *keys, size_t n, uint64_t *seqs,
                             bw_err *err)
{
    static const char q_text[] = "SELECT seq FROM alerts WHERE project = ?1 AND kind = ?2"
                                 " ORDER BY seq DESC LIMIT 1";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, q_text, -1, &q, NULL) != SQLITE_OK)
        return fail(s, err, "preparing the look-up of the alerts' last messages");
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        int rc = bind_text(q, 1, keys[i].project) || bind_text(q, 2, keys[i].kind)
                 ? SQLITE_ERROR : sqlite3_step(q);
        seqs[i] = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            bad = fail(s, err, "reading the last %s message of project %s from the alert log",
                       keys[i].kind, keys[i].project);
        release(q);
    }
    /* Its errors were reported as they came: finalize has nothing to add. */
    (void)sqlite3_finalize(q);
    return bad;
}

int bw_store_alert_payment(bw_store *s, const char *project, bw_alert_msg *m, bw_err *err)
{
    sqlite3_stmt *q = s->st[ST_ALERT_PAYMENT];
    if (bind_text(q, 1, project))
        return fail(s, err, "looking up the payment of the large_payment alert of project %s",
                    project);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        snprintf(m->src, sizeof m->src, "%s", col_text(q, 0));
        snprintf(m->id, sizeof m->id, "%s", col_text(q, 1));
        m->amount = sqlite3_column_int64(q, 2);
        snprintf(m->ref, sizeof m->ref, "%s", col_text(q, 3));
        release(q);
        return 1;
    }
    if (rc != SQLITE_DONE)
        return run(s, q, 1, err, "looking up the payment of the large_payment alert of project %s",
                   project);
    release(q);
    return 0;
}
