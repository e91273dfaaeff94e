/* report: `budgetwatch report` — the 执行进度表 of a month, a quarter or any
 * date, as the daemon's ledger had it at the end of that day (report.h).
 * This file asks the daemon, computes the columns and the 通报 from integer
 * figures, and writes CSV or JSON; report_xlsx.c writes the workbook. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "report.h"
#include "money.h"

__extension__ typedef __int128 i128;

/* ---- words ---- */

static const char *severity_word(uint8_t severity)
{
    switch (severity) {
    case BW_SEV_WARNING: return "黄色预警";
    case BW_SEV_CRITICAL: return "红色预警";
    default: return "正常";
    }
}

const char *bwr_level_word(const bwr_report *r, const char *band, uint8_t severity)
{
    /* The daemon's default pair keeps the severity words: a row's worst
     * alert of any kind, as the table said before bands existed. */
    if (!r->named_bands || band[0] == '\0')
        return severity_word(severity);
    return band;
}

const char *bwr_basis_word(uint8_t basis)
{
    return basis == BW_BASIS_PACE ? "序时进度" : "计划进度";
}

bool bwr_shows_basis(const bwr_report *r)
{
    return r->lag_basis != BW_BASIS_PLAN;
}

static void add_level(bwr_report *r, const char *word, int level)
{
    for (size_t i = 0; i < r->nlevels; i++)
        if (!strcmp(r->levels[i].word, word))
            return;
    bwr_level *l = &r->levels[r->nlevels++];
    snprintf(l->word, sizeof l->word, "%s", word);
    l->level = level;
}

/* ping's `lag_basis` and `bands`; a daemon without them has today's pair. */
static int read_bands(bwr_report *r, const msgpack_object *m)
{
    char basis[8];
    const msgpack_object *a = bw_map_get(m, "bands");
    r->lag_basis = BW_BASIS_PLAN;
    if (bw_map_get_str(m, "lag_basis", basis, sizeof basis)) {
        int b = bw_basis_parse(basis);
        if (b < 0)
            return -1;
        r->lag_basis = (uint8_t)b;
    }
    r->nbands = 0;
    if (a == NULL) {
        r->bands[r->nbands++] = (bwr_band){ "warning", 1000 };
        r->bands[r->nbands++] = (bwr_band){ "critical", 2000 };
    } else {
        if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size == 0 ||
            a->via.array.size > BWR_BANDS_MAX)
            return -1;
        for (uint32_t i = 0; i < a->via.array.size; i++) {
            bwr_band *b = &r->bands[r->nbands++];
            int64_t bp = 0;
            if (!bw_map_get_str(&a->via.array.ptr[i], "name", b->name, sizeof b->name) ||
                !bw_map_get_int(&a->via.array.ptr[i], "bp", &bp))
                return -1;
            b->bp = (int32_t)bp;
        }
    }
    r->named_bands = !(r->nbands == 2 && !strcmp(r->bands[0].name, "warning") &&
                       !strcmp(r->bands[1].name, "critical"));
    /* The words and their colours: each band its own, mildest first; the
     * severity words of the other kinds take the first band's and the
     * worst's colours. */
    r->nlevels = 0;
    if (r->named_bands)
        for (size_t i = 0; i < r->nbands; i++)
            add_level(r, r->bands[i].name, (int)i + 1);
    add_level(r, severity_word(BW_SEV_WARNING), 1);
    add_level(r, severity_word(BW_SEV_CRITICAL), (int)r->nbands);
    return 0;
}

const char *bwr_kind_word(int kind)
{
    switch (kind) {
    case BW_KIND_LAG: return "执行进度滞后";
    case BW_KIND_MILESTONE: return "节点目标未完成";
    case BW_KIND_OVERSPEND: return "超预算支出";
    case BW_KIND_YEAR_END: return "年终未完成目标";
    case BW_KIND_SOURCE_GAP: return "支付数据缺失";
    case BW_KIND_LEDGER_DAMAGED: return "账本损坏";
    default: return bw_kind_name(kind);
    }
}

