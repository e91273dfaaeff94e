/* stream: the daemon's alert stream (SUB, topics "alert." and "hb") inside
 * the libuv loop. ZMQ_FD is edge-triggered and signals only after a read has
 * found the socket empty, so each wake-up reads until EAGAIN (and once right
 * after connecting). Each alert is handed on as JSON (every key the daemon
 * sent, so keys of a newer daemon reach the browser too); each heartbeat
 * moves the stream's clock. */
#ifndef BWW_STREAM_H
#define BWW_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "model.h"

/* An alert message: a is the message decoded (NULL when this build cannot
 * read it, e.g. a kind it does not know), json all of it as the daemon sent it. */
typedef void (*bww_alert_fn)(void *ctx, const bww_alert *a, uint64_t seq, const char *json,
                             size_t len);
/* A heartbeat: the last seq the daemon published. */
typedef void (*bww_heartbeat_fn)(void *ctx, uint64_t seq);

typedef struct bww_stream {
    void *zctx, *sock;
    uv_poll_t poll;
    bool polling;
    bww_alert_fn on_alert;
    bww_heartbeat_fn on_heartbeat;
    void *ctx;
    uint64_t seq;               /* the last alert seq seen (alert or heartbeat) */
    int64_t daemon_at;          /* the daemon's clock in its last heartbeat */
    int64_t heard_at;           /* when (wall clock) the last message came */
} bww_stream;

/* Connects to cfg->alerts (CURVE on tcp:// when a server key is set) and
 * watches it on loop. 0, or -1 with why. */
int bww_stream_open(bww_stream *s, uv_loop_t *loop, const bww_config *cfg, bww_alert_fn fn,
                    bww_heartbeat_fn hb, void *ctx, char *why, size_t whylen);
/* Stops watching; the socket is closed once the poll handle is (uv_close). */
void bww_stream_close(bww_stream *s);

#endif
