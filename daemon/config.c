/* config: budgetwatchd's INI configuration over built-in defaults, read with
 * inih. Every problem is reported once as FILE:LINE: [section] key: what is
 * wrong; what to do — and a configuration with any problem is not used. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "money.h"

#define DEFAULT_MILESTONES "03-31:30;06-30:60;10-31:90;12-31:100"
#define MAX_KEYS 64
/* Beside the configuration file the service unit names. */
#define BW_KEYS_DIR "/etc/budgetwatch/keys"

typedef struct loader {
    bw_config *c;
    const char *file;
    FILE *f;
    int line;                       /* the line inih is on (our reader counts) */
    bool failed;
    bw_err *err;
    char seen[MAX_KEYS][64];        /* "section.key", to refuse duplicates */
    int nseen;
    char milestones[512];           /* validated after the year is known */
    int milestones_line;
} loader;

static int bad(loader *l, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(loader *l, const char *section, const char *key, const char *fmt, ...)
{
    if (l->failed)
        return 0;
    char what[BW_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    bw_err_set(l->err, "%s:%d: [%s] %s: %s", l->file, l->line, section, key, what);
    l->failed = true;
    return 0;   /* inih: 0 = error */
}

static void first_dir(const char *list, char *out, size_t len)
{
    size_t n = strcspn(list, ":");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), list);
}

void bw_config_defaults(bw_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->plan, sizeof c->plan, "%s",
             access(BW_SOURCE_PLAN, R_OK) == 0 ? BW_SOURCE_PLAN : BW_DEFAULT_PLAN);
    const char *sd = getenv("STATE_DIRECTORY"), *rd = getenv("RUNTIME_DIRECTORY");
    if (sd && *sd)
        first_dir(sd, c->state_dir, sizeof c->state_dir);
    else
        snprintf(c->state_dir, sizeof c->state_dir, ".");
    if (rd && *rd)
        first_dir(rd, c->runtime_dir, sizeof c->runtime_dir);
    else
        snprintf(c->runtime_dir, sizeof c->runtime_dir, "%s", c->state_dir);
    c->fiscal_year = 2022;
    snprintf(c->timezone, sizeof c->timezone, "Asia/Shanghai");
    c->clock = BW_CLOCK_WALL;
    c->future_tolerance = 300;
    snprintf(c->events_sub_prefixes[0], sizeof c->events_sub_prefixes[0], "disb.");
    c->n_prefixes = 1;
    snprintf(c->events_ack, sizeof c->events_ack, "tcp://127.0.0.1:7601");
    snprintf(c->alerts_pub, sizeof c->alerts_pub, "tcp://127.0.0.1:7602");
    snprintf(c->control, sizeof c->control, "ipc://%s/control.sock", c->runtime_dir);
    c->lag_warning_bp = 1000;
    c->lag_critical_bp = 2000;
    c->hysteresis_bp = 100;
    c->repeat_interval = 86400;
    c->heartbeat_interval = 5;
    c->burst_window = 86400;
    c->rush_bp = 3000;
    char why[128];
    bw_schedule_parse(DEFAULT_MILESTONES, strlen(DEFAULT_MILESTONES), 2022, &c->default_milestones,
                      why, sizeof why);
    c->default_target_bp = 9500;
    c->sync_full = true;
    c->integrity_check_interval = 86400;
    c->batch_max = 4096;
    c->max_message_bytes = 65536;
    c->max_dead_letters = 100000;
    snprintf(c->payment_keys, sizeof c->payment_keys, "%s/payment", BW_KEYS_DIR);
    snprintf(c->supervisor_keys, sizeof c->supervisor_keys, "%s/supervisor", BW_KEYS_DIR);
    snprintf(c->admin_keys, sizeof c->admin_keys, "%s/admin", BW_KEYS_DIR);
}

