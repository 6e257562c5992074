#include "vg.h"
#include "vg_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vg_err_code_name(vg_err_code code)
{
    switch (code) {
    case VG_E_NONE:
        return "ok";
    case VG_E_BAD_REQUEST:
        return "bad_request";
    case VG_E_TOO_BIG:
        return "too_big";
    case VG_E_UNKNOWN:
        return "unknown";
    case VG_E_UNAUTHORIZED:
        return "unauthorized";
    case VG_E_FORBIDDEN:
        return "forbidden";
    case VG_E_NOT_FOUND:
        return "not_found";
    case VG_E_READ_ONLY:
        return "read_only";
    case VG_E_NOT_WRITER:
        return "not_writer";
    case VG_E_UNAVAILABLE:
        return "unavailable";
    case VG_E_INTERNAL:
        return "internal";
    case VG_E_RATE_LIMITED:
        return "rate_limited";
    case VG_E_CONFLICT:
        return "conflict";
    case VG_E_QUOTA:
        return "quota_exceeded";
    case VG_E_UNSUPPORTED:
        return "unsupported";
    }
    return "internal";
}

/* A message cut to its buffer ends on a whole UTF-8 character: it goes into strict JSON. */
static void cut_whole(char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || !((unsigned char)s[i - 1] & 0x80))
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (len - (i - 1) < need)
        s[i - 1] = '\0';
}

int vg_failv(vg_err *err, vg_err_code code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (n >= (int)sizeof(err->msg))
            cut_whole(err->msg, sizeof(err->msg) - 1);
        /* a %.40s of a client's text can cut inside a character too */
        vg_utf8_scrub(err->msg);
    }
    return VG_ERR;
}

int vg_fail(vg_err *err, vg_err_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vg_failv(err, code, fmt, ap);
    va_end(ap);
    return VG_ERR;
}

vg_err_code vg_err_code_from_name(const char *name)
{
    for (int c = VG_E_BAD_REQUEST; c <= VG_E_LAST; c++)
        if (strcmp(vg_err_code_name((vg_err_code)c), name) == 0)
            return (vg_err_code)c;
    return VG_E_INTERNAL;
}
