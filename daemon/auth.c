/* auth: the ZAP handler, the per-message role check and the record of refused
 * peers (see auth.h). */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "zio.h"

#define MONITORS 4
#define LOGGED_MAX 256
#define ZAP_FRAMES 8

typedef struct monitor {
    bw_auth *a;
    void *pair;
    uv_poll_t poll;
    bw_domain dom;
    char url[256];
    bool logged;
} monitor;

struct bw_auth {
    bool on;
    void *zctx;
    uv_loop_t *loop;
    char pub[BW_KEY_TXT], sec[BW_KEY_TXT];
    bw_keyset payment, supervisor, admin;
    void *zap;
    uv_poll_t zap_poll;
    monitor mon[MONITORS];
    int nmon;
    uint64_t denied[BW_DOM_COUNT];
    char logged[LOGGED_MAX][BW_KEY_TXT + 80];   /* "domain address key", logged once */
    size_t nlogged;
};

static const char *const domain_names[BW_DOM_COUNT] = { "ingest", "control", "alerts" };

const char *bw_domain_name(bw_domain dom)
{
    return dom < BW_DOM_COUNT ? domain_names[dom] : "?";
}

bool bw_auth_on(const bw_auth *a)
{
    return a->on;
}

uint64_t bw_auth_denied(const bw_auth *a, bw_domain dom)
{
    return a->denied[dom];
}

void bw_auth_count_denied(bw_auth *a, bw_domain dom)
{
    a->denied[dom]++;
}

/* ---- keys ---- */

static int load_set(bw_keyset *ks, const char *dir, const char *who, bw_err *err)
{
    int rc = bw_keyset_load(ks, dir, err);
    if (rc == 1)
        bw_log(BW_LOG_NOTICE, "no %s keys: %s does not exist, so no %s can connect over tcp://",
               who, dir, who);
    else if (rc == 0)
        bw_log(BW_LOG_INFO, "%zu %s keys from %s", ks->n, who, dir);
    return rc < 0 ? -1 : 0;
}

static int load_keys(bw_auth *a, const bw_config *cfg, bw_err *err)
{
    bw_keyset p = { 0 }, s = { 0 }, m = { 0 };
    if (load_set(&p, cfg->payment_keys, "payment-system", err) ||
        load_set(&s, cfg->supervisor_keys, "supervisor", err) ||
        load_set(&m, cfg->admin_keys, "administrator", err)) {
        bw_keyset_clear(&p);
        bw_keyset_clear(&s);
        bw_keyset_clear(&m);
        return -1;
    }
    bw_keyset_clear(&a->payment);
    bw_keyset_clear(&a->supervisor);
    bw_keyset_clear(&a->admin);
    a->payment = p;
    a->supervisor = s;
    a->admin = m;
    return 0;
}

int bw_auth_reload(bw_auth *a, const bw_config *cfg, bw_err *err)
{
    return a->on ? load_keys(a, cfg, err) : 0;
}

static bw_role role_of(const bw_auth *a, bw_domain dom, const char *pub, const char **name)
{
    const bw_key *k = NULL;
    bw_role r = BW_ROLE_NONE;
    if (dom == BW_DOM_INGEST && (k = bw_keyset_find(&a->payment, pub)) != NULL)
        r = BW_ROLE_PAYMENT;
    else if (dom != BW_DOM_INGEST && (k = bw_keyset_find(&a->admin, pub)) != NULL)
        r = BW_ROLE_ADMIN;
    else if (dom != BW_DOM_INGEST && (k = bw_keyset_find(&a->supervisor, pub)) != NULL)
        r = BW_ROLE_SUPERVISOR;
    if (name)
        *name = k ? k->name : "";
    return r;
}

bw_role bw_auth_peer(const bw_auth *a, zmq_msg_t *msg, bw_domain dom, const char **name)
{
    /* The ZAP handler set the User-Id to the client's public key. */
    const char *pub = zmq_msg_gets(msg, "User-Id");
    if (name)
        *name = "";
    return pub ? role_of(a, dom, pub, name) : BW_ROLE_NONE;
}

/* ---- ZAP (RFC 27) ---- */

