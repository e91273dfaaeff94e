/* status: the supervisor's tables and the one-shot operations (history, ack,
 * adjust, reload, replay-rejected, stats, verify, advance, ping), and how an
 * alert reads on a terminal or as JSON. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "money.h"

/* ---- JSON from msgpack replies (maps, arrays, strings, integers, bools) ---- */

static void json_of(FILE *f, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
    case MSGPACK_OBJECT_STR: {
        char *s = strndup(o->via.str.ptr, o->via.str.size);
        print_json_str(f, s ? s : "");
        free(s);
        break;
    }
    case MSGPACK_OBJECT_ARRAY:
        fputc('[', f);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                fputc(',', f);
            json_of(f, &o->via.array.ptr[i]);
        }
        fputc(']', f);
        break;
    case MSGPACK_OBJECT_MAP:
        fputc('{', f);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                fputc(',', f);
            json_of(f, &o->via.map.ptr[i].key);
            fputc(':', f);
            json_of(f, &o->via.map.ptr[i].val);
        }
        fputc('}', f);
        break;
    default: fputs("null", f); break;
    }
}

static void print_json(const msgpack_object *o)
{
    json_of(stdout, o);
    putchar('\n');
}

/* ---- alerts ---- */

static const char *paint(const char *code)
{
    return out_tty() ? code : "";
}

void alert_line(FILE *f, const bw_alert_msg *a)
{
    char t[32], p[32], b[32], r[16], pl[16], lag[16], sh[32];
    bool crit = a->severity == BW_SEV_CRITICAL, res = a->state == BW_STATE_RESOLVED;
    fprintf(f, "%s  %s%-9s%s %-10s ", fmt_time(a->at, t, sizeof t),
            paint(res ? "\033[32m" : crit ? "\033[1;31m" : "\033[33m"),
            res ? "resolved" : a->state == BW_STATE_ACKNOWLEDGED ? "acked" : crit ? "CRITICAL" : "WARNING",
            paint("\033[0m"), bw_kind_name(a->kind));
    if (a->kind == BW_KIND_SOURCE_GAP) {
        fputs("source \"", f);
        print_escaped(f, a->src);
        fprintf(f, "\" sent seq %" PRIu64 " after %" PRIu64 ": events %" PRIu64 "..%" PRIu64
                " may be lost\n", a->got_seq, a->expected_seq - 1, a->expected_seq, a->got_seq - 1);
        return;
    }
    if (a->kind == BW_KIND_LEDGER_DAMAGED) {
        fputs("the ledger file is damaged: ", f);
        print_escaped(f, a->note);
        fputs(" (keep a copy, restore the last backup)\n", f);
        return;
    }
    print_escaped(f, a->unit);
    fputc('/', f);
    print_escaped(f, a->project);
    fputc(' ', f);
    print_escaped(f, a->project_name);
    fprintf(f, ": paid %s of %s 万元, %s%% vs plan %s%%", bw_money_format_wan2(a->paid, p, sizeof p),
            bw_money_format_wan2(a->budget, b, sizeof b), fmt_bp(a->rate_bp, r, sizeof r),
            fmt_bp(a->planned_bp, pl, sizeof pl));
    if ((a->kind == BW_KIND_LAG || a->kind == BW_KIND_MILESTONE) && a->shortfall >= 0)
        fprintf(f, " (lag %s pp, %s 万元 behind)", fmt_bp(a->lag_bp, lag, sizeof lag),
                bw_money_format_wan2(a->shortfall, sh, sizeof sh));
    else if (a->kind == BW_KIND_LAG || a->kind == BW_KIND_MILESTONE)
        fprintf(f, " (%s 万元 ahead of plan)", bw_money_format_wan2(-a->shortfall, sh, sizeof sh));
    if (a->kind == BW_KIND_LAG && a->band[0]) {
        fputs(", band ", f);
        print_escaped(f, a->band);
        fprintf(f, " against %s", a->basis == BW_BASIS_PACE ? "序时进度" : "the plan");
    }
    if ((a->kind == BW_KIND_LAG || a->kind == BW_KIND_STALLED) && a->pace_shortfall >= 0)
        fprintf(f, "; 序时进度 %s%%: lag %s pp, %s 万元 behind", fmt_bp(a->pace_bp, pl, sizeof pl),
                fmt_bp(a->pace_lag_bp, lag, sizeof lag), bw_money_format_wan2(a->pace_shortfall, sh, sizeof sh));
    if (a->kind == BW_KIND_LARGE_PAYMENT && a->id[0]) {
        fprintf(f, "; payment of %s 万元, ", bw_money_format_wan2(a->amount, sh, sizeof sh));
        print_escaped(f, a->src);
        fputc('/', f);
        print_escaped(f, a->id);
        if (a->ref[0]) {
            fputs(" (ref ", f);
            print_escaped(f, a->ref);
            fputc(')', f);
        }
    }
    if (a->milestone[0])
        fprintf(f, ", milestone %s %s", a->milestone, res ? "now met" : "missed");
    if (a->kind == BW_KIND_OVERSPEND)
        fprintf(f, ", %s 万元 over budget", bw_money_format_wan2(a->paid - a->budget, sh, sizeof sh));
    if (a->state == BW_STATE_ACKNOWLEDGED && a->handling > BW_HANDLING_FOLLOWED_UP) {
        fprintf(f, " — %s by ", bw_handling_name(a->handling));
        print_escaped(f, a->by);
        if (a->note[0]) {
            fputs(": ", f);
            print_escaped(f, a->note);
        }
    } else if (a->state == BW_STATE_ACKNOWLEDGED) {
        fputs(" — acknowledged by ", f);
        print_escaped(f, a->by);
        if (a->note[0]) {
            fputs(": ", f);
            print_escaped(f, a->note);
        }
    }
    fputc('\n', f);
}

