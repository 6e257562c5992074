/* VM spec: parse and check every field (the error names the offending one by its path) and
 * fill defaults. Also in this module: vg_domspec_raw.c (raw_xml specs), vg_domspec_tojson.c (the
 * spec back as JSON), vg_domspec_xml.c (the domain XML). */
#include "vg_domspec_int.h"

#include "vg_jfield.h"
#include "vg_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SPEC_DESC_MAX 1024
#define SPEC_DISK_MAX 1048576
#define SPEC_IDE_MAX 4 /* two IDE buses with two units each: hda..hdd */

static const char *const top_keys[] = {
    "name",        "description", "vcpus",    "memory_mib", "arch",     "machine",  "boot",
    "kernel",      "disks",       "cdrom",    "nics",       "consoles", "graphics", "autostart",
    "on_poweroff", "on_reboot",   "on_crash", "placement",  "raw_xml",  NULL};
static const char *const archs[] = {"x86_64", "i686", "aarch64", NULL};
static const char *const boot_devs[] = {"hd", "cdrom", "network", NULL};
static const char *const disk_keys[] = {"size_mib", "format", "pool",  "image",
                                        "volume",   "bus",    "cache", NULL};
static const char *const new_keys[] = {"size_mib", "format", "pool", "bus", "cache", NULL};
static const char *const image_keys[] = {"image", "size_mib", "bus", "cache", NULL};
static const char *const volume_keys[] = {"volume", "bus", "cache", NULL};
static const char *const formats[] = {"qcow2", "raw", NULL};
static const char *const buses[] = {"virtio", "sata", "scsi", "ide", NULL};
static const char *const caches[] = {"default", "none", "writethrough", "writeback", "directsync",
                                     "unsafe",  NULL};
static const char *const cdrom_buses[] = {"sata", "ide", NULL};
static const char *const models[] = {"virtio", "e1000", "rtl8139", NULL};
static const char *const graphics_kinds[] = {"none", "vnc", "spice", NULL};
/* What libvirt's QEMU driver accepts: it refuses rename-restart everywhere and preserve for
 * poweroff and reboot (qemuValidateLifecycleAction). */
static const char *const stop_actions[] = {"destroy", "restart", NULL};
static const char *const crash_actions[] = {"destroy",          "restart",          "preserve",
                                            "coredump-destroy", "coredump-restart", NULL};

/* A host file for direct kernel boot: absolute, no ".." component, fits. */
static int host_path_ok(const char *s)
{
    if (s[0] != '/' || strlen(s) >= VG_SPEC_PATH_MAX || !vg_jf_text_ok(s, 0))
        return 0;
    for (const char *c = s; (c = strstr(c, "..")); c += 2)
        if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
            return 0;
    return 1;
}

/* Storage volume names: the characters of vg_valid_name, but up to 128 of them. */
static int volume_name_ok(const char *s)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    size_t n = strlen(s);
    return n >= 1 && n <= 128 && s[0] != '.' && s[0] != '-' && strspn(s, chars) == n;
}

/* "pool/volume" into its two parts. */
static int volref_field(const cJSON *it, const char *at, char *pool, char *vol, vg_err *err)
{
    const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t plen = slash ? (size_t)(slash - s) : 0;
    if (!slash || plen == 0 || plen > 64 || strlen(slash + 1) > 128)
        goto bad;
    memcpy(pool, s, plen);
    pool[plen] = '\0';
    memcpy(vol, slash + 1, strlen(slash + 1) + 1);
    if (vg_valid_name(pool) && volume_name_ok(vol))
        return VG_OK;
bad:
    return vg_fail(err, VG_E_BAD_REQUEST, "%s must be \"pool/volume\" (names of A-Z a-z 0-9 . _ -)",
                   at);
}

