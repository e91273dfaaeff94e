/* test_notify_pure: budgetwatch-notify's decisions, with time passed in —
 * the send limit, backoff and answers, the Chinese text and its split to the
 * robots' size limits, routes, groups and mute windows, the signatures, and
 * the payload each receiver type gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "backoff.h"
#include "config.h"
#include "payload.h"
#include "rate.h"
#include "route.h"
#include "sign.h"
#include "text.h"
#include "vocab.h"
#include "money.h"

/* ---- the send limit: at most max in ANY window ---- */

static void test_rate_window(void **state)
{
    (void)state;
    bwn_rate r;
    assert_int_equal(bwn_rate_init(&r, 3, 1000), 0);
    /* Seeded random instants; a model counts every window. */
    unsigned seed = 18;
    int64_t t = 0, sent[400];
    int n = 0;
    for (int i = 0; i < 2000 && n < 400; i++) {
        t += rand_r(&seed) % 300;
        int64_t next = bwn_rate_next(&r, t);
        assert_true(next >= t);
        if (next == t) {
            bwn_rate_take(&r, t);
            sent[n++] = t;
        }
    }
    assert_true(n > 50);
    for (int i = 0; i + 3 < n; i++)
        if (sent[i + 3] - sent[i] < 1000)
            fail_msg("seed 18: sends %d..%d at %lld..%lld: 4 within a window of 1000 ms", i, i + 3,
                     (long long)sent[i], (long long)sent[i + 3]);
    /* And it does not hold back more than it must: full at 0, free at 1000. */
    bwn_rate q;
    assert_int_equal(bwn_rate_init(&q, 2, 1000), 0);
    bwn_rate_take(&q, 0);
    bwn_rate_take(&q, 10);
    assert_int_equal(bwn_rate_next(&q, 500), 1000);
    assert_int_equal(bwn_rate_next(&q, 1000), 1000);
    bwn_rate_take(&q, 1000);
    assert_int_equal(bwn_rate_next(&q, 1000), 1010);
    bwn_rate u;
    assert_int_equal(bwn_rate_init(&u, 0, 1000), 0);
    for (int i = 0; i < 100; i++)
        bwn_rate_take(&u, 5);
    assert_int_equal(bwn_rate_next(&u, 5), 5);      /* 0: no limit */
    bwn_rate_free(&r);
    bwn_rate_free(&q);
    bwn_rate_free(&u);
}

/* ---- backoff and answers ---- */

static void test_backoff(void **state)
{
    (void)state;
    /* Doubles from min, capped, jittered within [d/2, d]. */
    int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (int a = 1; a <= 7; a++) {
        int64_t lo = bwn_backoff_delay(a, 1000, 30000, 0), hi = bwn_backoff_delay(a, 1000, 30000, UINT32_MAX);
        assert_int_equal(hi, want[a - 1]);
        assert_int_equal(lo, want[a - 1] / 2);
        int64_t mid = bwn_backoff_delay(a, 1000, 30000, UINT32_MAX / 2);
        assert_true(mid > lo && mid < hi);
    }
    assert_int_equal(bwn_backoff_delay(10000, 1000, 300000, UINT32_MAX), 300000);
}

