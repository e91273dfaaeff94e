/* test_store: the SQLite ledger — schema and WAL, events and duplicates, dead
 * letters, project state and its slots text, sources, adjustments, the alert
 * log, meta, verify, reopening, upgrades from every older schema (and of the
 * release fixture tests/fixtures/ledger-v3.db), a newer schema refused, and
 * errors that name the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "slots.h"
#include "store.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    bw_store *s;
} fixture;

static void remove_ledger(const char *path)
{
    char p[256];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bw-test-store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
    bw_err err;
    f->s = bw_store_open(f->path, false, &err);
    if (f->s == NULL)
        fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bw_store_close(&f->s);
    remove_ledger(f->path);
    char other[192];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    remove_ledger(other);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Runs SQL on the file through a second connection, as an auditor would. */
static void sql_exec(const char *path, const char *q)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", q, msg);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t sql_int(const char *path, const char *q)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

/* The first column of the first row as text, in a static buffer. */
static const char *sql_text(const char *path, const char *q)
{
    static char out[1024];
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, sizeof out, "%s", t ? (const char *)t : "");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return out;
}

static bw_event event(const char *src, const char *id, bw_event_type type, bw_fund fund,
                      const char *project, int64_t amount)
{
    bw_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = (uint8_t)type;
    ev.fund = (uint8_t)fund;
    ev.amount = amount;
    ev.ts = 1650000000;
    snprintf(ev.src, sizeof ev.src, "%s", src);
    snprintf(ev.id, sizeof ev.id, "%s", id);
    snprintf(ev.project, sizeof ev.project, "%s", project);
    snprintf(ev.unit, sizeof ev.unit, "323003");
    return ev;
}

static int insert(bw_store *s, const bw_event *ev)
{
    bw_err err;
    int rc = bw_store_event_insert(s, ev, 1650000100, &err);
    if (rc < 0)
        fail_msg("%s", err.msg);
    return rc;
}

/* ---- schema ---- */

static void test_schema_and_wal(void **state)
{
    fixture *f = *state;
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 6);
    /* The alert slots are one text column keyed by kind word, not columns per kind. */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_table_info('projects')"
                                      " WHERE name = 'slots' AND type = 'TEXT'"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_table_info('projects')"), 7);   /* and last_paid, version 5 */
    /* A new ledger promises from the start that every row (none yet) holds
     * its events up to 0, and that its rows add up to the digest 0. */
    assert_int_equal(sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_upto'"), 0);
    assert_int_equal(sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_digest'"), 0);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    static const char *const tables[] = { "events", "rejects", "projects", "sources",
                                          "adjustments", "alerts", "meta" };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'",
                 tables[i]);
        assert_int_equal(sql_int(f->path, q), 1);
    }
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                      " AND name LIKE 'alerts_%'"), 3);
}

/* ---- events ---- */

static void test_events_and_duplicates(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event a = event("treasury", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 100000);
    a.has_seq = true;
    a.seq = 7;
    bw_event b = event("treasury", "2", BW_EV_DISBURSEMENT, BW_FUND_OTHER, "P1", 5000);
    bw_event r = event("treasury", "3", BW_EV_REFUND, BW_FUND_FISCAL, "P1", 300);
    snprintf(r.ref, sizeof r.ref, "1");
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    assert_int_equal(insert(f->s, &a), 1);
    assert_int_equal(insert(f->s, &b), 1);
    assert_int_equal(insert(f->s, &r), 1);
    assert_int_equal(insert(f->s, &a), 0);          /* duplicate: nothing written */
    bw_event other_src = a;
    snprintf(other_src.src, sizeof other_src.src, "bank");
    assert_int_equal(insert(f->s, &other_src), 1);  /* same id, other source: new */
    assert_int_equal(bw_store_commit(f->s, &err), 0);
    assert_int_equal(bw_store_event_count(f->s, &err), 4);

    assert_int_equal(bw_store_event_exists(f->s, "treasury", "2", &err), 1);
    assert_int_equal(bw_store_event_exists(f->s, "treasury", "9", &err), 0);
    bw_event got;
    assert_int_equal(bw_store_event_get(f->s, "treasury", "1", &got, &err), 1);
    assert_true(got.has_seq);
    assert_int_equal(got.seq, 7);
    assert_int_equal(got.type, BW_EV_DISBURSEMENT);
    assert_int_equal(got.fund, BW_FUND_FISCAL);
    assert_int_equal(got.amount, 100000);
    assert_int_equal(got.ts, 1650000000);
    assert_string_equal(got.project, "P1");
    assert_string_equal(got.unit, "323003");
    assert_string_equal(got.ref, "");
    assert_int_equal(bw_store_event_get(f->s, "treasury", "3", &got, &err), 1);
    assert_false(got.has_seq);
    assert_int_equal(got.type, BW_EV_REFUND);
    assert_string_equal(got.ref, "1");
    assert_int_equal(bw_store_event_get(f->s, "treasury", "nope", &got, &err), 0);

    int64_t refunded = -1;
    assert_int_equal(bw_store_refunded_total(f->s, "treasury", "1", "", &refunded, &err), 0);
    assert_int_equal(refunded, 300);
    assert_int_equal(bw_store_refunded_total(f->s, "treasury", "1", "3", &refunded, &err), 0);
    assert_int_equal(refunded, 0);                  /* the refund being checked is left out */

    assert_int_equal(bw_store_event_delete(f->s, "treasury", "3", &err), 0);
    assert_int_equal(bw_store_event_exists(f->s, "treasury", "3", &err), 0);
    assert_int_equal(insert(f->s, &r), 1);          /* taken back, so new again */
    /* The table reads well in the sqlite3 shell. */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events_readable WHERE type = 'refund'"
                                      " AND fund = 'fiscal' AND yuan = '3.00'"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE seq IS NULL"), 2);
}

typedef struct walk {
    int n, stop_at;
    int64_t rowid[8];
    char id[8][16];
} walk;

static int on_event(void *ctx, int64_t rowid, const bw_event *ev)
{
    walk *w = ctx;
    w->rowid[w->n] = rowid;
    snprintf(w->id[w->n], sizeof w->id[0], "%.15s", ev->id);
    return ++w->n == w->stop_at;
}

static void test_events_each_in_insertion_order(void **state)
{
    fixture *f = *state;
    bw_err err;
    const char *ids[] = { "z", "a", "m", "b" };     /* not in key order */
    for (int i = 0; i < 4; i++) {
        bw_event ev = event("s", ids[i], BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 1 + i);
        assert_int_equal(insert(f->s, &ev), 1);
    }
    walk w = { 0 };
    assert_int_equal(bw_store_events_each(f->s, 0, on_event, &w, &err), 0);
    assert_int_equal(w.n, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(w.id[i], ids[i]);
    assert_true(w.rowid[0] < w.rowid[1] && w.rowid[2] < w.rowid[3]);
    walk rest = { 0 };
    assert_int_equal(bw_store_events_each(f->s, w.rowid[1], on_event, &rest, &err), 0);
    assert_int_equal(rest.n, 2);
    assert_string_equal(rest.id[0], "m");
    walk two = { .stop_at = 2 };
    assert_int_equal(bw_store_events_each(f->s, 0, on_event, &two, &err), 0);
    assert_int_equal(two.n, 2);
    /* The statement was left ready: a second full walk sees everything again. */
    walk again = { 0 };
    assert_int_equal(bw_store_events_each(f->s, 0, on_event, &again, &err), 0);
    assert_int_equal(again.n, 4);
}

/* `stats` reads the counts from memory; they must equal count(*) after every
 * kind of change, as a second connection sees the file. */
static void test_counts_kept_exact(void **state)
{
    fixture *f = *state;
    bw_err err;
    assert_int_equal(bw_store_event_count(f->s, &err), 0);
    assert_int_equal(bw_store_rejects_pending(f->s, &err), 0);
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    for (int i = 0; i < 10; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i % 7);            /* three duplicates */
        bw_event ev = event("s", id, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 10 + i);
        assert_true(insert(f->s, &ev) >= 0);
    }
    assert_int_equal(bw_store_event_delete(f->s, "s", "3", &err), 0);
    assert_int_equal(bw_store_event_delete(f->s, "s", "no such", &err), 0);
    int64_t a = bw_store_reject_insert(f->s, "s", "x", "\xc1", 1, "not msgpack", NULL, 1, &err);
    assert_true(bw_store_reject_insert(f->s, "s", "y", "\xc1", 1, "not msgpack", NULL, 1, &err) > a);
    assert_int_equal(bw_store_reject_mark_replayed(f->s, a, 2, &err), 0);
    assert_int_equal(bw_store_reject_mark_replayed(f->s, a, 3, &err), 0);  /* again: no change */
    assert_int_equal(bw_store_commit(f->s, &err), 0);
    assert_int_equal(bw_store_event_count(f->s, &err), 6);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 6);
    assert_int_equal(bw_store_rejects_pending(f->s, &err), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM rejects WHERE replayed_at IS NULL"), 1);
    assert_int_equal(sql_int(f->path, "SELECT replayed_at FROM rejects WHERE evid = 'x'"), 2);
}

