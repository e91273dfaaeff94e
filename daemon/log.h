/* log: budgetwatchd's log lines on stderr. Under systemd (JOURNAL_STREAM names
 * our stderr) each line gets a <N> priority prefix for the journal; elsewhere a
 * plain timestamp. Peer-supplied text must go through bw_log_escape first. */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stddef.h>

enum { BW_LOG_ERR = 3, BW_LOG_WARNING = 4, BW_LOG_NOTICE = 5, BW_LOG_INFO = 6, BW_LOG_DEBUG = 7 };

/* Decides the line format once, from JOURNAL_STREAM and stderr. */
void bw_log_init(void);
void bw_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies s (at most len bytes) into buf as printable text: control characters,
 * backslashes and invalid UTF-8 become \xNN escapes, so a peer cannot forge log
 * lines or terminal sequences. Always NUL-terminates; returns buf. */
char *bw_log_escape(const char *s, size_t len, char *buf, size_t buflen);

#endif
