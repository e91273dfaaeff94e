/* test_batch: the open transaction and what waits on it, over a bw_app on a
 * real ledger — begin and commit, the project rows and their digest, acks
 * until the batch is full, alert seqs and the alert log, rollback, and a
 * failed batch that refuses to commit or begin again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shell_fixture.h"

/* ---- the rows as the ledger holds them ---- */

typedef struct row {
    char code[BW_CODE_LEN_MAX + 1];
    bw_project_state st;
    int64_t upto;
} row;

typedef struct rows {
    row r[64];
    size_t n;
    uint64_t digest;            /* the sum of bw_store_row_digest over them */
} rows;

static int read_row(void *ctx, const char *code, const bw_project_state *st, int64_t upto)
{
    rows *rs = ctx;
    assert_true(rs->n < sizeof rs->r / sizeof rs->r[0]);
    row *r = &rs->r[rs->n++];
    snprintf(r->code, sizeof r->code, "%s", code);
    r->st = *st;
    r->upto = upto;
    rs->digest += bw_store_row_digest(code, st, upto);
    return 0;
}

static void read_rows(bw_store *s, rows *rs)
{
    bw_err err;
    memset(rs, 0, sizeof *rs);
    if (bw_store_projects_each(s, read_row, rs, &err))
        fail_msg("bw_store_projects_each: %s", err.msg);
}

static const row *find_row(const rows *rs, const char *code)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].code, code) == 0)
            return &rs->r[i];
    return NULL;
}

static int64_t meta(bw_store *s, const char *key)
{
    bw_err err;
    int64_t v = 0;
    int rc = bw_store_meta_get(s, key, &v, &err);
    if (rc < 0)
        fail_msg("meta %s: %s", key, err.msg);
    if (rc == 0)
        fail_msg("meta %s is not in the ledger", key);
    return v;
}

/* The rows add up to the digest written with them. */
static void assert_digest(bw_store *s)
{
    rows rs;
    read_rows(s, &rs);
    assert_true(rs.n > 0);
    assert_int_equal((uint64_t)meta(s, "totals_digest"), rs.digest);
}

/* ---- what was sent, by ledger rowid ---- */

typedef struct sent {
    uint32_t project;
    uint8_t fund;
    int64_t amount;
} sent;

typedef struct sent_log {
    sent e[256];
    size_t n;                   /* accepted events: e[i] has rowid i + 1 */
} sent_log;

static void pay(bw_app *a, sent_log *log, uint32_t project, uint8_t fund, int64_t amount,
                int64_t ts)
{
    char id[32];
    bw_ack ack;
    snprintf(id, sizeof id, "e%zu", log->n + 1);
    bw_event ev = fx_event("bank", id, fx_code(a, project), amount, ts);
    ev.fund = fund;
    assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    assert_true(log->n < sizeof log->e / sizeof log->e[0]);
    log->e[log->n++] = (sent){ project, fund, amount };
}

/* Every saved row holds exactly its project's events up to its upto (the
 * promise restore relies on). Returns how many rows there are. */
static size_t assert_rows_hold_their_events(bw_app *a, const sent_log *log)
{
    rows rs;
    read_rows(a->store, &rs);
    for (size_t i = 0; i < rs.n; i++) {
        const row *r = &rs.r[i];
        uint32_t ix = fx_project(a, r->code);
        int64_t fiscal = 0, other = 0;
        assert_true(r->upto >= 0 && (size_t)r->upto <= log->n);
        for (size_t k = 0; k < (size_t)r->upto; k++)
            if (log->e[k].project == ix)
                *(log->e[k].fund == BW_FUND_OTHER ? &other : &fiscal) += log->e[k].amount;
        if (r->st.paid_fiscal != fiscal || r->st.paid_other != other)
            fail_msg("row %s (upto %lld) holds %lld + %lld fen, its events up to there %lld + %lld",
                     r->code, (long long)r->upto, (long long)r->st.paid_fiscal,
                     (long long)r->st.paid_other, (long long)fiscal, (long long)other);
    }
    return rs.n;
}

