/* decode: reads every budgetwatch message from msgpack, strictly. A message is
 * one map with string keys; unknown keys are ignored, anything else wrong is
 * refused with one specific reason, and nothing is read past the buffer. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "utf8.h"

/* One message being read: its root object lives in `zone`. */
typedef struct reader {
    msgpack_zone zone;
    msgpack_object root;
    bool have_root;             /* root was unpacked (even if refused later) */
    char *why;
    size_t whylen;
} reader;

static int why(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int why(reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->whylen > 0)
        vsnprintf(r->why, r->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "binary";
    case MSGPACK_OBJECT_EXT: return "an extension";
    }
    return "unknown";
}

/* Bytes of the header at p (type byte + length/value bytes), its payload bytes,
 * and how many items follow it (elements of an array, keys+values of a map).
 * Returns false for the unused byte 0xc1 or a header cut short. */
static bool header(const unsigned char *p, size_t left, size_t *hdr, uint64_t *payload,
                   uint64_t *items)
{
    static const unsigned char wide[] = { 1, 2, 4, 8 };
    unsigned char b = p[0];
    uint64_t n = 0;
    size_t w = 0;
    *payload = 0;
    *items = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        *hdr = 1;
        return true;
    }
    if (b >= 0x80 && b <= 0x9f) {
        *hdr = 1;
        *items = b <= 0x8f ? 2u * (b & 0x0f) : (uint64_t)(b & 0x0f);
        return true;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        *hdr = 1;
        *payload = b & 0x1f;
        return true;
    }
    if (b >= 0xca && b <= 0xd3) {   /* float32/64, uint8..64, int8..64 */
        *hdr = 1 + (b == 0xca ? 4 : b == 0xcb ? 8 : wide[(b - 0xcc) & 3]);
        return *hdr <= left;
    }
    if (b >= 0xd4 && b <= 0xd8) {   /* fixext 1..16 */
        *hdr = 2;
        *payload = 1u << (b - 0xd4);
        return true;
    }
    switch (b) {
    case 0xc4: case 0xd9: w = 1; break;   /* bin8, str8 */
    case 0xc5: case 0xda: case 0xdc: case 0xde: w = 2; break;
    case 0xc6: case 0xdb: case 0xdd: case 0xdf: w = 4; break;
    case 0xc7: w = 1; break;              /* ext8/16/32 carry a type byte too */
    case 0xc8: w = 2; break;
    case 0xc9: w = 4; break;
    default: return false;                /* 0xc1: never used */
    }
    if (1 + w > left)
        return false;
    for (size_t i = 0; i < w; i++)
        n = n << 8 | p[1 + i];
    *hdr = 1 + w + (b >= 0xc7 && b <= 0xc9);
    if (b == 0xdc || b == 0xdd)
        *items = n;
    else if (b == 0xde || b == 0xdf)
        *items = 2 * n;
    else
        *payload = n;
    return true;
}

/* msgpack-c allocates a container's elements as soon as it reads the count,
 * so a 5-byte message claiming 4 billion elements would ask for 64 GiB. Walk
 * the headers first: every element still owed needs at least one byte. */
static const char *sizes_fit(const char *buf, size_t len, char *note, size_t notelen)
{
    const unsigned char *p = (const unsigned char *)buf;
    uint64_t owed = 1;
    size_t off = 0;
    while (owed > 0) {
        size_t hdr;
        uint64_t payload, items;
        if (off == len)
            return "truncated message";
        if (p[off] == 0xc1)
            return "not msgpack";
        if (!header(p + off, len - off, &hdr, &payload, &items) || hdr > len - off ||
            payload > len - off - hdr)
            return "truncated message";
        off += hdr + (size_t)payload;
        owed = owed - 1 + items;
        if (owed > len - off) {
            snprintf(note, notelen, "truncated message: %llu more elements announced, %zu bytes "
                     "left", (unsigned long long)owed, len - off);
            return note;
        }
    }
    return NULL;
}

/* Unpacks exactly one map filling the whole buffer. The zone is always
 * initialised, and must be destroyed by the caller (reader_close). */
