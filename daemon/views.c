/* views: the shared views built from the application (views.h). The rows
 * borrow the plan's strings, so a view lives no longer than the loop turn
 * that built it. */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "log.h"
#include "money.h"

/* A history reply holds at most this many alerts. */
#define HISTORY_MAX 100000

/* ---- status ---- */

/* The plan's budgets (预算数) summed per unit and for the department, into
 * ub[nu] (zeroed by the caller) and *tot. A plan's budgets cannot pass
 * 2^63 - 1 fen in sum once the engine holds it (it checks its own sum of
 * budgets, which starts as the plan's); saturate rather than wrap anyway. */
static void plan_budgets(const bw_plan *p, int64_t *ub, int64_t *tot)
{
    *tot = 0;
    for (size_t i = 0; i < bw_plan_nprojects(p); i++) {
        const bw_project_def *pd = bw_plan_project(p, i);
        if (!bw_fen_add(ub[pd->unit], pd->budget, &ub[pd->unit]))
            ub[pd->unit] = INT64_MAX;
        if (!bw_fen_add(*tot, pd->budget, tot))
            *tot = INT64_MAX;
    }
}

static void row_of(const bw_app *a, const bw_status *s, bw_view_row *r)
{
    r->band = bw_engine_band_name(a->engine, s->band);
    r->basis = s->basis;
    r->pace_lag_bp = s->pace_lag_bp;
    r->pace_shortfall = s->pace_shortfall;
    r->budget = s->budget;
    r->paid = s->paid;
    r->paid_fiscal = s->paid_fiscal;
    r->paid_other = s->paid_other;
    r->shortfall = s->shortfall;
    r->rate_bp = s->rate_bp;
    r->planned_bp = s->planned_bp;
    r->lag_bp = s->lag_bp;
    r->pace_bp = s->pace_bp;
    r->severity = s->severity;
    r->firing = s->firing;
    r->projects = s->projects;
}

void bw_views_project_row(const bw_app *a, uint32_t ix, bw_view_row *r)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_project_def *pd = bw_plan_project(p, ix);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    bw_status s;
    bw_engine_project_status(a->engine, ix, &s);
    row_of(a, &s, r);
    r->unit = u->code;
    r->unit_name = u->name;
    r->project = pd->code;
    r->project_name = pd->name;
    r->plan_budget = pd->budget;
}

static void unit_row(const bw_app *a, uint32_t u, bw_view_row *r)
{
    const bw_unit_def *ud = bw_plan_unit(bw_engine_plan(a->engine), u);
    bw_status s;
    bw_engine_unit_status(a->engine, u, &s);
    row_of(a, &s, r);
    r->unit = ud->code;
    r->unit_name = ud->name;
    r->project = r->project_name = "";
}

static int cmp_code(const void *x, const void *y, void *plan)
{
    const bw_plan *p = plan;
    return strcmp(bw_plan_project(p, *(const uint32_t *)x)->code,
                  bw_plan_project(p, *(const uint32_t *)y)->code);
}

/* The projects a status query asks for, in the order it asks for. */
static size_t select_projects(const bw_app *a, const char *sort, int64_t unit, uint32_t *ix)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    size_t n = bw_plan_nprojects(p);
    if (strcmp(sort, "shortfall") == 0)
        return bw_engine_rank(a->engine, BW_RANK_SHORTFALL, unit, ix, n);
    if (strcmp(sort, "lag") == 0)
        return bw_engine_rank(a->engine, BW_RANK_LAG, unit, ix, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (unit < 0 || bw_plan_project(p, i)->unit == (uint32_t)unit)
            ix[k++] = (uint32_t)i;
    if (strcmp(sort, "code") == 0)
        qsort_r(ix, k, sizeof *ix, cmp_code, (void *)p);
    return k;
}

