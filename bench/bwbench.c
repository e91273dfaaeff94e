/* bwbench: the load generator and the raw limits of bench/run.py. Each mode
 * makes one measurement and prints it as one JSON object on stdout.
 *
 *   ack EP N PROJECTS WINDOW            events to budgetwatchd's ROUTER, WINDOW in flight
 *   pub EP CTL N PROJECTS               events to its SUB; done when stats.accepted = N
 *   raw-ack N PROJECTS WINDOW           the same through bare DEALER/ROUTER + msgpack decode
 *   raw-pubsub N PROJECTS               the same through bare PUB/SUB + msgpack decode
 *   raw-sqlite FILE N PROJECTS BATCH normal|full   the daemon's rows, bare SQLite
 *   latency ACK_EP PUB_EP RATE SECONDS PROJECTS    send->ack, and event->alert
 *   raw-latency FILE RATE SECONDS PROJECTS turn|row the same sender and events through bare
 *                                       DEALER/ROUTER + decode + an events row + a commit
 *                                       with synchronous = FULL (one a turn, or one a row)
 *   engine PLAN N                       the pure engine at the plan's size
 *   engine-all PLAN N                   the same with every rule of issue 16 on (both bases,
 *                                       four bands, stalled, large_payment, burst,
 *                                       year_end_rush), each event also dated, windowed
 *                                       and checked for a large payment as ingest does
 *
 * Events are encoded before the clock starts: the figures are of moving and
 * handling them, not of making them. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <msgpack.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "engine.h"
#include "plan.h"
#include "proto.h"

#define JAN1_2022 1640966400LL      /* 2022-01-01T00:00:00+08:00 */
#define DAY 86400LL
#define OVERSPEND_FEN 100000000000LL /* more than any generated budget */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bwbench: %s: %s\n", what, zmq_errno() ? zmq_strerror(zmq_errno()) : "failed");
    exit(1);
}

static long arg_long(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v <= 0) {
        fprintf(stderr, "bwbench: \"%s\" is not a positive whole number\n", s);
        exit(2);
    }
    return v;
}

/* ---- events, encoded in advance ---- */

typedef struct batch {
    char *buf;
    size_t *off;                /* event i is buf[off[i] .. off[i+1]) */
    char (*topic)[96];          /* disb.<unit>.<project> */
    size_t n;
} batch;

/* Event i goes to project (i x a large prime) mod projects: every project
 * as often, but consecutive events far apart, as payments from many units
 * arrive. In turn (i mod projects) would let rows saved together be
 * neighbours in the ledger, which real traffic does not do. */
#define SCATTER 1000003u

static size_t project_of(size_t i, size_t projects)
{
    return projects % SCATTER ? i * SCATTER % projects : i % projects;
}

/* Event i: project_of(i) (gen_plan.py's codes, units of 200), a small amount,
 * a time in the first half of January, so no alert fires and the figures are
 * of ingest alone. */
static void make_event(bw_event *ev, size_t i, size_t n, size_t projects)
{
    memset(ev, 0, sizeof *ev);
    size_t p = project_of(i, projects);
    ev->type = BW_EV_DISBURSEMENT;
    ev->amount = 1 + (int64_t)(i % 97);
    ev->ts = JAN1_2022 + DAY + (int64_t)((double)i / (double)n * 14 * DAY);
    snprintf(ev->src, sizeof ev->src, "bench");
    snprintf(ev->id, sizeof ev->id, "%zu", i);
    snprintf(ev->project, sizeof ev->project, "P%09zu", p);
}

static batch make_batch(size_t n, size_t projects, bool topics)
{
    batch b = { .n = n };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    b.off = malloc((n + 1) * sizeof *b.off);
    b.topic = topics ? malloc(n * sizeof *b.topic) : NULL;
    if (!b.off || (topics && !b.topic))
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        bw_event ev;
        make_event(&ev, i, n, projects);
        b.off[i] = sb.size;
        if (bw_event_encode(&ev, &sb))
            die("encoding an event");
        if (topics)
            snprintf(b.topic[i], sizeof b.topic[i], "disb.U%06zu.%s", project_of(i, projects) / 200,
                     ev.project);
    }
    b.off[n] = sb.size;
    b.buf = msgpack_sbuffer_release(&sb);
    return b;
}

static void batch_free(batch *b)
{
    free(b->buf);
    free(b->off);
    free(b->topic);
}

static void send_event(void *s, const batch *b, size_t i, int flags)
{
    if (zmq_send(s, b->buf + b->off[i], b->off[i + 1] - b->off[i], flags) < 0)
        die("zmq_send");
}

static void print_rate(const char *mode, size_t n, double secs, const char *extra)
{
    printf("{\"mode\":\"%s\",\"events\":%zu,\"seconds\":%.3f,\"rate\":%.0f%s}\n", mode, n, secs,
           (double)n / secs, extra);
}

