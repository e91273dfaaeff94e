/* sign: the signatures and encodings receivers ask for — DingTalk's 加签
 * (urlencode(base64(HMAC-SHA256(secret, ts + "\n" + secret)))), a webhook's
 * HMAC-SHA256 header, and the RFC 2047 encoded word of a UTF-8 subject.
 * libsodium computes the HMAC and the base64; nothing here reads a clock. */
#ifndef BWN_SIGN_H
#define BWN_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* DingTalk's sign for timestamp ts_ms (ms), URL-encoded, into out (128 bytes). */
int bwn_sign_dingtalk(const char *secret, int64_t ts_ms, char *out, size_t len);

/* "sha256=" + lowercase hex HMAC-SHA256(key, body) into out (80 bytes). */
int bwn_sign_hmac_hex(const char *key, const char *body, size_t blen, char *out, size_t len);

/* Standard base64 of in (n bytes), NUL-terminated into out; -1 if it does not fit. */
int bwn_sign_base64(const void *in, size_t n, char *out, size_t len);

/* Percent-encodes s (RFC 3986 unreserved kept) into out; -1 if it does not fit. */
int bwn_sign_urlencode(const char *s, char *out, size_t len);

/* "=?UTF-8?B?...?=" words for a header (each at most 75 bytes, CRLF SP
 * between them), never cutting a UTF-8 sequence; -1 if it does not fit. */
int bwn_sign_rfc2047(const char *s, char *out, size_t len);

#endif
