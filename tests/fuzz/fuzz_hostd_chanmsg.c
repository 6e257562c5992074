/* A control message on a link v2 channel as a gateway (or anything past the link's checks)
 * could send it: hd_chanmsg_parse either refuses it with a code and a message or yields a join
 * or leave whose user fits its member and is text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/chanmsg.h"
#include "vg_jfield.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_chanmsg m;
    vg_err err = {0};
    if (hd_chanmsg_parse(data, size, &m, &err) == VG_OK) {
        if ((m.type != HD_CHANMSG_JOIN && m.type != HD_CHANMSG_LEAVE) ||
            strlen(m.user) >= sizeof(m.user) || !vg_jf_text_ok(m.user, 0) || (m.rw & ~1) ||
            (m.take & ~1) || (m.rec_input & ~1))
            abort();
    } else if (err.code == VG_E_NONE || !err.msg[0]) {
        abort();
    }
    return 0;
}
