/* pages: the console's HTML (pages.h). Each page is a head with the
 * navigation, its tables, and the two script files; a table cell with money
 * shows 万元 and carries the exact fen in data-fen. */
#include "pages.h"
#include "money.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define L(c, zh, en) ((c)->lang == BWW_EN ? (en) : (zh))

/* ---- language ---- */

/* The q of the first range in h that starts with tag ("zh", "en"); -1 when none. */
static int q_of(const char *h, const char *tag)
{
    int best = -1;
    size_t n = strlen(tag);
    const char *p = h;
    while (*p) {
        p += strspn(p, " \t,");
        const char *end = p + strcspn(p, ",");
        if (strncasecmp(p, tag, n) == 0 && (p[n] == '-' || p[n] == ';' || p[n] == ',' ||
                                            p[n] == ' ' || p[n] == '\0' || p + n == end)) {
            int q = 1000;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            if (semi != NULL) {
                const char *qs = strstr(semi, "q=");
                if (qs != NULL && qs < end) {
                    /* q is 0..1 with up to three decimals: read it as an integer of thousandths. */
                    qs += 2;
                    int whole = *qs == '1' ? 1000 : 0, frac = 0, digits = 0;
                    if (*qs == '0' || *qs == '1')
                        qs++;
                    if (*qs == '.')
                        for (qs++; *qs >= '0' && *qs <= '9' && digits < 3; qs++, digits++)
                            frac = frac * 10 + (*qs - '0');
                    while (digits++ < 3)
                        frac *= 10;
                    q = whole ? 1000 : frac;
                }
            }
            if (q > best)
                best = q;
        }
        p = *end ? end + 1 : end;
    }
    return best;
}

bww_lang bww_lang_of(const char *h)
{
    if (h == NULL)
        return BWW_ZH;
    int en = q_of(h, "en"), zh = q_of(h, "zh");
    return en > 0 && en > zh ? BWW_EN : BWW_ZH;
}

/* A band's colour is in its name, as the bureaus name them (黄, 橙, 红一档,
 * 红二档, 蓝…); the daemon's default bands are "warning" and "critical". A
 * row without a band (no lag alert) is coloured by its worst other alert. */
const char *bww_band_class(const char *band, int severity)
{
    if (band != NULL && band[0] != '\0')
        return strstr(band, "红") || strstr(band, "critical") || strstr(band, "red") ? "band-red"
             : strstr(band, "橙") || strstr(band, "orange") ? "band-orange"
             : strstr(band, "蓝") || strstr(band, "blue") ? "band-blue"
             : "band-yellow";
    return severity >= BW_SEV_CRITICAL ? "band-red" : severity == BW_SEV_WARNING ? "band-yellow"
                                                                                 : "band-green";
}

/* The band's name; without one, the worst other alert's severity, or 无. */
static const char *band_label(const bww_ctx *c, const char *band, int severity)
{
    if (band != NULL && band[0] != '\0')
        return band;
    return severity >= BW_SEV_CRITICAL ? L(c, "严重", "critical")
         : severity == BW_SEV_WARNING ? L(c, "警告", "warning") : L(c, "无", "none");
}

/* 未处理, 已督办, 已整改, 认定正常, 认定违规 (bw_handling). */
static const char *handling_label(const bww_ctx *c, int h)
{
    static const char *const zh[BW_HANDLINGS] = { "未处理", "已督办", "已整改", "认定正常", "认定违规" };
    static const char *const en[BW_HANDLINGS] = { "unhandled", "followed up", "corrected", "judged normal",
                                                  "judged a violation" };
    return h >= 0 && h < BW_HANDLINGS ? L(c, zh[h], en[h]) : "?";
}

/* ---- pieces ---- */

static void h(bww_buf *b, const char *s)
{
    bww_buf_html(b, s);
}

static void head(bww_buf *b, const bww_ctx *c, const char *title, const char *active)
{
    bww_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
                   L(c, "zh-CN", "en"));
    if (c->se != NULL) {
        bww_buf_puts(b, "<meta name=\"csrf\" content=\"");
        h(b, c->se->csrf);
        bww_buf_puts(b, "\">");
    }
    bww_buf_puts(b, "<title>");
    h(b, title);
    /* The script shows streamed times in the same zone as the server's pages. */
    time_t now = c->now > 0 ? (time_t)c->now : time(NULL);
    struct tm tm;
    long off = localtime_r(&now, &tm) ? tm.tm_gmtoff : 0;
    bww_buf_printf(b, " · budgetwatch</title><link rel=\"stylesheet\" href=\"/static/console.css\">"
                      "</head><body data-lang=\"%s\" data-tzoff=\"%ld\"><header>"
                      "<span class=\"brand\">budgetwatch</span>",
                   L(c, "zh", "en"), off);
    if (c->se != NULL) {
        static const struct { const char *id, *href, *zh, *en; } nav[] = {
            { "overview", "/", "总览", "Overview" },
            { "projects", "/projects", "项目列表", "Projects" },
            { "alerts", "/alerts", "预警", "Alerts" },
        };
        bww_buf_puts(b, "<nav>");
        for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++)
            bww_buf_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].href,
                           strcmp(active, nav[i].id) == 0 ? " class=\"active\"" : "",
                           L(c, nav[i].zh, nav[i].en));
        bww_buf_puts(b, "</nav><form class=\"logout\" method=\"post\" action=\"/logout\">"
                        "<span class=\"user\">");
        h(b, c->se->user);
        bww_buf_printf(b, " (%s)</span><input type=\"hidden\" name=\"csrf\" value=\"",
                       bww_role_name(c->se->role));
        h(b, c->se->csrf);
        bww_buf_printf(b, "\"><button type=\"submit\">%s</button></form>", L(c, "退出", "Log out"));
    }
    bww_buf_puts(b, "</header><main>");
    if (c->now > 0) {
        char t[32];
        bww_buf_printf(b, "<p class=\"asof\">%s <time id=\"daemon-now\" data-t=\"%" PRId64 "\">%s</time>"
                          " · %s</p>",
                       L(c, "数据截至", "Figures as of"), c->now, bww_time(c->now, t, sizeof t),
                       L(c, "金额单位：万元", "money in 10,000 yuan (万元)"));
    }
    bww_buf_puts(b, "<h1>");
    h(b, title);
    bww_buf_puts(b, "</h1>");
}