void alert_json(FILE *f, const bw_alert_msg *a)
{
    fprintf(f, "{\"seq\":%" PRIu64 ",\"kind\":\"%s\",\"state\":\"%s\",\"severity\":\"%s\",", a->seq,
            bw_kind_name(a->kind), bw_state_name(a->state), bw_severity_name(a->severity));
    const char *keys[] = { "unit", "unit_name", "project", "project_name", "milestone", "src", "by",
                           "note", "band", "basis", "handling", "id", "ref" };
    const char *vals[] = { a->unit, a->unit_name, a->project, a->project_name, a->milestone, a->src,
                           a->by, a->note, a->band, bw_basis_name(a->basis),
                           bw_handling_name(a->handling), a->id, a->ref };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        fprintf(f, "\"%s\":", keys[i]);
        print_json_str(f, vals[i]);
        fputc(',', f);
    }
    fprintf(f, "\"pace_lag_bp\":%d,\"pace_shortfall\":%" PRId64 ",\"amount\":%" PRId64 ",",
            a->pace_lag_bp, a->pace_shortfall, a->amount);
    fprintf(f, "\"budget\":%" PRId64 ",\"paid\":%" PRId64 ",\"shortfall\":%" PRId64 ",\"rate_bp\":%d,"
            "\"planned_bp\":%d,\"lag_bp\":%d,\"pace_bp\":%d,\"expected_seq\":%" PRIu64 ",\"got_seq\":%"
            PRIu64 ",\"at\":%" PRId64 ",\"since\":%" PRId64 "}\n", a->budget, a->paid, a->shortfall,
            a->rate_bp, a->planned_bp, a->lag_bp, a->pace_bp, a->expected_seq, a->got_seq, a->at, a->since);
}

/* ---- status ---- */

enum { W_UNIT = 8, W_CODE = 27, W_NAME = 30 };

