/* outbox: the notifier's SQLite record (see outbox.h). WAL with
 * synchronous=FULL: a commit that returned is on the disk, so an alert taken
 * (and its last seq) survives a crash and is neither lost nor taken twice. */
#include "outbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct bwn_outbox {
    sqlite3 *db;
    char *path;
    char err[512];
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, val INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alerts(seq INTEGER PRIMARY KEY, body BLOB NOT NULL, kind TEXT NOT NULL,"
    " state TEXT NOT NULL, severity TEXT, unit TEXT, project TEXT, at INTEGER, taken_at INTEGER NOT NULL,"
    " akey TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alerts_key ON alerts(akey, seq);"
    "CREATE INDEX IF NOT EXISTS alerts_project ON alerts(project);"
    "CREATE TABLE IF NOT EXISTS last_state(key TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS queue(receiver TEXT NOT NULL, seq INTEGER NOT NULL, route TEXT NOT NULL,"
    " group_key TEXT NOT NULL, queued_at INTEGER NOT NULL, due_at INTEGER NOT NULL, notification INTEGER,"
    " PRIMARY KEY (receiver, seq));"
    "CREATE INDEX IF NOT EXISTS queue_open ON queue(notification, due_at);"
    "CREATE INDEX IF NOT EXISTS queue_note ON queue(notification);"
    "CREATE TABLE IF NOT EXISTS groups(receiver TEXT NOT NULL, route TEXT NOT NULL, group_key TEXT NOT NULL,"
    " last_at INTEGER NOT NULL, PRIMARY KEY (receiver, route, group_key));"
    "CREATE TABLE IF NOT EXISTS notifications(id INTEGER PRIMARY KEY, receiver TEXT NOT NULL,"
    " route TEXT NOT NULL, group_key TEXT NOT NULL, title TEXT NOT NULL, nalerts INTEGER NOT NULL,"
    " payload BLOB, created_at INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, done_at INTEGER, answer TEXT);"
    "CREATE INDEX IF NOT EXISTS notifications_due ON notifications(receiver, state, next_at);"
    "CREATE TABLE IF NOT EXISTS attempts(id INTEGER PRIMARY KEY, notification INTEGER NOT NULL,"
    " receiver TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, result TEXT NOT NULL,"
    " status INTEGER, answer TEXT);"
    "CREATE INDEX IF NOT EXISTS attempts_note ON attempts(notification);"
    "CREATE INDEX IF NOT EXISTS attempts_receiver ON attempts(receiver, started_at);";

static int fail(bwn_outbox *o, const char *what)
{
    snprintf(o->err, sizeof o->err, "outbox %s: %s: %s", o->path, what, sqlite3_errmsg(o->db));
    return -1;
}

const char *bwn_outbox_error(const bwn_outbox *o) { return o->err; }

bwn_outbox *bwn_outbox_open(const char *path, char *err)
{
    bwn_outbox *o = calloc(1, sizeof *o);
    if (o == NULL || (o->path = strdup(path)) == NULL) {
        free(o);
        snprintf(err, 512, "outbox %s: out of memory", path);
        return NULL;
    }
    if (sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(o->db, 5000) != SQLITE_OK ||
        sqlite3_exec(o->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, 512, "outbox %s: cannot open or set up: %s; is the directory there and "
                 "writable?", path, o->db ? sqlite3_errmsg(o->db) : "out of memory");
        bwn_outbox_close(&o);
        return NULL;
    }
    return o;
}

void bwn_outbox_close(bwn_outbox **o)
{
    if (o == NULL || *o == NULL)
        return;
    sqlite3_close((*o)->db);
    free((*o)->path);
    free(*o);
    *o = NULL;
}

static int exec(bwn_outbox *o, const char *sql, const char *what)
{
    return sqlite3_exec(o->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(o, what);
}

int bwn_outbox_begin(bwn_outbox *o) { return exec(o, "BEGIN IMMEDIATE", "starting a transaction"); }
int bwn_outbox_commit(bwn_outbox *o) { return exec(o, "COMMIT", "committing"); }
void bwn_outbox_rollback(bwn_outbox *o) { (void)sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL); }

/* Prepares sql and binds the arguments described by fmt: i int64, t text
 * (NULL = NULL), b blob (ptr, size_t len). */
static sqlite3_stmt *stmt(bwn_outbox *o, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(o->db, sql, -1, &q, NULL) != SQLITE_OK) {
        fail(o, "preparing a statement");
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = SQLITE_OK;
    for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(q, i + 1, va_arg(ap, int64_t));
        } else if (fmt[i] == 't') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(q, i + 1, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, i + 1);
        } else {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = sqlite3_bind_blob(q, i + 1, p, (int)n, SQLITE_TRANSIENT);
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        fail(o, "binding");
        sqlite3_finalize(q);
        return NULL;
    }
    return q;
}

