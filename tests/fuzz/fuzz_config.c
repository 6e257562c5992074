/* Config file text (vg_config_parse) against a table with every option type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_config.h"

static char *s1, *s2;
static long n1;
static int b1;

static const vg_opt opts[] = {
    {"name", VG_OPT_STR, "x", "", &s1},
    {"path", VG_OPT_STR, NULL, "", &s2},
    {"port", VG_OPT_INT, "1", "", &n1},
    {"flag", VG_OPT_BOOL, "false", "", &b1},
    {0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    vg_config_defaults(opts);
    vg_err err = {0};
    if (vg_config_parse(opts, text, size, &err) != VG_OK && (err.code == VG_E_NONE || !err.msg[0]))
        abort();
    vg_config_free(opts);
    free(text);
    return 0;
}