static void foot(bww_buf *b)
{
    bww_buf_puts(b, "</main><script src=\"/javascript/chart.js/chart.min.js\"></script>"
                    "<script src=\"/static/console.js\"></script></body></html>\n");
}

static void money_td(bww_buf *b, int64_t fen)
{
    char w[40], y[40];
    bww_buf_printf(b, "<td class=\"num money\" data-fen=\"%" PRId64 "\" title=\"%s 元\">%s</td>", fen,
                   bw_money_format_yuan(fen, y, sizeof y), bw_money_format_wan2(fen, w, sizeof w));
}

static void pct_td(bww_buf *b, int32_t bp, const char *cls)
{
    char p[24];
    bww_buf_printf(b, "<td class=\"num %s\" data-bp=\"%" PRId32 "\">%s%%</td>", cls, bp,
                   bww_pct(bp, p, sizeof p));
}

static void unavailable(bww_buf *b, const bww_ctx *c, const char *what)
{
    bww_buf_puts(b, "<p class=\"unavailable\">");
    h(b, what);
    bww_buf_printf(b, "%s</p>", L(c, "：守护进程尚不提供此项（升级 budgetwatchd 后显示）。",
                               ": the daemon does not offer this yet (it shows once budgetwatchd is upgraded)."));
}

/* What a lag is judged against (PROTOCOL.md §1.3 `basis`). */
static const char *basis_label(const bww_ctx *c, int basis)
{
    return basis == BW_BASIS_PACE ? L(c, "序时进度", "pace") : L(c, "计划", "plan");
}

/* The figure columns of a row, from budget to band. */
static void figures_tds(bww_buf *b, const bww_ctx *c, const bww_row *r)
{
    money_td(b, r->r.budget);
    money_td(b, r->r.paid);
    pct_td(b, r->r.rate_bp, "rate");
    pct_td(b, r->r.planned_bp, "planned");
    pct_td(b, r->r.pace_bp, "pace");
    pct_td(b, r->r.lag_bp, "lag");
    pct_td(b, r->r.pace_lag_bp, "pace-lag");
    money_td(b, r->r.shortfall);
    money_td(b, r->r.pace_shortfall);
    bww_buf_printf(b, "<td class=\"basis\" data-basis=\"%s\">%s</td>", bw_basis_name(r->r.basis),
                   basis_label(c, r->r.basis));
    bww_buf_printf(b, "<td class=\"band %s\" data-band=\"", bww_band_class(r->band, r->r.severity));
    h(b, r->band);
    bww_buf_puts(b, "\">");
    h(b, band_label(c, r->band, r->r.severity));
    bww_buf_puts(b, "</td>");
}

#define FIGURES 11
static const char *const figure_heads_zh[FIGURES] = { "预算", "已支付", "执行率", "计划进度", "序时进度",
                                                      "低于计划", "低于序时", "计划缺口", "序时缺口",
                                                      "依据", "色档" };
static const char *const figure_heads_en[FIGURES] = { "Budget", "Paid", "Rate", "Plan", "Pace",
                                                      "Below plan", "Below pace", "Short of plan",
                                                      "Short of pace", "Basis", "Band" };
/* The daemon's sort column of each ("" not sortable); the band sorts by severity. */
static const char *const figure_cols[FIGURES] = { "budget", "paid", "rate_bp", "planned_bp", "pace_bp",
                                                  "lag_bp", "pace_lag_bp", "shortfall", "pace_shortfall",
                                                  "", "severity" };

/* The one row of an empty table, so that "none" is said, not left blank. */
static void empty_row(bww_buf *b, const bww_ctx *c, unsigned cols)
{
    bww_buf_printf(b, "<tr class=\"empty\"><td colspan=\"%u\">%s</td></tr>", cols, L(c, "暂无", "None"));
}

static void figure_ths(bww_buf *b, const bww_ctx *c)
{
    for (size_t i = 0; i < FIGURES; i++)
        bww_buf_printf(b, "<th>%s</th>", L(c, figure_heads_zh[i], figure_heads_en[i]));
}

static void project_link(bww_buf *b, const char *code, const char *text)
{
    bww_buf_puts(b, "<a href=\"/project?code=");
    bww_buf_url(b, code);
    bww_buf_puts(b, "\">");
    h(b, text);
    bww_buf_puts(b, "</a>");
}

static void unit_link(bww_buf *b, const char *code, const char *text)
{
    bww_buf_puts(b, "<a href=\"/projects?unit=");
    bww_buf_url(b, code);
    bww_buf_puts(b, "\">");
    h(b, text);
    bww_buf_puts(b, "</a>");
}

static void project_tr(bww_buf *b, const bww_ctx *c, const bww_row *r)
{
    bww_buf_printf(b, "<tr class=\"%s\" data-project=\"", bww_band_class(r->band, r->r.severity));
    h(b, r->r.project);
    bww_buf_puts(b, "\" data-unit=\"");
    h(b, r->r.unit);
    bww_buf_puts(b, "\"><td>");
    unit_link(b, r->r.unit, r->r.unit_name);
    bww_buf_puts(b, "</td><td class=\"code\">");
    project_link(b, r->r.project, r->r.project);
    bww_buf_puts(b, "</td><td class=\"name\">");
    project_link(b, r->r.project, r->r.project_name);
    bww_buf_puts(b, "</td>");
    figures_tds(b, c, r);
    bww_buf_puts(b, "</tr>");
}

static void projects_table(bww_buf *b, const bww_ctx *c, const bww_status *s, const char *id)
{
    bww_buf_printf(b, "<table class=\"rows\" id=\"%s\"><thead><tr><th>%s</th><th>%s</th><th>%s</th>",
                   id, L(c, "单位", "Unit"), L(c, "项目编码", "Code"), L(c, "项目名称", "Project"));
    figure_ths(b, c);
    bww_buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; i < s->nprojects; i++)
        project_tr(b, c, &s->projects[i]);
    if (s->nprojects == 0)
        empty_row(b, c, 3 + FIGURES);
    bww_buf_puts(b, "</tbody></table>");
}

/* ---- 总览 ---- */

