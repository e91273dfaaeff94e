/* config: the notifier's INI configuration (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <czmq.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct loader {
    bwn_config *c;
    FILE *f;
    int line;
    bool failed;
    char *err;
    char section[128];
    int kind;                   /* 0 notify, 1 receiver, 2 route */
} loader;

/* The message goes in err, cut to BWN_ERR_MAX if it must be. */
static void seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, BWN_ERR_MAX, fmt, ap);
    va_end(ap);
}

static int bad(loader *l, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(loader *l, const char *section, const char *key, const char *fmt, ...)
{
    if (l->failed)
        return 0;
    char what[BWN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    seterr(l->err, "%s:%d: [%s] %s: %s", l->c->file, l->line, section, key, what);
    l->failed = true;
    return 0;
}

int64_t bwn_config_duration(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0)
        return -1;
    static const struct { const char *u; long long ms; } units[] = {
        { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].u))
            return v > INT64_MAX / units[i].ms ? -1 : (int64_t)(v * units[i].ms);
    return -1;
}

static int copy(loader *l, const char *sec, const char *key, const char *v, char *dst, size_t len)
{
    if (strlen(v) >= len)
        return bad(l, sec, key, "longer than %zu bytes; shorten it", len - 1);
    snprintf(dst, len, "%s", v);
    return 1;
}

static int duration(loader *l, const char *sec, const char *key, const char *v, int64_t *out)
{
    int64_t d = bwn_config_duration(v);
    if (d < 0)
        return bad(l, sec, key, "\"%s\" is not a duration; write e.g. 30s, 500ms, 5m, 2h or 1d", v);
    *out = d;
    return 1;
}

/* "a, b ,c" into words; each must be non-empty. */
static int words(loader *l, const char *sec, const char *key, const char *v, bwn_words *w)
{
    w->n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (w->n == BWN_LIST_MAX)
            return bad(l, sec, key, "more than %d entries; split the route in two", BWN_LIST_MAX);
        if ((size_t)(t - p) >= BWN_WORD_MAX)
            return bad(l, sec, key, "an entry is longer than %d bytes", BWN_WORD_MAX - 1);
        snprintf(w->w[w->n++], BWN_WORD_MAX, "%.*s", (int)(t - p), p);
        p = e;
    }
    return 1;
}

static int boolean(loader *l, const char *sec, const char *key, const char *v, bool *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return bad(l, sec, key, "\"%s\" is not yes or no", v);
    return 1;
}

static int number(loader *l, const char *sec, const char *key, const char *v, long long lo,
                  long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || errno || n < lo || n > hi)
        return bad(l, sec, key, "\"%s\" is not a whole number from %lld to %lld", v, lo, hi);
    *out = n;
    return 1;
}