static bool given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* ---- status: filters and sorting by any column (the console's lists) ---- */

enum {
    COL_UNIT, COL_UNIT_NAME, COL_PROJECT, COL_PROJECT_NAME, COL_BUDGET, COL_PAID,
    COL_PAID_FISCAL, COL_PAID_OTHER, COL_SHORTFALL, COL_RATE, COL_PLANNED, COL_LAG, COL_PACE,
    COL_SEVERITY, COL_FIRING, COL_PLAN_BUDGET, COL_BAND, COL_PACE_LAG, COL_PACE_SHORTFALL,
    COL_COUNT
};
static const char *const column_names[COL_COUNT] = {
    "unit", "unit_name", "project", "project_name", "budget", "paid", "paid_fiscal",
    "paid_other", "shortfall", "rate_bp", "planned_bp", "lag_bp", "pace_bp", "severity", "firing",
    "plan_budget", "band", "pace_lag_bp", "pace_shortfall",
};
#define COLUMN_LIST "unit, unit_name, project, project_name, budget, paid, paid_fiscal, " \
                    "paid_other, shortfall, rate_bp, planned_bp, lag_bp, pace_bp, severity, " \
                    "firing, plan_budget, band, pace_lag_bp, pace_shortfall"

static int column_of(const char *name)
{
    for (int i = 0; i < COL_COUNT; i++)
        if (strcmp(column_names[i], name) == 0)
            return i;
    return -1;
}

/* Whether a project passes the query's text, band and alert filters. */
static bool passes(const bw_app *a, const bw_status_query *q, uint32_t ix)
{
    const bw_project_def *pd = bw_plan_project(bw_engine_plan(a->engine), ix);
    if (given(q->text) && strstr(pd->code, q->text) == NULL && strstr(pd->name, q->text) == NULL)
        return false;
    if (!given(q->band) && !given(q->alert))
        return true;
    bw_status st;
    bw_engine_project_status(a->engine, ix, &st);
    if (given(q->band)) {
        const char *b = bw_engine_band_name(a->engine, st.band);
        if (strcmp(q->band, "none") == 0 ? b[0] != '\0' : strcmp(q->band, b) != 0)
            return false;
    }
    if (given(q->alert) && (strcmp(q->alert, "firing") == 0) != (st.firing > 0))
        return false;
    return true;
}

/* A project and its sort key: a number, or (text columns) a string of the plan. */
typedef struct sort_item {
    int64_t key;
    const char *text;
    uint32_t ix;
} sort_item;

static int cmp_item(const void *x, const void *y, void *desc)
{
    const sort_item *a = x, *b = y;
    int c = a->text ? strcmp(a->text, b->text) : (a->key > b->key) - (a->key < b->key);
    if (*(const bool *)desc)
        c = -c;
    /* Ties in plan order, whichever the direction: pages do not overlap. */
    return c ? c : (a->ix > b->ix) - (a->ix < b->ix);
}

static void item_of(const bw_app *a, int col, uint32_t ix, sort_item *it)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_project_def *pd = bw_plan_project(p, ix);
    bw_status st;
    it->ix = ix;
    it->text = NULL;
    it->key = 0;
    switch (col) {
    case COL_UNIT: it->text = bw_plan_unit(p, pd->unit)->code; return;
    case COL_UNIT_NAME: it->text = bw_plan_unit(p, pd->unit)->name; return;
    case COL_PROJECT: it->text = pd->code; return;
    case COL_PROJECT_NAME: it->text = pd->name; return;
    default: break;
    }
    bw_engine_project_status(a->engine, ix, &st);
    int64_t k[COL_COUNT] = {
        [COL_BUDGET] = st.budget, [COL_PAID] = st.paid, [COL_PAID_FISCAL] = st.paid_fiscal,
        [COL_PAID_OTHER] = st.paid_other, [COL_SHORTFALL] = st.shortfall,
        [COL_RATE] = st.rate_bp, [COL_PLANNED] = st.planned_bp, [COL_LAG] = st.lag_bp,
        [COL_PACE] = st.pace_bp, [COL_SEVERITY] = st.severity, [COL_FIRING] = st.firing,
        [COL_PLAN_BUDGET] = pd->budget, [COL_BAND] = st.band, [COL_PACE_LAG] = st.pace_lag_bp,
        [COL_PACE_SHORTFALL] = st.pace_shortfall,
    };
    it->key = k[col];
}

