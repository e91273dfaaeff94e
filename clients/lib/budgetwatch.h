/* budgetwatch.h — libbudgetwatch, the C client of budgetwatchd.
 *
 * A payment system links it (pkg-config budgetwatch) to hand disbursements to
 * the daemon and know that each one is durably recorded; a supervisor's tool
 * uses it to query the daemon and follow its alerts. The wire format is
 * proto/PROTOCOL.md in the source; this header exposes no ZeroMQ or msgpack
 * type.
 *
 * Names. Everything here is bwc_ (types, functions) or BWC_ (macros,
 * constants); the functions that work on a client are bwc_client_*.
 *
 * Errors. A function returns 0 (or a count, where it says so) on success and
 * a negative BWC_E* code on failure. bwc_client_error(c) then holds one
 * sentence that names what failed (the endpoint, the event, the option) and
 * what to do; bwc_strerror(code) says what a code means in general.
 *
 * Ownership. What you hand in is yours: options are copied by
 * bwc_client_new, events and requests are read only during the call. What the
 * library hands out (replies, acks, alert messages, error text) belongs to the
 * client and stays valid until the next call on that client, or as a function
 * says otherwise; copy what you keep.
 *
 * Threads. A client is not thread-safe: use each one from one thread at a
 * time (one client per thread is simplest). Different clients are
 * independent. bwc_strerror may be called from any thread. */
#ifndef BWC_H
#define BWC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions the shared library exports; it exports nothing else
 * (it is built with -fvisibility=hidden and BWC_BUILDING defined). */
#if defined(__GNUC__) && defined(BWC_BUILDING)
#define BWC_EXPORT __attribute__((visibility("default")))
#else
#define BWC_EXPORT
#endif

/* Return codes. */
enum {
    BWC_OK = 0,
    BWC_EINVAL = -1,        /* a bad argument or option: the message says which */
    BWC_ENOMEM = -2,        /* out of memory */
    BWC_EUNREACHABLE = -3,  /* the daemon did not answer in time */
    BWC_EPROTO = -4,        /* the daemon sent something unreadable */
    BWC_EDAEMON = -5,       /* the daemon refused (answered ok = false); no function here
                             * returns it, as replies are handed over as they are: it is
                             * for callers that decode them and want one set of codes */
    BWC_EZMQ = -6,          /* ZeroMQ failed: a socket could not be made, set up, connected,
                             * bound or used; the message has libzmq's reason */
};

/* What the daemon did with an event (bwc_ack.status). */
enum {
    BWC_ACCEPTED = 0,       /* recorded (committed to the ledger) */
    BWC_DUPLICATE = 1,      /* already recorded under this (src, id): it counts once */
    BWC_REJECTED = 2,       /* refused and kept as a dead letter; reason says why */
};

/* A connection to one daemon: its three endpoints, their sockets (opened when
 * first needed) and the storage behind what the client hands out. Opaque. */
typedef struct bwc_client bwc_client;

/* How to reach the daemon. bwc_client_new copies all of it. An endpoint left
 * NULL is simply not used; a function that needs it fails with BWC_EINVAL. */
typedef struct bwc_client_opts {
    const char *events;     /* the daemon's ROUTER, e.g. tcp://127.0.0.1:7601: bwc_client_send,
                             * bwc_client_push */
    const char *control;    /* its REP, e.g. ipc:///run/budgetwatch/control.sock:
                             * bwc_client_request */
    const char *alerts;     /* its PUB, e.g. tcp://127.0.0.1:7602: bwc_client_subscribe,
                             * bwc_client_next */
    int timeout_ms;         /* how long one request or one event waits for its answer;
                             * 0 or less: 5000 */
    /* CURVE, for the tcp:// endpoints of a daemon with a server key (see
     * SECURITY.md); server_key NULL when it has none. Z85 text, 40 characters
     * each; `budgetwatch keygen` makes key pairs. ipc:// endpoints never use
     * them. A key of another length is refused with BWC_EINVAL when a tcp://
     * socket is first opened. */
    const char *server_key;     /* the daemon's public key */
    const char *public_key;     /* this client's key pair */
    const char *secret_key;
} bwc_client_opts;

/* A disbursement or refund. Money is integer fen (0.01 yuan); ts is Unix s.
 * The strings are read, never kept: see each function for how long they must
 * stay valid. */
