/* session: sessions, CSRF tokens and the login rate limit (session.h). */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void bww_sessions_init(bww_sessions *s, int64_t ttl)
{
    memset(s, 0, sizeof *s);
    s->ttl = ttl > 0 ? ttl : 8 * 3600;
}

void bww_sessions_free(bww_sessions *s)
{
    sodium_memzero(s->v, s->n * sizeof *s->v);
    free(s->v);
    free(s->a);
    memset(s, 0, sizeof *s);
}

static void random_hex(char out[BWW_TOKEN_HEX + 1])
{
    unsigned char raw[BWW_TOKEN_HEX / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, BWW_TOKEN_HEX + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

/* Drops expired sessions, so the table holds only live ones. */
static void sweep(bww_sessions *s, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].expires > now)
            s->v[k++] = s->v[i];
    s->n = k;
}

const bww_session *bww_session_new(bww_sessions *s, const char *user, bww_role role, int64_t now)
{
    sweep(s, now);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        bww_session *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    bww_session *se = &s->v[s->n++];
    memset(se, 0, sizeof *se);
    random_hex(se->token);
    random_hex(se->csrf);
    snprintf(se->user, sizeof se->user, "%s", user);
    se->role = role;
    se->expires = now + s->ttl;
    return se;
}

static bool token_eq(const char *a, const char *b)
{
    return strlen(a) == BWW_TOKEN_HEX && strlen(b) == BWW_TOKEN_HEX &&
           sodium_memcmp(a, b, BWW_TOKEN_HEX) == 0;
}

const bww_session *bww_session_get(bww_sessions *s, const char *token, int64_t now)
{
    if (token == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (token_eq(s->v[i].token, token)) {
            if (s->v[i].expires <= now)
                return NULL;
            s->v[i].expires = now + s->ttl;
            return &s->v[i];
        }
    return NULL;
}

void bww_session_end(bww_sessions *s, const char *token)
{
    for (size_t i = 0; token && i < s->n; i++)
        if (token_eq(s->v[i].token, token)) {
            s->v[i] = s->v[--s->n];
            return;
        }
}

bool bww_csrf_ok(const bww_session *se, const char *csrf)
{
    return se != NULL && csrf != NULL && token_eq(se->csrf, csrf);
}

static bww_attempts *attempts_of(const bww_sessions *s, const char *addr)
{
    for (size_t i = 0; i < s->na; i++)
        if (strcmp(s->a[i].addr, addr) == 0)
            return &s->a[i];
    return NULL;
}

bool bww_login_allowed(const bww_sessions *s, const char *addr, int64_t now, int64_t *retry_after)
{
    const bww_attempts *t = attempts_of(s, addr);
    *retry_after = 0;
    if (t == NULL || now - t->first >= BWW_LOGIN_WINDOW || t->n < BWW_LOGIN_TRIES)
        return true;
    *retry_after = t->first + BWW_LOGIN_WINDOW - now;
    return false;
}

void bww_login_failed(bww_sessions *s, const char *addr, int64_t now)
{
    bww_attempts *t = attempts_of(s, addr);
    if (t == NULL) {
        /* Forget windows that are over before growing the table. */
        size_t k = 0;
        for (size_t i = 0; i < s->na; i++)
            if (now - s->a[i].first < BWW_LOGIN_WINDOW)
                s->a[k++] = s->a[i];
        s->na = k;
        if (s->na == s->capa) {
            size_t cap = s->capa ? s->capa * 2 : 16;
            bww_attempts *v = realloc(s->a, cap * sizeof *v);
            if (v == NULL)
                return;     /* not counted: the hash's cost still slows guessing */
            s->a = v;
            s->capa = cap;
        }
        t = &s->a[s->na++];
        memset(t, 0, sizeof *t);
        snprintf(t->addr, sizeof t->addr, "%s", addr);
        t->first = now;
    }
    if (now - t->first >= BWW_LOGIN_WINDOW) {
        t->first = now;
        t->n = 0;
    }
    t->n++;
}

void bww_login_succeeded(bww_sessions *s, const char *addr)
{
    bww_attempts *t = attempts_of(s, addr);
    if (t != NULL)
        *t = s->a[--s->na];
}
