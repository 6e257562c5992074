/* A parsed spec back as JSON, defaults and generated MACs filled in: what the gateway stores
 * (vg:vmdef:<vm> spec) and sends to hostd. Parsing it again gives the same spec. */
#include "vg_domspec.h"

#include <stdio.h>

/* cJSON's Add* functions return NULL when out of memory; every one is checked through ok. */
static cJSON *add_str(cJSON *obj, const char *key, const char *v, int *ok)
{
    cJSON *it = cJSON_AddStringToObject(obj, key, v);
    *ok &= it != NULL;
    return it;
}

static void add_num(cJSON *obj, const char *key, long long v, int *ok)
{
    *ok &= cJSON_AddNumberToObject(obj, key, (double)v) != NULL;
}

static void add_bool(cJSON *obj, const char *key, int v, int *ok)
{
    *ok &= cJSON_AddBoolToObject(obj, key, v) != NULL;
}

static cJSON *add_obj(cJSON *obj, const char *key, int *ok)
{
    cJSON *it = obj ? cJSON_AddObjectToObject(obj, key) : NULL;
    *ok &= it != NULL;
    return it;
}

static cJSON *add_arr(cJSON *obj, const char *key, int *ok)
{
    cJSON *it = obj ? cJSON_AddArrayToObject(obj, key) : NULL;
    *ok &= it != NULL;
    return it;
}

static cJSON *push_obj(cJSON *arr, int *ok)
{
    cJSON *it = cJSON_CreateObject();
    if (!it || !arr || !cJSON_AddItemToArray(arr, it)) {
        cJSON_Delete(it);
        *ok = 0;
        return NULL;
    }
    return it;
}

static void disks_json(const vg_spec *s, cJSON *obj, int *ok)
{
    cJSON *arr = add_arr(obj, "disks", ok);
    for (size_t i = 0; i < s->ndisks && *ok; i++) {
        const vg_spec_disk *d = &s->disks[i];
        cJSON *o = push_obj(arr, ok);
        char ref[196];
        snprintf(ref, sizeof(ref), "%s/%s", d->pool, d->volume);
        if (!o)
            return;
        switch (d->kind) {
        case VG_DISK_NEW:
            add_num(o, "size_mib", d->size_mib, ok);
            add_str(o, "format", d->format, ok);
            add_str(o, "pool", d->pool, ok);
            break;
        case VG_DISK_IMAGE:
            add_str(o, "image", ref, ok);
            if (d->size_mib)
                add_num(o, "size_mib", d->size_mib, ok);
            break;
        case VG_DISK_VOLUME:
            add_str(o, "volume", ref, ok);
            break;
        }
        add_str(o, "bus", d->bus, ok);
        add_str(o, "cache", d->cache, ok);
    }
}

static void devices_json(const vg_spec *s, cJSON *obj, int *ok)
{
    disks_json(s, obj, ok);
    if (s->has_cdrom) {
        cJSON *cd = add_obj(obj, "cdrom", ok);
        if (cd) {
            add_str(cd, "bus", s->cdrom_bus, ok);
            if (s->cdrom[0])
                add_str(cd, "media", s->cdrom, ok);
            else
                *ok &= cJSON_AddNullToObject(cd, "media") != NULL;
        }
    }
    cJSON *nics = add_arr(obj, "nics", ok);
    for (size_t i = 0; i < s->nnics && *ok; i++) {
        cJSON *n = push_obj(nics, ok);
        if (!n)
            return;
        add_str(n, "network", s->nics[i].network, ok);
        add_str(n, "model", s->nics[i].model, ok);
        add_str(n, "mac", s->nics[i].mac, ok);
        const vg_spec_nic *nic = &s->nics[i];
        if (nic->ip[0])
            add_str(n, "ip", nic->ip, ok);
        if (nic->filter[0])
            add_str(n, "filter", nic->filter, ok);
        cJSON *fp = nic->nparams ? add_obj(n, "filter_params", ok) : NULL;
        for (size_t j = 0; fp && j < nic->nparams; j++)
            add_str(fp, nic->params[j].name, nic->params[j].value, ok);
        cJSON *groups = nic->has_secgroups ? add_arr(n, "secgroups", ok) : NULL;
        for (size_t j = 0; groups && j < nic->nsecgroups; j++)
            *ok &= cJSON_AddItemToArray(groups, cJSON_CreateString(nic->secgroups[j]));
    }
    cJSON *cons = add_obj(obj, "consoles", ok);
    if (cons) {
        add_bool(cons, "virtio_console", s->virtio_console, ok);
        add_bool(cons, "channel", s->channel, ok);
    }
}

cJSON *vg_domspec_to_json(const vg_spec *s)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok)
        return NULL;
    add_str(o, "name", s->name, &ok);
    add_str(o, "description", s->description, &ok);
    if (!s->raw_xml) {
        add_num(o, "vcpus", s->vcpus, &ok);
        add_num(o, "memory_mib", s->memory_mib, &ok);
        add_str(o, "arch", s->arch, &ok);
        add_str(o, "machine", s->machine, &ok);
        cJSON *boot = add_obj(o, "boot", &ok);
        if (boot && s->nboot) {
            cJSON *order = add_arr(boot, "order", &ok);
            for (size_t i = 0; i < s->nboot && order; i++) {
                cJSON *dev = cJSON_CreateString(s->boot[i]);
                if (!dev || !cJSON_AddItemToArray(order, dev)) {
                    cJSON_Delete(dev);
                    ok = 0;
                }
            }
        }
        if (boot)
            add_bool(boot, "menu", s->boot_menu, &ok);
        if (s->kernel[0]) {
            cJSON *k = add_obj(o, "kernel", &ok);
            if (k) {
                add_str(k, "kernel", s->kernel, &ok);
                if (s->initrd[0])
                    add_str(k, "initrd", s->initrd, &ok);
                if (s->cmdline[0])
                    add_str(k, "cmdline", s->cmdline, &ok);
            }
        }
        devices_json(s, o, &ok);
        add_str(o, "graphics", s->graphics, &ok);
        add_bool(o, "autostart", s->autostart, &ok);
        add_str(o, "on_poweroff", s->on_poweroff, &ok);
        add_str(o, "on_reboot", s->on_reboot, &ok);
        add_str(o, "on_crash", s->on_crash, &ok);
    }
    cJSON *place = add_obj(o, "placement", &ok);
    if (place && s->place_host[0])
        add_str(place, "host", s->place_host, &ok);
    if (place && s->place_group[0])
        add_str(place, "group", s->place_group, &ok);
    if (s->raw_xml)
        add_str(o, "raw_xml", s->raw_xml, &ok);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