int bw_parse_duration(const char *s, int64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0)
        return -1;
    int64_t mult = 1;
    if (strcmp(end, "d") == 0)
        mult = 86400;
    else if (strcmp(end, "h") == 0)
        mult = 3600;
    else if (strcmp(end, "m") == 0)
        mult = 60;
    else if (strcmp(end, "s") != 0 && end[0] != '\0')
        return -1;
    return __builtin_mul_overflow((int64_t)v, mult, out) ? -1 : 0;
}

/* ---- value readers: each returns 0 (inih's "error") after reporting ---- */

static int copy(loader *l, const char *sec, const char *key, const char *v, char *dst, size_t n)
{
    if (strlen(v) >= n)
        return bad(l, sec, key, "the value is %zu bytes, at most %zu fit; shorten it", strlen(v), n - 1);
    if (v[0] == '\0')
        return bad(l, sec, key, "must not be empty");
    memcpy(dst, v, strlen(v) + 1);
    return 1;
}

static int integer(loader *l, const char *sec, const char *key, const char *v, int64_t lo,
                   int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || errno != 0 || x < lo || x > hi)
        return bad(l, sec, key, "\"%s\" is not a whole number from %lld to %lld", v, (long long)lo,
                   (long long)hi);
    *out = x;
    return 1;
}

/* Percentages and percentage points, with up to two decimals, as bp. */
static int points(loader *l, const char *sec, const char *key, const char *v, int32_t max_bp,
                  int32_t *out)
{
    int64_t bp;
    const char *why;
    if (bw_money_parse_yuan(v, strlen(v), &bp, &why) || bp > max_bp)
        return bad(l, sec, key, "\"%s\" is not a number from 0 to %d with at most two decimals", v,
                   max_bp / 100);
    *out = (int32_t)bp;
    return 1;
}

static int duration(loader *l, const char *sec, const char *key, const char *v, int64_t *out)
{
    if (bw_parse_duration(v, out))
        return bad(l, sec, key, "\"%s\" is not a duration; write e.g. 300, 90s, 5m, 24h or 2d", v);
    return 1;
}

static bool url_ok(const char *u)
{
    return strncmp(u, "tcp://", 6) == 0 || strncmp(u, "ipc://", 6) == 0 ||
           strncmp(u, "inproc://", 9) == 0;
}

static int url(loader *l, const char *sec, const char *key, const char *v, char *dst, size_t n)
{
    if (!url_ok(v))
        return bad(l, sec, key, "\"%s\" is not a tcp://, ipc:// or inproc:// address", v);
    return copy(l, sec, key, v, dst, n);
}

/* Splits a comma-separated list, trimming spaces; calls fn per item. */
static int each_item(loader *l, const char *sec, const char *key, const char *v,
                     int (*fn)(loader *, const char *, const char *, const char *, size_t))
{
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m > 0 && !fn(l, sec, key, p, m))
            return 0;
        p += n;
        if (*p == ',')
            p++;
    }
    return 1;
}

static int add_sub(loader *l, const char *sec, const char *key, const char *s, size_t n)
{
    bw_config *c = l->c;
    if (c->n_events_sub == BW_MAX_ENDPOINTS)
        return bad(l, sec, key, "more than %d endpoints", BW_MAX_ENDPOINTS);
    bw_endpoint *ep = &c->events_sub[c->n_events_sub];
    size_t skip = n > 5 && strncmp(s, "bind:", 5) == 0 ? 5 : n > 8 && strncmp(s, "connect:", 8) == 0 ? 8 : 0;
    if (skip == 0)
        return bad(l, sec, key, "\"%.*s\" must start with bind: or connect:", (int)n, s);
    if (n - skip >= sizeof ep->url)
        return bad(l, sec, key, "an address is too long");
    ep->bind = skip == 5;
    snprintf(ep->url, sizeof ep->url, "%.*s", (int)(n - skip), s + skip);
    if (!url_ok(ep->url))
        return bad(l, sec, key, "\"%s\" is not a tcp://, ipc:// or inproc:// address", ep->url);
    c->n_events_sub++;
    return 1;
}

