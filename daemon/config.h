/* config: budgetwatchd's configuration — an INI file read with inih, on top of
 * built-in defaults. Every key, its meaning and default is in the README and in
 * budgetwatch.conf(5); bw_config_defaults is the single source of the defaults. */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "engine.h"
#include "plan.h"

#define BW_MAX_ENDPOINTS 8
#define BW_MAX_PREFIXES 16
#define BW_PATH_MAX 1024

typedef enum bw_clock_mode { BW_CLOCK_WALL = 0, BW_CLOCK_EVENT = 1 } bw_clock_mode;

typedef struct bw_endpoint {
    bool bind;                  /* bind:URL (true) or connect:URL (false) */
    char url[256];
} bw_endpoint;

typedef struct bw_config {
    /* [daemon] */
    char plan[BW_PATH_MAX];             /* default: the bundled example plan */
    char state_dir[BW_PATH_MAX];        /* default: $STATE_DIRECTORY or "." */
    char runtime_dir[BW_PATH_MAX];      /* default: $RUNTIME_DIRECTORY or state_dir */
    int fiscal_year;                    /* default 2022 */
    char timezone[64];                  /* default Asia/Shanghai */
    bw_clock_mode clock;                /* default wall */
    int64_t future_tolerance;           /* s; events dated later than now + this are rejected (300) */
    /* [endpoints] */
    bw_endpoint events_sub[BW_MAX_ENDPOINTS];  int n_events_sub;   /* default none */
    char events_sub_prefixes[BW_MAX_PREFIXES][64]; int n_prefixes; /* default "disb." */
    char events_ack[256];               /* ROUTER bind URL; default tcp://127.0.0.1:7601 */
    char alerts_pub[256];               /* PUB bind URL;    default tcp://127.0.0.1:7602 */
    char control[BW_PATH_MAX + 32];     /* REP bind URL; default ipc://RUNTIME/control.sock */
    /* [alerts] */
    int32_t lag_warning_bp, lag_critical_bp, hysteresis_bp;   /* 1000, 2000, 100 */
    int64_t repeat_interval;            /* s, 86400 */
    int64_t heartbeat_interval;         /* s, 5 */
    bw_schedule default_milestones;     /* 03-31:30;06-30:60;10-31:90;12-31:100 */
    uint16_t default_target_bp;         /* 9500 */
    uint8_t lag_basis;                  /* bw_basis: plan (default), pace, both */
    int nbands;                         /* 0: lag_warning_pp / lag_critical_pp */
    bw_band bands[BW_MAX_BANDS];        /* bands = NAME:PP, ... */
    int bands_line;                     /* the line of bands, for its checks */
    int64_t stalled_after;              /* stalled_days in s; 0 = off (default) */
    int32_t large_payment_bp;           /* large_payment_pct; 0 = off (default) */
    int64_t large_payment_fen;          /* large_payment_wan; 0 = off (default) */
    int32_t burst_payments;             /* 0 = off (default) */
    int64_t burst_window;               /* s, 1d */
    int64_t rush_window;                /* year_end_rush_days in s; 0 = off (default) */
    int32_t rush_bp;                    /* year_end_rush_pct, 30 */
    /* [store] */
    bool sync_full;                     /* synchronous = normal | full; default full */
    uint32_t batch_max;                 /* events per group commit, 4096 */
    int64_t integrity_check_interval;   /* s between background integrity checks, 86400; 0 = none */
    /* [limits] */
    int64_t max_message_bytes;          /* ZMQ_MAXMSGSIZE, 65536 */
    int64_t max_dead_letters;           /* rejected messages kept for replay, 100000 */
    /* [security] */
    char server_key[BW_PATH_MAX];       /* the daemon's secret key file; "" = no CURVE */
    char payment_keys[BW_PATH_MAX];     /* directories of authorized public keys: */
    char supervisor_keys[BW_PATH_MAX];  /*   /etc/budgetwatch/keys/payment, .../supervisor, */
    char admin_keys[BW_PATH_MAX];       /*   .../admin */
} bw_config;

/* Fills the built-in defaults (reads $STATE_DIRECTORY / $RUNTIME_DIRECTORY). */
void bw_config_defaults(bw_config *c);
/* Reads an INI file over the current values. Returns 0, or -1 with
 * "FILE:LINE: what is wrong; what to do" in err (unknown section or key, bad
 * value, a date that does not exist in the fiscal year...). */
int bw_config_load(bw_config *c, const char *path, bw_err *err);
/* Parses a duration "24h", "5s", "90m", "2d", "300" (s). -1 if malformed. */
int bw_parse_duration(const char *s, int64_t *out);

#endif