void bww_page_overview(bww_buf *b, const bww_ctx *c, const bww_overview *o)
{
    const bww_status *s = o->status;
    head(b, c, L(c, "总览", "Overview"), "overview");
    bww_buf_printf(b, "<section><h2>%s</h2><table class=\"rows\" id=\"units\"><thead><tr>"
                      "<th>%s</th>", L(c, "部门整体与各单位", "Department and units"),
                   L(c, "单位", "Unit"));
    figure_ths(b, c);
    bww_buf_printf(b, "<th>%s</th><th>%s</th></tr></thead><tbody>", L(c, "项目数", "Projects"),
                   L(c, "预警数", "Alerts"));
    bww_buf_printf(b, "<tr class=\"total %s\" data-unit=\"\"><td>%s</td>",
                   bww_band_class(s->total.band, s->total.r.severity), L(c, "部门整体", "Department"));
    figures_tds(b, c, &s->total);
    bww_buf_printf(b, "<td class=\"num\">%" PRIu32 "</td><td class=\"num\">%" PRIu32 "</td></tr>",
                   s->total.r.projects, s->total.r.firing);
    for (size_t i = 0; i < s->nunits; i++) {
        const bww_row *u = &s->units[i];
        bww_buf_printf(b, "<tr class=\"%s\" data-unit=\"", bww_band_class(u->band, u->r.severity));
        h(b, u->r.unit);
        bww_buf_puts(b, "\"><td>");
        unit_link(b, u->r.unit, u->r.unit_name);
        bww_buf_puts(b, "</td>");
        figures_tds(b, c, u);
        bww_buf_printf(b, "<td class=\"num\">%" PRIu32 "</td><td class=\"num\">%" PRIu32 "</td></tr>",
                       u->r.projects, u->r.firing);
    }
    bww_buf_puts(b, "</tbody></table></section>");

    const bww_active_counts *n = o->counts;
    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "预警", "Active alerts"));
    if (n == NULL) {
        bww_buf_printf(b, "<p class=\"unavailable\">%s</p></section>",
                       L(c, "预警统计暂不可用：未能从守护进程读取当前预警。",
                         "Alert counts unavailable: the daemon's active alerts could not be read."));
    } else {
        bww_buf_printf(b, "<table class=\"counts\" id=\"alert-counts\"><tbody>"
                          "<tr><th>%s</th><td class=\"num band-red\" data-count=\"critical\">%u</td>"
                          "<th>%s</th><td class=\"num band-yellow\" data-count=\"warning\">%u</td>"
                          "<th>%s</th><td class=\"num\" data-count=\"unhandled\">%u</td>"
                          "<th>%s</th><td class=\"num\" data-count=\"handled\">%u</td></tr>",
                       L(c, "严重", "Critical"), n->severity[BW_SEV_CRITICAL], L(c, "警告", "Warning"),
                       n->severity[BW_SEV_WARNING], L(c, "未处理", "Unhandled"), n->unhandled,
                       L(c, "已处理", "Handled"), n->handled);
        /* By handling state (PROTOCOL.md §1.7). */
        bww_buf_puts(b, "<tr>");
        for (int k = BW_HANDLING_FOLLOWED_UP; k < BW_HANDLINGS; k++)
            bww_buf_printf(b, "<th>%s</th><td class=\"num\" data-handling-count=\"%s\">%u</td>",
                           handling_label(c, k), bw_handling_name(k), n->handling[k]);
        bww_buf_puts(b, "</tr>");
        /* By band, when the daemon names bands. */
        for (size_t i = 0; i < n->nbands; i++) {
            bww_buf_printf(b, "<tr><th class=\"%s\">", bww_band_class(n->bands[i].band, 1));
            h(b, n->bands[i].band);
            bww_buf_printf(b, "</th><td class=\"num\" data-band-count=\"\">%u</td></tr>", n->bands[i].n);
        }
        bww_buf_puts(b, "</tbody></table></section>");
    }

    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "执行进度图", "Execution over the year"));
    bww_buf_printf(b, "<div class=\"chart\"><canvas id=\"chart\" data-series=\"/api/v1/series\" "
                      "aria-label=\"%s\"></canvas></div>",
                   L(c, "部门累计支付与计划、序时进度", "department paid against plan and pace"));
    bww_buf_puts(b, "</section>");

    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "滞后最多的十个项目", "Ten projects lagging most"));
    projects_table(b, c, o->worst_lag, "worst-lag");
    bww_buf_printf(b, "</section><section><h2>%s</h2>",
                   L(c, "资金缺口最大的十个项目", "Ten largest shortfalls"));
    projects_table(b, c, o->worst_short, "worst-shortfall");
    bww_buf_puts(b, "</section>");
    foot(b);
}

/* ---- 项目列表 ---- */

static void list_href_to(bww_buf *b, const char *path, const bww_list_query *q, const char *sort,
                         bool desc, uint64_t page)
{
    bww_buf_puts(b, path);
    bww_buf_puts(b, "?unit=");
    bww_buf_url(b, q->unit);
    bww_buf_puts(b, "&amp;band=");
    bww_buf_url(b, q->band);
    bww_buf_puts(b, "&amp;alert=");
    bww_buf_url(b, q->alert);
    bww_buf_puts(b, "&amp;q=");
    bww_buf_url(b, q->q);
    bww_buf_puts(b, "&amp;sort=");
    bww_buf_url(b, sort);
    bww_buf_printf(b, "&amp;desc=%d&amp;page=%" PRIu64, desc ? 1 : 0, page);
}

static void list_href(bww_buf *b, const bww_list_query *q, const char *sort, bool desc, uint64_t page)
{
    list_href_to(b, "/projects", q, sort, desc, page);
}

static void option(bww_buf *b, const char *value, const char *label, const char *selected)
{
    bww_buf_puts(b, "<option value=\"");
    h(b, value);
    bww_buf_printf(b, "\"%s>", strcmp(value, selected) == 0 ? " selected" : "");
    h(b, label);
    bww_buf_puts(b, "</option>");
}

