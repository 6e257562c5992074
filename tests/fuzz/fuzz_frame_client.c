/* Console frames a client sends (vg_frame_parse_client): first byte picks text or binary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int binary = data[0] & 1;
    /* a private copy, so reads past the end are caught by ASan */
    size_t len = size - 1;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    vg_msg m;
    vg_err err = {0};
    if (vg_frame_parse_client(binary, buf, len, &m, &err) == VG_OK) {
        if (m.kind == VG_MSG_INPUT && (m.data != buf + 1 || m.len != len - 1))
            abort();
        if (m.kind < VG_MSG_INPUT || m.kind > VG_MSG_PING)
            abort();
    } else if (err.code == VG_E_NONE || !err.msg[0]) {
        abort(); /* every refusal carries a code and a message */
    }
    free(buf);
    return 0;
}
