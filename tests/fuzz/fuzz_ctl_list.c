/* `vmgatectl list` formatting of whatever JSON a gateway might answer (read as vmgatectl reads
 * answers, with the strict parser). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl_list.h"
#include "vg_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *r = vg_json_parse((const char *)data, size, NULL);
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