static int add_prefix(loader *l, const char *sec, const char *key, const char *s, size_t n)
{
    bw_config *c = l->c;
    if (c->n_prefixes == BW_MAX_PREFIXES)
        return bad(l, sec, key, "more than %d prefixes", BW_MAX_PREFIXES);
    if (n >= sizeof c->events_sub_prefixes[0])
        return bad(l, sec, key, "a prefix is too long");
    snprintf(c->events_sub_prefixes[c->n_prefixes++], sizeof c->events_sub_prefixes[0], "%.*s",
             (int)n, s);
    return 1;
}

/* ---- sections ---- */

static int daemon_key(loader *l, const char *k, const char *v)
{
    bw_config *c = l->c;
    int64_t x = 0;     /* set by integer(); GCC -O2 cannot see it */
    if (!strcmp(k, "plan")) return copy(l, "daemon", k, v, c->plan, sizeof c->plan);
    if (!strcmp(k, "state_dir")) return copy(l, "daemon", k, v, c->state_dir, sizeof c->state_dir);
    if (!strcmp(k, "runtime_dir")) return copy(l, "daemon", k, v, c->runtime_dir, sizeof c->runtime_dir);
    if (!strcmp(k, "timezone")) return copy(l, "daemon", k, v, c->timezone, sizeof c->timezone);
    if (!strcmp(k, "future_tolerance")) return duration(l, "daemon", k, v, &c->future_tolerance);
    if (!strcmp(k, "fiscal_year")) {
        if (!integer(l, "daemon", k, v, 1971, 9999, &x))
            return 0;
        c->fiscal_year = (int)x;
        return 1;
    }
    if (!strcmp(k, "clock")) {
        if (strcmp(v, "wall") && strcmp(v, "event"))
            return bad(l, "daemon", k, "\"%s\" must be wall or event", v);
        c->clock = strcmp(v, "event") == 0 ? BW_CLOCK_EVENT : BW_CLOCK_WALL;
        return 1;
    }
    return -1;
}

static int endpoints_key(loader *l, const char *k, const char *v)
{
    bw_config *c = l->c;
    if (!strcmp(k, "events_ack")) return url(l, "endpoints", k, v, c->events_ack, sizeof c->events_ack);
    if (!strcmp(k, "alerts_pub")) return url(l, "endpoints", k, v, c->alerts_pub, sizeof c->alerts_pub);
    if (!strcmp(k, "control")) return url(l, "endpoints", k, v, c->control, sizeof c->control);
    if (!strcmp(k, "events_sub")) {
        c->n_events_sub = 0;
        return each_item(l, "endpoints", k, v, add_sub);
    }
    if (!strcmp(k, "events_sub_prefixes")) {
        c->n_prefixes = 0;
        return each_item(l, "endpoints", k, v, add_prefix);
    }
    return -1;
}

/* One band of `bands`: NAME:PP, NAME 1..32 bytes without ':' or ',' (UTF-8,
 * checked with the file), PP percentage points with up to two decimals,
 * more than 0 and more than the band before. */