/* One event per transaction, ids from `from`: each commit adds WAL frames. */
static void commit_each(bw_store *s, int from, int n)
{
    bw_err err;
    for (int i = from; i < from + n; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        bw_event ev = event("s", id, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 1);
        assert_int_equal(bw_store_begin(s, &err), 0);
        assert_int_equal(insert(s, &ev), 1);
        assert_int_equal(bw_store_commit(s, &err), 0);
    }
}

/* Checkpoints apart: commits never checkpoint, a checkpoint on the second
 * connection copies what was committed when it began, and a WAL caught up to
 * its end starts over at the next commit instead of growing. */
static void test_checkpoints_apart(void **state)
{
    fixture *f = *state;
    bw_err err;
    int done;
    assert_int_equal(bw_store_checkpoint_apart(f->s, false, &err), 0);
    commit_each(f->s, 0, 300);
    int frames = bw_store_wal_frames(f->s);
    assert_true(frames >= 300);                     /* no checkpoint inside a commit */
    assert_int_equal(bw_store_checkpoint(f->s, true, &done, &err), 0);
    assert_int_equal(done, frames);
    commit_each(f->s, 300, 1);
    assert_true(bw_store_wal_frames(f->s) < 10);    /* started over */

    /* A checkpoint that cannot reach the end (here a reader holds an older
     * snapshot; in the daemon, commits go on while the worker copies) leaves
     * the WAL growing; the loop's own checkpoint then catches up, and the
     * WAL starts over. */
    commit_each(f->s, 301, 100);
    sqlite3 *reader;
    assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM events", NULL, NULL, NULL),
                     SQLITE_OK);
    commit_each(f->s, 401, 20);
    frames = bw_store_wal_frames(f->s);
    assert_int_equal(bw_store_checkpoint(f->s, true, &done, &err), 0);
    assert_true(done < frames);
    commit_each(f->s, 421, 1);
    assert_true(bw_store_wal_frames(f->s) > frames);   /* a lagging WAL grows */
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    assert_int_equal(bw_store_checkpoint(f->s, false, &done, &err), 0);
    assert_int_equal(done, bw_store_wal_frames(f->s));
    commit_each(f->s, 422, 1);
    assert_true(bw_store_wal_frames(f->s) < 10);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 423);
}

static void test_rollback(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event ev = event("s", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 1);
    assert_int_equal(bw_store_event_count(f->s, &err), 0);     /* counted, then kept */
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    assert_int_equal(insert(f->s, &ev), 1);
    assert_int_equal(bw_store_event_count(f->s, &err), 1);
    bw_store_rollback(f->s);
    assert_int_equal(bw_store_event_count(f->s, &err), 0);
    bw_store_rollback(f->s);                        /* no transaction: quietly nothing */
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    assert_int_equal(bw_store_begin(f->s, &err), -1);
    assert_non_null(strstr(err.msg, "starting a transaction"));
    bw_store_rollback(f->s);
}

/* ---- dead letters ---- */

typedef struct rejects_seen {
    int n;
    int64_t id[4];
    size_t len[4];
    char raw[4][16];
    char reason[4][64];
    char peer[4][16];       /* "(null)" for SQL NULL */
} rejects_seen;

static int on_reject(void *ctx, int64_t id, const void *raw, size_t len, const char *reason,
                     const char *peer)
{
    rejects_seen *r = ctx;
    snprintf(r->peer[r->n], sizeof r->peer[0], "%s", peer ? peer : "(null)");
    r->id[r->n] = id;
    r->len[r->n] = len;
    memcpy(r->raw[r->n], raw, len < 16 ? len : 16);
    snprintf(r->reason[r->n], sizeof r->reason[0], "%s", reason);
    r->n++;
    return 0;
}

static void test_rejects(void **state)
{
    fixture *f = *state;
    bw_err err;
    int64_t a = bw_store_reject_insert(f->s, "treasury", "9", "\x81\xa1v", 3, "unknown project P9",
                                       "treasury", 1650000000, &err);
    int64_t b = bw_store_reject_insert(f->s, "", "", NULL, 0, "not msgpack", NULL, 1650000001, &err);
    assert_true(a > 0 && b > a);
    assert_int_equal(bw_store_rejects_pending(f->s, &err), 2);
    rejects_seen r = { 0 };
    assert_int_equal(bw_store_rejects_each(f->s, 0, on_reject, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.id[0], a);
    assert_int_equal(r.len[0], 3);
    assert_memory_equal(r.raw[0], "\x81\xa1v", 3);
    assert_string_equal(r.reason[0], "unknown project P9");
    assert_string_equal(r.peer[0], "treasury");
    assert_string_equal(r.peer[1], "(null)");
    assert_int_equal(r.len[1], 0);
    assert_string_equal(r.reason[1], "not msgpack");

    assert_int_equal(bw_store_reject_mark_replayed(f->s, a, 1650000500, &err), 0);
    assert_int_equal(bw_store_rejects_pending(f->s, &err), 1);
    rejects_seen left = { 0 };
    assert_int_equal(bw_store_rejects_each(f->s, 0, on_reject, &left, &err), 0);
    assert_int_equal(left.n, 1);
    assert_int_equal(left.id[0], b);
    /* A walk resumes after the last id it saw. */
    rejects_seen after = { 0 };
    assert_int_equal(bw_store_rejects_each(f->s, b, on_reject, &after, &err), 0);
    assert_int_equal(after.n, 0);
    rejects_seen from_a = { 0 };
    assert_int_equal(bw_store_rejects_each(f->s, a, on_reject, &from_a, &err), 0);
    assert_int_equal(from_a.n, 1);
    /* Replayed letters stay for the audit. */
    assert_int_equal(sql_int(f->path, "SELECT replayed_at FROM rejects WHERE evid = '9'"), 1650000500);
}

/* ---- project state ---- */

static bw_project_state sample_state(int64_t base)
{
    bw_project_state st;
    memset(&st, 0, sizeof st);
    st.budget = base + 1;
    st.paid_fiscal = base + 2;
    st.paid_other = base + 3;
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        st.slot[k].severity = (uint8_t)(k % 3);
        st.slot[k].acked = (uint8_t)(k & 1);
        st.slot[k].ms = (uint8_t)(k + 1);
        st.slot[k].since = base + 10 * k + 4;
        st.slot[k].last_sent = base + 10 * k + 5;
    }
    return st;
}

/* Every field of every kind at the edges of its type, one kind empty. */
static bw_project_state extreme_state(void)
{
    bw_project_state st;
    memset(&st, 0, sizeof st);
    st.budget = INT64_MAX;
    st.paid_fiscal = INT64_MAX - 1;
    st.paid_other = 1;
    for (int k = 0; k < BW_PROJECT_KINDS - 1; k++)
        st.slot[k] = (bw_slot){ .severity = (uint8_t)(255 - k), .acked = 255, .ms = (uint8_t)k,
                                .since = k % 2 ? INT64_MIN : INT64_MAX,
                                .last_sent = k % 2 ? INT64_MAX : INT64_MIN + k };
    return st;
}

static void same_state(const bw_project_state *a, const bw_project_state *b)
{
    assert_int_equal(a->budget, b->budget);
    assert_int_equal(a->paid_fiscal, b->paid_fiscal);
    assert_int_equal(a->paid_other, b->paid_other);
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        assert_int_equal(a->slot[k].severity, b->slot[k].severity);
        assert_int_equal(a->slot[k].acked, b->slot[k].acked);
        assert_int_equal(a->slot[k].ms, b->slot[k].ms);
        assert_int_equal(a->slot[k].since, b->slot[k].since);
        assert_int_equal(a->slot[k].last_sent, b->slot[k].last_sent);
    }
}

