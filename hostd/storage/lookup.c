/* The pool or volume a call names, and whether a running domain uses a volume: what the pool,
 * volume and stream methods share (storage.h). */
#include "storage/storage.h"

#include "libvirt/vmops_int.h"
#include "libvirt/vmxml.h"
#include "vg_log.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

virStoragePoolPtr hd_storage_call_pool(virConnectPtr *c, const cJSON *params, vg_err *err)
{
    const char *name;
    if (hd_rpc_name(params, "pool", 1, &name, err) != VG_OK || !(*c = hd_vmops_conn(err)))
        return NULL;
    virStoragePoolPtr p = virStoragePoolLookupByName(*c, name);
    if (!p)
        hd_vmops_lv_fail(err);
    return p;
}

virStorageVolPtr hd_storage_call_volume(virConnectPtr c, const cJSON *params, vg_err *err)
{
    const char *pool, *vol;
    if (hd_rpc_name(params, "pool", 1, &pool, err) != VG_OK ||
        hd_rpc_name(params, "volume", 1, &vol, err) != VG_OK)
        return NULL;
    return hd_vmops_volume(c, pool, vol, err);
}

int hd_storage_vol_idle(virConnectPtr c, const char *pool, const char *vol, const char *path,
                        vg_err *err)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    int rc = VG_OK;
    for (int i = 0; i < n; i++) {
        vmxml_disk disks[VMXML_MAX_DISKS];
        size_t nd = 0;
        vg_err e;
        char *xml = rc == VG_OK ? virDomainGetXMLDesc(doms[i], 0) : NULL;
        if (xml && hd_vmxml_media(xml, disks, VMXML_MAX_DISKS, &nd, &e) == VG_OK)
            for (size_t k = 0; k < nd && rc == VG_OK; k++)
                if (!strcmp(disks[k].file, path) ||
                    (!strcmp(disks[k].pool, pool) && !strcmp(disks[k].volume, vol)))
                    rc = vg_fail(err, VG_E_CONFLICT, "volume %s/%s is in use by running VM %s",
                                 pool, vol, virDomainGetName(doms[i]));
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    return rc;
}
