/* notifier: the service's shell (see notifier.h).
 *
 * One stream turn takes what the subscription holds, in one outbox
 * transaction: an alert is kept, queued for each receiver its
 * routes name, and the last seq moves on, together or not at all. A gap (a
 * seq jump on the stream, a heartbeat ahead of the last seq, a restart) is
 * filled from the daemon's `history` with `after_seq`, page by page, so the
 * outbox takes every message once and in order. A turn runs when the
 * subscription's descriptor (bwc_client_fd, under a uv_poll_t) wakes the
 * loop, and drains until bwc_client_next says nothing is there, as that
 * edge-triggered descriptor asks; the stream timer is one-shot, for what a
 * turn leaves: the first drain at start, the rest of a drain cut at its bound,
 * and the next try of a catch-up that failed.
 *
 * The tick timer makes digests of the groups that are due and starts one
 * delivery per receiver that its limit allows; each delivery's answer is
 * kept as an attempt, and decides between sent, a retry after a backoff, a
 * wait the receiver asked for, and failed once the notification is older
 * than max_age. */
#include "notifier.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>
#include <uv.h>
#include <zmq.h>

#include "backoff.h"
#include "budgetwatch.h"
#include "config.h"
#include "http.h"
#include "outbox.h"
#include "payload.h"
#include "proto.h"
#include "query.h"
#include "rate.h"
#include "route.h"
#include "sign.h"
#include "text.h"

typedef struct delivery delivery;

typedef struct rstate {
    bwn_rate rate;
    bool busy;
    delivery *inflight;         /* the one delivery under way, freed at a stop */
    int64_t hold_until;         /* a rate-limit answer's wait */
} rstate;

typedef struct notifier notifier;

struct delivery {
    notifier *n;
    char receiver[64];
    int64_t note, attempt, created_ms;
    int attempts;
    CURL *easy;
    struct curl_slist *hdr, *rcpt;
    char *body;
    size_t blen, off;           /* e-mail: how much curl has read */
    char resp[2048];
    size_t rlen;
    char retry_after[64];
    char url[2048];
    char errbuf[CURL_ERROR_SIZE];
    bool test;                  /* --test: nothing in the outbox */
    int *test_rc;
};