static void test_answers(void **state)
{
    (void)state;
    bwn_answer a;
    bwn_answer_judge(BWN_WECOM, 0, "", 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", 27, "", 60000, &a);
    assert_int_equal(a.verdict, BWN_SENT);
    const char *lim = "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}";
    bwn_answer_judge(BWN_WECOM, 0, "", 200, lim, strlen(lim), "", 60000, &a);
    assert_int_equal(a.verdict, BWN_LIMITED);
    assert_int_equal(a.retry_after_ms, 60000);
    assert_non_null(strstr(a.what, "45009"));
    /* 130101 is DingTalk's, not WeCom's: for WeCom it is a plain failure. */
    const char *dl = "{\"errcode\":130101,\"errmsg\":\"send too fast\"}";
    bwn_answer_judge(BWN_WECOM, 0, "", 200, dl, strlen(dl), "", 60000, &a);
    assert_int_equal(a.verdict, BWN_RETRY);
    bwn_answer_judge(BWN_DINGTALK, 0, "", 200, dl, strlen(dl), "", 600000, &a);
    assert_int_equal(a.verdict, BWN_LIMITED);
    assert_int_equal(a.retry_after_ms, 600000);
    bwn_answer_judge(BWN_WEBHOOK, 0, "", 429, "slow down", 9, "7", 60000, &a);
    assert_int_equal(a.verdict, BWN_LIMITED);
    assert_int_equal(a.retry_after_ms, 7000);
    bwn_answer_judge(BWN_WEBHOOK, 0, "", 503, "down", 4, "", 60000, &a);
    assert_int_equal(a.verdict, BWN_RETRY);
    assert_non_null(strstr(a.what, "HTTP 503"));
    bwn_answer_judge(BWN_ALERTMANAGER, 0, "", 200, "", 0, "", 60000, &a);
    assert_int_equal(a.verdict, BWN_SENT);
    bwn_answer_judge(BWN_DINGTALK, 0, "", 200, "<html>", 6, "", 600000, &a);
    assert_int_equal(a.verdict, BWN_RETRY);        /* 200 without errcode is no success */
    bwn_answer_judge(BWN_EMAIL, 1, "Connection refused (smtp://127.0.0.1:1)", 0, "", 0, "", 0, &a);
    assert_int_equal(a.verdict, BWN_RETRY);
    assert_non_null(strstr(a.what, "smtp://127.0.0.1:1"));
}

/* ---- text ---- */

static bwn_alert lag_alert(uint64_t seq, const char *unit, const char *project)
{
    bwn_alert a = { 0 };
    a.seq = seq;
    snprintf(a.kind, sizeof a.kind, "lag");
    snprintf(a.state, sizeof a.state, "firing");
    snprintf(a.severity, sizeof a.severity, "critical");
    snprintf(a.unit, sizeof a.unit, "%s", unit);
    snprintf(a.unit_name, sizeof a.unit_name, "遵化市社保服务中心");
    snprintf(a.project, sizeof a.project, "%s", project);
    snprintf(a.project_name, sizeof a.project_name, "2022年预计机关事业单位有编退休人员工资缺口");
    a.has_money = true;
    a.budget = 18692000000LL;
    a.paid = 1869200000LL;
    a.shortfall = 3738400000LL + 12345;
    a.rate_bp = 1000;
    a.planned_bp = 3000;
    a.pace_bp = 822;
    a.lag_bp = 2000;
    a.since = 1643558400;      /* 2022-01-31 00:00 +08:00 */
    a.at = a.since;
    return a;
}

static void test_text(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(bw_money_format_wan2(18692000000LL, b, sizeof b), "18692.00");
    assert_string_equal(bw_money_format_wan2(3738412345LL, b, sizeof b), "3738.41");
    assert_string_equal(bw_money_format_wan2(9999, b, sizeof b), "0.00");
    assert_string_equal(bw_money_format_wan2(-350000, b, sizeof b), "-0.35");
    assert_string_equal(bw_money_format_wan2(INT64_MIN, b, sizeof b), "-9223372036854.77");
    assert_string_equal(bwn_text_pct(822, b, sizeof b), "8.22%");
    assert_string_equal(bwn_text_pct(-5, b, sizeof b), "-0.05%");
    assert_string_equal(bwn_text_time(1643558400, 8 * 3600, b, sizeof b), "2022-01-31 00:00");
    bwn_alert a = lag_alert(7, "323003", "130281219RAC9NBCKQYEU");
    snprintf(a.band, sizeof a.band, "红一档");
    char blk[2048];
    size_t n = bwn_text_block(&a, true, 8 * 3600, blk, sizeof blk);
    assert_int_equal(n, strlen(blk));
    const char *want[] = { "【严重】进度滞后 · 红一档 告警", "项目：2022年预计机关事业单位有编退休人员工资缺口（130281219RAC9NBCKQYEU）",
                           "单位：遵化市社保服务中心（323003）", "执行率 10.00%，计划 30.00%，序时进度 8.22%",
                           "差额 3738.41 万元", "自 2022-01-31 00:00 起" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(blk, want[i]))
            fail_msg("block lacks \"%s\":\n%s", want[i], blk);
    /* A kind of the table shows its label; an unknown kind (a newer daemon)
     * its word; a resolution says so. */
    snprintf(a.kind, sizeof a.kind, "stalled");
    bwn_text_block(&a, true, 8 * 3600, blk, sizeof blk);
    assert_non_null(strstr(blk, "长期未支付"));
    snprintf(a.kind, sizeof a.kind, "some_future_kind");
    snprintf(a.state, sizeof a.state, "resolved");
    a.at = a.since + 86400;
    bwn_text_block(&a, false, 8 * 3600, blk, sizeof blk);
    assert_non_null(strstr(blk, "some_future_kind"));
    assert_non_null(strstr(blk, "2022-02-01 00:00 恢复"));
    assert_null(strstr(blk, "> "));
    /* Cut to a small buffer: never inside a UTF-8 sequence. */
    char small[20];
    size_t k = bwn_text_block(&a, false, 0, small, sizeof small);
    assert_true(k < sizeof small);
    assert_int_equal(bwn_text_utf8_cut(small, k, k), k);
    assert_true(k == 0 || ((unsigned char)small[k - 1] & 0xC0) != 0xC0);
}

static void test_split(void **state)
{
    (void)state;
    /* Seeded random block sizes: every part within the limit, every block once, in order. */
    unsigned seed = 4096;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rand_r(&seed) % 60), lens[60], starts[61];
        size_t limit = 500 + (size_t)(rand_r(&seed) % 4000), overhead = 100;
        for (size_t i = 0; i < n; i++)
            lens[i] = 50 + (size_t)(rand_r(&seed) % 400);
        size_t parts = bwn_text_split(lens, n, overhead, limit, starts);
        if (n == 0) {
            assert_int_equal(parts, 0);
            continue;
        }
        assert_int_equal(starts[0], 0);
        assert_int_equal(starts[parts], n);
        for (size_t p = 0; p < parts; p++) {
            assert_true(starts[p + 1] > starts[p]);
            size_t sum = overhead;
            for (size_t i = starts[p]; i < starts[p + 1]; i++)
                sum += lens[i];
            if (sum > limit)
                fail_msg("seed 4096 round %d: part %zu is %zu bytes > %zu", round, p, sum, limit);
            /* Greedy: the next block would not have fitted. */
            if (p + 1 < parts && sum + lens[starts[p + 1]] <= limit)
                fail_msg("seed 4096 round %d: part %zu ended early", round, p);
        }
    }
    size_t big[] = { 10, 5000, 10 }, st[4];
    assert_int_equal(bwn_text_split(big, 3, 0, 100, st), 3);    /* too big: a part of its own */
}

