/* Domain XML as libvirt (or a hostile definition) could hand it to hostd (hd_domxml_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/domxml.h"
#include "vg_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static domxml_info info;
    vg_err err = {0};
    if (hd_domxml_parse((const char *)data, size, &info, &err) != VG_OK) {
        if (err.code == VG_E_NONE || !err.msg[0])
            abort(); /* every refusal carries a code and a message */
        return 0;
    }
    if (!vg_valid_name(info.name) || info.ncons > DOMXML_MAX_CONSOLES)
        abort();
    for (size_t i = 0; i < info.ncons; i++) {
        const domxml_console *c = &info.cons[i];
        if (c->path[0] != '/' || strlen(c->path) >= DOMXML_PATH_MAX || !vg_valid_name(c->dev))
            abort();
        if (c->log[0] && c->log[0] != '/')
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(info.cons[j].path, c->path) == 0)
                abort(); /* one holder per socket */
    }
    return 0;
}
