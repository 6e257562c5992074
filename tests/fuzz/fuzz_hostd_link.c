/* The gateway<->hostd link as hostd reads it: the arguments of GET /link/console
 * (hd_link_console_req_parse). The /link/api requests have their own target, fuzz_hostd_rpc. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/endpoint.h"
#include "vg_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    link_console_req r;
    vg_err err = {0};
    if (hd_link_console_req_parse((const char *)data, size, &r, &err) == VG_OK) {
        if (!vg_valid_name(r.vm) || !vg_valid_name(r.dev) || (r.rw & ~1) || (r.take & ~1) ||
            strlen(r.user) >= sizeof(r.user) || strlen(r.offset) >= sizeof(r.offset))
            abort();
    } else if (err.code == VG_E_NONE || !err.msg[0]) {
        abort(); /* every refusal carries a code and a message */
    }
    return 0;
}
