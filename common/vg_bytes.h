/* Console bytes inside JSON (line mode, docs/api.md "console.read"): base64 both ways, and text
 * for clients that want a string, where what is not valid UTF-8 becomes U+FFFD. Pure. */
#ifndef VG_BYTES_H
#define VG_BYTES_H

#include "vg.h"

#include <stddef.h>

/* Standard base64 with padding of p[0..n): a NUL-terminated string the caller frees, or NULL
 * (out of memory). */
char *vg_base64_encode(const unsigned char *p, size_t n);
/* Strict decoding (standard alphabet, padding required, no whitespace) of s into a buffer the
 * caller frees; *n is its length. bad_request names `what` when s is not base64. */
int vg_base64_decode(const char *s, const char *what, unsigned char **out, size_t *n, vg_err *err);
/* p[0..n) as a NUL-terminated UTF-8 string the caller frees: invalid sequences and NUL bytes
 * become U+FFFD. NULL when out of memory. */
char *vg_utf8_text(const unsigned char *p, size_t n);

#endif
