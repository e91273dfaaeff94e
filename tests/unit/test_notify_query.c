/* test_notify_query: the query endpoint's requests decoded (every key, its
 * type and range, and each kind of mistake named) and its replies packed and
 * read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "proto.h"
#include "query.h"

/* Packs a map of n pairs given as (key, type, value): 's' string, 'u' uint, 'i' int. */
static void pack(msgpack_sbuffer *sb, int n, ...)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        int t = va_arg(ap, int);
        bw_pack_key(&pk, k);
        if (t == 's')
            bw_pack_str(&pk, va_arg(ap, const char *));
        else if (t == 'u')
            msgpack_pack_uint64(&pk, va_arg(ap, uint64_t));
        else
            msgpack_pack_int64(&pk, va_arg(ap, int64_t));
    }
    va_end(ap);
}

static void test_decode_good(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    bwn_query q;
    char why[256];
    pack(&sb, 1, "op", 's', "log");
    assert_int_equal(bwn_query_decode(sb.data, sb.size, &q, why, sizeof why), 0);
    assert_null(q.filter.project);
    assert_null(q.filter.kind);
    assert_int_equal(q.filter.seq, 0);
    assert_int_equal(q.filter.since_ms, 0);
    assert_int_equal(q.filter.limit, BWN_QUERY_LIMIT_DEFAULT);
    msgpack_sbuffer_destroy(&sb);
    pack(&sb, 6, "limit", 'u', (uint64_t)7, "op", 's', "log", "project", 's', "P00001", "kind", 's',
         "lag", "seq", 'u', (uint64_t)42, "since", 'i', (int64_t)-5);
    assert_int_equal(bwn_query_decode(sb.data, sb.size, &q, why, sizeof why), 0);
    assert_string_equal(q.filter.project, "P00001");
    assert_string_equal(q.filter.kind, "lag");
    assert_int_equal(q.filter.seq, 42);
    assert_int_equal(q.filter.since_ms, -5000);
    assert_int_equal(q.filter.limit, 7);
    msgpack_sbuffer_destroy(&sb);
    pack(&sb, 2, "op", 's', "log", "limit", 'u', (uint64_t)BWN_QUERY_LIMIT_MAX);
    assert_int_equal(bwn_query_decode(sb.data, sb.size, &q, why, sizeof why), 0);
    assert_int_equal(q.filter.limit, BWN_QUERY_LIMIT_MAX);
    msgpack_sbuffer_destroy(&sb);
}

static void expect_bad(msgpack_sbuffer *sb, const char *want)
{
    bwn_query q;
    char why[256] = "";
    assert_int_equal(bwn_query_decode(sb->data, sb->size, &q, why, sizeof why), -1);
    if (strstr(why, want) == NULL)
        fail_msg("want \"%s\" in \"%s\"", want, why);
    msgpack_sbuffer_destroy(sb);
}