static int notify_key(loader *l, const char *sec, const char *key, const char *v)
{
    bwn_config *c = l->c;
    if (!strcmp(key, "alerts")) return copy(l, sec, key, v, c->alerts, sizeof c->alerts);
    if (!strcmp(key, "control")) return copy(l, sec, key, v, c->control, sizeof c->control);
    if (!strcmp(key, "outbox")) return copy(l, sec, key, v, c->outbox, sizeof c->outbox);
    if (!strcmp(key, "query")) {
        /* The query endpoint has no CURVE of its own: ipc:// only, where the
         * socket file's mode (0660) says who may read the log. */
        if (strncmp(v, "ipc://", 6) != 0 || v[6] == '\0' || v[6] == '@')
            return bad(l, sec, key, "\"%s\" is not an ipc:// path; the log is served only on a "
                       "socket file (ipc:///run/budgetwatch/notify.sock), whose group may read it", v);
        return copy(l, sec, key, v, c->query, sizeof c->query);
    }
    if (!strcmp(key, "holidays")) return copy(l, sec, key, v, c->holidays_file, sizeof c->holidays_file);
    if (!strcmp(key, "server_key") || !strcmp(key, "key")) {
        /* Certificates in czmq's format, as `budgetwatch keygen` writes them
         * and budgetwatchd reads them: the secret stays in its 0600 file. */
        bool secret = !strcmp(key, "key");
        zcert_t *cert = zcert_load(v);
        if (cert == NULL)
            return bad(l, sec, key, "cannot read a CURVE certificate at %s (czmq's format, as "
                       "`budgetwatch keygen` writes: %s)", v, secret ? "this notifier's NAME.cert_secret"
                                                                   : "the daemon's public .cert");
        bool none = !strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000");
        if (secret && none) {
            zcert_destroy(&cert);
            return bad(l, sec, key, "%s holds no secret key; give the NAME.cert_secret file", v);
        }
        snprintf(secret ? c->public_key : c->server_key, 41, "%s", zcert_public_txt(cert));
        if (secret)
            snprintf(c->secret_key, 41, "%s", zcert_secret_txt(cert));
        zcert_destroy(&cert);
        return 1;
    }
    if (!strcmp(key, "max_age")) return duration(l, sec, key, v, &c->max_age_ms);
    if (!strcmp(key, "min_backoff")) return duration(l, sec, key, v, &c->min_backoff_ms);
    if (!strcmp(key, "max_backoff")) return duration(l, sec, key, v, &c->max_backoff_ms);
    if (!strcmp(key, "tick")) return duration(l, sec, key, v, &c->tick_ms);
    if (!strcmp(key, "catchup_page")) {
        long long n;
        if (!number(l, sec, key, v, 1, 100000, &n))
            return 0;
        c->catchup_page = (int)n;
        return 1;
    }
    if (!strcmp(key, "utc_offset")) {
        int h, m = 0;
        char sign;
        if (sscanf(v, "%c%d:%d", &sign, &h, &m) < 2 || (sign != '+' && sign != '-') || h > 14 || m > 59)
            return bad(l, sec, key, "\"%s\" is not an offset like +08:00", v);
        c->utc_offset_s = (sign == '-' ? -1 : 1) * (h * 3600 + m * 60);
        return 1;
    }
    return bad(l, sec, key, "unknown key; [notify] takes alerts, control, server_key, key, outbox, query, utc_offset, max_age, min_backoff, max_backoff, tick, "
               "catchup_page, holidays");
}

static int rate(loader *l, const char *sec, const char *key, const char *v, bwn_receiver *r)
{
    if (!strcmp(v, "0") || !strcmp(v, "none")) {
        r->rate_max = 0;
        return 1;
    }
    char *slash = strchr(v, '/');
    long long n;
    char num[32];
    if (slash == NULL || (size_t)(slash - v) >= sizeof num)
        return bad(l, sec, key, "\"%s\" is not COUNT/DURATION, e.g. 20/1m", v);
    snprintf(num, sizeof num, "%.*s", (int)(slash - v), v);
    int64_t w = bwn_config_duration(slash + 1);
    if (!number(l, sec, key, num, 1, 100000, &n))
        return 0;
    if (w <= 0)
        return bad(l, sec, key, "\"%s\" is not COUNT/DURATION, e.g. 20/1m", v);
    r->rate_max = (int)n;
    r->rate_window_ms = w;
    return 1;
}

static void receiver_defaults(bwn_receiver *r, bwn_rtype t)
{
    r->type = t;
    bool robot = t == BWN_WECOM || t == BWN_DINGTALK;
    r->rate_max = robot ? 20 : 0;
    r->rate_window_ms = 60000;
    r->max_bytes = t == BWN_WECOM ? 4096 : t == BWN_DINGTALK ? 4096 : 65536;
    r->markdown = true;
    r->limited_ms = t == BWN_DINGTALK ? 600000 : 60000;
    r->timeout_ms = 10000;
    r->tls = BWN_TLS_NONE;
    r->tls_verify = true;
    r->resolve_timeout_ms = 300000;
    snprintf(r->sign_header, sizeof r->sign_header, "X-Budgetwatch-Signature");
}