static int parse_boot(const cJSON *spec, vg_spec *out, vg_err *err)
{
    const cJSON *boot;
    static const char *const keys[] = {"order", "menu", NULL};
    if (vg_jf_object(spec, "spec", "boot", &boot, err) != VG_OK)
        return VG_ERR;
    if (boot && (vg_jf_known(boot, "spec.boot", keys, err) != VG_OK ||
                 vg_jf_bool(boot, "spec.boot", "menu", &out->boot_menu, err) != VG_OK))
        return VG_ERR;
    const cJSON *order = boot ? vg_jf_member(boot, "order") : NULL;
    if (!order)
        return VG_OK;
    if (out->kernel[0])
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.boot.order cannot be combined with spec.kernel (direct kernel boot)");
    int n = cJSON_IsArray(order) ? cJSON_GetArraySize(order) : 0;
    if (n < 1 || n > 3)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.boot.order must be a list of 1-3 of hd, cdrom, network");
    out->nboot = 0;
    for (const cJSON *d = order->child; d; d = d->next) {
        size_t i = out->nboot;
        if (!cJSON_IsString(d) || !vg_jf_one_of(d->valuestring, boot_devs))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "spec.boot.order[%zu] must be one of hd, cdrom, network", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->boot[j], d->valuestring) == 0)
                return vg_fail(err, VG_E_BAD_REQUEST, "spec.boot.order[%zu] repeats %s", i,
                               d->valuestring);
        snprintf(out->boot[out->nboot++], sizeof(out->boot[0]), "%s", d->valuestring);
    }
    return VG_OK;
}

static int parse_kernel(const cJSON *spec, vg_spec *out, vg_err *err)
{
    const cJSON *k;
    static const char *const keys[] = {"kernel", "initrd", "cmdline", NULL};
    if (vg_jf_object(spec, "spec", "kernel", &k, err) != VG_OK)
        return VG_ERR;
    if (!k)
        return VG_OK;
    if (vg_jf_known(k, "spec.kernel", keys, err) != VG_OK)
        return VG_ERR;
    if (!vg_jf_member(k, "kernel"))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.kernel.kernel is required");
    if (vg_jf_str(k, "spec.kernel", "kernel", out->kernel, sizeof(out->kernel), 0, err) ||
        vg_jf_str(k, "spec.kernel", "initrd", out->initrd, sizeof(out->initrd), 0, err) ||
        vg_jf_str(k, "spec.kernel", "cmdline", out->cmdline, sizeof(out->cmdline), 0, err))
        return VG_ERR;
    if (!host_path_ok(out->kernel))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.kernel.kernel must be an absolute path without \"..\"");
    if (vg_jf_member(k, "initrd") && !host_path_ok(out->initrd))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.kernel.initrd must be an absolute path without \"..\"");
    return VG_OK;
}

static int parse_disk(const cJSON *d, const char *at, vg_spec_disk *disk, vg_err *err)
{
    if (!cJSON_IsObject(d))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s must be an object", at);
    if (vg_jf_known(d, at, disk_keys, err) != VG_OK)
        return VG_ERR;
    const cJSON *image = vg_jf_member(d, "image"), *volume = vg_jf_member(d, "volume");
    if (image && volume)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s may have image or volume, not both", at);
    disk->kind = image ? VG_DISK_IMAGE : volume ? VG_DISK_VOLUME : VG_DISK_NEW;
    static const char *const kind_names[] = {"a new disk", "an image disk", "a volume disk"};
    const char *const *keys = image ? image_keys : volume ? volume_keys : new_keys;
    for (const cJSON *c = d->child; c; c = c->next)
        if (!vg_jf_one_of(c->string, keys))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s does not apply to %s", at, c->string,
                           kind_names[disk->kind]);
    char sub[64];
    snprintf(disk->bus, sizeof(disk->bus), "virtio");
    snprintf(disk->cache, sizeof(disk->cache), "default");
    if (vg_jf_enum(d, at, "bus", buses, disk->bus, sizeof(disk->bus), err) != VG_OK ||
        vg_jf_enum(d, at, "cache", caches, disk->cache, sizeof(disk->cache), err) != VG_OK)
        return VG_ERR;
    switch (disk->kind) {
    case VG_DISK_NEW:
        if (!vg_jf_member(d, "size_mib"))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s needs size_mib and pool (new disk), image or volume", at);
        if (!vg_jf_member(d, "pool"))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.pool is required for a new disk", at);
        snprintf(disk->format, sizeof(disk->format), "qcow2");
        if (vg_jf_int(d, at, "size_mib", 1, SPEC_DISK_MAX, &disk->size_mib, err) != VG_OK ||
            vg_jf_enum(d, at, "format", formats, disk->format, sizeof(disk->format), err) !=
                VG_OK ||
            vg_jf_str(d, at, "pool", disk->pool, sizeof(disk->pool), 0, err) != VG_OK)
            return VG_ERR;
        if (!vg_valid_name(disk->pool))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.pool must be a name of 1-64 characters A-Z a-z 0-9 . _ -", at);
        return VG_OK;
    case VG_DISK_IMAGE:
        snprintf(disk->format, sizeof(disk->format), "qcow2");
        snprintf(sub, sizeof(sub), "%s.image", at);
        if (volref_field(image, sub, disk->pool, disk->volume, err) != VG_OK)
            return VG_ERR;
        return vg_jf_int(d, at, "size_mib", 0, SPEC_DISK_MAX, &disk->size_mib, err);
    case VG_DISK_VOLUME:
        snprintf(sub, sizeof(sub), "%s.volume", at);
        return volref_field(volume, sub, disk->pool, disk->volume, err);
    }
    return VG_OK;
}

