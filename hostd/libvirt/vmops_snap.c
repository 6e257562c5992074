/* Snapshots and live migration, which run in forked workers (vmops.h). */
#include "libvirt/vmops_int.h"

#include "vg_log.h"
#include "libvirt/vmxml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- vm.migrate (worker) ---- */

static int child_migrate(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    const char *dest_uri, *dest_dir;
    hd_rpc_string(params, "dest_uri", 1, 1024, &dest_uri, err);
    hd_rpc_string(params, "dest_console_dir", 1, 512, &dest_dir, err);
    virDomainPtr d = hd_vmops_child_domain(c, params, err), dd = NULL;
    if (!d)
        return VG_ERR;
    int rc = VG_ERR;
    virConnectPtr dc = NULL;
    virTypedParameterPtr tp = NULL;
    int ntp = 0, maxtp = 0;
    /* The live definition for the running guest, and the persistent one the destination keeps
     * (libvirt would otherwise persist the source's, with the source's console paths). */
    char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE);
    char *pxml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE |
                                            VIR_DOMAIN_XML_INACTIVE);
    char *dxml = NULL, *dpxml = NULL;
    if (!xml || !pxml) {
        hd_vmops_lv_fail(err);
        goto out;
    }
    if (!(dxml = hd_vmxml_rewrite_dir(xml, hd_vmops_cfg()->console_dir, dest_dir, err)) ||
        !(dpxml = hd_vmxml_rewrite_dir(pxml, hd_vmops_cfg()->console_dir, dest_dir, err)))
        goto out;
    if (!(dc = virConnectOpen(dest_uri))) {
        vg_fail(err, VG_E_UNAVAILABLE, "cannot connect to %s: %s", dest_uri,
                virGetLastErrorMessage());
        goto out;
    }
    if (virTypedParamsAddString(&tp, &ntp, &maxtp, VIR_MIGRATE_PARAM_DEST_XML, dxml) < 0 ||
        virTypedParamsAddString(&tp, &ntp, &maxtp, VIR_MIGRATE_PARAM_PERSIST_XML, dpxml) < 0) {
        hd_vmops_lv_fail(err);
        goto out;
    }
    unsigned flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
    dd = virDomainMigrate3(d, dc, tp, (unsigned)ntp, flags);
    virErrorPtr e = dd ? NULL : virGetLastError();
    if (!dd && e && e->code == VIR_ERR_MIGRATE_UNSAFE) {
        /* Both hosts see the disk at the same path on storage libvirt cannot prove shared
         * (docs/protocol.md §4, vm.migrate): the guest's writes are flushed when the source
         * stops, so the destination reads the same data. */
        vg_err why; /* copied first: every libvirt call resets the last error */
        hd_vmops_lv_fail(&why);
        vg_info("vmops", "%s: %s; migrating with VIR_MIGRATE_UNSAFE", virDomainGetName(d), why.msg);
        dd = virDomainMigrate3(d, dc, tp, (unsigned)ntp, flags | VIR_MIGRATE_UNSAFE);
    }
    if (!dd) {
        hd_vmops_lv_fail(err);
        goto out;
    }
    *result = cJSON_CreateObject();
    rc = VG_OK;
out:
    if (dd)
        virDomainFree(dd);
    if (dc)
        virConnectClose(dc);
    virTypedParamsFree(tp, ntp);
    free(xml);
    free(pxml);
    free(dxml);
    free(dpxml);
    virDomainFree(d);
    return rc;
}

void hd_vmops_migrate(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *dest_uri, *dest_dir;
    if (hd_rpc_string(params, "dest_uri", 1, 1024, &dest_uri, &err) != VG_OK ||
        hd_rpc_string(params, "dest_console_dir", 1, 512, &dest_dir, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    if (!dest_uri[0] || dest_dir[0] != '/') {
        vg_fail(&err, VG_E_BAD_REQUEST, "dest_uri must be a URI and dest_console_dir absolute");
        hd_rpc_fail(call, &err);
        return;
    }
    hd_vmops_run_worker(call, params, child_migrate);
}

/* ---- snapshots ---- */

static virDomainSnapshotPtr snapshot(virDomainPtr d, const cJSON *params, vg_err *err)
{
    const char *name;
    if (hd_rpc_name(params, "name", 1, &name, err) != VG_OK)
        return NULL;
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, name, 0);
    if (!s)
        hd_vmops_lv_fail(err);
    return s;
}

static cJSON *parent_json(virDomainSnapshotPtr s)
{
    virDomainSnapshotPtr p = virDomainSnapshotGetParent(s, 0);
    if (!p) {
        virResetLastError();
        return cJSON_CreateNull();
    }
    cJSON *j = cJSON_CreateString(virDomainSnapshotGetName(p));
    virDomainSnapshotFree(p);
    return j;
}

static int child_snapshot_create(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    const char *name, *desc;
    int disk_only;
    hd_rpc_name(params, "name", 1, &name, err);
    hd_rpc_string(params, "description", 0, 1024, &desc, err);
    hd_rpc_bool(params, "disk_only", 0, &disk_only, err);
    virDomainPtr d = hd_vmops_child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    char *xml = hd_vmxml_snapshot_doc(name, desc, err);
    unsigned flags =
        disk_only ? VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC : 0;
    virDomainSnapshotPtr s = xml ? virDomainSnapshotCreateXML(d, xml, flags) : NULL;
    int rc = VG_ERR;
    if (s) {
        *result = cJSON_CreateObject();
        cJSON_AddStringToObject(*result, "name", virDomainSnapshotGetName(s));
        cJSON_AddItemToObject(*result, "parent", parent_json(s));
        virDomainSnapshotFree(s);
        rc = VG_OK;
    } else if (xml) {
        hd_vmops_lv_fail(err);
    }
    free(xml);
    virDomainFree(d);
    return rc;
}

void hd_vmops_snapshot_create(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *name, *desc;
    int disk_only;
    virDomainPtr d = NULL;
    if (hd_rpc_name(params, "name", 1, &name, &err) != VG_OK ||
        hd_rpc_string(params, "description", 0, 1024, &desc, &err) != VG_OK ||
        hd_rpc_bool(params, "disk_only", 0, &disk_only, &err) != VG_OK ||
        !(d = hd_vmops_call_domain(params, &err)))
        goto fail;
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, name, 0);
    if (s) {
        virDomainSnapshotFree(s);
        vg_fail(&err, VG_E_CONFLICT, "VM %s already has a snapshot named %s", virDomainGetName(d),
                name);
        goto fail;
    }
    virResetLastError();
    virDomainFree(d);
    if (hd_worker_start(child_snapshot_create, params, hd_vmops_worker_answer, call, &err) != VG_OK)
        hd_rpc_fail(call, &err);
    return;
fail:
    if (d)
        virDomainFree(d);
    hd_rpc_fail(call, &err);
}