/* Sorts ix[0..n) by a column; -1 when out of memory. */
static int sort_by_column(const bw_app *a, int col, bool desc, uint32_t *ix, size_t n)
{
    sort_item *it = malloc((n ? n : 1) * sizeof *it);
    if (it == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        item_of(a, col, ix[i], &it[i]);
    qsort_r(it, n, sizeof *it, cmp_item, &desc);
    for (size_t i = 0; i < n; i++)
        ix[i] = it[i].ix;
    free(it);
    return 0;
}

/* Filters, sorts and pages ix[0..n) in place; returns the rows left, with
 * *matched the rows that passed the filters. */
static int page_projects(const bw_app *a, const bw_status_query *q, uint32_t *ix, size_t n,
                         size_t *left, uint64_t *matched)
{
    size_t k = 0;
    bool filtered = given(q->text) || given(q->band) || given(q->alert);
    for (size_t i = 0; i < n; i++)
        if (!filtered || passes(a, q, ix[i]))
            ix[k++] = ix[i];
    *matched = k;
    /* "lag", "shortfall" and "code" keep their orders (worst first, by code). */
    const char *sort = given(q->sort) ? q->sort : "";
    bool named = !sort[0] || !strcmp(sort, "lag") || !strcmp(sort, "shortfall") ||
                 !strcmp(sort, "code");
    int col = named ? -1 : column_of(sort);
    if (col >= 0 && sort_by_column(a, col, q->desc, ix, k))
        return -1;
    if (col < 0 && q->desc)     /* the named orders, reversed */
        for (size_t i = 0; i < k / 2; i++) {
            uint32_t t = ix[i];
            ix[i] = ix[k - 1 - i];
            ix[k - 1 - i] = t;
        }
    size_t skip = q->offset < k ? (size_t)q->offset : k;
    memmove(ix, ix + skip, (k - skip) * sizeof *ix);
    *left = k - skip;
    return 0;
}

/* Which unit and project a query names: -1 for none; -1 returned on error. */
static int resolve(const bw_app *a, const bw_status_query *q, int64_t *unit, int64_t *project,
                   bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const char *sort = q->sort ? q->sort : "";
    *unit = *project = -1;
    if (sort[0] && strcmp(sort, "lag") && strcmp(sort, "shortfall") && strcmp(sort, "code") &&
        column_of(sort) < 0)
        return bw_err_set(err, "sort must be \"lag\", \"shortfall\", \"code\" or a row column "
                          "(%s), got \"%s\"", COLUMN_LIST, sort);
    if (given(q->unit) && (*unit = bw_plan_find_unit(p, q->unit, strlen(q->unit))) < 0)
        return bw_err_set(err, "unknown unit \"%s\"; `budgetwatch status` lists the units", q->unit);
    if (given(q->project) &&
        (*project = bw_plan_find_project(p, q->project, strlen(q->project))) < 0)
        return bw_err_set(err, "unknown project \"%s\"; `budgetwatch status` lists the projects",
                          q->project);
    if (*project >= 0)
        *unit = bw_plan_project(p, (size_t)*project)->unit;
    return 0;
}

int bw_views_status(const bw_app *a, const bw_status_query *q, bw_view_status *v, bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    int64_t unit, project;
    memset(v, 0, sizeof *v);
    if (resolve(a, q, &unit, &project, err))
        return -1;
    size_t np = bw_plan_nprojects(p), nu = unit >= 0 ? 1 : bw_plan_nunits(p);
    uint32_t *ix = malloc((np ? np : 1) * sizeof *ix);
    v->units = malloc((nu ? nu : 1) * sizeof *v->units);
    if (ix == NULL || v->units == NULL) {
        free(ix);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu projects", np);
    }
    size_t n = 1;
    if (project >= 0)
        ix[0] = (uint32_t)project;
    else
        n = select_projects(a, q->sort ? q->sort : "", unit, ix);
    if (page_projects(a, q, ix, n, &n, &v->matched)) {
        free(ix);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory sorting the status of %zu projects", n);
    }
    if (q->limit && n > q->limit)
        n = q->limit;
    /* The rows go where the indices were: a row is larger than an index. */
    v->projects = malloc((n ? n : 1) * sizeof *v->projects);
    if (v->projects == NULL) {
        free(ix);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu projects", n);
    }
    for (size_t i = 0; i < n; i++)
        bw_views_project_row(a, ix[i], &v->projects[i]);
    free(ix);
    v->nprojects = n;
    size_t nall = bw_plan_nunits(p);
    int64_t *ub = calloc(nall ? nall : 1, sizeof *ub), tb = 0;
    if (ub == NULL) {
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu units", nall);
    }
    plan_budgets(p, ub, &tb);
    for (size_t u = 0; u < nu; u++) {
        uint32_t ux = unit >= 0 ? (uint32_t)unit : (uint32_t)u;
        unit_row(a, ux, &v->units[u]);
        v->units[u].plan_budget = ub[ux];
    }
    free(ub);
    v->nunits = nu;
    bw_status tot;
    bw_engine_total_status(a->engine, &tot);
    row_of(a, &tot, &v->total);
    v->total.plan_budget = tb;
    v->total.unit = v->total.unit_name = v->total.project = v->total.project_name = "";
    v->at = bw_engine_now(a->engine);
    v->pace_bp = tot.pace_bp;
    return 0;
}

/* ---- status as of an instant ---- */

/* What the ledger says of each plan project at `at`: paid, and the budget
 * (the plan's unless adjusted by then). */
typedef struct asof_ctx {
    const bw_plan *p;
    int64_t *budget, *fiscal, *other;
    bool overflow;
} asof_ctx;

static int asof_paid(void *ctx, const char *code, int64_t fiscal, int64_t other)
{
    asof_ctx *c = ctx;
    int64_t ix = bw_plan_find_project(c->p, code, strlen(code));
    if (ix < 0)
        return 0;                       /* a project the plan no longer has */
    if (!bw_fen_add(c->fiscal[ix], fiscal, &c->fiscal[ix]) ||
        !bw_fen_add(c->other[ix], other, &c->other[ix])) {
        c->overflow = true;
        return 1;
    }
    return 0;
}

static int asof_budget(void *ctx, const char *code, int64_t budget)
{
    asof_ctx *c = ctx;
    int64_t ix = bw_plan_find_project(c->p, code, strlen(code));
    if (ix >= 0)
        c->budget[ix] = budget;
    return 0;
}

typedef struct asof_item {
    int64_t key;
    uint32_t ix;
    bw_status st;
} asof_item;

static int asof_cmp(const void *x, const void *y)
{
    const asof_item *a = x, *b = y;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return a->ix < b->ix ? -1 : a->ix > b->ix;
}

static int asof_cmp_code(const void *x, const void *y, void *plan)
{
    return cmp_code(&((const asof_item *)x)->ix, &((const asof_item *)y)->ix, plan);
}

static void row_named(const bw_app *a, const bw_plan *p, uint32_t ix, const bw_status *s,
                      bw_view_row *r)
{
    const bw_project_def *pd = bw_plan_project(p, ix);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    row_of(a, s, r);
    r->unit = u->code;
    r->unit_name = u->name;
    r->project = pd->code;
    r->project_name = pd->name;
    r->plan_budget = pd->budget;
}

/* Reads the ledger's figures at `at` into c (arrays of np, zeroed). */
static int asof_read(const bw_app *a, int64_t at, asof_ctx *c, bw_err *err)
{
    size_t np = bw_plan_nprojects(c->p);
    for (size_t i = 0; i < np; i++)
        c->budget[i] = bw_plan_project(c->p, i)->budget;
    if (bw_store_budgets_at(a->store, at, asof_budget, c, err) ||
        bw_store_paid_at(a->store, at, asof_paid, c, err) < 0)
        return c->overflow ? bw_err_set(err, "the payments up to %lld sum past 2^63 - 1 fen",
                                        (long long)at) : -1;
    return 0;
}

/* Every plan project's status at `at` and the subtotals, from the ledger. */
static int asof_rows(const bw_app *a, int64_t at, int64_t unit, asof_item *items, size_t *n,
                     bw_status *units, bw_status *total, bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    size_t np = bw_plan_nprojects(p);
    asof_ctx c = { p, calloc(np ? np : 1, sizeof(int64_t)), calloc(np ? np : 1, sizeof(int64_t)),
                   calloc(np ? np : 1, sizeof(int64_t)), false };
    int rc = -1;
    if (c.budget == NULL || c.fiscal == NULL || c.other == NULL) {
        bw_err_set(err, "out of memory building the status of %zu projects", np);
        goto out;
    }
    if (asof_read(a, at, &c, err))
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        bw_status st;
        uint32_t u = bw_plan_project(p, i)->unit;
        bw_engine_project_status_at(a->engine, (uint32_t)i, at, c.budget[i], c.fiscal[i],
                                    c.other[i], &st);
        if (bw_engine_status_sum(total, &st) || bw_engine_status_sum(&units[u], &st)) {
            bw_err_set(err, "the department's figures at %lld sum past 2^63 - 1 fen",
                       (long long)at);
            goto out;
        }
        if (unit < 0 || u == (uint32_t)unit)
            items[k++] = (asof_item){ 0, (uint32_t)i, st };
    }
    *n = k;
    rc = 0;
out:
    free(c.budget);
    free(c.fiscal);
    free(c.other);
    return rc;
}