typedef struct projects_seen {
    int n;
    char code[32][32];
    bw_project_state st[32];
    int64_t upto[32];
    bw_err *err;
    const char *fail_on;
} projects_seen;

static int on_project(void *ctx, const char *code, const bw_project_state *st, int64_t upto)
{
    projects_seen *p = ctx;
    if (p->fail_on && strcmp(code, p->fail_on) == 0)
        return bw_err_set(p->err, "project %s is not in the plan", code);
    assert_true(p->n < 32);
    snprintf(p->code[p->n], sizeof p->code[0], "%s", code);
    p->upto[p->n] = upto;
    p->st[p->n++] = *st;
    return 0;
}

static void test_project_state_round_trip(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_project_state a = sample_state(1000), b = sample_state(INT64_C(1) << 40);
    assert_int_equal(bw_store_project_save(f->s, "P2", &b, 7, &err), 0);
    bw_project_state first = sample_state(5);
    assert_int_equal(bw_store_project_save(f->s, "P1", &first, 3, &err), 0);
    assert_int_equal(bw_store_project_save(f->s, "P1", &a, 9, &err), 0);   /* replaces */
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.code[0], "P1");
    same_state(&p.st[0], &a);
    assert_int_equal(p.upto[0], 9);
    assert_string_equal(p.code[1], "P2");
    same_state(&p.st[1], &b);
    assert_int_equal(p.upto[1], 7);
    /* Text an auditor can read: every slot that is not empty, keyed by kind. */
    assert_string_equal(sql_text(f->path, "SELECT slots FROM projects WHERE code = 'P1'"),
                        "lag:0,0,1,1004,1005;milestone:1,1,2,1014,1015;"
                        "overspend:2,0,3,1024,1025;year_end:0,1,4,1034,1035;"
                        "stalled:1,0,5,1044,1045;large_payment:2,1,6,1054,1055;"
                        "burst:0,0,7,1064,1065;year_end_rush:1,1,8,1074,1075");
    /* Each field of each kind at the edges of its type, and empty slots. */
    bw_project_state x = extreme_state(), none;
    memset(&none, 0, sizeof none);
    none.budget = 5;
    assert_int_equal(bw_store_project_save(f->s, "P3", &x, INT64_MAX, &err), 0);
    assert_int_equal(bw_store_project_save(f->s, "P4", &none, 0, &err), 0);
    assert_string_equal(sql_text(f->path, "SELECT slots FROM projects WHERE code = 'P4'"), "");
    p = (projects_seen){ 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.n, 4);
    same_state(&p.st[2], &x);
    assert_int_equal(p.upto[2], INT64_MAX);
    same_state(&p.st[3], &none);
    /* Slots a kind at a time: each kind alone comes back alone. */
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        bw_project_state one = none;
        one.slot[k] = (bw_slot){ .severity = 2, .acked = 1, .ms = 3, .since = -7, .last_sent = 9 };
        assert_int_equal(bw_store_project_save(f->s, "P4", &one, k, &err), 0);
        p = (projects_seen){ 0 };
        assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
        same_state(&p.st[3], &one);
        char want[64];
        snprintf(want, sizeof want, "%s:2,1,3,-7,9", bw_kind_name(k));
        assert_string_equal(sql_text(f->path, "SELECT slots FROM projects WHERE code = 'P4'"), want);
    }
    /* A callback's failure stops the walk with its own message. */
    projects_seen stop = { .err = &err, .fail_on = "P2" };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &stop, &err), -1);
    assert_string_equal(err.msg, "project P2 is not in the plan");
}

/* ---- sources and adjustments ---- */

typedef struct pairs {
    int n;
    char key[4][16];
    int64_t val[4];
} pairs;

static int on_source(void *ctx, const char *src, uint64_t last)
{
    pairs *p = ctx;
    snprintf(p->key[p->n], sizeof p->key[0], "%s", src);
    p->val[p->n++] = (int64_t)last;
    return 0;
}

static int on_adjust(void *ctx, const char *project, int64_t budget)
{
    pairs *p = ctx;
    snprintf(p->key[p->n], sizeof p->key[0], "%s", project);
    p->val[p->n++] = budget;
    return 0;
}

static int refuse_source(void *ctx, const char *src, uint64_t last)
{
    (void)ctx, (void)src, (void)last;
    return -1;
}

static void test_sources(void **state)
{
    fixture *f = *state;
    bw_err err;
    assert_int_equal(bw_store_source_save(f->s, "treasury", 10, &err), 0);
    assert_int_equal(bw_store_source_save(f->s, "bank", 3, &err), 0);
    assert_int_equal(bw_store_source_save(f->s, "treasury", 11, &err), 0);
    pairs p = { 0 };
    assert_int_equal(bw_store_sources_each(f->s, on_source, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.key[0], "bank");
    assert_int_equal(p.val[0], 3);
    assert_string_equal(p.key[1], "treasury");
    assert_int_equal(p.val[1], 11);
    /* A callback that fails without a message: the store says where it stopped. */
    assert_int_equal(bw_store_sources_each(f->s, refuse_source, NULL, &err), -1);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "restoring source bank"));
}

