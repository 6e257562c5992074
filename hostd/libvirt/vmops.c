#include "libvirt/vmops.h"
#include "libvirt/vmops_int.h"

#include "vg_log.h"
#include "libvirt/virt.h"
#include "libvirt/vms.h"
#include "libvirt/vmxml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const vmops_config *cfg;

const vmops_config *hd_vmops_cfg(void)
{
    return cfg;
}

void hd_vmops_configure(const vmops_config *c)
{
    cfg = c;
    /* The registry asks for host fields before the first connection exists; libvirt's error
     * calls need the library initialised. */
    if (virInitialize() < 0)
        vg_warn("vmops", "libvirt does not initialise");
    hd_worker_init(c->loop, c->libvirt_uri);
}

/* ---- errors and lookups ---- */

/* libvirt's last error as ours: the message stays libvirt's, the code says what kind. */
int hd_vmops_lv_fail(vg_err *err)
{
    virErrorPtr e = virGetLastError();
    vg_err_code code = VG_E_INTERNAL;
    switch (e ? e->code : VIR_ERR_OK) {
    case VIR_ERR_OPERATION_INVALID:
    case VIR_ERR_DOM_EXIST:
    case VIR_ERR_STORAGE_VOL_EXIST:
    case VIR_ERR_NETWORK_EXIST:
        code = VG_E_CONFLICT;
        break;
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_NWFILTER:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
        code = VG_E_NOT_FOUND;
        break;
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_CONFIG_UNSUPPORTED:
        code = VG_E_BAD_REQUEST;
        break;
    case VIR_ERR_NO_SUPPORT: /* the driver has no such function (a volume in an iSCSI pool) */
        code = VG_E_UNSUPPORTED;
        break;
    default:
        break;
    }
    return vg_fail(err, code, "%s", virGetLastErrorMessage());
}

virConnectPtr hd_vmops_conn(vg_err *err)
{
    virConnectPtr c = hd_virt_conn();
    if (!c)
        vg_fail(err, VG_E_UNAVAILABLE, "hostd is not connected to libvirt");
    return c;
}

/* Domains outside vm_filter belong to another hostd sharing this libvirt. */
int hd_vmops_managed(const char *name, vg_err *err)
{
    if (hd_vms_wanted(name))
        return VG_OK;
    return vg_fail(err, VG_E_NOT_FOUND, "VM %s is not managed by this hostd (vm_filter)", name);
}

virDomainPtr hd_vmops_domain(virConnectPtr c, const char *name, vg_err *err)
{
    if (hd_vmops_managed(name, err) != VG_OK)
        return NULL;
    virDomainPtr d = virDomainLookupByName(c, name);
    if (!d)
        hd_vmops_lv_fail(err);
    return d;
}

/* The call's VM: params.vm names a domain of this host's libvirt. */
virDomainPtr hd_vmops_call_domain(const cJSON *params, vg_err *err)
{
    const char *vm;
    virConnectPtr c;
    if (hd_rpc_name(params, "vm", 1, &vm, err) != VG_OK || !(c = hd_vmops_conn(err)))
        return NULL;
    return hd_vmops_domain(c, vm, err);
}

const char *hd_vmops_dom_state(virDomainPtr d)
{
    int st, reason;
    return virDomainGetState(d, &st, &reason, 0) == 0 ? hd_virt_state_name(st) : "unknown";
}

cJSON *hd_vmops_state_result(virDomainPtr d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", hd_vmops_dom_state(d));
    return o;
}

/* "pool/volume" -> the volume (caller frees). */
virStorageVolPtr hd_vmops_volume(virConnectPtr c, const char *pool, const char *vol, vg_err *err)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(c, pool);
    if (!p)
        return hd_vmops_lv_fail(err), NULL;
    virStorageVolPtr v = virStorageVolLookupByName(p, vol);
    if (!v)
        hd_vmops_lv_fail(err);
    virStoragePoolFree(p);
    return v;
}

virStorageVolPtr hd_vmops_media_volume(virConnectPtr c, const char *media, vg_err *err)
{
    char pool[65];
    const char *slash = strchr(media, '/');
    if (!slash || slash == media || (size_t)(slash - media) >= sizeof(pool) || !slash[1] ||
        strchr(slash + 1, '/'))
        return vg_fail(err, VG_E_BAD_REQUEST, "media must be \"pool/volume\""), NULL;
    memcpy(pool, media, (size_t)(slash - media));
    pool[slash - media] = '\0';
    return hd_vmops_volume(c, pool, slash + 1, err);
}

int hd_vmops_vol_format(virStorageVolPtr v, char *fmt, size_t cap, vg_err *err)
{
    char *xml = virStorageVolGetXMLDesc(v, 0);
    if (!xml)
        return hd_vmops_lv_fail(err);
    int rc = hd_vmxml_volume_format(xml, fmt, cap, err);
    free(xml);
    return rc;
}

/* ---- the worker's answer goes back to the call ---- */

void hd_vmops_worker_answer(void *priv, cJSON *result, const vg_err *err)
{
    rpc_call *call = priv;
    hd_virt_poke(); /* the operation changed the domain; do not wait for its event */
    if (result)
        hd_rpc_reply(call, result);
    else
        hd_rpc_fail(call, err);
}

