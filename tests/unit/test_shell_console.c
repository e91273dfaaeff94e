/* test_shell_console: the console's reads through the control socket over a
 * bw_app on a real ledger — status paging, filters and sorting by any
 * column against a model the test computes from the unpaged rows, a
 * project's payments paged by cursor, and its budget adjustments. The
 * payment counts come from a seeded generator; the seed is printed. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "control.h"
#include "shell_fixture.h"
#include "views.h"

static unsigned seed;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
}

/* A seeded number of payments to each project, then the clock at day 120. */
static void pay_random(bw_app *a)
{
    bw_ack ack;
    for (uint32_t i = 0; i < fx_nprojects(a); i++) {
        int64_t budget = bw_engine_state(a->engine, i)->budget;
        uint32_t n = rnd() % 6;
        for (uint32_t k = 0; k < n; k++) {
            char id[32];
            snprintf(id, sizeof id, "c%u-%u", i, k);
            bw_event ev = fx_event("bank", id, fx_code(a, i), budget / (2 + rnd() % 40) + 1,
                                   FX_JAN1 + FX_DAY * (1 + rnd() % 100));
            assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
            assert_int_equal(ack.status, BW_ACK_ACCEPTED);
        }
    }
    fx_commit(a);
    fx_begin(a);
    assert_int_equal(bw_publish_advance(a, FX_JAN1 + 120 * FX_DAY), BW_STEP_OK);
    fx_commit(a);
}

static void status(const bw_app *a, const bw_status_query *q, bw_view_status *v)
{
    bw_err err;
    if (bw_views_status(a, q, v, &err))
        fail_msg("bw_views_status: %s (seed %u)", err.msg, seed);
}

/* The model: the plan-ordered rows, filtered and sorted by the test. */
static int64_t key_of(const bw_view_row *r, const char *col)
{
    if (strcmp(col, "paid") == 0) return r->paid;
    if (strcmp(col, "lag_bp") == 0) return r->lag_bp;
    if (strcmp(col, "budget") == 0) return r->budget;
    if (strcmp(col, "firing") == 0) return r->firing;
    fail_msg("no model for column %s", col);
    return 0;
}

typedef struct model_row {
    const bw_view_row *r;
    size_t plan_ix;
} model_row;

static const char *model_col;
static bool model_desc;

static int cmp_model(const void *x, const void *y)
{
    const model_row *a = x, *b = y;
    int c;
    if (strcmp(model_col, "project_name") == 0)
        c = strcmp(a->r->project_name, b->r->project_name);
    else {
        int64_t ka = key_of(a->r, model_col), kb = key_of(b->r, model_col);
        c = (ka > kb) - (ka < kb);
    }
    if (model_desc)
        c = -c;
    return c ? c : (a->plan_ix > b->plan_ix) - (a->plan_ix < b->plan_ix);
}

/* Pages of `limit` through a sort, concatenated, equal the model's order. */
static void check_sorted_pages(const bw_app *a, const char *col, bool desc, uint32_t limit)
{
    bw_status_query all = { .limit = 0 };
    bw_view_status full;
    status(a, &all, &full);
    model_row *m = calloc(full.nprojects, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < full.nprojects; i++)
        m[i] = (model_row){ &full.projects[i], i };
    model_col = col;
    model_desc = desc;
    qsort(m, full.nprojects, sizeof *m, cmp_model);
    size_t seen = 0;
    for (uint64_t off = 0; off < full.nprojects + limit; off += limit) {
        bw_status_query q = { .sort = col, .desc = desc, .limit = limit, .offset = off };
        bw_view_status page;
        status(a, &q, &page);
        assert_int_equal(page.matched, full.nprojects);
        for (size_t i = 0; i < page.nprojects; i++, seen++) {
            if (strcmp(page.projects[i].project, m[seen].r->project) != 0)
                fail_msg("sort %s%s, row %zu: %s, the model says %s (seed %u)", col,
                         desc ? " desc" : "", seen, page.projects[i].project, m[seen].r->project,
                         seed);
        }
        /* Units and total are the department's whatever the page. */
        assert_int_equal(page.nunits, full.nunits);
        assert_int_equal(page.total.paid, full.total.paid);
        bw_view_status_free(&page);
    }
    assert_int_equal(seen, full.nprojects);
    free(m);
    bw_view_status_free(&full);
}

