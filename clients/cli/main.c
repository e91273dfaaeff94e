/* budgetwatch: the command line of budgetwatchd, for payment-system operators
 * (push events) and supervisors (watch alerts, status tables). */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name, *args, *help;
} command;

static const command commands[] = {
    { "push", "[FILE|-] [--format auto|csv|jsonl] [--src NAME] [--window N] [--retry-for S] [--pub bind:URL|connect:URL] [--quiet]",
      "Sends events from a CSV file (header: src,id,seq,type,project,unit,amount_fen or\n"
      "amount_yuan,ts,fund,ref; ts in Unix seconds or ISO 8601 with an offset) or a JSON\n"
      "Lines file (one object a line, the same fields; auto: '{' first means JSON), or\n"
      "standard input, on the reliable path with N events in flight, resending what is\n"
      "not acknowledged while the daemon is away (the same ids: nothing counts twice).\n"
      "Ends with a summary: accepted, duplicate, rejected (each with its reason and\n"
      "input line), unanswered. A bad input line is reported and not sent." },
    { "watch", "[--unit U] [--project P] [--severity S] [--kind K] [--json] [--exec CMD] [--count N] [--timeout S]",
      "Shows the active alerts, then follows the alert stream. A gap in the alert seq\n"
      "(or a heartbeat ahead of it) is reported and the active alerts are read again.\n"
      "--exec runs CMD with /bin/sh for each alert, fields in BW_* environment\n"
      "variables. --count exits after N alerts, --timeout after S quiet seconds." },
    { "status", "[--unit U] [--project P] [--sort lag|shortfall|code] [--limit N] [--at T] [--json|--csv]",
      "A table per project: budget and paid in 万元, rate and plan in %, lag in\n"
      "percentage points, shortfall against the plan, the same two against 序时进度\n"
      "(pace), alert state and lag band; unit subtotals and the department total\n"
      "(部门整体). --at: as the ledger had it at T." },
    { "report", "[--as-of DATE | --month YYYY-MM | --quarter YYYY-Qn] [--unit U] [--bureau NAME] (--xlsx FILE | --csv | --json)",
      "The 执行进度表 as of the end of DATE (default today) or of the period's last\n"
      "day: 单位, 项目编码, 项目名称, 预算数, 调整后预算数, 支出数, 支出进度, 序时进度,\n"
      "超(短)序时进度, 超(短)序时金额, 计划进度, 预警级别, with unit subtotals and 部门整体;\n"
      "the xlsx also has the period's alerts and a chart of the months, and the\n"
      "通报 paragraph, which is printed too. Money in 万元, exact to the fen." },
    { "history", "[--project P] [--unit U] [--since T] [--until T] [--limit N] [--json]",
      "The alert log: who was told what, and when, with every handling step (who, the\n"
      "step, the note)." },
    { "ack", "PROJECT KIND --by NAME [--note TEXT]",
      "Acknowledges a firing alert: no reminders until it escalates or resolves." },
    { "handle", "PROJECT KIND STATE --by NAME [--note TEXT]",
      "Records a handling step (处理): followed_up (已督办), corrected (已整改),\n"
      "judged_normal (认定正常) or judged_violation (认定违规); each step is kept in\n"
      "the alert log with who, when and the note, and published. Allowed steps:\n"
      "budgetwatch.1, PROTOCOL.md \"Handling\". `ack` is `handle ... followed_up`." },
    { "adjust", "PROJECT NEW_BUDGET_WAN --reason TEXT", "Sets a project's budget (预算调整), in 万元." },
    { "reload", "", "Makes the daemon re-read its plan; a bad plan is refused and the old one kept." },
    { "replay-rejected", "", "Re-applies the rejected events (dead letters), e.g. after a plan fix." },
    { "stats", "[--json]", "Counters: accepted, duplicates, rejected by reason, gaps, batches, uptime." },
    { "verify", "", "Recomputes every project's totals from the ledger; exit 1 if any differs." },
    { "advance", "--to T", "Moves an event-clock daemon's time forward (replays and tests)." },
    { "ping", "[--wait S]", "Checks that the daemon answers (waiting up to S seconds for it)." },
    { "keygen", "NAME [--dir DIR]",
      "Writes a CURVE key pair: DIR/NAME.cert (public; the daemon's administrator puts\n"
      "it in the payment, supervisor or admin key directory) and DIR/NAME.cert_secret\n"
      "(mode 0600; it stays with NAME). A payment system's NAME is the event src it\n"
      "may send. Prints the public key. Existing files are never overwritten." },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fputs("usage: budgetwatch [--control URL] [--events URL] [--alerts URL] [--timeout-ms MS] [--tz ZONE]\n"
          "                   [--server-key FILE --key FILE] COMMAND [ARGS]\n\ncommands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].args);
    fputs("\nEndpoints default to $BUDGETWATCH_CONTROL, $BUDGETWATCH_EVENTS, $BUDGETWATCH_ALERTS,\n"
          "else ipc:///run/budgetwatch/control.sock, tcp://127.0.0.1:7601, tcp://127.0.0.1:7602.\n"
          "With --server-key (the daemon's public certificate) and --key (your NAME.cert_secret),\n"
          "or $BUDGETWATCH_SERVER_KEY and $BUDGETWATCH_KEY, tcp:// endpoints use CURVE.\n"
          "Exit codes: 0 ok; 1 the operation failed, or events were rejected or unanswered;\n"
          "2 usage error; 3 the daemon is not reachable.\n"
          "`budgetwatch help COMMAND` explains one command. See budgetwatch(1).\n", f);
}

/* Output that did not reach its file (a full disk, a closed pipe) is a
 * failure, not a success with less output. */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "budgetwatch: cannot write the output: %s\n", strerror(errno));
        return rc == EXIT_OK ? EXIT_FAILED : rc;
    }
    return rc;
}

