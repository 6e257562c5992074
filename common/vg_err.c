#include "vg.h"

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

int vg_fail(vg_err *err, vg_err_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return VG_ERR;
}

vg_err_code vg_err_code_from_name(const char *name)
{
    for (int c = VG_E_BAD_REQUEST; c <= VG_E_LAST; c++)
        if (strcmp(vg_err_code_name((vg_err_code)c), name) == 0)
            return (vg_err_code)c;
    return VG_E_INTERNAL;
}