/* ---- the reliable path: a DEALER with a window ---- */

/* Sends every event with at most window unacknowledged; returns the number
 * accepted. Acks are decoded, as a payment system would. */
static size_t pump_acks(void *dealer, const batch *b, size_t window)
{
    size_t sent = 0, acked = 0, accepted = 0;
    char buf[1024];
    while (acked < b->n) {
        while (sent < b->n && sent - acked < window)
            send_event(dealer, b, sent++, 0);
        int len = zmq_recv(dealer, buf, sizeof buf, 0);
        if (len < 0)
            die("zmq_recv (ack)");
        bw_ack a;
        char why[128];
        if (bw_ack_decode(buf, (size_t)len, &a, why, sizeof why) == 0 && a.status == BW_ACK_ACCEPTED)
            accepted++;
        acked++;
    }
    return accepted;
}

static void *dealer_to(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int hwm = 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(s, ep))
        die(ep);
    return s;
}

static int mode_ack(void *ctx, char **av)
{
    size_t n = (size_t)arg_long(av[1]), window = (size_t)arg_long(av[3]);
    batch b = make_batch(n, (size_t)arg_long(av[2]), false);
    void *s = dealer_to(ctx, av[0]);
    double t0 = now_s();
    size_t accepted = pump_acks(s, &b, window);
    double t = now_s() - t0;
    char extra[64];
    snprintf(extra, sizeof extra, ",\"accepted\":%zu,\"window\":%zu", accepted, window);
    print_rate("ack", n, t, extra);
    zmq_close(s);
    batch_free(&b);
    return accepted == n ? 0 : 1;
}

/* ---- the SUB path ---- */

/* An XPUB hears the subscription arrive, so nothing is sent into the void
 * before the subscriber is there (the slow-joiner problem, without a sleep). */
static void *xpub_ready(void *ctx, const char *ep, int bind)
{
    void *s = zmq_socket(ctx, ZMQ_XPUB);
    int hwm = 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (bind ? zmq_bind(s, ep) : zmq_connect(s, ep))
        die(ep);
    return s;
}

static void wait_subscription(void *xpub)
{
    char sub[64];
    if (zmq_recv(xpub, sub, sizeof sub, 0) < 0)
        die("waiting for the subscription");
}

static int64_t daemon_accepted(void *req)
{
    bw_ctl_req q = { .op = BW_OP_STATS };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_ctl_req_encode(&q, &sb) || zmq_send(req, sb.data, sb.size, 0) < 0)
        die("sending stats");
    msgpack_sbuffer_destroy(&sb);
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, req, 0) < 0)
        die("stats reply");
    msgpack_unpacked u;
    int64_t accepted = -1;
    const msgpack_object *o = bw_reply_unpack(zmq_msg_data(&m), zmq_msg_size(&m), &u, NULL, 0);
    if (o == NULL || !bw_map_get_int(o, "accepted", &accepted))
        die("stats reply without accepted");
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&m);
    return accepted;
}

static int mode_pub(void *ctx, char **av)
{
    size_t n = (size_t)arg_long(av[2]);
    batch b = make_batch(n, (size_t)arg_long(av[3]), true);
    void *pub = xpub_ready(ctx, av[0], 0);     /* the daemon's SUB binds */
    void *req = zmq_socket(ctx, ZMQ_REQ);
    if (zmq_connect(req, av[1]))
        die(av[1]);
    wait_subscription(pub);
    int64_t before = daemon_accepted(req), got;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (zmq_send(pub, b.topic[i], strlen(b.topic[i]), ZMQ_SNDMORE) < 0)
            die("zmq_send (topic)");
        send_event(pub, &b, i, 0);
    }
    while ((got = daemon_accepted(req) - before) < (int64_t)n) {
        struct timespec ts = { 0, 2000000 };   /* 2 ms between polls of stats */
        nanosleep(&ts, NULL);
    }
    print_rate("pub", n, now_s() - t0, "");
    zmq_close(req);
    zmq_close(pub);
    batch_free(&b);
    return 0;
}

/* ---- raw limits: the same sockets and decoding, nothing else ---- */

typedef struct raw_peer {
    void *ctx;
    const char *ep;
    size_t n;
    int type;                   /* ZMQ_ROUTER or ZMQ_SUB */
    void *ready;                /* PAIR to signal "bound/connected" */
    double end;
} raw_peer;

