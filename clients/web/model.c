/* model: the daemon's replies as the console's structures (model.h). */
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static const msgpack_object *array_of(const msgpack_object *m, const char *key, char *why,
                                      size_t whylen)
{
    const msgpack_object *a = bw_map_get(m, key);
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(why, whylen, "the daemon's reply has no array '%s'", key);
        return NULL;
    }
    return a;
}

static int row_decode(const msgpack_object *o, bww_row *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    if (bw_status_row_from_object(o, &r->r, why, whylen))
        return -1;
    if (!bw_map_get_str(o, "band", r->band, sizeof r->band))
        r->band[0] = '\0';
    return 0;
}

static int rows_decode(const msgpack_object *m, const char *key, bww_row **out, size_t *n,
                       char *why, size_t whylen)
{
    const msgpack_object *a = array_of(m, key, why, whylen);
    if (a == NULL)
        return -1;
    *n = 0;
    *out = calloc(a->via.array.size ? a->via.array.size : 1, sizeof **out);
    if (*out == NULL) {
        snprintf(why, whylen, "out of memory reading %u status rows", a->via.array.size);
        return -1;
    }
    for (uint32_t i = 0; i < a->via.array.size; i++, (*n)++)
        if (row_decode(&a->via.array.ptr[i], &(*out)[i], why, whylen))
            return -1;
    return 0;
}

int bww_status_decode(const msgpack_object *m, bww_status *s, char *why, size_t whylen)
{
    memset(s, 0, sizeof *s);
    int64_t pace = 0;
    uint64_t matched = 0;
    bw_map_get_int(m, "at", &s->at);
    bw_map_get_int(m, "pace_bp", &pace);
    s->pace_bp = (int32_t)pace;
    if (rows_decode(m, "projects", &s->projects, &s->nprojects, why, whylen) ||
        rows_decode(m, "units", &s->units, &s->nunits, why, whylen) ||
        row_decode(bw_map_get(m, "total"), &s->total, why, whylen)) {
        bww_status_free(s);
        return -1;
    }
    s->matched = bw_map_get_uint(m, "matched", &matched) ? matched : s->nprojects;
    return 0;
}

void bww_status_free(bww_status *s)
{
    free(s->projects);
    free(s->units);
    memset(s, 0, sizeof *s);
}

int bww_alerts_decode(const msgpack_object *m, bww_alerts *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    bw_map_get_uint(m, "seq", &a->seq);
    bw_map_get_bool(m, "truncated", &a->truncated);
    const msgpack_object *l = array_of(m, "alerts", why, whylen);
    if (l == NULL)
        return -1;
    a->v = calloc(l->via.array.size ? l->via.array.size : 1, sizeof *a->v);
    if (a->v == NULL) {
        snprintf(why, whylen, "out of memory reading %u alerts", l->via.array.size);
        return -1;
    }
    for (uint32_t i = 0; i < l->via.array.size; i++) {
        const msgpack_object *o = &l->via.array.ptr[i];
        bww_alert *x = &a->v[a->n];
        /* A message this build cannot read (a kind it does not know) is
         * left out rather than the whole page. */
        if (bw_alert_from_object(o, &x->m, why, whylen))
            continue;
        if (!bw_map_get_str(o, "band", x->band, sizeof x->band))
            x->band[0] = '\0';
        if (!bw_map_get_str(o, "handling", x->handling, sizeof x->handling))
            x->handling[0] = '\0';
        a->n++;
    }
    return 0;
}

