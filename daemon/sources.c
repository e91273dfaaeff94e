/* sources: last seq per payment system, in a small open-addressing table. The
 * table is bounded so that a peer cannot grow it without limit. */
#include "sources.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

typedef struct source {
    char src[BW_SRC_MAX + 1];
    uint64_t last;
    bool used, changed;
} source;

struct bw_sources {
    source *slot;
    size_t cap, count, max;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

bw_sources *bw_sources_new(size_t max)
{
    bw_sources *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->max = max;
    s->cap = 16;
    while (s->cap < 2 * max)
        s->cap *= 2;
    s->slot = calloc(s->cap, sizeof *s->slot);
    if (s->slot == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void bw_sources_free(bw_sources **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    free((*sp)->slot);
    free(*sp);
    *sp = NULL;
}

/* The slot holding src, or the empty slot where it would go. */
static source *find(const bw_sources *s, const char *src)
{
    size_t mask = s->cap - 1;
    for (size_t i = hash_str(src) & mask;; i = (i + 1) & mask)
        if (!s->slot[i].used || strcmp(s->slot[i].src, src) == 0)
            return &s->slot[i];
}

static source *get_or_add(bw_sources *s, const char *src)
{
    source *x = find(s, src);
    if (x->used)
        return x;
    if (s->count >= s->max || strlen(src) > BW_SRC_MAX)
        return NULL;
    strcpy(x->src, src);
    x->used = true;
    x->last = 0;
    s->count++;
    return x;
}

int bw_sources_admit(const bw_sources *s, const char *src)
{
    return find(s, src)->used || s->count < s->max;
}

int bw_sources_observe(bw_sources *s, const char *src, uint64_t seq, uint64_t *expected)
{
    source *x = get_or_add(s, src);
    if (x == NULL)
        return -1;
    uint64_t last = x->last;
    *expected = last + 1;
    bw_seq_verdict v;
    if (last == 0)
        v = BW_SEQ_FIRST;
    else if (seq == last + 1)
        v = BW_SEQ_NEXT;
    else if (seq == 1)
        v = BW_SEQ_RESTART;
    else if (seq > last + 1)
        v = BW_SEQ_GAP;
    else
        v = BW_SEQ_LATE;
    if (v != BW_SEQ_LATE) {
        x->last = seq;
        x->changed = true;
    }
    return (int)v;
}

int bw_sources_set(bw_sources *s, const char *src, uint64_t last)
{
    source *x = get_or_add(s, src);
    if (x == NULL)
        return -1;
    x->last = last;
    return 0;
}

size_t bw_sources_count(const bw_sources *s) { return s->count; }

int bw_sources_flush(bw_sources *s, bw_sources_fn fn, void *ctx)
{
    for (size_t i = 0; i < s->cap; i++) {
        source *x = &s->slot[i];
        if (!x->used || !x->changed)
            continue;
        if (fn(ctx, x->src, x->last) != 0)
            return -1;
        x->changed = false;
    }
    return 0;
}
