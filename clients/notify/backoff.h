/* backoff: when a failed notification is tried again, and how an answer is
 * judged. Pure: the time, the random draw and the answer come in as values.
 *
 * Delays double from min_ms per attempt up to max_ms, and a draw takes them
 * to between half and all of that ("equal jitter"), so receivers that came
 * back together are not hit together. */
#ifndef BWN_BACKOFF_H
#define BWN_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

/* The delay before attempt `attempt` + 1, after `attempt` (>= 1) failures;
 * draw is uniform in [0, UINT32_MAX]. Never below min_ms / 2 nor above max_ms. */
int64_t bwn_backoff_delay(int attempt, int64_t min_ms, int64_t max_ms, uint32_t draw);

typedef enum bwn_verdict {
    BWN_SENT = 0,               /* the receiver took it */
    BWN_RETRY = 1,              /* failed: try again after a backoff */
    BWN_LIMITED = 2,            /* the receiver said "too many": wait retry_after_ms */
} bwn_verdict;

/* Receiver types, as named in the configuration. */
typedef enum bwn_rtype {
    BWN_WEBHOOK, BWN_WECOM, BWN_DINGTALK, BWN_ALERTMANAGER, BWN_EMAIL, BWN_RTYPES
} bwn_rtype;
const char *bwn_rtype_name(int t);
int bwn_rtype_parse(const char *s);     /* -1 if unknown */

typedef struct bwn_answer {
    bwn_verdict verdict;
    int64_t retry_after_ms;     /* BWN_LIMITED: how long the receiver asked for */
    char what[256];             /* the answer in one line, for the outbox and the log */
} bwn_answer;

/* Judges one attempt: transport is 0 when the request completed (libcurl's
 * CURLE_OK) and then status is the HTTP status (or the SMTP reply code) and
 * body its answer; else transport_err says what failed. retry_after is the
 * Retry-After header's value ("" when none); limited_ms what this receiver's
 * rate-limit answer costs by default (WeCom 45009: a minute, DingTalk 130101:
 * its 10-minute lock). */
void bwn_answer_judge(bwn_rtype type, int transport, const char *transport_err, long status,
                      const char *body, size_t len, const char *retry_after, int64_t limited_ms,
                      bwn_answer *out);

#endif
