/* plan_csv: reads a plan file (RFC 4180 CSV via libcsv, UTF-8) into a plan. It
 * validates everything before the plan exists, and names file, line and column
 * of the first problem with what to do about it. */
#include <csv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "plan.h"
#include "utf8.h"
#include "vocab.h"

enum { COL_UNIT_CODE, COL_UNIT_NAME, COL_CODE, COL_NAME, COL_BUDGET, COL_FISCAL, COL_MILESTONES,
       COL_TARGET, COL_BASIS, NCOLS };

static const char *const col_names[NCOLS] = {
    "unit_code", "unit_name", "project_code", "project_name", "budget_wan", "fiscal_wan",
    "milestones", "target_pct", "lag_basis",
};
#define NREQUIRED 5    /* the first five columns must be present */
#define MAX_FIELDS 64

typedef struct field {
    size_t off, len;
} field;

typedef struct parser {
    const char *file;
    const bw_plan_opts *opts;
    bw_plan *plan;
    bw_err *err;
    bool failed;
    uint32_t line;              /* the physical line being fed */
    bool have_header;
    int nheader;
    int col_at[NCOLS];          /* field index of each known column, -1 if absent */
    char *buf;                  /* the current row's field text */
    size_t used, cap;
    field f[MAX_FIELDS];
    int nf;
} parser;

static int fail(parser *ps, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *ps, int col, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    char what[BW_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (col > 0)
        bw_err_set(ps->err, "%s:%u:%d: %s", ps->file, ps->line, col, what);
    else
        bw_err_set(ps->err, "%s:%u: %s", ps->file, ps->line, what);
    ps->failed = true;
    return -1;
}

/* ---- UTF-8 ---- */

/* Excel's "Unicode text" and some tools write UTF-16: a byte-order mark,
 * or an ASCII byte beside a zero. GBK advice would only make it worse. */
static bool looks_utf16(const unsigned char *s, size_t len)
{
    if (len >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF)))
        return true;
    return len >= 2 && ((s[0] == 0 && s[1] != 0) || (s[0] != 0 && s[1] == 0));
}

static int check_utf8(parser *ps, const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    uint32_t line = 1, col = 1;
    if (looks_utf16(s, len)) {
        ps->line = 1;
        return fail(ps, 0, "the file is UTF-16 (Excel's \"Unicode text\"), not UTF-8: save it "
                    "as \"CSV UTF-8\" instead, or convert it with iconv -f UTF-16 -t UTF-8 %s > "
                    "%s.utf8", ps->file, ps->file);
    }
    for (size_t i = 0; i < len;) {
        size_t n = bw_utf8_seq(s + i, len - i);
        if (n == 0) {
            ps->line = line;
            return fail(ps, 0, "byte %u of the line (0x%02X) is not valid UTF-8; the file is "
                        "probably GBK (common in exports from Chinese office software): convert "
                        "it with iconv -f GBK -t UTF-8 %s > %s.utf8", col, s[i], ps->file, ps->file);
        }
        if (s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col += (uint32_t)n;
        }
        i += n;
    }
    return 0;
}

/* ---- fields ---- */

static void on_field(void *data, size_t len, void *ctx)
{
    parser *ps = ctx;
    if (ps->failed)
        return;
    if (ps->nf == MAX_FIELDS) {
        fail(ps, 0, "more than %d fields on one line", MAX_FIELDS);
        return;
    }
    if (ps->used + len + 1 > ps->cap) {
        size_t cap = ps->cap ? ps->cap : 1024;
        while (cap < ps->used + len + 1)
            cap *= 2;
        char *b = realloc(ps->buf, cap);
        if (b == NULL) {
            fail(ps, 0, "out of memory");
            return;
        }
        ps->buf = b;
        ps->cap = cap;
    }
    /* Trim what libcsv keeps inside quotes, too: codes in the source carry
     * trailing spaces. */
    const char *s = data ? data : "";
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    memcpy(ps->buf + ps->used, s, len);
    ps->buf[ps->used + len] = '\0';
    ps->f[ps->nf++] = (field){ ps->used, len };
    ps->used += len + 1;
}

static const char *cell(const parser *ps, int col, size_t *len)
{
    int i = ps->col_at[col];
    if (i < 0) {
        *len = 0;
        return "";
    }
    *len = ps->f[i].len;
    return ps->buf + ps->f[i].off;
}

