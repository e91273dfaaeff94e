/* push: the payment-system operator's command. Reads events from CSV, checks
 * every cell before anything is sent, sends them with a window in flight and
 * retries, and ends with a summary that accounts for every input line. */
#include <csv.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "money.h"

enum { C_SRC, C_ID, C_SEQ, C_TYPE, C_PROJECT, C_UNIT, C_FEN, C_YUAN, C_TS, C_FUND, C_REF, NC };
static const char *const names[NC] = { "src", "id", "seq", "type", "project", "unit", "amount_fen",
                                       "amount_yuan", "ts", "fund", "ref" };

typedef struct input {
    const char *file, *default_src;
    int col[NC];
    bool header;
    unsigned line;
    char *cells[32];
    int ncells;
    bwc_event *ev;
    unsigned *ev_line;
    size_t n, cap;
    unsigned bad;               /* lines that could not be read */
    int status;                 /* 0, or -1 after an out-of-memory */
} input;

static void bad_cell(input *in, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad_cell(input *in, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%u:%d: ", in->file, in->line, col + 1);
    vfprintf(stderr, fmt, ap);
    fputs("; fix the cell (the line is not sent)\n", stderr);
    va_end(ap);
    in->bad++;
}

static void on_field(void *s, size_t len, void *ctx)
{
    input *in = ctx;
    if (in->ncells < 32)
        in->cells[in->ncells++] = strndup(s ? s : "", len);
}

static const char *cell(input *in, int c)
{
    return in->col[c] >= 0 && in->col[c] < in->ncells ? in->cells[in->col[c]] : "";
}

static bool read_header(input *in)
{
    for (int c = 0; c < NC; c++)
        in->col[c] = -1;
    for (int i = 0; i < in->ncells; i++) {
        int c = 0;
        while (c < NC && strcmp(in->cells[i], names[c]) != 0)
            c++;
        if (c == NC) {
            fprintf(stderr, "%s:1:%d: unknown column \"%s\"; the columns are src,id,seq,type,project,"
                    "unit,amount_fen or amount_yuan,ts,fund,ref\n", in->file, i + 1, in->cells[i]);
            return false;
        }
        in->col[c] = i;
    }
    const int need[] = { C_ID, C_PROJECT, C_TS };
    for (size_t k = 0; k < 3; k++)
        if (in->col[need[k]] < 0) {
            fprintf(stderr, "%s:1: no \"%s\" column\n", in->file, names[need[k]]);
            return false;
        }
    if ((in->col[C_FEN] < 0) == (in->col[C_YUAN] < 0)) {
        fprintf(stderr, "%s:1: give exactly one of amount_fen and amount_yuan\n", in->file);
        return false;
    }
    in->header = true;
    return true;
}

static bool parse_amount(input *in, bwc_event *e)
{
    int c = in->col[C_FEN] >= 0 ? C_FEN : C_YUAN;
    const char *s = cell(in, c), *why = "not a number";
    char *end;
    if (c == C_FEN) {
        long long v = strtoll(s, &end, 10);
        if (*s && *end == '\0' && v > 0) {
            e->amount = v;
            return true;
        }
        why = "a whole number of fen > 0 is needed";
    } else if (bw_money_parse_yuan(s, strlen(s), &e->amount, &why) == 0 && e->amount > 0) {
        return true;
    }
    bad_cell(in, in->col[c], "%s \"%s\" is not a valid amount (%s)", names[c], s, why);
    return false;
}

static bool parse_row(input *in, bwc_event *e)
{
    memset(e, 0, sizeof *e);
    e->src = *cell(in, C_SRC) ? cell(in, C_SRC) : in->default_src;
    e->id = cell(in, C_ID);
    e->project = cell(in, C_PROJECT);
    e->unit = *cell(in, C_UNIT) ? cell(in, C_UNIT) : NULL;
    e->ref = *cell(in, C_REF) ? cell(in, C_REF) : NULL;
    const char *type = cell(in, C_TYPE), *fund = cell(in, C_FUND), *seq = cell(in, C_SEQ);
    if (!e->src || !*e->src) {
        bad_cell(in, in->col[C_SRC] >= 0 ? in->col[C_SRC] : 0, "no src (give --src or a src column)");
        return false;
    }
    if (!*e->id || !*e->project) {
        bad_cell(in, in->col[*e->id ? C_PROJECT : C_ID], "%s is empty", *e->id ? "project" : "id");
        return false;
    }
    if (*type && strcmp(type, "disbursement") && strcmp(type, "refund")) {
        bad_cell(in, in->col[C_TYPE], "type \"%s\" is not disbursement or refund", type);
        return false;
    }
    if (*fund && strcmp(fund, "fiscal") && strcmp(fund, "other")) {
        bad_cell(in, in->col[C_FUND], "fund \"%s\" is not fiscal or other", fund);
        return false;
    }
    e->refund = !strcmp(type, "refund");
    e->other_fund = !strcmp(fund, "other");
    char *end;
    if (*seq && ((e->seq = strtoull(seq, &end, 10)) == 0 || *end)) {
        bad_cell(in, in->col[C_SEQ], "seq \"%s\" is not a positive whole number", seq);
        return false;
    }
    if (parse_time(cell(in, C_TS), &e->ts)) {
        bad_cell(in, in->col[C_TS], "ts \"%s\" is not Unix seconds or ISO 8601 with an offset "
                 "(2022-03-31T15:00:00+08:00)", cell(in, C_TS));
        return false;
    }
    return parse_amount(in, e);
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The event outlives the row's cells: it gets its own copies. */
static int own_strings(const input *in, bwc_event *e)
{
    bool own_src = e->src != in->default_src;
    e->src = own_src ? strdup(e->src) : e->src;
    e->id = strdup(e->id);
    e->project = strdup(e->project);
    e->unit = dup_opt(e->unit);
    e->ref = dup_opt(e->ref);
    return !e->src || !e->id || !e->project ? -1 : 0;
}

static void on_row(int term, void *ctx)
{
    (void)term;
    input *in = ctx;
    bool keep;
    if (!in->header) {
        if (!read_header(in))
            in->status = -1;
    } else if (in->status == 0) {
        if (in->n == in->cap) {
            in->cap = in->cap ? in->cap * 2 : 1024;
            bwc_event *ev = realloc(in->ev, in->cap * sizeof *ev);
            unsigned *ln = realloc(in->ev_line, in->cap * sizeof *ln);
            if (ev)
                in->ev = ev;
            if (ln)
                in->ev_line = ln;
            if (!ev || !ln) {
                in->status = -1;
                return;
            }
        }
        keep = parse_row(in, &in->ev[in->n]);
        if (keep && own_strings(in, &in->ev[in->n]))
            in->status = -1;
        else if (keep)
            in->ev_line[in->n++] = in->line;
    }
    for (int i = 0; i < in->ncells; i++)
        free(in->cells[i]);
    in->ncells = 0;
}

static int read_csv(input *in, FILE *f)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    in->line = 0;
    while (in->status == 0 && (n = getline(&line, &cap, f)) > 0) {
        in->line++;
        if (csv_parse(&p, line, (size_t)n, on_field, on_row, in) != (size_t)n) {
            fprintf(stderr, "%s:%u: %s\n", in->file, in->line, csv_strerror(csv_error(&p)));
            in->status = -1;
        }
    }
    if (in->status == 0)
        csv_fini(&p, on_field, on_row, in);
    csv_free(&p);
    free(line);
    if (!in->header && in->status == 0) {
        fprintf(stderr, "%s: empty input; the first line must name the columns\n", in->file);
        in->status = -1;
    }
    return in->status;
}

typedef struct tally {
    input *in;
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
        fprintf(stderr, "%s:%u: event \"", t->in->file, t->in->ev_line[i]);
        print_escaped(stderr, a->id);
        fputs("\" rejected: ", stderr);
        print_escaped(stderr, a->reason);
        fputc('\n', stderr);
    }
    if (t->tty && !t->quiet && (t->done % 1000 == 0 || t->done == t->in->n))
        fprintf(stderr, "\r%zu of %zu answered", t->done, t->in->n);
}

