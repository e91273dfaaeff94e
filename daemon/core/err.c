/* err: one error message buffer, filled once where the error is found. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int bw_err_set(bw_err *e, const char *fmt, ...)
{
    if (e == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}