struct notifier {
    uv_loop_t *loop;
    uv_timer_t stream, tick, watchdog;  /* stream: one-shot, see stream_turn */
    uv_poll_t stream_fd;                /* the subscription's ZMQ_FD */
    void *zctx, *qsock;                 /* the query endpoint's REP socket, or NULL */
    uv_poll_t query_fd;                 /* its ZMQ_FD */
    uv_timer_t query_again;             /* a drain cut at its bound goes on */
    uv_signal_t sig_term, sig_int, sig_hup;
    const char *conf_path;
    bwn_config cfg;
    bwn_outbox *ob;
    bwc_client *client;
    bwn_http *http;
    rstate rs[BWN_RECEIVERS_MAX];
    delivery *orphans[BWN_RECEIVERS_MAX];   /* in flight to receivers a reload removed */
    int norphans;
    uint64_t last_seq;
    bool need_catchup, ready, stopping;
    int64_t catchup_after_ms;   /* a failed catch-up is retried from then */
    int64_t catchup_wait_ms;    /* and the wait doubles, to a minute */
    char hostname[256];
    int64_t taken, delivered, failed;
    int exit_code;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("budgetwatch-notify: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- taking alerts ---- */

static const bwn_route *route_named(const bwn_config *c, const char *name)
{
    for (int i = 0; i < c->nroutes; i++)
        if (!strcmp(c->routes[i].name, name))
            return &c->routes[i];
    return NULL;
}

/* Keeps one alert and queues it; inside the caller's transaction. */
static int take(notifier *n, const void *raw, size_t len, const bwn_alert *a, int64_t now)
{
    int fresh = bwn_outbox_add_alert(n->ob, a, raw, len, now);
    if (fresh < 0)
        return -1;
    if (fresh == 0)
        return 0;
    char key[200];
    bwn_alert_key(a, key, sizeof key);
    bool reminder;
    if (bwn_outbox_is_reminder(n->ob, key, a, &reminder))
        return -1;
    bool given[BWN_RECEIVERS_MAX] = { false };
    for (int i = 0; i < n->cfg.nroutes; i++) {
        const bwn_route *r = &n->cfg.routes[i];
        if (!bwn_route_match(r, a) || (reminder && !r->repeat))
            continue;
        char group[256];
        bwn_route_group_key(r, a, group, sizeof group);
        int64_t due = bwn_route_unmuted_at(r, a->severity, now, n->cfg.utc_offset_s,
                                           n->cfg.holidays, n->cfg.nholidays);
        for (int k = 0; k < r->receivers.n; k++) {
            int ri = bwn_config_receiver(&n->cfg, r->receivers.w[k]);
            if (ri < 0 || given[ri])
                continue;
            given[ri] = true;
            if (bwn_outbox_queue(n->ob, n->cfg.receivers[ri].name, a->seq, r->name, group, now, due))
                return -1;
        }
    }
    n->taken++;
    return 0;
}

static int take_raw(notifier *n, const void *raw, size_t len, int64_t now)
{
    bwn_alert a;
    char why[256];
    if (bwn_alert_from_msgpack(raw, len, &a, why, sizeof why)) {
        /* Passed over for good when its seq can be read, else every
         * heartbeat would ask for it again. */
        say("alert %" PRIu64 " from %s is unreadable (%s); it is not delivered", a.seq,
            n->cfg.control, why);
        if (a.seq > n->last_seq)
            n->last_seq = a.seq;
        return 0;
    }
    if (a.seq <= n->last_seq)
        return 0;
    if (take(n, raw, len, &a, now))
        return -1;
    n->last_seq = a.seq;
    return 0;
}

/* Reads what was missed with history after_seq, a page a transaction. */
static int catch_up(notifier *n)
{
    for (int pages = 0; pages < 1000; pages++) {
        bw_ctl_req q = { .op = BW_OP_HISTORY, .limit = (uint32_t)n->cfg.catchup_page,
                         .has_after_seq = true, .after_seq = n->last_seq };
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        if (bw_ctl_req_encode(&q, &sb)) {
            msgpack_sbuffer_destroy(&sb);
            return -1;
        }
        const void *reply;
        size_t rlen;
        int rc = bwc_client_request(n->client, sb.data, sb.size, &reply, &rlen);
        msgpack_sbuffer_destroy(&sb);
        if (rc) {
            say("catching up after alert %" PRIu64 ": %s; trying again later", n->last_seq,
                bwc_client_error(n->client));
            return -1;
        }
        msgpack_unpacked u;
        char why[256];
        const msgpack_object *m = bw_reply_unpack(reply, rlen, &u, why, sizeof why);
        if (m == NULL) {
            say("catching up: the reply from %s is unreadable (%s); trying again later",
                n->cfg.control, why);
            return -1;
        }
        bool ok = false, truncated = false;
        bw_map_get_bool(m, "ok", &ok);
        if (!ok) {
            char e[512] = "";
            bw_map_get_str(m, "error", e, sizeof e);
            say("catching up: %s refused history after_seq=%" PRIu64 ": %s (is the daemon older "
                "than this notifier?); trying again later", n->cfg.control, n->last_seq, e);
            msgpack_unpacked_destroy(&u);
            return -1;
        }
        bw_map_get_bool(m, "truncated", &truncated);
        const msgpack_object *list = bw_map_get(m, "alerts");
        int64_t now = now_ms();
        uint64_t before = n->last_seq;
        if (bwn_outbox_begin(n->ob)) {
            msgpack_unpacked_destroy(&u);
            return -1;
        }
        int bad = 0;
        for (uint32_t i = 0; !bad && list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size; i++) {
            /* Re-pack the one message: the outbox keeps it as published. */
            msgpack_sbuffer one;
            msgpack_sbuffer_init(&one);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &one, msgpack_sbuffer_write);
            msgpack_pack_object(&pk, list->via.array.ptr[i]);
            bad = take_raw(n, one.data, one.size, now);
            msgpack_sbuffer_destroy(&one);
        }
        msgpack_unpacked_destroy(&u);
        if (bad || bwn_outbox_set_last_seq(n->ob, n->last_seq) || bwn_outbox_commit(n->ob)) {
            say("%s", bwn_outbox_error(n->ob));
            bwn_outbox_rollback(n->ob);
            n->last_seq = before;
            return -1;
        }
        if (n->last_seq > before)
            say("caught up alerts %" PRIu64 "..%" PRIu64 " from the daemon's history", before + 1,
                n->last_seq);
        if (!truncated)
            return 0;
    }
    return 0;
}

static void on_stream_timer(uv_timer_t *t);

/* Takes what the stream holds and catches up when a gap showed. The
 * descriptor wakes the loop again only after a drain that ended with nothing
 * left (bwc_client_fd), so a turn that stops before that (its bound of 2000
 * messages, an error) or leaves a catch-up to retry sets the one-shot stream
 * timer for its next turn. */
static void stream_turn(notifier *n)
{
    int64_t now = now_ms();
    bool open = false, drained = false, trouble = false;
    for (int i = 0; i < 2000; i++) {
        const char *topic;
        const void *body;
        size_t len;
        int got = bwc_client_next(n->client, 0, &topic, &body, &len);
        if (got == BWC_EPROTO) {
            /* One unreadable message was taken off; the rest still count. */
            say("the alert stream %s: %s; it is skipped", n->cfg.alerts, bwc_client_error(n->client));
            continue;
        }
        if (got < 0) {
            say("the alert stream %s: %s", n->cfg.alerts, bwc_client_error(n->client));
            trouble = true;
            break;
        }
        if (got == 0) {
            drained = true;
            break;
        }
        if (!strcmp(topic, "hb")) {
            bw_heartbeat hb;
            char why[256];
            if (bw_heartbeat_decode(body, len, &hb, why, sizeof why) == 0 && hb.seq > n->last_seq)
                n->need_catchup = true;
            continue;
        }
        if (n->need_catchup)
            continue;       /* history brings it, in order */
        bwn_alert a;
        char why[256];
        if (bwn_alert_from_msgpack(body, len, &a, why, sizeof why)) {
            say("an alert on %s is unreadable (%s); it is skipped", n->cfg.alerts, why);
            continue;
        }
        if (a.seq <= n->last_seq)
            continue;
        if (a.seq > n->last_seq + 1) {
            n->need_catchup = true;
            continue;
        }
        if (!open) {
            if (bwn_outbox_begin(n->ob)) {
                say("%s", bwn_outbox_error(n->ob));
                n->need_catchup = true;
                trouble = true;
                break;
            }
            open = true;
        }
        uint64_t before = n->last_seq;
        if (take(n, body, len, &a, now)) {
            say("%s; the alert is read again from the daemon's history", bwn_outbox_error(n->ob));
            n->last_seq = before;
            n->need_catchup = true;
            trouble = true;
            break;
        }
        n->last_seq = a.seq;
    }
    if (open) {
        if (bwn_outbox_set_last_seq(n->ob, n->last_seq) || bwn_outbox_commit(n->ob)) {
            say("%s; the alerts are read again from the daemon's history", bwn_outbox_error(n->ob));
            bwn_outbox_rollback(n->ob);
            if (bwn_outbox_last_seq(n->ob, &n->last_seq))
                n->last_seq = 0;
            n->need_catchup = true;
        }
    }
    bool tried = false;
    if (n->need_catchup && now >= n->catchup_after_ms) {
        tried = true;
        if (catch_up(n) == 0) {
            n->need_catchup = false;
            n->catchup_wait_ms = 0;
            /* What the stream brought during the request is in history's
             * range now: a drain passes over it and re-arms the descriptor. */
            drained = false;
        } else {
            /* Each try blocks the loop up to the request timeout: back off to
             * a minute, so deliveries go on while the daemon is away. */
            n->catchup_wait_ms = n->catchup_wait_ms ? n->catchup_wait_ms * 2 : 2000;
            if (n->catchup_wait_ms > 60000)
                n->catchup_wait_ms = 60000;
            n->catchup_after_ms = now_ms() + n->catchup_wait_ms;
        }
    }
    /* Ready after the first catch-up, or the first try at it: a daemon that is
     * down must not keep the outbox's deliveries from starting. */
    if (!n->ready && (tried || !n->need_catchup)) {
        n->ready = true;
        say("ready: %d receivers, %d routes, last alert taken %" PRIu64 "%s", n->cfg.nreceivers,
            n->cfg.nroutes, n->last_seq, n->need_catchup ? " (the daemon did not answer; trying again)" : "");
        sd_notify(0, n->need_catchup ? "READY=1\nSTATUS=delivering; the daemon did not answer yet"
                                     : "READY=1\nSTATUS=delivering");
    }
    int64_t wait = -1;
    if (!drained)
        wait = trouble ? 1000 : 0;  /* an error: not a busy loop while it lasts */
    if (n->need_catchup) {
        int64_t c = n->catchup_after_ms - now_ms();
        c = c < 0 ? 0 : c;
        wait = wait < 0 || c < wait ? c : wait;
    }
    if (n->stopping)
        return;
    if (wait >= 0)
        uv_timer_start(&n->stream, on_stream_timer, (uint64_t)wait, 0);
    else
        uv_timer_stop(&n->stream);
}

static void on_stream_timer(uv_timer_t *t)
{
    stream_turn(t->data);
}

static void on_stream_fd(uv_poll_t *h, int status, int events)
{
    (void)events;
    notifier *n = h->data;
    if (status < 0)     /* cannot happen with an eventfd; the drain finds out anyway */
        say("waiting on the alert stream %s: %s", n->cfg.alerts, uv_strerror(status));
    stream_turn(n);
}

/* ---- the query endpoint ---- */

/* The query endpoint ([notify] query): a REP socket whose ZMQ_FD is under
 * query_fd. Like the stream's, that descriptor is edge-triggered: a wake
 * drains every request there is (ZMQ_EVENTS says whether one waits) before
 * the loop waits again. Each request is one outbox read, answered at once;
 * it never writes, so it cannot disturb a stream turn. */
static int q_alert(void *ctx, uint64_t seq, const char *kind, const char *state, const char *project)
{
    bwn_reply_alert(ctx, seq, kind, state, project);
    return 0;
}

static int q_attempt(void *ctx, int64_t started, int64_t ended, const char *result, long status,
                     const char *answer)
{
    bwn_reply_attempt(ctx, started, ended, result, status, answer);
    return 0;
}

typedef struct qctx {
    notifier *n;
    bwn_reply r;
    bool oom;                   /* the reply ran out of memory (not the outbox's error) */
} qctx;

static int q_row(void *ctx, const bwn_log_row *row)
{
    qctx *q = ctx;
    int ri = bwn_config_receiver(&q->n->cfg, row->receiver);
    bwn_reply_note_begin(&q->r, row, ri < 0 ? "" : bwn_rtype_name(q->n->cfg.receivers[ri].type));
    if (bwn_outbox_note_alerts(q->n->ob, row->id, q_alert, &q->r))
        return -1;
    if (bwn_reply_attempts_begin(&q->r)) {
        q->oom = true;
        return -1;
    }
    if (bwn_outbox_note_attempts(q->n->ob, row->id, q_attempt, &q->r))
        return -1;
    if (bwn_reply_note_end(&q->r)) {
        q->oom = true;
        return -1;
    }
    return 0;
}

/* The reply to one request, into *out (the caller destroys it). */
static void query_answer(notifier *n, const void *req, size_t len, msgpack_sbuffer *out)
{
    bwn_query q;
    char why[300], err[1200];
    msgpack_sbuffer_init(out);
    if (bwn_query_decode(req, len, &q, why, sizeof why)) {
        snprintf(err, sizeof err, "bad request to %s: %s", n->cfg.query, why);
        if (bwn_reply_error(out, err))
            say("out of memory answering a request on %s", n->cfg.query);
        return;
    }
    qctx c = { .n = n };
    bwn_reply_open(&c.r);
    bool more = false;
    int rc = bwn_outbox_find(n->ob, &q.filter, q_row, &c, &more);
    if (rc == 0 && bwn_reply_close(&c.r, more) == 0) {
        msgpack_sbuffer_destroy(out);
        *out = c.r.out;         /* handed over: out is the caller's now */
        msgpack_sbuffer_init(&c.r.out);
        bwn_reply_free(&c.r);
        return;
    }
    bwn_reply_free(&c.r);
    snprintf(err, sizeof err, "the log cannot be read now: %s; ask again",
             rc && !c.oom ? bwn_outbox_error(n->ob) : "out of memory");
    say("a request on %s: %s", n->cfg.query, err);
    if (bwn_reply_error(out, err))
        say("out of memory answering a request on %s", n->cfg.query);
}

static void on_query_fd(uv_poll_t *h, int status, int events);

static void on_query_again(uv_timer_t *t)
{
    notifier *n = t->data;
    on_query_fd(&n->query_fd, 0, 0);
}

static void on_query_fd(uv_poll_t *h, int status, int events)
{
    (void)events;
    notifier *n = h->data;
    if (status < 0)
        say("waiting on %s: %s", n->cfg.query, uv_strerror(status));
    for (int i = 0; i < 1000; i++) {
        int ev = 0;
        size_t evlen = sizeof ev;
        if (zmq_getsockopt(n->qsock, ZMQ_EVENTS, &ev, &evlen) != 0) {
            say("%s: %s", n->cfg.query, zmq_strerror(zmq_errno()));
            return;
        }
        if (!(ev & ZMQ_POLLIN))
            return;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, n->qsock, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&m);
            if (e != EAGAIN)
                say("reading a request on %s: %s", n->cfg.query, zmq_strerror(e));
            return;
        }
        msgpack_sbuffer out;
        query_answer(n, zmq_msg_data(&m), zmq_msg_size(&m), &out);
        zmq_msg_close(&m);
        /* A REP must answer before it reads again; the answer goes out now
         * or the peer is gone (then zmq drops it). */
        if (zmq_send(n->qsock, out.data ? out.data : "", out.size, ZMQ_DONTWAIT) < 0)
            say("answering a request on %s: %s", n->cfg.query, zmq_strerror(zmq_errno()));
        msgpack_sbuffer_destroy(&out);
    }
    /* 1000 in one wake: the rest after the loop has looked at the others. */
    uv_timer_start(&n->query_again, on_query_again, 0, 0);
}

