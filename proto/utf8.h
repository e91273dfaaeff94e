/* utf8: the one UTF-8 validator and escaper. Wire strings and plan files must
 * be UTF-8; whatever a peer sent is escaped before it reaches a log line, so
 * that nobody can forge a line or a terminal sequence. */
#ifndef BW_UTF8_H
#define BW_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4 bytes, at most n), or 0 if it
 * is not one: overlong forms, surrogates and code points past U+10FFFF are
 * refused as RFC 3629 says. n must be at least 1. */
size_t bw_utf8_seq(const unsigned char *s, size_t n);

/* Copies s (at most len bytes) into buf as printable text: control characters,
 * backslashes and invalid UTF-8 become \xNN escapes. Stops early rather than
 * cut an escape or a character in two; always NUL-terminates; returns buf. */
char *bw_utf8_escape(const char *s, size_t len, char *buf, size_t buflen);

#endif
