/* test_money: 万元 and yuan text to exact fen and back, and overflow-checked
 * sums — money never passes through a float. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"

typedef struct wan_case {
    const char *text;
    int64_t fen;            /* -1: must be refused */
    const char *why;
} wan_case;

static void test_parse_wan(void **state)
{
    (void)state;
    static const wan_case cases[] = {
        { "18692", 18692000000LL, NULL },
        { "2258.32", 2258320000LL, NULL },
        { "5.76", 5760000LL, NULL },
        { "148.62", 148620000LL, NULL },
        { "0.000001", 1, NULL },
        { "0", 0, NULL },
        { "9223372036854.775807", INT64_MAX, NULL },
        { "1.0000001", -1, "more decimals than a fen can hold" },
        { "9223372036854.775808", -1, "amount too large" },
        { "99999999999999", -1, "amount too large" },
        { "", -1, "empty amount" },
        { ".", -1, "not an amount" },
        { "1.", -1, "not an amount" },
        { ".5", -1, "not an amount" },
        { "1e3", -1, "not an amount" },
        { "-1", -1, "not an amount" },
        { "12,5", -1, "not an amount" },
        { "1.2.3", -1, "not an amount" },
        { " 1", -1, "not an amount" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t fen = 42;
        const char *why = NULL;
        int rc = bw_money_parse_wan(cases[i].text, strlen(cases[i].text), &fen, &why);
        if (cases[i].fen >= 0) {
            if (rc != 0)
                fail_msg("\"%s\": refused: %s", cases[i].text, why);
            assert_int_equal(fen, cases[i].fen);
        } else {
            if (rc == 0)
                fail_msg("\"%s\": accepted as %lld", cases[i].text, (long long)fen);
            assert_non_null(strstr(why, cases[i].why));
        }
    }
}

static void test_parse_yuan(void **state)
{
    (void)state;
    int64_t fen;
    const char *why;
    assert_int_equal(bw_money_parse_yuan("1234.56", 7, &fen, &why), 0);
    assert_int_equal(fen, 123456);
    assert_int_equal(bw_money_parse_yuan("0.01", 4, &fen, &why), 0);
    assert_int_equal(fen, 1);
    assert_int_equal(bw_money_parse_yuan("7", 1, &fen, &why), 0);
    assert_int_equal(fen, 700);
    assert_int_equal(bw_money_parse_yuan("0.001", 5, &fen, &why), -1);
    assert_string_equal(why, "more decimals than a fen can hold");
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(bw_money_format_wan(18692000000LL, buf, sizeof buf), "18692.00");
    assert_string_equal(bw_money_format_wan(2258320000LL, buf, sizeof buf), "2258.32");
    assert_string_equal(bw_money_format_wan(1, buf, sizeof buf), "0.000001");
    assert_string_equal(bw_money_format_wan(-3500000, buf, sizeof buf), "-3.50");
    assert_string_equal(bw_money_format_wan(INT64_MIN, buf, sizeof buf), "-9223372036854.775808");
    assert_string_equal(bw_money_format_yuan(123456, buf, sizeof buf), "1234.56");
    assert_string_equal(bw_money_format_yuan(-1, buf, sizeof buf), "-0.01");
    /* Formatting and parsing are inverse for every budget of the source. */
    static const char *const source[] = { "18692.00", "2258.32", "773.00", "5.76", "148.62", "7.29" };
    for (size_t i = 0; i < sizeof source / sizeof source[0]; i++) {
        int64_t fen;
        const char *why;
        assert_int_equal(bw_money_parse_wan(source[i], strlen(source[i]), &fen, &why), 0);
        assert_string_equal(bw_money_format_wan(fen, buf, sizeof buf), source[i]);
    }
}

/* The table form cuts toward zero (never overstating money) and drops the
 * sign of what cuts to zero; the six-decimal form is exact; both at the
 * ends of int64, checked against the digits of the fen themselves. */
static void test_format_wan_fixed(void **state)
{
    (void)state;
    char buf[40];
    assert_string_equal(bw_money_format_wan2(18692000000, buf, sizeof buf), "18692.00");
    assert_string_equal(bw_money_format_wan2(2258329999, buf, sizeof buf), "2258.32");
    assert_string_equal(bw_money_format_wan2(9999, buf, sizeof buf), "0.00");
    assert_string_equal(bw_money_format_wan2(-9999, buf, sizeof buf), "0.00");
    assert_string_equal(bw_money_format_wan2(-3500000, buf, sizeof buf), "-3.50");
    assert_string_equal(bw_money_format_wan2(INT64_MIN, buf, sizeof buf), "-9223372036854.77");
    assert_string_equal(bw_money_format_wan2(INT64_MAX, buf, sizeof buf), "9223372036854.77");
    assert_string_equal(bw_money_format_wan6(0, buf, sizeof buf), "0.000000");
    assert_string_equal(bw_money_format_wan6(-1, buf, sizeof buf), "-0.000001");
    assert_string_equal(bw_money_format_wan6(2258320000, buf, sizeof buf), "2258.320000");
    assert_string_equal(bw_money_format_wan6(INT64_MIN, buf, sizeof buf), "-9223372036854.775808");
    /* Seeded: the digits of the six-decimal form are the fen's own. */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t fen = (int64_t)(x >> (x % 40));
        if (i % 2)
            fen = -fen;
        char want[40], got[40];
        unsigned long long mag = fen < 0 ? 0ull - (unsigned long long)fen : (unsigned long long)fen;
        snprintf(want, sizeof want, "%llu", mag);
        bw_money_format_wan6(fen, got, sizeof got);
        char digits[40];
        size_t k = 0;
        for (const char *p = got; *p; p++)
            if (*p >= '0' && *p <= '9')
                digits[k++] = *p;
        digits[k] = '\0';
        const char *d = digits;
        while (d[0] == '0' && d[1] != '\0')
            d++;
        assert_string_equal(d, want);
        assert_true((got[0] == '-') == (fen < 0));
    }
}

static void test_checked_sums(void **state)
{
    (void)state;
    int64_t out;
    assert_true(bw_fen_add(INT64_MAX - 1, 1, &out));
    assert_int_equal(out, INT64_MAX);
    assert_false(bw_fen_add(INT64_MAX, 1, &out));
    assert_true(bw_fen_sub(0, INT64_MAX, &out));
    assert_false(bw_fen_sub(INT64_MIN, 1, &out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_wan),
        cmocka_unit_test(test_parse_yuan),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_wan_fixed),
        cmocka_unit_test(test_checked_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