/* Steps a statement that returns no rows and finalizes it. */
static int done(bwn_outbox *o, sqlite3_stmt *q, const char *what)
{
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fail(o, what);
        sqlite3_finalize(q);
        return -1;
    }
    sqlite3_finalize(q);
    return 0;
}

int bwn_outbox_last_seq(bwn_outbox *o, uint64_t *seq)
{
    sqlite3_stmt *q = stmt(o, "SELECT val FROM meta WHERE key = 'last_seq'", "");
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    *seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(o, "reading the last seq");
}

int bwn_outbox_set_last_seq(bwn_outbox *o, uint64_t seq)
{
    return done(o, stmt(o, "INSERT INTO meta(key, val) VALUES ('last_seq', ?1)"
                        " ON CONFLICT(key) DO UPDATE SET val = max(val, excluded.val)", "i",
                        (int64_t)seq), "saving the last seq");
}

int bwn_outbox_add_alert(bwn_outbox *o, const bwn_alert *a, const void *raw, size_t len, int64_t now)
{
    char key[200];
    bwn_alert_key(a, key, sizeof key);
    sqlite3_stmt *q = stmt(o, "INSERT OR IGNORE INTO alerts(seq, body, kind, state, severity, unit,"
                           " project, at, taken_at, akey) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           "ibtttttiit", (int64_t)a->seq, raw, len, a->kind, a->state, a->severity,
                           a->unit, a->project, a->at, now, key);
    if (done(o, q, "keeping an alert"))
        return -1;
    return sqlite3_changes(o->db) > 0;
}

int bwn_outbox_queue(bwn_outbox *o, const char *receiver, uint64_t seq, const char *route,
                     const char *group_key, int64_t now, int64_t due)
{
    return done(o, stmt(o, "INSERT OR IGNORE INTO queue(receiver, seq, route, group_key, queued_at,"
                        " due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", "tittii", receiver,
                        (int64_t)seq, route, group_key, now, due), "queueing an alert");
}

int bwn_outbox_is_reminder(bwn_outbox *o, const char *key, const bwn_alert *a, bool *reminder)
{
    /* The severity column keeps the level as "severity/band": 红一档 to
     * 红二档 is an escalation within critical, not a reminder. A row from
     * before bands (the severity alone) differs once, so that message is
     * sent: never a message lost for a reminder. */
    char level[96];
    snprintf(level, sizeof level, "%s/%s", a->severity, a->band);
    sqlite3_stmt *q = stmt(o, "SELECT state, severity FROM last_state WHERE key = ?1", "t", key);
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    *reminder = rc == SQLITE_ROW && !strcmp(a->state, "firing") &&
                !strcmp((const char *)sqlite3_column_text(q, 0), "firing") &&
                !strcmp((const char *)sqlite3_column_text(q, 1), level);
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(o, "reading an alert's last state");
    return done(o, stmt(o, "INSERT INTO last_state(key, state, severity) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT(key) DO UPDATE SET state = excluded.state,"
                        " severity = excluded.severity", "ttt", key, a->state, level),
                "saving an alert's last state");
}

