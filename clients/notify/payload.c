/* payload: per-receiver message bodies (see payload.h). */
#include "payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"
#include "text.h"
#include "money.h"

#define BLOCK_MAX 4096

static bool md(const bwn_receiver *r)
{
    return r->type == BWN_DINGTALK || r->type == BWN_WEBHOOK || (r->type == BWN_WECOM && r->markdown);
}

static void footer(const bwn_digest *d, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "\n通知编号 #%lld", (long long)d->id);
    /* DingTalk highlights an @ only when the mobile is also in the text. */
    if (d->r->type == BWN_DINGTALK && d->route)
        for (int i = 0; i < d->route->mention.n && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, " @%s", d->route->mention.w[i]);
}

void bwn_payload_measure(const bwn_digest *d, const bwn_item *items, size_t n, size_t *lens,
                         size_t *overhead)
{
    char block[BLOCK_MAX];
    /* + 1: the newline between two blocks (body_text). */
    for (size_t i = 0; i < n; i++)
        lens[i] = bwn_text_block(&items[i].a, md(d->r), d->utc_offset_s, block, sizeof block) + 1;
    char t[512], f[1024];
    bwn_text_title(d->label, 99999, 999, 999, t, sizeof t);
    footer(d, f, sizeof f);
    *overhead = strlen(t) + strlen(f) + 8 + 20;   /* "### ", newlines, a longer id */
}

/* The text of a part: title line, blocks, footer; cut to the receiver's limit. */
static char *body_text(const bwn_digest *d, const bwn_item *items, size_t n, char *title,
                       size_t tlen)
{
    bwn_text_title(d->label, d->total, d->part, d->parts, title, tlen);
    size_t cap = d->r->max_bytes + 1;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    char f[1024];
    footer(d, f, sizeof f);
    size_t flen = strlen(f);
    int w = snprintf(out, cap, "%s%s\n", md(d->r) ? "### " : "", title);
    size_t used = w > 0 && (size_t)w < cap ? (size_t)w : 0;
    char block[BLOCK_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t b = bwn_text_block(&items[i].a, md(d->r), d->utc_offset_s, block, sizeof block);
        if (i > 0 && used + 1 < cap)
            out[used++] = '\n';
        size_t room = cap - 1 - used > flen ? cap - 1 - used - flen : 0;
        size_t take = bwn_text_utf8_cut(block, b, room);
        memcpy(out + used, block, take);
        used += take;
    }
    size_t take = bwn_text_utf8_cut(f, flen, cap - 1 - used);
    memcpy(out + used, f, take);
    used += take;
    out[used] = '\0';
    return out;
}

static char *json_done(json_object *o)
{
    char *s = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE)) : NULL;
    json_object_put(o);
    return s;
}

static json_object *mentions(const bwn_route *route)
{
    json_object *a = json_object_new_array();
    for (int i = 0; route && i < route->mention.n; i++)
        json_object_array_add(a, json_object_new_string(route->mention.w[i]));
    return a;
}

static char *wecom(const bwn_digest *d, const char *text)
{
    json_object *o = json_object_new_object(), *m = json_object_new_object();
    bool markdown = d->r->markdown;
    json_object_object_add(o, "msgtype", json_object_new_string(markdown ? "markdown" : "text"));
    json_object_object_add(m, "content", json_object_new_string(text));
    if (!markdown)
        json_object_object_add(m, "mentioned_mobile_list", mentions(d->route));
    json_object_object_add(o, markdown ? "markdown" : "text", m);
    return json_done(o);
}

static char *dingtalk(const bwn_digest *d, const char *title, const char *text)
{
    json_object *o = json_object_new_object(), *m = json_object_new_object(),
                *at = json_object_new_object();
    json_object_object_add(o, "msgtype", json_object_new_string("markdown"));
    json_object_object_add(m, "title", json_object_new_string(title));
    json_object_object_add(m, "text", json_object_new_string(text));
    json_object_object_add(o, "markdown", m);
    json_object_object_add(at, "atMobiles", mentions(d->route));
    json_object_object_add(at, "isAtAll", json_object_new_boolean(0));
    json_object_object_add(o, "at", at);
    return json_done(o);
}

