/* test_notify_outbox: budgetwatch-notify's outbox over a real SQLite file —
 * an alert is kept once and the last seq moves with it, queued alerts come
 * back per group until they are in a notification, attempts and their
 * answers are kept (a crash's 'sending' becomes 'interrupted'), the firing
 * set for Alertmanager, counts, and the audit log's filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbox.h"

typedef struct fx {
    char path[64];
    bwn_outbox *o;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->path, sizeof f->path, "/tmp/bwn-outbox-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    char err[512];
    f->o = bwn_outbox_open(f->path, err);
    if (f->o == NULL)
        fail_msg("%s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    bwn_outbox_close(&f->o);
    char p[80];
    unlink(f->path);
    snprintf(p, sizeof p, "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->path);
    unlink(p);
    free(f);
    return 0;
}

static bwn_alert alert(uint64_t seq, const char *project, const char *state)
{
    bwn_alert a = { 0 };
    a.seq = seq;
    snprintf(a.kind, sizeof a.kind, "lag");
    snprintf(a.state, sizeof a.state, "%s", state);
    snprintf(a.severity, sizeof a.severity, "warning");
    snprintf(a.unit, sizeof a.unit, "U1");
    snprintf(a.project, sizeof a.project, "%s", project);
    return a;
}

typedef struct seen {
    uint64_t seq[32];
    int n;
} seen;

static int on_item(void *ctx, uint64_t seq, const void *raw, size_t len)
{
    seen *s = ctx;
    assert_int_equal(len, 3);
    assert_memory_equal(raw, "raw", 3);
    s->seq[s->n++] = seq;
    return 0;
}

static int on_group(void *ctx, const char *receiver, const char *route, const char *key, int64_t first)
{
    int *n = ctx;
    assert_string_equal(receiver, "hook");
    assert_string_equal(route, "all");
    assert_string_equal(key, "unit=U1");
    assert_int_equal(first, 1000);
    (*n)++;
    return 0;
}

static int on_log(void *ctx, const bwn_log_row *r)
{
    int *n = ctx;
    assert_string_equal(r->receiver, "hook");
    assert_string_equal(r->state, "sent");
    assert_string_equal(r->answer, "HTTP 200");
    assert_int_equal(r->attempts, 2);
    assert_string_equal(r->alerts, "1 lag firing P1; 2 lag firing P2");
    (*n)++;
    return 0;
}

static int on_time(void *ctx, int64_t t)
{
    int64_t *last = ctx;
    *last = t;
    return 0;
}

static void test_take_group_deliver_log(void **state)
{
    fx *f = *state;
    bwn_outbox *o = f->o;
    uint64_t last;
    assert_int_equal(bwn_outbox_last_seq(o, &last), 0);
    assert_int_equal(last, 0);
    /* Taking: the alert, its queue row and the last seq together. */
    assert_int_equal(bwn_outbox_begin(o), 0);
    bwn_alert a1 = alert(1, "P1", "firing"), a2 = alert(2, "P2", "firing");
    assert_int_equal(bwn_outbox_add_alert(o, &a1, "raw", 3, 1000), 1);
    assert_int_equal(bwn_outbox_add_alert(o, &a2, "raw", 3, 1000), 1);
    assert_int_equal(bwn_outbox_add_alert(o, &a1, "raw", 3, 1000), 0);     /* kept once */
    assert_int_equal(bwn_outbox_queue(o, "hook", 1, "all", "unit=U1", 1000, 1000), 0);
    assert_int_equal(bwn_outbox_queue(o, "hook", 2, "all", "unit=U1", 1000, 5000), 0);  /* muted until 5000 */
    assert_int_equal(bwn_outbox_set_last_seq(o, 2), 0);
    assert_int_equal(bwn_outbox_commit(o), 0);
    /* A rolled back take leaves nothing. */
    assert_int_equal(bwn_outbox_begin(o), 0);
    bwn_alert a3 = alert(3, "P3", "firing");
    assert_int_equal(bwn_outbox_add_alert(o, &a3, "raw", 3, 1000), 1);
    assert_int_equal(bwn_outbox_set_last_seq(o, 3), 0);
    bwn_outbox_rollback(o);
    assert_int_equal(bwn_outbox_last_seq(o, &last), 0);
    assert_int_equal(last, 2);
    assert_int_equal(bwn_outbox_set_last_seq(o, 1), 0);       /* never backwards */
    assert_int_equal(bwn_outbox_last_seq(o, &last), 0);
    assert_int_equal(last, 2);

    /* Groups due: only what is due by now. */
    int groups = 0;
    assert_int_equal(bwn_outbox_groups_each(o, 2000, on_group, &groups), 0);
    assert_int_equal(groups, 1);
    seen s = { .n = 0 };
    assert_int_equal(bwn_outbox_group_items(o, "hook", "all", "unit=U1", 2000, on_item, &s), 0);
    assert_int_equal(s.n, 1);
    s.n = 0;
    assert_int_equal(bwn_outbox_group_items(o, "hook", "all", "unit=U1", 6000, on_item, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 1);
    assert_int_equal(s.seq[1], 2);

    /* A notification of both; then the group has nothing waiting. */
    int64_t id;
    assert_int_equal(bwn_outbox_note_new(o, "hook", "all", "unit=U1", "title", 2, 6000, &id), 0);
    assert_int_equal(bwn_outbox_note_payload(o, id, "{\"x\":1}", 7), 0);
    assert_int_equal(bwn_outbox_assign(o, "hook", 1, id), 0);
    assert_int_equal(bwn_outbox_assign(o, "hook", 2, id), 0);
    assert_int_equal(bwn_outbox_group_set_last(o, "hook", "all", "unit=U1", 6000), 0);
    int64_t glast;
    assert_int_equal(bwn_outbox_group_last(o, "hook", "all", "unit=U1", &glast), 0);
    assert_int_equal(glast, 6000);
    groups = 0;
    assert_int_equal(bwn_outbox_groups_each(o, 9000, on_group, &groups), 0);
    assert_int_equal(groups, 0);

    /* Delivery: due, an attempt cut short by a crash, a retry, then sent. */
    bwn_note n;
    assert_int_equal(bwn_outbox_note_due(o, "hook", 5999, &n), 0);
    assert_int_equal(bwn_outbox_note_due(o, "hook", 6000, &n), 1);
    assert_int_equal(n.id, id);
    assert_string_equal(n.payload, "{\"x\":1}");
    free(n.payload);
    int64_t att;
    assert_int_equal(bwn_outbox_attempt_start(o, id, 6100, &att), 0);
    assert_int_equal(bwn_outbox_interrupted(o, 6200), 1);
    assert_int_equal(bwn_outbox_interrupted(o, 6300), 0);
    assert_int_equal(bwn_outbox_attempt_start(o, id, 6400, &att), 0);
    assert_int_equal(bwn_outbox_attempt_end(o, att, id, "retry", 503, "HTTP 503", 6500, 8000), 0);
    assert_int_equal(bwn_outbox_note_due(o, "hook", 7999, &n), 0);
    int64_t next;
    assert_int_equal(bwn_outbox_note_next(o, "hook", &next), 0);
    assert_int_equal(next, 8000);
    assert_int_equal(bwn_outbox_note_due(o, "hook", 8000, &n), 1);
    assert_int_equal(n.attempts, 1);
    free(n.payload);
    assert_int_equal(bwn_outbox_attempt_start(o, id, 8000, &att), 0);
    assert_int_equal(bwn_outbox_attempt_end(o, att, id, "sent", 200, "HTTP 200", 8100, 8100), 0);
    assert_int_equal(bwn_outbox_note_due(o, "hook", 99999, &n), 0);
    assert_int_equal(bwn_outbox_note_next(o, "hook", &next), 0);
    assert_int_equal(next, INT64_MAX);
    int64_t t = 0;
    assert_int_equal(bwn_outbox_attempt_times(o, "hook", 0, on_time, &t), 0);
    assert_int_equal(t, 8100);        /* counted at the answer */
    int64_t p, se, fa;
    assert_int_equal(bwn_outbox_counts(o, &p, &se, &fa), 0);
    assert_int_equal(p, 0);
    assert_int_equal(se, 1);
    assert_int_equal(fa, 0);

    /* The log, with its filters. */
    int rows = 0;
    assert_int_equal(bwn_outbox_log(o, NULL, 0, on_log, &rows), 0);
    assert_int_equal(rows, 1);
    rows = 0;
    assert_int_equal(bwn_outbox_log(o, "P2", 0, on_log, &rows), 0);
    assert_int_equal(rows, 1);
    rows = 0;
    assert_int_equal(bwn_outbox_log(o, "P9", 0, on_log, &rows), 0);
    assert_int_equal(rows, 0);
    rows = 0;
    assert_int_equal(bwn_outbox_log(o, NULL, 6001, on_log, &rows), 0);
    assert_int_equal(rows, 0);
}