static void test_adjustments_latest(void **state)
{
    fixture *f = *state;
    bw_err err;
    assert_int_equal(bw_store_adjust_insert(f->s, "P1", 100, 200, "追加预算", 1, &err), 0);
    assert_int_equal(bw_store_adjust_insert(f->s, "P2", 50, 60, "调整", 2, &err), 0);
    assert_int_equal(bw_store_adjust_insert(f->s, "P1", 200, 300, "再追加", 3, &err), 0);
    pairs p = { 0 };
    assert_int_equal(bw_store_adjusts_latest_each(f->s, on_adjust, &p, &err), 0);
    assert_int_equal(p.n, 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(p.val[i], strcmp(p.key[i], "P1") == 0 ? 300 : 60);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM adjustments"), 3);  /* the trail */
}

/* ---- the alert log ---- */

static bw_alert_msg alert(uint64_t seq, const char *unit, const char *project, int64_t at)
{
    bw_alert_msg a;
    memset(&a, 0, sizeof a);
    a.seq = seq;
    a.kind = BW_KIND_LAG;
    a.state = BW_STATE_FIRING;
    a.severity = BW_SEV_WARNING;
    snprintf(a.unit, sizeof a.unit, "%s", unit);
    snprintf(a.unit_name, sizeof a.unit_name, "单位 %s", unit);
    snprintf(a.project, sizeof a.project, "%s", project);
    snprintf(a.project_name, sizeof a.project_name, "项目 %s", project);
    a.budget = 1000000;
    a.paid = 200000;
    a.shortfall = 150000;
    a.rate_bp = 2000;
    a.planned_bp = 3500;
    a.lag_bp = 1500;
    a.pace_bp = 3300;
    a.at = at;
    a.since = at - 10;
    return a;
}

typedef struct seqs {
    int n;
    uint64_t seq[16];
    bw_alert_msg last;
} seqs;

static int on_alert(void *ctx, const bw_alert_msg *a)
{
    seqs *s = ctx;
    s->seq[s->n++] = a->seq;
    s->last = *a;
    return 0;
}

static seqs history(bw_store *st, const bw_history_filter *flt)
{
    seqs s = { 0 };
    bw_err err;
    if (bw_store_history_each(st, flt, on_alert, &s, &err))
        fail_msg("%s", err.msg);
    return s;
}

static void assert_seqs(const seqs *s, int n, const uint64_t *want)
{
    assert_int_equal(s->n, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(s->seq[i], want[i]);
}

static void test_alert_log_and_history(void **state)
{
    fixture *f = *state;
    bw_err err;
    /* seq: unit/project, at */
    static const struct { const char *unit, *project; int64_t at; } rows[] = {
        { "U1", "P1", 100 }, { "U1", "P2", 200 }, { "U2", "P3", 300 }, { "U1", "P1", 400 },
        { "U2", "P3", 500 }, { "U1", "P1", 600 },
    };
    for (int i = 0; i < 6; i++) {
        bw_alert_msg a = alert((uint64_t)i + 1, rows[i].unit, rows[i].project, rows[i].at);
        assert_int_equal(bw_store_alert_append(f->s, &a, &err), 0);
    }
    bw_alert_msg gap = alert(7, "", "", 700);
    gap.kind = BW_KIND_SOURCE_GAP;
    gap.severity = BW_SEV_WARNING;
    snprintf(gap.src, sizeof gap.src, "treasury");
    gap.expected_seq = 11;
    gap.got_seq = 15;
    assert_int_equal(bw_store_alert_append(f->s, &gap, &err), 0);
    bw_alert_msg ack = alert(8, "U1", "P1", 800);
    ack.kind = BW_KIND_MILESTONE;
    ack.state = BW_STATE_ACKNOWLEDGED;
    ack.severity = BW_SEV_CRITICAL;
    snprintf(ack.milestone, sizeof ack.milestone, "06-30");
    snprintf(ack.by, sizeof ack.by, "wang");
    snprintf(ack.note, sizeof ack.note, "已督办");
    assert_int_equal(bw_store_alert_append(f->s, &ack, &err), 0);

    seqs all = history(f->s, &(bw_history_filter){ 0 });
    assert_seqs(&all, 8, (uint64_t[]){ 1, 2, 3, 4, 5, 6, 7, 8 });
    /* Every field comes back. */
    bw_alert_msg got = all.last;
    assert_int_equal(got.kind, BW_KIND_MILESTONE);
    assert_int_equal(got.state, BW_STATE_ACKNOWLEDGED);
    assert_int_equal(got.severity, BW_SEV_CRITICAL);
    assert_string_equal(got.unit, "U1");
    assert_string_equal(got.unit_name, "单位 U1");
    assert_string_equal(got.project_name, "项目 P1");
    assert_int_equal(got.budget, 1000000);
    assert_int_equal(got.paid, 200000);
    assert_int_equal(got.shortfall, 150000);
    assert_int_equal(got.rate_bp, 2000);
    assert_int_equal(got.planned_bp, 3500);
    assert_int_equal(got.lag_bp, 1500);
    assert_int_equal(got.pace_bp, 3300);
    assert_string_equal(got.milestone, "06-30");
    assert_int_equal(got.at, 800);
    assert_int_equal(got.since, 790);
    assert_string_equal(got.by, "wang");
    assert_string_equal(got.note, "已督办");
    seqs g = history(f->s, &(bw_history_filter){ .since = 700, .has_since = true, .until = 701,
                                                 .has_until = true });
    assert_seqs(&g, 1, (uint64_t[]){ 7 });
    assert_int_equal(g.last.kind, BW_KIND_SOURCE_GAP);
    assert_string_equal(g.last.src, "treasury");
    assert_int_equal(g.last.expected_seq, 11);
    assert_int_equal(g.last.got_seq, 15);
    assert_string_equal(g.last.project, "");
    /* The table uses the wire words and NULL for what does not apply. */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM alerts WHERE kind = 'source_gap'"
                                      " AND severity = 'warning' AND project IS NULL"), 1);

    seqs p1 = history(f->s, &(bw_history_filter){ .project = "P1" });
    assert_seqs(&p1, 4, (uint64_t[]){ 1, 4, 6, 8 });
    seqs u2 = history(f->s, &(bw_history_filter){ .unit = "U2" });
    assert_seqs(&u2, 2, (uint64_t[]){ 3, 5 });
    seqs range = history(f->s, &(bw_history_filter){ .has_since = true, .since = 200,
                                                     .has_until = true, .until = 500 });
    assert_seqs(&range, 3, (uint64_t[]){ 2, 3, 4 });
    seqs newest = history(f->s, &(bw_history_filter){ .limit = 3 });
    assert_seqs(&newest, 3, (uint64_t[]){ 6, 7, 8 });          /* newest 3, ascending */
    seqs combined = history(f->s, &(bw_history_filter){ .project = "P1", .unit = "U1",
                                                        .has_since = true, .since = 300,
                                                        .limit = 2 });
    assert_seqs(&combined, 2, (uint64_t[]){ 6, 8 });
    seqs none = history(f->s, &(bw_history_filter){ .project = "P1", .unit = "U2" });
    assert_int_equal(none.n, 0);
    seqs empty_is_any = history(f->s, &(bw_history_filter){ .project = "", .unit = "" });
    assert_int_equal(empty_is_any.n, 8);
    /* after_seq reads forward: the OLDEST `limit` after it, with the other filters. */
    seqs after = history(f->s, &(bw_history_filter){ .has_after_seq = true, .after_seq = 2 });
    assert_seqs(&after, 6, (uint64_t[]){ 3, 4, 5, 6, 7, 8 });
    seqs after_lim = history(f->s, &(bw_history_filter){ .has_after_seq = true, .after_seq = 2,
                                                         .limit = 2 });
    assert_seqs(&after_lim, 2, (uint64_t[]){ 3, 4 });
    seqs after_p1 = history(f->s, &(bw_history_filter){ .has_after_seq = true, .after_seq = 1,
                                                        .project = "P1", .limit = 2 });
    assert_seqs(&after_p1, 2, (uint64_t[]){ 4, 6 });
    seqs after_zero = history(f->s, &(bw_history_filter){ .has_after_seq = true, .after_seq = 0,
                                                          .limit = 1 });
    assert_seqs(&after_zero, 1, (uint64_t[]){ 1 });
    seqs after_end = history(f->s, &(bw_history_filter){ .has_after_seq = true, .after_seq = 8 });
    assert_int_equal(after_end.n, 0);
    seqs after_huge = history(f->s, &(bw_history_filter){ .has_after_seq = true,
                                                          .after_seq = UINT64_MAX });
    assert_int_equal(after_huge.n, 0);

    /* A seq used twice is refused, and the message names the file. */
    assert_int_equal(bw_store_alert_append(f->s, &ack, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "ledger %s: appending alert 8 to the alert log: UNIQUE constraint",
             f->path);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("got %s", err.msg);
}

/* ---- meta ---- */

static void test_meta(void **state)
{
    fixture *f = *state;
    bw_err err;
    int64_t v = 42;
    assert_int_equal(bw_store_meta_get(f->s, "alert_seq", &v, &err), 0);
    assert_int_equal(v, 42);                        /* untouched when absent */
    assert_int_equal(bw_store_meta_set(f->s, "alert_seq", 7, &err), 0);
    assert_int_equal(bw_store_meta_set(f->s, "now", INT64_C(1672502400), &err), 0);
    assert_int_equal(bw_store_meta_set(f->s, "alert_seq", 8, &err), 0);
    assert_int_equal(bw_store_meta_get(f->s, "alert_seq", &v, &err), 1);
    assert_int_equal(v, 8);
    assert_int_equal(bw_store_meta_get(f->s, "now", &v, &err), 1);
    assert_int_equal(v, INT64_C(1672502400));
}

/* ---- verify ---- */

typedef struct diffs {
    int n;
    char code[8][16];
    int64_t v[8][4];
} diffs;

static int on_diff(void *ctx, const char *code, int64_t sf, int64_t so, int64_t lf, int64_t lo)
{
    diffs *d = ctx;
    snprintf(d->code[d->n], sizeof d->code[0], "%s", code);
    d->v[d->n][0] = sf, d->v[d->n][1] = so, d->v[d->n][2] = lf, d->v[d->n][3] = lo;
    d->n++;
    return 0;
}

static void save_totals(bw_store *s, const char *code, int64_t fiscal, int64_t other)
{
    bw_project_state st;
    memset(&st, 0, sizeof st);
    st.budget = 100000000;
    st.paid_fiscal = fiscal;
    st.paid_other = other;
    bw_err err;
    if (bw_store_project_save(s, code, &st, 0, &err))
        fail_msg("%s", err.msg);
}

static void test_verify(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event e[] = {
        event("t", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 1000),
        event("t", "2", BW_EV_DISBURSEMENT, BW_FUND_OTHER, "P1", 500),
        event("t", "3", BW_EV_REFUND, BW_FUND_FISCAL, "P1", 200),
        event("t", "4", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P2", 70),
    };
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        assert_int_equal(insert(f->s, &e[i]), 1);
    save_totals(f->s, "P1", 800, 500);
    save_totals(f->s, "P2", 70, 0);
    save_totals(f->s, "P3", 0, 0);                  /* alert state only, no payments */
    assert_int_equal(bw_store_commit(f->s, &err), 0);

    diffs d = { 0 };
    assert_int_equal(bw_store_verify(f->s, on_diff, &d, &err), 3);
    assert_int_equal(d.n, 0);

    /* Someone edits a saved total behind the daemon's back. */
    sql_exec(f->path, "UPDATE projects SET paid_other = 499 WHERE code = 'P1'");
    d = (diffs){ 0 };
    assert_int_equal(bw_store_verify(f->s, on_diff, &d, &err), 3);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.code[0], "P1");
    assert_int_equal(d.v[0][0], 800);
    assert_int_equal(d.v[0][1], 499);
    assert_int_equal(d.v[0][2], 800);
    assert_int_equal(d.v[0][3], 500);
    save_totals(f->s, "P1", 800, 500);

    /* Events of a project with no saved row; a saved total with no events. */
    bw_event p4 = event("t", "5", BW_EV_DISBURSEMENT, BW_FUND_OTHER, "P4", 9);
    assert_int_equal(insert(f->s, &p4), 1);
    save_totals(f->s, "P5", 1, 0);
    d = (diffs){ 0 };
    assert_int_equal(bw_store_verify(f->s, on_diff, &d, &err), 5);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.code[0], "P4");
    assert_int_equal(d.v[0][3], 9);
    assert_string_equal(d.code[1], "P5");
    assert_int_equal(d.v[1][0], 1);
    assert_int_equal(d.v[1][2], 0);

    /* Events that net to zero still need a saved row. */
    sql_exec(f->path, "DELETE FROM projects WHERE code = 'P5'");
    bw_event p6a = event("t", "6", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P6", 10);
    bw_event p6b = event("t", "7", BW_EV_REFUND, BW_FUND_FISCAL, "P6", 10);
    assert_int_equal(insert(f->s, &p6a), 1);
    assert_int_equal(insert(f->s, &p6b), 1);
    save_totals(f->s, "P4", 0, 9);
    d = (diffs){ 0 };
    assert_int_equal(bw_store_verify(f->s, on_diff, &d, &err), 5);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.code[0], "P6");

    /* sum() refuses to wrap: the overflow is an error, not a wrong total. */
    bw_event big1 = event("t", "8", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P7", INT64_MAX);
    bw_event big2 = event("t", "9", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P7", 1);
    big2.ts += 86400;   /* another day: each daily sum fits, their total does not */
    assert_int_equal(insert(f->s, &big1), 1);
    assert_int_equal(insert(f->s, &big2), 1);
    assert_int_equal(bw_store_verify(f->s, on_diff, &d, &err), -1);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "integer overflow"));
}