/* ---- routes, groups, mute windows ---- */

static void test_routes(void **state)
{
    (void)state;
    bwn_route r = { 0 };
    snprintf(r.unit, sizeof r.unit, "3230");
    r.kinds.n = 2;
    snprintf(r.kinds.w[0], BWN_WORD_MAX, "lag");
    snprintf(r.kinds.w[1], BWN_WORD_MAX, "milestone");
    r.severities.n = 1;
    snprintf(r.severities.w[0], BWN_WORD_MAX, "critical");
    bwn_alert a = lag_alert(1, "323003", "P1");
    assert_true(bwn_route_match(&r, &a));
    snprintf(a.unit, sizeof a.unit, "324001");
    assert_false(bwn_route_match(&r, &a));           /* unit prefix */
    a = lag_alert(1, "323003", "P1");
    snprintf(a.severity, sizeof a.severity, "warning");
    assert_false(bwn_route_match(&r, &a));
    a = lag_alert(1, "323003", "P1");
    snprintf(a.kind, sizeof a.kind, "overspend");
    assert_false(bwn_route_match(&r, &a));
    r.bands.n = 1;
    snprintf(r.bands.w[0], BWN_WORD_MAX, "红一档");
    a = lag_alert(1, "323003", "P1");
    assert_false(bwn_route_match(&r, &a));           /* no band: not in the list */
    snprintf(a.band, sizeof a.band, "红一档");
    assert_true(bwn_route_match(&r, &a));
    bwn_route any = { 0 };
    assert_true(bwn_route_match(&any, &a));

    char key[256], label[256];
    r.group_by.n = 2;
    snprintf(r.group_by.w[0], BWN_WORD_MAX, "unit");
    snprintf(r.group_by.w[1], BWN_WORD_MAX, "kind");
    bwn_route_group_key(&r, &a, key, sizeof key);
    assert_string_equal(key, "unit=323003,kind=lag");
    bwn_route_group_label(&r, &a, label, sizeof label);
    assert_string_equal(label, "遵化市社保服务中心");
    bwn_route_group_key(&any, &a, key, sizeof key);
    assert_string_equal(key, "");

    r.group_wait_ms = 30000;
    r.group_interval_ms = 300000;
    assert_int_equal(bwn_route_group_due(&r, 1000, 0), 31000);          /* first: group_wait */
    assert_int_equal(bwn_route_group_due(&r, 1000, 900), 300900);       /* then group_interval */
    assert_int_equal(bwn_route_group_due(&r, 900000, 900), 930000);     /* long after: wait again */
}

