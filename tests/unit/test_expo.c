/* test_expo: the metrics exposition (clients/metrics/expo.c) — exact yuan
 * and ratios from fen and bp (negative too), label values escaped, the
 * histogram's buckets and +Inf, per-project series only when enabled and
 * the cap said, and a daemon that did not answer giving only budgetwatch_up 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expo.h"

static char *expo(const bwm_input *in)
{
    bwm_buf b = { 0 };
    bwm_expo_write(in, &b);
    assert_false(b.oom);
    return b.s;
}

static void has(const char *text, const char *line)
{
    if (strstr(text, line) == NULL)
        fail_msg("missing \"%s\" in:\n%s", line, text);
}

static bw_status_row row(const char *unit, const char *project, const char *name, int64_t budget,
                         int64_t paid, int32_t rate_bp)
{
    bw_status_row r;
    memset(&r, 0, sizeof r);
    strcpy(r.unit, unit);
    strcpy(r.project, project);
    strcpy(r.project_name, name);
    strcpy(r.unit_name, name);
    r.budget = budget;
    r.paid = paid;
    r.rate_bp = rate_bp;
    r.shortfall = -5;
    return r;
}

static void test_down(void **state)
{
    (void)state;
    bwm_input in = { .up = false };
    char *t = expo(&in);
    has(t, "budgetwatch_up 0\n");
    assert_null(strstr(t, "budgetwatch_events_accepted_total"));
    free(t);
}

static bwm_alert_count ac(const char *kind, const char *sev, const char *state, const char *band,
                          const char *handling)
{
    bwm_alert_count c;
    memset(&c, 0, sizeof c);
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    snprintf(c.severity, sizeof c.severity, "%s", sev);
    snprintf(c.state, sizeof c.state, "%s", state);
    snprintf(c.band, sizeof c.band, "%s", band);
    snprintf(c.handling, sizeof c.handling, "%s", handling);
    return c;
}

static void test_figures(void **state)
{
    (void)state;
    bw_status_row units[] = { row("U1", "", "社保\"中心\\\n", 100000001, 12345, 1234) };
    bw_status_row projects[] = { row("U1", "P1", "项目一", 7, 3, 4285) };
    bwm_alert_count alerts[4];
    size_t na = 0;
    /* Equal labels add up (the daemon's stats may group finer than the
     * series); band and handling are labels of their own. */
    bwm_alert_count yellow = ac("lag", "warning", "firing", "黄", "unhandled");
    bwm_alert_count red = ac("lag", "critical", "acknowledged", "红一档", "followed_up");
    bwm_alert_count over = ac("overspend", "critical", "acknowledged", "", "judged_violation");
    bwm_alert_count old = ac("milestone", "warning", "firing", "", "");   /* a daemon before bands */
    bwm_alert_count dropped = ac("dropped", "x", "y", "", "");
    bwm_alert_tally(alerts, &na, 4, &yellow, 1);
    bwm_alert_tally(alerts, &na, 4, &red, 3);
    bwm_alert_tally(alerts, &na, 4, &yellow, 1);
    bwm_alert_tally(alerts, &na, 4, &over, 1);
    bwm_alert_tally(alerts, &na, 4, &old, 2);
    bwm_alert_tally(alerts, &na, 4, &dropped, 1);     /* the table is full */
    assert_int_equal(na, 4);
    bwm_input in = { .up = true, .pace_bp = 4958, .units = units, .nunits = 1,
                     .projects = projects, .nprojects = 1, .per_project = true, .capped = true,
                     .cap = 1, .alerts = alerts, .nalerts = na };
    in.total = row("", "", "", 100000001, 12345, 1234);
    in.stats.accepted = 42;
    in.stats.nlatency = 2;
    in.stats.latency_bounds_us[0] = 50;
    in.stats.latency_bounds_us[1] = 5000000;
    in.stats.latency_counts[0] = 1;
    in.stats.latency_counts[1] = 3;
    in.stats.latency_count = 4;
    in.stats.latency_sum_us = 6000123;
    in.stats.nrejected = 1;
    strcpy(in.stats.rejected[0].name, "bad_refund");
    in.stats.rejected[0].n = 2;
    char *t = expo(&in);
    has(t, "budgetwatch_up 1\n");
    has(t, "# TYPE budgetwatch_events_accepted_total counter\nbudgetwatch_events_accepted_total 42\n");
    has(t, "budgetwatch_events_rejected_total{reason=\"bad_refund\"} 2\n");
    has(t, "budgetwatch_commit_latency_seconds_bucket{le=\"0.000050\"} 1\n");
    has(t, "budgetwatch_commit_latency_seconds_bucket{le=\"5.000000\"} 3\n");
    has(t, "budgetwatch_commit_latency_seconds_bucket{le=\"+Inf\"} 4\n");
    has(t, "budgetwatch_commit_latency_seconds_sum 6.000123\n");
    has(t, "budgetwatch_department_budget_yuan 1000000.01\n");
    has(t, "budgetwatch_department_paid_yuan 123.45\n");
    has(t, "budgetwatch_department_execution_ratio 0.1234\n");
    has(t, "budgetwatch_department_pace_ratio 0.4958\n");
    has(t, "budgetwatch_department_shortfall_yuan -0.05\n");
    has(t, "budgetwatch_unit_info{unit=\"U1\",name=\"社保\\\"中心\\\\\\n\"} 1\n");
    has(t, "budgetwatch_unit_paid_yuan{unit=\"U1\"} 123.45\n");
    has(t, "budgetwatch_alerts_active{kind=\"lag\",severity=\"warning\",state=\"firing\",band=\"黄\","
           "handling=\"unhandled\"} 2\n");
    has(t, "budgetwatch_alerts_active{kind=\"lag\",severity=\"critical\",state=\"acknowledged\","
           "band=\"红一档\",handling=\"followed_up\"} 3\n");
    has(t, "budgetwatch_alerts_active{kind=\"overspend\",severity=\"critical\",state=\"acknowledged\","
           "handling=\"judged_violation\"} 1\n");
    has(t, "budgetwatch_alerts_active{kind=\"milestone\",severity=\"warning\",state=\"firing\"} 2\n");
    assert_null(strstr(t, "kind=\"dropped\""));
    has(t, "budgetwatch_project_info{project=\"P1\",unit=\"U1\",name=\"项目一\"} 1\n");
    has(t, "budgetwatch_project_paid_yuan{project=\"P1\"} 0.03\n");
    has(t, "budgetwatch_project_execution_ratio{project=\"P1\"} 0.4285\n");
    has(t, "budgetwatch_project_series_capped 1\n");
    has(t, "budgetwatch_project_series_limit 1\n");
    assert_null(strstr(t, "budgetwatch_project_pace_ratio"));
    free(t);

    in.per_project = false;
    in.capped = false;
    t = expo(&in);
    assert_null(strstr(t, "budgetwatch_project_info"));
    has(t, "budgetwatch_project_series_capped 0\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down),
        cmocka_unit_test(test_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
