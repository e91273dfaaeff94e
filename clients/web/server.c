/* server: libmicrohttpd in the libuv loop, the routes, sessions and live
 * alerts (server.h).
 *
 * Why this shape: the console is one process with one thread. MHD in
 * external-epoll mode gives one file descriptor, which libuv watches like
 * any other; the alert stream is another (stream.h). A control request to
 * the daemon is a blocking REQ round trip of microseconds on the same host
 * (the daemon answers from memory), which keeps each handler a straight
 * line; a supervisor console has tens of users, not thousands. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "active.h"
#include "dc.h"
#include "export.h"
#include "model.h"
#include "pages.h"
#include "session.h"
#include "stream.h"
#include "text.h"

#define BODY_MAX (64 * 1024)    /* a form is small; more is refused */
#define KEEPALIVE_MS 15000      /* an SSE comment this often finds closed connections */
#define PER_PAGE 50
#define ACTIVE_SHOWN 500        /* active alerts on the page; a province has far more */
#define EXPORT_BATCH 10000      /* status rows asked for at a time for a download */
#define NOTES_SHOWN 100         /* notifications on a page (the newest) */
#define EXPORT_HISTORY 100000   /* alert messages in a history download at most */

static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

typedef struct sse {
    struct MHD_Connection *conn;
    bww_buf pending;
    bool suspended, ended;
    struct sse *next;
    bww_server *srv;
} sse;

struct bww_server {
    uv_loop_t *loop;
    bww_config cfg;
    bww_accounts accounts;
    bww_sessions sessions;
    bww_dc dc;
    bww_stream stream;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer, keepalive;
    bool polling, timing, keeping;
    sse *streams;
    bww_active active;          /* the daemon's active alerts, mirrored from the stream */
};

typedef struct request {
    bww_buf body;
    bool too_big;
} request;

/* ---- the loop around MHD ---- */

static void run_mhd(bww_server *s);

static void on_timer(uv_timer_t *t)
{
    run_mhd(t->data);
}

static void on_mhd_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(p->data);
}

/* One MHD turn, then the timer set to MHD's next timeout (if any). */
static void run_mhd(bww_server *s)
{
    MHD_run(s->mhd);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
        uv_timer_start(&s->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&s->timer);
}

/* ---- responses ---- */

static void security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
}

/* Queues body (taken: freed by MHD) with status and type. */
static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                bww_buf *body, const char *cookie, const char *location)
{
    if (body->oom) {
        bww_buf_free(body);
        bww_buf_puts(body, "out of memory building the page\n");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        type = "text/plain; charset=utf-8";
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(body->len, body->len ? body->data : (void *)"",
                                                             body->len ? MHD_RESPMEM_MUST_FREE
                                                                       : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        bww_buf_free(body);
        return MHD_NO;
    }
    body->data = NULL;
    bww_buf_free(body);
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie != NULL)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    if (location != NULL)
        MHD_add_response_header(r, "Location", location);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_html(struct MHD_Connection *c, unsigned status, bww_buf *b)
{
    return send_buf(c, status, "text/html; charset=utf-8", b, NULL, NULL);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, bww_buf *b)
{
    return send_buf(c, status, "application/json; charset=utf-8", b, NULL, NULL);
}

static enum MHD_Result redirect(struct MHD_Connection *c, const char *to, const char *cookie)
{
    bww_buf b = { 0 };
    return send_buf(c, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", &b, cookie, to);
}

static enum MHD_Result message(struct MHD_Connection *c, const bww_ctx *x, unsigned status,
                               const char *title, const char *text)
{
    bww_buf b = { 0 };
    bww_page_message(&b, x, title, text);
    return send_html(c, status, &b);
}

static enum MHD_Result json_error(struct MHD_Connection *c, unsigned status, const char *error)
{
    bww_buf b = { 0 };
    bww_buf_puts(&b, "{\"ok\":false,\"error\":\"");
    bww_buf_json_str(&b, error);
    bww_buf_puts(&b, "\"}");
    return send_json(c, status, &b);
}

/* ---- request pieces ---- */

static const char *arg(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v ? v : "";
}

static void client_addr(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)n);
}

static bww_ctx ctx_of(bww_server *s, struct MHD_Connection *c, const bww_session **se)
{
    bww_ctx x = { 0 };
    x.lang = bww_lang_of(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Language"));
    *se = bww_session_get(&s->sessions,
                          MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "bww_session"),
                          (int64_t)time(NULL));
    x.se = *se;
    return x;
}

#define L(c, zh, en) ((c)->lang == BWW_EN ? (en) : (zh))

/* A daemon reply the page cannot do without: 502 with its error. */
static enum MHD_Result daemon_failed(struct MHD_Connection *c, const bww_ctx *x, bool api,
                                     const bww_reply *r)
{
    unsigned code = r->unreachable ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_GATEWAY;
    if (api)
        return json_error(c, code, r->error);
    return message(c, x, code, L(x, "守护进程未应答", "The daemon did not answer"), r->error);
}

/* ---- static files ---- */

static bool safe_name(const char *n)
{
    if (n[0] == '\0' || n[0] == '.' || strlen(n) > 128)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return false;
    return strstr(n, "..") == NULL;
}

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".js") == 0) return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0) return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".png") == 0) return "image/png";
    if (dot && strcmp(dot, ".map") == 0) return "application/json";
    return "application/octet-stream";
}

