#include "vmops.h"
#include "vmops_int.h"

#include "vg_log.h"
#include "virt.h"
#include "vms.h"
#include "vmxml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const vmops_config *cfg;

const vmops_config *vmops_cfg(void)
{
    return cfg;
}

void vmops_configure(const vmops_config *c)
{
    cfg = c;
    /* The registry asks for host fields before the first connection exists; libvirt's error
     * calls need the library initialised. */
    if (virInitialize() < 0)
        vg_warn("vmops", "libvirt does not initialise");
    worker_init(c->loop, c->libvirt_uri);
}

/* ---- errors and lookups ---- */

/* libvirt's last error as ours: the message stays libvirt's, the code says what kind. */
int vmops_lv_fail(vg_err *err)
{
    virErrorPtr e = virGetLastError();
    vg_err_code code = VG_E_INTERNAL;
    switch (e ? e->code : VIR_ERR_OK) {
    case VIR_ERR_OPERATION_INVALID:
    case VIR_ERR_DOM_EXIST:
    case VIR_ERR_STORAGE_VOL_EXIST:
        code = VG_E_CONFLICT;
        break;
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
        code = VG_E_NOT_FOUND;
        break;
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_CONFIG_UNSUPPORTED:
        code = VG_E_BAD_REQUEST;
        break;
    default:
        break;
    }
    return vg_fail(err, code, "%s", virGetLastErrorMessage());
}

virConnectPtr vmops_conn(vg_err *err)
{
    virConnectPtr c = virt_conn();
    if (!c)
        vg_fail(err, VG_E_UNAVAILABLE, "hostd is not connected to libvirt");
    return c;
}

/* Domains outside vm_filter belong to another hostd sharing this libvirt. */
int vmops_managed(const char *name, vg_err *err)
{
    if (vms_wanted(name))
        return VG_OK;
    return vg_fail(err, VG_E_NOT_FOUND, "VM %s is not managed by this hostd (vm_filter)", name);
}

virDomainPtr vmops_domain(virConnectPtr c, const char *name, vg_err *err)
{
    if (vmops_managed(name, err) != VG_OK)
        return NULL;
    virDomainPtr d = virDomainLookupByName(c, name);
    if (!d)
        vmops_lv_fail(err);
    return d;
}

/* The call's VM: params.vm names a domain of this host's libvirt. */
virDomainPtr vmops_call_domain(const cJSON *params, vg_err *err)
{
    const char *vm;
    virConnectPtr c;
    if (rpc_name(params, "vm", 1, &vm, err) != VG_OK || !(c = vmops_conn(err)))
        return NULL;
    return vmops_domain(c, vm, err);
}

const char *vmops_dom_state(virDomainPtr d)
{
    int st, reason;
    return virDomainGetState(d, &st, &reason, 0) == 0 ? virt_state_name(st) : "unknown";
}

cJSON *vmops_state_result(virDomainPtr d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", vmops_dom_state(d));
    return o;
}

/* "pool/volume" -> the volume (caller frees). */
virStorageVolPtr vmops_volume(virConnectPtr c, const char *pool, const char *vol, vg_err *err)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(c, pool);
    if (!p)
        return vmops_lv_fail(err), NULL;
    virStorageVolPtr v = virStorageVolLookupByName(p, vol);
    if (!v)
        vmops_lv_fail(err);
    virStoragePoolFree(p);
    return v;
}

virStorageVolPtr vmops_media_volume(virConnectPtr c, const char *media, vg_err *err)
{
    char pool[65];
    const char *slash = strchr(media, '/');
    if (!slash || slash == media || (size_t)(slash - media) >= sizeof(pool) || !slash[1] ||
        strchr(slash + 1, '/'))
        return vg_fail(err, VG_E_BAD_REQUEST, "media must be \"pool/volume\""), NULL;
    memcpy(pool, media, (size_t)(slash - media));
    pool[slash - media] = '\0';
    return vmops_volume(c, pool, slash + 1, err);
}

int vmops_vol_format(virStorageVolPtr v, char *fmt, size_t cap, vg_err *err)
{
    char *xml = virStorageVolGetXMLDesc(v, 0);
    if (!xml)
        return vmops_lv_fail(err);
    int rc = vmxml_volume_format(xml, fmt, cap, err);
    free(xml);
    return rc;
}

/* ---- the worker's answer goes back to the call ---- */

void vmops_worker_answer(void *priv, cJSON *result, const vg_err *err)
{
    rpc_call *call = priv;
    virt_poke(); /* the operation changed the domain; do not wait for its event */
    if (result)
        rpc_reply(call, result);
    else
        rpc_fail(call, err);
}

/* Checks that the domain exists before forking, so a typo is answered at once. */
void vmops_run_worker(rpc_call *call, const cJSON *params, worker_fn *fn)
{
    vg_err err;
    virDomainPtr d = vmops_call_domain(params, &err);
    if (!d) {
        rpc_fail(call, &err);
        return;
    }
    virDomainFree(d);
    if (worker_start(fn, params, vmops_worker_answer, call, &err) != VG_OK)
        rpc_fail(call, &err);
}

virDomainPtr vmops_child_domain(virConnectPtr c, const cJSON *params, vg_err *err)
{
    const char *vm;
    if (rpc_name(params, "vm", 1, &vm, err) != VG_OK)
        return NULL;
    return vmops_domain(c, vm, err);
}

/* ---- short lifecycle calls ---- */

typedef int dom_op(virDomainPtr d);

