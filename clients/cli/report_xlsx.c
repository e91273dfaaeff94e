/* report_xlsx: the 执行进度表 workbook (report.h) with libxlsxwriter.
 *
 * Money cells hold 万元 as the number fen / 10^6: the quotient of two
 * doubles that are exact (|fen| < 2^53) is the double nearest to the decimal
 * fen / 10^6, and libxlsxwriter writes it with 16 significant digits, which
 * give that decimal back for every figure below 10^15 fen (10 trillion
 * yuan). So a reader multiplying a cell by 10^6 gets the fen figure exactly;
 * the cells *show* two decimals (format #,##0.00, the 万元 habit), which is
 * display only. Rates are bp / 10^4 the same way, shown as percentages. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <xlsxwriter.h>

#include "cli.h"
#include "report.h"

/* The columns; 预警依据 (the basis) only when lag_basis is not plan. */
enum { NCOLS_MAX = 13 };

static const char *const heads[NCOLS_MAX] = {
    "单位", "项目编码", "项目名称", "预算数", "调整后预算数", "支出数", "支出进度", "序时进度",
    "超(短)序时进度", "超(短)序时金额", "计划进度", "预警级别", "预警依据",
};
static const double widths[NCOLS_MAX] = { 22, 26, 42, 12, 12, 12, 9, 9, 12, 13, 9, 11, 10 };

typedef struct fmts {
    lxw_format *title, *sub, *head, *text, *wan, *pct, *diff, *bold_text, *bold_wan, *bold_pct,
        *bold_diff, *wrap, *time, *name;
    lxw_format *level[BWR_BANDS_MAX + 1];      /* the conditional fills, by level 1..nbands */
} fmts;

/* A band's colours: the first yellow, the worse ones reds from light to
 * deep (the last the deepest), the text white where the fill is dark. */
static void band_colours(int level, int nbands, lxw_color_t *fill, lxw_color_t *font)
{
    if (level <= 1) {
        *fill = 0xFFEB9C;
        *font = 0x9C5700;
        return;
    }
    int nred = nbands - 1, j = level - 2;
    if (nred <= 1) {
        *fill = 0xFFC7CE;
        *font = 0x9C0006;
        return;
    }
    /* From (FF,C7,CE) to (9C,00,06), evenly. */
    static const int from[3] = { 0xFF, 0xC7, 0xCE }, to[3] = { 0x9C, 0x00, 0x06 };
    lxw_color_t c = 0;
    for (int k = 0; k < 3; k++)
        c = (c << 8) | (lxw_color_t)(from[k] + (to[k] - from[k]) * j / (nred - 1));
    *fill = c;
    *font = 2 * j >= nred - 1 ? 0xFFFFFF : 0x9C0006;
}

static lxw_format *fmt(lxw_workbook *wb, const char *num, bool bold, bool border)
{
    lxw_format *f = workbook_add_format(wb);
    format_set_font_name(f, "宋体");
    format_set_font_size(f, 10);
    if (num)
        format_set_num_format(f, num);
    if (bold)
        format_set_bold(f);
    if (border)
        format_set_border(f, LXW_BORDER_THIN);
    format_set_align(f, LXW_ALIGN_VERTICAL_CENTER);
    return f;
}

