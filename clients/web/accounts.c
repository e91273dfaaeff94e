/* accounts: the users file and its password hashes (accounts.h). */
#include "accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static const char *const role_names[] = { "viewer", "handler", "admin" };

const char *bww_role_name(bww_role r)
{
    return r <= BWW_ADMIN ? role_names[r] : "?";
}

int bww_role_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

bool bww_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BWW_NAME_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!(*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

void bww_accounts_free(bww_accounts *a)
{
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

static int parse_line(char *line, bww_account *acc)
{
    char *save, *name = strtok_r(line, " \t\n", &save), *role = strtok_r(NULL, " \t\n", &save),
         *hash = strtok_r(NULL, " \t\n", &save);
    if (name == NULL || role == NULL || hash == NULL || strtok_r(NULL, " \t\n", &save) != NULL)
        return -1;
    int r = bww_role_parse(role);
    if (!bww_name_ok(name) || r < 0 || strlen(hash) >= BWW_HASH_MAX)
        return -1;
    memset(acc, 0, sizeof *acc);
    snprintf(acc->name, sizeof acc->name, "%s", name);
    acc->role = (bww_role)r;
    snprintf(acc->hash, sizeof acc->hash, "%s", hash);
    return 0;
}

int bww_accounts_load(const char *path, bww_accounts *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whylen, "%s: cannot read the accounts: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        bww_account acc;
        bww_account *grown = realloc(a->v, (a->n + 1) * sizeof *a->v);
        if (grown == NULL || parse_line(p, &acc)) {
            if (grown != NULL)
                a->v = grown;
            snprintf(why, whylen, "%s:%u: %s", path, lineno,
                     grown == NULL ? "out of memory"
                                   : "expected \"NAME ROLE HASH\" (ROLE viewer, handler or "
                                     "admin); write it with `budgetwatch-web passwd NAME ROLE`");
            fclose(f);
            bww_accounts_free(a);
            return -1;
        }
        a->v = grown;
        a->v[a->n++] = acc;
    }
    fclose(f);
    return 0;
}

const bww_account *bww_accounts_find(const bww_accounts *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].name, name) == 0)
            return &a->v[i];
    return NULL;
}

const bww_account *bww_accounts_check(const bww_accounts *a, const char *name,
                                      const char *password)
{
    const bww_account *acc = bww_accounts_find(a, name);
    /* An unknown name is checked against a hash of its own, so the answer
     * takes as long as for a known one. */
    static char dummy[BWW_HASH_MAX];
    if (dummy[0] == '\0' && bww_password_hash("budgetwatch-web: no such user", dummy))
        return NULL;
    const char *hash = acc ? acc->hash : dummy;
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
        return NULL;
    return acc;
}

int bww_password_hash(const char *password, char hash[BWW_HASH_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= BWW_HASH_MAX, "hash room");
    return crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

int bww_accounts_set(const char *path, const char *name, bww_role role, const char *password,
                     char *why, size_t whylen)
{
    bww_accounts a;
    if (!bww_name_ok(name)) {
        snprintf(why, whylen, "user name \"%s\" must be 1..64 bytes of letters, digits, '.', '_', "
                 "'-' or Chinese characters", name);
        return -1;
    }
    if (bww_accounts_load(path, &a, why, whylen))
        return -1;
    char hash[BWW_HASH_MAX];
    if (bww_password_hash(password, hash)) {
        bww_accounts_free(&a);
        snprintf(why, whylen, "hashing the password failed (out of memory: Argon2id takes 64 MiB)");
        return -1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    /* The new file keeps the old one's owner, group and mode: the service
     * reads it through its group (budgetwatch.tmpfiles makes it so). */
    struct stat old;
    if (fd >= 0 && stat(path, &old) == 0 &&
        (fchmod(fd, old.st_mode & 0777) != 0 ||
         ((old.st_uid != geteuid() || old.st_gid != getegid()) &&
          fchown(fd, old.st_uid, old.st_gid) != 0))) {
        snprintf(why, whylen, "%s: cannot give the new file the old one's owner and mode: %s "
                 "(run passwd as root, or as the file's owner)", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        bww_accounts_free(&a);
        return -1;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        snprintf(why, whylen, "%s: cannot write: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        bww_accounts_free(&a);
        return -1;
    }
    fprintf(f, "# budgetwatch-web accounts: NAME ROLE ARGON2ID-HASH; edit with "
               "`budgetwatch-web passwd NAME ROLE`\n");
    bool done = false;
    for (size_t i = 0; i < a.n; i++) {
        if (strcmp(a.v[i].name, name) == 0) {
            fprintf(f, "%s %s %s\n", name, bww_role_name(role), hash);
            done = true;
        } else {
            fprintf(f, "%s %s %s\n", a.v[i].name, bww_role_name(a.v[i].role), a.v[i].hash);
        }
    }
    if (!done)
        fprintf(f, "%s %s %s\n", name, bww_role_name(role), hash);
    bww_accounts_free(&a);
    bool bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad) {
        snprintf(why, whylen, "%s: cannot write: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(why, whylen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