static void table_row(const bw_status_row *r, const char *label)
{
    char b[32], p[32], rt[16], pl[16], lg[16], sh[32], plg[16], psh[32], name[BW_NAME_LEN_MAX + 1];
    snprintf(name, sizeof name, "%s", label ? label : r->project_name);
    /* Keep the table readable: cut long names at a character boundary. */
    while (display_width(name) > W_NAME) {
        size_t n = strlen(name);
        do
            n--;
        while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80);
        name[n] = '\0';
    }
    print_cell(stdout, r->unit, W_UNIT, false);
    putchar(' ');
    print_cell(stdout, r->project, W_CODE, false);
    putchar(' ');
    print_cell(stdout, name, W_NAME, false);
    printf(" %12s %12s %7s %7s %7s %12s %7s %12s  %s", bw_money_format_wan2(r->budget, b, sizeof b),
           bw_money_format_wan2(r->paid, p, sizeof p), fmt_bp(r->rate_bp, rt, sizeof rt),
           fmt_bp(r->planned_bp, pl, sizeof pl), fmt_bp(r->lag_bp, lg, sizeof lg),
           bw_money_format_wan2(r->shortfall, sh, sizeof sh), fmt_bp(r->pace_lag_bp, plg, sizeof plg),
           bw_money_format_wan2(r->pace_shortfall, psh, sizeof psh),
           r->severity ? bw_severity_name(r->severity) : label ? "" : "ok");
    if (r->band[0]) {
        fputs(" ", stdout);
        print_escaped(stdout, r->band);
        fputs(r->basis == BW_BASIS_PACE ? " (序时进度)" : " (plan)", stdout);
    }
    putchar('\n');
}

static void csv_row(const bw_status_row *r, const char *kind)
{
    printf("%s,%s,%s,\"%s\",%" PRId64 ",%" PRId64 ",%d,%d,%d,%" PRId64 ",%s,%s,\"%s\",%d,%" PRId64
           "\n", kind, r->unit, r->project, r->project_name, r->budget, r->paid, r->rate_bp,
           r->planned_bp, r->lag_bp, r->shortfall, bw_severity_name(r->severity),
           bw_basis_name(r->basis), r->band, r->pace_lag_bp, r->pace_shortfall);
}

static int rows(const msgpack_object *m, const char *key, void (*fn)(const bw_status_row *, const char *),
                const char *label)
{
    const msgpack_object *a = bw_map_get(m, key);
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        bw_status_row r;
        char why[BW_WHY_MAX];
        if (bw_status_row_from_object(&a->via.array.ptr[i], &r, why, sizeof why))
            return -1;
        fn(&r, label && !strcmp(label, "unit") ? r.unit_name : label);
    }
    return 0;
}

/* A table cut short must not pass for a whole one. */
static int bad_rows(const cli *c)
{
    fprintf(stderr, "budgetwatch: the status reply from %s has an unreadable row; the table above "
            "is incomplete: is the daemon newer than this command?\n", c->control);
    return EXIT_FAILED;
}

static void csv_project(const bw_status_row *r, const char *l) { (void)l; csv_row(r, "project"); }
static void csv_unit(const bw_status_row *r, const char *l) { (void)l; csv_row(r, "unit"); }