static char *webhook(const bwn_digest *d, const bwn_item *items, size_t n, const char *title,
                     const char *text)
{
    json_object *o = json_object_new_object(), *a = json_object_new_array();
    json_object_object_add(o, "notification_id", json_object_new_int64(d->id));
    json_object_object_add(o, "receiver", json_object_new_string(d->r->name));
    json_object_object_add(o, "group", json_object_new_string(d->group_key));
    json_object_object_add(o, "part", json_object_new_int64((int64_t)d->part));
    json_object_object_add(o, "parts", json_object_new_int64((int64_t)d->parts));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "text", json_object_new_string(text));
    for (size_t i = 0; i < n; i++) {
        json_object *j = bwn_alert_json(items[i].raw, items[i].rawlen);
        if (j)
            json_object_array_add(a, j);
    }
    json_object_object_add(o, "alerts", a);
    return json_done(o);
}

void bwn_payload_headline(const bwn_item *items, size_t n, char *buf, size_t len)
{
    char other[256];
    if (len == 0)
        return;
    buf[0] = '\0';
    /* The kind, band and step all share; else the kind and band (a firing
     * alert and its handling step in one digest). */
    for (int with_state = 1; n > 0 && with_state >= 0; with_state--) {
        bwn_text_headline(&items[0].a, with_state, buf, len);
        size_t i = 1;
        while (i < n) {
            bwn_text_headline(&items[i].a, with_state, other, sizeof other);
            if (strcmp(buf, other))
                break;
            i++;
        }
        if (i == n)
            return;
        buf[0] = '\0';
    }
}

void bwn_payload_rfc3339(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void label(json_object *l, const char *k, const char *v)
{
    if (v && *v)
        json_object_object_add(l, k, json_object_new_string(v));
}

/* One Alertmanager alert; a later message of the same alert in the part wins. */
static char *alertmanager(const bwn_digest *d, const bwn_item *items, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        const bwn_alert *a = &items[i].a;
        char key[200], other[200];
        bwn_alert_key(a, key, sizeof key);
        bool later = false;
        for (size_t k = i + 1; k < n && !later; k++) {
            bwn_alert_key(&items[k].a, other, sizeof other);
            later = !strcmp(key, other);
        }
        if (later)
            continue;
        json_object *o = json_object_new_object(), *l = json_object_new_object(),
                    *an = json_object_new_object();
        char name[80], t[40], w[32];
        snprintf(name, sizeof name, "budgetwatch_%s", a->kind);
        label(l, "alertname", name);
        label(l, "unit", a->unit);
        label(l, "project", a->project);
        label(l, "kind", a->kind);
        label(l, "severity", a->severity);
        label(l, "band", a->band);
        label(l, "src", a->src);
        label(l, "service", "budgetwatch");
        char block[BLOCK_MAX], summary[1024];
        bwn_text_block(a, false, d->utc_offset_s, block, sizeof block);
        snprintf(summary, sizeof summary, "%s【%s】%s%s%s：%s", a->project_name[0] ? a->project_name : a->src,
                 bwn_text_severity(a->severity), bwn_text_kind(a->kind), a->band[0] ? " · " : "",
                 a->band, a->has_money && a->shortfall > 0 ? "" : bwn_text_state(a));
        if (a->has_money && a->shortfall > 0) {
            size_t sl = strlen(summary);
            snprintf(summary + sl, sizeof summary - sl, "差额 %s 万元",
                     bw_money_format_wan2(a->shortfall, w, sizeof w));
        }
        label(an, "summary", summary);
        label(an, "description", block);
        /* Annotations, not labels: a label names the alert in Alertmanager,
         * and a handling step is not a new alert. */
        if (a->basis[0])
            label(an, "basis", bwn_text_basis(a->basis));
        if (a->handling[0])
            label(an, "handling", bwn_text_handling(a->handling));
        label(an, "handled_by", a->by);
        if (a->has_amount) {
            char ev[200];
            snprintf(ev, sizeof ev, "%s/%s", a->src, a->id);
            label(an, "event", ev);
            label(an, "amount_wan", bw_money_format_wan2(a->amount, w, sizeof w));
            label(an, "ref", a->ref);
        }
        if (a->has_money) {
            label(an, "shortfall_wan", bw_money_format_wan2(a->shortfall, w, sizeof w));
            label(an, "unit_name", a->unit_name);
            label(an, "project_name", a->project_name);
        }
        json_object_object_add(o, "labels", l);
        json_object_object_add(o, "annotations", an);
        bwn_payload_rfc3339((a->since ? a->since : a->at) * 1000, t, sizeof t);
        json_object_object_add(o, "startsAt", json_object_new_string(t));
        int64_t ends = !strcmp(a->state, "resolved") ? a->at * 1000 : d->now_ms + d->r->resolve_timeout_ms;
        if (!strcmp(a->state, "resolved") && ends <= (a->since ? a->since : a->at) * 1000)
            ends = (a->since ? a->since : a->at) * 1000 + 1000;
        bwn_payload_rfc3339(ends, t, sizeof t);
        json_object_object_add(o, "endsAt", json_object_new_string(t));
        json_object_array_add(arr, o);
    }
    return json_done(arr);
}