const char *bwr_state_word(int state)
{
    switch (state) {
    case BW_STATE_FIRING: return "预警中";
    case BW_STATE_ACKNOWLEDGED: return "已确认";
    case BW_STATE_RESOLVED: return "已解除";
    default: return "?";
    }
}

void bwr_report_free(bwr_report *r)
{
    free(r->rows);
    free(r->bulletin);
    memset(r, 0, sizeof *r);
}

/* ---- the period ---- */

/* The local midnight starting y-m-d (mktime normalizes a day or month past
 * the end); -1 when the calendar cannot say. */
static int64_t local_midnight(int y, int m, int d)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

static int days_in(int y, int m)
{
    static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

/* --as-of YYYY-MM-DD, --month YYYY-MM, --quarter YYYY-Qn: the last day and
 * the first of the period (as-of: the year to that day). */
static int period_of(bwr_report *r, const char *as_of, const char *month, const char *quarter)
{
    int y, m, d, q;
    char tail;
    int first_month = 1;
    if (as_of) {
        if (sscanf(as_of, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
            d > days_in(y, m)) {
            fprintf(stderr, "budgetwatch report: --as-of \"%s\" is not a date YYYY-MM-DD\n", as_of);
            return -1;
        }
        snprintf(r->period, sizeof r->period, "截至%d年%d月%d日", y, m, d);
    } else if (month) {
        if (sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 || m < 1 || m > 12) {
            fprintf(stderr, "budgetwatch report: --month \"%s\" is not YYYY-MM\n", month);
            return -1;
        }
        d = days_in(y, m);
        first_month = m;
        snprintf(r->period, sizeof r->period, "%d年%d月", y, m);
    } else {
        if (sscanf(quarter, "%4d-Q%1d%c", &y, &q, &tail) != 2 || q < 1 || q > 4) {
            fprintf(stderr, "budgetwatch report: --quarter \"%s\" is not YYYY-Qn (n = 1..4)\n",
                    quarter);
            return -1;
        }
        m = 3 * q;
        d = days_in(y, m);
        first_month = m - 2;
        snprintf(r->period, sizeof r->period, "%d年第%d季度", y, q);
    }
    r->year = y;
    r->month = m;
    r->day = d;
    r->since = local_midnight(y, first_month, 1);
    r->at = local_midnight(y, m, d + 1);    /* the end of the last day */
    if (r->since < 0 || r->at < 0) {
        fprintf(stderr, "budgetwatch report: the local calendar (TZ) cannot place %d-%02d-%02d\n",
                y, m, d);
        return -1;
    }
    return 0;
}

/* ---- the rows ---- */

static int64_t pace_share(int64_t budget, int32_t pace_bp)
{
    i128 v = (i128)budget * pace_bp;
    i128 q = v / 10000;
    return (int64_t)(v % 10000 != 0 && v < 0 ? q - 1 : q);
}

static int read_rows(const msgpack_object *m, const char *key, bw_status_row **out, size_t *n)
{
    const msgpack_object *a = bw_map_get(m, key);
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    *out = calloc(a->via.array.size ? a->via.array.size : 1, sizeof **out);
    if (*out == NULL)
        return -1;
    *n = a->via.array.size;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        char why[BW_WHY_MAX];
        if (bw_status_row_from_object(&a->via.array.ptr[i], &(*out)[i], why, sizeof why))
            return -1;
    }
    return 0;
}

/* A project row's place: its unit's position in the units list, then its
 * own in the daemon's order. */
typedef struct place {
    size_t unit, i;
} place;

static int cmp_place(const void *x, const void *y)
{
    const place *a = x, *b = y;
    if (a->unit != b->unit)
        return a->unit < b->unit ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

typedef struct unit_ix {
    const char *code;
    size_t k;
} unit_ix;

static int cmp_unit_ix(const void *x, const void *y)
{
    return strcmp(((const unit_ix *)x)->code, ((const unit_ix *)y)->code);
}

/* Each unit's projects (in the daemon's plan order), then its 小计; then
 * 部门整体 unless the report is of one unit. Grouped by sorting, not by a
 * pass over the projects per unit (100,000 projects in 500 units). */
static int build_rows(bwr_report *r, const msgpack_object *m, bool one_unit)
{
    bw_status_row *p = NULL, *u = NULL, tot;
    size_t np = 0, nu = 0;
    char why[BW_WHY_MAX];
    int64_t pace = 0;
    int rc = -1;
    place *pl = NULL;
    unit_ix *ux = NULL;
    if (read_rows(m, "projects", &p, &np) || read_rows(m, "units", &u, &nu) ||
        bw_status_row_from_object(bw_map_get(m, "total"), &tot, why, sizeof why) ||
        !bw_map_get_int(m, "pace_bp", &pace))
        goto out;
    r->pace_bp = (int32_t)pace;
    r->rows = calloc(np + nu + 1, sizeof *r->rows);
    pl = malloc((np ? np : 1) * sizeof *pl);
    ux = malloc((nu ? nu : 1) * sizeof *ux);
    if (r->rows == NULL || pl == NULL || ux == NULL)
        goto out;
    for (size_t k = 0; k < nu; k++)
        ux[k] = (unit_ix){ u[k].unit, k };
    qsort(ux, nu, sizeof *ux, cmp_unit_ix);
    size_t n = 0;
    for (size_t i = 0; i < np; i++) {
        unit_ix key = { p[i].unit, 0 };
        const unit_ix *hit = bsearch(&key, ux, nu, sizeof *ux, cmp_unit_ix);
        if (hit)                        /* every project's unit is in the list */
            pl[n++] = (place){ hit->k, i };
    }
    qsort(pl, n, sizeof *pl, cmp_place);
    int64_t all = 0;
    size_t at = 0;
    for (size_t k = 0; k < nu; k++) {
        int64_t sum = 0;
        for (; at < n && pl[at].unit == k; at++) {
            const bw_status_row *pr = &p[pl[at].i];
            bwr_row *row = &r->rows[r->nrows++];
            row->kind = BWR_PROJECT;
            row->r = *pr;
            row->pace_diff_bp = pr->rate_bp - r->pace_bp;
            row->pace_amount = pr->paid - pace_share(pr->budget, r->pace_bp);
            sum += row->pace_amount;    /* each |.| <= its budget or paid: the sums fit */
            r->nprojects++;
        }
        bwr_row *row = &r->rows[r->nrows++];
        row->kind = BWR_UNIT;
        row->r = u[k];
        row->pace_diff_bp = u[k].rate_bp - r->pace_bp;
        row->pace_amount = sum;
        all += sum;
    }
    if (!one_unit) {
        bwr_row *row = &r->rows[r->nrows++];
        row->kind = BWR_TOTAL;
        row->r = tot;
        row->pace_diff_bp = tot.rate_bp - r->pace_bp;
        row->pace_amount = all;
    }
    rc = 0;
out:
    free(pl);
    free(ux);
    free(p);
    free(u);
    return rc;
}

/* ---- the alerts of the period ---- */

int bwr_alert_at(const bwr_report *r, size_t i, bw_alert_msg *out, char handling[32])
{
    char why[BW_WHY_MAX];
    const msgpack_object *o = &r->alerts->via.array.ptr[i];
    if (bw_alert_from_object(o, out, why, sizeof why))
        return -1;
    /* A daemon with handling steps (issue 16) says so per message. */
    if (!bw_map_get_str(o, "handling", handling, 32))
        handling[0] = '\0';
    return 0;
}

/* Checks every message once, so that a bad one stops the report before
 * anything is written. */
static int read_alerts(bwr_report *r, const msgpack_object *m)
{
    const msgpack_object *a = bw_map_get(m, "alerts");
    bool trunc = false;
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    bw_map_get_bool(m, "truncated", &trunc);
    r->alerts_truncated = trunc;
    r->alerts = a;
    r->nalerts = a->via.array.size;
    for (size_t i = 0; i < r->nalerts; i++) {
        bw_alert_msg msg;
        char handling[32];
        if (bwr_alert_at(r, i, &msg, handling))
            return -1;
    }
    return 0;
}

/* ---- the months, from the series ---- */

typedef struct pt {
    int64_t t, fen;
} pt;

static int read_points(const msgpack_object *m, const char *key, pt **out, size_t *n)
{
    const msgpack_object *a = bw_map_get(m, key);
    if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    *out = calloc(a->via.array.size ? a->via.array.size : 1, sizeof **out);
    if (*out == NULL)
        return -1;
    *n = a->via.array.size;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
            return -1;
        for (int k = 0; k < 2; k++) {
            const msgpack_object *v = &e->via.array.ptr[k];
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return -1;
            int64_t x = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)v->via.u64 : v->via.i64;
            if (k == 0)
                (*out)[i].t = x;
            else
                (*out)[i].fen = x;
        }
    }
    return 0;
}

