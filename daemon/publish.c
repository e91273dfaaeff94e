/* publish: alerts into the batch, and out to supervisors after the commit
 * (publish.h). What goes out is read back from the alert log, so the
 * stream is the log, message for message, and a batch of a million alerts
 * (every project missing a milestone at once) needs no memory for them. */
#include "publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "log.h"
#include "money.h"
#include "views.h"
#include "zio.h"

static void on_alert(void *ctx, const bw_alert *al)
{
    bw_app *a = ctx;
    bw_alert_msg m;
    bw_views_alert_msg(a, al, &m);
    bw_batch_touch(a->batch, al->project);
    /* A failure fails the batch, which the caller sees. */
    (void)bw_publish_queue(a, &m);
}

bw_step bw_publish_advance(bw_app *a, int64_t to)
{
    if (bw_engine_next_instant(a->engine) > to && to <= bw_engine_now(a->engine))
        return BW_STEP_OK;      /* nothing falls due: the changed projects wait for the commit */
    bw_engine_evaluate(a->engine, to, on_alert, a);
    return bw_batch_failed(a->batch) ? BW_STEP_FATAL : BW_STEP_OK;
}

bw_step bw_publish_evaluate(bw_app *a)
{
    bw_engine_evaluate(a->engine, bw_engine_now(a->engine), on_alert, a);
    return bw_batch_failed(a->batch) ? BW_STEP_FATAL : BW_STEP_OK;
}

bw_step bw_publish_large_payment(bw_app *a, const bw_alert *al, const bw_event *ev)
{
    bw_alert_msg m;
    bw_views_alert_msg(a, al, &m);
    memcpy(m.src, ev->src, sizeof m.src);   /* same sizes, both NUL-terminated */
    memcpy(m.id, ev->id, sizeof m.id);
    memcpy(m.ref, ev->ref, sizeof m.ref);
    m.amount = ev->amount;
    bw_batch_touch(a->batch, al->project);
    return bw_publish_queue(a, &m);
}

bw_step bw_publish_queue(bw_app *a, bw_alert_msg *m)
{
    bw_step st = bw_batch_add_alert(a->batch, a->store, m);
    if (st == BW_STEP_OK)
        a->stats.alerts++;
    return st;
}

bw_step bw_publish_damage(bw_app *a, const char *first)
{
    bw_alert_msg m;
    memset(&m, 0, sizeof m);
    m.kind = BW_KIND_LEDGER_DAMAGED;
    m.state = BW_STATE_FIRING;
    m.severity = BW_SEV_CRITICAL;
    snprintf(m.note, sizeof m.note, "%s", first);
    m.at = bw_app_now(a);
    m.since = a->ledger_damaged_since ? a->ledger_damaged_since : m.at;
    a->ledger_damaged_since = m.since;
    return bw_publish_queue(a, &m);
}

static void log_alert(const bw_alert_msg *m)
{
    if (m->kind == BW_KIND_SOURCE_GAP) {
        char s[BW_SRC_MAX * 4 + 8];
        bw_log(BW_LOG_WARNING, "alert #%" PRIu64 " source_gap: source \"%s\" sent seq %" PRIu64
               " but %" PRIu64 " was expected; events %" PRIu64 "..%" PRIu64 " may be lost",
               m->seq, bw_utf8_escape(m->src, strlen(m->src), s, sizeof s), m->got_seq,
               m->expected_seq, m->expected_seq, m->got_seq - 1);
        return;
    }
    if (m->kind == BW_KIND_LEDGER_DAMAGED) {
        bw_log(BW_LOG_ERR, "alert #%" PRIu64 " ledger_damaged: %s", m->seq, m->note);
        return;
    }
    char paid[32], budget[32];
    bw_log(m->state == BW_STATE_RESOLVED ? BW_LOG_INFO : BW_LOG_NOTICE,
           "alert #%" PRIu64 " %s %s %s: %s/%s %s paid %s of %s 万元, rate %d.%02d%% vs plan "
           "%d.%02d%%%s%s", m->seq, bw_kind_name(m->kind), bw_state_name(m->state),
           bw_severity_name(m->severity), m->unit, m->project, m->project_name,
           bw_money_format_wan(m->paid, paid, sizeof paid),
           bw_money_format_wan(m->budget, budget, sizeof budget), m->rate_bp / 100,
           m->rate_bp % 100, m->planned_bp / 100, m->planned_bp % 100,
           m->milestone[0] ? ", milestone " : "", m->milestone);
}

static void topic_of(const bw_alert_msg *m, char *buf, size_t len)
{
    if (m->kind == BW_KIND_SOURCE_GAP)
        snprintf(buf, len, "alert._src.%s", m->src);
    else if (m->kind == BW_KIND_LEDGER_DAMAGED)
        snprintf(buf, len, "alert._daemon.ledger");
    else
        snprintf(buf, len, "alert.%s.%s", m->unit, m->project);
}

typedef struct send_ctx {
    void *pub;
    msgpack_sbuffer sb;
    uint64_t last;              /* seq of the last message sent */
    uint64_t upto;              /* the last committed */
} send_ctx;

static int send_one(void *ctx, const bw_alert_msg *m)
{
    send_ctx *c = ctx;
    char topic[BW_CODE_LEN_MAX * 2 + 16];
    if (m->seq > c->upto)
        return 1;
    log_alert(m);
    c->sb.size = 0;
    c->last = m->seq;
    if (bw_alert_encode(m, &c->sb))
        return 0;
    topic_of(m, topic, sizeof topic);
    /* PUB never blocks: a subscriber too slow to keep up loses messages and
     * sees the gap in seq or in the heartbeat. */
    const bw_zio_frame msg[] = { { topic, strlen(topic) }, { c->sb.data, c->sb.size } };
    (void)bw_zio_send(c->pub, msg, 2, ZMQ_DONTWAIT);
    return 0;
}

int bw_publish_send(bw_app *a, void *pub, uint64_t upto, bw_err *err)
{
    uint64_t from = bw_batch_published_seq(a->batch);
    if (from >= upto)
        return 0;
    send_ctx c = { .pub = pub, .last = from, .upto = upto };
    msgpack_sbuffer_init(&c.sb);
    int rc = bw_store_alerts_after(a->store, from, send_one, &c, err);
    msgpack_sbuffer_destroy(&c.sb);
    bw_batch_published(a->batch, c.last);
    if (rc == 0 && c.last < upto)
        return bw_err_set(err, "the alert log holds alerts up to #%" PRIu64 " only, but #%" PRIu64
                          " was committed; run `budgetwatchd --verify`", c.last, upto);
    return rc;
}

void bw_publish_heartbeat(const bw_app *a, void *pub)
{
    bw_heartbeat hb = { bw_batch_published_seq(a->batch), bw_app_now(a) };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_heartbeat_encode(&hb, &sb) == 0) {
        const bw_zio_frame msg[] = { { "hb", 2 }, { sb.data, sb.size } };
        (void)bw_zio_send(pub, msg, 2, ZMQ_DONTWAIT);
    }
    msgpack_sbuffer_destroy(&sb);
}
