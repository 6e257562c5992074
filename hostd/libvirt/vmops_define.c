/* vm.define and vm.undefine: a domain from a spec with its volumes, and its removal with them
 * (vmops.h). */
#include "libvirt/vmops_int.h"

#include "vg_domspec.h"
#include "vg_log.h"
#include "libvirt/virt.h"
#include "libvirt/vmxml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- vm.define ---- */

typedef struct define_ctx {
    virConnectPtr conn;
    /* A uuid was given: an edit of this VM, or its move from another host of the shared pool.
     * Either way its <vm>-disk<i> volumes exist already and keep their data. */
    int redefine;
    virStorageVolPtr created[VG_SPEC_MAX_DISKS];
    size_t ncreated;
    char *path[VG_SPEC_MAX_DISKS];
    char format[VG_SPEC_MAX_DISKS][8];
    char *cdrom;
} define_ctx;

static void define_cleanup(define_ctx *x, int failed)
{
    for (size_t i = 0; i < x->ncreated; i++) {
        vg_err why;
        if (failed && virStorageVolDelete(x->created[i], 0) < 0 && hd_vmops_lv_fail(&why))
            vg_warn("vmops", "cannot delete volume %s again: %s",
                    virStorageVolGetName(x->created[i]), why.msg);
        virStorageVolFree(x->created[i]);
    }
    for (size_t i = 0; i < VG_SPEC_MAX_DISKS; i++)
        free(x->path[i]);
    free(x->cdrom);
}

static int create_volume(define_ctx *x, const vg_spec *s, size_t i, vg_err *err)
{
    const vg_spec_disk *k = &s->disks[i];
    virStoragePoolPtr pool = virStoragePoolLookupByName(x->conn, k->pool);
    if (!pool)
        return hd_vmops_lv_fail(err);
    int rc = VG_ERR;
    char *backing = NULL, bfmt[16] = "", name[160];
    const char *fmt = k->kind == VG_DISK_IMAGE ? "qcow2" : k->format;
    long long size = k->size_mib;
    virStorageVolPtr image = NULL, vol = NULL;
    char *xml = NULL;
    /* The pool is shared by the hosts: what another host's libvirtd created or deleted there
     * shows here only after a refresh. */
    if (virStoragePoolRefresh(pool, 0) < 0) {
        hd_vmops_lv_fail(err);
        goto out;
    }
    if (k->kind == VG_DISK_IMAGE) {
        virStorageVolInfo info;
        if (!(image = virStorageVolLookupByName(pool, k->volume)) ||
            virStorageVolGetInfo(image, &info) < 0 || !(backing = virStorageVolGetPath(image))) {
            hd_vmops_lv_fail(err);
            goto out;
        }
        if (hd_vmops_vol_format(image, bfmt, sizeof(bfmt), err) != VG_OK)
            goto out;
        long long image_mib = (long long)((info.capacity + (1 << 20) - 1) >> 20);
        if (size < image_mib)
            size = image_mib;
    }
    snprintf(name, sizeof(name), "%s-disk%zu.%s", s->name, i, fmt);
    if (x->redefine && (vol = virStorageVolLookupByName(pool, name))) {
        /* The disk this VM had before the edit: its data stays. */
        if (!(x->path[i] = virStorageVolGetPath(vol)))
            hd_vmops_lv_fail(err);
        virStorageVolFree(vol);
        if (x->path[i]) {
            snprintf(x->format[i], sizeof(x->format[i]), "%s", fmt);
            rc = VG_OK;
        }
        goto out;
    }
    virResetLastError();
    if (!(xml = hd_vmxml_volume(name, size, fmt, backing, bfmt, err)))
        goto out;
    if (!(vol = virStorageVolCreateXML(pool, xml, 0))) {
        hd_vmops_lv_fail(err);
        goto out;
    }
    x->created[x->ncreated++] = vol;
    if (!(x->path[i] = virStorageVolGetPath(vol))) {
        hd_vmops_lv_fail(err);
        goto out;
    }
    snprintf(x->format[i], sizeof(x->format[i]), "%s", fmt);
    rc = VG_OK;
out:
    free(xml);
    free(backing);
    if (image)
        virStorageVolFree(image);
    virStoragePoolFree(pool);
    return rc;
}

