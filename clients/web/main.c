/* budgetwatch-web: the supervisors' console in the browser. `budgetwatch-web
 * [-c CONFIG]` serves it; `budgetwatch-web passwd [-c CONFIG | -f ACCOUNTS]
 * NAME ROLE` sets a user's password (read from standard input). It is a
 * client of budgetwatchd and never opens the ledger. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "accounts.h"
#include "config.h"
#include "server.h"

#define DEFAULT_CONFIG "/etc/budgetwatch/budgetwatch-web.conf"

static void usage(FILE *f)
{
    fprintf(f, "usage: budgetwatch-web [-c CONFIG]\n"
               "       budgetwatch-web passwd [-c CONFIG | -f ACCOUNTS] NAME viewer|handler|admin\n"
               "CONFIG defaults to %s; see budgetwatch-web(8).\n", DEFAULT_CONFIG);
}

static int load_config(const char *path, bww_config *cfg, bool must_exist)
{
    char why[1024];
    bww_config_defaults(cfg);
    if (!must_exist && access(path, F_OK) != 0)
        return 0;
    /* passwd (must_exist false) needs no keys, and may run where they are not readable. */
    if (bww_config_load(path, cfg, why, sizeof why) ||
        (must_exist && bww_config_keys(cfg, why, sizeof why))) {
        fprintf(stderr, "budgetwatch-web: %s\n", why);
        return -1;
    }
    return 0;
}

/* One line of standard input, without echo when it is a terminal. */
static int read_password(const char *prompt, char *pw, size_t n)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    char *got = fgets(pw, (int)n, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (got == NULL)
        return -1;
    pw[strcspn(pw, "\r\n")] = '\0';
    return 0;
}

static int cmd_passwd(int argc, char **argv, const char *config)
{
    const char *accounts = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt(argc, argv, "c:f:h")) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'f': accounts = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind], *role = argv[optind + 1];
    int r = bww_role_parse(role);
    if (r < 0) {
        fprintf(stderr, "budgetwatch-web passwd: role must be viewer, handler or admin, got \"%s\"\n",
                role);
        return 2;
    }
    bww_config cfg;
    if (accounts == NULL) {
        if (load_config(config, &cfg, false))
            return 1;
        accounts = cfg.accounts;
    }
    char pw[256], again[256], why[1024];
    if (read_password("password: ", pw, sizeof pw) ||
        (isatty(STDIN_FILENO) && read_password("again: ", again, sizeof again))) {
        fprintf(stderr, "budgetwatch-web passwd: no password on standard input\n");
        return 1;
    }
    if (isatty(STDIN_FILENO) && strcmp(pw, again) != 0) {
        fprintf(stderr, "budgetwatch-web passwd: the two passwords differ; nothing changed\n");
        return 1;
    }
    if (strlen(pw) < 8) {
        fprintf(stderr, "budgetwatch-web passwd: a password needs at least 8 characters\n");
        return 1;
    }
    int rc = bww_accounts_set(accounts, name, (bww_role)r, pw, why, sizeof why);
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(again, sizeof again);
    if (rc) {
        fprintf(stderr, "budgetwatch-web passwd: %s\n", why);
        return 1;
    }
    fprintf(stderr, "budgetwatch-web: %s is now a %s in %s\n", name, role, accounts);
    return 0;
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_stop(h->loop);
}

static int serve(const char *config)
{
    bww_config cfg;
    char why[1024];
    if (load_config(config, &cfg, true))
        return 1;
    bww_accounts acc;
    if (bww_accounts_load(cfg.accounts, &acc, why, sizeof why)) {
        fprintf(stderr, "budgetwatch-web: %s\n", why);
        return 1;
    }
    if (acc.n == 0)
        fprintf(stderr, "budgetwatch-web: warning: %s has no accounts, so nobody can log in; add "
                "one with `budgetwatch-web passwd NAME admin`\n", cfg.accounts);
    /* Times on the pages are the plan's local times, as the daemon's bureau reads them. */
    if (setenv("TZ", cfg.timezone, 1) != 0) {
        fprintf(stderr, "budgetwatch-web: cannot set the time zone %s: %s\n", cfg.timezone,
                strerror(errno));
        return 1;
    }
    tzset();
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    bww_server *s = bww_server_new(loop, &cfg, &acc, why, sizeof why);
    if (s == NULL) {
        bww_accounts_free(&acc);
        fprintf(stderr, "budgetwatch-web: %s\n", why);
        return 1;
    }
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    fprintf(stderr, "budgetwatch-web: listening on http://%s:%u/ (daemon %s, alerts %s)\n",
            cfg.listen_addr, cfg.port, cfg.control, cfg.alerts);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    bww_server_free(&s);
    uv_run(loop, UV_RUN_NOWAIT);
    uv_loop_close(loop);
    fprintf(stderr, "budgetwatch-web: stopped\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG;
    if (sodium_init() < 0) {
        fprintf(stderr, "budgetwatch-web: libsodium cannot start (no entropy source?)\n");
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "passwd") == 0)
        return cmd_passwd(argc - 1, argv + 1, config);
    int ch;
    while ((ch = getopt(argc, argv, "c:h")) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return serve(config);
}
