/* fuzz_config: libFuzzer target for budgetwatchd's configuration parser. The
 * parser reads a file, so each input is written to one temporary file first.
 * Any bytes give a configuration or one error naming the file, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_file(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/bw-fuzz-config-%ld.conf", (long)getpid());
        setenv("STATE_DIRECTORY", "/tmp", 1);
        atexit(remove_file);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    bw_config c;
    bw_err err = { "" };
    bw_config_defaults(&c);
    if (bw_config_load(&c, path, &err) != 0 && strncmp(err.msg, path, strlen(path)) != 0)
        abort();    /* every error names the file */
    return 0;
}