static void test_mute(void **state)
{
    (void)state;
    bwn_route r = { 0 };
    r.nmute = 2;
    r.mute[0] = (bwn_mute){ 22 * 60, 8 * 60, 0 };           /* nights */
    r.mute[1] = (bwn_mute){ 0, 1440, 1u | 1u << 6 };        /* weekends */
    int64_t off = 8 * 3600;
    /* 2022-01-05 (Wednesday) 23:30 local: muted until 08:00 Thursday. */
    int64_t wed_2330 = (1641340800LL - off + 23 * 3600 + 30 * 60) * 1000;
    int64_t thu_0800 = (1641340800LL + 86400 - off + 8 * 3600) * 1000;
    assert_int_equal(bwn_route_unmuted_at(&r, "warning", wed_2330, off, NULL, 0), thu_0800);
    assert_int_equal(bwn_route_unmuted_at(&r, "critical", wed_2330, off, NULL, 0), wed_2330);
    int64_t wed_1000 = (1641340800LL - off + 10 * 3600) * 1000;
    assert_int_equal(bwn_route_unmuted_at(&r, "warning", wed_1000, off, NULL, 0), wed_1000);
    /* Friday 2022-01-07 20:00: the weekend starts at Saturday 00:00 and nights
     * before it: free until 22:00, so now; at 23:00 it waits to Monday 08:00. */
    int64_t fri_2000 = (1641340800LL + 2 * 86400 - off + 20 * 3600) * 1000;
    assert_int_equal(bwn_route_unmuted_at(&r, "warning", fri_2000, off, NULL, 0), fri_2000);
    int64_t fri_2300 = fri_2000 + 3 * 3600 * 1000;
    int64_t mon_0800 = (1641340800LL + 5 * 86400 - off + 8 * 3600) * 1000;
    assert_int_equal(bwn_route_unmuted_at(&r, "warning", fri_2300, off, NULL, 0), mon_0800);
    /* A holiday on Monday 2022-01-10 moves it to Tuesday 08:00. */
    r.mute_holidays = true;
    int32_t hol[] = { (int32_t)((1641340800LL + 5 * 86400) / 86400) };
    assert_int_equal(bwn_route_unmuted_at(&r, "warning", fri_2300, off, hol, 1), mon_0800 + 86400000LL);
}

/* ---- signatures ---- */

static void test_sign(void **state)
{
    (void)state;
    char out[256];
    /* Python: quote_plus(b64encode(hmac(secret, "%d\n%s" % (ts, secret), sha256))) */
    assert_int_equal(bwn_sign_dingtalk("SECabc123", 1640966400000LL, out, sizeof out), 0);
    assert_string_equal(out, "6R4Z7CuRhNOsb9%2BNDoMwpNUtJsw7IrMD9woWKsA%2BCi4%3D");
    assert_int_equal(bwn_sign_hmac_hex("k3y", "{\"a\":1}", 7, out, sizeof out), 0);
    assert_string_equal(out, "sha256=32db719f172c48e89dbfa56ed20d9e19cdbfdbe9f652ccdf5fa03494d2444853");
    assert_int_equal(bwn_sign_rfc2047("预算执行告警 · 遵化市社保服务中心 · 3 条", out, sizeof out), 0);
    /* Each word decodes to whole characters; their concatenation is the subject. */
    assert_int_equal(strncmp(out, "=?UTF-8?B?", 10), 0);
    assert_non_null(strstr(out, "?=\r\n =?UTF-8?B?"));
    assert_int_equal(bwn_sign_rfc2047("plain ascii", out, sizeof out), 0);
    assert_string_equal(out, "plain ascii");
    assert_int_equal(bwn_sign_urlencode("a b+/=~", out, sizeof out), 0);
    assert_string_equal(out, "a%20b%2B%2F%3D~");
}

/* ---- payloads ---- */

static bwn_receiver receiver(bwn_rtype t, bool markdown, size_t max)
{
    bwn_receiver r = { 0 };
    snprintf(r.name, sizeof r.name, "r1");
    r.type = t;
    r.markdown = markdown;
    r.max_bytes = max;
    r.resolve_timeout_ms = 300000;
    snprintf(r.from, sizeof r.from, "bw@example.org");
    snprintf(r.to, sizeof r.to, "chief@example.org");
    return r;
}

