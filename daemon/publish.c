/* publish: alerts and heartbeats out to supervisors. An alert gets its seq, is
 * logged and written to the alert log inside the batch's transaction, and goes
 * out on the PUB socket only after that transaction commits. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "daemon.h"
#include "log.h"
#include "zio.h"
#include "money.h"

void bw_alert_to_msg(const bw_daemon *d, const bw_alert *a, bw_alert_msg *m)
{
    const bw_plan *p = bw_engine_plan(d->engine);
    const bw_project_def *pd = bw_plan_project(p, a->project);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    memset(m, 0, sizeof *m);
    m->kind = a->kind;
    m->state = a->state;
    m->severity = a->severity;
    snprintf(m->unit, sizeof m->unit, "%s", u->code);
    snprintf(m->unit_name, sizeof m->unit_name, "%s", u->name);
    snprintf(m->project, sizeof m->project, "%s", pd->code);
    snprintf(m->project_name, sizeof m->project_name, "%s", pd->name);
    m->budget = a->budget;
    m->paid = a->paid;
    m->shortfall = a->shortfall;
    m->rate_bp = a->rate_bp;
    m->planned_bp = a->planned_bp;
    m->lag_bp = a->lag_bp;
    m->pace_bp = a->pace_bp;
    if (a->kind == BW_KIND_MILESTONE && a->milestone.month >= 1 && a->milestone.month <= 12 &&
        a->milestone.day >= 1 && a->milestone.day <= 31)
        snprintf(m->milestone, sizeof m->milestone, "%02u-%02u", a->milestone.month % 100u,
                 a->milestone.day % 100u);
    m->at = a->at;
    m->since = a->since;
}

void bw_on_alert(void *ctx, const bw_alert *a)
{
    bw_daemon *d = ctx;
    bw_alert_msg m;
    bw_alert_to_msg(d, a, &m);
    bw_touch(d, a->project);
    bw_publish_queue(d, &m);
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

int bw_publish_queue(bw_daemon *d, bw_alert_msg *m)
{
    bw_err err;
    m->seq = ++d->alert_seq;
    d->stats.alerts++;
    if (bw_store_alert_append(d->store, m, &err))
        bw_log(BW_LOG_ERR, "%s", err.msg);
    log_alert(m);
    d->pending[d->npending++] = *m;
    if (d->npending == d->cap_pending)
        return bw_batch_flush_pending(d);
    return 0;
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

void bw_publish_flush(bw_daemon *d)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char topic[BW_CODE_LEN_MAX * 2 + 16];
    for (size_t i = 0; i < d->npending; i++) {
        sb.size = 0;
        if (bw_alert_encode(&d->pending[i], &sb))
            continue;
        topic_of(&d->pending[i], topic, sizeof topic);
        /* PUB never blocks: a subscriber too slow to keep up loses messages and
         * sees the gap in seq or in the heartbeat. */
        const bw_zio_frame msg[] = { { topic, strlen(topic) }, { sb.data, sb.size } };
        (void)bw_zio_send(d->pub, msg, 2, ZMQ_DONTWAIT);
    }
    msgpack_sbuffer_destroy(&sb);
    d->npending = 0;
}

void bw_publish_heartbeat(bw_daemon *d)
{
    bw_heartbeat hb = { d->alert_seq, bw_daemon_now(d) };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_heartbeat_encode(&hb, &sb) == 0) {
        const bw_zio_frame msg[] = { { "hb", 2 }, { sb.data, sb.size } };
        (void)bw_zio_send(d->pub, msg, 2, ZMQ_DONTWAIT);
    }
    msgpack_sbuffer_destroy(&sb);
}