static void make_formats(lxw_workbook *wb, fmts *f, const bwr_report *r)
{
    f->title = fmt(wb, NULL, true, false);
    format_set_font_size(f->title, 16);
    format_set_align(f->title, LXW_ALIGN_CENTER);
    f->sub = fmt(wb, NULL, false, false);
    format_set_align(f->sub, LXW_ALIGN_CENTER);
    f->head = fmt(wb, NULL, true, true);
    format_set_align(f->head, LXW_ALIGN_CENTER);
    format_set_text_wrap(f->head);
    format_set_bg_color(f->head, 0xD9D9D9);
    f->text = fmt(wb, NULL, false, true);
    f->wan = fmt(wb, "#,##0.00", false, true);
    f->pct = fmt(wb, "0.00%", false, true);
    f->diff = fmt(wb, "+0.00%;-0.00%;0.00%", false, true);
    f->bold_text = fmt(wb, NULL, true, true);
    f->bold_wan = fmt(wb, "#,##0.00", true, true);
    f->bold_pct = fmt(wb, "0.00%", true, true);
    f->bold_diff = fmt(wb, "+0.00%;-0.00%;0.00%", true, true);
    /* The conditional formats' fills (differential formats: colour only). */
    for (size_t l = 1; l <= r->nbands; l++) {
        lxw_color_t fill, font;
        band_colours((int)l, (int)r->nbands, &fill, &font);
        f->level[l] = workbook_add_format(wb);
        format_set_bg_color(f->level[l], fill);
        format_set_font_color(f->level[l], font);
    }
    f->wrap = fmt(wb, NULL, false, false);
    format_set_text_wrap(f->wrap);
    format_set_align(f->wrap, LXW_ALIGN_LEFT);
    format_set_align(f->wrap, LXW_ALIGN_VERTICAL_TOP);
    f->time = fmt(wb, NULL, false, true);
    /* A project's name wraps: the long ones (a document number and a
     * purpose) are read in full on paper, the row as tall as it needs. */
    f->name = fmt(wb, NULL, false, true);
    format_set_text_wrap(f->name);
}

/* How many lines a wrapped cell of width `width` (Excel's units: one
 * digit of the default 11 pt font) needs for s in the table's 10 pt: a CJK
 * character (three UTF-8 bytes or more) takes about 1.7 units, anything
 * else 0.9 (measured on LibreOffice's PDF of the demo). Spreadsheets do
 * not grow a row for wrapped text they did not lay out, so the table sets
 * the height. */
static int wrapped_lines(const char *s, double width)
{
    double units = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80)
            units += 0.9;
        else if (*p >= 0xE0)
            units += 1.7;
        else if (*p >= 0xC0)
            units += 0.9;
    int lines = (int)(units / (width - 1)) + 1;     /* a cell's margins */
    return lines < 1 ? 1 : lines;
}

static double wan(int64_t fen)
{
    return (double)fen / 1e6;
}

static double ratio(int64_t bp)
{
    return (double)bp / 1e4;
}

/* Header/footer text: '&' starts a code there, so a name's own is doubled. */
static void hf_escape(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (; *s && k + 2 < len; s++) {
        if (*s == '&')
            out[k++] = '&';
        out[k++] = *s;
    }
    out[k] = '\0';
}

