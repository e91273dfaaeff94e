/* test_web: budgetwatch-web's pure parts — HTML and JSON escaping, money in
 * 万元 from fen, form fields, the language choice, the page builders from
 * fixed views (a project named with markup shows as text; a viewer gets no
 * acknowledge form; a part the daemon lacks shows as unavailable), sessions
 * and their CSRF tokens, the login rate limit, and the password hash round
 * trip through the accounts file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "accounts.h"
#include "active.h"
#include "config.h"
#include "export.h"
#include "pages.h"
#include "session.h"
#include "text.h"
#include "money.h"

static void test_html_escaping(void **state)
{
    (void)state;
    bww_buf b = { 0 };
    bww_buf_html(&b, "<script>alert(\"x\")&'</script>\x01\x7f\ttab\n遵化");
    assert_string_equal(b.data, "&lt;script&gt;alert(&quot;x&quot;)&amp;&#39;&lt;/script&gt;\ttab\n遵化");
    bww_buf_free(&b);
    bww_buf_json_str(&b, "a\"b\\c\n</script>\x02");
    assert_string_equal(b.data, "a\\\"b\\\\c\\u000a<\\/script>\\u0002");
    bww_buf_free(&b);
    bww_buf_url(&b, "a b/&=中");
    assert_string_equal(b.data, "a%20b%2F%26%3D%E4%B8%AD");
    bww_buf_free(&b);
}

static void test_money_from_fen(void **state)
{
    (void)state;
    char w[40];
    assert_string_equal(bw_money_format_wan2(123456789, w, sizeof w), "123.45");    /* 1,234,567.89 yuan */
    assert_string_equal(bw_money_format_wan2(1869200000000, w, sizeof w), "1869200.00");
    assert_string_equal(bw_money_format_wan2(9999, w, sizeof w), "0.00");
    assert_string_equal(bw_money_format_wan2(-350000, w, sizeof w), "-0.35");
    assert_string_equal(bw_money_format_wan2(-9999, w, sizeof w), "0.00");
    assert_string_equal(bw_money_format_wan2(INT64_MIN, w, sizeof w), "-9223372036854.77");
    assert_string_equal(bw_money_format_wan2(INT64_MAX, w, sizeof w), "9223372036854.77");
    assert_string_equal(bw_money_format_yuan(123456789, w, sizeof w), "1234567.89");
    assert_string_equal(bw_money_format_yuan(-1, w, sizeof w), "-0.01");
    assert_string_equal(bww_pct(3750, w, sizeof w), "37.50");
    assert_string_equal(bww_pct(-5, w, sizeof w), "-0.05");
}

