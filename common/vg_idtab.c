#include "vg_idtab.h"

#include <stdlib.h>
#include <string.h>

/* Index of id, or where it would go (*found 0). */
static size_t find(const vg_idtab *t, uint32_t id, int *found)
{
    size_t lo = 0, hi = t->n;
    /* Gateways count ids up: the newest goes last without a search. */
    if (t->n && t->e[t->n - 1].id < id)
        lo = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < t->n && t->e[lo].id == id;
    return lo;
}

void *vg_idtab_get(const vg_idtab *t, uint32_t id)
{
    int found;
    size_t i = find(t, id, &found);
    return found ? t->e[i].p : NULL;
}

int vg_idtab_add(vg_idtab *t, uint32_t id, void *p, vg_err *err)
{
    int found;
    size_t i = find(t, id, &found);
    if (found)
        return vg_fail(err, VG_E_CONFLICT, "id %u is in use", id);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        vg_idtab_entry *e = realloc(t->e, cap * sizeof(*e));
        if (!e)
            return vg_fail(err, VG_E_INTERNAL, "out of memory");
        t->e = e;
        t->cap = cap;
    }
    memmove(t->e + i + 1, t->e + i, (t->n - i) * sizeof(*t->e));
    t->e[i].id = id;
    t->e[i].p = p;
    t->n++;
    return VG_OK;
}

void *vg_idtab_del(vg_idtab *t, uint32_t id)
{
    int found;
    size_t i = find(t, id, &found);
    if (!found)
        return NULL;
    void *p = t->e[i].p;
    memmove(t->e + i, t->e + i + 1, (t->n - i - 1) * sizeof(*t->e));
    t->n--;
    return p;
}

void vg_idtab_clear(vg_idtab *t)
{
    free(t->e);
    memset(t, 0, sizeof(*t));
}