static int reader_open(reader *r, const char *buf, size_t len, char *w, size_t wlen)
{
    r->why = w;
    r->whylen = wlen;
    r->have_root = false;
    /* Small enough for malloc's per-thread cache: an event's objects fit in it. */
    if (!msgpack_zone_init(&r->zone, 768))
        return why(r, "out of memory");
    if (buf == NULL || len == 0)
        return why(r, "empty message");
    char note[160];
    const char *bad = sizes_fit(buf, len, note, sizeof note);
    if (bad != NULL)
        return why(r, "%s (%zu bytes)", bad, len);
    size_t off = 0;
    int rc = msgpack_unpack(buf, len, &off, &r->zone, &r->root);
    if (rc == MSGPACK_UNPACK_CONTINUE)
        return why(r, "truncated message (%zu bytes)", len);
    if (rc == MSGPACK_UNPACK_PARSE_ERROR)
        return why(r, "not msgpack");
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        return why(r, "message too deeply nested or too large");
    r->have_root = true;        /* with trailing bytes too: the first object is whole */
    if (rc == MSGPACK_UNPACK_EXTRA_BYTES || off != len)
        return why(r, "trailing bytes after the message (%zu of %zu bytes used)", off, len);
    if (r->root.type != MSGPACK_OBJECT_MAP)
        return why(r, "top level must be a map, got %s", type_name(&r->root));
    return 0;
}

static void reader_close(reader *r)
{
    msgpack_zone_destroy(&r->zone);
}

/* Fails on a non-string or duplicate key: later fields must mean one thing. */
static int check_keys(reader *r, const msgpack_object *map)
{
    const msgpack_object_kv *kv = map->via.map.ptr;
    uint32_t n = map->via.map.size;
    for (uint32_t i = 0; i < n; i++) {
        if (kv[i].key.type != MSGPACK_OBJECT_STR)
            return why(r, "map keys must be strings, got %s", type_name(&kv[i].key));
        for (uint32_t j = 0; j < i; j++)
            if (kv[j].key.via.str.size == kv[i].key.via.str.size &&
                (kv[i].key.via.str.size == 0 ||
                 memcmp(kv[j].key.via.str.ptr, kv[i].key.via.str.ptr, kv[i].key.via.str.size) == 0))
            {
                char esc[64];
                return why(r, "duplicate key '%s'", bw_utf8_escape(kv[i].key.via.str.ptr,
                           kv[i].key.via.str.size, esc, sizeof esc));
            }
    }
    return 0;
}

const msgpack_object *bw_map_get(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    /* On every event, once per field: length and first byte rule out most
     * keys. An empty msgpack string may have a NULL ptr, which memcmp may not take. */
    uint32_t n = (uint32_t)strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            (n == 0 || (k->via.str.ptr[0] == key[0] && memcmp(k->via.str.ptr, key, n) == 0)))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* ---- typed fields: -1 with a reason when present but wrong; 0 when absent
 * (and *present false) or read ---- */

/* Every string on the wire is UTF-8 and carries no control characters, so
 * that what a peer sent can be quoted in a reason, a log line or a terminal as
 * it is. Free text (names, notes, reasons) may hold tabs and line breaks. */
static int check_chars(reader *r, const char *key, const unsigned char *s, size_t n, bool text)
{
    for (size_t i = 0; i < n;) {
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            i++;        /* printable ASCII: nearly every byte of ids and codes */
            continue;
        }
        size_t len = bw_utf8_seq(s + i, n - i);
        if (len == 0)
            return why(r, "key '%s' is not valid UTF-8 (byte %zu is 0x%02x); send UTF-8 text",
                       key, i + 1, s[i]);
        if (len == 1 && (s[i] < 0x20 || s[i] == 0x7f) && !(text && (s[i] == '\t' || s[i] == '\n')))
            return why(r, "key '%s' contains the control character 0x%02x at byte %zu%s", key,
                       s[i], i + 1, text ? " (only tab and line feed may appear in text)" : "");
        i += len;
    }
    return 0;
}

