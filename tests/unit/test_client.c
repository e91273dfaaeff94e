/* test_client: libbudgetwatch's public surface — every return code has its
 * sentence, and the shared library exports exactly the functions its header
 * declares (nothing of bwproto or of its own internals), all under one prefix:
 * bwc_ for types and functions, BWC_ for macros and constants; and
 * bwc_client_fd keeps its contract with an event loop (a message makes the
 * descriptor readable, draining until bwc_client_next says 0 re-arms it). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <time.h>
#include <zmq.h>

#include "budgetwatch.h"

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = { BWC_OK, BWC_EINVAL, BWC_ENOMEM, BWC_EUNREACHABLE, BWC_EPROTO,
                          BWC_EDAEMON, BWC_EZMQ };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = bwc_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, bwc_strerror(codes[j]));
    }
    assert_string_equal(bwc_strerror(BWC_EUNREACHABLE), "the daemon did not answer in time");
    assert_string_equal(bwc_strerror(-99), "unknown error");
    assert_string_equal(bwc_strerror(7), "unknown error");
}

/* Failures that need no daemon: each returns its code and says what to do. */
static void test_errors_name_the_fix(void **state)
{
    (void)state;
    bwc_client_opts o = { .control = NULL, .alerts = NULL, .timeout_ms = 100 };
    bwc_client *c = bwc_client_new(&o);
    assert_non_null(c);
    assert_string_equal(bwc_client_error(c), "");
    const void *reply;
    size_t len;
    assert_int_equal(bwc_client_request(c, "x", 1, &reply, &len), BWC_EINVAL);
    assert_string_equal(bwc_client_error(c),
                        "no control endpoint was given; set control in bwc_client_opts");
    const char *topic;
    const void *body;
    assert_int_equal(bwc_client_next(c, 0, &topic, &body, &len), BWC_EINVAL);
    assert_non_null(strstr(bwc_client_error(c), "call bwc_client_subscribe first"));
    assert_int_equal(bwc_client_subscribe(c, ""), BWC_EINVAL);
    bwc_event ev = { .src = "ps", .id = "1", .project = "P", .amount = 1 };
    assert_int_equal(bwc_client_publish(c, "tcp://127.0.0.1:1", &ev, 1), BWC_EINVAL);
    assert_non_null(strstr(bwc_client_error(c), "must start with bind: or connect:"));
    bwc_client_destroy(&c);
    assert_null(c);
    bwc_client_destroy(&c);     /* NULL-safe */
    bwc_client_destroy(NULL);

    /* A key one character too long is refused, not cut to 40. */
    char longkey[42];
    memset(longkey, 'a', 41);
    longkey[41] = '\0';
    bwc_client_opts k = { .control = "tcp://127.0.0.1:1", .timeout_ms = 100, .server_key = longkey,
                          .public_key = longkey + 1, .secret_key = longkey + 1 };
    c = bwc_client_new(&k);
    assert_non_null(c);
    assert_int_equal(bwc_client_request(c, "x", 1, &reply, &len), BWC_EINVAL);
    assert_non_null(strstr(bwc_client_error(c), "the server key for the control endpoint "
                                                "tcp://127.0.0.1:1 must be 40 Z85 characters, not 41"));
    bwc_client_destroy(&c);

    /* Nobody at the endpoint: unreachable, and the message says where. */
    bwc_client_opts u = { .control = "ipc:///nonexistent/bwc-test.sock", .timeout_ms = 100 };
    c = bwc_client_new(&u);
    assert_non_null(c);
    for (int i = 0; i < 2; i++) {   /* the socket is reopened for the second */
        assert_int_equal(bwc_client_request(c, "x", 1, &reply, &len), BWC_EUNREACHABLE);
        assert_non_null(strstr(bwc_client_error(c), "daemon not reachable at "
                                                    "ipc:///nonexistent/bwc-test.sock"));
    }
    bwc_client_destroy(&c);
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
    /* The names after BWC_EXPORT, up to the parenthesis, sorted (not the
     * macro's own definition). */
    snprintf(cmd, sizeof cmd, "grep -v '^#' %s/clients/lib/budgetwatch.h"
             " | grep -o 'BWC_EXPORT [^(]*(' | sed 's/.*[ *]\\([a-z_]*\\)($/\\1/' | sort", BW_SOURCE_DIR);
    char *declared = run(cmd);
    snprintf(cmd, sizeof cmd, "nm -D --defined-only %s | awk '$2 == \"T\" {print $3}' | sort",
             BW_CLIENT_LIB);
    char *exported = run(cmd);
    assert_true(strlen(declared) > 0);
    assert_non_null(strstr(declared, "bwc_strerror\n"));
    assert_string_equal(exported, declared);
    for (const char *p = exported; *p; p = strchr(p, '\n') + 1)
        assert_int_equal(strncmp(p, "bwc_", 4), 0);
    free(declared);
    free(exported);
}

/* The header's code (comments and string literals left out) as tokens: each
 * identifier, and each other character on its own. */
static size_t header_tokens(char tok[][64], size_t max)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/clients/lib/budgetwatch.h", BW_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, f), n = 0;
    fclose(f);
    text[len] = '\0';
    for (const char *p = text; *p && n < max;) {
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            assert_non_null(end);
            p = end + 2;
        } else if (*p == '"') {
            p = strchr(p + 1, '"') + 1;
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            size_t k = 0;
            while ((isalnum((unsigned char)*p) || *p == '_') && k < 63)
                tok[n][k++] = *p++;
            tok[n++][k] = '\0';
        } else if (isspace((unsigned char)*p)) {
            p++;
        } else {
            tok[n][0] = *p++;
            tok[n++][1] = '\0';
        }
    }
    return n;
}