static void *raw_server(void *arg)
{
    raw_peer *p = arg;
    void *s = zmq_socket(p->ctx, p->type);
    int hwm = 0;
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (p->type == ZMQ_SUB) {
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "disb.", 5);
        if (zmq_connect(s, p->ep))
            die(p->ep);
    } else if (zmq_bind(s, p->ep)) {
        die(p->ep);
    }
    zmq_send(p->ready, "", 0, 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char who[256], buf[2048];
    for (size_t i = 0; i < p->n; i++) {
        int wlen = zmq_recv(s, who, sizeof who, 0);   /* identity or topic */
        int len = zmq_recv(s, buf, sizeof buf, 0);
        if (wlen < 0 || len < 0)
            die("raw recv");
        bw_event ev;
        char why[128];
        if (bw_event_decode(buf, (size_t)len, &ev, why, sizeof why))
            die("raw decode");
        if (p->type == ZMQ_ROUTER) {
            bw_ack a = { .status = BW_ACK_ACCEPTED };
            memcpy(a.src, ev.src, sizeof a.src);
            memcpy(a.id, ev.id, sizeof a.id);
            sb.size = 0;
            if (bw_ack_encode(&a, &sb) || zmq_send(s, who, (size_t)wlen, ZMQ_SNDMORE) < 0 ||
                zmq_send(s, sb.data, sb.size, 0) < 0)
                die("raw ack");
        }
    }
    p->end = now_s();
    msgpack_sbuffer_destroy(&sb);
    zmq_close(s);
    return NULL;
}

static void raw_endpoint(char *ep, size_t len, const char *name)
{
    snprintf(ep, len, "ipc:///tmp/bwbench-%d-%s.sock", (int)getpid(), name);
}

static int mode_raw(void *ctx, char **av, int type)
{
    size_t n = (size_t)arg_long(av[0]);
    batch b = make_batch(n, (size_t)arg_long(av[1]), type == ZMQ_SUB);
    char ep[128];
    raw_endpoint(ep, sizeof ep, type == ZMQ_ROUTER ? "router" : "pub");
    void *ready = zmq_socket(ctx, ZMQ_PAIR), *peer_ready = zmq_socket(ctx, ZMQ_PAIR);
    zmq_bind(ready, "inproc://ready");
    zmq_connect(peer_ready, "inproc://ready");
    raw_peer p = { .ctx = ctx, .ep = ep, .n = n, .type = type, .ready = peer_ready };
    void *pub = type == ZMQ_SUB ? xpub_ready(ctx, ep, 1) : NULL;
    pthread_t th;
    if (pthread_create(&th, NULL, raw_server, &p))
        die("pthread_create");
    char x;
    zmq_recv(ready, &x, 1, 0);
    double t0;
    if (type == ZMQ_ROUTER) {
        void *s = dealer_to(ctx, ep);
        t0 = now_s();
        pump_acks(s, &b, (size_t)arg_long(av[2]));
        p.end = now_s();
        pthread_join(th, NULL);
        zmq_close(s);
    } else {
        wait_subscription(pub);
        t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            zmq_send(pub, b.topic[i], strlen(b.topic[i]), ZMQ_SNDMORE);
            send_event(pub, &b, i, 0);
        }
        pthread_join(th, NULL);
        zmq_close(pub);
    }
    print_rate(type == ZMQ_ROUTER ? "raw-ack" : "raw-pubsub", n, p.end - t0, "");
    zmq_close(ready);
    zmq_close(peer_ready);
    batch_free(&b);
    return 0;
}

/* What the daemon writes for an event: the events table and its indexes
 * (ledger schema 5: events_project too) and the upsert of the event's daily
 * sum, with the same WAL and synchronous; ins[0] is the insert, ins[1] the
 * upsert. Exits on failure. */
static sqlite3 *raw_db_open(const char *path, const char *sync, sqlite3_stmt *ins[2])
{
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path);
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             "PRAGMA cache_size=-32768;", strcmp(sync, "full") ? "NORMAL" : "FULL");
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) ||
        sqlite3_exec(db, "CREATE TABLE events (rowid INTEGER PRIMARY KEY, src TEXT NOT NULL,"
                     " id TEXT NOT NULL, seq INTEGER, type INTEGER NOT NULL CHECK (type IN (0, 1)),"
                     " project TEXT NOT NULL, unit TEXT NOT NULL,"
                     " amount INTEGER NOT NULL CHECK (amount > 0),"
                     " fund INTEGER NOT NULL CHECK (fund IN (0, 1)), ts INTEGER NOT NULL,"
                     " ref TEXT NOT NULL, received_at INTEGER NOT NULL, UNIQUE (src, id)) STRICT;"
                     "CREATE INDEX events_ref ON events (src, ref) WHERE ref != '';"
                     "CREATE INDEX events_project ON events (project, rowid);"
                     "CREATE TABLE daily (project TEXT NOT NULL, day INTEGER NOT NULL,"
                     " fiscal INTEGER NOT NULL, other INTEGER NOT NULL, events INTEGER NOT NULL,"
                     " PRIMARY KEY (project, day)) STRICT, WITHOUT ROWID;",
                     NULL, NULL, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO events (src, id, seq, type, project, unit, amount,"
                           " fund, ts, ref, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1,
                           &ins[0], NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO daily (project, day, fiscal, other, events)"
                           " VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (project, day) DO UPDATE SET"
                           " fiscal = fiscal + excluded.fiscal, other = other + excluded.other,"
                           " events = events + 1", -1, &ins[1], NULL)) {
        fprintf(stderr, "bwbench: %s: %s\n", path, sqlite3_errmsg(db));
        exit(1);
    }
    return db;
}