static int field_chars(reader *r, const msgpack_object *map, const char *key, char *dst,
                       size_t min, size_t max, bool *present, bool text)
{
    const msgpack_object *v = bw_map_get(map, key);
    *present = v != NULL;
    dst[0] = '\0';
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_STR)
        return why(r, "key '%s' must be a string of %zu..%zu bytes, got %s", key, min, max,
                   type_name(v));
    size_t n = v->via.str.size;
    if (n < min || n > max)
        return why(r, "key '%s' must be a string of %zu..%zu bytes, got %zu bytes", key, min, max, n);
    if (n == 0)
        return 0;       /* ptr may be NULL then: no mem* call on it */
    if (check_chars(r, key, (const unsigned char *)v->via.str.ptr, n, text))
        return -1;
    memcpy(dst, v->via.str.ptr, n);
    dst[n] = '\0';
    return 0;
}

/* An identifier or code: src, id, project, unit, op, ... */
static int field_str(reader *r, const msgpack_object *map, const char *key, char *dst,
                     size_t min, size_t max, bool *present)
{
    return field_chars(r, map, key, dst, min, max, present, false);
}

/* Words for people: names, notes, reasons. */
static int field_text(reader *r, const msgpack_object *map, const char *key, char *dst,
                      size_t min, size_t max, bool *present)
{
    return field_chars(r, map, key, dst, min, max, present, true);
}

static int field_int(reader *r, const msgpack_object *map, const char *key, int64_t *out,
                     bool *present)
{
    const msgpack_object *v = bw_map_get(map, key);
    *present = v != NULL;
    if (v == NULL)
        return 0;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return why(r, "key '%s' must be an integer, got %s", key, type_name(v));
    if (v->via.u64 > INT64_MAX)
        return why(r, "key '%s' is %" PRIu64 ", over the largest integer (%" PRId64 ")", key,
                   v->via.u64, INT64_MAX);
    *out = (int64_t)v->via.u64;
    return 0;
}

static int field_uint(reader *r, const msgpack_object *map, const char *key, uint64_t *out,
                      bool *present)
{
    const msgpack_object *v = bw_map_get(map, key);
    *present = v != NULL;
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return why(r, "key '%s' must be a non-negative integer, got %s", key,
                   v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? "a negative one" : type_name(v));
    *out = v->via.u64;
    return 0;
}

static int field_bool(reader *r, const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *v = bw_map_get(map, key);
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return why(r, "key '%s' must be true or false, got %s", key, type_name(v));
    *out = v->via.boolean;
    return 0;
}

static int need(reader *r, bool present, const char *key)
{
    return present ? 0 : why(r, "missing key '%s'", key);
}

/* `v` must be 1: other versions may change meanings. */
static int version(reader *r, const msgpack_object *map)
{
    uint64_t v = 0;
    bool have;
    if (field_uint(r, map, "v", &v, &have) || need(r, have, "v"))
        return -1;
    if (v != BW_PROTO_VERSION)
        return why(r, "unsupported protocol version %" PRIu64 "; this side speaks %d", v,
                   BW_PROTO_VERSION);
    return 0;
}

/* A string field that must be one of `words`; returns its index. */
static int field_word(reader *r, const msgpack_object *map, const char *key,
                      const char *const *words, int nwords, int dflt, bool required, int *out)
{
    char buf[32];
    bool have;
    if (field_str(r, map, key, buf, 0, sizeof buf - 1, &have))
        return -1;
    if (!have) {
        *out = dflt;
        return required ? need(r, false, key) : 0;
    }
    for (int i = 0; i < nwords; i++)
        if (strcmp(buf, words[i]) == 0) {
            *out = i;
            return 0;
        }
    char list[256] = "";
    for (int i = 0; i < nwords; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"",
                 i == 0 ? "" : i == nwords - 1 ? " or " : ", ", words[i]);
    return why(r, "key '%s' must be %s, got \"%s\"", key, list, buf);
}

/* ---- event ---- */

