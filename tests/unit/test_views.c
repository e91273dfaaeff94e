/* test_views: the shared views built from a bw_app on a real ledger — status
 * rows, subtotals and total that add up, rank orders, the stats counts, the
 * active alerts and the history — and the proto encoders (bw_mapw), whose
 * maps must hold exactly the keys their headers count. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shell_fixture.h"
#include "views.h"

__extension__ typedef __int128 i128;

static const char *const row_keys[] = {
    "unit", "unit_name", "project", "project_name", "budget", "paid", "paid_fiscal",
    "paid_other", "shortfall", "rate_bp", "planned_bp", "lag_bp", "pace_bp", "severity",
    "firing", "projects", "plan_budget", "band", "basis", "pace_lag_bp", "pace_shortfall",
};
#define NROW_KEYS (sizeof row_keys / sizeof row_keys[0])

/* Payments of different shares of each budget (project i gets i % 9 tenths
 * of a share, some of it from other funds), then the clock at day 100. */
static void pay_some(bw_app *a)
{
    bw_ack ack;
    for (uint32_t i = 0; i < fx_nprojects(a); i++) {
        int64_t budget = bw_engine_state(a->engine, i)->budget;
        for (uint32_t k = 0; k < i % 9; k++) {
            char id[32];
            snprintf(id, sizeof id, "p%u-%u", i, k);
            bw_event ev = fx_event("bank", id, fx_code(a, i), budget / 23 + k + 1,
                                   FX_JAN1 + FX_DAY * (1 + k));
            ev.fund = (i + k) % 4 == 0 ? BW_FUND_OTHER : BW_FUND_FISCAL;
            assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
            assert_int_equal(ack.status, BW_ACK_ACCEPTED);
        }
    }
    fx_commit(a);
    fx_begin(a);
    assert_int_equal(bw_publish_advance(a, FX_JAN1 + 100 * FX_DAY), BW_STEP_OK);
    fx_commit(a);
}

static void status_of(const bw_app *a, const char *unit, const char *project, const char *sort,
                      uint32_t limit, bw_view_status *v)
{
    bw_status_query q = { .unit = unit, .project = project, .sort = sort, .limit = limit };
    bw_err err;
    if (bw_views_status(a, &q, v, &err))
        fail_msg("bw_views_status: %s", err.msg);
}

typedef struct sums {
    int64_t budget, paid, fiscal, other, shortfall;
    uint32_t firing, projects;
    uint8_t severity;
} sums;

static void add_row(sums *s, const bw_view_row *r)
{
    s->budget += r->budget;
    s->paid += r->paid;
    s->fiscal += r->paid_fiscal;
    s->other += r->paid_other;
    s->shortfall += r->shortfall;
    s->firing += r->firing;
    s->projects += r->projects;
    if (r->severity > s->severity)
        s->severity = r->severity;
}

static void assert_row_is_sum(const bw_view_row *r, const sums *s, int32_t pace_bp)
{
    assert_int_equal(r->budget, s->budget);
    assert_int_equal(r->paid, s->paid);
    assert_int_equal(r->paid_fiscal, s->fiscal);
    assert_int_equal(r->paid_other, s->other);
    assert_int_equal(r->paid, r->paid_fiscal + r->paid_other);
    assert_int_equal(r->shortfall, s->shortfall);
    assert_int_equal(r->firing, s->firing);
    assert_int_equal(r->projects, s->projects);
    assert_int_equal(r->severity, s->severity);
    /* Rates of a sum come from the summed money. */
    assert_int_equal(r->rate_bp, (int32_t)((i128)s->paid * 10000 / s->budget));
    assert_int_equal(r->lag_bp, r->planned_bp - r->rate_bp);
    assert_int_equal(r->pace_bp, pace_bp);
}

/* ---- status ---- */