static void test_form_fields(void **state)
{
    (void)state;
    const char *body = "csrf=ab12&note=%E5%A4%87+x%26y&empty=&flag&name=alice";
    char out[64];
    assert_true(bww_form_get(body, strlen(body), "note", out, sizeof out));
    assert_string_equal(out, "备 x&y");
    assert_true(bww_form_get(body, strlen(body), "csrf", out, sizeof out));
    assert_string_equal(out, "ab12");
    assert_true(bww_form_get(body, strlen(body), "empty", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(bww_form_get(body, strlen(body), "flag", out, sizeof out));
    assert_true(bww_form_get(body, strlen(body), "name", out, sizeof out));
    assert_string_equal(out, "alice");
    assert_false(bww_form_get(body, strlen(body), "nam", out, sizeof out));
    assert_false(bww_form_get("a=%4", 4, "a", out, sizeof out));
    assert_false(bww_form_get("a=%zz", 5, "a", out, sizeof out));
    assert_false(bww_form_get("a=x%00y", 7, "a", out, sizeof out));
    assert_false(bww_form_get("a=abcdef", 8, "a", out, 4));
}

static void test_language(void **state)
{
    (void)state;
    assert_int_equal(bww_lang_of(NULL), BWW_ZH);
    assert_int_equal(bww_lang_of(""), BWW_ZH);
    assert_int_equal(bww_lang_of("en-US,en;q=0.9"), BWW_EN);
    assert_int_equal(bww_lang_of("zh-CN,zh;q=0.9,en;q=0.8"), BWW_ZH);
    assert_int_equal(bww_lang_of("en;q=0.5, zh;q=0.6"), BWW_ZH);
    assert_int_equal(bww_lang_of("zh;q=0.4, en-GB;q=0.7"), BWW_EN);
    assert_int_equal(bww_lang_of("fr-FR"), BWW_ZH);
    assert_int_equal(bww_lang_of("en;q=0"), BWW_ZH);
}

/* ---- page builders from fixed views ---- */

static bww_row fixed_row(const char *unit, const char *unit_name, const char *code,
                         const char *name, int64_t budget, int64_t paid, int severity)
{
    bww_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.r.unit, sizeof r.r.unit, "%s", unit);
    snprintf(r.r.unit_name, sizeof r.r.unit_name, "%s", unit_name);
    snprintf(r.r.project, sizeof r.r.project, "%s", code);
    snprintf(r.r.project_name, sizeof r.r.project_name, "%s", name);
    r.r.budget = budget;
    r.r.paid = paid;
    r.r.rate_bp = (int32_t)(paid * 10000 / budget);
    r.r.planned_bp = 5000;
    r.r.lag_bp = 5000 - r.r.rate_bp;
    r.r.pace_bp = 4000;
    r.r.shortfall = budget / 2 - paid;
    r.r.severity = (uint8_t)severity;
    r.r.projects = 1;
    return r;
}

typedef struct fixture {
    bww_row projects[2], units[1];
    bww_status st;
    bww_alert al[2];
    bww_alerts alerts;
    bww_session se;
} fixture;

static void fixture_init(fixture *f, bww_role role)
{
    memset(f, 0, sizeof *f);
    f->projects[0] = fixed_row("U1", "遵化市<b>局</b>", "P<1>", "<script>alert(1)</script>项目",
                               100000000, 12345678, BW_SEV_CRITICAL);
    f->projects[1] = fixed_row("U1", "遵化市<b>局</b>", "P2", "培训补贴", 50000000, 40000000, 0);
    f->units[0] = fixed_row("U1", "遵化市<b>局</b>", "", "", 150000000, 52345678, BW_SEV_CRITICAL);
    f->units[0].r.projects = 2;
    f->st.total = f->units[0];
    f->st.units = f->units;
    f->st.nunits = 1;
    f->st.projects = f->projects;
    f->st.nprojects = 2;
    f->st.matched = 2;
    f->st.at = 1648742400;
    for (int i = 0; i < 2; i++) {
        bw_alert_msg *m = &f->al[i].m;
        m->seq = 10 + (uint64_t)i;
        m->kind = i == 0 ? BW_KIND_LAG : BW_KIND_OVERSPEND;
        m->state = i == 0 ? BW_STATE_FIRING : BW_STATE_ACKNOWLEDGED;
        m->severity = BW_SEV_CRITICAL;
        snprintf(m->project, sizeof m->project, "P<1>");
        snprintf(m->project_name, sizeof m->project_name, "<script>alert(1)</script>项目");
        snprintf(m->unit_name, sizeof m->unit_name, "遵化市<b>局</b>");
        m->shortfall = 37654322;
        if (i == 1) {
            snprintf(m->by, sizeof m->by, "王<i>");
            snprintf(m->note, sizeof m->note, "已核实\"ok\"");
        }
    }
    f->alerts.v = f->al;
    f->alerts.n = 2;
    f->alerts.seq = 11;
    snprintf(f->se.user, sizeof f->se.user, "alice");
    snprintf(f->se.csrf, sizeof f->se.csrf, "%064d", 7);
    f->se.role = role;
}

static void assert_no_markup_from_data(const char *html)
{
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "<b>局"));
    assert_null(strstr(html, "王<i>"));
    /* The only script elements are the two files. */
    const char *p = html;
    int scripts = 0;
    while ((p = strstr(p, "<script")) != NULL) {
        assert_true(strncmp(p, "<script src=\"/", 14) == 0);
        scripts++;
        p++;
    }
    assert_int_equal(scripts, 2);
}