static int parse_disks(const cJSON *spec, vg_spec *out, vg_err *err)
{
    const cJSON *disks = vg_jf_member(spec, "disks");
    if (!disks)
        return VG_OK;
    if (!cJSON_IsArray(disks) || cJSON_GetArraySize(disks) > VG_SPEC_MAX_DISKS)
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.disks must be a list of at most %d disks",
                       VG_SPEC_MAX_DISKS);
    for (const cJSON *d = disks->child; d; d = d->next) {
        char at[32];
        snprintf(at, sizeof(at), "spec.disks[%zu]", out->ndisks);
        if (parse_disk(d, at, &out->disks[out->ndisks], err) != VG_OK)
            return VG_ERR;
        out->ndisks++;
    }
    return VG_OK;
}

static int parse_cdrom(const cJSON *spec, vg_spec *out, vg_err *err)
{
    const cJSON *cd;
    static const char *const keys[] = {"bus", "media", NULL};
    if (vg_jf_object(spec, "spec", "cdrom", &cd, err) != VG_OK)
        return VG_ERR;
    if (!cd)
        return VG_OK;
    out->has_cdrom = 1;
    snprintf(out->cdrom_bus, sizeof(out->cdrom_bus), "sata");
    if (vg_jf_known(cd, "spec.cdrom", keys, err) != VG_OK ||
        vg_jf_enum(cd, "spec.cdrom", "bus", cdrom_buses, out->cdrom_bus, sizeof(out->cdrom_bus),
                   err) != VG_OK)
        return VG_ERR;
    const cJSON *media = vg_jf_member(cd, "media");
    if (!media || cJSON_IsNull(media))
        return VG_OK;
    char pool[65], vol[129];
    if (volref_field(media, "spec.cdrom.media", pool, vol, err) != VG_OK)
        return VG_ERR;
    snprintf(out->cdrom, sizeof(out->cdrom), "%s/%s", pool, vol);
    return VG_OK;
}

/* A Weyl sequence through the murmur3 finaliser: reproducible from the seed on every platform. */
static uint32_t prng_next(uint32_t *state)
{
    uint32_t z = (*state += 0x9e3779b9u);
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    return z ^ (z >> 16);
}

static int mac_taken(const vg_spec *out, size_t upto, const char *mac)
{
    for (size_t i = 0; i < out->nnics; i++)
        if (i != upto && strcmp(out->nics[i].mac, mac) == 0)
            return 1;
    return 0;
}

