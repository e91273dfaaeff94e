/* auth: who may speak to the daemon.
 *
 * With [security] server_key set, every tcp:// socket is a CURVE server and
 * libzmq asks this module over ZAP (RFC 27), on an inproc REP socket polled
 * by the libuv loop, whether a client key may connect. The answer depends on
 * the socket's domain: ingest takes payment-system keys, control takes
 * administrator and supervisor keys, alerts supervisor and administrator keys.
 * A handshake happens once per connection, so each message is checked again
 * against the keys of the moment (bw_auth_peer): a key removed and reloaded
 * with SIGHUP is refused from its next message on. ipc:// sockets carry no
 * CURVE; their file mode (0660, the service's group) is their guard.
 *
 * Refused handshakes are counted per domain and logged once per peer address
 * and key; clients that do not speak CURVE at all are seen through a socket
 * monitor, which knows the endpoint but not the peer. */
#ifndef BW_AUTH_H
#define BW_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <zmq.h>

#include "config.h"
#include "err.h"

typedef enum bw_role { BW_ROLE_NONE = 0, BW_ROLE_PAYMENT, BW_ROLE_SUPERVISOR, BW_ROLE_ADMIN } bw_role;
typedef enum bw_domain { BW_DOM_INGEST = 0, BW_DOM_CONTROL, BW_DOM_ALERTS, BW_DOM_COUNT } bw_domain;

typedef struct bw_auth bw_auth;

/* Loads the keys and binds the ZAP handler when cfg names a server key, else
 * returns an auth that lets everything through (CURVE off). NULL with err. */
bw_auth *bw_auth_new(void *zctx, uv_loop_t *loop, const bw_config *cfg, bw_err *err);
/* Closes its sockets; call after the loop has closed its handles. */
void bw_auth_free(bw_auth **a);
/* Reads the server key and the key directories without opening anything
 * (budgetwatchd --check). */
int bw_auth_check(const bw_config *cfg, bw_err *err);
bool bw_auth_on(const bw_auth *a);

/* Before sock binds url: makes it a CURVE server of the domain when CURVE is
 * on and url is tcp://. Returns 1 if it did, 0 if not, -1 with err. */
int bw_auth_serve(bw_auth *a, void *sock, bw_domain dom, const char *url, bw_err *err);
/* Re-reads the key directories (SIGHUP); on error the old keys stay. */
int bw_auth_reload(bw_auth *a, const bw_config *cfg, bw_err *err);

/* The role of the peer that sent msg on a CURVE socket of domain dom, by the
 * keys of the moment; *name is its key's name (valid until the next reload).
 * BW_ROLE_NONE when the key is no longer authorized. */
bw_role bw_auth_peer(const bw_auth *a, zmq_msg_t *msg, bw_domain dom, const char **name);

/* Reads what the auth sockets hold; called on a timer. A monitor's PAIR is
 * the connecting end of an inproc pipe whose sender (libzmq's monitor) does
 * not always wake its ZMQ_FD, so events would otherwise wait for the next
 * one that does (seen with libzmq 4.3.4). */
void bw_auth_tick(bw_auth *a);

/* Refused handshakes and messages, for `stats`. */
uint64_t bw_auth_denied(const bw_auth *a, bw_domain dom);
void bw_auth_count_denied(bw_auth *a, bw_domain dom);
const char *bw_domain_name(bw_domain dom);

#endif
