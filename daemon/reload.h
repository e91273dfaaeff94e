/* reload: SIGHUP and the reload operation — the keys read again, then the
 * plan file validated in full and swapped in only when valid, each project
 * carried over from the ledger (OpenBSD's relayd reload, in spirit). */
#ifndef BW_RELOAD_H
#define BW_RELOAD_H

#include "app.h"

/* Needs a quiet ledger: every row saved, no transaction open. On success
 * the new engine runs and an open batch holds every row, for the loop to
 * commit. -1 with err: the old plan runs on, or — when even it could not be
 * rebuilt from the ledger — a->engine is NULL and the daemon must stop. */
int bw_reload(bw_app *a, bw_err *err);

#endif