static int resolve_disks(define_ctx *x, const vg_spec *s, vg_err *err)
{
    for (size_t i = 0; i < s->ndisks; i++) {
        const vg_spec_disk *k = &s->disks[i];
        if (k->kind != VG_DISK_VOLUME) {
            if (create_volume(x, s, i, err) != VG_OK)
                return VG_ERR;
            continue;
        }
        virStorageVolPtr v = hd_vmops_volume(x->conn, k->pool, k->volume, err);
        if (!v)
            return VG_ERR;
        int rc = hd_vmops_vol_format(v, x->format[i], sizeof(x->format[i]), err);
        if (rc == VG_OK && !(x->path[i] = virStorageVolGetPath(v)))
            rc = hd_vmops_lv_fail(err);
        virStorageVolFree(v);
        if (rc != VG_OK)
            return rc;
    }
    if (s->has_cdrom && s->cdrom[0]) {
        virStorageVolPtr v = hd_vmops_media_volume(x->conn, s->cdrom, err);
        if (!v)
            return VG_ERR;
        x->cdrom = virStorageVolGetPath(v);
        virStorageVolFree(v);
        if (!x->cdrom)
            return hd_vmops_lv_fail(err);
    }
    return VG_OK;
}

void hd_vmops_define(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const cJSON *jspec = cJSON_GetObjectItemCaseSensitive(params, "spec");
    const char *uuid;
    vg_spec *s = calloc(1, sizeof(*s));
    define_ctx x;
    memset(&x, 0, sizeof(x));
    virDomainPtr d = NULL;
    char *xml = NULL;
    int failed = 1, existed = 0;
    if (!s) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        goto out;
    }
    if (!cJSON_IsObject(jspec)) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.spec must be an object");
        goto out;
    }
    if (hd_rpc_string(params, "uuid", 0, 36, &uuid, &err) != VG_OK ||
        vg_domspec_parse(jspec, s, 0, &err) != VG_OK || hd_vmops_managed(s->name, &err) != VG_OK ||
        !(x.conn = hd_vmops_conn(&err)))
        goto out;
    if ((d = virDomainLookupByName(x.conn, s->name))) {
        existed = 1;
        char have[VIR_UUID_STRING_BUFLEN] = "";
        virDomainGetUUIDString(d, have);
        if (!uuid || strcmp(uuid, have) != 0) {
            vg_fail(&err, VG_E_CONFLICT, "a VM named %s already exists on this host", s->name);
            goto out;
        }
        if (virDomainIsActive(d) != 0) {
            vg_fail(&err, VG_E_CONFLICT, "VM %s is %s; its definition changes only while it is off",
                    s->name, hd_vmops_dom_state(d));
            goto out;
        }
        virDomainFree(d);
        d = NULL;
    }
    x.redefine = uuid != NULL;
    virResetLastError();
    if (resolve_disks(&x, s, &err) != VG_OK)
        goto out;
    vg_domspec_host host = {
        .console_dir = hd_vmops_cfg()->console_dir, .cdrom_path = x.cdrom, .uuid = uuid};
    for (size_t i = 0; i < s->ndisks; i++) {
        host.disk_path[i] = x.path[i];
        host.disk_format[i] = x.format[i];
    }
    if (!(xml = vg_domspec_xml(s, &host, &err)))
        goto out;
    if (!(d = virDomainDefineXML(x.conn, xml))) {
        hd_vmops_lv_fail(&err);
        goto out;
    }
    if (virDomainSetAutostart(d, s->autostart) < 0) {
        hd_vmops_lv_fail(&err);
        if (!existed)
            virDomainUndefine(d);
        goto out;
    }
    char uuidstr[VIR_UUID_STRING_BUFLEN] = "";
    char *defined = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    virDomainGetUUIDString(d, uuidstr);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", s->name);
    cJSON_AddStringToObject(r, "uuid", uuidstr);
    cJSON_AddStringToObject(r, "xml", defined ? defined : xml);
    free(defined);
    failed = 0;
    vg_info("vmops", "defined %s (%zu disks)", s->name, s->ndisks);
    hd_virt_poke();
    hd_rpc_reply(call, r);
out:
    if (failed)
        hd_rpc_fail(call, &err);
    define_cleanup(&x, failed);
    if (d)
        virDomainFree(d);
    free(xml);
    if (s)
        vg_domspec_free(s);
    free(s);
}

/* ---- vm.undefine ---- */

/* Another host may have created a volume in a pool directory this libvirt shares (a VM that
 * migrated here): libvirt only knows it after a refresh. */
