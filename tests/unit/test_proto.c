/* test_proto: every message round-trips; every rule of PROTOCOL.md has a case;
 * golden vectors from an independent encoder decode field by field; and no
 * input — truncated, mutated or random — crashes the decoder or reads past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static char why[BW_WHY_MAX];

/* ---- building raw maps for the negative cases ---- */

typedef struct raw {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} raw;

static void raw_map(raw *r, size_t n)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&r->pk, n);
}

/* A valid event with one key left out (skip) or replaced by `bad` packing. */
typedef void (*packfn)(msgpack_packer *pk);

static const char *const ev_keys[] = { "v", "type", "src", "id", "project", "amount", "ts" };
#define NEV 7

static void pack_good(msgpack_packer *pk, int i)
{
    switch (i) {
    case 0: msgpack_pack_uint64(pk, 1); break;
    case 1: bw_pack_str(pk, "disbursement"); break;
    case 2: bw_pack_str(pk, "treasury"); break;
    case 3: bw_pack_str(pk, "e1"); break;
    case 4: bw_pack_str(pk, "P1"); break;
    case 5: msgpack_pack_int64(pk, 100); break;
    case 6: msgpack_pack_int64(pk, 1641000000); break;
    }
}

/* Encodes the required event keys; key `skip` left out; key `swap` packed by bad. */
static void event_with(raw *r, int skip, int swap, packfn bad)
{
    raw_map(r, NEV - (skip >= 0));
    for (int i = 0; i < NEV; i++) {
        if (i == skip)
            continue;
        bw_pack_str(&r->pk, ev_keys[i]);
        if (i == swap)
            bad(&r->pk);
        else
            pack_good(&r->pk, i);
    }
}

static int decode_raw(raw *r, bw_event *ev)
{
    int rc = bw_event_decode(r->sb.data, r->sb.size, ev, why, sizeof why);
    msgpack_sbuffer_destroy(&r->sb);
    return rc;
}

/* ---- round trips ---- */

static bw_event sample_event(void)
{
    bw_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = BW_EV_REFUND;
    ev.fund = BW_FUND_OTHER;
    ev.has_seq = true;
    ev.seq = 77;
    ev.amount = INT64_MAX;
    ev.ts = -5;
    strcpy(ev.src, "treasury-zunhua");
    strcpy(ev.id, "2022-000123");
    strcpy(ev.project, "323-0804-YXN-8B8X");
    strcpy(ev.unit, "323003");
    strcpy(ev.ref, "2022-000100");
    return ev;
}

static void test_event_round_trip(void **state)
{
    (void)state;
    bw_event ev = sample_event(), back;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(bw_event_encode(&ev, &sb), 0);
    assert_int_equal(bw_event_decode(sb.data, sb.size, &back, why, sizeof why), 0);
    assert_memory_equal(&ev, &back, sizeof ev);
    /* Without the optional keys: defaults come back. */
    bw_event min = ev;
    min.has_seq = false;
    min.seq = 0;
    memset(min.unit, 0, sizeof min.unit);
    memset(min.ref, 0, sizeof min.ref);
    min.fund = BW_FUND_FISCAL;
    min.type = BW_EV_DISBURSEMENT;
    sb.size = 0;
    assert_int_equal(bw_event_encode(&min, &sb), 0);
    assert_int_equal(bw_event_decode(sb.data, sb.size, &back, why, sizeof why), 0);
    assert_memory_equal(&min, &back, sizeof min);
    msgpack_sbuffer_destroy(&sb);
}