static void test_status_rows_add_up(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    pay_some(a);
    bw_view_status v;
    status_of(a, NULL, NULL, NULL, 0, &v);
    size_t np = fx_nprojects(a);
    assert_int_equal(v.nprojects, np);
    assert_int_equal(v.nunits, bw_plan_nunits(bw_engine_plan(a->engine)));
    assert_int_equal(v.at, FX_JAN1 + 100 * FX_DAY);
    assert_true(v.pace_bp > 2500 && v.pace_bp < 2800);     /* day 100 of 365 */
    assert_int_equal(v.total.pace_bp, v.pace_bp);

    sums all = { 0 }, units = { 0 };
    for (size_t i = 0; i < np; i++) {
        const bw_view_row *r = &v.projects[i];
        assert_string_equal(r->project, fx_code(a, (uint32_t)i));
        assert_int_equal(r->projects, 1);
        assert_int_equal(r->pace_bp, v.pace_bp);
        assert_int_equal(r->lag_bp, r->planned_bp - r->rate_bp);
        const bw_project_state *st = bw_engine_state(a->engine, (uint32_t)i);
        assert_int_equal(r->paid_fiscal, st->paid_fiscal);
        assert_int_equal(r->paid_other, st->paid_other);
        add_row(&all, r);
    }
    assert_true(all.paid > 0 && all.other > 0 && all.firing > 0);
    for (size_t u = 0; u < v.nunits; u++) {
        const bw_view_row *ur = &v.units[u];
        assert_string_equal(ur->project, "");
        assert_string_equal(ur->project_name, "");
        assert_true(ur->unit_name[0] != '\0');
        sums mine = { 0 };
        for (size_t i = 0; i < np; i++)
            if (strcmp(v.projects[i].unit, ur->unit) == 0)
                add_row(&mine, &v.projects[i]);
        assert_true(mine.projects > 0);
        assert_row_is_sum(ur, &mine, v.pace_bp);
        add_row(&units, ur);

        /* The same unit asked for alone. */
        bw_view_status one;
        status_of(a, ur->unit, NULL, NULL, 0, &one);
        assert_int_equal(one.nunits, 1);
        assert_int_equal(one.nprojects, mine.projects);
        const bw_view_row *o1 = &one.units[0];
        assert_string_equal(o1->unit, ur->unit);
        assert_int_equal(o1->budget, ur->budget);
        assert_int_equal(o1->paid, ur->paid);
        assert_int_equal(o1->shortfall, ur->shortfall);
        assert_int_equal(o1->lag_bp, ur->lag_bp);
        assert_int_equal(o1->firing, ur->firing);
        assert_int_equal(o1->projects, ur->projects);
        for (size_t i = 0; i < one.nprojects; i++)
            assert_string_equal(one.projects[i].unit, ur->unit);
        bw_view_status_free(&one);
    }
    assert_row_is_sum(&v.total, &all, v.pace_bp);
    assert_row_is_sum(&v.total, &units, v.pace_bp);
    assert_string_equal(v.total.unit, "");
    assert_string_equal(v.total.project, "");
    bw_view_status_free(&v);
    assert_null(v.projects);
    assert_null(v.units);
}

static void test_rank_orders(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    pay_some(a);
    size_t np = fx_nprojects(a);
    bw_view_status plan;
    status_of(a, NULL, NULL, NULL, 0, &plan);

    const char *sorts[] = { "lag", "shortfall" };
    for (int k = 0; k < 2; k++) {
        bw_view_status v;
        status_of(a, NULL, NULL, sorts[k], 0, &v);
        assert_int_equal(v.nprojects, np);
        bool seen[64] = { false }, differ = false;
        for (size_t i = 0; i < np; i++) {
            uint32_t ix = fx_project(a, v.projects[i].project);
            assert_false(seen[ix]);         /* each project once */
            seen[ix] = true;
            /* The row is the project's own, whatever its place. */
            assert_int_equal(v.projects[i].paid, plan.projects[ix].paid);
            if (i == 0)
                continue;
            const bw_view_row *x = &v.projects[i - 1], *y = &v.projects[i];
            int64_t kx = k ? x->shortfall : x->lag_bp, ky = k ? y->shortfall : y->lag_bp;
            if (kx < ky)
                fail_msg("sort %s: %s (%" PRId64 ") before %s (%" PRId64 ")", sorts[k], x->project,
                         kx, y->project, ky);
            /* Ties in plan order. */
            if (kx == ky)
                assert_true(fx_project(a, x->project) < fx_project(a, y->project));
            differ |= kx != ky;
        }
        assert_true(differ);

        /* A limit keeps the worst; a unit keeps its own, in the same order. */
        bw_view_status top;
        status_of(a, NULL, NULL, sorts[k], 4, &top);
        assert_int_equal(top.nprojects, 4);
        for (size_t i = 0; i < 4; i++)
            assert_string_equal(top.projects[i].project, v.projects[i].project);
        bw_view_status_free(&top);
        const char *unit = fx_unit_of(a, 0);
        bw_view_status mine;
        status_of(a, unit, NULL, sorts[k], 0, &mine);
        size_t j = 0;
        for (size_t i = 0; i < np; i++)
            if (strcmp(v.projects[i].unit, unit) == 0) {
                assert_true(j < mine.nprojects);
                assert_string_equal(mine.projects[j++].project, v.projects[i].project);
            }
        assert_int_equal(j, mine.nprojects);
        bw_view_status_free(&mine);
        bw_view_status_free(&v);
    }

    bw_view_status code;
    status_of(a, NULL, NULL, "code", 0, &code);
    for (size_t i = 1; i < code.nprojects; i++)
        assert_true(strcmp(code.projects[i - 1].project, code.projects[i].project) < 0);
    bw_view_status_free(&code);
    bw_view_status one;
    status_of(a, NULL, fx_code(a, 7), "lag", 0, &one);
    assert_int_equal(one.nprojects, 1);
    assert_string_equal(one.projects[0].project, fx_code(a, 7));
    assert_int_equal(one.nunits, 1);
    assert_string_equal(one.units[0].unit, fx_unit_of(a, 7));
    bw_view_status_free(&one);

    bw_status_query bad = { .unit = "nope" };
    bw_err err;
    bw_view_status v;
    assert_int_equal(bw_views_status(a, &bad, &v, &err), -1);
    assert_non_null(strstr(err.msg, "unknown unit \"nope\""));
    bw_view_status_free(&plan);
}

