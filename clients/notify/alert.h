/* alert: one alert message as the notifier keeps it — read from the msgpack
 * the daemon published (PROTOCOL.md §1.3) with proto's map readers, keeping
 * kinds, states, bands and handling steps as the words they are, so a
 * message from a newer daemon (a new kind, a new key) is still delivered.
 * The outbox stores the message's own bytes; this struct is for routing and
 * for the text. */
#ifndef BWN_ALERT_H
#define BWN_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <msgpack.h>

typedef struct bwn_alert {
    uint64_t seq;
    char kind[32], state[16], severity[16];
    char band[64], handling[32], basis[16];   /* "" when the daemon does not send them */
    char unit[65], unit_name[257], project[65], project_name[257];
    bool has_money;                 /* budget, paid, shortfall and the rates were sent */
    int64_t budget, paid, shortfall;
    int64_t rate_bp, planned_bp, lag_bp, pace_bp;
    char milestone[8];
    int64_t at, since;
    int64_t pace_lag_bp, pace_shortfall;
    bool has_pace;                  /* pace_lag_bp and pace_shortfall were sent */
    char src[65], by[65], note[513];
    char id[129], ref[129];         /* large_payment: the payment's event id and ref */
    bool has_amount;
    int64_t amount;                 /* large_payment: the payment, fen */
    uint64_t expected_seq, got_seq;
} bwn_alert;

/* Reads an alert map: `seq`, `kind` and `state` are required, everything
 * else is taken when present. Returns 0, or -1 with the reason in why. */
int bwn_alert_from_object(const msgpack_object *o, bwn_alert *a, char *why, size_t whylen);
int bwn_alert_from_msgpack(const void *buf, size_t len, bwn_alert *a, char *why, size_t whylen);

/* The message as JSON, every key as sent (unknown ones too): a new object the
 * caller owns (json_object_put), or NULL when buf is no msgpack map. */
json_object *bwn_alert_json(const void *buf, size_t len);

/* The key that names one alert across its messages: "kind/project", or
 * "kind/_src/src" for a source's notice, "kind/_daemon" for the daemon's. */
void bwn_alert_key(const bwn_alert *a, char *buf, size_t len);

#endif
