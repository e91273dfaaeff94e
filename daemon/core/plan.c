/* plan: the spending plan as built row by row — units, projects, interned
 * schedules — with O(1) look-up of codes. Strings live in an arena owned by the plan. */
#include "plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

/* Open-addressing index: each slot holds a position (stored +1 in the low 32
 * bits; 0 = empty) and the high 32 bits of its code's hash, so that a probe
 * of another code rarely has to fetch that code (a cache miss or two with a
 * province's 1,000,000 projects). */
typedef struct code_index {
    uint64_t *slot;
    size_t cap;             /* power of two */
    size_t count;
} code_index;

struct bw_plan {
    bw_plan_opts opts;
    bw_project_def *projects;
    size_t nprojects, cap_projects;
    bw_unit_def *units;
    size_t nunits, cap_units;
    bw_schedule *schedules;
    size_t nschedules, cap_schedules;
    code_index project_ix, unit_ix;
    arena_block *arena;
};

static uint64_t hash_bytes(const void *p, size_t len)
{
    /* FNV-1a: codes are short and adversarial input is bounded by the plan file. */
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static char *arena_strdup(bw_plan *p, const char *s, size_t len)
{
    arena_block *b = p->arena;
    if (b == NULL || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
        arena_block *nb = malloc(sizeof *nb + cap);
        if (nb == NULL)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        p->arena = nb;
        b = nb;
    }
    char *out = b->data + b->used;
    memcpy(out, s, len);
    out[len] = '\0';
    b->used += len + 1;
    return out;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*arr, ncap * elem);
    if (n == NULL)
        return -1;
    *arr = n;
    *cap = ncap;
    return 0;
}

typedef const char *(*code_of_fn)(const bw_plan *p, uint32_t i);

static const char *project_code(const bw_plan *p, uint32_t i) { return p->projects[i].code; }
static const char *unit_code(const bw_plan *p, uint32_t i) { return p->units[i].code; }

static int64_t index_find(const bw_plan *p, const code_index *ix, code_of_fn code_of,
                          const char *code, size_t len)
{
    if (ix->cap == 0)
        return -1;
    size_t mask = ix->cap - 1;
    uint64_t h = hash_bytes(code, len), tag = h >> 32;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t v = ix->slot[i];
        if (v == 0)
            return -1;
        if (v >> 32 != tag)
            continue;
        uint32_t pos = (uint32_t)v - 1;
        const char *c = code_of(p, pos);
        if (strncmp(c, code, len) == 0 && c[len] == '\0')
            return pos;
    }
}

static void index_put(code_index *ix, uint64_t h, uint32_t pos)
{
    size_t mask = ix->cap - 1;
    size_t i = h & mask;
    while (ix->slot[i] != 0)
        i = (i + 1) & mask;
    ix->slot[i] = (h >> 32) << 32 | ((uint64_t)pos + 1);
    ix->count++;
}

/* Keeps the load factor under one half so probes stay short. */
static int index_reserve(const bw_plan *p, code_index *ix, code_of_fn code_of, size_t n)
{
    if ((n + 1) * 2 <= ix->cap)
        return 0;
    size_t ncap = ix->cap ? ix->cap : 64;
    while ((n + 1) * 2 > ncap)
        ncap *= 2;
    code_index nix = { calloc(ncap, sizeof(uint64_t)), ncap, 0 };
    if (nix.slot == NULL)
        return -1;
    for (size_t i = 0; i < ix->cap; i++) {
        uint32_t pos = (uint32_t)ix->slot[i];
        if (pos != 0) {
            const char *c = code_of(p, pos - 1);
            index_put(&nix, hash_bytes(c, strlen(c)), pos - 1);
        }
    }
    free(ix->slot);
    *ix = nix;
    return 0;
}

bw_plan *bw_plan_new(const bw_plan_opts *opts)
{
    bw_plan *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->opts = *opts;
    return p;
}