static void test_overview_page(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, BWW_VIEWER);
    bww_ctx c = { BWW_ZH, &f.se, f.st.at };
    bww_active act = { 0 };
    assert_int_equal(bww_active_load(&act, &f.alerts), 0);
    bww_active_counts counts;
    bww_active_count(&act, &counts);
    bww_active_free(&act);
    bww_overview o = { &f.st, &f.st, &f.st, &counts };
    bww_buf b = { 0 };
    bww_page_overview(&b, &c, &o);
    assert_false(b.oom);
    assert_no_markup_from_data(b.data);
    assert_non_null(strstr(b.data, "&lt;script&gt;alert(1)&lt;/script&gt;项目"));
    assert_non_null(strstr(b.data, "部门整体"));
    /* The total: 150,000,000 fen = 150.00 万元 budget, 52,345,678 fen = 52.34 paid. */
    assert_non_null(strstr(b.data, "data-fen=\"150000000\" title=\"1500000.00 元\">150.00<"));
    assert_non_null(strstr(b.data, "data-fen=\"52345678\" title=\"523456.78 元\">52.34<"));
    assert_non_null(strstr(b.data, "data-count=\"critical\">2<"));
    assert_non_null(strstr(b.data, "data-count=\"unhandled\">1<"));
    assert_non_null(strstr(b.data, "data-count=\"handled\">1<"));
    assert_null(strstr(b.data, "class=\"unavailable\""));
    assert_non_null(strstr(b.data, "<canvas id=\"chart\" data-series=\"/api/v1/series\""));
    assert_non_null(strstr(b.data, "href=\"/project?code=P%3C1%3E\""));
    bww_buf_free(&b);

    c.lang = BWW_EN;
    bww_page_overview(&b, &c, &o);
    assert_non_null(strstr(b.data, "<canvas id=\"chart\" data-series=\"/api/v1/series\""));
    assert_non_null(strstr(b.data, "Department"));
    assert_null(strstr(b.data, "部门整体"));
    bww_buf_free(&b);
}

static void test_alerts_page_roles(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, BWW_VIEWER);
    bww_ctx c = { BWW_ZH, &f.se, f.st.at };
    bww_alerts_page p = { &f.alerts, &f.alerts, "", "<x>", "", "", "", "", 0, false, NULL, NULL };
    bww_buf b = { 0 };
    bww_page_alerts(&b, &c, &p);
    assert_no_markup_from_data(b.data);
    assert_null(strstr(b.data, "action=\"/alerts/ack\""));     /* a viewer: no form */
    assert_non_null(strstr(b.data, "value=\"&lt;x&gt;\""));     /* the filter, escaped */
    assert_non_null(strstr(b.data, "王&lt;i&gt;"));
    assert_non_null(strstr(b.data, "data-stream=\"/events\""));
    bww_buf_free(&b);

    f.se.role = BWW_HANDLER;
    bww_page_alerts(&b, &c, &p);
    assert_non_null(strstr(b.data, "action=\"/alerts/ack\""));
    char want[128];
    snprintf(want, sizeof want, "name=\"csrf\" value=\"%s\"", f.se.csrf);
    assert_non_null(strstr(b.data, want));
    assert_non_null(strstr(b.data, "action=\"/alerts/handle\""));
    assert_null(strstr(b.data, "class=\"unavailable\""));
    assert_null(strstr(b.data, "id=\"form-error\""));
    /* The steps in the words of PROTOCOL.md §1.7; the script's labels from kinds.h, escaped. */
    assert_non_null(strstr(b.data, "<option value=\"followed_up\">已督办</option>"));
    assert_non_null(strstr(b.data, "<option value=\"judged_normal\">认定正常</option>"));
    assert_non_null(strstr(b.data, "&quot;large_payment&quot;:&quot;大额支付&quot;"));
    bww_buf_free(&b);

    /* A refusal of the daemon is shown as its error, escaped. */
    p.notice = "handle: <lag> refused";
    p.refused = true;
    bww_page_alerts(&b, &c, &p);
    assert_non_null(strstr(b.data, "<p class=\"error\" id=\"form-error\">守护进程拒绝了此操作：handle: &lt;lag&gt; refused</p>"));
    bww_buf_free(&b);
}