static bw_alert_msg gap_alert(const char *src, uint64_t expected, uint64_t got)
{
    bw_alert_msg m;
    memset(&m, 0, sizeof m);
    m.kind = BW_KIND_SOURCE_GAP;
    m.state = BW_STATE_FIRING;
    m.severity = BW_SEV_WARNING;
    snprintf(m.src, sizeof m.src, "%s", src);
    m.expected_seq = expected;
    m.got_seq = got;
    m.at = m.since = FX_JAN1 + 1;
    return m;
}

/* ---- tests ---- */

static void test_begin_commit_rows_and_digest(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    sent_log log = { .n = 0 };

    /* Nothing open: the commit does nothing and counts no batch. */
    assert_false(bw_batch_is_open(a->batch));
    assert_int_equal(bw_batch_commit(a->batch, a, &err), 0);
    assert_int_equal(a->stats.batches, 0);

    fx_begin(a);
    assert_true(bw_batch_is_open(a->batch));
    fx_begin(a);                /* begin on an open batch is no error */
    assert_true(bw_batch_is_open(a->batch));
    pay(a, &log, 0, BW_FUND_FISCAL, 1000, FX_JAN1 + 10);
    pay(a, &log, 1, BW_FUND_OTHER, 250, FX_JAN1 + 20);
    pay(a, &log, 0, BW_FUND_FISCAL, 500, FX_JAN1 + 30);
    pay(a, &log, 0, BW_FUND_OTHER, 7, FX_JAN1 + 40);
    bw_batch_save_all_totals(a->batch);
    fx_commit(a);
    assert_false(bw_batch_is_open(a->batch));
    assert_int_equal(a->stats.batches, 1);

    rows rs;
    read_rows(a->store, &rs);
    assert_int_equal(rs.n, 2);
    const row *r0 = find_row(&rs, fx_code(a, 0)), *r1 = find_row(&rs, fx_code(a, 1));
    assert_non_null(r0);
    assert_non_null(r1);
    assert_int_equal(r0->st.paid_fiscal, 1500);
    assert_int_equal(r0->st.paid_other, 7);
    assert_int_equal(r1->st.paid_fiscal, 0);
    assert_int_equal(r1->st.paid_other, 250);
    assert_int_equal(r0->upto, 4);
    assert_int_equal(r1->upto, 4);
    assert_int_equal(r0->st.budget, bw_engine_state(a->engine, 0)->budget);
    assert_int_equal((uint64_t)meta(a->store, "totals_digest"), rs.digest);
    assert_int_equal(meta(a->store, "totals_upto"), 4);
    assert_int_equal(meta(a->store, "now"), bw_engine_now(a->engine));

    /* A commit that writes only some of the queued rows: the digest still
     * sums the rows the ledger holds, and each row its own events. */
    for (uint32_t i = 2; i < 18; i++)
        pay(a, &log, i, i % 2 ? BW_FUND_OTHER : BW_FUND_FISCAL, 100 + i, FX_JAN1 + 100 + i);
    fx_commit(a);
    assert_int_equal(a->stats.batches, 2);
    size_t partial = assert_rows_hold_their_events(a, &log);
    assert_true(partial > 2 && partial < 18);   /* 16 events: an eighth of them, 2 rows */
    assert_digest(a->store);

    /* Quiet: every queued row written, up to the last event (the rows of
     * projects not paid since stay as they were, and still hold theirs). */
    fx_commit_quiet(a);
    assert_int_equal(assert_rows_hold_their_events(a, &log), 18);
    read_rows(a->store, &rs);
    for (uint32_t i = 2; i < 18; i++)
        assert_int_equal(find_row(&rs, fx_code(a, i))->upto, (int64_t)log.n);
    assert_int_equal(meta(a->store, "totals_upto"), (int64_t)log.n);
    assert_digest(a->store);

    /* A row written again replaces its digest in the sum. */
    pay(a, &log, 0, BW_FUND_FISCAL, 3, FX_JAN1 + 500);
    pay(a, &log, 2, BW_FUND_OTHER, 4, FX_JAN1 + 501);
    fx_commit_quiet(a);
    read_rows(a->store, &rs);
    assert_int_equal(rs.n, 18);
    assert_int_equal(find_row(&rs, fx_code(a, 0))->st.paid_fiscal, 1503);
    assert_int_equal(find_row(&rs, fx_code(a, 0))->upto, (int64_t)log.n);
    assert_rows_hold_their_events(a, &log);
    assert_digest(a->store);

    /* The digest is what restore checks: the ledger opens again. */
    fx_reopen(f);
    for (uint32_t i = 0; i < 18; i++) {
        int64_t fiscal = 0, other = 0;
        for (size_t k = 0; k < log.n; k++)
            if (log.e[k].project == i)
                *(log.e[k].fund == BW_FUND_OTHER ? &other : &fiscal) += log.e[k].amount;
        assert_int_equal(bw_engine_state(a->engine, i)->paid_fiscal, fiscal);
        assert_int_equal(bw_engine_state(a->engine, i)->paid_other, other);
    }
}