/* 1-based column number of a known column, for messages. */
static int colno(const parser *ps, int col) { return ps->col_at[col] + 1; }

static int header(parser *ps)
{
    for (int c = 0; c < NCOLS; c++)
        ps->col_at[c] = -1;
    for (int i = 0; i < ps->nf; i++) {
        const char *name = ps->buf + ps->f[i].off;
        int c = 0;
        while (c < NCOLS && strcmp(name, col_names[c]) != 0)
            c++;
        if (c == NCOLS)
            return fail(ps, i + 1, "unknown column \"%s\"; the columns are unit_code, unit_name, "
                        "project_code, project_name, budget_wan and optionally fiscal_wan, "
                        "milestones, target_pct, lag_basis", name);
        if (ps->col_at[c] >= 0)
            return fail(ps, i + 1, "column \"%s\" appears twice (also column %d)", name,
                        ps->col_at[c] + 1);
        ps->col_at[c] = i;
    }
    for (int c = 0; c < NREQUIRED; c++)
        if (ps->col_at[c] < 0)
            return fail(ps, 0, "the header has no \"%s\" column; the first line must name the "
                        "columns, e.g. unit_code,unit_name,project_code,project_name,budget_wan",
                        col_names[c]);
    ps->nheader = ps->nf;
    ps->have_header = true;
    return 0;
}

static int amount(parser *ps, int col, int64_t *fen)
{
    size_t len;
    const char *s = cell(ps, col, &len);
    const char *why = NULL;
    if (bw_money_parse_wan(s, len, fen, &why))
        return fail(ps, colno(ps, col), "%s \"%s\" is not an amount in 万元 (%s; digits with at "
                    "most 6 decimals, e.g. 2258.32); fix the cell", col_names[col], s, why);
    return 0;
}

static int target(parser *ps, uint16_t *bp)
{
    size_t len;
    const char *s = cell(ps, COL_TARGET, &len);
    const char *why = NULL;
    int64_t v;
    *bp = 0;
    if (len == 0)
        return 0;
    /* A percentage with up to two decimals is the same grammar as yuan. */
    if (bw_money_parse_yuan(s, len, &v, &why))
        return fail(ps, colno(ps, COL_TARGET), "target_pct \"%s\" is not a percentage (%s); write "
                    "e.g. 95 or 97.5", s, why);
    if (v == 0 || v > 10000)
        return fail(ps, colno(ps, COL_TARGET), "target_pct %s is %s; it must be more than 0 and "
                    "at most 100", s, v == 0 ? "zero" : "over 100");
    *bp = (uint16_t)v;
    return 0;
}

/* The project's own lag basis (empty: the configured [alerts] lag_basis). */
static int basis(parser *ps, uint8_t *out)
{
    size_t len;
    const char *s = cell(ps, COL_BASIS, &len);
    *out = 0;
    if (len == 0)
        return 0;
    int b = bw_basis_parse(s);
    if (b < 0)
        return fail(ps, colno(ps, COL_BASIS), "lag_basis \"%s\" is not plan, pace or both; write "
                    "one of them, or leave the cell empty for [alerts] lag_basis", s);
    *out = (uint8_t)(b + 1);
    return 0;
}

/* Codes and names go on the wire and into status tables, one line each. */
static int check_required(parser *ps)
{
    for (int c = 0; c < 4; c++) {
        size_t len;
        const char *s = cell(ps, c, &len);
        if (len == 0)
            return fail(ps, colno(ps, c), "%s is empty; every row needs one", col_names[c]);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return fail(ps, colno(ps, c), "%s contains the control character 0x%02X at byte "
                            "%zu; codes and names must be one line of text", col_names[c],
                            (unsigned char)s[i], i + 1);
    }
    return 0;
}

static int check_codes(parser *ps, const bw_project_in *in)
{
    int64_t dup = bw_plan_find_project(ps->plan, in->code, strlen(in->code));
    if (dup >= 0)
        return fail(ps, colno(ps, COL_CODE), "project code \"%s\" appears twice (lines %u and %u); "
                    "give each project its own code", in->code,
                    bw_plan_project(ps->plan, (size_t)dup)->line, ps->line);
    int64_t u = bw_plan_find_unit(ps->plan, in->unit_code, strlen(in->unit_code));
    if (u >= 0 && strcmp(bw_plan_unit(ps->plan, (size_t)u)->name, in->unit_name) != 0)
        return fail(ps, colno(ps, COL_UNIT_NAME), "unit %s is named \"%s\" on line %u but \"%s\" "
                    "here; use one name per unit code", in->unit_code,
                    bw_plan_unit(ps->plan, (size_t)u)->name, bw_plan_unit(ps->plan, (size_t)u)->line,
                    in->unit_name);
    return 0;
}