static void test_project_and_list_pages(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, BWW_HANDLER);
    bww_ctx c = { BWW_ZH, &f.se, f.st.at };
    bww_payment pay[2] = {
        { 9, 1641000000, 500, 1641000001, "bank<1>", "r1", "p1", "refund", "fiscal" },
        { 7, 1640990000, 12345678, 1640990001, "bank<1>", "p1", "", "disbursement", "other" },
    };
    bww_payments ps = { 2, pay, 40, 7 };
    bww_adjustment adj[1] = { { 100000000, 120000000, 1641000000, "追加<b>预算</b>" } };
    bww_adjustments as = { 1, adj };
    bww_detail d = { &f.projects[0], &ps, true, 0, &as, true, &f.alerts, NULL, NULL };
    bww_buf b = { 0 };
    bww_page_project(&b, &c, &d);
    assert_no_markup_from_data(b.data);
    assert_non_null(strstr(b.data, "<title>&lt;script&gt;"));
    assert_non_null(strstr(b.data, "data-fen=\"-500\">-5.00<"));          /* a refund */
    assert_non_null(strstr(b.data, "data-fen=\"12345678\">123456.78<"));
    assert_non_null(strstr(b.data, "before=7\""));                        /* the next page */
    assert_non_null(strstr(b.data, "追加&lt;b&gt;预算&lt;/b&gt;"));
    assert_non_null(strstr(b.data, "bank&lt;1&gt;"));
    bww_buf_free(&b);

    /* budgetwatch-notify's log: not configured, no section; configured, each
     * notification with its receiver and every attempt's answer, escaped. */
    bww_page_project(&b, &c, &d);
    assert_null(strstr(b.data, "通知记录"));
    bww_buf_free(&b);
    bww_note note = { .id = 31, .created_ms = 1641000000000, .at_ms = 1641000005000,
                      .attempts = 2, .nattempts = 2, .nalerts = 1, .nshown = 1 };
    snprintf(note.receiver, sizeof note.receiver, "ops<hook>");
    snprintf(note.rtype, sizeof note.rtype, "webhook");
    snprintf(note.state, sizeof note.state, "sent");
    note.alerts[0].seq = 77;
    snprintf(note.alerts[0].kind, sizeof note.alerts[0].kind, "lag");
    snprintf(note.alerts[0].project, sizeof note.alerts[0].project, "P<1>");
    snprintf(note.attempt[0].result, sizeof note.attempt[0].result, "retry");
    snprintf(note.attempt[0].answer, sizeof note.attempt[0].answer, "HTTP 503: <b>busy</b>");
    snprintf(note.attempt[1].result, sizeof note.attempt[1].result, "sent");
    snprintf(note.attempt[1].answer, sizeof note.attempt[1].answer, "HTTP 200");
    bww_notes notes = { false, 1, &note };
    d.notes = &notes;
    bww_page_project(&b, &c, &d);
    assert_no_markup_from_data(b.data);
    assert_non_null(strstr(b.data, "<tr class=\"note-sent\" data-note=\"31\" data-receiver=\"ops&lt;hook&gt;\">"));
    assert_non_null(strstr(b.data, "<span data-seq=\"77\">"));
    assert_non_null(strstr(b.data, "P&lt;1&gt; #77"));
    assert_non_null(strstr(b.data, "retry: HTTP 503: &lt;b&gt;busy&lt;/b&gt;"));
    assert_non_null(strstr(b.data, "sent: HTTP 200"));
    assert_non_null(strstr(b.data, "已送达"));
    bww_buf_free(&b);
    d.notes = NULL;
    d.notes_error = "budgetwatch-notify did not answer \"log\": <no>";
    bww_page_project(&b, &c, &d);
    assert_null(strstr(b.data, "id=\"notifications\""));
    assert_non_null(strstr(b.data, "id=\"notify-error\""));
    assert_non_null(strstr(b.data, "&lt;no&gt;"));
    bww_buf_free(&b);
    d.notes_error = NULL;

    d.payments_available = d.adjustments_available = false;
    bww_page_project(&b, &c, &d);
    assert_null(strstr(b.data, "id=\"payments\""));
    assert_non_null(strstr(b.data, "class=\"unavailable\""));
    bww_buf_free(&b);

    bww_active_counts firing = { .nbands = 1 };
    snprintf(firing.bands[0].band, sizeof firing.bands[0].band, "红<一>档");
    bww_list_query q = { .per_page = 1, .page = 1, .firing = &firing };
    snprintf(q.sort, sizeof q.sort, "paid");
    snprintf(q.q, sizeof q.q, "\"><script>");
    f.st.matched = 3;
    bww_page_projects(&b, &c, &f.st, &f.st, &q);
    assert_no_markup_from_data(b.data);
    assert_non_null(strstr(b.data, "value=\"&quot;&gt;&lt;script&gt;\""));
    assert_non_null(strstr(b.data, "rel=\"prev\""));
    assert_non_null(strstr(b.data, "rel=\"next\""));
    assert_non_null(strstr(b.data, "q=%22%3E%3Cscript%3E"));
    assert_non_null(strstr(b.data, "data-matched=\"3\""));
    /* The band filter suggests the bands firing, escaped; the download keeps the filters and sort. */
    assert_non_null(strstr(b.data, "<datalist id=\"bands\"><option value=\"红&lt;一&gt;档\">"));
    assert_non_null(strstr(b.data, "href=\"/projects.csv?unit=&amp;band=&amp;alert=&amp;q=%22%3E%3Cscript%3E&amp;sort=paid"));
    bww_buf_free(&b);
}

