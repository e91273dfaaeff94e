/* utf8: see utf8.h. */
#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t bw_utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;   /* overlong, surrogate, or past U+10FFFF */
    return len;
}

char *bw_utf8_escape(const char *s, size_t len, char *buf, size_t buflen)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < buflen;) {
        size_t n = bw_utf8_seq(u + i, len - i);
        if (n == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\') {
            buf[o++] = (char)u[i++];
        } else if (n > 1) {
            if (o + n + 1 >= buflen)
                break;
            memcpy(buf + o, u + i, n);
            o += n;
            i += n;
        } else {
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", u[i++]);
        }
    }
    if (buflen > 0)
        buf[o < buflen ? o : buflen - 1] = '\0';
    return buf;
}