/* One event's row; its unit is the plan's (gen_plan.py: units of 200), for
 * project number p. */
static void raw_db_insert(sqlite3 *db, sqlite3_stmt *ins[2], const bw_event *e, size_t p)
{
    sqlite3_stmt *st = ins[0], *day = ins[1];
    char unit[32];
    snprintf(unit, sizeof unit, "U%06zu", p / 200);
    sqlite3_bind_text(st, 1, e->src, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->id, -1, SQLITE_STATIC);
    sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, e->type);
    sqlite3_bind_text(st, 5, e->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, unit, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, e->amount);
    sqlite3_bind_int(st, 8, e->fund);
    sqlite3_bind_int64(st, 9, e->ts);
    sqlite3_bind_text(st, 10, "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, e->ts);
    if (sqlite3_step(st) != SQLITE_DONE)
        die(sqlite3_errmsg(db));
    sqlite3_reset(st);
    /* UTC days: the daemon keys by local days, the same number of rows. */
    int64_t net = e->type == BW_EV_REFUND ? -e->amount : e->amount;
    sqlite3_bind_text(day, 1, e->project, -1, SQLITE_STATIC);
    sqlite3_bind_int64(day, 2, e->ts - e->ts % 86400);
    sqlite3_bind_int64(day, 3, e->fund == BW_FUND_FISCAL ? net : 0);
    sqlite3_bind_int64(day, 4, e->fund == BW_FUND_FISCAL ? 0 : net);
    if (sqlite3_step(day) != SQLITE_DONE)
        die(sqlite3_errmsg(db));
    sqlite3_reset(day);
}

