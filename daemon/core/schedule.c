/* schedule: the milestone syntax "03-31:30;06-30:60;10-31:90;12-31:100" — each
 * item a deadline and a cumulative percentage — parsed strictly, and written back. */
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "plan.h"

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Reads exactly n digits. */
static bool digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

/* A percentage with up to two decimals, as basis points; -1 if malformed. */
static int percent_bp(const char *p, const char *end)
{
    int whole = 0, frac = 0, nfrac = 0, nwhole = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, nwhole++)
        if ((whole = whole * 10 + (*p - '0')) > 1000)
            return 100001;
    if (nwhole == 0)
        return -1;
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++, nfrac++) {
            if (nfrac == 2)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (nfrac == 0)
            return -1;
    }
    if (p < end && *p == '%')
        p++;
    if (p != end)
        return -1;
    return whole * 100 + (nfrac == 1 ? frac * 10 : frac);
}

static int item(const char *p, const char *end, int year, bw_milestone *m, char *why, size_t n,
                int k)
{
    const char *start = p;
    int month, day;
    p = skip_space(p, end);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (!digits(&p, end, 2, &month) || p >= end || *p++ != '-' || !digits(&p, end, 2, &day) ||
        p >= end || *p++ != ':') {
        snprintf(why, n, "milestone %d \"%.*s\": write it as MM-DD:PERCENT, e.g. 03-31:30", k,
                 (int)(end - start), start);
        return -1;
    }
    if (!bw_cal_valid_date(year, month, day)) {
        snprintf(why, n, "milestone %d \"%.*s\": %02d-%02d does not exist in %d", k,
                 (int)(end - start), start, month, day, year);
        return -1;
    }
    int bp = percent_bp(p, end);
    if (bp < 0 || bp > 10000) {
        snprintf(why, n, "milestone %d \"%.*s\": %s", k, (int)(end - start), start,
                 bp < 0 ? "the percentage must be a number with at most two decimals"
                        : "a percentage over 100");
        return -1;
    }
    m->month = (uint8_t)month;
    m->day = (uint8_t)day;
    m->bp = (uint16_t)bp;
    return 0;
}

int bw_schedule_parse(const char *s, size_t len, int year, bw_schedule *out, char *why,
                      size_t whylen)
{
    const char *p = s, *end = s + len;
    bw_schedule sc = { .n = 0 };
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        if (sc.n == BW_MAX_MILESTONES) {
            snprintf(why, whylen, "more than %d milestones", BW_MAX_MILESTONES);
            return -1;
        }
        bw_milestone *m = &sc.m[sc.n];
        if (item(p, stop, year, m, why, whylen, sc.n + 1))
            return -1;
        if (sc.n > 0) {
            const bw_milestone *prev = &sc.m[sc.n - 1];
            if (m->month * 100 + m->day <= prev->month * 100 + prev->day) {
                snprintf(why, whylen, "milestone %d (%02d-%02d) is not after milestone %d (%02d-%02d); "
                         "dates must increase", sc.n + 1, m->month, m->day, sc.n, prev->month,
                         prev->day);
                return -1;
            }
            if (m->bp <= prev->bp) {
                snprintf(why, whylen, "milestone %d (%d.%02d%%) is not above milestone %d "
                         "(%d.%02d%%); percentages must increase", sc.n + 1, m->bp / 100,
                         m->bp % 100, sc.n, prev->bp / 100, prev->bp % 100);
                return -1;
            }
        }
        sc.n++;
        p = semi ? semi + 1 : end;
    }
    if (sc.n == 0) {
        snprintf(why, whylen, "no milestones; write e.g. 03-31:30;06-30:60;10-31:90;12-31:100");
        return -1;
    }
    if (sc.m[sc.n - 1].bp != 10000) {
        snprintf(why, whylen, "the last milestone is %d.%02d%%, under 100 %%; the plan must end at "
                 "100", sc.m[sc.n - 1].bp / 100, sc.m[sc.n - 1].bp % 100);
        return -1;
    }
    *out = sc;
    return 0;
}

char *bw_schedule_format(const bw_schedule *s, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n && o < len; i++) {
        const bw_milestone *m = &s->m[i];
        int w = m->bp % 100 ? snprintf(buf + o, len - o, "%s%02d-%02d:%d.%02d", i ? ";" : "",
                                       m->month, m->day, m->bp / 100, m->bp % 100)
                            : snprintf(buf + o, len - o, "%s%02d-%02d:%d", i ? ";" : "", m->month,
                                       m->day, m->bp / 100);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}