int bw_views_status_at(const bw_app *a, const bw_status_query *q, int64_t at, bw_view_status *v,
                       bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    int64_t unit, project;
    memset(v, 0, sizeof *v);
    if (resolve(a, q, &unit, &project, err))
        return -1;
    /* The as-of rows are rebuilt from the ledger, not kept: the console's
     * paging and filters work on the live rows only. */
    if (q->offset || given(q->text) || given(q->band) || given(q->alert) || q->desc ||
        (given(q->sort) && strcmp(q->sort, "lag") && strcmp(q->sort, "shortfall") &&
         strcmp(q->sort, "code")))
        return bw_err_set(err, "status with 'at' takes unit, project, limit and sort \"lag\", "
                          "\"shortfall\" or \"code\"; offset, q, band, alert, desc and column "
                          "sorts are for the live status (leave out 'at')");
    if (at > bw_engine_now(a->engine))
        return bw_err_set(err, "at %lld is after the daemon's clock (%lld): the ledger cannot say"
                          " what will have been paid; ask for an instant up to now",
                          (long long)at, (long long)bw_engine_now(a->engine));
    size_t np = bw_plan_nprojects(p), nu = bw_plan_nunits(p), n = 0;
    asof_item *items = malloc((np ? np : 1) * sizeof *items);
    bw_status *units = calloc(nu ? nu : 1, sizeof *units), total;
    memset(&total, 0, sizeof total);
    v->units = malloc((nu ? nu : 1) * sizeof *v->units);
    if (items == NULL || units == NULL || v->units == NULL) {
        free(items);
        free(units);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu projects", np);
    }
    if (asof_rows(a, at, unit, items, &n, units, &total, err)) {
        free(items);
        free(units);
        bw_view_status_free(v);
        return -1;
    }
    if (project >= 0) {
        size_t k = 0;
        while (k < n && items[k].ix != (uint32_t)project)
            k++;
        items[0] = items[k];
        n = 1;
    } else if (q->sort && q->sort[0]) {
        bool lag = strcmp(q->sort, "lag") == 0, code = strcmp(q->sort, "code") == 0;
        for (size_t i = 0; i < n; i++)
            items[i].key = lag ? items[i].st.lag_bp : items[i].st.shortfall;
        if (code)
            qsort_r(items, n, sizeof *items, asof_cmp_code, (void *)p);
        else
            qsort(items, n, sizeof *items, asof_cmp);
    }
    v->matched = n;
    if (q->limit && n > q->limit)
        n = q->limit;
    v->projects = malloc((n ? n : 1) * sizeof *v->projects);
    if (v->projects == NULL) {
        free(items);
        free(units);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu projects", n);
    }
    for (size_t i = 0; i < n; i++)
        row_named(a, p, items[i].ix, &items[i].st, &v->projects[i]);
    v->nprojects = n;
    int64_t *ub = calloc(nu ? nu : 1, sizeof *ub), tb = 0;
    if (ub == NULL) {
        free(items);
        free(units);
        bw_view_status_free(v);
        return bw_err_set(err, "out of memory building the status of %zu units", nu);
    }
    plan_budgets(p, ub, &tb);
    for (size_t u = 0; u < nu; u++) {
        if (unit >= 0 && u != (size_t)unit)
            continue;
        bw_engine_status_finish_at(a->engine, at, &units[u]);
        bw_view_row *r = &v->units[v->nunits++];
        row_of(a, &units[u], r);
        r->unit = bw_plan_unit(p, u)->code;
        r->unit_name = bw_plan_unit(p, u)->name;
        r->project = r->project_name = "";
        r->plan_budget = ub[u];
    }
    free(ub);
    bw_engine_status_finish_at(a->engine, at, &total);
    row_of(a, &total, &v->total);
    v->total.plan_budget = tb;
    v->total.unit = v->total.unit_name = v->total.project = v->total.project_name = "";
    v->at = at;
    v->pace_bp = total.pace_bp;
    free(items);
    free(units);
    return 0;
}

/* ---- series ---- */

typedef struct series_ctx {
    const bw_plan *p;
    const bw_calendar *cal;
    int64_t unit;               /* -1: every unit */
    int64_t *day;               /* net paid per day index */
    bool *paid_on;              /* a day with payments */
    bool overflow;
} series_ctx;

