/* restore: the projects' state put back from the ledger into a new engine —
 * at start and after a plan reload. The saved rows come first (their digest
 * checked), then the budget adjustments, then every event the rows do not
 * hold yet. Writes nothing: what must be written (rows of dropped projects)
 * goes to the batch, which the loop commits. */
#ifndef BW_RESTORE_H
#define BW_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "plan.h"

/* Builds an engine for *plan standing at `now` in calendar cal, restores the
 * ledger's state into it (and with `sources`, each source's last seq), and
 * makes it the app's, handing the batch its save queue and row digests. On
 * success *plan is taken (NULL). On failure the app's engine is as it was,
 * *plan stays the caller's, and the status to stop with (BW_EXIT_*) comes
 * back with err filled. No transaction may be open. */
int bw_restore(bw_app *a, bw_plan **plan, const bw_calendar *cal, int64_t now, bool sources,
               bw_err *err);

#endif