/* The NIC's fixed address, filter with its parameters and security groups. */
static int parse_nic_net(const cJSON *n, const char *at, vg_spec_nic *nic, vg_err *err)
{
    const cJSON *ip = vg_jf_member(n, "ip"), *params = vg_jf_member(n, "filter_params"),
                *groups = vg_jf_member(n, "secgroups");
    vg_ip a;
    if (ip) {
        if (!cJSON_IsString(ip) || !vg_ip_parse(ip->valuestring, &a))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.ip must be an IPv4 or IPv6 address", at);
        vg_ip_format(&a, nic->ip, sizeof(nic->ip));
    }
    if (vg_jf_str(n, at, "filter", nic->filter, sizeof(nic->filter), 0, err) != VG_OK)
        return VG_ERR;
    if (vg_jf_member(n, "filter") && !vg_valid_name(nic->filter))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.filter must be a filter name", at);
    if (params && !nic->filter[0])
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.filter_params needs %s.filter", at, at);
    if (params &&
        (!cJSON_IsObject(params) || cJSON_GetArraySize(params) > VG_SPEC_MAX_FILTER_PARAMS))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "%s.filter_params must be an object of at most %d parameters", at,
                       VG_SPEC_MAX_FILTER_PARAMS);
    for (const cJSON *p = params ? params->child : NULL; p; p = p->next) {
        vg_spec_filter_param *fp = &nic->params[nic->nparams];
        size_t len = strlen(p->string);
        if (len == 0 || len >= sizeof(fp->name) ||
            strspn(p->string, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.filter_params: a parameter name is 1-32 characters A-Z 0-9 _", at);
        const char *v = cJSON_GetStringValue(p);
        if (!v || strlen(v) >= sizeof(fp->value) || !vg_jf_text_ok(v, 0))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.filter_params.%.32s must be a string of "
                           "at most 64 characters",
                           at, p->string);
        memcpy(fp->name, p->string, len + 1);
        memcpy(fp->value, v, strlen(v) + 1);
        nic->nparams++;
    }
    if (!groups)
        return VG_OK;
    if (nic->filter[0])
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "%s: filter and secgroups exclude each other (the groups compile to the "
                       "NIC's filter)",
                       at);
    if (!cJSON_IsArray(groups) || cJSON_GetArraySize(groups) > VG_SPEC_MAX_SECGROUPS)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.secgroups must be a list of at most %d groups",
                       at, VG_SPEC_MAX_SECGROUPS);
    nic->has_secgroups = 1;
    for (const cJSON *g = groups->child; g; g = g->next) {
        const char *v = cJSON_GetStringValue(g);
        if (!v || !vg_valid_name(v))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.secgroups[%zu] must be a group name", at,
                           nic->nsecgroups);
        for (size_t i = 0; i < nic->nsecgroups; i++)
            if (!strcmp(nic->secgroups[i], v))
                return vg_fail(err, VG_E_BAD_REQUEST, "%s.secgroups lists %s twice", at, v);
        snprintf(nic->secgroups[nic->nsecgroups++], 65, "%s", v);
    }
    return VG_OK;
}

void vg_domspec_secgroup_filter(const char *mac, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "vgsg-");
    for (; *mac && n + 1 < cap; mac++)
        if (*mac != ':')
            out[n++] = *mac;
    out[n < cap ? n : cap - 1] = '\0';
}

static int parse_nics(const cJSON *spec, vg_spec *out, unsigned seed, vg_err *err)
{
    static const char *const keys[] = {"network", "model",         "mac",       "ip",
                                       "filter",  "filter_params", "secgroups", NULL};
    const cJSON *nics = vg_jf_member(spec, "nics");
    if (!nics)
        return VG_OK;
    if (!cJSON_IsArray(nics) || cJSON_GetArraySize(nics) > VG_SPEC_MAX_NICS)
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.nics must be a list of at most %d NICs",
                       VG_SPEC_MAX_NICS);
    for (const cJSON *n = nics->child; n; n = n->next) {
        vg_spec_nic *nic = &out->nics[out->nnics];
        char at[32];
        snprintf(at, sizeof(at), "spec.nics[%zu]", out->nnics);
        if (!cJSON_IsObject(n))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s must be an object", at);
        snprintf(nic->model, sizeof(nic->model), "virtio");
        if (vg_jf_known(n, at, keys, err) != VG_OK)
            return VG_ERR;
        if (!vg_jf_member(n, "network"))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.network is required", at);
        if (vg_jf_str(n, at, "network", nic->network, sizeof(nic->network), 0, err) != VG_OK ||
            vg_jf_enum(n, at, "model", models, nic->model, sizeof(nic->model), err) != VG_OK)
            return VG_ERR;
        if (!vg_valid_name(nic->network))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.network must be a name of 1-64 characters A-Z a-z 0-9 . _ -", at);
        if (parse_nic_net(n, at, nic, err) != VG_OK)
            return VG_ERR;
        const cJSON *mac = vg_jf_member(n, "mac");
        unsigned char b[6];
        if (mac) {
            if (!cJSON_IsString(mac) || !vg_mac_parse(mac->valuestring, b) || (b[0] & 1) ||
                !(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "%s.mac must be a unicast MAC address like 52:54:00:12:34:56", at);
            snprintf(nic->mac, sizeof(nic->mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
                     b[3], b[4], b[5]);
            if (mac_taken(out, out->nnics, nic->mac))
                return vg_fail(err, VG_E_BAD_REQUEST, "%s.mac %s is used by another NIC", at,
                               nic->mac);
        }
        out->nnics++;
    }
    /* Generated after all given ones are known, so a generated one never repeats a given one. */
    uint32_t state = seed;
    for (size_t i = 0; i < out->nnics; i++) {
        vg_spec_nic *nic = &out->nics[i];
        if (nic->mac[0])
            continue;
        if (state == 0) {
            while (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state))
                if (errno != EINTR)
                    return vg_fail(err, VG_E_INTERNAL, "getrandom: %s", strerror(errno));
        }
        do {
            uint32_t r = prng_next(&state);
            snprintf(nic->mac, sizeof(nic->mac), "52:54:00:%02x:%02x:%02x",
                     (unsigned)(r >> 16) & 255, (unsigned)(r >> 8) & 255, (unsigned)r & 255);
        } while (mac_taken(out, i, nic->mac));
    }
    return VG_OK;
}

