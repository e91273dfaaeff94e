/* money: exact fen from 万元 and yuan text, and back; overflow-checked sums.
 * Money never passes through a float: digits are accumulated as integers. */
#include "money.h"

#include <stdio.h>

bool bw_fen_add(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }
bool bw_fen_sub(int64_t a, int64_t b, int64_t *out) { return !__builtin_sub_overflow(a, b, out); }

/* Parses digits[.digits] with at most `scale` decimals into value * 10^scale. */
static int parse_fixed(const char *s, size_t len, int scale, int64_t *out, const char **why)
{
    int64_t v = 0;
    int decimals = -1;
    size_t digits = 0;
    if (len == 0) {
        *why = "empty amount";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (decimals >= 0 || digits == 0 || i + 1 == len) {
                *why = "not an amount (digits with one '.' between digits)";
                return -1;
            }
            decimals = 0;
            continue;
        }
        if (c < '0' || c > '9') {
            *why = "not an amount (only digits and one '.' are allowed)";
            return -1;
        }
        if (decimals >= 0 && ++decimals > scale) {
            *why = "more decimals than a fen can hold";
            return -1;
        }
        digits++;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v)) {
            *why = "amount too large";
            return -1;
        }
    }
    for (int d = decimals < 0 ? 0 : decimals; d < scale; d++) {
        if (__builtin_mul_overflow(v, 10, &v)) {
            *why = "amount too large";
            return -1;
        }
    }
    *out = v;
    return 0;
}

int bw_money_parse_wan(const char *s, size_t len, int64_t *fen, const char **why)
{
    return parse_fixed(s, len, 6, fen, why);
}

int bw_money_parse_yuan(const char *s, size_t len, int64_t *fen, const char **why)
{
    return parse_fixed(s, len, 2, fen, why);
}

char *bw_money_format_wan(int64_t fen, char *buf, size_t len)
{
    /* Work on the magnitude as unsigned so INT64_MIN formats too. */
    uint64_t m = fen < 0 ? 0 - (uint64_t)fen : (uint64_t)fen;
    uint64_t whole = m / BW_FEN_PER_WAN, frac = m % BW_FEN_PER_WAN;
    char digits[8];
    snprintf(digits, sizeof digits, "%06llu", (unsigned long long)frac);
    int keep = 6;
    while (keep > 2 && digits[keep - 1] == '0')
        keep--;
    snprintf(buf, len, "%s%llu.%.*s", fen < 0 ? "-" : "", (unsigned long long)whole, keep, digits);
    return buf;
}

char *bw_money_format_yuan(int64_t fen, char *buf, size_t len)
{
    uint64_t m = fen < 0 ? 0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(buf, len, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(m / 100),
             (unsigned long long)(m % 100));
    return buf;
}

/* |INT64_MIN| has no int64 magnitude: the unsigned one does. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

char *bw_money_format_wan2(int64_t fen, char *buf, size_t len)
{
    uint64_t h = magnitude(fen) / 10000;        /* hundredths of a 万元 */
    snprintf(buf, len, "%s%llu.%02llu", fen < 0 && h > 0 ? "-" : "", (unsigned long long)(h / 100),
             (unsigned long long)(h % 100));
    return buf;
}

char *bw_money_format_wan6(int64_t fen, char *buf, size_t len)
{
    uint64_t m = magnitude(fen);
    snprintf(buf, len, "%s%llu.%06llu", fen < 0 ? "-" : "",
             (unsigned long long)(m / BW_FEN_PER_WAN), (unsigned long long)(m % BW_FEN_PER_WAN));
    return buf;
}
