/* savebench: times bw_store_project_save, the store call on the daemon's hot
 * path (a row is saved for about one event in eight), on a file ledger in WAL
 * with synchronous = FULL, as the daemon runs it. Prints one JSON object.
 *
 *   bwsavebench FILE SAVES PROJECTS PER_COMMIT FIRING
 *
 * Save i writes project i * 7919 mod PROJECTS (every project equally often,
 * consecutive saves far apart); FIRING is how many of its alert slots fire
 * (0-4), the rest empty, so the cost of empty and of full slots shows apart.
 * The states are made before the clock starts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long arg_long(const char *s, long min)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < min) {
        fprintf(stderr, "bwsavebench: \"%s\" is not a whole number >= %ld\n", s, min);
        exit(2);
    }
    return v;
}

static void die(const bw_err *err)
{
    fprintf(stderr, "bwsavebench: %s\n", err->msg);
    exit(1);
}

static void make_state(bw_project_state *st, size_t i, int firing)
{
    memset(st, 0, sizeof *st);
    st->budget = 1000000000 + (int64_t)(i % 1000);
    st->paid_fiscal = (int64_t)i * 100;
    st->paid_other = (int64_t)(i % 7);
    for (int k = 0; k < firing && k < BW_PROJECT_KINDS; k++) {
        int64_t since = 1640966400 + (int64_t)(i % 86400);
        st->slot[k] = (bw_slot){ .severity = (uint8_t)(1 + (i + (size_t)k) % 2),
                                 .acked = (uint8_t)((i >> k) & 1), .ms = (uint8_t)(k == 1),
                                 .since = since, .last_sent = since + 86400 };
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bwsavebench FILE SAVES PROJECTS PER_COMMIT FIRING\n");
        return 2;
    }
    const char *path = argv[1];
    size_t n = (size_t)arg_long(argv[2], 1), projects = (size_t)arg_long(argv[3], 1);
    size_t per = (size_t)arg_long(argv[4], 1);
    int firing = (int)arg_long(argv[5], 0);
    char side[512];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);

    bw_project_state *st = malloc(n * sizeof *st);
    char (*code)[24] = malloc(projects * sizeof *code);
    if (st == NULL || code == NULL) {
        fprintf(stderr, "bwsavebench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        make_state(&st[i], i, firing);
    for (size_t p = 0; p < projects; p++)
        snprintf(code[p], sizeof code[p], "P%07zu", p);

    bw_err err;
    bw_store *s = bw_store_open(path, true, &err);
    if (s == NULL)
        die(&err);
    double in_save = 0, t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (i % per == 0 && bw_store_begin(s, &err))
            die(&err);
        double a = now_s();
        if (bw_store_project_save(s, code[(i * 7919) % projects], &st[i], (int64_t)i, &err))
            die(&err);
        in_save += now_s() - a;
        if ((i % per == per - 1 || i == n - 1) && bw_store_commit(s, &err))
            die(&err);
    }
    double total = now_s() - t0;
    bw_store_close(&s);
    printf("{\"saves\":%zu,\"projects\":%zu,\"per_commit\":%zu,\"firing\":%d,"
           "\"total_s\":%.3f,\"save_us\":%.3f,\"with_commit_us\":%.3f}\n",
           n, projects, per, firing, total, in_save * 1e6 / (double)n, total * 1e6 / (double)n);
    free(st);
    free(code);
    return 0;
}