static int parse_placement(const cJSON *spec, vg_spec *out, vg_err *err)
{
    const cJSON *p;
    static const char *const keys[] = {"host", "group", NULL};
    if (vg_jf_object(spec, "spec", "placement", &p, err) != VG_OK)
        return VG_ERR;
    if (!p)
        return VG_OK;
    if (vg_jf_known(p, "spec.placement", keys, err) != VG_OK ||
        vg_jf_str(p, "spec.placement", "host", out->place_host, sizeof(out->place_host), 0, err) !=
            VG_OK ||
        vg_jf_str(p, "spec.placement", "group", out->place_group, sizeof(out->place_group), 0,
                  err) != VG_OK)
        return VG_ERR;
    if (vg_jf_member(p, "host") && vg_jf_member(p, "group"))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.placement names a host or a group, not both");
    if ((vg_jf_member(p, "host") && !vg_valid_name(out->place_host)) ||
        (vg_jf_member(p, "group") && !vg_valid_name(out->place_group)))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.placement.%s must be a name of 1-64 "
                       "characters A-Z a-z 0-9 . _ -",
                       vg_jf_member(p, "host") ? "host" : "group");
    return VG_OK;
}

/* The machines that have an IDE controller: i440fx ("pc", "pc-i440fx-7.2", "pc-1.0"). */
static int has_ide(const vg_spec *s)
{
    if (strcmp(s->arch, "aarch64") == 0)
        return 0;
    return strcmp(s->machine, "pc") == 0 || strncmp(s->machine, "pc-i440fx", 9) == 0 ||
           (strncmp(s->machine, "pc-", 3) == 0 && s->machine[3] >= '0' && s->machine[3] <= '9');
}

/* Target names from each bus's own sequence: virtio vda.., sata and scsi share sda.., ide
 * hda..; the CD-ROM comes after the disks on its bus. */
static int assign_targets(vg_spec *s, vg_err *err)
{
    int nvd = 0, nsd = 0, nhd = 0;
    for (size_t i = 0; i < s->ndisks; i++) {
        vg_spec_disk *d = &s->disks[i];
        if (strcmp(d->bus, "virtio") == 0) {
            snprintf(d->target, sizeof(d->target), "vd%c", 'a' + nvd++);
        } else if (strcmp(d->bus, "ide") == 0) {
            if (!has_ide(s))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "spec.disks[%zu].bus ide does not exist on machine %s (use sata)", i,
                               s->machine);
            if (nhd == SPEC_IDE_MAX)
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "spec.disks[%zu].bus: at most %d IDE devices (hda-hdd)", i,
                               SPEC_IDE_MAX);
            snprintf(d->target, sizeof(d->target), "hd%c", 'a' + nhd++);
        } else {
            snprintf(d->target, sizeof(d->target), "sd%c", 'a' + nsd++);
        }
    }
    if (s->has_cdrom && strcmp(s->cdrom_bus, "ide") == 0) {
        if (!has_ide(s))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "spec.cdrom.bus ide does not exist on machine %s (use sata)",
                           s->machine);
        if (nhd == SPEC_IDE_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "spec.cdrom.bus: at most %d IDE devices (hda-hdd)", SPEC_IDE_MAX);
    }
    return VG_OK;
}

