/* The /ws/console query string (ticket, offset, take), the splitting of query strings that
 * hostd's /link/console shares (vg_query), the session token sources (Authorization: Bearer,
 * Cookie) and the Origin check, all fed the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"
#include "console/console.h"
#include "net/http.h"
#include "vg_query.h"

/* Every byte belongs to one argument or is the '&' after it; keys hold no '=' or '&'. */
static void check_split(const char *q, size_t size)
{
    const char *p = q, *end = q + size;
    vg_query_arg a;
    while (vg_query_next(&p, end, &a)) {
        const char *after = a.val + a.vlen;
        if (memchr(a.key, '=', a.klen) || memchr(a.key, '&', (size_t)(after - a.key)) ||
            !(a.val == a.key + a.klen ? a.vlen == 0 : a.val == a.key + a.klen + 1) || after > end ||
            p != (after == end ? end : after + 1))
            abort();
    }
    if (p != end)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    check_split(buf, size);
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
