/* Tests of saveq: whatever rows were written and whenever the daemon stops,
 * saved rows plus the events after the watermark (above each row's upto)
 * give every project's true total; and a flush writes no more than asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "saveq.h"

#define NPROJ 50
#define MAXEV 20000

/* A model of the ledger: events in rowid order, live totals, saved rows. */
typedef struct model {
    int64_t ev_project[MAXEV + 1], ev_amount[MAXEV + 1];
    int64_t nev;                          /* = the largest rowid */
    int64_t live[NPROJ];                  /* what the engine holds */
    int64_t saved[NPROJ], upto[NPROJ];    /* the projects table */
    int64_t watermark;                    /* meta totals_upto */
    size_t writes;
} model;

static int write_row(void *ctx, uint32_t ix, int64_t upto)
{
    model *m = ctx;
    assert_true(ix < NPROJ);
    m->saved[ix] = m->live[ix];
    m->upto[ix] = upto;
    m->writes++;
    return 0;
}

/* What a restart would rebuild, compared with the truth. */
static void check_restore(const model *m)
{
    int64_t r[NPROJ];
    memcpy(r, m->saved, sizeof r);
    for (int64_t row = m->watermark + 1; row <= m->nev; row++) {
        int64_t p = m->ev_project[row];
        if (row > m->upto[p])
            r[p] += m->ev_amount[row];
    }
    for (int p = 0; p < NPROJ; p++)
        if (r[p] != m->live[p])
            fail_msg("project %d: restored %lld, true %lld (watermark %lld, upto %lld)", p,
                     (long long)r[p], (long long)m->live[p], (long long)m->watermark,
                     (long long)m->upto[p]);
}

static void flush(bw_saveq *q, model *m, size_t budget)
{
    int moved = bw_saveq_flush(q, m->nev, budget, write_row, m);
    assert_true(moved == 0 || moved == 1);
    int64_t w = bw_saveq_watermark(q);
    assert_true(w >= m->watermark);          /* never goes back */
    assert_true(w <= m->nev);
    assert_int_equal(moved, w != m->watermark);
    m->watermark = w;                        /* saved in the same transaction */
}