static int op_start(virDomainPtr d)
{
    return virDomainCreate(d);
}
static int op_destroy(virDomainPtr d)
{
    return virDomainDestroy(d);
}
static int op_reboot(virDomainPtr d)
{
    return virDomainReboot(d, 0);
}
static int op_reset(virDomainPtr d)
{
    return virDomainReset(d, 0);
}
static int op_suspend(virDomainPtr d)
{
    return virDomainSuspend(d);
}
static int op_resume(virDomainPtr d)
{
    return virDomainResume(d);
}

static void simple(rpc_call *call, const cJSON *params, dom_op *op)
{
    vg_err err;
    virDomainPtr d = vmops_call_domain(params, &err);
    if (!d) {
        rpc_fail(call, &err);
        return;
    }
    if (op(d) < 0) {
        vmops_lv_fail(&err);
        virDomainFree(d);
        rpc_fail(call, &err);
        return;
    }
    cJSON *r = vmops_state_result(d);
    virDomainFree(d);
    virt_poke();
    rpc_reply(call, r);
}

void vmops_start(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_start);
}
void vmops_destroy(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_destroy);
}
void vmops_reboot(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_reboot);
}
void vmops_reset(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_reset);
}
void vmops_suspend(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_suspend);
}
void vmops_resume(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_resume);
}

/* ---- managed save / restore (worker) ---- */

static int child_save(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = vmops_child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    int rc = virDomainManagedSave(d, 0) < 0 ? vmops_lv_fail(err) : VG_OK;
    if (rc == VG_OK)
        *result = vmops_state_result(d);
    virDomainFree(d);
    return rc;
}

static int child_restore(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = vmops_child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    int rc = VG_OK;
    if (virDomainHasManagedSaveImage(d, 0) != 1)
        rc =
            vg_fail(err, VG_E_CONFLICT, "VM %s has no saved state to restore", virDomainGetName(d));
    else if (virDomainCreate(d) < 0)
        rc = vmops_lv_fail(err);
    if (rc == VG_OK)
        *result = vmops_state_result(d);
    virDomainFree(d);
    return rc;
}

void vmops_save(rpc_call *call, const cJSON *params)
{
    vmops_run_worker(call, params, child_save);
}

void vmops_restore(rpc_call *call, const cJSON *params)
{
    vmops_run_worker(call, params, child_restore);
}

/* ---- vm.cdrom, vm.autostart ---- */

void vmops_cdrom(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(params, "media");
    char dev[16], bus[16], *xml = NULL, *dxml = NULL, *path = NULL;
    virStorageVolPtr v = NULL;
    virDomainPtr d = NULL;
    int rc = VG_ERR;
    if (!media || (!cJSON_IsNull(media) && !cJSON_IsString(media))) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.media must be \"pool/volume\" or null");
        goto out;
    }
    if (!(d = vmops_call_domain(params, &err)))
        goto out;
    if (cJSON_IsString(media)) {
        if (!(v = vmops_media_volume(virt_conn(), media->valuestring, &err)))
            goto out;
        if (!(path = virStorageVolGetPath(v))) {
            vmops_lv_fail(&err);
            goto out;
        }
    }
    int active = virDomainIsActive(d) == 1;
    if (!(xml = virDomainGetXMLDesc(d, active ? 0 : VIR_DOMAIN_XML_INACTIVE))) {
        vmops_lv_fail(&err);
        goto out;
    }
    if (vmxml_cdrom(xml, dev, sizeof(dev), bus, sizeof(bus), &err) != VG_OK ||
        !(dxml = vmxml_cdrom_device(dev, bus, path, &err)))
        goto out;
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG | (active ? VIR_DOMAIN_AFFECT_LIVE : 0);
    if (virDomainUpdateDeviceFlags(d, dxml, flags) < 0) {
        vmops_lv_fail(&err);
        goto out;
    }
    rc = VG_OK;
out:
    if (rc == VG_OK) {
        cJSON *r = cJSON_CreateObject();
        if (cJSON_IsString(media))
            cJSON_AddStringToObject(r, "media", media->valuestring);
        else
            cJSON_AddNullToObject(r, "media");
        rpc_reply(call, r);
    } else {
        rpc_fail(call, &err);
    }
    if (v)
        virStorageVolFree(v);
    if (d)
        virDomainFree(d);
    free(xml);
    free(dxml);
    free(path);
}

void vmops_autostart(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int on;
    virDomainPtr d = NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(params, "autostart");
    if (!cJSON_IsBool(a))
        vg_fail(&err, VG_E_BAD_REQUEST, "params.autostart must be true or false");
    else if (rpc_bool(params, "autostart", 0, &on, &err) == VG_OK &&
             (d = vmops_call_domain(params, &err))) {
        if (virDomainSetAutostart(d, on) == 0) {
            virDomainFree(d);
            virt_poke();
            rpc_reply(call, NULL);
            return;
        }
        vmops_lv_fail(&err);
    }
    if (d)
        virDomainFree(d);
    rpc_fail(call, &err);
}

void vmops_xml(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int inactive;
    virDomainPtr d = NULL;
    char *xml = NULL;
    if (rpc_bool(params, "inactive", 0, &inactive, &err) == VG_OK &&
        (d = vmops_call_domain(params, &err)) &&
        !(xml = virDomainGetXMLDesc(d, inactive ? VIR_DOMAIN_XML_INACTIVE : 0)))
        vmops_lv_fail(&err);
    if (d)
        virDomainFree(d);
    if (!xml) {
        rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "xml", xml);
    free(xml);
    rpc_reply(call, r);
}