static int query_open(notifier *n)
{
    if (!n->cfg.query[0])
        return 0;
    n->zctx = zmq_ctx_new();
    n->qsock = n->zctx ? zmq_socket(n->zctx, ZMQ_REP) : NULL;
    int linger = 0, fd = -1;
    size_t fdlen = sizeof fd;
    const char *path = n->cfg.query + 6;
    /* The path a crash left would refuse the bind: it is this program's. */
    if (n->qsock == NULL || zmq_setsockopt(n->qsock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_bind(n->qsock, n->cfg.query) || zmq_getsockopt(n->qsock, ZMQ_FD, &fd, &fdlen)) {
        say("cannot serve the log on %s: %s; is the directory there and writable?", n->cfg.query,
            zmq_strerror(zmq_errno()));
        return -1;
    }
    /* Only this user and its group may read the log (the console runs in that group). */
    if (chmod(path, 0660) != 0) {
        say("cannot restrict %s to its group (chmod 0660): %s", path, strerror(errno));
        return -1;
    }
    int rc = uv_poll_init(n->loop, &n->query_fd, fd);
    n->query_fd.data = n;
    if (rc == 0)
        rc = uv_poll_start(&n->query_fd, UV_READABLE, on_query_fd);
    if (rc == 0)
        rc = uv_timer_init(n->loop, &n->query_again);
    n->query_again.data = n;
    if (rc != 0) {
        say("cannot wait on %s: %s", n->cfg.query, uv_strerror(rc));
        return -1;
    }
    say("serving the log on %s", n->cfg.query);
    return 0;
}

/* ---- digests ---- */

typedef struct group_ref {
    char receiver[64], route[64], key[256];
    int64_t first;
} group_ref;

typedef struct groups {
    group_ref *g;
    size_t n, cap;
} groups;

static int collect_group(void *ctx, const char *receiver, const char *route, const char *key,
                         int64_t first)
{
    groups *gs = ctx;
    if (gs->n == gs->cap) {
        size_t cap = gs->cap ? gs->cap * 2 : 16;
        group_ref *g = realloc(gs->g, cap * sizeof *g);
        if (g == NULL)
            return 1;
        gs->g = g;
        gs->cap = cap;
    }
    group_ref *r = &gs->g[gs->n++];
    snprintf(r->receiver, sizeof r->receiver, "%s", receiver);
    snprintf(r->route, sizeof r->route, "%s", route);
    snprintf(r->key, sizeof r->key, "%s", key);
    r->first = first;
    return 0;
}

typedef struct items {
    bwn_item *it;
    size_t n, cap;
} items;

static int collect_item(void *ctx, uint64_t seq, const void *raw, size_t len)
{
    items *is = ctx;
    if (is->n == is->cap) {
        size_t cap = is->cap ? is->cap * 2 : 64;
        bwn_item *it = realloc(is->it, cap * sizeof *it);
        if (it == NULL)
            return 1;
        is->it = it;
        is->cap = cap;
    }
    bwn_item *x = &is->it[is->n];
    char why[256];
    void *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return 1;
    memcpy(copy, raw, len);
    if (bwn_alert_from_msgpack(copy, len, &x->a, why, sizeof why)) {
        free(copy);
        return 1;       /* it was readable when it was taken */
    }
    x->a.seq = seq;
    x->raw = copy;
    x->rawlen = len;
    is->n++;
    return 0;
}

static void items_free(items *is)
{
    for (size_t i = 0; i < is->n; i++)
        free((void *)is->it[i].raw);
    free(is->it);
}

/* Makes the group's digest (one notification per part) in one transaction. */
static int make_digest(notifier *n, const group_ref *g, const bwn_receiver *r,
                       const bwn_route *route, int64_t now, bool repost)
{
    items is = { 0 };
    size_t *lens = NULL, *starts = NULL;
    int rc = -1;
    if (bwn_outbox_begin(n->ob))
        return -1;
    if (repost ? bwn_outbox_firing_each(n->ob, g->receiver, collect_item, &is)
               : bwn_outbox_group_items(n->ob, g->receiver, g->route, g->key, now, collect_item, &is))
        goto out;
    if (is.n == 0) {
        rc = repost ? bwn_outbox_group_set_last(n->ob, g->receiver, g->route, g->key, now) : 0;
        goto out;
    }
    lens = calloc(is.n, sizeof *lens);
    starts = calloc(is.n + 1, sizeof *starts);
    if (!lens || !starts)
        goto out;
    char label[300], head[200];
    bwn_route_group_label(route, &is.it[0].a, label, sizeof label);
    /* The title says what the alerts are when they are all alike: kind,
     * band, handling step ("… · 进度滞后 红一档"). */
    bwn_payload_headline(is.it, is.n, head, sizeof head);
    if (head[0]) {
        size_t ll = strlen(label);
        snprintf(label + ll, sizeof label - ll, " · %s", head);
    }
    bwn_digest d = { r, route, 0, g->key, label, 0, 0, is.n, now, n->cfg.utc_offset_s, n->hostname };
    size_t overhead;
    bwn_payload_measure(&d, is.it, is.n, lens, &overhead);
    size_t parts = bwn_text_split(lens, is.n, overhead, r->max_bytes, starts);
    d.parts = parts;
    for (size_t p = 0; p < parts; p++) {
        size_t from = starts[p], to = starts[p + 1];
        char title[512];
        bwn_text_title(label, is.n, p + 1, parts, title, sizeof title);
        if (bwn_outbox_note_new(n->ob, r->name, g->route, g->key, title, to - from, now, &d.id))
            goto out;
        d.part = p + 1;
        char *payload = bwn_payload_make(&d, is.it + from, to - from);
        if (payload == NULL) {
            say("out of memory making notification #%lld", (long long)d.id);
            goto out;
        }
        int bad = bwn_outbox_note_payload(n->ob, d.id, payload, strlen(payload));
        free(payload);
        for (size_t i = from; !bad && !repost && i < to; i++)
            bad = bwn_outbox_assign(n->ob, r->name, is.it[i].a.seq, d.id);
        if (bad)
            goto out;
    }
    if (bwn_outbox_group_set_last(n->ob, g->receiver, g->route, g->key, now))
        goto out;
    rc = 0;
out:
    if (rc == 0 && bwn_outbox_commit(n->ob) == 0) {
        /* committed */
    } else {
        if (rc == 0)
            rc = -1;
        say("%s; the digest is made again on the next tick", bwn_outbox_error(n->ob));
        bwn_outbox_rollback(n->ob);
    }
    free(lens);
    free(starts);
    items_free(&is);
    return rc;
}

static void make_digests(notifier *n, int64_t now)
{
    groups gs = { 0 };
    if (bwn_outbox_groups_each(n->ob, now, collect_group, &gs)) {
        say("%s", bwn_outbox_error(n->ob));
        free(gs.g);
        return;
    }
    for (size_t i = 0; i < gs.n; i++) {
        const group_ref *g = &gs.g[i];
        int ri = bwn_config_receiver(&n->cfg, g->receiver);
        if (ri < 0)
            continue;       /* removed by a reload: its queue waits for it to come back */
        const bwn_route *route = route_named(&n->cfg, g->route);
        static const bwn_route gone = { .name = "", .group_wait_ms = 0, .group_interval_ms = 0 };
        if (route == NULL)
            route = &gone;  /* its route was removed by a reload: send what it queued */
        int64_t last;
        if (bwn_outbox_group_last(n->ob, g->receiver, g->route, g->key, &last)) {
            say("%s", bwn_outbox_error(n->ob));
            continue;
        }
        if (bwn_route_group_due(route, g->first, last) <= now)
            (void)make_digest(n, g, &n->cfg.receivers[ri], route, now, false);
    }
    free(gs.g);
}

/* Alertmanager resolves an alert nobody posts again within resolve_timeout:
 * each Alertmanager receiver gets the alerts still firing again every half
 * of it (the queue is not touched: these are the same alerts, posted again). */
static void make_reposts(notifier *n, int64_t now)
{
    for (int i = 0; i < n->cfg.nreceivers; i++) {
        const bwn_receiver *r = &n->cfg.receivers[i];
        if (r->type != BWN_ALERTMANAGER)
            continue;
        group_ref g = { .first = now };
        snprintf(g.receiver, sizeof g.receiver, "%s", r->name);
        snprintf(g.route, sizeof g.route, "_repost");
        int64_t last;
        if (bwn_outbox_group_last(n->ob, g.receiver, g.route, g.key, &last)) {
            say("%s", bwn_outbox_error(n->ob));
            continue;
        }
        if (last == 0) {
            /* The first turn only starts the clock: what fires was just posted. */
            if (bwn_outbox_group_set_last(n->ob, g.receiver, g.route, g.key, now))
                say("%s", bwn_outbox_error(n->ob));
            continue;
        }
        static const bwn_route repost = { .name = "_repost" };
        if (now - last >= r->resolve_timeout_ms / 2)
            (void)make_digest(n, &g, r, &repost, now, true);
    }
}

/* ---- deliveries ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    delivery *s = ud;
    size_t n = size * nmemb;
    size_t room = sizeof s->resp - 1 - s->rlen;
    size_t take = n < room ? n : room;
    memcpy(s->resp + s->rlen, p, take);
    s->rlen += take;
    s->resp[s->rlen] = '\0';
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    delivery *s = ud;
    size_t n = size * nmemb;
    if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        size_t k = 12;
        while (k < n && (p[k] == ' ' || p[k] == '\t'))
            k++;
        size_t e = n;
        while (e > k && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
            e--;
        snprintf(s->retry_after, sizeof s->retry_after, "%.*s", (int)(e - k), p + k);
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    delivery *s = ud;
    size_t room = size * nitems, left = s->blen - s->off;
    size_t take = left < room ? left : room;
    memcpy(buf, s->body + s->off, take);
    s->off += take;
    return take;
}

static void send_free(delivery *s)
{
    if (s->easy)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->hdr);
    curl_slist_free_all(s->rcpt);
    free(s->body);
    free(s);
}

/* "Name <a@b>" or "a@b" → "<a@b>" */
static void angle(const char *in, char *out, size_t len)
{
    const char *lt = strchr(in, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        snprintf(out, len, "%.*s", (int)(gt - lt + 1), lt);
    else {
        while (*in == ' ')
            in++;
        size_t k = strlen(in);
        while (k > 0 && in[k - 1] == ' ')
            k--;
        snprintf(out, len, "<%.*s>", (int)k, in);
    }
}

static int setup(delivery *s, const bwn_receiver *r, int64_t now)
{
    CURL *e = s->easy = curl_easy_init();
    if (e == NULL)
        return -1;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
    if (r->ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, r->ca_file);
    if (r->type == BWN_EMAIL) {
        char addr[300];
        angle(r->from, addr, sizeof addr);
        curl_easy_setopt(e, CURLOPT_URL, r->url);
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, addr);
        char to[1024];
        snprintf(to, sizeof to, "%s", r->to);
        for (char *t = strtok(to, ","); t; t = strtok(NULL, ",")) {
            angle(t, addr, sizeof addr);
            struct curl_slist *l = curl_slist_append(s->rcpt, addr);
            if (l == NULL)
                return -1;
            s->rcpt = l;
        }
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s->rcpt);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, s);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->blen);
        if (r->tls == BWN_TLS_STARTTLS)
            curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        if (r->username[0]) {
            curl_easy_setopt(e, CURLOPT_USERNAME, r->username);
            curl_easy_setopt(e, CURLOPT_PASSWORD, r->password);
        }
        return 0;
    }
    if (r->type == BWN_DINGTALK) {
        char sign[128];
        if (bwn_sign_dingtalk(r->secret, now, sign, sizeof sign))
            return -1;
        snprintf(s->url, sizeof s->url, "%s%stimestamp=%lld&sign=%s", r->url,
                 strchr(r->url, '?') ? "&" : "?", (long long)now, sign);
    } else if (r->type == BWN_ALERTMANAGER) {
        size_t ul = strlen(r->url);
        snprintf(s->url, sizeof s->url, "%.*s/api/v2/alerts", (int)(ul && r->url[ul - 1] == '/' ? ul - 1 : ul),
                 r->url);
    } else {
        snprintf(s->url, sizeof s->url, "%s", r->url);
    }
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    s->hdr = curl_slist_append(s->hdr, "Content-Type: application/json; charset=utf-8");
    /* No "Expect: 100-continue": a robot answers the whole POST anyway, and
     * the wait for a 100 that never comes would cost every message a second. */
    struct curl_slist *ex = s->hdr ? curl_slist_append(s->hdr, "Expect:") : NULL;
    if (ex == NULL)
        return -1;
    s->hdr = ex;
    if (r->type == BWN_WEBHOOK) {
        char h[256];
        snprintf(h, sizeof h, "X-Budgetwatch-Notification: %lld", (long long)s->note);
        struct curl_slist *l = curl_slist_append(s->hdr, h);
        if (l == NULL)
            return -1;
        s->hdr = l;
        if (r->secret[0]) {
            char sig[96];
            if (bwn_sign_hmac_hex(r->secret, s->body, s->blen, sig, sizeof sig))
                return -1;
            snprintf(h, sizeof h, "%s: %s", r->sign_header, sig);
            if ((l = curl_slist_append(s->hdr, h)) == NULL)
                return -1;
            s->hdr = l;
        }
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdr);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->blen);
    return 0;
}

