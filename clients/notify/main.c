/* budgetwatch-notify: delivers budgetwatchd's alerts to WeCom and DingTalk
 * robots, e-mail, webhooks and Alertmanager, with a durable outbox. This file
 * reads the command line: run, --check, --test, log. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "notifier.h"
#include "outbox.h"
#include "text.h"

#define DEFAULT_CONF "/etc/budgetwatch/notify.conf"

static void usage(FILE *f)
{
    fprintf(f, "usage: budgetwatch-notify [-c FILE]            run (SIGHUP reloads FILE)\n"
               "       budgetwatch-notify --check [-c FILE]    check FILE and exit\n"
               "       budgetwatch-notify --test RECEIVER [-c FILE]  send a test message\n"
               "       budgetwatch-notify log [--project P] [--since T] [--json] [-c FILE]\n"
               "FILE defaults to " DEFAULT_CONF "; T is Unix seconds or YYYY-MM-DD (local).\n");
}

typedef struct log_ctx {
    int64_t off;
    long n;
    bool json;
} log_ctx;

/* One JSON object a line: what the web console (or any tool) reads. */
static void print_json(const bwn_log_row *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(r->id));
    json_object_object_add(o, "created_ms", json_object_new_int64(r->created_ms));
    json_object_object_add(o, "done_ms", r->done_ms ? json_object_new_int64(r->done_ms) : NULL);
    json_object_object_add(o, "receiver", json_object_new_string(r->receiver));
    json_object_object_add(o, "state", json_object_new_string(r->state));
    json_object_object_add(o, "attempts", json_object_new_int(r->attempts));
    json_object_object_add(o, "nalerts", json_object_new_int(r->nalerts));
    json_object_object_add(o, "title", json_object_new_string(r->title));
    json_object_object_add(o, "alerts", json_object_new_string(r->alerts));
    json_object_object_add(o, "answer", json_object_new_string(r->answer));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static int print_row(void *ctx, const bwn_log_row *r)
{
    log_ctx *l = ctx;
    if (l->json) {
        print_json(r);
        l->n++;
        return 0;
    }
    char made[32], done[32];
    bwn_text_time(r->created_ms / 1000, l->off, made, sizeof made);
    if (r->done_ms)
        bwn_text_time(r->done_ms / 1000, l->off, done, sizeof done);
    else
        snprintf(done, sizeof done, "-");
    printf("#%lld\t%s\t%s\t%s\t%s\tattempts=%d\talerts=%d\t%s\t[%s]\t%s\n", (long long)r->id, made,
           done, r->receiver, r->state, r->attempts, r->nalerts, r->title, r->alerts, r->answer);
    l->n++;
    return 0;
}

static int parse_since(const char *s, int64_t off, int64_t *ms)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%d-%d-%d%c", &y, &m, &d, &tail) == 3) {
        struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
        time_t t = timegm(&tm);
        *ms = ((int64_t)t - off) * 1000;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *ms = (int64_t)v * 1000;
    return 0;
}

static int cmd_log(const char *conf, int argc, char **argv)
{
    static const struct option opts[] = {
        { "project", required_argument, NULL, 'p' }, { "since", required_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    const char *project = NULL, *since = NULL;
    bool json = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': project = optarg; break;
        case 's': since = optarg; break;
        case 'c': conf = optarg; break;
        case 'j': json = true; break;
        default: usage(stderr); return 2;
        }
    }
    bwn_config c;
    char err[BWN_ERR_MAX];
    if (bwn_config_load(conf, &c, err)) {
        fprintf(stderr, "budgetwatch-notify: %s\n", err);
        return 2;
    }
    int64_t since_ms = 0;
    if (since && parse_since(since, c.utc_offset_s, &since_ms)) {
        fprintf(stderr, "budgetwatch-notify: log --since %s: write Unix seconds or YYYY-MM-DD\n", since);
        bwn_config_free(&c);
        return 2;
    }
    bwn_outbox *o = bwn_outbox_open(c.outbox, err);
    if (o == NULL) {
        fprintf(stderr, "budgetwatch-notify: %s\n", err);
        bwn_config_free(&c);
        return 1;
    }
    log_ctx l = { c.utc_offset_s, 0, json };
    int rc = bwn_outbox_log(o, project, since_ms, print_row, &l);
    if (rc)
        fprintf(stderr, "budgetwatch-notify: %s\n", bwn_outbox_error(o));
    bwn_outbox_close(&o);
    bwn_config_free(&c);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *conf = DEFAULT_CONF, *test = NULL;
    bool check = false;
    if (argc > 1 && !strcmp(argv[1], "log")) {
        return cmd_log(conf, argc - 1, argv + 1);
    }
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'k' },
        { "test", required_argument, NULL, 't' },   { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': conf = optarg; break;
        case 'k': check = true; break;
        case 't': test = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "budgetwatch-notify: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (check) {
        bwn_config c;
        char err[BWN_ERR_MAX];
        if (bwn_config_load(conf, &c, err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s: ok (%d receivers, %d routes)\n", conf, c.nreceivers, c.nroutes);
        bwn_config_free(&c);
        return 0;
    }
    if (test)
        return bwn_notifier_test(conf, test);
    return bwn_notifier_run(conf);
}
