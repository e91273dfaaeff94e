/* scrape: one scrape's questions to budgetwatchd (stats, status, alerts) over
 * its control socket with libbudgetwatch, decoded into expo's input. */
#ifndef BWM_SCRAPE_H
#define BWM_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "budgetwatch.h"
#include "expo.h"

/* Which projects get series of their own. */
typedef struct bwm_select {
    bool per_project;           /* per_project = on: every project, up to cap */
    char **allow;               /* else these codes (none: no project series) */
    size_t nallow;
    size_t cap;                 /* the most projects exposed */
} bwm_select;

/* What one scrape holds; bwm_scrape_free releases it. */
typedef struct bwm_scrape {
    bwm_input in;
    bw_status_row *units, *projects;
    bwm_alert_count alerts[256];
    char error[512];            /* why the daemon could not be asked (in.up false) */
} bwm_scrape;

/* Asks the daemon through c and fills s (zeroed first). A daemon that does
 * not answer, or answers ok = false, leaves s->in.up false and says why in
 * s->error; the exposition then says budgetwatch_up 0. */
void bwm_scrape_run(bwc_client *c, const bwm_select *sel, bwm_scrape *s);
void bwm_scrape_free(bwm_scrape *s);

#endif