int cmd_status(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "unit", required_argument, NULL, 'u' }, { "project", required_argument, NULL, 'p' },
        { "sort", required_argument, NULL, 's' }, { "limit", required_argument, NULL, 'l' },
        { "json", no_argument, NULL, 'j' },       { "csv", no_argument, NULL, 'c' },
        { "at", required_argument, NULL, 'a' },   { NULL, 0, NULL, 0 },
    };
    bw_ctl_req q = { .op = BW_OP_STATUS };
    snprintf(q.sort, sizeof q.sort, "lag");
    int ch, json = 0, csv = 0;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': snprintf(q.unit, sizeof q.unit, "%s", optarg); break;
        case 'p': snprintf(q.project, sizeof q.project, "%s", optarg); break;
        case 's': snprintf(q.sort, sizeof q.sort, "%s", optarg); break;
        case 'l': {
            long long v;
            if (cli_number("status", "--limit", optarg, 0, UINT32_MAX, &v))
                return EXIT_USAGE;
            q.limit = (uint32_t)v;
            break;
        }
        case 'j': json = 1; break;
        case 'c': csv = 1; break;
        case 'a':
            if (parse_time(optarg, &q.at)) {
                fprintf(stderr, "budgetwatch status: --at \"%s\" is not Unix seconds or ISO 8601 "
                        "with an offset\n", optarg);
                return EXIT_USAGE;
            }
            q.has_at = true;
            break;
        default: return EXIT_USAGE;
        }
    }
    const msgpack_object *m;
    int rc = cli_request(c, &q, &m);
    if (rc)
        return rc;
    if (json) {
        print_json(m);
        return EXIT_OK;
    }
    bw_status_row tot;
    char why[BW_WHY_MAX], t[32], pace[16];
    int64_t at = 0, pace_bp = 0;
    bw_map_get_int(m, "at", &at);
    bw_map_get_int(m, "pace_bp", &pace_bp);
    if (bw_status_row_from_object(bw_map_get(m, "total"), &tot, why, sizeof why)) {
        fprintf(stderr, "budgetwatch: the status reply from %s has no readable total (%s): is "
                "the daemon newer than this command?\n", c->control, why);
        return EXIT_FAILED;
    }
    if (csv) {
        puts("row,unit,project,project_name,budget_fen,paid_fen,rate_bp,planned_bp,lag_bp,shortfall_fen,alert,"
             "basis,band,pace_lag_bp,pace_shortfall_fen");
        if (rows(m, "projects", csv_project, NULL) || rows(m, "units", csv_unit, NULL))
            return bad_rows(c);
        csv_row(&tot, "total");
        return EXIT_OK;
    }
    printf("as of %s; 序时进度 (share of the year elapsed) %s%%\n", fmt_time(at, t, sizeof t),
           fmt_bp((int32_t)pace_bp, pace, sizeof pace));
    print_cell(stdout, "unit", W_UNIT, false);
    putchar(' ');
    print_cell(stdout, "project", W_CODE, false);
    putchar(' ');
    print_cell(stdout, "name", W_NAME, false);
    /* Both distances: against the plan, and against 序时进度 (pace). */
    static const char *const heads[] = { "budget 万元", "paid 万元", "rate %", "plan %", "lag pp",
                                         "short 万元", "pace pp", "pace短 万元" };
    static const size_t widths[] = { 12, 12, 7, 7, 7, 12, 7, 12 };
    for (size_t i = 0; i < 8; i++) {
        putchar(' ');
        print_cell(stdout, heads[i], widths[i], true);
    }
    puts("  alert band");
    if (rows(m, "projects", table_row, NULL))
        return bad_rows(c);
    puts("-- unit subtotals");
    if (rows(m, "units", table_row, "unit"))
        return bad_rows(c);
    puts("-- department total (部门整体)");
    table_row(&tot, "部门整体");
    return EXIT_OK;
}

/* ---- one-shot operations ---- */

static int history_out(const cli *c, const msgpack_object *m, bool json)
{
    const msgpack_object *a = bw_map_get(m, "alerts");
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, "budgetwatch: the history reply from %s has no list of alerts: is the "
                "daemon newer than this command?\n", c->control);
        return EXIT_FAILED;
    }
    /* On stderr, so that --json output stays one alert a line. */
    bool truncated = false, unreadable = false;
    if (bw_map_get_bool(m, "truncated", &truncated) && truncated)
        fprintf(stderr, "budgetwatch: these are the newest %" PRIu32 " alerts; older ones match "
                "too: narrow with --since/--until, or raise --limit (at most 100000 a reply)\n",
                a->via.array.size);
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        bw_alert_msg am;
        char why[BW_WHY_MAX];
        if (bw_alert_from_object(&a->via.array.ptr[i], &am, why, sizeof why)) {
            fprintf(stderr, "budgetwatch: alert %" PRIu32 " of the history from %s is unreadable "
                    "(%s); it is left out: is the daemon newer than this command?\n", i + 1,
                    c->control, why);
            unreadable = true;
            continue;
        }
        if (json)
            alert_json(stdout, &am);
        else
            alert_line(stdout, &am);
    }
    return unreadable ? EXIT_FAILED : EXIT_OK;
}

static int time_arg(const char *s, int64_t *out)
{
    if (parse_time(s, out) == 0)
        return 0;
    fprintf(stderr, "budgetwatch: \"%s\" is not a time; write Unix seconds or e.g. "
            "2022-03-31T15:00:00+08:00\n", s);
    return -1;
}

