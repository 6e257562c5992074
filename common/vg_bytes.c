#include "vg_bytes.h"
#include "vg_utf8.h"

#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *vg_base64_encode(const unsigned char *p, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int vg_base64_decode(const char *s, const char *what, unsigned char **out, size_t *n, vg_err *err)
{
    size_t len = strlen(s);
    *out = NULL;
    *n = 0;
    if (len % 4)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s is not base64 (its length is no multiple of 4)",
                       what);
    size_t pad = len && s[len - 1] == '=' ? (len > 1 && s[len - 2] == '=' ? 2 : 1) : 0;
    unsigned char *buf = malloc(len / 4 * 3 + 1);
    if (!buf)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        unsigned v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = i + k >= len - pad ? 0 : b64_value(s[i + k]);
            if (d < 0) {
                free(buf);
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "%s is not base64 (character %zu is not of its alphabet)", what,
                               i + k + 1);
            }
            v = v << 6 | (unsigned)d;
        }
        buf[o++] = (unsigned char)(v >> 16);
        buf[o++] = (unsigned char)(v >> 8);
        buf[o++] = (unsigned char)v;
    }
    *out = buf;
    *n = o - pad;
    return VG_OK;
}

char *vg_utf8_text(const unsigned char *p, size_t n)
{
    char *out = malloc(n * 3 + 1); /* each bad byte grows to the 3 bytes of U+FFFD */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = vg_utf8_seq(p + i, n - i);
        if (len) {
            memcpy(out + o, p + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}
