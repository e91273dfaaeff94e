/* loop: budgetwatchd's event loop. One libuv loop watches every ZeroMQ
 * socket (uv_poll on ZMQ_FD), the timers and the signals; what one turn
 * drains goes into one batch, and commit() below is the one place that
 * commits it, then sends the acks, then publishes the alerts, then answers
 * the control client: the way Redis's beforeSleep writes its log before any
 * reply, nobody hears of anything the ledger does not hold. It is also the
 * only place that stops the process. */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "batch.h"
#include "control.h"
#include "ingest.h"
#include "log.h"
#include "notify.h"
#include "publish.h"
#include "reload.h"
#include "zio.h"

#define TIMER_CAP_MS (3600 * 1000)

static void arm_alert_timer(bw_daemon *d);
static void on_idle(uv_idle_t *h);

/* ---- stopping ---- */

static void stop(bw_daemon *d, int code)
{
    if (d->exit_code == 0)
        d->exit_code = code;
    d->stopping = true;
    uv_stop(&d->loop);
}

static void send_acks(bw_daemon *d, bw_pending_ack *acks, size_t n)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < n; i++) {
        bw_pending_ack *a = &acks[i];
        sb.size = 0;
        if (bw_ack_encode(&a->ack, &sb))
            continue;
        /* A vanished sender is not an error: it will retry and get "duplicate". */
        const bw_zio_frame ack[] = { { a->id, a->idlen }, { sb.data, sb.size } };
        (void)bw_zio_send(d->router, ack, 2, ZMQ_DONTWAIT);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* What is durable goes out: its acks, then its alerts. */
static void release(bw_daemon *d)
{
    bw_pending_ack *acks;
    size_t n = bw_flush_ready(&d->flush, &acks);
    send_acks(d, acks, n);
    bw_flush_sent(&d->flush);
    bw_err err;
    if (bw_publish_send(&d->app, d->pub, bw_flush_durable_seq(&d->flush), &err))
        bw_log(BW_LOG_WARNING, "%s; the alerts go out with the next ones", err.msg);
}

/* Rejects each ack with the reason head + the cause + tail. */
static void answer(bw_daemon *d, bw_pending_ack *acks, size_t n, const char *head,
                   const bw_err *why, const char *tail)
{
    for (size_t i = 0; i < n; i++) {
        acks[i].ack.status = BW_ACK_REJECTED;
        snprintf(acks[i].ack.reason, sizeof acks[i].ack.reason, "%s%.300s%s", head, why->msg, tail);
    }
    send_acks(d, acks, n);
}

/* The disk refused a sync: what was committed since the last good one may
 * be lost in a power cut, or already gone (Linux forgets the failed pages).
 * Its senders hear so; a resend is a duplicate if it was kept after all. */
static void sync_failed(bw_daemon *d, const bw_err *why)
{
    bw_pending_ack *acks;
    size_t n = bw_flush_unsure(&d->flush, &acks);
    bw_log(BW_LOG_ERR, "%s; stopping so that no event that may not be on the disk is "
           "acknowledged", why->msg);
    answer(d, acks, n, "not known to be recorded: the ledger could not be written to the disk (",
           why, "): send it again once budgetwatchd is back (a duplicate then means it was kept)");
    bw_flush_forget(&d->flush);
    stop(d, BW_EXIT_STORE);
}

/* The ledger failed a write: memory is ahead of it, so the daemon stops
 * (the state comes back from the ledger at the next start). The batches
 * committed before are made durable and answered first; every sender whose
 * event was in the failed batch hears why: nothing of it is in the ledger,
 * not even as a dead letter, and it must come again. */
static void ledger_failed(bw_daemon *d, const bw_err *why)
{
    bw_batch *b = d->app.batch;
    bw_err serr;
    bw_log(BW_LOG_ERR, "%s; stopping so that no unrecorded event is acknowledged", why->msg);
    bw_batch_rollback(b, d->app.store);
    if (bw_flush_now(&d->flush, &serr) == 0)
        release(d);
    else
        sync_failed(d, &serr);
    answer(d, bw_batch_ack(b, 0), bw_batch_nacks(b), "not recorded: the ledger failed (", why,
           "); nothing of this event was kept, not even as a dead letter: send it again once "
           "budgetwatchd is back");
    bw_batch_clear_acks(b);
    stop(d, bw_app_store_exit(why));
}

/* ---- the commit ---- */

/* Evaluates what changed and commits; the acks and alerts go out once the
 * commit is durable (flush.h). A failed commit answers the waiting senders
 * with the cause (in err too) and stops: 0 or -1. */
static int commit(bw_daemon *d, bw_err *err)
{
    bw_app *a = &d->app;
    if (!bw_batch_is_open(a->batch))
        return 0;
    if (a->engine != NULL)
        (void)bw_publish_evaluate(a);  /* a failure fails the batch: the commit says so */
    uint64_t t0 = uv_hrtime();
    if (bw_batch_commit(a->batch, a, err)) {
        ledger_failed(d, err);
        return -1;
    }
    bw_latency_observe(&a->stats.commit_latency, (uv_hrtime() - t0) / 1000);
    if (bw_flush_committed(&d->flush, a->batch, err)) {
        /* The acks could not be kept for the sync: sync here, answer them now. */
        if (bw_flush_now(&d->flush, err)) {
            sync_failed(d, err);
            return -1;
        }
        release(d);             /* the older batches' acks first */
        send_acks(d, bw_batch_ack(a->batch, 0), bw_batch_nacks(a->batch));
        bw_batch_clear_acks(a->batch);
    }
    release(d);
    bw_ckpt_after_commit(&d->ckpt);
    arm_alert_timer(d);
    return 0;
}

/* Everything committed made durable on this thread, and released. */
static int durable_now(bw_daemon *d, bw_err *err)
{
    if (bw_flush_now(&d->flush, err)) {
        sync_failed(d, err);
        return -1;
    }
    release(d);
    return 0;
}

/* A commit that must be on the disk before the caller goes on (a control
 * change answered ok). */
static int commit_durable(bw_daemon *d, bw_err *err)
{
    return commit(d, err) || durable_now(d, err) ? -1 : 0;
}

/* A sync on the worker ended. */
static void on_flushed(void *ctx, const bw_err *failed)
{
    bw_daemon *d = ctx;
    if (failed) {
        sync_failed(d, failed);
        return;
    }
    release(d);
    /* The acks' sends may have consumed the ZMQ_FD edge of events that came
     * meanwhile (zio.h), and a paused ROUTER is to be read again: one drain
     * turn looks. */
    d->paused = false;
    if (!d->stopping)
        uv_idle_start(&d->drain, on_idle);
}

static int begin(bw_daemon *d)
{
    bw_err err;
    if (bw_batch_begin(d->app.batch, d->app.store, &err) == 0)
        return 0;
    ledger_failed(d, &err);
    return -1;
}

/* Commits with every queued row written, so that the saved totals equal
 * the ledger, and leaves no transaction open. */
static int commit_quiet(bw_daemon *d, bw_err *err)
{
    if (begin(d))
        return bw_err_set(err, "the ledger cannot start a transaction (see the log)");
    bw_batch_save_all_totals(d->app.batch);
    return commit(d, err);
}

/* Acks waiting for a sync beyond which the ROUTER is not read: a disk that
 * stalls must not make the daemon hold an unbounded number of them. */
static size_t backlog_max(const bw_daemon *d)
{
    return 4 * (size_t)(d->app.cfg.batch_max ? d->app.cfg.batch_max : 1);
}

/* Evaluates every instant up to `to` into the batch. */
static int advance(bw_daemon *d, int64_t to)
{
    bw_app *a = &d->app;
    if (bw_engine_next_instant(a->engine) > to && to <= bw_engine_now(a->engine))
        return 0;
    if (begin(d))
        return -1;
    (void)bw_publish_advance(a, to);   /* a failure fails the batch: the commit says so */
    return 0;
}

/* ---- sockets ---- */

static int zerr(bw_err *err, const char *what, const char *url)
{
    return bw_err_set(err, "%s %s: %s", what, url, zmq_strerror(zmq_errno()));
}

/* An address in use is another process's (75: worth a restart later); any
 * other failure is the configuration's (78). */
static void bind_failed(bw_daemon *d, const char *url, bw_err *err)
{
    int e = zmq_errno();
    bool in_use = e == EADDRINUSE;
    d->exit_code = in_use ? BW_EXIT_IN_USE : BW_EXIT_CONFIG;
    bw_err_set(err, "cannot bind %s: %s; %s", url, zmq_strerror(e),
               in_use ? "another process (another budgetwatchd?) holds that address: stop it, or "
                        "give this daemon another endpoint in [endpoints]"
                      : "check the address in [endpoints]");
}

/* ipc:// endpoints live in the runtime directory; only the service's group may
 * connect (mode 0660). */
static int restrict_ipc(const char *url, bw_err *err)
{
    if (strncmp(url, "ipc://", 6) != 0 || url[6] == '@' || chmod(url + 6, 0660) == 0)
        return 0;
    return bw_err_set(err, "cannot restrict %s to its group (chmod 0660): %s", url + 6,
                      strerror(errno));
}

/* libzmq unlinks an ipc:// socket file before it binds, so a second daemon
 * would silently take the first one's sockets over. A socket someone still
 * answers on is in use; one nobody answers on is a dead daemon's, and taken. */
static bool ipc_in_use(const char *url)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strncmp(url, "ipc://", 6) != 0 || url[6] == '@' || strlen(url + 6) >= sizeof sa.sun_path)
        return false;
    strcpy(sa.sun_path, url + 6);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool used = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return used;
}

