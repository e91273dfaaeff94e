/* query: decoding the query endpoint's requests and packing its replies
 * (see query.h). A request is a msgpack map; every key it has must be one
 * this op knows, of the right type, so a typo is an error and not a filter
 * quietly left out. */
#include "query.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *type_name(const msgpack_object *v)
{
    switch (v->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "a positive integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    default: return "binary or an extension";
    }
}

static int str_key(const msgpack_object *v, const char *key, char *dst, size_t cap, char *why,
                   size_t whylen)
{
    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size >= cap)
        return bad(why, whylen, "key '%s' must be a string of 1..%zu bytes, got %s%s", key, cap - 1,
                   type_name(v), v->type == MSGPACK_OBJECT_STR ? " of another length" : "");
    if (memchr(v->via.str.ptr, '\0', v->via.str.size))
        return bad(why, whylen, "key '%s' must not hold a NUL byte", key);
    memcpy(dst, v->via.str.ptr, v->via.str.size);
    dst[v->via.str.size] = '\0';
    return 0;
}

int bwn_query_decode(const void *buf, size_t len, bwn_query *q, char *why, size_t whylen)
{
    memset(q, 0, sizeof *q);
    q->filter.limit = BWN_QUERY_LIMIT_DEFAULT;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    msgpack_unpack_return ur = msgpack_unpack_next(&u, buf, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        bad(why, whylen, "the request is not one msgpack value (%s)",
            ur == MSGPACK_UNPACK_CONTINUE ? "it ends too early" : "unreadable bytes");
        goto out;
    }
    if (off != len) {
        bad(why, whylen, "the request has %zu bytes after its msgpack map", len - off);
        goto out;
    }
    const msgpack_object *m = &u.data;
    if (m->type != MSGPACK_OBJECT_MAP) {
        bad(why, whylen, "the request must be a msgpack map, got %s", type_name(m));
        goto out;
    }
    const msgpack_object *op = bw_map_get(m, "op");
    if (op == NULL) {
        bad(why, whylen, "the request has no 'op'; send {op: \"log\", ...}");
        goto out;
    }
    if (str_key(op, "op", q->op, sizeof q->op, why, whylen))
        goto out;
    if (strcmp(q->op, "log") != 0) {
        bad(why, whylen, "unknown op \"%s\"; this endpoint answers only \"log\"", q->op);
        goto out;
    }
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
        char key[32];
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0 || k->via.str.size >= sizeof key) {
            bad(why, whylen, "a key of the request is %s, not a short string", type_name(k));
            goto out;
        }
        memcpy(key, k->via.str.ptr, k->via.str.size);
        key[k->via.str.size] = '\0';
        if (!strcmp(key, "op"))
            continue;
        if (!strcmp(key, "project")) {
            if (str_key(v, key, q->project, sizeof q->project, why, whylen))
                goto out;
            q->filter.project = q->project;
        } else if (!strcmp(key, "kind")) {
            if (str_key(v, key, q->kind, sizeof q->kind, why, whylen))
                goto out;
            q->filter.kind = q->kind;
        } else if (!strcmp(key, "seq")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 == 0 ||
                v->via.u64 > INT64_MAX) {
                bad(why, whylen, "key 'seq' must be an alert seq (a positive integer), got %s",
                    type_name(v));
                goto out;
            }
            q->filter.seq = v->via.u64;
        } else if (!strcmp(key, "since")) {
            /* Unix seconds, as --since; far enough from the ends that *1000 fits. */
            int64_t s;
            if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX / 1000)
                s = (int64_t)v->via.u64;
            else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && v->via.i64 >= INT64_MIN / 1000)
                s = v->via.i64;
            else {
                bad(why, whylen, "key 'since' must be Unix seconds (an integer), got %s",
                    type_name(v));
                goto out;
            }
            q->filter.since_ms = s * 1000;
        } else if (!strcmp(key, "limit")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 == 0 ||
                v->via.u64 > BWN_QUERY_LIMIT_MAX) {
                bad(why, whylen, "key 'limit' must be an integer 1..%d, got %s", BWN_QUERY_LIMIT_MAX,
                    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? "one out of range" : type_name(v));
                goto out;
            }
            q->filter.limit = (uint32_t)v->via.u64;
        } else {
            bad(why, whylen, "unknown key '%s'; \"log\" takes project, kind, seq, since, limit", key);
            goto out;
        }
    }
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

