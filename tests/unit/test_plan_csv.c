/* test_plan_csv: the Zunhua plan loads to the fen; every plan-file error is
 * reported with file, line, column and what to do; nothing is half-loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan.h"
#include "vocab.h"

#define HDR "unit_code,unit_name,project_code,project_name,budget_wan,fiscal_wan,milestones,target_pct\n"
#define ROW1 "323003,遵化市社保服务中心,P1,项目一,18692,,,\n"

static bw_plan_opts opts(int year)
{
    bw_plan_opts o = { .fiscal_year = year, .default_target_bp = 9500 };
    char why[256];
    assert_int_equal(bw_schedule_parse("03-31:30;06-30:60;10-31:90;12-31:100", 36, year,
                                       &o.default_schedule, why, sizeof why), 0);
    return o;
}

static bw_plan *parse(const char *text, bw_err *err)
{
    bw_plan_opts o = opts(2022);
    return bw_plan_parse_csv(text, strlen(text), "plan.csv", &o, err);
}

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", BW_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void test_zunhua_plan(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp("examples/zunhua-2022/plan.csv", &len);
    bw_plan_opts o = opts(2022);
    bw_err err;
    bw_plan *p = bw_plan_parse_csv(buf, len, "plan.csv", &o, &err);
    if (p == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(bw_plan_nprojects(p), 27);
    assert_int_equal(bw_plan_nunits(p), 3);
    /* Unit totals from the source tables, in 万元: 323003 = 37765.7 (18 projects),
     * 323001 = 155 (5), 323004 = 315.29 (4). */
    int64_t by_unit[3] = { 0 };
    const char *codes[3] = { "323003", "323001", "323004" };
    for (size_t i = 0; i < 27; i++) {
        const bw_project_def *d = bw_plan_project(p, i);
        for (int u = 0; u < 3; u++)
            if (strcmp(bw_plan_unit(p, d->unit)->code, codes[u]) == 0)
                by_unit[u] += d->budget;
        assert_int_equal(d->fiscal, d->budget);
        assert_int_equal(bw_plan_schedule(p, d->schedule)->n, 4);
    }
    assert_int_equal(by_unit[0], 37765700000LL);
    assert_int_equal(by_unit[1], 155000000LL);
    assert_int_equal(by_unit[2], 315290000LL);
    int64_t ix = bw_plan_find_project(p, "13028121A4BSUL3AG2ZDW", 21);
    assert_true(ix >= 0);
    assert_int_equal(bw_plan_project(p, (size_t)ix)->budget, 5760000);      /* 5.76 万元 */
    ix = bw_plan_find_project(p, "130281212Z3GP27HDT7WR", 21);
    assert_int_equal(bw_plan_project(p, (size_t)ix)->budget, 2258320000LL); /* 2258.32 万元 */
    ix = bw_plan_find_project(p, "323-0804-YXN-8B8X", 17);
    assert_true(ix >= 0);
    ix = bw_plan_find_project(p, "13028122P003266100023", 21);
    assert_int_equal(bw_plan_project(p, (size_t)ix)->target_bp, 10000);
    bw_plan_free(&p);
    assert_null(p);
    free(buf);
}

static void test_raw_transcription_duplicate(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp("tests/fixtures/zunhua-2022-raw.csv", &len);
    bw_plan_opts o = opts(2022);
    bw_err err;
    bw_plan *p = bw_plan_parse_csv(buf, len, "zunhua-2022-raw.csv", &o, &err);
    assert_null(p);
    assert_string_equal(err.msg, "zunhua-2022-raw.csv:19:3: project code \"130281217I5TGSXWWO284\" "
                                 "appears twice (lines 11 and 19); give each project its own code");
    free(buf);
}

typedef struct bad_case {
    const char *name;
    const char *text;
    const char *msg;     /* the whole message, or its start */
} bad_case;