static enum MHD_Result send_file(struct MHD_Connection *c, const char *dir, const char *name)
{
    char path[BWW_PATH_MAX + 160];
    if (!safe_name(name))
        return json_error(c, MHD_HTTP_NOT_FOUND, "no such file");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        bww_buf b = { 0 };
        bww_buf_printf(&b, "not found: %s (is the package that ships it installed?)\n", name);
        return send_buf(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", &b, NULL, NULL);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (r == NULL) {
        close(fd);
        return MHD_NO;
    }
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", type_of(name));
    MHD_add_response_header(r, "Cache-Control", "max-age=3600");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- Server-Sent Events ---- */

static void sse_resume(sse *e)
{
    if (e->suspended) {
        e->suspended = false;
        MHD_resume_connection(e->conn);
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *e = cls;
    if (e->pending.len > 0) {
        size_t n = e->pending.len < max ? e->pending.len : max;
        memcpy(buf, e->pending.data, n);
        bww_buf_consume(&e->pending, n);
        return (ssize_t)n;
    }
    if (e->ended || e->pending.oom)
        return MHD_CONTENT_READER_END_OF_STREAM;
    /* Nothing to send: park the connection until the daemon publishes. */
    e->suspended = true;
    MHD_suspend_connection(e->conn);
    return 0;
}

static void sse_free(void *cls)
{
    sse *e = cls;
    for (sse **p = &e->srv->streams; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    bww_buf_free(&e->pending);
    free(e);
}

static void sse_broadcast(bww_server *s, const char *text, size_t len)
{
    bool any = false;
    for (sse *e = s->streams; e; e = e->next) {
        bww_buf_add(&e->pending, text, len);
        sse_resume(e);
        any = true;
    }
    if (any)
        run_mhd(s);
}

/* Reads the active alerts again into the mirror (at start, and whenever the
 * stream lost a message); the stream's messages after the snapshot's seq
 * then apply on top of it. */
static void resync(bww_server *s)
{
    bww_req q = { .op = "alerts" }, ping = { .op = "ping" };
    bww_reply r;
    bww_alerts a = { 0 };
    char why[256];
    /* A daemon that does not answer a ping in the usual time is not waited
     * for with the snapshot's long timeout. */
    if (bww_dc_call(&s->dc, &ping, &r) != 0) {
        s->active.synced = false;
        bww_reply_free(&r);
        return;
    }
    bww_reply_free(&r);
    if (bww_dc_call_slow(&s->dc, &q, &r) == 0 && bww_alerts_decode(r.m, &a, why, sizeof why) == 0) {
        if (bww_active_load(&s->active, &a))
            fprintf(stderr, "budgetwatch-web: out of memory mirroring %zu active alerts\n", a.n);
    } else {
        s->active.synced = false;
    }
    bww_alerts_free(&a);
    bww_reply_free(&r);
}

static void on_alert(void *ctx, const bww_alert *a, uint64_t seq, const char *json, size_t len)
{
    bww_server *s = ctx;
    if (a == NULL || bww_active_apply(&s->active, a) != 0)
        resync(s);
    bww_buf b = { 0 };
    bww_buf_printf(&b, "id: %" PRIu64 "\nevent: alert\ndata: ", seq);
    bww_buf_add(&b, json, len);
    bww_buf_puts(&b, "\n\n");
    if (!b.oom)
        sse_broadcast(s, b.data, b.len);
    bww_buf_free(&b);
}

static void on_heartbeat(void *ctx, uint64_t seq)
{
    bww_server *s = ctx;
    if (bww_active_behind(&s->active, seq))
        resync(s);
}

static void on_keepalive(uv_timer_t *t)
{
    static const char ping[] = ": keepalive\n\n";
    sse_broadcast(t->data, ping, sizeof ping - 1);
}

static enum MHD_Result start_sse(bww_server *s, struct MHD_Connection *c)
{
    sse *e = calloc(1, sizeof *e);
    if (e == NULL)
        return MHD_NO;
    e->conn = c;
    e->srv = s;
    bww_buf_printf(&e->pending, "retry: 2000\nevent: hello\ndata: {\"seq\":%" PRIu64 "}\n\n",
                   s->stream.seq);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, e,
                                                               sse_free);
    if (r == NULL) {
        bww_buf_free(&e->pending);
        free(e);
        return MHD_NO;
    }
    e->next = s->streams;
    s->streams = e;
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");    /* nginx: pass events on at once */
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- pages ---- */

static bool status_call(bww_server *s, bww_req *q, bww_reply *r, bww_status *st)
{
    char why[256];
    if (bww_dc_call(&s->dc, q, r))
        return false;
    if (bww_status_decode(r->m, st, why, sizeof why)) {
        snprintf(r->error, sizeof r->error, "the daemon's status cannot be read: %s", why);
        return false;
    }
    return true;
}

static void counts_json(bww_buf *b, const bww_active_counts *n)
{
    bww_buf_printf(b, "{\"critical\":%u,\"warning\":%u,\"unhandled\":%u,\"handled\":%u,\"bands\":{",
                   n->severity[BW_SEV_CRITICAL], n->severity[BW_SEV_WARNING], n->unhandled, n->handled);
    for (size_t i = 0; i < n->nbands; i++) {
        bww_buf_printf(b, "%s\"", i ? "," : "");
        bww_buf_json_str(b, n->bands[i].band);
        bww_buf_printf(b, "\":%u", n->bands[i].n);
    }
    bww_buf_puts(b, "},\"handling\":{");
    for (int k = 0; k < BW_HANDLINGS; k++)
        bww_buf_printf(b, "%s\"%s\":%u", k ? "," : "", bw_handling_name(k), n->handling[k]);
    bww_buf_puts(b, "}}");
}

static enum MHD_Result page_overview(bww_server *s, struct MHD_Connection *c, bww_ctx *x, bool api)
{
    bww_req ql = { .op = "status" }, qs = { .op = "status" };
    bww_req_str(&ql, "sort", "lag");
    bww_req_uint(&ql, "limit", 10);
    bww_req_str(&qs, "sort", "shortfall");
    bww_req_uint(&qs, "limit", 10);
    bww_reply rl = { 0 }, rs = { 0 };
    bww_status lag = { 0 }, sh = { 0 };
    enum MHD_Result rc;
    if (!s->active.synced)
        resync(s);
    bww_active_counts counts;
    bww_active_count(&s->active, &counts);
    const bww_active_counts *n = s->active.synced ? &counts : NULL;
    if (!status_call(s, &ql, &rl, &lag))
        rc = daemon_failed(c, x, api, &rl);
    else if (!status_call(s, &qs, &rs, &sh))
        rc = daemon_failed(c, x, api, &rs);
    else {
        bww_buf b = { 0 };
        if (api) {
            bww_buf_puts(&b, "{\"status\":");
            bww_json_of(&b, rl.m);
            bww_buf_puts(&b, ",\"worst_shortfall\":");
            bww_json_of(&b, bw_map_get(rs.m, "projects"));
            bww_buf_printf(&b, ",\"alert_seq\":%" PRIu64 ",\"alert_counts\":", s->active.seq);
            if (n)
                counts_json(&b, n);
            else
                bww_buf_puts(&b, "null");
            bww_buf_puts(&b, "}");
            rc = send_json(c, MHD_HTTP_OK, &b);
        } else {
            x->now = lag.at;
            bww_overview o = { &lag, &lag, &sh, n };
            bww_page_overview(&b, x, &o);
            rc = send_html(c, MHD_HTTP_OK, &b);
        }
    }
    bww_status_free(&lag);
    bww_status_free(&sh);
    bww_reply_free(&rl);
    bww_reply_free(&rs);
    return rc;
}

static void copy_arg(struct MHD_Connection *c, const char *key, char *dst, size_t n)
{
    snprintf(dst, n, "%s", arg(c, key));
}

/* The list's filters and sort from the query, and the status request for them. */
static void list_query(struct MHD_Connection *c, bww_list_query *lq, bww_req *q)
{
    memset(lq, 0, sizeof *lq);
    copy_arg(c, "unit", lq->unit, sizeof lq->unit);
    copy_arg(c, "band", lq->band, sizeof lq->band);
    copy_arg(c, "alert", lq->alert, sizeof lq->alert);
    copy_arg(c, "q", lq->q, sizeof lq->q);
    copy_arg(c, "sort", lq->sort, sizeof lq->sort);
    lq->desc = strcmp(arg(c, "desc"), "1") == 0 || strcmp(arg(c, "desc"), "true") == 0;
    lq->page = strtoull(arg(c, "page"), NULL, 10);
    lq->per_page = PER_PAGE;
    if (lq->page > UINT32_MAX)
        lq->page = 0;
    bww_req_str(q, "unit", lq->unit);
    bww_req_str(q, "band", lq->band);
    bww_req_str(q, "alert", lq->alert);
    bww_req_str(q, "q", lq->q);
    bww_req_str(q, "sort", lq->sort);
    if (lq->desc)
        bww_req_bool(q, "desc", true);
}

static enum MHD_Result send_csv(struct MHD_Connection *c, bww_buf *b, const char *file)
{
    if (b->oom)
        return send_buf(c, MHD_HTTP_OK, "text/csv; charset=utf-8", b, NULL, NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        bww_buf_free(b);
        return MHD_NO;
    }
    b->data = NULL;
    bww_buf_free(b);
    char disp[160];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.csv\"", file);
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", "text/csv; charset=utf-8");
    MHD_add_response_header(r, "Content-Disposition", disp);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* 导出: every row matching the list's filters, in its sort, asked for in
 * batches (the daemon answers each from memory). */
static enum MHD_Result export_projects(bww_server *s, struct MHD_Connection *c, bww_ctx *x)
{
    bww_buf b = { 0 };
    bww_csv_projects_head(&b, x);
    uint64_t offset = 0;
    for (;;) {
        bww_list_query lq;
        bww_req q = { .op = "status" };
        list_query(c, &lq, &q);
        bww_req_uint(&q, "offset", offset);
        bww_req_uint(&q, "limit", EXPORT_BATCH);
        bww_reply r;
        bww_status st = { 0 };
        if (!status_call(s, &q, &r, &st)) {
            bww_buf_free(&b);
            enum MHD_Result rc = r.unreachable || !r.m ? daemon_failed(c, x, false, &r)
                : message(c, x, MHD_HTTP_BAD_REQUEST, L(x, "筛选条件有误", "Bad filter"), r.error);
            bww_reply_free(&r);
            return rc;
        }
        for (size_t i = 0; i < st.nprojects; i++)
            bww_csv_project_row(&b, x, &st.projects[i]);
        offset += st.nprojects;
        bool done = st.nprojects < EXPORT_BATCH || offset >= st.matched;
        bww_status_free(&st);
        bww_reply_free(&r);
        if (done)
            break;
    }
    return send_csv(c, &b, "projects");
}

static enum MHD_Result page_projects(bww_server *s, struct MHD_Connection *c, bww_ctx *x, bool api)
{
    bww_list_query lq;
    bww_req q = { .op = "status" }, qu = { .op = "status" };
    list_query(c, &lq, &q);
    bww_req_uint(&q, "offset", lq.page * PER_PAGE);
    bww_req_uint(&q, "limit", PER_PAGE);
    bww_req_uint(&qu, "limit", 1);
    bww_reply r, ru = { 0 };
    bww_status st = { 0 }, units = { 0 };
    enum MHD_Result rc;
    if (!status_call(s, &q, &r, &st)) {
        rc = r.unknown_op || r.unreachable || !r.m ? daemon_failed(c, x, api, &r)
             : api ? json_error(c, MHD_HTTP_BAD_REQUEST, r.error)
                   : message(c, x, MHD_HTTP_BAD_REQUEST, L(x, "筛选条件有误", "Bad filter"), r.error);
        bww_reply_free(&r);
        return rc;
    }
    bww_buf b = { 0 };
    if (api) {
        bww_json_of(&b, r.m);
        rc = send_json(c, MHD_HTTP_OK, &b);
    } else {
        /* Without a unit filter the page's reply has every unit already; with
         * one, the unit choices take a second request (at 100,000 projects a
         * status costs the daemon some 30 ms of unit subtotals). */
        const bww_status *choices = &st;
        if (lq.unit[0]) {
            if (!status_call(s, &qu, &ru, &units))
                bww_status_free(&units);
            choices = &units;
        }
        x->now = st.at;
        bww_active_counts counts;
        bww_active_count(&s->active, &counts);
        lq.firing = s->active.synced ? &counts : NULL;
        bww_page_projects(&b, x, &st, choices, &lq);
        rc = send_html(c, MHD_HTTP_OK, &b);
    }
    bww_status_free(&st);
    bww_status_free(&units);
    bww_reply_free(&r);
    bww_reply_free(&ru);
    return rc;
}

/* budgetwatch-notify's log under a filter (project, kind, seq; "" none),
 * the newest `limit`: *notes decoded, or the reason it is not there in
 * r->error. Nothing is asked when no [notify] control is configured. */
static bool notes_call(bww_server *s, const char *project, const char *kind, uint64_t seq,
                       uint32_t limit, bww_reply *r, bww_notes *notes)
{
    bww_req q = { .op = "log" };
    bww_req_str(&q, "project", project);
    bww_req_str(&q, "kind", kind);
    if (seq)
        bww_req_uint(&q, "seq", seq);
    bww_req_uint(&q, "limit", limit);
    char why[256];
    if (bww_dc_notify(&s->dc, &q, r))
        return false;
    if (bww_notes_decode(r->m, notes, why, sizeof why)) {
        snprintf(r->error, sizeof r->error, "budgetwatch-notify's reply cannot be read: %s", why);
        return false;
    }
    return true;
}

/* The notifications as JSON: the endpoint's list, or null and why. */
static void notes_json(bww_buf *b, bool ok, const bww_reply *r)
{
    bww_buf_puts(b, ",\"notifications\":");
    if (ok)
        bww_json_of(b, bw_map_get(r->m, "notifications"));
    else
        bww_buf_puts(b, "null");
    if (!ok) {
        bww_buf_puts(b, ",\"notifications_error\":\"");
        bww_buf_json_str(b, r->error);
        bww_buf_puts(b, "\"");
    }
}

static enum MHD_Result page_project(bww_server *s, struct MHD_Connection *c, bww_ctx *x, bool api)
{
    const char *code = arg(c, "code");
    uint64_t before = strtoull(arg(c, "before"), NULL, 10);
    bww_req qs = { .op = "status" }, qp = { .op = "payments" }, qa = { .op = "adjustments" },
            qh = { .op = "history" };
    if (code[0] == '\0')
        return api ? json_error(c, MHD_HTTP_BAD_REQUEST, "give the project as ?code=")
                   : message(c, x, MHD_HTTP_BAD_REQUEST, L(x, "缺少项目编码", "No project"),
                             "/project?code=CODE");
    bww_req_str(&qs, "project", code);
    bww_req_str(&qp, "project", code);
    bww_req_uint(&qp, "limit", PER_PAGE);
    if (before > 0)
        bww_req_uint(&qp, "before", before);
    bww_req_str(&qa, "project", code);
    bww_req_str(&qh, "project", code);
    bww_req_uint(&qh, "limit", 500);
    bww_reply rs = { 0 }, rp = { 0 }, ra = { 0 }, rh = { 0 };
    bww_status st = { 0 };
    bww_payments pay = { 0 };
    bww_adjustments adj = { 0 };
    bww_alerts hist = { 0 };
    char why[256];
    enum MHD_Result rc;
    if (!status_call(s, &qs, &rs, &st) || st.nprojects != 1) {
        bool unknown = rs.m != NULL && !rs.unreachable && strstr(rs.error, "unknown project");
        rc = unknown ? (api ? json_error(c, MHD_HTTP_NOT_FOUND, rs.error)
                            : message(c, x, MHD_HTTP_NOT_FOUND, L(x, "没有这个项目", "No such project"),
                                      rs.error))
                     : daemon_failed(c, x, api, &rs);
        bww_status_free(&st);
        bww_reply_free(&rs);
        return rc;
    }
    bool pay_ok = bww_dc_call(&s->dc, &qp, &rp) == 0 &&
                  bww_payments_decode(rp.m, &pay, why, sizeof why) == 0;
    bool adj_ok = bww_dc_call(&s->dc, &qa, &ra) == 0 &&
                  bww_adjustments_decode(ra.m, &adj, why, sizeof why) == 0;
    if (bww_dc_call(&s->dc, &qh, &rh) == 0)
        bww_alerts_decode(rh.m, &hist, why, sizeof why);
    bool has_notes = bww_dc_has_notify(&s->dc);
    bww_reply rn = { 0 };
    bww_notes notes = { 0 };
    bool notes_ok = has_notes && notes_call(s, code, "", 0, NOTES_SHOWN, &rn, &notes);
    bww_buf b = { 0 };
    if (api) {
        bww_buf_puts(&b, "{\"project\":");
        bww_json_of(&b, &bw_map_get(rs.m, "projects")->via.array.ptr[0]);
        bww_buf_puts(&b, ",\"at\":");
        bww_buf_printf(&b, "%" PRId64, st.at);
        bww_buf_puts(&b, ",\"payments\":");
        if (pay_ok)
            bww_json_of(&b, rp.m);
        else
            bww_buf_puts(&b, "null");
        bww_buf_puts(&b, ",\"adjustments\":");
        if (adj_ok)
            bww_json_of(&b, bw_map_get(ra.m, "adjustments"));
        else
            bww_buf_puts(&b, "null");
        bww_buf_puts(&b, ",\"history\":");
        if (rh.ok)
            bww_json_of(&b, bw_map_get(rh.m, "alerts"));
        else
            bww_buf_puts(&b, "null");
        if (has_notes)
            notes_json(&b, notes_ok, &rn);
        bww_buf_puts(&b, "}");
        rc = send_json(c, MHD_HTTP_OK, &b);
    } else {
        x->now = st.at;
        bww_detail d = { &st.projects[0], &pay, pay_ok, before, &adj, adj_ok, &hist,
                         notes_ok ? &notes : NULL, has_notes && !notes_ok ? rn.error : NULL };
        bww_page_project(&b, x, &d);
        rc = send_html(c, MHD_HTTP_OK, &b);
    }
    bww_status_free(&st);
    bww_payments_free(&pay);
    bww_adjustments_free(&adj);
    bww_alerts_free(&hist);
    bww_notes_free(&notes);
    bww_reply_free(&rn);
    bww_reply_free(&rs);
    bww_reply_free(&rp);
    bww_reply_free(&ra);
    bww_reply_free(&rh);
    return rc;
}

/* "YYYY-MM-DD" as the local midnight starting it; false when not a date. */
static bool local_day(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (int64_t)t;
    return true;
}

static int cmp_seq(const void *x, const void *y)
{
    const bww_alert *a = x, *b = y;
    return (a->m.seq > b->m.seq) - (a->m.seq < b->m.seq);
}

static enum MHD_Result page_alerts(bww_server *s, struct MHD_Connection *c, bww_ctx *x, bool api,
                                   bool history_only, const char *notice, bool refused, bool csv)
{
    bww_req qa = { .op = "alerts" }, qh = { .op = "history" };
    const char *unit = arg(c, "unit"), *project = arg(c, "project"), *kind = arg(c, "kind"),
               *since = arg(c, "since"), *until = arg(c, "until");
    int64_t t;
    bww_req_str(&qh, "unit", unit);
    bww_req_str(&qh, "project", project);
    if (since[0] && local_day(since, &t))
        bww_req_int(&qh, "since", t);
    if (until[0] && local_day(until, &t))
        bww_req_int(&qh, "until", t);
    bww_req_uint(&qh, "limit", csv ? EXPORT_HISTORY : 1000);
    bww_reply ra = { 0 }, rh = { 0 }, rn = { 0 };
    bww_alerts act = { 0 }, hist = { 0 };
    bww_notes notes = { 0 };
    bool has_notes = bww_dc_has_notify(&s->dc) && !api && !csv;
    char why[256];
    enum MHD_Result rc;
    /* The page's active alerts come from the mirror (no snapshot of every
     * alert per page); the JSON twin and a mirror out of step ask the daemon. */
    if (!api && !history_only && !s->active.synced)
        resync(s);
    bool mirrored = !api && !history_only && s->active.synced;
    if (mirrored && bww_active_newest(&s->active, ACTIVE_SHOWN, &act))
        mirrored = false;
    if ((!history_only && !mirrored && (bww_dc_call(&s->dc, &qa, &ra) ||
                                        bww_alerts_decode(ra.m, &act, why, sizeof why))) ||
        bww_dc_call(&s->dc, &qh, &rh) || bww_alerts_decode(rh.m, &hist, why, sizeof why)) {
        rc = daemon_failed(c, x, api, !history_only && !ra.ok ? &ra : &rh);
        goto out;
    }
    /* History has no kind filter on the wire: it is applied here. */
    if (kind[0]) {
        size_t k = 0;
        for (size_t i = 0; i < hist.n; i++)
            if (strcmp(bw_kind_name(hist.v[i].m.kind), kind) == 0)
                hist.v[k++] = hist.v[i];
        hist.n = k;
    }
    /* The page shows the newest ACTIVE_SHOWN active alerts (by their last seq). */
    size_t active_total = mirrored ? s->active.n : act.n;
    if (!api && act.n > ACTIVE_SHOWN) {
        qsort(act.v, act.n, sizeof *act.v, cmp_seq);
        memmove(act.v, act.v + act.n - ACTIVE_SHOWN, ACTIVE_SHOWN * sizeof *act.v);
        act.n = ACTIVE_SHOWN;
    }
    bww_buf b = { 0 };
    if (csv) {
        bww_csv_alerts(&b, x, &hist);
        rc = send_csv(c, &b, "alerts");
    } else if (api) {
        if (history_only) {
            /* The kind filter is applied to the JSON as well: rows by seq. */
            bww_buf_printf(&b, "{\"ok\":true,\"truncated\":%s,\"alerts\":[",
                           hist.truncated ? "true" : "false");
            const msgpack_object *l = bw_map_get(rh.m, "alerts");
            bool first = true;
            for (uint32_t i = 0; l && i < l->via.array.size; i++) {
                char k[32] = "";
                bw_map_get_str(&l->via.array.ptr[i], "kind", k, sizeof k);
                if (kind[0] && strcmp(k, kind) != 0)
                    continue;
                if (!first)
                    bww_buf_puts(&b, ",");
                first = false;
                bww_json_of(&b, &l->via.array.ptr[i]);
            }
            bww_buf_puts(&b, "]}");
        } else {
            bww_json_of(&b, ra.m);
        }
        rc = send_json(c, MHD_HTTP_OK, &b);
    } else {
        bool notes_ok = has_notes && notes_call(s, project, kind, 0, NOTES_SHOWN, &rn, &notes);
        bww_alerts_page p = { &act, &hist, unit, project, kind, since, until, notice,
                              active_total, refused, notes_ok ? &notes : NULL,
                              has_notes && !notes_ok ? rn.error : NULL };
        x->now = s->stream.daemon_at;
        bww_page_alerts(&b, x, &p);
        rc = send_html(c, refused ? MHD_HTTP_CONFLICT : MHD_HTTP_OK, &b);
    }
out:
    bww_notes_free(&notes);
    bww_reply_free(&rn);
    bww_alerts_free(&act);
    bww_alerts_free(&hist);
    bww_reply_free(&ra);
    bww_reply_free(&rh);
    return rc;
}

/* GET /api/v1/notifications?project=&kind=&seq=&limit=: budgetwatch-notify's
 * log as its endpoint answers it (API.md); 404 when none is configured. */
static enum MHD_Result api_notifications(bww_server *s, struct MHD_Connection *c)
{
    if (!bww_dc_has_notify(&s->dc))
        return json_error(c, MHD_HTTP_NOT_FOUND, "this console has no [notify] control "
                          "(budgetwatch-notify's query endpoint) in its configuration");
    const char *seq = arg(c, "seq"), *limit = arg(c, "limit");
    char *end;
    uint64_t sq = 0, lim = NOTES_SHOWN;
    if (seq[0] && ((sq = strtoull(seq, &end, 10)) == 0 || *end))
        return json_error(c, MHD_HTTP_BAD_REQUEST, "seq must be an alert seq (a positive integer)");
    if (limit[0] && ((lim = strtoull(limit, &end, 10)) == 0 || *end || lim > 1000))
        return json_error(c, MHD_HTTP_BAD_REQUEST, "limit must be a whole number from 1 to 1000");
    bww_reply r = { 0 };
    bww_notes notes = { 0 };
    bool ok = notes_call(s, arg(c, "project"), arg(c, "kind"), sq, (uint32_t)lim, &r, &notes);
    enum MHD_Result rc;
    if (!ok) {
        /* The notifier's refusal (a bad filter) is the asker's; no answer is a 502. */
        rc = json_error(c, r.unreachable || r.m == NULL ? MHD_HTTP_BAD_GATEWAY : MHD_HTTP_BAD_REQUEST,
                        r.error);
    } else {
        bww_buf b = { 0 };
        bww_buf_printf(&b, "{\"ok\":true,\"more\":%s", notes.more ? "true" : "false");
        notes_json(&b, true, &r);
        bww_buf_puts(&b, "}");
        rc = send_json(c, MHD_HTTP_OK, &b);
    }
    bww_notes_free(&notes);
    bww_reply_free(&r);
    return rc;
}

static enum MHD_Result api_series(bww_server *s, struct MHD_Connection *c)
{
    bww_req q = { .op = "series" };
    bww_req_str(&q, "project", arg(c, "project"));
    bww_req_str(&q, "unit", arg(c, "unit"));
    bww_reply r;
    enum MHD_Result rc;
    if (bww_dc_call(&s->dc, &q, &r)) {
        /* The daemon's own words: it names the project or unit it does not know. */
        rc = json_error(c, r.unreachable ? MHD_HTTP_SERVICE_UNAVAILABLE
                           : r.m != NULL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_BAD_GATEWAY, r.error);
    } else {
        bww_buf b = { 0 };
        bww_json_of(&b, r.m);
        rc = send_json(c, MHD_HTTP_OK, &b);
    }
    bww_reply_free(&r);
    return rc;
}

static enum MHD_Result healthz(bww_server *s, struct MHD_Connection *c)
{
    bww_req q = { .op = "ping" };
    bww_reply r;
    bww_buf b = { 0 };
    int64_t now = 0, wall = (int64_t)time(NULL);
    bool up = bww_dc_call(&s->dc, &q, &r) == 0;
    if (up)
        bw_map_get_int(r.m, "now", &now);
    char clock[16] = "";
    if (up)
        bw_map_get_str(r.m, "clock", clock, sizeof clock);
    bww_buf_printf(&b, "{\"ok\":%s,\"daemon\":%s,\"now\":%" PRId64 ",\"clock\":\"%s\","
                       "\"clock_age\":%" PRId64 ",\"stream_seq\":%" PRIu64 ",\"stream_heard\":%" PRId64,
                   up ? "true" : "false", up ? "true" : "false", now, clock, up ? wall - now : 0,
                   s->stream.seq, s->stream.heard_at ? wall - s->stream.heard_at : -1);
    if (!up) {
        bww_buf_puts(&b, ",\"error\":\"");
        bww_buf_json_str(&b, r.error);
        bww_buf_puts(&b, "\"");
    }
    bww_buf_puts(&b, "}");
    bww_reply_free(&r);
    return send_json(c, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, &b);
}

/* ---- forms ---- */

static bool field(const request *rq, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    return rq->body.len > 0 && bww_form_get(rq->body.data, rq->body.len, key, out, n);
}

static enum MHD_Result login_form(bww_server *s, struct MHD_Connection *c, bww_ctx *x,
                                  unsigned status, const char *error)
{
    /* The login form's CSRF token is a cookie of its own (double submit):
     * there is no session yet to hold one. */
    char token[BWW_TOKEN_HEX + 1], cookie[160];
    unsigned char raw[BWW_TOKEN_HEX / 2];
    /* The token already set is kept: a second tab, or the browser's own
     * requests (its icon) coming back here, must not make the first form stale. */
    const char *have = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "bww_login");
    if (have != NULL && strlen(have) == BWW_TOKEN_HEX && strspn(have, "0123456789abcdef") == BWW_TOKEN_HEX) {
        snprintf(token, sizeof token, "%s", have);
    } else {
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(token, sizeof token, raw, sizeof raw);
    }
    snprintf(cookie, sizeof cookie, "bww_login=%s; Path=/login; HttpOnly; SameSite=Strict%s", token,
             s->cfg.secure_cookies ? "; Secure" : "");
    bww_buf b = { 0 };
    bww_page_login(&b, x, error, token);
    return send_buf(c, status, "text/html; charset=utf-8", &b, cookie, NULL);
}

static enum MHD_Result do_login(bww_server *s, struct MHD_Connection *c, bww_ctx *x,
                                const request *rq)
{
    char ip[48], addr[96], name[BWW_NAME_MAX + 1], pw[256], csrf[BWW_TOKEN_HEX + 8];
    int64_t now = (int64_t)time(NULL), retry;
    client_addr(c, ip, sizeof ip);
    field(rq, "name", name, sizeof name);
    /* Counted per address and name: behind a reverse proxy every user has the
     * proxy's address, and one user's guesser must not lock out the others. */
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)name, strlen(name), NULL, 0);
    snprintf(addr, sizeof addr, "%s|%02x%02x%02x%02x%02x%02x%02x%02x", ip, h[0], h[1], h[2], h[3],
             h[4], h[5], h[6], h[7]);
    if (!bww_login_allowed(&s->sessions, addr, now, &retry)) {
        char msg[160];
        snprintf(msg, sizeof msg, L(x, "登录失败次数过多，请 %lld 秒后再试。",
                                    "Too many failed logins; try again in %lld s."), (long long)retry);
        return login_form(s, c, x, MHD_HTTP_TOO_MANY_REQUESTS, msg);
    }
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "bww_login");
    field(rq, "csrf", csrf, sizeof csrf);
    if (cookie == NULL || strlen(cookie) != BWW_TOKEN_HEX || strcmp(cookie, csrf) != 0)
        return login_form(s, c, x, MHD_HTTP_FORBIDDEN,
                          L(x, "表单已过期，请重新登录。", "The form expired; log in again."));
    field(rq, "password", pw, sizeof pw);
    const bww_account *acc = bww_accounts_check(&s->accounts, name, pw);
    sodium_memzero(pw, sizeof pw);
    if (acc == NULL) {
        bww_login_failed(&s->sessions, addr, now);
        char esc[BWW_NAME_MAX * 4 + 1];
        bww_buf e = { 0 };
        bww_buf_json_str(&e, name);     /* no control byte from a form reaches the log raw */
        snprintf(esc, sizeof esc, "%s", e.data ? e.data : "");
        bww_buf_free(&e);
        fprintf(stderr, "budgetwatch-web: failed login for \"%s\" from %s\n", esc, ip);
        return login_form(s, c, x, MHD_HTTP_UNAUTHORIZED,
                          L(x, "用户名或密码错误。", "Wrong user name or password."));
    }
    bww_login_succeeded(&s->sessions, addr);
    const bww_session *se = bww_session_new(&s->sessions, acc->name, acc->role, now);
    if (se == NULL)
        return message(c, x, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", "out of memory");
    char set[200];
    snprintf(set, sizeof set, "bww_session=%s; Path=/; HttpOnly; SameSite=Strict%s", se->token,
             s->cfg.secure_cookies ? "; Secure" : "");
    return redirect(c, "/", set);
}

