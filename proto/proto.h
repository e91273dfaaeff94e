/* proto: encode and decode every budgetwatch message (msgpack maps with string
 * keys; see PROTOCOL.md, which is normative). Used by the daemon and the clients.
 *
 * Decoders never read past the buffer, ignore unknown keys, and on failure fill
 * `why` with one specific reason ("missing key 'amount'", "key 'src' must be a
 * string of 1..64 bytes, got 70 bytes") and return -1. Encoders write into a
 * caller-owned msgpack_sbuffer (or packer) and return 0, or -1 on bad input. */
#ifndef BW_PROTO_H
#define BW_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "vocab.h"

#define BW_SRC_MAX      64
#define BW_ID_MAX       128
#define BW_CODE_LEN_MAX 64     /* project and unit codes */
#define BW_NAME_LEN_MAX 256    /* unit and project names */
#define BW_TEXT_MAX     512    /* reasons, notes */
#define BW_WHY_MAX      256    /* decoder reasons */
#define BW_BAND_LEN_MAX 32     /* a lag band's name ([alerts] bands) */

/* Strings below are NUL-terminated copies; an absent optional string is "". */
typedef struct bw_event {
    uint8_t type;               /* bw_event_type */
    uint8_t fund;               /* bw_fund */
    bool has_seq;
    uint64_t seq;
    int64_t amount;             /* fen, > 0 */
    int64_t ts;                 /* Unix s, UTC */
    char src[BW_SRC_MAX + 1];
    char id[BW_ID_MAX + 1];
    char project[BW_CODE_LEN_MAX + 1];
    char unit[BW_CODE_LEN_MAX + 1];
    char ref[BW_ID_MAX + 1];
} bw_event;

typedef struct bw_ack {
    uint8_t status;             /* bw_ack_status */
    char src[BW_SRC_MAX + 1];
    char id[BW_ID_MAX + 1];
    char reason[BW_TEXT_MAX + 1];
} bw_ack;

typedef struct bw_alert_msg {
    uint64_t seq;
    uint8_t kind, state, severity;
    char unit[BW_CODE_LEN_MAX + 1], unit_name[BW_NAME_LEN_MAX + 1];
    char project[BW_CODE_LEN_MAX + 1], project_name[BW_NAME_LEN_MAX + 1];
    int64_t budget, paid, shortfall;
    int32_t rate_bp, planned_bp, lag_bp, pace_bp;
    char milestone[6];          /* "MM-DD" for milestone alerts, else "" */
    int64_t at, since;
    /* project kinds (PROTOCOL.md §1.3): the lag band, the basis, the distance
     * and the money against 序时进度, the handling */
    char band[BW_BAND_LEN_MAX + 1];     /* "" when none */
    uint8_t basis;              /* bw_basis: plan or pace */
    uint8_t handling;           /* bw_handling */
    int32_t pace_lag_bp;
    int64_t pace_shortfall;
    /* source_gap, large_payment (the payment's) */
    char src[BW_SRC_MAX + 1];
    uint64_t expected_seq, got_seq;
    /* large_payment only: the payment */
    char id[BW_ID_MAX + 1];
    int64_t amount;
    char ref[BW_ID_MAX + 1];
    /* acknowledgements only */
    char by[BW_CODE_LEN_MAX + 1];
    char note[BW_TEXT_MAX + 1];
} bw_alert_msg;

typedef struct bw_heartbeat {
    uint64_t seq;               /* the last alert seq published */
    int64_t at;
} bw_heartbeat;

/* Control request: op plus the arguments any op may take (absent = zero/""). */
typedef enum bw_op {
    BW_OP_PING, BW_OP_STATUS, BW_OP_ALERTS, BW_OP_HISTORY, BW_OP_ACK, BW_OP_STATS,
    BW_OP_VERIFY, BW_OP_RELOAD, BW_OP_ADJUST, BW_OP_REPLAY_REJECTED, BW_OP_ADVANCE,
    BW_OP_SERIES, BW_OP_PAYMENTS, BW_OP_ADJUSTMENTS, BW_OP_HANDLE,
    BW_OP_COUNT
} bw_op;

typedef struct bw_ctl_req {
    uint8_t op;                 /* bw_op */
    char project[BW_CODE_LEN_MAX + 1];
    char unit[BW_CODE_LEN_MAX + 1];
    char kind[16];              /* ack: alert kind */
    char by[BW_CODE_LEN_MAX + 1];
    char note[BW_TEXT_MAX + 1];
    char reason[BW_TEXT_MAX + 1];
    char sort[16];              /* status: "lag", "shortfall" or "code" */
    char state[24];             /* handle: the handling step (bw_handling's words) */
    bool has_budget;  int64_t budget;   /* adjust: new budget, fen */
    bool has_to;      int64_t to;       /* advance: Unix s */
    bool has_since;   int64_t since;    /* history */
    bool has_until;   int64_t until;    /* history */
    uint32_t limit;             /* history/status: 0 = no limit */
    bool has_at;      int64_t at;       /* status, series: as of this instant (Unix s) */
    bool has_after_seq; uint64_t after_seq;   /* history: seq > after_seq, oldest first */
    /* status paging and filters; payments' cursor */
    uint64_t offset;            /* status: rows to skip after sorting */
    char q[BW_NAME_LEN_MAX + 1];    /* status: substring of the project code or name */
    char band[32];              /* status: band name, "none" = no band */
    char alert[16];             /* status: "firing", "none" or "" */
    bool desc;                  /* status: sort descending */
    uint64_t before;            /* payments: events rowid cursor, 0 = newest */
} bw_ctl_req;