/* ---- reopening, versions, errors ---- */

static void test_reopen_sees_everything(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event ev = event("treasury", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 123);
    bw_project_state st = sample_state(77);
    bw_alert_msg a = alert(1, "U1", "P1", 100);
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    assert_int_equal(insert(f->s, &ev), 1);
    assert_int_equal(bw_store_project_save(f->s, "P1", &st, 1, &err), 0);
    assert_int_equal(bw_store_source_save(f->s, "treasury", 99, &err), 0);
    assert_int_equal(bw_store_adjust_insert(f->s, "P1", 1, 2, "r", 5, &err), 0);
    assert_int_equal(bw_store_alert_append(f->s, &a, &err), 0);
    assert_int_equal(bw_store_meta_set(f->s, "alert_seq", 1, &err), 0);
    assert_true(bw_store_reject_insert(f->s, "x", "y", "z", 1, "bad", NULL, 1, &err) > 0);
    assert_int_equal(bw_store_commit(f->s, &err), 0);
    bw_store_close(&f->s);
    assert_null(f->s);

    f->s = bw_store_open(f->path, true, &err);
    if (f->s == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(bw_store_event_count(f->s, &err), 1);
    assert_int_equal(insert(f->s, &ev), 0);         /* still a duplicate */
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.n, 1);
    same_state(&p.st[0], &st);
    pairs s = { 0 };
    assert_int_equal(bw_store_sources_each(f->s, on_source, &s, &err), 0);
    assert_int_equal(s.val[0], 99);
    pairs adj = { 0 };
    assert_int_equal(bw_store_adjusts_latest_each(f->s, on_adjust, &adj, &err), 0);
    assert_int_equal(adj.val[0], 2);
    seqs h = history(f->s, &(bw_history_filter){ 0 });
    assert_int_equal(h.n, 1);
    int64_t v = 0;
    assert_int_equal(bw_store_meta_get(f->s, "alert_seq", &v, &err), 1);
    assert_int_equal(v, 1);
    assert_int_equal(bw_store_rejects_pending(f->s, &err), 1);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    bw_store_close(&f->s);
    sql_exec(f->path, "PRAGMA user_version = 7");
    bw_err err;
    assert_null(bw_store_open(f->path, false, &err));
    char want[256];
    snprintf(want, sizeof want, "ledger %s: schema version 7 is newer than this budgetwatchd"
             " understands (6)", f->path);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("got %s", err.msg);
}

/* ---- older schemas ---- */

/* Version 3's projects table, as the release before version 4 made it. */
static const char v3_projects[] =
    "CREATE TABLE projects ("
    " code TEXT PRIMARY KEY, budget INTEGER NOT NULL,"
    " paid_fiscal INTEGER NOT NULL, paid_other INTEGER NOT NULL,"
    " lag_severity INTEGER NOT NULL, lag_acked INTEGER NOT NULL, lag_ms INTEGER NOT NULL,"
    " lag_since INTEGER NOT NULL, lag_last_sent INTEGER NOT NULL,"
    " milestone_severity INTEGER NOT NULL, milestone_acked INTEGER NOT NULL,"
    " milestone_ms INTEGER NOT NULL, milestone_since INTEGER NOT NULL,"
    " milestone_last_sent INTEGER NOT NULL,"
    " overspend_severity INTEGER NOT NULL, overspend_acked INTEGER NOT NULL,"
    " overspend_ms INTEGER NOT NULL, overspend_since INTEGER NOT NULL,"
    " overspend_last_sent INTEGER NOT NULL,"
    " year_end_severity INTEGER NOT NULL, year_end_acked INTEGER NOT NULL,"
    " year_end_ms INTEGER NOT NULL, year_end_since INTEGER NOT NULL,"
    " year_end_last_sent INTEGER NOT NULL, upto INTEGER NOT NULL) STRICT, WITHOUT ROWID";

/* Closes the store and puts its projects rows back in version 3's columns
 * (the other tables are the same in both versions): a ledger as the release
 * before wrote it. */
