/* text: the Chinese words of a notification — one block per alert with the
 * figures a supervisor needs (project, unit, execution rate, plan, 序时进度,
 * shortfall in 万元 from integer fen, since when), a digest's title, and how
 * a digest is split into parts that fit a receiver's size limit. Pure: no
 * clock, no I/O; the local time offset is a parameter. */
#ifndef BWN_TEXT_H
#define BWN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"


/* Basis points as a percentage with two decimals ("12.34%"). */
char *bwn_text_pct(int64_t bp, char *buf, size_t len);

/* Unix s as local "YYYY-MM-DD HH:MM" at utc_offset_s east of UTC. */
char *bwn_text_time(int64_t t, int64_t utc_offset_s, char *buf, size_t len);

/* The Chinese word of a severity ("预警", "严重"), a state ("告警",
 * "已恢复"; an acknowledged message: its handling step's word, "已督办",
 * "认定正常", …, or "已确认" without one) and a kind (the kind table's label; an unknown kind: its word). */
const char *bwn_text_severity(const char *severity);
const char *bwn_text_state(const bwn_alert *a);
const char *bwn_text_kind(const char *kind);

/* The Chinese word of a handling step ("已督办", "认定正常"; vocab.h's). */
const char *bwn_text_handling(const char *handling);

/* The Chinese word of a basis ("计划", "序时进度"; an unknown one: its word). */
const char *bwn_text_basis(const char *basis);

/* What an alert is, in a few words for a title: the kind's label, its band
 * and (with_state), for a message other than firing, its state or handling
 * step ("进度滞后 红一档", "大额支付 已督办"). Returns the length as snprintf. */
size_t bwn_text_headline(const bwn_alert *a, bool with_state, char *buf, size_t len);

/* One alert as a block of lines (markdown: bold head, quoted lines), ending
 * in "\n". Writes at most len bytes (cut at a UTF-8 boundary) and returns the
 * block's length as written. */
size_t bwn_text_block(const bwn_alert *a, bool markdown, int64_t utc_offset_s, char *buf,
                      size_t len);

/* The title of a digest: "预算执行告警 · LABEL · N 条", with "（i/k）" when
 * it is part i of k (k > 1). */
void bwn_text_title(const char *label, size_t nalerts, size_t part, size_t parts, char *buf,
                    size_t len);

/* Splits n blocks of lens[i] bytes into parts of at most `limit` bytes each,
 * every part also carrying `overhead` bytes (title and footer), keeping the
 * order. A block too big for a part alone gets a part of its own (the
 * caller cuts it). starts[] (n + 1 entries) receives each part's first
 * block, and starts[parts] = n. Returns the number of parts (0 when n = 0). */
size_t bwn_text_split(const size_t *lens, size_t n, size_t overhead, size_t limit, size_t *starts);

/* The longest prefix of s (len bytes) that is at most max bytes and does not
 * cut a UTF-8 sequence. */
size_t bwn_text_utf8_cut(const char *s, size_t len, size_t max);

#endif
