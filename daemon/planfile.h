/* planfile: the plan CSV named by the configuration, read whole and parsed
 * against the fiscal year's calendar in the configured time zone. */
#ifndef BW_PLANFILE_H
#define BW_PLANFILE_H

#include "calendar.h"
#include "config.h"
#include "err.h"
#include "plan.h"

/* Builds the calendar and parses the plan named by cfg: 0 (*plan is the
 * caller's), or -1 with the file, line and column of what is wrong. */
int bw_planfile_load(const bw_config *cfg, bw_calendar *cal, bw_plan **plan, bw_err *err);
/* budgetwatchd --check: the keys and the plan, loaded and dropped. */
int bw_planfile_check(const bw_config *cfg, bw_err *err);

#endif
