/* notifier: the running service — the alert stream and catch-up from the
 * daemon, the outbox, grouping into digests, the per-receiver limits and
 * the deliveries over libcurl, all on one libuv loop. The decisions are
 * made by the pure modules (route, text, rate, backoff, payload); this file
 * is the shell that feeds them time and I/O. */
#ifndef BWN_NOTIFIER_H
#define BWN_NOTIFIER_H

/* Runs until SIGTERM or SIGINT; SIGHUP reloads conf. An exit code. */
int bwn_notifier_run(const char *conf);

/* Sends one test message to receiver `name` and waits for its answer
 * (not kept in the outbox). An exit code. */
int bwn_notifier_test(const char *conf, const char *name);

#endif