/* The daemon's rows in its batches, bare SQLite. */
static int mode_raw_sqlite(char **av)
{
    size_t n = (size_t)arg_long(av[1]), projects = (size_t)arg_long(av[2]);
    size_t per = (size_t)arg_long(av[3]);
    sqlite3_stmt *st[2];
    sqlite3 *db = raw_db_open(av[0], av[4], st);
    bw_event *evs = malloc(n * sizeof *evs);
    if (evs == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        make_event(&evs[i], i, n, projects);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (i % per == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        raw_db_insert(db, st, &evs[i], project_of(i, projects));
        if (i % per == per - 1 || i == n - 1)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double t = now_s() - t0;
    char extra[64];
    snprintf(extra, sizeof extra, ",\"batch\":%zu,\"synchronous\":\"%s\"", per, av[4]);
    print_rate("raw-sqlite", n, t, extra);
    sqlite3_finalize(st[0]);
    sqlite3_finalize(st[1]);
    sqlite3_close(db);
    free(evs);
    return 0;
}

/* ---- latency at a steady rate ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of n sorted seconds, in ms; -1 when there is none. */
static double pct(const double *v, size_t n, double p)
{
    return n ? v[(size_t)((double)(n - 1) * p)] * 1e3 : -1;
}

typedef struct lat {
    size_t n, projects, next, ntrig, nack, nalert;
    double t0, *sent, *ack, *alert;
    long rate;
    msgpack_sbuffer sb;
} lat;

/* Sends what is due by now. Every 100th event pays more than any budget into
 * a project no other event touches, so exactly one overspend alert answers it. */
static void lat_send_due(lat *l, void *dealer)
{
    while (l->next < l->n && now_s() >= l->t0 + (double)l->next / (double)l->rate) {
        size_t i = l->next;
        bw_event ev;
        make_event(&ev, i, l->n, l->projects - l->n / 100 - 1);
        ev.ts = JAN1_2022 + DAY;
        if (i % 100 == 0) {
            snprintf(ev.project, sizeof ev.project, "P%09zu", l->projects - 1 - i / 100);
            ev.amount = OVERSPEND_FEN;
            l->ntrig++;
        }
        l->sb.size = 0;
        if (bw_event_encode(&ev, &l->sb) || zmq_send(dealer, l->sb.data, l->sb.size, 0) < 0)
            die("sending");
        l->sent[l->next++] = now_s();
    }
}

static void lat_receive(lat *l, void *dealer, void *sub)
{
    char buf[4096], topic[128], why[128];
    int len;
    while ((len = zmq_recv(dealer, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
        double at = now_s();
        bw_ack a;
        if (bw_ack_decode(buf, (size_t)len, &a, why, sizeof why) == 0) {
            size_t i = strtoul(a.id, NULL, 10);
            if (i < l->next && l->ack[i] == 0)
                l->ack[i] = at - l->sent[i], l->nack++;
        }
    }
    while (zmq_recv(sub, topic, sizeof topic, ZMQ_DONTWAIT) >= 0) {
        len = zmq_recv(sub, buf, sizeof buf, 0);
        double at = now_s();
        bw_alert_msg m;
        if (len > 0 && bw_alert_decode(buf, (size_t)len, &m, why, sizeof why) == 0 &&
            m.kind == BW_KIND_OVERSPEND && m.state == BW_STATE_FIRING && m.project[0] == 'P') {
            size_t k = l->projects - 1 - strtoul(m.project + 1, NULL, 10);
            if (k * 100 < l->next)
                l->alert[l->nalert++] = at - l->sent[k * 100];
        }
    }
}

static void lat_init(lat *l, char **av)
{
    *l = (lat){ .rate = arg_long(av[0]), .projects = (size_t)arg_long(av[2]) };
    l->n = (size_t)(l->rate * arg_long(av[1]));
    l->sent = calloc(l->n, sizeof *l->sent);
    l->ack = calloc(l->n, sizeof *l->ack);
    l->alert = calloc(l->n / 100 + 1, sizeof *l->alert);
    if (!l->sent || !l->ack || !l->alert)
        die("out of memory");
    msgpack_sbuffer_init(&l->sb);
}

/* Sends at the steady rate until every event is acknowledged and, with a
 * SUB (else NULL), every trigger's alert has come; at most 30 s more. Then
 * sorts the latencies: l->nack of them are in l->ack. */
static void lat_run(lat *l, void *dealer, void *sub, long secs)
{
    l->t0 = now_s() + 0.5;          /* the subscriber connects meanwhile */
    while ((l->nack < l->n || (sub && l->nalert < l->ntrig)) &&
           now_s() < l->t0 + (double)secs + 30) {
        lat_send_due(l, dealer);
        zmq_pollitem_t items[] = { { dealer, 0, ZMQ_POLLIN, 0 }, { sub, 0, ZMQ_POLLIN, 0 } };
        /* Sleep until the next event is due, to the next whole ms: polling
         * with a 0 timeout would spin a core that the daemon needs (at 10,000
         * events/s they go out 10 to a 1 ms tick, each timed on its own). */
        double wait = l->next < l->n ? l->t0 + (double)l->next / (double)l->rate - now_s() : 0.1;
        if (zmq_poll(items, sub ? 2 : 1, wait > 0 ? (long)(wait * 1000) + 1 : 0) < 0)
            die("zmq_poll");
        lat_receive(l, dealer, sub);
    }
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->ack[i] > 0)
            l->ack[k++] = l->ack[i];
    l->nack = k;
    qsort(l->ack, k, sizeof *l->ack, cmp_double);
    qsort(l->alert, l->nalert, sizeof *l->alert, cmp_double);
}

static void lat_free(lat *l)
{
    msgpack_sbuffer_destroy(&l->sb);
    free(l->sent);
    free(l->ack);
    free(l->alert);
}

static int mode_latency(void *ctx, char **av)
{
    lat l;
    lat_init(&l, av + 2);
    void *dealer = dealer_to(ctx, av[0]), *sub = zmq_socket(ctx, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "alert.", 6);
    if (zmq_connect(sub, av[1]))
        die(av[1]);
    lat_run(&l, dealer, sub, arg_long(av[3]));
    size_t k = l.nack;
    printf("{\"mode\":\"latency\",\"rate\":%ld,\"events\":%zu,\"acks\":%zu,"
           "\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"ack_p999_ms\":%.3f,\"ack_max_ms\":%.3f,"
           "\"triggers\":%zu,\"alerts\":%zu,\"alert_p50_ms\":%.3f,\"alert_p99_ms\":%.3f,"
           "\"alert_max_ms\":%.3f}\n", l.rate, l.n, k, pct(l.ack, k, .5), pct(l.ack, k, .99),
           pct(l.ack, k, .999), pct(l.ack, k, 1), l.ntrig, l.nalert, pct(l.alert, l.nalert, .5),
           pct(l.alert, l.nalert, .99), pct(l.alert, l.nalert, 1));
    int rc = k == l.n && l.nalert == l.ntrig ? 0 : 1;
    lat_free(&l);
    zmq_close(dealer);
    zmq_close(sub);
    return rc;
}

/* ---- the raw latency limit ---- */

#define TURN_MAX 4096               /* the daemon's batch_max: events one turn takes */

typedef struct rawlat {
    void *ctx, *ready;
    const char *ep, *file;
    bool per_row;                   /* a commit for every event, else one per turn */
    size_t n, commits, turn_max, checkpoints;
    double busy;                    /* seconds from a turn's first read to its last ack */
    atomic_bool stop;
} rawlat;

/* Checkpoints as the daemon takes them (daemon/ckpt.c), off the commit path:
 * a thread of its own copies the WAL (passive) on a connection of its own
 * every 1,000 new frames; once the WAL passes 8,192 frames the writer copies
 * what was committed meanwhile, so that the WAL starts over. Left to SQLite,
 * a commit now and then would copy 1,000 pages and wait for two fsyncs. */
typedef struct rawckpt {
    const char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool go, busy, quit;
    int frames, base, done;     /* frames in the WAL; copied when the last run began, by it */
    size_t runs;
} rawckpt;

static int on_wal_frames(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((rawckpt *)arg)->frames = frames;   /* the writer's thread, as rawckpt_after_commit */
    return SQLITE_OK;
}

static void *rawckpt_worker(void *arg)
{
    rawckpt *c = arg;
    sqlite3 *db;
    if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
        die("the checkpoint connection");
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->go && !c->quit)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->quit)
            break;
        c->go = false;
        pthread_mutex_unlock(&c->mu);
        int log = 0, done = 0;
        if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) != SQLITE_OK)
            die(sqlite3_errmsg(db));
        pthread_mutex_lock(&c->mu);
        c->done = done;
        c->busy = false;
        c->runs++;
    }
    pthread_mutex_unlock(&c->mu);
    sqlite3_close(db);
    return NULL;
}