static int event_fields(reader *r, const msgpack_object *m, bw_event *ev)
{
    static const char *const types[] = { "disbursement", "refund" };
    static const char *const funds[] = { "fiscal", "other" };
    bool have;
    int t, f;
    if (version(r, m) ||
        field_word(r, m, "type", types, 2, 0, true, &t) ||
        field_str(r, m, "src", ev->src, 1, BW_SRC_MAX, &have) || need(r, have, "src") ||
        field_str(r, m, "id", ev->id, 1, BW_ID_MAX, &have) || need(r, have, "id") ||
        field_str(r, m, "project", ev->project, 1, BW_CODE_LEN_MAX, &have) ||
        need(r, have, "project") ||
        field_int(r, m, "amount", &ev->amount, &have) || need(r, have, "amount") ||
        field_int(r, m, "ts", &ev->ts, &have) || need(r, have, "ts") ||
        field_uint(r, m, "seq", &ev->seq, &ev->has_seq) ||
        field_str(r, m, "unit", ev->unit, 0, BW_CODE_LEN_MAX, &have) ||
        field_word(r, m, "fund", funds, 2, 0, false, &f) ||
        field_str(r, m, "ref", ev->ref, 0, BW_ID_MAX, &have))
        return -1;
    if (ev->amount <= 0)
        return why(r, "key 'amount' must be an integer number of fen > 0, got %" PRId64, ev->amount);
    ev->type = (uint8_t)t;
    ev->fund = (uint8_t)f;
    return 0;
}

/* Copies one identifying string of a refused event when it can be read on
 * its own: the key present exactly once (a duplicate means two answers) and
 * its value valid under the key's own rule. Else dst stays "". */
static void ident_str(const msgpack_object *map, const char *key, char *dst, size_t max)
{
    const msgpack_object_kv *kv = map->via.map.ptr;
    size_t n = strlen(key), seen = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        seen += kv[i].key.type == MSGPACK_OBJECT_STR && kv[i].key.via.str.size == n &&
                memcmp(kv[i].key.via.str.ptr, key, n) == 0;
    char scratch[BW_WHY_MAX];
    reader quiet = { .why = scratch, .whylen = sizeof scratch };
    bool have;
    if (seen != 1 || field_str(&quiet, map, key, dst, 1, max, &have))
        dst[0] = '\0';
}

/* A refused event keeps only its src and id, each when it can be read, so
 * that the ack and the dead letter name the event (PROTOCOL.md §1.2): a
 * sender with many events in flight must learn which one was refused. */
static void event_ident(const reader *r, bw_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (!r->have_root || r->root.type != MSGPACK_OBJECT_MAP)
        return;
    ident_str(&r->root, "src", ev->src, BW_SRC_MAX);
    ident_str(&r->root, "id", ev->id, BW_ID_MAX);
}

int bw_event_decode(const char *buf, size_t len, bw_event *ev, char *w, size_t wlen)
{
    reader r;
    memset(ev, 0, sizeof *ev);
    int rc = reader_open(&r, buf, len, w, wlen);
    if (rc == 0)
        rc = check_keys(&r, &r.root);
    if (rc == 0)
        rc = event_fields(&r, &r.root, ev);
    if (rc != 0)
        event_ident(&r, ev);
    reader_close(&r);
    return rc;
}

/* ---- ack ---- */

int bw_ack_decode(const char *buf, size_t len, bw_ack *a, char *w, size_t wlen)
{
    static const char *const st[] = { "accepted", "duplicate", "rejected" };
    reader r;
    bool have;
    int s = 0;
    memset(a, 0, sizeof *a);
    int rc = reader_open(&r, buf, len, w, wlen);
    if (rc == 0)
        rc = check_keys(&r, &r.root) || version(&r, &r.root) ||
             field_str(&r, &r.root, "src", a->src, 0, BW_SRC_MAX, &have) || need(&r, have, "src") ||
             field_str(&r, &r.root, "id", a->id, 0, BW_ID_MAX, &have) || need(&r, have, "id") ||
             field_word(&r, &r.root, "status", st, 3, 0, true, &s) ||
             field_text(&r, &r.root, "reason", a->reason, 0, BW_TEXT_MAX, &have)
             ? -1 : 0;
    a->status = (uint8_t)s;
    reader_close(&r);
    return rc;
}