typedef struct bwc_event {
    const char *src;        /* the sending payment system, 1..64 bytes */
    const char *id;         /* unique within src, 1..128 bytes: a resend counts once */
    const char *project;    /* the plan's project code, 1..64 bytes */
    const char *unit;       /* its budget unit (up to 64 bytes), or NULL */
    const char *ref;        /* for a refund: the id of the original (up to 128 bytes), or NULL */
    int64_t amount;         /* fen, > 0 */
    int64_t ts;
    uint64_t seq;           /* per-source sequence number; 0 = none */
    int refund;             /* 0 disbursement, 1 refund */
    int other_fund;         /* 0 财政资金 (fiscal), 1 其他资金 (other) */
} bwc_event;

/* The daemon's answer to one event. Its strings belong to the client (see
 * bwc_client_send and bwc_ack_fn for how long they last). */
typedef struct bwc_ack {
    const char *src, *id;   /* the event answered */
    int status;             /* BWC_ACCEPTED, BWC_DUPLICATE or BWC_REJECTED */
    const char *reason;     /* why it was rejected, else "" */
} bwc_ack;

/* ---- the client ---- */

/* Creates a client from *opts (copied: opts and its strings may be freed
 * afterwards); no socket is opened and nothing is connected until a function
 * needs it, so a wrong endpoint shows there. opts must not be NULL. Returns the
 * client, which the caller owns and frees with bwc_client_destroy, or NULL with
 * errno set (ENOMEM, or why ZeroMQ could not make its context). */
BWC_EXPORT bwc_client *bwc_client_new(const bwc_client_opts *opts);

/* Closes the client's sockets without waiting for anything unsent, frees the
 * client and everything it handed out, and sets *c to NULL. Does nothing when
 * c or *c is NULL. */
BWC_EXPORT void bwc_client_destroy(bwc_client **c);

/* Returns the client's last error as one sentence that says what failed and
 * what to do, or "" when nothing has failed yet. A success does not clear it:
 * read it after a function returned a BWC_E* code (or bwc_client_push a count
 * above 0). Owned by the client, valid until the next call on it; never NULL. */
BWC_EXPORT const char *bwc_client_error(const bwc_client *c);

/* Returns what a return code means in general ("the daemon did not answer in
 * time"), for callers that log codes; bwc_client_error says what happened. A
 * static string, never NULL: an unknown code gives "unknown error". */
BWC_EXPORT const char *bwc_strerror(int code);

/* ---- events, on the reliable path (the events endpoint) ---- */

/* Sends one event and waits for its acknowledgement, which the daemon sends
 * only after the event is committed; while none comes it resends the event
 * (the same id: it counts once), and gives up once timeout_ms has gone by
 * without an answer. *ev and its strings are read during the call only. On
 * 0, *ack holds the answer, whose strings stay valid until the next call on
 * c; a rejected event is an answer too (status BWC_REJECTED), not an error.
 * Returns 0, or BWC_EUNREACHABLE (no answer in time: the event may or may not
 * be recorded, so send it again), BWC_EINVAL (a bad event, no events
 * endpoint, or a bad key), BWC_ENOMEM or BWC_EZMQ. */
BWC_EXPORT int bwc_client_send(bwc_client *c, const bwc_event *ev, bwc_ack *ack);

/* Called by bwc_client_push, on its thread, once for each event answered, in
 * the order the answers arrive; index is the event's position in the array.
 * *ack and its strings are valid only during the call. It must not use the
 * client. */
typedef void (*bwc_ack_fn)(void *ctx, size_t index, const bwc_ack *ack);

/* Sends the n events of ev with up to `window` unanswered at a time (0 means
 * 1) and hands each answer to fn (NULL: answers are only counted) with ctx.
 * While the daemon is away it resends what is unanswered (the same ids, so
 * nothing counts twice) with a growing pause, and gives up once retry_ms has
 * gone by without any answer. ev and its strings must stay valid until it returns
 * (resends read them again); n must fit in an int. The same (src, id) twice
 * in ev gets two answers. Events are checked as they are sent: a bad one
 * stops the push with BWC_EINVAL, after the ones before it were sent. Returns
 * how many events got no answer (0: all were answered; above 0:
 * bwc_client_error says so, and pushing them again is safe), or BWC_EINVAL (a
 * bad event, no events endpoint, or a bad key), BWC_ENOMEM or BWC_EZMQ. */
BWC_EXPORT int bwc_client_push(bwc_client *c, const bwc_event *ev, size_t n, size_t window,
                               int retry_ms, bwc_ack_fn fn, void *ctx);

