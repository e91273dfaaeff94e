/* test_config: the defaults, the shipped commented configuration (equal to the
 * defaults once uncommented), every key, and every error with file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[256];

static const char *write_conf(const char *text)
{
    snprintf(path, sizeof path, "/tmp/bw-test-config-%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int load(const char *text, bw_config *c, bw_err *err)
{
    bw_config_defaults(c);
    int rc = bw_config_load(c, write_conf(text), err);
    unlink(path);
    return rc;
}

static void same_config(const bw_config *a, const bw_config *b)
{
    assert_string_equal(a->plan, b->plan);
    assert_string_equal(a->state_dir, b->state_dir);
    assert_string_equal(a->runtime_dir, b->runtime_dir);
    assert_int_equal(a->fiscal_year, b->fiscal_year);
    assert_string_equal(a->timezone, b->timezone);
    assert_int_equal(a->clock, b->clock);
    assert_int_equal(a->future_tolerance, b->future_tolerance);
    assert_int_equal(a->n_events_sub, b->n_events_sub);
    assert_int_equal(a->n_prefixes, b->n_prefixes);
    for (int i = 0; i < a->n_prefixes; i++)
        assert_string_equal(a->events_sub_prefixes[i], b->events_sub_prefixes[i]);
    assert_string_equal(a->events_ack, b->events_ack);
    assert_string_equal(a->alerts_pub, b->alerts_pub);
    assert_string_equal(a->control, b->control);
    assert_int_equal(a->lag_warning_bp, b->lag_warning_bp);
    assert_int_equal(a->lag_critical_bp, b->lag_critical_bp);
    assert_int_equal(a->hysteresis_bp, b->hysteresis_bp);
    assert_int_equal(a->repeat_interval, b->repeat_interval);
    assert_int_equal(a->heartbeat_interval, b->heartbeat_interval);
    assert_memory_equal(&a->default_milestones, &b->default_milestones, sizeof a->default_milestones);
    assert_int_equal(a->default_target_bp, b->default_target_bp);
    assert_int_equal(a->sync_full, b->sync_full);
    assert_int_equal(a->batch_max, b->batch_max);
    assert_int_equal(a->max_message_bytes, b->max_message_bytes);
    assert_int_equal(a->max_dead_letters, b->max_dead_letters);
}

static void test_defaults(void **state)
{
    (void)state;
    unsetenv("STATE_DIRECTORY");
    unsetenv("RUNTIME_DIRECTORY");
    bw_config c;
    bw_config_defaults(&c);
    assert_string_equal(c.state_dir, ".");
    assert_string_equal(c.control, "ipc://./control.sock");
    assert_string_equal(c.events_ack, "tcp://127.0.0.1:7601");
    assert_int_equal(c.lag_warning_bp, 1000);
    assert_int_equal(c.repeat_interval, 86400);
    assert_int_equal(c.default_milestones.n, 4);
    assert_int_equal(c.default_milestones.m[1].bp, 6000);
    setenv("STATE_DIRECTORY", "/var/lib/budgetwatch:/var/lib/other", 1);
    setenv("RUNTIME_DIRECTORY", "/run/budgetwatch", 1);
    bw_config_defaults(&c);
    assert_string_equal(c.state_dir, "/var/lib/budgetwatch");
    assert_string_equal(c.control, "ipc:///run/budgetwatch/control.sock");
    unsetenv("STATE_DIRECTORY");
    unsetenv("RUNTIME_DIRECTORY");
}

/* The shipped file with every "#key = value" uncommented equals the defaults,
 * except the lines that name installed paths (plan, state and runtime dirs,
 * control, events_sub, server_key), which are examples. */
static void test_shipped_config_is_the_defaults(void **state)
{
    (void)state;
    char src[1024], text[8192] = "";
    snprintf(src, sizeof src, "%s/examples/budgetwatchd.conf", BW_SOURCE_DIR);
    FILE *f = fopen(src, "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        bool example = strstr(line, "#plan") || strstr(line, "#state_dir") || strstr(line, "#runtime_dir") ||
                       strstr(line, "#control") || strstr(line, "#events_sub =") ||
                       strstr(line, "#server_key") || strstr(line, "#bands");
        if (line[0] == '#' && strchr(line, '=') && !example)
            strncat(text, line + 1, sizeof text - strlen(text) - 1);
        else if (line[0] != '#')
            strncat(text, line, sizeof text - strlen(text) - 1);
    }
    fclose(f);
    bw_config defaults, loaded;
    bw_err err;
    bw_config_defaults(&defaults);
    if (load(text, &loaded, &err))
        fail_msg("%s", err.msg);
    same_config(&defaults, &loaded);
}