static void test_login_page(void **state)
{
    (void)state;
    bww_ctx c = { BWW_EN, NULL, 0 };
    bww_buf b = { 0 };
    bww_page_login(&b, &c, "Wrong <password>", "abc");
    assert_non_null(strstr(b.data, "Wrong &lt;password&gt;"));
    assert_non_null(strstr(b.data, "name=\"csrf\" value=\"abc\""));
    assert_null(strstr(b.data, "<nav>"));       /* nothing but the form before logging in */
    bww_buf_free(&b);
}

/* ---- sessions, CSRF, the rate limit ---- */

static void test_sessions_and_csrf(void **state)
{
    (void)state;
    bww_sessions s;
    bww_sessions_init(&s, 600);
    const bww_session *a = bww_session_new(&s, "alice", BWW_HANDLER, 1000);
    assert_non_null(a);
    char token[BWW_TOKEN_HEX + 1], csrf[BWW_TOKEN_HEX + 1];
    snprintf(token, sizeof token, "%s", a->token);
    snprintf(csrf, sizeof csrf, "%s", a->csrf);
    assert_int_equal(strlen(token), BWW_TOKEN_HEX);
    assert_string_not_equal(token, csrf);
    const bww_session *b = bww_session_new(&s, "bob", BWW_VIEWER, 1000);
    assert_string_not_equal(b->token, token);

    const bww_session *g = bww_session_get(&s, token, 1500);
    assert_non_null(g);
    assert_string_equal(g->user, "alice");
    assert_int_equal(g->role, BWW_HANDLER);
    assert_true(bww_csrf_ok(g, csrf));
    assert_false(bww_csrf_ok(g, ""));
    assert_false(bww_csrf_ok(g, NULL));
    char wrong[BWW_TOKEN_HEX + 1];
    snprintf(wrong, sizeof wrong, "%s", csrf);
    wrong[5] = wrong[5] == 'a' ? 'b' : 'a';
    assert_false(bww_csrf_ok(g, wrong));
    assert_false(bww_csrf_ok(g, bww_session_get(&s, b->token, 1500)->csrf));
    assert_false(bww_csrf_ok(NULL, csrf));

    assert_null(bww_session_get(&s, wrong, 1500));
    assert_null(bww_session_get(&s, NULL, 1500));
    assert_null(bww_session_get(&s, "", 1500));
    /* Used at 1500, so it lives to 2100; unused after that it is gone. */
    assert_non_null(bww_session_get(&s, token, 2099));
    assert_null(bww_session_get(&s, token, 2699));
    const bww_session *c = bww_session_new(&s, "carol", BWW_ADMIN, 3000);
    snprintf(token, sizeof token, "%s", c->token);
    bww_session_end(&s, token);
    assert_null(bww_session_get(&s, token, 3001));
    bww_sessions_free(&s);
}

static void test_login_rate_limit(void **state)
{
    (void)state;
    bww_sessions s;
    bww_sessions_init(&s, 600);
    int64_t retry;
    for (int i = 0; i < BWW_LOGIN_TRIES; i++) {
        assert_true(bww_login_allowed(&s, "10.0.0.1", 100 + i, &retry));
        bww_login_failed(&s, "10.0.0.1", 100 + i);
    }
    assert_false(bww_login_allowed(&s, "10.0.0.1", 110, &retry));
    assert_int_equal(retry, 100 + BWW_LOGIN_WINDOW - 110);
    assert_true(bww_login_allowed(&s, "10.0.0.2", 110, &retry));    /* another address */
    assert_true(bww_login_allowed(&s, "10.0.0.1", 100 + BWW_LOGIN_WINDOW, &retry));
    bww_login_failed(&s, "10.0.0.2", 120);
    bww_login_succeeded(&s, "10.0.0.2");
    for (int i = 0; i < BWW_LOGIN_TRIES - 1; i++)
        bww_login_failed(&s, "10.0.0.2", 130);
    assert_true(bww_login_allowed(&s, "10.0.0.2", 131, &retry));    /* the success forgot one */
    bww_sessions_free(&s);
}

