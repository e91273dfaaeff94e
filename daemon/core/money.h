/* money: amounts are int64 fen (0.01 yuan). Parsing from 万元 text, formatting,
 * and overflow-checked arithmetic. No floating point ever touches money. */
#ifndef BW_MONEY_H
#define BW_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BW_FEN_PER_YUAN 100
#define BW_FEN_PER_WAN  1000000  /* 1 万元 = 10,000 yuan = 1,000,000 fen */

/* Checked arithmetic: return false (and leave *out unspecified) on overflow. */
bool bw_fen_add(int64_t a, int64_t b, int64_t *out);
bool bw_fen_sub(int64_t a, int64_t b, int64_t *out);

/* Parses a non-negative decimal amount in 万元 ("18692", "2258.32", "5.76",
 * "0.000001") exactly into fen. Accepts digits with at most one '.', at most
 * 6 decimals (one fen); no sign, no exponent, no thousands separators, no
 * spaces (callers trim). Returns 0, or -1 with a short reason in *why
 * (a static string, e.g. "more decimals than a fen can hold"). */
int bw_money_parse_wan(const char *s, size_t len, int64_t *fen, const char **why);

/* Same for an amount in yuan with at most 2 decimals ("1234.56"). */
int bw_money_parse_yuan(const char *s, size_t len, int64_t *fen, const char **why);

/* Formats fen as 万元 with the trailing zeros trimmed but at least two decimals
 * ("18692.00", "2258.32", "5.76", "0.000001", "-3.50"). buf should hold 32
 * bytes; returns buf. */
char *bw_money_format_wan(int64_t fen, char *buf, size_t len);

/* Formats fen as yuan with exactly two decimals ("1234.56", "-0.01"). */
char *bw_money_format_yuan(int64_t fen, char *buf, size_t len);

/* Formats fen as 万元 for tables and messages: hundredths of a 万元 (100
 * yuan), cut toward zero so a table never overstates money ("18692.00",
 * "-3.50"; -5,000 fen is "0.00"). The exact fen go beside it in --json, a
 * cell's data-fen, a CSV's six decimals. */
char *bw_money_format_wan2(int64_t fen, char *buf, size_t len);

/* Formats fen as 万元 with exactly six decimals, exact to the fen
 * ("18692.000000", "-0.000001"): for CSV columns a spreadsheet sums. */
char *bw_money_format_wan6(int64_t fen, char *buf, size_t len);

#endif
