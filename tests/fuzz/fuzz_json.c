/* vg_json_parse, the parser of every untrusted JSON. What it accepts cJSON accepts too, holds no
 * NUL in any string and no object with two equal keys, and reads back the same after printing;
 * what it refuses carries bad_request (or internal) and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_json.h"

static void check_tree(const cJSON *v)
{
    for (const cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsObject(v))
            for (const cJSON *d = c->next; d; d = d->next)
                if (!strcmp(c->string, d->string))
                    abort();
        check_tree(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    vg_err err = {0};
    cJSON *v = vg_json_parse(text, size, &err);
    if (!v) {
        if ((err.code != VG_E_BAD_REQUEST && err.code != VG_E_INTERNAL) || !err.msg[0])
            abort();
        return 0;
    }
    cJSON *lenient = cJSON_ParseWithLength(text, size);
    if (!lenient)
        abort();
    cJSON_Delete(lenient);
    if (memchr(text, '\0', size))
        abort(); /* a raw NUL is never accepted, in a string or around the value */
    check_tree(v);
    char *printed = cJSON_PrintUnformatted(v);
    if (printed) {
        cJSON *again = vg_json_parse(printed, strlen(printed), &err);
        char *printed2 = again ? cJSON_PrintUnformatted(again) : NULL;
        if (!printed2 || strcmp(printed, printed2) != 0)
            abort();
        free(printed2);
        cJSON_Delete(again);
        free(printed);
    }
    cJSON_Delete(v);
    return 0;
}
