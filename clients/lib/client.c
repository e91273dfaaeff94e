/* client: libbudgetwatch — events to the daemon's ROUTER with acknowledgements,
 * retries that never double-count, control requests in the lazy-pirate style
 * (a REQ that got no answer is replaced), and the alert stream. */
#include "budgetwatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "proto.h"

struct bwc_client {
    void *zctx;
    void *dealer, *req, *sub;
    char *events, *control, *alerts;
    int timeout_ms;
    bool curve;
    char server_key[41], public_key[41], secret_key[41];
    size_t key_len[3];          /* as given: a longer key is refused, not cut */
    zmq_msg_t reply;            /* the last control reply */
    bool have_reply;
    zmq_msg_t topic, body;      /* the last alert-stream message */
    bool have_next;
    bw_ack ack;                 /* storage behind the last bwc_ack handed out */
    char topic_buf[256];        /* the last topic, NUL-terminated */
    char err[512];
};

static int fail(bwc_client *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(bwc_client *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return code;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

bwc_client *bwc_client_new(const bwc_client_opts *o)
{
    bwc_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->zctx = zmq_ctx_new();
    c->events = dup_or_null(o->events);
    c->control = dup_or_null(o->control);
    c->alerts = dup_or_null(o->alerts);
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    c->curve = o->server_key != NULL;
    if (c->curve) {
        const char *given[3] = { o->server_key, o->public_key ? o->public_key : "",
                                 o->secret_key ? o->secret_key : "" };
        char *keep[3] = { c->server_key, c->public_key, c->secret_key };
        for (int i = 0; i < 3; i++) {
            c->key_len[i] = strlen(given[i]);
            snprintf(keep[i], 41, "%s", given[i]);
        }
    }
    if (c->zctx == NULL || (o->events && !c->events) || (o->control && !c->control) ||
        (o->alerts && !c->alerts)) {
        int saved = errno;      /* ENOMEM, or why ZeroMQ made no context */
        bwc_client_destroy(&c);
        errno = saved;
        return NULL;
    }
    return c;
}

/* Every socket of the client was opened with ZMQ_LINGER 0 (open_socket checks
 * it), so closing drops what is unsent and never blocks. zmq_close fails only
 * on something that is not a socket. */
static void close_socket(void **s)
{
    if (*s) {
        (void)zmq_close(*s);
        *s = NULL;
    }
}

void bwc_client_destroy(bwc_client **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    bwc_client *c = *cp;
    if (c->have_reply)
        zmq_msg_close(&c->reply);
    if (c->have_next) {
        zmq_msg_close(&c->topic);
        zmq_msg_close(&c->body);
    }
    close_socket(&c->dealer);
    close_socket(&c->req);
    close_socket(&c->sub);
    /* zmq_ctx_term is interrupted by a signal (EINTR) and must then be called
     * again; with every socket closed it fails in no other way. */
    while (c->zctx && zmq_ctx_term(c->zctx) != 0 && zmq_errno() == EINTR)
        ;
    free(c->events);
    free(c->control);
    free(c->alerts);
    free(c);
    *cp = NULL;
}

const char *bwc_strerror(int code)
{
    switch (code) {
    case BWC_OK: return "success";
    case BWC_EINVAL: return "a bad argument";
    case BWC_ENOMEM: return "out of memory";
    case BWC_EUNREACHABLE: return "the daemon did not answer in time";
    case BWC_EPROTO: return "the daemon answered something unreadable";
    case BWC_EDAEMON: return "the daemon refused the request";
    case BWC_EZMQ: return "a ZeroMQ error";
    default: return "unknown error";
    }
}

const char *bwc_client_error(const bwc_client *c)
{
    return c->err;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A CURVE client on tcp://; 0, or -1 with the error set. */
static int use_curve(bwc_client *c, void *s, const char *url, const char *what)
{
    if (!c->curve || strncmp(url, "tcp://", 6) != 0)
        return 0;
    const char *names[] = { "server", "public", "secret" };
    for (int i = 0; i < 3; i++) {
        if (c->key_len[i] != 40) {
            fail(c, BWC_EINVAL, "the %s key for the %s endpoint %s must be 40 Z85 characters, "
                 "not %zu; give the key as `budgetwatch keygen` prints it", names[i], what, url,
                 c->key_len[i]);
            return -1;
        }
    }
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_key, 40) ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->public_key, 40) ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, 40)) {
        fail(c, BWC_EINVAL, "cannot use CURVE on the %s endpoint %s: %s (is each key valid Z85, "
             "and was libzmq built with CURVE?)", what, url, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

/* Sets an integer socket option; 0, or a BWC_EZMQ code with the error set. */
static int set_int(bwc_client *c, void *s, int option, const char *name, int value,
                   const char *what, const char *url)
{
    if (zmq_setsockopt(s, option, &value, sizeof value) == 0)
        return 0;
    return fail(c, BWC_EZMQ, "cannot set %s on the socket for the %s endpoint %s: %s", name, what,
                url, zmq_strerror(zmq_errno()));
}

/* Opens *s, if it is not open, connected to url; 0, or a BWC_E* code with
 * the error set. */
static int open_socket(bwc_client *c, void **s, int type, const char *url, const char *what)
{
    if (*s != NULL)
        return 0;
    if (url == NULL)
        return fail(c, BWC_EINVAL, "no %s endpoint was given; set %s in bwc_client_opts", what,
                    what);
    void *z = zmq_socket(c->zctx, type);
    if (z == NULL)
        return fail(c, BWC_EZMQ, "cannot make a socket for the %s endpoint %s: %s", what, url,
                    zmq_strerror(zmq_errno()));
    int rc = set_int(c, z, ZMQ_SNDHWM, "ZMQ_SNDHWM", 1000000, what, url);
    if (rc == 0)
        rc = set_int(c, z, ZMQ_RCVHWM, "ZMQ_RCVHWM", 1000000, what, url);
    if (rc == 0)
        rc = set_int(c, z, ZMQ_LINGER, "ZMQ_LINGER", 0, what, url);
    if (rc == 0 && use_curve(c, z, url, what))
        rc = BWC_EINVAL;
    if (rc == 0 && zmq_connect(z, url) != 0)
        rc = fail(c, BWC_EZMQ, "cannot connect to the %s endpoint %s: %s", what, url,
                  zmq_strerror(zmq_errno()));
    if (rc) {
        (void)zmq_close(z);
        return rc;
    }
    *s = z;
    return 0;
}

/* ---- events ---- */

static int copy_text(bwc_client *c, size_t i, const char *what, const char *src, char *dst,
                     size_t max, bool required)
{
    size_t n = src ? strlen(src) : 0;
    if (required && n == 0)
        return fail(c, BWC_EINVAL, "event %zu: %s is empty", i, what);
    if (n > max)
        return fail(c, BWC_EINVAL, "event %zu: %s is %zu bytes, at most %zu", i, what, n, max);
    memcpy(dst, src ? src : "", n + 1);
    return 0;
}

static int to_wire(bwc_client *c, size_t i, const bwc_event *e, bw_event *w)
{
    memset(w, 0, sizeof *w);
    if (copy_text(c, i, "src", e->src, w->src, BW_SRC_MAX, true) ||
        copy_text(c, i, "id", e->id, w->id, BW_ID_MAX, true) ||
        copy_text(c, i, "project", e->project, w->project, BW_CODE_LEN_MAX, true) ||
        copy_text(c, i, "unit", e->unit, w->unit, BW_CODE_LEN_MAX, false) ||
        copy_text(c, i, "ref", e->ref, w->ref, BW_ID_MAX, false))
        return BWC_EINVAL;
    if (e->amount <= 0)
        return fail(c, BWC_EINVAL, "event %zu (%s): the amount must be more than 0 fen", i, e->id);
    w->amount = e->amount;
    w->ts = e->ts;
    w->type = e->refund ? BW_EV_REFUND : BW_EV_DISBURSEMENT;
    w->fund = e->other_fund ? BW_FUND_OTHER : BW_FUND_FISCAL;
    w->has_seq = e->seq > 0;
    w->seq = e->seq;
    return 0;
}

static int send_event(bwc_client *c, void *sock, const bw_event *w, msgpack_sbuffer *sb)
{
    sb->size = 0;
    if (bw_event_encode(w, sb))
        return fail(c, BWC_EINVAL, "event %s cannot be encoded", w->id);
    if (zmq_send(sock, sb->data, sb->size, 0) < 0)
        return fail(c, BWC_EZMQ, "sending event %s to %s: %s", w->id, c->events,
                    zmq_strerror(zmq_errno()));
    return 0;
}

/* (src, id) -> index of the event, to match acks that come in any order. */
typedef struct index_map {
    uint32_t *slot;     /* index + 1; 0 = empty */
    size_t cap;
} index_map;

static uint64_t hash2(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 1099511628211ULL;
    return h;
}

static int map_build(index_map *m, const bwc_event *ev, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n)
        m->cap *= 2;
    m->slot = calloc(m->cap, sizeof *m->slot);
    if (m->slot == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t j = hash2(ev[i].src, ev[i].id) & (m->cap - 1);
        while (m->slot[j])
            j = (j + 1) & (m->cap - 1);
        m->slot[j] = (uint32_t)i + 1;
    }
    return 0;
}

/* The first event with this (src, id) still waiting for an ack, else -1. A
 * batch may hold the same id twice (a resend): each gets its own ack. */
static int64_t map_find(const index_map *m, const bwc_event *ev, const uint8_t *state,
                        const char *src, const char *id)
{
    int64_t any = -1;
    for (size_t j = hash2(src, id) & (m->cap - 1); m->slot[j]; j = (j + 1) & (m->cap - 1)) {
        size_t i = m->slot[j] - 1;
        if (strcmp(ev[i].src, src) != 0 || strcmp(ev[i].id, id) != 0)
            continue;
        if (state[i] == 1)
            return (int64_t)i;
        any = (int64_t)i;
    }
    return any >= 0 && state[any] == 1 ? any : -1;
}

typedef struct push_run {
    bwc_client *c;
    const bwc_event *ev;
    size_t n, window, next, inflight, answered;
    uint8_t *state;             /* 0 unsent, 1 in flight, 2 answered */
    index_map map;
    msgpack_sbuffer sb;
    bwc_ack_fn fn;
    void *ctx;
} push_run;

static int fill_window(push_run *r)
{
    while (r->inflight < r->window && r->next < r->n) {
        bw_event w;
        size_t i = r->next++;
        int rc = to_wire(r->c, i, &r->ev[i], &w);
        if (rc == 0)
            rc = send_event(r->c, r->c->dealer, &w, &r->sb);
        if (rc)
            return rc;
        r->state[i] = 1;
        r->inflight++;
    }
    return 0;
}

static int resend_inflight(push_run *r)
{
    for (size_t i = 0; i < r->next; i++) {
        bw_event w;
        if (r->state[i] != 1)
            continue;
        int rc = to_wire(r->c, i, &r->ev[i], &w);
        if (rc == 0)
            rc = send_event(r->c, r->c->dealer, &w, &r->sb);
        if (rc)
            return rc;
    }
    return 0;
}

/* Reads every ack waiting; returns how many were new answers. */
static size_t read_acks(push_run *r)
{
    size_t got = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, r->c->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return got;
        }
        char why[BW_WHY_MAX];
        bw_ack *a = &r->c->ack;
        int ok = bw_ack_decode(zmq_msg_data(&m), zmq_msg_size(&m), a, why, sizeof why) == 0;
        zmq_msg_close(&m);
        int64_t i = ok ? map_find(&r->map, r->ev, r->state, a->src, a->id) : -1;
        if (i < 0)
            continue;   /* an ack of a resend already answered, or garbage */
        r->state[i] = 2;
        r->inflight--;
        r->answered++;
        got++;
        bwc_ack out = { a->src, a->id, a->status, a->reason };
        if (r->fn)
            r->fn(r->ctx, (size_t)i, &out);
    }
}