void bwn_reply_open(bwn_reply *r)
{
    memset(r, 0, sizeof *r);
    msgpack_sbuffer_init(&r->body);
    msgpack_sbuffer_init(&r->part);
    msgpack_sbuffer_init(&r->out);
    msgpack_packer_init(&r->pk, &r->body, msgpack_sbuffer_write);
    msgpack_packer_init(&r->ppk, &r->part, msgpack_sbuffer_write);
}

static void pack_time(msgpack_packer *pk, const char *key, int64_t ms)
{
    bw_pack_key(pk, key);
    if (ms)
        msgpack_pack_int64(pk, ms);
    else
        msgpack_pack_nil(pk);
}

void bwn_reply_note_begin(bwn_reply *r, const bwn_log_row *row, const char *receiver_type)
{
    msgpack_packer *pk = &r->pk;
    msgpack_pack_map(pk, 10);
    bw_pack_kv_int(pk, "id", row->id);
    bw_pack_kv_str(pk, "receiver", row->receiver);
    bw_pack_kv_str(pk, "receiver_type", receiver_type);
    bw_pack_kv_str(pk, "state", row->state);
    bw_pack_kv_str(pk, "title", row->title);
    bw_pack_kv_str(pk, "answer", row->answer);
    pack_time(pk, "created_ms", row->created_ms);
    pack_time(pk, "done_ms", row->done_ms);
    bw_pack_key(pk, "alerts");
    msgpack_sbuffer_clear(&r->part);
    r->npart = 0;
}

void bwn_reply_alert(bwn_reply *r, uint64_t seq, const char *kind, const char *state,
                     const char *project)
{
    msgpack_packer *pk = &r->ppk;
    msgpack_pack_map(pk, 4);
    bw_pack_kv_uint(pk, "seq", seq);
    bw_pack_kv_str(pk, "kind", kind);
    bw_pack_kv_str(pk, "state", state);
    bw_pack_kv_str(pk, "project", project);
    r->npart++;
}

/* The array gathered in part, into body. */
static int flush_part(bwn_reply *r)
{
    msgpack_pack_array(&r->pk, r->npart);
    if (r->part.size && msgpack_sbuffer_write(&r->body, r->part.data, r->part.size) != 0)
        return -1;
    msgpack_sbuffer_clear(&r->part);
    r->npart = 0;
    return 0;
}

int bwn_reply_attempts_begin(bwn_reply *r)
{
    if (flush_part(r))
        return -1;
    bw_pack_key(&r->pk, "attempts");
    return 0;
}

void bwn_reply_attempt(bwn_reply *r, int64_t started_ms, int64_t ended_ms, const char *result,
                       long status, const char *answer)
{
    msgpack_packer *pk = &r->ppk;
    msgpack_pack_map(pk, 5);
    pack_time(pk, "started_ms", started_ms);
    pack_time(pk, "ended_ms", ended_ms);
    bw_pack_kv_str(pk, "result", result);
    bw_pack_key(pk, "status");
    if (status >= 0)
        msgpack_pack_int64(pk, status);
    else
        msgpack_pack_nil(pk);
    bw_pack_kv_str(pk, "answer", answer);
    r->npart++;
}

int bwn_reply_note_end(bwn_reply *r)
{
    if (flush_part(r))
        return -1;
    r->n++;
    return 0;
}

int bwn_reply_close(bwn_reply *r, bool more)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    bw_pack_kv_bool(&pk, "ok", true);
    bw_pack_key(&pk, "notifications");
    msgpack_pack_array(&pk, r->n);
    if (r->body.size && msgpack_sbuffer_write(&r->out, r->body.data, r->body.size) != 0)
        return -1;
    bw_pack_kv_bool(&pk, "more", more);
    return r->out.data ? 0 : -1;
}

void bwn_reply_free(bwn_reply *r)
{
    msgpack_sbuffer_destroy(&r->part);
    msgpack_sbuffer_destroy(&r->body);
    msgpack_sbuffer_destroy(&r->out);
}

int bwn_reply_error(msgpack_sbuffer *sb, const char *error)
{
    return bw_reply_error(error, sb);
}
