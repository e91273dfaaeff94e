/* ingest: one disbursement or refund message, from decode to the batch and
 * the engine. Validation happens before anything is written; a rejected
 * message is kept as a dead letter with its reason, so nothing a sender sent
 * is lost. The batch must be open; the loop commits it. */
#ifndef BW_INGEST_H
#define BW_INGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "batch.h"

/* One event message from SUB or ROUTER. peer: the CURVE key name it came
 * with (its src must be that name), "" for a key no longer authorized, NULL
 * for a socket without CURVE. replay: it comes from the dead letters (a new
 * rejection is not stored again). Fills *ack with the outcome (accepted,
 * duplicate or rejected with the reason). OK, or FATAL when the ledger
 * failed (the batch is then failed and *ack means nothing). */
bw_step bw_ingest_event(bw_app *a, const void *raw, size_t len, const char *peer, bw_ack *ack,
                        bool replay);
/* A message refused before it could be read as one event (its frames):
 * counted, kept as a dead letter (unless max_dead_letters are waiting) and
 * answered in *ack. */
bw_step bw_ingest_reject(bw_app *a, bw_reject_class cls, const char *src, const char *id,
                         const void *raw, size_t len, const char *reason, const char *peer,
                         bw_ack *ack, bool replay);

#endif