static void start_sends(notifier *n, int64_t now);

static void on_done(void *ctx, CURL *easy, CURLcode rc)
{
    delivery *s = ctx;
    notifier *n = s->n;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    int ri = bwn_config_receiver(&n->cfg, s->receiver);
    const bwn_receiver *r = ri >= 0 ? &n->cfg.receivers[ri] : NULL;
    bwn_answer ans;
    char terr[CURL_ERROR_SIZE + 2100];
    snprintf(terr, sizeof terr, "%s (%s)", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc),
             r && r->type == BWN_EMAIL ? r->url : s->url);
    bwn_answer_judge(r ? r->type : BWN_WEBHOOK, rc == CURLE_OK ? 0 : 1, terr, status, s->resp,
                     s->rlen, s->retry_after, r ? r->limited_ms : 60000, &ans);
    int64_t now = now_ms();
    if (s->test) {
        printf("%s: %s\n", s->receiver, ans.what);
        *s->test_rc = ans.verdict == BWN_SENT ? 0 : 1;
        send_free(s);
        uv_stop(n->loop);
        return;
    }
    const char *result;
    int64_t next = now;
    if (ans.verdict == BWN_SENT) {
        result = "sent";
        n->delivered++;
    } else if (ans.verdict == BWN_LIMITED) {
        result = "limited";
        next = now + ans.retry_after_ms;
        if (ri >= 0)
            n->rs[ri].hold_until = next;
        say("%s said wait (notification #%lld): %s", s->receiver, (long long)s->note, ans.what);
    } else if (now - s->created_ms >= n->cfg.max_age_ms) {
        result = "failed";
        n->failed++;
        say("notification #%lld to %s FAILED after %d attempts over %lld s, kept in the outbox "
            "(budgetwatch-notify log): %s", (long long)s->note, s->receiver, s->attempts + 1,
            (long long)((now - s->created_ms) / 1000), ans.what);
    } else {
        result = "retry";
        next = now + bwn_backoff_delay(s->attempts + 1, n->cfg.min_backoff_ms, n->cfg.max_backoff_ms,
                                       randombytes_random());
        say("notification #%lld to %s: %s; trying again in %lld ms", (long long)s->note,
            s->receiver, ans.what, (long long)(next - now));
    }
    if (bwn_outbox_attempt_end(n->ob, s->attempt, s->note, result, status, ans.what, now, next))
        say("%s (the attempt is sent again)", bwn_outbox_error(n->ob));
    for (int i = 0; ri < 0 && i < n->norphans; i++)
        if (n->orphans[i] == s)
            n->orphans[i] = NULL;
    if (ri >= 0) {
        /* Counted when answered, not when started: the robot counts the
         * message when it arrives, which is before the answer, and with one
         * delivery at a time per receiver nothing starts in between. So 21
         * arrivals never fit in one window, however slow one was. */
        bwn_rate_take(&n->rs[ri].rate, now);
        n->rs[ri].busy = false;
        n->rs[ri].inflight = NULL;
    }
    send_free(s);
    if (!n->stopping)
        start_sends(n, now);
}

