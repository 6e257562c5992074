/* A binary message on a link v3 (docs/protocol.md §3) as either end could receive it:
 * vg_mux_parse refuses it with a code and a message, or yields a channel message whose fields
 * lie within the protocol's bounds and whose payload lies inside the input. */
#include <stdint.h>
#include <stdlib.h>

#include "vg_mux.h"

static void check(const uint8_t *data, size_t size, int from_gateway)
{
    vg_mux_msg m;
    vg_err err = {0};
    if (vg_mux_parse(data, size, from_gateway, &m, &err) != VG_OK) {
        if (err.code == VG_E_NONE || !err.msg[0])
            abort();
        return;
    }
    if (!m.chan || m.data != data + VG_MUX_HDR || m.len != size - VG_MUX_HDR)
        abort();
    switch (m.op) {
    case VG_MUX_OPEN:
        if (!from_gateway || !m.len || m.len > VG_MUX_QUERY_MAX)
            abort();
        break;
    case VG_MUX_TEXT:
    case VG_MUX_BINARY:
        if (!m.len)
            abort();
        break;
    case VG_MUX_CLOSE:
        if (m.len != 2 || m.code < 1000 || m.code > 4999)
            abort();
        break;
    case VG_MUX_CREDIT:
        if (!from_gateway || m.len != 4 || !m.credit || m.credit > VG_MUX_CREDIT_MAX)
            abort();
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, 0);
    check(data, size, 1);
    return 0;
}