static void test_password_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/bww-accounts.XXXXXX", why[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);       /* a missing file is no accounts */
    bww_accounts a;
    assert_int_equal(bww_accounts_load(path, &a, why, sizeof why), 0);
    assert_int_equal(a.n, 0);
    assert_int_equal(bww_accounts_set(path, "alice", BWW_HANDLER, "correct horse", why, sizeof why), 0);
    assert_int_equal(bww_accounts_set(path, "王芳", BWW_VIEWER, "另一个密码", why, sizeof why), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(bww_accounts_set(path, "alice", BWW_ADMIN, "battery staple", why, sizeof why), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);      /* the mode it had is kept */
    assert_int_equal(bww_accounts_set(path, "bad name", BWW_ADMIN, "x", why, sizeof why), -1);
    assert_non_null(strstr(why, "bad name"));
    assert_int_equal(bww_accounts_load(path, &a, why, sizeof why), 0);
    assert_int_equal(a.n, 2);
    assert_non_null(strstr(a.v[0].hash, "$argon2id$"));
    const bww_account *ok = bww_accounts_check(&a, "alice", "battery staple");
    assert_non_null(ok);
    assert_int_equal(ok->role, BWW_ADMIN);
    assert_null(bww_accounts_check(&a, "alice", "correct horse"));   /* replaced */
    assert_null(bww_accounts_check(&a, "alice", "battery stapl"));
    assert_null(bww_accounts_check(&a, "nobody", "battery staple"));
    assert_non_null(bww_accounts_check(&a, "王芳", "另一个密码"));
    bww_accounts_free(&a);

    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "carol superuser $argon2id$x\n");
    fclose(f);
    assert_int_equal(bww_accounts_load(path, &a, why, sizeof why), -1);
    assert_non_null(strstr(why, ":4: expected \"NAME ROLE HASH\""));
    unlink(path);
    assert_int_equal(bww_role_parse("handler"), BWW_HANDLER);
    assert_int_equal(bww_role_parse("root"), -1);
}

static bww_alert msg(uint64_t seq, const char *project, int kind, int state, int severity,
                     const char *band, const char *handling)
{
    bww_alert a;
    memset(&a, 0, sizeof a);
    a.m.seq = seq;
    snprintf(a.m.project, sizeof a.m.project, "%s", project);
    a.m.kind = (uint8_t)kind;
    a.m.state = (uint8_t)state;
    a.m.severity = (uint8_t)severity;
    snprintf(a.band, sizeof a.band, "%s", band);
    snprintf(a.handling, sizeof a.handling, "%s", handling);
    return a;
}

/* The mirror against a model: a random stream of messages applied in seq
 * order must leave the same set as the model's map of (project, kind). */
