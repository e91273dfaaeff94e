/* dc: control requests to the daemon (dc.h). */
#include "dc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static void add(bww_req *q, const char *key, char type, const char *s, int64_t i)
{
    if (q->n >= BWW_REQ_MAX)
        return;
    q->kv[q->n].key = key;
    q->kv[q->n].type = type;
    q->kv[q->n].s = s;
    q->kv[q->n].i = i;
    q->n++;
}

void bww_req_str(bww_req *q, const char *key, const char *s)
{
    if (s != NULL && s[0] != '\0')
        add(q, key, 's', s, 0);
}

void bww_req_int(bww_req *q, const char *key, int64_t v) { add(q, key, 'i', NULL, v); }
void bww_req_uint(bww_req *q, const char *key, uint64_t v) { add(q, key, 'u', NULL, (int64_t)v); }
void bww_req_bool(bww_req *q, const char *key, bool v) { add(q, key, 'b', NULL, v); }

int bww_dc_open(bww_dc *d, const bww_config *cfg, char *why, size_t whylen)
{
    bwc_client_opts o = { 0 };
    o.control = cfg->control;
    o.timeout_ms = cfg->timeout_ms;
    o.server_key = cfg->server_key[0] ? cfg->server_key : NULL;
    o.public_key = cfg->public_key[0] ? cfg->public_key : NULL;
    o.secret_key = cfg->secret_key[0] ? cfg->secret_key : NULL;
    d->c = bwc_client_new(&o);
    o.timeout_ms = BWW_SLOW_MS > cfg->timeout_ms ? BWW_SLOW_MS : cfg->timeout_ms;
    d->slow = d->c ? bwc_client_new(&o) : NULL;
    if (cfg->notify_control[0]) {
        bwc_client_opts no = { .control = cfg->notify_control, .timeout_ms = cfg->timeout_ms };
        snprintf(d->notify_at, sizeof d->notify_at, "%s", cfg->notify_control);
        d->notify = bwc_client_new(&no);
        if (d->notify == NULL) {
            bwc_client_destroy(&d->c);
            bwc_client_destroy(&d->slow);
            snprintf(why, whylen, "cannot make a client of budgetwatch-notify at %s (out of memory?)",
                     cfg->notify_control);
            return -1;
        }
    }
    if (d->c == NULL || d->slow == NULL) {
        bwc_client_destroy(&d->c);
        snprintf(why, whylen, "cannot make a client of the daemon at %s (out of memory?)",
                 cfg->control);
        return -1;
    }
    return 0;
}

void bww_dc_close(bww_dc *d)
{
    bwc_client_destroy(&d->c);
    bwc_client_destroy(&d->slow);
    bwc_client_destroy(&d->notify);
}

void bww_reply_free(bww_reply *r)
{
    if (r->unpacked)
        msgpack_unpacked_destroy(&r->u);
    free(r->raw);
    memset(r, 0, sizeof *r);
}

static int call(bwc_client *c, const char *who, const bww_req *q, bww_reply *r);

int bww_dc_call(bww_dc *d, const bww_req *q, bww_reply *r)
{
    return call(d->c, "the daemon", q, r);
}

int bww_dc_call_slow(bww_dc *d, const bww_req *q, bww_reply *r)
{
    return call(d->slow, "the daemon", q, r);
}

bool bww_dc_has_notify(const bww_dc *d)
{
    return d->notify != NULL;
}

int bww_dc_notify(bww_dc *d, const bww_req *q, bww_reply *r)
{
    if (d->notify == NULL) {
        memset(r, 0, sizeof *r);
        r->unreachable = true;
        snprintf(r->error, sizeof r->error, "no [notify] control in the console's configuration");
        return -1;
    }
    return call(d->notify, "budgetwatch-notify", q, r);
}

static int call(bwc_client *c, const char *who, const bww_req *q, bww_reply *r)
{
    memset(r, 0, sizeof *r);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, q->n + 1);
    bw_pack_kv_str(&pk, "op", q->op);
    for (size_t i = 0; i < q->n; i++) {
        switch (q->kv[i].type) {
        case 's': bw_pack_kv_str(&pk, q->kv[i].key, q->kv[i].s); break;
        case 'i': bw_pack_kv_int(&pk, q->kv[i].key, q->kv[i].i); break;
        case 'u': bw_pack_kv_uint(&pk, q->kv[i].key, (uint64_t)q->kv[i].i); break;
        default: bw_pack_kv_bool(&pk, q->kv[i].key, q->kv[i].i != 0); break;
        }
    }
    const void *reply;
    size_t rlen;
    int rc = bwc_client_request(c, sb.data, sb.size, &reply, &rlen);
    msgpack_sbuffer_destroy(&sb);
    if (rc < 0) {
        r->unreachable = true;
        snprintf(r->error, sizeof r->error, "%s did not answer \"%s\": %s", who, q->op,
                 bwc_client_error(c));
        return -1;
    }
    r->raw = malloc(rlen ? rlen : 1);
    if (r->raw == NULL) {
        snprintf(r->error, sizeof r->error, "out of memory reading the reply to \"%s\"", q->op);
        return -1;
    }
    memcpy(r->raw, reply, rlen);
    r->len = rlen;
    char why[BW_WHY_MAX];
    r->m = bw_reply_unpack(r->raw, r->len, &r->u, why, sizeof why);
    r->unpacked = true;
    if (r->m == NULL) {
        snprintf(r->error, sizeof r->error, "the reply of %s to \"%s\" cannot be read: %s",
                 who, q->op, why);
        return -1;
    }
    if (!bw_map_get_bool(r->m, "ok", &r->ok) || !r->ok) {
        r->ok = false;
        if (!bw_map_get_str(r->m, "error", r->error, sizeof r->error))
            snprintf(r->error, sizeof r->error, "%s refused \"%s\" without saying why", who,
                     q->op);
        /* "bad control request: unknown op \"series\"; ..." or "unknown op" */
        r->unknown_op = strstr(r->error, "unknown op") != NULL;
        return -1;
    }
    return 0;
}
