/* A byte ring addressed by absolute 64-bit stream offsets.
 *
 * The ring keeps the newest `cap` bytes of an unbounded stream. Offsets never wrap or reset
 * while the stream lives, so a reader that remembers an offset can tell exactly whether the
 * bytes it wants are still here (start <= off <= end) or were overwritten (off < start). */
#ifndef VG_RING_H
#define VG_RING_H

#include "vg.h"

typedef struct vg_ring {
    unsigned char *buf; /* owned */
    size_t cap;
    uint64_t start; /* absolute offset of the oldest byte kept */
    uint64_t end;   /* absolute offset one past the newest byte */
} vg_ring;

int vg_ring_init(vg_ring *r, size_t cap, uint64_t start_offset);
void vg_ring_free(vg_ring *r);
/* Appends len bytes, dropping the oldest ones when full. */
void vg_ring_append(vg_ring *r, const void *data, size_t len);
/* Forgets everything and continues the stream at off (off >= end keeps offsets monotonic). */
void vg_ring_reset(vg_ring *r, uint64_t off);
/* Points *p at the longest contiguous run of bytes starting at off, at most max long; returns
 * its length, 0 when off == end. off must be within [start, end]: callers check for gaps with
 * vg_ring_clamp first. */
size_t vg_ring_peek(const vg_ring *r, uint64_t off, size_t max, const unsigned char **p);
/* Moves *off into [start, end]. Returns the number of bytes skipped over (a gap), 0 if none.
 * An offset beyond end is moved back to end. */
uint64_t vg_ring_clamp(const vg_ring *r, uint64_t *off);

#endif
