/* report: what `budgetwatch report` puts in a 执行进度表 — the rows of a
 * period as of its last day (from the daemon's `status` with `at`), the
 * figures each column shows computed from integer fen and basis points, the
 * period's alerts (from `history`), the months' execution (from `series`)
 * and the 通报 paragraph — and the writers: xlsx (report_xlsx.c, libxlsxwriter),
 * CSV and JSON (report.c). Everything here is owned by the bwr_report that
 * holds it and freed with bwr_report_free. */
#ifndef BW_REPORT_H
#define BW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* One line of the table: a project, a unit's subtotal (小计) or the
 * department (部门整体). The columns, each from integer figures:
 *   预算数 plan_budget, 调整后预算数 budget, 支出数 paid (fen);
 *   支出进度 rate_bp, 序时进度 pace_bp, 计划进度 planned_bp (bp);
 *   超(短)序时进度 pace_diff_bp = rate_bp - pace_bp (bp);
 *   超(短)序时金额 pace_amount = paid - ⌊budget × pace_bp / 10000⌋ for a
 *   project, and the sum of its rows' for a subtotal (so every subtotal is
 *   the sum of the rows above it, to the fen). */
typedef enum bwr_kind { BWR_PROJECT, BWR_UNIT, BWR_TOTAL } bwr_kind;

typedef struct bwr_row {
    bwr_kind kind;
    bw_status_row r;
    int32_t pace_diff_bp;
    int64_t pace_amount;
} bwr_row;

/* A month of the chart: its end (the local midnight after its last day, or
 * the report's instant in its last month) and the ratios there, bp. */
typedef struct bwr_month {
    int month;                  /* 1..12 */
    int64_t end;
    int64_t paid, planned, budget;  /* fen */
    int32_t pace_bp;
} bwr_month;

/* A lag band of the daemon's (ping's `bands`, mildest first): its name and
 * how far below the basis it starts, bp. */
enum { BWR_BANDS_MAX = 16 };
typedef struct bwr_band {
    char name[BW_BAND_LEN_MAX + 1];
    int32_t bp;
} bwr_band;

/* A word of 预警级别 and its colour: the bands' words, mildest first, then
 * the two severity words of alerts other than the lag's, when the bands do
 * not already say them. level 1..nbands: the colour of that band. */
typedef struct bwr_level {
    char word[BW_BAND_LEN_MAX + 16];
    int level;
} bwr_level;

typedef struct bwr_report {
    char bureau[256];           /* the title's name (--bureau) */
    char period[64];            /* "2022年6月", "2022年第2季度", "截至2022年6月30日" */
    int year, month, day;       /* the last day of the period (local) */
    int64_t since, at;          /* the period: [since, at]; at = the end of the last day */
    bool clamped;               /* the period is not over: figures as of the daemon's now */
    int32_t pace_bp;
    /* The bands in force and the basis ([alerts] lag_basis). Without
     * [alerts] bands the daemon's two are "warning" and "critical", and the
     * table keeps the words 黄色预警 and 红色预警 (named_bands false). */
    bwr_band bands[BWR_BANDS_MAX];
    size_t nbands;
    bool named_bands;
    uint8_t lag_basis;          /* bw_basis */
    bwr_level levels[BWR_BANDS_MAX + 2];
    size_t nlevels;
    bwr_row *rows;              /* units in order, each: its projects, then its 小计; last 部门整体 */
    size_t nrows, nprojects;
    /* The period's alert messages, oldest first, as the history reply holds
     * them (a message is 1.4 KB as a struct, 300 bytes packed, and a
     * province's June may have 100,000): the reply is asked for last and
     * lives until the report is written; bwr_alert_at decodes one. */
    const msgpack_object *alerts;
    size_t nalerts;
    bool alerts_truncated;
    bwr_month months[12];
    size_t nmonths;
    char *bulletin;             /* 通报, UTF-8 */
} bwr_report;

void bwr_report_free(bwr_report *r);
/* The i-th alert message of the period and its handling word ("" when the
 * daemon has none); 0, or -1 when it cannot be read. */
int bwr_alert_at(const bwr_report *r, size_t i, bw_alert_msg *out, char handling[32]);

/* The word of a row's or an alert's level in 预警级别 (the one place it is
 * spelled): its band's name when the bureau named bands, else 黄色预警 or
 * 红色预警 by severity; 正常 for none. */
const char *bwr_level_word(const bwr_report *r, const char *band, uint8_t severity);
/* The basis's word: 计划进度 or 序时进度. */
const char *bwr_basis_word(uint8_t basis);
/* Whether the table shows the basis column (lag_basis is not plan). */
bool bwr_shows_basis(const bwr_report *r);
/* The kind's and the state's words in the alerts sheet. */
const char *bwr_kind_word(int kind);
const char *bwr_state_word(int state);

/* Writes the workbook: 执行进度表, 预警及处置, 月度执行 (with its chart).
 * constant_memory: rows go to disk as they are written (large plans).
 * Returns 0, or -1 with what failed in why. */
int bwr_write_xlsx(const bwr_report *r, const char *path, bool constant_memory, char *why,
                   size_t whylen);

#endif