static void test_status_sort_and_page(void **state)
{
    shell_fx *f = *state;
    pay_random(&f->app);
    check_sorted_pages(&f->app, "paid", false, 7);
    check_sorted_pages(&f->app, "paid", true, 5);
    check_sorted_pages(&f->app, "lag_bp", true, 11);
    check_sorted_pages(&f->app, "budget", false, 64);
    check_sorted_pages(&f->app, "project_name", false, 9);
    check_sorted_pages(&f->app, "firing", true, 3);

    bw_status_query bad = { .sort = "colour" };
    bw_view_status v;
    bw_err err;
    assert_int_equal(bw_views_status(&f->app, &bad, &v, &err), -1);
    assert_non_null(strstr(err.msg, "colour"));
    assert_non_null(strstr(err.msg, "paid_fiscal"));
}

static void test_status_filters(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    pay_random(a);
    bw_status_query all = { .limit = 0 };
    bw_view_status full;
    status(a, &all, &full);

    /* Search: a substring of a code, and of a name (UTF-8), against strstr. */
    const char *needles[] = { full.projects[3].project + 2, "学", "no-such-project", NULL };
    char name_part[16];
    snprintf(name_part, sizeof name_part, "%.6s", full.projects[5].project_name);
    needles[3] = name_part;
    for (size_t k = 0; k < 4; k++) {
        size_t want = 0;
        for (size_t i = 0; i < full.nprojects; i++)
            want += strstr(full.projects[i].project, needles[k]) != NULL ||
                    strstr(full.projects[i].project_name, needles[k]) != NULL;
        bw_status_query q = { .text = needles[k], .limit = 3 };
        bw_view_status v;
        status(a, &q, &v);
        assert_int_equal(v.matched, want);
        assert_int_equal(v.nprojects, want < 3 ? want : 3);
        for (size_t i = 0; i < v.nprojects; i++)
            assert_true(strstr(v.projects[i].project, needles[k]) ||
                        strstr(v.projects[i].project_name, needles[k]));
        bw_view_status_free(&v);
    }

    /* Alert state: firing and none split the projects. */
    size_t firing = 0;
    for (size_t i = 0; i < full.nprojects; i++)
        firing += full.projects[i].firing > 0;
    assert_true(firing > 0);
    bw_status_query qf = { .alert = "firing" }, qn = { .alert = "none" };
    bw_view_status vf, vn;
    status(a, &qf, &vf);
    status(a, &qn, &vn);
    assert_int_equal(vf.matched, firing);
    assert_int_equal(vn.matched, full.nprojects - firing);
    for (size_t i = 0; i < vf.nprojects; i++)
        assert_true(vf.projects[i].firing > 0);
    for (size_t i = 0; i < vn.nprojects; i++)
        assert_int_equal(vn.projects[i].firing, 0);
    bw_view_status_free(&vf);
    bw_view_status_free(&vn);

    /* Band: without [alerts] bands the two bands are named after the
     * severities; "none" is the projects with no firing lag band. */
    size_t unbanded = 0, warned = 0;
    for (size_t i = 0; i < full.nprojects; i++) {
        unbanded += full.projects[i].band[0] == '\0';
        warned += strcmp(full.projects[i].band, "warning") == 0;
    }
    assert_true(unbanded < full.nprojects);     /* the history above makes lag bands */
    bw_status_query qb = { .band = "none" }, qr = { .band = "warning" }, qx = { .band = "红一档" };
    status(a, &qb, &vf);
    status(a, &qr, &vn);
    assert_int_equal(vf.matched, unbanded);
    for (size_t i = 0; i < vf.nprojects; i++)
        assert_string_equal(vf.projects[i].band, "");
    assert_int_equal(vn.matched, warned);
    for (size_t i = 0; i < vn.nprojects; i++)
        assert_string_equal(vn.projects[i].band, "warning");
    bw_view_status_free(&vf);
    bw_view_status_free(&vn);
    status(a, &qx, &vn);
    assert_int_equal(vn.matched, 0);            /* a band this configuration does not have */
    bw_view_status_free(&vn);

    /* A unit and a search together: the unit's rows only. */
    bw_status_query qu = { .unit = full.projects[0].unit, .text = full.projects[0].project };
    status(a, &qu, &vf);
    assert_true(vf.matched >= 1);
    for (size_t i = 0; i < vf.nprojects; i++)
        assert_string_equal(vf.projects[i].unit, full.projects[0].unit);
    assert_int_equal(vf.nunits, 1);
    bw_view_status_free(&vf);
    bw_view_status_free(&full);
}