static void test_random_histories_restore_exactly(void **state)
{
    (void)state;
    static model m;
    for (unsigned seed = 1; seed <= 40; seed++) {
        srand(seed);
        memset(&m, 0, sizeof m);
        /* Half the runs sweep in a shuffled order, as the ledger's key order is. */
        uint32_t *order = NULL;
        if (seed % 2 == 0) {
            order = malloc(NPROJ * sizeof *order);
            assert_non_null(order);
            for (uint32_t i = 0; i < NPROJ; i++)
                order[i] = i;
            for (uint32_t i = NPROJ - 1; i > 0; i--) {
                uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        bw_saveq *q = bw_saveq_new(NPROJ, &order, 0);
        assert_non_null(q);
        assert_null(order);
        while (m.nev < MAXEV - 100) {
            int batch = rand() % 60;
            for (int i = 0; i < batch; i++) {
                int p = rand() % (rand() % 4 ? NPROJ : 5);   /* some projects hot */
                m.nev++;
                m.ev_project[m.nev] = p;
                m.ev_amount[m.nev] = 1 + rand() % 1000;
                m.live[p] += m.ev_amount[m.nev];
                bw_saveq_later(q, (uint32_t)p);
            }
            if (rand() % 5 == 0)
                bw_saveq_now(q, (uint32_t)(rand() % NPROJ));   /* an alert */
            if (rand() % 200 == 0)
                bw_saveq_all(q);                               /* a reload */
            flush(q, &m, (size_t)(rand() % 8));
            check_restore(&m);                                 /* a crash here */
        }
        flush(q, &m, SIZE_MAX);
        assert_int_equal(bw_saveq_pending(q), 0);
        assert_int_equal(m.watermark, m.nev);      /* nothing left to re-add */
        check_restore(&m);
        bw_saveq_free(&q);
        assert_null(q);
    }
}

static void test_budget_bounds_the_writes(void **state)
{
    (void)state;
    static model m;
    memset(&m, 0, sizeof m);
    bw_saveq *q = bw_saveq_new(NPROJ, NULL, 0);
    for (uint32_t p = 0; p < 20; p++) {
        m.live[p] = 1;
        m.ev_project[++m.nev] = p;
        m.ev_amount[m.nev] = 1;
        bw_saveq_later(q, p);
        bw_saveq_later(q, p);                  /* queued once */
    }
    bw_saveq_now(q, 40);
    assert_int_equal(bw_saveq_pending(q), 20);
    flush(q, &m, 5);
    assert_int_equal(m.writes, 6);             /* the "now" row and 5 of the queue */
    assert_int_equal(bw_saveq_pending(q), 15);
    assert_int_equal(m.watermark, 0);          /* the pass is not written out yet */
    flush(q, &m, 15);
    assert_int_equal(m.writes, 21);
    assert_int_equal(m.watermark, 20);
    check_restore(&m);
    bw_saveq_free(&q);
}

/* Later rows go out in the sweep's order, whatever order they came in; a
 * sparse queue is found within the scan bound, and the pass still ends. */
typedef struct written {
    uint32_t ix[NPROJ];
    size_t n;
} written;

static int note_row(void *ctx, uint32_t ix, int64_t upto)
{
    (void)upto;
    written *w = ctx;
    w->ix[w->n++] = ix;
    return 0;
}

static void test_sweep_order_and_scan_bound(void **state)
{
    (void)state;
    uint32_t *order = malloc(NPROJ * sizeof *order);
    assert_non_null(order);
    for (uint32_t i = 0; i < NPROJ; i++)
        order[i] = NPROJ - 1 - i;                  /* the key order: backwards */
    bw_saveq *q = bw_saveq_new(NPROJ, &order, 0);
    static const uint32_t came[] = { 3, 40, 1, 49, 20 };
    for (size_t i = 0; i < 5; i++)
        bw_saveq_later(q, came[i]);
    written w = { .n = 0 };
    assert_int_equal(bw_saveq_flush(q, 5, 3, note_row, &w), 0);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.ix[0], 49);
    assert_int_equal(w.ix[1], 40);
    assert_int_equal(w.ix[2], 20);
    /* One row of budget looks at 16 positions at most: projects 19..4 hold none. */
    w.n = 0;
    assert_int_equal(bw_saveq_flush(q, 5, 1, note_row, &w), 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(bw_saveq_flush(q, 5, 1, note_row, &w), 0);
    assert_int_equal(w.ix[0], 3);
    assert_int_equal(bw_saveq_flush(q, 6, 1, note_row, &w), 1);   /* the last: caught up */
    assert_int_equal(w.ix[1], 1);
    assert_int_equal(bw_saveq_watermark(q), 6);
    assert_int_equal(bw_saveq_pending(q), 0);
    bw_saveq_free(&q);
}

/* A row written "now" while it waits in the queue is not written again. */
static void test_now_takes_a_queued_row_along(void **state)
{
    (void)state;
    static model m;
    memset(&m, 0, sizeof m);
    bw_saveq *q = bw_saveq_new(NPROJ, NULL, 0);
    m.live[3] = 7;
    m.ev_project[++m.nev] = 3;
    m.ev_amount[m.nev] = 7;
    bw_saveq_later(q, 3);
    bw_saveq_now(q, 3);
    flush(q, &m, 0);
    assert_int_equal(m.writes, 1);
    flush(q, &m, 10);
    assert_int_equal(m.writes, 1);
    assert_int_equal(bw_saveq_pending(q), 0);
    assert_int_equal(m.watermark, 1);
    bw_saveq_free(&q);
}

static void test_all_writes_every_row(void **state)
{
    (void)state;
    static model m;
    memset(&m, 0, sizeof m);
    bw_saveq *q = bw_saveq_new(NPROJ, NULL, 0);
    m.nev = 9;                                  /* events of other runs */
    bw_saveq_later(q, 1);
    bw_saveq_all(q);
    flush(q, &m, 0);
    assert_int_equal(m.writes, NPROJ);
    assert_int_equal(m.watermark, 9);
    assert_int_equal(bw_saveq_pending(q), 0);
    bw_saveq_free(&q);
    bw_saveq_free(&q);                          /* safe twice */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_histories_restore_exactly),
        cmocka_unit_test(test_budget_bounds_the_writes),
        cmocka_unit_test(test_sweep_order_and_scan_bound),
        cmocka_unit_test(test_now_takes_a_queued_row_along),
        cmocka_unit_test(test_all_writes_every_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