/* ---- alert ---- */

static int alert_fields(reader *r, const msgpack_object *m, bw_alert_msg *a)
{
    static const char *const states[] = { "firing", "acknowledged", "resolved" };
    static const char *const sevs[] = { "none", "warning", "critical" };
    static const char *const bases[] = { "plan", "pace" };
    static const char *const handlings[BW_HANDLINGS] = { "unhandled", "followed_up", "corrected",
                                                         "judged_normal", "judged_violation" };
    bool have;
    int k, s, v, basis = 0, handling = 0;
    int64_t rate = 0, planned = 0, lag = 0, pace = 0, pace_lag = 0;
    if (version(r, m) ||
        field_uint(r, m, "seq", &a->seq, &have) || need(r, have, "seq") ||
        field_word(r, m, "kind", bw_kind_names(), BW_KINDS, 0, true, &k) ||
        field_word(r, m, "state", states, 3, 0, true, &s) ||
        field_word(r, m, "severity", sevs, 3, 0, true, &v) ||
        field_int(r, m, "at", &a->at, &have) || need(r, have, "at") ||
        field_int(r, m, "since", &a->since, &have) ||
        field_str(r, m, "unit", a->unit, 0, BW_CODE_LEN_MAX, &have) ||
        field_text(r, m, "unit_name", a->unit_name, 0, BW_NAME_LEN_MAX, &have) ||
        field_str(r, m, "project", a->project, 0, BW_CODE_LEN_MAX, &have) ||
        field_text(r, m, "project_name", a->project_name, 0, BW_NAME_LEN_MAX, &have) ||
        field_int(r, m, "budget", &a->budget, &have) ||
        field_int(r, m, "paid", &a->paid, &have) ||
        field_int(r, m, "shortfall", &a->shortfall, &have) ||
        field_int(r, m, "rate_bp", &rate, &have) ||
        field_int(r, m, "planned_bp", &planned, &have) ||
        field_int(r, m, "lag_bp", &lag, &have) ||
        field_int(r, m, "pace_bp", &pace, &have) ||
        field_str(r, m, "milestone", a->milestone, 0, 5, &have) ||
        field_str(r, m, "src", a->src, 0, BW_SRC_MAX, &have) ||
        field_uint(r, m, "expected_seq", &a->expected_seq, &have) ||
        field_uint(r, m, "got_seq", &a->got_seq, &have) ||
        field_str(r, m, "by", a->by, 0, BW_CODE_LEN_MAX, &have) ||
        field_text(r, m, "note", a->note, 0, BW_TEXT_MAX, &have) ||
        field_str(r, m, "band", a->band, 0, BW_BAND_LEN_MAX, &have) ||
        field_word(r, m, "basis", bases, 2, 0, false, &basis) ||
        field_int(r, m, "pace_lag_bp", &pace_lag, &have) ||
        field_int(r, m, "pace_shortfall", &a->pace_shortfall, &have) ||
        field_word(r, m, "handling", handlings, BW_HANDLINGS, 0, false, &handling) ||
        field_str(r, m, "id", a->id, 0, BW_ID_MAX, &have) ||
        field_int(r, m, "amount", &a->amount, &have) ||
        field_str(r, m, "ref", a->ref, 0, BW_ID_MAX, &have))
        return -1;
    if (rate < INT32_MIN || rate > INT32_MAX || planned < INT32_MIN || planned > INT32_MAX ||
        lag < INT32_MIN || lag > INT32_MAX || pace < INT32_MIN || pace > INT32_MAX ||
        pace_lag < INT32_MIN || pace_lag > INT32_MAX)
        return why(r, "a basis-point field is out of range");
    a->basis = (uint8_t)basis;
    a->handling = (uint8_t)handling;
    a->pace_lag_bp = (int32_t)pace_lag;
    a->kind = (uint8_t)k;
    a->state = (uint8_t)s;
    a->severity = (uint8_t)v;
    a->rate_bp = (int32_t)rate;
    a->planned_bp = (int32_t)planned;
    a->lag_bp = (int32_t)lag;
    a->pace_bp = (int32_t)pace;
    return 0;
}