static int add_band(loader *l, const char *sec, const char *key, const char *s, size_t n)
{
    bw_config *c = l->c;
    if (c->nbands == BW_MAX_BANDS)
        return bad(l, sec, key, "more than %d bands; merge some", BW_MAX_BANDS);
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return bad(l, sec, key, "\"%.*s\" is not NAME:PP (e.g. 黄:5); add the ':' and the "
                   "percentage points below the basis", (int)n, s);
    size_t len = (size_t)(colon - s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len > BW_BAND_NAME_MAX)
        return bad(l, sec, key, "band \"%.*s\": a name must be 1 to %d bytes", (int)n, s,
                   BW_BAND_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
            return bad(l, sec, key, "band \"%.*s\": a name may not hold control characters or "
                       "quotes", (int)len, s);
    const char *pp = colon + 1;
    size_t pplen = n - (size_t)(pp - s);
    while (pplen > 0 && (*pp == ' ' || *pp == '\t'))
        pp++, pplen--;
    int64_t bp;
    const char *why;
    if (pplen == 0 || bw_money_parse_yuan(pp, pplen, &bp, &why) || bp <= 0 || bp > 10000)
        return bad(l, sec, key, "band \"%.*s\": \"%.*s\" is not percentage points from 0.01 to "
                   "100 with at most two decimals", (int)len, s, (int)pplen, pp);
    bw_band *b = &c->bands[c->nbands];
    for (int i = 0; i < c->nbands; i++)
        if (strlen(c->bands[i].name) == len && memcmp(c->bands[i].name, s, len) == 0)
            return bad(l, sec, key, "band \"%.*s\" is named twice; give each band its own name",
                       (int)len, s);
    if (c->nbands > 0 && bp <= c->bands[c->nbands - 1].bp)
        return bad(l, sec, key, "band \"%.*s\" at %.*s pp is not further below the basis than "
                   "\"%s\" before it; list the bands from the mildest to the worst", (int)len, s,
                   (int)pplen, pp, c->bands[c->nbands - 1].name);
    memset(b, 0, sizeof *b);
    memcpy(b->name, s, len);
    b->bp = (int32_t)bp;
    c->nbands++;
    return 1;
}

static int alerts_key(loader *l, const char *k, const char *v)
{
    bw_config *c = l->c;
    int32_t bp = 0;    /* set by points(); GCC -O2 cannot see it */
    if (!strcmp(k, "lag_warning_pp")) return points(l, "alerts", k, v, 10000, &c->lag_warning_bp);
    if (!strcmp(k, "lag_critical_pp")) return points(l, "alerts", k, v, 10000, &c->lag_critical_bp);
    if (!strcmp(k, "hysteresis_pp")) return points(l, "alerts", k, v, 10000, &c->hysteresis_bp);
    if (!strcmp(k, "repeat_interval")) return duration(l, "alerts", k, v, &c->repeat_interval);
    if (!strcmp(k, "heartbeat_interval")) return duration(l, "alerts", k, v, &c->heartbeat_interval);
    if (!strcmp(k, "lag_basis")) {
        int b = bw_basis_parse(v);
        if (b < 0)
            return bad(l, "alerts", k, "\"%s\" must be plan, pace or both", v);
        c->lag_basis = (uint8_t)b;
        return 1;
    }
    if (!strcmp(k, "bands")) {
        c->nbands = 0;
        c->bands_line = l->line;
        if (!each_item(l, "alerts", k, v, add_band))
            return 0;
        if (c->nbands == 0)
            return bad(l, "alerts", k, "names no band; write e.g. 黄:5, 红一档:10, 红二档:20, "
                       "红三档:30, or leave the key out for lag_warning_pp and lag_critical_pp");
        return 1;
    }
    if (!strcmp(k, "stalled_days")) {
        int64_t days = 0;
        if (!integer(l, "alerts", k, v, 0, 366, &days))
            return 0;
        c->stalled_after = days * 86400;
        return 1;
    }
    if (!strcmp(k, "burst_payments")) {
        int64_t n = 0;
        if (!integer(l, "alerts", k, v, 0, BW_BURST_MAX, &n))
            return 0;
        c->burst_payments = (int32_t)n;
        return 1;
    }
    if (!strcmp(k, "burst_window")) {
        if (!duration(l, "alerts", k, v, &c->burst_window))
            return 0;
        return c->burst_window > 0 ? 1 : bad(l, "alerts", k, "must be more than 0");
    }
    if (!strcmp(k, "year_end_rush_days")) {
        int64_t days = 0;
        if (!integer(l, "alerts", k, v, 0, 365, &days))
            return 0;
        c->rush_window = days * 86400;
        return 1;
    }
    if (!strcmp(k, "year_end_rush_pct"))
        return points(l, "alerts", k, v, 10000, &c->rush_bp);
    if (!strcmp(k, "large_payment_pct"))
        return points(l, "alerts", k, v, 10000, &c->large_payment_bp);
    if (!strcmp(k, "large_payment_wan")) {
        const char *why;
        if (bw_money_parse_wan(v, strlen(v), &c->large_payment_fen, &why))
            return bad(l, "alerts", k, "\"%s\" is not an amount in 万元 (%s); write e.g. 500 or 0 "
                       "for none", v, why);
        return 1;
    }
    if (!strcmp(k, "default_target_pct")) {
        if (!points(l, "alerts", k, v, 10000, &bp))
            return 0;
        if (bp == 0)
            return bad(l, "alerts", k, "must be more than 0");
        c->default_target_bp = (uint16_t)bp;
        return 1;
    }
    if (!strcmp(k, "default_milestones")) {
        l->milestones_line = l->line;
        return copy(l, "alerts", k, v, l->milestones, sizeof l->milestones);
    }
    return -1;
}

static int store_key(loader *l, const char *k, const char *v)
{
    int64_t x = 0;     /* set by integer(); GCC -O2 cannot see it */
    if (!strcmp(k, "synchronous")) {
        if (strcmp(v, "normal") && strcmp(v, "full"))
            return bad(l, "store", k, "\"%s\" must be normal or full", v);
        l->c->sync_full = strcmp(v, "full") == 0;
        return 1;
    }
    if (!strcmp(k, "integrity_check_interval"))
        return duration(l, "store", k, v, &l->c->integrity_check_interval);
    if (!strcmp(k, "batch_max")) {
        if (!integer(l, "store", k, v, 1, 1000000, &x))
            return 0;
        l->c->batch_max = (uint32_t)x;
        return 1;
    }
    return -1;
}

static int limits_key(loader *l, const char *k, const char *v)
{
    if (!strcmp(k, "max_message_bytes"))
        return integer(l, "limits", k, v, 256, 64 * 1024 * 1024, &l->c->max_message_bytes);
    if (!strcmp(k, "max_dead_letters"))
        return integer(l, "limits", k, v, 0, INT64_C(1000000000), &l->c->max_dead_letters);
    return -1;
}

static int security_key(loader *l, const char *k, const char *v)
{
    bw_config *c = l->c;
    if (!strcmp(k, "server_key"))
        return copy(l, "security", k, v, c->server_key, sizeof c->server_key);
    if (!strcmp(k, "payment_keys"))
        return copy(l, "security", k, v, c->payment_keys, sizeof c->payment_keys);
    if (!strcmp(k, "supervisor_keys"))
        return copy(l, "security", k, v, c->supervisor_keys, sizeof c->supervisor_keys);
    if (!strcmp(k, "admin_keys"))
        return copy(l, "security", k, v, c->admin_keys, sizeof c->admin_keys);
    return -1;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    loader *l = user;
    static const struct {
        const char *name;
        int (*fn)(loader *, const char *, const char *);
    } sections[] = { { "daemon", daemon_key }, { "endpoints", endpoints_key },
                     { "alerts", alerts_key }, { "store", store_key }, { "limits", limits_key },
                     { "security", security_key } };
    if (l->failed)
        return 1;
    char id[64];
    snprintf(id, sizeof id, "%s.%s", section, key);
    for (int i = 0; i < l->nseen; i++)
        if (strcmp(l->seen[i], id) == 0)
            return bad(l, section, key, "given twice; keep one");
    if (l->nseen < MAX_KEYS)
        snprintf(l->seen[l->nseen++], sizeof l->seen[0], "%s", id);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (strcmp(section, sections[i].name) != 0)
            continue;
        int rc = sections[i].fn(l, key, value);
        return rc >= 0 ? rc : bad(l, section, key, "unknown key; see budgetwatch.conf(5)");
    }
    return bad(l, section, key, "unknown section [%s]; the sections are [daemon], [endpoints], "
               "[alerts], [store], [limits] and [security]", section);
}