static int bind_endpoint(bw_daemon *d, void *s, const char *url, bw_err *err)
{
    if (ipc_in_use(url)) {
        d->exit_code = BW_EXIT_IN_USE;
        return bw_err_set(err, "cannot bind %s: another process (another budgetwatchd?) is "
                          "listening on that socket: stop it, or give this daemon a "
                          "runtime_dir or endpoints of its own", url);
    }
    if (zmq_bind(s, url) != 0) {
        bind_failed(d, url, err);
        return -1;
    }
    return restrict_ipc(url, err);
}

/* Says once where anyone who can reach a tcp:// port may speak. */
static void note_open(const char *what, const char *url)
{
    if (strncmp(url, "tcp://", 6) == 0)
        bw_log(BW_LOG_NOTICE, "%s on %s accepts any client that can reach it: set [security] "
               "server_key to require CURVE keys (SECURITY.md)", what, url);
}

static void *open_socket(bw_daemon *d, int type, const char *url, bw_domain dom, bool *curve,
                         bw_err *err)
{
    void *s = zmq_socket(d->zctx, type);
    if (s == NULL) {
        zerr(err, "cannot create a socket for", url);
        return NULL;
    }
    int linger = 1000, hwm = 1000000;
    int64_t maxmsg = d->app.cfg.max_message_bytes;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm)) {
        zerr(err, "cannot set the socket options (linger, max_message_bytes, high-water marks) of",
             url ? url : "events_sub");
        zmq_close(s);
        return NULL;
    }
    int c = url != NULL ? bw_auth_serve(d->app.auth, s, dom, url, err) : 0;
    if (c < 0) {
        zmq_close(s);
        return NULL;
    }
    *curve = c == 1;
    if (url != NULL && c == 0)
        note_open(bw_domain_name(dom), url);
    if (url != NULL && bind_endpoint(d, s, url, err)) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int open_sub(bw_daemon *d, bw_err *err)
{
    if (d->app.cfg.n_events_sub == 0)
        return 0;
    d->sub = open_socket(d, ZMQ_SUB, NULL, BW_DOM_INGEST, &d->sub_curve, err);
    if (d->sub == NULL)
        return -1;
    /* The configuration has made sure that with CURVE on, a socket with a
     * tcp:// endpoint has only bound tcp:// ones. */
    int c = bw_auth_serve(d->app.auth, d->sub, BW_DOM_INGEST, d->app.cfg.events_sub[0].url, err);
    if (c < 0)
        return -1;
    d->sub_curve = c == 1;
    if (!d->sub_curve)
        for (int i = 0; i < d->app.cfg.n_events_sub; i++)
            note_open("ingest (SUB)", d->app.cfg.events_sub[i].url);
    for (int i = 0; i < d->app.cfg.n_prefixes; i++)
        if (zmq_setsockopt(d->sub, ZMQ_SUBSCRIBE, d->app.cfg.events_sub_prefixes[i],
                           strlen(d->app.cfg.events_sub_prefixes[i])))
            return bw_err_set(err, "cannot subscribe events_sub to the topic prefix \"%s\": %s",
                              d->app.cfg.events_sub_prefixes[i], zmq_strerror(zmq_errno()));
    for (int i = 0; i < d->app.cfg.n_events_sub; i++) {
        const bw_endpoint *ep = &d->app.cfg.events_sub[i];
        if (ep->bind ? bind_endpoint(d, d->sub, ep->url, err)
                     : zmq_connect(d->sub, ep->url) != 0 ? zerr(err, "cannot connect events_sub",
                                                                ep->url) : 0)
            return -1;
    }
    return 0;
}

