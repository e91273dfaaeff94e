/* planfile: the plan file, read and parsed (planfile.h). */
#include "planfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "tz.h"

static int read_file(const char *path, char **buf, size_t *len, bw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return bw_err_set(err, "%s: cannot open: %s; check the plan path in the configuration",
                          path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = NULL;
    for (;;) {
        char *nb = realloc(b, cap);
        if (nb == NULL) {
            free(b);
            fclose(f);
            return bw_err_set(err, "%s: out of memory reading the file", path);
        }
        b = nb;
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return bw_err_set(err, "%s: read error", path);
    }
    *buf = b;
    *len = n;
    return 0;
}

int bw_planfile_load(const bw_config *cfg, bw_calendar *cal, bw_plan **plan, bw_err *err)
{
    if (bw_tz_calendar(cfg->timezone, cfg->fiscal_year, cal, err))
        return -1;
    char *buf = NULL;
    size_t len = 0;
    if (read_file(cfg->plan, &buf, &len, err))
        return -1;
    bw_plan_opts o = { cfg->fiscal_year, cfg->default_milestones, cfg->default_target_bp };
    *plan = bw_plan_parse_csv(buf, len, cfg->plan, &o, err);
    free(buf);
    return *plan ? 0 : -1;
}

int bw_planfile_check(const bw_config *cfg, bw_err *err)
{
    bw_calendar cal;
    bw_plan *plan = NULL;
    if (bw_auth_check(cfg, err) || bw_planfile_load(cfg, &cal, &plan, err))
        return -1;
    bw_log(BW_LOG_INFO, "plan %s is valid: %zu projects in %zu units", cfg->plan,
           bw_plan_nprojects(plan), bw_plan_nunits(plan));
    bw_plan_free(&plan);
    return 0;
}
