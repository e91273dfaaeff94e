/* slots: a project's alert slots as the ledger's text, and back (slots.h).
 * On the hot path (every row saved), so the numbers are written by hand
 * rather than by snprintf, and an empty slot costs nothing. */
#include "slots.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A slot at its longest: the word, ':', seven 3-digit and two 20-character
 * fields, eight ',' and one ';' must fit its share of BW_SLOTS_TEXT_MAX. */
#define WORD_FITS(NAME, name, scope, ack, label, description) \
    _Static_assert(sizeof(#name) - 1 + 1 + 7 * 3 + 2 * 20 + 8 + 1 <= 96, \
                   "kind word " #name " is too long for BW_SLOTS_TEXT_MAX");
BW_KIND_MAP(WORD_FITS)
#undef WORD_FITS

bool bw_slot_is_empty(const bw_slot *s)
{
    return s->severity == 0 && s->acked == 0 && s->ms == 0 && s->since == 0 && s->last_sent == 0 &&
           !bw_slot_has_handling(s);
}

bool bw_slot_has_handling(const bw_slot *s)
{
    return s->band != 0 || s->handling != 0 || s->normal != 0 || s->quiet != 0;
}

bool bw_slot_says_more(int kind, const bw_slot *s)
{
    bool own_band = s->band != 0 && s->band != (kind == BW_KIND_LAG ? s->severity : 0);
    return own_band || s->handling != 0 || s->normal != 0 || s->quiet != 0;
}

static char *put_u64(char *p, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    if (v >= 0)
        return put_u64(p, (uint64_t)v);
    *p++ = '-';
    return put_u64(p, 0 - (uint64_t)v);     /* INT64_MIN too */
}

size_t bw_slots_format(const bw_slot *slot, char out[BW_SLOTS_TEXT_MAX])
{
    char *p = out;
    for (int k = 0; k < BW_PROJECT_KINDS; k++) {
        const bw_slot *s = &slot[k];
        if (bw_slot_is_empty(s))
            continue;
        if (p != out)
            *p++ = ';';
        const char *word = bw_kind_name(k);
        size_t len = strlen(word);
        memcpy(p, word, len);
        p += len;
        *p++ = ':';
        p = put_u64(p, s->severity);
        *p++ = ',';
        p = put_u64(p, s->acked);
        *p++ = ',';
        p = put_u64(p, s->ms);
        *p++ = ',';
        p = put_i64(p, s->since);
        *p++ = ',';
        p = put_i64(p, s->last_sent);
        if (!bw_slot_says_more(k, s))
            continue;   /* as version 4 wrote it */
        *p++ = ',';
        p = put_u64(p, s->band);
        *p++ = ',';
        p = put_u64(p, s->handling);
        *p++ = ',';
        p = put_u64(p, s->normal);
        *p++ = ',';
        p = put_u64(p, s->quiet);
    }
    *p = '\0';
    return (size_t)(p - out);
}

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads a decimal integer of [min, max] at *p (up to end), moving *p past it. */
static bool get_int(const char **p, const char *end, int64_t min, int64_t max, int64_t *out)
{
    const char *q = *p;
    bool neg = q < end && *q == '-';
    q += neg;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        uint64_t d = (uint64_t)(*q - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    int64_t x = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (x < min || x > max)
        return false;
    *p = q;
    *out = x;
    return true;
}

int bw_slots_parse(const char *text, size_t len, bw_slot *slot, char *why, size_t whylen)
{
    memset(slot, 0, BW_PROJECT_KINDS * sizeof *slot);
    bool seen[BW_PROJECT_KINDS] = { false };
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        char word[32];
        if (colon == NULL || colon == p || (size_t)(colon - p) >= sizeof word)
            return bad(why, whylen, "\"%.*s\" does not start with a kind word and ':' (the file "
                       "was altered outside budgetwatchd)", (int)(end - p), p);
        memcpy(word, p, (size_t)(colon - p));
        word[colon - p] = '\0';
        int k = bw_kind_parse(word);
        if (!bw_kind_is_project(k))
            return bad(why, whylen, "kind \"%s\" is not a project kind this budgetwatchd knows: a "
                       "newer budgetwatchd wrote it (run that one), or the file was altered", word);
        if (seen[k])
            return bad(why, whylen, "kind %s is there twice (the file was altered outside "
                       "budgetwatchd)", word);
        seen[k] = true;
        p = colon + 1;
        /* Five fields as version 4 wrote them; nine with band, handling,
         * normal and quiet when any of them is set. */
        int64_t v[9] = { 0 };
        static const int64_t max[9] = { UINT8_MAX, UINT8_MAX, UINT8_MAX, INT64_MAX, INT64_MAX,
                                        UINT8_MAX, BW_HANDLINGS - 1, UINT8_MAX, 1 };
        static const int64_t min[9] = { 0, 0, 0, INT64_MIN, INT64_MIN, 0, 0, 0, 0 };
        int nfields = 0;
        for (int i = 0; i < 9; i++, nfields++) {
            /* A sixth field, or the ',' is what follows the slot (refused below). */
            if (i == 5 && (end - p < 2 || p[0] != ',' || p[1] < '0' || p[1] > '9'))
                break;
            if ((i > 0 && (p >= end || *p++ != ',')) || !get_int(&p, end, min[i], max[i], &v[i]))
                return bad(why, whylen, "the %s slot is not severity,acked,ms,since,last_sent in range "
                           "(nor those and band,handling,normal,quiet; the file was altered "
                           "outside budgetwatchd)", word);
        }
        /* Version 4 kept a lag's band as its severity (warning, critical). */
        if (k == BW_KIND_LAG && nfields == 5)
            v[5] = v[0];
        if (p < end && *p++ != ';')
            return bad(why, whylen, "the %s slot is followed by '%c', not ';' (the file was "
                       "altered outside budgetwatchd)", word, p[-1]);
        if (p == end && p[-1] == ';')
            return bad(why, whylen, "the slots end in ';' (the file was altered outside "
                       "budgetwatchd)");
        slot[k] = (bw_slot){ .severity = (uint8_t)v[0], .acked = (uint8_t)v[1],
                             .ms = (uint8_t)v[2], .since = v[3], .last_sent = v[4],
                             .band = (uint8_t)v[5], .handling = (uint8_t)v[6],
                             .normal = (uint8_t)v[7], .quiet = (uint8_t)v[8] };
    }
    return 0;
}
