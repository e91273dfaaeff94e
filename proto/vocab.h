/* vocab: the words both sides of the wire agree on (event types, alert kinds,
 * states, severities) and their wire spellings; the alert kinds are the table
 * in kinds.h. Header-only and free of msgpack, so the pure core can share it. */
#ifndef BW_VOCAB_H
#define BW_VOCAB_H

#include <stdbool.h>
#include <string.h>

#include "kinds.h"   /* the alert kinds: BW_KIND_MAP and what comes from it */

#define BW_PROTO_VERSION 1

typedef enum bw_event_type { BW_EV_DISBURSEMENT = 0, BW_EV_REFUND = 1 } bw_event_type;
typedef enum bw_fund { BW_FUND_FISCAL = 0, BW_FUND_OTHER = 1 } bw_fund;
typedef enum bw_ack_status { BW_ACK_ACCEPTED = 0, BW_ACK_DUPLICATE = 1, BW_ACK_REJECTED = 2 } bw_ack_status;

typedef enum bw_alert_state { BW_STATE_FIRING = 0, BW_STATE_ACKNOWLEDGED = 1, BW_STATE_RESOLVED = 2 } bw_alert_state;
typedef enum bw_severity { BW_SEV_NONE = 0, BW_SEV_WARNING = 1, BW_SEV_CRITICAL = 2 } bw_severity;

static inline const char *bw_event_type_name(int t) { return t == BW_EV_REFUND ? "refund" : "disbursement"; }
static inline const char *bw_fund_name(int f) { return f == BW_FUND_OTHER ? "other" : "fiscal"; }
static inline const char *bw_ack_status_name(int s)
{
    static const char *const n[] = { "accepted", "duplicate", "rejected" };
    return s >= 0 && s <= 2 ? n[s] : "?";
}
static inline const char *bw_state_name(int s)
{
    static const char *const n[] = { "firing", "acknowledged", "resolved" };
    return s >= 0 && s <= 2 ? n[s] : "?";
}
static inline const char *bw_severity_name(int s)
{
    static const char *const n[] = { "none", "warning", "critical" };
    return s >= 0 && s <= 2 ? n[s] : "?";
}
/* Reverse look-up: the enum value, or -1 for an unknown word (bw_kind_parse
 * is in kinds.h). */
static inline int bw_severity_parse(const char *s)
{
    if (strcmp(s, "warning") == 0) return BW_SEV_WARNING;
    if (strcmp(s, "critical") == 0) return BW_SEV_CRITICAL;
    return -1;
}


/* What a lag is judged against (PROTOCOL.md §1.3): the project's own plan,
 * 序时进度 (the share of the year elapsed), or whichever is stricter. */
typedef enum bw_basis { BW_BASIS_PLAN = 0, BW_BASIS_PACE = 1, BW_BASIS_BOTH = 2 } bw_basis;
static inline const char *bw_basis_name(int b)
{
    static const char *const n[] = { "plan", "pace", "both" };
    return b >= 0 && b <= 2 ? n[b] : "?";
}
/* The Chinese word of a basis, for the surfaces: 计划, 序时进度; "?" if b is none. */
static inline const char *bw_basis_label(int b)
{
    static const char *const l[] = { "计划", "序时进度", "计划与序时进度" };
    return b >= 0 && b <= 2 ? l[b] : "?";
}
static inline int bw_basis_parse(const char *s)
{
    for (int b = 0; b <= 2; b++)
        if (strcmp(s, bw_basis_name(b)) == 0)
            return b;
    return -1;
}

/* Where a supervisor's handling of an alert stands (未处理, 已督办, 已整改,
 * 认定正常, 认定违规); the allowed steps are in PROTOCOL.md §1.7. */
typedef enum bw_handling {
    BW_HANDLING_UNHANDLED = 0, BW_HANDLING_FOLLOWED_UP = 1, BW_HANDLING_CORRECTED = 2,
    BW_HANDLING_JUDGED_NORMAL = 3, BW_HANDLING_JUDGED_VIOLATION = 4
} bw_handling;
#define BW_HANDLINGS 5
static inline const char *bw_handling_name(int h)
{
    static const char *const n[BW_HANDLINGS] = { "unhandled", "followed_up", "corrected",
                                                 "judged_normal", "judged_violation" };
    return h >= 0 && h < BW_HANDLINGS ? n[h] : "?";
}
/* The Chinese word of a handling step, for the surfaces (§1.7's table). */
static inline const char *bw_handling_label(int h)
{
    static const char *const l[BW_HANDLINGS] = { "未处理", "已督办", "已整改", "认定正常",
                                                 "认定违规" };
    return h >= 0 && h < BW_HANDLINGS ? l[h] : "?";
}
static inline int bw_handling_parse(const char *s)
{
    for (int h = 0; h < BW_HANDLINGS; h++)
        if (strcmp(s, bw_handling_name(h)) == 0)
            return h;
    return -1;
}
/* Whether a supervisor may move an alert's handling from `from` to `to`
 * (PROTOCOL.md §1.7): anything from unhandled or followed_up; a violation
 * may still be followed up and then corrected; judged_normal may only be
 * overturned to judged_violation; corrected is the end. */
static inline bool bw_handling_allowed(int from, int to)
{
    if (to <= BW_HANDLING_UNHANDLED || to >= BW_HANDLINGS)
        return false;
    switch (from) {
    case BW_HANDLING_UNHANDLED:
    case BW_HANDLING_FOLLOWED_UP:
        return true;
    case BW_HANDLING_JUDGED_VIOLATION:
        return to == BW_HANDLING_FOLLOWED_UP || to == BW_HANDLING_CORRECTED;
    case BW_HANDLING_JUDGED_NORMAL:
        return to == BW_HANDLING_JUDGED_VIOLATION;
    default:
        return false;
    }
}

#endif