/* bw_batch_touch: the row goes with this very commit, whatever the share of
 * queued rows a commit writes. */
static void test_touch_writes_row_with_commit(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    fx_begin(a);
    for (uint32_t ix = 3; ix < 6; ix++) {
        assert_int_equal(bw_engine_adjust(a->engine, ix, 1000000 + ix, &err), 0);
        bw_batch_touch(a->batch, ix);
    }
    fx_commit(a);
    rows rs;
    read_rows(a->store, &rs);
    assert_int_equal(rs.n, 3);
    for (uint32_t ix = 3; ix < 6; ix++) {
        const row *r = find_row(&rs, fx_code(a, ix));
        assert_non_null(r);
        assert_int_equal(r->st.budget, 1000000 + ix);
    }
    assert_int_equal((uint64_t)meta(a->store, "totals_digest"), rs.digest);
}

static void test_acks_full_at_max_acks(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;

    bw_batch *b = bw_batch_new(3);
    assert_non_null(b);
    bw_ack ack;
    memset(&ack, 0, sizeof ack);
    const char *ids[] = { "alpha", "b", "gamma-routing-id" };
    for (int i = 0; i < 3; i++) {
        ack.status = (uint8_t)(i % 3);
        snprintf(ack.id, sizeof ack.id, "ev-%d", i);
        bw_step want = i < 2 ? BW_STEP_OK : BW_STEP_FULL;
        assert_int_equal(bw_batch_add_ack(b, ids[i], strlen(ids[i]), &ack), want);
        assert_int_equal(bw_batch_nacks(b), (size_t)i + 1);
    }
    for (int i = 0; i < 3; i++) {
        bw_pending_ack *p = bw_batch_ack(b, (size_t)i);
        char id[32];
        snprintf(id, sizeof id, "ev-%d", i);
        assert_int_equal(p->idlen, strlen(ids[i]));
        assert_memory_equal(p->id, ids[i], p->idlen);
        assert_int_equal(p->ack.status, i % 3);
        assert_string_equal(p->ack.id, id);
    }
    bw_batch_clear_acks(b);
    assert_int_equal(bw_batch_nacks(b), 0);
    assert_int_equal(bw_batch_add_ack(b, "x", 1, &ack), BW_STEP_OK);
    bw_batch_free(&b);
    assert_null(b);

    /* A batch of one ack is full at once. */
    b = bw_batch_new(1);
    assert_non_null(b);
    assert_int_equal(bw_batch_add_ack(b, "x", 1, &ack), BW_STEP_FULL);
    bw_batch_free(&b);

    /* The app's batch holds [store] batch_max acks. */
    a->cfg.batch_max = 2;
    fx_reopen(f);
    fx_begin(a);
    assert_int_equal(bw_batch_add_ack(a->batch, "p", 1, &ack), BW_STEP_OK);
    assert_int_equal(bw_batch_add_ack(a->batch, "p", 1, &ack), BW_STEP_FULL);
    fx_commit(a);
    assert_int_equal(bw_batch_nacks(a->batch), 0);
}

