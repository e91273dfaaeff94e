/* kinds: the one table of alert kinds. Every kind is one line of BW_KIND_MAP;
 * the enum, the wire words, the counts, the scope and ack tests, the labels of
 * the surfaces and the core's rules (daemon/core/rule.c) all come from it, the
 * way libuv's UV_ERRNO_MAP gives its codes, names and messages. Header-only and
 * free of msgpack, so the pure core can use it; included by vocab.h.
 *
 * Columns of XX(NAME, name, scope, ack, label, description):
 *   NAME         the enum constant's suffix: BW_KIND_NAME
 *   name         the wire word (PROTOCOL.md §1.3), also the word the ledger keeps
 *                the alert slots under, and the suffix of the core's rule,
 *                bw_rule_name (one file, daemon/core/rule_name.c)
 *   scope        PROJECT: the core keeps one slot per project and its rule says
 *                when it fires; DAEMON: raised by the shell, no slot, no rule
 *   ack          ACK: a supervisor may acknowledge it; NO_ACK: ack refuses it
 *   label        a short Chinese name for the surfaces (console, reports)
 *   description  one line on what it means
 *
 * The enum values are the order of the lines. They are never written to the
 * wire or to the ledger (both use the words), so a line may go anywhere, but
 * the project kinds come first: the engine keeps its slots in an array indexed
 * by kind (checked below). Today's values are fixed by tests/unit/test_proto.c.
 *
 * A new kind: a line here (a project kind before SOURCE_GAP), and for a project
 * kind its rule file daemon/core/rule_<name>.c defining bw_rule_<name>, plus the
 * one-line entry in PROTOCOL.md §1.3. The ledger needs no schema change. */
#ifndef BW_KINDS_H
#define BW_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define BW_KIND_MAP(XX)                                                                          \
    XX(LAG, lag, PROJECT, ACK, "进度滞后",                                                       \
       "the execution rate trails the plan by the warning (or critical) threshold")               \
    XX(MILESTONE, milestone, PROJECT, ACK, "节点未达",                                          \
       "a milestone's deadline passed with the rate below the share it asks for")                 \
    XX(OVERSPEND, overspend, PROJECT, ACK, "超预算",                                            \
       "more has been paid than the (adjusted) budget")                                           \
    XX(YEAR_END, year_end, PROJECT, ACK, "年末未达标",                                          \
       "the year ended with the rate below the project's target")                                 \
    XX(STALLED, stalled, PROJECT, ACK, "长期未支付",                                            \
       "no payment for stalled_days while the project is below its basis")                        \
    XX(LARGE_PAYMENT, large_payment, PROJECT, ACK, "大额支付",                                  \
       "one payment at or above the large-payment share of the budget or amount")                 \
    XX(BURST, burst, PROJECT, ACK, "异常高频支付",                                              \
       "more than burst_payments payments to one project within burst_window")                    \
    XX(YEAR_END_RUSH, year_end_rush, PROJECT, ACK, "突击支出",                                  \
       "more than year_end_rush_pct of the year's payments in its last year_end_rush_days")       \
    XX(SOURCE_GAP, source_gap, DAEMON, NO_ACK, "序号缺口",                                      \
       "a source's seq jumped, so events may be missing (a one-time notice)")                     \
    XX(LEDGER_DAMAGED, ledger_damaged, DAEMON, NO_ACK, "账本损坏",                              \
       "the periodic integrity check found damage in the ledger file")

typedef enum bw_kind_scope { BW_SCOPE_PROJECT = 0, BW_SCOPE_DAEMON = 1 } bw_kind_scope;
#define BW_KIND_ACK_ACK 1
#define BW_KIND_ACK_NO_ACK 0

typedef enum bw_alert_kind {
#define BW_KIND_ENUM_(NAME, name, scope, ack, label, description) BW_KIND_##NAME,
    BW_KIND_MAP(BW_KIND_ENUM_)
#undef BW_KIND_ENUM_
} bw_alert_kind;

/* The counts, as int constants like any #define (the helpers stay defined, as
 * the counts expand to them where they are used). */