static void test_firing_and_reminders(void **state)
{
    fx *f = *state;
    bwn_outbox *o = f->o;
    /* P1 fires then resolves; P2 fires, then its reminder. */
    const struct { uint64_t seq; const char *p, *state; } m[] = {
        { 1, "P1", "firing" }, { 2, "P2", "firing" }, { 3, "P1", "resolved" }, { 4, "P2", "firing" },
    };
    bool reminder[4];
    for (int i = 0; i < 4; i++) {
        bwn_alert a = alert(m[i].seq, m[i].p, m[i].state);
        char key[64];
        bwn_alert_key(&a, key, sizeof key);
        assert_int_equal(bwn_outbox_is_reminder(o, key, &a, &reminder[i]), 0);
        assert_int_equal(bwn_outbox_add_alert(o, &a, "raw", 3, 1000), 1);
        assert_int_equal(bwn_outbox_queue(o, "am", m[i].seq, "all", "", 1000, 1000), 0);
    }
    assert_false(reminder[0]);
    assert_false(reminder[1]);
    assert_false(reminder[2]);
    assert_true(reminder[3]);
    seen s = { .n = 0 };
    assert_int_equal(bwn_outbox_firing_each(o, "am", on_item, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seq[0], 4);     /* P2's last message; P1 is resolved */
    s.n = 0;
    assert_int_equal(bwn_outbox_firing_each(o, "other", on_item, &s), 0);
    assert_int_equal(s.n, 0);
}

static void test_open_refuses_a_bad_path(void **state)
{
    (void)state;
    char err[512];
    assert_null(bwn_outbox_open("/nonexistent-dir/outbox.db", err));
    assert_non_null(strstr(err, "/nonexistent-dir/outbox.db"));
    assert_non_null(strstr(err, "writable"));
}

/* With bands, a lag alert escalates within one severity (红一档 to 红二档,
 * both critical): that message is no reminder, so a route with repeat = no
 * still sends it; the same band again is one. A handling step
 * (acknowledged) is never one, and a firing message after it is not either. */
static void test_bands_and_handling_are_not_reminders(void **state)
{
    fx *f = *state;
    const struct { const char *state, *severity, *band; bool reminder; } m[] = {
        { "firing", "warning", "黄", false },      { "firing", "warning", "黄", true },
        { "firing", "critical", "红一档", false }, { "firing", "critical", "红二档", false },
        { "firing", "critical", "红二档", true },  { "acknowledged", "critical", "红二档", false },
        { "acknowledged", "critical", "红二档", false }, { "firing", "critical", "红二档", false },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        bwn_alert a = alert(i + 1, "P7", m[i].state);
        snprintf(a.severity, sizeof a.severity, "%s", m[i].severity);
        snprintf(a.band, sizeof a.band, "%s", m[i].band);
        char key[64];
        bool reminder = !m[i].reminder;
        bwn_alert_key(&a, key, sizeof key);
        assert_int_equal(bwn_outbox_is_reminder(f->o, key, &a, &reminder), 0);
        if (reminder != m[i].reminder)
            fail_msg("message %zu (%s %s %s): reminder %d, want %d", i, m[i].state, m[i].severity,
                     m[i].band, reminder, m[i].reminder);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_group_deliver_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_firing_and_reminders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bands_and_handling_are_not_reminders, setup, teardown),
        cmocka_unit_test(test_open_refuses_a_bad_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
