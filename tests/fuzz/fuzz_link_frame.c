/* The frames of the multiplexed gateway <-> hostd link (docs/protocol.md §3) as both ends read
 * them (vg_link_parse): whatever the bytes, a frame either parses with its fields inside the
 * buffer and within the protocol's limits, or is refused with a code and a message. */
#include <stdint.h>
#include <stdlib.h>

#include "vg_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_link_frame f;
    vg_err err = {0};
    if (vg_link_parse(data, size, &f, &err) != VG_OK) {
        if (err.code == VG_E_NONE || !err.msg[0])
            abort();
        return 0;
    }
    if (f.type < VG_LINK_OPEN || f.type > VG_LINK_RPC ||
        (f.type == VG_LINK_RPC) != (f.channel == 0))
        abort();
    if (f.data < data || f.data + f.len != data + size)
        abort(); /* the payload is the frame's tail, never past it */
    if (f.type == VG_LINK_OUTPUT && (f.len > VG_LINK_OUTPUT_MAX || f.offset + f.len < f.offset))
        abort();
    if (f.type == VG_LINK_GAP && f.to <= f.offset)
        abort();
    if (f.type == VG_LINK_CLOSE && (f.code < 1000 || f.code > 4999 || f.len > VG_LINK_REASON_MAX))
        abort();
    return 0;
}
