/* http: curl multi on libuv (see http.h). */
#include "http.h"

#include <stdbool.h>
#include <stdlib.h>

struct job;
struct bwn_http {
    struct job *jobs;
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int running;                /* added and not yet done */
    bool closing;
};

typedef struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    bwn_http *h;
} sock;

typedef struct job {
    bwn_http_done done;
    void *ctx;
    CURL *easy;
    struct job *prev, *next;    /* in flight, for bwn_http_free */
} job;

static void finished(bwn_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        job *j = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
        curl_multi_remove_handle(h->multi, easy);
        h->running--;
        if (j) {
            if (j->prev) j->prev->next = j->next; else h->jobs = j->next;
            if (j->next) j->next->prev = j->prev;
            bwn_http_done done = j->done;
            void *ctx = j->ctx;
            free(j);
            curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
            done(ctx, easy, rc);
        }
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock *s = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int n;
    curl_multi_socket_action(s->h->multi, s->fd, flags, &n);
    finished(s->h);
}

static void on_timer(uv_timer_t *t)
{
    bwn_http *h = t->data;
    int n;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &n);
    finished(h);
}

static void sock_closed(uv_handle_t *hd) { free(hd->data); }

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    bwn_http *h = userp;
    sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL)
            return -1;
        s->fd = fd;
        s->h = h;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        curl_multi_assign(h->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    return uv_poll_start(&s->poll, ev, on_poll) == 0 ? 0 : -1;
}

static int on_timeout(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    bwn_http *h = userp;
    if (ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);   /* 0: on the next turn, not now */
    return 0;
}

bwn_http *bwn_http_new(uv_loop_t *loop)
{
    bwn_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->loop = loop;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        free(h);
        return NULL;
    }
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

static void timer_closed(uv_handle_t *hd) { free(hd->data); }

void bwn_http_free(bwn_http **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    bwn_http *h = *hp;
    *hp = NULL;
    /* Removing the handles makes curl ask to stop watching their sockets. */
    for (job *j = h->jobs, *next; j; j = next) {
        next = j->next;
        curl_multi_remove_handle(h->multi, j->easy);
        free(j);
    }
    curl_multi_cleanup(h->multi);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, timer_closed);
}

int bwn_http_add(bwn_http *h, CURL *easy, bwn_http_done done, void *ctx)
{
    job *j = malloc(sizeof *j);
    if (j == NULL)
        return -1;
    j->done = done;
    j->ctx = ctx;
    j->easy = easy;
    j->prev = NULL;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, j);
    if (curl_multi_add_handle(h->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(j);
        return -1;
    }
    j->next = h->jobs;
    if (h->jobs)
        h->jobs->prev = j;
    h->jobs = j;
    h->running++;
    return 0;
}

int bwn_http_running(const bwn_http *h) { return h->running; }