static void start_one(notifier *n, int ri, int64_t now)
{
    const bwn_receiver *r = &n->cfg.receivers[ri];
    rstate *st = &n->rs[ri];
    if (st->busy || now < st->hold_until || bwn_rate_next(&st->rate, now) > now)
        return;
    bwn_note note;
    int got = bwn_outbox_note_due(n->ob, r->name, now, &note);
    if (got <= 0) {
        if (got < 0)
            say("%s", bwn_outbox_error(n->ob));
        return;
    }
    delivery *s = calloc(1, sizeof *s);
    if (s == NULL) {
        free(note.payload);
        return;
    }
    s->n = n;
    snprintf(s->receiver, sizeof s->receiver, "%s", r->name);
    s->note = note.id;
    s->created_ms = note.created_ms;
    s->attempts = note.attempts;
    s->body = note.payload;
    s->blen = note.len;
    if (bwn_outbox_attempt_start(n->ob, s->note, now, &s->attempt)) {
        say("%s", bwn_outbox_error(n->ob));
        send_free(s);
        return;
    }
    if (setup(s, r, now) || bwn_http_add(n->http, s->easy, on_done, s)) {
        say("notification #%lld to %s could not be started (out of memory?); tried again",
            (long long)s->note, r->name);
        (void)bwn_outbox_attempt_end(n->ob, s->attempt, s->note, "retry", 0,
                                     "could not start the transfer", now, now + 1000);
        send_free(s);
        return;
    }
    st->busy = true;
    st->inflight = s;
}

