/* export: the CSV downloads (export.h). */
#include "export.h"
#include "money.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define L(c, zh, en) ((c)->lang == BWW_EN ? (en) : (zh))

static const char BOM[] = "\xEF\xBB\xBF";

/* A text cell: quoted when it holds a separator, a quote or a line break;
 * an apostrophe first when a spreadsheet would take it for a formula. */
static void text(bww_buf *b, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        bww_buf_puts(b, "\"");
    if (strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0')
        bww_buf_puts(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            bww_buf_puts(b, "\"");
        bww_buf_add(b, p, 1);
    }
    if (quote)
        bww_buf_puts(b, "\"");
}

static void sep(bww_buf *b)
{
    bww_buf_puts(b, ",");
}

static void money(bww_buf *b, int64_t fen)
{
    char w[40];
    bww_buf_puts(b, bw_money_format_wan6(fen, w, sizeof w));
}

static void pct(bww_buf *b, int32_t bp)
{
    char p[24];
    bww_buf_puts(b, bww_pct(bp, p, sizeof p));
}

static void heads(bww_buf *b, const bww_ctx *c, const char *const (*h)[2], size_t n)
{
    bww_buf_puts(b, BOM);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sep(b);
        text(b, L(c, h[i][0], h[i][1]));
    }
    bww_buf_puts(b, "\r\n");
}

static const char *basis_word(const bww_ctx *c, int basis)
{
    return basis == BW_BASIS_PACE ? L(c, "序时进度", "pace") : L(c, "计划", "plan");
}

void bww_csv_projects_head(bww_buf *b, const bww_ctx *c)
{
    static const char *const h[][2] = {
        { "单位编码", "Unit" }, { "单位名称", "Unit name" }, { "项目编码", "Project" },
        { "项目名称", "Project name" }, { "预算（万元）", "Budget (10k yuan)" },
        { "已支付（万元）", "Paid (10k yuan)" }, { "执行率（%）", "Rate (%)" },
        { "计划进度（%）", "Plan (%)" }, { "序时进度（%）", "Pace (%)" },
        { "低于计划（%）", "Below plan (%)" }, { "低于序时（%）", "Below pace (%)" },
        { "计划缺口（万元）", "Short of plan (10k yuan)" }, { "序时缺口（万元）", "Short of pace (10k yuan)" },
        { "依据", "Basis" }, { "色档", "Band" }, { "预警数", "Alerts" },
    };
    heads(b, c, h, sizeof h / sizeof h[0]);
}

void bww_csv_project_row(bww_buf *b, const bww_ctx *c, const bww_row *r)
{
    const bw_status_row *x = &r->r;
    text(b, x->unit);
    sep(b);
    text(b, x->unit_name);
    sep(b);
    text(b, x->project);
    sep(b);
    text(b, x->project_name);
    sep(b);
    money(b, x->budget);
    sep(b);
    money(b, x->paid);
    sep(b);
    pct(b, x->rate_bp);
    sep(b);
    pct(b, x->planned_bp);
    sep(b);
    pct(b, x->pace_bp);
    sep(b);
    pct(b, x->lag_bp);
    sep(b);
    pct(b, x->pace_lag_bp);
    sep(b);
    money(b, x->shortfall);
    sep(b);
    money(b, x->pace_shortfall);
    sep(b);
    text(b, basis_word(c, x->basis));
    sep(b);
    text(b, r->band);
    bww_buf_printf(b, ",%" PRIu32 "\r\n", x->firing);
}

static const char *handling_word(const bww_ctx *c, const char *h)
{
    static const char *const zh[BW_HANDLINGS] = { "未处理", "已督办", "已整改", "认定正常", "认定违规" };
    int k = h[0] ? bw_handling_parse(h) : -1;
    if (k < 0)
        return "";
    return c->lang == BWW_EN ? bw_handling_name(k) : zh[k];
}

void bww_csv_alerts(bww_buf *b, const bww_ctx *c, const bww_alerts *a)
{
    static const char *const h[][2] = {
        { "序号", "Seq" }, { "时间", "At" }, { "开始", "Since" }, { "类型", "Kind" },
        { "级别", "Severity" }, { "状态", "State" }, { "处理状态", "Handling" }, { "色档", "Band" },
        { "单位编码", "Unit" }, { "单位名称", "Unit name" }, { "项目编码", "Project" },
        { "项目名称", "Project name" }, { "执行率（%）", "Rate (%)" }, { "依据", "Basis" },
        { "低于计划（%）", "Below plan (%)" }, { "低于序时（%）", "Below pace (%)" },
        { "计划缺口（万元）", "Short of plan (10k yuan)" }, { "序时缺口（万元）", "Short of pace (10k yuan)" },
        { "处理人", "By" }, { "备注", "Note" }, { "来源", "Source" }, { "事件编号", "Event id" },
        { "支付金额（万元）", "Payment (10k yuan)" }, { "关联", "Ref" },
    };
    heads(b, c, h, sizeof h / sizeof h[0]);
    for (size_t i = 0; i < a->n; i++) {
        const bw_alert_msg *m = &a->v[i].m;
        char t[32], t2[32];
        bool project = bw_kind_is_project(m->kind);
        bww_buf_printf(b, "%" PRIu64 ",%s,%s,", m->seq, bww_time(m->at, t, sizeof t),
                       bww_time(m->since, t2, sizeof t2));
        text(b, c->lang == BWW_EN ? bw_kind_name(m->kind) : bw_kind_label(m->kind));
        bww_buf_printf(b, ",%s,%s,", bw_severity_name(m->severity), bw_state_name(m->state));
        text(b, handling_word(c, a->v[i].handling));
        sep(b);
        text(b, a->v[i].band);
        sep(b);
        text(b, m->unit);
        sep(b);
        text(b, m->unit_name);
        sep(b);
        text(b, m->project);
        sep(b);
        text(b, m->project_name);
        sep(b);
        if (project) {
            pct(b, m->rate_bp);
            sep(b);
            text(b, basis_word(c, m->basis));
            sep(b);
            pct(b, m->lag_bp);
            sep(b);
            pct(b, m->pace_lag_bp);
            sep(b);
            money(b, m->shortfall);
            sep(b);
            money(b, m->pace_shortfall);
        } else {
            bww_buf_puts(b, ",,,,,");
        }
        sep(b);
        text(b, m->by);
        sep(b);
        text(b, m->kind == BW_KIND_LEDGER_DAMAGED || m->by[0] ? m->note : "");
        sep(b);
        text(b, m->src);
        sep(b);
        text(b, m->id);
        sep(b);
        if (m->kind == BW_KIND_LARGE_PAYMENT)
            money(b, m->amount);
        sep(b);
        text(b, m->ref);
        bww_buf_puts(b, "\r\n");
    }
}