/* A POST that changes something: a session and its CSRF token, or 403. */
static bool post_allowed(const bww_session *se, const request *rq)
{
    char csrf[BWW_TOKEN_HEX + 8];
    field(rq, "csrf", csrf, sizeof csrf);
    return bww_csrf_ok(se, csrf);
}

static enum MHD_Result do_ack(bww_server *s, struct MHD_Connection *c, bww_ctx *x,
                              const request *rq, bool handle)
{
    if (x->se->role < BWW_HANDLER)
        return message(c, x, MHD_HTTP_FORBIDDEN, L(x, "无权处理预警", "Not allowed"),
                       L(x, "查看员（viewer）不能确认或处理预警；请管理员授予 handler 角色。",
                         "A viewer cannot acknowledge or handle alerts; ask an administrator for the handler role."));
    char project[BW_CODE_LEN_MAX + 1], kind[32], note[BW_TEXT_MAX + 1], state[32];
    field(rq, "project", project, sizeof project);
    field(rq, "kind", kind, sizeof kind);
    field(rq, "note", note, sizeof note);
    field(rq, "state", state, sizeof state);
    bww_req q = { .op = handle ? "handle" : "ack" };
    bww_req_str(&q, "project", project);
    bww_req_str(&q, "kind", kind);
    bww_req_str(&q, "by", x->se->user);
    bww_req_str(&q, "note", note);
    if (handle)
        bww_req_str(&q, "state", state);
    bww_reply r;
    enum MHD_Result rc;
    if (bww_dc_call(&s->dc, &q, &r)) {
        fprintf(stderr, "budgetwatch-web: %s of %s %s by %s refused: %s\n", q.op, project, kind,
                x->se->user, r.error);
        rc = r.unreachable ? daemon_failed(c, x, false, &r)
                           : page_alerts(s, c, x, false, false, r.error, true, false);
    } else {
        fprintf(stderr, "budgetwatch-web: %s of %s %s by %s\n", q.op, project, kind, x->se->user);
        rc = redirect(c, handle ? "/alerts?done=handle" : "/alerts?done=ack", NULL);
    }
    bww_reply_free(&r);
    return rc;
}