static int receiver_key(loader *l, const char *sec, const char *key, const char *v)
{
    bwn_receiver *r = &l->c->receivers[l->c->nreceivers - 1];
    if (!strcmp(key, "type")) {
        int t = bwn_rtype_parse(v);
        if (t < 0)
            return bad(l, sec, key, "\"%s\" is no receiver type; use webhook, wecom, dingtalk, "
                       "alertmanager or email", v);
        if (r->type != BWN_RTYPES)
            return bad(l, sec, key, "given twice; a receiver has one type");
        char name[64];
        int line = r->line;
        snprintf(name, sizeof name, "%s", r->name);
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        r->line = line;
        receiver_defaults(r, (bwn_rtype)t);
        return 1;
    }
    if (r->type == BWN_RTYPES)
        return bad(l, sec, key, "the section must start with type = (webhook, wecom, dingtalk, "
                   "alertmanager or email)");
    if (!strcmp(key, "url")) return copy(l, sec, key, v, r->url, sizeof r->url);
    if (!strcmp(key, "secret")) return copy(l, sec, key, v, r->secret, sizeof r->secret);
    if (!strcmp(key, "sign_header")) return copy(l, sec, key, v, r->sign_header, sizeof r->sign_header);
    if (!strcmp(key, "from")) return copy(l, sec, key, v, r->from, sizeof r->from);
    if (!strcmp(key, "to")) return copy(l, sec, key, v, r->to, sizeof r->to);
    if (!strcmp(key, "username")) return copy(l, sec, key, v, r->username, sizeof r->username);
    if (!strcmp(key, "password")) return copy(l, sec, key, v, r->password, sizeof r->password);
    if (!strcmp(key, "rate_limit")) return rate(l, sec, key, v, r);
    if (!strcmp(key, "rate_limited_wait")) return duration(l, sec, key, v, &r->limited_ms);
    if (!strcmp(key, "timeout")) return duration(l, sec, key, v, &r->timeout_ms);
    if (!strcmp(key, "resolve_timeout")) return duration(l, sec, key, v, &r->resolve_timeout_ms);
    if (!strcmp(key, "tls_verify")) return boolean(l, sec, key, v, &r->tls_verify);
    if (!strcmp(key, "ca_file")) {
        /* Checked here, so --check says so, not the first delivery. */
        if (access(v, R_OK) != 0)
            return bad(l, sec, key, "cannot read \"%s\" (%s); give a PEM file of the CA "
                       "certificates that signed the server's", v, strerror(errno));
        return copy(l, sec, key, v, r->ca_file, sizeof r->ca_file);
    }
    if (!strcmp(key, "format")) {
        if (strcmp(v, "markdown") && strcmp(v, "text"))
            return bad(l, sec, key, "\"%s\": use markdown or text", v);
        r->markdown = !strcmp(v, "markdown");
        if (r->type == BWN_WECOM)
            r->max_bytes = r->markdown ? 4096 : 2048;
        return 1;
    }
    if (!strcmp(key, "max_bytes")) {
        long long n;
        if (!number(l, sec, key, v, 256, 1 << 20, &n))
            return 0;
        r->max_bytes = (size_t)n;
        return 1;
    }
    if (!strcmp(key, "tls")) {
        if (!strcmp(v, "none")) r->tls = BWN_TLS_NONE;
        else if (!strcmp(v, "starttls")) r->tls = BWN_TLS_STARTTLS;
        else if (!strcmp(v, "tls")) r->tls = BWN_TLS_TLS;
        else return bad(l, sec, key, "\"%s\": use none, starttls or tls", v);
        return 1;
    }
    return bad(l, sec, key, "unknown key for a receiver; see budgetwatch-notify.conf(5)");
}

static int parse_hhmm(const char *s, int *min)
{
    int h, m;
    char tail;
    if (sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m))
        return -1;
    *min = h * 60 + m;
    return 0;
}