static void denied_once(bw_auth *a, bw_domain dom, const char *address, const char *pub)
{
    char id[sizeof a->logged[0]];
    snprintf(id, sizeof id, "%s %s %s", bw_domain_name(dom), address, pub);
    for (size_t i = 0; i < a->nlogged; i++)
        if (strcmp(a->logged[i], id) == 0)
            return;
    if (a->nlogged == LOGGED_MAX) {
        return;
    }
    snprintf(a->logged[a->nlogged++], sizeof a->logged[0], "%s", id);
    char esc[160];
    bw_log(BW_LOG_WARNING, "refused a %s connection from %s with key %s: not in the %s keys; "
           "further refusals of this peer are only counted (stats auth_denied)%s",
           bw_domain_name(dom), bw_utf8_escape(address, strlen(address), esc, sizeof esc), pub,
           dom == BW_DOM_INGEST ? "payment-system" : dom == BW_DOM_CONTROL ? "administrator or supervisor"
                                                                           : "supervisor or administrator",
           a->nlogged == LOGGED_MAX ? "; the list of logged peers is full, later ones are only counted" : "");
}

/* A reply libzmq does not get leaves that handshake hanging, and the REP
 * socket in the wrong state for the next request: say so. */
static void zap_send(void *zap, zmq_msg_t *reqid, const char *code, const char *text, const char *user)
{
    const bw_zio_frame reply[] = {
        { "1.0", 3 }, { zmq_msg_data(reqid), zmq_msg_size(reqid) }, { code, strlen(code) },
        { text, strlen(text) }, { user, strlen(user) }, { "", 0 },
    };
    if (bw_zio_send(zap, reply, 6, 0))
        bw_log(BW_LOG_ERR, "cannot answer a ZAP request (%s %s): %s", code, text,
               zmq_strerror(zmq_errno()));
}

static bool frame_is(zmq_msg_t *m, const char *s)
{
    return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

static void frame_str(zmq_msg_t *m, char *buf, size_t len)
{
    size_t n = zmq_msg_size(m) < len ? zmq_msg_size(m) : len - 1;
    memcpy(buf, zmq_msg_data(m), n);
    buf[n] = '\0';
}

/* One request: version, request id, domain, address, routing id, mechanism,
 * and for CURVE the client's 32-byte public key. */
static void zap_answer(bw_auth *a, zmq_msg_t *f, int n)
{
    char pub[BW_KEY_TXT] = "", address[128] = "?";
    bw_domain dom = BW_DOM_COUNT;
    for (int i = 0; n == 7 && i < BW_DOM_COUNT; i++)
        if (frame_is(&f[2], domain_names[i]))
            dom = (bw_domain)i;
    if (n != 7 || !frame_is(&f[0], "1.0") || !frame_is(&f[5], "CURVE") || zmq_msg_size(&f[6]) != 32 ||
        dom == BW_DOM_COUNT) {
        if (n >= 2)
            zap_send(a->zap, &f[1], "500", "unexpected ZAP request", "");
        return;
    }
    frame_str(&f[3], address, sizeof address);
    zmq_z85_encode(pub, zmq_msg_data(&f[6]), 32);
    if (role_of(a, dom, pub, NULL) != BW_ROLE_NONE) {
        zap_send(a->zap, &f[1], "200", "OK", pub);
        return;
    }
    a->denied[dom]++;
    denied_once(a, dom, address, pub);
    zap_send(a->zap, &f[1], "400", "key not authorized", "");
}

static void on_zap(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    bw_auth *a = h->data;
    /* ZMQ_FD is edge-triggered and our replies consume the edge: read until empty. */
    while (bw_zio_readable(a->zap)) {
        zmq_msg_t f[ZAP_FRAMES];
        int n = bw_zio_recv(a->zap, f, ZAP_FRAMES);
        if (n == 0)
            break;
        zap_answer(a, f, n);
        bw_zio_close(f, n, ZAP_FRAMES);
    }
}

/* ---- monitors: clients that do not speak CURVE ---- */

static void on_monitor(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    monitor *m = h->data;
    while (bw_zio_readable(m->pair)) {
        zmq_msg_t f[2];
        int n = bw_zio_recv(m->pair, f, 2);
        if (n == 0)
            break;
        m->a->denied[m->dom]++;
        if (!m->logged)
            bw_log(BW_LOG_WARNING, "refused a %s connection on %s that did not complete a CURVE "
                   "handshake (no CURVE, or the wrong server key); further ones are only counted "
                   "(stats auth_denied)", bw_domain_name(m->dom), m->url);
        m->logged = true;
        bw_zio_close(f, n, 2);
    }
}

static int watch(uv_loop_t *loop, uv_poll_t *h, void *sock, uv_poll_cb cb, void *data, bw_err *err)
{
    if (bw_zio_watch(loop, h, sock, cb, data, err))
        return -1;
    /* ZMQ_FD only signals a pipe that a read has found empty: read once now,
     * or the first message would never wake us. */
    cb(h, 0, UV_READABLE);
    return 0;
}

static int add_monitor(bw_auth *a, void *sock, bw_domain dom, const char *url, bw_err *err)
{
    if (a->nmon == MONITORS)
        return bw_err_set(err, "more CURVE sockets than the auth monitor slots (%d)", MONITORS);
    monitor *m = &a->mon[a->nmon];
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://budgetwatchd-monitor-%d", a->nmon);
    m->a = a;
    m->dom = dom;
    snprintf(m->url, sizeof m->url, "%s", url);
    if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0 ||
        (m->pair = zmq_socket(a->zctx, ZMQ_PAIR)) == NULL || zmq_connect(m->pair, ep) != 0)
        return bw_err_set(err, "cannot monitor %s: %s", url, zmq_strerror(zmq_errno()));
    a->nmon++;
    return watch(a->loop, &m->poll, m->pair, on_monitor, m, err);
}