#define CHECK(call)                                                                   \
    do {                                                                              \
        lxw_error e_ = (call);                                                        \
        if (e_ != LXW_NO_ERROR) {                                                     \
            snprintf(why, whylen, "%s (%s)", lxw_strerror(e_), #call);                \
            return -1;                                                                \
        }                                                                             \
    } while (0)

static int table_sheet(lxw_workbook *wb, const fmts *f, const bwr_report *r, char *why,
                       size_t whylen)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "执行进度表");
    if (ws == NULL) {
        snprintf(why, whylen, "cannot add the sheet 执行进度表");
        return -1;
    }
    char title[512], sub[512], pace[16], esc[600], hdr[700];
    snprintf(title, sizeof title, "%s预算执行进度表（%s）", r->bureau, r->period);
    snprintf(sub, sizeof sub, "截至%d年%d月%d日　序时进度 %s%%　金额单位：万元", r->year, r->month,
             r->day, fmt_bp(r->pace_bp, pace, sizeof pace));
    const int ncols = bwr_shows_basis(r) ? NCOLS_MAX : NCOLS_MAX - 1;
    for (int c = 0; c < ncols; c++)
        CHECK(worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, widths[c], NULL));
    CHECK(worksheet_set_row(ws, 0, 28, NULL));
    CHECK(worksheet_merge_range(ws, 0, 0, 0, ncols - 1, title, f->title));
    CHECK(worksheet_merge_range(ws, 1, 0, 1, ncols - 1, sub, f->sub));
    CHECK(worksheet_set_row(ws, 2, 30, NULL));
    for (int c = 0; c < ncols; c++)
        CHECK(worksheet_write_string(ws, 2, (lxw_col_t)c, heads[c], f->head));
    lxw_row_t row = 3;
    for (size_t i = 0; i < r->nrows; i++, row++) {
        const bwr_row *w = &r->rows[i];
        bool sum = w->kind != BWR_PROJECT;
        lxw_format *t = sum ? f->bold_text : f->text, *m = sum ? f->bold_wan : f->wan;
        lxw_format *p = sum ? f->bold_pct : f->pct, *d = sum ? f->bold_diff : f->diff;
        int lines = sum ? 1 : wrapped_lines(w->r.project_name, widths[2]);
        if (lines > 1)
            CHECK(worksheet_set_row(ws, row, 13.5 * lines, NULL));
        CHECK(worksheet_write_string(ws, row, 0, w->kind == BWR_TOTAL ? "部门整体" : w->r.unit_name, t));
        CHECK(worksheet_write_string(ws, row, 1, w->r.project, t));
        CHECK(worksheet_write_string(ws, row, 2, w->kind == BWR_PROJECT ? w->r.project_name : "小计",
                                     sum ? t : f->name));
        CHECK(worksheet_write_number(ws, row, 3, wan(w->r.plan_budget), m));
        CHECK(worksheet_write_number(ws, row, 4, wan(w->r.budget), m));
        CHECK(worksheet_write_number(ws, row, 5, wan(w->r.paid), m));
        CHECK(worksheet_write_number(ws, row, 6, ratio(w->r.rate_bp), p));
        CHECK(worksheet_write_number(ws, row, 7, ratio(r->pace_bp), p));
        CHECK(worksheet_write_number(ws, row, 8, ratio(w->pace_diff_bp), d));
        CHECK(worksheet_write_number(ws, row, 9, wan(w->pace_amount), m));
        CHECK(worksheet_write_number(ws, row, 10, ratio(w->r.planned_bp), p));
        CHECK(worksheet_write_string(ws, row, 11, bwr_level_word(r, w->r.band, w->r.severity), t));
        if (ncols > 12)
            CHECK(worksheet_write_string(ws, row, 12,
                                         w->kind == BWR_PROJECT ? bwr_basis_word(w->r.basis) : "", t));
    }
    lxw_row_t last = row - 1;
    /* The levels' colours: conditional formats on the data rows, keyed by
     * the 预警级别 cell, so a sorted or filtered table keeps them. */
    if (last >= 3) {
        for (size_t l = 0; l < r->nlevels; l++) {
            char rule[96];
            snprintf(rule, sizeof rule, "=$L4=\"%s\"", r->levels[l].word);
            lxw_conditional_format cf = { .type = LXW_CONDITIONAL_TYPE_FORMULA, .value_string = rule,
                                          .format = f->level[r->levels[l].level] };
            CHECK(worksheet_conditional_format_range(ws, 3, 0, last, (lxw_col_t)(ncols - 1), &cf));
        }
        CHECK(worksheet_autofilter(ws, 2, 0, last, (lxw_col_t)(ncols - 1)));
    }
    /* 通报 under the table. */
    row++;
    CHECK(worksheet_set_row(ws, row, 96, NULL));
    CHECK(worksheet_merge_range(ws, row, 0, row, (lxw_col_t)(ncols - 1), r->bulletin, f->wrap));
    worksheet_freeze_panes(ws, 3, 0);
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);         /* A4 */
    worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
    CHECK(worksheet_repeat_rows(ws, 0, 2));
    worksheet_fit_to_pages(ws, 1, 0);
    hf_escape(r->bureau, esc, sizeof esc);
    snprintf(hdr, sizeof hdr, "&L%s&R%s", esc, r->period);
    CHECK(worksheet_set_header(ws, hdr));
    CHECK(worksheet_set_footer(ws, "&C第 &P 页，共 &N 页"));
    return 0;
}