int bw_alert_from_object(const msgpack_object *o, bw_alert_msg *a, char *w, size_t wlen)
{
    reader r = { .why = w, .whylen = wlen };
    memset(a, 0, sizeof *a);
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return why(&r, "an alert must be a map, got %s", o ? type_name(o) : "nothing");
    if (check_keys(&r, o))
        return -1;
    return alert_fields(&r, o, a);
}

int bw_alert_decode(const char *buf, size_t len, bw_alert_msg *a, char *w, size_t wlen)
{
    reader r;
    memset(a, 0, sizeof *a);
    int rc = reader_open(&r, buf, len, w, wlen);
    if (rc == 0)
        rc = bw_alert_from_object(&r.root, a, w, wlen);
    reader_close(&r);
    return rc;
}

/* ---- heartbeat ---- */

int bw_heartbeat_decode(const char *buf, size_t len, bw_heartbeat *h, char *w, size_t wlen)
{
    reader r;
    bool have_seq = false, have_at = false;
    memset(h, 0, sizeof *h);
    int rc = reader_open(&r, buf, len, w, wlen);
    if (rc == 0)
        rc = check_keys(&r, &r.root) || version(&r, &r.root) ||
             field_uint(&r, &r.root, "seq", &h->seq, &have_seq) || need(&r, have_seq, "seq") ||
             field_int(&r, &r.root, "at", &h->at, &have_at) || need(&r, have_at, "at")
             ? -1 : 0;
    reader_close(&r);
    return rc;
}

/* ---- control request ---- */

static const char *const op_names[BW_OP_COUNT] = {
    "ping", "status", "alerts", "history", "ack", "stats", "verify", "reload", "adjust",
    "replay_rejected", "advance", "series", "payments", "adjustments", "handle",
};

const char *bw_op_name(int op)
{
    return op >= 0 && op < BW_OP_COUNT ? op_names[op] : "?";
}

int bw_op_parse(const char *s, size_t len)
{
    for (int i = 0; i < BW_OP_COUNT; i++)
        if (strlen(op_names[i]) == len && memcmp(op_names[i], s, len) == 0)
            return i;
    return -1;
}

/* What each op cannot do without. */
static int ctl_required(reader *r, const bw_ctl_req *q)
{
    switch (q->op) {
    case BW_OP_ACK:
        if (!q->project[0]) return why(r, "ack needs 'project'");
        if (!q->kind[0]) return why(r, "ack needs 'kind'");
        if (!q->by[0]) return why(r, "ack needs 'by' (who acknowledges)");
        return 0;
    case BW_OP_ADJUST:
        if (!q->project[0]) return why(r, "adjust needs 'project'");
        if (!q->has_budget) return why(r, "adjust needs 'budget' (fen)");
        if (q->budget <= 0) return why(r, "adjust: 'budget' must be more than 0 fen");
        if (!q->reason[0]) return why(r, "adjust needs a non-empty 'reason'");
        return 0;
    case BW_OP_ADVANCE:
        return q->has_to ? 0 : why(r, "advance needs 'to' (Unix seconds)");
    case BW_OP_PAYMENTS:
        if (!q->project[0]) return why(r, "payments needs 'project'");
        if (q->limit > 1000) return why(r, "payments: 'limit' is at most 1000, got %u", q->limit);
        return 0;
    case BW_OP_ADJUSTMENTS:
        return q->project[0] ? 0 : why(r, "adjustments needs 'project'");
    case BW_OP_HANDLE:
        if (!q->project[0]) return why(r, "handle needs 'project'");
        if (!q->kind[0]) return why(r, "handle needs 'kind'");
        if (!q->state[0])
            return why(r, "handle needs 'state' (followed_up, corrected, judged_normal or "
                       "judged_violation)");
        if (!q->by[0]) return why(r, "handle needs 'by' (who handles it)");
        return 0;
    default:
        return 0;
    }
}