int bw_auth_serve(bw_auth *a, void *sock, bw_domain dom, const char *url, bw_err *err)
{
    if (!a->on || strncmp(url, "tcp://", 6) != 0)
        return 0;
    int one = 1;
    const char *domain = bw_domain_name(dom);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, a->sec, BW_KEY_TXT - 1) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)))
        return bw_err_set(err, "cannot make %s a CURVE server: %s (is libzmq built with "
                          "libsodium?)", url, zmq_strerror(zmq_errno()));
    return add_monitor(a, sock, dom, url, err) ? -1 : 1;
}

void bw_auth_tick(bw_auth *a)
{
    for (int i = 0; i < a->nmon; i++)
        on_monitor(&a->mon[i].poll, 0, UV_READABLE);
    if (a->zap)
        on_zap(&a->zap_poll, 0, UV_READABLE);
}

/* ---- life cycle ---- */

bw_auth *bw_auth_new(void *zctx, uv_loop_t *loop, const bw_config *cfg, bw_err *err)
{
    bw_auth *a = calloc(1, sizeof *a);
    if (a == NULL) {
        bw_err_set(err, "out of memory");
        return NULL;
    }
    a->zctx = zctx;
    a->loop = loop;
    a->on = cfg->server_key[0] != '\0';
    if (!a->on)
        return a;
    if (!zmq_has("curve")) {
        bw_err_set(err, "[security] server_key is set but this libzmq has no CURVE support");
        goto fail;
    }
    if (bw_key_load_pair(cfg->server_key, a->pub, a->sec, err) || load_keys(a, cfg, err))
        goto fail;
    /* The handler must be bound before any CURVE socket binds. */
    a->zap = zmq_socket(zctx, ZMQ_REP);
    if (a->zap == NULL || zmq_bind(a->zap, "inproc://zeromq.zap.01") != 0) {
        bw_err_set(err, "cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (watch(loop, &a->zap_poll, a->zap, on_zap, a, err))
        goto fail;
    bw_log(BW_LOG_NOTICE, "CURVE on for tcp:// endpoints; server key %s", a->pub);
    return a;
fail:
    bw_auth_free(&a);
    return NULL;
}

int bw_auth_check(const bw_config *cfg, bw_err *err)
{
    if (cfg->server_key[0] == '\0')
        return 0;
    bw_auth *a = calloc(1, sizeof *a);
    if (a == NULL)
        return bw_err_set(err, "out of memory");
    a->on = true;
    int rc = bw_key_load_pair(cfg->server_key, a->pub, a->sec, err) || load_keys(a, cfg, err) ? -1 : 0;
    bw_auth_free(&a);
    return rc;
}

void bw_auth_free(bw_auth **ap)
{
    bw_auth *a = *ap;
    if (a == NULL)
        return;
    for (int i = 0; i < a->nmon; i++)
        if (a->mon[i].pair)
            zmq_close(a->mon[i].pair);
    if (a->zap)
        zmq_close(a->zap);
    bw_keyset_clear(&a->payment);
    bw_keyset_clear(&a->supervisor);
    bw_keyset_clear(&a->admin);
    explicit_bzero(a->sec, sizeof a->sec);
    free(a);
    *ap = NULL;
}
