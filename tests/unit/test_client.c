/* test_client: libbudgetwatch's public surface — every return code has its
 * sentence, and the shared library exports exactly the functions its header
 * declares (nothing of bwproto or of its own internals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "budgetwatch.h"

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = { BWC_OK, BWC_EINVAL, BWC_ENOMEM, BWC_EUNREACHABLE, BWC_EPROTO,
                          BWC_EDAEMON, BWC_EZMQ };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = bw_client_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, bw_client_strerror(codes[j]));
    }
    assert_string_equal(bw_client_strerror(BWC_EUNREACHABLE), "the daemon did not answer in time");
    assert_string_equal(bw_client_strerror(-99), "unknown error");
    assert_string_equal(bw_client_strerror(7), "unknown error");
}

/* Reads a whole command's output. */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    n = fread(buf, 1, cap - 1, p);
    buf[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return buf;
}

static void test_exports_are_the_header(void **state)
{
    (void)state;
    char cmd[1024];
    /* The names after BW_EXPORT, up to the parenthesis, sorted (not the
     * macro's own definition). */
    snprintf(cmd, sizeof cmd, "grep -v '^#' %s/clients/lib/budgetwatch.h"
             " | grep -o 'BW_EXPORT [^(]*(' | sed 's/.*[ *]\\([a-z_]*\\)($/\\1/' | sort", BW_SOURCE_DIR);
    char *declared = run(cmd);
    snprintf(cmd, sizeof cmd, "nm -D --defined-only %s | awk '$2 == \"T\" {print $3}' | sort",
             BW_CLIENT_LIB);
    char *exported = run(cmd);
    assert_true(strlen(declared) > 0);
    assert_non_null(strstr(declared, "bw_client_strerror\n"));
    assert_string_equal(exported, declared);
    free(declared);
    free(exported);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_exports_are_the_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