static void to_v3(fixture *f)
{
    bw_err err;
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    bw_store_close(&f->s);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    /* Version 3 (and 4) had no daily sums and no index on project. */
    assert_int_equal(sqlite3_exec(db, "BEGIN; DROP TABLE projects; DROP TABLE daily;"
                                  " DROP INDEX events_project;"
                                  " DELETE FROM meta WHERE key = 'daily_days'",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v3_projects, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO projects VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                                        " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
                                        " ?19, ?20, ?21, ?22, ?23, ?24, ?25)", -1, &q, NULL),
                     SQLITE_OK);
    for (int i = 0; i < p.n; i++) {
        const bw_project_state *st = &p.st[i];
        sqlite3_bind_text(q, 1, p.code[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, st->budget);
        sqlite3_bind_int64(q, 3, st->paid_fiscal);
        sqlite3_bind_int64(q, 4, st->paid_other);
        for (int k = 0; k < 4; k++) {
            const bw_slot *sl = &st->slot[k];
            sqlite3_bind_int64(q, 5 + 5 * k, sl->severity);
            sqlite3_bind_int64(q, 6 + 5 * k, sl->acked);
            sqlite3_bind_int64(q, 7 + 5 * k, sl->ms);
            sqlite3_bind_int64(q, 8 + 5 * k, sl->since);
            sqlite3_bind_int64(q, 9 + 5 * k, sl->last_sent);
        }
        sqlite3_bind_int64(q, 25, p.upto[i]);
        assert_int_equal(sqlite3_step(q), SQLITE_DONE);
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3; COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void reopen(fixture *f)
{
    bw_err err;
    f->s = bw_store_open(f->path, false, &err);
    if (f->s == NULL)
        fail_msg("%s", err.msg);
}

typedef struct diff_count {
    int n;
} diff_count;

static int count_diff(void *ctx, const char *code, int64_t sf, int64_t so, int64_t lf, int64_t lo)
{
    (void)code, (void)sf, (void)so, (void)lf, (void)lo;
    ((diff_count *)ctx)->n++;
    return 0;
}

/* A version 3 ledger with firing, acknowledged, empty and extreme slots and
 * the digest the daemon wrote with its rows: version 4 has every slot back,
 * field for field, and the digest, left as it was, still adds up. */
static void test_upgrade_from_v3(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event e1 = event("treasury", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 100);
    bw_event e2 = event("treasury", "2", BW_EV_DISBURSEMENT, BW_FUND_OTHER, "P2", 40);
    assert_int_equal(insert(f->s, &e1), 1);
    assert_int_equal(insert(f->s, &e2), 1);
    bw_project_state st[4] = { sample_state(1000), extreme_state(), sample_state(0), { 0 } };
    st[0].paid_fiscal = 100;
    st[0].paid_other = 0;
    st[1].paid_fiscal = 0;
    st[1].paid_other = 40;
    st[2].paid_fiscal = st[2].paid_other = 0;
    st[2].slot[1] = (bw_slot){ .severity = BW_SEV_CRITICAL, .acked = 1, .ms = 1,
                               .since = 1648742400, .last_sent = 1649520000 };
    st[3].budget = 77;
    for (int i = 0; i < 4; i++)                     /* version 3 had four kinds */
        for (int k = 4; k < BW_PROJECT_KINDS; k++)
            st[i].slot[k] = (bw_slot){ 0 };
    const char *codes[4] = { "P1", "P2", "P3", "P4" };
    uint64_t digest = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bw_store_project_save(f->s, codes[i], &st[i], 2, &err), 0);
        digest += bw_store_row_digest(codes[i], &st[i], 2);
    }
    assert_int_equal(bw_store_meta_set(f->s, "totals_digest", (int64_t)digest, &err), 0);
    to_v3(f);
    assert_int_equal(sql_int(f->path, "SELECT milestone_acked FROM projects WHERE code = 'P3'"), 1);

    reopen(f);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 6);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_table_info('projects')"
                                      " WHERE name LIKE 'lag_%'"), 0);
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.n, 4);
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        assert_string_equal(p.code[i], codes[i]);
        same_state(&p.st[i], &st[i]);
        assert_int_equal(p.upto[i], 2);
        sum += bw_store_row_digest(p.code[i], &p.st[i], p.upto[i]);
    }
    assert_int_equal(sum, digest);
    assert_int_equal((uint64_t)sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_digest'"),
                     digest);
    assert_string_equal(sql_text(f->path, "SELECT slots FROM projects WHERE code = 'P4'"), "");
    diff_count d = { 0 };
    assert_int_equal(bw_store_verify(f->s, count_diff, &d, &err), 4);
    assert_int_equal(d.n, 0);       /* P3 and P4: rows at zero, no events */
    /* Saving goes on in the new table; a reopen finds version 4 as it is. */
    assert_int_equal(bw_store_project_save(f->s, "P1", &st[0], 3, &err), 0);
    bw_store_close(&f->s);
    reopen(f);
    p = (projects_seen){ 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.upto[0], 3);
}

/* The fixture that the release before version 4 wrote (make_ledger_v3.py):
 * every row comes back with the slots its columns held, and the digest that
 * release wrote adds up over the upgraded rows. */
static void test_upgrade_of_the_release_fixture(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_store_close(&f->s);
    remove_ledger(f->path);
    char src[512];
    snprintf(src, sizeof src, "%s/fixtures/ledger-v3.db", BW_TEST_DIR);
    FILE *in = fopen(src, "rb"), *out = fopen(f->path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 3);
    /* What its columns say, read before the upgrade. */
    sqlite3 *db;
    sqlite3_stmt *q;
    projects_seen before = { 0 };
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM projects ORDER BY code", -1, &q, NULL),
                     SQLITE_OK);
    int firing = 0, acked = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        bw_project_state st;
        memset(&st, 0, sizeof st);
        st.budget = sqlite3_column_int64(q, 1);
        st.paid_fiscal = sqlite3_column_int64(q, 2);
        st.paid_other = sqlite3_column_int64(q, 3);
        for (int k = 0; k < 4; k++) {
            int c = 4 + 5 * k;
            st.slot[k] = (bw_slot){ .severity = (uint8_t)sqlite3_column_int(q, c),
                                    .acked = (uint8_t)sqlite3_column_int(q, c + 1),
                                    .ms = (uint8_t)sqlite3_column_int(q, c + 2),
                                    .since = sqlite3_column_int64(q, c + 3),
                                    .last_sent = sqlite3_column_int64(q, c + 4) };
            firing += st.slot[k].severity != 0;
            acked += st.slot[k].acked != 0;
        }
        on_project(&before, (const char *)sqlite3_column_text(q, 0), &st,
                   sqlite3_column_int64(q, 24));
    }
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(before.n, 27);
    assert_true(firing >= 5);
    assert_int_equal(acked, 1);
    int64_t digest = sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_digest'");

    reopen(f);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 6);
    projects_seen after = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &after, &err), 0);
    assert_int_equal(after.n, before.n);
    uint64_t sum = 0;
    for (int i = 0; i < after.n; i++) {
        assert_string_equal(after.code[i], before.code[i]);
        same_state(&after.st[i], &before.st[i]);
        assert_int_equal(after.upto[i], before.upto[i]);
        sum += bw_store_row_digest(after.code[i], &after.st[i], after.upto[i]);
    }
    assert_int_equal(sum, (uint64_t)digest);
    assert_int_equal(sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_digest'"), digest);
    diff_count d = { 0 };
    assert_int_equal(bw_store_verify(f->s, count_diff, &d, &err), 27);
    assert_int_equal(d.n, 0);
    assert_int_equal(bw_store_integrity(f->s, true, NULL, NULL, &err), 0);
}

/* The slots text refuses what budgetwatchd never writes, saying what it is. */
static void test_slots_text_refused(void **state)
{
    (void)state;
    static const struct { const char *text, *why; } bad[] = {
        { "lag", "does not start with a kind word and ':'" },
        { ":1,0,0,1,1", "does not start with a kind word and ':'" },
        { "late:1,0,0,1,1", "kind \"late\" is not a project kind this budgetwatchd knows: a newer" },
        { "source_gap:1,0,0,1,1", "kind \"source_gap\" is not a project kind" },
        { "lag:1,0,0,1,1;lag:1,0,0,1,1", "kind lag is there twice" },
        { "lag:256,0,0,1,1", "the lag slot is not severity,acked,ms,since,last_sent in range" },
        { "lag:-1,0,0,1,1", "the lag slot is not" },
        { "lag:1,0,0,1", "the lag slot is not" },
        { "lag:1,0,0,1,9223372036854775808", "the lag slot is not" },
        { "lag:1,0,0,1,1,", "followed by ','" },
        { "lag:1,0,0,1,1;", "the slots end in ';'" },
        { "lag:1, 0,0,1,1", "the lag slot is not" },
    };
    bw_slot slot[BW_PROJECT_KINDS];
    char why[192];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(bw_slots_parse(bad[i].text, strlen(bad[i].text), slot, why, sizeof why), -1);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("%s: got %s", bad[i].text, why);
    }
    /* The edges of int64, any order, and "" all read. */
    const char *ok = "year_end:0,0,0,-9223372036854775808,9223372036854775807;lag:2,1,0,5,6";
    assert_int_equal(bw_slots_parse(ok, strlen(ok), slot, why, sizeof why), 0);
    assert_int_equal(slot[BW_KIND_YEAR_END].since, INT64_MIN);
    assert_int_equal(slot[BW_KIND_YEAR_END].last_sent, INT64_MAX);
    assert_int_equal(slot[BW_KIND_LAG].last_sent, 6);
    assert_true(bw_slot_is_empty(&slot[BW_KIND_MILESTONE]));
    assert_int_equal(bw_slots_parse("", 0, slot, why, sizeof why), 0);
    for (int k = 0; k < BW_PROJECT_KINDS; k++)
        assert_true(bw_slot_is_empty(&slot[k]));
}

/* A slots text altered in the file stops the restore walk, naming the row. */
static void test_altered_slots_refused(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_project_state st = sample_state(1);
    assert_int_equal(bw_store_project_save(f->s, "P1", &st, 1, &err), 0);
    sql_exec(f->path, "UPDATE projects SET slots = 'lag:9,9' WHERE code = 'P1'");
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), -1);
    assert_int_equal(p.n, 0);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "project P1: alert slots \"lag:9,9\": the lag slot is not"));
    /* The statement is ready for the next walk. */
    assert_int_equal(bw_store_project_save(f->s, "P1", &st, 1, &err), 0);
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.n, 1);
}

/* Version 1 saved every touched row in each batch: after the upgrade, rows and
 * the watermark reach the last event, so a restart adds nothing twice. */
