#include "libvirt/vms.h"

#include "vg_log.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_MAX_DIR 16
#define VM_MAX_CONSOLES (DOMXML_MAX_CONSOLES + VM_MAX_DIR)

struct vms_vm {
    char name[65];
    char uuid[37];
    const char *state;
    int vcpus;
    long long memory_mib;
    int autostart;
    int virt; /* libvirt describes it */
    domxml_console vcons[DOMXML_MAX_CONSOLES];
    size_t nv;
    dir_socket dcons[VM_MAX_DIR];
    size_t nd;
    console *cons[VM_MAX_CONSOLES];
    size_t ncons;
    vms_vm *next;
};

static vms_vm *all;
static void (*changed)(void);
static char *filter;

int hd_vms_set_filter(const char *patterns, vg_err *err)
{
    free(filter);
    filter = NULL;
    if (!patterns || strcmp(patterns, "*") == 0)
        return VG_OK;
    if (!*patterns)
        return vg_fail(err, VG_E_BAD_REQUEST, "vm_filter is empty");
    filter = strdup(patterns);
    return filter ? VG_OK : vg_fail(err, VG_E_INTERNAL, "out of memory");
}

int hd_vms_wanted(const char *name)
{
    if (!filter)
        return 1;
    const char *p = filter;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char pat[128];
        if (len < sizeof(pat)) {
            memcpy(pat, p, len);
            pat[len] = '\0';
            if (fnmatch(pat, name, 0) == 0)
                return 1;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

void hd_vms_set_changed_cb(void (*cb)(void))
{
    changed = cb;
}

static vms_vm *find(const char *name)
{
    for (vms_vm *v = all; v; v = v->next)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

static vms_vm *get(const char *name)
{
    vms_vm *v = find(name);
    if (v)
        return v;
    v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    snprintf(v->name, sizeof(v->name), "%s", name);
    v->state = "unknown";
    v->next = all;
    all = v;
    return v;
}

typedef struct want {
    const char *dev, *kind, *path, *log;
} want;

/* Brings the console objects in line with what the sources say; frees the VM when no source
 * names it any more. Returns 1 when the VM was freed. */
static int reconcile(vms_vm *v, vms_vm **link)
{
    want w[VM_MAX_CONSOLES];
    size_t nw = 0;
    for (size_t i = 0; i < v->nv; i++)
        w[nw++] = (want){v->vcons[i].dev, v->vcons[i].kind, v->vcons[i].path, v->vcons[i].log};
    for (size_t i = 0; i < v->nd; i++) {
        int dup = 0;
        for (size_t j = 0; j < v->nv; j++)
            dup |= strcmp(v->vcons[j].path, v->dcons[i].path) == 0 ||
                   strcmp(v->vcons[j].dev, v->dcons[i].dev) == 0;
        if (!dup)
            w[nw++] = (want){v->dcons[i].dev, "convention", v->dcons[i].path, ""};
    }
    for (size_t i = 0; i < v->ncons;) {
        int keep = 0;
        for (size_t j = 0; j < nw && !keep; j++)
            keep = strcmp(hd_console_dev(v->cons[i]), w[j].dev) == 0;
        if (keep) {
            i++;
            continue;
        }
        hd_console_free(v->cons[i]);
        v->cons[i] = v->cons[--v->ncons];
    }
    for (size_t j = 0; j < nw; j++) {
        console *c = NULL;
        for (size_t i = 0; i < v->ncons && !c; i++)
            if (strcmp(hd_console_dev(v->cons[i]), w[j].dev) == 0)
                c = v->cons[i];
        if (c) {
            hd_console_update(c, w[j].path, w[j].log);
            continue;
        }
        vg_err err;
        c = hd_console_new(v->name, w[j].dev, w[j].kind, w[j].path, w[j].log, &err);
        if (!c) {
            vg_warn("vms", "%s/%s: %s", v->name, w[j].dev, err.msg);
            continue;
        }
        v->cons[v->ncons++] = c;
    }
    if (v->virt || v->nd)
        return 0;
    vg_info("vms", "%s is gone", v->name);
    for (size_t i = 0; i < v->ncons; i++)
        hd_console_free(v->cons[i]);
    *link = v->next;
    free(v);
    return 1;
}

static void reconcile_all(void)
{
    for (vms_vm **pp = &all; *pp;)
        if (!reconcile(*pp, pp))
            pp = &(*pp)->next;
    if (changed)
        changed();
}

void hd_vms_sync_virt(const vm_entry *vms, size_t n)
{
    for (vms_vm *v = all; v; v = v->next) {
        v->virt = 0;
        v->nv = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!hd_vms_wanted(vms[i].info.name))
            continue;
        vms_vm *v = get(vms[i].info.name);
        if (!v || v->virt) /* a name listed twice keeps its first entry */
            continue;
        v->virt = 1;
        snprintf(v->uuid, sizeof(v->uuid), "%s", vms[i].info.uuid);
        if (strcmp(v->state, vms[i].state) != 0)
            vg_info("vms", "%s is %s", v->name, vms[i].state);
        v->state = vms[i].state;
        v->vcpus = vms[i].info.vcpus;
        v->memory_mib = vms[i].info.memory_mib;
        v->autostart = vms[i].autostart;
        memcpy(v->vcons, vms[i].info.cons, vms[i].info.ncons * sizeof(domxml_console));
        v->nv = vms[i].info.ncons;
    }
    for (vms_vm *v = all; v; v = v->next)
        if (!v->virt && v->nd) {
            v->state = "unknown";
            v->uuid[0] = '\0';
            v->vcpus = v->autostart = 0;
            v->memory_mib = 0;
        }
    reconcile_all();
}

void hd_vms_sync_dir(const dir_socket *socks, size_t n)
{
    for (vms_vm *v = all; v; v = v->next)
        v->nd = 0;
    for (size_t i = 0; i < n; i++) {
        if (!hd_vms_wanted(socks[i].vm))
            continue;
        vms_vm *v = get(socks[i].vm);
        if (v && v->nd < VM_MAX_DIR)
            v->dcons[v->nd++] = socks[i];
    }
    reconcile_all();
}

void hd_vms_kick_all(void)
{
    for (vms_vm *v = all; v; v = v->next)
        for (size_t i = 0; i < v->ncons; i++)
            hd_console_kick(v->cons[i]);
}

void hd_vms_save_all(void)
{
    for (vms_vm *v = all; v; v = v->next)
        for (size_t i = 0; i < v->ncons; i++)
            hd_console_save(v->cons[i]);
}

void hd_vms_free_all(void)
{
    free(filter);
    filter = NULL;
    while (all) {
        vms_vm *v = all;
        all = v->next;
        for (size_t i = 0; i < v->ncons; i++)
            hd_console_free(v->cons[i]);
        free(v);
    }
}

console *hd_vms_console(const char *name, const char *dev)
{
    vms_vm *v = find(name);
    if (!v)
        return NULL;
    for (size_t i = 0; i < v->ncons; i++)
        if (strcmp(hd_console_dev(v->cons[i]), dev) == 0)
            return v->cons[i];
    return NULL;
}

vms_vm *hd_vms_first(void)
{
    return all;
}

vms_vm *hd_vms_next(const vms_vm *v)
{
    return v->next;
}

const char *hd_vms_name(const vms_vm *v)
{
    return v->name;
}

const char *hd_vms_uuid(const vms_vm *v)
{
    return v->uuid;
}

const char *hd_vms_state(const vms_vm *v)
{
    return v->state;
}

size_t hd_vms_nconsoles(const vms_vm *v)
{
    return v->ncons;
}

const console *hd_vms_console_at(const vms_vm *v, size_t i)
{
    return v->cons[i];
}

int hd_vms_vcpus(const vms_vm *v)
{
    return v->vcpus;
}

long long hd_vms_memory_mib(const vms_vm *v)
{
    return v->memory_mib;
}

int hd_vms_autostart(const vms_vm *v)
{
    return v->autostart;
}