/* The plan line at t: straight between its points. */
static int64_t plan_at(const pt *p, size_t n, int64_t t)
{
    if (n == 0 || t <= p[0].t)
        return n ? p[0].fen : 0;
    for (size_t i = 1; i < n; i++)
        if (t < p[i].t)
            return p[i - 1].fen +
                   (int64_t)((i128)(p[i].fen - p[i - 1].fen) * (t - p[i - 1].t) / (p[i].t - p[i - 1].t));
    return p[n - 1].fen;
}

static int64_t paid_at(const pt *p, size_t n, int64_t t)
{
    int64_t v = 0;
    for (size_t i = 0; i < n && p[i].t <= t; i++)
        v = p[i].fen;
    return v;
}

/* 序时进度 at t: local days elapsed of the year over its days, as the daemon does. */
static int32_t pace_at(int year, int64_t t, int64_t year_end)
{
    int ndays = days_in(year, 2) == 29 ? 366 : 365;
    if (t >= year_end)
        return 10000;
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 != year)
        return tm.tm_year + 1900 < year ? 0 : 10000;
    return (int32_t)((int64_t)tm.tm_yday * 10000 / ndays);
}

static int build_months(bwr_report *r, const msgpack_object *m)
{
    pt *paid = NULL, *plan = NULL;
    size_t np = 0, nl = 0;
    int64_t budget = 0, year_end = 0;
    int rc = -1;
    if (read_points(m, "points", &paid, &np) || read_points(m, "plan", &plan, &nl) ||
        !bw_map_get_int(m, "budget", &budget) || !bw_map_get_int(m, "year_end", &year_end))
        goto out;
    for (int mo = 1; mo <= r->month && mo <= 12; mo++) {
        int64_t end = local_midnight(r->year, mo + 1, 1);
        if (end < 0)
            goto out;
        if (end > r->at)
            end = r->at;
        r->months[r->nmonths++] = (bwr_month){ mo, end, paid_at(paid, np, end), plan_at(plan, nl, end),
                                               budget, pace_at(r->year, end, year_end) };
    }
    rc = 0;
out:
    free(paid);
    free(plan);
    return rc;
}