void bww_page_projects(bww_buf *b, const bww_ctx *c, const bww_status *s, const bww_status *units,
                       const bww_list_query *q)
{
    head(b, c, L(c, "项目列表", "Projects"), "projects");
    bww_buf_printf(b, "<form class=\"filters\" method=\"get\" action=\"/projects\"><label>%s "
                      "<select name=\"unit\">", L(c, "单位", "Unit"));
    option(b, "", L(c, "全部", "all"), q->unit);
    for (size_t i = 0; units != NULL && i < units->nunits; i++)
        option(b, units->units[i].r.unit, units->units[i].r.unit_name, q->unit);
    bww_buf_printf(b, "</select></label><label>%s <select name=\"alert\">", L(c, "预警", "Alerts"));
    option(b, "", L(c, "全部", "all"), q->alert);
    option(b, "firing", L(c, "有预警", "firing"), q->alert);
    option(b, "none", L(c, "无预警", "none"), q->alert);
    bww_buf_printf(b, "</select></label><label>%s <input name=\"band\" size=\"8\" list=\"bands\" "
                      "placeholder=\"%s\" value=\"",
                   L(c, "色档", "Band"), L(c, "如 红一档", "e.g. 红一档"));
    h(b, q->band);
    /* The bands firing now, and "none", as suggestions: the daemon has no list of them to ask. */
    bww_buf_puts(b, "\"><datalist id=\"bands\">");
    for (size_t i = 0; q->firing != NULL && i < q->firing->nbands; i++) {
        bww_buf_puts(b, "<option value=\"");
        h(b, q->firing->bands[i].band);
        bww_buf_puts(b, "\">");
    }
    bww_buf_printf(b, "<option value=\"none\" label=\"%s\"></datalist", L(c, "无色档", "no band"));
    bww_buf_printf(b, "></label><label>%s <input type=\"search\" name=\"q\" value=\"",
                   L(c, "搜索编码或名称", "Code or name"));
    h(b, q->q);
    bww_buf_puts(b, "\"></label><input type=\"hidden\" name=\"sort\" value=\"");
    h(b, q->sort);
    bww_buf_printf(b, "\"><button type=\"submit\">%s</button></form>", L(c, "筛选", "Filter"));

    uint64_t pages = (s->matched + q->per_page - 1) / q->per_page;
    bww_buf_printf(b, "<p class=\"matched\" data-matched=\"%" PRIu64 "\">%s %" PRIu64 " · <a id=\"export\" "
                      "download href=\"",
                   s->matched, L(c, "符合条件的项目：", "Matching projects:"), s->matched);
    list_href_to(b, "/projects.csv", q, q->sort, q->desc, 0);
    bww_buf_printf(b, "\">%s</a></p>", L(c, "导出 CSV（全部符合条件的项目）", "Export CSV (every matching project)"));
    bww_buf_puts(b, "<table class=\"rows\" id=\"projects\"><thead><tr>");
    static const struct { const char *col, *zh, *en; } text_cols[] = {
        { "unit", "单位", "Unit" }, { "project", "项目编码", "Code" },
        { "project_name", "项目名称", "Project" },
    };
    for (size_t i = 0; i < 3; i++) {
        bool on = strcmp(q->sort, text_cols[i].col) == 0;
        bww_buf_puts(b, "<th><a href=\"");
        list_href(b, q, text_cols[i].col, on ? !q->desc : false, 0);
        bww_buf_printf(b, "\">%s%s</a></th>", L(c, text_cols[i].zh, text_cols[i].en),
                       on ? (q->desc ? " ▼" : " ▲") : "");
    }
    for (size_t i = 0; i < FIGURES; i++) {
        if (figure_cols[i][0] == '\0') {
            bww_buf_printf(b, "<th>%s</th>", L(c, figure_heads_zh[i], figure_heads_en[i]));
            continue;
        }
        bool on = strcmp(q->sort, figure_cols[i]) == 0;
        bww_buf_puts(b, "<th><a href=\"");
        list_href(b, q, figure_cols[i], on ? !q->desc : true, 0);
        bww_buf_printf(b, "\">%s%s</a></th>", L(c, figure_heads_zh[i], figure_heads_en[i]),
                       on ? (q->desc ? " ▼" : " ▲") : "");
    }
    bww_buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; i < s->nprojects; i++)
        project_tr(b, c, &s->projects[i]);
    bww_buf_puts(b, "</tbody></table><nav class=\"pages\">");
    if (q->page > 0) {
        bww_buf_puts(b, "<a rel=\"prev\" href=\"");
        list_href(b, q, q->sort, q->desc, q->page - 1);
        bww_buf_printf(b, "\">%s</a> ", L(c, "上一页", "Previous"));
    }
    bww_buf_printf(b, "<span>%s %" PRIu64 " / %" PRIu64 "</span>", L(c, "第", "Page"), q->page + 1,
                   pages ? pages : 1);
    if (q->page + 1 < pages) {
        bww_buf_puts(b, " <a rel=\"next\" href=\"");
        list_href(b, q, q->sort, q->desc, q->page + 1);
        bww_buf_printf(b, "\">%s</a>", L(c, "下一页", "Next"));
    }
    bww_buf_puts(b, "</nav>");
    foot(b);
}

/* ---- alerts tables ---- */

static const char *state_label(const bww_ctx *c, const bww_alert *a)
{
    int hd = a->handling[0] ? bw_handling_parse(a->handling) : -1;
    if (hd >= 0)
        return handling_label(c, hd);
    switch (a->m.state) {
    case BW_STATE_FIRING: return L(c, "未处理", "unhandled");
    case BW_STATE_ACKNOWLEDGED: return L(c, "已确认", "acknowledged");
    default: return L(c, "已解除", "resolved");
    }
}

/* A message of the history says what happened, not how the alert stands now. */
static const char *step_label(const bww_ctx *c, const bww_alert *a)
{
    if (a->m.state == BW_STATE_FIRING)
        return a->m.at == a->m.since ? L(c, "触发", "fired") : L(c, "提醒或升级", "reminder or escalation");
    return state_label(c, a);
}

static bool can_handle(const bww_ctx *c)
{
    return c->se != NULL && c->se->role >= BWW_HANDLER;
}

static void hidden(bww_buf *b, const char *name, const char *value)
{
    bww_buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    h(b, value);
    bww_buf_puts(b, "\">");
}

static void ack_form(bww_buf *b, const bww_ctx *c, const bww_alert *a)
{
    bww_buf_puts(b, "<form class=\"ack\" method=\"post\" action=\"/alerts/ack\">");
    hidden(b, "csrf", c->se->csrf);
    hidden(b, "project", a->m.project);
    hidden(b, "kind", bw_kind_name(a->m.kind));
    bww_buf_printf(b, "<input name=\"note\" placeholder=\"%s\" maxlength=\"500\">"
                      "<button type=\"submit\" class=\"ack-button\">%s</button></form>",
                   L(c, "备注", "note"), L(c, "确认", "Acknowledge"));
}