/* inih's line reader, counting lines so each message can name its line. */
static char *read_line(char *str, int num, void *stream)
{
    loader *l = stream;
    if (fgets(str, num, l->f) == NULL)
        return NULL;
    l->line++;
    size_t n = strlen(str);
    if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(l->f)) {
        bad(l, "?", "?", "line is longer than %d bytes", num - 2);
        int ch;
        while ((ch = fgetc(l->f)) != EOF && ch != '\n')
            ;
    }
    return str;
}

/* CURVE is a property of a socket, not of one endpoint: with it on, a tcp://
 * socket is a CURVE server, and the daemon only ever serves. */
static int check_curve(loader *l)
{
    bw_config *c = l->c;
    if (c->server_key[0] == '\0')
        return 0;
    bool tcp = false, other = false;
    for (int i = 0; i < c->n_events_sub; i++) {
        const bw_endpoint *ep = &c->events_sub[i];
        bool t = strncmp(ep->url, "tcp://", 6) == 0;
        if (t && !ep->bind)
            return bw_err_set(l->err, "%s: [endpoints] events_sub = connect:%s cannot be "
                              "authenticated: with [security] server_key set, the daemon only "
                              "accepts CURVE clients; bind it (bind:tcp://...) and let the payment "
                              "system connect", l->file, ep->url);
        tcp |= t;
        other |= !t;
    }
    if (tcp && other)
        return bw_err_set(l->err, "%s: [endpoints] events_sub mixes tcp:// with ipc:// or "
                          "inproc:// endpoints; with [security] server_key set every endpoint of "
                          "a tcp:// socket needs CURVE; keep only tcp:// ones, or only local ones",
                          l->file);
    return 0;
}