static void on_readable(uv_poll_t *h, int status, int events);
static void on_idle(uv_idle_t *h);

static int watch(bw_daemon *d, void *sock, uv_poll_t *h, bw_err *err)
{
    return bw_zio_watch(&d->loop, h, sock, on_readable, d, err);
}

/* The control socket's directory (the runtime directory) may not exist yet. */
static int make_dir_for(const char *url, bw_err *err)
{
    if (strncmp(url, "ipc://", 6) != 0 || url[6] == '@')
        return 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", url + 6);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0750) == 0 || errno == EEXIST)
        return 0;
    return bw_err_set(err, "cannot create %s for %s: %s; create it, or set runtime_dir to a "
                      "directory the daemon may write", dir, url, strerror(errno));
}

static int open_sockets(bw_daemon *d, bw_err *err)
{
    d->zctx = zmq_ctx_new();
    if (d->zctx == NULL)
        return bw_err_set(err, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    if (make_dir_for(d->app.cfg.control, err)) {
        d->exit_code = BW_EXIT_CONFIG;
        return -1;
    }
    if ((d->app.auth = bw_auth_new(d->zctx, &d->loop, &d->app.cfg, err)) == NULL)
        return -1;
    if ((d->router = open_socket(d, ZMQ_ROUTER, d->app.cfg.events_ack, BW_DOM_INGEST, &d->router_curve,
                                 err)) == NULL ||
        (d->pub = open_socket(d, ZMQ_PUB, d->app.cfg.alerts_pub, BW_DOM_ALERTS, &(bool){ false },
                              err)) == NULL ||
        (d->rep = open_socket(d, ZMQ_REP, d->app.cfg.control, BW_DOM_CONTROL, &d->rep_curve, err)) == NULL ||
        open_sub(d, err))
        return -1;
    if (watch(d, d->router, &d->router_poll, err) || watch(d, d->rep, &d->rep_poll, err))
        return -1;
    if (d->sub && watch(d, d->sub, &d->sub_poll, err))
        return -1;
    return 0;
}

/* ---- draining ---- */

/* Who sent a message on an ingest socket: NULL without CURVE, else its key's
 * name, or "" when the key is no longer authorized (see bw_ingest_event). */
static const char *ingest_peer(bw_daemon *d, bool curve, zmq_msg_t *frame)
{
    const char *name;
    if (!curve)
        return NULL;
    return bw_auth_peer(d->app.auth, frame, BW_DOM_INGEST, &name) == BW_ROLE_PAYMENT ? name : "";
}

/* One message from the ROUTER: [routing id][event], answered after the commit. */
static bw_step route_one(bw_daemon *d, zmq_msg_t *f, int n)
{
    bw_ack ack;
    /* The key comes from a frame the peer sent: the routing-id frame the
     * ROUTER adds does not always carry the connection's metadata (seen
     * with libzmq 4.3.4: an event now and then lost its User-Id there). */
    const char *peer = ingest_peer(d, d->router_curve, &f[n > 1 ? 1 : 0]);
    bw_step st;
    memset(&ack, 0, sizeof ack);
    if (n != 2) {
        char why[128];
        snprintf(why, sizeof why, "expected one frame [event] from a DEALER, got %d frames", n - 1);
        d->app.stats.bad_frames++;
        zmq_msg_t *ev = &f[n > 3 ? 2 : n - 1];
        st = bw_ingest_reject(&d->app, BW_REJ_MALFORMED, "", "", n > 1 ? zmq_msg_data(ev) : "",
                              n > 1 ? zmq_msg_size(ev) : 0, why, peer, &ack, false);
    } else {
        st = bw_ingest_event(&d->app, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), peer, &ack, false);
    }
    /* Even a failure is owed an answer: ledger_failed gives it the cause. */
    bw_step full = bw_batch_add_ack(d->app.batch, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &ack);
    return st == BW_STEP_FATAL ? st : full;
}