static int ctl_fields(reader *r, const msgpack_object *m, bw_ctl_req *q)
{
    char op[32];
    bool have;
    uint64_t limit = 0;
    if (field_str(r, m, "op", op, 1, sizeof op - 1, &have) || need(r, have, "op"))
        return -1;
    int o = bw_op_parse(op, strlen(op));
    if (o < 0)
        return why(r, "unknown op \"%s\"; the ops are ping, status, alerts, history, ack, stats, "
                   "verify, reload, adjust, replay_rejected, advance, series, payments, "
                   "adjustments, handle", op);
    q->op = (uint8_t)o;
    if (field_str(r, m, "project", q->project, 0, BW_CODE_LEN_MAX, &have) ||
        field_str(r, m, "unit", q->unit, 0, BW_CODE_LEN_MAX, &have) ||
        field_str(r, m, "kind", q->kind, 0, sizeof q->kind - 1, &have) ||
        field_str(r, m, "by", q->by, 0, BW_CODE_LEN_MAX, &have) ||
        field_text(r, m, "note", q->note, 0, BW_TEXT_MAX, &have) ||
        field_text(r, m, "reason", q->reason, 0, BW_TEXT_MAX, &have) ||
        field_str(r, m, "sort", q->sort, 0, sizeof q->sort - 1, &have) ||
        field_str(r, m, "state", q->state, 0, sizeof q->state - 1, &have) ||
        field_int(r, m, "budget", &q->budget, &q->has_budget) ||
        field_int(r, m, "to", &q->to, &q->has_to) ||
        field_int(r, m, "since", &q->since, &q->has_since) ||
        field_int(r, m, "until", &q->until, &q->has_until) ||
        field_int(r, m, "at", &q->at, &q->has_at) ||
        field_uint(r, m, "limit", &limit, &have) ||
        field_uint(r, m, "offset", &q->offset, &have) ||
        field_text(r, m, "q", q->q, 0, BW_NAME_LEN_MAX, &have) ||
        field_text(r, m, "band", q->band, 0, sizeof q->band - 1, &have) ||
        field_str(r, m, "alert", q->alert, 0, sizeof q->alert - 1, &have) ||
        field_bool(r, m, "desc", &q->desc) ||
        field_uint(r, m, "before", &q->before, &have))
        return -1;
    if (q->alert[0] && strcmp(q->alert, "firing") != 0 && strcmp(q->alert, "none") != 0)
        return why(r, "key 'alert' must be \"firing\" or \"none\", got \"%s\"", q->alert);
    if (limit > UINT32_MAX)
        return why(r, "key 'limit' is too large");
    q->limit = (uint32_t)limit;
    if (field_uint(r, m, "after_seq", &q->after_seq, &q->has_after_seq))    /* history */
        return -1;
    return ctl_required(r, q);
}

int bw_ctl_req_decode(const char *buf, size_t len, bw_ctl_req *q, char *w, size_t wlen)
{
    reader r;
    memset(q, 0, sizeof *q);
    int rc = reader_open(&r, buf, len, w, wlen);
    if (rc == 0)
        rc = check_keys(&r, &r.root);
    if (rc == 0)
        rc = ctl_fields(&r, &r.root, q);
    reader_close(&r);
    return rc;
}

/* ---- status rows and replies ---- */