/* The index of the local day starting at `start` (a daily key), clamped to
 * the year. */
static int day_index(const bw_calendar *cal, int64_t start)
{
    int lo = 0, hi = cal->ndays;
    if (start < cal->day_start[0])
        return 0;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (cal->day_start[mid] <= start)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int series_day(void *ctx, const char *code, int64_t day, int64_t net)
{
    series_ctx *c = ctx;
    if (c->unit >= 0) {
        int64_t ix = bw_plan_find_project(c->p, code, strlen(code));
        if (ix < 0 || bw_plan_project(c->p, (size_t)ix)->unit != (uint32_t)c->unit)
            return 0;
    }
    int i = day_index(c->cal, day);
    c->paid_on[i] = true;
    if (!bw_fen_add(c->day[i], net, &c->day[i])) {
        c->overflow = true;
        return 1;
    }
    return 0;
}

static bool covered(const bw_plan *p, size_t i, int64_t unit, int64_t project)
{
    if (project >= 0)
        return i == (size_t)project;
    return unit < 0 || bw_plan_project(p, i)->unit == (uint32_t)unit;
}

/* The plan line: the instants (year start, each deadline of a schedule the
 * projects covered use, year end), then the planned money summed at each. */
static int series_plan(const bw_app *a, int64_t unit, int64_t project, bw_view_series *v,
                       bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_calendar *cal = bw_engine_calendar(a->engine);
    size_t np = bw_plan_nprojects(p), ns = bw_plan_nschedules(p);
    bool *used = calloc(ns ? ns : 1, sizeof *used), *due = calloc((size_t)cal->ndays + 1, 1);
    if (used == NULL || due == NULL) {
        free(used);
        free(due);
        return bw_err_set(err, "out of memory building the plan line of %zu projects", np);
    }
    for (size_t i = 0; i < np; i++)
        if (covered(p, i, unit, project))
            used[bw_plan_project(p, i)->schedule] = true;
    due[0] = due[cal->ndays] = true;
    for (size_t k = 0; k < ns; k++) {
        const bw_schedule *s = bw_plan_schedule(p, k);
        for (int j = 0; used[k] && j < s->n; j++) {
            int doy = bw_cal_doy(cal, s->m[j].month, s->m[j].day);
            if (doy >= 0)
                due[doy + 1] = true;    /* the deadline: the end of that day */
        }
    }
    size_t n = 0;
    for (int d = 0; d <= cal->ndays; d++)
        n += due[d];
    v->plan = malloc(n * sizeof *v->plan);
    if (v->plan == NULL) {
        free(used);
        free(due);
        return bw_err_set(err, "out of memory building the plan line of %zu projects", np);
    }
    for (int d = 0; d <= cal->ndays; d++) {
        if (!due[d])
            continue;
        int64_t t = cal->day_start[d], sum = 0;
        for (size_t i = 0; i < np; i++)
            if (covered(p, i, unit, project))
                sum += bw_engine_planned_fen(a->engine, (uint32_t)i, t);   /* <= the budgets' sum */
        v->plan[v->nplan++] = (bw_view_point){ t, sum };
    }
    free(used);
    free(due);
    return 0;
}

int bw_views_series(const bw_app *a, const char *unit_code, const char *project_code,
                    bw_view_series *v, bw_err *err)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_calendar *cal = bw_engine_calendar(a->engine);
    bw_status_query q = { .unit = unit_code, .project = project_code };
    int64_t unit, project;
    memset(v, 0, sizeof *v);
    if (resolve(a, &q, &unit, &project, err))
        return -1;
    if (project >= 0)
        unit = -1;                      /* the project's own rows are asked for by code */
    size_t nd = (size_t)cal->ndays;
    series_ctx c = { p, cal, unit, calloc(nd, sizeof(int64_t)), calloc(nd, sizeof(bool)), false };
    v->points = malloc(nd * sizeof *v->points);
    if (c.day == NULL || c.paid_on == NULL || v->points == NULL) {
        free(c.day);
        free(c.paid_on);
        bw_view_series_free(v);
        return bw_err_set(err, "out of memory building a series");
    }
    int rc = bw_store_daily_each(a->store, project >= 0 ? bw_plan_project(p, (size_t)project)->code
                                                        : NULL, series_day, &c, err);
    if (rc == 0 && c.overflow)
        rc = bw_err_set(err, "the daily sums pass 2^63 - 1 fen");
    int64_t cum = 0;
    for (size_t d = 0; rc == 0 && d < nd; d++) {
        if (!c.paid_on[d])
            continue;
        if (!bw_fen_add(cum, c.day[d], &cum)) {
            rc = bw_err_set(err, "the cumulative paid passes 2^63 - 1 fen");
            break;
        }
        v->points[v->npoints++] = (bw_view_point){ cal->day_start[d + 1], cum };
    }
    free(c.day);
    free(c.paid_on);
    for (size_t i = 0; rc == 0 && i < bw_plan_nprojects(p); i++)
        if (covered(p, i, unit, project))
            v->budget += bw_engine_state(a->engine, (uint32_t)i)->budget;   /* the engine keeps it below 2^63 */
    if (rc == 0)
        rc = series_plan(a, unit, project, v, err);
    if (rc) {
        bw_view_series_free(v);
        return -1;
    }
    v->year_start = bw_cal_year_start(cal);
    v->year_end = bw_cal_year_end(cal);
    v->now = bw_engine_now(a->engine);
    return 0;
}

