/* A growing text buffer for the XML documents vmgate generates (domain, network, nwfilter):
 * fixed markup with printf, user text escaped for element content and either attribute quote.
 * Running out of memory is remembered and reported once, at the end (vg_xbuf_finish). */
#ifndef VG_XBUF_H
#define VG_XBUF_H

#include "vg.h"

#include <stddef.h>

typedef struct vg_xbuf {
    char *p;
    size_t len, cap;
    int oom;
} vg_xbuf;

void vg_xbuf_put(vg_xbuf *b, const char *s, size_t n);
/* Only for text that needs no escaping: the fixed markup, numbers and checked enum values. */
void vg_xbuf_putf(vg_xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text from users and hosts, escaped. */
void vg_xbuf_esc(vg_xbuf *b, const char *s);
/* indent, <tag>, escaped text, </tag> and a newline. */
void vg_xbuf_elem(vg_xbuf *b, const char *indent, const char *tag, const char *text);
/* prefix, escaped value, suffix: one attribute value between fixed markup. */
void vg_xbuf_attr(vg_xbuf *b, const char *prefix, const char *value, const char *suffix);
/* The text (caller frees), or NULL with `internal` when memory ran out (the buffer is freed). */
char *vg_xbuf_finish(vg_xbuf *b, vg_err *err);

#endif
