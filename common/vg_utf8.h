/* Well-formed UTF-8 (RFC 3629), the one check every module that puts bytes into JSON or XML
 * uses. Pure. */
#ifndef VG_UTF8_H
#define VG_UTF8_H

#include <stddef.h>

/* The length of the well-formed sequence at p (at most n bytes): 1 for ASCII but NUL, 2 to 4
 * for a character without overlong form, surrogate or value past U+10FFFF, 0 for anything else. */
size_t vg_utf8_seq(const unsigned char *p, size_t n);
/* Replaces each byte of s that starts no well-formed sequence with '?', in place. */
void vg_utf8_scrub(char *s);

#endif
