/* backoff: retry delays and the verdict on an answer (see backoff.h). */
#include "backoff.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rtypes[BWN_RTYPES] = { "webhook", "wecom", "dingtalk", "alertmanager",
                                                 "email" };

const char *bwn_rtype_name(int t) { return t >= 0 && t < BWN_RTYPES ? rtypes[t] : "?"; }

int bwn_rtype_parse(const char *s)
{
    for (int i = 0; i < BWN_RTYPES; i++)
        if (strcmp(s, rtypes[i]) == 0)
            return i;
    return -1;
}

int64_t bwn_backoff_delay(int attempt, int64_t min_ms, int64_t max_ms, uint32_t draw)
{
    if (min_ms < 1)
        min_ms = 1;
    if (max_ms < min_ms)
        max_ms = min_ms;
    int64_t d = min_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2;
    if (d > max_ms)
        d = max_ms;
    int64_t half = d / 2;
    return half + (int64_t)(((uint64_t)(d - half) * draw) / UINT32_MAX);
}

/* The robots answer HTTP 200 with {"errcode": N, "errmsg": "..."}; 0 is success. */
static int robot_errcode(const char *body, size_t len, long *code, char *msg, size_t msglen)
{
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return -1;
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    json_object *c, *m;
    int rc = -1;
    if (o && json_object_object_get_ex(o, "errcode", &c) && json_object_is_type(c, json_type_int)) {
        *code = (long)json_object_get_int64(c);
        snprintf(msg, msglen, "%s", json_object_object_get_ex(o, "errmsg", &m) ?
                 json_object_get_string(m) : "");
        rc = 0;
    }
    json_object_put(o);
    return rc;
}

static int64_t retry_after_ms(const char *v, int64_t dflt)
{
    if (v == NULL || !*v)
        return dflt;
    char *end;
    long long s = strtoll(v, &end, 10);
    if (end == v || s < 0)
        return dflt;        /* an HTTP date: the default is near enough */
    return s > 86400 ? 86400000 : (int64_t)s * 1000;
}

void bwn_answer_judge(bwn_rtype type, int transport, const char *transport_err, long status,
                      const char *body, size_t len, const char *retry_after, int64_t limited_ms,
                      bwn_answer *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = BWN_RETRY;
    if (transport != 0) {
        snprintf(out->what, sizeof out->what, "not delivered: %s", transport_err);
        return;
    }
    int n = len > 160 ? 160 : (int)len;
    if (type == BWN_EMAIL) {
        /* libcurl reports a refused MAIL, RCPT or DATA as a transport error. */
        out->verdict = BWN_SENT;
        snprintf(out->what, sizeof out->what, "SMTP %ld: accepted", status);
        return;
    }
    if (status == 429) {
        out->verdict = BWN_LIMITED;
        out->retry_after_ms = retry_after_ms(retry_after, limited_ms);
        snprintf(out->what, sizeof out->what, "HTTP 429 (rate limited, wait %lld ms): %.*s",
                 (long long)out->retry_after_ms, n, body);
        return;
    }
    if (status < 200 || status > 299) {
        snprintf(out->what, sizeof out->what, "HTTP %ld: %.*s", status, n, body);
        return;
    }
    if (type != BWN_WECOM && type != BWN_DINGTALK) {
        out->verdict = BWN_SENT;
        snprintf(out->what, sizeof out->what, "HTTP %ld", status);
        return;
    }
    long code;
    char msg[128];
    if (robot_errcode(body, len, &code, msg, sizeof msg)) {
        snprintf(out->what, sizeof out->what, "HTTP %ld without an errcode: %.*s", status, n, body);
        return;
    }
    if (code == 0) {
        out->verdict = BWN_SENT;
        snprintf(out->what, sizeof out->what, "errcode 0 (%s)", msg);
    } else if ((type == BWN_WECOM && code == 45009) || (type == BWN_DINGTALK && code == 130101)) {
        out->verdict = BWN_LIMITED;
        out->retry_after_ms = limited_ms;
        snprintf(out->what, sizeof out->what, "errcode %ld (rate limited, wait %lld ms): %s", code,
                 (long long)limited_ms, msg);
    } else {
        snprintf(out->what, sizeof out->what, "errcode %ld: %s", code, msg);
    }
}