/* Options of the one-shot commands; every one is optional. */
static int simple_options(bw_ctl_req *q, int argc, char **argv, bool *json, int *wait_s,
                          char **pos, int *npos, int maxpos)
{
    static const struct option opts[] = {
        { "unit", required_argument, NULL, 'u' }, { "project", required_argument, NULL, 'p' },
        { "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'U' },
        { "limit", required_argument, NULL, 'l' }, { "by", required_argument, NULL, 'b' },
        { "note", required_argument, NULL, 'n' }, { "reason", required_argument, NULL, 'r' },
        { "to", required_argument, NULL, 't' },   { "json", no_argument, NULL, 'j' },
        { "wait", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
    };
    int ch;
    long long v;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': snprintf(q->unit, sizeof q->unit, "%s", optarg); break;
        case 'p': snprintf(q->project, sizeof q->project, "%s", optarg); break;
        case 's': if (time_arg(optarg, &q->since)) return -1; q->has_since = true; break;
        case 'U': if (time_arg(optarg, &q->until)) return -1; q->has_until = true; break;
        case 'l':
            if (cli_number(NULL, "--limit", optarg, 0, UINT32_MAX, &v))
                return -1;
            q->limit = (uint32_t)v;
            break;
        case 'b': snprintf(q->by, sizeof q->by, "%s", optarg); break;
        case 'n': snprintf(q->note, sizeof q->note, "%s", optarg); break;
        case 'r': snprintf(q->reason, sizeof q->reason, "%s", optarg); break;
        case 't': if (time_arg(optarg, &q->to)) return -1; q->has_to = true; break;
        case 'j': *json = true; break;
        case 'w':
            if (cli_number(NULL, "--wait", optarg, 0, 86400, &v))
                return -1;
            *wait_s = (int)v;
            break;
        default: return -1;
        }
    }
    *npos = 0;
    for (int i = optind - 1; i < argc && *npos < maxpos; i++)
        pos[(*npos)++] = argv[i];
    return 0;
}

static int ping(cli *c, bw_ctl_req *q, int wait_s)
{
    const msgpack_object *m;
    /* Waiting for a starting daemon: retry quietly until the deadline. */
    for (int tries = 0;; tries++) {
        FILE *saved = stderr, *null = tries < wait_s * 5 ? fopen("/dev/null", "w") : NULL;
        if (null)       /* else the retries are not quiet: no harm */
            stderr = null;
        int rc = cli_request(c, q, &m);
        if (stderr != saved) {
            fclose(stderr);
            stderr = saved;
        }
        if (rc == EXIT_OK)
            break;
        if (tries >= wait_s * 5)
            return rc;
        usleep(200000);
    }
    char v[32] = "", clock[16] = "";
    int64_t now = 0;
    char t[32];
    bw_map_get_str(m, "version", v, sizeof v);
    bw_map_get_str(m, "clock", clock, sizeof clock);
    bw_map_get_int(m, "now", &now);
    printf("budgetwatchd %s at %s: %s clock, now %s\n", v, c->control, clock, fmt_time(now, t, sizeof t));
    return EXIT_OK;
}

static int prepare(const char *name, bw_ctl_req *q, char **pos, int npos)
{
    static const struct { const char *name; int op; } ops[] = {
        { "history", BW_OP_HISTORY }, { "ack", BW_OP_ACK }, { "adjust", BW_OP_ADJUST },
        { "reload", BW_OP_RELOAD }, { "replay-rejected", BW_OP_REPLAY_REJECTED },
        { "stats", BW_OP_STATS }, { "verify", BW_OP_VERIFY }, { "advance", BW_OP_ADVANCE },
        { "ping", BW_OP_PING }, { "handle", BW_OP_HANDLE },
    };
    int op = -1;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(name, ops[i].name))
            op = ops[i].op;
    if (op < 0) {
        fprintf(stderr, "budgetwatch: no command \"%s\"; `budgetwatch help` lists them\n", name);
        return -1;
    }
    q->op = (uint8_t)op;
    if (op == BW_OP_ACK) {
        if (npos < 2 || !q->by[0]) {
            fprintf(stderr, "budgetwatch: usage: budgetwatch ack PROJECT KIND --by NAME [--note TEXT]\n");
            return -1;
        }
        snprintf(q->project, sizeof q->project, "%s", pos[0]);
        snprintf(q->kind, sizeof q->kind, "%s", pos[1]);
    }
    if (op == BW_OP_HANDLE) {
        if (npos < 3 || !q->by[0]) {
            fprintf(stderr, "budgetwatch: usage: budgetwatch handle PROJECT KIND STATE --by NAME "
                    "[--note TEXT]; STATE is followed_up, corrected, judged_normal or "
                    "judged_violation\n");
            return -1;
        }
        snprintf(q->project, sizeof q->project, "%s", pos[0]);
        snprintf(q->kind, sizeof q->kind, "%s", pos[1]);
        snprintf(q->state, sizeof q->state, "%s", pos[2]);
    }
    if (op == BW_OP_ADJUST) {
        const char *why = NULL;
        if (npos < 2 || !q->reason[0] || bw_money_parse_wan(pos[1], strlen(pos[1]), &q->budget, &why)) {
            fprintf(stderr, "budgetwatch: usage: budgetwatch adjust PROJECT NEW_BUDGET_WAN --reason TEXT%s%s\n",
                    why ? "; the budget: " : "", why ? why : "");
            return -1;
        }
        snprintf(q->project, sizeof q->project, "%s", pos[0]);
        q->has_budget = true;
    }
    if (op == BW_OP_ADVANCE && !q->has_to) {
        fprintf(stderr, "budgetwatch: usage: budgetwatch advance --to TIME\n");
        return -1;
    }
    return 0;
}

