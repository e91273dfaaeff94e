/* fmt: how the command line shows things — money in 万元, rates in %, times in
 * the configured zone, columns aligned by display width (CJK is two wide), and
 * nothing from the wire printed raw to a terminal. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "money.h"

bool out_tty(void)
{
    return isatty(STDOUT_FILENO) != 0;
}

void print_escaped(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

char *fmt_bp(int32_t bp, char *buf, size_t len)
{
    int64_t v = bp;
    uint64_t m = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    snprintf(buf, len, "%s%llu.%02llu", v < 0 ? "-" : "", (unsigned long long)(m / 100),
             (unsigned long long)(m % 100));
    return buf;
}

char *fmt_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    /* A time no calendar holds is shown as the number it is. */
    if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

/* "1648742400", "2022-03-31T15:00:00+08:00", "2023-01-01T00:00+08:00", "...Z". */
int parse_time(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s && *end == '\0') {
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (p == NULL)
        return -1;
    if (*p == ':') {
        const char *q = strptime(p, ":%S", &tm);
        if (q == NULL)
            return -1;
        p = q;
    }
    long off = 0;
    if (*p == 'Z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
               p[3] == ':' && isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
        off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        if (*p == '-')
            off = -off;
        p += 6;
    } else {
        return -1;   /* an offset is required: the zone must never be guessed */
    }
    if (*p != '\0')
        return -1;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

size_t display_width(const char *s)
{
    size_t w = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (const char *p = s; *p;) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, p, strlen(p), &st);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            p++;
            w++;
            memset(&st, 0, sizeof st);
            continue;
        }
        int cw = wcwidth(wc);
        w += cw > 0 ? (size_t)cw : 0;
        p += n;
    }
    return w;
}

void print_cell(FILE *f, const char *s, size_t width, bool right)
{
    size_t w = display_width(s);
    size_t pad = w < width ? width - w : 0;
    if (right)
        fprintf(f, "%*s", (int)pad, "");
    print_escaped(f, s);
    if (!right)
        fprintf(f, "%*s", (int)pad, "");
}

void print_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