static void handle_form(bww_buf *b, const bww_ctx *c, const bww_alert *a)
{
    bww_buf_puts(b, "<form class=\"handle\" method=\"post\" action=\"/alerts/handle\">");
    hidden(b, "csrf", c->se->csrf);
    hidden(b, "project", a->m.project);
    hidden(b, "kind", bw_kind_name(a->m.kind));
    bww_buf_puts(b, "<select name=\"state\">");
    for (int k = BW_HANDLING_FOLLOWED_UP; k < BW_HANDLINGS; k++)
        bww_buf_printf(b, "<option value=\"%s\">%s</option>", bw_handling_name(k), handling_label(c, k));
    bww_buf_printf(b, "</select><input name=\"note\" placeholder=\"%s\" maxlength=\"500\">"
                      "<button type=\"submit\">%s</button></form>",
                   L(c, "备注", "note"), L(c, "处理", "Handle"));
}

/* An acknowledged alert needs no second ack, but may still be handled. */
static void alert_actions(bww_buf *b, const bww_ctx *c, const bww_alert *a, bool handle)
{
    if (!can_handle(c) || !bw_kind_ackable(a->m.kind))
        return;
    if (a->m.state != BW_STATE_ACKNOWLEDGED)
        ack_form(b, c, a);
    if (handle)
        handle_form(b, c, a);
}

/* What the alert is about beyond the figures: a large payment's event, the
 * milestone missed, a source's jump, the ledger's damage. */
static void alert_detail(bww_buf *b, const bww_ctx *c, const bw_alert_msg *m)
{
    char y[40], w[40];
    bww_buf_puts(b, "<td class=\"detail\">");
    if (m->kind == BW_KIND_LARGE_PAYMENT) {
        bww_buf_puts(b, "<span class=\"event code\">");
        h(b, m->src);
        bww_buf_puts(b, "/");
        h(b, m->id);
        bww_buf_printf(b, "</span> <span class=\"amount\" data-fen=\"%" PRId64 "\" title=\"%s 元\">%s %s</span>",
                       m->amount, bw_money_format_yuan(m->amount, y, sizeof y), bw_money_format_wan2(m->amount, w, sizeof w),
                       L(c, "万元", "10k yuan"));
        if (m->ref[0]) {
            bww_buf_printf(b, " <span class=\"ref\">%s ", L(c, "关联", "ref"));
            h(b, m->ref);
            bww_buf_puts(b, "</span>");
        }
    } else if (m->kind == BW_KIND_MILESTONE && m->milestone[0]) {
        bww_buf_printf(b, "%s ", L(c, "节点", "milestone"));
        h(b, m->milestone);
    } else if (m->kind == BW_KIND_SOURCE_GAP) {
        h(b, m->src);
        bww_buf_printf(b, " %s %" PRIu64 " → %" PRIu64, L(c, "序号", "seq"), m->expected_seq, m->got_seq);
    } else if (m->kind == BW_KIND_LEDGER_DAMAGED) {
        h(b, m->note);
    }
    bww_buf_puts(b, "</td>");
}

static void alert_row(bww_buf *b, const bww_ctx *c, const bww_alert *a, bool actions, bool handle,
                      bool history)
{
    char t[32], t2[32], p[24], w[40];
    const bw_alert_msg *m = &a->m;
    bww_buf_printf(b, "<tr class=\"%s state-%s\" data-kind=\"%s\" data-seq=\"%" PRIu64 "\" data-project=\"",
                   bww_band_class(a->band, m->severity), bw_state_name(m->state),
                   bw_kind_name(m->kind), m->seq);
    h(b, m->project);
    bww_buf_printf(b, "\" data-handling=\"%s\"><td class=\"sev\">%s</td><td class=\"kind\">%s</td>",
                   a->handling, m->severity == BW_SEV_CRITICAL ? L(c, "严重", "critical") : L(c, "警告", "warning"),
                   c->lang == BWW_EN ? bw_kind_name(m->kind) : bw_kind_label(m->kind));
    bool project = bw_kind_is_project(m->kind);
    /* Only a lag alert has a band: the others' cell is left uncoloured. */
    bww_buf_printf(b, "<td class=\"band%s%s\" data-band=\"", a->band[0] ? " " : "",
                   a->band[0] ? bww_band_class(a->band, m->severity) : "");
    h(b, a->band);
    bww_buf_puts(b, "\">");
    h(b, a->band[0] ? a->band : project ? "—" : "");
    bww_buf_puts(b, "</td><td>");
    h(b, m->unit_name);
    bww_buf_puts(b, "</td><td class=\"name\">");
    if (m->project[0])
        project_link(b, m->project, m->project_name);
    else
        h(b, m->src);
    bww_buf_printf(b, "</td><td class=\"state\">%s", history ? step_label(c, a) : state_label(c, a));
    if (m->by[0]) {
        bww_buf_puts(b, " <span class=\"by\">");
        h(b, m->by);
        bww_buf_puts(b, "</span>");
    }
    if (m->note[0]) {
        bww_buf_puts(b, " <span class=\"note\">");
        h(b, m->note);
        bww_buf_puts(b, "</span>");
    }
    bww_buf_printf(b, "</td><td class=\"t\">%s</td><td class=\"t\">%s</td>", bww_time(m->since, t, sizeof t),
                   bww_time(m->at, t2, sizeof t2));
    if (project) {
        bww_buf_printf(b, "<td class=\"num\" data-bp=\"%" PRId32 "\">%s%%</td>", m->rate_bp,
                       bww_pct(m->rate_bp, p, sizeof p));
        bww_buf_printf(b, "<td class=\"basis\" data-basis=\"%s\">%s</td>", bw_basis_name(m->basis),
                       basis_label(c, m->basis));
        pct_td(b, m->lag_bp, "lag");
        pct_td(b, m->pace_lag_bp, "pace-lag");
        bww_buf_printf(b, "<td class=\"num money\" data-fen=\"%" PRId64 "\">%s</td>", m->shortfall,
                       bw_money_format_wan2(m->shortfall, w, sizeof w));
        bww_buf_printf(b, "<td class=\"num money\" data-fen=\"%" PRId64 "\">%s</td>", m->pace_shortfall,
                       bw_money_format_wan2(m->pace_shortfall, w, sizeof w));
    } else {
        bww_buf_puts(b, "<td></td><td></td><td></td><td></td><td></td><td></td>");
    }
    alert_detail(b, c, m);
    if (actions) {
        bww_buf_puts(b, "<td class=\"actions\">");
        alert_actions(b, c, a, handle);
        bww_buf_puts(b, "</td>");
    }
    bww_buf_puts(b, "</tr>");
}

