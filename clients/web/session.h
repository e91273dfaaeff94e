/* session: who is logged in — sessions by a random token (the HttpOnly,
 * SameSite=Strict cookie), each with its own CSRF token that every form
 * carries back — and the login rate limit per client address. Pure but for
 * libsodium's random bytes: time is passed in. */
#ifndef BWW_SESSION_H
#define BWW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts.h"

#define BWW_TOKEN_HEX 64        /* 32 random bytes as hex */
#define BWW_LOGIN_TRIES 5       /* failed logins an address may make ... */
#define BWW_LOGIN_WINDOW 300    /* ... in this many seconds */

typedef struct bww_session {
    char token[BWW_TOKEN_HEX + 1];
    char csrf[BWW_TOKEN_HEX + 1];
    char user[BWW_NAME_MAX + 1];
    bww_role role;
    int64_t expires;
} bww_session;

typedef struct bww_attempts {
    char addr[96];              /* the address and a hash of the name tried */
    int64_t first;
    unsigned n;
} bww_attempts;

typedef struct bww_sessions {
    size_t n, cap;
    bww_session *v;             /* owned */
    size_t na, capa;
    bww_attempts *a;            /* owned: failed logins by address */
    int64_t ttl;                /* seconds a session lives without use */
} bww_sessions;

void bww_sessions_init(bww_sessions *s, int64_t ttl);
void bww_sessions_free(bww_sessions *s);
/* A new session for user (the old sessions stay); NULL out of memory. */
const bww_session *bww_session_new(bww_sessions *s, const char *user, bww_role role, int64_t now);
/* The live session of a cookie's token, its expiry moved on; NULL if none
 * (unknown, expired, or token NULL). */
const bww_session *bww_session_get(bww_sessions *s, const char *token, int64_t now);
void bww_session_end(bww_sessions *s, const char *token);
/* Whether a form's csrf field is the session's token (constant time). */
bool bww_csrf_ok(const bww_session *se, const char *csrf);

/* Whether addr may try to log in now; when not, *retry_after says in how
 * many seconds. */
bool bww_login_allowed(const bww_sessions *s, const char *addr, int64_t now, int64_t *retry_after);
/* Counts a failed login of addr; a success forgets its failures. */
void bww_login_failed(bww_sessions *s, const char *addr, int64_t now);
void bww_login_succeeded(bww_sessions *s, const char *addr);

#endif
