/* config: budgetwatch-web.conf, an INI file (inih) — where to listen, how to
 * reach the daemon (control and alert stream, with a CURVE supervisor key
 * for tcp://), the accounts file, where the static files are. Every bad line
 * is named FILE:LINE with what to write instead. */
#ifndef BWW_CONFIG_H
#define BWW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BWW_PATH_MAX 1024

typedef struct bww_config {
    char listen_addr[64];       /* [web] listen = 127.0.0.1:8680 */
    uint16_t port;
    char accounts[BWW_PATH_MAX];    /* [web] accounts */
    char static_dir[BWW_PATH_MAX];  /* [web] static_dir: console.js, console.css */
    char chartjs_dir[BWW_PATH_MAX]; /* [web] chartjs_dir = /usr/share/javascript/chart.js */
    int64_t session_ttl;        /* [web] session_ttl (seconds) */
    bool secure_cookies;        /* [web] secure_cookies: mark cookies Secure (behind TLS) */
    char timezone[64];          /* [web] timezone: how times are shown (TZ), Asia/Shanghai */
    char control[BWW_PATH_MAX];     /* [daemon] control */
    char alerts[BWW_PATH_MAX];      /* [daemon] alerts */
    char server_key[64], public_key[64], secret_key[64];   /* [daemon] CURVE, Z85 */
    char server_cert[BWW_PATH_MAX]; /* [daemon] server_cert: the daemon's NAME.cert (czmq) */
    char key[BWW_PATH_MAX];         /* [daemon] key: this console's NAME.cert_secret */
    int timeout_ms;             /* [daemon] timeout (ms) */
    char notify_control[BWW_PATH_MAX];  /* [notify] control: budgetwatch-notify's query endpoint; "" none */
} bww_config;

void bww_config_defaults(bww_config *c);
/* Reads path over the defaults: 0, or -1 with why (FILE:LINE: ...). */
int bww_config_load(const char *path, bww_config *c, char *why, size_t whylen);
/* Reads server_cert and key, when set, into the Z85 keys (czmq's zcert, the
 * files `budgetwatch keygen` writes): 0, or -1 with why. */
int bww_config_keys(bww_config *c, char *why, size_t whylen);

#endif
