/* views: the shared views (proto/view.h) built from the application — the
 * one place where status rows, stats, active alerts, history and verify
 * results are put together, for the control socket now and for every later
 * surface. Read-only but for verify, which reads the ledger outside any
 * transaction. Each returns 0, or -1 with err saying what to fix. */
#ifndef BW_VIEWS_H
#define BW_VIEWS_H

#include "app.h"
#include "view.h"

/* Which status rows: one project, one unit's, or all (NULL/"" for none);
 * sort "", "lag", "shortfall" or "code", or any row column by name (then
 * ascending, or descending with desc); limit 0 = all. The filters (NULL/""
 * for none): text, a substring of the project's code or name; band, a band
 * name or "none"; alert, "firing" or "none". offset rows are skipped after
 * filtering and sorting; the view's `matched` counts the rows before that. */
typedef struct bw_status_query {
    const char *unit, *project, *sort;
    uint32_t limit;
    uint64_t offset;
    const char *text, *band, *alert;
    bool desc;
} bw_status_query;

int bw_views_status(const bw_app *a, const bw_status_query *q, bw_view_status *v, bw_err *err);
/* The same rows as they stood at `at` (at most the daemon's clock): paid
 * from the events with ts <= at (the daily sums), the budget as adjusted
 * by then (the adjustments with at <= at, else the plan's), the plan and
 * 序时进度 at `at`, the severity from those figures (engine.h,
 * bw_engine_project_status_at). Subtotals are the department's at `at`. */
int bw_views_status_at(const bw_app *a, const bw_status_query *q, int64_t at, bw_view_status *v,
                       bw_err *err);
/* The `series` of one project, one unit or (both NULL/"") the department:
 * cumulative net paid at the end of each local day with payments, and the
 * planned money at the year's start, at every milestone deadline of the
 * projects covered and at the year's end. */
int bw_views_series(const bw_app *a, const char *unit, const char *project, bw_view_series *v,
                    bw_err *err);
void bw_views_project_row(const bw_app *a, uint32_t project, bw_view_row *r);
void bw_views_stats(const bw_app *a, bw_view_stats *v);
/* The active alerts, each with the seq of its last message in the log. */
int bw_views_alerts(bw_app *a, bw_view_alerts *v, bw_err *err);
/* The newest matching alerts of the log (f->limit 0: up to a cap), oldest first. */
int bw_views_history(bw_app *a, const bw_history_filter *f, bw_view_alerts *v, bw_err *err);
/* A project's accepted events, newest first: at most limit (1..1000; 0 =
 * 50) with rowid < before (0 = from the newest), the project's count and
 * the cursor of the next page. */
int bw_views_payments(bw_app *a, const char *project, uint32_t limit, uint64_t before,
                      bw_view_payments *v, bw_err *err);
/* A project's budget adjustments, oldest first. */
int bw_views_adjustments(bw_app *a, const char *project, bw_view_adjustments *v, bw_err *err);
/* SQLite's integrity_check, then (if intact) the saved totals against the events. */
int bw_views_verify(bw_app *a, bw_view_verify *v, bw_err *err);

/* The message of one engine alert, with the plan's names (no seq yet). */
void bw_views_alert_msg(const bw_app *a, const bw_alert *al, bw_alert_msg *m);

#endif
