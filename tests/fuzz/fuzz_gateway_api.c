/* API requests (gateway api.c): the WebSocket parser and, with the first byte odd, the HTTP
 * body parser, each followed by the parameter checks of the named method. HTTP calls go to
 * console.ticket, or with bit 2 of the first byte set to the method named by the input up to
 * its first newline (the rest is the body), so every method's checks get fuzzed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int http = data[0] & 1, websocket = (data[0] >> 1) & 1, named = (data[0] >> 2) & 1;
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    char method[64] = "console.ticket";
    const char *body = buf;
    size_t blen = len;
    if (http && named) {
        const char *nl = memchr(buf, '\n', len);
        size_t mlen = nl ? (size_t)(nl - buf) : len;
        if (mlen >= sizeof(method))
            mlen = sizeof(method) - 1;
        memcpy(method, buf, mlen);
        method[mlen] = '\0';
        body = nl ? nl + 1 : buf + len;
        blen = (size_t)(buf + len - body);
    }
    gw_api_req req;
    vg_err err = {0};
    int rc = http ? gw_api_parse_http(method, body, blen, &req, &err)
                  : gw_api_parse_ws(buf, len, &req, &err);
    if (rc == VG_OK) {
        if (!req.method || !cJSON_IsObject(req.params))
            abort();
        if (gw_api_check(&req, websocket, &err) != VG_OK && (err.code == VG_E_NONE || !err.msg[0]))
            abort();
        char *s = gw_api_response(req.id, 1, req.params, NULL);
        free(s);
    } else if (err.code == VG_E_NONE || !err.msg[0]) {
        abort(); /* every refusal carries a code and a message */
    }
    gw_api_req_free(&req);
    free(buf);
    return 0;
}