static int day_bits(const char *s, unsigned *bits)
{
    static const char *const d[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
    for (int i = 0; i < 7; i++)
        if (!strcmp(s, d[i])) {
            *bits |= 1u << i;
            return 0;
        }
    if (!strcmp(s, "weekend")) { *bits |= 1u | 1u << 6; return 0; }
    if (!strcmp(s, "weekdays")) { *bits |= 0x3Eu; return 0; }
    return -1;
}

/* mute = 22:00-08:00 mon,tue ; weekend ; holidays */
static int mute(loader *l, const char *sec, const char *key, const char *v, bwn_route *r)
{
    bwn_words parts;
    char copyv[1024];
    snprintf(copyv, sizeof copyv, "%s", v);
    for (char *p = copyv; *p; p++)
        if (*p == ';')
            *p = ',';
    if (!words(l, sec, key, copyv, &parts))
        return 0;
    for (int i = 0; i < parts.n; i++) {
        char *w = parts.w[i];
        if (!strcmp(w, "holidays")) {
            r->mute_holidays = true;
            continue;
        }
        if (r->nmute == BWN_MUTE_MAX)
            return bad(l, sec, key, "more than %d windows", BWN_MUTE_MAX);
        bwn_mute m = { 0, 1440, 0 };
        char *sp = strchr(w, ' ');
        char *days = NULL;
        if (sp) {
            *sp = '\0';
            days = sp + 1;
        }
        char *dash = strchr(w, '-');
        if (dash) {
            *dash = '\0';
            if (parse_hhmm(w, &m.from) || parse_hhmm(dash + 1, &m.to) || m.from == m.to)
                return bad(l, sec, key, "\"%s\" is not a window like 22:00-08:00 [days]", parts.w[i]);
        } else {
            days = w;
        }
        if (days) {
            for (char *t = strtok(days, " +"); t; t = strtok(NULL, " +"))
                if (day_bits(t, &m.days))
                    return bad(l, sec, key, "\"%s\" is no day; use sun..sat, weekend or weekdays", t);
        }
        r->mute[r->nmute++] = m;
    }
    return 1;
}

static int route_key(loader *l, const char *sec, const char *key, const char *v)
{
    bwn_route *r = &l->c->routes[l->c->nroutes - 1];
    if (!strcmp(key, "unit")) return copy(l, sec, key, v, r->unit, sizeof r->unit);
    if (!strcmp(key, "project")) return words(l, sec, key, v, &r->projects);
    if (!strcmp(key, "kind")) return words(l, sec, key, v, &r->kinds);
    if (!strcmp(key, "band")) return words(l, sec, key, v, &r->bands);
    if (!strcmp(key, "mention")) return words(l, sec, key, v, &r->mention);
    if (!strcmp(key, "severity")) {
        if (!words(l, sec, key, v, &r->severities))
            return 0;
        for (int i = 0; i < r->severities.n; i++)
            if (strcmp(r->severities.w[i], "warning") && strcmp(r->severities.w[i], "critical"))
                return bad(l, sec, key, "\"%s\": severities are warning and critical", r->severities.w[i]);
        return 1;
    }
    if (!strcmp(key, "receivers")) {
        r->receivers_line = l->line;
        return words(l, sec, key, v, &r->receivers);
    }
    if (!strcmp(key, "group_by")) {
        if (!words(l, sec, key, v, &r->group_by))
            return 0;
        for (int i = 0; i < r->group_by.n; i++) {
            const char *g = r->group_by.w[i];
            if (strcmp(g, "unit") && strcmp(g, "project") && strcmp(g, "kind") &&
                strcmp(g, "severity") && strcmp(g, "band"))
                return bad(l, sec, key, "\"%s\": group by unit, project, kind, severity or band", g);
        }
        return 1;
    }
    if (!strcmp(key, "group_wait")) return duration(l, sec, key, v, &r->group_wait_ms);
    if (!strcmp(key, "group_interval")) return duration(l, sec, key, v, &r->group_interval_ms);
    if (!strcmp(key, "repeat")) {
        if (!strcmp(v, "daemon")) r->repeat = true;
        else if (!strcmp(v, "none")) r->repeat = false;
        else return bad(l, sec, key, "\"%s\": use daemon (reminders as the daemon sends them) or none", v);
        return 1;
    }
    if (!strcmp(key, "mute")) return mute(l, sec, key, v, r);
    return bad(l, sec, key, "unknown key for a route; see budgetwatch-notify.conf(5)");
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    loader *l = user;
    if (l->failed)
        return 0;
    bwn_config *c = l->c;
    if (key == NULL) {              /* a new section (INI_CALL_HANDLER_ON_NEW_SECTION) */
        return 1;
    }
    if (strcmp(section, l->section) != 0) {
        snprintf(l->section, sizeof l->section, "%s", section);
        if (!strcmp(section, "notify")) {
            l->kind = 0;
        } else if (!strncmp(section, "receiver ", 9)) {
            const char *name = section + 9;
            if (!valid_name(name))
                return bad(l, section, key, "a receiver's name is letters, digits, - _ and .");
            if (bwn_config_receiver(c, name) >= 0)
                return bad(l, section, key, "a second receiver named %s; names must differ", name);
            if (c->nreceivers == BWN_RECEIVERS_MAX)
                return bad(l, section, key, "more than %d receivers", BWN_RECEIVERS_MAX);
            bwn_receiver *r = &c->receivers[c->nreceivers++];
            memset(r, 0, sizeof *r);
            snprintf(r->name, sizeof r->name, "%s", name);
            r->line = l->line;
            r->type = BWN_RTYPES;
            l->kind = 1;
        } else if (!strncmp(section, "route ", 6)) {
            const char *name = section + 6;
            if (!valid_name(name))
                return bad(l, section, key, "a route's name is letters, digits, - _ and .");
            if (c->nroutes == BWN_ROUTES_MAX)
                return bad(l, section, key, "more than %d routes", BWN_ROUTES_MAX);
            bwn_route *r = &c->routes[c->nroutes++];
            memset(r, 0, sizeof *r);
            snprintf(r->name, sizeof r->name, "%s", name);
            r->line = l->line;
            r->group_wait_ms = 30000;
            r->group_interval_ms = 300000;
            r->repeat = true;
            l->kind = 2;
        } else {
            return bad(l, section, key, "unknown section; use [notify], [receiver NAME] or [route NAME]");
        }
    }
    switch (l->kind) {
    case 0: return notify_key(l, section, key, value);
    case 1: return receiver_key(l, section, key, value);
    default: return route_key(l, section, key, value);
    }
}

static char *read_line(char *buf, int n, void *stream)
{
    loader *l = stream;
    char *r = fgets(buf, n, l->f);
    if (r)
        l->line++;
    return r;
}

int bwn_config_receiver(const bwn_config *c, const char *name)
{
    for (int i = 0; i < c->nreceivers; i++)
        if (!strcmp(c->receivers[i].name, name))
            return i;
    return -1;
}

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* Days from 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static int load_holidays(bwn_config *c, char *err)
{
    if (!c->holidays_file[0])
        return 0;
    FILE *f = fopen(c->holidays_file, "r");
    if (f == NULL) {
        seterr(err, "%s: [notify] holidays: cannot open %s: %s", c->file,
                 c->holidays_file, strerror(errno));
        return -1;
    }
    char line[256];
    int ln = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        int y, m, d;
        char tail[8] = "";
        if (sscanf(p, "%d-%d-%d%7s", &y, &m, &d, tail) < 3 || m < 1 || m > 12 || d < 1 || d > 31 ||
            (tail[0] && tail[0] != '#')) {
            seterr(err, "%s:%d: not a date YYYY-MM-DD (one a line, # comments)",
                     c->holidays_file, ln);
            fclose(f);
            return -1;
        }
        if (c->nholidays == cap) {
            cap = cap ? cap * 2 : 64;
            int32_t *h = realloc(c->holidays, (size_t)cap * sizeof *h);
            if (h == NULL) {
                fclose(f);
                seterr(err, "out of memory reading %s", c->holidays_file);
                return -1;
            }
            c->holidays = h;
        }
        c->holidays[c->nholidays++] = days_from_civil(y, m, d);
    }
    fclose(f);
    qsort(c->holidays, (size_t)c->nholidays, sizeof *c->holidays, cmp_i32);
    return 0;
}

