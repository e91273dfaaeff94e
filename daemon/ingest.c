/* ingest: one disbursement or refund message, from decode to the batch and
 * the engine (ingest.h). */
#include "ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "publish.h"

/* An accepted event's ack copies src and id whole (bw_ingest_event). */
_Static_assert(sizeof ((bw_ack *)0)->src == sizeof ((bw_event *)0)->src, "ack and event src differ");
_Static_assert(sizeof ((bw_ack *)0)->id == sizeof ((bw_event *)0)->id, "ack and event id differ");

/* Logs the first rejections of each kind, then one in a thousand: a flood of
 * garbage must not flood the journal, and `stats` counts them all anyway. */
static bool worth_logging(uint64_t n)
{
    return n <= 20 || n % 1000 == 0;
}

/* A peer that only sends garbage must not fill the disk: past
 * max_dead_letters waiting for replay, a rejected message is still answered
 * and counted, but not kept. Returns whether to keep this one. */
static bool keep_dead_letter(bw_app *a)
{
    bw_err err;
    int64_t pending = bw_store_rejects_pending(a->store, &err);
    if (pending < 0 || pending < a->cfg.max_dead_letters)
        return true;        /* a failed count keeps the message: losing it is worse */
    uint64_t n = ++a->stats.dead_letters_dropped;
    if (worth_logging(n))
        bw_log(BW_LOG_WARNING, "%" PRId64 " dead letters wait for replay_rejected, the [limits] "
               "max_dead_letters; rejected messages are counted but no longer kept (%" PRIu64
               " so far): replay them, or raise the limit", pending, n);
    return false;
}

bw_step bw_ingest_reject(bw_app *a, bw_reject_class cls, const char *src, const char *id,
                         const void *raw, size_t len, const char *reason, const char *peer,
                         bw_ack *ack, bool replay)
{
    bw_err err;
    bool kept = !replay && keep_dead_letter(a);
    /* A rejection is answered only once it is kept: else the sender would
     * think the daemon holds it for replay_rejected. */
    if (kept && bw_store_reject_insert(a->store, src, id, raw, len, reason, peer,
                                       bw_app_now(a), &err) < 0)
        return bw_batch_fail(a->batch, &err);
    uint64_t n = ++a->stats.rejected[cls];
    if (!replay && worth_logging(n)) {
        char s[BW_SRC_MAX * 4 + 8], i[BW_ID_MAX * 4 + 8];
        bw_log(BW_LOG_WARNING, "rejected event (source \"%s\", id \"%s\"): %s [%s #%" PRIu64 "]",
               bw_utf8_escape(src, strlen(src), s, sizeof s), bw_utf8_escape(id, strlen(id), i, sizeof i),
               reason, bw_reject_class_name(cls), n);
    }
    if (ack != NULL) {
        ack->status = BW_ACK_REJECTED;
        snprintf(ack->src, sizeof ack->src, "%s", src);
        snprintf(ack->id, sizeof ack->id, "%s", id);
        snprintf(ack->reason, sizeof ack->reason, "%s%s", reason, kept || replay ? "" :
                 " (not kept as a dead letter: the daemon holds its max_dead_letters; send it again "
                 "once fixed)");
    }
    return BW_STEP_OK;
}

static bw_step source_gap(bw_app *a, const bw_event *ev, uint64_t expected)
{
    bw_alert_msg m;
    memset(&m, 0, sizeof m);
    m.kind = BW_KIND_SOURCE_GAP;
    m.state = BW_STATE_FIRING;
    m.severity = BW_SEV_WARNING;
    snprintf(m.src, sizeof m.src, "%s", ev->src);
    m.expected_seq = expected;
    m.got_seq = ev->seq;
    m.at = m.since = bw_app_now(a);
    a->stats.gaps++;
    return bw_publish_queue(a, &m);
}

static bw_step observe_seq(bw_app *a, const bw_event *ev)
{
    uint64_t expected;
    int v = bw_sources_observe(a->sources, ev->src, ev->seq, &expected);
    if (v == BW_SEQ_GAP) {
        return source_gap(a, ev, expected);
    } else if (v == BW_SEQ_RESTART) {
        char s[BW_SRC_MAX * 4 + 8];
        a->stats.restarts++;
        bw_log(BW_LOG_NOTICE, "source \"%s\" restarted its sequence at 1 (it was at %" PRIu64 ")",
               bw_utf8_escape(ev->src, strlen(ev->src), s, sizeof s), expected - 1);
    }
    return BW_STEP_OK;
}