/* ---- 通报 ---- */

/* bp as percent with one decimal, rounded half away from zero: 5730 -> "57.3". */
static char *pct1(int64_t bp, char *buf, size_t len)
{
    uint64_t m = bp < 0 ? (uint64_t)(-bp) : (uint64_t)bp;
    m = (m + 5) / 10;
    snprintf(buf, len, "%s%" PRIu64 ".%" PRIu64, bp < 0 && m ? "-" : "", m / 10, m % 10);
    return buf;
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->oom || k < 0)
        return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = (b->n + (size_t)k + 1) * 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

/* The shortfall of a project on its own basis: against the plan, or
 * 序时进度's share of the budget. */
static int64_t basis_shortfall(const bwr_row *w)
{
    return w->r.basis == BW_BASIS_PACE ? w->r.pace_shortfall : w->r.shortfall;
}

static int cmp_shortfall(const void *x, const void *y)
{
    const bwr_row *a = *(const bwr_row *const *)x, *b = *(const bwr_row *const *)y;
    int64_t sa = basis_shortfall(a), sb = basis_shortfall(b);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return strcmp(a->r.project, b->r.project);
}

/* The distance from 序时进度 as a bulletin writes it: "低于序时进度2.3个百分点，
 * 短序时金额12.34万元", "超序时进度…，超序时金额…", or "与序时进度持平". */