static int check(bwn_config *c, char *err)
{
    if (!c->server_key[0] != !c->secret_key[0]) {
        seterr(err, "%s: [notify] server_key, key: CURVE needs both (the daemon's public "
               "certificate and this notifier's NAME.cert_secret, a supervisor key)", c->file);
        return -1;
    }
    if (!c->alerts[0] || !c->control[0]) {
        seterr(err, "%s: [notify] alerts and control: both are needed (the daemon's "
                 "alerts_pub and control endpoints)", c->file);
        return -1;
    }
    for (int i = 0; i < c->nreceivers; i++) {
        bwn_receiver *r = &c->receivers[i];
        if (r->type == BWN_RTYPES) {
            seterr(err, "%s:%d: [receiver %s] type: missing; use webhook, wecom, "
                     "dingtalk, alertmanager or email", c->file, r->line, r->name);
            return -1;
        }
        if (!r->url[0]) {
            seterr(err, "%s:%d: [receiver %s] url: missing; a %s receiver needs the "
                     "URL it posts to%s", c->file, r->line, r->name, bwn_rtype_name(r->type),
                     r->type == BWN_EMAIL ? " (smtp://host:port or smtps://host:port)" : "");
            return -1;
        }
        if (r->type == BWN_EMAIL && (!r->from[0] || !r->to[0])) {
            seterr(err, "%s:%d: [receiver %s] from, to: an email receiver needs both",
                     c->file, r->line, r->name);
            return -1;
        }
        if (r->type == BWN_DINGTALK && !r->secret[0]) {
            seterr(err, "%s:%d: [receiver %s] secret: missing; a DingTalk robot with "
                     "加签 (the only safe setting) gives a secret starting SEC", c->file, r->line, r->name);
            return -1;
        }
    }
    for (int i = 0; i < c->nroutes; i++) {
        bwn_route *r = &c->routes[i];
        if (r->receivers.n == 0) {
            seterr(err, "%s:%d: [route %s] receivers: missing; name one or more "
                     "[receiver NAME] sections", c->file, r->line, r->name);
            return -1;
        }
        for (int k = 0; k < r->receivers.n; k++)
            if (bwn_config_receiver(c, r->receivers.w[k]) < 0) {
                seterr(err, "%s:%d: [route %s] receivers: no [receiver %s] in the file",
                         c->file, r->receivers_line, r->name, r->receivers.w[k]);
                return -1;
            }
    }
    if (c->min_backoff_ms > c->max_backoff_ms) {
        seterr(err, "%s: [notify] min_backoff is above max_backoff", c->file);
        return -1;
    }
    return load_holidays(c, err);
}

int bwn_config_load(const char *file, bwn_config *c, char *err)
{
    memset(c, 0, sizeof *c);
    snprintf(c->file, sizeof c->file, "%s", file);
    snprintf(c->outbox, sizeof c->outbox, "/var/lib/budgetwatch-notify/outbox.db");
    c->utc_offset_s = 8 * 3600;
    c->max_age_ms = 86400000;
    c->min_backoff_ms = 1000;
    c->max_backoff_ms = 300000;
    c->tick_ms = 100;
    c->catchup_page = 1000;
    loader l = { .c = c, .err = err };
    l.f = fopen(file, "r");
    if (l.f == NULL) {
        seterr(err, "%s: cannot open: %s", file, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(read_line, &l, on_key, &l);
    fclose(l.f);
    if (!l.failed && rc > 0)
        seterr(err, "%s:%d: not a line of an INI file (KEY = VALUE, [section] or "
                 "; comment)", file, rc);
    if (l.failed || rc != 0 || check(c, err)) {
        bwn_config_free(c);
        return -1;
    }
    return 0;
}

void bwn_config_free(bwn_config *c)
{
    free(c->holidays);
    c->holidays = NULL;
    c->nholidays = 0;
}
