/* accounts: the console's users, one a line in a file the administrator
 * keeps with `budgetwatch-web passwd NAME ROLE` — "NAME ROLE HASH", HASH
 * libsodium's crypto_pwhash_str (Argon2id, its interactive limits). Roles:
 * viewer (reads), handler (may also acknowledge and handle alerts), admin. */
#ifndef BWW_ACCOUNTS_H
#define BWW_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#define BWW_NAME_MAX 64
#define BWW_HASH_MAX 128        /* crypto_pwhash_STRBYTES */

typedef enum bww_role { BWW_VIEWER = 0, BWW_HANDLER = 1, BWW_ADMIN = 2 } bww_role;

typedef struct bww_account {
    char name[BWW_NAME_MAX + 1];
    bww_role role;
    char hash[BWW_HASH_MAX];
} bww_account;

typedef struct bww_accounts {
    size_t n;
    bww_account *v;             /* owned */
} bww_accounts;

const char *bww_role_name(bww_role r);
int bww_role_parse(const char *s);     /* -1 if not a role */
/* A name is 1..64 bytes of letters, digits, '.', '_', '-' or non-ASCII
 * UTF-8 (a person's name in Chinese): never a space or a control byte. */
bool bww_name_ok(const char *name);

/* Reads the file; a missing file is no accounts. Returns 0, or -1 with
 * why ("FILE:LINE: ...") on a line that cannot be read. */
int bww_accounts_load(const char *path, bww_accounts *a, char *why, size_t whylen);
void bww_accounts_free(bww_accounts *a);
const bww_account *bww_accounts_find(const bww_accounts *a, const char *name);
/* Whether password is name's: the account, or NULL (a wrong password and
 * an unknown name take the same time, so neither is told apart). */
const bww_account *bww_accounts_check(const bww_accounts *a, const char *name,
                                      const char *password);
/* Hashes password into hash (BWW_HASH_MAX bytes). 0, or -1 out of memory. */
int bww_password_hash(const char *password, char hash[BWW_HASH_MAX]);
/* Sets (adds or replaces) name's role and password in the file, written to
 * a temporary file and renamed over it, mode 0640. 0, or -1 with why. */
int bww_accounts_set(const char *path, const char *name, bww_role role, const char *password,
                     char *why, size_t whylen);

#endif