/* Checks what the plan and the calendar say about the event. Returns the
 * project index, or -1 with the class and reason filled. */
static int64_t check_plan(bw_app *a, const bw_event *ev, bw_reject_class *cls, char *why,
                          size_t n)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    int64_t ix = bw_plan_find_project(p, ev->project, strlen(ev->project));
    if (ix < 0) {
        *cls = BW_REJ_UNKNOWN_PROJECT;
        snprintf(why, n, "unknown project \"%s\" (not in the plan); add it to the plan, reload, "
                 "then replay_rejected", ev->project);
        return -1;
    }
    const bw_unit_def *u = bw_plan_unit(p, bw_plan_project(p, (size_t)ix)->unit);
    if (ev->unit[0] != '\0' && strcmp(ev->unit, u->code) != 0) {
        *cls = BW_REJ_UNIT_MISMATCH;
        snprintf(why, n, "unit \"%s\" does not match the plan, which puts project %s in unit %s",
                 ev->unit, ev->project, u->code);
        return -1;
    }
    if (ev->ts < bw_cal_year_start(&a->cal) || ev->ts >= bw_cal_year_end(&a->cal)) {
        *cls = BW_REJ_OUT_OF_YEAR;
        snprintf(why, n, "ts %" PRId64 " is outside fiscal year %d; check the payment date",
                 ev->ts, a->cal.year);
        return -1;
    }
    int64_t now = bw_app_now(a);
    if (a->cfg.clock == BW_CLOCK_WALL && ev->ts > now + a->cfg.future_tolerance) {
        *cls = BW_REJ_FUTURE;
        snprintf(why, n, "ts %" PRId64 " is %" PRId64 " s in the future (tolerance %" PRId64
                 " s); check the sender's clock", ev->ts, ev->ts - now, a->cfg.future_tolerance);
        return -1;
    }
    return ix;
}

/* A refund naming its original must name an accepted disbursement of the same
 * project, and may not refund more than it paid. Returns 0 or -1 (why filled). */
static int check_ref(bw_app *a, const bw_event *ev, char *why, size_t n)
{
    if (ev->type != BW_EV_REFUND || ev->ref[0] == '\0')
        return 0;
    bw_event orig;
    bw_err err;
    int rc = bw_store_event_get(a->store, ev->src, ev->ref, &orig, &err);
    if (rc < 0) {
        snprintf(why, n, "%s", err.msg);
        return -1;
    }
    if (rc == 0 || orig.type != BW_EV_DISBURSEMENT) {
        snprintf(why, n, "refund refers to \"%s\", which is not a disbursement from source \"%s\" "
                 "in the ledger; send the original first or fix ref", ev->ref, ev->src);
        return -1;
    }
    if (strcmp(orig.project, ev->project) != 0) {
        snprintf(why, n, "refund is for project %s but its original \"%s\" paid project %s",
                 ev->project, ev->ref, orig.project);
        return -1;
    }
    int64_t refunded = 0;
    if (bw_store_refunded_total(a->store, ev->src, ev->ref, ev->id, &refunded, &err)) {
        snprintf(why, n, "%s", err.msg);
        return -1;
    }
    if (ev->amount > orig.amount - refunded) {
        snprintf(why, n, "refund of %" PRId64 " fen is more than the %" PRId64 " fen left of \"%s\"",
                 ev->amount, orig.amount - refunded, ev->ref);
        return -1;
    }
    return 0;
}