static json_object *parse(const char *s)
{
    json_object *o = json_tokener_parse(s);
    if (o == NULL)
        fail_msg("not JSON: %s", s);
    return o;
}

static const char *jstr(json_object *o, const char *path1, const char *path2)
{
    json_object *a, *b;
    if (!json_object_object_get_ex(o, path1, &a))
        return NULL;
    if (path2 == NULL)
        return json_object_get_string(a);
    return json_object_object_get_ex(a, path2, &b) ? json_object_get_string(b) : NULL;
}

static void test_payload_robots(void **state)
{
    (void)state;
    /* 40 alerts of one unit split into WeCom text parts of at most 2048 bytes. */
    bwn_item it[40];
    for (int i = 0; i < 40; i++) {
        it[i] = (bwn_item){ 0 };
        it[i].a = lag_alert((uint64_t)i + 1, "323003", "P");
        snprintf(it[i].a.project, sizeof it[i].a.project, "P%02d", i);
        if (i % 2)      /* short blocks too: many to a part, many separators */
            snprintf(it[i].a.project_name, sizeof it[i].a.project_name, "短");
    }
    bwn_route route = { 0 };
    route.mention.n = 1;
    snprintf(route.mention.w[0], BWN_WORD_MAX, "13800000000");
    for (int fmt = 0; fmt < 3; fmt++) {
        bwn_receiver r = fmt == 0 ? receiver(BWN_WECOM, false, 2048) : fmt == 1 ? receiver(BWN_WECOM, true, 4096)
                                                                     : receiver(BWN_DINGTALK, true, 4096);
        bwn_digest d = { &r, &route, 12, "unit=323003", "遵化市社保服务中心", 0, 0, 40, 0, 8 * 3600, "h" };
        size_t lens[40], starts[41], overhead;
        bwn_payload_measure(&d, it, 40, lens, &overhead);
        size_t parts = bwn_text_split(lens, 40, overhead, r.max_bytes, starts);
        assert_true(parts > 1);
        d.parts = parts;
        int seen = 0;
        for (size_t p = 0; p < parts; p++) {
            d.part = p + 1;
            d.id = 100 + (int64_t)p;
            char *s = bwn_payload_make(&d, it + starts[p], starts[p + 1] - starts[p]);
            json_object *o = parse(s);
            const char *type = jstr(o, "msgtype", NULL);
            const char *content = fmt == 0 ? jstr(o, "text", "content") : fmt == 1 ? jstr(o, "markdown", "content")
                                                                        : jstr(o, "markdown", "text");
            assert_string_equal(type, fmt == 0 ? "text" : "markdown");
            assert_non_null(content);
            if (strlen(content) > r.max_bytes)
                fail_msg("format %d part %zu: %zu bytes > %zu", fmt, p, strlen(content), r.max_bytes);
            /* Every block whole: its last line ("自 ... 起") is there. */
            size_t ends = 0;
            for (const char *q = content; (q = strstr(q, " 起\n")) != NULL; q++)
                ends++;
            assert_int_equal(ends, starts[p + 1] - starts[p]);
            char id[32];
            snprintf(id, sizeof id, "通知编号 #%lld", (long long)d.id);
            assert_non_null(strstr(content, id));
            for (int i = 0; i < 40; i++) {
                char code[16];
                snprintf(code, sizeof code, "（P%02d）", i);
                if (strstr(content, code))
                    seen++;
            }
            if (fmt == 0) {
                json_object *t, *m;
                assert_true(json_object_object_get_ex(o, "text", &t));
                assert_true(json_object_object_get_ex(t, "mentioned_mobile_list", &m));
                assert_string_equal(json_object_get_string(json_object_array_get_idx(m, 0)), "13800000000");
            }
            if (fmt == 2) {
                assert_non_null(strstr(jstr(o, "markdown", "title"), "遵化市社保服务中心"));
                assert_non_null(strstr(content, "@13800000000"));
            }
            json_object_put(o);
            free(s);
        }
        assert_int_equal(seen, 40);     /* every alert in some part, once */
    }
}

