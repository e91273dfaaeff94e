/* budgetwatch.h — libbudgetwatch, the C client of budgetwatchd.
 *
 * A payment system links it (pkg-config budgetwatch) to hand disbursements to
 * the daemon and know that each one is durably recorded; a supervisor's tool
 * uses it to query the daemon and follow its alerts. The wire format is
 * described in PROTOCOL.md; this header exposes no ZeroMQ or msgpack type.
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * BWC_E* code on failure, with a sentence in bwc_client_error() naming the
 * endpoint and what to do. Strings handed in are copied or used only during
 * the call; strings handed out stay valid until the next call on the client.
 * A client is not thread-safe: use one per thread. */
#ifndef BWC_H
#define BWC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library exports only what this header declares (it is built with
 * -fvisibility=hidden). */
#if defined(__GNUC__) && defined(BWC_BUILDING)
#define BWC_EXPORT __attribute__((visibility("default")))
#else
#define BWC_EXPORT
#endif

enum {
    BWC_OK = 0,
    BWC_EINVAL = -1,        /* a bad argument (the message says which) */
    BWC_ENOMEM = -2,
    BWC_EUNREACHABLE = -3,  /* the daemon did not answer in time */
    BWC_EPROTO = -4,        /* the daemon answered something unreadable */
    BWC_EDAEMON = -5,       /* the daemon answered ok = false (its error is the message) */
    BWC_EZMQ = -6,
};

enum { BWC_ACCEPTED = 0, BWC_DUPLICATE = 1, BWC_REJECTED = 2 };

typedef struct bwc_client bwc_client;

typedef struct bwc_client_opts {
    const char *events;     /* the daemon's ROUTER, e.g. tcp://127.0.0.1:7601 (NULL: not used) */
    const char *control;    /* its REP, e.g. ipc:///run/budgetwatch/control.sock */
    const char *alerts;     /* its PUB, e.g. tcp://127.0.0.1:7602 */
    int timeout_ms;         /* how long one request waits for an answer (0: 5000) */
    /* CURVE, for the tcp:// endpoints of a daemon with a server key (see
     * SECURITY.md); NULL when it has none. Z85 text, 40 characters each;
     * `budgetwatch keygen` makes key pairs. ipc:// endpoints never use them. */
    const char *server_key;     /* the daemon's public key */
    const char *public_key;     /* this client's key pair */
    const char *secret_key;
} bwc_client_opts;

/* A disbursement or refund. Money is integer fen (0.01 yuan); ts is Unix s. */
typedef struct bwc_event {
    const char *src;        /* the sending payment system, 1..64 bytes */
    const char *id;         /* unique within src, 1..128 bytes: a resend counts once */
    const char *project;    /* the plan's project code */
    const char *unit;       /* its budget unit, or NULL */
    const char *ref;        /* for a refund: the id of the original, or NULL */
    int64_t amount;         /* fen, > 0 */
    int64_t ts;
    uint64_t seq;           /* per-source sequence number; 0 = none */
    int refund;             /* 0 disbursement, 1 refund */
    int other_fund;         /* 0 财政资金 (fiscal), 1 其他资金 (other) */
} bwc_event;

typedef struct bwc_ack {
    const char *src, *id;
    int status;             /* BWC_ACCEPTED, BWC_DUPLICATE or BWC_REJECTED */
    const char *reason;     /* why it was rejected, else "" */
} bwc_ack;

/* Creates a client; sockets are opened when first needed. NULL if out of memory. */
BWC_EXPORT bwc_client *bwc_client_new(const bwc_client_opts *opts);
/* Closes the client's sockets, frees it and sets *c to NULL. NULL-safe. */
BWC_EXPORT void bwc_client_destroy(bwc_client **c);
/* The last error, as one sentence. Never NULL. */
BWC_EXPORT const char *bwc_client_error(const bwc_client *c);
/* What a BWC_* return code means in general ("the daemon did not answer in
 * time"), for callers that log codes; bwc_client_error says what happened.
 * Never NULL: an unknown code gives "unknown error". */
BWC_EXPORT const char *bwc_strerror(int code);

/* Sends one event on the reliable path and waits for its acknowledgement,
 * which the daemon sends only after the event is committed. Fills *ack. */
BWC_EXPORT int bwc_client_send(bwc_client *c, const bwc_event *ev, bwc_ack *ack);

/* Called once per acknowledged event; index is its position in the array. */
typedef void (*bwc_ack_fn)(void *ctx, size_t index, const bwc_ack *ack);
/* Sends n events with up to `window` unacknowledged at a time. While the daemon
 * is away it resends what is unacknowledged (the same ids, so nothing counts
 * twice) with a growing pause, for up to retry_ms without any answer. Returns
 * how many events got no answer (0 = all answered), or a BWC_E* code. */
BWC_EXPORT int bwc_client_push(bwc_client *c, const bwc_event *ev, size_t n, size_t window, int retry_ms,
                   bwc_ack_fn fn, void *ctx);

/* Publishes events on a PUB socket for daemons that subscribe (no acks).
 * endpoint is "bind:URL" or "connect:URL". */
BWC_EXPORT int bwc_client_publish(bwc_client *c, const char *endpoint, const bwc_event *ev, size_t n);

/* One control request: req is a msgpack map (PROTOCOL.md). On success *reply
 * points at the msgpack reply (valid until the next call) and *len its size.
 * A request without an answer in time closes and reopens the socket, so the
 * next request starts clean. */
BWC_EXPORT int bwc_client_request(bwc_client *c, const void *req, size_t len, const void **reply, size_t *rlen);

/* Subscribes to the alert stream (topics starting with prefix; "" for all; the
 * heartbeat "hb" is always included). */
BWC_EXPORT int bwc_client_subscribe(bwc_client *c, const char *prefix);
/* Waits up to timeout_ms for the next message on the alert stream. Returns 1
 * and the topic and msgpack body (valid until the next call), 0 on timeout. */
BWC_EXPORT int bwc_client_next(bwc_client *c, int timeout_ms, const char **topic, const void **body,
                   size_t *len);

#ifdef __cplusplus
}
#endif
#endif