static const bad_case bad_cases[] = {
    { "empty budget", HDR "323003,U,P1,N,,,,\n",
      "plan.csv:2:5: budget_wan \"\" is not an amount in 万元 (empty amount;" },
    { "non-numeric budget", HDR "323003,U,P1,N,12万,,,\n",
      "plan.csv:2:5: budget_wan \"12万\" is not an amount in 万元 (not an amount" },
    { "seven decimals", HDR "323003,U,P1,N,1.0000001,,,\n",
      "plan.csv:2:5: budget_wan \"1.0000001\" is not an amount in 万元 (more decimals than a fen can hold" },
    { "zero budget", HDR "323003,U,P1,N,0,,,\n", "plan.csv:2:5: budget_wan is 0; a project needs a budget" },
    { "fiscal over budget", HDR "323003,U,P1,N,10,10.01,,\n",
      "plan.csv:2:6: fiscal_wan is more than budget_wan" },
    { "dates not increasing", HDR "323003,U,P1,N,10,,06-30:30;03-31:60;12-31:100,\n",
      "plan.csv:2:7: milestones: milestone 2 (03-31) is not after milestone 1 (06-30); dates must increase" },
    { "percent not increasing", HDR "323003,U,P1,N,10,,03-31:60;06-30:60;12-31:100,\n",
      "plan.csv:2:7: milestones: milestone 2 (60.00%) is not above milestone 1 (60.00%)" },
    { "02-29 in 2022", HDR "323003,U,P1,N,10,,02-29:30;12-31:100,\n",
      "plan.csv:2:7: milestones: milestone 1 \"02-29:30\": 02-29 does not exist in 2022" },
    { "percent over 100", HDR "323003,U,P1,N,10,,03-31:130;12-31:100,\n",
      "plan.csv:2:7: milestones: milestone 1 \"03-31:130\": a percentage over 100" },
    { "last under 100", HDR "323003,U,P1,N,10,,03-31:30;12-31:90,\n",
      "plan.csv:2:7: milestones: the last milestone is 90.00%, under 100 %" },
    { "target over 100", HDR "323003,U,P1,N,10,,,101\n",
      "plan.csv:2:8: target_pct 101 is over 100" },
    { "duplicate code", HDR ROW1 "323003,遵化市社保服务中心,P1  ,项目二,5,,,\n",
      "plan.csv:3:3: project code \"P1\" appears twice (lines 2 and 3); give each project its own code" },
    { "unit renamed", HDR ROW1 "323003,另一个名字,P2,项目二,5,,,\n",
      "plan.csv:3:2: unit 323003 is named \"遵化市社保服务中心\" on line 2 but \"另一个名字\" here" },
    { "too few fields", HDR "323003,U,P1,N,10\n",
      "plan.csv:2: 5 fields, but the header has 8" },
    { "unknown column", "unit_code,unit_name,project_code,project_name,budget_wan,budget_yuan\n",
      "plan.csv:1:6: unknown column \"budget_yuan\"" },
    { "missing column", "unit_code,unit_name,project_code,project_name\n",
      "plan.csv:1: the header has no \"budget_wan\" column" },
    { "empty code", HDR "323003,U,,N,10,,,\n", "plan.csv:2:3: project_code is empty; every row needs one" },
    { "line break in a name", HDR "323003,U,P1,\"two\nlines\",10,,,\n",
      "plan.csv:3:4: project_name contains the control character 0x0A at byte 4; codes and names "
      "must be one line of text" },
    { "escape in a code", HDR "323003,U,P\x1b[2J,N,10,,,\n",
      "plan.csv:2:3: project_code contains the control character 0x1B at byte 2" },
    { "unterminated quote", HDR "323003,U,P1,\"N,10,,,\n",
      "plan.csv:3: a quoted cell is not closed before the end of the file" },
    { "bad lag_basis", "unit_code,unit_name,project_code,project_name,budget_wan,lag_basis\n"
      "323003,U,P1,N,10,序时\n",
      "plan.csv:2:6: lag_basis \"序时\" is not plan, pace or both; write one of them, or leave the "
      "cell empty for [alerts] lag_basis" },
    { "header only", HDR, "plan.csv: the plan has a header but no projects" },
    { "empty file", "", "plan.csv: the file is empty" },
};

static void test_every_error_names_where(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        bw_err err;
        err.msg[0] = '\0';
        bw_plan *p = parse(bad_cases[i].text, &err);
        if (p != NULL)
            fail_msg("%s: the plan was accepted", bad_cases[i].name);
        if (strncmp(err.msg, bad_cases[i].msg, strlen(bad_cases[i].msg)) != 0)
            fail_msg("%s:\n got  %s\n want %s", bad_cases[i].name, err.msg, bad_cases[i].msg);
    }
}

static void test_gbk_is_not_utf8(void **state)
{
    (void)state;
    /* "遵化" in GBK: D7 F1 BB AF. */
    const char text[] = HDR "323003,\xD7\xF1\xBB\xAF,P1,N,10,,,\n";
    bw_err err;
    assert_null(parse(text, &err));
    assert_string_equal(err.msg, "plan.csv:2: byte 8 of the line (0xD7) is not valid UTF-8; the file "
                                 "is probably GBK (common in exports from Chinese office software): "
                                 "convert it with iconv -f GBK -t UTF-8 plan.csv > plan.csv.utf8");
}

/* Excel's "Unicode text" is UTF-16 LE with a BOM; without one, an ASCII
 * byte beside a zero gives it away. Either way the advice is not GBK's. */
static void test_utf16_is_named(void **state)
{
    (void)state;
    static const char bom[] = "\xFF\xFEu\0n\0i\0t\0", bare[] = "u\0n\0i\0t\0";
    const char *texts[] = { bom, bare };
    size_t lens[] = { sizeof bom - 1, sizeof bare - 1 };
    for (int i = 0; i < 2; i++) {
        bw_plan_opts o = opts(2022);
        bw_err err;
        assert_null(bw_plan_parse_csv(texts[i], lens[i], "plan.csv", &o, &err));
        assert_string_equal(err.msg, "plan.csv:1: the file is UTF-16 (Excel's \"Unicode text\"), "
                                     "not UTF-8: save it as \"CSV UTF-8\" instead, or convert it "
                                     "with iconv -f UTF-16 -t UTF-8 plan.csv > plan.csv.utf8");
    }
}