/* ---- stats ---- */

static void test_stats_view_counts(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    const char *sends[][2] = {      /* id, project ("" = a plan project) */
        { "a", "" }, { "b", "" }, { "a", "" }, { "c", "NOPE" }, { "d", "" }, { "a", "" },
    };
    for (size_t i = 0; i < sizeof sends / sizeof sends[0]; i++) {
        bw_event ev = fx_event("bank-1", sends[i][0],
                               sends[i][1][0] ? sends[i][1] : fx_code(a, 2), 100, FX_JAN1 + 5);
        ev.has_seq = true;
        ev.seq = i + 1;
        assert_int_equal(fx_send(a, &ev, &ack), BW_STEP_OK);
    }
    bw_event other = fx_event("bank-2", "z", fx_code(a, 2), 100, FX_JAN1 - 5);    /* out of year */
    assert_int_equal(fx_send(a, &other, &ack), BW_STEP_OK);
    fx_commit(a);
    /* An alert not yet committed does not count in alert_seq. */
    bw_alert_msg m;
    memset(&m, 0, sizeof m);
    m.kind = BW_KIND_SOURCE_GAP;
    snprintf(m.src, sizeof m.src, "x");
    uint64_t committed = bw_batch_committed_seq(a->batch);
    fx_begin(a);
    assert_int_equal(bw_publish_queue(a, &m), BW_STEP_OK);

    bw_view_stats v;
    bw_views_stats(a, &v);
    assert_int_equal(v.accepted, 3);
    assert_int_equal(v.duplicates, 2);
    assert_int_equal(v.nrejected, BW_REJ_COUNT);
    for (int i = 0; i < BW_REJ_COUNT; i++) {
        assert_string_equal(v.rejected[i].name, bw_reject_class_name(i));
        uint64_t want = i == BW_REJ_UNKNOWN_PROJECT || i == BW_REJ_OUT_OF_YEAR ? 1 : 0;
        assert_int_equal(v.rejected[i].n, want);
    }
    assert_int_equal(v.events_in_ledger, 3);
    assert_int_equal(v.dead_letters_pending, 2);
    assert_int_equal(v.dead_letters_dropped, 0);
    assert_int_equal(v.projects, fx_nprojects(a));
    assert_int_equal(v.sources, 1);             /* bank-2 sent no seq */
    assert_int_equal(v.alert_seq, committed);
    assert_int_equal(v.batches, a->stats.batches);
    assert_int_equal(v.nauth, BW_DOM_COUNT);
    static const char *const domains[] = { "ingest", "control", "alerts" };
    for (size_t i = 0; i < v.nauth; i++) {
        assert_string_equal(v.auth_denied[i].name, domains[i]);
        assert_int_equal(v.auth_denied[i].n, 0);
    }
    assert_true(v.uptime >= 0 && v.uptime < 3600);
    fx_commit(a);
    bw_views_stats(a, &v);
    assert_int_equal(v.alert_seq, committed + 1);
}

/* ---- alerts and history ---- */