/* ---- payments and adjustments through bw_control_handle ---- */

typedef struct reply {
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    const msgpack_object *m;
} reply;

static bw_ctl_result ask(bw_app *a, const bw_ctl_req *q, bw_role role, reply *r)
{
    msgpack_sbuffer req;
    msgpack_sbuffer_init(&req);
    msgpack_sbuffer_init(&r->sb);
    assert_int_equal(bw_ctl_req_encode(q, &req), 0);
    bw_ctl_call c = { req.data, req.size, role, "tester", false, &r->sb, NULL };
    bw_ctl_result rc = bw_control_handle(a, &c);
    msgpack_sbuffer_destroy(&req);
    r->m = fx_reply(&r->sb, &r->u);
    return rc;
}

static void reply_free(reply *r)
{
    msgpack_unpacked_destroy(&r->u);
    msgpack_sbuffer_destroy(&r->sb);
}

static void test_payments_paged(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    const uint32_t ix = 7, other = 8;
    uint32_t n = 20 + rnd() % 30;
    for (uint32_t k = 0; k < n; k++) {
        char id[32];
        snprintf(id, sizeof id, "pay-%u", k);
        bw_event ev = fx_event("bank", id, fx_code(a, ix), 100 + k, FX_JAN1 + FX_DAY * (1 + k));
        ev.fund = k % 3 == 0 ? BW_FUND_OTHER : BW_FUND_FISCAL;
        assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
        /* Another project's events in between must not show. */
        snprintf(id, sizeof id, "other-%u", k);
        ev = fx_event("bank", id, fx_code(a, other), 5, FX_JAN1 + FX_DAY);
        assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
    }
    fx_commit(a);

    bw_ctl_req q;
    memset(&q, 0, sizeof q);
    q.op = BW_OP_PAYMENTS;
    snprintf(q.project, sizeof q.project, "%s", fx_code(a, ix));
    q.limit = 6;
    uint32_t expect = n, pages = 0;
    for (;;) {
        reply r;
        assert_int_equal(ask(a, &q, BW_ROLE_SUPERVISOR, &r), BW_CTL_REPLY);
        bool ok = false;
        assert_true(bw_map_get_bool(r.m, "ok", &ok));
        assert_true(ok);
        int64_t total = 0;
        assert_true(bw_map_get_int(r.m, "total", &total));
        assert_int_equal(total, n);
        const msgpack_object *list = bw_map_get(r.m, "payments");
        assert_non_null(list);
        for (uint32_t i = 0; i < list->via.array.size; i++) {
            const msgpack_object *p = &list->via.array.ptr[i];
            char id[32], want[32], fund[16], type[16];
            int64_t amount;
            expect--;           /* newest first */
            snprintf(want, sizeof want, "pay-%u", expect);
            assert_true(bw_map_get_str(p, "id", id, sizeof id));
            assert_string_equal(id, want);
            assert_true(bw_map_get_int(p, "amount", &amount));
            assert_int_equal(amount, 100 + expect);
            assert_true(bw_map_get_str(p, "fund", fund, sizeof fund));
            assert_string_equal(fund, expect % 3 == 0 ? "other" : "fiscal");
            assert_true(bw_map_get_str(p, "type", type, sizeof type));
            assert_string_equal(type, "disbursement");
        }
        pages++;
        uint64_t next = 0;
        bool more = bw_map_get_uint(r.m, "next", &next);
        reply_free(&r);
        if (!more)
            break;
        q.before = next;
    }
    assert_int_equal(expect, 0);
    assert_int_equal(pages, (n + 5) / 6);

    /* Refused: no project, an unknown one, a limit over 1000. */
    reply r;
    char err[256];
    q.before = 0;
    snprintf(q.project, sizeof q.project, "nope");
    ask(a, &q, BW_ROLE_SUPERVISOR, &r);
    assert_true(bw_map_get_str(r.m, "error", err, sizeof err));
    assert_non_null(strstr(err, "unknown project \"nope\""));
    reply_free(&r);
    snprintf(q.project, sizeof q.project, "%s", fx_code(a, ix));
    q.limit = 1001;
    ask(a, &q, BW_ROLE_SUPERVISOR, &r);
    assert_true(bw_map_get_str(r.m, "error", err, sizeof err));
    assert_non_null(strstr(err, "at most 1000"));
    reply_free(&r);
}