void bw_plan_free(bw_plan **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    bw_plan *p = *pp;
    for (arena_block *b = p->arena, *n; b != NULL; b = n) {
        n = b->next;
        free(b);
    }
    free(p->projects);
    free(p->units);
    free(p->schedules);
    free(p->project_ix.slot);
    free(p->unit_ix.slot);
    free(p);
    *pp = NULL;
}

static bool schedule_equal(const bw_schedule *a, const bw_schedule *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->m[i].month != b->m[i].month || a->m[i].day != b->m[i].day || a->m[i].bp != b->m[i].bp)
            return false;
    return true;
}

/* Plans share very few distinct schedules (usually one), so a short linear
 * search from the most recent one is cheaper than another index. */
static int64_t intern_schedule(bw_plan *p, const bw_schedule *s)
{
    for (size_t i = p->nschedules; i-- > 0;)
        if (schedule_equal(&p->schedules[i], s))
            return (int64_t)i;
    if (grow((void **)&p->schedules, &p->cap_schedules, p->nschedules + 1, sizeof *p->schedules))
        return -1;
    p->schedules[p->nschedules] = *s;
    return (int64_t)p->nschedules++;
}

static int check_text(const char *what, const char *s, size_t max, bw_err *err)
{
    if (s == NULL || s[0] == '\0')
        return bw_err_set(err, "%s is empty; every row needs one", what);
    size_t len = strlen(s);
    if (len > max)
        return bw_err_set(err, "%s is %zu bytes long, at most %zu are allowed; shorten it", what, len, max);
    return 0;
}

static int check_input(const bw_project_in *in, bw_err *err)
{
    if (check_text("unit_code", in->unit_code, BW_CODE_MAX, err) ||
        check_text("unit_name", in->unit_name, BW_NAME_MAX, err) ||
        check_text("project_code", in->code, BW_CODE_MAX, err) ||
        check_text("project_name", in->name, BW_NAME_MAX, err))
        return -1;
    if (in->budget <= 0)
        return bw_err_set(err, "project \"%s\": the budget must be more than 0", in->code);
    if (in->fiscal > in->budget)
        return bw_err_set(err, "project \"%s\": the fiscal part (%lld fen) is more than the budget "
                          "(%lld fen); fix fiscal_wan", in->code, (long long)in->fiscal,
                          (long long)in->budget);
    if (in->target_bp > 10000)
        return bw_err_set(err, "project \"%s\": target_pct is over 100", in->code);
    return 0;
}

/* Finds or adds the unit; a unit code must keep one name throughout the plan. */
static int64_t unit_of(bw_plan *p, const bw_project_in *in, bw_err *err)
{
    size_t len = strlen(in->unit_code);
    int64_t u = bw_plan_find_unit(p, in->unit_code, len);
    if (u >= 0) {
        if (strcmp(p->units[u].name, in->unit_name) != 0)
            return bw_err_set(err, "unit %s is named \"%s\" on line %u but \"%s\" here; use one name "
                              "per unit code", in->unit_code, p->units[u].name, p->units[u].line,
                              in->unit_name);
        return u;
    }
    if (grow((void **)&p->units, &p->cap_units, p->nunits + 1, sizeof *p->units) ||
        index_reserve(p, &p->unit_ix, unit_code, p->nunits + 1))
        return bw_err_set(err, "out of memory adding unit %s", in->unit_code);
    bw_unit_def *d = &p->units[p->nunits];
    d->code = arena_strdup(p, in->unit_code, len);
    d->name = arena_strdup(p, in->unit_name, strlen(in->unit_name));
    d->line = in->line;
    if (d->code == NULL || d->name == NULL)
        return bw_err_set(err, "out of memory adding unit %s", in->unit_code);
    index_put(&p->unit_ix, hash_bytes(in->unit_code, len), (uint32_t)p->nunits);
    return (int64_t)p->nunits++;
}

