/* rule_year_end_rush: more than [alerts] year_end_rush_pct of the project's
 * payments made in the year's last year_end_rush_days (突击支出). Evaluated
 * from the instant the window opens (the year's end less the days): a
 * warning while the share paid inside it, of everything paid, is above the
 * percentage. Only payments move the share after that instant. Off when
 * year_end_rush_days is 0. */
#include "rule.h"

__extension__ typedef __int128 i128;

static bw_rule_want rush_want(const bw_rule_project *p, const bw_figures *f, int64_t t)
{
    const bw_engine_opts *o = p->opts;
    bool on = o->rush_window > 0 && t >= p->year_end - o->rush_window && f->paid > 0 &&
              (i128)p->late_paid * 10000 > (i128)f->paid * o->rush_bp;
    bw_rule_want w = { on ? BW_SEV_WARNING : BW_SEV_NONE, 0, 0 };
    return w;
}

static int64_t rush_next(const bw_rule_project *p, int32_t rate_bp, int64_t t)
{
    (void)rate_bp;
    int64_t opens = p->year_end - p->opts->rush_window;
    return p->opts->rush_window > 0 && t < opens ? opens : BW_NEVER;
}

const bw_rule bw_rule_year_end_rush = { .want = rush_want, .next = rush_next,
                                        .about_milestone = false };
