/* vocab: the words both sides of the wire agree on (event types, alert kinds,
 * states, severities) and their wire spellings; the alert kinds are the table
 * in kinds.h. Header-only and free of msgpack, so the pure core can share it. */
#ifndef BW_VOCAB_H
#define BW_VOCAB_H

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

#endif