/* Checks that the domain exists before forking, so a typo is answered at once. */
void hd_vmops_run_worker(rpc_call *call, const cJSON *params, worker_fn *fn)
{
    vg_err err;
    virDomainPtr d = hd_vmops_call_domain(params, &err);
    if (!d) {
        hd_rpc_fail(call, &err);
        return;
    }
    virDomainFree(d);
    if (hd_worker_start(fn, params, hd_vmops_worker_answer, call, &err) != VG_OK)
        hd_rpc_fail(call, &err);
}

virDomainPtr hd_vmops_child_domain(virConnectPtr c, const cJSON *params, vg_err *err)
{
    const char *vm;
    if (hd_rpc_name(params, "vm", 1, &vm, err) != VG_OK)
        return NULL;
    return hd_vmops_domain(c, vm, err);
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
    virDomainPtr d = hd_vmops_call_domain(params, &err);
    if (!d) {
        hd_rpc_fail(call, &err);
        return;
    }
    if (op(d) < 0) {
        hd_vmops_lv_fail(&err);
        virDomainFree(d);
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = hd_vmops_state_result(d);
    virDomainFree(d);
    hd_virt_poke();
    hd_rpc_reply(call, r);
}

void hd_vmops_start(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_start);
}
void hd_vmops_destroy(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_destroy);
}
void hd_vmops_reboot(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_reboot);
}
void hd_vmops_reset(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_reset);
}
void hd_vmops_suspend(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_suspend);
}
void hd_vmops_resume(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_resume);
}

/* ---- managed save / restore (worker) ---- */

static int child_save(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = hd_vmops_child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    int rc = virDomainManagedSave(d, 0) < 0 ? hd_vmops_lv_fail(err) : VG_OK;
    if (rc == VG_OK)
        *result = hd_vmops_state_result(d);
    virDomainFree(d);
    return rc;
}

static int child_restore(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = hd_vmops_child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    int rc = VG_OK;
    if (virDomainHasManagedSaveImage(d, 0) != 1)
        rc =
            vg_fail(err, VG_E_CONFLICT, "VM %s has no saved state to restore", virDomainGetName(d));
    else if (virDomainCreate(d) < 0)
        rc = hd_vmops_lv_fail(err);
    if (rc == VG_OK)
        *result = hd_vmops_state_result(d);
    virDomainFree(d);
    return rc;
}

void hd_vmops_save(rpc_call *call, const cJSON *params)
{
    hd_vmops_run_worker(call, params, child_save);
}

void hd_vmops_restore(rpc_call *call, const cJSON *params)
{
    hd_vmops_run_worker(call, params, child_restore);
}

/* ---- vm.cdrom, vm.autostart ---- */

void hd_vmops_cdrom(rpc_call *call, const cJSON *params)
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
    if (!(d = hd_vmops_call_domain(params, &err)))
        goto out;
    if (cJSON_IsString(media)) {
        if (!(v = hd_vmops_media_volume(hd_virt_conn(), media->valuestring, &err)))
            goto out;
        if (!(path = virStorageVolGetPath(v))) {
            hd_vmops_lv_fail(&err);
            goto out;
        }
    }
    int active = virDomainIsActive(d) == 1;
    if (!(xml = virDomainGetXMLDesc(d, active ? 0 : VIR_DOMAIN_XML_INACTIVE))) {
        hd_vmops_lv_fail(&err);
        goto out;
    }
    if (hd_vmxml_cdrom(xml, dev, sizeof(dev), bus, sizeof(bus), &err) != VG_OK ||
        !(dxml = hd_vmxml_cdrom_device(dev, bus, path, &err)))
        goto out;
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG | (active ? VIR_DOMAIN_AFFECT_LIVE : 0);
    if (virDomainUpdateDeviceFlags(d, dxml, flags) < 0) {
        hd_vmops_lv_fail(&err);
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
        hd_rpc_reply(call, r);
    } else {
        hd_rpc_fail(call, &err);
    }
    if (v)
        virStorageVolFree(v);
    if (d)
        virDomainFree(d);
    free(xml);
    free(dxml);
    free(path);
}

void hd_vmops_autostart(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int on;
    virDomainPtr d = NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(params, "autostart");
    if (!cJSON_IsBool(a))
        vg_fail(&err, VG_E_BAD_REQUEST, "params.autostart must be true or false");
    else if (hd_rpc_bool(params, "autostart", 0, &on, &err) == VG_OK &&
             (d = hd_vmops_call_domain(params, &err))) {
        if (virDomainSetAutostart(d, on) == 0) {
            virDomainFree(d);
            hd_virt_poke();
            hd_rpc_reply(call, NULL);
            return;
        }
        hd_vmops_lv_fail(&err);
    }
    if (d)
        virDomainFree(d);
    hd_rpc_fail(call, &err);
}

void hd_vmops_xml(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int inactive;
    virDomainPtr d = NULL;
    char *xml = NULL;
    if (hd_rpc_bool(params, "inactive", 0, &inactive, &err) == VG_OK &&
        (d = hd_vmops_call_domain(params, &err)) &&
        !(xml = virDomainGetXMLDesc(d, inactive ? VIR_DOMAIN_XML_INACTIVE : 0)))
        hd_vmops_lv_fail(&err);
    if (d)
        virDomainFree(d);
    if (!xml) {
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "xml", xml);
    free(xml);
    hd_rpc_reply(call, r);
}
