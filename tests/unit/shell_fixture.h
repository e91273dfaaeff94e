/* shell_fixture: what the shell's unit tests share (test_batch, test_ingest,
 * test_control, test_views) — a bw_app over a real ledger in a temporary
 * directory, without sockets, on the Zunhua 2022 plan with clock = event (as
 * the integration harness runs the daemon), and the loop's few steps around
 * the handlers: add an ack after an event, commit (evaluate, then commit),
 * commit quiet. Include after <cmocka.h>. */
#ifndef BW_SHELL_FIXTURE_H
#define BW_SHELL_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "batch.h"
#include "daemon.h"
#include "ingest.h"
#include "proto.h"
#include "publish.h"
#include "store.h"

#define FX_JAN1 1640966400LL            /* 2022-01-01 00:00 +08:00 */
#define FX_DAY 86400LL
#define FX_YEAR_END (FX_JAN1 + 365 * FX_DAY)

typedef struct shell_fx {
    char dir[64];
    bw_app app;
} shell_fx;

/* The configuration the integration tests use, in dir. */
static inline void fx_config(bw_config *c, const char *dir)
{
    bw_config_defaults(c);
    snprintf(c->plan, sizeof c->plan, "%s/examples/zunhua-2022/plan.csv", BW_SOURCE_DIR);
    snprintf(c->state_dir, sizeof c->state_dir, "%s", dir);
    snprintf(c->runtime_dir, sizeof c->runtime_dir, "%s", dir);
    c->clock = BW_CLOCK_EVENT;
    c->sync_full = false;       /* a test's ledger need not survive a power cut */
}

/* Opens the app over f->app.cfg, the rest zeroed. */
static inline void fx_open(shell_fx *f)
{
    bw_config cfg = f->app.cfg;
    bw_err err;
    memset(&f->app, 0, sizeof f->app);
    f->app.cfg = cfg;
    err.msg[0] = '\0';
    int rc = bw_app_open(&f->app, &err);
    if (rc != 0) {
        bw_app_close(&f->app);
        fail_msg("bw_app_open: %d: %s", rc, err.msg);
    }
}

static inline void fx_close(shell_fx *f)
{
    if (f->app.batch != NULL && bw_batch_is_open(f->app.batch))
        bw_batch_rollback(f->app.batch, f->app.store);
    bw_app_close(&f->app);
}

/* What a restart does: everything in memory is gone, the ledger stays. */
static inline void fx_reopen(shell_fx *f)
{
    fx_close(f);
    fx_open(f);
}

static inline shell_fx *fx_new(void)
{
    shell_fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bw-test-shell.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fx_config(&f->app.cfg, f->dir);
    return f;
}

static inline void fx_free(shell_fx *f)
{
    fx_close(f);
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
}

static inline int fx_setup(void **state)
{
    shell_fx *f = fx_new();
    fx_open(f);
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* ---- the loop's steps ---- */

static inline void fx_begin(bw_app *a)
{
    bw_err err;
    if (bw_batch_begin(a->batch, a->store, &err))
        fail_msg("bw_batch_begin: %s", err.msg);
}

/* The loop's commit(): evaluate what changed, commit, then the acks go out. */
static inline void fx_commit(bw_app *a)
{
    bw_err err;
    if (!bw_batch_is_open(a->batch))
        return;
    (void)bw_publish_evaluate(a);
    if (bw_batch_commit(a->batch, a, &err))
        fail_msg("bw_batch_commit: %s", err.msg);
    bw_batch_clear_acks(a->batch);
}

/* The loop's commit_quiet(): every queued row written, nothing left open. */
static inline void fx_commit_quiet(bw_app *a)
{
    fx_begin(a);
    bw_batch_save_all_totals(a->batch);
    fx_commit(a);
}

/* An event to send: a fiscal disbursement unless changed. */
static inline bw_event fx_event(const char *src, const char *id, const char *project,
                                int64_t amount, int64_t ts)
{
    bw_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = BW_EV_DISBURSEMENT;
    ev.fund = BW_FUND_FISCAL;
    ev.amount = amount;
    ev.ts = ts;
    snprintf(ev.src, sizeof ev.src, "%s", src);
    snprintf(ev.id, sizeof ev.id, "%s", id);
    snprintf(ev.project, sizeof ev.project, "%s", project);
    return ev;
}

/* One message as the ROUTER path handles it (loop.c route_one): into the
 * open batch (begun here, as the loop does), its ack owed; a FULL batch is
 * committed. Returns what ingest said. */
static inline bw_step fx_send_raw(bw_app *a, const void *raw, size_t len, bw_ack *ack)
{
    fx_begin(a);
    memset(ack, 0, sizeof *ack);
    bw_step st = bw_ingest_event(a, raw, len, NULL, ack, false);
    if (st == BW_STEP_FATAL)
        return st;
    if (bw_batch_add_ack(a->batch, "peer", 4, ack) == BW_STEP_FULL)
        fx_commit(a);
    return st;
}

static inline bw_step fx_send(bw_app *a, const bw_event *ev, bw_ack *ack)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(bw_event_encode(ev, &sb), 0);
    bw_step st = fx_send_raw(a, sb.data, sb.size, ack);
    msgpack_sbuffer_destroy(&sb);
    return st;
}

