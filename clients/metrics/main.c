/* budgetwatch-metrics: serves budgetwatchd's figures to Prometheus at
 * /metrics (text format 0.0.4) over HTTP (libmicrohttpd), asking the daemon
 * on its control socket at each scrape. It holds no ledger and no state
 * between scrapes; the exposition is expo.c's, which the web console can
 * serve the same way once it has landed. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "expo.h"
#include "scrape.h"

#define DEFAULT_LISTEN "127.0.0.1:9617"
#define DEFAULT_CAP 500
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct bwm_server {
    bwc_client *client;
    bwm_select sel;
} bwm_server;

static void usage(FILE *f)
{
    fputs("usage: budgetwatch-metrics [--listen ADDR:PORT] [--control URL] [--timeout-ms MS]\n"
          "                           [--per-project on|off] [--project CODE]... [--max-projects N]\n"
          "Serves budgetwatchd's counters, commit latency, alerts and execution per unit and\n"
          "for the department at http://ADDR:PORT/metrics (default " DEFAULT_LISTEN ").\n"
          "Per-project series only with --per-project on (every project, up to --max-projects,\n"
          "default 500) or for each --project CODE. --control defaults to $BUDGETWATCH_CONTROL,\n"
          "else ipc:///run/budgetwatch/control.sock. See budgetwatch-metrics(8).\n", f);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, size_t len, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, "Content-Type", type) == MHD_NO) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result metrics(bwm_server *srv, struct MHD_Connection *conn)
{
    bwm_scrape s;
    bwm_scrape_run(srv->client, &srv->sel, &s);
    if (!s.in.up)
        fprintf(stderr, "budgetwatch-metrics: budgetwatchd did not answer this scrape: %s\n",
                s.error);
    bwm_buf b = { 0 };
    bwm_expo_write(&s.in, &b);
    bwm_scrape_free(&s);
    if (b.oom) {
        free(b.s);
        static char oom[] = "out of memory writing the exposition\n";
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom, sizeof oom - 1, false);
    }
    return reply(conn, MHD_HTTP_OK, CONTENT_TYPE, b.s, b.n, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    static char root[] = "budgetwatch-metrics: the metrics are at /metrics\n";
    static char not_found[] = "not found: the metrics are at /metrics\n";
    static char not_allowed[] = "only GET and HEAD\n";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
                     sizeof not_allowed - 1, false);
    if (strcmp(url, "/metrics") == 0)
        return metrics(cls, conn);
    if (strcmp(url, "/") == 0)
        return reply(conn, MHD_HTTP_OK, "text/plain", root, sizeof root - 1, false);
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof not_found - 1, false);
}

/* "127.0.0.1:9617" or "[::1]:9617" (port 0: any free one, said on stdout). */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || colon[1] == '\0')
        return -1;
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },      { "control", required_argument, NULL, 'c' },
        { "timeout-ms", required_argument, NULL, 't' },  { "per-project", required_argument, NULL, 'p' },
        { "project", required_argument, NULL, 'P' },     { "max-projects", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },              { NULL, 0, NULL, 0 },
    };
    const char *listen = DEFAULT_LISTEN, *control = getenv("BUDGETWATCH_CONTROL");
    long timeout = 5000, cap = DEFAULT_CAP;
    bwm_server srv = { 0 };
    char *end;
    int ch;
    if (control == NULL || control[0] == '\0')
        control = "ipc:///run/budgetwatch/control.sock";
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'c': control = optarg; break;
        case 't':
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout < 1 || timeout > 600000) {
                fprintf(stderr, "budgetwatch-metrics: --timeout-ms \"%s\" must be 1..600000\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                fprintf(stderr, "budgetwatch-metrics: --per-project must be on or off, got \"%s\"\n",
                        optarg);
                return 2;
            }
            srv.sel.per_project = strcmp(optarg, "on") == 0;
            break;
        case 'P': {
            char **a = realloc(srv.sel.allow, (srv.sel.nallow + 1) * sizeof *a);
            if (a == NULL) {
                fprintf(stderr, "budgetwatch-metrics: out of memory\n");
                return 1;
            }
            srv.sel.allow = a;
            a[srv.sel.nallow++] = optarg;
            break;
        }
        case 'm':
            cap = strtol(optarg, &end, 10);
            if (*end || cap < 0 || cap > 1000000) {
                fprintf(stderr, "budgetwatch-metrics: --max-projects \"%s\" must be 0..1000000\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    srv.sel.cap = (size_t)cap;
    struct sockaddr_storage addr;
    if (optind < argc || parse_listen(listen, &addr)) {
        fprintf(stderr, "budgetwatch-metrics: --listen \"%s\" must be ADDR:PORT, e.g. %s or "
                "[::1]:9617\n", listen, DEFAULT_LISTEN);
        return 2;
    }
    bwc_client_opts o = { .control = control, .timeout_ms = (int)timeout };
    srv.client = bwc_client_new(&o);
    if (srv.client == NULL) {
        fprintf(stderr, "budgetwatch-metrics: cannot start the ZeroMQ client: %s\n", strerror(errno));
        return 1;
    }
    /* The HTTP thread inherits this mask; SIGINT and SIGTERM come to sigwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* One polling thread: scrapes are answered one at a time, on one client. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
            (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "budgetwatch-metrics: cannot listen on %s (in use, or not an address of this "
                "host?)\n", listen);
        bwc_client_destroy(&srv.client);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char host[64] = "";
    if (addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof host);
    printf("budgetwatch-metrics: serving http://%s%s%s:%u/metrics for %s\n",
           addr.ss_family == AF_INET6 ? "[" : "", host, addr.ss_family == AF_INET6 ? "]" : "", port,
           control);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    bwc_client_destroy(&srv.client);
    free(srv.sel.allow);
    return 0;
}