/* Publishes the n events of ev, without acknowledgements, to daemons that
 * subscribe (their events_sub), each under the topic disb.UNIT.PROJECT (UNIT
 * empty when the event has none), on a PUB socket made for this call:
 * endpoint is "bind:URL" or "connect:URL" (a connect: to tcp:// uses the
 * CURVE keys). Before it returns it closes the socket, waiting up to 5 s for
 * what is unsent. A subscriber not connected yet misses what is published:
 * use bwc_client_push when every event must arrive. ev and its strings are
 * read during the call only. Returns 0, or BWC_EINVAL (endpoint without bind:
 * or connect:, a bad key, or a bad event, which stops it after the events
 * before it) or BWC_EZMQ (the endpoint cannot be bound or connected, or
 * sending failed). */
BWC_EXPORT int bwc_client_publish(bwc_client *c, const char *endpoint, const bwc_event *ev,
                                  size_t n);

/* ---- control requests (the control endpoint) ---- */

/* Sends one control request, the msgpack map of len bytes at req
 * (proto/PROTOCOL.md), and waits up to timeout_ms for the reply. On 0, *reply
 * points at the msgpack reply, *rlen bytes, owned by the client and valid
 * until the next call on c; a refusal (ok = false) is a reply too. A request
 * without an answer in time closes and reopens the socket, so the next one
 * starts clean. Returns 0, or BWC_EUNREACHABLE (no reply in time: the daemon
 * may still have carried it out), BWC_EINVAL (no control endpoint, or a bad
 * key) or BWC_EZMQ. */
BWC_EXPORT int bwc_client_request(bwc_client *c, const void *req, size_t len, const void **reply,
                                  size_t *rlen);

/* ---- the alert stream (the alerts endpoint) ---- */

/* Connects to the alert stream on the first call and subscribes to the topics
 * that start with prefix ("" for all, e.g. "alert." for the alerts); a prefix
 * other than "" also subscribes to the heartbeat "hb". Call it again to add
 * prefixes. prefix must not be NULL. ZeroMQ drops what is published before a
 * subscription is live: a heartbeat received says it is. Returns 0, or
 * BWC_EINVAL (no alerts endpoint, or a bad key) or BWC_EZMQ. */
BWC_EXPORT int bwc_client_subscribe(bwc_client *c, const char *prefix);

/* Waits up to timeout_ms (0: not at all, -1: without end) for the next message
 * on the alert stream. Returns 1 with *topic (NUL-terminated; cut to 255
 * bytes) and the msgpack *body of *len bytes, all owned by the client and
 * valid until the next call on c; 0 when nothing came in time or a signal cut
 * the wait short; or BWC_EINVAL (bwc_client_subscribe was not called),
 * BWC_EPROTO (a message that is not a topic and a body) or BWC_EZMQ. With
 * timeout_ms 0 it only looks (ZMQ_EVENTS): that is how a loop woken by
 * bwc_client_fd drains the stream. */
BWC_EXPORT int bwc_client_next(bwc_client *c, int timeout_ms, const char **topic,
                               const void **body, size_t *len);

/* Gives a file descriptor an event loop (libuv's uv_poll_t, epoll, poll) can
 * wait on for the alert stream, instead of calling bwc_client_next on a
 * timer. It is ZeroMQ's ZMQ_FD of the subscription socket, owned by the
 * client: never read, write or close it; it lasts until bwc_client_destroy.
 * Call bwc_client_subscribe first.
 *
 * Its contract is ZeroMQ's and it is edge-triggered, so read it this way:
 *  - wait for it to be readable (only readable; it is never writable for you);
 *  - then call bwc_client_next(c, 0, ...) again and again until it returns 0.
 *    Only a 0 (which means ZMQ_EVENTS has no POLLIN) re-arms the descriptor: a
 *    loop that stops earlier, with messages still queued, is not woken for
 *    them again. A loop that must stop (to bound one turn) schedules its own
 *    next turn, for example with a zero timer, and drains on there;
 *  - a wake-up with nothing to read is normal (the descriptor also signals
 *    ZeroMQ's internal commands): the first call then returns 0 at once;
 *  - BWC_EPROTO means one unreadable message was taken off: keep draining.
 * Drain once right after bwc_client_subscribe too: what arrived before the
 * loop watched the descriptor made no edge the loop could see.
 * Returns the descriptor (0 or more), or BWC_EINVAL (bwc_client_subscribe was
 * not called) or BWC_EZMQ (ZeroMQ would not give it). */
BWC_EXPORT int bwc_client_fd(bwc_client *c);

#ifdef __cplusplus
}
#endif
#endif