/* Reads events until the socket is empty (false) or the turn's budget is
 * spent (true: come back next turn). */
static bool drain_router(bw_daemon *d, uint32_t *budget)
{
    zmq_msg_t f[3];
    bw_err err;
    while (*budget > 0 && !d->stopping) {
        if (bw_flush_backlog(&d->flush) >= backlog_max(d)) {
            d->paused = true;   /* on_flushed reads on */
            return false;
        }
        int n = bw_zio_recv(d->router, f, 3);
        if (n == 0)
            return false;
        (*budget)--;
        if (begin(d)) {
            bw_zio_close(f, n, 3);
            return false;
        }
        bw_step st = route_one(d, f, n);
        bw_zio_close(f, n, 3);
        if (st != BW_STEP_OK && commit(d, &err))
            return false;
    }
    return true;
}

/* Like drain_router: true if it stopped on the budget, false when empty. */
static bool drain_sub(bw_daemon *d, uint32_t *budget)
{
    zmq_msg_t f[2];
    bw_err err;
    if (d->sub == NULL)
        return false;
    while (*budget > 0 && !d->stopping) {
        int n = bw_zio_recv(d->sub, f, 2);
        if (n == 0)
            return false;
        (*budget)--;
        if (begin(d)) {
            bw_zio_close(f, n, 2);
            return false;
        }
        const char *peer = ingest_peer(d, d->sub_curve, &f[0]);
        bw_step st;
        if (n != 2) {
            char why[128];
            snprintf(why, sizeof why, "expected two frames [topic][event] on SUB, got %d", n);
            d->app.stats.bad_frames++;
            st = bw_ingest_reject(&d->app, BW_REJ_MALFORMED, "", "", zmq_msg_data(&f[n > 1 ? 1 : 0]),
                                  zmq_msg_size(&f[n > 1 ? 1 : 0]), why, peer, NULL, false);
        } else {
            st = bw_ingest_event(&d->app, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), peer, NULL,
                                 false);
        }
        bw_zio_close(f, n, 2);
        if (st == BW_STEP_FATAL && commit(d, &err))
            return false;
    }
    return true;
}