static void test_alerts_and_history(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    a->cfg.repeat_interval = 0;     /* no daily reminders: a log that fits in fx_alerts */
    fx_reopen(f);
    pay_some(a);
    fx_alerts log;
    fx_alerts_after(a->store, 0, &log);
    assert_true(log.n > 3 && log.n <= sizeof log.m / sizeof log.m[0]);

    bw_view_alerts v;
    assert_int_equal(bw_views_alerts(a, &v, &err), 0);
    assert_true(v.n > 0);
    assert_int_equal(v.seq, bw_batch_published_seq(a->batch));
    for (size_t i = 0; i < v.n; i++) {
        bw_alert_msg mm;
        bw_view_alerts_get(&v, i, &mm);
        const bw_alert_msg *m = &mm;
        assert_true(m->state == BW_STATE_FIRING || m->state == BW_STATE_ACKNOWLEDGED);
        uint64_t last = 0;
        for (size_t k = 0; k < log.n; k++)
            if (log.m[k].kind == m->kind && strcmp(log.m[k].project, m->project) == 0)
                last = log.m[k].seq;
        if (m->seq != last || last == 0)
            fail_msg("active %s alert of %s: seq %" PRIu64 ", its last message in the log %" PRIu64,
                     bw_kind_name(m->kind), m->project, m->seq, last);
        bw_alert al;
        assert_true(bw_engine_active(a->engine, fx_project(a, m->project), (bw_alert_kind)m->kind, &al));
    }
    bw_view_alerts_free(&v);
    bw_batch_published(a->batch, bw_batch_committed_seq(a->batch));
    assert_int_equal(bw_views_alerts(a, &v, &err), 0);
    assert_int_equal(v.seq, bw_batch_committed_seq(a->batch));
    bw_view_alerts_free(&v);

    /* History: the newest `limit`, oldest first, and whether older ones match. */
    bw_history_filter h = { .limit = 3 };
    assert_int_equal(bw_views_history(a, &h, &v, &err), 0);
    assert_int_equal(v.n, 3);
    assert_true(v.truncated);
    for (size_t i = 0; i < 3; i++) {
        bw_alert_msg got;
        bw_view_alerts_get(&v, i, &got);
        assert_int_equal(got.seq, log.m[log.n - 3 + i].seq);
    }
    bw_view_alerts_free(&v);
    h.limit = 0;
    assert_int_equal(bw_views_history(a, &h, &v, &err), 0);
    assert_int_equal(v.n, log.n);
    assert_false(v.truncated);
    bw_view_alerts_free(&v);
    h.limit = (uint32_t)log.n;
    assert_int_equal(bw_views_history(a, &h, &v, &err), 0);
    assert_int_equal(v.n, log.n);
    assert_false(v.truncated);      /* exactly all: nothing older left out */
    bw_view_alerts_free(&v);
    /* after_seq: the OLDEST `limit` after it; truncated while newer ones remain,
     * and reading on from the last seq got walks the whole log once. */
    bw_history_filter ha = { NULL, NULL, false, 0, false, 0, 2, true, log.m[0].seq };
    size_t walked = 1;
    for (;;) {
        assert_int_equal(bw_views_history(a, &ha, &v, &err), 0);
        for (size_t i = 0; i < v.n; i++) {
            bw_alert_msg got;
            bw_view_alerts_get(&v, i, &got);
            assert_int_equal(got.seq, log.m[walked + i].seq);
        }
        walked += v.n;
        bool more = v.truncated;
        assert_int_equal(more, walked < log.n);
        if (v.n) {
            bw_alert_msg last;
            bw_view_alerts_get(&v, v.n - 1, &last);
            ha.after_seq = last.seq;
        }
        bw_view_alerts_free(&v);
        if (!more)
            break;
    }
    assert_int_equal(walked, log.n);
    const char *p = log.m[0].project;
    size_t mine = 0;
    for (size_t k = 0; k < log.n; k++)
        mine += strcmp(log.m[k].project, p) == 0;
    bw_history_filter hp = { .project = p };
    assert_int_equal(bw_views_history(a, &hp, &v, &err), 0);
    assert_int_equal(v.n, mine);
    for (size_t i = 0; i < v.n; i++) {
        bw_alert_msg got;
        bw_view_alerts_get(&v, i, &got);
        assert_string_equal(got.project, p);
    }
    bw_view_alerts_free(&v);
}

/* ---- encoders ---- */