int bwc_client_push(bwc_client *c, const bwc_event *ev, size_t n, size_t window, int retry_ms,
                    bwc_ack_fn fn, void *ctx)
{
    int rc = open_socket(c, &c->dealer, ZMQ_DEALER, c->events, "events");
    if (rc)
        return rc;
    push_run r = { .c = c, .ev = ev, .n = n, .window = window ? window : 1, .fn = fn, .ctx = ctx };
    r.state = calloc(n ? n : 1, 1);
    if (r.state == NULL || map_build(&r.map, ev, n)) {
        free(r.state);
        return fail(c, BWC_ENOMEM, "out of memory for %zu events", n);
    }
    msgpack_sbuffer_init(&r.sb);
    int64_t last_answer = now_ms();
    int pause = c->timeout_ms < 1000 ? c->timeout_ms : 1000;
    while (r.answered < n && rc == 0) {
        if ((rc = fill_window(&r)) != 0)
            break;
        zmq_pollitem_t it = { c->dealer, 0, ZMQ_POLLIN, 0 };
        int ready = zmq_poll(&it, 1, pause);
        if (ready < 0 && zmq_errno() != EINTR) {   /* a signal only cuts the wait short */
            rc = fail(c, BWC_EZMQ, "waiting for acks from %s: %s", c->events,
                      zmq_strerror(zmq_errno()));
            break;
        }
        if (ready > 0 && read_acks(&r) > 0) {
            last_answer = now_ms();
            pause = c->timeout_ms < 1000 ? c->timeout_ms : 1000;
            continue;
        }
        if (now_ms() - last_answer >= retry_ms)
            break;
        /* No answer for a while: the daemon may have restarted and lost what
         * was in flight. Send it again; the ids make resends harmless. */
        rc = resend_inflight(&r);
        pause = pause * 2 > 8000 ? 8000 : pause * 2;
    }
    free(r.state);
    free(r.map.slot);
    msgpack_sbuffer_destroy(&r.sb);
    if (rc)
        return rc;
    if (r.answered < n)
        fail(c, BWC_EUNREACHABLE, "%zu of %zu events got no answer from %s within %d ms; is "
             "budgetwatchd running? Push again: resends count once", n - r.answered, n, c->events,
             retry_ms);
    return (int)(n - r.answered);
}

