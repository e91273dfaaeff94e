/* query: the notifier's read-only query endpoint ([notify] query), as
 * requests and replies — the decoding of a msgpack request {op = "log",
 * project?, kind?, seq?, since?, limit?} into the outbox's log filter, and
 * the packing of the reply: one map per notification with its alerts and
 * its attempts. Pure: the shell (notifier.c) does the socket and the
 * outbox; the CLI's `log` reads the outbox through the same filter. */
#ifndef BWN_QUERY_H
#define BWN_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "outbox.h"

#define BWN_QUERY_LIMIT_DEFAULT 100
#define BWN_QUERY_LIMIT_MAX 1000

/* A decoded request; the filter's strings point into q's buffers. */
typedef struct bwn_query {
    char op[16];
    char project[256], kind[64];
    bwn_log_filter filter;
} bwn_query;

/* Decodes a request. 0, or -1 with what was wrong in why (which key, what
 * it must be), for the error reply. */
int bwn_query_decode(const void *buf, size_t len, bwn_query *q, char *why, size_t whylen);

/* The reply {ok = true, notifications = [ ... ], more}: the notifications
 * are packed one by one into r->body — bwn_reply_note_begin with the row
 * and the receiver's type ("" when the receiver is no longer configured),
 * then its alerts (bwn_reply_alert each), bwn_reply_attempts_begin, its
 * attempts (bwn_reply_attempt each) and bwn_reply_note_end; each packs at
 * once, so the strings need live only for the call. bwn_reply_close packs
 * the whole into r->out. The caller owns r (bwn_reply_free). */
typedef struct bwn_reply {
    msgpack_sbuffer body, part, out;
    msgpack_packer pk, ppk;     /* into body, into part */
    uint32_t n, npart;
} bwn_reply;
void bwn_reply_open(bwn_reply *r);
void bwn_reply_note_begin(bwn_reply *r, const bwn_log_row *row, const char *receiver_type);
void bwn_reply_alert(bwn_reply *r, uint64_t seq, const char *kind, const char *state,
                     const char *project);
/* 0, or -1 out of memory (also bwn_reply_note_end). */
int bwn_reply_attempts_begin(bwn_reply *r);
/* started_ms, ended_ms 0: not ended (cut short); status -1: no HTTP status. */
void bwn_reply_attempt(bwn_reply *r, int64_t started_ms, int64_t ended_ms, const char *result,
                       long status, const char *answer);
int bwn_reply_note_end(bwn_reply *r);
/* Ends the reply into r->out; more: older notifications were left out.
 * 0, or -1 out of memory. */
int bwn_reply_close(bwn_reply *r, bool more);
void bwn_reply_free(bwn_reply *r);
/* An error reply {ok = false, error}; 0, or -1 out of memory. */
int bwn_reply_error(msgpack_sbuffer *sb, const char *error);

#endif
