#include "net/content_length.h"

#include <stdint.h>

int gw_http_content_length(const char *value, size_t len, size_t max, size_t *out, vg_err *err)
{
    size_t i = 0, end = len, n = 0, d;
    while (i < end && (value[i] == ' ' || value[i] == '\t'))
        i++;
    while (end > i && (value[end - 1] == ' ' || value[end - 1] == '\t'))
        end--;
    if (i == end)
        return vg_fail(err, VG_E_BAD_REQUEST, "Content-Length is empty");
    for (; i < end; i++) {
        if (value[i] < '0' || value[i] > '9')
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "Content-Length must be one whole number of bytes (a single header)");
        d = (size_t)(value[i] - '0');
        n = n > (SIZE_MAX - d) / 10 ? SIZE_MAX : n * 10 + d;
    }
    *out = n;
    if (n > max)
        return vg_fail(err, VG_E_TOO_BIG, "request body exceeds %zu bytes", max);
    return VG_OK;
}
