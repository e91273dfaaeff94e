/* test_ingest: one event message from decode to the batch and the engine,
 * over a bw_app on a real ledger — accepted, duplicate, each rejection with
 * its ack, its stats class and its dead letter, source gaps, and a seeded
 * random stream checked against a model of the rules, across commits and
 * restarts (BW_TEST_SEED=n repeats a run). */
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

#include "shell_fixture.h"
#include "views.h"

/* ---- helpers ---- */

static bw_step send_ev(bw_app *a, const bw_event *ev, bw_ack *ack)
{
    return fx_send(a, ev, ack);
}

static uint64_t rejected_total(const bw_app *a)
{
    uint64_t n = 0;
    for (int i = 0; i < BW_REJ_COUNT; i++)
        n += a->stats.rejected[i];
    return n;
}

typedef struct dead {
    char reason[BW_TEXT_MAX + 1];
    unsigned char raw[512];
    size_t len;
    bool has_peer;
} dead;

typedef struct deads {
    dead d[64];
    size_t n;
} deads;

static int read_dead(void *ctx, int64_t id, const void *raw, size_t len, const char *reason,
                     const char *peer)
{
    deads *ds = ctx;
    (void)id;
    assert_true(ds->n < sizeof ds->d / sizeof ds->d[0]);
    dead *d = &ds->d[ds->n++];
    snprintf(d->reason, sizeof d->reason, "%s", reason);
    d->len = len < sizeof d->raw ? len : sizeof d->raw;
    memcpy(d->raw, raw, d->len);
    d->has_peer = peer != NULL;
    return 0;
}

static void read_deads(bw_store *s, deads *ds)
{
    bw_err err;
    memset(ds, 0, sizeof *ds);
    if (bw_store_rejects_each(s, 0, read_dead, ds, &err))
        fail_msg("bw_store_rejects_each: %s", err.msg);
}

/* Two projects of different units. */
static void two_units(const bw_app *a, uint32_t *p, uint32_t *q)
{
    *p = 0;
    for (uint32_t i = 1; i < fx_nprojects(a); i++)
        if (strcmp(fx_unit_of(a, i), fx_unit_of(a, 0)) != 0) {
            *q = i;
            return;
        }
    fail_msg("the plan has one unit only");
}

/* ---- accepted and duplicate ---- */

static void test_accepted(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    bw_err err;
    bw_event ev = fx_event("bank", "pay-1", fx_code(a, 2), 123456, FX_JAN1 + 3 * FX_DAY);
    ev.fund = BW_FUND_OTHER;
    snprintf(ev.unit, sizeof ev.unit, "%s", fx_unit_of(a, 2));   /* the right unit is fine */
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    assert_string_equal(ack.src, "bank");
    assert_string_equal(ack.id, "pay-1");
    assert_string_equal(ack.reason, "");
    assert_int_equal(a->stats.accepted, 1);
    assert_int_equal(rejected_total(a), 0);
    assert_int_equal(bw_engine_state(a->engine, 2)->paid_other, 123456);
    assert_int_equal(bw_engine_state(a->engine, 2)->paid_fiscal, 0);
    /* The event clock follows the payment. */
    assert_int_equal(bw_engine_now(a->engine), FX_JAN1 + 3 * FX_DAY);
    fx_commit(a);
    bw_event got;
    assert_int_equal(bw_store_event_get(a->store, "bank", "pay-1", &got, &err), 1);
    assert_int_equal(got.amount, 123456);
    assert_int_equal(got.fund, BW_FUND_OTHER);
    assert_string_equal(got.project, fx_code(a, 2));
}

static void test_duplicate(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    bw_err err;
    bw_event ev = fx_event("bank", "pay-1", fx_code(a, 0), 5000, FX_JAN1 + 60);
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    /* Again in the same batch, and again after its commit. */
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_DUPLICATE);
    assert_string_equal(ack.src, "bank");
    assert_string_equal(ack.id, "pay-1");
    assert_string_equal(ack.reason, "");
    fx_commit(a);
    /* Same (src, id) with another amount: still the same event. */
    ev.amount = 7000;
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_DUPLICATE);
    /* The same id from another source is another event. */
    snprintf(ev.src, sizeof ev.src, "other-bank");
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    fx_commit(a);
    assert_int_equal(a->stats.accepted, 2);
    assert_int_equal(a->stats.duplicates, 2);
    assert_int_equal(rejected_total(a), 0);
    assert_int_equal(bw_engine_state(a->engine, 0)->paid_fiscal, 5000 + 7000);
    assert_int_equal(bw_store_event_count(a->store, &err), 2);
    /* And after a restart. */
    fx_reopen(f);
    ev.amount = 7000;
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_DUPLICATE);
    assert_int_equal(a->stats.duplicates, 1);
    assert_int_equal(bw_engine_state(a->engine, 0)->paid_fiscal, 5000 + 7000);
    fx_commit(a);
}