void bww_alerts_free(bww_alerts *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

int bww_payments_decode(const msgpack_object *m, bww_payments *p, char *why, size_t whylen)
{
    memset(p, 0, sizeof *p);
    const msgpack_object *l = array_of(m, "payments", why, whylen);
    if (l == NULL)
        return -1;
    p->v = calloc(l->via.array.size ? l->via.array.size : 1, sizeof *p->v);
    if (p->v == NULL) {
        snprintf(why, whylen, "out of memory reading %u payments", l->via.array.size);
        return -1;
    }
    for (uint32_t i = 0; i < l->via.array.size; i++) {
        const msgpack_object *o = &l->via.array.ptr[i];
        bww_payment *x = &p->v[p->n++];
        bw_map_get_int(o, "row", &x->row);
        bw_map_get_int(o, "ts", &x->ts);
        bw_map_get_int(o, "amount", &x->amount);
        bw_map_get_int(o, "received_at", &x->received_at);
        bw_map_get_str(o, "src", x->src, sizeof x->src);
        bw_map_get_str(o, "id", x->id, sizeof x->id);
        bw_map_get_str(o, "ref", x->ref, sizeof x->ref);
        bw_map_get_str(o, "type", x->type, sizeof x->type);
        bw_map_get_str(o, "fund", x->fund, sizeof x->fund);
    }
    bw_map_get_int(m, "total", &p->total);
    bw_map_get_int(m, "next", &p->next);
    return 0;
}

void bww_payments_free(bww_payments *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

int bww_adjustments_decode(const msgpack_object *m, bww_adjustments *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    const msgpack_object *l = array_of(m, "adjustments", why, whylen);
    if (l == NULL)
        return -1;
    a->v = calloc(l->via.array.size ? l->via.array.size : 1, sizeof *a->v);
    if (a->v == NULL) {
        snprintf(why, whylen, "out of memory reading %u adjustments", l->via.array.size);
        return -1;
    }
    for (uint32_t i = 0; i < l->via.array.size; i++) {
        const msgpack_object *o = &l->via.array.ptr[i];
        bww_adjustment *x = &a->v[a->n++];
        bw_map_get_int(o, "old_budget", &x->old_budget);
        bw_map_get_int(o, "new_budget", &x->new_budget);
        bw_map_get_int(o, "at", &x->at);
        bw_map_get_str(o, "reason", x->reason, sizeof x->reason);
    }
    return 0;
}

int bww_notes_decode(const msgpack_object *m, bww_notes *n, char *why, size_t whylen)
{
    memset(n, 0, sizeof *n);
    const msgpack_object *l = array_of(m, "notifications", why, whylen);
    if (l == NULL)
        return -1;
    n->v = calloc(l->via.array.size ? l->via.array.size : 1, sizeof *n->v);
    if (n->v == NULL) {
        snprintf(why, whylen, "out of memory reading %u notifications", l->via.array.size);
        return -1;
    }
    bw_map_get_bool(m, "more", &n->more);
    for (uint32_t i = 0; i < l->via.array.size; i++) {
        const msgpack_object *o = &l->via.array.ptr[i];
        bww_note *x = &n->v[n->n++];
        bw_map_get_int(o, "id", &x->id);
        bw_map_get_int(o, "created_ms", &x->created_ms);
        x->at_ms = x->created_ms;
        bw_map_get_str(o, "receiver", x->receiver, sizeof x->receiver);
        bw_map_get_str(o, "receiver_type", x->rtype, sizeof x->rtype);
        bw_map_get_str(o, "state", x->state, sizeof x->state);
        const msgpack_object *al = bw_map_get(o, "alerts"), *at = bw_map_get(o, "attempts");
        if (al && al->type == MSGPACK_OBJECT_ARRAY) {
            x->nalerts = al->via.array.size;
            for (uint32_t k = 0; k < al->via.array.size && x->nshown < BWW_NOTE_ALERTS; k++) {
                const msgpack_object *e = &al->via.array.ptr[k];
                bw_map_get_uint(e, "seq", &x->alerts[x->nshown].seq);
                bw_map_get_str(e, "kind", x->alerts[x->nshown].kind, sizeof x->alerts[0].kind);
                bw_map_get_str(e, "state", x->alerts[x->nshown].state, sizeof x->alerts[0].state);
                bw_map_get_str(e, "project", x->alerts[x->nshown].project,
                               sizeof x->alerts[0].project);
                x->nshown++;
            }
        }
        /* The last attempts: each with when it ended and the receiver's answer. */
        if (at && at->type == MSGPACK_OBJECT_ARRAY) {
            uint32_t na = at->via.array.size;
            x->attempts = na;
            for (uint32_t k = na > BWW_NOTE_ATTEMPTS ? na - BWW_NOTE_ATTEMPTS : 0; k < na; k++) {
                const msgpack_object *e = &at->via.array.ptr[k];
                int64_t t = 0;
                if (!bw_map_get_int(e, "ended_ms", &t))
                    bw_map_get_int(e, "started_ms", &t);
                x->attempt[x->nattempts].at_ms = t;
                bw_map_get_str(e, "result", x->attempt[x->nattempts].result,
                               sizeof x->attempt[0].result);
                bw_map_get_str(e, "answer", x->attempt[x->nattempts].answer,
                               sizeof x->attempt[0].answer);
                if (t)
                    x->at_ms = t;
                x->nattempts++;
            }
        }
    }
    return 0;
}

void bww_notes_free(bww_notes *n)
{
    free(n->v);
    memset(n, 0, sizeof *n);
}

void bww_adjustments_free(bww_adjustments *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

static void json_strn(bww_buf *b, const char *s, size_t n)
{
    char small[512];
    char *t = n < sizeof small ? small : malloc(n + 1);
    if (t == NULL) {
        b->oom = true;
        return;
    }
    memcpy(t, s, n);
    t[n] = '\0';
    bww_buf_puts(b, "\"");
    bww_buf_json_str(b, t);
    bww_buf_puts(b, "\"");
    if (t != small)
        free(t);
}

void bww_json_of(bww_buf *b, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: bww_buf_puts(b, "null"); break;
    case MSGPACK_OBJECT_BOOLEAN: bww_buf_puts(b, o->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: bww_buf_printf(b, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: bww_buf_printf(b, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: bww_buf_printf(b, "%.17g", o->via.f64); break;
    case MSGPACK_OBJECT_STR: json_strn(b, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_ARRAY:
        bww_buf_puts(b, "[");
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                bww_buf_puts(b, ",");
            bww_json_of(b, &o->via.array.ptr[i]);
        }
        bww_buf_puts(b, "]");
        break;
    case MSGPACK_OBJECT_MAP:
        bww_buf_puts(b, "{");
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (i)
                bww_buf_puts(b, ",");
            if (kv->key.type == MSGPACK_OBJECT_STR)
                json_strn(b, kv->key.via.str.ptr, kv->key.via.str.size);
            else
                bww_buf_puts(b, "\"?\"");
            bww_buf_puts(b, ":");
            bww_json_of(b, &kv->val);
        }
        bww_buf_puts(b, "}");
        break;
    default: bww_buf_puts(b, "null"); break;
    }
}
