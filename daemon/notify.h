/* notify: telling systemd how the service is doing (sd_notify): READY=1 once
 * sockets are bound and state is loaded, STATUS= with live counts, WATCHDOG=1
 * from the loop, RELOADING=1 around reloads, STOPPING=1. No-ops outside systemd. */
#ifndef BW_NOTIFY_H
#define BW_NOTIFY_H

#include <stdint.h>

void bw_notify_ready(void);
void bw_notify_reloading(void);
void bw_notify_stopping(void);
void bw_notify_watchdog(void);
void bw_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asked for, in microseconds; 0 if none. */
uint64_t bw_notify_watchdog_usec(void);

#endif