static int project_row(parser *ps)
{
    if (ps->nf != ps->nheader)
        return fail(ps, 0, "%d fields, but the header has %d; check for a missing or extra comma "
                    "(quote cells that contain commas)", ps->nf, ps->nheader);
    if (check_required(ps))
        return -1;
    size_t len;
    bw_project_in in = { .fiscal = -1, .line = ps->line };
    in.unit_code = cell(ps, COL_UNIT_CODE, &len);
    in.unit_name = cell(ps, COL_UNIT_NAME, &len);
    in.code = cell(ps, COL_CODE, &len);
    in.name = cell(ps, COL_NAME, &len);
    if (amount(ps, COL_BUDGET, &in.budget))
        return -1;
    if (in.budget == 0)
        return fail(ps, colno(ps, COL_BUDGET), "budget_wan is 0; a project needs a budget");
    cell(ps, COL_FISCAL, &len);
    if (len > 0 && amount(ps, COL_FISCAL, &in.fiscal))
        return -1;
    if (in.fiscal > in.budget)
        return fail(ps, colno(ps, COL_FISCAL), "fiscal_wan is more than budget_wan; the fiscal "
                    "part (财政资金) is part of the budget");
    bw_schedule sched;
    const char *ms = cell(ps, COL_MILESTONES, &len);
    char why[256];
    if (len > 0) {
        if (bw_schedule_parse(ms, len, ps->opts->fiscal_year, &sched, why, sizeof why))
            return fail(ps, colno(ps, COL_MILESTONES), "milestones: %s", why);
        in.schedule = &sched;
    }
    uint8_t own_basis;
    if (target(ps, &in.target_bp) || basis(ps, &own_basis) || check_codes(ps, &in))
        return -1;
    bw_err e;
    int64_t ix = bw_plan_add_project(ps->plan, &in, &e);
    if (ix < 0)
        return fail(ps, colno(ps, COL_CODE), "%s", e.msg);
    if (own_basis > 0)
        bw_plan_set_basis(ps->plan, (size_t)ix, own_basis - 1);
    return 0;
}

static void on_row(int term, void *ctx)
{
    (void)term;
    parser *ps = ctx;
    if (!ps->failed) {
        if (!ps->have_header)
            header(ps);
        else
            project_row(ps);
    }
    ps->nf = 0;
    ps->used = 0;
}

static int feed(parser *ps, struct csv_parser *cp, const char *buf, size_t len)
{
    ps->line = 1;
    for (size_t pos = 0; pos < len && !ps->failed;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
        if (csv_parse(cp, buf + pos, n, on_field, on_row, ps) != n)
            return fail(ps, 0, "%s; check the quoting (a quote inside a quoted cell is written "
                        "twice: \"\")", csv_strerror(csv_error(cp)));
        pos += n;
        if (nl)
            ps->line++;
    }
    if (!ps->failed && csv_fini(cp, on_field, on_row, ps) != 0)
        return fail(ps, 0, "a quoted cell is not closed before the end of the file");
    return ps->failed ? -1 : 0;
}

bw_plan *bw_plan_parse_csv(const char *buf, size_t len, const char *filename,
                           const bw_plan_opts *opts, bw_err *err)
{
    parser ps = { .file = filename, .opts = opts, .err = err };
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    if (check_utf8(&ps, buf, len))
        return NULL;
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0 || (ps.plan = bw_plan_new(opts)) == NULL) {
        bw_err_set(err, "%s: out of memory", filename);
        return NULL;
    }
    int rc = feed(&ps, &cp, buf, len);
    csv_free(&cp);
    free(ps.buf);
    if (rc == 0 && !ps.have_header)
        rc = bw_err_set(err, "%s: the file is empty; a plan starts with a header line", filename);
    else if (rc == 0 && bw_plan_nprojects(ps.plan) == 0)
        rc = bw_err_set(err, "%s: the plan has a header but no projects", filename);
    if (rc != 0)
        bw_plan_free(&ps.plan);
    return ps.plan;
}