static void rawckpt_after_commit(rawckpt *c, sqlite3 *writer)
{
    pthread_mutex_lock(&c->mu);
    bool idle = !c->busy;
    if (idle)
        c->base = c->done;
    if (c->frames < c->base)
        c->base = c->done = 0;      /* the WAL has started over */
    if (idle && c->frames - c->base >= 1000) {
        c->busy = c->go = true;
        pthread_cond_signal(&c->cv);
        idle = false;
    }
    pthread_mutex_unlock(&c->mu);
    if (idle && c->frames >= 8192) {
        int log = 0, done = 0;
        if (sqlite3_wal_checkpoint_v2(writer, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) != SQLITE_OK)
            die(sqlite3_errmsg(writer));
    }
}

/* The ROUTER end: what one turn drains (at most TURN_MAX) is decoded with
 * the project's decoder, inserted into the daemon's events table and
 * committed in one transaction, with synchronous = FULL; only then are its
 * acks encoded and sent, as the daemon does. per_row: one event a commit. */
static void *rawlat_server(void *arg)
{
    rawlat *p = arg;
    void *s = zmq_socket(p->ctx, ZMQ_ROUTER);
    int hwm = 0;
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_bind(s, p->ep))
        die(p->ep);
    sqlite3_stmt *ins[2], *begin, *commit;
    sqlite3 *db = raw_db_open(p->file, "full", ins);
    if (sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL))
        die(sqlite3_errmsg(db));
    rawckpt ck = { .path = p->file };
    pthread_t ckth;
    sqlite3_wal_hook(db, on_wal_frames, &ck);      /* replaces wal_autocheckpoint */
    pthread_mutex_init(&ck.mu, NULL);
    pthread_cond_init(&ck.cv, NULL);
    if (pthread_create(&ckth, NULL, rawckpt_worker, &ck))
        die("pthread_create");
    bw_ack *acks = malloc(TURN_MAX * sizeof *acks);
    char (*who)[256] = malloc(TURN_MAX * sizeof *who);
    int *wlen = malloc(TURN_MAX * sizeof *wlen);
    if (!acks || !who || !wlen)
        die("out of memory");
    zmq_send(p->ready, "", 0, 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char buf[2048], why[128];
    for (size_t got = 0; got < p->n && !atomic_load(&p->stop);) {
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(&it, 1, 100);
        if (rc < 0)
            die("zmq_poll (raw-latency)");
        size_t k = 0;
        double t = now_s();
        while (rc > 0 && k < (p->per_row ? 1 : TURN_MAX)) {
            if ((wlen[k] = zmq_recv(s, who[k], sizeof who[k], ZMQ_DONTWAIT)) < 0) {
                if (zmq_errno() != EAGAIN)
                    die("raw recv");
                break;
            }
            int len = zmq_recv(s, buf, sizeof buf, 0);
            bw_event ev;
            if (len < 0 || bw_event_decode(buf, (size_t)len, &ev, why, sizeof why))
                die("raw decode");
            if (k == 0 && sqlite3_step(begin) != SQLITE_DONE)
                die(sqlite3_errmsg(db));
            raw_db_insert(db, ins, &ev, strtoul(ev.project + 1, NULL, 10));
            acks[k] = (bw_ack){ .status = BW_ACK_ACCEPTED };
            memcpy(acks[k].src, ev.src, sizeof acks[k].src);
            memcpy(acks[k].id, ev.id, sizeof acks[k].id);
            k++;
        }
        if (k == 0)
            continue;
        sqlite3_reset(begin);
        if (sqlite3_step(commit) != SQLITE_DONE)
            die(sqlite3_errmsg(db));
        sqlite3_reset(commit);
        p->commits++;
        if (k > p->turn_max)
            p->turn_max = k;
        for (size_t i = 0; i < k; i++) {
            sb.size = 0;
            if (bw_ack_encode(&acks[i], &sb) || zmq_send(s, who[i], (size_t)wlen[i], ZMQ_SNDMORE) < 0 ||
                zmq_send(s, sb.data, sb.size, 0) < 0)
                die("raw ack");
        }
        got += k;
        rawckpt_after_commit(&ck, db);
        p->busy += now_s() - t;
    }
    pthread_mutex_lock(&ck.mu);
    ck.quit = true;
    pthread_cond_signal(&ck.cv);
    pthread_mutex_unlock(&ck.mu);
    pthread_join(ckth, NULL);
    p->checkpoints = ck.runs;
    msgpack_sbuffer_destroy(&sb);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(ins[0]);
    sqlite3_finalize(ins[1]);
    sqlite3_close(db);
    free(acks);
    free(who);
    free(wlen);
    zmq_close(s);
    return NULL;
}