static void test_ack_round_trip(void **state)
{
    (void)state;
    for (int st = 0; st <= BW_ACK_REJECTED; st++) {
        bw_ack a = { .status = (uint8_t)st }, back;
        strcpy(a.src, st == 2 ? "" : "s");
        strcpy(a.id, st == 2 ? "" : "i");
        if (st == BW_ACK_REJECTED)
            strcpy(a.reason, "top level must be a map");
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        assert_int_equal(bw_ack_encode(&a, &sb), 0);
        assert_int_equal(bw_ack_decode(sb.data, sb.size, &back, why, sizeof why), 0);
        assert_memory_equal(&a, &back, sizeof a);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* The kind table: today's values and wire words are the protocol's and may not
 * move (PROTOCOL.md §1.3); every word parses back to its kind; scope, ack and
 * the ack list come from the table. */
static void test_kind_table(void **state)
{
    (void)state;
    static const char *const words[] = { "lag", "milestone", "overspend", "year_end",
                                         "stalled", "large_payment", "burst", "year_end_rush",
                                         "source_gap", "ledger_damaged" };
    assert_int_equal(BW_KINDS, 10);
    assert_int_equal(BW_PROJECT_KINDS, 8);
    assert_int_equal(BW_KIND_LAG, 0);
    assert_int_equal(BW_KIND_MILESTONE, 1);
    assert_int_equal(BW_KIND_OVERSPEND, 2);
    assert_int_equal(BW_KIND_YEAR_END, 3);
    assert_int_equal(BW_KIND_STALLED, 4);
    assert_int_equal(BW_KIND_LARGE_PAYMENT, 5);
    assert_int_equal(BW_KIND_BURST, 6);
    assert_int_equal(BW_KIND_YEAR_END_RUSH, 7);
    assert_int_equal(BW_KIND_SOURCE_GAP, 8);
    assert_int_equal(BW_KIND_LEDGER_DAMAGED, 9);
    for (int k = 0; k < BW_KINDS; k++) {
        assert_string_equal(bw_kind_name(k), words[k]);
        assert_string_equal(bw_kind_names()[k], words[k]);
        assert_int_equal(bw_kind_parse(words[k]), k);
        assert_ptr_equal(bw_kind_info_of(k)->name, bw_kind_name(k));
        assert_true(bw_kind_label(k)[0] != '\0' && strcmp(bw_kind_label(k), "?") != 0);
        assert_true(strlen(bw_kind_description(k)) > 10);
        /* Project kinds first: the engine indexes its slots by kind. */
        assert_int_equal(bw_kind_is_project(k), k < BW_PROJECT_KINDS);
        assert_int_equal(bw_kind_ackable(k), k < BW_PROJECT_KINDS);
    }
    assert_int_equal(bw_kind_parse("Lag"), -1);
    assert_int_equal(bw_kind_parse(""), -1);
    assert_string_equal(bw_kind_name(-1), "?");
    assert_string_equal(bw_kind_name(BW_KINDS), "?");
    assert_false(bw_kind_is_project(BW_KINDS));
    assert_false(bw_kind_ackable(-1));
    assert_null(bw_kind_info_of(BW_KINDS));

    char list[128];
    size_t n = bw_kinds_ackable_list(list, sizeof list);
    assert_string_equal(list, "lag, milestone, overspend, year_end, stalled, large_payment, burst or "
                        "year_end_rush");
    assert_int_equal(n, strlen(list));
    char small[8];      /* cut short, still a string, and says how much it needs */
    assert_int_equal(bw_kinds_ackable_list(small, sizeof small), n);
    assert_string_equal(small, "lag, mi");

    /* The decoder takes its words from the table, and names them all. */
    raw r;
    raw_map(&r, 5);
    msgpack_pack_str_with_body(&r.pk, "v", 1);
    msgpack_pack_uint8(&r.pk, 1);
    msgpack_pack_str_with_body(&r.pk, "seq", 3);
    msgpack_pack_uint8(&r.pk, 1);
    msgpack_pack_str_with_body(&r.pk, "kind", 4);
    msgpack_pack_str_with_body(&r.pk, "late", 4);
    msgpack_pack_str_with_body(&r.pk, "state", 5);
    msgpack_pack_str_with_body(&r.pk, "firing", 6);
    msgpack_pack_str_with_body(&r.pk, "severity", 8);
    msgpack_pack_str_with_body(&r.pk, "critical", 8);
    bw_alert_msg a;
    assert_int_equal(bw_alert_decode(r.sb.data, r.sb.size, &a, why, sizeof why), -1);
    assert_string_equal(why, "key 'kind' must be \"lag\", \"milestone\", \"overspend\", \"year_end\","
                        " \"stalled\", \"large_payment\", \"burst\", \"year_end_rush\", \"source_gap\""
                        " or \"ledger_damaged\", got \"late\"");
    msgpack_sbuffer_destroy(&r.sb);
}

static void test_alert_round_trip(void **state)
{
    (void)state;
    for (int kind = 0; kind < BW_KINDS; kind++) {
        for (int st = 0; st <= BW_STATE_RESOLVED; st++) {
            bw_alert_msg a, back;
            memset(&a, 0, sizeof a);
            a.seq = 1000 + (uint64_t)kind;
            a.kind = (uint8_t)kind;
            a.state = (uint8_t)st;
            a.severity = kind == BW_KIND_SOURCE_GAP ? BW_SEV_WARNING : BW_SEV_CRITICAL;
            a.at = 1648742400;
            a.since = 1648700000;
            if (kind == BW_KIND_SOURCE_GAP) {
                strcpy(a.src, "bank");
                a.expected_seq = 4;
                a.got_seq = 7;
            } else if (kind == BW_KIND_LEDGER_DAMAGED) {
                if (st != BW_STATE_ACKNOWLEDGED)    /* then note is the ack's */
                    strcpy(a.note, "Tree 3 page 3 cell 0: invalid page number 1515870810");
            } else {
                strcpy(a.unit, "323003");
                strcpy(a.unit_name, "遵化市社保服务中心");
                strcpy(a.project, "P1");
                strcpy(a.project_name, "项目");
                a.budget = 5760000;
                a.paid = 1727999;
                a.shortfall = -12;
                a.rate_bp = 2999;
                a.planned_bp = 3000;
                a.lag_bp = -1;
                a.pace_bp = 2465;
                if (kind == BW_KIND_MILESTONE)
                    strcpy(a.milestone, "03-31");
            }
            if (st == BW_STATE_ACKNOWLEDGED) {
                strcpy(a.by, "王科长");
                strcpy(a.note, "已督办");
            }
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            assert_int_equal(bw_alert_encode(&a, &sb), 0);
            if (bw_alert_decode(sb.data, sb.size, &back, why, sizeof why))
                fail_msg("kind %d state %d: %s", kind, st, why);
            assert_memory_equal(&a, &back, sizeof a);
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

static void test_heartbeat_and_ctl_round_trip(void **state)
{
    (void)state;
    bw_heartbeat h = { 43, 1641000005 }, hb;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(bw_heartbeat_encode(&h, &sb), 0);
    assert_int_equal(bw_heartbeat_decode(sb.data, sb.size, &hb, why, sizeof why), 0);
    assert_memory_equal(&h, &hb, sizeof h);
    for (int op = 0; op < BW_OP_COUNT; op++) {
        bw_ctl_req q, back;
        memset(&q, 0, sizeof q);
        q.op = (uint8_t)op;
        strcpy(q.project, "P1");
        strcpy(q.kind, "lag");
        strcpy(q.by, "王科长");
        strcpy(q.reason, "预算调整");
        strcpy(q.sort, "lag");
        strcpy(q.state, "judged_normal");
        q.has_budget = true;
        q.budget = 18000000000;
        q.has_to = true;
        q.to = 1648742400;
        q.has_since = q.has_until = true;
        q.since = 1;
        q.until = 2;
        q.limit = 10;
        q.offset = 500;
        strcpy(q.q, "培训");
        strcpy(q.band, "红一档");
        strcpy(q.alert, "firing");
        q.desc = true;
        q.before = 77;
        q.has_after_seq = true;
        q.after_seq = UINT64_MAX;   /* the whole uint range goes both ways */
        sb.size = 0;
        assert_int_equal(bw_ctl_req_encode(&q, &sb), 0);
        if (bw_ctl_req_decode(sb.data, sb.size, &back, why, sizeof why))
            fail_msg("op %s: %s", bw_op_name(op), why);
        assert_memory_equal(&q, &back, sizeof q);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* ---- each rule, its own reason ---- */

static void test_missing_keys(void **state)
{
    (void)state;
    for (int i = 0; i < NEV; i++) {
        raw r;
        bw_event ev;
        event_with(&r, i, -1, NULL);
        assert_int_equal(decode_raw(&r, &ev), -1);
        char want[64];
        snprintf(want, sizeof want, "missing key '%s'", ev_keys[i]);
        if (strcmp(why, want) != 0)
            fail_msg("without %s: got \"%s\"", ev_keys[i], why);
    }
}

static void pack_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void pack_float(msgpack_packer *pk) { msgpack_pack_double(pk, 1.5); }
static void pack_array(msgpack_packer *pk) { msgpack_pack_array(pk, 0); }
static void pack_deep(msgpack_packer *pk)
{
    for (int i = 0; i < 20; i++)
        msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    bw_pack_str(pk, "k");
    msgpack_pack_nil(pk);
}

static void test_wrong_types(void **state)
{
    (void)state;
    packfn bads[] = { pack_nil, pack_float, pack_array, pack_deep };
    for (int i = 0; i < NEV; i++) {
        for (size_t b = 0; b < sizeof bads / sizeof bads[0]; b++) {
            raw r;
            bw_event ev;
            event_with(&r, -1, i, bads[b]);
            assert_int_equal(decode_raw(&r, &ev), -1);
            if (strstr(why, ev_keys[i]) == NULL)
                fail_msg("bad %s: reason \"%s\" does not name the key", ev_keys[i], why);
        }
    }
}

static void pack_zero(msgpack_packer *pk) { msgpack_pack_int64(pk, 0); }
static void pack_neg(msgpack_packer *pk) { msgpack_pack_int64(pk, -100); }
static void pack_huge(msgpack_packer *pk) { msgpack_pack_uint64(pk, (uint64_t)INT64_MAX + 1); }
static void pack_v2(msgpack_packer *pk) { msgpack_pack_uint64(pk, 2); }
static void pack_pay(msgpack_packer *pk) { bw_pack_str(pk, "pay"); }
static void pack_long_src(msgpack_packer *pk)
{
    char s[71];
    memset(s, 'x', 70);
    s[70] = '\0';
    bw_pack_str(pk, s);
}
static void pack_empty(msgpack_packer *pk) { bw_pack_str(pk, ""); }
static void pack_nul(msgpack_packer *pk)
{
    msgpack_pack_str(pk, 3);
    msgpack_pack_str_body(pk, "a\0b", 3);
}

static void pack_latin1(msgpack_packer *pk)
{
    msgpack_pack_str(pk, 4);
    msgpack_pack_str_body(pk, "ref\xfc", 4);     /* "refü" in Latin-1 */
}

static void pack_escape_seq(msgpack_packer *pk) { bw_pack_str(pk, "P1\x1b[2J"); }
static void pack_newline(msgpack_packer *pk) { bw_pack_str(pk, "a\nforged log line"); }

typedef struct rule {
    int key;
    packfn pack;
    const char *reason;
} rule;

static void test_values(void **state)
{
    (void)state;
    static const rule rules[] = {
        { 5, pack_zero, "key 'amount' must be an integer number of fen > 0, got 0" },
        { 5, pack_neg, "key 'amount' must be an integer number of fen > 0, got -100" },
        { 5, pack_huge, "key 'amount' is 9223372036854775808, over the largest integer" },
        { 0, pack_v2, "unsupported protocol version 2" },
        { 1, pack_pay, "key 'type' must be \"disbursement\" or \"refund\", got \"pay\"" },
        { 2, pack_long_src, "key 'src' must be a string of 1..64 bytes, got 70 bytes" },
        { 3, pack_empty, "key 'id' must be a string of 1..128 bytes, got 0 bytes" },
        { 4, pack_nul, "key 'project' contains the control character 0x00 at byte 2" },
        /* Peer text is quoted in reasons, logs and terminals as it is: it must
         * be UTF-8 and must not carry control characters. */
        { 1, pack_latin1, "key 'type' is not valid UTF-8 (byte 4 is 0xfc); send UTF-8 text" },
        { 4, pack_escape_seq, "key 'project' contains the control character 0x1b at byte 3" },
        { 3, pack_newline, "key 'id' contains the control character 0x0a at byte 2" },
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        raw r;
        bw_event ev;
        event_with(&r, -1, rules[i].key, rules[i].pack);
        assert_int_equal(decode_raw(&r, &ev), -1);
        if (strncmp(why, rules[i].reason, strlen(rules[i].reason)) != 0)
            fail_msg("rule %zu: got \"%s\", want \"%s\"", i, why, rules[i].reason);
    }
}

static void encoded_event(msgpack_sbuffer *sb)
{
    bw_event ev = sample_event();
    msgpack_sbuffer_init(sb);
    assert_int_equal(bw_event_encode(&ev, sb), 0);
}

static void test_framing_rules(void **state)
{
    (void)state;
    bw_event ev;
    msgpack_sbuffer sb;
    encoded_event(&sb);
    /* Every proper prefix is refused as truncated, never read past. */
    for (size_t n = 1; n < sb.size; n++) {
        char *copy = malloc(n);
        memcpy(copy, sb.data, n);
        assert_int_equal(bw_event_decode(copy, n, &ev, why, sizeof why), -1);
        assert_non_null(strstr(why, "truncated"));
        free(copy);
    }
    assert_int_equal(bw_event_decode(sb.data, 0, &ev, why, sizeof why), -1);
    /* Trailing bytes. */
    char *more = malloc(sb.size + 1);
    memcpy(more, sb.data, sb.size);
    more[sb.size] = '\x01';
    assert_int_equal(bw_event_decode(more, sb.size + 1, &ev, why, sizeof why), -1);
    assert_non_null(strstr(why, "trailing bytes"));
    free(more);
    msgpack_sbuffer_destroy(&sb);
    /* Top level not a map. */
    const char arr[] = { (char)0x93, 1, 2, 3 };
    assert_int_equal(bw_event_decode(arr, sizeof arr, &ev, why, sizeof why), -1);
    assert_string_equal(why, "top level must be a map, got an array");
    /* Not msgpack at all (0xc1 is never used). */
    const char junk[] = { (char)0xc1, 0 };
    assert_int_equal(bw_event_decode(junk, sizeof junk, &ev, why, sizeof why), -1);
    assert_string_equal(why, "not msgpack (2 bytes)");
    /* A 5-byte message claiming 4 billion elements is refused before any
     * allocation. */
    const char claim[] = { (char)0xdd, (char)0xff, (char)0xff, (char)0xff, (char)0xff };
    assert_int_equal(bw_event_decode(claim, sizeof claim, &ev, why, sizeof why), -1);
    assert_string_equal(why, "truncated message: 4294967295 more elements announced, 0 bytes left "
                             "(5 bytes)");
    /* Non-string and duplicate keys. */
    raw r;
    raw_map(&r, 1);
    msgpack_pack_int(&r.pk, 1);
    msgpack_pack_int(&r.pk, 1);
    assert_int_equal(decode_raw(&r, &ev), -1);
    assert_string_equal(why, "map keys must be strings, got an integer");
    raw_map(&r, 2);
    bw_pack_kv_str(&r.pk, "src", "a");
    bw_pack_kv_str(&r.pk, "src", "b");
    assert_int_equal(decode_raw(&r, &ev), -1);
    assert_string_equal(why, "duplicate key 'src'");
    /* A key is quoted escaped: it has not been checked as text. */
    const char dup_esc[] = "\x82\xa2\x1b\xff\x01\xa2\x1b\xff\x01";
    assert_int_equal(bw_event_decode(dup_esc, sizeof dup_esc - 1, &ev, why, sizeof why), -1);
    assert_string_equal(why, "duplicate key '\\x1b\\xff'");
    /* Found by fuzz_proto: empty keys (msgpack-c gives them a NULL pointer)
     * and empty values are compared and copied without UB. */
    const char empty_keys[] = "\x84\xa0\x01\xa0\x01\x00\x00\x00\x00";
    assert_int_equal(bw_event_decode(empty_keys, sizeof empty_keys - 1, &ev, why, sizeof why), -1);
    assert_string_equal(why, "duplicate key ''");
    const char one_empty[] = "\x81\xa0\x01";   /* {"": 1}: ignored, then src is missing */
    assert_int_equal(bw_event_decode(one_empty, sizeof one_empty - 1, &ev, why, sizeof why), -1);
    assert_true(strstr(why, "'") != NULL);
}

/* A valid event, then `extra` more key/value pairs packed by more(). */
static void event_plus(raw *r, size_t extra, void (*more)(msgpack_packer *pk))
{
    raw_map(r, NEV + extra);
    for (int i = 0; i < NEV; i++) {
        bw_pack_str(&r->pk, ev_keys[i]);
        pack_good(&r->pk, i);
    }
    more(&r->pk);
}

static void more_fund(msgpack_packer *pk) { bw_pack_kv_str(pk, "fund", "state"); }
static void more_src(msgpack_packer *pk) { bw_pack_kv_str(pk, "src", "bank"); }

/* Expects a refusal that names the event by src and id (or "" where they
 * cannot be read), with every other field left zero. */
static void expect_ident(const char *name, const char *buf, size_t len, const char *src,
                         const char *id)
{
    bw_event ev;
    memset(&ev, 0x55, sizeof ev);
    if (bw_event_decode(buf, len, &ev, why, sizeof why) != -1)
        fail_msg("%s: decoded, should be refused", name);
    if (strcmp(ev.src, src) != 0 || strcmp(ev.id, id) != 0)
        fail_msg("%s (%s): src \"%s\", id \"%s\"; want \"%s\", \"%s\"", name, why, ev.src, ev.id,
                 src, id);
    bw_event zero;
    memset(&zero, 0, sizeof zero);
    memcpy(zero.src, ev.src, sizeof zero.src);
    memcpy(zero.id, ev.id, sizeof zero.id);
    if (memcmp(&zero, &ev, sizeof ev) != 0)
        fail_msg("%s: a refused event carries more than src and id", name);
}

static void expect_ident_raw(const char *name, raw *r, const char *src, const char *id)
{
    expect_ident(name, r->sb.data, r->sb.size, src, id);
    msgpack_sbuffer_destroy(&r->sb);
}

/* PROTOCOL.md §1.2: src and id are "" only when they cannot be read. */
static void test_refused_event_names_itself(void **state)
{
    (void)state;
    static const struct { const char *name; int skip, swap; packfn bad; const char *src, *id; } c[] = {
        { "amount 0", -1, 5, pack_zero, "treasury", "e1" },
        { "missing amount", 5, -1, NULL, "treasury", "e1" },
        { "v 2", -1, 0, pack_v2, "treasury", "e1" },
        { "missing v", 0, -1, NULL, "treasury", "e1" },
        { "control character in project", -1, 4, pack_escape_seq, "treasury", "e1" },
        { "type a float", -1, 1, pack_float, "treasury", "e1" },
        { "missing src", 2, -1, NULL, "", "e1" },
        { "src too long", -1, 2, pack_long_src, "", "e1" },
        { "id with a line feed", -1, 3, pack_newline, "treasury", "" },
        { "id empty", -1, 3, pack_empty, "treasury", "" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        raw r;
        event_with(&r, c[i].skip, c[i].swap, c[i].bad);
        expect_ident_raw(c[i].name, &r, c[i].src, c[i].id);
    }
    raw r;
    event_plus(&r, 1, more_fund);
    expect_ident_raw("unknown fund", &r, "treasury", "e1");
    event_plus(&r, 1, more_src);
    expect_ident_raw("src twice", &r, "", "e1");

    msgpack_sbuffer sb;
    encoded_event(&sb);
    char *more = malloc(sb.size + 1);
    memcpy(more, sb.data, sb.size);
    more[sb.size] = '\x01';
    expect_ident("a trailing byte", more, sb.size + 1, "treasury-zunhua", "2022-000123");
    /* Not read at all: cut short, or not a map. */
    expect_ident("truncated", sb.data, sb.size - 1, "", "");
    const char arr[] = { (char)0x92, (char)0xa1, 'a', (char)0xa1, 'b' };
    expect_ident("an array", arr, sizeof arr, "", "");
    expect_ident("empty", sb.data, 0, "", "");
    free(more);
    msgpack_sbuffer_destroy(&sb);
}

static int ack_with_note(const char *note, bw_ctl_req *q)
{
    raw r;
    raw_map(&r, 5);
    bw_pack_kv_str(&r.pk, "op", "ack");
    bw_pack_kv_str(&r.pk, "project", "P1");
    bw_pack_kv_str(&r.pk, "kind", "lag");
    bw_pack_kv_str(&r.pk, "by", "li");
    bw_pack_kv_str(&r.pk, "note", note);
    int rc = bw_ctl_req_decode(r.sb.data, r.sb.size, q, why, sizeof why);
    msgpack_sbuffer_destroy(&r.sb);
    return rc;
}

static void test_ctl_requirements(void **state)
{
    (void)state;
    static const struct { const char *op; const char *why; } cases[] = {
        { "ack", "ack needs 'project'" },
        { "adjust", "adjust needs 'project'" },
        { "advance", "advance needs 'to' (Unix seconds)" },
        { "explode", "unknown op \"explode\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw r;
        bw_ctl_req q;
        raw_map(&r, 1);
        bw_pack_kv_str(&r.pk, "op", cases[i].op);
        int rc = bw_ctl_req_decode(r.sb.data, r.sb.size, &q, why, sizeof why);
        msgpack_sbuffer_destroy(&r.sb);
        assert_int_equal(rc, -1);
        if (strncmp(why, cases[i].why, strlen(cases[i].why)) != 0)
            fail_msg("%s: got \"%s\"", cases[i].op, why);
    }
    raw r;
    bw_ctl_req q;
    raw_map(&r, 4);
    bw_pack_kv_str(&r.pk, "op", "adjust");
    bw_pack_kv_str(&r.pk, "project", "P1");
    bw_pack_kv_int(&r.pk, "budget", 0);
    bw_pack_kv_str(&r.pk, "reason", "x");
    assert_int_equal(bw_ctl_req_decode(r.sb.data, r.sb.size, &q, why, sizeof why), -1);
    assert_string_equal(why, "adjust: 'budget' must be more than 0 fen");
    msgpack_sbuffer_destroy(&r.sb);
    /* A note is text: it may have lines and tabs, but no other control character. */
    assert_int_equal(ack_with_note("called the unit\n\tpayment on Monday", &q), 0);
    assert_string_equal(q.note, "called the unit\n\tpayment on Monday");
    assert_int_equal(ack_with_note("ok\r\x1b[1A", &q), -1);
    assert_string_equal(why, "key 'note' contains the control character 0x0d at byte 3 (only tab "
                             "and line feed may appear in text)");
}

/* The console's keys (status paging and filters, payments, adjustments). */
static void test_console_request_fields(void **state)
{
    (void)state;
    static const struct { const char *op, *key, *sval; int kind; const char *why; } cases[] = {
        { "status", "alert", "maybe", 's', "key 'alert' must be \"firing\" or \"none\", got \"maybe\"" },
        { "status", "desc", "yes", 's', "key 'desc' must be true or false, got a string" },
        { "status", "offset", NULL, '-', "key 'offset' must be a non-negative integer, got a negative one" },
        { "payments", "limit", NULL, 'L', "payments: 'limit' is at most 1000, got 1001" },
        { "payments", "before", NULL, '-', "key 'before' must be a non-negative integer, got a negative one" },
        { "payments", NULL, NULL, 0, "payments needs 'project'" },
        { "adjustments", NULL, NULL, 0, "adjustments needs 'project'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw r;
        bw_ctl_req q;
        bool project = cases[i].key != NULL;
        raw_map(&r, 1 + project + (cases[i].key != NULL));
        bw_pack_kv_str(&r.pk, "op", cases[i].op);
        if (project)
            bw_pack_kv_str(&r.pk, "project", "P1");
        if (cases[i].kind == 's')
            bw_pack_kv_str(&r.pk, cases[i].key, cases[i].sval);
        else if (cases[i].kind == '-')
            bw_pack_kv_int(&r.pk, cases[i].key, -1);
        else if (cases[i].kind == 'L')
            bw_pack_kv_uint(&r.pk, cases[i].key, 1001);
        int rc = bw_ctl_req_decode(r.sb.data, r.sb.size, &q, why, sizeof why);
        msgpack_sbuffer_destroy(&r.sb);
        assert_int_equal(rc, -1);
        if (strcmp(why, cases[i].why) != 0)
            fail_msg("%s %s: got \"%s\", want \"%s\"", cases[i].op, cases[i].key ? cases[i].key : "",
                     why, cases[i].why);
    }
    raw r;
    bw_ctl_req q;
    raw_map(&r, 4);
    bw_pack_kv_str(&r.pk, "op", "status");
    bw_pack_kv_str(&r.pk, "alert", "none");
    bw_pack_kv_bool(&r.pk, "desc", true);
    bw_pack_kv_str(&r.pk, "band", "none");
    assert_int_equal(bw_ctl_req_decode(r.sb.data, r.sb.size, &q, why, sizeof why), 0);
    assert_string_equal(q.alert, "none");
    assert_string_equal(q.band, "none");
    assert_true(q.desc);
    msgpack_sbuffer_destroy(&r.sb);
}

/* ---- golden vectors ---- */

static size_t read_vector(const char *name, char *buf, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/%s.msgpack", BW_TEST_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void same_bytes(const char *vec, size_t n, const msgpack_sbuffer *sb)
{
    assert_int_equal(n, sb->size);
    assert_memory_equal(vec, sb->data, n);
}

static void test_golden_events(void **state)
{
    (void)state;
    char buf[1024];
    bw_event ev;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);

    size_t n = read_vector("event_min", buf, sizeof buf);
    assert_int_equal(bw_event_decode(buf, n, &ev, why, sizeof why), 0);
    assert_string_equal(ev.src, "treasury-zunhua");
    assert_string_equal(ev.id, "2022-000001");
    assert_string_equal(ev.project, "130281219RAC9NBCKQYEU");
    assert_int_equal(ev.amount, 5607600000LL);
    assert_int_equal(ev.ts, 1641002400);
    assert_int_equal(ev.type, BW_EV_DISBURSEMENT);
    assert_int_equal(ev.fund, BW_FUND_FISCAL);
    assert_false(ev.has_seq);
    assert_int_equal(bw_event_encode(&ev, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("event_full", buf, sizeof buf);
    assert_int_equal(bw_event_decode(buf, n, &ev, why, sizeof why), 0);
    assert_int_equal(ev.type, BW_EV_REFUND);
    assert_true(ev.has_seq);
    assert_int_equal(ev.seq, 123);
    assert_string_equal(ev.project, "323-0804-YXN-8B8X");
    assert_string_equal(ev.unit, "323003");
    assert_int_equal(ev.amount, 1);
    assert_int_equal(ev.ts, 1648742399);
    assert_int_equal(ev.fund, BW_FUND_OTHER);
    assert_string_equal(ev.ref, "2022-000100");
    sb.size = 0;
    assert_int_equal(bw_event_encode(&ev, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("event_unknown_keys", buf, sizeof buf);
    assert_int_equal(bw_event_decode(buf, n, &ev, why, sizeof why), 0);
    assert_int_equal(ev.amount, 9007199254740993LL);   /* beyond a double's exact range */
    assert_int_equal(ev.ts, -1);
    msgpack_sbuffer_destroy(&sb);
}

static void test_golden_others(void **state)
{
    (void)state;
    char buf[1024];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);

    size_t n = read_vector("ack_rejected", buf, sizeof buf);
    bw_ack a;
    assert_int_equal(bw_ack_decode(buf, n, &a, why, sizeof why), 0);
    assert_int_equal(a.status, BW_ACK_REJECTED);
    assert_string_equal(a.reason, "unknown project \"X\" (not in the plan)");
    assert_int_equal(bw_ack_encode(&a, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("alert_milestone", buf, sizeof buf);
    bw_alert_msg m;
    assert_int_equal(bw_alert_decode(buf, n, &m, why, sizeof why), 0);
    assert_int_equal(m.seq, 42);
    assert_int_equal(m.kind, BW_KIND_MILESTONE);
    assert_string_equal(m.unit_name, "遵化市社保服务中心");
    assert_int_equal(m.paid, 1727999);
    assert_int_equal(m.rate_bp, 2999);
    assert_int_equal(m.shortfall, 1);
    assert_string_equal(m.milestone, "03-31");
    /* A message from before issue 16 lacks its keys: they read as their
     * defaults, and what the encoder writes now (with them) reads back the same. */
    assert_string_equal(m.band, "");
    assert_int_equal(m.basis, BW_BASIS_PLAN);
    assert_int_equal(m.handling, BW_HANDLING_UNHANDLED);
    bw_alert_msg again;
    sb.size = 0;
    assert_int_equal(bw_alert_encode(&m, &sb), 0);
    assert_int_equal(bw_alert_decode(sb.data, sb.size, &again, why, sizeof why), 0);
    assert_memory_equal(&m, &again, sizeof m);

    n = read_vector("alert_lag_band", buf, sizeof buf);
    assert_int_equal(bw_alert_decode(buf, n, &m, why, sizeof why), 0);
    assert_int_equal(m.kind, BW_KIND_LAG);
    assert_string_equal(m.band, "红一档");
    assert_int_equal(m.basis, BW_BASIS_PACE);
    assert_int_equal(m.pace_lag_bp, 1013);
    assert_int_equal(m.pace_shortfall, 583520);
    assert_int_equal(m.handling, BW_HANDLING_UNHANDLED);
    sb.size = 0;
    assert_int_equal(bw_alert_encode(&m, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("alert_large_payment", buf, sizeof buf);
    assert_int_equal(bw_alert_decode(buf, n, &m, why, sizeof why), 0);
    assert_int_equal(m.kind, BW_KIND_LARGE_PAYMENT);
    assert_int_equal(m.state, BW_STATE_ACKNOWLEDGED);
    assert_int_equal(m.handling, BW_HANDLING_JUDGED_NORMAL);
    assert_string_equal(m.src, "treasury-zunhua");
    assert_string_equal(m.id, "2022-000777");
    assert_int_equal(m.amount, 3000000);
    assert_string_equal(m.by, "王科长");
    assert_string_equal(m.note, "年初一次拨付，认定正常");
    sb.size = 0;
    assert_int_equal(bw_alert_encode(&m, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("alert_gap", buf, sizeof buf);
    assert_int_equal(bw_alert_decode(buf, n, &m, why, sizeof why), 0);
    assert_int_equal(m.kind, BW_KIND_SOURCE_GAP);
    assert_string_equal(m.src, "bank");
    assert_int_equal(m.expected_seq, 4);
    assert_int_equal(m.got_seq, 7);
    sb.size = 0;
    assert_int_equal(bw_alert_encode(&m, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("heartbeat", buf, sizeof buf);
    bw_heartbeat h;
    assert_int_equal(bw_heartbeat_decode(buf, n, &h, why, sizeof why), 0);
    assert_int_equal(h.seq, 43);
    sb.size = 0;
    assert_int_equal(bw_heartbeat_encode(&h, &sb), 0);
    same_bytes(buf, n, &sb);

    n = read_vector("ctl_adjust", buf, sizeof buf);
    bw_ctl_req q;
    assert_int_equal(bw_ctl_req_decode(buf, n, &q, why, sizeof why), 0);
    assert_int_equal(q.op, BW_OP_ADJUST);
    assert_int_equal(q.budget, 18000000000LL);
    assert_string_equal(q.reason, "预算调整");
    sb.size = 0;
    assert_int_equal(bw_ctl_req_encode(&q, &sb), 0);
    same_bytes(buf, n, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- never crash ---- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void try_all(const char *buf, size_t n)
{
    bw_event ev;
    bw_ack a;
    bw_alert_msg m;
    bw_heartbeat h;
    bw_ctl_req q;
    (void)bw_event_decode(buf, n, &ev, why, sizeof why);
    (void)bw_ack_decode(buf, n, &a, why, sizeof why);
    (void)bw_alert_decode(buf, n, &m, why, sizeof why);
    (void)bw_heartbeat_decode(buf, n, &h, why, sizeof why);
    (void)bw_ctl_req_decode(buf, n, &q, why, sizeof why);
}

static void test_random_and_mutated(void **state)
{
    (void)state;
    uint64_t seed = 0x2022033116000000ULL;
    for (int i = 0; i < 20000; i++) {
        size_t n = rng(&seed) % 64;
        char *buf = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            buf[k] = (char)rng(&seed);
        try_all(buf, n);
        free(buf);
    }
    msgpack_sbuffer sb;
    encoded_event(&sb);
    for (int i = 0; i < 20000; i++) {
        char *buf = malloc(sb.size);
        memcpy(buf, sb.data, sb.size);
        buf[rng(&seed) % sb.size] = (char)rng(&seed);
        try_all(buf, sb.size);
        free(buf);
    }
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_ack_round_trip),
        cmocka_unit_test(test_kind_table),
        cmocka_unit_test(test_alert_round_trip),
        cmocka_unit_test(test_heartbeat_and_ctl_round_trip),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_framing_rules),
        cmocka_unit_test(test_refused_event_names_itself),
        cmocka_unit_test(test_ctl_requirements),
        cmocka_unit_test(test_console_request_fields),
        cmocka_unit_test(test_golden_events),
        cmocka_unit_test(test_golden_others),
        cmocka_unit_test(test_random_and_mutated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