typedef struct one_ack {
    bwc_ack *out;
} one_ack;

static void keep_ack(void *ctx, size_t i, const bwc_ack *a)
{
    (void)i;
    *((one_ack *)ctx)->out = *a;
}

int bwc_client_send(bwc_client *c, const bwc_event *ev, bwc_ack *ack)
{
    one_ack k = { ack };
    int rc = bwc_client_push(c, ev, 1, 1, c->timeout_ms, keep_ack, &k);
    return rc > 0 ? BWC_EUNREACHABLE : rc;
}

int bwc_client_publish(bwc_client *c, const char *endpoint, const bwc_event *ev, size_t n)
{
    bool bind = strncmp(endpoint, "bind:", 5) == 0;
    if (!bind && strncmp(endpoint, "connect:", 8) != 0)
        return fail(c, BWC_EINVAL, "the publish endpoint \"%s\" must start with bind: or connect:",
                    endpoint);
    const char *url = endpoint + (bind ? 5 : 8);
    void *pub = zmq_socket(c->zctx, ZMQ_PUB);
    if (pub == NULL)
        return fail(c, BWC_EZMQ, "cannot make a socket for the publish endpoint %s: %s", url,
                    zmq_strerror(zmq_errno()));
    /* No high-water mark, and up to 5 s after the last event to send it all. */
    int rc = set_int(c, pub, ZMQ_SNDHWM, "ZMQ_SNDHWM", 0, "publish", url);
    if (rc == 0)
        rc = set_int(c, pub, ZMQ_LINGER, "ZMQ_LINGER", 5000, "publish", url);
    if (rc == 0 && !bind && use_curve(c, pub, url, "publish"))
        rc = BWC_EINVAL;
    if (rc == 0 && (bind ? zmq_bind(pub, url) : zmq_connect(pub, url)) != 0)
        rc = fail(c, BWC_EZMQ, "cannot %s the publish endpoint %s: %s", bind ? "bind" : "connect",
                  url, zmq_strerror(zmq_errno()));
    if (rc) {
        (void)zmq_close(pub);
        return rc;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < n && rc == 0; i++) {
        bw_event w;
        char topic[2 * BW_CODE_LEN_MAX + 8];
        if ((rc = to_wire(c, i, &ev[i], &w)) != 0)
            break;
        snprintf(topic, sizeof topic, "disb.%s.%s", w.unit, w.project);
        sb.size = 0;
        if (bw_event_encode(&w, &sb) || zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
            zmq_send(pub, sb.data, sb.size, 0) < 0)
            rc = fail(c, BWC_EZMQ, "publishing on %s: %s", url, zmq_strerror(zmq_errno()));
    }
    msgpack_sbuffer_destroy(&sb);
    (void)zmq_close(pub);   /* lingers until sent */
    return rc;
}