static void start_sends(notifier *n, int64_t now)
{
    for (int i = 0; i < n->cfg.nreceivers; i++)
        start_one(n, i, now);
}

static void on_tick(uv_timer_t *t)
{
    notifier *n = t->data;
    int64_t now = now_ms();
    make_digests(n, now);
    make_reposts(n, now);
    start_sends(n, now);
}

/* ---- limits, reload, signals ---- */

static int rate_seed(void *ctx, int64_t t)
{
    bwn_rate_take(ctx, t);
    return 0;
}

/* The limiters start from the attempts already made in their window, so a
 * restart does not grant a fresh allowance to a robot that counts. */
static int limits_init(notifier *n, int64_t now)
{
    for (int i = 0; i < n->cfg.nreceivers; i++) {
        const bwn_receiver *r = &n->cfg.receivers[i];
        bwn_rate_free(&n->rs[i].rate);
        n->rs[i].busy = false;
        n->rs[i].inflight = NULL;
        n->rs[i].hold_until = 0;
        if (bwn_rate_init(&n->rs[i].rate, r->rate_max, r->rate_window_ms))
            return -1;
        if (r->rate_max && bwn_outbox_attempt_times(n->ob, r->name, now - r->rate_window_ms,
                                                    rate_seed, &n->rs[i].rate))
            return -1;
    }
    return 0;
}

