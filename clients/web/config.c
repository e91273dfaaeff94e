/* config: budgetwatch-web.conf (config.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>
#include <ini.h>

#ifndef BWW_STATIC_DIR
#define BWW_STATIC_DIR "/usr/share/budgetwatch/web"
#endif

void bww_config_defaults(bww_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_addr, sizeof c->listen_addr, "127.0.0.1");
    c->port = 8680;
    snprintf(c->accounts, sizeof c->accounts, "/etc/budgetwatch/web-accounts");
    snprintf(c->static_dir, sizeof c->static_dir, "%s", BWW_STATIC_DIR);
    snprintf(c->chartjs_dir, sizeof c->chartjs_dir, "/usr/share/javascript/chart.js");
    c->session_ttl = 8 * 3600;
    snprintf(c->timezone, sizeof c->timezone, "Asia/Shanghai");
    snprintf(c->control, sizeof c->control, "ipc:///run/budgetwatch/control.sock");
    snprintf(c->alerts, sizeof c->alerts, "tcp://127.0.0.1:7602");
    c->timeout_ms = 5000;
}

typedef struct loader {
    bww_config *c;
    char *why;
    size_t whylen;
    const char *path;
    FILE *f;
    int line;                   /* the line inih is on: our reader counts */
} loader;

static int bad(loader *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(loader *l, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(l->why, l->whylen, "%s:%d: %s", l->path, line, msg);
    return 0;
}

static int copy(loader *l, int line, char *dst, size_t n, const char *name, const char *v)
{
    if (strlen(v) >= n)
        return bad(l, line, "%s is too long; at most %zu bytes", name, n - 1);
    snprintf(dst, n, "%s", v);
    return 1;
}

static int number(loader *l, int line, const char *name, const char *v, long long lo,
                  long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return bad(l, line, "%s must be a whole number in range, got \"%s\"", name, v);
    *out = n;
    return 1;
}

static int listen_value(loader *l, int line, const char *v)
{
    const char *colon = strrchr(v, ':');
    long long port;
    if (colon == NULL || (size_t)(colon - v) >= sizeof l->c->listen_addr || colon == v)
        return bad(l, line, "listen must be ADDRESS:PORT, e.g. 127.0.0.1:8680, got \"%s\"", v);
    if (!number(l, line, "the port of listen", colon + 1, 1, 65535, &port))
        return 0;
    snprintf(l->c->listen_addr, sizeof l->c->listen_addr, "%.*s", (int)(colon - v), v);
    l->c->port = (uint16_t)port;
    return 1;
}

static int on_value(void *user, const char *section, const char *name, const char *v)
{
    loader *l = user;
    int line = l->line;
    bww_config *c = l->c;
    long long n;
    if (strcmp(section, "web") == 0) {
        if (strcmp(name, "listen") == 0) return listen_value(l, line, v);
        if (strcmp(name, "accounts") == 0) return copy(l, line, c->accounts, sizeof c->accounts, name, v);
        if (strcmp(name, "static_dir") == 0) return copy(l, line, c->static_dir, sizeof c->static_dir, name, v);
        if (strcmp(name, "chartjs_dir") == 0) return copy(l, line, c->chartjs_dir, sizeof c->chartjs_dir, name, v);
        if (strcmp(name, "timezone") == 0) return copy(l, line, c->timezone, sizeof c->timezone, name, v);
        if (strcmp(name, "secure_cookies") == 0) {
            if (strcmp(v, "yes") && strcmp(v, "no") && strcmp(v, "true") && strcmp(v, "false"))
                return bad(l, line, "secure_cookies must be yes or no, got \"%s\"", v);
            c->secure_cookies = !strcmp(v, "yes") || !strcmp(v, "true");
            return 1;
        }
        if (strcmp(name, "session_ttl") == 0) {
            if (!number(l, line, name, v, 60, 30LL * 86400, &n))
                return 0;
            c->session_ttl = n;
            return 1;
        }
    } else if (strcmp(section, "daemon") == 0) {
        if (strcmp(name, "control") == 0) return copy(l, line, c->control, sizeof c->control, name, v);
        if (strcmp(name, "alerts") == 0) return copy(l, line, c->alerts, sizeof c->alerts, name, v);
        if (strcmp(name, "server_cert") == 0) return copy(l, line, c->server_cert, sizeof c->server_cert, name, v);
        if (strcmp(name, "key") == 0) return copy(l, line, c->key, sizeof c->key, name, v);
        if (strcmp(name, "server_key") == 0) return copy(l, line, c->server_key, sizeof c->server_key, name, v);
        if (strcmp(name, "public_key") == 0) return copy(l, line, c->public_key, sizeof c->public_key, name, v);
        if (strcmp(name, "secret_key") == 0) return copy(l, line, c->secret_key, sizeof c->secret_key, name, v);
        if (strcmp(name, "timeout") == 0) {
            if (!number(l, line, name, v, 100, 600000, &n))
                return 0;
            c->timeout_ms = (int)n;
            return 1;
        }
    } else if (strcmp(section, "notify") == 0) {
        if (strcmp(name, "control") == 0) {
            /* budgetwatch-notify serves its log only on a socket file (its [notify] query). */
            if (strncmp(v, "ipc://", 6) != 0 || v[6] == '\0')
                return bad(l, line, "[notify] control must be budgetwatch-notify's ipc:// query "
                           "endpoint (its [notify] query), got \"%s\"", v);
            return copy(l, line, c->notify_control, sizeof c->notify_control, name, v);
        }
    }
    return bad(l, line, "unknown setting [%s] %s; budgetwatch-web(8) lists the settings", section, name);
}

static char *read_line(char *str, int num, void *stream)
{
    loader *l = stream;
    l->line++;
    return fgets(str, num, l->f);
}

int bww_config_load(const char *path, bww_config *c, char *why, size_t whylen)
{
    loader l = { c, why, whylen, path, NULL, 0 };
    why[0] = '\0';
    l.f = fopen(path, "r");
    if (l.f == NULL) {
        snprintf(why, whylen, "%s: cannot read the configuration: %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(read_line, &l, on_value, &l);
    fclose(l.f);
    if (rc < 0) {
        snprintf(why, whylen, "%s: cannot read the configuration: out of memory", path);
        return -1;
    }
    if (rc > 0) {
        if (why[0] == '\0')
            snprintf(why, whylen, "%s:%d: not an INI line (expected [section] or name = value)",
                     path, rc);
        return -1;
    }
    return 0;
}

int bww_config_keys(bww_config *c, char *why, size_t whylen)
{
    if (c->server_cert[0]) {
        zcert_t *cert = zcert_load(c->server_cert);
        if (cert == NULL) {
            snprintf(why, whylen, "[daemon] server_cert %s: cannot read a CURVE certificate there "
                     "(the daemon's NAME.cert, as `budgetwatch keygen` writes it)", c->server_cert);
            return -1;
        }
        snprintf(c->server_key, sizeof c->server_key, "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
    }
    if (c->key[0]) {
        zcert_t *cert = zcert_load(c->key);
        if (cert == NULL || strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000") == 0) {
            zcert_destroy(&cert);
            snprintf(why, whylen, "[daemon] key %s: cannot read a secret CURVE key there (this "
                     "console's NAME.cert_secret from `budgetwatch keygen`, mode 0600; its public "
                     "NAME.cert goes in the daemon's supervisor_keys)", c->key);
            return -1;
        }
        snprintf(c->public_key, sizeof c->public_key, "%s", zcert_public_txt(cert));
        snprintf(c->secret_key, sizeof c->secret_key, "%s", zcert_secret_txt(cert));
        zcert_destroy(&cert);
    }
    if (c->server_key[0] && (!c->public_key[0] || !c->secret_key[0])) {
        snprintf(why, whylen, "[daemon] has the daemon's key but no key of this console: set key "
                 "(a NAME.cert_secret whose NAME.cert is in the daemon's supervisor_keys)");
        return -1;
    }
    return 0;
}