static void pace_distance(sbuf *s, int64_t diff_bp, int64_t amount)
{
    char a[32], w[40];
    if (diff_bp == 0) {
        sb_add(s, "与序时进度持平");
        return;
    }
    sb_add(s, "%s序时进度%s个百分点", diff_bp < 0 ? "低于" : "超", pct1(diff_bp < 0 ? -diff_bp : diff_bp, a,
                                                                  sizeof a));
    if (amount != 0)
        sb_add(s, "，%s序时金额%s万元", amount < 0 ? "短" : "超",
               bw_money_format_wan2(amount < 0 ? -amount : amount, w, sizeof w));
}

/* "截至2022年6月30日，部门整体支出进度为57.3%（序时进度49.6%），超序时进度7.7个百分点，……" */
static int build_bulletin(bwr_report *r)
{
    const bwr_row *t = &r->rows[r->nrows - 1];
    const char *who = t->kind == BWR_TOTAL ? "部门整体" : t->r.unit_name;
    char a[32], b[32];
    sbuf s = { 0 };
    sb_add(&s, "截至%d年%d月%d日，%s支出进度为%s%%（序时进度%s%%），", r->year, r->month, r->day, who,
           pct1(t->r.rate_bp, a, sizeof a), pct1(r->pace_bp, b, sizeof b));
    pace_distance(&s, (int64_t)t->r.rate_bp - r->pace_bp, t->pace_amount);
    int64_t lp = (int64_t)t->r.rate_bp - t->r.planned_bp;
    sb_add(&s, "；%s计划进度（%s%%）", lp < 0 ? "低于" : lp > 0 ? "高于" : "达到",
           pct1(t->r.planned_bp, a, sizeof a));
    if (lp != 0)
        sb_add(&s, "%s个百分点", pct1(lp < 0 ? -lp : lp, b, sizeof b));
    size_t counts[BWR_BANDS_MAX + 2] = { 0 }, warned = 0, behind = 0;
    const bwr_row **lag = malloc((r->nprojects ? r->nprojects : 1) * sizeof *lag);
    if (lag == NULL) {
        free(s.s);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const bwr_row *row = &r->rows[i];
        if (row->kind != BWR_PROJECT)
            continue;
        const char *word = bwr_level_word(r, row->r.band, row->r.severity);
        for (size_t l = 0; l < r->nlevels; l++)
            counts[l] += !strcmp(r->levels[l].word, word);
        warned += row->r.severity != 0;
        behind += row->pace_diff_bp < 0;
        if (basis_shortfall(row) > 0)
            lag[k++] = row;
    }
    sb_add(&s, "。%zu个项目中，%zu个低于序时进度；预警项目%zu个", r->nprojects, behind, warned);
    if (warned > 0) {
        /* Every band, the mildest first, even at zero (a bureau compares
         * the counts month to month); the other kinds' words when present. */
        sb_add(&s, "，其中");
        for (size_t l = 0, n = 0; l < r->nlevels; l++) {
            if (l >= r->nbands && counts[l] == 0)
                continue;
            sb_add(&s, "%s%s%zu个", n++ ? "、" : "", r->levels[l].word, counts[l]);
        }
    }
    if (r->lag_basis == BW_BASIS_PACE)
        sb_add(&s, "（按序时进度判定）");
    else if (r->lag_basis == BW_BASIS_BOTH)
        sb_add(&s, "（按计划进度和序时进度从严判定）");
    qsort(lag, k, sizeof *lag, cmp_shortfall);
    if (k > 0) {
        sb_add(&s, "。差额最大的%s项目：", k >= 5 ? "五个" : "");
        for (size_t i = 0; i < k && i < 5; i++) {
            const bwr_row *w = lag[i];
            char m[40];
            sb_add(&s, "%s%s（%s，支出进度%s%%，", i ? "；" : "", w->r.project_name, w->r.unit_name,
                   pct1(w->r.rate_bp, a, sizeof a));
            if (w->r.basis == BW_BASIS_PACE)
                pace_distance(&s, w->pace_diff_bp, w->pace_amount);
            else
                sb_add(&s, "短于计划%s万元", bw_money_format_wan2(w->r.shortfall, m, sizeof m));
            sb_add(&s, "）");
        }
    }
    sb_add(&s, "。");
    free(lag);
    if (s.oom) {
        free(s.s);
        return -1;
    }
    r->bulletin = s.s;
    return 0;
}

