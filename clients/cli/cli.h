/* cli: what the budgetwatch subcommands share — endpoints, the client, control
 * requests with their replies decoded, and output helpers. */
#ifndef BW_CLI_H
#define BW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "budgetwatch.h"
#include "proto.h"

/* Exit codes, documented in `budgetwatch help`. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

typedef struct cli {
    const char *control, *events, *alerts;
    int timeout_ms;
    const char *server_file, *key_file;    /* --server-key, --key */
    bool curve;                 /* keys below loaded (tcp:// endpoints use CURVE) */
    char server_key[41], public_key[41], secret_key[41];
    bwc_client *client;
    msgpack_unpacked reply;     /* the last control reply, decoded */
    bool have_reply;
} cli;

/* Sends a control request; on success *out is the reply map (valid until the
 * next call). Prints the error and returns an exit code otherwise. */
int cli_request(cli *c, const bw_ctl_req *q, const msgpack_object **out);
int cli_exit_for(int bwc_code);
/* Parses the value s of option opt (of subcommand cmd, or NULL) as a whole
 * number from min to max; prints what is wrong and returns -1 otherwise. */
int cli_number(const char *cmd, const char *opt, const char *s, long long min, long long max,
               long long *out);

/* Output. */
bool out_tty(void);
void print_escaped(FILE *f, const char *s);      /* control characters become \xNN */
char *fmt_bp(int32_t bp, char *buf, size_t len);  /* 2999 -> "29.99" */
char *fmt_time(int64_t t, char *buf, size_t len); /* local time in the CLI's zone */
int parse_time(const char *s, int64_t *out);      /* Unix s or ISO 8601 with offset */
size_t display_width(const char *s);
void print_cell(FILE *f, const char *s, size_t width, bool right);
void print_json_str(FILE *f, const char *s);

/* keys.c: reads --server-key / --key certificates into c (nothing when both
 * are NULL); prints what is wrong and returns -1 otherwise. */
int cli_load_keys(cli *c, const char *server_file, const char *key_file);

/* Subcommands: argc/argv start at the subcommand's own arguments. */
int cmd_keygen(int argc, char **argv);
int cmd_push(cli *c, int argc, char **argv);
int cmd_watch(cli *c, int argc, char **argv);
int cmd_status(cli *c, int argc, char **argv);
int cmd_report(cli *c, int argc, char **argv);
int cmd_simple(cli *c, const char *name, int argc, char **argv);
void alert_line(FILE *f, const bw_alert_msg *a);
void alert_json(FILE *f, const bw_alert_msg *a);

#endif