/* ---- a project's payments and adjustments (the console's detail page) ---- */

static int add_payment(void *ctx, int64_t rowid, int64_t received_at, const bw_event *ev)
{
    bw_view_payments *v = ctx;
    v->v[v->n++] = (bw_view_payment){ rowid, received_at, *ev };
    return 0;
}

int bw_views_payments(bw_app *a, const char *project, uint32_t limit, uint64_t before,
                      bw_view_payments *v, bw_err *err)
{
    memset(v, 0, sizeof *v);
    if (bw_plan_find_project(bw_engine_plan(a->engine), project, strlen(project)) < 0)
        return bw_err_set(err, "unknown project \"%s\"; `budgetwatch status` lists the projects",
                          project);
    if (limit == 0)
        limit = 50;
    if (limit > 1000)
        return bw_err_set(err, "payments: limit is at most 1000, got %u", limit);
    if (before > INT64_MAX)
        return bw_err_set(err, "payments: before is a rowid from a `next`, got %llu",
                          (unsigned long long)before);
    /* One more than asked: whether a next page exists. */
    v->v = malloc((limit + 1) * sizeof *v->v);
    if (v->v == NULL)
        return bw_err_set(err, "out of memory reading %u payments of project %s", limit, project);
    if (bw_store_payments_each(a->store, project, (int64_t)before, limit + 1, add_payment, v, err) ||
        (v->total = bw_store_payments_count(a->store, project, err)) < 0) {
        bw_view_payments_free(v);
        return -1;
    }
    if (v->n > limit) {
        v->n = limit;
        v->next = v->v[limit - 1].row;
    }
    return 0;
}

typedef struct adj_ctx {
    bw_view_adjustments *v;
    bool oom;
} adj_ctx;

static int add_adjustment(void *ctx, int64_t old_budget, int64_t new_budget, const char *reason,
                          int64_t at)
{
    adj_ctx *c = ctx;
    bw_view_adjustments *v = c->v;
    bw_view_adjustment *grown = realloc(v->v, (v->n + 1) * sizeof *v->v);
    if (grown == NULL) {
        c->oom = true;
        return 1;
    }
    v->v = grown;
    bw_view_adjustment *j = &v->v[v->n++];
    j->old_budget = old_budget;
    j->new_budget = new_budget;
    j->at = at;
    snprintf(j->reason, sizeof j->reason, "%s", reason);
    return 0;
}

int bw_views_adjustments(bw_app *a, const char *project, bw_view_adjustments *v, bw_err *err)
{
    memset(v, 0, sizeof *v);
    if (bw_plan_find_project(bw_engine_plan(a->engine), project, strlen(project)) < 0)
        return bw_err_set(err, "unknown project \"%s\"; `budgetwatch status` lists the projects",
                          project);
    adj_ctx c = { v, false };
    int rc = bw_store_adjustments_each(a->store, project, add_adjustment, &c, err);
    if (rc == 0 && c.oom)
        rc = bw_err_set(err, "out of memory reading the adjustments of project %s", project);
    if (rc) {
        bw_view_adjustments_free(v);
        return -1;
    }
    return 0;
}

/* ---- stats ---- */

void bw_views_stats(const bw_app *a, bw_view_stats *v)
{
    const bw_stats *s = &a->stats;
    bw_err err;
    memset(v, 0, sizeof *v);
    v->accepted = s->accepted;
    v->duplicates = s->duplicates;
    for (int i = 0; i < BW_REJ_COUNT; i++)
        v->rejected[v->nrejected++] = (bw_view_count){ bw_reject_class_name(i), s->rejected[i] };
    v->gaps = s->gaps;
    v->restarts = s->restarts;
    v->batches = s->batches;
    v->uptime = (int64_t)time(NULL) - a->started_at;
    v->events_in_ledger = bw_store_event_count(a->store, &err);
    v->dead_letters_pending = bw_store_rejects_pending(a->store, &err);
    v->dead_letters_dropped = s->dead_letters_dropped;
    v->integrity_checks = s->integrity_checks;
    v->integrity_failures = s->integrity_failures;
    v->projects = bw_plan_nprojects(bw_engine_plan(a->engine));
    v->alert_seq = bw_batch_committed_seq(a->batch);
    v->bad_frames = s->bad_frames;
    v->sources = bw_sources_count(a->sources);
    for (int i = 0; i < BW_DOM_COUNT; i++)
        v->auth_denied[v->nauth++] = (bw_view_count){
            bw_domain_name((bw_domain)i), a->auth ? bw_auth_denied(a->auth, (bw_domain)i) : 0 };
    v->control_denied = s->control_denied;
    v->control_requests = s->control_requests;
    v->control_errors = s->control_errors;
    v->nlatency = BW_LATENCY_BUCKETS;
    for (size_t i = 0; i < BW_LATENCY_BUCKETS; i++) {
        v->latency_bounds[i] = bw_latency_bounds[i];
        v->latency_counts[i] = s->commit_latency.le[i];
    }
    v->latency_sum_us = s->commit_latency.sum_us;
    v->latency_count = s->commit_latency.count;
    v->wal_bytes = bw_store_wal_bytes(a->store);
    /* [kind][severity][acked][band][handling]: one pass over the slots,
     * counting what `alerts` lists (a quiet slot was never published). */
    static const size_t nb = BW_MAX_BANDS + 1;
    uint64_t (*n)[3][2][BW_MAX_BANDS + 1][BW_HANDLINGS] = calloc(BW_PROJECT_KINDS, sizeof *n);
    if (n == NULL)
        return;                 /* nactive 0: the counts are missing, the rest is there */
    size_t np = bw_plan_nprojects(bw_engine_plan(a->engine));
    for (size_t i = 0; i < np; i++) {
        const bw_project_state *st = bw_engine_state(a->engine, (uint32_t)i);
        for (int k = 0; k < BW_PROJECT_KINDS; k++) {
            const bw_slot *sl = &st->slot[k];
            if (sl->severity == BW_SEV_NONE || sl->severity > BW_SEV_CRITICAL || sl->quiet)
                continue;
            size_t band = k == BW_KIND_LAG && sl->band < nb ? sl->band : 0;
            size_t h = sl->handling < BW_HANDLINGS ? sl->handling : 0;
            n[k][sl->severity][sl->acked ? 1 : 0][band][h]++;
        }
    }
    for (int k = 0; k < BW_PROJECT_KINDS; k++)
        for (int sev = BW_SEV_WARNING; sev <= BW_SEV_CRITICAL; sev++)
            for (int ack = 0; ack < 2; ack++)
                for (size_t band = 0; band < nb; band++)
                    for (int h = 0; h < BW_HANDLINGS; h++)
                        if (n[k][sev][ack][band][h] && v->nactive < sizeof v->active / sizeof v->active[0])
                            v->active[v->nactive++] = (bw_view_active){
                                bw_kind_name(k), bw_severity_name(sev),
                                bw_state_name(ack ? BW_STATE_ACKNOWLEDGED : BW_STATE_FIRING),
                                n[k][sev][ack][band][h], bw_engine_band_name(a->engine, (int)band),
                                bw_handling_name(h) };
    free(n);
}