static void test_payload_small_blocks_stay_whole(void **state)
{
    (void)state;
    /* Source notices are short: dozens to a part, and the newlines between
     * them must be counted, or the last block of a part is cut. */
    bwn_item it[120];
    memset(it, 0, sizeof it);
    for (int i = 0; i < 120; i++) {
        bwn_alert *a = &it[i].a;
        a->seq = (uint64_t)i + 1;
        snprintf(a->kind, sizeof a->kind, "source_gap");
        snprintf(a->state, sizeof a->state, "firing");
        snprintf(a->severity, sizeof a->severity, "warning");
        snprintf(a->src, sizeof a->src, "s%d", i);
        a->expected_seq = 1;
        a->got_seq = 2;
    }
    bwn_receiver r = receiver(BWN_WECOM, false, 2048);
    bwn_digest d = { &r, NULL, 1, "", "全部", 0, 0, 120, 0, 0, "h" };
    size_t lens[120], starts[121], overhead;
    bwn_payload_measure(&d, it, 120, lens, &overhead);
    size_t parts = bwn_text_split(lens, 120, overhead, r.max_bytes, starts);
    d.parts = parts;
    size_t total = 0;
    for (size_t p = 0; p < parts; p++) {
        d.part = p + 1;
        char *s = bwn_payload_make(&d, it + starts[p], starts[p + 1] - starts[p]);
        json_object *o = parse(s);
        const char *content = jstr(o, "text", "content");
        assert_true(strlen(content) <= 2048);
        /* The measure is an upper bound of what the part holds. */
        size_t sum = overhead;
        for (size_t i = starts[p]; i < starts[p + 1]; i++)
            sum += lens[i];
        assert_true(strlen(content) <= sum);
        size_t ends = 0;
        for (const char *q = content; (q = strstr(q, " 起\n")) != NULL; q++)
            ends++;
        assert_int_equal(ends, starts[p + 1] - starts[p]);
        total += ends;
        json_object_put(o);
        free(s);
    }
    assert_int_equal(total, 120);
}

static void test_payload_alertmanager(void **state)
{
    (void)state;
    bwn_receiver r = receiver(BWN_ALERTMANAGER, false, 65536);
    bwn_item it[2];
    memset(it, 0, sizeof it);
    it[0].a = lag_alert(1, "323003", "P1");
    snprintf(it[0].a.band, sizeof it[0].a.band, "红一档");
    it[1].a = lag_alert(2, "323003", "P1");
    snprintf(it[1].a.state, sizeof it[1].a.state, "resolved");
    it[1].a.at = it[1].a.since + 3600;
    bwn_digest d = { &r, NULL, 5, "", "全部", 1, 1, 2, 1643600000000LL, 8 * 3600, "h" };
    /* The firing one alone. */
    char *s = bwn_payload_make(&d, it, 1);
    json_object *o = parse(s);
    assert_int_equal(json_object_array_length(o), 1);
    json_object *a = json_object_array_get_idx(o, 0);
    assert_string_equal(jstr(a, "labels", "alertname"), "budgetwatch_lag");
    assert_string_equal(jstr(a, "labels", "unit"), "323003");
    assert_string_equal(jstr(a, "labels", "project"), "P1");
    assert_string_equal(jstr(a, "labels", "severity"), "critical");
    assert_string_equal(jstr(a, "labels", "band"), "红一档");
    assert_string_equal(jstr(a, "annotations", "shortfall_wan"), "3738.41");
    assert_non_null(strstr(jstr(a, "annotations", "summary"), "差额 3738.41 万元"));
    assert_string_equal(jstr(a, "startsAt", NULL), "2022-01-30T16:00:00.000Z");
    assert_string_equal(jstr(a, "endsAt", NULL), "2022-01-31T03:38:20.000Z");  /* now + resolve_timeout */
    json_object_put(o);
    free(s);
    /* Firing then resolved in one part: only the later message, with endsAt = at. */
    s = bwn_payload_make(&d, it, 2);
    o = parse(s);
    assert_int_equal(json_object_array_length(o), 1);
    assert_string_equal(jstr(json_object_array_get_idx(o, 0), "endsAt", NULL), "2022-01-30T17:00:00.000Z");
    json_object_put(o);
    free(s);
}

