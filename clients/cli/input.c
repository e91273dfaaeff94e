/* input: push's events from CSV or JSON Lines. Both readers reduce a line to
 * the text of each named field, so one set of checks (check_line) serves both
 * and the two formats cannot drift apart. JSON numbers are taken by their
 * literal text, never through a double: 12.30 yuan stays 1230 fen. */
#include "input.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "money.h"

enum { F_SRC, F_ID, F_SEQ, F_TYPE, F_PROJECT, F_UNIT, F_FEN, F_YUAN, F_TS, F_FUND, F_REF, NF };
static const char *const names[NF] = { "src", "id", "seq", "type", "project", "unit", "amount_fen",
                                       "amount_yuan", "ts", "fund", "ref" };
#define FIELDS "src,id,seq,type,project,unit,amount_fen or amount_yuan,ts,fund,ref"
#define MAX_CELLS 32

typedef struct reader {
    events_in *in;
    bool json;
    unsigned line;
    const char *val[NF];        /* the line's fields; "" when absent */
    int col[NF];                /* CSV: the field's column, 1-based; 0 = none */
    bool header;                /* CSV: the header has been read */
    char *cells[MAX_CELLS];     /* CSV: the current row */
    int ncells;
    char num[NF][24];           /* JSON: integers written out */
    int status;                 /* -1: the input cannot be used */
} reader;

static void bad_field(reader *r, int f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad_field(reader *r, int f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->json)            /* every message names its field */
        fprintf(stderr, "%s:%u: ", r->in->file, r->line);
    else
        fprintf(stderr, "%s:%u:%d: ", r->in->file, r->line, r->col[f] ? r->col[f] : 1);
    vfprintf(stderr, fmt, ap);
    fputs("; fix the line (it is not sent)\n", stderr);
    va_end(ap);
    r->in->bad++;
}

int input_format_parse(const char *s, input_format *out)
{
    static const char *const fmts[] = { "auto", "csv", "jsonl" };
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, fmts[i])) {
            *out = (input_format)i;
            return 0;
        }
    return -1;
}

/* ---- the checks both formats share ---- */

static bool check_amount(reader *r, bwc_event *e)
{
    int f = *r->val[F_FEN] ? F_FEN : F_YUAN;
    const char *s = r->val[f], *why = "not a number";
    if (*r->val[F_FEN] && *r->val[F_YUAN]) {
        bad_field(r, F_YUAN, "give amount_fen or amount_yuan, not both");
        return false;
    }
    if (!*s) {
        bad_field(r, F_FEN, "no amount (give amount_fen or amount_yuan)");
        return false;
    }
    if (f == F_FEN) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (isdigit((unsigned char)*s) && *end == '\0' && v > 0 && v < INT64_MAX) {
            e->amount = v;
            return true;
        }
        why = "a whole number of fen > 0 is needed";
    } else if (bw_money_parse_yuan(s, strlen(s), &e->amount, &why) == 0) {
        if (e->amount > 0)
            return true;
        why = "it must be more than 0";
    }
    bad_field(r, f, "%s \"%s\" is not a valid amount (%s)", names[f], s, why);
    return false;
}

static bool check_words(reader *r, bwc_event *e)
{
    const char *type = r->val[F_TYPE], *fund = r->val[F_FUND], *seq = r->val[F_SEQ];
    if (*type && strcmp(type, "disbursement") && strcmp(type, "refund")) {
        bad_field(r, F_TYPE, "type \"%s\" is not disbursement or refund", type);
        return false;
    }
    if (*fund && strcmp(fund, "fiscal") && strcmp(fund, "other")) {
        bad_field(r, F_FUND, "fund \"%s\" is not fiscal or other", fund);
        return false;
    }
    e->refund = !strcmp(type, "refund");
    e->other_fund = !strcmp(fund, "other");
    char *end;
    if (*seq && (!isdigit((unsigned char)*seq) || (e->seq = strtoull(seq, &end, 10)) == 0 || *end)) {
        bad_field(r, F_SEQ, "seq \"%s\" is not a positive whole number", seq);
        return false;
    }
    if (parse_time(r->val[F_TS], &e->ts)) {
        bad_field(r, F_TS, "ts \"%s\" is not Unix seconds or ISO 8601 with an offset "
                  "(2022-03-31T15:00:00+08:00)", r->val[F_TS]);
        return false;
    }
    return true;
}

/* Fills e from the line's fields (pointing into them); false after a report. */
static bool check_line(reader *r, bwc_event *e)
{
    memset(e, 0, sizeof *e);
    e->src = *r->val[F_SRC] ? r->val[F_SRC] : r->in->default_src;
    e->id = r->val[F_ID];
    e->project = r->val[F_PROJECT];
    e->unit = *r->val[F_UNIT] ? r->val[F_UNIT] : NULL;
    e->ref = *r->val[F_REF] ? r->val[F_REF] : NULL;
    if (!e->src || !*e->src) {
        bad_field(r, F_SRC, "no src (give --src or a src field)");
        return false;
    }
    if (!*e->id || !*e->project) {
        bad_field(r, *e->id ? F_PROJECT : F_ID, "%s is empty", *e->id ? "project" : "id");
        return false;
    }
    return check_words(r, e) && check_amount(r, e);
}

