/* sign: HMAC signatures and header encodings (see sign.h). */
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

int bwn_sign_base64(const void *in, size_t n, char *out, size_t len)
{
    if (len < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL))
        return -1;
    sodium_bin2base64(out, len, in, n, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int bwn_sign_urlencode(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';
        if (o + (keep ? 1 : 3) >= len)
            return -1;
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void hmac(const char *key, const void *msg, size_t n, unsigned char mac[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, msg, n);
    crypto_auth_hmacsha256_final(&st, mac);
}

int bwn_sign_dingtalk(const char *secret, int64_t ts_ms, char *out, size_t len)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%lld\n%s", (long long)ts_ms, secret);
    if (n < 0 || (size_t)n >= sizeof msg)
        return -1;
    unsigned char mac[32];
    hmac(secret, msg, (size_t)n, mac);
    char b64[64];
    if (bwn_sign_base64(mac, sizeof mac, b64, sizeof b64))
        return -1;
    return bwn_sign_urlencode(b64, out, len);
}

int bwn_sign_hmac_hex(const char *key, const char *body, size_t blen, char *out, size_t len)
{
    unsigned char mac[32];
    hmac(key, body, blen, mac);
    if (len < 7 + 65)
        return -1;
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, len - 7, mac, sizeof mac);
    return 0;
}

int bwn_sign_rfc2047(const char *s, char *out, size_t len)
{
    /* 75 bytes a word: "=?UTF-8?B?" + base64 + "?=" leaves 63 base64 bytes,
     * so 45 input bytes (a multiple of 3), cut back to a UTF-8 boundary. */
    size_t n = strlen(s), o = 0;
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
        ascii = ascii && (unsigned char)s[i] < 0x80 && s[i] != '=' && s[i] != '?';
    if (ascii) {
        if (n + 1 > len)
            return -1;
        memcpy(out, s, n + 1);
        return 0;
    }
    while (n > 0) {
        size_t take = bwn_text_utf8_cut(s, n, 45);
        if (take == 0)
            take = n < 45 ? n : 45;
        char b64[80];
        if (bwn_sign_base64(s, take, b64, sizeof b64))
            return -1;
        int w = snprintf(out + o, len - o, "%s=?UTF-8?B?%s?=", o ? "\r\n " : "", b64);
        if (w < 0 || (size_t)w >= len - o)
            return -1;
        o += (size_t)w;
        s += take;
        n -= take;
    }
    if (o == 0 && len > 0)
        out[0] = '\0';
    return 0;
}
