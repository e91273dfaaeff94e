/* config: budgetwatch-notify's INI file (budgetwatch-notify.conf(5)), read with
 * inih: [notify] settings, one [receiver NAME] section per receiver and one
 * [route NAME] per route. Every problem is reported as FILE:LINE: [section]
 * key: what is wrong; what to do — and a file with a problem is not used, so
 * a reload keeps the configuration that works. */
#ifndef BWN_CONFIG_H
#define BWN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "route.h"

#define BWN_RECEIVERS_MAX 32
#define BWN_ROUTES_MAX 64
#define BWN_ERR_MAX 512

typedef enum bwn_tls { BWN_TLS_NONE, BWN_TLS_STARTTLS, BWN_TLS_TLS } bwn_tls;

typedef struct bwn_receiver {
    char name[64];
    int line;
    bwn_rtype type;
    char url[1024];             /* the robot's webhook, the Alertmanager, the SMTP server */
    char secret[256];           /* webhook: HMAC key; dingtalk: the robot's 加签 secret */
    char sign_header[64];       /* webhook: the signature's header */
    bool markdown;              /* wecom: msgtype markdown (else text) */
    int rate_max;               /* at most rate_max messages in any rate_window_ms; 0: none */
    int64_t rate_window_ms;
    size_t max_bytes;           /* a message's text at most this long (robots' limits) */
    int64_t limited_ms;         /* what a rate-limit answer costs when it says no time */
    int64_t timeout_ms;
    /* email */
    char from[256], to[1024];   /* to: comma-separated addresses */
    char username[128], password[256];
    bwn_tls tls;
    bool tls_verify;
    char ca_file[1024];         /* PEM CAs to trust instead of the system's; "" system */
    /* alertmanager */
    int64_t resolve_timeout_ms; /* firing alerts are posted again within half of it */
} bwn_receiver;

typedef struct bwn_config {
    char file[512];
    char alerts[512], control[512];     /* the daemon's PUB and REP */
    char server_key[41], public_key[41], secret_key[41];   /* Z85, from the certificates */
    char outbox[512];
    char query[512];                    /* the log's query endpoint, ipc://; "" none */
    int64_t utc_offset_s;               /* local time for texts and mute windows */
    int64_t max_age_ms;                 /* then a notification is failed */
    int64_t min_backoff_ms, max_backoff_ms;
    int64_t tick_ms;                    /* how often the outbox is looked at */
    int catchup_page;                   /* history after_seq page size */
    char holidays_file[512];
    int32_t *holidays;                  /* local days, sorted; owned */
    int nholidays;
    bwn_receiver receivers[BWN_RECEIVERS_MAX];
    int nreceivers;
    bwn_route routes[BWN_ROUTES_MAX];
    int nroutes;
} bwn_config;

/* Reads `file` into *c (zeroed first, defaults applied). Returns 0, or -1
 * with FILE:LINE: ... in err (BWN_ERR_MAX bytes); *c is then freed. */
int bwn_config_load(const char *file, bwn_config *c, char *err);
void bwn_config_free(bwn_config *c);

/* The receiver named `name`, or -1. */
int bwn_config_receiver(const bwn_config *c, const char *name);

/* "90s", "100ms", "5m", "2h", "1d" or a number of seconds, into ms; -1 if bad. */
int64_t bwn_config_duration(const char *s);

#endif