int64_t bw_plan_add_project(bw_plan *p, const bw_project_in *in, bw_err *err)
{
    if (check_input(in, err))
        return -1;
    size_t len = strlen(in->code);
    int64_t dup = bw_plan_find_project(p, in->code, len);
    if (dup >= 0)
        return bw_err_set(err, "project code \"%s\" appears twice (lines %u and %u); give each "
                          "project its own code", in->code, p->projects[dup].line, in->line);
    if (p->nprojects >= UINT32_MAX - 1)
        return bw_err_set(err, "too many projects (at most %u)", UINT32_MAX - 1);
    int64_t sched = intern_schedule(p, in->schedule ? in->schedule : &p->opts.default_schedule);
    if (sched < 0 ||
        grow((void **)&p->projects, &p->cap_projects, p->nprojects + 1, sizeof *p->projects) ||
        index_reserve(p, &p->project_ix, project_code, p->nprojects + 1))
        return bw_err_set(err, "out of memory adding project %s", in->code);
    int64_t unit = unit_of(p, in, err);
    if (unit < 0)
        return -1;
    bw_project_def *d = &p->projects[p->nprojects];
    d->code = arena_strdup(p, in->code, len);
    d->name = arena_strdup(p, in->name, strlen(in->name));
    if (d->code == NULL || d->name == NULL)
        return bw_err_set(err, "out of memory adding project %s", in->code);
    d->unit = (uint32_t)unit;
    d->schedule = (uint32_t)sched;
    d->budget = in->budget;
    d->fiscal = in->fiscal < 0 ? in->budget : in->fiscal;
    d->target_bp = in->target_bp ? in->target_bp : p->opts.default_target_bp;
    d->basis = 0;               /* [alerts] lag_basis, unless bw_plan_set_basis */
    d->line = in->line;
    index_put(&p->project_ix, hash_bytes(in->code, len), (uint32_t)p->nprojects);
    return (int64_t)p->nprojects++;
}

size_t bw_plan_nprojects(const bw_plan *p) { return p->nprojects; }
size_t bw_plan_nunits(const bw_plan *p) { return p->nunits; }
size_t bw_plan_nschedules(const bw_plan *p) { return p->nschedules; }
void bw_plan_set_basis(bw_plan *p, size_t i, int basis)
{
    if (i < p->nprojects && basis >= 0 && basis <= 2)
        p->projects[i].basis = (uint8_t)(basis + 1);
}

const bw_project_def *bw_plan_project(const bw_plan *p, size_t i) { return &p->projects[i]; }
const bw_unit_def *bw_plan_unit(const bw_plan *p, size_t i) { return &p->units[i]; }
const bw_schedule *bw_plan_schedule(const bw_plan *p, size_t i) { return &p->schedules[i]; }
const bw_plan_opts *bw_plan_options(const bw_plan *p) { return &p->opts; }

int64_t bw_plan_find_project(const bw_plan *p, const char *code, size_t len)
{
    return index_find(p, &p->project_ix, project_code, code, len);
}

typedef struct coded {
    const char *code;
    uint32_t ix;
} coded;

static int by_code(const void *a, const void *b)
{
    return strcmp(((const coded *)a)->code, ((const coded *)b)->code);
}

int bw_plan_code_order(const bw_plan *p, uint32_t *out)
{
    coded *v = malloc((p->nprojects ? p->nprojects : 1) * sizeof *v);
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < p->nprojects; i++)
        v[i] = (coded){ p->projects[i].code, (uint32_t)i };
    qsort(v, p->nprojects, sizeof *v, by_code);
    for (size_t i = 0; i < p->nprojects; i++)
        out[i] = v[i].ix;
    free(v);
    return 0;
}

int64_t bw_plan_find_unit(const bw_plan *p, const char *code, size_t len)
{
    return index_find(p, &p->unit_ix, unit_code, code, len);
}
