/* push: the payment-system operator's command. Reads events from CSV or JSON
 * Lines (input.c checks every field before anything is sent), sends them with
 * a window in flight and retries, and ends with a summary that accounts for
 * every input line. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"

typedef struct tally {
    events_in *in;
    size_t accepted, duplicate, rejected, done;
    bool quiet, tty;
} tally;

static void on_ack(void *ctx, size_t i, const bwc_ack *a)
{
    tally *t = ctx;
    t->done++;
    if (a->status == BWC_ACCEPTED)
        t->accepted++;
    else if (a->status == BWC_DUPLICATE)
        t->duplicate++;
    else {
        t->rejected++;
        fprintf(stderr, "%s:%u: event \"", t->in->file, t->in->line[i]);
        print_escaped(stderr, a->id);
        fputs("\" rejected: ", stderr);
        print_escaped(stderr, a->reason);
        fputc('\n', stderr);
    }
    if (t->tty && !t->quiet && (t->done % 1000 == 0 || t->done == t->in->n))
        fprintf(stderr, "\r%zu of %zu answered", t->done, t->in->n);
}

int cmd_push(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "src", required_argument, NULL, 's' },   { "window", required_argument, NULL, 'w' },
        { "retry-for", required_argument, NULL, 'r' }, { "pub", required_argument, NULL, 'p' },
        { "quiet", no_argument, NULL, 'q' },       { "format", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    events_in in = { .file = "-" };
    input_format fmt = INPUT_AUTO;
    const char *pub = NULL;
    size_t window = 256;
    int retry_s = 60, ch;
    tally t = { .in = &in, .tty = isatty(STDERR_FILENO) != 0 };
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's': in.default_src = optarg; break;
        case 'w':
        case 'r': {
            long long v;
            if (cli_number("push", ch == 'w' ? "--window" : "--retry-for", optarg, ch == 'w',
                           1000000, &v))
                return EXIT_USAGE;
            if (ch == 'w')
                window = (size_t)v;
            else
                retry_s = (int)v;
            break;
        }
        case 'p': pub = optarg; break;
        case 'q': t.quiet = true; break;
        case 'f':
            if (input_format_parse(optarg, &fmt)) {
                fprintf(stderr, "budgetwatch push: --format %s: give csv, jsonl or auto\n", optarg);
                return EXIT_USAGE;
            }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (optind - 1 < argc)
        in.file = argv[optind - 1];
    FILE *f = strcmp(in.file, "-") ? fopen(in.file, "r") : stdin;
    if (f == NULL) {
        fprintf(stderr, "budgetwatch push: cannot open %s: %s\n", in.file, strerror(errno));
        return EXIT_FAILED;
    }
    int rc = input_read(&in, f, fmt);
    if (f != stdin)
        fclose(f);
    if (rc) {
        input_free(&in);
        return EXIT_FAILED;
    }
    if (pub) {
        rc = bwc_client_publish(c->client, pub, in.ev, in.n);
        if (rc)
            fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(c->client));
        else
            printf("published %zu events on %s (no acks on this path)\n", in.n, pub);
        int code = rc ? cli_exit_for(rc) : in.bad ? EXIT_FAILED : EXIT_OK;
        input_free(&in);
        return code;
    }
    rc = bwc_client_push(c->client, in.ev, in.n, window, retry_s * 1000, on_ack, &t);
    if (t.tty && !t.quiet)
        fputc('\n', stderr);
    if (rc < 0)
        fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(c->client));
    size_t unanswered = in.n - t.done;
    printf("%zu events: %zu accepted, %zu duplicate, %zu rejected, %zu unanswered; %u input lines "
           "not sent\n", in.n, t.accepted, t.duplicate, t.rejected, unanswered, in.bad);
    if (unanswered > 0)
        fprintf(stderr, "budgetwatch: %s\n", bwc_client_error(c->client));
    int code = rc < 0 ? cli_exit_for(rc)
               : unanswered > 0 && unanswered == in.n ? EXIT_UNREACHABLE
               : t.rejected || unanswered || in.bad ? EXIT_FAILED : EXIT_OK;
    input_free(&in);
    return code;
}
