/* test_shell_totals_overflow: KNOWN BUG, kept apart from test_views so that
 * it does not stop the others (in the sanitizer build UBSan aborts the
 * process at the first signed overflow).
 *
 * Each project's paid total is checked against int64 overflow (ingest →
 * bw_engine_check), and a budget only has to be > 0 (adjust), but the
 * subtotals of a unit and the department's total (bw_engine_unit_status,
 * bw_engine_total_status: status_add in daemon/core/engine.c) add the rows
 * with unchecked int64 `+=`. Two accepted payments, or two accepted budget
 * adjustments, make a total that does not fit: undefined behaviour, and in
 * practice a negative 部门整体 in `status`. PROTOCOL.md promises that "every
 * subtotal equals the sum of its rows to the fen"; either the event or the
 * adjustment that makes a total unrepresentable must be refused, or the
 * totals must not be int64. These tests assert that promise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control.h"
#include "shell_fixture.h"
#include "views.h"

__extension__ typedef __int128 i128;

/* Two projects of the same unit. */
static void same_unit(const bw_app *a, uint32_t *p, uint32_t *q)
{
    for (uint32_t i = 1; i < fx_nprojects(a); i++)
        if (strcmp(fx_unit_of(a, i), fx_unit_of(a, 0)) == 0) {
            *p = 0;
            *q = i;
            return;
        }
    fail_msg("no unit with two projects");
}

/* Every subtotal the status view shows is the sum of its rows, exactly. */
static void assert_totals_are_sums(const bw_app *a)
{
    bw_status_query q = { .unit = NULL };
    bw_view_status v;
    bw_err err;
    if (bw_views_status(a, &q, &v, &err))
        fail_msg("bw_views_status: %s", err.msg);
    i128 paid = 0, budget = 0;
    for (size_t i = 0; i < v.nprojects; i++) {
        paid += v.projects[i].paid;
        budget += v.projects[i].budget;
    }
    bool paid_ok = paid == v.total.paid, budget_ok = budget == v.total.budget;
    long long shown_paid = v.total.paid, shown_budget = v.total.budget;
    bw_view_status_free(&v);
    if (!paid_ok || !budget_ok)
        fail_msg("the total shows paid %lld and budget %lld fen, but its rows add up to "
                 "paid %.0f and budget %.0f fen", shown_paid, shown_budget, (double)paid,
                 (double)budget);
}

static void test_two_payments_overflow_the_total(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    uint32_t p = 0, q = 0;
    same_unit(a, &p, &q);
    bw_event e1 = fx_event("bank", "big-1", fx_code(a, p), INT64_MAX / 2 + 1, FX_JAN1 + 10);
    bw_event e2 = fx_event("bank", "big-2", fx_code(a, q), INT64_MAX / 2 + 1, FX_JAN1 + 10);
    assert_int_equal(fx_send(a, &e1, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    assert_int_equal(fx_send(a, &e2, &ack), BW_STEP_OK);
    fx_commit(a);
    /* Refusing e2 (as overflow) would keep the promise; accepting it must
     * not make a total that is not the sum of its rows. */
    if (ack.status == BW_ACK_ACCEPTED)
        assert_totals_are_sums(a);
}

static void test_two_budgets_overflow_the_total(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    uint32_t p = 0, q = 0;
    same_unit(a, &p, &q);
    uint32_t ix[] = { p, q };
    for (int i = 0; i < 2; i++) {
        bw_ctl_req r;
        memset(&r, 0, sizeof r);
        r.op = BW_OP_ADJUST;
        snprintf(r.project, sizeof r.project, "%s", fx_code(a, ix[i]));
        r.has_budget = true;
        r.budget = INT64_MAX;
        snprintf(r.reason, sizeof r.reason, "test");
        msgpack_sbuffer in, out;
        msgpack_sbuffer_init(&in);
        msgpack_sbuffer_init(&out);
        assert_int_equal(bw_ctl_req_encode(&r, &in), 0);
        bw_ctl_call c = { in.data, in.size, BW_ROLE_ADMIN, "", false, &out, NULL };
        bw_ctl_result rc = bw_control_handle(a, &c);
        if (rc == BW_CTL_COMMIT)
            fx_commit(a);
        msgpack_sbuffer_destroy(&in);
        msgpack_sbuffer_destroy(&out);
    }
    assert_totals_are_sums(a);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_two_payments_overflow_the_total),
        T(test_two_budgets_overflow_the_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