static void print_stats(const msgpack_object *m)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.via.str.size == 2 && !memcmp(kv->key.via.str.ptr, "ok", 2))
            continue;
        printf("%-22.*s ", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        json_of(stdout, &kv->val);
        putchar('\n');
    }
}

int cmd_simple(cli *c, const char *name, int argc, char **argv)
{
    bw_ctl_req q;
    memset(&q, 0, sizeof q);
    bool json = false;
    int wait_s = 0, npos = 0;
    char *pos[3];
    if (simple_options(&q, argc, argv, &json, &wait_s, pos, &npos, 3) || prepare(name, &q, pos, npos))
        return EXIT_USAGE;
    if (q.op == BW_OP_PING)
        return ping(c, &q, wait_s);
    const msgpack_object *m;
    int rc = cli_request(c, &q, &m);
    if (rc)
        return rc;
    if (json && q.op != BW_OP_HISTORY) {
        print_json(m);
        return EXIT_OK;
    }
    switch (q.op) {
    case BW_OP_HISTORY:
        return history_out(c, m, json);
    case BW_OP_VERIFY: {
        bool consistent = false, damaged = false;
        int64_t checked = 0;
        bw_map_get_bool(m, "consistent", &consistent);
        bw_map_get_bool(m, "damaged", &damaged);
        bw_map_get_int(m, "checked", &checked);
        if (damaged) {
            puts("verify: THE LEDGER FILE IS DAMAGED (SQLite's integrity_check); its totals were "
                 "not compared. Keep a copy of the file and restore the last backup:");
            print_json(bw_map_get(m, "damage"));
            return EXIT_FAILED;
        }
        printf("verify: ledger file intact; %" PRId64 " projects checked: %s\n", checked,
               consistent ? "totals equal the ledger (账账相符)" : "TOTALS DIFFER FROM THE LEDGER");
        int64_t daily = 0;
        if (!consistent)
            print_json(bw_map_get(m, "differences"));
        if (bw_map_get_int(m, "daily_differences", &daily) && daily > 0)
            printf("verify: %" PRId64 " daily sum(s) (the as-of figures) differ from the events: stop "
                   "budgetwatchd and run budgetwatchd --rebuild-totals\n", daily);
        return consistent ? EXIT_OK : EXIT_FAILED;
    }
    case BW_OP_ACK:
        puts("acknowledged; reminders stop until it escalates or resolves");
        return EXIT_OK;
    case BW_OP_HANDLE: {
        bw_alert_msg am;
        char why[BW_WHY_MAX];
        if (bw_alert_from_object(bw_map_get(m, "alert"), &am, why, sizeof why) == 0)
            alert_line(stdout, &am);
        printf("recorded: %s; %s\n", q.state,
               !strcmp(q.state, "judged_normal")
                   ? "it stays silent at this band and below until it gets worse"
                   : "reminders stop until it escalates or resolves");
        return EXIT_OK;
    }
    default:
        print_stats(m);
        return EXIT_OK;
    }
}
