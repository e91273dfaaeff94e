/* text: the console's byte buffers and what goes into them — HTML escaping
 * of every text from the plan, an event or a person, JSON string escaping,
 * money in 万元 from integer fen (never a float), rates from basis points,
 * times, and application/x-www-form-urlencoded fields. Pure: no I/O. */
#ifndef BWW_TEXT_H
#define BWW_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing buffer. The buffer owns data; bww_buf_free frees it. When an
 * allocation fails the buffer is marked failed (oom) and later appends do
 * nothing: a caller checks oom once, at the end. data is NUL-terminated
 * whenever len > 0 and not oom. */
typedef struct bww_buf {
    char *data;
    size_t len, cap;
    bool oom;
} bww_buf;

void bww_buf_free(bww_buf *b);
void bww_buf_add(bww_buf *b, const char *s, size_t n);
void bww_buf_puts(bww_buf *b, const char *s);
void bww_buf_printf(bww_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as HTML text or attribute value: & < > " ' become entities; control
 * characters other than tab and line feed are dropped. */
void bww_buf_html(bww_buf *b, const char *s);
/* s as the inside of a JSON string (no quotes added); "</" is written "<\/"
 * so a JSON text is never the end of a script element. */
void bww_buf_json_str(bww_buf *b, const char *s);
/* s percent-encoded for a URL's query (all but A-Z a-z 0-9 - . _ ~). */
void bww_buf_url(bww_buf *b, const char *s);
/* Drops the first n bytes. */
void bww_buf_consume(bww_buf *b, size_t n);

/* Basis points as a percentage with two decimals ("37.50"). */
char *bww_pct(int32_t bp, char *buf, size_t len);
/* Unix seconds as local "YYYY-MM-DD HH:MM" (the process's TZ). */
char *bww_time(int64_t t, char *buf, size_t len);

/* The value of key in a urlencoded body or query (a=1&b=x+y), decoded into
 * out (NUL-terminated, at most outlen - 1 bytes). Returns true when present
 * and it fits; false when absent, too long, or with a NUL or a bad escape. */
bool bww_form_get(const char *body, size_t len, const char *key, char *out, size_t outlen);

#endif