static void test_format_variants(void **state)
{
    (void)state;
    /* BOM, CRLF, another column order, quotes with commas and doubled quotes,
     * trailing spaces around codes, a blank line, a project schedule and target. */
    const char text[] =
        "\xEF\xBB\xBFproject_code,budget_wan,unit_code,project_name,unit_name,milestones,target_pct\r\n"
        "  A-1   ,2258.32,323001,\"名称, 带逗号 \"\"引号\"\"\",局,06-30:50;12-31:100,97.5\r\n"
        "\r\n"
        "B-2,0.000001,323001,b,局,,\r\n";
    bw_err err;
    bw_plan *p = parse(text, &err);
    if (p == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(bw_plan_nprojects(p), 2);
    const bw_project_def *a = bw_plan_project(p, 0);
    assert_string_equal(a->code, "A-1");
    assert_string_equal(a->name, "名称, 带逗号 \"引号\"");
    assert_int_equal(a->budget, 2258320000LL);
    assert_int_equal(a->target_bp, 9750);
    assert_int_equal(a->line, 2);
    const bw_schedule *s = bw_plan_schedule(p, a->schedule);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->m[0].bp, 5000);
    const bw_project_def *b = bw_plan_project(p, 1);
    assert_int_equal(b->budget, 1);
    assert_int_equal(b->target_bp, 9500);
    assert_int_equal(b->line, 4);
    assert_int_equal(bw_plan_nschedules(p), 2);
    bw_plan_free(&p);
}

static void test_leap_year_and_schedule_format(void **state)
{
    (void)state;
    bw_schedule s;
    char why[256], buf[128];
    assert_int_equal(bw_schedule_parse("02-29:50;12-31:100", 18, 2024, &s, why, sizeof why), 0);
    assert_int_equal(bw_schedule_parse(" 03-31:33.33 ; 12-31:100 ", 25, 2022, &s, why, sizeof why), 0);
    assert_int_equal(s.m[0].bp, 3333);
    assert_string_equal(bw_schedule_format(&s, buf, sizeof buf), "03-31:33.33;12-31:100");
    assert_int_equal(bw_schedule_parse("3-31:30;12-31:100", 17, 2022, &s, why, sizeof why), -1);
    assert_non_null(strstr(why, "write it as MM-DD:PERCENT"));
}

/* The optional lag_basis column: a project's own basis, empty for the configured one. */
static void test_lag_basis_column(void **state)
{
    (void)state;
    bw_err err;
    bw_plan *p = parse("unit_code,unit_name,project_code,project_name,budget_wan,lag_basis\n"
                       "323003,U,P1,N,10,pace\n323003,U,P2,N,10,\n323003,U,P3,N,10,both\n"
                       "323003,U,P4,N,10,plan\n", &err);
    if (p == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(bw_plan_project(p, 0)->basis, BW_BASIS_PACE + 1);
    assert_int_equal(bw_plan_project(p, 1)->basis, 0);
    assert_int_equal(bw_plan_project(p, 2)->basis, BW_BASIS_BOTH + 1);
    assert_int_equal(bw_plan_project(p, 3)->basis, BW_BASIS_PLAN + 1);
    bw_plan_free(&p);
}

static void test_large_plan(void **state)
{
    (void)state;
    enum { N = 100000 };
    size_t cap = (size_t)N * 64 + 256, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf, cap, "unit_code,unit_name,project_code,project_name,budget_wan\n");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(buf + len, cap - len, "U%03d,单位%03d,P%06d,项目%06d,%d.%02d\n",
                                i % 500, i % 500, i, i, 1 + i % 9999, i % 100);
    bw_plan_opts o = opts(2022);
    bw_err err;
    bw_plan *p = bw_plan_parse_csv(buf, len, "big.csv", &o, &err);
    if (p == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(bw_plan_nprojects(p), N);
    assert_int_equal(bw_plan_nunits(p), 500);
    assert_int_equal(bw_plan_find_project(p, "P099999", 7), N - 1);
    assert_int_equal(bw_plan_project(p, N - 1)->budget, (1 + (N - 1) % 9999) * 1000000LL + 990000);
    bw_plan_free(&p);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zunhua_plan),
        cmocka_unit_test(test_raw_transcription_duplicate),
        cmocka_unit_test(test_every_error_names_where),
        cmocka_unit_test(test_gbk_is_not_utf8),
        cmocka_unit_test(test_utf16_is_named),
        cmocka_unit_test(test_format_variants),
        cmocka_unit_test(test_leap_year_and_schedule_format),
        cmocka_unit_test(test_large_plan),
        cmocka_unit_test(test_lag_basis_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