/* The event outlives the line: it gets its own copies of the strings. */
static int own_strings(const events_in *in, bwc_event *e)
{
    bool unit = e->unit != NULL, ref = e->ref != NULL;
    if (e->src != in->default_src)
        e->src = strdup(e->src);
    e->id = strdup(e->id);
    e->project = strdup(e->project);
    e->unit = unit ? strdup(e->unit) : NULL;
    e->ref = ref ? strdup(e->ref) : NULL;
    return !e->src || !e->id || !e->project || unit != (e->unit != NULL) ||
           ref != (e->ref != NULL) ? -1 : 0;
}

/* Checks the line's fields and, if they are good, keeps the event. */
static void take_line(reader *r)
{
    events_in *in = r->in;
    if (in->n % 1024 == 0) {        /* full (or empty): room for 1024 more */
        bwc_event *ev = realloc(in->ev, (in->n + 1024) * sizeof *ev);
        if (ev)
            in->ev = ev;
        unsigned *ln = realloc(in->line, (in->n + 1024) * sizeof *ln);
        if (ln)
            in->line = ln;
        if (!ev || !ln) {
            fprintf(stderr, "%s:%u: out of memory\n", in->file, r->line);
            r->status = -1;
            return;
        }
    }
    bwc_event *e = &in->ev[in->n];
    if (!check_line(r, e))
        return;
    if (own_strings(in, e)) {
        in->n++;        /* so that input_free frees what was copied */
        fprintf(stderr, "%s:%u: out of memory\n", in->file, r->line);
        r->status = -1;
        return;
    }
    in->line[in->n++] = r->line;
}

/* ---- CSV ---- */

static void on_cell(void *s, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->ncells >= MAX_CELLS || r->status != 0)
        return;
    if ((r->cells[r->ncells] = strndup(s ? s : "", len)) == NULL) {
        fprintf(stderr, "%s:%u: out of memory\n", r->in->file, r->line);
        r->status = -1;
        return;
    }
    r->ncells++;
}

static bool read_header(reader *r)
{
    for (int i = 0; i < r->ncells; i++) {
        int f = 0;
        while (f < NF && strcmp(r->cells[i], names[f]) != 0)
            f++;
        if (f == NF) {
            fprintf(stderr, "%s:1:%d: unknown column \"%s\"; the columns are " FIELDS "\n",
                    r->in->file, i + 1, r->cells[i]);
            return false;
        }
        r->col[f] = i + 1;
    }
    const int need[] = { F_ID, F_PROJECT, F_TS };
    for (size_t k = 0; k < 3; k++)
        if (!r->col[need[k]]) {
            fprintf(stderr, "%s:1: no \"%s\" column\n", r->in->file, names[need[k]]);
            return false;
        }
    if (!r->col[F_FEN] == !r->col[F_YUAN]) {
        fprintf(stderr, "%s:1: give exactly one of amount_fen and amount_yuan\n", r->in->file);
        return false;
    }
    return r->header = true;
}

static void free_cells(reader *r)
{
    for (int i = 0; i < r->ncells; i++)
        free(r->cells[i]);
    r->ncells = 0;
}

static void on_row(int term, void *ctx)
{
    (void)term;
    reader *r = ctx;
    if (r->status != 0) {
        /* out of memory: nothing more is read */
    } else if (!r->header) {
        if (!read_header(r))
            r->status = -1;
    } else {
        for (int f = 0; f < NF; f++)
            r->val[f] = r->col[f] && r->col[f] <= r->ncells ? r->cells[r->col[f] - 1] : "";
        take_line(r);
    }
    free_cells(r);
}

static int read_csv(reader *r, FILE *f)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fprintf(stderr, "%s: out of memory for the CSV reader\n", r->in->file);
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while (r->status == 0 && (n = getline(&buf, &cap, f)) > 0) {
        r->line++;
        /* Fed a line at a time, libcsv stops at the offending byte. */
        size_t done = csv_parse(&p, buf, (size_t)n, on_cell, on_row, r);
        if (done != (size_t)n && csv_error(&p) == CSV_EPARSE) {
            fprintf(stderr, "%s:%u:%zu: not CSV: a quote inside an unquoted field, or text after a "
                    "closing quote; quote such fields whole and double the quotes in them%s\n",
                    r->in->file, r->line, done + 1, *buf == '{' ? " (or give --format jsonl)" : "");
            r->status = -1;
        } else if (done != (size_t)n) {
            fprintf(stderr, "%s:%u: %s\n", r->in->file, r->line, csv_strerror(csv_error(&p)));
            r->status = -1;
        }
    }
    if (r->status == 0 && ferror(f)) {
        fprintf(stderr, "%s:%u: cannot read the file: %s\n", r->in->file, r->line + 1,
                strerror(errno));
        r->status = -1;
    }
    if (r->status == 0 && csv_fini(&p, on_cell, on_row, r) != 0) {
        fprintf(stderr, "%s:%u: a quoted field is still open at the end of the input; close its "
                "quote\n", r->in->file, r->line);
        r->status = -1;
    }
    csv_free(&p);
    free_cells(r);              /* a row cut short by an error */
    free(buf);
    if (!r->header && r->status == 0) {
        fprintf(stderr, "%s: empty input; the first line must name the columns\n", r->in->file);
        r->status = -1;
    }
    return r->status;
}