/* budgetwatch-notify's record of who was told: one row per notification,
 * with the alert messages it carried (each names its alert by kind,
 * project and seq, as the alert rows' data-seq do). */
static const char *note_state_label(const bww_ctx *c, const char *state)
{
    if (!strcmp(state, "sent")) return L(c, "已送达", "sent");
    if (!strcmp(state, "failed")) return L(c, "失败", "failed");
    if (!strcmp(state, "pending")) return L(c, "待发送", "pending");
    return state;
}

static void notes_section(bww_buf *b, const bww_ctx *c, const bww_notes *n, const char *error)
{
    if (n == NULL && (error == NULL || !error[0]))
        return;
    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "通知记录", "Notifications"));
    if (error && error[0]) {
        bww_buf_printf(b, "<p class=\"error\" id=\"notify-error\">%s",
                       L(c, "无法读取通知记录：", "The notification log cannot be read: "));
        h(b, error);
        bww_buf_puts(b, "</p></section>");
        return;
    }
    static const char *const heads[][2] = {
        { "通知编号", "No." }, { "预警", "Alerts" }, { "接收方", "Receiver" }, { "状态", "State" },
        { "尝试", "Attempts" }, { "时间", "At" }, { "回复", "Answer" },
    };
    bww_buf_puts(b, "<table class=\"rows\" id=\"notifications\"><thead><tr>");
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        bww_buf_printf(b, "<th>%s</th>", L(c, heads[i][0], heads[i][1]));
    bww_buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; i < n->n; i++) {
        const bww_note *x = &n->v[i];
        char t[32];
        bww_buf_printf(b, "<tr class=\"note-%s\" data-note=\"%" PRId64 "\" data-receiver=\"",
                       !strcmp(x->state, "sent") || !strcmp(x->state, "failed") ? x->state : "pending",
                       x->id);
        h(b, x->receiver);
        bww_buf_printf(b, "\"><td class=\"num\">%" PRId64 "</td><td class=\"note-alerts\">", x->id);
        for (size_t k = 0; k < x->nshown; k++) {
            int kind = bw_kind_parse(x->alerts[k].kind);
            bww_buf_printf(b, "%s<span data-seq=\"%" PRIu64 "\">", k ? "<br>" : "", x->alerts[k].seq);
            if (kind >= 0)
                bww_buf_puts(b, c->lang == BWW_EN ? bw_kind_name(kind) : bw_kind_label(kind));
            else
                h(b, x->alerts[k].kind);
            bww_buf_puts(b, " ");
            h(b, x->alerts[k].project);
            bww_buf_printf(b, " #%" PRIu64 "</span>", x->alerts[k].seq);
        }
        if (x->nalerts > x->nshown)
            bww_buf_printf(b, "<br>%s %zu", L(c, "等，共", "of"), x->nalerts);
        bww_buf_puts(b, "</td><td class=\"receiver\">");
        h(b, x->receiver);
        if (x->rtype[0]) {
            bww_buf_puts(b, " <span class=\"rtype\">(");
            h(b, x->rtype);
            bww_buf_puts(b, ")</span>");
        }
        bww_buf_printf(b, "</td><td class=\"state\">%s</td><td class=\"num\">%zu</td>"
                          "<td class=\"t\">%s</td><td class=\"answer\">",
                       note_state_label(c, x->state), x->attempts,
                       bww_time(x->at_ms / 1000, t, sizeof t));
        /* Every attempt shown (the last BWW_NOTE_ATTEMPTS): when, how, what the receiver said. */
        if (x->attempts > x->nattempts)
            bww_buf_printf(b, "%s %zu<br>", L(c, "此前尝试", "earlier attempts:"),
                           x->attempts - x->nattempts);
        for (size_t k = 0; k < x->nattempts; k++) {
            bww_buf_printf(b, "%s<span class=\"attempt\" data-result=\"", k ? "<br>" : "");
            h(b, x->attempt[k].result);
            bww_buf_printf(b, "\">%s ", bww_time(x->attempt[k].at_ms / 1000, t, sizeof t));
            h(b, x->attempt[k].result);
            bww_buf_puts(b, ": ");
            h(b, x->attempt[k].answer);
            bww_buf_puts(b, "</span>");
        }
        bww_buf_puts(b, "</td></tr>");
    }
    if (n->n == 0)
        empty_row(b, c, 7);
    bww_buf_puts(b, "</tbody></table>");
    if (n->more)
        bww_buf_printf(b, "<p class=\"notice\">%s</p>",
                       L(c, "仅显示最新的通知；完整记录见 budgetwatch-notify log。",
                         "Only the newest are shown; budgetwatch-notify log has them all."));
    bww_buf_puts(b, "</section>");
}

static void alerts_table(bww_buf *b, const bww_ctx *c, const bww_alerts *a, const char *id,
                         bool actions, bool handle, bool newest_first)
{
    static const char *const heads[][2] = {
        { "级别", "Severity" }, { "类型", "Kind" }, { "色档", "Band" }, { "单位", "Unit" },
        { "项目", "Project" }, { "处理状态", "Handling" }, { "开始", "Since" }, { "时间", "At" },
        { "执行率", "Rate" }, { "依据", "Basis" }, { "低于计划", "Below plan" },
        { "低于序时", "Below pace" }, { "计划缺口", "Short of plan" }, { "序时缺口", "Short of pace" },
        { "详情", "Detail" },
    };
    bww_buf_printf(b, "<table class=\"rows alerts\" id=\"%s\"><thead><tr>", id);
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        bww_buf_printf(b, "<th>%s</th>", L(c, heads[i][0], heads[i][1]));
    if (actions)
        bww_buf_printf(b, "<th>%s</th>", L(c, "操作", "Action"));
    bww_buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; a != NULL && i < a->n; i++)
        alert_row(b, c, &a->v[newest_first ? a->n - 1 - i : i], actions, handle, !actions);
    if (a == NULL || a->n == 0)
        empty_row(b, c, actions ? 16 : 15);
    bww_buf_puts(b, "</tbody></table>");
}

