/* control: the control socket's requests — decode, the key's role, one
 * dispatch over the operations, and the reply. Reading operations reply from
 * the views; changing ones add to the batch and leave the commit to the loop,
 * which sends their reply only once it holds (PROTOCOL.md §3). */
#ifndef BW_CONTROL_H
#define BW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "app.h"
#include "auth.h"

typedef enum bw_ctl_result {
    BW_CTL_REPLY,       /* send the reply now */
    BW_CTL_COMMIT,      /* the batch holds the change: commit, then send the reply */
    BW_CTL_QUIET,       /* the operation needs every row saved and no transaction open:
                           commit so, then call again with quiet = true */
    BW_CTL_FATAL,       /* the daemon cannot go on: send the reply (an error), then stop */
} bw_ctl_result;

typedef struct bw_ctl_call {
    const char *req;
    size_t len;
    bw_role role;               /* who sent it (by CURVE key; an ipc:// client is an admin) */
    const char *name;           /* the key's name, "" without CURVE */
    bool quiet;                 /* the loop made the ledger quiet for it (BW_CTL_QUIET) */
    msgpack_sbuffer *out;       /* the reply (the caller's) */
    const char *change;         /* set with BW_CTL_COMMIT: what the commit records */
} bw_ctl_call;

bw_ctl_result bw_control_handle(bw_app *a, bw_ctl_call *c);

/* The error reply for a change the ledger did not take (cause: why). */
void bw_control_not_recorded(msgpack_sbuffer *out, const char *change, const char *cause);

#endif
