/* input: the events of a `budgetwatch push`, read from CSV (with a header
 * row) or JSON Lines (one object a line) with the same field names. Every
 * field is checked before anything is sent: a bad line is reported as
 * FILE:LINE:COLUMN (CSV) or FILE:LINE: field (JSON Lines) and left out. */
#ifndef BW_CLI_INPUT_H
#define BW_CLI_INPUT_H

#include <stdio.h>

#include "budgetwatch.h"

typedef enum { INPUT_AUTO, INPUT_CSV, INPUT_JSONL } input_format;

typedef struct events_in {
    const char *file;           /* for messages; "-" is standard input */
    const char *default_src;    /* for lines without src; not owned */
    bwc_event *ev;              /* owned, with their strings (but default_src) */
    unsigned *line;             /* the input line of ev[i] */
    size_t n;
    unsigned bad;               /* lines reported and left out */
} events_in;

/* Parses a --format value; -1 if it is none of auto, csv, jsonl. */
int input_format_parse(const char *s, input_format *out);

/* Reads every event of f into in (file and default_src set by the caller).
 * INPUT_AUTO takes JSON Lines when the first non-blank byte is '{', else CSV.
 * Returns 0, or -1 when the input cannot be used at all (no header, a CSV
 * syntax error, out of memory), after saying why on stderr. */
int input_read(events_in *in, FILE *f, input_format fmt);
void input_free(events_in *in);

#endif
