/* fuzz_plan: libFuzzer target for the plan CSV parser — any bytes must give a
 * plan or one error message, never a crash, a leak or a read past the buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_plan_opts o = { .fiscal_year = 2022, .default_target_bp = 9500 };
    char why[256];
    if (bw_schedule_parse("03-31:30;06-30:60;10-31:90;12-31:100", 36, 2022, &o.default_schedule,
                          why, sizeof why))
        abort();
    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    bw_err err;
    bw_plan *p = bw_plan_parse_csv(buf, size, "fuzz.csv", &o, &err);
    if (p == NULL && strncmp(err.msg, "fuzz.csv", 8) != 0)
        abort();   /* every error names the file */
    bw_plan_free(&p);
    free(buf);
    return 0;
}