static void test_one_prefix(void **state)
{
    (void)state;
    static char tok[8192][64];
    size_t n = header_tokens(tok, 8192), names = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = tok[i];
        /* The old prefixes are gone. */
        if (!strncmp(t, "bw_", 3) || !strncmp(t, "BW_", 3))
            fail_msg("budgetwatch.h still uses %s", t);
        /* Every macro and constant (all capitals) is BWC_. */
        bool caps = isupper((unsigned char)t[0]) && t[1];
        for (const char *c = t; caps && *c; c++)
            caps = isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_';
        if (caps && strncmp(t, "BWC_", 4))
            fail_msg("budgetwatch.h defines %s, not BWC_...", t);
        /* Every type is bwc_: the names after struct, after a closing brace,
         * and inside (*...) of a function-pointer typedef. */
        const char *prev = i ? tok[i - 1] : "", *prev2 = i > 1 ? tok[i - 2] : "";
        bool type = !strcmp(prev, "struct") || !strcmp(prev, "}") ||
                    (!strcmp(prev, "*") && !strcmp(prev2, "("));
        if (type && (isalpha((unsigned char)t[0]) || t[0] == '_')) {
            if (strncmp(t, "bwc_", 4))
                fail_msg("budgetwatch.h names the type %s, not bwc_...", t);
            names++;
        }
    }
    assert_true(names >= 8);    /* the check saw the types */
}

/* ---- bwc_client_fd: the alert stream's descriptor for an event loop ---- */

typedef struct seen {
    char body[64][32];
    int n;
} seen;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What an event loop does: waits up to ms for the descriptor only, and when it
 * is readable drains with bwc_client_next(c, 0) until it says 0. Heartbeats
 * are not in the test's stream. Returns 1 if the descriptor was readable. */
static int wake_and_drain(bwc_client *c, int fd, int ms, seen *s)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, ms);
    assert_true(r >= 0);
    if (r == 0)
        return 0;
    assert_true(p.revents & POLLIN);
    for (;;) {
        const char *topic;
        const void *body;
        size_t len;
        int got = bwc_client_next(c, 0, &topic, &body, &len);
        assert_true(got >= 0);
        if (got == 0)
            return 1;
        assert_int_equal(strncmp(topic, "alert.", 6), 0);
        assert_true(len < sizeof s->body[0] && s->n < 64);
        memcpy(s->body[s->n], body, len);
        s->body[s->n++][len] = '\0';
    }
}

static void pub_send(void *pub, const char *topic, const char *body)
{
    assert_true(zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(pub, body, strlen(body), 0) >= 0);
}

static void test_fd_wakes_the_loop(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new(), *pub = zmq_socket(zctx, ZMQ_PUB);
    assert_non_null(pub);
    assert_int_equal(zmq_bind(pub, "tcp://127.0.0.1:*"), 0);
    char url[256];
    size_t ul = sizeof url;
    assert_int_equal(zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, url, &ul), 0);
    bwc_client_opts o = { .alerts = url, .timeout_ms = 1000 };
    bwc_client *c = bwc_client_new(&o);
    assert_non_null(c);
    assert_int_equal(bwc_client_fd(c), BWC_EINVAL);
    assert_non_null(strstr(bwc_client_error(c), "call bwc_client_subscribe first"));
    assert_int_equal(bwc_client_subscribe(c, "alert."), 0);
    int fd = bwc_client_fd(c);
    assert_true(fd >= 0);
    assert_int_equal(bwc_client_fd(c), fd);     /* the same one, every time */

    /* The subscription is live once a message of it comes through the
     * descriptor (ZeroMQ drops what is published before). */
    seen s = { .n = 0 };
    int64_t until = mono_ms() + 10000;
    while (s.n == 0 && mono_ms() < until) {
        pub_send(pub, "alert.join", "join");
        wake_and_drain(c, fd, 50, &s);
    }
    assert_true(s.n > 0);
    while (wake_and_drain(c, fd, 100, &s))
        ;

    /* Each round publishes a batch after the loop drained: the descriptor
     * wakes it again (the edge was re-armed), and the drain takes the whole
     * batch, in order, once; a topic not subscribed never arrives. */
    for (int round = 1; round <= 6; round++) {
        s.n = 0;
        char want[8][32];
        for (int k = 0; k < round; k++) {
            snprintf(want[k], sizeof want[k], "r%d.%d", round, k);
            pub_send(pub, k % 2 ? "alert.lag" : "alert.stalled", want[k]);
            pub_send(pub, "other.x", "not subscribed");
        }
        int wakes = 0;
        until = mono_ms() + 5000;
        while (s.n < round && mono_ms() < until)
            wakes += wake_and_drain(c, fd, 200, &s);
        assert_true(wakes >= 1);
        assert_int_equal(s.n, round);
        /* Nothing more: no message twice. */
        wake_and_drain(c, fd, 50, &s);
        assert_int_equal(s.n, round);
        for (int k = 0; k < round; k++)
            assert_string_equal(s.body[k], want[k]);
    }
    bwc_client_destroy(&c);
    assert_int_equal(zmq_close(pub), 0);
    assert_int_equal(zmq_ctx_term(zctx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_errors_name_the_fix),
        cmocka_unit_test(test_exports_are_the_header),
        cmocka_unit_test(test_one_prefix),
        cmocka_unit_test(test_fd_wakes_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
