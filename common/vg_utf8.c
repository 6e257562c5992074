#include "vg_utf8.h"

#include <string.h>

size_t vg_utf8_seq(const unsigned char *p, size_t n)
{
    if (n == 0 || p[0] == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n || p[0] > 0xf4)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return len;
}

void vg_utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t left = strlen(s);
    while (left) {
        size_t len = vg_utf8_seq(p, left);
        if (!len) {
            *p = '?';
            len = 1;
        }
        p += len;
        left -= len;
    }
}