/* ---- routing ---- */

static enum MHD_Result route(bww_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, request *rq)
{
    const bww_session *se;
    bww_ctx x = ctx_of(s, c, &se);
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (!get && !post)
        return json_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and POST");
    if (get && strncmp(url, "/static/", 8) == 0)
        return send_file(c, s->cfg.static_dir, url + 8);
    if (get && strncmp(url, "/javascript/chart.js/", 21) == 0)
        return send_file(c, s->cfg.chartjs_dir, url + 21);
    if (get && strcmp(url, "/healthz") == 0)
        return healthz(s, c);
    if (strcmp(url, "/login") == 0) {
        if (post)
            return do_login(s, c, &x, rq);
        return login_form(s, c, &x, MHD_HTTP_OK, "");
    }
    bool api = strncmp(url, "/api/v1/", 8) == 0;
    if (se == NULL) {
        if (api || !get || strcmp(url, "/favicon.ico") == 0)
            return json_error(c, MHD_HTTP_UNAUTHORIZED, "log in first: POST /login");
        return redirect(c, "/login", NULL);
    }
    if (post) {
        if (rq->too_big)
            return json_error(c, 413, "the form is larger than 64 KiB");
        if (!post_allowed(se, rq))
            return message(c, &x, MHD_HTTP_FORBIDDEN, L(&x, "请求被拒绝", "Refused"),
                           L(&x, "缺少或错误的表单令牌（CSRF）；请从页面重新提交。",
                             "The form's CSRF token is missing or wrong; submit it again from the page."));
        if (strcmp(url, "/logout") == 0) {
            bww_session_end(&s->sessions, se->token);
            return redirect(c, "/login", s->cfg.secure_cookies
                ? "bww_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0"
                : "bww_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        }
        if (strcmp(url, "/alerts/ack") == 0)
            return do_ack(s, c, &x, rq, false);
        if (strcmp(url, "/alerts/handle") == 0)
            return do_ack(s, c, &x, rq, true);
        return json_error(c, MHD_HTTP_NOT_FOUND, "no such form");
    }
    const char *path = api ? url + 7 : url;    /* "/overview", "/projects", ... */
    if (strcmp(path, "/") == 0 || strcmp(path, "/overview") == 0)
        return page_overview(s, c, &x, api);
    if (strcmp(path, "/projects") == 0)
        return page_projects(s, c, &x, api);
    if (strcmp(path, "/project") == 0)
        return page_project(s, c, &x, api);
    if (strcmp(path, "/alerts") == 0) {
        const char *done = arg(c, "done");
        const char *notice = strcmp(done, "ack") == 0 ? L(&x, "已确认。", "Acknowledged.")
                           : strcmp(done, "handle") == 0 ? L(&x, "已处理。", "Handled.") : "";
        return page_alerts(s, c, &x, api, false, notice, false, false);
    }
    if (api && strcmp(path, "/history") == 0)
        return page_alerts(s, c, &x, true, true, "", false, false);
    if (!api && strcmp(path, "/alerts.csv") == 0)
        return page_alerts(s, c, &x, false, true, "", false, true);
    if (!api && strcmp(path, "/projects.csv") == 0)
        return export_projects(s, c, &x);
    if (api && strcmp(path, "/series") == 0)
        return api_series(s, c);
    if (api && strcmp(path, "/notifications") == 0)
        return api_notifications(s, c);
    if (!api && strcmp(path, "/events") == 0)
        return start_sse(s, c);
    if (api)
        return json_error(c, MHD_HTTP_NOT_FOUND, "no such API; clients/web/API.md lists them");
    return message(c, &x, MHD_HTTP_NOT_FOUND, L(&x, "没有这个页面", "Not found"), url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    bww_server *s = cls;
    request *rq = *con_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (rq->body.len + *upload_size > BODY_MAX)
            rq->too_big = true;
        else
            bww_buf_add(&rq->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return route(s, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request *rq = *con_cls;
    if (rq != NULL) {
        bww_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ---- life ---- */

bww_server *bww_server_new(uv_loop_t *loop, const bww_config *cfg, bww_accounts *accounts,
                           char *why, size_t whylen)
{
    bww_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->cfg = *cfg;
    s->accounts = *accounts;
    memset(accounts, 0, sizeof *accounts);
    bww_sessions_init(&s->sessions, cfg->session_ttl);
    if (bww_dc_open(&s->dc, cfg, why, whylen) ||
        bww_stream_open(&s->stream, loop, cfg, on_alert, on_heartbeat, s, why, whylen)) {
        bww_server_free(&s);
        return NULL;
    }
    struct sockaddr_in6 a6 = { 0 };
    struct sockaddr_in a4 = { 0 };
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, cfg->listen_addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(cfg->port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->listen_addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(cfg->port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(why, whylen, "[web] listen: \"%s\" is not an IPv4 or IPv6 address", cfg->listen_addr);
        bww_server_free(&s);
        return NULL;
    }
    s->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
    if (s->mhd == NULL) {
        snprintf(why, whylen, "cannot listen on %s:%u: %s (in use? set [web] listen)",
                 cfg->listen_addr, cfg->port, strerror(errno));
        bww_server_free(&s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (di == NULL || uv_poll_init(loop, &s->poll, di->epoll_fd) ||
        uv_timer_init(loop, &s->timer) || uv_timer_init(loop, &s->keepalive)) {
        snprintf(why, whylen, "cannot watch libmicrohttpd's epoll descriptor in the loop");
        bww_server_free(&s);
        return NULL;
    }
    s->poll.data = s->timer.data = s->keepalive.data = s;
    s->polling = s->timing = s->keeping = true;
    uv_poll_start(&s->poll, UV_READABLE, on_mhd_poll);
    uv_timer_start(&s->keepalive, on_keepalive, KEEPALIVE_MS, KEEPALIVE_MS);
    run_mhd(s);
    /* Subscribed first, then the snapshot: nothing falls between (PROTOCOL.md §1.4). */
    resync(s);
    return s;
}

void bww_server_free(bww_server **sp)
{
    bww_server *s = *sp;
    if (s == NULL)
        return;
    /* MHD must not be stopped with a connection suspended. */
    for (sse *e = s->streams; e; e = e->next) {
        e->ended = true;
        sse_resume(e);
    }
    if (s->mhd) {
        MHD_run(s->mhd);
        MHD_stop_daemon(s->mhd);
    }
    if (s->polling)
        uv_close((uv_handle_t *)&s->poll, NULL);
    if (s->timing) {
        uv_close((uv_handle_t *)&s->timer, NULL);
        uv_close((uv_handle_t *)&s->keepalive, NULL);
    }
    bww_stream_close(&s->stream);
    uv_run(s->loop, UV_RUN_NOWAIT);    /* the close callbacks */
    bww_dc_close(&s->dc);
    bww_sessions_free(&s->sessions);
    bww_accounts_free(&s->accounts);
    bww_active_free(&s->active);
    free(s);
    *sp = NULL;
}