static void test_upgrade_from_v1(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event e1 = event("treasury", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 100);
    bw_event e2 = event("treasury", "2", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 50);
    assert_int_equal(insert(f->s, &e1), 1);
    assert_int_equal(insert(f->s, &e2), 1);
    save_totals(f->s, "P1", 150, 0);
    assert_int_equal(bw_store_event_max_rowid(f->s, &err), 2);
    to_v3(f);
    sql_exec(f->path, "ALTER TABLE projects DROP COLUMN upto");
    sql_exec(f->path, "ALTER TABLE rejects DROP COLUMN peer");
    sql_exec(f->path, "DELETE FROM meta");
    sql_exec(f->path, "PRAGMA user_version = 1");

    f->s = bw_store_open(f->path, false, &err);
    if (f->s == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 6);
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.st[0].paid_fiscal, 150);
    assert_int_equal(p.upto[0], 2);
    int64_t w = 0;
    assert_int_equal(bw_store_meta_get(f->s, "totals_upto", &w, &err), 1);
    assert_int_equal(w, 2);
    assert_int_equal((uint64_t)sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_digest'"),
                     bw_store_row_digest("P1", &p.st[0], 2));
    /* Version 1 dead letters came without CURVE: their peer is NULL. */
    assert_true(bw_store_reject_insert(f->s, "x", "y", "z", 1, "bad", NULL, 1, &err) > 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM rejects WHERE peer IS NULL"), 1);
}

/* The `alerts` snapshot's seqs: the newest message of each (project, kind),
 * whatever came after it for other kinds and projects; 0 for none. */
static void test_alerts_last_seq(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_alert_msg m[] = { alert(1, "U1", "P1", 100), alert(2, "U1", "P1", 200),
                         alert(3, "U1", "P1", 300), alert(4, "U1", "P2", 400),
                         alert(5, "U1", "P1", 500) };
    m[1].kind = BW_KIND_MILESTONE;
    m[4].kind = BW_KIND_OVERSPEND;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        assert_int_equal(bw_store_alert_append(f->s, &m[i], &err), 0);
    const bw_alert_key keys[] = { { "P1", "lag" }, { "P1", "milestone" }, { "P2", "lag" },
                                  { "P3", "lag" }, { "P1", "year_end" } };
    uint64_t got[5], want[5] = { 3, 2, 4, 0, 0 };
    assert_int_equal(bw_store_alerts_last_seq(f->s, keys, 5, got, &err), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], want[i]);
}

/* A version 2 ledger that never finished a save pass had no totals_upto:
 * after the upgrade the watermark is 0 (every event is looked at again, each
 * against its row's upto), and the digest is that of the rows as they are. */
static void test_upgrade_from_v2(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_project_state a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.budget = 500;
    a.paid_fiscal = 70;
    a.slot[0] = (bw_slot){ .severity = 1, .since = 9, .last_sent = 9 };
    b.budget = 900;
    b.paid_other = 3;
    assert_int_equal(bw_store_project_save(f->s, "P1", &a, 4, &err), 0);
    assert_int_equal(bw_store_project_save(f->s, "P2", &b, 6, &err), 0);
    to_v3(f);
    sql_exec(f->path, "DELETE FROM meta; PRAGMA user_version = 2");
    f->s = bw_store_open(f->path, false, &err);
    if (f->s == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 6);
    int64_t w = -1, digest = 0;
    assert_int_equal(bw_store_meta_get(f->s, "totals_upto", &w, &err), 1);
    assert_int_equal(w, 0);
    assert_int_equal(bw_store_meta_get(f->s, "totals_digest", &digest, &err), 1);
    assert_int_equal((uint64_t)digest,
                     bw_store_row_digest("P1", &a, 4) + bw_store_row_digest("P2", &b, 6));
}

/* Every column of a row moves its digest; the same row always gives the same. */
static void test_row_digest(void **state)
{
    (void)state;
    bw_project_state st;
    memset(&st, 0, sizeof st);
    st.budget = 1000;
    uint64_t base = bw_store_row_digest("P1", &st, 5);
    assert_int_equal(bw_store_row_digest("P1", &st, 5), base);
    /* The values version 3 computed (bc5b873): the digests in the ledgers it
     * wrote must hold after the upgrade. */
    assert_int_equal(base, UINT64_C(0x0cf6f2b46d429dd5));
    bw_project_state v3 = st;
    v3.paid_fiscal = 700;
    v3.paid_other = 30;
    for (int k = 0; k < 4; k++)
        v3.slot[k] = (bw_slot){ .severity = (uint8_t)(k % 3), .acked = (uint8_t)(k & 1),
                                .ms = (uint8_t)(k + 1), .since = 1648742400 + k,
                                .last_sent = 1649520000 - k };
    assert_int_equal(bw_store_row_digest("130281217I5TGSXWWO284", &v3, 28),
                     UINT64_C(0x038111e22b0653b9));
    assert_int_not_equal(bw_store_row_digest("P2", &st, 5), base);
    assert_int_not_equal(bw_store_row_digest("P1", &st, 6), base);
    bw_project_state t = st;
    t.paid_fiscal = 1;
    assert_int_not_equal(bw_store_row_digest("P1", &t, 5), base);
    t = st;
    t.paid_other = 1;
    assert_int_not_equal(bw_store_row_digest("P1", &t, 5), base);
    t = st;
    t.budget = 1001;
    assert_int_not_equal(bw_store_row_digest("P1", &t, 5), base);
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        uint8_t *small[] = { &t.slot[k].severity, &t.slot[k].acked, &t.slot[k].ms };
        for (int i = 0; i < 3; i++) {
            t = st;
            *small[i] = 1;      /* points into t */
            assert_int_not_equal(bw_store_row_digest("P1", &t, 5), base);
        }
        t = st;
        t.slot[k].since = 1;
        assert_int_not_equal(bw_store_row_digest("P1", &t, 5), base);
        t = st;
        t.slot[k].last_sent = 1;
        assert_int_not_equal(bw_store_row_digest("P1", &t, 5), base);
    }
}

static int count_problem(void *ctx, const char *msg)
{
    (void)msg;
    ++*(int *)ctx;
    return 0;
}

/* Bytes overwritten inside the (src, id) index: SQLite's integrity_check
 * finds it, on the store's connection and on one of its own. */