static int alerts_sheet(lxw_workbook *wb, const fmts *f, const bwr_report *r, char *why,
                        size_t whylen)
{
    static const char *const h[] = { "时间", "单位", "项目编码", "项目名称", "预警类型", "状态",
                                     "级别", "支出进度", "计划进度", "处置", "处理人", "说明" };
    static const double w[] = { 17, 20, 26, 36, 14, 9, 10, 10, 10, 12, 10, 30 };
    lxw_worksheet *ws = workbook_add_worksheet(wb, "预警及处置");
    if (ws == NULL) {
        snprintf(why, whylen, "cannot add the sheet 预警及处置");
        return -1;
    }
    for (int c = 0; c < 12; c++) {
        CHECK(worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, w[c], NULL));
        CHECK(worksheet_write_string(ws, 0, (lxw_col_t)c, h[c], f->head));
    }
    for (size_t i = 0; i < r->nalerts; i++) {
        bw_alert_msg msg;
        const bw_alert_msg *a = &msg;
        char handling[32], t[32];
        lxw_row_t row = (lxw_row_t)(i + 1);
        if (bwr_alert_at(r, i, &msg, handling)) {
            snprintf(why, whylen, "alert message %zu of the history cannot be read", i);
            return -1;
        }
        CHECK(worksheet_write_string(ws, row, 0, fmt_time(a->at, t, sizeof t), f->text));
        CHECK(worksheet_write_string(ws, row, 1, a->unit_name, f->text));
        CHECK(worksheet_write_string(ws, row, 2, a->project, f->text));
        CHECK(worksheet_write_string(ws, row, 3, a->project_name, f->text));
        CHECK(worksheet_write_string(ws, row, 4, bwr_kind_word(a->kind), f->text));
        CHECK(worksheet_write_string(ws, row, 5, bwr_state_word(a->state), f->text));
        CHECK(worksheet_write_string(ws, row, 6, bwr_level_word(r, a->band, a->severity), f->text));
        CHECK(worksheet_write_number(ws, row, 7, ratio(a->rate_bp), f->pct));
        CHECK(worksheet_write_number(ws, row, 8, ratio(a->planned_bp), f->pct));
        CHECK(worksheet_write_string(ws, row, 9, handling, f->text));
        CHECK(worksheet_write_string(ws, row, 10, a->by, f->text));
        CHECK(worksheet_write_string(ws, row, 11, a->note, f->text));
    }
    if (r->nalerts > 0)
        CHECK(worksheet_autofilter(ws, 0, 0, (lxw_row_t)r->nalerts, 11));
    worksheet_freeze_panes(ws, 1, 0);
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);
    CHECK(worksheet_repeat_rows(ws, 0, 0));
    worksheet_fit_to_pages(ws, 1, 0);
    return 0;
}