static void on_hup(uv_signal_t *h, int sig)
{
    (void)sig;
    notifier *n = h->data;
    bwn_config c;
    char err[BWN_ERR_MAX];
    if (bwn_config_load(n->conf_path, &c, err)) {
        say("reload: %s; the configuration before stays in use", err);
        return;
    }
    /* Deliveries in flight keep their receivers' names; they finish under the new file. */
    if (strcmp(c.alerts, n->cfg.alerts) || strcmp(c.control, n->cfg.control) ||
        strcmp(c.outbox, n->cfg.outbox) || strcmp(c.query, n->cfg.query))
        say("reload: alerts, control, outbox and query take effect at the next start");
    snprintf(c.alerts, sizeof c.alerts, "%s", n->cfg.alerts);
    snprintf(c.query, sizeof c.query, "%s", n->cfg.query);
    snprintf(c.control, sizeof c.control, "%s", n->cfg.control);
    snprintf(c.outbox, sizeof c.outbox, "%s", n->cfg.outbox);
    bool busy[BWN_RECEIVERS_MAX];
    delivery *inflight[BWN_RECEIVERS_MAX];
    char names[BWN_RECEIVERS_MAX][64];
    int nb = n->cfg.nreceivers;
    for (int i = 0; i < nb; i++) {
        busy[i] = n->rs[i].busy;
        inflight[i] = n->rs[i].inflight;
        snprintf(names[i], sizeof names[i], "%s", n->cfg.receivers[i].name);
    }
    bwn_config_free(&n->cfg);
    n->cfg = c;
    if (limits_init(n, now_ms()))
        say("reload: out of memory setting the limits");
    for (int i = 0; i < nb; i++) {
        int k = bwn_config_receiver(&n->cfg, names[i]);
        if (k >= 0) {
            n->rs[k].busy = busy[i];
            n->rs[k].inflight = inflight[i];
        } else if (inflight[i]) {
            n->orphans[n->norphans < BWN_RECEIVERS_MAX ? n->norphans++ : 0] = inflight[i];
        }
    }
    say("reloaded %s: %d receivers, %d routes", n->conf_path, n->cfg.nreceivers, n->cfg.nroutes);
}