int bwn_outbox_groups_each(bwn_outbox *o, int64_t now, bwn_group_fn fn, void *ctx)
{
    sqlite3_stmt *q = stmt(o, "SELECT receiver, route, group_key, min(queued_at) FROM queue"
                           " WHERE notification IS NULL AND due_at <= ?1"
                           " GROUP BY receiver, route, group_key ORDER BY 4", "i", now);
    if (q == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
               (const char *)sqlite3_column_text(q, 2), sqlite3_column_int64(q, 3)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(o, "reading the queue");
}

int bwn_outbox_group_last(bwn_outbox *o, const char *receiver, const char *route, const char *key,
                          int64_t *last)
{
    sqlite3_stmt *q = stmt(o, "SELECT last_at FROM groups WHERE receiver = ?1 AND route = ?2"
                           " AND group_key = ?3", "ttt", receiver, route, key);
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    *last = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(o, "reading a group");
}

int bwn_outbox_group_set_last(bwn_outbox *o, const char *receiver, const char *route,
                              const char *key, int64_t last)
{
    return done(o, stmt(o, "INSERT INTO groups(receiver, route, group_key, last_at) VALUES"
                        " (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET last_at = excluded.last_at",
                        "ttti", receiver, route, key, last), "saving a group");
}

int bwn_outbox_group_items(bwn_outbox *o, const char *receiver, const char *route,
                           const char *key, int64_t now, bwn_item_fn fn, void *ctx)
{
    sqlite3_stmt *q = stmt(o, "SELECT q.seq, a.body FROM queue q JOIN alerts a ON a.seq = q.seq"
                           " WHERE q.receiver = ?1 AND q.route = ?2 AND q.group_key = ?3"
                           " AND q.notification IS NULL AND q.due_at <= ?4 ORDER BY q.seq",
                           "ttti", receiver, route, key, now);
    if (q == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, (uint64_t)sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
               (size_t)sqlite3_column_bytes(q, 1)) != 0) {
            sqlite3_finalize(q);
            return -1;
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(o, "reading a group's alerts");
}

int bwn_outbox_note_new(bwn_outbox *o, const char *receiver, const char *route, const char *key,
                        const char *title, size_t nalerts, int64_t now, int64_t *id)
{
    if (done(o, stmt(o, "INSERT INTO notifications(receiver, route, group_key, title, nalerts,"
                     " created_at, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", "ttttii",
                     receiver, route, key, title, (int64_t)nalerts, now), "making a notification"))
        return -1;
    *id = sqlite3_last_insert_rowid(o->db);
    return 0;
}

int bwn_outbox_note_payload(bwn_outbox *o, int64_t id, const char *payload, size_t len)
{
    return done(o, stmt(o, "UPDATE notifications SET payload = ?2 WHERE id = ?1", "ib", id,
                        payload, len), "saving a notification's payload");
}

int bwn_outbox_assign(bwn_outbox *o, const char *receiver, uint64_t seq, int64_t id)
{
    return done(o, stmt(o, "UPDATE queue SET notification = ?3 WHERE receiver = ?1 AND seq = ?2",
                        "tii", receiver, (int64_t)seq, id), "putting an alert in a notification");
}

int bwn_outbox_note_due(bwn_outbox *o, const char *receiver, int64_t now, bwn_note *n)
{
    memset(n, 0, sizeof *n);
    sqlite3_stmt *q = stmt(o, "SELECT id, created_at, attempts, payload FROM notifications"
                           " WHERE receiver = ?1 AND state = 'pending' AND next_at <= ?2"
                           " ORDER BY next_at, id LIMIT 1", "ti", receiver, now);
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        n->id = sqlite3_column_int64(q, 0);
        n->created_ms = sqlite3_column_int64(q, 1);
        n->attempts = sqlite3_column_int(q, 2);
        n->len = (size_t)sqlite3_column_bytes(q, 3);
        n->payload = malloc(n->len + 1);
        if (n->payload == NULL) {
            sqlite3_finalize(q);
            snprintf(o->err, sizeof o->err, "outbox %s: out of memory", o->path);
            return -1;
        }
        if (n->len)
            memcpy(n->payload, sqlite3_column_blob(q, 3), n->len);
        n->payload[n->len] = '\0';
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(o, "reading the notifications due");
    return rc == SQLITE_ROW;
}

int bwn_outbox_note_next(bwn_outbox *o, const char *receiver, int64_t *next)
{
    sqlite3_stmt *q = stmt(o, "SELECT min(next_at) FROM notifications WHERE receiver = ?1"
                           " AND state = 'pending'", "t", receiver);
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    *next = rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL ? sqlite3_column_int64(q, 0)
                                                                         : INT64_MAX;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : fail(o, "reading the next notification");
}

int bwn_outbox_attempt_start(bwn_outbox *o, int64_t note, int64_t now, int64_t *attempt)
{
    if (done(o, stmt(o, "INSERT INTO attempts(notification, receiver, started_at, result)"
                     " SELECT id, receiver, ?2, 'sending' FROM notifications WHERE id = ?1", "ii",
                     note, now), "starting an attempt"))
        return -1;
    *attempt = sqlite3_last_insert_rowid(o->db);
    return 0;
}

int bwn_outbox_attempt_end(bwn_outbox *o, int64_t attempt, int64_t note, const char *result,
                           long status, const char *answer, int64_t now, int64_t next)
{
    const char *state = !strcmp(result, "sent") ? "sent" : !strcmp(result, "failed") ? "failed"
                                                                                   : "pending";
    if (done(o, stmt(o, "UPDATE attempts SET ended_at = ?2, result = ?3, status = ?4, answer = ?5"
                     " WHERE id = ?1", "iitit", attempt, now, result, (int64_t)status, answer),
             "recording an attempt"))
        return -1;
    return done(o, stmt(o, "UPDATE notifications SET attempts = attempts + 1, state = ?2,"
                        " answer = ?3, next_at = ?4, done_at = CASE WHEN ?2 = 'pending' THEN NULL"
                        " ELSE ?5 END WHERE id = ?1", "ittii", note, state, answer, next, now),
                "recording a notification's state");
}

int bwn_outbox_interrupted(bwn_outbox *o, int64_t now)
{
    if (done(o, stmt(o, "UPDATE attempts SET result = 'interrupted', ended_at = ?1,"
                     " answer = 'the notifier stopped before the answer came; sent again'"
                     " WHERE result = 'sending'", "i", now), "closing interrupted attempts"))
        return -1;
    return sqlite3_changes(o->db);
}

int bwn_outbox_attempt_times(bwn_outbox *o, const char *receiver, int64_t since, bwn_time_fn fn,
                             void *ctx)
{
    sqlite3_stmt *q = stmt(o, "SELECT coalesce(ended_at, started_at) AS t FROM attempts"
                           " WHERE receiver = ?1 AND t >= ?2 ORDER BY t", "ti", receiver, since);
    if (q == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        fn(ctx, sqlite3_column_int64(q, 0));
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(o, "reading the attempts");
}

int bwn_outbox_counts(bwn_outbox *o, int64_t *pending, int64_t *sent, int64_t *failed)
{
    sqlite3_stmt *q = stmt(o, "SELECT count(*) FILTER (WHERE state = 'pending'),"
                           " count(*) FILTER (WHERE state = 'sent'),"
                           " count(*) FILTER (WHERE state = 'failed') FROM notifications", "");
    if (q == NULL)
        return -1;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *pending = sqlite3_column_int64(q, 0);
        *sent = sqlite3_column_int64(q, 1);
        *failed = sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : fail(o, "counting notifications");
}

int bwn_outbox_log(bwn_outbox *o, const char *project, int64_t since, bwn_log_fn fn, void *ctx)
{
    bwn_log_filter f = { .project = project, .since_ms = since };
    return bwn_outbox_find(o, &f, fn, ctx, NULL);
}

int bwn_outbox_find(bwn_outbox *o, const bwn_log_filter *f, bwn_log_fn fn, void *ctx, bool *more)
{
    /* One more than the limit is read to tell whether older ones are left. */
    int64_t lim = f->limit ? (int64_t)f->limit + 1 : -1;
    const char *sql = f->limit
        ? "SELECT n.id, n.created_at, coalesce(n.done_at, 0), n.receiver, n.state, n.title,"
          " coalesce(n.answer, ''), n.attempts, n.nalerts,"
          " (SELECT group_concat(a.seq || ' ' || a.kind || ' ' || a.state || ' ' ||"
          "   coalesce(nullif(a.project, ''), '-'), '; ')"
          "  FROM queue q JOIN alerts a ON a.seq = q.seq WHERE q.notification = n.id)"
          " FROM notifications n WHERE n.created_at >= ?1 AND ((?2 IS NULL AND ?4 IS NULL AND ?5 = 0)"
          " OR EXISTS (SELECT 1 FROM queue q JOIN alerts a ON a.seq = q.seq WHERE q.notification = n.id"
          "  AND (?2 IS NULL OR a.project = ?2) AND (?4 IS NULL OR a.kind = ?4)"
          "  AND (?5 = 0 OR a.seq = ?5))) ORDER BY n.id DESC LIMIT ?3"
        : "SELECT n.id, n.created_at, coalesce(n.done_at, 0), n.receiver, n.state, n.title,"
          " coalesce(n.answer, ''), n.attempts, n.nalerts,"
          " (SELECT group_concat(a.seq || ' ' || a.kind || ' ' || a.state || ' ' ||"
          "   coalesce(nullif(a.project, ''), '-'), '; ')"
          "  FROM queue q JOIN alerts a ON a.seq = q.seq WHERE q.notification = n.id)"
          " FROM notifications n WHERE n.created_at >= ?1 AND ((?2 IS NULL AND ?4 IS NULL AND ?5 = 0)"
          " OR EXISTS (SELECT 1 FROM queue q JOIN alerts a ON a.seq = q.seq WHERE q.notification = n.id"
          "  AND (?2 IS NULL OR a.project = ?2) AND (?4 IS NULL OR a.kind = ?4)"
          "  AND (?5 = 0 OR a.seq = ?5))) ORDER BY n.id LIMIT ?3";
    sqlite3_stmt *q = stmt(o, sql, "ititi", f->since_ms, f->project, lim, f->kind,
                           (int64_t)f->seq);
    if (q == NULL)
        return -1;
    if (more)
        *more = false;
    int rc;
    uint32_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (f->limit && n == f->limit) {
            if (more)
                *more = true;
            rc = SQLITE_DONE;
            break;
        }
        n++;
        bwn_log_row r = {
            sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
            (const char *)sqlite3_column_text(q, 3), (const char *)sqlite3_column_text(q, 4),
            (const char *)sqlite3_column_text(q, 5), (const char *)sqlite3_column_text(q, 6),
            sqlite3_column_type(q, 9) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(q, 9),
            sqlite3_column_int(q, 7), sqlite3_column_int(q, 8),
        };
        if (fn(ctx, &r) != 0) {
            sqlite3_finalize(q);
            return -1;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(o, "reading the log");
}

int bwn_outbox_note_alerts(bwn_outbox *o, int64_t note, bwn_note_alert_fn fn, void *ctx)
{
    sqlite3_stmt *q = stmt(o, "SELECT a.seq, a.kind, a.state, coalesce(a.project, '') FROM queue q"
                           " JOIN alerts a ON a.seq = q.seq WHERE q.notification = ?1 ORDER BY a.seq",
                           "i", note);
    if (q == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, (uint64_t)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
               (const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3))) {
            sqlite3_finalize(q);
            return -1;
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(o, "reading a notification's alerts");
}

int bwn_outbox_note_attempts(bwn_outbox *o, int64_t note, bwn_attempt_fn fn, void *ctx)
{
    sqlite3_stmt *q = stmt(o, "SELECT started_at, coalesce(ended_at, 0), result, coalesce(status, -1),"
                           " coalesce(answer, '') FROM attempts WHERE notification = ?1 ORDER BY id",
                           "i", note);
    if (q == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1),
               (const char *)sqlite3_column_text(q, 2), (long)sqlite3_column_int64(q, 3),
               (const char *)sqlite3_column_text(q, 4))) {
            sqlite3_finalize(q);
            return -1;
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(o, "reading a notification's attempts");
}

int bwn_outbox_firing_each(bwn_outbox *o, const char *receiver, bwn_item_fn fn, void *ctx)
{
    /* The last message of each alert this receiver was given, unless it ended
     * the alert; a source's gap is a one-time notice, not a standing alert. */
    sqlite3_stmt *q = stmt(o, "SELECT a.seq, a.body FROM alerts a WHERE a.seq IN"
                           " (SELECT max(a2.seq) FROM alerts a2 JOIN queue q ON q.seq = a2.seq"
                           "  AND q.receiver = ?1 GROUP BY a2.akey)"
                           " AND a.state <> 'resolved' AND a.kind <> 'source_gap' ORDER BY a.seq",
                           "t", receiver);
    if (q == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, (uint64_t)sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
               (size_t)sqlite3_column_bytes(q, 1)) != 0) {
            sqlite3_finalize(q);
            return -1;
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(o, "reading the firing alerts");
}
