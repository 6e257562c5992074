/* Console frames a server sends (vg_frame_parse_server), and the encoders round-tripping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int binary = data[0] & 1;
    size_t len = size - 1;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    vg_msg m;
    vg_err err = {0};
    if (vg_frame_parse_server(binary, buf, len, &m, &err) == VG_OK) {
        unsigned char enc[VG_FRAME_GAP_LEN];
        if (m.kind == VG_MSG_OUTPUT) {
            vg_frame_output_hdr(enc, m.offset);
            if (memcmp(enc, buf, VG_FRAME_OUTPUT_HDR) != 0 || m.len != len - VG_FRAME_OUTPUT_HDR)
                abort();
        } else if (m.kind == VG_MSG_GAP) {
            vg_frame_gap(enc, m.offset, m.to);
            if (memcmp(enc, buf, VG_FRAME_GAP_LEN) != 0 || m.to < m.offset)
                abort();
        }
    } else if (err.code == VG_E_NONE || !err.msg[0]) {
        abort();
    }
    free(buf);
    return 0;
}
