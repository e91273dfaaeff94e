/* log: stderr logging with journal priority prefixes when stderr is the
 * journal, timestamps otherwise. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static bool to_journal;   /* set once at start-up, before the loop runs */

void bw_log_init(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    to_journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
                 fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                 (unsigned long long)st.st_ino == ino;
}

void bw_log(int prio, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (to_journal) {
        fprintf(stderr, "<%d>%s\n", prio, line);
        return;
    }
    static const char *const names[] = { "emerg", "alert", "crit", "error", "warning",
                                         "notice", "info", "debug" };
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld budgetwatchd %s: %s\n", stamp, ts.tv_nsec / 1000000,
            names[prio & 7], line);
}