#define BW_KIND_COUNT_(NAME, name, scope, ack, label, description) +1
#define BW_KIND_COUNT_PROJECT_(NAME, name, scope, ack, label, description) \
    +(BW_SCOPE_##scope == BW_SCOPE_PROJECT)
#define BW_KINDS (0 BW_KIND_MAP(BW_KIND_COUNT_))                    /* every kind */
#define BW_PROJECT_KINDS (0 BW_KIND_MAP(BW_KIND_COUNT_PROJECT_))    /* the kinds the core keeps per project */

/* The engine's slot array is indexed by kind: project kinds are 0 .. BW_PROJECT_KINDS-1.
 * (The count is taken first: BW_KIND_MAP cannot expand inside itself.) */
enum { BW_KIND_PROJECT_COUNT_ = BW_PROJECT_KINDS };
#define BW_KIND_FIRST_(NAME, name, scope, ack, label, description)                                \
    _Static_assert(BW_SCOPE_##scope != BW_SCOPE_PROJECT || (int)BW_KIND_##NAME < (int)BW_KIND_PROJECT_COUNT_,      \
                   "project kind " #name " must come before the daemon's kinds in BW_KIND_MAP");
BW_KIND_MAP(BW_KIND_FIRST_)
#undef BW_KIND_FIRST_

/* One kind as the table says it; every string is static. */
typedef struct bw_kind_info {
    const char *name;           /* the wire word */
    bw_kind_scope scope;
    bool ackable;
    const char *label;          /* short Chinese name */
    const char *description;    /* one line, English */
} bw_kind_info;

/* The table's line for kind k, or NULL if k is no kind. */
static inline const bw_kind_info *bw_kind_info_of(int k)
{
    static const bw_kind_info info[BW_KINDS] = {
#define BW_KIND_INFO_(NAME, name, scope, ack, label, description) \
    { #name, BW_SCOPE_##scope, BW_KIND_ACK_##ack, label, description },
        BW_KIND_MAP(BW_KIND_INFO_)
#undef BW_KIND_INFO_
    };
    return k >= 0 && k < BW_KINDS ? &info[k] : NULL;
}

/* The wire words of all kinds, indexed by kind (BW_KINDS of them). */
static inline const char *const *bw_kind_names(void)
{
    static const char *const names[BW_KINDS] = {
#define BW_KIND_NAME_(NAME, name, scope, ack, label, description) #name,
        BW_KIND_MAP(BW_KIND_NAME_)
#undef BW_KIND_NAME_
    };
    return names;
}

/* The wire word of kind k; "?" if k is no kind. */
static inline const char *bw_kind_name(int k)
{
    return k >= 0 && k < BW_KINDS ? bw_kind_names()[k] : "?";
}

/* The kind a wire word names, or -1 for an unknown word. */
static inline int bw_kind_parse(const char *s)
{
    for (int k = 0; k < BW_KINDS; k++)
        if (strcmp(s, bw_kind_names()[k]) == 0)
            return k;
    return -1;
}

/* Whether the core keeps kind k per project (false for the daemon's kinds and
 * for a value that is no kind). */
static inline bool bw_kind_is_project(int k)
{
    const bw_kind_info *i = bw_kind_info_of(k);
    return i != NULL && i->scope == BW_SCOPE_PROJECT;
}

/* Whether a supervisor may acknowledge kind k. */
static inline bool bw_kind_ackable(int k)
{
    const bw_kind_info *i = bw_kind_info_of(k);
    return i != NULL && i->ackable;
}

static inline const char *bw_kind_label(int k)
{
    const bw_kind_info *i = bw_kind_info_of(k);
    return i != NULL ? i->label : "?";
}

static inline const char *bw_kind_description(int k)
{
    const bw_kind_info *i = bw_kind_info_of(k);
    return i != NULL ? i->description : "?";
}

/* Writes the words of the kinds ack takes into buf (n bytes, always
 * NUL-terminated when n > 0) as a sentence's list: "lag, milestone, overspend
 * or year_end". Returns the length the whole list needs, as snprintf does, so
 * a result >= n means it was cut short. */
static inline size_t bw_kinds_ackable_list(char *buf, size_t n)
{
    int total = 0, left = 0;
    for (int k = 0; k < BW_KINDS; k++)
        left += bw_kind_ackable(k);
    size_t len = 0;
    if (n > 0)
        buf[0] = '\0';
    for (int k = 0; k < BW_KINDS; k++) {
        if (!bw_kind_ackable(k))
            continue;
        left--;
        const char *sep = total == 0 ? "" : left == 0 ? " or " : ", ";
        int w = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, "%s%s", sep,
                         bw_kind_name(k));
        total++;
        len += w > 0 ? (size_t)w : 0;
    }
    return len;
}

#endif