/* One control request, its commit if it changed anything, and its reply. */
static void control_one(bw_daemon *d, const char *req, size_t len, bw_role role,
                        const char *name, msgpack_sbuffer *out)
{
    bw_ctl_call c = { req, len, role, name, false, out, NULL };
    bw_err err;
    bw_ctl_result r = bw_control_handle(&d->app, &c);
    if (r == BW_CTL_QUIET) {
        if (commit_quiet(d, &err)) {
            bw_control_not_recorded(out, "rows the request needed saved first", err.msg);
            return;
        }
        c.quiet = true;
        r = bw_control_handle(&d->app, &c);
    }
    if (r == BW_CTL_COMMIT && commit_durable(d, &err))
        bw_control_not_recorded(out, c.change, err.msg);
    if (r == BW_CTL_FATAL) {
        /* The reply says why; a failed batch is rolled back and its senders told. */
        if (bw_batch_is_open(d->app.batch))
            (void)commit(d, &err);
        stop(d, d->app.engine == NULL ? BW_EXIT_FAILURE : BW_EXIT_STORE);
    }
}

static void drain_control(bw_daemon *d)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    for (int i = 0; i < 64 && !d->stopping; i++) {
        zmq_msg_t f[1];
        int n = bw_zio_recv(d->rep, f, 1);
        if (n == 0)
            break;
        out.size = 0;
        /* A control client sees what is on the disk, as every sender and
         * subscriber has heard of it: the commits waiting for the worker's
         * sync are synced here first (control requests are few). */
        bw_err err;
        if (i == 0 && durable_now(d, &err)) {
            bw_zio_close(f, n, 1);
            break;
        }
        /* ipc:// control is guarded by its file mode: whoever can open it administers. */
        const char *name = "";
        bw_role role = d->rep_curve ? bw_auth_peer(d->app.auth, &f[0], BW_DOM_CONTROL, &name)
                                    : BW_ROLE_ADMIN;
        d->app.stats.control_requests++;
        if (n != 1) {
            bw_reply_error("a control request is one frame", &out);
            d->app.stats.control_errors++;
        } else {
            control_one(d, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), role, name, &out);
        }
        bw_zio_close(f, n, 1);
        /* A reply not sent leaves that client waiting: at least say why. */
        if (zmq_send(d->rep, out.data, out.size, ZMQ_DONTWAIT) < 0)
            bw_log(BW_LOG_WARNING, "cannot send a control reply: %s", zmq_strerror(zmq_errno()));
    }
    msgpack_sbuffer_destroy(&out);
}

