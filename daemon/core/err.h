/* err: one error message buffer, filled once where the error is found.
 * Every message says what was wrong, where, and what to do about it. */
#ifndef BW_ERR_H
#define BW_ERR_H

#include <stddef.h>

#define BW_ERR_MAX 512

typedef struct bw_err {
    char msg[BW_ERR_MAX];
} bw_err;

/* Formats into e->msg (truncating); e may be NULL. Always returns -1 so that
 * callers can write `return bw_err_set(e, ...);`. */
int bw_err_set(bw_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
