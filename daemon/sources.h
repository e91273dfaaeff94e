/* sources: the payment systems the daemon has heard from, and the last `seq`
 * each sent, to tell a gap (lost events) from a restart at 1 or a late resend.
 * Bounded: a daemon accepts at most `max` distinct sources. */
#ifndef BW_SOURCES_H
#define BW_SOURCES_H

#include <stddef.h>
#include <stdint.h>

typedef enum bw_seq_verdict {
    BW_SEQ_FIRST,       /* first seq from this source */
    BW_SEQ_NEXT,        /* last + 1 */
    BW_SEQ_GAP,         /* jumped: last+1 .. seq-1 are missing */
    BW_SEQ_RESTART,     /* back to 1 after more: the sender restarted */
    BW_SEQ_LATE,        /* at or below last: a late or reordered event */
} bw_seq_verdict;

typedef struct bw_sources bw_sources;

bw_sources *bw_sources_new(size_t max);
void bw_sources_free(bw_sources **s);
/* Whether src may send: already known, or room for one more. */
int bw_sources_admit(const bw_sources *s, const char *src);
/* Records seq from src and says what it means; *expected is last+1 (for GAP).
 * Returns -1 if src is new and the table is full. */
int bw_sources_observe(bw_sources *s, const char *src, uint64_t seq, uint64_t *expected);
/* Sets a source's last seq (restoring from the store) without a verdict. */
int bw_sources_set(bw_sources *s, const char *src, uint64_t last);
size_t bw_sources_count(const bw_sources *s);
/* Calls fn for each source changed since the last call, then forgets the changes. */
typedef int (*bw_sources_fn)(void *ctx, const char *src, uint64_t last);
int bw_sources_flush(bw_sources *s, bw_sources_fn fn, void *ctx);

#endif