static int months_sheet(lxw_workbook *wb, const fmts *f, const bwr_report *r, char *why,
                        size_t whylen)
{
    static const char *const h[] = { "月份", "支出进度", "计划进度", "序时进度", "支出数(万元)" };
    lxw_worksheet *ws = workbook_add_worksheet(wb, "月度执行");
    if (ws == NULL) {
        snprintf(why, whylen, "cannot add the sheet 月度执行");
        return -1;
    }
    for (int c = 0; c < 5; c++) {
        CHECK(worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, c == 0 ? 8 : 12, NULL));
        CHECK(worksheet_write_string(ws, 0, (lxw_col_t)c, h[c], f->head));
    }
    for (size_t i = 0; i < r->nmonths; i++) {
        const bwr_month *m = &r->months[i];
        lxw_row_t row = (lxw_row_t)(i + 1);
        char name[16];
        snprintf(name, sizeof name, "%d月", m->month);
        double b = m->budget > 0 ? (double)m->budget : 1;
        CHECK(worksheet_write_string(ws, row, 0, name, f->text));
        CHECK(worksheet_write_number(ws, row, 1, (double)m->paid / b, f->pct));
        CHECK(worksheet_write_number(ws, row, 2, (double)m->planned / b, f->pct));
        CHECK(worksheet_write_number(ws, row, 3, ratio(m->pace_bp), f->pct));
        CHECK(worksheet_write_number(ws, row, 4, wan(m->paid), f->wan));
    }
    if (r->nmonths == 0)
        return 0;
    lxw_chart *ch = workbook_add_chart(wb, LXW_CHART_LINE);
    if (ch == NULL) {
        snprintf(why, whylen, "cannot add the chart");
        return -1;
    }
    const bwr_row *t = &r->rows[r->nrows - 1];
    char title[300];
    snprintf(title, sizeof title, "%s月度支出进度（%d年）", t->kind == BWR_TOTAL ? "部门整体" : t->r.unit_name,
             r->year);
    chart_title_set_name(ch, title);
    int last = (int)r->nmonths;
    for (int c = 1; c <= 3; c++) {
        lxw_chart_series *s = chart_add_series(ch, NULL, NULL);
        if (s == NULL) {
            snprintf(why, whylen, "cannot add a chart series");
            return -1;
        }
        chart_series_set_categories(s, "月度执行", 1, 0, (lxw_row_t)last, 0);
        chart_series_set_values(s, "月度执行", 1, (lxw_col_t)c, (lxw_row_t)last, (lxw_col_t)c);
        chart_series_set_name_range(s, "月度执行", 0, (lxw_col_t)c);
        chart_series_set_marker_type(s, LXW_CHART_MARKER_CIRCLE);
    }
    chart_axis_set_num_format(ch->y_axis, "0%");
    chart_axis_set_min(ch->y_axis, 0);
    chart_legend_set_position(ch, LXW_CHART_LEGEND_BOTTOM);
    lxw_chart_options o = { .x_scale = 2.0, .y_scale = 1.6 };
    CHECK(worksheet_insert_chart_opt(ws, 1, 6, ch, &o));
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);
    return 0;
}

int bwr_write_xlsx(const bwr_report *r, const char *path, bool constant_memory, char *why,
                   size_t whylen)
{
    lxw_workbook_options o = { .constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE,
                               .tmpdir = NULL, .use_zip64 = LXW_TRUE };
    lxw_workbook *wb = workbook_new_opt(path, &o);
    if (wb == NULL) {
        snprintf(why, whylen, "cannot create the workbook (check the directory and its space)");
        return -1;
    }
    fmts f;
    make_formats(wb, &f, r);
    /* libxlsxwriter copies the properties; its struct just lacks const. */
    char title[sizeof r->period], company[sizeof r->bureau], comments[] = "budgetwatch report";
    snprintf(title, sizeof title, "%s", r->period);
    snprintf(company, sizeof company, "%s", r->bureau);
    lxw_doc_properties props = { .title = title, .company = company, .comments = comments };
    (void)workbook_set_properties(wb, &props);
    int rc = table_sheet(wb, &f, r, why, whylen);
    if (rc == 0)
        rc = alerts_sheet(wb, &f, r, why, whylen);
    if (rc == 0)
        rc = months_sheet(wb, &f, r, why, whylen);
    lxw_error e = workbook_close(wb);  /* writes the file; frees the workbook either way */
    if (rc == 0 && e != LXW_NO_ERROR) {
        snprintf(why, whylen, "%s", lxw_strerror(e));
        rc = -1;
    }
    return rc;
}