/* ---- alerts ---- */

void bw_views_alert_msg(const bw_app *a, const bw_alert *al, bw_alert_msg *m)
{
    const bw_plan *p = bw_engine_plan(a->engine);
    const bw_project_def *pd = bw_plan_project(p, al->project);
    const bw_unit_def *u = bw_plan_unit(p, pd->unit);
    memset(m, 0, sizeof *m);
    m->kind = al->kind;
    m->state = al->state;
    m->severity = al->severity;
    snprintf(m->unit, sizeof m->unit, "%s", u->code);
    snprintf(m->unit_name, sizeof m->unit_name, "%s", u->name);
    snprintf(m->project, sizeof m->project, "%s", pd->code);
    snprintf(m->project_name, sizeof m->project_name, "%s", pd->name);
    m->budget = al->budget;
    m->paid = al->paid;
    m->shortfall = al->shortfall;
    m->rate_bp = al->rate_bp;
    m->planned_bp = al->planned_bp;
    m->lag_bp = al->lag_bp;
    m->pace_bp = al->pace_bp;
    if (al->kind == BW_KIND_MILESTONE && al->milestone.month >= 1 && al->milestone.month <= 12 &&
        al->milestone.day >= 1 && al->milestone.day <= 31)
        snprintf(m->milestone, sizeof m->milestone, "%02u-%02u", al->milestone.month % 100u,
                 al->milestone.day % 100u);
    m->at = al->at;
    m->since = al->since;
    snprintf(m->band, sizeof m->band, "%s", bw_engine_band_name(a->engine, al->band));
    m->basis = al->basis;
    m->handling = al->handling;
    m->pace_lag_bp = al->pace_lag_bp;
    m->pace_shortfall = al->pace_shortfall;
    /* The engine keeps no payment: its first message in the log has it. A
     * failure leaves the keys empty; the log still has the first message. */
    if (al->kind == BW_KIND_LARGE_PAYMENT) {
        bw_err err;
        (void)bw_store_alert_payment(a->store, pd->code, m, &err);
    }
}

/* What makes one active alert's message: 16 bytes, not a message's 1.4 KB. */
typedef struct active_ref {
    uint64_t seq;
    uint32_t project;
    uint8_t kind;
} active_ref;

typedef struct active_ctx {
    const bw_app *a;
    active_ref r[];
} active_ctx;

static void make_active(const void *ctx, size_t i, bw_alert_msg *out)
{
    const active_ctx *c = ctx;
    bw_alert al;
    /* The view lives within the loop turn that built it: still active. */
    (void)bw_engine_active(c->a->engine, c->r[i].project, (bw_alert_kind)c->r[i].kind, &al);
    bw_views_alert_msg(c->a, &al, out);
    out->seq = c->r[i].seq;
}

/* A slot that is not empty is an active alert (bw_engine_active). */
static bool active(const bw_app *a, size_t project, int kind)
{
    const bw_slot *s = &bw_engine_state(a->engine, (uint32_t)project)->slot[kind];
    return s->severity != BW_SEV_NONE && !s->quiet;   /* a quiet one was never published */
}

static size_t count_active(const bw_app *a)
{
    size_t n = 0, np = bw_plan_nprojects(bw_engine_plan(a->engine));
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < BW_PROJECT_KINDS; k++)
            n += active(a, i, k);
    return n;
}