static const msgpack_object *unpack(const msgpack_sbuffer *sb, msgpack_unpacked *u)
{
    return fx_reply(sb, u);     /* one map, nothing after it */
}

static void assert_rows(const msgpack_object *arr, size_t n)
{
    assert_int_equal(arr->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(arr->via.array.size, n);
    for (size_t i = 0; i < n; i++)
        fx_assert_keys(&arr->via.array.ptr[i], row_keys, NROW_KEYS);
}

static void test_encoders_count_their_keys(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    pay_some(a);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    const msgpack_object *o;
    bw_mapw m;
    msgpack_sbuffer_init(&sb);

    /* An empty map, and maps inside maps. */
    bw_mapw_begin(&m, &sb);
    bw_mapw_end(&m);
    o = unpack(&sb, &u);
    fx_assert_keys(o, NULL, 0);
    msgpack_unpacked_destroy(&u);
    sb.size = 0;
    bw_mapw_begin(&m, &sb);
    bw_mapw_str(&m, "s", "x");
    bw_mapw inner;
    bw_mapw_key(&m, "in");
    bw_mapw_begin(&inner, &sb);
    for (int i = 0; i < 40; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        bw_mapw_int(&inner, k, -i);
    }
    bw_mapw_end(&inner);
    bw_mapw_bool(&m, "b", false);
    bw_mapw_uint(&m, "u", UINT64_MAX);
    bw_mapw_end(&m);
    o = unpack(&sb, &u);
    static const char *const outer[] = { "s", "in", "b", "u" };
    fx_assert_keys(o, outer, 4);
    assert_int_equal(bw_map_get(o, "in")->via.map.size, 40);
    uint64_t big;
    assert_true(bw_map_get_uint(o, "u", &big));
    assert_int_equal(big, UINT64_MAX);
    msgpack_unpacked_destroy(&u);

    /* status */
    bw_view_status st;
    status_of(a, NULL, NULL, "lag", 0, &st);
    sb.size = 0;
    bw_mapw_begin(&m, &sb);
    bw_view_status_put(&m, &st);
    bw_mapw_end(&m);
    o = unpack(&sb, &u);
    static const char *const status_keys[] = { "at", "pace_bp", "projects", "units", "total",
                                               "matched" };
    fx_assert_keys(o, status_keys, 6);
    assert_rows(bw_map_get(o, "projects"), st.nprojects);
    assert_rows(bw_map_get(o, "units"), st.nunits);
    fx_assert_keys(bw_map_get(o, "total"), row_keys, NROW_KEYS);
    bw_status_row row;
    char why[BW_WHY_MAX];
    assert_int_equal(bw_status_row_from_object(bw_map_get(o, "total"), &row, why, sizeof why), 0);
    assert_int_equal(row.paid, st.total.paid);
    assert_int_equal(row.severity, st.total.severity);
    assert_int_equal(bw_status_row_from_object(&bw_map_get(o, "projects")->via.array.ptr[0], &row,
                                               why, sizeof why), 0);
    assert_string_equal(row.project, st.projects[0].project);
    assert_string_equal(row.project_name, st.projects[0].project_name);
    assert_int_equal(row.lag_bp, st.projects[0].lag_bp);
    msgpack_unpacked_destroy(&u);
    bw_view_status_free(&st);

    /* stats */
    bw_view_stats vs;
    bw_views_stats(a, &vs);
    sb.size = 0;
    bw_mapw_begin(&m, &sb);
    bw_mapw_bool(&m, "ok", true);
    bw_view_stats_put(&m, &vs);
    bw_mapw_end(&m);
    o = unpack(&sb, &u);
    static const char *const stats_keys[] = {
        "ok", "accepted", "duplicates", "rejected", "gaps", "restarts", "batches", "uptime",
        "events_in_ledger", "dead_letters_pending", "dead_letters_dropped", "integrity_checks",
        "integrity_failures", "projects", "alert_seq", "bad_frames", "sources", "auth_denied",
        "control_denied", "control_requests", "control_errors", "commit_latency_buckets",
        "commit_latency_counts", "commit_latency_sum_us", "commit_latency_count", "wal_bytes",
        "alerts_active",
    };
    fx_assert_keys(o, stats_keys, sizeof stats_keys / sizeof stats_keys[0]);
    assert_int_equal(bw_map_get(o, "rejected")->via.map.size, vs.nrejected);
    assert_int_equal(bw_map_get(o, "auth_denied")->via.map.size, vs.nauth);
    uint64_t acc;
    assert_true(bw_map_get_uint(o, "accepted", &acc));
    assert_int_equal(acc, vs.accepted);
    msgpack_unpacked_destroy(&u);

    /* alerts and history */
    bw_view_alerts va;
    assert_int_equal(bw_views_alerts(a, &va, &err), 0);
    assert_true(va.n > 0);
    for (int hist = 0; hist < 2; hist++) {
        sb.size = 0;
        bw_mapw_begin(&m, &sb);
        if (hist)
            bw_view_history_put(&m, &va);
        else
            bw_view_alerts_put(&m, &va);
        bw_mapw_end(&m);
        o = unpack(&sb, &u);
        static const char *const alerts_keys[] = { "seq", "alerts" }, *const hist_keys[] = {
            "truncated", "alerts" };
        fx_assert_keys(o, hist ? hist_keys : alerts_keys, 2);
        const msgpack_object *list = bw_map_get(o, "alerts");
        assert_int_equal(list->type, MSGPACK_OBJECT_ARRAY);
        assert_int_equal(list->via.array.size, va.n);
        for (size_t i = 0; i < va.n; i++) {
            bw_alert_msg back, want;
            assert_int_equal(bw_alert_from_object(&list->via.array.ptr[i], &back, why, sizeof why), 0);
            bw_view_alerts_get(&va, i, &want);
            assert_int_equal(back.seq, want.seq);
            assert_string_equal(back.project, want.project);
            assert_int_equal(back.kind, want.kind);
        }
        msgpack_unpacked_destroy(&u);
    }
    bw_view_alerts_free(&va);

    /* verify, with problems and differences made up */
    char d1[] = "page 7: btree damaged", d2[] = "row 3 missing from index";
    char *damage[] = { d1, d2 };
    bw_view_difference diff[] = { { "P1", 1, 2, 3, 4 }, { "P2", 5, 6, 7, 8 } };
    bw_view_verify vv = { true, 0, 2, 2, damage, diff, 0 };
    sb.size = 0;
    bw_mapw_begin(&m, &sb);
    bw_view_verify_put(&m, &vv);
    bw_mapw_end(&m);
    o = unpack(&sb, &u);
    static const char *const verify_keys[] = { "consistent", "damaged", "damage", "checked",
                                               "differences", "daily_differences" };
    fx_assert_keys(o, verify_keys, 6);
    bool b = true;
    assert_true(bw_map_get_bool(o, "consistent", &b));
    assert_false(b);
    assert_int_equal(bw_map_get(o, "damage")->via.array.size, 2);
    const msgpack_object *ds = bw_map_get(o, "differences");
    assert_int_equal(ds->via.array.size, 2);
    static const char *const diff_keys[] = { "project", "saved_fiscal", "saved_other",
                                             "ledger_fiscal", "ledger_other" };
    for (size_t i = 0; i < 2; i++) {
        fx_assert_keys(&ds->via.array.ptr[i], diff_keys, 5);
        int64_t lo;
        assert_true(bw_map_get_int(&ds->via.array.ptr[i], "ledger_other", &lo));
        assert_int_equal(lo, diff[i].ledger_other);
    }
    msgpack_unpacked_destroy(&u);
    /* and a real one */
    fx_commit_quiet(a);
    assert_int_equal(bw_views_verify(a, &vv, &err), 0);
    assert_false(vv.damaged);
    assert_int_equal(vv.ndiff, 0);
    assert_true(vv.checked > 0);
    sb.size = 0;
    bw_mapw_begin(&m, &sb);
    bw_view_verify_put(&m, &vv);
    bw_mapw_end(&m);
    o = unpack(&sb, &u);
    fx_assert_keys(o, verify_keys, 6);
    assert_true(bw_map_get_bool(o, "consistent", &b));
    assert_true(b);
    assert_int_equal(vv.daily_differences, 0);
    msgpack_unpacked_destroy(&u);
    bw_view_verify_free(&vv);

    /* One row on its own. */
    bw_view_row r;
    bw_views_project_row(a, 3, &r);
    sb.size = 0;
    bw_view_row_pack(&sb, &r);
    o = unpack(&sb, &u);
    fx_assert_keys(o, row_keys, NROW_KEYS);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_status_rows_add_up),
        T(test_rank_orders),
        T(test_stats_view_counts),
        T(test_alerts_and_history),
        T(test_encoders_count_their_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
