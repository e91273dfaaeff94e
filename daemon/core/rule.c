/* rule: the core's side of the kind table, from kind to rule. Derived from
 * BW_KIND_MAP, so a project kind without its rule file does not link. */
#include "rule.h"

#include <stddef.h>

#define RULE_OF_PROJECT(name) &bw_rule_##name
#define RULE_OF_DAEMON(name) NULL
#define RULE_ENTRY(NAME, name, scope, ack, label, description) \
    [BW_KIND_##NAME] = RULE_OF_##scope(name),

static const bw_rule *const rules[BW_KINDS] = { BW_KIND_MAP(RULE_ENTRY) };

const bw_rule *bw_rule_of(int kind)
{
    return kind >= 0 && kind < BW_KINDS ? rules[kind] : NULL;
}
