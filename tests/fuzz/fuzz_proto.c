/* fuzz_proto: libFuzzer target for every wire decoder a peer can reach — the
 * event, ack, alert, heartbeat and control-request decoders. Any bytes give a
 * message or a reason, never a crash, a leak or a read past the buffer; an
 * accepted event holds what PROTOCOL.md promises and survives re-encoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const char *buf, size_t size)
{
    bw_event ev, again;
    char why[BW_WHY_MAX] = "";
    if (bw_event_decode(buf, size, &ev, why, sizeof why)) {
        if (why[0] == '\0')
            abort();    /* a rejection always says why */
        return;
    }
    if (ev.amount <= 0 || ev.src[0] == '\0' || ev.id[0] == '\0' || ev.project[0] == '\0')
        abort();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (bw_event_encode(&ev, &sb) || bw_event_decode(sb.data, sb.size, &again, why, sizeof why) ||
        again.amount != ev.amount || again.ts != ev.ts || again.type != ev.type ||
        again.fund != ev.fund || again.has_seq != ev.has_seq || (ev.has_seq && again.seq != ev.seq) ||
        strcmp(again.src, ev.src) || strcmp(again.id, ev.id) || strcmp(again.project, ev.project) ||
        strcmp(again.unit, ev.unit) || strcmp(again.ref, ev.ref))
        abort();
    msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    char why[BW_WHY_MAX];
    bw_ack ack;
    bw_alert_msg alert;
    bw_heartbeat hb;
    bw_ctl_req req;
    check_event(buf, size);
    why[0] = '\0';
    if (bw_ack_decode(buf, size, &ack, why, sizeof why) && why[0] == '\0')
        abort();
    why[0] = '\0';
    if (bw_alert_decode(buf, size, &alert, why, sizeof why) && why[0] == '\0')
        abort();
    why[0] = '\0';
    if (bw_heartbeat_decode(buf, size, &hb, why, sizeof why) && why[0] == '\0')
        abort();
    why[0] = '\0';
    if (bw_ctl_req_decode(buf, size, &req, why, sizeof why) && why[0] == '\0')
        abort();
    free(buf);
    return 0;
}
