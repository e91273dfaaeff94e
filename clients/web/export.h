/* export: the 导出 downloads — the project list and the alert history as
 * CSV (RFC 4180), UTF-8 with a byte order mark so that Excel opens the
 * Chinese correctly. Money is in 万元 with six decimals, so a cell is exact
 * to the fen (1 万元 = 1,000,000 fen); rates are percentages with two
 * decimals, exact to the basis point. A text cell that a spreadsheet would
 * read as a formula (= + - @ first) is written with a leading apostrophe. */
#ifndef BWW_EXPORT_H
#define BWW_EXPORT_H

#include "model.h"
#include "pages.h"
#include "text.h"

/* The BOM and the header line of the project list. */
void bww_csv_projects_head(bww_buf *b, const bww_ctx *c);
/* One project row (the list's columns). */
void bww_csv_project_row(bww_buf *b, const bww_ctx *c, const bww_row *r);
/* The BOM, the header line and every message of a, in its order. */
void bww_csv_alerts(bww_buf *b, const bww_ctx *c, const bww_alerts *a);

#endif
