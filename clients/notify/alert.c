/* alert: the notifier's view of an alert message (see alert.h). */
#include "alert.h"

#include <stdio.h>
#include <string.h>

#include "proto.h"

static void str(const msgpack_object *m, const char *key, char *buf, size_t len)
{
    if (!bw_map_get_str(m, key, buf, len))
        buf[0] = '\0';
}

int bwn_alert_from_object(const msgpack_object *o, bwn_alert *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP) {
        snprintf(why, whylen, "the alert is not a msgpack map");
        return -1;
    }
    if (!bw_map_get_uint(o, "seq", &a->seq) || !bw_map_get_str(o, "kind", a->kind, sizeof a->kind) ||
        !bw_map_get_str(o, "state", a->state, sizeof a->state)) {
        snprintf(why, whylen, "the alert lacks 'seq', 'kind' or 'state' (or one is too long)");
        return -1;
    }
    str(o, "severity", a->severity, sizeof a->severity);
    str(o, "band", a->band, sizeof a->band);
    str(o, "handling", a->handling, sizeof a->handling);
    str(o, "basis", a->basis, sizeof a->basis);
    str(o, "unit", a->unit, sizeof a->unit);
    str(o, "unit_name", a->unit_name, sizeof a->unit_name);
    str(o, "project", a->project, sizeof a->project);
    str(o, "project_name", a->project_name, sizeof a->project_name);
    str(o, "milestone", a->milestone, sizeof a->milestone);
    str(o, "src", a->src, sizeof a->src);
    str(o, "by", a->by, sizeof a->by);
    str(o, "note", a->note, sizeof a->note);
    str(o, "id", a->id, sizeof a->id);
    str(o, "ref", a->ref, sizeof a->ref);
    a->has_amount = bw_map_get_int(o, "amount", &a->amount);
    a->has_pace = bw_map_get_int(o, "pace_lag_bp", &a->pace_lag_bp) &&
                  bw_map_get_int(o, "pace_shortfall", &a->pace_shortfall);
    a->has_money = bw_map_get_int(o, "budget", &a->budget) && bw_map_get_int(o, "paid", &a->paid) &&
                   bw_map_get_int(o, "shortfall", &a->shortfall);
    if (!bw_map_get_int(o, "rate_bp", &a->rate_bp) || !bw_map_get_int(o, "planned_bp", &a->planned_bp) ||
        !bw_map_get_int(o, "pace_bp", &a->pace_bp))
        a->has_money = false;
    (void)bw_map_get_int(o, "lag_bp", &a->lag_bp);
    (void)bw_map_get_int(o, "at", &a->at);
    (void)bw_map_get_int(o, "since", &a->since);
    (void)bw_map_get_uint(o, "expected_seq", &a->expected_seq);
    (void)bw_map_get_uint(o, "got_seq", &a->got_seq);
    return 0;
}

int bwn_alert_from_msgpack(const void *buf, size_t len, bwn_alert *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = -1;
    if (msgpack_unpack_next(&u, buf, len, NULL) == MSGPACK_UNPACK_SUCCESS)
        rc = bwn_alert_from_object(&u.data, a, why, whylen);
    else
        snprintf(why, whylen, "the alert is not msgpack");
    msgpack_unpacked_destroy(&u);
    return rc;
}

static json_object *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return NULL;
    case MSGPACK_OBJECT_BOOLEAN: return json_object_new_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 > INT64_MAX ? json_object_new_uint64(o->via.u64)
                                      : json_object_new_int64((int64_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_object_new_int64(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_object_new_double(o->via.f64);
    case MSGPACK_OBJECT_STR: return json_object_new_string_len(o->via.str.ptr, (int)o->via.str.size);
    case MSGPACK_OBJECT_BIN: return json_object_new_string_len(o->via.bin.ptr, (int)o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_object *a = json_object_new_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++)
            json_object_array_add(a, to_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_object *m = json_object_new_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)k->via.str.size, k->via.str.ptr);
            json_object_object_add(m, key, to_json(&o->via.map.ptr[i].val));
        }
        return m;
    }
    default: return NULL;
    }
}

json_object *bwn_alert_json(const void *buf, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    json_object *j = NULL;
    if (msgpack_unpack_next(&u, buf, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP)
        j = to_json(&u.data);
    msgpack_unpacked_destroy(&u);
    return j;
}

void bwn_alert_key(const bwn_alert *a, char *buf, size_t len)
{
    if (a->project[0])
        snprintf(buf, len, "%s/%s", a->kind, a->project);
    else if (a->src[0])
        snprintf(buf, len, "%s/_src/%s", a->kind, a->src);
    else
        snprintf(buf, len, "%s/_daemon", a->kind);
}
