/* slots: the text in which the ledger keeps one project's alert slots, keyed
 * by the kind's wire word, so that a new kind needs no schema change and the
 * order of the kind table is nothing to the ledger. One
 *
 *     word:severity,acked,ms,since,last_sent[,band,handling,normal,quiet]
 *
 * per slot that is not empty (empty: every field 0, as the engine leaves a
 * slot that resolved), in the table's order; the last four only when one
 * of them says more than version 4's five did (a lag's band is then its
 * severity, the others' 0), ';' between them; "" when every
 * slot is empty. For example
 *
 *     lag:2,1,0,1644854400,1649520000;milestone:2,0,1,1648742400,1649520000
 *
 * Pure: no SQLite here; the store binds and reads the text. */
#ifndef BW_SLOTS_H
#define BW_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

/* Room for every slot at its longest, and the NUL. */
#define BW_SLOTS_TEXT_MAX (BW_PROJECT_KINDS * 96 + 1)

/* Whether a slot holds nothing worth keeping (every field 0). */
bool bw_slot_is_empty(const bw_slot *s);
/* Whether any of band, handling, normal, quiet is set. */
bool bw_slot_has_handling(const bw_slot *s);
/* Whether slot s of kind says more than version 4's five fields could: a
 * handling, a judgement, or a band other than 0 and (for lag) its severity. */
bool bw_slot_says_more(int kind, const bw_slot *s);

/* Writes the text of slot[0 .. BW_PROJECT_KINDS-1] into out, NUL-terminated;
 * returns its length. Cannot fail. */
size_t bw_slots_format(const bw_slot *slot, char out[BW_SLOTS_TEXT_MAX]);

/* Reads text (len bytes, no NUL needed) into slot[0 .. BW_PROJECT_KINDS-1]
 * (the kinds it does not name are empty). Returns 0, or -1 with why filled:
 * a malformed text, a word that is no project kind (a newer budgetwatchd's
 * kind: why says so), a kind twice, a field out of range. */
int bw_slots_parse(const char *text, size_t len, bw_slot *slot, char *why, size_t whylen);

#endif