static int check_paid(bw_app *a, const bw_event *ev, uint32_t ix, char *why, size_t n)
{
    if (check_ref(a, ev, why, n))
        return -1;
    bw_err err;
    if (bw_engine_check(a->engine, ix, ev->type, ev->fund, ev->amount, &err)) {
        snprintf(why, n, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* With CURVE, a payment system's key name is the one src it may send: a key
 * cannot speak for another system, and a removed key for none. */
static int check_peer(const bw_event *ev, const char *peer, char *why, size_t n)
{
    if (peer == NULL || strcmp(peer, ev->src) == 0)
        return 0;
    if (*peer == '\0')
        snprintf(why, n, "the sender's CURVE key is no longer authorized (removed from "
                 "payment_keys); nothing from it is counted");
    else
        snprintf(why, n, "source \"%s\" sent with the key of \"%s\"; a payment system's key "
                 "name is the src it may use: send with %s's own key", ev->src, peer, ev->src);
    return -1;
}

bw_step bw_ingest_event(bw_app *a, const void *raw, size_t len, const char *peer, bw_ack *ack,
                        bool replay)
{
    bw_event ev;
    char why[BW_TEXT_MAX];
    bw_reject_class cls = BW_REJ_MALFORMED;
    if (bw_event_decode(raw, len, &ev, why, sizeof why))
        /* src and id are those that could be read ("" if none), so that the
         * sender learns which of its events was refused. */
        return bw_ingest_reject(a, cls, ev.src, ev.id, raw, len, why, peer, ack, replay);
    if (check_peer(&ev, peer, why, sizeof why))
        return bw_ingest_reject(a, BW_REJ_UNAUTHORIZED, ev.src, ev.id, raw, len, why, peer, ack,
                                replay);
    int64_t ix = check_plan(a, &ev, &cls, why, sizeof why);
    if (ix >= 0 && !bw_sources_admit(a->sources, ev.src)) {
        cls = BW_REJ_TOO_MANY_SOURCES;
        snprintf(why, sizeof why, "source \"%s\" is new and the daemon already tracks %zu "
                 "sources, its limit; reuse an existing source id", ev.src,
                 bw_sources_count(a->sources));
        ix = -1;
    }
    if (ix < 0)
        return bw_ingest_reject(a, cls, ev.src, ev.id, raw, len, why, peer, ack, replay);
    /* In event mode the payment's own time moves the clock, and every alert
     * instant passed is evaluated before this payment counts. */
    if (a->cfg.clock == BW_CLOCK_EVENT && ev.ts > bw_engine_now(a->engine) &&
        bw_publish_advance(a, ev.ts) == BW_STEP_FATAL)
        return BW_STEP_FATAL;

    bw_err err;
    int rc = bw_store_event_insert(a->store, &ev, bw_app_now(a), &err);
    if (rc < 0)
        return bw_batch_fail(a->batch, &err);
    if (ack != NULL) {
        /* Same sizes, both NUL-terminated: no formatting on the hot path. */
        memcpy(ack->src, ev.src, sizeof ack->src);
        memcpy(ack->id, ev.id, sizeof ack->id);
        ack->reason[0] = '\0';
    }
    if (rc == 0) {
        a->stats.duplicates++;
        if (ack != NULL)
            ack->status = BW_ACK_DUPLICATE;
        return BW_STEP_OK;
    }
    /* New to the ledger: now the checks that depend on what was paid. The
     * insert comes first so a resent refund is a duplicate, not "past zero". */
    if (check_paid(a, &ev, (uint32_t)ix, why, sizeof why)) {
        if (bw_store_event_delete(a->store, ev.src, ev.id, &err))
            return bw_batch_fail(a->batch, &err);
        cls = ev.type == BW_EV_REFUND ? BW_REJ_BAD_REFUND : BW_REJ_OVERFLOW;
        return bw_ingest_reject(a, cls, ev.src, ev.id, raw, len, why, peer, ack, replay);
    }
    /* Accepted: its day's sum moves in the same transaction (schema 5). */
    if (bw_store_daily_add(a->store, &ev, &err))
        return bw_batch_fail(a->batch, &err);
    if (bw_engine_apply(a->engine, (uint32_t)ix, ev.type, ev.fund, ev.amount, &err))
        return bw_batch_fail(a->batch, &err);   /* checked above: cannot happen */
    bw_batch_touch_totals(a->batch, (uint32_t)ix);
    bw_engine_window_payment(a->engine, (uint32_t)ix, ev.type, ev.amount, ev.ts);
    if (ev.type == BW_EV_DISBURSEMENT) {
        bw_alert large;
        bw_engine_paid_at(a->engine, (uint32_t)ix, ev.ts);
        /* Once per payment, here: a restart's replay of the ledger never
         * comes this way, so no payment fires twice. */
        if (bw_engine_large_payment(a->engine, (uint32_t)ix, ev.amount, &large) &&
            bw_publish_large_payment(a, &large, &ev) == BW_STEP_FATAL)
            return BW_STEP_FATAL;
    }
    if (ev.has_seq && observe_seq(a, &ev) == BW_STEP_FATAL)
        return BW_STEP_FATAL;
    a->stats.accepted++;
    if (ack != NULL)
        ack->status = BW_ACK_ACCEPTED;
    return BW_STEP_OK;
}