/* ---- CSV and JSON ---- */

static void csv_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void write_csv(const bwr_report *r)
{
    printf("单位,项目编码,项目名称,预算数(万元),调整后预算数(万元),支出数(万元),支出进度(%%),序时进度(%%),"
         "超(短)序时进度(百分点),超(短)序时金额(万元),计划进度(%%),预警级别%s\n",
         bwr_shows_basis(r) ? ",预警依据" : "");
    for (size_t i = 0; i < r->nrows; i++) {
        const bwr_row *w = &r->rows[i];
        char a[40], b[40], c[40], d[40], e[16], f[16], g[16], h[16];
        csv_str(w->kind == BWR_TOTAL ? "部门整体" : w->r.unit_name);
        putchar(',');
        csv_str(w->r.project);
        putchar(',');
        csv_str(w->kind == BWR_PROJECT ? w->r.project_name : "小计");
        printf(",%s,%s,%s,%s,%s,%s,%s,%s,", bw_money_format_wan6(w->r.plan_budget, a, sizeof a),
               bw_money_format_wan6(w->r.budget, b, sizeof b), bw_money_format_wan6(w->r.paid, c, sizeof c),
               fmt_bp(w->r.rate_bp, e, sizeof e), fmt_bp(r->pace_bp, f, sizeof f),
               fmt_bp(w->pace_diff_bp, g, sizeof g), bw_money_format_wan6(w->pace_amount, d, sizeof d),
               fmt_bp(w->r.planned_bp, h, sizeof h));
        csv_str(bwr_level_word(r, w->r.band, w->r.severity));
        if (bwr_shows_basis(r)) {
            putchar(',');
            csv_str(w->kind == BWR_PROJECT ? bwr_basis_word(w->r.basis) : "");
        }
        putchar('\n');
    }
}