static void free_input(input *in)
{
    for (size_t i = 0; i < in->n; i++) {
        bwc_event *e = &in->ev[i];
        if (e->src != in->default_src)
            free((char *)e->src);
        free((char *)e->id);
        free((char *)e->project);
        free((char *)e->unit);
        free((char *)e->ref);
    }
    free(in->ev);
    free(in->ev_line);
}

int cmd_push(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "src", required_argument, NULL, 's' },   { "window", required_argument, NULL, 'w' },
        { "retry-for", required_argument, NULL, 'r' }, { "pub", required_argument, NULL, 'p' },
        { "quiet", no_argument, NULL, 'q' },       { NULL, 0, NULL, 0 },
    };
    input in = { .file = "-" };
    const char *pub = NULL;
    size_t window = 256;
    int retry_s = 60, ch;
    tally t = { .in = &in, .tty = isatty(STDERR_FILENO) != 0 };
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's': in.default_src = optarg; break;
        case 'w': window = (size_t)atol(optarg); break;
        case 'r': retry_s = atoi(optarg); break;
        case 'p': pub = optarg; break;
        case 'q': t.quiet = true; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind - 1 < argc)
        in.file = argv[optind - 1];
    FILE *f = strcmp(in.file, "-") ? fopen(in.file, "r") : stdin;
    if (f == NULL) {
        perror(in.file);
        return EXIT_FAILED;
    }
    int rc = read_csv(&in, f);
    if (f != stdin)
        fclose(f);
    if (rc) {
        free_input(&in);
        return EXIT_FAILED;
    }
    if (pub) {
        rc = bw_client_publish(c->client, pub, in.ev, in.n);
        if (rc)
            fprintf(stderr, "budgetwatch: %s\n", bw_client_error(c->client));
        else
            printf("published %zu events on %s (no acks on this path)\n", in.n, pub);
        free_input(&in);
        return rc ? cli_exit_for(rc) : in.bad ? EXIT_FAILED : EXIT_OK;
    }
    rc = bw_client_push(c->client, in.ev, in.n, window, retry_s * 1000, on_ack, &t);
    if (t.tty && !t.quiet)
        fputc('\n', stderr);
    if (rc < 0)
        fprintf(stderr, "budgetwatch: %s\n", bw_client_error(c->client));
    size_t unanswered = in.n - t.done;
    printf("%zu events: %zu accepted, %zu duplicate, %zu rejected, %zu unanswered; %u input lines "
           "not sent\n", in.n, t.accepted, t.duplicate, t.rejected, unanswered, in.bad);
    if (unanswered > 0)
        fprintf(stderr, "budgetwatch: %s\n", bw_client_error(c->client));
    free_input(&in);
    if (rc < 0)
        return cli_exit_for(rc);
    return t.rejected || unanswered || in.bad ? (unanswered == in.n && in.n ? EXIT_UNREACHABLE : EXIT_FAILED)
                                             : EXIT_OK;
}