static void refresh_pools(virConnectPtr c)
{
    virStoragePoolPtr *all = NULL;
    int n = virConnectListAllStoragePools(c, &all, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    for (int i = 0; i < n; i++) {
        virStoragePoolRefresh(all[i], 0);
        virStoragePoolFree(all[i]);
    }
    free(all);
}

/* Follows a disk volume's backing chain while the volumes are this VM's own, named
 * <vm>-disk... (disk-only snapshots stack such overlays); an image others share ends it. */
static void add_chain(virConnectPtr c, const char *vm, virStorageVolPtr top, virStorageVolPtr *out,
                      size_t cap, size_t *nv)
{
    char prefix[80];
    snprintf(prefix, sizeof(prefix), "%s-disk", vm);
    for (virStorageVolPtr v = top; *nv < cap;) {
        char path[VMXML_PATH_MAX];
        vg_err err;
        char *xml = virStorageVolGetXMLDesc(v, 0);
        int ok = xml && hd_vmxml_volume_backing(xml, path, sizeof(path), &err) == VG_OK && path[0];
        free(xml);
        virStorageVolPtr b = ok ? virStorageVolLookupByPath(c, path) : NULL;
        if (!b)
            return;
        if (strncmp(virStorageVolGetName(b), prefix, strlen(prefix)) != 0) {
            virStorageVolFree(b);
            return;
        }
        out[(*nv)++] = b;
        v = b;
    }
}

/* The volumes a domain's disks use that live in a storage pool; files outside every pool are
 * not ours to delete. */
static size_t pool_volumes(virConnectPtr c, virDomainPtr d, virStorageVolPtr *out, size_t cap)
{
    char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    vmxml_disk disks[VMXML_MAX_DISKS];
    size_t n = 0, nv = 0;
    vg_err err;
    if (!xml || hd_vmxml_disks(xml, disks, VMXML_MAX_DISKS, &n, &err) != VG_OK)
        n = 0;
    free(xml);
    if (n)
        refresh_pools(c);
    for (size_t i = 0; i < n && nv < cap; i++) {
        virStorageVolPtr v = disks[i].pool[0]
                                 ? hd_vmops_volume(c, disks[i].pool, disks[i].volume, &err)
                                 : virStorageVolLookupByPath(c, disks[i].file);
        if (v) {
            out[nv++] = v;
            add_chain(c, virDomainGetName(d), v, out, cap, &nv);
        } else
            vg_info("vmops", "%s: disk %s is in no pool; kept", virDomainGetName(d),
                    disks[i].pool[0] ? disks[i].volume : disks[i].file);
    }
    virResetLastError();
    return nv;
}

void hd_vmops_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int disks;
    virStorageVolPtr vols[VMXML_MAX_DISKS];
    size_t nv = 0;
    virDomainPtr d = NULL;
    if (hd_rpc_bool(params, "disks", 0, &disks, &err) != VG_OK ||
        !(d = hd_vmops_call_domain(params, &err)))
        goto fail;
    if (virDomainIsActive(d) == 1) {
        vg_fail(&err, VG_E_CONFLICT, "VM %s is %s; stop it first", virDomainGetName(d),
                hd_vmops_dom_state(d));
        goto fail;
    }
    if (disks)
        nv = pool_volumes(hd_virt_conn(), d, vols, VMXML_MAX_DISKS);
    if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                      VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                      VIR_DOMAIN_UNDEFINE_NVRAM) < 0) {
        hd_vmops_lv_fail(&err);
        goto fail;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *deleted = cJSON_AddArrayToObject(r, "deleted");
    for (size_t i = 0; i < nv; i++) {
        char *path = virStorageVolGetPath(vols[i]);
        if (virStorageVolDelete(vols[i], 0) == 0)
            cJSON_AddItemToArray(deleted, cJSON_CreateString(path ? path : ""));
        else
            vg_warn("vmops", "cannot delete volume %s: %s", path ? path : "?",
                    virGetLastErrorMessage());
        free(path);
    }
    vg_info("vmops", "undefined %s (%d volumes deleted)", virDomainGetName(d),
            cJSON_GetArraySize(deleted));
    for (size_t i = 0; i < nv; i++)
        virStorageVolFree(vols[i]);
    virDomainFree(d);
    hd_virt_poke();
    hd_rpc_reply(call, r);
    return;
fail:
    for (size_t i = 0; i < nv; i++)
        virStorageVolFree(vols[i]);
    if (d)
        virDomainFree(d);
    hd_rpc_fail(call, &err);
}