/* ---- rejections ---- */

typedef struct reject_case {
    const char *what;
    bw_event ev;
    const void *raw;            /* sent as is instead of ev when set */
    size_t rawlen;
    const char *peer;
    bw_reject_class cls;
    const char *src, *id;       /* what the ack names */
    const char *reason;         /* a part of the reason */
} reject_case;

static void test_rejections(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    bw_ack ack;
    uint32_t p = 0, q = 0;
    two_units(a, &p, &q);
    const char *P = fx_code(a, p), *Q = fx_code(a, q);
    const int64_t t = FX_JAN1 + 10 * FX_DAY;

    /* What the refunds and the overflow refer to: d1 paid 500 to P, big
     * filled Q's fiscal bucket so that the department's paid total is 5 fen
     * short of the largest amount (every subtotal must stay representable). */
    bw_event d1 = fx_event("bank", "d1", P, 500, t);
    bw_event big = fx_event("bank", "big", Q, INT64_MAX - 505, t);
    assert_int_equal(send_ev(a, &d1, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    assert_int_equal(send_ev(a, &big, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    fx_commit(a);

    static const char garbage[] = { (char)0xc1, 'x', 'y' };
    /* A map with src and id but no amount: the ack still names the event. */
    msgpack_sbuffer noamount;
    msgpack_sbuffer_init(&noamount);
    {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &noamount, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 6);
        bw_pack_kv_uint(&pk, "v", 1);
        bw_pack_kv_str(&pk, "type", "disbursement");
        bw_pack_kv_str(&pk, "src", "bank");
        bw_pack_kv_str(&pk, "id", "m2");
        bw_pack_kv_str(&pk, "project", P);
        bw_pack_kv_int(&pk, "ts", t);
    }

    reject_case cases[] = {
        { "unknown project", fx_event("bank", "u1", "NO-SUCH-PROJECT", 100, t), NULL, 0, NULL,
          BW_REJ_UNKNOWN_PROJECT, "bank", "u1", "unknown project \"NO-SUCH-PROJECT\"" },
        { "unit mismatch", fx_event("bank", "u2", P, 100, t), NULL, 0, NULL,
          BW_REJ_UNIT_MISMATCH, "bank", "u2", "does not match the plan" },
        { "before the year", fx_event("bank", "y1", P, 100, FX_JAN1 - 1), NULL, 0, NULL,
          BW_REJ_OUT_OF_YEAR, "bank", "y1", "outside fiscal year 2022" },
        { "at the year's end", fx_event("bank", "y2", P, 100, FX_YEAR_END), NULL, 0, NULL,
          BW_REJ_OUT_OF_YEAR, "bank", "y2", "outside fiscal year 2022" },
        { "refund past zero", fx_event("bank", "r1", P, 501, t), NULL, 0, NULL,
          BW_REJ_BAD_REFUND, "bank", "r1", "below zero" },
        { "refund of other funds never paid", fx_event("bank", "r2", P, 1, t), NULL, 0, NULL,
          BW_REJ_BAD_REFUND, "bank", "r2", "below zero" },
        { "refund of an unknown ref", fx_event("bank", "r3", P, 10, t), NULL, 0, NULL,
          BW_REJ_BAD_REFUND, "bank", "r3", "not a disbursement from source \"bank\"" },
        { "refund of another source's ref", fx_event("bank-2", "r4", P, 10, t), NULL, 0, NULL,
          BW_REJ_BAD_REFUND, "bank-2", "r4", "not a disbursement from source \"bank-2\"" },
        { "refund beyond its original", fx_event("bank", "r5", P, 501, t), NULL, 0, NULL,
          BW_REJ_BAD_REFUND, "bank", "r5", "more than the 500 fen left of \"d1\"" },
        { "refund of another project's payment", fx_event("bank", "r6", Q, 10, t), NULL, 0, NULL,
          BW_REJ_BAD_REFUND, "bank", "r6", "its original \"d1\" paid project" },
        { "overflow of a fund", fx_event("bank", "o1", Q, 506, t), NULL, 0, NULL,
          BW_REJ_OVERFLOW, "bank", "o1", "would overflow" },
        { "overflow of the total", fx_event("bank", "o2", Q, 506, t), NULL, 0, NULL,
          BW_REJ_OVERFLOW, "bank", "o2", "would overflow" },
        { "not msgpack", { 0 }, garbage, sizeof garbage, NULL, BW_REJ_MALFORMED, "", "", "" },
        { "no amount", { 0 }, NULL, 0, NULL, BW_REJ_MALFORMED, "bank", "m2", "'amount'" },
        { "empty message", { 0 }, "", 0, NULL, BW_REJ_MALFORMED, "", "", "" },
        { "src not the key's", fx_event("bank", "k1", P, 100, t), NULL, 0, "mallory",
          BW_REJ_UNAUTHORIZED, "bank", "k1", "sent with the key of \"mallory\"" },
        { "key removed", fx_event("bank", "k2", P, 100, t), NULL, 0, "",
          BW_REJ_UNAUTHORIZED, "bank", "k2", "no longer authorized" },
        { "overflow of the department", fx_event("bank", "o3", P, 6, t), NULL, 0, NULL,
          BW_REJ_OVERFLOW, "bank", "o3", "the department's paid total" },
    };
    size_t n = sizeof cases / sizeof cases[0];
    /* The fields fx_event does not set. */
    snprintf(cases[1].ev.unit, sizeof cases[1].ev.unit, "%s", fx_unit_of(a, q));
    for (size_t i = 4; i <= 9; i++)
        cases[i].ev.type = BW_EV_REFUND;
    cases[5].ev.fund = BW_FUND_OTHER;
    snprintf(cases[6].ev.ref, sizeof cases[6].ev.ref, "nope");
    snprintf(cases[7].ev.ref, sizeof cases[7].ev.ref, "d1");
    snprintf(cases[8].ev.ref, sizeof cases[8].ev.ref, "d1");
    snprintf(cases[9].ev.ref, sizeof cases[9].ev.ref, "d1");
    cases[11].ev.fund = BW_FUND_OTHER;
    cases[13].raw = noamount.data;
    cases[13].rawlen = noamount.size;

    bw_stats before = a->stats;
    int64_t paid_p = bw_engine_state(a->engine, p)->paid_fiscal;
    int64_t paid_q = bw_engine_state(a->engine, q)->paid_fiscal;
    char reasons[sizeof cases / sizeof cases[0]][BW_TEXT_MAX + 1];
    msgpack_sbuffer raws[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < n; i++) {
        reject_case *c = &cases[i];
        msgpack_sbuffer_init(&raws[i]);
        if (c->raw == NULL)
            assert_int_equal(bw_event_encode(&c->ev, &raws[i]), 0);
        else if (c->rawlen > 0)
            msgpack_sbuffer_write(&raws[i], c->raw, c->rawlen);
        fx_begin(a);
        memset(&ack, 0, sizeof ack);
        uint64_t cls_before = a->stats.rejected[c->cls], all_before = rejected_total(a);
        assert_int_equal(bw_ingest_event(a, raws[i].data ? raws[i].data : "", raws[i].size,
                                         c->peer, &ack, false), BW_STEP_OK);
        if (ack.status != BW_ACK_REJECTED)
            fail_msg("%s: ack %s, not rejected", c->what, bw_ack_status_name(ack.status));
        if (strstr(ack.reason, c->reason) == NULL || ack.reason[0] == '\0')
            fail_msg("%s: the reason \"%s\" does not say \"%s\"", c->what, ack.reason, c->reason);
        if (strcmp(ack.src, c->src) != 0 || strcmp(ack.id, c->id) != 0)
            fail_msg("%s: the ack names (%s, %s), not (%s, %s)", c->what, ack.src, ack.id, c->src,
                     c->id);
        if (a->stats.rejected[c->cls] != cls_before + 1 || rejected_total(a) != all_before + 1)
            fail_msg("%s: stats.rejected.%s did not count it alone", c->what,
                     bw_reject_class_name(c->cls));
        snprintf(reasons[i], sizeof reasons[i], "%s", ack.reason);
    }
    fx_commit(a);
    assert_int_equal(a->stats.accepted, before.accepted);
    assert_int_equal(a->stats.duplicates, before.duplicates);
    assert_int_equal(a->stats.rejected[BW_REJ_BAD_REFUND], 6);
    /* Nothing of them is paid or in the events. */
    assert_int_equal(bw_engine_state(a->engine, p)->paid_fiscal, paid_p);
    assert_int_equal(bw_engine_state(a->engine, q)->paid_fiscal, paid_q);
    assert_int_equal(bw_engine_state(a->engine, p)->paid_other, 0);
    assert_int_equal(bw_engine_state(a->engine, q)->paid_other, 0);
    assert_int_equal(bw_store_event_count(a->store, &err), 2);
    assert_int_equal(bw_store_event_exists(a->store, "bank", "r5", &err), 0);
    assert_int_equal(bw_store_event_exists(a->store, "bank", "o1", &err), 0);

    /* Each is a dead letter, in order, with its bytes and its reason. */
    deads ds;
    read_deads(a->store, &ds);
    assert_int_equal(ds.n, n);
    assert_int_equal(bw_store_rejects_pending(a->store, &err), (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ds.d[i].reason, reasons[i]) != 0)
            fail_msg("%s: dead letter \"%s\", ack \"%s\"", cases[i].what, ds.d[i].reason, reasons[i]);
        assert_int_equal(ds.d[i].len, raws[i].size);
        if (raws[i].size)
            assert_memory_equal(ds.d[i].raw, raws[i].data, raws[i].size);
        assert_int_equal(ds.d[i].has_peer, cases[i].peer != NULL);
        msgpack_sbuffer_destroy(&raws[i]);
    }
    msgpack_sbuffer_destroy(&noamount);

    /* A refund within what is left is fine, and then the rest is less. */
    bw_event r = fx_event("bank", "r7", P, 300, t);
    r.type = BW_EV_REFUND;
    snprintf(r.ref, sizeof r.ref, "d1");
    assert_int_equal(send_ev(a, &r, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    snprintf(r.id, sizeof r.id, "r8");
    r.amount = 201;
    assert_int_equal(send_ev(a, &r, &ack), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_REJECTED);
    assert_non_null(strstr(ack.reason, "more than the 200 fen left"));
    fx_commit(a);
    assert_int_equal(bw_engine_state(a->engine, p)->paid_fiscal, 200);
}

/* Past max_dead_letters a rejection is answered and counted, not kept. */
static void test_dead_letters_bounded(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_err err;
    bw_ack ack;
    a->cfg.max_dead_letters = 2;
    fx_reopen(f);
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        bw_event ev = fx_event("bank", id, "NO-SUCH-PROJECT", 1, FX_JAN1 + 1);
        assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
        assert_int_equal(ack.status, BW_ACK_REJECTED);
        assert_int_equal(strstr(ack.reason, "not kept as a dead letter") != NULL, i >= 2);
    }
    fx_commit(a);
    assert_int_equal(a->stats.rejected[BW_REJ_UNKNOWN_PROJECT], 4);
    assert_int_equal(a->stats.dead_letters_dropped, 2);
    assert_int_equal(bw_store_rejects_pending(a->store, &err), 2);
    /* A replayed message is never stored again. */
    bw_event ev = fx_event("bank", "x9", "NO-SUCH-PROJECT", 1, FX_JAN1 + 1);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(bw_event_encode(&ev, &sb), 0);
    a->cfg.max_dead_letters = 100;
    fx_begin(a);
    assert_int_equal(bw_ingest_event(a, sb.data, sb.size, NULL, &ack, true), BW_STEP_OK);
    assert_int_equal(ack.status, BW_ACK_REJECTED);
    fx_commit(a);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(bw_store_rejects_pending(a->store, &err), 2);
    assert_int_equal(a->stats.rejected[BW_REJ_UNKNOWN_PROJECT], 5);
}

/* A jump in a source's seq is a source_gap alert, in the log with the batch. */
static void test_source_gap(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    bw_ack ack;
    fx_alerts seen;
    const uint64_t seqs[] = { 1, 2, 5, 6, 1 };
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%zu", i);
        bw_event ev = fx_event("bank", id, fx_code(a, 1), 10, FX_JAN1 + 100);
        ev.has_seq = true;
        ev.seq = seqs[i];
        assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
        assert_int_equal(ack.status, BW_ACK_ACCEPTED);
    }
    assert_int_equal(a->stats.gaps, 1);
    assert_int_equal(a->stats.restarts, 1);
    uint64_t committed = bw_batch_committed_seq(a->batch);
    fx_commit(a);
    fx_alerts_after(a->store, committed, &seen);
    size_t gaps = 0;
    for (size_t i = 0; i < seen.n; i++)
        if (seen.m[i].kind == BW_KIND_SOURCE_GAP) {
            gaps++;
            assert_string_equal(seen.m[i].src, "bank");
            assert_int_equal(seen.m[i].expected_seq, 3);
            assert_int_equal(seen.m[i].got_seq, 5);
        }
    assert_int_equal(gaps, 1);
    /* The source's seq survives a restart: 2 after the restart's 1 is no gap. */
    fx_reopen(f);
    bw_event ev = fx_event("bank", "s-next", fx_code(a, 1), 10, FX_JAN1 + 100);
    ev.has_seq = true;
    ev.seq = 2;
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    ev.seq = 4;
    snprintf(ev.id, sizeof ev.id, "s-gap");
    assert_int_equal(send_ev(a, &ev, &ack), BW_STEP_OK);
    assert_int_equal(a->stats.gaps, 1);
    fx_commit(a);
}

/* ---- a random stream against a model ---- */

#define M_EVENTS 2500
#define M_SRCS 3

typedef struct m_event {
    bw_event ev;
    bool accepted;
} m_event;

typedef struct model {
    size_t np;
    int64_t fiscal[64], other[64];
    m_event *sent;              /* every well-formed event generated, in order */
    size_t nsent;
    uint64_t accepted, duplicates, rejected[BW_REJ_COUNT];   /* this session's */
    uint64_t accepted_all, rejected_all;
    uint64_t dup_all, class_all[BW_REJ_COUNT], refunds_by_ref;   /* the whole run's */
} model;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: the same stream for the same seed everywhere. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static uint32_t below(uint32_t n)
{
    return rnd() % n;
}

static const m_event *m_find(const model *m, const char *src, const char *id)
{
    for (size_t i = 0; i < m->nsent; i++)
        if (m->sent[i].accepted && strcmp(m->sent[i].ev.src, src) == 0 &&
            strcmp(m->sent[i].ev.id, id) == 0)
            return &m->sent[i];
    return NULL;
}

/* What the daemon must do with ev, by the rules of ingest.h and
 * PROTOCOL.md, in their order; updates the model. Returns the ack status,
 * *cls for a rejection. */
static int m_apply(model *m, const bw_app *a, const bw_event *ev, bw_reject_class *cls)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    int64_t ix = bw_plan_find_project(p, ev->project, strlen(ev->project));
    if (ix < 0) {
        *cls = BW_REJ_UNKNOWN_PROJECT;
        return BW_ACK_REJECTED;
    }
    if (ev->unit[0] && strcmp(ev->unit, fx_unit_of(a, (uint32_t)ix)) != 0) {
        *cls = BW_REJ_UNIT_MISMATCH;
        return BW_ACK_REJECTED;
    }
    if (ev->ts < FX_JAN1 || ev->ts >= FX_YEAR_END) {
        *cls = BW_REJ_OUT_OF_YEAR;
        return BW_ACK_REJECTED;
    }
    if (m_find(m, ev->src, ev->id) != NULL)
        return BW_ACK_DUPLICATE;
    int64_t *bucket = ev->fund == BW_FUND_OTHER ? &m->other[ix] : &m->fiscal[ix];
    int64_t rest = ev->fund == BW_FUND_OTHER ? m->fiscal[ix] : m->other[ix];
    if (ev->type == BW_EV_REFUND) {
        *cls = BW_REJ_BAD_REFUND;
        if (ev->ref[0]) {
            const m_event *o = m_find(m, ev->src, ev->ref);
            if (o == NULL || o->ev.type != BW_EV_DISBURSEMENT ||
                strcmp(o->ev.project, ev->project) != 0)
                return BW_ACK_REJECTED;
            int64_t refunded = 0;
            for (size_t i = 0; i < m->nsent; i++) {
                const bw_event *e = &m->sent[i].ev;
                if (m->sent[i].accepted && e->type == BW_EV_REFUND &&
                    strcmp(e->src, ev->src) == 0 && strcmp(e->ref, ev->ref) == 0)
                    refunded += e->amount;
            }
            if (ev->amount > o->ev.amount - refunded)
                return BW_ACK_REJECTED;
        }
        if (ev->amount > *bucket)
            return BW_ACK_REJECTED;
        *bucket -= ev->amount;
        m->refunds_by_ref += ev->ref[0] != '\0';
    } else {
        int64_t v, total, dept = 0;
        for (size_t i = 0; i < m->np; i++)     /* sums of fen >= 0 cannot wrap below */
            if (__builtin_add_overflow(dept, m->fiscal[i], &dept) ||
                __builtin_add_overflow(dept, m->other[i], &dept))
                dept = INT64_MAX;
        if (__builtin_add_overflow(*bucket, ev->amount, &v) ||
            __builtin_add_overflow(v, rest, &total) ||
            __builtin_add_overflow(dept, ev->amount, &dept)) {
            *cls = BW_REJ_OVERFLOW;
            return BW_ACK_REJECTED;
        }
        *bucket = v;
    }
    return BW_ACK_ACCEPTED;
}

/* A new event: mostly fine, some wrong in each way the rules know. */
static bw_event m_generate(model *m, const bw_app *a, size_t k)
{
    char src[16], id[32];
    snprintf(src, sizeof src, "bank-%u", below(M_SRCS));
    snprintf(id, sizeof id, "ev-%zu", k);
    uint32_t ix = below((uint32_t)m->np);
    /* Time moves forward in steps, with stragglers from earlier in the year. */
    int64_t ts = FX_JAN1 + (int64_t)k * (360 * FX_DAY / M_EVENTS) + below(3600);
    if (below(10) == 0)
        ts = FX_JAN1 + below((uint32_t)(k + 1) * (uint32_t)(360 * FX_DAY / M_EVENTS));
    bw_event ev = fx_event(src, id, fx_code(a, ix), 1 + below(2000000), ts);
    uint32_t r = below(100);
    if (r < 3)
        snprintf(ev.project, sizeof ev.project, "UNKNOWN-%u", below(3));
    else if (r < 6)
        snprintf(ev.unit, sizeof ev.unit, "%s", strcmp(fx_unit_of(a, ix), "323001") ? "323001" : "323003");
    else if (r < 16)
        snprintf(ev.unit, sizeof ev.unit, "%s", fx_unit_of(a, ix));
    else if (r < 18)
        ev.ts = below(2) ? FX_JAN1 - 1 - below(FX_DAY) : FX_YEAR_END + below(FX_DAY);
    if (below(10) < 3)
        ev.fund = BW_FUND_OTHER;
    if (below(4) == 0) {
        ev.type = BW_EV_REFUND;
        ev.amount = 1 + below(600000);
        if (below(2) == 0 && m->nsent > 0) {
            /* Against an earlier disbursement, mostly of its own source and project. */
            const m_event *o = &m->sent[below((uint32_t)m->nsent)];
            snprintf(ev.ref, sizeof ev.ref, "%s", o->ev.id);
            if (below(10) != 0) {
                snprintf(ev.src, sizeof ev.src, "%s", o->ev.src);
                snprintf(ev.project, sizeof ev.project, "%s", o->ev.project);
                ev.unit[0] = '\0';
                ev.fund = o->ev.fund;
                ev.amount = 1 + below((uint32_t)(o->ev.amount / 2 + 1));
            }
        }
    }
    return ev;
}

static void m_check_totals(const model *m, const bw_app *a, unsigned seed, const char *when)
{
    int64_t fiscal = 0, other = 0;
    for (uint32_t i = 0; i < m->np; i++) {
        bw_status s;
        bw_engine_project_status(a->engine, i, &s);
        if (s.paid_fiscal != m->fiscal[i] || s.paid_other != m->other[i])
            fail_msg("seed %u, %s: project %s paid %" PRId64 " + %" PRId64 ", the model says %"
                     PRId64 " + %" PRId64, seed, when, fx_code(a, i), s.paid_fiscal, s.paid_other,
                     m->fiscal[i], m->other[i]);
        fiscal += m->fiscal[i];
        other += m->other[i];
    }
    bw_status_query q = { .unit = NULL };
    bw_view_status v;
    bw_err err;
    if (bw_views_status(a, &q, &v, &err))
        fail_msg("bw_views_status: %s", err.msg);
    for (size_t u = 0; u < v.nunits; u++) {
        int64_t uf = 0, uo = 0;
        for (uint32_t i = 0; i < m->np; i++)
            if (strcmp(fx_unit_of(a, i), v.units[u].unit) == 0) {
                uf += m->fiscal[i];
                uo += m->other[i];
            }
        if (v.units[u].paid_fiscal != uf || v.units[u].paid_other != uo || v.units[u].paid != uf + uo)
            fail_msg("seed %u, %s: unit %s paid %" PRId64 " + %" PRId64 ", the model says %" PRId64
                     " + %" PRId64, seed, when, v.units[u].unit, v.units[u].paid_fiscal,
                     v.units[u].paid_other, uf, uo);
    }
    if (v.total.paid_fiscal != fiscal || v.total.paid_other != other)
        fail_msg("seed %u, %s: total paid %" PRId64 " + %" PRId64 ", the model says %" PRId64 " + %"
                 PRId64, seed, when, v.total.paid_fiscal, v.total.paid_other, fiscal, other);
    bw_view_status_free(&v);
    int64_t events = bw_store_event_count(a->store, &err);
    int64_t pending = bw_store_rejects_pending(a->store, &err);
    if (events != (int64_t)m->accepted_all || pending != (int64_t)m->rejected_all)
        fail_msg("seed %u, %s: the ledger holds %" PRId64 " events and %" PRId64 " dead letters, "
                 "the model %" PRIu64 " and %" PRIu64, seed, when, events, pending, m->accepted_all,
                 m->rejected_all);
}

static void m_check_stats(const model *m, const bw_app *a, unsigned seed, size_t k)
{
    if (a->stats.accepted != m->accepted || a->stats.duplicates != m->duplicates)
        fail_msg("seed %u, message %zu: stats accepted %" PRIu64 " duplicates %" PRIu64 ", the model "
                 "%" PRIu64 " %" PRIu64, seed, k, a->stats.accepted, a->stats.duplicates,
                 m->accepted, m->duplicates);
    for (int c = 0; c < BW_REJ_COUNT; c++)
        if (a->stats.rejected[c] != m->rejected[c])
            fail_msg("seed %u, message %zu: stats.rejected.%s %" PRIu64 ", the model %" PRIu64, seed,
                     k, bw_reject_class_name(c), a->stats.rejected[c], m->rejected[c]);
}

static void m_new_session(model *m)
{
    m->accepted = m->duplicates = 0;
    memset(m->rejected, 0, sizeof m->rejected);
}

static void test_random_stream_against_model(void **state)
{
    shell_fx *f = *state;
    bw_app *a = &f->app;
    const char *env = getenv("BW_TEST_SEED");
    unsigned seed = env && *env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    print_message("random stream: seed %u (BW_TEST_SEED=%u repeats it)\n", seed, seed);
    rng_state = 0x9E3779B97F4A7C15ULL ^ seed;
    if (rng_state == 0)
        rng_state = 1;

    /* Small batches: many commits, each saving a few rows, so the restarts
     * restore from rows that hold part of the events. */
    a->cfg.batch_max = 64;
    fx_reopen(f);
    model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->np = fx_nprojects(a);
    assert_true(m->np <= 64);
    m->sent = calloc(M_EVENTS, sizeof *m->sent);
    assert_non_null(m->sent);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t restarts = 0;

    for (size_t k = 0; k < M_EVENTS; k++) {
        uint32_t what = below(100);
        bw_ack ack;
        int want;
        bw_reject_class cls = BW_REJ_MALFORMED;
        const char *kind;
        sb.size = 0;
        if (what < 8 && m->nsent > 0) {
            /* A resend of an earlier message, byte for byte. */
            m_event *me = &m->sent[below((uint32_t)m->nsent)];
            assert_int_equal(bw_event_encode(&me->ev, &sb), 0);
            want = m_apply(m, a, &me->ev, &cls);
            /* A rejected event sent again may be accepted now. */
            me->accepted = me->accepted || want == BW_ACK_ACCEPTED;
            kind = "resend";
        } else if (what < 10) {
            /* Cut short: not a whole message. */
            bw_event ev = m_generate(m, a, k);
            assert_int_equal(bw_event_encode(&ev, &sb), 0);
            sb.size = below((uint32_t)sb.size);
            want = BW_ACK_REJECTED;
            cls = BW_REJ_MALFORMED;
            kind = "truncated";
        } else {
            bw_event ev = m_generate(m, a, k);
            assert_int_equal(bw_event_encode(&ev, &sb), 0);
            want = m_apply(m, a, &ev, &cls);
            m->sent[m->nsent].ev = ev;
            m->sent[m->nsent++].accepted = want == BW_ACK_ACCEPTED;
            kind = "new";
        }
        if (fx_send_raw(a, sb.data ? sb.data : "", sb.size, &ack) != BW_STEP_OK)
            fail_msg("seed %u, message %zu: the ledger failed", seed, k);
        if (ack.status != want)
            fail_msg("seed %u, message %zu (%s): ack %s (%s), the model says %s", seed, k, kind,
                     bw_ack_status_name(ack.status), ack.reason, bw_ack_status_name(want));
        if (want == BW_ACK_ACCEPTED) {
            m->accepted++;
            m->accepted_all++;
        } else if (want == BW_ACK_DUPLICATE) {
            m->duplicates++;
            m->dup_all++;
        } else {
            m->rejected[cls]++;
            m->rejected_all++;
            m->class_all[cls]++;
        }
        m_check_stats(m, a, seed, k);
        /* A loop turn ends now and then; a restart twice in the run. */
        if (below(40) == 0)
            fx_commit(a);
        if (k == M_EVENTS / 3 || k == 2 * M_EVENTS / 3) {
            fx_commit(a);
            m_check_totals(m, a, seed, "before a restart");
            fx_reopen(f);
            m_new_session(m);
            restarts++;
            m_check_totals(m, a, seed, "after a restart");
        }
    }
    fx_commit(a);
    m_check_totals(m, a, seed, "at the end");
    fx_reopen(f);
    m_check_totals(m, a, seed, "after the last restart");
    /* Every kind of outcome happened (else the stream tests less than it says). */
    print_message("%" PRIu64 " accepted (%" PRIu64 " refunds of a ref), %" PRIu64 " duplicates, %"
                  PRIu64 " rejected (%" PRIu64 " malformed, %" PRIu64 " unknown project, %" PRIu64
                  " unit mismatch, %" PRIu64 " out of year, %" PRIu64 " bad refund)\n",
                  m->accepted_all, m->refunds_by_ref, m->dup_all, m->rejected_all,
                  m->class_all[BW_REJ_MALFORMED], m->class_all[BW_REJ_UNKNOWN_PROJECT],
                  m->class_all[BW_REJ_UNIT_MISMATCH], m->class_all[BW_REJ_OUT_OF_YEAR],
                  m->class_all[BW_REJ_BAD_REFUND]);
    assert_true(m->accepted_all > M_EVENTS / 2);
    assert_true(m->dup_all > 0 && m->refunds_by_ref > 0);
    const int classes[] = { BW_REJ_MALFORMED, BW_REJ_UNKNOWN_PROJECT, BW_REJ_UNIT_MISMATCH,
                            BW_REJ_OUT_OF_YEAR, BW_REJ_BAD_REFUND };
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (m->class_all[classes[i]] == 0)
            fail_msg("seed %u: the stream had no %s rejection", seed,
                     bw_reject_class_name(classes[i]));
    assert_int_equal(restarts, 2);
    msgpack_sbuffer_destroy(&sb);
    free(m->sent);
    free(m);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_accepted),
        T(test_duplicate),
        T(test_rejections),
        T(test_dead_letters_bounded),
        T(test_source_gap),
        T(test_random_stream_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
