/* pages: the console's HTML pages, built from the model's structures
 * (model.h) into a buffer — 总览, 项目列表, 项目详情, 预警, login. Every text
 * from the plan, an event or a person goes through bww_buf_html; money is
 * shown in 万元 from integer fen with the exact fen in data-fen; no inline
 * script (the CSP forbids it): the charts and the live stream are
 * /static/console.js, which reads data- attributes. Pure: no I/O. */
#ifndef BWW_PAGES_H
#define BWW_PAGES_H

#include <stdbool.h>

#include "active.h"
#include "model.h"
#include "session.h"
#include "text.h"

typedef enum bww_lang { BWW_ZH = 0, BWW_EN = 1 } bww_lang;

/* Who is looking, in which language. */
typedef struct bww_ctx {
    bww_lang lang;
    const bww_session *se;      /* NULL on the login page */
    int64_t now;                /* the daemon's clock, for "as of" */
} bww_ctx;

/* The language an Accept-Language header prefers: English only when an
 * "en" range has a higher q than every "zh" range (or zh is absent and en
 * present); 简体中文 otherwise, and when the header is NULL. */
bww_lang bww_lang_of(const char *accept_language);

/* The band colour class of a row: "band-red", "band-yellow", "band-green". */
const char *bww_band_class(const char *band, int severity);

typedef struct bww_overview {
    const bww_status *status;       /* units and total */
    const bww_status *worst_lag;    /* top 10 by lag */
    const bww_status *worst_short;  /* top 10 by shortfall */
    const bww_active_counts *counts; /* the active alerts counted; NULL: not known now */
} bww_overview;

typedef struct bww_list_query {
    char unit[BW_CODE_LEN_MAX + 1], band[32], alert[16], q[BW_NAME_LEN_MAX + 1], sort[16];
    bool desc;
    uint64_t page;              /* from 0 */
    uint32_t per_page;
    const bww_active_counts *firing;    /* the bands of the active alerts, offered to the band filter; NULL none */
} bww_list_query;

typedef struct bww_detail {
    const bww_row *row;
    const bww_payments *payments;
    bool payments_available;
    uint64_t before;            /* the cursor this page of payments was asked with */
    const bww_adjustments *adjustments;
    bool adjustments_available;
    const bww_alerts *history;
    /* budgetwatch-notify's log for this project: NULL when the console has
     * no [notify] control (no section then); notes_error when it did not answer. */
    const bww_notes *notes;
    const char *notes_error;
} bww_detail;

typedef struct bww_alerts_page {
    const bww_alerts *active;
    const bww_alerts *history;
    const char *f_unit, *f_project, *f_kind, *f_since, *f_until;   /* history filters, "" */
    const char *notice;         /* "" or a line to show at the top (e.g. what an ack did) */
    size_t active_total;        /* active alerts in all, when more than `active` holds */
    bool refused;               /* notice is the daemon's refusal of a form (shown as an error) */
    const bww_notes *notes;     /* as in bww_detail: the newest notifications (history filters) */
    const char *notes_error;
} bww_alerts_page;

void bww_page_overview(bww_buf *b, const bww_ctx *c, const bww_overview *o);
void bww_page_projects(bww_buf *b, const bww_ctx *c, const bww_status *s, const bww_status *units,
                       const bww_list_query *q);
void bww_page_project(bww_buf *b, const bww_ctx *c, const bww_detail *d);
void bww_page_alerts(bww_buf *b, const bww_ctx *c, const bww_alerts_page *p);
/* The login form; csrf is the value of the login cookie it is checked against. */
void bww_page_login(bww_buf *b, const bww_ctx *c, const char *error, const char *csrf);
/* A page with a title and one message (errors: 403, 404, the daemon away). */
void bww_page_message(bww_buf *b, const bww_ctx *c, const char *title, const char *message);

#endif
