#include "vg_ring.h"

#include <stdlib.h>
#include <string.h>

int vg_ring_init(vg_ring *r, size_t cap, uint64_t start_offset)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0)
        return VG_ERR;
    r->buf = malloc(cap);
    if (!r->buf)
        return VG_ERR;
    r->cap = cap;
    r->start = r->end = start_offset;
    return VG_OK;
}

void vg_ring_free(vg_ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

void vg_ring_append(vg_ring *r, const void *data, size_t len)
{
    const unsigned char *src = data;
    if (len > r->cap) { /* only the tail can survive */
        src += len - r->cap;
        r->end += len - r->cap;
        len = r->cap;
    }
    size_t pos = (size_t)(r->end % r->cap);
    size_t first = r->cap - pos < len ? r->cap - pos : len;
    memcpy(r->buf + pos, src, first);
    memcpy(r->buf, src + first, len - first);
    r->end += len;
    if (r->end - r->start > r->cap)
        r->start = r->end - r->cap;
}

void vg_ring_reset(vg_ring *r, uint64_t off)
{
    r->start = r->end = off;
}

size_t vg_ring_peek(const vg_ring *r, uint64_t off, size_t max, const unsigned char **p)
{
    if (off < r->start || off >= r->end) {
        *p = NULL;
        return 0;
    }
    size_t pos = (size_t)(off % r->cap);
    uint64_t avail = r->end - off;
    size_t run = r->cap - pos;
    if (avail < run)
        run = (size_t)avail;
    if (max < run)
        run = max;
    *p = r->buf + pos;
    return run;
}

uint64_t vg_ring_clamp(const vg_ring *r, uint64_t *off)
{
    if (*off > r->end)
        *off = r->end;
    if (*off >= r->start)
        return 0;
    uint64_t skipped = r->start - *off;
    *off = r->start;
    return skipped;
}