/* ---- JSON Lines ---- */

static int field_index(const char *key)
{
    for (int f = 0; f < NF; f++)
        if (!strcmp(key, names[f]))
            return f;
    return -1;
}

/* The text of one JSON value, or NULL after a report. Strings are taken as
 * they are; integers are written out; a decimal only as amount_yuan, by its
 * literal text (json-c keeps it), so no binary fraction touches money. */
static const char *json_text(reader *r, int f, json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "";
    case json_type_string:
        if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
            bad_field(r, f, "%s holds a NUL byte", names[f]);
            return NULL;
        }
        return json_object_get_string(v);
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        if (i == INT64_MAX || i == INT64_MIN) {   /* json-c saturates */
            bad_field(r, f, "%s is out of range", names[f]);
            return NULL;
        }
        snprintf(r->num[f], sizeof r->num[f], "%" PRId64, i);
        return r->num[f];
    }
    case json_type_double:
        if (f == F_YUAN)
            return json_object_get_string(v);
        bad_field(r, f, "%s %s is not a whole number%s", names[f], json_object_get_string(v),
                  f == F_FEN ? " (give yuan as amount_yuan)" : "");
        return NULL;
    default:
        bad_field(r, f, "%s is a JSON %s; give a string or a number", names[f],
                  json_type_to_name(json_object_get_type(v)));
        return NULL;
    }
}

static void json_line(reader *r, json_object *o)
{
    for (int f = 0; f < NF; f++)
        r->val[f] = "";
    json_object_object_foreach(o, key, v) {
        int f = field_index(key);
        if (f < 0) {
            fprintf(stderr, "%s:%u: unknown field \"", r->in->file, r->line);
            print_escaped(stderr, key);
            fputs("\"; the fields are " FIELDS "; fix the line (it is not sent)\n", stderr);
            r->in->bad++;
            return;
        }
        if ((r->val[f] = json_text(r, f, v)) == NULL)
            return;
    }
    take_line(r);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* One line: a JSON object and nothing else. Syntax errors name the column. */
static void parse_json_line(reader *r, struct json_tokener *tok, const char *s, size_t n)
{
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (je == json_tokener_continue)
        je = json_tokener_error_parse_eof;
    if (je == json_tokener_success && !blank(s + end, n - end))
        fprintf(stderr, "%s:%u:%zu: more after the object; put one object on each line",
                r->in->file, r->line, end + 1);
    else if (je != json_tokener_success)
        fprintf(stderr, "%s:%u:%zu: not JSON: %s", r->in->file, r->line,
                end + (end < n), json_tokener_error_desc(je));
    else if (!json_object_is_type(o, json_type_object))
        fprintf(stderr, "%s:%u:1: a JSON %s, not an object", r->in->file, r->line,
                json_type_to_name(json_object_get_type(o)));
    else {
        json_line(r, o);
        json_object_put(o);
        return;
    }
    fputs("; fix the line (it is not sent)\n", stderr);
    r->in->bad++;
    json_object_put(o);
}

static int read_jsonl(reader *r, FILE *f)
{
    struct json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        fprintf(stderr, "%s: out of memory for the JSON reader\n", r->in->file);
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while (r->status == 0 && (n = getline(&buf, &cap, f)) > 0) {
        r->line++;
        if (n > INT32_MAX) {
            fprintf(stderr, "%s:%u: the line is too long to be one event\n", r->in->file, r->line);
            r->status = -1;
        } else if (!blank(buf, (size_t)n)) {
            parse_json_line(r, tok, buf, (size_t)n);
        }
    }
    if (r->status == 0 && ferror(f)) {
        fprintf(stderr, "%s:%u: cannot read the file: %s\n", r->in->file, r->line + 1,
                strerror(errno));
        r->status = -1;
    }
    free(buf);
    json_tokener_free(tok);
    return r->status;
}

/* ---- both ---- */

int input_read(events_in *in, FILE *f, input_format fmt)
{
    reader r = { .in = in };
    if (fmt == INPUT_AUTO) {
        /* Only blank space is read ahead; its lines are counted. */
        fmt = INPUT_CSV;
        int ch;
        while ((ch = getc(f)) != EOF && isspace(ch))
            r.line += ch == '\n';
        if (ch == '{')
            fmt = INPUT_JSONL;
        if (ch != EOF)
            ungetc(ch, f);
    }
    r.json = fmt == INPUT_JSONL;
    return r.json ? read_jsonl(&r, f) : read_csv(&r, f);
}

void input_free(events_in *in)
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
    free(in->line);
    in->ev = NULL;
    in->line = NULL;
    in->n = 0;
}
