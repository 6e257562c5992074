/* Small helpers that gateway, hostd and tools share. */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include "vg.h"

/* Fills out with 2*nbytes lowercase hex characters of kernel randomness and a NUL.
 * out must hold 2*nbytes+1 bytes. */
int vg_random_hex(char *out, size_t nbytes);
/* Milliseconds since the epoch (wall clock), and a monotonic clock for intervals. */
int64_t vg_now_ms(void);
int64_t vg_mono_ms(void);
/* Compares two strings in time independent of where they differ (secrets, tokens). */
int vg_const_eq(const char *a, const char *b);
/* Names that may appear in Redis keys, URLs and file names: [A-Za-z0-9._-], 1..64 chars,
 * not starting with '.' or '-'. */
int vg_valid_name(const char *s);
/* s if it is a valid name, else a placeholder: a client's name echoed in a message is then
 * always whole text (a cut at a byte count can end in half a UTF-8 character). */
const char *vg_name_shown(const char *s);
/* A UUID as libvirt writes it: 8-4-4-4-12 hexadecimal digits. */
int vg_uuid_ok(const char *uuid);

#endif
