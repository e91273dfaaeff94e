/* route: which receivers an alert goes to, how it is grouped, and when a
 * muted alert may go out. Pure: the alert, the route and the time come in;
 * nothing here reads a clock or a file.
 *
 * A route matches when every condition it sets matches (an unset one matches
 * anything): the unit code starts with `unit`, the project is one of
 * `project`, the kind, severity and band are in their lists. Every matching
 * route applies; a receiver named by several gets the alert once, grouped by
 * the first of them. */
#ifndef BWN_ROUTE_H
#define BWN_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"

#define BWN_LIST_MAX 16
#define BWN_WORD_MAX 72
#define BWN_MUTE_MAX 8

typedef struct bwn_words {
    int n;
    char w[BWN_LIST_MAX][BWN_WORD_MAX];
} bwn_words;

/* A mute window: minutes of the local day [from, to) (to < from: over
 * midnight), on the days of week in `days` (bit 0 Sunday .. 6 Saturday; 0:
 * every day). */
typedef struct bwn_mute {
    int from, to;
    unsigned days;
} bwn_mute;

typedef struct bwn_route {
    char name[64];
    int line;                   /* where it is in the configuration */
    char unit[65];              /* prefix; "" any */
    bwn_words projects, kinds, severities, bands;
    bwn_words receivers;        /* names; the configuration checks they exist */
    int receivers_line;
    bwn_words group_by;         /* of unit, project, kind, severity, band */
    int64_t group_wait_ms, group_interval_ms;
    bool repeat;                /* false: reminders (firing again, same severity) are not sent */
    bwn_mute mute[BWN_MUTE_MAX];
    int nmute;
    bool mute_holidays;         /* the holiday list mutes whole days too */
    bwn_words mention;          /* mobiles to @ in robot messages */
} bwn_route;

bool bwn_route_match(const bwn_route *r, const bwn_alert *a);

/* The group an alert falls into under r: "unit=323003,kind=lag", "" when
 * group_by is empty (one group). */
void bwn_route_group_key(const bwn_route *r, const bwn_alert *a, char *buf, size_t len);

/* A readable name for a group, for titles: the unit's or project's name when
 * grouped by it, else "全部". */
void bwn_route_group_label(const bwn_route *r, const bwn_alert *a, char *buf, size_t len);

/* The instant (ms) at or after now_ms when an alert of this severity may be
 * sent under r's mute windows: now_ms when none applies, and always now_ms
 * for a critical one. holidays is a sorted array of local days (days since
 * 1970-01-01 in local time), nholidays long. utc_offset_s: local time. */
int64_t bwn_route_unmuted_at(const bwn_route *r, const char *severity, int64_t now_ms,
                             int64_t utc_offset_s, const int32_t *holidays, int nholidays);

/* When a group is due: its oldest waiting alert queued at first_ms waits
 * group_wait; and after the group's last digest at last_ms (0: none), the
 * next waits group_interval. */
int64_t bwn_route_group_due(const bwn_route *r, int64_t first_ms, int64_t last_ms);

#endif
