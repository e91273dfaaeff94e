/* keys: reads czmq certificates into sorted key tables (see keys.h). */
#include "keys.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZERO_KEY "0000000000000000000000000000000000000000"

static int by_pub(const void *a, const void *b)
{
    return strcmp(((const bw_key *)a)->pub, ((const bw_key *)b)->pub);
}

static bool skipped(const char *file)
{
    size_t n = strlen(file), s = strlen("_secret");
    return file[0] == '.' || (n >= s && strcmp(file + n - s, "_secret") == 0);
}

/* One public key file into *k. */
static int load_one(const char *path, bw_key *k, bw_err *err)
{
    zcert_t *cert = zcert_load(path);
    if (cert == NULL)
        return bw_err_set(err, "%s: not a CURVE certificate (czmq zcert format, as "
                          "`budgetwatch keygen` writes); remove it from the directory", path);
    const char *name = zcert_meta(cert, "name");
    size_t len = name ? strlen(name) : 0;
    int rc = 0;
    if (len == 0 || len >= BW_KEY_NAME_MAX)
        rc = bw_err_set(err, "%s: the certificate needs a name of 1 to %d bytes (metadata "
                        "name = \"...\"); `budgetwatch keygen NAME` sets it", path, BW_KEY_NAME_MAX - 1);
    else {
        snprintf(k->pub, sizeof k->pub, "%s", zcert_public_txt(cert));
        memcpy(k->name, name, len + 1);
    }
    zcert_destroy(&cert);
    return rc;
}

static int grow(bw_keyset *ks, size_t *cap)
{
    if (ks->n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    bw_key *k = realloc(ks->keys, ncap * sizeof *k);
    if (k == NULL)
        return -1;
    ks->keys = k;
    *cap = ncap;
    return 0;
}

static int read_dir(DIR *dir, const char *path, bw_keyset *ks, bw_err *err)
{
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char file[1200];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (skipped(e->d_name) || stat(file, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (grow(ks, &cap))
            return bw_err_set(err, "%s: out of memory", path);
        if (load_one(file, &ks->keys[ks->n], err))
            return -1;
        ks->n++;
    }
    if (ks->n > 1)      /* an empty directory leaves keys NULL, which qsort may not take */
        qsort(ks->keys, ks->n, sizeof *ks->keys, by_pub);
    for (size_t i = 1; i < ks->n; i++)
        if (strcmp(ks->keys[i].pub, ks->keys[i - 1].pub) == 0)
            return bw_err_set(err, "%s: \"%s\" and \"%s\" are the same key; remove one file",
                              path, ks->keys[i - 1].name, ks->keys[i].name);
    return 0;
}

int bw_keyset_load(bw_keyset *ks, const char *path, bw_err *err)
{
    bw_keyset fresh = { 0 };
    DIR *dir = opendir(path);
    if (dir == NULL && errno == ENOENT) {
        bw_keyset_clear(ks);
        return 1;
    }
    if (dir == NULL)
        return bw_err_set(err, "%s: cannot read the key directory: %s", path, strerror(errno));
    int rc = read_dir(dir, path, &fresh, err);
    closedir(dir);
    if (rc) {
        bw_keyset_clear(&fresh);
        return -1;
    }
    bw_keyset_clear(ks);
    *ks = fresh;
    return 0;
}

void bw_keyset_clear(bw_keyset *ks)
{
    free(ks->keys);
    ks->keys = NULL;
    ks->n = 0;
}

const bw_key *bw_keyset_find(const bw_keyset *ks, const char *pub)
{
    bw_key k;
    if (ks->n == 0 || strlen(pub) != BW_KEY_TXT - 1)
        return NULL;
    memcpy(k.pub, pub, BW_KEY_TXT);
    return bsearch(&k, ks->keys, ks->n, sizeof k, by_pub);
}

int bw_key_load_pair(const char *path, char pub[BW_KEY_TXT], char sec[BW_KEY_TXT], bw_err *err)
{
    /* The secret half is NAME_secret beside NAME; a path that is itself the
     * secret file (or a systemd credential holding it) is taken as it is. */
    char secret[1100];
    struct stat st;
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (stat(secret, &st) != 0)
        snprintf(secret, sizeof secret, "%s", path);
    if (stat(secret, &st) != 0)
        return bw_err_set(err, "[security] server_key: %s: %s; make the daemon's key pair with "
                          "`budgetwatch keygen NAME`", secret, strerror(errno));
    if (st.st_mode & 077)
        return bw_err_set(err, "[security] server_key: %s can be read by others (mode %03o); "
                          "chmod 600 it", secret, (unsigned)(st.st_mode & 0777));
    zcert_t *cert = zcert_load(secret);
    if (cert == NULL || strcmp(zcert_secret_txt(cert), ZERO_KEY) == 0) {
        zcert_destroy(&cert);
        return bw_err_set(err, "[security] server_key: %s is not a secret CURVE certificate "
                          "(czmq zcert format with a secret-key, the NAME.cert_secret that "
                          "`budgetwatch keygen` writes)", secret);
    }
    snprintf(pub, BW_KEY_TXT, "%s", zcert_public_txt(cert));
    snprintf(sec, BW_KEY_TXT, "%s", zcert_secret_txt(cert));
    zcert_destroy(&cert);
    return 0;
}
