/* server: the HTTP side of budgetwatch-web — libmicrohttpd driven from the
 * libuv loop (MHD's epoll fd under uv_poll, MHD_run on each wake-up, a
 * uv_timer from MHD_get_timeout), the routes of the pages and their JSON
 * twins under /api/v1/, the session and CSRF checks, the security headers,
 * the static files, and the Server-Sent Events of the live alerts
 * (connections suspended while there is nothing to send, resumed when the
 * daemon publishes). */
#ifndef BWW_SERVER_H
#define BWW_SERVER_H

#include <uv.h>

#include "accounts.h"
#include "config.h"

typedef struct bww_server bww_server;

/* Starts listening on loop; NULL with why. Takes the accounts (moved). */
bww_server *bww_server_new(uv_loop_t *loop, const bww_config *cfg, bww_accounts *accounts,
                           char *why, size_t whylen);
/* Ends the live streams, stops MHD and closes the loop's handles. */
void bww_server_free(bww_server **s);

#endif