void bww_page_alerts(bww_buf *b, const bww_ctx *c, const bww_alerts_page *p)
{
    head(b, c, L(c, "预警", "Alerts"), "alerts");
    if (p->notice && p->notice[0] && p->refused) {
        bww_buf_printf(b, "<p class=\"error\" id=\"form-error\">%s", L(c, "守护进程拒绝了此操作：", "The daemon refused: "));
        h(b, p->notice);
        bww_buf_puts(b, "</p>");
    } else if (p->notice && p->notice[0]) {
        bww_buf_puts(b, "<p class=\"notice\">");
        h(b, p->notice);
        bww_buf_puts(b, "</p>");
    }
    bww_buf_printf(b, "<section><h2>%s <span id=\"live\" class=\"live\" data-off=\"%s\" "
                      "data-on=\"%s\"></span></h2>",
                   L(c, "当前预警", "Active alerts"), L(c, "实时更新未连接", "live updates off"),
                   L(c, "实时更新", "live"));
    bww_buf_printf(b, "<div id=\"active-wrap\" data-stream=\"/events\" data-seq=\"%" PRIu64 "\" "
                      "data-can-handle=\"%d\" data-labels=\"",
                   p->active ? p->active->seq : 0, can_handle(c) ? 1 : 0);
    /* The script labels streamed rows with the same words (kinds.h, §1.7). */
    bww_buf labels = { 0 };
    bww_buf_puts(&labels, "{\"kinds\":{");
    for (int k = 0; k < BW_KINDS; k++) {
        bww_buf_printf(&labels, "%s\"%s\":\"", k ? "," : "", bw_kind_name(k));
        bww_buf_json_str(&labels, c->lang == BWW_EN ? bw_kind_name(k) : bw_kind_label(k));
        bww_buf_puts(&labels, "\"");
    }
    bww_buf_puts(&labels, "},\"handling\":{");
    for (int k = 0; k < BW_HANDLINGS; k++) {
        bww_buf_printf(&labels, "%s\"%s\":\"", k ? "," : "", bw_handling_name(k));
        bww_buf_json_str(&labels, handling_label(c, k));
        bww_buf_puts(&labels, "\"");
    }
    bww_buf_printf(&labels, "},\"basis\":{\"plan\":\"%s\",\"pace\":\"%s\"}}", basis_label(c, BW_BASIS_PLAN),
                   basis_label(c, BW_BASIS_PACE));
    h(b, labels.oom ? "{}" : labels.data);
    bww_buf_free(&labels);
    bww_buf_puts(b, "\">");
    if (p->active && p->active_total > p->active->n)
        bww_buf_printf(b, "<p class=\"notice\" id=\"active-shown\">%s %zu / %zu</p>",
                       L(c, "显示最新的预警：", "The newest active alerts:"), p->active->n, p->active_total);
    alerts_table(b, c, p->active, "active-alerts", true, true, true);
    bww_buf_puts(b, "</div></section>");

    bww_buf_printf(b, "<section><h2>%s</h2><form class=\"filters\" method=\"get\" action=\"/alerts\">",
                   L(c, "预警历史", "History"));
    static const struct { const char *name, *zh, *en, *type; } f[] = {
        { "unit", "单位编码", "Unit", "text" }, { "project", "项目编码", "Project", "text" },
        { "kind", "类型", "Kind", "text" }, { "since", "起（含）", "From", "date" },
        { "until", "止（不含）", "Until", "date" },
    };
    const char *v[] = { p->f_unit, p->f_project, p->f_kind, p->f_since, p->f_until };
    for (size_t i = 0; i < 5; i++) {
        if (strcmp(f[i].name, "kind") == 0) {
            /* The kinds come from the one table (BW_KIND_MAP). */
            bww_buf_printf(b, "<label>%s <select name=\"kind\">", L(c, f[i].zh, f[i].en));
            option(b, "", L(c, "全部", "all"), v[i] ? v[i] : "");
            for (int k = 0; k < BW_KINDS; k++)
                option(b, bw_kind_name(k), c->lang == BWW_EN ? bw_kind_name(k) : bw_kind_label(k),
                       v[i] ? v[i] : "");
            bww_buf_puts(b, "</select></label>");
            continue;
        }
        bww_buf_printf(b, "<label>%s <input type=\"%s\" name=\"%s\" value=\"", L(c, f[i].zh, f[i].en),
                       f[i].type, f[i].name);
        h(b, v[i] ? v[i] : "");
        bww_buf_puts(b, "\"></label>");
    }
    bww_buf_printf(b, "<button type=\"submit\">%s</button></form>", L(c, "查询", "Search"));
    bww_buf_puts(b, "<p><a id=\"export\" download href=\"/alerts.csv?");
    for (size_t i = 0; i < 5; i++) {
        bww_buf_printf(b, "%s%s=", i ? "&amp;" : "", f[i].name);
        bww_buf_url(b, v[i] ? v[i] : "");
    }
    bww_buf_printf(b, "\">%s</a></p>", L(c, "导出 CSV（按上述条件）", "Export CSV (these filters)"));
    if (p->history && p->history->truncated)
        bww_buf_printf(b, "<p class=\"notice\">%s</p>",
                       L(c, "仅显示最近的记录；请缩小时间范围。", "Only the newest are shown; narrow the dates."));
    alerts_table(b, c, p->history, "history", false, false, true);
    bww_buf_puts(b, "</section>");
    notes_section(b, c, p->notes, p->notes_error);
    foot(b);
}

/* ---- 项目详情 ---- */

