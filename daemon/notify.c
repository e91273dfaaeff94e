/* notify: sd_notify messages for Type=notify units. Failures are logged once and
 * otherwise ignored: a daemon started by hand has no NOTIFY_SOCKET. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"

static void send_state(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        bw_log(BW_LOG_WARNING, "sd_notify(%s) failed: error %d", state, rc);
}

void bw_notify_ready(void) { send_state("READY=1\nSTATUS=serving"); }
void bw_notify_stopping(void) { send_state("STOPPING=1"); }
void bw_notify_watchdog(void) { send_state("WATCHDOG=1"); }

void bw_notify_reloading(void)
{
    /* systemd >= 253 (Type=notify-reload) wants the monotonic time with it;
     * older ones ignore the extra field. */
    struct timespec ts;
    char msg[96];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    send_state(msg);
}

void bw_notify_status(const char *fmt, ...)
{
    char msg[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + 7, sizeof msg - 7, fmt, ap);
    va_end(ap);
    send_state(msg);
}

uint64_t bw_notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