static int check(loader *l)
{
    bw_config *c = l->c;
    char why[256];
    if (l->milestones[0]) {
        l->line = l->milestones_line;
        if (bw_schedule_parse(l->milestones, strlen(l->milestones), c->fiscal_year,
                              &c->default_milestones, why, sizeof why)) {
            bad(l, "alerts", "default_milestones", "%s", why);
            return -1;
        }
    } else if (bw_schedule_parse(DEFAULT_MILESTONES, strlen(DEFAULT_MILESTONES), c->fiscal_year,
                                 &c->default_milestones, why, sizeof why)) {
        return bw_err_set(l->err, "%s: the default milestones do not fit fiscal year %d: %s",
                          l->file, c->fiscal_year, why);
    }
    if (c->lag_warning_bp >= c->lag_critical_bp)
        return bw_err_set(l->err, "%s: [alerts] lag_warning_pp must be below lag_critical_pp",
                          l->file);
    if (c->nbands == 0 && c->hysteresis_bp >= c->lag_warning_bp)
        return bw_err_set(l->err, "%s: [alerts] hysteresis_pp must be below lag_warning_pp", l->file);
    if (c->nbands > 0 && c->hysteresis_bp >= c->bands[0].bp)
        return bw_err_set(l->err, "%s:%d: [alerts] bands: the first band \"%s\" must lie further "
                          "below the basis than hysteresis_pp; raise it or lower hysteresis_pp",
                          l->file, c->bands_line, c->bands[0].name);
    if (c->heartbeat_interval <= 0)
        return bw_err_set(l->err, "%s: [alerts] heartbeat_interval must be more than 0", l->file);
    return check_curve(l);
}

int bw_config_load(bw_config *c, const char *path, bw_err *err)
{
    loader *l = calloc(1, sizeof *l);
    if (l == NULL)
        return bw_err_set(err, "%s: out of memory", path);
    bw_config work = *c;
    bool control_default = strstr(c->control, "/control.sock") != NULL;
    *l = (loader){ .c = &work, .file = path, .err = err };
    l->f = fopen(path, "r");
    if (l->f == NULL) {
        bw_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        free(l);
        return -1;
    }
    int line = ini_parse_stream(read_line, l, on_key, l);
    fclose(l->f);
    int rc = 0;
    if (line != 0 && !l->failed) {
        bw_err_set(err, "%s:%d: not a [section] or a key = value line", path, line);
        rc = -1;
    } else if (l->failed || check(l)) {
        rc = -1;
    }
    free(l);
    if (rc)
        return -1;
    /* The control socket follows a configured runtime_dir unless set itself. */
    if (control_default && strcmp(work.control, c->control) == 0)
        snprintf(work.control, sizeof work.control, "ipc://%s/control.sock", work.runtime_dir);
    *c = work;
    return 0;
}