/* The plan index of a project code, which must be in the plan. */
static inline uint32_t fx_project(const bw_app *a, const char *code)
{
    int64_t ix = bw_plan_find_project(bw_engine_plan(a->engine), code, strlen(code));
    if (ix < 0)
        fail_msg("project %s is not in the plan", code);
    return (uint32_t)ix;
}

static inline const char *fx_code(const bw_app *a, uint32_t ix)
{
    return bw_plan_project(bw_engine_plan(a->engine), ix)->code;
}

static inline const char *fx_unit_of(const bw_app *a, uint32_t ix)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    return bw_plan_unit(p, bw_plan_project(p, ix)->unit)->code;
}

static inline size_t fx_nprojects(const bw_app *a)
{
    return bw_plan_nprojects(bw_engine_plan(a->engine));
}

/* ---- reading the ledger back ---- */

typedef struct fx_alerts {
    bw_alert_msg m[256];
    size_t n;
} fx_alerts;

static inline int fx_alert_row(void *ctx, const bw_alert_msg *m)
{
    fx_alerts *r = ctx;
    if (r->n < sizeof r->m / sizeof r->m[0])
        r->m[r->n] = *m;
    r->n++;
    return 0;
}

/* The alert log after seq `after`, through store s (count in r->n). */
static inline void fx_alerts_after(bw_store *s, uint64_t after, fx_alerts *r)
{
    bw_err err;
    r->n = 0;
    if (bw_store_alerts_after(s, after, fx_alert_row, r, &err))
        fail_msg("bw_store_alerts_after: %s", err.msg);
    if (r->n > sizeof r->m / sizeof r->m[0])
        fail_msg("the alert log holds %zu alerts after #%llu, more than fx_alerts keeps", r->n,
                 (unsigned long long)after);
}

/* A second connection to the ledger, as an auditor reads it: it sees only
 * what is committed. */
static inline bw_store *fx_auditor(const shell_fx *f)
{
    char path[128];
    bw_err err;
    snprintf(path, sizeof path, "%s/ledger.db", f->dir);
    bw_store *s = bw_store_open(path, false, &err);
    if (s == NULL)
        fail_msg("bw_store_open (auditor): %s", err.msg);
    return s;
}

/* ---- replies ---- */

/* A reply's map, which must be valid msgpack with nothing after it. */
static inline const msgpack_object *fx_reply(const msgpack_sbuffer *sb, msgpack_unpacked *u)
{
    char why[128];
    const msgpack_object *o = bw_reply_unpack(sb->data, sb->size, u, why, sizeof why);
    if (o == NULL)
        fail_msg("reply: %s", why);
    return o;
}

/* Asserts that map m has exactly the n keys, each once, and nothing else. */
static inline void fx_assert_keys(const msgpack_object *m, const char *const *keys, size_t n)
{
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    if (m->via.map.size != n)
        fail_msg("the map has %u keys, %zu expected", m->via.map.size, n);
    for (size_t i = 0; i < n; i++) {
        size_t seen = 0;
        for (uint32_t j = 0; j < m->via.map.size; j++) {
            const msgpack_object *k = &m->via.map.ptr[j].key;
            assert_int_equal(k->type, MSGPACK_OBJECT_STR);
            if (k->via.str.size == strlen(keys[i]) &&
                memcmp(k->via.str.ptr, keys[i], k->via.str.size) == 0)
                seen++;
        }
        if (seen != 1)
            fail_msg("key \"%s\" is in the map %zu times", keys[i], seen);
    }
}

#endif