/* One loop turn's worth of work. ZMQ_FD is edge-triggered, so a turn either
 * drains every socket until EAGAIN or leaves the idle handle on to come back. */
static void drain_all(bw_daemon *d)
{
    bw_err err;
    if (d->stopping)
        return;
    if (d->app.cfg.clock == BW_CLOCK_WALL && advance(d, (int64_t)time(NULL)))
        return;
    uint32_t budget = d->app.cfg.batch_max;
    bool more = true;
    while (more && budget > 0 && !d->stopping) {
        bool r = drain_router(d, &budget);
        bool s = drain_sub(d, &budget);
        more = r || s;
    }
    if (d->stopping || commit(d, &err))
        return;
    drain_control(d);
    /* Sends on the ROUTER and REP sockets may have consumed the edge. */
    if (!d->stopping && !d->paused &&
        (budget == 0 || bw_zio_readable(d->router) || bw_zio_readable(d->sub) ||
         bw_zio_readable(d->rep)))
        uv_idle_start(&d->drain, on_idle);
}

static void on_idle(uv_idle_t *h)
{
    bw_daemon *d = h->data;
    uv_idle_stop(h);
    drain_all(d);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    bw_daemon *d = h->data;
    if (status < 0)
        bw_log(BW_LOG_WARNING, "socket poll error: %s", uv_strerror(status));
    drain_all(d);
}

/* ---- timers and signals ---- */