void hd_vmops_snapshot_list(rpc_call *call, const cJSON *params)
{
    vg_err err;
    virDomainSnapshotPtr *snaps = NULL;
    virDomainPtr d = hd_vmops_call_domain(params, &err);
    int n = d ? virDomainListAllSnapshots(d, &snaps, 0) : -1;
    if (n < 0) {
        if (d) {
            hd_vmops_lv_fail(&err);
            virDomainFree(d);
        }
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(r, "snapshots");
    for (int i = 0; i < n; i++) {
        vmxml_snapshot info;
        char *xml = virDomainSnapshotGetXMLDesc(snaps[i], 0);
        if (!xml || hd_vmxml_snapshot_parse(xml, &info, &err) != VG_OK)
            memset(&info, 0, sizeof(info));
        free(xml);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", virDomainSnapshotGetName(snaps[i]));
        cJSON_AddItemToObject(o, "parent", parent_json(snaps[i]));
        cJSON_AddStringToObject(o, "state", info.state);
        cJSON_AddNumberToObject(o, "created_s", (double)info.created_s);
        cJSON_AddBoolToObject(o, "external", info.external);
        cJSON_AddBoolToObject(o, "current", virDomainSnapshotIsCurrent(snaps[i], 0) == 1);
        cJSON_AddItemToArray(arr, o);
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
    virDomainFree(d);
    hd_rpc_reply(call, r);
}

static int child_snapshot_revert(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = hd_vmops_child_domain(c, params, err);
    virDomainSnapshotPtr s = d ? snapshot(d, params, err) : NULL;
    int rc = VG_ERR;
    if (s && virDomainRevertToSnapshot(s, 0) < 0)
        hd_vmops_lv_fail(err);
    else if (s)
        rc = VG_OK;
    if (rc == VG_OK)
        *result = cJSON_CreateObject();
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    return rc;
}

static int child_snapshot_delete(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    int children;
    hd_rpc_bool(params, "children", 0, &children, err);
    virDomainPtr d = hd_vmops_child_domain(c, params, err);
    virDomainSnapshotPtr s = d ? snapshot(d, params, err) : NULL;
    int rc = VG_ERR;
    if (s && virDomainSnapshotDelete(s, children ? VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN : 0) < 0)
        hd_vmops_lv_fail(err);
    else if (s)
        rc = VG_OK;
    if (rc == VG_OK)
        *result = cJSON_CreateObject();
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    return rc;
}

/* Revert and delete: the snapshot must exist before a worker is forked for it. */
static void snapshot_worker(rpc_call *call, const cJSON *params, worker_fn *fn)
{
    vg_err err;
    int children;
    virDomainPtr d = NULL;
    virDomainSnapshotPtr s = NULL;
    if (hd_rpc_bool(params, "children", 0, &children, &err) != VG_OK ||
        !(d = hd_vmops_call_domain(params, &err)) || !(s = snapshot(d, params, &err))) {
        if (d)
            virDomainFree(d);
        hd_rpc_fail(call, &err);
        return;
    }
    virDomainSnapshotFree(s);
    virDomainFree(d);
    if (hd_worker_start(fn, params, hd_vmops_worker_answer, call, &err) != VG_OK)
        hd_rpc_fail(call, &err);
}

void hd_vmops_snapshot_revert(rpc_call *call, const cJSON *params)
{
    snapshot_worker(call, params, child_snapshot_revert);
}

void hd_vmops_snapshot_delete(rpc_call *call, const cJSON *params)
{
    snapshot_worker(call, params, child_snapshot_delete);
}
