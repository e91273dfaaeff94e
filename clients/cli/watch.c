/* watch: the supervisor's alert stream. It reads the active alerts first, then
 * follows the stream; a jump in seq or a heartbeat ahead of it means something
 * was missed, and it says so and reads the active alerts again. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct watch {
    cli *c;
    const char *unit, *project, *exec;
    int severity, kind;         /* -1 = any */
    bool json;
    long count, shown;
    uint64_t last_seq;
} watch;

static bool wanted(const watch *w, const bw_alert_msg *a)
{
    return (!w->unit || !strcmp(w->unit, a->unit)) && (!w->project || !strcmp(w->project, a->project)) &&
           (w->severity < 0 || a->severity == w->severity) && (w->kind < 0 || a->kind == w->kind);
}

/* In --exec's child: CMD never runs on half its variables. */
static void set_or_exit(const bw_alert_msg *a, const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0) {
        fprintf(stderr, "budgetwatch: --exec was not run for alert %" PRIu64 ": cannot set %s: "
                "%s\n", a->seq, name, strerror(errno));
        _exit(127);
    }
}

static void run_exec(const watch *w, const bw_alert_msg *a)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "budgetwatch: --exec was not run for alert %" PRIu64 ": cannot fork: %s "
                "(too many processes?)\n", a->seq, strerror(errno));
        return;
    }
    if (pid == 0) {
        char n[32];
        set_or_exit(a, "BW_KIND", bw_kind_name(a->kind));
        set_or_exit(a, "BW_STATE", bw_state_name(a->state));
        set_or_exit(a, "BW_SEVERITY", bw_severity_name(a->severity));
        set_or_exit(a, "BW_UNIT", a->unit);
        set_or_exit(a, "BW_UNIT_NAME", a->unit_name);
        set_or_exit(a, "BW_PROJECT", a->project);
        set_or_exit(a, "BW_PROJECT_NAME", a->project_name);
        set_or_exit(a, "BW_MILESTONE", a->milestone);
        set_or_exit(a, "BW_SRC", a->src);
        set_or_exit(a, "BW_BAND", a->band);
        set_or_exit(a, "BW_BASIS", bw_basis_name(a->basis));
        set_or_exit(a, "BW_HANDLING", bw_handling_name(a->handling));
        set_or_exit(a, "BW_EVENT_ID", a->id);
        set_or_exit(a, "BW_BY", a->by);
        const struct { const char *k; long long v; } nums[] = {
            { "BW_SEQ", (long long)a->seq }, { "BW_PAID_FEN", a->paid }, { "BW_BUDGET_FEN", a->budget },
            { "BW_SHORTFALL_FEN", a->shortfall }, { "BW_RATE_BP", a->rate_bp },
            { "BW_PLANNED_BP", a->planned_bp }, { "BW_LAG_BP", a->lag_bp }, { "BW_AT", a->at },
            { "BW_PACE_LAG_BP", a->pace_lag_bp }, { "BW_PACE_SHORTFALL_FEN", a->pace_shortfall },
            { "BW_AMOUNT_FEN", a->amount },
        };
        for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
            snprintf(n, sizeof n, "%lld", nums[i].v);
            set_or_exit(a, nums[i].k, n);
        }
        execl("/bin/sh", "sh", "-c", w->exec, (char *)NULL);
        fprintf(stderr, "budgetwatch: cannot run --exec with /bin/sh: %s\n", strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

static void show(watch *w, const bw_alert_msg *a)
{
    if (!wanted(w, a))
        return;
    if (w->json)
        alert_json(stdout, a);
    else
        alert_line(stdout, a);
    fflush(stdout);
    if (w->exec)
        run_exec(w, a);
    w->shown++;
}

/* Reads and shows the active alerts; the stream continues after their seq. */
static int snapshot(watch *w)
{
    bw_ctl_req q = { .op = BW_OP_ALERTS };
    const msgpack_object *m;
    int rc = cli_request(w->c, &q, &m);
    if (rc)
        return rc;
    uint64_t seq = 0;
    bw_map_get_uint(m, "seq", &seq);
    const msgpack_object *a = bw_map_get(m, "alerts");
    for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
        bw_alert_msg am;
        char why[BW_WHY_MAX];
        if (bw_alert_from_object(&a->via.array.ptr[i], &am, why, sizeof why) == 0)
            show(w, &am);
        else
            fprintf(stderr, "budgetwatch: active alert %" PRIu32 " from %s is unreadable (%s); "
                    "it is left out: is the daemon newer than this command?\n", i + 1,
                    w->c->control, why);
    }
    w->last_seq = seq;
    return EXIT_OK;
}

