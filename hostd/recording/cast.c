#include "recording/cast.h"

#include <string.h>

/* Length of the UTF-8 sequence at s[0..avail): >0 valid, 0 incomplete (more bytes may make it
 * valid), -1 invalid. Overlong forms, surrogates and code points past U+10FFFF are invalid. */
static int seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    int len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= avail)
            return 0;
        unsigned char b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return -1;
    }
    return len;
}

static size_t put_byte(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"':
        memcpy(out, "\\\"", 2);
        return 2;
    case '\\':
        memcpy(out, "\\\\", 2);
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    default:
        if (c < 0x20 || c == 0x7f) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 15];
            return 6;
        }
        out[0] = (char)c;
        return 1;
    }
}

/* Escapes what of s[0..n) forms whole characters; returns how many bytes it consumed (the rest
 * is an incomplete character, only possible at the end). */
static size_t escape_run(const unsigned char *s, size_t n, char *out, size_t *w)
{
    size_t i = 0;
    while (i < n) {
        int len = seq_len(s + i, n - i);
        if (len == 0)
            break;
        if (len < 0) {
            memcpy(out + *w, "\\ufffd", 6);
            *w += 6;
            i++;
        } else if (len == 1) {
            *w += put_byte(s[i], out + *w);
            i++;
        } else {
            memcpy(out + *w, s + i, (size_t)len);
            *w += (size_t)len;
            i += (size_t)len;
        }
    }
    return i;
}

size_t hd_cast_escape(hd_cast_carry *cy, const unsigned char *p, size_t n, char *out)
{
    size_t w = 0;
    /* Finish the carried character with the first bytes of p, then go on in p itself. */
    while (cy->n && n) {
        cy->b[cy->n++] = *p++;
        n--;
        size_t used = escape_run(cy->b, cy->n, out, &w);
        memmove(cy->b, cy->b + used, cy->n - used);
        cy->n -= (unsigned)used;
    }
    if (cy->n)
        return w;
    size_t used = escape_run(p, n, out, &w); /* stops only before < 4 bytes at the end */
    memcpy(cy->b, p + used, n - used);
    cy->n = (unsigned)(n - used);
    return w;
}