static int help(int argc, char **argv)
{
    if (argc < 1) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[0], commands[i].name) == 0) {
            printf("usage: budgetwatch %s %s\n\n%s\n", commands[i].name, commands[i].args,
                   commands[i].help);
            return EXIT_OK;
        }
    }
    fprintf(stderr, "budgetwatch: no command \"%s\"; `budgetwatch help` lists them\n", argv[0]);
    return EXIT_USAGE;
}

int cli_exit_for(int code)
{
    return code == BWC_EUNREACHABLE ? EXIT_UNREACHABLE : code == BWC_EINVAL ? EXIT_USAGE : EXIT_FAILED;
}

int cli_number(const char *cmd, const char *opt, const char *s, long long min, long long max,
               long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        fprintf(stderr, "budgetwatch%s%s: %s %s: give a whole number from %lld to %lld\n",
                cmd ? " " : "", cmd ? cmd : "", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_request(cli *c, const bw_ctl_req *q, const msgpack_object **out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_ctl_req_encode(q, &sb)) {
        msgpack_sbuffer_destroy(&sb);
        fprintf(stderr, "budgetwatch: cannot encode a %s request (operation %d); this is a bug in "
                "budgetwatch, please report it\n", bw_op_name(q->op), q->op);
        return EXIT_FAILED;
    }
    const void *reply;
    size_t len;
    int rc = bwc_client_request(c->client, sb.data, sb.size, &reply, &len);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(c->client));
        return cli_exit_for(rc);
    }
    if (c->have_reply)
        msgpack_unpacked_destroy(&c->reply);
    char why[BW_WHY_MAX];
    const msgpack_object *m = bw_reply_unpack(reply, len, &c->reply, why, sizeof why);
    c->have_reply = true;
    bool ok = false;
    if (m == NULL || !bw_map_get_bool(m, "ok", &ok)) {
        fprintf(stderr, "budgetwatch: unreadable reply from %s: %s\n", c->control,
                m ? "no 'ok' key" : why);
        return EXIT_FAILED;
    }
    if (!ok) {
        char err[1024] = "(no reason given)";
        bw_map_get_str(m, "error", err, sizeof err);
        fprintf(stderr, "budgetwatch: %s: ", bw_op_name(q->op));
        print_escaped(stderr, err);
        fputc('\n', stderr);
        return EXIT_FAILED;
    }
    *out = m;
    return EXIT_OK;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Takes the common options out of argv, wherever they stand. */
