/* keys: `budgetwatch keygen` and the CLI's own CURVE keys, in czmq's
 * certificate format (zcert) — the format budgetwatchd reads. */
#include <czmq.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define ZERO_KEY "0000000000000000000000000000000000000000"

/* A key's name is a payment system's src, and a file name. */
static const char *bad_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return "must be 1 to 64 bytes";
    if (name[0] == '.' || name[0] == '-')
        return "must not start with '.' or '-'";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= ' ' || *p == '/' || *p == '\\' || *p == '"' || *p == 0x7f)
            return "must not hold spaces, control characters, quotes, '/' or '\\'";
    return NULL;
}

int cmd_keygen(int argc, char **argv)
{
    const char *name = NULL, *dir = ".";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (name == NULL && argv[i][0] != '-')
            name = argv[i];
        else {
            fprintf(stderr, "budgetwatch keygen: unexpected \"%s\"; usage: budgetwatch keygen NAME "
                    "[--dir DIR]\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    const char *why = name ? bad_name(name) : "is missing";
    if (why) {
        fprintf(stderr, "budgetwatch keygen: the NAME %s (it is the peer's name, and for a payment "
                "system the event src it may send)\n", why);
        return EXIT_USAGE;
    }
    char pub[1200], sec[1220];
    if (snprintf(pub, sizeof pub, "%s/%s.cert", dir, name) >= (int)sizeof pub) {
        fprintf(stderr, "budgetwatch keygen: the --dir %s is too long a path; give a shorter one\n",
                dir);
        return EXIT_USAGE;
    }
    snprintf(sec, sizeof sec, "%s_secret", pub);
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0) {
        fprintf(stderr, "budgetwatch keygen: %s already exists; a key is not overwritten: remove it "
                "first if you mean to replace it (and its copies in the daemon's key directories)\n", pub);
        return EXIT_FAILED;
    }
    zcert_t *cert = zcert_new();
    if (cert == NULL) {
        fprintf(stderr, "budgetwatch keygen: cannot make a key pair (libzmq without CURVE?)\n");
        return EXIT_FAILED;
    }
    zcert_set_meta(cert, "name", "%s", name);
    const char *failed = zcert_save(cert, pub) != 0 ? pub : chmod(sec, 0600) != 0 ? sec : NULL;
    if (failed) {
        fprintf(stderr, "budgetwatch keygen: cannot %s %s: %s (is --dir %s there and writable?)\n",
                failed == pub ? "write" : "make private (mode 0600)", failed, strerror(errno), dir);
        zcert_destroy(&cert);
        return EXIT_FAILED;
    }
    printf("%s\n", zcert_public_txt(cert));
    fprintf(stderr, "wrote %s (public: install it in the daemon's payment, supervisor or admin key "
            "directory) and %s (secret, mode 0600: it stays with %s)\n", pub, sec, name);
    zcert_destroy(&cert);
    return EXIT_OK;
}

/* Reads a certificate's keys; the secret one only when want_secret. */
static int read_cert(const char *what, const char *path, bool want_secret, char *pubkey,
                     char *seckey)
{
    zcert_t *cert = zcert_load(path);
    if (cert == NULL) {
        fprintf(stderr, "budgetwatch: %s %s: cannot read a CURVE certificate there (czmq zcert "
                "format, as `budgetwatch keygen` writes)\n", what, path);
        return -1;
    }
    bool no_secret = strcmp(zcert_secret_txt(cert), ZERO_KEY) == 0;
    if (want_secret && no_secret) {
        fprintf(stderr, "budgetwatch: %s %s holds no secret key; give the NAME.cert_secret file\n",
                what, path);
        zcert_destroy(&cert);
        return -1;
    }
    snprintf(pubkey, 41, "%s", zcert_public_txt(cert));
    if (want_secret)
        snprintf(seckey, 41, "%s", zcert_secret_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int cli_load_keys(cli *c, const char *server_file, const char *key_file)
{
    if (server_file == NULL && key_file == NULL)
        return 0;
    if (server_file == NULL || key_file == NULL) {
        fprintf(stderr, "budgetwatch: CURVE needs both --server-key (the daemon's public "
                "certificate) and --key (your NAME.cert_secret), or $BUDGETWATCH_SERVER_KEY and "
                "$BUDGETWATCH_KEY\n");
        return -1;
    }
    char unused[41];
    if (read_cert("--server-key", server_file, false, c->server_key, unused) ||
        read_cert("--key", key_file, true, c->public_key, c->secret_key))
        return -1;
    c->curve = true;
    return 0;
}
