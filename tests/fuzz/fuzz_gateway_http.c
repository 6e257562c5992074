/* The HTTP request header checks of the gateway (http.c): the Content-Length value and the
 * cross-site rules of POST /api/v1. The input's first byte picks the token source and the custom
 * header; the rest is Content-Length, Origin, Host and allowed_origins, one per line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

#define MAX 65536

/* The Content-Length rules by another route: blanks around one run of ASCII digits. */
static int expect_ok(const char *v, size_t len, size_t *n)
{
    size_t i = 0, end = len;
    while (i < end && (v[i] == ' ' || v[i] == '\t'))
        i++;
    while (end > i && (v[end - 1] == ' ' || v[end - 1] == '\t'))
        end--;
    if (i == end || strspn(v + i, "0123456789") < end - i)
        return 0;
    while (i < end - 1 && v[i] == '0')
        i++;
    if (end - i > 6)
        return -1;
    *n = (size_t)strtoul(v + i, NULL, 10);
    return *n > MAX ? -1 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int token = data[0] % 3, custom = (data[0] >> 2) & 1;
    size_t len = size - 1;
    char *buf = malloc(len + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    buf[len] = '\0';
    /* the length: the first line, NULs included (lws hands over the header's whole length) */
    const char *nl = memchr(buf, '\n', len);
    size_t first = nl ? (size_t)(nl - buf) : len;
    size_t n = 0, want = 0;
    vg_err err = {0};
    int rc = gw_http_content_length(buf, first, MAX, &n, &err);
    int expect = memchr(buf, '\0', first) ? 0 : expect_ok(buf, first, &want);
    if (expect == 1 ? rc != VG_OK || n != want
                    : rc != VG_ERR || !err.msg[0] ||
                          err.code != (expect < 0 ? VG_E_TOO_BIG : VG_E_BAD_REQUEST) ||
                          (expect < 0 && n <= MAX))
        abort();

    /* the other lines as the C strings lws_hdr_copy gives */
    char *line[4] = {buf, NULL, NULL, NULL};
    for (int i = 1; i < 4 && line[i - 1]; i++) {
        char *end = strchr(line[i - 1], '\n');
        if (end) {
            *end = '\0';
            line[i] = end + 1;
        }
    }
    const char *why = gw_http_cross_site(line[1], line[2] ? line[2] : "", line[3], token, custom);
    if (token == GW_TOKEN_BEARER && why)
        abort(); /* a bearer token is proof enough */
    if (line[1] && !why && token != GW_TOKEN_BEARER &&
        !gw_http_origin_ok(line[1], line[2], line[3]))
        abort(); /* a foreign origin never passes with a cookie or no token */
    free(buf);
    return 0;
}
