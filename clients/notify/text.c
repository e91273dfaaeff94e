/* text: the notification's Chinese text (see text.h). */
#include "text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vocab.h"
#include "money.h"

char *bwn_text_pct(int64_t bp, char *buf, size_t len)
{
    uint64_t mag = bp < 0 ? (uint64_t)0 - (uint64_t)bp : (uint64_t)bp;
    snprintf(buf, len, "%s%" PRIu64 ".%02" PRIu64 "%%", bp < 0 ? "-" : "", mag / 100, mag % 100);
    return buf;
}

char *bwn_text_time(int64_t t, int64_t utc_offset_s, char *buf, size_t len)
{
    time_t local = (time_t)(t + utc_offset_s);
    struct tm tm;
    if (gmtime_r(&local, &tm) == NULL)
        snprintf(buf, len, "%" PRId64, t);
    else
        snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
    return buf;
}

const char *bwn_text_severity(const char *s)
{
    return !strcmp(s, "critical") ? "严重" : !strcmp(s, "warning") ? "预警" : s;
}

/* vocab.h's words; a step a newer daemon adds: its word. */
const char *bwn_text_handling(const char *h)
{
    int k = bw_handling_parse(h);
    return k >= 0 ? bw_handling_label(k) : h;
}

const char *bwn_text_basis(const char *basis)
{
    int b = bw_basis_parse(basis);
    return b >= 0 ? bw_basis_label(b) : basis;
}

const char *bwn_text_state(const bwn_alert *a)
{
    if (!strcmp(a->state, "firing"))
        return "告警";
    if (!strcmp(a->state, "resolved"))
        return "已恢复";
    if (!strcmp(a->state, "acknowledged"))     /* a handling step; before §1.7, an ack */
        return a->handling[0] ? bwn_text_handling(a->handling) : "已确认";
    return a->state;
}

const char *bwn_text_kind(const char *kind)
{
    int k = bw_kind_parse(kind);
    return k >= 0 ? bw_kind_label(k) : kind;
}

size_t bwn_text_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

typedef struct out {
    char *buf;
    size_t len, used;
    bool full;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    char line[1600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t w = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    size_t room = o->len > o->used ? o->len - o->used - 1 : 0;
    if (w > room) {
        w = bwn_text_utf8_cut(line, w, room);
        o->full = true;
    }
    memcpy(o->buf + o->used, line, w);
    o->used += w;
    o->buf[o->used] = '\0';
}

/* The band as a person reads it: "" when it only repeats the severity (a
 * daemon without [alerts] bands names its two bands warning and critical,
 * and the head already says 预警 or 严重). */
static const char *shown_band(const bwn_alert *a)
{
    return strcmp(a->band, a->severity) ? a->band : "";
}

size_t bwn_text_block(const bwn_alert *a, bool md, int64_t off, char *buf, size_t len)
{
    if (len == 0)
        return 0;
    out o = { buf, len, 0, false };
    buf[0] = '\0';
    const char *q = md ? "> " : "";
    char t1[32], t2[32], t3[32], w[32], ts[32];
    const char *band = shown_band(a);
    put(&o, "%s【%s】%s%s%s %s%s\n", md ? "**" : "", bwn_text_severity(a->severity),
        bwn_text_kind(a->kind), band[0] ? " · " : "", band, bwn_text_state(a), md ? "**" : "");
    if (a->project[0])
        put(&o, "%s项目：%s（%s）\n", q, a->project_name, a->project);
    if (a->unit[0])
        put(&o, "%s单位：%s（%s）\n", q, a->unit_name, a->unit);
    if (a->has_money) {
        /* The shortfall against what the lag is judged by: 序时进度's share
         * when the basis is pace, else the plan's. */
        bool pace = !strcmp(a->basis, "pace") && a->has_pace;
        int64_t sf = pace ? a->pace_shortfall : a->shortfall;
        const char *against = pace ? "序时进度" : "计划";
        put(&o, "%s执行率 %s，计划 %s，序时进度 %s%s%s%s\n", q,
            bwn_text_pct(a->rate_bp, t1, sizeof t1), bwn_text_pct(a->planned_bp, t2, sizeof t2),
            bwn_text_pct(a->pace_bp, t3, sizeof t3), a->basis[0] ? "（对照" : "",
            a->basis[0] ? bwn_text_basis(a->basis) : "", a->basis[0] ? "）" : "");
        if (sf > 0)
            put(&o, "%s差额 %s 万元（预算 %s 万元）\n", q, bw_money_format_wan2(sf, w, sizeof w),
                bw_money_format_wan2(a->budget, t1, sizeof t1));
        else
            put(&o, "%s无差额（超出%s %s 万元）\n", q, against, bw_money_format_wan2(-sf, w, sizeof w));
    }
    if (a->milestone[0])
        put(&o, "%s节点 %s 未达\n", q, a->milestone);
    if (a->has_amount)
        put(&o, "%s支付 %s/%s，金额 %s 万元%s%s\n", q, a->src, a->id,
            bw_money_format_wan2(a->amount, w, sizeof w), a->ref[0] ? "，关联 " : "", a->ref);
    else if (a->src[0])
        put(&o, "%s来源 %s 序号跳跃：应为 %" PRIu64 "，收到 %" PRIu64 "\n", q, a->src,
            a->expected_seq, a->got_seq);
    if (!strcmp(a->state, "acknowledged") && (a->by[0] || a->note[0]))
        put(&o, "%s%s：%s%s%s\n", q, bwn_text_state(a), a->by[0] ? a->by : "（未署名）",
            a->note[0] ? "，" : "", a->note);
    else if (a->note[0])
        put(&o, "%s%s\n", q, a->note);
    if (!strcmp(a->state, "resolved"))
        put(&o, "%s自 %s 起，%s 恢复\n", q, bwn_text_time(a->since, off, ts, sizeof ts),
            bwn_text_time(a->at, off, t1, sizeof t1));
    else
        put(&o, "%s自 %s 起\n", q, bwn_text_time(a->since, off, ts, sizeof ts));
    return o.used;
}

size_t bwn_text_headline(const bwn_alert *a, bool with_state, char *buf, size_t len)
{
    const char *band = shown_band(a);
    bool st = with_state && strcmp(a->state, "firing");
    int n = snprintf(buf, len, "%s%s%s%s%s", bwn_text_kind(a->kind), band[0] ? " " : "", band,
                     st ? " " : "", st ? bwn_text_state(a) : "");
    return n > 0 ? (size_t)n : 0;
}

void bwn_text_title(const char *label, size_t nalerts, size_t part, size_t parts, char *buf,
                    size_t len)
{
    if (parts > 1)
        snprintf(buf, len, "预算执行告警 · %s · %zu 条（%zu/%zu）", label, nalerts, part, parts);
    else
        snprintf(buf, len, "预算执行告警 · %s · %zu 条", label, nalerts);
}

size_t bwn_text_split(const size_t *lens, size_t n, size_t overhead, size_t limit, size_t *starts)
{
    size_t parts = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts == 0 || used + lens[i] + overhead > limit) {
            if (parts == 0 || used > 0) {
                starts[parts++] = i;
                used = 0;
            }
        }
        used += lens[i];
    }
    starts[parts] = n;
    return parts;
}