static void rfc2822_date(int64_t ms, char *buf, size_t len)
{
    static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", day[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static char *email(const bwn_digest *d, const char *title, const char *text)
{
    size_t tl = strlen(text);
    size_t b64len = (tl + 2) / 3 * 4 + 1;
    char *b64 = malloc(b64len);
    char *subject = malloc(strlen(title) * 2 + 256);
    size_t cap = b64len + b64len / 76 * 2 + strlen(title) * 2 + 2048 + strlen(d->r->to) +
                 strlen(d->r->from);
    char *out = malloc(cap);
    if (!b64 || !subject || !out || bwn_sign_base64(text, tl, b64, b64len) ||
        bwn_sign_rfc2047(title, subject, strlen(title) * 2 + 256)) {
        free(b64);
        free(subject);
        free(out);
        return NULL;
    }
    char date[64];
    rfc2822_date(d->now_ms, date, sizeof date);
    size_t used = (size_t)snprintf(out, cap,
        "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
        "Message-ID: <budgetwatch-notify.%lld@%s>\r\nX-Budgetwatch-Notification: %lld\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n",
        d->r->from, d->r->to, subject, date, (long long)d->id, d->hostname ? d->hostname : "localhost",
        (long long)d->id);
    size_t bl = strlen(b64);
    for (size_t i = 0; i < bl && used + 80 < cap; i += 76) {
        size_t take = bl - i < 76 ? bl - i : 76;
        memcpy(out + used, b64 + i, take);
        used += take;
        memcpy(out + used, "\r\n", 2);
        used += 2;
    }
    out[used] = '\0';
    free(b64);
    free(subject);
    return out;
}

char *bwn_payload_make(const bwn_digest *d, const bwn_item *items, size_t n)
{
    char title[512];
    char *text = body_text(d, items, n, title, sizeof title);
    if (text == NULL)
        return NULL;
    char *out = NULL;
    switch (d->r->type) {
    case BWN_WECOM: out = wecom(d, text); break;
    case BWN_DINGTALK: out = dingtalk(d, title, text); break;
    case BWN_WEBHOOK: out = webhook(d, items, n, title, text); break;
    case BWN_ALERTMANAGER: out = alertmanager(d, items, n); break;
    case BWN_EMAIL: out = email(d, title, text); break;
    default: break;
    }
    free(text);
    return out;
}
