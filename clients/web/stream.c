/* stream: the alert stream under uv_poll (stream.h). */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "model.h"
#include "proto.h"
#include "text.h"

static void handle(bww_stream *s, const char *topic, size_t tlen, const char *body, size_t blen)
{
    s->heard_at = (int64_t)time(NULL);
    if (tlen == 2 && memcmp(topic, "hb", 2) == 0) {
        bw_heartbeat hb;
        char why[BW_WHY_MAX];
        if (bw_heartbeat_decode(body, blen, &hb, why, sizeof why) == 0) {
            s->daemon_at = hb.at;
            if (hb.seq > s->seq)
                s->seq = hb.seq;
            s->on_heartbeat(s->ctx, hb.seq);
        }
        return;
    }
    msgpack_unpacked u;
    char why[BW_WHY_MAX];
    const msgpack_object *m = bw_reply_unpack(body, blen, &u, why, sizeof why);
    if (m != NULL) {
        uint64_t seq = 0;
        bw_map_get_uint(m, "seq", &seq);
        if (seq > s->seq)
            s->seq = seq;
        bww_alert a;
        memset(&a, 0, sizeof a);
        bool known = bw_alert_from_object(m, &a.m, why, sizeof why) == 0;
        if (known) {
            bw_map_get_str(m, "band", a.band, sizeof a.band);
            bw_map_get_str(m, "handling", a.handling, sizeof a.handling);
        }
        bww_buf j = { 0 };
        bww_json_of(&j, m);
        if (!j.oom && j.len > 0)
            s->on_alert(s->ctx, known ? &a : NULL, seq, j.data, j.len);
        bww_buf_free(&j);
    } else {
        fprintf(stderr, "budgetwatch-web: an alert on the stream cannot be read (%s); skipped\n", why);
    }
    msgpack_unpacked_destroy(&u);
}

/* Reads every message waiting; frames beyond two are read and dropped. */
static void drain(bww_stream *s)
{
    for (;;) {
        zmq_msg_t f[2];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, s->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                for (int i = 0; i < n && i < 2; i++)
                    zmq_msg_close(&f[i]);
                return;     /* EAGAIN: empty, the edge is armed again */
            }
            more = zmq_msg_more(&part);
            if (n < 2)
                f[n] = part;
            else
                zmq_msg_close(&part);
            n++;
        }
        if (n == 2)
            handle(s, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), zmq_msg_data(&f[1]),
                   zmq_msg_size(&f[1]));
        for (int i = 0; i < n && i < 2; i++)
            zmq_msg_close(&f[i]);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    drain(h->data);
}

int bww_stream_open(bww_stream *s, uv_loop_t *loop, const bww_config *cfg, bww_alert_fn fn,
                    bww_heartbeat_fn hb, void *ctx, char *why, size_t whylen)
{
    memset(s, 0, sizeof *s);
    s->on_alert = fn;
    s->on_heartbeat = hb;
    s->ctx = ctx;
    s->zctx = zmq_ctx_new();
    s->sock = s->zctx ? zmq_socket(s->zctx, ZMQ_SUB) : NULL;
    if (s->sock == NULL) {
        snprintf(why, whylen, "cannot make a SUB socket for the alert stream: %s",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (strncmp(cfg->alerts, "tcp://", 6) == 0 && cfg->server_key[0] &&
        (zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, cfg->server_key, strlen(cfg->server_key)) ||
         zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, cfg->public_key, strlen(cfg->public_key)) ||
         zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, cfg->secret_key, strlen(cfg->secret_key)))) {
        snprintf(why, whylen, "cannot use CURVE on the alert stream %s: %s (are server_key, "
                 "public_key and secret_key valid Z85 keys of 40 characters?)", cfg->alerts,
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    if (zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "alert.", 6) ||
        zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "hb", 2) || zmq_connect(s->sock, cfg->alerts)) {
        snprintf(why, whylen, "cannot connect to the alert stream %s: %s; set [daemon] alerts to "
                 "the daemon's alerts_pub", cfg->alerts, zmq_strerror(zmq_errno()));
        return -1;
    }
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(s->sock, ZMQ_FD, &fd, &fdlen) || uv_poll_init(loop, &s->poll, fd) ||
        uv_poll_start(&s->poll, UV_READABLE, on_poll)) {
        snprintf(why, whylen, "cannot watch the alert stream's socket in the loop");
        return -1;
    }
    s->poll.data = s;
    s->polling = true;
    drain(s);
    return 0;
}

static void closed(uv_handle_t *h)
{
    bww_stream *s = h->data;
    zmq_close(s->sock);
    zmq_ctx_term(s->zctx);
    s->sock = s->zctx = NULL;
}

void bww_stream_close(bww_stream *s)
{
    if (s->polling) {
        s->polling = false;
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *)&s->poll, closed);
        return;
    }
    if (s->sock)
        zmq_close(s->sock);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    s->sock = s->zctx = NULL;
}