static void write_json(const bwr_report *r)
{
    static const char *const kinds[] = { "project", "unit", "total" };
    printf("{\"period\":");
    print_json_str(stdout, r->period);
    printf(",\"date\":\"%04d-%02d-%02d\",\"at\":%" PRId64 ",\"since\":%" PRId64
           ",\"clamped\":%s,\"pace_bp\":%d,\"rows\":[", r->year, r->month, r->day, r->at, r->since,
           r->clamped ? "true" : "false", r->pace_bp);
    for (size_t i = 0; i < r->nrows; i++) {
        const bwr_row *w = &r->rows[i];
        printf("%s{\"row\":\"%s\",\"unit\":", i ? "," : "", kinds[w->kind]);
        print_json_str(stdout, w->r.unit);
        printf(",\"unit_name\":");
        print_json_str(stdout, w->r.unit_name);
        printf(",\"project\":");
        print_json_str(stdout, w->r.project);
        printf(",\"project_name\":");
        print_json_str(stdout, w->r.project_name);
        printf(",\"plan_budget\":%" PRId64 ",\"budget\":%" PRId64 ",\"paid\":%" PRId64
               ",\"rate_bp\":%d,\"pace_bp\":%d,\"pace_diff_bp\":%d,\"pace_amount\":%" PRId64
               ",\"planned_bp\":%d,\"shortfall\":%" PRId64 ",\"pace_shortfall\":%" PRId64
               ",\"basis\":\"%s\",\"severity\":\"%s\",\"band\":",
               w->r.plan_budget, w->r.budget, w->r.paid, w->r.rate_bp, r->pace_bp, w->pace_diff_bp,
               w->pace_amount, w->r.planned_bp, w->r.shortfall, w->r.pace_shortfall,
               bw_basis_name(w->r.basis), bw_severity_name(w->r.severity));
        print_json_str(stdout, w->r.band);
        printf(",\"level\":");
        print_json_str(stdout, bwr_level_word(r, w->r.band, w->r.severity));
        putchar('}');
    }
    printf("],\"lag_basis\":\"%s\",\"bands\":[", bw_basis_name(r->lag_basis));
    for (size_t i = 0; i < r->nbands; i++) {
        printf("%s{\"name\":", i ? "," : "");
        print_json_str(stdout, r->bands[i].name);
        printf(",\"bp\":%d}", r->bands[i].bp);
    }
    printf("],\"months\":[");
    for (size_t i = 0; i < r->nmonths; i++)
        printf("%s{\"month\":%d,\"end\":%" PRId64 ",\"paid\":%" PRId64 ",\"planned\":%" PRId64
               ",\"budget\":%" PRId64 ",\"pace_bp\":%d}", i ? "," : "", r->months[i].month,
               r->months[i].end, r->months[i].paid, r->months[i].planned, r->months[i].budget,
               r->months[i].pace_bp);
    printf("],\"alerts\":%zu,\"bulletin\":", r->nalerts);
    print_json_str(stdout, r->bulletin);
    puts("}");
}

/* ---- the command ---- */

static int bad_reply(const cli *c, const char *op)
{
    fprintf(stderr, "budgetwatch report: the %s reply from %s cannot be read: is the daemon older "
            "than this command (it needs status 'at' and series)?\n", op, c->control);
    return EXIT_FAILED;
}

static int gather(cli *c, bwr_report *r, const char *unit)
{
    const msgpack_object *m;
    bw_ctl_req q = { .op = BW_OP_PING };
    int rc = cli_request(c, &q, &m);
    int64_t now = 0;
    if (rc)
        return rc;
    if (!bw_map_get_int(m, "now", &now) || read_bands(r, m))
        return bad_reply(c, "ping");
    if (r->at > now) {
        r->at = now;                    /* the period is not over: as far as the ledger goes */
        r->clamped = true;
    }
    q = (bw_ctl_req){ .op = BW_OP_STATUS, .has_at = true, .at = r->at };
    snprintf(q.unit, sizeof q.unit, "%s", unit ? unit : "");
    if ((rc = cli_request(c, &q, &m)))
        return rc;
    if (build_rows(r, m, unit != NULL))
        return bad_reply(c, "status");
    q = (bw_ctl_req){ .op = BW_OP_SERIES };
    snprintf(q.unit, sizeof q.unit, "%s", unit ? unit : "");
    if ((rc = cli_request(c, &q, &m)))
        return rc;
    if (build_months(r, m))
        return bad_reply(c, "series");
    if (build_bulletin(r)) {
        fprintf(stderr, "budgetwatch report: out of memory writing the 通报\n");
        return EXIT_FAILED;
    }
    /* Last: the alerts stay in this reply until the report is written. */
    q = (bw_ctl_req){ .op = BW_OP_HISTORY, .has_since = true, .since = r->since,
                      .has_until = true, .until = r->at + 1 };
    snprintf(q.unit, sizeof q.unit, "%s", unit ? unit : "");
    if ((rc = cli_request(c, &q, &m)))
        return rc;
    if (read_alerts(r, m))
        return bad_reply(c, "history");
    return EXIT_OK;
}

