/* budgetwatchd: watches budget execution against spending plans and alerts
 * supervisors. This file only parses the command line and runs the daemon. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "daemon.h"
#include "planfile.h"
#include "log.h"
#include "store.h"

static void usage(FILE *f)
{
    fputs("usage: budgetwatchd [-c FILE] [--check | --verify | --rebuild-totals | --version]\n"
          "  -c, --config FILE  read the configuration FILE (default: built-in defaults)\n"
          "  -t, --check        validate the configuration and the plan, then exit\n"
          "      --verify       check the ledger file with SQLite's integrity_check and\n"
          "                     recompute every project's totals from its events; exit 1\n"
          "                     if a total differs, 65 if the file is damaged\n"
          "      --rebuild-totals  recompute the saved totals from the events (after\n"
          "                     --verify found them changed); the daemon must be stopped\n"
          "  -V, --version      print the version and exit\n"
          "Runs in the foreground; logs to stderr. See budgetwatchd(8).\n", f);
}

static int print_diff(void *ctx, const char *code, int64_t sf, int64_t so, int64_t lf, int64_t lo)
{
    ++*(int64_t *)ctx;
    printf("project %s: saved fiscal %lld other %lld, ledger fiscal %lld other %lld\n", code,
           (long long)sf, (long long)so, (long long)lf, (long long)lo);
    return 0;
}

static int print_problem(void *ctx, const char *msg)
{
    (void)ctx;
    printf("damage: %s\n", msg);
    return 0;
}

static int verify(const bw_config *cfg)
{
    char path[BW_PATH_MAX + 16];
    bw_err err;
    snprintf(path, sizeof path, "%s/ledger.db", cfg->state_dir);
    bw_store *s = bw_store_open(path, cfg->sync_full, &err);
    if (s == NULL) {
        fprintf(stderr, "budgetwatchd: %s\n", err.msg);
        return bw_store_err_damaged(&err) ? BW_EXIT_DAMAGED : BW_EXIT_STORE;
    }
    /* Damage first: totals read from a damaged file prove nothing. */
    int64_t problems = bw_store_integrity(s, true, print_problem, NULL, &err);
    int64_t diffs = 0, checked = problems == 0 ? bw_store_verify(s, print_diff, &diffs, &err) : 0;
    bw_store_close(&s);
    if (problems < 0 || checked < 0) {
        fprintf(stderr, "budgetwatchd: %s\n", err.msg);
        return BW_EXIT_STORE;
    }
    if (problems > 0) {
        printf("verify: %s IS DAMAGED: SQLite's integrity_check found %lld problem(s) (above); "
               "its totals were not compared. Keep a copy of the file, then restore the last "
               "backup (budgetwatchd(8), FILES, says how backups are made)\n", path,
               (long long)problems);
        return BW_EXIT_DAMAGED;
    }
    printf("verify: %s is intact (integrity_check ok); %lld projects checked: %s\n", path,
           (long long)checked, diffs ? "TOTALS DIFFER FROM THE LEDGER (see above): stop "
           "budgetwatchd and run budgetwatchd --rebuild-totals" : "totals equal the ledger");
    return diffs ? 1 : 0;
}

static int rebuild_totals(const bw_config *cfg)
{
    bw_err err;
    int64_t rows = 0;
    int rc = bw_daemon_rebuild_totals(cfg, &rows, &err);
    if (rc) {
        fprintf(stderr, "budgetwatchd: %s\n", err.msg);
        return rc;
    }
    printf("rebuild-totals: %lld project rows recomputed from the events in %s/ledger.db\n",
           (long long)rows, cfg->state_dir);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 't' },
        { "verify", no_argument, NULL, 'v' },       { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },         { "rebuild-totals", no_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 },
    };
    const char *conf = NULL;
    int check = 0, do_verify = 0, rebuild = 0, c;
    while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 't': check = 1; break;
        case 'v': do_verify = 1; break;
        case 'R': rebuild = 1; break;
        case 'V': puts("budgetwatchd " BW_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "budgetwatchd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    /* SQLite's memory statistics take a mutex on every allocation: 7 % of
     * the instructions of an event's insert (callgrind, bench raw-sqlite),
     * for figures nobody reads. Must come before SQLite is first used. */
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        fprintf(stderr, "budgetwatchd: cannot turn SQLite's memory statistics off; going on "
                "with them\n");
    bw_log_init();
    signal(SIGPIPE, SIG_IGN);

    bw_config cfg;
    bw_err err;
    bw_config_defaults(&cfg);
    if (conf != NULL && bw_config_load(&cfg, conf, &err)) {
        fprintf(stderr, "budgetwatchd: %s\n", err.msg);
        return BW_EXIT_CONFIG;
    }
    if (check) {
        if (bw_planfile_check(&cfg, &err)) {
            fprintf(stderr, "budgetwatchd: %s\n", err.msg);
            return BW_EXIT_CONFIG;
        }
        printf("budgetwatchd: configuration %s and plan %s are valid\n",
               conf ? conf : "(built-in defaults)", cfg.plan);
        return 0;
    }
    if (do_verify)
        return verify(&cfg);
    if (rebuild)
        return rebuild_totals(&cfg);

    static bw_daemon d;   /* large; lives for the whole process */
    if (bw_daemon_init(&d, &cfg, &err)) {
        bw_log(BW_LOG_ERR, "cannot start: %s", err.msg);
        int status = d.exit_code ? d.exit_code : BW_EXIT_FAILURE;
        bw_daemon_fini(&d);
        return status;
    }
    int rc = bw_daemon_run(&d);
    bw_daemon_fini(&d);
    bw_log(BW_LOG_NOTICE, "stopped");
    return rc;
}