/* ---- control ---- */

int bwc_client_request(bwc_client *c, const void *req, size_t len, const void **reply, size_t *rlen)
{
    int rc = open_socket(c, &c->req, ZMQ_REQ, c->control, "control");
    if (rc)
        return rc;
    if (c->have_reply) {
        zmq_msg_close(&c->reply);
        c->have_reply = false;
    }
    if (zmq_send(c->req, req, len, 0) < 0)
        return fail(c, BWC_EZMQ, "sending to %s: %s", c->control, zmq_strerror(zmq_errno()));
    zmq_pollitem_t it = { c->req, 0, ZMQ_POLLIN, 0 };
    int ready = zmq_poll(&it, 1, c->timeout_ms), err = zmq_errno();
    if (ready == 0) {
        close_socket(&c->req);   /* a REQ without its reply cannot send again */
        return fail(c, BWC_EUNREACHABLE, "daemon not reachable at %s (no reply in %d ms); is "
                    "budgetwatchd running, and is this its control endpoint?", c->control,
                    c->timeout_ms);
    }
    zmq_msg_init(&c->reply);
    if (ready < 0 || zmq_msg_recv(&c->reply, c->req, 0) < 0) {
        err = ready < 0 ? err : zmq_errno();
        zmq_msg_close(&c->reply);
        close_socket(&c->req);   /* the same: the next request starts clean */
        return fail(c, BWC_EZMQ, "waiting for a reply from %s: %s; ask again", c->control,
                    zmq_strerror(err));
    }
    c->have_reply = true;
    *reply = zmq_msg_data(&c->reply);
    *rlen = zmq_msg_size(&c->reply);
    return 0;
}