static void test_alert_seqs_and_log_after_commit(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    bw_store *audit = fx_auditor(f);
    fx_alerts seen;

    assert_int_equal(bw_batch_seq(a->batch), 0);
    fx_begin(a);
    bw_alert_msg m[3];
    for (int i = 0; i < 3; i++) {
        char src[16];
        snprintf(src, sizeof src, "bank-%d", i);
        m[i] = gap_alert(src, 2, 5 + (uint64_t)i);
        assert_int_equal(bw_batch_add_alert(a->batch, a->store, &m[i]), BW_STEP_OK);
        assert_int_equal(m[i].seq, (uint64_t)i + 1);
        assert_int_equal(bw_batch_seq(a->batch), (uint64_t)i + 1);
        assert_int_equal(bw_batch_committed_seq(a->batch), 0);
    }
    /* Not in the log for anyone else until the commit. */
    fx_alerts_after(audit, 0, &seen);
    assert_int_equal(seen.n, 0);
    assert_int_equal(bw_batch_commit(a->batch, a, &err), 0);
    assert_int_equal(bw_batch_committed_seq(a->batch), 3);
    assert_int_equal(bw_batch_published_seq(a->batch), 0);     /* nobody published them */
    fx_alerts_after(audit, 0, &seen);
    assert_int_equal(seen.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seen.m[i].seq, (uint64_t)i + 1);
        assert_int_equal(seen.m[i].kind, BW_KIND_SOURCE_GAP);
        assert_string_equal(seen.m[i].src, m[i].src);
        assert_int_equal(seen.m[i].got_seq, m[i].got_seq);
    }
    fx_alerts_after(audit, 2, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.m[0].seq, 3);
    assert_int_equal(meta(audit, "alert_seq"), 3);

    /* The seq goes on from the ledger after a restart. */
    bw_store_close(&audit);
    fx_reopen(f);
    assert_int_equal(bw_batch_seq(a->batch), 3);
    assert_int_equal(bw_batch_committed_seq(a->batch), 3);
    fx_begin(a);
    bw_alert_msg next = gap_alert("bank-9", 1, 3);
    assert_int_equal(bw_batch_add_alert(a->batch, a->store, &next), BW_STEP_OK);
    assert_int_equal(next.seq, 4);
    fx_commit(a);
    fx_alerts_after(a->store, 3, &seen);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.m[0].src, "bank-9");
}