static void test_payload_email(void **state)
{
    (void)state;
    bwn_receiver r = receiver(BWN_EMAIL, false, 65536);
    bwn_item it = { 0 };
    it.a = lag_alert(1, "323003", "P1");
    bwn_digest d = { &r, NULL, 9, "", "全部", 1, 1, 1, 1643600000000LL, 8 * 3600, "host.example" };
    char *s = bwn_payload_make(&d, &it, 1);
    assert_non_null(strstr(s, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(s, "Message-ID: <budgetwatch-notify.9@host.example>\r\n"));
    assert_non_null(strstr(s, "Content-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(s, "To: chief@example.org\r\n"));
    char *body = strstr(s, "\r\n\r\n");
    assert_non_null(body);
    for (char *line = body + 4; *line; ) {
        char *e = strstr(line, "\r\n");
        assert_non_null(e);
        assert_true(e - line <= 76);
        line = e + 2;
    }
    free(s);
}

/* ---- configuration: file:line errors ---- */

static int load_text(const char *text, bwn_config *c, char *err)
{
    char path[] = "/tmp/bwn-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    int rc = bwn_config_load(path, c, err);
    unlink(path);
    return rc;
}

static void test_config(void **state)
{
    (void)state;
    bwn_config c;
    char err[BWN_ERR_MAX];
    const char *good =
        "[notify]\nalerts = ipc:///run/a.sock\ncontrol = ipc:///run/c.sock\noutbox = /tmp/x.db\n"
        "[receiver office]\ntype = wecom\nurl = https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K\n"
        "format = text\nrate_limit = 20/3s\n"
        "[receiver ding]\ntype = dingtalk\nurl = https://oapi.dingtalk.com/robot/send?access_token=T\nsecret = SEC1\n"
        "[route night]\nunit = 3230\nkind = lag, milestone\nseverity = warning\nreceivers = office, ding\n"
        "group_by = unit\ngroup_wait = 500ms\ngroup_interval = 2m\nmute = 22:00-08:00, weekend, holidays\nrepeat = none\n";
    assert_int_equal(load_text(good, &c, err), 0);
    assert_int_equal(c.nreceivers, 2);
    assert_int_equal(c.receivers[0].type, BWN_WECOM);
    assert_int_equal(c.receivers[0].max_bytes, 2048);       /* text */
    assert_int_equal(c.receivers[0].rate_max, 20);
    assert_int_equal(c.receivers[0].rate_window_ms, 3000);
    assert_int_equal(c.receivers[1].rate_max, 20);          /* robots: 20 a minute by default */
    assert_int_equal(c.receivers[1].rate_window_ms, 60000);
    assert_int_equal(c.receivers[1].limited_ms, 600000);    /* DingTalk's 10-minute lock */
    assert_int_equal(c.routes[0].group_wait_ms, 500);
    assert_int_equal(c.routes[0].group_interval_ms, 120000);
    assert_int_equal(c.routes[0].nmute, 2);
    assert_true(c.routes[0].mute_holidays);
    assert_false(c.routes[0].repeat);
    assert_int_equal(c.routes[0].kinds.n, 2);
    assert_string_equal(c.routes[0].kinds.w[1], "milestone");
    bwn_config_free(&c);

    static const struct { const char *text; int line; const char *says; } bad[] = {
        { "[notify]\nalerts = a\ncontrol = b\n[receiver x]\ntype = pager\n", 5, "no receiver type" },
        { "[notify]\nalerts = a\ncontrol = b\n[receiver x]\ntype = wecom\nurl = u\nrate_limit = 20\n", 7, "COUNT/DURATION" },
        { "[notify]\nalerts = a\ncontrol = b\n[route r]\nunit = 1\nreceivers = nobody\n", 6, "no [receiver nobody]" },
        { "[notify]\nalerts = a\ncontrol = b\n[route r]\ngroup_wait = soon\n", 5, "not a duration" },
        { "[notify]\nalerts = a\nbogus = 1\n", 3, "unknown key" },
        { "[notify]\nalerts = a\ncontrol = b\n[receiver d]\ntype = dingtalk\nurl = u\n", 5, "secret" },
        { "[notify]\nalerts = a\ncontrol = b\n[route r]\nmute = 25:00-08:00\n", 5, "not a window" },
        { "[notify]\nalerts = a\ncontrol = b\n[route r]\nseverity = high\n", 5, "severities are" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(load_text(bad[i].text, &c, err), -1);
        char at[32];
        snprintf(at, sizeof at, ":%d: ", bad[i].line);
        if (!strstr(err, at) || !strstr(err, bad[i].says))
            fail_msg("case %zu: want line %d and \"%s\", got: %s", i, bad[i].line, bad[i].says, err);
    }
}

/* Issue 16's keys in the text: the basis (序时进度's shortfall when the lag
 * is judged against it), a large payment's event and amount, a handling
 * step with who took it, and the headline a digest's title carries. The
 * words come from the tables (kinds.h, vocab.h), not from copies here. */
static void test_text_monitoring(void **state)
{
    (void)state;
    char blk[2048], want[256], head[256], k[64];
    bwn_alert a = lag_alert(8, "323003", "P1");
    snprintf(a.basis, sizeof a.basis, "pace");
    a.has_pace = true;
    a.pace_shortfall = 250000;          /* 0.25 万元 against 序时进度 */
    bwn_text_block(&a, false, 8 * 3600, blk, sizeof blk);
    snprintf(want, sizeof want, "（对照%s）", bw_basis_label(BW_BASIS_PACE));
    assert_non_null(strstr(blk, want));
    assert_non_null(strstr(blk, "差额 0.25 万元"));
    snprintf(a.basis, sizeof a.basis, "plan");
    bwn_text_block(&a, false, 8 * 3600, blk, sizeof blk);
    assert_non_null(strstr(blk, "差额 3738.41 万元"));

    bwn_alert p = lag_alert(9, "323003", "P1");
    snprintf(p.kind, sizeof p.kind, "large_payment");
    snprintf(p.severity, sizeof p.severity, "warning");
    snprintf(p.src, sizeof p.src, "guoku");
    snprintf(p.id, sizeof p.id, "2022-000123");
    snprintf(p.ref, sizeof p.ref, "HT-7");
    p.has_amount = true;
    p.amount = 2000009999LL;            /* 2000.00 万元: 99.99 yuan cut toward zero */
    bwn_text_block(&p, false, 8 * 3600, blk, sizeof blk);
    assert_non_null(strstr(blk, bw_kind_label(BW_KIND_LARGE_PAYMENT)));
    assert_non_null(strstr(blk, "支付 guoku/2022-000123，金额 2000.00 万元，关联 HT-7"));
    assert_null(strstr(blk, "序号跳跃"));
    bwn_text_headline(&p, true, head, sizeof head);
    assert_string_equal(head, bw_kind_label(BW_KIND_LARGE_PAYMENT));

    for (int h = BW_HANDLING_FOLLOWED_UP; h < BW_HANDLINGS; h++) {
        snprintf(p.state, sizeof p.state, "acknowledged");
        snprintf(p.handling, sizeof p.handling, "%s", bw_handling_name(h));
        snprintf(p.by, sizeof p.by, "王科长");
        snprintf(p.note, sizeof p.note, "年初一次拨付");
        bwn_text_block(&p, false, 8 * 3600, blk, sizeof blk);
        snprintf(want, sizeof want, "%s：王科长，年初一次拨付", bw_handling_label(h));
        if (!strstr(blk, want))
            fail_msg("the step %s lacks \"%s\":\n%s", bw_handling_name(h), want, blk);
        bwn_text_headline(&p, true, head, sizeof head);
        snprintf(want, sizeof want, "%s %s", bw_kind_label(BW_KIND_LARGE_PAYMENT), bw_handling_label(h));
        assert_string_equal(head, want);
    }
    /* An ack from before handling: 已确认. */
    p.handling[0] = '\0';
    assert_string_equal(bwn_text_state(&p), "已确认");

    /* A digest's items share a headline, or have none. */
    bwn_item it[2] = { { .a = a }, { .a = a } };
    snprintf(it[0].a.band, sizeof it[0].a.band, "红一档");
    snprintf(it[1].a.band, sizeof it[1].a.band, "红一档");
    bwn_payload_headline(it, 2, head, sizeof head);
    snprintf(k, sizeof k, "%s 红一档", bw_kind_label(BW_KIND_LAG));
    assert_string_equal(head, k);
    snprintf(it[1].a.state, sizeof it[1].a.state, "acknowledged");
    snprintf(it[1].a.handling, sizeof it[1].a.handling, "followed_up");
    bwn_payload_headline(it, 2, head, sizeof head);
    assert_string_equal(head, k);       /* a firing alert and its step: kind and band */
    snprintf(it[1].a.band, sizeof it[1].a.band, "红二档");
    bwn_payload_headline(it, 2, head, sizeof head);
    assert_string_equal(head, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_window),   cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_answers),       cmocka_unit_test(test_text),
        cmocka_unit_test(test_split),         cmocka_unit_test(test_routes),
        cmocka_unit_test(test_mute),          cmocka_unit_test(test_sign),
        cmocka_unit_test(test_payload_robots), cmocka_unit_test(test_payload_alertmanager),
        cmocka_unit_test(test_payload_email), cmocka_unit_test(test_config),
        cmocka_unit_test(test_payload_small_blocks_stay_whole),
        cmocka_unit_test(test_text_monitoring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
