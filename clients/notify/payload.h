/* payload: what one notification sends, per receiver type, made once when
 * the notification is made and kept in the outbox, so every attempt sends
 * the same bytes (only DingTalk's signed URL and a webhook's signature are
 * made per attempt, as they carry the time or cover the bytes). Pure but for
 * json-c: the alerts, the receiver, the route and the instant come in. */
#ifndef BWN_PAYLOAD_H
#define BWN_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"

typedef struct bwn_item {
    bwn_alert a;
    const void *raw;            /* the message as published (msgpack) */
    size_t rawlen;
} bwn_item;

typedef struct bwn_digest {
    const bwn_receiver *r;
    const bwn_route *route;     /* NULL for a --test message */
    int64_t id;                 /* the notification's number */
    const char *group_key, *label;
    size_t part, parts;         /* 1-based part of parts */
    size_t total;               /* alerts in the whole digest */
    int64_t now_ms, utc_offset_s;
    const char *hostname;       /* for e-mail's Message-ID */
} bwn_digest;

/* The bytes of the text blocks of items as the receiver will show them
 * (lens[i] for item i), and the bytes a part adds (title, footer, @s), for
 * bwn_text_split. */
void bwn_payload_measure(const bwn_digest *d, const bwn_item *items, size_t n, size_t *lens,
                         size_t *overhead);

/* The payload of one part holding items[0..n): a NUL-terminated string the
 * caller frees, or NULL when out of memory. Webhook: JSON with
 * notification_id, receiver, group, title, text and the alerts as JSON;
 * wecom / dingtalk: the robot's JSON; alertmanager: the JSON array for
 * /api/v2/alerts; email: the whole RFC 5322 message. */
char *bwn_payload_make(const bwn_digest *d, const bwn_item *items, size_t n);

/* The headline (bwn_text_headline) the n items share, for a digest's title:
 * with the state when they all share it, else without; "" when even their
 * kinds or bands differ. */
void bwn_payload_headline(const bwn_item *items, size_t n, char *buf, size_t len);

/* RFC 3339 UTC of Unix ms. */
void bwn_payload_rfc3339(int64_t ms, char *buf, size_t len);

#endif
