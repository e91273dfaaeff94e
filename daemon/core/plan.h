/* plan: the spending plan — budget units, projects, budgets in fen, milestone
 * schedules and year-end targets. Built row by row (by the CSV parser or by
 * code), immutable once handed to the engine. Looks up codes in O(1). */
#ifndef BW_PLAN_H
#define BW_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BW_MAX_MILESTONES 12
#define BW_CODE_MAX 64      /* bytes in a unit or project code */
#define BW_NAME_MAX 256     /* bytes in a unit or project name */

typedef struct bw_milestone {
    uint8_t month, day;     /* deadline: the end of this local day */
    uint16_t bp;            /* cumulative share of the budget, basis points */
} bw_milestone;

/* Strictly increasing in date and in bp; the last one is 10000 (100 %). */
typedef struct bw_schedule {
    uint8_t n;
    bw_milestone m[BW_MAX_MILESTONES];
} bw_schedule;

typedef struct bw_plan_opts {
    int fiscal_year;
    bw_schedule default_schedule;
    uint16_t default_target_bp;     /* year-end completion target, bp */
} bw_plan_opts;

typedef struct bw_unit_def {
    const char *code;
    const char *name;
    uint32_t line;          /* first plan line naming the unit (0 if built in code) */
} bw_unit_def;

typedef struct bw_project_def {
    const char *code;       /* owned by the plan, NUL-terminated, trimmed */
    const char *name;
    uint32_t unit;          /* index of the unit */
    uint32_t schedule;      /* index of the schedule (bw_plan_schedule) */
    int64_t budget;         /* fen, > 0 */
    int64_t fiscal;         /* fen, 0 <= fiscal <= budget (财政资金 part) */
    uint16_t target_bp;     /* year-end target */
    uint8_t basis;          /* lag basis: 0 = [alerts] lag_basis, else bw_basis + 1 */
    uint32_t line;          /* plan line (0 if built in code) */
} bw_project_def;

/* What a caller hands bw_plan_add_project; strings are copied. schedule == NULL
 * means the default schedule; target_bp == 0 means the default target;
 * fiscal < 0 means "all of the budget". */
typedef struct bw_project_in {
    const char *unit_code, *unit_name;
    const char *code, *name;
    int64_t budget, fiscal;
    const bw_schedule *schedule;
    uint16_t target_bp;
    uint32_t line;
} bw_project_in;

typedef struct bw_plan bw_plan;

/* Returns a new empty plan, or NULL when out of memory. Free with bw_plan_free. */
bw_plan *bw_plan_new(const bw_plan_opts *opts);
/* Frees the plan and everything it owns, and sets *p to NULL. NULL-safe. */
void bw_plan_free(bw_plan **p);

/* Adds a project (and its unit, the first time the unit code is seen). Returns
 * its index, or -1 with a message in err: a duplicate project code (naming both
 * lines), a unit code seen before under another name, a budget <= 0, a fiscal
 * part over the budget, an empty code or name, a string over its limit. The
 * plan is unchanged on error. Messages carry no file name; callers prefix it. */
int64_t bw_plan_add_project(bw_plan *p, const bw_project_in *in, bw_err *err);

/* Sets project i's own lag basis (bw_basis), over [alerts] lag_basis: the
 * plan file's lag_basis column. */
void bw_plan_set_basis(bw_plan *p, size_t i, int basis);

size_t bw_plan_nprojects(const bw_plan *p);
size_t bw_plan_nunits(const bw_plan *p);
size_t bw_plan_nschedules(const bw_plan *p);
/* Pointers stay valid until the next add or until the plan is freed. */
const bw_project_def *bw_plan_project(const bw_plan *p, size_t i);
const bw_unit_def *bw_plan_unit(const bw_plan *p, size_t i);
const bw_schedule *bw_plan_schedule(const bw_plan *p, size_t i);
const bw_plan_opts *bw_plan_options(const bw_plan *p);
/* Index of the project / unit with this exact code, or -1. O(1). */
int64_t bw_plan_find_project(const bw_plan *p, const char *code, size_t len);
/* Fills out[0..n) with the project indices in the order of their codes
 * compared bytewise (SQLite's BINARY collation: the ledger's key order).
 * 0, or -1 when out of memory. */
int bw_plan_code_order(const bw_plan *p, uint32_t *out);
int64_t bw_plan_find_unit(const bw_plan *p, const char *code, size_t len);

/* Parses a milestone schedule "03-31:30;06-30:60;10-31:90;12-31:100" for the
 * given year (percent with up to two decimals). Returns 0, or -1 with what is
 * wrong in why (a date that does not exist in that year, dates or percentages
 * not increasing, a percentage over 100, a last milestone under 100 %, bad
 * syntax, more than BW_MAX_MILESTONES). */
int bw_schedule_parse(const char *s, size_t len, int year, bw_schedule *out,
                      char *why, size_t whylen);
/* Writes the schedule back in the same syntax; returns buf. */
char *bw_schedule_format(const bw_schedule *s, char *buf, size_t len);

/* Parses a whole plan file (CSV, RFC 4180, UTF-8 with or without BOM; header row
 * unit_code,unit_name,project_code,project_name,budget_wan[,fiscal_wan]
 * [,milestones][,target_pct][,lag_basis] in any order; lag_basis is plan,
 * pace, both or empty for the configured one). Returns the plan, or NULL with the
 * first error in err as "FILE:LINE:COL: what is wrong; what to do". Nothing is
 * half-loaded: on error there is no plan. */
bw_plan *bw_plan_parse_csv(const char *buf, size_t len, const char *filename,
                           const bw_plan_opts *opts, bw_err *err);

#endif