int cmd_report(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "as-of", required_argument, NULL, 'a' }, { "month", required_argument, NULL, 'm' },
        { "quarter", required_argument, NULL, 'q' }, { "unit", required_argument, NULL, 'u' },
        { "xlsx", required_argument, NULL, 'x' },  { "csv", no_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },        { "bureau", required_argument, NULL, 'b' },
        { "constant-memory", no_argument, NULL, 'M' }, { NULL, 0, NULL, 0 },
    };
    const char *as_of = NULL, *month = NULL, *quarter = NULL, *unit = NULL, *xlsx = NULL;
    const char *bureau = "本部门";
    int ch, csv = 0, json = 0, periods = 0;
    bool constant = false;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': as_of = optarg; periods++; break;
        case 'm': month = optarg; periods++; break;
        case 'q': quarter = optarg; periods++; break;
        case 'u': unit = optarg; break;
        case 'x': xlsx = optarg; break;
        case 'c': csv = 1; break;
        case 'j': json = 1; break;
        case 'b': bureau = optarg; break;
        case 'M': constant = true; break;
        default: return EXIT_USAGE;
        }
    }
    if (periods > 1 || (xlsx != NULL) + csv + json != 1 || optind <= argc) {
        fprintf(stderr, "budgetwatch report: give at most one of --as-of DATE, --month YYYY-MM, "
                "--quarter YYYY-Qn, and exactly one of --xlsx FILE, --csv, --json\n");
        return EXIT_USAGE;
    }
    bwr_report r;
    memset(&r, 0, sizeof r);
    snprintf(r.bureau, sizeof r.bureau, "%s", bureau);
    char today[16];
    if (periods == 0) {                 /* default: as of today, by the daemon's clock */
        const msgpack_object *m;
        bw_ctl_req q = { .op = BW_OP_PING };
        int64_t now = 0;
        int rc = cli_request(c, &q, &m);
        if (rc)
            return rc;
        if (!bw_map_get_int(m, "now", &now))
            return bad_reply(c, "ping");
        time_t tt = (time_t)now;
        struct tm tm;
        if (localtime_r(&tt, &tm) == NULL || strftime(today, sizeof today, "%Y-%m-%d", &tm) == 0)
            return bad_reply(c, "ping");
        as_of = today;
    }
    if (period_of(&r, as_of, month, quarter))
        return EXIT_USAGE;
    int rc = gather(c, &r, unit);
    if (rc) {
        bwr_report_free(&r);
        return rc;
    }
    if (r.clamped)
        fprintf(stderr, "budgetwatch report: %s is not over yet; the figures are as of the daemon's "
                "clock\n", r.period);
    if (r.alerts_truncated)
        fprintf(stderr, "budgetwatch report: the period has more alert messages than one history "
                "reply holds; the alerts sheet lists the newest\n");
    if (csv)
        write_csv(&r);
    else if (json)
        write_json(&r);
    else {
        char why[512];
        /* Large plans: rows go to disk as written (libxlsxwriter's constant_memory). */
        if (r.nrows > 20000)
            constant = true;
        if (bwr_write_xlsx(&r, xlsx, constant, why, sizeof why)) {
            fprintf(stderr, "budgetwatch report: writing %s: %s\n", xlsx, why);
            bwr_report_free(&r);
            return EXIT_FAILED;
        }
        printf("%s\n", r.bulletin);
    }
    bwr_report_free(&r);
    return EXIT_OK;
}
