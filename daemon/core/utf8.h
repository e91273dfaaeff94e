/* utf8: the one UTF-8 validator, for plan files (which must be UTF-8) and for
 * escaping peer text in logs (which must not carry invalid sequences). */
#ifndef BW_UTF8_H
#define BW_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4 bytes, at most n), or 0 if it
 * is not one: overlong forms, surrogates and code points past U+10FFFF are
 * refused as RFC 3629 says. n must be at least 1. */
size_t bw_utf8_seq(const unsigned char *s, size_t n);

#endif