int vg_domspec_parse(const cJSON *spec, vg_spec *out, unsigned seed, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(spec))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec must be an object");
    if (vg_jf_known(spec, "spec", top_keys, err) != VG_OK)
        return VG_ERR;
    const cJSON *name = vg_jf_member(spec, "name");
    if (!cJSON_IsString(name) || !vg_valid_name(name->valuestring))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.name must be a name of 1-64 characters "
                       "A-Z a-z 0-9 . _ - not starting with . or -");
    snprintf(out->name, sizeof(out->name), "%s", name->valuestring);
    if (vg_jf_str(spec, "spec", "description", out->description, sizeof(out->description), 1,
                  err) != VG_OK ||
        parse_placement(spec, out, err) != VG_OK)
        return VG_ERR;
    const cJSON *raw = vg_jf_member(spec, "raw_xml");
    if (raw)
        return vg_domspec_raw_parse(raw, out, err);

    long long vcpus = 1;
    out->memory_mib = 128;
    snprintf(out->arch, sizeof(out->arch), "x86_64");
    snprintf(out->graphics, sizeof(out->graphics), "none");
    snprintf(out->on_poweroff, sizeof(out->on_poweroff), "destroy");
    snprintf(out->on_reboot, sizeof(out->on_reboot), "restart");
    snprintf(out->on_crash, sizeof(out->on_crash), "destroy");
    const cJSON *consoles;
    static const char *const console_keys[] = {"virtio_console", "channel", NULL};
    if (vg_jf_int(spec, "spec", "vcpus", 1, VG_SPEC_VCPUS_MAX, &vcpus, err) != VG_OK ||
        vg_jf_int(spec, "spec", "memory_mib", VG_SPEC_MEM_MIN, VG_SPEC_MEM_MAX, &out->memory_mib,
                  err) != VG_OK ||
        vg_jf_enum(spec, "spec", "arch", archs, out->arch, sizeof(out->arch), err) != VG_OK)
        return VG_ERR;
    out->vcpus = (int)vcpus;
    /* aarch64 has no "pc": its generic board is "virt". */
    snprintf(out->machine, sizeof(out->machine), "%s",
             strcmp(out->arch, "aarch64") == 0 ? "virt" : "pc");
    if (vg_jf_str(spec, "spec", "machine", out->machine, sizeof(out->machine), 0, err) != VG_OK)
        return VG_ERR;
    if (!vg_valid_name(out->machine))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.machine must be a machine type like pc, q35 or pc-q35-7.2");
    if (parse_kernel(spec, out, err) != VG_OK || parse_boot(spec, out, err) != VG_OK ||
        parse_disks(spec, out, err) != VG_OK || parse_cdrom(spec, out, err) != VG_OK ||
        parse_nics(spec, out, seed, err) != VG_OK ||
        vg_jf_object(spec, "spec", "consoles", &consoles, err) != VG_OK)
        return VG_ERR;
    if (!out->kernel[0] && out->nboot == 0)
        snprintf(out->boot[out->nboot++], sizeof(out->boot[0]), "hd");
    if (consoles && (vg_jf_known(consoles, "spec.consoles", console_keys, err) != VG_OK ||
                     vg_jf_bool(consoles, "spec.consoles", "virtio_console", &out->virtio_console,
                                err) != VG_OK ||
                     vg_jf_bool(consoles, "spec.consoles", "channel", &out->channel, err) != VG_OK))
        return VG_ERR;
    if (vg_jf_enum(spec, "spec", "graphics", graphics_kinds, out->graphics, sizeof(out->graphics),
                   err) != VG_OK ||
        vg_jf_bool(spec, "spec", "autostart", &out->autostart, err) != VG_OK ||
        vg_jf_enum(spec, "spec", "on_poweroff", stop_actions, out->on_poweroff,
                   sizeof(out->on_poweroff), err) != VG_OK ||
        vg_jf_enum(spec, "spec", "on_reboot", stop_actions, out->on_reboot, sizeof(out->on_reboot),
                   err) != VG_OK ||
        vg_jf_enum(spec, "spec", "on_crash", crash_actions, out->on_crash, sizeof(out->on_crash),
                   err) != VG_OK)
        return VG_ERR;
    if (strcmp(out->on_poweroff, "restart") == 0 && strcmp(out->on_reboot, "destroy") == 0)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.on_poweroff restart with spec.on_reboot destroy is not supported "
                       "by QEMU");
    return assign_targets(out, err);
}

void vg_domspec_free(vg_spec *spec)
{
    if (!spec)
        return;
    free(spec->raw_xml);
    spec->raw_xml = NULL;
}

long long vg_domspec_disk_mib(const vg_spec *spec)
{
    long long total = 0;
    for (size_t i = 0; i < spec->ndisks; i++)
        if (spec->disks[i].kind != VG_DISK_VOLUME)
            total += spec->disks[i].size_mib;
    return total;
}
