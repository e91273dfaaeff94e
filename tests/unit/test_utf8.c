/* test_utf8: the one UTF-8 validator accepts every well-formed sequence and
 * refuses what RFC 3629 forbids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "utf8.h"

#define SEQ(s) bw_utf8_seq((const unsigned char *)(s), sizeof(s) - 1)

static void test_well_formed(void **state)
{
    (void)state;
    assert_int_equal(SEQ("a"), 1);
    assert_int_equal(SEQ("\xc2\xa0"), 2);             /* U+00A0 */
    assert_int_equal(SEQ("\xe4\xb8\x87"), 3);         /* 万 */
    assert_int_equal(SEQ("\xef\xbf\xbd"), 3);         /* U+FFFD */
    assert_int_equal(SEQ("\xf0\x9f\x92\xb0"), 4);     /* U+1F4B0 */
    assert_int_equal(SEQ("\xf4\x8f\xbf\xbf"), 4);     /* U+10FFFF, the last */
    assert_int_equal(bw_utf8_seq((const unsigned char *)"\xe4\xb8\x87xyz", 6), 3);
}

static void test_refused(void **state)
{
    (void)state;
    assert_int_equal(SEQ("\x80"), 0);                 /* a continuation byte first */
    assert_int_equal(SEQ("\xc0\x80"), 0);             /* overlong NUL */
    assert_int_equal(SEQ("\xc1\xbf"), 0);             /* overlong */
    assert_int_equal(SEQ("\xe0\x9f\xbf"), 0);         /* overlong 3-byte */
    assert_int_equal(SEQ("\xed\xa0\x80"), 0);         /* surrogate U+D800 */
    assert_int_equal(SEQ("\xf0\x8f\xbf\xbf"), 0);     /* overlong 4-byte */
    assert_int_equal(SEQ("\xf4\x90\x80\x80"), 0);     /* past U+10FFFF */
    assert_int_equal(SEQ("\xf5\x80\x80\x80"), 0);
    assert_int_equal(SEQ("\xe4\xb8"), 0);             /* cut short */
    assert_int_equal(SEQ("\xe4\x41\x87"), 0);         /* not a continuation */
    assert_int_equal(SEQ("\xd6\xd0"), 0);             /* GBK 中: not UTF-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
