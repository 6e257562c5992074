/* A table of pointers by u32 id, kept sorted for binary search: a hostd channel's members by tag
 * (hostd/link/channel.c) and a link v3 connection's channels by id, at both ends
 * (hostd/link/mux.c, gateway/backend/hostmux.c). Thousands of entries cost a
 * lookup of a dozen comparisons; ids given in increasing order (as gateways give them) are
 * appended. Pure. */
#ifndef VG_IDTAB_H
#define VG_IDTAB_H

#include "vg.h"

#include <stddef.h>
#include <stdint.h>

typedef struct vg_idtab_entry {
    uint32_t id;
    void *p;
} vg_idtab_entry;

typedef struct vg_idtab {
    vg_idtab_entry *e; /* sorted by id; owned, the pointers are not */
    size_t n, cap;
} vg_idtab;

/* The pointer of id, or NULL. */
void *vg_idtab_get(const vg_idtab *t, uint32_t id);
/* Adds id -> p (p not NULL). VG_ERR: id is in use (conflict) or out of memory (internal). */
int vg_idtab_add(vg_idtab *t, uint32_t id, void *p, vg_err *err);
/* Removes id and returns its pointer (NULL when absent). */
void *vg_idtab_del(vg_idtab *t, uint32_t id);
/* Frees the array (not what it points to); the table is empty and usable again. */
void vg_idtab_clear(vg_idtab *t);

#endif