static int resync(watch *w, uint64_t upto)
{
    fprintf(stderr, "budgetwatch: missed alerts %" PRIu64 "..%" PRIu64 "; re-reading the active alerts\n",
            w->last_seq + 1, upto);
    return snapshot(w);
}

/* Waits for the first heartbeat, which proves the subscription is live; an
 * exit code. */
static int wait_live(watch *w, int timeout_s)
{
    time_t end = time(NULL) + timeout_s;
    while (time(NULL) < end) {
        const char *topic;
        const void *body;
        size_t len;
        int got = bwc_client_next(w->c->client, 500, &topic, &body, &len);
        if (got < 0) {
            fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(w->c->client));
            return EXIT_FAILED;
        }
        if (got == 1 && !strcmp(topic, "hb"))
            return EXIT_OK;
    }
    fprintf(stderr, "budgetwatch: no heartbeat on %s within %d s; is budgetwatchd running?\n",
            w->c->alerts, timeout_s);
    return EXIT_UNREACHABLE;
}

static int follow(watch *w, int idle_s)
{
    time_t quiet_since = time(NULL);
    while (w->count == 0 || w->shown < w->count) {
        const char *topic;
        const void *body;
        size_t len;
        int got = bwc_client_next(w->c->client, 200, &topic, &body, &len);
        if (got < 0) {
            fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(w->c->client));
            return EXIT_FAILED;
        }
        if (got == 0) {
            if (idle_s > 0 && time(NULL) - quiet_since >= idle_s)
                return EXIT_OK;
            continue;
        }
        char why[BW_WHY_MAX];
        if (!strcmp(topic, "hb")) {
            bw_heartbeat hb;
            if (bw_heartbeat_decode(body, len, &hb, why, sizeof why) == 0 && hb.seq > w->last_seq &&
                resync(w, hb.seq))
                return EXIT_FAILED;
            continue;
        }
        bw_alert_msg a;
        if (bw_alert_decode(body, len, &a, why, sizeof why)) {
            fprintf(stderr, "budgetwatch: unreadable alert on %s: %s\n", w->c->alerts, why);
            continue;
        }
        quiet_since = time(NULL);
        if (a.seq <= w->last_seq)
            continue;   /* already in the snapshot */
        if (a.seq > w->last_seq + 1 && resync(w, a.seq - 1))
            return EXIT_FAILED;
        if (a.seq > w->last_seq) {
            show(w, &a);
            w->last_seq = a.seq;
        }
    }
    return EXIT_OK;
}

int cmd_watch(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "unit", required_argument, NULL, 'u' },  { "project", required_argument, NULL, 'p' },
        { "severity", required_argument, NULL, 's' }, { "kind", required_argument, NULL, 'k' },
        { "json", no_argument, NULL, 'j' },          { "exec", required_argument, NULL, 'e' },
        { "count", required_argument, NULL, 'n' },   { "timeout", required_argument, NULL, 't' },
        { "ready-file", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
    };
    watch w = { .c = c, .severity = -1, .kind = -1 };
    const char *ready = NULL;
    int ch, idle_s = 0;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': w.unit = optarg; break;
        case 'p': w.project = optarg; break;
        case 's':
            if ((w.severity = bw_severity_parse(optarg)) < 0) {
                fprintf(stderr, "budgetwatch: --severity is warning or critical\n");
                return EXIT_USAGE;
            }
            break;
        case 'k':
            if ((w.kind = bw_kind_parse(optarg)) < 0) {
                fprintf(stderr, "budgetwatch: --kind is lag, milestone, overspend, year_end, source_gap or ledger_damaged\n");
                return EXIT_USAGE;
            }
            break;
        case 'j': w.json = true; break;
        case 'e': w.exec = optarg; break;
        case 'n':
        case 't': {
            long long v;
            if (cli_number("watch", ch == 'n' ? "--count" : "--timeout", optarg, 0, 100000000, &v))
                return EXIT_USAGE;
            if (ch == 'n')
                w.count = (long)v;
            else
                idle_s = (int)v;
            break;
        }
        case 'r': ready = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    /* Everything is subscribed to, filters apply here: only then is a jump in
     * seq a real gap. */
    if (bwc_client_subscribe(c->client, "alert.")) {
        fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(c->client));
        return EXIT_FAILED;
    }
    int rc = wait_live(&w, c->timeout_ms / 1000 + 10);
    if (rc)
        return rc;
    if ((rc = snapshot(&w)) != 0)
        return rc;
    if (ready) {
        /* Whoever waits for it would wait forever: say so and stop. */
        FILE *f = fopen(ready, "w");
        if (f == NULL || fclose(f) != 0) {
            fprintf(stderr, "budgetwatch: --ready-file %s: cannot create it: %s\n", ready,
                    strerror(errno));
            return EXIT_FAILED;
        }
    }
    return follow(&w, idle_s);
}
