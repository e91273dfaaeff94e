/* publish: alerts from the engine into the batch, and — once the loop has
 * committed it — out of the alert log onto the PUB socket, with heartbeats
 * between. An alert gets its seq and its line in the alert log inside the
 * batch's transaction; subscribers see it only after the commit. */
#ifndef BW_PUBLISH_H
#define BW_PUBLISH_H

#include "app.h"
#include "batch.h"

/* Moves the engine's time to `to`, evaluating every instant passed (and the
 * projects changed since the last evaluation) into alerts in the batch,
 * which must be open; nothing when no instant falls due. FATAL if the batch could not take them. */
bw_step bw_publish_advance(bw_app *a, int64_t to);
/* Evaluates the projects changed since the last evaluation, at the engine's
 * now: the loop does this before each commit. */
bw_step bw_publish_evaluate(bw_app *a);
/* An alert made outside the engine (a source gap, an acknowledgement,
 * ledger damage): seq, alert log, batch. */
bw_step bw_publish_queue(bw_app *a, bw_alert_msg *m);
/* The large_payment alert al the engine started for payment ev: its message
 * carries the payment's src, id, amount and ref. */
bw_step bw_publish_large_payment(bw_app *a, const bw_alert *al, const bw_event *ev);
/* ledger_damaged, from the integrity check's first problem: published again
 * at every check that still finds damage, a reminder at the check's
 * interval, as long as nobody has restored the file. */
bw_step bw_publish_damage(bw_app *a, const char *first);
/* Once the batches up to alert seq `upto` are durable: logs and sends every
 * alert up to it not yet published, read back from the alert log in seq
 * order. 0, or -1 (err) if the log could not be read: those alerts go out
 * with the next ones. */
int bw_publish_send(bw_app *a, void *pub, uint64_t upto, bw_err *err);
/* A heartbeat with the last seq published. */
void bw_publish_heartbeat(const bw_app *a, void *pub);

#endif