int bw_status_row_from_object(const msgpack_object *o, bw_status_row *s, char *w, size_t wlen)
{
    static const char *const sevs[] = { "none", "warning", "critical" };
    static const char *const bases[] = { "plan", "pace" };
    reader r = { .why = w, .whylen = wlen };
    bool have;
    int sev = 0, basis = 0;
    uint64_t firing = 0, projects = 0;
    int64_t rate = 0, planned = 0, lag = 0, pace = 0, pace_lag = 0;
    memset(s, 0, sizeof *s);
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return why(&r, "a status row must be a map");
    if (field_str(&r, o, "unit", s->unit, 0, BW_CODE_LEN_MAX, &have) ||
        field_text(&r, o, "unit_name", s->unit_name, 0, BW_NAME_LEN_MAX, &have) ||
        field_str(&r, o, "project", s->project, 0, BW_CODE_LEN_MAX, &have) ||
        field_text(&r, o, "project_name", s->project_name, 0, BW_NAME_LEN_MAX, &have) ||
        field_int(&r, o, "budget", &s->budget, &have) ||
        field_int(&r, o, "paid", &s->paid, &have) ||
        field_int(&r, o, "paid_fiscal", &s->paid_fiscal, &have) ||
        field_int(&r, o, "paid_other", &s->paid_other, &have) ||
        field_int(&r, o, "shortfall", &s->shortfall, &have) ||
        field_int(&r, o, "rate_bp", &rate, &have) ||
        field_int(&r, o, "planned_bp", &planned, &have) ||
        field_int(&r, o, "lag_bp", &lag, &have) ||
        field_int(&r, o, "pace_bp", &pace, &have) ||
        field_word(&r, o, "severity", sevs, 3, 0, false, &sev) ||
        field_uint(&r, o, "firing", &firing, &have) ||
        field_uint(&r, o, "projects", &projects, &have) ||
        field_str(&r, o, "band", s->band, 0, BW_BAND_LEN_MAX, &have) ||
        field_word(&r, o, "basis", bases, 2, 0, false, &basis) ||
        field_int(&r, o, "pace_lag_bp", &pace_lag, &have) ||
        field_int(&r, o, "pace_shortfall", &s->pace_shortfall, &have) ||
        field_int(&r, o, "plan_budget", &s->plan_budget, &have))
        return -1;
    if (!have)
        s->plan_budget = s->budget;     /* a daemon before plan_budget */
    s->basis = (uint8_t)basis;
    s->pace_lag_bp = (int32_t)pace_lag;
    s->rate_bp = (int32_t)rate;
    s->planned_bp = (int32_t)planned;
    s->lag_bp = (int32_t)lag;
    s->pace_bp = (int32_t)pace;
    s->severity = (uint8_t)sev;
    s->firing = (uint32_t)firing;
    s->projects = (uint32_t)projects;
    return 0;
}

const msgpack_object *bw_reply_unpack(const char *buf, size_t len, msgpack_unpacked *u, char *w,
                                      size_t wlen)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    int rc = msgpack_unpack_next(u, buf, len, &off);
    const char *err = NULL;
    if (rc == MSGPACK_UNPACK_CONTINUE)
        err = "truncated reply";
    else if (rc < 0)
        err = "the reply is not msgpack";
    else if (off != len)
        err = "trailing bytes after the reply";
    else if (u->data.type != MSGPACK_OBJECT_MAP)
        err = "the reply is not a map";
    if (err != NULL) {
        if (wlen > 0)
            snprintf(w, wlen, "%s", err);
        return NULL;
    }
    return &u->data;
}

bool bw_map_get_bool(const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *v = bw_map_get(map, key);
    if (v == NULL || v->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *out = v->via.boolean;
    return true;
}

bool bw_map_get_int(const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *v = bw_map_get(map, key);
    if (v == NULL)
        return false;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return true;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > INT64_MAX)
        return false;
    *out = (int64_t)v->via.u64;
    return true;
}

bool bw_map_get_uint(const msgpack_object *map, const char *key, uint64_t *out)
{
    const msgpack_object *v = bw_map_get(map, key);
    if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *out = v->via.u64;
    return true;
}

bool bw_map_get_str(const msgpack_object *map, const char *key, char *buf, size_t len)
{
    const msgpack_object *v = bw_map_get(map, key);
    if (v == NULL || v->type != MSGPACK_OBJECT_STR || len == 0)
        return false;
    size_t n = v->via.str.size < len - 1 ? v->via.str.size : len - 1;
    if (n > 0)
        memcpy(buf, v->via.str.ptr, n);
    buf[n] = '\0';
    return true;
}
