/* dc: the daemon as the console sees it — control requests built from a few
 * key/values and sent with libbudgetwatch (bwc_client_request: one request,
 * one reply, waiting at most the configured timeout; the daemon answers from
 * memory, so the loop waits microseconds), and replies unpacked for the
 * model's decoders. A request for an op this daemon does not have yet is
 * told apart (unknown_op), so a page can show that part as unavailable. */
#ifndef BWW_DC_H
#define BWW_DC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "budgetwatch.h"
#include "config.h"

#define BWW_REQ_MAX 16

typedef struct bww_req {
    const char *op;
    size_t n;
    struct {
        const char *key;
        char type;              /* 's' str, 'i' int, 'u' uint, 'b' bool */
        const char *s;
        int64_t i;
    } kv[BWW_REQ_MAX];
} bww_req;

/* Adders: a string only when s is not empty; each ignores a request already full. */
void bww_req_str(bww_req *q, const char *key, const char *s);
void bww_req_int(bww_req *q, const char *key, int64_t v);
void bww_req_uint(bww_req *q, const char *key, uint64_t v);
void bww_req_bool(bww_req *q, const char *key, bool v);

typedef struct bww_reply {
    char *raw;                  /* owned copy of the reply */
    size_t len;
    msgpack_unpacked u;
    bool unpacked;
    const msgpack_object *m;    /* the reply map, or NULL */
    bool ok;                    /* the daemon answered ok = true */
    bool unknown_op;            /* the daemon does not have this op */
    bool unreachable;           /* no answer */
    char error[768];            /* when not ok: the daemon's error, or why there was none */
} bww_reply;

typedef struct bww_dc {
    bwc_client *c;
    bwc_client *slow;           /* the same daemon with a long timeout (BWW_SLOW_MS) */
    bwc_client *notify;         /* budgetwatch-notify's query endpoint, or NULL */
    char notify_at[BWW_PATH_MAX];
} bww_dc;

/* The snapshot of every active alert takes the daemon seconds at a
 * province's size (6 s for 183,336 alerts): it gets this long. */
#define BWW_SLOW_MS 120000

int bww_dc_open(bww_dc *d, const bww_config *cfg, char *why, size_t whylen);
void bww_dc_close(bww_dc *d);
/* Sends q and fills r (always: a failure is in r->error). r is freed with
 * bww_reply_free, also after a failure. Returns r->ok ? 0 : -1. */
int bww_dc_call(bww_dc *d, const bww_req *q, bww_reply *r);
/* The same on the slow client, for requests whose reply may be large. */
int bww_dc_call_slow(bww_dc *d, const bww_req *q, bww_reply *r);
/* The same to budgetwatch-notify's query endpoint ([notify] control);
 * -1 with r->unreachable when none is configured (bww_dc_has_notify). */
int bww_dc_notify(bww_dc *d, const bww_req *q, bww_reply *r);
bool bww_dc_has_notify(const bww_dc *d);
void bww_reply_free(bww_reply *r);

#endif