/* Looks up, in chunks, the seq of each alert's last message in the log. */
static int active_seqs(bw_app *a, active_ctx *c, size_t n, bw_err *err)
{
    enum { CHUNK = 4096 };
    bw_alert_key keys[CHUNK];
    uint64_t seqs[CHUNK];
    const bw_plan *p = bw_engine_plan(a->engine);
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        for (size_t i = 0; i < m; i++)
            keys[i] = (bw_alert_key){ bw_plan_project(p, c->r[at + i].project)->code,
                                      bw_kind_name(c->r[at + i].kind) };
        if (bw_store_alerts_last_seq(a->store, keys, m, seqs, err))
            return -1;
        for (size_t i = 0; i < m; i++)
            c->r[at + i].seq = seqs[i];
    }
    return 0;
}

/* The active alerts, and for each the seq of its last message: a client
 * that read this snapshot, then follows the stream, tells by seq which
 * streamed messages the snapshot already holds (PROTOCOL.md §1.4). */
int bw_views_alerts(bw_app *a, bw_view_alerts *v, bw_err *err)
{
    size_t n = count_active(a), np = bw_plan_nprojects(bw_engine_plan(a->engine));
    memset(v, 0, sizeof *v);
    v->seq = bw_batch_published_seq(a->batch);
    active_ctx *c = malloc(sizeof *c + (n ? n : 1) * sizeof c->r[0]);
    if (c == NULL)
        return bw_err_set(err, "out of memory listing the %zu active alerts of %zu projects", n, np);
    c->a = a;
    size_t k = 0;
    for (size_t i = 0; i < np && k < n; i++)
        for (int kind = 0; kind < BW_PROJECT_KINDS; kind++)
            if (active(a, i, kind))
                c->r[k++] = (active_ref){ 0, (uint32_t)i, (uint8_t)kind };
    v->make = make_active;
    v->ctx = c;
    v->n = k;
    if (active_seqs(a, c, k, err)) {
        bw_view_alerts_free(v);
        return -1;
    }
    return 0;
}

typedef struct history_ctx {
    bw_view_alerts *v;
    bool oom;
} history_ctx;

static int history_row(void *ctx, const bw_alert_msg *m)
{
    history_ctx *h = ctx;
    h->oom = bw_view_alerts_add(h->v, m) != 0;
    return h->oom;
}

/* The store is asked for one more than wanted: if it comes, older alerts
 * match too (with after_seq: newer ones), the view says `truncated`, and that
 * extra one is dropped. So `truncated` means exactly "the log holds older matching
 * alerts than these", whichever of the limit or the cap left them out. */
int bw_views_history(bw_app *a, const bw_history_filter *f, bw_view_alerts *v, bw_err *err)
{
    uint32_t want = f->limit && f->limit < HISTORY_MAX ? f->limit : HISTORY_MAX;
    bw_history_filter g = *f;
    g.limit = want + 1;
    memset(v, 0, sizeof *v);
    history_ctx h = { v, false };
    if (bw_store_history_each(a->store, &g, history_row, &h, err) || h.oom) {
        bw_view_alerts_free(v);
        return h.oom ? bw_err_set(err, "out of memory reading the alert log") : -1;
    }
    v->truncated = v->n > want;
    if (v->truncated) {
        /* after_seq reads forward: the extra one is the newest */
        if (f->has_after_seq)
            bw_view_alerts_drop_last(v);
        else
            bw_view_alerts_drop_first(v);
    }
    return 0;
}

/* ---- verify ---- */

static int verify_diff(void *ctx, const char *code, int64_t sf, int64_t so, int64_t lf, int64_t lo)
{
    bw_view_verify *v = ctx;
    bw_view_difference *d = realloc(v->diff, (v->ndiff + 1) * sizeof *d);
    char *dup = strdup(code);
    if (d == NULL || dup == NULL) {
        free(dup);
        if (d)
            v->diff = d;
        return -1;
    }
    v->diff = d;
    v->diff[v->ndiff++] = (bw_view_difference){ dup, sf, so, lf, lo };
    return 0;
}

static int damage_item(void *ctx, const char *problem)
{
    bw_view_verify *v = ctx;
    char **d = realloc(v->damage, (v->ndamage + 1) * sizeof *d);
    char *dup = strdup(problem);
    if (d == NULL || dup == NULL) {
        free(dup);
        if (d)
            v->damage = d;
        return -1;
    }
    v->damage = d;
    v->damage[v->ndamage++] = dup;
    return 0;
}

/* Damage is looked for first: totals read from a damaged file prove nothing. */
int bw_views_verify(bw_app *a, bw_view_verify *v, bw_err *err)
{
    memset(v, 0, sizeof *v);
    int64_t problems = bw_store_integrity(a->store, true, damage_item, v, err);
    if (problems < 0)
        return -1;
    v->damaged = problems > 0;
    if (v->damaged) {
        bw_log(BW_LOG_ERR, "verify: the ledger %s is damaged: integrity_check found %lld "
               "problem(s)", bw_store_path(a->store), (long long)problems);
        return 0;
    }
    v->checked = bw_store_verify(a->store, verify_diff, v, err);
    v->daily_differences = v->checked < 0 ? 0 : bw_store_daily_verify(a->store, err);
    if (v->checked < 0 || v->daily_differences < 0) {
        bw_view_verify_free(v);
        return -1;
    }
    if (v->ndiff)
        bw_log(BW_LOG_ERR, "verify: %zu project(s) whose totals differ from the ledger", v->ndiff);
    if (v->daily_differences)
        bw_log(BW_LOG_ERR, "verify: %lld daily sum(s) differ from the events; stop budgetwatchd "
               "and run budgetwatchd --rebuild-totals", (long long)v->daily_differences);
    return 0;
}