/* raw-latency FILE RATE SECONDS PROJECTS turn|row: the latency test's sender
 * and events against rawlat_server. */
static int mode_raw_latency(void *ctx, char **av)
{
    lat l;
    lat_init(&l, av + 1);
    char ep[128];
    raw_endpoint(ep, sizeof ep, "latency");
    void *ready = zmq_socket(ctx, ZMQ_PAIR), *peer_ready = zmq_socket(ctx, ZMQ_PAIR);
    zmq_bind(ready, "inproc://ready");
    zmq_connect(peer_ready, "inproc://ready");
    if (strcmp(av[4], "turn") && strcmp(av[4], "row")) {
        fprintf(stderr, "bwbench: raw-latency commits a \"turn\" or a \"row\", not \"%s\"\n", av[4]);
        return 2;
    }
    rawlat p = { .ctx = ctx, .ready = peer_ready, .ep = ep, .file = av[0], .n = l.n,
                 .per_row = !strcmp(av[4], "row") };
    atomic_init(&p.stop, false);
    pthread_t th;
    if (pthread_create(&th, NULL, rawlat_server, &p))
        die("pthread_create");
    char x;
    zmq_recv(ready, &x, 1, 0);
    void *dealer = dealer_to(ctx, ep);
    lat_run(&l, dealer, NULL, arg_long(av[2]));
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);
    size_t k = l.nack;
    printf("{\"mode\":\"raw-latency\",\"commit\":\"%s\",\"synchronous\":\"full\","
           "\"rate\":%ld,\"events\":%zu,\"acks\":%zu,\"commits\":%zu,\"turn_max\":%zu,"
           "\"checkpoints\":%zu,\"turn_ms\":%.3f,"
           "\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"ack_p999_ms\":%.3f,\"ack_max_ms\":%.3f}\n",
           av[4], l.rate, l.n, k, p.commits, p.turn_max, p.checkpoints,
           p.commits ? p.busy / (double)p.commits * 1e3 : -1.0, pct(l.ack, k, .5), pct(l.ack, k, .99),
           pct(l.ack, k, .999), pct(l.ack, k, 1));
    lat_free(&l);
    zmq_close(dealer);
    zmq_close(ready);
    zmq_close(peer_ready);
    unlink(ep + strlen("ipc://"));
    return k == l.n ? 0 : 1;
}

/* ---- the pure engine at the plan's size ---- */

static void count_alert(void *ctx, const bw_alert *a)
{
    (void)a;
    ++*(uint64_t *)ctx;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) || (*len = (size_t)ftell(f), fseek(f, 0, SEEK_SET)))
        die(path);
    char *buf = malloc(*len + 1);
    if (buf == NULL || fread(buf, 1, *len, f) != *len)
        die(path);
    fclose(f);
    return buf;
}

/* Event cost: apply + evaluate, in batches of 1000 as the daemon commits
 * them. Timer cost: the clock moves past April 1st, where every project that
 * is behind misses its first milestone; time per transition emitted. */