/* ---- the alert stream ---- */

int bwc_client_subscribe(bwc_client *c, const char *prefix)
{
    int rc = open_socket(c, &c->sub, ZMQ_SUB, c->alerts, "alerts");
    if (rc)
        return rc;
    if (zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix)) != 0 ||
        (prefix[0] != '\0' && zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, "hb", 2) != 0))
        return fail(c, BWC_EZMQ, "cannot subscribe to \"%s\" on %s: %s", prefix, c->alerts,
                    zmq_strerror(zmq_errno()));
    return 0;
}

int bwc_client_next(bwc_client *c, int timeout_ms, const char **topic, const void **body,
                    size_t *len)
{
    if (c->sub == NULL)
        return fail(c, BWC_EINVAL, "bwc_client_next reads the alert stream: call "
                    "bwc_client_subscribe first");
    if (c->have_next) {
        zmq_msg_close(&c->topic);
        zmq_msg_close(&c->body);
        c->have_next = false;
    }
    zmq_pollitem_t it = { c->sub, 0, ZMQ_POLLIN, 0 };
    int ready = zmq_poll(&it, 1, timeout_ms);
    if (ready < 0 && zmq_errno() != EINTR)     /* a signal only cuts the wait short */
        return fail(c, BWC_EZMQ, "waiting on the alert stream %s: %s", c->alerts,
                    zmq_strerror(zmq_errno()));
    if (ready <= 0)
        return 0;
    zmq_msg_init(&c->topic);
    zmq_msg_init(&c->body);
    c->have_next = true;
    if (zmq_msg_recv(&c->topic, c->sub, 0) < 0 || !zmq_msg_more(&c->topic) ||
        zmq_msg_recv(&c->body, c->sub, 0) < 0)
        return fail(c, BWC_EPROTO, "a malformed message on %s (not a topic and a body); is "
                    "it budgetwatchd's alert endpoint?", c->alerts);
    /* Topics are not NUL-terminated on the wire. */
    size_t n = zmq_msg_size(&c->topic);
    if (n > sizeof c->topic_buf - 1)
        n = sizeof c->topic_buf - 1;
    memcpy(c->topic_buf, zmq_msg_data(&c->topic), n);
    c->topic_buf[n] = '\0';
    *topic = c->topic_buf;
    *body = zmq_msg_data(&c->body);
    *len = zmq_msg_size(&c->body);
    return 1;
}

int bwc_client_fd(bwc_client *c)
{
    if (c->sub == NULL)
        return fail(c, BWC_EINVAL, "bwc_client_fd is the alert stream's descriptor: call "
                    "bwc_client_subscribe first");
    int fd = -1;
    size_t sz = sizeof fd;
    if (zmq_getsockopt(c->sub, ZMQ_FD, &fd, &sz) != 0 || fd < 0)
        return fail(c, BWC_EZMQ, "cannot get the descriptor (ZMQ_FD) of the alert stream %s: %s",
                    c->alerts, zmq_strerror(zmq_errno()));
    return fd;
}