static void on_alert_timer(uv_timer_t *h)
{
    bw_daemon *d = h->data;
    bw_err err;
    if (d->stopping)
        return;     /* uv_stop ends the loop after this turn; the engine may be gone */
    if (advance(d, (int64_t)time(NULL)) == 0 && commit(d, &err) == 0)
        arm_alert_timer(d);
}

static void arm_alert_timer(bw_daemon *d)
{
    if (d->app.cfg.clock != BW_CLOCK_WALL || d->stopping || !d->loop_ready)
        return;
    int64_t next = bw_engine_next_instant(d->app.engine);
    if (next == BW_NEVER) {
        uv_timer_stop(&d->alert_timer);
        return;
    }
    int64_t ms = (next - (int64_t)time(NULL)) * 1000;
    if (ms < 0)
        ms = 0;
    if (ms > TIMER_CAP_MS)
        ms = TIMER_CAP_MS;   /* re-check hourly: the wall clock may be set */
    int rc = uv_timer_start(&d->alert_timer, on_alert_timer, (uint64_t)ms, 0);
    if (rc)
        bw_log(BW_LOG_ERR, "cannot arm the alert timer (%s): alerts that fall due by time alone "
               "wait for the next event", uv_strerror(rc));
}

/* STATUS= for systemctl status, sent only when a count moved. */
static void status_line(bw_daemon *d)
{
    const bw_stats *s = &d->app.stats;
    uint64_t rej = 0, seq = bw_batch_published_seq(d->app.batch);
    for (int i = 0; i < BW_REJ_COUNT; i++)
        rej += s->rejected[i];
    uint64_t sum = s->accepted + s->duplicates + rej + seq;
    if (sum == d->status_sum && d->status_sent)
        return;
    d->status_sum = sum;
    d->status_sent = true;
    bw_notify_status("%llu accepted, %llu duplicates, %llu rejected, %llu alerts published",
                     (unsigned long long)s->accepted, (unsigned long long)s->duplicates,
                     (unsigned long long)rej, (unsigned long long)seq);
}

static void on_heartbeat(uv_timer_t *h)
{
    bw_daemon *d = h->data;
    if (d->stopping)
        return;
    bw_publish_heartbeat(&d->app, d->pub);
    bw_auth_tick(d->app.auth);
    status_line(d);
}

static void on_watchdog(uv_timer_t *h)
{
    (void)h;
    bw_notify_watchdog();
}

static void on_damage(void *ctx, const char *first)
{
    bw_daemon *d = ctx;
    bw_err err;
    if (d->stopping || begin(d))
        return;
    (void)bw_publish_damage(&d->app, first);   /* a failure fails the batch: the commit says so */
    (void)commit(d, &err);
}

static void reload(bw_daemon *d)
{
    bw_err err;
    if (commit_quiet(d, &err))
        return;
    if (bw_reload(&d->app, &err)) {
        if (d->app.engine == NULL) {
            stop(d, BW_EXIT_FAILURE);
            return;
        }
        bw_log(BW_LOG_ERR, "reload failed, still running the old plan: %s", err.msg);
    }
    (void)commit(d, &err);
}

static void on_sighup(uv_signal_t *h, int sig)
{
    (void)sig;
    bw_daemon *d = h->data;
    if (!d->stopping)
        reload(d);
}

static void on_stop(uv_signal_t *h, int sig)
{
    bw_daemon *d = h->data;
    bw_log(BW_LOG_NOTICE, "signal %d: stopping", sig);
    bw_notify_stopping();
    /* A clean stop leaves every row current: the next start re-adds nothing. */
    if (!d->stopping)
        (void)bw_loop_stop_commit(d);
    stop(d, 0);
}

/* ---- life cycle of the loop ---- */

