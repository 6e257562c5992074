/* The /ws/console query string (ticket, offset, take) and the session token sources
 * (Authorization: Bearer, Cookie) and the Origin check, all fed the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"
#include "console/console.h"
#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    gw_console_query q;
    vg_err err = {0};
    if (gw_console_parse_query(buf, size, &q, &err) == VG_OK) {
        if (!gw_auth_valid_token(q.ticket, strlen(q.ticket)) || !q.offset[0])
            abort();
    } else if (err.code == VG_E_NONE || !err.msg[0]) {
        abort();
    }
    char tok[GW_TOKEN_HEX + 1];
    if (gw_auth_parse_bearer(buf, tok) && !gw_auth_valid_token(tok, strlen(tok)))
        abort();
    if (gw_auth_parse_cookie(buf, tok) && !gw_auth_valid_token(tok, strlen(tok)))
        abort();
    gw_http_origin_ok(buf, "localhost:8443", buf);
    free(buf);
    return 0;
}
