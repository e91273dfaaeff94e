/* text: buffers, escaping and formats of the console (text.h). */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void bww_buf_free(bww_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

static bool grow(bww_buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void bww_buf_add(bww_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void bww_buf_puts(bww_buf *b, const char *s)
{
    bww_buf_add(b, s, strlen(s));
}

void bww_buf_printf(bww_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        bww_buf_add(b, small, (size_t)n);
        return;
    }
    if (!grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void bww_buf_html(bww_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': bww_buf_puts(b, "&amp;"); break;
        case '<': bww_buf_puts(b, "&lt;"); break;
        case '>': bww_buf_puts(b, "&gt;"); break;
        case '"': bww_buf_puts(b, "&quot;"); break;
        case '\'': bww_buf_puts(b, "&#39;"); break;
        default:
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
                break;
            bww_buf_add(b, (const char *)p, 1);
        }
    }
}

void bww_buf_json_str(bww_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char)*p };
            bww_buf_add(b, e, 2);
        } else if (*p == '/' && p > (const unsigned char *)s && p[-1] == '<') {
            bww_buf_puts(b, "\\/");
        } else if (*p < 0x20 || *p == 0x7f) {
            bww_buf_printf(b, "\\u%04x", *p);
        } else {
            bww_buf_add(b, (const char *)p, 1);
        }
    }
}

void bww_buf_url(bww_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            bww_buf_add(b, (const char *)p, 1);
        else
            bww_buf_printf(b, "%%%02X", *p);
    }
}

void bww_buf_consume(bww_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        if (b->data)
            b->data[0] = '\0';
        return;
    }
    memmove(b->data, b->data + n, b->len - n + 1);
    b->len -= n;
}

/* |v| / div and |v| % div without overflow at INT64_MIN. */
static char *fixed2(int64_t v, uint64_t div, char *buf, size_t len)
{
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    m /= div;
    snprintf(buf, len, "%s%llu.%02llu", v < 0 && m > 0 ? "-" : "", (unsigned long long)(m / 100),
             (unsigned long long)(m % 100));
    return buf;
}

char *bww_pct(int32_t bp, char *buf, size_t len)
{
    return fixed2(bp, 1, buf, len);
}

char *bww_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..n) into out; false on a bad escape, a NUL or no room. */
static bool url_decode(const char *src, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || k + 1 >= outlen)
            return false;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return true;
}

bool bww_form_get(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key), i = 0;
    if (outlen == 0)
        return false;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        const char *eq = memchr(body + i, '=', end - i);
        size_t nlen = eq ? (size_t)(eq - (body + i)) : end - i;
        if (nlen == klen && memcmp(body + i, key, klen) == 0) {
            if (eq == NULL) {
                out[0] = '\0';
                return true;
            }
            return url_decode(eq + 1, (size_t)(body + end - (eq + 1)), out, outlen);
        }
        i = end + 1;
    }
    return false;
}
