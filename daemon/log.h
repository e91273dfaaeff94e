/* log: budgetwatchd's log lines on stderr. Under systemd (JOURNAL_STREAM names
 * our stderr) each line gets a <N> priority prefix for the journal; elsewhere a
 * plain timestamp. Peer-supplied text must go through bw_utf8_escape first. */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stddef.h>

#include "utf8.h"

enum { BW_LOG_ERR = 3, BW_LOG_WARNING = 4, BW_LOG_NOTICE = 5, BW_LOG_INFO = 6, BW_LOG_DEBUG = 7 };

/* Decides the line format once, from JOURNAL_STREAM and stderr. */
void bw_log_init(void);
void bw_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