static void test_adjustments(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    const uint32_t ix = 4;
    int64_t b0 = bw_engine_state(a->engine, ix)->budget;
    bw_ctl_req q;
    reply r;
    for (int k = 1; k <= 3; k++) {
        memset(&q, 0, sizeof q);
        q.op = BW_OP_ADJUST;
        snprintf(q.project, sizeof q.project, "%s", fx_code(a, ix));
        q.has_budget = true;
        q.budget = b0 + k * 1000;
        snprintf(q.reason, sizeof q.reason, "追加 %d <b>", k);
        assert_int_equal(ask(a, &q, BW_ROLE_ADMIN, &r), BW_CTL_COMMIT);
        reply_free(&r);
        fx_commit(a);
    }
    memset(&q, 0, sizeof q);
    q.op = BW_OP_ADJUSTMENTS;
    snprintf(q.project, sizeof q.project, "%s", fx_code(a, ix));
    assert_int_equal(ask(a, &q, BW_ROLE_SUPERVISOR, &r), BW_CTL_REPLY);
    const msgpack_object *list = bw_map_get(r.m, "adjustments");
    assert_non_null(list);
    assert_int_equal(list->via.array.size, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object *j = &list->via.array.ptr[i];
        int64_t old, nw, at;
        char reason[64], want[64];
        assert_true(bw_map_get_int(j, "old_budget", &old));
        assert_true(bw_map_get_int(j, "new_budget", &nw));
        assert_true(bw_map_get_int(j, "at", &at));
        assert_true(bw_map_get_str(j, "reason", reason, sizeof reason));
        assert_int_equal(old, i == 0 ? b0 : b0 + (int64_t)i * 1000);
        assert_int_equal(nw, b0 + (int64_t)(i + 1) * 1000);
        snprintf(want, sizeof want, "追加 %u <b>", i + 1);
        assert_string_equal(reason, want);
        assert_int_equal(at, bw_app_now(a));
    }
    reply_free(&r);
    /* Another project has none. */
    snprintf(q.project, sizeof q.project, "%s", fx_code(a, ix + 1));
    ask(a, &q, BW_ROLE_SUPERVISOR, &r);
    assert_int_equal(bw_map_get(r.m, "adjustments")->via.array.size, 0);
    reply_free(&r);
}

int main(void)
{
    const char *s = getenv("BW_TEST_SEED");
    seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    printf("test_shell_console: seed %u (BW_TEST_SEED=%u to repeat)\n", seed, seed);
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_status_sort_and_page),
        T(test_status_filters),
        T(test_payments_paged),
        T(test_adjustments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