void bww_page_project(bww_buf *b, const bww_ctx *c, const bww_detail *d)
{
    const bww_row *r = d->row;
    head(b, c, r->r.project_name, "projects");
    bww_buf_puts(b, "<p class=\"crumbs\"><a href=\"/\">");
    bww_buf_puts(b, L(c, "部门整体", "Department"));
    bww_buf_puts(b, "</a> › ");
    unit_link(b, r->r.unit, r->r.unit_name);
    bww_buf_puts(b, " › <span class=\"code\">");
    h(b, r->r.project);
    bww_buf_puts(b, "</span></p><table class=\"rows\" id=\"figures\"><thead><tr>");
    figure_ths(b, c);
    bww_buf_printf(b, "<th>%s</th><th>%s</th></tr></thead><tbody><tr data-project=\"",
                   L(c, "财政资金已付", "Paid, fiscal"), L(c, "其他资金已付", "Paid, other"));
    h(b, r->r.project);
    bww_buf_puts(b, "\">");
    figures_tds(b, c, r);
    money_td(b, r->r.paid_fiscal);
    money_td(b, r->r.paid_other);
    bww_buf_puts(b, "</tr></tbody></table>");

    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "计划与实际", "Plan and actual"));
    bww_buf_puts(b, "<div class=\"chart\"><canvas id=\"chart\" data-series=\"/api/v1/series?project=");
    bww_buf_url(b, r->r.project);
    bww_buf_printf(b, "\" aria-label=\"%s\"></canvas></div>",
                   L(c, "累计支付与计划、序时进度", "cumulative paid against plan and pace"));
    bww_buf_puts(b, "</section>");

    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "支付明细", "Payments"));
    if (!d->payments_available) {
        unavailable(b, c, L(c, "支付明细", "Payments"));
    } else {
        const bww_payments *p = d->payments;
        bww_buf_printf(b, "<p data-total=\"%" PRId64 "\">%s %" PRId64 "</p>", p->total,
                       L(c, "共计笔数：", "Payments in all:"), p->total);
        bww_buf_printf(b, "<table class=\"rows\" id=\"payments\"><thead><tr><th>%s</th><th>%s</th>"
                          "<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                       L(c, "支付时间", "Time"), L(c, "来源", "Source"), L(c, "编号", "Id"),
                       L(c, "类型", "Type"), L(c, "金额（元）", "Amount (yuan)"), L(c, "资金", "Fund"),
                       L(c, "原支付", "Refunds"));
        for (size_t i = 0; i < p->n; i++) {
            const bww_payment *x = &p->v[i];
            char t[32], y[40];
            int64_t signed_amount = strcmp(x->type, "refund") == 0 ? -x->amount : x->amount;
            bww_buf_printf(b, "<tr data-row=\"%" PRId64 "\"><td>%s</td><td>", x->row,
                           bww_time(x->ts, t, sizeof t));
            h(b, x->src);
            bww_buf_puts(b, "</td><td class=\"code\">");
            h(b, x->id);
            bww_buf_printf(b, "</td><td>%s</td><td class=\"num money\" data-fen=\"%" PRId64 "\">%s</td>"
                              "<td>%s</td><td class=\"code\">",
                           strcmp(x->type, "refund") == 0 ? L(c, "退款", "refund") : L(c, "支付", "payment"),
                           signed_amount, bw_money_format_yuan(signed_amount, y, sizeof y),
                           strcmp(x->fund, "other") == 0 ? L(c, "其他资金", "other") : L(c, "财政资金", "fiscal"));
            h(b, x->ref);
            bww_buf_puts(b, "</td></tr>");
        }
        if (p->n == 0)
            empty_row(b, c, 7);
        bww_buf_puts(b, "</tbody></table><nav class=\"pages\">");
        if (d->before > 0) {
            bww_buf_puts(b, "<a href=\"/project?code=");
            bww_buf_url(b, r->r.project);
            bww_buf_printf(b, "\">%s</a> ", L(c, "最新", "Newest"));
        }
        if (p->next > 0) {
            bww_buf_puts(b, "<a rel=\"next\" href=\"/project?code=");
            bww_buf_url(b, r->r.project);
            bww_buf_printf(b, "&amp;before=%" PRId64 "\">%s</a>", p->next, L(c, "更早", "Older"));
        }
        bww_buf_puts(b, "</nav>");
    }
    bww_buf_puts(b, "</section>");

    bww_buf_printf(b, "<section><h2>%s</h2>", L(c, "预算调整", "Budget adjustments"));
    if (!d->adjustments_available) {
        unavailable(b, c, L(c, "预算调整", "Budget adjustments"));
    } else {
        bww_buf_printf(b, "<table class=\"rows\" id=\"adjustments\"><thead><tr><th>%s</th><th>%s</th>"
                          "<th>%s</th><th>%s</th></tr></thead><tbody>",
                       L(c, "时间", "At"), L(c, "原预算", "Old budget"), L(c, "新预算", "New budget"),
                       L(c, "原因", "Reason"));
        for (size_t i = 0; i < d->adjustments->n; i++) {
            const bww_adjustment *x = &d->adjustments->v[i];
            char t[32];
            bww_buf_printf(b, "<tr><td>%s</td>", bww_time(x->at, t, sizeof t));
            money_td(b, x->old_budget);
            money_td(b, x->new_budget);
            bww_buf_puts(b, "<td class=\"reason\">");
            h(b, x->reason);
            bww_buf_puts(b, "</td></tr>");
        }
        if (d->adjustments->n == 0)
            empty_row(b, c, 4);
        bww_buf_puts(b, "</tbody></table>");
    }
    bww_buf_printf(b, "</section><section><h2>%s</h2>", L(c, "预警与处理记录", "Alerts and handling"));
    alerts_table(b, c, d->history, "history", false, false, true);
    bww_buf_puts(b, "</section>");
    notes_section(b, c, d->notes, d->notes_error);
    foot(b);
}

/* ---- login and messages ---- */

void bww_page_login(bww_buf *b, const bww_ctx *c, const char *error, const char *csrf)
{
    head(b, c, L(c, "登录", "Log in"), "");
    if (error && error[0]) {
        bww_buf_puts(b, "<p class=\"error\" id=\"login-error\">");
        h(b, error);
        bww_buf_puts(b, "</p>");
    }
    bww_buf_puts(b, "<form class=\"login\" method=\"post\" action=\"/login\">");
    hidden(b, "csrf", csrf);
    bww_buf_printf(b, "<label>%s <input name=\"name\" autocomplete=\"username\" required></label>"
                      "<label>%s <input type=\"password\" name=\"password\" "
                      "autocomplete=\"current-password\" required></label>"
                      "<button type=\"submit\">%s</button></form>",
                   L(c, "用户名", "User"), L(c, "密码", "Password"), L(c, "登录", "Log in"));
    foot(b);
}

void bww_page_message(bww_buf *b, const bww_ctx *c, const char *title, const char *message)
{
    head(b, c, title, "");
    bww_buf_puts(b, "<p class=\"message\">");
    h(b, message);
    bww_buf_puts(b, "</p>");
    foot(b);
}