/* One row of a status reply (a project, a unit subtotal or the total). */
typedef struct bw_status_row {
    char unit[BW_CODE_LEN_MAX + 1], unit_name[BW_NAME_LEN_MAX + 1];
    char project[BW_CODE_LEN_MAX + 1], project_name[BW_NAME_LEN_MAX + 1]; /* "" for subtotals */
    int64_t budget, paid, paid_fiscal, paid_other, shortfall;
    int32_t rate_bp, planned_bp, lag_bp, pace_bp;
    uint8_t severity;           /* worst firing severity, 0 = none */
    uint32_t firing;
    uint32_t projects;
    int64_t plan_budget;        /* 预算数: the plan's budget before adjustments (= budget when absent) */
    char band[BW_BAND_LEN_MAX + 1];     /* the worst firing lag band, "" none */
    uint8_t basis;              /* bw_basis: plan or pace */
    int32_t pace_lag_bp;
    int64_t pace_shortfall;
} bw_status_row;

const char *bw_op_name(int op);
int bw_op_parse(const char *s, size_t len);    /* -1 if unknown */

/* Event. A refused event (-1) comes back zeroed but for src and id, each
 * filled when it can be read on its own (its key once, its value a valid
 * string of its length), so that the refusal can name the event; "" when the
 * message could not be read that far. */
int bw_event_encode(const bw_event *ev, msgpack_sbuffer *out);
int bw_event_decode(const char *buf, size_t len, bw_event *ev, char *why, size_t whylen);
/* Ack */
int bw_ack_encode(const bw_ack *a, msgpack_sbuffer *out);
int bw_ack_decode(const char *buf, size_t len, bw_ack *a, char *why, size_t whylen);
/* Alert: _pack writes the map into an existing packer (for lists in replies). */
int bw_alert_encode(const bw_alert_msg *a, msgpack_sbuffer *out);
int bw_alert_pack(msgpack_packer *pk, const bw_alert_msg *a);
int bw_alert_decode(const char *buf, size_t len, bw_alert_msg *a, char *why, size_t whylen);
int bw_alert_from_object(const msgpack_object *o, bw_alert_msg *a, char *why, size_t whylen);
/* Heartbeat */
int bw_heartbeat_encode(const bw_heartbeat *h, msgpack_sbuffer *out);
int bw_heartbeat_decode(const char *buf, size_t len, bw_heartbeat *h, char *why, size_t whylen);
/* Control request */
int bw_ctl_req_encode(const bw_ctl_req *r, msgpack_sbuffer *out);
int bw_ctl_req_decode(const char *buf, size_t len, bw_ctl_req *r, char *why, size_t whylen);
/* Status rows inside replies (packed by view.h's bw_view_row_pack) */
int bw_status_row_from_object(const msgpack_object *o, bw_status_row *r, char *why, size_t whylen);

/* Reply helpers. A reply is a map {"ok": bool, "error": str (when not ok), ...}.
 * bw_reply_error encodes a whole error reply. For an ok reply, the caller packs
 * the map header itself (1 + its own keys), then bw_pack_kv_* for each pair. */
int bw_reply_error(const char *error, msgpack_sbuffer *out);
void bw_pack_str(msgpack_packer *pk, const char *s);
void bw_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
void bw_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void bw_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t val);
void bw_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);
void bw_pack_key(msgpack_packer *pk, const char *key);

/* Reading replies: unpacks buf into *zone-backed objects; the caller owns the
 * msgpack_unpacked and destroys it. Returns the top-level map, or NULL with why
 * (not msgpack, not a map, trailing bytes). */
const msgpack_object *bw_reply_unpack(const char *buf, size_t len, msgpack_unpacked *u,
                                      char *why, size_t whylen);
/* The value under key in a map object, or NULL. */
const msgpack_object *bw_map_get(const msgpack_object *map, const char *key);
/* Typed getters on a map: return false if absent or of the wrong type. */
bool bw_map_get_bool(const msgpack_object *map, const char *key, bool *out);
bool bw_map_get_int(const msgpack_object *map, const char *key, int64_t *out);
bool bw_map_get_uint(const msgpack_object *map, const char *key, uint64_t *out);
/* Copies a string value into buf (NUL-terminated, truncated to len-1). */
bool bw_map_get_str(const msgpack_object *map, const char *key, char *buf, size_t len);

#endif