static void test_every_key(void **state)
{
    (void)state;
    bw_config c;
    bw_err err;
    int rc = load("[daemon]\nplan = /p.csv\nstate_dir = /s\nruntime_dir = /r\nfiscal_year = 2024\n"
                  "timezone = Europe/Berlin\nclock = event\nfuture_tolerance = 5m\n"
                  "[endpoints]\nevents_sub = bind:tcp://127.0.0.1:1, connect:ipc:///x\n"
                  "events_sub_prefixes = disb.323003., disb.323004.\nevents_ack = tcp://*:2\n"
                  "alerts_pub = tcp://*:3\n"
                  "[alerts]\nlag_warning_pp = 7.5\nlag_critical_pp = 15\nhysteresis_pp = 0.5\n"
                  "repeat_interval = 2d\nheartbeat_interval = 10\n"
                  "default_milestones = 02-29:50;12-31:100\ndefault_target_pct = 97.5\n"
                  "[store]\nsynchronous = full\nbatch_max = 100\n[limits]\nmax_message_bytes = 4096\n"
                  "max_dead_letters = 10\n",
                  &c, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(c.plan, "/p.csv");
    assert_int_equal(c.fiscal_year, 2024);
    assert_int_equal(c.clock, BW_CLOCK_EVENT);
    assert_int_equal(c.future_tolerance, 300);
    assert_int_equal(c.n_events_sub, 2);
    assert_true(c.events_sub[0].bind);
    assert_false(c.events_sub[1].bind);
    assert_string_equal(c.events_sub[1].url, "ipc:///x");
    assert_int_equal(c.n_prefixes, 2);
    assert_string_equal(c.events_sub_prefixes[1], "disb.323004.");
    assert_string_equal(c.control, "ipc:///r/control.sock");   /* follows runtime_dir */
    assert_int_equal(c.lag_warning_bp, 750);
    assert_int_equal(c.hysteresis_bp, 50);
    assert_int_equal(c.repeat_interval, 172800);
    assert_int_equal(c.default_milestones.m[0].month, 2);
    assert_int_equal(c.default_target_bp, 9750);
    assert_true(c.sync_full);
    assert_int_equal(c.batch_max, 100);
    assert_int_equal(c.max_message_bytes, 4096);
    assert_int_equal(c.max_dead_letters, 10);
}

typedef struct bad {
    const char *text, *msg;
} bad;

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    static const bad cases[] = {
        { "[daemon]\n\nclock = sometimes\n", ":3: [daemon] clock: \"sometimes\" must be wall or event" },
        { "[daemon]\nfiscal_year = 20x2\n", ":2: [daemon] fiscal_year: \"20x2\" is not a whole number" },
        { "[dameon]\nclock = wall\n", ":2: [dameon] clock: unknown section [dameon]" },
        { "[alerts]\nlag_warning = 10\n", ":2: [alerts] lag_warning: unknown key" },
        { "[alerts]\nrepeat_interval = 1 week\n", ":2: [alerts] repeat_interval: \"1 week\" is not a duration" },
        { "[alerts]\nlag_warning_pp = 10\nlag_warning_pp = 11\n", ":3: [alerts] lag_warning_pp: given twice" },
        { "[alerts]\ndefault_milestones = 02-29:50;12-31:100\n",
          ":2: [alerts] default_milestones: milestone 1 \"02-29:50\": 02-29 does not exist in 2022" },
        { "[alerts]\nlag_warning_pp = 30\n", ": [alerts] lag_warning_pp must be below lag_critical_pp" },
        { "[endpoints]\nevents_sub = tcp://127.0.0.1:1\n",
          ":2: [endpoints] events_sub: \"tcp://127.0.0.1:1\" must start with bind: or connect:" },
        { "[endpoints]\nevents_ack = http://x\n", ":2: [endpoints] events_ack: \"http://x\" is not a tcp://" },
        { "[store]\nsynchronous = sometimes\n", ":2: [store] synchronous: \"sometimes\" must be normal or full" },
        { "[daemon]\nthis line has no equals sign\n", ":2: not a [section] or a key = value line" },
        { "[alerts]\ndefault_target_pct = 101\n", ":2: [alerts] default_target_pct: \"101\" is not a number from 0 to 100" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bw_config c;
        bw_err err;
        assert_int_equal(load(cases[i].text, &c, &err), -1);
        if (strncmp(err.msg, path, strlen(path)) != 0 || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu:\n got  %s\n want %s%s", i, err.msg, path, cases[i].msg);
    }
    bw_config c;
    bw_err err;
    bw_config_defaults(&c);
    assert_int_equal(bw_config_load(&c, "/nonexistent/budgetwatchd.conf", &err), -1);
    assert_string_equal(err.msg, "/nonexistent/budgetwatchd.conf: cannot open: No such file or directory");
}

/* [alerts] of issue 16: the bands' syntax and each error with its line. */
static void test_bureau_keys(void **state)
{
    (void)state;
    bw_config c;
    bw_err err;
    assert_int_equal(load("[alerts]\nlag_basis = both\nbands = 黄:5, 红一档:10,红二档 : 20.5 , "
                          "红三档:30\nstalled_days = 90\nlarge_payment_pct = 50\n"
                          "large_payment_wan = 1000.5\n", &c, &err), 0);
    assert_int_equal(c.lag_basis, BW_BASIS_BOTH);
    assert_int_equal(c.nbands, 4);
    assert_string_equal(c.bands[0].name, "黄");
    assert_int_equal(c.bands[0].bp, 500);
    assert_string_equal(c.bands[2].name, "红二档");
    assert_int_equal(c.bands[2].bp, 2050);
    assert_int_equal(c.bands[3].bp, 3000);
    assert_int_equal(c.stalled_after, 90 * 86400);
    assert_int_equal(c.large_payment_bp, 5000);
    assert_int_equal(c.large_payment_fen, 1000500000);
    assert_int_equal(load("[alerts]\nburst_payments = 10\nburst_window = 2h\n"
                          "year_end_rush_days = 31\nyear_end_rush_pct = 40\n", &c, &err), 0);
    assert_int_equal(c.burst_payments, 10);
    assert_int_equal(c.burst_window, 7200);
    assert_int_equal(c.rush_window, 31 * 86400);
    assert_int_equal(c.rush_bp, 4000);
    /* Unset: off, and the bands are lag_warning_pp / lag_critical_pp's. */
    assert_int_equal(load("[alerts]\n", &c, &err), 0);
    assert_int_equal(c.lag_basis, BW_BASIS_PLAN);
    assert_int_equal(c.nbands, 0);
    assert_int_equal(c.stalled_after, 0);
    assert_int_equal(c.large_payment_bp, 0);
    assert_int_equal(c.large_payment_fen, 0);
    assert_int_equal(c.burst_payments, 0);
    assert_int_equal(c.burst_window, 86400);
    assert_int_equal(c.rush_window, 0);
    assert_int_equal(c.rush_bp, 3000);
    static const bad cases[] = {
        { "[alerts]\nburst_payments = 65\n", ":2: [alerts] burst_payments: \"65\" is not a whole number from 0 to 64" },
        { "[alerts]\nburst_window = 0\n", ":2: [alerts] burst_window: must be more than 0" },
        { "[alerts]\nlag_basis = 序时\n", ":2: [alerts] lag_basis: \"序时\" must be plan, pace or both" },
        { "[alerts]\n\nbands = 黄5\n", ":3: [alerts] bands: \"黄5\" is not NAME:PP (e.g. 黄:5)" },
        { "[alerts]\nbands = :5\n", ":2: [alerts] bands: band \":5\": a name must be 1 to 32 bytes" },
        { "[alerts]\nbands = 黄:五\n", ":2: [alerts] bands: band \"黄\": \"五\" is not percentage points" },
        { "[alerts]\nbands = 黄:0\n", ":2: [alerts] bands: band \"黄\": \"0\" is not percentage points" },
        { "[alerts]\nbands = 黄:5, 黄:10\n", ":2: [alerts] bands: band \"黄\" is named twice" },
        { "[alerts]\nbands = 红一档:10, 红二档:10\n",
          ":2: [alerts] bands: band \"红二档\" at 10 pp is not further below the basis than \"红一档\"" },
        { "[alerts]\nbands = a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9\n", ":2: [alerts] bands: more than 8 bands" },
        { "[alerts]\nbands = ,\n", ":2: [alerts] bands: names no band" },
        { "[alerts]\nhysteresis_pp = 2\nbands = 黄:2, 红:10\n",
          ":3: [alerts] bands: the first band \"黄\" must lie further below the basis than hysteresis_pp" },
        { "[alerts]\nstalled_days = 400\n", ":2: [alerts] stalled_days: \"400\" is not a whole number from 0 to 366" },
        { "[alerts]\nlarge_payment_wan = lots\n", ":2: [alerts] large_payment_wan: \"lots\" is not an amount in 万元" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(load(cases[i].text, &c, &err), -1);
        if (strncmp(err.msg, path, strlen(path)) != 0 || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu:\n got  %s\n want %s%s", i, err.msg, path, cases[i].msg);
    }
}

static void test_durations(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(bw_parse_duration("300", &v), 0);
    assert_int_equal(v, 300);
    assert_int_equal(bw_parse_duration("90s", &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(bw_parse_duration("5m", &v), 0);
    assert_int_equal(v, 300);
    assert_int_equal(bw_parse_duration("24h", &v), 0);
    assert_int_equal(v, 86400);
    assert_int_equal(bw_parse_duration("2d", &v), 0);
    assert_int_equal(v, 172800);
    assert_int_equal(bw_parse_duration("-1", &v), -1);
    assert_int_equal(bw_parse_duration("", &v), -1);
    assert_int_equal(bw_parse_duration("5w", &v), -1);
    assert_int_equal(bw_parse_duration("99999999999999999d", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_config_is_the_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bureau_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