static void test_integrity_finds_damage(void **state)
{
    fixture *f = *state;
    bw_err err;
    char first[BW_PROBLEM_MAX];
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    for (int i = 0; i < 2000; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        bw_event e = event("treasury", id, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 1);
        assert_int_equal(insert(f->s, &e), 1);
    }
    assert_int_equal(bw_store_commit(f->s, &err), 0);
    assert_int_equal(bw_store_integrity(f->s, true, NULL, NULL, &err), 0);
    assert_int_equal(bw_store_integrity_file(f->path, true, first, &err), 0);
    int64_t root = sql_int(f->path, "SELECT rootpage FROM sqlite_schema"
                                    " WHERE name = 'sqlite_autoindex_events_1'");
    int64_t page = sql_int(f->path, "PRAGMA page_size");
    bw_store_close(&f->s);      /* the last connection copies the WAL into the file */
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    /* The root of a 2,000-row index is an interior page: its cells (child
     * pointers and keys) sit at the end of the page. */
    unsigned char junk[64];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(fseek(fp, (long)((root - 1) * page + page - (long)sizeof junk), SEEK_SET), 0);
    assert_int_equal(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
    assert_int_equal(fclose(fp), 0);
    f->s = bw_store_open(f->path, false, &err);
    if (f->s == NULL)
        fail_msg("%s", err.msg);
    int n = 0;
    assert_true(bw_store_integrity(f->s, true, count_problem, &n, &err) > 0);
    assert_true(n > 0);
    assert_true(bw_store_integrity_file(f->path, true, first, &err) > 0);
    assert_true(bw_store_integrity_file(f->path, false, first, &err) > 0);
    assert_true(first[0] != '\0');
}

/* Totals edited behind the daemon's back, a row missing: the rebuild puts
 * back what the events say, and verify agrees again. */
static void test_rebuild_totals(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_event e1 = event("treasury", "1", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", 100);
    bw_event e2 = event("treasury", "2", BW_EV_DISBURSEMENT, BW_FUND_OTHER, "P1", 40);
    bw_event e3 = event("treasury", "3", BW_EV_REFUND, BW_FUND_FISCAL, "P1", 30);
    bw_event e4 = event("treasury", "4", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P2", 7);
    assert_int_equal(insert(f->s, &e1), 1);
    assert_int_equal(insert(f->s, &e2), 1);
    assert_int_equal(insert(f->s, &e3), 1);
    assert_int_equal(insert(f->s, &e4), 1);
    save_totals(f->s, "P1", 999, 0);
    save_totals(f->s, "P9", 0, 0);          /* a row without events stays, at zero */
    int64_t rows = 0;
    assert_int_equal(bw_store_rebuild_totals(f->s, &rows, &err), 0);
    assert_int_equal(rows, 3);
    assert_int_equal(sql_int(f->path, "SELECT paid_fiscal FROM projects WHERE code = 'P1'"), 70);
    assert_int_equal(sql_int(f->path, "SELECT paid_other FROM projects WHERE code = 'P1'"), 40);
    assert_int_equal(sql_int(f->path, "SELECT paid_fiscal FROM projects WHERE code = 'P2'"), 7);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM projects WHERE upto = 4"), 3);
    assert_int_equal(sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_upto'"), 4);
    projects_seen p = { 0 };
    assert_int_equal(bw_store_projects_each(f->s, on_project, &p, &err), 0);
    uint64_t sum = 0;
    for (int i = 0; i < p.n; i++)
        sum += bw_store_row_digest(p.code[i], &p.st[i], p.upto[i]);
    assert_int_equal((uint64_t)sql_int(f->path, "SELECT val FROM meta WHERE key = 'totals_digest'"),
                     sum);
}

static void test_not_a_ledger_refused(void **state)
{
    fixture *f = *state;
    char other[192];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    sql_exec(other, "CREATE TABLE accounts (x)");
    bw_err err;
    assert_null(bw_store_open(other, false, &err));
    assert_non_null(strstr(err.msg, other));
    assert_non_null(strstr(err.msg, "not a budgetwatch ledger"));
    /* Garbage is no database either. */
    remove_ledger(other);
    FILE *g = fopen(other, "w");
    assert_non_null(g);
    for (int i = 0; i < 200; i++)
        fputs("this is not sqlite ", g);
    fclose(g);
    assert_null(bw_store_open(other, false, &err));
    assert_non_null(strstr(err.msg, other));
    assert_non_null(strstr(err.msg, "not a database"));
}

static void test_errors_carry_the_path(void **state)
{
    fixture *f = *state;
    char missing[192];
    snprintf(missing, sizeof missing, "%s/no/such/dir/ledger.db", f->dir);
    bw_err err;
    assert_null(bw_store_open(missing, false, &err));
    char want[256];
    snprintf(want, sizeof want, "ledger %s: opening", missing);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("got %s", err.msg);
    assert_non_null(strstr(err.msg, "unable to open database file"));

    /* A CHECK constraint: amounts are positive. The message says which event. */
    bw_event ev = event("treasury", "42", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, "P1", -5);
    assert_int_equal(bw_store_event_insert(f->s, &ev, 0, &err), -1);
    snprintf(want, sizeof want, "ledger %s: inserting event (src \"treasury\", id \"42\"): CHECK"
             " constraint failed", f->path);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("got %s", err.msg);
    /* The statement is ready for the next event after a failure. */
    ev.amount = 5;
    assert_int_equal(insert(f->s, &ev), 1);
}

/* ---- daily sums (schema 5) ---- */

typedef struct paid_sum {
    int64_t fiscal, other;
    int calls;
} paid_sum;

static int on_paid(void *ctx, const char *project, int64_t fiscal, int64_t other)
{
    paid_sum *p = ctx;
    assert_string_equal(project, "P1");
    p->fiscal += fiscal;
    p->other += other;
    p->calls++;
    return 0;
}

static paid_sum paid_at(bw_store *s, int64_t at)
{
    bw_err err;
    paid_sum p = { 0 };
    if (bw_store_paid_at(s, at, on_paid, &p, &err))
        fail_msg("%s", err.msg);
    return p;
}

/* Paid up to an instant at every boundary: the last second of a local day,
 * its midnight, the instant of an event itself; a refund; the other fund;
 * and the same after the days are keyed anew for another zone. */
static void test_daily_sums_and_paid_at(void **state)
{
    fixture *f = *state;
    bw_err err;
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, 8 * 3600);
    assert_int_equal(bw_store_days_set(f->s, &cal, &err), 0);
    const int64_t d10 = cal.day_start[10], d11 = cal.day_start[11];   /* Jan 11, Jan 12 (+08:00) */
    struct {
        const char *id;
        int type, fund;
        int64_t amount, ts;
    } ev[] = {
        { "a", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, 100, d10 },          /* the day's first second */
        { "b", BW_EV_DISBURSEMENT, BW_FUND_OTHER, 7, d10 + 3600 },
        { "c", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, 1000, d11 - 1 },     /* its last second */
        { "d", BW_EV_REFUND, BW_FUND_FISCAL, 30, d11 },                 /* the next midnight */
        { "e", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, 5, d11 + 50 },
        { "f", BW_EV_DISBURSEMENT, BW_FUND_FISCAL, 1, d10 - 1 },        /* late: the day before */
    };
    assert_int_equal(bw_store_begin(f->s, &err), 0);
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        bw_event e = event("s", ev[i].id, (bw_event_type)ev[i].type, (bw_fund)ev[i].fund, "P1",
                           ev[i].amount);
        e.ts = ev[i].ts;
        assert_int_equal(insert(f->s, &e), 1);
        assert_int_equal(bw_store_daily_add(f->s, &e, &err), 0);
    }
    assert_int_equal(bw_store_commit(f->s, &err), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM daily"), 3);
    assert_int_equal(sql_int(f->path, "SELECT fiscal FROM daily WHERE day = (SELECT max(day) FROM daily)"),
                     -25);
    struct {
        int64_t at, fiscal, other;
    } want[] = {
        { d10 - 2, 0, 0 },     { d10 - 1, 1, 0 },       { d10, 101, 0 },      { d10 + 3599, 101, 0 },
        { d10 + 3600, 101, 7 }, { d11 - 2, 101, 7 },    { d11 - 1, 1101, 7 }, { d11, 1071, 7 },
        { d11 + 49, 1071, 7 },  { d11 + 50, 1076, 7 },  { cal.day_start[cal.ndays], 1076, 7 },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        paid_sum p = paid_at(f->s, want[i].at);
        if (p.fiscal != want[i].fiscal || p.other != want[i].other)
            fail_msg("at %lld (case %zu): paid %lld + %lld, want %lld + %lld", (long long)want[i].at,
                     i, (long long)p.fiscal, (long long)p.other, (long long)want[i].fiscal,
                     (long long)want[i].other);
    }
    assert_int_equal(bw_store_daily_verify(f->s, &err), 0);
    /* Another zone: the table is keyed anew (UTC+0: "c" and "d" now share a day). */
    bw_calendar utc;
    bw_cal_init_fixed(&utc, 2022, 0);
    assert_int_equal(bw_store_days_set(f->s, &utc, &err), 0);
    assert_int_equal(bw_store_daily_verify(f->s, &err), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM daily"), 2);
    assert_int_equal(paid_at(f->s, d11 + 49).fiscal, 1071);
    /* An edited day is found. */
    sql_exec(f->path, "UPDATE daily SET other = other + 1 WHERE day = (SELECT min(day) FROM daily)");
    assert_int_equal(bw_store_daily_verify(f->s, &err), 1);
}


int main(void)
{

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_schema_and_wal),
        T(test_events_and_duplicates),
        T(test_events_each_in_insertion_order),
        T(test_rollback),
        T(test_counts_kept_exact),
        T(test_checkpoints_apart),
        T(test_rejects),
        T(test_project_state_round_trip),
        T(test_sources),
        T(test_adjustments_latest),
        T(test_alert_log_and_history),
        T(test_meta),
        T(test_verify),
        T(test_daily_sums_and_paid_at),
        T(test_reopen_sees_everything),
        T(test_newer_schema_refused),
        T(test_upgrade_from_v1),
        T(test_upgrade_from_v2),
        T(test_upgrade_from_v3),
        T(test_upgrade_of_the_release_fixture),
        T(test_slots_text_refused),
        T(test_altered_slots_refused),
        T(test_alerts_last_seq),
        T(test_row_digest),
        T(test_integrity_finds_damage),
        T(test_rebuild_totals),
        T(test_not_a_ledger_refused),
        T(test_errors_carry_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
