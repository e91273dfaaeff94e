/* http: libcurl's multi interface driven by the libuv loop, so every
 * delivery (HTTPS to robots, webhooks, Alertmanager; SMTP for e-mail) runs
 * beside the alert stream without a thread: curl tells us which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION → uv_poll) and when to call it back
 * (CURLMOPT_TIMERFUNCTION → a uv timer), and we hand the events back with
 * curl_multi_socket_action. */
#ifndef BWN_HTTP_H
#define BWN_HTTP_H

#include <curl/curl.h>
#include <uv.h>

typedef struct bwn_http bwn_http;

/* Called once when a transfer ends (rc is CURLE_OK or why it failed), after
 * the handle has left the multi; the callee owns `easy` again. */
typedef void (*bwn_http_done)(void *ctx, CURL *easy, CURLcode rc);

/* NULL when out of memory or curl cannot make a multi handle. */
bwn_http *bwn_http_new(uv_loop_t *loop);
/* Stops everything in flight (their callbacks are not called: the easy
 * handles stay the callers', who free them), closes the libuv handles and
 * frees h once the loop has run their close callbacks. */
void bwn_http_free(bwn_http **h);

/* Starts a transfer: easy is set up by the caller; done(ctx, easy, rc) when
 * it ends. Returns 0 or -1 (curl refused the handle). */
int bwn_http_add(bwn_http *h, CURL *easy, bwn_http_done done, void *ctx);

/* Transfers in flight. */
int bwn_http_running(const bwn_http *h);

#endif