static int mode_engine(char **av, bool all)
{
    size_t len, n = (size_t)arg_long(av[1]);
    char *buf = read_file(av[0], &len), why[256];
    bw_plan_opts po = { .fiscal_year = 2022, .default_target_bp = 9500 };
    static const char sched[] = "03-31:30;06-30:60;10-31:90;12-31:100";
    bw_err err = { 0 };
    if (bw_schedule_parse(sched, sizeof sched - 1, 2022, &po.default_schedule, why, sizeof why))
        die(why);
    double t0 = now_s();
    bw_plan *plan = bw_plan_parse_csv(buf, len, av[0], &po, &err);
    double parse = now_s() - t0;
    free(buf);
    if (plan == NULL) {
        fprintf(stderr, "bwbench: %s\n", err.msg);
        return 1;
    }
    size_t projects = bw_plan_nprojects(plan);
    bw_calendar cal;
    bw_cal_init_fixed(&cal, 2022, 8 * 3600);
    bw_engine_opts eo;
    bw_engine_opts_default(&eo);
    if (all) {
        static const bw_band bands[] = { { "黄", 500 }, { "红一档", 1000 }, { "红二档", 2000 },
                                         { "红三档", 3000 } };
        eo.lag_basis = BW_BASIS_BOTH;
        eo.nbands = 4;
        memcpy(eo.band, bands, sizeof bands);
        eo.stalled_after = 30 * DAY;
        eo.large_payment_bp = 5000;
        eo.burst_payments = 10;
        eo.burst_window = DAY;
        eo.rush_window = 31 * DAY;
    }
    t0 = now_s();
    bw_engine *e = bw_engine_new(&plan, &cal, &eo, JAN1_2022, &err);
    double build = now_s() - t0;
    if (e == NULL)
        die(err.msg);
    uint64_t alerts = 0;
    uint32_t x = 12345;
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;     /* projects in no order a cache would like */
        uint32_t ix = x % (uint32_t)projects;
        int64_t amount = 1 + (int64_t)(i % 97);
        if (bw_engine_apply(e, ix, BW_EV_DISBURSEMENT, BW_FUND_FISCAL, amount, &err))
            die(err.msg);
        if (all) {              /* what ingest adds per payment */
            bw_alert large;
            int64_t ts = JAN1_2022 + DAY + (int64_t)(i / 1000);
            bw_engine_paid_at(e, ix, ts);
            bw_engine_window_payment(e, ix, BW_EV_DISBURSEMENT, amount, ts);
            alerts += bw_engine_large_payment(e, ix, amount, &large);
        }
        if (i % 1000 == 999)
            bw_engine_evaluate(e, JAN1_2022 + DAY + (int64_t)(i / 1000), count_alert, &alerts);
    }
    double events = now_s() - t0;
    uint64_t expiries = 0;
    t0 = now_s();
    bw_engine_evaluate(e, JAN1_2022 + 91 * DAY, count_alert, &expiries);
    double timers = now_s() - t0;
    printf("{\"mode\":\"%s\",\"projects\":%zu,\"plan_parse_s\":%.3f,\"engine_new_s\":%.3f,"
           "\"events\":%zu,\"event_us\":%.3f,\"alerts_during_events\":%" PRIu64 ","
           "\"transitions_by_time\":%" PRIu64 ",\"timer_s\":%.3f,\"timer_us_per_transition\":%.3f,"
           "\"bytes_per_project\":%zu}\n", all ? "engine-all" : "engine", projects, parse, build, n, events / (double)n * 1e6,
           alerts, expiries, timers, expiries ? timers / (double)expiries * 1e6 : -1.0,
           bw_engine_bytes_per_project());
    bw_engine_free(&e);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; int nargs; } modes[] = {
        { "ack", 4 }, { "pub", 4 }, { "raw-ack", 3 }, { "raw-pubsub", 2 }, { "raw-sqlite", 5 },
        { "latency", 5 }, { "engine", 2 }, { "raw-latency", 5 }, { "engine-all", 2 },
    };
    /* As budgetwatchd does (daemon/main.c): the raw limits get every help it gets. */
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        fprintf(stderr, "bwbench: cannot turn SQLite's memory statistics off\n");
    for (size_t m = 0; argc > 1 && m < sizeof modes / sizeof modes[0]; m++) {
        if (strcmp(argv[1], modes[m].name))
            continue;
        if (argc - 2 != modes[m].nargs)
            break;
        void *ctx = zmq_ctx_new();
        char **av = argv + 2;
        int rc = m == 0 ? mode_ack(ctx, av) : m == 1 ? mode_pub(ctx, av)
               : m == 2 ? mode_raw(ctx, av, ZMQ_ROUTER) : m == 3 ? mode_raw(ctx, av, ZMQ_SUB)
               : m == 4 ? mode_raw_sqlite(av) : m == 5 ? mode_latency(ctx, av)
               : m == 6 ? mode_engine(av, false) : m == 8 ? mode_engine(av, true)
               : mode_raw_latency(ctx, av);
        zmq_ctx_term(ctx);
        return rc;
    }
    fputs("usage: see the comment at the top of bench/bwbench.c\n", stderr);
    return 2;
}