static int common_options(cli *c, int *argc, char **argv)
{
    int k = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--control") ? &c->control : !strcmp(a, "--events") ? &c->events
                          : !strcmp(a, "--alerts") ? &c->alerts : !strcmp(a, "--server-key") ? &c->server_file
                          : !strcmp(a, "--key") ? &c->key_file : NULL;
        bool timeout = !strcmp(a, "--timeout-ms"), tz = !strcmp(a, "--tz");
        if (slot == NULL && !timeout && !tz) {
            argv[k++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "budgetwatch: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        long long ms;
        if (slot) {
            *slot = v;
        } else if (timeout) {
            if (cli_number(NULL, a, v, 1, 86400000, &ms))
                return -1;
            c->timeout_ms = (int)ms;
        } else if (setenv("TZ", v, 1) != 0) {
            fprintf(stderr, "budgetwatch: --tz %s: cannot set TZ: %s\n", v, strerror(errno));
            return -1;
        }
    }
    *argc = k;
    return 0;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (setlocale(LC_CTYPE, NULL) == NULL || strstr(setlocale(LC_CTYPE, NULL), "UTF-8") == NULL)
        setlocale(LC_CTYPE, "C.UTF-8");   /* display widths of Chinese names */
    if (getenv("TZ") == NULL && setenv("TZ", "Asia/Shanghai", 1) != 0)
        fprintf(stderr, "budgetwatch: cannot set TZ=Asia/Shanghai (%s); times are shown in UTC: "
                "give --tz or set TZ\n", strerror(errno));
    cli c = { .timeout_ms = 5000 };
    c.control = env_or("BUDGETWATCH_CONTROL", "ipc:///run/budgetwatch/control.sock");
    c.events = env_or("BUDGETWATCH_EVENTS", "tcp://127.0.0.1:7601");
    c.alerts = env_or("BUDGETWATCH_ALERTS", "tcp://127.0.0.1:7602");
    c.server_file = env_or("BUDGETWATCH_SERVER_KEY", NULL);
    c.key_file = env_or("BUDGETWATCH_KEY", NULL);
    argc--;
    argv++;
    if (common_options(&c, &argc, argv))
        return EXIT_USAGE;
    if (argc < 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[0];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h"))
        return finish(help(argc - 1, argv + 1));
    if (!strcmp(name, "keygen"))
        return finish(cmd_keygen(argc - 1, argv + 1));
    if (cli_load_keys(&c, c.server_file, c.key_file))
        return EXIT_USAGE;
    bwc_client_opts o = { c.events, c.control, c.alerts, c.timeout_ms, c.curve ? c.server_key : NULL,
                         c.public_key, c.secret_key };
    c.client = bwc_client_new(&o);
    if (c.client == NULL) {
        fprintf(stderr, "budgetwatch: cannot start the ZeroMQ client: %s\n", strerror(errno));
        return EXIT_FAILED;
    }
    int rc;
    if (!strcmp(name, "push"))
        rc = cmd_push(&c, argc - 1, argv + 1);
    else if (!strcmp(name, "watch"))
        rc = cmd_watch(&c, argc - 1, argv + 1);
    else if (!strcmp(name, "status"))
        rc = cmd_status(&c, argc - 1, argv + 1);
    else if (!strcmp(name, "report"))
        rc = cmd_report(&c, argc - 1, argv + 1);
    else
        rc = cmd_simple(&c, name, argc - 1, argv + 1);
    if (c.have_reply)
        msgpack_unpacked_destroy(&c.reply);
    bwc_client_destroy(&c.client);
    return finish(rc);
}