static void test_decode_bad(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    pack(&sb, 0);
    expect_bad(&sb, "has no 'op'");
    pack(&sb, 1, "op", 's', "status");
    expect_bad(&sb, "unknown op \"status\"");
    pack(&sb, 1, "op", 'u', (uint64_t)1);
    expect_bad(&sb, "key 'op' must be a string");
    pack(&sb, 2, "op", 's', "log", "Project", 's', "P1");
    expect_bad(&sb, "unknown key 'Project'");
    pack(&sb, 2, "op", 's', "log", "project", 's', "");
    expect_bad(&sb, "key 'project' must be a string of 1..255 bytes");
    pack(&sb, 2, "op", 's', "log", "kind", 'u', (uint64_t)3);
    expect_bad(&sb, "key 'kind' must be a string");
    pack(&sb, 2, "op", 's', "log", "seq", 'u', (uint64_t)0);
    expect_bad(&sb, "key 'seq' must be an alert seq");
    pack(&sb, 2, "op", 's', "log", "seq", 's', "3");
    expect_bad(&sb, "key 'seq' must be an alert seq (a positive integer), got a string");
    pack(&sb, 2, "op", 's', "log", "limit", 'u', (uint64_t)0);
    expect_bad(&sb, "key 'limit' must be an integer 1..1000");
    pack(&sb, 2, "op", 's', "log", "limit", 'u', (uint64_t)BWN_QUERY_LIMIT_MAX + 1);
    expect_bad(&sb, "got one out of range");
    pack(&sb, 2, "op", 's', "log", "since", 'u', (uint64_t)INT64_MAX);
    expect_bad(&sb, "key 'since' must be Unix seconds");
    /* Not a map, cut short, bytes after it. */
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 0);
    expect_bad(&sb, "must be a msgpack map, got an array");
    pack(&sb, 1, "op", 's', "log");
    bwn_query q;
    char why[256];
    assert_int_equal(bwn_query_decode(sb.data, sb.size - 1, &q, why, sizeof why), -1);
    assert_non_null(strstr(why, "ends too early"));
    msgpack_sbuffer_write(&sb, "\x01\x02", 2);
    expect_bad(&sb, "2 bytes after its msgpack map");
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    bwn_reply r;
    bwn_reply_open(&r);
    for (int i = 0; i < 2; i++) {
        bwn_log_row row = { .id = 10 + i, .created_ms = 1000, .done_ms = i ? 0 : 2000,
                            .receiver = "ops", .state = i ? "pending" : "sent", .title = "标题",
                            .answer = "HTTP 200", .alerts = "", .attempts = 1, .nalerts = 2 };
        bwn_reply_note_begin(&r, &row, "webhook");
        bwn_reply_alert(&r, 5, "lag", "firing", "P1");
        bwn_reply_alert(&r, 6, "overspend", "firing", "P2");
        assert_int_equal(bwn_reply_attempts_begin(&r), 0);
        if (i == 0)
            bwn_reply_attempt(&r, 1500, 1900, "sent", 200, "HTTP 200");
        else
            bwn_reply_attempt(&r, 1500, 0, "interrupted", -1, "");
        assert_int_equal(bwn_reply_note_end(&r), 0);
    }
    assert_int_equal(bwn_reply_close(&r, true), 0);
    msgpack_unpacked u;
    char why[256];
    const msgpack_object *m = bw_reply_unpack(r.out.data, r.out.size, &u, why, sizeof why);
    assert_non_null(m);
    bool ok = false, more = false;
    assert_true(bw_map_get_bool(m, "ok", &ok) && ok);
    assert_true(bw_map_get_bool(m, "more", &more) && more);
    const msgpack_object *l = bw_map_get(m, "notifications");
    assert_int_equal(l->via.array.size, 2);
    const msgpack_object *n0 = &l->via.array.ptr[0], *n1 = &l->via.array.ptr[1];
    int64_t v;
    char s[64];
    assert_true(bw_map_get_int(n0, "id", &v) && v == 10);
    assert_true(bw_map_get_str(n0, "receiver_type", s, sizeof s) && !strcmp(s, "webhook"));
    assert_true(bw_map_get_int(n0, "done_ms", &v) && v == 2000);
    assert_int_equal(bw_map_get(n1, "done_ms")->type, MSGPACK_OBJECT_NIL);
    const msgpack_object *al = bw_map_get(n1, "alerts"), *at = bw_map_get(n1, "attempts");
    assert_int_equal(al->via.array.size, 2);
    assert_true(bw_map_get_str(&al->via.array.ptr[1], "kind", s, sizeof s) && !strcmp(s, "overspend"));
    uint64_t sq;
    assert_true(bw_map_get_uint(&al->via.array.ptr[1], "seq", &sq) && sq == 6);
    assert_int_equal(at->via.array.size, 1);
    assert_int_equal(bw_map_get(&at->via.array.ptr[0], "status")->type, MSGPACK_OBJECT_NIL);
    assert_int_equal(bw_map_get(&at->via.array.ptr[0], "ended_ms")->type, MSGPACK_OBJECT_NIL);
    at = bw_map_get(n0, "attempts");
    assert_true(bw_map_get_int(&at->via.array.ptr[0], "status", &v) && v == 200);
    msgpack_unpacked_destroy(&u);
    bwn_reply_free(&r);
    /* An empty log: an empty list. */
    bwn_reply_open(&r);
    assert_int_equal(bwn_reply_close(&r, false), 0);
    m = bw_reply_unpack(r.out.data, r.out.size, &u, why, sizeof why);
    assert_non_null(m);
    assert_int_equal(bw_map_get(m, "notifications")->via.array.size, 0);
    msgpack_unpacked_destroy(&u);
    bwn_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_good),
        cmocka_unit_test(test_decode_bad),
        cmocka_unit_test(test_reply_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