static void test_rollback_forgets_the_batch(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    bw_ack ack;
    fx_alerts seen;

    /* What is committed stays. */
    bw_event e1 = fx_event("bank", "e1", fx_code(a, 0), 100, FX_JAN1 + 5);
    assert_int_equal(fx_send(a, &e1, &ack), BW_STEP_OK);
    bw_alert_msg m1 = gap_alert("bank", 1, 2);
    assert_int_equal(bw_batch_add_alert(a->batch, a->store, &m1), BW_STEP_OK);
    fx_commit(a);
    assert_int_equal(bw_batch_committed_seq(a->batch), 1);

    /* A batch with an event, a dead letter and an alert, rolled back. */
    bw_event e2 = fx_event("bank", "e2", fx_code(a, 1), 200, FX_JAN1 + 6);
    bw_event e3 = fx_event("bank", "e3", "NOT-IN-PLAN", 300, FX_JAN1 + 7);
    assert_int_equal(fx_send(a, &e2, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    assert_int_equal(fx_send(a, &e3, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_REJECTED);
    bw_alert_msg m2 = gap_alert("bank", 3, 9);
    assert_int_equal(bw_batch_add_alert(a->batch, a->store, &m2), BW_STEP_OK);
    assert_int_equal(m2.seq, 2);
    assert_int_equal(bw_batch_nacks(a->batch), 2);
    bw_batch_rollback(a->batch, a->store);

    assert_false(bw_batch_is_open(a->batch));
    assert_int_equal(bw_batch_seq(a->batch), 1);
    assert_int_equal(bw_batch_committed_seq(a->batch), 1);
    assert_int_equal(bw_batch_nacks(a->batch), 2);  /* the loop answers them with the cause */
    bw_batch_clear_acks(a->batch);

    bw_store *audit = fx_auditor(f);
    bw_store *views[] = { a->store, audit };
    for (int i = 0; i < 2; i++) {
        bw_store *s = views[i];
        assert_int_equal(bw_store_event_count(s, &err), 1);
        assert_int_equal(bw_store_event_exists(s, "bank", "e1", &err), 1);
        assert_int_equal(bw_store_event_exists(s, "bank", "e2", &err), 0);
        assert_int_equal(bw_store_rejects_pending(s, &err), 0);
        fx_alerts_after(s, 0, &seen);
        assert_int_equal(seen.n, 1);
        assert_int_equal(meta(s, "alert_seq"), 1);
    }
    bw_store_close(&audit);

    /* The next alert would take the seq the rolled-back one had. (The loop
     * stops after a rollback: the engine still holds the batch's payments.) */
    fx_begin(a);
    bw_alert_msg m3 = gap_alert("bank", 4, 6);
    assert_int_equal(bw_batch_add_alert(a->batch, a->store, &m3), BW_STEP_OK);
    assert_int_equal(m3.seq, 2);
    bw_batch_rollback(a->batch, a->store);
    assert_int_equal(bw_batch_seq(a->batch), 1);
}

static void test_failed_batch_refuses(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err, first, second;
    bw_ack ack;

    bw_event e1 = fx_event("bank", "e1", fx_code(a, 0), 100, FX_JAN1 + 5);
    assert_int_equal(fx_send(a, &e1, &ack), BW_STEP_OK);
    assert_false(bw_batch_failed(a->batch));
    bw_err_set(&first, "the disk is full (first cause)");
    bw_err_set(&second, "a later cause");
    assert_int_equal(bw_batch_fail(a->batch, &first), BW_STEP_FATAL);
    assert_int_equal(bw_batch_fail(a->batch, &second), BW_STEP_FATAL);
    assert_true(bw_batch_failed(a->batch));

    bw_alert_msg m = gap_alert("bank", 1, 2);
    assert_int_equal(bw_batch_add_alert(a->batch, a->store, &m), BW_STEP_FATAL);
    assert_int_equal(bw_batch_seq(a->batch), 0);

    err.msg[0] = '\0';
    assert_int_equal(bw_batch_commit(a->batch, a, &err), -1);
    assert_string_equal(err.msg, first.msg);
    assert_true(bw_batch_is_open(a->batch));       /* for the caller to roll back */
    assert_int_equal(a->stats.batches, 0);
    bw_batch_rollback(a->batch, a->store);
    assert_false(bw_batch_is_open(a->batch));

    err.msg[0] = '\0';
    assert_int_equal(bw_batch_begin(a->batch, a->store, &err), -1);
    assert_string_equal(err.msg, first.msg);
    assert_false(bw_batch_is_open(a->batch));

    bw_store *audit = fx_auditor(f);
    assert_int_equal(bw_store_event_count(audit, &err), 0);
    assert_int_equal(bw_store_event_count(a->store, &err), 0);
    bw_store_close(&audit);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_begin_commit_rows_and_digest),
        T(test_touch_writes_row_with_commit),
        T(test_acks_full_at_max_acks),
        T(test_alert_seqs_and_log_after_commit),
        T(test_rollback_forgets_the_batch),
        T(test_failed_batch_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
