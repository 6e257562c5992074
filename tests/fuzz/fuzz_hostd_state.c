/* The per-console offsets file (hd_state_parse): a corrupt file must never yield end < base. */
#include <stdint.h>
#include <stdlib.h>

#include "console/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    console_state st;
    vg_err err = {0};
    if (hd_state_parse((const char *)data, size, &st, &err) == VG_OK) {
        if (st.end < st.base)
            abort();
    } else if (err.code == VG_E_NONE || !err.msg[0] || st.end || st.base || st.inode) {
        abort();
    }
    return 0;
}
