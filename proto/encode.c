/* encode: writes every budgetwatch message as a msgpack map with string keys,
 * only the keys that apply, in a fixed order (so output is reproducible). */
#include <string.h>

#include "proto.h"

void bw_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void bw_pack_key(msgpack_packer *pk, const char *key) { bw_pack_str(pk, key); }

void bw_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    bw_pack_str(pk, key);
    bw_pack_str(pk, val);
}

void bw_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
    bw_pack_str(pk, key);
    msgpack_pack_int64(pk, val);
}

void bw_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t val)
{
    bw_pack_str(pk, key);
    msgpack_pack_uint64(pk, val);
}

void bw_pack_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
    bw_pack_str(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void packer(msgpack_packer *pk, msgpack_sbuffer *out)
{
    msgpack_packer_init(pk, out, msgpack_sbuffer_write);
}

int bw_event_encode(const bw_event *ev, msgpack_sbuffer *out)
{
    if (ev->amount <= 0 || !ev->src[0] || !ev->id[0] || !ev->project[0] || ev->type > BW_EV_REFUND)
        return -1;
    msgpack_packer pk;
    packer(&pk, out);
    size_t n = 7 + (ev->has_seq ? 1 : 0) + (ev->unit[0] ? 1 : 0) + (ev->fund != BW_FUND_FISCAL) +
               (ev->ref[0] ? 1 : 0);
    msgpack_pack_map(&pk, n);
    bw_pack_kv_uint(&pk, "v", BW_PROTO_VERSION);
    bw_pack_kv_str(&pk, "type", bw_event_type_name(ev->type));
    bw_pack_kv_str(&pk, "src", ev->src);
    bw_pack_kv_str(&pk, "id", ev->id);
    if (ev->has_seq)
        bw_pack_kv_uint(&pk, "seq", ev->seq);
    bw_pack_kv_str(&pk, "project", ev->project);
    if (ev->unit[0])
        bw_pack_kv_str(&pk, "unit", ev->unit);
    bw_pack_kv_int(&pk, "amount", ev->amount);
    bw_pack_kv_int(&pk, "ts", ev->ts);
    if (ev->fund != BW_FUND_FISCAL)
        bw_pack_kv_str(&pk, "fund", bw_fund_name(ev->fund));
    if (ev->ref[0])
        bw_pack_kv_str(&pk, "ref", ev->ref);
    return 0;
}

int bw_ack_encode(const bw_ack *a, msgpack_sbuffer *out)
{
    if (a->status > BW_ACK_REJECTED)
        return -1;
    msgpack_packer pk;
    packer(&pk, out);
    bool reason = a->status == BW_ACK_REJECTED;
    msgpack_pack_map(&pk, 4 + reason);
    bw_pack_kv_uint(&pk, "v", BW_PROTO_VERSION);
    bw_pack_kv_str(&pk, "src", a->src);
    bw_pack_kv_str(&pk, "id", a->id);
    bw_pack_kv_str(&pk, "status", bw_ack_status_name(a->status));
    if (reason)
        bw_pack_kv_str(&pk, "reason", a->reason);
    return 0;
}

int bw_alert_pack(msgpack_packer *pk, const bw_alert_msg *a)
{
    if (a->kind >= BW_KINDS || a->state > BW_STATE_RESOLVED || a->severity > BW_SEV_CRITICAL)
        return -1;
    bool gap = a->kind == BW_KIND_SOURCE_GAP, damaged = a->kind == BW_KIND_LEDGER_DAMAGED;
    bool ms = a->kind == BW_KIND_MILESTONE && a->milestone[0];
    bool ack = a->state == BW_STATE_ACKNOWLEDGED;
    bool large = a->kind == BW_KIND_LARGE_PAYMENT;
    if (a->basis > BW_BASIS_PACE || a->handling >= BW_HANDLINGS)
        return -1;
    /* ledger_damaged carries its finding in note, which an ack also uses. */
    size_t n = 7 + (gap ? 3 : damaged ? !ack : 16 + ms + (large ? 4 : 0)) + (ack ? 2 : 0);
    msgpack_pack_map(pk, n);
    bw_pack_kv_uint(pk, "v", BW_PROTO_VERSION);
    bw_pack_kv_uint(pk, "seq", a->seq);
    bw_pack_kv_str(pk, "kind", bw_kind_name(a->kind));
    bw_pack_kv_str(pk, "state", bw_state_name(a->state));
    bw_pack_kv_str(pk, "severity", bw_severity_name(a->severity));
    if (gap) {
        bw_pack_kv_str(pk, "src", a->src);
        bw_pack_kv_uint(pk, "expected_seq", a->expected_seq);
        bw_pack_kv_uint(pk, "got_seq", a->got_seq);
    } else if (damaged) {
        if (!ack)
            bw_pack_kv_str(pk, "note", a->note);    /* what SQLite found first */
    } else {
        bw_pack_kv_str(pk, "unit", a->unit);
        bw_pack_kv_str(pk, "unit_name", a->unit_name);
        bw_pack_kv_str(pk, "project", a->project);
        bw_pack_kv_str(pk, "project_name", a->project_name);
        bw_pack_kv_int(pk, "budget", a->budget);
        bw_pack_kv_int(pk, "paid", a->paid);
        bw_pack_kv_int(pk, "rate_bp", a->rate_bp);
        bw_pack_kv_int(pk, "planned_bp", a->planned_bp);
        bw_pack_kv_int(pk, "lag_bp", a->lag_bp);
        bw_pack_kv_int(pk, "pace_bp", a->pace_bp);
        bw_pack_kv_int(pk, "shortfall", a->shortfall);
        if (ms)
            bw_pack_kv_str(pk, "milestone", a->milestone);
        bw_pack_kv_str(pk, "band", a->band);
        bw_pack_kv_str(pk, "basis", bw_basis_name(a->basis));
        bw_pack_kv_int(pk, "pace_lag_bp", a->pace_lag_bp);
        bw_pack_kv_int(pk, "pace_shortfall", a->pace_shortfall);
        bw_pack_kv_str(pk, "handling", bw_handling_name(a->handling));
        if (large) {
            bw_pack_kv_str(pk, "src", a->src);
            bw_pack_kv_str(pk, "id", a->id);
            bw_pack_kv_int(pk, "amount", a->amount);
            bw_pack_kv_str(pk, "ref", a->ref);
        }
    }
    bw_pack_kv_int(pk, "at", a->at);
    bw_pack_kv_int(pk, "since", a->since);
    if (ack) {
        bw_pack_kv_str(pk, "by", a->by);
        bw_pack_kv_str(pk, "note", a->note);
    }
    return 0;
}

int bw_alert_encode(const bw_alert_msg *a, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    packer(&pk, out);
    return bw_alert_pack(&pk, a);
}

int bw_heartbeat_encode(const bw_heartbeat *h, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    packer(&pk, out);
    msgpack_pack_map(&pk, 3);
    bw_pack_kv_uint(&pk, "v", BW_PROTO_VERSION);
    bw_pack_kv_uint(&pk, "seq", h->seq);
    bw_pack_kv_int(&pk, "at", h->at);
    return 0;
}

int bw_ctl_req_encode(const bw_ctl_req *q, msgpack_sbuffer *out)
{
    if (q->op >= BW_OP_COUNT)
        return -1;
    const char *strs[][2] = {
        { "project", q->project }, { "unit", q->unit }, { "kind", q->kind }, { "by", q->by },
        { "note", q->note },       { "reason", q->reason }, { "sort", q->sort },
        { "q", q->q },             { "band", q->band },     { "alert", q->alert },
        { "state", q->state },
    };
    size_t n = 1 + q->has_budget + q->has_to + q->has_since + q->has_until + (q->limit > 0) +
               q->has_at + q->has_after_seq + (q->offset > 0) + q->desc + (q->before > 0);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        n += strs[i][1][0] != '\0';
    msgpack_packer pk;
    packer(&pk, out);
    msgpack_pack_map(&pk, n);
    bw_pack_kv_str(&pk, "op", bw_op_name(q->op));
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i][1][0] != '\0')
            bw_pack_kv_str(&pk, strs[i][0], strs[i][1]);
    if (q->has_budget)
        bw_pack_kv_int(&pk, "budget", q->budget);
    if (q->has_to)
        bw_pack_kv_int(&pk, "to", q->to);
    if (q->has_since)
        bw_pack_kv_int(&pk, "since", q->since);
    if (q->has_until)
        bw_pack_kv_int(&pk, "until", q->until);
    if (q->limit > 0)
        bw_pack_kv_uint(&pk, "limit", q->limit);
    if (q->has_at)
        bw_pack_kv_int(&pk, "at", q->at);
    if (q->has_after_seq)
        bw_pack_kv_uint(&pk, "after_seq", q->after_seq);
    if (q->offset > 0)
        bw_pack_kv_uint(&pk, "offset", q->offset);
    if (q->desc)
        bw_pack_kv_bool(&pk, "desc", true);
    if (q->before > 0)
        bw_pack_kv_uint(&pk, "before", q->before);
    return 0;
}

int bw_reply_error(const char *error, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    packer(&pk, out);
    msgpack_pack_map(&pk, 2);
    bw_pack_kv_bool(&pk, "ok", false);
    bw_pack_kv_str(&pk, "error", error);
    return 0;
}
