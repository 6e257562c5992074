/* Shared conventions for every vmgate module: return codes and the error context. */
#ifndef VG_H
#define VG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define VG_OK 0
#define VG_ERR -1

/* Stable error codes. They travel to clients as strings (vg_err_code_name) and are documented
 * in docs/protocol.md and docs/api.md; never renumber or rename one. */
typedef enum vg_err_code {
    VG_E_NONE = 0,
    VG_E_BAD_REQUEST, /* malformed frame, JSON or field */
    VG_E_TOO_BIG,     /* message over the size limit */
    VG_E_UNKNOWN,     /* unknown message type, opcode or method */
    VG_E_UNAUTHORIZED,
    VG_E_FORBIDDEN,
    VG_E_NOT_FOUND,
    VG_E_READ_ONLY,  /* input on a read-only attachment */
    VG_E_NOT_WRITER, /* input from a read-write viewer that does not hold the write lock */
    VG_E_UNAVAILABLE,
    VG_E_INTERNAL,
    VG_E_RATE_LIMITED,
    VG_E_CONFLICT,
    VG_E_QUOTA,       /* a project quota would be exceeded */
    VG_E_UNSUPPORTED, /* the request is valid but this platform cannot do it */
} vg_err_code;

typedef struct vg_err {
    vg_err_code code;
    char msg[256];
} vg_err;

#define VG_E_LAST VG_E_UNSUPPORTED

const char *vg_err_code_name(vg_err_code code);
/* The code named name (as vg_err_code_name spells it); VG_E_INTERNAL for any other text, so an
 * answer from a newer peer is still an error. */
vg_err_code vg_err_code_from_name(const char *name);
/* Fills err (when not NULL) and returns VG_ERR, so callers can write `return vg_fail(...)`. */
int vg_fail(vg_err *err, vg_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* vg_fail for functions of their own with a format: the message is cut on a whole character
 * and what a %.Ns cut inside one becomes '?', so it always goes into strict JSON. */
int vg_failv(vg_err *err, vg_err_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
