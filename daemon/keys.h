/* keys: CURVE key files and the directories of authorized keys.
 *
 * The file format is czmq's certificate (zcert, ZPL text): NAME holds the
 * public key and metadata, NAME_secret the key pair, mode 0600. czmq reads
 * and writes them, so keys made with any czmq tool, or `budgetwatch keygen`,
 * work here. An authorized-keys directory holds one public file per peer;
 * each peer's `name` metadata is who it is (for a payment system: the event
 * `src` it may use). */
#ifndef BW_KEYS_H
#define BW_KEYS_H

#include <stddef.h>

#include "err.h"

#define BW_KEY_TXT 41       /* a Z85 key, 40 characters and a NUL */
#define BW_KEY_NAME_MAX 65  /* a name, as long as an event src */

typedef struct bw_key {
    char pub[BW_KEY_TXT];
    char name[BW_KEY_NAME_MAX];
} bw_key;

/* The public keys of one directory, sorted by key. */
typedef struct bw_keyset {
    bw_key *keys;
    size_t n;
} bw_keyset;

/* Reads every public key file of dir (files ending in _secret and dot files
 * are skipped). A directory that does not exist gives an empty set (return
 * 1, so the caller can say so); a file that is not a certificate, has no name
 * or repeats a key fails with the file named. 0 on success, -1 on error. The
 * set is replaced only on success; free it with bw_keyset_clear. */
int bw_keyset_load(bw_keyset *ks, const char *dir, bw_err *err);
void bw_keyset_clear(bw_keyset *ks);
/* The key with this Z85 text, or NULL. */
const bw_key *bw_keyset_find(const bw_keyset *ks, const char *pub);

/* Reads the daemon's own key pair from path (its public file or NAME_secret):
 * the secret file must exist and be readable by its owner only. */
int bw_key_load_pair(const char *path, char pub[BW_KEY_TXT], char sec[BW_KEY_TXT], bw_err *err);

#endif