static void on_stop(uv_signal_t *h, int sig)
{
    notifier *n = h->data;
    say("stopping on signal %d; what is not yet delivered waits in the outbox", sig);
    n->stopping = true;
    sd_notify(0, "STOPPING=1");
    uv_stop(n->loop);
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

static int open_client(notifier *n)
{
    bwc_client_opts o = { .control = n->cfg.control, .alerts = n->cfg.alerts, .timeout_ms = 2000,
                          .server_key = n->cfg.server_key[0] ? n->cfg.server_key : NULL,
                          .public_key = n->cfg.public_key[0] ? n->cfg.public_key : NULL,
                          .secret_key = n->cfg.secret_key[0] ? n->cfg.secret_key : NULL };
    n->client = bwc_client_new(&o);
    if (n->client == NULL) {
        say("cannot make the daemon's client: %s", strerror(errno));
        return -1;
    }
    if (bwc_client_subscribe(n->client, "alert.")) {
        say("cannot subscribe to %s: %s", n->cfg.alerts, bwc_client_error(n->client));
        return -1;
    }
    return 0;
}

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int setup_common(notifier *n, const char *conf)
{
    char err[BWN_ERR_MAX];
    n->conf_path = conf;
    if (bwn_config_load(conf, &n->cfg, err)) {
        say("%s", err);
        return 2;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        say("cannot set up libsodium or libcurl");
        return 1;
    }
    if (gethostname(n->hostname, sizeof n->hostname) != 0)
        snprintf(n->hostname, sizeof n->hostname, "localhost");
    n->loop = uv_default_loop();
    n->http = bwn_http_new(n->loop);
    if (n->http == NULL) {
        say("cannot make libcurl's multi handle");
        return 1;
    }
    return 0;
}

static void teardown(notifier *n)
{
    bwn_http_free(&n->http);
    /* Deliveries cut short by the stop: their attempts stay 'sending' and
     * are marked interrupted (and sent again) at the next start. */
    for (int i = 0; i < BWN_RECEIVERS_MAX; i++)
        if (n->rs[i].inflight)
            send_free(n->rs[i].inflight);
    for (int i = 0; i < n->norphans; i++)
        if (n->orphans[i])
            send_free(n->orphans[i]);
    uv_walk(n->loop, close_all, NULL);
    uv_run(n->loop, UV_RUN_DEFAULT);
    uv_loop_close(n->loop);
    for (int i = 0; i < BWN_RECEIVERS_MAX; i++)
        bwn_rate_free(&n->rs[i].rate);
    bwc_client_destroy(&n->client);
    if (n->qsock && zmq_close(n->qsock) != 0)
        say("closing %s: %s", n->cfg.query, zmq_strerror(zmq_errno()));
    n->qsock = NULL;
    if (n->zctx && zmq_ctx_term(n->zctx) != 0)
        say("ending the query endpoint's context: %s", zmq_strerror(zmq_errno()));
    n->zctx = NULL;
    bwn_outbox_close(&n->ob);
    bwn_config_free(&n->cfg);
    curl_global_cleanup();
}

int bwn_notifier_run(const char *conf)
{
    notifier n = { 0 };
    int rc = setup_common(&n, conf);
    if (rc) {
        teardown(&n);
        return rc;
    }
    char err[512];
    n.ob = bwn_outbox_open(n.cfg.outbox, err);
    int64_t now = now_ms();
    int broken = n.ob == NULL;
    if (broken)
        say("%s", err);
    if (!broken) {
        int k = bwn_outbox_interrupted(n.ob, now);
        if (k > 0)
            say("%d deliveries were cut short by the last stop; they are sent again (receivers may "
                "dedupe by notification id)", k);
        broken = k < 0 || bwn_outbox_last_seq(n.ob, &n.last_seq) || limits_init(&n, now);
        if (broken)
            say("%s", bwn_outbox_error(n.ob));
    }
    if (broken || open_client(&n) || query_open(&n)) {
        teardown(&n);
        return 1;
    }
    n.need_catchup = true;      /* whatever came while it was down */
    int fd = bwc_client_fd(n.client);
    int uvrc = fd < 0 ? 0 : uv_poll_init(n.loop, &n.stream_fd, fd);
    n.stream_fd.data = &n;
    if (fd >= 0 && uvrc == 0)
        uvrc = uv_poll_start(&n.stream_fd, UV_READABLE, on_stream_fd);
    if (fd < 0 || uvrc != 0) {
        say("cannot wait on the alert stream %s: %s", n.cfg.alerts,
            fd < 0 ? bwc_client_error(n.client) : uv_strerror(uvrc));
        teardown(&n);
        return 1;
    }
    uv_timer_init(n.loop, &n.stream);
    n.stream.data = &n;
    /* The first turn: the catch-up, and what came before the watch began. */
    uv_timer_start(&n.stream, on_stream_timer, 0, 0);
    uv_timer_init(n.loop, &n.tick);
    n.tick.data = &n;
    uv_timer_start(&n.tick, on_tick, (uint64_t)n.cfg.tick_ms, (uint64_t)n.cfg.tick_ms);
    uint64_t wd = 0;
    if (sd_watchdog_enabled(0, &wd) > 0 && wd > 0) {
        uv_timer_init(n.loop, &n.watchdog);
        uv_timer_start(&n.watchdog, on_watchdog, 0, wd / 2000 ? wd / 2000 : 1);
    }
    uv_signal_init(n.loop, &n.sig_term);
    uv_signal_init(n.loop, &n.sig_int);
    uv_signal_init(n.loop, &n.sig_hup);
    n.sig_term.data = n.sig_int.data = n.sig_hup.data = &n;
    uv_signal_start(&n.sig_term, on_stop, SIGTERM);
    uv_signal_start(&n.sig_int, on_stop, SIGINT);
    uv_signal_start(&n.sig_hup, on_hup, SIGHUP);
    uv_run(n.loop, UV_RUN_DEFAULT);
    int64_t pending = 0, sent = 0, failed = 0;
    if (n.ob && bwn_outbox_counts(n.ob, &pending, &sent, &failed) == 0)
        say("stopped: %" PRId64 " notifications sent, %" PRId64 " pending, %" PRId64 " failed",
            sent, pending, failed);
    teardown(&n);
    return 0;
}

/* ---- --test ---- */

int bwn_notifier_test(const char *conf, const char *name)
{
    notifier n = { 0 };
    int rc = setup_common(&n, conf);
    if (rc) {
        teardown(&n);
        return rc;
    }
    int ri = bwn_config_receiver(&n.cfg, name);
    if (ri < 0) {
        say("--test %s: no [receiver %s] in %s", name, name, conf);
        teardown(&n);
        return 2;
    }
    const bwn_receiver *r = &n.cfg.receivers[ri];
    int64_t now = now_ms();
    bwn_item it = { 0 };
    bwn_alert *a = &it.a;
    snprintf(a->kind, sizeof a->kind, "test");
    snprintf(a->state, sizeof a->state, "firing");
    snprintf(a->severity, sizeof a->severity, "warning");
    snprintf(a->note, sizeof a->note, "这是 budgetwatch-notify 的测试消息，收到即表示接收端配置正确。");
    a->at = a->since = now / 1000;
    static const unsigned char raw[] = { 0x83, 0xa3, 's', 'e', 'q', 0x00, 0xa4, 'k', 'i', 'n', 'd',
                                         0xa4, 't', 'e', 's', 't', 0xa5, 's', 't', 'a', 't', 'e',
                                         0xa6, 'f', 'i', 'r', 'i', 'n', 'g' };
    it.raw = raw;
    it.rawlen = sizeof raw;
    bwn_digest d = { r, NULL, 0, "", "测试", 1, 1, 1, now, n.cfg.utc_offset_s, n.hostname };
    delivery *s = calloc(1, sizeof *s);
    int test_rc = 1;
    if (s == NULL || (s->body = bwn_payload_make(&d, &it, 1)) == NULL) {
        free(s);
        teardown(&n);
        return 1;
    }
    s->n = &n;
    s->test = true;
    s->test_rc = &test_rc;
    s->blen = strlen(s->body);
    snprintf(s->receiver, sizeof s->receiver, "%s", r->name);
    if (setup(s, r, now) || bwn_http_add(n.http, s->easy, on_done, s)) {
        say("--test %s: cannot start the transfer", name);
        send_free(s);
        teardown(&n);
        return 1;
    }
    uv_run(n.loop, UV_RUN_DEFAULT);
    teardown(&n);
    return test_rc;
}
