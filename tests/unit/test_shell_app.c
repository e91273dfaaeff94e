/* test_shell_app: bw_app_open and bw_app_close — the exit status and the
 * message of each way an open fails (and that close frees what a failed open
 * made), the digest that refuses a ledger changed behind the daemon's back,
 * and the daemon's "now" by clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "shell_fixture.h"

/* Opens f->app as configured: the status, err filled; always closed again. */
static int open_status(shell_fx *f, bw_err *err)
{
    bw_config cfg = f->app.cfg;
    memset(&f->app, 0, sizeof f->app);
    f->app.cfg = cfg;
    err->msg[0] = '\0';
    int rc = bw_app_open(&f->app, err);
    fx_close(f);
    return rc;
}

static void test_open_failures(void **state)
{
    (void)state;
    shell_fx *f = fx_new();
    bw_err err;
    bw_config good = f->app.cfg;

    snprintf(f->app.cfg.plan, sizeof f->app.cfg.plan, "%s/no-such-plan.csv", f->dir);
    assert_int_equal(open_status(f, &err), BW_EXIT_CONFIG);
    assert_non_null(strstr(err.msg, "no-such-plan.csv"));

    f->app.cfg = good;
    snprintf(f->app.cfg.timezone, sizeof f->app.cfg.timezone, "Mars/Olympus_Mons");
    assert_int_equal(open_status(f, &err), BW_EXIT_CONFIG);
    assert_true(err.msg[0] != '\0');

    f->app.cfg = good;
    snprintf(f->app.cfg.state_dir, sizeof f->app.cfg.state_dir, "%s/missing/dir", f->dir);
    assert_int_equal(open_status(f, &err), BW_EXIT_STORE);
    assert_non_null(strstr(err.msg, "missing/dir"));

    f->app.cfg = good;
    assert_int_equal(open_status(f, &err), 0);
    fx_free(f);
}

static void test_changed_row_refused(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    bw_err err;
    bw_event ev = fx_event("bank", "e1", fx_code(a, 0), 100, FX_JAN1 + 5);
    assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
    fx_commit_quiet(a);
    fx_close(f);

    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE projects SET paid_fiscal = paid_fiscal + 1",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(open_status(f, &err), BW_EXIT_DAMAGED);
    assert_non_null(strstr(err.msg, "--rebuild-totals"));
}

static void test_now_by_clock(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    assert_int_equal(bw_app_now(a), FX_JAN1);           /* event clock: the year's start */
    bw_ack ack;
    bw_event ev = fx_event("bank", "e1", fx_code(a, 0), 100, FX_JAN1 + 777);
    assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(bw_app_now(a), FX_JAN1 + 777);
    fx_commit(a);
    fx_reopen(f);
    assert_int_equal(bw_app_now(a), FX_JAN1 + 777);     /* kept in the ledger */
    a->cfg.clock = BW_CLOCK_WALL;
    int64_t t = (int64_t)time(NULL);
    assert_true(bw_app_now(a) >= t && bw_app_now(a) <= t + 5);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_failures),
        T(test_changed_row_refused),
        T(test_now_by_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
