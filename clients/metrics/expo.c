/* expo: the text exposition of the daemon's figures (expo.h). Every family
 * has its HELP and TYPE once, then its samples; names follow Prometheus's
 * conventions (base units: seconds, bytes, yuan; counters end in _total). */
#include "expo.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(bwm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(bwm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->oom || k < 0)
        return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = (b->n + (size_t)k + 1) * 2 + 4096;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

/* A label value: backslash, double quote and line feed escaped (0.0.4). */
static void add_label(bwm_buf *b, const char *v)
{
    char tmp[1024];
    size_t k = 0;
    for (; *v && k + 3 < sizeof tmp; v++) {
        if (*v == '\\' || *v == '"') {
            tmp[k++] = '\\';
            tmp[k++] = *v;
        } else if (*v == '\n') {
            tmp[k++] = '\\';
            tmp[k++] = 'n';
        } else {
            tmp[k++] = *v;
        }
    }
    tmp[k] = '\0';
    add(b, "%s", tmp);
}

static void family(bwm_buf *b, const char *name, const char *type, const char *help)
{
    add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* An integer scaled down by 10^digits, as an exact decimal: (12345, 2) -> "123.45". */
static void add_scaled(bwm_buf *b, int64_t v, int digits)
{
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v, p = 1;
    for (int i = 0; i < digits; i++)
        p *= 10;
    add(b, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", m / p, digits, m % p);
}

static void yuan(bwm_buf *b, int64_t fen)
{
    add_scaled(b, fen, 2);
}

static void ratio(bwm_buf *b, int64_t bp)
{
    add_scaled(b, bp, 4);
}

static void counter(bwm_buf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    add(b, "%s %" PRIu64 "\n", name, v);
}

static void gauge(bwm_buf *b, const char *name, const char *help, int64_t v)
{
    family(b, name, "gauge", help);
    add(b, "%s %" PRId64 "\n", name, v);
}

static void labelled_counts(bwm_buf *b, const char *name, const char *help, const char *label,
                            const bwm_count *c, size_t n)
{
    family(b, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        add(b, "%s{%s=\"", name, label);
        add_label(b, c[i].name);
        add(b, "\"} %" PRIu64 "\n", c[i].n);
    }
}

static void daemon_metrics(bwm_buf *b, const bwm_stats *s)
{
    counter(b, "budgetwatch_events_accepted_total", "Events accepted into the ledger.", s->accepted);
    counter(b, "budgetwatch_events_duplicate_total", "Events received again (same src and id), counted once.",
            s->duplicates);
    labelled_counts(b, "budgetwatch_events_rejected_total", "Events rejected, by reason class.",
                    "reason", s->rejected, s->nrejected);
    counter(b, "budgetwatch_sequence_gaps_total", "Jumps in a source's seq (events may be missing).",
            s->gaps);
    counter(b, "budgetwatch_source_restarts_total", "Sources that started their seq again at 1.",
            s->restarts);
    counter(b, "budgetwatch_batches_total", "Ledger transactions committed.", s->batches);
    counter(b, "budgetwatch_bad_frames_total", "Messages with the wrong number of frames.",
            s->bad_frames);
    labelled_counts(b, "budgetwatch_auth_denied_total", "CURVE handshakes refused, by socket.",
                    "socket", s->auth_denied, s->nauth);
    counter(b, "budgetwatch_control_requests_total", "Control requests received.", s->control_requests);
    counter(b, "budgetwatch_control_errors_total", "Control requests that could not be read.",
            s->control_errors);
    counter(b, "budgetwatch_control_denied_total", "Control requests the key's role does not allow.",
            s->control_denied);
    counter(b, "budgetwatch_integrity_checks_total", "Background integrity checks of the ledger run.",
            s->integrity_checks);
    counter(b, "budgetwatch_integrity_failures_total", "Integrity checks that found the ledger damaged.",
            s->integrity_failures);
    counter(b, "budgetwatch_dead_letters_dropped_total",
            "Rejected messages answered but not kept (max_dead_letters were waiting).",
            s->dead_letters_dropped);
    counter(b, "budgetwatch_alerts_published_total", "Alert messages published (the last alert seq).",
            s->alert_seq);
    family(b, "budgetwatch_commit_latency_seconds", "histogram",
           "Time to write and commit one ledger transaction.");
    for (size_t i = 0; i < s->nlatency; i++) {
        add(b, "budgetwatch_commit_latency_seconds_bucket{le=\"");
        add_scaled(b, (int64_t)s->latency_bounds_us[i], 6);
        add(b, "\"} %" PRIu64 "\n", s->latency_counts[i]);
    }
    add(b, "budgetwatch_commit_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", s->latency_count);
    add(b, "budgetwatch_commit_latency_seconds_sum ");
    add_scaled(b, (int64_t)s->latency_sum_us, 6);
    add(b, "\nbudgetwatch_commit_latency_seconds_count %" PRIu64 "\n", s->latency_count);
    gauge(b, "budgetwatch_uptime_seconds", "Seconds since the daemon started.", s->uptime);
    gauge(b, "budgetwatch_ledger_events", "Accepted events in the ledger.", s->events_in_ledger);
    gauge(b, "budgetwatch_dead_letters_pending", "Rejected messages kept for replay_rejected.",
          s->dead_letters_pending);
    gauge(b, "budgetwatch_sources", "Payment sources the daemon tracks.", (int64_t)s->sources);
    gauge(b, "budgetwatch_plan_projects", "Projects in the loaded plan.", (int64_t)s->projects);
    if (s->has_wal)
        gauge(b, "budgetwatch_wal_bytes", "Size of the ledger's write-ahead log.", s->wal_bytes);
}

static void alerts_metrics(bwm_buf *b, const bwm_input *in)
{
    family(b, "budgetwatch_alerts_active", "gauge",
           "Active alerts (firing or acknowledged), by kind, severity, state, lag band and handling.");
    for (size_t i = 0; i < in->nalerts; i++) {
        const bwm_alert_count *a = &in->alerts[i];
        add(b, "budgetwatch_alerts_active{kind=\"");
        add_label(b, a->kind);
        add(b, "\",severity=\"");
        add_label(b, a->severity);
        add(b, "\",state=\"");
        add_label(b, a->state);
        /* band only on the lag's series (an empty label is no label in
         * Prometheus); handling on every alert of a daemon that has it. */
        if (a->band[0]) {
            add(b, "\",band=\"");
            add_label(b, a->band);
        }
        if (a->handling[0]) {
            add(b, "\",handling=\"");
            add_label(b, a->handling);
        }
        add(b, "\"} %" PRIu64 "\n", a->n);
    }
}

/* One execution family over the department, the units or the projects. */
typedef enum { M_BUDGET, M_PAID, M_EXEC, M_PLANNED, M_PACE, M_SHORTFALL } measure;

static void value(bwm_buf *b, const bw_status_row *r, int32_t pace, measure m)
{
    switch (m) {
    case M_BUDGET: yuan(b, r->budget); break;
    case M_PAID: yuan(b, r->paid); break;
    case M_EXEC: ratio(b, r->rate_bp); break;
    case M_PLANNED: ratio(b, r->planned_bp); break;
    case M_PACE: ratio(b, pace); break;
    case M_SHORTFALL: yuan(b, r->shortfall); break;
    }
    add(b, "\n");
}

static const struct {
    const char *suffix, *help;
} measures[] = {
    [M_BUDGET] = { "budget_yuan", "Budget as adjusted (调整后预算数), yuan." },
    [M_PAID] = { "paid_yuan", "Net paid so far (支出数), yuan." },
    [M_EXEC] = { "execution_ratio", "Paid over budget (支出进度)." },
    [M_PLANNED] = { "planned_ratio", "The plan's share of the budget due by now (计划进度)." },
    [M_PACE] = { "pace_ratio", "Share of the fiscal year elapsed (序时进度)." },
    [M_SHORTFALL] = { "shortfall_yuan", "Planned money minus paid (negative: ahead), yuan." },
};

static void execution(bwm_buf *b, const bwm_input *in)
{
    char name[96];
    for (int m = M_BUDGET; m <= M_SHORTFALL; m++) {
        snprintf(name, sizeof name, "budgetwatch_department_%s", measures[m].suffix);
        family(b, name, "gauge", measures[m].help);
        add(b, "%s ", name);
        value(b, &in->total, in->pace_bp, (measure)m);
    }
    family(b, "budgetwatch_unit_info", "gauge", "Budget units of the plan, with their names.");
    for (size_t i = 0; i < in->nunits; i++) {
        add(b, "budgetwatch_unit_info{unit=\"");
        add_label(b, in->units[i].unit);
        add(b, "\",name=\"");
        add_label(b, in->units[i].unit_name);
        add(b, "\"} 1\n");
    }
    for (int m = M_BUDGET; m <= M_SHORTFALL; m++) {
        snprintf(name, sizeof name, "budgetwatch_unit_%s", measures[m].suffix);
        family(b, name, "gauge", measures[m].help);
        for (size_t i = 0; i < in->nunits; i++) {
            add(b, "%s{unit=\"", name);
            add_label(b, in->units[i].unit);
            add(b, "\"} ");
            value(b, &in->units[i], in->pace_bp, (measure)m);
        }
    }
}

/* Per-project series: only when enabled, names only in the info series
 * (a project's name would otherwise repeat in every one of its series). */
static void projects(bwm_buf *b, const bwm_input *in)
{
    gauge(b, "budgetwatch_project_series_capped",
          "1 when more projects were to be exposed than the cap allows (the rest are left out).",
          in->capped);
    gauge(b, "budgetwatch_project_series_limit", "The most projects exposed per scrape.",
          (int64_t)in->cap);
    if (!in->per_project)
        return;
    family(b, "budgetwatch_project_info", "gauge", "Projects exposed, with their unit and name.");
    for (size_t i = 0; i < in->nprojects; i++) {
        add(b, "budgetwatch_project_info{project=\"");
        add_label(b, in->projects[i].project);
        add(b, "\",unit=\"");
        add_label(b, in->projects[i].unit);
        add(b, "\",name=\"");
        add_label(b, in->projects[i].project_name);
        add(b, "\"} 1\n");
    }
    char name[96];
    for (int m = M_BUDGET; m <= M_SHORTFALL; m++) {
        if (m == M_PACE)
            continue;                   /* the same for every project: the unit's says it */
        snprintf(name, sizeof name, "budgetwatch_project_%s", measures[m].suffix);
        family(b, name, "gauge", measures[m].help);
        for (size_t i = 0; i < in->nprojects; i++) {
            add(b, "%s{project=\"", name);
            add_label(b, in->projects[i].project);
            add(b, "\"} ");
            value(b, &in->projects[i], in->pace_bp, (measure)m);
        }
    }
}

void bwm_expo_write(const bwm_input *in, bwm_buf *out)
{
    family(out, "budgetwatch_up", "gauge", "1 when budgetwatchd answered this scrape.");
    add(out, "budgetwatch_up %d\n", in->up ? 1 : 0);
    family(out, "budgetwatch_scrape_duration_seconds", "gauge",
           "Time budgetwatch-metrics took to ask budgetwatchd.");
    add(out, "budgetwatch_scrape_duration_seconds %.6f\n", in->scrape_seconds);
    if (!in->up)
        return;
    daemon_metrics(out, &in->stats);
    alerts_metrics(out, in);
    execution(out, in);
    projects(out, in);
}

static bool same_labels(const bwm_alert_count *a, const bwm_alert_count *b)
{
    return !strcmp(a->kind, b->kind) && !strcmp(a->severity, b->severity) &&
           !strcmp(a->state, b->state) && !strcmp(a->band, b->band) &&
           !strcmp(a->handling, b->handling);
}

void bwm_alert_tally(bwm_alert_count *t, size_t *n, size_t max, const bwm_alert_count *c,
                     uint64_t k)
{
    for (size_t i = 0; i < *n; i++)
        if (same_labels(&t[i], c)) {
            t[i].n += k;
            return;
        }
    if (*n == max)
        return;
    t[*n] = *c;
    t[(*n)++].n = k;
}
