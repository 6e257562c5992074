/* `vmgatectl list` formatting of whatever JSON a gateway might answer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *r = cJSON_ParseWithLength((const char *)data, size);
    if (!r)
        return 0;
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        vg_err err;
        ctl_list_print(r, 0, out, &err);
        ctl_list_print(r, 1, out, &err);
        fclose(out);
    }
    cJSON_Delete(r);
    return 0;
}
