/* A table of pointers by u32 id, kept sorted for binary search: a channel's members by tag
 * (channel.c) and a link v3 connection's channels by id (mux.c). Thousands of entries cost a
 * lookup of a dozen comparisons; ids given in increasing order (as gateways give them) are
 * appended. Pure. */
#ifndef HD_IDTAB_H
#define HD_IDTAB_H

#include "vg.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hd_idtab_entry {
    uint32_t id;
    void *p;
} hd_idtab_entry;

typedef struct hd_idtab {
    hd_idtab_entry *e; /* sorted by id; owned, the pointers are not */
    size_t n, cap;
} hd_idtab;

/* The pointer of id, or NULL. */
void *hd_idtab_get(const hd_idtab *t, uint32_t id);
/* Adds id -> p (p not NULL). VG_ERR: id is in use (conflict) or out of memory (internal). */
int hd_idtab_add(hd_idtab *t, uint32_t id, void *p, vg_err *err);
/* Removes id and returns its pointer (NULL when absent). */
void *hd_idtab_del(hd_idtab *t, uint32_t id);
/* Frees the array (not what it points to); the table is empty and usable again. */
void hd_idtab_clear(hd_idtab *t);

#endif