static void test_active_mirror(void **state)
{
    (void)state;
    bww_alert snap_v[2] = {
        msg(7, "B", BW_KIND_LAG, BW_STATE_FIRING, BW_SEV_WARNING, "黄", ""),
        msg(9, "A", BW_KIND_MILESTONE, BW_STATE_ACKNOWLEDGED, BW_SEV_CRITICAL, "", ""),
    };
    bww_alerts snap = { 10, false, 2, snap_v };
    bww_active a = { 0 };
    bww_active_counts c;
    assert_int_equal(bww_active_apply(&a, &snap_v[0]), 1);     /* no snapshot yet */
    assert_int_equal(bww_active_load(&a, &snap), 0);
    bww_active_count(&a, &c);
    assert_int_equal(c.severity[BW_SEV_WARNING], 1);
    assert_int_equal(c.severity[BW_SEV_CRITICAL], 1);
    assert_int_equal(c.unhandled, 1);
    assert_int_equal(c.handled, 1);
    assert_int_equal(c.nbands, 1);
    assert_string_equal(c.bands[0].band, "黄");

    bww_alert m = msg(10, "Z", BW_KIND_LAG, BW_STATE_FIRING, BW_SEV_CRITICAL, "", "");
    assert_int_equal(bww_active_apply(&a, &m), 0);              /* in the snapshot already */
    assert_int_equal(a.n, 2);
    m = msg(11, "B", BW_KIND_LAG, BW_STATE_FIRING, BW_SEV_CRITICAL, "红一档", "followed_up");
    assert_int_equal(bww_active_apply(&a, &m), 0);
    m = msg(12, "", BW_KIND_SOURCE_GAP, BW_STATE_FIRING, BW_SEV_WARNING, "", "");
    assert_int_equal(bww_active_apply(&a, &m), 0);              /* a notice: seq only */
    m = msg(13, "A", BW_KIND_MILESTONE, BW_STATE_RESOLVED, BW_SEV_CRITICAL, "", "");
    assert_int_equal(bww_active_apply(&a, &m), 0);
    bww_active_count(&a, &c);
    assert_int_equal(a.n, 1);
    assert_int_equal(c.severity[BW_SEV_CRITICAL], 1);
    assert_int_equal(c.handled, 1);                             /* handled by its handling */
    assert_string_equal(c.bands[0].band, "红一档");
    assert_false(bww_active_behind(&a, 13));
    assert_true(bww_active_behind(&a, 14));
    m = msg(15, "C", BW_KIND_LAG, BW_STATE_FIRING, BW_SEV_WARNING, "", "");
    assert_int_equal(bww_active_apply(&a, &m), 1);              /* 14 is missing */
    assert_false(a.synced);

    /* Seeded random stream against a model. */
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    bww_alerts empty = { 100, false, 0, NULL };
    assert_int_equal(bww_active_load(&a, &empty), 0);
    int model[50][4];
    memset(model, 0, sizeof model);
    for (uint64_t seq = 101; seq < 3000; seq++) {
        int p = rand() % 50, k = rand() % 4, st = rand() % 3;
        char code[8];
        snprintf(code, sizeof code, "P%02d", p);
        m = msg(seq, code, k, st, 1 + rand() % 2, "", "");
        assert_int_equal(bww_active_apply(&a, &m), 0);
        model[p][k] = st != BW_STATE_RESOLVED;
    }
    size_t want = 0;
    for (int p = 0; p < 50; p++)
        for (int k = 0; k < 4; k++)
            want += (size_t)model[p][k];
    if (a.n != want)
        fail_msg("mirror holds %zu alerts, the model %zu (seed %u)", a.n, want, seed);
    /* The newest five are the five largest seqs, oldest of them first. */
    bww_alerts newest;
    assert_int_equal(bww_active_newest(&a, 5, &newest), 0);
    uint64_t top[5] = { 0 };
    for (size_t i = 0; i < a.n; i++) {
        uint64_t q = a.v[i].seq;
        for (int k = 0; k < 5; k++)
            if (q > top[k]) {
                uint64_t t = top[k];
                top[k] = q;
                q = t;
            }
    }
    assert_int_equal(newest.n, a.n < 5 ? a.n : 5);
    for (size_t i = 0; i < newest.n; i++)
        assert_int_equal(newest.v[i].m.seq, top[newest.n - 1 - i]);
    assert_int_equal(newest.seq, 2999);
    bww_alerts_free(&newest);
    for (size_t i = 1; i < a.n; i++)
        assert_true(strcmp(a.v[i - 1].project, a.v[i].project) < 0 ||
                    (strcmp(a.v[i - 1].project, a.v[i].project) == 0 && a.v[i - 1].kind < a.v[i].kind));
    bww_active_free(&a);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config(void **state)
{
    (void)state;
    char path[] = "/tmp/bww-conf.XXXXXX", why[1024];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bww_config c;
    bww_config_defaults(&c);
    assert_string_equal(c.listen_addr, "127.0.0.1");
    assert_int_equal(c.port, 8680);
    write_file(path, "[web]\nlisten = 0.0.0.0:9001\nsession_ttl = 600\nsecure_cookies = yes\n[daemon]\n"
                     "control = tcp://127.0.0.1:7603\ntimeout = 250\n");
    assert_int_equal(bww_config_load(path, &c, why, sizeof why), 0);
    assert_string_equal(c.listen_addr, "0.0.0.0");
    assert_int_equal(c.port, 9001);
    assert_int_equal(c.session_ttl, 600);
    assert_true(c.secure_cookies);
    assert_string_equal(c.control, "tcp://127.0.0.1:7603");
    assert_int_equal(c.timeout_ms, 250);
    assert_int_equal(bww_config_keys(&c, why, sizeof why), 0);     /* no keys: plain */

    static const struct { const char *text, *want; } bad[] = {
        { "[web]\n\nlisten = 8680\n", ":3: listen must be ADDRESS:PORT" },
        { "[web]\nlisten = 127.0.0.1:70000\n", ":2: the port of listen must be" },
        { "[daemon]\ncolour = red\n", ":2: unknown setting [daemon] colour" },
        { "[web]\nsession_ttl = 5\n", ":2: session_ttl must be" },
        { "[web]\nsecure_cookies = maybe\n", ":2: secure_cookies must be yes or no" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bww_config_defaults(&c);
        write_file(path, bad[i].text);
        assert_int_equal(bww_config_load(path, &c, why, sizeof why), -1);
        if (strstr(why, bad[i].want) == NULL || strncmp(why, path, strlen(path)) != 0)
            fail_msg("config %zu: \"%s\" does not say \"%s\"", i, why, bad[i].want);
    }
    bww_config_defaults(&c);
    snprintf(c.server_cert, sizeof c.server_cert, "/nonexistent/server.cert");
    assert_int_equal(bww_config_keys(&c, why, sizeof why), -1);
    assert_non_null(strstr(why, "/nonexistent/server.cert"));
    bww_config_defaults(&c);
    snprintf(c.server_key, sizeof c.server_key, "%040d", 1);
    assert_int_equal(bww_config_keys(&c, why, sizeof why), -1);
    assert_non_null(strstr(why, "no key of this console"));
    unlink(path);
}

/* 导出: a BOM, 万元 exact to the fen, RFC 4180 quoting, no formula from a name. */
static void test_csv_export(void **state)
{
    (void)state;
    char w[40];
    assert_string_equal(bw_money_format_wan6(1, w, sizeof w), "0.000001");
    assert_string_equal(bw_money_format_wan6(-12345678901, w, sizeof w), "-12345.678901");
    assert_string_equal(bw_money_format_wan6(INT64_MIN, w, sizeof w), "-9223372036854.775808");
    bww_ctx c = { BWW_ZH, NULL, 0 };
    bww_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.r.unit, sizeof r.r.unit, "U1");
    snprintf(r.r.unit_name, sizeof r.r.unit_name, "单位,一");
    snprintf(r.r.project, sizeof r.r.project, "P1");
    snprintf(r.r.project_name, sizeof r.r.project_name, "=HYPERLINK(\"x\")");
    r.r.budget = 123456789;
    r.r.paid = -5;
    r.r.rate_bp = 3750;
    r.r.basis = BW_BASIS_PACE;
    r.r.firing = 2;
    snprintf(r.band, sizeof r.band, "红一档");
    bww_buf b = { 0 };
    bww_csv_projects_head(&b, &c);
    assert_memory_equal(b.data, "\xEF\xBB\xBF单位编码,单位名称,项目编码,项目名称,", 3 + 4 * 13);
    size_t head = b.len;
    bww_csv_project_row(&b, &c, &r);
    assert_string_equal(b.data + head,
                        "U1,\"单位,一\",P1,\"'=HYPERLINK(\"\"x\"\")\",123.456789,-0.000005,37.50,0.00,0.00,"
                        "0.00,0.00,0.000000,0.000000,序时进度,红一档,2\r\n");
    bww_buf_free(&b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_money_from_fen),
        cmocka_unit_test(test_form_fields),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_overview_page),
        cmocka_unit_test(test_alerts_page_roles),
        cmocka_unit_test(test_project_and_list_pages),
        cmocka_unit_test(test_login_page),
        cmocka_unit_test(test_sessions_and_csrf),
        cmocka_unit_test(test_login_rate_limit),
        cmocka_unit_test(test_password_round_trip),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_active_mirror),
        cmocka_unit_test(test_csv_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