static int init_handles(bw_daemon *d, bw_err *err)
{
    uv_handle_t *hs[] = { (uv_handle_t *)&d->drain, (uv_handle_t *)&d->alert_timer,
                          (uv_handle_t *)&d->hb_timer, (uv_handle_t *)&d->wd_timer,
                          (uv_handle_t *)&d->sighup, (uv_handle_t *)&d->sigterm,
                          (uv_handle_t *)&d->sigint };
    int rc = uv_idle_init(&d->loop, &d->drain);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->alert_timer);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->hb_timer);
    rc = rc ? rc : uv_timer_init(&d->loop, &d->wd_timer);
    rc = rc ? rc : uv_signal_init(&d->loop, &d->sighup);
    rc = rc ? rc : uv_signal_init(&d->loop, &d->sigterm);
    rc = rc ? rc : uv_signal_init(&d->loop, &d->sigint);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        hs[i]->data = d;
    bw_ckpt_init(&d->ckpt, &d->loop, &d->app);
    if (bw_flush_init(&d->flush, &d->loop, &d->app, d->app.cfg.sync_full, on_flushed, d,
                      bw_batch_committed_seq(d->app.batch), err))
        return -1;
    return bw_ichk_init(&d->ichk, &d->loop, &d->app, on_damage, d, &d->stopping, err);
}

static int start_handles(bw_daemon *d, bw_err *err)
{
    uint64_t hb = (uint64_t)d->app.cfg.heartbeat_interval * 1000;
    int rc = uv_signal_start(&d->sighup, on_sighup, SIGHUP);
    rc = rc ? rc : uv_signal_start(&d->sigterm, on_stop, SIGTERM);
    rc = rc ? rc : uv_signal_start(&d->sigint, on_stop, SIGINT);
    rc = rc ? rc : uv_timer_start(&d->hb_timer, on_heartbeat, hb, hb);
    uint64_t wd = bw_notify_watchdog_usec();
    if (rc == 0 && wd > 0)
        rc = uv_timer_start(&d->wd_timer, on_watchdog, wd / 2000, wd / 2000);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    return bw_ichk_start(&d->ichk, err);
}

int bw_loop_open(bw_daemon *d, bw_err *err)
{
    int rc = uv_loop_init(&d->loop);
    if (rc)
        return bw_err_set(err, "libuv: %s", uv_strerror(rc));
    d->loop_ready = true;
    if (init_handles(d, err) || open_sockets(d, err) || start_handles(d, err))
        return -1;
    return 0;
}

int bw_loop_catch_up(bw_daemon *d)
{
    bw_err err;
    int64_t to = d->app.cfg.clock == BW_CLOCK_WALL ? (int64_t)time(NULL)
                                                  : bw_engine_now(d->app.engine);
    /* Every project is evaluated once at the ledger's now, then each instant
     * up to `to` at its own time: what was announced is not announced again. */
    if (begin(d) || commit(d, &err) || advance(d, to) || commit(d, &err))
        return -1;
    return 0;
}

int bw_loop_stop_commit(bw_daemon *d)
{
    bw_err err;
    if (d->app.engine == NULL || bw_batch_failed(d->app.batch))
        return 0;
    return commit_quiet(d, &err) || durable_now(d, &err) ? -1 : 0;
}

void bw_loop_run(bw_daemon *d)
{
    status_line(d);
    drain_all(d);   /* anything that arrived while starting */
    uv_run(&d->loop, UV_RUN_DEFAULT);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, close_cb);
}

void bw_loop_close(bw_daemon *d)
{
    if (d->loop_ready) {
        uv_walk(&d->loop, close_walk, NULL);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&d->loop))
            bw_log(BW_LOG_WARNING, "the event loop still had handles at exit");
        d->loop_ready = false;
    }
    void *socks[] = { d->sub, d->router, d->pub, d->rep };
    for (size_t i = 0; i < 4; i++)
        if (socks[i])
            zmq_close(socks[i]);
    d->sub = d->router = d->pub = d->rep = NULL;
    bw_flush_free(&d->flush);
    bw_auth_free(&d->app.auth);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    d->zctx = NULL;
}
