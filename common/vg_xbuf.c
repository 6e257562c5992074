/* The XML text buffer (vg_xbuf.h). */
#include "vg_xbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vg_xbuf_put(vg_xbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void vg_xbuf_putf(vg_xbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        b->oom = 1; /* cannot happen with the callers' formats; fail rather than cut markup */
    else
        vg_xbuf_put(b, tmp, (size_t)n);
}

void vg_xbuf_esc(vg_xbuf *b, const char *s)
{
    for (const char *run = s;; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\0':
            vg_xbuf_put(b, run, (size_t)(s - run));
            return;
        default:
            continue;
        }
        vg_xbuf_put(b, run, (size_t)(s - run));
        vg_xbuf_put(b, rep, strlen(rep));
        run = s + 1;
    }
}

void vg_xbuf_elem(vg_xbuf *b, const char *indent, const char *tag, const char *text)
{
    vg_xbuf_putf(b, "%s<%s>", indent, tag);
    vg_xbuf_esc(b, text);
    vg_xbuf_putf(b, "</%s>\n", tag);
}

void vg_xbuf_attr(vg_xbuf *b, const char *prefix, const char *value, const char *suffix)
{
    vg_xbuf_put(b, prefix, strlen(prefix));
    vg_xbuf_esc(b, value);
    vg_xbuf_put(b, suffix, strlen(suffix));
}

char *vg_xbuf_finish(vg_xbuf *b, vg_err *err)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    return b->p;
}
